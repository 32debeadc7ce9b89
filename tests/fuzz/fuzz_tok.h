/*
 * fuzz_tok.h — checks the tokenizer harnesses share (fuzz_tok.c).
 *
 * Both the table harness (any table the runtime accepts) and the codec
 * harness (LFM2's real table, fuzzed text and ids) hold decoding to the
 * same promise of lfm2_tokenizer.h: the streaming decoder's pieces, joined,
 * are exactly what one lfm2_tokenizer_decode call gives.  And the codec
 * harness needs to know when a byte string is well-formed UTF-8, the case
 * in which even lossy decoding must give the text back unchanged.
 */
#ifndef LFM2C_FUZZ_TOK_H
#define LFM2C_FUZZ_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lfm2_tokenizer.h"

/* Decodes ids[0..n) (all existing) whole and through a decode stream,
 * with `flags`; aborts unless both succeed with the same bytes. */
void fuzz_check_decode(const lfm2_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags);

/* Well-formed UTF-8 as Unicode defines it (no overlongs, surrogates or
 * code points past U+10FFFF): exactly what Rust's from_utf8 accepts. */
bool fuzz_utf8_valid(const uint8_t *s, size_t n);

#endif
