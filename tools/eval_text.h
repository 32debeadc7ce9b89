/*
 * eval_text.h — `--eval-text FILE [--eval-ctx N] [--eval-chunks K]`, the
 * option lfm2c's accuracy tools (quant-report, variants, tune) share: judge
 * accuracy on a real text's chunks instead of random token positions.
 *
 * The chunks are exactly `lfm2-run --perplexity FILE -c N --chunks K`'s
 * (runtime_stub/lfm2_eval.h): the text tokenized with the checkpoint's
 * tokenizer (BOS first), cut into chunks of N tokens (default 512, at most
 * max_position_embeddings) with BOS first in each, every chunk from an
 * empty state, the second half of each scored.  quant-report evaluates
 * them itself (its interpreter); variants and tune run the builds'
 * lfm2-run --perplexity with --kld-base / --kld (measure.c).
 */
#ifndef LFM2C_EVAL_TEXT_H
#define LFM2C_EVAL_TEXT_H

#include <stddef.h>

#include "frontend.h"
#include "lfm2_eval.h"

typedef struct EvalTextOpts {
	const char *path;        /* --eval-text; NULL: off */
	int ctx;                 /* --eval-ctx; 0: the default */
	int chunks;              /* --eval-chunks; 0: every chunk */
} EvalTextOpts;

/* One of the three flags at argv[*i] (with its value): consumes it and
 * returns 1; 0 if it is none of them; -1 after "lfm2c: CMD: ..." for a
 * missing or bad value. */
int eval_text_arg(EvalTextOpts *o, const char *cmd, int argc, char **argv, int *i);

/* After parsing: --eval-ctx / --eval-chunks need --eval-text (0, or -1
 * with the message in err). */
int eval_text_check(const EvalTextOpts *o, LfmError *err);

#define EVAL_TEXT_HELP \
	"  --eval-text FILE  judge accuracy on FILE's chunks (as lfm2-run --perplexity: BOS first,\n" \
	"                    second half of each scored) instead of random tokens; reports perplexity\n" \
	"  --eval-ctx N      tokens per chunk (default min(512, max_position))\n" \
	"  --eval-chunks K   only the first K chunks (default: all)\n"

/* The chunks of o->path for the checkpoint in model_dir (its tokenizer;
 * max_position bounds the default chunk length); *n_tokens gets the
 * text's length in tokens.  Errors name the file: unreadable, empty, not
 * text, no tokenizer.json, shorter than one chunk. */
int eval_text_plan(const EvalTextOpts *o, const char *model_dir, int max_position, lfm2_eval_plan *plan,
                   size_t *n_tokens, LfmError *err);

/* The chunk length the run will use (o->ctx, else the default). */
int eval_text_ctx(const EvalTextOpts *o, int max_position);

#endif
