/*
 * formats.c — the weight formats (see formats.h and specs/formats.md).
 *
 * Every block format stores a row of K values as K/32 blocks of a fixed
 * byte size, read and written byte by byte in little-endian order, so the
 * host's endianness and alignment never matter.  q8_0 and q4_0 follow
 * llama.cpp's reference quantizers (quantize_row_q8_0_ref,
 * quantize_row_q4_0_ref in ggml-quants.c) operation for operation, so
 * their bytes equal what llama.cpp writes; q4_1 shares llama.cpp's Q4_1
 * decoding but chooses the scale and minimum by a small least-squares
 * search (block_q4_1 below explains it).
 *
 * Floating point here must give the same bits on every host: the library
 * is compiled with -ffp-contract=off (no fused multiply-add), every
 * intermediate is a named float or double, and rounding is spelled out
 * (roundf = half away from zero, nearbyintf = half to even under the
 * default rounding mode, which is what SIMD conversions use).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

/* ------------------------------------------------------------ bytes */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* f16 of a scale, or -1 if it overflows to infinity. */
static int scale_to_f16(float d, uint16_t *h)
{
	*h = lfm_f32_to_f16(d);
	return (*h & 0x7c00u) == 0x7c00u ? -1 : 0;
}

static bool all_finite(const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------ formats */

static const struct {
	DType t;
	const char *name;
	int values, bytes, is_format;
} formats[] = {
#define DTYPE(name, id, str, values, bytes, is_format) {DT_##name, str, values, bytes, is_format},
#include "dtypes.h"
#undef DTYPE
};
#define N_FORMATS (int)(sizeof formats / sizeof formats[0])

static int find_format(DType t)
{
	for (int i = 0; i < N_FORMATS; i++)
		if (formats[i].t == t && formats[i].is_format)
			return i;
	return -1;
}

int quant_format_parse(const char *name, DType *out)
{
	for (int i = 0; i < N_FORMATS; i++)
		if (name && formats[i].is_format && !strcmp(name, formats[i].name)) {
			*out = formats[i].t;
			return 0;
		}
	return -1;
}

const char *quant_format_name(DType t)
{
	int i = find_format(t);
	return i < 0 ? "?" : formats[i].name;
}

/* "f32, f16, bf16, q8_0, q4_0, q4_1": the table's formats in order. */
#define DTYPE(name, id, str, values, bytes, is_format) FORMAT_LIST_##is_format(str)
#define FORMAT_LIST_0(str)
#define FORMAT_LIST_1(str) ", " str
static const char format_list[] =
#include "dtypes.h"
	;
#undef DTYPE
#undef FORMAT_LIST_0
#undef FORMAT_LIST_1

const char *quant_format_list(void) { return format_list + 2; }

bool quant_is_format(DType t) { return find_format(t) >= 0; }

bool quant_is_blocked(DType t)
{
	int i = find_format(t);
	return i >= 0 && formats[i].values > 1;
}

int quant_block_values(DType t)
{
	int i = find_format(t);
	return i < 0 ? 0 : formats[i].values;
}

int quant_block_bytes(DType t)
{
	int i = find_format(t);
	return i < 0 ? 0 : formats[i].bytes;
}

int64_t quant_bytes_per_row(DType t, int64_t K)
{
	int i = find_format(t);
	if (i < 0 || K <= 0 || K % formats[i].values)
		return -1;
	return K / formats[i].values * formats[i].bytes;
}

/* ------------------------------------------------------------ q8_0 */

/* llama.cpp's quantize_row_q8_0_ref: d = amax/127 in f32, stored as f16;
 * q = roundf(x * (1/d)) with the unrounded d. */
static int block_q8_0(const float *x, uint8_t *out)
{
	float amax = 0.0f;
	for (int j = 0; j < QUANT_BLOCK; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	float d = amax / 127.0f;
	float id = d != 0.0f ? 1.0f / d : 0.0f;
	uint16_t dh;
	if (scale_to_f16(d, &dh))
		return -1;
	put_le16(out, dh);
	for (int j = 0; j < QUANT_BLOCK; j++) {
		float q = roundf(x[j] * id);
		q = fminf(127.0f, fmaxf(-127.0f, q));   /* never binds; keeps the cast defined */
		out[2 + j] = (uint8_t)(int8_t)q;
	}
	return 0;
}

static void unblock_q8_0(const uint8_t *in, float *y)
{
	float d = lfm_f16_to_f32(get_le16(in));
	for (int j = 0; j < QUANT_BLOCK; j++)
		y[j] = (float)(int8_t)in[2 + j] * d;
}

/* ------------------------------------------------------------ q4_0 */

/* llama.cpp's quantize_row_q4_0_ref: max = the value of largest magnitude
 * (the first one on ties), d = max / -8, q = min(15, trunc(x/d + 8.5)),
 * element j in the low nibble of byte j, element j+16 in the high one. */
static int block_q4_0(const float *x, uint8_t *out)
{
	float amax = 0.0f, max = 0.0f;
	for (int j = 0; j < QUANT_BLOCK; j++)
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	float d = max / -8.0f;
	float id = d != 0.0f ? 1.0f / d : 0.0f;
	uint16_t dh;
	if (scale_to_f16(d, &dh))
		return -1;
	put_le16(out, dh);
	for (int j = 0; j < QUANT_BLOCK / 2; j++) {
		float x0 = x[j] * id + 8.5f;                  /* in [0.49, 16.5] */
		float x1 = x[j + QUANT_BLOCK / 2] * id + 8.5f;
		int q0 = (int)x0 < 15 ? (int)x0 : 15;
		int q1 = (int)x1 < 15 ? (int)x1 : 15;
		out[2 + j] = (uint8_t)(q0 | q1 << 4);
	}
	return 0;
}

static void unblock_q4_0(const uint8_t *in, float *y)
{
	float d = lfm_f16_to_f32(get_le16(in));
	for (int j = 0; j < QUANT_BLOCK / 2; j++) {
		y[j] = (float)((in[2 + j] & 0x0f) - 8) * d;
		y[j + QUANT_BLOCK / 2] = (float)((in[2 + j] >> 4) - 8) * d;
	}
}

/* ------------------------------------------------------------ q4_1 */

/* q4_1 chooses each block's scale d and minimum m by a small search
 * (block_q4_1 explains it).  The search is the hot loop of a q4_1
 * compile, so it runs four candidates at once, one per lane of a 4-lane
 * vector (GCC/clang vector extensions: SSE on x86, NEON on ARM), walking
 * the block's 32 values in order.  Every lane does the same IEEE
 * operations a scalar loop would, and every sum runs over the values in
 * the same order, so the bytes do not depend on the host or on how many
 * threads quantize. */
typedef float V4 __attribute__((vector_size(16)));
typedef double D4 __attribute__((vector_size(32)));
typedef int32_t I4 __attribute__((vector_size(16)));

enum {
	Q41_STARTS = 12,   /* refined starting scales, Q41_STARTS / 4 vectors */
	Q41_ROUNDS = 5,    /* at most this many "codes, then refit" rounds */
};

static V4 v4(float a) { return (V4){a, a, a, a}; }

/* Lane-wise min and max (no vector ?: in C); the inputs are never NaN. */
static V4 v4_min(V4 a, V4 b)
{
#if defined(__SSE2__)
	return (V4)_mm_min_ps((__m128)a, (__m128)b);
#elif defined(__ARM_NEON)
	return vminq_f32(a, b);
#else
	V4 r;
	for (int l = 0; l < 4; l++)
		r[l] = a[l] < b[l] ? a[l] : b[l];
	return r;
#endif
}

static V4 v4_max(V4 a, V4 b)
{
#if defined(__SSE2__)
	return (V4)_mm_max_ps((__m128)a, (__m128)b);
#elif defined(__ARM_NEON)
	return vmaxq_f32(a, b);
#else
	V4 r;
	for (int l = 0; l < 4; l++)
		r[l] = a[l] > b[l] ? a[l] : b[l];
	return r;
#endif
}

/* lanes of a where mask is set, else 0 */
static V4 v4_keep(V4 a, I4 mask) { return (V4)((I4)a & mask); }

/* lanes of a where mask is set, else b's */
static V4 v4_select(I4 mask, V4 a, V4 b) { return (V4)(((I4)a & mask) | ((I4)b & ~mask)); }

static bool i4_any(I4 m) { return (m[0] | m[1] | m[2] | m[3]) != 0; }

/* The code of x for scale 1/id and minimum m: clamp(round((x - m) id), 0,
 * 15), rounding ties to even by adding and subtracting 1.5 * 2^23 (exact
 * for |v| < 2^22; larger values stay on their side of the clamp). */
static V4 q41_code(V4 x, V4 m, V4 id)
{
	const V4 magic = v4(12582912.0f);
	V4 r = ((x - m) * id + magic) - magic;
	return v4_min(v4_max(r, v4(0.0f)), v4(15.0f));
}

/* 1/d, or 0 where d is 0 (every value then takes code 0). */
static V4 q41_inverse(V4 d) { return v4_keep(v4(1.0f) / d, d != 0.0f); }

/* xs[j] holds value j in every lane.  The four lanes' codes for (d, m), then the least-squares (d, m) for
 * those codes: minimise sum (q d + m - x)^2.  sum q and sum q^2 are exact
 * (small integers in binary32); the solve runs in binary64.  Returns the
 * mask of lanes whose codes are not all equal (the others have no unique
 * solution and keep their d, m). */
static I4 q41_refit(const V4 *xs, double sx, V4 *d, V4 *m)
{
	V4 id = q41_inverse(*d), zero = v4(0.0f);
	V4 s1e = zero, s2e = zero, sxe = zero, s1o = zero, s2o = zero, sxo = zero;
	for (int j = 0; j < QUANT_BLOCK; j += 2) {   /* even and odd j: two chains */
		V4 qe = q41_code(xs[j], *m, id), qo = q41_code(xs[j + 1], *m, id);
		s1e += qe;
		s2e += qe * qe;
		sxe += qe * xs[j];
		s1o += qo;
		s2o += qo * qo;
		sxo += qo * xs[j + 1];
	}
	V4 s1 = s1e + s1o, s2 = s2e + s2o, sxq = sxe + sxo;
	D4 n = {QUANT_BLOCK, QUANT_BLOCK, QUANT_BLOCK, QUANT_BLOCK};
	D4 a = __builtin_convertvector(s1, D4), aa = __builtin_convertvector(s2, D4);
	D4 ax = __builtin_convertvector(sxq, D4), tx = {sx, sx, sx, sx};
	D4 det = n * aa - a * a;
	D4 dd = (n * ax - a * tx) / det, mm = (tx - dd * a) / n;
	I4 solved = __builtin_convertvector(det > 0.0, I4);
	*d = v4_select(solved, __builtin_convertvector(dd, V4), *d);
	*m = v4_select(solved, __builtin_convertvector(mm, V4), *m);
	return solved;
}

/* Squared error of the block decoded with (d, m) already rounded to f16,
 * each value taking its nearest code; q d + m in binary32, as the decoder
 * computes it. */
static V4 q41_error(const V4 *xs, V4 d, V4 m)
{
	V4 id = q41_inverse(d), e = v4(0.0f);
	for (int j = 0; j < QUANT_BLOCK; j++) {
		V4 diff = (q41_code(xs[j], m, id) * d + m) - xs[j];
		e += diff * diff;
	}
	return e;
}

/* Each lane rounded to the nearest binary16 value (ties to even), as
 * lfm_f16_to_f32(lfm_f32_to_f16(v)) gives for finite v.  Adding and
 * subtracting c = 1.5 * 2^(e + 13), e the exponent of |v| but at least -14
 * (f16's subnormals are spaced 2^-24), rounds |v| to a multiple of
 * 2^(e - 10): f16's spacing.  Returns the mask of lanes that stay finite
 * (|v| < 65520; larger ones become infinity in f16). */
static I4 v4_round_f16(V4 *v)
{
	const I4 abs_bits = (I4)*v & 0x7fffffff, sign = (I4)*v & (int32_t)0x80000000u;
	I4 e = abs_bits >> 23;   /* biased: 127 + exponent */
	I4 low = e < 113, high = e > 142;   /* below 2^-14; at or above 2^16 */
	e = (e & ~low & ~high) | (113 & low) | (142 & high);
	V4 c = (V4)(((e + 13) << 23) | 0x400000);
	V4 r = ((V4)abs_bits + c) - c;
	*v = (V4)((I4)r | sign);
	return r < 65520.0f;
}

/* Candidate 0 is llama.cpp's quantize_row_q4_1_ref (codes from the
 * unrounded min/max scale, rounded half up), so we are never worse than
 * it.  Then 12 starting scales (max-min)/(15 (1 + s/100)), s = -11, -9,
 * .. 11, each refined by up to 5 rounds of "pick the nearest codes, refit
 * (d, m) by least squares" (a round that gives back the same (d, m) has
 * converged); the candidate with the smallest squared error after f16
 * rounding wins (the earliest on ties).  Measured on trained-tiny: 0.0687
 * relative RMS vs 0.0779 for min/max alone. */
static int block_q4_1(const float *x, uint8_t *out)
{
	float mn = x[0], mx = x[0];
	double sx = 0;
	for (int j = 0; j < QUANT_BLOCK; j++) {
		mn = x[j] < mn ? x[j] : mn;
		mx = x[j] > mx ? x[j] : mx;
		sx += x[j];
	}
	float d0 = (mx - mn) / 15.0f, id0 = d0 != 0.0f ? 1.0f / d0 : 0.0f;
	uint16_t dh, mh;
	if (scale_to_f16(d0, &dh) || scale_to_f16(mn, &mh))
		return -1;
	float best_d = lfm_f16_to_f32(dh), best_m = lfm_f16_to_f32(mh);
	uint8_t q[QUANT_BLOCK];
	float best_err = 0;
	for (int j = 0; j < QUANT_BLOCK; j++) {   /* candidate 0 */
		int c = (int)((x[j] - mn) * id0 + 0.5f);
		q[j] = (uint8_t)(c < 15 ? c : 15);
		float diff = ((float)q[j] * best_d + best_m) - x[j];
		best_err += diff * diff;
	}
	V4 xs[QUANT_BLOCK];   /* each value in all four lanes */
	for (int j = 0; j < QUANT_BLOCK; j++)
		xs[j] = v4(x[j]);
	bool refined = false;
	for (int g = 0; g < Q41_STARTS / 4 && mx > mn; g++) {
		V4 d, m = v4(mn);
		for (int l = 0; l < 4; l++) {
			int s = 2 * (4 * g + l) - (Q41_STARTS - 1);
			d[l] = (float)(((double)mx - mn) / (15.0 * (1.0 + s / 100.0)));
		}
		for (int round = 0; round < Q41_ROUNDS; round++) {
			V4 pd = d, pm = m;
			I4 solved = q41_refit(xs, sx, &d, &m);
			if (!i4_any(solved & ((d != pd) | (m != pm))))
				break;   /* every lane has converged or cannot move */
		}
		I4 ok = (d > 0.0f) & v4_round_f16(&d) & v4_round_f16(&m);
		V4 err = q41_error(xs, d, m);
		for (int l = 0; l < 4; l++)
			if (ok[l] && err[l] < best_err) {
				best_err = err[l];
				best_d = d[l];
				best_m = m[l];
				refined = true;
			}
	}
	if (refined) {
		float id = best_d != 0.0f ? 1.0f / best_d : 0.0f;
		for (int j = 0; j < QUANT_BLOCK; j++)
			q[j] = (uint8_t)q41_code(v4(x[j]), v4(best_m), v4(id))[0];
	}
	put_le16(out, lfm_f32_to_f16(best_d));   /* exact: already f16 */
	put_le16(out + 2, lfm_f32_to_f16(best_m));
	for (int j = 0; j < QUANT_BLOCK / 2; j++)
		out[4 + j] = (uint8_t)(q[j] | q[j + QUANT_BLOCK / 2] << 4);
	return 0;
}

/* value = q*d + m in binary32: q*d is exact, the sum rounds once. */
static void unblock_q4_1(const uint8_t *in, float *y)
{
	float d = lfm_f16_to_f32(get_le16(in));
	float m = lfm_f16_to_f32(get_le16(in + 2));
	for (int j = 0; j < QUANT_BLOCK / 2; j++) {
		float v0 = (float)(in[4 + j] & 0x0f) * d;
		float v1 = (float)(in[4 + j] >> 4) * d;
		y[j] = v0 + m;
		y[j + QUANT_BLOCK / 2] = v1 + m;
	}
}

/* ------------------------------------------------------------ rows */

int quant_quantize_row(DType t, const float *x, int64_t K, void *outp)
{
	int64_t bytes = quant_bytes_per_row(t, K);
	if (bytes < 0 || !all_finite(x, K))
		return -1;
	uint8_t *out = outp;
	switch (t) {
	case DT_F32:
		for (int64_t i = 0; i < K; i++) {
			uint32_t u;
			memcpy(&u, &x[i], 4);
			put_le32(out + 4 * i, u);
		}
		return 0;
	case DT_F16:
		for (int64_t i = 0; i < K; i++) {
			uint16_t h = lfm_f32_to_f16(x[i]);
			if ((h & 0x7c00u) == 0x7c00u)
				return -1;   /* |x| >= 65520 overflows */
			put_le16(out + 2 * i, h);
		}
		return 0;
	case DT_BF16:
		for (int64_t i = 0; i < K; i++) {
			uint16_t b = lfm_f32_to_bf16(x[i]);
			if ((b & 0x7f80u) == 0x7f80u)
				return -1;
			put_le16(out + 2 * i, b);
		}
		return 0;
	case DT_Q8_0:
	case DT_Q4_0:
	case DT_Q4_1: {
		int bb = quant_block_bytes(t);
		for (int64_t b = 0; b < K / QUANT_BLOCK; b++) {
			const float *xb = x + b * QUANT_BLOCK;
			uint8_t *ob = out + b * bb;
			int rc = t == DT_Q8_0 ? block_q8_0(xb, ob) : t == DT_Q4_0 ? block_q4_0(xb, ob) : block_q4_1(xb, ob);
			if (rc)
				return -1;
		}
		return 0;
	}
	case DT_I32:   /* not a weight format (quant_bytes_per_row refused it) */
		return -1;
	}
	return -1;
}

int quant_dequantize_row(DType t, const void *inp, int64_t K, float *y)
{
	if (quant_bytes_per_row(t, K) < 0)
		return -1;
	const uint8_t *in = inp;
	switch (t) {
	case DT_F32:
		for (int64_t i = 0; i < K; i++) {
			uint32_t u = get_le32(in + 4 * i);
			memcpy(&y[i], &u, 4);
		}
		return 0;
	case DT_F16:
		for (int64_t i = 0; i < K; i++)
			y[i] = lfm_f16_to_f32(get_le16(in + 2 * i));
		return 0;
	case DT_BF16:
		for (int64_t i = 0; i < K; i++)
			y[i] = lfm_bf16_to_f32(get_le16(in + 2 * i));
		return 0;
	case DT_Q8_0:
	case DT_Q4_0:
	case DT_Q4_1: {
		int bb = quant_block_bytes(t);
		for (int64_t b = 0; b < K / QUANT_BLOCK; b++) {
			const uint8_t *ib = in + b * bb;
			float *yb = y + b * QUANT_BLOCK;
			if (t == DT_Q8_0)
				unblock_q8_0(ib, yb);
			else if (t == DT_Q4_0)
				unblock_q4_0(ib, yb);
			else
				unblock_q4_1(ib, yb);
		}
		return 0;
	}
	case DT_I32:   /* not a weight format (quant_bytes_per_row refused it) */
		return -1;
	}
	return -1;
}

int quant_roundtrip(DType t, const float *x, int64_t rows, int64_t K, float *out)
{
	int64_t bytes = quant_bytes_per_row(t, K);
	if (bytes < 0 || rows < 0)
		return -1;
	uint8_t *buf = malloc((size_t)bytes);
	if (!buf)
		return -1;
	int rc = 0;
	for (int64_t r = 0; r < rows && !rc; r++)
		rc = quant_quantize_row(t, x + r * K, K, buf) || quant_dequantize_row(t, buf, K, out + r * K);
	free(buf);
	return rc ? -1 : 0;
}

/* ---------------------------------------------------------- activations */

/* What a vector kernel does: one max-reduction, one division for 127/amax
 * (0 for an all-zero block), a multiply and a round-half-even conversion
 * per value (cvtps2dq / fcvtns).  |x * id| <= 127 * (1 + 2^-23), so the
 * codes stay within [-127, 127] without a clamp. */
int quant_act_row(const float *x, int64_t K, QuantActBlock *out)
{
	if (K <= 0 || K % QUANT_BLOCK || !all_finite(x, K))
		return -1;
	for (int64_t b = 0; b < K / QUANT_BLOCK; b++) {
		const float *xb = x + b * QUANT_BLOCK;
		QuantActBlock *a = &out[b];
		float amax = 0.0f;
		for (int j = 0; j < QUANT_BLOCK; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		a->d = amax / 127.0f;
		a->sum = 0;
		for (int j = 0; j < QUANT_BLOCK; j++) {
			a->q[j] = (int8_t)nearbyintf(xb[j] * id);
			a->sum += a->q[j];
		}
	}
	return 0;
}

int quant_dot_ref(DType t, const void *wrow, const QuantActBlock *a, int64_t K,
                  double *out, double *abs_terms)
{
	if (!quant_is_blocked(t) || quant_bytes_per_row(t, K) < 0)
		return -1;
	const uint8_t *w = wrow;
	int bb = quant_block_bytes(t);
	double acc = 0, abs_acc = 0;
	for (int64_t b = 0; b < K / QUANT_BLOCK; b++) {
		const uint8_t *wb = w + b * bb;
		const QuantActBlock *ab = &a[b];
		double dw = lfm_f16_to_f32(get_le16(wb)), da = ab->d;
		int32_t isum = 0;
		double term = 0, mag = 0;
		switch (t) {
		case DT_Q8_0:
			for (int j = 0; j < QUANT_BLOCK; j++)
				isum += (int32_t)(int8_t)wb[2 + j] * ab->q[j];
			term = dw * da * (double)isum;
			mag = fabs(term);
			break;
		case DT_Q4_0:
			for (int j = 0; j < QUANT_BLOCK / 2; j++)
				isum += ((wb[2 + j] & 0x0f) - 8) * ab->q[j]
				        + ((wb[2 + j] >> 4) - 8) * ab->q[j + QUANT_BLOCK / 2];
			term = dw * da * (double)isum;
			mag = fabs(term);
			break;
		case DT_F32:   /* not block formats: refused above */
		case DT_I32:
		case DT_F16:
		case DT_BF16:
			return -1;
		case DT_Q4_1: {
			double mw = lfm_f16_to_f32(get_le16(wb + 2));
			for (int j = 0; j < QUANT_BLOCK / 2; j++)
				isum += (wb[4 + j] & 0x0f) * ab->q[j] + (wb[4 + j] >> 4) * ab->q[j + QUANT_BLOCK / 2];
			double t1 = dw * da * (double)isum, t2 = mw * da * (double)ab->sum;
			term = t1 + t2;
			mag = fabs(t1) + fabs(t2);   /* a kernel rounds both parts */
			break;
		}
		}
		acc += term;
		abs_acc += mag;
	}
	*out = acc;
	if (abs_terms)
		*abs_terms = abs_acc;
	return 0;
}
