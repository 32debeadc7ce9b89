/*
 * test_pool.c — lfm2_pool / lfm2_parallel_for.
 *
 * For 1, 2, 3 and 4 threads (and no pool) and many n: every index of [0, n)
 * is visited exactly once, the ranges are exactly pool.c's chunks
 * [n*c/C, n*(c+1)/C) with C = min(n, 4T), each run once, thousands of
 * back-to-back calls don't lose a wake-up, and an idle pool sleeps (uses
 * no CPU time) instead of spinning.  Which thread runs a chunk is not
 * fixed (threads take chunks as they come), so it is not checked.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "lfm2rt.h"
#include "check.h"

#define MAX_CALLS 64
#define CHUNKS_PER_THREAD 4   /* pool.c */

struct job {
	atomic_int *hits;
	atomic_int n_calls;
	int64_t begin[MAX_CALLS], end[MAX_CALLS];
	int T;                   /* the pool's threads */
	atomic_int busy[64];     /* ranges running now, per worker index */
	atomic_int bad_worker;   /* an index outside [0, T), or one shared by two running ranges */
};

static void visit(void *arg, int64_t begin, int64_t end, int32_t worker)
{
	struct job *j = arg;
	if (worker < 0 || worker >= j->T || worker >= 64) {
		atomic_fetch_add(&j->bad_worker, 1);
		worker = 0;
	} else if (atomic_fetch_add(&j->busy[worker], 1) != 0) {
		atomic_fetch_add(&j->bad_worker, 1);
	}
	int c = atomic_fetch_add(&j->n_calls, 1);
	if (c < MAX_CALLS) {
		j->begin[c] = begin;
		j->end[c] = end;
	}
	for (int64_t i = begin; i < end; i++)
		atomic_fetch_add(&j->hits[i], 1);
	atomic_fetch_sub(&j->busy[worker], 1);
}

static void check_cover(lfm2_pool *pool, int T, int64_t n)
{
	struct job j = {0};
	j.T = pool ? T : 1;
	j.hits = calloc((size_t)(n ? n : 1), sizeof *j.hits);
	CHECK_OR_DIE(j.hits);
	lfm2_parallel_for(pool, n, visit, &j);
	CHECK(atomic_load(&j.bad_worker) == 0, "T=%d n=%lld: %d ranges ran with a worker index outside [0, %d) "
	      "or one another running range had", T, (long long)n, atomic_load(&j.bad_worker), j.T);
	for (int64_t i = 0; i < n; i++)
		if (atomic_load(&j.hits[i]) != 1) {
			CHECK_FAIL("T=%d n=%lld: index %lld visited %d times", T, (long long)n, (long long)i,
			           atomic_load(&j.hits[i]));
			break;
		}
	/* Every range is one of the chunks, each exactly once; none is empty. */
	int calls = atomic_load(&j.n_calls);
	int64_t C = n < (int64_t)T * CHUNKS_PER_THREAD ? n : (int64_t)T * CHUNKS_PER_THREAD;
	if (n == 1 || T == 1 || !pool)
		C = n > 0;   /* run inline as one range */
	CHECK_INT(calls, C);
	for (int c = 0; c < calls && c < MAX_CALLS; c++) {
		CHECK(j.begin[c] < j.end[c]);
		if (pool && T > 1 && n > 1) {
			int found = 0;
			for (int64_t i = 0; i < C; i++)
				found |= j.begin[c] == n * i / C && j.end[c] == n * (i + 1) / C;
			CHECK(found);
		}
		for (int d = 0; d < c; d++)
			CHECK(j.begin[c] != j.begin[d]);
	}
	free(j.hits);
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add_one(void *arg, int64_t begin, int64_t end, int32_t worker)
{
	(void)worker;
	atomic_fetch_add((atomic_llong *)arg, end - begin);
}

int main(void)
{
	static const int64_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 64, 100, 1001};
	lfm2_err err;

	CHECK(lfm2_pool_create(0, &err) == NULL);
	CHECK_CONTAINS(err.msg, "at least 1 thread");
	CHECK_INT(lfm2_pool_threads(NULL), 1);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		check_cover(NULL, 1, sizes[s]);

	for (int T = 1; T <= 4; T++) {
		lfm2_pool *pool = lfm2_pool_create(T, &err);
		CHECK_OR_DIE(pool);
		CHECK_INT(lfm2_pool_threads(pool), T);
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
			check_cover(pool, T, sizes[s]);

		/* Back-to-back calls: no lost wake-ups, no missed ranges. */
		atomic_llong total = 0;
		for (int rep = 0; rep < 3000; rep++)
			lfm2_parallel_for(pool, 10 + rep % 7, add_one, &total);
		long long expect = 0;
		for (int rep = 0; rep < 3000; rep++)
			expect += 10 + rep % 7;
		CHECK_INT(atomic_load(&total), expect);

		/* Idle: the workers must sleep, not spin. */
		if (T > 1) {
			double c0 = cpu_seconds();
			struct timespec nap = {0, 300 * 1000 * 1000};
			nanosleep(&nap, NULL);
			double used = cpu_seconds() - c0;
			CHECK(used <= 0.05, "T=%d: idle pool used %.3f s of CPU in 0.3 s", T, used);
		}
		lfm2_pool_destroy(pool);
	}
	lfm2_pool_destroy(NULL);
	return check_finish("test_pool");
}
