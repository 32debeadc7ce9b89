/*
 * measure.h — compile a schedule, check its accuracy, time it: the pieces
 * `lfm2c variants` and `lfm2c tune` share.
 *
 * A variant is one `lfm2c compile MODEL --schedule FILE` build (run as a
 * child process of this very lfm2c, so a variant is exactly what a user
 * gets from the command line).  Measuring it means:
 *
 *   accuracy  its teacher-forced logits on a fixed set of token sequences
 *             (lfm2-run --tokens ... --logits) against the f32 build's
 *             (f32 weights, no fusion: measure_reference_schedule):
 *             max |logit error| / max |f32 logit| (npycmp's measure),
 *             mean KL(softmax f32 || softmax variant) over positions, and
 *             top-1 agreement;
 *   speed     prefill (one prompt of P tokens in one chunk) and decode (D
 *             tokens after a one-token prompt), each run a fresh lfm2-run
 *             process started with COLD weights: the blob is first written
 *             back (fdatasync) and dropped from the page cache
 *             (posix_fadvise DONTNEED), and how much of it stayed resident
 *             is checked with mincore.  Weights are read into memory (the
 *             runtime's default, what llama-bench -lm none does) unless
 *             --mmap is asked for.  The rates are lfm2-run's own timing
 *             line (prefill and decode only; loading is reported apart);
 *   size      weights.bin (blob) + lfm2-run (code, with the runtime);
 *   compile   wall time of the compile, and whether the build cache served it.
 *
 * With --eval-text FILE (eval_text.h) accuracy is also judged on a real
 * text: the f32 build runs `lfm2-run --perplexity FILE --kld-base REF.kld`,
 * every variant `lfm2-run --perplexity FILE --kld REF.kld`, and the
 * variant's KLD and top-1 are those of the text's chunks (with the KLD's
 * error, p99, max, the perplexity and PPL - PPL(f32)); the max |logit
 * error| stays that of the fixed sequences — it bounds the arithmetic,
 * which tune's acceptance rule is about.
 *
 * Results go out as one table (stdout), JSON (cJSON), CSV and an SVG
 * picture: accuracy against speed and size, and bars of the rates
 * (writers here, so tune's log and variants' report look alike).
 */
#ifndef LFM2C_MEASURE_H
#define LFM2C_MEASURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "eval_text.h"
#include "frontend.h"
#include "schedule.h"

#define MEASURE_MAX_RUNS 101
#define MEASURE_MAX_SEQS 16

typedef struct MeasureOpts {
	const char *model;      /* checkpoint directory */
	const char *backend;    /* "llvm", "c", or NULL: compile's default */
	int threads;            /* lfm2-run -t */
	int runs;               /* timed runs per variant; the median is reported */
	int prefill;            /* prompt tokens of the prefill timing */
	int decode;             /* generated tokens of the decode timing */
	int seqs, seq_len;      /* validation sequences */
	int vocab;              /* the model's (prefill prompts stay inside it) */
	bool use_mmap;          /* lfm2-run --mmap */
	bool no_cache;          /* compile --no-cache */
	bool verbose;           /* print every command */
	EvalTextOpts eval;      /* --eval-text, --eval-ctx, --eval-chunks */
} MeasureOpts;

/* The validation token sequences: each starts with BOS, the rest drawn
 * uniformly from the vocabulary by a splitmix64 seeded with 1. */
typedef struct ValSeqs {
	int n;
	int len[MEASURE_MAX_SEQS];
	int32_t *tok[MEASURE_MAX_SEQS];
	int vocab;
} ValSeqs;

/* Logits of every position of every sequence, [len, vocab] each. */
typedef struct ValLogits {
	float *v[MEASURE_MAX_SEQS];
} ValLogits;

/* One compiled variant. */
typedef struct Build {
	char dir[1024];          /* compile's output directory */
	double compile_s;        /* wall time */
	bool cached;             /* served by the build cache */
	uint64_t blob_bytes;     /* weights.bin */
	uint64_t code_bytes;     /* lfm2-run */
	uint64_t artifact_hash;  /* XXH3 of lfm2-run and weights.bin: equal builds, equal behaviour */
} Build;

typedef struct Accuracy {
	double max_rel;          /* max |var - f32| / max |f32| over all logits */
	double kld_mean;         /* mean over positions, nats */
	double top1;             /* fraction of positions with the same argmax */
	bool finite;             /* no NaN / Inf in the variant's logits */
	/* --eval-text (measure_text_apply): kld_mean and top1 above are then the
	 * text's, the sequences' kept in seq_*; the rest as lfm2-run --kld says */
	bool text;
	double seq_kld_mean, seq_top1;
	double kld_err, kld_p99, kld_max, ppl, ppl_err, dppl, dppl_err;
} Accuracy;

/* What `lfm2-run --perplexity` reported (its "result:" line). */
typedef struct TextResult {
	int ctx, chunks, predictions;
	double ppl, ppl_err;
	bool compared;           /* --kld: the rest is set */
	double kld, kld_err, kld_p99, kld_max, top1, dppl, dppl_err;
} TextResult;

typedef struct Timing {
	int n;                               /* runs done */
	double prefill[MEASURE_MAX_RUNS];    /* tok/s per run */
	double decode[MEASURE_MAX_RUNS];
	double load[MEASURE_MAX_RUNS];       /* s, loading the weights (cold) */
	double resident_max;                 /* largest fraction of the blob still cached after eviction */
} Timing;

/* lfm2c itself (/proc/self/exe), for the child compiles. */
const char *measure_self_exe(void);

/* What a measurement needs to know of the model and the machine. */
typedef struct ModelInfo {
	int vocab, bos, max_pos;
	uint64_t hash;             /* the checkpoint's model hash (config + every tensor) */
	char target[640];          /* the host target: triple,cpu and its feature summary */
	/* --eval-text: the chunks (measure_prepare cuts them, as lfm2-run will) */
	uint64_t text_hash;        /* lfm2_eval_plan.hash: text, tokenizer, ctx, chunks */
	int text_ctx, text_chunks, text_predictions;
	size_t text_tokens;
} ModelInfo;

/* Defaults: every online CPU, 3 runs, prefill 512, decode 128, 2
 * validation sequences of 32 tokens. */
void measure_default_opts(MeasureOpts *o);

/* The options variants and tune share: --threads --runs --prefill
 * --decode --seqs --len --backend --mmap -v.  Consumes argv[*i] (and its
 * value) and returns 1, returns 0 if it is not one of them, or prints
 * "lfm2c: CMD: ..." and returns -1. */
int measure_common_arg(MeasureOpts *o, const char *cmd, int argc, char **argv, int *i);
#define MEASURE_COMMON_HELP \
	"  --runs N          timed runs, the median is reported (default 3)\n" \
	"  --prefill N       prompt tokens of the prefill timing (default 512)\n" \
	"  --decode N        generated tokens of the decode timing (default 128)\n" \
	"  --seqs N          validation sequences (default 2, at most 16)\n" \
	"  --len N           tokens per validation sequence (default 32)\n" \
	"  --backend B       llvm or c (default: compile's)\n" \
	"  --mmap            lfm2-run --mmap (default: weights read into memory)\n" \
	"  -v                print every command run\n" \
	EVAL_TEXT_HELP

/* Opens o->model (checking it), fills mi and o->vocab, and checks the
 * lengths against the model (prefill and decode fit max_position); with
 * --eval-text also reads and cuts the text (a bad one fails here, before
 * any compile). */
int measure_prepare(MeasureOpts *o, ModelInfo *mi, LfmError *err);

int measure_seqs(ValSeqs *s, int n, int len, int vocab, int bos);
void measure_seqs_free(ValSeqs *s);

/* The compile pipeline, in-process (codegen/build.h: its work runs in a
 * supervised child): MODEL with schedule s into out_dir, the options'
 * backend and cache choice; on failure err says "LABEL: compile failed:
 * <the compile's own message>".  `label` names the variant in messages
 * (the schedule file, or "f32 reference").  measure_compile_text parses
 * schedule JSON first (once). */
int measure_compile_text(const MeasureOpts *o, const char *json, const char *label, const char *out_dir, Build *b,
                         LfmError *err);
int measure_compile(const MeasureOpts *o, const Schedule *s, const char *label, const char *out_dir,
                    Build *b, LfmError *err);

/* Runs the build on every sequence and reads back the logits (files in b->dir). */
int measure_logits(const MeasureOpts *o, const Build *b, const ValSeqs *s, ValLogits *out, LfmError *err);
void measure_logits_free(ValLogits *l, int n);
void measure_compare(const ValSeqs *s, const ValLogits *ref, const ValLogits *var, Accuracy *a);

/* --eval-text: runs the build's `lfm2-run --perplexity` on the text,
 * writing the base kld (write_base) or comparing with it, and reads its
 * result line into t. */
int measure_text(const MeasureOpts *o, const ModelInfo *mi, const Build *b, const char *kld, bool write_base,
                 TextResult *t, LfmError *err);
/* A variant's accuracy with the text's numbers (t compared with the base). */
void measure_text_apply(Accuracy *a, const TextResult *t);

/* Drops path from the page cache (fdatasync, posix_fadvise DONTNEED);
 * *resident is the fraction of its pages still cached afterwards (mincore). */
int measure_evict(const char *path, double *resident, LfmError *err);

/* One cold prefill run and one cold decode run, appended to t. */
int measure_time_once(const MeasureOpts *o, const Build *b, Timing *t, LfmError *err);

double measure_median(const double *v, int n);

/* The reference every variant is compared with: f32 weights, no fusion,
 * every other key at its default — the plainest build. */
void measure_reference(Schedule *s);

/* Writes text to path through a temporary file renamed into place. */
int measure_write_file(const char *path, const char *text, size_t len, LfmError *err);

/* mkdir -p for one level, "exists and is a directory" is fine. */
int measure_mkdir(const char *path, LfmError *err);
/* rm -r of a directory we created (regular files and subdirectories). */
void measure_rmtree(const char *path);

/* ------------------------------------------------------------ reports
 * (report.c) One variant's results and the writers of the table, JSON,
 * CSV and SVG.  Every writer returns malloc'd text (NULL: out of memory). */
typedef struct VariantResult {
	char name[128];
	const char *schedule;      /* the schedule file, or NULL (f32 defaults) */
	int threads;               /* lfm2-run -t of the timings */
	Build build;
	Accuracy acc;
	Timing time;
	double decode, prefill, load;   /* medians of the runs */
	char error[1024];          /* non-empty: this variant failed (--keep-going) */
} VariantResult;

typedef struct ReportInfo {
	const char *model;
	uint64_t model_hash;
	char target[640];          /* triple,cpu + feature summary */
	const MeasureOpts *opts;
	const int *threads;        /* the thread counts timed */
	int n_threads;
	int positions;             /* validation positions (sum of sequence lengths) */
	double resident_max;       /* worst residency after eviction, over every run */
	const ModelInfo *mi;       /* --eval-text's chunks (NULL: none) */
	TextResult text_ref;       /* the f32 build's perplexity on the text */
} ReportInfo;

/* "weights read into memory ...; blob evicted ..." — the conditions, one line. */
void report_conditions(char *buf, size_t cap, const ReportInfo *ri);
void report_table(FILE *f, const ReportInfo *ri, const VariantResult *v, int n);
char *report_json(const ReportInfo *ri, const VariantResult *v, int n);
char *report_csv(const ReportInfo *ri, const VariantResult *v, int n);
char *report_svg(const ReportInfo *ri, const VariantResult *v, int n);

#endif
