/*
 * peak.c — measure this machine's arithmetic peaks: the throughput of
 * each instruction sequence the generated kernels run, the bound of LLM
 * prefill (a batch of tokens makes every matmul compute-bound).
 *
 *   peak [THREADS]   one line per sequence:
 *
 *     NAME THREADS VALUE UNIT SEQUENCE...      measured (median of 5 runs)
 *     NAME THREADS n/a (no FEATURE) SEQUENCE...  this CPU lacks it
 *
 *   x86-64:
 *     fma256        GFLOP/s    vfmadd231ps ymm (2 flop per f32 lane)
 *     fma512        GFLOP/s    vfmadd231ps zmm
 *     fma_full_bits bits       the FMA width with the most FLOP/s, as the
 *                              machine model picks it (codegen/machine.c):
 *                              512 when fma512 beats fma256 by more than
 *                              10%, else 256 (a zmm split in halves, as on
 *                              Zen 4, gives ~1.0x; a second 512-bit pipe or
 *                              a lower zmm clock anything up to 2x)
 *     int8_vnni_zmm GMAC/s     vpdpbusd zmm (AVX-512 VNNI)
 *     int8_vnni_ymm GMAC/s     vpdpbusd ymm (AVX-VNNI, or AVX-512 VNNI+VL)
 *     int8_avx2_q4  GMAC/s     vpmaddubsw + vpmaddwd (x ones) + vpaddd, ymm:
 *                              the AVX2 dot of q4 codes (u8) x int8
 *     int8_avx2_q8  GMAC/s     vpsignb (|w|: w, w) + vpsignb (a, w) +
 *                              vpmaddubsw + vpmaddwd + vpaddd, ymm: the
 *                              AVX2 dot of q8_0 (i8 x i8), sign moved
 *     bf16_dot_zmm  GFLOP/s    vdpbf16ps zmm (AVX-512 BF16; 2 flop per pair)
 *     bf16_dot_ymm  GFLOP/s    vdpbf16ps ymm
 *   aarch64:
 *     fma128        GFLOP/s    fmla v.4s
 *     int8_sdot     GMAC/s     sdot v.4s (+dotprod)
 *     bf16_dot      GFLOP/s    bfdot v.4s (+bf16)
 *
 * A MAC is one byte product (vpdpbusd zmm: 64, the AVX2 forms: 32 per
 * sequence); a FLOP is half an f32 multiply-add.  bench.sh reads field 1
 * (the name) and field 3 (the value, or "n/a").
 *
 * Each kernel is compiled for its own instruction set
 * (__attribute__((target))) and run only when CPUID says the CPU has it,
 * so one binary built without -march runs anywhere.  Every loop is
 * throughput-bound: 12 independent accumulators for the fused
 * multiply-adds (more than latency x pipes on every core we know), 4
 * independent sequences for the AVX2 forms, whose only loop-carried
 * instruction is the 1-cycle vpaddd, with their inputs made opaque each
 * trip so nothing is hoisted out of the loop.  These are ceilings: no
 * loads, conversions or block-scale arithmetic, which real kernels add.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1 << 14)
#endif
#endif

/* "this vector register may have changed": keeps the loop's operands in
 * registers and stops the compiler from folding or hoisting the work */
#if defined(__aarch64__)
#define OPAQUE(v) __asm__ volatile("" : "+w"(v))
#else
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))
#endif

#define NACC 12           /* accumulators of the fused multiply-add loops */
#define NSEQ 4            /* independent sequences of the AVX2 int8 forms (more spill on 16 ymm) */
#define ITERS 20000000L   /* loop trips per run and thread */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---------------------------------------------------- accumulate loops
 * NACC accumulators acc[i] = STEP(acc[i], a, b), `a` made opaque each
 * trip.  NAME returns the operations done (for the caller's rate) and
 * stores the sum of the accumulators' first lanes in *sink so no work is
 * dropped. */
#define ACC_LOOP(NAME, TARGET, VEC, ACC0, A0, B0, STEP, FIRST, OPS_PER_STEP)   \
	TARGET static double NAME(float *sink)                                     \
	{                                                                          \
		VEC acc[NACC], a = A0, b = B0;                                         \
		for (int i = 0; i < NACC; i++)                                         \
			acc[i] = ACC0(i);                                                  \
		for (long n = 0; n < ITERS; n++) {                                     \
			_Pragma("GCC unroll 12") for (int i = 0; i < NACC; i++)            \
				acc[i] = STEP(acc[i], a, b);                                   \
			OPAQUE(a);                                                         \
		}                                                                      \
		float s = 0;                                                           \
		for (int i = 0; i < NACC; i++)                                         \
			s += (float)FIRST(acc[i]);                                         \
		*sink = s;                                                             \
		return (double)ITERS * NACC * (OPS_PER_STEP);                          \
	}

#if defined(__x86_64__)

#define T_FMA __attribute__((target("avx2,fma")))
#define T_AVX512 __attribute__((target("avx512f")))
#define T_VNNI512 __attribute__((target("avx512f,avx512vnni")))
#define T_AVXVNNI __attribute__((target("avx2,avxvnni")))
#define T_VNNI256 __attribute__((target("avx512f,avx512vl,avx512vnni")))
#define T_AVX2 __attribute__((target("avx2")))
#define T_BF16_512 __attribute__((target("avx512f,avx512bf16")))
#define T_BF16_256 __attribute__((target("avx512f,avx512vl,avx512bf16")))

/* f32 FMA: 2 flop per lane */
#define F256_ACC0(i) _mm256_set1_ps((float)(i))
#define F256_STEP(acc, a, b) _mm256_fmadd_ps(a, b, acc)
#define F256_FIRST(v) _mm256_cvtss_f32(v)
ACC_LOOP(fma256_loop, T_FMA, __m256, F256_ACC0, _mm256_set1_ps(1.0001f), _mm256_set1_ps(0.9999f), F256_STEP,
         F256_FIRST, 8 * 2)
#define F512_ACC0(i) _mm512_set1_ps((float)(i))
#define F512_STEP(acc, a, b) _mm512_fmadd_ps(a, b, acc)
#define F512_FIRST(v) _mm512_cvtss_f32(v)
ACC_LOOP(fma512_loop, T_AVX512, __m512, F512_ACC0, _mm512_set1_ps(1.0001f), _mm512_set1_ps(0.9999f), F512_STEP,
         F512_FIRST, 16 * 2)

/* vpdpbusd: 4 u8 x i8 products into each i32 lane */
#define I512_ACC0(i) _mm512_set1_epi32(i)
#define I512_FIRST(v) _mm_cvtsi128_si32(_mm512_castsi512_si128(v))
ACC_LOOP(vnni512_loop, T_VNNI512, __m512i, I512_ACC0, _mm512_set1_epi8(3), _mm512_set1_epi8(5),
         _mm512_dpbusd_epi32, I512_FIRST, 64)
#define I256_ACC0(i) _mm256_set1_epi32(i)
#define I256_FIRST(v) _mm_cvtsi128_si32(_mm256_castsi256_si128(v))
ACC_LOOP(avxvnni_loop, T_AVXVNNI, __m256i, I256_ACC0, _mm256_set1_epi8(3), _mm256_set1_epi8(5),
         _mm256_dpbusd_avx_epi32, I256_FIRST, 32)
ACC_LOOP(vnni256_loop, T_VNNI256, __m256i, I256_ACC0, _mm256_set1_epi8(3), _mm256_set1_epi8(5),
         _mm256_dpbusd_epi32, I256_FIRST, 32)

/* vdpbf16ps: 2 bf16 products into each f32 lane (bf16 1.0 = 0x3f80) */
#define B512_STEP(acc, a, b) _mm512_dpbf16_ps(acc, (__m512bh)(a), (__m512bh)(b))
ACC_LOOP(bf16_512_loop, T_BF16_512, __m512, F512_ACC0, _mm512_castsi512_ps(_mm512_set1_epi16(0x3f80)),
         _mm512_castsi512_ps(_mm512_set1_epi16(0x3f80)), B512_STEP, F512_FIRST, 16 * 2 * 2)
#define B256_STEP(acc, a, b) _mm256_dpbf16_ps(acc, (__m256bh)(a), (__m256bh)(b))
ACC_LOOP(bf16_256_loop, T_BF16_256, __m256, F256_ACC0, _mm256_castsi256_ps(_mm256_set1_epi16(0x3f80)),
         _mm256_castsi256_ps(_mm256_set1_epi16(0x3f80)), B256_STEP, F256_FIRST, 8 * 2 * 2)

/* The AVX2 q4 form: u8 codes (0..15) x i8 activations, pairs summed into
 * i16 (vpmaddubsw, exact: 2 x 15 x 128 < 2^15), pairs of those into i32
 * (vpmaddwd with ones), added to the accumulator: 32 MAC per sequence.
 * NSEQ sequences, each its own weight vector and accumulator, one shared
 * activation vector made opaque each trip (the kernels broadcast one
 * activation group against several weight rows). */
T_AVX2 static double avx2_q4_loop(float *sink)
{
	__m256i acc[NSEQ], w[NSEQ], a = _mm256_set1_epi8(-7), ones = _mm256_set1_epi16(1);
	for (int i = 0; i < NSEQ; i++) {
		acc[i] = _mm256_set1_epi32(i);
		w[i] = _mm256_set1_epi8((char)(i + 1));
	}
	for (long n = 0; n < ITERS; n++) {
		_Pragma("GCC unroll 4") for (int i = 0; i < NSEQ; i++)
			acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(w[i], a), ones));
		OPAQUE(a);
	}
	float s = 0;
	for (int i = 0; i < NSEQ; i++)
		s += (float)I256_FIRST(acc[i]);
	*sink = s;
	return (double)ITERS * NSEQ * 32;
}

/* The AVX2 q8_0 form: i8 weights x i8 activations.  vpmaddubsw wants its
 * first operand unsigned, so each weight's sign moves onto the activation:
 * |w| = vpsignb(w, w) (<= 128 as u8), a' = vpsignb(a, w) (|a| <= 127), then
 * the q4 form.  Five instructions per 32 MAC; every weight vector is made
 * opaque each trip, so both vpsignb are recomputed. */
T_AVX2 static double avx2_q8_loop(float *sink)
{
	__m256i acc[NSEQ], w[NSEQ], a = _mm256_set1_epi8(-7), ones = _mm256_set1_epi16(1);
	for (int i = 0; i < NSEQ; i++) {
		acc[i] = _mm256_set1_epi32(i);
		w[i] = _mm256_set1_epi8((char)(i % 2 ? -(i + 1) : i + 1));
	}
	for (long n = 0; n < ITERS; n++) {
		_Pragma("GCC unroll 4") for (int i = 0; i < NSEQ; i++) {
			__m256i uw = _mm256_sign_epi8(w[i], w[i]), sa = _mm256_sign_epi8(a, w[i]);
			acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(uw, sa), ones));
			OPAQUE(w[i]);
		}
	}
	float s = 0;
	for (int i = 0; i < NSEQ; i++)
		s += (float)I256_FIRST(acc[i]);
	*sink = s;
	return (double)ITERS * NSEQ * 32;
}

#elif defined(__aarch64__)

#define F128_ACC0(i) vdupq_n_f32((float)(i))
#define F128_STEP(acc, a, b) vfmaq_f32(acc, a, b)
#define F128_FIRST(v) vgetq_lane_f32(v, 0)
ACC_LOOP(fma128_loop, , float32x4_t, F128_ACC0, vdupq_n_f32(1.0001f), vdupq_n_f32(0.9999f), F128_STEP, F128_FIRST,
         4 * 2)
#define S_ACC0(i) vdupq_n_s32(i)
#define S_FIRST(v) vgetq_lane_s32(v, 0)
#define S_SPLAT8(x) vreinterpretq_s32_s8(vdupq_n_s8(x))
#define S_STEP(acc, a, b) vdotq_s32(acc, vreinterpretq_s8_s32(a), vreinterpretq_s8_s32(b))
ACC_LOOP(sdot_loop, __attribute__((target("arch=armv8.2-a+dotprod"))), int32x4_t, S_ACC0, S_SPLAT8(3), S_SPLAT8(5), S_STEP,
         S_FIRST, 16)
#define BF_STEP(acc, a, b) vbfdotq_f32(acc, vreinterpretq_bf16_u16(a), vreinterpretq_bf16_u16(b))
#define BF_ACC0(i) vdupq_n_f32((float)(i))
/* the loop's operands are u16 vectors holding bf16 1.0 */
__attribute__((target("arch=armv8.2-a+bf16"))) static double bfdot_loop(float *sink)
{
	float32x4_t acc[NACC];
	unsigned bits = 0x3f803f80u;   /* from a register: GCC would emit an fp16 fmov for the constant */
	__asm__ volatile("" : "+r"(bits));
	uint16x8_t a = vreinterpretq_u16_u32(vdupq_n_u32(bits)), b = a;
	for (int i = 0; i < NACC; i++)
		acc[i] = BF_ACC0(i);
	for (long n = 0; n < ITERS; n++) {
		_Pragma("GCC unroll 12") for (int i = 0; i < NACC; i++)
			acc[i] = BF_STEP(acc[i], a, b);
		OPAQUE(a);
	}
	float s = 0;
	for (int i = 0; i < NACC; i++)
		s += vgetq_lane_f32(acc[i], 0);
	*sink = s;
	return (double)ITERS * NACC * 4 * 2 * 2;
}

#endif

/* ---------------------------------------------------- threads */

typedef double (*LoopFn)(float *);

typedef struct Job {
	LoopFn loop;
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
static double rate(LoopFn loop, int threads)
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

/* One output line: measured when `have`, else "n/a (no FEATURE)".
 * Returns the rate (0 when not measured), < 0 on error. */
static double report(const char *name, int threads, int have, const char *missing, LoopFn loop, const char *unit,
                     const char *seq)
{
	if (!have) {
		printf("%-14s %d n/a (no %s) %s\n", name, threads, missing, seq);
		return 0;
	}
	double r = rate(loop, threads);
	if (r < 0)
		return -1;
	printf("%-14s %d %.1f %s %s\n", name, threads, r, unit, seq);
	fflush(stdout);
	return r;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	if (threads < 1 || threads > 256) {
		fprintf(stderr, "usage: peak [THREADS (1..256)]\n");
		return 2;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	int fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	int avx512 = __builtin_cpu_supports("avx512f");
	int vl = avx512 && __builtin_cpu_supports("avx512vl");
	int vnni512 = avx512 && __builtin_cpu_supports("avx512vnni");
	int avxvnni = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
	int bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
	double f256 = report("fma256", threads, fma, "avx2/fma", fma256_loop, "GFLOP/s",
	                     "vfmadd231ps ymm (8 f32 lanes x 2 flop)");
	double f512 = report("fma512", threads, avx512, "avx512f", fma512_loop, "GFLOP/s",
	                     "vfmadd231ps zmm (16 f32 lanes x 2 flop)");
	if (f256 < 0 || f512 < 0)
		return 1;
	if (f256 > 0 && f512 > 0)
		printf("%-14s %d %d bits the FMA width with the most FLOP/s (fma512 / fma256 = %.2f)\n", "fma_full_bits",
		       threads, f512 > 1.1 * f256 ? 512 : 256, f512 / f256);
	else
		printf("%-14s %d %s bits the FMA width with the most FLOP/s\n", "fma_full_bits", threads,
		       f256 > 0 ? "256" : "n/a");
	double r[6];
	r[0] = report("int8_vnni_zmm", threads, vnni512, "avx512vnni", vnni512_loop, "GMAC/s",
	              "vpdpbusd zmm (u8 x i8, 64 MAC)");
	if (avxvnni)
		r[1] = report("int8_vnni_ymm", threads, 1, "", avxvnni_loop, "GMAC/s",
		              "vpdpbusd ymm, AVX-VNNI (u8 x i8, 32 MAC)");
	else
		r[1] = report("int8_vnni_ymm", threads, vnni512 && vl, "avxvnni or avx512vnni+vl", vnni256_loop,
		              "GMAC/s", "vpdpbusd ymm, AVX-512 VNNI+VL (u8 x i8, 32 MAC)");
	r[2] = report("int8_avx2_q4", threads, fma, "avx2", avx2_q4_loop, "GMAC/s",
	              "vpmaddubsw + vpmaddwd (x ones) + vpaddd, ymm (q4 form: u8 codes x i8, 32 MAC)");
	r[3] = report("int8_avx2_q8", threads, fma, "avx2", avx2_q8_loop, "GMAC/s",
	              "vpsignb (w, w) + vpsignb (a, w) + vpmaddubsw + vpmaddwd (x ones) + vpaddd, ymm "
	              "(q8_0 form: i8 x i8, sign moved, 32 MAC)");
	r[4] = report("bf16_dot_zmm", threads, bf16, "avx512bf16", bf16_512_loop, "GFLOP/s",
	              "vdpbf16ps zmm (16 f32 lanes x 2 bf16 pairs x 2 flop)");
	r[5] = report("bf16_dot_ymm", threads, bf16 && vl, "avx512bf16+vl", bf16_256_loop, "GFLOP/s",
	              "vdpbf16ps ymm (8 f32 lanes x 2 bf16 pairs x 2 flop)");
	for (int i = 0; i < 6; i++)
		if (r[i] < 0)
			return 1;
#elif defined(__aarch64__)
	unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
	if (report("fma128", threads, 1, "", fma128_loop, "GFLOP/s", "fmla v.4s (4 f32 lanes x 2 flop)") < 0 ||
	    report("int8_sdot", threads, (hw & HWCAP_ASIMDDP) != 0, "dotprod", sdot_loop, "GMAC/s",
	           "sdot v.4s (i8 x i8, 16 MAC)") < 0 ||
	    report("bf16_dot", threads, (hw2 & HWCAP2_BF16) != 0, "bf16", bfdot_loop, "GFLOP/s",
	           "bfdot v.4s (4 f32 lanes x 2 bf16 pairs x 2 flop)") < 0)
		return 1;
#else
	printf("%-14s %d n/a (no known vector unit)\n", "fma", threads);
#endif
	return 0;
}
