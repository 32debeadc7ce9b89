/*
 * lower_kernels.c — the kernels of the model, written once, in the loop
 * form.
 *
 * Each kernel_* function returns the function for one shape, building it
 * the first time it is asked for: matmul_3072x1024, rmsnorm_1024, ...  The
 * sizes are constants in the body, so both backends compile loops of known
 * trip counts.  How a kernel is tiled comes from L->sch (lower.h); the
 * structure of each kernel is described above its builder.
 *
 * Hot loops are explicit vectors; elementwise kernels are a vector loop
 * plus a scalar tail.  The matmuls are in lower_gemm.c (float weights)
 * and lower_qmatmul.c (block formats).
 */
#include <math.h>
#include <string.h>

#include "lower.h"
#include "formats.h"

/* ------------------------------------------------------------ rmsnorm
 * y[r] = w * x[r] / sqrt(mean(x[r]^2) + NORM_EPS) for each of `rows` rows
 * of n.  The sum of squares is accumulated in f64 vectors (cheap, and the
 * normalisation is then exact to f32 rounding for any row length). */
LF kernel_rmsnorm(Lower *L, int64_t n)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "rmsnorm_%lld", (long long)n);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[r] = w * x[r] / sqrt(mean(x[r]^2) + NORM_EPS), rows of %lld; "
	                   "sum of squares in double", (long long)n), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV x = lm_param(m, f, "x", T_CPF());
	LV w = lm_param(m, f, "w", T_CPF());
	LV rows = lm_param(m, f, "rows", T_I64());
	lb_begin(m, f);
	int vf = pick_lanes(L->sch.vw, n);
	LV r = lm_local(m, "r", T_I64());
	lb_for(m, r, I(L, 0), V(L, rows), 1);
	LV xr = lb_let(m, "xr", T_CPF(), le_at(m, V(L, x), le_mul(m, V(L, r), I(L, n))));
	LV yr = lb_let(m, "yr", T_PF(), le_at(m, V(L, y), le_mul(m, V(L, r), I(L, n))));
	LV s = rms_inverse(L, xr, n);
	for (int pass = 0; pass < 2; pass++) {
		int lanes = pass ? 1 : vf;
		int64_t lo = pass ? (vf > 1 ? n / vf * vf : 0) : 0, hi = pass ? n : (vf > 1 ? n / vf * vf : 0);
		if (hi <= lo)
			continue;
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, lo), I(L, hi), lanes);
		LE xv = le_load(m, le_at(m, V(L, xr), V(L, i)), lanes);
		LE wv = le_load(m, le_at(m, V(L, w), V(L, i)), lanes);
		lb_store(m, le_at(m, V(L, yr), V(L, i)), le_mul(m, wv, le_mul(m, xv, le_splat(m, V(L, s), lanes))));
		lb_end(m);
	}
	lb_end(m);
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------ short conv
 * Causal depthwise cross-correlation of z [T][H] with taps w [H][L]:
 *   y[t][c] = sum_k w[c][k] * zz[t+k][c],  zz = [state (L-1 rows); z]
 * then state = the last L-1 rows of zz.  The newest row meets tap L-1.
 * The taps are unrolled (L is a constant); the channel loop is left to the
 * backend's vectorizer (the taps are strided by L in memory). */
LF kernel_short_conv(Lower *L, int64_t H, int64_t Lc)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "short_conv_%lld", (long long)H);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[t][c] = sum_k w[c][k] * zz[t+k][c], zz = [state; z]; then state = "
	                   "last %lld rows of zz.\nstate: [%lld][%lld], z, y: [T][%lld], w: [%lld][%lld]",
	                   (long long)(Lc - 1), (long long)(Lc - 1), (long long)H, (long long)H,
	                   (long long)H, (long long)Lc), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV z = lm_param(m, f, "z", T_CPF());
	LV w = lm_param(m, f, "w", T_CPF());
	LV state = lm_param(m, f, "state", T_PF());
	LV T = lm_param(m, f, "T", T_I64());
	lb_begin(m, f);
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), V(L, T), 1);
	LV src[16];
	for (int64_t k = 0; k < Lc && k < 16; k++) {
		/* row t + k - (L-1) of zz: from the state while negative */
		LE row = le_add(m, V(L, t), I(L, k - (Lc - 1)));
		LE from_state = le_at(m, V(L, state), le_mul(m, le_add(m, row, I(L, Lc - 1)), I(L, H)));
		LE from_z = le_at(m, V(L, z), le_mul(m, row, I(L, H)));
		LE p = k == Lc - 1 ? from_z
		                   : le_select(m, le_bin(m, LE_LT, row, I(L, 0)), le_ptr_cast(m, from_state, T_CPF()), from_z);
		src[k] = lb_let(m, lm_fmt(m, "z%lld", (long long)k), T_CPF(), p);
	}
	LV yt = lb_let(m, "yt", T_PF(), le_at(m, V(L, y), le_mul(m, V(L, t), I(L, H))));
	LV c = lm_local(m, "c", T_I64());
	lb_for(m, c, I(L, 0), I(L, H), 1);
	LE sum = 0;
	for (int64_t k = 0; k < Lc && k < 16; k++) {
		LE tap = le_load(m, le_at(m, V(L, w), le_add(m, le_mul(m, V(L, c), I(L, Lc)), I(L, k))), 1);
		LE term = le_mul(m, tap, le_load(m, le_at(m, V(L, src[k]), V(L, c)), 1));
		sum = sum ? le_add(m, sum, term) : term;
	}
	lb_store(m, le_at(m, V(L, yt), V(L, c)), sum);
	lb_end(m);
	lb_end(m);
	/* the new state: the last L-1 rows of zz */
	for (int64_t r = 0; r < Lc - 1; r++) {
		LE srow = le_add(m, V(L, T), I(L, r - (Lc - 1)));   /* row of z, or < 0: keep older state */
		LE dst = le_at(m, V(L, state), I(L, r * H));
		LE bytes = I(L, H * 4);
		lb_if(m, le_bin(m, LE_LE, I(L, 0), srow));
		lb_memcpy(m, dst, le_at(m, V(L, z), le_mul(m, srow, I(L, H))), bytes);
		lb_else(m);
		lb_memmove(m, dst, le_at(m, V(L, state), le_mul(m, le_add(m, I(L, r), V(L, T)), I(L, H))), bytes);
		lb_end(m);
	}
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------------ rope
 * NeoX rotate-half RoPE on x [T][heads][d]: element i pairs with i + d/2;
 * cs, sn: [T][d/2] tables of this call's positions. */
LF kernel_rope(Lower *L, int64_t heads, int64_t d)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "rope_%lldx%lld", (long long)heads, (long long)d);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "NeoX RoPE on [T][%lld][%lld]: y[i] = x[i] cos - x[i+%lld] sin, "
	                   "y[i+%lld] = x[i+%lld] cos + x[i] sin", (long long)heads, (long long)d,
	                   (long long)d / 2, (long long)d / 2, (long long)d / 2), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV x = lm_param(m, f, "x", T_CPF());
	LV cs = lm_param(m, f, "cs", T_CPF());
	LV sn = lm_param(m, f, "sn", T_CPF());
	LV T = lm_param(m, f, "T", T_I64());
	lb_begin(m, f);
	int64_t half = d / 2;
	int lanes = pick_lanes(L->sch.vw, half);
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), V(L, T), 1);
	LV c = lb_let(m, "cos_t", T_CPF(), le_at(m, V(L, cs), le_mul(m, V(L, t), I(L, half))));
	LV s = lb_let(m, "sin_t", T_CPF(), le_at(m, V(L, sn), le_mul(m, V(L, t), I(L, half))));
	LV h = lm_local(m, "h", T_I64());
	lb_for(m, h, I(L, 0), I(L, heads), 1);
	LE row = le_mul(m, le_add(m, le_mul(m, V(L, t), I(L, heads)), V(L, h)), I(L, d));
	LV xi = lb_let(m, "xi", T_CPF(), le_at(m, V(L, x), row));
	LV yi = lb_let(m, "yi", T_PF(), le_at(m, V(L, y), row));
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, I(L, 0), I(L, half), lanes);
	LE ih = le_add(m, V(L, i), I(L, half));
	LV a = lb_let(m, "a", lt_vec(LK_F32, lanes), le_load(m, le_at(m, V(L, xi), V(L, i)), lanes));
	LV b = lb_let(m, "b", lt_vec(LK_F32, lanes), le_load(m, le_at(m, V(L, xi), ih), lanes));
	LV cv = lb_let(m, "cv", lt_vec(LK_F32, lanes), le_load(m, le_at(m, V(L, c), V(L, i)), lanes));
	LV sv = lb_let(m, "sv", lt_vec(LK_F32, lanes), le_load(m, le_at(m, V(L, s), V(L, i)), lanes));
	lb_store(m, le_at(m, V(L, yi), V(L, i)),
	         le_sub(m, le_mul(m, V(L, a), V(L, cv)), le_mul(m, V(L, b), V(L, sv))));
	lb_store(m, le_at(m, V(L, yi), ih), le_add(m, le_mul(m, V(L, b), V(L, cv)), le_mul(m, V(L, a), V(L, sv))));
	lb_end(m);
	lb_end(m);
	lb_end(m);
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------- attention
 * For query row t (position pos+t) and head h (kv head h / GROUP):
 *   y = softmax_j(q . K[j] * ATTN_SCALE) V[j]   over j = 0 .. pos+t,
 * in one pass over the keys with a running maximum (the "online
 * softmax"), in blocks of 64 keys.  K, V: [ctx][KV_DIM].  q and the output
 * row are held in d/dv vector registers each. */
LF kernel_attention(Lower *L)
{
	LModule *m = L->m;
	LF f = lm_find_func(m, "attention_task");
	if (f)
		return f;
	const LfmConfig *cfg = L->cfg;
	int64_t nh = cfg->n_heads, d = cfg->head_dim, group = cfg->n_heads / cfg->n_kv_heads;
	int64_t kvd = (int64_t)cfg->n_kv_heads * d;
	const int BLOCK = L->sch.attn_block;   /* keys per block (schedule: tiles.attention_block) */
	f = lm_func(m, "attention_task", lt_scalar(LK_VOID), LL_STATIC,
	            lm_fmt(m, "Causal GQA attention for items [i0, i1) of T x N_HEADS (query row, head):\n"
	                   "y = softmax_j(q . K[j] * ATTN_SCALE) V[j], j <= pos + t; online softmax over "
	                   "blocks of %d keys.", BLOCK));
	LV arg = lm_param(m, f, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, f, "i0", T_I64());
	LV i1 = lm_param(m, f, "i1", T_I64());
	lm_param(m, f, "worker", T_I32());
	lb_begin(m, f);
	LV a = lb_let(m, "a", lt_struct_ptr(L->s_attn_args, 1),
	              le_ptr_cast(m, V(L, arg), lt_struct_ptr(L->s_attn_args, 1)));
	LV s = lm_array(m, "s", T_F32(), BLOCK);
	int dv = pick_lanes(L->sch.vw, d);
	int nv = (int)(d / dv);
	LType vt = lt_vec(LK_F32, dv);
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, V(L, i0), V(L, i1), 1);
	LV t = lb_let(m, "t", T_I64(), le_div(m, V(L, i), le_named(m, "N_HEADS")));
	LV h = lb_let(m, "h", T_I64(), le_bin(m, LE_REM, V(L, i), le_named(m, "N_HEADS")));
	LV kh = lb_let(m, "kh", T_I64(), le_div(m, V(L, h), I(L, group)));
	LE row = le_mul(m, le_add(m, le_mul(m, V(L, t), I(L, nh)), V(L, h)), I(L, d));
	LV q = lb_let(m, "q", T_CPF(), le_at(m, le_field(m, V(L, a), "q"), row));
	LV y = lb_let(m, "y", T_PF(), le_at(m, le_field(m, V(L, a), "y"), row));
	LV S = lb_let(m, "S", T_I64(), le_add(m, le_add(m, le_field(m, V(L, a), "pos"), V(L, t)), I(L, 1)));
	LV Kp = lb_let(m, "K", T_CPF(), le_at(m, le_field(m, V(L, a), "K"), le_mul(m, V(L, kh), I(L, d))));
	LV Vp = lb_let(m, "V", T_CPF(), le_at(m, le_field(m, V(L, a), "V"), le_mul(m, V(L, kh), I(L, d))));
	LV qv[64], yv[64];
	for (int e = 0; e < nv && e < 64; e++)
		qv[e] = lb_let(m, lm_fmt(m, "q%d", e), vt, le_load(m, le_at(m, V(L, q), I(L, (int64_t)e * dv)), dv));
	for (int e = 0; e < nv && e < 64; e++)
		yv[e] = lb_let(m, lm_fmt(m, "y%d", e), vt, le_splat(m, le_f32(m, 0), dv));
	LV mx = lb_let(m, "m", T_F32(), le_f32(m, -INFINITY));
	LV l = lb_let(m, "l", T_F32(), le_f32(m, 0));
	LV j0 = lm_local(m, "j0", T_I64());
	lb_for(m, j0, I(L, 0), V(L, S), BLOCK);
	LV nb = lb_let(m, "nb", T_I64(), le_bin(m, LE_MIN, le_sub(m, V(L, S), V(L, j0)), I(L, BLOCK)));
	LV bm = lb_let(m, "bm", T_F32(), le_f32(m, -INFINITY));
	LV j = lm_local(m, "j", T_I64());
	lb_for(m, j, I(L, 0), V(L, nb), 1);
	LV kr = lb_let(m, "kr", T_CPF(), le_at(m, V(L, Kp), le_mul(m, le_add(m, V(L, j0), V(L, j)), I(L, kvd))));
	LE dot = 0;
	for (int e = 0; e < nv && e < 64; e++) {
		LE kv = le_load(m, le_at(m, V(L, kr), I(L, (int64_t)e * dv)), dv);
		dot = dot ? le_fma(m, V(L, qv[e]), kv, dot) : le_mul(m, V(L, qv[e]), kv);
	}
	LV sj = lb_let(m, "sj", T_F32(), le_mul(m, le_reduce_add(m, dot), le_named(m, "ATTN_SCALE")));
	lb_store(m, le_at(m, le_addr(m, s), V(L, j)), V(L, sj));
	lb_assign(m, bm, le_bin(m, LE_MAX, V(L, sj), V(L, bm)));
	lb_end(m);
	LV nm = lb_let(m, "nm", T_F32(), le_bin(m, LE_MAX, V(L, bm), V(L, mx)));
	LV corr = lb_let(m, "corr", T_F32(), le_math(m, LE_EXP, le_sub(m, V(L, mx), V(L, nm))));
	lb_assign(m, l, le_mul(m, V(L, l), V(L, corr)));
	for (int e = 0; e < nv && e < 64; e++)
		lb_assign(m, yv[e], le_mul(m, V(L, yv[e]), le_splat(m, V(L, corr), dv)));
	/* s[j] = exp(s[j] - nm) for the block: vectors (lower_exp), then scalars */
	int ev = L->sch.vw > 1 ? L->sch.vw : 1;
	LV je = lb_let(m, "je", T_I64(), I(L, 0));
	if (ev > 1) {
		lb_for(m, je, 0, le_sub(m, V(L, nb), I(L, ev - 1)), ev);
		LE at = le_at(m, le_addr(m, s), V(L, je));
		lb_store(m, at, lower_exp(L, le_sub(m, le_load(m, at, ev), le_splat(m, V(L, nm), ev)), ev));
		lb_end(m);
	}
	lb_for(m, je, 0, V(L, nb), 1);
	LE at1 = le_at(m, le_addr(m, s), V(L, je));
	lb_store(m, at1, le_math(m, LE_EXP, le_sub(m, le_load(m, at1, 1), V(L, nm))));
	lb_end(m);
	LV j2 = lm_local(m, "j", T_I64());
	lb_for(m, j2, I(L, 0), V(L, nb), 1);
	LV p = lb_let(m, "p", T_F32(), le_load(m, le_at(m, le_addr(m, s), V(L, j2)), 1));
	LV vr = lb_let(m, "vr", T_CPF(), le_at(m, V(L, Vp), le_mul(m, le_add(m, V(L, j0), V(L, j2)), I(L, kvd))));
	lb_assign(m, l, le_add(m, V(L, l), V(L, p)));
	LV pv = lb_let(m, "pv", vt, le_splat(m, V(L, p), dv));
	for (int e = 0; e < nv && e < 64; e++)
		lb_assign(m, yv[e], le_fma(m, V(L, pv), le_load(m, le_at(m, V(L, vr), I(L, (int64_t)e * dv)), dv),
		                          V(L, yv[e])));
	lb_end(m);
	lb_assign(m, mx, V(L, nm));
	lb_end(m);
	LV lv = lb_let(m, "lv", vt, le_splat(m, V(L, l), dv));
	for (int e = 0; e < nv && e < 64; e++)
		lb_store(m, le_at(m, V(L, y), I(L, (int64_t)e * dv)), le_div(m, V(L, yv[e]), V(L, lv)));
	lb_end(m);
	lb_finish(m);
	return f;
}

/* --------------------------------------------------------- elementwise
 * map kernels over rows of `width` floats, each row a vector loop plus a
 * scalar tail:
 *   mul_W(y, ldy, a, lda, b, ldb, rows)   y = a * b
 *   add_W(y, ldy, a, lda, b, ldb, rows)   y = a + b  (ldb = 0: b is one row, a bias)
 *   silu_W(y, ldy, a, lda, rows)          y = a / (1 + exp(-a))
 */
LF kernel_map(Lower *L, const char *op, int64_t width)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "%s_%lld", op, (long long)width);
	int unary = !strcmp(op, "silu");
	const char *what = !strcmp(op, "mul") ? "y = a * b" : !strcmp(op, "add") ? "y = a + b (ldb 0: b is a bias row)"
	                                                                         : "y = silu(a) = a / (1 + exp(-a))";
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "%s over rows of %lld", what, (long long)width), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV ldy = lm_param(m, f, "ldy", T_I64());
	LV a = lm_param(m, f, "a", T_CPF());
	LV lda = lm_param(m, f, "lda", T_I64());
	LV b = 0, ldb = 0;
	if (!unary) {
		b = lm_param(m, f, "b", T_CPF());
		ldb = lm_param(m, f, "ldb", T_I64());
	}
	LV rows = lm_param(m, f, "rows", T_I64());
	lb_begin(m, f);
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), V(L, rows), 1);
	LV yr = lb_let(m, "yr", T_PF(), le_at(m, V(L, y), le_mul(m, V(L, t), V(L, ldy))));
	LV ar = lb_let(m, "ar", T_CPF(), le_at(m, V(L, a), le_mul(m, V(L, t), V(L, lda))));
	LV br = unary ? 0 : lb_let(m, "br", T_CPF(), le_at(m, V(L, b), le_mul(m, V(L, t), V(L, ldb))));
	int vw = pick_lanes(L->sch.vw, width) >= 4 ? pick_lanes(L->sch.vw, width) : L->sch.vw;
	int64_t nv = vw > 1 ? width / vw * vw : 0;
	for (int pass = 0; pass < 2; pass++) {
		int lanes = pass ? 1 : vw;
		int64_t lo = pass ? nv : 0, hi = pass ? width : nv;
		if (hi <= lo)
			continue;
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, lo), I(L, hi), lanes);
		LE av = le_load(m, le_at(m, V(L, ar), V(L, i)), lanes);
		LE v;
		if (unary) {
			LV x = lb_let(m, "x", lt_vec(LK_F32, lanes), av);
			LE e = lower_exp(L, le_neg(m, V(L, x)), lanes);
			v = le_div(m, V(L, x), le_add(m, le_splat(m, le_f32(m, 1), lanes), e));
		} else {
			LE bv = le_load(m, le_at(m, V(L, br), V(L, i)), lanes);
			v = le_bin(m, !strcmp(op, "mul") ? LE_MUL : LE_ADD, av, bv);
		}
		lb_store(m, le_at(m, V(L, yr), V(L, i)), v);
		lb_end(m);
	}
	lb_end(m);
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------ rows to floats
 * row_f16_K(y, row) / row_bf16_K(y, row): y[0..K) = one stored row of
 * f16 / bf16 weights as f32 (the embedding lookup of those formats); a
 * vector loop of the weight loads the matmul uses, then a scalar tail.
 * (The block formats' rows: kernel_qdequant_row, lower_qmatmul.c.) */
LF kernel_dequant_row(Lower *L, DType wt, int64_t K)
{
	LModule *m = L->m;
	if (wt != DT_F16 && wt != DT_BF16) {
		lfm_error(L->err, NULL, "lowering: no row decoder for %s weights", dtype_name(wt));
		return 0;
	}
	const char *name = lm_fmt(m, "row_%s_%lld", dtype_name(wt), (long long)K);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[0..%lld) = one row of %s weights as f32", (long long)K, dtype_name(wt)), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV row = lm_param(m, f, "row", lt_ptr(LK_VOID, 1));
	lb_begin(m, f);
	LV w = lb_let(m, "w", weight_ptr_type(wt), le_ptr_cast(m, V(L, row), weight_ptr_type(wt)));
	int vw = pick_lanes(L->sch.vw, K) >= 4 ? pick_lanes(L->sch.vw, K) : L->sch.vw;
	int64_t nv = vw > 1 ? K / vw * vw : 0;
	for (int pass = 0; pass < 2; pass++) {
		int lanes = pass ? 1 : vw;
		int64_t lo = pass ? nv : 0, hi = pass ? K : nv;
		if (hi <= lo)
			continue;
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, lo), I(L, hi), lanes);
		lb_store(m, le_at(m, V(L, y), V(L, i)), load_weight_f32(L, wt, le_at(m, V(L, w), V(L, i)), lanes));
		lb_end(m);
	}
	lb_finish(m);
	return f;
}
