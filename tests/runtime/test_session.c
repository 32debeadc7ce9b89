/*
 * test_session.c — sessions, chunking and snapshots, on the fake model.
 *
 * The reference is a session fed one token per call.  Then, all bit for
 * bit against it: one big chunk; random call sizes split further by random
 * max_chunk; 1, 2 and 3 threads; last-row-only logits; logits = NULL;
 * reset and replay.  Snapshots: continue after snapshot; restore into the
 * same session (after it moved on), into a fresh session with another ctx
 * and chunk size, and into two sessions fed different continuations (a
 * fork) — each must equal an uninterrupted run of its full sequence.
 * Restore rejects foreign, malformed and oversize snapshots and leaves the
 * session unchanged.  Errors: context overflow, bad token ids, bad sizes.
 * Finally the fake model itself must be sensitive to what a broken runtime
 * would lose (earlier tokens, conv state, KV rows), or these tests would
 * prove nothing.
 */
#include <stdint.h>

#include "fake_model.h"
#include "lfm2rt.h"
#include "check.h"

#define N 40
#define VOC 50

static lfm2_weights *weights;
static int32_t seq[N];
static float ref[N][VOC];    /* logits of seq[0..i] at row i */

static uint32_t rng_state = 1;
static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (rng_state >> 8) % n;
}

static lfm2_session *new_session(int32_t ctx, int32_t chunk, lfm2_pool *pool)
{
	lfm2_err err;
	lfm2_session *s = lfm2_session_create(&fake_model, weights, ctx, chunk, pool, &err);
	if (!s)
		fprintf(stderr, "session: %s\n", err.msg);
	CHECK_OR_DIE(s);
	return s;
}

static void eval_ok(lfm2_session *s, const int32_t *t, int32_t n, float *logits, int all)
{
	lfm2_err err;
	if (lfm2_session_eval(s, t, n, logits, all, &err) != 0) {
		fprintf(stderr, "eval: %s\n", err.msg);
		exit(1);
	}
}

/* Logits of every position of tokens[0..n), one token per call. */
static void reference(const int32_t *tokens, int n, float (*out)[VOC])
{
	lfm2_session *s = new_session(N + 8, 1, NULL);
	for (int i = 0; i < n; i++)
		eval_ok(s, tokens + i, 1, out[i], 0);
	CHECK_INT(lfm2_session_pos(s), n);
	lfm2_session_free(s);
}

static int same_rows(const float *a, const float *b, int rows)
{
	return memcmp(a, b, (size_t)rows * VOC * sizeof(float)) == 0;
}

static void test_chunkings(void)
{
	static float got[N][VOC];
	lfm2_session *s = new_session(N, 64, NULL);   /* max_chunk clamps to ctx */
	eval_ok(s, seq, N, &got[0][0], 1);
	CHECK(same_rows(&got[0][0], &ref[0][0], N));
	lfm2_session_free(s);

	for (int threads = 1; threads <= 3; threads++) {
		lfm2_pool *pool = lfm2_pool_create(threads, NULL);
		CHECK_OR_DIE(pool);
		for (int trial = 0; trial < 20; trial++) {
			int32_t chunk = 1 + (int32_t)rnd(9);
			lfm2_session *t = new_session(N + (int32_t)rnd(20), chunk, pool);
			memset(got, 0, sizeof got);
			for (int done = 0; done < N;) {
				int len = 1 + (int)rnd(13);
				if (len > N - done)
					len = N - done;
				if (trial % 3 == 0) {         /* last row only */
					float last[VOC];
					eval_ok(t, seq + done, len, last, 0);
					CHECK(same_rows(last, ref[done + len - 1], 1));
				} else if (trial % 3 == 1) {  /* every row */
					eval_ok(t, seq + done, len, got[done], 1);
					CHECK(same_rows(got[done], ref[done], len));
				} else {                      /* no logits, then check the next */
					eval_ok(t, seq + done, len, NULL, 0);
				}
				done += len;
				CHECK_INT(lfm2_session_pos(t), done);
			}
			lfm2_session_reset(t);
			CHECK_INT(lfm2_session_pos(t), 0);
			eval_ok(t, seq, N, &got[0][0], 1);
			CHECK(same_rows(&got[0][0], &ref[0][0], N));
			lfm2_session_free(t);
		}
		lfm2_pool_destroy(pool);
	}
}

static void *take_snapshot(lfm2_session *s, size_t *size)
{
	*size = lfm2_session_snapshot_size(s);
	void *buf = malloc(*size);
	CHECK_OR_DIE(buf);
	lfm2_err err;
	CHECK_INT(lfm2_session_snapshot(s, buf, *size, &err), *size);
	return buf;
}

static void restore_ok(lfm2_session *s, const void *snap, size_t size)
{
	lfm2_err err;
	if (lfm2_session_restore(s, snap, size, &err) != 0) {
		fprintf(stderr, "restore: %s\n", err.msg);
		exit(1);
	}
}

/* Feeds seq[from..N) in pieces of 3 and checks every row against ref. */
static void check_continues(lfm2_session *s, const int32_t *tokens, float (*expect)[VOC], int from)
{
	CHECK_INT(lfm2_session_pos(s), from);
	static float got[N][VOC];
	for (int i = from; i < N; i += 3) {
		int len = N - i < 3 ? N - i : 3;
		eval_ok(s, tokens + i, len, got[i], 1);
	}
	CHECK(same_rows(got[from], expect[from], N - from));
}

static void test_snapshots(void)
{
	const int K = 17;
	lfm2_session *a = new_session(N, 4, NULL);
	eval_ok(a, seq, K, NULL, 0);
	size_t size;
	unsigned char *snap = take_snapshot(a, &size);
	/* 64-byte header + conv state + K positions of KV. */
	CHECK_INT(size, 64 + fake_model.conv_state_floats * 4 + (size_t)K * fake_model.kv_floats_per_pos * 4);
	check_continues(a, seq, ref, K);

	/* Same session, which has moved on to the end: back to K. */
	restore_ok(a, snap, size);
	check_continues(a, seq, ref, K);

	/* A new session with another ctx and max_chunk. */
	lfm2_pool *pool = lfm2_pool_create(2, NULL);
	lfm2_session *b = new_session(N + 23, 7, pool);
	eval_ok(b, seq + 5, 9, NULL, 0);    /* some unrelated state to overwrite */
	restore_ok(b, snap, size);
	check_continues(b, seq, ref, K);

	/* Fork: two sessions from one snapshot, different continuations. */
	int32_t alt[N];
	static float alt_ref[N][VOC];
	memcpy(alt, seq, sizeof alt);
	for (int i = K; i < N; i++)
		alt[i] = (int32_t)rnd(VOC);
	reference(alt, N, alt_ref);
	lfm2_session *c = new_session(N, 2, NULL), *d = new_session(N, 5, pool);
	restore_ok(c, snap, size);
	restore_ok(d, snap, size);
	check_continues(c, alt, alt_ref, K);
	check_continues(d, seq, ref, K);

	/* Snapshot of an empty session, and at a full context. */
	lfm2_session_reset(c);
	free(snap);
	snap = take_snapshot(c, &size);
	CHECK_INT(size, 64 + fake_model.conv_state_floats * 4);
	restore_ok(d, snap, size);
	check_continues(d, seq, ref, 0);
	free(snap);
	snap = take_snapshot(d, &size);     /* pos == ctx == N */
	restore_ok(b, snap, size);
	CHECK_INT(lfm2_session_pos(b), N);
	free(snap);

	lfm2_session_free(a);
	lfm2_session_free(b);
	lfm2_session_free(c);
	lfm2_session_free(d);
	lfm2_pool_destroy(pool);
}

static void test_restore_rejects(void)
{
	const int K = 12;
	lfm2_err err;
	lfm2_session *a = new_session(N, 4, NULL);
	eval_ok(a, seq, K, NULL, 0);
	size_t size;
	unsigned char *snap = take_snapshot(a, &size);
	unsigned char *bad = malloc(size + 8);
	CHECK_OR_DIE(bad);

	CHECK_INT(lfm2_session_snapshot(a, bad, size - 1, &err), 0);
	CHECK_CONTAINS(err.msg, "buffer");

	/* b is at position 20 of seq; every failed restore must leave it there. */
	lfm2_session *b = new_session(N, 3, NULL);
	eval_ok(b, seq, 20, NULL, 0);

	memcpy(bad, snap, size);
	bad[0] = 'X';
	CHECK(lfm2_session_restore(b, bad, size, &err) == -1);
	CHECK_CONTAINS(err.msg, "not a session snapshot");
	memcpy(bad, snap, size);
	CHECK(lfm2_session_restore(b, bad, size - 4, &err) == -1);
	CHECK_CONTAINS(err.msg, "bytes");
	CHECK(lfm2_session_restore(b, bad, 10, &err) == -1);
	bad[16] ^= 1;                        /* blob hash */
	CHECK(lfm2_session_restore(b, bad, size, &err) == -1);
	CHECK_CONTAINS(err.msg, "another model");
	memcpy(bad, snap, size);
	bad[24] ^= 1;                        /* model hash */
	CHECK(lfm2_session_restore(b, bad, size, &err) == -1);
	CHECK_CONTAINS(err.msg, "another model");

	/* Too long for a small session. */
	lfm2_session *small = new_session(K - 1, 4, NULL);
	CHECK(lfm2_session_restore(small, snap, size, &err) == -1);
	CHECK_CONTAINS(err.msg, "ctx");
	lfm2_session_free(small);

	/* A session of a different model (same code and sizes, other hash). */
	lfm2_model_info other = fake_model;
	other.model_hash ^= 1;
	lfm2_session *o = lfm2_session_create(&other, weights, N, 4, NULL, &err);
	CHECK_OR_DIE(o);
	CHECK(lfm2_session_restore(o, snap, size, &err) == -1);
	CHECK_CONTAINS(err.msg, "another model");
	lfm2_session_free(o);

	check_continues(b, seq, ref, 20);
	free(bad);
	free(snap);
	lfm2_session_free(a);
	lfm2_session_free(b);
}

static void test_errors(void)
{
	lfm2_err err;
	CHECK(lfm2_session_create(&fake_model, weights, 0, 4, NULL, &err) == NULL);
	CHECK_CONTAINS(err.msg, "ctx");
	CHECK(lfm2_session_create(&fake_model, weights, 8, 0, NULL, &err) == NULL);
	lfm2_model_info old = fake_model;
	old.abi_version = 99;
	CHECK(lfm2_session_create(&old, weights, 8, 4, NULL, &err) == NULL);
	CHECK_CONTAINS(err.msg, "ABI version 99");
	lfm2_model_info odd = fake_model;
	odd.kv_floats_per_pos = 15;
	CHECK(lfm2_session_create(&odd, weights, 8, 4, NULL, &err) == NULL);
	CHECK_CONTAINS(err.msg, "kv_floats_per_pos");

	lfm2_session *s = new_session(10, 4, NULL);
	float logits[VOC];
	eval_ok(s, seq, 6, NULL, 0);
	CHECK(lfm2_session_eval(s, seq, 5, logits, 0, &err) == -1);
	CHECK_CONTAINS(err.msg, "context full");
	CHECK_CONTAINS(err.msg, "ctx 10");
	CHECK_INT(lfm2_session_pos(s), 6);
	int32_t bad[3] = {1, 50, 2};
	CHECK(lfm2_session_eval(s, bad, 3, logits, 0, &err) == -1);
	CHECK_CONTAINS(err.msg, "token 1 (value 50)");
	bad[1] = -3;
	CHECK(lfm2_session_eval(s, bad, 3, logits, 0, &err) == -1);
	CHECK_CONTAINS(err.msg, "token 1 (value -3)");
	CHECK(lfm2_session_eval(s, seq, -1, logits, 0, &err) == -1);
	CHECK_INT(lfm2_session_eval(s, seq, 0, logits, 0, &err), 0);
	CHECK_INT(lfm2_session_pos(s), 6);
	/* Nothing was changed by the failures: the last 4 slots still fill exactly. */
	eval_ok(s, seq + 6, 4, logits, 0);
	CHECK(same_rows(logits, ref[9], 1));
	CHECK(lfm2_session_eval(s, seq, 1, logits, 0, &err) == -1);
	CHECK_INT(lfm2_session_ctx(s), 10);
	CHECK(lfm2_session_model(s) == &fake_model);
	lfm2_session_free(s);
	lfm2_session_free(NULL);
}

/* The fake model must notice what a broken runtime would lose. */
static void test_fake_model_is_sensitive(void)
{
	static float other[N][VOC];
	int32_t alt[N];
	memcpy(alt, seq, sizeof alt);
	alt[0] = (seq[0] + 1) % VOC;
	reference(alt, N, other);
	CHECK(!same_rows(other[N - 1], ref[N - 1], 1));    /* remembers token 0 */

	lfm2_session *s = new_session(N, 4, NULL);
	eval_ok(s, seq, 20, NULL, 0);
	size_t size;
	unsigned char *snap = take_snapshot(s, &size);
	size_t conv = fake_model.conv_state_floats * 4, kvd = 4;
	float last[VOC];
	/* zero conv state */
	unsigned char *x = malloc(size);
	memcpy(x, snap, size);
	memset(x + 64, 0, conv);
	restore_ok(s, x, size);
	eval_ok(s, seq + 20, 1, last, 0);
	CHECK(!same_rows(last, ref[20], 1));
	/* one K row (position 3 of attention layer 0), one V row of layer 1 */
	for (int which = 0; which < 2; which++) {
		memcpy(x, snap, size);
		size_t block = 20 * kvd * 4;
		size_t off = 64 + conv + (which ? 3 * block : 0) + 3 * kvd * 4;
		((float *)(x + off))[1] += 0.5f;
		restore_ok(s, x, size);
		eval_ok(s, seq + 20, 1, last, 0);
		CHECK(!same_rows(last, ref[20], 1));
	}
	/* and the untouched snapshot reproduces it */
	restore_ok(s, snap, size);
	eval_ok(s, seq + 20, 1, last, 0);
	CHECK(same_rows(last, ref[20], 1));
	free(x);
	free(snap);
	lfm2_session_free(s);
}

int main(void)
{
	size_t blob_size;
	unsigned char *blob = fake_model_blob(&blob_size);
	lfm2_err err;
	weights = lfm2_weights_from_memory(blob, blob_size, "fake", &fake_model, &err);
	if (!weights)
		fprintf(stderr, "%s\n", err.msg);
	CHECK_OR_DIE(weights);
	for (int i = 0; i < N; i++)
		seq[i] = (int32_t)rnd(VOC);
	reference(seq, N, ref);

	test_chunkings();
	test_snapshots();
	test_restore_rejects();
	test_errors();
	test_fake_model_is_sensitive();

	lfm2_weights_close(weights);
	free(blob);
	return check_finish("test_session");
}
