/*
 * cmd_ir.c — `lfm2c ir MODEL_DIR [-d PASS[,PASS..]|all] [-q FORMAT ...] [--fuse LIST]`:
 * print the graph.
 *
 * Without -d it prints the graph after the whole pass list; -d NAME prints
 * it after that pass ("build" is the graph as built), -d all after each,
 * -d A,B after each of those (`-d quantize,qkv`: the graph before and
 * after the qkv fusion).  The weight-format flags (cli_schedule.h) show each
 * weight's stored format and size as the quantize and layout passes choose
 * them; --fuse chooses the fusion passes (default: the default fusions).
 * `lfm2c ir --ops` prints the op table itself (ir/ops.h): each op, its
 * operands and attributes, and what it computes.
 */
#include <string.h>

#include "driver.h"
#include "passes.h"
#include "cli_schedule.h"

/* The op table, one op a line. */
static int print_ops(void)
{
	static const char *const attrs[] = {"", "weight", "[start:end]", "eps", "theta", "eps theta", "conv_slot",
	                                    "kv_slot"};
	for (int op = 0; op < OP_COUNT; op++) {
		char operands[8] = "";
		for (int i = 0; i < op_arity((Op)op) && i < 7; i++)
			operands[i] = op_operand((Op)op, i);
		printf("%-14s %-4s %-12s %s\n", op_name((Op)op), operands, attrs[op_attrs((Op)op)],
		       op_semantics((Op)op));
	}
	return 0;
}

/* -d takes one pass name, "all", or a comma list (before and after a
 * fusion: -d quantize,qkv). */
static int check_dump_list(const char *list)
{
	for (const char *p = list; *p || p == list;) {
		size_t n = strcspn(p, ",");
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
		if (!n || !pass_name_known(name)) {
			char known[512];
			return lfm_fail("ir: unknown pass '%s' for -d (known: %s, all)", name,
			                   pass_names_list(known, sizeof known));
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

int cmd_ir(int argc, char **argv)
{
	const char *dir = NULL, *dump = NULL;
	CliSchedule qc = {0};
	int rc = 1;
	for (int i = 1; i < argc; i++) {
		int q = cli_schedule_arg(&qc, "ir", argc, argv, &i);
		if (q < 0)
			goto out_args;
		if (q)
			continue;
		if (!strcmp(argv[i], "--ops")) {
			cli_schedule_free(&qc);
			return print_ops();
		}
		if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			dump = argv[++i];
			if (check_dump_list(dump))
				goto out_args;
		} else if (argv[i][0] == '-') {
			lfm_fail("ir: unknown option '%s'", argv[i]);
			goto out_args;
		} else if (!dir)
			dir = argv[i];
		else {
			lfm_fail("ir: unexpected argument '%s'", argv[i]);
			goto out_args;
		}
	}
	if (!dir) {
		lfm_fail("usage: lfm2c ir MODEL_DIR [-d PASS|all] " CLI_SCHEDULE_USAGE);
		goto out_args;
	}
	LfmError err = {{0}};
	Checkpoint ck;
	Graph g;
	PassOptions po = {.dump_after = dump, .dump = stdout};
	if (cli_schedule_finish(&qc, &po))
		goto out_args;
	if (passes_load_graph(dir, &po, &ck, &g, &err)) {
		lfm_fail("%s", err.msg);
		goto out_args;
	}
	if (!dump)
		ir_print(stdout, &g);
	rc = 0;
	passes_unload_graph(&ck, &g);
out_args:
	cli_schedule_free(&qc);
	return rc;
}
