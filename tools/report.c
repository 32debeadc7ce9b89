/*
 * report.c — the results of `lfm2c variants` as a table, JSON, CSV and an
 * SVG bar chart (measure.h).
 *
 * One set of numbers, four renderings: the table is for people, the JSON
 * for programs (cJSON, every number finite or the variant marked failed),
 * the CSV for spreadsheets and bench.sh's awk, the SVG for a glance.  The
 * SVG is written by hand — two panels of horizontal bars (decode tok/s,
 * prefill tok/s), one bar per variant, labels XML-escaped — because a chart
 * of a few bars needs no library.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "measure.h"

/* ------------------------------------------------------------ a growing string */

typedef struct Buf {
	char *s;
	size_t len, cap;
	bool oom;
} Buf;

static void bprintf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(Buf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static char *bdone(Buf *b)
{
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	return b->s ? b->s : strdup("");
}

static double mib(uint64_t bytes)
{
	return (double)bytes / 1048576.0;
}

/* ------------------------------------------------------------ table */

void report_conditions(char *buf, size_t cap, const ReportInfo *ri)
{
	const MeasureOpts *o = ri->opts;
	snprintf(buf, cap, "weights %s; blob evicted from the page cache before every run (fdatasync + "
	         "posix_fadvise DONTNEED; at most %.1f%% still resident), each run a fresh process",
	         o->use_mmap ? "mmap'd (--mmap)" : "read into memory (--no-mmap)", 100.0 * ri->resident_max);
}

/* "1, 2" */
static void thread_list(char *buf, size_t cap, const ReportInfo *ri)
{
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < ri->n_threads && at < cap; i++)
		at += (size_t)snprintf(buf + at, cap - at, "%s%d", i ? ", " : "", ri->threads[i]);
}

void report_table(FILE *f, const ReportInfo *ri, const VariantResult *v, int n)
{
	const MeasureOpts *o = ri->opts;
	char cond[512];
	report_conditions(cond, sizeof cond, ri);
	fprintf(f, "model %s (hash %016" PRIx64 "), target %s\n", ri->model, ri->model_hash, ri->target);
	char thr[128];
	thread_list(thr, sizeof thr, ri);
	fprintf(f, "threads %s; medians of %d run(s): prefill %d tokens in one chunk, decode %d tokens\n", thr,
	        o->runs, o->prefill, o->decode);
	fprintf(f, "%s\n", cond);
	fprintf(f, "accuracy vs the f32 build (f32 weights, no fusion) on %d sequence(s), %d positions: max |logit error| / max |logit|, "
	        "mean KL(f32 || variant)\n\n", o->seqs, ri->positions);
	int w = 7;
	for (int i = 0; i < n; i++)
		if ((int)strlen(v[i].name) > w)
			w = (int)strlen(v[i].name);
	fprintf(f, "%-*s %7s %12s %13s %24s %10s %11s %10s %7s\n", w, "variant", "threads", "decode tok/s",
	        "prefill tok/s", "size MiB (blob + code)", "compile s", "max err", "KLD", "top-1");
	bool any_cached = false;
	for (int i = 0; i < n; i++) {
		const VariantResult *r = &v[i];
		if (r->error[0]) {
			fprintf(f, "%-*s %7d failed: %s\n", w, r->name, r->threads, r->error);
			continue;
		}
		char size[64], comp[32];
		snprintf(size, sizeof size, "%.2f (%.2f + %.2f)", mib(r->build.blob_bytes + r->build.code_bytes),
		         mib(r->build.blob_bytes), mib(r->build.code_bytes));
		snprintf(comp, sizeof comp, "%.2f%s", r->build.compile_s, r->build.cached ? "*" : "");
		any_cached |= r->build.cached;
		fprintf(f, "%-*s %7d %12.2f %13.2f %24s %10s %11.3e %10.3e %6.1f%%\n", w, r->name, r->threads, r->decode,
		        r->prefill, size, comp, r->acc.max_rel, r->acc.kld_mean, 100.0 * r->acc.top1);
	}
	if (any_cached)
		fprintf(f, "* served by the build cache (not a fresh compile; --no-cache measures one)\n");
}

/* ------------------------------------------------------------ JSON */

static void add_runs(cJSON *obj, const char *name, const double *v, int n)
{
	cJSON *a = cJSON_AddArrayToObject(obj, name);
	for (int i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
}

char *report_json(const ReportInfo *ri, const VariantResult *v, int n)
{
	const MeasureOpts *o = ri->opts;
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	char hash[32], cond[512];
	snprintf(hash, sizeof hash, "%016" PRIx64, ri->model_hash);
	report_conditions(cond, sizeof cond, ri);
	cJSON_AddStringToObject(root, "model", ri->model);
	cJSON_AddStringToObject(root, "model_hash", hash);
	cJSON_AddStringToObject(root, "target", ri->target);
	cJSON_AddStringToObject(root, "backend", o->backend ? o->backend : "default");
	cJSON *thr = cJSON_AddArrayToObject(root, "threads");
	for (int i = 0; thr && i < ri->n_threads; i++)
		cJSON_AddItemToArray(thr, cJSON_CreateNumber(ri->threads[i]));
	cJSON_AddNumberToObject(root, "runs", o->runs);
	cJSON_AddNumberToObject(root, "prefill_tokens", o->prefill);
	cJSON_AddNumberToObject(root, "decode_tokens", o->decode);
	cJSON_AddStringToObject(root, "weights", o->use_mmap ? "mmap" : "read into memory");
	cJSON_AddBoolToObject(root, "cold", true);
	cJSON_AddNumberToObject(root, "resident_after_evict_max", ri->resident_max);
	cJSON_AddStringToObject(root, "conditions", cond);
	cJSON *val = cJSON_AddObjectToObject(root, "validation");
	if (val) {
		cJSON_AddStringToObject(val, "reference", "f32 build: f32 weights, no fusion, default tiles");
		cJSON_AddNumberToObject(val, "sequences", o->seqs);
		cJSON_AddNumberToObject(val, "sequence_length", o->seq_len);
		cJSON_AddNumberToObject(val, "positions", ri->positions);
	}
	cJSON *arr = cJSON_AddArrayToObject(root, "variants");
	for (int i = 0; arr && i < n; i++) {
		const VariantResult *r = &v[i];
		cJSON *x = cJSON_CreateObject();
		if (!x)
			break;
		cJSON_AddItemToArray(arr, x);
		cJSON_AddStringToObject(x, "name", r->name);
		if (r->schedule)
			cJSON_AddStringToObject(x, "schedule", r->schedule);
		else
			cJSON_AddNullToObject(x, "schedule");
		cJSON_AddNumberToObject(x, "threads", r->threads);
		if (r->error[0]) {
			cJSON_AddStringToObject(x, "error", r->error);
			continue;
		}
		cJSON_AddNumberToObject(x, "decode_tok_s", r->decode);
		cJSON_AddNumberToObject(x, "prefill_tok_s", r->prefill);
		cJSON_AddNumberToObject(x, "load_s", r->load);
		cJSON_AddNumberToObject(x, "blob_bytes", (double)r->build.blob_bytes);
		cJSON_AddNumberToObject(x, "code_bytes", (double)r->build.code_bytes);
		cJSON_AddNumberToObject(x, "artifact_bytes", (double)(r->build.blob_bytes + r->build.code_bytes));
		cJSON_AddNumberToObject(x, "compile_s", r->build.compile_s);
		cJSON_AddBoolToObject(x, "compile_cached", r->build.cached);
		/* cJSON writes a non-finite number as null; a failed accuracy is an error instead */
		cJSON_AddNumberToObject(x, "max_rel_error", isfinite(r->acc.max_rel) ? r->acc.max_rel : 1e308);
		cJSON_AddNumberToObject(x, "kld_mean", isfinite(r->acc.kld_mean) ? r->acc.kld_mean : 1e308);
		cJSON_AddNumberToObject(x, "top1", r->acc.top1);
		cJSON_AddBoolToObject(x, "finite", r->acc.finite);
		add_runs(x, "decode_runs", r->time.decode, r->time.n);
		add_runs(x, "prefill_runs", r->time.prefill, r->time.n);
		add_runs(x, "load_runs", r->time.load, r->time.n);
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *out = realloc(text, len + 2);   /* a final newline */
	if (!out) {
		free(text);
		return NULL;
	}
	out[len] = '\n';
	out[len + 1] = 0;
	return out;
}

/* ------------------------------------------------------------ CSV */

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void csv_field(Buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		bprintf(b, "%s", s);
		return;
	}
	bprintf(b, "\"");
	for (; *s; s++)
		bprintf(b, *s == '"' ? "\"\"" : "%c", *s);
	bprintf(b, "\"");
}

char *report_csv(const VariantResult *v, int n)
{
	Buf b = {0};
	bprintf(&b, "variant,schedule,threads,decode_tok_s,prefill_tok_s,load_s,blob_bytes,code_bytes,artifact_bytes,"
	        "compile_s,compile_cached,max_rel_error,kld_mean,top1,error\n");
	for (int i = 0; i < n; i++) {
		const VariantResult *r = &v[i];
		csv_field(&b, r->name);
		bprintf(&b, ",");
		csv_field(&b, r->schedule ? r->schedule : "");
		bprintf(&b, ",%d", r->threads);
		if (r->error[0]) {
			bprintf(&b, ",,,,,,,,,,,,");
			csv_field(&b, r->error);
			bprintf(&b, "\n");
			continue;
		}
		bprintf(&b, ",%.3f,%.3f,%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%d,%.6e,%.6e,%.6f,\n", r->decode,
		        r->prefill, r->load, r->build.blob_bytes, r->build.code_bytes,
		        r->build.blob_bytes + r->build.code_bytes, r->build.compile_s, r->build.cached ? 1 : 0,
		        r->acc.max_rel, r->acc.kld_mean, r->acc.top1);
	}
	return bdone(&b);
}

/* ------------------------------------------------------------ SVG */

static void xml_text(Buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': bprintf(b, "&lt;"); break;
		case '>': bprintf(b, "&gt;"); break;
		case '&': bprintf(b, "&amp;"); break;
		case '"': bprintf(b, "&quot;"); break;
		case '\'': bprintf(b, "&apos;"); break;
		default:
			if ((unsigned char)*s >= 0x20)
				bprintf(b, "%c", *s);
		}
	}
}

enum { SVG_LABEL = 170, SVG_PANEL = 330, SVG_GAP = 30, SVG_ROW = 26, SVG_TOP = 56 };

/* One panel of bars at x0: values[i] of variant i (failed ones left empty). */
static void svg_panel(Buf *b, int x0, const char *title, const char *color, const VariantResult *v, int n,
                      bool decode)
{
	double max = 0;
	for (int i = 0; i < n; i++) {
		double x = decode ? v[i].decode : v[i].prefill;
		if (!v[i].error[0] && isfinite(x) && x > max)
			max = x;
	}
	bprintf(b, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", x0, SVG_TOP - 12);
	xml_text(b, title);
	bprintf(b, "</text>\n");
	for (int i = 0; i < n; i++) {
		int y = SVG_TOP + i * SVG_ROW;
		double x = decode ? v[i].decode : v[i].prefill;
		if (v[i].error[0] || !isfinite(x) || max <= 0) {
			bprintf(b, "<text x=\"%d\" y=\"%d\" fill=\"#a00\">failed</text>\n", x0 + 4, y + 15);
			continue;
		}
		int w = (int)lround((SVG_PANEL - 70) * x / max);
		bprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x0, y + 3,
		        w > 1 ? w : 1, SVG_ROW - 6, color);
		bprintf(b, "<text x=\"%d\" y=\"%d\">%.1f</text>\n", x0 + (w > 1 ? w : 1) + 4, y + 17, x);
	}
}

char *report_svg(const ReportInfo *ri, const VariantResult *v, int n)
{
	Buf b = {0};
	int width = SVG_LABEL + 2 * SVG_PANEL + SVG_GAP, height = SVG_TOP + n * SVG_ROW + 40;
	bprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	bprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"sans-serif\" font-size=\"13\">\n", width, height, width, height);
	bprintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height);
	bprintf(&b, "<text x=\"8\" y=\"20\" font-size=\"15\" font-weight=\"bold\">lfm2c variants: ");
	xml_text(&b, ri->model);
	char thr[128];
	thread_list(thr, sizeof thr, ri);
	bprintf(&b, " (threads %s, medians of %d, cold weights)</text>\n", thr, ri->opts->runs);
	for (int i = 0; i < n; i++) {
		bprintf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", SVG_LABEL - 8, SVG_TOP + i * SVG_ROW + 17);
		xml_text(&b, v[i].name);
		if (ri->n_threads > 1)
			bprintf(&b, ", %d thr", v[i].threads);
		bprintf(&b, "</text>\n");
	}
	svg_panel(&b, SVG_LABEL, "decode tok/s", "#3b6fb6", v, n, true);
	svg_panel(&b, SVG_LABEL + SVG_PANEL + SVG_GAP, "prefill tok/s", "#d9822b", v, n, false);
	bprintf(&b, "<text x=\"8\" y=\"%d\" font-size=\"11\" fill=\"#555\">prefill %d tokens, decode %d tokens; "
	        "weights %s</text>\n", height - 12, ri->opts->prefill, ri->opts->decode,
	        ri->opts->use_mmap ? "mmap'd" : "read into memory");
	bprintf(&b, "</svg>\n");
	return bdone(&b);
}
