/*
 * fuzz_tok.c — decode agreement and UTF-8 well-formedness for the
 * tokenizer harnesses (see fuzz_tok.h).
 *
 * The UTF-8 check is written from the table of well-formed byte sequences
 * in the Unicode standard (Table 3-7) rather than from the runtime's own
 * decoder, so the codec harness does not test the tokenizer against
 * itself.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_tok.h"

/* Decodes ids whole and streamed with `flags`; both must agree. */
void fuzz_check_decode(const lfm2_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags)
{
	char msg[256];
	char *text = NULL;
	size_t len = 0;
	int rc = lfm2_tokenizer_decode(tok, ids, n, flags, &text, &len, msg, sizeof msg);
	FUZZ_ASSERT(rc == 0, "decoding ids that exist failed: %s", msg);
	FUZZ_ASSERT(text[len] == 0, "decoded text not NUL-terminated");

	lfm2_decode_stream s;
	lfm2_decode_stream_init(&s, tok, flags);
	char *acc = malloc(len + 1);
	if (!acc)
		fuzz_die("out of memory");
	size_t got = 0;
	for (size_t i = 0; i <= n; i++) {
		const char *piece;
		size_t plen;
		rc = i < n ? lfm2_decode_stream_push(&s, ids[i], &piece, &plen, msg, sizeof msg)
		           : lfm2_decode_stream_finish(&s, &piece, &plen, msg, sizeof msg);
		FUZZ_ASSERT(rc == 0, "streaming decode failed at %zu: %s", i, msg);
		FUZZ_ASSERT(got + plen <= len, "streamed text longer than the whole decode");
		if (plen)
			memcpy(acc + got, piece, plen);
		got += plen;
	}
	lfm2_decode_stream_free(&s);
	FUZZ_ASSERT(got == len && memcmp(acc, text, len) == 0, "streamed decode differs (flags %u)", flags);
	free(acc);
	free(text);
}

bool fuzz_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint8_t lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;          /* no overlongs */
			else if (c == 0xED)
				hi = 0x9F;          /* no surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;          /* no overlongs */
			else if (c == 0xF4)
				hi = 0x8F;          /* nothing past U+10FFFF */
		} else {
			return false;
		}
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += len;
	}
	return true;
}
