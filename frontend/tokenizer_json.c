/*
 * tokenizer_json.c — tokenizer.json + tokenizer_config.json -> tokenizer table.
 *
 * A Hugging Face tokenizer.json is a description of a pipeline (normalizer,
 * pre-tokenizer, model, post-processor, decoder) plus the vocabulary.  LFM2
 * uses one fixed pipeline, so instead of interpreting arbitrary pipelines at
 * run time we check here, once, that the file describes exactly that
 * pipeline, and reduce it to the data the runtime needs (format in
 * runtime_stub/lfm2_tokenizer.h):
 *
 *   - every id's bytes: a model token's ByteLevel string mapped back to raw
 *     bytes through GPT-2's bytes_to_unicode table, an added token's text;
 *   - the merges as (left id, right id, merged id) in rank order, each one
 *     checked against the vocabulary the way tokenizers' BPE builder does;
 *   - the added tokens and the ids the post-processor adds (BOS);
 *   - bos/eos/pad from tokenizer_config.json and the chat template's style;
 *   - the sampling defaults of generation_config.json (temperature, top_k,
 *     top_p, min_p, repetition_penalty, do_sample), if the file has any,
 *     so the inference program samples the way the model's authors say —
 *     each in the range the runtime's sampler accepts (lfm2rt.h), and its
 *     bos/eos/pad_token_id (ids or lists of ids) inside the vocabulary;
 *   - the Unicode classes of the split regex (\p{L}, \p{N}, \s) as
 *     code-point runs, and the case-folding pairs for its (?i:...) part,
 *     both computed with libutf8proc so the runtime carries no tables of
 *     its own and needs no library.
 *
 * Class definitions follow Oniguruma, the engine the Rust tokenizers crate
 * compiles the pattern with: \p{L} = General_Category L*, \p{N} = N*, and
 * \s = U+0009..U+000D, U+0085 and the Z* categories (which is exactly the
 * White_Space property).  JavaScript's own \s differs (it adds U+FEFF and
 * lacks U+0085); the JS reference we test against rewrites \s to
 * \p{White_Space}, so all three agree.
 *
 * Built from a model directory, the table is also checked against that
 * directory's config.json: a tokenizer whose ids reach past vocab_size
 * would hand the model tokens it has no embedding for, so that is an
 * error here and not a surprise at run time (fewer ids than vocab_size is
 * normal: embeddings are padded to a round size).
 *
 * Anything outside the supported pipeline is an error naming the part:
 * better to refuse a tokenizer than to tokenize differently from the model's
 * training.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>
#include <xxhash.h>

#include "fe_internal.h"
#include "frontend.h"
#include "tokenizer.h"
#include "lfm2_tokenizer.h"
#include "lfm2rt.h"

/* The only split pattern implemented (Llama-3's, also LFM2's). */
static const char LLAMA3_SPLIT_REGEX[] =
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
	" ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* XXH3-64 of the chat templates lfm2c knows (text without trailing white
 * space).  Recognizing by hash keeps the template texts out of our code. */
static const struct {
	uint64_t hash;
	lfm2_chat_style style;
	const char *what;
} known_templates[] = {
	{0xc0abd2b1a4abe5adull, LFM2_CHAT_CHATML, "LFM2-1.2B ChatML (2025-07)"},
	{0xabb3a09c29175018ull, LFM2_CHAT_LFM25, "LFM2.5-1.2B-Base, with tools"},
};

/* ------------------------------------------------------------ byte buffer */

typedef struct Buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
} Buf;

static void buf_reserve(Buf *b, size_t extra)
{
	if (b->oom || b->n + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void buf_put(Buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (b->oom)
		return;
	if (n)
		memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void buf_u32(Buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	buf_put(b, x, 4);
}

static void buf_u64(Buf *b, uint64_t v)
{
	buf_u32(b, (uint32_t)v);
	buf_u32(b, (uint32_t)(v >> 32));
}

static void put_u32_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_u64_at(uint8_t *p, uint64_t v)
{
	put_u32_at(p, (uint32_t)v);
	put_u32_at(p + 4, (uint32_t)(v >> 32));
}

/* ---------------------------------------------------- string -> id map
 * Open addressing over (bytes, length) keys that point into strings owned
 * by the builder. */

typedef struct StrMap {
	const char **key;
	size_t *klen;
	int32_t *val;
	size_t cap, used;
} StrMap;

static uint64_t str_hash(const char *s, size_t n)
{
	return XXH3_64bits(s, n);
}

static int strmap_init(StrMap *m, size_t expected)
{
	size_t cap = 16;
	while (cap < expected * 2 + 16)
		cap *= 2;
	m->key = calloc(cap, sizeof *m->key);
	m->klen = calloc(cap, sizeof *m->klen);
	m->val = calloc(cap, sizeof *m->val);
	m->cap = cap;
	m->used = 0;
	return (m->key && m->klen && m->val) ? 0 : -1;
}

static void strmap_free(StrMap *m)
{
	free(m->key);
	free(m->klen);
	free(m->val);
	memset(m, 0, sizeof *m);
}

/* Slot of key, or of the empty slot where it would go. */
static size_t strmap_slot(const StrMap *m, const char *s, size_t n)
{
	size_t i = (size_t)str_hash(s, n) & (m->cap - 1);
	while (m->key[i] && !(m->klen[i] == n && memcmp(m->key[i], s, n) == 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int32_t strmap_get(const StrMap *m, const char *s, size_t n)
{
	if (!m->cap)
		return -1;
	size_t i = strmap_slot(m, s, n);
	return m->key[i] ? m->val[i] : -1;
}

/* Inserts; returns the previous value if the key was there (not replaced),
 * -1 if inserted, -2 when the map is full (never: sized at init). */
static int32_t strmap_add(StrMap *m, const char *s, size_t n, int32_t v)
{
	if ((m->used + 1) * 2 > m->cap)
		return -2;
	size_t i = strmap_slot(m, s, n);
	if (m->key[i])
		return m->val[i];
	m->key[i] = s;
	m->klen[i] = n;
	m->val[i] = v;
	m->used++;
	return -1;
}

/* ------------------------------------------------ GPT-2 byte alphabet
 * bytes_to_unicode: printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
 * U+00AE..U+00FF) stand for themselves; the other 68 bytes, in order, get
 * U+0100, U+0101, ...  char_to_byte inverts it (-1 outside the alphabet). */

static void byte_alphabet(uint32_t byte_to_char[256])
{
	uint32_t next = 256;
	for (int b = 0; b < 256; b++) {
		bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
		byte_to_char[b] = printable ? (uint32_t)b : next++;
	}
}

static int char_to_byte(uint32_t cp)
{
	bool printable = (cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF);
	if (printable)
		return (int)cp;
	if (cp < 256 || cp >= 256 + 68)
		return -1;
	uint32_t k = cp - 256;   /* the k-th non-printable byte: 0..32, 127..160, 173 */
	return k < 33 ? (int)k : k < 67 ? (int)(127 + k - 33) : 173;
}

/* Decodes one UTF-8 character of s[0..n) (cJSON gives valid UTF-8 for
 * valid input, but be careful anyway); returns its length, 0 if invalid. */
static size_t utf8_char(const char *s, size_t n, uint32_t *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c);
	if (k <= 0)
		return 0;
	*cp = (uint32_t)c;
	return (size_t)k;
}

/* A model token's bytes under the ByteLevel decoder.  Returns true if every
 * character is in the alphabet (out = the bytes); otherwise out = the
 * token's own UTF-8, as tokenizers' ByteLevel decoder does. */
static bool bytelevel_decode(const char *tok, size_t n, Buf *out)
{
	size_t start = out->n;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_char(tok + i, n - i, &cp);
		int b = k ? char_to_byte(cp) : -1;
		if (b < 0) {
			out->n = start;
			buf_put(out, tok, n);
			return false;
		}
		uint8_t byte = (uint8_t)b;
		buf_put(out, &byte, 1);
		i += k;
	}
	return true;
}

/* Raw text -> its ByteLevel string (to look config tokens up in the vocab). */
static void bytelevel_encode(const char *s, size_t n, Buf *out)
{
	uint32_t fwd[256];
	byte_alphabet(fwd);
	for (size_t i = 0; i < n; i++) {
		uint8_t u[4];
		utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)fwd[(uint8_t)s[i]], u);
		buf_put(out, u, (size_t)k);
	}
}

/* ------------------------------------------------------------- builder */

typedef struct Entry {
	const char *model;    /* model vocab string (ByteLevel form), or NULL */
	size_t model_len;
	const char *added;    /* added token content, or NULL */
	size_t added_len;
	unsigned flags;       /* LFM2_TOK_* except BPE (computed at write time) */
} Entry;

typedef struct Builder {
	const char *path;
	const char *cfg_path; /* tokenizer_config.json, for its messages */
	LfmError *err;
	Entry *e;
	uint32_t n_tokens;    /* max id + 1 */
	uint32_t cap;
	StrMap vocab;         /* model string -> id */
	StrMap added;         /* added content -> id */
	uint32_t *merges;     /* triples */
	size_t n_merges;
	uint32_t *added_ids;
	size_t n_added;
	uint32_t prefix[16], suffix[16];
	size_t n_prefix, n_suffix;
	int32_t bos, eos, pad;
	uint32_t flags;
	lfm2_chat_style chat_style;
	uint64_t template_hash;
	const char *gen_path; /* generation_config.json, for its messages */
	lfm2_generation_defaults gen;
	int vocab_size;       /* config.json's, 0 = not known */
} Builder;

static int fail(Builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Builder *b, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return lfm_error(b->err, b->path, "%s", msg);
}

static int oom(Builder *b)
{
	return fail(b, "out of memory while building the tokenizer table");
}

static int ensure_id(Builder *b, uint32_t id)
{
	if (id < b->cap) {
		if (id >= b->n_tokens)
			b->n_tokens = id + 1;
		return 0;
	}
	uint32_t cap = b->cap ? b->cap : 1024;
	while (cap <= id)
		cap *= 2;
	Entry *e = realloc(b->e, cap * sizeof *e);
	if (!e)
		return oom(b);
	memset(e + b->cap, 0, (cap - b->cap) * sizeof *e);
	b->e = e;
	b->cap = cap;
	b->n_tokens = id + 1;
	return 0;
}

/* Short printable rendering of a token string for messages. */
static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
	size_t o = 0, i = 0;
	for (; i < n && o + 4 < cap; i++)
		buf[o++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	if (i < n) {
		o = o > 3 ? o - 3 : 0;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static const char *json_type(const cJSON *v)
{
	if (!v)
		return "missing";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

static bool absent_or_null(const cJSON *v)
{
	return !v || cJSON_IsNull(v);
}

static bool is_false_or_absent(const cJSON *v)
{
	return !v || cJSON_IsNull(v) || cJSON_IsFalse(v);
}

/* "type" of a pipeline component, or "" */
static const char *comp_type(const cJSON *o)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
	return cJSON_IsString(t) ? t->valuestring : "";
}

/* ------------------------------------------------------ pipeline checks */

/* No normalizer, no truncation or padding settings. */
static int check_top_level(Builder *b, const cJSON *root)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
	if (!absent_or_null(n))
		return fail(b, "normalizer '%s' is not supported (LFM2's tokenizer has no normalizer)",
		            cJSON_IsObject(n) ? comp_type(n) : json_type(n));
	const char *keys[] = {"truncation", "padding"};
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
		if (!absent_or_null(v))
			return fail(b, "%s settings are not supported (must be null)", keys[i]);
	}
	return 0;
}

static int check_split(Builder *b, const cJSON *s)
{
	if (strcmp(comp_type(s), "Split") != 0)
		return fail(b, "pre_tokenizer: first step '%s' is not supported (expected Split)", comp_type(s));
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
	const cJSON *rx = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
	if (!cJSON_IsString(rx)) {
		const cJSON *str = cJSON_GetObjectItemCaseSensitive(pat, "String");
		if (cJSON_IsString(str))
			return fail(b, "pre_tokenizer: Split with a String pattern is not supported (only the Llama-3 regex)");
		return fail(b, "pre_tokenizer: Split.pattern.Regex is %s", json_type(rx));
	}
	if (strcmp(rx->valuestring, LLAMA3_SPLIT_REGEX) != 0) {
		char shown[200];
		return fail(b, "pre_tokenizer: unsupported Split regex '%s' (only the Llama-3/LFM2 pattern is implemented)",
		            show(rx->valuestring, strlen(rx->valuestring), shown, sizeof shown));
	}
	const cJSON *beh = cJSON_GetObjectItemCaseSensitive(s, "behavior");
	if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") != 0)
		return fail(b, "pre_tokenizer: Split behavior '%s' is not supported (expected Isolated)",
		            cJSON_IsString(beh) ? beh->valuestring : json_type(beh));
	if (!is_false_or_absent(cJSON_GetObjectItemCaseSensitive(s, "invert")))
		return fail(b, "pre_tokenizer: Split with invert=true is not supported");
	return 0;
}

static int check_bytelevel_pre(Builder *b, const cJSON *s)
{
	if (strcmp(comp_type(s), "ByteLevel") != 0)
		return fail(b, "pre_tokenizer: second step '%s' is not supported (expected ByteLevel)", comp_type(s));
	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "add_prefix_space")))
		return fail(b, "pre_tokenizer: ByteLevel add_prefix_space must be false");
	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "use_regex")))
		return fail(b, "pre_tokenizer: ByteLevel use_regex must be false (its GPT-2 regex is not implemented)");
	return 0;
}

static int check_pre_tokenizer(Builder *b, const cJSON *root)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
	if (!cJSON_IsObject(p))
		return fail(b, "pre_tokenizer is %s (expected Sequence[Split, ByteLevel])", json_type(p));
	if (strcmp(comp_type(p), "Sequence") != 0)
		return fail(b, "pre_tokenizer '%s' is not supported (expected Sequence[Split, ByteLevel])", comp_type(p));
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
	if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) != 2)
		return fail(b, "pre_tokenizer: Sequence must have exactly two steps, Split and ByteLevel");
	if (check_split(b, cJSON_GetArrayItem(steps, 0)))
		return -1;
	return check_bytelevel_pre(b, cJSON_GetArrayItem(steps, 1));
}

static int check_decoder(Builder *b, const cJSON *root)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "decoder");
	if (!cJSON_IsObject(d))
		return fail(b, "decoder is %s (expected ByteLevel)", json_type(d));
	if (strcmp(comp_type(d), "ByteLevel") != 0)
		return fail(b, "decoder '%s' is not supported (expected ByteLevel)", comp_type(d));
	return 0;
}

/* ------------------------------------------------------------ the model */

static int read_vocab(Builder *b, const cJSON *model)
{
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
	if (!cJSON_IsObject(vocab))
		return fail(b, "model.vocab is %s (expected an object token -> id)", json_type(vocab));
	size_t n = (size_t)cJSON_GetArraySize(vocab);
	if (strmap_init(&b->vocab, n))
		return oom(b);
	char shown[80];
	for (const cJSON *it = vocab->child; it; it = it->next) {
		const char *s = it->string;
		size_t len = strlen(s);
		if (!fe_json_is_int_in(it, 0, LFM2_TOK_MAX_TOKENS - 1))
			return fail(b, "model.vocab: token '%s' has a bad id (need an integer in [0, %u))",
			            show(s, len, shown, sizeof shown), LFM2_TOK_MAX_TOKENS);
		if (len == 0)
			return fail(b, "model.vocab: empty token string (id %d)", (int)it->valuedouble);
		uint32_t id = (uint32_t)it->valuedouble;
		if (ensure_id(b, id))
			return -1;
		if (b->e[id].model)
			return fail(b, "model.vocab: duplicate id %u ('%s' and another token)", id,
			            show(s, len, shown, sizeof shown));
		int32_t prev = strmap_add(&b->vocab, s, len, (int32_t)id);
		if (prev != -1)
			return fail(b, "model.vocab: token '%s' appears twice", show(s, len, shown, sizeof shown));
		b->e[id].model = s;
		b->e[id].model_len = len;
		b->e[id].flags |= LFM2_TOK_PRESENT;
	}
	return 0;
}

/* One merge: "a b" (one space) or ["a", "b"]. */
static int merge_parts(Builder *b, const cJSON *m, size_t rank, const char **a, size_t *al,
                       const char **c, size_t *cl)
{
	if (cJSON_IsString(m)) {
		const char *s = m->valuestring;
		const char *sp = strchr(s, ' ');
		if (!sp || strchr(sp + 1, ' ') || sp == s || sp[1] == '\0') {
			char shown[80];
			return fail(b, "model.merges[%zu]: malformed merge '%s' (expected two tokens separated by one space)",
			            rank, show(s, strlen(s), shown, sizeof shown));
		}
		*a = s;
		*al = (size_t)(sp - s);
		*c = sp + 1;
		*cl = strlen(sp + 1);
		return 0;
	}
	if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2) {
		const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
		if (cJSON_IsString(x) && cJSON_IsString(y) && x->valuestring[0] && y->valuestring[0]) {
			*a = x->valuestring;
			*al = strlen(x->valuestring);
			*c = y->valuestring;
			*cl = strlen(y->valuestring);
			return 0;
		}
	}
	return fail(b, "model.merges[%zu]: malformed merge (%s; expected \"a b\" or [\"a\", \"b\"])", rank,
	            json_type(m));
}

static int read_merges(Builder *b, const cJSON *model)
{
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
	if (!cJSON_IsArray(merges))
		return fail(b, "model.merges is %s (expected an array)", json_type(merges));
	size_t n = (size_t)cJSON_GetArraySize(merges);
	b->merges = malloc((n ? n : 1) * 3 * sizeof *b->merges);
	uint64_t *pairs = malloc((n ? n : 1) * sizeof *pairs);
	char *cat = NULL;
	size_t cat_cap = 0;
	int rc = -1;
	if (!b->merges || !pairs) {
		oom(b);
		goto out;
	}
	size_t rank = 0;
	char shown[80];
	for (const cJSON *m = merges->child; m; m = m->next, rank++) {
		const char *a = NULL, *c = NULL;
		size_t al = 0, cl = 0;
		if (merge_parts(b, m, rank, &a, &al, &c, &cl))
			goto out;
		int32_t ia = strmap_get(&b->vocab, a, al), ic = strmap_get(&b->vocab, c, cl);
		if (ia < 0 || ic < 0) {
			fail(b, "model.merges[%zu]: token '%s' is not in the vocabulary", rank,
			     ia < 0 ? show(a, al, shown, sizeof shown) : show(c, cl, shown, sizeof shown));
			goto out;
		}
		if (al + cl + 1 > cat_cap) {
			cat_cap = (al + cl + 1) * 2;
			char *p = realloc(cat, cat_cap);
			if (!p) {
				oom(b);
				goto out;
			}
			cat = p;
		}
		memcpy(cat, a, al);
		memcpy(cat + al, c, cl);
		int32_t ir = strmap_get(&b->vocab, cat, al + cl);
		if (ir < 0) {
			fail(b, "model.merges[%zu]: merged token '%s' is not in the vocabulary", rank,
			     show(cat, al + cl, shown, sizeof shown));
			goto out;
		}
		b->merges[3 * rank] = (uint32_t)ia;
		b->merges[3 * rank + 1] = (uint32_t)ic;
		b->merges[3 * rank + 2] = (uint32_t)ir;
		pairs[rank] = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ic;
	}
	b->n_merges = rank;
	/* A pair listed twice: tokenizers builds its merge map by inserting in
	 * order, so the later rank wins; drop the earlier entries. */
	StrMap seen = {0};
	if (strmap_init(&seen, n)) {
		oom(b);
		goto out;
	}
	bool *drop = calloc(n ? n : 1, sizeof *drop);
	if (!drop) {
		strmap_free(&seen);
		oom(b);
		goto out;
	}
	for (size_t i = n; i-- > 0;)
		if (strmap_add(&seen, (const char *)&pairs[i], sizeof pairs[i], (int32_t)i) != -1)
			drop[i] = true;
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (drop[i])
			continue;
		memmove(&b->merges[3 * w], &b->merges[3 * i], 3 * sizeof *b->merges);
		w++;
	}
	b->n_merges = w;
	free(drop);
	strmap_free(&seen);
	rc = 0;
out:
	free(pairs);
	free(cat);
	return rc;
}

static int read_model(Builder *b, const cJSON *root)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (!cJSON_IsObject(model))
		return fail(b, "model is %s (expected a BPE model object)", json_type(model));
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
	if (!cJSON_IsString(type))
		return fail(b, "model.type is %s (expected \"BPE\")", json_type(type));
	if (strcmp(type->valuestring, "BPE") != 0)
		return fail(b, "model type '%s' is not supported (only BPE)", type->valuestring);
	if (!absent_or_null(cJSON_GetObjectItemCaseSensitive(model, "dropout")))
		return fail(b, "model.dropout is not supported (must be null)");
	if (!absent_or_null(cJSON_GetObjectItemCaseSensitive(model, "unk_token")))
		return fail(b, "model.unk_token is not supported (LFM2's byte-level BPE has none)");
	if (!is_false_or_absent(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback")))
		return fail(b, "model.byte_fallback=true is not supported");
	const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
		if (!absent_or_null(v) && !(cJSON_IsString(v) && v->valuestring[0] == '\0'))
			return fail(b, "model.%s is not supported (must be null)", affixes[i]);
	}
	const cJSON *im = cJSON_GetObjectItemCaseSensitive(model, "ignore_merges");
	if (cJSON_IsTrue(im))
		b->flags |= LFM2_TOKF_IGNORE_MERGES;
	else if (!is_false_or_absent(im))
		return fail(b, "model.ignore_merges is %s (expected a boolean)", json_type(im));
	if (read_vocab(b, model))
		return -1;
	return read_merges(b, model);
}

/* ------------------------------------------------------- added tokens */

static int read_added_tokens(Builder *b, const cJSON *root)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
	if (absent_or_null(list))
		list = NULL;
	else if (!cJSON_IsArray(list))
		return fail(b, "added_tokens is %s (expected an array)", json_type(list));
	size_t n = list ? (size_t)cJSON_GetArraySize(list) : 0;
	if (strmap_init(&b->added, n))
		return oom(b);
	b->added_ids = malloc((n ? n : 1) * sizeof *b->added_ids);
	if (!b->added_ids)
		return oom(b);
	size_t i = 0;
	char shown[80];
	for (const cJSON *t = list ? list->child : NULL; t; t = t->next, i++) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(t, "content");
		if (!fe_json_is_int_in(id, 0, LFM2_TOK_MAX_TOKENS - 1))
			return fail(b, "added_tokens[%zu]: bad id (need an integer in [0, %u))", i, LFM2_TOK_MAX_TOKENS);
		if (!cJSON_IsString(content) || content->valuestring[0] == '\0')
			return fail(b, "added_tokens[%zu]: content is %s (expected a non-empty string)", i,
			            cJSON_IsString(content) ? "empty" : json_type(content));
		const char *s = content->valuestring;
		size_t len = strlen(s);
		const char *flags[] = {"single_word", "lstrip", "rstrip"};
		for (int k = 0; k < 3; k++)
			if (!is_false_or_absent(cJSON_GetObjectItemCaseSensitive(t, flags[k])))
				return fail(b, "added_tokens[%zu] '%s': %s=true is not supported", i,
				            show(s, len, shown, sizeof shown), flags[k]);
		uint32_t tid = (uint32_t)id->valuedouble;
		if (ensure_id(b, tid))
			return -1;
		Entry *e = &b->e[tid];
		if (e->added)
			return fail(b, "added_tokens[%zu]: duplicate id %u", i, tid);
		if (strmap_add(&b->added, s, len, (int32_t)tid) != -1)
			return fail(b, "added_tokens[%zu]: token '%s' appears twice", i, show(s, len, shown, sizeof shown));
		e->added = s;
		e->added_len = len;
		e->flags |= LFM2_TOK_PRESENT | LFM2_TOK_ADDED;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "special")))
			e->flags |= LFM2_TOK_SPECIAL;
		/* tokenizers' default for a missing "normalized" is !special */
		const cJSON *norm = cJSON_GetObjectItemCaseSensitive(t, "normalized");
		bool normalized = norm ? cJSON_IsTrue(norm) : !(e->flags & LFM2_TOK_SPECIAL);
		if (normalized)
			e->flags |= LFM2_TOK_NORMALIZED;
		b->added_ids[b->n_added++] = tid;
	}
	return 0;
}

/* Id of a token named by its text: an added token, else a model token. */
static int32_t find_token(Builder *b, const char *s, size_t len)
{
	int32_t id = strmap_get(&b->added, s, len);
	if (id >= 0)
		return id;
	Buf bl = {0};
	bytelevel_encode(s, len, &bl);
	id = bl.oom ? -1 : strmap_get(&b->vocab, (const char *)bl.p, bl.n);
	free(bl.p);
	return id;
}

/* ------------------------------------------------------ post-processor */

static int template_ids(Builder *b, const cJSON *tp)
{
	const cJSON *single = cJSON_GetObjectItemCaseSensitive(tp, "single");
	const cJSON *specials = cJSON_GetObjectItemCaseSensitive(tp, "special_tokens");
	if (!cJSON_IsArray(single))
		return fail(b, "post_processor: TemplateProcessing.single is %s (expected a list)", json_type(single));
	bool seen_a = false;
	size_t i = 0;
	for (const cJSON *it = single->child; it; it = it->next, i++) {
		const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
		const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
		if (seq) {
			const cJSON *sid = cJSON_GetObjectItemCaseSensitive(seq, "id");
			if (!cJSON_IsString(sid) || strcmp(sid->valuestring, "A") != 0 || seen_a)
				return fail(b, "post_processor: TemplateProcessing.single[%zu]: only one Sequence A is supported", i);
			seen_a = true;
			continue;
		}
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
		if (!cJSON_IsString(name))
			return fail(b, "post_processor: TemplateProcessing.single[%zu] is neither a Sequence nor a SpecialToken", i);
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(specials, name->valuestring);
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(def, "ids");
		if (!cJSON_IsArray(ids))
			return fail(b, "post_processor: special token '%s' has no ids in special_tokens", name->valuestring);
		for (const cJSON *x = ids->child; x; x = x->next) {
			if (!fe_json_is_int_in(x, 0, (double)b->n_tokens - 1) ||
			    !(b->e[(uint32_t)x->valuedouble].flags & LFM2_TOK_PRESENT))
				return fail(b, "post_processor: special token '%s' has an id that is not in the vocabulary",
				            name->valuestring);
			uint32_t *dst = seen_a ? b->suffix : b->prefix;
			size_t *cnt = seen_a ? &b->n_suffix : &b->n_prefix;
			if (*cnt >= 16)
				return fail(b, "post_processor: more than 16 special ids around the text");
			dst[(*cnt)++] = (uint32_t)x->valuedouble;
		}
	}
	if (!seen_a)
		return fail(b, "post_processor: TemplateProcessing.single has no Sequence A");
	return 0;
}

static int read_post_processor(Builder *b, const cJSON *root)
{
	const cJSON *pp = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
	if (absent_or_null(pp))
		return 0;
	const cJSON *one = pp;
	const cJSON *list = NULL;
	if (strcmp(comp_type(pp), "Sequence") == 0) {
		list = cJSON_GetObjectItemCaseSensitive(pp, "processors");
		if (!cJSON_IsArray(list))
			return fail(b, "post_processor: Sequence.processors is %s", json_type(list));
		one = list->child;
	}
	bool have_template = false;
	for (; one; one = list ? one->next : NULL) {
		const char *t = comp_type(one);
		if (strcmp(t, "ByteLevel") == 0)
			; /* only adjusts offsets */
		else if (strcmp(t, "TemplateProcessing") == 0 && !have_template) {
			have_template = true;
			if (template_ids(b, one))
				return -1;
		} else
			return fail(b, "post_processor '%s' is not supported (only TemplateProcessing, ByteLevel)",
			            t[0] ? t : json_type(one));
		if (!list)
			break;
	}
	return 0;
}

/* --------------------------------------------------- tokenizer_config */

/* bos_token etc.: a string, {"content": ...}, null or absent. */
static int config_token(Builder *b, const cJSON *cfg, const char *key, int32_t *out)
{
	*out = -1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	if (cJSON_IsObject(v))
		v = cJSON_GetObjectItemCaseSensitive(v, "content");
	if (absent_or_null(v))
		return 0;
	if (!cJSON_IsString(v))
		return lfm_error(b->err, b->cfg_path, "%s is %s (expected a token string)", key, json_type(v));
	*out = find_token(b, v->valuestring, strlen(v->valuestring));
	if (*out < 0) {
		char shown[80];
		return lfm_error(b->err, b->cfg_path, "%s '%s' is not a token of tokenizer.json", key,
		            show(v->valuestring, strlen(v->valuestring), shown, sizeof shown));
	}
	return 0;
}

static void recognize_template(Builder *b, const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
	               text[len - 1] == '\t'))
		len--;
	b->template_hash = XXH3_64bits(text, len);
	b->chat_style = LFM2_CHAT_NONE;
	for (size_t i = 0; i < sizeof known_templates / sizeof known_templates[0]; i++)
		if (known_templates[i].hash == b->template_hash)
			b->chat_style = known_templates[i].style;
}

static int read_config(Builder *b, const char *text, size_t len, const char *tmpl, size_t tmpl_len)
{
	cJSON *cfg = NULL;
	if (text) {
		cfg = fe_parse_json(text, len, b->cfg_path, "tokenizer_config.json", b->err);
		if (!cfg)
			return -1;
		if (!cJSON_IsObject(cfg)) {
			cJSON_Delete(cfg);
			return lfm_error(b->err, b->cfg_path, "not a JSON object");
		}
	}
	int rc = -1;
	if (config_token(b, cfg, "bos_token", &b->bos) || config_token(b, cfg, "eos_token", &b->eos) ||
	    config_token(b, cfg, "pad_token", &b->pad))
		goto out;
	if (tmpl) {
		recognize_template(b, tmpl, tmpl_len);
	} else {
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
		if (cJSON_IsArray(ct)) {   /* [{"name": ..., "template": ...}]: take "default" */
			const cJSON *pick = NULL;
			for (const cJSON *it = ct->child; it; it = it->next) {
				const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
				if (cJSON_IsString(nm) && strcmp(nm->valuestring, "default") == 0)
					pick = cJSON_GetObjectItemCaseSensitive(it, "template");
			}
			ct = pick;
		}
		if (cJSON_IsString(ct))
			recognize_template(b, ct->valuestring, strlen(ct->valuestring));
	}
	rc = 0;
out:
	cJSON_Delete(cfg);
	return rc;
}

/* -------------------------------------------------- generation_config */

/* One optional number of generation_config.json: absent or null leaves it
 * unset; otherwise it must be a number (an integer if `integer`) in
 * [lo, hi] (lo itself excluded if `open_lo`) that stays in that range as a
 * float.  `expect` describes the range for the message. */
static int gen_number(Builder *b, const cJSON *cfg, const char *key, unsigned bit, double lo, bool open_lo,
                      double hi, bool integer, const char *expect, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	if (absent_or_null(v))
		return 0;
	double x = cJSON_IsNumber(v) ? v->valuedouble : 0;
	float f = (float)x;
	bool ok = cJSON_IsNumber(v) && x >= lo && x <= hi && !(open_lo && x == lo) &&
	          (!integer || fe_json_is_int_in(v, lo, hi)) &&
	          f <= 3.0e38f && !(open_lo && f == (float)lo);
	if (!ok) {
		char q[80];
		fe_json_quote(v, q, sizeof q);
		return lfm_error(b->err, b->gen_path, "%s is %s (expected %s)", key, q, expect);
	}
	*out = x;
	b->gen.present |= bit;
	return 0;
}

/* The vocabulary token ids must come from: config.json's vocab_size when
 * known, else the tokenizer's own ids. */
static uint32_t id_bound(const Builder *b)
{
	return b->vocab_size > 0 ? (uint32_t)b->vocab_size : b->n_tokens;
}

/* One token id of generation_config.json: an integer in [0, id_bound). */
static int gen_token_id(Builder *b, const char *key, const cJSON *v, int index)
{
	char q[80], at[32] = "";
	if (index >= 0)
		snprintf(at, sizeof at, "[%d]", index);
	if (!fe_json_is_int_in(v, 0, LFM_JSON_MAX_EXACT_INT)) {
		fe_json_quote(v, q, sizeof q);
		return lfm_error(b->err, b->gen_path, "%s%s is %s (expected a token id, a list of token ids, or null)",
		                 key, at, q);
	}
	if (v->valuedouble >= (double)id_bound(b)) {
		char bound[64];
		if (b->vocab_size > 0)
			snprintf(bound, sizeof bound, "config.json's vocab_size %d", b->vocab_size);
		else if (b->n_tokens)
			snprintf(bound, sizeof bound, "the tokenizer's ids end at %u", b->n_tokens - 1);
		else
			snprintf(bound, sizeof bound, "the tokenizer has no ids");
		fe_json_quote(v, q, sizeof q);
		return lfm_error(b->err, b->gen_path, "%s%s is %s: not a token id of the vocabulary (%s)", key, at, q,
		                 bound);
	}
	return 0;
}

/* bos/eos/pad_token_id: absent, null, an id or a list of ids (HF accepts
 * several eos ids), each inside the vocabulary.  Nothing is kept: the ids
 * the model uses come from config.json and tokenizer_config.json; these
 * are checked so a file that names an impossible token fails the compile. */
static int gen_token_ids(Builder *b, const cJSON *cfg, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	if (absent_or_null(v))
		return 0;
	if (!cJSON_IsArray(v))
		return gen_token_id(b, key, v, -1);
	int i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++)
		if (gen_token_id(b, key, it, i))
			return -1;
	return 0;
}

/* The sampling keys of generation_config.json, in the ranges the runtime's
 * sampler accepts (lfm2rt.h), and its token ids; every other key
 * (max_length, max_new_tokens, ...) is ignored: nothing reads it. */
static int read_generation_config(Builder *b, const char *text, size_t len)
{
	if (!text)
		return 0;
	cJSON *cfg = fe_parse_json(text, len, b->gen_path, "generation_config.json", b->err);
	if (!cfg)
		return -1;
	int rc = -1;
	double t = 0, k = 0, p = 0, m = 0, r = 0;
	char penalty_range[64];
	snprintf(penalty_range, sizeof penalty_range, "a number in [%g, %g]", (double)LFM2_REPEAT_PENALTY_MIN,
	         (double)LFM2_REPEAT_PENALTY_MAX);
	if (!cJSON_IsObject(cfg)) {
		lfm_error(b->err, b->gen_path, "not a JSON object");
		goto out;
	}
	const cJSON *ds = cJSON_GetObjectItemCaseSensitive(cfg, "do_sample");
	if (!absent_or_null(ds)) {
		if (!cJSON_IsBool(ds)) {
			char q[80];
			fe_json_quote(ds, q, sizeof q);
			lfm_error(b->err, b->gen_path, "do_sample is %s (expected true or false)", q);
			goto out;
		}
		b->gen.present |= LFM2_GEN_DO_SAMPLE;
		b->gen.do_sample = cJSON_IsTrue(ds);
	}
	if (gen_number(b, cfg, "temperature", LFM2_GEN_TEMPERATURE, 0, false, 1e38, false,
	               "a number >= 0", &t) ||
	    gen_number(b, cfg, "top_k", LFM2_GEN_TOP_K, 0, false, 2147483647.0, true,
	               "an integer >= 0", &k) ||
	    gen_number(b, cfg, "top_p", LFM2_GEN_TOP_P, 0, true, 1, false, "a number in (0, 1]", &p) ||
	    gen_number(b, cfg, "min_p", LFM2_GEN_MIN_P, 0, false, 1, false, "a number in [0, 1]", &m) ||
	    gen_number(b, cfg, "repetition_penalty", LFM2_GEN_REPETITION_PENALTY, LFM2_REPEAT_PENALTY_MIN, false,
	               LFM2_REPEAT_PENALTY_MAX, false, penalty_range, &r) ||
	    gen_token_ids(b, cfg, "bos_token_id") || gen_token_ids(b, cfg, "eos_token_id") ||
	    gen_token_ids(b, cfg, "pad_token_id"))
		goto out;
	b->gen.temperature = (float)t;
	b->gen.top_k = (int32_t)k;
	b->gen.top_p = (float)p;
	b->gen.min_p = (float)m;
	b->gen.repetition_penalty = (float)r;
	rc = 0;
out:
	cJSON_Delete(cfg);
	return rc;
}

/* ------------------------------------------------------ Unicode tables */

static unsigned unicode_class(utf8proc_int32_t cp)
{
	if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85)
		return LFM2_UC_SPACE;
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return LFM2_UC_LETTER;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return LFM2_UC_NUMBER;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return LFM2_UC_SPACE;
	default:
		return LFM2_UC_OTHER;
	}
}

static void write_class_runs(Buf *out)
{
	unsigned prev = 99;
	for (utf8proc_int32_t cp = 0; cp <= 0x10FFFF; cp++) {
		unsigned c = unicode_class(cp);
		if (c != prev)
			buf_u32(out, (uint32_t)cp | (uint32_t)c << 24);
		prev = c;
	}
}

/* Code points whose full case folding is one ASCII character. */
static void write_fold_pairs(Buf *out)
{
	for (utf8proc_int32_t cp = 0x80; cp <= 0x10FFFF; cp++) {
		if (utf8proc_category(cp) == UTF8PROC_CATEGORY_CN)
			continue;
		utf8proc_int32_t dst[8];
		int last = 0;
		utf8proc_ssize_t k = utf8proc_decompose_char(cp, dst, 8, UTF8PROC_CASEFOLD, &last);
		if (k == 1 && dst[0] < 0x80 && dst[0] != cp) {
			buf_u32(out, (uint32_t)cp);
			buf_u32(out, (uint32_t)dst[0]);
		}
	}
}

const char *lfm_tokenizer_unicode_version(void)
{
	return utf8proc_unicode_version();
}

static uint32_t packed_unicode_version(void)
{
	unsigned a = 0, b = 0, c = 0;
	sscanf(utf8proc_unicode_version(), "%u.%u.%u", &a, &b, &c);
	return a << 16 | b << 8 | c;
}

/* ------------------------------------------------------------ writing */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

enum { N_SECTIONS = 11 };

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* GCFG: absent fields are written as 0 (the reader insists). */
static void write_generation(const lfm2_generation_defaults *g, Buf *out)
{
	unsigned p = g->present;
	buf_u32(out, p);
	buf_u32(out, (p & LFM2_GEN_DO_SAMPLE) && g->do_sample ? 1u : 0u);
	buf_u32(out, (p & LFM2_GEN_TEMPERATURE) ? f32_bits(g->temperature) : 0u);
	buf_u32(out, (p & LFM2_GEN_TOP_K) ? (uint32_t)g->top_k : 0u);
	buf_u32(out, (p & LFM2_GEN_TOP_P) ? f32_bits(g->top_p) : 0u);
	buf_u32(out, (p & LFM2_GEN_MIN_P) ? f32_bits(g->min_p) : 0u);
	buf_u32(out, (p & LFM2_GEN_REPETITION_PENALTY) ? f32_bits(g->repetition_penalty) : 0u);
}

typedef struct Section {
	uint32_t tag;
	Buf data;
} Section;

static void fill_sections(Builder *b, Section *s)
{
	static const char tags[N_SECTIONS][5] = {"META", "POFF", "PBYT", "TFLG", "MRGE", "ADDT",
	                                         "UCLS", "FOLD", "PREF", "SUFF", "GCFG"};
	for (int i = 0; i < N_SECTIONS; i++)
		s[i].tag = LFM2_TOK_TAG(tags[i][0], tags[i][1], tags[i][2], tags[i][3]);
	Buf *meta = &s[0].data, *poff = &s[1].data, *pbyt = &s[2].data, *tflg = &s[3].data;
	buf_u32(meta, b->n_tokens);
	buf_u32(meta, b->flags);
	buf_u32(meta, (uint32_t)b->bos);
	buf_u32(meta, (uint32_t)b->eos);
	buf_u32(meta, (uint32_t)b->pad);
	buf_u32(meta, (uint32_t)b->chat_style);
	buf_u64(meta, b->template_hash);
	buf_u32(meta, packed_unicode_version());

	Buf model_bytes = {0};
	for (uint32_t id = 0; id < b->n_tokens; id++) {
		Entry *e = &b->e[id];
		uint8_t flags = (uint8_t)e->flags;
		buf_u32(poff, (uint32_t)pbyt->n);
		model_bytes.n = 0;
		bool alphabet = e->model && bytelevel_decode(e->model, e->model_len, &model_bytes);
		if (e->added) {
			buf_put(pbyt, e->added, e->added_len);
			/* still reachable by BPE when both spellings agree */
			if (alphabet && model_bytes.n == e->added_len &&
			    memcmp(model_bytes.p, e->added, e->added_len) == 0)
				flags |= LFM2_TOK_BPE;
		} else if (e->model) {
			buf_put(pbyt, model_bytes.p, model_bytes.n);
			if (alphabet)
				flags |= LFM2_TOK_BPE;
		}
		buf_put(tflg, &flags, 1);
	}
	buf_u32(poff, (uint32_t)pbyt->n);
	if (model_bytes.oom)
		pbyt->oom = true;
	free(model_bytes.p);

	for (size_t i = 0; i < 3 * b->n_merges; i++)
		buf_u32(&s[4].data, b->merges[i]);
	for (size_t i = 0; i < b->n_added; i++)
		buf_u32(&s[5].data, b->added_ids[i]);
	write_class_runs(&s[6].data);
	write_fold_pairs(&s[7].data);
	for (size_t i = 0; i < b->n_prefix; i++)
		buf_u32(&s[8].data, b->prefix[i]);
	for (size_t i = 0; i < b->n_suffix; i++)
		buf_u32(&s[9].data, b->suffix[i]);
	write_generation(&b->gen, &s[10].data);
}

static int write_table(Builder *b, void **bytes, size_t *n)
{
	Section s[N_SECTIONS];
	memset(s, 0, sizeof s);
	fill_sections(b, s);
	Buf out = {0};
	bool oom_any = false;
	for (int i = 0; i < N_SECTIONS; i++)
		oom_any |= s[i].data.oom;
	uint8_t zero[LFM2_TOK_HEADER] = {0};
	buf_put(&out, zero, LFM2_TOK_HEADER);
	size_t dir = out.n;
	for (int i = 0; i < N_SECTIONS; i++) {
		buf_u32(&out, s[i].tag);
		buf_u64(&out, 0);     /* offset, size: patched below */
	}
	for (int i = 0; i < N_SECTIONS && !out.oom; i++) {
		static const uint8_t pad[4];
		buf_put(&out, pad, (4 - out.n % 4) % 4);
		if (out.oom)
			break;
		size_t off = out.n;
		if (off + s[i].data.n > UINT32_MAX) {
			oom_any = true;
			break;
		}
		put_u32_at(out.p + dir + 12 * (size_t)i + 4, (uint32_t)off);
		put_u32_at(out.p + dir + 12 * (size_t)i + 8, (uint32_t)s[i].data.n);
		buf_put(&out, s[i].data.p, s[i].data.n);
	}
	for (int i = 0; i < N_SECTIONS; i++)
		free(s[i].data.p);
	if (out.oom || oom_any) {
		free(out.p);
		return fail(b, "out of memory (or a table over 4 GiB) while writing the tokenizer table");
	}
	memcpy(out.p, LFM2_TOK_MAGIC, 8);
	put_u32_at(out.p + 8, LFM2_TOK_VERSION);
	put_u32_at(out.p + 12, N_SECTIONS);
	put_u64_at(out.p + 16, out.n);
	put_u64_at(out.p + 24, fnv1a64(out.p + LFM2_TOK_HEADER, out.n - LFM2_TOK_HEADER));
	*bytes = out.p;
	*n = out.n;
	return 0;
}

static void builder_free(Builder *b)
{
	free(b->e);
	strmap_free(&b->vocab);
	strmap_free(&b->added);
	free(b->merges);
	free(b->added_ids);
}

/* Every id the tokenizer can produce must have a row in the model's
 * embedding: max id + 1 <= vocab_size.  Fewer ids than vocab_size is
 * fine (checkpoints pad the embedding to a round size). */
static int check_fits_model(Builder *b)
{
	if (b->vocab_size <= 0 || b->n_tokens <= (uint32_t)b->vocab_size)
		return 0;
	return fail(b, "has token ids up to %u but config.json's vocab_size is %d: ids from %d up have no "
	            "embedding row (a tokenizer of another model?)", b->n_tokens - 1, b->vocab_size, b->vocab_size);
}

/* "dir/of/path/" + name (malloc'd), for messages about side files. */
static char *sibling_path(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0, nl = strlen(name);
	char *p = malloc(dl + nl + 1);
	if (p) {
		memcpy(p, path, dl);
		memcpy(p + dl, name, nl + 1);
	}
	return p;
}

int lfm_tokenizer_build_sources(const LfmTokenizerSources *src, void **bytes, size_t *n, LfmError *err)
{
	*bytes = NULL;
	*n = 0;
	Builder b = {.path = src->path ? src->path : "tokenizer.json", .err = err, .bos = -1, .eos = -1, .pad = -1,
	             .vocab_size = src->vocab_size};
	char *cfg_path = sibling_path(b.path, "tokenizer_config.json");
	char *gen_path = sibling_path(b.path, "generation_config.json");
	b.cfg_path = cfg_path ? cfg_path : "tokenizer_config.json";
	b.gen_path = gen_path ? gen_path : "generation_config.json";
	int rc = -1;
	cJSON *root = fe_parse_json(src->tokenizer_json, src->json_len, b.path, "tokenizer.json", err);
	if (!root)
		goto out;
	if (!cJSON_IsObject(root)) {
		fail(&b, "not a tokenizer.json (the top level is not an object)");
		goto out;
	}
	if (check_top_level(&b, root) || check_pre_tokenizer(&b, root) || read_model(&b, root) ||
	    check_decoder(&b, root) || read_added_tokens(&b, root) || read_post_processor(&b, root) ||
	    read_config(&b, src->config_json, src->config_len, src->chat_template, src->template_len) ||
	    read_generation_config(&b, src->generation_config, src->generation_len))
		goto out;
	if (b.n_tokens == 0) {
		fail(&b, "the vocabulary is empty");
		goto out;
	}
	if (check_fits_model(&b))
		goto out;
	if (write_table(&b, bytes, n))
		goto out;
	rc = 1;
out:
	builder_free(&b);
	cJSON_Delete(root);
	free(cfg_path);
	free(gen_path);
	return rc;
}

int lfm_tokenizer_build_text(const char *tokenizer_json, size_t json_len,
                             const char *config_json, size_t config_len,
                             const char *chat_template, size_t template_len,
                             const char *path, void **bytes, size_t *n, LfmError *err)
{
	LfmTokenizerSources src = {
		.tokenizer_json = tokenizer_json, .json_len = json_len,
		.config_json = config_json, .config_len = config_len,
		.chat_template = chat_template, .template_len = template_len,
		.path = path,
	};
	return lfm_tokenizer_build_sources(&src, bytes, n, err);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Reads dir/name into *text if the file exists (NULL otherwise). */
static int read_optional(const char *path, char **text, size_t *len, LfmError *err)
{
	*text = NULL;
	*len = 0;
	return file_exists(path) ? fe_read_small_file(path, LFM_MAX_JSON_FILE, text, len, err) : 0;
}

/* vocab_size of model_dir/config.json as the compiler resolves it; 0 when
 * the directory has no config.json (a tokenizer-only directory). */
static int model_vocab_size(const char *model_dir, int *vocab, LfmError *err)
{
	*vocab = 0;
	char *path = fe_join_path(model_dir, "config.json");
	if (!path)
		return lfm_error(err, model_dir, "out of memory");
	int rc = 0;
	LfmConfig cfg;
	if (file_exists(path)) {
		rc = lfm_config_load(path, &cfg, err);
		if (!rc)
			*vocab = cfg.vocab_size;
	}
	free(path);
	return rc;
}

int lfm_tokenizer_build(const char *model_dir, void **bytes, size_t *n, LfmError *err)
{
	*bytes = NULL;
	*n = 0;
	static const char *const names[4] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
	                                     "generation_config.json"};
	char *path[4] = {NULL}, *text[4] = {NULL};
	size_t len[4] = {0};
	int rc = -1;
	for (int i = 0; i < 4; i++)
		if (!(path[i] = fe_join_path(model_dir, names[i]))) {
			lfm_error(err, model_dir, "out of memory");
			goto out;
		}
	if (!file_exists(path[0])) {
		rc = 0;
		goto out;
	}
	if (fe_read_small_file(path[0], LFM_MAX_JSON_FILE, &text[0], &len[0], err))
		goto out;
	for (int i = 1; i < 4; i++)
		if (read_optional(path[i], &text[i], &len[i], err))
			goto out;
	int vocab;
	if (model_vocab_size(model_dir, &vocab, err))
		goto out;
	LfmTokenizerSources src = {
		.tokenizer_json = text[0], .json_len = len[0],
		.config_json = text[1], .config_len = len[1],
		.chat_template = text[2], .template_len = len[2],
		.generation_config = text[3], .generation_len = len[3],
		.path = path[0], .vocab_size = vocab,
	};
	rc = lfm_tokenizer_build_sources(&src, bytes, n, err);
out:
	for (int i = 0; i < 4; i++) {
		free(path[i]);
		free(text[i]);
	}
	return rc;
}
