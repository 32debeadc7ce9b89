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

#include <stdio.h>

#include "ir.h"

/* "PATTERN=FORMAT": matrix weights whose checkpoint name matches the glob
 * PATTERN (fnmatch, '*' also crosses dots) are stored as FORMAT. */
typedef struct QuantOverride {
	const char *pattern;
	DType format;
} QuantOverride;

struct Schedule;

typedef struct PassOptions {
	const char *dump_after;   /* pass name (or "all") to print after, or NULL */
	FILE *dump;               /* where dumps go */
	/* quantize pass (passes/quantize.c); zero = every weight stays f32 */
	DType weight_format;      /* default format of matrix weights */
	const QuantOverride *quant_overrides;   /* applied in order, last match wins */
	int n_quant_overrides;
	FILE *warn;               /* warnings ("lfm2c: warning: ..."), or NULL */
	const struct Schedule *schedule;   /* the schedule these came from, or NULL */
} PassOptions;

int passes_run(Graph *g, const PassOptions *o, LfmError *err);

/* The passes, one file each. */
int pass_quantize(Graph *g, const PassOptions *o, LfmError *err); /* quantize.c */
int pass_layout(Graph *g, const PassOptions *o, LfmError *err);   /* layout.c */

/* Parses "PATTERN=FORMAT" (split at the last '=') into out, whose pattern
 * is a malloc'd copy that quant_override_free releases.  Returns 0, or -1
 * with a one-line reason in err. */
int quant_override_parse(const char *arg, QuantOverride *out, LfmError *err);
void quant_override_free(QuantOverride *o);

/* Names of the passes, NULL-terminated, for `-d` help. */
extern const char *const pass_names[];

#endif
