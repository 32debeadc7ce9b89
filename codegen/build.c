/*
 * build.c — one compile into an output directory (build.h).
 *
 * The whole pipeline in order: resolve the target (LLVM checks the triple,
 * CPU and features), derive the machine model (machine.h) and plan the
 * tiles from it (codegen_plan), open and hash the
 * checkpoint, build the tokenizer table, look the build up in the cache,
 * build the graph and run the passes, write the weights blob (its hash
 * is baked into the code), lower the graph and print it — as an LLVM
 * object or as C — with model.h, write the runtime's sources beside them,
 * and for EMIT_EXE build lfm2-run with the C compiler for the target
 * (cross-compiling for aarch64 with aarch64-linux-gnu-gcc).  Embedding
 * links the blob into the program (weights.o, an ELF object written here;
 * see elf_blob.c).
 *
 * Outputs per emit (all with model.h, runtime/ and weights.bin, or
 * weights.o + embed.c when embedding; and tokenizer.bin, the tokenizer
 * table lfm2-run reads for text, when the checkpoint has tokenizer.json):
 *   exe   lfm2-run, and model.o (llvm) or model.c (c)
 *   obj   model.o            asm  model.s         llvm  model.ll (llvm only)
 *   c     model.c (c only)   loops model.loops, the loop-level form as text
 *   lib   libmodel.a (the model, the runtime and the application API, only
 *         the API's prefixed symbols global; + the blob with --embed-weights)
 *         and model.h the API's header instead of the model's (see the
 *         --emit lib section below and lib.h)
 *
 * Reproducible: the same inputs and options give byte-identical files.
 * The C compiler runs inside the staging directory on relative paths (and
 * -ffile-prefix-map maps the directory away for -g), so no temporary path
 * ends up in an object; LLVM output is deterministic.
 * Cached: the outputs are stored in $XDG_CACHE_HOME/lfm2c (else
 * ~/.cache/lfm2c) under the XXH3 of everything they depend on; a repeated
 * compile copies them back and says so.  The runtime's objects are cached
 * the same way (every model of a target links the same ones).
 *
 * Nothing half-done: the compile runs in a supervised child process
 * (supervise.h) that writes every output into a staging directory beside
 * OUT; only when it succeeded does the parent replace OUT's files as one
 * set (outdir.h: a lock against concurrent compiles, a manifest of the
 * files lfm2c wrote, stale files of the previous build removed).  An
 * error, a full disk, LLVM's fatal errors, Ctrl-C, SIGTERM or SIGHUP leave
 * OUT exactly as it was (exit status 130 for the signals).  The C
 * compiler's output goes to a log file that the error line names.  The
 * child reports its error through the stage (STAGE_ERROR), so a caller
 * that builds many variants (tune, variants) gets the line as a string.
 *
 * The C compiler is the request's, else $CC on the host, else cc (host) or
 * aarch64-linux-gnu-gcc / x86_64-linux-gnu-gcc (cross).  $LFM2C_CFLAGS
 * adds flags to host builds (the test suite uses it for sanitizers).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Core.h>

#include "build.h"
#include "cache.h"
#include "fileio.h"
#include "fsutil.h"
#include "lib.h"
#include "machine.h"
#include "outdir.h"
#include "passes.h"
#include "supervise.h"
#include "tokenizer.h"

#ifndef LFM2C_VERSION
#define LFM2C_VERSION "dev"
#endif

const char *const build_emit_names[BUILD_N_EMITS] = {"exe", "obj", "asm", "llvm", "c", "loops", "lib"};

/* Whether the emit runs the target's C compiler (and so names it in the cache key). */
static int needs_cc(const BuildRequest *a)
{
	return a->emit == EMIT_EXE || a->emit == EMIT_LIB
	       || (a->backend_c && (a->emit == EMIT_OBJ || a->emit == EMIT_ASM));
}

/* --emit lib: the model's files (its ABI header, model.o) are intermediate,
 * in the stage's lib/ beside the archive's other members; model.h is the API. */
static const char *model_dir(const BuildRequest *a)
{
	return a->emit == EMIT_LIB ? "lib/" : "";
}

/* ------------------------------------------------------------ staging
 * The compile runs in a child process (supervise.h) and writes
 * every output into the staging directory that outdir.h made
 * beside OUT, under its final relative name (so the C compiler sees the
 * real layout).  It ends by listing the files to keep in STAGE_RESULT;
 * the parent then commits them into OUT as one set, or removes the stage.
 * Files not kept (the blob when embedded, the runtime's objects) go away
 * with the stage. */
#define MAX_OUTPUTS OUTDIR_MAX_FILES
#define STAGE_RESULT ".lfm2c-result"
typedef struct Stage {
	const char *root;         /* the staging directory */
	const char *out;          /* OUT as the user named it (messages) */
	char abs[4096];           /* root as an absolute path (for -ffile-prefix-map) */
	char rel[MAX_OUTPUTS][OUTDIR_NAME_MAX];
	char path[MAX_OUTPUTS][1600];   /* root + "/" + rel */
	int keep[MAX_OUTPUTS];
	int n;
	char cc_log[1024];        /* the C compiler's output, once it has run */
	int cc_log_fd;
} Stage;

static const char *stage_file(Stage *s, const char *rel, int keep, LfmError *err)
{
	if (s->n >= MAX_OUTPUTS) {
		lfm_error(err, s->out, "too many output files");
		return NULL;
	}
	snprintf(s->rel[s->n], sizeof s->rel[0], "%s", rel);
	snprintf(s->path[s->n], sizeof s->path[0], "%.1400s/%s", s->root, rel);
	s->keep[s->n] = keep;
	return s->path[s->n++];
}

static int stage_open(Stage *s, const OutDir *od, LfmError *err)
{
	memset(s, 0, sizeof *s);
	s->root = od->stage;
	s->out = od->out;
	s->cc_log_fd = -1;
	char rt[1500];
	snprintf(rt, sizeof rt, "%s/runtime", s->root);
	if (mkdir(rt, 0777))
		return lfm_error(err, s->out, "output directory is not writable: %s", strerror(errno));
	if (!realpath(s->root, s->abs))
		snprintf(s->abs, sizeof s->abs, "%s", s->root);
	return 0;
}

/* Messages name the file the user will look for (OUT/weights.bin), not
 * the staging directory, which is gone when they read them. */
static void stage_rename_in_message(const Stage *s, LfmError *err)
{
	char buf[sizeof err->msg];
	size_t k = strlen(s->root);
	char *hit = strstr(err->msg, s->root);
	if (!k || !hit)
		return;
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(hit - err->msg), err->msg, s->out, hit + k);
	memcpy(err->msg, buf, sizeof buf);
}

/* The kept files' names (one per line) after the summary line. */
static int stage_finish(Stage *s, const char *summary, LfmError *err)
{
	char path[1500];
	snprintf(path, sizeof path, "%s/%s", s->root, STAGE_RESULT);
	char text[MAX_OUTPUTS * (OUTDIR_NAME_MAX + 1) + 1200];
	size_t len = (size_t)snprintf(text, sizeof text, "%s\n", summary);
	for (int i = 0; i < s->n && len < sizeof text; i++)
		if (s->keep[i])
			len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", s->rel[i]);
	if (len >= sizeof text)
		return lfm_error(err, s->out, "too many output files");
	if (fs_write_file(path, text, len, 0600))
		return lfm_error(err, s->out, "cannot write: %s", strerror(errno));
	return 0;
}

static void stage_close(Stage *s)
{
	if (s->cc_log_fd >= 0) {
		close(s->cc_log_fd);
		unlink(s->cc_log);   /* every command succeeded: nothing to read */
	}
	s->cc_log_fd = -1;
}

static int write_bytes(const char *path, const void *p, size_t n, LfmError *err)
{
	return fs_write_file(path, p, n, 0666 & ~fs_umask()) ? lfm_error(err, path, "cannot write: %s", strerror(errno))
	                                                       : 0;
}

/* ------------------------------------------------------------ commands */

/* Runs argv in directory dir (NULL: here); returns 0 when it exits 0.
 * With out != NULL, the first line of its stdout goes there; with
 * log >= 0, its stdout and stderr go to that file. */
static int run_in(const char *dir, char *const argv[], int verbose, int log, char *out, size_t outn)
{
	if (verbose) {
		if (dir)
			fprintf(stderr, "(in %s) ", dir);
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fputc('\n', stderr);
	}
	int fds[2] = {-1, -1};
	if (out && pipe(fds))
		return -1;
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dir && chdir(dir))
			_exit(126);
		if (out) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
		} else if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execvp(argv[0], argv);
		if (!out)
			fprintf(stderr, "lfm2c: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (out) {
		close(fds[1]);
		size_t n = 0;
		ssize_t k;
		char buf[4096];
		while ((k = read(fds[0], buf, sizeof buf)) > 0)
			for (ssize_t i = 0; i < k; i++)
				if (n + 1 < outn)
					out[n++] = buf[i];
		close(fds[0]);
		out[n] = 0;
		out[strcspn(out, "\n")] = 0;
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int in_path(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	const char *path = getenv("PATH");
	char buf[2048];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
		if (n && access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* The C compiler for the target. */
static void choose_cc(const BuildRequest *a, const Target *t, char *buf, size_t n)
{
	if (a->cc)
		snprintf(buf, n, "%s", a->cc);
	else if (t->host && getenv("CC") && *getenv("CC"))
		snprintf(buf, n, "%s", getenv("CC"));
	else
		target_default_cc(t, buf, n);
}

/* argv building */
typedef struct Argv {
	char *v[MAX_OUTPUTS + 48];
	char store[MAX_OUTPUTS + 48][1100];   /* paths: the stage can be deep */
	int n;
} Argv;

static void arg(Argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(Argv *a, const char *fmt, ...)
{
	if (a->n >= (int)(sizeof a->v / sizeof a->v[0]) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->store[a->n], sizeof a->store[0], fmt, ap);
	va_end(ap);
	a->v[a->n] = a->store[a->n];
	a->v[++a->n] = NULL;
}

static void common_flags(Argv *v, const Target *t, const Stage *st, int arch_flags)
{
	arg(v, "-std=gnu11");
	arg(v, "-O3");
	if (arch_flags) {
		char fl[16][256];
		int k = target_cc_flags(t, fl, 16);
		for (int i = 0; i < k; i++)
			arg(v, "%s", fl[i]);
	}
	arg(v, "-fno-math-errno");
	arg(v, "-Iruntime");
	arg(v, "-I.");
	/* debug info (-g in LFM2C_CFLAGS) would record the staging directory */
	if (strlen(st->abs) < 1000)
		arg(v, "-ffile-prefix-map=%s=.", st->abs);
	/* extra flags from the environment (host builds), e.g. sanitizers in the test suite */
	const char *env = getenv("LFM2C_CFLAGS");
	if (t->host && env) {
		char extra[1024];
		snprintf(extra, sizeof extra, "%s", env);
		for (char *tok = strtok(extra, " \t"); tok; tok = strtok(NULL, " \t"))
			arg(v, "%s", tok);
	}
}

/* The file the C compiler's output goes to: ${TMPDIR:-/tmp}/lfm2c-cc-XXXXXX.log,
 * made when the first command runs, removed when every command succeeded
 * (stage_close), kept and named in the error line when one failed.  With
 * -v the output goes to the terminal instead (-1). */
static int cc_log(Stage *st, int verbose)
{
	if (verbose)
		return -1;
	if (st->cc_log_fd < 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(st->cc_log, sizeof st->cc_log, "%s/lfm2c-cc-XXXXXX.log", tmp && *tmp ? tmp : "/tmp");
		st->cc_log_fd = mkostemps(st->cc_log, 4, O_CLOEXEC);
		if (st->cc_log_fd < 0)
			st->cc_log[0] = 0;
	}
	return st->cc_log_fd;   /* -1 if not even a log could be made: the terminal, then */
}

/* The first line of the log that says what went wrong ("error", "No space",
 * ...), else its last line, into buf. */
static void first_error_line(const char *log, char *buf, size_t n)
{
	buf[0] = 0;
	FILE *f = log[0] ? fopen(log, "r") : NULL;
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!*line)
			continue;
		snprintf(buf, n, "%.*s", (int)(n > 1 ? n - 1 : 0), line);
		if (strstr(line, "error") || strstr(line, "Error") || strstr(line, "No space") || strstr(line, "fatal"))
			break;
	}
	fclose(f);
}

/* "WHO failed WHAT: first error (all of its output: LOG)"; who names the
 * program ("the C compiler (cc)"). */
static int command_failed(Stage *st, const char *who, const char *what, LfmError *err)
{
	if (st->cc_log_fd < 0)
		return lfm_error(err, NULL, "%s failed %s", who, what);
	char first[300];
	first_error_line(st->cc_log, first, sizeof first);
	close(st->cc_log_fd);
	st->cc_log_fd = -1;   /* stage_close keeps it now */
	return lfm_error(err, NULL, "%s failed %s: %s (all of its output: %s)", who, what,
	                 first[0] ? first : "no message", st->cc_log);
}

static int cc_failed(Stage *st, const char *cc, const char *what, LfmError *err)
{
	char who[300];
	snprintf(who, sizeof who, "the C compiler (%.250s)", cc);
	return command_failed(st, who, what, err);
}

/* cc -c / -S src (model.c) in the stage; pic: -fPIC (a library's member). */
static int cc_model(const char *cc, const Target *t, Stage *st, const char *flag, const char *src, const char *out,
                    int pic, int verbose, LfmError *err)
{
	Argv v = {0};
	arg(&v, "%s", cc);
	common_flags(&v, t, st, 1);
	if (pic)
		arg(&v, "-fPIC");
	arg(&v, "%s", flag);
	arg(&v, "%s", src);
	arg(&v, "-o");
	arg(&v, "%s", out);
	char what[64];
	snprintf(what, sizeof what, "compiling %s", src);
	return run_in(st->root, v.v, verbose, cc_log(st, verbose), NULL, 0) ? cc_failed(st, cc, what, err) : 0;
}

/* Starts argv in dir without waiting, its output to log; returns the pid or -1. */
static pid_t spawn_in(const char *dir, char *const argv[], int verbose, int log)
{
	if (verbose) {
		fprintf(stderr, "(in %s) ", dir);
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fputc('\n', stderr);
	}
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir))
			_exit(126);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "lfm2c: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_ok(pid_t pid)
{
	int status;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Whether the staged runtime source rel ("runtime/x.c") is compiled:
 * every one for lfm2-run; for a library all but lfm2-run's own (main.c,
 * cli_*.c), with the application API (lfm2lib.c). */
static int runtime_source_wanted(const BuildRequest *a, const char *rel)
{
	size_t len = strlen(rel);
	if (strncmp(rel, "runtime/", 8) || len < 10 || strcmp(rel + len - 2, ".c"))
		return 0;
	return a->emit != EMIT_LIB || (strcmp(rel + 8, "main.c") && strncmp(rel + 8, "cli_", 4));
}

/* The runtime as objects in the stage's obj/ (temporary files): the same
 * for every model of a target, so they are compiled once per compiler,
 * flags and sources and kept in the build cache (unless --no-cache).
 * Compiled from the staged runtime/ on relative paths, they are the same
 * bytes whether they come from the cache or not, and so is lfm2-run.
 * A library's are position-independent (it may end up in a shared
 * object) and do not depend on the model symbol (only main.c names it). */
static int runtime_objects(const BuildRequest *a, const char *cc, const char *cc_version, const Target *t,
                           Stage *st, char objs[][128], int *nobj, LfmError *err)
{
	static char names[MAX_OUTPUTS][128];
	int n = 0;
	Argv base = {0};
	arg(&base, "%s", cc);
	common_flags(&base, t, st, a->backend_c);
	if (a->emit == EMIT_LIB)
		arg(&base, "-fPIC");
	else if (strcmp(a->symbol, "lfm2_model"))
		arg(&base, "-DLFM2_MODEL_SYMBOL=%s", a->symbol);
	CacheKey k = {{0}, 0};
	cache_key_add(&k, "runtime-objects", "1");
	cache_key_add(&k, "cc-version", "%s", cc_version);
	for (int i = 0; i < base.n; i++)
		if (strncmp(base.v[i], "-ffile-prefix-map=", 18))   /* the stage's path changes nothing */
			cache_key_add(&k, "flag", "%s", base.v[i]);
	for (int i = 0; i < st->n; i++) {
		const char *r = st->rel[i];
		size_t len = strlen(r);
		if (strncmp(r, "runtime/", 8))
			continue;
		cache_key_add(&k, r, "%016" PRIx64, cache_file_hash(st->path[i]));   /* .c and .h */
		if (runtime_source_wanted(a, r) && n < MAX_OUTPUTS)
			snprintf(names[n++], sizeof names[0], "obj/%.*s.o", (int)(len - 10), r + 8);
	}
	uint64_t key = cache_key_hash(&k);
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/obj", st->root);
	if (mkdir(dir, 0777) && errno != EEXIST)
		return lfm_error(err, dir, "cannot create directory: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (!stage_file(st, names[i], 0, err))
			return -1;
		snprintf(objs[i], 128, "%.127s", names[i]);
	}
	*nobj = n;
	static char got[MAX_OUTPUTS][128];
	if (!a->no_cache && cache_fetch(key, st->root, got, MAX_OUTPUTS, err) == n)
		return 0;
	/* compile them, two at a time */
	pid_t pids[MAX_OUTPUTS];
	int failed = 0;
	for (int i = 0; i < n; i++) {
		Argv v = base;
		for (int j = 0; j < v.n; j++)
			v.v[j] = v.store[j];
		arg(&v, "-c");
		arg(&v, "runtime/%.*s.c", (int)(strlen(names[i]) - 6), names[i] + 4);
		arg(&v, "-o");
		arg(&v, "%s", names[i]);
		if (i >= 2 && !wait_ok(pids[i - 2]))
			failed = 1;
		pids[i] = spawn_in(st->root, v.v, a->verbose, cc_log(st, a->verbose));
	}
	for (int i = n - 2 < 0 ? 0 : n - 2; i < n; i++)
		if (!wait_ok(pids[i]))
			failed = 1;
	if (failed)
		return cc_failed(st, cc, "compiling the runtime", err);
	if (!a->no_cache)
		cache_store(key, st->root, names, n);
	return 0;
}

/* Links lfm2-run from the model, the runtime objects and (embedded) the
 * blob object, all named relative to the stage. */
static int cc_link(const BuildRequest *a, const char *cc, const char *cc_version, const Target *t, Stage *st,
                   LfmError *err)
{
	static char objs[MAX_OUTPUTS][128];
	int nobj = 0;
	if (runtime_objects(a, cc, cc_version, t, st, objs, &nobj, err))
		return -1;
	Argv v = {0};
	arg(&v, "%s", cc);
	common_flags(&v, t, st, a->backend_c);
	arg(&v, "%s", a->backend_c ? "model.c" : "model.o");
	for (int i = 0; i < nobj; i++)
		arg(&v, "%s", objs[i]);
	if (a->embed) {
		arg(&v, "embed.c");
		arg(&v, "weights.o");
		arg(&v, "-Wl,--wrap=lfm2_weights_open");
		if (t->arch == ARCH_AARCH64)
			arg(&v, "-Wl,-T,embed.ld");
	}
	arg(&v, "-o");
	arg(&v, "lfm2-run");
	arg(&v, "-lm");
	arg(&v, "-lpthread");
	return run_in(st->root, v.v, a->verbose, cc_log(st, a->verbose), NULL, 0)
	               ? cc_failed(st, cc, "building the inference binary", err) : 0;
}

/* OUT/embed.ld (aarch64, embedded weights): keeps a multi-GB blob out of
 * the +-4 GiB reach of code and data, after everything else. */
static int write_embed_ld(Stage *st, LfmError *err)
{
	static const char script[] = "/* lfm2c --embed-weights: the blob after everything else */\n"
	                             "SECTIONS { .lfm2_weights : { KEEP(*(.lfm2_weights)) } }\n"
	                             "INSERT AFTER .bss;\n";
	const char *ld = stage_file(st, "embed.ld", 1, err);
	return ld ? write_bytes(ld, script, sizeof script - 1, err) : -1;
}

/* ------------------------------------------------------------ --emit lib
 * OUT/libmodel.a: the model, the runtime (without lfm2-run's own files),
 * the API (lfm2lib.c), the glue and the tokenizer table partially linked
 * into one object (cc -r) whose only global symbols are then the API's,
 * renamed to the prefix (objcopy: keep, then rename, so a runtime symbol
 * that happens to share a renamed name is already local); with
 * --embed-weights the weights object as a second member (PREFIX_blob:
 * gigabytes are archived once, not copied through the link).  The
 * texts come from lib.c; the tools are the target's own binutils. */

/* The target's binutils program `name`, as the C compiler names it
 * (cc -print-prog-name: "objcopy" for the host compiler, the cross
 * toolchain's own for aarch64-linux-gnu-gcc). */
static int find_tool(const char *cc, const char *name, char *buf, size_t n, LfmError *err)
{
	char opt[64];
	snprintf(opt, sizeof opt, "-print-prog-name=%s", name);
	char *argv[] = {(char *)cc, opt, NULL};
	if (run_in(NULL, argv, 0, -1, buf, n) || !buf[0])
		snprintf(buf, n, "%s", name);
	if (!in_path(buf))
		return lfm_error(err, NULL, "--emit lib needs %s for the target (Debian package binutils, or the cross "
		                 "toolchain's), which is not installed", name);
	return 0;
}

static int stage_mkdir(Stage *st, const char *rel, LfmError *err)
{
	char dir[1500];
	snprintf(dir, sizeof dir, "%s/%s", st->root, rel);
	if (mkdir(dir, 0777) && errno != EEXIST)
		return lfm_error(err, dir, "cannot create directory: %s", strerror(errno));
	return 0;
}

/* Runs a binutils program in the stage; "TOOL failed making libmodel.a". */
static int run_tool(const BuildRequest *a, Stage *st, Argv *v, LfmError *err)
{
	if (!run_in(st->root, v->v, a->verbose, cc_log(st, a->verbose), NULL, 0))
		return 0;
	char who[300];
	snprintf(who, sizeof who, "%.250s", v->v[0]);
	return command_failed(st, who, "making libmodel.a", err);
}

/* lib/model.h, lib/lib_glue.c, lib/keep.txt, lib/rename.txt and model.h. */
static int lib_texts(const LibSpec *l, Stage *st, LfmError *err)
{
	const char *h = stage_file(st, "model.h", 1, err);
	const char *glue = h ? stage_file(st, "lib/lib_glue.c", 0, err) : NULL;
	const char *keep = glue ? stage_file(st, "lib/keep.txt", 0, err) : NULL;
	const char *ren = keep ? stage_file(st, "lib/rename.txt", 0, err) : NULL;
	if (!ren || lib_write_header(h, l, err) || lib_write_glue(glue, l, err)
	    || lib_write_symbol_lists(keep, ren, l, err))
		return -1;
	return 0;
}

/* The data members' objects: lib/tokenizer.o, lib/PREFIX_weights.o (+ embed.ld). */
static int lib_data_objects(const BuildRequest *a, const LibSpec *l, const Target *t, Stage *st, const char *blob,
                            char *weights_rel, size_t n, LfmError *err)
{
	if (l->has_tokenizer) {
		char src[1500];
		snprintf(src, sizeof src, "%s/tokenizer.bin", st->root);
		const char *obj = stage_file(st, "lib/tokenizer.o", 0, err);
		if (!obj || elf_rodata_write(src, obj, t->arch, LIB_TOKENIZER_SYMBOL, err))
			return -1;
	}
	if (!a->embed)
		return 0;
	snprintf(weights_rel, n, "lib/%s_weights.o", l->prefix);
	const char *obj = stage_file(st, weights_rel, 0, err);
	if (!obj || elf_blob_write(blob, obj, t->arch, l->prefix, err))
		return -1;
	/* the program's link wants it for a multi-GB blob (-Wl,-T,embed.ld) */
	return t->arch == ARCH_AARCH64 ? write_embed_ld(st, err) : 0;
}

/* The binutils an --emit lib build runs, found before any work is done. */
typedef struct LibTools {
	char objcopy[1024], ar[1024];
} LibTools;

static int find_lib_tools(const BuildRequest *a, const char *cc, LibTools *tools, LfmError *err)
{
	if (a->emit != EMIT_LIB)
		return 0;
	return find_tool(cc, "objcopy", tools->objcopy, sizeof tools->objcopy, err)
	       || find_tool(cc, "ar", tools->ar, sizeof tools->ar, err) ? -1 : 0;
}

static int build_library(const BuildRequest *a, const char *cc, const char *cc_version, const LibTools *tools,
                         const Target *t, const Checkpoint *ck, uint64_t blob_hash, const char *blob,
                         int has_tokenizer, Stage *st, LfmError *err)
{
	char tdesc[400], desc[600], weights_rel[128] = "";
	target_describe(t, tdesc, sizeof tdesc);
	snprintf(desc, sizeof desc, "%s,%s", a->backend_c ? "c" : "llvm", tdesc);
	LibSpec l = {a->lib_prefix ? a->lib_prefix : LIB_DEFAULT_PREFIX, a->symbol, LFM2C_VERSION, desc,
	             ck->model_hash, blob_hash, has_tokenizer, a->embed};
	if (lib_texts(&l, st, err) || lib_data_objects(a, &l, t, st, blob, weights_rel, sizeof weights_rel, err)
	    || !stage_file(st, "lib/lib_glue.o", 0, err)
	    || cc_model(cc, t, st, "-c", "lib/lib_glue.c", "lib/lib_glue.o", 1, a->verbose, err))
		return -1;
	static char objs[MAX_OUTPUTS][128];
	int nobj = 0;
	if (runtime_objects(a, cc, cc_version, t, st, objs, &nobj, err))
		return -1;
	char member[128];
	snprintf(member, sizeof member, "lib/%s.o", l.prefix);
	if (!stage_file(st, member, 0, err) || !stage_file(st, "libmodel.a", 1, err))
		return -1;
	Argv v = {0};   /* one object of everything */
	arg(&v, "%s", cc);
	arg(&v, "-r");
	arg(&v, "-nostdlib");
	arg(&v, "-o");
	arg(&v, "%s", member);
	arg(&v, "lib/model.o");
	for (int i = 0; i < nobj; i++)
		arg(&v, "%s", objs[i]);
	arg(&v, "lib/lib_glue.o");
	if (has_tokenizer)
		arg(&v, "lib/tokenizer.o");
	if (run_in(st->root, v.v, a->verbose, cc_log(st, a->verbose), NULL, 0))
		return cc_failed(st, cc, "linking libmodel.a's object", err);
	Argv keep = {0}, ren = {0}, arc = {0};
	arg(&keep, "%s", tools->objcopy);
	arg(&keep, "--keep-global-symbols=lib/keep.txt");
	arg(&keep, "%s", member);
	arg(&ren, "%s", tools->objcopy);
	arg(&ren, "--redefine-syms=lib/rename.txt");
	arg(&ren, "%s", member);
	arg(&arc, "%s", tools->ar);
	arg(&arc, "rcsD");
	arg(&arc, "libmodel.a");
	arg(&arc, "%s", member);
	if (weights_rel[0])
		arg(&arc, "%s", weights_rel);
	return run_tool(a, st, &keep, err) || run_tool(a, st, &ren, err) || run_tool(a, st, &arc, err) ? -1 : 0;
}

/* ------------------------------------------------------------ pieces */

static int write_sources(Stage *st, const struct lfm2c_embedded_file *files, LfmError *err)
{
	for (const struct lfm2c_embedded_file *f = files; f->name; f++) {
		char rel[128];
		snprintf(rel, sizeof rel, "runtime/%s", f->name);
		const char *path = stage_file(st, rel, 1, err);
		if (!path || write_bytes(path, f->bytes, f->size, err))
			return -1;
	}
	return 0;
}

/* runtime/: the runtime's sources (and for a library the API's), and xxhash.h. */
static int write_runtime(const BuildRequest *a, Stage *st, const Target *t, LfmError *err)
{
	if (write_sources(st, lfm2c_runtime_files, err) || (a->emit == EMIT_LIB && write_sources(st, lfm2c_lib_files, err)))
		return -1;
	/* The runtime includes <xxhash.h> (header-only).  A cross compiler does
	 * not search the host's /usr/include, so the host's copy goes along. */
	static const char *const candidates[] = {
#ifdef LFM2C_XXHASH_DIR
		LFM2C_XXHASH_DIR "/xxhash.h",
#endif
		"/usr/include/xxhash.h", "/usr/local/include/xxhash.h", NULL};
	for (int i = 0; candidates[i]; i++)
		if (access(candidates[i], R_OK) == 0) {
			const char *path = stage_file(st, "runtime/xxhash.h", 1, err);
			return path ? copy_file(candidates[i], path, 0, err) : -1;
		}
	if (!t->host)
		return lfm_error(err, NULL, "cannot find xxhash.h (Debian package libxxhash-dev) to build the "
		                 "runtime for %s", t->triple);
	return 0;
}

/* Closes an output stream; a failed write (seen now or earlier, by the
 * stream's error flag) becomes the error, with the file and the reason —
 * it explains whatever the writer reported before. */
static int close_output(FILE *f, const char *path, int rc, LfmError *err)
{
	int had_error = ferror(f);
	int io = lfm_io_fclose(f);
	if (!io && had_error)
		io = LFM_IO_SHORT;
	return io ? lfm_error(err, path, "cannot write: %s", lfm_io_reason(io)) : rc;
}

/* The model code: C (model.c [+ .o/.s]) or LLVM (model.o/.s/.ll), and model.h. */
static int emit_model(const BuildRequest *a, const Target *t, const Tiling *tiling, const Graph *g,
                      const Checkpoint *ck, uint64_t blob_hash, Stage *st, LfmError *err)
{
	char desc[600];
	char tdesc[400];
	target_describe(t, tdesc, sizeof tdesc);
	snprintf(desc, sizeof desc, "%s,%s", a->backend_c ? "c" : "llvm", tdesc);
	CodegenOptions co = {a->symbol, desc, LFM2C_VERSION, *tiling};
	const char *dir = model_dir(a);
	int keep = a->emit != EMIT_LIB;
	char rel_h[32], rel_c[32], rel_o[32];   /* model.h, model.c, model.o in dir */
	snprintf(rel_h, sizeof rel_h, "%smodel.h", dir);
	snprintf(rel_c, sizeof rel_c, "%smodel.c", dir);
	snprintf(rel_o, sizeof rel_o, "%smodel.o", dir);
	const char *model_h = stage_file(st, rel_h, keep, err);
	if (!model_h)
		return -1;
	FILE *fh = fopen(model_h, "w");
	if (!fh)
		return lfm_error(err, model_h, "cannot create file: %s", strerror(errno));
	int rc;
	if (a->emit == EMIT_LOOPS) {
		const char *path = stage_file(st, "model.loops", 1, err);
		FILE *f = path ? fopen(path, "w") : NULL;
		rc = f ? codegen_loops(g, ck, t, blob_hash, &co, f, err)
		       : lfm_error(err, path, "cannot create file: %s", strerror(errno));
		if (f)
			rc = close_output(f, path, rc, err);
	} else if (a->backend_c) {
		const char *path = stage_file(st, rel_c, keep, err);
		FILE *f = path ? fopen(path, "w") : NULL;
		rc = f ? codegen_c(g, ck, t, blob_hash, &co, a->embed, f, fh, err)
		       : lfm_error(err, path, "cannot create file: %s", strerror(errno));
		if (f)
			rc = close_output(f, path, rc, err);
	} else {
		const char *rel = a->emit == EMIT_ASM ? "model.s" : a->emit == EMIT_LLVM ? "model.ll" : rel_o;
		LlvmEmit kind = a->emit == EMIT_ASM ? EMIT_LLVM_ASM : a->emit == EMIT_LLVM ? EMIT_LLVM_IR : EMIT_LLVM_OBJ;
		const char *path = stage_file(st, rel, keep, err);
		rc = path ? codegen_llvm(g, ck, t, blob_hash, &co, a->embed, kind, path, fh, err) : -1;
	}
	return close_output(fh, model_h, rc, err);
}

/* The C backend's model.c through the C compiler, for the emits that want
 * an object or assembly (after the runtime's headers are staged: model.c
 * includes lfm2_abi.h): model.o / model.s, or a library's lib/model.o. */
static int compile_model_c(const BuildRequest *a, const Target *t, const char *cc, Stage *st, LfmError *err)
{
	if (!a->backend_c)
		return 0;
	if (a->emit == EMIT_OBJ || a->emit == EMIT_ASM) {
		const char *rel = a->emit == EMIT_OBJ ? "model.o" : "model.s";
		return stage_file(st, rel, 1, err) ? cc_model(cc, t, st, a->emit == EMIT_OBJ ? "-c" : "-S", "model.c", rel,
		                                                  0, a->verbose, err) : -1;
	}
	if (a->emit == EMIT_LIB)
		return stage_file(st, "lib/model.o", 0, err)
		               ? cc_model(cc, t, st, "-c", "lib/model.c", "lib/model.o", 1, a->verbose, err) : -1;
	return 0;
}

/* OUT/tokenizer.bin (bytes from lfm_tokenizer_build, NULL if the
 * checkpoint has no tokenizer.json). */
static int write_tokenizer(const void *bytes, size_t n, Stage *st, LfmError *err)
{
	if (!bytes)
		return 0;
	const char *path = stage_file(st, "tokenizer.bin", 1, err);
	return path ? write_bytes(path, bytes, n, err) : -1;
}

/* --embed-weights: weights.o (+ embed.c, + embed.ld on aarch64). */
static int emit_embedded(const BuildRequest *a, const Target *t, Stage *st, const char *blob, LfmError *err)
{
	const char *obj = stage_file(st, "weights.o", 1, err);
	const char *glue = obj ? stage_file(st, "embed.c", 1, err) : NULL;
	if (!glue || elf_blob_write(blob, obj, t->arch, a->symbol, err) || embed_glue_write(glue, a->symbol, err))
		return -1;
	return t->arch == ARCH_AARCH64 ? write_embed_ld(st, err) : 0;
}

/* Everything the outputs depend on, as text; its hash is the cache key. */
static uint64_t compute_key(const BuildRequest *a, const Target *t, const Tiling *tiling, const Checkpoint *ck,
                            const char *cc, const char *cc_version, int verbose)
{
	CacheKey k = {{0}, 0};
	unsigned maj, min, pat;
	LLVMGetVersion(&maj, &min, &pat);
	cache_key_add(&k, "lfm2c-cache", "1");
	cache_key_add(&k, "version", "%s", LFM2C_VERSION);
	cache_key_add(&k, "lfm2c-binary", "%016" PRIx64, cache_file_hash("/proc/self/exe"));
	cache_key_add(&k, "llvm", "%u.%u.%u", maj, min, pat);
	cache_key_add(&k, "config", "%016" PRIx64, ck->config_hash);
	cache_key_add(&k, "model", "%016" PRIx64, ck->model_hash);   /* config + every tensor's hash */
	static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
	                                        "generation_config.json"};
	for (int i = 0; i < 4; i++) {
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", a->model_dir, tok_files[i]);
		cache_key_add(&k, tok_files[i], "%016" PRIx64, cache_file_hash(path));
	}
	cache_key_add(&k, "backend", "%s", a->backend_c ? "c" : "llvm");
	cache_key_add(&k, "emit", "%s", build_emit_names[a->emit]);
	cache_key_add(&k, "embed", "%d", a->embed);
	cache_key_add(&k, "symbol", "%s", a->symbol);
	if (a->emit == EMIT_LIB)
		cache_key_add(&k, "lib-prefix", "%s", a->lib_prefix ? a->lib_prefix : LIB_DEFAULT_PREFIX);
	cache_key_add(&k, "triple", "%s", t->triple);
	cache_key_add(&k, "cpu", "%s", t->cpu);
	cache_key_add(&k, "features", "%s", t->features);
	char sched[8192];
	cache_key_add(&k, "schedule", "\n%s", schedule_key_text(a->schedule, sched, sizeof sched));
	/* the tiles as derived from the machine model (host: its cache sizes
	 * too) and the schedule: what the generated code follows */
	cache_key_add(&k, "tiling", "%s", tiling_key_text(tiling, sched, sizeof sched));
	cache_key_add(&k, "LFM2C_CFLAGS", "%s", getenv("LFM2C_CFLAGS") ? getenv("LFM2C_CFLAGS") : "");
	if (needs_cc(a)) {
		cache_key_add(&k, "cc", "%s", cc);
		cache_key_add(&k, "cc-version", "%s", cc_version);
	}
	if (verbose)
		fprintf(stderr, "lfm2c: cache key text:\n%.*s", (int)k.len, k.text);
	return cache_key_hash(&k);
}

/* Blob progress: bytes written -> overall percent 12..60. */
static void blob_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress_percent(ctx, 12 + (int)(48.0 * (double)done / (double)(total ? total : 1)));
}

/* ------------------------------------------------------------ compile */

static int try_cache(uint64_t key, Stage *st, LfmError *err)
{
	static char names[MAX_OUTPUTS][128];
	int n = cache_fetch(key, st->root, names, MAX_OUTPUTS, err);
	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++)
		if (!stage_file(st, names[i], 1, err))
			return -1;
	return n;
}

static void store_cache(uint64_t key, const Stage *st)
{
	static char names[MAX_OUTPUTS][128];
	int n = 0;
	for (int i = 0; i < st->n; i++)
		if (st->keep[i])
			snprintf(names[n++], sizeof names[0], "%s", st->rel[i]);
	cache_store(key, st->root, names, n);
}

typedef struct CompileJob {
	const BuildRequest *a;
	const OutDir *od;
	int err_fd;               /* the child's error line goes here: a pipe, not
	                             a file, so a full disk cannot lose it */
} CompileJob;

/* The whole compile into the stage; runs in the supervised child, so it
 * may be killed at any instant: it never touches OUT.  Sends its error
 * line to the parent (job->err_fd); returns the exit status. */
static int compile_to_stage(void *ctx)
{
	CompileJob *job = ctx;
	const BuildRequest a = *job->a;
	PassOptions po = {.schedule = a.schedule, .warn = stderr};
	LfmError err = {{0}};
	Progress pr;
	progress_init(&pr);
	if (a.quiet)
		pr.tty = 0;
	Target t;
	Checkpoint ck;
	Graph g;
	Stage st;
	int have_ck = 0, have_g = 0, have_stage = 0, rc = 1, cached = 0;
	uint64_t blob_hash = 0, key = 0;
	char cc[256];
	void *tok_bytes = NULL;
	size_t tok_n = 0;

	if (stage_open(&st, job->od, &err))
		goto fail;
	have_stage = 1;
	if (target_resolve(&t, a.triple, a.cpu, a.features, &err))
		goto fail;
	/* the tiles from the machine model, checked once: a schedule the code
	 * generator cannot follow fails before any work */
	Machine mc;
	machine_derive(&mc, &t, a.sysfs_root);
	Tiling tiling;
	if (codegen_plan(a.schedule, a.schedule_path, &mc, &tiling, &err))
		goto fail;
	choose_cc(&a, &t, cc, sizeof cc);
	char cc_version[256] = "";
	if (needs_cc(&a) && !in_path(cc)) {
		lfm_error(&err, NULL, "--emit %s for %s needs the C compiler %s, which is not installed "
		          "(use --emit obj, or --cc)", build_emit_names[a.emit], t.triple, cc);
		goto fail;
	}
	if (needs_cc(&a)) {
		char *vargv[] = {cc, "--version", NULL};
		if (run_in(NULL, vargv, 0, -1, cc_version, sizeof cc_version))
			snprintf(cc_version, sizeof cc_version, "unknown");
	}
	LibTools tools;
	if (find_lib_tools(&a, cc, &tools, &err))
		goto fail;
	progress_stage(&pr, "reading checkpoint", 0);
	if (lfm_checkpoint_open(a.model_dir, &ck, stderr, &err))
		goto fail;
	have_ck = 1;
	/* the tokenizer first: its errors (a vocabulary bigger than the model's,
	 * ids out of range) come before minutes of work */
	if (lfm_tokenizer_build(a.model_dir, &tok_bytes, &tok_n, &err) < 0)
		goto fail;
	if (!a.no_cache) {
		key = compute_key(&a, &t, &tiling, &ck, cc, cc_version, a.verbose);
		int n = try_cache(key, &st, &err);
		if (n < 0)
			goto fail;
		cached = n > 0;
	}
	if (!cached) {
		progress_stage(&pr, "building graph", 10);
		if (passes_build_graph(&ck, &po, &g, &err))
			goto fail;
		have_g = 1;
		progress_stage(&pr, "writing weights", 12);
		const char *blob = stage_file(&st, "weights.bin", !a.embed, &err);
		if (!blob || blob_write(&g, blob, &blob_hash, blob_progress, &pr, &err))
			goto fail;
		if (a.embed && a.emit != EMIT_LIB) {
			progress_stage(&pr, "embedding weights", 60);
			if (emit_embedded(&a, &t, &st, blob, &err))
				goto fail;
		}
		progress_stage(&pr, a.backend_c ? "generating C" : "generating code (LLVM)", 65);
		if ((a.emit == EMIT_LIB && stage_mkdir(&st, "lib", &err))
		    || emit_model(&a, &t, &tiling, &g, &ck, blob_hash, &st, &err) || write_runtime(&a, &st, &t, &err)
		    || compile_model_c(&a, &t, cc, &st, &err) || write_tokenizer(tok_bytes, tok_n, &st, &err))
			goto fail;
		if (a.emit == EMIT_EXE) {
			progress_stage(&pr, "linking", 85);
			if (!stage_file(&st, "lfm2-run", 1, &err) || cc_link(&a, cc, cc_version, &t, &st, &err))
				goto fail;
		} else if (a.emit == EMIT_LIB) {
			progress_stage(&pr, "archiving", 85);
			if (build_library(&a, cc, cc_version, &tools, &t, &ck, blob_hash, blob, tok_bytes != NULL, &st, &err))
				goto fail;
		}
		if (!a.no_cache) {
			progress_stage(&pr, "storing in the cache", 95);
			store_cache(key, &st);
		}
	}
	progress_stage(&pr, "finishing", 98);
	char summary[1200];
	if (cached)
		snprintf(summary, sizeof summary, "lfm2c: cache hit: reused the outputs of an identical earlier compile "
		         "(key %016" PRIx64 "; --no-cache rebuilds)", key);
	else
		snprintf(summary, sizeof summary, "lfm2c: compiled %s -> %s/%s (%s backend, %s, cpu %s; %s %.1f MiB, "
		         "blob hash %016" PRIx64 ") in %.1f s",
		         a.model_dir, a.out_dir, a.emit == EMIT_EXE ? "lfm2-run" : a.emit == EMIT_LIB ? "libmodel.a" : "",
		         a.backend_c ? "C" : "LLVM",
		         t.triple, t.cpu, a.embed ? "embedded weights" : "weights.bin",
		         (double)g.blob_bytes / 1048576.0, blob_hash, progress_elapsed(&pr));
	if (stage_finish(&st, summary, &err))
		goto fail;
	progress_done(&pr);
	rc = 0;
	goto done;
fail:
	progress_done(&pr);
	if (have_stage)
		stage_rename_in_message(&st, &err);
	if (lfm_io_write(job->err_fd, err.msg, strlen(err.msg)))
		lfm_fail("%s", err.msg);   /* the pipe is gone: say it here */
done:
	if (have_stage)
		stage_close(&st);
	if (have_g)
		ir_free(&g);
	if (have_ck)
		lfm_checkpoint_close(&ck);
	free(tok_bytes);
	return rc;
}

/* What the child left in STAGE_RESULT: the summary line and the names of
 * the files to keep. */
static int read_result(const OutDir *od, char *summary, size_t n, char names[][OUTDIR_NAME_MAX], int *count,
                       LfmError *err)
{
	char path[1500];
	snprintf(path, sizeof path, "%s/%s", od->stage, STAGE_RESULT);
	FILE *f = fopen(path, "r");
	if (!f)
		return lfm_error(err, od->out, "the compile left no result: %s", strerror(errno));
	char line[1200];
	*count = 0;
	summary[0] = 0;
	for (int i = 0; fgets(line, sizeof line, f); i++) {
		line[strcspn(line, "\n")] = 0;
		if (i == 0)
			snprintf(summary, n, "%s", line);
		else if (*count < OUTDIR_MAX_FILES)
			snprintf(names[(*count)++], OUTDIR_NAME_MAX, "%.127s", line);
	}
	fclose(f);
	return 0;
}

/* The child's error line, from the pipe (it has exited: whatever it wrote
 * is there) into err. */
static void read_error(int fd, const OutDir *od, int status, LfmError *err)
{
	char line[sizeof err->msg];
	ssize_t n = read(fd, line, sizeof line - 1);
	if (n > 0) {
		line[n] = 0;
		line[strcspn(line, "\n")] = 0;
		snprintf(err->msg, sizeof err->msg, "%s", line);
	} else {
		lfm_error(err, od->out, "the compile stopped (exit %d) without saying why (see the lines above)", status);
	}
}

int build_model(const BuildRequest *r, BuildResult *res, LfmError *err)
{
	memset(res, 0, sizeof *res);
	OutDir od;
	if (outdir_begin(&od, r->out_dir, err))
		return 1;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK)) {
		lfm_error(err, NULL, "compile: cannot start: %s", strerror(errno));
		outdir_end(&od);
		return 1;
	}
	CompileJob job = {r, &od, pipefd[1]};
	Supervision sv;
	int rc = 1;
	int started = supervise(compile_to_stage, &job, &sv) == 0;
	close(pipefd[1]);
	if (!started) {
		lfm_error(err, NULL, "compile: cannot start: %s", strerror(errno));
	} else if (sv.interrupted) {
		lfm_error(err, NULL, "compile: interrupted (SIG%s); %s %s", sigabbrev_np(sv.interrupted), r->out_dir,
		          od.out_existed ? "left as it was" : "not created");
		rc = 130;
	} else if (sv.crashed) {
		lfm_error(err, NULL, "compile: internal error: the compiler died of %s; %s %s", strsignal(sv.crashed),
		          r->out_dir, od.out_existed ? "left as it was" : "not created");
	} else if (sv.exit_status) {
		read_error(pipefd[0], &od, sv.exit_status, err);
	} else {
		static char names[OUTDIR_MAX_FILES][OUTDIR_NAME_MAX];
		int n = 0;
		if (!read_result(&od, res->summary, sizeof res->summary, names, &n, err) && !outdir_commit(&od, names, n, err)) {
			res->cached = !strncmp(res->summary, "lfm2c: cache hit", 16);
			rc = 0;
		}
	}
	close(pipefd[0]);
	outdir_end(&od);
	supervise_release(&sv);
	return rc;
}

int build_explain(const BuildRequest *r, FILE *out, LfmError *err)
{
	Target t;
	if (target_resolve(&t, r->triple, r->cpu, r->features, err))
		return -1;
	Machine mc;
	machine_derive(&mc, &t, r->sysfs_root);
	if (codegen_explain(r->schedule, r->schedule_path, &t, &mc, out, err))
		return -1;
	if (fflush(out) == EOF || ferror(out))
		return lfm_error(err, NULL, "explain: cannot write the explanation: %s", strerror(errno));
	return 0;
}
