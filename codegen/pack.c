/*
 * pack.c — the packed row layouts of pack.h.
 *
 * Every format is, for now, its plain block encoding (quant.h); the block
 * formats' kernel layouts replace the two functions' block cases.
 */
#include "pack.h"
#include "quant.h"

int pack_row(DType t, const float *x, int64_t K, void *out)
{
	return quant_quantize_row(t, x, K, out);
}

int unpack_row(DType t, const void *in, int64_t K, float *out)
{
	return quant_dequantize_row(t, in, K, out);
}
