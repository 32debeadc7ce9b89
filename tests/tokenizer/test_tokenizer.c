/*
 * test_tokenizer.c — the tokenizer and chat format against independent
 * implementations and against bad input.
 *
 * The expected values in expected/ were produced by gen_expected.mjs with
 * @huggingface/tokenizers (a JavaScript port of Hugging Face tokenizers) and
 * @huggingface/jinja (the chat templates themselves), so every comparison
 * here is C against a different implementation, not against itself:
 *
 *   parity DIR EXP NAME    >= 2000 strings: encode id for id, then
 *                          decode(encode(s)) == s (lossy and raw); NAME
 *                          b_nomerge = DIR's tokenizer with ignore_merges=false
 *   decode DIR EXP NAME    random id sequences: decode, skip-special decode,
 *                          and the streaming decoder, against tokenizers.js
 *   invalid DIR EXP        ill-formed UTF-8: raw round trip, lossy decode ==
 *                          TextDecoder, the split of the lossy text == the JS
 *                          pre-tokenizer's, raw split aligned with it
 *   bytes DIR              any byte string (random bytes, every single byte,
 *                          NULs) encodes and decodes back exactly with
 *                          LFM2_DECODE_RAW; lossy decode is valid UTF-8
 *   uclass DIR EXP         our \p{L} \p{N} \s tables (utf8proc) against JS's;
 *                          differences only at code points utf8proc's older
 *                          Unicode has not assigned
 *   fold DIR               (?i:'s) also matches "'ſ" like Oniguruma
 *   vectors DIR JSON       trained-tiny's published vectors + the README prompt
 *   special DIR            added tokens are never split, alone or in text;
 *                          SPLIT_SPECIAL encodes them as text
 *   chat TINY B EXP        renderings == @huggingface/jinja for three templates,
 *                          and their ids == tokenizers.js
 *   table DIR              truncated / corrupt tables are errors, never crashes
 *   badjson DIR TMP        unsupported or malformed tokenizer.json -> the right
 *                          one-line error; a directory without a tokenizer -> 0;
 *                          model directories: ids beyond config.json's
 *                          vocab_size, generation_config ids outside it, a
 *                          FIFO or a directory as a side file
 *   dump DIR FILE          writes DIR's table to FILE (for cross_build.sh)
 */
#define _GNU_SOURCE   /* memmem */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "check.h"
#include "lfm2_tokenizer.h"
#include "tokenizer.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ERROR: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	exit(2);
}

/* ------------------------------------------------------------ helpers */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf)
			die("out of memory");
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap + 1);
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die("cannot write %s", path);
}

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (!p)
		die("out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* Lines of a fixture file, '#' comment lines skipped.  The buffer is
 * modified in place (newlines become NULs). */
typedef struct Lines {
	char *buf;
	char **line;
	size_t n;
} Lines;

static Lines read_lines(const char *dir, const char *name)
{
	char *path = path_join(dir, name);
	Lines l = {read_file(path, NULL), NULL, 0};
	free(path);
	size_t cap = 1024;
	l.line = malloc(cap * sizeof *l.line);
	for (char *p = l.buf; *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p != '#') {
			if (l.n == cap)
				l.line = realloc(l.line, (cap *= 2) * sizeof *l.line);
			if (!l.line)
				die("out of memory");
			l.line[l.n++] = p;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return l;
}

static void free_lines(Lines *l)
{
	free(l->buf);
	free(l->line);
}

/* Hex -> bytes (malloc'd, NUL-terminated). */
static char *unhex(const char *h, size_t hl, size_t *n)
{
	char *out = malloc(hl / 2 + 1);
	if (!out)
		die("out of memory");
	for (size_t i = 0; i + 1 < hl + 1 && i / 2 < hl / 2; i += 2) {
		unsigned v;
		if (sscanf(h + i, "%2x", &v) != 1)
			die("bad hex in fixture");
		out[i / 2] = (char)v;
	}
	*n = hl / 2;
	out[*n] = '\0';
	return out;
}

/* "1,2,3" -> ids; returns count. */
static size_t parse_ids(const char *s, size_t slen, int32_t **ids)
{
	size_t cap = 16, n = 0;
	*ids = malloc(cap * sizeof **ids);
	const char *end = s + slen;
	while (s < end && *s) {
		char *e;
		long v = strtol(s, &e, 10);
		if (e == s)
			die("bad id list in fixture");
		if (n == cap)
			*ids = realloc(*ids, (cap *= 2) * sizeof **ids);
		(*ids)[n++] = (int32_t)v;
		s = e;
		if (s < end && *s == ',')
			s++;
	}
	return n;
}

static char *fmt_ids(const int32_t *ids, size_t n)
{
	size_t cap = n * 12 + 1, o = 0;
	char *s = malloc(cap);
	s[0] = '\0';
	for (size_t i = 0; i < n && o + 13 < cap; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%d", i ? "," : "", ids[i]);
	return s;
}

static void *build_table(const char *dir, size_t *n)
{
	LfmError e;
	void *bytes;
	int rc = lfm_tokenizer_build(dir, &bytes, n, &e);
	if (rc != 1)
		die("lfm_tokenizer_build(%s) = %d: %s", dir, rc, rc < 0 ? e.msg : "no tokenizer.json");
	return bytes;
}

static lfm2_tokenizer *load(const char *dir)
{
	size_t n;
	void *bytes = build_table(dir, &n);
	lfm2_tokenizer *t;
	char err[256];
	if (lfm2_tokenizer_open(bytes, n, &t, err, sizeof err))
		die("open %s: %s", dir, err);
	free(bytes);
	return t;
}

static int32_t *enc(const lfm2_tokenizer *t, const char *s, size_t len, unsigned flags, size_t *n)
{
	int32_t *ids;
	if (lfm2_tokenizer_encode(t, s, len, flags, &ids, n))
		die("encode: out of memory");
	return ids;
}

static char *dec(const lfm2_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, size_t *len)
{
	char *s, err[256];
	if (lfm2_tokenizer_decode(t, ids, n, flags, &s, len, err, sizeof err))
		die("decode: %s", err);
	return s;
}

static bool ids_eq(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void show_text(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n && i < 120; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '"')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf(n > 120 ? "\"...\n" : "\"\n");
}

/* ------------------------------------------------------------ parity */

/* DIR's tokenizer.json with model.ignore_merges set to false. */
static lfm2_tokenizer *load_without_ignore_merges(const char *dir)
{
	char *path = path_join(dir, "tokenizer.json");
	size_t len;
	char *text = read_file(path, &len);
	cJSON *j = cJSON_ParseWithLength(text, len);
	cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges")))
		die("%s: expected ignore_merges=true", path);
	cJSON_ReplaceItemInObjectCaseSensitive(model, "ignore_merges", cJSON_CreateFalse());
	char *edited = cJSON_PrintUnformatted(j);
	LfmError e;
	void *bytes;
	size_t n;
	if (lfm_tokenizer_build_text(edited, strlen(edited), NULL, 0, NULL, 0, path, &bytes, &n, &e) != 1)
		die("%s", e.msg);
	lfm2_tokenizer *t;
	char err[256];
	if (lfm2_tokenizer_open(bytes, n, &t, err, sizeof err))
		die("%s", err);
	free(bytes);
	cJSON_free(edited);
	cJSON_Delete(j);
	free(text);
	free(path);
	return t;
}

static void test_parity(const char *dir, const char *exp, const char *name)
{
	size_t nl = strlen(name);
	lfm2_tokenizer *t = nl > 8 && !strcmp(name + nl - 8, "_nomerge") ? load_without_ignore_merges(dir) : load(dir);
	Lines corpus = read_lines(exp, "corpus.txt");
	char fname[64];
	snprintf(fname, sizeof fname, "enc_%s.txt", name);
	Lines want = read_lines(exp, fname);
	if (corpus.n != want.n)
		die("%s has %zu lines, corpus.txt %zu", fname, want.n, corpus.n);
	size_t mismatches = 0, roundtrip = 0;
	for (size_t i = 0; i < corpus.n; i++) {
		size_t len, n, m, dl;
		char *s = unhex(corpus.line[i], strlen(corpus.line[i]), &len);
		int32_t *ids = enc(t, s, len, LFM2_ENCODE_ADD_SPECIAL, &n), *w;
		m = parse_ids(want.line[i], strlen(want.line[i]), &w);
		if (!ids_eq(ids, n, w, m)) {
			if (mismatches++ < 5) {
				char *a = fmt_ids(ids, n), *b = fmt_ids(w, m);
				printf("mismatch line %zu: ", i + 1);
				show_text(s, len);
				printf("  C:  %s\n  JS: %s\n", a, b);
				free(a);
				free(b);
			}
		}
		/* ids[0] is BOS; the rest decodes back to s */
		for (unsigned flags = 0; flags <= LFM2_DECODE_RAW; flags += LFM2_DECODE_RAW) {
			char *d = dec(t, ids + 1, n - 1, flags, &dl);
			if (dl != len || memcmp(d, s, len) != 0) {
				if (roundtrip++ < 5) {
					printf("round trip line %zu (flags %u): ", i + 1, flags);
					show_text(d, dl);
				}
			}
			free(d);
		}
		free(s);
		free(ids);
		free(w);
	}
	printf("parity %s: %zu strings, %zu mismatches, %zu round-trip failures\n", name, corpus.n, mismatches,
	       roundtrip);
	CHECK(corpus.n >= 2000, "corpus has only %zu strings", corpus.n);
	CHECK(mismatches == 0, "%zu encode mismatches against tokenizers.js", mismatches);
	CHECK(roundtrip == 0, "%zu round-trip failures", roundtrip);
	free_lines(&corpus);
	free_lines(&want);
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ decode */

static bool valid_utf8(const char *s, size_t n)
{
	utf8proc_int32_t c;
	for (size_t i = 0; i < n;) {
		utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
		if (k <= 0)
			return false;
		i += (size_t)k;
	}
	return true;
}

static void test_decode(const char *dir, const char *exp, const char *name)
{
	lfm2_tokenizer *t = load(dir);
	char fname[64];
	snprintf(fname, sizeof fname, "dec_%s.txt", name);
	Lines l = read_lines(exp, fname);
	size_t bad = 0, bad_skip = 0, bad_stream = 0, partial = 0;
	for (size_t i = 0; i < l.n; i++) {
		char *f1 = strchr(l.line[i], '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL;
		if (!f2)
			die("%s line %zu: expected 3 fields", fname, i + 1);
		int32_t *ids;
		size_t n = parse_ids(l.line[i], (size_t)(f1 - l.line[i]), &ids), al, bl, dl;
		char *a = unhex(f1 + 1, (size_t)(f2 - f1 - 1), &al), *b = unhex(f2 + 1, strlen(f2 + 1), &bl);
		char *d = dec(t, ids, n, 0, &dl);
		if (dl != al || memcmp(d, a, al))
			if (bad++ < 3) {
				printf("decode line %zu: C ", i + 1);
				show_text(d, dl);
				printf("  JS ");
				show_text(a, al);
			}
		free(d);
		d = dec(t, ids, n, LFM2_DECODE_SKIP_SPECIAL, &dl);
		if (dl != bl || memcmp(d, b, bl))
			bad_skip++;
		free(d);
		/* streaming: same text, and every chunk is whole characters */
		lfm2_decode_stream s;
		lfm2_decode_stream_init(&s, t, 0);
		char *acc = malloc(al + 64);
		size_t accn = 0;
		char err[128];
		for (size_t k = 0; k <= n; k++) {
			const char *p;
			size_t pl;
			int rc = k < n ? lfm2_decode_stream_push(&s, ids[k], &p, &pl, err, sizeof err)
			               : lfm2_decode_stream_finish(&s, &p, &pl, err, sizeof err);
			if (rc)
				die("stream: %s", err);
			if (!valid_utf8(p, pl))
				partial++;
			if (accn + pl <= al + 63)
				memcpy(acc + accn, p, pl);
			accn += pl;
		}
		if (accn != al || memcmp(acc, a, al))
			bad_stream++;
		lfm2_decode_stream_free(&s);
		free(acc);
		free(a);
		free(b);
		free(ids);
	}
	/* an id that does not exist is an error */
	int32_t nope[2] = {5, lfm2_tokenizer_n_tokens(t)};
	char *s, err[128];
	size_t sl;
	CHECK(lfm2_tokenizer_decode(t, nope, 2, 0, &s, &sl, err, sizeof err) == -1 && strstr(err, "does not exist"),
	      "decoding a missing id must fail");
	nope[1] = -1;
	CHECK(lfm2_tokenizer_decode(t, nope, 2, 0, &s, &sl, err, sizeof err) == -1, "decoding id -1 must fail");
	printf("decode %s: %zu sequences, %zu mismatches, %zu skip-special mismatches, %zu stream mismatches, "
	       "%zu partial chunks\n", name, l.n, bad, bad_skip, bad_stream, partial);
	CHECK(l.n >= 100, "too few decode cases");
	CHECK(bad == 0 && bad_skip == 0 && bad_stream == 0 && partial == 0, "decode mismatches");
	free_lines(&l);
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ invalid UTF-8 */

static void test_invalid(const char *dir, const char *exp)
{
	lfm2_tokenizer *t = load(dir);
	Lines l = read_lines(exp, "invalid.txt");
	size_t bad_raw = 0, bad_lossy = 0, bad_split = 0, bad_align = 0;
	for (size_t i = 0; i < l.n; i++) {
		char *f1 = strchr(l.line[i], '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL;
		if (!f2)
			die("invalid.txt line %zu: expected 3 fields", i + 1);
		size_t rl, ll, n, dl;
		char *raw = unhex(l.line[i], (size_t)(f1 - l.line[i]), &rl);
		char *lossy = unhex(f1 + 1, (size_t)(f2 - f1 - 1), &ll);
		int32_t *ids = enc(t, raw, rl, 0, &n);
		char *d = dec(t, ids, n, LFM2_DECODE_RAW, &dl);
		if (dl != rl || memcmp(d, raw, rl))
			bad_raw++;
		free(d);
		d = dec(t, ids, n, 0, &dl);
		if (dl != ll || memcmp(d, lossy, ll))
			bad_lossy++;
		free(d);
		free(ids);
		/* the lossy text splits exactly like tokenizers.js splits it */
		int32_t *js_ends;
		size_t nj = parse_ids(f2 + 1, strlen(f2 + 1), &js_ends);
		size_t ends_l[4096], ends_r[4096];
		long cl = lfm2_tokenizer_pretokenize(t, lossy, ll, ends_l, 4096);
		long cr = lfm2_tokenizer_pretokenize(t, raw, rl, ends_r, 4096);
		bool same = cl == (long)nj && cl <= 4096;
		for (long k = 0; same && k < cl; k++)
			same = ends_l[k] == (size_t)js_ends[k];
		if (!same)
			bad_split++;
		/* the raw bytes split at the same places: piece k of the raw text,
		 * decoded lossily, is piece k of the lossy text */
		bool aligned = cr == cl && cr <= 4096;
		for (long k = 0; aligned && k < cr; k++) {
			size_t r0 = k ? ends_r[k - 1] : 0, l0 = k ? ends_l[k - 1] : 0;
			int32_t *pid = enc(t, raw + r0, ends_r[k] - r0, 0, &n);
			d = dec(t, pid, n, 0, &dl);
			aligned = dl == ends_l[k] - l0 && memcmp(d, lossy + l0, dl) == 0;
			free(d);
			free(pid);
		}
		if (!aligned)
			bad_align++;
		free(js_ends);
		free(raw);
		free(lossy);
	}
	printf("invalid UTF-8: %zu cases, raw round trip failures %zu, lossy decode mismatches %zu, "
	       "split mismatches %zu, raw/lossy split misalignments %zu\n",
	       l.n, bad_raw, bad_lossy, bad_split, bad_align);
	CHECK(l.n >= 100 && !bad_raw && !bad_lossy && !bad_split && !bad_align, "invalid UTF-8 handling");
	free_lines(&l);
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ byte round trip */

static void test_bytes(const char *dir)
{
	lfm2_tokenizer *t = load(dir);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	size_t bad_raw = 0, bad_lossy = 0, cases = 0;
	char buf[300];
	for (int i = 0; i < 3000; i++, cases++) {
		size_t len;
		if (i < 256) {           /* every byte alone */
			buf[0] = (char)i;
			len = 1;
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			len = (size_t)(x % 300);
			for (size_t k = 0; k < len; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				/* bias towards UTF-8 lead/continuation bytes, spaces, NUL */
				static const uint8_t pool[] = {0, ' ', '\n', '\'', 's', 0x80, 0xBF, 0xC3, 0xE6, 0xF0, 0xFF, '<', '|'};
				buf[k] = (char)((x >> 60) & 1 ? pool[(x >> 8) % sizeof pool] : (uint8_t)(x >> 16));
			}
		}
		size_t n, dl;
		int32_t *ids = enc(t, buf, len, 0, &n);
		char *d = dec(t, ids, n, LFM2_DECODE_RAW, &dl);
		if (dl != len || memcmp(d, buf, len) != 0)
			bad_raw++;
		free(d);
		d = dec(t, ids, n, 0, &dl);
		if (!valid_utf8(d, dl))
			bad_lossy++;
		free(d);
		free(ids);
	}
	printf("bytes: %zu byte strings, %zu raw round-trip failures, %zu invalid lossy outputs\n", cases, bad_raw,
	       bad_lossy);
	CHECK(bad_raw == 0 && bad_lossy == 0, "byte round trip");
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ classes */

static void test_uclass(const char *dir, const char *exp)
{
	lfm2_tokenizer *t = load(dir);
	Lines l = read_lines(exp, "uclass.txt");
	uint8_t *js = calloc(0x110000, 1);
	if (!js)
		die("out of memory");
	for (size_t i = 0; i < l.n; i++) {
		unsigned a, b, c;
		if (sscanf(l.line[i], "%x %x %u", &a, &b, &c) != 3 || b > 0x10FFFF || a > b || c > 3)
			die("uclass.txt line %zu: bad run", i + 1);
		memset(js + a, (int)c, b - a + 1);
	}
	size_t newer = 0, unexplained = 0, counts[4] = {0};
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		unsigned c = lfm2_tokenizer_char_class(t, cp);
		counts[c]++;
		if (c == js[cp])
			continue;
		/* JS knows a newer Unicode: fine if utf8proc has the code point unassigned */
		if (c == LFM2_UC_OTHER && utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_CN) {
			newer++;
			continue;
		}
		if (unexplained++ < 10)
			printf("class of U+%04X: C %u, JS %u\n", cp, c, js[cp]);
	}
	printf("uclass: utf8proc Unicode %s: %zu letters, %zu numbers, %zu spaces; %zu code points assigned only "
	       "in JS's newer Unicode, %zu unexplained differences\n",
	       lfm_tokenizer_unicode_version(), counts[1], counts[2], counts[3], newer, unexplained);
	CHECK(unexplained == 0, "class tables differ from JS's");
	/* the regex engine's \s: U+0085 in, U+FEFF and U+200B out */
	CHECK(lfm2_tokenizer_char_class(t, 0x85) == LFM2_UC_SPACE, "U+0085 must be \\s");
	CHECK(lfm2_tokenizer_char_class(t, 0xFEFF) == LFM2_UC_OTHER, "U+FEFF must not be \\s");
	CHECK(lfm2_tokenizer_char_class(t, 0x200B) == LFM2_UC_OTHER, "U+200B must not be \\s");
	CHECK(counts[3] == 25, "White_Space has 25 code points, got %zu", counts[3]);
	free(js);
	free_lines(&l);
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ case folding */

static void expect_split(const lfm2_tokenizer *t, const char *s, const char *want)
{
	size_t ends[64];
	long n = lfm2_tokenizer_pretokenize(t, s, strlen(s), ends, 64);
	char got[512];
	size_t o = 0, prev = 0;
	for (long i = 0; i < n && i < 64; i++) {
		o += (size_t)snprintf(got + o, sizeof got - o, "[%.*s]", (int)(ends[i] - prev), s + prev);
		prev = ends[i];
	}
	got[o] = '\0';
	CHECK(strcmp(got, want) == 0, "split of '%s': got %s, want %s", s, got, want);
}

static void test_fold(const char *dir)
{
	lfm2_tokenizer *t = load(dir);
	/* Oniguruma folds U+017F (long s) to 's': the contraction takes it */
	expect_split(t, "'\xC5\xBF" "a", "['\xC5\xBF][a]");
	expect_split(t, "it'Sa", "[it]['S][a]");
	expect_split(t, "we'rEally", "[we]['rE][ally]");
	expect_split(t, "'\xE2\x84\xAA" "a", "['\xE2\x84\xAA" "a]");   /* Kelvin sign: no 'k' contraction */
	expect_split(t, "a  b", "[a][ ][ b]");
	expect_split(t, "a \n b", "[a][ \n][ b]");
	expect_split(t, "x   ", "[x][   ]");
	expect_split(t, "12345", "[123][45]");
	expect_split(t, "\xC2\x85" "a", "[\xC2\x85" "a]");       /* NEL is \s, and [^\r\n\p{L}\p{N}] */
	expect_split(t, "a\xC2\x85\n", "[a][\xC2\x85\n]");
	/* and the ids agree with encoding the two pieces on their own */
	size_t n, na, nb;
	int32_t *all = enc(t, "'\xC5\xBF" "a", 4, 0, &n);
	int32_t *a = enc(t, "'\xC5\xBF", 3, 0, &na), *b = enc(t, "a", 1, 0, &nb);
	int32_t both[64];
	memcpy(both, a, na * sizeof *a);
	memcpy(both + na, b, nb * sizeof *b);
	CHECK(ids_eq(all, n, both, na + nb), "'\\u017fa must encode as '\\u017f + a");
	free(all);
	free(a);
	free(b);
	printf("fold: done\n");
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ vectors */

static void test_vectors(const char *dir, const char *vectors)
{
	lfm2_tokenizer *t = load(dir);
	size_t len;
	char *text = read_file(vectors, &len);
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "vectors");
	if (!cJSON_IsArray(list))
		die("%s: no vectors", vectors);
	int count = 0;
	for (const cJSON *v = list->child; v; v = v->next, count++) {
		const char *s = cJSON_GetObjectItemCaseSensitive(v, "text")->valuestring;
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(v, "ids");
		const char *want_text = cJSON_GetObjectItemCaseSensitive(v, "decoded")->valuestring;
		int32_t want[512];
		size_t m = 0, n, dl;
		for (const cJSON *x = ids->child; x && m < 512; x = x->next)
			want[m++] = (int32_t)x->valuedouble;
		int32_t *got = enc(t, s, strlen(s), LFM2_ENCODE_ADD_SPECIAL, &n);
		char *a = fmt_ids(got, n), *b = fmt_ids(want, m);
		CHECK(ids_eq(got, n, want, m), "vector %d: C %s, want %s", count, a, b);
		char *d = dec(t, got + 1, n - 1, 0, &dl);     /* after the BOS */
		CHECK(got[0] == 1 && dl == strlen(want_text) && memcmp(d, want_text, dl) == 0,
		      "vector %d decodes wrongly", count);
		free(a);
		free(b);
		free(d);
		free(got);
	}
	/* trained-tiny/README.md: the prompt of the published generations */
	static const int32_t prompt[] = {1, 1650, 1049, 335, 1206, 813};
	size_t n;
	int32_t *got = enc(t, "This program is free software", 29, LFM2_ENCODE_ADD_SPECIAL, &n);
	CHECK(ids_eq(got, n, prompt, 6), "'This program is free software' must be 1,1650,1049,335,1206,813");
	free(got);
	CHECK(lfm2_tokenizer_bos(t) == 1 && lfm2_tokenizer_eos(t) == 7 && lfm2_tokenizer_pad(t) == 0,
	      "bos/eos/pad must be 1/7/0, got %d/%d/%d", lfm2_tokenizer_bos(t), lfm2_tokenizer_eos(t),
	      lfm2_tokenizer_pad(t));
	CHECK(lfm2_tokenizer_n_tokens(t) == 2048, "trained-tiny has 2048 ids");
	printf("vectors: %d published vectors checked\n", count);
	cJSON_Delete(root);
	free(text);
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ special tokens */

static void test_special(const char *dir)
{
	lfm2_tokenizer *t = load(dir);
	int32_t n_tok = lfm2_tokenizer_n_tokens(t);
	size_t checked = 0;
	static const char *ctx[][2] = {{"", ""}, {"x", "y"}, {" ", " "}, {"\n", "\n"}, {"<", ">"},
	                               {"<|", "|>"}, {"hello ", "world"}, {"12", "34"}, {"\xE6\x97", "\xA5"}};
	for (int32_t id = 0; id < n_tok; id++) {
		unsigned f = lfm2_tokenizer_token_flags(t, id);
		if (!(f & LFM2_TOK_ADDED))
			continue;
		size_t pl, n, dl;
		const char *p = lfm2_tokenizer_piece(t, id, &pl);
		char buf[512];
		for (size_t c = 0; c < sizeof ctx / sizeof ctx[0]; c++) {
			int k = snprintf(buf, sizeof buf, "%s%.*s%s", ctx[c][0], (int)pl, p, ctx[c][1]);
			int32_t *ids = enc(t, buf, (size_t)k, 0, &n);
			size_t hits = 0;
			for (size_t i = 0; i < n; i++)
				hits += ids[i] == id;
			/* a longer added token may legitimately contain this one ("<|x|>long") */
			bool longer = false;
			for (int32_t o = 0; o < n_tok && !longer; o++) {
				size_t ol;
				const char *op = lfm2_tokenizer_piece(t, o, &ol);
				longer = o != id && (lfm2_tokenizer_token_flags(t, o) & LFM2_TOK_ADDED) && ol > pl &&
				         memmem(buf, (size_t)k, op, ol);
			}
			CHECK(hits == 1 || longer, "added token %d in context %zu: appears %zu times", id, c, hits);
			char *d = dec(t, ids, n, LFM2_DECODE_RAW, &dl);
			CHECK(dl == (size_t)k && memcmp(d, buf, dl) == 0, "added token %d: round trip in context %zu", id, c);
			free(d);
			free(ids);
			checked++;
		}
		/* alone: exactly [id]; twice: [id, id] */
		int32_t *ids = enc(t, p, pl, 0, &n);
		CHECK(n == 1 && ids[0] == id, "added token %d alone must encode to itself", id);
		free(ids);
		int k = snprintf(buf, sizeof buf, "%.*s%.*s", (int)pl, p, (int)pl, p);
		ids = enc(t, buf, (size_t)k, 0, &n);
		CHECK(n == 2 && ids[0] == id && ids[1] == id, "added token %d twice", id);
		free(ids);
		/* SPLIT_SPECIAL: special tokens become plain text */
		if (f & LFM2_TOK_SPECIAL) {
			ids = enc(t, p, pl, LFM2_ENCODE_SPLIT_SPECIAL, &n);
			bool found = false;
			for (size_t i = 0; i < n; i++)
				found |= lfm2_tokenizer_token_flags(t, ids[i]) & LFM2_TOK_SPECIAL ? true : false;
			char *d = dec(t, ids, n, 0, &dl);
			CHECK(!found && n > 1 && dl == pl && memcmp(d, p, pl) == 0,
			      "SPLIT_SPECIAL: special token %d must encode as text", id);
			free(d);
			free(ids);
		}
		CHECK(lfm2_tokenizer_find(t, p, pl) == id, "find(piece of %d)", id);
	}
	/* the special token ids of LFM2 and their decode text */
	size_t pl;
	const char *p = lfm2_tokenizer_piece(t, 6, &pl);
	CHECK(p && pl == 12 && memcmp(p, "<|im_start|>", 12) == 0, "id 6 must be <|im_start|>");
	CHECK(lfm2_tokenizer_piece(t, -1, &pl) == NULL && lfm2_tokenizer_piece(t, n_tok, &pl) == NULL,
	      "piece of a missing id must be NULL");
	printf("special: %zu added-token contexts checked\n", checked);
	CHECK(checked >= 14 * 9, "too few added tokens");
	lfm2_tokenizer_close(t);
}

/* ------------------------------------------------------------ chat */

static void test_chat(const char *tiny_dir, const char *b_dir, const char *exp)
{
	lfm2_tokenizer *tiny = load(tiny_dir), *tb = load(b_dir);
	CHECK(lfm2_tokenizer_chat_style(tiny) == LFM2_CHAT_CHATML, "trained-tiny's template must be CHATML");
	CHECK(lfm2_tokenizer_chat_style(tb) == LFM2_CHAT_LFM25, "tok-b's template must be LFM25");
	char *path = path_join(exp, "chat.json");
	size_t len;
	char *text = read_file(path, &len);
	free(path);
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
	if (!cJSON_IsArray(cases))
		die("chat.json: no cases");
	int renders = 0, id_checks = 0;
	for (const cJSON *c = cases->child; c; c = c->next) {
		const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
		const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(c, "messages");
		const cJSON *tools = cJSON_GetObjectItemCaseSensitive(c, "tools");
		int gen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "add_generation_prompt"));
		lfm2_chat_message m[16];
		size_t nm = 0;
		for (const cJSON *x = msgs->child; x && nm < 16; x = x->next, nm++) {
			m[nm].role = cJSON_GetObjectItemCaseSensitive(x, "role")->valuestring;
			m[nm].content = cJSON_GetObjectItemCaseSensitive(x, "content")->valuestring;
		}
		const char *tj = cJSON_IsString(tools) ? tools->valuestring : NULL;
		const cJSON *rendered = cJSON_GetObjectItemCaseSensitive(c, "rendered");
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c, "ids");
		for (const cJSON *r = rendered->child; r; r = r->next) {
			lfm2_tokenizer *by = strcmp(r->string, "LFM2.5-1.2B-Base") == 0 ? tb : tiny;
			char *out, err[256];
			size_t ol;
			if (lfm2_tokenizer_chat_render(by, m, nm, tj, gen, &out, &ol, err, sizeof err)) {
				CHECK_FAIL("chat %s/%s: %s", name, r->string, err);
				continue;
			}
			renders++;
			if (ol != strlen(r->valuestring) || memcmp(out, r->valuestring, ol)) {
				CHECK_FAIL("chat %s/%s differs from @huggingface/jinja", name, r->string);
				printf("  C:    ");
				show_text(out, ol);
				printf("  jinja: ");
				show_text(r->valuestring, strlen(r->valuestring));
			}
			/* ids of the rendering, with each tokenizer (no extra BOS) */
			const cJSON *per = cJSON_GetObjectItemCaseSensitive(ids, r->string);
			lfm2_tokenizer *toks[2] = {tiny, tb};
			const char *names[2] = {"tiny", "b"};
			for (int k = 0; k < 2; k++) {
				const cJSON *want = cJSON_GetObjectItemCaseSensitive(per, names[k]);
				int32_t w[4096];
				size_t wn = 0, n;
				for (const cJSON *x = want ? want->child : NULL; x && wn < 4096; x = x->next)
					w[wn++] = (int32_t)x->valuedouble;
				int32_t *got = enc(toks[k], r->valuestring, strlen(r->valuestring), 0, &n);
				CHECK(ids_eq(got, n, w, wn), "chat %s/%s: ids with %s differ", name, r->string, names[k]);
				id_checks++;
				free(got);
			}
			free(out);
		}
	}
	/* errors: no template, bad tools JSON */
	char *out, err[256];
	size_t ol;
	lfm2_chat_message one = {"user", "x"};
	CHECK(lfm2_chat_render(LFM2_CHAT_NONE, "", &one, 1, NULL, 1, &out, &ol, err, sizeof err) == -1 &&
	      strstr(err, "chat template"), "style NONE must fail");
	static const char *bad_tools[] = {"{", "[1,", "{\"a\":1}", "[\"\\ud800\"]", "[01]", "[1] x", "[\"\x01\"]",
	                                  "[{\"a\" 1}]", "[tru]"};
	for (size_t i = 0; i < sizeof bad_tools / sizeof bad_tools[0]; i++)
		CHECK(lfm2_chat_render(LFM2_CHAT_LFM25, "", &one, 1, bad_tools[i], 1, &out, &ol, err, sizeof err) == -1 &&
		      strstr(err, "tools JSON"), "bad tools JSON '%s' must fail", bad_tools[i]);
	printf("chat: %d renderings and %d id lists match\n", renders, id_checks);
	CHECK(renders >= 30, "too few chat renderings");
	cJSON_Delete(root);
	free(text);
	lfm2_tokenizer_close(tiny);
	lfm2_tokenizer_close(tb);
}

/* ------------------------------------------------------------ the table */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void reseal(uint8_t *b, size_t n)
{
	uint64_t h = fnv1a64(b + 32, n - 32);
	for (int i = 0; i < 8; i++)
		b[24 + i] = (uint8_t)(h >> (8 * i));
}

static void exercise(const lfm2_tokenizer *t)
{
	static const char *s[] = {"Hello, world! 123 <|im_start|>", "naïve 日本語 🙂\n\n  x", "'s 'LL  \t"};
	for (int i = 0; i < 3; i++) {
		int32_t *ids;
		size_t n, dl;
		char *d, err[64];
		if (lfm2_tokenizer_encode(t, s[i], strlen(s[i]), LFM2_ENCODE_ADD_SPECIAL, &ids, &n) == 0) {
			if (lfm2_tokenizer_decode(t, ids, n, 0, &d, &dl, err, sizeof err) == 0)
				free(d);
			free(ids);
		}
	}
}

static void test_table(const char *dir)
{
	size_t n;
	uint8_t *good = build_table(dir, &n);
	uint8_t *b = malloc(n + 16);
	char err[256];
	lfm2_tokenizer *t;
	/* every truncation */
	size_t trunc_ok = 0;
	for (size_t k = 0; k < n; k++) {
		memcpy(b, good, k);
		if (lfm2_tokenizer_open(b, k, &t, err, sizeof err) == 0) {
			CHECK_FAIL("truncated table (%zu of %zu bytes) opened", k, n);
			lfm2_tokenizer_close(t);
		} else
			trunc_ok++;
	}
	CHECK(lfm2_tokenizer_open(NULL, 0, &t, err, sizeof err) == -1, "NULL table");
	/* a flipped bit anywhere after the header: the checksum */
	uint64_t x = 88172645463325252ull;
	size_t flips = 0;
	for (int i = 0; i < 300; i++) {
		memcpy(b, good, n);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t at = 32 + (size_t)(x % (n - 32));
		b[at] ^= (uint8_t)(1u << (x >> 40) % 8);
		if (lfm2_tokenizer_open(b, n, &t, err, sizeof err) == 0) {
			CHECK_FAIL("corrupt table (bit flip at %zu) opened", at);
			lfm2_tokenizer_close(t);
		} else
			flips += strstr(err, "checksum") != NULL;
	}
	CHECK(flips == 300, "bit flips must fail the checksum (%zu of 300)", flips);
	/* corruption that passes the checksum (re-sealed): structural checks must
	 * refuse it or yield a tokenizer that works without crashing */
	size_t refused = 0, opened = 0;
	for (int i = 0; i < 3000; i++) {
		memcpy(b, good, n);
		for (int k = 0; k < 1 + i % 4; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (i % 3 == 0) ? 32 + (size_t)(x % 160) : 32 + (size_t)(x % (n - 32));
			b[at] = (uint8_t)(x >> 32);
		}
		reseal(b, n);
		if (lfm2_tokenizer_open(b, n, &t, err, sizeof err) == 0) {
			exercise(t);
			lfm2_tokenizer_close(t);
			opened++;
		} else {
			CHECK(strncmp(err, "tokenizer table: ", 17) == 0 && !strchr(err, '\n'), "error message: %s", err);
			refused++;
		}
	}
	/* a few specific ones */
	memcpy(b, good, n);
	b[0] = 'X';
	CHECK(lfm2_tokenizer_open(b, n, &t, err, sizeof err) == -1 && strstr(err, "magic"), "bad magic: %s", err);
	memcpy(b, good, n);
	b[8] = 9;
	CHECK(lfm2_tokenizer_open(b, n, &t, err, sizeof err) == -1 && strstr(err, "version"), "bad version: %s", err);
	memcpy(b, good, n);
	b[12] = 200;   /* 200 sections: directory runs into the data */
	reseal(b, n);
	CHECK(lfm2_tokenizer_open(b, n, &t, err, sizeof err) == -1, "bad section count");
	memcpy(b, good, n);
	memcpy(b + 32, "XXXX", 4);   /* META renamed: missing section */
	reseal(b, n);
	CHECK(lfm2_tokenizer_open(b, n, &t, err, sizeof err) == -1 && strstr(err, "META missing"), "missing META: %s",
	      err);
	/* a bigger buffer than the table is fine */
	memcpy(b, good, n);
	memset(b + n, 0xAB, 16);
	CHECK(lfm2_tokenizer_open(b, n + 16, &t, err, sizeof err) == 0, "table with trailing bytes: %s", err);
	lfm2_tokenizer_close(t);
	printf("table: %zu truncations refused, 300 bit flips refused, %zu re-sealed corruptions refused, %zu opened "
	       "and exercised\n", trunc_ok, refused, opened);
	CHECK(refused > 1000, "structural checks refused only %zu corruptions", refused);
	free(b);
	free(good);
}

/* ------------------------------------------------------------ bad tokenizer.json */

static cJSON *base_json;

/* Applies an edit to a copy of the good tokenizer.json and expects an error
 * containing `want`. */
static void expect_bad(const char *what, void (*edit)(cJSON *), const char *want)
{
	cJSON *j = cJSON_Duplicate(base_json, 1);
	edit(j);
	char *text = cJSON_PrintUnformatted(j);
	LfmError e;
	void *bytes;
	size_t n;
	int rc = lfm_tokenizer_build_text(text, strlen(text), NULL, 0, NULL, 0, "m/tokenizer.json", &bytes, &n, &e);
	CHECK(rc == -1, "%s: accepted", what);
	if (rc == -1) {
		CHECK(strstr(e.msg, want) && strncmp(e.msg, "m/tokenizer.json: ", 18) == 0 && !strchr(e.msg, '\n'),
		      "%s: message '%s' should name the file and contain '%s'", what, e.msg, want);
		printf("  %-28s -> %s\n", what, e.msg);
	} else {
		free(bytes);
	}
	cJSON_free(text);
	cJSON_Delete(j);
}

static cJSON *model(cJSON *j) { return cJSON_GetObjectItemCaseSensitive(j, "model"); }
static cJSON *pre(cJSON *j) { return cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer"); }
static void replace(cJSON *o, const char *k, cJSON *v) { cJSON_ReplaceItemInObjectCaseSensitive(o, k, v); }

static void e_no_model(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(j, "model"); }
static void e_wordpiece(cJSON *j) { replace(model(j), "type", cJSON_CreateString("WordPiece")); }
static void e_no_type(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(model(j), "type"); }
static void e_metaspace(cJSON *j) { replace(pre(j), "type", cJSON_CreateString("Metaspace")); }
static void e_whitespace_step(cJSON *j)
{
	cJSON *steps = cJSON_GetObjectItemCaseSensitive(pre(j), "pretokenizers");
	replace(cJSON_GetArrayItem(steps, 1), "type", cJSON_CreateString("Whitespace"));
}
static void e_regex(cJSON *j)
{
	cJSON *steps = cJSON_GetObjectItemCaseSensitive(pre(j), "pretokenizers");
	cJSON *pat = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(steps, 0), "pattern");
	replace(pat, "Regex", cJSON_CreateString("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"));
}
static void e_use_regex(cJSON *j)
{
	cJSON *steps = cJSON_GetObjectItemCaseSensitive(pre(j), "pretokenizers");
	replace(cJSON_GetArrayItem(steps, 1), "use_regex", cJSON_CreateTrue());
}
static void e_merged_with(cJSON *j)
{
	cJSON *steps = cJSON_GetObjectItemCaseSensitive(pre(j), "pretokenizers");
	replace(cJSON_GetArrayItem(steps, 0), "behavior", cJSON_CreateString("MergedWithPrevious"));
}
static void set_merge(cJSON *j, cJSON *m) { cJSON_ReplaceItemInArray(cJSON_GetObjectItemCaseSensitive(model(j), "merges"), 3, m); }
static void e_merge_nospace(cJSON *j) { set_merge(j, cJSON_CreateString("ab")); }
static void e_merge_3(cJSON *j) { set_merge(j, cJSON_CreateString("a b c")); }
static void e_merge_pair1(cJSON *j)
{
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, cJSON_CreateString("a"));
	set_merge(j, a);
}
static void e_merge_num(cJSON *j) { set_merge(j, cJSON_CreateNumber(5)); }
static void e_merge_unknown(cJSON *j) { set_merge(j, cJSON_CreateString("\xE2\x82\xAC\xE2\x82\xAC q")); }
static void e_merge_result(cJSON *j) { set_merge(j, cJSON_CreateString("q q")); }  /* "qq" not in the vocab */
static void e_dup_id(cJSON *j) { replace(cJSON_GetObjectItemCaseSensitive(model(j), "vocab"), "a", cJSON_CreateNumber(14)); }
static void e_bad_id(cJSON *j) { replace(cJSON_GetObjectItemCaseSensitive(model(j), "vocab"), "a", cJSON_CreateNumber(1.5)); }
static void e_neg_id(cJSON *j) { replace(cJSON_GetObjectItemCaseSensitive(model(j), "vocab"), "a", cJSON_CreateNumber(-3)); }
static void e_dup_added(cJSON *j)
{
	cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "added_tokens"), 3);
	replace(t, "id", cJSON_CreateNumber(2));
}
static void e_lstrip(cJSON *j)
{
	cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "added_tokens"), 6);
	replace(t, "lstrip", cJSON_CreateTrue());
}
static void e_normalizer(cJSON *j)
{
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "type", "NFC");
	replace(j, "normalizer", n);
}
static void e_byte_fallback(cJSON *j) { replace(model(j), "byte_fallback", cJSON_CreateTrue()); }
static void e_unk(cJSON *j) { replace(model(j), "unk_token", cJSON_CreateString("<|pad|>")); }
static void e_dropout(cJSON *j) { replace(model(j), "dropout", cJSON_CreateNumber(0.1)); }
static void e_decoder(cJSON *j) { replace(cJSON_GetObjectItemCaseSensitive(j, "decoder"), "type", cJSON_CreateString("Metaspace")); }
static void e_post(cJSON *j) { replace(cJSON_GetObjectItemCaseSensitive(j, "post_processor"), "type", cJSON_CreateString("BertProcessing")); }
static void e_truncation(cJSON *j) { replace(j, "truncation", cJSON_CreateObject()); }
static void e_no_vocab(cJSON *j) { cJSON_DeleteItemFromObjectCaseSensitive(model(j), "vocab"); }

/* TMP/name holding tokenizer.json (text) and, if not NULL, config.json and
 * generation_config.json with these texts. */
static char *model_dir_with(const char *tmp, const char *name, const char *tokjson, const char *config,
                            const char *gencfg)
{
	char *d = path_join(tmp, name);
	mkdir(d, 0777);
	const char *names[3] = {"tokenizer.json", "config.json", "generation_config.json"};
	const char *texts[3] = {tokjson, config, gencfg};
	for (int i = 0; i < 3; i++) {
		char *p = path_join(d, names[i]);
		remove(p);
		if (texts[i])
			write_file(p, texts[i]);
		free(p);
	}
	return d;
}

/* lfm_tokenizer_build on a model directory: the tokenizer's ids must fit
 * config.json's vocab_size (a padded vocabulary is fine), generation
 * config token ids must be inside it, and a side file that is a FIFO is an
 * error at once (the alarm ends the test if it ever blocks again). */
static void test_model_dirs(const char *tokjson, const char *tmp)
{
	void *bytes;
	size_t n;
	LfmError e;
	lfm2_tokenizer *t;
	char err[256];
	if (lfm_tokenizer_build_text(tokjson, strlen(tokjson), NULL, 0, NULL, 0, "m/tokenizer.json", &bytes, &n, &e) != 1 ||
	    lfm2_tokenizer_open(bytes, n, &t, err, sizeof err) != 0)
		die("cannot build the good table");
	free(bytes);
	int ids = lfm2_tokenizer_n_tokens(t);
	lfm2_tokenizer_close(t);
	struct {
		const char *name;
		int vocab;               /* config.json's vocab_size */
		const char *gencfg;      /* generation_config.json, %d = id */
		int id;
		const char *want;        /* NULL: builds */
	} cases[] = {
		{"vocab-exact", ids, NULL, 0, NULL},
		{"vocab-padded", ids + 100, NULL, 0, NULL},
		{"vocab-one-short", ids - 1, NULL, 0, "but config.json's vocab_size is"},
		{"vocab-tiny", 8, NULL, 0, "but config.json's vocab_size is 8: ids from 8 up have no embedding row"},
		{"gen-eos-in-padding", ids + 100, "{\"eos_token_id\": [7, %d]}", ids + 50, NULL},
		{"gen-eos-past-vocab", ids + 100, "{\"eos_token_id\": [7, %d]}", ids + 100, "eos_token_id[1] is"},
		{"gen-bos-past-vocab", ids, "{\"bos_token_id\": %d}", ids, "bos_token_id is"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char config[64], gencfg[96];
		snprintf(config, sizeof config, "{\"vocab_size\": %d}", cases[i].vocab);
		if (cases[i].gencfg)
			snprintf(gencfg, sizeof gencfg, cases[i].gencfg, cases[i].id);
		char *d = model_dir_with(tmp, cases[i].name, tokjson, config, cases[i].gencfg ? gencfg : NULL);
		int rc = lfm_tokenizer_build(d, &bytes, &n, &e);
		if (rc == 1)
			free(bytes);
		if (cases[i].want)
			CHECK(rc == -1 && strstr(e.msg, cases[i].want) && strstr(e.msg, d) && !strchr(e.msg, '\n'),
			      "%s: rc %d, '%s' (want '%s')", cases[i].name, rc, rc == -1 ? e.msg : "", cases[i].want);
		else
			CHECK(rc == 1, "%s: rc %d: %s", cases[i].name, rc, rc == -1 ? e.msg : "");
		free(d);
	}
	/* a FIFO or a directory as a side file: refused, never read */
	char *d = model_dir_with(tmp, "side-fifo", tokjson, NULL, NULL);
	char *side = path_join(d, "tokenizer_config.json");
	remove(side);
	CHECK(mkfifo(side, 0644) == 0, "mkfifo %s", side);
	alarm(20);
	int rc = lfm_tokenizer_build(d, &bytes, &n, &e);
	alarm(0);
	CHECK(rc == -1 && strstr(e.msg, "tokenizer_config.json: not a regular file (a FIFO)"), "side FIFO: rc %d, %s", rc,
	      rc == -1 ? e.msg : "");
	remove(side);
	CHECK(mkdir(side, 0755) == 0, "mkdir %s", side);
	rc = lfm_tokenizer_build(d, &bytes, &n, &e);
	CHECK(rc == -1 && strstr(e.msg, "tokenizer_config.json: not a regular file (a directory)"), "side dir: rc %d, %s",
	      rc, rc == -1 ? e.msg : "");
	rmdir(side);
	free(side);
	free(d);
}

static void test_badjson(const char *dir, const char *tmp)
{
	char *path = path_join(dir, "tokenizer.json");
	size_t len;
	char *text = read_file(path, &len);
	free(path);
	base_json = cJSON_ParseWithLength(text, len);
	if (!base_json)
		die("cannot parse the good tokenizer.json");
	struct {
		const char *what;
		void (*edit)(cJSON *);
		const char *want;
	} cases[] = {
		{"missing model", e_no_model, "model is missing"},
		{"model type WordPiece", e_wordpiece, "model type 'WordPiece' is not supported"},
		{"model without type", e_no_type, "model.type is missing"},
		{"no vocab", e_no_vocab, "model.vocab is missing"},
		{"pre-tokenizer Metaspace", e_metaspace, "pre_tokenizer 'Metaspace' is not supported"},
		{"pre-tokenizer step", e_whitespace_step, "second step 'Whitespace' is not supported"},
		{"other regex", e_regex, "unsupported Split regex"},
		{"ByteLevel use_regex", e_use_regex, "use_regex must be false"},
		{"Split behavior", e_merged_with, "behavior 'MergedWithPrevious' is not supported"},
		{"merge without space", e_merge_nospace, "merges[3]: malformed merge 'ab'"},
		{"merge with 3 parts", e_merge_3, "merges[3]: malformed merge 'a b c'"},
		{"merge pair of 1", e_merge_pair1, "merges[3]: malformed merge"},
		{"merge number", e_merge_num, "merges[3]: malformed merge (a number"},
		{"merge unknown token", e_merge_unknown, "is not in the vocabulary"},
		{"merge result unknown", e_merge_result, "merged token 'qq' is not in the vocabulary"},
		{"duplicate vocab id", e_dup_id, "duplicate id 14"},
		{"fractional id", e_bad_id, "bad id"},
		{"negative id", e_neg_id, "bad id"},
		{"duplicate added id", e_dup_added, "duplicate id 2"},
		{"added lstrip", e_lstrip, "lstrip=true is not supported"},
		{"normalizer", e_normalizer, "normalizer 'NFC' is not supported"},
		{"byte_fallback", e_byte_fallback, "byte_fallback=true is not supported"},
		{"unk_token", e_unk, "unk_token is not supported"},
		{"dropout", e_dropout, "dropout is not supported"},
		{"decoder", e_decoder, "decoder 'Metaspace' is not supported"},
		{"post-processor", e_post, "post_processor 'BertProcessing' is not supported"},
		{"truncation", e_truncation, "truncation settings are not supported"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_bad(cases[i].what, cases[i].edit, cases[i].want);
	/* malformed JSON, wrong top level, bad config */
	LfmError e;
	void *bytes;
	size_t n;
	CHECK(lfm_tokenizer_build_text("{\"model\": ", 10, NULL, 0, NULL, 0, "m/tokenizer.json", &bytes, &n, &e) == -1 &&
	      strstr(e.msg, "malformed JSON"), "truncated JSON: %s", e.msg);
	CHECK(lfm_tokenizer_build_text("[1]", 3, NULL, 0, NULL, 0, "m/tokenizer.json", &bytes, &n, &e) == -1 &&
	      strstr(e.msg, "top level"), "array at top: %s", e.msg);
	CHECK(lfm_tokenizer_build_text(text, len, "{\"bos_token\": \"<nope>\"}", 23, NULL, 0, "m/tokenizer.json", &bytes,
	                               &n, &e) == -1 && strstr(e.msg, "m/tokenizer_config.json: bos_token '<nope>'"),
	      "bad bos_token: %s", e.msg);
	CHECK(lfm_tokenizer_build_text(text, len, "{\"bos_token\": ", 14, NULL, 0, "m/tokenizer.json", &bytes, &n, &e) ==
	      -1 && strstr(e.msg, "tokenizer_config.json"), "bad config JSON: %s", e.msg);
	/* a good one with an unknown template: builds, style NONE */
	CHECK(lfm_tokenizer_build_text(text, len, "{\"bos_token\": {\"content\": \"<|startoftext|>\"}}", 45,
	                               "{{ messages }}", 14, "m/tokenizer.json", &bytes, &n, &e) == 1,
	      "good tokenizer: %s", e.msg);
	lfm2_tokenizer *t;
	char err[128];
	if (lfm2_tokenizer_open(bytes, n, &t, err, sizeof err) == 0) {
		CHECK(lfm2_tokenizer_chat_style(t) == LFM2_CHAT_NONE && lfm2_tokenizer_bos(t) == 1 &&
		      lfm2_tokenizer_eos(t) == -1, "unknown template / partial config");
		lfm2_chat_message one = {"user", "x"};
		char *out;
		size_t ol;
		CHECK(lfm2_tokenizer_chat_render(t, &one, 1, NULL, 1, &out, &ol, err, sizeof err) == -1,
		      "chat without a known template must fail");
		lfm2_tokenizer_close(t);
	} else
		CHECK_FAIL("open: %s", err);
	free(bytes);
	/* directories: none, broken */
	mkdir(tmp, 0777);
	char *empty = path_join(tmp, "no-tokenizer");
	mkdir(empty, 0777);
	CHECK(lfm_tokenizer_build(empty, &bytes, &n, &e) == 0 && bytes == NULL, "directory without tokenizer.json must give 0");
	char *broken = path_join(tmp, "broken");
	mkdir(broken, 0777);
	char *bj = path_join(broken, "tokenizer.json");
	write_file(bj, "{\"model\": {\"type\": \"Unigram\"}, \"pre_tokenizer\": null}");
	CHECK(lfm_tokenizer_build(broken, &bytes, &n, &e) == -1 && strstr(e.msg, bj), "broken dir: %s", e.msg);
	test_model_dirs(text, tmp);
	printf("badjson: %zu edits + 5 texts + 2 directories + model directories\n", sizeof cases / sizeof cases[0]);
	free(bj);
	free(broken);
	free(empty);
	free(text);
	cJSON_Delete(base_json);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: test_tokenizer MODE ARGS...");
	const char *mode = argv[1];
	if (!strcmp(mode, "parity") && argc == 5)
		test_parity(argv[2], argv[3], argv[4]);
	else if (!strcmp(mode, "decode") && argc == 5)
		test_decode(argv[2], argv[3], argv[4]);
	else if (!strcmp(mode, "invalid") && argc == 4)
		test_invalid(argv[2], argv[3]);
	else if (!strcmp(mode, "bytes") && argc == 3)
		test_bytes(argv[2]);
	else if (!strcmp(mode, "uclass") && argc == 4)
		test_uclass(argv[2], argv[3]);
	else if (!strcmp(mode, "fold") && argc == 3)
		test_fold(argv[2]);
	else if (!strcmp(mode, "vectors") && argc == 4)
		test_vectors(argv[2], argv[3]);
	else if (!strcmp(mode, "special") && argc == 3)
		test_special(argv[2]);
	else if (!strcmp(mode, "chat") && argc == 5)
		test_chat(argv[2], argv[3], argv[4]);
	else if (!strcmp(mode, "table") && argc == 3)
		test_table(argv[2]);
	else if (!strcmp(mode, "badjson") && argc == 4)
		test_badjson(argv[2], argv[3]);
	else if (!strcmp(mode, "dump") && argc == 4) {
		size_t n;
		void *bytes = build_table(argv[2], &n);
		FILE *f = fopen(argv[3], "wb");
		if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0)
			die("cannot write %s", argv[3]);
		free(bytes);
		return 0;
	}
	else
		die("bad mode or arguments: %s", mode);
	return check_finish(mode);
}
