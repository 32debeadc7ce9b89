/*
 * pack.h — how each weight format is laid out in the blob: exactly the
 * bytes the generated kernel for that format reads.
 *
 * The quantize pass chooses a format per weight and the layout pass sizes
 * it (quant_bytes_per_row per row); pack_row encodes one row of K values
 * into those bytes.  For f32, f16 and bf16 the packed row is the plain
 * encoding (formats.h); for the block formats it is the repacked layout the
 * int8 kernels stream (specs/formats.md, "Packed layouts"), the same
 * number of bytes as the format's block encoding.
 */
#ifndef LFM2C_PACK_H
#define LFM2C_PACK_H

#include <stdint.h>

#include "ir.h"

/* Encodes x[0..K) as one packed row of format t into out
 * (quant_bytes_per_row(t, K) bytes).  Returns 0, or -1 as
 * quant_quantize_row (bad K, value out of the format's range). */
int pack_row(DType t, const float *x, int64_t K, void *out);

/* Decodes a packed row back to float (tests, `lfm2c dequant`).  0 or -1. */
int unpack_row(DType t, const void *in, int64_t K, float *out);

/* Block formats: a row's blocks are packed in groups (specs/formats.md);
 * the size of the next group when `left` blocks remain: 16, 8, 4 or 1
 * (0 when none remain).  The kernels walk a row with the same rule. */
int pack_group_blocks(int64_t left);

/* ------------------------------------------------- whole weights
 * A weight [N][K] is packed a chunk of rows at a time (pack_panels.c,
 * specs/formats.md "Packed layouts: float formats").  A float-format (f32,
 * f16, bf16) weight that a matmul reads is stored in panels of PACK_PANEL
 * rows interleaved along K (element (row gP+l, k) at k*P + l of panel g),
 * in groups of 2P rows (a panel of the pairs' first rows, then one of their
 * second rows) for the SwiGLU matmul's weight, whose rows come in (w1, w3)
 * pairs; the N mod group rows at the end stay plain rows.  A block-format
 * (q8_0, q4_0, q4_1) weight a matmul reads is stored in the same panels,
 * block by block: P rows' 4-byte chunk of a block side by side, then
 * their scales (pack_panels.c).  Every other weight (norms, conv taps,
 * biases, an untied embedding) is rows of pack_row, one after another.  The total size is
 * N * quant_bytes_per_row(t, K) either way. */
#define PACK_PANEL 16

typedef enum PackLayout {
	PACK_ROWS = 0,     /* rows one after another */
	PACK_PANELS = 1,   /* panels of PACK_PANEL rows */
	PACK_PAIRS = 2,    /* groups of (w1, w3) pairs: two panels each */
} PackLayout;

/* How weight wi of g is stored: by the op that reads it (a matmul: panels;
 * the SwiGLU matmul: pairs) and its format (block formats: rows).  The blob
 * writer packs with it and the lowering reads with it. */
PackLayout pack_weight_layout(const Graph *g, int wi);

/* Rows per packing group: 1 (rows), PACK_PANEL or 2*PACK_PANEL (float and
 * block formats alike). */
int64_t pack_group_rows(DType t, PackLayout lay);

/* Element index (in values of the format, from the weight's start) of
 * row `row`, column k, for the float formats; row * K + k for rows. */
int64_t pack_elem_index(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row, int64_t k);

/* Block formats: the byte offset of the panel holding row `row` (from the
 * weight's start) and, in *lane, the row's lane in it (pack_panels.c has
 * the byte map); for a row stored as a plain row (PACK_ROWS, or after the
 * last whole group), the row's offset and *lane = -1. */
int64_t pack_qpanel_row_offset(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row, int *lane);

/* Packs rows [row0, row0+n) of a weight of N rows (x: n plain rows of K
 * floats) into out, which is where those rows' bytes start in the packed
 * weight (row0 * bytes_per_row).  row0 must be a multiple of the group
 * rows, and n too unless the chunk ends the weight.  0, or -1 (bad chunk,
 * bad K, a value out of the format's range, out of memory). */
int pack_rows(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, const float *x, void *out);

/* The inverse (tests): n plain rows of floats from packed bytes.  0 or -1. */
int unpack_rows(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, const void *in, float *x);

#endif
