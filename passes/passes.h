/*
 * passes.h — the passes that rewrite a Graph between building and codegen.
 *
 * passes_run() applies them as one plain list, in order, verifying the
 * graph after each; `lfm2c ir -d NAME` prints the graph after pass NAME.
 * Options that steer them (formats, fusions, tiles) grow in PassOptions;
 * a schedule file (schedule.h) fills them.
 */
#ifndef LFM2C_PASSES_H
#define LFM2C_PASSES_H

#include <stdbool.h>
#include <stdio.h>

#include "ir.h"

/* "PATTERN=FORMAT": matrix weights whose checkpoint name matches the glob
 * PATTERN (fnmatch, '*' also crosses dots) are stored as FORMAT. */
typedef struct QuantOverride {
	const char *pattern;
	DType format;
} QuantOverride;

struct Schedule;
struct ScheduleFusions;

typedef struct PassOptions {
	const char *dump_after;   /* pass name (or "all") to print after, or NULL */
	FILE *dump;               /* where dumps go */
	/* quantize pass (passes/quantize.c); zero = every weight stays f32 */
	DType weight_format;      /* default format of matrix weights */
	const QuantOverride *quant_overrides;   /* applied in order, last match wins */
	int n_quant_overrides;
	FILE *warn;               /* warnings ("lfm2c: warning: ..."), or NULL */
	const struct Schedule *schedule;   /* the schedule these came from, or NULL */
	/* fusion passes (passes/fuse.c); NULL = no fusion at all (the commands
	 * pass the defaults, fusions_default(), or a schedule's / --fuse's) */
	const struct ScheduleFusions *fusions;
} PassOptions;

int passes_run(Graph *g, const PassOptions *o, LfmError *err);

/* The passes, one file each. */
int pass_quantize(Graph *g, const PassOptions *o, LfmError *err); /* quantize.c */
int pass_layout(Graph *g, const PassOptions *o, LfmError *err);   /* layout.c */
/* fuse.c: one pass per fusion, each a no-op unless o->fusions turns it on
 * (dequant_in_matmul: unless it turns it off) */
int pass_rmsnorm_fold(Graph *g, const PassOptions *o, LfmError *err);
int pass_qkv(Graph *g, const PassOptions *o, LfmError *err);
int pass_w1w3_swiglu(Graph *g, const PassOptions *o, LfmError *err);
int pass_residual_epilogue(Graph *g, const PassOptions *o, LfmError *err);
int pass_conv_chain(Graph *g, const PassOptions *o, LfmError *err);
int pass_qk_norm_rope(Graph *g, const PassOptions *o, LfmError *err);
int pass_dequant_in_matmul(Graph *g, const PassOptions *o, LfmError *err);

/* Parses "PATTERN=FORMAT" (split at the last '=') into out, whose pattern
 * is a malloc'd copy that quant_override_free releases.  Returns 0, or -1
 * with a one-line reason in err. */
int quant_override_parse(const char *arg, QuantOverride *out, LfmError *err);
void quant_override_free(QuantOverride *o);

/* Names of the passes, NULL-terminated, for `-d` help ("build" first). */
extern const char *const pass_names[];
/* Whether NAME is "all" or one of pass_names. */
bool pass_name_known(const char *name);

#endif
