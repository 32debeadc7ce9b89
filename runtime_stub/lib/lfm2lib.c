/*
 * lfm2lib.c — the application API of a model compiled with --emit lib
 * (lfm2lib.h), on top of the runtime (lfm2rt.h, lfm2_tokenizer.h).
 *
 * Why a second API: the runtime's is the one lfm2-run is built from —
 * weights, pool, session, sampler and tokenizer as five objects that the
 * caller wires together, with the model's lfm2_model_info passed around.
 * An application that links a model as a library wants fewer pieces: open
 * the model (its info, tokenizer and embedded weights come from the
 * library itself), make sessions, feed text, get text back.  This file is
 * that thin layer, nothing more: every number still comes from the
 * runtime, and every default is lfm2-run's (cli.h's constants, the same
 * sampling rules as cli_text.c, the same chat continuation as cli_chat.c),
 * so that the same prompt gives the same text in both.
 *
 * The file is the same for every model.  What one build links in is
 * handed over by the glue lfm2c generates (lfm2lib_internal.h), and the
 * public names get the library's prefix afterwards, by renaming symbols
 * in the finished object (codegen/build.c, with the lists codegen/lib.c
 * writes) — so nothing here knows a prefix except through the parts, for
 * its messages.
 *
 * A chat is kept as cli_chat.c keeps it: the messages so far and the text
 * the session has been fed (renderings plus the model's replies).  A new
 * turn renders the whole conversation again and feeds only the part after
 * that text; the template's rendering of a conversation extends the
 * rendering of its prefix, which is checked each time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"   /* lfm2-run's defaults: chunk, context, the model card's sampling */
#include "lfm2_tokenizer.h"
#include "lfm2lib.h"
#include "lfm2lib_internal.h"
#include "lfm2rt.h"

struct lfm2lib_model {
	char prefix[64];
	const lfm2_model_info *info;
	lfm2_weights *weights;
	lfm2_pool *pool;
	lfm2_tokenizer *tok;          /* NULL: the checkpoint had no tokenizer.json */
	int32_t stop[2];              /* the model's eos, the tokenizer's (-1: none) */
};

/* A growable byte string. */
typedef struct text_buf {
	char *p;
	size_t len, cap;
} text_buf;

typedef struct chat_state {
	lfm2_chat_message *msgs;      /* contents owned */
	size_t n, cap;
	text_buf seen;                /* what the session was fed: renderings + replies */
	text_buf reply;               /* the text generated since the last turn */
	int replied;                  /* lfm2lib_generate ran since the last turn */
	int fed_outside;              /* ids or text were fed in between: cannot continue */
} chat_state;

struct lfm2lib_session {
	lfm2lib_model *m;
	lfm2_session *rt;
	lfm2_sampler *sampler;
	float *logits;                /* vocab floats of the last id fed */
	int have_logits;
	int32_t *ids;                 /* the ids fed, ctx of them */
	chat_state chat;
};

/* ------------------------------------------------------------ helpers */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int buf_append(text_buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static lfm2_sampler_params to_params(const lfm2lib_sampling *s)
{
	return (lfm2_sampler_params){s->temperature, s->top_k, s->top_p, s->min_p, s->repeat_penalty,
	                             s->repeat_last_n, s->seed};
}

/* ------------------------------------------------------------ the model */

static int open_weights(lfm2lib_model *m, const lfm2lib_parts *p, const char *path, char *err, size_t errlen)
{
	lfm2_err e;
	if (path)
		m->weights = lfm2_weights_open(path, m->info, LFM2_WEIGHTS_READ, &e);
	else if (p->blob)
		m->weights = lfm2_weights_from_memory(p->blob, p->blob_bytes, "embedded weights", m->info, &e);
	else
		snprintf(e.msg, sizeof e.msg, "%s_open: no weights path given, and the library holds no weights "
		         "(compiled without --embed-weights): pass the weights.bin written beside libmodel.a", m->prefix);
	if (!m->weights)
		set_err(err, errlen, "%s", e.msg);
	return m->weights ? 0 : -1;
}

static int open_tokenizer(lfm2lib_model *m, const lfm2lib_parts *p, char *err, size_t errlen)
{
	if (!p->tokenizer)
		return 0;
	char e[LFM2_ERR_LEN];
	if (lfm2_tokenizer_open(p->tokenizer, p->tokenizer_bytes, &m->tok, e, sizeof e) != 0) {
		set_err(err, errlen, "%s_open: the embedded tokenizer table: %s", m->prefix, e);
		return -1;
	}
	if (lfm2_tokenizer_n_tokens(m->tok) > m->info->vocab_size) {
		set_err(err, errlen, "%s_open: the embedded tokenizer has %d ids but the model's vocabulary is %d",
		        m->prefix, (int)lfm2_tokenizer_n_tokens(m->tok), (int)m->info->vocab_size);
		return -1;
	}
	return 0;
}

static int open_pool(lfm2lib_model *m, int n_threads, char *err, size_t errlen)
{
	if (n_threads <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n_threads = cpus >= 1 ? (cpus > 1024 ? 1024 : (int)cpus) : 1;
	}
	lfm2_err e;
	m->pool = lfm2_pool_create(n_threads, &e);
	if (!m->pool)
		set_err(err, errlen, "%s", e.msg);
	return m->pool ? 0 : -1;
}

lfm2lib_model *lfm2lib_open_parts(const lfm2lib_parts *p, const char *weights_path, int n_threads, char *err,
                                  size_t errlen)
{
	lfm2lib_model *m = calloc(1, sizeof *m);
	if (!m) {
		set_err(err, errlen, "%s_open: out of memory", p->prefix);
		return NULL;
	}
	snprintf(m->prefix, sizeof m->prefix, "%s", p->prefix);
	m->info = p->info;
	if (open_weights(m, p, weights_path, err, errlen) || open_tokenizer(m, p, err, errlen)
	    || open_pool(m, n_threads, err, errlen)) {
		lfm2lib_close(m);
		return NULL;
	}
	m->stop[0] = m->info->eos_id;
	m->stop[1] = m->tok ? lfm2_tokenizer_eos(m->tok) : -1;
	return m;
}

void lfm2lib_close(lfm2lib_model *m)
{
	if (!m)
		return;
	lfm2_tokenizer_close(m->tok);
	lfm2_pool_destroy(m->pool);
	lfm2_weights_close(m->weights);
	free(m);
}

int32_t lfm2lib_vocab_size(const lfm2lib_model *m)
{
	return m->info->vocab_size;
}

int lfm2lib_is_eos(const lfm2lib_model *m, int32_t id)
{
	return id >= 0 && (id == m->stop[0] || id == m->stop[1]);
}

int lfm2lib_has_tokenizer(const lfm2lib_model *m)
{
	return m->tok != NULL;
}

/* The rules of cli_text.c's apply_text_defaults, for `--temp temperature`. */
lfm2lib_sampling lfm2lib_default_sampling(const lfm2lib_model *m, float temperature)
{
	lfm2_generation_defaults g = {0};
	if (m->tok)
		g = lfm2_tokenizer_generation_defaults(m->tok);
	float temp = (g.present & LFM2_GEN_TEMPERATURE) ? g.temperature : CLI_CARD_TEMPERATURE;
	if ((g.present & LFM2_GEN_DO_SAMPLE) && !g.do_sample)
		temp = 0;
	if (temperature >= 0)
		temp = temperature;
	lfm2lib_sampling s;
	s.temperature = temp;
	s.top_k = (g.present & LFM2_GEN_TOP_K) ? g.top_k : 0;
	s.top_p = (g.present & LFM2_GEN_TOP_P) ? g.top_p : 1.0f;
	s.min_p = (g.present & LFM2_GEN_MIN_P) ? g.min_p : CLI_CARD_MIN_P;
	s.repeat_penalty = (g.present & LFM2_GEN_REPETITION_PENALTY) ? g.repetition_penalty
	                   : temp > 0                                ? CLI_CARD_REPEAT_PENALTY
	                                                             : 1.0f;
	s.repeat_last_n = lfm2_sampler_default_params().repeat_last_n;
	s.seed = 0;
	return s;
}

/* ------------------------------------------------------------ sessions */

static void chat_clear(chat_state *c)
{
	for (size_t i = 0; i < c->n; i++)
		free((char *)c->msgs[i].content);
	c->n = 0;
	c->seen.len = c->reply.len = 0;
	c->replied = c->fed_outside = 0;
}

static void chat_free(chat_state *c)
{
	chat_clear(c);
	free(c->msgs);
	free(c->seen.p);
	free(c->reply.p);
	memset(c, 0, sizeof *c);
}

lfm2lib_session *lfm2lib_session_create(lfm2lib_model *m, int32_t ctx, char *err, size_t errlen)
{
	const lfm2_model_info *info = m->info;
	if (ctx <= 0)
		ctx = info->max_position > 0 && info->max_position < CLI_DEFAULT_MAX_CTX ? info->max_position
		                                                                         : CLI_DEFAULT_MAX_CTX;
	lfm2lib_session *s = calloc(1, sizeof *s);
	if (!s) {
		set_err(err, errlen, "%s_session_create: out of memory", m->prefix);
		return NULL;
	}
	s->m = m;
	lfm2_err e;
	lfm2lib_sampling d = lfm2lib_default_sampling(m, -1);
	lfm2_sampler_params params = to_params(&d);
	s->rt = lfm2_session_create(info, m->weights, ctx, CLI_DEFAULT_CHUNK, m->pool, &e);
	s->sampler = s->rt ? lfm2_sampler_create(&params, info->vocab_size, &e) : NULL;
	if (!s->sampler) {
		set_err(err, errlen, "%s", e.msg);
		lfm2lib_session_free(s);
		return NULL;
	}
	s->logits = malloc((size_t)info->vocab_size * sizeof *s->logits);
	s->ids = malloc((size_t)ctx * sizeof *s->ids);
	if (!s->logits || !s->ids) {
		set_err(err, errlen, "%s_session_create: out of memory", m->prefix);
		lfm2lib_session_free(s);
		return NULL;
	}
	return s;
}

void lfm2lib_session_free(lfm2lib_session *s)
{
	if (!s)
		return;
	chat_free(&s->chat);
	lfm2_sampler_free(s->sampler);
	lfm2_session_free(s->rt);
	free(s->logits);
	free(s->ids);
	free(s);
}

void lfm2lib_session_reset(lfm2lib_session *s)
{
	lfm2_session_reset(s->rt);
	lfm2_sampler_reset(s->sampler);
	s->have_logits = 0;
	chat_clear(&s->chat);
}

int32_t lfm2lib_session_pos(const lfm2lib_session *s)
{
	return lfm2_session_pos(s->rt);
}

int32_t lfm2lib_session_ctx(const lfm2lib_session *s)
{
	return lfm2_session_ctx(s->rt);
}

const int32_t *lfm2lib_session_ids(const lfm2lib_session *s, int32_t *n)
{
	*n = lfm2_session_pos(s->rt);
	return s->ids;
}

int lfm2lib_set_sampling(lfm2lib_session *s, const lfm2lib_sampling *p, char *err, size_t errlen)
{
	lfm2_sampler_params params = to_params(p);
	lfm2_err e;
	lfm2_sampler *smp = lfm2_sampler_create(&params, s->m->info->vocab_size, &e);
	if (!smp) {
		set_err(err, errlen, "%s_set_sampling: %s", s->m->prefix, e.msg);
		return -1;
	}
	for (int32_t i = 0, n = lfm2_session_pos(s->rt); i < n; i++)
		lfm2_sampler_accept(smp, s->ids[i]);
	lfm2_sampler_free(s->sampler);
	s->sampler = smp;
	return 0;
}

/* ------------------------------------------------------------ feeding */

/* Runs the model over ids[0..n) and records them (history, sampler). */
static int feed(lfm2lib_session *s, const int32_t *ids, int32_t n, char *err, size_t errlen)
{
	if (n < 0 || (n > 0 && !ids)) {
		set_err(err, errlen, "%s_feed_ids: n is %d (must be >= 0, and ids non-NULL when n > 0)", s->m->prefix,
		        (int)n);
		return -1;
	}
	if (n == 0)
		return 0;
	int32_t pos = lfm2_session_pos(s->rt);
	lfm2_err e;
	if (lfm2_session_eval(s->rt, ids, n, s->logits, 0, &e) != 0) {
		set_err(err, errlen, "%s", e.msg);
		return -1;
	}
	for (int32_t i = 0; i < n; i++) {
		lfm2_sampler_accept(s->sampler, ids[i]);
		s->ids[pos + i] = ids[i];
	}
	s->have_logits = 1;
	return 0;
}

int lfm2lib_feed_ids(lfm2lib_session *s, const int32_t *ids, int32_t n, char *err, size_t errlen)
{
	int rc = feed(s, ids, n, err, errlen);
	if (rc == 0 && n > 0 && s->chat.n)
		s->chat.fed_outside = 1;
	return rc;
}

static int need_tokenizer(const lfm2lib_model *m, const char *fn, char *err, size_t errlen)
{
	if (m->tok)
		return 0;
	set_err(err, errlen, "%s_%s: the library has no tokenizer (the checkpoint had no tokenizer.json); "
	        "use ids", m->prefix, fn);
	return -1;
}

/* text -> malloc'd ids; -1 after a message. */
static int encode(const lfm2lib_model *m, const char *fn, const char *text, unsigned flags, int32_t **ids,
                  size_t *n, char *err, size_t errlen)
{
	if (need_tokenizer(m, fn, err, errlen))
		return -1;
	if (!text) {
		set_err(err, errlen, "%s_%s: the text is NULL", m->prefix, fn);
		return -1;
	}
	if (lfm2_tokenizer_encode(m->tok, text, strlen(text), flags, ids, n) != 0) {
		set_err(err, errlen, "%s_%s: out of memory", m->prefix, fn);
		return -1;
	}
	if (*n > INT32_MAX) {
		free(*ids);
		set_err(err, errlen, "%s_%s: the text is %zu tokens", m->prefix, fn, *n);
		return -1;
	}
	return 0;
}

int lfm2lib_feed_text(lfm2lib_session *s, const char *text, int add_bos, char *err, size_t errlen)
{
	int32_t *ids;
	size_t n;
	if (encode(s->m, "feed_text", text, add_bos ? LFM2_ENCODE_ADD_SPECIAL : 0, &ids, &n, err, errlen))
		return -1;
	int rc = lfm2lib_feed_ids(s, ids, (int32_t)n, err, errlen);
	free(ids);
	return rc;
}

static int chat_add(chat_state *c, const char *role, const char *content)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		lfm2_chat_message *m = realloc(c->msgs, cap * sizeof *m);
		if (!m)
			return -1;
		c->msgs = m;
		c->cap = cap;
	}
	char *copy = strdup(content);
	if (!copy)
		return -1;
	c->msgs[c->n++] = (lfm2_chat_message){role, copy};
	return 0;
}

/* Why this turn cannot be taken, or NULL. */
static const char *chat_refusal(const lfm2lib_session *s, const char *system, const char *user)
{
	if (!user)
		return "no user message (NULL)";
	if (lfm2_tokenizer_chat_style(s->m->tok) == LFM2_CHAT_NONE)
		return "the model's tokenizer has no chat template lfm2c knows; feed plain text instead";
	if (!s->chat.n && lfm2_session_pos(s->rt) > 0)
		return "the session already holds ids that are not a chat (reset it to start a conversation)";
	if (s->chat.n && system)
		return "a system message only opens a conversation";
	if (s->chat.fed_outside)
		return "ids or text were fed into the conversation since the last turn (reset it)";
	return NULL;
}

/* Renders the conversation; feeds the part after what was seen. */
static int feed_new_part(lfm2lib_session *s, char *err, size_t errlen)
{
	chat_state *c = &s->chat;
	const char *pfx = s->m->prefix;
	char *full, e[LFM2_ERR_LEN];
	size_t len;
	if (lfm2_tokenizer_chat_render(s->m->tok, c->msgs, c->n, NULL, 1, &full, &len, e, sizeof e) != 0) {
		set_err(err, errlen, "%s_feed_chat: %s", pfx, e);
		return -1;
	}
	int rc = -1;
	int32_t *ids = NULL;
	size_t n = 0;
	if (len < c->seen.len || memcmp(full, c->seen.p ? c->seen.p : "", c->seen.len) != 0)
		set_err(err, errlen, "%s_feed_chat: the template's rendering of the conversation does not extend "
		        "what the session has seen", pfx);
	else if (lfm2_tokenizer_encode(s->m->tok, full + c->seen.len, len - c->seen.len, 0, &ids, &n) != 0)
		set_err(err, errlen, "%s_feed_chat: out of memory", pfx);
	else if (n > INT32_MAX)
		set_err(err, errlen, "%s_feed_chat: the turn is %zu tokens", pfx, n);
	else if (feed(s, ids, (int32_t)n, err, errlen) == 0) {
		rc = buf_append(&c->seen, full + c->seen.len, len - c->seen.len);
		if (rc)
			set_err(err, errlen, "%s_feed_chat: out of memory", pfx);
	}
	free(ids);
	free(full);
	return rc;
}

int lfm2lib_feed_chat(lfm2lib_session *s, const char *system, const char *user, char *err, size_t errlen)
{
	if (need_tokenizer(s->m, "feed_chat", err, errlen))
		return -1;
	const char *why = chat_refusal(s, system, user);
	if (why) {
		set_err(err, errlen, "%s_feed_chat: %s", s->m->prefix, why);
		return -1;
	}
	chat_state *c = &s->chat;
	size_t n0 = c->n, seen0 = c->seen.len;
	int ok = 1;
	if (c->replied)   /* the reply so far becomes the assistant's message */
		ok = chat_add(c, "assistant", c->reply.p ? c->reply.p : "") == 0
		     && buf_append(&c->seen, c->reply.p, c->reply.len) == 0;
	if (ok && system)
		ok = chat_add(c, "system", system) == 0;
	if (ok)
		ok = chat_add(c, "user", user) == 0;
	if (!ok)
		set_err(err, errlen, "%s_feed_chat: out of memory", s->m->prefix);
	if (ok && feed_new_part(s, err, errlen) == 0) {
		c->reply.len = 0;
		c->replied = 0;
		return 0;
	}
	while (c->n > n0)   /* as it was: the turn is not taken */
		free((char *)c->msgs[--c->n].content);
	c->seen.len = seen0;
	return -1;
}

/* ------------------------------------------------------------ output */

const float *lfm2lib_logits(const lfm2lib_session *s)
{
	return s->have_logits ? s->logits : NULL;
}

int32_t lfm2lib_sample(lfm2lib_session *s)
{
	return s->have_logits ? lfm2_sampler_sample(s->sampler, s->logits) : -1;
}

/* Text out: kept as the reply of a chat, handed to the callback.
 * Returns 1 when the callback asks to stop. */
static int deliver(lfm2lib_session *s, lfm2lib_text_fn fn, void *user, const char *p, size_t n, int *oom)
{
	if (!n)
		return 0;
	if (s->chat.n && buf_append(&s->chat.reply, p, n) != 0)
		*oom = 1;
	return fn ? fn(user, p, n) != 0 : 0;
}

int32_t lfm2lib_generate(lfm2lib_session *s, int32_t max_tokens, lfm2lib_text_fn on_text, void *user, char *err,
                         size_t errlen)
{
	const lfm2lib_model *m = s->m;
	if (!s->have_logits) {
		set_err(err, errlen, "%s_generate: nothing was fed yet (feed a prompt first)", m->prefix);
		return -1;
	}
	if (on_text && need_tokenizer(m, "generate", err, errlen))
		return -1;
	lfm2_decode_stream ds;
	if (m->tok)
		lfm2_decode_stream_init(&ds, m->tok, 0);
	if (s->chat.n)
		s->chat.replied = 1;
	char e[LFM2_ERR_LEN];
	const char *piece;
	size_t len;
	int32_t n = 0;
	int rc = 0, oom = 0, stop = 0;
	while (!stop && (max_tokens < 0 || n < max_tokens)) {
		int32_t id = lfm2_sampler_sample(s->sampler, s->logits);
		if (lfm2lib_is_eos(m, id))
			break;
		n++;
		if (m->tok) {
			if (lfm2_decode_stream_push(&ds, id, &piece, &len, e, sizeof e) != 0) {
				set_err(err, errlen, "%s_generate: %s", m->prefix, e);
				rc = -1;
				break;
			}
			stop = deliver(s, on_text, user, piece, len, &oom);
		}
		if (lfm2_session_pos(s->rt) >= lfm2_session_ctx(s->rt))
			break;   /* the context is full: handed out, not fed */
		if (feed(s, &id, 1, err, errlen) != 0) {
			rc = -1;
			break;
		}
	}
	if (m->tok) {
		if (rc == 0 && lfm2_decode_stream_finish(&ds, &piece, &len, e, sizeof e) != 0) {
			set_err(err, errlen, "%s_generate: %s", m->prefix, e);
			rc = -1;
		} else if (rc == 0) {
			deliver(s, on_text, user, piece, len, &oom);
		}
		lfm2_decode_stream_free(&ds);
	}
	if (rc == 0 && oom) {
		set_err(err, errlen, "%s_generate: out of memory (keeping the reply's text)", m->prefix);
		rc = -1;
	}
	return rc ? -1 : n;
}

/* ------------------------------------------------------------ text <-> ids */

int32_t lfm2lib_tokenize(const lfm2lib_model *m, const char *text, int add_bos, int32_t *ids, int32_t cap,
                         char *err, size_t errlen)
{
	int32_t *all;
	size_t n;
	if (encode(m, "tokenize", text, add_bos ? LFM2_ENCODE_ADD_SPECIAL : 0, &all, &n, err, errlen))
		return -1;
	for (size_t i = 0; ids && i < n && i < (size_t)(cap > 0 ? cap : 0); i++)
		ids[i] = all[i];
	free(all);
	return (int32_t)n;
}

char *lfm2lib_detokenize(const lfm2lib_model *m, const int32_t *ids, int32_t n, char *err, size_t errlen)
{
	if (need_tokenizer(m, "detokenize", err, errlen))
		return NULL;
	if (n < 0 || (n > 0 && !ids)) {
		set_err(err, errlen, "%s_detokenize: n is %d (must be >= 0, and ids non-NULL when n > 0)", m->prefix,
		        (int)n);
		return NULL;
	}
	char *text, e[LFM2_ERR_LEN];
	size_t len;
	if (lfm2_tokenizer_decode(m->tok, ids, (size_t)n, 0, &text, &len, e, sizeof e) != 0) {
		set_err(err, errlen, "%s_detokenize: %s", m->prefix, e);
		return NULL;
	}
	return text;
}
