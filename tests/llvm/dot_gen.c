/*
 * dot_gen.c — builds the target dot-product operations of the loop form
 * (DOT4_I8, DOT2_BF16) into small kernels and prints them with either
 * backend, so dot.sh can check that each target gets its instruction
 * (vpdpbusd, sdot, vdpbf16ps, bfdot) or the portable expansion, and that
 * every variant computes the same numbers as dot_harness.c's scalar loop.
 *
 *   dot_gen llvm|c OUT TRIPLE CPU FEATURES [asm]
 *
 * Kernels, for n in 4, 8, 16:
 *   void dot4_x{n}(int32_t *acc, const uint8_t *a, const int8_t *b, int64_t blocks)
 *       acc[j] += sum over blocks of sum_q a[4j+q] * b[4j+q]   (4n bytes a block)
 *   void dot4u7_x{n}(int32_t *acc, const uint8_t *a, const int8_t *b, int64_t blocks)
 *       the same with a's bytes promised below 128 (DOT4_I8, u8_max 127:
 *       vpmaddubsw on x86 without VNNI)
 *   void dot4s_x{n}(int32_t *acc, const int8_t *a, const int8_t *b, int64_t blocks)
 *       the same, a signed, b never -128 (DOT4_S8)
 *   void dot2i16_x{n}(int32_t *acc, const uint8_t *a, const int8_t *b, int64_t blocks)
 *       the same through 16-bit lanes: DOT2_I16 over the blocks (a's bytes
 *       promised <= 15, at most 8 blocks: no lane leaves i16), then
 *       PAIRS_I32 into acc
 *   void dot2_x{n}(float *acc, const int16_t *a, const int16_t *b, int64_t blocks)
 *       acc[j] += sum over blocks of a[2j] b[2j] + a[2j+1] b[2j+1]   (bf16 as int16)
 */
#include <stdio.h>
#include <string.h>

#include "lower.h"

/* kind 0: DOT2_BF16, 1: DOT4_I8 (any u8), 2: DOT4_S8, 3: DOT4_I8 (u8 < 128) */
static void kernel(LModule *m, int kind, int n)
{
	int dot4 = kind > 0;
	LKind acck = dot4 ? LK_I32 : LK_F32, ak = kind == 1 || kind == 3 ? LK_U8 : kind == 2 ? LK_I8 : LK_I16;
	LKind bk = dot4 ? LK_I8 : LK_I16;
	int per = dot4 ? 4 : 2;
	static const char *const names[] = {"dot2", "dot4", "dot4s", "dot4u7"};
	LF f = lm_func(m, lm_fmt(m, "%s_x%d", names[kind], n), lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV acc = lm_param(m, f, "acc", lt_ptr(acck, 0));
	LV a = lm_param(m, f, "a", lt_ptr(ak, 1));
	LV b = lm_param(m, f, "b", lt_ptr(bk, 1));
	LV blocks = lm_param(m, f, "blocks", lt_scalar(LK_I64));
	lb_begin(m, f);
	LV s = lb_let(m, "s", lt_vec(acck, n), le_load(m, le_var(m, acc), n));
	LV i = lm_local(m, "i", lt_scalar(LK_I64));
	lb_for(m, i, le_i64(m, 0), le_var(m, blocks), 1);
	LE off = le_mul(m, le_var(m, i), le_i64(m, (int64_t)per * n));
	LE av = le_load(m, le_at(m, le_var(m, a), off), per * n);
	LE bv = le_load(m, le_at(m, le_var(m, b), off), per * n);
	lb_assign(m, s, kind == 1 ? le_dot4_i8(m, le_var(m, s), av, bv, 255)
	                : kind == 3 ? le_dot4_i8(m, le_var(m, s), av, bv, 127)
	                : kind == 2 ? le_dot4_s8(m, le_var(m, s), av, bv) : le_dot2_bf16(m, le_var(m, s), av, bv));
	lb_end(m);
	lb_store(m, le_var(m, acc), le_var(m, s));
	lb_finish(m);
}

/* DOT2_I16 then PAIRS_I32 (n i32 lanes, 2n i16 lanes) */
static void kernel_i16(LModule *m, int n)
{
	LF f = lm_func(m, lm_fmt(m, "dot2i16_x%d", n), lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV acc = lm_param(m, f, "acc", lt_ptr(LK_I32, 0));
	LV a = lm_param(m, f, "a", lt_ptr(LK_U8, 1));
	LV b = lm_param(m, f, "b", lt_ptr(LK_I8, 1));
	LV blocks = lm_param(m, f, "blocks", lt_scalar(LK_I64));
	lb_begin(m, f);
	LV h = lb_let(m, "h", lt_vec(LK_I16, 2 * n), le_splat(m, le_int(m, LK_I16, 0), 2 * n));
	LV i = lm_local(m, "i", lt_scalar(LK_I64));
	lb_for(m, i, le_i64(m, 0), le_var(m, blocks), 1);
	LE off = le_mul(m, le_var(m, i), le_i64(m, 4 * (int64_t)n));
	LE av = le_load(m, le_at(m, le_var(m, a), off), 4 * n);
	LE bv = le_load(m, le_at(m, le_var(m, b), off), 4 * n);
	lb_assign(m, h, le_dot2_i16(m, le_var(m, h), av, bv, 15));
	lb_end(m);
	lb_store(m, le_var(m, acc), le_pairs_i32(m, le_load(m, le_var(m, acc), n), le_var(m, h)));
	lb_finish(m);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: dot_gen llvm|c OUT TRIPLE CPU FEATURES [asm]\n");
		return 2;
	}
	LfmError err = {{0}};
	Target t;
	if (target_resolve(&t, argv[3], argv[4], argv[5], &err)) {
		fprintf(stderr, "dot_gen: %s\n", err.msg);
		return 1;
	}
	LModule *m = lm_new();
	if (!m)
		return 1;
	m->comment = "dot-product kernels for tests/llvm/dot.sh";
	for (int n = 4; n <= 16; n *= 2)
	{
		for (int kind = 0; kind < 4; kind++)
			kernel(m, kind, n);
		kernel_i16(m, n);
	}
	char msg[256];
	int rc = lm_verify(m, msg, sizeof msg);
	if (rc)
		fprintf(stderr, "dot_gen: %s\n", msg);
	else if (!strcmp(argv[1], "c")) {
		FILE *f = fopen(argv[2], "w");
		rc = !f || print_c(m, &t, f, &err) || fclose(f);
	} else {
		rc = llvm_emit_module(m, &t, argc > 6 ? EMIT_LLVM_ASM : EMIT_LLVM_OBJ, argv[2], &err);
	}
	if (rc && err.msg[0])
		fprintf(stderr, "dot_gen: %s\n", err.msg);
	lm_free(m);
	return rc ? 1 : 0;
}
