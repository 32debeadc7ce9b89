/*
 * tokenizer_table.c — the compiled tokenizer table: checked, indexed, opened.
 *
 * The table (format in lfm2_tokenizer.h) holds plain arrays written by
 * `lfm2c compile`, but the file it comes from is an input like any other:
 * it may be truncated, corrupt or from another version.  So open() checks
 * every count, offset and id in it before trusting any of it — the header
 * and its checksum, the section directory (each known section exactly
 * once, inside the blob), the piece offsets and per-id flags, the
 * post-processor's ids, every merge, the added-token list, the Unicode
 * class runs and case-fold pairs, the generation defaults — and any
 * mismatch is a one-line error, never a crash.  Along the way, from parts
 * already checked, it builds what the encoder looks things up in: two hash
 * tables (BPE-reachable token bytes -> id, and merge pair -> rank), the
 * added tokens sorted by first byte for leftmost-longest matching, and a
 * direct class table for the Basic Multilingual Plane.
 *
 * The tokenizer copies what it keeps, so the caller's bytes may go away
 * after open(), and nothing in it changes until close().  The queries about
 * single ids (piece, flags, find) live here too: they read only the table.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "lfm2rt.h"
#include "tokenizer_internal.h"

/* ------------------------------------------------------------ helpers */

void tok_set_err(char *err, size_t errlen, const char *fmt, ...)
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

size_t tok_pow2_at_least(size_t n)
{
	size_t c = 16;
	while (c < n)
		c *= 2;
	return c;
}

/* ----------------------------------------------------- the two indices
 * Open addressing with linear probing, each table at most half full:
 * BPE-reachable token bytes -> id, and merge pair (left, right) -> rank. */

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
	return mix64(fnv1a64(p, n) ^ n);
}

int32_t tok_vocab_find(const lfm2_tokenizer *t, const uint8_t *p, size_t n)
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

const MergeSlot *tok_merge_find(const lfm2_tokenizer *t, uint32_t a, uint32_t b)
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

/* ------------------------------------------------------- table checks
 * Each reader checks one part of the table and copies what it keeps into
 * the tokenizer; they run in the order open() lists them, so a later check
 * may rely on an earlier one (ids are checked against the flags read by
 * read_pieces).  Every failure names what is wrong with the table. */

enum { S_META, S_POFF, S_PBYT, S_TFLG, S_MRGE, S_ADDT, S_UCLS, S_FOLD, S_PREF, S_SUFF, S_GCFG, N_SEC };

typedef struct View {
	const uint8_t *p;
	uint32_t n;
} View;

/* The 32-byte header: magic, version, total size (within the n bytes at
 * hand), a plausible section count, and the checksum of what follows. */
static int check_header(const uint8_t *b, size_t n, uint32_t *ns_out, uint64_t *total_out, char *err,
                        size_t errlen)
{
	if (n < LFM2_TOK_HEADER || memcmp(b, LFM2_TOK_MAGIC, 8) != 0) {
		tok_set_err(err, errlen, "tokenizer table: bad magic (not an lfm2 tokenizer table)");
		return -1;
	}
	uint32_t version = rd32(b + 8), ns = rd32(b + 12);
	uint64_t total = rd64(b + 16);
	if (version != LFM2_TOK_VERSION) {
		tok_set_err(err, errlen, "tokenizer table: format version %u, this runtime reads %u", version,
		            LFM2_TOK_VERSION);
		return -1;
	}
	if (total > n || total < LFM2_TOK_HEADER) {
		tok_set_err(err, errlen, "tokenizer table: truncated (%zu bytes, header says %llu)", n,
		            (unsigned long long)total);
		return -1;
	}
	if (ns > 256 || LFM2_TOK_HEADER + 12ull * ns > total) {
		tok_set_err(err, errlen, "tokenizer table: corrupt section directory (%u sections)", ns);
		return -1;
	}
	if (fnv1a64(b + LFM2_TOK_HEADER, (size_t)total - LFM2_TOK_HEADER) != rd64(b + 24)) {
		tok_set_err(err, errlen, "tokenizer table: checksum mismatch (corrupt)");
		return -1;
	}
	*ns_out = ns;
	*total_out = total;
	return 0;
}

/* The section directory: every entry inside the blob, after the
 * directory, 4-byte aligned; each known tag exactly once (unknown tags are
 * skipped).  sec[S_*] get the sections' bytes. */
static int read_directory(const uint8_t *b, size_t n, View *sec, char *err, size_t errlen)
{
	static const char tags[N_SEC][5] = {"META", "POFF", "PBYT", "TFLG", "MRGE", "ADDT",
	                                    "UCLS", "FOLD", "PREF", "SUFF", "GCFG"};
	uint32_t ns;
	uint64_t total;
	if (check_header(b, n, &ns, &total, err, errlen))
		return -1;
	bool seen[N_SEC] = {false};
	uint64_t data_start = LFM2_TOK_HEADER + 12ull * ns;
	for (uint32_t i = 0; i < ns; i++) {
		const uint8_t *d = b + LFM2_TOK_HEADER + 12 * (size_t)i;
		uint32_t tag = rd32(d), off = rd32(d + 4), size = rd32(d + 8);
		if (off < data_start || off % 4 || (uint64_t)off + size > total) {
			tok_set_err(err, errlen, "tokenizer table: section %u out of bounds", i);
			return -1;
		}
		for (int k = 0; k < N_SEC; k++) {
			if (tag != LFM2_TOK_TAG(tags[k][0], tags[k][1], tags[k][2], tags[k][3]))
				continue;
			if (seen[k]) {
				tok_set_err(err, errlen, "tokenizer table: section %s appears twice", tags[k]);
				return -1;
			}
			seen[k] = true;
			sec[k].p = b + off;
			sec[k].n = size;
		}
	}
	for (int k = 0; k < N_SEC; k++)
		if (!seen[k]) {
			tok_set_err(err, errlen, "tokenizer table: section %s missing", tags[k]);
			return -1;
		}
	return 0;
}

/* META: the counts and ids everything else is checked against. */
static int read_meta(lfm2_tokenizer *t, View m, char *err, size_t errlen)
{
	if (m.n < 36) {
		tok_set_err(err, errlen, "tokenizer table: META section too short");
		return -1;
	}
	t->n_tokens = rd32(m.p);
	t->flags = rd32(m.p + 4);
	t->bos = (int32_t)rd32(m.p + 8);
	t->eos = (int32_t)rd32(m.p + 12);
	t->pad = (int32_t)rd32(m.p + 16);
	uint32_t style = rd32(m.p + 20);
	if (t->n_tokens == 0 || t->n_tokens > LFM2_TOK_MAX_TOKENS || style > LFM2_CHAT_LFM25) {
		tok_set_err(err, errlen, "tokenizer table: corrupt META (%u tokens, chat style %u)", t->n_tokens,
		            style);
		return -1;
	}
	t->chat_style = (lfm2_chat_style)style;
	return 0;
}

/* POFF: starts at 0, never decreases, ends at the size of PBYT. */
static int read_piece_offsets(lfm2_tokenizer *t, View poff, View pbyt, char *err, size_t errlen)
{
	uint32_t prev = 0;
	for (uint32_t i = 0; i <= t->n_tokens; i++) {
		uint32_t o = rd32(poff.p + 4 * (size_t)i);
		if ((i == 0 && o != 0) || o < prev || o > pbyt.n || (i == t->n_tokens && o != pbyt.n)) {
			tok_set_err(err, errlen, "tokenizer table: corrupt piece offsets at id %u", i);
			return -1;
		}
		t->poff[i] = prev = o;
	}
	return 0;
}

/* TFLG: known bits only; an absent id has no flags, a present one has
 * bytes; only added tokens are special or normalized. */
static int check_token_flags(const lfm2_tokenizer *t, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < t->n_tokens; i++) {
		unsigned f = t->tflags[i];
		bool present = f & LFM2_TOK_PRESENT, empty = t->poff[i + 1] == t->poff[i];
		if ((f & ~31u) || (!present && f) || (present && empty) ||
		    ((f & (LFM2_TOK_SPECIAL | LFM2_TOK_NORMALIZED)) && !(f & LFM2_TOK_ADDED))) {
			tok_set_err(err, errlen, "tokenizer table: corrupt flags for id %u", i);
			return -1;
		}
	}
	return 0;
}

/* POFF, PBYT, TFLG: the bytes and flags of every id, copied. */
static int read_pieces(lfm2_tokenizer *t, View poff, View pbyt, View tflg, char *err, size_t errlen)
{
	if (poff.n != 4ull * (t->n_tokens + 1) || tflg.n != t->n_tokens) {
		tok_set_err(err, errlen, "tokenizer table: piece tables do not match %u tokens", t->n_tokens);
		return -1;
	}
	t->poff = malloc(poff.n);
	t->pbytes = malloc(pbyt.n ? pbyt.n : 1);
	t->tflags = malloc(tflg.n);
	if (!t->poff || !t->pbytes || !t->tflags) {
		tok_set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	memcpy(t->pbytes, pbyt.p, pbyt.n);
	memcpy(t->tflags, tflg.p, tflg.n);
	if (read_piece_offsets(t, poff, pbyt, err, errlen) || check_token_flags(t, err, errlen))
		return -1;
	return 0;
}

static int32_t rd_id(View v, size_t i)
{
	return (int32_t)rd32(v.p + 4 * i);
}

/* bos/eos/pad (from META) and PREF/SUFF, the post-processor's ids (at most
 * 64 each): ids that exist. */
static int read_specials(lfm2_tokenizer *t, View pref, View suff, char *err, size_t errlen)
{
	int32_t ids[3] = {t->bos, t->eos, t->pad};
	for (int i = 0; i < 3; i++)
		if (ids[i] != -1 && (ids[i] < 0 || !id_ok(t, (uint32_t)ids[i]))) {
			tok_set_err(err, errlen, "tokenizer table: bos/eos/pad id %d does not exist", ids[i]);
			return -1;
		}
	View v[2] = {pref, suff};
	int32_t **dst[2] = {&t->prefix, &t->suffix};
	size_t *cnt[2] = {&t->n_prefix, &t->n_suffix};
	for (int k = 0; k < 2; k++) {
		if (v[k].n % 4 || v[k].n > 4 * 64) {
			tok_set_err(err, errlen, "tokenizer table: corrupt post-processor ids");
			return -1;
		}
		*cnt[k] = v[k].n / 4;
		*dst[k] = malloc(v[k].n ? v[k].n : 1);
		if (!*dst[k]) {
			tok_set_err(err, errlen, "tokenizer table: out of memory");
			return -1;
		}
		for (size_t i = 0; i < *cnt[k]; i++) {
			int32_t id = rd_id(v[k], i);
			if (id < 0 || !id_ok(t, (uint32_t)id)) {
				tok_set_err(err, errlen, "tokenizer table: post-processor id %d does not exist", id);
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
		tok_set_err(err, errlen, "tokenizer table: GCFG section has %u bytes, expected %u", g.n,
		            LFM2_TOK_GCFG_BYTES);
		return -1;
	}
	uint32_t present = rd32(g.p), do_sample = rd32(g.p + 4);
	d->present = present;
	d->do_sample = (int)do_sample;
	d->top_k = (int32_t)rd32(g.p + 12);
	bool fin_temp = rd_finite_f32(g.p + 8, &d->temperature), fin_top_p = rd_finite_f32(g.p + 16, &d->top_p),
	     fin_min_p = rd_finite_f32(g.p + 20, &d->min_p),
	     fin_rep = rd_finite_f32(g.p + 24, &d->repetition_penalty);
	bool ok = fin_temp && fin_top_p && fin_min_p && fin_rep && !(present & ~LFM2_GEN_ALL) && do_sample <= 1;
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
		tok_set_err(err, errlen, "tokenizer table: corrupt GCFG (generation defaults) section");
		return -1;
	}
	return 0;
}

/* The token-bytes index over the BPE-reachable ids (no two with the same
 * bytes), and the single-byte tokens BPE starts from. */
static int build_vocab_index(lfm2_tokenizer *t, char *err, size_t errlen)
{
	size_t n = 0;
	for (uint32_t i = 0; i < t->n_tokens; i++)
		n += (t->tflags[i] & LFM2_TOK_BPE) != 0;
	size_t cap = tok_pow2_at_least(2 * n + 1);
	t->vslot = malloc(cap * sizeof *t->vslot);
	if (!t->vslot) {
		tok_set_err(err, errlen, "tokenizer table: out of memory");
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
		if (tok_vocab_find(t, p, len) >= 0) {
			tok_set_err(err, errlen, "tokenizer table: two tokens with the same bytes (id %u)", id);
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

/* MRGE: (left, right, merged) by rank, every id present, no pair twice. */
static int build_merge_index(lfm2_tokenizer *t, View m, char *err, size_t errlen)
{
	if (m.n % 12) {
		tok_set_err(err, errlen, "tokenizer table: corrupt merges section");
		return -1;
	}
	size_t n = m.n / 12;
	size_t cap = tok_pow2_at_least(2 * n + 1);
	t->mslot = malloc(cap * sizeof *t->mslot);
	if (!t->mslot) {
		tok_set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	t->mmask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		t->mslot[i].rank = UINT32_MAX;
	for (size_t r = 0; r < n; r++) {
		uint32_t a = rd32(m.p + 12 * r), b = rd32(m.p + 12 * r + 4), c = rd32(m.p + 12 * r + 8);
		if (!id_ok(t, a) || !id_ok(t, b) || !id_ok(t, c)) {
			tok_set_err(err, errlen, "tokenizer table: merge %zu names a missing id", r);
			return -1;
		}
		if (tok_merge_find(t, a, b)) {
			tok_set_err(err, errlen, "tokenizer table: merge %zu repeats a pair", r);
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

/* The matcher's order: by first byte, then longest first. */
static int added_cmp(const void *x, const void *y)
{
	const Added *a = x, *b = y;
	if (a->text[0] != b->text[0])
		return a->text[0] < b->text[0] ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Sorts the added tokens into the matcher's order; added_start[b] is the
 * first one starting with byte b (added_start[256]: the count). */
static void index_added_by_first_byte(lfm2_tokenizer *t)
{
	qsort(t->added, t->n_added, sizeof *t->added, added_cmp);
	size_t k = 0;
	for (int b = 0; b <= 256; b++) {
		while (k < t->n_added && t->added[k].text[0] < b)
			k++;
		t->added_start[b] = (uint32_t)k;
	}
}

/* ADDT: exactly the ids flagged ADDED, each once. */
static int build_added(lfm2_tokenizer *t, View v, char *err, size_t errlen)
{
	size_t flagged = 0;
	for (uint32_t i = 0; i < t->n_tokens; i++)
		flagged += (t->tflags[i] & LFM2_TOK_ADDED) != 0;
	if (v.n % 4 || v.n / 4 != flagged) {
		tok_set_err(err, errlen, "tokenizer table: added-token list does not match the flags");
		return -1;
	}
	t->n_added = flagged;
	t->added = malloc((flagged ? flagged : 1) * sizeof *t->added);
	uint8_t *seen = calloc(t->n_tokens, 1);
	if (!t->added || !seen) {
		free(seen);
		tok_set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	for (size_t i = 0; i < flagged; i++) {
		uint32_t id = rd32(v.p + 4 * i);
		if (id >= t->n_tokens || !(t->tflags[id] & LFM2_TOK_ADDED) || seen[id]) {
			free(seen);
			tok_set_err(err, errlen, "tokenizer table: corrupt added-token list at %zu", i);
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
	index_added_by_first_byte(t);
	return 0;
}

/* UCLS: 2-bit classes, run starts increasing from 0 up to U+10FFFF. */
static int read_class_runs(lfm2_tokenizer *t, View runs, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->n_runs; i++) {
		uint32_t v = rd32(runs.p + 4 * i), start = v & 0x1FFFFF, cls = v >> 24;
		if ((v & 0xFCE00000u) || start > 0x10FFFF || (i == 0 && start != 0) ||
		    (i > 0 && start <= t->run_start[i - 1])) {
			tok_set_err(err, errlen, "tokenizer table: corrupt class run %zu", i);
			return -1;
		}
		t->run_start[i] = start;
		t->run_class[i] = (uint8_t)cls;
	}
	return 0;
}

/* The class of every BMP code point, from the runs (a direct lookup for
 * nearly all text; the rest is a binary search over the runs). */
static void fill_bmp_class(lfm2_tokenizer *t)
{
	size_t r = 0;
	for (uint32_t cp = 0; cp < 0x10000; cp++) {
		while (r + 1 < t->n_runs && t->run_start[r + 1] <= cp)
			r++;
		t->bmp_class[cp] = t->run_class[r];
	}
}

/* FOLD: (non-ASCII code point, ASCII char) pairs sorted by code point. */
static int read_case_folds(lfm2_tokenizer *t, View fold, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->n_fold; i++) {
		uint32_t cp = rd32(fold.p + 8 * i), to = rd32(fold.p + 8 * i + 4);
		if (cp < 0x80 || cp > 0x10FFFF || to >= 0x80 || (i > 0 && cp <= t->fold[2 * i - 2])) {
			tok_set_err(err, errlen, "tokenizer table: corrupt case-fold pair %zu", i);
			return -1;
		}
		t->fold[2 * i] = cp;
		t->fold[2 * i + 1] = to;
	}
	return 0;
}

/* UCLS and FOLD: the split regex's character classes and the case folding
 * of its (?i:...) contractions. */
static int read_unicode(lfm2_tokenizer *t, View runs, View fold, char *err, size_t errlen)
{
	if (runs.n % 4 || runs.n == 0 || fold.n % 8) {
		tok_set_err(err, errlen, "tokenizer table: corrupt Unicode tables");
		return -1;
	}
	t->n_runs = runs.n / 4;
	t->n_fold = fold.n / 8;
	t->run_start = malloc(t->n_runs * sizeof *t->run_start);
	t->run_class = malloc(t->n_runs);
	t->fold = malloc((t->n_fold ? t->n_fold : 1) * 2 * sizeof *t->fold);
	if (!t->run_start || !t->run_class || !t->fold) {
		tok_set_err(err, errlen, "tokenizer table: out of memory");
		return -1;
	}
	if (read_class_runs(t, runs, err, errlen))
		return -1;
	fill_bmp_class(t);
	return read_case_folds(t, fold, err, errlen);
}

/* -------------------------------------------------------- open, close */

int lfm2_tokenizer_open(const void *bytes, size_t n, lfm2_tokenizer **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!bytes) {
		tok_set_err(err, errlen, "tokenizer table: no data");
		return -1;
	}
	View sec[N_SEC];
	memset(sec, 0, sizeof sec);
	if (read_directory(bytes, n, sec, err, errlen))
		return -1;
	lfm2_tokenizer *t = calloc(1, sizeof *t);
	if (!t) {
		tok_set_err(err, errlen, "tokenizer table: out of memory");
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

/* -------------------------------------------------- queries about ids */

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
	return len ? tok_vocab_find(t, (const uint8_t *)text, len) : -1;
}
