/*
 * verify.c — the IR verifier.
 *
 * Run after building and after every pass.  It checks what the backends
 * and the interpreter rely on: inputs defined before use, the op table's
 * operands (how many, and of which kind: tokens, weight or value), and
 * each op's shape rule from specs/ir.md.  A failure
 * is a compiler bug, reported with the node it found.
 */
#include "ir.h"

typedef struct Check {
	const Graph *g;
	LfmError *err;
	Ref r;
} Check;

static int bad(Check *c, const char *what)
{
	const Node *n = &c->g->nodes[c->r];
	return lfm_error(c->err, NULL, "IR verifier: node %%%d (%s \"%s\", layer %d): %s",
	                 c->r, op_name(n->op), n->name, n->layer, what);
}

static const Node *in(Check *c, int i) { return &c->g->nodes[c->g->nodes[c->r].in[i]]; }
static int64_t last_dim(Shape s) { return s.d[s.ndim - 1]; }

static bool is_vector_of(const Node *w, int64_t n)
{
	return w->op == OP_WEIGHT && w->shape.ndim == 1 && w->shape.d[0] == n;
}

/* Each operand is of the kind the op table says: 't' the TOKENS node,
 * 'w' a WEIGHT node, 'x' any other value; all f32 but the tokens. */
static int check_operands(Check *c)
{
	const Node *n = &c->g->nodes[c->r];
	for (int i = 0; i < op_arity(n->op); i++) {
		const Node *a = in(c, i);
		switch (op_operand(n->op, i)) {
		case 't':
			if (a->op != OP_TOKENS || a->dtype != DT_I32)
				return bad(c, "operand must be the tokens");
			break;
		case 'w':
			if (a->op != OP_WEIGHT || a->dtype != DT_F32)
				return bad(c, "operand must be a weight");
			break;
		default:   /* 'x' */
			if (a->op == OP_TOKENS || a->op == OP_WEIGHT || a->dtype != DT_F32)
				return bad(c, "operand must be an f32 value (not the tokens or a weight)");
			break;
		}
	}
	return 0;
}

static int check_shape(Check *c)
{
	const Node *n = &c->g->nodes[c->r];
	Shape s = n->shape;
	switch (n->op) {
	case OP_TOKENS:
		if (s.ndim != 1 || s.d[0] != DIM_T || n->dtype != DT_I32)
			return bad(c, "tokens must be [T] i32");
		return 0;
	case OP_WEIGHT:
		if (n->aux < 0 || n->aux >= c->g->n_weights)
			return bad(c, "weight index out of range");
		if (!ir_shape_eq(s, c->g->weights[n->aux].shape))
			return bad(c, "weight node and weight have different shapes");
		if (ir_weight_check(&c->g->weights[n->aux], c->err)) {
			char why[sizeof c->err->msg];
			snprintf(why, sizeof why, "%s", c->err->msg);
			return bad(c, why);
		}
		return 0;
	case OP_EMBED:
		if (in(c, 0)->op != OP_TOKENS || in(c, 1)->op != OP_WEIGHT || in(c, 1)->shape.ndim != 2)
			return bad(c, "embed takes (tokens, weight [V,H])");
		if (!ir_shape_eq(s, ir_shape2(DIM_T, in(c, 1)->shape.d[1])))
			return bad(c, "embed result must be [T,H]");
		return 0;
	case OP_RMSNORM:
		if (!ir_shape_eq(s, in(c, 0)->shape) || !is_vector_of(in(c, 1), last_dim(s)))
			return bad(c, "rmsnorm: weight must match the last axis, result the input");
		if (!(n->f > 0))
			return bad(c, "rmsnorm: eps must be > 0");
		return 0;
	case OP_RMSNORM_UNIT:
		if (!ir_shape_eq(s, in(c, 0)->shape))
			return bad(c, "rmsnorm_unit: result must have the input's shape");
		if (!(n->f > 0))
			return bad(c, "rmsnorm_unit: eps must be > 0");
		return 0;
	case OP_MATMUL:
	case OP_MATMUL_ACC:
	case OP_MATMUL_SWIGLU: {
		Shape x = in(c, 0)->shape, w = in(c, 1)->shape;
		if (x.ndim != 2 || w.ndim != 2 || in(c, 1)->op != OP_WEIGHT)
			return bad(c, "matmul takes x [M,K] and a weight [N,K]");
		if (x.d[1] != w.d[1])
			return bad(c, "matmul: inner dimensions differ");
		if (n->op == OP_MATMUL_SWIGLU) {
			if (w.d[0] % 2 || !ir_shape_eq(s, ir_shape2(x.d[0], w.d[0] / 2)))
				return bad(c, "matmul_swiglu: weight rows must be pairs, result [M,N/2]");
			return 0;
		}
		if (!ir_shape_eq(s, ir_shape2(x.d[0], w.d[0])))
			return bad(c, "matmul result must be [M,N]");
		if (n->op == OP_MATMUL_ACC && !ir_shape_eq(s, in(c, 2)->shape))
			return bad(c, "matmul_acc: the accumulated operand must have the result's shape");
		return 0;
	}
	case OP_CONV_CHAIN:
	case OP_CONV_CHAIN_B: {
		Shape x = in(c, 0)->shape, w = in(c, 1)->shape;
		if (s.ndim != 2 || x.ndim != 2 || x.d[0] != s.d[0] || x.d[1] != 3 * s.d[1] || w.ndim != 3
		    || w.d[0] != s.d[1] || w.d[1] != 1 || w.d[2] < 1)
			return bad(c, "conv chain takes bcx [T,3H] and w [H,1,L] to [T,H]");
		if (n->op == OP_CONV_CHAIN_B && !is_vector_of(in(c, 2), s.d[1]))
			return bad(c, "conv chain: the bias must be a vector of H");
		if (n->aux < 0 || n->aux >= c->g->n_conv_slots)
			return bad(c, "conv slot out of range");
		return 0;
	}
	case OP_NORM_ROPE:
		if (s.ndim != 3 || !ir_shape_eq(s, in(c, 0)->shape) || s.d[2] % 2 || !is_vector_of(in(c, 1), s.d[2]))
			return bad(c, "norm_rope takes x [T,n,d] with d even and a weight [d]");
		if (!(n->f > 0))
			return bad(c, "norm_rope: eps must be > 0");
		return 0;
	case OP_ADD_BIAS:
	case OP_CONV_BIAS:
		if (!ir_shape_eq(s, in(c, 0)->shape) || !is_vector_of(in(c, 1), last_dim(s)))
			return bad(c, "bias must be a vector over the last axis");
		return 0;
	case OP_SLICE: {
		Shape x = in(c, 0)->shape;
		if (n->aux < 0 || n->aux2 <= 0 || n->aux + n->aux2 > last_dim(x) || x.ndim != s.ndim
		    || last_dim(s) != n->aux2)
			return bad(c, "slice out of range");
		return 0;
	}
	case OP_MUL:
	case OP_ADD:
		if (!ir_shape_eq(s, in(c, 0)->shape) || !ir_shape_eq(s, in(c, 1)->shape))
			return bad(c, "elementwise operands must have the result's shape");
		return 0;
	case OP_SHORT_CONV: {
		Shape w = in(c, 1)->shape;
		if (s.ndim != 2 || !ir_shape_eq(s, in(c, 0)->shape) || w.ndim != 3 || w.d[0] != s.d[1]
		    || w.d[1] != 1 || w.d[2] < 1)
			return bad(c, "short conv takes z [T,H] and w [H,1,L]");
		if (n->aux < 0 || n->aux >= c->g->n_conv_slots)
			return bad(c, "conv slot out of range");
		return 0;
	}
	case OP_RESHAPE: {
		Shape x = in(c, 0)->shape;
		if (x.d[0] != s.d[0] || ir_shape_numel(x, 1, 1) != ir_shape_numel(s, 1, 1))
			return bad(c, "reshape must keep the row axis and the element count");
		return 0;
	}
	case OP_ROPE:
		if (s.ndim != 3 || !ir_shape_eq(s, in(c, 0)->shape) || s.d[2] % 2)
			return bad(c, "rope takes [T,n,d] with d even");
		return 0;
	case OP_ATTENTION: {
		Shape q = in(c, 0)->shape, k = in(c, 1)->shape, v = in(c, 2)->shape;
		if (q.ndim != 3 || k.ndim != 3 || !ir_shape_eq(k, v) || q.d[2] != k.d[2]
		    || k.d[1] < 1 || q.d[1] % k.d[1] || !ir_shape_eq(s, q))
			return bad(c, "attention takes q [T,nh,d], k and v [T,nkv,d], nh % nkv == 0");
		if (n->aux < 0 || n->aux >= c->g->n_attn_slots)
			return bad(c, "attention slot out of range");
		return 0;
	}
	case OP_SILU:
		if (!ir_shape_eq(s, in(c, 0)->shape))
			return bad(c, "silu keeps the shape");
		return 0;
	case OP_LAST_ROWS: {
		Shape x = in(c, 0)->shape;
		if (x.ndim != 2 || x.d[0] != DIM_T || !ir_shape_eq(s, ir_shape2(DIM_R, x.d[1])))
			return bad(c, "last_rows takes [T,H] to [R,H]");
		return 0;
	}
	case OP_OUTPUT:
		if (!ir_shape_eq(s, in(c, 0)->shape))
			return bad(c, "output keeps the shape");
		return 0;
	case OP_COUNT:
		break;
	}
	return bad(c, "unknown op");
}

int ir_verify(const Graph *g, LfmError *err)
{
	Check c = {g, err, 0};
	if (g->n_nodes < 2 || g->output <= 0 || g->output >= g->n_nodes
	    || g->nodes[g->output].op != OP_OUTPUT)
		return lfm_error(err, NULL, "IR verifier: graph has no output");
	for (c.r = 1; c.r < g->n_nodes; c.r++) {
		const Node *n = &g->nodes[c.r];
		if (n->op >= OP_COUNT)
			return bad(&c, "unknown op");
		int arity = op_arity(n->op);
		for (int i = 0; i < 3; i++) {
			Ref a = n->in[i];
			if (i < arity && (a <= 0 || a >= c.r))
				return bad(&c, "input not defined before use");
			if (i >= arity && a != 0)
				return bad(&c, "more inputs than the op takes");
		}
		if (check_operands(&c))
			return -1;
		if (check_shape(&c))
			return -1;
	}
	return 0;
}
