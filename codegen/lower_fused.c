/*
 * lower_fused.c — the kernels of the fused ops (passes/fuse.c), in the
 * loop form, next to the plain ones of lower_kernels.c.
 *
 *   rmsnorm_rows   RMSNorm of rows that need not be contiguous — the q and
 *                  k heads read straight out of the qkv matmul's output
 *                  (a row stride ldx per token, `groups` heads per token) —
 *                  with or without a weight (RMSNORM_UNIT: rmsnorm_fold
 *                  moved the weight into the next matmul);
 *   norm_rope      QK-norm and NeoX RoPE of one head in one pass, reading
 *                  the strided qkv slice, writing contiguous heads;
 *   conv_chain     B*x, the causal depthwise conv with its state, the
 *                  conv bias and C* in one loop over the bcx rows, without
 *                  the [T,H] intermediates z and conv.
 *
 * The arithmetic is the unfused kernels', in their order (the sum of
 * squares in double, y = w * (x * inv), RoPE's a*cos - b*sin, the conv's
 * taps from the oldest), so fusing changes nothing but memory traffic.
 * The matmul epilogues (residual add, SwiGLU) are in mm_store
 * (lower_kernels.c), shared by every matmul kernel.
 */
#include <string.h>

#include "lower.h"


/* ------------------------------------------------------------ rmsnorm_rows
 * rmsnorm[_unit]_GxN(y, x, ldx, [w,] rows): for each of `rows` tokens and
 * each of its G groups of N values at x + r*ldx + g*N:
 *   y[r][g] = [w *] x / sqrt(mean(x^2) + NORM_EPS)      (y contiguous) */
LF kernel_rmsnorm_rows(Lower *L, int64_t n, int64_t groups, int weighted)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "rmsnorm%s_%lldx%lld", weighted ? "_s" : "_unit", (long long)groups,
	                          (long long)n);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[r][g] = %sx / sqrt(mean(x^2) + NORM_EPS) for %lld groups of %lld per row,\n"
	                   "x at x + r*ldx + g*%lld (a strided slice), y contiguous; sum of squares in double",
	                   weighted ? "w * " : "", (long long)groups, (long long)n, (long long)n), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV x = lm_param(m, f, "x", T_CPF());
	LV ldx = lm_param(m, f, "ldx", T_I64());
	LV w = weighted ? lm_param(m, f, "w", T_CPF()) : 0;
	LV rows = lm_param(m, f, "rows", T_I64());
	lb_begin(m, f);
	int vf = pick_lanes(L->sch.vw, n);
	LV r = lm_local(m, "r", T_I64());
	lb_for(m, r, I(L, 0), V(L, rows), 1);
	LV gi = lm_local(m, "g", T_I64());
	lb_for(m, gi, I(L, 0), I(L, groups), 1);
	LV xr = lb_let(m, "xr", T_CPF(),
	               le_at(m, V(L, x), le_add(m, le_mul(m, V(L, r), V(L, ldx)), le_mul(m, V(L, gi), I(L, n)))));
	LV yr = lb_let(m, "yr", T_PF(),
	               le_at(m, V(L, y), le_mul(m, le_add(m, le_mul(m, V(L, r), I(L, groups)), V(L, gi)), I(L, n))));
	LV s = rms_inverse(L, xr, n);
	for (int pass = 0; pass < 2; pass++) {
		int lanes = pass ? 1 : vf;
		int64_t split = vf > 1 ? n / vf * vf : 0;
		int64_t lo = pass ? split : 0, hi = pass ? n : split;
		if (hi <= lo)
			continue;
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, lo), I(L, hi), lanes);
		LE v = le_mul(m, le_load(m, le_at(m, V(L, xr), V(L, i)), lanes), le_splat(m, V(L, s), lanes));
		if (weighted)
			v = le_mul(m, le_load(m, le_at(m, V(L, w), V(L, i)), lanes), v);
		lb_store(m, le_at(m, V(L, yr), V(L, i)), v);
		lb_end(m);
	}
	lb_end(m);
	lb_end(m);
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------ norm_rope
 * norm_rope_HxD(y, x, ldx, w, cs, sn, T): for token t, head h, with
 * xh = x + t*ldx + h*D and a = w[i] * (xh[i] * inv), b = w[i+D/2] *
 * (xh[i+D/2] * inv):  y[t][h][i] = a cos - b sin, y[t][h][i+D/2] = b cos +
 * a sin, cos/sin of row t of the call's RoPE tables. */
LF kernel_norm_rope(Lower *L, int64_t heads, int64_t d)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "norm_rope_%lldx%lld", (long long)heads, (long long)d);
	int64_t half = d / 2;
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "QK-norm then NeoX RoPE of [T][%lld][%lld] heads read at x + t*ldx + h*%lld:\n"
	                   "a = w[i] * x[i] * inv, b = w[i+%lld] * x[i+%lld] * inv; y[i] = a cos - b sin, "
	                   "y[i+%lld] = b cos + a sin", (long long)heads, (long long)d, (long long)d,
	                   (long long)half, (long long)half, (long long)half), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV x = lm_param(m, f, "x", T_CPF());
	LV ldx = lm_param(m, f, "ldx", T_I64());
	LV w = lm_param(m, f, "w", T_CPF());
	LV cs = lm_param(m, f, "cs", T_CPF());
	LV sn = lm_param(m, f, "sn", T_CPF());
	LV T = lm_param(m, f, "T", T_I64());
	lb_begin(m, f);
	int lanes = pick_lanes(L->sch.vw, half);
	LType vt = lt_vec(LK_F32, lanes);
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, 0), V(L, T), 1);
	LV c = lb_let(m, "cos_t", T_CPF(), le_at(m, V(L, cs), le_mul(m, V(L, t), I(L, half))));
	LV s = lb_let(m, "sin_t", T_CPF(), le_at(m, V(L, sn), le_mul(m, V(L, t), I(L, half))));
	LV h = lm_local(m, "h", T_I64());
	lb_for(m, h, I(L, 0), I(L, heads), 1);
	LV xi = lb_let(m, "xi", T_CPF(),
	               le_at(m, V(L, x), le_add(m, le_mul(m, V(L, t), V(L, ldx)), le_mul(m, V(L, h), I(L, d)))));
	LV yi = lb_let(m, "yi", T_PF(),
	               le_at(m, V(L, y), le_mul(m, le_add(m, le_mul(m, V(L, t), I(L, heads)), V(L, h)), I(L, d))));
	LV inv = rms_inverse(L, xi, d);
	LV iv = lb_let(m, "iv", vt, le_splat(m, V(L, inv), lanes));
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, I(L, 0), I(L, half), lanes);
	LE ih = le_add(m, V(L, i), I(L, half));
	LV a = lb_let(m, "a", vt, le_mul(m, le_load(m, le_at(m, V(L, w), V(L, i)), lanes),
	                                 le_mul(m, le_load(m, le_at(m, V(L, xi), V(L, i)), lanes), V(L, iv))));
	LV b = lb_let(m, "b", vt, le_mul(m, le_load(m, le_at(m, V(L, w), ih), lanes),
	                                 le_mul(m, le_load(m, le_at(m, V(L, xi), ih), lanes), V(L, iv))));
	LV cv = lb_let(m, "cv", vt, le_load(m, le_at(m, V(L, c), V(L, i)), lanes));
	LV sv = lb_let(m, "sv", vt, le_load(m, le_at(m, V(L, s), V(L, i)), lanes));
	lb_store(m, le_at(m, V(L, yi), V(L, i)),
	         le_sub(m, le_mul(m, V(L, a), V(L, cv)), le_mul(m, V(L, b), V(L, sv))));
	lb_store(m, le_at(m, V(L, yi), ih), le_add(m, le_mul(m, V(L, b), V(L, cv)), le_mul(m, V(L, a), V(L, sv))));
	lb_end(m);
	lb_end(m);
	lb_end(m);
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------ conv_chain
 * conv_chain[_b]_H(y, bcx, ld, w, [b,] state, T): with B, C, X the thirds
 * of each bcx row (columns 0:H, H:2H, 2H:3H; row stride ld) and
 * z[r] = B[r] * X[r]:
 *   y[t][c] = C[t][c] * (sum_k w[c][k] * zz[t+k][c] [+ b[c]]),
 *   zz = [state (L-1 rows of z); z],
 * then state = the last L-1 rows of zz.  z is never stored: a tap reads B
 * and X and multiplies (L products per output instead of a [T,H] buffer
 * written and read back).  The first L-1 tokens, whose oldest taps come
 * from the state, are unrolled (L is a constant), so no tap tests a row
 * index at run time; the channel loop is left to the backend's
 * vectorizer (the taps are strided by L in memory), as in short_conv. */

/* One token's outputs: tap k reads row t+k-(L-1), from the state when
 * that row is (statically) negative. */
static void conv_token(Lower *L, LE t, int64_t t_static, int64_t H, int64_t Lc, LV y, LV bcx, LV ld, LV w,
                       LV b, LV state)
{
	LModule *m = L->m;
	LE row_t = le_mul(m, t, V(L, ld));
	LV Ct = lb_let(m, "Ct", T_CPF(), le_at(m, V(L, bcx), le_add(m, row_t, I(L, H))));
	LV Bk[16], Xk[16];
	int from_state[16];
	for (int64_t k = 0; k < Lc && k < 16; k++) {
		int64_t back = Lc - 1 - k;   /* rows before t */
		from_state[k] = t_static >= 0 && t_static - back < 0;
		if (from_state[k]) {
			Bk[k] = lb_let(m, lm_fmt(m, "s%lld", (long long)k), T_CPF(),
			               le_ptr_cast(m, le_at(m, V(L, state), I(L, (Lc - 1 + t_static - back) * H)), T_CPF()));
			Xk[k] = 0;
		} else {
			LE row = le_mul(m, le_sub(m, t, I(L, back)), V(L, ld));
			Bk[k] = lb_let(m, lm_fmt(m, "b%lld", (long long)k), T_CPF(), le_at(m, V(L, bcx), row));
			Xk[k] = lb_let(m, lm_fmt(m, "x%lld", (long long)k), T_CPF(),
			               le_at(m, V(L, bcx), le_add(m, row, I(L, 2 * H))));
		}
	}
	LV yt = lb_let(m, "yt", T_PF(), le_at(m, V(L, y), le_mul(m, t, I(L, H))));
	LV c = lm_local(m, "c", T_I64());
	lb_for(m, c, I(L, 0), I(L, H), 1);
	LE sum = 0;
	for (int64_t k = 0; k < Lc && k < 16; k++) {
		LE z = le_load(m, le_at(m, V(L, Bk[k]), V(L, c)), 1);
		if (!from_state[k])
			z = le_mul(m, z, le_load(m, le_at(m, V(L, Xk[k]), V(L, c)), 1));
		LE tap = le_load(m, le_at(m, V(L, w), le_add(m, le_mul(m, V(L, c), I(L, Lc)), I(L, k))), 1);
		LE term = le_mul(m, tap, z);
		sum = sum ? le_add(m, sum, term) : term;
	}
	if (b)
		sum = le_add(m, sum, le_load(m, le_at(m, V(L, b), V(L, c)), 1));
	lb_store(m, le_at(m, V(L, yt), V(L, c)), le_mul(m, le_load(m, le_at(m, V(L, Ct), V(L, c)), 1), sum));
	lb_end(m);
}

LF kernel_conv_chain(Lower *L, int64_t H, int64_t Lc, int bias)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "conv_chain%s_%lld", bias ? "_b" : "", (long long)H);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[t][c] = C[t][c] * (sum_k w[c][k] * zz[t+k][c]%s), zz = [state; B*X], B, C, X the\n"
	                   "thirds of bcx rows (stride ld); then state = last %lld rows of zz.  state: [%lld][%lld], "
	                   "y: [T][%lld], w: [%lld][%lld]", bias ? " + b[c]" : "", (long long)(Lc - 1),
	                   (long long)(Lc - 1), (long long)H, (long long)H, (long long)H, (long long)Lc), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV bcx = lm_param(m, f, "bcx", T_CPF());
	LV ld = lm_param(m, f, "ld", T_I64());
	LV w = lm_param(m, f, "w", T_CPF());
	LV b = bias ? lm_param(m, f, "b", T_CPF()) : 0;
	LV state = lm_param(m, f, "state", T_PF());
	LV T = lm_param(m, f, "T", T_I64());
	lb_begin(m, f);
	/* tokens 0 .. L-2: the oldest taps from the state */
	for (int64_t t0 = 0; t0 < Lc - 1 && t0 < 16; t0++) {
		lb_if(m, le_bin(m, LE_LT, I(L, t0), V(L, T)));
		conv_token(L, I(L, t0), t0, H, Lc, y, bcx, ld, w, b, state);
		lb_end(m);
	}
	/* tokens L-1 .. T-1: every tap from bcx */
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, I(L, Lc - 1), V(L, T), 1);
	conv_token(L, V(L, t), -1, H, Lc, y, bcx, ld, w, b, state);
	lb_end(m);
	/* the new state: the last L-1 rows of zz (z of this call, or older state) */
	for (int64_t r = 0; r < Lc - 1; r++) {
		LE srow = le_add(m, V(L, T), I(L, r - (Lc - 1)));
		LE dst = le_at(m, V(L, state), I(L, r * H));
		lb_if(m, le_bin(m, LE_LE, I(L, 0), srow));
		LV br = lb_let(m, "br", T_CPF(), le_at(m, V(L, bcx), le_mul(m, srow, V(L, ld))));
		LV c = lm_local(m, "c", T_I64());
		lb_for(m, c, I(L, 0), I(L, H), 1);
		lb_store(m, le_at(m, dst, V(L, c)),
		         le_mul(m, le_load(m, le_at(m, V(L, br), V(L, c)), 1),
		                le_load(m, le_at(m, V(L, br), le_add(m, V(L, c), I(L, 2 * H))), 1)));
		lb_end(m);
		lb_else(m);
		lb_memmove(m, dst, le_at(m, V(L, state), le_mul(m, le_add(m, I(L, r), V(L, T)), I(L, H))), I(L, H * 4));
		lb_end(m);
	}
	lb_finish(m);
	return f;
}
