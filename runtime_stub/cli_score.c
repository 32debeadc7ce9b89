/*
 * cli_score.c — the arithmetic of evaluating on text (lfm2_eval.h): how a
 * tokenized text becomes chunks, what one row of logits scores (its NLL,
 * its argmax, its rounded form for the KL divergence), and the summary
 * statistics (mean with standard error, covariance of two means,
 * nearest-rank quantiles).
 *
 * Everything is in double from the float logits, and deterministic: the
 * same row gives the same bits on every run of every build on the same
 * machine (the only platform dependence is libm's exp and log), which is
 * what makes a build's KL divergence from itself exactly zero.
 *
 * A cli_ file: it goes into lfm2-run and lfm2c (which cuts texts into the
 * same chunks for its tools), not into the libraries of --emit lib.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "lfm2_eval.h"

/* ------------------------------------------------------------- chunks */

static int host_is_little_endian(void)
{
	const uint16_t one = 1;
	return *(const unsigned char *)&one == 1;
}

/* XXH3-64 of ids as little-endian int32, whatever the host's order. */
static uint64_t hash_ids(const int32_t *ids, size_t n)
{
	if (host_is_little_endian())
		return XXH3_64bits(ids, n * sizeof *ids);
	XXH3_state_t st;
	XXH3_INITSTATE(&st);
	XXH3_64bits_reset(&st);
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)ids[i];
		unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
		                      (unsigned char)(v >> 24)};
		XXH3_64bits_update(&st, b, 4);
	}
	return XXH3_64bits_digest(&st);
}

int lfm2_eval_plan_make(const int32_t *ids, size_t n, int32_t ctx, int32_t max_chunks, int32_t bos,
                        lfm2_eval_plan *plan)
{
	memset(plan, 0, sizeof *plan);
	if (!ids || ctx < LFM2_EVAL_MIN_CTX || n < (size_t)ctx)
		return -1;
	size_t chunks = n / (size_t)ctx;
	if (max_chunks > 0 && chunks > (size_t)max_chunks)
		chunks = (size_t)max_chunks;
	if (chunks > INT32_MAX)
		chunks = INT32_MAX;
	size_t total = chunks * (size_t)ctx;   /* <= n: no overflow */
	int32_t *t = malloc(total * sizeof *t);
	if (!t)
		return -1;
	memcpy(t, ids, total * sizeof *t);
	if (bos >= 0)
		for (size_t c = 0; c < chunks; c++)
			t[c * (size_t)ctx] = bos;
	plan->ctx = ctx;
	plan->chunks = (int32_t)chunks;
	plan->first = ctx / 2;
	plan->scored = ctx - 1 - plan->first;
	plan->tokens = t;
	plan->hash = hash_ids(t, total);
	return 0;
}

void lfm2_eval_plan_free(lfm2_eval_plan *plan)
{
	if (!plan)
		return;
	free(plan->tokens);
	memset(plan, 0, sizeof *plan);
}

/* ------------------------------------------------------------- one row */

int lfm2_eval_row_finite(const float *logits, int32_t vocab)
{
	for (int32_t i = 0; i < vocab; i++)
		if (!isfinite(logits[i]))
			return 0;
	return 1;
}

double lfm2_eval_nll(const float *logits, int32_t vocab, int32_t target, int32_t *argmax)
{
	int32_t best = 0;
	for (int32_t i = 1; i < vocab; i++)
		if (logits[i] > logits[best])
			best = i;
	double max = logits[best], sum = 0;
	for (int32_t i = 0; i < vocab; i++)
		sum += exp((double)logits[i] - max);
	*argmax = best;
	return max + log(sum) - (double)logits[target];
}

double lfm2_kld_quantize(const float *logits, int32_t vocab, uint16_t *codes)
{
	double lo = logits[0], hi = logits[0];
	/* comparisons, not fmin/fmax: aarch64-linux-gnu-gcc 12 hits an internal
	 * error vectorizing that reduction (tests/cross compile the runtime) */
	for (int32_t i = 1; i < vocab; i++) {
		double v = logits[i];
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
	}
	double step = (hi - lo) / LFM2_KLD_LEVELS;
	if (!(step > 0)) {
		memset(codes, 0, (size_t)vocab * sizeof *codes);
		return 0;
	}
	for (int32_t i = 0; i < vocab; i++) {
		double c = floor(((double)logits[i] - lo) / step + 0.5);
		codes[i] = (uint16_t)(c < 0 ? 0 : c > LFM2_KLD_LEVELS ? LFM2_KLD_LEVELS : c);
	}
	return step;
}

void lfm2_kld_logprobs(const uint16_t *codes, double step, int32_t vocab, double *out)
{
	uint16_t top = 0;
	for (int32_t i = 0; i < vocab; i++)
		if (codes[i] > top)
			top = codes[i];
	double sum = 0;
	for (int32_t i = 0; i < vocab; i++) {
		out[i] = ((double)codes[i] - (double)top) * step;
		sum += exp(out[i]);
	}
	double lse = log(sum);
	for (int32_t i = 0; i < vocab; i++)
		out[i] -= lse;
}

double lfm2_kld_rows(const double *lp, const double *lq, int32_t vocab)
{
	double k = 0;
	for (int32_t i = 0; i < vocab; i++)
		k += exp(lp[i]) * (lp[i] - lq[i]);
	return k > 0 ? k : 0;
}

/* ------------------------------------------------------------ statistics */

void lfm2_eval_mean_se(const double *x, size_t n, double *mean, double *se)
{
	double m = 0, ss = 0;
	for (size_t i = 0; i < n; i++)
		m += x[i];
	m = n ? m / (double)n : 0;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	*mean = m;
	*se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : 0;
}

double lfm2_eval_cov_of_means(const double *x, const double *y, size_t n)
{
	if (n < 2)
		return 0;
	double mx = 0, my = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - mx) * (y[i] - my);
	return s / (double)(n - 1) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double lfm2_eval_quantile(double *x, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(x, n, sizeof *x, cmp_double);
	double r = ceil(q * (double)n);
	size_t rank = r < 1 ? 1 : r > (double)n ? n : (size_t)r;
	return x[rank - 1];
}
