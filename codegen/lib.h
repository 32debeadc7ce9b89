/*
 * lib.h — the text files of `lfm2c compile --emit lib` (lib.c).
 *
 * An --emit lib build links the generated model, the runtime, the
 * application API (runtime_stub/lib: lfm2lib.c, lfm2lib.h) and a little
 * generated glue into one relocatable object, keeps only the API's
 * symbols global, renamed to the library's prefix, and archives it as
 * OUT/libmodel.a (build.c runs those commands).  What is written here:
 *
 *   model.h      the API header for the application: the template
 *                lfm2lib.h with the prefix in every name, after a comment
 *                saying what was compiled;
 *   lib_glue.c   lfm2lib_open, handing the model symbol, the tokenizer
 *                table and the embedded weights to lfm2lib_open_parts;
 *   keep.txt     the API's symbols, the only ones left global
 *                (objcopy --keep-global-symbols);
 *   rename.txt   "lfm2lib_x PREFIX_x" per API symbol (objcopy
 *                --redefine-syms); empty for the default prefix.
 *
 * The API's names are the identifiers "lfm2lib_..." of the template
 * header, so a function added there is exported without a list to keep.
 */
#ifndef LFM2C_LIB_H
#define LFM2C_LIB_H

#include <stdint.h>

#include "frontend.h"

#define LIB_DEFAULT_PREFIX "lfm2lib"
#define LIB_PREFIX_MAX 40

typedef struct LibSpec {
	const char *prefix;       /* the API's prefix, a C identifier */
	const char *symbol;       /* the model's lfm2_model_info symbol */
	const char *version;      /* lfm2c's */
	const char *target_desc;  /* "llvm,x86_64-...,znver4" */
	uint64_t model_hash, blob_hash;
	int has_tokenizer;        /* the tokenizer object is linked in (symbols lfm2c_tokenizer[, _end]) */
	int embedded;             /* the weights member PREFIX_weights.o (symbols PREFIX_blob[, _end]) */
} LibSpec;

/* The symbols of the tokenizer table's object inside the library. */
#define LIB_TOKENIZER_SYMBOL "lfm2c_tokenizer"

/* 0 if prefix is a C identifier of at most LIB_PREFIX_MAX characters;
 * else -1 with the reason in why. */
int lib_prefix_check(const char *prefix, char *why, size_t n);

int lib_write_header(const char *path, const LibSpec *l, LfmError *err);
int lib_write_glue(const char *path, const LibSpec *l, LfmError *err);
int lib_write_symbol_lists(const char *keep_path, const char *rename_path, const LibSpec *l, LfmError *err);

#endif
