/*
 * fuzz_tokenizer_json.c — tokenizer.json and its side files from arbitrary
 * bytes (frontend/tokenizer_json.c: the texts -> the binary table).
 *
 * Input layout: up to four texts separated by NUL bytes,
 *
 *   tokenizer.json NUL tokenizer_config.json NUL chat_template.jinja NUL generation_config.json
 *
 * A text after the last NUL present is the last one given; the ones after
 * it are absent (NULL), so an input without a NUL is a lone tokenizer.json
 * and "x\0" is tokenizer.json plus an empty tokenizer_config.json.  JSON
 * cannot contain a raw NUL, so a real file never needs one.  Each text is
 * passed in a buffer of exactly its length, with no terminator.
 * lfm_tokenizer_build_sources is the call `lfm2c compile` makes after
 * reading the files.
 *
 * On failure the message must be one line.  On success the table is
 * something lfm2c would ship, so the runtime must accept it: it is opened
 * with lfm2_tokenizer_open (a refusal is a bug in one of the two halves),
 * its sampling defaults must be in the ranges lfm2_tokenizer.h promises,
 * and a few fixed strings must encode and then decode (RAW) to themselves.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "tokenizer.h"
#include "lfm2_tokenizer.h"
#include "fuzz.h"

/* Texts every table must round-trip: ASCII, the split regex's cases,
 * multi-byte UTF-8, an added token's look-alike, invalid UTF-8. */
static const char *const probes[] = {
	"Hello world", "  it's 12345 ok\n\n", "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
	"<|im_start|>user\nhi<|im_end|>", "\xff\xfe\xc3", "",
};

static void check_generation_defaults(const lfm2_generation_defaults *g)
{
	FUZZ_ASSERT(!(g->present & ~LFM2_GEN_ALL), "unknown GCFG bits 0x%x", g->present);
	if (g->present & LFM2_GEN_TEMPERATURE)
		FUZZ_ASSERT(isfinite(g->temperature) && g->temperature >= 0, "temperature %g", g->temperature);
	if (g->present & LFM2_GEN_TOP_K)
		FUZZ_ASSERT(g->top_k >= 0, "top_k %d", (int)g->top_k);
	if (g->present & LFM2_GEN_TOP_P)
		FUZZ_ASSERT(isfinite(g->top_p) && g->top_p > 0 && g->top_p <= 1, "top_p %g", g->top_p);
	if (g->present & LFM2_GEN_MIN_P)
		FUZZ_ASSERT(isfinite(g->min_p) && g->min_p >= 0 && g->min_p <= 1, "min_p %g", g->min_p);
	if (g->present & LFM2_GEN_REPETITION_PENALTY)
		FUZZ_ASSERT(isfinite(g->repetition_penalty) && g->repetition_penalty > 0, "repetition_penalty %g",
		            g->repetition_penalty);
}

static void check_table(const void *bytes, size_t n)
{
	lfm2_tokenizer *tok = NULL;
	char msg[256];
	int rc = lfm2_tokenizer_open(bytes, n, &tok, msg, sizeof msg);
	FUZZ_ASSERT(rc == 0, "the runtime refuses a table the frontend built: %s", msg);
	lfm2_generation_defaults g = lfm2_tokenizer_generation_defaults(tok);
	check_generation_defaults(&g);
	/* Only with every byte in the vocabulary is the round trip exact: a
	 * tokenizer.json without some byte tokens is accepted (LFM2's has all
	 * 256), and then encode can only drop what it cannot spell. */
	bool all_bytes = true;
	for (int b = 0; b < 256 && all_bytes; b++) {
		char c = (char)b;
		int32_t id = lfm2_tokenizer_find(tok, &c, 1);
		all_bytes = id >= 0 && (lfm2_tokenizer_token_flags(tok, id) & LFM2_TOK_BPE);
	}
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		size_t len = strlen(probes[i]);
		int32_t *ids = NULL;
		size_t n_ids = 0;
		if (lfm2_tokenizer_encode(tok, probes[i], len, LFM2_ENCODE_SPLIT_SPECIAL, &ids, &n_ids) != 0)
			fuzz_die("encode: out of memory");
		char *text = NULL;
		size_t text_len = 0;
		int d = lfm2_tokenizer_decode(tok, ids, n_ids, LFM2_DECODE_RAW, &text, &text_len, msg, sizeof msg);
		FUZZ_ASSERT(d == 0, "decoding the ids encode gave failed: %s", msg);
		if (all_bytes)
			FUZZ_ASSERT(text_len == len && memcmp(text, probes[i], len) == 0,
			            "probe %zu does not round-trip (%zu bytes back for %zu)", i, text_len, len);
		free(text);
		free(ids);
	}
	lfm2_tokenizer_close(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Split at NULs into at most four parts. */
	const uint8_t *part[4] = {NULL};
	size_t len[4] = {0};
	int n_parts = 1;
	part[0] = data;
	for (size_t i = 0; i < size; i++) {
		if (data[i] != 0)
			continue;
		len[n_parts - 1] = (size_t)(data + i - part[n_parts - 1]);
		if (n_parts == 4) {     /* a fifth part is ignored */
			size = i;
			break;
		}
		part[n_parts++] = data + i + 1;
	}
	len[n_parts - 1] = (size_t)(data + size - part[n_parts - 1]);
	char *text[4] = {NULL};
	for (int k = 0; k < n_parts; k++)
		text[k] = fuzz_copy(part[k], len[k], 0);

	LfmTokenizerSources src = {
		.tokenizer_json = text[0], .json_len = len[0],
		.config_json = text[1], .config_len = len[1],
		.chat_template = text[2], .template_len = len[2],
		.generation_config = text[3], .generation_len = len[3],
		.path = "tokenizer.json",
	};
	void *table = NULL;
	size_t table_len = 0;
	LfmError err;
	int rc = lfm_tokenizer_build_sources(&src, &table, &table_len, &err);
	if (rc < 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		FUZZ_ASSERT(table == NULL, "a failed build left a table");
		fuzz_note("%s", err.msg);
	} else {
		FUZZ_ASSERT(rc == 1 && table != NULL && table_len > 0, "build returned %d, table %p", rc, table);
		fuzz_note("ok: table of %zu bytes", table_len);
		check_table(table, table_len);
		free(table);
	}
	for (int k = 0; k < 4; k++)
		free(text[k]);
	return 0;
}
