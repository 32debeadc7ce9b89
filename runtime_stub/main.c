/*
 * main.c — `lfm2-run`, the inference program lfm2c builds for one model.
 *
 * It is compiled together with the generated model code, which defines the
 * model symbol (`lfm2_model`, or whatever -DLFM2_MODEL_SYMBOL=name says).
 * It works in token ids, or in text when the model's tokenizer table
 * (tokenizer.bin, written by lfm2c next to the program) is there:
 *
 *   lfm2-run -p "What is C. elegans?"      chat: the reply, streamed as text
 *   lfm2-run -p "Once upon" --raw -n 60    plain continuation of the text
 *   lfm2-run -i                            multi-turn chat on stdin
 *   lfm2-run --tokens 1,6,6423 -n 32       greedy continuation, ids on stdout
 *   lfm2-run --tokens ... --logits out.npy teacher-forced logits of every
 *                                          position, [n_tokens, vocab] float32
 *   lfm2-run --tokenize TEXT / --detokenize IDS
 *   lfm2-run --perplexity FILE [--kld-base B.kld | --kld B.kld]
 *                                          perplexity of a text; KL divergence
 *                                          from a base build (cli_eval.c)
 *
 * This file parses and validates the command line (against the model's
 * sizes, so bad input fails before seconds of weight loading) and runs the
 * token-id mode; the text modes live in cli_text.c and cli_chat.c, the
 * evaluation on text in cli_eval.c, shared helpers in cli_common.c
 * (declarations in cli.h).
 *
 * Token-id mode: prefill the prompt in chunks, then sample / print / feed
 * back one token at a time until eos or -n.  The eos token, when generated,
 * is printed (like llama.cpp) and ends the run.  Timings go to stderr as
 * one line.  Sampling is greedy unless --temp says otherwise.
 *
 * Exit status: 0 ok, 1 runtime failure (weights or tokenizer file, memory,
 * I/O), 2 bad command line or input (e.g. a prompt longer than the context).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "lfm2_eval.h"

#ifndef LFM2_MODEL_SYMBOL
#define LFM2_MODEL_SYMBOL lfm2_model
#endif
extern const lfm2_model_info LFM2_MODEL_SYMBOL;
static const lfm2_model_info *const model = &LFM2_MODEL_SYMBOL;

static void usage(FILE *f)
{
	lfm2_sampler_params d = lfm2_sampler_default_params();
	fprintf(f,
	        "usage: lfm2-run -p PROMPT [options]      chat: the model's reply, streamed as text\n"
	        "       lfm2-run -p TEXT --raw [options]  plain continuation of TEXT (no chat template)\n"
	        "       lfm2-run -i [options]             interactive chat, one user turn per stdin line\n"
	        "       lfm2-run --tokens ID,ID,... [options]   token ids in, ids out\n"
	        "       lfm2-run --tokenize TEXT | --detokenize ID,ID,...\n"
	        "       lfm2-run --perplexity FILE [--kld-base B.kld | --kld B.kld]   evaluation on text\n"
	        "model: %s (vocab %d, max_position %d, target %s)\n\n"
	        "text (needs the tokenizer table):\n"
	        "  -p PROMPT           the user message (chat), or the text to continue (--raw)\n"
	        "  -f FILE             read the prompt from FILE, a regular file (\"-\" = stdin, also for\n"
	        "                      a pipe); one final newline is dropped\n"
	        "  --system TEXT       a system message before the first user message (chat)\n"
	        "  --raw               no chat template: the text with BOS, as the tokenizer adds it\n"
	        "  -i                  interactive chat: user turns are lines of stdin (a line ending in\n"
	        "                      '\\' continues on the next; \"/exit\" or end of input stops); the\n"
	        "                      session is kept, each turn feeds only its new tokens; with -p/-f\n"
	        "                      that prompt is the first turn\n"
	        "  --json              instead of the text, one JSON object per reply on stdout:\n"
	        "                      {prompt_tokens, generated_tokens, text, ids, ttft_ms,\n"
	        "                      prompt_tok_s, gen_tok_s, stop: \"eos\"|\"length\"}\n"
	        "  --verbose-prompt    print the sampling parameters, the prompt ids fed and the\n"
	        "                      generated ids to stderr\n"
	        "  --no-display-prompt with --raw: print only the continuation, not the text first\n"
	        "  --tokenizer FILE    tokenizer table (default: tokenizer.bin next to this program)\n"
	        "  --tokenize TEXT     print the ids of TEXT (BOS added, no template) and exit\n"
	        "  --detokenize IDS    print the text of comma-separated ids and exit\n"
	        "token ids:\n"
	        "  --tokens IDS        prompt token ids, comma separated\n"
	        "  --logits FILE.npy   write the logits of every prompt position and exit\n"
	        "evaluation on text (needs the tokenizer table):\n"
	        "  --perplexity FILE   perplexity of the text (+- its standard error): tokenized with BOS,\n"
	        "                      cut into chunks of -c tokens (default min(max_position, %d)),\n"
	        "                      each from an empty state with BOS first, the second half of each\n"
	        "                      scored (as llama-perplexity); the last stdout line is\n"
	        "                      \"result: ppl=... ppl_err=... ...\"\n"
	        "  --chunks K          score only the first K chunks (default: all)\n"
	        "  --kld-base OUT.kld  also save this build's distributions (16-bit) as a base\n"
	        "  --kld BASE.kld      compare with a base: KLD(base || this) mean +- error, p99, max,\n"
	        "                      top-1 agreement, PPL - PPL(base); -c and --chunks come from the\n"
	        "                      file, which must have been made from the same text and tokenizer\n"
	        "generation:\n"
	        "  -n N                tokens to generate, -1 = until eos %d or the context is full\n"
	        "                      (default: -1 with text, %d with --tokens)\n"
	        "  --ignore-eos        keep generating after eos (for benchmarks)\n"
	        "  --temp X            temperature, >= 0; 0 = greedy\n"
	        "  --top-k K           >= 0; 0 = off\n"
	        "  --top-p P           in (0,1], 1 = off\n"
	        "  --min-p P           in [0,1], 0 = off\n"
	        "  --repeat-penalty R  in [%g,%g], 1 = off (> 1 discourages repeats)\n"
	        "  --repeat-last-n N   penalty window, 0 = off, -1 = all (default %d)\n"
	        "  -s SEED             sampling seed (default: random, printed)\n"
	        "sampling defaults:\n"
	        "  text modes: the flag if given, else the model's generation_config.json (compiled\n"
	        "    into the tokenizer table; do_sample=false means greedy), else the LFM2 model\n"
	        "    card's: --temp %.1f --min-p %.2f --repeat-penalty %.2f, top-k and top-p off;\n"
	        "    greedy (--temp 0) uses no penalty unless one is given (flag or config)\n"
	        "  --tokens:   greedy (--temp 0), top-k %d, top-p %.2f, min-p %.2f, repeat-penalty %.2f\n",
	        model->name ? model->name : "?", model->vocab_size, model->max_position,
	        model->target ? model->target : "?", LFM2_EVAL_DEFAULT_CTX, model->eos_id, CLI_DEFAULT_N_IDS,
	        (double)LFM2_REPEAT_PENALTY_MIN, (double)LFM2_REPEAT_PENALTY_MAX, d.repeat_last_n,
	        (double)CLI_CARD_TEMPERATURE, (double)CLI_CARD_MIN_P, (double)CLI_CARD_REPEAT_PENALTY, d.top_k,
	        (double)d.top_p, (double)d.min_p, (double)d.repeat_penalty);
	/* two calls: one string literal past 4095 characters is beyond what C
	 * compilers must support (-Woverlength-strings) */
	fprintf(f,
	        "runtime:\n"
	        "  -m FILE             weights blob (default: weights.bin next to this program)\n"
	        "  -t N                threads (default: online CPUs)\n"
	        "  -c, --ctx N         context length (default: min(max_position, %d); with --tokens\n"
	        "                      at least prompt+n); a longer text prompt is an error; with\n"
	        "                      --perplexity the chunk length\n"
	        "  --chunk N           prompt tokens per forward call (default %d)\n"
	        "  --mmap, --no-mmap   map the weights file instead of reading it (default: read)\n"
	        "  --no-hugepages      read the weights into 4 KiB pages, not 2 MiB huge pages (loads\n"
	        "                      faster where the kernel must compact memory; decodes slower)\n"
	        "Text goes to stdout as it is generated; with --tokens the generated ids go to stdout as\n"
	        "one comma-separated line (eos included).  Timings go to stderr: load, prefill and\n"
	        "decode, and in text modes time to first token (from the start of the prompt's\n"
	        "prefill), prompt tok/s and generation tok/s (first to last token).\n"
	        "Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
	        CLI_DEFAULT_MAX_CTX, CLI_DEFAULT_CHUNK);
}

/* -------------------------------------------------------- flag parsing */

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
		return cli_fail(CLI_USAGE, "%s: expected an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
	*out = v;
	return 0;
}

/* A number that stays finite as a float (1e39 would become inf); the
 * ranges are check_options' business. */
static int parse_float(const char *flag, const char *s, float *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno || !isfinite(v))
		return cli_fail(CLI_USAGE, "%s: expected a number, got '%s'", flag, s);
	if (fabs(v) > FLT_MAX)
		return cli_fail(CLI_USAGE, "%s: %s is too large (the float range ends at %g)", flag, s, (double)FLT_MAX);
	*out = (float)v;
	return 0;
}

static int parse_tokens(const char *s, cli_options *o)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	o->tokens = malloc(cap * sizeof *o->tokens);
	if (!o->tokens)
		return cli_fail(CLI_RUNTIME, "out of memory");
	o->n_tokens = 0;
	const char *p = s;
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		int32_t i = o->n_tokens;
		if (end == p || (*end != ',' && *end != '\0') || errno)
			return cli_fail(CLI_USAGE, "--tokens: token %d is not a number: '%.*s'", (int)i,
			                (int)strcspn(p, ","), p);
		if (v < 0 || v >= model->vocab_size)
			return cli_fail(CLI_USAGE, "--tokens: token %d (value %ld) is out of range [0, %d)", (int)i, v,
			                model->vocab_size);
		o->tokens[o->n_tokens++] = (int32_t)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* Splits "--flag=value"; otherwise the value is the next argument. */
static int take_value(int argc, char **argv, int *i, const char *flag, const char **value)
{
	const char *eq = strchr(argv[*i], '=');
	if (eq && argv[*i][0] == '-' && argv[*i][1] == '-') {
		*value = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return cli_fail(CLI_USAGE, "%s: missing value", flag);
	*value = argv[++*i];
	return 0;
}

/* Flags that take no value: name -> the int they set. */
static int *switch_flag(cli_options *o, const char *flag, int *value)
{
	static const struct {
		const char *name;
		size_t offset;
		int value;
	} table[] = {
		{"--ignore-eos", offsetof(cli_options, ignore_eos), 1},
		{"--mmap", offsetof(cli_options, use_mmap), 1},
		{"--no-mmap", offsetof(cli_options, use_mmap), 0},
		{"--no-hugepages", offsetof(cli_options, small_pages), 1},
		{"--raw", offsetof(cli_options, raw), 1},
		{"-i", offsetof(cli_options, interactive), 1},
		{"--interactive", offsetof(cli_options, interactive), 1},
		{"--json", offsetof(cli_options, json), 1},
		{"--verbose-prompt", offsetof(cli_options, verbose_prompt), 1},
		{"--no-display-prompt", offsetof(cli_options, no_display_prompt), 1},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
		if (!strcmp(flag, table[k].name)) {
			*value = table[k].value;
			return (int *)((char *)o + table[k].offset);
		}
	return NULL;
}

/* Flags that take a string: name -> the pointer they set. */
static const char **string_flag(cli_options *o, const char *flag)
{
	static const struct {
		const char *name;
		size_t offset;
	} table[] = {
		{"-m", offsetof(cli_options, weights)},
		{"--tokenizer", offsetof(cli_options, tokenizer)},
		{"--logits", offsetof(cli_options, logits_path)},
		{"-p", offsetof(cli_options, prompt)},
		{"--prompt", offsetof(cli_options, prompt)},
		{"-f", offsetof(cli_options, prompt_file)},
		{"--file", offsetof(cli_options, prompt_file)},
		{"--system", offsetof(cli_options, system)},
		{"--tokenize", offsetof(cli_options, tokenize_text)},
		{"--detokenize", offsetof(cli_options, detokenize_ids)},
		{"--perplexity", offsetof(cli_options, perplexity_path)},
		{"--kld-base", offsetof(cli_options, kld_base_path)},
		{"--kld", offsetof(cli_options, kld_path)},
	};
	for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
		if (!strcmp(flag, table[k].name))
			return (const char **)(void *)((char *)o + table[k].offset);
	return NULL;
}

static int parse_args(int argc, char **argv, cli_options *o)
{
	long v;
	for (int i = 1; i < argc; i++) {
		char flag[64];
		const char *a = argv[i], *val = NULL;
		size_t flen = strcspn(a, "=");
		if (a[0] != '-' || a[1] != '-')
			flen = strlen(a);
		if (flen >= sizeof flag)
			return cli_fail(CLI_USAGE, "unknown option '%s' (see --help)", a);
		memcpy(flag, a, flen);
		flag[flen] = 0;
		int sw;
		int *swp = switch_flag(o, flag, &sw);
		const char **strp = string_flag(o, flag);
#define VALUE() do { if (take_value(argc, argv, &i, flag, &val)) return CLI_USAGE; } while (0)
#define NUM(lo, hi, dst) do { VALUE(); if (parse_long(flag, val, lo, hi, &v)) return CLI_USAGE; dst = (int32_t)v; } while (0)
#define REAL(dst, bit) do { VALUE(); if (parse_float(flag, val, &dst)) return CLI_USAGE; o->sp_given |= bit; } while (0)
		if (!strcmp(flag, "-h") || !strcmp(flag, "--help")) {
			usage(stdout);
			exit(0);
		} else if (swp) {
			if (strchr(a, '=') && a[1] == '-')
				return cli_fail(CLI_USAGE, "%s takes no value", flag);
			*swp = sw;
		} else if (strp) {
			VALUE();
			*strp = val;
		} else if (!strcmp(flag, "--tokens")) {
			VALUE();
			free(o->tokens);
			int rc = parse_tokens(val, o);
			if (rc)
				return rc;
		} else if (!strcmp(flag, "-n")) {
			NUM(-1, INT32_MAX, o->n_predict);
			o->n_given = 1;
		} else if (!strcmp(flag, "-t")) {
			NUM(1, 1024, o->threads);
		} else if (!strcmp(flag, "-c") || !strcmp(flag, "--ctx")) {
			NUM(1, INT32_MAX, o->ctx);
		} else if (!strcmp(flag, "--chunks")) {
			NUM(1, INT32_MAX, o->eval_chunks);
		} else if (!strcmp(flag, "--chunk")) {
			NUM(1, INT32_MAX, o->chunk);
		} else if (!strcmp(flag, "--temp")) {
			REAL(o->sp.temperature, CLI_GIVEN_TEMP);
		} else if (!strcmp(flag, "--top-k")) {
			NUM(0, INT32_MAX, o->sp.top_k);
			o->sp_given |= CLI_GIVEN_TOP_K;
		} else if (!strcmp(flag, "--top-p")) {
			REAL(o->sp.top_p, CLI_GIVEN_TOP_P);
		} else if (!strcmp(flag, "--min-p")) {
			REAL(o->sp.min_p, CLI_GIVEN_MIN_P);
		} else if (!strcmp(flag, "--repeat-penalty")) {
			REAL(o->sp.repeat_penalty, CLI_GIVEN_REPEAT_PENALTY);
		} else if (!strcmp(flag, "--repeat-last-n")) {
			NUM(-1, INT32_MAX, o->sp.repeat_last_n);
		} else if (!strcmp(flag, "-s")) {
			VALUE();
			char *end;
			errno = 0;
			unsigned long long s = strtoull(val, &end, 10);
			if (*val == '\0' || *val == '-' || *end || errno)
				return cli_fail(CLI_USAGE, "-s: expected a non-negative integer, got '%s'", val);
			o->sp.seed = s;
			o->seed_given = 1;
		} else {
			return cli_fail(CLI_USAGE, "unknown option '%s' (see --help)", a);
		}
#undef VALUE
#undef NUM
#undef REAL
	}
	return 0;
}

/* --perplexity is a mode of its own; --kld-base, --kld and --chunks are its flags. */
static int check_eval_mode(const cli_options *o)
{
	if (!o->perplexity_path) {
		const char *flag = o->kld_base_path ? "--kld-base" : o->kld_path ? "--kld" : o->eval_chunks ? "--chunks" : NULL;
		return flag ? cli_fail(CLI_USAGE, "%s: only with --perplexity", flag) : 0;
	}
	if (o->tokens || cli_text_mode(o) || o->tokenize_text || o->detokenize_ids || o->logits_path)
		return cli_fail(CLI_USAGE, "--perplexity cannot be combined with -p, -f, -i, --tokens, --logits, "
		                "--tokenize or --detokenize");
	if (o->raw || o->system || o->json || o->verbose_prompt || o->no_display_prompt)
		return cli_fail(CLI_USAGE, "--perplexity takes none of --raw, --system, --json, --verbose-prompt, "
		                "--no-display-prompt");
	if (o->kld_base_path && o->kld_path)
		return cli_fail(CLI_USAGE, "--kld-base and --kld exclude each other (write a base, or compare with one)");
	return 0;
}

/* Which flags go together: one mode, and no flag of another mode. */
static int check_modes(const cli_options *o)
{
	int rc = check_eval_mode(o);
	if (rc || o->perplexity_path)
		return rc;
	int text = cli_text_mode(o), tool = o->tokenize_text || o->detokenize_ids;
	if (o->tokenize_text && o->detokenize_ids)
		return cli_fail(CLI_USAGE, "--tokenize and --detokenize exclude each other");
	if (tool && (text || o->tokens))
		return cli_fail(CLI_USAGE, "%s cannot be combined with -p, -f, -i or --tokens",
		                o->tokenize_text ? "--tokenize" : "--detokenize");
	if (o->tokens && text)
		return cli_fail(CLI_USAGE, "--tokens cannot be combined with -p, -f or -i (ids or text, not both)");
	if (o->prompt && o->prompt_file)
		return cli_fail(CLI_USAGE, "-p and -f exclude each other");
	if (tool)
		return 0;
	if (!o->tokens && !text)
		return cli_fail(CLI_USAGE, "--tokens is required (or -p, -f or -i for text, --perplexity FILE; see --help)");
	if (o->logits_path && text)
		return cli_fail(CLI_USAGE, "--logits: only with --tokens");
	static const char *const text_only[] = {"--raw", "--system", "--json", "--verbose-prompt",
	                                        "--no-display-prompt"};
	const int given[] = {o->raw, o->system != NULL, o->json, o->verbose_prompt, o->no_display_prompt};
	for (int k = 0; k < 5; k++)
		if (given[k] && !text)
			return cli_fail(CLI_USAGE, "%s: only with -p, -f or -i", text_only[k]);
	if (o->raw && o->system)
		return cli_fail(CLI_USAGE, "--system: not with --raw (a system message needs the chat template)");
	if (o->raw && o->interactive)
		return cli_fail(CLI_USAGE, "-i is a chat: it cannot be combined with --raw");
	if (o->no_display_prompt && !o->raw)
		return cli_fail(CLI_USAGE, "--no-display-prompt: only with --raw (chat replies never echo)");
	if (o->interactive && o->prompt_file && !strcmp(o->prompt_file, "-"))
		return cli_fail(CLI_USAGE, "-f -: standard input is where -i reads the turns");
	return 0;
}

/* Range checks that need more than one flag or the model's sizes. */
static int check_options(cli_options *o)
{
	int rc = check_modes(o);
	if (rc)
		return rc;
	/* the sampler's ranges (lfm2rt.h), checked here to name the flag */
	if (o->sp.temperature < 0)
		return cli_fail(CLI_USAGE, "--temp: must be >= 0, got %g", (double)o->sp.temperature);
	if (!(o->sp.top_p > 0 && o->sp.top_p <= 1))
		return cli_fail(CLI_USAGE, "--top-p: must be in (0, 1], got %g", (double)o->sp.top_p);
	if (!(o->sp.min_p >= 0 && o->sp.min_p <= 1))
		return cli_fail(CLI_USAGE, "--min-p: must be in [0, 1], got %g", (double)o->sp.min_p);
	if (!(o->sp.repeat_penalty >= LFM2_REPEAT_PENALTY_MIN && o->sp.repeat_penalty <= LFM2_REPEAT_PENALTY_MAX))
		return cli_fail(CLI_USAGE, "--repeat-penalty: must be in [%g, %g] (1 = off), got %g",
		                (double)LFM2_REPEAT_PENALTY_MIN, (double)LFM2_REPEAT_PENALTY_MAX,
		                (double)o->sp.repeat_penalty);
	if (!o->tokens)
		return 0;   /* the text modes size the context once the prompt is tokenized */
	long gen = o->logits_path ? 0 : (o->n_predict > 0 ? o->n_predict : 0);
	long need = o->n_tokens + gen;
	if (o->ctx && o->ctx < need)
		return cli_fail(CLI_USAGE, "-c %ld is too small: %d prompt tokens + %ld to generate need %ld", o->ctx,
		                (int)o->n_tokens, gen, need);
	if (need > INT32_MAX)
		return cli_fail(CLI_USAGE, "-n %ld: prompt + generated tokens exceed %d", o->n_predict, INT32_MAX);
	if (!o->ctx) {
		long def = model->max_position > 0 && model->max_position < CLI_DEFAULT_MAX_CTX
		                   ? model->max_position : CLI_DEFAULT_MAX_CTX;
		o->ctx = need > def ? need : def;
	}
	if (model->max_position > 0 && need > model->max_position)
		fprintf(stderr, "lfm2-run: warning: %ld positions exceed the model's max_position %d\n",
		        need, model->max_position);
	return 0;
}

/* ------------------------------------------------------ token-id mode */

static int run_logits(cli_options *o, cli_runtime *rt)
{
	lfm2_err err;
	size_t n = (size_t)o->n_tokens * (size_t)model->vocab_size;
	float *logits = malloc(n * sizeof *logits);
	if (!logits)
		return cli_fail(CLI_RUNTIME, "cannot allocate %zu logits", n);
	double t0 = cli_now();
	if (lfm2_session_eval(rt->session, o->tokens, o->n_tokens, logits, 1, &err) != 0) {
		free(logits);
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	}
	double t1 = cli_now();
	int rc = lfm2_npy_write(o->logits_path, logits, o->n_tokens, model->vocab_size, &err);
	free(logits);
	if (rc != 0)
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	fprintf(stderr, "lfm2-run: load %.3f s (%s), forward %d tokens %.3f s (%.2f tok/s), threads %ld, ctx %ld\n",
	        rt->load_s, rt->load_mode, (int)o->n_tokens, t1 - t0, cli_rate(o->n_tokens, t1 - t0), o->threads,
	        o->ctx);
	return 0;
}

static int run_generate(cli_options *o, cli_runtime *rt)
{
	lfm2_err err;
	lfm2_session *s = rt->session;
	float *logits = malloc((size_t)model->vocab_size * sizeof *logits);
	lfm2_sampler *smp = logits ? lfm2_sampler_create(&o->sp, model->vocab_size, &err) : NULL;
	if (!smp) {
		free(logits);
		return cli_fail(CLI_RUNTIME, "%s", logits ? err.msg : "out of memory");
	}
	int rc = 0;
	for (int32_t i = 0; i < o->n_tokens; i++)
		lfm2_sampler_accept(smp, o->tokens[i]);
	double t0 = cli_now();
	if (lfm2_session_eval(s, o->tokens, o->n_tokens, logits, 0, &err) != 0) {
		rc = cli_fail(CLI_RUNTIME, "%s", err.msg);
		goto out;
	}
	double prefill_s = cli_now() - t0, decode_s = 0;
	long decoded = 0;
	for (long i = 0; o->n_predict < 0 || i < o->n_predict; i++) {
		int32_t tok = lfm2_sampler_sample(smp, logits);
		lfm2_sampler_accept(smp, tok);
		printf(i ? ",%d" : "%d", (int)tok);
		fflush(stdout);
		if ((tok == model->eos_id && !o->ignore_eos) || i + 1 == o->n_predict ||
		    lfm2_session_pos(s) >= lfm2_session_ctx(s))
			break;
		double t = cli_now();
		if (lfm2_session_eval(s, &tok, 1, logits, 0, &err) != 0) {
			putchar('\n');
			rc = cli_fail(CLI_RUNTIME, "%s", err.msg);
			goto out;
		}
		decode_s += cli_now() - t;
		decoded++;
	}
	putchar('\n');
	if ((rc = cli_flush_stdout()) != 0)
		goto out;
	fprintf(stderr, "lfm2-run: load %.3f s (%s), prefill %d tokens %.3f s (%.2f tok/s), "
	        "decode %ld tokens %.3f s (%.2f tok/s), threads %ld, ctx %ld",
	        rt->load_s, rt->load_mode, (int)o->n_tokens, prefill_s, cli_rate(o->n_tokens, prefill_s), decoded,
	        decode_s, cli_rate(decoded, decode_s), o->threads, o->ctx);
	if (o->sp.temperature > 0)
		fprintf(stderr, ", seed %" PRIu64, o->sp.seed);
	fputc('\n', stderr);
out:
	lfm2_sampler_free(smp);
	free(logits);
	return rc;
}

static int run_ids(cli_options *o)
{
	cli_runtime rt;
	int rc = cli_open_runtime(o, model, &rt);
	if (rc)
		return rc;
	rc = o->logits_path ? run_logits(o, &rt) : run_generate(o, &rt);
	cli_close_runtime(&rt);
	return rc;
}

int main(int argc, char **argv)
{
	cli_options o = {.n_predict = CLI_DEFAULT_N_IDS, .chunk = CLI_DEFAULT_CHUNK,
	                 .sp = lfm2_sampler_default_params()};
	o.sp.temperature = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o.threads = cpus >= 1 ? (cpus > 1024 ? 1024 : cpus) : 1;

	int rc = parse_args(argc, argv, &o);
	if (rc == 0)
		rc = check_options(&o);
	if (rc != 0) {
		free(o.tokens);
		return rc;
	}
	if (!o.seed_given)
		o.sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (o.tokenize_text || o.detokenize_ids)
		rc = cli_run_tokenize(&o, model);
	else if (o.perplexity_path)
		rc = cli_run_eval(&o, model);
	else if (cli_text_mode(&o))
		rc = cli_run_text(&o, model);
	else
		rc = run_ids(&o);
	free(o.tokens);
	return rc;
}
