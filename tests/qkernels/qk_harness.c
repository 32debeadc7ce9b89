/*
 * qk_harness.c — runs the kernels qk_gen built against the data it wrote.
 *
 *   qk_harness DATA.bin
 *
 * For every matmul case and 1, 3, 7 and 64 rows: y starts as the case's
 * y0, the kernel runs, and then
 *   - the int8 activation rows it left in qx must equal quant_act_row's,
 *     byte for byte (codes, f32 scales, i32 sums);
 *   - each output must be within its bound of the double-precision
 *     reference (quant_dot_ref through the epilogue), and every element
 *     of y outside the outputs (the ldy padding) must be untouched.
 * Every row decoder must reproduce unpack_row's floats exactly.
 *
 * lfm2_parallel_for is defined here: it runs the ranges of a 3-way split
 * in reverse order on this thread, so the kernels' split into column tiles
 * (and rows) is exercised without timing dependence.  Prints the largest
 * error relative to its bound and to the largest output.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_abi.h"
#include "cases.h"

struct lfm2_pool {
	int dummy;
};

void lfm2_parallel_for(lfm2_pool *pool, int64_t n, lfm2_task_fn fn, void *arg)
{
	int parts = pool ? 3 : 1;
	for (int i = parts - 1; i >= 0; i--) {
		int64_t a = n * i / parts, b = n * (i + 1) / parts;
		if (b > a)
			fn(arg, a, b, i);   /* as if thread i ran part i */
	}
}

int lfm2_pool_threads(const lfm2_pool *pool) { return pool ? 3 : 1; }

static FILE *in;

static void get(void *p, size_t n)
{
	if (fread(p, 1, n, in) != n) {
		fprintf(stderr, "qk_harness: data.bin is truncated\n");
		exit(1);
	}
}

static void *take(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "qk_harness: out of memory\n");
		exit(1);
	}
	get(p, n);
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 2 || !(in = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: qk_harness DATA.bin\n");
		return 2;
	}
	char magic[8];
	int32_t n;
	get(magic, 8);
	get(&n, 4);
	if (memcmp(magic, "QKDATA1", 8) || n != N_CASES + N_DQ) {
		fprintf(stderr, "qk_harness: data.bin does not match cases.h\n");
		return 1;
	}
	static const int64_t row_counts[] = {1, 3, 7, 64};
	lfm2_pool pool = {0};
	int fails = 0, runs = 0, mm = 0, dqn = 0;
	double worst_ratio = 0, worst_rel = 0;
	for (int i = 0; i < n; i++) {
		int32_t hdr[4];
		int64_t N, K, rows, ldy, rowb, qrow;
		get(hdr, sizeof hdr);
		get(&N, 8);
		get(&K, 8);
		get(&rows, 8);
		get(&ldy, 8);
		get(&rowb, 8);
		get(&qrow, 8);
		if (hdr[0] == 1) {   /* a row decoder */
			uint8_t *w = take((size_t)rowb);
			float *want = take((size_t)K * 4), *y = calloc((size_t)K, 4);
			if (!y)
				return 1;
			qd_cases[dqn](y, w);
			for (int64_t k = 0; k < K; k++)
				if (memcmp(&y[k], &want[k], 4)) {
					fprintf(stderr, "FAIL qd_case_%d (dtype %d, K=%lld): y[%lld] = %.9g, want %.9g\n", dqn,
					        hdr[1], (long long)K, (long long)k, y[k], want[k]);
					fails++;
					break;
				}
			dqn++;
			free(w);
			free(want);
			free(y);
			continue;
		}
		float *x = take((size_t)(rows * K) * 4);
		uint8_t *w = take((size_t)(N * rowb));
		float *y0 = take((size_t)(rows * ldy) * 4);
		double *want = take((size_t)(rows * ldy) * 8), *bound = take((size_t)(rows * ldy) * 8);
		uint8_t *qwant = take((size_t)(rows * qrow));
		float *y = malloc((size_t)(rows * ldy) * 4);
		uint8_t *qx = malloc((size_t)(rows * qrow));
		if (!y || !qx)
			return 1;
		double ymax = 0;
		for (int64_t j = 0; j < rows * ldy; j++)
			ymax = fmax(ymax, fabs(want[j]));
		for (size_t rc = 0; rc < sizeof row_counts / sizeof row_counts[0]; rc++) {
			int64_t R = row_counts[rc];
			if (R > rows)
				continue;
			memcpy(y, y0, (size_t)(R * ldy) * 4);
			memset(qx, 0xa5, (size_t)(R * qrow));
			qk_cases[mm](y, ldy, x, w, R, qx, &pool);
			runs++;
			int bad = 0;
			for (int64_t t = 0; t < R && !bad; t++)
				for (int64_t b = 0; b < K / 32 * 40; b++)
					if (qx[t * qrow + b] != qwant[t * qrow + b]) {
						fprintf(stderr, "FAIL qk_case_%d (%s, rows %lld): activation row %lld "
						        "byte %lld is %u, quant_act_row gives %u\n", mm, qk_names[mm], (long long)R,
						        (long long)t, (long long)b, qx[t * qrow + b],
						        qwant[t * qrow + b]);
						bad = 1;
						break;
					}
			for (int64_t j = 0; j < R * ldy && !bad; j++) {
				double err = fabs((double)y[j] - want[j]);
				if (!(err <= bound[j])) {
					fprintf(stderr, "FAIL qk_case_%d (%s, rows %lld): y[%lld][%lld] = %.9g, want %.9g +- %.3g\n",
					        mm, qk_names[mm], (long long)R, (long long)(j / ldy), (long long)(j % ldy), y[j],
					        want[j], bound[j]);
					bad = 1;
				}
				if (bound[j] > 0)
					worst_ratio = fmax(worst_ratio, err / bound[j]);
				if (ymax > 0)
					worst_rel = fmax(worst_rel, err / ymax);
			}
			fails += bad;
		}
		mm++;
		free(x);
		free(w);
		free(y0);
		free(want);
		free(bound);
		free(qwant);
		free(y);
		free(qx);
	}
	fclose(in);
	if (fails) {
		fprintf(stderr, "qk_harness: %d failure(s)\n", fails);
		return 1;
	}
	printf("qk_harness: %d matmul runs (%d cases x rows 1/3/7/64) and %d row decoders ok; "
	       "max error %.3g of its bound, %.3g of max |y|\n", runs, mm, dqn, worst_ratio, worst_rel);
	return 0;
}
