/*
 * measure.c — compile, validate and time one schedule variant (measure.h).
 *
 * Everything runs as child processes: `lfm2c compile` (this executable,
 * /proc/self/exe) and the lfm2-run it builds.  That keeps a variant exactly
 * what a user would get from the command line, keeps a crash of generated
 * code out of this process, and makes "a fresh process per timed run"
 * literal.  A child's stdout goes to /dev/null (lfm2-run prints token ids
 * there); its stderr is captured, because the facts are there: compile's
 * one-line result or error, lfm2-run's timing line.
 *
 * Cold weights: before every timed run the blob is written back
 * (fdatasync: DONTNEED skips dirty pages) and dropped from the page cache
 * with posix_fadvise(POSIX_FADV_DONTNEED); mincore on a fresh mapping then
 * says how much stayed resident (pages mapped by another process stay), so
 * the report can state the claim with a number rather than assume it.
 *
 * Accuracy is measured like npycmp (max |got - want| / max |want| over
 * every logit of every position) plus mean KL divergence of the softmax
 * distributions and top-1 agreement, in double, against the f32 build.
 * With --eval-text the KLD and top-1 are the text's, as the builds' own
 * `lfm2-run --perplexity --kld` reports them (measure_text): the f32
 * build writes the base .kld, each variant is compared with it; lfm2-run
 * prints its figures on stdout, so that run's stdout goes to a file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cjson/cJSON.h>

#include "cache.h"
#include "build.h"
#include "fileio.h"
#include "lfm2rt.h"
#include "measure.h"
#include "formats.h"
#include "target.h"

/* ------------------------------------------------------------ processes */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

const char *measure_self_exe(void)
{
	static char path[4096];
	if (!path[0]) {
		ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
		if (n <= 0)
			snprintf(path, sizeof path, "lfm2c");
		else
			path[n] = 0;
	}
	return path;
}

static void print_argv(char *const argv[])
{
	fputs("+", stderr);
	for (int i = 0; argv[i]; i++) {
		size_t n = strlen(argv[i]);
		if (n > 120)   /* 512 token ids */
			fprintf(stderr, " %.60s...(%zu chars)", argv[i], n);
		else
			fprintf(stderr, " %s", argv[i]);
	}
	fputc('\n', stderr);
}

/* Runs argv with stdout on /dev/null (or the file out_path) and stderr
 * captured (the last cap-1 bytes) into errbuf; *wall is the elapsed time.
 * Returns the exit status, 128 + signal when killed, -1 when it could not
 * be started. */
static int run_child_to(char *const argv[], const char *out_path, bool verbose, char *errbuf, size_t cap,
                        double *wall)
{
	if (verbose)
		print_argv(argv);
	int fds[2];
	errbuf[0] = 0;
	if (pipe(fds))
		return -1;
	fflush(stdout);
	fflush(stderr);
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : open("/dev/null", O_WRONLY);
		if (out >= 0)
			dup2(out, 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	char buf[4096];
	ssize_t k;
	while ((k = read(fds[0], buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < k; i++) {
			if (n + 1 >= cap) {   /* keep the tail: drop the oldest half */
				memmove(errbuf, errbuf + cap / 2, n - cap / 2);
				n -= cap / 2;
			}
			errbuf[n++] = buf[i];
		}
	}
	errbuf[n] = 0;
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	*wall = now_s() - t0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int run_child(char *const argv[], bool verbose, char *errbuf, size_t cap, double *wall)
{
	return run_child_to(argv, NULL, verbose, errbuf, cap, wall);
}

/* The last non-empty line of text, without a "lfm2c: " / "lfm2-run: " prefix. */
static void last_line(const char *text, char *out, size_t cap)
{
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	size_t b = n;
	while (b && text[b - 1] != '\n')
		b--;
	const char *s = text + b;
	size_t len = n - b;
	static const char *const prefixes[] = {"lfm2c: ", "lfm2-run: "};
	for (int i = 0; i < 2; i++) {
		size_t pl = strlen(prefixes[i]);
		if (len >= pl && !strncmp(s, prefixes[i], pl)) {
			s += pl;
			len -= pl;
		}
	}
	snprintf(out, cap, "%.*s", (int)len, s);
	if (!*out)
		snprintf(out, cap, "no message");
}

/* ------------------------------------------------------------ model, sequences */

void measure_default_opts(MeasureOpts *o)
{
	memset(o, 0, sizeof *o);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o->threads = cpus >= 1 ? (cpus > 1024 ? 1024 : (int)cpus) : 1;
	o->runs = 3;
	o->prefill = 512;
	o->decode = 128;
	o->seqs = 2;
	o->seq_len = 32;
}

static int int_value(const char *cmd, const char *flag, const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s)
		return lfm_fail("%s: %s needs a value", cmd, flag);
	if (!*s || *end || errno || v < lo || v > hi)
		return lfm_fail("%s: %s takes an integer in %ld..%ld (got '%s')", cmd, flag, lo, hi, s);
	*out = (int)v;
	return 0;
}

int measure_common_arg(MeasureOpts *o, const char *cmd, int argc, char **argv, int *i)
{
	static const struct {
		const char *flag;
		size_t off;
		long lo, hi;
	} ints[] = {
		{"--threads", offsetof(MeasureOpts, threads), 1, 1024},
		{"--runs", offsetof(MeasureOpts, runs), 1, MEASURE_MAX_RUNS},
		{"--prefill", offsetof(MeasureOpts, prefill), 1, 1 << 20},
		{"--decode", offsetof(MeasureOpts, decode), 1, 1 << 20},
		{"--seqs", offsetof(MeasureOpts, seqs), 1, MEASURE_MAX_SEQS},
		{"--len", offsetof(MeasureOpts, seq_len), 1, 1 << 16},
	};
	const char *s = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
		if (!strcmp(s, ints[k].flag)) {
			if (int_value(cmd, s, val, ints[k].lo, ints[k].hi, (int *)((char *)o + ints[k].off)))
				return -1;
			++*i;
			return 1;
		}
	int te = eval_text_arg(&o->eval, cmd, argc, argv, i);
	if (te)
		return te;
	if (!strcmp(s, "--backend")) {
		if (!val || (strcmp(val, "llvm") && strcmp(val, "c"))) {
			lfm_fail("%s: --backend takes llvm or c (got '%s')", cmd, val ? val : "nothing");
			return -1;
		}
		o->backend = val;
		++*i;
		return 1;
	}
	if (!strcmp(s, "--mmap"))
		o->use_mmap = true;
	else if (!strcmp(s, "-v"))
		o->verbose = true;
	else
		return 0;
	return 1;
}

int measure_prepare(MeasureOpts *o, ModelInfo *mi, LfmError *err)
{
	memset(mi, 0, sizeof *mi);
	Checkpoint ck;
	if (lfm_checkpoint_open(o->model, &ck, NULL, err))
		return -1;
	mi->vocab = ck.cfg.vocab_size;
	mi->bos = ck.cfg.bos_id;
	mi->max_pos = ck.cfg.max_position_embeddings;
	mi->hash = ck.model_hash;
	lfm_checkpoint_close(&ck);
	o->vocab = mi->vocab;
	if (mi->max_pos > 0) {
		if (o->prefill + 1 > mi->max_pos)
			return lfm_error(err, NULL, "--prefill %d: the model holds %d positions", o->prefill, mi->max_pos);
		if (o->decode + 1 > mi->max_pos)
			return lfm_error(err, NULL, "--decode %d: the model holds %d positions", o->decode, mi->max_pos);
		if (o->seq_len > mi->max_pos)
			return lfm_error(err, NULL, "--len %d: the model holds %d positions", o->seq_len, mi->max_pos);
	}
	if (eval_text_check(&o->eval, err))
		return -1;
	if (o->eval.path) {
		lfm2_eval_plan plan;
		if (eval_text_plan(&o->eval, o->model, mi->max_pos, &plan, &mi->text_tokens, err)) {
			char why[sizeof err->msg];
			snprintf(why, sizeof why, "%s", err->msg);
			return lfm_error(err, NULL, "--eval-text %s", why);
		}
		mi->text_hash = plan.hash;
		mi->text_ctx = plan.ctx;
		mi->text_chunks = plan.chunks;
		mi->text_predictions = plan.chunks * plan.scored;
		lfm2_eval_plan_free(&plan);
	}
	Target t;
	if (target_resolve(&t, NULL, NULL, NULL, err))
		return -1;
	char desc[400], feat[200];
	target_describe(&t, desc, sizeof desc);
	target_feature_summary(&t, feat, sizeof feat);
	snprintf(mi->target, sizeof mi->target, "%s (%s)", desc, feat);
	return 0;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int measure_seqs(ValSeqs *s, int n, int len, int vocab, int bos)
{
	memset(s, 0, sizeof *s);
	uint64_t state = 1;
	s->vocab = vocab;
	for (int i = 0; i < n && i < MEASURE_MAX_SEQS; i++) {
		s->tok[i] = malloc((size_t)len * sizeof *s->tok[i]);
		if (!s->tok[i]) {
			measure_seqs_free(s);
			return -1;
		}
		s->len[i] = len;
		s->tok[i][0] = bos >= 0 && bos < vocab ? bos : 0;
		for (int j = 1; j < len; j++)
			s->tok[i][j] = (int32_t)(splitmix64(&state) % (uint64_t)vocab);
		s->n++;
	}
	return 0;
}

void measure_seqs_free(ValSeqs *s)
{
	for (int i = 0; i < MEASURE_MAX_SEQS; i++)
		free(s->tok[i]);
	memset(s, 0, sizeof *s);
}

/* "a,b,c" of n ids (malloc'd). */
static char *id_list(const int32_t *tok, int n)
{
	char *s = malloc((size_t)n * 12 + 1);
	if (!s)
		return NULL;
	size_t at = 0;
	for (int i = 0; i < n; i++)
		at += (size_t)sprintf(s + at, i ? ",%d" : "%d", (int)tok[i]);
	s[at] = 0;
	return s;
}

/* ------------------------------------------------------------ compile */

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

int measure_compile(const MeasureOpts *o, const Schedule *s, const char *label, const char *out_dir, Build *b,
                    LfmError *err)
{
	memset(b, 0, sizeof *b);
	snprintf(b->dir, sizeof b->dir, "%s", out_dir);
	BuildRequest r = {.model_dir = o->model, .out_dir = out_dir, .backend_c = o->backend && !strcmp(o->backend, "c"),
	                  .emit = EMIT_EXE, .no_cache = o->no_cache, .symbol = "lfm2_model", .verbose = o->verbose,
	                  .quiet = 1, .schedule = s, .schedule_path = label};
	BuildResult res;
	LfmError berr = {{0}};
	double t0 = now_s();
	int rc = build_model(&r, &res, &berr);
	b->compile_s = now_s() - t0;
	if (rc)
		return lfm_error(err, label, "compile failed: %s", berr.msg);
	b->cached = res.cached;
	char path[1200];
	snprintf(path, sizeof path, "%s/weights.bin", out_dir);
	b->blob_bytes = file_size(path);
	uint64_t parts[2];
	snprintf(path, sizeof path, "%s/model.h", out_dir);   /* holds the blob's hash */
	parts[0] = cache_file_hash(path);
	snprintf(path, sizeof path, "%s/lfm2-run", out_dir);
	b->code_bytes = file_size(path);
	parts[1] = cache_file_hash(path);
	if (!b->code_bytes || !b->blob_bytes)
		return lfm_error(err, label, "compile left no lfm2-run and weights.bin in %s", out_dir);
	CacheKey key = {{0}, 0};
	cache_key_add(&key, "artifact", "%016" PRIx64 " %016" PRIx64, parts[0], parts[1]);
	b->artifact_hash = cache_key_hash(&key);
	return 0;
}

/* ------------------------------------------------------------ logits */

static void add_run_flags(char **argv, int *k, const MeasureOpts *o, char *tbuf, size_t tcap)
{
	snprintf(tbuf, tcap, "%d", o->threads);
	argv[(*k)++] = "-t";
	argv[(*k)++] = tbuf;
	argv[(*k)++] = o->use_mmap ? "--mmap" : "--no-mmap";
}

int measure_logits(const MeasureOpts *o, const Build *b, const ValSeqs *s, ValLogits *out, LfmError *err)
{
	memset(out, 0, sizeof *out);
	char exe[1200];
	snprintf(exe, sizeof exe, "%s/lfm2-run", b->dir);
	for (int i = 0; i < s->n; i++) {
		char npy[1200], tb[16], log[4096], msg[1024];
		snprintf(npy, sizeof npy, "%s/val-%d.npy", b->dir, i);
		char *ids = id_list(s->tok[i], s->len[i]);
		if (!ids)
			return lfm_error(err, NULL, "out of memory");
		char *argv[16];
		int k = 0;
		argv[k++] = exe;
		argv[k++] = "--tokens";
		argv[k++] = ids;
		argv[k++] = "--logits";
		argv[k++] = npy;
		add_run_flags(argv, &k, o, tb, sizeof tb);
		argv[k] = NULL;
		double wall;
		int rc = run_child(argv, o->verbose, log, sizeof log, &wall);
		free(ids);
		if (rc) {
			last_line(log, msg, sizeof msg);
			return lfm_error(err, exe, "computing logits failed (exit %d): %s", rc, msg);
		}
		lfm2_err e;
		int64_t rows, cols;
		out->v[i] = lfm2_npy_read(npy, &rows, &cols, &e);
		unlink(npy);
		if (!out->v[i])
			return lfm_error(err, npy, "%s", e.msg);
		if (rows != s->len[i] || cols != s->vocab)
			return lfm_error(err, npy, "logits of shape [%" PRId64 ", %" PRId64 "], expected [%d, %d]", rows,
			                 cols, s->len[i], s->vocab);
	}
	return 0;
}

void measure_logits_free(ValLogits *l, int n)
{
	for (int i = 0; i < n && i < MEASURE_MAX_SEQS; i++) {
		free(l->v[i]);
		l->v[i] = NULL;
	}
}

/* log-sum-exp of one row, in double */
static double log_sum_exp(const float *x, int n, double *max_out, int *argmax)
{
	double m = -INFINITY;
	int am = 0;
	for (int i = 0; i < n; i++)
		if (x[i] > m) {
			m = x[i];
			am = i;
		}
	double s = 0;
	for (int i = 0; i < n; i++)
		s += exp((double)x[i] - m);
	*max_out = m;
	*argmax = am;
	return m + log(s);
}

void measure_compare(const ValSeqs *s, const ValLogits *ref, const ValLogits *var, Accuracy *a)
{
	double max_err = 0, max_ref = 0, kld = 0;
	long positions = 0, agree = 0;
	a->finite = true;
	int V = s->vocab;
	for (int i = 0; i < s->n; i++)
		for (int p = 0; p < s->len[i]; p++) {
			const float *r = ref->v[i] + (size_t)p * V, *v = var->v[i] + (size_t)p * V;
			for (int j = 0; j < V; j++) {
				if (!isfinite(v[j]))
					a->finite = false;
				double e = fabs((double)v[j] - (double)r[j]);
				if (e > max_err || isnan(e))
					max_err = isnan(e) ? INFINITY : e;
				if (fabs((double)r[j]) > max_ref)
					max_ref = fabs((double)r[j]);
			}
			double mr, mv;
			int ar, av;
			double lr = log_sum_exp(r, V, &mr, &ar), lv = log_sum_exp(v, V, &mv, &av);
			double k = 0;
			for (int j = 0; j < V; j++) {
				double lpr = (double)r[j] - lr, lpv = (double)v[j] - lv;
				k += exp(lpr) * (lpr - lpv);
			}
			kld += k;
			agree += ar == av;
			positions++;
		}
	a->max_rel = max_ref > 0 ? max_err / max_ref : max_err;
	a->kld_mean = positions ? kld / (double)positions : 0;
	a->top1 = positions ? (double)agree / (double)positions : 1;
	if (!a->finite) {
		a->max_rel = INFINITY;
		a->kld_mean = INFINITY;
	}
	if (a->kld_mean < 0)   /* rounding of an exact match */
		a->kld_mean = 0;
}

/* ------------------------------------------------------------ the text */

/* The number after " key=" in lfm2-run's result line; false if absent. */
static bool result_number(const char *line, const char *key, double *v)
{
	char pat[48];
	snprintf(pat, sizeof pat, " %s=", key);
	const char *at = strstr(line, pat);
	if (!at)
		return false;
	char *end;
	*v = strtod(at + strlen(pat), &end);
	return end != at + strlen(pat);
}

/* Reads the "result: ..." line of a --perplexity run's stdout. */
static int parse_text_result(const char *path, bool compared, TextResult *t, LfmError *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return lfm_error(err, path, "cannot read: %s", strerror(errno));
	char line[2048];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = !strncmp(line, "result: ", 8);
	fclose(f);
	if (!found)
		return lfm_error(err, path, "no result line in lfm2-run --perplexity's output");
	line[strcspn(line, "\n")] = 0;
	double ctx, chunks, pred;
	bool ok = result_number(line, "ctx", &ctx) && result_number(line, "chunks", &chunks)
	          && result_number(line, "predictions", &pred) && result_number(line, "ppl", &t->ppl)
	          && result_number(line, "ppl_err", &t->ppl_err);
	t->ctx = (int)ctx;
	t->chunks = (int)chunks;
	t->predictions = (int)pred;
	t->compared = compared;
	if (ok && compared)
		ok = result_number(line, "kld", &t->kld) && result_number(line, "kld_err", &t->kld_err)
		     && result_number(line, "kld_p99", &t->kld_p99) && result_number(line, "kld_max", &t->kld_max)
		     && result_number(line, "top1", &t->top1) && result_number(line, "dppl", &t->dppl)
		     && result_number(line, "dppl_err", &t->dppl_err);
	return ok ? 0 : lfm_error(err, path, "an incomplete result line: %s", line);
}

int measure_text(const MeasureOpts *o, const ModelInfo *mi, const Build *b, const char *kld, bool write_base,
                 TextResult *t, LfmError *err)
{
	char exe[1200], out[1200], cb[16], kb[16], tb[16], log[4096], msg[1024];
	snprintf(exe, sizeof exe, "%s/lfm2-run", b->dir);
	snprintf(out, sizeof out, "%s/perplexity.out", b->dir);
	snprintf(cb, sizeof cb, "%d", mi->text_ctx);
	snprintf(kb, sizeof kb, "%d", mi->text_chunks);
	char *argv[20];
	int k = 0;
	argv[k++] = exe;
	argv[k++] = "--perplexity";
	argv[k++] = (char *)o->eval.path;
	if (write_base) {   /* the chunks measure_prepare cut; a --kld run takes them from the file */
		argv[k++] = "-c";
		argv[k++] = cb;
		argv[k++] = "--chunks";
		argv[k++] = kb;
	}
	argv[k++] = write_base ? "--kld-base" : "--kld";
	argv[k++] = (char *)kld;
	add_run_flags(argv, &k, o, tb, sizeof tb);
	argv[k] = NULL;
	double wall;
	int rc = run_child_to(argv, out, o->verbose, log, sizeof log, &wall);
	if (rc) {
		unlink(out);
		last_line(log, msg, sizeof msg);
		return lfm_error(err, exe, "--perplexity failed (exit %d): %s", rc, msg);
	}
	rc = parse_text_result(out, !write_base, t, err);
	unlink(out);
	if (!rc && (t->ctx != mi->text_ctx || t->chunks != mi->text_chunks || t->predictions != mi->text_predictions))
		return lfm_error(err, exe, "--perplexity scored %d chunks of %d (%d predictions), expected %d of %d", t->chunks,
		                 t->ctx, t->predictions, mi->text_chunks, mi->text_ctx);
	return rc;
}

void measure_text_apply(Accuracy *a, const TextResult *t)
{
	a->text = true;
	a->seq_kld_mean = a->kld_mean;
	a->seq_top1 = a->top1;
	a->kld_mean = t->kld;
	a->top1 = t->top1;
	a->kld_err = t->kld_err;
	a->kld_p99 = t->kld_p99;
	a->kld_max = t->kld_max;
	a->ppl = t->ppl;
	a->ppl_err = t->ppl_err;
	a->dppl = t->dppl;
	a->dppl_err = t->dppl_err;
}

/* ------------------------------------------------------------ timing */

int measure_evict(const char *path, double *resident, LfmError *err)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return lfm_error(err, path, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return lfm_error(err, path, "cannot stat: %s", strerror(errno));
	}
	if (fdatasync(fd) && errno != EINVAL) {
		close(fd);
		return lfm_error(err, path, "fdatasync failed: %s", strerror(errno));
	}
	int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (rc) {
		close(fd);
		return lfm_error(err, path, "posix_fadvise(DONTNEED) failed: %s", strerror(rc));
	}
	*resident = 0;
	size_t size = (size_t)st.st_size;
	if (size) {
		long page = sysconf(_SC_PAGESIZE);
		size_t pages = (size + (size_t)page - 1) / (size_t)page;
		void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		unsigned char *vec = map != MAP_FAILED ? malloc(pages) : NULL;
		if (vec && !mincore(map, size, vec)) {
			size_t in = 0;
			for (size_t i = 0; i < pages; i++)
				in += vec[i] & 1;
			*resident = (double)in / (double)pages;
		}
		free(vec);
		if (map != MAP_FAILED)
			munmap(map, size);
	}
	close(fd);
	return 0;
}

/* lfm2-run's line: "load T s (MODE), prefill N tokens T s (R tok/s), decode N tokens T s (R tok/s), ..." */
static int parse_timing(const char *log, double *load, int *np, double *prefill, long *nd, double *decode)
{
	const char *s = strstr(log, "lfm2-run: load ");
	while (s) {
		double pt, dt;
		if (sscanf(s, "lfm2-run: load %lf s (%*[^)]), prefill %d tokens %lf s (%lf tok/s), decode %ld tokens "
		              "%lf s (%lf tok/s)", load, np, &pt, prefill, nd, &dt, decode) == 7)
			return 0;
		s = strstr(s + 1, "lfm2-run: load ");
	}
	return -1;
}

static int timed_run(const MeasureOpts *o, const Build *b, const char *ids, int n_predict, double *load,
                     double *prefill, double *decode, double *resident, LfmError *err)
{
	char exe[1200], blob[1200], tb[16], nb[16], cb[16], log[4096], msg[1024];
	snprintf(exe, sizeof exe, "%s/lfm2-run", b->dir);
	snprintf(blob, sizeof blob, "%s/weights.bin", b->dir);
	if (measure_evict(blob, resident, err))
		return -1;
	snprintf(nb, sizeof nb, "%d", n_predict);
	snprintf(cb, sizeof cb, "%d", o->prefill > 1 ? o->prefill : 1);
	char *argv[20];
	int k = 0;
	argv[k++] = exe;
	argv[k++] = "--tokens";
	argv[k++] = (char *)ids;
	argv[k++] = "-n";
	argv[k++] = nb;
	argv[k++] = "--ignore-eos";
	argv[k++] = "--chunk";
	argv[k++] = cb;
	add_run_flags(argv, &k, o, tb, sizeof tb);
	argv[k] = NULL;
	double wall;
	int rc = run_child(argv, o->verbose, log, sizeof log, &wall);
	if (rc) {
		last_line(log, msg, sizeof msg);
		return lfm_error(err, exe, "timed run failed (exit %d): %s", rc, msg);
	}
	int np;
	long nd;
	if (parse_timing(log, load, &np, prefill, &nd, decode))
		return lfm_error(err, exe, "no timing line in its output");
	if (n_predict > 1 && nd != n_predict - 1)
		return lfm_error(err, exe, "decoded %ld tokens, expected %d", nd, n_predict - 1);
	return 0;
}

int measure_time_once(const MeasureOpts *o, const Build *b, Timing *t, LfmError *err)
{
	if (t->n >= MEASURE_MAX_RUNS)
		return lfm_error(err, NULL, "too many runs (at most %d)", MEASURE_MAX_RUNS);
	/* prefill: one prompt of P tokens (ids 1..P, wrapped to the vocabulary), in one chunk */
	int P = o->prefill, V = o->vocab > 1 ? o->vocab : 2;
	int32_t *tok = malloc((size_t)(P > 1 ? P : 1) * sizeof *tok);
	if (!tok)
		return lfm_error(err, NULL, "out of memory");
	for (int i = 0; i < P; i++)
		tok[i] = 1 + i % (V - 1);
	char *ids = id_list(tok, P);
	free(tok);
	if (!ids)
		return lfm_error(err, NULL, "out of memory");
	double load, pf, dc, res1 = 0, res2 = 0, load2, pf2;
	int rc = timed_run(o, b, ids, 1, &load, &pf, &dc, &res1, err);
	free(ids);
	/* decode: D tokens after a one-token prompt */
	if (!rc)
		rc = timed_run(o, b, "1", o->decode + 1, &load2, &pf2, &dc, &res2, err);
	if (rc)
		return -1;
	t->prefill[t->n] = pf;
	t->decode[t->n] = dc;
	t->load[t->n] = load;
	t->n++;
	if (res1 > t->resident_max)
		t->resident_max = res1;
	if (res2 > t->resident_max)
		t->resident_max = res2;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double measure_median(const double *v, int n)
{
	if (n <= 0)
		return NAN;
	double tmp[MEASURE_MAX_RUNS];
	if (n > MEASURE_MAX_RUNS)
		n = MEASURE_MAX_RUNS;
	memcpy(tmp, v, (size_t)n * sizeof *tmp);
	qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
	return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

/* ------------------------------------------------------------ schedules, files */

void measure_reference(Schedule *s)
{
	schedule_defaults(s);
	s->default_format = DT_F32;
	memset(&s->fusions, 0, sizeof s->fusions);
}

int measure_compile_text(const MeasureOpts *o, const char *json, const char *label, const char *out_dir, Build *b,
                         LfmError *err)
{
	Schedule s;
	if (schedule_parse(json, strlen(json), label, &s, err))
		return -1;
	int rc = measure_compile(o, &s, label, out_dir, b, err);
	schedule_free(&s);
	return rc;
}

int measure_write_file(const char *path, const char *text, size_t len, LfmError *err)
{
	char tmp[1200];
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return lfm_error(err, path, "cannot create: %s", strerror(errno));
	int e = lfm_io_fwrite(f, text, len), c = lfm_io_fclose(f);
	if (!e)
		e = c;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		unlink(tmp);
		return lfm_error(err, path, "write failed: %s", lfm_io_reason(e));
	}
	return 0;
}

int measure_mkdir(const char *path, LfmError *err)
{
	struct stat st;
	if (!stat(path, &st)) {
		if (!S_ISDIR(st.st_mode))
			return lfm_error(err, path, "exists and is not a directory");
		return 0;
	}
	if (mkdir(path, 0777))
		return lfm_error(err, path, "cannot create directory: %s", strerror(errno));
	return 0;
}

void measure_rmtree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[4096];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			struct stat st;
			if (!lstat(sub, &st) && S_ISDIR(st.st_mode))
				measure_rmtree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}
