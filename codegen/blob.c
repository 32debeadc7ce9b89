/*
 * blob.c — write the weights blob.
 *
 * The payload holds every weight at the offset the layout pass chose, in
 * the format it chose, packed as its kernel reads it (pack.h), with zero
 * padding between.  It is
 * written in one forward stream while XXH3 hashes it, so a multi-GB model
 * never sits in memory twice; the hash is then written into the header
 * and baked into the generated code, which refuses any other blob.
 *
 * Quantizing is the slow part (q4_1's least-squares search is ~45 ns a
 * value), so the block formats' chunks are packed by all the CPUs this
 * process may run on (its affinity mask: `taskset` and cgroups count) at
 * once: each thread packs whole packing groups of the chunk into their
 * own bytes of the output, every row independent of the others, so the
 * blob is the same for any thread count.  The chunk grows with the
 * threads (64K values each), so memory stays a few MB.
 */
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <xxhash.h>

#include "codegen.h"
#include "fileio.h"
#include "lfm2_abi.h"
#include "pack.h"
#include "formats.h"

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

static int write_all(FILE *f, const void *p, size_t n, XXH3_state_t *st, const char *path, LfmError *err)
{
	if (st)
		XXH3_64bits_update(st, p, n);
	int io = lfm_io_fwrite(f, p, n);
	if (io)
		return lfm_error(err, path, "cannot write: %s", lfm_io_reason(io));
	return 0;
}

static int write_zeros(FILE *f, uint64_t n, XXH3_state_t *st, const char *path, LfmError *err)
{
	static const unsigned char zeros[4096];
	while (n) {
		size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
		if (write_all(f, zeros, k, st, path, err))
			return -1;
		n -= k;
	}
	return 0;
}

typedef struct Progress {
	ProgressFn fn;
	void *ctx;
	uint64_t done, total;
} Progress;

/* Rows [row0, row0 + n) of a chunk whose first row is r: read from the
 * weight as floats into x (the chunk's floats), then packed into out (the
 * chunk's bytes) — both by the part's own thread. */
typedef struct PackPart {
	const Weight *w;
	DType t;
	PackLayout lay;
	int64_t N, K, rb, r, row0, n;
	float *x;
	unsigned char *out;
	int rc;         /* 0; -1: a value does not fit the format; -2: reading failed (err) */
	LfmError err;
} PackPart;

static void *pack_part(void *arg)
{
	PackPart *p = arg;
	float *x = p->x + (p->row0 - p->r) * p->K;
	if (ir_weight_rows_f32(p->w, p->row0, p->n, x, &p->err)) {
		p->rc = -2;
		return NULL;
	}
	p->rc = pack_rows(p->t, p->lay, p->N, p->K, p->row0, p->n, x, p->out + (p->row0 - p->r) * p->rb);
	return NULL;
}

enum { MAX_PACK_THREADS = 64 };

/* The CPUs this process may run on: its affinity mask, else the online
 * count. */
static long usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

/* Packs rows [r, r + n) with up to `threads` threads, in parts of whole
 * groups of G rows; a thread that cannot start leaves its part to the
 * caller.  0, -1 when a value does not fit the format, or -2 with *err
 * set when the weight could not be read. */
static int pack_chunk(PackPart *proto, int64_t r, int64_t n, int64_t G, int threads, LfmError *err)
{
	PackPart part[MAX_PACK_THREADS];
	pthread_t tid[MAX_PACK_THREADS];
	int started[MAX_PACK_THREADS] = {0};
	int64_t groups = (n + G - 1) / G;                       /* the last may be short */
	int64_t per = (groups + threads - 1) / threads * G;   /* rows per part, whole groups */
	int np = 0;
	for (int64_t at = r; at < r + n; at += per) {
		part[np] = *proto;
		part[np].r = r;
		part[np].row0 = at;
		part[np].n = r + n - at < per ? r + n - at : per;
		np++;
	}
	for (int i = 1; i < np; i++)
		started[i] = pthread_create(&tid[i], NULL, pack_part, &part[i]) == 0;
	pack_part(&part[0]);
	for (int i = 1; i < np; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			pack_part(&part[i]);
	}
	int rc = 0;
	for (int i = 0; i < np && rc != -2; i++)   /* the first reading error, else any range error */
		if (part[i].rc == -2) {
			*err = part[i].err;
			rc = -2;
		} else if (part[i].rc) {
			rc = -1;
		}
	return rc;
}

/* Reads one weight's rows in chunks of whole packing groups
 * (ir_weight_rows_f32) and packs them in the weight's layout (pack.h) —
 * block formats on every CPU of the affinity mask, each thread reading and
 * packing its own part — and streams them out. */
static int write_weight(FILE *f, const Graph *g, int wi, XXH3_state_t *st, Progress *pr, const char *path,
                        LfmError *err)
{
	const Weight *w = &g->weights[wi];
	int64_t K = ir_weight_cols(w), N = ir_weight_rows(w);
	int64_t rb = quant_bytes_per_row(w->dtype, K);
	if (rb < 0 || (uint64_t)(rb * N) != w->bytes)
		return lfm_error(err, path, "weight %s: %lld rows of %lld as %s do not fill its %llu bytes",
		                 w->name, (long long)N, (long long)K, dtype_name(w->dtype),
		                 (unsigned long long)w->bytes);
	PackLayout lay = pack_weight_layout(g, wi);
	int64_t G = pack_group_rows(w->dtype, lay);
	long cpus = quant_is_blocked(w->dtype) ? usable_cpus() : 1;
	int threads = cpus < 1 ? 1 : cpus > MAX_PACK_THREADS ? MAX_PACK_THREADS : (int)cpus;
	/* rows per chunk: about 64K values a thread, and at least a packing
	 * group for each thread (long rows: K = 4608 at 16-row panels) */
	int64_t chunk = ((int64_t)threads << 16) / K / G * G;
	if (chunk < G * threads)
		chunk = G * threads;
	PackPart proto = {.w = w, .t = w->dtype, .lay = lay, .N = N, .K = K, .rb = rb};
	float *buf = malloc((size_t)(chunk * K) * sizeof(float));
	unsigned char *out = malloc((size_t)(chunk * rb));
	int rc = buf && out ? 0 : lfm_error(err, path, "out of memory");
	for (int64_t r = 0; r < N && !rc; r += chunk) {
		int64_t n = N - r < chunk ? N - r : chunk;
		proto.x = buf;
		proto.out = out;
		int prc = pack_chunk(&proto, r, n, G, threads, err);
		if (prc == -2)
			rc = -1;   /* err says why */
		else if (prc)
			rc = lfm_error(err, path, "weight %s rows %lld..%lld cannot be stored as %s (a value out of its range)",
			               w->name, (long long)r, (long long)(r + n - 1), dtype_name(w->dtype));
		if (!rc)
			rc = write_all(f, out, (size_t)(n * rb), st, path, err);
		pr->done += (uint64_t)(n * rb);
		if (pr->fn)
			pr->fn(pr->ctx, pr->done, pr->total);
	}
	free(buf);
	free(out);
	return rc;
}

int blob_write(const Graph *g, const char *path, uint64_t *hash, ProgressFn progress, void *pctx,
               LfmError *err)
{
	Progress pr = {progress, pctx, 0, g->blob_bytes};
	FILE *f = fopen(path, "wb");
	if (!f)
		return lfm_error(err, path, "cannot create file: %s", strerror(errno));
	XXH3_state_t *st = XXH3_createState();
	int rc = -1;
	if (!st) {
		lfm_error(err, path, "out of memory");
		goto out;
	}
	XXH3_64bits_reset(st);
	/* header placeholder; rewritten once the hash is known */
	if (write_zeros(f, LFM2_BLOB_HEADER, NULL, path, err))
		goto out;
	uint64_t at = 0;
	for (int i = 0; i < g->n_weights; i++) {
		const Weight *w = &g->weights[i];
		if (write_zeros(f, w->offset - at, st, path, err) || write_weight(f, g, i, st, &pr, path, err))
			goto out;
		at = w->offset + w->bytes;
	}
	if (write_zeros(f, g->blob_bytes - at, st, path, err))
		goto out;
	*hash = XXH3_64bits_digest(st);
	unsigned char hdr[32] = {0};
	memcpy(hdr, LFM2_BLOB_MAGIC, 8);
	put_u32(hdr + 8, LFM2_BLOB_VERSION);
	put_u32(hdr + 12, LFM2_BLOB_HEADER);
	put_u64(hdr + 16, g->blob_bytes);
	put_u64(hdr + 24, *hash);
	int io = fseek(f, 0, SEEK_SET) ? errno : lfm_io_fwrite(f, hdr, sizeof hdr);
	if (io) {
		lfm_error(err, path, "cannot write: %s", lfm_io_reason(io));
		goto out;
	}
	rc = 0;
out:
	if (st)
		XXH3_freeState(st);
	int io_close = lfm_io_fclose(f);
	if (io_close && rc == 0)
		rc = lfm_error(err, path, "cannot write: %s", lfm_io_reason(io_close));
	return rc;
}
