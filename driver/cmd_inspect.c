/*
 * cmd_inspect.c — `lfm2c inspect MODEL_DIR`.
 *
 * Opens the checkpoint with every frontend check (config resolution,
 * safetensors validation, expected shapes, ff rule, hashes) and prints the
 * report of lfm_inspect_print on stdout.  Warnings about unused tensors go
 * to stderr; any error is the single line "lfm2c: PATH: problem" and exit
 * status 1.  It is the quickest way to ask "will lfm2c accept this model,
 * and which model is it?" — the model hash identifies the exact weights.
 */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "fileio.h"
#include "frontend.h"

static void inspect_usage(FILE *f)
{
	fprintf(f, "usage: lfm2c inspect MODEL_DIR\n"
	           "  Print the resolved config, the layer map, every tensor (dtype, shape,\n"
	           "  bytes, XXH3-64) and the parameter count and model hash.\n");
}

int cmd_inspect(int argc, char **argv)
{
	const char *dir = NULL;
	bool only_positional = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_positional && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			inspect_usage(stdout);
			return 0;
		}
		if (!only_positional && !strcmp(a, "--")) {
			only_positional = true;
		} else if (!only_positional && a[0] == '-' && a[1] != '\0') {
			return lfm_fail("inspect: unknown option '%s' (usage: lfm2c inspect MODEL_DIR)", a);
		} else if (dir) {
			return lfm_fail("inspect: more than one model directory ('%s' and '%s')", dir, a);
		} else {
			dir = a;
		}
	}
	if (!dir)
		return lfm_fail("inspect: missing MODEL_DIR (usage: lfm2c inspect MODEL_DIR)");
	Checkpoint ck;
	LfmError err;
	if (lfm_checkpoint_open(dir, &ck, stderr, &err))
		return lfm_fail("%s", err.msg);
	lfm_inspect_print(stdout, &ck);
	lfm_checkpoint_close(&ck);
	int e = lfm_io_fflush(stdout);
	if (e)
		return lfm_fail("inspect: error writing the report to stdout: %s", lfm_io_reason(e));
	return 0;
}
