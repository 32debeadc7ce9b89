/*
 * formats.h — weight storage formats: sizes, quantize, dequantize, and the
 * integer dot-product reference the quantized kernels are tested against.
 *
 * A weight [N, K] (PyTorch [out, in]) is stored row after row; each row of
 * K values is encoded on its own, in blocks along K.  The formats:
 *
 *   f32    4 bytes/value, IEEE binary32 little-endian (the spine's format)
 *   f16    2 bytes/value, IEEE binary16 LE, round to nearest even
 *   bf16   2 bytes/value, the top half of binary32 LE, round to nearest even
 *   q8_0   blocks of 32: f16 scale d, 32 x int8 q;        value = q*d
 *          (llama.cpp Q8_0: d = max|x|/127, q = round-half-away(x/d))
 *   q4_0   blocks of 32: f16 scale d, 16 bytes of nibbles; value = (q-8)*d
 *          (llama.cpp Q4_0, bit for bit: d = (signed max-magnitude)/-8)
 *   q4_1   blocks of 32: f16 scale d, f16 min m, 16 bytes of nibbles;
 *          value = q*d + m.  Decodes exactly like llama.cpp Q4_1; our
 *          quantizer searches (d, m) by least squares instead of taking
 *          min/max, which cuts the RMS error by 12% on trained-tiny and
 *          never does worse than min/max (it is one of the candidates).
 *
 * Exact byte layouts, rounding rules and the reasons are in specs/formats.md.
 * K must be a multiple of the format's block (1 or 32); the functions
 * return -1 otherwise and the quantize pass keeps such weights in f32.
 *
 * Activations are quantized per block of 32 to int8 with an f32 scale
 * (QuantActBlock) for int8 x int8 dot products.  quant_act_row is written
 * to be exactly what a SIMD kernel computes (see the function), so kernel
 * tests can compare against quant_dot_ref, which sums exact per-block
 * int32 dot products scaled in double.
 *
 * The formats' names and sizes come from the type table (dtypes.h).  This
 * lives in ir/ because the reference interpreter computes with the values
 * a weight has in its stored format, and everything above ir (passes,
 * codegen, the commands) uses it too.  formats.c is compiled with
 * -ffp-contract=off so results are the same on every host.
 */
#ifndef LFM2C_FORMATS_H
#define LFM2C_FORMATS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"

#define QUANT_BLOCK 32   /* values per block of every block format */

/* Bytes of one block of each format. */
#define QUANT_Q8_0_BYTES 34   /* f16 d | int8 q[32] */
#define QUANT_Q4_0_BYTES 18   /* f16 d | u8 qs[16] */
#define QUANT_Q4_1_BYTES 20   /* f16 d | f16 m | u8 qs[16] */

/* ------------------------------------------------------------ formats */

/* "f32" "f16" "bf16" "q8_0" "q4_0" "q4_1" -> DType; -1 if unknown. */
int quant_format_parse(const char *name, DType *out);
/* The name of a format ("q4_0"), or "?" (same as ir's dtype_name). */
const char *quant_format_name(DType t);
/* The list above as one string, for messages: "f32, f16, ...". */
const char *quant_format_list(void);
/* True for the formats a weight can be stored in (not i32). */
bool quant_is_format(DType t);
/* True for the block formats (q8_0, q4_0, q4_1). */
bool quant_is_blocked(DType t);
/* Values per block: 1 for f32/f16/bf16, 32 for q*; 0 if not a format. */
int quant_block_values(DType t);
/* Bytes per block (per value for f32/f16/bf16); 0 if not a format. */
int quant_block_bytes(DType t);

/* Bytes of one row of K values; -1 if K is not a positive multiple of
 * the block or t is not a format. */
int64_t quant_bytes_per_row(DType t, int64_t K);

/* --------------------------------------------------------- rows of weights */

/* Encodes x[0..K) into out (quant_bytes_per_row bytes).  Returns 0, or -1
 * if K is not a multiple of the block, t is not a format, a value is not
 * finite, or a value or scale overflows the format (f16 range). */
int quant_quantize_row(DType t, const float *x, int64_t K, void *out);

/* Decodes a row back to float.  Returns 0, or -1 on a bad K or format. */
int quant_dequantize_row(DType t, const void *in, int64_t K, float *out);

/* out = dequantize(quantize(x)) for rows x [rows, K] (out may equal x).
 * The values a quantized model computes with.  Returns 0 or -1 as
 * quant_quantize_row (or out of memory). */
int quant_roundtrip(DType t, const float *x, int64_t rows, int64_t K, float *out);

/* ---------------------------------------------------------- activations */

/* One block of 32 activations as the int8 kernels see them:
 *   d = max|x| / 127 (f32), q = round-half-even(x * (127 / max|x|)),
 *   sum = sum of q (for q4_1's min term).  x ~= q * d.            40 bytes */
typedef struct QuantActBlock {
	float d;
	int32_t sum;
	int8_t q[QUANT_BLOCK];
} QuantActBlock;

/* Quantizes x[0..K) to K/32 blocks.  Returns 0, or -1 if K is not a
 * multiple of 32 or a value is not finite. */
int quant_act_row(const float *x, int64_t K, QuantActBlock *out);

/* The reference dot product of one weight row (q8_0, q4_0 or q4_1 bytes)
 * with a quantized activation row: per block an exact int32 sum of
 * integer products, then  sum_b  d_w * d_a * isum_b  (+ m_w * d_a * sum_a
 * for q4_1) in double.  *abs_terms (if not NULL) gets the sum of the
 * blocks' |terms|, from which a kernel test derives its error bound (a
 * binary32 kernel is within (K/32 + 4) * 2^-24 * abs_terms).
 * Returns 0, or -1 on a bad format or K. */
int quant_dot_ref(DType t, const void *wrow, const QuantActBlock *a, int64_t K,
                  double *out, double *abs_terms);

#endif
