/*
 * lfm2_tokenizer.h — LFM2's tokenizer and chat format at run time.
 *
 * `lfm2c compile` reads a checkpoint's tokenizer.json / tokenizer_config.json
 * once (frontend/tokenizer_json.c) and writes a compact binary "tokenizer
 * table".  This runtime half turns that table back into a working tokenizer
 * without any JSON parsing and without any library beyond libc: the Unicode
 * classes the pre-tokenizer needs were computed at compile time (with
 * libutf8proc) and are stored in the table as code-point runs, so the same
 * code cross-compiles for any target.
 *
 * What is implemented is exactly what LFM2's tokenizer.json uses:
 *   - added tokens (special or not) matched first, leftmost-longest, in two
 *     passes like Hugging Face tokenizers (normalized=false tokens, then
 *     normalized=true ones; there is no normalizer, so both see raw text);
 *   - the Llama-3 split regex, hand-written (see tokenizer_encode.c), Isolated;
 *   - ByteLevel (GPT-2 byte alphabet) + BPE with ignore_merges;
 *   - a TemplateProcessing post-processor (BOS in front);
 *   - the ByteLevel decoder, also as a streaming decoder;
 *   - LFM2's ChatML chat format (two template generations, below).
 *
 * Text is UTF-8 bytes.  Invalid UTF-8 in encode input is NOT an error: each
 * maximal ill-formed subsequence (the unit String::from_utf8_lossy replaces
 * by one U+FFFD) is split by the regex exactly as a U+FFFD would be (a
 * "neither letter, number nor space" character), but its own bytes are
 * byte-level encoded, so decoding with LFM2_DECODE_RAW gives back the input
 * byte for byte.  Ordinary decoding (flags 0) follows Hugging Face: the
 * bytes between added tokens are converted lossily, each maximal ill-formed
 * subsequence becoming U+FFFD (Rust from_utf8_lossy == WHATWG TextDecoder).
 *
 * All functions are thread-compatible: a tokenizer is immutable after open,
 * so any number of threads may encode/decode with it at once.
 */
#ifndef LFM2_TOKENIZER_H
#define LFM2_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------ the table format
 * A self-describing little-endian blob, written by lfm_tokenizer_build()
 * (frontend/tokenizer.h).  Layout:
 *
 *   0   char[8]  LFM2_TOK_MAGIC "LFM2TOK\0"
 *   8   u32      format version (LFM2_TOK_VERSION)
 *   12  u32      number of sections S
 *   16  u64      total bytes of the blob
 *   24  u64      FNV-1a-64 of bytes [32, total)
 *   32  S x { u32 tag, u32 offset, u32 size }   section directory
 *   ... sections, each starting at a multiple of 4, zero padding between.
 *
 * Sections (tags are four ASCII characters read as a little-endian u32);
 * unknown tags are ignored, each known tag must appear exactly once:
 *   META  u32 n_tokens, u32 flags (LFM2_TOKF_*), i32 bos, i32 eos, i32 pad
 *         (-1 = none), u32 chat style (lfm2_chat_style), u64 XXH3-64 of the
 *         chat template text (0 = none), u32 Unicode version of the class
 *         tables (major<<16 | minor<<8 | update).  May grow at the end.
 *   POFF  u32[n_tokens + 1]  offsets of each id's bytes in PBYT
 *   PBYT  the bytes of every id, concatenated: an added token's content, a
 *         model token's ByteLevel-decoded bytes
 *   TFLG  u8[n_tokens]  LFM2_TOK_* flags per id
 *   MRGE  u32[3 * n_merges]  (left id, right id, merged id), by rank
 *   ADDT  u32[n_added]  ids of the added tokens, in tokenizer.json order
 *   UCLS  u32[n_runs]  code-point class runs: bits 0..20 the first code
 *         point of the run, bits 24..25 its class (LFM2_UC_*); the run lasts
 *         until the next entry's start (the last one until 0x10FFFF); the
 *         first entry starts at 0
 *   FOLD  u32[2 * n_fold]  (code point >= 0x80, ASCII char): code points
 *         whose full Unicode case folding is that single ASCII character
 *         (U+017F -> 's', U+212A -> 'k'), for the (?i:...) contractions
 *   PREF  u32[]  ids the post-processor puts before the text (BOS)
 *   SUFF  u32[]  ids it puts after the text
 *   GCFG  (version 2) sampling defaults from generation_config.json, 28
 *         bytes: u32 present (LFM2_GEN_* bits: which keys the file set),
 *         u32 do_sample (0/1), f32 temperature, i32 top_k, f32 top_p,
 *         f32 min_p, f32 repetition_penalty (f32 = IEEE-754 bits as u32).
 *         A field whose bit is clear is stored as 0; a set one is in the
 *         range the sampler accepts (temperature >= 0, top_k >= 0, top_p in
 *         (0,1], min_p in [0,1], repetition_penalty in [0.01, 100] —
 *         LFM2_REPEAT_PENALTY_MIN/MAX of lfm2rt.h — all finite).
 *
 * Version history: 1 = without GCFG; 2 = GCFG added.  A runtime reads
 * exactly its own version (re-run `lfm2c compile` for an older table).
 */
#define LFM2_TOK_MAGIC "LFM2TOK"      /* 7 chars + NUL = 8 bytes */
#define LFM2_TOK_VERSION 2u
#define LFM2_TOK_GCFG_BYTES 28u
#define LFM2_TOK_HEADER 32u
#define LFM2_TOK_MAX_TOKENS (1u << 24)

#define LFM2_TOK_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* META flags */
#define LFM2_TOKF_IGNORE_MERGES 1u

/* TFLG per-id flags */
#define LFM2_TOK_PRESENT 1u      /* the id exists (vocab or added) */
#define LFM2_TOK_ADDED 2u        /* an added token: matched before the split */
#define LFM2_TOK_SPECIAL 4u      /* added token with special=true */
#define LFM2_TOK_NORMALIZED 8u   /* added token with normalized=true (2nd pass) */
#define LFM2_TOK_BPE 16u         /* model token made only of byte-alphabet chars:
                                    reachable by BPE, looked up by its bytes */

/* UCLS classes (the regex's \p{L}, \p{N}, \s; everything else is OTHER) */
#define LFM2_UC_OTHER 0u
#define LFM2_UC_LETTER 1u
#define LFM2_UC_NUMBER 2u
#define LFM2_UC_SPACE 3u

/* ------------------------------------------------------------ chat styles
 * Which of LFM2's chat templates the checkpoint carries; lfm2c recognizes a
 * template by the XXH3-64 of its text (frontend/tokenizer_json.c).
 *
 * CHATML  LFM2 (July 2025, 209 bytes): bos, then for every message
 *         "<|im_start|>{role}\n{content}<|im_end|>\n", then
 *         "<|im_start|>assistant\n" if a generation prompt is wanted.
 *         Tools are ignored (the template has no place for them).
 * LFM25   LFM2.5 (1296 bytes): a leading system message is taken out and,
 *         with tools, extended by "List of tools: <|tool_list_start|>[t1,
 *         t2]<|tool_list_end|>" (joined by "\n" when the system text is
 *         non-empty); the system block is written only when that text is
 *         non-empty; "tool" messages are wrapped in
 *         <|tool_response_start|>...<|tool_response_end|>.
 */
typedef enum lfm2_chat_style {
	LFM2_CHAT_NONE = 0,      /* no template, or one lfm2c does not know */
	LFM2_CHAT_CHATML = 1,
	LFM2_CHAT_LFM25 = 2,
} lfm2_chat_style;

/* ------------------------------------------- generation (sampling) defaults
 * What the checkpoint's generation_config.json says about sampling, as
 * compiled into the GCFG section.  Only keys present in the file (with a
 * non-null value) have their bit set; the inference program decides what
 * an absent key means (lfm2-run: the LFM2 model card's values). */
#define LFM2_GEN_TEMPERATURE 1u
#define LFM2_GEN_TOP_K 2u
#define LFM2_GEN_TOP_P 4u
#define LFM2_GEN_MIN_P 8u
#define LFM2_GEN_REPETITION_PENALTY 16u
#define LFM2_GEN_DO_SAMPLE 32u
#define LFM2_GEN_ALL 63u

typedef struct lfm2_generation_defaults {
	unsigned present;          /* LFM2_GEN_* bits */
	int do_sample;             /* 0 = greedy (HF do_sample=false) */
	float temperature;
	int32_t top_k;
	float top_p;
	float min_p;
	float repetition_penalty;
} lfm2_generation_defaults;

/* ------------------------------------------------------------- tokenizer */

typedef struct lfm2_tokenizer lfm2_tokenizer;

/* Validates the table (bounds, counts, ids, checksum: a truncated or corrupt
 * table is an error, never a crash) and builds the lookup tables.  The
 * tokenizer copies what it needs: `bytes` may be freed afterwards.
 * Returns 0, or -1 with a one-line message in err (errlen bytes, may be
 * NULL/0). */
int lfm2_tokenizer_open(const void *bytes, size_t n, lfm2_tokenizer **out,
                        char *err, size_t errlen);
void lfm2_tokenizer_close(lfm2_tokenizer *tok);   /* NULL is a no-op */

int32_t lfm2_tokenizer_n_tokens(const lfm2_tokenizer *tok);  /* max id + 1 */
int32_t lfm2_tokenizer_bos(const lfm2_tokenizer *tok);       /* -1 = none */
int32_t lfm2_tokenizer_eos(const lfm2_tokenizer *tok);
int32_t lfm2_tokenizer_pad(const lfm2_tokenizer *tok);
lfm2_chat_style lfm2_tokenizer_chat_style(const lfm2_tokenizer *tok);
/* The sampling defaults of the GCFG section (present == 0: none given). */
lfm2_generation_defaults lfm2_tokenizer_generation_defaults(const lfm2_tokenizer *tok);

/* The bytes one id decodes to (not NUL-terminated; *len set), or NULL if
 * the id does not exist.  Model tokens: the raw bytes (maybe a fragment of
 * a UTF-8 character); added tokens: their text. */
const char *lfm2_tokenizer_piece(const lfm2_tokenizer *tok, int32_t id, size_t *len);
/* LFM2_TOK_* flags of an id (0 if it does not exist). */
unsigned lfm2_tokenizer_token_flags(const lfm2_tokenizer *tok, int32_t id);
/* Id of an added token with exactly this text, else of a model token with
 * exactly these bytes, else -1. */
int32_t lfm2_tokenizer_find(const lfm2_tokenizer *tok, const char *text, size_t len);

/* ---------------------------------------------------------------- encode */

/* For tests and debugging: the class the split regex sees for a code point
 * (LFM2_UC_*), and the split itself on plain text (no added-token matching):
 * the end offset of each piece is written to ends[0..cap); returns the
 * number of pieces (which may exceed cap), or -1 when out of memory. */
unsigned lfm2_tokenizer_char_class(const lfm2_tokenizer *tok, uint32_t cp);
long lfm2_tokenizer_pretokenize(const lfm2_tokenizer *tok, const char *text, size_t len,
                                size_t *ends, size_t cap);

#define LFM2_ENCODE_ADD_SPECIAL 1u    /* apply the post-processor (BOS): HF's
                                         add_special_tokens=True */
#define LFM2_ENCODE_SPLIT_SPECIAL 2u  /* do not match *special* added tokens:
                                         their text is encoded as plain text
                                         (transformers' split_special_tokens) */

/* Encodes len bytes of text.  On success returns 0 and sets *ids to a
 * malloc'd array of *n_ids ids (free() it; non-NULL even when empty).
 * Returns -1 only when out of memory. */
int lfm2_tokenizer_encode(const lfm2_tokenizer *tok, const char *text, size_t len,
                          unsigned flags, int32_t **ids, size_t *n_ids);

/* ---------------------------------------------------------------- decode */

#define LFM2_DECODE_SKIP_SPECIAL 1u   /* drop special tokens (HF skip_special_tokens) */
#define LFM2_DECODE_RAW 2u            /* return the bytes as they are (no U+FFFD) */

/* Decodes ids into a malloc'd NUL-terminated string (*len bytes, not
 * counting the NUL).  Returns 0, or -1 with a message in err if an id does
 * not exist or memory runs out. */
int lfm2_tokenizer_decode(const lfm2_tokenizer *tok, const int32_t *ids, size_t n,
                          unsigned flags, char **text, size_t *len,
                          char *err, size_t errlen);

/* Streaming decode for printing tokens as they are generated: push() returns
 * the text that became final with this token, holding back the bytes of a
 * UTF-8 character that is not complete yet; finish() returns what is left.
 * The concatenation of all outputs equals lfm2_tokenizer_decode() of the
 * whole sequence with the same flags.  The returned pointer is valid until
 * the next call on the stream.  Keep the struct opaque; init before use,
 * free after. */
typedef struct lfm2_decode_stream {
	const lfm2_tokenizer *tok;
	unsigned flags;
	unsigned char pending[4];
	size_t n_pending;
	char *buf;
	size_t cap;
} lfm2_decode_stream;

void lfm2_decode_stream_init(lfm2_decode_stream *s, const lfm2_tokenizer *tok, unsigned flags);
int lfm2_decode_stream_push(lfm2_decode_stream *s, int32_t id, const char **text, size_t *len,
                            char *err, size_t errlen);
int lfm2_decode_stream_finish(lfm2_decode_stream *s, const char **text, size_t *len,
                              char *err, size_t errlen);
void lfm2_decode_stream_free(lfm2_decode_stream *s);

/* ------------------------------------------------------------------ chat */

typedef struct lfm2_chat_message {
	const char *role;       /* "system", "user", "assistant", "tool", ... */
	const char *content;    /* UTF-8 text */
} lfm2_chat_message;

/* Renders a conversation the way the model's chat template does.
 *   bos_text     text of the BOS token put first (NULL or "" = none);
 *   tools_json   NULL, or a JSON array; each element is written like the
 *                template's `tool | tojson` (Python json.dumps defaults:
 *                ", " and ": " separators, keys in input order, non-ASCII
 *                kept; numbers are copied as written); string elements are
 *                inserted as their text.  An empty array means no tools.
 * The result is a malloc'd NUL-terminated string (*len bytes).  Encode it
 * WITHOUT LFM2_ENCODE_ADD_SPECIAL: the BOS is already in the text.
 * Returns 0, or -1 with a message (style NONE, bad tools JSON, no memory). */
int lfm2_chat_render(lfm2_chat_style style, const char *bos_text,
                     const lfm2_chat_message *msgs, size_t n_msgs,
                     const char *tools_json, int add_generation_prompt,
                     char **out, size_t *len, char *err, size_t errlen);

/* The same with the tokenizer's own style and BOS text. */
int lfm2_tokenizer_chat_render(const lfm2_tokenizer *tok,
                               const lfm2_chat_message *msgs, size_t n_msgs,
                               const char *tools_json, int add_generation_prompt,
                               char **out, size_t *len, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
