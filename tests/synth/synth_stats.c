/*
 * synth_stats.c — check a `lfm2c synth` checkpoint against the init rule.
 *
 *   synth_stats DIR --dtype F32|BF16|F16 [--like DIR2] [--min-numel N]
 *
 * Opens DIR with the frontend (lfm_checkpoint_open: config resolution, every
 * tensor name/shape/dtype validated) and, for every tensor, compares the
 * sample mean, standard deviation and kurtosis with what specs/lfm2.md §12's
 * "sane" init prescribes, restated here independently of synth.c:
 *   *norm.weight          1 + 0.1 N(0,1)
 *   *.bias                0.1 N(0,1)
 *   embed_tokens, lm_head N(0, (2/sqrt(H))^2)
 *   conv.conv.weight      N(0, 1/L)
 *   other matrices        N(0, 1/fan_in)   (fan_in = last dimension)
 * Bounds are 6 standard errors of each statistic for a normal sample of that
 * size (mean: s/sqrt(n); std: s/sqrt(2n); kurtosis: sqrt(24/n), only for
 * n >= --min-numel, default 4096), plus the storage dtype's rounding.  All
 * values, standardized, are also pooled: the pooled mean, variance,
 * kurtosis and the fraction beyond 3 sigma (0.27 % for a normal) must match
 * too — that catches a wrong generator (uniform, truncated, bad tail).
 *
 * --like DIR2 (a tests/fixtures checkpoint of the same config and dtype)
 * requires the same tensor list and a byte-identical safetensors header.
 * Prints one line per problem and a summary; exit 0 if none, 1 otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

typedef struct Pool {
	double n, s1, s2, s4;
	double tail, tail_expected;   /* values beyond mean +- 3 std (see tail_bounds) */
} Pool;

static int problems;

static void problem(const char *fmt, const char *name, double a, double b, double c)
{
	printf("PROBLEM %s: ", name);
	printf(fmt, a, b, c);
	printf("\n");
	problems++;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

static void rule(const StTensor *t, const LfmConfig *c, double *mean, double *std)
{
	*mean = 0;
	if (ends_with(t->name, "norm.weight")) {
		*mean = 1;
		*std = 0.1;
	} else if (ends_with(t->name, ".bias")) {
		*std = 0.1;
	} else if (!strcmp(t->name, "model.embed_tokens.weight") || !strcmp(t->name, "lm_head.weight")) {
		*std = 2 / sqrt(c->hidden);
	} else if (ends_with(t->name, "conv.conv.weight")) {
		*std = 1 / sqrt(c->conv_L);
	} else {
		*std = 1 / sqrt((double)t->shape[t->ndim - 1]);
	}
}

/* x rounded to the storage type, as the writer rounds */
static double round_to(StDtype d, double x)
{
	if (d == ST_BF16)
		return lfm_bf16_to_f32(lfm_f32_to_bf16((float)x));
	if (d == ST_F16)
		return lfm_f16_to_f32(lfm_f32_to_f16((float)x));
	return (float)x;
}

/* The 3-sigma tail test must not be biased by rounding: a bf16 value that
 * rounded to exactly m+3s may have come from either side.  So the bounds
 * are put on representable values (m +- 3s rounded), values equal to a
 * bound count one half, and the expected fraction is computed for the
 * rounded bounds. */
static void tail_bounds(StDtype d, double m, double s, double *lo, double *hi, double *p)
{
	*lo = round_to(d, m - 3 * s);
	*hi = round_to(d, m + 3 * s);
	*p = 0.5 * erfc((*hi - m) / s / sqrt(2.0)) + 0.5 * erfc((m - *lo) / s / sqrt(2.0));
}

/* relative rounding of the storage type (half an ulp) */
static double dtype_eps(StDtype d)
{
	return d == ST_BF16 ? 0x1p-9 : d == ST_F16 ? 0x1p-11 : 0x1p-24;
}

static void check_tensor(const StTensor *t, const LfmConfig *c, StDtype want_dtype,
                         int64_t min_numel, Pool *pool, double *worst_std_dev)
{
	if (t->dtype != want_dtype) {
		printf("PROBLEM %s: dtype %s, want %s\n", t->name, lfm_dtype_name(t->dtype),
		       lfm_dtype_name(want_dtype));
		problems++;
	}
	double *v = malloc((size_t)t->numel * sizeof *v);
	if (!v) {
		printf("PROBLEM %s: out of memory\n", t->name);
		problems++;
		return;
	}
	lfm_tensor_to_f64(t, v);
	double m, s, n = (double)t->numel;
	rule(t, c, &m, &s);
	double s1 = 0, s2 = 0, s4 = 0, lo, hi, p_tail, tail = 0;
	tail_bounds(t->dtype, m, s, &lo, &hi, &p_tail);
	int finite = 1;
	for (int64_t i = 0; i < t->numel; i++) {
		finite &= isfinite(v[i]);
		double z = (v[i] - m) / s;
		s1 += z;
		s2 += z * z;
		s4 += z * z * z * z;
		tail += (v[i] > hi) + (v[i] < lo) + 0.5 * ((v[i] == hi) + (v[i] == lo));
	}
	pool->tail += tail;
	pool->tail_expected += p_tail * n;
	free(v);
	pool->n += n;
	pool->s1 += s1;
	pool->s2 += s2;
	pool->s4 += s4;
	if (!finite) {
		problem("non-finite values%.0f%.0f%.0f", t->name, 0, 0, 0);
		return;
	}
	double zmean = s1 / n, zvar = s2 / n - zmean * zmean, zstd = sqrt(zvar);
	double q = dtype_eps(t->dtype) * (fabs(m) + 6 * s) / s;   /* rounding, in units of s */
	double mean_bound = 6 / sqrt(n) + q, std_bound = 6 / sqrt(2 * n) + q;
	if (fabs(zmean) > mean_bound)
		problem("mean %.5g, want %.5g +- %.3g", t->name, m + zmean * s, m, mean_bound * s);
	if (fabs(zstd - 1) > std_bound)
		problem("std %.5g, want %.5g (rel. bound %.3g)", t->name, zstd * s, s, std_bound);
	if (t->numel >= min_numel) {
		double kurt = (s4 / n) / (zvar * zvar);   /* about the rule's mean; fine at 6 sigma */
		double kb = 6 * sqrt(24 / n);
		if (fabs(kurt - 3) > kb)
			problem("kurtosis %.4g, want 3 +- %.3g%.0f", t->name, kurt, kb, 0);
		if (fabs(zstd - 1) > *worst_std_dev)
			*worst_std_dev = fabs(zstd - 1);
	}
}

static int read_header(const char *dir, unsigned char **hdr, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	FILE *f = fopen(path, "rb");
	unsigned char b8[8];
	if (!f || fread(b8, 1, 8, f) != 8) {
		if (f)
			fclose(f);
		return -1;
	}
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | b8[i];
	*hdr = n < (1u << 26) ? malloc(n ? n : 1) : NULL;
	int ok = *hdr && fread(*hdr, 1, n, f) == n;
	fclose(f);
	*len = n;
	return ok ? 0 : -1;
}

static void compare_like(const Checkpoint *ck, const char *dir, const char *like)
{
	Checkpoint ref;
	LfmError err = {{0}};
	if (lfm_checkpoint_open(like, &ref, stderr, &err)) {
		printf("PROBLEM --like: %s\n", err.msg);
		problems++;
		return;
	}
	if (ref.n_tensors != ck->n_tensors) {
		printf("PROBLEM: %d tensors, %s has %d\n", ck->n_tensors, like, ref.n_tensors);
		problems++;
	}
	for (int i = 0; i < ck->n_tensors && i < ref.n_tensors; i++) {
		const StTensor *a = &ck->tensors[i], *b = &ref.tensors[i];
		if (strcmp(a->name, b->name) || a->ndim != b->ndim || a->dtype != b->dtype ||
		    memcmp(a->shape, b->shape, sizeof a->shape)) {
			printf("PROBLEM tensor %d: %s differs from %s's %s\n", i, a->name, like, b->name);
			problems++;
		}
	}
	lfm_checkpoint_close(&ref);
	unsigned char *h1 = NULL, *h2 = NULL;
	size_t n1 = 0, n2 = 0;
	if (read_header(dir, &h1, &n1) || read_header(like, &h2, &n2) || n1 != n2 ||
	    memcmp(h1, h2, n1)) {
		printf("PROBLEM: safetensors header (%zu bytes) differs from %s's (%zu bytes)\n", n1, like, n2);
		problems++;
	} else {
		printf("header: %zu bytes, identical to %s's\n", n1, like);
	}
	free(h1);
	free(h2);
}

static int parse_dtype(const char *s, StDtype *d)
{
	for (int t = ST_F32; t <= ST_BF16; t++)
		if (!strcmp(s, lfm_dtype_name((StDtype)t))) {
			*d = (StDtype)t;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *like = NULL;
	StDtype dtype = ST_F32;
	int have_dtype = 0;
	int64_t min_numel = 4096;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
			if (parse_dtype(argv[++i], &dtype))
				return fprintf(stderr, "synth_stats: bad --dtype %s\n", argv[i]), 2;
			have_dtype = 1;
		} else if (!strcmp(argv[i], "--like") && i + 1 < argc) {
			like = argv[++i];
		} else if (!strcmp(argv[i], "--min-numel") && i + 1 < argc) {
			min_numel = atoll(argv[++i]);
		} else if (!dir && argv[i][0] != '-') {
			dir = argv[i];
		} else {
			dir = NULL;
			break;
		}
	}
	if (!dir || !have_dtype) {
		fprintf(stderr, "usage: synth_stats DIR --dtype F32|BF16|F16 [--like DIR2] [--min-numel N]\n");
		return 2;
	}
	Checkpoint ck;
	LfmError err = {{0}};
	if (lfm_checkpoint_open(dir, &ck, stderr, &err)) {
		printf("PROBLEM: %s\n", err.msg);
		return 1;
	}
	Pool pool = {0};
	double worst = 0;
	for (int i = 0; i < ck.n_tensors; i++)
		check_tensor(&ck.tensors[i], &ck.cfg, dtype, min_numel, &pool, &worst);
	double pm = pool.s1 / pool.n, pv = pool.s2 / pool.n - pm * pm;
	double pk = (pool.s4 / pool.n) / (pv * pv);
	double p3 = pool.tail / pool.n, P3 = pool.tail_expected / pool.n;   /* about 0.0027 */
	printf("pooled: n=%.0f mean=%.5f var=%.5f kurtosis=%.4f P(|z|>3)=%.6f (normal %.6f); "
	       "worst large-tensor std deviation %.2f%%\n", pool.n, pm, pv, pk, p3, P3, 100 * worst);
	if (fabs(pm) > 6 / sqrt(pool.n))
		problem("mean %.5g, bound %.3g%.0f", "pooled", pm, 6 / sqrt(pool.n), 0);
	if (fabs(pv - 1) > 6 * sqrt(2 / pool.n) + 1e-3)
		problem("variance %.5g, bound 1 +- %.3g%.0f", "pooled", pv, 6 * sqrt(2 / pool.n) + 1e-3, 0);
	if (fabs(pk - 3) > 6 * sqrt(96 / pool.n))
		problem("kurtosis %.5g, bound 3 +- %.3g%.0f", "pooled", pk, 6 * sqrt(96 / pool.n), 0);
	if (fabs(p3 - P3) > 6 * sqrt(P3 / pool.n))
		problem("P(|z|>3) %.5g, want %.5g +- %.3g", "pooled", p3, P3, 6 * sqrt(P3 / pool.n));
	if (like)
		compare_like(&ck, dir, like);
	printf("%s: %d tensors, %lld params, %d problem(s)\n", dir, ck.n_tensors,
	       (long long)ck.n_params, problems);
	lfm_checkpoint_close(&ck);
	return problems ? 1 : 0;
}
