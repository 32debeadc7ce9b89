/*
 * quant_cli.c — parsing of the weight-format flags (see quant_cli.h).
 *
 * The schedule's overrides are copied in front of the command line's, so
 * with "last match wins" a flag typed on the command line beats the file;
 * likewise --fuse lists apply on top of the schedule's fusions.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "formats.h"
#include "quant_cli.h"

static int push_override(QuantCli *q, QuantOverride o)
{
	if (q->n_ov == q->cap_ov) {
		int cap = q->cap_ov ? 2 * q->cap_ov : 8;
		QuantOverride *v = realloc(q->ov, (size_t)cap * sizeof *v);
		if (!v)
			return -1;
		q->ov = v;
		q->cap_ov = cap;
	}
	q->ov[q->n_ov++] = o;
	return 0;
}

int quant_cli_arg(QuantCli *q, const char *cmd, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	bool fmt = !strcmp(a, "-q"), ov = !strcmp(a, "--quant-override"), sch = !strcmp(a, "--schedule");
	bool fuse = !strcmp(a, "--fuse");
	if (!fmt && !ov && !sch && !fuse)
		return 0;
	if (*i + 1 >= argc) {
		driver_fail("%s: %s needs a value", cmd, a);
		return -1;
	}
	const char *v = argv[++*i];
	LfmError err = {{0}};
	if (fuse) {
		ScheduleFusions f;
		fusions_default(&f);
		if (fusions_parse(v, &f, &err)) {
			driver_fail("%s: %s", cmd, err.msg);
			return -1;
		}
		if (q->n_fuse == (int)(sizeof q->fuse / sizeof q->fuse[0])) {
			driver_fail("%s: too many --fuse flags", cmd);
			return -1;
		}
		q->fuse[q->n_fuse++] = v;
		return 1;
	}
	if (fmt) {
		if (quant_format_parse(v, &q->format)) {
			driver_fail("%s: unknown format '%s' for -q (known: %s)", cmd, v, quant_format_list());
			return -1;
		}
		q->have_format = true;
		return 1;
	}
	if (ov) {
		QuantOverride o;
		if (quant_override_parse(v, &o, &err)) {
			driver_fail("%s: %s", cmd, err.msg);
			return -1;
		}
		if (push_override(q, o)) {
			quant_override_free(&o);
			driver_fail("%s: out of memory", cmd);
			return -1;
		}
		return 1;
	}
	if (q->have_schedule) {
		driver_fail("%s: --schedule given twice", cmd);
		return -1;
	}
	if (schedule_load(v, &q->schedule, &err)) {
		driver_fail("%s", err.msg);
		return -1;
	}
	q->have_schedule = true;
	/* the schedule's overrides go first: the command line's win */
	QuantOverride *mine = q->ov;
	int n = q->n_ov;
	q->ov = NULL;
	q->n_ov = q->cap_ov = 0;
	int bad = 0;
	for (int k = 0; k < q->schedule.n_overrides && !bad; k++) {
		QuantOverride o = {strdup(q->schedule.overrides[k].pattern), q->schedule.overrides[k].format};
		bad = !o.pattern || push_override(q, o);
		if (bad)
			free((char *)o.pattern);
	}
	for (int k = 0; k < n; k++)
		if (bad || push_override(q, mine[k])) {
			quant_override_free(&mine[k]);
			bad = 1;
		}
	free(mine);
	if (bad) {
		driver_fail("%s: out of memory", cmd);
		return -1;
	}
	return 1;
}

void quant_cli_options(QuantCli *q, PassOptions *po)
{
	if (q->have_schedule)
		schedule_to_pass_options(&q->schedule, po);
	if (q->have_schedule)
		q->fusions = q->schedule.fusions;
	else
		fusions_default(&q->fusions);
	for (int k = 0; k < q->n_fuse; k++) {
		LfmError err = {{0}};
		fusions_parse(q->fuse[k], &q->fusions, &err);   /* checked when parsed */
	}
	po->fusions = &q->fusions;
	if (q->have_format)
		po->weight_format = q->format;
	po->quant_overrides = q->ov;
	po->n_quant_overrides = q->n_ov;
	po->warn = stderr;
}

void quant_cli_free(QuantCli *q)
{
	for (int k = 0; k < q->n_ov; k++)
		quant_override_free(&q->ov[k]);
	free(q->ov);
	if (q->have_schedule)
		schedule_free(&q->schedule);
	memset(q, 0, sizeof *q);
}
