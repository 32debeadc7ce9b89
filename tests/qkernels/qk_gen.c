/*
 * qk_gen.c — builds the block-format matmul kernels (codegen/lower_qmatmul.c)
 * for one target, plus their test data, for qk.sh and qk_harness.c.
 *
 *   qk_gen llvm|c|ir OUT_DIR TRIPLE CPU FEATURES [all|short [MR NR]]
 *
 * writes
 *   OUT_DIR/k.s (llvm) or k.c (c)   the kernels, one exported wrapper per case:
 *        void qk_case_I(float *y, int64_t ldy, const float *x, const void *w,
 *                       int64_t rows, uint8_t *qx, lfm2_pool *pool)
 *        (calls qmatmul_FMT_NxK through a `call` holding pool and qx), and
 *        void qd_case_I(float *y, const void *row)  (qdequant_FMT_K);
 *        (ir: the optimized LLVM IR, k.ll, for looking at);
 *   OUT_DIR/cases.h                 the wrappers' declarations, a table;
 *   OUT_DIR/data.bin                per case: inputs (x, packed weights,
 *        y's initial values) and what the kernel must produce, computed
 *        here independently: activations by quant_act_row laid out as the
 *        kernel's scratch rows, outputs by quant_dot_ref in double with the
 *        bound formats.h gives for a binary32 kernel, (K/32 + 4) 2^-24
 *        sum|terms|, widened through the epilogue (residual add, SwiGLU).
 *
 * Shapes cover every way a row of blocks ends (groups of 16, 8, 4, single
 * blocks: K = 32 .. 1568; 18 cases), column counts with and without leftovers of the
 * register tiles, strided outputs, and each epilogue; the harness runs each
 * case with 1, 3, 7 and 64 rows.  `short` keeps every third case (each
 * format, every row end, each epilogue still) for targets whose dot
 * product is a long portable expansion (slow to compile).  run() always goes through
 * lfm2_parallel_for here (par_min_flops 0) so the harness's split of the
 * column tiles and rows is exercised.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "machine.h"
#include "pack.h"
#include "formats.h"

#define ROWS 64

typedef struct Case {
	DType t;
	int64_t N, K;
	MatEpi epi;
	int64_t pad;   /* ldy = output width + pad */
} Case;

/* every third (`short`): q8_0 96 and 1024+acc, q4_0 192 and 992+swiglu,
 * q4_1 384 and 1024 — each format, every kind of row end, both epilogues */
static const Case cases[] = {
	{DT_Q8_0, 7, 96, EPI_STORE, 0},      /* 3 single blocks */
	{DT_Q8_0, 1, 256, EPI_STORE, 0},     /* a group of 8; one column */
	{DT_Q8_0, 100, 576, EPI_STORE, 3},   /* 16 + 2 singles; tile leftovers; strided y */
	{DT_Q8_0, 37, 1024, EPI_ACC, 5},     /* 2 x 16 */
	{DT_Q8_0, 70, 992, EPI_SWIGLU, 0},   /* 16 + 8 + 4 + 3 singles; 2 pair groups + 3 pairs */
	{DT_Q8_0, 64, 384, EPI_STORE, 0},    /* 8 + 4 */
	{DT_Q4_0, 13, 192, EPI_STORE, 1},    /* 4 + 2 singles */
	{DT_Q4_0, 8, 384, EPI_ACC, 0},
	{DT_Q4_0, 100, 512, EPI_STORE, 0},   /* one 16 */
	{DT_Q4_0, 30, 992, EPI_SWIGLU, 3},   /* no whole pair group: plain rows only */
	{DT_Q4_0, 9, 1568, EPI_STORE, 0},    /* 3 x 16 + 1 */
	{DT_Q4_0, 3, 96, EPI_STORE, 0},
	{DT_Q4_1, 64, 384, EPI_STORE, 0},
	{DT_Q4_1, 13, 192, EPI_ACC, 0},
	{DT_Q4_1, 1, 32, EPI_STORE, 0},      /* one block */
	{DT_Q4_1, 37, 1024, EPI_STORE, 1},
	{DT_Q4_1, 96, 992, EPI_SWIGLU, 0},   /* 3 pair groups */
	{DT_Q4_1, 100, 576, EPI_STORE, 0},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

/* row decoders: (format, K) */
static const struct { DType t; int64_t K; } dq[] = {
	{DT_Q8_0, 32}, {DT_Q8_0, 1568}, {DT_Q4_0, 192}, {DT_Q4_0, 992}, {DT_Q4_1, 576}, {DT_Q4_1, 1024},
};
#define N_DQ (int)(sizeof dq / sizeof dq[0])

static uint64_t rng = 0x243f6a8885a308d3ull;
static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static void die(const char *what)
{
	fprintf(stderr, "qk_gen: %s\n", what);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(n ? n : 1, 1);
	if (!p)
		die("out of memory");
	return p;
}

static void put(FILE *f, const void *p, size_t n)
{
	if (fwrite(p, 1, n, f) != n)
		die("cannot write data.bin");
}

static void put_i64(FILE *f, int64_t v) { put(f, &v, sizeof v); }

/* The kernel's scratch row for one activation row (lower_qmatmul.c):
 * groups as pack_group_blocks cuts them, each: codes (byte 4g*s + 4b + q
 * = element 4s+q of block b), then g f32 scales, then g i32 sums. */
static void scratch_row(const QuantActBlock *a, int64_t nb, uint8_t *out)
{
	for (int64_t b0 = 0; b0 < nb;) {
		int g = pack_group_blocks(nb - b0);
		uint8_t *G = out + b0 * 40;
		for (int b = 0; b < g; b++) {
			for (int j = 0; j < 32; j++)
				G[4 * g * (j / 4) + 4 * b + j % 4] = (uint8_t)a[b0 + b].q[j];
			memcpy(G + 32 * g + 4 * b, &a[b0 + b].d, 4);
			memcpy(G + 36 * g + 4 * b, &a[b0 + b].sum, 4);
		}
		b0 += g;
	}
}

static double silu(double a) { return a / (1.0 + exp(-a)); }

static void write_case(FILE *f, const Case *c)
{
	int64_t N = c->N, K = c->K, nb = K / 32;
	int64_t rowb = quant_bytes_per_row(c->t, K), qrow = (nb * 40 + 63) / 64 * 64;
	int64_t width = c->epi == EPI_SWIGLU ? N / 2 : N, ldy = width + c->pad;
	float *x = xmalloc((size_t)(ROWS * K) * 4), *wf = xmalloc((size_t)K * 4), *y0 = xmalloc((size_t)(ROWS * ldy) * 4);
	uint8_t *w = xmalloc((size_t)(N * rowb)), *plain = xmalloc((size_t)rowb), *qx = xmalloc((size_t)(ROWS * qrow));
	double *want = xmalloc((size_t)(ROWS * ldy) * 8), *bound = xmalloc((size_t)(ROWS * ldy) * 8);
	double *r = xmalloc((size_t)N * 8), *e = xmalloc((size_t)N * 8);
	QuantActBlock *a = xmalloc((size_t)nb * sizeof *a);
	uint8_t **wrow = xmalloc((size_t)N * sizeof *wrow);
	float *wall = xmalloc((size_t)(N * K) * 4);
	for (int64_t n = 0; n < N; n++) {
		double scale = n % 5 == 0 ? 0.01 : 1.0;   /* rows of different magnitudes */
		for (int64_t k = 0; k < K; k++)
			wf[k] = (float)((uniform() * 2 - 1) * scale + (n % 3 == 0 ? 0.3 * scale : 0));
		if (n == 2)   /* an all-zero block in one row */
			memset(wf, 0, 32 * sizeof *wf);
		memcpy(wall + n * K, wf, (size_t)K * 4);
		if (quant_quantize_row(c->t, wf, K, plain))
			die("quant_quantize_row");
		wrow[n] = xmalloc((size_t)rowb);
		memcpy(wrow[n], plain, (size_t)rowb);
	}
	/* stored as a graph's matmul weight is: panels (pairs for SwiGLU) */
	if (pack_rows(c->t, c->epi == EPI_SWIGLU ? PACK_PAIRS : PACK_PANELS, N, K, 0, N, wall, w))
		die("pack_rows");
	free(wall);
	for (int64_t t = 0; t < ROWS; t++) {
		for (int64_t k = 0; k < K; k++) {
			double u = uniform() * 2 - 1;
			/* some rows spiky, some tiny; exact ties .5 for the rounding */
			x[t * K + k] = (float)(t % 4 == 1 ? u * u * u * 8 : t % 4 == 2 ? u * 1e-3 : u);
		}
		if (t % 4 == 3)
			for (int64_t k = 0; k < 32 && k < K; k++)   /* x * 127/max hits .5 exactly */
				x[t * K + k] = k == 0 ? 127.0f : (float)(k % 7) + 0.5f;
		if (t == 5)
			memset(x + t * K, 0, 32 * sizeof *x);   /* an all-zero activation block */
		for (int64_t i = 0; i < ldy; i++)
			y0[t * ldy + i] = (float)(uniform() * 4 - 2);
		if (quant_act_row(x + t * K, K, a))
			die("quant_act_row");
		scratch_row(a, nb, qx + t * qrow);
		for (int64_t n = 0; n < N; n++) {
			double abs_terms;
			if (quant_dot_ref(c->t, wrow[n], a, K, &r[n], &abs_terms))
				die("quant_dot_ref");
			e[n] = (double)(K / 32 + 4) * ldexp(1, -24) * abs_terms;
		}
		for (int64_t i = 0; i < ldy; i++) {
			double y = y0[t * ldy + i], b = 0;
			if (i < width) {
				if (c->epi == EPI_STORE) {
					y = r[i];
					b = e[i];
				} else if (c->epi == EPI_ACC) {
					y += r[i];
					b = e[i] + ldexp(fabs(y) + fabs(y0[t * ldy + i]), -24);
				} else {
					double p = r[2 * i], q = r[2 * i + 1];
					y = silu(p) * q;
					/* |silu'| <= 1.1; exp, divide and multiply in f32 */
					b = 1.1 * e[2 * i] * (fabs(q) + e[2 * i + 1]) + fabs(silu(p)) * e[2 * i + 1]
					    + 8 * ldexp(fabs(y), -24) + 1e-30;
				}
			}
			want[t * ldy + i] = y;
			bound[t * ldy + i] = b;
		}
	}
	int32_t hdr[4] = {0, (int32_t)c->t, (int32_t)c->epi, 0};
	put(f, hdr, sizeof hdr);
	put_i64(f, N);
	put_i64(f, K);
	put_i64(f, ROWS);
	put_i64(f, ldy);
	put_i64(f, rowb);
	put_i64(f, qrow);
	put(f, x, (size_t)(ROWS * K) * 4);
	put(f, w, (size_t)(N * rowb));
	put(f, y0, (size_t)(ROWS * ldy) * 4);
	put(f, want, (size_t)(ROWS * ldy) * 8);
	put(f, bound, (size_t)(ROWS * ldy) * 8);
	put(f, qx, (size_t)(ROWS * qrow));
	for (int64_t n = 0; n < N; n++)
		free(wrow[n]);
	free(wrow);
	free(x);
	free(wf);
	free(y0);
	free(w);
	free(plain);
	free(qx);
	free(want);
	free(bound);
	free(r);
	free(e);
	free(a);
}

static void write_dequant(FILE *f, DType t, int64_t K)
{
	int64_t rowb = quant_bytes_per_row(t, K);
	float *x = xmalloc((size_t)K * 4), *y = xmalloc((size_t)K * 4);
	uint8_t *w = xmalloc((size_t)rowb);
	for (int64_t k = 0; k < K; k++)
		x[k] = (float)((uniform() * 2 - 1) * (k % 64 < 32 ? 1.0 : 0.001) + (k % 96 < 32 ? 0.5 : 0));
	if (pack_row(t, x, K, w) || unpack_row(t, w, K, y))
		die("pack_row");
	int32_t hdr[4] = {1, (int32_t)t, 0, 0};
	put(f, hdr, sizeof hdr);
	put_i64(f, 1);
	put_i64(f, K);
	put_i64(f, 1);
	put_i64(f, K);
	put_i64(f, rowb);
	put_i64(f, 0);
	put(f, w, (size_t)rowb);
	put(f, y, (size_t)K * 4);
	free(x);
	free(y);
	free(w);
}

/* ------------------------------------------------------------ the module */

static LStr declare(LModule *m, Lower *L)
{
	L->s_pool = lm_struct(m, "lfm2_pool", NULL, 1);
	m->st[L->s_pool].opaque = 1;
	L->s_task_fn = lm_struct(m, "lfm2_task_fn", NULL, 1);
	m->st[L->s_task_fn].opaque = 1;
	LStr c = L->s_call = lm_struct(m, "call", "What the kernels read of a forward call.", 0);
	lm_field(m, c, "weights", lt_ptr(LK_I8, 1), NULL);
	lm_field(m, c, "pool", lt_struct_ptr(L->s_pool, 0), NULL);
	lm_field(m, c, "qx", lt_ptr(LK_U8, 0), NULL);
	return c;
}

static void wrapper(LModule *m, Lower *L, int i, LF k)
{
	LF f = lm_func(m, lm_fmt(m, "qk_case_%d", i), lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV y = lm_param(m, f, "y", T_PF());
	LV ldy = lm_param(m, f, "ldy", T_I64());
	LV x = lm_param(m, f, "x", T_CPF());
	LV w = lm_param(m, f, "w", lt_ptr(LK_VOID, 1));
	LV rows = lm_param(m, f, "rows", T_I64());
	LV qx = lm_param(m, f, "qx", lt_ptr(LK_U8, 0));
	LV pool = lm_param(m, f, "pool", lt_struct_ptr(L->s_pool, 0));
	lb_begin(m, f);
	LE fields[3] = {le_ptr_cast(m, le_var(m, w), lt_ptr(LK_I8, 1)), le_var(m, pool), le_var(m, qx)};
	LV c = lb_let(m, "c", lt_struct(L->s_call), le_agg(m, lt_struct(L->s_call), fields, 3, NULL));
	LE args[6] = {le_addr(m, c), le_var(m, y), le_var(m, ldy), le_var(m, x), le_var(m, w), le_var(m, rows)};
	lb_eval(m, le_call(m, k, args, 6));
	lb_finish(m);
}

static void dq_wrapper(LModule *m, int i, LF k)
{
	LF f = lm_func(m, lm_fmt(m, "qd_case_%d", i), lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV y = lm_param(m, f, "y", T_PF());
	LV row = lm_param(m, f, "row", lt_ptr(LK_VOID, 1));
	lb_begin(m, f);
	LE args[2] = {le_var(m, y), le_var(m, row)};
	lb_eval(m, le_call(m, k, args, 2));
	lb_finish(m);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: qk_gen llvm|c|ir OUT_DIR TRIPLE CPU FEATURES [all|short [MR NR]]\n");
		return 2;
	}
	const char *out = argv[2];
	LfmError err = {{0}};
	Target t;
	if (target_resolve(&t, argv[3], argv[4], argv[5], &err)) {
		fprintf(stderr, "qk_gen: %s\n", err.msg);
		return 1;
	}
	LModule *m = lm_new();
	if (!m)
		die("out of memory");
	m->comment = "block-format matmul kernels for tests/qkernels/qk.sh";
	static const char *const includes[] = {"lfm2_abi.h", NULL};
	m->includes = includes;
	Lower L;
	memset(&L, 0, sizeof L);
	L.m = m;
	L.t = &t;
	L.err = &err;
	Machine mc;
	machine_derive(&mc, &t, NULL);
	if (codegen_plan(NULL, NULL, &mc, &L.sch, &err))   /* the target's own tiles, then this test's */
		die(err.msg);
	int step = argc > 6 && !strcmp(argv[6], "short") ? 3 : 1;
	L.sch.q_mr = argc > 8 ? atoi(argv[7]) : 4;
	L.sch.q_nr = argc > 8 ? atoi(argv[8]) : t.vector_regs >= 32 ? 4 : 2;
	L.sch.q_block_floats = 4096;   /* small blocks: several per task */
	L.sch.par_min_flops = 0;        /* always through lfm2_parallel_for */
	declare(m, &L);
	kernel_helpers(&L);
	int sel[N_CASES], n_sel = 0;
	for (int i = 0; i < N_CASES; i += step)
		sel[n_sel++] = i;
	for (int i = 0; i < n_sel; i++) {
		const Case *c = &cases[sel[i]];
		LF k = kernel_qmatmul(&L, c->t, c->N, c->K, c->epi);
		if (!k) {
			fprintf(stderr, "qk_gen: %s\n", err.msg);
			return 1;
		}
		wrapper(m, &L, i, k);
	}
	for (int i = 0; i < N_DQ; i++) {
		LF k = kernel_qdequant_row(&L, dq[i].t, dq[i].K);
		if (!k) {
			fprintf(stderr, "qk_gen: %s\n", err.msg);
			return 1;
		}
		dq_wrapper(m, i, k);
	}
	char msg[512], path[4096];
	if (lm_verify(m, msg, sizeof msg)) {
		fprintf(stderr, "qk_gen: %s\n", msg);
		return 1;
	}
	int rc;
	if (!strcmp(argv[1], "c")) {
		snprintf(path, sizeof path, "%s/k.c", out);
		FILE *f = fopen(path, "w");
		rc = !f || print_c(m, &t, f, &err);
		if (f && fclose(f))
			rc = 1;
	} else if (!strcmp(argv[1], "ir")) {   /* debugging: the optimized LLVM IR */
		snprintf(path, sizeof path, "%s/k.ll", out);
		rc = llvm_emit_module(m, &t, EMIT_LLVM_IR, path, &err);
	} else {
		snprintf(path, sizeof path, "%s/k.s", out);
		rc = llvm_emit_module(m, &t, EMIT_LLVM_ASM, path, &err);
	}
	lm_free(m);
	if (rc) {
		fprintf(stderr, "qk_gen: %s\n", err.msg[0] ? err.msg : "cannot write the kernels");
		return 1;
	}

	snprintf(path, sizeof path, "%s/cases.h", out);
	FILE *h = fopen(path, "w");
	if (!h)
		die("cannot write cases.h");
	fprintf(h, "/* generated by qk_gen */\n#define N_CASES %d\n#define N_DQ %d\n", n_sel, N_DQ);
	for (int i = 0; i < n_sel; i++)
		fprintf(h, "void qk_case_%d(float *, int64_t, const float *, const void *, int64_t, uint8_t *, "
		           "lfm2_pool *);\n", i);
	for (int i = 0; i < N_DQ; i++)
		fprintf(h, "void qd_case_%d(float *, const void *);\n", i);
	fprintf(h, "static void (*const qk_cases[])(float *, int64_t, const float *, const void *, int64_t, uint8_t *, "
	           "lfm2_pool *) = {\n");
	for (int i = 0; i < n_sel; i++)
		fprintf(h, "\tqk_case_%d,\n", i);
	fprintf(h, "};\nstatic const char *const qk_names[] = {\n");
	for (int i = 0; i < n_sel; i++)
		fprintf(h, "\t\"%s N=%lld K=%lld%s\",\n", quant_format_name(cases[sel[i]].t), (long long)cases[sel[i]].N,
		        (long long)cases[sel[i]].K, cases[sel[i]].epi == EPI_ACC ? " acc" : cases[sel[i]].epi == EPI_SWIGLU ? " swiglu" : "");
	fprintf(h, "};\nstatic void (*const qd_cases[])(float *, const void *) = {\n");
	for (int i = 0; i < N_DQ; i++)
		fprintf(h, "\tqd_case_%d,\n", i);
	fprintf(h, "};\n");
	if (fclose(h))
		die("cannot write cases.h");

	snprintf(path, sizeof path, "%s/data.bin", out);
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot write data.bin");
	put(f, "QKDATA1", 8);
	int32_t n = n_sel + N_DQ;
	put(f, &n, sizeof n);
	for (int i = 0; i < n_sel; i++)
		write_case(f, &cases[sel[i]]);
	for (int i = 0; i < N_DQ; i++)
		write_dequant(f, dq[i].t, dq[i].K);
	if (fclose(f))
		die("cannot write data.bin");
	return 0;
}
