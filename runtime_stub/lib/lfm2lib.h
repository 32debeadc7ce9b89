/*
 * lfm2lib.h — the API of a model compiled into a library (lfm2c compile
 * MODEL -o OUT --emit lib): OUT/libmodel.a holds the generated model, the
 * runtime, its tokenizer table and, with --embed-weights, its weights;
 * OUT/model.h is this header.  A program needs nothing else:
 *
 *     cc -I OUT app.c OUT/libmodel.a -lm -lpthread
 *
 * Every name here starts with the library's prefix (--lib-prefix, by
 * default lfm2lib): lfm2c writes this header with the prefix in every
 * name and renames the library's symbols the same way, and every other
 * symbol in libmodel.a (the model, the runtime) is local to it.  So two
 * models compiled with two prefixes link into one program side by side.
 *
 * The pieces:
 *   model     the weights (read from a file, or the ones linked into the
 *             library), the tokenizer, a thread pool.  Open once.
 *   session   one token sequence: KV cache and conv state for `ctx`
 *             positions, the logits of the last token fed, a sampler and
 *             its history (every id fed), and a chat conversation if one
 *             was started with lfm2lib_feed_chat.
 *   feeding   ids, plain text, or a chat turn rendered with the model's
 *             chat template; each feed runs the model over the new tokens.
 *   output    sample the next id from the logits, or generate: sample,
 *             feed and stream the text out until eos, max_tokens or a
 *             full context.
 *
 * With the same prompt and sampling, generation gives what the lfm2-run
 * of a default build of the same checkpoint prints: lfm2lib_feed_chat +
 * lfm2lib_generate is `lfm2-run -p PROMPT` (the later turns `lfm2-run
 * -i`), lfm2lib_feed_text(..., 1) + lfm2lib_generate is `lfm2-run --raw`
 * (which also echoes the prompt), and lfm2lib_default_sampling(m, T)
 * gives its sampling for `--temp T` (T < 0: its default).  The work is
 * split by thread count, so compare runs with the same count (lfm2-run
 * -t; both default to one thread per online CPU).
 *
 * Conventions: the caller owns what it passes in and frees what a
 * function documents as malloc'd (with free()); functions that can fail
 * take `char *err, size_t errlen` (NULL, 0 for none), write one line
 * there naming the file or the argument at fault, and return NULL or -1.
 * A model and its sessions are used by one thread at a time (the
 * sessions of one model share its thread pool); different models are
 * independent.  Nothing is global: close and free everything you open.
 */
#ifndef LFM2LIB_MODEL_H
#define LFM2LIB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lfm2lib_model lfm2lib_model;
typedef struct lfm2lib_session lfm2lib_session;

/* ------------------------------------------------------------- the model */

/* Opens the model: the weights from weights_path (the weights.bin written
 * beside libmodel.a), or with weights_path NULL the weights linked into
 * the library (compiled with --embed-weights; an error otherwise).  The
 * blob is checked against the code (sizes and XXH3 hash).  n_threads
 * <= 0: one per online CPU. */
lfm2lib_model *lfm2lib_open(const char *weights_path, int n_threads, char *err, size_t errlen);

/* Frees the model.  Its sessions must be freed first.  NULL is a no-op. */
void lfm2lib_close(lfm2lib_model *m);

int32_t lfm2lib_vocab_size(const lfm2lib_model *m);
/* 1 if id ends a reply: the model's eos or the tokenizer's. */
int lfm2lib_is_eos(const lfm2lib_model *m, int32_t id);
/* 1 if the library holds a tokenizer (the checkpoint had tokenizer.json):
 * text in and out needs it; ids work without. */
int lfm2lib_has_tokenizer(const lfm2lib_model *m);

/* ------------------------------------------------------------- sampling
 * See the runtime's sampler (lfm2rt.h) for the exact steps: repetition
 * penalty over the last repeat_last_n ids fed, top-k, top-p, min-p,
 * temperature (0 = greedy: the highest logit, lowest id on ties). */
typedef struct lfm2lib_sampling {
	float temperature;      /* >= 0 */
	int32_t top_k;          /* >= 0; 0 = off */
	float top_p;            /* (0, 1]; 1 = off */
	float min_p;            /* [0, 1]; 0 = off */
	float repeat_penalty;   /* [0.01, 100]; 1 = off */
	int32_t repeat_last_n;  /* 0 = off, < 0 = every id fed */
	uint64_t seed;
} lfm2lib_sampling;

/* The sampling lfm2-run uses for text with `--temp temperature`
 * (temperature < 0: without --temp): each setting from the checkpoint's
 * generation_config.json, else the LFM2 model card's (temperature 0.3,
 * min_p 0.15, repetition penalty 1.05 — none at temperature 0, so greedy
 * is plain argmax); repeat_last_n 64; seed 0. */
lfm2lib_sampling lfm2lib_default_sampling(const lfm2lib_model *m, float temperature);

/* ------------------------------------------------------------- sessions */

/* A session of ctx positions (ctx <= 0: the model's max_position, at
 * most 4096), sampling with lfm2lib_default_sampling(m, -1). */
lfm2lib_session *lfm2lib_session_create(lfm2lib_model *m, int32_t ctx, char *err, size_t errlen);

/* NULL is a no-op. */
void lfm2lib_session_free(lfm2lib_session *s);

/* Back to an empty sequence: position 0, no logits, the sampler's
 * history cleared and its generator re-seeded, no conversation. */
void lfm2lib_session_reset(lfm2lib_session *s);

int32_t lfm2lib_session_pos(const lfm2lib_session *s);   /* ids fed so far */
int32_t lfm2lib_session_ctx(const lfm2lib_session *s);   /* capacity */

/* The ids fed so far (*n of them, the session's position); valid until
 * the next call on the session. */
const int32_t *lfm2lib_session_ids(const lfm2lib_session *s, int32_t *n);

/* Replaces the sampling settings (checked: the ranges above); the
 * history is kept, the generator re-seeded with p->seed. */
int lfm2lib_set_sampling(lfm2lib_session *s, const lfm2lib_sampling *p, char *err, size_t errlen);

/* -------------------------------------------------------------- feeding
 * Each feed runs the model over the new ids (in chunks of 128) and keeps
 * the logits of the last one.  A feed that does not fit in the context
 * (pos + n > ctx), or an id outside the vocabulary, fails and changes
 * nothing. */

int lfm2lib_feed_ids(lfm2lib_session *s, const int32_t *ids, int32_t n, char *err, size_t errlen);

/* UTF-8 text, encoded by the model's tokenizer; add_bos != 0 applies its
 * post-processor first (BOS: what a fresh prompt wants). */
int lfm2lib_feed_text(lfm2lib_session *s, const char *text, int add_bos, char *err, size_t errlen);

/* One user turn of a chat, rendered with the model's chat template and
 * its generation prompt ("<|im_start|>assistant\n").  The first turn
 * starts the conversation (the session must be empty) and may carry a
 * system message (NULL: none); each later turn closes the reply that
 * lfm2lib_generate produced (its text becomes the assistant's message)
 * and feeds only what the template adds, as `lfm2-run -i` does.  Ids or
 * text fed in between end the conversation: the next turn fails (reset). */
int lfm2lib_feed_chat(lfm2lib_session *s, const char *system, const char *user, char *err, size_t errlen);

/* --------------------------------------------------------------- output */

/* The vocab_size logits of the last id fed, or NULL before any feed. */
const float *lfm2lib_logits(const lfm2lib_session *s);

/* The next id drawn from those logits with the session's sampling; it is
 * not fed (feed it with lfm2lib_feed_ids to continue).  -1 before any
 * feed. */
int32_t lfm2lib_sample(lfm2lib_session *s);

/* Receives generated text as it becomes final (whole UTF-8 characters);
 * return 0 to go on, non-zero to stop. */
typedef int (*lfm2lib_text_fn)(void *user, const char *text, size_t len);

/* Generates: samples an id; stops at eos (not fed, not counted); hands its
 * text to on_text (may be NULL: ids only, no tokenizer needed); feeds it —
 * until max_tokens ids (< 0: no limit), on_text asks to stop, or the
 * context is full (the id that finds it full is handed out but not fed,
 * as lfm2-run does).  Returns the number of ids generated (the fed ones
 * end lfm2lib_session_ids), or -1.  One call is one piece of output, like
 * one lfm2-run turn: an incomplete UTF-8 character at its end comes out
 * as U+FFFD, so stream through on_text rather than calling per token. */
int32_t lfm2lib_generate(lfm2lib_session *s, int32_t max_tokens, lfm2lib_text_fn on_text, void *user,
                         char *err, size_t errlen);

/* ---------------------------------------------------------- text <-> ids */

/* Encodes text (add_bos as in lfm2lib_feed_text) into ids[0..min(n, cap)),
 * returning n, the number of ids the text has (call with cap 0 to size
 * the array), or -1. */
int32_t lfm2lib_tokenize(const lfm2lib_model *m, const char *text, int add_bos, int32_t *ids, int32_t cap,
                         char *err, size_t errlen);

/* The text of ids[0..n), malloc'd and NUL-terminated (free() it), or NULL. */
char *lfm2lib_detokenize(const lfm2lib_model *m, const int32_t *ids, int32_t n, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
