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

/* A q4_1 candidate: its stored scale and min and the 32 codes. */
typedef struct Q41 {
	float d, m;           /* f16-rounded, as decoded */
	uint8_t q[QUANT_BLOCK];
	double err;           /* sum of squared errors of the decoded block */
} Q41;

static float q41_value(const Q41 *c, int j) { return (float)c->q[j] * c->d + c->m; }

static double q41_error(Q41 *c, const float *x)
{
	double e = 0;
	for (int j = 0; j < QUANT_BLOCK; j++) {
		double diff = (double)q41_value(c, j) - (double)x[j];
		e += diff * diff;
	}
	return c->err = e;
}

/* Rounds (d, m) to f16 and picks each value's nearest code for them. */
static int q41_encode(Q41 *c, const float *x, double d, double m)
{
	uint16_t dh, mh;
	if (scale_to_f16((float)d, &dh) || scale_to_f16((float)m, &mh))
		return -1;
	c->d = lfm_f16_to_f32(dh);
	c->m = lfm_f16_to_f32(mh);
	float id = c->d != 0.0f ? 1.0f / c->d : 0.0f;
	for (int j = 0; j < QUANT_BLOCK; j++) {
		float v = (x[j] - c->m) * id + 0.5f;   /* round half up, then clamp */
		c->q[j] = (uint8_t)(v < 1.0f ? 0 : v >= 15.0f ? 15 : (int)v);
	}
	q41_error(c, x);
	return 0;
}

/* Nearest codes for an unrounded (d, m), during the search. */
static void q41_codes(const float *x, double d, double m, uint8_t *q)
{
	double id = 1.0 / d;
	for (int j = 0; j < QUANT_BLOCK; j++) {
		double v = (x[j] - m) * id + 0.5;   /* round half up, then clamp */
		q[j] = (uint8_t)(v < 1 ? 0 : v >= 15 ? 15 : (int)v);
	}
}

/* Least-squares (d, m) for fixed codes: minimise sum (q d + m - x)^2.
 * Returns -1 when the codes are all equal (no unique solution). */
static int q41_fit(const float *x, const uint8_t *q, double *d, double *m)
{
	double n = QUANT_BLOCK, sq = 0, sqq = 0, sx = 0, sqx = 0;
	for (int j = 0; j < QUANT_BLOCK; j++) {
		sq += q[j];
		sqq += (double)q[j] * q[j];
		sx += x[j];
		sqx += (double)q[j] * x[j];
	}
	double det = n * sqq - sq * sq;
	if (!(det > 0))
		return -1;
	*d = (n * sqx - sq * sx) / det;
	*m = (sx - *d * sq) / n;
	return 0;
}

/* Candidate 0 is llama.cpp's quantize_row_q4_1_ref exactly (codes from
 * the unrounded min/max scale), so we are never worse than it.  Then 11
 * starting scales (max-min)/(15 (1 + s/100)), s = -10, -8, .. 10, each refined by
 * 5 rounds of "pick codes, refit (d, m) by least squares"; the candidate
 * with the smallest squared error after f16 rounding wins (first on
 * ties).  A round whose codes equal the previous round's has converged.
 * Measured on trained-tiny: 0.0686 relative RMS vs 0.0779 for min/max
 * alone; 21 starts would gain 0.15%, at twice the time. */
static int block_q4_1(const float *x, uint8_t *out)
{
	float mn = x[0], mx = x[0];
	for (int j = 1; j < QUANT_BLOCK; j++) {
		mn = x[j] < mn ? x[j] : mn;
		mx = x[j] > mx ? x[j] : mx;
	}
	Q41 best, c;
	{   /* candidate 0: llama.cpp's min/max quantizer */
		float d = (mx - mn) / 15.0f;
		float id = d != 0.0f ? 1.0f / d : 0.0f;
		uint16_t dh, mh;
		if (scale_to_f16(d, &dh) || scale_to_f16(mn, &mh))
			return -1;
		best.d = lfm_f16_to_f32(dh);
		best.m = lfm_f16_to_f32(mh);
		for (int j = 0; j < QUANT_BLOCK; j++) {
			int q = (int)((x[j] - mn) * id + 0.5f);
			best.q[j] = (uint8_t)(q < 15 ? q : 15);
		}
		q41_error(&best, x);
	}
	for (int s = -10; s <= 10 && mx > mn; s += 2) {
		double d = ((double)mx - mn) / (15.0 * (1.0 + s / 100.0)), m = mn;
		uint8_t q[QUANT_BLOCK], prev[QUANT_BLOCK];
		for (int round = 0; round < 5; round++) {
			q41_codes(x, d, m, q);
			if (round && !memcmp(q, prev, sizeof q))
				break;   /* converged: the fit would repeat */
			if (q41_fit(x, q, &d, &m))
				break;
			memcpy(prev, q, sizeof q);
		}
		if (!(d > 0) || q41_encode(&c, x, d, m))
			continue;
		if (c.err < best.err)
			best = c;
	}
	uint16_t dh = lfm_f32_to_f16(best.d), mh = lfm_f32_to_f16(best.m);   /* exact: already f16 */
	put_le16(out, dh);
	put_le16(out + 2, mh);
	for (int j = 0; j < QUANT_BLOCK / 2; j++)
		out[4 + j] = (uint8_t)(best.q[j] | best.q[j + QUANT_BLOCK / 2] << 4);
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
