/*
 * cli_eval.c — `lfm2-run --perplexity FILE`: how well the model predicts a
 * real text, and how far this build's predictions are from a base build's.
 *
 *   lfm2-run --perplexity FILE [-c N] [--chunks K]       perplexity +- error
 *   lfm2-run --perplexity FILE --kld-base BASE.kld       ... and keep this
 *                                                        build's distributions
 *   lfm2-run --perplexity FILE --kld BASE.kld            ... and compare with them:
 *                                                        KLD mean +- error, p99, max,
 *                                                        top-1 agreement, PPL - PPL(base)
 *
 * The text is tokenized once with the model's tokenizer (BOS first, as
 * --raw does) and cut into chunks of -c tokens (default 512, at most the
 * model's max_position) exactly as llama.cpp's llama-perplexity does:
 * lfm2_eval.h says how, and which positions are scored (the second half of
 * each chunk).  Each chunk runs from an empty state (the session reset):
 * the first half is fed without logits, the rest with the logits of every
 * position.  -c is the chunk length here (the session is sized to it);
 * --chunks K scores only the first K chunks.
 *
 * With --kld the .kld file decides the chunks: its context and chunk count
 * are used (a different -c or --chunks is an error), and the text must
 * give the very tokens the base was made from — the file holds their
 * hash, so a base made from another text, another tokenizer or another
 * context is refused with one line before any weight is loaded.  A base
 * from another checkpoint is allowed (comparing a bf16 checkpoint with its
 * f32 original is a fair question) and noted on stderr.
 *
 * Output: the figures on stdout, human-readable, then one line to parse:
 *   result: ppl=P ppl_err=E nll=N nll_err=E predictions=N chunks=C ctx=X tok_s=R
 * and with --kld also ppl_base, ppl_base_err, dppl, dppl_err, kld, kld_err,
 * kld_p99, kld_max, top1 (a fraction).  Errors: the standard error of each
 * mean (KLD, NLL); PPL's by the delta method (PPL x that of the mean NLL);
 * PPL - PPL(base)'s likewise from the paired NLLs (the standard error of
 * the mean of PPL x nll_i - PPL(base) x nll_base_i: their covariance
 * counted, as llama-perplexity does, and exactly 0 for a build against
 * itself); top-1's binomial, sqrt(p(1-p)/(n-1)).  p99 is
 * the nearest rank.  On stderr: the running perplexity after each chunk,
 * and the timing (load, evaluation tok/s).
 *
 * Exit status as everywhere in lfm2-run: 2 for bad input (a missing,
 * empty or too short text, a .kld that does not fit), 1 for a runtime
 * failure (weights, memory, writing the .kld, logits that are not
 * finite).  A --kld-base that fails leaves no file behind.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lfm2_eval.h"

typedef struct eval_run {
	const lfm2_model_info *model;
	const cli_options *o;
	lfm2_eval_plan plan;
	size_t n_ids;                 /* the text's tokens */
	lfm2_kld_writer *writer;      /* --kld-base */
	lfm2_kld_reader *reader;      /* --kld */
	lfm2_kld_header base;         /* the reader's header */
	/* one value per prediction */
	size_t n;
	double *nll, *nll_base, *kld;
	double *paired;               /* scratch for the paired NLL differences */
	long agree;
	/* buffers */
	float *logits;                /* scored x vocab */
	uint16_t *codes, *base_codes;
	double *lp, *lq;
	double eval_s;
} eval_run;

/* ------------------------------------------------------------ the text */

/* The text of --perplexity FILE, tokenized (BOS first when the tokenizer adds one). */
static int text_ids(const char *path, const lfm2_tokenizer *tok, int32_t **ids, size_t *n)
{
	lfm2_err oerr;
	*ids = NULL;
	FILE *f = cli_fopen_input(path, &oerr);
	if (!f)
		return cli_fail(CLI_USAGE, "--perplexity %s", oerr.msg);
	char *text;
	size_t len;
	int rc = cli_read_stream(f, &text, &len);
	int saved = errno;
	fclose(f);
	if (rc != 0)
		return cli_fail(CLI_RUNTIME, "--perplexity %s: cannot read: %s", path, strerror(saved));
	if (len == 0)
		rc = cli_fail(CLI_USAGE, "--perplexity %s: the file is empty", path);
	else if (strlen(text) != len)
		rc = cli_fail(CLI_USAGE, "--perplexity %s: the file contains a NUL byte (not text)", path);
	else if (lfm2_tokenizer_encode(tok, text, len, LFM2_ENCODE_ADD_SPECIAL, ids, n) != 0)
		rc = cli_fail(CLI_RUNTIME, "out of memory");
	free(text);
	return rc;
}

/* ------------------------------------------------------------ the plan */

/* --kld BASE: open it, and take its context and chunk count (refusing a
 * -c or --chunks that differs, or a vocabulary that is not the model's). */
static int open_base(eval_run *r, long *ctx)
{
	const cli_options *o = r->o;
	lfm2_err err;
	r->reader = lfm2_kld_open(o->kld_path, &r->base, &err);
	if (!r->reader)
		return cli_fail(CLI_USAGE, "--kld %s", err.msg);
	const lfm2_kld_header *b = &r->base;
	if (b->vocab != r->model->vocab_size)
		return cli_fail(CLI_USAGE, "--kld %s: made for a vocabulary of %d, this model's is %d", o->kld_path,
		                (int)b->vocab, (int)r->model->vocab_size);
	if (*ctx && *ctx != b->ctx)
		return cli_fail(CLI_USAGE, "--kld %s: made with chunks of %d tokens, not %ld (leave -c out to use "
		                "the file's)", o->kld_path, (int)b->ctx, *ctx);
	if (o->eval_chunks && o->eval_chunks != b->chunks)
		return cli_fail(CLI_USAGE, "--kld %s: made from %d chunks, not %ld (leave --chunks out to use the "
		                "file's)", o->kld_path, (int)b->chunks, o->eval_chunks);
	*ctx = b->ctx;
	if (b->model_hash != r->model->model_hash)
		fprintf(stderr, "lfm2-run: note: %s was made from another checkpoint (model hash %016" PRIx64
		        ", this build's %016" PRIx64 ")\n", o->kld_path, b->model_hash, r->model->model_hash);
	return 0;
}

/* The chunk length: -c, else the .kld's, else the default (within max_position). */
static int choose_ctx(eval_run *r, long *ctx)
{
	const lfm2_model_info *m = r->model;
	if (r->o->kld_path && open_base(r, ctx) != 0)
		return CLI_USAGE;
	if (!*ctx)   /* a -c past max_position is refused where the session is planned (cli_check_memory) */
		*ctx = m->max_position > 0 && m->max_position < LFM2_EVAL_DEFAULT_CTX ? m->max_position
		                                                                     : LFM2_EVAL_DEFAULT_CTX;
	if (*ctx < LFM2_EVAL_MIN_CTX)
		return cli_fail(CLI_USAGE, "-c %ld: chunks of at least %d tokens are needed (the second half of each "
		                "is scored)", *ctx, LFM2_EVAL_MIN_CTX);
	return 0;
}

/* The chunks of the text, checked against the base when there is one. */
static int make_plan(eval_run *r, const int32_t *ids, int32_t bos, long ctx)
{
	const cli_options *o = r->o;
	if (r->n_ids < (size_t)ctx)
		return cli_fail(CLI_USAGE, "--perplexity %s: %zu tokens, fewer than one chunk of %ld (lower -c)",
		                o->perplexity_path, r->n_ids, ctx);
	int32_t want = r->reader ? r->base.chunks : (int32_t)o->eval_chunks;
	if (lfm2_eval_plan_make(ids, r->n_ids, (int32_t)ctx, want, bos, &r->plan) != 0)
		return cli_fail(CLI_RUNTIME, "out of memory");
	if (!r->reader)
		return 0;
	if (r->plan.chunks < r->base.chunks)
		return cli_fail(CLI_USAGE, "--kld %s: made from %d chunks of %ld tokens, but %s has only %d",
		                o->kld_path, (int)r->base.chunks, ctx, o->perplexity_path, (int)r->plan.chunks);
	if (r->plan.hash != r->base.tokens_hash)
		return cli_fail(CLI_USAGE, "--kld %s: made from other tokens (another text or tokenizer: token hash "
		                "%016" PRIx64 ", %s gives %016" PRIx64 ")", o->kld_path, r->base.tokens_hash,
		                o->perplexity_path, r->plan.hash);
	return 0;
}

static int alloc_buffers(eval_run *r)
{
	size_t V = (size_t)r->model->vocab_size, total = (size_t)r->plan.chunks * (size_t)r->plan.scored;
	bool kld = r->reader != NULL;
	r->nll = malloc(total * sizeof *r->nll);
	r->logits = malloc((size_t)r->plan.scored * V * sizeof *r->logits);
	bool ok = r->nll && r->logits;
	if (r->writer || kld)
		ok = ok && (r->codes = malloc(V * sizeof *r->codes));
	if (kld) {
		r->nll_base = malloc(total * sizeof *r->nll_base);
		r->kld = malloc(total * sizeof *r->kld);
		r->paired = malloc(total * sizeof *r->paired);
		r->base_codes = malloc(V * sizeof *r->base_codes);
		r->lp = malloc(V * sizeof *r->lp);
		r->lq = malloc(V * sizeof *r->lq);
		ok = ok && r->nll_base && r->kld && r->paired && r->base_codes && r->lp && r->lq;
	}
	return ok ? 0 : cli_fail(CLI_RUNTIME, "out of memory");
}

static void free_run(eval_run *r)
{
	lfm2_eval_plan_free(&r->plan);
	lfm2_kld_abort(r->writer);
	lfm2_kld_close(r->reader);
	free(r->nll);
	free(r->nll_base);
	free(r->kld);
	free(r->paired);
	free(r->logits);
	free(r->codes);
	free(r->base_codes);
	free(r->lp);
	free(r->lq);
}

/* ------------------------------------------------------------ scoring */

/* One scored row: logits predicting `target` at prediction index r->n. */
static int score_row(eval_run *r, const float *row, int32_t target, int c, int pos)
{
	int32_t V = r->model->vocab_size, top1;
	lfm2_err err;
	if (!lfm2_eval_row_finite(row, V))
		return cli_fail(CLI_RUNTIME, "chunk %d, position %d: the logits are not finite (NaN or Inf)", c + 1, pos);
	r->nll[r->n] = lfm2_eval_nll(row, V, target, &top1);
	if (r->writer) {
		lfm2_kld_record rec = {r->nll[r->n], lfm2_kld_quantize(row, V, r->codes), top1, r->codes};
		if (lfm2_kld_write(r->writer, &rec, &err) != 0)
			return cli_fail(CLI_RUNTIME, "--kld-base %s", err.msg);
	}
	if (r->reader) {
		lfm2_kld_record base = {.codes = r->base_codes};
		if (lfm2_kld_read(r->reader, &base, &err) != 0)
			return cli_fail(CLI_RUNTIME, "--kld %s", err.msg);
		double step = lfm2_kld_quantize(row, V, r->codes);
		lfm2_kld_logprobs(r->base_codes, base.step, V, r->lp);
		lfm2_kld_logprobs(r->codes, step, V, r->lq);
		r->kld[r->n] = lfm2_kld_rows(r->lp, r->lq, V);
		r->nll_base[r->n] = base.nll;
		r->agree += base.top1 == top1;
	}
	r->n++;
	return 0;
}

/* Chunk c from an empty state: its first half without logits, then the
 * scored positions with every row. */
static int eval_chunk(eval_run *r, lfm2_session *s, int c)
{
	const lfm2_eval_plan *p = &r->plan;
	const int32_t *t = p->tokens + (size_t)c * (size_t)p->ctx;
	lfm2_err err;
	lfm2_session_reset(s);
	double t0 = cli_now();
	if (lfm2_session_eval(s, t, p->first, NULL, 0, &err) != 0 ||
	    lfm2_session_eval(s, t + p->first, p->scored, r->logits, 1, &err) != 0)
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	r->eval_s += cli_now() - t0;
	size_t V = (size_t)r->model->vocab_size;
	for (int32_t j = 0; j < p->scored; j++) {
		int rc = score_row(r, r->logits + (size_t)j * V, t[p->first + j + 1], c, p->first + j);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ the report */

typedef struct eval_figures {
	double nll, nll_se, ppl, ppl_err;
	double nll_base, nll_base_se, ppl_base, ppl_base_err, dppl, dppl_err;
	double kld, kld_se, kld_p99, kld_max, top1, top1_err;
} eval_figures;

static void compute_figures(eval_run *r, eval_figures *f)
{
	memset(f, 0, sizeof *f);
	size_t n = r->n;
	lfm2_eval_mean_se(r->nll, n, &f->nll, &f->nll_se);
	f->ppl = exp(f->nll);
	f->ppl_err = f->ppl * f->nll_se;
	if (!r->reader)
		return;
	lfm2_eval_mean_se(r->nll_base, n, &f->nll_base, &f->nll_base_se);
	f->ppl_base = exp(f->nll_base);
	f->ppl_base_err = f->ppl_base * f->nll_base_se;
	f->dppl = f->ppl - f->ppl_base;
	/* delta method on the paired NLLs: the error of the mean of
	 * ppl * nll_i - ppl_base * nll_base_i (exactly 0 for a build against itself) */
	for (size_t i = 0; i < n; i++)
		r->paired[i] = f->ppl * r->nll[i] - f->ppl_base * r->nll_base[i];
	double unused;
	lfm2_eval_mean_se(r->paired, n, &unused, &f->dppl_err);
	lfm2_eval_mean_se(r->kld, n, &f->kld, &f->kld_se);
	f->kld_p99 = lfm2_eval_quantile(r->kld, n, 0.99);   /* sorts r->kld */
	f->kld_max = n ? r->kld[n - 1] : 0;
	f->top1 = n ? (double)r->agree / (double)n : 0;
	f->top1_err = n > 1 ? sqrt(f->top1 * (1 - f->top1) / (double)(n - 1)) : 0;
}

static int print_report(eval_run *r)
{
	const cli_options *o = r->o;
	const lfm2_eval_plan *p = &r->plan;
	eval_figures f;
	compute_figures(r, &f);
	long fed = (long)p->chunks * (p->ctx - 1);
	printf("perplexity of %s: %zu tokens, %d chunks of %d (each from an empty state, BOS first), positions "
	       "%d..%d of each scored: %zu predictions\n", o->perplexity_path, r->n_ids, (int)p->chunks, (int)p->ctx,
	       (int)p->first, (int)p->ctx - 2, r->n);
	printf("PPL %.4f +/- %.4f (mean NLL %.5f +/- %.5f nats)\n", f.ppl, f.ppl_err, f.nll, f.nll_se);
	if (r->reader) {
		printf("base %s: PPL %.4f +/- %.4f; PPL - PPL(base) %+.4f +/- %.4f\n", o->kld_path, f.ppl_base,
		       f.ppl_base_err, f.dppl, f.dppl_err);
		printf("KLD(base || this) mean %.6g +/- %.2g nats, p99 %.6g, max %.6g; top-1 agreement %.2f%% "
		       "+/- %.2f%%\n", f.kld, f.kld_se, f.kld_p99, f.kld_max, 100 * f.top1, 100 * f.top1_err);
	}
	printf("result: ppl=%.10g ppl_err=%.10g nll=%.10g nll_err=%.10g predictions=%zu chunks=%d ctx=%d tok_s=%.1f",
	       f.ppl, f.ppl_err, f.nll, f.nll_se, r->n, (int)p->chunks, (int)p->ctx, cli_rate(fed, r->eval_s));
	if (r->reader)
		printf(" ppl_base=%.10g ppl_base_err=%.10g dppl=%.10g dppl_err=%.10g kld=%.10g kld_err=%.10g "
		       "kld_p99=%.10g kld_max=%.10g top1=%.10g", f.ppl_base, f.ppl_base_err, f.dppl, f.dppl_err, f.kld,
		       f.kld_se, f.kld_p99, f.kld_max, f.top1);
	putchar('\n');
	return cli_flush_stdout();
}

/* ------------------------------------------------------------ the mode */

/* Weights, then every chunk; the base is committed only when all went well. */
static int evaluate(eval_run *r, cli_options *o)
{
	cli_runtime rt;
	o->ctx = r->plan.ctx;
	int rc = alloc_buffers(r);
	if (rc || (rc = cli_open_runtime(o, r->model, &rt)) != 0)
		return rc;
	fputs("lfm2-run: perplexity by chunk:", stderr);
	double sum = 0;
	for (int c = 0; c < r->plan.chunks && !rc; c++) {
		size_t before = r->n;
		rc = eval_chunk(r, rt.session, c);
		for (size_t i = before; !rc && i < r->n; i++)
			sum += r->nll[i];
		if (!rc)
			fprintf(stderr, " [%d]%.4f", c + 1, exp(sum / (double)r->n));
	}
	fputc('\n', stderr);
	lfm2_err err;
	if (!rc && r->writer) {
		rc = lfm2_kld_commit(r->writer, &err) ? cli_fail(CLI_RUNTIME, "--kld-base %s", err.msg) : 0;
		r->writer = NULL;
		if (!rc)
			fprintf(stderr, "lfm2-run: wrote %s (%zu predictions of %d logits, 16-bit)\n", o->kld_base_path,
			        r->n, (int)r->model->vocab_size);
	}
	if (!rc)
		rc = print_report(r);
	if (!rc)
		fprintf(stderr, "lfm2-run: load %.3f s (%s), evaluated %ld tokens in %.3f s (%.2f tok/s), threads %ld, "
		        "ctx %ld\n", rt.load_s, rt.load_mode, (long)r->plan.chunks * (r->plan.ctx - 1), r->eval_s,
		        cli_rate((long)r->plan.chunks * (r->plan.ctx - 1), r->eval_s), o->threads, o->ctx);
	cli_close_runtime(&rt);
	return rc;
}

/* The base's header for this run (--kld-base). */
static lfm2_kld_header base_header(const eval_run *r)
{
	return (lfm2_kld_header){r->plan.hash, r->model->model_hash, r->model->blob_hash, r->model->vocab_size,
	                         r->plan.ctx, r->plan.chunks, r->plan.first};
}

int cli_run_eval(cli_options *o, const lfm2_model_info *model)
{
	eval_run r;
	memset(&r, 0, sizeof r);
	r.model = model;
	r.o = o;
	lfm2_tokenizer *tok;
	int rc = cli_load_tokenizer(o, model, &tok);
	if (rc)
		return rc;
	int32_t *ids = NULL;
	long ctx = o->ctx;
	if ((rc = text_ids(o->perplexity_path, tok, &ids, &r.n_ids)) != 0 || (rc = choose_ctx(&r, &ctx)) != 0 ||
	    (rc = make_plan(&r, ids, lfm2_tokenizer_bos(tok), ctx)) != 0)
		goto out;
	if (o->kld_base_path) {
		lfm2_err err;
		lfm2_kld_header h = base_header(&r);
		if (!(r.writer = lfm2_kld_create(o->kld_base_path, &h, &err))) {
			rc = cli_fail(CLI_RUNTIME, "--kld-base %s", err.msg);
			goto out;
		}
	}
	rc = evaluate(&r, o);
out:
	free(ids);
	free_run(&r);
	lfm2_tokenizer_close(tok);
	return rc;
}
