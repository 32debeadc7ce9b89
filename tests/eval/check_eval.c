/*
 * check_eval.c — an independent recomputation of what `lfm2-run
 * --perplexity` reports, from full logit dumps.
 *
 *   check_eval chunks IDS CTX CHUNKS BOS DIR
 *       cuts the text's ids (IDS: "1,2,3", what `lfm2c tokenize` prints)
 *       into CHUNKS chunks of CTX with BOS first, as llama-perplexity does,
 *       and writes them to DIR/chunk-K.ids, for `lfm2-run --tokens
 *       $(cat DIR/chunk-K.ids) --logits DIR/NAME-K.npy`;
 *   check_eval ppl RESULT CTX CHUNKS DIR BASE
 *       recomputes the perplexity of build BASE (DIR/BASE-K.npy) and
 *       compares it with RESULT, lfm2-run's stdout (its "result:" line);
 *   check_eval kld RESULT CTX CHUNKS DIR BASE THIS [FILE.kld]
 *       the same for build THIS compared with BASE: the exact KL
 *       divergence of the two softmaxes (no 16-bit rounding), its p99 and
 *       maximum, top-1 agreement, PPL(base), PPL - PPL(base) and their
 *       errors; FILE.kld's size must be the format's;
 *   check_eval report JSON FORMAT BASE_RESULT THIS_RESULT FILE.kld
 *       `lfm2c quant-report --eval-text --json JSON` against lfm2-run:
 *       BASE_RESULT is the f32 build's --kld-base run that wrote FILE.kld,
 *       THIS_RESULT the --kld run of a build of `lfm2c dequant -q FORMAT`
 *       (compiled f32: the report's model, weights only quantized); the
 *       chunks must be the same tokens (the JSON's tokens_hash is the
 *       .kld's), and the perplexities, KLD, its error, p99 and top-1 the
 *       same up to f32 arithmetic and the .kld's rounding;
 *   check_eval variants JSON VARIANT CTX CHUNKS DIR BASE THIS
 *       `lfm2c variants --eval-text --json`'s figures of VARIANT (kld_mean,
 *       its error, p99, max, top1, ppl, dppl, the f32 reference's ppl)
 *       checked as the kld mode checks lfm2-run's, from dumps of the
 *       variants' own builds (kept with --keep-builds).
 *
 * Everything is computed here from the definitions, in double, with none
 * of the runtime's code: NLL = logsumexp(row) - row[target] for the
 * logits at positions CTX/2 .. CTX-2 of each chunk predicting the next
 * token; standard errors with the sample variance (n - 1); PPL's error
 * PPL x that of the mean NLL; the difference's from the variance of the
 * paired differences of the two NLL means... in PPL terms, by the delta
 * method: var(ppl - ppl_b) = ppl^2 var(m) + ppl_b^2 var(m_b) - 2 ppl ppl_b
 * cov(m, m_b); p99 the nearest rank.
 *
 * Tolerances.  The dumps are the same builds' logits, but computed in one
 * forward pass per chunk, where --perplexity feeds each chunk in two (the
 * unscored half without logits): the values agree to float rounding, so
 * NLL and PPL must agree to 1e-6 (relative for PPL), their errors to 1e-4
 * relative.  The KLD lfm2-run reports is between 16-bit roundings of the
 * rows (lfm2_eval.h): its mean must be within 1e-5 of the exact one (the
 * bound the format promises), p99 and max within 1e-4 or 1%; top-1 may
 * differ in at most one prediction.  A base compared with itself must give
 * kld=0 and top1=1 exactly.  Each comparison is printed, so the log shows
 * the measured differences.  The report's numbers come from the f64
 * interpreter, lfm2-run's from a compiled f32 build and 16-bit rows: PPL
 * within 1e-5 relative, KLD mean and p99 within 1e-3 relative, its error
 * within 1e-2, top-1 within one prediction (measured on trained-tiny,
 * 2 chunks of 32, relative: 2e-7, 2e-5, 1e-6, 8e-6 and 0).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "npyio.h"

/* ------------------------------------------------------------ inputs */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "check_eval: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap);
	CHECK_OR_DIE(s != NULL);
	size_t k;
	while ((k = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			s = realloc(s, cap *= 2);
			CHECK_OR_DIE(s != NULL);
		}
	}
	fclose(f);
	s[n] = 0;
	return s;
}

/* "1,2,3" -> ids */
static int *parse_ids(const char *s, size_t *n)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	int *ids = malloc(cap * sizeof *ids);
	CHECK_OR_DIE(ids != NULL);
	*n = 0;
	for (const char *p = s; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		ids[(*n)++] = (int)v;
		p = *end == ',' ? end + 1 : end;
	}
	return ids;
}

/* The value of " key=" in lfm2-run's result line; exits if it is missing. */
static double result_value(const char *out, const char *key)
{
	const char *line = strstr(out, "result: ");
	char pat[64];
	snprintf(pat, sizeof pat, " %s=", key);
	const char *at = line ? strstr(line, pat) : NULL;
	if (!at) {
		fprintf(stderr, "check_eval: FAIL: no '%s=' in the result line of:\n%s\n", key, out);
		exit(1);
	}
	return strtod(at + strlen(pat), NULL);
}

/* The logits of chunk k of build NAME: [ctx, vocab]. */
static NpyArray load_chunk(const char *dir, const char *name, int k, int ctx)
{
	char path[4096], err[512];
	snprintf(path, sizeof path, "%s/%s-%d.npy", dir, name, k);
	NpyArray a;
	if (npy_read(path, &a, err, sizeof err) != 0) {
		fprintf(stderr, "check_eval: %s\n", err);
		exit(2);
	}
	CHECK_OR_DIE(a.ndim == 2 && a.shape[0] == ctx);
	return a;
}

static int *load_chunk_ids(const char *dir, int k, int ctx)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/chunk-%d.ids", dir, k);
	char *s = slurp(path);
	size_t n;
	int *ids = parse_ids(s, &n);
	free(s);
	CHECK_OR_DIE(n == (size_t)ctx);
	return ids;
}

/* ------------------------------------------------------------ arithmetic */

static double logsumexp(const double *x, int n)
{
	double m = x[0], s = 0;
	for (int i = 1; i < n; i++)
		m = x[i] > m ? x[i] : m;
	for (int i = 0; i < n; i++)
		s += exp(x[i] - m);
	return m + log(s);
}

static int argmax(const double *x, int n)
{
	int b = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

static double mean(const double *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

/* sample covariance of x and y divided by n: the covariance of their means */
static double cov_means(const double *x, const double *y, size_t n)
{
	double mx = mean(x, n), my = mean(y, n), s = 0;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - mx) * (y[i] - my);
	return s / (double)(n - 1) / (double)n;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ------------------------------------------------------------ comparisons */

static void close_abs(const char *what, double got, double want, double tol)
{
	printf("  %-13s got %.10g, recomputed %.10g, |diff| %.3g (tolerance %.3g)\n", what, got, want,
	       fabs(got - want), tol);
	CHECK(fabs(got - want) <= tol, "%s: %.10g vs %.10g", what, got, want);
}

static void close_rel(const char *what, double got, double want, double rel)
{
	close_abs(what, got, want, rel * fabs(want));
}

/* ------------------------------------------------------------ modes */

typedef struct Preds {
	size_t n;
	double *nll, *nll_base, *kld;
	long agree;
} Preds;

/* Every prediction of every chunk: NLL of `base` (and of `this`, with the
 * exact KLD and top-1 agreement, when this is not NULL). */
static Preds predictions(const char *dir, int ctx, int chunks, const char *base, const char *this_)
{
	int first = ctx / 2, scored = ctx - 1 - first;
	Preds p = {0};
	size_t cap = (size_t)chunks * (size_t)scored;
	p.nll = malloc(cap * sizeof *p.nll);
	p.nll_base = malloc(cap * sizeof *p.nll_base);
	p.kld = malloc(cap * sizeof *p.kld);
	CHECK_OR_DIE(p.nll && p.nll_base && p.kld);
	for (int k = 0; k < chunks; k++) {
		int *ids = load_chunk_ids(dir, k, ctx);
		NpyArray b = load_chunk(dir, base, k, ctx), t = b;
		if (this_)
			t = load_chunk(dir, this_, k, ctx);
		int V = (int)b.shape[1];
		CHECK_OR_DIE(t.shape[1] == V);
		for (int j = first; j < ctx - 1; j++) {
			const double *rb = b.data + (size_t)j * V, *rt = t.data + (size_t)j * V;
			double lb = logsumexp(rb, V), lt = logsumexp(rt, V), kl = 0;
			for (int i = 0; i < V; i++)
				kl += exp(rb[i] - lb) * ((rb[i] - lb) - (rt[i] - lt));
			p.nll_base[p.n] = lb - rb[ids[j + 1]];
			p.nll[p.n] = lt - rt[ids[j + 1]];
			p.kld[p.n] = kl > 0 ? kl : 0;
			p.agree += argmax(rb, V) == argmax(rt, V);
			p.n++;
		}
		if (this_)
			npy_free(&t);
		npy_free(&b);
		free(ids);
	}
	return p;
}

/* The perplexity figures of nll[] against the result line's prefix
 * ("" for this build's, "_base" for the base's). */
static void check_ppl_figures(const char *out, const double *nll, size_t n, const char *which)
{
	double m = mean(nll, n), se = sqrt(cov_means(nll, nll, n)), ppl = exp(m);
	char k1[32], k2[32];
	snprintf(k1, sizeof k1, "ppl%s", which);
	snprintf(k2, sizeof k2, "ppl%s_err", which);
	close_rel(k1, result_value(out, k1), ppl, 1e-6);
	close_rel(k2, result_value(out, k2), ppl * se, 1e-4);
	if (!*which) {
		close_abs("nll", result_value(out, "nll"), m, 1e-6);
		close_rel("nll_err", result_value(out, "nll_err"), se, 1e-4);
	}
}

static int mode_chunks(char **argv)
{
	char *s = slurp(argv[2]);
	size_t n;
	int *ids = parse_ids(s, &n);
	int ctx = atoi(argv[3]), chunks = atoi(argv[4]), bos = atoi(argv[5]);
	CHECK_OR_DIE(ctx > 0 && (size_t)ctx * (size_t)chunks <= n);
	for (int k = 0; k < chunks; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/chunk-%d.ids", argv[6], k);
		FILE *f = fopen(path, "w");
		CHECK_OR_DIE(f != NULL);
		for (int j = 0; j < ctx; j++)
			fprintf(f, j ? ",%d" : "%d", j ? ids[(size_t)k * ctx + j] : bos);
		fputc('\n', f);
		CHECK_OR_DIE(fclose(f) == 0);
	}
	free(ids);
	free(s);
	return 0;
}

static void check_shape(const char *out, int ctx, int chunks, size_t n)
{
	CHECK_INT((long long)result_value(out, "ctx"), ctx);
	CHECK_INT((long long)result_value(out, "chunks"), chunks);
	CHECK_INT((long long)result_value(out, "predictions"), (long long)n);
}

static int mode_ppl(char **argv)
{
	char *out = slurp(argv[2]);
	int ctx = atoi(argv[3]), chunks = atoi(argv[4]);
	Preds p = predictions(argv[5], ctx, chunks, argv[6], NULL);
	check_shape(out, ctx, chunks, p.n);
	check_ppl_figures(out, p.nll_base, p.n, "");
	free(p.nll);
	free(p.nll_base);
	free(p.kld);
	free(out);
	return 0;
}

/* Every figure of a comparison: `out` holds them as lfm2-run's result line. */
static void check_comparison(const char *out, int ctx, int chunks, const char *dir, const char *base,
                             const char *this_, const char *kld_file)
{
	Preds p = predictions(dir, ctx, chunks, base, this_);
	size_t n = p.n;
	check_shape(out, ctx, chunks, n);
	check_ppl_figures(out, p.nll, n, "");
	check_ppl_figures(out, p.nll_base, n, "_base");
	double ppl = exp(mean(p.nll, n)), pb = exp(mean(p.nll_base, n));
	double var = ppl * ppl * cov_means(p.nll, p.nll, n) + pb * pb * cov_means(p.nll_base, p.nll_base, n)
	             - 2 * ppl * pb * cov_means(p.nll, p.nll_base, n);
	close_abs("dppl", result_value(out, "dppl"), ppl - pb, 1e-6 * pb);
	/* the covariance form cancels to rounding noise when the builds agree */
	close_abs("dppl_err", result_value(out, "dppl_err"), sqrt(fmax(var, 0)), 1e-3 * sqrt(fmax(var, 0)) + 1e-6 * pb);
	double kmean = mean(p.kld, n), kse = sqrt(cov_means(p.kld, p.kld, n));
	qsort(p.kld, n, sizeof *p.kld, by_value);
	size_t rank = (size_t)ceil(0.99 * (double)n);
	double p99 = p.kld[rank ? rank - 1 : 0], kmax = p.kld[n - 1], top1 = (double)p.agree / (double)n;
	close_abs("kld", result_value(out, "kld"), kmean, 1e-5);
	close_abs("kld_err", result_value(out, "kld_err"), kse, 1e-2 * kse + 1e-7);
	close_abs("kld_p99", result_value(out, "kld_p99"), p99, fmax(1e-4, 1e-2 * p99));
	close_abs("kld_max", result_value(out, "kld_max"), kmax, fmax(1e-4, 1e-2 * kmax));
	close_abs("top1", result_value(out, "top1"), top1, 1.0 / (double)n + 1e-12);
	if (!strcmp(base, this_)) {   /* a build against itself: exactly nothing */
		CHECK(strstr(out, " kld=0 ") && strstr(out, " kld_max=0 ") && strstr(out, " top1=1"),
		      "a base against itself must report kld=0, kld_max=0, top1=1 exactly:\n%s", out);
		CHECK(strstr(out, " dppl=0 ") && strstr(out, " dppl_err=0 "),
		      "PPL - PPL(base) of a base against itself must be 0 +- 0");
	}
	if (kld_file) {
		NpyArray a = load_chunk(dir, base, 0, ctx);
		long long vocab = a.shape[1];
		npy_free(&a);
		struct stat st;
		CHECK_OR_DIE(stat(kld_file, &st) == 0);
		printf("  %s: %lld bytes = 64 + %zu x (24 + 2 x %lld)\n", kld_file, (long long)st.st_size, n, vocab);
		CHECK_INT((long long)st.st_size, 64 + (long long)n * (24 + 2 * vocab));
	}
	free(p.nll);
	free(p.nll_base);
	free(p.kld);
}

static int mode_kld(int argc, char **argv)
{
	char *out = slurp(argv[2]);
	check_comparison(out, atoi(argv[3]), atoi(argv[4]), argv[5], argv[6], argv[7], argc > 8 ? argv[8] : NULL);
	free(out);
	return 0;
}

static double json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	CHECK(cJSON_IsNumber(v), "the report has no number '%s'", key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The .kld header's token hash, as the report prints it. */
static void kld_tokens_hash(const char *path, char *out, size_t cap)
{
	unsigned char h[24];
	FILE *f = fopen(path, "rb");
	CHECK_OR_DIE(f && fread(h, 1, 24, f) == 24);
	fclose(f);
	unsigned long long v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | h[16 + i];
	snprintf(out, cap, "%016llx", v);
}

static int mode_report(char **argv)
{
	char *json = slurp(argv[2]), *base = slurp(argv[4]), *this_ = slurp(argv[5]);
	cJSON *root = cJSON_Parse(json);
	CHECK_OR_DIE(root != NULL);
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "eval_text");
	const cJSON *fmts = cJSON_GetObjectItemCaseSensitive(root, "formats"), *f = NULL, *e;
	CHECK_OR_DIE(cJSON_IsObject(text) && cJSON_IsArray(fmts));
	cJSON_ArrayForEach(e, fmts) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "format");
		if (cJSON_IsString(name) && !strcmp(name->valuestring, argv[3]))
			f = e;
	}
	CHECK_OR_DIE(f != NULL);
	char hash[32];
	kld_tokens_hash(argv[6], hash, sizeof hash);
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(text, "tokens_hash");
	CHECK(cJSON_IsString(th) && !strcmp(th->valuestring, hash), "the report's chunks are not the .kld's tokens");
	double n = result_value(this_, "predictions");
	CHECK_INT((long long)json_num(text, "predictions"), (long long)n);
	CHECK_INT((long long)json_num(text, "ctx"), (long long)result_value(this_, "ctx"));
	CHECK_INT((long long)json_num(text, "chunks"), (long long)result_value(this_, "chunks"));
	close_rel("f32 ppl", result_value(base, "ppl"), json_num(text, "f32_ppl"), 1e-5);
	close_rel("f32 ppl_err", result_value(base, "ppl_err"), json_num(text, "f32_ppl_err"), 1e-4);
	close_rel("ppl", result_value(this_, "ppl"), json_num(f, "ppl"), 1e-5);
	close_rel("ppl_err", result_value(this_, "ppl_err"), json_num(f, "ppl_err"), 1e-4);
	close_rel("kld", result_value(this_, "kld"), json_num(f, "kld_mean"), 1e-3);
	close_rel("kld_err", result_value(this_, "kld_err"), json_num(f, "kld_err"), 1e-2);
	close_rel("kld_p99", result_value(this_, "kld_p99"), json_num(f, "kld_p99"), 1e-3);
	close_abs("top1 %", 100 * result_value(this_, "top1"), json_num(f, "top1_percent"), 100 / n + 1e-9);
	CHECK(json_num(f, "kld_mean") > 0, "the format's KLD is 0: the comparison saw no quantization");
	cJSON_Delete(root);
	free(json);
	free(base);
	free(this_);
	return 0;
}

/* A variant's figures from variants.json, written as lfm2-run's result
 * line (the f32 reference's perplexity as the base's). */
static int mode_variants(char **argv)
{
	char *json = slurp(argv[2]);
	cJSON *root = cJSON_Parse(json);
	CHECK_OR_DIE(root != NULL);
	const cJSON *val = cJSON_GetObjectItemCaseSensitive(root, "validation");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(val, "eval_text");
	const cJSON *vars = cJSON_GetObjectItemCaseSensitive(root, "variants"), *v = NULL, *e;
	CHECK_OR_DIE(cJSON_IsObject(text) && cJSON_IsArray(vars));
	cJSON_ArrayForEach(e, vars) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (cJSON_IsString(name) && !strcmp(name->valuestring, argv[3]))
			v = e;
	}
	CHECK_OR_DIE(v != NULL);
	int ctx = atoi(argv[4]), chunks = atoi(argv[5]), scored = ctx - 1 - ctx / 2;
	char out[2048];
	snprintf(out, sizeof out, "result: ppl=%.17g ppl_err=%.17g nll=%.17g nll_err=%.17g predictions=%d chunks=%d "
	         "ctx=%d ppl_base=%.17g ppl_base_err=%.17g dppl=%.17g dppl_err=%.17g kld=%.17g kld_err=%.17g "
	         "kld_p99=%.17g kld_max=%.17g top1=%.17g\n", json_num(v, "ppl"), json_num(v, "ppl_err"),
	         log(json_num(v, "ppl")), json_num(v, "ppl_err") / json_num(v, "ppl"), (int)json_num(text, "predictions"),
	         (int)json_num(text, "chunks"), (int)json_num(text, "ctx"), json_num(text, "f32_ppl"),
	         json_num(text, "f32_ppl_err"), json_num(v, "dppl"), json_num(v, "dppl_err"), json_num(v, "kld_mean"),
	         json_num(v, "kld_err"), json_num(v, "kld_p99"), json_num(v, "kld_max"), json_num(v, "top1"));
	CHECK_INT((long long)json_num(text, "predictions"), (long long)chunks * scored);
	check_comparison(out, ctx, chunks, argv[6], argv[7], argv[8], NULL);
	cJSON_Delete(root);
	free(json);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && !strcmp(argv[1], "chunks"))
		mode_chunks(argv);
	else if (argc == 7 && !strcmp(argv[1], "ppl"))
		mode_ppl(argv);
	else if ((argc == 8 || argc == 9) && !strcmp(argv[1], "kld"))
		mode_kld(argc, argv);
	else if (argc == 7 && !strcmp(argv[1], "report"))
		mode_report(argv);
	else if (argc == 9 && !strcmp(argv[1], "variants"))
		mode_variants(argv);
	else {
		fprintf(stderr, "usage: check_eval chunks IDS CTX CHUNKS BOS DIR | ppl RESULT CTX CHUNKS DIR BASE | "
		        "kld RESULT CTX CHUNKS DIR BASE THIS [FILE.kld] | report JSON FORMAT BASE_RESULT THIS_RESULT "
		        "FILE.kld | variants JSON VARIANT CTX CHUNKS DIR BASE THIS\n");
		return 2;
	}
	return check_finish(argv[1]);
}
