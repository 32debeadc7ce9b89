/*
 * plan.c — from the machine model to the tiles: codegen_plan and
 * `lfm2c explain`.
 *
 * The Tiling (codegen.h) of a compile is made here once: every field
 * derived from the Machine (machine.h) by a rule that says why, then every
 * tile key the schedule gives on top (tiling_from_schedule, always last).
 * The rules:
 *
 *   vw          f32 lanes of the machine's full-rate vector width.
 *   fm_mr x fm_nr   the float GEMM's register tile.  Candidates: NR a
 *               multiple of a panel's vectors (16 / vw), MR x NR
 *               accumulators + NR weight vectors + 1 broadcast within the
 *               vector registers.  Each is scored by the cycles of one K
 *               step: MR x NR FMAs at the machine's FMA rate, MR + NR
 *               loads at its load rate, and at least the FMA latency
 *               (each accumulator is updated once per step, so MR x NR >=
 *               latency x FMAs/cycle keeps the pipes busy).  The best
 *               efficiency wins, then the most FMAs per load (less traffic
 *               to L1 and L2), then more rows (the weights come from L2,
 *               the activations from L1: fewer weight vectors per step).
 *   q_mr x q_nr   the int8 tile: MR rows x NR column-vectors of a weight
 *               panel (lanes = output rows), the same way with the dot's
 *               rate and latency; its register rule is 2 x MR x NR + NR +
 *               1 <= registers (each output vector keeps an i32 dot sum
 *               and an f32 sum, plus the weight vectors and a broadcast;
 *               the vpmaddubsw form one more i16 sum per output vector).
 *   fm_kc       K block: the row tile's MR x KC activations in a quarter
 *               of L1d (the weight vectors stream through the rest), a
 *               power of two.
 *   fm_block    the float weight block kept in L2 while every row tile
 *               passes over it: a quarter of L2 in f32 weights.
 *   q_block_floats   the int8 weight block: an eighth of L2 (its rows are
 *               whole K: each row tile's quantized activation rows and the
 *               next block's lines share the rest).
 *   q_lanes     i32 lanes of the int8 dot at the machine's int8 width.
 * The L1/L2 fractions are the ones measured best on Zen 4 (32 KiB L1d,
 * 1 MiB L2: KC 256, blocks of 256 and 128 KiB; 128..512 and other blocks
 * within +-3% there), so the Zen 4 tiles come out as they were tuned; the
 * decode choices (one weight row at a time, the prefetch distance) are
 * measurements, not derived, and say so.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codegen.h"
#include "machine.h"
#include "pack.h"
#include "schedule.h"


/* ------------------------------------------------------------ fields */

/* The Tiling's fields, for the explanation, the override report and the
 * cache key. */
static const struct {
	const char *name;
	size_t offset;
} fields[] = {
#define F(x) {#x, offsetof(Tiling, x)}
	F(vw), F(q_mr), F(q_nr), F(q_block_floats), F(q_lanes), F(q_decode_rows), F(q_split_k), F(q_sequential),
	F(fm_mr), F(fm_nr), F(fm_ku), F(fm_kc), F(fm_nb), F(fm_block), F(fm_gnr), F(fm_gku), F(prefetch),
	F(attn_block), F(par_min_flops),
#undef F
};
#define N_FIELDS (int)(sizeof fields / sizeof fields[0])

static int field(const Tiling *t, int i) { return *(const int *)((const char *)t + fields[i].offset); }

const char *tiling_key_text(const Tiling *t, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < N_FIELDS && at < n; i++)
		at += (size_t)snprintf(buf + at, n - at, "%s%s %d", i ? " " : "", fields[i].name, field(t, i));
	return buf;
}

/* ------------------------------------------------------------ reasons */

/* One line per derived choice: what was chosen ("fm_mr 6 x fm_nr 4") and
 * why. */
#define PLAN_LINES 16
typedef struct PlanWhy {
	int n;
	char what[PLAN_LINES][40];
	char why[PLAN_LINES][240];
} PlanWhy;

static void say(PlanWhy *w, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(PlanWhy *w, const char *what, const char *fmt, ...)
{
	if (!w || w->n >= PLAN_LINES)
		return;
	snprintf(w->what[w->n], sizeof w->what[0], "%s", what);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->why[w->n], sizeof w->why[0], fmt, ap);
	va_end(ap);
	w->n++;
}

/* ------------------------------------------------------------ register tiles */

typedef struct Tile {
	int mr, nr;
	double eff;         /* work cycles / step cycles */
	double per_load;    /* operations per load */
} Tile;

/* One K step of an mr x nr tile: mr*nr operations at `rate` per cycle,
 * mr + nr loads at `loads` per cycle, never shorter than `lat` (each
 * accumulator once per step). */
static Tile score(int mr, int nr, double rate, double loads, double lat)
{
	Tile t = {mr, nr, 0, 0};
	double work = mr * nr / rate, ld = (mr + nr) / loads;
	double step = fmax(work, fmax(ld, lat));
	t.eff = work / step;
	t.per_load = (double)(mr * nr) / (mr + nr);
	return t;
}

static int better(Tile a, Tile b)
{
	if (fabs(a.eff - b.eff) > 1e-9)
		return a.eff > b.eff;
	if (fabs(a.per_load - b.per_load) > 1e-9)
		return a.per_load > b.per_load;
	return a.mr > b.mr;
}

/* The float GEMM tile for vw lanes (panels of PACK_PANEL columns). */
static Tile float_tile(const Machine *m, int vw, int *runner_mr, int *runner_nr)
{
	int regs = (int)m->vector_regs.v;
	int gvw = vw < PACK_PANEL ? vw : PACK_PANEL;
	int q = PACK_PANEL / (gvw > 0 ? gvw : 1);
	Tile best = {1, q, -1, 0}, second = best;
	for (int nr = q; nr <= TILE_MAX_FLOAT; nr += q)
		for (int mr = 1; mr <= TILE_MAX_FLOAT; mr++) {
			if (mr * nr + nr + 1 > regs)
				break;
			Tile t = score(mr, nr, m->fma_per_cycle.v, m->loads_per_cycle.v, m->fma_latency.v);
			if (better(t, best)) {
				second = best;
				best = t;
			} else if (better(t, second)) {
				second = t;
			}
		}
	*runner_mr = second.mr;
	*runner_nr = second.nr;
	return best;
}

/* Registers an MR x NR int8 tile holds: per output vector an i32 dot sum
 * and an f32 sum (and an i16 sum for the vpmaddubsw form), the NR weight
 * vectors of a step and one broadcast activation. */
static int int8_tile_regs(const Machine *m, int mr, int nr)
{
	return (2 + (m->i8 == I8_MADD)) * mr * nr + nr + 1;
}

/* The int8 tile: int8_tile_regs <= registers. */
static Tile int8_tile(const Machine *m)
{
	int regs = (int)m->vector_regs.v;
	Tile best = {1, 1, -1, 0};
	for (int nr = 1; nr <= TILE_MAX_INT8; nr++)
		for (int mr = 1; mr <= TILE_MAX_INT8; mr++) {
			if (int8_tile_regs(m, mr, nr) > regs)
				break;
			Tile t = score(mr, nr, m->i8_per_cycle.v > 0 ? m->i8_per_cycle.v : 1, m->loads_per_cycle.v,
			               m->i8_latency.v);
			if (better(t, best))
				best = t;
		}
	return best;
}

/* ------------------------------------------------------------ the defaults */

static int64_t floor_pow2(int64_t v)
{
	int64_t p = 1;
	while (p * 2 <= v)
		p *= 2;
	return p;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static const char *kib(double bytes, char *buf, size_t n)
{
	if (bytes >= 1048576)
		snprintf(buf, n, "%g MiB", bytes / 1048576);
	else
		snprintf(buf, n, "%g KiB", bytes / 1024);
	return buf;
}

static void machine_tiling(const Machine *m, Tiling *s, PlanWhy *w)
{
	char a[32], b[32], what[40];
	memset(s, 0, sizeof *s);
	int regs = (int)m->vector_regs.v;

	/* vector width */
	int bits = (int)m->vector_bits.v;
	s->vw = bits / 32;
	double flops = m->fma_per_cycle.v * s->vw * 2;
	snprintf(what, sizeof what, "vw %d", s->vw);
	if (m->fma_narrow_bits > bits)
		say(w, what, "f32 lanes of %d bits: %g FMA/cycle x %d lanes x 2 = %g FLOP/cycle; %d bits give %g%s", bits,
		    m->fma_per_cycle.v, s->vw, flops, m->fma_narrow_bits, m->fma_narrow_flops,
		    m->fma_narrow_flops >= flops ? " (a tie: the narrower)" : "");
	else if (m->fma_narrow_bits)
		say(w, what, "f32 lanes of %d bits: %g FMA/cycle x %d lanes x 2 = %g FLOP/cycle; %d bits give %g", bits,
		    m->fma_per_cycle.v, s->vw, flops, m->fma_narrow_bits, m->fma_narrow_flops);
	else
		say(w, what, "f32 lanes of %d bits, the widest vector: %g FMA/cycle x %d lanes x 2 = %g FLOP/cycle", bits,
		    m->fma_per_cycle.v, s->vw, flops);

	/* float GEMM register tile */
	int rmr, rnr;
	Tile ft = float_tile(m, s->vw, &rmr, &rnr);
	s->fm_mr = ft.mr;
	s->fm_nr = ft.nr;
	int need = (int)ceil(m->fma_latency.v * m->fma_per_cycle.v);
	snprintf(what, sizeof what, "fm_mr %d x fm_nr %d", ft.mr, ft.nr);
	say(w, what, "%d accumulators + %d + 1 = %d <= %d registers, %s %g cycle%s x %g FMA/cycle; %.2g FMAs per "
	    "load (next: %dx%d)", ft.mr * ft.nr, ft.nr, ft.mr * ft.nr + ft.nr + 1, regs,
	    ft.mr * ft.nr >= need ? ">=" : "< (latency-bound)", m->fma_latency.v, m->fma_latency.v == 1 ? "" : "s",
	    m->fma_per_cycle.v, ft.per_load, rmr, rnr);
	s->fm_ku = 1;
	say(w, "fm_ku 1", "K not unrolled: x2 measured within noise on Zen 4 (the tile already has independent chains)");

	/* K block: MR x KC activations in a quarter of L1d */
	int64_t kc = floor_pow2((int64_t)(m->l1d.v / 4) / (4 * ft.mr));
	s->fm_kc = (int)clamp64(kc, 64, 2048);
	snprintf(what, sizeof what, "fm_kc %d", s->fm_kc);
	say(w, what, "the row tile's %d x %d activations (%s) in a quarter of L1d (%s), a power of two", ft.mr,
	    s->fm_kc, kib(4.0 * ft.mr * s->fm_kc, a, sizeof a), kib(m->l1d.v, b, sizeof b));

	/* weight blocks */
	s->fm_nb = 0;
	int64_t blk = (int64_t)(m->l2.v / 4 / 4) / 1024 * 1024;
	s->fm_block = (int)clamp64(blk, 4096, 16777216);
	snprintf(what, sizeof what, "fm_block %d", s->fm_block);
	say(w, what, "f32 weights kept in L2 while the row tiles pass: %s, a quarter of L2 (%s); fm_nb 0: this block",
	    kib(4.0 * s->fm_block, a, sizeof a), kib(m->l2.v, b, sizeof b));
	s->fm_gnr = 0;
	s->fm_gku = 2;
	say(w, "fm_gnr 0, fm_gku 2", "decode GEMV: two panels streamed at once, two accumulators each (measured on "
	    "Zen 4: ~15%% over one panel, ~5%% over four)");

	/* int8 */
	s->q_lanes = (int)m->i8_bits.v / 32;
	char i8[64];
	machine_i8_name(m, i8, sizeof i8);
	snprintf(what, sizeof what, "q_lanes %d", s->q_lanes);
	double ld = m->i8_per_cycle.v * s->q_lanes;
	if (m->i8_other_bits)
		say(w, what, "%s: %g per cycle x %d lanes = %g lane-dots/cycle; %d bits give %g%s", i8, m->i8_per_cycle.v,
		    s->q_lanes, ld, m->i8_other_bits, m->i8_other_lanes,
		    m->i8_other_lanes >= ld ? " (a tie: the wider, one vector per group of 16 blocks)" : "");
	else
		say(w, what, "%s: %g per cycle x %d lanes = %g lane-dots/cycle, the only width", i8, m->i8_per_cycle.v,
		    s->q_lanes, ld);
	Tile it = int8_tile(m);
	s->q_mr = it.mr;
	s->q_nr = it.nr;
	int ineed = (int)ceil(m->i8_latency.v * m->i8_per_cycle.v);
	snprintf(what, sizeof what, "q_mr %d x q_nr %d", it.mr, it.nr);
	char i16s[32] = "";
	if (m->i8 == I8_MADD)
		snprintf(i16s, sizeof i16s, " + %d i16 sums", it.mr * it.nr);
	say(w, what, "rows x column-vectors of %d weight rows: %d i32 dot sums + %d f32 sums%s + %d + 1 = %d <= %d "
	    "registers, %s %g cycle%s x %g dots/cycle", s->q_lanes, it.mr * it.nr, it.mr * it.nr, i16s, it.nr,
	    int8_tile_regs(m, it.mr, it.nr),
	    regs, it.mr * it.nr >= ineed ? ">=" : "< (latency-bound)", m->i8_latency.v, m->i8_latency.v == 1 ? "" : "s",
	    m->i8_per_cycle.v);
	int64_t qblk = (int64_t)(m->l2.v / 8 / 4) / 1024 * 1024;
	s->q_block_floats = (int)clamp64(qblk, 1024, 16777216);
	snprintf(what, sizeof what, "q_block_floats %d", s->q_block_floats);
	say(w, what, "int8 weight block of %s, an eighth of L2 (%s): whole-K rows, the activation rows share it",
	    kib(4.0 * s->q_block_floats, a, sizeof a), kib(m->l2.v, b, sizeof b));
	/* Decode reads one panel at a time: a panel's blocks are one
	 * sequential run (544 bytes a block for q8_0), which the prefetchers
	 * follow; 1, 2 and 4 panels measured within the noise of each other at
	 * the read bandwidth (350M, Xeon sapphirerapids) */
	s->q_decode_rows = PACK_PANEL / s->q_lanes;
	s->q_split_k = 0;
	s->q_sequential = 1;
	snprintf(what, sizeof what, "q_decode_rows %d", s->q_decode_rows);
	say(w, what, "decode tiles: one panel of %d weight rows (%d column-vector%s), streamed in order (1, 2, 4 "
	    "panels within the noise at the read bandwidth)", PACK_PANEL, s->q_decode_rows,
	    s->q_decode_rows == 1 ? "" : "s");
	say(w, "q_split_k 0, q_sequential 1", "the plain rows after the last panel: two dot chains in tiles of <= 2 "
	    "dots, else one; a SwiGLU pair's rows one after the other");
	/* 350M decode, medians of 5 interleaved runs (Zen 4): q8_0 2 threads
	 * none 85, 4 KB 106, 8 KB 101 tok/s; 1 thread 54 / 62; q4_0 1 thread
	 * 99 / 109, 2 threads 141 / 135 (within the noise) */
	s->prefetch = 4096;
	say(w, "prefetch 4096", "int8 decode prefetches 4 KiB ahead (measured on Zen 4: q8_0 +15-25%%, q4_0 noise "
	    "to +10%%; the float GEMV is faster without)");
	s->attn_block = 64;
	say(w, "attn_block 64", "keys per online-softmax block");
	s->par_min_flops = 1 << 18;
	say(w, "par_min_flops 262144", "smaller kernels run on the calling thread");
}

/* ------------------------------------------------------------ the schedule */

/* Each tile key a schedule gives, as the code generator follows it (the
 * table of specs/formats.md); the ones it cannot follow are refused:
 *   vector_width          f32 lanes of every vector
 *   tiles.matmul.mr       rows of both matmuls' register tiles, at most 8
 *   tiles.matmul.nb       float weight rows per cache block (fm_nb)
 *   tiles.matmul.kc       K block of the float matmuls (fm_kc)
 *   tiles.matmul.prefetch bytes ahead the int8 GEMV prefetches
 *   unroll                K unroll of the float tiles, at most 4
 *   tiles.attention_block keys per online-softmax block, at most 1024 (a
 *                         stack array of that many floats per task)
 *   threads.split         "n" and "auto" (= n: output features are split);
 *                         "rows" is refused
 *   tiles.int8.*, tiles.float.*   the Tiling fields of codegen.h */
static int tiling_from_schedule(const Schedule *sc, const char *path, Tiling *s, LfmError *err)
{
	unsigned g = sc->given;
	const char *f = path ? path : "schedule";
	if (g & SCHED_GIVEN_VECTOR_WIDTH)
		s->vw = sc->vector_width;
	if (g & SCHED_GIVEN_MR) {
		if (sc->matmul_mr > TILE_MAX_INT8)
			return lfm_error(err, NULL, "%s: key 'tiles.matmul.mr': this code generator's matmul tiles have at "
			                 "most %d rows, got %d", f, TILE_MAX_INT8, sc->matmul_mr);
		s->q_mr = s->fm_mr = sc->matmul_mr;
	}
	if (g & SCHED_GIVEN_NB)
		s->fm_nb = sc->matmul_nb;
	if (g & SCHED_GIVEN_UNROLL) {
		if (sc->unroll > 4)
			return lfm_error(err, NULL, "%s: key 'unroll': this code generator unrolls the matmul's K loop at "
			                 "most 4 times, got %d", f, sc->unroll);
		s->fm_ku = s->fm_gku = sc->unroll;
	}
	if (g & SCHED_GIVEN_ATTENTION_BLOCK) {
		if (sc->attention_block > 1024)
			return lfm_error(err, NULL, "%s: key 'tiles.attention_block': at most 1024 keys per block, got %d", f,
			                 sc->attention_block);
		s->attn_block = sc->attention_block;
	}
	if (g & SCHED_GIVEN_KC)
		s->fm_kc = sc->matmul_kc;   /* the float matmuls' K block (the int8 ones keep whole rows) */
	if (g & SCHED_GIVEN_PREFETCH)
		s->prefetch = sc->matmul_prefetch;
	if ((g & SCHED_GIVEN_SPLIT) && sc->split == SPLIT_ROWS)
		return lfm_error(err, NULL, "%s: key 'threads.split': \"rows\" is not supported by this code generator "
		                 "(\"n\" or \"auto\")", f);
	if (g & SCHED_GIVEN_INT8_NR)
		s->q_nr = sc->int8_nr;
	if (g & SCHED_GIVEN_INT8_BLOCK)
		s->q_block_floats = sc->int8_block;
	if (g & SCHED_GIVEN_INT8_LANES)
		s->q_lanes = sc->int8_lanes;
	if (g & SCHED_GIVEN_INT8_DECODE_ROWS)
		s->q_decode_rows = sc->int8_decode_rows;
	if (g & SCHED_GIVEN_INT8_SPLIT_K)
		s->q_split_k = sc->int8_split_k;
	if (g & SCHED_GIVEN_INT8_SEQUENTIAL)
		s->q_sequential = sc->int8_sequential;
	if (g & SCHED_GIVEN_FLOAT_NR)
		s->fm_nr = sc->float_nr;
	if (g & SCHED_GIVEN_FLOAT_BLOCK)
		s->fm_block = sc->float_block;
	if (g & SCHED_GIVEN_FLOAT_DECODE_NR)
		s->fm_gnr = sc->float_decode_nr;
	return 0;
}

int codegen_plan(const Schedule *sc, const char *path, const Machine *m, Tiling *out, LfmError *err)
{
	machine_tiling(m, out, NULL);
	return sc ? tiling_from_schedule(sc, path, out, err) : 0;
}

/* ------------------------------------------------------------ explain */

/* "vw 16 -> 8, fm_mr 6 -> 4" of the fields that differ (into buf). */
static const char *diff_text(const Tiling *a, const Tiling *b, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < N_FIELDS && at < n; i++)
		if (field(a, i) != field(b, i))
			at += (size_t)snprintf(buf + at, n - at, "%s%s %d -> %d", at ? ", " : "", fields[i].name,
			                       field(a, i), field(b, i));
	if (!at)
		snprintf(buf, n, "no change");
	return buf;
}

/* The value of schedule key k as the file wrote it (a word for a string
 * key). */
static const char *key_value_text(const Schedule *s, int k, char *buf, size_t n)
{
	int v = schedule_key_value(s, k);
	const char *p = schedule_keys[k].choices;
	if (!*p) {
		snprintf(buf, n, "%d", v);
		return buf;
	}
	for (int i = 0; *p; i++) {
		size_t len = strcspn(p, " ");
		if (i == v) {
			snprintf(buf, n, "\"%.*s\"", (int)len, p);
			return buf;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	snprintf(buf, n, "%d", v);
	return buf;
}

int codegen_explain(const Schedule *sc, const char *path, const Target *t, const Machine *m, FILE *out,
                    LfmError *err)
{
	Tiling check;   /* a refused key fails before anything is printed */
	if (codegen_plan(sc, path, m, &check, err))
		return -1;
	char desc[400], feat[200];
	target_describe(t, desc, sizeof desc);
	target_feature_summary(t, feat, sizeof feat);
	fprintf(out, "target: %s (%s%s)\n", desc, feat, m->host ? "; this machine" : "");
	fprintf(out, "machine model:\n");
	machine_print(m, out, "  ");

	Tiling base;
	PlanWhy why;
	memset(&why, 0, sizeof why);
	machine_tiling(m, &base, &why);
	fprintf(out, "derived schedule:\n");
	for (int i = 0; i < why.n; i++)
		fprintf(out, "  %-28s %s\n", why.what[i], why.why[i]);

	Tiling final = base;
	if (!sc || !sc->given) {
		fprintf(out, "schedule overrides: none%s\n", !sc || !path ? "" : " (the schedule sets no tile key)");
	} else {
		fprintf(out, "schedule overrides (%s):\n", path ? path : "schedule");
		for (int k = 0; k < SCHED_N_KEYS; k++) {
			if (!(sc->given & schedule_keys[k].given))
				continue;
			/* this key alone on the derived tiles */
			Schedule one = *sc;
			one.given = schedule_keys[k].given;
			Tiling t1 = base;
			if (tiling_from_schedule(&one, path, &t1, err))
				return -1;
			char name[80], val[40], d[400];
			snprintf(name, sizeof name, "%s %s", schedule_keys[k].path, key_value_text(sc, k, val, sizeof val));
			fprintf(out, "  %-28s %s\n", name, diff_text(&base, &t1, d, sizeof d));
		}
		if (tiling_from_schedule(sc, path, &final, err))
			return -1;
	}
	char key[1024];
	fprintf(out, "tiling: %s\n", tiling_key_text(&final, key, sizeof key));
	return 0;
}
