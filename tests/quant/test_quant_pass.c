/*
 * test_quant_pass.c — the quantize pass's choice of format for every
 * weight, and the layout pass's sizes, on real checkpoints.
 *
 *   test_quant_pass PROJECT_ROOT TMP_DIR LFM2C
 *
 * Uses the tiny and untied oracle fixtures, and a tiny variant with hidden
 * size 48 (written by `lfm2c synth` into TMP_DIR) whose rows of 48 values
 * cannot be split into blocks of 32.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "passes.h"
#include "schedule.h"
#include "formats.h"


typedef struct Model {
	Checkpoint ck;
	Graph g;
} Model;

static int open_model(Model *m, const char *dir)
{
	LfmError err = {{0}};
	if (lfm_checkpoint_open(dir, &m->ck, NULL, &err)) {
		CHECK_FAIL("%s", err.msg);
		return -1;
	}
	if (ir_build(&m->g, &m->ck, &err)) {
		CHECK_FAIL("%s", err.msg);
		lfm_checkpoint_close(&m->ck);
		return -1;
	}
	return 0;
}

static void close_model(Model *m)
{
	ir_free(&m->g);
	lfm_checkpoint_close(&m->ck);
}

/* The format a weight must get: matrices (2-D, not norms / conv / bias)
 * the default then the last matching override, if its row splits into
 * blocks; everything else f32.  Written from the rule, not from the pass. */
static DType expected(const Weight *w, DType def, const QuantOverride *ov, int n)
{
	bool matrix = w->shape.ndim == 2;
	if (!matrix)
		return DT_F32;
	DType f = def;
	for (int k = 0; k < n; k++)
		if (!fnmatch(ov[k].pattern, w->name, 0))
			f = ov[k].format;
	int64_t K = w->shape.d[1];
	return K % quant_block_values(f) ? DT_F32 : f;
}

/* A schedule of these formats and no fusion (the checks read the
 * checkpoint's own weights); it borrows ov, so it is never freed. */
static Schedule formats_only(DType def, const QuantOverride *ov, int n)
{
	Schedule s;
	schedule_defaults(&s);
	fusions_none(&s.fusions);
	s.default_format = def;
	s.overrides = (QuantOverride *)ov;
	s.n_overrides = n;
	return s;
}

/* Runs the passes and checks every weight's format, size and offset. */
static void check_run(const char *what, const char *dir, DType def, const QuantOverride *ov, int n,
                      FILE *warn)
{
	Model m;
	if (open_model(&m, dir))
		return;   /* a failed check already */
	Schedule sch = formats_only(def, ov, n);
	PassOptions o = {.schedule = &sch, .warn = warn};
	LfmError err = {{0}};
	CHECK(passes_run(&m.g, &o, &err) == 0, "%s: passes: %s", what, err.msg);
	int bad = 0, quantized = 0;
	uint64_t end = 0;
	for (int i = 0; i < m.g.n_weights; i++) {
		const Weight *w = &m.g.weights[i];
		DType want = expected(w, def, ov, n);
		int64_t numel = ir_shape_numel(w->shape, 0, 0), K = w->shape.d[w->shape.ndim - 1];
		uint64_t bytes = (uint64_t)(numel / K) * (uint64_t)quant_bytes_per_row(want, K);
		if (w->dtype != want || w->bytes != bytes || w->offset % 64 || w->offset < end) {
			printf("  %s: %s is %s (%llu bytes @%llu), want %s (%llu bytes)\n", what, w->name,
			       dtype_name(w->dtype), (unsigned long long)w->bytes, (unsigned long long)w->offset,
			       dtype_name(want), (unsigned long long)bytes);
			bad++;
		}
		end = w->offset + w->bytes;
		quantized += w->dtype != DT_F32;
	}
	CHECK(bad == 0, "%s: %d weights wrong", what, bad);
	CHECK(m.g.blob_bytes >= end && m.g.blob_bytes - end < 64, "%s: blob %llu vs end %llu", what,
	      (unsigned long long)m.g.blob_bytes, (unsigned long long)end);
	printf("ok   %s: %d of %d weights quantized, blob %llu bytes\n", what, quantized, m.g.n_weights,
	       (unsigned long long)m.g.blob_bytes);
	close_model(&m);
}

static const Weight *weight(const Graph *g, const char *name)
{
	for (int i = 0; i < g->n_weights; i++)
		if (!strcmp(g->weights[i].name, name))
			return &g->weights[i];
	return NULL;
}

/* Spot checks written out by hand, independent of expected(). */
static void check_by_hand(const char *dir)
{
	Model m;
	if (open_model(&m, dir))
		return;   /* a failed check already */
	QuantOverride ov[] = {{"model.embed_tokens.weight", DT_Q8_0}, {"*.feed_forward.*", DT_Q4_1},
	                      {"model.layers.1.*", DT_F16}, {"*norm*", DT_Q8_0}};
	char *buf = NULL;
	size_t len = 0;
	FILE *warn = open_memstream(&buf, &len);
	Schedule sch = formats_only(DT_Q4_0, ov, 4);
	PassOptions o = {.schedule = &sch, .warn = warn};
	LfmError err = {{0}};
	CHECK(passes_run(&m.g, &o, &err) == 0, "hand: %s", err.msg);
	fclose(warn);
	const Graph *g = &m.g;
	CHECK(weight(g, "model.embed_tokens.weight")->dtype == DT_Q8_0, "embedding q8_0");
	CHECK(weight(g, "model.embed_tokens.weight")->bytes == 512ull * 2 * 34, "embedding 512 rows x 2 blocks x 34");
	CHECK(weight(g, "model.layers.0.feed_forward.w2.weight")->dtype == DT_Q4_1, "layer 0 w2 q4_1");
	CHECK(weight(g, "model.layers.0.feed_forward.w2.weight")->bytes == 64ull * 6 * 20, "w2 [64,192]: 6 blocks x 20");
	CHECK(weight(g, "model.layers.1.feed_forward.w2.weight")->dtype == DT_F16, "layer 1: the later override wins");
	CHECK(weight(g, "model.layers.0.conv.in_proj.weight")->dtype == DT_Q4_0, "in_proj takes the default");
	CHECK(weight(g, "model.layers.0.conv.in_proj.weight")->bytes == 192ull * 2 * 18, "in_proj [192,64] q4_0");
	CHECK(weight(g, "model.layers.2.self_attn.q_proj.weight")->dtype == DT_Q4_0, "q_proj default");
	CHECK(weight(g, "model.layers.2.self_attn.q_layernorm.weight")->dtype == DT_F32, "q_layernorm f32");
	CHECK(weight(g, "model.layers.0.operator_norm.weight")->dtype == DT_F32, "norms stay f32 despite *norm*");
	CHECK(weight(g, "model.layers.0.conv.conv.weight")->dtype == DT_F32, "conv taps f32");
	CHECK(weight(g, "model.embedding_norm.weight")->dtype == DT_F32, "final norm f32");
	CHECK(buf && strstr(buf, "quant override '*norm*' matches no matrix weight"), "warning for *norm*: %s",
	      buf ? buf : "(none)");
	free(buf);
	printf("ok   hand-checked formats on tiny (default q4_0, 4 overrides)\n");
	close_model(&m);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: test_quant_pass PROJECT_ROOT TMP_DIR LFM2C\n");
		return 2;
	}
	char tiny[4096], untied[4096], h48[4096], cmd[12288];
	snprintf(tiny, sizeof tiny, "%s/tests/fixtures/tiny", argv[1]);
	snprintf(untied, sizeof untied, "%s/tests/fixtures/untied", argv[1]);
	snprintf(h48, sizeof h48, "%s/h48", argv[2]);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && '%s' synth tiny -o '%s' --set hidden_size=48 "
	         "--set conv_dim=48 --set conv_dim_out=48 --set block_dim=48 >/dev/null", h48, argv[2], argv[3], h48);
	if (system(cmd) != 0) {
		printf("FAIL: %s\n", cmd);
		return 1;
	}

	check_run("tiny, no options: all f32", tiny, DT_F32, NULL, 0, NULL);
	const DType all[] = {DT_F16, DT_BF16, DT_Q8_0, DT_Q4_0, DT_Q4_1};
	for (int i = 0; i < 5; i++) {
		char what[64];
		snprintf(what, sizeof what, "tiny, -q %s", dtype_name(all[i]));
		check_run(what, tiny, all[i], NULL, 0, NULL);
	}
	QuantOverride ov[] = {{"model.embed_tokens.weight", DT_Q8_0}, {"*.self_attn.*", DT_Q4_0},
	                      {"model.layers.3.*", DT_BF16}};
	check_run("tiny, q4_1 + overrides", tiny, DT_Q4_1, ov, 3, NULL);
	QuantOverride lm[] = {{"lm_head.weight", DT_Q8_0}};
	check_run("untied, q4_0 + lm_head q8_0", untied, DT_Q4_0, lm, 1, NULL);
	check_run("untied, f32 + lm_head q8_0", untied, DT_F32, lm, 1, NULL);
	check_by_hand(tiny);

	/* rows of 48 values: block formats keep f32 (one warning), f16 applies */
	char *buf = NULL;
	size_t len = 0;
	FILE *warn = open_memstream(&buf, &len);
	check_run("hidden 48, q4_0: K=48 rows stay f32, K=192 rows quantize", h48, DT_Q4_0, NULL, 0, warn);
	fclose(warn);
	CHECK(buf && strstr(buf, "kept f32") && strstr(buf, "row length 48"), "K=48 warning: %s", buf ? buf : "");
	CHECK(buf && !strchr(strchr(buf, '\n') + 1, '\n'), "one warning line, got: %s", buf ? buf : "");
	free(buf);
	check_run("hidden 48, f16", h48, DT_F16, NULL, 0, NULL);

	/* i32 is not a storage format */
	Model m;
	if (!open_model(&m, tiny)) {
		Schedule sch = formats_only(DT_I32, NULL, 0);
		PassOptions o = {.schedule = &sch};
		LfmError err = {{0}};
		CHECK(passes_run(&m.g, &o, &err) == -1 && strstr(err.msg, "not a weight format"), "i32: %s", err.msg);
		close_model(&m);
	}
	return check_finish("test_quant_pass");
}
