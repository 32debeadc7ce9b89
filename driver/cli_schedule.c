/*
 * cli_schedule.c — the weight-format, schedule and fusion flags
 * (cli_schedule.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli_schedule.h"
#include "driver.h"
#include "formats.h"

static int push_override(CliSchedule *c, QuantOverride o)
{
	QuantOverride *v = realloc(c->ov, (size_t)(c->n_ov + 1) * sizeof *v);
	if (!v)
		return -1;
	c->ov = v;
	c->ov[c->n_ov++] = o;
	return 0;
}

static int take_value(CliSchedule *c, const char *cmd, const char *flag, const char *v)
{
	LfmError err = {{0}};
	if (!strcmp(flag, "--fuse")) {
		if (c->n_fuse == CLI_MAX_FUSE) {
			lfm_fail("%s: too many --fuse flags", cmd);
			return -1;
		}
		if (fusions_parse(v, &c->fuse[c->n_fuse], &err)) {
			lfm_fail("%s: %s", cmd, err.msg);
			return -1;
		}
		c->n_fuse++;
		return 1;
	}
	if (!strcmp(flag, "-q")) {
		if (quant_format_parse(v, &c->format)) {
			lfm_fail("%s: unknown format '%s' for -q (known: %s)", cmd, v, quant_format_list());
			return -1;
		}
		c->have_format = true;
		return 1;
	}
	if (!strcmp(flag, "--quant-override")) {
		QuantOverride o;
		if (quant_override_parse(v, &o, &err)) {
			lfm_fail("%s: %s", cmd, err.msg);
			return -1;
		}
		if (push_override(c, o)) {
			quant_override_free(&o);
			{
				lfm_fail("%s: out of memory", cmd);
				return -1;
			}
		}
		return 1;
	}
	if (c->have_schedule) {
		lfm_fail("%s: --schedule given twice", cmd);
		return -1;
	}
	if (schedule_load(v, &c->schedule, &err)) {
		lfm_fail("%s", err.msg);
		return -1;
	}
	c->have_schedule = true;
	c->schedule_path = v;
	return 1;
}

int cli_schedule_arg(CliSchedule *c, const char *cmd, int argc, char **argv, int *i)
{
	static const char *const flags[] = {"-q", "--quant-override", "--schedule", "--fuse"};
	const char *a = argv[*i];
	for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
		if (strcmp(a, flags[k]))
			continue;
		if (*i + 1 >= argc) {
			lfm_fail("%s: %s needs a value", cmd, a);
			return -1;
		}
		return take_value(c, cmd, a, argv[++*i]);
	}
	return 0;
}

int cli_schedule_finish(CliSchedule *c, PassOptions *po)
{
	if (!c->have_schedule)
		schedule_defaults(&c->schedule);
	Schedule *s = &c->schedule;
	if (c->have_format)
		s->default_format = c->format;
	for (int k = 0; k < c->n_ov; k++)
		if (schedule_add_override(s, c->ov[k].pattern, c->ov[k].format)) {
			lfm_fail("out of memory");
			return -1;
		}
	for (int k = 0; k < c->n_fuse; k++)
		fusions_apply(&c->fuse[k], &s->fusions);
	po->schedule = s;
	po->warn = stderr;
	return 0;
}

void cli_schedule_free(CliSchedule *c)
{
	for (int k = 0; k < c->n_ov; k++)
		quant_override_free(&c->ov[k]);
	free(c->ov);
	schedule_free(&c->schedule);
	memset(c, 0, sizeof *c);
}
