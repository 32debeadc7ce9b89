/*
 * lower_qmatmul.c — matmul kernels for the block formats (q8_0, q4_0,
 * q4_1): weights read in their packed layout (pack.h), activations
 * quantized to int8 blocks on the fly, int8 dot products.
 *
 * Not built yet: both entry points report that the format has no kernel
 * (the lowering then fails with that message).
 */
#include "lower.h"

LF kernel_qmatmul(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi)
{
	(void)N;
	(void)K;
	(void)epi;
	lfm_error(L->err, NULL, "lowering: no matmul kernel for %s weights yet", dtype_name(wt));
	return 0;
}

LF kernel_qdequant_row(Lower *L, DType wt, int64_t K)
{
	(void)K;
	lfm_error(L->err, NULL, "lowering: no row decoder for %s weights yet (embedding lookup)", dtype_name(wt));
	return 0;
}
