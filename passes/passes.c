/*
 * passes.c — the pass list.
 *
 * One function runs every pass in order, like QBE's main loop: no pass
 * manager, no registration.  After each pass the verifier runs, and the
 * graph can be dumped by name for debugging (`lfm2c ir -d layout`).
 */
#include <string.h>

#include "passes.h"

static const struct {
	const char *name;
	int (*run)(Graph *, const PassOptions *, LfmError *);
} pass_list[] = {
	{"quantize", pass_quantize},   /* weights -> stored formats */
	{"layout", pass_layout},       /* weights -> blob offsets and sizes */
};

const char *const pass_names[] = {"build", "quantize", "layout", NULL};

static void maybe_dump(const Graph *g, const PassOptions *o, const char *name)
{
	if (o && o->dump_after && o->dump
	    && (!strcmp(o->dump_after, name) || !strcmp(o->dump_after, "all"))) {
		fprintf(o->dump, "# ---- after %s\n", name);
		ir_print(o->dump, g);
	}
}

int passes_run(Graph *g, const PassOptions *o, LfmError *err)
{
	if (ir_verify(g, err))
		return -1;
	maybe_dump(g, o, "build");
	for (size_t i = 0; i < sizeof pass_list / sizeof pass_list[0]; i++) {
		if (pass_list[i].run(g, o, err) || ir_verify(g, err))
			return -1;
		maybe_dump(g, o, pass_list[i].name);
	}
	return 0;
}
