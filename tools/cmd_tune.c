/*
 * cmd_tune.c — `lfm2c tune MODEL [-o best.json]`: search the schedule space
 * for the fastest accurate build of one model on this machine.
 *
 *   lfm2c tune MODEL_DIR [-o best.json] [--budget N] [--beam B]
 *         [--objective decode|prefill|mix] [--formats f32,f16,...]
 *         [--start FILE] [--max-error X] [--cache] [--work DIR]
 *         [--threads N] [--runs N] [--prefill N] [--decode N] ... [-v]
 *
 * The space is the schedule file's (specs/formats.md), made from its
 * tables (build_axes): the weight format, each fusion on/off, and every
 * tile key with tune values in passes/schedule_keys.h — a list of axes,
 * each a key path and its discrete values, the start's first (for a tile:
 * the key left out, so the code generator's per-target choice).  The search is a beam
 * search by axis: for each axis in turn, every schedule in the beam is
 * varied along that axis (each value), the new candidates are measured,
 * and the B best of beam + candidates form the next beam — "best" with a
 * margin: going through them in evaluation order, a candidate displaces
 * an earlier one only when it is more than --min-gain (2 %) faster, so
 * noise does not move the search away from the defaults.  It stops when
 * every axis was visited or the budget (candidates evaluated, the start
 * included) is spent; the best candidate is written out as a complete
 * schedule.  Axes go from the largest effect (format, then fusions) to the
 * tiles, in the tables' order.
 *
 * A candidate is measured like a variant (measure.c): compiled, its logits
 * compared with the f32 build's, then timed with cold weights (median of
 * --runs).  Whatever the compiler does not honour costs nothing twice: a
 * candidate whose build is byte-identical to an earlier one's (same
 * lfm2-run and blob hash) takes that measurement, so a no-op change never
 * wins by noise; ties go to the candidate evaluated first (the default
 * side).  Given the measurements, the search is deterministic.
 *
 * Accuracy.  Every candidate's logits are compared with the f32 build's
 * (f32 weights, no fusion): max |logit error| / max |f32 logit|, KLD,
 * top-1 — reported.  What a candidate must meet depends on its formats,
 * and is measured, not guessed: the "format reference" of a set of
 * formats is the plain build (dequant_in_matmul off, no other fusion but
 * rmsnorm_fold as the candidate has it, since folding changes the values
 * that get rounded) whose weights hold that format's quantize-then-
 * dequantize values in f32, so its arithmetic is the f32 build's and its
 * error is exactly the format's own, on this model.  A candidate is rejected when its logits are not
 * finite, or when
 *   - its weights are all f32: error vs the f32 build > 1e-4;
 *   - otherwise: error vs its format reference > a bound that is 1e-4 —
 *     f32-class arithmetic on the format's values, what f16 kernels do —
 *     raised to 2 x the error of the bf16 format reference when it uses
 *     bf16 (a kernel may take bf16 dot products, rounding the activations
 *     to bf16), and to 2 x the q8_0 format reference's error when it uses
 *     a block format (q8_0, q4_0, q4_1: the kernels round activations to
 *     int8 blocks) — rounding activations costs about what rounding the
 *     weights to the same precision does;
 * --max-error X replaces these bounds (X against the f32 build).  So the
 * bound scales with each format's expected error and never lets a fusion,
 * tile or kernel trade accuracy beyond what its arithmetic explains.
 * With --eval-text FILE the KLD and top-1 reported (log, cache) are those
 * of the text's chunks, with the perplexity on the text (lfm2-run
 * --perplexity --kld against the f32 build's base, measure.c); the rule
 * above still judges the max error on the fixed sequences.
 *
 * Cache.  Each measurement is stored in $XDG_CACHE_HOME/lfm2c/tune/ (else
 * ~/.cache/lfm2c/tune/) under the XXH3 of the model hash, the canonical
 * schedule (measure_schedule_json: the spec's key order), the target (triple, CPU,
 * features, backend), lfm2c's version and binary, and the measurement
 * settings (threads, runs, lengths, mmap).  A repeated tune reuses them
 * and takes the same path.  Compiles run with --no-cache unless --cache
 * (candidates of a large model would fill the build cache with blobs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cache.h"
#include "codegen.h"
#include "machine.h"
#include "tools.h"
#include "fileio.h"
#include "measure.h"
#include "schedule.h"
#include "formats.h"

#ifndef LFM2C_VERSION
#define LFM2C_VERSION "dev"
#endif

#define MAX_CANDS 4096

typedef enum Objective { OBJ_MIX, OBJ_DECODE, OBJ_PREFILL } Objective;

/* One axis of the space: a key path and its values as JSON, the default
 * first; ABSENT leaves the key out (the code generator's per-target choice).
 * A value the code generator refuses (codegen_check_schedule, e.g. a K
 * panel tile its matmul does not split) is skipped without spending
 * budget, so the space grows by itself as the code generator learns. */
#define ABSENT "-"
typedef struct Axis {
	char path[64];
	char values[8][24];
	int n;
} Axis;

#define MAX_AXES 64
typedef struct Axes {
	Axis a[MAX_AXES];
	int n;
} Axes;

static Axis *new_axis(Axes *x, const char *path)
{
	if (x->n == MAX_AXES)
		return NULL;
	Axis *a = &x->a[x->n++];
	memset(a, 0, sizeof *a);
	snprintf(a->path, sizeof a->path, "%s", path);
	return a;
}

static void add_value(Axis *a, const char *fmt, const char *v)
{
	if (a && a->n < 8)
		snprintf(a->values[a->n++], sizeof a->values[0], fmt, v);
}

/* The space, from the tables: the weight format (ir/dtypes.h), the
 * fusions (passes/fusions.h: storage choices first, at their default,
 * then each graph rewrite off and on), then every tile key with tune
 * values (passes/schedule_keys.h), left out first. */
static void build_axes(Axes *x)
{
	x->n = 0;
	Axis *a = new_axis(x, "formats.default");
	for (int t = 0; t < 16; t++)
		if (quant_is_format((DType)t))
			add_value(a, "\"%s\"", quant_format_name((DType)t));
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n_fusions; i++) {
			if (fusion_table[i].graph != (pass == 1))
				continue;
			char path[64];
			snprintf(path, sizeof path, "fusions.%s", fusion_table[i].name);
			a = new_axis(x, path);
			bool first = fusion_table[i].graph ? false : fusion_table[i].on_by_default;
			add_value(a, "%s", first ? "true" : "false");
			add_value(a, "%s", first ? "false" : "true");
		}
	for (int k = 0; k < SCHED_N_KEYS; k++) {
		const ScheduleKey *sk = &schedule_keys[k];
		if (!*sk->tune)
			continue;
		a = new_axis(x, sk->path);
		add_value(a, "%s", ABSENT);
		for (const char *p = sk->tune; *p;) {
			size_t n = strcspn(p, " ");
			char word[24];
			snprintf(word, sizeof word, "%.*s", (int)n, p);
			add_value(a, *sk->choices ? "\"%s\"" : "%s", word);
			p += n + (p[n] == ' ');
		}
	}
}

typedef struct Cand {
	char *canon;            /* canonical schedule, one line */
	char desc[512];         /* its difference from the start schedule */
	char formats[512];      /* its formats ("q4_1,model.layers.0.*=q8_0") */
	int kind;               /* KIND_F32, KIND_FLOAT (f16/bf16 in it), KIND_BLOCK */
	bool bf16;              /* bf16 among its formats */
	/* measurement */
	bool from_cache;
	int same_as;            /* build identical to candidate same_as (-1: none) */
	char fail[512];         /* compile or run failure */
	double decode, prefill, max_rel, kld, top1;
	double ppl;             /* --eval-text: perplexity on the text (kld, top1 are the text's) */
	double fmt_rel;         /* error vs its format reference (not KIND_F32) */
	bool finite;
	uint64_t blob_bytes, code_bytes, artifact;
	/* verdict */
	bool ok;
	char reason[256];
	double score;
} Cand;

enum { KIND_F32, KIND_FLOAT, KIND_BLOCK };

/* The format reference of one set of formats (see the essay). */
#define MAX_FREFS 64
typedef struct FormatRef {
	char formats[512];
	char *canon;            /* its schedule */
	bool have_err;
	double err;             /* max rel error vs the f32 build */
	bool have_logits;
	ValLogits logits;
} FormatRef;

typedef struct Tune {
	MeasureOpts mo;
	ModelInfo mi;
	Target target;          /* the host, to ask the code generator what it follows */
	Machine machine;        /* its model (machine.h), from which the tiles are derived */
	const char *out, *start_path, *work_arg;
	int budget, beam;
	Objective obj;
	bool formats_allowed[16];
	double max_error;       /* 0: the per-format rule */
	bool use_cache;
	double min_gain;        /* a later candidate must beat an earlier one by this fraction */
	/* state */
	int best;               /* the pick of the last search step */
	Cand *c;
	int n;
	char work[1100];
	bool made_work;
	bool have_ref;
	Build ref;
	char ref_kld[1200];     /* --eval-text: the f32 build's base (in work) */
	TextResult text_ref;
	ValSeqs seqs;
	ValLogits ref_logits;
	FormatRef fref[MAX_FREFS];
	int nfref;
	uint64_t self_hash;
	char cache_root[1024];
} Tune;

/* ------------------------------------------------------------ arguments */

static const char help_text[] =
	"usage: lfm2c tune MODEL_DIR [options]\n"
	"Beam search over the schedule space (format, fusions, vector width, tiles, unroll,\n"
	"attention block, thread split); every candidate compiled, validated against the f32\n"
	"build and timed with cold weights; measurements cached in $XDG_CACHE_HOME/lfm2c/tune/.\n"
	"  -o FILE           where the best schedule goes (default best.json)\n"
	"  --budget N        candidates to evaluate, the start included (default 20)\n"
	"  --beam B          schedules kept per step (default 2)\n"
	"  --objective O     decode, prefill or mix (geometric mean of both; default mix)\n"
	"  --formats LIST    formats to try, comma separated (default: f32,f16,bf16,q8_0,q4_1,q4_0)\n"
	"  --start FILE      start from this schedule (default: every default)\n"
	"  --max-error X     accept max |logit error| / max |logit| up to X (default: per format)\n"
	"  --min-gain F      a candidate must beat an earlier one by this fraction (default 0.02)\n"
	"  --cache           let the build cache serve and keep candidate compiles\n"
	"  --work DIR        where candidates are built (default: next to -o, removed at the end)\n"
	"  --threads N       lfm2-run threads (default: online CPUs)\n"
	MEASURE_COMMON_HELP;

static int parse_formats(Tune *t, const char *list)
{
	memset(t->formats_allowed, 0, sizeof t->formats_allowed);
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	int n = 0;
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		DType d;
		if (quant_format_parse(tok, &d) || (unsigned)d >= 16)
			return lfm_fail("tune: --formats: unknown format '%s' (known: %s)", tok, quant_format_list());
		t->formats_allowed[d] = true;
		n++;
	}
	if (!n)
		return lfm_fail("tune: --formats needs at least one format");
	return 0;
}

static int parse_args(int argc, char **argv, Tune *t)
{
	memset(t, 0, sizeof *t);
	measure_default_opts(&t->mo);
	t->out = "best.json";
	t->budget = 20;
	t->beam = 2;
	t->min_gain = 0.02;
	t->best = -1;
	for (int d = 0; d < 16; d++)
		t->formats_allowed[d] = true;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int r = measure_common_arg(&t->mo, "tune", argc, argv, &i);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		bool valued = !strcmp(s, "-o") || !strcmp(s, "--budget") || !strcmp(s, "--beam")
		              || !strcmp(s, "--objective") || !strcmp(s, "--formats") || !strcmp(s, "--start")
		              || !strcmp(s, "--max-error") || !strcmp(s, "--work") || !strcmp(s, "--min-gain");
		if (valued && !val)
			return lfm_fail("tune: %s needs a value", s);
		char *end;
		if (!strcmp(s, "-o"))
			t->out = val;
		else if (!strcmp(s, "--budget") || !strcmp(s, "--beam")) {
			long v = strtol(val, &end, 10);
			if (*end || !*val || v < 1 || v > (!strcmp(s, "--beam") ? 64 : MAX_CANDS))
				return lfm_fail("tune: %s takes a positive integer (at most %d), got '%s'", s,
				                   !strcmp(s, "--beam") ? 64 : MAX_CANDS, val);
			*(!strcmp(s, "--beam") ? &t->beam : &t->budget) = (int)v;
		} else if (!strcmp(s, "--objective")) {
			if (!strcmp(val, "mix"))
				t->obj = OBJ_MIX;
			else if (!strcmp(val, "decode"))
				t->obj = OBJ_DECODE;
			else if (!strcmp(val, "prefill"))
				t->obj = OBJ_PREFILL;
			else
				return lfm_fail("tune: --objective takes decode, prefill or mix (got '%s')", val);
		} else if (!strcmp(s, "--formats")) {
			if (parse_formats(t, val))
				return -1;
		} else if (!strcmp(s, "--start"))
			t->start_path = val;
		else if (!strcmp(s, "--max-error")) {
			double v = strtod(val, &end);
			if (*end || !*val || !(v > 0) || !isfinite(v))
				return lfm_fail("tune: --max-error takes a positive number, got '%s'", val);
			t->max_error = v;
		} else if (!strcmp(s, "--min-gain")) {
			double v = strtod(val, &end);
			if (*end || !*val || !(v >= 0) || v > 10)
				return lfm_fail("tune: --min-gain takes a fraction in 0..10, got '%s'", val);
			t->min_gain = v;
		} else if (!strcmp(s, "--work"))
			t->work_arg = val;
		else if (!strcmp(s, "--cache"))
			t->use_cache = true;
		else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(help_text, stdout);
			exit(0);
		} else if (s[0] == '-' && s[1])
			return lfm_fail("tune: unknown option '%s' (see lfm2c tune --help)", s);
		else if (!t->mo.model)
			t->mo.model = s;
		else
			return lfm_fail("tune: unexpected argument '%s'", s);
		if (valued)
			i++;
	}
	if (!t->mo.model)
		return lfm_fail("usage: lfm2c tune MODEL_DIR [-o best.json] [--budget N] [--threads N] (--help)");
	t->mo.no_cache = !t->use_cache;
	return 0;
}

/* ------------------------------------------------------------ schedules */

static int format_kind(DType d)
{
	return d == DT_F32 ? KIND_F32 : d == DT_F16 || d == DT_BF16 ? KIND_FLOAT : KIND_BLOCK;
}

/* Parses candidate text (validating it as a schedule file would be) and
 * prints it canonically.  Returns NULL if the schedule is invalid; formats
 * and *kind describe its formats, *fref_canon (malloc'd) is its format
 * reference's schedule. */
static char *canonical_candidate(const Machine *mc, const char *text, char *formats, size_t fcap, int *kind,
                                 bool *bf16, DType *fmt, char **fref_canon)
{
	Schedule s;
	LfmError err;
	if (schedule_parse(text, strlen(text), "candidate", &s, &err))
		return NULL;
	Tiling plan;
	if (codegen_plan(&s, "candidate", mc, &plan, &err)) {
		schedule_free(&s);
		return NULL;
	}
	char *canon = schedule_to_json(&s, false);
	*fmt = s.default_format;
	*kind = format_kind(s.default_format);
	*bf16 = s.default_format == DT_BF16;
	size_t at = (size_t)snprintf(formats, fcap, "%s", quant_format_name(s.default_format));
	for (int i = 0; i < s.n_overrides; i++) {
		int k = format_kind(s.overrides[i].format);
		*kind = k > *kind ? k : *kind;
		*bf16 |= s.overrides[i].format == DT_BF16;
		if (at < fcap)
			at += (size_t)snprintf(formats + at, fcap - at, ",%s=%s", s.overrides[i].pattern,
			                       quant_format_name(s.overrides[i].format));
	}
	/* the format reference: same formats, values stored in f32, target
	 * tiles, no fusion but rmsnorm_fold — folding changes the weights
	 * that get rounded, so it changes which values the format holds */
	bool fold = s.fusions.rmsnorm_fold;
	memset(&s.fusions, 0, sizeof s.fusions);
	s.fusions.rmsnorm_fold = fold;
	s.given = 0;
	if (fold && at < fcap)
		snprintf(formats + at, fcap - at, " (rmsnorm_fold)");
	*fref_canon = schedule_to_json(&s, false);
	schedule_free(&s);
	if (!*fref_canon) {
		free(canon);
		return NULL;
	}
	return canon;
}

/* Sets key path "a.b.c" of root to the JSON literal value (creating the
 * objects on the way), or removes it for ABSENT. */
static int set_path(cJSON *root, const char *path, const char *value)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	cJSON *obj = root;
	char *key = buf;
	for (char *dot; (dot = strchr(key, '.')); key = dot + 1) {
		*dot = 0;
		cJSON *next = cJSON_GetObjectItemCaseSensitive(obj, key);
		if (!next && strcmp(value, ABSENT))
			next = cJSON_AddObjectToObject(obj, key);
		if (!next)
			return 0;   /* nothing to remove */
		if (!cJSON_IsObject(next))
			return -1;
		obj = next;
	}
	if (!strcmp(value, ABSENT)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
		return 0;
	}
	cJSON *v = cJSON_Parse(value);
	if (!v)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v) ? 0 : (cJSON_Delete(v), -1);
	return cJSON_AddItemToObject(obj, key, v) ? 0 : (cJSON_Delete(v), -1);
}

/* Leaves of a JSON tree as "path=value" lines into out. */
static void flatten(const cJSON *node, const char *prefix, char lines[][160], int *n, int cap)
{
	for (const cJSON *c = node->child; c; c = c->next) {
		char path[128];
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", c->string);
		if (cJSON_IsObject(c)) {
			flatten(c, path, lines, n, cap);
			continue;
		}
		char *v = cJSON_PrintUnformatted(c);
		if (*n < cap && v)
			snprintf(lines[(*n)++], 160, "%s=%s", path, cJSON_IsString(c) ? c->valuestring : v);
		free(v);
	}
}

/* One changed leaf, short: "format=q8_0", "+qkv" / "-qkv", "nb=32". */
static void short_item(const char *line, char *out, size_t cap)
{
	static const struct { const char *from, *to; } names[] = {
		{"formats.default=", "format="}, {"formats.overrides.", ""}, {"tiles.matmul.", ""},
		{"tiles.attention_block=", "attn_block="}, {"threads.", ""},
	};
	if (!strncmp(line, "fusions.", 8)) {
		size_t k = strcspn(line + 8, "=");
		snprintf(out, cap, "%c%.*s", !strcmp(line + 8 + k, "=true") ? '+' : '-', (int)k, line + 8);
		return;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strncmp(line, names[i].from, strlen(names[i].from))) {
			snprintf(out, cap, "%s%s", names[i].to, line + strlen(names[i].from));
			return;
		}
	snprintf(out, cap, "%s", line);
}

/* "format=q8_0 +qkv nb=32": the leaves of `canon` that differ from `base`
 * (a leaf gone: "-key", back to the code generator's choice). */
static void describe(const char *base, const char *canon, char *out, size_t cap)
{
	static char la[256][160], lb[256][160];
	int na = 0, nb = 0;
	cJSON *a = cJSON_Parse(base), *b = cJSON_Parse(canon);
	if (a)
		flatten(a, "", la, &na, 256);
	if (b)
		flatten(b, "", lb, &nb, 256);
	cJSON_Delete(a);
	cJSON_Delete(b);
	size_t at = 0;
	out[0] = 0;
	for (int i = 0; i < nb; i++) {
		bool same = false;
		for (int j = 0; j < na && !same; j++)
			same = !strcmp(la[j], lb[i]);
		char item[160];
		short_item(lb[i], item, sizeof item);
		if (!same && at < cap)
			at += (size_t)snprintf(out + at, cap - at, "%s%s", at ? " " : "", item);
	}
	for (int j = 0; j < na; j++) {   /* keys gone (an override dropped) */
		size_t klen = strcspn(la[j], "=");
		bool found = false;
		for (int i = 0; i < nb && !found; i++)
			found = !strncmp(la[j], lb[i], klen) && lb[i][klen] == '=';
		char item[160];
		short_item(la[j], item, sizeof item);
		item[strcspn(item, "=")] = 0;
		if (!found && at < cap)
			at += (size_t)snprintf(out + at, cap - at, "%s%s=default", at ? " " : "", item);
	}
	if (!out[0])
		snprintf(out, cap, "(start)");
}

/* ------------------------------------------------------------ the results cache
 * One JSON file per measured schedule; role "candidate" (timed) or
 * "format-reference" (accuracy only). */

static uint64_t result_key(const Tune *t, const char *role, const char *canon)
{
	const MeasureOpts *o = &t->mo;
	CacheKey k = {{0}, 0};
	cache_key_add(&k, "lfm2c-tune-result", "2");
	cache_key_add(&k, "role", "%s", role);
	cache_key_add(&k, "model", "%016" PRIx64, t->mi.hash);
	cache_key_add(&k, "schedule", "%s", canon);
	cache_key_add(&k, "target", "%s", t->mi.target);
	cache_key_add(&k, "backend", "%s", o->backend ? o->backend : "default");
	cache_key_add(&k, "version", "%s", LFM2C_VERSION);
	cache_key_add(&k, "lfm2c-binary", "%016" PRIx64, t->self_hash);
	cache_key_add(&k, "cflags", "%s", getenv("LFM2C_CFLAGS") ? getenv("LFM2C_CFLAGS") : "");
	cache_key_add(&k, "measure", "threads %d runs %d prefill %d decode %d seqs %d len %d mmap %d", o->threads,
	              o->runs, o->prefill, o->decode, o->seqs, o->seq_len, o->use_mmap);
	if (o->eval.path)   /* text, tokenizer, chunk length and count in one hash */
		cache_key_add(&k, "eval-text", "%016" PRIx64, t->mi.text_hash);
	return cache_key_hash(&k);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The stored entry `key` (parsed), or NULL. */
static cJSON *cache_read(const Tune *t, uint64_t key)
{
	if (!t->cache_root[0])
		return NULL;
	char path[1200];
	snprintf(path, sizeof path, "%s/tune/%016" PRIx64 ".json", t->cache_root, key);
	FILE *f = lfm_fopen_input(path, NULL);   /* absent, or not a regular file: a miss */
	if (!f)
		return NULL;
	char buf[16384];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return cJSON_Parse(buf);
}

/* Best effort, like the build cache: a failure only costs a re-measurement. */
static void cache_write(const Tune *t, uint64_t key, cJSON *j)
{
	char dir[1100], path[1200];
	LfmError err;
	snprintf(dir, sizeof dir, "%s/tune", t->cache_root);
	if (t->cache_root[0] && !measure_mkdir(t->cache_root, &err) && !measure_mkdir(dir, &err)) {
		char *text = cJSON_Print(j);
		snprintf(path, sizeof path, "%s/%016" PRIx64 ".json", dir, key);
		if (text)
			measure_write_file(path, text, strlen(text), &err);
		free(text);
	}
	cJSON_Delete(j);
}

/* A stored measurement of candidate c, if any (a malformed entry is a miss). */
static bool cache_load(const Tune *t, uint64_t key, Cand *c)
{
	cJSON *j = cache_read(t, key);
	if (!j)
		return false;
	const cJSON *fail = cJSON_GetObjectItemCaseSensitive(j, "failed");
	const cJSON *art = cJSON_GetObjectItemCaseSensitive(j, "artifact");
	bool ok = false;
	if (cJSON_IsString(fail)) {
		snprintf(c->fail, sizeof c->fail, "%s", fail->valuestring);
		ok = true;
	} else if (cJSON_IsString(art)) {
		c->decode = num(j, "decode_tok_s");
		c->prefill = num(j, "prefill_tok_s");
		c->max_rel = num(j, "max_rel_error");
		c->fmt_rel = c->kind == KIND_F32 ? c->max_rel : num(j, "format_rel_error");
		c->kld = num(j, "kld_mean");
		c->top1 = num(j, "top1");
		c->ppl = t->mo.eval.path ? num(j, "ppl") : 0;
		c->finite = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "finite"));
		c->blob_bytes = (uint64_t)num(j, "blob_bytes");
		c->code_bytes = (uint64_t)num(j, "code_bytes");
		c->artifact = strtoull(art->valuestring, NULL, 16);
		ok = isfinite(c->decode) && isfinite(c->prefill) && isfinite(c->top1)
		     && (!c->finite || (isfinite(c->max_rel) && isfinite(c->kld) && isfinite(c->fmt_rel)
		                        && isfinite(c->ppl)));
	}
	cJSON_Delete(j);
	return ok;
}

static void cache_save(const Tune *t, uint64_t key, const Cand *c)
{
	cJSON *j = cJSON_CreateObject();
	char art[32];
	if (!j)
		return;
	cJSON_AddStringToObject(j, "role", "candidate");
	cJSON_AddStringToObject(j, "schedule", c->canon);
	if (c->fail[0]) {
		cJSON_AddStringToObject(j, "failed", c->fail);
	} else {
		snprintf(art, sizeof art, "%016" PRIx64, c->artifact);
		cJSON_AddStringToObject(j, "artifact", art);
		cJSON_AddNumberToObject(j, "decode_tok_s", c->decode);
		cJSON_AddNumberToObject(j, "prefill_tok_s", c->prefill);
		cJSON_AddBoolToObject(j, "finite", c->finite);
		if (c->finite) {
			cJSON_AddNumberToObject(j, "max_rel_error", c->max_rel);
			cJSON_AddNumberToObject(j, "format_rel_error", c->fmt_rel);
			cJSON_AddNumberToObject(j, "kld_mean", c->kld);
			if (t->mo.eval.path)
				cJSON_AddNumberToObject(j, "ppl", c->ppl);
		}
		cJSON_AddNumberToObject(j, "top1", c->top1);
		cJSON_AddNumberToObject(j, "blob_bytes", (double)c->blob_bytes);
		cJSON_AddNumberToObject(j, "code_bytes", (double)c->code_bytes);
	}
	cache_write(t, key, j);
}

/* ------------------------------------------------------------ measuring */

static int ensure_reference(Tune *t, LfmError *err)
{
	if (t->have_ref)
		return 0;
	char dir[1200];
	snprintf(dir, sizeof dir, "%s/f32-reference", t->work);
	fprintf(stderr, "lfm2c: tune: compiling the f32 reference (f32 weights, no fusion)\n");
	Schedule ref;
	measure_reference(&ref);
	snprintf(t->ref_kld, sizeof t->ref_kld, "%s/f32-reference.kld", t->work);
	int rc = measure_compile(&t->mo, &ref, "f32 reference", dir, &t->ref, err)
	         || measure_logits(&t->mo, &t->ref, &t->seqs, &t->ref_logits, err)
	         || (t->mo.eval.path && measure_text(&t->mo, &t->mi, &t->ref, t->ref_kld, true, &t->text_ref, err)) ? -1 : 0;
	schedule_free(&ref);
	if (!rc && t->mo.eval.path)
		fprintf(stderr, "lfm2c: tune: f32 reference: PPL %.4f +- %.4f on %s (%d chunks of %d)\n", t->text_ref.ppl,
		        t->text_ref.ppl_err, t->mo.eval.path, t->mi.text_chunks, t->mi.text_ctx);
	measure_rmtree(dir);   /* the logits are all it is needed for */
	if (rc)
		measure_logits_free(&t->ref_logits, t->seqs.n);
	t->have_ref = !rc;
	return rc;
}

/* The format reference of schedule text fcanon (formats `formats`): its index. */
static int fref_find(Tune *t, const char *formats, char *fcanon)
{
	for (int i = 0; i < t->nfref; i++)
		if (!strcmp(t->fref[i].formats, formats)) {
			free(fcanon);
			return i;
		}
	if (t->nfref >= MAX_FREFS) {
		free(fcanon);
		return -1;
	}
	FormatRef *f = &t->fref[t->nfref];
	memset(f, 0, sizeof *f);
	snprintf(f->formats, sizeof f->formats, "%s", formats);
	f->canon = fcanon;
	return t->nfref++;
}

/* Builds format reference i and computes its logits and error; a failure
 * to build it fails the tune (it is a plain f32 build). */
static int fref_measure(Tune *t, int i, LfmError *err)
{
	FormatRef *f = &t->fref[i];
	if (f->have_logits)
		return 0;
	if (ensure_reference(t, err))
		return -1;
	char dir[1200];
	snprintf(dir, sizeof dir, "%s/format-reference", t->work);
	fprintf(stderr, "lfm2c: tune: compiling the format reference of %s (the format's values in f32)\n",
	        f->formats);
	Build b;
	char label[600];
	snprintf(label, sizeof label, "format reference %s", f->formats);
	measure_rmtree(dir);
	int rc = measure_compile_text(&t->mo, f->canon, label, dir, &b, err)
	         || measure_logits(&t->mo, &b, &t->seqs, &f->logits, err) ? -1 : 0;
	measure_rmtree(dir);
	if (rc) {
		measure_logits_free(&f->logits, t->seqs.n);
		return -1;
	}
	Accuracy a;
	measure_compare(&t->seqs, &t->ref_logits, &f->logits, &a);
	if (!a.finite)
		return lfm_error(err, label, "its logits are not finite");
	f->have_logits = true;
	f->have_err = true;
	f->err = a.max_rel;
	cJSON *j = cJSON_CreateObject();
	if (j) {
		cJSON_AddStringToObject(j, "role", "format-reference");
		cJSON_AddStringToObject(j, "schedule", f->canon);
		cJSON_AddNumberToObject(j, "max_rel_error", f->err);
		cache_write(t, result_key(t, "format-reference", f->canon), j);
	}
	return 0;
}

/* Format reference i's error vs the f32 build: from the cache, else measured. */
static int fref_error(Tune *t, int i, double *out, LfmError *err)
{
	FormatRef *f = &t->fref[i];
	if (!f->have_err) {
		cJSON *j = cache_read(t, result_key(t, "format-reference", f->canon));
		double e = j ? num(j, "max_rel_error") : NAN;
		cJSON_Delete(j);
		if (isfinite(e)) {
			f->err = e;
			f->have_err = true;
		} else if (fref_measure(t, i, err)) {
			return -1;
		}
	}
	*out = f->err;
	return 0;
}

/* Compile, validate and time candidate i.  A failure of the candidate
 * itself goes into c->fail; -1 only for failures of the tune (the
 * references, the work directory). */
static int measure_cand(Tune *t, int i, int fref, LfmError *err)
{
	Cand *c = &t->c[i];
	char dir[1200];
	snprintf(dir, sizeof dir, "%s/candidate", t->work);
	measure_rmtree(dir);
	Build b;
	LfmError cerr;
	if (measure_compile_text(&t->mo, c->canon, "candidate", dir, &b, &cerr)) {
		snprintf(c->fail, sizeof c->fail, "%.500s", cerr.msg);
		measure_rmtree(dir);
		return 0;
	}
	c->blob_bytes = b.blob_bytes;
	c->code_bytes = b.code_bytes;
	c->artifact = b.artifact_hash;
	for (int j = 0; j < i; j++)
		if (!t->c[j].fail[0] && t->c[j].artifact == c->artifact) {
			c->same_as = j;
			c->decode = t->c[j].decode;
			c->prefill = t->c[j].prefill;
			c->max_rel = t->c[j].max_rel;
			c->fmt_rel = t->c[j].fmt_rel;
			c->kld = t->c[j].kld;
			c->top1 = t->c[j].top1;
			c->ppl = t->c[j].ppl;
			c->finite = t->c[j].finite;
			measure_rmtree(dir);
			return 0;
		}
	if (ensure_reference(t, err) || (c->kind != KIND_F32 && fref_measure(t, fref, err))) {
		measure_rmtree(dir);
		return -1;
	}
	ValLogits mine;
	Accuracy acc;
	Timing tm;
	memset(&tm, 0, sizeof tm);
	if (measure_logits(&t->mo, &b, &t->seqs, &mine, &cerr)) {
		snprintf(c->fail, sizeof c->fail, "%.500s", cerr.msg);
	} else {
		measure_compare(&t->seqs, &t->ref_logits, &mine, &acc);
		c->max_rel = acc.max_rel;
		c->kld = acc.kld_mean;
		c->top1 = acc.top1;
		c->finite = acc.finite;
		c->fmt_rel = acc.max_rel;
		if (c->kind != KIND_F32) {
			measure_compare(&t->seqs, &t->fref[fref].logits, &mine, &acc);
			c->fmt_rel = acc.max_rel;
		}
		TextResult tr;
		if (t->mo.eval.path && c->finite) {
			if (measure_text(&t->mo, &t->mi, &b, t->ref_kld, false, &tr, &cerr)) {
				snprintf(c->fail, sizeof c->fail, "%.500s", cerr.msg);
			} else {
				c->kld = tr.kld;
				c->top1 = tr.top1;
				c->ppl = tr.ppl;
			}
		}
		for (int r = 0; r < t->mo.runs && !c->fail[0] && c->finite; r++)
			if (measure_time_once(&t->mo, &b, &tm, &cerr))
				snprintf(c->fail, sizeof c->fail, "%.500s", cerr.msg);
		c->decode = c->finite ? measure_median(tm.decode, tm.n) : 0;
		c->prefill = c->finite ? measure_median(tm.prefill, tm.n) : 0;
	}
	measure_logits_free(&mine, t->seqs.n);
	measure_rmtree(dir);
	return 0;
}

static double objective(const Tune *t, const Cand *c)
{
	switch (t->obj) {
	case OBJ_DECODE: return c->decode;
	case OBJ_PREFILL: return c->prefill;
	default: return sqrt(c->decode * c->prefill);
	}
}

/* The error of the format reference of format d alone: the yardstick of
 * rounding activations to d's precision. */
static int yardstick(Tune *t, DType d, double *out, LfmError *err)
{
	Schedule s;
	schedule_defaults(&s);
	s.default_format = d;
	memset(&s.fusions, 0, sizeof s.fusions);
	char *canon = schedule_to_json(&s, false);
	schedule_free(&s);
	if (!canon)
		return lfm_error(err, NULL, "out of memory");
	int i = fref_find(t, quant_format_name(d), canon);
	if (i < 0)
		return lfm_error(err, NULL, "too many format references");
	return fref_error(t, i, out, err);
}

/* The verdict on a measured candidate (the essay's rules). */
static int judge(Tune *t, int i, LfmError *err)
{
	Cand *c = &t->c[i];
	c->ok = false;
	if (c->fail[0]) {
		snprintf(c->reason, sizeof c->reason, "failed");
		return 0;
	}
	if (!c->finite) {
		snprintf(c->reason, sizeof c->reason, "logits not finite");
		return 0;
	}
	double e = c->fmt_rel, bound = 1e-4;
	const char *what = c->kind == KIND_F32 ? "vs f32" : "vs its format reference";
	if (t->max_error > 0) {
		e = c->max_rel;
		bound = t->max_error;
		what = "vs f32, --max-error";
	} else {
		double y;
		if (c->bf16 && yardstick(t, DT_BF16, &y, err))
			return -1;
		if (c->bf16)
			bound = fmax(bound, 2 * y);
		if (c->kind == KIND_BLOCK && yardstick(t, DT_Q8_0, &y, err))
			return -1;
		if (c->kind == KIND_BLOCK)
			bound = fmax(bound, 2 * y);
	}
	if (!(e <= bound)) {
		snprintf(c->reason, sizeof c->reason, "error %.2e > %.2e (%s)", e, bound, what);
		return 0;
	}
	c->ok = true;
	c->score = objective(t, c);
	return 0;
}

static void log_cand(const Tune *t, int i)
{
	const Cand *c = &t->c[i];
	char note[320] = "", fmt[48] = "";
	if (c->same_as >= 0)
		snprintf(note, sizeof note, ", same build as #%d", c->same_as + 1);
	if (c->from_cache)
		snprintf(note + strlen(note), sizeof note - strlen(note), ", cached");
	if (c->kind != KIND_F32 && !c->fail[0])
		snprintf(fmt, sizeof fmt, " (vs format %.1e)", c->fmt_rel);
	char ppl[48] = "";
	if (t->mo.eval.path && c->finite)
		snprintf(ppl, sizeof ppl, "  PPL %.3f", c->ppl);
	if (c->fail[0])
		fprintf(stderr, "  #%-3d %-40s failed: %s%s\n", i + 1, c->desc, c->fail, note);
	else
		fprintf(stderr, "  #%-3d %-40s decode %9.2f  prefill %9.2f  err %.1e%s  KLD %.1e%s  %s%s%s\n", i + 1,
		        c->desc, c->decode, c->prefill, c->max_rel, fmt, c->kld, ppl, c->ok ? "ok" : "rejected: ",
		        c->ok ? "" : c->reason, note);
}

/* Evaluates a new candidate schedule (canonical text); returns its index,
 * or -1 when it is not a new valid schedule, -2 on a tune failure. */
static int evaluate(Tune *t, const char *text, LfmError *err)
{
	Cand c;
	memset(&c, 0, sizeof c);
	c.same_as = -1;
	DType fmt;
	char *fcanon = NULL;
	c.canon = canonical_candidate(&t->machine, text, c.formats, sizeof c.formats, &c.kind, &c.bf16, &fmt, &fcanon);
	if (!c.canon)
		return -1;
	bool fresh = t->formats_allowed[fmt] && t->n < MAX_CANDS;
	for (int j = 0; fresh && j < t->n; j++)
		fresh = strcmp(t->c[j].canon, c.canon) != 0;
	if (!fresh) {
		free(c.canon);
		free(fcanon);
		return -1;
	}
	int fref = fref_find(t, c.formats, fcanon);
	if (fref < 0) {
		free(c.canon);
		return lfm_error(err, NULL, "more than %d format sets", MAX_FREFS), -2;
	}
	describe(t->n ? t->c[0].canon : c.canon, c.canon, c.desc, sizeof c.desc);
	int i = t->n++;
	t->c[i] = c;
	uint64_t key = result_key(t, "candidate", c.canon);
	if (cache_load(t, key, &t->c[i])) {
		t->c[i].from_cache = true;
		for (int j = 0; j < i && !t->c[i].fail[0]; j++)
			if (!t->c[j].fail[0] && t->c[j].artifact == t->c[i].artifact) {
				t->c[i].same_as = j;   /* keep the earlier one's numbers: a no-op never wins by noise */
				t->c[i].decode = t->c[j].decode;
				t->c[i].prefill = t->c[j].prefill;
				break;
			}
	} else {
		if (measure_cand(t, i, fref, err))
			return -2;
		cache_save(t, key, &t->c[i]);
	}
	if (judge(t, i, err))
		return -2;
	log_cand(t, i);
	return i;
}

/* Picks up to k accepted candidates of pool[0..n) into out, the best
 * first: going through them in evaluation order, a candidate displaces
 * the one picked so far only when its score is more than --min-gain
 * higher — measurements are noisy, and the earlier candidate (closer to
 * the start, the defaults) should not lose to noise.  Deterministic given
 * the scores.  Returns how many were picked. */
static int pick_best(const Tune *t, const int *pool, int n, int k, int *out)
{
	int sorted[64 + 64 * 8], m = 0;
	for (int i = 0; i < n && m < (int)(sizeof sorted / sizeof sorted[0]); i++) {   /* evaluation order */
		int j = m++;
		for (; j > 0 && sorted[j - 1] > pool[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = pool[i];
	}
	int got = 0;
	while (got < k) {
		int best = -1;
		for (int i = 0; i < m; i++) {
			const Cand *c = &t->c[sorted[i]];
			bool taken = false;
			for (int j = 0; j < got; j++)
				taken |= out[j] == sorted[i];
			if (!c->ok || taken || (i > 0 && sorted[i] == sorted[i - 1]))
				continue;
			if (best < 0 || c->score > t->c[best].score * (1 + t->min_gain))
				best = sorted[i];
		}
		if (best < 0)
			break;
		out[got++] = best;
	}
	return got;
}

/* ------------------------------------------------------------ search */

static int search(Tune *t, const char *start, LfmError *err)
{
	int beam[64], nb = 0;
	int r = evaluate(t, start, err);
	if (r == -2)
		return -1;
	if (r < 0)   /* setup checked it: cannot happen */
		return lfm_error(err, t->start_path, "the start schedule cannot be searched from");
	beam[nb++] = r;
	t->best = t->c[r].ok ? r : -1;
	Axes axes;
	build_axes(&axes);
	for (int ax = 0; ax < axes.n && t->n < t->budget; ax++) {
		int pool[64 + 64 * 8], np = 0;
		for (int k = 0; k < nb; k++)
			pool[np++] = beam[k];
		for (int k = 0; k < nb && t->n < t->budget; k++) {
			cJSON *root = cJSON_Parse(t->c[beam[k]].canon);
			for (int v = 0; root && v < axes.a[ax].n && t->n < t->budget; v++) {
				if (set_path(root, axes.a[ax].path, axes.a[ax].values[v]))
					continue;
				char *text = cJSON_PrintUnformatted(root);
				if (!text)
					continue;
				int i = evaluate(t, text, err);
				free(text);
				if (i == -2) {
					cJSON_Delete(root);
					return -1;
				}
				if (i >= 0)
					pool[np++] = i;
			}
			cJSON_Delete(root);
		}
		nb = pick_best(t, pool, np, t->beam, beam);
		t->best = nb ? beam[0] : -1;   /* the pool holds the previous beam: the best so far */
		if (!nb)
			return lfm_error(err, NULL, "no candidate passed validation (the start schedule: %s)",
			                 t->c[0].fail[0] ? t->c[0].fail : t->c[0].reason);
	}
	return 0;
}

/* ------------------------------------------------------------ entry */

static int setup(Tune *t, char **start_text, LfmError *err)
{
	Schedule s;
	if (t->start_path) {
		if (schedule_load(t->start_path, &s, err))
			return -1;
	} else {
		schedule_defaults(&s);
	}
	if (!t->formats_allowed[s.default_format]) {   /* start inside the space searched */
		static const DType order[] = {DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_1, DT_Q4_0};
		for (int i = 5; i >= 0; i--)
			if (t->formats_allowed[order[i]])
				s.default_format = order[i];
	}
	/* the start must be a schedule the code generator follows */
	Tiling plan;
	if (target_resolve(&t->target, NULL, NULL, NULL, err)) {
		schedule_free(&s);
		return -1;
	}
	machine_derive(&t->machine, &t->target, NULL);   /* builds read /sys too (measure.c) */
	if (codegen_plan(&s, t->start_path ? t->start_path : "the default schedule", &t->machine, &plan, err)) {
		schedule_free(&s);
		return -1;
	}
	*start_text = schedule_to_json(&s, false);
	schedule_free(&s);
	if (!*start_text)
		return lfm_error(err, NULL, "out of memory");
	if (measure_prepare(&t->mo, &t->mi, err))
		return -1;
	if (measure_seqs(&t->seqs, t->mo.seqs, t->mo.seq_len, t->mi.vocab, t->mi.bos))
		return lfm_error(err, NULL, "out of memory");
	t->self_hash = cache_file_hash(measure_self_exe());
	if (cache_dir(t->cache_root, sizeof t->cache_root))
		t->cache_root[0] = 0;
	/* the output must be writable before minutes of work */
	char probe[1200];
	snprintf(probe, sizeof probe, "%s.probe-%ld", t->out, (long)getpid());
	FILE *f = fopen(probe, "w");
	if (!f)
		return lfm_error(err, t->out, "cannot write here: %s", strerror(errno));
	fclose(f);
	unlink(probe);
	if (t->work_arg) {
		snprintf(t->work, sizeof t->work, "%s", t->work_arg);
	} else {
		const char *slash = strrchr(t->out, '/');
		snprintf(t->work, sizeof t->work, "%.*s.lfm2c-tune-%ld", slash ? (int)(slash - t->out + 1) : 0, t->out,
		         (long)getpid());
	}
	if (access(t->work, F_OK) == 0 && t->work_arg)
		t->made_work = false;
	else
		t->made_work = true;
	if (measure_mkdir(t->work, err))
		return -1;
	t->c = calloc(MAX_CANDS, sizeof *t->c);
	if (!t->c)
		return lfm_error(err, NULL, "out of memory");
	return 0;
}

static int write_best(const Tune *t, int best, LfmError *err)
{
	Schedule s;
	const Cand *c = &t->c[best];
	if (schedule_parse(c->canon, strlen(c->canon), "best", &s, err))
		return -1;
	char *text = schedule_to_json(&s, true);
	schedule_free(&s);
	if (!text)
		return lfm_error(err, NULL, "out of memory");
	size_t len = strlen(text);
	char *out = realloc(text, len + 2);
	if (!out) {
		free(text);
		return lfm_error(err, NULL, "out of memory");
	}
	out[len] = '\n';
	out[len + 1] = 0;
	int rc = measure_write_file(t->out, out, len + 1, err);
	free(out);
	return rc;
}

int cmd_tune(int argc, char **argv)
{
	Tune t;
	if (parse_args(argc, argv, &t))
		return 1;
	LfmError err = {{0}};
	char *start = NULL;
	int rc = 1;
	if (setup(&t, &start, &err))
		goto fail;
	static const char *const objs[] = {"mix (geometric mean of decode and prefill tok/s)", "decode tok/s",
	                                   "prefill tok/s"};
	fprintf(stderr, "lfm2c: tune %s: target %s, %d thread(s), objective %s, budget %d, beam %d; each candidate "
	        "validated against the f32 build and timed cold (weights %s), median of %d\n", t.mo.model,
	        t.mi.target, t.mo.threads, objs[t.obj], t.budget, t.beam,
	        t.mo.use_mmap ? "mmap'd" : "read into memory", t.mo.runs);
	if (search(&t, start, &err))
		goto fail;
	int best = t.best;
	if (best < 0 || !t.c[best].ok) {
		lfm_error(&err, NULL, "no candidate passed validation");
		goto fail;
	}
	if (write_best(&t, best, &err))
		goto fail;
	const Cand *b = &t.c[best];
	int accepted = 0;
	for (int i = 0; i < t.n; i++)
		accepted += t.c[i].ok;
	printf("best of %d candidates (%d accepted): #%d %s\n  decode %.2f tok/s, prefill %.2f tok/s, "
	       "max err %.2e, KLD %.2e, %.2f MiB -> %s\n", t.n, accepted, best + 1, b->desc, b->decode, b->prefill,
	       b->max_rel, b->kld, (double)(b->blob_bytes + b->code_bytes) / 1048576.0, t.out);
	if (t.mo.eval.path) {
		printf("  on %s (%d chunks of %d): KLD %.2e, top-1 %.2f%%, PPL %.4f", t.mo.eval.path, t.mi.text_chunks,
		       t.mi.text_ctx, b->kld, 100 * b->top1, b->ppl);
		if (t.have_ref)   /* else every measurement came from the cache */
			printf(" (f32: %.4f)", t.text_ref.ppl);
		putchar('\n');
	}
	rc = 0;
	goto done;
fail:
	lfm_fail("%s", err.msg);
done:
	if (t.made_work)
		measure_rmtree(t.work);
	if (t.have_ref)
		measure_logits_free(&t.ref_logits, t.seqs.n);
	for (int i = 0; i < t.nfref; i++) {
		measure_logits_free(&t.fref[i].logits, t.seqs.n);
		free(t.fref[i].canon);
	}
	measure_seqs_free(&t.seqs);
	for (int i = 0; t.c && i < t.n; i++)
		free(t.c[i].canon);
	free(t.c);
	free(start);
	return rc;
}
