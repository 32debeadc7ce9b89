/*
 * npycmp.c — compare two 2-D .npy arrays with a relative max-norm bound.
 *
 *   npycmp GOT.npy WANT.npy [--rel BOUND] [--rows A:B] [--stride S]
 *
 * The end-to-end tests compare a compiled model's float32 logits with the
 * float64 oracle's.  The measure is the one every lfm2c accuracy claim uses:
 *
 *   rel = max |got - want| / max |want|
 *
 * over all elements (or rows A..B-1 of both arrays with --rows), so one
 * number summarizes a whole logits matrix and is independent of its scale.
 * --stride S: WANT holds only every S-th row of GOT (row r of WANT is row
 * r*S of GOT; GOT must have (rows(WANT) - 1) * S + 1 rows or more), for
 * long sequences whose every row would make a large fixture.
 * One line is printed:
 *   max_abs_err=... max_abs_want=... rel=... (bound ...) worst=[r,c]
 * Exit status: 0 if rel <= BOUND (default 1e-4), 1 if not (a NaN/Inf
 * difference always fails), 2 for usage errors and unreadable, malformed or
 * shape-mismatched inputs (one "npycmp: ..." line on stderr).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npyio.h"

static int usage(void)
{
	fprintf(stderr, "usage: npycmp GOT.npy WANT.npy [--rel BOUND] [--rows A:B] [--stride S]\n");
	return 2;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || isinf(v))
		return -1;
	*out = v;
	return 0;
}

/* "A:B" -> [a, b), 0 <= a < b. */
static int parse_rows(const char *s, long long *a, long long *b)
{
	char *end;
	errno = 0;
	*a = strtoll(s, &end, 10);
	if (errno || end == s || *end != ':' || *a < 0)
		return -1;
	const char *t = end + 1;
	*b = strtoll(t, &end, 10);
	if (errno || end == t || *end || *b <= *a)
		return -1;
	return 0;
}

static int load_2d(const char *path, NpyArray *a)
{
	char err[512];
	if (npy_read(path, a, err, sizeof err)) {
		fprintf(stderr, "npycmp: %s\n", err);
		return -1;
	}
	if (a->ndim != 2) {
		fprintf(stderr, "npycmp: %s: expected a 2-D array, got %d dimension(s)\n", path, a->ndim);
		npy_free(a);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *files[2];
	int n_files = 0;
	double bound = 1e-4;
	long long r0 = 0, r1 = -1, stride = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rel") && i + 1 < argc) {
			if (parse_double(argv[++i], &bound)) {
				fprintf(stderr, "npycmp: --rel needs a non-negative number, got '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--rows") && i + 1 < argc) {
			if (parse_rows(argv[++i], &r0, &r1)) {
				fprintf(stderr, "npycmp: --rows needs A:B with 0 <= A < B, got '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--stride") && i + 1 < argc) {
			char *end;
			errno = 0;
			stride = strtoll(argv[++i], &end, 10);
			if (errno || end == argv[i] || *end || stride < 1) {
				fprintf(stderr, "npycmp: --stride needs a positive integer, got '%s'\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage();
		} else if (n_files < 2) {
			files[n_files++] = argv[i];
		} else {
			return usage();
		}
	}
	if (n_files != 2)
		return usage();

	NpyArray got, want;
	if (load_2d(files[0], &got))
		return 2;
	if (load_2d(files[1], &want)) {
		npy_free(&got);
		return 2;
	}
	int rc = 2;
	if (got.shape[1] != want.shape[1] || (stride == 1 && got.shape[0] != want.shape[0])
	    || (want.shape[0] - 1) * stride >= got.shape[0]) {
		fprintf(stderr, "npycmp: shape mismatch: %s is [%lld, %lld], %s is [%lld, %lld]\n",
		        files[0], (long long)got.shape[0], (long long)got.shape[1],
		        files[1], (long long)want.shape[0], (long long)want.shape[1]);
		goto out;
	}
	long long rows = want.shape[0], cols = want.shape[1];
	if (r1 < 0)
		r1 = rows;
	if (r1 > rows) {
		fprintf(stderr, "npycmp: --rows %lld:%lld is outside the %lld rows\n", r0, r1, rows);
		goto out;
	}
	double max_err = 0, max_want = 0;
	long long wr = -1, wc = -1;
	for (long long r = r0; r < r1; r++)
		for (long long c = 0; c < cols; c++) {
			double g = got.data[r * stride * cols + c], w = want.data[r * cols + c];
			double e = fabs(g - w);
			if (isnan(e))
				e = INFINITY;
			if (wr < 0 || e > max_err) {
				max_err = e;
				wr = r;
				wc = c;
			}
			if (fabs(w) > max_want)
				max_want = fabs(w);
		}
	double rel = max_err == 0 ? 0 : max_want > 0 ? max_err / max_want : INFINITY;
	int ok = rel <= bound;
	printf("max_abs_err=%.6e max_abs_want=%.6e rel=%.6e (bound %g) worst=[%lld,%lld] rows %lld:%lld%s %s\n",
	       max_err, max_want, rel, bound, wr * stride, wc, r0 * stride, (r1 - 1) * stride + 1,
	       stride > 1 ? " (every stride-th row of GOT)" : "", ok ? "OK" : "FAIL");
	rc = ok ? 0 : 1;
out:
	npy_free(&got);
	npy_free(&want);
	return rc;
}
