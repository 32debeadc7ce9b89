/*
 * schedule.h — a schedule file: every tunable choice of one compilation.
 *
 * A schedule is a small JSON file (specs/formats.md, "Schedule files"):
 *
 *   {"version": 1,
 *    "formats": {"default": "q4_1", "overrides": {"model.embed_tokens.weight": "q8_0"}},
 *    "fusions": {"rmsnorm_fold": true, "qkv": true, ...},
 *    "tiles":   {"matmul": {"nb": 64, "mr": 4, "kc": 256, "prefetch": 4096}, "attention_block": 64},
 *    "threads": {"split": "n", "count": 0},
 *    "unroll": 4, "vector_width": 8}
 *
 * Every key is optional except "version"; absent keys keep the defaults of
 * schedule_defaults().  Parsing is strict so a typo cannot silently fall
 * back to a default: an unknown key anywhere, a wrong JSON type, an unknown
 * format, a tile that is not positive or does not divide as required, an
 * impossible thread count or a duplicate key is an error, reported as one
 * line "FILE: key 'tiles.matmul.nb': what is wrong".
 *
 * The formats part turns into PassOptions (schedule_to_pass_options); the
 * rest is for the code generator, which reads it through
 * PassOptions.schedule.
 */
#ifndef LFM2C_SCHEDULE_H
#define LFM2C_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "passes.h"

typedef enum ThreadSplit {
	SPLIT_N = 0,      /* "n": threads share a matmul's output features */
	SPLIT_ROWS = 1,   /* "rows": threads share the token rows */
	SPLIT_AUTO = 2,   /* "auto": the code generator picks per matmul */
} ThreadSplit;

/* The fusion passes (passes/fuse.c, specs/ir.md "Fusions"). */
typedef struct ScheduleFusions {
	bool rmsnorm_fold;        /* fold RMSNorm weights into the next matmul */
	bool qkv;                 /* one matmul for q, k, v */
	bool w1w3_swiglu;         /* w1 and w3 in one pass with SiLU*mul epilogue */
	bool residual_epilogue;   /* add the residual in the matmul's epilogue */
	bool conv_chain;          /* B*x, short conv and C* in one loop */
	bool qk_norm_rope;        /* QK-norm and RoPE in one loop */
	bool dequant_in_matmul;   /* block-format weights stored as blocks, read by
	                             kernels that dequantize inside the matmul
	                             (false: stored as f32 holding the format's
	                             quantize-then-dequantize values) */
} ScheduleFusions;

/* The defaults (specs/ir.md says which and why). */
void fusions_default(ScheduleFusions *f);

/* Applies a --fuse LIST to f: comma-separated items, left to right —
 *   all | none | default    every graph fusion on / off / as the defaults;
 *   NAME or +NAME           that fusion on;   -NAME   that fusion off.
 * A list whose first item is a bare NAME starts from none ("qkv" = only
 * qkv); one that starts with +/-NAME changes f.  all / none / default leave
 * dequant_in_matmul alone (it is a storage choice, not a graph rewrite);
 * only naming it changes it.  0, or -1 with a one-line reason in err. */
int fusions_parse(const char *list, ScheduleFusions *f, LfmError *err);

/* "rmsnorm_fold,qkv,..." of the fusions that are on (into buf). */
const char *fusions_describe(const ScheduleFusions *f, char *buf, size_t n);

typedef struct Schedule {
	int version;                  /* 1 */
	DType default_format;         /* formats.default */
	QuantOverride *overrides;     /* formats.overrides, in file order */
	int n_overrides;
	ScheduleFusions fusions;
	int matmul_nb, matmul_mr, matmul_kc;   /* tiles.matmul */
	int matmul_prefetch;          /* tiles.matmul.prefetch: bytes ahead (decode GEMV), 0 = none */
	int attention_block;          /* tiles.attention_block */
	ThreadSplit split;            /* threads.split */
	int threads;                  /* threads.count, 0 = every core at run time */
	int unroll;
	int vector_width;             /* f32 lanes: 1 (scalar), 2, 4, 8, 16, 32 or 64 */
	unsigned given;               /* SCHED_GIVEN_* of the keys the file set: the code
	                                 generator keeps its per-target choice for the others */
} Schedule;

/* Bits of Schedule.given. */
enum {
	SCHED_GIVEN_NB = 1u << 0,
	SCHED_GIVEN_MR = 1u << 1,
	SCHED_GIVEN_KC = 1u << 2,
	SCHED_GIVEN_ATTENTION_BLOCK = 1u << 3,
	SCHED_GIVEN_SPLIT = 1u << 4,
	SCHED_GIVEN_THREADS = 1u << 5,
	SCHED_GIVEN_UNROLL = 1u << 6,
	SCHED_GIVEN_VECTOR_WIDTH = 1u << 7,
	SCHED_GIVEN_PREFETCH = 1u << 8,
};

/* Limits the validator enforces (specs/formats.md). */
#define SCHEDULE_MAX_THREADS 1024
#define SCHEDULE_MAX_TILE 65536
#define SCHEDULE_MAX_MR 32
#define SCHEDULE_MAX_UNROLL 64

/* Fills the defaults: every weight f32, the default fusions, nb 64, mr 4, kc 256, prefetch 4096,
 * attention_block 64, split "n", 0 threads (all cores), unroll 4,
 * vector_width 8. */
void schedule_defaults(Schedule *s);

/* Parses JSON text (`path` only names it in messages).  On error returns
 * -1 with one line in err and leaves *s freed (defaults). */
int schedule_parse(const char *text, size_t len, const char *path, Schedule *s, LfmError *err);
int schedule_load(const char *path, Schedule *s, LfmError *err);
void schedule_free(Schedule *s);

/* Sets o's formats from s (pointing into s, which must outlive o) and
 * o->schedule = s.  Other fields of o are left alone. */
void schedule_to_pass_options(const Schedule *s, PassOptions *o);

#endif
