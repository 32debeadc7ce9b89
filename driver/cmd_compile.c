/*
 * cmd_compile.c — `lfm2c compile MODEL_DIR -o OUT_DIR`.
 *
 * The whole pipeline in order: open and validate the checkpoint, build the
 * graph, run the passes, write the weights blob (its hash is baked into
 * the code), emit model.c/model.h, write the runtime sources beside them
 * and build OUT_DIR/lfm2-run with the system C compiler.
 *
 * The C compiler is $CC (default cc) with -O3 -march=CPU; $LFM2C_CFLAGS
 * adds flags (the test suite uses it for sanitizers).
 *
 * Every output file is written under a temporary name and renamed into
 * place only when everything succeeded, so a failed compile leaves no
 * half-written artifact behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen.h"
#include "driver.h"
#include "passes.h"

#ifndef LFM2C_VERSION
#define LFM2C_VERSION "dev"
#endif

typedef struct CompileArgs {
	const char *model_dir, *out_dir;
	const char *cc;        /* C compiler for the generated code */
	const char *cpu;       /* -march= value ("native" by default) */
	const char *symbol;
	int emit_exe;          /* 0: stop after model.c/model.h/weights.bin */
	int verbose;
} CompileArgs;

/* Every output is first written into a staging directory OUT/.lfm2c-PID
 * under its final relative name (so the C compiler sees the real layout),
 * then renamed into OUT when everything succeeded, or removed. */
#define MAX_OUTPUTS 64
typedef struct Stage {
	char root[1024];          /* the staging directory */
	char out[1024];           /* the final directory */
	char rel[MAX_OUTPUTS][128];
	char path[MAX_OUTPUTS][1200];   /* root + "/" + rel */
	int n;
	int created_out;          /* we created OUT itself */
} Stage;

/* Path of rel inside the staging dir, registered as an output. */
static const char *stage_file(Stage *s, const char *rel, LfmError *err)
{
	if (s->n >= MAX_OUTPUTS) {
		lfm_error(err, s->out, "too many output files");
		return NULL;
	}
	char full[sizeof s->path[0]];
	snprintf(full, sizeof full, "%s/%s", s->root, rel);
	snprintf(s->rel[s->n], sizeof s->rel[0], "%s", rel);
	memcpy(s->path[s->n], full, sizeof full);
	return s->path[s->n++];
}

static int stage_open(Stage *s, const char *out, LfmError *err)
{
	struct stat st;
	memset(s, 0, sizeof *s);
	snprintf(s->out, sizeof s->out, "%s", out);
	if (!stat(out, &st)) {
		if (!S_ISDIR(st.st_mode))
			return lfm_error(err, out, "exists and is not a directory");
	} else if (mkdir(out, 0777)) {
		return lfm_error(err, out, "cannot create output directory: %s", strerror(errno));
	} else {
		s->created_out = 1;
	}
	snprintf(s->root, sizeof s->root, "%s/.lfm2c-%ld", out, (long)getpid());
	char rt[1100];
	snprintf(rt, sizeof rt, "%s/runtime", s->root);
	if (mkdir(s->root, 0777) || mkdir(rt, 0777)) {
		rmdir(s->root);
		if (s->created_out)
			rmdir(out);
		return lfm_error(err, out, "output directory is not writable: %s", strerror(errno));
	}
	return 0;
}

static void stage_discard(Stage *s)
{
	char p[1200];
	for (int i = 0; i < s->n; i++) {
		snprintf(p, sizeof p, "%s/%s", s->root, s->rel[i]);
		unlink(p);
	}
	snprintf(p, sizeof p, "%s/runtime", s->root);
	rmdir(p);
	rmdir(s->root);
	if (s->created_out)
		rmdir(s->out);
}

static int stage_commit(Stage *s, LfmError *err)
{
	char from[1200], to[1200];
	snprintf(to, sizeof to, "%s/runtime", s->out);
	if (mkdir(to, 0777) && errno != EEXIST)
		return lfm_error(err, to, "cannot create directory: %s", strerror(errno));
	for (int i = 0; i < s->n; i++) {
		snprintf(from, sizeof from, "%s/%s", s->root, s->rel[i]);
		snprintf(to, sizeof to, "%s/%s", s->out, s->rel[i]);
		if (rename(from, to))
			return lfm_error(err, to, "cannot move into place: %s", strerror(errno));
	}
	snprintf(from, sizeof from, "%s/runtime", s->root);
	rmdir(from);
	rmdir(s->root);
	return 0;
}

static int write_bytes(const char *path, const void *p, size_t n, LfmError *err)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return lfm_error(err, path, "cannot create file: %s", strerror(errno));
	int bad = fwrite(p, 1, n, f) != n;
	bad |= fclose(f) != 0;
	return bad ? lfm_error(err, path, "write failed") : 0;
}

/* Runs argv; returns 0 when it exits with status 0. */
static int run_command(char *const argv[], int verbose, LfmError *err)
{
	if (verbose) {
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fputc('\n', stderr);
	}
	pid_t pid = fork();
	if (pid < 0)
		return lfm_error(err, NULL, "cannot start %s: %s", argv[0], strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "lfm2c: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return lfm_error(err, NULL, "waiting for %s failed", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return lfm_error(err, NULL, "the C compiler (%s) failed building the inference binary", argv[0]);
	return 0;
}

static int build_executable(const CompileArgs *a, Stage *st, const char *exe, LfmError *err)
{
	static char args[MAX_OUTPUTS][1200];
	char *argv[MAX_OUTPUTS + 16];
	int n = 0;
	argv[n++] = (char *)a->cc;
	argv[n++] = "-std=gnu11";
	argv[n++] = "-O3";
	snprintf(args[0], sizeof args[0], "-march=%s", a->cpu);
	argv[n++] = args[0];
	argv[n++] = "-fno-math-errno";
	snprintf(args[1], sizeof args[1], "-I%s/runtime", st->root);
	argv[n++] = args[1];
	snprintf(args[2], sizeof args[2], "-I%s", st->root);
	argv[n++] = args[2];
	/* extra flags from the environment, e.g. sanitizers in the test suite */
	static char extra[1024];
	const char *env = getenv("LFM2C_CFLAGS");
	snprintf(extra, sizeof extra, "%s", env ? env : "");
	for (char *tok = strtok(extra, " \t"); tok && n < MAX_OUTPUTS; tok = strtok(NULL, " \t"))
		argv[n++] = tok;
	int k = 3;
	for (int i = 0; i < st->n; i++) {
		size_t len = strlen(st->rel[i]);
		if (len > 2 && !strcmp(st->rel[i] + len - 2, ".c")) {
			snprintf(args[k], sizeof args[k], "%s/%s", st->root, st->rel[i]);
			argv[n++] = args[k++];
		}
	}
	argv[n++] = "-o";
	argv[n++] = (char *)exe;
	argv[n++] = "-lm";
	argv[n++] = "-lpthread";
	argv[n] = NULL;
	return run_command(argv, a->verbose, err);
}

static int usage(void)
{
	return driver_fail("usage: lfm2c compile MODEL_DIR -o OUT_DIR [--cpu NAME] [--cc CC] "
	                   "[--name SYMBOL] [--emit c|exe] [-v]");
}

static int parse_args(int argc, char **argv, CompileArgs *a)
{
	memset(a, 0, sizeof *a);
	a->cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
	a->cpu = "native";
	a->symbol = "lfm2_model";
	a->emit_exe = 1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int has_val = i + 1 < argc;
		if (!strcmp(s, "-o") && has_val)
			a->out_dir = argv[++i];
		else if (!strcmp(s, "--cpu") && has_val)
			a->cpu = argv[++i];
		else if (!strcmp(s, "--cc") && has_val)
			a->cc = argv[++i];
		else if (!strcmp(s, "--name") && has_val)
			a->symbol = argv[++i];
		else if (!strcmp(s, "--emit") && has_val) {
			const char *e = argv[++i];
			if (!strcmp(e, "c"))
				a->emit_exe = 0;
			else if (!strcmp(e, "exe"))
				a->emit_exe = 1;
			else
				return driver_fail("compile: --emit takes c or exe (got '%s')", e);
		} else if (!strcmp(s, "-v"))
			a->verbose = 1;
		else if (s[0] == '-' && s[1])
			return has_val || strcmp(s, "-o") ? driver_fail("compile: unknown option '%s'", s)
			                                  : driver_fail("compile: -o needs a directory");
		else if (!a->model_dir)
			a->model_dir = s;
		else
			return driver_fail("compile: unexpected argument '%s'", s);
	}
	if (!a->model_dir || !a->out_dir)
		return usage();
	for (const char *p = a->symbol; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		      || (p != a->symbol && *p >= '0' && *p <= '9')))
			return driver_fail("compile: --name '%s' is not a C identifier", a->symbol);
	return 0;
}

/* Emits model.c and model.h into the staging directory. */
static int emit_model(const CompileArgs *a, const Graph *g, const Checkpoint *ck, uint64_t blob_hash,
                      Stage *st, LfmError *err)
{
	const char *model_c = stage_file(st, "model.c", err);
	const char *model_h = model_c ? stage_file(st, "model.h", err) : NULL;
	if (!model_h)
		return -1;
	FILE *fc = fopen(model_c, "w"), *fh = fopen(model_h, "w");
	if (!fc || !fh) {
		lfm_error(err, fc ? model_h : model_c, "cannot create file: %s", strerror(errno));
		if (fc)
			fclose(fc);
		if (fh)
			fclose(fh);
		return -1;
	}
	Target t;
	if (target_resolve(&t, NULL, strcmp(a->cpu, "native") ? a->cpu : NULL, NULL, err)) {
		fclose(fc);
		fclose(fh);
		return -1;
	}
	char target[160];
	snprintf(target, sizeof target, "c,%s", a->cpu);
	CodegenOptions co = {a->symbol, target, LFM2C_VERSION};
	int rc = codegen_c(g, ck, &t, blob_hash, &co, 0, fc, fh, err);
	int c1 = fclose(fc), c2 = fclose(fh);
	if (!rc && (c1 || c2))
		rc = lfm_error(err, model_c, "write failed");
	return rc;
}

static int write_runtime(Stage *st, LfmError *err)
{
	for (const struct lfm2c_embedded_file *f = lfm2c_runtime_files; f->name; f++) {
		char rel[128];
		snprintf(rel, sizeof rel, "runtime/%s", f->name);
		const char *path = stage_file(st, rel, err);
		if (!path || write_bytes(path, f->bytes, f->size, err))
			return -1;
	}
	return 0;
}

int cmd_compile(int argc, char **argv)
{
	CompileArgs a;
	if (parse_args(argc, argv, &a))
		return 1;
	LfmError err = {{0}};
	Checkpoint ck;
	Graph g;
	Stage st;
	int have_ck = 0, have_g = 0, have_stage = 0, rc = 1;
	uint64_t blob_hash = 0;
	if (lfm_checkpoint_open(a.model_dir, &ck, stderr, &err))
		goto fail;
	have_ck = 1;
	if (ir_build(&g, &ck, &err))
		goto fail;
	have_g = 1;
	PassOptions po = {0};
	if (passes_run(&g, &po, &err) || stage_open(&st, a.out_dir, &err))
		goto fail;
	have_stage = 1;
	const char *blob = stage_file(&st, "weights.bin", &err);
	if (!blob || blob_write(&g, blob, &blob_hash, NULL, NULL, &err))
		goto fail;
	if (emit_model(&a, &g, &ck, blob_hash, &st, &err) || write_runtime(&st, &err))
		goto fail;
	if (a.emit_exe) {
		const char *exe = stage_file(&st, "lfm2-run", &err);
		if (!exe || build_executable(&a, &st, exe, &err))
			goto fail;
	}
	if (stage_commit(&st, &err))
		goto fail;
	have_stage = 0;
	fprintf(stderr, "lfm2c: compiled %s -> %s/%s (weights.bin %.1f MiB, blob hash %016llx)\n",
	        a.model_dir, a.out_dir, a.emit_exe ? "lfm2-run" : "model.c", (double)g.blob_bytes / 1048576.0,
	        (unsigned long long)blob_hash);
	rc = 0;
	goto done;
fail:
	driver_fail("%s", err.msg);
done:
	if (have_stage)
		stage_discard(&st);
	if (have_g)
		ir_free(&g);
	if (have_ck)
		lfm_checkpoint_close(&ck);
	return rc;
}
