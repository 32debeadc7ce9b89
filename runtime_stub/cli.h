/*
 * cli.h — the parts of `lfm2-run` shared between its source files
 * (internal to the program, not part of the runtime's contract).
 *
 * main.c parses the command line into a cli_options and handles the
 * token-id mode (--tokens, --logits); cli_common.c has the helpers every
 * mode uses (errors, paths, clock, opening the model); cli_text.c does
 * everything that needs the tokenizer: --tokenize/--detokenize, one-shot
 * text generation (-p, -f) and the shared generation loop; cli_chat.c is
 * the interactive chat (-i).  Only main.c refers to the generated model
 * symbol (it passes the model in), and nothing outside main.c calls into
 * it, so all the other files link as the runtime library the tests use.
 */
#ifndef LFM2_CLI_H
#define LFM2_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "lfm2_tokenizer.h"
#include "lfm2rt.h"

/* Exit statuses. */
#define CLI_OK 0
#define CLI_RUNTIME 1     /* a file, memory, I/O */
#define CLI_USAGE 2       /* bad command line or input */

#define CLI_DEFAULT_N_IDS 32     /* -n default with --tokens */
#define CLI_DEFAULT_CHUNK 128
#define CLI_DEFAULT_MAX_CTX 4096

/* The LFM2 model card's sampling settings: the text-mode defaults when the
 * checkpoint's generation_config.json does not say otherwise. */
#define CLI_CARD_TEMPERATURE 0.3f
#define CLI_CARD_MIN_P 0.15f
#define CLI_CARD_REPEAT_PENALTY 1.05f

/* Sampling flags given on the command line (cli_options.sp_given). */
enum {
	CLI_GIVEN_TEMP = 1,
	CLI_GIVEN_TOP_K = 2,
	CLI_GIVEN_TOP_P = 4,
	CLI_GIVEN_MIN_P = 8,
	CLI_GIVEN_REPEAT_PENALTY = 16,
};

typedef struct cli_options {
	/* the model and how it runs */
	const char *weights;          /* -m; NULL: weights.bin next to the program */
	const char *tokenizer;        /* --tokenizer; NULL: tokenizer.bin next to it */
	long threads;
	long ctx;                     /* -c; 0: automatic */
	long chunk;
	int use_mmap;
	int small_pages;              /* --no-hugepages */

	/* token-id mode */
	int32_t *tokens;              /* --tokens */
	int32_t n_tokens;
	const char *logits_path;
	int ignore_eos;

	/* text modes */
	const char *prompt;           /* -p */
	const char *prompt_file;      /* -f ("-" = stdin) */
	const char *system;           /* --system */
	int raw;                      /* --raw: no chat template */
	int interactive;              /* -i */
	int json;
	int verbose_prompt;
	int no_display_prompt;
	const char *tokenize_text;    /* --tokenize */
	const char *detokenize_ids;   /* --detokenize */

	/* evaluation on text */
	const char *perplexity_path;  /* --perplexity FILE */
	const char *kld_base_path;    /* --kld-base FILE.kld: write the base */
	const char *kld_path;         /* --kld FILE.kld: compare with it */
	long eval_chunks;             /* --chunks; 0: every chunk (or the .kld's) */

	/* generation */
	long n_predict;               /* -1: until eos or the context is full */
	int n_given;
	lfm2_sampler_params sp;
	unsigned sp_given;            /* CLI_GIVEN_* */
	int seed_given;
} cli_options;

/* True if a text mode (-p, -f, -i) was asked for. */
static inline int cli_text_mode(const cli_options *o)
{
	return o->prompt || o->prompt_file || o->interactive;
}

/* The weights, thread pool and session of one run. */
typedef struct cli_runtime {
	lfm2_weights *weights;
	lfm2_pool *pool;
	lfm2_session *session;
	double load_s;
	const char *load_mode;        /* "read", "mmap" */
} cli_runtime;

/* ------------------------------------------------- cli_common.c */

/* "lfm2-run: " + message + newline on stderr; returns status. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens weights (o->weights or the default), pool and a session of
 * o->ctx positions.  Returns 0, or an exit status after a message. */
int cli_open_runtime(const cli_options *o, const lfm2_model_info *model, cli_runtime *rt);
/* -c against the model's positions and the session's memory against
 * MemAvailable (cli_common.c): 0, or -1 after one error line. */
int cli_check_memory(const cli_options *o, const lfm2_model_info *model, const cli_runtime *rt);
void cli_close_runtime(cli_runtime *rt);

/* malloc'd "<directory of this program>/name" ("name" in the current
 * directory if that directory cannot be found); NULL when out of memory. */
char *cli_exe_sibling(const char *name);

/* An input file (tokenizer table, -f prompt) as a stdio stream, if it is a
 * regular file (a FIFO or a directory is refused, never waited on).  NULL
 * with the one-line reason in err; errno is then ENOENT if the file does
 * not exist. */
FILE *cli_fopen_input(const char *path, lfm2_err *err);

/* Flushes stdout: 0, or CLI_RUNTIME after "error writing to stdout:
 * REASON" — the errno of the failing call (cleared before it, so never a
 * stale one), or "short write (disk full?)" when there is none. */
int cli_flush_stdout(void);

/* Writes p[0..n) to stdout and flushes it, reporting a failure the same way. */
int cli_write_stdout(const void *p, size_t n);

double cli_now(void);                      /* monotonic seconds */
double cli_rate(long n, double secs);      /* n / secs, 0 for secs <= 0 */

/* ------------------------------------------------- cli_text.c */

/* Reads a whole stream into a malloc'd NUL-terminated buffer (*len bytes
 * before the NUL); 0, or -1 with errno set. */
int cli_read_stream(FILE *f, char **out, size_t *len);

/* Opens o->tokenizer, or tokenizer.bin next to the program, and checks it
 * fits the model.  Returns 0, or an exit status after a message. */
int cli_load_tokenizer(const cli_options *o, const lfm2_model_info *model, lfm2_tokenizer **out);

/* --tokenize / --detokenize (no weights are loaded). */
int cli_run_tokenize(const cli_options *o, const lfm2_model_info *model);
/* -p / -f, and -i (which continues in cli_chat.c). */
int cli_run_text(cli_options *o, const lfm2_model_info *model);

/* Generation shared by one-shot and interactive text modes.  A cli_gen
 * owns the sampler and the logits buffer; the session is the caller's. */
typedef struct cli_gen {
	const lfm2_model_info *model;
	const lfm2_tokenizer *tok;
	lfm2_session *session;
	lfm2_sampler *sampler;
	float *logits;
	int32_t stop_ids[2];          /* model eos, tokenizer eos (-1 = none) */
	int keep_state;               /* feed every kept token back (chat turns) */
	FILE *stream;                 /* stdout: text goes there as it is generated; NULL = nowhere */

	/* the last turn */
	int32_t n_prompt;             /* ids fed for this turn */
	int32_t *ids;                 /* generated ids, the stopping eos included */
	size_t n_ids, cap_ids;
	char *text;                   /* their text (eos excluded), NUL-terminated */
	size_t text_len, text_cap;
	int stopped_at_eos;
	double prefill_s;             /* eval of the prompt ids */
	double ttft_s;                /* prefill start -> first token sampled */
	double gen_s;                 /* first token sampled -> last token sampled */
	double decode_s;              /* single-token evals only */
	long decoded;                 /* number of single-token evals */
} cli_gen;

int cli_gen_init(cli_gen *g, const lfm2_model_info *model, const lfm2_tokenizer *tok, lfm2_session *s,
                 const cli_options *o);
void cli_gen_free(cli_gen *g);

/* Feeds prompt[0..n) (n >= 1), then samples up to n_predict tokens (-1: no
 * limit) until eos or the context is full, streaming the text.  Returns 0,
 * or an exit status after a message. */
int cli_gen_turn(cli_gen *g, const int32_t *prompt, int32_t n, long n_predict);

/* Reports of one turn: the JSON object (one line on stdout), the
 * --verbose-prompt id lines and the timing line (stderr). */
int cli_print_json(const cli_gen *g);
void cli_print_ids(const char *what, const int32_t *ids, size_t n);
/* "lfm2-run: sampling: temp T, top-k K, ..." (--verbose-prompt). */
void cli_print_sampling(const lfm2_sampler_params *p);
void cli_print_turn_timing(const cli_gen *g, const char *label);

/* ------------------------------------------------- cli_chat.c */

/* The interactive loop: `first` (may be NULL) is the first user message
 * (from -p/-f); then one user turn per line of stdin. */
int cli_run_chat(cli_options *o, const lfm2_model_info *model, const lfm2_tokenizer *tok, const char *first);

/* ------------------------------------------------- cli_eval.c */

/* --perplexity FILE [--kld-base OUT.kld | --kld BASE.kld]. */
int cli_run_eval(cli_options *o, const lfm2_model_info *model);

#endif
