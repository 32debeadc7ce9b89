/*
 * tokenizer.c — LFM2's tokenizer at run time, from the compiled table.
 *
 * The table (format in lfm2_tokenizer.h) holds plain arrays; open() checks
 * every count, offset and id in it before trusting any of it, then builds
 * two hash tables (BPE-reachable token bytes -> id, and merge pair -> rank)
 * and a direct class table for the Basic Multilingual Plane.
 *
 * Encoding follows Hugging Face tokenizers step by step:
 *
 *   1. Added tokens are cut out first, leftmost-longest (tokenizers uses an
 *      Aho-Corasick automaton with that match kind; we test the tokens that
 *      start with the current byte, longest first).  Tokens with
 *      normalized=false are cut in a first pass, normalized=true ones in
 *      the pieces left over (there is no normalizer, so both see raw text).
 *   2. Each remaining piece is split by the Llama-3 regex
 *        (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *         ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *      implemented by hand as what a backtracking engine does with it: at
 *      each position the alternatives are tried in order and the first that
 *      matches wins, each with its greedy/backtracking result worked out
 *      (see match_at).  Every character is matched by some alternative, so
 *      the pieces tile the text.  Character classes come from the table.
 *   3. Each piece is BPE'd over its bytes (the ByteLevel step is implicit:
 *      tokens are stored as raw bytes, which is the same thing through a
 *      bijection).  With ignore_merges a piece that is itself a token is
 *      emitted whole.  Merging uses a binary heap ordered by (rank, leftmost
 *      position) with lazily invalidated entries, as tokenizers' Word does:
 *      O(n log n) per piece.
 *   4. The post-processor's ids (BOS) go around the result.
 *
 * Decoding concatenates token bytes; the bytes between two added tokens are
 * turned into text lossily (each maximal ill-formed UTF-8 subsequence ->
 * U+FFFD, the rule of Rust's from_utf8_lossy and of WHATWG's TextDecoder),
 * as tokenizers' ByteLevel decoder does.
 *
 * Chat rendering writes the two LFM2 ChatML template generations directly
 * (see lfm2_tokenizer.h); tools are re-serialized with a small JSON
 * re-writer so each tool reads like Python's json.dumps output.
 *
 * Plain C11 + libc: this file is embedded into lfm2c and compiled for the
 * target with the generated model.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "lfm2rt.h"

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

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Growable byte string. */
typedef struct Str {
	char *p;
	size_t n, cap;
	bool oom;
} Str;

static void str_put(Str *s, const void *data, size_t n)
{
	if (s->oom)
		return;
	if (s->n + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		while (cap < s->n + n + 1)
			cap *= 2;
		char *p = realloc(s->p, cap);
		if (!p) {
			s->oom = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	if (n)
		memcpy(s->p + s->n, data, n);
	s->n += n;
	s->p[s->n] = '\0';
}

static void str_cat(Str *s, const char *z)
{
	str_put(s, z, strlen(z));
}

/* Growable id list. */
typedef struct Ids {
	int32_t *p;
	size_t n, cap;
	bool oom;
} Ids;

static void ids_push(Ids *v, int32_t id)
{
	if (v->oom)
		return;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		int32_t *p = realloc(v->p, cap * sizeof *p);
		if (!p) {
			v->oom = true;
			return;
		}
		v->p = p;
		v->cap = cap;
	}
	v->p[v->n++] = id;
}

/* --------------------------------------------------------------- UTF-8
 * One step of a decoder that follows the Unicode "maximal subpart" rule:
 * a well-formed character, or the longest prefix of one that is followed
 * by a byte that cannot continue it (at least one byte), which counts as
 * one ill-formed unit. */

enum { U8_OK, U8_BAD, U8_SHORT };

static int utf8_step(const uint8_t *s, size_t n, size_t *len, uint32_t *cp)
{
	uint8_t b = s[0];
	if (b < 0x80) {
		*len = 1;
		*cp = b;
		return U8_OK;
	}
	size_t need;
	uint8_t lo = 0x80, hi = 0xBF;
	uint32_t c;
	if (b >= 0xC2 && b <= 0xDF) {
		need = 1;
		c = b & 0x1F;
	} else if (b >= 0xE0 && b <= 0xEF) {
		need = 2;
		c = b & 0x0F;
		if (b == 0xE0)
			lo = 0xA0;
		if (b == 0xED)
			hi = 0x9F;
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 3;
		c = b & 0x07;
		if (b == 0xF0)
			lo = 0x90;
		if (b == 0xF4)
			hi = 0x8F;
	} else {
		*len = 1;
		return U8_BAD;
	}
	size_t i = 1;
	for (; i <= need; i++) {
		if (i >= n) {
			*len = i;
			return U8_SHORT;
		}
		uint8_t x = s[i];
		if (x < lo || x > hi) {
			*len = i;
			return U8_BAD;
		}
		lo = 0x80;
		hi = 0xBF;
		c = c << 6 | (x & 0x3F);
	}
	*len = i;
	*cp = c;
	return U8_OK;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Appends s[0..n) to out, replacing ill-formed units by U+FFFD unless raw.
 * With final=false an incomplete character at the end is held back: the
 * return value is the number of bytes consumed. */
static size_t utf8_emit(const uint8_t *s, size_t n, bool raw, bool final, Str *out)
{
	size_t i = 0, run = 0;   /* [run, i): valid bytes not yet copied */
	while (i < n) {
		size_t len;
		uint32_t cp;
		int k = utf8_step(s + i, n - i, &len, &cp);
		if (k == U8_OK) {
			i += len;
			continue;
		}
		if (k == U8_SHORT && !final)
			break;
		str_put(out, s + run, i - run);
		if (raw)
			str_put(out, s + i, len);
		else
			str_put(out, REPLACEMENT, 3);
		i += len;
		run = i;
	}
	str_put(out, s + run, i - run);
	return i;
}

/* ------------------------------------------------------------ the object */

typedef struct MergeSlot {
	uint64_t key;        /* left << 32 | right */
	uint32_t rank;       /* UINT32_MAX = empty */
	uint32_t result;
} MergeSlot;

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

static const uint8_t *piece_of(const lfm2_tokenizer *t, uint32_t id, size_t *len)
{
	*len = t->poff[id + 1] - t->poff[id];
	return t->pbytes + t->poff[id];
}

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
	return mix64(fnv1a64(p, n) ^ n);
}

static int32_t vocab_find(const lfm2_tokenizer *t, const uint8_t *p, size_t n)
{
	for (size_t i = bytes_hash(p, n) & t->vmask;; i = (i + 1) & t->vmask) {
		int32_t id = t->vslot[i];
		if (id < 0)
			return -1;
		size_t len;
		const uint8_t *q = piece_of(t, (uint32_t)id, &len);
		if (len == n && memcmp(p, q, n) == 0)
			return id;
	}
}

static const MergeSlot *merge_find(const lfm2_tokenizer *t, uint32_t a, uint32_t b)
{
	uint64_t key = (uint64_t)a << 32 | b;
	for (size_t i = mix64(key) & t->mmask;; i = (i + 1) & t->mmask) {
		const MergeSlot *s = &t->mslot[i];
		if (s->rank == UINT32_MAX)
			return NULL;
		if (s->key == key)
			return s;
	}
}

static unsigned class_of(const lfm2_tokenizer *t, uint32_t cp)
{
	if (cp < 0x10000)
		return t->bmp_class[cp];
	size_t lo = 0, hi = t->n_runs;   /* last run with start <= cp */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (t->run_start[mid] <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return t->run_class[lo];
}

/* Lower-case ASCII letter cp folds to under Unicode case folding, or 0. */
static int fold_ascii(const lfm2_tokenizer *t, uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? (int)(cp + 32) : (int)cp;
	size_t lo = 0, hi = t->n_fold;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->fold[2 * mid] == cp)
			return (int)t->fold[2 * mid + 1];
		if (t->fold[2 * mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* ------------------------------------------------------- table checks */

enum { S_META, S_POFF, S_PBYT, S_TFLG, S_MRGE, S_ADDT, S_UCLS, S_FOLD, S_PREF, S_SUFF, S_GCFG, N_SEC };

typedef struct View {
	const uint8_t *p;
	uint32_t n;
} View;

static int read_directory(const uint8_t *b, size_t n, View *sec, char *err, size_t errlen)
{
	static const char tags[N_SEC][5] = {"META", "POFF", "PBYT", "TFLG", "MRGE", "ADDT",
	                                    "UCLS", "FOLD", "PREF", "SUFF", "GCFG"};
	if (n < LFM2_TOK_HEADER || memcmp(b, LFM2_TOK_MAGIC, 8) != 0) {
		set_err(err, errlen, "tokenizer table: bad magic (not an lfm2 tokenizer table)");
		return -1;
	}
	uint32_t version = rd32(b + 8), ns = rd32(b + 12);
	uint64_t total = rd64(b + 16);
	if (version != LFM2_TOK_VERSION) {
		set_err(err, errlen, "tokenizer table: format version %u, this runtime reads %u", version,
		        LFM2_TOK_VERSION);
		return -1;
	}
	if (total > n || total < LFM2_TOK_HEADER) {
		set_err(err, errlen, "tokenizer table: truncated (%zu bytes, header says %llu)", n,
		        (unsigned long long)total);
		return -1;
	}
	if (ns > 256 || LFM2_TOK_HEADER + 12ull * ns > total) {
		set_err(err, errlen, "tokenizer table: corrupt section directory (%u sections)", ns);
		return -1;
	}
	if (fnv1a64(b + LFM2_TOK_HEADER, (size_t)total - LFM2_TOK_HEADER) != rd64(b + 24)) {
		set_err(err, errlen, "tokenizer table: checksum mismatch (corrupt)");
		return -1;
	}
	bool seen[N_SEC] = {false};
	uint64_t data_start = LFM2_TOK_HEADER + 12ull * ns;
	for (uint32_t i = 0; i < ns; i++) {
		const uint8_t *d = b + LFM2_TOK_HEADER + 12 * (size_t)i;
		uint32_t tag = rd32(d), off = rd32(d + 4), size = rd32(d + 8);
		if (off < data_start || off % 4 || (uint64_t)off + size > total) {
			set_err(err, errlen, "tokenizer table: section %u out of bounds", i);
			return -1;
		}
		for (int k = 0; k < N_SEC; k++) {
			if (tag != LFM2_TOK_TAG(tags[k][0], tags[k][1], tags[k][2], tags[k][3]))
				continue;
			if (seen[k]) {
				set_err(err, errlen, "tokenizer table: section %s appears twice", tags[k]);
				return -1;
			}
			seen[k] = true;
			sec[k].p = b + off;
			sec[k].n = size;
		}
	}
	for (int k = 0; k < N_SEC; k++)
		if (!seen[k]) {
			set_err(err, errlen, "tokenizer table: section %s missing", tags[k]);
			return -1;
		}
	return 0;
}

static bool id_ok(const lfm2_tokenizer *t, uint32_t id)
{
	return id < t->n_tokens && (t->tflags[id] & LFM2_TOK_PRESENT);
}

static int read_meta(lfm2_tokenizer *t, View m, char *err, size_t errlen)
{
	if (m.n < 36) {
		set_err(err, errlen, "tokenizer table: META section too short");
		return -1;
	}
	t->n_tokens = rd32(m.p);
	t->flags = rd32(m.p + 4);
	t->bos = (int32_t)rd32(m.p + 8);
	t->eos = (int32_t)rd32(m.p + 12);
	t->pad = (int32_t)rd32(m.p + 16);
	uint32_t style = rd32(m.p + 20);
	if (t->n_tokens == 0 || t->n_tokens > LFM2_TOK_MAX_TOKENS || style > LFM2_CHAT_LFM25) {
		set_err(err, errlen, "tokenizer table: corrupt META (%u tokens, chat style %u)", t->n_tokens, style);
		return -1;
	}
	t->chat_style = (lfm2_chat_style)style;
	return 0;
}

static int read_pieces(lfm2_tokenizer *t, View poff, View pbyt, View tflg, char *err, size_t errlen)
{
	if (poff.n != 4ull * (t->n_tokens + 1) || tflg.n != t->n_tokens) {
		set_err(err, errlen, "tokenizer table: piece tables do not match %u tokens", t->n_tokens);
		return -1;
	}
	t->poff = malloc(poff.n);
	t->pbytes = malloc(pbyt.n ? pbyt.n : 1);
	t->tflags = malloc(tflg.n);
	if (!t->poff || !t->pbytes || !t->tflags) {
		set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	memcpy(t->pbytes, pbyt.p, pbyt.n);
	memcpy(t->tflags, tflg.p, tflg.n);
	uint32_t prev = 0;
	for (uint32_t i = 0; i <= t->n_tokens; i++) {
		uint32_t o = rd32(poff.p + 4 * (size_t)i);
		if ((i == 0 && o != 0) || o < prev || o > pbyt.n || (i == t->n_tokens && o != pbyt.n)) {
			set_err(err, errlen, "tokenizer table: corrupt piece offsets at id %u", i);
			return -1;
		}
		t->poff[i] = prev = o;
	}
	for (uint32_t i = 0; i < t->n_tokens; i++) {
		unsigned f = t->tflags[i];
		bool present = f & LFM2_TOK_PRESENT, empty = t->poff[i + 1] == t->poff[i];
		if ((f & ~31u) || (!present && f) || (present && empty) ||
		    ((f & (LFM2_TOK_SPECIAL | LFM2_TOK_NORMALIZED)) && !(f & LFM2_TOK_ADDED))) {
			set_err(err, errlen, "tokenizer table: corrupt flags for id %u", i);
			return -1;
		}
	}
	return 0;
}

static int32_t rd_id(View v, size_t i)
{
	return (int32_t)rd32(v.p + 4 * i);
}

static int read_specials(lfm2_tokenizer *t, View pref, View suff, char *err, size_t errlen)
{
	int32_t ids[3] = {t->bos, t->eos, t->pad};
	for (int i = 0; i < 3; i++)
		if (ids[i] != -1 && (ids[i] < 0 || !id_ok(t, (uint32_t)ids[i]))) {
			set_err(err, errlen, "tokenizer table: bos/eos/pad id %d does not exist", ids[i]);
			return -1;
		}
	View v[2] = {pref, suff};
	int32_t **dst[2] = {&t->prefix, &t->suffix};
	size_t *cnt[2] = {&t->n_prefix, &t->n_suffix};
	for (int k = 0; k < 2; k++) {
		if (v[k].n % 4 || v[k].n > 4 * 64) {
			set_err(err, errlen, "tokenizer table: corrupt post-processor ids");
			return -1;
		}
		*cnt[k] = v[k].n / 4;
		*dst[k] = malloc(v[k].n ? v[k].n : 1);
		if (!*dst[k]) {
			set_err(err, errlen, "tokenizer table: out of memory");
			return -1;
		}
		for (size_t i = 0; i < *cnt[k]; i++) {
			int32_t id = rd_id(v[k], i);
			if (id < 0 || !id_ok(t, (uint32_t)id)) {
				set_err(err, errlen, "tokenizer table: post-processor id %d does not exist", id);
				return -1;
			}
			(*dst[k])[i] = id;
		}
	}
	return 0;
}

/* A finite IEEE-754 single from its bits (false for inf/NaN). */
static bool rd_finite_f32(const uint8_t *p, float *out)
{
	uint32_t bits = rd32(p);
	memcpy(out, &bits, sizeof *out);
	return (bits >> 23 & 0xFF) != 0xFF;
}

/* GCFG: every field either absent (bit clear, stored as 0) or in range. */
static int read_generation(lfm2_tokenizer *t, View g, char *err, size_t errlen)
{
	lfm2_generation_defaults *d = &t->gen;
	if (g.n != LFM2_TOK_GCFG_BYTES) {
		set_err(err, errlen, "tokenizer table: GCFG section has %u bytes, expected %u", g.n,
		        LFM2_TOK_GCFG_BYTES);
		return -1;
	}
	uint32_t present = rd32(g.p), do_sample = rd32(g.p + 4);
	d->present = present;
	d->do_sample = (int)do_sample;
	d->top_k = (int32_t)rd32(g.p + 12);
	bool fin = rd_finite_f32(g.p + 8, &d->temperature) & rd_finite_f32(g.p + 16, &d->top_p) &
	           rd_finite_f32(g.p + 20, &d->min_p) & rd_finite_f32(g.p + 24, &d->repetition_penalty);
	bool ok = fin && !(present & ~LFM2_GEN_ALL) && do_sample <= 1;
	static const unsigned bit[6] = {LFM2_GEN_DO_SAMPLE, LFM2_GEN_TEMPERATURE, LFM2_GEN_TOP_K,
	                                LFM2_GEN_TOP_P, LFM2_GEN_MIN_P, LFM2_GEN_REPETITION_PENALTY};
	for (int i = 0; i < 6 && ok; i++)   /* an absent field is stored as 0 bits */
		ok = (present & bit[i]) || rd32(g.p + 4 + 4 * (size_t)i) == 0;
	if (ok && (present & LFM2_GEN_TEMPERATURE))
		ok = d->temperature >= 0;
	if (ok && (present & LFM2_GEN_TOP_K))
		ok = d->top_k >= 0;
	if (ok && (present & LFM2_GEN_TOP_P))
		ok = d->top_p > 0 && d->top_p <= 1;
	if (ok && (present & LFM2_GEN_MIN_P))
		ok = d->min_p >= 0 && d->min_p <= 1;
	if (ok && (present & LFM2_GEN_REPETITION_PENALTY))   /* the sampler's range (lfm2rt.h) */
		ok = d->repetition_penalty >= LFM2_REPEAT_PENALTY_MIN && d->repetition_penalty <= LFM2_REPEAT_PENALTY_MAX;
	if (!ok) {
		set_err(err, errlen, "tokenizer table: corrupt GCFG (generation defaults) section");
		return -1;
	}
	return 0;
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 16;
	while (c < n)
		c *= 2;
	return c;
}

static int build_vocab_index(lfm2_tokenizer *t, char *err, size_t errlen)
{
	size_t n = 0;
	for (uint32_t i = 0; i < t->n_tokens; i++)
		n += (t->tflags[i] & LFM2_TOK_BPE) != 0;
	size_t cap = pow2_at_least(2 * n + 1);
	t->vslot = malloc(cap * sizeof *t->vslot);
	if (!t->vslot) {
		set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	t->vmask = cap - 1;
	memset(t->vslot, 0xFF, cap * sizeof *t->vslot);
	for (int b = 0; b < 256; b++)
		t->byte_id[b] = -1;
	for (uint32_t id = 0; id < t->n_tokens; id++) {
		if (!(t->tflags[id] & LFM2_TOK_BPE))
			continue;
		size_t len;
		const uint8_t *p = piece_of(t, id, &len);
		if (vocab_find(t, p, len) >= 0) {
			set_err(err, errlen, "tokenizer table: two tokens with the same bytes (id %u)", id);
			return -1;
		}
		size_t i = bytes_hash(p, len) & t->vmask;
		while (t->vslot[i] >= 0)
			i = (i + 1) & t->vmask;
		t->vslot[i] = (int32_t)id;
		if (len == 1)
			t->byte_id[p[0]] = (int32_t)id;
	}
	return 0;
}

static int build_merge_index(lfm2_tokenizer *t, View m, char *err, size_t errlen)
{
	if (m.n % 12) {
		set_err(err, errlen, "tokenizer table: corrupt merges section");
		return -1;
	}
	size_t n = m.n / 12;
	size_t cap = pow2_at_least(2 * n + 1);
	t->mslot = malloc(cap * sizeof *t->mslot);
	if (!t->mslot) {
		set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	t->mmask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		t->mslot[i].rank = UINT32_MAX;
	for (size_t r = 0; r < n; r++) {
		uint32_t a = rd32(m.p + 12 * r), b = rd32(m.p + 12 * r + 4), c = rd32(m.p + 12 * r + 8);
		if (!id_ok(t, a) || !id_ok(t, b) || !id_ok(t, c)) {
			set_err(err, errlen, "tokenizer table: merge %zu names a missing id", r);
			return -1;
		}
		if (merge_find(t, a, b)) {
			set_err(err, errlen, "tokenizer table: merge %zu repeats a pair", r);
			return -1;
		}
		uint64_t key = (uint64_t)a << 32 | b;
		size_t i = mix64(key) & t->mmask;
		while (t->mslot[i].rank != UINT32_MAX)
			i = (i + 1) & t->mmask;
		t->mslot[i] = (MergeSlot){key, (uint32_t)r, c};
	}
	return 0;
}

static int added_cmp(const void *x, const void *y)
{
	const Added *a = x, *b = y;
	if (a->text[0] != b->text[0])
		return a->text[0] < b->text[0] ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int build_added(lfm2_tokenizer *t, View v, char *err, size_t errlen)
{
	size_t flagged = 0;
	for (uint32_t i = 0; i < t->n_tokens; i++)
		flagged += (t->tflags[i] & LFM2_TOK_ADDED) != 0;
	if (v.n % 4 || v.n / 4 != flagged) {
		set_err(err, errlen, "tokenizer table: added-token list does not match the flags");
		return -1;
	}
	t->n_added = flagged;
	t->added = malloc((flagged ? flagged : 1) * sizeof *t->added);
	uint8_t *seen = calloc(t->n_tokens, 1);
	if (!t->added || !seen) {
		free(seen);
		set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	for (size_t i = 0; i < flagged; i++) {
		uint32_t id = rd32(v.p + 4 * i);
		if (id >= t->n_tokens || !(t->tflags[id] & LFM2_TOK_ADDED) || seen[id]) {
			free(seen);
			set_err(err, errlen, "tokenizer table: corrupt added-token list at %zu", i);
			return -1;
		}
		seen[id] = 1;
		size_t len;
		t->added[i].text = piece_of(t, id, &len);
		t->added[i].len = (uint32_t)len;
		t->added[i].id = id;
		t->added[i].flags = t->tflags[id];
	}
	free(seen);
	qsort(t->added, t->n_added, sizeof *t->added, added_cmp);
	size_t k = 0;
	for (int b = 0; b <= 256; b++) {
		while (k < t->n_added && t->added[k].text[0] < b)
			k++;
		t->added_start[b] = (uint32_t)k;
	}
	return 0;
}

static int read_unicode(lfm2_tokenizer *t, View runs, View fold, char *err, size_t errlen)
{
	if (runs.n % 4 || runs.n == 0 || fold.n % 8) {
		set_err(err, errlen, "tokenizer table: corrupt Unicode tables");
		return -1;
	}
	t->n_runs = runs.n / 4;
	t->n_fold = fold.n / 8;
	t->run_start = malloc(t->n_runs * sizeof *t->run_start);
	t->run_class = malloc(t->n_runs);
	t->fold = malloc((t->n_fold ? t->n_fold : 1) * 2 * sizeof *t->fold);
	if (!t->run_start || !t->run_class || !t->fold) {
		set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	for (size_t i = 0; i < t->n_runs; i++) {
		uint32_t v = rd32(runs.p + 4 * i), start = v & 0x1FFFFF, cls = v >> 24;
		if ((v & 0xFCE00000u) || start > 0x10FFFF || (i == 0 && start != 0) ||
		    (i > 0 && start <= t->run_start[i - 1])) {
			set_err(err, errlen, "tokenizer table: corrupt class run %zu", i);
			return -1;
		}
		t->run_start[i] = start;
		t->run_class[i] = (uint8_t)cls;
	}
	size_t r = 0;
	for (uint32_t cp = 0; cp < 0x10000; cp++) {
		while (r + 1 < t->n_runs && t->run_start[r + 1] <= cp)
			r++;
		t->bmp_class[cp] = t->run_class[r];
	}
	for (size_t i = 0; i < t->n_fold; i++) {
		uint32_t cp = rd32(fold.p + 8 * i), to = rd32(fold.p + 8 * i + 4);
		if (cp < 0x80 || cp > 0x10FFFF || to >= 0x80 || (i > 0 && cp <= t->fold[2 * i - 2])) {
			set_err(err, errlen, "tokenizer table: corrupt case-fold pair %zu", i);
			return -1;
		}
		t->fold[2 * i] = cp;
		t->fold[2 * i + 1] = to;
	}
	return 0;
}

int lfm2_tokenizer_open(const void *bytes, size_t n, lfm2_tokenizer **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!bytes) {
		set_err(err, errlen, "tokenizer table: no data");
		return -1;
	}
	View sec[N_SEC];
	memset(sec, 0, sizeof sec);
	if (read_directory(bytes, n, sec, err, errlen))
		return -1;
	lfm2_tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	if (read_meta(t, sec[S_META], err, errlen) ||
	    read_pieces(t, sec[S_POFF], sec[S_PBYT], sec[S_TFLG], err, errlen) ||
	    read_specials(t, sec[S_PREF], sec[S_SUFF], err, errlen) || build_vocab_index(t, err, errlen) ||
	    build_merge_index(t, sec[S_MRGE], err, errlen) || build_added(t, sec[S_ADDT], err, errlen) ||
	    read_unicode(t, sec[S_UCLS], sec[S_FOLD], err, errlen) ||
	    read_generation(t, sec[S_GCFG], err, errlen)) {
		lfm2_tokenizer_close(t);
		return -1;
	}
	*out = t;
	return 0;
}

void lfm2_tokenizer_close(lfm2_tokenizer *t)
{
	if (!t)
		return;
	free(t->poff);
	free(t->pbytes);
	free(t->tflags);
	free(t->vslot);
	free(t->mslot);
	free(t->added);
	free(t->run_start);
	free(t->run_class);
	free(t->fold);
	free(t->prefix);
	free(t->suffix);
	free(t);
}

int32_t lfm2_tokenizer_n_tokens(const lfm2_tokenizer *t) { return (int32_t)t->n_tokens; }
int32_t lfm2_tokenizer_bos(const lfm2_tokenizer *t) { return t->bos; }
int32_t lfm2_tokenizer_eos(const lfm2_tokenizer *t) { return t->eos; }
int32_t lfm2_tokenizer_pad(const lfm2_tokenizer *t) { return t->pad; }
lfm2_chat_style lfm2_tokenizer_chat_style(const lfm2_tokenizer *t) { return t->chat_style; }
lfm2_generation_defaults lfm2_tokenizer_generation_defaults(const lfm2_tokenizer *t) { return t->gen; }

const char *lfm2_tokenizer_piece(const lfm2_tokenizer *t, int32_t id, size_t *len)
{
	*len = 0;
	if (id < 0 || !id_ok(t, (uint32_t)id))
		return NULL;
	return (const char *)piece_of(t, (uint32_t)id, len);
}

unsigned lfm2_tokenizer_token_flags(const lfm2_tokenizer *t, int32_t id)
{
	return (id >= 0 && (uint32_t)id < t->n_tokens) ? t->tflags[id] : 0;
}

int32_t lfm2_tokenizer_find(const lfm2_tokenizer *t, const char *text, size_t len)
{
	for (size_t i = 0; i < t->n_added; i++)
		if (t->added[i].len == len && memcmp(t->added[i].text, text, len) == 0)
			return (int32_t)t->added[i].id;
	return len ? vocab_find(t, (const uint8_t *)text, len) : -1;
}

/* ------------------------------------------------------------- encode */

/* A candidate merge of symbols left and right (their versions when queued:
 * the entry is stale once either symbol has changed). */
typedef struct HeapItem {
	uint32_t rank, left, right, result, vl, vr;
} HeapItem;

/* Per-call working memory (the tokenizer itself stays const). */
typedef struct Work {
	uint32_t *cp;        /* characters of the current piece */
	uint8_t *cls;
	size_t *off;         /* byte offset of each character, + end */
	size_t ccap;
	int32_t *sid;        /* BPE symbols */
	int32_t *prev, *next;
	uint32_t *ver;
	size_t scap;
	HeapItem *heap;      /* binary min-heap by (rank, left) */
	size_t hn, hcap;
	Ids out;
	bool oom;
} Work;

/* Room for n characters (+1 for the end offset). */
static bool work_chars(Work *w, size_t n)
{
	if (n + 1 <= w->ccap)
		return true;
	size_t c = pow2_at_least(n + 1);
	uint32_t *cp = realloc(w->cp, c * sizeof *cp);
	if (cp)
		w->cp = cp;
	uint8_t *cls = realloc(w->cls, c);
	if (cls)
		w->cls = cls;
	size_t *off = realloc(w->off, c * sizeof *off);
	if (off)
		w->off = off;
	if (!cp || !cls || !off)
		return false;
	w->ccap = c;
	return true;
}

static bool work_symbols(Work *w, size_t n)
{
	if (n <= w->scap)
		return true;
	size_t c = pow2_at_least(n);
	int32_t *a = realloc(w->sid, c * sizeof *a);
	if (a)
		w->sid = a;
	int32_t *b = realloc(w->prev, c * sizeof *b);
	if (b)
		w->prev = b;
	int32_t *d = realloc(w->next, c * sizeof *d);
	if (d)
		w->next = d;
	uint32_t *v = realloc(w->ver, c * sizeof *v);
	if (v)
		w->ver = v;
	if (!a || !b || !d || !v)
		return false;
	w->scap = c;
	return true;
}

static bool heap_less(const HeapItem *a, const HeapItem *b)
{
	return a->rank != b->rank ? a->rank < b->rank : a->left < b->left;
}

static void heap_push(Work *w, HeapItem it)
{
	if (w->hn == w->hcap) {
		size_t c = w->hcap ? 2 * w->hcap : 64;
		HeapItem *h = realloc(w->heap, c * sizeof *h);
		if (!h) {
			w->oom = true;
			return;
		}
		w->heap = h;
		w->hcap = c;
	}
	size_t i = w->hn++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!heap_less(&it, &w->heap[p]))
			break;
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = it;
}

static HeapItem heap_pop(Work *w)
{
	HeapItem top = w->heap[0], last = w->heap[--w->hn];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->hn)
			break;
		if (c + 1 < w->hn && heap_less(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!heap_less(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->hn)
		w->heap[i] = last;
	return top;
}

static void push_pair(const lfm2_tokenizer *t, Work *w, int32_t l, int32_t r)
{
	if (l < 0 || r < 0)
		return;
	const MergeSlot *m = merge_find(t, (uint32_t)w->sid[l], (uint32_t)w->sid[r]);
	if (m)
		heap_push(w, (HeapItem){m->rank, (uint32_t)l, (uint32_t)r, m->result, w->ver[l], w->ver[r]});
}

/* BPE over the bytes of one pre-token. */
static void bpe_word(const lfm2_tokenizer *t, Work *w, const uint8_t *p, size_t n)
{
	if (t->flags & LFM2_TOKF_IGNORE_MERGES) {
		int32_t id = vocab_find(t, p, n);
		if (id >= 0) {
			ids_push(&w->out, id);
			return;
		}
	}
	if (n > INT32_MAX / 2 || !work_symbols(w, n)) {   /* (a 1 GiB word: treat as no memory) */
		w->oom = true;
		return;
	}
	int32_t m = 0;   /* bytes without a token are dropped, as tokenizers does without unk */
	for (size_t i = 0; i < n; i++) {
		int32_t id = t->byte_id[p[i]];
		if (id < 0)
			continue;
		w->sid[m] = id;
		w->prev[m] = m - 1;
		w->next[m] = m + 1;
		w->ver[m] = 0;
		m++;
	}
	if (m == 0)
		return;
	w->next[m - 1] = -1;
	w->hn = 0;
	for (int32_t i = 0; i + 1 < m; i++)
		push_pair(t, w, i, i + 1);
	while (w->hn && !w->oom) {
		HeapItem it = heap_pop(w);
		int32_t l = (int32_t)it.left, r = (int32_t)it.right;
		if (w->ver[l] != it.vl || w->ver[r] != it.vr || w->next[l] != r || w->sid[l] < 0 || w->sid[r] < 0)
			continue;
		w->sid[l] = (int32_t)it.result;
		w->ver[l]++;
		w->sid[r] = -1;          /* dead */
		w->ver[r]++;
		w->next[l] = w->next[r];
		if (w->next[l] >= 0)
			w->prev[w->next[l]] = l;
		push_pair(t, w, w->prev[l], l);
		push_pair(t, w, l, w->next[l]);
	}
	for (int32_t i = 0; i >= 0; i = w->next[i])
		ids_push(&w->out, w->sid[i]);
}

/* ----------------------------------------------------- the split regex */

static bool is_nl(uint32_t c)
{
	return c == '\r' || c == '\n';
}

/* Length (in characters) of the match of the Llama-3 pattern at i, which
 * is always >= 1.  c/k: code points and classes of characters [0, n). */
static size_t match_at(const lfm2_tokenizer *t, const uint32_t *c, const uint8_t *k, size_t i, size_t n)
{
	/* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
	if (c[i] == '\'' && i + 1 < n) {
		int a = fold_ascii(t, c[i + 1]);
		if (a == 's' || a == 't' || a == 'm' || a == 'd')
			return 2;
		if (i + 2 < n) {
			int b = fold_ascii(t, c[i + 2]);
			if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
				return 3;
		}
	}
	/* [^\r\n\p{L}\p{N}]?\p{L}+ */
	{
		size_t j = i;
		if (k[j] != LFM2_UC_LETTER && k[j] != LFM2_UC_NUMBER && !is_nl(c[j]) && j + 1 < n &&
		    k[j + 1] == LFM2_UC_LETTER)
			j++;
		if (k[j] == LFM2_UC_LETTER) {
			while (j < n && k[j] == LFM2_UC_LETTER)
				j++;
			return j - i;
		}
	}
	/* \p{N}{1,3} */
	if (k[i] == LFM2_UC_NUMBER) {
		size_t j = i;
		while (j < n && j - i < 3 && k[j] == LFM2_UC_NUMBER)
			j++;
		return j - i;
	}
	/*  ?[^\s\p{L}\p{N}]+[\r\n]* */
	{
		size_t j = i;
		if (c[j] == ' ' && j + 1 < n && k[j + 1] == LFM2_UC_OTHER)
			j++;
		if (k[j] == LFM2_UC_OTHER) {
			while (j < n && k[j] == LFM2_UC_OTHER)
				j++;
			while (j < n && is_nl(c[j]))
				j++;
			return j - i;
		}
	}
	/* the rest start with white space: c[i] is \s here */
	size_t end = i;
	while (end < n && k[end] == LFM2_UC_SPACE)
		end++;
	/* \s*[\r\n]+ : up to the last line break of the run */
	for (size_t j = end; j > i; j--)
		if (is_nl(c[j - 1]))
			return j - i;
	/* \s+(?!\S) : the whole run at the end of the text, else all but its last */
	if (end == n)
		return end - i;
	if (end - i >= 2)
		return end - i - 1;
	/* \s+ */
	return end - i;
}

/* Decodes s into w's character arrays; returns the number of characters. */
static size_t load_chars(const lfm2_tokenizer *t, Work *w, const uint8_t *s, size_t n)
{
	size_t nc = 0;
	for (size_t i = 0; i < n;) {
		size_t len;
		uint32_t cp;
		if (utf8_step(s + i, n - i, &len, &cp) != U8_OK)
			cp = 0xFFFD;      /* an ill-formed unit splits like U+FFFD (class OTHER) */
		w->cp[nc] = cp;
		w->cls[nc] = (uint8_t)class_of(t, cp);
		w->off[nc] = i;
		nc++;
		i += len;
	}
	w->off[nc] = n;
	return nc;
}

/* Splits a piece of plain text into pre-tokens and BPEs each. */
static void encode_plain(const lfm2_tokenizer *t, Work *w, const uint8_t *s, size_t n)
{
	if (n == 0)
		return;
	if (!work_chars(w, n)) {
		w->oom = true;
		return;
	}
	size_t nc = load_chars(t, w, s, n);
	for (size_t i = 0; i < nc && !w->oom;) {
		size_t len = match_at(t, w->cp, w->cls, i, nc);
		bpe_word(t, w, s + w->off[i], w->off[i + len] - w->off[i]);
		i += len;
	}
}

static void work_free(Work *w)
{
	free(w->cp);
	free(w->cls);
	free(w->off);
	free(w->sid);
	free(w->prev);
	free(w->next);
	free(w->ver);
	free(w->heap);
}

unsigned lfm2_tokenizer_char_class(const lfm2_tokenizer *t, uint32_t cp)
{
	return cp > 0x10FFFF ? LFM2_UC_OTHER : class_of(t, cp);
}

long lfm2_tokenizer_pretokenize(const lfm2_tokenizer *t, const char *text, size_t len, size_t *ends,
                                size_t cap)
{
	Work w;
	memset(&w, 0, sizeof w);
	if (!work_chars(&w, len))
		return -1;
	size_t nc = load_chars(t, &w, (const uint8_t *)text, len);
	long count = 0;
	for (size_t i = 0; i < nc;) {
		i += match_at(t, w.cp, w.cls, i, nc);
		if ((size_t)count < cap)
			ends[count] = w.off[i];
		count++;
	}
	work_free(&w);
	return count;
}

/* Leftmost-longest match of an added token whose flags pass `want` at or
 * after position `from`: returns its index in t->added and its start, or
 * -1. */
static long find_added(const lfm2_tokenizer *t, const uint8_t *s, size_t n, size_t from, bool normalized,
                       bool skip_special, size_t *start)
{
	for (size_t i = from; i < n; i++) {
		uint8_t b = s[i];
		for (uint32_t k = t->added_start[b]; k < t->added_start[b + 1]; k++) {
			const Added *a = &t->added[k];
			if (((a->flags & LFM2_TOK_NORMALIZED) != 0) != normalized)
				continue;
			if (skip_special && (a->flags & LFM2_TOK_SPECIAL))
				continue;
			if (a->len <= n - i && memcmp(s + i, a->text, a->len) == 0) {
				*start = i;
				return (long)k;
			}
		}
	}
	return -1;
}

/* Cuts added tokens of one kind out of s, handing the rest on. */
static void encode_pass(const lfm2_tokenizer *t, Work *w, const uint8_t *s, size_t n, bool normalized,
                        bool skip_special)
{
	size_t pos = 0;
	while (pos < n && !w->oom) {
		size_t start;
		long k = t->n_added ? find_added(t, s, n, pos, normalized, skip_special, &start) : -1;
		size_t end = k < 0 ? n : start;
		if (normalized)
			encode_plain(t, w, s + pos, end - pos);
		else
			encode_pass(t, w, s + pos, end - pos, true, skip_special);
		if (k < 0)
			break;
		ids_push(&w->out, (int32_t)t->added[k].id);
		pos = start + t->added[k].len;
	}
}

int lfm2_tokenizer_encode(const lfm2_tokenizer *t, const char *text, size_t len, unsigned flags,
                          int32_t **ids, size_t *n_ids)
{
	*ids = NULL;
	*n_ids = 0;
	Work w;
	memset(&w, 0, sizeof w);
	if (flags & LFM2_ENCODE_ADD_SPECIAL)
		for (size_t i = 0; i < t->n_prefix; i++)
			ids_push(&w.out, t->prefix[i]);
	encode_pass(t, &w, (const uint8_t *)text, len, false, (flags & LFM2_ENCODE_SPLIT_SPECIAL) != 0);
	if (flags & LFM2_ENCODE_ADD_SPECIAL)
		for (size_t i = 0; i < t->n_suffix; i++)
			ids_push(&w.out, t->suffix[i]);
	if (!w.out.p)
		ids_push(&w.out, 0), w.out.n = 0;   /* non-NULL even when empty */
	work_free(&w);
	if (w.oom || w.out.oom) {
		free(w.out.p);
		return -1;
	}
	*ids = w.out.p;
	*n_ids = w.out.n;
	return 0;
}

/* ------------------------------------------------------------- decode */

int lfm2_tokenizer_decode(const lfm2_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                          char **text, size_t *len, char *err, size_t errlen)
{
	*text = NULL;
	*len = 0;
	lfm2_decode_stream s;
	lfm2_decode_stream_init(&s, t, flags);
	Str out = {0};
	str_put(&out, "", 0);
	for (size_t i = 0; i < n; i++) {
		const char *p;
		size_t k;
		if (lfm2_decode_stream_push(&s, ids[i], &p, &k, err, errlen)) {
			free(out.p);
			lfm2_decode_stream_free(&s);
			return -1;
		}
		str_put(&out, p, k);
	}
	const char *p;
	size_t k;
	int rc = lfm2_decode_stream_finish(&s, &p, &k, err, errlen);
	if (rc == 0)
		str_put(&out, p, k);
	lfm2_decode_stream_free(&s);
	if (rc == 0 && out.oom) {
		set_err(err, errlen, "decode: out of memory");
		rc = -1;
	}
	if (rc) {
		free(out.p);
		return -1;
	}
	*text = out.p;
	*len = out.n;
	return 0;
}

void lfm2_decode_stream_init(lfm2_decode_stream *s, const lfm2_tokenizer *t, unsigned flags)
{
	memset(s, 0, sizeof *s);
	s->tok = t;
	s->flags = flags;
}

void lfm2_decode_stream_free(lfm2_decode_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}

/* Converts pending + data to text in out; unless final, an incomplete
 * character at the end (at most 3 bytes) stays pending. */
static int stream_emit(lfm2_decode_stream *s, const uint8_t *data, size_t n, bool final, Str *out)
{
	uint8_t small[256];
	size_t total = s->n_pending + n;
	uint8_t *buf = total <= sizeof small ? small : malloc(total);
	if (!buf)
		return -1;
	memcpy(buf, s->pending, s->n_pending);
	if (n)
		memcpy(buf + s->n_pending, data, n);
	size_t used = utf8_emit(buf, total, (s->flags & LFM2_DECODE_RAW) != 0, final, out);
	s->n_pending = total - used;          /* <= 3 by construction */
	memcpy(s->pending, buf + used, s->n_pending);
	if (buf != small)
		free(buf);
	return 0;
}

static int stream_out(lfm2_decode_stream *s, Str *out, const char **text, size_t *len, char *err,
                      size_t errlen)
{
	if (out->oom) {
		free(out->p);
		set_err(err, errlen, "decode: out of memory");
		return -1;
	}
	free(s->buf);
	s->buf = out->p;
	s->cap = out->cap;
	*text = out->p ? out->p : "";
	*len = out->n;
	return 0;
}

int lfm2_decode_stream_push(lfm2_decode_stream *s, int32_t id, const char **text, size_t *len, char *err,
                            size_t errlen)
{
	*text = "";
	*len = 0;
	const lfm2_tokenizer *t = s->tok;
	if (id < 0 || !id_ok(t, (uint32_t)id)) {
		set_err(err, errlen, "decode: token id %d does not exist (vocabulary has %u ids)", id, t->n_tokens);
		return -1;
	}
	unsigned f = t->tflags[id];
	if ((f & LFM2_TOK_SPECIAL) && (s->flags & LFM2_DECODE_SKIP_SPECIAL))
		return 0;
	size_t n;
	const uint8_t *p = piece_of(t, (uint32_t)id, &n);
	Str out = {0};
	str_put(&out, "", 0);
	bool added = f & LFM2_TOK_ADDED;
	if (stream_emit(s, added ? NULL : p, added ? 0 : n, added, &out))
		out.oom = true;
	if (added)
		str_put(&out, p, n);
	return stream_out(s, &out, text, len, err, errlen);
}

int lfm2_decode_stream_finish(lfm2_decode_stream *s, const char **text, size_t *len, char *err, size_t errlen)
{
	Str out = {0};
	str_put(&out, "", 0);
	if (stream_emit(s, NULL, 0, true, &out))
		out.oom = true;
	return stream_out(s, &out, text, len, err, errlen);
}

/* --------------------------------------------------------------- chat */

/* A JSON re-writer for the tools list: validates a value and writes it the
 * way the template's `tojson` filter prints it (Python json.dumps with
 * ensure_ascii=False: ", " and ": " separators, strings re-escaped with
 * \" \\ \b \f \n \r \t and \u00XX for other control characters, non-ASCII
 * as is).  Numbers are copied as written. */
typedef struct Json {
	const char *p, *end;
	const char *err;
} Json;

static void json_ws(Json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int json_hex4(Json *j, uint32_t *v)
{
	if (j->end - j->p < 4)
		return -1;
	uint32_t x = 0;
	for (int i = 0; i < 4; i++) {
		char c = j->p[i];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	j->p += 4;
	*v = x;
	return 0;
}

static void put_utf8(Str *o, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xC0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xE0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3F));
		b[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3F));
		b[2] = (char)(0x80 | (c >> 6 & 0x3F));
		b[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	str_put(o, b, n);
}

/* Parses a JSON string (at '"') and appends its decoded text to o. */
static int json_string_text(Json *j, Str *o)
{
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20) {
			j->err = "control character inside a string";
			return -1;
		}
		if (c != '\\') {
			str_put(o, j->p++, 1);
			continue;
		}
		if (++j->p >= j->end)
			break;
		char e = *j->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char map[] = "\"\\/\b\f\n\r\t";
			str_put(o, &map[simple - "\"\\/bfnrt"], 1);
			continue;
		}
		uint32_t u, lo;
		if (e != 'u' || json_hex4(j, &u)) {
			j->err = "bad escape in a string";
			return -1;
		}
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
				j->err = "lone surrogate escape in a string";
				return -1;
			}
			j->p += 2;
			if (json_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
				j->err = "lone surrogate escape in a string";
				return -1;
			}
			u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
		} else if (u >= 0xDC00 && u <= 0xDFFF) {
			j->err = "lone surrogate escape in a string";
			return -1;
		}
		put_utf8(o, u);
	}
	j->err = "unterminated string";
	return -1;
}

static void json_quote(Str *o, const char *s, size_t n)
{
	str_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default: break;
		}
		if (e) {
			str_cat(o, e);
		} else if (c < 0x20) {
			char u[8];
			snprintf(u, sizeof u, "\\u%04x", c);
			str_cat(o, u);
		} else {
			str_put(o, &s[i], 1);
		}
	}
	str_put(o, "\"", 1);
}

static int json_value(Json *j, Str *o, int depth);

static int json_string_value(Json *j, Str *o)
{
	Str text = {0};
	int rc = json_string_text(j, &text);
	if (rc == 0)
		json_quote(o, text.p ? text.p : "", text.n);
	if (text.oom)
		o->oom = true;
	free(text.p);
	return rc;
}

static int json_number(Json *j, Str *o)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		goto bad;
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			goto bad;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			goto bad;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	str_put(o, s, (size_t)(j->p - s));
	return 0;
bad:
	j->err = "malformed number";
	return -1;
}

static int json_container(Json *j, Str *o, int depth, bool object)
{
	char close = object ? '}' : ']';
	str_put(o, object ? "{" : "[", 1);
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		str_put(o, &close, 1);
		return 0;
	}
	for (bool first = true;; first = false) {
		if (!first)
			str_cat(o, ", ");
		json_ws(j);
		if (object) {
			if (j->p >= j->end || *j->p != '"') {
				j->err = "expected a key string";
				return -1;
			}
			if (json_string_value(j, o))
				return -1;
			json_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				j->err = "expected ':'";
				return -1;
			}
			j->p++;
			str_cat(o, ": ");
		}
		if (json_value(j, o, depth + 1))
			return -1;
		json_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			str_put(o, &close, 1);
			return 0;
		}
		j->err = object ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

static int json_value(Json *j, Str *o, int depth)
{
	if (depth > 64) {
		j->err = "nested too deeply";
		return -1;
	}
	json_ws(j);
	if (j->p >= j->end) {
		j->err = "unexpected end";
		return -1;
	}
	char c = *j->p;
	if (c == '{' || c == '[')
		return json_container(j, o, depth, c == '{');
	if (c == '"')
		return json_string_value(j, o);
	if (c == '-' || (c >= '0' && c <= '9'))
		return json_number(j, o);
	static const char *lits[] = {"true", "false", "null"};
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i], n) == 0) {
			str_put(o, j->p, n);
			j->p += n;
			return 0;
		}
	}
	j->err = "unexpected character";
	return -1;
}

/* Appends the template's rendering of the tools list ("t1, t2") to o;
 * *any = false when tools_json is NULL, null or [].  */
static int render_tools(const char *tools_json, Str *o, bool *any, char *err, size_t errlen)
{
	*any = false;
	if (!tools_json)
		return 0;
	Json j = {tools_json, tools_json + strlen(tools_json), NULL};
	json_ws(&j);
	if ((size_t)(j.end - j.p) >= 4 && memcmp(j.p, "null", 4) == 0) {
		j.p += 4;
		json_ws(&j);
		if (j.p == j.end)
			return 0;
		j.err = "trailing data";
		goto bad;
	}
	if (j.p >= j.end || *j.p != '[') {
		j.err = "tools must be a JSON array";
		goto bad;
	}
	j.p++;
	json_ws(&j);
	if (j.p < j.end && *j.p == ']') {
		j.p++;
	} else {
		for (bool first = true;; first = false) {
			if (!first)
				str_cat(o, ", ");
			json_ws(&j);
			int rc = (j.p < j.end && *j.p == '"') ? json_string_text(&j, o) : json_value(&j, o, 1);
			if (rc)
				goto bad;
			*any = true;
			json_ws(&j);
			if (j.p < j.end && *j.p == ',') {
				j.p++;
				continue;
			}
			if (j.p < j.end && *j.p == ']') {
				j.p++;
				break;
			}
			j.err = "expected ',' or ']'";
			goto bad;
		}
	}
	json_ws(&j);
	if (j.p != j.end) {
		j.err = "trailing data";
		goto bad;
	}
	return 0;
bad:
	set_err(err, errlen, "chat: tools JSON: %s at byte %zu", j.err, (size_t)(j.p - tools_json));
	return -1;
}

static void render_turn(Str *o, const char *role, const char *content, bool tool_wrap)
{
	str_cat(o, "<|im_start|>");
	str_cat(o, role);
	str_cat(o, "\n");
	if (tool_wrap)
		str_cat(o, "<|tool_response_start|>");
	str_cat(o, content);
	if (tool_wrap)
		str_cat(o, "<|tool_response_end|>");
	str_cat(o, "<|im_end|>\n");
}

int lfm2_chat_render(lfm2_chat_style style, const char *bos_text, const lfm2_chat_message *msgs,
                     size_t n_msgs, const char *tools_json, int add_generation_prompt, char **out,
                     size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	*len = 0;
	if (style != LFM2_CHAT_CHATML && style != LFM2_CHAT_LFM25) {
		set_err(err, errlen, "chat: the model has no chat template lfm2c knows");
		return -1;
	}
	for (size_t i = 0; i < n_msgs; i++)
		if (!msgs[i].role || !msgs[i].content) {
			set_err(err, errlen, "chat: message %zu has no role or content", i);
			return -1;
		}
	Str o = {0};
	str_put(&o, "", 0);
	if (bos_text)
		str_cat(&o, bos_text);
	size_t first = 0;
	if (style == LFM2_CHAT_LFM25) {
		Str sys = {0};
		str_put(&sys, "", 0);
		if (n_msgs > 0 && strcmp(msgs[0].role, "system") == 0) {
			str_cat(&sys, msgs[0].content);
			first = 1;
		}
		Str tools = {0};
		bool any;
		if (render_tools(tools_json, &tools, &any, err, errlen)) {
			free(sys.p);
			free(tools.p);
			free(o.p);
			return -1;
		}
		if (any) {
			if (sys.n)
				str_cat(&sys, "\n");
			str_cat(&sys, "List of tools: <|tool_list_start|>[");
			str_put(&sys, tools.p, tools.n);
			str_cat(&sys, "]<|tool_list_end|>");
		}
		if (sys.n)
			render_turn(&o, "system", sys.p, false);
		if (sys.oom || tools.oom)
			o.oom = true;
		free(sys.p);
		free(tools.p);
	}
	for (size_t i = first; i < n_msgs; i++)
		render_turn(&o, msgs[i].role, msgs[i].content,
		            style == LFM2_CHAT_LFM25 && strcmp(msgs[i].role, "tool") == 0);
	if (add_generation_prompt)
		str_cat(&o, "<|im_start|>assistant\n");
	if (o.oom) {
		free(o.p);
		set_err(err, errlen, "chat: out of memory");
		return -1;
	}
	*out = o.p;
	*len = o.n;
	return 0;
}

int lfm2_tokenizer_chat_render(const lfm2_tokenizer *t, const lfm2_chat_message *msgs, size_t n_msgs,
                               const char *tools_json, int add_generation_prompt, char **out, size_t *len,
                               char *err, size_t errlen)
{
	Str bos = {0};
	if (t->bos >= 0) {
		size_t n;
		const uint8_t *p = piece_of(t, (uint32_t)t->bos, &n);
		str_put(&bos, p, n);
		if (bos.oom) {
			set_err(err, errlen, "chat: out of memory");
			return -1;
		}
	}
	int rc = lfm2_chat_render(t->chat_style, bos.p, msgs, n_msgs, tools_json, add_generation_prompt, out,
	                          len, err, errlen);
	free(bos.p);
	return rc;
}
