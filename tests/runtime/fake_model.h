/*
 * fake_model.h — a tiny hand-written stand-in for lfm2c's generated code,
 * so the runtime can be tested without the compiler.
 *
 * `fake_model` obeys lfm2_abi.h to the letter: it keeps all state in the
 * KV cache and conv state laid out as the ABI says, reads its parameters
 * from the weights payload, uses the scratch buffer and lfm2_parallel_for,
 * and its logits for a token depend on every earlier token through those
 * caches.  So chunking, snapshot/restore or weights mistakes in the runtime
 * change its output.  See fake_model.c for the (meaningless) math.
 */
#ifndef FAKE_MODEL_H
#define FAKE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lfm2_abi.h"

extern const lfm2_model_info fake_model;

/* Fills `out` with the payload floats (fake_model.blob_bytes / 4 of them). */
void fake_model_payload(float *out);

/* Writes a complete, valid blob file (header with the XXH3 of the payload). */
int fake_model_write_blob(const char *path);

/* A blob in memory: LFM2_BLOB_HEADER + blob_bytes bytes, malloc'd. */
unsigned char *fake_model_blob(size_t *size);

#endif
