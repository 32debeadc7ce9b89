/*
 * npy_mktest.c — write the small .npy files that npycmp's own tests use.
 *
 *   npy_mktest DIR
 *
 * The values are chosen so the expected results are exact: every element is
 * a small dyadic rational (exact in float32 and float64), max|want| = 8, and
 * each "got" file differs from "want" by a power of two at one known place,
 * so npycmp must print exactly rel=3.051758e-05 (2^-15) for close.npy and
 * rel=2.441406e-04 (2^-12) for far.npy.  The malformed files each break one
 * rule of the format (magic, truncation, Fortran order, dtype, byte order,
 * rank) so that every reader error path is exercised.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npyio.h"

enum { ROWS = 3, COLS = 4 };

static char dir[4096];

static const char *at(const char *name)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void put(const char *name, const double *v, int rows, int cols, int elsize)
{
	char err[512];
	if (npy_write_2d(at(name), v, rows, cols, elsize, err, sizeof err)) {
		fprintf(stderr, "npy_mktest: %s\n", err);
		exit(1);
	}
}

/* A .npy with an arbitrary header dict and payload (for the broken cases). */
static void put_raw(const char *name, const char *magic, const char *dict,
                    const void *data, size_t nbytes)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof hdr, "%s", dict);
	while ((10 + n + 1) % 64)
		hdr[n++] = ' ';
	hdr[n++] = '\n';
	unsigned char pre[10];
	memcpy(pre, magic, 6);
	pre[6] = 1;
	pre[7] = 0;
	pre[8] = (unsigned char)(n & 0xff);
	pre[9] = (unsigned char)(n >> 8);
	FILE *f = fopen(at(name), "wb");
	if (!f || fwrite(pre, 1, 10, f) != 10 || fwrite(hdr, 1, (size_t)n, f) != (size_t)n ||
	    fwrite(data, 1, nbytes, f) != nbytes || fclose(f) != 0) {
		fprintf(stderr, "npy_mktest: %s: write error\n", at(name));
		exit(1);
	}
}

static void truncate_copy(const char *src, const char *dst, long cut)
{
	FILE *f = fopen(at(src), "rb");
	unsigned char buf[4096];
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (!f || ferror(f) || n <= (size_t)cut) {
		fprintf(stderr, "npy_mktest: cannot read %s\n", at(src));
		exit(1);
	}
	fclose(f);
	f = fopen(at(dst), "wb");
	if (!f || fwrite(buf, 1, n - (size_t)cut, f) != n - (size_t)cut || fclose(f) != 0) {
		fprintf(stderr, "npy_mktest: %s: write error\n", at(dst));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: npy_mktest DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);

	double want[ROWS * COLS], g[ROWS * COLS];
	for (int i = 0; i < ROWS * COLS; i++)
		want[i] = (i % 2 ? -1.0 : 1.0) * (0.25 + 0.5 * i);   /* ..., +-5.75 */
	want[7] = -8.0;                                           /* max |want| */
	put("want.npy", want, ROWS, COLS, 8);
	put("want_f32.npy", want, ROWS, COLS, 4);

	memcpy(g, want, sizeof g);
	g[1 * COLS + 2] += ldexp(1, -12);
	put("close.npy", g, ROWS, COLS, 4);

	memcpy(g, want, sizeof g);
	g[2 * COLS + 3] += ldexp(1, -9);
	put("far.npy", g, ROWS, COLS, 4);

	memcpy(g, want, sizeof g);
	for (int c = 0; c < COLS; c++)
		g[2 * COLS + c] += 1.0;
	put("rowdiff.npy", g, ROWS, COLS, 8);

	memcpy(g, want, sizeof g);
	g[0] = NAN;
	put("nan.npy", g, ROWS, COLS, 4);

	put("shape.npy", want, COLS, ROWS, 8);

	double zeros[ROWS * COLS] = {0};
	put("zeros.npy", zeros, ROWS, COLS, 8);

	put_raw("vector.npy", "\x93NUMPY", "{'descr': '<f8', 'fortran_order': False, 'shape': (12,), }",
	        want, sizeof want);
	put_raw("badmagic.npy", "\x93NUMPX", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
	        want, sizeof want);
	put_raw("fortran.npy", "\x93NUMPY", "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4), }",
	        want, sizeof want);
	put_raw("int.npy", "\x93NUMPY", "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }",
	        want, sizeof want);
	put_raw("bigendian.npy", "\x93NUMPY", "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 4), }",
	        want, sizeof want);
	put_raw("noshape.npy", "\x93NUMPY", "{'descr': '<f8', 'fortran_order': False, }",
	        want, sizeof want);
	put_raw("extra.npy", "\x93NUMPY", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }",
	        want, sizeof want);
	truncate_copy("want.npy", "truncated.npy", 3);
	truncate_copy("want.npy", "header_cut.npy", (long)(sizeof want + 40));
	return 0;
}
