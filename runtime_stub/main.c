/*
 * main.c — `lfm2-run`, the inference program lfm2c builds for one model.
 *
 * It is compiled together with the generated model code, which defines the
 * model symbol (`lfm2_model`, or whatever -DLFM2_MODEL_SYMBOL=name says).
 * Token ids in, token ids out: tokenization lives elsewhere.
 *
 *   lfm2-run --tokens 1,6,6423 -n 32       greedy continuation, ids on stdout
 *   lfm2-run --tokens ... --logits out.npy teacher-forced logits of every
 *                                          position, [n_tokens, vocab] float32
 *
 * Flow: parse and validate every flag against the model's sizes (so bad
 * input fails before seconds of weight loading), load and verify the
 * weights, create pool + session + sampler, prefill the prompt in chunks,
 * then sample / print / feed back one token at a time until eos or -n.
 * The eos token, when generated, is printed (like llama.cpp) and ends the
 * run.  Timings go to stderr as one line.
 *
 * Exit status: 0 ok, 1 runtime failure (weights file, memory, I/O),
 * 2 bad command line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lfm2rt.h"

#ifndef LFM2_MODEL_SYMBOL
#define LFM2_MODEL_SYMBOL lfm2_model
#endif
extern const lfm2_model_info LFM2_MODEL_SYMBOL;
static const lfm2_model_info *const model = &LFM2_MODEL_SYMBOL;

#define DEFAULT_N 32
#define DEFAULT_CHUNK 128
#define DEFAULT_MAX_CTX 4096

struct options {
	const char *weights;       /* NULL: weights.bin next to the executable */
	int32_t *tokens;
	int32_t n_tokens;
	long n_predict;
	long threads;
	long ctx;                  /* 0: automatic */
	long chunk;
	lfm2_sampler_params sp;
	int seed_given;
	const char *logits_path;
	int use_mmap;
	int ignore_eos;          /* --ignore-eos: generate exactly -n tokens */
};

/* ----------------------------------------------------------------- errors */

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("lfm2-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void usage(FILE *f)
{
	lfm2_sampler_params d = lfm2_sampler_default_params();
	fprintf(f,
	        "usage: lfm2-run --tokens ID,ID,... [options]\n"
	        "model: %s (vocab %d, max_position %d, target %s)\n\n"
	        "  -m FILE             weights blob (default: weights.bin next to this program)\n"
	        "  --tokens IDS        prompt token ids, comma separated (required)\n"
	        "  -n N                tokens to generate, stops early at eos %d (default %d)\n"
	        "  -t N                threads (default: online CPUs)\n"
	        "  -c N                context length (default: min(max_position, %d), at least prompt+n)\n"
	        "  --chunk N           prompt tokens per forward call (default %d)\n"
	        "  --temp X            temperature, 0 = greedy (default 0)\n"
	        "  --top-k K           0 = off (default %d)\n"
	        "  --top-p P           in (0,1], 1 = off (default %.2f)\n"
	        "  --min-p P           in [0,1], 0 = off (default %.2f)\n"
	        "  --repeat-penalty R  1 = off (default %.2f)\n"
	        "  --repeat-last-n N   penalty window, 0 = off, -1 = all (default %d)\n"
	        "  -s SEED             sampling seed (default: random, printed)\n"
	        "  --logits FILE.npy   write the logits of every prompt position and exit\n"
	        "  --ignore-eos        keep generating after eos (for benchmarks)\n"
	        "  --mmap, --no-mmap   map the weights file instead of reading it (default: read)\n"
	        "Generated ids go to stdout as one comma-separated line (eos included);\n"
	        "timings go to stderr.  Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
	        model->name ? model->name : "?", model->vocab_size, model->max_position,
	        model->target ? model->target : "?", model->eos_id, DEFAULT_N, DEFAULT_MAX_CTX,
	        DEFAULT_CHUNK, d.top_k, d.top_p, d.min_p, d.repeat_penalty, d.repeat_last_n);
}

/* -------------------------------------------------------- flag parsing */

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
		return fail(2, "%s: expected an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
	*out = v;
	return 0;
}

static int parse_float(const char *flag, const char *s, float *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno || !isfinite(v))
		return fail(2, "%s: expected a number, got '%s'", flag, s);
	*out = (float)v;
	return 0;
}

static int parse_tokens(const char *s, struct options *o)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	o->tokens = malloc(cap * sizeof *o->tokens);
	if (!o->tokens)
		return fail(1, "out of memory");
	o->n_tokens = 0;
	const char *p = s;
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		int32_t i = o->n_tokens;
		if (end == p || (*end != ',' && *end != '\0') || errno)
			return fail(2, "--tokens: token %d is not a number: '%.*s'", (int)i,
			            (int)strcspn(p, ","), p);
		if (v < 0 || v >= model->vocab_size)
			return fail(2, "--tokens: token %d (value %ld) is out of range [0, %d)", (int)i, v,
			            model->vocab_size);
		o->tokens[o->n_tokens++] = (int32_t)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* Splits "--flag=value"; otherwise the value is the next argument. */
static int take_value(int argc, char **argv, int *i, const char *flag, const char **value)
{
	const char *eq = strchr(argv[*i], '=');
	if (eq && argv[*i][0] == '-' && argv[*i][1] == '-') {
		*value = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return fail(2, "%s: missing value", flag);
	*value = argv[++*i];
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	long v;
	for (int i = 1; i < argc; i++) {
		char flag[64];
		const char *a = argv[i], *val = NULL;
		size_t flen = strcspn(a, "=");
		if (a[0] != '-' || a[1] != '-')
			flen = strlen(a);
		if (flen >= sizeof flag)
			return fail(2, "unknown option '%s' (see --help)", a);
		memcpy(flag, a, flen);
		flag[flen] = 0;
#define VALUE() do { if (take_value(argc, argv, &i, flag, &val)) return 2; } while (0)
#define NUM(lo, hi, dst) do { VALUE(); if (parse_long(flag, val, lo, hi, &v)) return 2; dst = (int32_t)v; } while (0)
#define REAL(dst) do { VALUE(); if (parse_float(flag, val, &dst)) return 2; } while (0)
		if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(flag, "-m")) {
			VALUE();
			o->weights = val;
		} else if (!strcmp(flag, "--tokens")) {
			VALUE();
			free(o->tokens);
			int rc = parse_tokens(val, o);
			if (rc)
				return rc;
		} else if (!strcmp(flag, "-n")) {
			NUM(0, INT32_MAX, o->n_predict);
		} else if (!strcmp(flag, "-t")) {
			NUM(1, 1024, o->threads);
		} else if (!strcmp(flag, "-c")) {
			NUM(1, INT32_MAX, o->ctx);
		} else if (!strcmp(flag, "--chunk")) {
			NUM(1, INT32_MAX, o->chunk);
		} else if (!strcmp(flag, "--temp")) {
			REAL(o->sp.temperature);
		} else if (!strcmp(flag, "--top-k")) {
			NUM(0, INT32_MAX, o->sp.top_k);
		} else if (!strcmp(flag, "--top-p")) {
			REAL(o->sp.top_p);
		} else if (!strcmp(flag, "--min-p")) {
			REAL(o->sp.min_p);
		} else if (!strcmp(flag, "--repeat-penalty")) {
			REAL(o->sp.repeat_penalty);
		} else if (!strcmp(flag, "--repeat-last-n")) {
			NUM(-1, INT32_MAX, o->sp.repeat_last_n);
		} else if (!strcmp(flag, "-s")) {
			VALUE();
			char *end;
			errno = 0;
			unsigned long long s = strtoull(val, &end, 10);
			if (*val == '\0' || *val == '-' || *end || errno)
				return fail(2, "-s: expected a non-negative integer, got '%s'", val);
			o->sp.seed = s;
			o->seed_given = 1;
		} else if (!strcmp(flag, "--logits")) {
			VALUE();
			o->logits_path = val;
		} else if (!strcmp(flag, "--ignore-eos")) {
			o->ignore_eos = 1;
		} else if (!strcmp(flag, "--mmap")) {
			o->use_mmap = 1;
		} else if (!strcmp(flag, "--no-mmap")) {
			o->use_mmap = 0;
		} else {
			return fail(2, "unknown option '%s' (see --help)", a);
		}
#undef VALUE
#undef NUM
#undef REAL
	}
	return 0;
}

/* Range checks that need more than one flag or the model's sizes. */
static int check_options(struct options *o)
{
	if (!o->tokens)
		return fail(2, "--tokens is required (see --help)");
	if (o->sp.temperature < 0)
		return fail(2, "--temp: must be >= 0, got %g", o->sp.temperature);
	if (!(o->sp.top_p > 0 && o->sp.top_p <= 1))
		return fail(2, "--top-p: must be in (0, 1], got %g", o->sp.top_p);
	if (!(o->sp.min_p >= 0 && o->sp.min_p <= 1))
		return fail(2, "--min-p: must be in [0, 1], got %g", o->sp.min_p);
	if (!(o->sp.repeat_penalty > 0))
		return fail(2, "--repeat-penalty: must be > 0, got %g", o->sp.repeat_penalty);
	long need = o->n_tokens + (o->logits_path ? 0 : o->n_predict);
	if (o->ctx && o->ctx < need)
		return fail(2, "-c %ld is too small: %d prompt tokens + %ld to generate need %ld", o->ctx,
		            (int)o->n_tokens, o->logits_path ? 0L : o->n_predict, need);
	if (need > INT32_MAX)
		return fail(2, "-n %ld: prompt + generated tokens exceed %d", o->n_predict, INT32_MAX);
	if (!o->ctx) {
		long def = model->max_position > 0 && model->max_position < DEFAULT_MAX_CTX
		                   ? model->max_position : DEFAULT_MAX_CTX;
		o->ctx = need > def ? need : def;
	}
	if (model->max_position > 0 && need > model->max_position)
		fprintf(stderr, "lfm2-run: warning: %ld positions exceed the model's max_position %d\n",
		        need, model->max_position);
	return 0;
}

/* weights.bin in the directory of /proc/self/exe, else in the cwd. */
static char *default_weights_path(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return strdup("weights.bin");
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return strdup("weights.bin");
	slash[1] = 0;
	size_t len = strlen(exe) + sizeof "weights.bin";
	char *path = malloc(len);
	if (path)
		snprintf(path, len, "%sweights.bin", exe);
	return path;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rate(long n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

/* ------------------------------------------------------------------ runs */

static int run_logits(struct options *o, lfm2_session *s, double load_s, const char *mode)
{
	lfm2_err err;
	size_t n = (size_t)o->n_tokens * (size_t)model->vocab_size;
	float *logits = malloc(n * sizeof *logits);
	if (!logits)
		return fail(1, "cannot allocate %zu logits", n);
	double t0 = now();
	if (lfm2_session_eval(s, o->tokens, o->n_tokens, logits, 1, &err) != 0) {
		free(logits);
		return fail(1, "%s", err.msg);
	}
	double t1 = now();
	int rc = lfm2_npy_write(o->logits_path, logits, o->n_tokens, model->vocab_size, &err);
	free(logits);
	if (rc != 0)
		return fail(1, "%s", err.msg);
	fprintf(stderr, "lfm2-run: load %.3f s (%s), forward %d tokens %.3f s (%.2f tok/s), threads %ld, ctx %ld\n",
	        load_s, mode, (int)o->n_tokens, t1 - t0, rate(o->n_tokens, t1 - t0), o->threads, o->ctx);
	return 0;
}

static int run_generate(struct options *o, lfm2_session *s, double load_s, const char *mode)
{
	lfm2_err err;
	float *logits = malloc((size_t)model->vocab_size * sizeof *logits);
	lfm2_sampler *smp = logits ? lfm2_sampler_create(&o->sp, model->vocab_size, &err) : NULL;
	if (!smp) {
		free(logits);
		return fail(1, "%s", logits ? err.msg : "out of memory");
	}
	int rc = 0;
	for (int32_t i = 0; i < o->n_tokens; i++)
		lfm2_sampler_accept(smp, o->tokens[i]);
	double t0 = now();
	if (lfm2_session_eval(s, o->tokens, o->n_tokens, logits, 0, &err) != 0) {
		rc = fail(1, "%s", err.msg);
		goto out;
	}
	double prefill_s = now() - t0, decode_s = 0;
	long decoded = 0;
	for (long i = 0; i < o->n_predict; i++) {
		int32_t tok = lfm2_sampler_sample(smp, logits);
		lfm2_sampler_accept(smp, tok);
		printf(i ? ",%d" : "%d", (int)tok);
		fflush(stdout);
		if ((tok == model->eos_id && !o->ignore_eos) || i + 1 == o->n_predict)
			break;
		double t = now();
		if (lfm2_session_eval(s, &tok, 1, logits, 0, &err) != 0) {
			putchar('\n');
			rc = fail(1, "%s", err.msg);
			goto out;
		}
		decode_s += now() - t;
		decoded++;
	}
	putchar('\n');
	if (fflush(stdout) != 0 || ferror(stdout)) {
		rc = fail(1, "error writing to stdout: %s", strerror(errno));
		goto out;
	}
	fprintf(stderr, "lfm2-run: load %.3f s (%s), prefill %d tokens %.3f s (%.2f tok/s), "
	        "decode %ld tokens %.3f s (%.2f tok/s), threads %ld, ctx %ld",
	        load_s, mode, (int)o->n_tokens, prefill_s, rate(o->n_tokens, prefill_s), decoded,
	        decode_s, rate(decoded, decode_s), o->threads, o->ctx);
	if (o->sp.temperature > 0)
		fprintf(stderr, ", seed %" PRIu64, o->sp.seed);
	fputc('\n', stderr);
out:
	lfm2_sampler_free(smp);
	free(logits);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {.n_predict = DEFAULT_N, .chunk = DEFAULT_CHUNK, .sp = lfm2_sampler_default_params()};
	o.sp.temperature = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o.threads = cpus >= 1 ? (cpus > 1024 ? 1024 : cpus) : 1;

	int rc = parse_args(argc, argv, &o);
	if (rc == 0)
		rc = check_options(&o);
	if (rc != 0) {
		free(o.tokens);
		return rc;
	}
	if (!o.seed_given)
		o.sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	char *default_path = o.weights ? NULL : default_weights_path();
	const char *path = o.weights ? o.weights : default_path;
	lfm2_err err;
	lfm2_weights *w = NULL;
	lfm2_pool *pool = NULL;
	lfm2_session *s = NULL;
	double t0 = now();
	if (!path) {
		rc = fail(1, "out of memory");
		goto out;
	}
	w = lfm2_weights_open(path, model, o.use_mmap ? LFM2_WEIGHTS_MMAP : LFM2_WEIGHTS_READ, &err);
	if (!w) {
		rc = fail(1, "%s", err.msg);
		goto out;
	}
	double load_s = now() - t0;
	pool = lfm2_pool_create((int)o.threads, &err);
	s = pool ? lfm2_session_create(model, w, (int32_t)o.ctx, (int32_t)o.chunk, pool, &err) : NULL;
	if (!s) {
		rc = fail(1, "%s", err.msg);
		goto out;
	}
	const char *mode = lfm2_weights_mode_name(w);
	rc = o.logits_path ? run_logits(&o, s, load_s, mode) : run_generate(&o, s, load_s, mode);
out:
	lfm2_session_free(s);
	lfm2_pool_destroy(pool);
	lfm2_weights_close(w);
	free(default_path);
	free(o.tokens);
	return rc;
}
