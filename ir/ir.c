/*
 * ir.c — the op table, node and weight constructors, and the printer.
 *
 * Nodes and weights live in growable arrays owned by the Graph; a Ref is an
 * index into Graph.nodes.  Building appends, so the array is always in
 * topological order and passes can walk it front to back.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const struct {
	const char *name;
	int arity;
	const char *sem;
} op_table[OP_COUNT] = {
#define OP(name, arity, sem) {#name, arity, sem},
#include "ops.h"
#undef OP
};

const char *op_name(Op op) { return op < OP_COUNT ? op_table[op].name : "?"; }
int op_arity(Op op) { return op < OP_COUNT ? op_table[op].arity : -1; }
const char *op_semantics(Op op) { return op < OP_COUNT ? op_table[op].sem : "?"; }

const char *dtype_name(DType t)
{
	switch (t) {
	case DT_F32: return "f32";
	case DT_I32: return "i32";
	case DT_F16: return "f16";
	case DT_BF16: return "bf16";
	case DT_Q8_0: return "q8_0";
	case DT_Q4_0: return "q4_0";
	case DT_Q4_1: return "q4_1";
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
	Ref r = ir_node(g, OP_WEIGHT, w->shape, 0, 0, 0);
	g->nodes[r].aux = g->n_weights++;
	return r;
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
	switch (n->op) {
	case OP_WEIGHT: {
		const Weight *w = &g->weights[n->aux];
		fprintf(f, " \"%s\" %s @%llu+%llu", w->name, dtype_name(w->dtype),
		        (unsigned long long)w->offset, (unsigned long long)w->bytes);
		break;
	}
	case OP_SLICE: fprintf(f, " [%d:%d]", n->aux, n->aux + n->aux2); break;
	case OP_RMSNORM: fprintf(f, " eps=%g", n->f); break;
	case OP_ROPE: fprintf(f, " theta=%g", n->f); break;
	case OP_SHORT_CONV: fprintf(f, " conv_slot=%d", n->aux); break;
	case OP_ATTENTION: fprintf(f, " kv_slot=%d", n->aux); break;
	default: break;
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
