/*
 * st_write.h — streaming safetensors writer.
 *
 * `lfm2c synth` writes checkpoints up to ~10 GB (2.6B parameters in f32), so
 * the writer never holds a tensor, let alone a model, in memory: the caller
 * declares the tensor list up front (which fixes the header and every
 * offset), then pushes float32 values in file order in pieces of any size;
 * the writer converts them to each tensor's dtype and writes through a
 * fixed-size buffer.
 *
 * The file is the one Hugging Face's `safetensors` library writes:
 *   u64 LE header length N | N bytes of JSON header | tensor data
 * with the header compact JSON `{"__metadata__":{"format":"pt"},NAME:
 * {"dtype":"BF16","shape":[..],"data_offsets":[begin,end]},...}`, tensors
 * in sorted-name order laid out back to back, and the JSON padded with
 * spaces so that N is a multiple of 8.  That makes our 350M-shaped bf16
 * file exactly as long as the released one (specs/lfm2.md §2).
 *
 * Output goes to "PATH.tmp-XXXXXX" in the same directory and is renamed to
 * PATH only by lfm_st_writer_commit, after every byte was written and the
 * file closed without error; any failure (or lfm_st_writer_abort) removes
 * the temporary file, so no partial checkpoint is ever left behind.
 */
#ifndef LFM2C_ST_WRITE_H
#define LFM2C_ST_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "frontend.h"

/* One tensor to write.  Names must be unique and given in strcmp order. */
typedef struct StWriteTensor {
	const char *name;
	StDtype dtype;
	int ndim;               /* 0..4 */
	int64_t shape[4];
} StWriteTensor;

/* The header and sizes a tensor list implies (nothing is written). */
typedef struct StLayout {
	char *header;           /* JSON, space-padded, header_len bytes (+ NUL) */
	size_t header_len;      /* multiple of 8 */
	uint64_t data_bytes;
	uint64_t file_bytes;    /* 8 + header_len + data_bytes */
	int64_t n_params;       /* total elements */
} StLayout;

int lfm_st_layout(const StWriteTensor *t, int n, StLayout *out, LfmError *err);
void lfm_st_layout_free(StLayout *l);

typedef struct StWriter StWriter;

/* Creates the temporary file next to `path` and writes the header.  The
 * tensor list is copied.  Returns NULL (and err) on failure. */
StWriter *lfm_st_writer_create(const char *path, const StWriteTensor *t, int n, LfmError *err);

/* Appends count values, in file order (tensor after tensor, each in C
 * order), converting to each tensor's dtype (round to nearest even).
 * Writing more values than the tensors hold is an error. */
int lfm_st_writer_put_f32(StWriter *w, const float *v, size_t count, LfmError *err);

/* Index of the tensor the next value goes to (n when all are complete). */
int lfm_st_writer_tensor(const StWriter *w);

/* Checks every value was written, flushes, closes and renames the file to
 * its final path.  Frees w in every case; on failure the temporary file
 * is removed. */
int lfm_st_writer_commit(StWriter *w, LfmError *err);

/* Closes and removes the temporary file; frees w.  NULL is a no-op. */
void lfm_st_writer_abort(StWriter *w);

#endif
