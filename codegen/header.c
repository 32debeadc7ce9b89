/*
 * header.c — model.h, the generated model's interface (as a Glow bundle's
 * header): every size a program needs to drive the model without reading
 * anything else — the weights blob's size, hash and alignment, the session
 * state per token and per sequence, the scratch size for a chunk of
 * tokens — and the one entry point, the lfm2_model_info symbol, whose
 * forward() and scratch_bytes() the runtime (or your own code) calls.
 * The numbers come from the lowered module itself, so they cannot drift
 * from the code.
 */
#include <inttypes.h>

#include "lfm2_abi.h"
#include "lower.h"

static int64_t define_value(const LModule *m, const char *name)
{
	const LDefine *d = lm_find_define(m, name);
	return d ? m->e[d->value].i : 0;
}

int write_header(const LModule *m, const Graph *g, const Checkpoint *ck, uint64_t blob_hash,
                 const CodegenOptions *o, int embedded, FILE *h, LfmError *err)
{
	const LfmConfig *c = g->cfg;
	int64_t kv_per_pos = (int64_t)c->n_attn_layers * 2 * c->n_kv_heads * c->head_dim;
	int64_t conv_floats = (int64_t)c->n_conv_layers * (c->conv_L - 1) * c->hidden;
	int64_t arena = define_value(m, "ARENA_FLOATS_PER_TOKEN");
	int64_t wf = define_value(m, "WF_FLOATS");   /* 0: no 16-bit GEMM block per thread */
	int64_t kt_block = c->n_attn_layers ? (int64_t)ATTN_KB * c->n_kv_heads * c->head_dim : 0;
	const char *sym = o->symbol;
	fprintf(h, "/*\n * model.h — interface of the generated LFM2 model (lfm2c %s).\n"
	           " *\n * Target: %s.  Checkpoint model hash %016" PRIx64 ".\n"
	           " * Link model.o (or model.c) with the lfm2 runtime (runtime/, lfm2rt.h), or\n"
	           " * drive it yourself through %s (lfm2_abi.h):\n"
	           " *   - weights: the payload of the blob (after its %u-byte header),\n"
	           " *     LFM2_MODEL_BLOB_ALIGN-aligned, with hash LFM2_MODEL_BLOB_HASH;\n"
	           " *   - KV cache: ctx * LFM2_MODEL_KV_FLOATS_PER_POS floats, conv state:\n"
	           " *     LFM2_MODEL_CONV_STATE_FLOATS floats (zero at the start of a sequence);\n"
	           " *   - scratch: LFM2_MODEL_SCRATCH_BYTES(max_tokens, ctx, threads) bytes, 64-aligned;\n"
	           " *   - %s.forward(&args) for up to max_tokens tokens per call.\n */\n"
	           "#ifndef LFM2_MODEL_H\n#define LFM2_MODEL_H\n\n#include \"lfm2_abi.h\"\n\n",
	        o->version, o->target_desc, ck->model_hash, sym, LFM2_BLOB_HEADER, sym);
	fprintf(h, "/* sizes */\n");
	fprintf(h, "#define LFM2_MODEL_VOCAB                 %d\n", c->vocab_size);
	fprintf(h, "#define LFM2_MODEL_HIDDEN                %d\n", c->hidden);
	fprintf(h, "#define LFM2_MODEL_LAYERS                %d\n", c->n_layers);
	fprintf(h, "#define LFM2_MODEL_ATTN_LAYERS           %d\n", c->n_attn_layers);
	fprintf(h, "#define LFM2_MODEL_CONV_LAYERS           %d\n", c->n_conv_layers);
	fprintf(h, "#define LFM2_MODEL_BOS                   %d\n", c->bos_id);
	fprintf(h, "#define LFM2_MODEL_EOS                   %d\n", c->eos_id);
	fprintf(h, "#define LFM2_MODEL_MAX_POSITION          %d\n\n", c->max_position_embeddings);
	fprintf(h, "/* the weights blob: header + payload; payload alignment and hash */\n");
	fprintf(h, "#define LFM2_MODEL_BLOB_BYTES            %" PRIu64 "ull   /* payload */\n", g->blob_bytes);
	fprintf(h, "#define LFM2_MODEL_BLOB_FILE_BYTES       %" PRIu64 "ull\n", g->blob_bytes + LFM2_BLOB_HEADER);
	fprintf(h, "#define LFM2_MODEL_BLOB_HASH             0x%016" PRIx64 "ull\n", blob_hash);
	fprintf(h, "#define LFM2_MODEL_BLOB_ALIGN            %u\n\n", LFM2_BLOB_ALIGN);
	fprintf(h, "/* session state (f32): KV cache per position, conv state per sequence */\n");
	fprintf(h, "#define LFM2_MODEL_KV_FLOATS_PER_POS     %" PRId64 "\n", kv_per_pos);
	fprintf(h, "#define LFM2_MODEL_STATE_BYTES_PER_TOKEN %" PRId64 "\n", kv_per_pos * 4);
	fprintf(h, "#define LFM2_MODEL_CONV_STATE_FLOATS     %" PRId64 "\n", conv_floats);
	fprintf(h, "#define LFM2_MODEL_CONV_STATE_BYTES      %" PRId64 "\n\n", conv_floats * 4);
	fprintf(h, "/* scratch of one forward call of up to n tokens, a KV cache of ctx positions, on\n"
	           " * `threads` threads (64-byte aligned): the arena, the keys transposed for the tiled\n"
	           " * attention when n >= %d, each thread's f32 block of the 16-bit GEMMs; the same as\n"
	           " * %s.scratch_bytes(n, ctx, threads) */\n", ATTN_TILE_MIN, sym);
	fprintf(h, "#define LFM2_MODEL_SCRATCH_BYTES_PER_TOKEN %" PRId64 "\n", arena * 4);
	fprintf(h, "#define LFM2_MODEL_SCRATCH_BYTES(n, ctx, threads) \\\n"
	           "\t((size_t)((n) > 0 ? (n) : 1) * LFM2_MODEL_SCRATCH_BYTES_PER_TOKEN + 64 \\\n"
	           "\t + ((n) >= %d ? (size_t)(((ctx) + %d) / %d) * %" PRId64 " : 0) \\\n"
	           "\t + (size_t)((threads) > 0 ? (threads) : 1) * %" PRId64 ")\n",
	        ATTN_TILE_MIN, ATTN_KB - 1, ATTN_KB, kt_block * 4, wf * 4);
	fprintf(h, "#define LFM2_MODEL_MEM_ALIGN             64\n\n");
	fprintf(h, "/* the entry points: %s.forward, %s.scratch_bytes */\n", sym, sym);
	fprintf(h, "extern const lfm2_model_info %s;\n", sym);
	if (embedded)
		fprintf(h, "\n/* --embed-weights: the whole blob file, linked in (weights.o) */\n"
		           "#define LFM2_MODEL_EMBEDDED 1\n"
		           "extern const unsigned char %s_blob[], %s_blob_end[];\n", sym, sym);
	fprintf(h, "\n#endif\n");
	if (ferror(h))
		return lfm_error(err, NULL, "model.h: write failed");
	return 0;
}
