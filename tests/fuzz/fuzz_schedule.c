/*
 * fuzz_schedule.c — schedule files from arbitrary bytes
 * (passes/schedule.c: schedule_parse), plus the --fuse list parser
 * (passes/fuse.c: fusions_parse) on the same bytes.
 *
 * The input is the text of a schedule file, passed to schedule_parse in a
 * buffer of exactly its length.  The parser is strict (unknown keys, wrong
 * types, out-of-range tiles are errors), so on failure the message must be
 * one line and the Schedule must be back to its defaults with nothing
 * allocated.  On success every field must be within the limits schedule.h
 * states — those are what the code generator relies on without checking
 * again — and the quantization overrides must be usable: each pattern is
 * matched with fnmatch against a few weight names, as the quantize pass
 * does, and schedule_to_pass_options must point the PassOptions at them.
 *
 * The same bytes, cut at the first NUL, are also a `--fuse` list: from the
 * defaults, fusions_parse either fails with one line or leaves flags that
 * fusions_describe can print.
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
	FUZZ_ASSERT(s->version == d.version && s->default_format == d.default_format &&
	            s->matmul_nb == d.matmul_nb && s->matmul_mr == d.matmul_mr && s->matmul_kc == d.matmul_kc &&
	            s->matmul_prefetch == d.matmul_prefetch && s->attention_block == d.attention_block &&
	            s->split == d.split && s->threads == d.threads && s->unroll == d.unroll &&
	            s->vector_width == d.vector_width && s->given == d.given,
	            "a refused schedule is not back to the defaults");
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
	FUZZ_ASSERT(s->matmul_nb >= 1 && s->matmul_nb <= SCHEDULE_MAX_TILE, "nb %d", s->matmul_nb);
	FUZZ_ASSERT(s->matmul_mr >= 1 && s->matmul_mr <= SCHEDULE_MAX_MR, "mr %d", s->matmul_mr);
	FUZZ_ASSERT(s->matmul_kc >= 1 && s->matmul_kc <= SCHEDULE_MAX_TILE, "kc %d", s->matmul_kc);
	FUZZ_ASSERT(s->matmul_prefetch >= 0, "prefetch %d", s->matmul_prefetch);
	FUZZ_ASSERT(s->attention_block >= 1 && s->attention_block <= SCHEDULE_MAX_TILE, "attention_block %d",
	            s->attention_block);
	FUZZ_ASSERT(s->split == SPLIT_N || s->split == SPLIT_ROWS || s->split == SPLIT_AUTO, "split %d",
	            (int)s->split);
	FUZZ_ASSERT(s->threads >= 0 && s->threads <= SCHEDULE_MAX_THREADS, "threads %d", s->threads);
	FUZZ_ASSERT(s->unroll >= 1 && s->unroll <= SCHEDULE_MAX_UNROLL, "unroll %d", s->unroll);
	FUZZ_ASSERT(s->vector_width >= 1 && s->vector_width <= 64 && !(s->vector_width & (s->vector_width - 1)),
	            "vector_width %d", s->vector_width);
	FUZZ_ASSERT(!(s->given & ~0x1FFu), "given 0x%x", s->given);
	char buf[256];
	FUZZ_ASSERT(fusions_describe(&s->fusions, buf, sizeof buf) != NULL, "fusions_describe");

	PassOptions o;
	memset(&o, 0, sizeof o);
	schedule_to_pass_options(s, &o);
	FUZZ_ASSERT(o.schedule == s && o.weight_format == s->default_format && o.quant_overrides == s->overrides &&
	            o.n_quant_overrides == s->n_overrides && o.fusions == &s->fusions,
	            "schedule_to_pass_options does not point at the schedule");
}

static void fuzz_fuse_list(const char *list)
{
	ScheduleFusions f;
	fusions_default(&f);
	LfmError err;
	if (fusions_parse(list, &f, &err) != 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		return;
	}
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
