/*
 * npy.c — float32 .npy files, the format the numpy oracle reads and writes
 * logits in, so a compiled model's output can be compared with no glue.
 *
 * Layout (NumPy format version 1.0): "\x93NUMPY", bytes 1 and 0, a u16
 * little-endian header length, then an ASCII Python dict literal padded
 * with spaces and ended by '\n' so that the data starts at a multiple of 64
 * bytes (numpy also reserves room for a 21-digit row count; we do the same,
 * so the bytes equal np.save's), then the raw little-endian float32 values in C order.
 *
 * The writer goes through a temporary file in the same directory and
 * rename()s it into place, so an interrupted or failed write never leaves a
 * half-written file under the real name.  The reader accepts what numpy
 * writes for '<f4' 1-D and 2-D C-order arrays (versions 1.0 to 3.0), from
 * a regular file only (rt_open_input); it is meant for tests and tools,
 * not for arbitrary .npy files.  A failed write names its reason (the
 * errno of the failing call, or "short write (disk full?)").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_internal.h"

static int host_is_little_endian(void)
{
	const uint16_t one = 1;
	return *(const unsigned char *)&one == 1;
}

static void swap4(unsigned char *p)
{
	unsigned char t = p[0];
	p[0] = p[3];
	p[3] = t;
	t = p[1];
	p[1] = p[2];
	p[2] = t;
}

/* The 10-byte preamble + dict + padding; returns its length (a multiple of 64). */
static size_t format_header(char *buf, size_t cap, int64_t rows, int64_t cols)
{
	char dict[128];
	int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%" PRId64
	                   ", %" PRId64 "), }", rows, cols);
	/* Like numpy >= 1.23, leave room for the row count to grow to 21 digits
	 * in place, so our files are byte-identical to np.save's. */
	int digits = snprintf(NULL, 0, "%" PRId64, rows);
	size_t total = 10 + (size_t)len + (size_t)(digits < 21 ? 21 - digits : 0) + 1;
	total = (total + 63) / 64 * 64;
	if (total > cap)
		return 0;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)((total - 10) & 0xff);
	buf[9] = (char)((total - 10) >> 8);
	memcpy(buf + 10, dict, (size_t)len);
	memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
	buf[total - 1] = '\n';
	return total;
}

/* fwrite all n bytes; 0, or -1 with *e = the errno of that failure (0 if
 * the short write set none: errno is cleared first, never stale). */
static int put(FILE *f, const void *p, size_t n, int *e)
{
	errno = 0;
	if (fwrite(p, 1, n, f) == n)
		return 0;
	*e = errno;
	return -1;
}

static int write_body(FILE *f, const float *data, int64_t rows, int64_t cols, int *e)
{
	char head[256];
	size_t hl = format_header(head, sizeof head, rows, cols);
	if (put(f, head, hl, e))
		return -1;
	size_t n = (size_t)rows * (size_t)cols;
	if (host_is_little_endian())
		return put(f, data, n * sizeof(float), e);
	for (size_t i = 0; i < n; i++) {
		unsigned char b[4];
		memcpy(b, &data[i], 4);
		swap4(b);
		if (put(f, b, 4, e))
			return -1;
	}
	return 0;
}

int lfm2_npy_write(const char *path, const float *data, int64_t rows, int64_t cols, lfm2_err *err)
{
	if (rows < 0 || cols < 0 || (cols && (uint64_t)rows > SIZE_MAX / 4 / (uint64_t)cols))
		return rt_fail(err, "%s: bad array shape (%" PRId64 ", %" PRId64 ")", path, rows, cols);
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp)
		return rt_fail(err, "%s: out of memory", path);
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", 12);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		rt_fail(err, "%s: cannot create: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	fchmod(fd, 0644);
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		return rt_fail(err, "%s: cannot open for writing: %s", path, strerror(e));
	}
	int saved = 0;
	int rc = write_body(f, data, rows, cols, &saved);
	errno = 0;
	if (fclose(f) != 0 && rc == 0) {   /* the flush of the last buffer */
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0) {
		unlink(tmp);
		rt_fail(err, "%s: write failed: %s", path, rt_write_reason(saved));
	}
	free(tmp);
	return rc;
}

/* ---------------------------------------------------------------- reader */

/* Pointer just past "'key':" (and spaces) in the dict, or NULL. */
static const char *dict_value(const char *dict, const char *key)
{
	char pat[32];
	snprintf(pat, sizeof pat, "'%s':", key);
	const char *p = strstr(dict, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return p;
}

/* Parses "(R, C)", "(N,)" or "()"; returns the number of dims or -1. */
static int parse_shape(const char *p, int64_t dims[2])
{
	if (*p++ != '(')
		return -1;
	int n = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == ')')
			return n;
		if (n == 2 || *p < '0' || *p > '9')
			return -1;
		char *end;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (errno)
			return -1;
		dims[n++] = v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != ')')
			return -1;
	}
}

static float *read_npy(FILE *f, const char *path, int64_t *rows, int64_t *cols, lfm2_err *err)
{
	unsigned char pre[12];
	if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
		rt_fail(err, "%s: not a .npy file", path);
		return NULL;
	}
	size_t hlen, start;
	if (pre[6] == 1) {
		hlen = pre[8] | (size_t)pre[9] << 8;
		start = 10;
	} else if (pre[6] == 2 || pre[6] == 3) {
		if (fread(pre + 10, 1, 2, f) != 2) {
			rt_fail(err, "%s: truncated .npy header", path);
			return NULL;
		}
		hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
		start = 12;
	} else {
		rt_fail(err, "%s: unsupported .npy version %d.%d", path, pre[6], pre[7]);
		return NULL;
	}
	if (hlen > (1u << 20)) {
		rt_fail(err, "%s: .npy header too large", path);
		return NULL;
	}
	char *dict = malloc(hlen + 1);
	if (!dict) {
		rt_fail(err, "%s: out of memory", path);
		return NULL;
	}
	float *data = NULL;
	if (fread(dict, 1, hlen, f) != hlen) {
		rt_fail(err, "%s: truncated .npy header", path);
		goto out;
	}
	dict[hlen] = 0;
	const char *descr = dict_value(dict, "descr"), *fo = dict_value(dict, "fortran_order");
	const char *shape = dict_value(dict, "shape");
	if (!descr || strncmp(descr, "'<f4'", 5) != 0) {
		rt_fail(err, "%s: .npy dtype is not little-endian float32 ('<f4')", path);
		goto out;
	}
	if (!fo || strncmp(fo, "False", 5) != 0) {
		rt_fail(err, "%s: .npy array is not in C order", path);
		goto out;
	}
	int64_t dims[2] = {1, 1};
	int nd = shape ? parse_shape(shape, dims) : -1;
	if (nd < 1) {
		rt_fail(err, "%s: .npy shape is not 1-D or 2-D", path);
		goto out;
	}
	if (nd == 1) {
		dims[1] = dims[0];
		dims[0] = 1;
	}
	if (dims[1] && (uint64_t)dims[0] > SIZE_MAX / 4 / (uint64_t)dims[1]) {
		rt_fail(err, "%s: .npy array too large", path);
		goto out;
	}
	size_t n = (size_t)dims[0] * (size_t)dims[1];
	struct stat sb;
	if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size != start + hlen + 4 * (uint64_t)n) {
		rt_fail(err, "%s: .npy file size does not match its shape (%" PRId64 ", %" PRId64 ")", path,
		        dims[0], dims[1]);
		goto out;
	}
	data = malloc(n ? n * sizeof(float) : 1);
	if (!data) {
		rt_fail(err, "%s: out of memory", path);
		goto out;
	}
	if (fread(data, sizeof(float), n, f) != n) {
		rt_fail(err, "%s: read error", path);
		free(data);
		data = NULL;
		goto out;
	}
	if (!host_is_little_endian())
		for (size_t i = 0; i < n; i++)
			swap4((unsigned char *)&data[i]);
	*rows = dims[0];
	*cols = dims[1];
out:
	free(dict);
	return data;
}

float *lfm2_npy_read(const char *path, int64_t *rows, int64_t *cols, lfm2_err *err)
{
	int fd = rt_open_input(path, NULL, NULL, err);   /* regular files only: a FIFO would block */
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		rt_fail(err, "%s: cannot open: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	float *data = read_npy(f, path, rows, cols, err);
	fclose(f);
	return data;
}
