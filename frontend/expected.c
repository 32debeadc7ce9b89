/*
 * expected.c — the tensor list a resolved config implies (specs/lfm2.md §2).
 *
 * This is the single place that knows the Hugging Face tensor names and
 * PyTorch [out, in] shapes of Lfm2ForCausalLM: the checkpoint reader checks
 * the file against it, and the IR builder can walk it.  The conv kernel is
 * 3-D [H, 1, L] as stored (depthwise Conv1d); lm_head only exists when the
 * embeddings are untied; the three conv biases only with conv_bias.  The
 * list is returned in sorted-name (strcmp) order, the same order the
 * checkpoint's tensors and the model hash use.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

typedef struct List {
	ExpectedTensor *out;
	int cap, n;
	bool overflow;
} List;

static void add(List *l, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void add(List *l, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
{
	if (l->n >= l->cap) {
		l->overflow = true;
		return;
	}
	ExpectedTensor *t = &l->out[l->n++];
	memset(t, 0, sizeof *t);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->name, sizeof t->name, fmt, ap);
	va_end(ap);
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->shape[2] = d2;
}

static void add_layer(List *l, const LfmConfig *c, int i)
{
	int64_t H = c->hidden, F = c->ff, hd = c->head_dim;
	int64_t nq = (int64_t)c->n_heads * hd, nkv = (int64_t)c->n_kv_heads * hd;
	const char *p = "model.layers.";
	add(l, 1, H, 0, 0, "%s%d.operator_norm.weight", p, i);
	add(l, 1, H, 0, 0, "%s%d.ffn_norm.weight", p, i);
	add(l, 2, F, H, 0, "%s%d.feed_forward.w1.weight", p, i);
	add(l, 2, F, H, 0, "%s%d.feed_forward.w3.weight", p, i);
	add(l, 2, H, F, 0, "%s%d.feed_forward.w2.weight", p, i);
	if (c->layer_type[i] == LAYER_CONV) {
		add(l, 2, 3 * H, H, 0, "%s%d.conv.in_proj.weight", p, i);
		add(l, 3, H, 1, c->conv_L, "%s%d.conv.conv.weight", p, i);
		add(l, 2, H, H, 0, "%s%d.conv.out_proj.weight", p, i);
		if (c->conv_bias) {
			add(l, 1, 3 * H, 0, 0, "%s%d.conv.in_proj.bias", p, i);
			add(l, 1, H, 0, 0, "%s%d.conv.conv.bias", p, i);
			add(l, 1, H, 0, 0, "%s%d.conv.out_proj.bias", p, i);
		}
	} else {
		add(l, 2, nq, H, 0, "%s%d.self_attn.q_proj.weight", p, i);
		add(l, 2, nkv, H, 0, "%s%d.self_attn.k_proj.weight", p, i);
		add(l, 2, nkv, H, 0, "%s%d.self_attn.v_proj.weight", p, i);
		add(l, 2, H, nq, 0, "%s%d.self_attn.out_proj.weight", p, i);
		add(l, 1, hd, 0, 0, "%s%d.self_attn.q_layernorm.weight", p, i);
		add(l, 1, hd, 0, 0, "%s%d.self_attn.k_layernorm.weight", p, i);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const ExpectedTensor *)a)->name, ((const ExpectedTensor *)b)->name);
}

int lfm_expected_tensors(const LfmConfig *cfg, ExpectedTensor *out, int cap)
{
	List l = {out, cap, 0, false};
	add(&l, 2, cfg->vocab_size, cfg->hidden, 0, "model.embed_tokens.weight");
	add(&l, 1, cfg->hidden, 0, 0, "model.embedding_norm.weight");
	if (!cfg->tie_embeddings)
		add(&l, 2, cfg->vocab_size, cfg->hidden, 0, "lm_head.weight");
	for (int i = 0; i < cfg->n_layers && i < LFM_MAX_LAYERS; i++)
		add_layer(&l, cfg, i);
	if (l.overflow)
		return -1;
	qsort(out, (size_t)l.n, sizeof *out, by_name);
	return l.n;
}
