/*
 * check_variants.c — check the files `lfm2c variants` wrote.
 *
 *   check_variants DIR RUNS NAME=LO:HI|NAME=failed... [--blob-ratio A B MAX] [--png FILE]
 *
 * DIR/variants.json must parse (cJSON) and hold every top-level key, one
 * entry per NAME in that order (a variant timed at two thread counts is
 * two entries, so its NAME comes twice), each with every number present
 * and finite (rates > 0, sizes > 0, artifact = blob + code, RUNS runs per
 * rate, top-1 in [0, 1], KLD >= 0) and max_rel_error in [LO, HI] (LO = HI
 * = 0: the variant is the reference build itself, so KLD must be 0 and
 * top-1 1); NAME=failed: the entry must hold an error instead.  --blob-ratio: blob_bytes(A) / blob_bytes(B) <= MAX (a
 * smaller format really is smaller).  DIR/variants.csv: a header and one
 * row per entry with the same number of fields, names in order.
 * DIR/variants.svg: an XML declaration, one <svg> root, every tag closed
 * in order, two bars (<rect class="bar">) per entry, and the two scatters
 * recomputed from the JSON (check_scatter.c).  --png: FILE, rsvg-convert's
 * rendering of the SVG, is a PNG of the size the SVG declares.
 * Prints one line per failed check; exit 0 only if none failed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check_variants.h"

static int failures;

void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "check_variants: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static char *slurp(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fail("%s: cannot open", path);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	size_t k;
	while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			char *t = realloc(s, cap *= 2);
			if (!t) {
				free(s);
				s = NULL;
			}
			s = t;
		}
	}
	fclose(f);
	if (s)
		s[n] = 0;
	return s;
}

/* A finite number at key k of o, or NAN (and a failure). */
static double number(const cJSON *o, const char *who, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
		fail("%s: key '%s' missing or not a finite number", who, k);
		return NAN;
	}
	return v->valuedouble;
}

static void check_runs(const cJSON *o, const char *who, const char *k, int runs)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != runs) {
		fail("%s: '%s' is not an array of %d runs", who, k, runs);
		return;
	}
	for (const cJSON *e = a->child; e; e = e->next)
		if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || e->valuedouble < 0)
			fail("%s: '%s' holds a bad value", who, k);
}

typedef struct Spec {
	char name[128];
	double lo, hi;
	double blob;
	bool failed;   /* NAME=failed: the entry must be an error */
} Spec;

#define MAX_SPECS 128

static void check_variant(const cJSON *v, Spec *s, int runs)
{
	const char *who = s->name;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
	if (!cJSON_IsString(name) || strcmp(name->valuestring, s->name)) {
		fail("variant %s: name is '%s'", who, cJSON_IsString(name) ? name->valuestring : "?");
		return;
	}
	bool failed = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "error"));
	if (failed != s->failed)
		fail("variant %s: %s", who, failed ? "failed" : "did not fail, as it should");
	if (failed || s->failed)
		return;
	double dec = number(v, who, "decode_tok_s"), pre = number(v, who, "prefill_tok_s");
	double blob = number(v, who, "blob_bytes"), code = number(v, who, "code_bytes");
	double art = number(v, who, "artifact_bytes"), comp = number(v, who, "compile_s");
	double load = number(v, who, "load_s");
	if (!(number(v, who, "threads") >= 1))
		fail("variant %s: threads < 1", who);
	double err = number(v, who, "max_rel_error"), kld = number(v, who, "kld_mean"), top1 = number(v, who, "top1");
	if (!(dec > 0) || !(pre > 0))
		fail("variant %s: rates must be > 0 (decode %g, prefill %g)", who, dec, pre);
	if (!(blob > 0) || !(code > 0) || art != blob + code)
		fail("variant %s: sizes: blob %g, code %g, artifact %g", who, blob, code, art);
	if (!(comp > 0) || !(load >= 0))
		fail("variant %s: compile_s %g must be > 0 and load_s %g >= 0", who, comp, load);
	if (!(err >= s->lo && err <= s->hi))
		fail("variant %s: max_rel_error %g outside [%g, %g]", who, err, s->lo, s->hi);
	if (!(kld >= 0) || !(top1 >= 0 && top1 <= 1))
		fail("variant %s: KLD %g < 0 or top-1 %g outside [0, 1]", who, kld, top1);
	if (s->hi == 0 && (kld != 0 || top1 != 1))
		fail("variant %s: the reference build itself must have KLD 0 and top-1 1 (KLD %g, top-1 %g)", who, kld, top1);
	if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(v, "compile_cached")))
		fail("variant %s: compile_cached is not a boolean", who);
	check_runs(v, who, "decode_runs", runs);
	check_runs(v, who, "prefill_runs", runs);
	check_runs(v, who, "load_runs", runs);
	s->blob = blob;
}

/* Returns the parsed file (the SVG checks use it), or NULL. */
static cJSON *check_json(const char *dir, Spec *specs, int n, int runs)
{
	char *text = slurp(dir, "variants.json");
	if (!text)
		return NULL;
	cJSON *root = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(root)) {
		fail("variants.json: not a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	static const char *const strings[] = {"model", "model_hash", "target", "backend", "weights", "conditions"};
	for (int i = 0; i < 6; i++)
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, strings[i])))
			fail("variants.json: key '%s' missing or not a string", strings[i]);
	if (number(root, "variants.json", "runs") != runs)
		fail("variants.json: runs is not %d", runs);
	const cJSON *thr = cJSON_GetObjectItemCaseSensitive(root, "threads");
	if (!cJSON_IsArray(thr) || cJSON_GetArraySize(thr) < 1 || !cJSON_IsNumber(thr->child) || thr->child->valuedouble < 1)
		fail("variants.json: threads is not a list of thread counts");
	number(root, "variants.json", "prefill_tokens");
	number(root, "variants.json", "decode_tokens");
	double res = number(root, "variants.json", "resident_after_evict_max");
	if (!(res >= 0 && res <= 1))
		fail("variants.json: resident_after_evict_max %g outside [0, 1]", res);
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "cold")))
		fail("variants.json: cold is not true");
	const cJSON *val = cJSON_GetObjectItemCaseSensitive(root, "validation");
	if (!cJSON_IsObject(val) || !(number(val, "validation", "positions") > 0))
		fail("variants.json: validation positions missing");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "variants");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n) {
		fail("variants.json: 'variants' is not an array of %d entries", n);
	} else {
		int i = 0;
		for (const cJSON *v = arr->child; v; v = v->next)
			check_variant(v, &specs[i++], runs);
	}
	return root;
}

static int count_fields(const char *line, size_t len)
{
	int n = 1, quoted = 0;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (line[i] == ',' && !quoted)
			n++;
	}
	return n;
}

static void check_csv(const char *dir, const Spec *specs, int n)
{
	char *text = slurp(dir, "variants.csv");
	if (!text)
		return;
	int rows = 0, fields0 = 0;
	for (char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		int f = count_fields(line, len);
		if (rows == 0) {
			fields0 = f;
			if (strncmp(line, "variant,", 8))
				fail("variants.csv: no header line");
		} else {
			if (f != fields0)
				fail("variants.csv: row %d has %d fields, the header %d", rows, f, fields0);
			if (rows <= n && (strncmp(line, specs[rows - 1].name, strlen(specs[rows - 1].name))
			                  || line[strlen(specs[rows - 1].name)] != ','))
				fail("variants.csv: row %d is not %s's", rows, specs[rows - 1].name);
		}
		rows++;
		line += len + (line[len] == '\n');
	}
	if (rows != n + 1)
		fail("variants.csv: %d lines, expected %d", rows, n + 1);
	free(text);
}

/* Tags must nest: a stack of names; <?...?> and <.../> are leaves.  The
 * bars: two per result that has rates (class "bar"); the scatters:
 * check_scatter.c.  Returns the text (for the PNG's size), or NULL. */
static char *check_svg(const char *dir, const cJSON *json)
{
	char *text = slurp(dir, "variants.svg");
	if (!text)
		return NULL;
	if (strncmp(text, "<?xml ", 6))
		fail("variants.svg: no XML declaration");
	char stack[64][32];
	int depth = 0, roots = 0, bars = 0;
	for (const char *p = strchr(text, '<'); p; p = strchr(p + 1, '<')) {
		const char *end = strchr(p, '>');
		if (!end) {
			fail("variants.svg: unterminated tag");
			break;
		}
		if (p[1] == '?')
			continue;
		char name[32];
		int close = p[1] == '/';
		size_t k = strcspn(p + 1 + close, " />\n");
		snprintf(name, sizeof name, "%.*s", (int)(k < 31 ? k : 31), p + 1 + close);
		if (!strcmp(name, "rect") && strstr(p, "class=\"bar\"") && strstr(p, "class=\"bar\"") < end)
			bars++;
		if (close) {
			if (!depth || strcmp(stack[depth - 1], name))
				fail("variants.svg: </%s> closes %s", name, depth ? stack[depth - 1] : "nothing");
			else
				depth--;
		} else if (end[-1] != '/') {
			if (depth == 0)
				roots += strcmp(name, "svg") == 0 ? 1 : 100;
			if (depth < 64)
				snprintf(stack[depth++], sizeof stack[0], "%s", name);
		}
	}
	if (depth)
		fail("variants.svg: <%s> never closed", stack[depth - 1]);
	if (roots != 1)
		fail("variants.svg: not exactly one <svg> root (%d)", roots);
	const cJSON *variants = cJSON_GetObjectItemCaseSensitive(json, "variants");
	int drawn = check_scatter(text, variants);
	if (bars != 2 * drawn)
		fail("variants.svg: expected two bars per result with rates (%d), got %d", drawn, bars);
	return text;
}

/* The PNG rsvg-convert made of the SVG: its IHDR says the SVG's size. */
static void check_png(const char *path, const char *svg)
{
	unsigned char h[24];
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(h, 1, sizeof h, f) : 0;
	if (f)
		fclose(f);
	if (got != sizeof h || memcmp(h, "\x89PNG\r\n\x1a\n", 8) || memcmp(h + 12, "IHDR", 4)) {
		fail("%s: not a PNG file", path);
		return;
	}
	unsigned w = (unsigned)h[16] << 24 | (unsigned)h[17] << 16 | (unsigned)h[18] << 8 | h[19];
	unsigned ht = (unsigned)h[20] << 24 | (unsigned)h[21] << 16 | (unsigned)h[22] << 8 | h[23];
	int sw, sh;
	svg_size(svg, &sw, &sh);
	if (sw <= 0 || (int)w != sw || (int)ht != sh)
		fail("%s: %ux%u pixels, the SVG declares %dx%d", path, w, ht, sw, sh);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: check_variants DIR RUNS NAME=LO:HI|NAME=failed... [--blob-ratio A B MAX] [--png FILE]\n");
		return 2;
	}
	const char *dir = argv[1];
	int runs = atoi(argv[2]);
	static Spec specs[MAX_SPECS];
	int n = 0;
	const char *ra = NULL, *rb = NULL, *png = NULL;
	double rmax = 0;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--png") && i + 1 < argc) {
			png = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--blob-ratio") && i + 3 < argc) {
			ra = argv[i + 1];
			rb = argv[i + 2];
			rmax = atof(argv[i + 3]);
			i += 3;
			continue;
		}
		const char *eq = strchr(argv[i], '=');
		if (!eq || n >= MAX_SPECS) {
			fprintf(stderr, "check_variants: bad spec '%s'\n", argv[i]);
			return 2;
		}
		specs[n].failed = !strcmp(eq + 1, "failed");
		if (!specs[n].failed && sscanf(eq + 1, "%lf:%lf", &specs[n].lo, &specs[n].hi) != 2) {
			fprintf(stderr, "check_variants: bad spec '%s'\n", argv[i]);
			return 2;
		}
		snprintf(specs[n].name, sizeof specs[n].name, "%.*s", (int)(eq - argv[i]), argv[i]);
		specs[n].blob = 0;
		n++;
	}
	cJSON *json = check_json(dir, specs, n, runs);
	check_csv(dir, specs, n);
	char *svg = check_svg(dir, json);
	if (png && svg)
		check_png(png, svg);
	free(svg);
	cJSON_Delete(json);
	if (ra) {
		double a = 0, b = 0;
		for (int i = 0; i < n; i++) {
			if (!strcmp(specs[i].name, ra))
				a = specs[i].blob;
			if (!strcmp(specs[i].name, rb))
				b = specs[i].blob;
		}
		if (!(b > 0 && a / b <= rmax))
			fail("blob of %s / blob of %s = %g, above %g", ra, rb, b > 0 ? a / b : INFINITY, rmax);
	}
	if (!failures)
		printf("check_variants: %s: %d results, JSON, CSV, SVG%s ok\n", dir, n, png ? " and PNG" : "");
	return failures ? 1 : 0;
}
