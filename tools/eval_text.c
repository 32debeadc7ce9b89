/*
 * eval_text.c — reading --eval-text FILE into the chunks every accuracy
 * tool judges on (eval_text.h).
 *
 * The text goes through the very tokenizer a compiled model uses: the
 * checkpoint's tokenizer.json compiled to the runtime's table
 * (lfm_tokenizer_build) and encoded by the runtime's encoder with BOS,
 * then cut by the runtime's lfm2_eval_plan_make — the code lfm2-run
 * --perplexity runs — so "the text's chunks" are the same tokens here, in
 * a build's lfm2-run, and in a .kld file's hash.
 *
 * The flags are checked like every other flag of the tools: one line
 * naming the flag or the file, before any model is built or run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_text.h"
#include "fileio.h"
#include "lfm2_tokenizer.h"
#include "tokenizer.h"

#define MAX_TEXT_BYTES (1 << 30)

static int int_value(const char *cmd, const char *flag, const char *s, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < lo || v > hi) {
		if (s)
			lfm_fail("%s: %s takes an integer in %ld..%ld (got '%s')", cmd, flag, lo, hi, s);
		else
			lfm_fail("%s: %s needs a value", cmd, flag);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int eval_text_arg(EvalTextOpts *o, const char *cmd, int argc, char **argv, int *i)
{
	const char *flag = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	if (!strcmp(flag, "--eval-text")) {
		if (!val) {
			lfm_fail("%s: --eval-text needs a value", cmd);
			return -1;
		}
		o->path = val;
	} else if (!strcmp(flag, "--eval-ctx")) {
		if (int_value(cmd, flag, val, LFM2_EVAL_MIN_CTX, 1 << 20, &o->ctx))
			return -1;
	} else if (!strcmp(flag, "--eval-chunks")) {
		if (int_value(cmd, flag, val, 1, 1 << 20, &o->chunks))
			return -1;
	} else {
		return 0;
	}
	++*i;
	return 1;
}

int eval_text_check(const EvalTextOpts *o, LfmError *err)
{
	if (o->path || (!o->ctx && !o->chunks))
		return 0;
	return lfm_error(err, NULL, "%s needs --eval-text FILE", o->ctx ? "--eval-ctx" : "--eval-chunks");
}

int eval_text_ctx(const EvalTextOpts *o, int max_position)
{
	if (o->ctx)
		return o->ctx;
	return max_position > 0 && max_position < LFM2_EVAL_DEFAULT_CTX ? max_position : LFM2_EVAL_DEFAULT_CTX;
}

/* The whole file, NUL-terminated; it must be non-empty text. */
static char *read_text(const char *path, size_t *len, LfmError *err)
{
	FILE *f = lfm_fopen_input(path, err);
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1 || cap >= MAX_TEXT_BYTES)
			break;
		char *p = realloc(buf, cap *= 2);
		if (!p)
			free(buf);
		buf = p;
	}
	int bad = ferror(f), e = errno;
	fclose(f);
	if (!buf || bad) {
		free(buf);
		lfm_error(err, path, "cannot read: %s", buf ? strerror(e) : "out of memory");
		return NULL;
	}
	buf[n] = 0;
	const char *why = n == 0 ? "the file is empty" : strlen(buf) != n ? "the file contains a NUL byte (not text)"
	                  : n == cap - 1 ? "larger than 1 GiB" : NULL;
	if (why) {
		free(buf);
		lfm_error(err, path, "%s", why);
		return NULL;
	}
	*len = n;
	return buf;
}

/* The model's tokenizer, as lfm2-run's tokenizer.bin holds it (text
 * names the text in the message when there is none). */
static lfm2_tokenizer *open_tokenizer(const char *model_dir, const char *text, LfmError *err)
{
	void *table;
	size_t n;
	int rc = lfm_tokenizer_build(model_dir, &table, &n, err);
	if (rc == 0)
		lfm_error(err, text, "the model %s has no tokenizer.json to tokenize it with", model_dir);
	if (rc <= 0)
		return NULL;
	lfm2_tokenizer *tok = NULL;
	char msg[256];
	if (lfm2_tokenizer_open(table, n, &tok, msg, sizeof msg) != 0)
		lfm_error(err, model_dir, "%s", msg);
	free(table);
	return tok;
}

int eval_text_plan(const EvalTextOpts *o, const char *model_dir, int max_position, lfm2_eval_plan *plan,
                   size_t *n_tokens, LfmError *err)
{
	memset(plan, 0, sizeof *plan);
	size_t len, n = 0;
	char *text = read_text(o->path, &len, err);
	if (!text)
		return -1;
	lfm2_tokenizer *tok = open_tokenizer(model_dir, o->path, err);
	int32_t *ids = NULL;
	int rc = -1, ctx = eval_text_ctx(o, max_position);
	if (!tok)
		goto out;
	if (lfm2_tokenizer_encode(tok, text, len, LFM2_ENCODE_ADD_SPECIAL, &ids, &n) != 0) {
		lfm_error(err, o->path, "out of memory");
		goto out;
	}
	if (n < (size_t)ctx) {
		lfm_error(err, o->path, "%zu tokens, fewer than one chunk of %d (lower --eval-ctx)", n, ctx);
		goto out;
	}
	if (lfm2_eval_plan_make(ids, n, ctx, o->chunks, lfm2_tokenizer_bos(tok), plan) != 0) {
		lfm_error(err, o->path, "out of memory");
		goto out;
	}
	*n_tokens = n;
	rc = 0;
out:
	free(ids);
	lfm2_tokenizer_close(tok);
	free(text);
	return rc;
}
