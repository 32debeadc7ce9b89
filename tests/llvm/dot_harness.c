/*
 * dot_harness.c — runs the kernels of dot_gen.c against scalar loops.
 * Integer results must be exact; bf16 ones within 1e-6 relative (the
 * instructions may round the intermediate sums differently).  The data
 * keep each kernel's promise (loops.h): dot4u7's unsigned bytes below 128,
 * dot4s's second operand never -128, dot2i16's unsigned bytes at most 15
 * over 8 blocks; the first block holds the extremes where a 16-bit pair
 * sum comes closest to saturating (255 / 127 / -128 against -128 / -127),
 * and dot2i16's even lanes sum to -30720 of the -32768 an i16 holds.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DECL(n) \
	void dot4_x##n(int32_t *acc, const uint8_t *a, const int8_t *b, int64_t blocks); \
	void dot4s_x##n(int32_t *acc, const int8_t *a, const int8_t *b, int64_t blocks); \
	void dot4u7_x##n(int32_t *acc, const uint8_t *a, const int8_t *b, int64_t blocks); \
	void dot2i16_x##n(int32_t *acc, const uint8_t *a, const int8_t *b, int64_t blocks); \
	void dot2_x##n(float *acc, const int16_t *a, const int16_t *b, int64_t blocks);
DECL(4)
DECL(8)
DECL(16)

enum { BLOCKS = 37, MAXN = 16 };
enum { I16_BLOCKS = 8 };   /* dot2i16: 8 x 2 x 15 x 128 < 2^15 */
static uint8_t ua[BLOCKS * 4 * MAXN], ua7[BLOCKS * 4 * MAXN], ua4[BLOCKS * 4 * MAXN];
static int8_t sb[BLOCKS * 4 * MAXN], sa[BLOCKS * 4 * MAXN], sb7[BLOCKS * 4 * MAXN], sb4[BLOCKS * 4 * MAXN];
static int16_t ha[BLOCKS * 2 * MAXN], hb[BLOCKS * 2 * MAXN];

static uint32_t rng = 12345;
static uint32_t next(void)
{
	rng = rng * 1664525u + 1013904223u;
	return rng >> 8;
}

static float bf(int16_t h)
{
	uint32_t u = (uint32_t)(uint16_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static int16_t to_bf(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return (int16_t)(u >> 16);
}

static int check(int n, void (*d4)(int32_t *, const uint8_t *, const int8_t *, int64_t),
                 void (*d4s)(int32_t *, const int8_t *, const int8_t *, int64_t),
                 void (*d4u7)(int32_t *, const uint8_t *, const int8_t *, int64_t),
                 void (*d2i16)(int32_t *, const uint8_t *, const int8_t *, int64_t),
                 void (*d2)(float *, const int16_t *, const int16_t *, int64_t))
{
	int32_t acc[MAXN], want[MAXN], sacc[MAXN], swant[MAXN], uacc[MAXN], uwant[MAXN], hacc[MAXN], hwant[MAXN];
	float facc[MAXN];
	double fwant[MAXN], scale = 0;
	for (int j = 0; j < n; j++) {
		acc[j] = want[j] = (int32_t)(next() % 1000) - 500;
		sacc[j] = swant[j] = (int32_t)(next() % 1000) - 500;
		uacc[j] = uwant[j] = (int32_t)(next() % 1000) - 500;
		hacc[j] = hwant[j] = (int32_t)(next() % 100000) - 50000;
		facc[j] = (float)(j - 3);
		fwant[j] = facc[j];
	}
	for (int k = 0; k < BLOCKS; k++)
		for (int j = 0; j < n; j++) {
			for (int q = 0; q < 4; q++) {
				want[j] += ua[k * 4 * n + 4 * j + q] * sb[k * 4 * n + 4 * j + q];
				swant[j] += sa[k * 4 * n + 4 * j + q] * sb7[k * 4 * n + 4 * j + q];
				uwant[j] += ua7[k * 4 * n + 4 * j + q] * sb[k * 4 * n + 4 * j + q];
				if (k < I16_BLOCKS)
					hwant[j] += ua4[k * 4 * n + 4 * j + q] * sb4[k * 4 * n + 4 * j + q];
			}
			for (int q = 0; q < 2; q++) {
				double p = (double)bf(ha[k * 2 * n + 2 * j + q]) * bf(hb[k * 2 * n + 2 * j + q]);
				fwant[j] += p;
				scale += fabs(p);
			}
		}
	d4(acc, ua, sb, BLOCKS);
	d4s(sacc, sa, sb7, BLOCKS);
	d4u7(uacc, ua7, sb, BLOCKS);
	d2i16(hacc, ua4, sb4, I16_BLOCKS);
	d2(facc, ha, hb, BLOCKS);
	int bad = 0;
	for (int j = 0; j < n; j++) {
		if (acc[j] != want[j]) {
			printf("dot4_x%d lane %d: %d, want %d\n", n, j, (int)acc[j], (int)want[j]);
			bad = 1;
		}
		if (sacc[j] != swant[j]) {
			printf("dot4s_x%d lane %d: %d, want %d\n", n, j, (int)sacc[j], (int)swant[j]);
			bad = 1;
		}
		if (uacc[j] != uwant[j]) {
			printf("dot4u7_x%d lane %d: %d, want %d\n", n, j, (int)uacc[j], (int)uwant[j]);
			bad = 1;
		}
		if (hacc[j] != hwant[j]) {
			printf("dot2i16_x%d lane %d: %d, want %d\n", n, j, (int)hacc[j], (int)hwant[j]);
			bad = 1;
		}
		if (fabs(facc[j] - fwant[j]) > 1e-6 * (scale + 1)) {
			printf("dot2_x%d lane %d: %.9g, want %.9g\n", n, j, facc[j], fwant[j]);
			bad = 1;
		}
	}
	printf("%s dot4_x%d, dot4s_x%d, dot4u7_x%d, dot2i16_x%d, dot2_x%d\n", bad ? "FAIL" : "ok  ", n, n, n, n, n);
	return bad;
}

int main(void)
{
	for (size_t i = 0; i < sizeof ua; i++) {
		ua[i] = (uint8_t)next();
		sb[i] = (int8_t)next();
		sa[i] = (int8_t)next();
		ua7[i] = (uint8_t)(ua[i] & 127);
		ua4[i] = (uint8_t)(ua[i] & 15);
		sb4[i] = sb[i];
		if (i / 4 % 2 == 0) {   /* even i32 lanes: every 16-bit sum at -30720 after 8 blocks */
			ua4[i] = 15;
			sb4[i] = -128;
		}
		sb7[i] = sb[i] == -128 ? 127 : sb[i];
	}
	for (size_t i = 0; i < 4 * MAXN; i++) {   /* the extremes, in block 0 */
		ua[i] = 255;
		ua7[i] = 127;
		sa[i] = i % 2 ? -128 : 127;
		sb[i] = -128;
		sb7[i] = i % 4 < 2 ? -127 : 127;
	}
	for (size_t i = 0; i < sizeof ha / sizeof ha[0]; i++) {
		ha[i] = to_bf(((float)(next() % 2001) - 1000.0f) / 256.0f);
		hb[i] = to_bf(((float)(next() % 2001) - 1000.0f) / 512.0f);
	}
	int bad = check(4, dot4_x4, dot4s_x4, dot4u7_x4, dot2i16_x4, dot2_x4)
	          | check(8, dot4_x8, dot4s_x8, dot4u7_x8, dot2i16_x8, dot2_x8)
	          | check(16, dot4_x16, dot4s_x16, dot4u7_x16, dot2i16_x16, dot2_x16);
	return bad;
}
