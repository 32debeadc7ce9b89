/*
 * passes.c — the pass list.
 *
 * One function runs every pass in order, like QBE's main loop: no pass
 * manager, no registration.  After each pass the verifier runs, and the
 * graph can be dumped by name for debugging (`lfm2c ir -d layout`; a
 * comma list such as `-d quantize,qkv` shows a fusion's before and after).
 *
 * The order matters: quantize first, so formats and overrides are chosen
 * on the checkpoint's own tensor names; then the fusions (fuse.c), in the
 * order of their table (fusions.h), which keep the formats quantize
 * chose; layout last, sizing what is left.
 */
#include <stddef.h>
#include <string.h>

#include "passes.h"
#include "schedule.h"

/* quantize, then one pass per row of fusions.h in its order, then layout */
#define NOT_A_FUSION (-1)
static const struct {
	const char *name;
	int (*run)(Graph *, const PassOptions *, LfmError *);
	int fusion;   /* its row in fusion_table, or NOT_A_FUSION */
} pass_list[] = {
	{"quantize", pass_quantize, NOT_A_FUSION},   /* weights -> stored formats (by checkpoint name) */
#define FUSION(name, on, graph, help) {#name, pass_##name, FUSE_ID_##name},
#include "fusions.h"
#undef FUSION
	{"layout", pass_layout, NOT_A_FUSION},       /* weights -> blob offsets and sizes */
};
#define N_PASSES (sizeof pass_list / sizeof pass_list[0])

bool pass_name_known(const char *name)
{
	if (!strcmp(name, "all") || !strcmp(name, "build"))
		return true;
	for (size_t k = 0; k < N_PASSES; k++)
		if (!strcmp(name, pass_list[k].name))
			return true;
	return false;
}

const char *pass_names_list(char *buf, size_t n)
{
	size_t at = (size_t)snprintf(buf, n, "build");
	for (size_t k = 0; k < N_PASSES && at < n; k++)
		at += (size_t)snprintf(buf + at, n - at, ", %s", pass_list[k].name);
	return buf;
}

/* dump_after is one name, "all", or a comma-separated list of names. */
static bool wants_dump(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if ((k == n && !strncmp(p, name, n)) || (k == 3 && !strncmp(p, "all", 3)))
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

static void maybe_dump(const Graph *g, const PassOptions *o, const char *name, const char *note)
{
	if (o && o->dump_after && o->dump && wants_dump(o->dump_after, name)) {
		fprintf(o->dump, "# ---- after %s%s\n", name, note);
		ir_print(o->dump, g);
	}
}

/* " (off)" for a fusion pass that is switched off, so a dump says why
 * nothing changed.  dequant_in_matmul acts when it is off. */
static const char *switch_note(const PassOptions *o, size_t i)
{
	int k = pass_list[i].fusion;
	if (k == NOT_A_FUSION)
		return "";
	const ScheduleFusions *f = o && o->schedule ? &o->schedule->fusions : NULL;
	bool on = f && fusion_on(f, k);
	if (k == FUSE_ID_dequant_in_matmul)
		return !f || on ? " (on: block formats stay blocks)" : " (off: block formats stored as f32 values)";
	return on ? " (on)" : " (off)";
}

int passes_run(Graph *g, const PassOptions *o, LfmError *err)
{
	if (ir_verify(g, err))
		return -1;
	maybe_dump(g, o, "build", "");
	for (size_t i = 0; i < N_PASSES; i++) {
		if (pass_list[i].run(g, o, err) || ir_verify(g, err))
			return -1;
		maybe_dump(g, o, pass_list[i].name, switch_note(o, i));
	}
	return 0;
}
