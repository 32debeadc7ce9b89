/*
 * machine.c — the machine model (machine.h): a table of known CPUs, the
 * host's caches, and the few rules that turn them into one Machine.
 *
 * The table holds, per CPU as LLVM names it, what the tiles depend on:
 * FMAs per cycle at each vector width and their latency, the int8 dot
 * instructions' rates, loads per cycle, and the cache sizes one core can
 * count on.  A rate is given per width (128, 256, 512 bits) because that
 * is where CPUs differ in ways that matter: Zen 4 runs a 512-bit FMA as
 * two 256-bit halves (one per cycle, the same FLOP/cycle as two 256-bit
 * FMAs), Sapphire Rapids and Zen 5 run two full 512-bit FMAs per cycle
 * (twice the FLOP/cycle of 256 bits).  Rows carry no judgement, only
 * rates; the rules below judge:
 *
 *   f32 vector width   the width with the most FLOP per cycle (rate x
 *                      lanes) among those the features allow; a tie goes
 *                      to the narrower width — a wider vector at the same
 *                      FLOP/cycle only halves the tile choices (on Zen 4,
 *                      512-bit f32 tiles measured no faster than 256-bit).
 *   int8 dot width     the width with the most lane-dots per cycle; a tie
 *                      goes to the wider — the int8 kernels keep one block
 *                      per lane, and a group of 16 blocks in one vector
 *                      does its per-group scale work once, not twice
 *                      (lower_qmatmul.c).  The instruction at a width is
 *                      the one the printers emit for it: vpdpbusd where
 *                      VNNI is, else vpmaddubsw + vpmaddwd (AVX2 ymm,
 *                      AVX-512BW zmm); sdot, else smull + sadalp.
 *
 * Where the numbers come from (each row cites): Intel's and AMD's
 * optimization manuals and uops.info-style measurements as summarized in
 * public articles; LLVM's own scheduling models, read with
 * `llvm-mca-19 -mcpu=CPU -instruction-info` (named "LLVM model" below) —
 * used where no better public figure was at hand, since some of those
 * models are known to be coarse (LLVM's Zen 4 model gives vpdpbusd one
 * per two cycles; the machine measured one zmm per cycle); Arm's Software
 * Optimization Guides for the Arm cores; and measurements on the machines
 * this project runs on ("measured here", bench/peak.c or a dependent /
 * independent chain of the one instruction).  Cache sizes are the common
 * configurations (an L2 or L3 shared by a cluster counts as one core's
 * share).  A 0 in a row means "not known": the architecture's default row
 * answers, and the number's source says "default:ARCH".
 *
 * The host's caches: /sys/devices/system/cpu/cpu0/cache/index*
 * ({level,type,size,shared_cpu_list}) give each level's size and which
 * CPUs share it; a share per core is the size times the threads per core
 * (CPUs sharing L1d) over the CPUs sharing that cache.  Without sysfs an
 * x86 host asks CPUID (leaf 4 on Intel, 0x8000001D on AMD: the same
 * ways x partitions x line x sets and sharing count); without either,
 * the table's (or the default's) sizes stand.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "machine.h"

/* ------------------------------------------------------------ the table */

typedef struct CpuRow {
	const char *name;
	TargetArch arch;
	unsigned feat;      /* TF_*: what --cpu NAME implies (target.c) */
	float fma[3];       /* f32 FMAs per cycle at 128, 256, 512 bits (x86-64
	                       baseline: a multiply and an add) */
	float fma_lat;      /* cycles */
	float dot[3];       /* the native int8 dot per cycle: x86 vpdpbusd at
	                       128/256/512 bits; aarch64 sdot ([0]) */
	float dot_lat;
	float madd[3];      /* the fallback: x86 vpmaddubsw + vpmaddwd pairs per
	                       cycle at 128/256/512; aarch64 smull/sadalp
	                       sequences (one 4-lane dot) ([0]) */
	float mmla;         /* aarch64 smmla per cycle */
	float bf16[3];      /* vdpbf16ps at 128/256/512 / bfdot ([0]) per cycle */
	float loads[3];     /* vector loads per cycle at 128/256/512 bits */
	int l1d_kb, l2_kb;  /* per core */
	int l3_kb;          /* one core's share; -1: no L3 */
} CpuRow;

#define X86_V3 (TF_FMA | TF_AVX2)
#define X86_V4 (X86_V3 | TF_AVX512)
#define A64 (TF_NEON | TF_FMA)

/* The architecture defaults ("default:x86_64", "default:aarch64"): a CPU
 * the table does not know is assumed to be an ordinary recent core, and
 * where that is unsure, the cautious side — one 512-bit FMA per cycle (so
 * 256-bit vectors, as on client AVX-512 parts and Zen 4), a small L2. */
static const CpuRow default_x86 = {
	"x86_64", ARCH_X86_64, 0, {2, 2, 1}, 4, {2, 2, 1}, 5, {1, 1, 1}, 0, {1, 1, 1}, {2, 2, 1}, 32, 512, 2048,
};
static const CpuRow default_a64 = {
	"aarch64", ARCH_AARCH64, A64, {2, 0, 0}, 4, {2, 0, 0}, 3, {0.5f, 0, 0}, 1, {1, 0, 0}, {2, 0, 0}, 32, 256, 1024,
};

static const CpuRow cpus[] = {
	/* x86-64 ISA levels are not CPUs: their numbers are those common to the
	 * CPUs that have the level; caches from the default row. */
	{"x86-64", ARCH_X86_64, 0, {2}, 4, {0}, 0, {0}, 0, {0}, {2}, 0, 0, 0},
	{"x86-64-v2", ARCH_X86_64, 0, {2}, 4, {0}, 0, {0}, 0, {0}, {2}, 0, 0, 0},
	{"x86-64-v3", ARCH_X86_64, X86_V3, {2, 2}, 4, {0}, 0, {1, 1}, 0, {0}, {2, 2}, 0, 0, 0},
	{"x86-64-v4", ARCH_X86_64, X86_V4, {2, 2, 1}, 4, {0}, 0, {1, 1, 1}, 0, {0}, {2, 2, 1}, 0, 0, 0},
	/* Haswell, Broadwell: FMA latency 5, two per cycle (ports 0 and 1);
	 * vpmaddubsw and vpmaddwd both on port 0 only: a pair every 2 cycles.
	 * 32 KiB L1d, 256 KiB L2, ~2 MiB L3 per core (Intel optimization manual). */
	{"haswell", ARCH_X86_64, X86_V3, {2, 2}, 5, {0}, 0, {0.5f, 0.5f}, 0, {0}, {2, 2}, 32, 256, 2048},
	{"broadwell", ARCH_X86_64, X86_V3, {2, 2}, 5, {0}, 0, {0.5f, 0.5f}, 0, {0}, {2, 2}, 32, 256, 2048},
	/* Skylake client: FMA latency 4, two per cycle; the integer multiplies on
	 * ports 0 and 1: one pair per cycle. */
	{"skylake", ARCH_X86_64, X86_V3, {2, 2}, 4, {0}, 0, {1, 1}, 0, {0}, {2, 2}, 32, 256, 2048},
	/* Alder Lake / Raptor Lake P-cores (AVX-512 fused off): AVX-VNNI ymm on
	 * ports 0 and 1 (LLVM model: 2 per cycle, latency 5), 3 loads per cycle,
	 * 48 KiB L1d, 1.25 / 2 MiB L2; L3 30 / 36 MiB over 16 / 24 cores. */
	{"alderlake", ARCH_X86_64, X86_V3 | TF_AVXVNNI, {2, 2}, 4, {2, 2}, 5, {1, 1}, 0, {0}, {3, 3}, 48, 1280, 1920},
	{"raptorlake", ARCH_X86_64, X86_V3 | TF_AVXVNNI, {2, 2}, 4, {2, 2}, 5, {1, 1}, 0, {0}, {3, 3}, 48, 2048, 1536},
	/* Skylake-SP / Cascade Lake: two 512-bit FMA units (Gold 6xxx and
	 * Platinum; Silver, Bronze and Gold 5xxx have one), latency 4; LLVM
	 * model: vpdpbusd zmm and ymm 2 per cycle, latency 5; 1 MiB L2,
	 * 1.375 MiB L3 per core. */
	{"skylake-avx512", ARCH_X86_64, X86_V4, {2, 2, 2}, 4, {0}, 0, {1, 1, 1}, 0, {0}, {2, 2, 2}, 32, 1024, 1408},
	{"cascadelake", ARCH_X86_64, X86_V4 | TF_AVX512VNNI, {2, 2, 2}, 4, {2, 2, 2}, 5, {1, 1, 1}, 0, {0}, {2, 2, 2},
	 32, 1024, 1408},
	{"cooperlake", ARCH_X86_64, X86_V4 | TF_AVX512VNNI | TF_AVX512BF16, {2, 2, 2}, 4, {2, 2, 2}, 5, {1, 1, 1}, 0,
	 {0}, {2, 2, 2}, 32, 1024, 1408},
	/* Ice Lake client: one 512-bit FMA unit (ports 0+1 fused) — the same
	 * FLOP/cycle as two 256-bit FMAs — and zmm integer multiplies there
	 * too; 48 KiB L1d, 512 KiB L2. */
	{"icelake-client", ARCH_X86_64, X86_V4 | TF_AVX512VNNI, {2, 2, 1}, 4, {2, 2, 1}, 5, {1, 1, 0.5f}, 0, {0},
	 {2, 2, 2}, 48, 512, 2048},
	/* Ice Lake server: a second 512-bit FMA on port 5 (Gold 6xxx, Platinum);
	 * LLVM model: vpdpbusd zmm 2 per cycle; 48 KiB L1d, 1.25 MiB L2,
	 * 1.5 MiB L3 per core. */
	{"icelake-server", ARCH_X86_64, X86_V4 | TF_AVX512VNNI, {2, 2, 2}, 4, {2, 2, 2}, 5, {1, 1, 1}, 0, {0},
	 {2, 2, 2}, 48, 1280, 1536},
	/* Sapphire Rapids (and its successors, the same core family): measured
	 * here (2 vCPUs of a Xeon at ~2.8 GHz, independent chains of one
	 * instruction): vfmadd231ps zmm and ymm 2 per cycle, latency 4;
	 * vpdpbusd zmm and ymm 2 per cycle, latency 6 (zmm) / 5 (ymm).  LLVM
	 * model: vdpbf16ps one per 2 cycles; 3 loads per cycle, 2 of 512 bits.
	 * 48 KiB L1d, 2 MiB L2; L3 per core: 112.5 MiB / 60 (SPR), 320 / 64
	 * (EMR), 504 / 128 (GNR). */
	{"sapphirerapids", ARCH_X86_64, X86_V4 | TF_AVX512VNNI | TF_AVX512BF16 | TF_AVXVNNI, {2, 2, 2}, 4, {2, 2, 2},
	 6, {1, 1, 1}, 0, {0.5f, 0.5f, 0.5f}, {3, 3, 2}, 48, 2048, 1920},
	{"emeraldrapids", ARCH_X86_64, X86_V4 | TF_AVX512VNNI | TF_AVX512BF16 | TF_AVXVNNI, {2, 2, 2}, 4, {2, 2, 2},
	 6, {1, 1, 1}, 0, {0.5f, 0.5f, 0.5f}, {3, 3, 2}, 48, 2048, 5120},
	{"graniterapids", ARCH_X86_64, X86_V4 | TF_AVX512VNNI | TF_AVX512BF16 | TF_AVXVNNI, {2, 2, 2}, 4, {2, 2, 2},
	 6, {1, 1, 1}, 0, {0.5f, 0.5f, 0.5f}, {3, 3, 2}, 48, 2048, 4032},
	/* Zen 1: 128-bit FP pipes, a 256-bit op takes two (one 256-bit FMA per
	 * cycle: the same FLOP/cycle as two 128-bit ones); Zen 2, Zen 3:
	 * 256-bit pipes, FMA latency 5 / 4; integer multiplies on one pipe
	 * (Zen 1, 2) or two (Zen 3).  512 KiB L2; L3 8 / 16 / 32 MiB per
	 * 4 / 4 / 8 cores (AMD software optimization guides). */
	{"znver1", ARCH_X86_64, X86_V3, {2, 1}, 5, {0}, 0, {0.5f, 0.25f}, 0, {0}, {2, 1}, 32, 512, 2048},
	{"znver2", ARCH_X86_64, X86_V3, {2, 2}, 5, {0}, 0, {0.5f, 0.5f}, 0, {0}, {2, 2}, 32, 512, 4096},
	{"znver3", ARCH_X86_64, X86_V3, {2, 2}, 4, {0}, 0, {1, 1}, 0, {0}, {3, 2}, 32, 512, 4096},
	/* Zen 4: four 256-bit pipes; a 512-bit op runs on two at once, so
	 * vfmadd231ps zmm is one per cycle (ymm two) — AMD's guide and the
	 * Zen 4 AVX-512 teardowns; measured on the earlier machine of this
	 * project: vpdpbusd zmm one per cycle (bench/peak.c, 233 G MAC/s at
	 * 3.6 GHz), f32 256-bit tiles 81-90% of the FMA peak, 512-bit ones no
	 * faster.  vpdpbusd ymm latency 4.  Two 256-bit loads per cycle (one
	 * 512-bit).  32 KiB L1d, 1 MiB L2, 32 MiB L3 per 8 cores. */
	{"znver4", ARCH_X86_64, X86_V4 | TF_AVX512VNNI | TF_AVX512BF16, {2, 2, 1}, 4, {2, 2, 1}, 4, {1, 1, 0.5f}, 0,
	 {0}, {3, 2, 1}, 32, 1024, 4096},
	/* Zen 5 (desktop and server; the mobile parts keep Zen 4's 256-bit
	 * datapath): full 512-bit pipes, two FMAs per cycle at 512 bits;
	 * measured on the earlier machine of this project (bench/peak.c, issue
	 * 12): 426 GFLOP/s f32 and 1702 G int8 op/s on 2 cores — two zmm FMAs
	 * and two zmm vpdpbusd per cycle.  Four loads per cycle, two of 512
	 * bits.  48 KiB L1d, 1 MiB L2, 32 MiB L3 per 8 cores. */
	{"znver5", ARCH_X86_64, X86_V4 | TF_AVX512VNNI | TF_AVX512BF16 | TF_AVXVNNI, {2, 2, 2}, 4, {2, 2, 2}, 4,
	 {1, 1, 1}, 0, {0}, {4, 4, 2}, 48, 1024, 4096},

	/* aarch64: 128-bit NEON everywhere here, 32 registers. */
	{"generic", ARCH_AARCH64, A64, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	/* Cortex-A53: in order, one 128-bit FMLA per cycle (LLVM model:
	 * latency 10, its accumulate chain), one load per cycle (a 128-bit
	 * load does not dual-issue with FMLA); no sdot: the 4-lane dot is 4
	 * NEON instructions.  32 KiB L1d; L2 typically 512 KiB per 4 cores, no
	 * L3. */
	{"cortex-a53", ARCH_AARCH64, A64, {1}, 10, {0}, 0, {0.25f}, 0, {0}, {1}, 32, 128, -1},
	{"cortex-a57", ARCH_AARCH64, A64, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	/* Cortex-A72: LLVM model (the A57's): FMLA .4s latency 10, one per cycle. */
	{"cortex-a72", ARCH_AARCH64, A64, {1}, 10, {0}, 0, {0.5f}, 0, {0}, {1}, 32, 512, -1},
	{"cortex-a73", ARCH_AARCH64, A64, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	/* Cortex-A55 (Arm's optimization guide): FMLA and sdot on 128 bits,
	 * latency 4, one per cycle; one load per cycle. */
	{"cortex-a55", ARCH_AARCH64, A64 | TF_DOTPROD, {1}, 4, {1}, 4, {0.25f}, 0, {0}, {1}, 32, 128, 0},
	{"cortex-a75", ARCH_AARCH64, A64 | TF_DOTPROD, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	/* Cortex-A76 / A78 / Neoverse N1 (Arm's optimization guides, LLVM's N1
	 * model): two 128-bit pipes, FMLA latency 4, sdot latency 2, two of
	 * each per cycle, two loads per cycle; 64 KiB L1d. */
	{"cortex-a76", ARCH_AARCH64, A64 | TF_DOTPROD, {2}, 4, {2}, 2, {0.5f}, 0, {0}, {2}, 64, 512, 1024},
	{"cortex-a77", ARCH_AARCH64, A64 | TF_DOTPROD, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	{"cortex-a78", ARCH_AARCH64, A64 | TF_DOTPROD, {2}, 4, {2}, 2, {0.5f}, 0, {0}, {2}, 64, 512, 1024},
	/* Cortex-X1: four 128-bit pipes. */
	{"cortex-x1", ARCH_AARCH64, A64 | TF_DOTPROD, {4}, 4, {4}, 2, {1}, 0, {0}, {2}, 64, 1024, 1024},
	{"neoverse-n1", ARCH_AARCH64, A64 | TF_DOTPROD, {2}, 4, {2}, 2, {0.5f}, 0, {0}, {2}, 64, 1024, 1024},
	/* Neoverse N2 (LLVM model): FMLA 4 / 2 per cycle, sdot and smmla 3 / 2,
	 * bfdot 4 / 2, three loads per cycle; 64 KiB L1d, 1 MiB L2. */
	{"neoverse-n2", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {2}, 4, {2}, 3, {0.5f}, 2, {2}, {3}, 64,
	 1024, 1024},
	/* Neoverse V1 / V2 (LLVM models, written by Arm): four 128-bit pipes:
	 * FMLA latency 4, sdot 2 (V1) / 3 (V2), smmla and bfdot 4 per cycle;
	 * three loads per cycle; 64 KiB L1d, 1 MiB L2. */
	{"neoverse-v1", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {4}, 4, {4}, 2, {1}, 4, {4}, {3}, 64,
	 1024, 1024},
	{"neoverse-v2", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {4}, 4, {4}, 3, {1}, 4, {4}, {3}, 64,
	 1024, 1600},
	{"cortex-a510", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	{"cortex-a710", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	{"cortex-x2", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {0}, 0, {0}, 0, {0}, 0, {0}, {0}, 0, 0, 0},
	/* Apple M1 / M2 performance cores (public microbenchmarks of Firestorm
	 * / Avalanche): four 128-bit FMLA per cycle, latency 4; 128 KiB L1d;
	 * 12 / 16 MiB L2 shared by 4 cores; no L3 (a system cache). */
	{"apple-m1", ARCH_AARCH64, A64 | TF_DOTPROD, {4}, 4, {4}, 3, {1}, 0, {0}, {3}, 128, 3072, -1},
	{"apple-m2", ARCH_AARCH64, A64 | TF_DOTPROD | TF_BF16 | TF_I8MM, {4}, 4, {4}, 3, {1}, 0, {0}, {3}, 128, 4096,
	 -1},
};

static const CpuRow *find_row(const char *name, TargetArch arch)
{
	for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++)
		if (cpus[i].arch == arch && !strcmp(cpus[i].name, name))
			return &cpus[i];
	return NULL;
}

int machine_cpu_features(const char *name, TargetArch arch, unsigned *bits)
{
	const CpuRow *r = find_row(name, arch);
	if (!r)
		return -1;
	*bits = r->feat;
	return 0;
}

/* ------------------------------------------------------------ rows */

/* A row's number if it has one (> 0), else the default row's. */
static MachineFact pick(const CpuRow *r, float rv, float dv)
{
	MachineFact f;
	if (r && rv > 0) {
		f.v = rv;
		f.src = MS_TABLE;
	} else {
		f.v = dv;
		f.src = MS_DEFAULT;
	}
	return f;
}

#define PICK(field) pick(r, r ? r->field : 0, d->field)

static MachineFact fact(double v, MachineSource s)
{
	MachineFact f = {v, s};
	return f;
}

/* log2(bits / 128): 0, 1, 2 */
static int width_index(int bits) { return bits >= 512 ? 2 : bits >= 256 ? 1 : 0; }

/* ------------------------------------------------------------ the ISA's choices */

/* The f32 width: most FLOP/cycle, ties to the narrower. */
static void choose_fma(Machine *m, const CpuRow *r, const CpuRow *d)
{
	int top = width_index((int)m->max_vector_bits.v);
	int best = 0;
	double best_flops = -1;
	MachineFact rate[3];
	for (int w = 0; w <= top; w++) {
		rate[w] = PICK(fma[w]);
		double flops = rate[w].v * (4 << w) * 2;
		if (flops > best_flops) {
			best_flops = flops;
			best = w;
		}
	}
	m->vector_bits = fact(128 << best, rate[best].src);
	m->fma_per_cycle = rate[best];
	/* the runner-up for the explanation: the next width up, else down */
	int other = best < top ? best + 1 : best - 1;
	if (other >= 0) {
		m->fma_narrow_bits = 128 << other;
		m->fma_narrow_flops = rate[other].v * (4 << other) * 2;
	}
	m->fma_latency = PICK(fma_lat);
}

/* The x86 int8 instruction at width index w (-1 if none there) and its
 * rate. */
static Int8Dot x86_i8_at(const Machine *m, int w)
{
	unsigned f = m->feat;
	if (w == 2)
		return f & TF_AVX512VNNI ? I8_VPDPBUSD : f & TF_AVX512 ? I8_MADD : (Int8Dot)-1;
	if (f & (TF_AVX512VNNI | TF_AVXVNNI))
		return I8_VPDPBUSD;
	if (f & TF_AVX2)
		return I8_MADD;
	return w == 0 ? I8_PORTABLE : (Int8Dot)-1;
}

/* The int8 dot: most lane-dots per cycle, ties to the wider. */
static void choose_i8(Machine *m, const CpuRow *r, const CpuRow *d)
{
	if (m->arch == ARCH_AARCH64) {
		m->i8_bits = fact(128, MS_FEATURES);
		if (m->feat & TF_DOTPROD) {
			m->i8 = I8_SDOT;
			m->i8_per_cycle = PICK(dot[0]);
			m->i8_latency = PICK(dot_lat);
		} else {
			m->i8 = I8_NEON;
			m->i8_per_cycle = PICK(madd[0]);
			/* the chain is the sadalp into the accumulator */
			m->i8_latency = fact(4, MS_DEFAULT);
		}
		m->i8mm_per_cycle = m->feat & TF_I8MM ? PICK(mmla) : fact(0, MS_FEATURES);
		return;
	}
	int top = width_index((int)m->max_vector_bits.v);
	double best_rate = -1, lanes[3] = {-1, -1, -1};
	int best = 0;
	for (int w = 0; w <= top; w++) {
		Int8Dot k = x86_i8_at(m, w);
		if ((int)k < 0)
			continue;
		MachineFact rate = k == I8_VPDPBUSD ? PICK(dot[w]) : k == I8_MADD ? PICK(madd[w])
		                 : fact(0.25, MS_DEFAULT);
		lanes[w] = rate.v * (4 << w);
		if (lanes[w] >= best_rate) {
			best_rate = lanes[w];
			best = w;
			m->i8 = k;
			m->i8_bits = fact(128 << w, rate.src);
			m->i8_per_cycle = rate;
		}
	}
	/* the runner-up for the explanation: the width below, else above */
	int other = best > 0 && lanes[best - 1] >= 0 ? best - 1 : best < 2 && lanes[best + 1] >= 0 ? best + 1 : -1;
	if (other >= 0) {
		m->i8_other_bits = 128 << other;
		m->i8_other_lanes = lanes[other];
	}
	if (m->i8 == I8_VPDPBUSD)
		m->i8_latency = PICK(dot_lat);
	else   /* the multiplies are off the chain: one vpaddd (or scalar add) per step */
		m->i8_latency = fact(1, MS_FEATURES);
	m->i8mm_per_cycle = fact(0, MS_FEATURES);
}

static void choose_bf16(Machine *m, const CpuRow *r, const CpuRow *d)
{
	m->bf16 = BF_NONE;
	m->bf16_bits = fact(0, MS_FEATURES);
	m->bf16_per_cycle = fact(0, MS_FEATURES);
	if (m->arch == ARCH_X86_64 && (m->feat & TF_AVX512BF16)) {
		int w = width_index((int)m->vector_bits.v);
		w = w < 1 ? 1 : w;   /* the printers use it on 8 and 16 lanes */
		m->bf16 = BF_VDPBF16PS;
		m->bf16_bits = fact(128 << w, MS_FEATURES);
		m->bf16_per_cycle = PICK(bf16[w]);
	} else if (m->arch == ARCH_AARCH64 && (m->feat & TF_BF16)) {
		m->bf16 = BF_BFDOT;
		m->bf16_bits = fact(128, MS_FEATURES);
		m->bf16_per_cycle = PICK(bf16[0]);
	}
}

/* ------------------------------------------------------------ host caches */

/* CPUs in a sysfs cpu list "0-3,8-11" (0 on a parse error). */
static int count_cpu_list(const char *s)
{
	int n = 0;
	while (*s && *s != '\n') {
		char *e;
		long a = strtol(s, &e, 10);
		if (e == s || a < 0)
			return 0;
		long b = a;
		s = e;
		if (*s == '-') {
			b = strtol(s + 1, &e, 10);
			if (e == s + 1 || b < a)
				return 0;
			s = e;
		}
		n += (int)(b - a + 1);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return 0;
	}
	return n;
}

/* The first line of root/devices/system/cpu/cpu0/cache/index<i>/<name>. */
static int read_cache_attr(const char *root, int i, const char *name, char *buf, size_t n)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/devices/system/cpu/cpu0/cache/index%d/%s", root, i, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fgets(buf, (int)n, f) != NULL;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* "48K", "2048K", "260M", "1G" or plain bytes -> bytes (-1 on error). */
static double parse_size(const char *s)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s || v < 0)
		return -1;
	switch (toupper((unsigned char)*e)) {
	case 0:
		return v;
	case 'K':
		return v * 1024;
	case 'M':
		return v * 1048576;
	case 'G':
		return v * 1073741824.0;
	default:
		return -1;
	}
}

typedef struct CacheLevels {
	double size[4];     /* bytes of L1d, L2, L3 ([1..3]) */
	int shared[4];      /* CPUs sharing it */
	int found;
} CacheLevels;

static void read_sysfs(const char *root, CacheLevels *c)
{
	memset(c, 0, sizeof *c);
	for (int i = 0; i < 16; i++) {
		char level[32], type[32], size[64], list[1024];
		if (read_cache_attr(root, i, "level", level, sizeof level)
		    || read_cache_attr(root, i, "type", type, sizeof type)
		    || read_cache_attr(root, i, "size", size, sizeof size))
			continue;
		int lv = atoi(level);
		if (lv < 1 || lv > 3 || !strcmp(type, "Instruction"))
			continue;
		double bytes = parse_size(size);
		if (bytes <= 0)
			continue;
		int sh = read_cache_attr(root, i, "shared_cpu_list", list, sizeof list) ? 1 : count_cpu_list(list);
		c->size[lv] = bytes;
		c->shared[lv] = sh > 0 ? sh : 1;
		c->found = 1;
	}
}

#if defined(__x86_64__) || defined(__i386__)
static void read_cpuid(CacheLevels *c)
{
	memset(c, 0, sizeof *c);
	unsigned a, b, cx, dx;
	if (!__get_cpuid(0, &a, &b, &cx, &dx))
		return;
	unsigned max_leaf = a;
	char vendor[13];
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &dx, 4);
	memcpy(vendor + 8, &cx, 4);
	vendor[12] = 0;
	unsigned leaf = 0;
	if (!strcmp(vendor, "GenuineIntel") && max_leaf >= 4)
		leaf = 4;
	else if (!strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine")) {
		/* TOPOEXT (0x80000001 ECX bit 22) gives leaf 0x8000001D */
		if (__get_cpuid(0x80000001, &a, &b, &cx, &dx) && (cx & (1u << 22)))
			leaf = 0x8000001D;
	}
	if (!leaf)
		return;
	for (unsigned i = 0; i < 16; i++) {
		__cpuid_count(leaf, i, a, b, cx, dx);
		unsigned type = a & 31;
		if (type == 0)
			break;
		if (type == 2)   /* instruction cache */
			continue;
		int lv = (int)((a >> 5) & 7);
		if (lv < 1 || lv > 3)
			continue;
		double ways = ((b >> 22) & 0x3FF) + 1, parts = ((b >> 12) & 0x3FF) + 1, line = (b & 0xFFF) + 1;
		double sets = (double)cx + 1;
		c->size[lv] = ways * parts * line * sets;
		c->shared[lv] = (int)((a >> 14) & 0xFFF) + 1;
		c->found = 1;
	}
}
#endif

/* One core's share of each level found: size x threads per core / CPUs
 * sharing it. */
static void apply_caches(Machine *m, const CacheLevels *c, MachineSource src)
{
	int tpc = c->shared[1] > 0 ? c->shared[1] : 1;
	MachineFact *dst[4] = {NULL, &m->l1d, &m->l2, &m->l3};
	for (int lv = 1; lv <= 3; lv++) {
		if (c->size[lv] <= 0)
			continue;
		int sh = c->shared[lv] > 0 ? c->shared[lv] : 1;
		double share = lv == 1 ? c->size[lv] : c->size[lv] * tpc / (sh > tpc ? sh : tpc);
		*dst[lv] = fact(floor(share), src);
	}
	/* a host with an L2 but no L3 reported: it has none */
	if (c->size[2] > 0 && c->size[3] <= 0)
		m->l3 = fact(0, src);
}

/* ------------------------------------------------------------ derive */

void machine_derive(Machine *m, const Target *t, const char *sysfs_root)
{
	memset(m, 0, sizeof *m);
	m->arch = t->arch;
	m->feat = t->feat;
	m->host = t->cpu_is_host;
	snprintf(m->cpu, sizeof m->cpu, "%s", t->cpu);
	const CpuRow *r = find_row(t->cpu, t->arch);
	const CpuRow *d = t->arch == ARCH_AARCH64 ? &default_a64 : &default_x86;
	if (r)
		snprintf(m->row, sizeof m->row, "%s", r->name);
	m->max_vector_bits = fact(t->max_vector_bits, MS_FEATURES);
	m->vector_regs = fact(t->vector_regs, MS_FEATURES);
	choose_fma(m, r, d);
	choose_i8(m, r, d);
	choose_bf16(m, r, d);
	m->loads_per_cycle = PICK(loads[width_index((int)m->vector_bits.v)]);
	m->l1d = pick(r, r ? (float)r->l1d_kb : 0, (float)d->l1d_kb);
	m->l2 = pick(r, r ? (float)r->l2_kb : 0, (float)d->l2_kb);
	m->l3 = r && r->l3_kb < 0 ? fact(0, MS_TABLE) : pick(r, r ? (float)r->l3_kb : 0, (float)d->l3_kb);
	m->l1d.v *= 1024;
	m->l2.v *= 1024;
	m->l3.v *= 1024;
	if (!m->host)
		return;
	CacheLevels c;
	read_sysfs(sysfs_root ? sysfs_root : "/sys", &c);
	if (c.found) {
		apply_caches(m, &c, MS_SYSFS);
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	if (m->arch == ARCH_X86_64) {
		read_cpuid(&c);
		if (c.found)
			apply_caches(m, &c, MS_CPUID);
	}
#endif
}

/* ------------------------------------------------------------ printing */

const char *machine_source(const Machine *m, MachineSource s, char *buf, size_t n)
{
	switch (s) {
	case MS_TABLE:
		snprintf(buf, n, "table:%s", m->row);
		break;
	case MS_FEATURES:
		snprintf(buf, n, "features");
		break;
	case MS_SYSFS:
		snprintf(buf, n, "sysfs");
		break;
	case MS_CPUID:
		snprintf(buf, n, "cpuid");
		break;
	case MS_DEFAULT:
		snprintf(buf, n, "default:%s", m->arch == ARCH_AARCH64 ? "aarch64" : "x86_64");
		break;
	}
	return buf;
}

const char *machine_i8_name(const Machine *m, char *buf, size_t n)
{
	int bits = (int)m->i8_bits.v;
	const char *reg = bits >= 512 ? "zmm" : bits >= 256 ? "ymm" : "xmm";
	switch (m->i8) {
	case I8_VPDPBUSD:
		snprintf(buf, n, "vpdpbusd %s", reg);
		break;
	case I8_MADD:
		snprintf(buf, n, "vpmaddubsw+vpmaddwd %s", reg);
		break;
	case I8_SDOT:
		snprintf(buf, n, "sdot");
		break;
	case I8_NEON:
		snprintf(buf, n, "smull+sadalp");
		break;
	case I8_PORTABLE:
		snprintf(buf, n, "portable (widening multiplies)");
		break;
	}
	return buf;
}

/* 48 KiB, 2 MiB, 1.25 MiB, none */
static const char *size_text(double bytes, char *buf, size_t n)
{
	if (bytes <= 0)
		snprintf(buf, n, "none");
	else if (bytes >= 1048576)
		snprintf(buf, n, "%g MiB", bytes / 1048576);
	else
		snprintf(buf, n, "%g KiB", bytes / 1024);
	return buf;
}

static void line(const Machine *m, FILE *out, const char *indent, const char *name, const char *value,
                 MachineSource src)
{
	char s[64];
	fprintf(out, "%s%-22s %-34s %s\n", indent, name, value, machine_source(m, src, s, sizeof s));
}

void machine_print(const Machine *m, FILE *out, const char *indent)
{
	char v[128], w[64];
	snprintf(v, sizeof v, "%d bits (%d f32 lanes)", (int)m->vector_bits.v, (int)m->vector_bits.v / 32);
	line(m, out, indent, "f32 vector width", v, m->vector_bits.src);
	snprintf(v, sizeof v, "%d bits", (int)m->max_vector_bits.v);
	line(m, out, indent, "widest vector", v, m->max_vector_bits.src);
	snprintf(v, sizeof v, "%d", (int)m->vector_regs.v);
	line(m, out, indent, "vector registers", v, m->vector_regs.src);
	snprintf(v, sizeof v, "%g cycle%s", m->fma_latency.v, m->fma_latency.v == 1 ? "" : "s");
	line(m, out, indent, "FMA latency", v, m->fma_latency.src);
	snprintf(v, sizeof v, "%g per cycle at %d bits", m->fma_per_cycle.v, (int)m->vector_bits.v);
	line(m, out, indent, "FMA throughput", v, m->fma_per_cycle.src);
	snprintf(v, sizeof v, "%s (%d lanes)", machine_i8_name(m, w, sizeof w), (int)m->i8_bits.v / 32);
	line(m, out, indent, "int8 dot", v, m->i8_bits.src);
	snprintf(v, sizeof v, "%g per cycle", m->i8_per_cycle.v);
	line(m, out, indent, "int8 dot throughput", v, m->i8_per_cycle.src);
	snprintf(v, sizeof v, "%g cycle%s", m->i8_latency.v, m->i8_latency.v == 1 ? "" : "s");
	line(m, out, indent, "int8 dot latency", v, m->i8_latency.src);
	if (m->arch == ARCH_AARCH64) {
		if (m->i8mm_per_cycle.v > 0)
			snprintf(v, sizeof v, "smmla, %g per cycle (unused yet)", m->i8mm_per_cycle.v);
		else
			snprintf(v, sizeof v, "none");
		line(m, out, indent, "int8 matrix multiply", v, m->i8mm_per_cycle.src);
	}
	if (m->bf16 == BF_NONE)
		snprintf(v, sizeof v, "none");
	else
		snprintf(v, sizeof v, "%s%s, %g per cycle", m->bf16 == BF_BFDOT ? "bfdot" : "vdpbf16ps",
		         m->bf16 == BF_BFDOT ? "" : (int)m->bf16_bits.v >= 512 ? " zmm" : " ymm", m->bf16_per_cycle.v);
	line(m, out, indent, "bf16 dot", v, m->bf16_per_cycle.src);
	snprintf(v, sizeof v, "%g per cycle at %d bits", m->loads_per_cycle.v, (int)m->vector_bits.v);
	line(m, out, indent, "vector loads", v, m->loads_per_cycle.src);
	line(m, out, indent, "L1d per core", size_text(m->l1d.v, v, sizeof v), m->l1d.src);
	line(m, out, indent, "L2 per core", size_text(m->l2.v, v, sizeof v), m->l2.src);
	line(m, out, indent, "L3 share per core", size_text(m->l3.v, v, sizeof v), m->l3.src);
}
