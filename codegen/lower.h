/*
 * lower.h — the lowering from the graph to the loop-level form (internal
 * to codegen/).
 *
 * lower.c builds the model's structure (ABI types, weight tables, one
 * function per layer kind, forward, the model info) and asks the kernel
 * files for the per-shape kernels those call; the kernel files build them
 * from lower_util.c's helpers.  Dependencies run one way:
 * lower.c -> lower_{kernels,gemm,qmatmul,fused}.c -> lower_util.c.  Every schedule decision lives
 * in a Tiling value (derived from the machine model in plan.c), so a
 * search (or a person with a benchmark) changes numbers, not code.
 */
#ifndef LFM2C_LOWER_H
#define LFM2C_LOWER_H

#include "codegen.h"
#include "loops.h"
#include "target.h"


typedef struct Lower {
	LModule *m;
	const Graph *g;
	const LfmConfig *cfg;
	const Target *t;
	Tiling sch;
	LfmError *err;

	/* ABI and helper types */
	LStr s_call, s_fwd_args, s_info, s_pool, s_task_fn, s_mm_args, s_attn_args;
	LStr s_layer_w[2];        /* struct conv_weights / attn_weights */
	LF f_parallel_for, f_run, f_W;
	int64_t wf_floats;        /* per worker: the f16/bf16 GEMMs' f32 weight block (0: none) */
} Lower;

/* Shorthands for an i64 constant and a variable's value. */
static inline LE I(Lower *L, int64_t v) { return le_i64(L->m, v); }
static inline LE V(Lower *L, LV v) { return le_var(L->m, v); }

/* Shorthands for types. */
static inline LType T_I64(void) { return lt_scalar(LK_I64); }
static inline LType T_I32(void) { return lt_scalar(LK_I32); }
static inline LType T_F32(void) { return lt_scalar(LK_F32); }
static inline LType T_F64(void) { return lt_scalar(LK_F64); }
static inline LType T_PF(void) { return lt_ptr(LK_F32, 0); }      /* float * */
static inline LType T_CPF(void) { return lt_ptr(LK_F32, 1); }     /* const float * */

/* What a matmul does with each result r of row t, column n (fusions):
 *   EPI_STORE   y[t][n] = r
 *   EPI_ACC     y[t][n] += r            (the residual add in the epilogue)
 *   EPI_SWIGLU  the weight's rows come in pairs (w1 row i, w3 row i) as rows
 *               2i, 2i+1, and y[t][i] = silu(r[2i]) * r[2i+1]; y is N/2 wide.
 *               Kernels visit columns in even-aligned groups of an even
 *               count, so a pair is never split. */
typedef enum MatEpi {
	EPI_STORE = 0,
	EPI_ACC = 1,
	EPI_SWIGLU = 2,
} MatEpi;

/* ------------------------------------------------------------ lower_util.c
 * The helpers every kernel builder shares (the kernel files depend only
 * on these, lower.c depends on the kernel files: one way). */

/* The kernel `name` if it was built already (*fresh = 0), else a new
 * static void function with the comment (*fresh = 1) that the caller
 * gives parameters and a body:
 *     int fresh;
 *     LF f = kernel_lookup(L, name, comment, &fresh);
 *     if (!fresh)
 *         return f;                                                   */
LF kernel_lookup(Lower *L, const char *name, const char *comment, int *fresh);
/* The largest power of two <= max that divides n (1 if n is odd). */
int pick_lanes(int max, int64_t n);
/* W(), run(), the ABI externs (once per module, before any kernel). */
void kernel_helpers(Lower *L);
/* How kernels see weights.  W(c, offset) gives the blob address as
 * const void *; a weight of format t is read through weight_ptr_type(t):
 * const float * (f32), const _Float16 * (f16), const int16_t * (bf16, the
 * bits), const void * (block formats: their kernels cast).  Norm weights,
 * conv taps and biases are always f32 (passes/quantize.c).
 * load_weight_f32 loads `lanes` values of an f32/f16/bf16 weight at p as
 * f32 x lanes (f16 converted, bf16 widened: both exact). */
LType weight_ptr_type(DType t);
LE load_weight_f32(Lower *L, DType t, LE p, int lanes);
/* Stores one row's results r[0..nr) of consecutive columns n, n+1, ...
 * (n even for EPI_SWIGLU) through `at`, the address of y[t][n] (of
 * y[t][n/2] for EPI_SWIGLU), as epi says.  Every matmul kernel stores
 * through this, so an epilogue is written once. */
void mm_store(Lower *L, MatEpi epi, LE at, const LE *r, int nr);
/* inv = 1/sqrt(mean(xr[0..n)^2) + NORM_EPS) as an f32 local, built at the
 * cursor (sum of squares in double): rmsnorm and the fused norms share it. */
LV rms_inverse(Lower *L, LV xr, int64_t n);
/* e^x lane-wise for an f32 vector of `lanes`, or a scalar (lanes 1): a
 * polynomial (~1e-7 relative; x clamped to [-87, 88]) emitted as
 * statements at the builder's cursor — no libm call in the matmul
 * epilogues (the int8 SwiGLU store spent ~6% of a q8_0 prefill in expf). */
LE lower_exp(Lower *L, LE x, int lanes);

/* ------------------------------------------------------------ the kernels
 * Each returns the kernel function for the shape, creating it on first
 * use; 0 with L->err set when it cannot be built.
 *
 * lower_gemm.c: the float formats' (f32, f16, bf16) matmul,
 * y[rows][N] (N/2 for EPI_SWIGLU) = x[rows][K] . w[N][K]^T with w packed
 * in panels (pack.h).  Entry: (c, y, ldy, x, w, rows). */
LF gemm_matmul(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi);
/* Floats each worker's f32 block of a 16-bit weight needs (the largest
 * over the graph's f16/bf16 matrices; 0: none): L->wf_floats, asked
 * before any kernel is built, so every GEMM's block fits WF_FLOATS. */
int64_t gemm_wf_floats(Lower *L);
/* ... and of one matmul's (0 when it does not convert: f32, or no panels). */
int64_t gemm_block_floats(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi);
/* (float *y, const void *w, int64_t row): row `row` of an [N][K] float-format
 * weight packed in panels (PACK_PANELS, pack.h), as K floats: the embedding
 * lookup of a tied embedding. */
LF kernel_weight_row(Lower *L, DType wt, int64_t N, int64_t K);

/* lower_qmatmul.c: the same matmul for the block formats (int8 kernels). */
LF kernel_qmatmul(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi);
/* (float *y, const void *row): one packed block-format row to floats. */
LF kernel_qdequant_row(Lower *L, DType wt, int64_t K);
/* (float *y, const void *w, int64_t row): row `row` of an [N][K]
 * block-format weight stored in panels (pack_panels.c), as floats: the
 * embedding lookup of a tied embedding. */
LF kernel_qpanel_row(Lower *L, DType wt, int64_t N, int64_t K);
/* Per-token floats of scratch the block-format matmuls need for their
 * int8 activation rows (c->qx): the largest over the graph's matmuls. */
int64_t qmatmul_scratch_floats(const Graph *g);

/* lower_kernels.c: norms, conv, RoPE, attention, elementwise maps.
 * kernel_dequant_row: (float *y, const void *row): one stored row of K
 * f16 or bf16 weights to floats — the embedding lookup of those formats. */
LF kernel_dequant_row(Lower *L, DType wt, int64_t K);
LF kernel_rmsnorm(Lower *L, int64_t n);
LF kernel_short_conv(Lower *L, int64_t H, int64_t Lc);
LF kernel_rope(Lower *L, int64_t heads, int64_t d);
LF kernel_attention(Lower *L);
/* Prefill attention (T >= ATTN_TILE_MIN): kt_task transposes the keys into
 * blocks of ATTN_KB positions (c->kt), attention_tiled_task runs tiles of
 * attn_tile_rows query rows against them; both take the attn_args. */
#define ATTN_KB 16
#define ATTN_TILE_MIN 16
#define ATTN_PREFETCH 16   /* attention_task: key and value rows prefetched this many keys ahead */
LF kernel_kt(Lower *L);
LF kernel_attention_tiled(Lower *L);
int attn_tile_rows(const Lower *L);
/* attention_task's query heads per item: the largest divisor of GROUP up to 8. */
int attn_heads_per_item(const Lower *L);
LF kernel_map(Lower *L, const char *op, int64_t width);   /* "mul", "add", "silu", "bias", "acc" */

/* lower_fused.c: the fused ops' kernels (passes/fuse.c).
 * kernel_rmsnorm_rows: (y, x, ldx, [w,] rows) — `groups` groups of n per
 *   row at x + r*ldx (a strided slice, e.g. q heads in the qkv output),
 *   weighted (RMSNORM) or not (RMSNORM_UNIT); y contiguous.
 * kernel_norm_rope: (y, x, ldx, w, cs, sn, T) — NORM_ROPE.
 * kernel_conv_chain: (y, bcx, ld, w, [b,] state, T) — CONV_CHAIN(_B). */
LF kernel_rmsnorm_rows(Lower *L, int64_t n, int64_t groups, int weighted);
LF kernel_norm_rope(Lower *L, int64_t heads, int64_t d);
LF kernel_conv_chain(Lower *L, int64_t H, int64_t Lc, int bias);

/* lower.c: the whole model for the target (NULL and err on failure). */
LModule *lower_model(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                     const CodegenOptions *o, LfmError *err);

/* print_c.c, header.c, print_llvm.c */
int print_c(const LModule *m, const Target *t, FILE *f, LfmError *err);
int write_header(const LModule *m, const Graph *g, const Checkpoint *ck, uint64_t blob_hash,
                 const CodegenOptions *o, int embedded, FILE *h, LfmError *err);

/* Builds, verifies, optimizes (default<O3>) and emits any module for t. */
int llvm_emit_module(const LModule *m, const Target *t, LlvmEmit kind, const char *path, LfmError *err);


#endif
