/*
 * st_write.c — streaming safetensors writer (see st_write.h).
 *
 * Two halves.  lfm_st_layout turns a tensor list into the exact header
 * bytes and sizes; it is pure, so `lfm2c synth --dry-run` can report the
 * exact file size without touching the disk.  The StWriter then writes that
 * header to a temporary file and streams float32 values through one fixed
 * buffer (1 MiB), converting to F32/F16/BF16 little-endian as it goes.
 *
 * Every write() result is checked (short writes are resumed, EINTR retried)
 * and close() is checked too, since on some file systems that is where a
 * full disk shows up.  The final rename is the commit point: until then
 * the checkpoint's real name does not exist (or still holds the old file).
 */
#define _GNU_SOURCE
#include "st_write.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_BUF_BYTES (1u << 20)

/* ------------------------------------------------------------ header */

typedef struct Str {
	char *s;
	size_t len, cap;
	int oom;
} Str;

static void str_add(Str *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void str_printf(Str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void str_printf(Str *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = 1;
		return;
	}
	str_add(b, tmp, (size_t)n);
}

/* JSON string literal; names are ASCII in practice, other bytes pass through. */
static void str_json_string(Str *b, const char *s)
{
	str_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};
			str_add(b, esc, 2);
		} else if (*p < 0x20) {
			str_printf(b, "\\u%04x", *p);
		} else {
			str_add(b, (const char *)p, 1);
		}
	}
	str_add(b, "\"", 1);
}

static int check_tensor(const StWriteTensor *t, const StWriteTensor *prev, int64_t *numel,
                        LfmError *err)
{
	if (!t->name || !t->name[0])
		return lfm_error(err, NULL, "safetensors writer: empty tensor name");
	if (prev && strcmp(prev->name, t->name) >= 0)
		return lfm_error(err, NULL, "safetensors writer: tensor '%s' is not after '%s' "
		                 "(names must be unique and sorted)", t->name, prev->name);
	if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
		return lfm_error(err, NULL, "safetensors writer: %s: bad dtype %d", t->name, (int)t->dtype);
	if (t->ndim < 0 || t->ndim > 4)
		return lfm_error(err, NULL, "safetensors writer: %s: bad rank %d", t->name, t->ndim);
	int64_t n = 1;
	for (int d = 0; d < t->ndim; d++) {
		if (t->shape[d] < 0 || (t->shape[d] > 0 && n > INT64_MAX / 8 / t->shape[d]))
			return lfm_error(err, NULL, "safetensors writer: %s: bad shape", t->name);
		n *= t->shape[d];
	}
	*numel = n;
	return 0;
}

int lfm_st_layout(const StWriteTensor *t, int n, StLayout *out, LfmError *err)
{
	memset(out, 0, sizeof *out);
	Str b = {0};
	str_printf(&b, "%s", "{\"__metadata__\":{\"format\":\"pt\"}");
	uint64_t off = 0;
	for (int i = 0; i < n; i++) {
		int64_t numel = 0;
		if (check_tensor(&t[i], i ? &t[i - 1] : NULL, &numel, err)) {
			free(b.s);
			return -1;
		}
		uint64_t bytes = (uint64_t)numel * lfm_dtype_size(t[i].dtype);
		str_add(&b, ",", 1);
		str_json_string(&b, t[i].name);
		str_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[", lfm_dtype_name(t[i].dtype));
		for (int d = 0; d < t[i].ndim; d++)
			str_printf(&b, d ? ",%" PRId64 : "%" PRId64, t[i].shape[d]);
		str_printf(&b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + bytes);
		off += bytes;
		out->n_params += numel;
	}
	str_add(&b, "}", 1);
	while (!b.oom && b.len % 8)
		str_add(&b, " ", 1);
	if (b.oom) {
		free(b.s);
		return lfm_error(err, NULL, "safetensors writer: out of memory");
	}
	out->header = b.s;
	out->header_len = b.len;
	out->data_bytes = off;
	out->file_bytes = 8 + b.len + off;
	return 0;
}

void lfm_st_layout_free(StLayout *l)
{
	free(l->header);
	l->header = NULL;
}

/* ------------------------------------------------------------ writer */

struct StWriter {
	char *path, *tmp;
	int fd;
	StWriteTensor *t;
	int n;
	int cur;                /* tensor receiving the next value */
	int64_t left;           /* values still owed to tensor cur */
	unsigned char *buf;
	size_t used;
	uint64_t written, file_bytes;
};

static int write_all(StWriter *w, const void *p, size_t n, LfmError *err)
{
	const unsigned char *c = p;
	while (n) {
		ssize_t k = write(w->fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return lfm_error(err, w->path, "write failed: %s",
			                 k < 0 ? strerror(errno) : "short write (disk full?)");
		c += k;
		n -= (size_t)k;
		w->written += (uint64_t)k;
	}
	return 0;
}

static int flush_buf(StWriter *w, LfmError *err)
{
	int rc = write_all(w, w->buf, w->used, err);
	w->used = 0;
	return rc;
}

static void free_writer(StWriter *w)
{
	free(w->path);
	free(w->tmp);
	free(w->t);
	free(w->buf);
	free(w);
}

void lfm_st_writer_abort(StWriter *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free_writer(w);
}

/* Moves cur past complete (and empty) tensors. */
static void advance(StWriter *w)
{
	while (w->left == 0 && w->cur < w->n) {
		w->cur++;
		if (w->cur < w->n) {
			int64_t numel = 1;
			for (int d = 0; d < w->t[w->cur].ndim; d++)
				numel *= w->t[w->cur].shape[d];
			w->left = numel;
		}
	}
}

StWriter *lfm_st_writer_create(const char *path, const StWriteTensor *t, int n, LfmError *err)
{
	StLayout lay;
	if (n < 0 || lfm_st_layout(t, n, &lay, err))
		return NULL;
	StWriter *w = calloc(1, sizeof *w);
	size_t plen = strlen(path);
	if (w) {
		w->fd = -1;
		w->path = strdup(path);
		w->tmp = malloc(plen + 16);
		w->t = malloc((size_t)(n ? n : 1) * sizeof *t);
		w->buf = malloc(ST_BUF_BYTES);
	}
	if (!w || !w->path || !w->tmp || !w->t || !w->buf) {
		lfm_error(err, path, "out of memory");
		goto fail;
	}
	memcpy(w->t, t, (size_t)n * sizeof *t);
	w->n = n;
	w->file_bytes = lay.file_bytes;
	snprintf(w->tmp, plen + 16, "%s.tmp-XXXXXX", path);
	w->fd = mkstemp(w->tmp);
	if (w->fd < 0) {
		lfm_error(err, path, "cannot create file: %s", strerror(errno));
		free(w->tmp);
		w->tmp = NULL;       /* nothing to unlink */
		goto fail;
	}
	if (fchmod(w->fd, 0644) != 0) {
		lfm_error(err, w->tmp, "chmod failed: %s", strerror(errno));
		goto fail;
	}
	unsigned char len8[8];
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)lay.header_len >> (8 * i));
	if (write_all(w, len8, 8, err) || write_all(w, lay.header, lay.header_len, err))
		goto fail;
	lfm_st_layout_free(&lay);
	w->cur = -1;
	w->left = 0;
	advance(w);
	return w;
fail:
	lfm_st_layout_free(&lay);
	lfm_st_writer_abort(w);
	return NULL;
}

int lfm_st_writer_tensor(const StWriter *w)
{
	return w->cur;
}

/* Converts k floats to dtype dt into the buffer (which has room). */
static void convert_into(StWriter *w, StDtype dt, const float *v, size_t k)
{
	unsigned char *o = w->buf + w->used;
	if (dt == ST_F32) {
		for (size_t i = 0; i < k; i++) {
			uint32_t u;
			memcpy(&u, &v[i], 4);
			o[4 * i] = (unsigned char)u;
			o[4 * i + 1] = (unsigned char)(u >> 8);
			o[4 * i + 2] = (unsigned char)(u >> 16);
			o[4 * i + 3] = (unsigned char)(u >> 24);
		}
		w->used += 4 * k;
		return;
	}
	for (size_t i = 0; i < k; i++) {
		uint16_t h = dt == ST_BF16 ? lfm_f32_to_bf16(v[i]) : lfm_f32_to_f16(v[i]);
		o[2 * i] = (unsigned char)h;
		o[2 * i + 1] = (unsigned char)(h >> 8);
	}
	w->used += 2 * k;
}

int lfm_st_writer_put_f32(StWriter *w, const float *v, size_t count, LfmError *err)
{
	while (count) {
		if (w->cur >= w->n)
			return lfm_error(err, w->path, "more values than the %d tensors hold", w->n);
		StDtype dt = w->t[w->cur].dtype;
		size_t es = lfm_dtype_size(dt);
		size_t room = (ST_BUF_BYTES - w->used) / es;
		if (room == 0) {
			if (flush_buf(w, err))
				return -1;
			continue;
		}
		size_t k = count;
		if ((uint64_t)k > (uint64_t)w->left)
			k = (size_t)w->left;
		if (k > room)
			k = room;
		convert_into(w, dt, v, k);
		v += k;
		count -= k;
		w->left -= (int64_t)k;
		advance(w);
	}
	return 0;
}

int lfm_st_writer_commit(StWriter *w, LfmError *err)
{
	int rc = -1;
	if (w->cur < w->n) {
		lfm_error(err, w->path, "tensor '%s' is incomplete (%" PRId64 " values missing)",
		          w->t[w->cur].name, w->left);
		goto out;
	}
	if (flush_buf(w, err))
		goto out;
	if (w->written != w->file_bytes) {
		lfm_error(err, w->path, "wrote %" PRIu64 " bytes, expected %" PRIu64,
		          w->written, w->file_bytes);
		goto out;
	}
	int fd = w->fd;
	w->fd = -1;
	if (close(fd) != 0) {
		lfm_error(err, w->path, "close failed: %s", strerror(errno));
		goto out;
	}
	if (rename(w->tmp, w->path) != 0) {
		lfm_error(err, w->path, "cannot rename %s into place: %s", w->tmp, strerror(errno));
		goto out;
	}
	free(w->tmp);
	w->tmp = NULL;
	rc = 0;
out:
	lfm_st_writer_abort(w);   /* closes/unlinks whatever is left, frees */
	return rc;
}
