/*
 * cli_chat.c — `lfm2-run -i`: a multi-turn chat that keeps its session.
 *
 * User turns are lines of standard input (a line ending in a backslash
 * continues on the next line; a line that is just "/exit", or the end of
 * the input, ends the chat; empty lines are skipped), so the chat works as
 * well from a terminal as from a pipe.  The "> " prompt is shown only when
 * stdin is a terminal.
 *
 * The session is never re-fed: the KV cache and conv state already hold
 * everything said so far, and each turn feeds only its new tokens.  Which
 * tokens those are comes from the chat template itself: the whole
 * conversation is rendered again (with the generation prompt), and the part
 * after what the session has already seen — the previous renderings plus
 * the model's replies — is encoded and fed.  The template's rendering of a
 * conversation extends the rendering of its prefix (an assistant message is
 * the generation prompt + content + "<|im_end|>\n"), so after a reply the
 * new part starts with "<|im_end|>\n" and then the user's turn; this is
 * checked on every turn.  The new part begins with a special token, so
 * encoding it alone gives the same ids as encoding the whole rendering;
 * the session therefore holds what a fresh run of the whole conversation
 * would feed, except where the model's own reply tokens are not the
 * canonical tokenization of their text (the session keeps what the model
 * generated, as llama.cpp does).
 *
 * A reply ends at eos, at -n tokens, or when the context is full; a turn
 * that no longer fits in the context ends the chat with an error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* getline, isatty */
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The conversation: messages with owned copies of their text. */
typedef struct chat {
	lfm2_chat_message *msgs;
	char **owned;
	size_t n, cap;
	char *seen;              /* text the session has been fed (rendered + replies) */
	size_t seen_len, seen_cap;
} chat;

static void chat_free(chat *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->owned[i]);
	free(c->owned);
	free(c->msgs);
	free(c->seen);
}

static int chat_add(chat *c, const char *role, const char *content)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		lfm2_chat_message *m = realloc(c->msgs, cap * sizeof *m);
		if (!m)
			return -1;
		c->msgs = m;
		char **o = realloc(c->owned, cap * sizeof *o);
		if (!o)
			return -1;
		c->owned = o;
		c->cap = cap;
	}
	char *copy = strdup(content);
	if (!copy)
		return -1;
	c->owned[c->n] = copy;
	c->msgs[c->n++] = (lfm2_chat_message){role, copy};
	return 0;
}

static int seen_append(chat *c, const char *p, size_t n)
{
	if (c->seen_len + n + 1 > c->seen_cap) {
		size_t cap = c->seen_cap ? c->seen_cap : 1024;
		while (cap < c->seen_len + n + 1)
			cap *= 2;
		char *q = realloc(c->seen, cap);
		if (!q)
			return -1;
		c->seen = q;
		c->seen_cap = cap;
	}
	memcpy(c->seen + c->seen_len, p, n);
	c->seen_len += n;
	c->seen[c->seen_len] = 0;
	return 0;
}

/* Reads one user turn from stdin into a malloc'd string: NULL at the end
 * of the input or "/exit"; "" for an empty line.  *rc is set on errors. */
static char *read_turn(int *rc)
{
	char *line = NULL, *turn = NULL;
	size_t cap = 0, len = 0;
	*rc = 0;
	for (;;) {
		errno = 0;
		ssize_t k = getline(&line, &cap, stdin);
		if (k < 0) {
			if (ferror(stdin))
				*rc = cli_fail(CLI_RUNTIME, "cannot read standard input: %s", strerror(errno));
			break;   /* end of input (a pending continuation is still a turn) */
		}
		size_t n = (size_t)k;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		if (n && line[n - 1] == '\r')
			line[--n] = 0;
		if (strlen(line) != n) {
			*rc = cli_fail(CLI_USAGE, "a line of standard input contains a NUL byte");
			break;
		}
		if (!turn && !strcmp(line, "/exit"))
			break;
		bool more = n && line[n - 1] == '\\';
		if (more)
			line[n - 1] = '\n';
		char *t = realloc(turn, len + n + 1);
		if (!t) {
			*rc = cli_fail(CLI_RUNTIME, "out of memory");
			break;
		}
		turn = t;
		memcpy(turn + len, line, n + 1);
		len += n;
		if (!more) {
			free(line);
			return turn;
		}
		if (isatty(0))
			fputs(". ", stdout), fflush(stdout);
	}
	free(line);
	if (*rc) {
		free(turn);
		return NULL;
	}
	return turn;
}

/* Renders the conversation and returns the ids of the part the session has
 * not seen yet; records that part as seen. */
static int new_turn_ids(chat *c, const lfm2_tokenizer *tok, int32_t **ids, size_t *n)
{
	char *full, err[LFM2_ERR_LEN];
	size_t len;
	*ids = NULL;
	*n = 0;
	if (lfm2_tokenizer_chat_render(tok, c->msgs, c->n, NULL, 1, &full, &len, err, sizeof err) != 0)
		return cli_fail(CLI_USAGE, "%s", err);
	int rc = 0;
	if (len < c->seen_len || memcmp(full, c->seen ? c->seen : "", c->seen_len) != 0)
		rc = cli_fail(CLI_RUNTIME, "chat: the template's rendering of the conversation does not extend "
		              "what the session has seen (cannot continue without re-feeding)");
	else if (lfm2_tokenizer_encode(tok, full + c->seen_len, len - c->seen_len, 0, ids, n) != 0 ||
	         seen_append(c, full + c->seen_len, len - c->seen_len) != 0)
		rc = cli_fail(CLI_RUNTIME, "out of memory");
	free(full);
	return rc;
}

static int chat_turn(cli_options *o, chat *c, cli_gen *g, const char *user, int turn_no)
{
	if (chat_add(c, "user", user) != 0)
		return cli_fail(CLI_RUNTIME, "out of memory");
	int32_t *ids;
	size_t n;
	int rc = new_turn_ids(c, g->tok, &ids, &n);
	if (rc)
		return rc;
	long pos = lfm2_session_pos(g->session), ctx = lfm2_session_ctx(g->session);
	if ((long)n >= ctx - pos) {
		free(ids);
		if (pos == 0)
			return cli_fail(CLI_USAGE, "the prompt is %zu tokens, it does not fit in the context of %ld tokens "
			                "(raise it with -c; the model's max_position is %d)", n, ctx,
			                g->model->max_position);
		return cli_fail(CLI_USAGE, "the conversation is full: turn %d needs %zu more tokens, %ld of the "
		                "context of %ld are left (raise it with -c)", turn_no, n, ctx - pos, ctx);
	}
	if (o->verbose_prompt)
		cli_print_ids("prompt ids", ids, n);
	rc = cli_gen_turn(g, ids, (int32_t)n, o->n_predict);
	free(ids);
	if (rc)
		return rc;
	if (o->json) {
		if ((rc = cli_print_json(g)) != 0)
			return rc;
	} else {
		putchar('\n');
		if ((rc = cli_flush_stdout()) != 0)
			return rc;
	}
	if (o->verbose_prompt)
		cli_print_ids("generated ids", g->ids, g->n_ids);
	char label[32];
	snprintf(label, sizeof label, "turn %d", turn_no);
	cli_print_turn_timing(g, label);
	if (chat_add(c, "assistant", g->text) != 0 || seen_append(c, g->text, g->text_len) != 0)
		return cli_fail(CLI_RUNTIME, "out of memory");
	return 0;
}

int cli_run_chat(cli_options *o, const lfm2_model_info *m, const lfm2_tokenizer *tok, const char *first)
{
	if (lfm2_tokenizer_chat_style(tok) == LFM2_CHAT_NONE)
		return cli_fail(CLI_USAGE, "-i: the model's tokenizer has no chat template lfm2c knows");
	cli_runtime rt;
	int rc = cli_open_runtime(o, m, &rt);
	if (rc)
		return rc;
	cli_gen g;
	chat c = {0};
	if ((rc = cli_gen_init(&g, m, tok, rt.session, o)) != 0)
		goto out_rt;
	if (o->system && chat_add(&c, "system", o->system) != 0) {
		rc = cli_fail(CLI_RUNTIME, "out of memory");
		goto out;
	}
	bool prompt = isatty(0) && !o->json;
	if (o->verbose_prompt)
		cli_print_sampling(&o->sp);
	if (prompt)
		fprintf(stderr, "lfm2-run: chat: threads %ld, ctx %ld, load %.3f s (%s); \"/exit\" or Ctrl-D ends, "
		        "'\\' at the end of a line continues\n", o->threads, o->ctx, rt.load_s, rt.load_mode);
	for (int turn = 1;; ) {
		char *user;
		if (first) {
			user = strdup(first);
			first = NULL;
			if (!user) {
				rc = cli_fail(CLI_RUNTIME, "out of memory");
				break;
			}
		} else {
			if (prompt)
				fputs("> ", stdout), fflush(stdout);
			user = read_turn(&rc);
			if (!user)
				break;
		}
		if (!*user) {
			free(user);
			continue;
		}
		rc = chat_turn(o, &c, &g, user, turn++);
		free(user);
		if (rc)
			break;
	}
out:
	cli_gen_free(&g);
	chat_free(&c);
out_rt:
	cli_close_runtime(&rt);
	return rc;
}
