/*
 * sampler.c — from logits to the next token.
 *
 * The exact semantics are written out in lfm2rt.h; in short:
 * repetition penalty -> sort -> top-k -> top-p -> min-p -> softmax at the
 * temperature -> one uniform draw.  Because every filter keeps a prefix of
 * the sorted order, the candidate list only ever shrinks from the end.
 *
 * Sorting: with top-k on (the usual case) a size-k min-heap picks the best
 * k in one pass over the vocabulary, then only those k are sorted; without
 * top-k the whole vocabulary is sorted.  Order is by logit, then by id, so
 * the kept set never depends on the sort algorithm.
 *
 * Randomness comes from our own xoshiro256** (seeded by splitmix64), kept
 * in the sampler, so a seed means the same tokens on every platform.
 *
 * Nothing here can turn into NaN, whatever the logits: a NaN logit is
 * read as -inf, the penalty is applied in double and saturates at the
 * float range (a finite logit stays finite), and every exponential is of
 * (l - l_max) / T with l - l_max taken as exactly 0 for the tokens at the
 * maximum — so the largest term is exp(0) = 1 and the sums lie in
 * [1, vocab] even when l_max is +inf or every logit is -inf.  For finite
 * logits that is the same arithmetic as before, bit for bit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

struct lfm2_sampler {
	lfm2_sampler_params params;
	int32_t vocab;
	uint64_t rng[4];
	int32_t *history;
	int32_t n_history, cap_history;
	lfm2_candidate *cand;    /* vocab entries of working space */
};

/* ------------------------------------------------------------------ rng */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t lfm2_sampler_rand(lfm2_sampler *s)
{
	uint64_t *r = s->rng;
	uint64_t out = rotl(r[1] * 5, 7) * 9;
	uint64_t t = r[1] << 17;
	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = rotl(r[3], 45);
	return out;
}

static void seed_rng(lfm2_sampler *s)
{
	uint64_t x = s->params.seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
}

static double uniform01(lfm2_sampler *s)
{
	return (double)(lfm2_sampler_rand(s) >> 11) * 0x1.0p-53;
}

/* ------------------------------------------------------------- ordering */

/* a before b: higher logit first, lower id on ties. */
static int better(const lfm2_candidate *a, const lfm2_candidate *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_candidates(const void *pa, const void *pb)
{
	const lfm2_candidate *a = pa, *b = pb;
	return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Min-heap on `better` (the root is the worst of the kept k). */
static void sift_down(lfm2_candidate *h, int32_t n, int32_t i)
{
	for (;;) {
		int32_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && better(&h[w], &h[l]))
			w = l;
		if (r < n && better(&h[w], &h[r]))
			w = r;
		if (w == i)
			return;
		lfm2_candidate t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

/* Leaves the best k of c[0..n) sorted at c[0..k); returns k. */
static int32_t sort_best(lfm2_candidate *c, int32_t n, int32_t k)
{
	if (k <= 0 || k >= n) {
		qsort(c, (size_t)n, sizeof *c, cmp_candidates);
		return n;
	}
	for (int32_t i = k / 2 - 1; i >= 0; i--)
		sift_down(c, k, i);
	for (int32_t i = k; i < n; i++)
		if (better(&c[i], &c[0])) {
			c[0] = c[i];
			sift_down(c, k, 0);
		}
	qsort(c, (size_t)k, sizeof *c, cmp_candidates);
	return k;
}

/* --------------------------------------------------------------- filter */

/* The ranges of lfm2rt.h (NaN fails every comparison). */
static int params_ok(const lfm2_sampler_params *p)
{
	return p->temperature >= 0 && isfinite(p->temperature) && p->top_k >= 0 && p->top_p > 0 &&
	       p->top_p <= 1 && p->min_p >= 0 && p->min_p <= 1 && p->repeat_penalty >= LFM2_REPEAT_PENALTY_MIN &&
	       p->repeat_penalty <= LFM2_REPEAT_PENALTY_MAX;
}

/* l / r for a positive logit, l * r otherwise, in double; a finite logit
 * saturates at +-FLT_MAX instead of overflowing to infinity.  Below the
 * float range this is exactly the float division / multiplication (one
 * rounding of the exact result either way). */
static float penalized(float l, float r)
{
	double v = l > 0 ? (double)l / (double)r : (double)l * (double)r;
	if (isfinite(l) && v > FLT_MAX)
		v = FLT_MAX;
	if (isfinite(l) && v < -FLT_MAX)
		v = -FLT_MAX;
	return (float)v;
}

static void apply_penalty(const lfm2_sampler_params *p, lfm2_candidate *c, int32_t vocab,
                          const int32_t *history, int32_t n_history)
{
	if (p->repeat_penalty == 1.0f || p->repeat_last_n == 0 || n_history == 0)
		return;
	int32_t from = p->repeat_last_n < 0 || p->repeat_last_n >= n_history ? 0
	                                                                      : n_history - p->repeat_last_n;
	/* c[] is indexed by id here; mark a token done by flipping its id sign. */
	for (int32_t i = from; i < n_history; i++) {
		int32_t t = history[i];
		if (t < 0 || t >= vocab || c[t].id < 0)
			continue;
		c[t].logit = penalized(c[t].logit, p->repeat_penalty);
		c[t].id = -1 - t;
	}
	for (int32_t i = from; i < n_history; i++) {
		int32_t t = history[i];
		if (t >= 0 && t < vocab && c[t].id < 0)
			c[t].id = t;
	}
}

/* exp((l_i - l_max) / T) for the first n candidates (sorted: c[0] holds
 * l_max), into c[i].p; returns the sum, which is >= 1.  l_i - l_max is 0
 * for a token at the maximum, also when that is +-inf (where the
 * subtraction would give NaN). */
static double scaled_exp(lfm2_candidate *c, int32_t n, float temperature)
{
	double sum = 0, max = c[0].logit;
	for (int32_t i = 0; i < n; i++) {
		double d = c[i].logit == max ? 0.0 : (double)c[i].logit - max;
		c[i].p = exp(d / (double)temperature);
		sum += c[i].p;
	}
	return sum;
}

static int32_t greedy(lfm2_candidate *c, int32_t vocab)
{
	int32_t best = 0;
	for (int32_t i = 1; i < vocab; i++)
		if (better(&c[i], &c[best]))
			best = i;
	return best;
}

int32_t lfm2_sample_filter(const lfm2_sampler_params *p, const float *logits, int32_t vocab,
                           const int32_t *history, int32_t n_history, lfm2_candidate *c)
{
	if (!params_ok(p) || vocab < 1 || n_history < 0)
		return -1;
	for (int32_t i = 0; i < vocab; i++) {
		c[i].id = i;
		c[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];   /* NaN: never preferred */
		c[i].p = 0;
	}
	apply_penalty(p, c, vocab, history, n_history);

	if (p->temperature == 0) {
		c[0] = c[greedy(c, vocab)];
		c[0].p = 1;
		return 1;
	}
	int32_t n = sort_best(c, vocab, p->top_k);

	if (p->top_p < 1) {
		double sum = scaled_exp(c, n, p->temperature), cum = 0;
		int32_t keep = n;
		for (int32_t i = 0; i < n; i++) {
			cum += c[i].p / sum;
			if (cum >= (double)p->top_p) {
				keep = i + 1;
				break;
			}
		}
		n = keep;
	}
	if (p->min_p > 0) {
		scaled_exp(c, n, p->temperature);
		int32_t keep = 1;
		while (keep < n && c[keep].p >= (double)p->min_p)
			keep++;
		n = keep;
	}
	double sum = scaled_exp(c, n, p->temperature);
	for (int32_t i = 0; i < n; i++)
		c[i].p /= sum;
	return n;
}

/* -------------------------------------------------------------- sampler */

lfm2_sampler_params lfm2_sampler_default_params(void)
{
	lfm2_sampler_params p = {
		.temperature = 0.8f,
		.top_k = 40,
		.top_p = 0.95f,
		.min_p = 0.05f,
		.repeat_penalty = 1.0f,
		.repeat_last_n = 64,
		.seed = 0,
	};
	return p;
}

lfm2_sampler *lfm2_sampler_create(const lfm2_sampler_params *params, int32_t vocab,
                                  lfm2_err *err)
{
	if (!params_ok(params)) {
		rt_fail(err, "sampler: parameters out of range (need a finite temperature >= 0, top_k >= 0, "
		        "0 < top_p <= 1, 0 <= min_p <= 1, %g <= repeat_penalty <= %g)", (double)LFM2_REPEAT_PENALTY_MIN,
		        (double)LFM2_REPEAT_PENALTY_MAX);
		return NULL;
	}
	if (vocab < 1) {
		rt_fail(err, "sampler: vocabulary size %d", (int)vocab);
		return NULL;
	}
	lfm2_sampler *s = calloc(1, sizeof *s);
	lfm2_candidate *cand = malloc((size_t)vocab * sizeof *cand);
	if (!s || !cand) {
		free(s);
		free(cand);
		rt_fail(err, "sampler: out of memory");
		return NULL;
	}
	s->params = *params;
	s->vocab = vocab;
	s->cand = cand;
	seed_rng(s);
	return s;
}

void lfm2_sampler_free(lfm2_sampler *s)
{
	if (!s)
		return;
	free(s->history);
	free(s->cand);
	free(s);
}

void lfm2_sampler_accept(lfm2_sampler *s, int32_t token)
{
	/* Keep only what the penalty window can see (all if the window is < 0),
	 * so memory stays bounded however long the generation runs. */
	int32_t window = s->params.repeat_last_n;
	if (window == 0)
		return;
	if (window > 0 && s->n_history == s->cap_history && s->n_history >= window) {
		memmove(s->history, s->history + s->n_history - (window - 1),
		        (size_t)(window - 1) * sizeof *s->history);
		s->n_history = window - 1;
	}
	if (s->n_history == s->cap_history) {
		int32_t cap = s->cap_history ? 2 * s->cap_history : 256;
		int32_t *h = realloc(s->history, (size_t)cap * sizeof *h);
		if (!h)
			return;   /* out of memory: the penalty just sees less history */
		s->history = h;
		s->cap_history = cap;
	}
	s->history[s->n_history++] = token;
}

int32_t lfm2_sampler_sample(lfm2_sampler *s, const float *logits)
{
	int32_t n = lfm2_sample_filter(&s->params, logits, s->vocab, s->history, s->n_history, s->cand);
	if (n < 1 || s->params.temperature == 0)
		return n < 1 ? 0 : s->cand[0].id;
	double u = uniform01(s), cum = 0;
	for (int32_t i = 0; i < n; i++) {
		cum += s->cand[i].p;
		if (u < cum)
			return s->cand[i].id;
	}
	return s->cand[n - 1].id;
}

void lfm2_sampler_reset(lfm2_sampler *s)
{
	s->n_history = 0;
	seed_rng(s);
}
