/*
 * test_sampler.c — the sampler against hand-computed sets and an
 * independent implementation.
 *
 * Hand-made logits (vocab 6), sorted order 1 (3.0), 3 (3.0), 2 (2.0),
 * 0 (1.0), 5 (0.5), 4 (-1.0); the kept sets and probabilities below were
 * worked out by hand (softmax over the kept tokens, at the temperature).
 * Golden draw sequences come from gen_sampler_golden.py, a separate Python
 * implementation of the semantics in lfm2rt.h (xoshiro256** included).
 * A frequency test checks that draws follow the softmax.  The extreme
 * cases (huge and infinite logits, NaN, penalties and temperatures at the
 * ends of their ranges) must give finite probabilities summing to 1 and
 * ids inside the vocabulary; penalties outside [0.01, 100] are refused.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "lfm2rt.h"
#include "check.h"

static const float L6[6] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f};

static lfm2_sampler_params params(float T, int32_t k, float p, float m)
{
	lfm2_sampler_params s = {.temperature = T, .top_k = k, .top_p = p, .min_p = m,
	                         .repeat_penalty = 1.0f, .repeat_last_n = 64, .seed = 1};
	return s;
}

/* Runs the filter and compares ids (in order) and, if given, probabilities. */
static void expect_set(const char *what, lfm2_sampler_params p, const float *logits, int vocab,
                       const int32_t *hist, int n_hist, const int32_t *ids, int n, const double *probs)
{
	lfm2_candidate c[64];
	int32_t got = lfm2_sample_filter(&p, logits, vocab, hist, n_hist, c);
	int ok = got == n;
	for (int i = 0; ok && i < n; i++) {
		ok &= c[i].id == ids[i];
		if (probs)
			ok &= fabs(c[i].p - probs[i]) < 1e-5;
	}
	double sum = 0;
	for (int i = 0; i < got; i++)
		sum += c[i].p;
	ok &= got < 1 || fabs(sum - 1) < 1e-12;
	if (!ok) {
		CHECK_FAIL("%s: got %d candidates, listed below", what, (int)got);
		for (int i = 0; i < got; i++)
			fprintf(stderr, " %d(%.6f)", (int)c[i].id, c[i].p);
		fprintf(stderr, "\n");
	}
}

#define IDS(...) (const int32_t[]){__VA_ARGS__}, (int)(sizeof((const int32_t[]){__VA_ARGS__}) / 4)
#define PS(...) (const double[]){__VA_ARGS__}

static void test_filter_sets(void)
{
	/* no filtering at all: every token, best first, ties by id */
	expect_set("none", params(1, 0, 1, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0, 5, 4),
	           PS(0.384080, 0.384080, 0.141296, 0.051980, 0.031527, 0.007035));
	/* top-k */
	expect_set("top_k 3", params(1, 3, 1, 0), L6, 6, NULL, 0, IDS(1, 3, 2), PS(0.422319, 0.422319, 0.155362));
	expect_set("top_k 1", params(1, 1, 1, 0), L6, 6, NULL, 0, IDS(1), PS(1.0));
	expect_set("top_k 6", params(1, 6, 1, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0, 5, 4), NULL);
	expect_set("top_k 99", params(1, 99, 1, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0, 5, 4), NULL);
	/* top-p at T = 1: cumulative .384 .768 .909 .961 .993 1 */
	expect_set("top_p .3", params(1, 0, 0.3f, 0), L6, 6, NULL, 0, IDS(1), NULL);
	expect_set("top_p .7", params(1, 0, 0.7f, 0), L6, 6, NULL, 0, IDS(1, 3), PS(0.5, 0.5));
	expect_set("top_p .9", params(1, 0, 0.9f, 0), L6, 6, NULL, 0, IDS(1, 3, 2), PS(0.422319, 0.422319, 0.155362));
	expect_set("top_p .95", params(1, 0, 0.95f, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0), NULL);
	expect_set("top_p .995", params(1, 0, 0.995f, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0, 5, 4), NULL);
	/* top-p at T = 0.5: cumulative .463 .926 .988 — the temperature counts */
	expect_set("top_p .9 T .5", params(0.5f, 0, 0.9f, 0), L6, 6, NULL, 0, IDS(1, 3), PS(0.5, 0.5));
	expect_set("top_p .95 T .5", params(0.5f, 0, 0.95f, 0), L6, 6, NULL, 0, IDS(1, 3, 2),
	           PS(0.468311, 0.468311, 0.063379));
	/* min-p: keep exp((l - 3) / T) >= m */
	expect_set("min_p .3", params(1, 0, 1, 0.3f), L6, 6, NULL, 0, IDS(1, 3, 2), NULL);
	expect_set("min_p .4", params(1, 0, 1, 0.4f), L6, 6, NULL, 0, IDS(1, 3), NULL);
	expect_set("min_p 1", params(1, 0, 1, 1.0f), L6, 6, NULL, 0, IDS(1, 3), NULL);
	expect_set("min_p .1 T .5", params(0.5f, 0, 1, 0.1f), L6, 6, NULL, 0, IDS(1, 3, 2), NULL);
	expect_set("min_p .2 T .5", params(0.5f, 0, 1, 0.2f), L6, 6, NULL, 0, IDS(1, 3), NULL);
	/* chained: top-k 5 -> top-p .95 over those 5 (cum .387 .774 .916 .968) -> min-p */
	expect_set("k5 p.95 m.1", params(1, 5, 0.95f, 0.1f), L6, 6, NULL, 0, IDS(1, 3, 2, 0),
	           PS(0.399486, 0.399486, 0.146963, 0.054065));
	expect_set("k5 p.95 m.2", params(1, 5, 0.95f, 0.2f), L6, 6, NULL, 0, IDS(1, 3, 2), NULL);
	/* temperature 0: the greedy token alone */
	expect_set("greedy", params(0, 0, 0.5f, 0.5f), L6, 6, NULL, 0, IDS(1), PS(1.0));
}

static void test_penalty(void)
{
	lfm2_candidate c[6];
	lfm2_sampler_params p = params(1, 0, 1, 0);
	p.repeat_penalty = 2.0f;
	/* 0 and 3 appear twice: penalized once.  0: 1 -> .5, 4: -1 -> -2, 3: 3 -> 1.5 */
	const int32_t hist[5] = {0, 4, 0, 3, 3};
	CHECK_INT(lfm2_sample_filter(&p, L6, 6, hist, 5, c), 6);
	static const int32_t order[6] = {1, 2, 3, 0, 5, 4};
	static const float pen[6] = {3.0f, 2.0f, 1.5f, 0.5f, 0.5f, -2.0f};
	for (int i = 0; i < 6; i++) {
		CHECK_INT(c[i].id, order[i]);
		CHECK(c[i].logit == pen[i]);
	}
	/* window of the last 2 tokens: only 3 */
	p.repeat_last_n = 2;
	expect_set("window 2", p, L6, 6, hist, 5, IDS(1, 2, 3, 0, 5, 4), NULL);
	CHECK_INT(lfm2_sample_filter(&p, L6, 6, hist, 5, c), 6);
	CHECK(c[2].id == 3 && c[2].logit == 1.5f && c[3].id == 0 && c[3].logit == 1.0f);
	/* window 3 = {0, 3}: 4 untouched */
	p.repeat_last_n = 3;
	CHECK_INT(lfm2_sample_filter(&p, L6, 6, hist, 5, c), 6);
	CHECK(c[5].id == 4 && c[5].logit == -1.0f && c[3].id == 0 && c[3].logit == 0.5f);
	/* off: window 0 or penalty 1 */
	p.repeat_last_n = 0;
	expect_set("window 0", p, L6, 6, hist, 5, IDS(1, 3, 2, 0, 5, 4), NULL);
	p.repeat_last_n = -1;
	p.repeat_penalty = 1.0f;
	expect_set("penalty 1", p, L6, 6, hist, 5, IDS(1, 3, 2, 0, 5, 4), NULL);
	/* whole history (-1) with a top-k after the penalty */
	p.repeat_penalty = 2.0f;
	p.top_k = 2;
	expect_set("all + top_k 2", p, L6, 6, hist, 5, IDS(1, 2), NULL);
	/* greedy sees penalized logits: 1 and 3 drop to 1.5, 2 wins */
	lfm2_sampler_params g = params(0, 0, 1, 0);
	g.repeat_penalty = 2.0f;
	expect_set("greedy penalized", g, L6, 6, IDS(1, 3), IDS(2), NULL);
}

static void test_greedy(void)
{
	lfm2_sampler_params p = params(0, 40, 0.9f, 0.05f);
	static const float ties[] = {1, 3, 3, 2};
	static const float all_same[] = {-7, -7, -7};
	static const float neg[] = {-INFINITY, -5, -INFINITY, -4.5f};
	struct { const float *l; int n; int32_t expect; } cases[] = {
		{ties, 4, 1}, {all_same, 3, 0}, {neg, 4, 3}, {L6, 6, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		lfm2_sampler *s = lfm2_sampler_create(&p, cases[i].n, NULL);
		CHECK_OR_DIE(s);
		CHECK_INT(lfm2_sampler_sample(s, cases[i].l), cases[i].expect);
		lfm2_sampler_free(s);
	}
	/* random logits: greedy == a plain argmax loop */
	float l[1000];
	lfm2_sampler *s = lfm2_sampler_create(&p, 1000, NULL);
	uint32_t x = 99;
	for (int trial = 0; trial < 50; trial++) {
		for (int i = 0; i < 1000; i++) {
			x = x * 1664525u + 1013904223u;
			l[i] = (float)(x >> 20) / 64.0f;   /* coarse: ties happen */
		}
		int best = 0;
		for (int i = 1; i < 1000; i++)
			if (l[i] > l[best])
				best = i;
		CHECK_INT(lfm2_sampler_sample(s, l), best);
	}
	lfm2_sampler_free(s);
}

static const float L20[20] = {-2.00f, -0.25f, 1.50f, -1.75f, 0.00f, 1.75f, -1.50f, 0.25f, 2.00f, -1.25f,
                              0.50f, 2.25f, -1.00f, 0.75f, 2.50f, -0.75f, 1.00f, 2.75f, -0.50f, 1.25f};

static void run_golden(const char *what, lfm2_sampler_params p, const int32_t *expect)
{
	lfm2_sampler *s = lfm2_sampler_create(&p, 20, NULL);
	CHECK_OR_DIE(s);
	for (int pass = 0; pass < 2; pass++) {   /* second pass after reset: same again */
		lfm2_sampler_accept(s, 3);
		lfm2_sampler_accept(s, 17);
		for (int i = 0; i < 40; i++) {
			int32_t t = lfm2_sampler_sample(s, L20);
			if (t != expect[i]) {
				CHECK_FAIL("%s pass %d: draw %d is %d, expected %d", what, pass, i, (int)t, (int)expect[i]);
				break;
			}
			lfm2_sampler_accept(s, t);
		}
		lfm2_sampler_reset(s);
	}
	lfm2_sampler_free(s);
}

static void test_golden(void)
{
	/* xoshiro256** seeded through splitmix64 with 42 (gen_sampler_golden.py) */
	static const uint64_t rng42[6] = {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull, 0xae17533239e499a1ull,
	                                  0xecb8ad4703b360a1ull, 0xfde6dc7fe2ec5e64ull, 0xc50da53101795238ull};
	lfm2_sampler_params p = params(1, 0, 1, 0);
	p.seed = 42;
	lfm2_sampler *s = lfm2_sampler_create(&p, 4, NULL);
	for (int i = 0; i < 6; i++)
		CHECK(lfm2_sampler_rand(s) == rng42[i]);
	lfm2_sampler_free(s);

	static const int32_t plain[40] = {5, 14, 19, 18, 12, 16, 17, 17, 14, 17, 11, 5, 10, 16, 11, 11, 14, 11, 17, 17,
	                                  17, 8, 8, 14, 5, 17, 17, 8, 17, 11, 17, 17, 19, 15, 13, 14, 14, 5, 13, 18};
	static const int32_t full[40] = {8, 14, 16, 11, 5, 17, 17, 8, 17, 19, 8, 17, 8, 2, 14, 2, 17, 19, 14, 17,
	                                 11, 8, 17, 14, 17, 17, 17, 14, 14, 19, 5, 8, 14, 5, 17, 11, 14, 2, 17, 11};
	p = params(0.9f, 0, 1, 0);
	p.seed = 7;
	run_golden("plain", p, plain);
	p = params(0.7f, 12, 0.9f, 0.05f);
	p.repeat_penalty = 1.3f;
	p.repeat_last_n = 6;
	p.seed = 12345;
	run_golden("full", p, full);

	/* a different seed gives a different sequence */
	p.seed = 12346;
	lfm2_sampler *a = lfm2_sampler_create(&p, 20, NULL);
	int differ = 0;
	for (int i = 0; i < 40; i++) {
		int32_t t = lfm2_sampler_sample(a, L20);
		differ |= t != full[i];
		lfm2_sampler_accept(a, t);
	}
	CHECK(differ);
	lfm2_sampler_free(a);
}

/* Draw frequencies match softmax(l / T) within 5 standard deviations. */
static void check_frequencies(lfm2_sampler_params p, const float *l, int n, const double *expect)
{
	lfm2_sampler *s = lfm2_sampler_create(&p, n, NULL);
	CHECK_OR_DIE(s);
	enum { DRAWS = 200000 };
	long count[16] = {0};
	for (int i = 0; i < DRAWS; i++)
		count[lfm2_sampler_sample(s, l)]++;
	for (int i = 0; i < n; i++) {
		double f = (double)count[i] / DRAWS, sd = sqrt(expect[i] * (1 - expect[i]) / DRAWS);
		CHECK(!(fabs(f - expect[i]) > 5 * sd + 1e-12), "token %d: frequency %.5f, expected %.5f (sd %.5f)", i, f,
		      expect[i], sd);
	}
	lfm2_sampler_free(s);
}

static void test_frequencies(void)
{
	static const float l[5] = {0.0f, 1.0f, 2.0f, 0.5f, -1.0f};
	double e[5], sum = 0;
	for (int i = 0; i < 5; i++)
		sum += e[i] = exp(l[i] / 0.8);
	for (int i = 0; i < 5; i++)
		e[i] /= sum;
	check_frequencies(params(0.8f, 0, 1, 0), l, 5, e);
	/* top-k 2 renormalizes over {2, 1} */
	double e2[5] = {0, 1 / (1 + exp(1 / 0.8)), 1 / (1 + exp(-1 / 0.8)), 0, 0};
	check_frequencies(params(0.8f, 2, 1, 0), l, 5, e2);
	/* high temperature flattens */
	double e3[5];
	sum = 0;
	for (int i = 0; i < 5; i++)
		sum += e3[i] = exp(l[i] / 3.0);
	for (int i = 0; i < 5; i++)
		e3[i] /= sum;
	check_frequencies(params(3.0f, 0, 1, 0), l, 5, e3);
}

static void test_bad_params(void)
{
	lfm2_err err;
	lfm2_candidate c[6];
	lfm2_sampler_params bad[] = {params(-1, 0, 1, 0), params(1, -1, 1, 0), params(1, 0, 0, 0),
	                             params(1, 0, 1.5f, 0), params(1, 0, 1, -0.1f), params(1, 0, 1, 1.1f),
	                             params(NAN, 0, 1, 0)};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(lfm2_sampler_create(&bad[i], 6, &err) == NULL);
		CHECK_CONTAINS(err.msg, "sampler");
		CHECK_INT(lfm2_sample_filter(&bad[i], L6, 6, NULL, 0, c), -1);
	}
	lfm2_sampler_params p = params(1, 0, 1, 0);
	p.repeat_penalty = 0;
	CHECK(lfm2_sampler_create(&p, 6, &err) == NULL);
	p = params(1, 0, 1, 0);
	CHECK(lfm2_sampler_create(&p, 0, &err) == NULL);
	lfm2_sampler_params d = lfm2_sampler_default_params();
	CHECK(d.temperature == 0.8f && d.top_k == 40 && d.top_p == 0.95f && d.min_p == 0.05f &&
	      d.repeat_penalty == 1.0f && d.repeat_last_n == 64);
	lfm2_sampler_free(NULL);
}

/* The penalty range of lfm2rt.h, at and beyond both ends. */
static void test_penalty_range(void)
{
	lfm2_err err;
	lfm2_candidate c[6];
	static const float refused[] = {1e-38f, 0.0099f, 100.5f, INFINITY, NAN, -1.0f};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		lfm2_sampler_params p = params(1, 0, 1, 0);
		p.repeat_penalty = refused[i];
		CHECK(lfm2_sampler_create(&p, 6, &err) == NULL);
		CHECK_CONTAINS(err.msg, "0.01 <= repeat_penalty <= 100");
		CHECK_INT(lfm2_sample_filter(&p, L6, 6, NULL, 0, c), -1);
	}
	static const float accepted[] = {LFM2_REPEAT_PENALTY_MIN, 1.0f, LFM2_REPEAT_PENALTY_MAX};
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
		lfm2_sampler_params p = params(1, 0, 1, 0);
		p.repeat_penalty = accepted[i];
		lfm2_sampler *smp = lfm2_sampler_create(&p, 6, &err);
		CHECK(smp != NULL);
		lfm2_sampler_free(smp);
	}
	lfm2_sampler_params inf_t = params(INFINITY, 0, 1, 0);
	CHECK(lfm2_sampler_create(&inf_t, 6, &err) == NULL);
}

/* The filter's output is a distribution over distinct in-range ids: n in
 * [1, vocab], every p finite in [0, 1], sum 1.  Returns 0 if so. */
static int check_distribution(const char *what, const lfm2_candidate *c, int32_t n, int32_t vocab)
{
	int ok = n >= 1 && n <= vocab;
	double sum = 0;
	for (int32_t i = 0; ok && i < n; i++) {
		ok &= c[i].id >= 0 && c[i].id < vocab && isfinite(c[i].p) && c[i].p >= 0 && c[i].p <= 1;
		for (int32_t j = 0; j < i; j++)
			ok &= c[j].id != c[i].id;
		sum += c[i].p;
	}
	ok &= fabs(sum - 1) < 1e-9;
	if (!ok) {
		CHECK_FAIL("%s: not a distribution (n %d, sum %g), the first 8 below", what, (int)n, sum);
		for (int32_t i = 0; i < n && i < 8; i++)
			fprintf(stderr, " %d(%g, p %g)", (int)c[i].id, (double)c[i].logit, c[i].p);
		fprintf(stderr, "\n");
	}
	return !ok;
}

/* Every combination of extreme (in-range) parameters with extreme logits:
 * never NaN, never an id outside the vocabulary, from the filter and from
 * the sampler, with every token in the penalty's history. */
static void test_extremes_never_nan(void)
{
	enum { V = 6 };
	static const float logit_sets[][V] = {
		{FLT_MAX, -FLT_MAX, 3e38f, -3e38f, 0.0f, 1.0f},
		{INFINITY, 1.0f, INFINITY, -INFINITY, NAN, 2.0f},
		{-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},
		{NAN, NAN, NAN, NAN, NAN, NAN},
		{1e-45f, -1e-45f, 0.0f, -0.0f, 1e-45f, 0.0f},
		{-FLT_MAX, -FLT_MAX, -3e38f, INFINITY, -INFINITY, FLT_MAX},
	};
	static const float temps[] = {0.0f, 1e-45f, 1e-30f, 1.0f, 1e30f, FLT_MAX};
	static const int32_t ks[] = {0, 1, 3};
	static const float top_ps[] = {1e-45f, 0.5f, 1.0f};
	static const float min_ps[] = {0.0f, 1e-45f, 1.0f};
	static const float pens[] = {LFM2_REPEAT_PENALTY_MIN, 1.0f, LFM2_REPEAT_PENALTY_MAX};
	static const int32_t hist[V] = {0, 1, 2, 3, 4, 5};
	lfm2_candidate c[V];
	int bad = 0;
	for (size_t L = 0; L < sizeof logit_sets / sizeof logit_sets[0]; L++)
		for (size_t t = 0; t < sizeof temps / sizeof temps[0]; t++)
			for (size_t k = 0; k < 3; k++)
				for (size_t tp = 0; tp < 3; tp++)
					for (size_t mp = 0; mp < 3; mp++)
						for (size_t r = 0; r < 3 && bad < 5; r++) {
							lfm2_sampler_params p = params(temps[t], ks[k], top_ps[tp], min_ps[mp]);
							p.repeat_penalty = pens[r];
							p.repeat_last_n = -1;
							char what[160];
							snprintf(what, sizeof what, "logits %zu T %g k %d top_p %g min_p %g penalty %g", L,
							         (double)temps[t], (int)ks[k], (double)top_ps[tp], (double)min_ps[mp],
							         (double)pens[r]);
							int32_t n = lfm2_sample_filter(&p, logit_sets[L], V, hist, V, c);
							bad += check_distribution(what, c, n, V);
							lfm2_sampler *smp = lfm2_sampler_create(&p, V, NULL);
							CHECK_OR_DIE(smp);
							for (int i = 0; i < V; i++)
								lfm2_sampler_accept(smp, i);
							for (int d = 0; d < 8; d++) {
								int32_t id = lfm2_sampler_sample(smp, logit_sets[L]);
								if (id < 0 || id >= V) {
									CHECK_FAIL("%s: sampled id %d", what, (int)id);
									bad++;
									break;
								}
							}
							lfm2_sampler_free(smp);
						}
}

/* What the extreme cases must give, value by value. */
static void test_extreme_values(void)
{
	lfm2_candidate c[6];
	/* penalty 0.01 on a logit of 3e38: l / 0.01 saturates at FLT_MAX (not
	 * inf), so the token takes all the probability instead of NaN */
	static const float big[3] = {3e38f, 1.0f, 2.0f};
	lfm2_sampler_params p = params(1, 0, 1, 0);
	p.repeat_penalty = LFM2_REPEAT_PENALTY_MIN;
	CHECK_INT(lfm2_sample_filter(&p, big, 3, IDS(0), c), 3);
	CHECK(c[0].id == 0 && c[0].logit == FLT_MAX && c[0].p == 1.0);
	CHECK(c[1].id == 2 && c[1].p == 0.0 && c[2].id == 1 && c[2].p == 0.0);
	/* penalty 100 on -3e38: l * 100 saturates at -FLT_MAX */
	static const float neg[2] = {-3e38f, 1.0f};
	p.repeat_penalty = LFM2_REPEAT_PENALTY_MAX;
	CHECK_INT(lfm2_sample_filter(&p, neg, 2, IDS(0), c), 2);
	CHECK(c[0].id == 1 && c[1].id == 0 && c[1].logit == -FLT_MAX && c[1].p == 0.0 && c[0].p == 1.0);
	/* two +inf logits share the probability; finite ones get none */
	static const float infs[4] = {1.0f, INFINITY, 2.0f, INFINITY};
	expect_set("+inf shares", params(1, 0, 1, 0), infs, 4, NULL, 0, IDS(1, 3, 2, 0), PS(0.5, 0.5, 0, 0));
	expect_set("+inf top_p", params(1, 0, 0.5f, 0), infs, 4, NULL, 0, IDS(1), PS(1.0));
	expect_set("+inf min_p", params(0.7f, 0, 1, 0.5f), infs, 4, NULL, 0, IDS(1, 3), PS(0.5, 0.5));
	/* every logit -inf: uniform; greedy takes the lowest id */
	static const float ninf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
	expect_set("all -inf", params(1, 0, 1, 0), ninf, 4, NULL, 0, IDS(0, 1, 2, 3), PS(0.25, 0.25, 0.25, 0.25));
	expect_set("all -inf greedy", params(0, 0, 1, 0), ninf, 4, NULL, 0, IDS(0), PS(1.0));
	/* NaN counts as -inf */
	static const float nan3[3] = {NAN, 1.0f, NAN};
	expect_set("NaN", params(1, 0, 1, 0), nan3, 3, NULL, 0, IDS(1, 0, 2), PS(1.0, 0, 0));
	expect_set("NaN greedy", params(0, 0, 1, 0), nan3, 3, NULL, 0, IDS(1), PS(1.0));
	/* the smallest temperature is greedy in effect, the largest uniform */
	expect_set("T 1e-45", params(1e-45f, 0, 1, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0, 5, 4),
	           PS(0.5, 0.5, 0, 0, 0, 0));
	expect_set("T FLT_MAX", params(FLT_MAX, 0, 1, 0), L6, 6, NULL, 0, IDS(1, 3, 2, 0, 5, 4),
	           PS(1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0));
	/* drawing among two +inf tokens: only those, about half each */
	static const float two[3] = {INFINITY, 0.0f, INFINITY};
	lfm2_sampler_params q = params(1, 0, 1, 0);
	lfm2_sampler *s = lfm2_sampler_create(&q, 3, NULL);
	CHECK_OR_DIE(s);
	int count[3] = {0, 0, 0};
	for (int i = 0; i < 10000; i++)
		count[lfm2_sampler_sample(s, two)]++;
	CHECK(count[1] == 0 && count[0] > 4700 && count[2] > 4700);
	lfm2_sampler_free(s);
}

/* A long generation keeps only the window, and still penalizes right. */
static void test_long_history(void)
{
	lfm2_sampler_params p = params(0, 0, 1, 0);
	p.repeat_penalty = 100.0f;
	p.repeat_last_n = 3;
	lfm2_sampler *s = lfm2_sampler_create(&p, 6, NULL);
	/* Greedy with a strong penalty over a window of 3 cycles through the
	 * 4 best tokens: 1, 3, 2, 0, 1, 3, 2, 0, ... */
	static const int32_t cycle[4] = {1, 3, 2, 0};
	for (int i = 0; i < 5000; i++) {
		int32_t t = lfm2_sampler_sample(s, L6);
		if (t != cycle[i % 4]) {
			CHECK_FAIL("long history: draw %d is %d, expected %d", i, (int)t, (int)cycle[i % 4]);
			break;
		}
		lfm2_sampler_accept(s, t);
	}
	lfm2_sampler_free(s);
}

int main(void)
{
	test_filter_sets();
	test_penalty();
	test_greedy();
	test_golden();
	test_frequencies();
	test_bad_params();
	test_penalty_range();
	test_extremes_never_nan();
	test_extreme_values();
	test_long_history();
	return check_finish("test_sampler");
}
