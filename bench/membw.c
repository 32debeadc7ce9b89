/*
 * membw.c — measure this machine's memory read bandwidth, the bound of
 * LLM decoding (every weight byte is read once per token).
 *
 *   membw [THREADS] [MiB]   prints "read_gbps THREADS MEDIAN" (GB/s, 1e9)
 *
 * Each thread sums its own contiguous part of a buffer much larger than
 * the caches, in wide vectors with several independent accumulators so
 * the loop is bound by memory, not by add latency.  Seven runs; the
 * median is printed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Part {
	const float *p;
	size_t n;
	float sum;
} Part;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* 64-byte vectors (GNU C; the compiler splits them where registers are
 * narrower), four accumulators, one sequential stream per thread.  The
 * plain loop over float acc[32] this replaced measured 31 GB/s on 2
 * threads where the generated decode code streamed its weights at 45-47:
 * the bound must be at least what a kernel can reach.  More streams per
 * thread measured less here (2: 30, 4: 32 GB/s against 52 for one). */
typedef float v16 __attribute__((vector_size(64)));

static void *sum_part(void *arg)
{
	Part *a = arg;
	v16 acc[4] = {{0}};
	size_t nv = a->n / 64 * 4;   /* whole groups of 4 vectors */
	for (size_t i = 0; i < nv; i += 4)
		for (int j = 0; j < 4; j++) {
			v16 x;
			memcpy(&x, a->p + (i + j) * 16, sizeof x);
			acc[j] += x;
		}
	v16 t = acc[0] + acc[1] + acc[2] + acc[3];
	float s = 0;
	for (int j = 0; j < 16; j++)
		s += t[j];
	a->sum = s;
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
	if (threads < 1 || threads > 256 || mib < 64) {
		fprintf(stderr, "usage: membw [THREADS] [MiB >= 64]\n");
		return 2;
	}
	size_t n = mib << 18;   /* floats */
	float *buf = malloc(n * sizeof(float));
	pthread_t *tid = calloc((size_t)threads, sizeof *tid);
	Part *parts = calloc((size_t)threads, sizeof *parts);
	if (!buf || !tid || !parts) {
		fprintf(stderr, "membw: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)   /* touch every page with data */
		buf[i] = (float)(i & 7);
	enum { RUNS = 7 };
	double gbps[RUNS];
	float sink = 0;
	for (int r = 0; r < RUNS; r++) {
		double t0 = now();
		for (int i = 0; i < threads; i++) {
			parts[i] = (Part){buf + (size_t)i * (n / threads), n / threads, 0};
			if (pthread_create(&tid[i], NULL, sum_part, &parts[i])) {
				fprintf(stderr, "membw: cannot start a thread\n");
				return 1;
			}
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(tid[i], NULL);
			sink += parts[i].sum;
		}
		gbps[r] = (double)(n * sizeof(float)) / (now() - t0) / 1e9;
	}
	qsort(gbps, RUNS, sizeof gbps[0], cmp);
	printf("read_gbps %d %.2f%s\n", threads, gbps[RUNS / 2], sink != 0 ? " " : "");
	free(buf);
	free(tid);
	free(parts);
	return 0;
}
