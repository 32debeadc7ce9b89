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
 * For query row t (position pos+t) and KV head kh, G of its GROUP query
 * heads (G the largest divisor of GROUP up to 8), h = kh*GROUP + h0 + g:
 *   y = softmax_j(q . K[j] * ATTN_SCALE) V[j]   over j = 0 .. pos+t,
 * in one pass over the keys with a running maximum (the "online
 * softmax"), in blocks of 64 keys.  K, V: [ctx][KV_DIM].  The G queries
 * are one item, so each key and value row is read once per query row and
 * G heads, not once per head (decode is bound by those reads).
 * q and the output rows are held in d/dv vectors each. */
/* Row `pos` of one KV head's keys or values (base: the head's first
 * value; rows of KV_DIM floats) into vectors out[0..nv) of dv lanes, named
 * PREFIX0..; and the row ATTN_PREFETCH positions ahead prefetched: a
 * head's rows are HEAD_DIM floats every KV_DIM, a stride the hardware
 * prefetchers follow late. */
static void kv_row(Lower *L, LV base, LE pos, const char *prefix, int dv, int nv, LV *out)
{
	LModule *m = L->m;
	int64_t d = L->cfg->head_dim, kvd = (int64_t)L->cfg->n_kv_heads * d;
	LV r = lb_let(m, lm_fmt(m, "%sr", prefix), T_CPF(), le_at(m, V(L, base), le_mul(m, pos, I(L, kvd))));
	for (int e = 0; e < nv; e++)
		out[e] = lb_let(m, lm_fmt(m, "%s%d", prefix, e), lt_vec(LK_F32, dv),
		                le_load(m, le_at(m, V(L, r), I(L, (int64_t)e * dv)), dv));
	for (int64_t c = 0; c < d; c += 16)
		lb_prefetch(m, le_at(m, V(L, r), I(L, ATTN_PREFETCH * kvd + c)));
}

int attn_heads_per_item(const Lower *L)
{
	int group = L->cfg->n_heads / L->cfg->n_kv_heads, g = group;
	while (g > 8 || group % g)
		g--;
	return g;
}

LF kernel_attention(Lower *L)
{
	LModule *m = L->m;
	LF f = lm_find_func(m, "attention_task");
	if (f)
		return f;
	const LfmConfig *cfg = L->cfg;
	int64_t nh = cfg->n_heads, d = cfg->head_dim, group = cfg->n_heads / cfg->n_kv_heads;
	int G = attn_heads_per_item(L);
	int64_t nsub = group / G;
	const int BLOCK = L->sch.attn_block;   /* keys per block (schedule: tiles.attention_block) */
	f = lm_func(m, "attention_task", lt_scalar(LK_VOID), LL_STATIC,
	            lm_fmt(m, "Causal GQA attention for items [i0, i1) of T x N_KV_HEADS x %lld (query row, KV head, %d of\n"
	                   "its query heads): y = softmax_j(q . K[j] * ATTN_SCALE) V[j], j <= pos + t;\n"
	                   "online softmax over blocks of %d keys.", (long long)nsub, G, BLOCK));
	LV arg = lm_param(m, f, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, f, "i0", T_I64());
	LV i1 = lm_param(m, f, "i1", T_I64());
	lm_param(m, f, "worker", T_I32());
	lb_begin(m, f);
	LV a = lb_let(m, "a", lt_struct_ptr(L->s_attn_args, 1),
	              le_ptr_cast(m, V(L, arg), lt_struct_ptr(L->s_attn_args, 1)));
	LV s = lm_array(m, "s", T_F32(), (int64_t)BLOCK * G);
	int dv = pick_lanes(L->sch.vw, d);
	int nv = (int)(d / dv);
	if (nv > 64)
		nv = 64;
	LType vt = lt_vec(LK_F32, dv);
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, V(L, i0), V(L, i1), 1);
	LV it = lb_let(m, "it", T_I64(), le_div(m, V(L, i), I(L, nsub)));
	LV h0 = lb_let(m, "h0", T_I64(), le_mul(m, le_bin(m, LE_REM, V(L, i), I(L, nsub)), I(L, G)));   /* in the group */
	LV t = lb_let(m, "t", T_I64(), le_div(m, V(L, it), le_named(m, "N_KV_HEADS")));
	LV kh = lb_let(m, "kh", T_I64(), le_bin(m, LE_REM, V(L, it), le_named(m, "N_KV_HEADS")));
	LV S = lb_let(m, "S", T_I64(), le_add(m, le_add(m, le_field(m, V(L, a), "pos"), V(L, t)), I(L, 1)));
	LV Kp = lb_let(m, "K", T_CPF(), le_at(m, le_field(m, V(L, a), "K"), le_mul(m, V(L, kh), I(L, d))));
	LV Vp = lb_let(m, "V", T_CPF(), le_at(m, le_field(m, V(L, a), "V"), le_mul(m, V(L, kh), I(L, d))));
	LV q[16], y[16], mx[16], l[16], bm[16], nm[16];
	LV qv[16][64], yv[16][64];
	for (int g = 0; g < G; g++) {
		LE row = le_mul(m, le_add(m, le_mul(m, V(L, t), I(L, nh)),
		                          le_add(m, le_mul(m, V(L, kh), I(L, group)), le_add(m, V(L, h0), I(L, g)))), I(L, d));
		q[g] = lb_let(m, lm_fmt(m, "q_%d", g), T_CPF(), le_at(m, le_field(m, V(L, a), "q"), row));
		y[g] = lb_let(m, lm_fmt(m, "y_%d", g), T_PF(), le_at(m, le_field(m, V(L, a), "y"), row));
		for (int e = 0; e < nv; e++) {
			qv[g][e] = lb_let(m, lm_fmt(m, "q%d_%d", e, g), vt, le_load(m, le_at(m, V(L, q[g]), I(L, (int64_t)e * dv)), dv));
			yv[g][e] = lb_let(m, lm_fmt(m, "y%d_%d", e, g), vt, le_splat(m, le_f32(m, 0), dv));
		}
		mx[g] = lb_let(m, lm_fmt(m, "m_%d", g), T_F32(), le_f32(m, -INFINITY));
		l[g] = lb_let(m, lm_fmt(m, "l_%d", g), T_F32(), le_f32(m, 0));
	}
	LV j0 = lm_local(m, "j0", T_I64());
	lb_for(m, j0, I(L, 0), V(L, S), BLOCK);
	LV nb = lb_let(m, "nb", T_I64(), le_bin(m, LE_MIN, le_sub(m, V(L, S), V(L, j0)), I(L, BLOCK)));
	for (int g = 0; g < G; g++)
		bm[g] = lb_let(m, lm_fmt(m, "bm_%d", g), T_F32(), le_f32(m, -INFINITY));
	LV j = lm_local(m, "j", T_I64());
	lb_for(m, j, I(L, 0), V(L, nb), 1);
	LV kv[64];
	kv_row(L, Kp, le_add(m, V(L, j0), V(L, j)), "k", dv, nv, kv);
	for (int g = 0; g < G; g++) {
		LE dot = 0;
		for (int e = 0; e < nv; e++)
			dot = dot ? le_fma(m, V(L, qv[g][e]), V(L, kv[e]), dot) : le_mul(m, V(L, qv[g][e]), V(L, kv[e]));
		LV sj = lb_let(m, lm_fmt(m, "sj_%d", g), T_F32(), le_mul(m, le_reduce_add(m, dot), le_named(m, "ATTN_SCALE")));
		lb_store(m, le_at(m, le_addr(m, s), le_add(m, I(L, (int64_t)g * BLOCK), V(L, j))), V(L, sj));
		lb_assign(m, bm[g], le_bin(m, LE_MAX, V(L, sj), V(L, bm[g])));
	}
	lb_end(m);
	int ev = L->sch.vw > 1 ? L->sch.vw : 1;
	for (int g = 0; g < G; g++) {
		nm[g] = lb_let(m, lm_fmt(m, "nm_%d", g), T_F32(), le_bin(m, LE_MAX, V(L, bm[g]), V(L, mx[g])));
		LV corr = lb_let(m, lm_fmt(m, "corr_%d", g), T_F32(), le_math(m, LE_EXP, le_sub(m, V(L, mx[g]), V(L, nm[g]))));
		lb_assign(m, l[g], le_mul(m, V(L, l[g]), V(L, corr)));
		for (int e = 0; e < nv; e++)
			lb_assign(m, yv[g][e], le_mul(m, V(L, yv[g][e]), le_splat(m, V(L, corr), dv)));
		/* s[g][j] = exp(s[g][j] - nm) for the block: vectors (lower_exp), then scalars */
		LE sg = le_at(m, le_addr(m, s), I(L, (int64_t)g * BLOCK));
		LV je = lb_let(m, lm_fmt(m, "je_%d", g), T_I64(), I(L, 0));
		if (ev > 1) {
			lb_for(m, je, 0, le_sub(m, V(L, nb), I(L, ev - 1)), ev);
			LE at = le_at(m, sg, V(L, je));
			lb_store(m, at, lower_exp(L, le_sub(m, le_load(m, at, ev), le_splat(m, V(L, nm[g]), ev)), ev));
			lb_end(m);
		}
		lb_for(m, je, 0, V(L, nb), 1);
		LE at1 = le_at(m, sg, V(L, je));
		lb_store(m, at1, le_math(m, LE_EXP, le_sub(m, le_load(m, at1, 1), V(L, nm[g]))));
		lb_end(m);
	}
	LV j2 = lm_local(m, "jv", T_I64());
	lb_for(m, j2, I(L, 0), V(L, nb), 1);
	LV vv[64];
	kv_row(L, Vp, le_add(m, V(L, j0), V(L, j2)), "v", dv, nv, vv);
	for (int g = 0; g < G; g++) {
		LV p = lb_let(m, lm_fmt(m, "p_%d", g), T_F32(),
		              le_load(m, le_at(m, le_addr(m, s), le_add(m, I(L, (int64_t)g * BLOCK), V(L, j2))), 1));
		lb_assign(m, l[g], le_add(m, V(L, l[g]), V(L, p)));
		LV pv = lb_let(m, lm_fmt(m, "pv_%d", g), vt, le_splat(m, V(L, p), dv));
		for (int e = 0; e < nv; e++)
			lb_assign(m, yv[g][e], le_fma(m, V(L, pv), V(L, vv[e]), V(L, yv[g][e])));
	}
	lb_end(m);
	for (int g = 0; g < G; g++)
		lb_assign(m, mx[g], V(L, nm[g]));
	lb_end(m);
	for (int g = 0; g < G; g++) {
		LV lv = lb_let(m, lm_fmt(m, "lv_%d", g), vt, le_splat(m, V(L, l[g]), dv));
		for (int e = 0; e < nv; e++)
			lb_store(m, le_at(m, V(L, y[g]), I(L, (int64_t)e * dv)), le_div(m, V(L, yv[g][e]), V(L, lv)));
	}
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

/* ------------------------------------------------------- tiled attention
 * Prefill (T >= ATTN_TILE_MIN query rows) runs attention as tiles of
 * query rows x blocks of ATTN_KB = 16 keys, in two tasks:
 *
 *   kt_task         the keys 0 .. pos+T-1 of each KV head transposed into
 *                   panels of 16 positions (c->kt: [N_KV_HEADS][KT_BLOCKS]
 *                   [HEAD_DIM][16], zeros past the last key), so a
 *                   vector holds one dimension of 16 keys.  It reads the
 *                   keys once per call; the attention reads them once per
 *                   query tile, so it costs 1/(rows x group) of that.
 *   attention_tiled_task   items (query tile, KV head): ATTN_QR query rows
 *                   x GROUP heads = Q queries that share the KV head.  For
 *                   each block of 16 keys up to the tile's last row:
 *                     S[i] = sum_e q_i[e] * Kt[e]   (a broadcast and an FMA
 *                            per dimension: lanes are keys, no horizontal sums)
 *                     keys after a row's position pushed to -1e30 (weight
 *                            e^-87 after the exp's clamp: nothing next to 1);
 *                     online softmax per query: block max, rescale factor
 *                            exp(m - m'), P = exp(S - m') (vector exp);
 *                     O_i = O_i * corr_i + sum_j P_i[j] V[j]   (lanes: dims)
 *                   then y = O / l.  The queries are scaled by ATTN_SCALE
 *                   once, into the task's stack; O, P live there too.
 * Each key block is read once per query tile (from L2: a KV head's keys
 * and values at 8K positions are 2 MB each), and blocks past a tile's
 * last row are never touched (causal).  Decode and short calls keep
 * attention_task: there the keys are read once per query anyway.
 */
LF kernel_kt(Lower *L)
{
	LModule *m = L->m;
	LF f = lm_find_func(m, "kt_task");
	if (f)
		return f;
	int64_t d = L->cfg->head_dim, kvd = (int64_t)L->cfg->n_kv_heads * d;
	f = lm_func(m, "kt_task", lt_scalar(LK_VOID), LL_STATIC,
	            "Items [i0, i1) of N_KV_HEADS x blocks of 16 positions: the keys of positions < pos + T\n"
	            "transposed into kt[head][block][HEAD_DIM][16] (zeros past the last).");
	LV arg = lm_param(m, f, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, f, "i0", T_I64());
	LV i1 = lm_param(m, f, "i1", T_I64());
	lm_param(m, f, "worker", T_I32());
	lb_begin(m, f);
	LV a = lb_let(m, "a", lt_struct_ptr(L->s_attn_args, 1), le_ptr_cast(m, V(L, arg), lt_struct_ptr(L->s_attn_args, 1)));
	LV S = lb_let(m, "S", T_I64(), le_add(m, le_field(m, V(L, a), "pos"), le_field(m, V(L, a), "T")));
	LV nkb = lb_let(m, "nkb", T_I64(), le_div(m, le_add(m, V(L, S), I(L, ATTN_KB - 1)), I(L, ATTN_KB)));
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, V(L, i0), V(L, i1), 1);
	LV kh = lb_let(m, "kh", T_I64(), le_div(m, V(L, i), V(L, nkb)));
	LV kb = lb_let(m, "kb", T_I64(), le_bin(m, LE_REM, V(L, i), V(L, nkb)));
	LE blk = le_add(m, le_mul(m, V(L, kh), le_field(m, V(L, a), "kt_blocks")), V(L, kb));
	LV dst = lb_let(m, "dst", T_PF(), le_at(m, le_field(m, V(L, a), "kt"), le_mul(m, blk, I(L, d * ATTN_KB))));
	LV j = lm_local(m, "j", T_I64());
	lb_for(m, j, I(L, 0), I(L, ATTN_KB), 1);
	LV p = lb_let(m, "p", T_I64(), le_add(m, le_mul(m, V(L, kb), I(L, ATTN_KB)), V(L, j)));
	LV kr = lb_let(m, "kr", T_CPF(), le_at(m, le_field(m, V(L, a), "K"),
	                                        le_add(m, le_mul(m, V(L, p), I(L, kvd)), le_mul(m, V(L, kh), I(L, d)))));
	LV e = lm_local(m, "e", T_I64());
	lb_if(m, le_bin(m, LE_LT, V(L, p), V(L, S)));
	lb_for(m, e, I(L, 0), I(L, d), 1);
	lb_store(m, le_at(m, V(L, dst), le_add(m, le_mul(m, V(L, e), I(L, ATTN_KB)), V(L, j))),
	         le_load(m, le_at(m, V(L, kr), V(L, e)), 1));
	lb_end(m);
	lb_else(m);
	lb_for(m, e, I(L, 0), I(L, d), 1);
	lb_store(m, le_at(m, V(L, dst), le_add(m, le_mul(m, V(L, e), I(L, ATTN_KB)), V(L, j))), le_f32(m, 0));
	lb_end(m);
	lb_end(m);
	lb_end(m);
	lb_end(m);
	lb_finish(m);
	return f;
}

/* Query rows per tile: Q = rows x GROUP queries keep Q x (16 / lanes)
 * score vectors, the key vectors and a broadcast in the registers. */
int attn_tile_rows(const Lower *L)
{
	int group = L->cfg->n_heads / L->cfg->n_kv_heads;
	int kw = pick_lanes(L->sch.vw, ATTN_KB), kvv = ATTN_KB / kw;
	int regs = L->t->vector_regs > 0 ? L->t->vector_regs : 16;
	int q = (regs - 1 - kvv) / kvv;
	q = q > 8 ? 8 : q;
	int rows = q / group;
	return rows < 1 ? 1 : rows;
}

LF kernel_attention_tiled(Lower *L)
{
	LModule *m = L->m;
	LF f = lm_find_func(m, "attention_tiled_task");
	if (f)
		return f;
	const LfmConfig *cfg = L->cfg;
	int64_t d = cfg->head_dim, group = cfg->n_heads / cfg->n_kv_heads, nh = cfg->n_heads;
	int64_t kvd = (int64_t)cfg->n_kv_heads * d;
	int QR = attn_tile_rows(L), Q = QR * (int)group;
	int kw = pick_lanes(L->sch.vw, ATTN_KB), kvv = ATTN_KB / kw;   /* lanes of a key vector; vectors per block */
	int dw = pick_lanes(L->sch.vw, d);
	int64_t ndv = d / dw;
	LType kt = lt_vec(LK_F32, kw), dt = lt_vec(LK_F32, dw);
	f = lm_func(m, "attention_tiled_task", lt_scalar(LK_VOID), LL_STATIC,
	            lm_fmt(m, "Causal GQA attention, items [i0, i1) of query tiles x N_KV_HEADS: %d rows x %lld heads\n"
	                   "= %d queries against blocks of %d keys (kt: transposed keys), online softmax.",
	                   QR, (long long)group, Q, ATTN_KB));
	LV arg = lm_param(m, f, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, f, "i0", T_I64());
	LV i1 = lm_param(m, f, "i1", T_I64());
	lm_param(m, f, "worker", T_I32());
	lb_begin(m, f);
	LV a = lb_let(m, "a", lt_struct_ptr(L->s_attn_args, 1), le_ptr_cast(m, V(L, arg), lt_struct_ptr(L->s_attn_args, 1)));
	LV qs = lm_array(m, "qs", T_F32(), (int64_t)Q * d);        /* queries x ATTN_SCALE */
	LV os = lm_array(m, "os", T_F32(), (int64_t)Q * d);        /* output sums */
	LV ps = lm_array(m, "ps", T_F32(), (int64_t)Q * ATTN_KB);  /* scores, then weights, of a block */
	LV ms = lm_array(m, "ms", T_F32(), Q);                     /* running maxima */
	LV ls = lm_array(m, "ls", T_F32(), Q);                     /* running sums */
	LV cs = lm_array(m, "cs", T_F32(), Q);                     /* a block's rescale factors */
	LV pos = lb_let(m, "pos", T_I64(), le_field(m, V(L, a), "pos"));
	LV T = lb_let(m, "T", T_I64(), le_field(m, V(L, a), "T"));
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, V(L, i0), V(L, i1), 1);
	LV kh = lb_let(m, "kh", T_I64(), le_bin(m, LE_REM, V(L, i), le_named(m, "N_KV_HEADS")));
	LV t0 = lb_let(m, "t0", T_I64(), le_mul(m, le_div(m, V(L, i), le_named(m, "N_KV_HEADS")), I(L, QR)));
	LV nr = lb_let(m, "nr", T_I64(), le_bin(m, LE_MIN, le_sub(m, V(L, T), V(L, t0)), I(L, QR)));   /* valid rows */
	/* the queries, scaled; rows past T are zeros */
	for (int r = 0; r < QR; r++)
		for (int g = 0; g < group; g++) {
			int qi = r * (int)group + g;
			LE qrow = le_mul(m, le_add(m, le_mul(m, le_add(m, V(L, t0), I(L, r)), I(L, nh)),
			                          le_add(m, le_mul(m, V(L, kh), I(L, group)), I(L, g))), I(L, d));
			LE dstq = le_at(m, le_addr(m, qs), I(L, (int64_t)qi * d));
			lb_if(m, le_bin(m, LE_LT, I(L, r), V(L, nr)));
			for (int64_t v = 0; v < ndv; v++) {
				LE src = le_at(m, le_field(m, V(L, a), "q"), le_add(m, qrow, I(L, v * dw)));
				lb_store(m, le_at(m, dstq, I(L, v * dw)),
				         le_mul(m, le_load(m, src, dw), le_splat(m, le_named(m, "ATTN_SCALE"), dw)));
			}
			lb_else(m);
			for (int64_t v = 0; v < ndv; v++)
				lb_store(m, le_at(m, dstq, I(L, v * dw)), le_splat(m, le_f32(m, 0), dw));
			lb_end(m);
			for (int64_t v = 0; v < ndv; v++)
				lb_store(m, le_at(m, le_addr(m, os), I(L, (int64_t)qi * d + v * dw)), le_splat(m, le_f32(m, 0), dw));
			lb_store(m, le_at(m, le_addr(m, ms), I(L, qi)), le_f32(m, -INFINITY));
			lb_store(m, le_at(m, le_addr(m, ls), I(L, qi)), le_f32(m, 0));
		}
	/* keys 0 .. last (the tile's last valid row), in blocks */
	LV last = lb_let(m, "last", T_I64(), le_sub(m, le_add(m, V(L, pos), le_add(m, V(L, t0), V(L, nr))), I(L, 1)));
	LV ktb = lb_let(m, "ktb", T_CPF(), le_at(m, le_field(m, V(L, a), "kt"),
	                                         le_mul(m, le_mul(m, V(L, kh), le_field(m, V(L, a), "kt_blocks")),
	                                                I(L, d * ATTN_KB))));
	LV Vh = lb_let(m, "Vh", T_CPF(), le_at(m, le_field(m, V(L, a), "V"), le_mul(m, V(L, kh), I(L, d))));
	LV kb = lm_local(m, "kb", T_I64());
	lb_for(m, kb, I(L, 0), le_add(m, le_div(m, V(L, last), I(L, ATTN_KB)), I(L, 1)), 1);
	LV j0 = lb_let(m, "key0", T_I64(), le_mul(m, V(L, kb), I(L, ATTN_KB)));
	LV kp = lb_let(m, "kp", T_CPF(), le_at(m, V(L, ktb), le_mul(m, V(L, kb), I(L, d * ATTN_KB))));
	/* S = q . K for the block: lanes are keys */
	LV sacc[8][4];
	for (int qi = 0; qi < Q; qi++)
		for (int v = 0; v < kvv; v++)
			sacc[qi][v] = lb_let(m, lm_fmt(m, "s%d_%d", qi, v), kt, le_splat(m, le_f32(m, 0), kw));
	LV e = lm_local(m, "e", T_I64());
	lb_for(m, e, I(L, 0), I(L, d), 1);
	LV kv[4];
	for (int v = 0; v < kvv; v++)
		kv[v] = lb_let(m, lm_fmt(m, "k%d", v), kt,
		               le_load(m, le_at(m, V(L, kp), le_add(m, le_mul(m, V(L, e), I(L, ATTN_KB)), I(L, (int64_t)v * kw))), kw));
	for (int qi = 0; qi < Q; qi++) {
		LV qb = lb_let(m, lm_fmt(m, "qb%d", qi), kt,
		               le_splat(m, le_load(m, le_at(m, le_addr(m, qs), le_add(m, I(L, (int64_t)qi * d), V(L, e))), 1), kw));
		for (int v = 0; v < kvv; v++)
			lb_assign(m, sacc[qi][v], le_fma(m, V(L, qb), V(L, kv[v]), V(L, sacc[qi][v])));
	}
	lb_end(m);
	/* per query: keys after its position pushed to -1e30 (0 weight after
	 * exp), block max, rescale factor, weights; in vectors of keys */
	LV nvalid = lb_let(m, "nvalid", T_I64(), le_bin(m, LE_MIN, le_sub(m, le_add(m, V(L, last), I(L, 1)), V(L, j0)),
	                                                  I(L, ATTN_KB)));
	LG iota = lm_find_global(m, "ATTN_KEY_LANES");
	if (!iota) {
		LE items[ATTN_KB];
		for (int j = 0; j < ATTN_KB; j++)
			items[j] = le_f32(m, j);
		iota = lm_global(m, "ATTN_KEY_LANES", T_F32(), ATTN_KB, le_agg(m, T_F32(), items, ATTN_KB, NULL), 0,
		                 "0, 1, .. 15: a key's lane in its block (the tiled attention's causal mask)");
	}
	LV kl[4];
	for (int v = 0; v < kvv; v++)
		kl[v] = lb_let(m, lm_fmt(m, "lane%d", v), kt, le_load(m, le_at(m, le_global(m, iota), I(L, (int64_t)v * kw)), kw));
	for (int qi = 0; qi < Q; qi++) {
		int r = qi / (int)group;
		/* keys j0 + j with j > lim come after the query's position */
		LE lim = le_convert(m, le_sub(m, le_add(m, V(L, pos), le_add(m, V(L, t0), I(L, r))), V(L, j0)), T_F32());
		LV limv = lb_let(m, lm_fmt(m, "lim%d", qi), kt, le_splat(m, lim, kw));
		LE bmax = 0;
		for (int v = 0; v < kvv; v++) {
			LE over = le_bin(m, LE_MAX, le_sub(m, V(L, kl[v]), V(L, limv)), le_splat(m, le_f32(m, 0), kw));
			lb_assign(m, sacc[qi][v], le_fma(m, over, le_splat(m, le_f32(m, -1e30), kw), V(L, sacc[qi][v])));
			bmax = bmax ? le_bin(m, LE_MAX, bmax, V(L, sacc[qi][v])) : V(L, sacc[qi][v]);
		}
		LE mp = le_at(m, le_addr(m, ms), I(L, qi));
		LV nm = lb_let(m, lm_fmt(m, "nm%d", qi), T_F32(), le_bin(m, LE_MAX, le_load(m, mp, 1), le_reduce_max(m, bmax)));
		LV corr = lb_let(m, lm_fmt(m, "corr%d", qi), T_F32(), lower_exp(L, le_sub(m, le_load(m, mp, 1), V(L, nm)), 1));
		lb_store(m, mp, V(L, nm));
		lb_store(m, le_at(m, le_addr(m, cs), I(L, qi)), V(L, corr));
		LE psum = 0;
		for (int v = 0; v < kvv; v++) {
			LV pw = lb_let(m, lm_fmt(m, "pw%d_%d", qi, v), kt,
			               lower_exp(L, le_sub(m, V(L, sacc[qi][v]), le_splat(m, V(L, nm), kw)), kw));
			lb_store(m, le_at(m, le_addr(m, ps), I(L, (int64_t)qi * ATTN_KB + (int64_t)v * kw)), V(L, pw));
			psum = psum ? le_add(m, psum, V(L, pw)) : V(L, pw);
		}
		LE lp = le_at(m, le_addr(m, ls), I(L, qi));
		lb_store(m, lp, le_add(m, le_mul(m, le_load(m, lp, 1), V(L, corr)), le_reduce_add(m, psum)));
	}
	/* O = O * corr + P V, a vector of dimensions at a time */
	for (int64_t c = 0; c < ndv; c++) {
		LV o[8];
		for (int qi = 0; qi < Q; qi++)
			o[qi] = lb_let(m, lm_fmt(m, "o%d_%lld", qi, (long long)c), dt,
			               le_mul(m, le_load(m, le_at(m, le_addr(m, os), I(L, (int64_t)qi * d + c * dw)), dw),
			                      le_splat(m, le_load(m, le_at(m, le_addr(m, cs), I(L, qi)), 1), dw)));
		LV j = lm_local(m, lm_fmt(m, "jv%lld", (long long)c), T_I64());
		lb_for(m, j, I(L, 0), V(L, nvalid), 1);
		LV vr = lb_let(m, lm_fmt(m, "vr%lld", (long long)c), dt, le_load(m, le_at(m, V(L, Vh), le_add(m, le_mul(m, le_add(m, V(L, j0), V(L, j)), I(L, kvd)),
		                                                                 I(L, c * dw))), dw));
		for (int qi = 0; qi < Q; qi++)
			lb_assign(m, o[qi], le_fma(m, le_splat(m, le_load(m, le_at(m, le_addr(m, ps),
			                                                             le_add(m, I(L, (int64_t)qi * ATTN_KB), V(L, j))), 1), dw),
			                           V(L, vr), V(L, o[qi])));
		lb_end(m);
		for (int qi = 0; qi < Q; qi++)
			lb_store(m, le_at(m, le_addr(m, os), I(L, (int64_t)qi * d + c * dw)), V(L, o[qi]));
	}
	lb_end(m);
	/* y = O / l for the valid rows */
	for (int qi = 0; qi < Q; qi++) {
		int r = qi / (int)group, g = qi % (int)group;
		lb_if(m, le_bin(m, LE_LT, I(L, r), V(L, nr)));
		LE yrow = le_mul(m, le_add(m, le_mul(m, le_add(m, V(L, t0), I(L, r)), I(L, nh)),
		                          le_add(m, le_mul(m, V(L, kh), I(L, group)), I(L, g))), I(L, d));
		LV inv = lb_let(m, lm_fmt(m, "inv%d", qi), dt,
		                le_splat(m, le_div(m, le_f32(m, 1), le_load(m, le_at(m, le_addr(m, ls), I(L, qi)), 1)), dw));
		for (int64_t c = 0; c < ndv; c++)
			lb_store(m, le_at(m, le_field(m, V(L, a), "y"), le_add(m, yrow, I(L, c * dw))),
			         le_mul(m, le_load(m, le_at(m, le_addr(m, os), I(L, (int64_t)qi * d + c * dw)), dw), V(L, inv)));
		lb_end(m);
	}
	lb_end(m);
	lb_finish(m);
	return f;
}
