/*
 * tokenizer_encode.c — text -> ids, following Hugging Face tokenizers step
 * by step:
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
 *      An ill-formed UTF-8 unit is split as a U+FFFD would be, but keeps
 *      its own bytes.
 *   3. Each piece is BPE'd over its bytes (the ByteLevel step is implicit:
 *      tokens are stored as raw bytes, which is the same thing through a
 *      bijection).  With ignore_merges a piece that is itself a token is
 *      emitted whole.  Merging uses a binary heap ordered by (rank, leftmost
 *      position) with lazily invalidated entries, as tokenizers' Word does:
 *      O(n log n) per piece.
 *   4. The post-processor's ids (BOS) go around the result.
 *
 * The tokenizer is only read here: each call's working memory (characters,
 * BPE symbols, the heap, the output) lives in a Work of its own, so any
 * number of threads may encode with one tokenizer at once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "tokenizer_internal.h"

/* ------------------------------------------------------------ helpers */

/* Growable id list (a failed allocation sets oom; later pushes do nothing). */
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

/* -------------------------------------------- per-call working memory */

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
	size_t c = tok_pow2_at_least(n + 1);
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

/* Room for n BPE symbols. */
static bool work_symbols(Work *w, size_t n)
{
	if (n <= w->scap)
		return true;
	size_t c = tok_pow2_at_least(n);
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

/* Frees the working memory (not the output ids, which go to the caller). */
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

/* ---------------------------------------------------------------- BPE */

/* The heap's order: rank, then leftmost position. */
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

/* Queues the merge of symbols l and r, if they have one. */
static void push_pair(const lfm2_tokenizer *t, Work *w, int32_t l, int32_t r)
{
	if (l < 0 || r < 0)
		return;
	const MergeSlot *m = tok_merge_find(t, (uint32_t)w->sid[l], (uint32_t)w->sid[r]);
	if (m)
		heap_push(w, (HeapItem){m->rank, (uint32_t)l, (uint32_t)r, m->result, w->ver[l], w->ver[r]});
}

/* The single-byte tokens of p[0..n) as w's linked list of symbols;
 * returns their number (room for n symbols is there already). */
static int32_t bpe_byte_symbols(const lfm2_tokenizer *t, Work *w, const uint8_t *p, size_t n)
{
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
	if (m > 0)
		w->next[m - 1] = -1;
	return m;
}

/* Merges w's m (>= 1) symbols, the pair of lowest rank first (leftmost
 * among equals), until no adjacent pair has a merge. */
static void bpe_merge(const lfm2_tokenizer *t, Work *w, int32_t m)
{
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
}

/* BPE over the bytes of one pre-token. */
static void bpe_word(const lfm2_tokenizer *t, Work *w, const uint8_t *p, size_t n)
{
	if (t->flags & LFM2_TOKF_IGNORE_MERGES) {
		int32_t id = tok_vocab_find(t, p, n);
		if (id >= 0) {
			ids_push(&w->out, id);
			return;
		}
	}
	if (n > INT32_MAX / 2 || !work_symbols(w, n)) {   /* (a 1 GiB word: treat as no memory) */
		w->oom = true;
		return;
	}
	int32_t m = bpe_byte_symbols(t, w, p, n);
	if (m == 0)
		return;
	bpe_merge(t, w, m);
	for (int32_t i = 0; i >= 0; i = w->next[i])
		ids_push(&w->out, w->sid[i]);
}

/* ---------------------------------------------------- the split regex */

/* The regex's class of a code point (LFM2_UC_*): a direct lookup in the
 * BMP, a binary search over the table's runs above it. */
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

/* \r or \n, the [\r\n] of the regex. */
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
		if (tok_utf8_step(s + i, n - i, &len, &cp) != U8_OK)
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

/* ------------------------------------------------------- added tokens */

/* Leftmost-longest match at or after position `from` of an added token of
 * the pass's kind (normalized or not; special ones skipped when
 * skip_special): returns its index in t->added and its start, or -1. */
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

/* ------------------------------------------------------------- encode */

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
