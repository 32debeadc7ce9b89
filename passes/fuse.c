/*
 * fuse.c — the fusion passes.
 *
 * Each fusion is one row of the table fusions.h and one pass here,
 * pass_<name>, run by passes.c in the table's order and switched by the
 * schedule's ScheduleFusions (a schedule file's "fusions", `--fuse LIST`),
 * and each is a small graph rewrite written the same way:
 *
 *   match   look at one node and say whether it is the root of the pattern
 *           (a "site") and whether the site can be fused (use counts,
 *           formats);
 *   apply   rewrite one site: change the root's op in place, or insert the
 *           new nodes (ir_insert) and point the old value's users at them.
 *
 * run_fusion() finds every site, then keeps a site only if every site of
 * its class — the same layer kind and the same root node name — can be
 * fused: the code generator writes one function per layer kind from its
 * first layer, so all layers of a kind must keep one node sequence (a
 * per-layer format override that makes q and k differ in one layer turns
 * qkv off for every attention layer).  Sites are applied last to first,
 * so an insertion never moves a site still to be applied; ir_compact then
 * drops what the rewrite left unused (the old matmuls, the norm weights).
 *
 * The fusions (specs/ir.md, "Fusions", has the formulas):
 *   rmsnorm_fold       RMSNORM(x, g) read only by matmuls -> RMSNORM_UNIT(x),
 *                      every reading matmul's weight W -> W diag(g) (a part
 *                      scale; weights.c).  Not when the weight is shared
 *                      (the tied embedding is also the LM head), and only
 *                      into weights stored as f32: a rounded format would
 *                      round W*g again (a bf16 checkpoint stored as bf16 is
 *                      exact unfolded; folded, its products are rounded to
 *                      bf16: 3% of the logit range on tiny), for no speed
 *                      (the fold saves one multiply per norm element).
 *   qkv                the q, k, v MATMULs of an attention layer -> one
 *                      MATMUL of the stacked weight [q | k | v] and three
 *                      SLICEs.
 *   w1w3_swiglu        MUL(SILU(MATMUL(x, w1)), MATMUL(x, w3)) ->
 *                      MATMUL_SWIGLU(x, pairs(w1, w3)).
 *   residual_epilogue  ADD(h, MATMUL(x, W)) -> MATMUL_ACC(x, W, h), and
 *                      ADD(h, ADD_BIAS(MATMUL(x, W), b)) ->
 *                      ADD_BIAS(MATMUL_ACC(x, W, h), b).
 *   conv_chain         MUL(C, SHORT_CONV(MUL(B, x)) [+CONV_BIAS]) with B, C,
 *                      x the thirds of one value -> CONV_CHAIN(_B)(bcx, w[, b]).
 *   qk_norm_rope       ROPE(RMSNORM(x, w)) -> NORM_ROPE(x, w).
 *   dequant_in_matmul  on (the default) changes nothing: a block-format
 *                      weight is stored as blocks and its matmul kernel
 *                      dequantizes inside the dot products.  Off, every
 *                      block-format weight is stored as f32 holding the
 *                      format's quantize-then-dequantize values
 *                      (Weight.rounded), read by the float kernels: the same
 *                      model arithmetic on weights, 4x the bytes of q8_0.
 *
 * Formats: the quantize pass runs before these, on the checkpoint's tensor
 * names, so -q and --quant-override patterns keep their meaning.  A fusion
 * never changes a stored format: qkv and w1w3_swiglu combine weights only
 * when the parts have the same format (which the combined weight keeps);
 * rmsnorm_fold folds only into f32 weights.
 */
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "formats.h"
#include "schedule.h"

/* ------------------------------------------------------------ the driver */

typedef struct Site {
	Ref r;          /* the root */
	bool ok;        /* can be fused */
	Ref a, b, c, d, e;   /* what match found, for apply */
} Site;

typedef bool (*MatchFn)(const Graph *g, const int *uses, Ref r, Site *s);
typedef void (*ApplyFn)(Graph *g, const Site *s);

/* The class of a site: layer kind (2 outside the layers) and root name. */
static bool same_class(const Graph *g, Ref a, Ref b)
{
	const Node *x = &g->nodes[a], *y = &g->nodes[b];
	int kx = x->layer < 0 ? 2 : (int)g->cfg->layer_type[x->layer];
	int ky = y->layer < 0 ? 2 : (int)g->cfg->layer_type[y->layer];
	return kx == ky && !strcmp(x->name, y->name);
}

static int run_fusion(Graph *g, MatchFn match, ApplyFn apply, LfmError *err)
{
	int *uses = ir_use_counts(g);
	Site *s = calloc((size_t)g->n_nodes + 1, sizeof *s);
	if (!uses || !s) {
		free(uses);
		free(s);
		return lfm_error(err, NULL, "fusion: out of memory");
	}
	int n = 0;
	for (Ref r = 1; r < g->n_nodes; r++) {
		Site t = {r, false, 0, 0, 0, 0, 0};
		if (match(g, uses, r, &t))
			s[n++] = t;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n && s[i].ok; j++)
			if (!s[j].ok && same_class(g, s[i].r, s[j].r))
				s[i].ok = false;
	for (int i = n - 1; i >= 0; i--)
		if (s[i].ok)
			apply(g, &s[i]);
	free(uses);
	free(s);
	return ir_compact(g, err);
}

/* The fusions the schedule turns on; NULL (no fusion at all) without
 * options — the commands always pass a schedule. */
static const ScheduleFusions *fusions_of(const PassOptions *o)
{
	return o && o->schedule ? &o->schedule->fusions : NULL;
}

static bool is_matmul(Op op) { return op == OP_MATMUL || op == OP_MATMUL_ACC || op == OP_MATMUL_SWIGLU; }

static Weight *weight_of(const Graph *g, Ref wnode) { return &g->weights[g->nodes[wnode].aux]; }

/* A matmul's weight that only it reads, and that is still rows of parts
 * without a scale — what rmsnorm_fold may scale and qkv/w1w3 may combine. */
static bool own_weight(const Graph *g, const int *uses, Ref mm)
{
	Ref w = g->nodes[mm].in[1];
	return g->nodes[w].op == OP_WEIGHT && uses[w] == 1 && weight_of(g, w)->mix == WMIX_STACK;
}

/* ------------------------------------------------------------ rmsnorm_fold */

static bool match_fold(const Graph *g, const int *uses, Ref r, Site *s)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_RMSNORM || r == g->output)
		return false;
	const Weight *gw = weight_of(g, n->in[1]);
	int readers = 0;
	s->ok = ir_weight_is_plain(gw) && gw->src;
	for (Ref u = r + 1; u < g->n_nodes; u++) {
		const Node *m = &g->nodes[u];
		for (int i = 0; i < op_arity(m->op); i++) {
			if (m->in[i] != r)
				continue;
			readers++;
			const Weight *w = weight_of(g, m->in[1]);
			if (!is_matmul(m->op) || i != 0 || !own_weight(g, uses, u) || w->dtype != DT_F32
			    || w->rounded != DT_F32)
				s->ok = false;
			else
				for (int p = 0; p < weight_of(g, m->in[1])->n_parts; p++)
					s->ok &= !weight_of(g, m->in[1])->part[p].scale;
		}
	}
	if (readers != uses[r])
		s->ok = false;
	/* only sites whose readers are all matmuls are sites at all: a norm
	 * feeding RoPE (QK-norm) is not a candidate, so it cannot veto others */
	for (Ref u = r + 1; u < g->n_nodes; u++)
		for (int i = 0; i < op_arity(g->nodes[u].op); i++)
			if (g->nodes[u].in[i] == r && !is_matmul(g->nodes[u].op))
				return false;
	return readers > 0;
}

static void apply_fold(Graph *g, const Site *s)
{
	Node *n = &g->nodes[s->r];
	const StTensor *scale = weight_of(g, n->in[1])->src;
	for (Ref u = s->r + 1; u < g->n_nodes; u++)
		if (is_matmul(g->nodes[u].op) && g->nodes[u].in[0] == s->r) {
			Weight *w = weight_of(g, g->nodes[u].in[1]);
			for (int p = 0; p < w->n_parts; p++)
				w->part[p].scale = scale;
			w->src = NULL;   /* derived now */
		}
	n->op = OP_RMSNORM_UNIT;
	n->in[1] = 0;
}

int pass_rmsnorm_fold(Graph *g, const PassOptions *o, LfmError *err)
{
	const ScheduleFusions *f = fusions_of(o);
	return f && f->rmsnorm_fold ? run_fusion(g, match_fold, apply_fold, err) : 0;
}

/* ------------------------------------------------------------ qkv */

/* From an attention input back through the per-head ops to its matmul. */
static Ref projection(const Graph *g, Ref r)
{
	while (r) {
		Op op = g->nodes[r].op;
		if (op == OP_MATMUL)
			return r;
		if (op != OP_RESHAPE && op != OP_RMSNORM && op != OP_RMSNORM_UNIT && op != OP_ROPE && op != OP_NORM_ROPE)
			return 0;
		r = g->nodes[r].in[0];
	}
	return 0;
}

/* Weights that can be combined: each its matmul's own, the same stored
 * format, at most WEIGHT_MAX_PARTS parts in all. */
static bool combinable(const Graph *g, const int *uses, const Ref *mm, int n)
{
	int parts = 0;
	const Weight *w0 = weight_of(g, g->nodes[mm[0]].in[1]);
	for (int i = 0; i < n; i++) {
		if (!mm[i] || g->nodes[mm[i]].op != OP_MATMUL || uses[mm[i]] != 1 || !own_weight(g, uses, mm[i]))
			return false;
		if (g->nodes[mm[i]].in[0] != g->nodes[mm[0]].in[0])
			return false;
		const Weight *w = weight_of(g, g->nodes[mm[i]].in[1]);
		if (w->dtype != w0->dtype || w->rounded != w0->rounded || w->shape.ndim != 2)
			return false;
		parts += w->n_parts;
	}
	return parts <= WEIGHT_MAX_PARTS;
}

static bool match_qkv(const Graph *g, const int *uses, Ref r, Site *s)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_ATTENTION)
		return false;
	Ref mm[3] = {projection(g, n->in[0]), projection(g, n->in[1]), projection(g, n->in[2])};
	s->a = mm[0];
	s->b = mm[1];
	s->c = mm[2];
	s->ok = mm[0] && mm[1] && mm[2] && mm[0] < mm[1] && mm[1] < mm[2] && combinable(g, uses, mm, 3);
	return true;
}

/* The combined weight of matmuls mm[0..n): parts appended in order. */
static Weight combined(const Graph *g, const Ref *mm, int n, WeightMix mix, const char *fmt, int layer)
{
	Weight w = *weight_of(g, g->nodes[mm[0]].in[1]);
	snprintf(w.name, sizeof w.name, fmt, layer);
	w.src = NULL;
	w.mix = mix;
	w.n_parts = 0;
	w.shape.d[0] = 0;
	w.offset = w.bytes = 0;
	for (int i = 0; i < n; i++) {
		const Weight *p = weight_of(g, g->nodes[mm[i]].in[1]);
		for (int k = 0; k < p->n_parts; k++)
			w.part[w.n_parts++] = p->part[k];
		w.shape.d[0] += p->shape.d[0];
	}
	return w;
}

static Ref insert_named(Graph *g, Ref at, const char *name, int layer, Op op, Shape s, Ref a, Ref b, Ref c)
{
	Ref r = ir_insert(g, at, op, s, a, b, c);
	snprintf(g->nodes[r].name, sizeof g->nodes[r].name, "%s", name);
	g->nodes[r].layer = layer;
	return r;
}

static void apply_qkv(Graph *g, const Site *s)
{
	Ref mm[3] = {s->a, s->b, s->c};
	int layer = g->nodes[mm[0]].layer;
	Ref x = g->nodes[mm[0]].in[0], at = mm[0];
	Weight w = combined(g, mm, 3, WMIX_STACK, "model.layers.%d.self_attn.qkv_proj.weight", layer);
	Ref wn = ir_insert_weight(g, at, &w, layer);
	Shape ms = ir_shape2(g->nodes[x].shape.d[0], w.shape.d[0]);
	Ref qkv = insert_named(g, at + 1, "qkv", layer, OP_MATMUL, ms, x, wn, 0);
	static const char *const names[3] = {"q", "k", "v"};
	int start = 0;
	for (int i = 0; i < 3; i++) {
		Ref old = mm[i] + 2 + i;   /* moved up by the weight, the matmul and i slices */
		Shape ss = g->nodes[old].shape;
		Ref sl = insert_named(g, at + 2 + i, names[i], layer, OP_SLICE, ss, qkv, 0, 0);
		g->nodes[sl].aux = start;
		g->nodes[sl].aux2 = (int)ss.d[1];
		start += (int)ss.d[1];
	}
	/* the old matmuls moved up by the five new nodes */
	for (int i = 0; i < 3; i++)
		ir_replace_uses(g, mm[i] + 5, at + 2 + i);
}

int pass_qkv(Graph *g, const PassOptions *o, LfmError *err)
{
	const ScheduleFusions *f = fusions_of(o);
	return f && f->qkv ? run_fusion(g, match_qkv, apply_qkv, err) : 0;
}

/* ------------------------------------------------------------ w1w3_swiglu */

static bool match_swiglu(const Graph *g, const int *uses, Ref r, Site *s)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_MUL)
		return false;
	for (int side = 0; side < 2; side++) {
		Ref act = n->in[side], up = n->in[1 - side];
		if (g->nodes[act].op != OP_SILU || g->nodes[g->nodes[act].in[0]].op != OP_MATMUL
		    || g->nodes[up].op != OP_MATMUL)
			continue;
		Ref mm[2] = {g->nodes[act].in[0], up};
		s->a = mm[0];
		s->b = mm[1];
		s->ok = uses[act] == 1 && combinable(g, uses, mm, 2) && mm[0] != mm[1];
		return true;
	}
	return false;
}

static void apply_swiglu(Graph *g, const Site *s)
{
	Ref mm[2] = {s->a, s->b};
	int layer = g->nodes[s->r].layer;
	Ref x = g->nodes[mm[0]].in[0], at = mm[0] < mm[1] ? mm[0] : mm[1];
	Weight w = combined(g, mm, 2, WMIX_PAIRS, "model.layers.%d.feed_forward.w13.weight", layer);
	Ref wn = ir_insert_weight(g, at, &w, layer);
	Shape ys = g->nodes[s->r + 1].shape;   /* the MUL, shifted by the weight */
	Ref y = insert_named(g, at + 1, "swiglu", layer, OP_MATMUL_SWIGLU, ys, x, wn, 0);
	ir_replace_uses(g, s->r + 2, y);
}

int pass_w1w3_swiglu(Graph *g, const PassOptions *o, LfmError *err)
{
	const ScheduleFusions *f = fusions_of(o);
	return f && f->w1w3_swiglu ? run_fusion(g, match_swiglu, apply_swiglu, err) : 0;
}

/* ------------------------------------------------------------ residual_epilogue */

static bool match_residual(const Graph *g, const int *uses, Ref r, Site *s)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_ADD)
		return false;
	for (int side = 1; side >= 0; side--) {
		Ref y = n->in[side], h = n->in[1 - side], bias = 0;
		if (g->nodes[y].op == OP_ADD_BIAS && uses[y] == 1) {
			bias = y;
			y = g->nodes[y].in[0];
		}
		if (g->nodes[y].op != OP_MATMUL)
			continue;
		s->a = y;
		s->b = h;
		s->c = bias;
		/* with a bias the accumulate happens at the matmul: h must exist by then */
		s->ok = uses[y] == 1 && (!bias || h < y);
		return true;
	}
	return false;
}

static void apply_residual(Graph *g, const Site *s)
{
	Ref mm = s->a, h = s->b, bias = s->c;
	Node *m = &g->nodes[mm];
	if (!bias) {   /* the ADD itself becomes the accumulating matmul */
		Node *n = &g->nodes[s->r];
		n->op = OP_MATMUL_ACC;
		n->in[0] = m->in[0];
		n->in[1] = m->in[1];
		n->in[2] = h;
		return;
	}
	m->op = OP_MATMUL_ACC;   /* h + x W, then the bias in place, then no ADD */
	m->in[2] = h;
	ir_replace_uses(g, s->r, bias);
}

int pass_residual_epilogue(Graph *g, const PassOptions *o, LfmError *err)
{
	const ScheduleFusions *f = fusions_of(o);
	return f && f->residual_epilogue ? run_fusion(g, match_residual, apply_residual, err) : 0;
}

/* ------------------------------------------------------------ conv_chain */

/* A SLICE of `src` at [start, start+len), or false. */
static bool slice_at(const Graph *g, Ref r, Ref *src, int start, int len)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_SLICE || n->aux != start || n->aux2 != len)
		return false;
	if (*src && n->in[0] != *src)
		return false;
	*src = n->in[0];
	return true;
}

static bool match_conv(const Graph *g, const int *uses, Ref r, Site *s)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_MUL || n->shape.ndim != 2)
		return false;
	int H = (int)n->shape.d[1];
	for (int side = 0; side < 2; side++) {
		Ref C = n->in[side], cv = n->in[1 - side], bias = 0;
		if (g->nodes[cv].op == OP_CONV_BIAS) {
			bias = g->nodes[cv].in[1];
			if (uses[cv] != 1)
				continue;
			cv = g->nodes[cv].in[0];
		}
		if (g->nodes[cv].op != OP_SHORT_CONV)
			continue;
		Ref z = g->nodes[cv].in[0], src = 0;
		if (!slice_at(g, C, &src, H, H) || g->nodes[z].op != OP_MUL)
			continue;
		Ref B = g->nodes[z].in[0], X = g->nodes[z].in[1];
		bool bx = slice_at(g, B, &src, 0, H) && slice_at(g, X, &src, 2 * H, H);
		Ref src2 = src;
		bool xb = !bx && slice_at(g, X, &src2, 0, H) && slice_at(g, B, &src2, 2 * H, H);
		if (!bx && !xb)
			continue;
		s->a = src;
		s->b = g->nodes[cv].in[1];
		s->c = bias;
		s->d = cv;
		s->ok = uses[z] == 1 && uses[cv] == 1 && g->nodes[src].shape.d[1] == 3 * H;
		return true;
	}
	return false;
}

static void apply_conv(Graph *g, const Site *s)
{
	Node *n = &g->nodes[s->r];
	n->op = s->c ? OP_CONV_CHAIN_B : OP_CONV_CHAIN;
	n->in[0] = s->a;
	n->in[1] = s->b;
	n->in[2] = s->c;
	n->aux = g->nodes[s->d].aux;
}

int pass_conv_chain(Graph *g, const PassOptions *o, LfmError *err)
{
	const ScheduleFusions *f = fusions_of(o);
	return f && f->conv_chain ? run_fusion(g, match_conv, apply_conv, err) : 0;
}

/* ------------------------------------------------------------ qk_norm_rope */

static bool match_norm_rope(const Graph *g, const int *uses, Ref r, Site *s)
{
	const Node *n = &g->nodes[r];
	if (n->op != OP_ROPE || g->nodes[n->in[0]].op != OP_RMSNORM)
		return false;
	s->a = n->in[0];
	s->ok = uses[n->in[0]] == 1;
	return true;
}

static void apply_norm_rope(Graph *g, const Site *s)
{
	Node *n = &g->nodes[s->r];
	const Node *nrm = &g->nodes[s->a];
	n->op = OP_NORM_ROPE;
	n->f2 = n->f;
	n->f = nrm->f;
	n->in[0] = nrm->in[0];
	n->in[1] = nrm->in[1];
}

int pass_qk_norm_rope(Graph *g, const PassOptions *o, LfmError *err)
{
	const ScheduleFusions *f = fusions_of(o);
	return f && f->qk_norm_rope ? run_fusion(g, match_norm_rope, apply_norm_rope, err) : 0;
}

/* ------------------------------------------------------------ dequant_in_matmul */

int pass_dequant_in_matmul(Graph *g, const PassOptions *o, LfmError *err)
{
	(void)err;
	const ScheduleFusions *f = fusions_of(o);
	if (!f || f->dequant_in_matmul)
		return 0;
	for (int i = 0; i < g->n_weights; i++) {
		Weight *w = &g->weights[i];
		if (quant_is_blocked(w->dtype)) {
			w->rounded = w->dtype;
			w->dtype = DT_F32;
		}
	}
	return 0;
}
