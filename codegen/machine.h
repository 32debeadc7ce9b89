/*
 * machine.h — the machine model: what one CPU can do per cycle, and how
 * much cache it has, as the tile choices need it.
 *
 * A Target (target.h) says which instructions exist; a Machine says how
 * fast they are: the vector width at which the FMA units run at full rate,
 * the register file, FMA latency and throughput, the int8 dot instruction
 * the int8 kernels will use and its rate, the bf16 dot, loads per cycle,
 * and the L1d / L2 / L3 sizes one core can count on.  plan.c derives the
 * default Tiling from these numbers (codegen_plan), and `lfm2c explain`
 * prints them.
 *
 * Every number carries where it came from (MachineSource):
 *   table:CPU      machine.c's table of known CPUs, under LLVM's name
 *   features       what the ISA features alone decide (register count,
 *                  the widest vector, which dot instruction exists)
 *   sysfs          the host's /sys/devices/system/cpu/cpu0/cache
 *   cpuid          the host's CPUID cache leaves (x86, when sysfs is absent)
 *   default:ARCH   a CPU the table does not know: a conservative guess
 * A table row's rate at a width the features took away (--features
 * -avx512f) is not used; the rates at the widths left decide.
 *
 * The host: LLVM's host CPU name selects the table row, the host's
 * feature list (target.c) the instructions, and sysfs (else cpuid) the
 * cache sizes.  `sysfs_root` ("/sys" when NULL) is a parameter so tests
 * can point it at a fake tree or at nothing; only the driver reads the
 * LFM2C_SYSFS_ROOT environment variable that sets it.
 */
#ifndef LFM2C_MACHINE_H
#define LFM2C_MACHINE_H

#include <stdint.h>
#include <stdio.h>

#include "target.h"

typedef enum MachineSource {
	MS_TABLE = 0,     /* "table:<row>" */
	MS_FEATURES,      /* "features" */
	MS_SYSFS,         /* "sysfs" */
	MS_CPUID,         /* "cpuid" */
	MS_DEFAULT,       /* "default:<arch>" */
} MachineSource;

/* A number and where it came from. */
typedef struct MachineFact {
	double v;
	MachineSource src;
} MachineFact;

/* The int8 dot-product instruction (sequence) the int8 kernels run; its
 * lanes are i32 sums of 4 byte products each. */
typedef enum Int8Dot {
	I8_PORTABLE = 0,  /* no SIMD dot: the printers' portable widening expansion */
	I8_VPDPBUSD,      /* x86 avx512vnni (zmm, ymm) / avxvnni (ymm) */
	I8_MADD,          /* x86 vpmaddubsw + vpmaddwd + vpaddd (AVX2 ymm, AVX-512BW zmm) */
	I8_SDOT,          /* aarch64 +dotprod */
	I8_NEON,          /* aarch64 smull + smull2 + addp + sadalp */
} Int8Dot;

/* The bf16 dot product (2 products per f32 lane). */
typedef enum Bf16Dot { BF_NONE = 0, BF_VDPBF16PS, BF_BFDOT } Bf16Dot;

typedef struct Machine {
	TargetArch arch;
	char cpu[64];             /* LLVM's CPU name */
	char row[32];             /* the table row used, "" if none */
	int host;                 /* the host's caches were looked for */
	unsigned feat;            /* TF_* (target.h) */
	/* f32 FMA: the width with the most FLOP per cycle (ties: the
	 * narrower, since a split wide op buys nothing), and the rest at it */
	MachineFact vector_bits;      /* 128, 256 or 512 */
	MachineFact max_vector_bits;  /* the widest the ISA has */
	MachineFact vector_regs;      /* architectural vector registers */
	MachineFact fma_latency;      /* cycles from one FMA to the next on its accumulator */
	MachineFact fma_per_cycle;    /* at vector_bits */
	double fma_narrow_flops;      /* FLOP/cycle at the widest width that was not chosen (0: none) */
	int fma_narrow_bits;          /* ... that width (the wider one tied or lost) */
	/* int8 dot: the width with the most lane-dots per cycle (ties: the
	 * wider, so a group of 16 blocks is one vector) */
	Int8Dot i8;                   /* the instruction at that width */
	MachineFact i8_bits;          /* 128, 256 or 512 */
	MachineFact i8_per_cycle;     /* instructions (sequences) per cycle */
	MachineFact i8_latency;       /* cycles on the accumulator chain */
	MachineFact i8mm_per_cycle;   /* aarch64 smmla per cycle; 0: no i8mm (the kernels do not use it yet) */
	int i8_other_bits;            /* the next width that lost or tied (0: none) */
	double i8_other_lanes;        /* ... its lane-dots per cycle */
	Bf16Dot bf16;
	MachineFact bf16_bits;
	MachineFact bf16_per_cycle;   /* 0 with BF_NONE */
	MachineFact loads_per_cycle;  /* vector loads at vector_bits */
	MachineFact l1d;              /* bytes, per core */
	MachineFact l2;               /* bytes, per core (a shared L2's share) */
	MachineFact l3;               /* bytes, one core's share; 0: none */
} Machine;

/* Derives the model of t once.  On the host (t->cpu_is_host) the caches
 * come from sysfs under sysfs_root (NULL: "/sys"), else from cpuid, else
 * from the table; nothing there can fail. */
void machine_derive(Machine *m, const Target *t, const char *sysfs_root);

/* "table:znver4", "sysfs", "default:x86_64", ... (into buf). */
const char *machine_source(const Machine *m, MachineSource s, char *buf, size_t n);

/* "vpdpbusd zmm", "vpmaddubsw+vpmaddwd ymm", "sdot", ... (into buf). */
const char *machine_i8_name(const Machine *m, char *buf, size_t n);

/* The model as aligned "name value source" lines, each after `indent`. */
void machine_print(const Machine *m, FILE *out, const char *indent);

/* The feature bits a CPU of the table has (target.c's named CPUs): 0 and
 * *bits set if the table knows `name` for arch, -1 if not. */
int machine_cpu_features(const char *name, TargetArch arch, unsigned *bits);

#endif
