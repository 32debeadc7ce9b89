/*
 * target.c — resolving --target / --cpu / --features into a Target.
 *
 * LLVM is the authority on names: the triple must select one of its
 * targets, and the CPU and features must be ones it knows.  The C API has
 * no query for that, but LLVM reports an unknown CPU or feature on stderr
 * ("'foo' is not a recognized processor for this target") while it builds
 * the target machine; so we build one with stderr sent to a temporary file
 * and turn any such report into one clear error line.
 *
 * What a CPU implies (FMA, the widest vectors, dot-product instructions)
 * the C API cannot tell us either, except for the host, whose full feature
 * list LLVM gives.  For named CPUs the machine model's table (machine.c)
 * covers the x86 presets (x86-64, x86-64-v2/v3/v4) and common CPUs; any
 * other CPU LLVM accepts gets its architecture's baseline, adjusted by
 * --features.  These facts only steer the lowering's choices (which
 * intrinsics to use; the machine model picks the widths and tiles): LLVM
 * legalizes whatever it is given for the CPU it was told.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "machine.h"
#include "target.h"

/* ------------------------------------------------------------ features */

#define A64 (TF_NEON | TF_FMA)

/* LLVM feature names and the TF_* bits they give (+) or take away (-). */
static const struct {
	const char *name;
	TargetArch arch;
	unsigned bits;      /* set by "+name" */
	unsigned clears;    /* cleared by "-name" */
} feature_map[] = {
	{"fma", ARCH_X86_64, TF_FMA, TF_FMA},
	{"avx2", ARCH_X86_64, TF_AVX2, TF_AVX2 | TF_AVX512 | TF_AVXVNNI},
	{"avx", ARCH_X86_64, 0, TF_AVX2 | TF_AVX512 | TF_AVXVNNI | TF_FMA},
	{"avx512f", ARCH_X86_64, TF_AVX512 | TF_AVX2 | TF_FMA, TF_AVX512 | TF_AVX512VNNI | TF_AVX512BF16},
	{"evex512", ARCH_X86_64, 0, TF_AVX512 | TF_AVX512VNNI | TF_AVX512BF16},
	{"avx512vnni", ARCH_X86_64, TF_AVX512VNNI, TF_AVX512VNNI},
	{"avxvnni", ARCH_X86_64, TF_AVXVNNI, TF_AVXVNNI},
	{"avx512bf16", ARCH_X86_64, TF_AVX512BF16, TF_AVX512BF16},
	{"neon", ARCH_AARCH64, TF_NEON, TF_NEON | TF_DOTPROD | TF_BF16 | TF_I8MM},
	{"dotprod", ARCH_AARCH64, TF_DOTPROD, TF_DOTPROD},
	{"bf16", ARCH_AARCH64, TF_BF16, TF_BF16},
	{"i8mm", ARCH_AARCH64, TF_I8MM, TF_I8MM},
};

/* Applies a "+a,-b,..." list to *bits. */
static void apply_features(TargetArch arch, const char *list, unsigned *bits)
{
	const char *p = list;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n > 1 && (p[0] == '+' || p[0] == '-'))
			for (size_t i = 0; i < sizeof feature_map / sizeof feature_map[0]; i++)
				if (feature_map[i].arch == arch && strlen(feature_map[i].name) == n - 1
				    && !strncmp(feature_map[i].name, p + 1, n - 1)) {
					if (p[0] == '+')
						*bits |= feature_map[i].bits;
					else
						*bits &= ~feature_map[i].clears;
				}
		p += n;
		if (*p == ',')
			p++;
	}
	/* a zmm feature needs its base */
	if (!(*bits & TF_AVX512))
		*bits &= ~(unsigned)(TF_AVX512VNNI | TF_AVX512BF16);
	if (*bits & TF_AVX512)
		*bits |= TF_AVX2 | TF_FMA;
}

/* ------------------------------------------------------------ LLVM */

static void init_llvm_targets(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	LLVMInitializeX86TargetInfo();
	LLVMInitializeX86Target();
	LLVMInitializeX86TargetMC();
	LLVMInitializeX86AsmPrinter();
	LLVMInitializeAArch64TargetInfo();
	LLVMInitializeAArch64Target();
	LLVMInitializeAArch64TargetMC();
	LLVMInitializeAArch64AsmPrinter();
}

/* Builds a target machine for the triple/cpu/features with stderr
 * captured; copies the first complaint LLVM printed into msg (or ""). */
static int probe_names(LLVMTargetRef tgt, const Target *t, char *msg, size_t n)
{
	msg[0] = 0;
	FILE *cap = tmpfile();
	if (!cap)
		return -1;
	fflush(stderr);
	int saved = dup(2);
	if (saved < 0 || dup2(fileno(cap), 2) < 0) {
		if (saved >= 0)
			close(saved);
		fclose(cap);
		return -1;
	}
	LLVMTargetMachineRef tm = LLVMCreateTargetMachine(tgt, t->triple, t->cpu, t->features,
	                                                  LLVMCodeGenLevelDefault, LLVMRelocPIC,
	                                                  LLVMCodeModelDefault);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (tm)
		LLVMDisposeTargetMachine(tm);
	rewind(cap);
	if (!fgets(msg, (int)n, cap))
		msg[0] = 0;
	msg[strcspn(msg, "\n")] = 0;
	fclose(cap);
	return tm ? 0 : -1;
}

/* "'foo' is not a recognized processor for this target (ignoring processor)"
 * -> the quoted name; NULL if msg is not such a complaint. */
static const char *complaint_subject(const char *msg, const char *kind, char *buf, size_t n)
{
	if (!strstr(msg, kind) || msg[0] != '\'')
		return NULL;
	size_t len = strcspn(msg + 1, "'");
	snprintf(buf, n, "%.*s", (int)(len < n ? len : n - 1), msg + 1);
	return buf;
}

static int same_machine(const char *a, const char *b)
{
	/* compare arch and OS, ignoring the vendor: x86_64-pc-linux-gnu == x86_64-unknown-linux-gnu */
	const char *da = strchr(a, '-'), *db = strchr(b, '-');
	if (!da || !db || da - a != db - b || strncmp(a, b, (size_t)(da - a)))
		return 0;
	const char *oa = strchr(da + 1, '-'), *ob = strchr(db + 1, '-');
	return oa && ob && !strcmp(oa, ob);
}

/* ------------------------------------------------------------ resolve */

static int check_feature_syntax(const char *f, LfmError *err)
{
	const char *p = f;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n < 2 || (p[0] != '+' && p[0] != '-'))
			return lfm_error(err, NULL, "--features %s: each feature must be +name or -name, "
			                 "separated by commas", f);
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int target_resolve(Target *t, const char *triple, const char *cpu, const char *features,
                   LfmError *err)
{
	memset(t, 0, sizeof *t);
	init_llvm_targets();
	char *host_triple = LLVMGetDefaultTargetTriple();
	char *norm_host = LLVMNormalizeTargetTriple(host_triple);
	int want_host = !triple || !*triple || !strcmp(triple, "host") || !strcmp(triple, "native");
	char *norm = LLVMNormalizeTargetTriple(want_host ? host_triple : triple);
	snprintf(t->triple, sizeof t->triple, "%s", norm);
	t->host = same_machine(norm, norm_host);
	LLVMDisposeMessage(norm);
	LLVMDisposeMessage(norm_host);
	LLVMDisposeMessage(host_triple);

	if (!strncmp(t->triple, "x86_64-", 7))
		t->arch = ARCH_X86_64;
	else if (!strncmp(t->triple, "aarch64-", 8) || !strncmp(t->triple, "arm64-", 6))
		t->arch = ARCH_AARCH64;
	LLVMTargetRef tgt;
	char *msg = NULL;
	if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
		LLVMDisposeMessage(msg);
		return lfm_error(err, NULL, "--target %s: unknown target (lfm2c emits x86_64 and aarch64)",
		                 triple);
	}
	if (!t->arch)
		return lfm_error(err, NULL, "--target %s: unsupported architecture (lfm2c emits x86_64 "
		                 "and aarch64)", triple);

	int want_host_cpu = !cpu || !*cpu || !strcmp(cpu, "host") || !strcmp(cpu, "native");
	if (want_host_cpu && cpu && *cpu && !t->host)
		return lfm_error(err, NULL, "--cpu %s: only for the host target (%s is not this machine)",
		                 cpu, t->triple);
	if (features && *features && check_feature_syntax(features, err))
		return -1;
	snprintf(t->user_features, sizeof t->user_features, "%s", features ? features : "");

	unsigned bits = 0;
	if (want_host_cpu && t->host) {
		char *name = LLVMGetHostCPUName(), *feats = LLVMGetHostCPUFeatures();
		snprintf(t->cpu, sizeof t->cpu, "%s", name);
		snprintf(t->features, sizeof t->features, "%s%s%s", feats, *t->user_features ? "," : "",
		         t->user_features);
		LLVMDisposeMessage(name);
		LLVMDisposeMessage(feats);
		t->cpu_is_host = 1;
		bits = t->arch == ARCH_AARCH64 ? A64 : 0;
		apply_features(t->arch, t->features, &bits);
	} else {
		const char *def = t->arch == ARCH_X86_64 ? "x86-64" : "generic";
		snprintf(t->cpu, sizeof t->cpu, "%s", want_host_cpu ? def : cpu);
		snprintf(t->features, sizeof t->features, "%s", t->user_features);
		if (machine_cpu_features(t->cpu, t->arch, &bits))
			bits = t->arch == ARCH_AARCH64 ? A64 : 0;
		apply_features(t->arch, t->features, &bits);
	}
	t->feat = bits;

	char said[512], name[128];
	if (probe_names(tgt, t, said, sizeof said))
		return lfm_error(err, NULL, "--target %s: LLVM cannot build a target machine for it", t->triple);
	if (complaint_subject(said, "not a recognized processor", name, sizeof name))
		return lfm_error(err, NULL, "--cpu %s: not a CPU LLVM knows for %s", name, t->triple);
	if (complaint_subject(said, "not a recognized feature", name, sizeof name))
		return lfm_error(err, NULL, "--features: '%s' is not a feature LLVM knows for %s", name,
		                 t->triple);
	if (said[0])
		return lfm_error(err, NULL, "target %s, cpu %s: %s", t->triple, t->cpu, said);

	/* what the ISA has; how wide the code's vectors are is the machine
	 * model's choice (machine.c) */
	if (t->arch == ARCH_X86_64) {
		t->max_vector_bits = bits & TF_AVX512 ? 512 : bits & TF_AVX2 ? 256 : 128;
		t->vector_regs = bits & TF_AVX512 ? 32 : 16;
	} else {
		t->max_vector_bits = 128;
		t->vector_regs = 32;
	}
	return 0;
}

void target_describe(const Target *t, char *buf, size_t n)
{
	snprintf(buf, n, "%s,%s%s%s", t->triple, t->cpu, *t->user_features ? "," : "", t->user_features);
}

void target_feature_summary(const Target *t, char *buf, size_t n)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{TF_FMA, "fma"}, {TF_AVX2, "avx2"}, {TF_AVX512, "avx512"}, {TF_AVX512VNNI, "avx512vnni"},
		{TF_AVXVNNI, "avxvnni"}, {TF_AVX512BF16, "avx512bf16"}, {TF_NEON, "neon"},
		{TF_DOTPROD, "dotprod"}, {TF_BF16, "bf16"}, {TF_I8MM, "i8mm"},
	};
	size_t j = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0] && j < n; i++)
		if (t->feat & names[i].bit)
			j += (size_t)snprintf(buf + j, n - j, "%s%s", j ? "," : "", names[i].name);
	if (!j)
		snprintf(buf, n, "baseline");
}

/* --features for GCC: x86 "+avx2" -> -mavx2; aarch64 appended to -mcpu. */
int target_cc_flags(const Target *t, char flags[][256], int max)
{
	int k = 0;
	if (t->arch == ARCH_X86_64) {
		snprintf(flags[k++], 256, "-march=%s", t->cpu_is_host ? "native" : t->cpu);
		const char *p = t->user_features;
		while (*p && k < max) {
			size_t n = strcspn(p, ",");
			snprintf(flags[k++], 256, "-m%s%.*s", p[0] == '-' ? "no-" : "", (int)n - 1, p + 1);
			p += n;
			if (*p == ',')
				p++;
		}
		return k;
	}
	char mods[200] = "";
	size_t j = 0;
	const char *p = t->user_features;
	while (*p) {
		size_t n = strcspn(p, ",");
		j += (size_t)snprintf(mods + j, sizeof mods - j, "+%s%.*s", p[0] == '-' ? "no" : "",
		                      (int)n - 1, p + 1);
		p += n;
		if (*p == ',')
			p++;
		if (j >= sizeof mods)
			break;
	}
	if (t->cpu_is_host)
		snprintf(flags[k++], 256, "-mcpu=native%s", mods);
	else if (!strcmp(t->cpu, "generic"))
		snprintf(flags[k++], 256, "-march=armv8-a%s", mods);
	else
		snprintf(flags[k++], 256, "-mcpu=%.50s%s", t->cpu, mods);
	return k;
}

void target_default_cc(const Target *t, char *buf, size_t n)
{
	if (t->host)
		snprintf(buf, n, "cc");
	else
		snprintf(buf, n, "%s-linux-gnu-gcc", t->arch == ARCH_X86_64 ? "x86_64" : "aarch64");
}
