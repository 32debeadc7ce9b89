/*
 * cmd_dequant.c — `lfm2c dequant MODEL_DIR -q FORMAT [--quant-override P=F]...
 *                 [--schedule FILE] -o OUT_DIR`
 *
 * Writes a checkpoint whose weights are the values a quantized model
 * computes with: every tensor the quantize pass stores in a format other
 * than f32 is replaced by quantize-then-dequantize of its values, every
 * other tensor keeps its values; all are written as F32 with the same
 * names and shapes.  config.json and the tokenizer/generation files are
 * copied.  Any tool that reads Hugging Face checkpoints (our interpreter,
 * the numpy oracle, transformers) then shows the effect of quantizing the
 * weights alone: `lfm2c interp OUT` equals `lfm2c interp MODEL -q FORMAT`
 * exactly.
 *
 * Fused weights (--fuse, a schedule's fusions, the defaults) are written
 * back as the tensors they came from: stacked and paired rows to their own
 * tensors (rows of a block format are independent, so a stacked weight's
 * rows are its parts' rows), a folded norm as itself (rmsnorm_fold folds
 * only into f32 weights, whose values are the checkpoint's).
 *
 * The output is built in a temporary directory next to OUT_DIR and renamed
 * into place at the end, so a failure leaves nothing behind.  OUT_DIR must
 * not exist or be empty, and must not be the model's own directory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "fileio.h"
#include "passes.h"
#include "formats.h"
#include "cli_schedule.h"
#include "st_write.h"

/* Files copied verbatim when present (config.json must be). */
static const char *const side_files[] = {
	"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "chat_template.jinja", NULL,
};

static char *join(const char *dir, const char *name)
{
	char *p;
	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* Copies a side file (a regular file: a FIFO is refused, not waited on),
 * naming the reason of a failed read or write. */
static int copy_file(const char *from, const char *to, LfmError *err)
{
	FILE *in = lfm_fopen_input(from, err);
	if (!in)
		return -1;
	FILE *out = fopen(to, "wb");
	if (!out) {
		int e = errno;
		fclose(in);
		return lfm_error(err, to, "cannot create: %s", strerror(e));
	}
	char buf[1 << 16];
	size_t n;
	int werr = 0, rerr = 0;
	for (;;) {
		errno = 0;
		n = fread(buf, 1, sizeof buf, in);
		if (n == 0) {
			rerr = ferror(in) ? (errno ? errno : EIO) : 0;
			break;
		}
		if ((werr = lfm_io_fwrite(out, buf, n)) != 0)
			break;
	}
	fclose(in);
	int cerr = lfm_io_fclose(out);
	if (rerr)
		return lfm_error(err, from, "read error: %s", strerror(rerr));
	if (werr || cerr)
		return lfm_error(err, to, "cannot copy %s here: %s", from, lfm_io_reason(werr ? werr : cerr));
	return 0;
}

/* Removes a flat directory of files (our temporary output). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				char *p = join(dir, e->d_name);
				if (p)
					unlink(p);
				free(p);
			}
		closedir(d);
	}
	rmdir(dir);
}

/* OUT must be absent or an empty directory, and not the model's. */
static int check_out_dir(const char *out, const char *model, LfmError *err)
{
	struct stat st;
	if (stat(out, &st) != 0)
		return errno == ENOENT ? 0 : lfm_error(err, out, "cannot stat: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return lfm_error(err, out, "exists and is not a directory");
	char a[PATH_MAX], b[PATH_MAX];
	if (realpath(out, a) && realpath(model, b) && !strcmp(a, b))
		return lfm_error(err, out, "is the model's own directory");
	DIR *d = opendir(out);
	if (!d)
		return lfm_error(err, out, "cannot open: %s", strerror(errno));
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n ? lfm_error(err, out, "exists and is not empty") : 0;
}

/* The graph weight holding checkpoint tensor t, and which part of it t is
 * (a fusion may have stacked or paired t's rows with others'), or NULL. */
static const Weight *holder(const Graph *g, const StTensor *t, int *part)
{
	for (int i = 0; i < g->n_weights; i++)
		for (int p = 0; p < g->weights[i].n_parts; p++)
			if (g->weights[i].part[p].src == t) {
				*part = p;
				return &g->weights[i];
			}
	return NULL;
}

static bool quantized(const Weight *w) { return w->dtype != DT_F32 || w->rounded != DT_F32; }

/* The values written for t (t->numel floats into v): a weight stored in a
 * quantized format as the model computes with it — its rows of the
 * weight, through the format; anything else (f32 weights, norms, conv
 * taps, biases, tensors the graph does not use) as it is.  A norm folded
 * into an f32 weight is written as itself and the weight as its own rows:
 * the folded model computes W diag(g) from exactly those. */
static int tensor_values(const Graph *g, const StTensor *t, float *v, LfmError *err)
{
	int p = 0;
	const Weight *w = holder(g, t, &p);
	int64_t K = t->ndim ? t->shape[t->ndim - 1] : 1;
	if (!w || !quantized(w)) {
		lfm_tensor_to_f32(t, v);
		return 0;
	}
	if (w->part[p].scale)   /* rmsnorm_fold never does this (fuse.c) */
		return lfm_error(err, t->file, "tensor %s: a norm folded into a %s weight cannot be written back",
		                 t->name, dtype_name(w->dtype));
	for (int64_t i = 0; i < t->numel / K; i++) {
		float *o = v + i * K;
		if (ir_weight_rows_f32(w, ir_weight_part_row(w, p, i), 1, o, err))
			return -1;
		if (w->dtype != DT_F32 && quant_roundtrip(w->dtype, o, 1, K, o))
			return lfm_error(err, t->file, "tensor %s cannot be stored as %s (a value outside the "
			                 "format's range)", t->name, dtype_name(w->dtype));
	}
	return 0;
}

/* Streams every tensor, in the checkpoint's (sorted) order, as F32. */
static int write_weights(const Checkpoint *ck, const Graph *g, const char *path, LfmError *err)
{
	int n = ck->n_tensors;
	StWriteTensor *wt = calloc((size_t)n, sizeof *wt);
	if (!wt)
		return lfm_error(err, NULL, "dequant: out of memory");
	for (int i = 0; i < n; i++) {
		const StTensor *t = &ck->tensors[i];
		wt[i] = (StWriteTensor){.name = t->name, .dtype = ST_F32, .ndim = t->ndim};
		memcpy(wt[i].shape, t->shape, sizeof wt[i].shape);
	}
	StWriter *w = lfm_st_writer_create(path, wt, n, err);
	free(wt);
	if (!w)
		return -1;
	for (int i = 0; i < n; i++) {
		const StTensor *t = &ck->tensors[i];
		float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
		if (!v) {
			lfm_st_writer_abort(w);
			return lfm_error(err, NULL, "dequant: out of memory for %s", t->name);
		}
		int rc = tensor_values(g, t, v, err);
		if (!rc)
			rc = lfm_st_writer_put_f32(w, v, (size_t)t->numel, err);
		free(v);
		if (rc) {
			lfm_st_writer_abort(w);
			return -1;
		}
	}
	return lfm_st_writer_commit(w, err);
}

static int write_checkpoint(const Checkpoint *ck, const Graph *g, const char *out, LfmError *err)
{
	/* the temporary directory sits next to OUT so the rename stays on one
	 * file system */
	size_t len = strlen(out);
	while (len > 1 && out[len - 1] == '/')   /* "OUT/" names OUT */
		len--;
	char *tmpl;
	if (asprintf(&tmpl, "%.*s.tmp-XXXXXX", (int)len, out) < 0)
		return lfm_error(err, NULL, "dequant: out of memory");
	if (!mkdtemp(tmpl)) {
		int rc = lfm_error(err, out, "cannot create a temporary directory next to it: %s", strerror(errno));
		free(tmpl);
		return rc;
	}
	int rc = 0;
	for (int i = 0; side_files[i] && !rc; i++) {
		char *from = join(ck->dir, side_files[i]), *to = join(tmpl, side_files[i]);
		if (!from || !to)
			rc = lfm_error(err, NULL, "dequant: out of memory");
		else if (i == 0 || access(from, F_OK) == 0)
			rc = copy_file(i == 0 ? ck->config_path : from, to, err);
		free(from);
		free(to);
	}
	char *model = join(tmpl, "model.safetensors");
	if (!rc)
		rc = model ? write_weights(ck, g, model, err) : lfm_error(err, NULL, "dequant: out of memory");
	free(model);
	if (!rc) {
		rmdir(out);   /* an empty OUT is replaced */
		if (rename(tmpl, out) != 0)
			rc = lfm_error(err, out, "cannot rename %s into place: %s", tmpl, strerror(errno));
	}
	if (rc)
		remove_tree(tmpl);
	free(tmpl);
	return rc;
}

int cmd_dequant(int argc, char **argv)
{
	const char *dir = NULL, *out = NULL;
	CliSchedule qc = {0};
	int rc = 1;
	for (int i = 1; i < argc; i++) {
		int q = cli_schedule_arg(&qc, "dequant", argc, argv, &i);
		if (q < 0)
			goto out_args;
		if (q)
			continue;
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-') {
			lfm_fail("dequant: unknown option '%s'", argv[i]);
			goto out_args;
		} else if (!dir)
			dir = argv[i];
		else {
			lfm_fail("dequant: unexpected argument '%s'", argv[i]);
			goto out_args;
		}
	}
	if (!dir || !out || (!qc.have_format && !qc.n_ov && !qc.have_schedule)) {
		lfm_fail("usage: lfm2c dequant MODEL_DIR -o OUT_DIR " CLI_SCHEDULE_USAGE
		            " (at least one of the format flags)");
		goto out_args;
	}
	LfmError err = {{0}};
	Checkpoint ck;
	Graph g;
	if (check_out_dir(out, dir, &err)) {
		lfm_fail("%s", err.msg);
		goto out_args;
	}
	PassOptions po = {0};
	if (cli_schedule_finish(&qc, &po))
		goto out_args;
	if (passes_load_graph(dir, &po, &ck, &g, &err)) {
		lfm_fail("%s", err.msg);
		goto out_args;
	}
	if (write_checkpoint(&ck, &g, out, &err))
		lfm_fail("%s", err.msg);
	else {
		int n = 0;
		for (int i = 0; i < g.n_weights; i++)
			n += quantized(&g.weights[i]);
		printf("wrote %s: %d tensors, %d of them quantize-dequantized, all stored as F32\n", out,
		       ck.n_tensors, n);
		rc = 0;
	}
	passes_unload_graph(&ck, &g);
out_args:
	cli_schedule_free(&qc);
	return rc;
}
