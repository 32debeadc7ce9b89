/*
 * gemm_test.c — the float matmul kernels (codegen/lower_gemm.c) against a
 * plain double-precision reference, on shapes the model fixtures do not
 * reach: N with a tail of plain rows (not a multiple of the panel), K
 * odd or split into blocks with a remainder, 1..9, 13 and 37 rows, every
 * epilogue (store, residual add, SwiGLU pairs), f32/f16/bf16 weights, one
 * thread and three, and schedules that force every path (register tiles
 * and their leftovers, K and weight blocks, the GEMV tile).
 *
 *   gemm_test gen llvm|c SCHEDULE OUT     build every case's kernel with the
 *                                         host target and schedule SCHEDULE
 *                                         (0, 1, 2: see tilings()) into OUT
 *                                         (object or C file)
 *   gemm_test run SO SCHEDULE             dlopen SO (OUT linked as a shared
 *                                         object), pack random weights as
 *                                         pack.h says, run, compare; with
 *                                         schedule 0 also check the packed
 *                                         layout against the spec's map
 *
 * Each case is exported from the generated code as
 *   void case_I(lfm2_pool *pool, float *y, int64_t ldy, const float *x, const void *w, int64_t rows,
 *               float *wf)
 * (wf: the workers' f32 blocks of 16-bit weights, threads x wf_floats()
 * floats; the runner fills it with NaN, so a tile reading a block that
 * was not converted shows), the slot size as
 *   int64_t wf_floats(void),
 * each float format's embedding-row reader as
 *   void row_I(float *y, const void *w, int64_t row),
 * and the vector exp (lower_exp) as
 *   void exp_v(float *y, const float *x, int64_t n)   (n a multiple of 16).
 * gemm.sh drives both steps for one backend.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2rt.h"
#include "lower.h"
#include "machine.h"
#include "pack.h"
#include "formats.h"

typedef struct Case {
	DType wt;
	int64_t N, K;
	MatEpi epi;
} Case;

static const Case cases[] = {
	{DT_F32, 87, 37, EPI_STORE},     /* 5 panels + 7 plain rows, odd K */
	{DT_F32, 64, 300, EPI_STORE},    /* K blocks with a remainder */
	{DT_F32, 64, 300, EPI_ACC},
	{DT_F32, 106, 50, EPI_SWIGLU},   /* 3 pair groups + 5 plain pairs */
	{DT_F16, 48, 70, EPI_STORE},
	{DT_BF16, 40, 33, EPI_ACC},      /* 2 panels + 8 plain rows */
	{DT_F32, 7, 20, EPI_STORE},      /* plain rows only */
	{DT_F16, 64, 64, EPI_SWIGLU},
	{DT_BF16, 32, 17, EPI_SWIGLU},
	{DT_F32, 208, 64, EPI_STORE},    /* 13 panels: uneven thread shares */
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

static const DType row_formats[] = {DT_F32, DT_F16, DT_BF16};
#define ROW_N 37
#define ROW_K 24

/* The schedules: the host target's defaults, then two that force the
 * other paths (tiny K and weight blocks, odd tiles, K unrolled). */
static Tiling tilings(const Target *t, int which)
{
	Tiling s;
	Machine mc;
	machine_derive(&mc, t, NULL);
	LfmError err;
	if (codegen_plan(NULL, NULL, &mc, &s, &err)) {   /* cannot fail without a schedule */
		fprintf(stderr, "gemm_test: %s\n", err.msg);
		exit(1);
	}
	s.par_min_flops = 0;   /* always through the pool */
	if (which == 1) {
		s.fm_mr = 3, s.fm_nr = 3, s.fm_ku = 2, s.fm_kc = 40, s.fm_block = 1024;
		s.fm_gnr = 3, s.fm_gku = 3;
	} else if (which == 2) {
		s.fm_mr = 5, s.fm_nr = 1, s.fm_ku = 3, s.fm_kc = 0, s.fm_nb = 24;
		s.fm_gnr = 1, s.fm_gku = 1;
		s.vw = s.vw > 4 ? 4 : s.vw;
	}
	return s;
}

/* ------------------------------------------------------------ gen */

/* The ABI pieces the kernels use (lower.c declares the full ones). */
static void declare_abi(Lower *L)
{
	LModule *m = L->m;
	L->s_pool = lm_struct(m, "lfm2_pool", NULL, 1);
	m->st[L->s_pool].opaque = 1;
	L->s_task_fn = lm_struct(m, "lfm2_task_fn", NULL, 1);
	m->st[L->s_task_fn].opaque = 1;
	LStr c = L->s_call = lm_struct(m, "call", "What the kernels read of a forward call.", 0);
	lm_field(m, c, "weights", lt_ptr(LK_I8, 1), NULL);
	lm_field(m, c, "pool", lt_struct_ptr(L->s_pool, 0), NULL);
	lm_field(m, c, "wf", T_PF(), NULL);
	LStr mm = L->s_mm_args = lm_struct(m, "matmul_args", "Arguments of a matmul task.", 0);
	lm_field(m, mm, "y", T_PF(), NULL);
	lm_field(m, mm, "ldy", T_I64(), NULL);
	lm_field(m, mm, "x", T_CPF(), NULL);
	lm_field(m, mm, "w", T_CPF(), NULL);
	lm_field(m, mm, "rows", T_I64(), NULL);
	lm_field(m, mm, "wf", T_PF(), NULL);
}

static void export_case(Lower *L, int i)
{
	LModule *m = L->m;
	const Case *c = &cases[i];
	LF k = gemm_matmul(L, c->wt, c->N, c->K, c->epi);   /* float formats only */
	LF f = lm_func(m, lm_fmt(m, "case_%d", i), lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV pool = lm_param(m, f, "pool", lt_struct_ptr(L->s_pool, 0));
	LV y = lm_param(m, f, "y", T_PF());
	LV ldy = lm_param(m, f, "ldy", T_I64());
	LV x = lm_param(m, f, "x", T_CPF());
	LV w = lm_param(m, f, "w", lt_ptr(LK_VOID, 1));
	LV rows = lm_param(m, f, "rows", T_I64());
	LV wf = lm_param(m, f, "wf", T_PF());
	lb_begin(m, f);
	LE fields[3] = {le_ptr_cast(m, le_var(m, w), lt_ptr(LK_I8, 1)), le_var(m, pool), le_var(m, wf)};
	LV call = lb_let(m, "call", lt_struct(L->s_call), le_agg(m, lt_struct(L->s_call), fields, 3, NULL));
	LE args[6] = {le_addr(m, call), le_var(m, y), le_var(m, ldy), le_var(m, x),
	              le_ptr_cast(m, le_var(m, w), weight_ptr_type(c->wt)), le_var(m, rows)};
	lb_eval(m, le_call(m, k, args, 6));
	lb_finish(m);
}

static void export_row(Lower *L, int i)
{
	LModule *m = L->m;
	LF k = kernel_weight_row(L, row_formats[i], ROW_N, ROW_K);
	LF f = lm_func(m, lm_fmt(m, "row_%d", i), lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV y = lm_param(m, f, "y", T_PF());
	LV w = lm_param(m, f, "w", lt_ptr(LK_VOID, 1));
	LV row = lm_param(m, f, "row", T_I64());
	lb_begin(m, f);
	LE args[3] = {le_var(m, y), le_var(m, w), le_var(m, row)};
	lb_eval(m, le_call(m, k, args, 3));
	lb_finish(m);
}

static void export_exp(Lower *L)
{
	LModule *m = L->m;
	int vw = L->sch.vw;
	LF f = lm_func(m, "exp_v", lt_scalar(LK_VOID), LL_EXPORT, NULL);
	LV y = lm_param(m, f, "y", T_PF());
	LV x = lm_param(m, f, "x", T_CPF());
	LV n = lm_param(m, f, "n", T_I64());
	lb_begin(m, f);
	LV i = lm_local(m, "i", T_I64());
	lb_for(m, i, le_i64(m, 0), le_var(m, n), vw);
	LE e = lower_exp(L, le_load(m, le_at(m, le_var(m, x), le_var(m, i)), vw), vw);
	lb_store(m, le_at(m, le_var(m, y), le_var(m, i)), e);
	lb_end(m);
	lb_finish(m);
}

static int gen(const char *backend, int which, const char *out)
{
	LfmError err = {{0}};
	Target t;
	if (target_resolve(&t, NULL, NULL, NULL, &err)) {
		fprintf(stderr, "gemm_test: %s\n", err.msg);
		return 1;
	}
	LModule *m = lm_new();
	if (!m)
		return 1;
	static const char *const includes[] = {"lfm2_abi.h", NULL};
	m->comment = "float matmul kernels for tests/gemm";
	m->includes = includes;
	Lower L;
	memset(&L, 0, sizeof L);
	L.m = m;
	L.t = &t;
	L.sch = tilings(&t, which);
	L.err = &err;
	declare_abi(&L);
	kernel_helpers(&L);
	for (int i = 0; i < NCASES; i++) {   /* every case's block fits the slot, as lower.c sizes it */
		int64_t b = gemm_block_floats(&L, cases[i].wt, cases[i].N, cases[i].K, cases[i].epi);
		L.wf_floats = b > L.wf_floats ? b : L.wf_floats;
	}
	lm_define(m, "WF_FLOATS", le_i64(m, L.wf_floats > 0 ? L.wf_floats : 1), "per worker");
	LF wff = lm_func(m, "wf_floats", T_I64(), LL_EXPORT, NULL);
	lb_begin(m, wff);
	lb_return(m, le_named(m, "WF_FLOATS"));
	lb_finish(m);
	for (int i = 0; i < NCASES; i++)
		export_case(&L, i);
	for (int i = 0; i < 3; i++)
		export_row(&L, i);
	export_exp(&L);
	char msg[256];
	int rc = lm_verify(m, msg, sizeof msg);
	if (rc) {
		fprintf(stderr, "gemm_test: %s\n", msg);
	} else if (!strcmp(backend, "c")) {
		FILE *f = fopen(out, "w");
		rc = !f || print_c(m, &t, f, &err);
		if (f && fclose(f))
			rc = 1;
	} else {
		rc = llvm_emit_module(m, &t, EMIT_LLVM_OBJ, out, &err);
	}
	if (rc)
		fprintf(stderr, "gemm_test: cannot write %s%s%s\n", out, err.msg[0] ? ": " : "", err.msg);
	lm_free(m);
	return rc ? 1 : 0;
}

/* ------------------------------------------------------------ run */

typedef void (*case_fn)(lfm2_pool *, float *, int64_t, const float *, const void *, int64_t, float *);
typedef void (*row_fn)(float *, const void *, int64_t);

static uint64_t rng = 88172645463325252ull;
static float frand(void)   /* uniform in [-1, 1) */
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

/* Packs random weights [N][K] of format t; *vals gets the values the
 * format stores (quantize-then-dequantize), as floats. */
static void *make_weight(DType t, PackLayout lay, int64_t N, int64_t K, float **vals)
{
	float *x = malloc((size_t)(N * K) * sizeof *x);
	void *w = malloc((size_t)(N * quant_bytes_per_row(t, K)) + 64);
	if (!x || !w)
		abort();
	for (int64_t i = 0; i < N * K; i++)
		x[i] = frand();
	if (quant_roundtrip(t, x, N, K, x) || pack_rows(t, lay, N, K, 0, N, x, w))
		abort();
	*vals = x;
	return w;
}

static double silu(double a) { return a / (1 + exp(-a)); }

static const int64_t row_counts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 37};
#define NROWS (int)(sizeof row_counts / sizeof row_counts[0])
#define MAX_ROWS 37

/* One case at every row count: 0, or the number of bad outputs. */
static int check_case(case_fn fn, int i, lfm2_pool *pool, int threads, int which, float *wf)
{
	const Case *c = &cases[i];
	int64_t N = c->N, K = c->K, ny = c->epi == EPI_SWIGLU ? N / 2 : N, ldy = ny + 3;
	float *wv;
	void *w = make_weight(c->wt, c->epi == EPI_SWIGLU ? PACK_PAIRS : PACK_PANELS, N, K, &wv);
	float *x = malloc((size_t)(MAX_ROWS * K) * sizeof *x);
	float *y = malloc((size_t)(MAX_ROWS * ldy) * sizeof *y), *y0 = malloc((size_t)(MAX_ROWS * ldy) * sizeof *y0);
	double *dot = malloc((size_t)N * sizeof *dot), *mag = malloc((size_t)N * sizeof *mag);
	if (!x || !y || !y0 || !dot || !mag)
		abort();
	int bad = 0;
	for (int ri = 0; ri < NROWS; ri++) {
		int64_t rows = row_counts[ri];
		for (int64_t j = 0; j < rows * K; j++)
			x[j] = frand();
		for (int64_t j = 0; j < MAX_ROWS * ldy; j++)
			y0[j] = y[j] = frand();
		fn(pool, y, ldy, x, w, rows, wf);
		for (int64_t t = 0; t < MAX_ROWS; t++) {
			for (int64_t n = 0; n < N; n++) {
				double s = 0, a = 0;
				for (int64_t k = 0; k < K && t < rows; k++) {
					double p = (double)x[t * K + k] * wv[n * K + k];
					s += p;
					a += fabs(p);
				}
				dot[n] = s;
				mag[n] = a;
			}
			for (int64_t n = 0; n < ldy; n++) {
				double want, bound;
				int64_t at = t * ldy + n;
				if (t >= rows || n >= ny) {   /* not to be touched */
					want = y0[at];
					bound = 0;
				} else if (c->epi == EPI_SWIGLU) {
					double a = dot[2 * n], b = dot[2 * n + 1];
					want = silu(a) * b;
					bound = 2e-6 * (1.2 * fabs(b) * mag[2 * n] + fabs(silu(a)) * mag[2 * n + 1] + fabs(want)) + 1e-30;
				} else {
					want = dot[n] + (c->epi == EPI_ACC ? y0[at] : 0);
					bound = 2e-6 * (mag[n] + fabs(want)) + 1e-30;
				}
				if (!(fabs(y[at] - want) <= bound)) {
					if (bad < 5)
						fprintf(stderr, "gemm: FAIL schedule %d, case %d (%s %lldx%lld epi %d), %d threads, rows %lld: "
						        "y[%lld][%lld] = %.9g, want %.9g\n", which, i, dtype_name(c->wt), (long long)N,
						        (long long)K, c->epi, threads, (long long)rows, (long long)t, (long long)n,
						        (double)y[at], want);
					bad++;
				}
			}
		}
	}
	free(w), free(wv), free(x), free(y), free(y0), free(dot), free(mag);
	return bad;
}

/* Every row of a packed [ROW_N][ROW_K] weight read back by the row kernel. */
static int check_rows(row_fn fn, int i)
{
	float *wv, y[ROW_K];
	DType t = row_formats[i];
	void *w = make_weight(t, PACK_PANELS, ROW_N, ROW_K, &wv);
	int bad = 0;
	for (int64_t r = 0; r < ROW_N; r++) {
		fn(y, w, r);
		if (memcmp(y, wv + r * ROW_K, sizeof y)) {
			if (!bad)
				fprintf(stderr, "gemm: FAIL %s row %lld of %d read back wrong\n", dtype_name(t), (long long)r, ROW_N);
			bad++;
		}
	}
	free(w), free(wv);
	return bad;
}

/* lower_exp against exp() in double: within 3e-7 relative on [-87, 88],
 * a tiny non-negative number below, finite above. */
static int check_exp(void (*fn)(float *, const float *, int64_t))
{
	enum { N = 4096 };
	static float x[N], y[N];
	for (int i = 0; i < N; i++)
		x[i] = i < N - 16 ? -87.0f + 175.0f * (float)i / (N - 17) : (i % 2 ? -100.0f - i : 100.0f + i);
	fn(y, x, N);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		double want = exp((double)x[i]);
		int ok = x[i] < -87 ? y[i] >= 0 && y[i] < 2e-38 : x[i] > 88 ? isfinite(y[i]) && y[i] > 1e38
		       : fabs(y[i] - want) <= 3e-7 * want;
		if (!ok && bad++ < 5)
			fprintf(stderr, "gemm: FAIL exp(%.9g) = %.9g, want %.9g\n", (double)x[i], (double)y[i], want);
	}
	return bad;
}

/* The packed layout itself, as specs/formats.md writes it: packing in
 * chunks of whole groups equals packing at once, every element lands at
 * the documented index, and unpack_rows inverts it. */
static int check_layout(void)
{
	static const DType ts[] = {DT_F32, DT_F16, DT_BF16};
	static const PackLayout lays[] = {PACK_ROWS, PACK_PANELS, PACK_PAIRS};
	const int64_t N = 77, K = 5;   /* 2 pair groups or 4 panels, and a tail */
	int bad = 0;
	for (int ti = 0; ti < 3; ti++)
		for (int li = 0; li < 3; li++) {
			DType t = ts[ti];
			PackLayout lay = lays[li];
			int64_t rb = quant_bytes_per_row(t, K), G = pack_group_rows(t, lay), esz = rb / K;
			float x[77 * 5], back[77 * 5];
			unsigned char whole[77 * 5 * 4], chunked[77 * 5 * 4];
			for (int64_t i = 0; i < N * K; i++)
				x[i] = (float)(i % 251) - 125;   /* exact in every format */
			int rc = pack_rows(t, lay, N, K, 0, N, x, whole);
			for (int64_t r = 0; r < N && !rc; r += 2 * G)
				rc = pack_rows(t, lay, N, K, r, N - r < 2 * G ? N - r : 2 * G, x + r * K, chunked + r * rb);
			rc = rc || unpack_rows(t, lay, N, K, 0, N, whole, back);
			if (rc || memcmp(whole, chunked, (size_t)(N * rb)) || memcmp(x, back, sizeof x)) {
				fprintf(stderr, "gemm: FAIL layout %s/%d: chunked packing or unpack differs\n", dtype_name(t), lay);
				bad++;
				continue;
			}
			for (int64_t r = 0; r < N; r++)
				for (int64_t k = 0; k < K; k++) {
					int64_t G2 = lay == PACK_ROWS ? 1 : lay == PACK_PANELS ? 16 : 32, full = N / G2 * G2, want;
					if (lay == PACK_ROWS || r >= full)
						want = r * K + k;
					else if (lay == PACK_PANELS)
						want = r / 16 * 16 * K + k * 16 + r % 16;
					else   /* pairs: (row 32g + 2l + h) at h*16*K + k*16 + l of group g */
						want = r / 32 * 32 * K + (r % 2) * 16 * K + k * 16 + (r % 32) / 2;
					float got;
					unsigned char one[4];
					if (pack_elem_index(t, lay, N, K, r, k) != want
					    || (memcpy(one, whole + want * esz, (size_t)esz), unpack_row(t, one, 1, &got)) || got != x[r * K + k]) {
						if (bad++ < 5)
							fprintf(stderr, "gemm: FAIL layout %s/%d: element (%lld, %lld) not at %lld\n",
							        dtype_name(t), lay, (long long)r, (long long)k, (long long)want);
					}
				}
		}
	return bad;
}

static int run(const char *so_path, int which)
{
	void *so = dlopen(so_path, RTLD_NOW);
	if (!so) {
		fprintf(stderr, "gemm_test: %s\n", dlerror());
		return 1;
	}
	int bad = 0, checked = 0;
	int64_t (*wff)(void) = (int64_t (*)(void))dlsym(so, "wf_floats");
	if (!wff) {
		fprintf(stderr, "gemm_test: %s has no wf_floats\n", so_path);
		return 1;
	}
	size_t nwf = (size_t)wff() * 3;
	float *wf = malloc(nwf * sizeof *wf);
	if (!wf)
		abort();
	for (size_t j = 0; j < nwf; j++)
		wf[j] = NAN;
	for (int threads = 1; threads <= 3; threads += 2) {
		lfm2_err err;
		lfm2_pool *pool = lfm2_pool_create(threads, &err);
		if (!pool) {
			fprintf(stderr, "gemm_test: %s\n", err.msg);
			return 1;
		}
		for (int i = 0; i < NCASES; i++) {
			char name[32];
			snprintf(name, sizeof name, "case_%d", i);
			case_fn fn = (case_fn)dlsym(so, name);
			if (!fn) {
				fprintf(stderr, "gemm_test: %s has no %s\n", so_path, name);
				return 1;
			}
			bad += check_case(fn, i, pool, threads, which, wf);
			checked++;
		}
		lfm2_pool_destroy(pool);
	}
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "row_%d", i);
		row_fn fn = (row_fn)dlsym(so, name);
		if (!fn) {
			fprintf(stderr, "gemm_test: %s has no %s\n", so_path, name);
			return 1;
		}
		bad += check_rows(fn, i);
	}
	void (*ex)(float *, const float *, int64_t) = (void (*)(float *, const float *, int64_t))dlsym(so, "exp_v");
	if (!ex) {
		fprintf(stderr, "gemm_test: %s has no exp_v\n", so_path);
		return 1;
	}
	bad += check_exp(ex);
	if (which == 0)
		bad += check_layout();
	free(wf);
	dlclose(so);
	if (bad) {
		fprintf(stderr, "gemm: schedule %d: %d wrong values\n", which, bad);
		return 1;
	}
	printf("gemm: schedule %d: %d cases x %d row counts x 1 and 3 threads, 3 row readers, exp: OK\n", which,
	       NCASES, NROWS);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "gen"))
		return gen(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 4 && !strcmp(argv[1], "run"))
		return run(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: gemm_test gen llvm|c SCHEDULE OUT | gemm_test run SO SCHEDULE\n");
	return 2;
}
