/*
 * print_llvm.c — the LLVM backend: builds the loop-level form with the
 * LLVM-C API, verifies the module, optimizes it with default<O3> and emits
 * an object file, assembly or LLVM IR for the target.
 *
 * The translation is direct.  Every variable of a function is a stack slot
 * (alloca) in its entry block; SROA/mem2reg in the O3 pipeline turn them
 * into SSA registers, so this file never builds phi nodes.  A FOR is the
 * usual header/body/latch/exit block quartet; expressions become one
 * instruction each.  Vectors stay vectors: a LOAD of f32 x 8 is one
 * `load <8 x float>`, FMA is `llvm.fma` (or `llvm.fmuladd` where the
 * target has no FMA unit, so it is not a libm call), REDUCE_ADD is
 * `llvm.vector.reduce.fadd` with reassociation allowed — the hot loops
 * reach the backend already vectorized, with the accumulators the
 * schedule asked for.
 *
 * Target intrinsics are chosen here by feature: DOT4_I8 becomes x86
 * vpdpbusd (avx512vnni / avxvnni) or aarch64 sdot (+dotprod), DOT2_BF16
 * vdpbf16ps / bfdot, and a portable expansion otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/ErrorHandling.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "fsutil.h"
#include "lower.h"

typedef struct LP {
	const LModule *m;
	const Target *t;
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMBuilderRef b;
	LLVMTypeRef *st;        /* per struct */
	LLVMValueRef *fn;       /* per function */
	LLVMTypeRef *fnty;
	LLVMValueRef *gl;       /* per global */
	LLVMValueRef *var;      /* per variable: its stack slot */
	LLVMValueRef cur;       /* function being built */
	LLVMTypeRef ptr;
	int strings;
} LP;

/* ------------------------------------------------------------ types */

static LLVMTypeRef scalar_ty(LP *p, LKind k)
{
	switch (k) {
	case LK_VOID: return LLVMVoidTypeInContext(p->ctx);
	case LK_BOOL: return LLVMInt1TypeInContext(p->ctx);
	case LK_I8: case LK_U8: return LLVMInt8TypeInContext(p->ctx);
	case LK_I16: return LLVMInt16TypeInContext(p->ctx);
	case LK_I32: case LK_U32: return LLVMInt32TypeInContext(p->ctx);
	case LK_I64: case LK_U64: return LLVMInt64TypeInContext(p->ctx);
	case LK_F32: return LLVMFloatTypeInContext(p->ctx);
	case LK_F64: return LLVMDoubleTypeInContext(p->ctx);
	case LK_F16: return LLVMHalfTypeInContext(p->ctx);
	default: return p->ptr;
	}
}

static LLVMTypeRef ty(LP *p, LType t)
{
	if (t.kind == LK_STRUCT)
		return p->st[t.sid];
	if (t.kind == LK_PTR || t.kind == LK_NAMED)
		return p->ptr;
	LLVMTypeRef s = scalar_ty(p, (LKind)t.kind);
	return t.lanes > 1 ? LLVMVectorType(s, t.lanes) : s;
}

/* what a PTR_ADD on pointer type t steps over */
static LLVMTypeRef pointee_ty(LP *p, LType t)
{
	if (t.elem == LK_STRUCT)
		return p->st[t.sid];
	if (t.elem == LK_VOID)
		return LLVMInt8TypeInContext(p->ctx);
	return scalar_ty(p, (LKind)t.elem);
}

static int is_unsigned(LKind k) { return k == LK_U8 || k == LK_U32 || k == LK_U64 || k == LK_BOOL; }

/* ------------------------------------------------------------ intrinsics */

static LLVMValueRef intrinsic(LP *p, const char *name, LLVMTypeRef *over, int nover, LLVMTypeRef *fty)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMValueRef f = LLVMGetIntrinsicDeclaration(p->mod, id, over, (size_t)nover);
	*fty = LLVMIntrinsicGetType(p->ctx, id, over, (size_t)nover);
	return f;
}

static LLVMValueRef call_intrinsic(LP *p, const char *name, LLVMTypeRef over, LLVMValueRef *args, int n)
{
	LLVMTypeRef fty;
	LLVMValueRef f = intrinsic(p, name, over ? &over : NULL, over ? 1 : 0, &fty);
	return LLVMBuildCall2(p->b, fty, f, args, (unsigned)n, "");
}

/* ------------------------------------------------------------ expressions */

static LLVMValueRef ex(LP *p, LE e);

static LLVMValueRef splat(LP *p, LLVMValueRef s, int lanes)
{
	LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)lanes);
	LLVMValueRef v = LLVMBuildInsertElement(p->b, LLVMGetPoison(vt), s,
	                                        LLVMConstInt(LLVMInt32TypeInContext(p->ctx), 0, 0), "");
	LLVMValueRef mask = LLVMConstNull(LLVMVectorType(LLVMInt32TypeInContext(p->ctx), (unsigned)lanes));
	return LLVMBuildShuffleVector(p->b, v, LLVMGetPoison(vt), mask, "");
}

static LLVMValueRef convert(LP *p, LLVMValueRef v, LType from, LType to)
{
	LLVMTypeRef t = ty(p, to);
	int fi = lt_is_int(from) || from.kind == LK_BOOL, ti = lt_is_int(to);
	if (fi && ti) {
		int fb = lt_bytes((LKind)from.kind), tb = lt_bytes((LKind)to.kind);
		if (from.kind == LK_BOOL)
			return LLVMBuildZExt(p->b, v, t, "");
		if (tb > fb)
			return is_unsigned((LKind)from.kind) ? LLVMBuildZExt(p->b, v, t, "") : LLVMBuildSExt(p->b, v, t, "");
		if (tb < fb)
			return LLVMBuildTrunc(p->b, v, t, "");
		return v;
	}
	if (fi && lt_is_float(to))
		return is_unsigned((LKind)from.kind) ? LLVMBuildUIToFP(p->b, v, t, "") : LLVMBuildSIToFP(p->b, v, t, "");
	if (lt_is_float(from) && ti)
		return LLVMBuildFPToSI(p->b, v, t, "");
	if (lt_is_float(from) && lt_is_float(to)) {   /* f16 -> f32 is fpext: vcvtph2ps, fcvtl */
		int fb = lt_bytes((LKind)from.kind), tb = lt_bytes((LKind)to.kind);
		if (tb > fb)
			return LLVMBuildFPExt(p->b, v, t, "");
		if (tb < fb)
			return LLVMBuildFPTrunc(p->b, v, t, "");
	}
	return v;
}

static LLVMValueRef arith(LP *p, const LExpr *x)
{
	LLVMValueRef a = ex(p, x->a), b = ex(p, x->b);
	LType t = p->m->e[x->a].type;
	int f = lt_is_float(t), u = is_unsigned((LKind)t.kind);
	switch (x->op) {
	case LE_ADD: return f ? LLVMBuildFAdd(p->b, a, b, "") : LLVMBuildAdd(p->b, a, b, "");
	case LE_SUB: return f ? LLVMBuildFSub(p->b, a, b, "") : LLVMBuildSub(p->b, a, b, "");
	case LE_MUL: return f ? LLVMBuildFMul(p->b, a, b, "") : LLVMBuildMul(p->b, a, b, "");
	case LE_DIV: return f ? LLVMBuildFDiv(p->b, a, b, "") : u ? LLVMBuildUDiv(p->b, a, b, "") : LLVMBuildSDiv(p->b, a, b, "");
	case LE_REM: return u ? LLVMBuildURem(p->b, a, b, "") : LLVMBuildSRem(p->b, a, b, "");
	case LE_AND: case LE_BAND: return LLVMBuildAnd(p->b, a, b, "");
	case LE_OR: case LE_BOR: return LLVMBuildOr(p->b, a, b, "");
	case LE_BXOR: return LLVMBuildXor(p->b, a, b, "");
	case LE_SHL: return LLVMBuildShl(p->b, a, b, "");
	case LE_SHR: return u ? LLVMBuildLShr(p->b, a, b, "") : LLVMBuildAShr(p->b, a, b, "");
	default: break;
	}
	/* comparisons, min, max */
	LLVMValueRef c;
	LLVMIntPredicate ip;
	LLVMRealPredicate rp;
	switch (x->op) {
	case LE_LT: case LE_MIN: ip = u ? LLVMIntULT : LLVMIntSLT; rp = LLVMRealOLT; break;
	case LE_MAX: ip = u ? LLVMIntUGT : LLVMIntSGT; rp = LLVMRealOGT; break;
	case LE_LE: ip = u ? LLVMIntULE : LLVMIntSLE; rp = LLVMRealOLE; break;
	case LE_EQ: ip = LLVMIntEQ; rp = LLVMRealOEQ; break;
	default: ip = LLVMIntNE; rp = LLVMRealUNE; break;
	}
	c = f ? LLVMBuildFCmp(p->b, rp, a, b, "") : LLVMBuildICmp(p->b, ip, a, b, "");
	if (x->op == LE_MIN || x->op == LE_MAX)
		return LLVMBuildSelect(p->b, c, a, b, "");
	return c;
}

static LLVMValueRef load(LP *p, LLVMTypeRef t, LLVMValueRef ptr, unsigned align)
{
	LLVMValueRef v = LLVMBuildLoad2(p->b, t, ptr, "");
	LLVMSetAlignment(v, align);
	return v;
}

static unsigned elem_align(LType t)
{
	int b = t.kind == LK_PTR || t.kind == LK_NAMED ? 8 : lt_bytes((LKind)t.kind);
	return b > 0 ? (unsigned)b : 1;
}

static LLVMValueRef dot_product(LP *p, const LExpr *x);

static LLVMValueRef math(LP *p, const LExpr *x, const char *name)
{
	LLVMValueRef a = ex(p, x->a);
	return call_intrinsic(p, name, ty(p, x->type), &a, 1);
}

static LLVMValueRef string_global(LP *p, const char *s)
{
	LLVMValueRef init = LLVMConstStringInContext(p->ctx, s, (unsigned)strlen(s), 0);
	char name[32];
	snprintf(name, sizeof name, ".str.%d", p->strings++);
	LLVMValueRef g = LLVMAddGlobal(p->mod, LLVMTypeOf(init), name);
	LLVMSetInitializer(g, init);
	LLVMSetGlobalConstant(g, 1);
	LLVMSetLinkage(g, LLVMPrivateLinkage);
	LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
	LLVMSetAlignment(g, 1);
	return g;
}

static LLVMValueRef args_call(LP *p, const LExpr *x, LLVMTypeRef fty, LLVMValueRef callee)
{
	LLVMValueRef args[LF_MAX_PARAMS];
	for (int i = 0; i < x->nargs && i < LF_MAX_PARAMS; i++)
		args[i] = ex(p, lm_arg(p->m, x, i));
	return LLVMBuildCall2(p->b, fty, callee, args, (unsigned)x->nargs, "");
}

static LLVMValueRef ex(LP *p, LE e)
{
	const LModule *m = p->m;
	const LExpr *x = &m->e[e];
	switch (x->op) {
	case LE_CONST:
		if (lt_is_float(x->type))
			return LLVMConstReal(ty(p, x->type), x->f);
		return LLVMConstInt(ty(p, x->type), (unsigned long long)x->i, !is_unsigned((LKind)x->type.kind));
	case LE_VAR:
		return load(p, ty(p, x->type), p->var[x->i], elem_align(x->type) * (x->type.lanes > 1 ? 1 : 1));
	case LE_ADDR:
		return p->var[x->i];
	case LE_ADD: case LE_SUB: case LE_MUL: case LE_DIV: case LE_REM: case LE_MIN: case LE_MAX:
	case LE_LT: case LE_LE: case LE_EQ: case LE_NE: case LE_AND: case LE_OR:
	case LE_BAND: case LE_BOR: case LE_BXOR: case LE_SHL: case LE_SHR:
		return arith(p, x);
	case LE_BITCAST:
		return LLVMBuildBitCast(p->b, ex(p, x->a), ty(p, x->type), "");
	case LE_ROUND:
		return math(p, x, "llvm.roundeven");
	case LE_NEG: {
		LLVMValueRef a = ex(p, x->a);
		return lt_is_float(x->type) ? LLVMBuildFNeg(p->b, a, "") : LLVMBuildNeg(p->b, a, "");
	}
	case LE_SELECT:
		return LLVMBuildSelect(p->b, ex(p, x->a), ex(p, x->b), ex(p, x->c), "");
	case LE_FMA: {
		LLVMValueRef args[3] = {ex(p, x->a), ex(p, x->b), ex(p, x->c)};
		/* without an FMA unit llvm.fma would be a libm call per lane */
		return call_intrinsic(p, p->t->feat & TF_FMA ? "llvm.fma" : "llvm.fmuladd", ty(p, x->type), args, 3);
	}
	case LE_CONVERT:
		return convert(p, ex(p, x->a), m->e[x->a].type, x->type);
	case LE_PTR_ADD: {
		LLVMValueRef idx = ex(p, x->b);
		return LLVMBuildInBoundsGEP2(p->b, pointee_ty(p, m->e[x->a].type), ex(p, x->a), &idx, 1, "");
	}
	case LE_PTR_CAST:
		return ex(p, x->a);
	case LE_LOAD:
		return load(p, ty(p, x->type), ex(p, x->a), elem_align(x->type));
	case LE_FIELD: {
		LType st = m->e[x->a].type;
		LLVMValueRef fp = LLVMBuildStructGEP2(p->b, p->st[st.sid], ex(p, x->a), (unsigned)x->i, "");
		return load(p, ty(p, x->type), fp, elem_align(x->type));
	}
	case LE_SPLAT:
		return splat(p, ex(p, x->a), x->type.lanes);
	case LE_REDUCE_ADD: {
		LType vt = m->e[x->a].type;
		LLVMValueRef v = ex(p, x->a);
		if (lt_is_float(vt)) {
			LLVMValueRef args[2] = {LLVMConstReal(ty(p, x->type), -0.0), v};
			LLVMValueRef r = call_intrinsic(p, "llvm.vector.reduce.fadd", ty(p, vt), args, 2);
			LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
			return r;
		}
		return call_intrinsic(p, "llvm.vector.reduce.add", ty(p, vt), &v, 1);
	}
	case LE_REDUCE_MAX: {   /* no NaN lanes: fmax's NaN rule never applies */
		LLVMValueRef v = ex(p, x->a);
		return call_intrinsic(p, "llvm.vector.reduce.fmax", ty(p, m->e[x->a].type), &v, 1);
	}
	case LE_EXP: return math(p, x, "llvm.exp");
	case LE_SQRT: return math(p, x, "llvm.sqrt");
	case LE_COS: return math(p, x, "llvm.cos");
	case LE_SIN: return math(p, x, "llvm.sin");
	case LE_CALL:
		return args_call(p, x, p->fnty[x->i], p->fn[x->i]);
	case LE_CALLP: {
		LLVMTypeRef params[LF_MAX_PARAMS];
		for (int i = 0; i < x->nargs && i < LF_MAX_PARAMS; i++)
			params[i] = ty(p, m->e[lm_arg(m, x, i)].type);
		LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(p->ctx), params, (unsigned)x->nargs, 0);
		return args_call(p, x, fty, ex(p, x->a));
	}
	case LE_FUNC: return p->fn[x->i];
	case LE_GLOBAL: return p->gl[x->i];
	case LE_STR: return string_global(p, x->s);
	case LE_DOT4_I8:
	case LE_DOT4_S8:
	case LE_DOT2_BF16:
	case LE_DOT2_I16:
	case LE_PAIRS_I32:
		return dot_product(p, x);
	default:
		abort();   /* AGG only appears where handled (constants, struct assignment) */
	}
}

/* ------------------------------------------------- target dot products
 * DOT4_I8: acc (i32 x n) + per lane j: sum_q a[4j+q] * b[4j+q], a u8, b i8.
 *   x86 avx512vnni (n = 16) / avxvnni or avx512vnni+vl (n = 8, 4):
 *       llvm.x86.avx512.vpdpbusd.{512,256,128} (acc, a, b) on <n x i32>
 *   aarch64 +dotprod: sdot works on i8 x i8, so a (u8) is split:
 *       a = a' + 128 with a' = a ^ 0x80 (i8); sum a*b = sdot(a', b) + 128 * sum b
 *       the correction is sdot(splat(1), b) * 128.
 *   otherwise: widen to i32, multiply, add the four products of each lane
 *       with shuffles (LLVM's own vectorizer code for this is as good as
 *       a hand pattern and it is target-independent).
 *   x86 without VNNI, when the u8 bytes are at most 127 (x->i; q4 codes):
 *       vpmaddubsw (u8 x i8 pairs into i16, exact: 2 x 127 x 128 < 2^15),
 *       vpmaddwd with ones (pairs of i16 into i32), add (avx2: n = 8, 4;
 *       avx512bw: n = 16); larger bytes would saturate: portable.
 * DOT4_S8: the same with a signed (int8 weights x int8 activations), b
 *   never -128:
 *   aarch64 +dotprod: sdot directly;
 *   aarch64 without it (cortex-a53): smull / smull2 (i8 x i8 -> i16), addp
 *       of the two (pairs: |p + p'| <= 2 x 128 x 127 < 2^15), saddlp and
 *       add (LLVM fuses them into sadalp);
 *   x86 vnni: vpdpbusd(acc, a ^ 0x80, b) - 128 * vpdpbusd(0, 1, b)
 *       (a ^ 0x80 read as unsigned is a + 128);
 *   x86 avx2 / avx512bw: the sign of a moves onto b — |a| (u8, <= 128)
 *       times sign(a) b (|.| <= 127) — then as above; avx2 has vpsignb,
 *       avx512 a select on a < 0;
 *   otherwise as DOT4_I8 with a sign-extended.
 * DOT2_BF16: acc (f32 x n) + per lane j: a[2j] b[2j] + a[2j+1] b[2j+1],
 *   a, b bf16 held as i16:
 *   x86 avx512bf16: llvm.x86.avx512bf16.dpbf16ps.{512,256}
 *   aarch64 +bf16: llvm.aarch64.neon.bfdot.v4f32.v8bf16
 *   otherwise: bf16 -> f32 by shifting into the high half, fma. */
static LLVMValueRef shuffle_stride(LP *p, LLVMValueRef v, int n, int stride, int off)
{
	LLVMValueRef idx[64];
	for (int j = 0; j < n; j++)
		idx[j] = LLVMConstInt(LLVMInt32TypeInContext(p->ctx), (unsigned long long)(j * stride + off), 0);
	return LLVMBuildShuffleVector(p->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(idx, (unsigned)n), "");
}

/* x86 has vpmaddubsw / vpmaddwd at this vector width: 512 bits with
 * AVX-512 (BW), 256 and 128 with AVX2. */
static int x86_madd_width(const LP *p, int bits)
{
	if (p->t->arch != ARCH_X86_64)
		return 0;
	return bits == 512 ? (p->t->feat & TF_AVX512) != 0 : (bits == 256 || bits == 128) && (p->t->feat & TF_AVX2);
}

/* vpmaddubsw: u8s x i8s, pairs of products summed into i16 (saturating). */
static LLVMValueRef x86_pmaddubsw(LP *p, int bits, LLVMValueRef u8s, LLVMValueRef i8s)
{
	LLVMValueRef args[2] = {u8s, i8s};
	return call_intrinsic(p, bits == 512 ? "llvm.x86.avx512.pmaddubs.w.512"
	                         : bits == 256 ? "llvm.x86.avx2.pmadd.ub.sw" : "llvm.x86.ssse3.pmadd.ub.sw.128",
	                      NULL, args, 2);
}

/* vpmaddwd with ones: pairs of i16 lanes summed into i32. */
static LLVMValueRef x86_pmaddwd_ones(LP *p, int bits, LLVMValueRef i16s)
{
	LLVMValueRef args[2] = {i16s, splat(p, LLVMConstInt(LLVMInt16TypeInContext(p->ctx), 1, 0), bits / 16)};
	return call_intrinsic(p, bits == 512 ? "llvm.x86.avx512.pmaddw.d.512"
	                         : bits == 256 ? "llvm.x86.avx2.pmadd.wd" : "llvm.x86.sse2.pmadd.wd",
	                      NULL, args, 2);
}

/* acc + the u8 x i8 dot (n i32 lanes) by vpmaddubsw + vpmaddwd: ua's bytes
 * times sb's, exact while no pair of products leaves i16. */
static LLVMValueRef x86_maddubs(LP *p, int n, LLVMValueRef acc, LLVMValueRef ua, LLVMValueRef sb)
{
	return LLVMBuildAdd(p->b, acc, x86_pmaddwd_ones(p, 32 * n, x86_pmaddubsw(p, 32 * n, ua, sb)), "");
}

/* DOT4_S8 on x86 without VNNI: |a| times b with a's sign. */
static LLVMValueRef x86_dot4_s8(LP *p, int n, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b)
{
	LLVMTypeRef i8 = LLVMInt8TypeInContext(p->ctx), v = LLVMVectorType(i8, (unsigned)(4 * n));
	LLVMValueRef ua, sb;
	if (n == 16) {   /* no vpsignb on zmm */
		LLVMValueRef zero = LLVMConstNull(v);
		LLVMValueRef neg = LLVMBuildICmp(p->b, LLVMIntSLT, a, zero, "");
		ua = LLVMBuildSelect(p->b, neg, LLVMBuildSub(p->b, zero, a, ""), a, "");
		sb = LLVMBuildSelect(p->b, neg, LLVMBuildSub(p->b, zero, b, ""), b, "");
	} else {
		const char *sign = n == 8 ? "llvm.x86.avx2.psign.b" : "llvm.x86.ssse3.psign.b.128";
		LLVMValueRef aa[2] = {a, a}, ba[2] = {b, a};
		ua = call_intrinsic(p, sign, NULL, aa, 2);
		sb = call_intrinsic(p, sign, NULL, ba, 2);
	}
	return x86_maddubs(p, n, acc, ua, sb);
}

/* DOT4_S8, n = 4, on aarch64 without sdot: smull, smull2, addp, sadalp. */
static LLVMValueRef neon_dot4_s8(LP *p, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b)
{
	LLVMTypeRef i16 = LLVMInt16TypeInContext(p->ctx), i32 = LLVMInt32TypeInContext(p->ctx);
	LLVMTypeRef w8 = LLVMVectorType(i16, 8), v4 = LLVMVectorType(i32, 4);
	LLVMValueRef lo[2], hi[2];
	for (int h = 0; h < 2; h++) {
		lo[h] = shuffle_stride(p, h ? b : a, 8, 1, 0);
		hi[h] = shuffle_stride(p, h ? b : a, 8, 1, 8);
	}
	LLVMTypeRef fty;
	LLVMValueRef smull = intrinsic(p, "llvm.aarch64.neon.smull", &w8, 1, &fty);
	LLVMValueRef pl = LLVMBuildCall2(p->b, fty, smull, lo, 2, "");
	LLVMValueRef ph = LLVMBuildCall2(p->b, fty, smull, hi, 2, "");
	LLVMTypeRef pfty;
	LLVMValueRef addp = intrinsic(p, "llvm.aarch64.neon.addp", &w8, 1, &pfty);
	LLVMValueRef pargs[2] = {pl, ph};
	LLVMValueRef pairs = LLVMBuildCall2(p->b, pfty, addp, pargs, 2, "");
	LLVMTypeRef over[2] = {v4, w8}, lfty;
	LLVMValueRef saddlp = intrinsic(p, "llvm.aarch64.neon.saddlp", over, 2, &lfty);
	return LLVMBuildAdd(p->b, acc, LLVMBuildCall2(p->b, lfty, saddlp, &pairs, 1, ""), "");
}

/* DOT2_I16 and PAIRS_I32 (loops.h): x86 vpmaddubsw + vpaddw and vpmaddwd
 * with ones + vpaddd where the width has them, aarch64 saddlp + add
 * (sadalp) for PAIRS_I32, a portable expansion otherwise. */
static LLVMValueRef narrow_dot(LP *p, const LExpr *x)
{
	int n = x->type.lanes;
	LLVMValueRef acc = ex(p, x->a), b = ex(p, x->b);
	LLVMTypeRef i16 = LLVMInt16TypeInContext(p->ctx), i32 = LLVMInt32TypeInContext(p->ctx);
	if (x->op == LE_DOT2_I16) {   /* n i16 lanes from 2n bytes */
		LLVMValueRef c = ex(p, x->c);
		if (x86_madd_width(p, 16 * n))
			return LLVMBuildAdd(p->b, acc, x86_pmaddubsw(p, 16 * n, b, c), "");
		LLVMTypeRef w = LLVMVectorType(i16, (unsigned)(2 * n));
		LLVMValueRef prod = LLVMBuildMul(p->b, LLVMBuildZExt(p->b, b, w, ""), LLVMBuildSExt(p->b, c, w, ""), "");
		LLVMValueRef s = LLVMBuildAdd(p->b, acc, shuffle_stride(p, prod, n, 2, 0), "");
		return LLVMBuildAdd(p->b, s, shuffle_stride(p, prod, n, 2, 1), "");
	}
	/* PAIRS_I32: n i32 lanes from 2n i16 */
	if (x86_madd_width(p, 32 * n))
		return LLVMBuildAdd(p->b, acc, x86_pmaddwd_ones(p, 32 * n, b), "");
	if (p->t->arch == ARCH_AARCH64 && n == 4) {
		LLVMTypeRef over[2] = {LLVMVectorType(i32, 4), LLVMVectorType(i16, 8)}, fty;
		LLVMValueRef saddlp = intrinsic(p, "llvm.aarch64.neon.saddlp", over, 2, &fty);
		return LLVMBuildAdd(p->b, acc, LLVMBuildCall2(p->b, fty, saddlp, &b, 1, ""), "");
	}
	LLVMValueRef wide = LLVMBuildSExt(p->b, b, LLVMVectorType(i32, (unsigned)(2 * n)), "");
	LLVMValueRef s = LLVMBuildAdd(p->b, acc, shuffle_stride(p, wide, n, 2, 0), "");
	return LLVMBuildAdd(p->b, s, shuffle_stride(p, wide, n, 2, 1), "");
}

static LLVMValueRef dot_product(LP *p, const LExpr *x)
{
	if (x->op == LE_DOT2_I16 || x->op == LE_PAIRS_I32)
		return narrow_dot(p, x);
	const LModule *m = p->m;
	int n = x->type.lanes;
	LLVMValueRef acc = ex(p, x->a), a = ex(p, x->b), b = ex(p, x->c);
	LLVMTypeRef i32 = LLVMInt32TypeInContext(p->ctx);
	unsigned f = p->t->feat;
	(void)m;
	if (x->op == LE_DOT4_I8 || x->op == LE_DOT4_S8) {
		int sa = x->op == LE_DOT4_S8;
		LLVMTypeRef i8 = LLVMInt8TypeInContext(p->ctx);
		const char *vnni = NULL;
		if (n == 16 && (f & TF_AVX512VNNI))
			vnni = "llvm.x86.avx512.vpdpbusd.512";
		else if (n == 8 && (f & (TF_AVXVNNI | TF_AVX512VNNI)))
			vnni = "llvm.x86.avx512.vpdpbusd.256";
		else if (n == 4 && (f & (TF_AVXVNNI | TF_AVX512VNNI)))
			vnni = "llvm.x86.avx512.vpdpbusd.128";
		if (vnni) {
			LLVMTypeRef vt = LLVMVectorType(i32, (unsigned)n);
			if (sa)   /* a + 128 is unsigned; take 128 * sum(b) back out */
				a = LLVMBuildXor(p->b, a, splat(p, LLVMConstInt(i8, 0x80, 0), 4 * n), "");
			LLVMValueRef args[3] = {acc, LLVMBuildBitCast(p->b, a, vt, ""), LLVMBuildBitCast(p->b, b, vt, "")};
			LLVMValueRef r = call_intrinsic(p, vnni, NULL, args, 3);
			if (!sa)
				return r;
			LLVMValueRef ones = LLVMBuildBitCast(p->b, splat(p, LLVMConstInt(i8, 1, 0), 4 * n), vt, "");
			LLVMValueRef cargs[3] = {LLVMConstNull(vt), ones, LLVMBuildBitCast(p->b, b, vt, "")};
			LLVMValueRef sb = call_intrinsic(p, vnni, NULL, cargs, 3);
			return LLVMBuildSub(p->b, r, LLVMBuildShl(p->b, sb, splat(p, LLVMConstInt(i32, 7, 0), n), ""), "");
		}
		if (p->t->arch == ARCH_AARCH64 && (f & TF_DOTPROD) && n == 4) {
			LLVMTypeRef v4 = LLVMVectorType(i32, 4), v16 = LLVMVectorType(i8, 16);
			LLVMTypeRef over[2] = {v4, v16}, fty;
			LLVMValueRef sdot = intrinsic(p, "llvm.aarch64.neon.sdot", over, 2, &fty);
			if (sa) {
				LLVMValueRef args[3] = {acc, a, b};
				return LLVMBuildCall2(p->b, fty, sdot, args, 3, "");
			}
			/* sdot is signed x signed: a = (a ^ 0x80) + 128 */
			LLVMValueRef flip = LLVMBuildXor(p->b, a, splat(p, LLVMConstInt(i8, 0x80, 0), 16), "");
			LLVMValueRef args[3] = {acc, flip, b};
			LLVMValueRef s = LLVMBuildCall2(p->b, fty, sdot, args, 3, "");
			LLVMValueRef ones = splat(p, LLVMConstInt(i8, 1, 0), 16);
			LLVMValueRef cargs[3] = {LLVMConstNull(v4), ones, b};
			LLVMValueRef sb = LLVMBuildCall2(p->b, fty, sdot, cargs, 3, "");
			LLVMValueRef corr = LLVMBuildShl(p->b, sb, splat(p, LLVMConstInt(i32, 7, 0), 4), "");
			return LLVMBuildAdd(p->b, s, corr, "");
		}
		if (x86_madd_width(p, 32 * n)) {
			if (sa)
				return x86_dot4_s8(p, n, acc, a, b);
			if (x->i >= 1 && x->i <= 127)
				return x86_maddubs(p, n, acc, a, b);
		}
		if (p->t->arch == ARCH_AARCH64 && n == 4 && (sa || (x->i >= 1 && x->i <= 127)))
			return neon_dot4_s8(p, acc, a, b);   /* bytes <= 127 read the same signed */
		LLVMTypeRef w = LLVMVectorType(i32, (unsigned)(4 * n));
		LLVMValueRef wa = sa ? LLVMBuildSExt(p->b, a, w, "") : LLVMBuildZExt(p->b, a, w, "");
		LLVMValueRef prod = LLVMBuildMul(p->b, wa, LLVMBuildSExt(p->b, b, w, ""), "");
		LLVMValueRef sum = acc;
		for (int q = 0; q < 4; q++)
			sum = LLVMBuildAdd(p->b, sum, shuffle_stride(p, prod, n, 4, q), "");
		return sum;
	}
	/* DOT2_BF16 */
	LLVMTypeRef bf = LLVMBFloatTypeInContext(p->ctx);
	const char *bfname = NULL;
	if ((f & TF_AVX512BF16) && n == 16)
		bfname = "llvm.x86.avx512bf16.dpbf16ps.512";
	else if ((f & TF_AVX512BF16) && n == 8)
		bfname = "llvm.x86.avx512bf16.dpbf16ps.256";
	if (bfname) {
		LLVMTypeRef vb = LLVMVectorType(bf, (unsigned)(2 * n));
		LLVMValueRef args[3] = {acc, LLVMBuildBitCast(p->b, a, vb, ""), LLVMBuildBitCast(p->b, b, vb, "")};
		return call_intrinsic(p, bfname, NULL, args, 3);
	}
	if (p->t->arch == ARCH_AARCH64 && (f & TF_BF16) && n == 4) {
		LLVMTypeRef vb = LLVMVectorType(bf, 8), v4 = LLVMVectorType(LLVMFloatTypeInContext(p->ctx), 4);
		LLVMTypeRef over[2] = {v4, vb}, fty;
		LLVMValueRef bfdot = intrinsic(p, "llvm.aarch64.neon.bfdot", over, 2, &fty);
		LLVMValueRef args[3] = {acc, LLVMBuildBitCast(p->b, a, vb, ""), LLVMBuildBitCast(p->b, b, vb, "")};
		return LLVMBuildCall2(p->b, fty, bfdot, args, 3, "");
	}
	LLVMTypeRef w = LLVMVectorType(i32, (unsigned)(2 * n));
	LLVMTypeRef vf = LLVMVectorType(LLVMFloatTypeInContext(p->ctx), (unsigned)(2 * n));
	LLVMValueRef sixteen = splat(p, LLVMConstInt(i32, 16, 0), 2 * n);
	LLVMValueRef fa = LLVMBuildBitCast(p->b, LLVMBuildShl(p->b, LLVMBuildZExt(p->b, a, w, ""), sixteen, ""), vf, "");
	LLVMValueRef fb = LLVMBuildBitCast(p->b, LLVMBuildShl(p->b, LLVMBuildZExt(p->b, b, w, ""), sixteen, ""), vf, "");
	LLVMValueRef prod = LLVMBuildFMul(p->b, fa, fb, "");
	LLVMValueRef s = LLVMBuildFAdd(p->b, acc, shuffle_stride(p, prod, n, 2, 0), "");
	return LLVMBuildFAdd(p->b, s, shuffle_stride(p, prod, n, 2, 1), "");
}

/* ------------------------------------------------------------ constants */

static LLVMValueRef constant(LP *p, LE e)
{
	const LModule *m = p->m;
	const LExpr *x = &m->e[e];
	switch (x->op) {
	case LE_AGG: {
		LLVMValueRef *items = malloc(sizeof *items * (size_t)(x->nargs ? x->nargs : 1));
		if (!items)
			return NULL;
		for (int i = 0; i < x->nargs; i++)
			items[i] = constant(p, lm_arg(m, x, i));
		LLVMValueRef v;
		if (x->nargs && m->e[lm_arg(m, x, 0)].op == LE_AGG)   /* array of structs */
			v = LLVMConstArray2(ty(p, x->type), items, (uint64_t)x->nargs);
		else if (x->type.kind == LK_STRUCT)
			v = LLVMConstNamedStruct(p->st[x->type.sid], items, (unsigned)x->nargs);
		else
			v = LLVMConstArray2(ty(p, x->type), items, (uint64_t)x->nargs);
		free(items);
		return v;
	}
	case LE_STR: return string_global(p, x->s);
	case LE_FUNC: return p->fn[x->i];
	case LE_GLOBAL: return p->gl[x->i];
	case LE_CONST:
		if (lt_is_float(x->type))
			return LLVMConstReal(ty(p, x->type), x->f);
		return LLVMConstInt(ty(p, x->type), (unsigned long long)x->i, !is_unsigned((LKind)x->type.kind));
	default:
		abort();
	}
}

/* ------------------------------------------------------------ statements */

static LLVMBasicBlockRef new_block(LP *p, const char *name)
{
	return LLVMAppendBasicBlockInContext(p->ctx, p->cur, name);
}

static int terminated(LP *p) { return LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(p->b)) != NULL; }

static void branch(LP *p, LLVMBasicBlockRef to)
{
	if (!terminated(p))
		LLVMBuildBr(p->b, to);
}

static void block(LP *p, LS s);

static void store(LP *p, LLVMValueRef v, LLVMValueRef ptr, unsigned align)
{
	LLVMValueRef st = LLVMBuildStore(p->b, v, ptr);
	LLVMSetAlignment(st, align);
}

static void stmt(LP *p, LS s)
{
	const LModule *m = p->m;
	const LStmt *st = &m->s[s];
	switch (st->op) {
	case LS_FOR: {
		LLVMValueRef slot = p->var[st->var];
		LLVMTypeRef i64 = LLVMInt64TypeInContext(p->ctx);
		if (st->a)
			store(p, ex(p, st->a), slot, 8);
		LLVMBasicBlockRef head = new_block(p, "for.head"), body = new_block(p, "for.body"),
		                  latch = new_block(p, "for.latch"), exit = new_block(p, "for.end");
		branch(p, head);
		LLVMPositionBuilderAtEnd(p->b, head);
		LLVMValueRef v = load(p, i64, slot, 8);
		LLVMBuildCondBr(p->b, LLVMBuildICmp(p->b, LLVMIntSLT, v, ex(p, st->b), ""), body, exit);
		LLVMPositionBuilderAtEnd(p->b, body);
		block(p, st->body);
		branch(p, latch);
		LLVMPositionBuilderAtEnd(p->b, latch);
		LLVMValueRef nv = LLVMBuildAdd(p->b, load(p, i64, slot, 8), LLVMConstInt(i64, (unsigned long long)st->step, 0), "");
		store(p, nv, slot, 8);
		LLVMBuildBr(p->b, head);
		LLVMPositionBuilderAtEnd(p->b, exit);
		return;
	}
	case LS_IF: {
		LLVMBasicBlockRef then = new_block(p, "if.then"), join = new_block(p, "if.end");
		LLVMBasicBlockRef other = st->orelse ? new_block(p, "if.else") : join;
		LLVMBuildCondBr(p->b, ex(p, st->a), then, other);
		LLVMPositionBuilderAtEnd(p->b, then);
		block(p, st->body);
		branch(p, join);
		if (st->orelse) {
			LLVMPositionBuilderAtEnd(p->b, other);
			block(p, st->orelse);
			branch(p, join);
		}
		LLVMPositionBuilderAtEnd(p->b, join);
		return;
	}
	case LS_ASSIGN: {
		const LVar *v = &m->v[st->var];
		const LExpr *x = &m->e[st->a];
		if (x->op == LE_AGG) {   /* a struct local, field by field */
			for (int i = 0; i < x->nargs; i++) {
				LLVMValueRef fp = LLVMBuildStructGEP2(p->b, p->st[v->type.sid], p->var[st->var], (unsigned)i, "");
				LE it = lm_arg(m, x, i);
				store(p, ex(p, it), fp, elem_align(m->e[it].type));
			}
			return;
		}
		store(p, ex(p, st->a), p->var[st->var], elem_align(v->type));
		return;
	}
	case LS_STORE:
		store(p, ex(p, st->b), ex(p, st->a), elem_align(m->e[st->b].type));
		return;
	case LS_EVAL:
		ex(p, st->a);
		return;
	case LS_RETURN:
		if (st->a)
			LLVMBuildRet(p->b, ex(p, st->a));
		else
			LLVMBuildRetVoid(p->b);
		LLVMPositionBuilderAtEnd(p->b, new_block(p, "after.ret"));   /* unreachable code, if any */
		return;
	case LS_MEMCPY:
	case LS_MEMMOVE: {
		LLVMValueRef d = ex(p, st->a), sp = ex(p, st->b), n = ex(p, st->c);
		if (st->op == LS_MEMCPY)
			LLVMBuildMemCpy(p->b, d, 4, sp, 4, n);
		else
			LLVMBuildMemMove(p->b, d, 4, sp, 4, n);
		return;
	}
	case LS_PREFETCH: {   /* read, keep in all cache levels, data */
		LLVMTypeRef i32 = LLVMInt32TypeInContext(p->ctx);
		LLVMValueRef a[4] = {ex(p, st->a), LLVMConstInt(i32, 0, 0), LLVMConstInt(i32, 3, 0), LLVMConstInt(i32, 1, 0)};
		call_intrinsic(p, "llvm.prefetch", LLVMTypeOf(a[0]), a, 4);
		return;
	}
	default:
		return;   /* COMMENT */
	}
}

static void block(LP *p, LS s)
{
	for (; s; s = p->m->s[s].next)
		stmt(p, s);
}

/* ------------------------------------------------------------ functions */

static void add_attr(LP *p, LLVMValueRef f, const char *name)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
	LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(p->ctx, kind, 0));
}

static void add_string_attr(LP *p, LLVMValueRef f, const char *k, const char *v)
{
	LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
	                        LLVMCreateStringAttribute(p->ctx, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
}

static void declare_function(LP *p, LF fi)
{
	const LFunc *f = &p->m->f[fi];
	LLVMTypeRef params[LF_MAX_PARAMS];
	for (int i = 0; i < f->nparams; i++)
		params[i] = ty(p, p->m->v[f->params[i]].type);
	p->fnty[fi] = LLVMFunctionType(ty(p, f->ret), params, (unsigned)f->nparams, 0);
	LLVMValueRef fn = LLVMAddFunction(p->mod, f->name, p->fnty[fi]);
	p->fn[fi] = fn;
	if (f->linkage == LL_EXTERN)
		return;
	LLVMSetLinkage(fn, f->linkage == LL_STATIC ? LLVMInternalLinkage : LLVMExternalLinkage);
	add_attr(p, fn, "nounwind");
	if (f->is_inline)
		add_attr(p, fn, "alwaysinline");
	add_string_attr(p, fn, "target-cpu", p->t->cpu);
	if (*p->t->features)
		add_string_attr(p, fn, "target-features", p->t->features);
}

static void define_function(LP *p, LF fi)
{
	const LModule *m = p->m;
	const LFunc *f = &m->f[fi];
	p->cur = p->fn[fi];
	LLVMBasicBlockRef entry = new_block(p, "entry");
	LLVMPositionBuilderAtEnd(p->b, entry);
	for (LV v = 1; v < m->nv; v++) {
		if (m->v[v].func != fi)
			continue;
		LLVMTypeRef t = ty(p, m->v[v].type);
		if (m->v[v].count)
			t = LLVMArrayType2(t, (uint64_t)m->v[v].count);
		p->var[v] = LLVMBuildAlloca(p->b, t, m->v[v].name);
	}
	for (int i = 0; i < f->nparams; i++) {
		LLVMValueRef arg = LLVMGetParam(p->fn[fi], (unsigned)i);
		LLVMSetValueName2(arg, m->v[f->params[i]].name, strlen(m->v[f->params[i]].name));
		store(p, arg, p->var[f->params[i]], elem_align(m->v[f->params[i]].type));
	}
	block(p, f->body);
	if (!terminated(p)) {
		if (f->ret.kind == LK_VOID)
			LLVMBuildRetVoid(p->b);
		else
			LLVMBuildUnreachable(p->b);
	}
}

/* ------------------------------------------------------------ module */

static void build_structs(LP *p)
{
	const LModule *m = p->m;
	for (LStr s = 1; s < m->nst; s++) {
		if (m->st[s].opaque) {
			p->st[s] = NULL;
			continue;
		}
		char name[128];
		snprintf(name, sizeof name, "struct.%s", m->st[s].name);
		p->st[s] = LLVMStructCreateNamed(p->ctx, name);
	}
	for (LStr s = 1; s < m->nst; s++) {
		if (!p->st[s])
			continue;
		LLVMTypeRef fields[64];
		int n = m->st[s].nfields < 64 ? m->st[s].nfields : 64;
		for (int i = 0; i < n; i++)
			fields[i] = ty(p, m->st[s].fields[i].type);
		LLVMStructSetBody(p->st[s], fields, (unsigned)n, 0);
	}
}

static void build_globals(LP *p)
{
	const LModule *m = p->m;
	for (LG g = 1; g < m->ng; g++) {
		const LGlobal *G = &m->g[g];
		LLVMTypeRef t = ty(p, G->type);
		if (G->count)
			t = LLVMArrayType2(t, (uint64_t)G->count);
		p->gl[g] = LLVMAddGlobal(p->mod, t, G->name);
		LLVMSetGlobalConstant(p->gl[g], 1);
		LLVMSetLinkage(p->gl[g], G->exported ? LLVMExternalLinkage : LLVMInternalLinkage);
		LLVMSetAlignment(p->gl[g], 8);
	}
	/* initializers may refer to functions and other globals: after all exist */
	for (LG g = 1; g < m->ng; g++)
		LLVMSetInitializer(p->gl[g], constant(p, m->g[g].init));
}

/* Builds the LLVM module of m (NULL on failure, with err). */
static LLVMModuleRef build_module(LP *p, LLVMTargetMachineRef tm, LfmError *err)
{
	const LModule *m = p->m;
	p->mod = LLVMModuleCreateWithNameInContext("model", p->ctx);
	LLVMSetSourceFileName(p->mod, "model", 5);
	LLVMSetTarget(p->mod, p->t->triple);
	LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(p->mod, dl);
	LLVMDisposeTargetData(dl);
	p->b = LLVMCreateBuilderInContext(p->ctx);
	p->ptr = LLVMPointerTypeInContext(p->ctx, 0);
	p->st = calloc((size_t)m->nst, sizeof *p->st);
	p->fn = calloc((size_t)m->nf, sizeof *p->fn);
	p->fnty = calloc((size_t)m->nf, sizeof *p->fnty);
	p->gl = calloc((size_t)m->ng, sizeof *p->gl);
	p->var = calloc((size_t)m->nv, sizeof *p->var);
	if (!p->st || !p->fn || !p->fnty || !p->gl || !p->var) {
		lfm_error(err, NULL, "LLVM backend: out of memory");
		return NULL;
	}
	build_structs(p);
	for (LF f = 1; f < m->nf; f++)
		declare_function(p, f);
	build_globals(p);
	for (LF f = 1; f < m->nf; f++)
		if (m->f[f].linkage != LL_EXTERN)
			define_function(p, f);
	char *msg = NULL;
	if (LLVMVerifyModule(p->mod, LLVMReturnStatusAction, &msg)) {
		lfm_error(err, NULL, "LLVM backend: the module does not verify: %.300s", msg ? msg : "?");
		LLVMDisposeMessage(msg);
		return NULL;
	}
	LLVMDisposeMessage(msg);
	return p->mod;
}

static void free_lp(LP *p)
{
	if (p->b)
		LLVMDisposeBuilder(p->b);
	free(p->st);
	free(p->fn);
	free(p->fnty);
	free(p->gl);
	free(p->var);
}

static LLVMTargetMachineRef llvm_target_machine(const Target *t, LfmError *err)
{
	LLVMTargetRef tgt;
	char *msg = NULL;
	if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
		lfm_error(err, NULL, "LLVM backend: %s", msg ? msg : "unknown target");
		LLVMDisposeMessage(msg);
		return NULL;
	}
	return LLVMCreateTargetMachine(tgt, t->triple, t->cpu, t->features, LLVMCodeGenLevelAggressive,
	                               LLVMRelocPIC, LLVMCodeModelDefault);
}

static int write_output(const char *path, const void *bytes, size_t n, LfmError *err)
{
	return fs_write_file(path, bytes, n, 0666 & ~fs_umask()) ? lfm_error(err, path, "cannot write: %s",
	                                                                     strerror(errno))
	                                                         : 0;
}

/* LLVM's fatal errors (reported_fatal_error) end the process; this makes
 * the end one lfm2c line.  The compile runs in a supervised child
 * (supervise.h), whose parent then removes the partial outputs. */
static void llvm_fatal(const char *reason)
{
	fprintf(stderr, "lfm2c: LLVM backend: fatal error: %s\n", reason);
	fflush(stderr);
	_exit(1);
}

static int llvm_emit_module_inner(const LModule *m, const Target *t, LlvmEmit kind, const char *path,
                                  LfmError *err);

int llvm_emit_module(const LModule *m, const Target *t, LlvmEmit kind, const char *path, LfmError *err)
{
	LLVMInstallFatalErrorHandler(llvm_fatal);
	int rc = llvm_emit_module_inner(m, t, kind, path, err);
	LLVMResetFatalErrorHandler();
	return rc;
}

static int llvm_emit_module_inner(const LModule *m, const Target *t, LlvmEmit kind, const char *path, LfmError *err)
{
	int rc = -1;
	LP p = {0};
	p.m = m;
	p.t = t;
	p.ctx = LLVMContextCreate();
	LLVMTargetMachineRef tm = llvm_target_machine(t, err);
	LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
	char *msg = NULL;
	if (!tm || !build_module(&p, tm, err))
		goto out;
	LLVMErrorRef e = LLVMRunPasses(p.mod, "default<O3>", tm, opts);
	if (e) {
		char *s = LLVMGetErrorMessage(e);
		lfm_error(err, NULL, "LLVM backend: optimization failed: %s", s);
		LLVMDisposeErrorMessage(s);
		goto out;
	}
	/* Into memory, then into the file with our own writes: LLVM's file
	 * streams end the process on an I/O error (a full disk). */
	if (kind == EMIT_LLVM_IR) {
		char *text = LLVMPrintModuleToString(p.mod);
		rc = write_output(path, text, strlen(text), err);
		LLVMDisposeMessage(text);
		goto out;
	}
	LLVMMemoryBufferRef buf = NULL;
	if (LLVMTargetMachineEmitToMemoryBuffer(tm, p.mod, kind == EMIT_LLVM_ASM ? LLVMAssemblyFile : LLVMObjectFile,
	                                        &msg, &buf)) {
		lfm_error(err, path, "LLVM cannot emit code: %s", msg ? msg : "?");
		goto out;
	}
	rc = write_output(path, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), err);
	LLVMDisposeMemoryBuffer(buf);
out:
	LLVMDisposeMessage(msg);
	LLVMDisposePassBuilderOptions(opts);
	free_lp(&p);
	if (p.mod)
		LLVMDisposeModule(p.mod);
	if (tm)
		LLVMDisposeTargetMachine(tm);
	LLVMContextDispose(p.ctx);
	return rc;
}

int codegen_llvm(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                 const CodegenOptions *o, int embedded, LlvmEmit kind, const char *path, FILE *h_out,
                 LfmError *err)
{
	LModule *m = lower_model(g, ck, t, blob_hash, o, err);
	if (!m)
		return -1;
	int rc = llvm_emit_module(m, t, kind, path, err);
	if (!rc)
		rc = write_header(m, g, ck, blob_hash, o, embedded, h_out, err);
	lm_free(m);
	return rc;
}
