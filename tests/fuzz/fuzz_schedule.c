/*
 * fuzz_schedule.c — schedule files from arbitrary bytes
 * (passes/schedule.c: schedule_parse), plus the --fuse list parser
 * (fusions_parse) on the same bytes.
 *
 * The input is the text of a schedule file, passed to schedule_parse in a
 * buffer of exactly its length.  The parser is strict (unknown keys, wrong
 * types, out-of-range tiles are errors), so on failure the message must be
 * one line and the Schedule must be back to its defaults with nothing
 * allocated.  On success every tile key must be within its row's range in
 * schedule_keys.h — what the code generator relies on without checking
 * again — the overrides must be usable (each pattern is matched with
 * fnmatch against a few weight names, as the quantize pass does), and
 * schedule_to_json must write a file that reads back as the same schedule.
 *
 * The same bytes, cut at the first NUL, are also a `--fuse` list: from the
 * defaults, fusions_parse either fails with one line or gives edits that
 * fusions_apply applies and fusions_describe can print.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "formats.h"
#include "schedule.h"
#include "fuzz.h"

static const char *const weight_names[] = {
	"model.embed_tokens.weight", "model.layers.0.feed_forward.w1.weight",
	"model.layers.3.self_attn.q_proj.weight", "model.layers.1.conv.in_proj.weight", "lm_head.weight",
};

static void check_defaults(const Schedule *s)
{
	Schedule d;
	schedule_defaults(&d);
	FUZZ_ASSERT(s->overrides == NULL && s->n_overrides == 0, "a refused schedule kept %d overrides",
	            s->n_overrides);
	FUZZ_ASSERT(s->version == d.version && s->default_format == d.default_format && s->given == d.given,
	            "a refused schedule is not back to the defaults");
	for (int k = 0; k < SCHED_N_KEYS; k++)
		FUZZ_ASSERT(schedule_key_value(s, k) == schedule_key_value(&d, k), "a refused schedule kept %s = %d",
		            schedule_keys[k].path, schedule_key_value(s, k));
}

static void check_schedule(Schedule *s)
{
	FUZZ_ASSERT(s->version == 1, "version %d", s->version);
	FUZZ_ASSERT(quant_is_format(s->default_format), "default format %d", (int)s->default_format);
	FUZZ_ASSERT(s->n_overrides >= 0 && (s->n_overrides == 0 || s->overrides != NULL), "%d overrides",
	            s->n_overrides);
	for (int i = 0; i < s->n_overrides; i++) {
		const QuantOverride *o = &s->overrides[i];
		FUZZ_ASSERT(o->pattern != NULL && *o->pattern, "override %d has no pattern", i);
		FUZZ_ASSERT(quant_is_format(o->format), "override %d format %d", i, (int)o->format);
		FUZZ_ASSERT(quant_format_name(o->format) != NULL, "override %d format has no name", i);
		for (size_t k = 0; k < sizeof weight_names / sizeof weight_names[0]; k++)
			(void)fnmatch(o->pattern, weight_names[k], 0);
	}
	/* every tile key within its table row's range: what the code generator
	 * relies on without checking again */
	for (int k = 0; k < SCHED_N_KEYS; k++) {
		int v = schedule_key_value(s, k);
		FUZZ_ASSERT(v >= schedule_keys[k].lo && v <= schedule_keys[k].hi, "%s %d", schedule_keys[k].path, v);
	}
	FUZZ_ASSERT(!(s->vector_width & (s->vector_width - 1)), "vector_width %d", s->vector_width);
	FUZZ_ASSERT(s->matmul_nb % s->vector_width == 0 && s->matmul_kc % 32 == 0 && s->matmul_prefetch % 64 == 0,
	            "relations: nb %d, kc %d, prefetch %d", s->matmul_nb, s->matmul_kc, s->matmul_prefetch);
	FUZZ_ASSERT(!(s->given & ~((1u << SCHED_N_KEYS) - 1)), "given 0x%x", (unsigned)s->given);
	char buf[256];
	FUZZ_ASSERT(fusions_describe(&s->fusions, buf, sizeof buf) != NULL, "fusions_describe");

	/* the writer's JSON reads back as the same schedule */
	char *text = schedule_to_json(s, false);
	FUZZ_ASSERT(text != NULL, "schedule_to_json");
	Schedule back;
	LfmError err;
	FUZZ_ASSERT(schedule_parse(text, strlen(text), "written.json", &back, &err) == 0, "written back: %s", err.msg);
	char *again = schedule_to_json(&back, false);
	FUZZ_ASSERT(again && !strcmp(text, again), "the written schedule reads back differently");
	free(again);
	free(text);
	schedule_free(&back);
}

static void fuzz_fuse_list(const char *list)
{
	ScheduleFusions f;
	fusions_default(&f);
	FuseEdits e;
	LfmError err;
	if (fusions_parse(list, &e, &err) != 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		return;
	}
	fusions_apply(&e, &f);
	char buf[256];
	const char *d = fusions_describe(&f, buf, sizeof buf);
	FUZZ_ASSERT(d != NULL && memchr(d, 0, sizeof buf) != NULL, "fusions_describe");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size, 0);
	Schedule s;
	LfmError err;
	if (schedule_parse(text, size, "schedule.json", &s, &err) != 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		check_defaults(&s);
		fuzz_note("%s", err.msg);
	} else {
		fuzz_note("ok: %d overrides, nb %d mr %d kc %d", s.n_overrides, s.matmul_nb, s.matmul_mr, s.matmul_kc);
		check_schedule(&s);
		schedule_free(&s);
	}
	free(text);

	char *list = fuzz_copy(data, size, 1);
	fuzz_fuse_list(list);
	free(list);
	return 0;
}
