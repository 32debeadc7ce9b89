/*
 * fuzz_tokenizer_table.c — the runtime's tokenizer table from arbitrary
 * bytes (runtime_stub/tokenizer_table.c: lfm2_tokenizer_open).
 *
 * The input is a table as lfm2c writes it (tokenizer.bin, format in
 * lfm2_tokenizer.h).  lfm2-run reads that file from disk, so everything in
 * it is untrusted; lfm2_tokenizer_open promises that a truncated or
 * corrupt table is an error, never a crash.
 *
 * One liberty: the header's FNV-1a checksum of bytes [32, total) would
 * stop almost every mutated table at the first check, so when the header's
 * total is within the input the harness writes the matching checksum into
 * its copy before opening it.  That leaves only the three lines comparing
 * the checksum unfuzzed and lets the section directory and every section
 * behind it see the mutations.  (The seeds are real tables, already
 * consistent.)
 *
 * On failure the message must be one line.  On success the tokenizer must
 * be safe to use however odd the accepted table: every id's piece and
 * flags can be read, lookups of pieces find an id with those bytes, the
 * chat style and sampling defaults are in range, a few fixed strings
 * encode to existing ids, and decoding those ids — whole and streamed,
 * with every flag combination — gives the same text both ways.
 */
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "fuzz.h"
#include "fuzz_tok.h"

static const char *const probes[] = {
	"Hello world", "  it's 12345 ok\n\n", "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
	"<|im_start|>user\nhi<|im_end|>", "\xff\xfe\xc3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_checksum(uint8_t *b, size_t n)
{
	if (n < LFM2_TOK_HEADER)
		return;
	uint64_t total = fuzz_le64(b, n, 16);
	if (total < LFM2_TOK_HEADER || total > n)
		return;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = LFM2_TOK_HEADER; i < total; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	put_le64(b + 24, h);
}

static void check_tokenizer(const lfm2_tokenizer *tok)
{
	int32_t n = lfm2_tokenizer_n_tokens(tok);
	FUZZ_ASSERT(n >= 1 && (uint32_t)n <= LFM2_TOK_MAX_TOKENS, "n_tokens %d", (int)n);
	int32_t special[3] = {lfm2_tokenizer_bos(tok), lfm2_tokenizer_eos(tok), lfm2_tokenizer_pad(tok)};
	for (int i = 0; i < 3; i++)
		FUZZ_ASSERT(special[i] == -1 || lfm2_tokenizer_piece(tok, special[i], &(size_t){0}) != NULL,
		            "bos/eos/pad %d does not exist", (int)special[i]);
	lfm2_chat_style style = lfm2_tokenizer_chat_style(tok);
	FUZZ_ASSERT(style == LFM2_CHAT_NONE || style == LFM2_CHAT_CHATML || style == LFM2_CHAT_LFM25, "style %d",
	            (int)style);
	(void)lfm2_tokenizer_generation_defaults(tok);

	/* Every id (a sample of them in a large table), and ids just outside. */
	int32_t step = n > 4096 ? n / 4096 : 1;
	for (int32_t id = -2; id < n + 2; id = id < 0 || id >= n - 2 ? id + 1 : id + step) {
		size_t len = 0;
		const char *p = lfm2_tokenizer_piece(tok, id, &len);
		unsigned f = lfm2_tokenizer_token_flags(tok, id);
		if (!p) {
			FUZZ_ASSERT(f == 0, "id %d has flags 0x%x but no piece", (int)id, f);
			continue;
		}
		FUZZ_ASSERT(id >= 0 && id < n && (f & LFM2_TOK_PRESENT), "id %d has a piece but flags 0x%x", (int)id, f);
		volatile char sink = 0;
		for (size_t k = 0; k < len; k++)
			sink ^= p[k];
		(void)sink;
		/* Only added tokens and byte-alphabet model tokens are looked up. */
		if (!(f & (LFM2_TOK_ADDED | LFM2_TOK_BPE)))
			continue;
		int32_t found = lfm2_tokenizer_find(tok, p, len);
		FUZZ_ASSERT(found >= 0, "the piece of id %d (flags 0x%x) is not found", (int)id, f);
		size_t flen = 0;
		const char *fp = lfm2_tokenizer_piece(tok, found, &flen);
		FUZZ_ASSERT(fp && flen == len && memcmp(fp, p, len) == 0, "find(piece of %d) gave %d, other bytes",
		            (int)id, (int)found);
	}
	for (uint32_t cp = 0; cp < 0x110000; cp += 0x1001)
		FUZZ_ASSERT(lfm2_tokenizer_char_class(tok, cp) <= LFM2_UC_SPACE, "class of U+%04X", cp);

	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		size_t len = strlen(probes[i]);
		size_t ends[64];
		long pieces = lfm2_tokenizer_pretokenize(tok, probes[i], len, ends, 64);
		FUZZ_ASSERT(pieces >= 0, "pretokenize: out of memory");
		for (long k = 0; k < pieces && k < 64; k++)
			FUZZ_ASSERT(ends[k] <= len && (k == 0 || ends[k] > ends[k - 1]), "pretokenize ends not increasing");
		for (unsigned flags = 0; flags < 4; flags++) {
			int32_t *ids = NULL;
			size_t n_ids = 0;
			if (lfm2_tokenizer_encode(tok, probes[i], len, flags, &ids, &n_ids) != 0)
				fuzz_die("encode: out of memory");
			FUZZ_ASSERT(ids != NULL, "encode gave NULL ids");
			for (size_t k = 0; k < n_ids; k++)
				FUZZ_ASSERT(lfm2_tokenizer_piece(tok, ids[k], &(size_t){0}) != NULL,
				            "encode produced id %d that does not exist", (int)ids[k]);
			for (unsigned df = 0; df < 4; df++)
				fuzz_check_decode(tok, ids, n_ids, df);
			free(ids);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = (uint8_t *)fuzz_copy(data, size, 0);
	fix_checksum(copy, size);
	lfm2_tokenizer *tok = NULL;
	char msg[256];
	if (lfm2_tokenizer_open(copy, size, &tok, msg, sizeof msg) != 0) {
		FUZZ_ASSERT(tok == NULL, "a failed open returned a tokenizer");
		fuzz_check_message(msg, sizeof msg);
		fuzz_note("%s", msg);
	} else {
		/* The tokenizer copies what it needs: the input may go now. */
		memset(copy, 0xA5, size);
		free(copy);
		copy = NULL;
		fuzz_note("ok: %d tokens", (int)lfm2_tokenizer_n_tokens(tok));
		check_tokenizer(tok);
		lfm2_tokenizer_close(tok);
	}
	free(copy);
	return 0;
}
