/*
 * test_quant.c — the weight formats of ir/formats.c against values
 * computed by hand (and, for two blocks whose scale is not an f16 value,
 * by an independent numpy emulation of llama.cpp's reference quantizers:
 * make_expected.py), plus round-trip bounds, the activation quantizer and
 * the integer dot-product reference.
 *
 * Hand-computed blocks use inputs whose arithmetic is exact in binary32
 * (scales that are powers of two), so each expected byte follows from the
 * llama.cpp definition with pencil and paper; the comments show the steps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats.h"


static void check_bytes(const char *what, const uint8_t *got, const uint8_t *want, int n)
{
	for (int i = 0; i < n; i++)
		if (got[i] != want[i]) {
			CHECK_FAIL("%s: byte %d is 0x%02x, want 0x%02x", what, i, got[i], want[i]);
			return;
		}
	CHECK(1, "%s", what);
	printf("ok   %s\n", what);
}

/* A fixed pseudo-random stream (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static float gauss(void)
{
	double u = uniform(), v = uniform();
	return (float)(sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v));
}

/* ------------------------------------------------------------ sizes */

static void test_sizes(void)
{
	CHECK(quant_bytes_per_row(DT_F32, 7) == 28, "f32 K=7");
	CHECK(quant_bytes_per_row(DT_F16, 7) == 14, "f16 K=7");
	CHECK(quant_bytes_per_row(DT_BF16, 7) == 14, "bf16 K=7");
	CHECK(quant_bytes_per_row(DT_Q8_0, 64) == 68, "q8_0 K=64");
	CHECK(quant_bytes_per_row(DT_Q4_0, 64) == 36, "q4_0 K=64");
	CHECK(quant_bytes_per_row(DT_Q4_1, 64) == 40, "q4_1 K=64");
	CHECK(quant_bytes_per_row(DT_Q4_0, 48) == -1, "q4_0 K=48 is not a multiple of 32");
	CHECK(quant_bytes_per_row(DT_Q8_0, 0) == -1, "K=0");
	CHECK(quant_bytes_per_row(DT_I32, 32) == -1, "i32 is not a weight format");
	float x[48] = {0};
	uint8_t buf[64];
	CHECK(quant_quantize_row(DT_Q4_0, x, 48, buf) == -1, "quantize refuses K=48");
	CHECK(quant_dequantize_row(DT_Q8_0, buf, 48, x) == -1, "dequantize refuses K=48");
	DType t;
	CHECK(quant_format_parse("q4_1", &t) == 0 && t == DT_Q4_1, "parse q4_1");
	CHECK(quant_format_parse("Q4_0", &t) == -1, "names are lower case");
	CHECK(quant_format_parse("i32", &t) == -1, "i32 is not a format name");
	printf("ok   sizes and names\n");
}

/* ------------------------------------------------------------ q8_0 */

/* x = c/64 with max|x| = 127/64, so d = 1/64 exactly (f16 0x2400), 1/d =
 * 64, x/d = c exactly, and q = roundf(c): half away from zero, so 2.5 -> 3,
 * -2.5 -> -3, 126.5 -> 127, 0.25 -> 0. */
static const float c_a[32] = {-127, 2.5f, -2.5f, 3.5f, -3.5f, 0, 1, -1, 126.5f, -126.5f, 0.5f, -0.5f, 64, -64, 10, 20,
                              30, 40, 50, 60, 70, 80, 90, 100, 110, 120, -10, -20, -30, -40, -50, 0.25f};
static const int8_t q_a[32] = {-127, 3, -3, 4, -4, 0, 1, -1, 127, -127, 1, -1, 64, -64, 10, 20,
                               30, 40, 50, 60, 70, 80, 90, 100, 110, 120, -10, -20, -30, -40, -50, 0};

static void test_q8_0(void)
{
	float x[32], y[32];
	uint8_t got[QUANT_Q8_0_BYTES], want[QUANT_Q8_0_BYTES] = {0x00, 0x24};
	for (int j = 0; j < 32; j++) {
		x[j] = c_a[j] / 64.0f;
		want[2 + j] = (uint8_t)q_a[j];
	}
	CHECK(quant_quantize_row(DT_Q8_0, x, 32, got) == 0, "q8_0 block A quantizes");
	check_bytes("q8_0 block A (exact scale 1/64, ties away from zero)", got, want, QUANT_Q8_0_BYTES);
	CHECK(quant_dequantize_row(DT_Q8_0, got, 32, y) == 0, "q8_0 dequantize");
	for (int j = 0; j < 32; j++)
		CHECK(y[j] == q_a[j] / 64.0f, "q8_0 A value %d: %g", j, y[j]);

	/* d = max/127 is not an f16 value: the codes use the unrounded d */
	static const uint8_t want_b[] = {0x38, 0x1e, 0xa4, 0xab, 0xb2, 0xb9, 0xc0, 0xc8, 0xcf, 0xd6, 0xdd, 0xe4,
	                                 0xeb, 0xf2, 0xf9, 0x00, 0x07, 0x0e, 0x15, 0x1c, 0x23, 0x2a, 0x31, 0x38,
	                                 0x40, 0x47, 0x4e, 0x55, 0x5c, 0x63, 0x6a, 0x71, 0x78, 0x7f};
	for (int j = 0; j < 32; j++)
		x[j] = 0.3f * (float)(j - 13) / 7.0f;
	quant_quantize_row(DT_Q8_0, x, 32, got);
	check_bytes("q8_0 block B (inexact scale; numpy emulation of llama.cpp)", got, want_b, QUANT_Q8_0_BYTES);

	/* all zero: d = 0, every code 0 */
	memset(x, 0, sizeof x);
	memset(want, 0, sizeof want);
	quant_quantize_row(DT_Q8_0, x, 32, got);
	check_bytes("q8_0 zero block", got, want, QUANT_Q8_0_BYTES);
}

/* ------------------------------------------------------------ q4_0 */

static void test_q4_0(void)
{
	float x[32], y[32];
	uint8_t got[QUANT_Q4_0_BYTES];

	/* C: x[j] = (j-16)/16.  max-magnitude value -1 (j=0): d = -1/-8 =
	 * 0.125 (f16 0x3000), 1/d = 8, x/d + 8.5 = j/2 + 0.5, truncated:
	 * q[j] = (j+1)>>1, and q[31] = 16 clamps to 15.  Byte j = q[j] |
	 * q[j+16] << 4. */
	static const uint8_t want_c[] = {0x00, 0x30, 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3, 0xc4,
	                                 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8};
	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 16) / 16.0f;
	CHECK(quant_quantize_row(DT_Q4_0, x, 32, got) == 0, "q4_0 C quantizes");
	check_bytes("q4_0 block C (negative max, d = +0.125)", got, want_c, QUANT_Q4_0_BYTES);
	quant_dequantize_row(DT_Q4_0, got, 32, y);
	CHECK(y[0] == -1.0f && y[1] == -0.875f && y[31] == 0.875f, "q4_0 C values %g %g %g", y[0], y[1], y[31]);

	/* D: x[j] = (j-15)/8.  max-magnitude value +2 (j=31): d = 2/-8 =
	 * -0.25 (f16 0xb400), 1/d = -4, x/d + 8.5 = 16 - j/2, truncated and
	 * clamped: 15,15,15,14,14,13,13,...,1,1,0.  The opposite extreme
	 * x[0] = -1.875 decodes to (15-8)(-0.25) = -1.75. */
	static const uint8_t want_d[] = {0x00, 0xb4, 0x8f, 0x7f, 0x7f, 0x6e, 0x6e, 0x5d, 0x5d, 0x4c,
	                                 0x4c, 0x3b, 0x3b, 0x2a, 0x2a, 0x19, 0x19, 0x08};
	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 15) / 8.0f;
	quant_quantize_row(DT_Q4_0, x, 32, got);
	check_bytes("q4_0 block D (positive max, d = -0.25, clamp at 15)", got, want_d, QUANT_Q4_0_BYTES);
	quant_dequantize_row(DT_Q4_0, got, 32, y);
	CHECK(y[0] == -1.75f && y[31] == 2.0f, "q4_0 D values %g %g", y[0], y[31]);

	/* E: a tie for the largest magnitude, x[3] = -2 and x[7] = +2, rest 0:
	 * the first one sets the sign, d = -2/-8 = 0.25 (0x3400); x[3] -> 0,
	 * x[7] -> 16.5 -> 15 (decodes to 1.75), zeros -> 8. */
	static const uint8_t want_e[] = {0x00, 0x34, 0x88, 0x88, 0x88, 0x80, 0x88, 0x88, 0x88, 0x8f,
	                                 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
	memset(x, 0, sizeof x);
	x[3] = -2;
	x[7] = 2;
	quant_quantize_row(DT_Q4_0, x, 32, got);
	check_bytes("q4_0 block E (tie: the first max wins)", got, want_e, QUANT_Q4_0_BYTES);

	/* zero block: max stays +0, d = 0/-8 = -0 in IEEE arithmetic, so the
	 * stored scale is f16 -0 (0x8000, as llama.cpp writes it); codes 8 */
	static const uint8_t want_z[] = {0x00, 0x80, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
	                                 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
	memset(x, 0, sizeof x);
	quant_quantize_row(DT_Q4_0, x, 32, got);
	check_bytes("q4_0 zero block", got, want_z, QUANT_Q4_0_BYTES);

	/* G: inexact scale (numpy emulation of quantize_row_q4_0_ref) */
	static const uint8_t want_g[] = {0xae, 0x2b, 0xa0, 0x07, 0x7e, 0xe4, 0x4b, 0xb1, 0x18,
	                                 0x8f, 0xf5, 0x5c, 0xc2, 0x29, 0x9f, 0xf6, 0x6d, 0xd3};
	for (int j = 0; j < 32; j++)
		x[j] = 0.3f * (float)((j * 7) % 17 - 8) / 5.0f;
	quant_quantize_row(DT_Q4_0, x, 32, got);
	check_bytes("q4_0 block G (inexact scale; numpy emulation of llama.cpp)", got, want_g, QUANT_Q4_0_BYTES);
}

/* ------------------------------------------------------------ q4_1 */

/* llama.cpp's quantize_row_q4_1_ref written out again, independently of
 * quant.c, decoded with the f16 scale and min: the baseline q4_1 must
 * never lose to. */
static double minmax_q4_1_sse(const float *x)
{
	float mn = x[0], mx = x[0];
	for (int j = 1; j < 32; j++) {
		if (x[j] < mn) mn = x[j];
		if (x[j] > mx) mx = x[j];
	}
	float d = (mx - mn) / 15, id = d ? 1 / d : 0;
	float D = lfm_f16_to_f32(lfm_f32_to_f16(d)), M = lfm_f16_to_f32(lfm_f32_to_f16(mn));
	double e = 0;
	for (int j = 0; j < 32; j++) {
		int q = (int)((x[j] - mn) * id + 0.5f);
		q = q > 15 ? 15 : q;
		double v = (double)((float)q * D + M) - x[j];
		e += v * v;
	}
	return e;
}

static void test_q4_1(void)
{
	float x[32], y[32];
	uint8_t got[QUANT_Q4_1_BYTES];

	/* H: x[j] = 0.5 + (j%16)/4 is exactly on the grid d = 0.25 (0x3400),
	 * m = 0.5 (0x3800), q[j] = j%16: error 0, so byte j = j | j<<4. */
	uint8_t want_h[QUANT_Q4_1_BYTES] = {0x00, 0x34, 0x00, 0x38};
	for (int j = 0; j < 32; j++)
		x[j] = 0.5f + (float)(j % 16) / 4.0f;
	for (int j = 0; j < 16; j++)
		want_h[4 + j] = (uint8_t)(j | j << 4);
	CHECK(quant_quantize_row(DT_Q4_1, x, 32, got) == 0, "q4_1 H quantizes");
	check_bytes("q4_1 block H (exact grid: d 0.25, m 0.5)", got, want_h, QUANT_Q4_1_BYTES);
	quant_dequantize_row(DT_Q4_1, got, 32, y);
	CHECK(!memcmp(x, y, sizeof x), "q4_1 H decodes exactly");

	/* decoding alone: d = 0.5 (0x3800), m = -1 (0xbc00); byte j = 0x0f:
	 * low nibble 15 -> 6.5 at j, high nibble 0 -> -1 at j+16 */
	uint8_t blk[QUANT_Q4_1_BYTES] = {0x00, 0x38, 0x00, 0xbc};
	memset(blk + 4, 0x0f, 16);
	quant_dequantize_row(DT_Q4_1, blk, 32, y);
	CHECK(y[0] == 6.5f && y[15] == 6.5f && y[16] == -1.0f && y[31] == -1.0f, "q4_1 decode %g %g", y[0], y[16]);

	/* random gaussian blocks: never worse than min/max per block, and
	 * clearly better in total */
	double ours = 0, base = 0;
	int worse = 0;
	for (int b = 0; b < 2000; b++) {
		for (int j = 0; j < 32; j++)
			x[j] = gauss() * (b % 7 == 0 ? 3.0f : 0.02f) + (b % 5 == 0 ? 0.01f : 0.0f);
		quant_quantize_row(DT_Q4_1, x, 32, got);
		quant_dequantize_row(DT_Q4_1, got, 32, y);
		double e = 0;
		for (int j = 0; j < 32; j++)
			e += ((double)y[j] - x[j]) * ((double)y[j] - x[j]);
		double eb = minmax_q4_1_sse(x);
		worse += e > eb;
		ours += e;
		base += eb;
	}
	CHECK(worse == 0, "q4_1 worse than min/max on %d of 2000 blocks", worse);
	CHECK(ours < 0.85 * base, "q4_1 total squared error %g vs min/max %g: want at least 15%% less", ours, base);
	printf("ok   q4_1 vs min/max on 2000 gaussian blocks: squared error ratio %.3f, never worse\n", ours / base);
}

/* ----------------------------------------------------- round-trip bounds */

static void test_bounds(void)
{
	enum { K = 32 * 64 };
	static float x[K], y[K];
	static uint8_t buf[K * 4];
	for (int i = 0; i < K; i++)
		x[i] = gauss() * (i < K / 2 ? 0.05f : 2.0f);
	/* q8_0: codes use the f32 scale d, decoding the f16 scale D:
	 * |x - q D| <= |x - q d| + |q| |d - D| <= d/2 + 127 |d - D| */
	quant_quantize_row(DT_Q8_0, x, K, buf);
	quant_dequantize_row(DT_Q8_0, buf, K, y);
	int bad = 0;
	for (int b = 0; b < K / 32; b++) {
		float amax = 0;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(x[b * 32 + j]));
		double d = amax / 127.0f, D = lfm_f16_to_f32(lfm_f32_to_f16(amax / 127.0f));
		for (int j = 0; j < 32; j++)
			bad += fabs((double)y[b * 32 + j] - x[b * 32 + j]) > d / 2 + 127 * fabs(d - D) + 1e-7 * amax;
	}
	CHECK(bad == 0, "q8_0: %d values beyond d/2 + 127|d-D|", bad);
	/* q4_0: |x - (q-8) D| <= |d|/2 + 8 |d - D|, except a value whose code
	 * clamped at 15 (x/d > 7.5): there <= |d| + 8 |d - D| */
	quant_quantize_row(DT_Q4_0, x, K, buf);
	quant_dequantize_row(DT_Q4_0, buf, K, y);
	bad = 0;
	for (int b = 0; b < K / 32; b++) {
		float amax = 0, mx = 0;
		for (int j = 0; j < 32; j++)
			if (amax < fabsf(x[b * 32 + j])) {
				amax = fabsf(x[b * 32 + j]);
				mx = x[b * 32 + j];
			}
		double d = fabs(mx / -8.0f), D = fabs(lfm_f16_to_f32(lfm_f32_to_f16(mx / -8.0f)));
		for (int j = 0; j < 32; j++) {
			double r = x[b * 32 + j] / (mx / -8.0);
			double lim = (r > 7.5 ? d : d / 2) + 8 * fabs(d - D) + 1e-7 * amax;
			bad += fabs((double)y[b * 32 + j] - x[b * 32 + j]) > lim;
		}
	}
	CHECK(bad == 0, "q4_0: %d values beyond the bound", bad);
	/* f16 / bf16: each value is the round-to-nearest-even conversion */
	quant_quantize_row(DT_F16, x, K, buf);
	quant_dequantize_row(DT_F16, buf, K, y);
	bad = 0;
	for (int i = 0; i < K; i++)
		bad += y[i] != lfm_f16_to_f32(lfm_f32_to_f16(x[i]))
		       || fabsf(y[i] - x[i]) > fmaxf(fabsf(x[i]) * 0x1p-11f, 0x1p-25f);   /* subnormals: 2^-25 */
	CHECK(bad == 0, "f16: %d values differ from RNE conversion", bad);
	quant_quantize_row(DT_BF16, x, K, buf);
	quant_dequantize_row(DT_BF16, buf, K, y);
	bad = 0;
	for (int i = 0; i < K; i++)
		bad += y[i] != lfm_bf16_to_f32(lfm_f32_to_bf16(x[i])) || fabsf(y[i] - x[i]) > fabsf(x[i]) * 0x1p-8f;
	CHECK(bad == 0, "bf16: %d values differ from RNE conversion", bad);
	quant_quantize_row(DT_F32, x, K, buf);
	quant_dequantize_row(DT_F32, buf, K, y);
	CHECK(!memcmp(x, y, sizeof x), "f32 round trip is exact");
	uint32_t bits;
	memcpy(&bits, &x[0], 4);
	CHECK(buf[0] == (uint8_t)bits && buf[3] == (uint8_t)(bits >> 24), "f32 is little-endian");
	/* quant_roundtrip equals row by row quantize + dequantize */
	static float z[K];
	CHECK(quant_roundtrip(DT_Q4_1, x, K / 64, 64, z) == 0, "roundtrip q4_1");
	quant_quantize_row(DT_Q4_1, x, K, buf);
	quant_dequantize_row(DT_Q4_1, buf, K, y);
	CHECK(!memcmp(y, z, sizeof z), "roundtrip by rows of 64 == one row (blocks are independent)");
	printf("ok   round-trip bounds (q8_0, q4_0, f16, bf16, f32)\n");

	/* bad values */
	float v[32] = {0};
	v[5] = NAN;
	CHECK(quant_quantize_row(DT_Q8_0, v, 32, buf) == -1, "NaN refused");
	v[5] = INFINITY;
	CHECK(quant_quantize_row(DT_F32, v, 32, buf) == -1, "inf refused");
	v[5] = 70000.0f;
	CHECK(quant_quantize_row(DT_F16, v, 32, buf) == -1, "f16 overflow refused");
	CHECK(quant_quantize_row(DT_Q8_0, v, 32, buf) == 0, "q8_0 scale 551 fits f16");
	v[5] = 1e9f;
	CHECK(quant_quantize_row(DT_Q8_0, v, 32, buf) == -1, "q8_0 scale overflow refused");
	CHECK(quant_quantize_row(DT_Q4_1, v, 32, buf) == -1, "q4_1 scale overflow refused");
}

/* ---------------------------------------------------------- activations */

static void test_activations(void)
{
	/* x = c/64 again: id = 127/(127/64) = 64 exactly and d = 1/64; codes
	 * round half to EVEN here (unlike q8_0 weights): 2.5 -> 2, -2.5 -> -2,
	 * 3.5 -> 4, 126.5 -> 126, 0.5 -> 0. */
	static const int8_t want[32] = {-127, 2, -2, 4, -4, 0, 1, -1, 126, -126, 0, 0, 64, -64, 10, 20,
	                                30, 40, 50, 60, 70, 80, 90, 100, 110, 120, -10, -20, -30, -40, -50, 0};
	float x[64];
	QuantActBlock a[2];
	int sum = 0;
	for (int j = 0; j < 32; j++) {
		x[j] = c_a[j] / 64.0f;
		x[32 + j] = 0;
		sum += want[j];
	}
	CHECK(quant_act_row(x, 64, a) == 0, "act quantizes");
	CHECK(a[0].d == 1.0f / 64, "act d %g", a[0].d);
	CHECK(!memcmp(a[0].q, want, 32), "act codes (half to even)");
	/* -127 + (2-2) + (4-4) + (1-1) + (126-126) + (64-64) + (10+..+120) - (10+..+50) = 503 */
	CHECK(a[0].sum == sum && sum == 503, "act sum %d", a[0].sum);
	CHECK(a[1].d == 0 && a[1].sum == 0, "zero act block");
	CHECK(sizeof(QuantActBlock) == 40, "QuantActBlock is 40 bytes");
	CHECK(quant_act_row(x, 48, a) == -1, "act K=48 refused");
	printf("ok   activation blocks (hand-computed)\n");
}

/* ------------------------------------------------------ dot reference */

/* Block A weights (q8_0 codes q_a, d 1/64) x block A activations (codes
 * want above, d 1/64): the dot is exactly sum(q_a * qa) / 4096. */
static void test_dot_hand(void)
{
	float x[32];
	uint8_t w[QUANT_Q8_0_BYTES];
	QuantActBlock a;
	for (int j = 0; j < 32; j++)
		x[j] = c_a[j] / 64.0f;
	quant_quantize_row(DT_Q8_0, x, 32, w);
	quant_act_row(x, 32, &a);
	long isum = 0;
	for (int j = 0; j < 32; j++)
		isum += (long)q_a[j] * a.q[j];
	double got, mag;
	CHECK(quant_dot_ref(DT_Q8_0, w, &a, 32, &got, &mag) == 0, "dot q8_0");
	CHECK(got == (double)isum / 4096.0 && mag == fabs(got), "dot q8_0 A.A = %.17g, want %ld/4096", got, isum);
	CHECK(quant_dot_ref(DT_F16, w, &a, 32, &got, NULL) == -1, "dot refuses f16 weights");
	printf("ok   q8_0 dot of hand blocks = %ld/4096\n", isum);
}

/* Random rows: the integer reference equals the double dot of the decoded
 * values (weights as q d, q d + m, activations as q d), and a plain binary32
 * kernel (block terms in float, summed in float) stays within the documented
 * bound. */
static void test_dot_random(void)
{
	enum { K = 32 * 40 };
	static float w[K], x[K];
	static uint8_t wq[K * 2];
	static QuantActBlock a[K / 32];
	const DType fs[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
	for (int rep = 0; rep < 20; rep++) {
		for (int i = 0; i < K; i++) {
			w[i] = gauss() * 0.05f + (rep % 3 == 0 ? 0.02f : 0);
			x[i] = gauss() * (i % 97 == 0 ? 20.0f : 1.0f);
		}
		quant_act_row(x, K, a);
		for (int f = 0; f < 3; f++) {
			DType t = fs[f];
			quant_quantize_row(t, w, K, wq);
			double ref, mag;
			quant_dot_ref(t, wq, a, K, &ref, &mag);
			int bb = quant_block_bytes(t);
			double peer = 0;
			float kernel = 0;
			for (int b = 0; b < K / 32; b++) {
				const uint8_t *blk = wq + b * bb;
				double d = lfm_f16_to_f32((uint16_t)(blk[0] | blk[1] << 8));
				double m = t == DT_Q4_1 ? lfm_f16_to_f32((uint16_t)(blk[2] | blk[3] << 8)) : 0;
				int isum = 0, qsum = 0;
				for (int j = 0; j < 32; j++) {
					int q;
					if (t == DT_Q8_0)
						q = (int8_t)blk[2 + j];
					else {
						const uint8_t *qs = blk + (t == DT_Q4_0 ? 2 : 4);
						q = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
						q -= t == DT_Q4_0 ? 8 : 0;
					}
					peer += (q * d + m) * ((double)a[b].q[j] * a[b].d);
					isum += q * a[b].q[j];
					qsum += a[b].q[j];
				}
				kernel += (float)d * a[b].d * (float)isum + (float)m * a[b].d * (float)qsum;
			}
			CHECK(fabs(ref - peer) <= 1e-12 * mag, "%s dot: ref %.17g vs decoded %.17g", quant_format_name(t), ref, peer);
			double bound = (K / 32 + 4) * 0x1p-24 * mag;
			CHECK(fabs((double)kernel - ref) <= bound, "%s f32 kernel %.9g vs ref %.9g beyond %g",
			      quant_format_name(t), kernel, ref, bound);
		}
	}
	printf("ok   dot reference vs decoded values and a binary32 kernel (q8_0, q4_0, q4_1)\n");
}

int main(void)
{
	test_sizes();
	test_q8_0();
	test_q4_0();
	test_q4_1();
	test_bounds();
	test_activations();
	test_dot_hand();
	test_dot_random();
	return check_finish("test_quant");
}
