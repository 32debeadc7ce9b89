/*
 * bundle_main.c — uses a compiled model the way a Glow bundle is used:
 * nothing but model.o and model.h (and lfm2_abi.h).  It sizes every
 * buffer from model.h's macros, supplies its own one-thread
 * lfm2_parallel_for (the only symbol model.o needs besides libc/libm),
 * calls forward() on the fixture's tokens and compares the logits with
 * the oracle (bound 1e-4 of max |logit|).
 *
 *   bundle_main weights.bin tokens.txt logits.npy
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "npyio.h"

void lfm2_parallel_for(lfm2_pool *pool, int64_t n, lfm2_task_fn fn, void *arg)
{
	(void)pool;
	fn(arg, 0, n, 0);
}

int lfm2_pool_threads(const lfm2_pool *pool)
{
	(void)pool;
	return 1;
}

static void *zalloc(size_t n)
{
	void *p = aligned_alloc(LFM2_MODEL_MEM_ALIGN, (n + 63) / 64 * 64);
	if (p)
		memset(p, 0, (n + 63) / 64 * 64);
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bundle_main weights.bin tokens.txt logits.npy\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	unsigned char *payload = zalloc(LFM2_MODEL_BLOB_BYTES);
	if (!f || !payload || fseek(f, 0, SEEK_END) || ftell(f) != (long)LFM2_MODEL_BLOB_FILE_BYTES
	    || fseek(f, 4096, SEEK_SET) || fread(payload, 1, LFM2_MODEL_BLOB_BYTES, f) != LFM2_MODEL_BLOB_BYTES) {
		fprintf(stderr, "bundle: %s: not the blob model.h describes\n", argv[1]);
		return 1;
	}
	fclose(f);
	int32_t tokens[4096];
	int T = 0;
	FILE *tf = fopen(argv[2], "r");
	long v;
	while (tf && T < 4096 && fscanf(tf, "%ld", &v) == 1) {
		tokens[T++] = (int32_t)v;
		if (fgetc(tf) == EOF)
			break;
	}
	if (tf)
		fclose(tf);
	int32_t ctx = T;
	float *kv = zalloc((size_t)ctx * LFM2_MODEL_KV_FLOATS_PER_POS * sizeof(float) + 64);
	float *conv = zalloc(LFM2_MODEL_CONV_STATE_BYTES + 64);
	void *scratch = zalloc(LFM2_MODEL_SCRATCH_BYTES(T, ctx, 1));
	float *logits = zalloc((size_t)T * LFM2_MODEL_VOCAB * sizeof(float));
	if (!T || !kv || !conv || !scratch || !logits)
		return 1;
	if (lfm2_model.scratch_bytes(T, ctx, 1) != LFM2_MODEL_SCRATCH_BYTES(T, ctx, 1)) {
		fprintf(stderr, "bundle: scratch_bytes() %zu != LFM2_MODEL_SCRATCH_BYTES %zu\n",
		        lfm2_model.scratch_bytes(T, ctx, 1), (size_t)LFM2_MODEL_SCRATCH_BYTES(T, ctx, 1));
		return 1;
	}
	if (lfm2_model.blob_hash != LFM2_MODEL_BLOB_HASH || lfm2_model.vocab_size != LFM2_MODEL_VOCAB) {
		fprintf(stderr, "bundle: model.h and the model info disagree\n");
		return 1;
	}
	lfm2_forward_args a = {payload, kv, ctx, conv, scratch, tokens, T, 0, logits, T, NULL};
	if (lfm2_model.forward(&a)) {
		fprintf(stderr, "bundle: forward() refused its arguments\n");
		return 1;
	}
	NpyArray want;
	char err[256];
	if (npy_read(argv[3], &want, err, sizeof err)) {
		fprintf(stderr, "bundle: %s\n", err);
		return 1;
	}
	double me = 0, mw = 0;
	for (int64_t i = 0; i < want.count && i < (int64_t)T * LFM2_MODEL_VOCAB; i++) {
		me = fmax(me, fabs(logits[i] - want.data[i]));
		mw = fmax(mw, fabs(want.data[i]));
	}
	int ok = want.count == (int64_t)T * LFM2_MODEL_VOCAB && me <= 1e-4 * mw;
	printf("%s bundle (model.o + model.h only): rel err %.3e over %d tokens\n", ok ? "ok  " : "FAIL", me / mw, T);
	npy_free(&want);
	return ok ? 0 : 1;
}
