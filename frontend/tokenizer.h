/*
 * tokenizer.h — compiling a checkpoint's tokenizer ahead of time.
 *
 * lfm2c reads tokenizer.json (Hugging Face format), tokenizer_config.json
 * and the chat template once, checks that they use only what LFM2's
 * tokenizer uses (byte-level BPE, the Llama-3 split regex, a BOS
 * post-processor, the ByteLevel decoder), and writes a compact binary table
 * (format: runtime_stub/lfm2_tokenizer.h) that the runtime opens without
 * parsing JSON.  Unicode character classes for the split regex come from
 * libutf8proc here, at compile time, and travel inside the table.
 *
 * Anything outside that subset (another model type, a normalizer, another
 * pre-tokenizer or regex, byte_fallback, ...) is one clear error naming the
 * unsupported part.  Where the table is stored (weights blob or a file) is
 * the caller's business: it is just bytes.
 */
#ifndef LFM2C_TOKENIZER_H
#define LFM2C_TOKENIZER_H

#include <stddef.h>

#include "frontend.h"

/* Builds the table for the checkpoint in model_dir (tokenizer.json, and
 * tokenizer_config.json, chat_template.jinja, generation_config.json when
 * present), checked against model_dir/config.json when there is one (its
 * vocab_size bounds every token id; see LfmTokenizerSources.vocab_size).
 * Every file must be a regular file (a FIFO is refused, not waited on).
 * Returns 1 and a malloc'd table in *bytes / *n (free() it); 0 if the
 * directory has no tokenizer.json (token-id I/O only; *bytes = NULL); -1 on
 * error (message in err, nothing allocated). */
int lfm_tokenizer_build(const char *model_dir, void **bytes, size_t *n, LfmError *err);

/* The same from texts in memory: tokenizer.json (required), the
 * tokenizer_config.json text and the chat template text (each NULL if
 * absent; a chat_template.jinja takes precedence over the config's
 * "chat_template" key).  `path` names tokenizer.json in messages.
 * Returns 1 or -1 as above. */
int lfm_tokenizer_build_text(const char *tokenizer_json, size_t json_len,
                             const char *config_json, size_t config_len,
                             const char *chat_template, size_t template_len,
                             const char *path, void **bytes, size_t *n, LfmError *err);

/* Everything a table is built from, as texts in memory.  tokenizer_json is
 * required; every other text is NULL when its file is absent.  `path`
 * names tokenizer.json in messages (the side files are named as its
 * siblings).  generation_config.json contributes the sampling defaults
 * (temperature, top_k, top_p, min_p, repetition_penalty, do_sample, each
 * within the runtime sampler's ranges); its bos/eos/pad_token_id are
 * checked to be token ids; its other keys are ignored. */
typedef struct LfmTokenizerSources {
	const char *tokenizer_json;
	size_t json_len;
	const char *config_json;         /* tokenizer_config.json */
	size_t config_len;
	const char *chat_template;       /* chat_template.jinja */
	size_t template_len;
	const char *generation_config;   /* generation_config.json */
	size_t generation_len;
	const char *path;
	int vocab_size;                  /* config.json's, 0 = unknown: when known, the
	                                    tokenizer's max id + 1 must not exceed it and
	                                    generation_config.json's token ids must be
	                                    below it */
} LfmTokenizerSources;

/* Returns 1 (table in *bytes / *n) or -1 as above. */
int lfm_tokenizer_build_sources(const LfmTokenizerSources *src, void **bytes, size_t *n, LfmError *err);

/* The Unicode version of the libutf8proc the class tables come from,
 * e.g. "15.0.0". */
const char *lfm_tokenizer_unicode_version(void);

#endif
