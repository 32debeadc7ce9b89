/*
 * schedule.h — the options of one compilation, in one value.
 *
 * A Schedule holds every choice that shapes the generated code: weight
 * formats (default and per-tensor overrides), fusions, tiles, unroll,
 * vector width.  It is made once per compile — defaults, then a schedule
 * file (JSON, specs/formats.md "Schedule files"), then the command line's
 * -q / --quant-override / --fuse on top (driver/cli_schedule.c) — checked
 * once, and passed by pointer to the passes (PassOptions.schedule) and to
 * the code generator (CodegenOptions.schedule).  `lfm2c tune` and
 * `lfm2c variants` make theirs from JSON text with schedule_parse.
 *
 *   {"version": 1,
 *    "formats": {"default": "q4_1", "overrides": {"model.embed_tokens.weight": "q8_0"}},
 *    "fusions": {"rmsnorm_fold": true, "qkv": true, ...},
 *    "tiles":   {"matmul": {"nb": 64, "mr": 4, "kc": 256, "prefetch": 4096}, "attention_block": 64},
 *    "threads": {"split": "n"},
 *    "unroll": 4, "vector_width": 8}
 *
 * Two tables drive it: fusions.h (the fusions) and schedule_keys.h (the
 * tile keys); the formats come from ir/dtypes.h.  Every key is optional
 * except "version"; an absent tile key leaves the code generator's own
 * per-target choice (Schedule.given says which were set).  Parsing is
 * strict so a typo cannot silently fall back to a default: an unknown
 * key anywhere, a wrong JSON type, an unknown format, a value out of
 * range or a duplicate key is an error, one line
 * "FILE: key 'tiles.matmul.nb': what is wrong".
 */
#ifndef LFM2C_SCHEDULE_H
#define LFM2C_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "passes.h"

/* threads.split (schedule_keys.h "choices") */
typedef enum ThreadSplit {
	SPLIT_N = 0,      /* "n": threads share a matmul's output features */
	SPLIT_ROWS = 1,   /* "rows": threads share the token rows */
	SPLIT_AUTO = 2,   /* "auto": the code generator picks per matmul */
} ThreadSplit;

/* ------------------------------------------------------------ fusions */

/* One bool per row of fusions.h, in its order. */
typedef struct ScheduleFusions {
#define FUSION(name, on, graph, help) bool name;
#include "fusions.h"
#undef FUSION
} ScheduleFusions;

/* FUSE_ID_<name>: a fusion's row in fusion_table. */
enum {
#define FUSION(name, on, graph, help) FUSE_ID_##name,
#include "fusions.h"
#undef FUSION
	FUSE_N_IDS
};

typedef struct FusionInfo {
	const char *name;
	size_t offset;            /* of its bool in ScheduleFusions */
	bool on_by_default;
	bool graph;               /* a graph rewrite (all/none/default switch it) */
	const char *help;
} FusionInfo;

extern const FusionInfo fusion_table[];
extern const int n_fusions;

/* The defaults (specs/ir.md says which and why). */
void fusions_default(ScheduleFusions *f);
/* What --fuse none gives: every graph rewrite off, dequant_in_matmul on
 * (block formats stay blocks). */
void fusions_none(ScheduleFusions *f);
bool fusion_on(const ScheduleFusions *f, int i);
void fusion_set(ScheduleFusions *f, int i, bool on);

/* A --fuse LIST, parsed once: comma-separated items, applied left to right —
 *   all | none | default    every graph fusion on / off / as the defaults;
 *   NAME or +NAME           that fusion on;   -NAME   that fusion off.
 * A list whose first item is a bare NAME starts from none ("qkv" = only
 * qkv); one that starts with +/-NAME changes what it is applied to.
 * all / none / default leave dequant_in_matmul alone (it is a storage
 * choice, not a graph rewrite); only naming it changes it. */
#define FUSE_MAX_ITEMS 32
typedef struct FuseEdits {
	int n;
	struct {
		enum { FUSE_ALL, FUSE_NONE, FUSE_DEFAULT, FUSE_ON, FUSE_OFF } op;
		int fusion;           /* FUSE_ON / FUSE_OFF: index in fusion_table */
	} item[FUSE_MAX_ITEMS];
} FuseEdits;

/* 0, or -1 with a one-line reason in err. */
int fusions_parse(const char *list, FuseEdits *out, LfmError *err);
void fusions_apply(const FuseEdits *e, ScheduleFusions *f);

/* "rmsnorm_fold,qkv,..." of the fusions that are on (into buf). */
const char *fusions_describe(const ScheduleFusions *f, char *buf, size_t n);

/* ------------------------------------------------------------ tile keys */

/* Bits of Schedule.given: SCHED_GIVEN_<GIVEN> of schedule_keys.h. */
enum {
#define SKEY(field, given, path, lo, hi, def, choices, tune, help) SCHED_BIT_##given,
#include "schedule_keys.h"
#undef SKEY
	SCHED_N_KEYS
};
enum {
#define SKEY(field, given, path, lo, hi, def, choices, tune, help) SCHED_GIVEN_##given = 1 << SCHED_BIT_##given,
#include "schedule_keys.h"
#undef SKEY
};

typedef struct ScheduleKey {
	const char *path;         /* "tiles.matmul.nb" */
	size_t offset;            /* of its int in Schedule */
	uint32_t given;           /* its SCHED_GIVEN_ bit */
	int lo, hi, def;
	const char *choices;      /* "" or the words of a string key */
	const char *tune;         /* tune's values, "" if not an axis */
	const char *help;
} ScheduleKey;

extern const ScheduleKey schedule_keys[];

/* The value of key k in s. */
int schedule_key_value(const struct Schedule *s, int k);

/* ------------------------------------------------------------ the schedule */

typedef struct Schedule {
	int version;                  /* 1 */
	DType default_format;         /* formats.default */
	QuantOverride *overrides;     /* formats.overrides, in order; the last match wins */
	int n_overrides;
	ScheduleFusions fusions;
#define SKEY(field, given, path, lo, hi, def, choices, tune, help) int field;
#include "schedule_keys.h"
#undef SKEY
	uint32_t given;               /* SCHED_GIVEN_* of the tile keys that were set */
} Schedule;

/* Every weight f32, the default fusions, no tile key given. */
void schedule_defaults(Schedule *s);

/* Parses JSON text (`path` only names it in messages) into *s (which it
 * resets first).  On error returns -1 with one line in err and leaves *s
 * at the defaults. */
int schedule_parse(const char *text, size_t len, const char *path, Schedule *s, LfmError *err);
int schedule_load(const char *path, Schedule *s, LfmError *err);
void schedule_free(Schedule *s);

/* A deep copy (overrides duplicated); 0 or -1 (out of memory). */
int schedule_copy(Schedule *dst, const Schedule *src);

/* Appends an override (pattern copied) after the others: it wins over
 * them.  0 or -1 (out of memory). */
int schedule_add_override(Schedule *s, const char *pattern, DType format);

/* The schedule as JSON in the spec's key order (only the tile keys that
 * are given), malloc'd; NULL if out of memory. */
char *schedule_to_json(const Schedule *s, bool pretty);

/* Everything that changes the generated code, as "name value" lines for a
 * cache key (into buf). */
const char *schedule_key_text(const Schedule *s, char *buf, size_t n);

#endif
