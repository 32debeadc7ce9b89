/*
 * two_models.c — two libraries of `lfm2c compile --emit lib` in one
 * program: tests/fixtures/tiny with prefix tiny (weights.bin, no
 * tokenizer) and examples/trained-tiny with prefix tt (weights and
 * tokenizer inside the library).  Each carries its own copy of the
 * runtime; only the prefixed API is global, so they link side by side.
 *
 *   two_models TINY_WEIGHTS PROMPT_IDS N CHAT_PROMPT NT IDS_OUT TEXT_OUT
 *
 * Writes what lib.sh compares with the references:
 *   IDS_OUT   tiny's N greedy ids after PROMPT_IDS ("1,2,3"), comma-separated
 *             (the oracle's greedy.txt);
 *   TEXT_OUT  tt's greedy answer to CHAT_PROMPT, NT tokens at most, and a
 *             newline (what lfm2-run -p CHAT_PROMPT --temp 0 -n NT prints).
 * The two models run interleaved, token by token, so any state the two
 * copies of the runtime shared would show.  The API's contract is checked
 * on the way (check.h): errors name the file or the argument, a failed
 * feed changes nothing, generate == sample + feed, text round-trips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tiny.h"
#include "tt.h"

/* tt's answer as it streams; each piece also moves tiny on by one
 * greedy token (sample + feed), so the two models run interleaved. */
typedef struct interleave {
	char buf[65536];
	size_t len;
	tiny_session *tiny;
	int32_t got[64];
	int n, want;
} interleave;

static void tiny_step(interleave *t)
{
	char err[512];
	t->got[t->n] = tiny_sample(t->tiny);
	CHECK(tiny_feed_ids(t->tiny, &t->got[t->n], 1, err, sizeof err) == 0, "tiny_feed_ids: %s", err);
	t->n++;
}

static int collect(void *user, const char *text, size_t len)
{
	interleave *t = user;
	if (t->len + len >= sizeof t->buf)
		return 1;
	memcpy(t->buf + t->len, text, len);
	t->len += len;
	if (t->n < t->want)
		tiny_step(t);
	return 0;
}

static int parse_ids(const char *s, int32_t *ids, int cap)
{
	int n = 0;
	for (char *end; *s && n < cap; s = *end ? end + 1 : end)
		ids[n++] = (int32_t)strtol(s, &end, 10);
	return n;
}

/* Errors say why and change nothing. */
static void check_errors(const char *tiny_weights, tiny_model *tiny, tt_model *tt)
{
	char err[512] = "";
	CHECK(!tiny_open(NULL, 1, err, sizeof err));
	CHECK_CONTAINS(err, "--embed-weights");
	CHECK(!tiny_open("/nonexistent/weights.bin", 1, err, sizeof err));
	CHECK_CONTAINS(err, "/nonexistent/weights.bin");
	CHECK(!tt_open(tiny_weights, 1, err, sizeof err), "tt opened tiny's weights");
	CHECK_CONTAINS(err, tiny_weights);
	CHECK_INT(tiny_has_tokenizer(tiny), 0);
	CHECK_INT(tt_has_tokenizer(tt), 1);

	tiny_session *s = tiny_session_create(tiny, 4, err, sizeof err);
	CHECK_OR_DIE(s);
	CHECK_INT(tiny_generate(s, 1, NULL, NULL, err, sizeof err), -1);
	CHECK_CONTAINS(err, "nothing was fed");
	CHECK_INT(tiny_feed_text(s, "hello", 1, err, sizeof err), -1);
	CHECK_CONTAINS(err, "no tokenizer");
	int32_t five[5] = {1, 2, 3, 4, 5}, bad[2] = {1, tiny_vocab_size(tiny)};
	CHECK_INT(tiny_feed_ids(s, five, 5, err, sizeof err), -1);   /* ctx 4 */
	CHECK_INT(tiny_feed_ids(s, bad, 2, err, sizeof err), -1);
	CHECK_INT(tiny_session_pos(s), 0);
	CHECK(!tiny_logits(s) && tiny_sample(s) == -1);
	tiny_session_free(s);

	tt_session *c = tt_session_create(tt, 64, err, sizeof err);
	CHECK_OR_DIE(c);
	CHECK_INT(tt_feed_chat(c, NULL, "Hi", err, sizeof err), 0);
	CHECK_INT(tt_generate(c, 2, NULL, NULL, err, sizeof err), 2);
	CHECK_INT(tt_feed_chat(c, "be brief", "Again", err, sizeof err), -1);
	CHECK_CONTAINS(err, "system message");
	int32_t pos = tt_session_pos(c);
	char *long_turn = malloc(4000);
	CHECK_OR_DIE(long_turn);
	memset(long_turn, 'a', 3999);
	long_turn[3999] = 0;
	for (int i = 0; i < 3999; i += 2)
		long_turn[i] = ' ';   /* many tokens: cannot fit in 64 */
	CHECK_INT(tt_feed_chat(c, NULL, long_turn, err, sizeof err), -1);
	CHECK_INT(tt_session_pos(c), pos);
	CHECK_INT(tt_feed_chat(c, NULL, "Again", err, sizeof err), 0);   /* the failed turn left no trace */
	free(long_turn);
	tt_session_free(c);
}

/* tokenize / detokenize: ASCII text comes back as it was. */
static void check_text(tt_model *tt)
{
	const char *text = "This program is free software; you can redistribute it.";
	char err[512];
	int32_t ids[256];
	int32_t n = tt_tokenize(tt, text, 0, ids, 256, err, sizeof err);
	CHECK(n > 0 && n < 256, "tokenize: %d", (int)n);
	CHECK_INT(tt_tokenize(tt, text, 0, NULL, 0, err, sizeof err), n);
	CHECK_INT(tt_tokenize(tt, text, 1, NULL, 0, err, sizeof err), n + 1);   /* BOS */
	char *back = n > 0 ? tt_detokenize(tt, ids, n, err, sizeof err) : NULL;
	CHECK(back && !strcmp(back, text), "detokenize gave '%s'", back ? back : err);
	free(back);
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: two_models TINY_WEIGHTS PROMPT_IDS N CHAT_PROMPT NT IDS_OUT TEXT_OUT\n");
		return 2;
	}
	int32_t prompt[64];
	int np = parse_ids(argv[2], prompt, 64), n = atoi(argv[3]), nt = atoi(argv[5]);
	char err[512];
	tiny_model *tiny = tiny_open(argv[1], 2, err, sizeof err);
	tt_model *tt = tiny ? tt_open(NULL, 2, err, sizeof err) : NULL;
	if (!tt) {
		fprintf(stderr, "two_models: %s\n", err);
		return 2;
	}
	check_errors(argv[1], tiny, tt);
	check_text(tt);

	/* tiny greedy by hand (sample + feed) beside tt's chat answer, in turns */
	tiny_session *ts = tiny_session_create(tiny, 0, err, sizeof err);
	tt_session *cs = ts ? tt_session_create(tt, 0, err, sizeof err) : NULL;
	CHECK_OR_DIE(cs);
	tiny_sampling greedy = tiny_default_sampling(tiny, 0);
	tt_sampling tt_greedy = tt_default_sampling(tt, 0);
	CHECK_INT(tiny_set_sampling(ts, &greedy, err, sizeof err), 0);
	CHECK_INT(tt_set_sampling(cs, &tt_greedy, err, sizeof err), 0);
	CHECK_INT(tiny_feed_ids(ts, prompt, np, err, sizeof err), 0);
	CHECK_INT(tt_feed_chat(cs, NULL, argv[4], err, sizeof err), 0);
	interleave *answer = calloc(1, sizeof *answer);
	CHECK_OR_DIE(answer && n <= 64);
	answer->tiny = ts;
	answer->want = n;
	CHECK(tt_generate(cs, nt, collect, answer, err, sizeof err) > 0, "tt_generate: %s", err);
	while (answer->n < n)
		tiny_step(answer);
	const int32_t *got = answer->got;
	/* the session holds prompt + generated; generate without text == the loop above */
	int32_t nids;
	const int32_t *held = tiny_session_ids(ts, &nids);
	CHECK_INT(nids, np + n);
	CHECK(nids == np + n && !memcmp(held + np, got, (size_t)n * sizeof *got));
	tiny_session_reset(ts);
	CHECK_INT(tiny_feed_ids(ts, prompt, np, err, sizeof err), 0);
	CHECK_INT(tiny_generate(ts, n, NULL, NULL, err, sizeof err), n);
	held = tiny_session_ids(ts, &nids);
	CHECK(nids == np + n && !memcmp(held + np, got, (size_t)n * sizeof *got), "generate != sample + feed");

	FILE *f = fopen(argv[6], "w");
	FILE *g = fopen(argv[7], "w");
	CHECK_OR_DIE(f && g);
	for (int i = 0; i < n; i++)
		fprintf(f, i ? ",%d" : "%d", (int)got[i]);
	fputc('\n', f);
	fwrite(answer->buf, 1, answer->len, g);
	fputc('\n', g);
	CHECK(fclose(f) == 0 && fclose(g) == 0);
	free(answer);
	tiny_session_free(ts);
	tt_session_free(cs);
	tiny_close(tiny);
	tt_close(tt);
	return check_finish("two_models");
}
