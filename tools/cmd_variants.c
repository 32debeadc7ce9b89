/*
 * cmd_variants.c — `lfm2c variants MODEL a.json b.json ... [-o DIR]`:
 * compile several schedules of one model, check each against the f32
 * build, time each with cold weights, and print one table.
 *
 *   lfm2c variants MODEL SCHEDULE.json... [-o DIR] [--threads N[,N...]] [--runs N]
 *         [--backend llvm|c] [--prefill N] [--decode N] [--seqs N] [--len N]
 *         [--mmap] [--no-cache] [--keep-going] [--keep-builds] [-v]
 *
 * Order of work, and why:
 *   1. every input is checked first (the model opens, every schedule file
 *      parses and validates), so a typo costs a second, not a compile;
 *   2. the f32 reference (f32 weights, no fusion) and each variant are
 *      compiled (`lfm2c compile MODEL --schedule FILE`, a child process:
 *      exactly what a user gets) into DIR/builds/, fresh (--no-cache) by
 *      default so the compile time column means something — --cache lets
 *      the build cache serve them (marked *);
 *   3. each variant's logits on the validation sequences are compared with
 *      the reference's (measure.c: max relative error, mean KLD, top-1);
 *      with --eval-text FILE the KLD and top-1 are those of the text's
 *      chunks instead (the reference writes DIR/builds/f32-reference.kld,
 *      each variant's lfm2-run --perplexity --kld compares with it), and
 *      the perplexity on the text joins the outputs;
 *   4. timing: run i of every variant (at every thread count of
 *      --threads 1,2), then run i + 1, so a noisy machine hits all
 *      variants alike; every run a fresh lfm2-run with the blob evicted
 *      from the page cache first; medians of --runs;
 *   5. the table on stdout, and DIR/variants.json, .csv, .svg (each
 *      written to a temporary name and renamed).  The builds are removed
 *      unless --keep-builds (a 1.2B f32 blob is 4.7 GB).
 *
 * Errors: a missing or invalid schedule, a model that does not open, an
 * unusable option — one line naming the file or option, exit 1, nothing
 * created.  A variant that fails to compile or run stops everything
 * (builds removed) unless --keep-going, which reports it as failed in
 * every output and exits 1 at the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"
#include "measure.h"

#define MAX_VARIANTS 64
#define MAX_THREAD_COUNTS 8

typedef struct VariantsArgs {
	MeasureOpts mo;
	const char *out_dir;
	const char *schedules[MAX_VARIANTS];
	int n;
	int threads[MAX_THREAD_COUNTS];   /* --threads 1,2: one result per variant and count */
	int nt;
	bool keep_going, keep_builds;
} VariantsArgs;

static const char help_text[] =
	"usage: lfm2c variants MODEL_DIR SCHEDULE.json... [options]\n"
	"Compiles each schedule (lfm2c compile --schedule), checks it against the f32 build\n"
	"(max |logit error| / max |logit|, mean KL divergence, top-1, on fixed token sequences),\n"
	"times prefill and decode with cold weights, and prints one table; also DIR/variants.json,\n"
	"DIR/variants.csv and DIR/variants.svg.\n"
	"  -o DIR            output directory (default: variants)\n"
	"  --threads N[,M]   lfm2-run threads (default: online CPUs); several: one row per variant\n"
	"                    and count, their runs interleaved\n"
	MEASURE_COMMON_HELP
	"  --cache           let the build cache serve compiles (default: fresh, --no-cache)\n"
	"  --keep-going      report a variant that fails to compile or run, go on with the rest\n"
	"  --keep-builds     keep DIR/builds/ (the compiled variants)\n";

/* --threads 1,2,4 */
static int parse_threads(VariantsArgs *a, const char *list)
{
	a->nt = 0;
	for (const char *p = list; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || (*end && *end != ',') || v < 1 || v > 1024 || a->nt >= MAX_THREAD_COUNTS)
			return lfm_fail("variants: --threads takes up to %d thread counts in 1..1024, comma separated "
			                   "(got '%s')", MAX_THREAD_COUNTS, list);
		a->threads[a->nt++] = (int)v;
		p = *end ? end + 1 : end;
	}
	if (!a->nt)
		return lfm_fail("variants: --threads needs a value");
	a->mo.threads = a->threads[0];
	return 0;
}

static int parse_args(int argc, char **argv, VariantsArgs *a)
{
	memset(a, 0, sizeof *a);
	MeasureOpts *o = &a->mo;
	measure_default_opts(o);
	o->no_cache = true;
	a->out_dir = "variants";
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--threads")) {
			if (i + 1 >= argc)
				return lfm_fail("variants: --threads needs a value");
			if (parse_threads(a, argv[++i]))
				return -1;
			continue;
		}
		int r = measure_common_arg(o, "variants", argc, argv, &i);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (!strcmp(s, "-o")) {
			if (i + 1 >= argc)
				return lfm_fail("variants: -o needs a value");
			a->out_dir = argv[++i];
		} else if (!strcmp(s, "--cache"))
			o->no_cache = false;
		else if (!strcmp(s, "--no-cache"))
			o->no_cache = true;
		else if (!strcmp(s, "--keep-going"))
			a->keep_going = true;
		else if (!strcmp(s, "--keep-builds"))
			a->keep_builds = true;
		else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(help_text, stdout);
			exit(0);
		} else if (s[0] == '-' && s[1])
			return lfm_fail("variants: unknown option '%s' (see lfm2c variants --help)", s);
		else if (!o->model)
			o->model = s;
		else if (a->n >= MAX_VARIANTS)
			return lfm_fail("variants: more than %d schedules", MAX_VARIANTS);
		else
			a->schedules[a->n++] = s;
	}
	if (!a->nt) {
		a->threads[0] = o->threads;
		a->nt = 1;
	}
	if (!o->model || !a->n)
		return lfm_fail("usage: lfm2c variants MODEL_DIR SCHEDULE.json... [-o DIR] [--threads N] "
		                   "[--runs N] [--backend llvm|c] (--help)");
	return 0;
}

/* "dir/a.json" -> "a"; a second "a" becomes "a-2" (all[j * stride] are
 * the earlier variants). */
static void variant_name(const char *path, VariantResult *all, int i, int stride)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".json"))
		len -= 5;
	if (!len) {
		base = "schedule";
		len = 8;
	}
	char name[128];
	snprintf(name, sizeof name, "%.*s", (int)(len > 100 ? 100 : len), base);
	VariantResult *me = &all[i * stride];
	snprintf(me->name, sizeof me->name, "%s", name);
	for (int k = 2;; k++) {
		bool clash = false;
		for (int j = 0; j < i; j++)
			clash |= !strcmp(all[j * stride].name, me->name);
		if (!clash)
			break;
		snprintf(me->name, sizeof me->name, "%.100s-%d", name, k);
	}
}

/* Writes name.json/.csv/.svg of the report into dir. */
static int write_reports(const char *dir, const ReportInfo *ri, const VariantResult *v, int n, LfmError *err)
{
	char *text[3] = {report_json(ri, v, n), report_csv(ri, v, n), report_svg(ri, v, n)};
	static const char *const names[3] = {"variants.json", "variants.csv", "variants.svg"};
	int rc = 0;
	for (int i = 0; i < 3; i++) {
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!rc && !text[i])
			rc = lfm_error(err, path, "out of memory");
		if (!rc)
			rc = measure_write_file(path, text[i], strlen(text[i]), err);
		if (!rc)
			fprintf(stderr, "lfm2c: variants: wrote %s\n", path);
	}
	for (int i = 0; i < 3; i++)
		free(text[i]);
	return rc;
}

/* --eval-text: the reference writes the base kld (into *base), a variant
 * is compared with it. */
static int text_accuracy(const VariantsArgs *a, const ModelInfo *mi, const char *kld, VariantResult *r,
                         TextResult *base, LfmError *err)
{
	TextResult t;
	if (measure_text(&a->mo, mi, &r->build, kld, base != NULL, base ? base : &t, err))
		return -1;
	if (!base)
		measure_text_apply(&r->acc, &t);
	return 0;
}

/* Compile + validate one variant (ref NULL: the reference, which writes
 * the text's base into *text_ref when --eval-text is on). */
static int build_variant(const VariantsArgs *a, const Schedule *schedule, const char *label, const char *dir,
                         const ValSeqs *seqs, const ValLogits *ref, VariantResult *r, ValLogits *out,
                         const ModelInfo *mi, const char *kld, TextResult *text_ref, LfmError *err)
{
	if (measure_compile(&a->mo, schedule, label, dir, &r->build, err))
		return -1;
	ValLogits mine;
	if (measure_logits(&a->mo, &r->build, seqs, &mine, err)) {
		measure_logits_free(&mine, seqs->n);
		return -1;
	}
	if (ref)
		measure_compare(seqs, ref, &mine, &r->acc);
	else
		r->acc = (Accuracy){.top1 = 1, .finite = true};
	if (out)
		*out = mine;
	else
		measure_logits_free(&mine, seqs->n);
	if (!r->acc.finite)
		return lfm_error(err, label, "the variant's logits are not finite (NaN or Inf)");
	if (a->mo.eval.path && text_accuracy(a, mi, kld, r, ref ? NULL : text_ref, err))
		return -1;
	return 0;
}

/* Steps 2-4 for parsed arguments and schedules (the caller frees them). */
static int run_variants(VariantsArgs a, const Schedule *sched, const Schedule *refsched)
{
	MeasureOpts *o = &a.mo;
	LfmError err = {{0}};
	ReportInfo ri;
	memset(&ri, 0, sizeof ri);
	ri.model = o->model;
	ri.opts = o;
	ri.threads = a.threads;
	ri.n_threads = a.nt;
	ModelInfo mi;
	if (measure_prepare(o, &mi, &err))
		return lfm_fail("%s", err.msg);
	ri.model_hash = mi.hash;
	ri.mi = &mi;
	snprintf(ri.target, sizeof ri.target, "%s", mi.target);

	int nt = a.nt, nres = a.n * nt;   /* res[i * nt + k]: variant i at thread count k */
	VariantResult *res = calloc((size_t)nres, sizeof *res);
	ValSeqs seqs;
	ValLogits ref;
	memset(&ref, 0, sizeof ref);
	if (!res || measure_seqs(&seqs, o->seqs, o->seq_len, o->vocab, mi.bos)) {
		free(res);
		return lfm_fail("out of memory");
	}
	ri.positions = 0;
	for (int i = 0; i < seqs.n; i++)
		ri.positions += seqs.len[i];

	char builds[1100], path[1400], kld[1200];
	snprintf(builds, sizeof builds, "%s/builds", a.out_dir);
	snprintf(kld, sizeof kld, "%s/f32-reference.kld", builds);
	int rc = 1, failed = 0;
	bool made_builds = false, created_out = access(a.out_dir, F_OK) != 0;
	if (measure_mkdir(a.out_dir, &err) || measure_mkdir(builds, &err))
		goto fail;
	made_builds = true;

	/* 2-3. the reference, then each variant */
	VariantResult refres;
	memset(&refres, 0, sizeof refres);
	snprintf(path, sizeof path, "%s/f32-reference", builds);
	fprintf(stderr, "lfm2c: variants: compiling the f32 reference (f32 weights, no fusion)\n");
	if (build_variant(&a, refsched, "f32 reference", path, &seqs, NULL, &refres, &ref, &mi, kld, &ri.text_ref, &err))
		goto fail;
	if (o->eval.path)
		fprintf(stderr, "lfm2c: variants: f32 reference: PPL %.4f +- %.4f on %s (%d chunks of %d)\n",
		        ri.text_ref.ppl, ri.text_ref.ppl_err, o->eval.path, mi.text_chunks, mi.text_ctx);
	for (int i = 0; i < a.n; i++) {
		VariantResult *r = &res[i * nt];
		variant_name(a.schedules[i], res, i, nt);
		r->schedule = a.schedules[i];
		snprintf(path, sizeof path, "%s/v%d-%s", builds, i + 1, r->name);
		fprintf(stderr, "lfm2c: variants: compiling %s (%s)\n", r->name, r->schedule);
		if (build_variant(&a, &sched[i], r->schedule, path, &seqs, &ref, r, NULL, &mi, kld, NULL, &err)) {
			if (!a.keep_going)
				goto fail;
			snprintf(r->error, sizeof r->error, "%s", err.msg);
			fprintf(stderr, "lfm2c: variants: %s\n", err.msg);
		} else {
			fprintf(stderr, "lfm2c: variants: %s: compiled in %.2f s%s, max err %.3e, KLD %.3e, "
			        "top-1 %.1f%%", r->name, r->build.compile_s, r->build.cached ? " (build cache)" : "",
			        r->acc.max_rel, r->acc.kld_mean, 100.0 * r->acc.top1);
			if (r->acc.text)
				fprintf(stderr, " (on the text), PPL %.4f", r->acc.ppl);
			fputc('\n', stderr);
		}
		for (int k = 0; k < nt; k++) {   /* the same build at every thread count */
			if (k)
				res[i * nt + k] = *r;
			res[i * nt + k].threads = a.threads[k];
		}
		failed += r->error[0] ? nt : 0;
	}

	/* 4. timing, interleaved */
	for (int run = 0; run < o->runs; run++) {
		fprintf(stderr, "lfm2c: variants: timing run %d of %d\n", run + 1, o->runs);
		for (int j = 0; j < nres; j++) {
			VariantResult *r = &res[j % a.n * nt + j / a.n];   /* thread count by thread count */
			MeasureOpts ot = *o;
			ot.threads = r->threads;
			if (r->error[0])
				continue;
			if (measure_time_once(&ot, &r->build, &r->time, &err)) {
				if (!a.keep_going)
					goto fail;
				snprintf(r->error, sizeof r->error, "%.200s: %.800s", r->schedule, err.msg);
				fprintf(stderr, "lfm2c: variants: %s\n", r->error);
				failed++;
				continue;
			}
			if (r->time.resident_max > ri.resident_max)
				ri.resident_max = r->time.resident_max;
		}
	}
	for (int i = 0; i < nres; i++) {
		VariantResult *r = &res[i];
		r->decode = measure_median(r->time.decode, r->time.n);
		r->prefill = measure_median(r->time.prefill, r->time.n);
		r->load = measure_median(r->time.load, r->time.n);
	}

	/* 5. outputs */
	putchar('\n');
	report_table(stdout, &ri, res, nres);
	fflush(stdout);
	if (write_reports(a.out_dir, &ri, res, nres, &err))
		goto fail;
	rc = failed ? 1 : 0;
	if (failed)
		lfm_fail("variants: %d of %d results failed (see the table)", failed, nres);
	goto done;
fail:
	lfm_fail("%s", err.msg);
	rc = 1;
done:
	if (made_builds && !a.keep_builds)
		measure_rmtree(builds);
	if (rc && created_out && !failed)
		rmdir(a.out_dir);   /* nothing was written: leave nothing behind */
	measure_logits_free(&ref, seqs.n);
	measure_seqs_free(&seqs);
	free(res);
	return rc;
}

int cmd_variants(int argc, char **argv)
{
	VariantsArgs a;
	if (parse_args(argc, argv, &a))
		return 1;
	/* 1. inputs: every schedule parsed once, here */
	Schedule *sched = calloc((size_t)a.n + 1, sizeof *sched);
	if (!sched)
		return lfm_fail("out of memory");
	LfmError err = {{0}};
	int rc = 1, loaded = 0;
	while (loaded < a.n && !schedule_load(a.schedules[loaded], &sched[loaded], &err))
		loaded++;
	Schedule refsched;   /* the f32 reference every variant is compared with */
	measure_reference(&refsched);
	if (loaded < a.n)
		lfm_fail("%s", err.msg);
	else
		rc = run_variants(a, sched, &refsched);
	schedule_free(&refsched);
	for (int i = 0; i < loaded; i++)
		schedule_free(&sched[i]);
	free(sched);
	return rc;
}
