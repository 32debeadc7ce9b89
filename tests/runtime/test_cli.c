/*
 * test_cli.c — the lfm2-run program, built with the fake model
 * (lfm2-run-fake), run as a child process.
 *
 * Its output is compared with the library driven directly: greedy ids ==
 * session + argmax, sampled ids == session + lfm2_sampler with the same
 * parameters and seed, --logits == every row of one eval (bit for bit),
 * whatever the thread count, chunk size, context or load mode.  Stopping at
 * eos, the default weights path next to the executable, and every kind of
 * bad command line (one line on stderr, exit 2, nothing on stdout) or bad
 * file (exit 1) are checked too.
 *
 * usage: test_cli LFM2_RUN_FAKE TMP_DIR
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_model.h"
#include "lfm2rt.h"
#include "check.h"

static const char *exe, *tmp;
static char blob_path[1024];
static char out[1 << 16], errtxt[1 << 16];
static lfm2_weights *weights;

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
}

/* Runs exe with the NULL-terminated arguments; returns the exit status. */
static int run(const char *first, ...)
{
	const char *argv[64];
	int n = 0;
	argv[n++] = exe;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && n < 63; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char po[1100], pe[1100];
	snprintf(po, sizeof po, "%s/stdout.txt", tmp);
	snprintf(pe, sizeof pe, "%s/stderr.txt", tmp);
	pid_t pid = fork();
	CHECK_OR_DIE(pid >= 0);
	if (pid == 0) {
		int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(99);
		execv(exe, (char *const *)argv);
		_exit(98);
	}
	int st;
	CHECK_OR_DIE(waitpid(pid, &st, 0) == pid);
	slurp(po, out, sizeof out);
	slurp(pe, errtxt, sizeof errtxt);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* What lfm2-run should print for prompt/n with these sampler params. */
static void expected_ids(const int32_t *prompt, int n_prompt, int n, lfm2_sampler_params p, char *buf,
                         size_t cap)
{
	lfm2_session *s = lfm2_session_create(&fake_model, weights, n_prompt + n, 3, NULL, NULL);
	lfm2_sampler *smp = lfm2_sampler_create(&p, fake_model.vocab_size, NULL);
	CHECK_OR_DIE(s && smp);
	float logits[64];
	for (int i = 0; i < n_prompt; i++)
		lfm2_sampler_accept(smp, prompt[i]);
	CHECK_OR_DIE(lfm2_session_eval(s, prompt, n_prompt, logits, 0, NULL) == 0);
	size_t len = 0;
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		int32_t t = lfm2_sampler_sample(smp, logits);
		lfm2_sampler_accept(smp, t);
		len += (size_t)snprintf(buf + len, cap - len, i ? ",%d" : "%d", (int)t);
		if (t == fake_model.eos_id)
			break;
		CHECK_OR_DIE(lfm2_session_eval(s, &t, 1, logits, 0, NULL) == 0);
	}
	snprintf(buf + len, cap - len, "\n");
	lfm2_sampler_free(smp);
	lfm2_session_free(s);
}

static lfm2_sampler_params greedy(void)
{
	lfm2_sampler_params p = lfm2_sampler_default_params();
	p.temperature = 0;
	return p;
}

static void test_generate(void)
{
	static const int32_t prompt[] = {3, 9, 4, 22};
	char expect[4096];
	expected_ids(prompt, 4, 12, greedy(), expect, sizeof expect);
	CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22", "-n", "12", NULL), 0);
	CHECK(!strcmp(out, expect));
	CHECK_CONTAINS(errtxt, "prefill 4 tokens");
	CHECK_CONTAINS(errtxt, "tok/s");
	CHECK_CONTAINS(errtxt, "(read)");
	CHECK_INT(count_lines(errtxt), 1);

	const char *variants[][8] = {
		{"--mmap", NULL},
		{"-t", "3", "--chunk", "1", NULL},
		{"-t", "1", "-c", "16", "--chunk", "2", NULL},
		{"--chunk=3", "--no-mmap", "-t", "2", NULL},
		{"--no-hugepages", "-t", "2", NULL},
	};
	for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
		const char **a = variants[v];
		CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22", "-n", "12", a[0], a[1], a[2], a[3],
		                 a[4], a[5], NULL), 0);
		CHECK(!strcmp(out, expect), "variant %zu: got '%s', expected '%s'", v, out, expect);
	}
	CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22", "-n", "12", "--mmap", NULL), 0);
	CHECK_CONTAINS(errtxt, "(mmap)");
	CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22", "-n", "12", "--no-hugepages", NULL), 0);
	CHECK_CONTAINS(errtxt, "(read-4k)");

	/* sampling: same seed, same ids as the library; the defaults top-k 40 etc. apply */
	lfm2_sampler_params p = lfm2_sampler_default_params();
	p.temperature = 1.5f;
	p.seed = 77;
	expected_ids(prompt, 4, 20, p, expect, sizeof expect);
	CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22", "-n", "20", "--temp", "1.5", "-s", "77", NULL), 0);
	CHECK(!strcmp(out, expect));
	CHECK_CONTAINS(errtxt, "seed 77");
	p.temperature = 0.9f;
	p.top_k = 5;
	p.top_p = 0.8f;
	p.min_p = 0.1f;
	p.repeat_penalty = 1.5f;
	p.repeat_last_n = 4;
	p.seed = 3;
	expected_ids(prompt, 4, 20, p, expect, sizeof expect);
	CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22", "-n", "20", "--temp", "0.9", "--top-k", "5",
	                 "--top-p", "0.8", "--min-p", "0.1", "--repeat-penalty", "1.5", "--repeat-last-n", "4",
	                 "-s", "3", "-t", "2", NULL), 0);
	CHECK(!strcmp(out, expect));

	CHECK_INT(run("-m", blob_path, "--tokens", "5", "-n", "0", NULL), 0);
	CHECK(!strcmp(out, "\n"));
}

/* Find a seed whose hot sampling hits eos early, then check the CLI stops there. */
static void test_eos(void)
{
	static const int32_t prompt[] = {1, 2};
	lfm2_sampler_params p = lfm2_sampler_default_params();
	p.temperature = 50;
	p.top_k = 0;
	p.top_p = 1;
	p.min_p = 0;
	char expect[4096];
	for (p.seed = 1; p.seed < 500; p.seed++) {
		expected_ids(prompt, 2, 60, p, expect, sizeof expect);
		if (count_lines(expect) == 1 && strstr(expect, ",7\n") && strchr(expect, ',') != NULL) {
			int commas = 0;
			for (char *c = expect; *c; c++)
				commas += *c == ',';
			if (commas < 59)
				break;
		}
	}
	CHECK_OR_DIE(p.seed < 500);
	char seed[32];
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)p.seed);
	CHECK_INT(run("-m", blob_path, "--tokens", "1,2", "-n", "60", "--temp", "50", "--top-k", "0",
	                 "--top-p", "1", "--min-p", "0", "-s", seed, NULL), 0);
	CHECK(!strcmp(out, expect));
	size_t len = strlen(out);
	CHECK(len >= 3 && !strcmp(out + len - 3, ",7\n"));
}

static void test_logits(void)
{
	static const int32_t prompt[] = {3, 9, 4, 22, 0, 49, 7, 7, 13};
	float expect[9 * 50];
	lfm2_session *s = lfm2_session_create(&fake_model, weights, 9, 9, NULL, NULL);
	CHECK_OR_DIE(s && lfm2_session_eval(s, prompt, 9, expect, 1, NULL) == 0);
	lfm2_session_free(s);
	char path[1100];
	snprintf(path, sizeof path, "%s/logits.npy", tmp);
	const char *chunks[] = {"1", "4", "100"};
	for (int c = 0; c < 3; c++) {
		unlink(path);
		CHECK_INT(run("-m", blob_path, "--tokens", "3,9,4,22,0,49,7,7,13", "--logits", path, "--chunk",
		                 chunks[c], "-t", c == 1 ? "2" : "1", NULL), 0);
		CHECK(!strcmp(out, ""));
		CHECK_CONTAINS(errtxt, "forward 9 tokens");
		int64_t r, k;
		float *got = lfm2_npy_read(path, &r, &k, NULL);
		CHECK_OR_DIE(got);
		CHECK(r == 9 && k == 50);
		CHECK(memcmp(got, expect, sizeof expect) == 0);
		free(got);
	}
	/* unwritable output: exit 1, message names it, nothing left */
	char bad[1200];
	snprintf(bad, sizeof bad, "%s/no-dir/x.npy", tmp);
	CHECK_INT(run("-m", blob_path, "--tokens", "1,2", "--logits", bad, NULL), 1);
	CHECK_CONTAINS(errtxt, bad);
	CHECK_INT(count_lines(errtxt), 1);
}

static void test_default_weights(void)
{
	char dir[1024], path[1100];
	snprintf(dir, sizeof dir, "%s", exe);
	char *slash = strrchr(dir, '/');
	CHECK_OR_DIE(slash);
	*slash = 0;
	snprintf(path, sizeof path, "%s/weights.bin", dir);
	unlink(path);
	CHECK_INT(run("--tokens", "1,2", "-n", "3", NULL), 1);
	CHECK_CONTAINS(errtxt, path);
	CHECK_INT(count_lines(errtxt), 1);
	CHECK_OR_DIE(fake_model_write_blob(path) == 0);
	CHECK_INT(run("--tokens", "1,2", "-n", "3", NULL), 0);
	char expect[256];
	expected_ids((const int32_t[]){1, 2}, 2, 3, greedy(), expect, sizeof expect);
	CHECK(!strcmp(out, expect));
	unlink(path);
}

static void expect_usage_error(int status, const char *needle, const char *a0, const char *a1,
                               const char *a2, const char *a3, const char *a4, const char *a5)
{
	int rc = run("-m", blob_path, a0, a1, a2, a3, a4, a5, NULL);
	if (rc != status || !strstr(errtxt, needle) || count_lines(errtxt) != 1 || out[0] ||
	    strncmp(errtxt, "lfm2-run: ", 10) != 0) {
		CHECK_FAIL("args %s %s %s ...: exit %d (want %d), stdout '%s', stderr '%s' (want '%s')", a0,
		           a1 ? a1 : "", a2 ? a2 : "", rc, status, out, errtxt, needle);
	}
}

static void test_errors(void)
{
	const char *T = "--tokens";
	expect_usage_error(2, "unknown option '--bogus'", T, "1", "--bogus", NULL, NULL, NULL);
	expect_usage_error(2, "unknown option 'stray'", T, "1", "stray", NULL, NULL, NULL);
	expect_usage_error(2, "-n: missing value", T, "1", "-n", NULL, NULL, NULL);
	expect_usage_error(2, "--tokens: token 1 is not a number: 'x'", T, "1,x,3", NULL, NULL, NULL, NULL);
	expect_usage_error(2, "--tokens: token 0 is not a number", T, "", NULL, NULL, NULL, NULL);
	expect_usage_error(2, "--tokens: token 2 is not a number", T, "1,2,", NULL, NULL, NULL, NULL);
	expect_usage_error(2, "--tokens: token 1 (value 50) is out of range [0, 50)", T, "1,50", NULL, NULL, NULL, NULL);
	expect_usage_error(2, "--tokens: token 0 (value -1)", T, "-1", NULL, NULL, NULL, NULL);
	expect_usage_error(2, "-n: expected an integer", T, "1", "-n", "-3", NULL, NULL);
	expect_usage_error(2, "-n: expected an integer", T, "1", "-n", "abc", NULL, NULL);
	expect_usage_error(2, "--temp: must be >= 0", T, "1", "--temp", "-0.5", NULL, NULL);
	expect_usage_error(2, "--temp: expected a number", T, "1", "--temp", "hot", NULL, NULL);
	expect_usage_error(2, "--top-p: must be in (0, 1]", T, "1", "--top-p", "0", NULL, NULL);
	expect_usage_error(2, "--top-p: must be in (0, 1]", T, "1", "--top-p", "1.5", NULL, NULL);
	expect_usage_error(2, "--min-p: must be in [0, 1]", T, "1", "--min-p", "2", NULL, NULL);
	expect_usage_error(2, "--top-k: expected an integer", T, "1", "--top-k", "-1", NULL, NULL);
	expect_usage_error(2, "--repeat-penalty: must be in [0.01, 100] (1 = off), got 0", T, "1", "--repeat-penalty",
	                   "0", NULL, NULL);
	/* 1e-38 would divide logits past the float range (inf, then NaN probabilities) */
	expect_usage_error(2, "--repeat-penalty: must be in [0.01, 100] (1 = off), got 1e-38", T, "1",
	                   "--repeat-penalty", "1e-38", "--temp", "1");
	expect_usage_error(2, "--repeat-penalty: must be in [0.01, 100]", T, "1", "--repeat-penalty", "101", NULL,
	                   NULL);
	expect_usage_error(2, "--temp: 1e39 is too large", T, "1", "--temp", "1e39", NULL, NULL);
	expect_usage_error(2, "--temp: expected a number, got 'inf'", T, "1", "--temp", "inf", NULL, NULL);
	expect_usage_error(2, "--top-p: expected a number, got 'nan'", T, "1", "--top-p", "nan", NULL, NULL);
	expect_usage_error(2, "-t: expected an integer", T, "1", "-t", "0", NULL, NULL);
	expect_usage_error(2, "-s: expected a non-negative integer", T, "1", "-s", "-4", NULL, NULL);
	expect_usage_error(2, "-c 2 is too small: 3 prompt tokens", T, "1,2,3", "-c", "2", NULL, NULL);
	expect_usage_error(2, "-c 5 is too small: 3 prompt tokens + 3 to generate need 6", T, "1,2,3", "-c", "5",
	                   "-n", "3");
	expect_usage_error(2, "--tokens is required", "-n", "3", NULL, NULL, NULL, NULL);

	/* A damaged weights file: exit 1, the file named. */
	char bad[1100];
	snprintf(bad, sizeof bad, "%s/bad.bin", tmp);
	FILE *f = fopen(bad, "wb");
	CHECK_OR_DIE(f && fputs("LFM2BLOB but not really", f) >= 0 && fclose(f) == 0);
	CHECK_INT(run("-m", bad, "--tokens", "1", NULL), 1);
	CHECK_CONTAINS(errtxt, bad);
	CHECK_INT(count_lines(errtxt), 1);
	CHECK(out[0] == 0);

	CHECK_INT(run("--help", NULL), 0);
	CHECK_CONTAINS(out, "usage: lfm2-run");
	CHECK_CONTAINS(out, "fake test model");
}

int main(int argc, char **argv)
{
	CHECK_OR_DIE(argc == 3);
	exe = argv[1];
	tmp = argv[2];
	mkdir(tmp, 0755);
	snprintf(blob_path, sizeof blob_path, "%s/fake.bin", tmp);
	CHECK_OR_DIE(fake_model_write_blob(blob_path) == 0);
	weights = lfm2_weights_open(blob_path, &fake_model, LFM2_WEIGHTS_READ, NULL);
	CHECK_OR_DIE(weights);
	test_generate();
	test_eos();
	test_logits();
	test_default_weights();
	test_errors();
	lfm2_weights_close(weights);
	return check_finish("test_cli");
}
