/*
 * pool.c — the thread pool behind lfm2_parallel_for.
 *
 * The generated code calls lfm2_parallel_for many times per token (once per
 * matrix product or so), each call lasting from microseconds to
 * milliseconds.  So the pool keeps T-1 workers alive, hands each call to
 * them through a "generation" counter, and lets the calling thread do range
 * 0 itself.  Range i of a call is [n*i/T, n*(i+1)/T): fixed by n and T, so a
 * computation that depends on the split is still reproducible.
 *
 * Waiting: a worker that sees no new generation spins for a short while
 * (cheap wake-up between the back-to-back calls of one forward pass), then
 * sleeps on a condition variable, so an idle pool uses no CPU.  The caller
 * waits for the workers the same way.  The publish/notify protocol:
 *
 *   caller:  lock; store task; generation++ (release); pending = T-1;
 *            broadcast(work); unlock;  run range 0;  wait pending == 0.
 *   worker:  wait generation != seen (spin, then lock + cond wait);
 *            run its range;  if --pending == 0: lock; broadcast(done); unlock.
 *
 * A sleeper re-checks its condition under the mutex and the notifier takes
 * the mutex after changing the counter, so no wake-up is lost.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#define SPIN_ITERS 20000

struct worker {
	lfm2_pool *pool;
	int index;
	pthread_t thread;
};

struct lfm2_pool {
	int n_threads;
	struct worker *workers;    /* n_threads - 1 of them */
	int n_started;

	pthread_mutex_t mutex;
	pthread_cond_t work_cv, done_cv;
	pthread_mutex_t call_mutex;   /* serializes concurrent callers */

	/* The current call, published by bumping `generation`. */
	lfm2_task_fn fn;
	void *arg;
	int64_t n;
	atomic_uint_fast64_t generation;
	atomic_int pending;
	atomic_bool quit;
};

static void range_of(int64_t n, int T, int i, int64_t *begin, int64_t *end)
{
	/* n*i/T without overflow for any n < 2^63 / T: split n = q*T + r. */
	int64_t q = n / T, r = n % T;
	*begin = q * i + (r * i) / T;
	*end = q * (i + 1) + (r * (i + 1)) / T;
}

static void run_range(lfm2_pool *pool, int i)
{
	int64_t b, e;
	range_of(pool->n, pool->n_threads, i, &b, &e);
	if (b < e)
		pool->fn(pool->arg, b, e);
}

static uint64_t wait_new_generation(lfm2_pool *pool, uint64_t seen)
{
	for (int i = 0; i < SPIN_ITERS; i++) {
		uint64_t g = atomic_load_explicit(&pool->generation, memory_order_acquire);
		if (g != seen || atomic_load_explicit(&pool->quit, memory_order_relaxed))
			return g;
	}
	pthread_mutex_lock(&pool->mutex);
	while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->quit))
		pthread_cond_wait(&pool->work_cv, &pool->mutex);
	uint64_t g = atomic_load(&pool->generation);
	pthread_mutex_unlock(&pool->mutex);
	return g;
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	lfm2_pool *pool = w->pool;
	uint64_t seen = 0;
	for (;;) {
		seen = wait_new_generation(pool, seen);
		if (atomic_load(&pool->quit))
			return NULL;
		run_range(pool, w->index);
		if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
			pthread_mutex_lock(&pool->mutex);
			pthread_cond_broadcast(&pool->done_cv);
			pthread_mutex_unlock(&pool->mutex);
		}
	}
}

static void wait_workers_done(lfm2_pool *pool)
{
	for (int i = 0; i < SPIN_ITERS; i++)
		if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0)
			return;
	pthread_mutex_lock(&pool->mutex);
	while (atomic_load(&pool->pending) != 0)
		pthread_cond_wait(&pool->done_cv, &pool->mutex);
	pthread_mutex_unlock(&pool->mutex);
}

void lfm2_parallel_for(lfm2_pool *pool, int64_t n, lfm2_task_fn fn, void *arg)
{
	if (n <= 0)
		return;
	if (!pool || pool->n_threads == 1 || n == 1) {
		fn(arg, 0, n);
		return;
	}
	pthread_mutex_lock(&pool->call_mutex);
	pthread_mutex_lock(&pool->mutex);
	pool->fn = fn;
	pool->arg = arg;
	pool->n = n;
	atomic_store(&pool->pending, pool->n_threads - 1);
	atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
	pthread_cond_broadcast(&pool->work_cv);
	pthread_mutex_unlock(&pool->mutex);

	run_range(pool, 0);
	wait_workers_done(pool);
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
	atomic_init(&pool->generation, 0);
	atomic_init(&pool->pending, 0);
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
