/*
 * cmd_interp.c — `lfm2c interp MODEL_DIR --tokens IDS [--chunks 3,1,..] --logits OUT.npy
 *                [-q FORMAT] [--quant-override PATTERN=FORMAT]... [--schedule FILE]`
 *
 * Runs the reference interpreter (double precision) and writes the logits
 * of every position as a float64 .npy [n_tokens, vocab].  With --chunks the
 * tokens are fed in chunks of those sizes (the last repeats), which is how
 * the tests check that incremental evaluation equals one pass.  With -q
 * (etc.) matrix weights are stored in that format and the interpreter uses
 * their quantize-then-dequantize values (activations stay unquantized).
 * --act-q8 also quantizes the activations of the matmuls on block-format
 * weights exactly as the compiled int8 kernels do (interp_set_act_q8): the
 * reference the compiled q8_0 / q4_0 / q4_1 models are tested against.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "driver.h"
#include "fileio.h"
#include "passes.h"
#include "cli_schedule.h"

/* Parses "1,2,3" into a malloc'd array. */
static int parse_ids(const char *s, int32_t **out, int *n)
{
	int cap = 16, k = 0;
	int32_t *v = malloc((size_t)cap * sizeof *v);
	if (!v)
		return -1;
	while (*s) {
		char *end;
		errno = 0;
		long x = strtol(s, &end, 10);
		if (end == s || errno || x < 0 || x > 0x7fffffff || (*end && *end != ',')) {
			free(v);
			return -1;
		}
		if (k == cap) {
			int32_t *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
		}
		v[k++] = (int32_t)x;
		s = *end ? end + 1 : end;
	}
	*out = v;
	*n = k;
	return k ? 0 : -1;
}

/* float64 .npy, shape [rows, cols], C order.  0, or -1 with err naming the
 * reason (the failing call's errno, or a short write). */
static int write_npy_f64(const char *path, const double *d, int64_t rows, int64_t cols, LfmError *err)
{
	char hdr[192];   /* magic, version, length, dict (<= 95 bytes), padding, '\n' */
	memcpy(hdr, "\x93NUMPY\x01\x00", 8);
	int len = 10 + snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '<f8', 'fortran_order': False, "
	                        "'shape': (%lld, %lld), }", (long long)rows, (long long)cols);
	int pad = (64 - (len + 1) % 64) % 64;
	unsigned short hl = (unsigned short)(len - 10 + pad + 1);
	hdr[8] = (char)(hl & 0xff);
	hdr[9] = (char)(hl >> 8);
	memset(hdr + len, ' ', (size_t)pad);
	hdr[len + pad] = '\n';
	FILE *f = fopen(path, "wb");
	if (!f)
		return lfm_error(err, path, "cannot create: %s", strerror(errno));
	struct stat st;   /* a half-written file is removed; a device (/dev/stdout) is not */
	bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
	int e = lfm_io_fwrite(f, hdr, (size_t)(len + pad + 1));
	if (!e)
		e = lfm_io_fwrite(f, d, sizeof(double) * (size_t)(rows * cols));
	int c = lfm_io_fclose(f);
	if (!e)
		e = c;
	if (e) {
		if (regular)
			remove(path);
		return lfm_error(err, path, "write failed: %s", lfm_io_reason(e));
	}
	return 0;
}

int cmd_interp(int argc, char **argv)
{
	const char *dir = NULL, *tok_s = NULL, *out = NULL, *chunk_s = NULL;
	int act_q8 = 0;
	CliSchedule qc = {0};
	for (int i = 1; i < argc; i++) {
		int v = i + 1 < argc, q = cli_schedule_arg(&qc, "interp", argc, argv, &i);
		if (q < 0) {
			cli_schedule_free(&qc);
			return 1;
		}
		if (q)
			continue;
		if (!strcmp(argv[i], "--tokens") && v)
			tok_s = argv[++i];
		else if (!strcmp(argv[i], "--logits") && v)
			out = argv[++i];
		else if (!strcmp(argv[i], "--chunks") && v)
			chunk_s = argv[++i];
		else if (!strcmp(argv[i], "--act-q8"))
			act_q8 = 1;
		else {
			int rc = 0;
			if (argv[i][0] == '-')
				rc = lfm_fail("interp: unknown option '%s'", argv[i]);
			else if (!dir)
				dir = argv[i];
			else
				rc = lfm_fail("interp: unexpected argument '%s'", argv[i]);
			if (rc) {
				cli_schedule_free(&qc);
				return rc;
			}
		}
	}
	if (!dir || !tok_s || !out) {
		cli_schedule_free(&qc);
		return lfm_fail("usage: lfm2c interp MODEL_DIR --tokens IDS --logits OUT.npy [--chunks N,M,..] [--act-q8] "
		                   CLI_SCHEDULE_USAGE);
	}
	int32_t *toks = NULL, *chunks = NULL;
	int n = 0, n_chunks = 0;
	if (parse_ids(tok_s, &toks, &n)) {
		cli_schedule_free(&qc);
		return lfm_fail("interp: --tokens must be comma-separated non-negative integers");
	}
	if (chunk_s && (parse_ids(chunk_s, &chunks, &n_chunks) || chunks[0] == 0)) {
		free(toks);
		cli_schedule_free(&qc);
		return lfm_fail("interp: --chunks must be comma-separated positive integers");
	}
	LfmError err = {{0}};
	Checkpoint ck;
	Graph g;
	int rc = 1;
	double *logits = NULL;
	InterpState *st = NULL;
	PassOptions po = {0};
	if (cli_schedule_finish(&qc, &po))
		goto out0;
	if (passes_load_graph(dir, &po, &ck, &g, &err)) {
		lfm_fail("%s", err.msg);
		goto out0;
	}
	int V = ck.cfg.vocab_size;
	if (!(st = interp_new(&g, n, &err))) {
		lfm_fail("%s", err.msg);
		goto out2;
	}
	interp_set_act_q8(st, act_q8);
	logits = malloc((size_t)n * (size_t)V * sizeof(double));
	if (!logits) {
		lfm_fail("interp: out of memory");
		goto out2;
	}
	for (int done = 0, ci = 0; done < n; ci++) {
		int k = chunks ? chunks[ci < n_chunks ? ci : n_chunks - 1] : n;
		if (k < 1)
			k = 1;
		if (k > n - done)
			k = n - done;
		if (interp_eval(st, toks + done, k, k, logits + (size_t)done * (size_t)V, &err)) {
			lfm_fail("%s", err.msg);
			goto out2;
		}
		done += k;
	}
	if (act_q8 && interp_act_q8_tie(st) >= 0)   /* tests read this line */
		fprintf(stderr, "lfm2c: interp --act-q8: an activation within 1e-6 of a rounding tie at position %d "
		        "(a compiled model may round it the other way from there on)\n", interp_act_q8_tie(st));
	if (write_npy_f64(out, logits, n, V, &err)) {
		lfm_fail("%s", err.msg);
		goto out2;
	}
	rc = 0;
out2:
	interp_free(st);
	free(logits);
	passes_unload_graph(&ck, &g);
out0:
	free(toks);
	free(chunks);
	cli_schedule_free(&qc);
	return rc;
}
