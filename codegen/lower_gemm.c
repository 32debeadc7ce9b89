/*
 * lower_gemm.c — matmuls with float weights (f32, f16, bf16): a
 * cache-blocked GEMM for many rows (prefill), a streaming GEMV for one or
 * a few (decode), both over weights packed in panels.
 *
 *   y[t][n] = sum_k x[t][k] * w[n][k]     t < rows, n < N, k < K
 *
 * The weight is stored as its kernels read it (pack.h, pack_panels.c):
 * panels of P = PACK_PANEL rows interleaved along K, so step k of a panel
 * is P consecutive values — the k-th weight of P output columns.  A
 * register tile of MR rows x NR vectors keeps MR*NR vector accumulators;
 * each step k loads NR weight vectors (converting f16/bf16 to f32 as they
 * are loaded), broadcasts MR activations x[t][k] and does MR*NR FMAs.
 * Each output column lives in one lane of one accumulator from the first
 * k to the last, so there are no horizontal sums, and any K works (no
 * vector tail).  With pairs (the SwiGLU matmul: weight rows w1_i, w3_i
 * packed as a panel of w1 rows then a panel of w3 rows) a tile keeps two
 * accumulators per output vector, a and b, and stores silu(a) * b.
 *
 * Loop nest of the GEMM (rows >= MR), per thread over its share of the
 * output columns (whole panels):
 *
 *   for each K block of KC                        partial sums; y = then y +=
 *     for each weight block of NCV vectors         KC x NCV*vw weights stay in L2
 *       for each row tile of MR rows               MR x KC activations stay in L1
 *         for each column tile of NR vectors       the register tile, k over the block
 *       leftover rows in tiles of 4, 2, 1 (the powers of two below MR)
 *
 * Fewer rows than MR (decode, short prompts) take the same tiles over the
 * whole K, with one row as a GEMV tile of fm_gnr vectors and fm_gku
 * independent accumulators per vector: the weights stream from memory
 * once, a panel being one sequential run of whole cache lines.  The rows
 * after the last whole panel (N mod P, stored as plain rows) are dot
 * products along K, by the thread that owns the last unit.
 *
 * Threads split the output columns in units of whole panels (pairs of
 * panels for SwiGLU): lfm2_parallel_for hands out chunks of contiguous
 * units, so each chunk streams its own part of the weight once.  A
 * column's sum does not depend on which tile or chunk computes it (k
 * ascending in every lane, K blocks in order), so results do not depend
 * on the split.
 *
 * 16-bit weights (f16, bf16) in the GEMM: each weight block is converted
 * to f32 once, into this worker's slot of the scratch (c->wf + worker *
 * WF_FLOATS; the pool says which worker runs a range), in the same panel
 * layout with the block's K extent, and every row tile reads it from
 * there as f32: the conversion is paid once per block instead of once per
 * row tile (a 512-token prompt has ~85 of them), and the tile's inner
 * loop is the f32 one.  The few-rows path converts as it loads (each
 * weight is read once there anyway).
 *
 * Tiles always start on a panel, so a tile reads the weight through one
 * pointer and the activations through another, every load at a constant
 * offset, and each row's broadcast is emitted right before its FMAs: C
 * compilers keep that order and stay within the register file.
 */
#include <string.h>

#include "lower.h"
#include "pack.h"


#define MAX_MR TILE_MAX_FLOAT
#define MAX_NR TILE_MAX_FLOAT   /* vectors: 16 scalars when vw is 1 */
#define MAX_ACC 4

typedef struct Gemm {
	Lower *L;
	LModule *m;
	DType wt;
	int64_t N, K;
	MatEpi epi;
	int pairs;          /* EPI_SWIGLU: a unit is two panels (w1 rows, w3 rows) */
	int vw;             /* f32 lanes of a vector */
	int vpp;            /* vectors per panel: PACK_PANEL / vw */
	int64_t units;      /* whole panels (pairs of panels) */
	int64_t N0;         /* first plain tail row: units * G */
	int64_t G;          /* weight rows per unit */
	int mr, nr, ku;     /* GEMM register tile and K unroll */
	int64_t kc;         /* K block (K: none) */
	int64_t ncv;        /* weight block, vectors of columns */
	int gnr, gku;       /* GEMV tile */
	int64_t ncv1;       /* weight block of the few-rows path */
	int cvt;            /* 16-bit weights: the GEMM's blocks are converted to f32 once (wf) */
	LE y, ldy, x, w;    /* the task's locals */
	/* where tiles read the weight: w itself (KS = K, from = 0), or this
	 * worker's converted block wf (KS = kc, columns from cb, k from k0) */
	LE src, src_c0, src_k0;
	int64_t KS;
	DType src_t;
} Gemm;

/* ------------------------------------------------------------ addressing */

/* Element offset (from w) of step k = 0 of the panel (SwiGLU: the pair
 * group) that starts at vector-column c, a multiple of vpp. */
static LE panel_base(Gemm *g, LE c)
{
	LModule *m = g->m;
	if (g->src_c0)
		c = le_sub(m, c, g->src_c0);
	LE panel = g->vpp > 1 ? le_div(m, c, I(g->L, g->vpp)) : c;
	return le_mul(m, panel, I(g->L, g->G * g->KS));
}

/* ... and of vector v of a tile, part 0 (w1 rows, or the only part) or 1
 * (w3 rows), from that base: a constant, so a tile needs one pointer. */
static int64_t vec_offset(Gemm *g, int v, int part)
{
	return (int64_t)(v / g->vpp) * g->G * g->KS + (int64_t)part * PACK_PANEL * g->KS + (int64_t)(v % g->vpp) * g->vw;
}

/* y[t][n..n+vw) of vector-column c */
static LE y_at(Gemm *g, LE t, LE c)
{
	LModule *m = g->m;
	return le_at(m, g->y, le_add(m, le_mul(m, t, g->ldy), le_mul(m, c, I(g->L, g->vw))));
}

/* silu(a) * b = a * b / (1 + exp(-a)), lane-wise */
static LE silu_mul(Gemm *g, LE a, LE b, int lanes)
{
	LModule *m = g->m;
	LE one = lanes > 1 ? le_splat(m, le_f32(m, 1), lanes) : le_f32(m, 1);
	return le_div(m, le_mul(m, a, b), le_add(m, one, lower_exp(g->L, le_neg(m, a), lanes)));
}

/* ------------------------------------------------------------ the tile
 * mr rows from t, nr vector-columns from c, k in [k0, k1): nacc sets of
 * accumulators (the K loop unrolled `unroll` times, step u adding into set
 * u % nacc), summed at the end, then stored:
 *   pairs:        y = silu(a) * b
 *   EPI_ACC:      y += acc
 *   EPI_STORE:    y = acc when `first` (0: always), else y += acc. */
static void tile(Gemm *g, int mr, int nr, int nacc, int unroll, LE t, LE c, LE k0, LE k1, int64_t klen,
                 LE first)
{
	Lower *L = g->L;
	LModule *m = g->m;
	int vw = g->vw, parts = g->pairs ? 2 : 1;
	LType vt = lt_vec(LK_F32, vw);
	LV acc[MAX_ACC][MAX_MR][MAX_NR][2];

	/* one pointer into the weight and one into the activations: every
	 * load of the K loop is at a constant offset from them (+ k) */
	lb_comment(m, "tile %dx%d%s", mr, nr, g->pairs ? " (w1, w3 pairs)" : "");
	LV wb = lb_let(m, "wb", weight_ptr_type(g->src_t), le_at(m, g->src, panel_base(g, c)));
	LV xb = lb_let(m, "xb", T_CPF(), le_at(m, g->x, le_mul(m, t, I(L, g->K))));
	LE zero = le_splat(m, le_f32(m, 0), vw);
	for (int s = 0; s < nacc; s++)
		for (int r = 0; r < mr; r++)
			for (int v = 0; v < nr; v++)
				for (int p = 0; p < parts; p++)
					acc[s][r][v][p] = lb_let(m, lm_fmt(m, "acc%d%d%s%s", r, v, parts > 1 ? (p ? "b" : "a") : "",
					                                   nacc > 1 ? lm_fmt(m, "_%d", s) : ""), vt, zero);
	/* the K loop: `unroll` steps per iteration, then single steps */
	LV k = lb_let(m, "k", T_I64(), k0);
	for (int pass = 0; pass < 2; pass++) {
		int steps = pass ? 1 : unroll;
		if (!pass && unroll == 1)
			continue;
		if (pass && unroll > 1 && klen >= 0 && klen % unroll == 0)
			break;
		LE hi = steps > 1 ? le_sub(m, k1, I(L, steps - 1)) : k1;
		lb_for(m, k, 0, hi, steps);
		for (int u = 0; u < steps; u++) {
			int s = pass ? 0 : u % nacc;
			LE ku = le_add(m, V(L, k), I(L, u));
			LE wo = le_mul(m, g->src_k0 ? le_sub(m, ku, g->src_k0) : ku, I(L, PACK_PANEL));
			LV wv[MAX_NR][2];
			for (int v = 0; v < nr; v++)
				for (int p = 0; p < parts; p++)
					wv[v][p] = lb_let(m, lm_fmt(m, "wv%d%s_%d", v, parts > 1 ? (p ? "b" : "a") : "", u), vt,
					                  load_weight_f32(L, g->src_t, le_at(m, V(L, wb), le_add(m, wo, I(L, vec_offset(g, v, p)))), vw));
			/* a row's broadcast right before its FMAs: one live at a time
			 * (a C compiler keeps this order; MR broadcasts up front spill) */
			for (int r = 0; r < mr; r++) {
				LV xr = lb_let(m, lm_fmt(m, "x%d_%d", r, u), vt,
				               le_splat(m, le_load(m, le_at(m, V(L, xb), le_add(m, ku, I(L, (int64_t)r * g->K))), 1), vw));
				for (int v = 0; v < nr; v++)
					for (int p = 0; p < parts; p++)
						lb_assign(m, acc[s][r][v][p],
						          le_fma(m, V(L, xr), V(L, wv[v][p]), V(L, acc[s][r][v][p])));
			}
		}
		lb_end(m);
	}
	/* the stores */
	LE sum[MAX_MR][MAX_NR][2];
	for (int r = 0; r < mr; r++)
		for (int v = 0; v < nr; v++)
			for (int p = 0; p < parts; p++) {
				LE e = V(L, acc[0][r][v][p]);
				for (int s = 1; s < nacc; s++)
					e = le_add(m, e, V(L, acc[s][r][v][p]));
				sum[r][v][p] = e;
			}
	/* y = (y += for EPI_ACC) in mode 0, y += in mode 1: on the first K
	 * block of EPI_STORE mode 0, on later ones mode 1 */
	if (first)
		lb_if(m, first);
	for (int mode = 0; mode < (first ? 2 : 1); mode++) {
		if (mode)
			lb_else(m);
		for (int r = 0; r < mr; r++)
			for (int v = 0; v < nr; v++) {
				LE at = y_at(g, le_add(m, t, I(L, r)), le_add(m, c, I(L, v)));
				if (g->pairs)
					lb_store(m, at, silu_mul(g, sum[r][v][0], sum[r][v][1], vw));
				else if (g->epi == EPI_ACC || mode == 1)
					lb_store(m, at, le_add(m, le_load(m, at, vw), sum[r][v][0]));
				else
					lb_store(m, at, sum[r][v][0]);
			}
	}
	if (first)
		lb_end(m);
}

/* Vector-columns [cb, ce) (whole panels) of rows t .. t+mr-1 in tiles of
 * nr (a multiple of vpp), then one panel at a time: every tile starts on
 * a panel. */
static void columns(Gemm *g, int mr, int nr, int nacc, int unroll, LE t, LE cb, LE ce, LE k0, LE k1,
                    int64_t klen, LE first)
{
	Lower *L = g->L;
	LModule *m = g->m;
	LV c = lb_let(m, "c", T_I64(), cb);
	if (nr > g->vpp) {
		lb_for(m, c, 0, le_sub(m, ce, I(L, nr - 1)), nr);
		tile(g, mr, nr, nacc, unroll, t, V(L, c), k0, k1, klen, first);
		lb_end(m);
	}
	lb_for(m, c, 0, ce, g->vpp);
	tile(g, mr, g->vpp, nacc, unroll, t, V(L, c), k0, k1, klen, first);
	lb_end(m);
}

/* Rows [t, rows) when fewer than `below` remain: tiles of the powers of
 * two under `below`, largest first; one row as the GEMV tile when gemv. */
static void leftover_rows(Gemm *g, int below, LV t, LE rows, LE cb, LE ce, LE k0, LE k1, int64_t klen,
                          LE first, int gemv)
{
	Lower *L = g->L;
	LModule *m = g->m;
	int top = 1;
	while (top * 2 < below)
		top *= 2;
	for (int h = top; h >= 1; h /= 2) {
		lb_if(m, le_bin(m, LE_LE, le_add(m, V(L, t), I(L, h)), rows));
		if (h == 1 && gemv)
			columns(g, 1, g->gnr, g->gku, g->gku, V(L, t), cb, ce, k0, k1, klen, first);
		else
			columns(g, h, g->nr, 1, g->ku, V(L, t), cb, ce, k0, k1, klen, first);
		lb_assign(m, t, le_add(m, V(L, t), I(L, h)));
		lb_end(m);
	}
}

/* The plain rows after the last whole unit: dot products along K. */
static void tail_rows(Gemm *g, LE rows)
{
	Lower *L = g->L;
	LModule *m = g->m;
	int64_t K = g->K;
	int vw = g->vw, one = g->pairs ? 2 : 1;
	int64_t Kv = K / vw * vw;
	LType vt = lt_vec(LK_F32, vw);
	lb_comment(m, "the %lld plain rows after the last panel", (long long)(g->N - g->N0));
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), rows, 1);
	LV xr = lb_let(m, "xr", T_CPF(), le_at(m, g->x, le_mul(m, V(L, t), I(L, K))));
	LV n = lm_local(m, "n", T_I64());
	lb_for(m, n, I(L, g->N0), I(L, g->N), one);
	LV wr[2], s[2];
	for (int j = 0; j < one; j++)
		wr[j] = lb_let(m, lm_fmt(m, "wr%d", j), weight_ptr_type(g->wt),
		               le_at(m, g->w, le_mul(m, le_add(m, V(L, n), I(L, j)), I(L, K))));
	for (int j = 0; j < one; j++) {
		LE init = le_f32(m, 0);
		if (Kv) {
			LV acc = lb_let(m, lm_fmt(m, "acc%d", j), vt, le_splat(m, le_f32(m, 0), vw));
			LV k = lm_local(m, "k", T_I64());
			lb_for(m, k, I(L, 0), I(L, Kv), vw);
			lb_assign(m, acc, le_fma(m, le_load(m, le_at(m, V(L, xr), V(L, k)), vw),
			                         load_weight_f32(L, g->wt, le_at(m, V(L, wr[j]), V(L, k)), vw), V(L, acc)));
			lb_end(m);
			init = le_reduce_add(m, V(L, acc));
		}
		s[j] = lb_let(m, lm_fmt(m, "s%d", j), T_F32(), init);
		if (K > Kv) {
			LV k = lm_local(m, "k", T_I64());
			lb_for(m, k, I(L, Kv), I(L, K), 1);
			lb_assign(m, s[j], le_fma(m, le_load(m, le_at(m, V(L, xr), V(L, k)), 1),
			                          load_weight_f32(L, g->wt, le_at(m, V(L, wr[j]), V(L, k)), 1), V(L, s[j])));
			lb_end(m);
		}
	}
	LE col = g->pairs ? le_div(m, V(L, n), I(L, 2)) : V(L, n);
	LE vals[2] = {V(L, s[0]), one > 1 ? V(L, s[1]) : 0};
	mm_store(L, g->epi, le_at(m, g->y, le_add(m, le_mul(m, V(L, t), g->ldy), col)), vals, one);
	lb_end(m);
	lb_end(m);
}

/* ------------------------------------------------------------ schedule */

static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

/* The tiles for this shape from L->sch (lower.h says what each knob
 * means): register tiles shrunk to fit the register file (pairs need two
 * accumulators per vector), blocks rounded to whole tiles. */
static void choose(Gemm *g)
{
	const Tiling *s = &g->L->sch;
	int regs = g->L->t->vector_regs >= 32 ? 32 : 16;
	int parts = g->pairs ? 2 : 1;
	int q = g->vpp;   /* tiles are whole panels: widths are multiples of vpp */
	g->mr = (int)imin(imax(s->fm_mr, 1), MAX_MR);
	g->nr = (int)imin(imax(s->fm_nr, q) / q * q, MAX_NR / q * q);
	/* accumulators, the tile's weight vectors and one broadcast must fit */
	while (g->nr > q && g->mr * g->nr * parts + g->nr * parts + 1 > regs)
		g->nr -= q;
	while (g->mr > 1 && g->mr * g->nr * parts + g->nr * parts + 1 > regs)
		g->mr--;
	g->ku = (int)imin(imax(s->fm_ku, 1), 8);
	g->gnr = s->fm_gnr > 0 ? (int)imin(imax(s->fm_gnr, q) / q * q, MAX_NR / q * q) : (int)imin(2 * q, MAX_NR / q * q);
	g->gku = (int)imin(imax(s->fm_gku, 1), MAX_ACC);
	while (g->gnr > q && g->gnr * g->gku * parts + g->gnr * parts + 1 > regs)
		g->gnr -= q;
	while (g->gku > 1 && g->gnr * g->gku * parts + g->gnr * parts + 1 > regs)
		g->gku--;
	/* K blocks: SwiGLU needs whole sums before its epilogue */
	g->kc = s->fm_kc > 0 && !g->pairs ? imin(s->fm_kc, g->K) : g->K;
	/* weight blocks: fm_nb weight rows, or about fm_block weights; whole tiles */
	int64_t per_vec = (int64_t)g->vw * parts;   /* weight rows per vector-column */
	int64_t block = imax(s->fm_block, 1);
	g->ncv = s->fm_nb > 0 ? s->fm_nb / per_vec : block / (g->kc * per_vec);
	g->ncv = imax(g->ncv / g->nr * g->nr, g->nr);
	g->ncv1 = s->fm_nb > 0 ? s->fm_nb / per_vec : block / (g->K * per_vec);
	g->ncv1 = imax(g->ncv1 / g->nr * g->nr, g->nr);
}

/* ------------------------------------------------------------ kernels */

/* Tiles read the weight itself (panel K extent K, from column 0, k 0) ... */
static void read_weight(Gemm *g)
{
	g->src = g->w;
	g->src_t = g->wt;
	g->KS = g->K;
	g->src_c0 = g->src_k0 = 0;
}

/* ... or this worker's f32 copy of the block that starts at vector-column
 * cb and K index k0 (K extent kc). */
static void read_block(Gemm *g, LE wf, LE cb, LE k0)
{
	g->src = wf;
	g->src_t = DT_F32;
	g->KS = g->kc;
	g->src_c0 = cb;
	g->src_k0 = k0;
}

/* dst (this worker's wf) = the weight's vector-columns [cb, ce) (whole
 * panels), k in [k0, k1), as f32 in the same panel layout with K extent
 * kc: panel u of the block at u * G * kc, step k at (k - k0) * P.  Each
 * panel's (part's) steps are one contiguous run in both. */
static void convert_block(Gemm *g, LE dst, LE cb, LE ce, LE k0, LE k1)
{
	Lower *L = g->L;
	LModule *m = g->m;
	int vw = g->vw, parts = g->pairs ? 2 : 1;
	lb_comment(m, "the block's %s weights in f32, once for all the row tiles", dtype_name(g->wt));
	LV u = lm_local(m, "u", T_I64());
	LE units = le_div(m, le_sub(m, ce, cb), I(L, g->vpp));
	LV run = lb_let(m, "run", T_I64(), le_mul(m, le_sub(m, k1, k0), I(L, PACK_PANEL)));
	lb_for(m, u, I(L, 0), units, 1);
	LE panel = le_add(m, le_div(m, cb, I(L, g->vpp)), V(L, u));
	for (int p = 0; p < parts; p++) {
		LE so = le_add(m, le_add(m, le_mul(m, panel, I(L, g->G * g->K)), I(L, (int64_t)p * PACK_PANEL * g->K)),
		               le_mul(m, k0, I(L, PACK_PANEL)));
		LE dofs = le_add(m, le_mul(m, V(L, u), I(L, g->G * g->kc)), I(L, (int64_t)p * PACK_PANEL * g->kc));
		LV sp = lb_let(m, lm_fmt(m, "cs%d", p), weight_ptr_type(g->wt), le_at(m, g->w, so));
		LV dp = lb_let(m, lm_fmt(m, "cd%d", p), T_PF(), le_at(m, dst, dofs));
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, 0), V(L, run), vw);   /* run is a multiple of P, so of vw */
		lb_store(m, le_at(m, V(L, dp), V(L, i)), load_weight_f32(L, g->wt, le_at(m, V(L, sp), V(L, i)), vw));
		lb_end(m);
	}
	lb_end(m);
}

/* The task: units [i0, i1), unit `units` being the plain tail rows. */
static LF gemm_task(Gemm *g, const char *name)
{
	Lower *L = g->L;
	LModule *m = g->m;
	int64_t K = g->K;
	LF task = lm_func(m, lm_fmt(m, "%s_task", name), lt_scalar(LK_VOID), LL_STATIC,
	                  lm_fmt(m, "y[rows][%lld] %s x[rows][%lld] . w[%lld][%lld]^T for the columns of "
	                         "units [i0, i1) (panels of %d rows%s; unit %lld: the plain tail rows).\n"
	                         "rows >= %d: K blocks of %lld, weight blocks of %lld vectors, tiles %dx%d "
	                         "(K unrolled %d); fewer rows: whole K, tiles 4, 2, then 1x%d (%d accumulators "
	                         "each); f32 x %d vectors%s.",
	                         (long long)(g->pairs ? g->N / 2 : g->N), g->epi == EPI_ACC ? "+=" : "=",
	                         (long long)K, (long long)g->N, (long long)K, PACK_PANEL,
	                         g->pairs ? " in w1, w3 pairs, stored silu(w1 x) * w3 x" : "", (long long)g->units,
	                         g->mr, (long long)g->kc, (long long)g->ncv, g->mr, g->nr, g->ku, g->gnr, g->gku,
	                         g->vw, g->cvt ? (g->wt == DT_F16 ? "; f16 weight blocks converted to f32 once per block (wf), as loaded in the few-rows path"
	                                                          : "; bf16 weight blocks widened to f32 once per block (wf), as loaded in the few-rows path")
	                                : g->wt == DT_F16 ? "; f16 weights converted as loaded"
	                                : g->wt == DT_BF16 ? "; bf16 weights widened as loaded" : ""));
	LV arg = lm_param(m, task, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, task, "i0", T_I64());
	LV i1 = lm_param(m, task, "i1", T_I64());
	LV worker = lm_param(m, task, "worker", T_I32());
	lb_begin(m, task);
	LV a = lb_let(m, "a", lt_struct_ptr(L->s_mm_args, 1), le_ptr_cast(m, V(L, arg), lt_struct_ptr(L->s_mm_args, 1)));
	g->y = V(L, lb_let(m, "y", T_PF(), le_field(m, V(L, a), "y")));
	g->ldy = V(L, lb_let(m, "ldy", T_I64(), le_field(m, V(L, a), "ldy")));
	g->x = V(L, lb_let(m, "x", T_CPF(), le_field(m, V(L, a), "x")));
	LE wf = le_field(m, V(L, a), "w");
	g->w = V(L, lb_let(m, "w", weight_ptr_type(g->wt), g->wt == DT_F32 ? wf : le_ptr_cast(m, wf, weight_ptr_type(g->wt))));
	LV rows = lb_let(m, "rows", T_I64(), le_field(m, V(L, a), "rows"));
	LE R = V(L, rows);
	read_weight(g);
	LE wfb = g->cvt ? V(L, lb_let(m, "wf", T_PF(), le_at(m, le_field(m, V(L, a), "wf"),
	                                                      le_mul(m, le_convert(m, V(L, worker), T_I64()),
	                                                             le_named(m, "WF_FLOATS")))))
	               : 0;
	LV c0 = lb_let(m, "c0", T_I64(), le_mul(m, V(L, i0), I(L, g->vpp)));
	LV c1 = lb_let(m, "c1", T_I64(), le_mul(m, le_bin(m, LE_MIN, V(L, i1), I(L, g->units)), I(L, g->vpp)));
	LV t = lb_let(m, "t", T_I64(), I(L, 0));
	LV cb = lm_local(m, "cb", T_I64());
	if (g->units) {
		/* many rows: the blocked GEMM */
		lb_if(m, le_bin(m, LE_LE, I(L, g->mr), R));
		int blocked = g->kc < K;
		LV kb = lm_local(m, "kb", T_I64());
		LE k0 = I(L, 0), k1 = I(L, K), first = 0;
		if (blocked) {
			lb_for(m, kb, I(L, 0), I(L, K), g->kc);
			k0 = V(L, kb);
			k1 = V(L, lb_let(m, "ke", T_I64(), le_bin(m, LE_MIN, le_add(m, V(L, kb), I(L, g->kc)), I(L, K))));
			if (g->epi == EPI_STORE)
				first = le_bin(m, LE_EQ, V(L, kb), I(L, 0));
		}
		int64_t klen = K % g->kc ? -1 : g->kc;
		lb_for(m, cb, V(L, c0), V(L, c1), g->ncv);
		LE ce = V(L, lb_let(m, "ce", T_I64(), le_bin(m, LE_MIN, le_add(m, V(L, cb), I(L, g->ncv)), V(L, c1))));
		if (g->cvt) {   /* this block in f32, once for all the row tiles */
			convert_block(g, wfb, V(L, cb), ce, k0, k1);
			read_block(g, wfb, V(L, cb), k0);
		}
		lb_assign(m, t, I(L, 0));
		lb_for(m, t, 0, le_sub(m, R, I(L, g->mr - 1)), g->mr);
		columns(g, g->mr, g->nr, 1, g->ku, V(L, t), V(L, cb), ce, k0, k1, klen, first);
		lb_end(m);
		if (g->mr > 1)
			leftover_rows(g, g->mr, t, R, V(L, cb), ce, k0, k1, klen, first, 0);
		read_weight(g);
		lb_end(m);
		if (blocked)
			lb_end(m);
		/* few rows: whole K, the weights streamed once per row tile */
		lb_else(m);
		lb_for(m, cb, V(L, c0), V(L, c1), g->ncv1);
		LE ce1 = V(L, lb_let(m, "ce", T_I64(), le_bin(m, LE_MIN, le_add(m, V(L, cb), I(L, g->ncv1)), V(L, c1))));
		lb_assign(m, t, I(L, 0));
		leftover_rows(g, g->mr > 1 ? g->mr : 2, t, R, V(L, cb), ce1, I(L, 0), I(L, K), K, 0, 1);
		lb_end(m);
		lb_end(m);
	}
	if (g->N0 < g->N) {
		lb_if(m, le_bin(m, LE_LT, I(L, g->units), V(L, i1)));
		tail_rows(g, R);
		lb_end(m);
	}
	lb_finish(m);
	return task;
}

/* g for this matmul, its tiles chosen. */
static void setup(Gemm *g, Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi)
{
	memset(g, 0, sizeof *g);
	g->L = L;
	g->m = L->m;
	g->wt = wt;
	g->N = N;
	g->K = K;
	g->epi = epi;
	g->pairs = epi == EPI_SWIGLU;
	g->vw = L->sch.vw < PACK_PANEL ? L->sch.vw : PACK_PANEL;
	if (g->vw < 1)
		g->vw = 1;
	g->vpp = PACK_PANEL / g->vw;
	g->G = (int64_t)PACK_PANEL * (g->pairs ? 2 : 1);
	g->units = N / g->G;
	g->N0 = g->units * g->G;
	choose(g);
}

/* Floats of one weight block in f32 (ncv vectors of columns x kc), when
 * the GEMM converts its 16-bit weight blocks; 0 when it does not. */
static int64_t block_floats(const Gemm *g)
{
	if ((g->wt != DT_F16 && g->wt != DT_BF16) || !g->units)
		return 0;
	return g->ncv * g->vw * (g->pairs ? 2 : 1) * g->kc;
}

int64_t gemm_wf_floats(Lower *L)
{
	const Graph *gr = L->g;
	int64_t most = 0;
	for (Ref r = 1; r < gr->n_nodes; r++) {
		const Node *nd = &gr->nodes[r];
		if (nd->op != OP_WEIGHT || nd->shape.ndim != 2)
			continue;
		DType wt = gr->weights[nd->aux].dtype;
		PackLayout lay = pack_weight_layout(gr, nd->aux);
		if (lay != PACK_PANELS && lay != PACK_PAIRS)
			continue;
		int64_t b = gemm_block_floats(L, wt, nd->shape.d[0], nd->shape.d[1],
		                              lay == PACK_PAIRS ? EPI_SWIGLU : EPI_STORE);
		most = b > most ? b : most;
	}
	return most;
}

int64_t gemm_block_floats(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi)
{
	Gemm g;
	setup(&g, L, wt, N, K, epi);
	return block_floats(&g);
}

LF gemm_matmul(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi)
{
	LModule *m = L->m;
	static const char *const epi_suffix[] = {"", "_acc", "_swiglu"};
	/* f32 keeps the plain name; other formats are named by it */
	const char *name = lm_fmt(m, "matmul_%s%s%lldx%lld%s", wt == DT_F32 ? "" : dtype_name(wt),
	                          wt == DT_F32 ? "" : "_", (long long)N, (long long)K, epi_suffix[epi]);
	LF f = lm_find_func(m, name);
	if (f)
		return f;
	Gemm g;
	setup(&g, L, wt, N, K, epi);
	int64_t blk = block_floats(&g);
	g.cvt = blk > 0 && blk <= L->wf_floats;
	LF task = gemm_task(&g, name);
	int64_t n_units = g.units + (g.N0 < N);

	f = lm_func(m, name, lt_scalar(LK_VOID), LL_STATIC,
	            lm_fmt(m, "y[rows][%lld] %s x[rows][%lld] . w[%lld][%lld]^T (w packed in panels), "
	                   "on the pool.", (long long)(g.pairs ? N / 2 : N), epi == EPI_ACC ? "+=" : "=",
	                   (long long)K, (long long)N, (long long)K));
	LV c = lm_param(m, f, "c", lt_struct_ptr(L->s_call, 1));
	LV y = lm_param(m, f, "y", T_PF());
	LV ldy = lm_param(m, f, "ldy", T_I64());
	LV x = lm_param(m, f, "x", T_CPF());
	LV w = lm_param(m, f, "w", weight_ptr_type(wt));
	LV r = lm_param(m, f, "rows", T_I64());
	lb_begin(m, f);
	LE wa = wt == DT_F32 ? V(L, w) : le_ptr_cast(m, V(L, w), T_CPF());
	LE fields[6] = {V(L, y), V(L, ldy), V(L, x), wa, V(L, r), le_field(m, V(L, c), "wf")};
	LV args = lb_let(m, "a", lt_struct(L->s_mm_args), le_agg(m, lt_struct(L->s_mm_args), fields, 6, NULL));
	LE call[5] = {V(L, c), I(L, n_units), le_mul(m, V(L, r), I(L, N * K)), le_func(m, task), le_addr(m, args)};
	lb_eval(m, le_call(m, L->f_run, call, 5));
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------ one row */

LF kernel_weight_row(Lower *L, DType wt, int64_t N, int64_t K)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "weight_row_%s_%lldx%lld", dtype_name(wt), (long long)N, (long long)K);
	int64_t full = N / PACK_PANEL * PACK_PANEL;
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[0..%lld) = row `row` of a [%lld][%lld] %s weight packed in panels of %d rows "
	                   "(rows from %lld plain), as floats.", (long long)K, (long long)N, (long long)K,
	                   dtype_name(wt), PACK_PANEL, (long long)full), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV w = lm_param(m, f, "w", lt_ptr(LK_VOID, 1));
	LV row = lm_param(m, f, "row", T_I64());
	lb_begin(m, f);
	LV wp = lb_let(m, "wp", weight_ptr_type(wt), le_ptr_cast(m, V(L, w), weight_ptr_type(wt)));
	if (full) {
		lb_if(m, le_bin(m, LE_LT, V(L, row), I(L, full)));
		LE panel = le_div(m, V(L, row), I(L, PACK_PANEL));
		LE lane = le_bin(m, LE_REM, V(L, row), I(L, PACK_PANEL));
		LV p = lb_let(m, "p", weight_ptr_type(wt),
		              le_at(m, V(L, wp), le_add(m, le_mul(m, panel, I(L, (int64_t)PACK_PANEL * K)), lane)));
		LV k = lm_local(m, "k", T_I64());
		lb_for(m, k, I(L, 0), I(L, K), 1);
		lb_store(m, le_at(m, V(L, y), V(L, k)),
		         load_weight_f32(L, wt, le_at(m, V(L, p), le_mul(m, V(L, k), I(L, PACK_PANEL))), 1));
		lb_end(m);
		lb_return(m, 0);
		lb_end(m);
	}
	if (full < N) {
		LV p = lb_let(m, "r", weight_ptr_type(wt), le_at(m, V(L, wp), le_mul(m, V(L, row), I(L, K))));
		LV k = lm_local(m, "k", T_I64());
		lb_for(m, k, I(L, 0), I(L, K), 1);
		lb_store(m, le_at(m, V(L, y), V(L, k)), load_weight_f32(L, wt, le_at(m, V(L, p), V(L, k)), 1));
		lb_end(m);
	}
	lb_finish(m);
	return f;
}
