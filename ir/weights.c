/*
 * weights.c — the values of a weight, whatever produced it.
 *
 * A Weight of the graph usually is one checkpoint tensor, but a fusion
 * pass may derive one (rows of several tensors stacked, columns scaled by
 * a norm's weight).  Everything that needs a weight's values — the blob
 * writer, the interpreter, `lfm2c dequant` — reads them through
 * ir_weight_rows_f32, so a derived weight is described once, here.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

int64_t ir_weight_cols(const Weight *w)
{
	return w->shape.ndim ? w->shape.d[w->shape.ndim - 1] : 1;
}

int64_t ir_weight_rows(const Weight *w)
{
	int64_t n = 1;
	for (int i = 0; i + 1 < w->shape.ndim; i++)
		n *= w->shape.d[i];
	return n;
}

int ir_weight_rows_f32(const Weight *w, int64_t row0, int64_t n, float *out, LfmError *err)
{
	int64_t K = ir_weight_cols(w);
	if (row0 < 0 || n < 0 || row0 + n > ir_weight_rows(w))
		return lfm_error(err, NULL, "weight %s: rows %lld..%lld out of range", w->name,
		                 (long long)row0, (long long)(row0 + n));
	const StTensor *t = w->src;
	if (!t || t->numel != ir_weight_rows(w) * K)
		return lfm_error(err, NULL, "weight %s: no source tensor of its shape", w->name);
	size_t esz = lfm_dtype_size(t->dtype);
	StTensor part = *t;
	part.data = t->data + (size_t)(row0 * K) * esz;
	part.numel = n * K;
	part.nbytes = (size_t)(n * K) * esz;
	lfm_tensor_to_f32(&part, out);
	return 0;
}
