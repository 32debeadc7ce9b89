/*
 * lfm2_kernels.h — the f32 kernels that generated models call.
 *
 * lfm2c copies this header next to every model.c it emits.  The functions
 * are generic in their sizes but `static inline`: the generated code wraps
 * each one in a small function with the model's sizes as compile-time
 * constants, so the C compiler specializes (and vectorizes) every call
 * site for the exact shapes of the variant.
 *
 * Conventions: row-major; a weight matrix W is [N][K] (PyTorch's [out,in]);
 * activations are [rows][n] with an explicit row stride where a kernel may
 * read a slice of a wider row.
 */
#ifndef LFM2_KERNELS_H
#define LFM2_KERNELS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lfm2_abi.h"

#define LFM2_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------ dot */

/* sum_k a[k]*b[k] with 16 independent partial sums (one vector register's
 * worth on AVX-512, two on AVX2/NEON), added pairwise at the end. */
LFM2_INLINE float dot_f32(const float *a, const float *b, int64_t K)
{
	float acc[16] = {0};
	int64_t k = 0;
	for (; k + 16 <= K; k += 16)
		for (int j = 0; j < 16; j++)
			acc[j] += a[k + j] * b[k + j];
	for (int j = 0; k < K; k++, j++)
		acc[j] += a[k] * b[k];
	for (int w = 8; w > 0; w /= 2)
		for (int j = 0; j < w; j++)
			acc[j] += acc[j + w];
	return acc[0];
}

/* Four dot products of one weight row with four activation rows: the
 * weight row is loaded once for all four. */
LFM2_INLINE void dot4_f32(const float *w, const float *x, int64_t ldx, int64_t K, float out[4])
{
	float acc[4][16] = {{0}};
	int64_t k = 0;
	for (; k + 16 <= K; k += 16)
		for (int j = 0; j < 16; j++) {
			float wv = w[k + j];
			acc[0][j] += wv * x[k + j];
			acc[1][j] += wv * x[ldx + k + j];
			acc[2][j] += wv * x[2 * ldx + k + j];
			acc[3][j] += wv * x[3 * ldx + k + j];
		}
	for (int j = 0; k < K; k++, j++)
		for (int r = 0; r < 4; r++)
			acc[r][j] += w[k] * x[r * ldx + k];
	for (int r = 0; r < 4; r++) {
		for (int s = 8; s > 0; s /= 2)
			for (int j = 0; j < s; j++)
				acc[r][j] += acc[r][j + s];
		out[r] = acc[r][0];
	}
}

/* ---------------------------------------------------------------- matmul
 * y[t][n] = sum_k x[t][k] * w[n][k]  for t < rows, n in [n0, n1).
 * Weight rows are visited in blocks small enough to stay in L2 while every
 * group of four activation rows passes over them.
 */
typedef struct lfm2_matmul_args {
	float *y;
	int64_t ldy;
	const float *x;
	const float *w;
	int64_t rows;
} lfm2_matmul_args;

LFM2_INLINE void matmul_f32(const lfm2_matmul_args *a, int64_t n0, int64_t n1, int64_t K, int64_t NB)
{
	for (int64_t nb = n0; nb < n1; nb += NB) {
		int64_t ne = nb + NB < n1 ? nb + NB : n1;
		int64_t t = 0;
		for (; t + 4 <= a->rows; t += 4)
			for (int64_t n = nb; n < ne; n++) {
				float o[4];
				dot4_f32(a->w + n * K, a->x + t * K, K, K, o);
				for (int r = 0; r < 4; r++)
					a->y[(t + r) * a->ldy + n] = o[r];
			}
		for (; t < a->rows; t++)
			for (int64_t n = nb; n < ne; n++)
				a->y[t * a->ldy + n] = dot_f32(a->w + n * K, a->x + t * K, K);
	}
}

/* --------------------------------------------------------------- rmsnorm
 * y[r] = w * x[r] / sqrt(mean(x[r]^2) + eps), for each of `rows` rows of n.
 * The sum of squares is accumulated in double: it is cheap and keeps the
 * normalisation exact to f32 rounding even for long rows. */
LFM2_INLINE void rmsnorm_f32(float *y, const float *x, const float *w, int64_t rows, int64_t n,
                             float eps)
{
	for (int64_t r = 0; r < rows; r++) {
		const float *xr = x + r * n;
		float *yr = y + r * n;
		double ss = 0;
		for (int64_t i = 0; i < n; i++)
			ss += (double)xr[i] * xr[i];
		float inv = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
		for (int64_t i = 0; i < n; i++)
			yr[i] = w[i] * (xr[i] * inv);
	}
}

/* ------------------------------------------------------------ short conv
 * Causal depthwise cross-correlation of z [T][H] with taps w [H][L]:
 *   y[t][c] = sum_k w[c][k] * zz[t+k][c],  zz = [state (L-1 rows); z]
 * then state = the last L-1 rows of zz.  The newest row meets tap L-1.
 */
LFM2_INLINE void short_conv_f32(float *y, const float *z, const float *w, float *state,
                                int64_t T, int64_t H, int64_t L)
{
	for (int64_t t = 0; t < T; t++) {
		float *yt = y + t * H;
		for (int64_t c = 0; c < H; c++)
			yt[c] = 0;
		for (int64_t k = 0; k < L; k++) {
			int64_t row = t + k - (L - 1);
			const float *src = row < 0 ? state + (L - 1 + row) * H : z + row * H;
			for (int64_t c = 0; c < H; c++)
				yt[c] += w[c * L + k] * src[c];
		}
	}
	for (int64_t r = 0; r < L - 1; r++) {
		int64_t src = T - (L - 1) + r;
		if (src >= 0)
			memcpy(state + r * H, z + src * H, (size_t)H * sizeof(float));
		else
			memmove(state + r * H, state + (r + T) * H, (size_t)H * sizeof(float));
	}
}

/* ------------------------------------------------------------------ rope
 * NeoX rotate-half RoPE on rows of d: element i pairs with i + d/2.
 * cs/sn: [T][d/2] tables for the call's positions, computed once per call.
 */
LFM2_INLINE void rope_f32(float *y, const float *x, const float *cs, const float *sn,
                          int64_t T, int64_t heads, int64_t d)
{
	int64_t half = d / 2;
	for (int64_t t = 0; t < T; t++)
		for (int64_t h = 0; h < heads; h++) {
			const float *xi = x + (t * heads + h) * d;
			float *yi = y + (t * heads + h) * d;
			const float *c = cs + t * half, *s = sn + t * half;
			for (int64_t i = 0; i < half; i++) {
				float a = xi[i], b = xi[i + half];
				yi[i] = a * c[i] - b * s[i];
				yi[i + half] = b * c[i] + a * s[i];
			}
		}
}

/* angle(pos, i) = pos * inv_freq[i], evaluated in double. */
LFM2_INLINE void rope_tables(float *cs, float *sn, const double *inv_freq, int64_t pos0,
                             int64_t T, int64_t half)
{
	for (int64_t t = 0; t < T; t++)
		for (int64_t i = 0; i < half; i++) {
			double ang = (double)(pos0 + t) * inv_freq[i];
			cs[t * half + i] = (float)cos(ang);
			sn[t * half + i] = (float)sin(ang);
		}
}

/* ------------------------------------------------------------- attention
 * For query row t (position pos+t) and head h (kv head h / group):
 *   y = softmax_j(q . K[j] * scale) V[j]   over j = 0 .. pos+t,
 * computed in one pass over the keys with a running maximum (the
 * "online softmax"), in blocks of 64 keys.  K, V: [ctx][nkv*d].
 */
typedef struct lfm2_attn_args {
	float *y;
	const float *q;
	const float *K, *V;
	int64_t pos;
} lfm2_attn_args;

LFM2_INLINE void attention_f32(const lfm2_attn_args *a, int64_t i0, int64_t i1, int64_t nh,
                               int64_t nkv, int64_t d, float scale)
{
	enum { BLOCK = 64 };
	int64_t group = nh / nkv, kvd = nkv * d;
	for (int64_t i = i0; i < i1; i++) {
		int64_t t = i / nh, h = i % nh, kh = h / group;
		const float *q = a->q + (t * nh + h) * d;
		float *y = a->y + (t * nh + h) * d;
		int64_t S = a->pos + t + 1;
		float m = -INFINITY, l = 0;
		for (int64_t e = 0; e < d; e++)
			y[e] = 0;
		for (int64_t j0 = 0; j0 < S; j0 += BLOCK) {
			int64_t nb = S - j0 < BLOCK ? S - j0 : BLOCK;
			float s[BLOCK], bm = -INFINITY;
			for (int64_t j = 0; j < nb; j++) {
				s[j] = dot_f32(q, a->K + (j0 + j) * kvd + kh * d, d) * scale;
				bm = s[j] > bm ? s[j] : bm;
			}
			float nm = bm > m ? bm : m;
			float corr = expf(m - nm);   /* 0 on the first block */
			l *= corr;
			for (int64_t e = 0; e < d; e++)
				y[e] *= corr;
			for (int64_t j = 0; j < nb; j++) {
				float p = expf(s[j] - nm);
				const float *v = a->V + (j0 + j) * kvd + kh * d;
				l += p;
				for (int64_t e = 0; e < d; e++)
					y[e] += p * v[e];
			}
			m = nm;
		}
		for (int64_t e = 0; e < d; e++)
			y[e] /= l;
	}
}

/* ----------------------------------------------------------- elementwise */

LFM2_INLINE float silu_f32(float x) { return x / (1.0f + expf(-x)); }

#endif
