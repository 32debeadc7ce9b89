/*
 * test_session.c — incremental evaluation and snapshots on a real
 * generated model, against the f64 oracle's logits.
 *
 * Built by run.sh from a model compiled with `lfm2c compile --emit c`,
 * linked with the runtime.  Arguments: WEIGHTS TOKENS_FILE ORACLE.npy.
 * Checks, each against the oracle (bound 1e-4 of max |logit|) and against
 * the one-chunk run (bound 1e-5):
 *   - one chunk (all rows), token by token, prefill + decode, random chunks;
 *   - snapshot at the middle, run on, restore, run on == uninterrupted;
 *   - the snapshot restored into a second session (a fork) == uninterrupted;
 *   - two threads == one thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lfm2rt.h"
#include "npyio.h"

extern const lfm2_model_info lfm2_model;

static double rel_err(const float *got, const float *want, size_t n)
{
	double me = 0, mw = 0;
	for (size_t i = 0; i < n; i++) {
		me = fmax(me, fabs((double)got[i] - want[i]));
		mw = fmax(mw, fabs((double)want[i]));
	}
	return mw > 0 ? me / mw : me;
}

static void expect_close(const char *what, const float *got, const float *want, size_t n, double bound)
{
	double e = rel_err(got, want, n);
	int ok = e <= bound && !isnan(e);
	printf("%s %-44s rel err %.3e (bound %.0e)\n", ok ? "ok  " : "FAIL", what, e, bound);
	CHECK(ok, "%s: rel err %.3e, bound %.0e", what, e, bound);
}

static int read_tokens(const char *path, int32_t *out, int cap)
{
	FILE *f = fopen(path, "r");
	int n = 0;
	long v;
	if (!f)
		return -1;
	while (n < cap && fscanf(f, "%ld", &v) == 1) {
		out[n++] = (int32_t)v;
		if (fgetc(f) == EOF)
			break;
	}
	fclose(f);
	return n;
}

/* Runs the tokens through a fresh session in the given chunk sizes (the
 * last size repeats) and writes every row's logits. */
static int run_chunks(lfm2_session *s, const int32_t *tok, int n, const int *sizes, int n_sizes,
                      float *logits, int V)
{
	lfm2_err err;
	lfm2_session_reset(s);
	for (int done = 0, i = 0; done < n; i++) {
		int k = sizes[i < n_sizes ? i : n_sizes - 1];
		if (k > n - done)
			k = n - done;
		if (lfm2_session_eval(s, tok + done, k, logits + (size_t)done * V, 1, &err)) {
			fprintf(stderr, "eval: %s\n", err.msg);
			return -1;
		}
		done += k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_session WEIGHTS TOKENS ORACLE.npy\n");
		return 2;
	}
	lfm2_err err;
	int32_t tok[256];
	int n = read_tokens(argv[2], tok, 256);
	const int V = lfm2_model.vocab_size;
	NpyArray oracle;
	char msg[256];
	if (npy_read(argv[3], &oracle, msg, sizeof msg)) {
		fprintf(stderr, "%s\n", msg);
		return 2;
	}
	if (n < 4 || oracle.ndim != 2 || oracle.shape[0] != n || oracle.shape[1] != V) {
		fprintf(stderr, "bad inputs: %d tokens, oracle shape mismatch\n", n);
		return 2;
	}
	float *want = malloc((size_t)oracle.count * sizeof(float));
	if (!want)
		return 1;
	for (int64_t i = 0; i < oracle.count; i++)
		want[i] = (float)oracle.data[i];
	npy_free(&oracle);
	lfm2_weights *w = lfm2_weights_open(argv[1], &lfm2_model, LFM2_WEIGHTS_READ, &err);
	lfm2_pool *pool2 = lfm2_pool_create(2, &err);
	lfm2_session *s = w ? lfm2_session_create(&lfm2_model, w, 64, 16, NULL, &err) : NULL;
	lfm2_session *s2 = w ? lfm2_session_create(&lfm2_model, w, 64, 16, pool2, &err) : NULL;
	if (!w || !pool2 || !s || !s2) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return 1;
	}
	size_t sz = (size_t)n * V;
	float *full = malloc(sz * sizeof(float)), *got = malloc(sz * sizeof(float));
	if (!full || !got)
		return 1;

	int one[] = {n}, by1[] = {1}, pre[] = {n / 2, 1}, rnd[] = {3, 1, 5, 2, 1, 4, 7, 2};
	run_chunks(s, tok, n, one, 1, full, V);
	expect_close("one chunk vs oracle", full, want, sz, 1e-4);
	run_chunks(s, tok, n, by1, 1, got, V);
	expect_close("token by token vs oracle", got, want, sz, 1e-4);
	expect_close("token by token vs one chunk", got, full, sz, 1e-5);
	run_chunks(s, tok, n, pre, 2, got, V);
	expect_close("prefill n/2 + decode vs one chunk", got, full, sz, 1e-5);
	run_chunks(s, tok, n, rnd, 8, got, V);
	expect_close("random chunks vs one chunk", got, full, sz, 1e-5);
	run_chunks(s2, tok, n, rnd, 8, got, V);
	expect_close("2 threads, random chunks vs one chunk", got, full, sz, 1e-5);

	/* snapshot in the middle, run on, restore, run on again */
	int half = n / 2;
	lfm2_session_reset(s);
	if (lfm2_session_eval(s, tok, half, NULL, 0, &err))
		return 1;
	size_t snap_n = lfm2_session_snapshot_size(s);
	void *snap = malloc(snap_n);
	if (!snap || lfm2_session_snapshot(s, snap, snap_n, &err) != snap_n)
		return 1;
	lfm2_session_eval(s, tok + half, n - half, got + (size_t)half * V, 1, &err);
	expect_close("run on after snapshot", got + (size_t)half * V, full + (size_t)half * V,
	             (size_t)(n - half) * V, 1e-5);
	memset(got, 0, sz * sizeof(float));
	if (lfm2_session_restore(s, snap, snap_n, &err))
		return 1;
	lfm2_session_eval(s, tok + half, n - half, got + (size_t)half * V, 1, &err);
	expect_close("restore, run on == uninterrupted", got + (size_t)half * V, full + (size_t)half * V,
	             (size_t)(n - half) * V, 1e-5);
	/* fork: the snapshot restored into another session */
	lfm2_session_reset(s2);
	memset(got, 0, sz * sizeof(float));
	if (lfm2_session_restore(s2, snap, snap_n, &err))
		return 1;
	lfm2_session_eval(s2, tok + half, n - half, got + (size_t)half * V, 1, &err);
	expect_close("fork into a second session", got + (size_t)half * V, full + (size_t)half * V,
	             (size_t)(n - half) * V, 1e-5);

	free(snap);
	free(full);
	free(got);
	free(want);
	lfm2_session_free(s);
	lfm2_session_free(s2);
	lfm2_pool_destroy(pool2);
	lfm2_weights_close(w);
	return check_finish("test_session");
}
