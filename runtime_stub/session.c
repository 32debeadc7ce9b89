/*
 * session.c — the state of one token sequence, and feeding tokens to the
 * generated forward().
 *
 * A session owns three buffers, sized once at creation: the KV cache (ctx
 * positions), the conv state, and forward()'s scratch (for max_chunk
 * tokens).  eval() validates everything first (context room, token ids), so
 * that it either runs completely or changes nothing, then walks the tokens
 * in chunks of at most max_chunk, asking each chunk for logits only where
 * the caller wants them: every row, or just the last row of the last chunk.
 *
 * Snapshots copy pos, the conv state and the used prefix of the KV cache.
 * The ABI fixes the KV layout — per attention layer a K block then a V
 * block, each [ctx][kv_dim] — so the prefix of each block is one memcpy,
 * and a snapshot taken at one ctx can be restored into a session with
 * another ctx.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

struct lfm2_session {
	const lfm2_model_info *model;
	const void *weights;
	lfm2_pool *pool;
	int32_t ctx, max_chunk, pos;
	int32_t kv_dim;          /* floats per position per K (or V) block */
	float *kv;
	float *conv;
	void *scratch;
};

#define SNAP_MAGIC "LFM2SNAP"
#define SNAP_VERSION 1u
#define SNAP_HEADER 64u

static int check_model(const lfm2_model_info *m, lfm2_err *err)
{
	if (!m)
		return rt_fail(err, "session: no model");
	if (m->abi_version != LFM2_ABI_VERSION)
		return rt_fail(err, "session: model compiled for ABI version %" PRIu32
		               ", this runtime implements %d", m->abi_version, LFM2_ABI_VERSION);
	if (m->vocab_size < 1 || m->n_attn_layers < 0 || !m->forward || !m->scratch_bytes)
		return rt_fail(err, "session: model info is incomplete");
	uint64_t per_layer = m->n_attn_layers ? m->kv_floats_per_pos / (2u * (uint64_t)m->n_attn_layers) : 0;
	if (per_layer * 2u * (uint64_t)m->n_attn_layers != m->kv_floats_per_pos || per_layer > INT32_MAX)
		return rt_fail(err, "session: model's kv_floats_per_pos %" PRIu64
		               " is not a multiple of 2 * %" PRId32 " attention layers",
		               m->kv_floats_per_pos, m->n_attn_layers);
	return 0;
}

static int alloc_floats(float **p, uint64_t n)
{
	if (n > (SIZE_MAX - 256) / sizeof(float))
		return -1;
	*p = rt_calloc_aligned(n ? (size_t)n * sizeof(float) : 1);
	return *p ? 0 : -1;
}

int lfm2_session_plan(const lfm2_model_info *model, int32_t ctx, int32_t max_chunk, int n_threads,
                      uint64_t *kv_bytes, uint64_t *scratch_bytes, lfm2_err *err)
{
	if (check_model(model, err) != 0)
		return -1;
	if (ctx < 1 || max_chunk < 1)
		return rt_fail(err, "session: ctx (%" PRId32 ") and max chunk (%" PRId32 ") must be >= 1", ctx, max_chunk);
	uint64_t per = model->kv_floats_per_pos * sizeof(float);
	if (per && (uint64_t)ctx > UINT64_MAX / per)
		return rt_fail(err, "session: a KV cache of %" PRId32 " positions overflows", ctx);
	*kv_bytes = (uint64_t)ctx * per;
	int32_t chunk = max_chunk < ctx ? max_chunk : ctx;
	*scratch_bytes = (uint64_t)model->scratch_bytes(chunk, ctx, n_threads > 0 ? n_threads : 1) +
	                 model->conv_state_floats * sizeof(float);
	return 0;
}

lfm2_session *lfm2_session_create(const lfm2_model_info *model, const lfm2_weights *weights,
                                  int32_t ctx, int32_t max_chunk, lfm2_pool *pool,
                                  lfm2_err *err)
{
	if (check_model(model, err) != 0)
		return NULL;
	if (!weights || lfm2_weights_bytes(weights) != model->blob_bytes) {
		rt_fail(err, "session: weights do not belong to model %s", model->name ? model->name : "?");
		return NULL;
	}
	if (ctx < 1 || max_chunk < 1) {
		rt_fail(err, "session: ctx (%" PRId32 ") and max chunk (%" PRId32 ") must be >= 1", ctx,
		        max_chunk);
		return NULL;
	}
	lfm2_session *s = calloc(1, sizeof *s);
	if (!s) {
		rt_fail(err, "session: out of memory");
		return NULL;
	}
	s->model = model;
	s->weights = lfm2_weights_data(weights);
	s->pool = pool;
	s->ctx = ctx;
	s->max_chunk = max_chunk < ctx ? max_chunk : ctx;
	s->kv_dim = model->n_attn_layers ? (int32_t)(model->kv_floats_per_pos / (2u * (uint64_t)model->n_attn_layers)) : 0;
	uint64_t kv_floats = (uint64_t)ctx * model->kv_floats_per_pos;
	if (model->kv_floats_per_pos && kv_floats / model->kv_floats_per_pos != (uint64_t)ctx)
		kv_floats = UINT64_MAX;
	size_t scratch = model->scratch_bytes(s->max_chunk, ctx, lfm2_pool_threads(pool));
	if (alloc_floats(&s->kv, kv_floats) != 0 || alloc_floats(&s->conv, model->conv_state_floats) != 0 ||
	    !(s->scratch = rt_calloc_aligned(scratch ? scratch : 1))) {
		rt_fail(err, "session: cannot allocate %.1f MiB of KV cache + %.1f MiB of scratch for ctx %" PRId32,
		        (double)kv_floats * sizeof(float) / (1 << 20), (double)scratch / (1 << 20), ctx);
		lfm2_session_free(s);
		return NULL;
	}
	return s;
}

void lfm2_session_free(lfm2_session *s)
{
	if (!s)
		return;
	rt_free_aligned(s->kv);
	rt_free_aligned(s->conv);
	rt_free_aligned(s->scratch);
	free(s);
}

int lfm2_session_eval(lfm2_session *s, const int32_t *tokens, int32_t n, float *logits,
                      int all_rows, lfm2_err *err)
{
	const lfm2_model_info *m = s->model;
	if (n < 0)
		return rt_fail(err, "eval: negative token count %" PRId32, n);
	if (n == 0)
		return 0;
	if (n > s->ctx - s->pos)
		return rt_fail(err, "eval: context full: %" PRId32 " tokens at position %" PRId32
		               " exceed ctx %" PRId32, n, s->pos, s->ctx);
	for (int32_t i = 0; i < n; i++)
		if (tokens[i] < 0 || tokens[i] >= m->vocab_size)
			return rt_fail(err, "eval: token %" PRId32 " (value %" PRId32
			               ") is out of range [0, %" PRId32 ")", i, tokens[i], m->vocab_size);
	for (int32_t done = 0; done < n;) {
		int32_t len = n - done < s->max_chunk ? n - done : s->max_chunk;
		int last = done + len == n;
		lfm2_forward_args a = {
			.weights = s->weights,
			.kv = s->kv,
			.ctx = s->ctx,
			.conv_state = s->conv,
			.scratch = s->scratch,
			.tokens = tokens + done,
			.n_tokens = len,
			.pos = s->pos,
			.logits = NULL,
			.logits_rows = 0,
			.pool = s->pool,
		};
		if (logits && all_rows) {
			a.logits = logits + (size_t)done * (size_t)m->vocab_size;
			a.logits_rows = len;
		} else if (logits && last) {
			a.logits = logits;
			a.logits_rows = 1;
		}
		if (m->forward(&a) != 0)
			return rt_fail(err, "eval: forward() rejected %" PRId32 " tokens at position %" PRId32
			               " (session state is now undefined; reset it)", len, s->pos);
		s->pos += len;
		done += len;
	}
	return 0;
}

void lfm2_session_reset(lfm2_session *s)
{
	s->pos = 0;
	memset(s->conv, 0, (size_t)s->model->conv_state_floats * sizeof(float));
}

int32_t lfm2_session_pos(const lfm2_session *s)
{
	return s->pos;
}

int32_t lfm2_session_ctx(const lfm2_session *s)
{
	return s->ctx;
}

const lfm2_model_info *lfm2_session_model(const lfm2_session *s)
{
	return s->model;
}

/* ------------------------------------------------------------- snapshots */

static size_t snapshot_bytes(const lfm2_model_info *m, int32_t pos)
{
	return SNAP_HEADER + (size_t)m->conv_state_floats * sizeof(float) +
	       (size_t)pos * (size_t)m->kv_floats_per_pos * sizeof(float);
}

/* Pointer to the K (which = 0) or V (which = 1) block of attention layer a. */
static float *kv_block(const lfm2_session *s, int32_t a, int which)
{
	return s->kv + ((size_t)2 * (size_t)a + (size_t)which) * (size_t)s->ctx * (size_t)s->kv_dim;
}

size_t lfm2_session_snapshot_size(const lfm2_session *s)
{
	return snapshot_bytes(s->model, s->pos);
}

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put_u64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

size_t lfm2_session_snapshot(const lfm2_session *s, void *buf, size_t size, lfm2_err *err)
{
	const lfm2_model_info *m = s->model;
	size_t need = lfm2_session_snapshot_size(s);
	if (size < need) {
		rt_fail(err, "snapshot: buffer of %zu bytes, need %zu", size, need);
		return 0;
	}
	unsigned char *p = buf;
	memset(p, 0, SNAP_HEADER);
	memcpy(p, SNAP_MAGIC, 8);
	put_u32(p + 8, SNAP_VERSION);
	put_u32(p + 12, SNAP_HEADER);
	put_u64(p + 16, m->blob_hash);
	put_u64(p + 24, m->model_hash);
	put_u64(p + 32, m->kv_floats_per_pos);
	put_u64(p + 40, m->conv_state_floats);
	put_u32(p + 48, (uint32_t)s->pos);
	p += SNAP_HEADER;
	size_t conv = (size_t)m->conv_state_floats * sizeof(float);
	memcpy(p, s->conv, conv);
	p += conv;
	size_t rows = (size_t)s->pos * (size_t)s->kv_dim * sizeof(float);
	for (int32_t a = 0; a < m->n_attn_layers; a++)
		for (int which = 0; which < 2; which++) {
			memcpy(p, kv_block(s, a, which), rows);
			p += rows;
		}
	return need;
}

int lfm2_session_restore(lfm2_session *s, const void *buf, size_t size, lfm2_err *err)
{
	const lfm2_model_info *m = s->model;
	const unsigned char *p = buf;
	if (!buf || size < SNAP_HEADER || memcmp(p, SNAP_MAGIC, 8) != 0)
		return rt_fail(err, "restore: not a session snapshot");
	if (get_u32(p + 8) != SNAP_VERSION || get_u32(p + 12) != SNAP_HEADER)
		return rt_fail(err, "restore: snapshot format version %" PRIu32 ", expected %u",
		               get_u32(p + 8), SNAP_VERSION);
	if (get_u64(p + 16) != m->blob_hash || get_u64(p + 24) != m->model_hash ||
	    get_u64(p + 32) != m->kv_floats_per_pos || get_u64(p + 40) != m->conv_state_floats)
		return rt_fail(err, "restore: snapshot is from another model (blob hash 0x%016" PRIx64
		               ", this model 0x%016" PRIx64 ")", get_u64(p + 16), m->blob_hash);
	uint32_t pos = get_u32(p + 48);
	if (pos > (uint32_t)s->ctx)
		return rt_fail(err, "restore: snapshot holds %" PRIu32 " positions, session ctx is %" PRId32,
		               pos, s->ctx);
	if (size != snapshot_bytes(m, (int32_t)pos))
		return rt_fail(err, "restore: snapshot is %zu bytes, expected %zu for %" PRIu32 " positions",
		               size, snapshot_bytes(m, (int32_t)pos), pos);
	p += SNAP_HEADER;
	size_t conv = (size_t)m->conv_state_floats * sizeof(float);
	memcpy(s->conv, p, conv);
	p += conv;
	size_t rows = (size_t)pos * (size_t)s->kv_dim * sizeof(float);
	for (int32_t a = 0; a < m->n_attn_layers; a++)
		for (int which = 0; which < 2; which++) {
			memcpy(kv_block(s, a, which), p, rows);
			p += rows;
		}
	s->pos = (int32_t)pos;
	return 0;
}
