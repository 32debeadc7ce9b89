/*
 * fuzz_tokenizer_codec.c — encoding and decoding with LFM2's real
 * tokenizer on arbitrary text and ids (runtime_stub/tokenizer_encode.c,
 * tokenizer_decode.c), and the chat renderer with its tools-JSON reader
 * (tokenizer_chat.c).
 *
 * The table is built once, on the first input, from the tokenizer of the
 * test suite (tests/tokenizer/data/tiny: LFM2's pipeline, a 2048-token
 * vocabulary, ChatML template) with the frontend, as `lfm2c compile` does.
 * What lfm2-run does with user input is then fuzzed.  The first input byte
 * chooses what, the rest is the payload:
 *
 *   bit 2 clear, bit 5 clear   text mode: the payload is text to encode
 *                              (bit 0: ADD_SPECIAL, bit 1: SPLIT_SPECIAL);
 *   bit 2 set                  ids mode: the payload is little-endian i32
 *                              ids to decode (bit 3: folded into
 *                              [-4, n_tokens + 4) so most exist; bits 0-1:
 *                              the decode flags SKIP_SPECIAL and RAW);
 *   bit 5 set (bit 2 clear)    chat mode: the payload, split at NULs, is a
 *                              tools JSON text (empty = none) and then
 *                              role, content, role, content, ... (bit 6:
 *                              LFM2.5 style, which reads the tools; else
 *                              ChatML; bit 7: add the generation prompt).
 *
 * Invariants checked (all from lfm2_tokenizer.h):
 *   - text: decoding the ids with RAW gives the text back byte for byte,
 *     whatever it is (invalid UTF-8 included); for well-formed UTF-8 the
 *     ordinary lossy decode gives it back too; ADD_SPECIAL adds exactly
 *     the ids it adds to the empty text; the split's pieces tile the text;
 *     whole and streamed decoding agree for every flag combination;
 *   - ids: decode fails exactly when some id does not exist, and when it
 *     succeeds whole and streamed decoding agree;
 *   - chat: the tokenizer's own renderer equals the generic one with the
 *     tokenizer's style and BOS text; a rendered conversation encodes and
 *     decodes back to itself.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "tokenizer.h"
#include "lfm2_tokenizer.h"
#include "fuzz.h"
#include "fuzz_tok.h"

#ifndef LFM2C_FUZZ_TOKENIZER_DIR
#error "LFM2C_FUZZ_TOKENIZER_DIR must name the test tokenizer's directory"
#endif

#define MAX_IDS 4096
#define MAX_MSGS 16

static lfm2_tokenizer *tok;
static size_t n_added_by_special;   /* ids ADD_SPECIAL puts around any text */

static void close_tokenizer(void)
{
	lfm2_tokenizer_close(tok);
	tok = NULL;
}

static int32_t *encode(const char *text, size_t len, unsigned flags, size_t *n)
{
	int32_t *ids = NULL;
	if (lfm2_tokenizer_encode(tok, text, len, flags, &ids, n) != 0)
		fuzz_die("encode: out of memory");
	FUZZ_ASSERT(ids != NULL, "encode gave NULL ids");
	return ids;
}

static void setup(void)
{
	void *bytes = NULL;
	size_t n = 0;
	LfmError err;
	if (lfm_tokenizer_build(LFM2C_FUZZ_TOKENIZER_DIR, &bytes, &n, &err) != 1)
		fuzz_die("building the tokenizer of %s: %s", LFM2C_FUZZ_TOKENIZER_DIR, err.msg);
	char msg[256];
	if (lfm2_tokenizer_open(bytes, n, &tok, msg, sizeof msg) != 0)
		fuzz_die("opening the tokenizer of %s: %s", LFM2C_FUZZ_TOKENIZER_DIR, msg);
	free(bytes);
	if (atexit(close_tokenizer) != 0)
		fuzz_die("atexit failed");
	int32_t *ids = encode("", 0, LFM2_ENCODE_ADD_SPECIAL, &n_added_by_special);
	free(ids);
}

/* Encodes text with flags (without ADD_SPECIAL) and checks the round trips. */
static void check_text(const char *text, size_t len, unsigned flags)
{
	size_t n = 0;
	int32_t *ids = encode(text, len, flags & LFM2_ENCODE_SPLIT_SPECIAL, &n);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(lfm2_tokenizer_piece(tok, ids[i], &(size_t){0}) != NULL, "encode gave id %d, which does not exist",
		            (int)ids[i]);
	char msg[256];
	char *back = NULL;
	size_t back_len = 0;
	int rc = lfm2_tokenizer_decode(tok, ids, n, LFM2_DECODE_RAW, &back, &back_len, msg, sizeof msg);
	FUZZ_ASSERT(rc == 0, "decode of encoded ids failed: %s", msg);
	FUZZ_ASSERT(back_len == len && memcmp(back, text, len) == 0,
	            "RAW decode does not give the text back (%zu bytes in, %zu out)", len, back_len);
	free(back);
	if (fuzz_utf8_valid((const uint8_t *)text, len)) {
		rc = lfm2_tokenizer_decode(tok, ids, n, 0, &back, &back_len, msg, sizeof msg);
		FUZZ_ASSERT(rc == 0, "decode of encoded ids failed: %s", msg);
		FUZZ_ASSERT(back_len == len && memcmp(back, text, len) == 0,
		            "decode does not give well-formed UTF-8 back (%zu bytes in, %zu out)", len, back_len);
		free(back);
	}
	for (unsigned df = 0; df < 4; df++)
		fuzz_check_decode(tok, ids, n, df);

	if (flags & LFM2_ENCODE_ADD_SPECIAL) {
		size_t n2 = 0;
		int32_t *ids2 = encode(text, len, flags, &n2);
		FUZZ_ASSERT(n2 == n + n_added_by_special, "ADD_SPECIAL gave %zu ids, expected %zu + %zu", n2, n,
		            n_added_by_special);
		free(ids2);
	}
	free(ids);
}

static void check_split(const char *text, size_t len)
{
	size_t ends[256];
	long pieces = lfm2_tokenizer_pretokenize(tok, text, len, ends, 256);
	FUZZ_ASSERT(pieces >= 0, "pretokenize: out of memory");
	FUZZ_ASSERT((pieces == 0) == (len == 0), "%ld pieces for %zu bytes", pieces, len);
	for (long k = 0; k < pieces && k < 256; k++)
		FUZZ_ASSERT(ends[k] <= len && (k == 0 || ends[k] > ends[k - 1]), "piece ends not increasing at %ld", k);
	if (pieces > 0 && pieces <= 256)
		FUZZ_ASSERT(ends[pieces - 1] == len, "pieces end at %zu of %zu", ends[pieces - 1], len);
}

static void check_ids(const uint8_t *p, size_t n, unsigned ctl)
{
	size_t n_ids = n / 4 < MAX_IDS ? n / 4 : MAX_IDS;
	int32_t *ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
	if (!ids)
		fuzz_die("out of memory");
	int32_t nt = lfm2_tokenizer_n_tokens(tok);
	bool all_exist = true;
	for (size_t i = 0; i < n_ids; i++) {
		uint32_t v = fuzz_le32(p, n, 4 * i);
		ids[i] = (ctl & 8) ? (int32_t)(v % (uint32_t)(nt + 8)) - 4 : (int32_t)v;
		all_exist &= lfm2_tokenizer_piece(tok, ids[i], &(size_t){0}) != NULL;
	}
	unsigned flags = ctl & 3;
	char msg[256];
	char *text = NULL;
	size_t len = 0;
	int rc = lfm2_tokenizer_decode(tok, ids, n_ids, flags, &text, &len, msg, sizeof msg);
	if (all_exist) {
		FUZZ_ASSERT(rc == 0, "decode of existing ids failed: %s", msg);
		free(text);
		fuzz_check_decode(tok, ids, n_ids, flags);
	} else {
		FUZZ_ASSERT(rc != 0, "decode accepted an id that does not exist");
		fuzz_check_message(msg, sizeof msg);
	}
	free(ids);
}

static void check_chat(const uint8_t *p, size_t n, unsigned ctl)
{
	/* Split at NULs: tools, then role/content pairs (an odd one is dropped). */
	char *buf = fuzz_copy(p, n, 1);
	const char *part[1 + 2 * MAX_MSGS];
	size_t n_parts = 0;
	for (char *s = buf; n_parts < 1 + 2 * MAX_MSGS;) {
		part[n_parts++] = s;
		size_t l = strlen(s);
		if (s + l >= buf + n)
			break;
		s += l + 1;
	}
	const char *tools = *part[0] ? part[0] : NULL;
	lfm2_chat_message msgs[MAX_MSGS];
	size_t n_msgs = (n_parts - 1) / 2;
	for (size_t i = 0; i < n_msgs; i++)
		msgs[i] = (lfm2_chat_message){part[1 + 2 * i], part[2 + 2 * i]};
	lfm2_chat_style style = (ctl & 64) ? LFM2_CHAT_LFM25 : LFM2_CHAT_CHATML;
	int gen = (ctl & 128) != 0;

	size_t bos_len = 0;
	const char *bos = lfm2_tokenizer_piece(tok, lfm2_tokenizer_bos(tok), &bos_len);
	char *bos_text = fuzz_copy((const uint8_t *)(bos ? bos : ""), bos ? bos_len : 0, 1);
	char msg[256];
	char *out = NULL;
	size_t out_len = 0;
	int rc = lfm2_chat_render(style, bos_text, msgs, n_msgs, tools, gen, &out, &out_len, msg, sizeof msg);
	if (rc != 0) {
		FUZZ_ASSERT(out == NULL, "failed render left output");
		fuzz_check_message(msg, sizeof msg);
		fuzz_note("%s", msg);
	} else {
		FUZZ_ASSERT(out != NULL && out[out_len] == 0 && strlen(out) == out_len,
		            "rendered text is not a %zu-byte string", out_len);
		check_text(out, out_len, 0);
	}
	if (lfm2_tokenizer_chat_style(tok) == style) {
		char *own = NULL;
		size_t own_len = 0;
		int rc2 = lfm2_tokenizer_chat_render(tok, msgs, n_msgs, tools, gen, &own, &own_len, msg, sizeof msg);
		FUZZ_ASSERT(rc2 == rc, "tokenizer's renderer returned %d, generic %d", rc2, rc);
		if (rc == 0)
			FUZZ_ASSERT(own_len == out_len && memcmp(own, out, out_len) == 0, "the two renderers differ");
		free(own);
	}
	free(out);
	free(bos_text);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tok)
		setup();
	if (size == 0)
		return 0;
	unsigned ctl = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (ctl & 4) {
		check_ids(p, n, ctl);
	} else if (ctl & 32) {
		check_chat(p, n, ctl);
	} else {
		char *text = fuzz_copy(p, n, 0);
		check_split(text, n);
		check_text(text, n, ctl & 3);
		free(text);
	}
	return 0;
}
