/*
 * lfm2_eval.h — judging a model on real text: perplexity, and the KL
 * divergence of its next-token distributions from a base build's.
 *
 * `lfm2-run --perplexity FILE` (cli_eval.c) is built from these pieces,
 * and lfm2c's tools (quant-report --eval-text) cut a text into the same
 * chunks with them, so every number that says "on the text" means the
 * same positions.  Nothing here loads a model: the caller evaluates the
 * chunks and hands the logits in.
 *
 * Chunks (cli_score.c), as llama.cpp's llama-perplexity makes them: the
 * whole text is tokenized once the way the tokenizer does by default (BOS
 * first when it adds one), cut into floor(n / ctx) chunks of ctx tokens
 * (the rest is dropped; --chunks K keeps the first K), and the first id of
 * every chunk is replaced by BOS, so each chunk starts like a document
 * (that replaced text token is neither context nor predicted).  A tokenizer
 * without BOS leaves the chunks as cut.  Each chunk is evaluated from an
 * empty state, and only its second half is scored: the logits at positions
 * first = ctx/2 .. ctx-2 predict the tokens at first+1 .. ctx-1, ctx-1-first
 * predictions per chunk — every prediction has at least ctx/2 tokens of
 * context.
 *
 * Perplexity is exp(mean NLL) over all predictions, NLL = -log softmax of
 * the next token, in double from the float logits; its error is the
 * delta-method standard error, PPL x (standard error of the mean NLL).
 *
 * KL divergence needs the base build's distributions at the same
 * positions, kept in a .kld file (cli_kldfile.c).  Rows are stored
 * compactly: each row of logits x is rounded to 16-bit codes on a uniform
 * grid over its own range, c_i = round((x_i - min x) / step) with step =
 * (max x - min x) / 65535, and read back as the log-softmax of c_i * step
 * (the grid's origin cancels).  The comparison rounds the other build's
 * row the same way and takes KL(base || other) between the two rounded
 * distributions, so a build compared with itself gives exactly 0, and the
 * rounding enters the divergence only at second order: both rows are
 * renormalized after rounding, so its first-order terms cancel, leaving
 * terms of the size step x |log p - log q| and step^2.  On trained-tiny
 * (rows spanning ~30 nats, step ~5e-4) the mean KLD of q8_0 and q4_0
 * builds moves by less than 1e-6 (tests/eval checks it against the exact
 * divergence of full logit dumps; README.md has the numbers).  The base's
 * own NLL and argmax are stored exactly (double, int), so PPL(base), the
 * perplexity difference and top-1 agreement involve no rounding at all.
 *
 * The .kld file (all integers and floats little-endian):
 *
 *   offset  0  char[8]  "LFM2_KLD"
 *           8  u32      version (1)
 *          12  u32      header bytes (64)
 *          16  u64      XXH3-64 of the evaluated tokens: chunks x ctx ids as
 *                       little-endian int32, BOS in place (text, tokenizer,
 *                       ctx and chunk count in one number)
 *          24  u64      model_hash of the base build (informational)
 *          32  u64      blob_hash of the base build (informational)
 *          40  i32      vocab
 *          44  i32      ctx
 *          48  i32      chunks
 *          52  i32      first scored position (ctx / 2)
 *          56  u64      XXH3-64 of everything after the header
 *   64, then one record per prediction, chunk by chunk, position by position:
 *          f64 nll (the base's), f64 step, i32 top-1 id (the base's argmax,
 *          lowest id on ties), u32 0, u16 codes[vocab]  — 24 + 2 * vocab bytes.
 *
 * A reader refuses a file whose magic, version, sizes or payload hash do
 * not check out (one line naming the file and what is wrong).
 */
#ifndef LFM2_EVAL_H
#define LFM2_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "lfm2rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LFM2_EVAL_DEFAULT_CTX 512   /* llama-perplexity's customary -c 512 */
#define LFM2_EVAL_MIN_CTX 4         /* at least one prediction per chunk */
#define LFM2_KLD_LEVELS 65535       /* 16-bit codes: 0 .. 65535 */

/* ------------------------------------------------------------- chunks */

typedef struct lfm2_eval_plan {
	int32_t ctx;          /* tokens per chunk */
	int32_t chunks;
	int32_t first;        /* first scored position, ctx / 2 */
	int32_t scored;       /* predictions per chunk, ctx - 1 - first */
	int32_t *tokens;      /* chunks x ctx ids; chunk c at tokens + c * ctx */
	uint64_t hash;        /* XXH3-64 of tokens as little-endian int32 */
} lfm2_eval_plan;

/* The chunks of ids[0..n) (the text as the tokenizer encodes it):
 * floor(n / ctx) of them, at most max_chunks (<= 0: no limit), each with
 * its first id replaced by bos (bos < 0: left as it is).  Needs ctx >=
 * LFM2_EVAL_MIN_CTX and n >= ctx.  Returns 0, or -1 (bad arguments, no
 * memory) with the plan zeroed. */
int lfm2_eval_plan_make(const int32_t *ids, size_t n, int32_t ctx, int32_t max_chunks, int32_t bos,
                        lfm2_eval_plan *plan);
void lfm2_eval_plan_free(lfm2_eval_plan *plan);

/* ------------------------------------------------------------- one row */

/* 1 if every logit is finite. */
int lfm2_eval_row_finite(const float *logits, int32_t vocab);

/* -log softmax(logits)[target], in double; *argmax gets the id of the
 * largest logit (the lowest id on ties). */
double lfm2_eval_nll(const float *logits, int32_t vocab, int32_t target, int32_t *argmax);

/* Rounds a finite row to codes[vocab]; returns the step (0 when every
 * logit is equal: all codes 0). */
double lfm2_kld_quantize(const float *logits, int32_t vocab, uint16_t *codes);

/* The log-probabilities of a rounded row: out[i] = codes[i] * step -
 * logsumexp(codes * step), in double. */
void lfm2_kld_logprobs(const uint16_t *codes, double step, int32_t vocab, double *out);

/* KL(p || q) = sum p_i (lp_i - lq_i) of two log-probability rows, in
 * double; a rounding residue below 0 is returned as 0.  Exactly 0 when
 * the rows are equal. */
double lfm2_kld_rows(const double *lp, const double *lq, int32_t vocab);

/* ------------------------------------------------------------ statistics */

/* Mean of x[0..n) and the standard error of that mean, sqrt(s^2 / n) with
 * the sample variance s^2 (n - 1); two passes.  *se = 0 when n < 2. */
void lfm2_eval_mean_se(const double *x, size_t n, double *mean, double *se);

/* The covariance of the two means, cov(x, y) / n with the sample
 * covariance (n - 1); 0 when n < 2. */
double lfm2_eval_cov_of_means(const double *x, const double *y, size_t n);

/* The q-quantile of x[0..n) by nearest rank (the ceil(q * n)-th smallest;
 * q in [0, 1]); sorts x in place.  0 when n == 0. */
double lfm2_eval_quantile(double *x, size_t n, double q);

/* ------------------------------------------------------------ .kld files */

typedef struct lfm2_kld_header {
	uint64_t tokens_hash;     /* lfm2_eval_plan.hash */
	uint64_t model_hash, blob_hash;
	int32_t vocab, ctx, chunks, first;
} lfm2_kld_header;

/* One prediction of the base. */
typedef struct lfm2_kld_record {
	double nll;               /* -log p(next token) */
	double step;              /* the rounding grid of codes */
	int32_t top1;             /* argmax of the logits */
	uint16_t *codes;          /* vocab codes (the caller's buffer) */
} lfm2_kld_record;

typedef struct lfm2_kld_writer lfm2_kld_writer;
typedef struct lfm2_kld_reader lfm2_kld_reader;

/* Starts writing `path`: the records go to a file with no name yet (an
 * O_TMPFILE in path's directory), which lfm2_kld_commit puts in place; a
 * run that fails or is killed before that leaves nothing behind.  Where
 * the file system has no O_TMPFILE the file is "path.tmp.XXXXXX" instead,
 * removed on failure (a SIGKILL leaves it).  Checks that the directory is
 * writable. */
lfm2_kld_writer *lfm2_kld_create(const char *path, const lfm2_kld_header *h, lfm2_err *err);
int lfm2_kld_write(lfm2_kld_writer *w, const lfm2_kld_record *r, lfm2_err *err);
/* Fails unless exactly chunks x (ctx - 1 - first) records were written;
 * frees the writer either way. */
int lfm2_kld_commit(lfm2_kld_writer *w, lfm2_err *err);
/* Drops the file being written and frees the writer (NULL: no-op). */
void lfm2_kld_abort(lfm2_kld_writer *w);

/* Opens and checks a .kld file (magic, version, header, sizes, payload
 * hash: a truncated or altered file is refused); *h gets its header. */
lfm2_kld_reader *lfm2_kld_open(const char *path, lfm2_kld_header *h, lfm2_err *err);
/* The next record, codes into r->codes (vocab entries). */
int lfm2_kld_read(lfm2_kld_reader *rd, lfm2_kld_record *r, lfm2_err *err);
void lfm2_kld_close(lfm2_kld_reader *rd);

#ifdef __cplusplus
}
#endif

#endif
