/*
 * cli_schedule.h — the command line's part of the one Schedule: the flags
 * shared by compile, ir, interp and dequant.
 *
 *   -q FORMAT                       default format of matrix weights
 *   --quant-override PATTERN=FORMAT per-tensor glob override (repeatable;
 *                                   the last matching one wins)
 *   --schedule FILE                 a schedule file (passes/schedule.h)
 *   --fuse LIST                     the fusions (all, none, default, NAME,
 *                                   +NAME, -NAME), in order
 *
 * Each value is parsed and checked once, when its flag is read (the file
 * too), so a bad flag fails before any work.  cli_schedule_finish then
 * makes the command's Schedule once: the file's (or the defaults), then
 * -q, the overrides after the file's (the command line's win), then each
 * --fuse list in order — whatever order the flags came in.  The Schedule
 * is then passed by pointer; nothing reads the flags again.
 */
#ifndef LFM2C_CLI_SCHEDULE_H
#define LFM2C_CLI_SCHEDULE_H

#include <stdbool.h>

#include "passes.h"
#include "schedule.h"

#define CLI_MAX_FUSE 8

typedef struct CliSchedule {
	bool have_format;
	DType format;             /* -q */
	QuantOverride *ov;        /* --quant-override, in order (patterns owned) */
	int n_ov;
	bool have_schedule;
	const char *schedule_path;   /* --schedule (argv string) */
	FuseEdits fuse[CLI_MAX_FUSE];   /* --fuse lists, parsed, in order */
	int n_fuse;
	Schedule schedule;        /* the file's, then (after finish) everything */
} CliSchedule;

#define CLI_SCHEDULE_USAGE "[-q FORMAT] [--quant-override PATTERN=FORMAT]... [--schedule FILE] [--fuse LIST]"

/* If argv[*i] is one of the flags above, consumes it and its value and
 * returns 1; returns 0 if it is not ours; prints "lfm2c: CMD: ..." and
 * returns -1 on a bad value. */
int cli_schedule_arg(CliSchedule *c, const char *cmd, int argc, char **argv, int *i);

/* Makes c->schedule (as above) and points po->schedule at it; warnings go
 * to stderr.  Call once, after the last flag.  0, or -1 (out of memory,
 * printed). */
int cli_schedule_finish(CliSchedule *c, PassOptions *po);

void cli_schedule_free(CliSchedule *c);

#endif
