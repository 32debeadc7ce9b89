/*
 * mk_report.c — variants.json, .csv and .svg of made-up results, written
 * by report.c itself, for the cases a real run of the tiny fixture never
 * shows: a variant that failed, a dominated one (bf16: f16's size, worse
 * KLD, slower), two identical results (q8_0 and "a&b<c>", whose name also
 * needs XML escapes), a crowd of near-identical variants whose labels do
 * not all fit beside their points, a long name near the frame's edge,
 * three series, speeds above 10000 tok/s and below 1.
 *
 *   mk_report DIR    writes DIR/variants.{json,csv,svg}; prints the
 *                    NAME=LO:HI arguments check_variants wants for them
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

typedef struct Made {
	const char *name;
	double decode, prefill, kld, max_rel;   /* decode, prefill at 1 thread */
	double mib;                             /* blob */
	bool failed;
} Made;

static const Made made[] = {
	{"f32", 0.8, 300, 0, 0, 400, false},
	{"f16", 1.5, 290, 1e-6, 2e-4, 200, false},
	{"bf16", 1.4, 280, 3e-4, 3e-3, 200, false},
	{"q8_0", 2.6, 250, 1e-3, 1e-2, 110, false},
	{"a&b<c>", 2.6, 250, 1e-3, 1e-2, 110, false},
	{"q4_0", 4.0, 240, 2e-2, 0.1, 60, false},
	{"q4_1", 3.8, 230, 1.5e-2, 0.08, 68, false},
	{"crowd_1", 3.90, 235, 1.7e-2, 0.09, 63, false},
	{"crowd_2", 3.92, 236, 1.8e-2, 0.09, 62, false},
	{"crowd_3", 3.94, 237, 1.9e-2, 0.09, 61, false},
	{"a_rather_long_schedule_name", 4.1, 245, 2.5e-2, 0.1, 58, false},
	{"broken", 0, 0, 0, 0, 0, true},
};
#define N_MADE (int)(sizeof made / sizeof made[0])

static const int threads[] = {1, 4, 16};
#define N_THREADS 3

static int write_text(const char *dir, const char *name, char *text)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = text ? fopen(path, "w") : NULL;
	bool ok = f && fwrite(text, 1, strlen(text), f) == strlen(text);
	ok = f && !fclose(f) && ok;
	if (!ok)
		fprintf(stderr, "mk_report: %s: %s\n", path, text ? "cannot write" : "out of memory");
	free(text);
	return ok ? 0 : -1;
}

/* The result of made[i] at thread count t: faster with threads (the
 * 16-thread series reaches past 10000 tok/s in prefill). */
static void fill(VariantResult *r, const Made *m, int t)
{
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", m->name);
	r->threads = t;
	if (m->failed) {
		snprintf(r->error, sizeof r->error, "%s.json: compile failed: made up", m->name);
		return;
	}
	double speedup = t == 1 ? 1 : t == 4 ? 3.5 : 12;
	r->decode = m->decode * speedup;
	r->prefill = m->prefill * speedup * (t == 16 ? 4 : 1);
	r->load = 0.01;
	r->build.blob_bytes = (uint64_t)(m->mib * 1048576);
	r->build.code_bytes = 200000;
	r->build.compile_s = 1.5;
	r->acc = (Accuracy){.max_rel = m->max_rel, .kld_mean = m->kld, .top1 = m->kld > 0 ? 0.9 : 1, .finite = true};
	r->time.n = 1;
	r->time.decode[0] = r->decode;
	r->time.prefill[0] = r->prefill;
	r->time.load[0] = r->load;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mk_report DIR\n");
		return 2;
	}
	VariantResult *v = calloc(N_MADE * N_THREADS, sizeof *v);
	if (!v) {
		fprintf(stderr, "mk_report: out of memory\n");
		return 2;
	}
	for (int i = 0; i < N_MADE; i++)
		for (int k = 0; k < N_THREADS; k++)
			fill(&v[i * N_THREADS + k], &made[i], threads[k]);
	MeasureOpts o;
	memset(&o, 0, sizeof o);
	o.runs = 1;
	o.prefill = 512;
	o.decode = 128;
	o.seqs = 2;
	o.seq_len = 32;
	ReportInfo ri = {.model = "made-up results", .model_hash = 1, .target = "nowhere", .opts = &o,
	                 .threads = threads, .n_threads = N_THREADS, .positions = 64};
	int n = N_MADE * N_THREADS;
	int rc = write_text(argv[1], "variants.json", report_json(&ri, v, n));
	rc |= write_text(argv[1], "variants.csv", report_csv(&ri, v, n));
	rc |= write_text(argv[1], "variants.svg", report_svg(&ri, v, n));
	for (int i = 0; i < n && !rc; i++) {
		const Made *m = &made[i / N_THREADS];
		if (m->failed)
			printf("%s=failed\n", m->name);
		else
			printf("%s=%g:%g\n", m->name, m->max_rel, m->max_rel);
	}
	free(v);
	return rc ? 2 : 0;
}
