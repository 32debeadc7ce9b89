/*
 * passes.h — the passes that rewrite a Graph between building and codegen.
 *
 * passes_run() applies them as one plain list, in order, verifying the
 * graph after each; `lfm2c ir -d NAME` prints the graph after pass NAME.
 * Options that steer them (formats, fusions, tiles) grow in PassOptions.
 */
#ifndef LFM2C_PASSES_H
#define LFM2C_PASSES_H

#include <stdio.h>

#include "ir.h"

typedef struct PassOptions {
	const char *dump_after;   /* pass name (or "all") to print after, or NULL */
	FILE *dump;               /* where dumps go */
} PassOptions;

int passes_run(Graph *g, const PassOptions *o, LfmError *err);

/* The passes, one file each. */
int pass_layout(Graph *g, const PassOptions *o, LfmError *err);   /* layout.c */

/* Names of the passes, NULL-terminated, for `-d` help. */
extern const char *const pass_names[];

#endif
