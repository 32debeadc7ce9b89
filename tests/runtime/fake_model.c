/*
 * fake_model.c — the hand-written fake model used by the runtime tests.
 *
 * Shape: vocab 50, hidden 8, four layers conv, attn, conv, attn; one KV head
 * of dim 4 (kv_dim 4, so kv_floats_per_pos = 2 layers * 2 * 4 = 16); conv_L
 * 3 (conv state: 2 layers * 2 rows * 8 = 32 floats).
 *
 * The math is an LFM2 caricature, processed one token at a time in order:
 *   x = E[token]
 *   conv layer c:  z = x * x_gate;  y = w0*s_old + w1*s_new + w2*z;
 *                  state <- (s_new, z);  x += tanh(y)
 *   attn layer a:  k = tanh(x Wk_a) + 0.1*sin((pos+1)*(d+1));  v = x Wv_a;
 *                  K[a][pos] = k, V[a][pos] = v;
 *                  x += (softmax_j<=pos(k . K[a][j]) V[a][j]) Wo_a
 *   logits[v] = x . E[v] + 0.5 * sin(0.7 * (pos+1) * (v+1))
 *                                          (over lfm2_parallel_for; the
 *                                          sine keeps greedy runs varied)
 * Every token reads the caches written by all earlier tokens, in this call
 * or earlier ones, so the logits are a function of the full history and of
 * nothing else; a runtime that feeds wrong positions, drops cache rows or
 * restores a snapshot badly gets different numbers.  The per-token work is
 * the same whatever the chunking, so results must match bit for bit.
 */
#include "fake_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "lfm2rt.h"

enum { V = 50, H = 8, KVD = 4, NATTN = 2, NCONV = 2, L = 3 };

/* Payload layout, in floats. */
enum {
	OFF_E = 0,                          /* [V][H] embeddings */
	OFF_GATE = OFF_E + V * H,           /* [NCONV][H] */
	OFF_TAPS = OFF_GATE + NCONV * H,    /* [NCONV][L][H] */
	OFF_WK = OFF_TAPS + NCONV * L * H,  /* [NATTN][H][KVD] */
	OFF_WV = OFF_WK + NATTN * H * KVD,  /* [NATTN][H][KVD] */
	OFF_WO = OFF_WV + NATTN * H * KVD,  /* [NATTN][KVD][H] */
	N_FLOATS = OFF_WO + NATTN * KVD * H,
};
/* 400 + 16 + 48 + 64 + 64 + 64 = 656 floats = 2624 bytes (41 * 64). */
#define BLOB_BYTES ((uint64_t)N_FLOATS * 4)

static const uint8_t layer_is_attn[4] = {0, 1, 0, 1};

void fake_model_payload(float *out)
{
	uint32_t x = 12345;
	for (int i = 0; i < N_FLOATS; i++) {
		x = x * 1664525u + 1013904223u;
		out[i] = (float)((double)(x >> 8) / (double)(1u << 24) - 0.5);
	}
}

static size_t fake_scratch_bytes(int32_t max_tokens, int32_t ctx, int32_t n_threads)
{
	(void)max_tokens;
	(void)n_threads;
	return ((size_t)H + (size_t)ctx) * sizeof(float);
}

struct logit_job {
	const float *w, *x;
	float *out;
	int32_t pos;
};

static void logit_range(void *arg, int64_t begin, int64_t end, int32_t worker)
{
	(void)worker;
	struct logit_job *j = arg;
	for (int64_t v = begin; v < end; v++) {
		float acc = 0.5f * sinf(0.7f * (float)(j->pos + 1) * (float)(v + 1));
		for (int d = 0; d < H; d++)
			acc += j->x[d] * j->w[OFF_E + v * H + d];
		j->out[v] = acc;
	}
}

static void conv_layer(const float *w, int c, float *state, float *x)
{
	float *s_old = state, *s_new = state + H;
	const float *taps = w + OFF_TAPS + c * L * H;
	for (int d = 0; d < H; d++) {
		float z = x[d] * w[OFF_GATE + c * H + d];
		float y = taps[d] * s_old[d] + taps[H + d] * s_new[d] + taps[2 * H + d] * z;
		s_old[d] = s_new[d];
		s_new[d] = z;
		x[d] += tanhf(y);
	}
}

static void attn_layer(const float *w, int a, float *kv, int32_t ctx, int32_t pos, float *x,
                       float *scores)
{
	float *K = kv + (size_t)(2 * a) * ctx * KVD, *Vb = kv + (size_t)(2 * a + 1) * ctx * KVD;
	float k[KVD], v[KVD], o[KVD] = {0};
	for (int e = 0; e < KVD; e++) {
		float sk = 0, sv = 0;
		for (int d = 0; d < H; d++) {
			sk += x[d] * w[OFF_WK + (a * H + d) * KVD + e];
			sv += x[d] * w[OFF_WV + (a * H + d) * KVD + e];
		}
		k[e] = tanhf(sk) + 0.1f * sinf((float)(pos + 1) * (float)(e + 1));
		v[e] = sv;
	}
	memcpy(K + (size_t)pos * KVD, k, sizeof k);
	memcpy(Vb + (size_t)pos * KVD, v, sizeof v);
	float max = -INFINITY, sum = 0;
	for (int32_t j = 0; j <= pos; j++) {
		float s = 0;
		for (int e = 0; e < KVD; e++)
			s += k[e] * K[(size_t)j * KVD + e];
		scores[j] = s;
		max = s > max ? s : max;
	}
	for (int32_t j = 0; j <= pos; j++) {
		scores[j] = expf(scores[j] - max);
		sum += scores[j];
	}
	for (int32_t j = 0; j <= pos; j++)
		for (int e = 0; e < KVD; e++)
			o[e] += scores[j] / sum * Vb[(size_t)j * KVD + e];
	for (int d = 0; d < H; d++)
		for (int e = 0; e < KVD; e++)
			x[d] += o[e] * w[OFF_WO + (a * KVD + e) * H + d];
}

static int fake_forward(const lfm2_forward_args *args)
{
	if (!args->weights || !args->kv || !args->conv_state || !args->scratch || !args->tokens ||
	    args->n_tokens < 1 || args->pos < 0 || args->pos > args->ctx - args->n_tokens ||
	    (args->logits_rows != 0 && args->logits_rows != 1 && args->logits_rows != args->n_tokens) ||
	    (args->logits_rows && !args->logits) || ((uintptr_t)args->scratch & 63) ||
	    ((uintptr_t)args->weights & 63))
		return -1;
	for (int32_t t = 0; t < args->n_tokens; t++)
		if (args->tokens[t] < 0 || args->tokens[t] >= V)
			return -1;
	const float *w = args->weights;
	float *x = args->scratch, *scores = x + H;
	for (int32_t t = 0; t < args->n_tokens; t++) {
		int32_t pos = args->pos + t;
		memcpy(x, w + OFF_E + args->tokens[t] * H, H * sizeof(float));
		int c = 0, a = 0;
		for (int l = 0; l < 4; l++) {
			if (layer_is_attn[l])
				attn_layer(w, a++, args->kv, args->ctx, pos, x, scores);
			else
				conv_layer(w, c, args->conv_state + c * (L - 1) * H, x), c++;
		}
		float *row = NULL;
		if (args->logits_rows == args->n_tokens)
			row = args->logits + (size_t)t * V;
		else if (args->logits_rows == 1 && t == args->n_tokens - 1)
			row = args->logits;
		if (row) {
			struct logit_job j = {w, x, row, pos};
			lfm2_parallel_for(args->pool, V, logit_range, &j);
		}
	}
	return 0;
}

/* XXH3-64 of fake_model_payload(); test_weights checks that it is right. */
#define FAKE_BLOB_HASH 0x4804ea9ebdc2b0d3ull

const lfm2_model_info fake_model = {
	.abi_version = LFM2_ABI_VERSION,
	.name = "fake test model",
	.vocab_size = V,
	.hidden = H,
	.n_layers = 4,
	.n_attn_layers = NATTN,
	.n_conv_layers = NCONV,
	.n_heads = 2,
	.n_kv_heads = 1,
	.head_dim = KVD,
	.ff = 16,
	.conv_L = L,
	.bos_id = 1,
	.eos_id = 7,
	.pad_id = 0,
	.max_position = 1000,
	.layer_is_attn = layer_is_attn,
	.blob_bytes = BLOB_BYTES,
	.blob_hash = FAKE_BLOB_HASH,
	.model_hash = 0x1234abcdull,
	.kv_floats_per_pos = NATTN * 2 * KVD,
	.conv_state_floats = NCONV * (L - 1) * H,
	.scratch_bytes = fake_scratch_bytes,
	.forward = fake_forward,
	.target = "c,test",
};

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

unsigned char *fake_model_blob(size_t *size)
{
	*size = LFM2_BLOB_HEADER + BLOB_BYTES;
	unsigned char *b = calloc(1, *size);
	if (!b)
		return NULL;
	float payload[N_FLOATS];
	fake_model_payload(payload);
	memcpy(b + LFM2_BLOB_HEADER, payload, sizeof payload);
	memcpy(b, LFM2_BLOB_MAGIC, 8);
	put_le(b + 8, LFM2_BLOB_VERSION, 4);
	put_le(b + 12, LFM2_BLOB_HEADER, 4);
	put_le(b + 16, BLOB_BYTES, 8);
	put_le(b + 24, XXH3_64bits(payload, sizeof payload), 8);
	return b;
}

int fake_model_write_blob(const char *path)
{
	size_t size;
	unsigned char *b = fake_model_blob(&size);
	FILE *f = b ? fopen(path, "wb") : NULL;
	int ok = f && fwrite(b, 1, size, f) == size;
	if (f && fclose(f) != 0)
		ok = 0;
	free(b);
	return ok ? 0 : -1;
}
