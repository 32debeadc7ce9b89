/*
 * lower.c — from the graph to the loop-level form: the model's structure.
 *
 * The module this builds reads like code a person wrote for this one
 * model, and both printers keep that shape:
 *
 *   constants   every size is a named constant (HIDDEN, FF, ...), every
 *               global weight's blob offset too (W_EMBED_TOKENS);
 *   tables      per layer kind, a struct of weight offsets and an array
 *               of them, one row per layer (CONV_LAYERS, ATTN_LAYERS);
 *   kernels     one function per kernel and shape (lower_kernels.c);
 *   layers      one function per layer kind, conv_layer and attn_layer,
 *               whose body is the IR of that kind's first layer, node by
 *               node, one kernel call per node, shapes in comments;
 *   forward     checks its arguments, embeds the tokens, calls the layer
 *               functions in order, applies the head; scratch_bytes; and
 *               the exported lfm2_model_info that points at both.
 *
 * Values are per-token rows: a node of shape [T, a, b] is T rows of a*b
 * floats.  Each value a layer writes gets a region of the scratch arena
 * (its width x T floats); slices and reshapes are views (a pointer and a
 * row stride); bias adds and residual adds work in place.
 *
 * The tiles (codegen_plan, plan.c: derived from the machine model, then
 * the schedule's keys, each checked once) arrive in CodegenOptions; this
 * file only follows them.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_abi.h"
#include "lower.h"
#include "pack.h"
#include "formats.h"


static int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }

static int64_t row_width(Shape s)
{
	int64_t w = 1;
	for (int i = 1; i < s.ndim; i++)
		w *= s.d[i];
	return w;
}

/* ------------------------------------------------------------ dispatch
 * y[t][n] = sum_k x[t][k] * w[n][k]   for t < rows, n < N   (w: [N][K]),
 * entry matmul_NxK(c, y, ldy, x, w, rows): float formats are built by
 * lower_gemm.c (weights packed in panels), block formats by
 * lower_qmatmul.c. */
static LF kernel_matmul(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi)
{
	if (quant_is_blocked(wt))
		return kernel_qmatmul(L, wt, N, K, epi);
	if (wt != DT_F32 && wt != DT_F16 && wt != DT_BF16) {
		lfm_error(L->err, NULL, "lowering: no matmul kernel for %s weights", dtype_name(wt));
		return 0;
	}
	return gemm_matmul(L, wt, N, K, epi);
}

/* One stored row of a non-f32 weight to floats (the embedding lookup). */
static LF kernel_row_decoder(Lower *L, DType wt, int64_t K)
{
	return quant_is_blocked(wt) ? kernel_qdequant_row(L, wt, K) : kernel_dequant_row(L, wt, K);
}

/* ------------------------------------------------------------ ABI types
 * These mirror lfm2_abi.h field for field (C takes them from the header;
 * LLVM lays them out with the same natural alignment). */
static void declare_abi(Lower *L)
{
	LModule *m = L->m;
	L->s_pool = lm_struct(m, "lfm2_pool", NULL, 1);
	m->st[L->s_pool].opaque = 1;
	L->s_task_fn = lm_struct(m, "lfm2_task_fn", NULL, 1);
	m->st[L->s_task_fn].opaque = 1;

	LStr a = L->s_fwd_args = lm_struct(m, "lfm2_forward_args", NULL, 1);
	lm_field(m, a, "weights", lt_ptr(LK_I8, 1), NULL);
	lm_field(m, a, "kv", T_PF(), NULL);
	lm_field(m, a, "ctx", T_I32(), NULL);
	lm_field(m, a, "conv_state", T_PF(), NULL);
	lm_field(m, a, "scratch", lt_ptr(LK_VOID, 0), NULL);
	lm_field(m, a, "tokens", lt_ptr(LK_I32, 1), NULL);
	lm_field(m, a, "n_tokens", T_I32(), NULL);
	lm_field(m, a, "pos", T_I32(), NULL);
	lm_field(m, a, "logits", T_PF(), NULL);
	lm_field(m, a, "logits_rows", T_I32(), NULL);
	lm_field(m, a, "pool", lt_struct_ptr(L->s_pool, 0), NULL);

	LStr s = L->s_info = lm_struct(m, "lfm2_model_info", NULL, 1);
	lm_field(m, s, "abi_version", lt_scalar(LK_U32), NULL);
	lm_field(m, s, "name", lt_ptr(LK_I8, 1), NULL);
	static const char *const ints[] = {"vocab_size", "hidden", "n_layers", "n_attn_layers",
	                                   "n_conv_layers", "n_heads", "n_kv_heads", "head_dim", "ff",
	                                   "conv_L", "bos_id", "eos_id", "pad_id", "max_position"};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		lm_field(m, s, ints[i], T_I32(), NULL);
	lm_field(m, s, "layer_is_attn", lt_ptr(LK_U8, 1), NULL);
	static const char *const u64s[] = {"blob_bytes", "blob_hash", "model_hash", "kv_floats_per_pos",
	                                   "conv_state_floats"};
	for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++)
		lm_field(m, s, u64s[i], lt_scalar(LK_U64), NULL);
	lm_field(m, s, "scratch_bytes", lt_ptr(LK_VOID, 1), NULL);
	lm_field(m, s, "forward", lt_ptr(LK_VOID, 1), NULL);
	lm_field(m, s, "target", lt_ptr(LK_I8, 1), NULL);

	LStr c = L->s_call = lm_struct(m, "call", "Everything one forward call needs, passed to every layer.", 0);
	lm_field(m, c, "weights", lt_ptr(LK_I8, 1), "blob payload");
	lm_field(m, c, "arena", T_PF(), "scratch for the layer values");
	lm_field(m, c, "rope_cos", T_CPF(), "[T][HEAD_DIM/2]");
	lm_field(m, c, "rope_sin", T_CPF(), "[T][HEAD_DIM/2]");
	lm_field(m, c, "T", T_I64(), "tokens in this call");
	lm_field(m, c, "pos", T_I64(), "position of the first");
	lm_field(m, c, "ctx", T_I32(), "KV capacity");
	lm_field(m, c, "pool", lt_struct_ptr(L->s_pool, 0), NULL);
	lm_field(m, c, "qx", lt_ptr(LK_U8, 0), "int8 activation rows of the block-format matmuls");
	lm_field(m, c, "wf", T_PF(), "per worker, WF_FLOATS: a 16-bit weight block in f32 (GEMMs)");
	lm_field(m, c, "kt", T_PF(), "the keys transposed for the tiled attention (calls of >= ATTN_TILE_MIN tokens)");

	LStr mm = L->s_mm_args = lm_struct(m, "matmul_args", "Arguments of a matmul task.", 0);
	lm_field(m, mm, "y", T_PF(), NULL);
	lm_field(m, mm, "ldy", T_I64(), NULL);
	lm_field(m, mm, "x", T_CPF(), NULL);
	lm_field(m, mm, "w", T_CPF(), NULL);
	lm_field(m, mm, "rows", T_I64(), NULL);
	lm_field(m, mm, "wf", T_PF(), NULL);

	if (L->cfg->n_attn_layers) {
		LStr at = L->s_attn_args = lm_struct(m, "attn_args", "Arguments of the attention task.", 0);
		lm_field(m, at, "y", T_PF(), NULL);
		lm_field(m, at, "q", T_CPF(), NULL);
		lm_field(m, at, "K", T_CPF(), NULL);
		lm_field(m, at, "V", T_CPF(), NULL);
		lm_field(m, at, "pos", T_I64(), NULL);
		lm_field(m, at, "T", T_I64(), "query rows (the tiled kernels)");
		lm_field(m, at, "kt", T_PF(), "transposed keys, [N_KV_HEADS][kt_blocks][HEAD_DIM][16] (tiled)");
		lm_field(m, at, "kt_blocks", T_I64(), "blocks of 16 positions per head in kt: ctx / 16 rounded up");
	}
}

/* ------------------------------------------------------------ names */

/* The per-layer field name of a layer weight: "model.layers.3.conv.in_proj.weight"
 * -> "in_proj"; "...conv.conv.bias" -> "conv_bias". */
static void field_name(const char *tensor, char *buf, size_t n)
{
	const char *p = tensor;
	if (!strncmp(p, "model.layers.", 13)) {
		p += 13;
		while (*p && *p != '.')
			p++;
		if (*p)
			p++;
	}
	static const char *const groups[] = {"feed_forward.", "self_attn.", "conv.", NULL};
	for (int i = 0; groups[i]; i++)
		if (!strncmp(p, groups[i], strlen(groups[i])) && strchr(p + strlen(groups[i]), '.')) {
			p += strlen(groups[i]);
			break;
		}
	size_t j = 0;
	for (; *p && j + 1 < n; p++) {
		if (!strcmp(p, ".weight"))
			break;
		buf[j++] = *p == '.' ? '_' : *p;
	}
	buf[j] = 0;
}

/* Global weights become constants: "model.embed_tokens.weight" -> W_EMBED_TOKENS. */
static void global_name(const char *tensor, char *buf, size_t n)
{
	char f[96];
	field_name(tensor, f, sizeof f);
	const char *p = !strncmp(f, "model_", 6) ? f + 6 : f;
	size_t j = (size_t)snprintf(buf, n, "W_");
	for (; *p && j + 1 < n; p++)
		buf[j++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	buf[j] = 0;
}

/* "[T,3072]" */
static const char *shape_str(Shape s, char *buf, size_t n)
{
	size_t j = (size_t)snprintf(buf, n, "[");
	for (int i = 0; i < s.ndim && j < n; i++) {
		if (s.d[i] == DIM_T)
			j += (size_t)snprintf(buf + j, n - j, "%sT", i ? "," : "");
		else if (s.d[i] == DIM_R)
			j += (size_t)snprintf(buf + j, n - j, "%sR", i ? "," : "");
		else
			j += (size_t)snprintf(buf + j, n - j, "%s%" PRId64, i ? "," : "", s.d[i]);
	}
	if (j < n)
		snprintf(buf + j, n - j, "]");
	return buf;
}

static int template_layer(const LfmConfig *c, LayerType kind)
{
	for (int i = 0; i < c->n_layers; i++)
		if (c->layer_type[i] == kind)
			return i;
	return -1;
}

static const char *kind_name(LayerType k) { return k == LAYER_ATTN ? "attn" : "conv"; }

static int layer_weights(const Graph *g, int l, int *idx, int cap)
{
	int n = 0;
	for (Ref r = 1; r < g->n_nodes; r++)
		if (g->nodes[r].layer == l && g->nodes[r].op == OP_WEIGHT && n < cap)
			idx[n++] = g->nodes[r].aux;
	return n;
}

/* ------------------------------------------------------------ constants */

static void define_i(Lower *L, const char *name, int64_t v, const char *comment)
{
	lm_define(L->m, name, le_i64(L->m, v), comment);
}

static void define_constants(Lower *L)
{
	LModule *m = L->m;
	const LfmConfig *c = L->cfg;
	define_i(L, "VOCAB", c->vocab_size, NULL);
	define_i(L, "HIDDEN", c->hidden, NULL);
	define_i(L, "N_LAYERS", c->n_layers, NULL);
	define_i(L, "N_CONV", c->n_conv_layers, NULL);
	define_i(L, "N_ATTN", c->n_attn_layers, NULL);
	define_i(L, "N_HEADS", c->n_heads, NULL);
	define_i(L, "N_KV_HEADS", c->n_kv_heads, NULL);
	define_i(L, "HEAD_DIM", c->head_dim, NULL);
	define_i(L, "KV_DIM", (int64_t)c->n_kv_heads * c->head_dim, "N_KV_HEADS * HEAD_DIM");
	define_i(L, "FF", c->ff, NULL);
	define_i(L, "CONV_L", c->conv_L, NULL);
	lm_define(m, "NORM_EPS", le_f64(m, c->norm_eps), NULL);
	lm_define(m, "ATTN_SCALE", le_f32(m, 1.0 / sqrt((double)c->head_dim)), "1/sqrt(HEAD_DIM)");
	LE bb = le_int(m, LK_U64, (int64_t)L->g->blob_bytes);
	lm_define(m, "BLOB_BYTES", bb, "weights payload");
	for (int i = 0; i < L->g->n_weights; i++) {
		const Weight *w = &L->g->weights[i];
		if (!strncmp(w->name, "model.layers.", 13))
			continue;
		char name[96], sh[64];
		global_name(w->name, name, sizeof name);
		define_i(L, name, (int64_t)w->offset,
		         lm_fmt(m, "%s %s %s", w->name, shape_str(w->shape, sh, sizeof sh), dtype_name(w->dtype)));
	}
}

/* A copy of a named constant typed for a field of another integer type. */
static LE named_as(Lower *L, const char *name, LKind k)
{
	LE e = le_named(L->m, name);
	L->m->e[e].type = lt_scalar(k);
	return e;
}

static void define_tables(Lower *L)
{
	LModule *m = L->m;
	const LfmConfig *c = L->cfg;
	const Graph *g = L->g;
	if (c->n_attn_layers) {
		LE items[256];
		int half = c->head_dim / 2;
		for (int i = 0; i < half && i < 256; i++)
			items[i] = le_f64(m, pow(c->rope_theta, -2.0 * (double)i / (double)c->head_dim));
		LE init = le_agg(m, T_F64(), items, half, NULL);
		lm_global(m, "ROPE_INV_FREQ", T_F64(), half, init, 0,
		          lm_fmt(m, "RoPE (NeoX): inv_freq[i] = theta^(-2i/HEAD_DIM), theta = %g", c->rope_theta));
	}
	for (int kind = 0; kind < 2; kind++) {
		int l0 = template_layer(c, (LayerType)kind);
		if (l0 < 0)
			continue;
		int idx[32], n = layer_weights(g, l0, idx, 32);
		LStr s = lm_struct(m, lm_fmt(m, "%s_weights", kind_name((LayerType)kind)),
		                   "Byte offsets of one layer's weights in the blob payload.", 0);
		L->s_layer_w[kind] = s;
		for (int j = 0; j < n; j++) {
			char f[96], sh[64];
			field_name(g->weights[idx[j]].name, f, sizeof f);
			lm_field(m, s, f, T_I64(), shape_str(g->weights[idx[j]].shape, sh, sizeof sh));
		}
		LE rows[LFM_MAX_LAYERS];
		int nrows = 0;
		for (int l = 0; l < c->n_layers; l++) {
			if (c->layer_type[l] != (LayerType)kind)
				continue;
			int li[32], k = layer_weights(g, l, li, 32);
			LE vals[32];
			for (int j = 0; j < k; j++)
				vals[j] = I(L, (int64_t)g->weights[li[j]].offset);
			rows[nrows++] = le_agg(m, lt_struct(s), vals, k, lm_fmt(m, "layer %d", l));
		}
		LE init = le_agg(m, lt_struct(s), rows, nrows, NULL);
		lm_global(m, kind == LAYER_ATTN ? "ATTN_LAYERS" : "CONV_LAYERS", lt_struct(s), nrows, init, 0, NULL);
	}
	LE flags[LFM_MAX_LAYERS];
	for (int l = 0; l < c->n_layers; l++)
		flags[l] = le_int(m, LK_U8, c->layer_type[l] == LAYER_ATTN);
	lm_global(m, "LAYER_IS_ATTN", lt_scalar(LK_U8), c->n_layers,
	          le_agg(m, lt_scalar(LK_U8), flags, c->n_layers, NULL), 0, NULL);
}

/* ------------------------------------------------------------ layers */

typedef struct Val {
	LE ptr;
	int64_t ld, width;
	int residual;   /* the residual stream h: ADD into it works in place */
	int ready;
} Val;

typedef struct LayerCtx {
	Lower *L;
	Val *val;
	LV c, w, state, h, T;
	int64_t arena_off;   /* per-token floats used so far */
	int failed;
} LayerCtx;

static int layer_fail(LayerCtx *x, Ref r, const char *why)
{
	if (!x->failed)
		lfm_error(x->L->err, NULL, "lowering: node %%%d (%s): %s", r, op_name(x->L->g->nodes[r].op), why);
	x->failed = 1;
	return -1;
}

/* A fresh arena region for node r: float *name = c->arena + T * off. */
static void new_buffer(LayerCtx *x, Ref r)
{
	Lower *L = x->L;
	LModule *m = L->m;
	const Node *nd = &L->g->nodes[r];
	Val *v = &x->val[r];
	v->width = v->ld = row_width(nd->shape);
	char sh[64];
	lb_comment(m, "%s %s", nd->name, shape_str(nd->shape, sh, sizeof sh));
	LE arena = le_field(m, V(L, x->c), "arena");
	LV p = lb_let(m, nd->name, T_PF(), le_at(m, arena, le_mul(m, V(L, x->T), I(L, x->arena_off))));
	v->ptr = V(L, p);
	v->ready = 1;
	x->arena_off += align16(v->width);
}

static LE call(Lower *L, LF f, const LE *args, int n) { return le_call(L->m, f, args, n); }

/* T rows of a (row stride a->ld) into dst (rows of a->width floats). */
static void copy_rows(LayerCtx *x, const Val *dst, const Val *a)
{
	Lower *L = x->L;
	LModule *m = L->m;
	LE bytes = I(L, a->width * 4);
	if (a->ld == a->width && dst->ld == a->width) {
		lb_memcpy(m, dst->ptr, a->ptr, le_mul(m, V(L, x->T), bytes));
		return;
	}
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), V(L, x->T), 1);
	lb_memcpy(m, le_at(m, dst->ptr, le_mul(m, V(L, t), I(L, dst->ld))), le_at(m, a->ptr, le_mul(m, V(L, t), I(L, a->ld))),
	          bytes);
	lb_end(m);
}

/* This call's keys or values into the cache at dst (rows of KV_DIM). */
static void store_kv_rows(LayerCtx *x, LE dst, const Val *a)
{
	Val d = {dst, a->width, a->width, 0, 1};
	copy_rows(x, &d, a);
}

static int lower_node(LayerCtx *x, Ref r)
{
	Lower *L = x->L;
	LModule *m = L->m;
	const Graph *g = L->g;
	const Node *nd = &g->nodes[r];
	Val *y = &x->val[r];
	Val *a = nd->in[0] ? &x->val[nd->in[0]] : NULL;
	Val *b = nd->in[1] ? &x->val[nd->in[1]] : NULL;
	Val *cc = nd->in[2] ? &x->val[nd->in[2]] : NULL;
	LE T = V(L, x->T);
	switch (nd->op) {
	case OP_WEIGHT: {
		char f[96];
		field_name(g->weights[nd->aux].name, f, sizeof f);
		LE args[2] = {V(L, x->c), le_field(m, V(L, x->w), f)};
		y->ptr = le_ptr_cast(m, call(L, L->f_W, args, 2), weight_ptr_type(g->weights[nd->aux].dtype));
		y->ready = 1;
		return 0;
	}
	case OP_RMSNORM_UNIT:
	case OP_RMSNORM: {
		int64_t n = nd->shape.d[nd->shape.ndim - 1];
		int weighted = nd->op == OP_RMSNORM;
		if (a->ld != a->width || !weighted) {   /* a slice of the qkv output, or no weight */
			new_buffer(x, r);
			LE args[5] = {y->ptr, a->ptr, I(L, a->ld), 0, 0};
			int n_args = 3;
			if (weighted)
				args[n_args++] = b->ptr;
			args[n_args++] = T;
			lb_eval(m, call(L, kernel_rmsnorm_rows(L, n, a->width / n, weighted), args, n_args));
			return 0;
		}
		new_buffer(x, r);
		LE rows = a->width == n ? T : le_mul(m, T, I(L, a->width / n));
		LE args[4] = {y->ptr, a->ptr, b->ptr, rows};
		lb_eval(m, call(L, kernel_rmsnorm(L, n), args, 4));
		return 0;
	}
	case OP_MATMUL: {
		Shape w = g->nodes[nd->in[1]].shape;
		if (a->ld != a->width)
			return layer_fail(x, r, "matmul of a strided value");
		new_buffer(x, r);
		LE args[6] = {V(L, x->c), y->ptr, I(L, w.d[0]), a->ptr, b->ptr, T};
		DType wt = g->weights[g->nodes[nd->in[1]].aux].dtype;
		LF k = kernel_matmul(L, wt, w.d[0], w.d[1], EPI_STORE);
		if (!k) {   /* no kernel for the format: its message is in err */
			x->failed = 1;
			return -1;
		}
		lb_eval(m, call(L, k, args, 6));
		return 0;
	}
	case OP_MATMUL_ACC:
	case OP_MATMUL_SWIGLU: {
		Shape w = g->nodes[nd->in[1]].shape;
		if (a->ld != a->width)
			return layer_fail(x, r, "matmul of a strided value");
		MatEpi epi = nd->op == OP_MATMUL_ACC ? EPI_ACC : EPI_SWIGLU;
		if (epi == EPI_ACC && cc->residual) {
			*y = *cc;   /* h += x W^T, in place */
			char f[96];
			field_name(g->weights[g->nodes[nd->in[1]].aux].name, f, sizeof f);
			lb_comment(m, "h += %s . %s^T (in the matmul's store)", g->nodes[nd->in[0]].name, f);
		} else {
			new_buffer(x, r);
			if (epi == EPI_ACC)
				copy_rows(x, y, cc);
		}
		LE args[6] = {V(L, x->c), y->ptr, I(L, y->ld), a->ptr, b->ptr, T};
		DType wt = g->weights[g->nodes[nd->in[1]].aux].dtype;
		LF k = kernel_matmul(L, wt, w.d[0], w.d[1], epi);
		if (!k) {   /* no kernel for the format: its message is in err */
			x->failed = 1;
			return -1;
		}
		lb_eval(m, call(L, k, args, 6));
		return 0;
	}
	case OP_CONV_CHAIN:
	case OP_CONV_CHAIN_B: {
		int bias = nd->op == OP_CONV_CHAIN_B;
		new_buffer(x, r);
		LE args[7] = {y->ptr, a->ptr, I(L, a->ld), b->ptr, 0, 0, 0};
		int n_args = 4;
		if (bias)
			args[n_args++] = cc->ptr;
		args[n_args++] = V(L, x->state);
		args[n_args++] = T;
		lb_eval(m, call(L, kernel_conv_chain(L, y->width, L->cfg->conv_L, bias), args, n_args));
		return 0;
	}
	case OP_NORM_ROPE: {
		new_buffer(x, r);
		LE args[7] = {y->ptr, a->ptr, I(L, a->ld), b->ptr, le_field(m, V(L, x->c), "rope_cos"),
		              le_field(m, V(L, x->c), "rope_sin"), T};
		lb_eval(m, call(L, kernel_norm_rope(L, nd->shape.d[1], nd->shape.d[2]), args, 7));
		return 0;
	}
	case OP_ADD_BIAS:
	case OP_CONV_BIAS: {
		*y = *a;   /* in place */
		LE args[7] = {a->ptr, I(L, a->ld), a->ptr, I(L, a->ld), b->ptr, I(L, 0), T};
		lb_eval(m, call(L, kernel_map(L, "add", a->width), args, 7));
		return 0;
	}
	case OP_SLICE:
		y->ptr = le_at(m, a->ptr, I(L, nd->aux));
		y->ld = a->ld;
		y->width = nd->aux2;
		y->ready = 1;
		return 0;
	case OP_RESHAPE:   /* same rows, same width: a view, strided or not */
		*y = *a;
		return 0;
	case OP_MUL:
	case OP_ADD: {
		if (nd->op == OP_ADD && a->residual) {
			*y = *a;   /* h += b */
			lb_comment(m, "h += %s", g->nodes[nd->in[1]].name);
		} else {
			new_buffer(x, r);
		}
		LE args[7] = {y->ptr, I(L, y->ld), a->ptr, I(L, a->ld), b->ptr, I(L, b->ld), T};
		lb_eval(m, call(L, kernel_map(L, nd->op == OP_MUL ? "mul" : "add", a->width), args, 7));
		return 0;
	}
	case OP_SILU: {
		new_buffer(x, r);
		LE args[5] = {y->ptr, I(L, y->ld), a->ptr, I(L, a->ld), T};
		lb_eval(m, call(L, kernel_map(L, "silu", a->width), args, 5));
		return 0;
	}
	case OP_SHORT_CONV: {
		if (a->ld != a->width)
			return layer_fail(x, r, "short conv of a strided value");
		new_buffer(x, r);
		LE args[5] = {y->ptr, a->ptr, b->ptr, V(L, x->state), T};
		lb_eval(m, call(L, kernel_short_conv(L, a->width, L->cfg->conv_L), args, 5));
		return 0;
	}
	case OP_ROPE: {
		if (a->ld != a->width)
			return layer_fail(x, r, "rope of a strided value");
		new_buffer(x, r);
		LE args[5] = {y->ptr, a->ptr, le_field(m, V(L, x->c), "rope_cos"), le_field(m, V(L, x->c), "rope_sin"), T};
		lb_eval(m, call(L, kernel_rope(L, nd->shape.d[1], nd->shape.d[2]), args, 5));
		return 0;
	}
	case OP_ATTENTION: {
		if (a->ld != a->width)
			return layer_fail(x, r, "attention of a strided query");
		new_buffer(x, r);
		LE pos = le_field(m, V(L, x->c), "pos");
		LE ctx = le_convert(m, le_field(m, V(L, x->c), "ctx"), T_I64());
		lb_comment(m, "append this call's keys and values at positions pos .. pos+T-1");
		LV K = lb_let(m, "K", T_PF(), V(L, x->state));
		LV Vc = lb_let(m, "Vc", T_PF(), le_at(m, V(L, x->state), le_mul(m, ctx, le_named(m, "KV_DIM"))));
		LE at = le_mul(m, pos, le_named(m, "KV_DIM"));
		store_kv_rows(x, le_at(m, V(L, K), at), b);
		store_kv_rows(x, le_at(m, V(L, Vc), at), cc);
		LE kt_blocks = le_div(m, le_add(m, ctx, I(L, ATTN_KB - 1)), I(L, ATTN_KB));
		LE fields[8] = {y->ptr, a->ptr, V(L, K), V(L, Vc), pos, T, le_field(m, V(L, x->c), "kt"), kt_blocks};
		LStr s = L->s_attn_args;
		LV at_args = lb_let(m, "at", lt_struct(s), le_agg(m, lt_struct(s), fields, 8, NULL));
		LE flops = le_mul(m, le_mul(m, le_mul(m, T, le_named(m, "N_HEADS")), le_add(m, pos, T)),
		                  I(L, (int64_t)L->cfg->head_dim * 4));
		lb_if(m, le_bin(m, LE_LE, I(L, ATTN_TILE_MIN), T));
		lb_comment(m, "prefill: keys transposed, then tiles of %d query rows", attn_tile_rows(L));
		LE nkb = le_div(m, le_add(m, le_add(m, pos, T), I(L, ATTN_KB - 1)), I(L, ATTN_KB));
		LE kt_items = le_mul(m, le_named(m, "N_KV_HEADS"), nkb);
		LE kargs[5] = {V(L, x->c), kt_items, le_mul(m, kt_items, I(L, ATTN_KB * L->cfg->head_dim)),
		               le_func(m, kernel_kt(L)), le_addr(m, at_args)};
		lb_eval(m, call(L, L->f_run, kargs, 5));
		LE tiles = le_mul(m, le_div(m, le_add(m, T, I(L, attn_tile_rows(L) - 1)), I(L, attn_tile_rows(L))),
		                  le_named(m, "N_KV_HEADS"));
		LE targs[5] = {V(L, x->c), tiles, flops, le_func(m, kernel_attention_tiled(L)), le_addr(m, at_args)};
		lb_eval(m, call(L, L->f_run, targs, 5));
		lb_else(m);
		LE items = le_mul(m, T, I(L, L->cfg->n_heads / attn_heads_per_item(L)));
		LE args[5] = {V(L, x->c), items, flops, le_func(m, kernel_attention(L)), le_addr(m, at_args)};
		lb_eval(m, call(L, L->f_run, args, 5));
		lb_end(m);
		return 0;
	}
	case OP_TOKENS:   /* the model's input, embedding, head and output: forward's, not a layer's */
	case OP_EMBED:
	case OP_LAST_ROWS:
	case OP_OUTPUT:
	case OP_COUNT:
		break;
	}
	return layer_fail(x, r, "op not supported inside a layer");
}

/* One function per layer kind; its body is the template layer's nodes.
 * Returns the per-token arena floats it uses, or -1. */
static int64_t lower_layer_function(Lower *L, LayerType kind)
{
	LModule *m = L->m;
	const Graph *g = L->g;
	int l0 = template_layer(L->cfg, kind);
	if (l0 < 0)
		return 0;
	LayerCtx x = {L, calloc((size_t)g->n_nodes, sizeof(Val)), 0, 0, 0, 0, 0, 0, 0};
	if (!x.val) {
		lfm_error(L->err, NULL, "lowering: out of memory");
		return -1;
	}
	const char *comment = kind == LAYER_ATTN
		? "attention layer: h [T,HIDDEN] += out_proj(GQA attention(RoPE(norm(q)), RoPE(norm(k)), v));\n"
		  "h += w2(silu(w1 g) * w3 g).  kv: this layer's K then V block, [ctx][KV_DIM] each."
		: "conv layer: h [T,HIDDEN] += out_proj(C * causal_conv(B * x)); h += w2(silu(w1 g) * w3 g).\n"
		  "state: the last CONV_L-1 rows of B*x, [CONV_L-1][HIDDEN].";
	LF f = lm_func(m, kind == LAYER_ATTN ? "attn_layer" : "conv_layer", lt_scalar(LK_VOID), LL_STATIC, comment);
	x.c = lm_param(m, f, "c", lt_struct_ptr(L->s_call, 1));
	x.w = lm_param(m, f, "w", lt_struct_ptr(L->s_layer_w[kind], 1));
	x.state = lm_param(m, f, kind == LAYER_ATTN ? "kv" : "state", T_PF());
	x.h = lm_param(m, f, "h", T_PF());
	lb_begin(m, f);
	x.T = lb_let(m, "T", T_I64(), le_field(m, V(L, x.c), "T"));
	int rc = 0;
	for (Ref r = 1; r < g->n_nodes && !rc; r++) {
		const Node *nd = &g->nodes[r];
		if (nd->layer != l0)
			continue;
		for (int i = 0; i < op_arity(nd->op); i++) {
			Ref in = nd->in[i];
			if (g->nodes[in].layer != l0 && g->nodes[in].op != OP_WEIGHT) {
				/* the residual stream entering the layer */
				Val *v = &x.val[in];
				v->ptr = V(L, x.h);
				v->width = v->ld = L->cfg->hidden;
				v->residual = 1;
				v->ready = 1;
			}
		}
		rc = lower_node(&x, r);
	}
	lb_finish(m);
	free(x.val);
	return rc ? -1 : x.arena_off;
}

/* ------------------------------------------------------------ forward */

static void lower_scratch_bytes(Lower *L)
{
	LModule *m = L->m;
	LF f = lm_func(m, "scratch_bytes", lt_scalar(LK_U64), LL_STATIC,
	               "Scratch one forward call needs: the arena for up to max_tokens tokens\n"
	               "(the keys transposed for the tiled attention when max_tokens >= ATTN_TILE_MIN, and\n"
	               "each thread's f32 weight block when the GEMMs convert 16-bit weights).");
	LV mt = lm_param(m, f, "max_tokens", T_I32());
	LV ctxp = lm_param(m, f, "ctx", T_I32());
	LV nt = lm_param(m, f, "n_threads", T_I32());
	lb_begin(m, f);
	LE n = le_convert(m, le_bin(m, LE_MAX, V(L, mt), le_int(m, LK_I32, 1)), T_I64());
	LE bytes = le_add(m, le_mul(m, le_mul(m, n, le_named(m, "ARENA_FLOATS_PER_TOKEN")), I(L, 4)), I(L, 64));
	if (L->cfg->n_attn_layers) {   /* the tiled attention's transposed keys, when a call can be that long */
		LE blocks = le_div(m, le_add(m, le_convert(m, V(L, ctxp), T_I64()), I(L, ATTN_KB - 1)), I(L, ATTN_KB));
		LE kt = le_mul(m, blocks, I(L, 4 * ATTN_KB * (int64_t)L->cfg->n_kv_heads * L->cfg->head_dim));
		bytes = le_add(m, bytes, le_select(m, le_bin(m, LE_LE, I(L, ATTN_TILE_MIN), n), kt, I(L, 0)));
	}
	if (L->wf_floats) {   /* after the arena: each worker's f32 weight block */
		LE workers = le_convert(m, le_bin(m, LE_MAX, V(L, nt), le_int(m, LK_I32, 1)), T_I64());
		bytes = le_add(m, bytes, le_mul(m, workers, I(L, 4 * L->wf_floats)));
	}
	lb_return(m, le_convert(m, bytes, lt_scalar(LK_U64)));
	lb_finish(m);
}

/* The embedding's weight (what EMBED gathers rows of). */
static const Weight *embed_weight(const Graph *g)
{
	for (Ref r = 1; r < g->n_nodes; r++)
		if (g->nodes[r].op == OP_EMBED)
			return &g->weights[g->nodes[g->nodes[r].in[1]].aux];
	return NULL;
}

/* h[t] = row tokens[t] of the embedding, for t < T: an f32 row is copied,
 * a row of any other format decoded by its row kernel (kernel_dequant_row).
 * Rows are whole and consecutive in the blob (quant_bytes_per_row bytes
 * each), so a token's row starts at token * EMBED_ROW_BYTES.  Returns 0, or
 * -1 with err set (no decoder for the format). */
static int lower_embedding(Lower *L, LE cp, LE h, LE T, LE tokens)
{
	LModule *m = L->m;
	const Weight *w = embed_weight(L->g);
	if (!w)
		return lfm_error(L->err, NULL, "lowering: the graph has no embedding lookup");
	DType wt = w->dtype;
	int64_t H = L->cfg->hidden;
	int64_t rb = quant_bytes_per_row(wt, H);
	LF dec = 0;
	if (wt != DT_F32 && (rb < 0 || !(dec = kernel_row_decoder(L, wt, H))))
		return rb < 0 ? lfm_error(L->err, NULL, "lowering: embedding rows of %lld cannot be %s", (long long)H,
		                          dtype_name(wt))
		              : -1;
	lm_define(m, "EMBED_ROW_BYTES", le_i64(m, rb), lm_fmt(m, "one %s row of the embedding", dtype_name(wt)));
	lb_comment(m, "h = embed_tokens[tokens]%s", wt == DT_F32 ? "" : lm_fmt(m, " (rows decoded from %s)", dtype_name(wt)));
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), T, 1);
	LE tok = le_convert(m, le_load(m, le_at(m, tokens, V(L, t)), 1), T_I64());
	LE Wargs[2] = {cp, le_named(m, "W_EMBED_TOKENS")};
	LE bytes = le_ptr_cast(m, call(L, L->f_W, Wargs, 2), lt_ptr(LK_I8, 1));
	LE src = le_at(m, bytes, le_mul(m, tok, le_named(m, "EMBED_ROW_BYTES")));
	LE dst = le_at(m, h, le_mul(m, V(L, t), le_named(m, "HIDDEN")));
	if (pack_weight_layout(L->g, (int)(w - L->g->weights)) == PACK_PANELS) {
		LE args[3] = {dst, call(L, L->f_W, Wargs, 2), tok};
		LF rowf = quant_is_blocked(wt) ? kernel_qpanel_row(L, wt, ir_weight_rows(w), H)
		                               : kernel_weight_row(L, wt, ir_weight_rows(w), H);
		if (!rowf)
			return -1;
		lb_eval(m, call(L, rowf, args, 3));
	} else if (wt == DT_F32) {
		lb_memcpy(m, dst, src, le_named(m, "EMBED_ROW_BYTES"));
	} else {
		LE args[2] = {dst, src};
		lb_eval(m, call(L, dec, args, 2));
	}
	lb_end(m);
	return 0;
}

/* The call's KV capacity (forward's args a->ctx) as an i64. */
static LE ctx_i64(Lower *L, LE A) { return le_convert(L->m, le_field(L->m, A, "ctx"), T_I64()); }

static LF lower_forward(Lower *L, int64_t rope_off, int64_t base_off)
{
	LModule *m = L->m;
	const LfmConfig *c = L->cfg;
	const Graph *g = L->g;
	const Node *head = &g->nodes[g->nodes[g->output].in[0]];   /* logits matmul */
	char head_w[96];
	global_name(g->weights[g->nodes[head->in[1]].aux].name, head_w, sizeof head_w);

	LF f = lm_func(m, "forward", T_I32(), LL_STATIC,
	               "One forward call (lfm2_abi.h): tokens at positions pos.., logits of the last R rows.");
	LV a = lm_param(m, f, "a", lt_struct_ptr(L->s_fwd_args, 1));
	lb_begin(m, f);
	LE A = V(L, a);
	LV T = lb_let(m, "T", T_I64(), le_convert(m, le_field(m, A, "n_tokens"), T_I64()));
	LV R = lb_let(m, "R", T_I64(), le_convert(m, le_field(m, A, "logits_rows"), T_I64()));
	LV pos = lb_let(m, "pos", T_I64(), le_convert(m, le_field(m, A, "pos"), T_I64()));
	LE ctx = le_convert(m, le_field(m, A, "ctx"), T_I64());
	/* argument checks */
	LE bad = le_bin(m, LE_LT, V(L, T), I(L, 1));
	LE r_bad = le_bin(m, LE_AND, le_bin(m, LE_NE, V(L, R), I(L, 0)),
	                 le_bin(m, LE_AND, le_bin(m, LE_NE, V(L, R), I(L, 1)), le_bin(m, LE_NE, V(L, R), V(L, T))));
	lb_if(m, bad);
	lb_return(m, le_int(m, LK_I32, -1));
	lb_end(m);
	lb_if(m, le_bin(m, LE_LT, V(L, pos), I(L, 0)));
	lb_return(m, le_int(m, LK_I32, -1));
	lb_end(m);
	lb_if(m, le_bin(m, LE_LT, ctx, le_add(m, V(L, pos), V(L, T))));
	lb_return(m, le_int(m, LK_I32, -1));
	lb_end(m);
	lb_if(m, r_bad);
	lb_return(m, le_int(m, LK_I32, -1));
	lb_end(m);
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), V(L, T), 1);
	LV tok = lb_let(m, "tok", T_I64(), le_convert(m, le_load(m, le_at(m, le_field(m, A, "tokens"), V(L, t)), 1), T_I64()));
	lb_if(m, le_bin(m, LE_OR, le_bin(m, LE_LT, V(L, tok), I(L, 0)), le_bin(m, LE_LE, le_named(m, "VOCAB"), V(L, tok))));
	lb_return(m, le_int(m, LK_I32, -1));
	lb_end(m);
	lb_end(m);

	/* the call context */
	LE arena0 = le_ptr_cast(m, le_field(m, A, "scratch"), T_PF());
	LV h = lb_let(m, "h", T_PF(), arena0);
	lb_comment(m, "h [T,HIDDEN]: the residual stream");
	LE rope_cos = le_ptr_cast(m, le_at(m, V(L, h), I(L, 0)), T_CPF()), rope_sin = rope_cos;
	if (c->n_attn_layers) {
		LV rope = lb_let(m, "rope", T_PF(), le_at(m, V(L, h), le_mul(m, V(L, T), I(L, rope_off))));
		LV sn = lb_let(m, "rope_sin", T_PF(), le_at(m, V(L, rope), le_mul(m, V(L, T), I(L, c->head_dim / 2))));
		lb_comment(m, "RoPE tables of this call's positions: angle = (pos + t) * inv_freq[i], in double");
		LV t2 = lm_local(m, "t", T_I64());
		lb_for(m, t2, I(L, 0), V(L, T), 1);
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, 0), I(L, c->head_dim / 2), 1);
		LE inv = le_load(m, le_at(m, le_global(m, lm_find_global(m, "ROPE_INV_FREQ")), V(L, i)), 1);
		LV ang = lb_let(m, "angle", T_F64(), le_mul(m, le_convert(m, le_add(m, V(L, pos), V(L, t2)), T_F64()), inv));
		LE at = le_add(m, le_mul(m, V(L, t2), I(L, c->head_dim / 2)), V(L, i));
		lb_store(m, le_at(m, V(L, rope), at), le_convert(m, le_math(m, LE_COS, V(L, ang)), T_F32()));
		lb_store(m, le_at(m, V(L, sn), at), le_convert(m, le_math(m, LE_SIN, V(L, ang)), T_F32()));
		lb_end(m);
		lb_end(m);
		rope_cos = V(L, rope);
		rope_sin = V(L, sn);
	}
	int64_t qx_off = base_off - align16(qmatmul_scratch_floats(g));   /* just below the layer values */
	LE fields[11] = {
		le_field(m, A, "weights"),
		le_at(m, V(L, h), le_mul(m, V(L, T), I(L, base_off))),
		rope_cos, rope_sin, V(L, T), V(L, pos), le_field(m, A, "ctx"), le_field(m, A, "pool"),
		le_ptr_cast(m, le_at(m, V(L, h), le_mul(m, V(L, T), I(L, qx_off))), lt_ptr(LK_U8, 0)),
	};
	/* after the arena: the transposed keys (calls of >= ATTN_TILE_MIN
	 * tokens), then each worker's f32 weight block */
	LV arena_end = lb_let(m, "arena_end", T_PF(), le_at(m, V(L, h), le_mul(m, V(L, T), le_named(m, "ARENA_FLOATS_PER_TOKEN"))));
	LE kt_floats = I(L, 0);
	if (c->n_attn_layers) {
		LE blocks = le_div(m, le_add(m, ctx_i64(L, A), I(L, ATTN_KB - 1)), I(L, ATTN_KB));
		kt_floats = le_select(m, le_bin(m, LE_LE, I(L, ATTN_TILE_MIN), V(L, T)),
		                      le_mul(m, blocks, I(L, ATTN_KB * (int64_t)c->n_kv_heads * c->head_dim)), I(L, 0));
	}
	fields[9] = L->wf_floats ? le_at(m, V(L, arena_end), kt_floats) : V(L, h);   /* unused without 16-bit GEMMs */
	fields[10] = V(L, arena_end);
	LV call_v = lb_let(m, "call", lt_struct(L->s_call), le_agg(m, lt_struct(L->s_call), fields, 11, NULL));
	LE cp = le_addr(m, call_v);

	if (lower_embedding(L, cp, V(L, h), V(L, T), le_field(m, A, "tokens")))
		return 0;

	LG conv_tab = lm_find_global(m, "CONV_LAYERS"), attn_tab = lm_find_global(m, "ATTN_LAYERS");
	LF conv_f = lm_find_func(m, "conv_layer"), attn_f = lm_find_func(m, "attn_layer");
	int ci = 0, ai = 0;
	for (int l = 0; l < c->n_layers; l++) {
		if (c->layer_type[l] == LAYER_ATTN) {
			LE kv = le_at(m, le_field(m, A, "kv"), le_mul(m, I(L, (int64_t)ai * 2), le_mul(m, ctx, le_named(m, "KV_DIM"))));
			LE args[4] = {cp, le_at(m, le_global(m, attn_tab), I(L, ai)), kv, V(L, h)};
			lb_comment(m, "layer %d", l);
			lb_eval(m, call(L, attn_f, args, 4));
			ai++;
		} else {
			LE st = le_at(m, le_field(m, A, "conv_state"),
			              le_mul(m, I(L, ci), le_mul(m, le_sub(m, le_named(m, "CONV_L"), I(L, 1)), le_named(m, "HIDDEN"))));
			LE args[4] = {cp, le_at(m, le_global(m, conv_tab), I(L, ci)), st, V(L, h)};
			lb_comment(m, "layer %d", l);
			lb_eval(m, call(L, conv_f, args, 4));
			ci++;
		}
	}
	lb_if(m, le_bin(m, LE_EQ, V(L, R), I(L, 0)));
	lb_return(m, le_int(m, LK_I32, 0));
	lb_end(m);
	lb_comment(m, "logits [R,VOCAB] = rmsnorm(last R rows of h, embedding_norm) . %s^T", head_w);
	LV fin = lb_let(m, "fin", T_PF(), le_field(m, cp, "arena"));
	LE last = le_at(m, V(L, h), le_mul(m, le_sub(m, V(L, T), V(L, R)), le_named(m, "HIDDEN")));
	if (g->nodes[head->in[0]].op == OP_RMSNORM_UNIT) {   /* embedding_norm folded into lm_head */
		LE norm[4] = {V(L, fin), last, I(L, c->hidden), V(L, R)};
		lb_eval(m, call(L, kernel_rmsnorm_rows(L, c->hidden, 1, 0), norm, 4));
	} else {
		LE nargs[2] = {cp, le_named(m, "W_EMBEDDING_NORM")};
		LE norm[4] = {V(L, fin), last, le_ptr_cast(m, call(L, L->f_W, nargs, 2), T_CPF()), V(L, R)};
		lb_eval(m, call(L, kernel_rmsnorm(L, c->hidden), norm, 4));
	}
	DType head_wt = g->weights[g->nodes[head->in[1]].aux].dtype;
	LE hargs[2] = {cp, le_named(m, head_w)};
	LE hw = le_ptr_cast(m, call(L, L->f_W, hargs, 2), weight_ptr_type(head_wt));
	LE mm[6] = {cp, le_field(m, A, "logits"), le_named(m, "VOCAB"), V(L, fin), hw, V(L, R)};
	LF head_mm = kernel_matmul(L, head_wt, c->vocab_size, c->hidden, EPI_STORE);
	if (!head_mm)
		return 0;   /* no kernel for the head's format: err says so */
	lb_eval(m, call(L, head_mm, mm, 6));
	lb_return(m, le_int(m, LK_I32, 0));
	lb_finish(m);
	return f;
}

/* ---------------------------------------------------------- model info */

static void lower_info(Lower *L, LF forward, LF scratch, const Checkpoint *ck, uint64_t blob_hash,
                       const CodegenOptions *o)
{
	LModule *m = L->m;
	const LfmConfig *c = L->cfg;
	LStr s = L->s_info;
	LE v[32];
	int n = 0;
	v[n++] = le_int(m, LK_U32, LFM2_ABI_VERSION);
	v[n++] = le_str(m, lm_fmt(m, "lfm2 %dL h%d v%d (%d conv, %d attn)", c->n_layers, c->hidden,
	                          c->vocab_size, c->n_conv_layers, c->n_attn_layers));
	static const char *const named[] = {"VOCAB", "HIDDEN", "N_LAYERS", "N_ATTN", "N_CONV",
	                                    "N_HEADS", "N_KV_HEADS", "HEAD_DIM", "FF", "CONV_L"};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
		v[n++] = named_as(L, named[i], LK_I32);
	v[n++] = le_int(m, LK_I32, c->bos_id);
	v[n++] = le_int(m, LK_I32, c->eos_id);
	v[n++] = le_int(m, LK_I32, c->pad_id);
	v[n++] = le_int(m, LK_I32, c->max_position_embeddings);
	v[n++] = le_global(m, lm_find_global(m, "LAYER_IS_ATTN"));
	v[n++] = named_as(L, "BLOB_BYTES", LK_U64);
	v[n++] = le_int(m, LK_U64, (int64_t)blob_hash);
	v[n++] = le_int(m, LK_U64, (int64_t)ck->model_hash);
	v[n++] = le_int(m, LK_U64, (int64_t)c->n_attn_layers * 2 * c->n_kv_heads * c->head_dim);
	v[n++] = le_int(m, LK_U64, (int64_t)c->n_conv_layers * (c->conv_L - 1) * c->hidden);
	v[n++] = le_func(m, scratch);
	v[n++] = le_func(m, forward);
	v[n++] = le_str(m, o->target_desc);
	if (n != m->st[s].nfields)
		abort();   /* the ABI mirror and this list disagree: a bug here */
	lm_global(m, o->symbol, lt_struct(s), 0, le_agg(m, lt_struct(s), v, n, NULL), 1,
	          "The model: sizes and entry points (lfm2_abi.h).");
}

/* ---------------------------------------------------------- entry */

/* "f16 (25 matrices), f32 (20: norms, conv taps, biases)": how many
 * weights are stored in each format, matrices and the rest apart. */
static const char *weight_formats(Lower *L)
{
	const Graph *g = L->g;
	char buf[512];
	size_t j = 0;
	buf[0] = 0;
	for (int t = 0; t < 32; t++) {   /* every DType value */
		int mats = 0, other = 0;
		for (int i = 0; i < g->n_weights; i++)
			if (g->weights[i].dtype == (DType)t)
				*(g->weights[i].shape.ndim == 2 ? &mats : &other) += 1;
		if (!mats && !other)
			continue;
		j += (size_t)snprintf(buf + j, sizeof buf - j, "%s%s (", j ? ", " : "", dtype_name((DType)t));
		if (mats)
			j += (size_t)snprintf(buf + j, sizeof buf - j, "%d matri%s", mats, mats == 1 ? "x" : "ces");
		if (other)
			j += (size_t)snprintf(buf + j, sizeof buf - j, "%s%d norm/conv/bias vector%s", mats ? ", " : "",
			                      other, other == 1 ? "" : "s");
		j += (size_t)snprintf(buf + j, sizeof buf - j, ")");
		if (j >= sizeof buf)
			break;
	}
	return lm_str(L->m, buf);
}

static const char *header_comment(Lower *L, const Checkpoint *ck, const CodegenOptions *o)
{
	const LfmConfig *c = L->cfg;
	const Tiling *s = &L->sch;
	/* "1x8 (single row)" names the decode tile of an older matmul; the
	 * decode tiles now are q_decode_rows and fm_gnr.  The line stays as it
	 * was so that restructuring the options changed no generated byte; it
	 * goes when the tiles are next re-derived. */
	return lm_fmt(L->m,
	              "LFM2 forward pass generated by lfm2c %s for this exact variant:\n"
	              "  vocab %d, hidden %d, %d layers (%d conv, %d attention),\n"
	              "  heads %d (kv %d) x %d, ff %d, conv L %d%s, %s embeddings.\n"
	              "Checkpoint model hash %016" PRIx64 ".\n"
	              "Target %s: f32 x %d vectors, matmul tiles %dx%d (rows) and 1x8 (single row).\n"
	              "Weights: %s,\nin the blob whose XXH3-64 is baked in below.\n"
	              "Do not edit: rerun `lfm2c compile`.",
	              o->version, c->vocab_size, c->hidden, c->n_layers, c->n_conv_layers, c->n_attn_layers,
	              c->n_heads, c->n_kv_heads, c->head_dim, c->ff, c->conv_L, c->conv_bias ? " with biases" : "",
	              c->tie_embeddings ? "tied" : "untied", ck->model_hash, o->target_desc, s->vw, s->q_mr,
	              s->q_nr, weight_formats(L));
}

LModule *lower_model(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                     const CodegenOptions *o, LfmError *err)
{
	LModule *m = lm_new();
	if (!m) {
		lfm_error(err, NULL, "lowering: out of memory");
		return NULL;
	}
	Lower L = {0};
	L.m = m;
	L.g = g;
	L.cfg = g->cfg;
	L.t = t;
	L.err = err;
	L.sch = o->tiling;
	const LfmConfig *c = g->cfg;
	m->comment = header_comment(&L, ck, o);
	static const char *const includes[] = {"lfm2_abi.h", "model.h", NULL};
	m->includes = includes;

	declare_abi(&L);
	define_constants(&L);
	define_tables(&L);
	kernel_helpers(&L);
	L.wf_floats = gemm_wf_floats(&L);
	if (L.wf_floats)
		define_i(&L, "WF_FLOATS", L.wf_floats, "per worker: one 16-bit weight block of a GEMM, in f32");
	int64_t conv = lower_layer_function(&L, LAYER_CONV);
	int64_t attn = conv < 0 ? -1 : lower_layer_function(&L, LAYER_ATTN);
	if (conv < 0 || attn < 0) {
		lm_free(m);
		return NULL;
	}
	/* arena (per token): h | rope cos,sin | int8 activations (qx) | layer values (the head's fin [R,H] too) */
	int64_t layer_floats = conv > attn ? conv : attn;
	if (layer_floats < align16(c->hidden))
		layer_floats = align16(c->hidden);
	int64_t rope_off = align16(c->hidden);
	int64_t base_off = rope_off + (c->n_attn_layers ? align16(c->head_dim) : 0) + align16(qmatmul_scratch_floats(g));
	define_i(&L, "ARENA_FLOATS_PER_TOKEN", base_off + layer_floats,
	         "residual h, RoPE tables, int8 activations, layer values");
	lower_scratch_bytes(&L);
	LF fwd = lower_forward(&L, rope_off, base_off);
	if (!fwd) {
		lm_free(m);
		return NULL;
	}
	lower_info(&L, fwd, lm_find_func(m, "scratch_bytes"), ck, blob_hash, o);
	char msg[512];
	if (lm_verify(m, msg, sizeof msg)) {
		lfm_error(err, NULL, "lowering: %s", msg);
		lm_free(m);
		return NULL;
	}
	return m;
}
