/*
 * pack.h — how each weight format is laid out in the blob: exactly the
 * bytes the generated kernel for that format reads.
 *
 * The quantize pass chooses a format per weight and the layout pass sizes
 * it (quant_bytes_per_row per row); pack_row encodes one row of K values
 * into those bytes.  For f32, f16 and bf16 the packed row is the plain
 * encoding (quant.h); for the block formats it is the repacked layout the
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

#endif
