/*
 * npyio.c — strict .npy reader/writer for the test tools (see npyio.h).
 *
 * File layout (numpy format spec): the 6 bytes "\x93NUMPY", major and minor
 * version bytes, the header length (u16 LE for version 1, u32 LE for 2 and
 * 3), then the header: an ASCII/UTF-8 Python dict literal such as
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (16, 512), }
 * padded with spaces and ending in '\n', then the raw data.  We read the
 * whole file (fixtures are small), find the three keys in the dict text and
 * insist that the data section is exactly count * elsize bytes.
 */
#include "npyio.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whole file into a malloc'd buffer. */
static int slurp(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, path, "cannot open: %s", strerror(errno));
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	if (!b) {
		fclose(f);
		return fail(err, errlen, path, "out of memory");
	}
	for (;;) {
		if (n == cap) {
			unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
			if (!nb) {
				free(b);
				fclose(f);
				return fail(err, errlen, path, "out of memory");
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		return fail(err, errlen, path, "read error");
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Points just past "'key':" (or "\"key\":") in the header, skipping spaces. */
static const char *find_key(const char *hdr, const char *key)
{
	char pat[64];
	const char quotes[] = {'\'', '"'};
	for (int q = 0; q < 2; q++) {
		snprintf(pat, sizeof pat, "%c%s%c", quotes[q], key, quotes[q]);
		const char *p = strstr(hdr, pat);
		if (!p)
			continue;
		p += strlen(pat);
		while (*p == ' ')
			p++;
		if (*p != ':')
			return NULL;
		p++;
		while (*p == ' ')
			p++;
		return p;
	}
	return NULL;
}

static int parse_shape(const char *p, NpyArray *a)
{
	if (*p != '(')
		return -1;
	p++;
	a->ndim = 0;
	a->count = 1;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == ')')
			return 0;
		if (!isdigit((unsigned char)*p) || a->ndim == NPY_MAX_DIMS)
			return -1;
		char *end;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (errno || v < 0)
			return -1;
		if (v > 0 && a->count > INT64_MAX / v)
			return -1;
		a->shape[a->ndim++] = v;
		a->count *= v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != ')')
			return -1;
	}
}

static double load_le(const unsigned char *p, int elsize)
{
	if (elsize == 4) {
		uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	uint64_t u = 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	double d;
	memcpy(&d, &u, 8);
	return d;
}

static int parse(const char *path, const unsigned char *b, size_t len, NpyArray *a,
                 char *err, size_t errlen)
{
	if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
		return fail(err, errlen, path, "not a .npy file (bad magic)");
	int major = b[6];
	size_t hlen, hstart;
	if (major == 1) {
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
		hstart = 10;
	} else if (major == 2 || major == 3) {
		if (len < 12)
			return fail(err, errlen, path, "truncated .npy header");
		hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
		hstart = 12;
	} else {
		return fail(err, errlen, path, "unsupported .npy format version %d.%d", major, b[7]);
	}
	if (hlen > len - hstart)
		return fail(err, errlen, path, "truncated .npy header (%zu header bytes, file has %zu)",
		            hlen, len - hstart);
	char *hdr = malloc(hlen + 1);
	if (!hdr)
		return fail(err, errlen, path, "out of memory");
	memcpy(hdr, b + hstart, hlen);
	hdr[hlen] = 0;

	int rc = -1;
	const char *d = find_key(hdr, "descr");
	const char *fo = find_key(hdr, "fortran_order");
	const char *sh = find_key(hdr, "shape");
	if (!d || !fo || !sh || hdr[0] != '{') {
		fail(err, errlen, path, "malformed .npy header: %.80s", hdr);
		goto out;
	}
	if (!strncmp(d, "'<f8'", 5) || !strncmp(d, "\"<f8\"", 5))
		a->elsize = 8;
	else if (!strncmp(d, "'<f4'", 5) || !strncmp(d, "\"<f4\"", 5))
		a->elsize = 4;
	else {
		fail(err, errlen, path, "unsupported dtype %.12s (want '<f4' or '<f8')", d);
		goto out;
	}
	if (!strncmp(fo, "True", 4)) {
		fail(err, errlen, path, "Fortran-order arrays are not supported");
		goto out;
	}
	if (strncmp(fo, "False", 5)) {
		fail(err, errlen, path, "malformed fortran_order in .npy header");
		goto out;
	}
	if (parse_shape(sh, a)) {
		fail(err, errlen, path, "malformed shape in .npy header: %.40s", sh);
		goto out;
	}
	size_t data_len = len - hstart - hlen;
	if ((uint64_t)a->count > SIZE_MAX / (size_t)a->elsize ||
	    data_len != (size_t)a->count * (size_t)a->elsize) {
		fail(err, errlen, path, "data is %zu bytes but shape and dtype need %lld x %d",
		     data_len, (long long)a->count, a->elsize);
		goto out;
	}
	a->data = malloc(a->count ? (size_t)a->count * sizeof(double) : 1);
	if (!a->data) {
		fail(err, errlen, path, "out of memory");
		goto out;
	}
	const unsigned char *p = b + hstart + hlen;
	for (int64_t i = 0; i < a->count; i++)
		a->data[i] = load_le(p + (size_t)i * (size_t)a->elsize, a->elsize);
	rc = 0;
out:
	free(hdr);
	return rc;
}

int npy_read(const char *path, NpyArray *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	unsigned char *b = NULL;
	size_t len = 0;
	if (slurp(path, &b, &len, err, errlen))
		return -1;
	int rc = parse(path, b, len, a, err, errlen);
	free(b);
	return rc;
}

void npy_free(NpyArray *a)
{
	free(a->data);
	a->data = NULL;
}

static void store_le(unsigned char *p, double v, int elsize)
{
	if (elsize == 4) {
		float f = (float)v;
		uint32_t u;
		memcpy(&u, &f, 4);
		for (int i = 0; i < 4; i++)
			p[i] = (unsigned char)(u >> (8 * i));
		return;
	}
	uint64_t u;
	memcpy(&u, &v, 8);
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

int npy_write_2d(const char *path, const double *data, int64_t rows, int64_t cols,
                 int elsize, char *err, size_t errlen)
{
	if ((elsize != 4 && elsize != 8) || rows < 0 || cols < 0)
		return fail(err, errlen, path, "npy_write_2d: bad arguments");
	char dict[128];
	int n = snprintf(dict, sizeof dict, "{'descr': '<f%d', 'fortran_order': False, 'shape': (%lld, %lld), }",
	                 elsize, (long long)rows, (long long)cols);
	/* header = 10 prefix bytes + dict + spaces + '\n', total a multiple of 64 */
	size_t total = ((size_t)10 + (size_t)n + 1 + 63) / 64 * 64;
	size_t hlen = total - 10;
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
	                         (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
	FILE *f = fopen(path, "wb");
	if (!f)
		return fail(err, errlen, path, "cannot create: %s", strerror(errno));
	int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
	for (size_t i = (size_t)n; ok && i < hlen - 1; i++)
		ok = fputc(' ', f) != EOF;
	ok = ok && fputc('\n', f) != EOF;
	unsigned char cell[8];
	for (int64_t i = 0; ok && i < rows * cols; i++) {
		store_le(cell, data[i], elsize);
		ok = fwrite(cell, 1, (size_t)elsize, f) == (size_t)elsize;
	}
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		remove(path);
		return fail(err, errlen, path, "write error");
	}
	return 0;
}
