/*
 * fuzz_index.c — model.safetensors.index.json from arbitrary bytes
 * (the sharded-checkpoint reader of frontend/checkpoint.c).
 *
 * The input is the index file.  It is written into a private directory
 * that also holds, from the first input on:
 *
 *   config.json                        FUZZ_SMALL_CONFIG
 *   model-00001-of-00002.safetensors   the first half of the tensors that
 *                                      config implies (sorted names), F32
 *   model-00002-of-00002.safetensors   the second half, BF16
 *   extra.safetensors                  a second copy of the first tensor and
 *                                      an unexpected one, "extra.weight"
 *
 * and no model.safetensors (which would win over the index).  The shards
 * are written once with the frontend's own safetensors writer; the valid
 * seeds of corpus/index/ map every tensor to the shard above that holds
 * it, the others break that mapping in the ways checkpoint.c must catch
 * (a shard outside the directory, a missing shard, a tensor the shard does
 * not have, a tensor in two shards, a non-object weight_map, ...).
 *
 * Then lfm_checkpoint_open runs on the directory.  On failure the message
 * must be one line; on success the checkpoint must have every tensor once,
 * sorted, each inside the shard it came from.  The index is removed after
 * each input; the shards stay until the process exits.
 */
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "st_write.h"
#include "fuzz.h"

static char *dir;

/* Writes `name` holding tensors t[0..n) with values from a fixed pattern. */
static void write_shard(const char *name, const StWriteTensor *t, int n)
{
	char *path = fuzz_path(dir, name);
	LfmError err;
	StWriter *w = lfm_st_writer_create(path, t, n, &err);
	if (!w)
		fuzz_die("writing %s: %s", name, err.msg);
	float v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (float)(i % 7 - 3) * 0.125f;
	int64_t total = 0;
	for (int k = 0; k < n; k++) {
		int64_t numel = 1;
		for (int d = 0; d < t[k].ndim; d++)
			numel *= t[k].shape[d];
		total += numel;
	}
	for (int64_t done = 0; done < total;) {
		size_t step = total - done < 64 ? (size_t)(total - done) : 64;
		if (lfm_st_writer_put_f32(w, v, step, &err) != 0)
			fuzz_die("writing %s: %s", name, err.msg);
		done += (int64_t)step;
	}
	if (lfm_st_writer_commit(w, &err) != 0)
		fuzz_die("writing %s: %s", name, err.msg);
	free(path);
}

static StWriteTensor as_write(const ExpectedTensor *e, StDtype dtype)
{
	StWriteTensor w = {.name = e->name, .dtype = dtype, .ndim = e->ndim};
	memcpy(w.shape, e->shape, sizeof w.shape);
	return w;
}

static void setup(void)
{
	dir = fuzz_dir_create("index");
	size_t clen = strlen(FUZZ_SMALL_CONFIG);
	fuzz_write(dir, "config.json", FUZZ_SMALL_CONFIG, clen);
	LfmConfig cfg;
	LfmError err;
	if (lfm_config_parse(FUZZ_SMALL_CONFIG, clen, "config.json", &cfg, &err) != 0)
		fuzz_die("small config: %s", err.msg);
	ExpectedTensor *exp = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *exp);
	StWriteTensor *wt = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *wt);
	if (!exp || !wt)
		fuzz_die("out of memory");
	int n = lfm_expected_tensors(&cfg, exp, LFM_MAX_EXPECTED_TENSORS);
	if (n < 2)
		fuzz_die("small config implies %d tensors", n);
	int half = n / 2;
	for (int i = 0; i < n; i++)
		wt[i] = as_write(&exp[i], i < half ? ST_F32 : ST_BF16);
	write_shard("model-00001-of-00002.safetensors", wt, half);
	write_shard("model-00002-of-00002.safetensors", wt + half, n - half);
	StWriteTensor extra[2] = {as_write(&exp[0], ST_F16),
	                          {.name = "extra.weight", .dtype = ST_F16, .ndim = 1, .shape = {3}}};
	if (strcmp(extra[0].name, extra[1].name) > 0) {
		StWriteTensor t = extra[0];
		extra[0] = extra[1];
		extra[1] = t;
	}
	write_shard("extra.safetensors", extra, 2);
	free(exp);
	free(wt);
}

static void check_checkpoint(const Checkpoint *ck)
{
	FUZZ_ASSERT(ck->n_files >= 1, "no files");
	for (int i = 0; i < ck->n_tensors; i++) {
		const StTensor *t = &ck->tensors[i];
		if (i > 0)
			FUZZ_ASSERT(strcmp(ck->tensors[i - 1].name, t->name) < 0, "tensors not sorted / unique at '%s'",
			            t->name);
		int fi = -1;
		for (int k = 0; k < ck->n_files; k++)
			if (ck->files[k].path == t->file)
				fi = k;
		FUZZ_ASSERT(fi >= 0, "tensor '%s' names a file the checkpoint does not hold", t->name);
		const MappedFile *f = &ck->files[fi];
		FUZZ_ASSERT(t->data >= f->base + 8 && t->data + t->nbytes <= f->base + f->size,
		            "tensor '%s' lies outside its shard", t->name);
		FUZZ_ASSERT(lfm_checkpoint_find(ck, t->name) == t, "lookup of '%s' failed", t->name);
	}
	lfm_inspect_print(fuzz_devnull(), ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir)
		setup();
	fuzz_write(dir, "model.safetensors.index.json", data, size);
	Checkpoint ck;
	LfmError err;
	if (lfm_checkpoint_open(dir, &ck, fuzz_devnull(), &err) != 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		fuzz_note("%s", err.msg);
	} else {
		fuzz_note("ok: %d tensors from %d files, %d unexpected", ck.n_tensors, ck.n_files, ck.n_unexpected);
		check_checkpoint(&ck);
		lfm_checkpoint_close(&ck);
	}
	fuzz_unlink(dir, "model.safetensors.index.json");
	return 0;
}
