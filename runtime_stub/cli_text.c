/*
 * cli_text.c — lfm2-run in text: the tokenizer table, prompts, and the
 * generation loop that streams the reply as it comes.
 *
 * The tokenizer table is the file `lfm2c compile` writes next to the
 * program (tokenizer.bin; --tokenizer overrides).  Without it the text
 * options fail with one line saying what is missing, and --tokens still
 * works: nothing in the token-id mode touches this file.  The table and a
 * -f prompt file must be regular files (cli_fopen_input): a FIFO or a
 * directory is one error line, not a hang ("-f -" reads a pipe).
 *
 * A prompt becomes ids in one of two ways:
 *   chat (default)  the conversation [system?, user] rendered the way the
 *                   model's chat template does, generation prompt included
 *                   (lfm2_tokenizer_chat_render), then encoded as it is:
 *                   the rendering already starts with the BOS text;
 *   --raw           the text encoded with the post-processor (BOS first).
 * Its length is checked against the context before any weight is loaded.
 *
 * Generation (cli_gen_turn) samples until eos (the model's eos_id or the
 * tokenizer's eos), -n tokens, or the end of the context.  Each token's text
 * goes through the streaming decoder, which holds back the bytes of a UTF-8
 * character until it is complete, and is written and flushed at once.  The
 * eos token is not printed.  Timings: prefill of the prompt, time to the
 * first token (from the start of that prefill), and generation speed from
 * the first token to the last.
 *
 * Sampling defaults in text modes, per parameter: the command-line flag,
 * else the checkpoint's generation_config.json (compiled into the table's
 * GCFG section; do_sample=false means greedy), else the LFM2 model card
 * (temperature 0.3, min_p 0.15, repetition penalty 1.05, no top-k/top-p).
 * The card's repetition penalty belongs to its sampling recipe: when the
 * temperature ends up 0, decoding is plain greedy (argmax of the model's
 * logits, what the oracle computes) unless a penalty is given by flag or
 * by generation_config.json.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_TOKENIZER_BYTES (1u << 30)

/* ------------------------------------------------------------ files */

int cli_read_stream(FILE *f, char **out, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (ferror(f)) {
			free(buf);
			return -1;
		}
		if (n < cap - 1)
			break;
		if (cap >= MAX_TOKENIZER_BYTES) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
		char *p = realloc(buf, cap *= 2);
		if (!p) {
			free(buf);
			return -1;
		}
		buf = p;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static int no_tokenizer_message(const char *path)
{
	return cli_fail(CLI_RUNTIME, "no tokenizer: %s does not exist; text (-p, -f, -i, --tokenize, "
	                "--detokenize) needs the model's tokenizer table (lfm2c compile writes it from "
	                "tokenizer.json; `lfm2c tokenize MODEL_DIR --write-table FILE` makes one; "
	                "--tokenizer FILE names one); --tokens works without it", path);
}

int cli_load_tokenizer(const cli_options *o, const lfm2_model_info *m, lfm2_tokenizer **out)
{
	*out = NULL;
	char *def = o->tokenizer ? NULL : cli_exe_sibling("tokenizer.bin");
	const char *path = o->tokenizer ? o->tokenizer : def;
	if (!path)
		return cli_fail(CLI_RUNTIME, "out of memory");
	int rc = 0;
	char *bytes = NULL;
	size_t n = 0;
	lfm2_err oerr;
	FILE *f = cli_fopen_input(path, &oerr);
	if (!f) {
		rc = errno == ENOENT ? no_tokenizer_message(path) : cli_fail(CLI_RUNTIME, "%s", oerr.msg);
		goto out;
	}
	if (cli_read_stream(f, &bytes, &n) != 0) {
		rc = cli_fail(CLI_RUNTIME, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		goto out;
	}
	fclose(f);
	char err[LFM2_ERR_LEN];
	if (lfm2_tokenizer_open(bytes, n, out, err, sizeof err) != 0) {
		rc = cli_fail(CLI_RUNTIME, "%s: %s", path, err);
		goto out;
	}
	if (lfm2_tokenizer_n_tokens(*out) > m->vocab_size) {
		rc = cli_fail(CLI_RUNTIME, "%s: the tokenizer has %d ids but the model's vocabulary is %d "
		              "(a table of another model?)", path, (int)lfm2_tokenizer_n_tokens(*out), m->vocab_size);
		lfm2_tokenizer_close(*out);
		*out = NULL;
	}
out:
	free(bytes);
	free(def);
	return rc;
}

/* -f FILE ("-" = stdin): the prompt, without one final newline. */
static int read_prompt_file(const char *path, char **text)
{
	bool std_in = !strcmp(path, "-");
	lfm2_err oerr;
	FILE *f = std_in ? stdin : cli_fopen_input(path, &oerr);   /* a FIFO is refused: use "-f -" */
	if (!f)
		return cli_fail(CLI_USAGE, "-f %s", oerr.msg);
	size_t n;
	int rc = cli_read_stream(f, text, &n);
	int saved = errno;
	if (!std_in)
		fclose(f);
	if (rc != 0)
		return cli_fail(CLI_RUNTIME, "-f %s: cannot read: %s", path, strerror(saved));
	if (strlen(*text) != n) {
		free(*text);
		*text = NULL;
		return cli_fail(CLI_USAGE, "-f %s: the file contains a NUL byte (not text)", path);
	}
	if (n && (*text)[n - 1] == '\n') {
		(*text)[--n] = 0;
		if (n && (*text)[n - 1] == '\r')
			(*text)[--n] = 0;
	}
	return 0;
}

/* ------------------------------------------------------------ defaults */

/* Fills the sampling parameters the command line did not give. */
static void apply_text_defaults(cli_options *o, const lfm2_tokenizer *tok)
{
	lfm2_generation_defaults g = lfm2_tokenizer_generation_defaults(tok);
	float temp = (g.present & LFM2_GEN_TEMPERATURE) ? g.temperature : CLI_CARD_TEMPERATURE;
	if ((g.present & LFM2_GEN_DO_SAMPLE) && !g.do_sample)
		temp = 0;
	if (!(o->sp_given & CLI_GIVEN_TEMP))
		o->sp.temperature = temp;
	if (!(o->sp_given & CLI_GIVEN_TOP_K))
		o->sp.top_k = (g.present & LFM2_GEN_TOP_K) ? g.top_k : 0;
	if (!(o->sp_given & CLI_GIVEN_TOP_P))
		o->sp.top_p = (g.present & LFM2_GEN_TOP_P) ? g.top_p : 1.0f;
	if (!(o->sp_given & CLI_GIVEN_MIN_P))
		o->sp.min_p = (g.present & LFM2_GEN_MIN_P) ? g.min_p : CLI_CARD_MIN_P;
	/* the card's penalty is part of its sampling recipe: greedy decoding
	 * (--temp 0, do_sample=false) stays plain argmax unless a penalty is
	 * asked for explicitly (flag or generation_config.json) */
	if (!(o->sp_given & CLI_GIVEN_REPEAT_PENALTY))
		o->sp.repeat_penalty = (g.present & LFM2_GEN_REPETITION_PENALTY) ? g.repetition_penalty
		                       : o->sp.temperature > 0                   ? CLI_CARD_REPEAT_PENALTY
		                                                                 : 1.0f;
	if (!o->n_given)
		o->n_predict = -1;
}

/* The context of a text run: -c, else min(max_position, default). */
static void size_text_context(cli_options *o, const lfm2_model_info *m)
{
	if (!o->ctx)
		o->ctx = m->max_position > 0 && m->max_position < CLI_DEFAULT_MAX_CTX ? m->max_position
		                                                                     : CLI_DEFAULT_MAX_CTX;
}

/* ------------------------------------------------------------ prompts */

/* The ids of the one-shot prompt: raw text with BOS, or a rendered chat. */
static int prompt_ids(const cli_options *o, const lfm2_tokenizer *tok, const char *text, int32_t **ids,
                      size_t *n)
{
	*ids = NULL;
	*n = 0;
	if (o->raw) {
		if (lfm2_tokenizer_encode(tok, text, strlen(text), LFM2_ENCODE_ADD_SPECIAL, ids, n) != 0)
			return cli_fail(CLI_RUNTIME, "out of memory");
		return 0;
	}
	lfm2_chat_message msgs[2];
	size_t k = 0;
	if (o->system)
		msgs[k++] = (lfm2_chat_message){"system", o->system};
	msgs[k++] = (lfm2_chat_message){"user", text};
	char *rendered, err[LFM2_ERR_LEN];
	size_t len;
	if (lfm2_tokenizer_chat_style(tok) == LFM2_CHAT_NONE)
		return cli_fail(CLI_USAGE, "the model's tokenizer has no chat template lfm2c knows; "
		                "use --raw for plain text");
	if (lfm2_tokenizer_chat_render(tok, msgs, k, NULL, 1, &rendered, &len, err, sizeof err) != 0)
		return cli_fail(CLI_USAGE, "%s", err);
	int rc = lfm2_tokenizer_encode(tok, rendered, len, 0, ids, n);
	free(rendered);
	return rc ? cli_fail(CLI_RUNTIME, "out of memory") : 0;
}

/* ------------------------------------------------------------ reports */

void cli_print_sampling(const lfm2_sampler_params *p)
{
	fprintf(stderr, "lfm2-run: sampling: temp %g, top-k %d, top-p %g, min-p %g, repeat-penalty %g (last %d), "
	        "seed %" PRIu64 "\n", (double)p->temperature, (int)p->top_k, (double)p->top_p, (double)p->min_p,
	        (double)p->repeat_penalty, (int)p->repeat_last_n, p->seed);
}

void cli_print_ids(const char *what, const int32_t *ids, size_t n)
{
	fprintf(stderr, "lfm2-run: %s (%zu):", what, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%d", i ? "," : " ", (int)ids[i]);
	fputc('\n', stderr);
}

static double gen_rate(const cli_gen *g)
{
	return g->n_ids > 1 ? cli_rate((long)g->n_ids - 1, g->gen_s) : 0;
}

void cli_print_turn_timing(const cli_gen *g, const char *label)
{
	fprintf(stderr, "lfm2-run: %s%sprompt %d tokens %.3f s (%.2f tok/s), time to first token %.2f ms, "
	        "generated %zu tokens %.3f s (%.2f tok/s), stop %s\n",
	        label ? label : "", label ? ": " : "", (int)g->n_prompt, g->prefill_s,
	        cli_rate(g->n_prompt, g->prefill_s), 1e3 * g->ttft_s, g->n_ids, g->gen_s, gen_rate(g),
	        g->stopped_at_eos ? "eos" : "length");
}

/* A JSON string: UTF-8 passed through, quotes, backslashes and control
 * characters escaped. */
static void json_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

int cli_print_json(const cli_gen *g)
{
	printf("{\"prompt_tokens\":%d,\"generated_tokens\":%zu,\"text\":", (int)g->n_prompt, g->n_ids);
	json_string(stdout, g->text, g->text_len);
	fputs(",\"ids\":[", stdout);
	for (size_t i = 0; i < g->n_ids; i++)
		printf(i ? ",%d" : "%d", (int)g->ids[i]);
	fputs("],\"ttft_ms\":", stdout);
	if (g->n_ids)
		printf("%.3f", 1e3 * g->ttft_s);
	else
		fputs("null", stdout);
	printf(",\"prompt_tok_s\":%.2f,\"gen_tok_s\":%.2f,\"stop\":\"%s\"}\n", cli_rate(g->n_prompt, g->prefill_s),
	       gen_rate(g), g->stopped_at_eos ? "eos" : "length");
	return cli_flush_stdout();
}

/* ------------------------------------------------------------ generation */

int cli_gen_init(cli_gen *g, const lfm2_model_info *m, const lfm2_tokenizer *tok, lfm2_session *s,
                 const cli_options *o)
{
	memset(g, 0, sizeof *g);
	g->model = m;
	g->tok = tok;
	g->session = s;
	g->keep_state = o->interactive;
	g->stream = o->json ? NULL : stdout;
	g->stop_ids[0] = o->ignore_eos ? -1 : m->eos_id;
	g->stop_ids[1] = o->ignore_eos ? -1 : lfm2_tokenizer_eos(tok);
	lfm2_err err;
	g->logits = malloc((size_t)m->vocab_size * sizeof *g->logits);
	g->text = malloc(g->text_cap = 256);
	if (!g->logits || !g->text) {
		cli_gen_free(g);
		return cli_fail(CLI_RUNTIME, "out of memory");
	}
	g->text[0] = 0;
	g->sampler = lfm2_sampler_create(&o->sp, m->vocab_size, &err);
	if (!g->sampler) {
		cli_gen_free(g);
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	}
	return 0;
}

void cli_gen_free(cli_gen *g)
{
	lfm2_sampler_free(g->sampler);
	free(g->logits);
	free(g->ids);
	free(g->text);
	memset(g, 0, sizeof *g);
}

static int push_id(cli_gen *g, int32_t id)
{
	if (g->n_ids == g->cap_ids) {
		size_t cap = g->cap_ids ? 2 * g->cap_ids : 64;
		int32_t *p = realloc(g->ids, cap * sizeof *p);
		if (!p)
			return -1;
		g->ids = p;
		g->cap_ids = cap;
	}
	g->ids[g->n_ids++] = id;
	return 0;
}

/* Appends to the turn's text and writes it to the stream at once. */
static int emit_text(cli_gen *g, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (g->text_len + n + 1 > g->text_cap) {
		size_t cap = g->text_cap;
		while (cap < g->text_len + n + 1)
			cap *= 2;
		char *q = realloc(g->text, cap);
		if (!q)
			return cli_fail(CLI_RUNTIME, "out of memory");
		g->text = q;
		g->text_cap = cap;
	}
	memcpy(g->text + g->text_len, p, n);
	g->text_len += n;
	g->text[g->text_len] = 0;
	return g->stream ? cli_write_stdout(p, n) : 0;
}

static bool is_stop(const cli_gen *g, int32_t id)
{
	return id >= 0 && (id == g->stop_ids[0] || id == g->stop_ids[1]);
}

int cli_gen_turn(cli_gen *g, const int32_t *prompt, int32_t n, long n_predict)
{
	lfm2_err err;
	char derr[LFM2_ERR_LEN];
	lfm2_session *s = g->session;
	g->n_prompt = n;
	g->n_ids = 0;
	g->text_len = 0;
	g->text[0] = 0;
	g->stopped_at_eos = 0;
	g->prefill_s = g->ttft_s = g->gen_s = g->decode_s = 0;
	g->decoded = 0;
	for (int32_t i = 0; i < n; i++)
		lfm2_sampler_accept(g->sampler, prompt[i]);
	double t0 = cli_now();
	if (lfm2_session_eval(s, prompt, n, g->logits, 0, &err) != 0)
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	g->prefill_s = cli_now() - t0;
	lfm2_decode_stream ds;
	lfm2_decode_stream_init(&ds, g->tok, 0);
	double t_first = 0, t_last = 0;
	const char *piece;
	size_t len;
	int rc = 0;
	for (;;) {
		if (n_predict >= 0 && (long)g->n_ids >= n_predict)
			break;
		if (g->keep_state && lfm2_session_pos(s) >= lfm2_session_ctx(s))
			break;   /* every kept token must be fed: no room left */
		int32_t id = lfm2_sampler_sample(g->sampler, g->logits);
		t_last = cli_now();
		if (g->n_ids == 0) {
			t_first = t_last;
			g->ttft_s = t_last - t0;
		}
		if (push_id(g, id) != 0) {
			rc = cli_fail(CLI_RUNTIME, "out of memory");
			break;
		}
		if (is_stop(g, id)) {
			g->stopped_at_eos = 1;
			break;
		}
		lfm2_sampler_accept(g->sampler, id);
		if (lfm2_decode_stream_push(&ds, id, &piece, &len, derr, sizeof derr) != 0) {
			rc = cli_fail(CLI_RUNTIME, "%s", derr);
			break;
		}
		if ((rc = emit_text(g, piece, len)) != 0)
			break;
		bool more = n_predict < 0 || (long)g->n_ids < n_predict;
		if ((!more && !g->keep_state) || lfm2_session_pos(s) >= lfm2_session_ctx(s))
			break;
		double t = cli_now();
		if (lfm2_session_eval(s, &id, 1, g->logits, 0, &err) != 0) {
			rc = cli_fail(CLI_RUNTIME, "%s", err.msg);
			break;
		}
		g->decode_s += cli_now() - t;
		g->decoded++;
	}
	if (rc == 0) {
		if (lfm2_decode_stream_finish(&ds, &piece, &len, derr, sizeof derr) != 0)
			rc = cli_fail(CLI_RUNTIME, "%s", derr);
		else
			rc = emit_text(g, piece, len);
	}
	lfm2_decode_stream_free(&ds);
	g->gen_s = t_last - t_first;
	return rc;
}

/* ------------------------------------------------------------ modes */

/* "1, 2,3" -> ids (each must exist in the tokenizer). */
static int parse_id_list(const char *s, const lfm2_tokenizer *tok, int32_t **ids, size_t *n)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	*n = 0;
	*ids = malloc(cap * sizeof **ids);
	if (!*ids)
		return cli_fail(CLI_RUNTIME, "out of memory");
	const char *p = s;
	while (*p == ' ')
		p++;
	if (!*p)
		return 0;
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		size_t i = *n;
		while (*end == ' ')
			end++;
		if (end == p || (*end != ',' && *end != '\0') || errno)
			return cli_fail(CLI_USAGE, "--detokenize: token %zu is not a number: '%.*s'", i,
			                (int)strcspn(p, ","), p);
		if (v < 0 || v >= lfm2_tokenizer_n_tokens(tok) || !lfm2_tokenizer_token_flags(tok, (int32_t)v))
			return cli_fail(CLI_USAGE, "--detokenize: token %zu (value %ld) is not in the vocabulary (ids 0..%d)",
			                i, v, (int)lfm2_tokenizer_n_tokens(tok) - 1);
		(*ids)[(*n)++] = (int32_t)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
}

int cli_run_tokenize(const cli_options *o, const lfm2_model_info *m)
{
	lfm2_tokenizer *tok;
	int rc = cli_load_tokenizer(o, m, &tok);
	if (rc)
		return rc;
	int32_t *ids = NULL;
	size_t n = 0;
	if (o->tokenize_text) {
		if (lfm2_tokenizer_encode(tok, o->tokenize_text, strlen(o->tokenize_text), LFM2_ENCODE_ADD_SPECIAL,
		                          &ids, &n) != 0) {
			rc = cli_fail(CLI_RUNTIME, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			printf(i ? ",%d" : "%d", (int)ids[i]);
		putchar('\n');
	} else {
		if ((rc = parse_id_list(o->detokenize_ids, tok, &ids, &n)) != 0)
			goto out;
		char *text, err[LFM2_ERR_LEN];
		size_t len;
		if (lfm2_tokenizer_decode(tok, ids, n, 0, &text, &len, err, sizeof err) != 0) {
			rc = cli_fail(CLI_RUNTIME, "--detokenize: %s", err);
			goto out;
		}
		fwrite(text, 1, len, stdout);
		putchar('\n');
		free(text);
	}
	rc = cli_flush_stdout();
out:
	free(ids);
	lfm2_tokenizer_close(tok);
	return rc;
}

/* -p / -f without -i: one prompt, one streamed reply. */
static int run_once(cli_options *o, const lfm2_model_info *m, const lfm2_tokenizer *tok, const char *text)
{
	int32_t *ids;
	size_t n;
	int rc = prompt_ids(o, tok, text, &ids, &n);
	if (rc)
		return rc;
	if (n == 0) {
		free(ids);
		return cli_fail(CLI_USAGE, "the prompt is empty (0 tokens) and the tokenizer adds no BOS");
	}
	if ((long)n > o->ctx) {
		free(ids);
		return cli_fail(CLI_USAGE, "the prompt is %zu tokens, longer than the context of %ld tokens "
		                "(raise it with -c; the model's max_position is %d)", n, o->ctx, m->max_position);
	}
	if (o->verbose_prompt) {
		cli_print_sampling(&o->sp);
		cli_print_ids("prompt ids", ids, n);
	}
	cli_runtime rt;
	cli_gen g;
	if ((rc = cli_open_runtime(o, m, &rt)) != 0) {
		free(ids);
		return rc;
	}
	if ((rc = cli_gen_init(&g, m, tok, rt.session, o)) != 0)
		goto out;
	if (o->raw && !o->no_display_prompt && !o->json) {
		fputs(text, stdout);
		fflush(stdout);
	}
	rc = cli_gen_turn(&g, ids, (int32_t)n, o->n_predict);
	if (rc == 0) {
		if (o->json) {
			rc = cli_print_json(&g);
		} else {
			putchar('\n');
			rc = cli_flush_stdout();
		}
	}
	if (rc == 0) {
		if (o->verbose_prompt)
			cli_print_ids("generated ids", g.ids, g.n_ids);
		fprintf(stderr, "lfm2-run: load %.3f s (%s), prefill %d tokens %.3f s (%.2f tok/s), "
		        "decode %ld tokens %.3f s (%.2f tok/s), threads %ld, ctx %ld",
		        rt.load_s, rt.load_mode, (int)n, g.prefill_s, cli_rate((long)n, g.prefill_s), g.decoded,
		        g.decode_s, cli_rate(g.decoded, g.decode_s), o->threads, o->ctx);
		if (o->sp.temperature > 0)
			fprintf(stderr, ", seed %" PRIu64, o->sp.seed);
		fputc('\n', stderr);
		cli_print_turn_timing(&g, NULL);
	}
	cli_gen_free(&g);
out:
	cli_close_runtime(&rt);
	free(ids);
	return rc;
}

int cli_run_text(cli_options *o, const lfm2_model_info *m)
{
	lfm2_tokenizer *tok;
	int rc = cli_load_tokenizer(o, m, &tok);
	if (rc)
		return rc;
	char *file_text = NULL;
	const char *text = o->prompt;
	if (o->prompt_file) {
		if ((rc = read_prompt_file(o->prompt_file, &file_text)) != 0)
			goto out;
		text = file_text;
	}
	apply_text_defaults(o, tok);
	size_text_context(o, m);
	rc = o->interactive ? cli_run_chat(o, m, tok, text) : run_once(o, m, tok, text);
out:
	free(file_text);
	lfm2_tokenizer_close(tok);
	return rc;
}
