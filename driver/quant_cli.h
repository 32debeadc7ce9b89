/*
 * quant_cli.h — the weight-format flags shared by `interp`, `ir`,
 * `dequant` and `quant-report`:
 *
 *   -q FORMAT                       default format of matrix weights
 *   --quant-override PATTERN=FORMAT per-tensor glob override (repeatable;
 *                                   the last matching one wins)
 *   --schedule FILE                 formats (and fusions) from a schedule
 *                                   file; -q and --quant-override given too
 *                                   apply on top
 *   --fuse LIST                     the fusion passes (fusions_parse in
 *                                   passes/schedule.h: all, none, default,
 *                                   NAME, +NAME, -NAME), on top of the
 *                                   schedule's or the default fusions
 *
 * The formats themselves are in ir/formats.h and specs/formats.md.
 */
#ifndef LFM2C_QUANT_CLI_H
#define LFM2C_QUANT_CLI_H

#include <stdbool.h>

#include "passes.h"
#include "schedule.h"

typedef struct QuantCli {
	bool have_format;
	DType format;
	QuantOverride *ov;        /* schedule overrides, then the command line's */
	int n_ov, cap_ov;
	bool have_schedule;
	Schedule schedule;
	const char *fuse[8];      /* --fuse lists, in order (argv strings) */
	int n_fuse;
	ScheduleFusions fusions;  /* what quant_cli_options settles on */
} QuantCli;

#define QUANT_CLI_USAGE "[-q FORMAT] [--quant-override PATTERN=FORMAT]... [--schedule FILE] [--fuse LIST]"

/* If argv[*i] is one of the flags above, consumes it and its value and
 * returns 1; returns 0 if it is not ours; prints "lfm2c: CMD: ..." and
 * returns -1 on a bad value. */
int quant_cli_arg(QuantCli *q, const char *cmd, int argc, char **argv, int *i);

/* Fills po's format and fusion fields (po points into q afterwards):
 * fusions are the schedule's (or the defaults), then each --fuse. */
void quant_cli_options(QuantCli *q, PassOptions *po);

void quant_cli_free(QuantCli *q);

#endif
