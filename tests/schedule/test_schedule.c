/*
 * test_schedule.c — schedule files (passes/schedule.c).
 *
 *   test_schedule DIR [--print]
 *
 * DIR/bad/NAME.json must each fail with exactly the one-line message in
 * DIR/bad/expected.txt ("NAME.json<TAB>message after 'PATH: '"); every bad
 * file must have a line and every line a file.  The files of DIR/good parse
 * to the values written out below.  --print prints the messages instead
 * (to review them when adding a case).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "schedule.h"


static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The .json files of a directory, sorted. */
static int list_json(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **v = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) {
			char **nv = realloc(v, (size_t)(n + 1) * sizeof *v);
			if (!nv)
				break;
			v = nv;
			v[n++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(v, (size_t)n, sizeof *v, by_name);
	*out = v;
	return n;
}

static void test_bad(const char *dir, bool print)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/bad/expected.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f && !print) {
		CHECK_FAIL("cannot open %s", path);
		return;
	}
	static char names[256][128], msgs[256][512];
	int n_exp = 0;
	char line[1024];
	while (f && fgets(line, sizeof line, f) && n_exp < 256) {
		line[strcspn(line, "\n")] = 0;
		char *tab = strchr(line, '\t');
		if (!tab || line[0] == '#')
			continue;
		*tab = 0;
		snprintf(names[n_exp], sizeof names[0], "%.127s", line);
		snprintf(msgs[n_exp], sizeof msgs[0], "%.511s", tab + 1);
		n_exp++;
	}
	if (f)
		fclose(f);
	char **files = NULL;
	snprintf(path, sizeof path, "%s/bad", dir);
	int n = list_json(path, &files);
	if (n < 0) {
		CHECK_FAIL("cannot list %s", path);
		return;
	}
	CHECK(n >= 12, "at least 12 bad schedules, found %d", n);
	int matched = 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/bad/%s", dir, files[i]);
		Schedule s;
		LfmError err = {{0}};
		int rc = schedule_load(path, &s, &err);
		CHECK(rc == -1, "%s: accepted", files[i]);
		CHECK(!strchr(err.msg, '\n'), "%s: message has a newline", files[i]);
		size_t pl = strlen(path);
		const char *msg = !strncmp(err.msg, path, pl) && !strncmp(err.msg + pl, ": ", 2) ? err.msg + pl + 2 : NULL;
		CHECK(msg, "%s: message does not start with the path: %s", files[i], err.msg);
		if (print)
			printf("%s\t%s\n", files[i], msg ? msg : err.msg);
		int k = 0;
		while (k < n_exp && strcmp(names[k], files[i]))
			k++;
		if (!print) {
			CHECK(k < n_exp, "%s: no expected message", files[i]);
			if (k < n_exp && msg) {
				CHECK(!strcmp(msg, msgs[k]), "%s:\n  got  %s\n  want %s", files[i], msg, msgs[k]);
				matched += !strcmp(msg, msgs[k]);
			}
		}
		CHECK(s.n_overrides == 0 && !s.overrides, "%s: schedule not reset after the error", files[i]);
		free(files[i]);
	}
	free(files);
	CHECK(print || n_exp == n, "expected.txt has %d lines for %d files", n_exp, n);
	if (!print)
		printf("ok   %d bad schedules, each refused with its exact message\n", matched);
}

static Schedule load_good(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/good/%s", dir, name);
	Schedule s;
	LfmError err = {{0}};
	CHECK(schedule_load(path, &s, &err) == 0, "%s: %s", name, err.msg);
	return s;
}

static void test_good(const char *dir)
{
	Schedule s = load_good(dir, "full.json");
	CHECK(s.version == 1 && s.default_format == DT_Q4_1, "full: default q4_1");
	CHECK(s.n_overrides == 3, "full: 3 overrides");
	if (s.n_overrides == 3) {
		CHECK(!strcmp(s.overrides[0].pattern, "model.embed_tokens.weight") && s.overrides[0].format == DT_Q8_0,
		      "override 0");
		CHECK(!strcmp(s.overrides[1].pattern, "model.layers.0.*") && s.overrides[1].format == DT_Q8_0,
		      "override 1");
		CHECK(!strcmp(s.overrides[2].pattern, "*.feed_forward.w2.*") && s.overrides[2].format == DT_Q4_0,
		      "override 2 (file order kept)");
	}
	ScheduleFusions f = s.fusions;
	CHECK(f.rmsnorm_fold && f.qkv && f.w1w3_swiglu && !f.residual_epilogue && f.conv_chain && !f.qk_norm_rope
	      && f.dequant_in_matmul, "full: fusions");
	CHECK(s.matmul_nb == 32 && s.matmul_mr == 6 && s.matmul_kc == 512 && s.matmul_prefetch == 8192
	      && s.attention_block == 128, "full: tiles");
	CHECK(s.split == SPLIT_ROWS && s.unroll == 8 && s.vector_width == 16, "full: split, unroll, vector width");
	CHECK(s.int8_nr == 2 && s.int8_block == 65536 && s.int8_lanes == 8 && s.int8_decode_rows == 2
	      && s.int8_split_k == 2 && s.int8_sequential == 0, "full: tiles.int8");
	CHECK(s.float_nr == 2 && s.float_block == 16384 && s.float_decode_nr == 4, "full: tiles.float");
	CHECK(s.given == (1u << SCHED_N_KEYS) - 1, "full: every key given (0x%x)", (unsigned)s.given);
	/* the writer: the same schedule back, in the spec's key order */
	char *text = schedule_to_json(&s, false);
	Schedule back;
	LfmError werr = {{0}};
	CHECK(text && schedule_parse(text, strlen(text), "written", &back, &werr) == 0, "written back: %s", werr.msg);
	if (text && !werr.msg[0]) {
		char *again = schedule_to_json(&back, false);
		CHECK(again && !strcmp(text, again), "writer round trip: %s", text);
		CHECK(!strncmp(text, "{\"version\":1,\"formats\":{\"default\":\"q4_1\",\"overrides\":{", 48)
		      && strstr(text, "\"tiles\":{\"matmul\":{\"nb\":32,\"mr\":6,\"kc\":512,\"prefetch\":8192},"
		                      "\"attention_block\":128,\"int8\":{")
		      && strstr(text, "\"threads\":{\"split\":\"rows\"},\"unroll\":8,\"vector_width\":16"),
		      "writer key order: %s", text);
		free(again);
		schedule_free(&back);
	}
	free(text);
	schedule_free(&s);
	CHECK(s.overrides == NULL && s.n_overrides == 0, "schedule_free resets");

	Schedule d;
	schedule_defaults(&d);
	s = load_good(dir, "minimal.json");
	CHECK(!memcmp(&s, &d, sizeof s), "minimal == defaults");
	CHECK(d.default_format == DT_F32 && d.matmul_nb == 64 && d.matmul_mr == 4 && d.matmul_kc == 256
	      && d.matmul_prefetch == 4096 && d.attention_block == 64 && d.split == SPLIT_N && d.given == 0
	      && d.unroll == 4
	      && d.vector_width == 8 && d.fusions.qkv && d.fusions.rmsnorm_fold && d.fusions.conv_chain
	      && d.fusions.dequant_in_matmul, "documented defaults");
	schedule_free(&s);

	s = load_good(dir, "formats_only.json");
	CHECK(s.default_format == DT_Q8_0 && s.n_overrides == 0 && s.split == SPLIT_AUTO && s.vector_width == 1
	      && s.matmul_nb == 3 && s.matmul_kc == 256, "formats_only");
	schedule_free(&s);

	/* parse from memory; the path is only a name in messages */
	LfmError err = {{0}};
	const char *txt = "{\"version\":1,\"tiles\":{\"matmul\":{\"mr\":0}}}";
	CHECK(schedule_parse(txt, strlen(txt), "mem", &s, &err) == -1
	      && !strcmp(err.msg, "mem: key 'tiles.matmul.mr': must be positive, got 0"), "parse: %s", err.msg);
	CHECK(schedule_load("/nonexistent/s.json", &s, &err) == -1
	      && !strcmp(err.msg, "/nonexistent/s.json: cannot open: No such file or directory"), "load: %s", err.msg);
	printf("ok   good schedules, defaults, the writer\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_schedule DIR [--print]\n");
		return 2;
	}
	bool print = argc > 2 && !strcmp(argv[2], "--print");
	test_bad(argv[1], print);
	if (!print)
		test_good(argv[1]);
	return check_finish("test_schedule");
}
