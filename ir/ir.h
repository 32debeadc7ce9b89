/*
 * ir.h — the lfm2c intermediate representation.
 *
 * A model variant is one Graph: an array of Nodes indexed by small integer
 * handles (Ref), in topological order, as in QBE.  Each node is one tensor
 * op of one layer, with a static shape: the only symbolic dimensions are T
 * (tokens in a call) and R (logit rows wanted), and the position P of the
 * first token.  Layer types, head counts and every size are baked in, so
 * the graph *is* the variant.
 *
 * State lives outside the graph: SHORT_CONV reads and updates the conv
 * state of its conv slot, ATTENTION appends to and reads the KV cache of
 * its attention slot.  Weights are WEIGHT nodes pointing into
 * Graph.weights, which also records where each weight lands in the blob
 * (assigned by the layout pass).
 *
 * Sections: ops and types · graph building · verify · print · interpreter.
 */
#ifndef LFM2C_IR_H
#define LFM2C_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend.h"

/* ------------------------------------------------------------ ops, types */

typedef enum Op {
#define OP(name, operands, attrs, sem) OP_##name,
#include "ops.h"
#undef OP
	OP_COUNT
} Op;

/* The node fields an op uses (ops.h, "attributes"). */
typedef enum OpAttrs {
	ATTRS_NONE, ATTRS_WEIGHT, ATTRS_SLICE, ATTRS_EPS, ATTRS_THETA, ATTRS_EPS_THETA, ATTRS_CONV_SLOT, ATTRS_KV_SLOT
} OpAttrs;

const char *op_name(Op op);
int op_arity(Op op);
/* The kind of operand i ('t', 'w' or 'x'; ops.h), or 0 past the arity. */
char op_operand(Op op, int i);
OpAttrs op_attrs(Op op);
const char *op_semantics(Op op);

/* Value and storage types: the table dtypes.h (the weight formats' code
 * is formats.h). */
typedef enum DType {
#define DTYPE(name, id, str, values, bytes, is_format) DT_##name = id,
#include "dtypes.h"
#undef DTYPE
} DType;
const char *dtype_name(DType t);

/* Symbolic dimensions. */
#define DIM_T (-1)     /* tokens in this call */
#define DIM_R (-2)     /* logit rows wanted */

typedef struct Shape {
	int ndim;
	int64_t d[4];
} Shape;

typedef int32_t Ref;   /* index into Graph.nodes; 0 is "none" */

typedef struct Node {
	Op op;
	DType dtype;
	Shape shape;
	Ref in[3];
	int layer;        /* layer index, -1 outside the layers */
	int aux, aux2;    /* WEIGHT: weight index; SLICE: start, length;
	                     SHORT_CONV, CONV_CHAIN(_B): conv slot; ATTENTION: attention slot */
	double f;         /* RMSNORM(_UNIT), NORM_ROPE: eps; ROPE: theta */
	double f2;        /* NORM_ROPE: theta */
	char name[24];    /* value name, e.g. "bcx", "q" */
} Node;

/* Where a weight's values come from.  A plain weight is one checkpoint
 * tensor (one part, no scale).  A fusion may derive one from several
 * (passes/fuse.c, weights.c):
 *   WMIX_STACK  the parts' rows one after another (q | k | v);
 *   WMIX_PAIRS  two parts' rows alternating: row 2i is part 0's row i, row
 *               2i+1 part 1's (w1_i, w3_i for the SwiGLU epilogue);
 *   scale       column k of a part multiplied by scale[k] (an RMSNorm's
 *               weight folded into the matmul that reads the norm). */
typedef enum WeightMix { WMIX_STACK = 0, WMIX_PAIRS = 1 } WeightMix;

#define WEIGHT_MAX_PARTS 4

typedef struct WeightPart {
	const StTensor *src;      /* a checkpoint tensor: its rows */
	const StTensor *scale;    /* NULL, or a vector over its columns */
} WeightPart;

typedef struct Weight {
	char name[96];            /* checkpoint tensor name (a derived weight: a new name) */
	const StTensor *src;      /* a plain weight's tensor; NULL when derived */
	Shape shape;
	DType dtype;              /* as stored in the blob */
	uint64_t offset, bytes;   /* in the blob payload (layout pass) */
	int n_parts;              /* >= 1 */
	WeightMix mix;
	WeightPart part[WEIGHT_MAX_PARTS];
	DType rounded;            /* DT_F32, or the block format whose quantize-then-
	                             dequantize values the weight holds (stored as
	                             dtype): dequant_in_matmul off */
} Weight;

typedef struct Graph {
	const LfmConfig *cfg;
	Node *nodes;              /* nodes[0] is a dummy so Ref 0 = none */
	int n_nodes, cap_nodes;
	Weight *weights;
	int n_weights, cap_weights;
	Ref output;
	uint64_t blob_bytes;      /* payload size (layout pass) */
	int n_conv_slots, n_attn_slots;
} Graph;

/* --------------------------------------------------------- graph building */

/* Builds the graph of the checkpoint's exact variant. */
int ir_build(Graph *g, const Checkpoint *ck, LfmError *err);
void ir_free(Graph *g);

/* Low-level constructors (used by ir_build and passes). */
Ref ir_node(Graph *g, Op op, Shape shape, Ref a, Ref b, Ref c);
Ref ir_weight(Graph *g, const char *name, const StTensor *src);
/* The values of a weight (weights.c): rows of its last axis, in f32, before
 * any storage format — the checkpoint's values, or what a fusion derived.
 * ir_weight_rows_f32 writes rows [row0, row0+n) (n * cols floats) to out;
 * 0, or -1 with err. */
int64_t ir_weight_rows(const Weight *w);
int64_t ir_weight_cols(const Weight *w);
int ir_weight_rows_f32(const Weight *w, int64_t row0, int64_t n, float *out, LfmError *err);
/* The values a model storing w as w->dtype computes with, in double: the
 * stored format's quantize-then-dequantize of ir_weight_rows_f32 when
 * dtype is not f32 (or the weight is rounded); otherwise the derivation in
 * double (a folded scale multiplies exactly).  0, or -1 with err. */
int ir_weight_values_f64(const Weight *w, int64_t row0, int64_t n, double *out, LfmError *err);
/* Which row of w part p's row i became (the inverse of the derivation). */
int64_t ir_weight_part_row(const Weight *w, int p, int64_t i);
bool ir_weight_is_plain(const Weight *w);
/* Its parts are tensors of its column count whose rows add up to its rows
 * (pairs: two of equal rows); scales are vectors over the columns. */
int ir_weight_check(const Weight *w, LfmError *err);
/* Prints how a derived weight is made ("[q_proj * operator_norm | ...]"). */
void ir_weight_print_recipe(FILE *f, const Weight *w);
/* Graph editing for passes (ir.c).  ir_insert puts a new node at index
 * `at`, shifting every later node (and every Ref to one) up by one; callers
 * holding Refs >= at must shift them (ir_shifted).  ir_replace_uses points
 * every input equal to `from` at `to`.  ir_use_counts fills counts[r] with
 * the number of inputs referring to r (the output counts as a use).
 * ir_compact drops nodes the output does not depend on and weights no node
 * refers to, renumbering both (weights in the order of their WEIGHT nodes,
 * the order the forward pass reads them). */
Ref ir_insert(Graph *g, Ref at, Op op, Shape shape, Ref a, Ref b, Ref c);
static inline Ref ir_shifted(Ref r, Ref at) { return r >= at ? r + 1 : r; }
void ir_replace_uses(Graph *g, Ref from, Ref to);
int *ir_use_counts(const Graph *g);   /* malloc'd, n_nodes entries; NULL if out of memory */
int ir_compact(Graph *g, LfmError *err);
/* A new weight (a copy of *proto: name, shape, parts...) and its WEIGHT
 * node inserted at `at` in layer `layer`. */
Ref ir_insert_weight(Graph *g, Ref at, const Weight *proto, int layer);

Shape ir_shape2(int64_t a, int64_t b);
Shape ir_shape3(int64_t a, int64_t b, int64_t c);
int64_t ir_shape_numel(Shape s, int64_t T, int64_t R);
bool ir_shape_eq(Shape a, Shape b);

/* ------------------------------------------------------------- verify */

/* Checks arity, input order, shapes and dtypes of every node.  Returns 0,
 * or -1 with the first problem in err ("node %5 (matmul): ..."). */
int ir_verify(const Graph *g, LfmError *err);

/* ------------------------------------------------------------- print */

void ir_print(FILE *f, const Graph *g);
void ir_print_shape(FILE *f, Shape s);

/* ------------------------------------------------------------ interpreter
 * The reference interpreter runs the graph in double precision, op by op,
 * following specs/ir.md literally.  It is the in-project oracle for the
 * generated code.
 */
typedef struct InterpState InterpState;

InterpState *interp_new(const Graph *g, int ctx, LfmError *err);
void interp_free(InterpState *s);
/* Starts a new sequence: position 0, zero conv state and KV cache (the
 * weights, converted once by interp_new, are kept). */
void interp_reset(InterpState *s);
/* Runs tokens[0..n) at the current position; writes rows x vocab logits
 * (rows = 1: last token, rows = n: every token) and advances. */
int interp_eval(InterpState *s, const int32_t *tokens, int n, int rows,
                double *logits, LfmError *err);
/* on: matmuls on block-format weights quantize their activations as the
 * compiled int8 kernels do (quant_act_row, quant_dot_ref; `--act-q8`). */
void interp_set_act_q8(InterpState *s, int on);
/* With act_q8: the first position (since interp_new / interp_reset) where an
 * activation came within ~1e-6 (relative) of a rounding tie of its int8
 * code — where a compiled model may start to differ by a code — or -1. */
int interp_act_q8_tie(const InterpState *s);

#endif
