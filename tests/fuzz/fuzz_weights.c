/*
 * fuzz_weights.c — the weights blob from arbitrary bytes
 * (runtime_stub/weights.c: lfm2_weights_open, lfm2_weights_from_memory).
 *
 * A weights.bin is checked against the model the code was compiled for:
 * magic, version, header size, payload size and hash against the model
 * info, file size, then the payload's XXH3-64.  To let the fuzzer reach
 * the checks behind the model comparison, the model info here is not
 * fixed: it is the one a compile of this very blob would have produced —
 * blob_bytes and blob_hash read from the fuzzed header — unless a control
 * bit spoils one of them on purpose.  A header claiming 2^48 bytes or more
 * gets a model of 4 KiB instead (no real model is that big, and a model
 * info claiming near 2^64 bytes cannot exist).  The rest of the model info
 * is fixed and small (it is not read by these functions).
 *
 * Input layout: one control byte, then the blob.
 *   bits 0-2  how it is opened: 0 READ (huge pages), 1 MMAP,
 *             2 READ_SMALL_PAGES (each from a file in a private temp
 *             directory), 3 from memory at a 64-byte aligned address
 *             (payload used in place), 4 from memory at an odd address
 *             (payload copied); 5-7 as 0-2
 *   bit 3     the model expects one byte more than the header says
 *   bit 4     the model expects another hash than the header says
 *
 * On failure the message must be one line.  On success the payload must
 * be the model's size, 64-byte aligned, and hold exactly the bytes after
 * the 4096-byte header of the input.
 */
#include <stdlib.h>
#include <string.h>

#include "lfm2rt.h"
#include "fuzz.h"

static char *dir;
static const uint8_t layer_is_attn[2] = {0, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned ctl = data[0];
	const uint8_t *blob = data + 1;
	size_t n = size - 1;

	uint64_t claimed = fuzz_le64(blob, n, 16), hash = fuzz_le64(blob, n, 24);
	lfm2_model_info model = {
		.abi_version = LFM2_ABI_VERSION, .name = "fuzz", .vocab_size = 16, .hidden = 8, .n_layers = 2,
		.n_attn_layers = 1, .n_conv_layers = 1, .n_heads = 2, .n_kv_heads = 1, .head_dim = 4, .ff = 16,
		.conv_L = 3, .bos_id = 1, .eos_id = 7, .pad_id = 0, .max_position = 4096,
		.layer_is_attn = layer_is_attn,
		.blob_bytes = claimed < (1ull << 48) ? claimed : 4096,
		.blob_hash = hash,
	};
	if (ctl & 8)
		model.blob_bytes++;
	if (ctl & 16)
		model.blob_hash ^= 0x9e3779b97f4a7c15ull;

	unsigned how = (ctl & 7) > 4 ? (ctl & 7) - 5 : ctl & 7;
	lfm2_err err;
	memset(&err, 0, sizeof err);
	lfm2_weights *w = NULL;
	uint8_t *mem = NULL;
	if (how <= 2) {
		if (!dir)
			dir = fuzz_dir_create("weights");
		fuzz_write(dir, "weights.bin", blob, n);
		char *path = fuzz_path(dir, "weights.bin");
		static const enum lfm2_weights_mode modes[3] = {LFM2_WEIGHTS_READ, LFM2_WEIGHTS_MMAP,
		                                                LFM2_WEIGHTS_READ_SMALL_PAGES};
		w = lfm2_weights_open(path, &model, modes[how], &err);
		free(path);
	} else {
		/* An exact-size region at the wanted alignment: 64-aligned, or 1 past it. */
		size_t shift = how == 3 ? 0 : 1;
		if (posix_memalign((void **)&mem, 64, n + shift ? n + shift : 1) != 0)
			fuzz_die("out of memory");
		memcpy(mem + shift, blob, n);
		w = lfm2_weights_from_memory(mem + shift, n, "weights.bin", &model, &err);
	}

	if (!w) {
		fuzz_check_message(err.msg, sizeof err.msg);
		fuzz_note("%s", err.msg);
	} else {
		uint64_t bytes = lfm2_weights_bytes(w);
		const uint8_t *payload = lfm2_weights_data(w);
		fuzz_note("ok: %llu payload bytes (%s)", (unsigned long long)bytes, lfm2_weights_mode_name(w));
		FUZZ_ASSERT(bytes == model.blob_bytes, "payload %llu bytes, model %llu", (unsigned long long)bytes,
		            (unsigned long long)model.blob_bytes);
		FUZZ_ASSERT(n >= LFM2_BLOB_HEADER && n - LFM2_BLOB_HEADER == bytes, "accepted a %zu-byte blob", n);
		FUZZ_ASSERT((uintptr_t)payload % LFM2_BLOB_ALIGN == 0, "payload not %u-byte aligned", LFM2_BLOB_ALIGN);
		FUZZ_ASSERT(bytes == 0 || memcmp(payload, blob + LFM2_BLOB_HEADER, (size_t)bytes) == 0,
		            "payload differs from the blob's");
		FUZZ_ASSERT(lfm2_weights_mode_name(w) != NULL, "no mode name");
		lfm2_weights_close(w);
	}
	free(mem);
	if (how <= 2)
		fuzz_unlink(dir, "weights.bin");
	return 0;
}
