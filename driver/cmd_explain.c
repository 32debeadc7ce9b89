/*
 * cmd_explain.c — `lfm2c explain`: what a compile would be tiled for.
 *
 *   lfm2c explain [--target TRIPLE] [--cpu NAME] [--features +a,-b]
 *                 [--schedule FILE] [-q FORMAT] [--fuse LIST] ...
 *
 * Prints, without reading a checkpoint or building anything, the target,
 * the machine model (each number with where it came from: the CPU table,
 * the ISA features, the host's sysfs or cpuid, or a default), the tiles
 * derived from it (each with its one-line reason), what each tile key of
 * the schedule changed, and the resulting Tiling — the same lines
 * `lfm2c compile --explain` prints before it compiles.  The flags are
 * compile's and are parsed the same way: the target's into a
 * BuildRequest, the schedule's into the one Schedule (cli_schedule.h).
 *
 * LFM2C_SYSFS_ROOT (default /sys) is where the host's cache sizes are
 * read; it is read here and in cmd_compile.c only, and passed down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "cli_schedule.h"
#include "driver.h"

static const char help_text[] =
	"usage: lfm2c explain [options]\n"
	"  the machine model of the target (each number with its source) and the tiles\n"
	"  derived from it (each with its reason), then the schedule's overrides\n"
	"  --target TRIPLE       e.g. aarch64-linux-gnu (default: this machine)\n"
	"  --cpu NAME            e.g. znver4, sapphirerapids, x86-64-v3, cortex-a76 (default: this machine's)\n"
	"  --features +a,-b      LLVM target features to add or remove\n"
	"  --schedule FILE       a schedule (specs/formats.md) whose tile keys override the derived tiles\n"
	"  -q, --quant-override, --fuse   accepted as for compile (they do not change the tiles)\n"
	"environment: LFM2C_SYSFS_ROOT  where the host's caches are read (default /sys)\n";

const char *cli_sysfs_root(void)
{
	const char *r = getenv("LFM2C_SYSFS_ROOT");
	return r && *r ? r : NULL;
}

int cmd_explain(int argc, char **argv)
{
	BuildRequest r;
	memset(&r, 0, sizeof r);
	CliSchedule cs;
	memset(&cs, 0, sizeof cs);
	PassOptions po;
	memset(&po, 0, sizeof po);
	int rc = 1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int has_val = i + 1 < argc;
		int q = cli_schedule_arg(&cs, "explain", argc, argv, &i);
		if (q < 0)
			goto done;
		if (q)
			continue;
		if (!strcmp(s, "--target") && has_val)
			r.triple = argv[++i];
		else if (!strcmp(s, "--cpu") && has_val)
			r.cpu = argv[++i];
		else if (!strcmp(s, "--features") && has_val)
			r.features = argv[++i];
		else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(help_text, stdout);
			rc = 0;
			goto done;
		} else if (!strcmp(s, "--target") || !strcmp(s, "--cpu") || !strcmp(s, "--features")) {
			lfm_fail("explain: %s needs a value", s);
			goto done;
		} else if (s[0] == '-') {
			lfm_fail("explain: unknown option '%s' (lfm2c explain --help)", s);
			goto done;
		} else {
			lfm_fail("explain: unexpected argument '%s' (it reads no model; lfm2c explain --help)", s);
			goto done;
		}
	}
	if (cli_schedule_finish(&cs, &po))
		goto done;
	r.schedule = po.schedule;
	r.schedule_path = cs.schedule_path;
	r.sysfs_root = cli_sysfs_root();
	LfmError err = {{0}};
	if (build_explain(&r, stdout, &err))
		lfm_fail("%s", err.msg);
	else
		rc = 0;
done:
	cli_schedule_free(&cs);
	return rc;
}
