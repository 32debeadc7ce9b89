/*
 * schedule.c — read and validate a schedule file (see schedule.h).
 *
 * The walk mirrors the file: one function per object, each first checking
 * that the object has only the keys it knows (so "tiles.matmul.nr" is an
 * error, not a silently ignored typo), then reading each known key with a
 * typed getter that checks the JSON type and the allowed range.  Checks
 * that involve two keys (nb a multiple of vector_width) run after the whole
 * file is read, naming the key whose value breaks the rule.
 *
 * Every error is one line: "FILE: key 'a.b.c': what is wrong".  The key
 * path uses dots; an override's pattern appears verbatim after
 * "formats.overrides.".  A number too large for a double (1e400) is
 * named as such, not printed as "inf".  The file itself must be a regular
 * file (lfm_fopen_input): a FIFO given as --schedule is refused, not
 * waited on.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "formats.h"
#include "schedule.h"

#define SCHEDULE_MAX_FILE (1u << 20)

typedef struct Walk {
	const char *path;
	LfmError *err;
} Walk;

static int key_error(Walk *w, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int key_error(Walk *w, const char *key, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return lfm_error(w->err, w->path, "key '%s': %s", key, msg);
}

static void join_key(char *out, size_t cap, const char *prefix, const char *name)
{
	if (prefix && *prefix)
		snprintf(out, cap, "%s.%s", prefix, name);
	else
		snprintf(out, cap, "%s", name);
}

static const char *json_type(const cJSON *v)
{
	if (cJSON_IsBool(v)) return "a boolean";
	if (cJSON_IsNumber(v)) return "a number";
	if (cJSON_IsString(v)) return "a string";
	if (cJSON_IsArray(v)) return "an array";
	if (cJSON_IsObject(v)) return "an object";
	if (cJSON_IsNull(v)) return "null";
	return "an invalid value";
}

/* obj must be an object whose keys are all in known[] (NULL-terminated)
 * and unique. */
static int check_keys(Walk *w, const cJSON *obj, const char *prefix, const char *const *known)
{
	if (!cJSON_IsObject(obj))
		return key_error(w, prefix, "must be an object, got %s", json_type(obj));
	for (const cJSON *c = obj->child; c; c = c->next) {
		char key[512];
		join_key(key, sizeof key, prefix, c->string);
		for (const cJSON *d = obj->child; d != c; d = d->next)
			if (!strcmp(d->string, c->string))
				return key_error(w, key, "duplicate key");
		bool ok = false;
		for (int i = 0; known && known[i]; i++)
			ok |= !strcmp(c->string, known[i]);
		if (!ok && known) {
			char list[256] = "";
			for (int i = 0; known[i]; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
			return key_error(w, key, "unknown key (known here: %s)", list);
		}
	}
	return 0;
}

static int get_bool(Walk *w, const cJSON *obj, const char *prefix, const char *name, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!v)
		return 0;
	char key[512];
	join_key(key, sizeof key, prefix, name);
	if (!cJSON_IsBool(v))
		return key_error(w, key, "must be true or false, got %s", json_type(v));
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_int(Walk *w, const cJSON *obj, const char *prefix, const char *name, int lo, int hi,
                   int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!v)
		return 0;
	char key[512];
	join_key(key, sizeof key, prefix, name);
	if (!cJSON_IsNumber(v))
		return key_error(w, key, "must be an integer, got %s", json_type(v));
	double d = v->valuedouble;
	if (!isfinite(d))
		return key_error(w, key, "must be an integer, got a number that overflows a double");
	if (d != floor(d))
		return key_error(w, key, "must be an integer, got %g", d);
	if (d < lo || d > hi) {
		if (lo == 1 && d < 1)
			return key_error(w, key, "must be positive, got %.0f", d);
		return key_error(w, key, "must be in %d..%d, got %.0f", lo, hi, d);
	}
	*out = (int)d;
	return 0;
}

static int get_format(Walk *w, const cJSON *v, const char *key, DType *out)
{
	if (!cJSON_IsString(v))
		return key_error(w, key, "must be a format name (a string), got %s", json_type(v));
	if (quant_format_parse(v->valuestring, out))
		return key_error(w, key, "unknown format '%s' (known: %s)", v->valuestring, quant_format_list());
	return 0;
}

/* ------------------------------------------------------------ sections */

static int read_formats(Walk *w, const cJSON *f, Schedule *s)
{
	static const char *const known[] = {"default", "overrides", NULL};
	if (check_keys(w, f, "formats", known))
		return -1;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(f, "default");
	if (d && get_format(w, d, "formats.default", &s->default_format))
		return -1;
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(f, "overrides");
	if (!ov)
		return 0;
	if (check_keys(w, ov, "formats.overrides", NULL))
		return -1;
	int n = cJSON_GetArraySize(ov);
	s->overrides = calloc((size_t)n + 1, sizeof *s->overrides);
	if (!s->overrides)
		return lfm_error(w->err, w->path, "out of memory");
	for (const cJSON *c = ov->child; c; c = c->next) {
		char key[512];
		join_key(key, sizeof key, "formats.overrides", c->string);
		if (!*c->string)
			return key_error(w, key, "empty pattern");
		QuantOverride *o = &s->overrides[s->n_overrides];
		if (get_format(w, c, key, &o->format))
			return -1;
		if (!(o->pattern = strdup(c->string)))
			return lfm_error(w->err, w->path, "out of memory");
		s->n_overrides++;
	}
	return 0;
}

static int read_fusions(Walk *w, const cJSON *f, Schedule *s)
{
	static const char *const known[] = {"rmsnorm_fold", "qkv", "w1w3_swiglu", "residual_epilogue",
	                                    "conv_chain", "qk_norm_rope", "dequant_in_matmul", NULL};
	ScheduleFusions *x = &s->fusions;
	if (check_keys(w, f, "fusions", known)
	    || get_bool(w, f, "fusions", "rmsnorm_fold", &x->rmsnorm_fold)
	    || get_bool(w, f, "fusions", "qkv", &x->qkv)
	    || get_bool(w, f, "fusions", "w1w3_swiglu", &x->w1w3_swiglu)
	    || get_bool(w, f, "fusions", "residual_epilogue", &x->residual_epilogue)
	    || get_bool(w, f, "fusions", "conv_chain", &x->conv_chain)
	    || get_bool(w, f, "fusions", "qk_norm_rope", &x->qk_norm_rope)
	    || get_bool(w, f, "fusions", "dequant_in_matmul", &x->dequant_in_matmul))
		return -1;
	return 0;
}

static int read_tiles(Walk *w, const cJSON *t, Schedule *s)
{
	static const char *const known[] = {"matmul", "attention_block", NULL};
	static const char *const known_mm[] = {"nb", "mr", "kc", "prefetch", NULL};
	if (check_keys(w, t, "tiles", known)
	    || get_int(w, t, "tiles", "attention_block", 1, SCHEDULE_MAX_TILE, &s->attention_block))
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(t, "attention_block"))
		s->given |= SCHED_GIVEN_ATTENTION_BLOCK;
	const cJSON *mm = cJSON_GetObjectItemCaseSensitive(t, "matmul");
	if (!mm)
		return 0;
	if (check_keys(w, mm, "tiles.matmul", known_mm)
	    || get_int(w, mm, "tiles.matmul", "nb", 1, SCHEDULE_MAX_TILE, &s->matmul_nb)
	    || get_int(w, mm, "tiles.matmul", "mr", 1, SCHEDULE_MAX_MR, &s->matmul_mr)
	    || get_int(w, mm, "tiles.matmul", "kc", 1, SCHEDULE_MAX_TILE, &s->matmul_kc)
	    || get_int(w, mm, "tiles.matmul", "prefetch", 0, SCHEDULE_MAX_TILE, &s->matmul_prefetch))
		return -1;
	s->given |= (cJSON_GetObjectItemCaseSensitive(mm, "nb") ? SCHED_GIVEN_NB : 0)
	            | (cJSON_GetObjectItemCaseSensitive(mm, "mr") ? SCHED_GIVEN_MR : 0)
	            | (cJSON_GetObjectItemCaseSensitive(mm, "kc") ? SCHED_GIVEN_KC : 0)
	            | (cJSON_GetObjectItemCaseSensitive(mm, "prefetch") ? SCHED_GIVEN_PREFETCH : 0);
	return 0;
}

static int read_threads(Walk *w, const cJSON *t, Schedule *s)
{
	static const char *const known[] = {"split", "count", NULL};
	if (check_keys(w, t, "threads", known))
		return -1;
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(t, "split");
	if (cJSON_GetObjectItemCaseSensitive(t, "count"))
		s->given |= SCHED_GIVEN_THREADS;
	if (sp) {
		s->given |= SCHED_GIVEN_SPLIT;
		if (!cJSON_IsString(sp))
			return key_error(w, "threads.split", "must be \"n\", \"rows\" or \"auto\", got %s", json_type(sp));
		if (!strcmp(sp->valuestring, "n"))
			s->split = SPLIT_N;
		else if (!strcmp(sp->valuestring, "rows"))
			s->split = SPLIT_ROWS;
		else if (!strcmp(sp->valuestring, "auto"))
			s->split = SPLIT_AUTO;
		else
			return key_error(w, "threads.split", "must be \"n\", \"rows\" or \"auto\", got \"%s\"",
			                 sp->valuestring);
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(t, "count");
	if (c && cJSON_IsNumber(c) && !isfinite(c->valuedouble))
		return get_int(w, t, "threads", "count", 0, SCHEDULE_MAX_THREADS, &s->threads);   /* says why */
	if (c && cJSON_IsNumber(c) && c->valuedouble < 0)
		return key_error(w, "threads.count", "impossible thread count %g (0 means every core)",
		                 c->valuedouble);
	if (c && cJSON_IsNumber(c) && c->valuedouble > SCHEDULE_MAX_THREADS)
		return key_error(w, "threads.count", "impossible thread count %g (at most %d)", c->valuedouble,
		                 SCHEDULE_MAX_THREADS);
	return get_int(w, t, "threads", "count", 0, SCHEDULE_MAX_THREADS, &s->threads);
}

/* Rules between keys, checked once everything is read. */
static int check_relations(Walk *w, const Schedule *s)
{
	if (s->matmul_kc % QUANT_BLOCK)
		return key_error(w, "tiles.matmul.kc", "must be a multiple of the quant block (%d) so a K "
		                 "panel holds whole blocks, got %d", QUANT_BLOCK, s->matmul_kc);
	if (s->matmul_prefetch % 64)
		return key_error(w, "tiles.matmul.prefetch", "must be a multiple of 64 bytes (a cache line), got %d",
		                 s->matmul_prefetch);
	if (s->matmul_nb % s->vector_width)
		return key_error(w, "tiles.matmul.nb", "must be a multiple of vector_width (%d), got %d",
		                 s->vector_width, s->matmul_nb);
	return 0;
}

/* ------------------------------------------------------------ entry */

void schedule_defaults(Schedule *s)
{
	memset(s, 0, sizeof *s);
	s->version = 1;
	s->default_format = DT_F32;
	s->matmul_nb = 64;
	s->matmul_mr = 4;
	s->matmul_kc = 256;
	s->matmul_prefetch = 4096;
	s->attention_block = 64;
	s->split = SPLIT_N;
	s->threads = 0;
	s->unroll = 4;
	s->vector_width = 8;
	fusions_default(&s->fusions);
}

void schedule_free(Schedule *s)
{
	for (int i = 0; i < s->n_overrides; i++)
		quant_override_free(&s->overrides[i]);
	free(s->overrides);
	schedule_defaults(s);
}

static int line_of(const char *text, size_t at, int *col)
{
	int line = 1;
	*col = 1;
	for (size_t i = 0; i < at; i++) {
		if (text[i] == '\n') {
			line++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
	return line;
}

static int read_root(Walk *w, const cJSON *root, Schedule *s)
{
	static const char *const known[] = {"version", "formats", "fusions", "tiles", "threads", "unroll",
	                                    "vector_width", NULL};
	if (!cJSON_IsObject(root))
		return lfm_error(w->err, w->path, "a schedule must be a JSON object, got %s", json_type(root));
	if (check_keys(w, root, "", known))
		return -1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!v)
		return key_error(w, "version", "missing (this is schedule version 1)");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1)
		return key_error(w, "version", "unsupported version (only 1 is known)");
	const cJSON *sec;
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "formats")) && read_formats(w, sec, s))
		return -1;
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "fusions")) && read_fusions(w, sec, s))
		return -1;
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "tiles")) && read_tiles(w, sec, s))
		return -1;
	if ((sec = cJSON_GetObjectItemCaseSensitive(root, "threads")) && read_threads(w, sec, s))
		return -1;
	if (get_int(w, root, "", "unroll", 1, SCHEDULE_MAX_UNROLL, &s->unroll)
	    || get_int(w, root, "", "vector_width", 1, 64, &s->vector_width))
		return -1;
	s->given |= (cJSON_GetObjectItemCaseSensitive(root, "unroll") ? SCHED_GIVEN_UNROLL : 0)
	            | (cJSON_GetObjectItemCaseSensitive(root, "vector_width") ? SCHED_GIVEN_VECTOR_WIDTH : 0);
	if (s->vector_width & (s->vector_width - 1))
		return key_error(w, "vector_width", "must be a power of two (1, 2, 4, ... 64), got %d",
		                 s->vector_width);
	return check_relations(w, s);
}

int schedule_parse(const char *text, size_t len, const char *path, Schedule *s, LfmError *err)
{
	Walk w = {path, err};
	schedule_defaults(s);
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
	if (root)
		while (at < len && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
			at++;
	if (!root || at < len) {
		int col, line = line_of(text, at, &col);
		cJSON_Delete(root);
		return lfm_error(err, path, "%s near line %d, column %d", root ? "trailing data after the JSON value"
		                 : "not valid JSON", line, col);
	}
	int rc = read_root(&w, root, s);
	cJSON_Delete(root);
	if (rc)
		schedule_free(s);
	return rc;
}

int schedule_load(const char *path, Schedule *s, LfmError *err)
{
	schedule_defaults(s);
	FILE *f = lfm_fopen_input(path, err);   /* regular files only: a FIFO would block */
	if (!f)
		return -1;
	char *buf = malloc(SCHEDULE_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return lfm_error(err, path, "out of memory");
	}
	errno = 0;
	size_t n = fread(buf, 1, SCHEDULE_MAX_FILE + 1, f);
	int bad = ferror(f), e = errno;
	fclose(f);
	int rc;
	if (bad)
		rc = lfm_error(err, path, "read error: %s", e ? strerror(e) : "unknown");
	else if (n > SCHEDULE_MAX_FILE)
		rc = lfm_error(err, path, "more than %u bytes: not a schedule", SCHEDULE_MAX_FILE);
	else
		rc = schedule_parse(buf, n, path, s, err);
	free(buf);
	return rc;
}

void schedule_to_pass_options(const Schedule *s, PassOptions *o)
{
	o->weight_format = s->default_format;
	o->quant_overrides = s->overrides;
	o->n_quant_overrides = s->n_overrides;
	o->schedule = s;
	o->fusions = &s->fusions;
}
