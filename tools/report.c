/*
 * report.c — the results of `lfm2c variants` as a table, JSON, CSV and an
 * SVG picture (measure.h).
 *
 * One set of numbers, four renderings: the table is for people, the JSON
 * for programs (cJSON, every number finite or the variant marked failed),
 * the CSV for spreadsheets and bench.sh's awk, the SVG for a glance.  The
 * SVG is written by hand — the trade-off a user picks a variant by (mean
 * KLD against decode and prefill tok/s, size as area, the Pareto-optimal
 * ones marked; geometry from plot.h), then the rates as bars, labels
 * XML-escaped — because a chart of a few points needs no library.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "measure.h"
#include "plot.h"

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
	bool text = o->eval.path != NULL;
	if (!text)
		fprintf(f, "accuracy vs the f32 build (f32 weights, no fusion) on %d sequence(s), %d positions: max |logit error| / max |logit|, "
		        "mean KL(f32 || variant)\n\n", o->seqs, ri->positions);
	else
		fprintf(f, "accuracy vs the f32 build (f32 weights, no fusion): max |logit error| / max |logit| on %d sequence(s), "
		        "%d positions; mean KL(f32 || variant) +- its error and top-1 on %s: %d chunks of %d, %d predictions "
		        "(lfm2-run --perplexity --kld); PPL on the text (f32: %.4f +- %.4f) and PPL - PPL(f32)\n\n", o->seqs,
		        ri->positions, o->eval.path, ri->mi->text_chunks, ri->mi->text_ctx, ri->mi->text_predictions,
		        ri->text_ref.ppl, ri->text_ref.ppl_err);
	int w = 7;
	for (int i = 0; i < n; i++)
		if ((int)strlen(v[i].name) > w)
			w = (int)strlen(v[i].name);
	fprintf(f, "%-*s %7s %12s %13s %24s %10s %11s %10s", w, "variant", "threads", "decode tok/s",
	        "prefill tok/s", "size MiB (blob + code)", "compile s", "max err", "KLD");
	if (text)
		fprintf(f, " %8s", "+-");
	fprintf(f, " %7s", "top-1");
	if (text)
		fprintf(f, " %10s %10s", "PPL", "dPPL");
	fputc('\n', f);
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
		fprintf(f, "%-*s %7d %12.2f %13.2f %24s %10s %11.3e %10.3e", w, r->name, r->threads, r->decode, r->prefill,
		        size, comp, r->acc.max_rel, r->acc.kld_mean);
		if (text)
			fprintf(f, " %8.1e", r->acc.kld_err);
		fprintf(f, " %6.1f%%", 100.0 * r->acc.top1);
		if (text)
			fprintf(f, " %10.4f %+10.4f", r->acc.ppl, r->acc.dppl);
		fputc('\n', f);
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

/* --eval-text: the chunks and the f32 build's perplexity on them. */
static void text_json(cJSON *val, const ReportInfo *ri)
{
	cJSON *t = cJSON_AddObjectToObject(val, "eval_text");
	if (!t)
		return;
	char hash[32];
	snprintf(hash, sizeof hash, "%016" PRIx64, ri->mi->text_hash);
	cJSON_AddStringToObject(t, "file", ri->opts->eval.path);
	cJSON_AddNumberToObject(t, "ctx", ri->mi->text_ctx);
	cJSON_AddNumberToObject(t, "chunks", ri->mi->text_chunks);
	cJSON_AddNumberToObject(t, "predictions", ri->mi->text_predictions);
	cJSON_AddStringToObject(t, "tokens_hash", hash);
	cJSON_AddNumberToObject(t, "f32_ppl", ri->text_ref.ppl);
	cJSON_AddNumberToObject(t, "f32_ppl_err", ri->text_ref.ppl_err);
}

/* --eval-text: a variant's figures on the text (kld_mean and top1 are its). */
static void text_accuracy_json(cJSON *x, const Accuracy *a)
{
	cJSON_AddNumberToObject(x, "kld_err", a->kld_err);
	cJSON_AddNumberToObject(x, "kld_p99", a->kld_p99);
	cJSON_AddNumberToObject(x, "kld_max", a->kld_max);
	cJSON_AddNumberToObject(x, "ppl", a->ppl);
	cJSON_AddNumberToObject(x, "ppl_err", a->ppl_err);
	cJSON_AddNumberToObject(x, "dppl", a->dppl);
	cJSON_AddNumberToObject(x, "dppl_err", a->dppl_err);
	cJSON_AddNumberToObject(x, "sequences_kld_mean", a->seq_kld_mean);
	cJSON_AddNumberToObject(x, "sequences_top1", a->seq_top1);
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
		if (o->eval.path)
			text_json(val, ri);
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
		if (r->acc.text)
			text_accuracy_json(x, &r->acc);
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

char *report_csv(const ReportInfo *ri, const VariantResult *v, int n)
{
	Buf b = {0};
	bool text = ri->opts->eval.path != NULL;
	bprintf(&b, "variant,schedule,threads,decode_tok_s,prefill_tok_s,load_s,blob_bytes,code_bytes,artifact_bytes,"
	        "compile_s,compile_cached,max_rel_error,kld_mean,top1,error%s\n",
	        text ? ",kld_err,kld_p99,kld_max,ppl,ppl_err,dppl,dppl_err" : "");
	for (int i = 0; i < n; i++) {
		const VariantResult *r = &v[i];
		csv_field(&b, r->name);
		bprintf(&b, ",");
		csv_field(&b, r->schedule ? r->schedule : "");
		bprintf(&b, ",%d", r->threads);
		if (r->error[0]) {
			bprintf(&b, ",,,,,,,,,,,,");
			csv_field(&b, r->error);
			bprintf(&b, "%s\n", text ? ",,,,,,," : "");
			continue;
		}
		bprintf(&b, ",%.3f,%.3f,%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%d,%.6e,%.6e,%.6f,", r->decode,
		        r->prefill, r->load, r->build.blob_bytes, r->build.code_bytes,
		        r->build.blob_bytes + r->build.code_bytes, r->build.compile_s, r->build.cached ? 1 : 0,
		        r->acc.max_rel, r->acc.kld_mean, r->acc.top1);
		if (text)
			bprintf(&b, ",%.6e,%.6e,%.6e,%.6f,%.6f,%.6f,%.6f", r->acc.kld_err, r->acc.kld_p99, r->acc.kld_max,
			        r->acc.ppl, r->acc.ppl_err, r->acc.dppl, r->acc.dppl_err);
		bprintf(&b, "\n");
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

/*
 * The picture, top to bottom: the title; two scatters side by side, mean
 * KLD (log) against decode tok/s and against prefill tok/s, point area
 * proportional to size, the Pareto-optimal variants outlined and
 * labelled; their legend; the bars of the two rates per variant.
 *
 * The scatters carry their geometry for programs (tests/variants/
 * check_variants.c recomputes every point and label from the JSON): each
 * panel is a <g id="scatter-decode|prefill"> with data-plot (the frame, in
 * which labels stay), data-x and data-x-px (tok/s at the left and right
 * ends of the mapping and their pixels), data-y-log and data-y-px (the
 * decades at the bottom and top and their pixels; KLD 0 sits on the
 * bottom one, the floor, whose tick reads "exact"), data-r-max and
 * data-max-bytes (the largest variant's radius and size: area ∝ bytes);
 * each point a <circle class="point"> with data-variant, data-series,
 * data-threads, data-bytes and data-pareto; each label a <text
 * class="label"> whose box is plot_text_box of its text, x, y and
 * font-size (also written out as data-box).
 */
enum {
	SVG_WIDTH = 920,
	SC_PANEL = 460,          /* a scatter panel's width */
	SC_LEFT = 72, SC_TOP = 84,   /* its frame's corner: from the panel's left, from the top */
	SC_W = 364, SC_H = 290,  /* the frame */
	SC_FONT = 11,            /* ticks and labels */
	BAR_LABEL = 170, BAR_PANEL = 330, BAR_GAP = 30, BAR_ROW = 26,   /* BAR_LABEL: at least */
};
#define SC_R_MAX 15.0                /* the largest variant's radius */
#define SC_PAD (SC_R_MAX + 3)        /* frame to data: every point inside the frame */

static const char *const series_colors[] = {"#3b6fb6", "#d9822b", "#3a9a5b", "#b8403b",
                                            "#7b5ea7", "#8c6d3f", "#c45ca2", "#5f6b73"};
#define N_COLORS (int)(sizeof series_colors / sizeof series_colors[0])

/* The series of a result: what its points are grouped, coloured and
 * compared (Pareto) by.  The thread count today; a device joins the key
 * here once variants runs on several. */
static void series_key(const VariantResult *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%d thread%s", r->threads, r->threads == 1 ? "" : "s");
}

typedef char SeriesKey[64];

/* What both scatters draw: the results that did not fail. */
typedef struct Scatter {
	const VariantResult **r;
	int *series;           /* index into keys */
	bool *pareto;          /* optimal in (decode tok/s, KLD, size) within its series */
	int n;
	SeriesKey *keys;       /* in order of first appearance */
	int n_series;
	double max_bytes;
	int dlo, dhi;          /* the KLD axis: decades 10^dlo .. 10^dhi */
	bool has_exact;        /* a KLD of 0: drawn on the floor, dlo */
} Scatter;

static double artifact_bytes(const VariantResult *r)
{
	return (double)(r->build.blob_bytes + r->build.code_bytes);
}

static int series_index(Scatter *sc, const VariantResult *r)
{
	SeriesKey key;
	series_key(r, key, sizeof key);
	for (int s = 0; s < sc->n_series; s++)
		if (!strcmp(sc->keys[s], key))
			return s;
	memcpy(sc->keys[sc->n_series], key, sizeof key);
	return sc->n_series++;
}

static void scatter_free(Scatter *sc)
{
	free(sc->r);
	free(sc->series);
	free(sc->pareto);
	free(sc->keys);
}

/* -1: out of memory */
static int scatter_init(Scatter *sc, const VariantResult *v, int n)
{
	memset(sc, 0, sizeof *sc);
	size_t k = n > 0 ? (size_t)n : 1;
	sc->r = malloc(k * sizeof *sc->r);
	sc->series = malloc(k * sizeof *sc->series);
	sc->pareto = malloc(k * sizeof *sc->pareto);
	sc->keys = malloc(k * sizeof *sc->keys);
	PlotTradeoff *t = calloc(k, sizeof *t);
	double *kld = calloc(k, sizeof *kld);
	if (!sc->r || !sc->series || !sc->pareto || !sc->keys || !t || !kld) {
		free(t);
		free(kld);
		scatter_free(sc);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const VariantResult *r = &v[i];
		if (r->error[0] || !isfinite(r->decode) || !isfinite(r->prefill) || !isfinite(r->acc.kld_mean))
			continue;
		int j = sc->n++;
		sc->r[j] = r;
		sc->series[j] = series_index(sc, r);
		kld[j] = r->acc.kld_mean;
		t[j] = (PlotTradeoff){r->decode, r->acc.kld_mean, artifact_bytes(r), sc->series[j]};
		if (t[j].size > sc->max_bytes)
			sc->max_bytes = t[j].size;
	}
	plot_pareto(t, sc->n, sc->pareto);
	plot_log_range(kld, sc->n, &sc->dlo, &sc->dhi, &sc->has_exact);
	free(t);
	free(kld);
	return 0;
}

/* A tick's number: in thousands ("52k", "5k"; "0") on an axis reaching
 * 10000, so one axis never mixes "5000" and "10k"; else as is ("1500",
 * "0.25"). */
static void tick_text(char *buf, size_t cap, double v, bool thousands)
{
	if (thousands && v != 0)
		snprintf(buf, cap, "%gk", v / 1000);
	else
		snprintf(buf, cap, "%g", v);
}

static void svg_grid_line(Buf *b, double x1, double y1, double x2, double y2, bool dashed)
{
	bprintf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"%s/>\n", x1, y1, x2, y2,
	        dashed ? " stroke-dasharray=\"4 3\"" : "");
}

/* The speed axis: a grid line and a label per tick, the title below. */
static void svg_x_axis(Buf *b, const PlotAxis *ax, double step, PlotBox f, const char *title)
{
	int ticks = (int)lround((ax->hi - ax->lo) / step);
	for (int i = 0; i <= ticks; i++) {
		double v = ax->lo + i * step, x = plot_map(ax, v);
		char t[32];
		tick_text(t, sizeof t, v, ax->hi >= 10000);
		svg_grid_line(b, x, f.y, x, f.y + f.h, false);
		bprintf(b, "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", x,
		        f.y + f.h + 15, t);
	}
	bprintf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"12\">", f.x + f.w / 2,
	        f.y + f.h + 34);
	xml_text(b, title);
	bprintf(b, "</text>\n");
}

/* The KLD axis: decades (at most about 8 labelled), the floor "exact"
 * when a variant has KLD 0, the title turned along the axis. */
static void svg_y_axis(Buf *b, const PlotAxis *ay, const Scatter *sc, PlotBox f, double title_x)
{
	int first = sc->dlo + (sc->has_exact ? 1 : 0);
	int every = (sc->dhi - first + 7) / 8;
	every = every < 1 ? 1 : every;
	for (int k = first; k <= sc->dhi; k += every) {
		double y = plot_map(ay, pow(10, k));
		svg_grid_line(b, f.x, y, f.x + f.w, y, false);
		bprintf(b, "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">1e%d</text>\n", f.x - 6,
		        y + 4, k);
	}
	if (sc->has_exact) {
		double y = plot_map(ay, 0);
		svg_grid_line(b, f.x, y, f.x + f.w, y, true);
		bprintf(b, "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">exact</text>\n", f.x - 6,
		        y + 4);
	}
	double yc = f.y + f.h / 2;
	bprintf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"12\" "
	        "transform=\"rotate(-90 %.2f %.2f)\">mean KLD vs the f32 build (log)</text>\n", title_x, yc, title_x, yc);
}

static void svg_point(Buf *b, const Scatter *sc, int i, PlotCircle c)
{
	const VariantResult *r = sc->r[i];
	const char *color = series_colors[sc->series[i] % N_COLORS];
	bprintf(b, "<circle class=\"point\" cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\" ", c.cx, c.cy, c.r, color);
	if (sc->pareto[i])
		bprintf(b, "fill-opacity=\"0.8\" stroke=\"#000\" stroke-width=\"1.5\" ");
	else
		bprintf(b, "fill-opacity=\"0.3\" stroke=\"%s\" ", color);
	bprintf(b, "data-variant=\"");
	xml_text(b, r->name);
	bprintf(b, "\" data-series=\"");
	xml_text(b, sc->keys[sc->series[i]]);
	bprintf(b, "\" data-threads=\"%d\" data-bytes=\"%.0f\" data-pareto=\"%d\"><title>", r->threads,
	        artifact_bytes(r), sc->pareto[i] ? 1 : 0);
	xml_text(b, r->name);
	bprintf(b, ", %s: decode %.1f tok/s, prefill %.1f tok/s, KLD %.3e, %.2f MiB</title></circle>\n",
	        sc->keys[sc->series[i]], r->decode, r->prefill, r->acc.kld_mean, mib((uint64_t)artifact_bytes(r)));
}

/* A thin line from the edge of c to the nearest point of a label placed away from it. */
static void svg_leader(Buf *b, PlotCircle c, PlotBox l)
{
	double nx = fmax(l.x, fmin(c.cx, l.x + l.w)), ny = fmax(l.y, fmin(c.cy, l.y + l.h));
	double dx = nx - c.cx, dy = ny - c.cy, d = sqrt(dx * dx + dy * dy);
	if (d <= c.r)
		return;
	bprintf(b, "<line class=\"leader\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#888\" "
	        "stroke-width=\"0.8\"/>\n", c.cx + dx / d * c.r, c.cy + dy / d * c.r, nx, ny);
}

/* Labels, the ones that must be there first (Pareto-optimal points, exact
 * ones: "NAME (exact)"), anywhere in the frame if not beside their point;
 * then the others' names where there is room beside them.  Returns how
 * many required labels found no room. */
static int svg_labels(Buf *b, const Scatter *sc, const PlotCircle *c, PlotBox frame)
{
	PlotBox *placed = malloc((size_t)(sc->n > 0 ? sc->n : 1) * sizeof *placed);
	if (!placed) {
		b->oom = true;
		return 0;
	}
	int n_placed = 0, missing = 0;
	PlotBox inner = {frame.x + 2, frame.y + 2, frame.w - 4, frame.h - 4};
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < sc->n; i++) {
			const VariantResult *r = sc->r[i];
			bool exact = r->acc.kld_mean <= 0, required = sc->pareto[i] || exact;
			if (required != (pass == 0))
				continue;
			char text[160];
			snprintf(text, sizeof text, "%s%s", r->name, exact ? " (exact)" : "");
			PlotScene s = {inner, c, sc->n, placed, n_placed};
			PlotBox box;
			int rc = plot_place_label(&s, c[i], plot_text_width(text, SC_FONT),
			                          (PLOT_ASCENT_EM + PLOT_DESCENT_EM) * SC_FONT, required, &box);
			if (rc < 0) {
				missing += required;
				continue;
			}
			placed[n_placed++] = box;
			if (rc == 1)
				svg_leader(b, c[i], box);
			bprintf(b, "<text class=\"label\" x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" fill=\"%s\" data-variant=\"",
			        box.x, box.y + PLOT_ASCENT_EM * SC_FONT, SC_FONT, required ? "#000" : "#666");
			xml_text(b, r->name);
			bprintf(b, "\" data-series=\"");
			xml_text(b, sc->keys[sc->series[i]]);
			bprintf(b, "\" data-box=\"%.2f %.2f %.2f %.2f\">", box.x, box.y, box.w, box.h);
			xml_text(b, text);
			bprintf(b, "</text>\n");
		}
	free(placed);
	return missing;
}

/* Points drawn largest first, so a small one is never hidden under a big one. */
typedef struct ByRadius {
	double r;
	int i;
} ByRadius;

static int by_radius_desc(const void *a, const void *b)
{
	const ByRadius *x = a, *y = b;
	return x->r < y->r ? 1 : x->r > y->r ? -1 : x->i - y->i;
}

static void svg_points(Buf *b, const Scatter *sc, const PlotCircle *c)
{
	ByRadius *order = malloc((size_t)(sc->n > 0 ? sc->n : 1) * sizeof *order);
	if (!order) {
		b->oom = true;
		return;
	}
	for (int i = 0; i < sc->n; i++)
		order[i] = (ByRadius){c[i].r, i};
	qsort(order, (size_t)sc->n, sizeof *order, by_radius_desc);
	for (int k = 0; k < sc->n; k++)
		svg_point(b, sc, order[k].i, c[order[k].i]);
	free(order);
}

/* One scatter panel at x0: KLD against the decode or the prefill rate.
 * Returns how many required labels found no room. */
static int svg_scatter(Buf *b, const Scatter *sc, int x0, bool decode)
{
	const char *what = decode ? "decode" : "prefill";
	PlotBox f = {x0 + SC_LEFT, SC_TOP, SC_W, SC_H};
	double smin = INFINITY, smax = -INFINITY;
	for (int i = 0; i < sc->n; i++) {
		double s = decode ? sc->r[i]->decode : sc->r[i]->prefill;
		smin = fmin(smin, s);
		smax = fmax(smax, s);
	}
	if (!sc->n)
		smin = smax = 0;
	double lo, hi, step;
	plot_linear_range(smin, smax, 6, &lo, &hi, &step);
	PlotAxis ax = {lo, hi, f.x + SC_PAD, f.x + f.w - SC_PAD, false};
	PlotAxis ay = {sc->dlo, sc->dhi, f.y + f.h - SC_PAD, f.y + SC_PAD, true};
	bprintf(b, "<g id=\"scatter-%s\" class=\"scatter\" data-speed=\"%s_tok_s\" data-plot=\"%g %g %g %g\" "
	        "data-x=\"%.17g %.17g\" data-x-px=\"%.17g %.17g\" data-y-log=\"%d %d\" data-y-px=\"%.17g %.17g\" "
	        "data-r-max=\"%g\" data-max-bytes=\"%.0f\" font-size=\"%d\">\n", what, what, f.x, f.y, f.w, f.h,
	        ax.lo, ax.hi, ax.p0, ax.p1, sc->dlo, sc->dhi, ay.p0, ay.p1, SC_R_MAX, sc->max_bytes, SC_FONT);
	bprintf(b, "<text x=\"%g\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">accuracy vs %s speed</text>\n", f.x,
	        SC_TOP - 10, what);
	bprintf(b, "<rect class=\"frame\" x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#999\"/>\n",
	        f.x, f.y, f.w, f.h);
	char title[64];
	snprintf(title, sizeof title, "%s tok/s", what);
	svg_x_axis(b, &ax, step, f, title);
	svg_y_axis(b, &ay, sc, f, x0 + 16);
	int missing = 0;
	PlotCircle *c = malloc((size_t)(sc->n > 0 ? sc->n : 1) * sizeof *c);
	if (!c)
		b->oom = true;
	else {
		for (int i = 0; i < sc->n; i++) {
			const VariantResult *r = sc->r[i];
			c[i] = (PlotCircle){plot_map(&ax, decode ? r->decode : r->prefill), plot_map(&ay, r->acc.kld_mean),
			                    plot_radius(artifact_bytes(r), sc->max_bytes, SC_R_MAX)};
		}
		svg_points(b, sc, c);
		missing = svg_labels(b, sc, c, f);
		free(c);
	}
	if (!sc->n)
		bprintf(b, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" fill=\"#a00\">no variant measured</text>\n",
		        f.x + f.w / 2, f.y + f.h / 2);
	bprintf(b, "</g>\n");
	return missing;
}

/* The series' colours, what the outline and the fading mean, what the area means. */
static void svg_legend(Buf *b, const Scatter *sc, int y, int missing)
{
	bprintf(b, "<g id=\"legend\" font-size=\"11\">\n");
	double x = SC_LEFT;
	for (int s = 0; s < sc->n_series; s++) {
		bprintf(b, "<circle cx=\"%.2f\" cy=\"%d\" r=\"6\" fill=\"%s\" fill-opacity=\"0.8\"/>\n", x + 6, y - 4,
		        series_colors[s % N_COLORS]);
		bprintf(b, "<text x=\"%.2f\" y=\"%d\">", x + 16, y);
		xml_text(b, sc->keys[s]);
		bprintf(b, "</text>\n");
		x += 16 + plot_text_width(sc->keys[s], 11) + 14;
	}
	bprintf(b, "<circle cx=\"%.2f\" cy=\"%d\" r=\"6\" fill=\"#bbb\" stroke=\"#000\" stroke-width=\"1.5\"/>\n", x + 6,
	        y - 4);
	bprintf(b, "<text x=\"%.2f\" y=\"%d\">outlined and labelled: Pareto-optimal in decode tok/s, KLD and size, "
	        "within its series</text>\n", x + 16, y);
	bprintf(b, "<text x=\"%d\" y=\"%d\">faded: dominated by another variant of its series (no worse in all "
	        "three, better in one); area ∝ size (blob + code), the largest %.2f MiB%s</text>\n", SC_LEFT, y + 18,
	        mib((uint64_t)sc->max_bytes), missing ? "; some labels found no room: hover the points" : "");
	bprintf(b, "</g>\n");
}

/* One panel of bars at (x0, y0): the rate of each variant (failed ones left empty). */
static void svg_bars(Buf *b, int x0, int y0, const char *title, const char *color, const VariantResult *v, int n,
                     bool decode)
{
	double max = 0;
	for (int i = 0; i < n; i++) {
		double x = decode ? v[i].decode : v[i].prefill;
		if (!v[i].error[0] && isfinite(x) && x > max)
			max = x;
	}
	bprintf(b, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", x0, y0 - 12);
	xml_text(b, title);
	bprintf(b, "</text>\n");
	for (int i = 0; i < n; i++) {
		int y = y0 + i * BAR_ROW;
		double x = decode ? v[i].decode : v[i].prefill;
		if (v[i].error[0] || !isfinite(x) || max <= 0) {
			bprintf(b, "<text x=\"%d\" y=\"%d\" fill=\"#a00\">failed</text>\n", x0 + 4, y + 15);
			continue;
		}
		int w = (int)lround((BAR_PANEL - 70) * x / max);
		bprintf(b, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x0, y + 3,
		        w > 1 ? w : 1, BAR_ROW - 6, color);
		bprintf(b, "<text x=\"%d\" y=\"%d\">%.1f</text>\n", x0 + (w > 1 ? w : 1) + 4, y + 17, x);
	}
}

/* A bar's row label: "NAME", or "NAME, 2 thr" when there are several counts. */
static void bar_label(char *buf, size_t cap, const ReportInfo *ri, const VariantResult *r)
{
	if (ri->n_threads > 1)
		snprintf(buf, cap, "%s, %d thr", r->name, r->threads);
	else
		snprintf(buf, cap, "%s", r->name);
}

/* The column of row labels: BAR_LABEL, or wider for a long name. */
static int bar_label_width(const ReportInfo *ri, const VariantResult *v, int n)
{
	double w = BAR_LABEL;
	for (int i = 0; i < n; i++) {
		char label[160];
		bar_label(label, sizeof label, ri, &v[i]);
		w = fmax(w, plot_text_width(label, 13) + 16);
	}
	return (int)ceil(w);
}

/* The rates as bars, one row per result, at y0; row labels lw wide. */
static void svg_bar_panels(Buf *b, const ReportInfo *ri, const VariantResult *v, int n, int y0, int lw)
{
	bprintf(b, "<g id=\"bars\">\n");
	for (int i = 0; i < n; i++) {
		char label[160];
		bar_label(label, sizeof label, ri, &v[i]);
		bprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y0 + i * BAR_ROW + 17);
		xml_text(b, label);
		bprintf(b, "</text>\n");
	}
	svg_bars(b, lw, y0, "decode tok/s", "#3b6fb6", v, n, true);
	svg_bars(b, lw + BAR_PANEL + BAR_GAP, y0, "prefill tok/s", "#d9822b", v, n, false);
	bprintf(b, "</g>\n");
}

char *report_svg(const ReportInfo *ri, const VariantResult *v, int n)
{
	Scatter sc;
	if (scatter_init(&sc, v, n))
		return NULL;
	Buf b = {0};
	int legend_y = SC_TOP + SC_H + 62, bars_y = legend_y + 58;
	int lw = bar_label_width(ri, v, n);
	int width = lw + 2 * BAR_PANEL + BAR_GAP > SVG_WIDTH ? lw + 2 * BAR_PANEL + BAR_GAP : SVG_WIDTH;
	int height = bars_y + n * BAR_ROW + 36;
	bprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	bprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"sans-serif\" font-size=\"13\">\n", width, height, width, height);
	bprintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height);
	bprintf(&b, "<text x=\"8\" y=\"22\" font-size=\"15\" font-weight=\"bold\">lfm2c variants: ");
	xml_text(&b, ri->model);
	char thr[128];
	thread_list(thr, sizeof thr, ri);
	bprintf(&b, " (threads %s, medians of %d, cold weights)</text>\n", thr, ri->opts->runs);
	if (!ri->opts->eval.path) {
		bprintf(&b, "<text x=\"8\" y=\"42\" font-size=\"12\" fill=\"#444\">accuracy (mean KL divergence from the f32 "
		        "build on %d positions) against speed, size as area: lower right is better, smaller is better</text>\n",
		        ri->positions);
	} else {
		bprintf(&b, "<text x=\"8\" y=\"42\" font-size=\"12\" fill=\"#444\">accuracy (mean KL divergence from the f32 "
		        "build on %d predictions of ", ri->mi->text_predictions);
		xml_text(&b, ri->opts->eval.path);
		bprintf(&b, ") against speed, size as area: lower right is better, smaller is better</text>\n");
	}
	int missing = svg_scatter(&b, &sc, 0, true);
	missing += svg_scatter(&b, &sc, SC_PANEL, false);
	svg_legend(&b, &sc, legend_y, missing);
	svg_bar_panels(&b, ri, v, n, bars_y, lw);
	bprintf(&b, "<text x=\"8\" y=\"%d\" font-size=\"11\" fill=\"#555\">prefill %d tokens, decode %d tokens; "
	        "weights %s</text>\n", height - 12, ri->opts->prefill, ri->opts->decode,
	        ri->opts->use_mmap ? "mmap'd" : "read into memory");
	bprintf(&b, "</svg>\n");
	scatter_free(&sc);
	return bdone(&b);
}
