/*
 * cmd_ir.c — `lfm2c ir MODEL_DIR [-d PASS|all]`: print the graph.
 *
 * Without -d it prints the graph after the whole pass list; -d NAME prints
 * it after that pass ("build" is the graph as built), -d all after each.
 */
#include <string.h>

#include "driver.h"
#include "passes.h"

int cmd_ir(int argc, char **argv)
{
	const char *dir = NULL, *dump = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			dump = argv[++i];
			int known = !strcmp(dump, "all");
			for (int k = 0; pass_names[k]; k++)
				known |= !strcmp(dump, pass_names[k]);
			if (!known)
				return driver_fail("ir: unknown pass '%s' for -d", dump);
		} else if (argv[i][0] == '-')
			return driver_fail("ir: unknown option '%s'", argv[i]);
		else if (!dir)
			dir = argv[i];
		else
			return driver_fail("ir: unexpected argument '%s'", argv[i]);
	}
	if (!dir)
		return driver_fail("usage: lfm2c ir MODEL_DIR [-d PASS|all]");
	LfmError err = {{0}};
	Checkpoint ck;
	Graph g;
	if (lfm_checkpoint_open(dir, &ck, stderr, &err))
		return driver_fail("%s", err.msg);
	int rc = 1;
	if (ir_build(&g, &ck, &err)) {
		driver_fail("%s", err.msg);
		goto out_ck;
	}
	PassOptions po = {.dump_after = dump, .dump = stdout};
	if (passes_run(&g, &po, &err))
		driver_fail("%s", err.msg);
	else {
		if (!dump)
			ir_print(stdout, &g);
		rc = 0;
	}
	ir_free(&g);
out_ck:
	lfm_checkpoint_close(&ck);
	return rc;
}
