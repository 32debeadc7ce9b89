/*
 * peak.c — measure this machine's arithmetic peaks, the bound of LLM
 * prefill (a batch of tokens makes every matmul compute-bound).
 *
 *   peak [THREADS]   prints two lines:
 *     fma_gflops THREADS X    f32 FMA, X GFLOP/s (2 per lane per FMA)
 *     int8_gops  THREADS Y    int8 dot products (vpdpbusd / sdot), Y G
 *                             ops/s (2 per multiply-add), or "-" when the
 *                             machine has no such instruction
 *
 * Each thread runs a loop of independent FMAs (dot products) on 12
 * accumulators — enough to cover the instruction's latency on every core
 * we know — in the widest vectors the compiler was told about (bench.sh
 * builds this with -march=native).  Five runs; the median is printed.
 * These are the ceilings a float GEMM (FMA) and an int8 GEMM (the block
 * formats' kernels) can approach: neither counts loads, conversions or
 * the block scales' arithmetic, which real kernels also need.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/* "this vector register may have changed": keeps the loop's operands in
 * registers and stops the compiler from folding the loop away */
#if defined(__aarch64__)
#define OPAQUE(v) __asm__ volatile("" : "+w"(v))
#else
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))
#endif

#define NACC 12
#define ITERS 20000000L   /* loop trips per run and thread: NACC instructions each */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---------------------------------------------------- the two loops
 * One shape for both: NACC accumulators acc[i] = STEP(acc[i], a, b) in a
 * loop, `a` made opaque each trip.  NAME returns the operations it did
 * (for the caller's rate) and stores the sum of every accumulator's first
 * lane in *sink so no work is dropped. */
#define THROUGHPUT_LOOP(NAME, VEC, ACC0, A0, B0, STEP, FIRST, OPS_PER_STEP) \
	static double NAME(float *sink)                                        \
	{                                                                      \
		VEC acc[NACC], a = A0, b = B0;                                     \
		for (int i = 0; i < NACC; i++)                                     \
			acc[i] = ACC0(i);                                              \
		for (long n = 0; n < ITERS; n++) {                                 \
			_Pragma("GCC unroll 12") for (int i = 0; i < NACC; i++)        \
				acc[i] = STEP(acc[i], a, b);                               \
			OPAQUE(a);                                                     \
		}                                                                  \
		float s = 0;                                                       \
		for (int i = 0; i < NACC; i++)                                     \
			s += (float)FIRST(acc[i]);                                     \
		*sink = s;                                                         \
		return (double)ITERS * NACC * (OPS_PER_STEP);                      \
	}

#if defined(__AVX512F__)
#define FMA_LANES 16
typedef __m512 fvec;
#define FSPLAT(x) _mm512_set1_ps(x)
#define FFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define FFIRST(v) _mm512_cvtss_f32(v)
#elif defined(__FMA__)
#define FMA_LANES 8
typedef __m256 fvec;
#define FSPLAT(x) _mm256_set1_ps(x)
#define FFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define FFIRST(v) _mm256_cvtss_f32(v)
#elif defined(__aarch64__)
#define FMA_LANES 4
typedef float32x4_t fvec;
#define FSPLAT(x) vdupq_n_f32(x)
#define FFMA(a, b, c) vfmaq_f32(c, a, b)
#define FFIRST(v) vgetq_lane_f32(v, 0)
#endif

#if defined(FMA_LANES)
#define FACC0(i) FSPLAT((float)(i))
THROUGHPUT_LOOP(fma_loop, fvec, FACC0, FSPLAT(1.0001f), FSPLAT(0.9999f), FFMA, FFIRST, FMA_LANES * 2)
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#define DOT_MACS 64
typedef __m512i ivec;
#define ISPLAT8(x) _mm512_set1_epi8(x)
#define ISPLAT32(x) _mm512_set1_epi32(x)
#define IDOT(acc, a, b) _mm512_dpbusd_epi32(acc, a, b)
#define IFIRST(v) _mm_cvtsi128_si32(_mm512_castsi512_si128(v))
#elif defined(__AVXVNNI__)
#define DOT_MACS 32
typedef __m256i ivec;
#define ISPLAT8(x) _mm256_set1_epi8(x)
#define ISPLAT32(x) _mm256_set1_epi32(x)
#define IDOT(acc, a, b) _mm256_dpbusd_avx_epi32(acc, a, b)
#define IFIRST(v) _mm_cvtsi128_si32(_mm256_castsi256_si128(v))
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#define DOT_MACS 16
typedef int32x4_t ivec;
#define ISPLAT8(x) vreinterpretq_s32_s8(vdupq_n_s8(x))
#define ISPLAT32(x) vdupq_n_s32(x)
#define IDOT(acc, a, b) vdotq_s32(acc, vreinterpretq_s8_s32(a), vreinterpretq_s8_s32(b))
#define IFIRST(v) vgetq_lane_s32(v, 0)
#endif

#if defined(DOT_MACS)
THROUGHPUT_LOOP(dot_loop, ivec, ISPLAT32, ISPLAT8(3), ISPLAT8(5), IDOT, IFIRST, DOT_MACS * 2)
#endif

/* ---------------------------------------------------- threads */

typedef struct Job {
	double (*loop)(float *);
	double ops;
	float sink;
} Job;

static void *run_job(void *arg)
{
	Job *j = arg;
	j->ops = j->loop(&j->sink);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* G ops/s of `loop` on `threads` threads at once, median of 5 runs; < 0 on error. */
static double rate(double (*loop)(float *), int threads)
{
	double r[5];
	pthread_t tid[256];
	Job job[256];
	for (int k = 0; k < 5; k++) {
		double t0 = now();
		for (int i = 0; i < threads; i++) {
			job[i].loop = loop;
			if (pthread_create(&tid[i], NULL, run_job, &job[i]) != 0) {
				fprintf(stderr, "peak: cannot start thread %d\n", i);
				return -1;
			}
		}
		double ops = 0;
		for (int i = 0; i < threads; i++) {
			pthread_join(tid[i], NULL);
			ops += job[i].ops;
		}
		r[k] = ops / (now() - t0) / 1e9;
	}
	qsort(r, 5, sizeof r[0], cmp);
	return r[2];
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	if (threads < 1 || threads > 256) {
		fprintf(stderr, "usage: peak [THREADS (1..256)]\n");
		return 2;
	}
#if defined(FMA_LANES)
	double f = rate(fma_loop, threads);
	if (f < 0)
		return 1;
	printf("fma_gflops %d %.1f\n", threads, f);
#else
	printf("fma_gflops %d -\n", threads);
#endif
#if defined(DOT_MACS)
	double d = rate(dot_loop, threads);
	if (d < 0)
		return 1;
	printf("int8_gops %d %.1f\n", threads, d);
#else
	printf("int8_gops %d -\n", threads);
#endif
	return 0;
}
