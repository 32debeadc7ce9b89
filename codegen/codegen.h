/*
 * codegen.h — from a Graph to files: the weights blob, the generated C
 * model, and the inference executable built from it and the runtime.
 */
#ifndef LFM2C_CODEGEN_H
#define LFM2C_CODEGEN_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"

typedef struct CodegenOptions {
	const char *symbol;       /* name of the lfm2_model_info symbol ("lfm2_model") */
	const char *target_desc;  /* recorded in the info, e.g. "c,native" */
	const char *version;      /* lfm2c version, written into headers */
} CodegenOptions;

/* Writes the blob (header + payload per the layout pass) to `path` and
 * returns the payload's XXH3-64 in *hash. */
int blob_write(const Graph *g, const char *path, uint64_t *hash, LfmError *err);

/* Emits model.c / model.h for the graph; blob_hash is baked in. */
int emit_c_model(const Graph *g, const Checkpoint *ck, uint64_t blob_hash,
                 const CodegenOptions *o, FILE *c_out, FILE *h_out, LfmError *err);

/* The runtime's sources, embedded at build time (cmake/embed.cmake). */
struct lfm2c_embedded_file {
	const char *name;
	const unsigned char *bytes;
	size_t size;
};
extern const struct lfm2c_embedded_file lfm2c_runtime_files[];

#endif
