/*
 * fuzz_safetensors.c — model.safetensors from arbitrary bytes
 * (frontend/safetensors.c, through frontend/checkpoint.c).
 *
 * The input is the whole model.safetensors file.  It goes into a private
 * directory beside a fixed, valid config.json (FUZZ_SMALL_CONFIG) and the
 * directory is opened with lfm_checkpoint_open, the call every lfm2c
 * command makes: the length prefix, the JSON header, every entry's dtype,
 * shape and offsets, overlaps and duplicate names are all checked there
 * before the tensors are compared with what the config implies, so both
 * the parser and the validation behind it see the fuzzed bytes.  Going
 * through the public entry point rather than the internal fe_st_open keeps
 * the harness valid whatever the frontend's files look like inside.
 *
 * On failure the message must be one line.  On success every tensor must
 * be what the header promised and lie inside the mapped file: the harness
 * converts each one to float (reading every byte, so ASan catches a span
 * that the checks let out of bounds), looks each one up by name, and
 * prints the `lfm2c inspect` report to /dev/null.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "fuzz.h"

static char *dir;

static void check_checkpoint(const Checkpoint *ck)
{
	FUZZ_ASSERT(ck->n_files == 1, "one file expected, got %d", ck->n_files);
	const MappedFile *f = &ck->files[0];
	size_t max_numel = 0;
	for (int i = 0; i < ck->n_tensors; i++) {
		const StTensor *t = &ck->tensors[i];
		FUZZ_ASSERT(t->name != NULL, "tensor %d has no name", i);
		FUZZ_ASSERT(t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16, "tensor '%s': dtype %d",
		            t->name, (int)t->dtype);
		FUZZ_ASSERT(t->ndim >= 0 && t->ndim <= 4, "tensor '%s': ndim %d", t->name, t->ndim);
		int64_t numel = 1;
		for (int d = 0; d < t->ndim; d++) {
			FUZZ_ASSERT(t->shape[d] >= 0, "tensor '%s': negative dimension", t->name);
			numel *= t->shape[d];   /* bounded by the file size below, cannot overflow */
		}
		FUZZ_ASSERT(numel == t->numel, "tensor '%s': numel %lld, shape gives %lld", t->name,
		            (long long)t->numel, (long long)numel);
		FUZZ_ASSERT((uint64_t)t->nbytes == (uint64_t)t->numel * lfm_dtype_size(t->dtype),
		            "tensor '%s': %zu bytes for %lld elements", t->name, t->nbytes, (long long)t->numel);
		FUZZ_ASSERT(t->data >= f->base + 8 && t->nbytes <= f->size &&
		            t->data + t->nbytes <= f->base + f->size,
		            "tensor '%s' lies outside the file", t->name);
		if (i > 0)
			FUZZ_ASSERT(strcmp(ck->tensors[i - 1].name, t->name) < 0, "tensors not sorted / unique at '%s'",
			            t->name);
		FUZZ_ASSERT(lfm_checkpoint_find(ck, t->name) == t, "lookup of '%s' failed", t->name);
		if ((size_t)t->numel > max_numel)
			max_numel = (size_t)t->numel;
	}
	float *buf = malloc((max_numel ? max_numel : 1) * sizeof *buf);
	if (!buf)
		fuzz_die("out of memory for %zu floats", max_numel);
	for (int i = 0; i < ck->n_tensors; i++) {
		const StTensor *t = &ck->tensors[i];
		lfm_tensor_to_f32(t, buf);
		/* Touch the values so the conversion cannot be optimized away. */
		volatile float sink = 0;
		for (int64_t k = 0; k < t->numel; k++)
			sink += isnan(buf[k]) ? 0.0f : 1.0f;
		(void)sink;
	}
	free(buf);
	lfm_inspect_print(fuzz_devnull(), ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir) {
		dir = fuzz_dir_create("safetensors");
		fuzz_write(dir, "config.json", FUZZ_SMALL_CONFIG, strlen(FUZZ_SMALL_CONFIG));
	}
	fuzz_write(dir, "model.safetensors", data, size);
	Checkpoint ck;
	LfmError err;
	if (lfm_checkpoint_open(dir, &ck, fuzz_devnull(), &err) != 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		fuzz_note("%s", err.msg);
	} else {
		fuzz_note("ok: %d tensors, %d unexpected", ck.n_tensors, ck.n_unexpected);
		check_checkpoint(&ck);
		lfm_checkpoint_close(&ck);
	}
	fuzz_unlink(dir, "model.safetensors");
	return 0;
}
