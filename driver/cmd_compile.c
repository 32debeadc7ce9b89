/*
 * cmd_compile.c — `lfm2c compile MODEL_DIR -o OUT`.
 *
 *   lfm2c compile MODEL_DIR -o OUT [--backend llvm|c] [--target TRIPLE]
 *         [--cpu NAME] [--features +a,-b] [--emit exe|obj|asm|llvm|c|loops|lib]
 *         [--lib-prefix NAME] [--embed-weights] [--no-cache] [--cc CC] [--name SYMBOL] [-v]
 *         [-q FORMAT] [--quant-override P=F]... [--schedule FILE] [--fuse LIST]
 *         [--explain]
 *
 * The flags become one BuildRequest (codegen/build.h) with the command's
 * one Schedule (cli_schedule.h), and build_model does the rest: the
 * pipeline, the cache, the output directory as a transaction.  What is
 * printed: a progress line on a terminal, then the one result line, or
 * one error line (exit 1; 130 when a signal stopped it).  --explain first
 * prints what `lfm2c explain` prints for the same flags (the machine model
 * and the tiles derived from it) on stdout, then compiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "cli_schedule.h"
#include "driver.h"
#include "lib.h"

typedef struct CompileArgs {
	BuildRequest r;
	int backend_given;
	int explain;           /* --explain */
	CliSchedule cs;        /* -q, --quant-override, --schedule, --fuse: the one Schedule */
	PassOptions po;        /* points at cs.schedule once it is made */
} CompileArgs;

/* ------------------------------------------------------------ arguments */

static const char help_text[] =
	"usage: lfm2c compile MODEL_DIR -o OUT [options]\n"
	"  --backend llvm|c      code generator (default llvm)\n"
	"  --target TRIPLE       e.g. aarch64-linux-gnu (default: this machine)\n"
	"  --cpu NAME            e.g. x86-64, x86-64-v3, x86-64-v4, cortex-a76 (default: this machine's)\n"
	"  --features +a,-b      LLVM target features to add or remove\n"
	"  --emit KIND           exe (default), obj, asm, llvm, c, loops, lib (libmodel.a + model.h:\n"
	"                        the model, the runtime and an API for applications, README 'Using it')\n"
	"  --lib-prefix NAME     --emit lib: the prefix of the API's names (default lfm2lib); two\n"
	"                        libraries with two prefixes link into one program\n"
	"  --embed-weights       link the weights into lfm2-run (weights.o), or into libmodel.a,\n"
	"                        instead of weights.bin\n"
	"  --no-cache            rebuild; neither read nor write the build cache\n"
	"                        ($XDG_CACHE_HOME/lfm2c, else ~/.cache/lfm2c)\n"
	"  --cc CC               C compiler for the target (default cc, or <arch>-linux-gnu-gcc)\n"
	"  --name SYMBOL         name of the model symbol (default lfm2_model)\n"
	"  -q FORMAT             weight format of the matrices: f32 (default), f16, bf16, q8_0, q4_0, q4_1\n"
	"  --quant-override PATTERN=FORMAT\n"
	"                        format of the matrices whose tensor name matches the glob PATTERN\n"
	"                        (repeatable; the last match wins; over -q and the schedule)\n"
	"  --schedule FILE       a schedule (specs/formats.md): formats, fusions, tiles, unroll,\n"
	"                        vector width, thread split; -q, --quant-override and --fuse apply on top\n"
	"  --fuse LIST           fusions: all, none, default, NAME, +NAME, -NAME, comma-separated\n"
	"                        (the fusions are listed below)\n"
	"  --explain             print the machine model and the tiles derived from it (each with its\n"
	"                        source or reason) and the schedule's overrides, then compile\n"
	"                        (lfm2c explain: the same without compiling)\n"
	"  -v                    print the commands and the cache key\n"
	"environment: LFM2C_SYSFS_ROOT  where the host's caches are read (default /sys)\n";

/* --help: the text above, then the fusions from their table. */
static void print_help(void)
{
	fputs(help_text, stdout);
	printf("fusions (on by default unless marked):\n");
	for (int i = 0; i < n_fusions; i++)
		printf("  %-22s%s%s\n", fusion_table[i].name, fusion_table[i].on_by_default ? "" : "(off) ",
		       fusion_table[i].help);
}

/* A missing argument is one line, like every error; --help has the rest. */
static int usage(void)
{
	return lfm_fail("usage: lfm2c compile MODEL_DIR -o OUT [--backend llvm|c] [--target TRIPLE] "
	                   "[--cpu NAME] [--features +a,-b] [--emit exe|obj|asm|llvm|c|loops|lib] "
	                   "[--lib-prefix NAME] [--embed-weights] [--no-cache] [--cc CC] [--name SYMBOL] " CLI_SCHEDULE_USAGE " [--explain] [-v] "
	                   "(--help)");
}

static int parse_args(int argc, char **argv, CompileArgs *a)
{
	memset(a, 0, sizeof *a);
	a->r.symbol = "lfm2_model";
	a->r.emit = EMIT_EXE;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int has_val = i + 1 < argc;
		int q = cli_schedule_arg(&a->cs, "compile", argc, argv, &i);
		if (q < 0)
			return 1;
		if (q)
			continue;
		if (!strcmp(s, "-o") && has_val)
			a->r.out_dir = argv[++i];
		else if (!strcmp(s, "--backend") && has_val) {
			const char *b = argv[++i];
			if (strcmp(b, "llvm") && strcmp(b, "c"))
				return lfm_fail("compile: --backend takes llvm or c (got '%s')", b);
			a->r.backend_c = !strcmp(b, "c");
			a->backend_given = 1;
		} else if (!strcmp(s, "--target") && has_val)
			a->r.triple = argv[++i];
		else if (!strcmp(s, "--cpu") && has_val)
			a->r.cpu = argv[++i];
		else if (!strcmp(s, "--features") && has_val)
			a->r.features = argv[++i];
		else if (!strcmp(s, "--cc") && has_val)
			a->r.cc = argv[++i];
		else if (!strcmp(s, "--name") && has_val)
			a->r.symbol = argv[++i];
		else if (!strcmp(s, "--lib-prefix") && has_val)
			a->r.lib_prefix = argv[++i];
		else if (!strcmp(s, "--emit") && has_val) {
			const char *e = argv[++i];
			int k = -1;
			for (int j = 0; j < BUILD_N_EMITS; j++)
				if (!strcmp(e, build_emit_names[j]))
					k = j;
			if (k < 0)
				return lfm_fail("compile: --emit takes exe, obj, asm, llvm, c, loops or lib (got '%s')", e);
			a->r.emit = (BuildEmit)k;
		} else if (!strcmp(s, "--embed-weights"))
			a->r.embed = 1;
		else if (!strcmp(s, "--no-cache"))
			a->r.no_cache = 1;
		else if (!strcmp(s, "-v"))
			a->r.verbose = 1;
		else if (!strcmp(s, "--explain"))
			a->explain = 1;
		else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			print_help();
			exit(0);
		}
		else if (s[0] == '-' && s[1]) {
			static const char *const valued[] = {"-o", "--backend", "--target", "--cpu", "--features",
			                                     "--cc", "--name", "--emit", "--lib-prefix", NULL};
			for (int j = 0; valued[j]; j++)
				if (!strcmp(s, valued[j]))
					return lfm_fail("compile: %s needs a value", s);
			return lfm_fail("compile: unknown option '%s'", s);
		}
		else if (!a->r.model_dir)
			a->r.model_dir = s;
		else
			return lfm_fail("compile: unexpected argument '%s'", s);
	}
	if (!a->r.model_dir || !a->r.out_dir)
		return usage();
	if (a->r.emit == EMIT_C && !a->backend_given)
		a->r.backend_c = 1;   /* --emit c names the backend */
	if (a->r.emit == EMIT_C && !a->r.backend_c)
		return lfm_fail("compile: --emit c needs the C backend (--backend c)");
	if (a->r.emit == EMIT_LLVM && a->r.backend_c)
		return lfm_fail("compile: --emit llvm needs the LLVM backend (--backend llvm)");
	for (const char *p = a->r.symbol; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		      || (p != a->r.symbol && *p >= '0' && *p <= '9')))
			return lfm_fail("compile: --name '%s' is not a C identifier", a->r.symbol);
	if (a->r.lib_prefix) {
		char why[128];
		if (a->r.emit != EMIT_LIB)
			return lfm_fail("compile: --lib-prefix needs --emit lib");
		if (lib_prefix_check(a->r.lib_prefix, why, sizeof why))
			return lfm_fail("compile: --lib-prefix '%s' %s", a->r.lib_prefix, why);
	}
	return 0;
}

int cmd_compile(int argc, char **argv)
{
	CompileArgs a;
	if (parse_args(argc, argv, &a) || cli_schedule_finish(&a.cs, &a.po)) {
		cli_schedule_free(&a.cs);
		return 1;
	}
	a.r.schedule = a.po.schedule;
	a.r.schedule_path = a.cs.schedule_path;
	a.r.sysfs_root = cli_sysfs_root();
	BuildResult res;
	LfmError err = {{0}};
	if (a.explain && build_explain(&a.r, stdout, &err)) {
		lfm_fail("%s", err.msg);
		cli_schedule_free(&a.cs);
		return 1;
	}
	int rc = build_model(&a.r, &res, &err);
	if (rc)
		lfm_fail("%s", err.msg);
	else
		fprintf(stderr, "%s\n", res.summary);
	cli_schedule_free(&a.cs);
	return rc;
}
