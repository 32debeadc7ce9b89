/*
 * codegen.h — from a Graph to files: the weights blob, the model code (C
 * or an LLVM object), the model header, and the embedded-weights object.
 *
 * Both backends start from the same loop-level form (loops.h), built by
 * lower_model() for a Target: codegen_c prints it as C, codegen_llvm builds
 * it with the LLVM-C API, optimizes it (default<O3>) and emits an object,
 * assembly or LLVM IR for the target.
 */
#ifndef LFM2C_CODEGEN_H
#define LFM2C_CODEGEN_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "target.h"

struct Schedule;

typedef struct CodegenOptions {
	const char *symbol;       /* name of the lfm2_model_info symbol ("lfm2_model") */
	const char *target_desc;  /* recorded in the info, e.g. "llvm,x86_64-unknown-linux-gnu,znver4" */
	const char *version;      /* lfm2c version, written into headers */
	const struct Schedule *schedule;   /* tiles, unroll, vector width (passes/schedule.h), or NULL:
	                                      the target's defaults */
} CodegenOptions;

/* Whether the lowering can follow schedule s (read from `path`, for the
 * message) on target t: 0, or -1 with one line in err naming the file and
 * key ("s.json: key 'unroll': ...").  lower_model checks again; the driver
 * calls this first, to fail before any work. */
int codegen_check_schedule(const struct Schedule *s, const char *path, const Target *t, LfmError *err);

/* Progress of a long step: called with done <= total (bytes, say). */
typedef void (*ProgressFn)(void *ctx, uint64_t done, uint64_t total);

/* Writes the blob (header + payload per the layout pass) to `path` and
 * returns the payload's XXH3-64 in *hash.  progress may be NULL. */
int blob_write(const Graph *g, const char *path, uint64_t *hash, ProgressFn progress, void *pctx,
               LfmError *err);

/* C backend: model.c for the target, blob_hash baked in, and model.h
 * (sizes, alignment, state bytes per token, entry points; `embedded`
 * declares the linked-in blob of --embed-weights). */
int codegen_c(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
              const CodegenOptions *o, int embedded, FILE *c_out, FILE *h_out, LfmError *err);

/* LLVM backend. */
typedef enum LlvmEmit { EMIT_LLVM_OBJ, EMIT_LLVM_ASM, EMIT_LLVM_IR } LlvmEmit;

/* LLVM backend: the same module built with the LLVM-C API, verified,
 * optimized with default<O3>, emitted as `kind` to path; and model.h. */
int codegen_llvm(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                 const CodegenOptions *o, int embedded, LlvmEmit kind, const char *path, FILE *h_out,
                 LfmError *err);

/* The loop-level form as text (`--emit loops`, for debugging). */
int codegen_loops(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                  const CodegenOptions *o, FILE *out, LfmError *err);

/* --embed-weights: an ELF relocatable object (x86-64 or aarch64) holding the
 * blob file `blob_path` in section .lfm2_weights, between the symbols
 * `<symbol>_blob` and `<symbol>_blob_end`; and the C glue that hands it to
 * the runtime (see elf_blob.c). */
int elf_blob_write(const char *blob_path, const char *obj_path, TargetArch arch, const char *symbol,
                   LfmError *err);
int embed_glue_write(const char *c_path, const char *symbol, LfmError *err);

/* The runtime's sources, embedded at build time (cmake/embed.cmake). */
struct lfm2c_embedded_file {
	const char *name;
	const unsigned char *bytes;
	size_t size;
};
extern const struct lfm2c_embedded_file lfm2c_runtime_files[];

#endif
