/*
 * pool.c — the thread pool behind lfm2_parallel_for.
 *
 * The generated code calls lfm2_parallel_for about a hundred times per
 * token (once per matrix product or attention), each call lasting from
 * tens of microseconds to milliseconds.  So the pool keeps T-1 workers
 * alive and the calling thread works too.
 *
 * Work is handed out in chunks, not one fixed range per thread: a call
 * over [0, n) is cut into C = min(n, T * CHUNKS_PER_THREAD) chunks, chunk
 * c being [n*c/C, n*(c+1)/C), and every thread — the caller included —
 * takes the next chunk with one atomic increment until none is left.  The
 * boundaries depend only on n and T, so a computation that depends on
 * the split is still reproducible; only which thread runs a chunk varies.
 * Taking chunks this way matters on a shared machine: a worker that the
 * OS has not scheduled yet (or that is still waking up) costs nothing, as
 * the others take its share, where a fixed split made the caller wait
 * for it; and a worker slowed by a neighbour takes fewer chunks.
 *
 * The chunk counter and the call's generation share one 64-bit word, the
 * ticket (generation << 32 | next chunk), so a worker can never take a
 * chunk of a call it has not seen published: the caller first stores
 * (generation, CLOSED), then writes the call (fn, arg, n, chunks), then
 * stores (generation, 0) with release; a worker takes chunk c by a
 * compare-and-swap of exactly (generation, c) -> (generation, c+1), and
 * the call's fields cannot change until every chunk taken is finished.
 *
 * Waiting: a worker with nothing to do spins for SPIN_NS (cheap wake-up
 * between the back-to-back calls of one forward pass: waking a sleeping
 * thread costs tens of microseconds, more in a VM), then sleeps on a
 * condition variable, so an idle pool uses no CPU.  The caller, once the
 * chunks are all taken, waits for the ones still running the same way.
 * A sleeper announces itself (sleepers, caller_waiting) before it
 * re-checks its condition under the mutex, and the notifier changes the
 * state before it looks for sleepers (both sequentially consistent), so
 * one of the two always sees the other: no wake-up is lost, and no call
 * pays for a futex when nobody sleeps.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_internal.h"

#define SPIN_NS 200000          /* spin this long before sleeping */
#define CHUNKS_PER_THREAD 4
#define CLOSED 0xffffffffu      /* ticket's chunk field while a call is written */

struct worker {
	lfm2_pool *pool;
	pthread_t thread;
	int32_t index;             /* 1 .. n_threads-1: the caller is 0 */
};

struct lfm2_pool {
	int n_threads;
	struct worker *workers;    /* n_threads - 1 of them */
	int n_started;

	pthread_mutex_t mutex;
	pthread_cond_t work_cv, done_cv;
	pthread_mutex_t call_mutex;   /* serializes concurrent callers */

	/* The current call: written by the caller between (gen, CLOSED) and
	 * (gen, 0) in the ticket, read by whoever took one of its chunks. */
	lfm2_task_fn fn;
	void *arg;
	int64_t n;
	atomic_uint chunks;        /* atomic: a worker may look at it for a call it will not join */
	uint32_t gen;              /* the caller's: the last generation published */

	atomic_uint_fast64_t ticket;   /* generation << 32 | next chunk */
	atomic_uint done;              /* chunks finished in this call */
	atomic_int sleepers;           /* workers asleep on work_cv */
	atomic_bool caller_waiting;    /* the caller asleep on done_cv */
	atomic_bool quit;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spins up to SPIN_NS until ready(pool, x) holds; true if it did. */
static bool spin_until(lfm2_pool *pool, bool (*ready)(lfm2_pool *, uint64_t), uint64_t x)
{
	int64_t t0 = 0;
	for (unsigned i = 0;; i++) {
		if (ready(pool, x))
			return true;
		cpu_relax();
		if ((i & 63) == 63) {   /* the clock every 64 rounds: it costs more than a pause */
			int64_t t = now_ns();
			if (!t0)
				t0 = t;
			else if (t - t0 > SPIN_NS)
				return false;
		}
	}
}

static uint32_t gen_of(uint64_t ticket) { return (uint32_t)(ticket >> 32); }

/* Runs chunks of call `gen` as thread `index` until none is left; the
 * number it ran. */
static uint32_t take_chunks(lfm2_pool *pool, uint32_t gen, int32_t index)
{
	uint32_t ran = 0;
	for (;;) {
		uint64_t t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
		uint32_t c = (uint32_t)t, chunks = atomic_load_explicit(&pool->chunks, memory_order_relaxed);
		if (gen_of(t) != gen || c == CLOSED || c >= chunks)
			return ran;
		if (!atomic_compare_exchange_weak_explicit(&pool->ticket, &t, t + 1, memory_order_acq_rel,
		                                           memory_order_relaxed))
			continue;
		/* chunk c is ours: the call cannot change until we count it done */
		int64_t n = pool->n, q = n / chunks, r = n % chunks;   /* n*c/C without overflow */
		pool->fn(pool->arg, q * c + r * c / chunks, q * (c + 1) + r * (c + 1) / chunks, index);
		ran++;
		if (atomic_fetch_add(&pool->done, 1) + 1 == chunks && atomic_load(&pool->caller_waiting)) {
			pthread_mutex_lock(&pool->mutex);
			pthread_cond_broadcast(&pool->done_cv);
			pthread_mutex_unlock(&pool->mutex);
		}
	}
}

/* A call newer than `seen` is open (or the pool is quitting). */
static bool new_call(lfm2_pool *pool, uint64_t seen)
{
	uint64_t t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
	return (gen_of(t) != (uint32_t)seen && (uint32_t)t != CLOSED)
	       || atomic_load_explicit(&pool->quit, memory_order_relaxed);
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	lfm2_pool *pool = w->pool;
	uint32_t seen = 0;
	for (;;) {
		if (!spin_until(pool, new_call, seen)) {
			pthread_mutex_lock(&pool->mutex);
			atomic_fetch_add(&pool->sleepers, 1);
			while (!new_call(pool, seen))
				pthread_cond_wait(&pool->work_cv, &pool->mutex);
			atomic_fetch_sub(&pool->sleepers, 1);
			pthread_mutex_unlock(&pool->mutex);
		}
		if (atomic_load(&pool->quit))
			return NULL;
		uint64_t t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
		if ((uint32_t)t == CLOSED)   /* the next call is being written: wait for it */
			continue;
		seen = gen_of(t);
		take_chunks(pool, seen, w->index);
	}
}

static bool all_done(lfm2_pool *pool, uint64_t chunks)
{
	return atomic_load_explicit(&pool->done, memory_order_acquire) == chunks;
}

void lfm2_parallel_for(lfm2_pool *pool, int64_t n, lfm2_task_fn fn, void *arg)
{
	if (n <= 0)
		return;
	if (!pool || pool->n_threads == 1 || n == 1) {
		fn(arg, 0, n, 0);
		return;
	}
	pthread_mutex_lock(&pool->call_mutex);
	uint32_t gen = ++pool->gen;
	if (gen == 0)   /* 0 is the workers' "seen nothing yet" */
		gen = ++pool->gen;
	atomic_store(&pool->ticket, (uint64_t)gen << 32 | CLOSED);
	int64_t most = (int64_t)pool->n_threads * CHUNKS_PER_THREAD;
	pool->fn = fn;
	pool->arg = arg;
	pool->n = n;
	atomic_store_explicit(&pool->chunks, (uint32_t)(n < most ? n : most), memory_order_relaxed);
	atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
	atomic_store(&pool->ticket, (uint64_t)gen << 32);   /* open: seq_cst, then look for sleepers */
	if (atomic_load(&pool->sleepers) > 0) {
		pthread_mutex_lock(&pool->mutex);
		pthread_cond_broadcast(&pool->work_cv);
		pthread_mutex_unlock(&pool->mutex);
	}

	take_chunks(pool, gen, 0);
	uint32_t chunks = atomic_load_explicit(&pool->chunks, memory_order_relaxed);
	if (!spin_until(pool, all_done, chunks)) {
		pthread_mutex_lock(&pool->mutex);
		atomic_store(&pool->caller_waiting, true);
		while (!all_done(pool, chunks))
			pthread_cond_wait(&pool->done_cv, &pool->mutex);
		atomic_store(&pool->caller_waiting, false);
		pthread_mutex_unlock(&pool->mutex);
	}
	pthread_mutex_unlock(&pool->call_mutex);
}

int lfm2_pool_threads(const lfm2_pool *pool)
{
	return pool ? pool->n_threads : 1;
}

static void stop_workers(lfm2_pool *pool)
{
	pthread_mutex_lock(&pool->mutex);
	atomic_store(&pool->quit, true);
	pthread_cond_broadcast(&pool->work_cv);
	pthread_mutex_unlock(&pool->mutex);
	for (int i = 0; i < pool->n_started; i++)
		pthread_join(pool->workers[i].thread, NULL);
	pool->n_started = 0;
}

lfm2_pool *lfm2_pool_create(int n_threads, lfm2_err *err)
{
	if (n_threads < 1) {
		rt_fail(err, "thread pool: need at least 1 thread, got %d", n_threads);
		return NULL;
	}
	lfm2_pool *pool = calloc(1, sizeof *pool);
	struct worker *workers = n_threads > 1 ? calloc((size_t)n_threads - 1, sizeof *workers) : NULL;
	if (!pool || (n_threads > 1 && !workers)) {
		free(pool);
		free(workers);
		rt_fail(err, "thread pool: out of memory");
		return NULL;
	}
	pool->n_threads = n_threads;
	pool->workers = workers;
	pthread_mutex_init(&pool->mutex, NULL);
	pthread_mutex_init(&pool->call_mutex, NULL);
	pthread_cond_init(&pool->work_cv, NULL);
	pthread_cond_init(&pool->done_cv, NULL);
	atomic_init(&pool->ticket, 0);
	atomic_init(&pool->done, 0);
	atomic_init(&pool->chunks, 0);
	atomic_init(&pool->sleepers, 0);
	atomic_init(&pool->caller_waiting, false);
	atomic_init(&pool->quit, false);
	for (int i = 0; i < n_threads - 1; i++) {
		workers[i].pool = pool;
		workers[i].index = i + 1;
		int rc = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (rc != 0) {
			rt_fail(err, "thread pool: cannot start thread %d of %d: %s", i + 2, n_threads,
			        strerror(rc));
			lfm2_pool_destroy(pool);
			return NULL;
		}
		pool->n_started++;
	}
	return pool;
}

void lfm2_pool_destroy(lfm2_pool *pool)
{
	if (!pool)
		return;
	stop_workers(pool);
	pthread_cond_destroy(&pool->work_cv);
	pthread_cond_destroy(&pool->done_cv);
	pthread_mutex_destroy(&pool->mutex);
	pthread_mutex_destroy(&pool->call_mutex);
	free(pool->workers);
	free(pool);
}
