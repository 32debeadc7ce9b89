/*
 * passes.h — the passes that rewrite a Graph between building and codegen.
 *
 * passes_run() applies them as one plain list, in order, verifying the
 * graph after each; `lfm2c ir -d NAME` prints the graph after pass NAME.
 * What steers them (formats, fusions) is the compile's one Schedule
 * (schedule.h), passed by pointer.
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

typedef struct PassOptions {
	const struct Schedule *schedule;   /* formats and fusions (schedule.h); NULL: schedule_defaults */
	const char *dump_after;   /* pass name (or "all", or a comma list) to print after, or NULL */
	FILE *dump;               /* where dumps go */
	FILE *warn;               /* warnings ("lfm2c: warning: ..."), or NULL */
} PassOptions;

int passes_run(Graph *g, const PassOptions *o, LfmError *err);

/* pipeline.c: the graph of a model, through the pass list.
 * passes_build_graph builds the graph of an open checkpoint and runs the
 * passes with po; passes_load_graph opens the checkpoint in dir first.
 * 0, or -1 with err set and nothing left open (the caller reports err);
 * passes_unload_graph frees what passes_load_graph made. */
int passes_build_graph(const Checkpoint *ck, const PassOptions *po, Graph *g, LfmError *err);
int passes_load_graph(const char *dir, const PassOptions *po, Checkpoint *ck, Graph *g, LfmError *err);
void passes_unload_graph(Checkpoint *ck, Graph *g);

/* The passes, one file each: quantize.c, layout.c, and fuse.c's one pass
 * per row of fusions.h, pass_<name>, each a no-op unless the schedule
 * turns it on (dequant_in_matmul: unless it turns it off). */
int pass_quantize(Graph *g, const PassOptions *o, LfmError *err);
int pass_layout(Graph *g, const PassOptions *o, LfmError *err);
#define FUSION(name, on, graph, help) int pass_##name(Graph *g, const PassOptions *o, LfmError *err);
#include "fusions.h"
#undef FUSION

/* Parses "PATTERN=FORMAT" (split at the last '=') into out, whose pattern
 * is a malloc'd copy that quant_override_free releases.  Returns 0, or -1
 * with a one-line reason in err. */
int quant_override_parse(const char *arg, QuantOverride *out, LfmError *err);
void quant_override_free(QuantOverride *o);

/* Whether NAME is "all", "build" or the name of a pass. */
bool pass_name_known(const char *name);
/* "build, quantize, rmsnorm_fold, ..., layout" for messages (into buf). */
const char *pass_names_list(char *buf, size_t n);

#endif
