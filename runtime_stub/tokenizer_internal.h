/*
 * tokenizer_internal.h — what the runtime tokenizer's files share (not part
 * of the public API, which is lfm2_tokenizer.h).
 *
 * The tokenizer is four files, one per concern:
 *
 *   tokenizer_table.c   the compiled table: every section, count, offset and
 *                       id checked before any of it is trusted; the lookup
 *                       indices built from it; open/close and the queries
 *                       about single ids;
 *   tokenizer_encode.c  text -> ids: added tokens, the Llama-3 split regex,
 *                       BPE, the post-processor's ids;
 *   tokenizer_decode.c  ids -> text: lossy UTF-8 as Hugging Face does it,
 *                       whole or streamed token by token;
 *   tokenizer_chat.c    LFM2's ChatML chat templates and the JSON re-writer
 *                       for their tools list.
 *
 * This header holds the tokenizer object, which open() fills and nothing
 * changes afterwards (each encode/decode call keeps its working memory to
 * itself, so threads may share one tokenizer; there is no global mutable
 * state), and the few helpers more than one of the files needs, each under
 * the name of the file that defines it.
 *
 * Plain C11 + libc, and nothing else of the runtime: these files are
 * embedded into lfm2c and compiled for the target with the generated model,
 * and tests/tokenizer/cross_build.sh builds them alone for another target.
 */
#ifndef LFM2_TOKENIZER_INTERNAL_H
#define LFM2_TOKENIZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lfm2_tokenizer.h"

#if defined(__GNUC__)
#define TOK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TOK_PRINTF(a, b)
#endif

/* ------------------------------------------------------------ the object */

/* One merge of the MRGE section in the pair -> rank hash table. */
typedef struct MergeSlot {
	uint64_t key;        /* left << 32 | right */
	uint32_t rank;       /* UINT32_MAX = empty */
	uint32_t result;
} MergeSlot;

/* One added token, as the encoder's leftmost-longest matcher scans them. */
typedef struct Added {
	const uint8_t *text;
	uint32_t len;
	uint32_t id;
	unsigned flags;
} Added;

struct lfm2_tokenizer {
	uint32_t n_tokens;
	uint32_t flags;
	int32_t bos, eos, pad;
	lfm2_chat_style chat_style;
	uint32_t *poff;          /* n_tokens + 1 */
	uint8_t *pbytes;
	uint8_t *tflags;
	int32_t byte_id[256];    /* single-byte BPE token per byte, -1 = none */
	int32_t *vslot;          /* open addressing over ids; -1 = empty */
	size_t vmask;
	MergeSlot *mslot;
	size_t mmask;
	Added *added;            /* sorted by first byte, then length desc */
	size_t n_added;
	uint32_t added_start[257];
	uint32_t *run_start;     /* class runs */
	uint8_t *run_class;
	size_t n_runs;
	uint8_t bmp_class[0x10000];
	uint32_t *fold;          /* pairs (cp, ascii), sorted by cp */
	size_t n_fold;
	int32_t *prefix, *suffix;
	size_t n_prefix, n_suffix;
	lfm2_generation_defaults gen;
};

/* The bytes of an id (which must be < n_tokens). */
static inline const uint8_t *piece_of(const lfm2_tokenizer *t, uint32_t id, size_t *len)
{
	*len = t->poff[id + 1] - t->poff[id];
	return t->pbytes + t->poff[id];
}

/* Whether id names a token of the table. */
static inline bool id_ok(const lfm2_tokenizer *t, uint32_t id)
{
	return id < t->n_tokens && (t->tflags[id] & LFM2_TOK_PRESENT);
}

/* ------------------------------------------------- tokenizer_table.c */

/* Formats a one-line message into err (nothing when err is NULL or errlen 0). */
void tok_set_err(char *err, size_t errlen, const char *fmt, ...) TOK_PRINTF(3, 4);

/* The smallest power of two >= n, at least 16. */
size_t tok_pow2_at_least(size_t n);

/* The BPE-reachable token with exactly these bytes, or -1. */
int32_t tok_vocab_find(const lfm2_tokenizer *t, const uint8_t *p, size_t n);

/* The merge of the pair (a, b), or NULL. */
const MergeSlot *tok_merge_find(const lfm2_tokenizer *t, uint32_t a, uint32_t b);

/* ------------------------------------------------ tokenizer_decode.c */

/* Growable byte string, always NUL-terminated once anything was put; a
 * failed allocation sets oom and makes later puts no-ops. */
typedef struct Str {
	char *p;
	size_t n, cap;
	bool oom;
} Str;

void tok_str_put(Str *s, const void *data, size_t n);
void tok_str_cat(Str *s, const char *z);

/* One step of a UTF-8 decoder that follows the Unicode "maximal subpart"
 * rule (s[0..n), n >= 1): U8_OK with the character's length and code
 * point, U8_BAD with the length of an ill-formed unit, or U8_SHORT with
 * the length of a character cut off by the end of the input. */
enum { U8_OK, U8_BAD, U8_SHORT };
int tok_utf8_step(const uint8_t *s, size_t n, size_t *len, uint32_t *cp);

#endif
