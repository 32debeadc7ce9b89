/*
 * fusions.h — the one table of fusions.
 *
 * FUSION(name, on by default, graph rewrite, what it does)
 *
 * It drives the ScheduleFusions fields, the pass list (passes.c runs
 * pass_<name> from fuse.c in this order), --fuse's names and messages,
 * the schedule file's "fusions" object (reader and writer), the cache key,
 * tune's axes and the help text.  Adding a fusion is a row here and its
 * pass in fuse.c (and, if it makes a new op, that op's row in ir/ops.h and
 * its kernel).  Order matters: it is the order the passes run in.
 *
 * "graph rewrite" 0 marks dequant_in_matmul, a storage choice rather than a
 * rewrite: --fuse all / none / default leave it alone, only naming it
 * changes it, and it acts when it is off.  Why every fusion is on by
 * default: specs/ir.md, "Default fusions".
 */
FUSION(rmsnorm_fold,      1, 1, "fold RMSNorm weights into the next matmul")
FUSION(qkv,               1, 1, "one matmul for q, k, v")
FUSION(w1w3_swiglu,       1, 1, "w1 and w3 in one matmul with a SiLU*mul epilogue")
FUSION(residual_epilogue, 1, 1, "add the residual in the matmul's epilogue")
FUSION(conv_chain,        1, 1, "B*x, short conv and C* in one loop")
FUSION(qk_norm_rope,      1, 1, "QK-norm and RoPE in one loop")
FUSION(dequant_in_matmul, 1, 0, "block-format weights stored as blocks, dequantized inside the matmul "
                                "(off: stored as f32 holding their quantize-then-dequantize values)")
