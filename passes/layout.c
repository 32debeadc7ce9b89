/*
 * layout.c — decide where every weight lives in the blob.
 *
 * Weights are placed in the order the forward pass first reads them (the
 * order the builder created them), so decoding one token streams the blob
 * front to back.  Each starts at a multiple of LAYOUT_ALIGN bytes, which
 * is what vector loads and the runtime's 64-byte aligned buffers assume.
 * Every weight is stored as f32 for now; the quantization pass will choose
 * per-tensor formats before this one runs.
 */
#include "passes.h"

#define LAYOUT_ALIGN 64u

static uint64_t dtype_bytes(DType t) { return t == DT_F32 || t == DT_I32 ? 4 : 0; }

int pass_layout(Graph *g, const PassOptions *o, LfmError *err)
{
	(void)o;
	uint64_t off = 0;
	for (int i = 0; i < g->n_weights; i++) {
		Weight *w = &g->weights[i];
		uint64_t size = (uint64_t)ir_shape_numel(w->shape, 0, 0) * dtype_bytes(w->dtype);
		if (!size)
			return lfm_error(err, NULL, "layout: weight %s has no size", w->name);
		off = (off + LAYOUT_ALIGN - 1) / LAYOUT_ALIGN * LAYOUT_ALIGN;
		w->offset = off;
		w->bytes = size;
		off += size;
	}
	g->blob_bytes = (off + LAYOUT_ALIGN - 1) / LAYOUT_ALIGN * LAYOUT_ALIGN;
	return 0;
}
