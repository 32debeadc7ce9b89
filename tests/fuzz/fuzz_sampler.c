/*
 * fuzz_sampler.c — the sampler on arbitrary parameters, history and
 * logits (runtime_stub/sampler.c, through the public API of lfm2rt.h).
 *
 * Input layout:
 *   byte 0        control: bit 0 set = parameters as raw IEEE / integer
 *                 bits (NaN, infinities, negatives, huge values: what a
 *                 caller could pass), clear = mapped into the ranges a
 *                 user gives on the command line; bit 1 the same for the
 *                 logits (raw float bits, or small steps with many ties)
 *   bytes 1-32    the parameters: temperature, top_k, top_p, min_p,
 *                 repeat_penalty, repeat_last_n (4 bytes each), seed (8)
 *   byte 33       history length h (0..255), then h ids, 2 bytes each
 *                 (mapped into [-2, vocab + 2): some outside the vocabulary)
 *   the rest      the logits, 4 bytes each (at most 4096; vocab = their
 *                 count)
 *
 * What is checked, only through the public API:
 *   - lfm2_sampler_create and lfm2_sample_filter accept and refuse the
 *     same parameters (the harness does not second-guess which; when a
 *     range check is added to the API, inputs it refuses are skipped);
 *   - with accepted parameters the filter keeps 1..vocab candidates with
 *     distinct ids in range, best first (by penalized logit, id on ties),
 *     greedy (T = 0) keeps exactly one; no penalized logit is NaN and
 *     every probability is finite, in [0, 1], summing to 1 — for finite
 *     logits and, as lfm2rt.h promises since the penalty saturates and
 *     NaN counts as -inf, for infinite and NaN logits too;
 *   - lfm2_sampler_sample returns an id in [0, vocab) every time, also for
 *     NaN or infinite logits, and the same seed gives the same ids after
 *     lfm2_sampler_reset.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2rt.h"
#include "fuzz.h"

#define MAX_VOCAB 4096

static float f32_bits(uint32_t v)
{
	float f;
	memcpy(&f, &v, sizeof f);
	return f;
}

static lfm2_sampler_params read_params(const uint8_t *d, size_t n, bool raw)
{
	lfm2_sampler_params p;
	if (raw) {
		p.temperature = f32_bits(fuzz_le32(d, n, 0));
		p.top_k = (int32_t)fuzz_le32(d, n, 4);
		p.top_p = f32_bits(fuzz_le32(d, n, 8));
		p.min_p = f32_bits(fuzz_le32(d, n, 12));
		p.repeat_penalty = f32_bits(fuzz_le32(d, n, 16));
		p.repeat_last_n = (int32_t)fuzz_le32(d, n, 20);
	} else {
		uint32_t t = fuzz_le32(d, n, 0), k = fuzz_le32(d, n, 4), tp = fuzz_le32(d, n, 8);
		uint32_t mp = fuzz_le32(d, n, 12), rp = fuzz_le32(d, n, 16), rl = fuzz_le32(d, n, 20);
		p.temperature = (t & 0xFF) < 32 ? 0.0f : (float)(t & 0xFFFF) / 8192.0f;   /* 0 or (0, 8) */
		p.top_k = (int32_t)(k % 300);
		p.top_p = (tp & 0xFF) < 64 ? 1.0f : (float)((tp >> 8) % 1000 + 1) / 1000.0f;
		p.min_p = (mp & 0xFF) < 64 ? 0.0f : (float)((mp >> 8) % 1001) / 1000.0f;
		/* 1 (off) or 2^(-8..9): past the accepted range on both sides */
		p.repeat_penalty = (rp & 0xFF) < 64 ? 1.0f : ldexpf(1.0f + (float)((rp >> 8) & 0xFF) / 256.0f,
		                                                    (int)((rp >> 16) % 17) - 8);
		p.repeat_last_n = (int32_t)(rl % 130) - 1;
	}
	p.seed = fuzz_le64(d, n, 24);
	return p;
}

static void check_filter(const lfm2_sampler_params *p, const float *logits, int32_t vocab, const int32_t *hist,
                         int32_t n_hist, bool finite)
{
	lfm2_candidate *c = malloc((size_t)vocab * sizeof *c);
	if (!c)
		fuzz_die("out of memory");
	int32_t n = lfm2_sample_filter(p, logits, vocab, hist, n_hist, c);
	FUZZ_ASSERT(n >= 1 && n <= vocab, "filter kept %d of %d", (int)n, (int)vocab);
	if (p->temperature == 0)
		FUZZ_ASSERT(n == 1 && c[0].p == 1, "greedy kept %d (p %g)", (int)n, c[0].p);
	uint8_t *seen = calloc((size_t)vocab, 1);
	if (!seen)
		fuzz_die("out of memory");
	double sum = 0;
	for (int32_t i = 0; i < n; i++) {
		FUZZ_ASSERT(c[i].id >= 0 && c[i].id < vocab && !seen[c[i].id], "candidate %d has id %d", (int)i,
		            (int)c[i].id);
		seen[c[i].id] = 1;
		/* lfm2rt.h: for any logits (NaN counts as -inf, a penalized logit
		 * saturates) the probabilities are finite and sum to 1. */
		FUZZ_ASSERT(!isnan(c[i].logit), "candidate %d (id %d): NaN penalized logit (%s logits, T %g, "
		            "repeat_penalty %g)", (int)i, (int)c[i].id, finite ? "finite" : "non-finite", p->temperature,
		            p->repeat_penalty);
		FUZZ_ASSERT(isfinite(c[i].p) && c[i].p >= 0 && c[i].p <= 1,
		            "candidate %d (id %d): probability %g (%s logits, T %g, repeat_penalty %g)", (int)i,
		            (int)c[i].id, c[i].p, finite ? "finite" : "non-finite", p->temperature, p->repeat_penalty);
		if (i > 0)
			FUZZ_ASSERT(c[i - 1].logit > c[i].logit || (c[i - 1].logit == c[i].logit && c[i - 1].id < c[i].id),
			            "candidates %d and %d out of order", (int)i - 1, (int)i);
		sum += c[i].p;
	}
	FUZZ_ASSERT(fabs(sum - 1.0) < 1e-9, "probabilities sum to %.17g (%s logits)", sum,
	            finite ? "finite" : "non-finite");
	free(seen);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 34)
		return 0;
	unsigned ctl = data[0];
	lfm2_sampler_params p = read_params(data + 1, 32, ctl & 1);
	size_t at = 33;
	int32_t n_hist = data[at++];
	size_t hist_bytes = 2 * (size_t)n_hist < size - at ? 2 * (size_t)n_hist : (size - at) & ~(size_t)1;
	n_hist = (int32_t)(hist_bytes / 2);
	size_t logit_bytes = size - at - hist_bytes;
	int32_t vocab = (int32_t)(logit_bytes / 4 < MAX_VOCAB ? logit_bytes / 4 : MAX_VOCAB);
	const uint8_t *hp = data + at, *lp = data + at + hist_bytes;

	int32_t *hist = malloc(((size_t)n_hist + 1) * sizeof *hist);
	float *logits = malloc(((size_t)vocab + 1) * sizeof *logits);
	if (!hist || !logits)
		fuzz_die("out of memory");
	for (int32_t i = 0; i < n_hist; i++) {
		uint32_t v = (uint32_t)hp[2 * i] | (uint32_t)hp[2 * i + 1] << 8;
		hist[i] = (int32_t)(v % ((uint32_t)vocab + 4)) - 2;
	}
	bool finite = true;
	for (int32_t i = 0; i < vocab; i++) {
		uint32_t v = fuzz_le32(lp, logit_bytes, 4 * (size_t)i);
		logits[i] = (ctl & 2) ? f32_bits(v) : (float)(int8_t)(v & 0xFF) / 4.0f;
		finite &= isfinite(logits[i]) != 0;
	}

	lfm2_err err;
	memset(&err, 0, sizeof err);
	lfm2_sampler *s = lfm2_sampler_create(&p, vocab, &err);
	if (!s) {
		fuzz_check_message(err.msg, sizeof err.msg);
		if (vocab >= 1) {
			lfm2_candidate one;
			float zero = 0;
			FUZZ_ASSERT(lfm2_sample_filter(&p, &zero, 1, NULL, 0, &one) == -1,
			            "create refuses parameters the filter accepts: %s", err.msg);
		}
		fuzz_note("refused: %s", err.msg);
	} else {
		FUZZ_ASSERT(vocab >= 1, "sampler created for vocab %d", (int)vocab);
		check_filter(&p, logits, vocab, hist, n_hist, finite);
		for (int32_t i = 0; i < n_hist; i++)
			lfm2_sampler_accept(s, hist[i]);
		int32_t first[4];
		for (int k = 0; k < 4; k++) {
			int32_t id = lfm2_sampler_sample(s, logits);
			FUZZ_ASSERT(id >= 0 && id < vocab, "sampled id %d of vocab %d", (int)id, (int)vocab);
			lfm2_sampler_accept(s, id);
			first[k] = id;
		}
		lfm2_sampler_reset(s);
		for (int32_t i = 0; i < n_hist; i++)
			lfm2_sampler_accept(s, hist[i]);
		for (int k = 0; k < 4; k++) {
			int32_t id = lfm2_sampler_sample(s, logits);
			FUZZ_ASSERT(id == first[k], "after reset, draw %d gave %d instead of %d", k, (int)id, (int)first[k]);
			lfm2_sampler_accept(s, id);
		}
		fuzz_note("ok: vocab %d, first id %d", (int)vocab, (int)first[0]);
		lfm2_sampler_free(s);
	}
	free(hist);
	free(logits);
	return 0;
}
