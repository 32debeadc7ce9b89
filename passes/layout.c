/*
 * layout.c — decide where every weight lives in the blob.
 *
 * Weights are placed in the order the forward pass first reads them (the
 * order the builder created them), so decoding one token streams the blob
 * front to back.  Each starts at a multiple of LAYOUT_ALIGN bytes, which
 * is what vector loads and the runtime's 64-byte aligned buffers assume.
 * A weight's size follows the format the quantize pass chose: rows of its
 * last axis, each quant_bytes_per_row bytes (4 per value for f32).
 */
#include "passes.h"
#include "formats.h"

#define LAYOUT_ALIGN 64u

/* Bytes of a weight stored in its format; 0 if it cannot be stored so. */
static uint64_t weight_bytes(const Weight *w)
{
	int64_t numel = ir_shape_numel(w->shape, 0, 0);
	int64_t K = w->shape.ndim ? w->shape.d[w->shape.ndim - 1] : numel;
	int64_t row = quant_bytes_per_row(w->dtype, K);
	if (numel <= 0 || K <= 0 || row < 0)
		return 0;
	return (uint64_t)(numel / K) * (uint64_t)row;
}

int pass_layout(Graph *g, const PassOptions *o, LfmError *err)
{
	(void)o;
	uint64_t off = 0;
	for (int i = 0; i < g->n_weights; i++) {
		Weight *w = &g->weights[i];
		uint64_t size = weight_bytes(w);
		if (!size)
			return lfm_error(err, NULL, "layout: weight %s cannot be stored as %s", w->name,
			                 dtype_name(w->dtype));
		off = (off + LAYOUT_ALIGN - 1) / LAYOUT_ALIGN * LAYOUT_ALIGN;
		w->offset = off;
		w->bytes = size;
		off += size;
	}
	g->blob_bytes = (off + LAYOUT_ALIGN - 1) / LAYOUT_ALIGN * LAYOUT_ALIGN;
	return 0;
}
