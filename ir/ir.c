/*
 * ir.c — the op table, node and weight constructors, graph editing, and
 * the printer.
 *
 * Nodes and weights live in growable arrays owned by the Graph; a Ref is an
 * index into Graph.nodes.  Building appends, so the array is always in
 * topological order and passes can walk it front to back.  Passes that
 * rewrite keep it so: ir_insert puts a node where it must go (renumbering
 * the later ones), ir_replace_uses redirects users, and ir_compact drops
 * what no longer feeds the output — the graph then reads as if built that
 * way, and weights stay in the order the forward pass reads them.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const struct {
	const char *name;
	const char *operands;
	OpAttrs attrs;
	const char *sem;
} op_table[OP_COUNT] = {
#define OP(name, operands, attrs, sem) {#name, operands, ATTRS_##attrs, sem},
#include "ops.h"
#undef OP
};

const char *op_name(Op op) { return op < OP_COUNT ? op_table[op].name : "?"; }
int op_arity(Op op) { return op < OP_COUNT ? (int)strlen(op_table[op].operands) : -1; }
char op_operand(Op op, int i) { return op < OP_COUNT && i >= 0 && i < op_arity(op) ? op_table[op].operands[i] : 0; }
OpAttrs op_attrs(Op op) { return op < OP_COUNT ? op_table[op].attrs : ATTRS_NONE; }
const char *op_semantics(Op op) { return op < OP_COUNT ? op_table[op].sem : "?"; }

const char *dtype_name(DType t)
{
	switch (t) {
#define DTYPE(name, id, str, values, bytes, is_format) case DT_##name: return str;
#include "dtypes.h"
#undef DTYPE
	}
	return "?";
}

Shape ir_shape2(int64_t a, int64_t b) { return (Shape){2, {a, b, 0, 0}}; }
Shape ir_shape3(int64_t a, int64_t b, int64_t c) { return (Shape){3, {a, b, c, 0}}; }

bool ir_shape_eq(Shape a, Shape b)
{
	if (a.ndim != b.ndim)
		return false;
	for (int i = 0; i < a.ndim; i++)
		if (a.d[i] != b.d[i])
			return false;
	return true;
}

int64_t ir_shape_numel(Shape s, int64_t T, int64_t R)
{
	int64_t n = 1;
	for (int i = 0; i < s.ndim; i++)
		n *= s.d[i] == DIM_T ? T : s.d[i] == DIM_R ? R : s.d[i];
	return n;
}

/* Grows an array to hold one more element; aborts on out-of-memory, which
 * for the compiler (not the runtime) is the honest thing to do. */
static void *grow(void *p, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return p;
	int nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(p, (size_t)nc * elem);
	if (!q) {
		fprintf(stderr, "lfm2c: out of memory\n");
		exit(1);
	}
	memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
	*cap = nc;
	return q;
}

Ref ir_node(Graph *g, Op op, Shape shape, Ref a, Ref b, Ref c)
{
	if (g->n_nodes == 0) {   /* slot 0: the "none" ref */
		g->nodes = grow(g->nodes, &g->cap_nodes, 1, sizeof(Node));
		g->n_nodes = 1;
	}
	g->nodes = grow(g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(Node));
	Node *n = &g->nodes[g->n_nodes];
	memset(n, 0, sizeof *n);
	n->op = op;
	n->dtype = op == OP_TOKENS ? DT_I32 : DT_F32;
	n->shape = shape;
	n->in[0] = a;
	n->in[1] = b;
	n->in[2] = c;
	n->layer = -1;
	return g->n_nodes++;
}

Ref ir_weight(Graph *g, const char *name, const StTensor *src)
{
	g->weights = grow(g->weights, &g->cap_weights, g->n_weights + 1, sizeof(Weight));
	Weight *w = &g->weights[g->n_weights];
	memset(w, 0, sizeof *w);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->src = src;
	w->shape.ndim = src->ndim;
	for (int i = 0; i < src->ndim; i++)
		w->shape.d[i] = src->shape[i];
	w->dtype = DT_F32;
	w->rounded = DT_F32;
	w->n_parts = 1;
	w->mix = WMIX_STACK;
	w->part[0].src = src;
	Ref r = ir_node(g, OP_WEIGHT, w->shape, 0, 0, 0);
	g->nodes[r].aux = g->n_weights++;
	return r;
}

/* ------------------------------------------------------------- editing */

Ref ir_insert(Graph *g, Ref at, Op op, Shape shape, Ref a, Ref b, Ref c)
{
	Ref end = ir_node(g, op, shape, a, b, c);   /* grows the array; moved below */
	Node fresh = g->nodes[end];
	memmove(&g->nodes[at + 1], &g->nodes[at], (size_t)(end - at) * sizeof(Node));
	for (Ref r = 1; r < g->n_nodes; r++)
		for (int i = 0; i < 3; i++)
			if (g->nodes[r].in[i] >= at)
				g->nodes[r].in[i]++;
	if (g->output >= at)
		g->output++;
	g->nodes[at] = fresh;
	return at;
}

void ir_replace_uses(Graph *g, Ref from, Ref to)
{
	for (Ref r = 1; r < g->n_nodes; r++)
		for (int i = 0; i < op_arity(g->nodes[r].op); i++)
			if (g->nodes[r].in[i] == from)
				g->nodes[r].in[i] = to;
	if (g->output == from)
		g->output = to;
}

int *ir_use_counts(const Graph *g)
{
	int *n = calloc((size_t)g->n_nodes + 1, sizeof *n);
	if (!n)
		return NULL;
	for (Ref r = 1; r < g->n_nodes; r++)
		for (int i = 0; i < op_arity(g->nodes[r].op); i++)
			n[g->nodes[r].in[i]]++;
	n[g->output]++;
	return n;
}

Ref ir_insert_weight(Graph *g, Ref at, const Weight *proto, int layer)
{
	g->weights = grow(g->weights, &g->cap_weights, g->n_weights + 1, sizeof(Weight));
	g->weights[g->n_weights] = *proto;
	Ref r = ir_insert(g, at, OP_WEIGHT, proto->shape, 0, 0, 0);
	g->nodes[r].aux = g->n_weights++;
	g->nodes[r].layer = layer;
	return r;
}

int ir_compact(Graph *g, LfmError *err)
{
	int n = g->n_nodes;
	char *live = calloc((size_t)n + 1, 1);
	Ref *to = calloc((size_t)n + 1, sizeof *to);
	Weight *nw = calloc((size_t)g->n_weights + 1, sizeof *nw);
	if (!live || !to || !nw) {
		free(live);
		free(to);
		free(nw);
		return lfm_error(err, NULL, "IR: out of memory");
	}
	/* inputs precede their users: one backward sweep marks what the output needs */
	live[g->output] = 1;
	for (Ref r = n - 1; r >= 1; r--)
		if (live[r])
			for (int i = 0; i < op_arity(g->nodes[r].op); i++)
				live[g->nodes[r].in[i]] = 1;
	Ref k = 1;
	int nwk = 0;
	for (Ref r = 1; r < n; r++) {
		if (!live[r])
			continue;
		Node nd = g->nodes[r];
		for (int i = 0; i < op_arity(nd.op); i++)
			nd.in[i] = to[nd.in[i]];
		if (nd.op == OP_WEIGHT) {
			nw[nwk] = g->weights[nd.aux];
			nd.aux = nwk++;
		}
		to[r] = k;
		g->nodes[k++] = nd;
	}
	g->n_nodes = k;
	g->output = to[g->output];
	memcpy(g->weights, nw, (size_t)nwk * sizeof *nw);
	g->n_weights = nwk;
	g->blob_bytes = 0;
	free(live);
	free(to);
	free(nw);
	return 0;
}

void ir_free(Graph *g)
{
	free(g->nodes);
	free(g->weights);
	memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------- printer */

void ir_print_shape(FILE *f, Shape s)
{
	fputc('[', f);
	for (int i = 0; i < s.ndim; i++) {
		if (i)
			fputc(',', f);
		if (s.d[i] == DIM_T)
			fputc('T', f);
		else if (s.d[i] == DIM_R)
			fputc('R', f);
		else
			fprintf(f, "%lld", (long long)s.d[i]);
	}
	fputc(']', f);
}

static void print_node(FILE *f, const Graph *g, Ref r)
{
	const Node *n = &g->nodes[r];
	fprintf(f, "  %%%-4d %-10s = %-10s ", r, n->name, op_name(n->op));
	ir_print_shape(f, n->shape);
	fprintf(f, " %s", dtype_name(n->dtype));
	for (int i = 0; i < op_arity(n->op); i++)
		fprintf(f, "%s %%%d", i ? "," : "", n->in[i]);
	switch (op_attrs(n->op)) {
	case ATTRS_WEIGHT: {
		const Weight *w = &g->weights[n->aux];
		fprintf(f, " \"%s\" %s @%llu+%llu", w->name, dtype_name(w->dtype),
		        (unsigned long long)w->offset, (unsigned long long)w->bytes);
		if (w->rounded != DT_F32)
			fprintf(f, " values=%s", dtype_name(w->rounded));
		if (!ir_weight_is_plain(w)) {
			fputs(" = ", f);
			ir_weight_print_recipe(f, w);
		}
		break;
	}
	case ATTRS_SLICE: fprintf(f, " [%d:%d]", n->aux, n->aux + n->aux2); break;
	case ATTRS_EPS: fprintf(f, " eps=%g", n->f); break;
	case ATTRS_THETA: fprintf(f, " theta=%g", n->f); break;
	case ATTRS_EPS_THETA: fprintf(f, " eps=%g theta=%g", n->f, n->f2); break;
	case ATTRS_CONV_SLOT: fprintf(f, " conv_slot=%d", n->aux); break;
	case ATTRS_KV_SLOT: fprintf(f, " kv_slot=%d", n->aux); break;
	case ATTRS_NONE: break;
	}
	fputc('\n', f);
}

void ir_print(FILE *f, const Graph *g)
{
	const LfmConfig *c = g->cfg;
	fprintf(f, "# lfm2 graph: vocab %d, hidden %d, %d layers (%d conv, %d attention), "
	        "heads %d/%d x %d, ff %d, conv L %d\n",
	        c->vocab_size, c->hidden, c->n_layers, c->n_conv_layers, c->n_attn_layers,
	        c->n_heads, c->n_kv_heads, c->head_dim, c->ff, c->conv_L);
	int layer = -2;
	for (Ref r = 1; r < g->n_nodes; r++) {
		const Node *n = &g->nodes[r];
		if (n->layer != layer) {
			layer = n->layer;
			if (layer >= 0)
				fprintf(f, "layer %d (%s):\n", layer,
				        c->layer_type[layer] == LAYER_ATTN ? "attention" : "conv");
			else
				fprintf(f, "%s:\n", r == 1 ? "input" : "head");
		}
		print_node(f, g, r);
	}
	fprintf(f, "# %d nodes, %d weights, blob %llu bytes\n", g->n_nodes - 1, g->n_weights,
	        (unsigned long long)g->blob_bytes);
}
