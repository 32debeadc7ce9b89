/*
 * tokenizer_decode.c — ids -> text, as tokenizers' ByteLevel decoder does.
 *
 * Decoding concatenates token bytes (a model token's bytes may be a
 * fragment of a UTF-8 character; an added token's are its text).  The
 * bytes between two added tokens are turned into text lossily: each maximal
 * ill-formed UTF-8 subsequence becomes U+FFFD, the rule of Rust's
 * from_utf8_lossy and of WHATWG's TextDecoder.  LFM2_DECODE_RAW keeps the
 * bytes as they are instead, which gives back an encoded input byte for
 * byte.
 *
 * The streaming decoder is the one implementation: lfm2_tokenizer_decode()
 * pushes every id through a stream and concatenates what comes out, so the
 * two cannot disagree.  A stream holds back only the bytes of a character
 * that is not complete yet (at most 3), and an added token completes
 * whatever is pending (cut off there, it is ill-formed).
 *
 * This file also holds the growable string and the UTF-8 step that the
 * encoder and the chat renderer use as well (tokenizer_internal.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "tokenizer_internal.h"

/* ------------------------------------------------------------ strings */

void tok_str_put(Str *s, const void *data, size_t n)
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

void tok_str_cat(Str *s, const char *z)
{
	tok_str_put(s, z, strlen(z));
}

/* --------------------------------------------------------------- UTF-8
 * One step of a decoder that follows the Unicode "maximal subpart" rule:
 * a well-formed character, or the longest prefix of one that is followed
 * by a byte that cannot continue it (at least one byte), which counts as
 * one ill-formed unit. */

int tok_utf8_step(const uint8_t *s, size_t n, size_t *len, uint32_t *cp)
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
		int k = tok_utf8_step(s + i, n - i, &len, &cp);
		if (k == U8_OK) {
			i += len;
			continue;
		}
		if (k == U8_SHORT && !final)
			break;
		tok_str_put(out, s + run, i - run);
		if (raw)
			tok_str_put(out, s + i, len);
		else
			tok_str_put(out, REPLACEMENT, 3);
		i += len;
		run = i;
	}
	tok_str_put(out, s + run, i - run);
	return i;
}

/* ---------------------------------------------- the streaming decoder */

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

/* Hands out's text to the caller: the stream keeps the buffer (replacing
 * the previous one) until the next call. */
static int stream_out(lfm2_decode_stream *s, Str *out, const char **text, size_t *len, char *err,
                      size_t errlen)
{
	if (out->oom) {
		free(out->p);
		tok_set_err(err, errlen, "decode: out of memory");
		return -1;
	}
	free(s->buf);
	s->buf = out->p;
	s->cap = out->cap;
	*text = out->p ? out->p : "";
	*len = out->n;
	return 0;
}

/* A model token's bytes join the pending ones; an added token first ends
 * what is pending (as final), then its text is copied as it is. */
int lfm2_decode_stream_push(lfm2_decode_stream *s, int32_t id, const char **text, size_t *len, char *err,
                            size_t errlen)
{
	*text = "";
	*len = 0;
	const lfm2_tokenizer *t = s->tok;
	if (id < 0 || !id_ok(t, (uint32_t)id)) {
		tok_set_err(err, errlen, "decode: token id %d does not exist (vocabulary has %u ids)", id,
		            t->n_tokens);
		return -1;
	}
	unsigned f = t->tflags[id];
	if ((f & LFM2_TOK_SPECIAL) && (s->flags & LFM2_DECODE_SKIP_SPECIAL))
		return 0;
	size_t n;
	const uint8_t *p = piece_of(t, (uint32_t)id, &n);
	Str out = {0};
	tok_str_put(&out, "", 0);
	bool added = f & LFM2_TOK_ADDED;
	if (stream_emit(s, added ? NULL : p, added ? 0 : n, added, &out))
		out.oom = true;
	if (added)
		tok_str_put(&out, p, n);
	return stream_out(s, &out, text, len, err, errlen);
}

int lfm2_decode_stream_finish(lfm2_decode_stream *s, const char **text, size_t *len, char *err, size_t errlen)
{
	Str out = {0};
	tok_str_put(&out, "", 0);
	if (stream_emit(s, NULL, 0, true, &out))
		out.oom = true;
	return stream_out(s, &out, text, len, err, errlen);
}

/* ------------------------------------------------------- whole decode */

/* Every id through one stream, the outputs concatenated. */
int lfm2_tokenizer_decode(const lfm2_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                          char **text, size_t *len, char *err, size_t errlen)
{
	*text = NULL;
	*len = 0;
	lfm2_decode_stream s;
	lfm2_decode_stream_init(&s, t, flags);
	Str out = {0};
	tok_str_put(&out, "", 0);
	for (size_t i = 0; i < n; i++) {
		const char *p;
		size_t k;
		if (lfm2_decode_stream_push(&s, ids[i], &p, &k, err, errlen)) {
			free(out.p);
			lfm2_decode_stream_free(&s);
			return -1;
		}
		tok_str_put(&out, p, k);
	}
	const char *p;
	size_t k;
	int rc = lfm2_decode_stream_finish(&s, &p, &k, err, errlen);
	if (rc == 0)
		tok_str_put(&out, p, k);
	lfm2_decode_stream_free(&s);
	if (rc == 0 && out.oom) {
		tok_set_err(err, errlen, "decode: out of memory");
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
