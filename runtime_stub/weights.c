/*
 * weights.c — loading and verifying the weights blob.
 *
 * The generated code has every tensor's offset baked in, so a blob from a
 * different checkpoint (or a different compile of the same one) would run
 * and silently produce garbage.  Hence the checks, cheapest first: magic,
 * version, header size, payload size against model->blob_bytes, file size,
 * then the XXH3-64 hash of the payload against the header and the model.
 *
 * The file must be a regular file (rt_open_input: a FIFO or a directory
 * named as the weights is one clear error, never a hang).
 *
 * Two ways in:
 *   read  (default): anonymous memory in 2 MiB huge pages where the kernel
 *         gives them (see weights_memory), filled with large read()
 *         calls; each piece is hashed while it is still in cache.
 *   mmap: the file mapped read-only; the payload starts at offset 4096, so
 *         it is page aligned.  Hashing touches every page once.
 * And lfm2_weights_from_memory() for a blob linked into the program.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "rt_internal.h"

struct lfm2_weights {
	const void *data;       /* payload */
	uint64_t bytes;
	const char *mode;       /* "read", "read-4k", "mmap", "memory" */
	void *owned;            /* aligned buffer to free, or NULL */
	void *map;              /* mapping to unmap, or NULL */
	size_t map_len;
};

struct blob_header {
	uint32_t version, header_bytes;
	uint64_t payload_bytes, hash;
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Checks the first LFM2_BLOB_HEADER bytes (`have` of them are available)
 * and the total size against the model. */
static int check_header(const unsigned char *h, size_t have, uint64_t total, const char *name,
                        const lfm2_model_info *model, struct blob_header *out, lfm2_err *err)
{
	if (have < 8)
		return rt_fail(err, "%s: not an lfm2 weights blob (file too short)", name);
	if (memcmp(h, LFM2_BLOB_MAGIC, 8) != 0)
		return rt_fail(err, "%s: not an lfm2 weights blob (bad magic)", name);
	if (have < 32)
		return rt_fail(err, "%s: weights file is truncated (%zu bytes)", name, have);
	out->version = le32(h + 8);
	out->header_bytes = le32(h + 12);
	out->payload_bytes = le64(h + 16);
	out->hash = le64(h + 24);
	if (out->version != LFM2_BLOB_VERSION)
		return rt_fail(err, "%s: weights blob format version %" PRIu32 ", this runtime reads version %u",
		               name, out->version, LFM2_BLOB_VERSION);
	if (out->header_bytes != LFM2_BLOB_HEADER)
		return rt_fail(err, "%s: bad weights blob header size %" PRIu32 " (expected %u)", name,
		               out->header_bytes, LFM2_BLOB_HEADER);
	if (out->payload_bytes != model->blob_bytes)
		return rt_fail(err, "%s: weights do not match the compiled model (payload %" PRIu64
		               " bytes, expected %" PRIu64 ")", name, out->payload_bytes, model->blob_bytes);
	if (out->hash != model->blob_hash)
		return rt_fail(err, "%s: weights do not match the compiled model (hash 0x%016" PRIx64
		               ", expected 0x%016" PRIx64 ")", name, out->hash, model->blob_hash);
	/* total - header, not header + payload: a huge claimed payload must not wrap */
	if (total < LFM2_BLOB_HEADER || total - LFM2_BLOB_HEADER != out->payload_bytes)
		return rt_fail(err, "%s: weights file is %s: %" PRIu64 " bytes, header says %" PRIu64, name,
		               total < LFM2_BLOB_HEADER || total - LFM2_BLOB_HEADER < out->payload_bytes ? "truncated" : "too long",
		               total, (uint64_t)LFM2_BLOB_HEADER + out->payload_bytes);
	return 0;
}

static int check_hash(uint64_t got, const struct blob_header *h, const char *name, lfm2_err *err)
{
	if (got != h->hash)
		return rt_fail(err, "%s: weights file is corrupt (payload hash 0x%016" PRIx64
		               ", expected 0x%016" PRIx64 ")", name, got, h->hash);
	return 0;
}

static lfm2_weights *new_weights(const char *mode, lfm2_err *err)
{
	lfm2_weights *w = calloc(1, sizeof *w);
	if (!w)
		rt_fail(err, "weights: out of memory");
	else
		w->mode = mode;
	return w;
}

/* read() until `len` bytes are in or the file ends; returns bytes read or -1. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Memory for `bytes` of weights: an anonymous mapping whose payload starts
 * on a 2 MiB boundary, marked for transparent huge pages (Debian's kernel
 * gives them only where asked: "madvise" mode).  Decode streams every
 * weight once per token; in 4 KiB pages that is a TLB miss and a page
 * walk every 4 KiB.  Measured, 350M, 2 threads, page cache evicted,
 * interleaved medians: decode q4_0 148 -> 166 tok/s, q8_0 103 -> 117, f16
 * 56 -> 69.  Loading can be slower where the kernel compacts memory to
 * find huge pages (f16 0.38 -> 0.89 s, f32 0.85 -> 3.0 s here): hence
 * LFM2_WEIGHTS_READ_SMALL_PAGES.  A kernel without THP ignores the hint.
 * NULL when out of memory. */
static unsigned char *weights_memory(lfm2_weights *w, size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	if (bytes > SIZE_MAX - 2 * huge)
		return NULL;
	size_t len = (bytes + huge - 1) / huge * huge + huge;   /* room to align */
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	w->map = map;
	w->map_len = len;
	unsigned char *p = (unsigned char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
	(void)madvise(p, len - (size_t)(p - (unsigned char *)map), MADV_HUGEPAGE);   /* a hint */
#endif
	return p;
}

static int load_by_read(lfm2_weights *w, int fd, const char *path, const struct blob_header *h, int huge,
                        lfm2_err *err)
{
	if (h->payload_bytes > SIZE_MAX - 128)
		return rt_fail(err, "%s: weights too large for this machine", path);
	unsigned char *buf;
	if (huge)
		buf = weights_memory(w, (size_t)h->payload_bytes);   /* lfm2_weights_close unmaps it */
	else
		buf = w->owned = rt_calloc_aligned((size_t)h->payload_bytes);   /* ... or frees it */
	if (!buf)
		return rt_fail(err, "%s: cannot allocate %" PRIu64 " bytes for the weights", path,
		               h->payload_bytes);
	XXH3_state_t st;
	XXH3_INITSTATE(&st);
	XXH3_64bits_reset(&st);
	const size_t piece = (size_t)8 << 20;
	for (uint64_t off = 0; off < h->payload_bytes;) {
		size_t len = h->payload_bytes - off < piece ? (size_t)(h->payload_bytes - off) : piece;
		ssize_t r = read_full(fd, buf + off, len);
		if (r < 0)
			return rt_fail(err, "%s: read error: %s", path, strerror(errno));
		if ((size_t)r != len)
			return rt_fail(err, "%s: weights file is truncated (file shrank while reading)", path);
		XXH3_64bits_update(&st, buf + off, len);
		off += len;
	}
	w->data = buf;
	w->bytes = h->payload_bytes;
	return check_hash(XXH3_64bits_digest(&st), h, path, err);
}

static int load_by_mmap(lfm2_weights *w, int fd, const char *path, const struct blob_header *h,
                        lfm2_err *err)
{
	size_t len = (size_t)(LFM2_BLOB_HEADER + h->payload_bytes);
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return rt_fail(err, "%s: cannot mmap: %s", path, strerror(errno));
	w->map = map;
	w->map_len = len;
	w->data = (const unsigned char *)map + LFM2_BLOB_HEADER;
	w->bytes = h->payload_bytes;
	return check_hash(XXH3_64bits(w->data, (size_t)w->bytes), h, path, err);
}

lfm2_weights *lfm2_weights_open(const char *path, const lfm2_model_info *model,
                                enum lfm2_weights_mode mode, lfm2_err *err)
{
	long long file_size;
	int fd = rt_open_input(path, "weights", &file_size, err);   /* a FIFO or directory: refused */
	if (fd < 0)
		return NULL;
	unsigned char head[32];
	struct blob_header h = {0};
	lfm2_weights *w = NULL;
	int rc = -1;
	ssize_t got = read_full(fd, head, sizeof head);
	if (got < 0) {
		rt_fail(err, "%s: read error: %s", path, strerror(errno));
		goto done;
	}
	if (check_header(head, (size_t)got, (uint64_t)file_size, path, model, &h, err) != 0)
		goto done;
	if (lseek(fd, LFM2_BLOB_HEADER, SEEK_SET) != (off_t)LFM2_BLOB_HEADER) {
		rt_fail(err, "%s: cannot seek: %s", path, strerror(errno));
		goto done;
	}
	w = new_weights(mode == LFM2_WEIGHTS_MMAP ? "mmap" : mode == LFM2_WEIGHTS_READ_SMALL_PAGES ? "read-4k" : "read",
	                err);
	if (!w)
		goto done;
	rc = mode == LFM2_WEIGHTS_MMAP ? load_by_mmap(w, fd, path, &h, err)
	                               : load_by_read(w, fd, path, &h, mode != LFM2_WEIGHTS_READ_SMALL_PAGES, err);
done:
	close(fd);
	if (rc != 0) {
		lfm2_weights_close(w);
		return NULL;
	}
	return w;
}

lfm2_weights *lfm2_weights_from_memory(const void *data, size_t size, const char *name,
                                       const lfm2_model_info *model, lfm2_err *err)
{
	const unsigned char *bytes = data;
	struct blob_header h = {0};
	if (!name)
		name = "embedded weights";
	if (check_header(bytes, data ? size : 0, size, name, model, &h, err) != 0)
		return NULL;
	lfm2_weights *w = new_weights("memory", err);
	if (!w)
		return NULL;
	const unsigned char *payload = bytes + LFM2_BLOB_HEADER;
	w->bytes = h.payload_bytes;
	if ((uintptr_t)payload % LFM2_BLOB_ALIGN == 0) {
		w->data = payload;
	} else {
		w->owned = rt_calloc_aligned((size_t)h.payload_bytes);
		if (!w->owned) {
			rt_fail(err, "%s: cannot allocate %" PRIu64 " bytes for the weights", name,
			        h.payload_bytes);
			lfm2_weights_close(w);
			return NULL;
		}
		memcpy(w->owned, payload, (size_t)h.payload_bytes);
		w->data = w->owned;
	}
	if (check_hash(XXH3_64bits(w->data, (size_t)w->bytes), &h, name, err) != 0) {
		lfm2_weights_close(w);
		return NULL;
	}
	return w;
}

void lfm2_weights_close(lfm2_weights *w)
{
	if (!w)
		return;
	rt_free_aligned(w->owned);
	if (w->map)
		munmap(w->map, w->map_len);
	free(w);
}

const void *lfm2_weights_data(const lfm2_weights *w)
{
	return w->data;
}

uint64_t lfm2_weights_bytes(const lfm2_weights *w)
{
	return w->bytes;
}

const char *lfm2_weights_mode_name(const lfm2_weights *w)
{
	return w->mode;
}
