/*
 * test_sampler.c — the sampler against hand-computed sets and an
 * independent implementation.
 *
 * Hand-made logits (vocab 6), sorted order 1 (3.0), 3 (3.0), 2 (2.0),
 * 0 (1.0), 5 (0.5), 4 (-1.0); the kept sets and probabilities below were
 * worked out by hand (softmax over the kept tokens, at the temperature).
 * Golden draw sequences come from gen_sampler_golden.py, a separate Python
 * implementation of the semantics in lfm2rt.h (xoshiro256** included).
 * A frequency test checks that draws follow the softmax.
 */
#include <math.h>
#include <stdint.h>

#include "lfm2rt.h"
#include "test_util.h"

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
		fprintf(stderr, "%s: got %d candidates:", what, (int)got);
		for (int i = 0; i < got; i++)
			fprintf(stderr, " %d(%.6f)", (int)c[i].id, c[i].p);
		fprintf(stderr, "\n");
		test_failures++;
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
	CHECK_EQ_INT(lfm2_sample_filter(&p, L6, 6, hist, 5, c), 6);
	static const int32_t order[6] = {1, 2, 3, 0, 5, 4};
	static const float pen[6] = {3.0f, 2.0f, 1.5f, 0.5f, 0.5f, -2.0f};
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_INT(c[i].id, order[i]);
		CHECK(c[i].logit == pen[i]);
	}
	/* window of the last 2 tokens: only 3 */
	p.repeat_last_n = 2;
	expect_set("window 2", p, L6, 6, hist, 5, IDS(1, 2, 3, 0, 5, 4), NULL);
	CHECK_EQ_INT(lfm2_sample_filter(&p, L6, 6, hist, 5, c), 6);
	CHECK(c[2].id == 3 && c[2].logit == 1.5f && c[3].id == 0 && c[3].logit == 1.0f);
	/* window 3 = {0, 3}: 4 untouched */
	p.repeat_last_n = 3;
	CHECK_EQ_INT(lfm2_sample_filter(&p, L6, 6, hist, 5, c), 6);
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
		CHECK_EQ_INT(lfm2_sampler_sample(s, cases[i].l), cases[i].expect);
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
		CHECK_EQ_INT(lfm2_sampler_sample(s, l), best);
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
				fprintf(stderr, "%s pass %d: draw %d is %d, expected %d\n", what, pass, i, (int)t,
				        (int)expect[i]);
				test_failures++;
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
		if (fabs(f - expect[i]) > 5 * sd + 1e-12) {
			fprintf(stderr, "token %d: frequency %.5f, expected %.5f (sd %.5f)\n", i, f, expect[i], sd);
			test_failures++;
		}
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
		CHECK_EQ_INT(lfm2_sample_filter(&bad[i], L6, 6, NULL, 0, c), -1);
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
			fprintf(stderr, "long history: draw %d is %d, expected %d\n", i, (int)t, (int)cycle[i % 4]);
			test_failures++;
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
	test_long_history();
	return test_finish("test_sampler");
}
