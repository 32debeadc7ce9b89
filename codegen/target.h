/*
 * target.h — what machine the generated code is for.
 *
 * A Target is resolved once from --target / --cpu / --features: the LLVM
 * triple, CPU name and feature string (validated by asking LLVM to build a
 * target machine for them), and the few facts the lowering needs to make
 * its choices — the widest vectors, number of vector registers, and the
 * instruction-set features that select intrinsics (FMA, the int8 and bf16
 * dot products).  Both backends use the same Target.  How fast those
 * instructions are, and so how wide and how tiled the code is, is the
 * machine model's business (machine.h).
 */
#ifndef LFM2C_TARGET_H
#define LFM2C_TARGET_H

#include <stddef.h>

#include "frontend.h"

typedef enum TargetArch { ARCH_X86_64 = 1, ARCH_AARCH64 = 2 } TargetArch;

/* Instruction-set features the lowering can use. */
enum {
	TF_FMA = 1 << 0,          /* x86 fma (aarch64: always) */
	TF_AVX2 = 1 << 1,
	TF_AVX512 = 1 << 2,       /* avx512f + bw + vl, 512-bit registers usable */
	TF_AVX512VNNI = 1 << 3,   /* vpdpbusd on zmm */
	TF_AVXVNNI = 1 << 4,      /* vpdpbusd, VEX encoded (ymm) */
	TF_AVX512BF16 = 1 << 5,   /* vdpbf16ps */
	TF_NEON = 1 << 6,
	TF_DOTPROD = 1 << 7,      /* aarch64 sdot/udot */
	TF_BF16 = 1 << 8,         /* aarch64 bfdot */
	TF_I8MM = 1 << 9,         /* aarch64 usdot/smmla */
};

typedef struct Target {
	char triple[128];         /* normalized, e.g. x86_64-unknown-linux-gnu */
	char cpu[64];             /* LLVM CPU name, e.g. znver4, x86-64-v3, cortex-a76 */
	char features[4096];      /* LLVM feature string (host: the host's full list + user's) */
	char user_features[512];  /* --features as given ("" if none) */
	TargetArch arch;
	int host;                 /* the triple is the machine lfm2c runs on */
	int cpu_is_host;          /* --cpu host (or default on the host) */
	int max_vector_bits;      /* widest the target has (the width used: machine.h) */
	int vector_regs;          /* architectural vector registers: 16 or 32 */
	unsigned feat;            /* TF_* */
} Target;

/* Resolves triple/cpu/features (NULL or "host" = this machine).  Errors
 * are one line naming the option at fault, e.g.
 * "--cpu foo: not a CPU LLVM knows for x86_64-unknown-linux-gnu". */
int target_resolve(Target *t, const char *triple, const char *cpu, const char *features,
                   LfmError *err);

/* "x86_64-unknown-linux-gnu,znver4" plus ",+feat,..." when features were given. */
void target_describe(const Target *t, char *buf, size_t n);

/* "+fma,+avx2,..." summary of t->feat, for messages and the header. */
void target_feature_summary(const Target *t, char *buf, size_t n);

/* Flags for a GCC-compatible C compiler building for t: -march/-mcpu and
 * feature switches, written into argv-ready strings (at most max). */
int target_cc_flags(const Target *t, char flags[][256], int max);

/* The C compiler to use for t: "cc" on the host, else "<arch>-linux-gnu-gcc". */
void target_default_cc(const Target *t, char *buf, size_t n);

#endif
