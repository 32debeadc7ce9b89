/*
 * cmd_quant_report.c — `lfm2c quant-report MODEL_DIR [-q FORMAT[,FORMAT]...  [FORMAT...]]
 *                       [--seqs N] [--len L] [--seed S] [--json FILE]`
 *
 * How much does storing the weights in a format cost in accuracy?  The
 * f64 reference interpreter runs the f32 model and, for each format, the
 * model whose weights are quantize-dequantized (activations are NOT
 * quantized: this measures the weight formats alone), on the same token
 * sequences, and compares the next-token distributions at every position:
 *
 *   KLD        KL(softmax(f32) || softmax(quant)) in nats: mean and p99
 *              (nearest rank) over positions
 *   top-1      % of positions whose argmax agrees
 *   max|dlogit| largest absolute logit difference
 *   bytes      the weights' size in that format (sum over tensors, as the
 *              layout pass sizes them, without alignment padding)
 *
 * Then per-group sensitivity: only one group (the embedding/LM head, or
 * one decoder layer) in the format, everything else f32, mean KLD.  From
 * that it suggests a mixed schedule — keep the most sensitive groups one
 * step up (q4 -> q8_0, q8_0 -> f16, f16/bf16 -> f32), the fewest groups
 * that carry half of the summed per-group KLD, at most a third of them —
 * prints it as override flags, and measures it.
 *
 * Sequences are deterministic: --seqs random ones (default 2) of --len
 * tokens (default 32) drawn uniformly from the vocabulary by a seeded
 * splitmix64 (--seed, default 1), each starting with BOS; and, when the
 * model has trained-tiny's config (examples/trained-tiny), one natural
 * text: the prompt "This program is free software" and the oracle's
 * greedy continuation (60 tokens, the model's README).
 *
 * --eval-text FILE [--eval-ctx N] [--eval-chunks K] (eval_text.h) replaces
 * those sequences by a real text's chunks, cut and scored exactly as
 * `lfm2-run --perplexity` does: each chunk from an empty state, BOS first,
 * only the second half of each compared (KLD, top-1, max|dlogit|, the
 * sensitivities and the suggestions alike).  The report then also gives
 * each model's perplexity on the text (+- its delta-method error) and the
 * KLD's standard error.  Those are the numbers `lfm2-run --perplexity FILE
 * --kld` reports for a build whose weights hold the format's values (`lfm2c
 * dequant -q FORMAT`, compiled f32), up to f32 arithmetic and the .kld's
 * rounding (tests/quant/report_text.sh checks it).
 */
#define _GNU_SOURCE   /* qsort_r */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tools.h"
#include "eval_text.h"
#include "fileio.h"
#include "passes.h"
#include "schedule.h"
#include "formats.h"

#define MAX_SEQS 65
#define MAX_FORMATS 8

/* trained-tiny (examples/trained-tiny, and the f32 model it was rounded from):
 * lfm_config_hash, and ids of 'This program is free software' + the f64
 * oracle's 60 greedy tokens (tests/fixtures/trained_tiny has the first 16). */
static const uint64_t trained_tiny_config_hash = 0xf3ab2b4ea3e29398ull;
static const int32_t trained_tiny_text[] = {
	1, 1650, 1049, 335, 1206, 813,
	73, 611, 559, 1887, 459, 331, 1113, 1214, 24, 459, 719, 286, 978, 327, 286, 734, 887, 821, 532, 440,
	1849, 451, 24, 286, 898, 749, 1037, 73, 1279, 595, 46, 64, 327, 286, 532, 58, 383, 24, 343, 283, 1024,
	630, 55, 564, 1602, 595, 339, 622, 662, 1049, 335, 1484, 306, 286, 409, 1771, 453, 459, 675, 381,
};

typedef struct Seqs {
	int n, total, max_len;
	int32_t *tok[MAX_SEQS];
	int len[MAX_SEQS];
	bool natural[MAX_SEQS];
	/* --eval-text: the text's chunks instead of tok[] (n = 0); logits are
	 * kept for the scored positions only (total of them), targets[] are
	 * the tokens they predict */
	const lfm2_eval_plan *text;
	const char *text_path;
	int32_t *targets;
} Seqs;

/* One model's logits on every position of every sequence and its size. */
typedef struct Run {
	double *logits;            /* [total, V] */
	uint64_t weight_bytes;     /* all weights in their formats */
	uint64_t matrix_values, matrix_bytes;
} Run;

typedef struct Metrics {
	double kld_mean, kld_p99, top1, max_err;
	double kld_se;             /* standard error of kld_mean */
	double ppl, ppl_err;       /* --eval-text: perplexity of the compared model */
} Metrics;

/* --------------------------------------------------------- sequences */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int add_seq(Seqs *s, const int32_t *tok, int len, bool natural)
{
	int32_t *t = malloc((size_t)len * sizeof *t);
	if (!t)
		return -1;
	memcpy(t, tok, (size_t)len * sizeof *t);
	s->tok[s->n] = t;
	s->len[s->n] = len;
	s->natural[s->n++] = natural;
	s->total += len;
	if (len > s->max_len)
		s->max_len = len;
	return 0;
}

static int make_seqs(Seqs *s, const Checkpoint *ck, int n_random, int len, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	int V = ck->cfg.vocab_size;
	if (ck->config_hash == trained_tiny_config_hash
	    && add_seq(s, trained_tiny_text, (int)(sizeof trained_tiny_text / sizeof trained_tiny_text[0]), true))
		return -1;
	int32_t *buf = malloc((size_t)len * sizeof *buf);
	if (!buf)
		return -1;
	for (int k = 0; k < n_random; k++) {
		buf[0] = ck->cfg.bos_id >= 0 && ck->cfg.bos_id < V ? ck->cfg.bos_id : 0;
		for (int i = 1; i < len; i++)
			buf[i] = (int32_t)(splitmix64(&seed) % (uint64_t)V);
		if (add_seq(s, buf, len, false)) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

static void free_seqs(Seqs *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->tok[i]);
	free(s->targets);
}

/* --eval-text: the positions are the chunks' scored ones. */
static int text_seqs(Seqs *s, const lfm2_eval_plan *p, const char *path)
{
	memset(s, 0, sizeof *s);
	s->text = p;
	s->text_path = path;
	s->total = p->chunks * p->scored;
	s->max_len = p->ctx;
	if (!(s->targets = malloc((size_t)s->total * sizeof *s->targets)))
		return -1;
	for (int c = 0, k = 0; c < p->chunks; c++)
		for (int j = 0; j < p->scored; j++)
			s->targets[k++] = p->tokens[(size_t)c * (size_t)p->ctx + (size_t)(p->first + j + 1)];
	return 0;
}

/* ------------------------------------------------------------ running */

/* Builds the graph with options po, and runs every sequence from position 0. */
/* Formats only, no fusion: the report compares storage formats on the
 * checkpoint's own weights.  The schedule borrows ov. */
static Schedule formats_schedule(DType def, QuantOverride *ov, int n)
{
	Schedule sch;
	schedule_defaults(&sch);
	fusions_none(&sch.fusions);
	sch.default_format = def;
	sch.overrides = ov;
	sch.n_overrides = n;
	return sch;
}

/* Every chunk from an empty state: its first half without logits, the
 * scored positions with theirs (appended to logits). */
static int run_chunks(InterpState *st, const lfm2_eval_plan *p, double *logits, size_t V, LfmError *err)
{
	for (int c = 0; c < p->chunks; c++) {
		const int32_t *t = p->tokens + (size_t)c * (size_t)p->ctx;
		interp_reset(st);
		if (interp_eval(st, t, p->first, 0, logits, err)   /* rows 0: nothing written */
		    || interp_eval(st, t + p->first, p->scored, p->scored, logits + (size_t)c * (size_t)p->scored * V, err))
			return -1;
	}
	return 0;
}

static int run_model(const Checkpoint *ck, const PassOptions *po, const Seqs *s, Run *run, LfmError *err)
{
	Graph g;
	size_t V = (size_t)ck->cfg.vocab_size;
	memset(run, 0, sizeof *run);
	if (passes_build_graph(ck, po, &g, err))
		return -1;
	int rc = -1;
	InterpState *st = NULL;
	if (!(st = interp_new(&g, s->max_len, err)))
		goto out;
	if (!(run->logits = malloc((size_t)s->total * V * sizeof(double)))) {
		lfm_error(err, NULL, "quant-report: out of memory");
		goto out;
	}
	for (int i = 0; i < g.n_weights; i++) {
		const Weight *w = &g.weights[i];
		run->weight_bytes += w->bytes;
		if (w->shape.ndim == 2 && w->dtype != DT_F32) {
			run->matrix_values += (uint64_t)ir_shape_numel(w->shape, 0, 0);
			run->matrix_bytes += w->bytes;
		}
	}
	size_t at = 0;
	for (int k = 0; k < s->n; k++) {
		interp_reset(st);
		if (interp_eval(st, s->tok[k], s->len[k], s->len[k], run->logits + at * V, err))
			goto out;
		at += (size_t)s->len[k];
	}
	if (s->text && run_chunks(st, s->text, run->logits, V, err))
		goto out;
	rc = 0;
out:
	interp_free(st);
	ir_free(&g);
	if (rc) {
		free(run->logits);
		run->logits = NULL;
	}
	return rc;
}

/* log-softmax of one row into out. */
static void log_softmax(const double *x, size_t V, double *out)
{
	double mx = -INFINITY, sum = 0;
	for (size_t i = 0; i < V; i++)
		mx = fmax(mx, x[i]);
	for (size_t i = 0; i < V; i++)
		sum += exp(x[i] - mx);
	double lse = mx + log(sum);
	for (size_t i = 0; i < V; i++)
		out[i] = x[i] - lse;
}

static size_t argmax(const double *x, size_t V)
{
	size_t b = 0;
	for (size_t i = 1; i < V; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int compare(const Run *ref, const Run *q, int total, size_t V, Metrics *m)
{
	double *lp = malloc(V * sizeof *lp), *lq = malloc(V * sizeof *lq), *kld = malloc((size_t)total * sizeof *kld);
	if (!lp || !lq || !kld) {
		free(lp);
		free(lq);
		free(kld);
		return -1;
	}
	memset(m, 0, sizeof *m);
	int agree = 0;
	for (int p = 0; p < total; p++) {
		const double *a = ref->logits + (size_t)p * V, *b = q->logits + (size_t)p * V;
		log_softmax(a, V, lp);
		log_softmax(b, V, lq);
		double k = 0;
		for (size_t i = 0; i < V; i++) {
			k += exp(lp[i]) * (lp[i] - lq[i]);
			m->max_err = fmax(m->max_err, fabs(a[i] - b[i]));
		}
		kld[p] = k > 0 ? k : 0;   /* rounding can leave -1e-17 */
		m->kld_mean += kld[p] / total;
		agree += argmax(a, V) == argmax(b, V);
	}
	double mean;
	lfm2_eval_mean_se(kld, (size_t)total, &mean, &m->kld_se);
	qsort(kld, (size_t)total, sizeof *kld, cmp_double);
	int rank = (int)ceil(0.99 * total);   /* nearest rank */
	m->kld_p99 = kld[rank > 0 ? rank - 1 : 0];
	m->top1 = 100.0 * agree / total;
	free(lp);
	free(lq);
	free(kld);
	return 0;
}

/* --eval-text: the perplexity of a run on the text, +- its delta-method error. */
static int text_ppl(const Run *r, const Seqs *s, size_t V, double *ppl, double *err)
{
	double *nll = malloc((size_t)s->total * sizeof *nll), *lp = malloc(V * sizeof *lp);
	if (!nll || !lp) {
		free(nll);
		free(lp);
		return -1;
	}
	for (int p = 0; p < s->total; p++) {
		log_softmax(r->logits + (size_t)p * V, V, lp);
		nll[p] = -lp[s->targets[p]];
	}
	double mean, se;
	lfm2_eval_mean_se(nll, (size_t)s->total, &mean, &se);
	*ppl = exp(mean);
	*err = *ppl * se;
	free(nll);
	free(lp);
	return 0;
}

/* compare(), and with --eval-text the compared run's perplexity. */
static int score_run(const Run *ref, const Run *q, const Seqs *s, size_t V, Metrics *m)
{
	if (compare(ref, q, s->total, V, m))
		return -1;
	return s->text ? text_ppl(q, s, V, &m->ppl, &m->ppl_err) : 0;
}

/* ----------------------------------------------------------- the report */

typedef struct Group {
	char pattern[112];
	double kld[MAX_FORMATS];
} Group;

/* The groups one can quantize separately: the embedding, lm_head when
 * untied, each layer. */
static int make_groups(const Checkpoint *ck, Group **out)
{
	int n = ck->cfg.n_layers + 2;
	Group *g = calloc((size_t)n, sizeof *g);
	if (!g)
		return -1;
	int k = 0;
	snprintf(g[k++].pattern, sizeof g->pattern, "model.embed_tokens.weight");
	if (lfm_checkpoint_find(ck, "lm_head.weight"))
		snprintf(g[k++].pattern, sizeof g->pattern, "lm_head.weight");
	for (int l = 0; l < ck->cfg.n_layers; l++)
		snprintf(g[k++].pattern, sizeof g->pattern, "model.layers.%d.*", l);
	*out = g;
	return k;
}

static DType upgrade_of(DType f)
{
	switch (f) {
	case DT_Q4_0:
	case DT_Q4_1: return DT_Q8_0;
	case DT_Q8_0: return DT_F16;
	case DT_F16:
	case DT_BF16:
	case DT_F32:
	case DT_I32: return DT_F32;
	}
	return DT_F32;
}

typedef struct FormatResult {
	DType f;
	Metrics m;
	uint64_t bytes;
	double bits;               /* per matrix weight */
	int n_up;                  /* suggestion: groups kept at upgrade_of(f) */
	int up[LFM_MAX_LAYERS + 2];
	Metrics sm;
	uint64_t sbytes;
} FormatResult;

static int by_kld_desc(const void *a, const void *b, void *ctx)
{
	const double *k = ctx;
	double x = k[*(const int *)a], y = k[*(const int *)b];
	return x > y ? -1 : x < y;
}

/* The fewest most-sensitive groups whose per-group KLD adds up to half of
 * the total, at most a third of the groups (at least one). */
static int pick_upgrades(const Group *g, int ng, int fi, int *up)
{
	double *k = malloc((size_t)ng * sizeof *k);
	int *idx = malloc((size_t)ng * sizeof *idx);
	if (!k || !idx) {
		free(k);
		free(idx);
		return -1;
	}
	double total = 0;
	for (int i = 0; i < ng; i++) {
		k[i] = g[i].kld[fi];
		idx[i] = i;
		total += k[i];
	}
	qsort_r(idx, (size_t)ng, sizeof *idx, by_kld_desc, k);
	int cap = (ng + 2) / 3, n = 0;
	double cum = 0;
	while (n < cap && (n == 0 || cum < 0.5 * total) && total > 0) {
		cum += k[idx[n]];
		up[n] = idx[n];
		n++;
	}
	free(k);
	free(idx);
	return n;
}

static void print_suggestion(FILE *f, const FormatResult *r, const Group *g)
{
	fprintf(f, "  -q %s", dtype_name(r->f));
	for (int i = 0; i < r->n_up; i++)
		fprintf(f, " --quant-override '%s=%s'", g[r->up[i]].pattern, dtype_name(upgrade_of(r->f)));
	fputc('\n', f);
}

static cJSON *metrics_json(cJSON *o, const Metrics *m, bool text)
{
	cJSON_AddNumberToObject(o, "kld_mean", m->kld_mean);
	cJSON_AddNumberToObject(o, "kld_p99", m->kld_p99);
	cJSON_AddNumberToObject(o, "top1_percent", m->top1);
	cJSON_AddNumberToObject(o, "max_abs_logit_err", m->max_err);
	if (text) {
		cJSON_AddNumberToObject(o, "kld_err", m->kld_se);
		cJSON_AddNumberToObject(o, "ppl", m->ppl);
		cJSON_AddNumberToObject(o, "ppl_err", m->ppl_err);
	}
	return o;
}

/* --eval-text: what the positions are, and the f32 model's perplexity. */
static void text_json(cJSON *root, const Seqs *s, const Metrics *f32)
{
	const lfm2_eval_plan *p = s->text;
	cJSON *t = cJSON_AddObjectToObject(root, "eval_text");
	char hash[17];
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)p->hash);
	cJSON_AddStringToObject(t, "file", s->text_path);
	cJSON_AddNumberToObject(t, "ctx", p->ctx);
	cJSON_AddNumberToObject(t, "chunks", p->chunks);
	cJSON_AddNumberToObject(t, "first_scored", p->first);
	cJSON_AddNumberToObject(t, "predictions", s->total);
	cJSON_AddStringToObject(t, "tokens_hash", hash);
	cJSON_AddNumberToObject(t, "f32_ppl", f32->ppl);
	cJSON_AddNumberToObject(t, "f32_ppl_err", f32->ppl_err);
}

static int write_json(const char *path, const char *model, const Seqs *s, const Run *ref, const Metrics *f32,
                      const FormatResult *r, int nf, const Group *g, int ng, LfmError *err)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "model", model);
	cJSON_AddStringToObject(root, "activations", "float (not quantized): weights only");
	cJSON_AddStringToObject(root, "evaluator", "lfm2c f64 reference interpreter");
	cJSON_AddNumberToObject(root, "positions", s->total);
	cJSON_AddNumberToObject(root, "f32_weight_bytes", (double)ref->weight_bytes);
	if (s->text)
		text_json(root, s, f32);
	cJSON *seqs = cJSON_AddArrayToObject(root, "sequences");
	for (int i = 0; i < s->n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", s->natural[i] ? "natural" : "random");
		cJSON_AddNumberToObject(o, "tokens", s->len[i]);
		cJSON_AddItemToArray(seqs, o);
	}
	cJSON *fs = cJSON_AddArrayToObject(root, "formats");
	for (int k = 0; k < nf; k++) {
		cJSON *o = metrics_json(cJSON_CreateObject(), &r[k].m, s->text != NULL);
		cJSON_AddStringToObject(o, "format", dtype_name(r[k].f));
		cJSON_AddNumberToObject(o, "weight_bytes", (double)r[k].bytes);
		cJSON_AddNumberToObject(o, "bits_per_matrix_weight", r[k].bits);
		cJSON *layers = cJSON_AddArrayToObject(o, "groups");
		for (int i = 0; i < ng; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "pattern", g[i].pattern);
			cJSON_AddNumberToObject(e, "kld_mean", g[i].kld[k]);
			cJSON_AddItemToArray(layers, e);
		}
		if (r[k].n_up) {
			cJSON *sg = metrics_json(cJSON_CreateObject(), &r[k].sm, s->text != NULL);
			cJSON_AddStringToObject(sg, "default", dtype_name(r[k].f));
			cJSON *ov = cJSON_AddObjectToObject(sg, "overrides");
			for (int i = 0; i < r[k].n_up; i++)
				cJSON_AddStringToObject(ov, g[r[k].up[i]].pattern, dtype_name(upgrade_of(r[k].f)));
			cJSON_AddNumberToObject(sg, "weight_bytes", (double)r[k].sbytes);
			cJSON_AddItemToObject(o, "suggestion", sg);
		}
		cJSON_AddItemToArray(fs, o);
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return lfm_error(err, path, "out of memory");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		int e = errno;
		cJSON_free(text);
		return lfm_error(err, path, "cannot write: %s", strerror(e));
	}
	int e = lfm_io_fwrite(f, text, strlen(text));
	if (!e)
		e = lfm_io_fwrite(f, "\n", 1);
	int c = lfm_io_fclose(f);
	cJSON_free(text);
	if (!e)
		e = c;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		remove(tmp);
		return lfm_error(err, path, "cannot write: %s", lfm_io_reason(e));
	}
	return 0;
}

/* ----------------------------------------------------------- the command */

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* "-q a,b c": formats separated by commas, and further arguments that are
 * format names. */
static int add_formats(const char *arg, DType *f, int *nf)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", arg);
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*nf == MAX_FORMATS || quant_format_parse(tok, &f[*nf]))
			return -1;
		(*nf)++;
	}
	return 0;
}

static void print_metrics_row(const char *name, uint64_t bytes, double bits, const Metrics *m, bool text)
{
	if (!text) {
		printf("%-7s %12llu %9.2f  %10.3e %10.3e %7.2f%% %10.4f\n", name, (unsigned long long)bytes, bits,
		       m->kld_mean, m->kld_p99, m->top1, m->max_err);
		return;
	}
	printf("%-7s %12llu %9.2f  %10.3e %8.1e %10.3e %7.2f%% %10.4f %10.4f %8.4f\n", name, (unsigned long long)bytes,
	       bits, m->kld_mean, m->kld_se, m->kld_p99, m->top1, m->max_err, m->ppl, m->ppl_err);
}

/* What the positions are, and the table's head. */
static void print_positions(const Seqs *s, uint64_t seed, size_t text_tokens)
{
	if (s->text) {
		const lfm2_eval_plan *p = s->text;
		printf("positions: %d predictions of %s (%zu tokens): %d chunks of %d, each from an empty state with "
		       "BOS first, positions %d..%d of each scored (as lfm2-run --perplexity)\n\n", s->total,
		       s->text_path, text_tokens, (int)p->chunks, (int)p->ctx, (int)p->first, (int)p->ctx - 2);
		printf("%-7s %12s %9s  %10s %8s %10s %8s %10s %10s %8s\n", "format", "weight bytes", "bits/w", "KLD mean",
		       "+-", "KLD p99", "top-1", "max|dlog|", "PPL", "+-");
		return;
	}
	printf("positions: %d in %d sequences (", s->total, s->n);
	for (int i = 0; i < s->n; i++)
		printf("%s%s %d", i ? ", " : "", s->natural[i] ? "natural text" : "random", s->len[i]);
	printf("; random: seed %llu)\n\n", (unsigned long long)seed);
	printf("%-7s %12s %9s  %10s %10s %8s %10s\n", "format", "weight bytes", "bits/w", "KLD mean", "KLD p99",
	       "top-1", "max|dlog|");
}

int cmd_quant_report(int argc, char **argv)
{
	const char *dir = NULL, *json = NULL;
	DType fmts[MAX_FORMATS];
	int nf = 0, n_random = 2, len = 32;
	uint64_t seed = 1;
	EvalTextOpts et = {0};
	bool random_given = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool v = i + 1 < argc;
		int te = eval_text_arg(&et, "quant-report", argc, argv, &i);
		if (te < 0)
			return 1;
		if (te > 0)
			continue;
		random_given |= v && (!strcmp(a, "--seqs") || !strcmp(a, "--len") || !strcmp(a, "--seed"));
		if (!strcmp(a, "-q") && v) {
			if (add_formats(argv[++i], fmts, &nf))
				return lfm_fail("quant-report: bad -q '%s' (formats: %s; at most %d)", argv[i],
				                   quant_format_list(), MAX_FORMATS);
			DType t;
			while (i + 1 < argc && quant_format_parse(argv[i + 1], &t) == 0)
				if (add_formats(argv[++i], fmts, &nf))
					return lfm_fail("quant-report: at most %d formats", MAX_FORMATS);
		} else if (!strcmp(a, "--seqs") && v) {
			if (parse_int(argv[++i], 0, MAX_SEQS - 1, &n_random))
				return lfm_fail("quant-report: --seqs must be an integer in 0..%d", MAX_SEQS - 1);
		} else if (!strcmp(a, "--len") && v) {
			if (parse_int(argv[++i], 2, 4096, &len))
				return lfm_fail("quant-report: --len must be an integer in 2..4096");
		} else if (!strcmp(a, "--seed") && v) {
			int sd;
			if (parse_int(argv[++i], 0, 0x7fffffff, &sd))
				return lfm_fail("quant-report: --seed must be a non-negative integer");
			seed = (uint64_t)sd;
		} else if (!strcmp(a, "--json") && v)
			json = argv[++i];
		else if (a[0] == '-')
			return lfm_fail("quant-report: unknown option '%s' (or missing value)", a);
		else if (!dir)
			dir = a;
		else
			return lfm_fail("quant-report: unexpected argument '%s'", a);
	}
	if (!dir)
		return lfm_fail("usage: lfm2c quant-report MODEL_DIR [-q FORMAT[,FORMAT]... [FORMAT]...] "
		                   "[--seqs N] [--len L] [--seed S] [--eval-text FILE [--eval-ctx N] [--eval-chunks K]] "
		                   "[--json FILE]");
	LfmError err = {{0}};
	if (eval_text_check(&et, &err))
		return lfm_fail("quant-report: %s", err.msg);
	if (et.path && random_given)
		return lfm_fail("quant-report: --seqs, --len and --seed choose random sequences, which --eval-text "
		                "replaces by the text's chunks");
	if (!nf) {
		fmts[nf++] = DT_Q8_0;
		fmts[nf++] = DT_Q4_0;
		fmts[nf++] = DT_Q4_1;
	}
	Checkpoint ck;
	if (lfm_checkpoint_open(dir, &ck, stderr, &err))
		return lfm_fail("%s", err.msg);
	Seqs s = {0};
	Run ref = {0}, run = {0};
	Group *g = NULL;
	FormatResult *res = calloc(MAX_FORMATS, sizeof *res);
	int rc = 1, ng = 0;
	size_t V = (size_t)ck.cfg.vocab_size, text_tokens = 0;
	lfm2_eval_plan plan = {0};
	if (et.path && eval_text_plan(&et, dir, ck.cfg.max_position_embeddings, &plan, &text_tokens, &err)) {
		lfm_fail("quant-report: --eval-text %s", err.msg);
		goto out;
	}
	if (!res || (et.path ? text_seqs(&s, &plan, et.path) : make_seqs(&s, &ck, n_random, len, seed))
	    || (ng = make_groups(&ck, &g)) < 0) {
		lfm_fail("quant-report: out of memory");
		goto out;
	}
	if (s.total == 0) {
		lfm_fail("quant-report: no sequences (--seqs 0 and no natural text for this model)");
		goto out;
	}
	Schedule sch = formats_schedule(DT_F32, NULL, 0);
	PassOptions po = {.schedule = &sch};
	if (run_model(&ck, &po, &s, &ref, &err)) {
		lfm_fail("%s", err.msg);
		goto out;
	}
	printf("quant-report %s: vocab %d, hidden %d, %d layers\n", dir, ck.cfg.vocab_size, ck.cfg.hidden,
	       ck.cfg.n_layers);
	printf("weights quantize-dequantized, activations NOT quantized (float); f64 reference interpreter\n");
	print_positions(&s, seed, text_tokens);
	Metrics zero = {.top1 = 100};
	bool text = s.text != NULL;
	if (text && text_ppl(&ref, &s, V, &zero.ppl, &zero.ppl_err)) {
		lfm_fail("quant-report: out of memory");
		goto out;
	}
	print_metrics_row("f32", ref.weight_bytes, 32, &zero, text);
	for (int k = 0; k < nf; k++) {
		FormatResult *r = &res[k];
		r->f = fmts[k];
		sch = formats_schedule(fmts[k], NULL, 0);
		po = (PassOptions){.schedule = &sch, .warn = stderr};
		if (run_model(&ck, &po, &s, &run, &err) || score_run(&ref, &run, &s, V, &r->m)) {
			lfm_fail("%s", err.msg[0] ? err.msg : "quant-report: out of memory");
			goto out;
		}
		r->bytes = run.weight_bytes;
		r->bits = run.matrix_values ? 8.0 * (double)run.matrix_bytes / (double)run.matrix_values : 32;
		free(run.logits);
		run.logits = NULL;
		print_metrics_row(dtype_name(r->f), r->bytes, r->bits, &r->m, text);
	}
	printf("\nper-group sensitivity: mean KLD with only that group in the format, the rest f32\n");
	printf("%-28s", "group");
	for (int k = 0; k < nf; k++)
		printf(" %10s", dtype_name(fmts[k]));
	printf("\n");
	for (int i = 0; i < ng; i++) {
		printf("%-28s", g[i].pattern);
		for (int k = 0; k < nf; k++) {
			QuantOverride ov = {g[i].pattern, fmts[k]};
			sch = formats_schedule(DT_F32, &ov, 1);
			po = (PassOptions){.schedule = &sch};
			Metrics m;
			if (run_model(&ck, &po, &s, &run, &err) || score_run(&ref, &run, &s, V, &m)) {
				lfm_fail("%s", err.msg[0] ? err.msg : "quant-report: out of memory");
				goto out;
			}
			free(run.logits);
			run.logits = NULL;
			g[i].kld[k] = m.kld_mean;
			printf(" %10.3e", m.kld_mean);
		}
		printf("\n");
		fflush(stdout);
	}
	printf("\nsuggested schedules (the most sensitive groups one step up), measured:\n");
	for (int k = 0; k < nf; k++) {
		FormatResult *r = &res[k];
		if (r->f == DT_F32 || (r->n_up = pick_upgrades(g, ng, k, r->up)) <= 0) {
			r->n_up = 0;
			continue;
		}
		QuantOverride ov[LFM_MAX_LAYERS + 2];
		for (int i = 0; i < r->n_up; i++)
			ov[i] = (QuantOverride){g[r->up[i]].pattern, upgrade_of(r->f)};
		sch = formats_schedule(r->f, ov, r->n_up);
		po = (PassOptions){.schedule = &sch};
		if (run_model(&ck, &po, &s, &run, &err) || score_run(&ref, &run, &s, V, &r->sm)) {
			lfm_fail("%s", err.msg[0] ? err.msg : "quant-report: out of memory");
			goto out;
		}
		r->sbytes = run.weight_bytes;
		free(run.logits);
		run.logits = NULL;
		print_suggestion(stdout, r, g);
		printf("    KLD mean %.3e (all %s: %.3e), p99 %.3e, top-1 %.2f%%, %llu bytes (all %s: %llu)",
		       r->sm.kld_mean, dtype_name(r->f), r->m.kld_mean, r->sm.kld_p99, r->sm.top1,
		       (unsigned long long)r->sbytes, dtype_name(r->f), (unsigned long long)r->bytes);
		if (text)
			printf(", PPL %.4f (all %s: %.4f)", r->sm.ppl, dtype_name(r->f), r->m.ppl);
		putchar('\n');
	}
	if (json && write_json(json, dir, &s, &ref, &zero, res, nf, g, ng, &err)) {
		lfm_fail("%s", err.msg);
		goto out;
	}
	rc = 0;
out:
	free(ref.logits);
	free(run.logits);
	free(res);
	free(g);
	free_seqs(&s);
	lfm2_eval_plan_free(&plan);
	lfm_checkpoint_close(&ck);
	return rc;
}
