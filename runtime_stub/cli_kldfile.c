/*
 * cli_kldfile.c — the .kld file: a base build's next-token distributions
 * on a text's chunks, written by `lfm2-run --perplexity FILE --kld-base
 * OUT.kld` and read back by `--kld` (the layout is in lfm2_eval.h).
 *
 * Writing.  A base run takes as long as the evaluation, so it is the one
 * most likely to be interrupted; the records therefore go to a file that
 * has no name until everything is written: an O_TMPFILE in the target's
 * directory, which the kernel removes if the process dies, however it
 * dies.  Commit writes the header (with the payload's hash, known only at
 * the end), gives the file a temporary name (linkat) and renames it over
 * the target.  Where O_TMPFILE is not supported the file is written under
 * a temporary name ("OUT.kld.tmp.XXXXXX") instead, removed on failure.
 *
 * Reading.  Everything that can be checked is checked when the file is
 * opened, before any weights are loaded: the magic, the version, the
 * header's sizes against each other, the file's size against the header
 * (a truncated file is named as such), and the XXH3 of the payload (one
 * pass over the file), so a damaged base is one line at once rather than
 * a wrong number at the end.  Whether the file fits the text, the context
 * and the model is the caller's business (cli_eval.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* O_TMPFILE, linkat's AT_EMPTY_PATH, mkstemp */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "lfm2_eval.h"
#include "rt_internal.h"

#define KLD_MAGIC "LFM2_KLD"
#define KLD_VERSION 1u
#define KLD_HEADER 64u
#define KLD_RECORD_FIXED 24u   /* nll, step, top1, zero */

/* ------------------------------------------------------- little-endian */

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f64(unsigned char *p, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	put_u64(p, v);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static double get_f64(const unsigned char *p)
{
	uint64_t v = get_u64(p);
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static size_t record_bytes(int32_t vocab)
{
	return KLD_RECORD_FIXED + 2 * (size_t)vocab;
}

static uint64_t record_count(const lfm2_kld_header *h)
{
	return (uint64_t)h->chunks * (uint64_t)(h->ctx - 1 - h->first);
}

static void encode_header(unsigned char *b, const lfm2_kld_header *h, uint64_t payload_hash)
{
	memset(b, 0, KLD_HEADER);
	memcpy(b, KLD_MAGIC, 8);
	put_u32(b + 8, KLD_VERSION);
	put_u32(b + 12, KLD_HEADER);
	put_u64(b + 16, h->tokens_hash);
	put_u64(b + 24, h->model_hash);
	put_u64(b + 32, h->blob_hash);
	put_u32(b + 40, (uint32_t)h->vocab);
	put_u32(b + 44, (uint32_t)h->ctx);
	put_u32(b + 48, (uint32_t)h->chunks);
	put_u32(b + 52, (uint32_t)h->first);
	put_u64(b + 56, payload_hash);
}

static void encode_record(unsigned char *b, const lfm2_kld_record *r, int32_t vocab)
{
	put_f64(b, r->nll);
	put_f64(b + 8, r->step);
	put_u32(b + 16, (uint32_t)r->top1);
	put_u32(b + 20, 0);
	for (int32_t i = 0; i < vocab; i++) {
		b[KLD_RECORD_FIXED + 2 * (size_t)i] = (unsigned char)r->codes[i];
		b[KLD_RECORD_FIXED + 2 * (size_t)i + 1] = (unsigned char)(r->codes[i] >> 8);
	}
}

static void decode_record(const unsigned char *b, lfm2_kld_record *r, int32_t vocab)
{
	r->nll = get_f64(b);
	r->step = get_f64(b + 8);
	r->top1 = (int32_t)get_u32(b + 16);
	for (int32_t i = 0; i < vocab; i++)
		r->codes[i] = (uint16_t)(b[KLD_RECORD_FIXED + 2 * (size_t)i]
		                         | b[KLD_RECORD_FIXED + 2 * (size_t)i + 1] << 8);
}

/* ------------------------------------------------------------- writing */

struct lfm2_kld_writer {
	char *path;               /* where the file goes */
	char *tmp;                /* its temporary name; NULL while it is an O_TMPFILE */
	FILE *f;
	lfm2_kld_header h;
	uint64_t written;
	XXH3_state_t *hash;
	unsigned char *buf;       /* one encoded record */
};

/* path's directory ("." for a bare name), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, path, n);
		d[n] = 0;
	}
	return d;
}

/* An unnamed file in path's directory, or (no O_TMPFILE there) a named
 * temporary beside path, whose name goes to *tmp.  Returns the fd or -1. */
static int open_unnamed(const char *path, char **tmp, lfm2_err *err)
{
	*tmp = NULL;
	char *dir = dir_of(path);
	if (!dir)
		return rt_fail(err, "%s: out of memory", path);
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	int e = errno;
	if (fd < 0 && e != EOPNOTSUPP && e != EISDIR && e != EINVAL) {
		rt_fail(err, "%s: cannot create: %s", path, strerror(e));
		free(dir);
		return -1;
	}
#endif
	free(dir);
	if (fd >= 0)
		return fd;
	size_t n = strlen(path);
	*tmp = malloc(n + 12);
	if (!*tmp)
		return rt_fail(err, "%s: out of memory", path);
	memcpy(*tmp, path, n);
	memcpy(*tmp + n, ".tmp.XXXXXX", 12);
	fd = mkstemp(*tmp);
	if (fd < 0) {
		rt_fail(err, "%s: cannot create: %s", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	fchmod(fd, 0644);
	return fd;
}

void lfm2_kld_abort(lfm2_kld_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);   /* an O_TMPFILE goes with its last descriptor */
	if (w->tmp)
		unlink(w->tmp);
	XXH3_freeState(w->hash);
	free(w->tmp);
	free(w->path);
	free(w->buf);
	free(w);
}

lfm2_kld_writer *lfm2_kld_create(const char *path, const lfm2_kld_header *h, lfm2_err *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		rt_fail(err, "%s: exists and is not a regular file", path);
		return NULL;
	}
	lfm2_kld_writer *w = calloc(1, sizeof *w);
	if (!w) {
		rt_fail(err, "%s: out of memory", path);
		return NULL;
	}
	w->h = *h;
	w->path = strdup(path);
	w->buf = malloc(record_bytes(h->vocab) > KLD_HEADER ? record_bytes(h->vocab) : KLD_HEADER);
	w->hash = XXH3_createState();
	if (!w->path || !w->buf || !w->hash) {
		rt_fail(err, "%s: out of memory", path);
		lfm2_kld_abort(w);
		return NULL;
	}
	XXH3_64bits_reset(w->hash);
	int fd = open_unnamed(path, &w->tmp, err);
	if (fd < 0) {
		lfm2_kld_abort(w);
		return NULL;
	}
	w->f = fdopen(fd, "wb");
	if (!w->f) {
		rt_fail(err, "%s: cannot create: %s", path, strerror(errno));
		close(fd);
		lfm2_kld_abort(w);
		return NULL;
	}
	memset(w->buf, 0, KLD_HEADER);   /* the header's place; written at commit */
	errno = 0;
	if (fwrite(w->buf, 1, KLD_HEADER, w->f) != KLD_HEADER) {
		rt_fail(err, "%s: cannot write: %s", path, rt_write_reason(errno));
		lfm2_kld_abort(w);
		return NULL;
	}
	return w;
}

int lfm2_kld_write(lfm2_kld_writer *w, const lfm2_kld_record *r, lfm2_err *err)
{
	size_t n = record_bytes(w->h.vocab);
	if (w->written >= record_count(&w->h))
		return rt_fail(err, "%s: more records than the header's %" PRIu64, w->path, record_count(&w->h));
	encode_record(w->buf, r, w->h.vocab);
	XXH3_64bits_update(w->hash, w->buf, n);
	errno = 0;
	if (fwrite(w->buf, 1, n, w->f) != n)
		return rt_fail(err, "%s: cannot write: %s", w->path, rt_write_reason(errno));
	w->written++;
	return 0;
}

/* Gives the finished unnamed file the name w->path (through a temporary
 * name: linkat cannot replace an existing file, rename can). */
static int name_unnamed(lfm2_kld_writer *w, lfm2_err *err)
{
	size_t n = strlen(w->path);
	char *tmp = malloc(n + 32);
	if (!tmp)
		return rt_fail(err, "%s: out of memory", w->path);
	snprintf(tmp, n + 32, "%s.tmp.%ld", w->path, (long)getpid());
	int fd = fileno(w->f), rc = -1;
	for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		rc = linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH);   /* needs CAP_DAC_READ_SEARCH */
		if (rc != 0 && errno != EEXIST)
			rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
		if (rc != 0 && errno == EEXIST)
			unlink(tmp);   /* a leftover of an earlier run of this pid */
		else if (rc != 0)
			break;
	}
	if (rc != 0) {
		rt_fail(err, "%s: cannot name the finished file: %s", w->path, strerror(errno));
		free(tmp);
		return -1;
	}
	w->tmp = tmp;   /* from here on, a failure unlinks it */
	return 0;
}

int lfm2_kld_commit(lfm2_kld_writer *w, lfm2_err *err)
{
	int rc = -1;
	unsigned char head[KLD_HEADER];
	if (w->written != record_count(&w->h)) {
		rt_fail(err, "%s: %" PRIu64 " records written, the header promises %" PRIu64, w->path, w->written,
		        record_count(&w->h));
		goto out;
	}
	encode_header(head, &w->h, XXH3_64bits_digest(w->hash));
	errno = 0;
	if (fflush(w->f) != 0 || pwrite(fileno(w->f), head, KLD_HEADER, 0) != (ssize_t)KLD_HEADER) {
		rt_fail(err, "%s: cannot write: %s", w->path, rt_write_reason(errno));
		goto out;
	}
	if (!w->tmp && name_unnamed(w, err))
		goto out;
	FILE *f = w->f;
	w->f = NULL;
	errno = 0;
	if (fclose(f) != 0) {
		rt_fail(err, "%s: cannot write: %s", w->path, rt_write_reason(errno));
		goto out;
	}
	if (rename(w->tmp, w->path) != 0) {
		rt_fail(err, "%s: cannot rename %s into place: %s", w->path, w->tmp, strerror(errno));
		goto out;
	}
	free(w->tmp);
	w->tmp = NULL;
	rc = 0;
out:
	lfm2_kld_abort(w);
	return rc;
}

/* ------------------------------------------------------------- reading */

struct lfm2_kld_reader {
	FILE *f;
	char *path;
	lfm2_kld_header h;
	uint64_t left;
	unsigned char *buf;
};

void lfm2_kld_close(lfm2_kld_reader *rd)
{
	if (!rd)
		return;
	if (rd->f)
		fclose(rd->f);
	free(rd->path);
	free(rd->buf);
	free(rd);
}

/* The header's fields, checked against each other. */
static int parse_header(const unsigned char *b, const char *path, lfm2_kld_header *h, uint64_t *payload_hash,
                        lfm2_err *err)
{
	if (memcmp(b, KLD_MAGIC, 8) != 0)
		return rt_fail(err, "%s: not a .kld file (bad magic; lfm2-run --kld-base writes them)", path);
	if (get_u32(b + 8) != KLD_VERSION)
		return rt_fail(err, "%s: .kld version %u, this program reads version %u", path, get_u32(b + 8),
		               KLD_VERSION);
	if (get_u32(b + 12) != KLD_HEADER)
		return rt_fail(err, "%s: bad header size %u (expected %u)", path, get_u32(b + 12), KLD_HEADER);
	h->tokens_hash = get_u64(b + 16);
	h->model_hash = get_u64(b + 24);
	h->blob_hash = get_u64(b + 32);
	h->vocab = (int32_t)get_u32(b + 40);
	h->ctx = (int32_t)get_u32(b + 44);
	h->chunks = (int32_t)get_u32(b + 48);
	h->first = (int32_t)get_u32(b + 52);
	*payload_hash = get_u64(b + 56);
	if (h->vocab < 1 || h->ctx < LFM2_EVAL_MIN_CTX || h->chunks < 1 || h->first != h->ctx / 2)
		return rt_fail(err, "%s: bad header (vocab %d, ctx %d, chunks %d, first %d)", path, (int)h->vocab,
		               (int)h->ctx, (int)h->chunks, (int)h->first);
	return 0;
}

/* One pass over the payload: its XXH3 must be the header's. */
static int check_payload(lfm2_kld_reader *rd, uint64_t want, lfm2_err *err)
{
	XXH3_state_t *st = XXH3_createState();
	unsigned char *block = malloc(1 << 20);
	int rc = -1;
	if (!st || !block) {
		rt_fail(err, "%s: out of memory", rd->path);
		goto out;
	}
	XXH3_64bits_reset(st);
	size_t n;
	while ((n = fread(block, 1, 1 << 20, rd->f)) > 0)
		XXH3_64bits_update(st, block, n);
	if (ferror(rd->f)) {
		rt_fail(err, "%s: cannot read: %s", rd->path, strerror(errno));
		goto out;
	}
	if (XXH3_64bits_digest(st) != want) {
		rt_fail(err, "%s: corrupt: the records' hash does not match the header's", rd->path);
		goto out;
	}
	if (fseek(rd->f, KLD_HEADER, SEEK_SET) != 0) {
		rt_fail(err, "%s: cannot seek: %s", rd->path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	XXH3_freeState(st);
	free(block);
	return rc;
}

lfm2_kld_reader *lfm2_kld_open(const char *path, lfm2_kld_header *h, lfm2_err *err)
{
	long long size = 0;
	int fd = rt_open_input(path, NULL, &size, err);
	if (fd < 0)
		return NULL;
	lfm2_kld_reader *rd = calloc(1, sizeof *rd);
	FILE *f = rd ? fdopen(fd, "rb") : NULL;
	if (!f) {
		rt_fail(err, "%s: cannot open: %s", path, rd ? strerror(errno) : "out of memory");
		close(fd);
		free(rd);
		return NULL;
	}
	rd->f = f;
	if (!(rd->path = strdup(path))) {
		rt_fail(err, "%s: out of memory", path);
		goto fail;
	}
	unsigned char head[KLD_HEADER];
	uint64_t payload_hash = 0;
	if (size < (long long)KLD_HEADER || fread(head, 1, KLD_HEADER, rd->f) != KLD_HEADER) {
		rt_fail(err, "%s: not a .kld file (%lld bytes, shorter than the %u-byte header)", path, size,
		        KLD_HEADER);
		goto fail;
	}
	if (parse_header(head, path, &rd->h, &payload_hash, err))
		goto fail;
	uint64_t n = record_count(&rd->h), per = record_bytes(rd->h.vocab);
	if (n > (UINT64_MAX - KLD_HEADER) / per) {
		rt_fail(err, "%s: bad header (%" PRIu64 " records of %" PRIu64 " bytes)", path, n, per);
		goto fail;
	}
	uint64_t want = KLD_HEADER + n * per;
	if ((uint64_t)size != want) {
		rt_fail(err, "%s: %s: %lld bytes, the header promises %" PRIu64 " (%" PRIu64 " records of %" PRIu64
		        " bytes)", path, (uint64_t)size < want ? "truncated" : "trailing bytes", size, want, n, per);
		goto fail;
	}
	if (!(rd->buf = malloc(per))) {
		rt_fail(err, "%s: out of memory", path);
		goto fail;
	}
	if (check_payload(rd, payload_hash, err))
		goto fail;
	rd->left = n;
	*h = rd->h;
	return rd;
fail:
	lfm2_kld_close(rd);
	return NULL;
}

int lfm2_kld_read(lfm2_kld_reader *rd, lfm2_kld_record *r, lfm2_err *err)
{
	size_t per = record_bytes(rd->h.vocab);
	if (!rd->left)
		return rt_fail(err, "%s: no more records", rd->path);
	if (fread(rd->buf, 1, per, rd->f) != per)
		return rt_fail(err, "%s: cannot read: %s", rd->path, ferror(rd->f) ? strerror(errno) : "short file");
	decode_record(rd->buf, r, rd->h.vocab);
	rd->left--;
	return 0;
}
