/*
 * passes.c — the pass list.
 *
 * One function runs every pass in order, like QBE's main loop: no pass
 * manager, no registration.  After each pass the verifier runs, and the
 * graph can be dumped by name for debugging (`lfm2c ir -d layout`; a
 * comma list such as `-d quantize,qkv` shows a fusion's before and after).
 *
 * The order matters: quantize first, so formats and overrides are chosen
 * on the checkpoint's own tensor names; then the fusions (fuse.c), which
 * keep the formats quantize chose; layout last, sizing what is left.
 */
#include <stddef.h>
#include <string.h>

#include "passes.h"
#include "schedule.h"

#define NO_SWITCH ((size_t)-1)

static const struct {
	const char *name;
	int (*run)(Graph *, const PassOptions *, LfmError *);
	size_t fusion;   /* offset of its switch in ScheduleFusions, or NO_SWITCH */
} pass_list[] = {
	{"quantize", pass_quantize, NO_SWITCH},   /* weights -> stored formats (by checkpoint name) */
	{"rmsnorm_fold", pass_rmsnorm_fold, offsetof(ScheduleFusions, rmsnorm_fold)},
	{"qkv", pass_qkv, offsetof(ScheduleFusions, qkv)},
	{"w1w3_swiglu", pass_w1w3_swiglu, offsetof(ScheduleFusions, w1w3_swiglu)},
	{"residual_epilogue", pass_residual_epilogue, offsetof(ScheduleFusions, residual_epilogue)},
	{"conv_chain", pass_conv_chain, offsetof(ScheduleFusions, conv_chain)},
	{"qk_norm_rope", pass_qk_norm_rope, offsetof(ScheduleFusions, qk_norm_rope)},
	{"dequant_in_matmul", pass_dequant_in_matmul, offsetof(ScheduleFusions, dequant_in_matmul)},
	{"layout", pass_layout, NO_SWITCH},       /* weights -> blob offsets and sizes */
};

const char *const pass_names[] = {"build", "quantize", "rmsnorm_fold", "qkv", "w1w3_swiglu",
                                  "residual_epilogue", "conv_chain", "qk_norm_rope",
                                  "dequant_in_matmul", "layout", NULL};

bool pass_name_known(const char *name)
{
	if (!strcmp(name, "all"))
		return true;
	for (int k = 0; pass_names[k]; k++)
		if (!strcmp(name, pass_names[k]))
			return true;
	return false;
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
	if (pass_list[i].fusion == NO_SWITCH)
		return "";
	const ScheduleFusions *f = o ? o->fusions : NULL;
	bool on = f && *(const bool *)((const char *)f + pass_list[i].fusion);
	if (pass_list[i].fusion == offsetof(ScheduleFusions, dequant_in_matmul))
		return !f || on ? " (on: block formats stay blocks)" : " (off: block formats stored as f32 values)";
	return on ? " (on)" : " (off)";
}

int passes_run(Graph *g, const PassOptions *o, LfmError *err)
{
	if (ir_verify(g, err))
		return -1;
	maybe_dump(g, o, "build", "");
	for (size_t i = 0; i < sizeof pass_list / sizeof pass_list[0]; i++) {
		if (pass_list[i].run(g, o, err) || ir_verify(g, err))
			return -1;
		maybe_dump(g, o, pass_list[i].name, switch_note(o, i));
	}
	return 0;
}
