/*
 * quant_rms.c — relative RMS error of each weight format:
 *
 *   quant_rms MODEL_DIR [--check]
 *
 * For every format: sqrt(sum (x - deq(quant(x)))^2 / sum x^2) over all the
 * checkpoint's matrix weights (2-D, rows a multiple of 32), and over two
 * random sets of the same size class (gaussian, and heavy-tailed Laplace
 * with 1% outliers x8), plus the storage bits per weight.  This is the
 * measurement behind the choice of q4_1's quantizer (specs/formats.md).
 *
 * --check turns it into a test: q8_0 below 1%, q4_0 below 15%, and q4_1
 * strictly better than q4_0 on all three sets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "formats.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double uniform(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((double)((rng * 2685821657736338717ull) >> 11) + 0.5) / 9007199254740992.0;
}

typedef struct Acc {
	double err, ref;
} Acc;

static int add_rows(DType f, const float *x, int64_t rows, int64_t K, Acc *a)
{
	float *y = malloc((size_t)(rows * K) * sizeof *y);
	if (!y || quant_roundtrip(f, x, rows, K, y)) {
		free(y);
		return -1;
	}
	for (int64_t i = 0; i < rows * K; i++) {
		a->err += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
		a->ref += (double)x[i] * x[i];
	}
	free(y);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--check"))) {
		fprintf(stderr, "usage: quant_rms MODEL_DIR [--check]\n");
		return 2;
	}
	bool check = argc == 3;
	LfmError err = {{0}};
	Checkpoint ck;
	if (lfm_checkpoint_open(argv[1], &ck, NULL, &err)) {
		fprintf(stderr, "quant_rms: %s\n", err.msg);
		return 2;
	}
	enum { RR = 256, RK = 1024 };
	float *gauss = malloc(RR * RK * sizeof *gauss), *lap = malloc(RR * RK * sizeof *lap);
	if (!gauss || !lap)
		return 2;
	for (int i = 0; i < RR * RK; i++) {
		gauss[i] = (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()) * 0.02);
		double u = uniform() - 0.5;
		lap[i] = (float)((u < 0 ? 1 : -1) * log(1 - 2 * fabs(u)) * 0.02 * (uniform() < 0.01 ? 8 : 1));
	}
	const DType fs[] = {DT_F16, DT_BF16, DT_Q8_0, DT_Q4_0, DT_Q4_1};
	double rms[5][3];
	int64_t n_values = 0;
	printf("relative RMS error (sqrt(sum err^2 / sum x^2)) of quantize-dequantize\n");
	printf("%-6s %7s  %14s %14s %14s\n", "format", "bits/w", "checkpoint", "gaussian", "laplace+outl");
	for (int k = 0; k < 5; k++) {
		Acc a = {0, 0}, b = {0, 0}, c = {0, 0};
		for (int t = 0; t < ck.n_tensors; t++) {
			const StTensor *st = &ck.tensors[t];
			if (st->ndim != 2 || st->shape[1] % QUANT_BLOCK)
				continue;
			float *x = malloc((size_t)st->numel * sizeof *x);
			if (!x)
				return 2;
			lfm_tensor_to_f32(st, x);
			if (add_rows(fs[k], x, st->shape[0], st->shape[1], &a))
				return 2;
			if (k == 0)
				n_values += st->numel;
			free(x);
		}
		if (add_rows(fs[k], gauss, RR, RK, &b) || add_rows(fs[k], lap, RR, RK, &c))
			return 2;
		rms[k][0] = sqrt(a.err / a.ref);
		rms[k][1] = sqrt(b.err / b.ref);
		rms[k][2] = sqrt(c.err / c.ref);
		double bits = 8.0 * quant_block_bytes(fs[k]) / quant_block_values(fs[k]);
		printf("%-6s %7.2f  %14.6f %14.6f %14.6f\n", quant_format_name(fs[k]), bits, rms[k][0], rms[k][1],
		       rms[k][2]);
	}
	printf("(checkpoint: %lld matrix values of %s; random: %d x %d each)\n", (long long)n_values, argv[1], RR, RK);
	lfm_checkpoint_close(&ck);
	free(gauss);
	free(lap);
	if (!check)
		return 0;
	int bad = 0;
	for (int s = 0; s < 3; s++) {
		if (!(rms[2][s] < 0.01)) {
			printf("FAIL: q8_0 relative RMS %g on set %d\n", rms[2][s], s);
			bad++;
		}
		if (!(rms[3][s] < 0.15)) {
			printf("FAIL: q4_0 relative RMS %g on set %d\n", rms[3][s], s);
			bad++;
		}
		if (!(rms[4][s] < rms[3][s])) {
			printf("FAIL: q4_1 (%g) not better than q4_0 (%g) on set %d\n", rms[4][s], rms[3][s], s);
			bad++;
		}
	}
	printf(bad ? "quant_rms: FAILED\n" : "quant_rms: checks passed\n");
	return bad ? 1 : 0;
}
