/*
 * lower_util.c — the pieces every kernel builder shares.
 *
 * The lowering is one-way: lower.c builds the model's structure and asks
 * the kernel files (lower_kernels.c, lower_gemm.c, lower_qmatmul.c,
 * lower_fused.c) for kernels; those build them from the helpers here and
 * never call each other or lower.c.  What used to be copied into each —
 * the small lanes rule, the weight loads, the matmul epilogue, the RMS
 * sum, the vector exp, "find the kernel or start building it" — is here
 * once.
 */
#include <math.h>
#include <string.h>

#include "formats.h"
#include "lower.h"

/* The largest power of two <= max that divides n (1 if n is odd). */
int pick_lanes(int max, int64_t n)
{
	int v = max > 0 ? max : 1;
	while (v > 1 && n % v)
		v /= 2;
	return v;
}

/* The kernel `name` if it was built already (*fresh = 0), else a new
 * static function of that name returning void, with the comment above
 * it (*fresh = 1): the caller adds its parameters and body. */
LF kernel_lookup(Lower *L, const char *name, const char *comment, int *fresh)
{
	LF f = lm_find_func(L->m, name);
	*fresh = !f;
	return f ? f : lm_func(L->m, name, lt_scalar(LK_VOID), LL_STATIC, comment);
}

/* ------------------------------------------------------------ helpers */

/* The ABI's externs and two helpers every model uses:
 *   W(c, offset)   a weight: the blob payload + a byte offset (const void *:
 *                  the caller casts it to weight_ptr_type of its format);
 *   run(c, n, flops, fn, arg)   fn over [0, n) on the thread pool, or on
 *                  the calling thread when the work is too small to share. */
void kernel_helpers(Lower *L)
{
	LModule *m = L->m;
	LF pf = lm_func(m, "lfm2_parallel_for", lt_scalar(LK_VOID), LL_EXTERN, NULL);
	lm_param(m, pf, "pool", lt_struct_ptr(L->s_pool, 0));
	lm_param(m, pf, "n", T_I64());
	lm_param(m, pf, "fn", lt_named(L->s_task_fn));
	lm_param(m, pf, "arg", lt_ptr(LK_VOID, 0));
	L->f_parallel_for = pf;

	LF w = lm_func(m, "W", lt_ptr(LK_VOID, 1), LL_STATIC,
	               "A weight: the blob payload at a byte offset (its format says how to read it).");
	m->f[w].is_inline = 1;
	LV c = lm_param(m, w, "c", lt_struct_ptr(L->s_call, 1));
	LV off = lm_param(m, w, "offset", T_I64());
	lb_begin(m, w);
	LE bytes = le_field(m, V(L, c), "weights");
	LE at = le_at(m, bytes, V(L, off));
	lb_return(m, le_ptr_cast(m, at, lt_ptr(LK_VOID, 1)));
	lb_finish(m);
	L->f_W = w;

	LF run = lm_func(m, "run", lt_scalar(LK_VOID), LL_STATIC,
	                 "Runs fn over [0, n) on the pool when the work is worth waking threads for.");
	c = lm_param(m, run, "c", lt_struct_ptr(L->s_call, 1));
	LV n = lm_param(m, run, "n", T_I64());
	LV flops = lm_param(m, run, "flops", T_I64());
	LV fn = lm_param(m, run, "fn", lt_named(L->s_task_fn));
	LV arg = lm_param(m, run, "arg", lt_ptr(LK_VOID, 0));
	lb_begin(m, run);
	lb_if(m, le_bin(m, LE_LT, V(L, flops), I(L, L->sch.par_min_flops)));
	LE direct[4] = {V(L, arg), I(L, 0), V(L, n), le_int(m, LK_I32, 0)};   /* the caller is worker 0 */
	lb_eval(m, le_callp(m, V(L, fn), direct, 4));
	lb_else(m);
	LE pool = le_field(m, V(L, c), "pool");
	LE par[4] = {pool, V(L, n), V(L, fn), V(L, arg)};
	lb_eval(m, le_call(m, pf, par, 4));
	lb_end(m);
	lb_finish(m);
	L->f_run = run;
}

LType weight_ptr_type(DType t)
{
	switch (t) {
	case DT_F32: return T_CPF();
	case DT_F16: return lt_ptr(LK_F16, 1);
	case DT_BF16: return lt_ptr(LK_I16, 1);   /* the top half of an f32's bits */
	case DT_Q8_0:   /* block formats: their kernels cast */
	case DT_Q4_0:
	case DT_Q4_1:
	case DT_I32:
		break;
	}
	return lt_ptr(LK_VOID, 1);
}

/* f32: a plain load; f16: a load converted to f32 (vcvtph2ps, fcvtl);
 * bf16: the 16 bits moved into the top half of a 32-bit lane and read as
 * f32 (exact: bf16 is a truncated f32). */
LE load_weight_f32(Lower *L, DType t, LE p, int lanes)
{
	LModule *m = L->m;
	LE raw = le_load(m, p, lanes);
	switch (t) {
	case DT_F16:
		return le_convert(m, raw, lt_vec(LK_F32, lanes));
	case DT_BF16: {
		LE wide = le_convert(m, raw, lt_vec(LK_U32, lanes));
		LE top = le_bin(m, LE_SHL, wide, le_splat(m, le_int(m, LK_U32, 16), lanes));
		return le_bitcast(m, top, lt_vec(LK_F32, lanes));
	}
	case DT_F32:
	case DT_I32:
	case DT_Q8_0:   /* never loaded as floats: their kernels decode blocks */
	case DT_Q4_0:
	case DT_Q4_1:
		break;
	}
	return raw;
}

/* ------------------------------------------------------------ matmul epilogue
 * Every matmul kernel (lower_gemm.c, lower_qmatmul.c) stores its results
 * through mm_store (or, a vector of columns at a time, the same epilogues
 * written in place).
 */
void mm_store(Lower *L, MatEpi epi, LE at, const LE *r, int nr)
{
	LModule *m = L->m;
	for (int j = 0; j < nr; j++) {
		LE p = le_at(m, at, le_i64(m, epi == EPI_SWIGLU ? j / 2 : j));
		if (epi == EPI_STORE) {
			lb_store(m, p, r[j]);
		} else if (epi == EPI_ACC) {
			lb_store(m, p, le_add(m, le_load(m, p, 1), r[j]));
		} else if (j % 2 == 1) {   /* silu(a) * b = a * b / (1 + exp(-a)) */
			LE a = r[j - 1];
			LE den = le_add(m, le_f32(m, 1), lower_exp(L, le_neg(m, a), 1));
			lb_store(m, p, le_div(m, le_mul(m, a, r[j]), den));
		}
	}
}

/* inv = 1 / sqrt(mean(xr[0..n)^2) + NORM_EPS) as f32, emitted at the
 * builder's cursor; the sum of squares in f64 vectors plus a scalar tail. */
LV rms_inverse(Lower *L, LV xr, int64_t n)
{
	LModule *m = L->m;
	int vd = pick_lanes(L->sch.vw / 2 > 1 ? L->sch.vw / 2 : 2, n);   /* f64 lanes */
	LE ss;
	int64_t nv = vd > 1 ? n / vd * vd : 0;
	if (nv) {
		LV acc = lb_let(m, "ss", lt_vec(LK_F64, vd), le_splat(m, le_f64(m, 0), vd));
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, 0), I(L, nv), vd);
		LV xd = lb_let(m, "xd", lt_vec(LK_F64, vd),
		               le_convert(m, le_load(m, le_at(m, V(L, xr), V(L, i)), vd), lt_vec(LK_F64, vd)));
		lb_assign(m, acc, le_fma(m, V(L, xd), V(L, xd), V(L, acc)));
		lb_end(m);
		ss = le_reduce_add(m, V(L, acc));
	} else {
		ss = le_f64(m, 0);
	}
	LV sum = lb_let(m, "sum", T_F64(), ss);
	if (nv < n) {
		LV i = lm_local(m, "i", T_I64());
		lb_for(m, i, I(L, nv), I(L, n), 1);
		LV xd = lb_let(m, "xd", T_F64(), le_convert(m, le_load(m, le_at(m, V(L, xr), V(L, i)), 1), T_F64()));
		lb_assign(m, sum, le_fma(m, V(L, xd), V(L, xd), V(L, sum)));
		lb_end(m);
	}
	LE mean = le_div(m, V(L, sum), le_f64(m, (double)n));
	LE inv = le_div(m, le_f64(m, 1), le_math(m, LE_SQRT, le_add(m, mean, le_named(m, "NORM_EPS"))));
	return lb_let(m, "inv", T_F32(), le_convert(m, inv, T_F32()));
}

/* ------------------------------------------------------------ exp
 * e^x for f32 vectors without a libm call per lane: x = n ln2 + r with
 * n = round(x / ln2) and |r| <= ln2/2 (ln2 in two parts, so r is exact to
 * f32), e^r by Cephes' degree-7 polynomial (relative error ~1e-7 on that
 * range), times 2^n built in the exponent bits.  x is clamped to [-87, 88]
 * so 2^n stays a normal float: e^-87 ~ 1.6e-38 stands for anything
 * smaller (0 to within every use here: softmax weights, SiLU's 1/(1+e^-a)),
 * and no lane overflows.  Emits statements; a scalar takes the same steps. */
LE lower_exp(Lower *L, LE x, int lanes)
{
	LModule *m = L->m;
	LType vt = lanes > 1 ? lt_vec(LK_F32, lanes) : T_F32(), it = lanes > 1 ? lt_vec(LK_I32, lanes) : T_I32();
	int id = m->nv;   /* unique names within the function */
#define K_(v) (lanes > 1 ? le_splat(m, le_f32(m, v), lanes) : le_f32(m, v))
#define KI_(v) (lanes > 1 ? le_splat(m, le_int(m, LK_I32, v), lanes) : le_int(m, LK_I32, v))
	LV xc = lb_let(m, lm_fmt(m, "e%d_x", id), vt, le_bin(m, LE_MAX, le_bin(m, LE_MIN, x, K_(88.0)), K_(-87.0)));
	LV n = lb_let(m, lm_fmt(m, "e%d_n", id), vt, le_round(m, le_mul(m, V(L, xc), K_(1.44269504088896341))));
	LE r = le_fma(m, V(L, n), K_(-0.693359375), V(L, xc));
	LV rv = lb_let(m, lm_fmt(m, "e%d_r", id), vt, le_fma(m, V(L, n), K_(2.12194440e-4), r));
	static const double c[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
	                           4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1};
	LE p = K_(c[0]);
	for (int i = 1; i < 6; i++)
		p = le_fma(m, p, V(L, rv), K_(c[i]));
	LE e = le_fma(m, p, le_mul(m, V(L, rv), V(L, rv)), le_add(m, V(L, rv), K_(1.0)));
	LE bits = le_bin(m, LE_SHL, le_add(m, le_convert(m, V(L, n), it), KI_(127)), KI_(23));
#undef K_
#undef KI_
	return V(L, lb_let(m, lm_fmt(m, "e%d", id), vt, le_mul(m, e, le_bitcast(m, bits, vt))));
}

