/*
 * test_machine.c — the machine model (codegen/machine.h) and the tiles
 * derived from it (codegen/plan.c: codegen_plan).
 *
 *   test_machine TMPDIR
 *
 * Named CPUs give the widths and tiles their rates call for: znver4 keeps
 * the 256-bit vectors and the f32 tile tuned there (6x4; int8: 4 rows x 3
 * panel vectors, 16 lanes), znver5 and sapphirerapids get 512-bit vectors,
 * x86-64-v3 256 bits with 16 registers (6x2, int8 2x2), cortex-a53 128 bits without sdot,
 * neoverse-v1 sdot, i8mm and bfdot.  --features change the model
 * (-avx512f: 256 bits, 16 registers, the ymm dot), a schedule overrides
 * the derived tiles, and the host's caches come from a sysfs tree the test
 * writes (and a missing one is no error).  The tiling text — part of the
 * build cache key — differs when the derived tiles do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "codegen.h"
#include "machine.h"
#include "schedule.h"

typedef struct Named {
	const char *triple, *cpu, *features;
	int bits, regs, vw, fm_mr, fm_nr, q_mr, q_nr, q_lanes;
	Int8Dot i8;
} Named;

static const Named named[] = {
	/* today's constants, tuned on Zen 4, come out of the model */
	{"x86_64-linux-gnu", "znver4", NULL, 256, 32, 8, 6, 4, 4, 3, 16, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "znver5", NULL, 512, 32, 16, 5, 5, 4, 3, 16, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "sapphirerapids", NULL, 512, 32, 16, 5, 5, 4, 3, 16, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "cascadelake", NULL, 512, 32, 16, 5, 5, 4, 3, 16, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "icelake-server", NULL, 512, 32, 16, 5, 5, 4, 3, 16, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "icelake-client", NULL, 256, 32, 8, 6, 4, 4, 3, 16, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "x86-64-v4", NULL, 256, 32, 8, 6, 4, 3, 3, 16, I8_MADD},
	{"x86_64-linux-gnu", "x86-64-v3", NULL, 256, 16, 8, 6, 2, 2, 2, 8, I8_MADD},
	{"x86_64-linux-gnu", "alderlake", NULL, 256, 16, 8, 6, 2, 7, 1, 8, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "x86-64", NULL, 128, 16, 4, 2, 4, 3, 2, 4, I8_PORTABLE},
	/* --features: AVX-512 off leaves AVX2 (and SPR's AVX-VNNI) */
	{"x86_64-linux-gnu", "sapphirerapids", "-avx512f", 256, 16, 8, 6, 2, 7, 1, 8, I8_VPDPBUSD},
	{"x86_64-linux-gnu", "znver4", "-avx512f", 256, 16, 8, 6, 2, 2, 2, 8, I8_MADD},
	{"x86_64-linux-gnu", "x86-64-v3", "+avxvnni", 256, 16, 8, 6, 2, 7, 1, 8, I8_VPDPBUSD},
	{"aarch64-linux-gnu", "cortex-a53", NULL, 128, 32, 4, 6, 4, 4, 3, 4, I8_NEON},
	{"aarch64-linux-gnu", "cortex-a76", NULL, 128, 32, 4, 6, 4, 4, 3, 4, I8_SDOT},
	{"aarch64-linux-gnu", "neoverse-v1", NULL, 128, 32, 4, 6, 4, 4, 3, 4, I8_SDOT},
	{"aarch64-linux-gnu", "cortex-a76", "-dotprod", 128, 32, 4, 6, 4, 4, 3, 4, I8_NEON},
};
#define N_NAMED (int)(sizeof named / sizeof named[0])

static void resolve(Target *t, Machine *m, const char *triple, const char *cpu, const char *features,
                    const char *sysfs)
{
	LfmError err = {{0}};
	CHECK_OR_DIE(target_resolve(t, triple, cpu, features, &err) == 0);
	machine_derive(m, t, sysfs);
}

static void test_named(void)
{
	char label[160];
	for (int i = 0; i < N_NAMED; i++) {
		const Named *c = &named[i];
		snprintf(label, sizeof label, "%s%s%s", c->cpu, c->features ? " " : "", c->features ? c->features : "");
		check_case = label;
		Target t;
		Machine m;
		resolve(&t, &m, c->triple, c->cpu, c->features, NULL);
		CHECK_INT((int)m.vector_bits.v, c->bits);
		CHECK_INT((int)m.vector_regs.v, c->regs);
		CHECK_INT((int)m.i8, (int)c->i8);
		CHECK(!m.host, "a named CPU is not the host");
		Tiling s;
		LfmError err = {{0}};
		CHECK_OR_DIE(codegen_plan(NULL, NULL, &m, &s, &err) == 0);
		CHECK_INT(s.vw, c->vw);
		CHECK_INT(s.fm_mr, c->fm_mr);
		CHECK_INT(s.fm_nr, c->fm_nr);
		CHECK_INT(s.q_mr, c->q_mr);
		CHECK_INT(s.q_nr, c->q_nr);
		CHECK_INT(s.q_lanes, c->q_lanes);
		/* every f32 tile fits the registers as lower_gemm.c counts them */
		CHECK(s.fm_mr * s.fm_nr + s.fm_nr + 1 <= c->regs, "%dx%d in %d registers", s.fm_mr, s.fm_nr, c->regs);
		/* every int8 tile fits them as lower_qmatmul.c's panel tile counts
		 * them: i32 and f32 sums (and i16 ones for vpmaddubsw), the weight
		 * vectors, a broadcast */
		CHECK((2 + (c->i8 == I8_MADD)) * s.q_mr * s.q_nr + s.q_nr + 1 <= c->regs, "int8 %dx%d in %d registers",
		      s.q_mr, s.q_nr, c->regs);
		/* decode: one panel of 16 rows, in column-vectors of q_lanes rows */
		CHECK_INT(s.q_decode_rows, 16 / c->q_lanes);
		CHECK_INT(s.prefetch, 4096);
		CHECK_INT(s.fm_gku, 2);
	}
	check_case = NULL;
}

/* The Zen 4 blocks as tuned there, and the sources of the numbers. */
static void test_znver4_details(void)
{
	Target t;
	Machine m;
	resolve(&t, &m, "x86_64-linux-gnu", "znver4", NULL, NULL);
	Tiling s;
	LfmError err = {{0}};
	CHECK_OR_DIE(codegen_plan(NULL, NULL, &m, &s, &err) == 0);
	CHECK_INT(s.fm_kc, 256);
	CHECK_INT(s.fm_block, 65536);
	CHECK_INT(s.q_block_floats, 32768);
	CHECK_INT(s.fm_ku, 1);
	CHECK_INT(s.fm_nb, 0);
	CHECK_INT(s.attn_block, 64);
	char src[64];
	CHECK(!strcmp(machine_source(&m, m.vector_bits.src, src, sizeof src), "table:znver4"), "%s", src);
	CHECK(!strcmp(machine_source(&m, m.vector_regs.src, src, sizeof src), "features"), "%s", src);
	CHECK(!strcmp(machine_source(&m, m.l2.src, src, sizeof src), "table:znver4"), "%s", src);
	CHECK(m.l1d.v == 32768 && m.l2.v == 1048576, "L1d %g L2 %g", m.l1d.v, m.l2.v);
	CHECK(m.fma_per_cycle.v == 2 && m.fma_latency.v == 4, "FMA %g/cycle, latency %g", m.fma_per_cycle.v,
	      m.fma_latency.v);
	CHECK_INT((int)m.i8_bits.v, 512);

	/* neoverse-v1: sdot, i8mm, bfdot */
	resolve(&t, &m, "aarch64-linux-gnu", "neoverse-v1", NULL, NULL);
	CHECK(m.i8mm_per_cycle.v > 0, "neoverse-v1 has smmla");
	CHECK_INT((int)m.bf16, (int)BF_BFDOT);
	/* cortex-a53: no sdot, no i8mm, no bf16 */
	resolve(&t, &m, "aarch64-linux-gnu", "cortex-a53", NULL, NULL);
	CHECK(m.i8mm_per_cycle.v == 0);
	CHECK_INT((int)m.bf16, (int)BF_NONE);
	char name[64];
	CHECK_CONTAINS(machine_i8_name(&m, name, sizeof name), "smull");
	/* a CPU LLVM knows and the table does not: the default row, the
	 * baseline features (+avx2,+fma widen them) */
	resolve(&t, &m, "x86_64-linux-gnu", "core2", NULL, NULL);
	CHECK(!strcmp(machine_source(&m, m.fma_latency.src, src, sizeof src), "default:x86_64"), "%s", src);
	CHECK_INT((int)m.vector_bits.v, 128);
	resolve(&t, &m, "x86_64-linux-gnu", "core2", "+avx2,+fma", NULL);
	CHECK_INT((int)m.vector_bits.v, 256);
}

/* A schedule's keys win over the derived tiles; a refused one fails. */
static void test_schedule(void)
{
	Target t;
	Machine m;
	resolve(&t, &m, "x86_64-linux-gnu", "sapphirerapids", NULL, NULL);
	static const char text[] = "{\"version\": 1, \"vector_width\": 8, \"tiles\": {\"matmul\": {\"mr\": 4, "
	                           "\"kc\": 128}, \"float\": {\"nr\": 2}, \"int8\": {\"lanes\": 8}}}";
	Schedule sc;
	LfmError err = {{0}};
	CHECK_OR_DIE(schedule_parse(text, strlen(text), "s.json", &sc, &err) == 0);
	Tiling s;
	CHECK_OR_DIE(codegen_plan(&sc, "s.json", &m, &s, &err) == 0);
	CHECK_INT(s.vw, 8);
	CHECK_INT(s.fm_mr, 4);
	CHECK_INT(s.q_mr, 4);
	CHECK_INT(s.fm_kc, 128);
	CHECK_INT(s.fm_nr, 2);
	CHECK_INT(s.q_lanes, 8);
	CHECK_INT(s.q_nr, 3);   /* not given: derived */
	schedule_free(&sc);
	static const char bad[] = "{\"version\": 1, \"tiles\": {\"matmul\": {\"mr\": 9}}}";
	CHECK_OR_DIE(schedule_parse(bad, strlen(bad), "b.json", &sc, &err) == 0);
	CHECK(codegen_plan(&sc, "b.json", &m, &s, &err) != 0, "mr 9 is refused");
	CHECK_CONTAINS(err.msg, "b.json: key 'tiles.matmul.mr'");
	schedule_free(&sc);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* root/devices/system/cpu/cpu0/cache/index<i>/ with the four files */
static int fake_cache(const char *root, int i, const char *level, const char *type, const char *size,
                      const char *shared)
{
	static const char *const parts[] = {"devices", "system", "cpu", "cpu0", "cache"};
	char dir[1024], path[1200];
	snprintf(dir, sizeof dir, "%s", root);
	mkdir(dir, 0755);
	for (int k = 0; k < 5; k++) {
		size_t n = strlen(dir);
		snprintf(dir + n, sizeof dir - n, "/%s", parts[k]);
		mkdir(dir, 0755);
	}
	size_t n = strlen(dir);
	snprintf(dir + n, sizeof dir - n, "/index%d", i);
	mkdir(dir, 0755);
	const char *names[] = {"level", "type", "size", "shared_cpu_list"};
	const char *vals[] = {level, type, size, shared};
	for (int k = 0; k < 4; k++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[k]);
		if (write_file(path, vals[k]))
			return -1;
	}
	return 0;
}

/* The host's caches from a sysfs tree; none is no error. */
static void test_host(const char *tmp)
{
	char root[1024];
	snprintf(root, sizeof root, "%s/sysfs", tmp);
	/* SMT 2: L1d and L2 shared by 2 CPUs, L3 by 16 (8 cores) */
	CHECK_OR_DIE(fake_cache(root, 0, "1\n", "Data\n", "48K\n", "0,8\n") == 0);
	CHECK_OR_DIE(fake_cache(root, 1, "1\n", "Instruction\n", "32K\n", "0,8\n") == 0);
	CHECK_OR_DIE(fake_cache(root, 2, "2\n", "Unified\n", "1280K\n", "0,8\n") == 0);
	CHECK_OR_DIE(fake_cache(root, 3, "3\n", "Unified\n", "32M\n", "0-7,8-15\n") == 0);
	Target t;
	Machine m;
	resolve(&t, &m, NULL, NULL, NULL, root);
	CHECK(m.host, "the default target is the host");
	char src[64];
	CHECK(!strcmp(machine_source(&m, m.l1d.src, src, sizeof src), "sysfs"), "%s", src);
	CHECK(m.l1d.v == 48 * 1024, "L1d %g", m.l1d.v);
	CHECK(m.l2.v == 1280 * 1024, "L2 %g", m.l2.v);
	CHECK(m.l3.v == 4 * 1048576, "L3 share %g", m.l3.v);
	Tiling a, b;
	LfmError err = {{0}};
	CHECK_OR_DIE(codegen_plan(NULL, NULL, &m, &a, &err) == 0);
	CHECK_INT(a.fm_block, 1280 * 1024 / 16);

	/* a different L2: other blocks, another tiling text (cache key) */
	CHECK_OR_DIE(fake_cache(root, 2, "2\n", "Unified\n", "512K\n", "0,8\n") == 0);
	Machine m2;
	machine_derive(&m2, &t, root);
	CHECK_OR_DIE(codegen_plan(NULL, NULL, &m2, &b, &err) == 0);
	char ka[1024], kb[1024];
	tiling_key_text(&a, ka, sizeof ka);
	tiling_key_text(&b, kb, sizeof kb);
	CHECK(strcmp(ka, kb) != 0, "the tiling text follows the L2: '%s'", kb);
	CHECK_CONTAINS(ka, "fm_block 81920");

	/* a named CPU never reads the host's caches */
	Target tz;
	resolve(&tz, &m, "x86_64-linux-gnu", "znver4", NULL, root);
	CHECK(m.l2.v == 1048576, "znver4's L2 stays the table's: %g", m.l2.v);

	/* no sysfs at all: cpuid (x86) or the table; nothing fails */
	snprintf(root, sizeof root, "%s/no-such-dir", tmp);
	machine_derive(&m, &t, root);
	CHECK(m.l1d.v > 0 && m.l2.v > 0, "L1d %g L2 %g without sysfs", m.l1d.v, m.l2.v);
	machine_source(&m, m.l1d.src, src, sizeof src);
	CHECK(strcmp(src, "sysfs") != 0, "no sysfs, yet source %s", src);
	CHECK_OR_DIE(codegen_plan(NULL, NULL, &m, &a, &err) == 0);
	CHECK(a.vw >= 4 && a.fm_kc >= 64, "vw %d kc %d", a.vw, a.fm_kc);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_machine TMPDIR\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	test_named();
	test_znver4_details();
	test_schedule();
	test_host(argv[1]);
	return check_finish("test_machine");
}
