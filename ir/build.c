/*
 * build.c — from a validated checkpoint to the graph of its exact variant.
 *
 * The forward pass of specs/lfm2.md §4, written once as graph construction:
 * embedding, then per layer an RMSNorm, the mixer (short conv or GQA
 * attention), a residual add, the SwiGLU MLP and another residual add, then
 * the final norm (model.embedding_norm) and the LM head on the last R rows.
 * Every node records its layer so backends can group them; weights are
 * created right before their first use.
 */
#include <string.h>

#include "ir.h"

typedef struct Builder {
	Graph *g;
	const Checkpoint *ck;
	LfmError *err;
	int layer;
	int failed;
} Builder;

static Ref named(Builder *b, Ref r, const char *name)
{
	Node *n = &b->g->nodes[r];
	snprintf(n->name, sizeof n->name, "%s", name);
	n->layer = b->layer;
	return r;
}

static Ref node(Builder *b, const char *name, Op op, Shape s, Ref x, Ref y, Ref z)
{
	return named(b, ir_node(b->g, op, s, x, y, z), name);
}

/* A weight by its checkpoint name; the frontend has already checked that
 * every expected tensor exists with the right shape. */
static Ref weight(Builder *b, const char *fmt, int layer)
{
	char name[96];
	snprintf(name, sizeof name, fmt, layer);
	const StTensor *t = lfm_checkpoint_find(b->ck, name);
	if (!t) {
		if (!b->failed)
			lfm_error(b->err, b->ck->dir, "missing tensor %s", name);
		b->failed = 1;
		return 0;
	}
	Ref r = ir_weight(b->g, name, t);
	b->g->nodes[r].layer = b->layer;
	return r;
}

static Ref rmsnorm(Builder *b, const char *name, Ref x, Ref w)
{
	Ref r = node(b, name, OP_RMSNORM, b->g->nodes[x].shape, x, w, 0);
	b->g->nodes[r].f = b->g->cfg->norm_eps;
	return r;
}

static Ref matmul(Builder *b, const char *name, Ref x, Ref w)
{
	Shape xs = b->g->nodes[x].shape, ws = b->g->nodes[w].shape;
	return node(b, name, OP_MATMUL, ir_shape2(xs.d[0], ws.d[0]), x, w, 0);
}

static Ref slice(Builder *b, const char *name, Ref x, int start, int len)
{
	Shape s = b->g->nodes[x].shape;
	s.d[s.ndim - 1] = len;
	Ref r = node(b, name, OP_SLICE, s, x, 0, 0);
	b->g->nodes[r].aux = start;
	b->g->nodes[r].aux2 = len;
	return r;
}

/* conv mixer: [B|C|x] = in_proj(u); z = B*x; c = causal_conv(z); y = out_proj(C*c) */
static Ref conv_mixer(Builder *b, Ref u, int i)
{
	const LfmConfig *c = b->g->cfg;
	int H = c->hidden;
	Ref bcx = matmul(b, "bcx", u, weight(b, "model.layers.%d.conv.in_proj.weight", i));
	if (c->conv_bias)
		bcx = node(b, "bcx_b", OP_ADD_BIAS, b->g->nodes[bcx].shape, bcx,
		           weight(b, "model.layers.%d.conv.in_proj.bias", i), 0);
	Ref B = slice(b, "B", bcx, 0, H);
	Ref C = slice(b, "C", bcx, H, H);
	Ref X = slice(b, "x", bcx, 2 * H, H);
	Ref z = node(b, "z", OP_MUL, ir_shape2(DIM_T, H), B, X, 0);
	Ref conv = node(b, "conv", OP_SHORT_CONV, ir_shape2(DIM_T, H), z,
	                weight(b, "model.layers.%d.conv.conv.weight", i), 0);
	b->g->nodes[conv].aux = b->g->n_conv_slots++;
	if (c->conv_bias)
		conv = node(b, "conv_b", OP_CONV_BIAS, ir_shape2(DIM_T, H), conv,
		            weight(b, "model.layers.%d.conv.conv.bias", i), 0);
	Ref gated = node(b, "gated", OP_MUL, ir_shape2(DIM_T, H), C, conv, 0);
	Ref y = matmul(b, "y", gated, weight(b, "model.layers.%d.conv.out_proj.weight", i));
	if (c->conv_bias)
		y = node(b, "y_b", OP_ADD_BIAS, ir_shape2(DIM_T, H), y,
		         weight(b, "model.layers.%d.conv.out_proj.bias", i), 0);
	return y;
}

/* attention mixer: q,k,v projections, per-head QK RMSNorm, NeoX RoPE,
 * causal GQA attention over the KV cache, output projection. */
static Ref attn_mixer(Builder *b, Ref u, int i)
{
	const LfmConfig *c = b->g->cfg;
	int nh = c->n_heads, nkv = c->n_kv_heads, hd = c->head_dim;
	Ref q = matmul(b, "q", u, weight(b, "model.layers.%d.self_attn.q_proj.weight", i));
	Ref k = matmul(b, "k", u, weight(b, "model.layers.%d.self_attn.k_proj.weight", i));
	Ref v = matmul(b, "v", u, weight(b, "model.layers.%d.self_attn.v_proj.weight", i));
	q = node(b, "q3", OP_RESHAPE, ir_shape3(DIM_T, nh, hd), q, 0, 0);
	k = node(b, "k3", OP_RESHAPE, ir_shape3(DIM_T, nkv, hd), k, 0, 0);
	v = node(b, "v3", OP_RESHAPE, ir_shape3(DIM_T, nkv, hd), v, 0, 0);
	q = rmsnorm(b, "qn", q, weight(b, "model.layers.%d.self_attn.q_layernorm.weight", i));
	k = rmsnorm(b, "kn", k, weight(b, "model.layers.%d.self_attn.k_layernorm.weight", i));
	q = node(b, "qr", OP_ROPE, ir_shape3(DIM_T, nh, hd), q, 0, 0);
	b->g->nodes[q].f = c->rope_theta;
	k = node(b, "kr", OP_ROPE, ir_shape3(DIM_T, nkv, hd), k, 0, 0);
	b->g->nodes[k].f = c->rope_theta;
	Ref a = node(b, "attn", OP_ATTENTION, ir_shape3(DIM_T, nh, hd), q, k, v);
	b->g->nodes[a].aux = b->g->n_attn_slots++;
	a = node(b, "attn2", OP_RESHAPE, ir_shape2(DIM_T, nh * hd), a, 0, 0);
	return matmul(b, "y", a, weight(b, "model.layers.%d.self_attn.out_proj.weight", i));
}

/* SwiGLU MLP: w2(silu(w1 g) * w3 g) */
static Ref mlp(Builder *b, Ref g, int i)
{
	const LfmConfig *c = b->g->cfg;
	Ref gate = matmul(b, "gate", g, weight(b, "model.layers.%d.feed_forward.w1.weight", i));
	Ref up = matmul(b, "up", g, weight(b, "model.layers.%d.feed_forward.w3.weight", i));
	Ref act = node(b, "act", OP_SILU, ir_shape2(DIM_T, c->ff), gate, 0, 0);
	Ref m = node(b, "swiglu", OP_MUL, ir_shape2(DIM_T, c->ff), act, up, 0);
	return matmul(b, "down", m, weight(b, "model.layers.%d.feed_forward.w2.weight", i));
}

int ir_build(Graph *g, const Checkpoint *ck, LfmError *err)
{
	memset(g, 0, sizeof *g);
	g->cfg = &ck->cfg;
	Builder b = {g, ck, err, -1, 0};
	const LfmConfig *c = &ck->cfg;
	int H = c->hidden;

	Ref tokens = node(&b, "tokens", OP_TOKENS, (Shape){1, {DIM_T}}, 0, 0, 0);
	Ref embed = weight(&b, "model.embed_tokens.weight", 0);
	Ref h = node(&b, "h", OP_EMBED, ir_shape2(DIM_T, H), tokens, embed, 0);

	for (int i = 0; i < c->n_layers && !b.failed; i++) {
		b.layer = i;
		Ref u = rmsnorm(&b, "u", h, weight(&b, "model.layers.%d.operator_norm.weight", i));
		Ref y = c->layer_type[i] == LAYER_ATTN ? attn_mixer(&b, u, i) : conv_mixer(&b, u, i);
		h = node(&b, "h_mix", OP_ADD, ir_shape2(DIM_T, H), h, y, 0);
		Ref gn = rmsnorm(&b, "g", h, weight(&b, "model.layers.%d.ffn_norm.weight", i));
		h = node(&b, "h_out", OP_ADD, ir_shape2(DIM_T, H), h, mlp(&b, gn, i), 0);
	}
	b.layer = -1;
	Ref last = node(&b, "last", OP_LAST_ROWS, ir_shape2(DIM_R, H), h, 0, 0);
	Ref fin = rmsnorm(&b, "final", last, weight(&b, "model.embedding_norm.weight", 0));
	Ref head = c->tie_embeddings ? embed : weight(&b, "lm_head.weight", 0);
	Ref logits = node(&b, "logits", OP_MATMUL, ir_shape2(DIM_R, c->vocab_size), fin, head, 0);
	g->output = node(&b, "out", OP_OUTPUT, ir_shape2(DIM_R, c->vocab_size), logits, 0, 0);
	if (b.failed) {
		ir_free(g);
		return -1;
	}
	return 0;
}
