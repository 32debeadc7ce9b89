/*
 * test_cli_text.c — lfm2-run in text, end to end, on the trained tiny model
 * compiled by lfm2c (the ctest fixture cli_setup: OUT = lfm2-run,
 * weights.bin, tokenizer.bin written by `lfm2c tokenize --write-table`).
 *
 * The program under test runs as a child process; what it prints is
 * compared with values that do not come from it:
 *   - data/expected.json (gen_expected.mjs): prompt ids and texts from
 *     tokenizers.js, chat renderings from @huggingface/jinja with the
 *     model's template, greedy continuations from the f64 numpy oracle;
 *   - literal strings (the ChatML format of specs/lfm2.md §10, the README ids);
 *   - lfm2-run's own token-id mode (--tokens) with explicit sampling flags,
 *     which the runtime tests check against the sampler library, for the
 *     sampling defaults, eos handling and the interactive session;
 *   - `lfm2c tokenize` for --tokenize/--detokenize.
 *
 * usage: test_cli_text CASE OUT_DIR REPO_ROOT LFM2C TMP_DIR
 * CASE: greedy chat tokenize detokenize interactive json errors defaults eos
 *       gencfg write_table
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "lfm2_tokenizer.h"
#include "tokenizer.h"

static const char *out_dir, *root, *lfm2c, *tmp;
static char exe[1200], model_dir[1200];
#define DIE(...) do { fprintf(stderr, "%s:%d: fatal: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
	fputc('\n', stderr); exit(1); } while (0)

/* ------------------------------------------------------------ helpers */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		DIE("cannot read %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			DIE("out of memory");
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void spit(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		DIE("cannot write %s", path);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s;
	if (vasprintf(&s, f, ap) < 0)
		DIE("out of memory");
	va_end(ap);
	return s;
}

/* The result of running a program. */
typedef struct Run {
	int status;
	char *out, *err;
	size_t out_len;
} Run;

static void run_free(Run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs argv[0] with argv, stdin from `input` (NULL: empty). */
static Run run_v(const char *input, const char *const *argv)
{
	char *pi = fmt("%s/stdin.txt", tmp), *po = fmt("%s/stdout.txt", tmp), *pe = fmt("%s/stderr.txt", tmp);
	spit(pi, input ? input : "", input ? strlen(input) : 0);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork: %s", strerror(errno));
	if (pid == 0) {
		int fi = open(pi, O_RDONLY), fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644),
		    fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(99);
		execv(argv[0], (char *const *)argv);
		_exit(98);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		DIE("waitpid");
	Run r;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(po, &r.out_len);
	r.err = slurp(pe, NULL);
	free(pi);
	free(po);
	free(pe);
	return r;
}

/* run(input, program, args..., NULL) */
static Run run(const char *input, const char *prog, ...)
{
	const char *argv[64];
	int n = 0;
	argv[n++] = prog;
	va_list ap;
	va_start(ap, prog);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_v(input, argv);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Exit status and a single "lfm2-run: ...needle..." line, nothing on
 * stdout.  Frees the run. */
static void expect_error(Run r, int status, const char *needle, const char *what)
{
	CHECK(r.status == status, "%s: exit %d, want %d (stderr: %s)", what, r.status, status, r.err);
	CHECK(r.out_len == 0, "%s: stdout not empty: %.200s", what, r.out);
	CHECK(count_lines(r.err) == 1 && !strncmp(r.err, "lfm2-run: ", 10) && strstr(r.err, needle),
	      "%s: stderr '%s' should be one line containing '%s'", what, r.err, needle);
	run_free(&r);
}

/* Growable id list. */
typedef struct Ids {
	int32_t *v;
	size_t n, cap;
} Ids;

static void ids_push(Ids *l, int32_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			DIE("out of memory");
	}
	l->v[l->n++] = x;
}

static void ids_append(Ids *l, const int32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ids_push(l, v[i]);
}

static Ids ids_parse(const char *s)
{
	Ids l = {0};
	while (*s && *s != '\n') {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			DIE("bad id list at '%.40s'", s);
		ids_push(&l, (int32_t)v);
		s = end;
		if (*s == ',')
			s++;
	}
	return l;
}

static char *ids_str(const int32_t *v, size_t n)
{
	size_t cap = 12 * n + 2, len = 0;
	char *s = malloc(cap);
	if (!s)
		DIE("out of memory");
	s[0] = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, i ? ",%d" : "%d", (int)v[i]);
	return s;
}

static bool ids_eq(const Ids *a, const int32_t *b, size_t n)
{
	return a->n == n && (n == 0 || memcmp(a->v, b, n * sizeof *b) == 0);
}

/* The k-th (0-based) "lfm2-run: WHAT (n): ids" line of a stderr text. */
static Ids stderr_ids(const char *err, const char *what, int k)
{
	char *key = fmt("lfm2-run: %s (", what);
	const char *p = err;
	for (int i = 0; i <= k; i++) {
		p = strstr(p, key);
		if (!p)
			DIE("no %d-th '%s' line in stderr:\n%s", k, key, err);
		if (i < k)
			p += strlen(key);
	}
	free(key);
	const char *colon = strstr(p, "):");
	if (!colon)
		DIE("malformed ids line");
	colon += 2;
	while (*colon == ' ')
		colon++;
	return ids_parse(colon);
}

static int count_occurrences(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ----------------------------------------------------- fixtures and tokens */

static cJSON *expected;
static lfm2_tokenizer *tok;

static void load_expected(void)
{
	char *path = fmt("%s/tests/cli/data/expected.json", root);
	char *text = slurp(path, NULL);
	expected = cJSON_Parse(text);
	if (!expected)
		DIE("%s: malformed JSON", path);
	free(text);
	free(path);
}

static void load_tokenizer(void)
{
	char *path = fmt("%s/tokenizer.bin", out_dir), err[512];
	size_t n;
	char *bytes = slurp(path, &n);
	if (lfm2_tokenizer_open(bytes, n, &tok, err, sizeof err) != 0)
		DIE("%s: %s", path, err);
	free(bytes);
	free(path);
}

static Ids json_ids(const cJSON *o, const char *key)
{
	Ids l = {0};
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *x;
	if (!cJSON_IsArray(a))
		DIE("expected.json: %s is not an array", key);
	cJSON_ArrayForEach(x, a) ids_push(&l, (int32_t)x->valueint);
	return l;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static Ids encode(const char *text, unsigned flags)
{
	int32_t *v;
	size_t n;
	if (lfm2_tokenizer_encode(tok, text, strlen(text), flags, &v, &n) != 0)
		DIE("encode: out of memory");
	Ids l = {v, n, n};
	return l;
}

static char *decode(const int32_t *v, size_t n)
{
	char *text, err[256];
	size_t len;
	if (lfm2_tokenizer_decode(tok, v, n, 0, &text, &len, err, sizeof err) != 0)
		DIE("decode: %s", err);
	return text;
}

/* The ChatML rendering of specs/lfm2.md §10, written out here independently of
 * the runtime's renderer: [system], then alternating user/assistant turns,
 * then the generation prompt. */
static char *chatml(const char *system, const char *const *turns, int n_turns)
{
	char *s = fmt("<|startoftext|>");
	if (system) {
		char *t = fmt("%s<|im_start|>system\n%s<|im_end|>\n", s, system);
		free(s);
		s = t;
	}
	for (int i = 0; i < n_turns; i++) {
		char *t = fmt("%s<|im_start|>%s\n%s<|im_end|>\n", s, i % 2 ? "assistant" : "user", turns[i]);
		free(s);
		s = t;
	}
	char *t = fmt("%s<|im_start|>assistant\n", s);
	free(s);
	return t;
}

/* ---------------------------------------------------------------- greedy */

/* Raw greedy continuations == the oracle's, printed after the prompt. */
static void test_greedy(void)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(expected, "raw")) {
		const char *prompt = json_str(c, "prompt"), *text = json_str(c, "text");
		Ids pids = json_ids(c, "prompt_ids"), gids = json_ids(c, "ids");
		char *n = fmt("%zu", gids.n);
		char *dec = decode(gids.v, gids.n);
		CHECK(!strcmp(dec, text), "%s: runtime decode of the oracle ids != tokenizers.js text", prompt);
		Ids enc = encode(prompt, LFM2_ENCODE_ADD_SPECIAL);
		CHECK(ids_eq(&enc, pids.v, pids.n), "%s: runtime encode != tokenizers.js ids", prompt);

		Run r = run(NULL, exe, "-p", prompt, "--raw", "--temp", "0", "-n", n, "--verbose-prompt", NULL);
		char *want = fmt("%s%s\n", prompt, text);
		CHECK(r.status == 0, "%s: exit %d: %s", prompt, r.status, r.err);
		CHECK(!strcmp(r.out, want), "%s: stdout\n'%s'\nwant\n'%s'", prompt, r.out, want);
		Ids got_p = stderr_ids(r.err, "prompt ids", 0), got_g = stderr_ids(r.err, "generated ids", 0);
		CHECK(ids_eq(&got_p, pids.v, pids.n), "%s: prompt ids %s", prompt, ids_str(got_p.v, got_p.n));
		CHECK(ids_eq(&got_g, gids.v, gids.n), "%s: generated ids %s", prompt, ids_str(got_g.v, got_g.n));
		CHECK(strstr(r.err, "time to first token") && strstr(r.err, "tok/s") && strstr(r.err, "stop length"),
		      "%s: timing summary missing: %s", prompt, r.err);
		char *pre = fmt("prefill %zu tokens", pids.n);
		CHECK(strstr(r.err, pre) != NULL, "%s: no '%s' in %s", prompt, pre, r.err);
		run_free(&r);

		/* no echo; one thread and one-token chunks give the same text */
		r = run(NULL, exe, "-p", prompt, "--raw", "--temp", "0", "-n", n, "--no-display-prompt", "-t", "1",
		        "--chunk", "1", NULL);
		char *want2 = fmt("%s\n", text);
		CHECK(r.status == 0 && !strcmp(r.out, want2), "%s --no-display-prompt: '%s'", prompt, r.out);
		run_free(&r);
		free(want);
		free(want2);
		free(pre);
		free(dec);
		free(n);
		free(enc.v);
		free(pids.v);
		free(gids.v);
		free(got_p.v);
		free(got_g.v);
	}
	/* the README's ids, literally */
	Run r = run(NULL, exe, "-p", "This program is free software", "--raw", "-n", "0", "--verbose-prompt", NULL);
	Ids p = stderr_ids(r.err, "prompt ids", 0);
	char *s = ids_str(p.v, p.n);
	CHECK(!strcmp(s, "1,1650,1049,335,1206,813"), "README prompt ids: %s", s);
	CHECK(r.status == 0 && !strcmp(r.out, "This program is free software\n"), "-n 0: '%s'", r.out);
	free(s);
	free(p.v);
	run_free(&r);
}

/* ------------------------------------------------------------------ chat */

static void test_chat(void)
{
	const cJSON *c;
	int k = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(expected, "chat")) {
		const char *system = json_str(c, "system"), *user = json_str(c, "user"), *text = json_str(c, "text");
		Ids pids = json_ids(c, "prompt_ids"), gids = json_ids(c, "ids");
		/* the expected rendering is the ChatML of specs/lfm2.md §10 */
		char *lit = chatml(system, &user, 1);
		CHECK(!strcmp(lit, json_str(c, "rendered")), "case %d: jinja rendering != ChatML literal", k);
		char *n = fmt("%zu", gids.n);
		const char *argv[16] = {exe, "-p", user, "--temp", "0", "-n", n, "--verbose-prompt"};
		int a = 8;
		if (system) {
			argv[a++] = "--system";
			argv[a++] = system;
		}
		argv[a] = NULL;
		Run r = run_v(NULL, argv);
		CHECK(r.status == 0, "case %d: exit %d: %s", k, r.status, r.err);
		Ids got_p = stderr_ids(r.err, "prompt ids", 0), got_g = stderr_ids(r.err, "generated ids", 0);
		CHECK(ids_eq(&got_p, pids.v, pids.n), "case %d: prompt ids %s", k, ids_str(got_p.v, got_p.n));
		CHECK(ids_eq(&got_g, gids.v, gids.n), "case %d: generated ids %s", k, ids_str(got_g.v, got_g.n));
		char *want = fmt("%s\n", text);
		CHECK(!strcmp(r.out, want), "case %d: stdout '%s' want '%s'", k, r.out, want);
		run_free(&r);

		/* -f FILE (with a final newline, which is dropped) feeds the same ids */
		char *path = fmt("%s/prompt%d.txt", tmp, k);
		char *content = fmt("%s\n", user);
		spit(path, content, strlen(content));
		argv[1] = "-f";
		argv[2] = path;
		r = run_v(NULL, argv);
		Ids got_f = stderr_ids(r.err, "prompt ids", 0);
		CHECK(r.status == 0 && ids_eq(&got_f, pids.v, pids.n) && !strcmp(r.out, want), "case %d: -f differs", k);
		run_free(&r);
		free(got_f.v);
		free(path);
		free(content);
		free(want);
		free(lit);
		free(n);
		free(pids.v);
		free(gids.v);
		free(got_p.v);
		free(got_g.v);
		k++;
	}
	/* default sampling with a seed: reproducible, and the text is the ids' text */
	Run a = run(NULL, exe, "-p", "What is free software?", "-s", "7", "-n", "40", "--verbose-prompt", NULL);
	Run b = run(NULL, exe, "-p", "What is free software?", "-s", "7", "-n", "40", NULL);
	Ids g = stderr_ids(a.err, "generated ids", 0);
	char *text = decode(g.v, g.n);
	char *want = fmt("%s\n", text);
	CHECK(a.status == 0 && b.status == 0 && !strcmp(a.out, b.out) && !strcmp(a.out, want),
	      "seeded chat: runs differ or text != decode(ids)");
	CHECK(strstr(a.err, "seed 7") != NULL, "seeded chat: seed not reported: %s", a.err);
	free(text);
	free(want);
	free(g.v);
	run_free(&a);
	run_free(&b);
}

/* -------------------------------------------------------- (de)tokenize */

static void test_tokenize(void)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(expected, "tokenize")) {
		const char *text = json_str(c, "text");
		Ids ids = json_ids(c, "ids");
		char *list = ids_str(ids.v, ids.n), *want = fmt("%s\n", list);
		free(list);
		Run r = run(NULL, exe, "--tokenize", text, NULL);
		CHECK(r.status == 0 && !strcmp(r.out, want) && !r.err[0], "--tokenize '%s': '%s' want '%s' (%s)", text,
		      r.out, want, r.err);
		run_free(&r);
		r = run(NULL, lfm2c, "tokenize", model_dir, "--", text, NULL);
		CHECK(r.status == 0 && !strcmp(r.out, want), "lfm2c tokenize '%s': '%s'", text, r.out);
		run_free(&r);
		free(want);
		free(ids.v);
	}
	Run r = run(NULL, exe, "--tokenize", "This program is free software", NULL);
	CHECK(!strcmp(r.out, "1,1650,1049,335,1206,813\n"), "README ids: %s", r.out);
	run_free(&r);
	/* --tokenize loads no weights: it works without weights.bin */
	r = run(NULL, exe, "--tokenize", "Debian", "-m", "/nonexistent/weights.bin", NULL);
	CHECK(r.status == 0 && !strcmp(r.out, "1,1679,678\n"), "--tokenize without weights: %d %s", r.status, r.err);
	run_free(&r);
}

static void test_detokenize(void)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(expected, "tokenize")) {
		const char *text = json_str(c, "text");
		Ids ids = json_ids(c, "ids");
		char *list = ids_str(ids.v, ids.n), *want = fmt("<|startoftext|>%s\n", text);
		Run r = run(NULL, exe, "--detokenize", list, NULL);
		CHECK(r.status == 0 && !strcmp(r.out, want), "--detokenize %s: '%s' want '%s'", list, r.out, want);
		run_free(&r);
		r = run(NULL, lfm2c, "tokenize", model_dir, "--decode", list, NULL);
		CHECK(r.status == 0 && !strcmp(r.out, want), "lfm2c tokenize --decode %s: '%s'", list, r.out);
		run_free(&r);
		/* round trip through lfm2-run alone */
		r = run(NULL, exe, "--tokenize", text, NULL);
		r.out[strcspn(r.out, "\n")] = 0;
		Run back = run(NULL, exe, "--detokenize", r.out, NULL);
		CHECK(back.status == 0 && !strcmp(back.out, want), "round trip '%s': '%s'", text, back.out);
		run_free(&r);
		run_free(&back);
		free(list);
		free(want);
		free(ids.v);
	}
	Run r = run(NULL, exe, "--detokenize", "1, 1650,1049 ,335", NULL);
	CHECK(r.status == 0 && !strcmp(r.out, "<|startoftext|>This program is\n"), "spaces: '%s'", r.out);
	run_free(&r);
	r = run(NULL, exe, "--detokenize", "7,24,6", NULL);
	CHECK(r.status == 0 && !strcmp(r.out, "<|im_end|>\n<|im_start|>\n"), "specials: '%s'", r.out);
	run_free(&r);
	/* a byte-level piece alone decodes lossily (U+FFFD), like tokenizers */
	expect_error(run(NULL, exe, "--detokenize", "1,x", NULL), 2, "--detokenize: token 1 is not a number", "1,x");
	expect_error(run(NULL, exe, "--detokenize", "1,2048", NULL), 2, "token 1 (value 2048) is not in the vocabulary",
	             "2048");
	expect_error(run(NULL, exe, "--detokenize", "-3", NULL), 2, "is not in the vocabulary", "-3");
	expect_error(run(NULL, exe, "--detokenize", "1,", NULL), 2, "token 1 is not a number", "1,");
}

/* ------------------------------------------------------------- interactive */

/* What one -i run printed: per turn, the ids fed and generated. */
typedef struct Turns {
	int n;
	Ids fed[8], gen[8];
} Turns;

static Turns turns_of(const Run *r)
{
	Turns t;
	memset(&t, 0, sizeof t);
	t.n = count_occurrences(r->err, "lfm2-run: prompt ids (");
	if (t.n > 8 || t.n != count_occurrences(r->err, "lfm2-run: generated ids ("))
		DIE("interactive: %d prompt lines, generated lines differ:\n%s", t.n, r->err);
	for (int i = 0; i < t.n; i++) {
		t.fed[i] = stderr_ids(r->err, "prompt ids", i);
		t.gen[i] = stderr_ids(r->err, "generated ids", i);
	}
	return t;
}

static void turns_free(Turns *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->fed[i].v);
		free(t->gen[i].v);
	}
}

/* The reply ids without a final eos. */
static size_t reply_len(const Ids *g)
{
	return g->n && g->v[g->n - 1] == 7 ? g->n - 1 : g->n;
}

/* Checks a whole interactive run against the conversation it had: the ids
 * fed over all turns + the model's replies == the ChatML rendering of the
 * whole conversation, tokenized; stdout == the replies. */
static void check_session(const char *what, const Run *r, const Turns *t, const char *system,
                          const char *const *users)
{
	const char *turns[16];
	char *replies[8];
	char *out = fmt("%s", "");
	for (int i = 0; i < t->n; i++) {
		size_t k = reply_len(&t->gen[i]);
		replies[i] = decode(t->gen[i].v, k);
		turns[2 * i] = users[i];
		turns[2 * i + 1] = replies[i];
		char *o = fmt("%s%s\n", out, replies[i]);
		free(out);
		out = o;
		if (i > 0)
			CHECK(t->fed[i].n >= 2 && t->fed[i].v[0] == 7 && t->fed[i].v[1] == 24,
			      "%s: turn %d does not start by closing the reply with <|im_end|>\\n", what, i + 1);
	}
	CHECK(!strcmp(r->out, out), "%s: stdout\n'%s'\nwant\n'%s'", what, r->out, out);
	/* the rendering up to the last generation prompt: replies of all but the last turn */
	char *full = chatml(system, turns, 2 * t->n - 1);
	Ids want = encode(full, 0);
	Ids fed = {0};
	for (int i = 0; i < t->n; i++) {
		ids_append(&fed, t->fed[i].v, t->fed[i].n);
		if (i + 1 < t->n)
			ids_append(&fed, t->gen[i].v, reply_len(&t->gen[i]));
	}
	CHECK(ids_eq(&fed, want.v, want.n), "%s: session ids\n%s\n!= tokenized whole conversation\n%s", what,
	      ids_str(fed.v, fed.n), ids_str(want.v, want.n));
	for (int i = 0; i < t->n; i++)
		free(replies[i]);
	free(full);
	free(want.v);
	free(fed.v);
	free(out);
}

static void test_interactive(void)
{
	/* greedy, two piped turns */
	const char *users[] = {"What is GNU?", "And Debian?"};
	Run r = run("What is GNU?\nAnd Debian?\n", exe, "-i", "--temp", "0", "-n", "24", "--verbose-prompt", NULL);
	CHECK(r.status == 0, "-i: exit %d: %s", r.status, r.err);
	Turns t = turns_of(&r);
	CHECK(t.n == 2, "-i: %d turns", t.n);
	if (t.n == 2) {
		check_session("-i greedy", &r, &t, NULL, users);
		char *first = chatml(NULL, users, 1);
		Ids want1 = encode(first, 0);
		CHECK(ids_eq(&t.fed[0], want1.v, want1.n), "-i: first turn ids");
		free(first);
		free(want1.v);
		/* the session after two turns == a fresh run of the whole sequence */
		Ids seq = {0};
		ids_append(&seq, t.fed[0].v, t.fed[0].n);
		ids_append(&seq, t.gen[0].v, reply_len(&t.gen[0]));
		ids_append(&seq, t.fed[1].v, t.fed[1].n);
		char *list = ids_str(seq.v, seq.n);
		Run fresh = run(NULL, exe, "--tokens", list, "-n", "24", "--temp", "0", NULL);
		Ids fg = ids_parse(fresh.out);
		CHECK(fresh.status == 0 && ids_eq(&fg, t.gen[1].v, t.gen[1].n),
		      "-i turn 2 ids %s != fresh run %s", ids_str(t.gen[1].v, t.gen[1].n), fresh.out);
		/* and turn 1 == the one-shot chat */
		Run once = run(NULL, exe, "-p", "What is GNU?", "--temp", "0", "-n", "24", "--verbose-prompt", NULL);
		Ids og = stderr_ids(once.err, "generated ids", 0);
		CHECK(ids_eq(&og, t.gen[0].v, t.gen[0].n), "-i turn 1 != -p");
		/* -p as the first turn of -i */
		Run withp = run("And Debian?\n", exe, "-i", "-p", "What is GNU?", "--temp", "0", "-n", "24", NULL);
		CHECK(withp.status == 0 && !strcmp(withp.out, r.out), "-i -p: '%s' want '%s'", withp.out, r.out);
		run_free(&withp);
		free(og.v);
		run_free(&once);
		free(fg.v);
		run_free(&fresh);
		free(list);
		free(seq.v);
	}
	turns_free(&t);
	run_free(&r);

	/* sampled, with a system message, an empty line, a continued line, /exit */
	const char *users3[] = {"Hello", "multi\nline question", "Tell me about the GPL"};
	const char *input = "Hello\n\nmulti\\\nline question\nTell me about the GPL\n/exit\nnever read\n";
	r = run(input, exe, "-i", "--system", "You are a helpful assistant.", "-s", "11", "-n", "20",
	        "--verbose-prompt", NULL);
	CHECK(r.status == 0, "-i sampled: exit %d: %s", r.status, r.err);
	t = turns_of(&r);
	CHECK(t.n == 3, "-i sampled: %d turns (want 3)", t.n);
	if (t.n == 3)
		check_session("-i sampled", &r, &t, "You are a helpful assistant.", users3);
	CHECK(count_occurrences(r.err, "lfm2-run: turn ") == 3, "-i: per-turn timing lines: %s", r.err);
	turns_free(&t);
	run_free(&r);

	/* --json: one object per turn */
	r = run("What is GNU?\nAnd Debian?\n", exe, "-i", "--temp", "0", "-n", "24", "--json", NULL);
	CHECK(r.status == 0 && count_lines(r.out) == 2, "-i --json: %d lines", count_lines(r.out));
	char *line = r.out;
	for (int i = 0; i < 2 && line && *line; i++) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		cJSON *j = cJSON_Parse(line);
		CHECK(j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "text")), "-i --json line %d: %s", i, line);
		cJSON_Delete(j);
		line = nl ? nl + 1 : NULL;
	}
	run_free(&r);

	/* end of input with nothing said; a context too small for the second turn */
	r = run("", exe, "-i", NULL);
	CHECK(r.status == 0 && r.out_len == 0, "-i with empty input: %d '%s'", r.status, r.out);
	run_free(&r);
	r = run("What is GNU?\nAnd Debian?\nAnd more?\n", exe, "-i", "--temp", "0", "-n", "30", "-c", "60", NULL);
	CHECK(r.status == 2 && strstr(r.err, "the conversation is full: turn 2") && r.out_len > 1,
	      "-i context full: %d '%s'", r.status, r.err);
	run_free(&r);
	expect_error(run("x\n", exe, "-i", "-c", "8", NULL), 2, "does not fit in the context of 8", "-i -c 8");
}

/* ------------------------------------------------------------------ json */

/* Strict check of one --json line: exactly these keys, these types. */
static cJSON *parse_json_line(const Run *r, const char *what)
{
	CHECK(r->status == 0, "%s: exit %d: %s", what, r->status, r->err);
	CHECK(count_lines(r->out) == 1 && r->out_len && r->out[r->out_len - 1] == '\n', "%s: stdout is not one line",
	      what);
	const char *end;
	cJSON *j = cJSON_ParseWithOpts(r->out, &end, 0);
	CHECK(j && cJSON_IsObject(j) && !strcmp(end, "\n"), "%s: not one JSON object: %s", what, r->out);
	if (!j)
		return NULL;
	static const char *const keys[] = {"prompt_tokens", "generated_tokens", "text", "ids", "ttft_ms",
	                                   "prompt_tok_s", "gen_tok_s", "stop"};
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, j) n++;
	CHECK(n == 8, "%s: %d keys", what, n);
	for (int k = 0; k < 8; k++)
		CHECK(cJSON_GetObjectItemCaseSensitive(j, keys[k]) != NULL, "%s: no key %s", what, keys[k]);
	CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "prompt_tokens")) &&
	      cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "generated_tokens")) &&
	      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "text")) &&
	      cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "ids")) &&
	      cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "prompt_tok_s")) &&
	      cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "gen_tok_s")) &&
	      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "stop")), "%s: wrong types", what);
	const char *stop = json_str(j, "stop");
	CHECK(stop && (!strcmp(stop, "eos") || !strcmp(stop, "length")), "%s: stop", what);
	Ids ids = json_ids(j, "ids");
	CHECK((double)ids.n == cJSON_GetObjectItemCaseSensitive(j, "generated_tokens")->valuedouble,
	      "%s: generated_tokens != len(ids)", what);
	free(ids.v);
	return j;
}

static void test_json(void)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(expected, "raw")) {
		const char *prompt = json_str(c, "prompt");
		Ids pids = json_ids(c, "prompt_ids"), gids = json_ids(c, "ids");
		char *n = fmt("%zu", gids.n);
		Run r = run(NULL, exe, "-p", prompt, "--raw", "--temp", "0", "-n", n, "--json", NULL);
		cJSON *j = parse_json_line(&r, prompt);
		if (j) {
			Ids got = json_ids(j, "ids");
			CHECK(!strcmp(json_str(j, "text"), json_str(c, "text")), "%s: json text '%s'", prompt,
			      json_str(j, "text"));
			CHECK(ids_eq(&got, gids.v, gids.n), "%s: json ids", prompt);
			CHECK(cJSON_GetObjectItemCaseSensitive(j, "prompt_tokens")->valuedouble == (double)pids.n,
			      "%s: prompt_tokens", prompt);
			CHECK(!strcmp(json_str(j, "stop"), "length"), "%s: stop", prompt);
			CHECK(cJSON_GetObjectItemCaseSensitive(j, "ttft_ms")->valuedouble > 0 &&
			      cJSON_GetObjectItemCaseSensitive(j, "prompt_tok_s")->valuedouble > 0 &&
			      cJSON_GetObjectItemCaseSensitive(j, "gen_tok_s")->valuedouble > 0, "%s: timings", prompt);
			free(got.v);
		}
		cJSON_Delete(j);
		run_free(&r);
		free(n);
		free(pids.v);
		free(gids.v);
	}
	/* the escaping case really has quotes and backslashes */
	const cJSON *esc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(expected, "raw"), 2);
	const char *t = json_str(esc, "text");
	CHECK(t && strchr(t, '"') && strchr(t, '\\'), "expected.json: raw[2] text has no quote or backslash");

	/* sampled chat: text == decode(ids) */
	Run r = run(NULL, exe, "-p", "What is free software?", "-s", "3", "-n", "50", "--json", NULL);
	cJSON *j = parse_json_line(&r, "sampled chat");
	if (j) {
		Ids got = json_ids(j, "ids");
		char *text = decode(got.v, reply_len(&got));
		CHECK(!strcmp(text, json_str(j, "text")), "sampled chat: text != decode(ids)");
		free(text);
		free(got.v);
	}
	cJSON_Delete(j);
	run_free(&r);
	/* nothing generated */
	r = run(NULL, exe, "-p", "Hi", "-n", "0", "--json", NULL);
	j = parse_json_line(&r, "-n 0");
	if (j) {
		CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "ttft_ms")) && !strcmp(json_str(j, "text"), "") &&
		      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "ids")) == 0, "-n 0 json: %s", r.out);
	}
	cJSON_Delete(j);
	run_free(&r);
}

/* ---------------------------------------------------------------- errors */

static void test_errors(void)
{
	/* a prompt longer than the context: before any weight is loaded */
	expect_error(run(NULL, exe, "-p", "This program is free software", "--raw", "-c", "4", NULL), 2,
	             "the prompt is 6 tokens, longer than the context of 4 tokens", "raw -c 4");
	expect_error(run(NULL, exe, "-p", "What is C. elegans?", "-c", "16", "-m", "/nonexistent", NULL), 2,
	             "the prompt is 20 tokens, longer than the context of 16 tokens", "chat -c 16");
	size_t big = 3000;
	char *longtext = malloc(6 * big + 1);
	for (size_t i = 0; i < big; i++)
		memcpy(longtext + 6 * i, "hello ", 6);
	longtext[6 * big] = 0;
	char *path = fmt("%s/long.txt", tmp);
	spit(path, longtext, strlen(longtext));
	expect_error(run(NULL, exe, "-f", path, "--raw", NULL), 2, "longer than the context of 2048 tokens",
	             "default context");
	free(longtext);

	/* no tokenizer next to the program: text fails, ids work */
	char *notok = fmt("%s/../notok/lfm2-run", out_dir), *notok_bin = fmt("%s/../notok/tokenizer.bin", out_dir);
	char *resolved = realpath(notok, NULL);
	if (!resolved)
		DIE("%s missing (fixture)", notok);
	char *missing = fmt("%.*s/tokenizer.bin", (int)(strrchr(resolved, '/') - resolved), resolved);
	const char *modes[][3] = {{"-p", "hi", NULL}, {"-p", "hi", "--raw"}, {"-i", NULL, NULL},
	                          {"--tokenize", "hi", NULL}, {"--detokenize", "1", NULL}};
	for (int m = 0; m < 5; m++) {
		Run r = run("hello\n", resolved, modes[m][0], modes[m][1], modes[m][2], NULL);
		CHECK(strstr(r.err, missing) && strstr(r.err, "--tokens works without it"),
		      "no-tokenizer message should name %s: %s", missing, r.err);
		expect_error(r, 1, "no tokenizer", modes[m][0]);
	}
	Run a = run(NULL, resolved, "--tokens", "1,1650,1049", "-n", "5", NULL);
	Run b = run(NULL, exe, "--tokens", "1,1650,1049", "-n", "5", NULL);
	CHECK(a.status == 0 && !strcmp(a.out, b.out) && count_lines(a.out) == 1, "--tokens without tokenizer: %s",
	      a.err);
	run_free(&a);
	run_free(&b);
	/* --tokenizer points elsewhere */
	char *tokbin = fmt("%s/tokenizer.bin", out_dir);
	Run r = run(NULL, resolved, "--tokenize", "Debian", "--tokenizer", tokbin, NULL);
	CHECK(r.status == 0 && !strcmp(r.out, "1,1679,678\n"), "--tokenizer FILE: %s", r.err);
	run_free(&r);
	expect_error(run(NULL, exe, "-p", "x", "--tokenizer", "/nonexistent/t.bin", NULL), 1, "/nonexistent/t.bin",
	             "--tokenizer missing");
	/* damaged tables */
	size_t n;
	char *bytes = slurp(tokbin, &n);
	char *bad = fmt("%s/bad.bin", tmp);
	spit(bad, bytes, n / 2);
	expect_error(run(NULL, exe, "-p", "x", "--tokenizer", bad, NULL), 1, "bad.bin: tokenizer table: truncated",
	             "truncated");
	bytes[8] = 1;   /* an older format version */
	spit(bad, bytes, n);
	expect_error(run(NULL, exe, "--tokenize", "x", "--tokenizer", bad, NULL), 1,
	             "format version 1, this runtime reads 2", "version 1");
	spit(bad, "hello", 5);
	expect_error(run(NULL, exe, "--tokenize", "x", "--tokenizer", bad, NULL), 1, "bad.bin: tokenizer table: bad magic",
	             "not a table");
	free(bytes);
	/* a table of a bigger vocabulary than the model's */
	char *tokb = fmt("%s/tests/tokenizer/data/tok-b", root);
	void *tb;
	size_t tn;
	LfmError e;
	if (lfm_tokenizer_build(tokb, &tb, &tn, &e) != 1)
		DIE("%s: %s", tokb, e.msg);
	spit(bad, tb, tn);
	free(tb);
	expect_error(run(NULL, exe, "-p", "x", "--tokenizer", bad, NULL), 1,
	             "the tokenizer has 3279 ids but the model's vocabulary is 2048", "vocab mismatch");

	/* modes that do not go together, bad files */
	struct { const char *a[6]; const char *needle; } usage[] = {
		{{"-p", "x", "--tokens", "1"}, "--tokens cannot be combined with -p"},
		{{"-p", "x", "-f", path}, "-p and -f exclude each other"},
		{{"-i", "--raw"}, "-i is a chat"},
		{{"-p", "x", "--raw", "--system", "s"}, "--system: not with --raw"},
		{{"--tokens", "1", "--json"}, "--json: only with -p, -f or -i"},
		{{"--tokens", "1", "--raw"}, "--raw: only with -p, -f or -i"},
		{{"--tokenize", "x", "-p", "y"}, "--tokenize cannot be combined"},
		{{"--tokenize", "x", "--detokenize", "1"}, "exclude each other"},
		{{"-p", "x", "--logits", "x.npy"}, "--logits: only with --tokens"},
		{{"-p", "x", "--no-display-prompt"}, "--no-display-prompt: only with --raw"},
		{{"-i", "-f", "-"}, "standard input is where -i reads"},
		{{"-n", "3"}, "--tokens is required"},
		{{"-p", "x", "--raw=1"}, "--raw takes no value"},
		{{"-p", "x", "-n", "-2"}, "-n: expected an integer in [-1,"},
		{{"-f", "/nonexistent/prompt.txt"}, "-f /nonexistent/prompt.txt: cannot open"},
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		const char *argv[8] = {exe};
		for (int k = 0; k < 6 && usage[i].a[k]; k++)
			argv[k + 1] = usage[i].a[k];
		expect_error(run_v(NULL, argv), 2, usage[i].needle, usage[i].needle);
	}
	spit(bad, "a\0b", 3);
	expect_error(run(NULL, exe, "-f", bad, NULL), 2, "contains a NUL byte", "NUL");
	/* the help documents the text options and the precedence of defaults */
	r = run(NULL, exe, "--help", NULL);
	CHECK(r.status == 0 && strstr(r.out, "-p PROMPT") && strstr(r.out, "generation_config.json") &&
	      strstr(r.out, "--tokenize TEXT") && strstr(r.out, "--temp 0.3 --min-p 0.15 --repeat-penalty 1.05"),
	      "--help: %s", r.out);
	run_free(&r);
	free(tokb);
	free(bad);
	free(tokbin);
	free(path);
	free(notok);
	free(notok_bin);
	free(resolved);
	free(missing);
}

/* ------------------------------------------------------ sampling defaults */

/* A tokenizer table of the model with this generation_config.json text
 * (NULL: none), written to tmp/name. */
static char *table_with(const char *name, const char *gencfg)
{
	const char *files[3] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"};
	char *text[3];
	size_t len[3];
	for (int i = 0; i < 3; i++) {
		char *p = fmt("%s/%s", model_dir, files[i]);
		text[i] = slurp(p, &len[i]);
		free(p);
	}
	char *tj = fmt("%s/tokenizer.json", model_dir);
	LfmTokenizerSources src = {text[0], len[0], text[1], len[1], text[2], len[2], gencfg,
	                           gencfg ? strlen(gencfg) : 0, tj, 0};
	void *bytes;
	size_t n;
	LfmError e;
	if (lfm_tokenizer_build_sources(&src, &bytes, &n, &e) != 1)
		DIE("table_with(%s): %s", gencfg ? gencfg : "NULL", e.msg);
	char *path = fmt("%s/%s", tmp, name);
	spit(path, bytes, n);
	free(bytes);
	free(tj);
	for (int i = 0; i < 3; i++)
		free(text[i]);
	return path;
}

/* Text mode with the table and extra flags == id mode with explicit flags:
 * the parameters it reports (--verbose-prompt) are `params`, and the ids
 * it samples are the ones id mode samples with those flags. */
static void expect_same_sampling(const char *what, const char *table, const char *const *text_flags,
                                 const char *const *id_flags, bool want_seed_line, const char *params)
{
	const char *argv[40] = {exe, "-p", "This program is free software", "--raw", "-n", "40", "-s", "5",
	                        "--tokenizer", table, "--verbose-prompt"};
	int a = 11;
	for (int i = 0; text_flags && text_flags[i]; i++)
		argv[a++] = text_flags[i];
	argv[a] = NULL;
	Run t = run_v(NULL, argv);
	CHECK(t.status == 0, "%s: exit %d: %s", what, t.status, t.err);
	char *line = fmt("lfm2-run: sampling: %s (last 64), seed 5\n", params);
	CHECK(strstr(t.err, line) != NULL, "%s: no '%s' in\n%s", what, line, t.err);
	free(line);
	Ids p = stderr_ids(t.err, "prompt ids", 0), g = stderr_ids(t.err, "generated ids", 0);
	char *list = ids_str(p.v, p.n);
	const char *argv2[40] = {exe, "--tokens", list, "-n", "40", "-s", "5"};
	a = 7;
	for (int i = 0; id_flags[i]; i++)
		argv2[a++] = id_flags[i];
	argv2[a] = NULL;
	Run r = run_v(NULL, argv2);
	Ids want = ids_parse(r.out);
	CHECK(r.status == 0 && ids_eq(&g, want.v, want.n), "%s: text mode ids\n%s\n!= id mode with explicit flags\n%s",
	      what, ids_str(g.v, g.n), r.out);
	CHECK((strstr(t.err, "ctx 2048, seed 5") != NULL) == want_seed_line, "%s: seed in the timing line (sampling) "
	      "expected %d: %s", what,
	      want_seed_line, t.err);
	free(want.v);
	run_free(&r);
	free(list);
	free(p.v);
	free(g.v);
	run_free(&t);
}

static void test_defaults(void)
{
	const char *card[] = {"--temp", "0.3", "--top-k", "0", "--top-p", "1", "--min-p", "0.15", "--repeat-penalty",
	                      "1.05", NULL};
	/* OUT/tokenizer.bin (the model's generation_config.json has no sampling keys) */
	char *out_table = fmt("%s/tokenizer.bin", out_dir);
	expect_same_sampling("model card defaults", out_table, NULL, card, true, "temp 0.3, top-k 0, top-p 1, min-p 0.15, repeat-penalty 1.05");
	char *none = table_with("none.bin", NULL);
	expect_same_sampling("no generation_config.json", none, NULL, card, true, "temp 0.3, top-k 0, top-p 1, min-p 0.15, repeat-penalty 1.05");
	char *cfg = table_with("cfg.bin", "{\"temperature\": 0.8, \"top_k\": 20, \"top_p\": 0.9, \"eos_token_id\": [7]}");
	const char *cfg_flags[] = {"--temp", "0.8", "--top-k", "20", "--top-p", "0.9", "--min-p", "0.15",
	                           "--repeat-penalty", "1.05", NULL};
	expect_same_sampling("generation_config temperature/top_k/top_p", cfg, NULL, cfg_flags, true, "temp 0.8, top-k 20, top-p 0.9, min-p 0.15, repeat-penalty 1.05");
	const char *override[] = {"--temp", "0.5", "--top-k", "5", NULL};
	const char *over_flags[] = {"--temp", "0.5", "--top-k", "5", "--top-p", "0.9", "--min-p", "0.15",
	                            "--repeat-penalty", "1.05", NULL};
	expect_same_sampling("flags over generation_config", cfg, override, over_flags, true, "temp 0.5, top-k 5, top-p 0.9, min-p 0.15, repeat-penalty 1.05");
	char *all = table_with("all.bin", "{\"do_sample\": true, \"temperature\": 1.3, \"top_k\": 0, \"top_p\": 1.0, "
	                                  "\"min_p\": 0.02, \"repetition_penalty\": 1.2}");
	const char *all_flags[] = {"--temp", "1.3", "--top-k", "0", "--top-p", "1", "--min-p", "0.02",
	                           "--repeat-penalty", "1.2", NULL};
	expect_same_sampling("every key", all, NULL, all_flags, true, "temp 1.3, top-k 0, top-p 1, min-p 0.02, repeat-penalty 1.2");
	/* do_sample=false: greedy, no penalty -> the oracle's ids */
	char *greedy = table_with("greedy.bin", "{\"do_sample\": false, \"temperature\": 0.8, \"top_k\": 50}");
	const char *greedy_flags[] = {"--temp", "0", "--repeat-penalty", "1", NULL};
	expect_same_sampling("do_sample false", greedy, NULL, greedy_flags, false, "temp 0, top-k 50, top-p 1, min-p 0.15, repeat-penalty 1");
	{
		const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(expected, "raw"), 0);
		Ids want = json_ids(c, "ids");
		Run t = run(NULL, exe, "-p", "This program is free software", "--raw", "-n", "40", "--tokenizer", greedy,
		            "--verbose-prompt", NULL);
		Ids g = stderr_ids(t.err, "generated ids", 0);
		CHECK(g.n == 40 && !memcmp(g.v, want.v, 40 * sizeof *g.v), "do_sample false != oracle greedy");
		free(g.v);
		free(want.v);
		run_free(&t);
	}
	char *gpen = table_with("gpen.bin", "{\"do_sample\": false, \"repetition_penalty\": 1.3}");
	const char *gpen_flags[] = {"--temp", "0", "--repeat-penalty", "1.3", NULL};
	expect_same_sampling("do_sample false with a penalty", gpen, NULL, gpen_flags, false, "temp 0, top-k 0, top-p 1, min-p 0.15, repeat-penalty 1.3");
	/* --temp 0 with the card defaults: plain greedy; --repeat-penalty given: applied */
	const char *t0[] = {"--temp", "0", NULL};
	const char *t0_flags[] = {"--temp", "0", "--repeat-penalty", "1", NULL};
	expect_same_sampling("--temp 0", none, t0, t0_flags, false, "temp 0, top-k 0, top-p 1, min-p 0.15, repeat-penalty 1");
	const char *t0p[] = {"--temp", "0", "--repeat-penalty", "1.5", NULL};
	const char *t0p_flags[] = {"--temp", "0", "--repeat-penalty", "1.5", NULL};
	expect_same_sampling("--temp 0 --repeat-penalty 1.5", none, t0p, t0p_flags, false, "temp 0, top-k 0, top-p 1, min-p 0.15, repeat-penalty 1.5");
	/* id mode keeps its own defaults (greedy, llama.cpp's filters), whatever the table says */
	Run a = run(NULL, exe, "--tokens", "1,1650,1049,335,1206,813", "-n", "20", NULL);
	Run b = run(NULL, exe, "--tokens", "1,1650,1049,335,1206,813", "-n", "20", "--temp", "0", "--top-k", "40",
	            "--top-p", "0.95", "--min-p", "0.05", "--repeat-penalty", "1", NULL);
	CHECK(a.status == 0 && !strcmp(a.out, b.out), "id mode defaults changed: %s vs %s", a.out, b.out);
	run_free(&a);
	run_free(&b);
	free(out_table);
	free(none);
	free(cfg);
	free(all);
	free(greedy);
	free(gpen);
}

/* ------------------------------------------------------------------- eos */

static void test_eos(void)
{
	/* find a seed whose hot sampling reaches eos (7) in id mode, then check
	 * text mode stops at the same place, without printing it */
	const char *hot[] = {"--temp", "50", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--repeat-penalty", "1"};
	char *rendered = chatml(NULL, (const char *[]){"Hi"}, 1);
	Ids p = encode(rendered, 0);
	char *list = ids_str(p.v, p.n);
	Ids want = {0};
	char seed[32] = "";
	for (int s = 1; s < 300 && !want.n; s++) {
		snprintf(seed, sizeof seed, "%d", s);
		Run r = run(NULL, exe, "--tokens", list, "-n", "400", "-s", seed, hot[0], hot[1], hot[2], hot[3], hot[4],
		            hot[5], hot[6], hot[7], hot[8], hot[9], NULL);
		Ids ids = ids_parse(r.out);
		if (ids.n && ids.v[ids.n - 1] == 7 && ids.n < 400)
			want = ids;
		else
			free(ids.v);
		run_free(&r);
	}
	if (!want.n)
		DIE("no seed in 1..299 reaches eos");
	Run r = run(NULL, exe, "-p", "Hi", "-s", seed, hot[0], hot[1], hot[2], hot[3], hot[4], hot[5], hot[6], hot[7],
	            hot[8], hot[9], "--json", NULL);
	cJSON *j = parse_json_line(&r, "eos json");
	if (j) {
		Ids got = json_ids(j, "ids");
		char *text = decode(want.v, want.n - 1);
		CHECK(ids_eq(&got, want.v, want.n), "eos: text-mode ids != id mode (seed %s)", seed);
		CHECK(!strcmp(json_str(j, "stop"), "eos") && !strcmp(json_str(j, "text"), text), "eos: stop/text");
		free(text);
		free(got.v);
	}
	cJSON_Delete(j);
	run_free(&r);
	r = run(NULL, exe, "-p", "Hi", "-s", seed, hot[0], hot[1], hot[2], hot[3], hot[4], hot[5], hot[6], hot[7],
	        hot[8], hot[9], NULL);
	char *text = decode(want.v, want.n - 1), *w = fmt("%s\n", text);
	CHECK(r.status == 0 && !strcmp(r.out, w) && strstr(r.err, "stop eos"), "eos: streamed text (seed %s)", seed);
	free(w);
	run_free(&r);
	/* --ignore-eos: the eos text is printed and generation goes on */
	char *n = fmt("%zu", want.n + 5);
	r = run(NULL, exe, "-p", "Hi", "-s", seed, hot[0], hot[1], hot[2], hot[3], hot[4], hot[5], hot[6], hot[7],
	        hot[8], hot[9], "--ignore-eos", "-n", n, "--verbose-prompt", NULL);
	Ids g = stderr_ids(r.err, "generated ids", 0);
	CHECK(r.status == 0 && g.n == want.n + 5 && !memcmp(g.v, want.v, want.n * sizeof *g.v) &&
	      !strncmp(r.out, text, strlen(text)) && !strncmp(r.out + strlen(text), "<|im_end|>", 10),
	      "--ignore-eos: %zu ids, '%s'", g.n, r.out);
	free(g.v);
	run_free(&r);
	free(n);
	free(text);
	free(want.v);
	free(list);
	free(p.v);
	free(rendered);
}

/* ------------------------------------------------- the GCFG table section */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static void reseal(uint8_t *b, size_t n)
{
	uint64_t h = fnv1a64(b + 32, n - 32);
	wr32(b + 24, (uint32_t)h);
	wr32(b + 28, (uint32_t)(h >> 32));
}

/* Offset of the GCFG section in a table. */
static size_t gcfg_offset(const uint8_t *b, uint32_t *size)
{
	uint32_t ns = rd32(b + 12);
	for (uint32_t i = 0; i < ns; i++)
		if (!memcmp(b + 32 + 12 * i, "GCFG", 4)) {
			*size = rd32(b + 32 + 12 * i + 8);
			return rd32(b + 32 + 12 * i + 4);
		}
	DIE("no GCFG section");
}

static lfm2_generation_defaults open_defaults(const char *path, char *err, size_t errlen, int *ok)
{
	size_t n;
	char *bytes = slurp(path, &n);
	lfm2_tokenizer *t;
	lfm2_generation_defaults d;
	memset(&d, 0xAB, sizeof d);
	*ok = lfm2_tokenizer_open(bytes, n, &t, err, errlen) == 0;
	if (*ok) {
		d = lfm2_tokenizer_generation_defaults(t);
		lfm2_tokenizer_close(t);
	}
	free(bytes);
	return d;
}

static void test_gencfg(void)
{
	char err[512];
	int ok;
	struct { const char *cfg; unsigned present; int do_sample; float t; int32_t k; float p, m, r; } good[] = {
		{NULL, 0, 0, 0, 0, 0, 0, 0},
		{"{\"bos_token_id\": 1, \"eos_token_id\": 7, \"pad_token_id\": 0}", 0, 0, 0, 0, 0, 0, 0},
		{"{\"temperature\": null, \"top_k\": null, \"max_length\": 20}", 0, 0, 0, 0, 0, 0, 0},
		{"{\"do_sample\": false}", LFM2_GEN_DO_SAMPLE, 0, 0, 0, 0, 0, 0},
		{"{\"do_sample\": true, \"temperature\": 0.3, \"min_p\": 0.15, \"repetition_penalty\": 1.05}",
		 LFM2_GEN_DO_SAMPLE | LFM2_GEN_TEMPERATURE | LFM2_GEN_MIN_P | LFM2_GEN_REPETITION_PENALTY, 1, 0.3f, 0, 0,
		 0.15f, 1.05f},
		{"{\"top_k\": 50, \"top_p\": 1, \"temperature\": 0, \"min_p\": 0}",
		 LFM2_GEN_TOP_K | LFM2_GEN_TOP_P | LFM2_GEN_TEMPERATURE | LFM2_GEN_MIN_P, 0, 0, 50, 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char *name = fmt("good%zu.bin", i);
		char *path = table_with(name, good[i].cfg);
		lfm2_generation_defaults d = open_defaults(path, err, sizeof err, &ok);
		CHECK(ok, "good[%zu]: %s", i, err);
		CHECK(ok && d.present == good[i].present && d.do_sample == good[i].do_sample &&
		      d.temperature == good[i].t && d.top_k == good[i].k && d.top_p == good[i].p && d.min_p == good[i].m &&
		      d.repetition_penalty == good[i].r,
		      "good[%zu] (%s): present %u do_sample %d T %g k %d p %g m %g r %g", i, good[i].cfg ? good[i].cfg : "-",
		      d.present, d.do_sample, (double)d.temperature, (int)d.top_k, (double)d.top_p, (double)d.min_p,
		      (double)d.repetition_penalty);
		/* the table is format version 2 */
		size_t n;
		uint8_t *b = (uint8_t *)slurp(path, &n);
		CHECK(rd32(b + 8) == 2 && LFM2_TOK_VERSION == 2, "table version %u", rd32(b + 8));
		free(b);
		free(name);
		free(path);
	}

	/* bad generation_config.json: one line naming the file and the key */
	struct { const char *cfg, *needle; } bad[] = {
		{"{\"temperature\": \"hot\"}", "temperature is \"hot\" (expected a number >= 0)"},
		{"{\"temperature\": -0.5}", "temperature is -0.5"},
		{"{\"top_k\": 2.5}", "top_k is 2.5 (expected an integer >= 0)"},
		{"{\"top_k\": -1}", "top_k is -1"},
		{"{\"top_p\": 0}", "top_p is 0 (expected a number in (0, 1])"},
		{"{\"top_p\": 1.5}", "top_p is 1.5"},
		{"{\"min_p\": -0.1}", "min_p is -0.1 (expected a number in [0, 1])"},
		{"{\"repetition_penalty\": 0}", "repetition_penalty is 0 (expected a number in [0.01, 100])"},
		{"{\"repetition_penalty\": 1e-38}", "repetition_penalty is 1e-38 (expected a number in [0.01, 100])"},
		{"{\"repetition_penalty\": 101}", "repetition_penalty is 101"},
		{"{\"top_p\": 1e400}", "top_p is a number that overflows a double (expected a number in (0, 1])"},
		{"{\"eos_token_id\": [7, 2048]}", "eos_token_id[1] is 2048: not a token id of the vocabulary"},
		{"{\"bos_token_id\": -1}", "bos_token_id is -1 (expected a token id"},
		{"{\"pad_token_id\": \"x\"}", "pad_token_id is \"x\""},
		{"{\"repetition_penalty\": 1e-50}", "repetition_penalty is"},
		{"{\"temperature\": 1e300}", "temperature is"},
		{"{\"do_sample\": \"yes\"}", "do_sample is \"yes\" (expected true or false)"},
		{"[1, 2]", "not a JSON object"},
		{"{\"temperature\": 0.3", "generation_config.json"},
	};
	char *tj = fmt("%s/tokenizer.json", model_dir);
	char *tjson;
	size_t tlen;
	tjson = slurp(tj, &tlen);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		LfmTokenizerSources src = {.tokenizer_json = tjson, .json_len = tlen, .generation_config = bad[i].cfg,
		                           .generation_len = strlen(bad[i].cfg), .path = "m/tokenizer.json"};
		void *bytes = (void *)1;
		size_t n = 1;
		LfmError e;
		int rc = lfm_tokenizer_build_sources(&src, &bytes, &n, &e);
		CHECK(rc == -1 && bytes == NULL && !strncmp(e.msg, "m/generation_config.json: ", 26) &&
		      strstr(e.msg, bad[i].needle) && !strchr(e.msg, '\n'),
		      "bad[%zu] %s: rc %d, message '%s' (want '%s')", i, bad[i].cfg, rc, rc == -1 ? e.msg : "", bad[i].needle);
		if (rc == 1)
			free(bytes);
	}
	free(tjson);
	free(tj);

	/* corrupt GCFG (checksum resealed): refused with a message */
	char *path = table_with("gc.bin", "{\"temperature\": 0.7, \"top_p\": 0.9}");
	size_t n;
	uint8_t *good_b = (uint8_t *)slurp(path, &n), *b = malloc(n);
	uint32_t gsize;
	size_t off = gcfg_offset(good_b, &gsize);
	CHECK(gsize == LFM2_TOK_GCFG_BYTES, "GCFG size %u", gsize);
	struct { size_t at; uint32_t value; } edits[] = {
		{0, 0x40u | LFM2_GEN_TEMPERATURE | LFM2_GEN_TOP_P},   /* unknown bit */
		{4, 2},                                              /* do_sample not 0/1 */
		{4, 1},                                              /* do_sample set but absent */
		{12, 5},                                             /* top_k value without its bit */
		{8, 0x7fc00000u},                                    /* temperature NaN */
		{8, 0xbf800000u},                                    /* temperature -1 */
		{16, 0x40000000u},                                   /* top_p 2 */
		{16, 0},                                             /* top_p 0 */
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		memcpy(b, good_b, n);
		wr32(b + off + edits[i].at, edits[i].value);
		reseal(b, n);
		lfm2_tokenizer *t;
		int rc = lfm2_tokenizer_open(b, n, &t, err, sizeof err);
		CHECK(rc == -1 && strstr(err, "GCFG"), "GCFG edit %zu: rc %d '%s'", i, rc, rc ? err : "");
		if (rc == 0)
			lfm2_tokenizer_close(t);
	}
	/* a GCFG of the wrong size */
	memcpy(b, good_b, n);
	for (uint32_t i = 0; i < rd32(b + 12); i++)
		if (!memcmp(b + 32 + 12 * i, "GCFG", 4))
			wr32(b + 32 + 12 * i + 8, 24);
	reseal(b, n);
	lfm2_tokenizer *t;
	CHECK(lfm2_tokenizer_open(b, n, &t, err, sizeof err) == -1 && strstr(err, "GCFG section has 24 bytes"),
	      "GCFG size: %s", err);
	/* the unmodified one opens, with the values */
	lfm2_generation_defaults d = open_defaults(path, err, sizeof err, &ok);
	CHECK(ok && d.present == (LFM2_GEN_TEMPERATURE | LFM2_GEN_TOP_P) && d.temperature == 0.7f && d.top_p == 0.9f,
	      "gc.bin");
	free(good_b);
	free(b);
	free(path);
}

/* ----------------------------------------------------------- --write-table */

static bool leftovers(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *e; (e = readdir(d));)
		found |= !strncmp(e->d_name, prefix, strlen(prefix)) && strlen(e->d_name) > strlen(prefix);
	closedir(d);
	return found;
}

static void test_write_table(void)
{
	void *want;
	size_t wn;
	LfmError e;
	if (lfm_tokenizer_build(model_dir, &want, &wn, &e) != 1)
		DIE("%s", e.msg);
	char *path = fmt("%s/t.bin", tmp);
	unlink(path);
	Run r = run(NULL, lfm2c, "tokenize", model_dir, "--write-table", path, NULL);
	CHECK(r.status == 0 && r.out_len == 0 && !r.err[0], "--write-table: %d %s", r.status, r.err);
	run_free(&r);
	size_t n;
	char *got = slurp(path, &n);
	CHECK(n == wn && !memcmp(got, want, n), "--write-table bytes != lfm_tokenizer_build");
	free(got);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "--write-table mode %o", st.st_mode & 0777);
	/* the fixture's tokenizer.bin is the same table */
	char *fx = fmt("%s/tokenizer.bin", out_dir);
	got = slurp(fx, &n);
	CHECK(n == wn && !memcmp(got, want, n), "OUT/tokenizer.bin != lfm_tokenizer_build");
	free(got);
	free(fx);
	free(want);

	/* failures leave nothing behind */
	char *dirpath = fmt("%s/adir", tmp);
	mkdir(dirpath, 0755);
	r = run(NULL, lfm2c, "tokenize", model_dir, "--write-table", dirpath, NULL);
	CHECK(r.status == 1 && count_lines(r.err) == 1 && strstr(r.err, "adir: cannot write"), "into a dir: %s", r.err);
	CHECK(!leftovers(tmp, "adir."), "a temporary file was left next to %s", dirpath);
	run_free(&r);
	char *nodir = fmt("%s/no/such/dir/t.bin", tmp);
	r = run(NULL, lfm2c, "tokenize", model_dir, "--write-table", nodir, NULL);
	CHECK(r.status == 1 && count_lines(r.err) == 1 && strstr(r.err, "cannot create"), "no dir: %s", r.err);
	run_free(&r);
	/* a model dir without tokenizer.json; one with a bad generation_config.json */
	char *empty = fmt("%s/empty-model", tmp), *out2 = fmt("%s/t2.bin", tmp);
	mkdir(empty, 0755);
	unlink(out2);
	r = run(NULL, lfm2c, "tokenize", empty, "--write-table", out2, NULL);
	CHECK(r.status == 1 && strstr(r.err, "no tokenizer.json") && access(out2, F_OK) != 0, "no tokenizer.json: %s",
	      r.err);
	run_free(&r);
	char *badm = fmt("%s/bad-model", tmp);
	mkdir(badm, 0755);
	const char *files[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"};
	for (int i = 0; i < 3; i++) {
		char *src = fmt("%s/%s", model_dir, files[i]), *dst = fmt("%s/%s", badm, files[i]);
		unlink(dst);
		if (symlink(src, dst) != 0)
			DIE("symlink %s", dst);
		free(src);
		free(dst);
	}
	char *gc = fmt("%s/generation_config.json", badm);
	spit(gc, "{\"top_p\": 7}", 12);
	r = run(NULL, lfm2c, "tokenize", badm, "--write-table", out2, NULL);
	CHECK(r.status == 1 && count_lines(r.err) == 1 && strstr(r.err, "bad-model/generation_config.json: top_p is 7") &&
	      access(out2, F_OK) != 0, "bad generation_config: %s", r.err);
	run_free(&r);
	r = run(NULL, lfm2c, "tokenize", model_dir, "--write-table", out2, "extra", NULL);
	CHECK(r.status == 1 && strstr(r.err, "usage: lfm2c tokenize"), "extra argument: %s", r.err);
	run_free(&r);
	free(gc);
	free(badm);
	free(empty);
	free(out2);
	free(nodir);
	free(dirpath);
	free(path);
}

int main(int argc, char **argv)
{
	if (argc != 6)
		DIE("usage: test_cli_text CASE OUT_DIR REPO_ROOT LFM2C TMP_DIR");
	const char *what = argv[1];
	out_dir = argv[2];
	root = argv[3];
	lfm2c = argv[4];
	tmp = argv[5];
	mkdir(tmp, 0755);
	snprintf(exe, sizeof exe, "%s/lfm2-run", out_dir);
	snprintf(model_dir, sizeof model_dir, "%s/examples/trained-tiny", root);
	load_expected();
	if (strcmp(what, "gencfg") != 0 && strcmp(what, "write_table") != 0)
		load_tokenizer();
	static const struct { const char *name; void (*fn)(void); } cases[] = {
		{"greedy", test_greedy}, {"chat", test_chat}, {"tokenize", test_tokenize},
		{"detokenize", test_detokenize}, {"interactive", test_interactive}, {"json", test_json},
		{"errors", test_errors}, {"defaults", test_defaults}, {"eos", test_eos}, {"gencfg", test_gencfg},
		{"write_table", test_write_table},
	};
	bool found = false;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (!strcmp(what, cases[i].name)) {
			cases[i].fn();
			found = true;
		}
	if (!found)
		DIE("unknown case %s", what);
	lfm2_tokenizer_close(tok);
	cJSON_Delete(expected);
	char name[200];
	snprintf(name, sizeof name, "test_cli_text %s", what);
	return check_finish(name);
}
