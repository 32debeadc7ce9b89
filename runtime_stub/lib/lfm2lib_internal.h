/*
 * lfm2lib_internal.h — what the generated glue of an --emit lib build
 * hands to lfm2lib.c: the pieces linked into libmodel.a.
 *
 * lfm2lib.c is the same for every model; what differs — the model's
 * lfm2_model_info symbol, the tokenizer table, the weights blob when they
 * are embedded, the library's prefix — is named by lib_glue.c, which
 * lfm2c writes per build (codegen/lib.c) and which defines lfm2lib_open
 * by calling lfm2lib_open_parts with them.  Not part of the public API:
 * the symbol is local to libmodel.a like the rest of the runtime.
 */
#ifndef LFM2LIB_INTERNAL_H
#define LFM2LIB_INTERNAL_H

#include <stddef.h>

#include "lfm2_abi.h"
#include "lfm2lib.h"

typedef struct lfm2lib_parts {
	const char *prefix;                 /* the library's prefix, for messages */
	const lfm2_model_info *info;        /* the generated model */
	const unsigned char *tokenizer;     /* the tokenizer table, or NULL */
	size_t tokenizer_bytes;
	const unsigned char *blob;          /* the embedded weights blob file, or NULL */
	size_t blob_bytes;
} lfm2lib_parts;

lfm2lib_model *lfm2lib_open_parts(const lfm2lib_parts *parts, const char *weights_path, int n_threads,
                                  char *err, size_t errlen);

#endif
