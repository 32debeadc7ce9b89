/*
 * schedule.c — the options of one compilation: its tables, the reader and
 * writer of schedule files, the fusion lists (see schedule.h).
 *
 * Everything here is driven by the two tables: fusions.h and
 * schedule_keys.h.  The reader walks the file object by object; at each
 * level the keys it knows are derived from the tables' paths, so
 * "tiles.matmul.nr" is an error naming the keys that exist there, never a
 * silently ignored typo.  Every leaf is read by a typed getter that
 * checks the JSON type and the row's range.  Checks that involve two keys
 * (nb a multiple of vector_width) run after the whole file is read,
 * naming the key whose value breaks the rule.
 *
 * Every error is one line: "FILE: key 'a.b.c': what is wrong".  The key
 * path uses dots; an override's pattern appears verbatim after
 * "formats.overrides.".  A number too large for a double (1e400) is named
 * as such, not printed as "inf".  The file itself must be a regular file
 * (lfm_fopen_input): a FIFO given as --schedule is refused, not waited on.
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

/* ------------------------------------------------------------ tables */

const FusionInfo fusion_table[] = {
#define FUSION(name, on, graph, help) {#name, offsetof(ScheduleFusions, name), on, graph, help},
#include "fusions.h"
#undef FUSION
};
const int n_fusions = (int)(sizeof fusion_table / sizeof fusion_table[0]);

const ScheduleKey schedule_keys[] = {
#define SKEY(field, given, path, lo, hi, def, choices, tune, help) \
	{path, offsetof(Schedule, field), SCHED_GIVEN_##given, lo, hi, def, choices, tune, help},
#include "schedule_keys.h"
#undef SKEY
};

/* Keys that were part of a schedule once, and why they are not now. */
static const struct {
	const char *path, *why;
} removed_keys[] = {
	{"threads.count", "no longer a schedule key: a schedule describes the generated code, the thread count "
	                  "is chosen when it runs (lfm2-run -t N)"},
};
#define N_REMOVED (int)(sizeof removed_keys / sizeof removed_keys[0])

int schedule_key_value(const Schedule *s, int k)
{
	return *(const int *)((const char *)s + schedule_keys[k].offset);
}

static int *key_field(Schedule *s, int k) { return (int *)((char *)s + schedule_keys[k].offset); }

/* ------------------------------------------------------------ fusions */

bool fusion_on(const ScheduleFusions *f, int i)
{
	return *(const bool *)((const char *)f + fusion_table[i].offset);
}

void fusion_set(ScheduleFusions *f, int i, bool on) { *(bool *)((char *)f + fusion_table[i].offset) = on; }

/* Every fusion is on by default: each removes a pass over memory or a
 * parallel region and adds no work, and on the 350M shape none measured
 * slower (specs/ir.md, "Default fusions", has the numbers). */
void fusions_default(ScheduleFusions *f)
{
	memset(f, 0, sizeof *f);
	for (int i = 0; i < n_fusions; i++)
		fusion_set(f, i, fusion_table[i].on_by_default);
}

void fusions_none(ScheduleFusions *f)
{
	fusions_default(f);
	for (int i = 0; i < n_fusions; i++)
		if (fusion_table[i].graph)
			fusion_set(f, i, false);
}

/* "rmsnorm_fold, qkv, ..." for messages. */
static const char *fusion_names(char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < n_fusions && at < n; i++)
		at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? ", " : "", fusion_table[i].name);
	return buf;
}

static int fusion_index(const char *name)
{
	for (int i = 0; i < n_fusions; i++)
		if (!strcmp(name, fusion_table[i].name))
			return i;
	return -1;
}

int fusions_parse(const char *list, FuseEdits *out, LfmError *err)
{
	char names[512];
	memset(out, 0, sizeof *out);
	if (!list || !*list)
		return lfm_error(err, NULL, "--fuse: empty list (want all, none, default or names: %s, each "
		                 "optionally +/-)", fusion_names(names, sizeof names));
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char tok[64];
		if (n == 0 || n >= sizeof tok)
			return lfm_error(err, NULL, "--fuse '%s': empty or overlong item", list);
		if (out->n == FUSE_MAX_ITEMS)
			return lfm_error(err, NULL, "--fuse '%s': more than %d items", list, FUSE_MAX_ITEMS);
		memcpy(tok, p, n);
		tok[n] = 0;
		p += n + (p[n] == ',');
		const char *name = tok + (*tok == '+' || *tok == '-');
		int first = out->n == 0;
		if (name == tok && (!strcmp(name, "all") || !strcmp(name, "none") || !strcmp(name, "default"))) {
			out->item[out->n++].op = !strcmp(name, "all") ? FUSE_ALL : !strcmp(name, "none") ? FUSE_NONE
			                                                                             : FUSE_DEFAULT;
			continue;
		}
		int i = fusion_index(name);
		if (i < 0)
			return lfm_error(err, NULL, "--fuse: unknown fusion '%s' (known: %s; all, none, default)", name,
			                 fusion_names(names, sizeof names));
		if (first && name == tok) {
			if (out->n == FUSE_MAX_ITEMS - 1)
				return lfm_error(err, NULL, "--fuse '%s': too many items", list);
			out->item[out->n++].op = FUSE_NONE;   /* a bare list names exactly what is on */
		}
		out->item[out->n].op = *tok == '-' ? FUSE_OFF : FUSE_ON;
		out->item[out->n++].fusion = i;
	}
	return 0;
}

void fusions_apply(const FuseEdits *e, ScheduleFusions *f)
{
	ScheduleFusions d;
	fusions_default(&d);
	for (int k = 0; k < e->n; k++) {
		switch (e->item[k].op) {
		case FUSE_ALL:
		case FUSE_NONE:
		case FUSE_DEFAULT:
			for (int i = 0; i < n_fusions; i++)
				if (fusion_table[i].graph)
					fusion_set(f, i, e->item[k].op == FUSE_DEFAULT ? fusion_on(&d, i) : e->item[k].op == FUSE_ALL);
			break;
		case FUSE_ON:
		case FUSE_OFF:
			fusion_set(f, e->item[k].fusion, e->item[k].op == FUSE_ON);
			break;
		}
	}
}

const char *fusions_describe(const ScheduleFusions *f, char *buf, size_t n)
{
	size_t j = 0;
	buf[0] = 0;
	for (int i = 0; i < n_fusions && j < n; i++)
		if (fusion_on(f, i))
			j += (size_t)snprintf(buf + j, n - j, "%s%s", j ? "," : "", fusion_table[i].name);
	if (!j)
		snprintf(buf, n, "none");
	return buf;
}

/* ------------------------------------------------------------ the reader */

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

/* The names directly under object `prefix` ("" for the root) that the
 * tables know, in table order, without repeats. */
#define MAX_KNOWN 32
static int known_under(const char *prefix, const char *known[MAX_KNOWN], char store[MAX_KNOWN][64])
{
	int n = 0;
	if (!*prefix) {
		static const char *const sections[] = {"version", "formats", "fusions"};
		for (int i = 0; i < 3; i++)
			known[n++] = sections[i];
	}
	size_t plen = strlen(prefix);
	for (int pass = 0; pass < 2; pass++) {
		int count = pass ? N_REMOVED : SCHED_N_KEYS;
		for (int k = 0; k < count && n < MAX_KNOWN; k++) {
			const char *p = pass ? removed_keys[k].path : schedule_keys[k].path;
			if (plen && (strncmp(p, prefix, plen) || p[plen] != '.'))
				continue;
			const char *rest = plen ? p + plen + 1 : p;
			size_t len = strcspn(rest, ".");
			snprintf(store[n], 64, "%.*s", (int)len, rest);
			bool dup = false;
			for (int j = 0; j < n && !dup; j++)
				dup = !strcmp(known[j], store[n]);
			if (!dup) {
				known[n] = store[n];
				n++;
			}
		}
	}
	return n;
}

/* obj must be an object whose keys are all in known[] (n of them; n < 0:
 * any key) and unique. */
static int check_keys(Walk *w, const cJSON *obj, const char *prefix, const char *const *known, int n)
{
	if (!cJSON_IsObject(obj))
		return key_error(w, prefix, "must be an object, got %s", json_type(obj));
	for (const cJSON *c = obj->child; c; c = c->next) {
		char key[512];
		join_key(key, sizeof key, prefix, c->string);
		for (const cJSON *d = obj->child; d != c; d = d->next)
			if (!strcmp(d->string, c->string))
				return key_error(w, key, "duplicate key");
		bool ok = n < 0;
		for (int i = 0; i < n; i++)
			ok |= !strcmp(c->string, known[i]);
		if (!ok) {
			char list[512] = "";
			for (int i = 0; i < n; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
			return key_error(w, key, "unknown key (known here: %s)", list);
		}
	}
	return 0;
}

static int get_bool(Walk *w, const cJSON *v, const char *key, bool *out)
{
	if (!cJSON_IsBool(v))
		return key_error(w, key, "must be true or false, got %s", json_type(v));
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_int(Walk *w, const cJSON *v, const char *key, int lo, int hi, int *out)
{
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

/* A string key: one of the words of `choices`, stored as its index. */
static int get_choice(Walk *w, const cJSON *v, const char *key, const char *choices, int *out)
{
	char list[128] = "";   /* "n", "rows" or "auto" */
	for (const char *p = choices; *p;) {
		size_t n = strcspn(p, " ");
		const char *sep = !*list ? "" : p[n] ? ", " : " or ";
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%.*s\"", sep, (int)n, p);
		p += n + (p[n] == ' ');
	}
	if (!cJSON_IsString(v))
		return key_error(w, key, "must be %s, got %s", list, json_type(v));
	int i = 0;
	for (const char *p = choices; *p; i++) {
		size_t n = strcspn(p, " ");
		if (strlen(v->valuestring) == n && !strncmp(p, v->valuestring, n)) {
			*out = i;
			return 0;
		}
		p += n + (p[n] == ' ');
	}
	return key_error(w, key, "must be %s, got \"%s\"", list, v->valuestring);
}

static int get_format(Walk *w, const cJSON *v, const char *key, DType *out)
{
	if (!cJSON_IsString(v))
		return key_error(w, key, "must be a format name (a string), got %s", json_type(v));
	if (quant_format_parse(v->valuestring, out))
		return key_error(w, key, "unknown format '%s' (known: %s)", v->valuestring, quant_format_list());
	return 0;
}

static int read_formats(Walk *w, const cJSON *f, Schedule *s)
{
	static const char *const known[] = {"default", "overrides"};
	if (check_keys(w, f, "formats", known, 2))
		return -1;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(f, "default");
	if (d && get_format(w, d, "formats.default", &s->default_format))
		return -1;
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(f, "overrides");
	if (!ov)
		return 0;
	if (check_keys(w, ov, "formats.overrides", NULL, -1))
		return -1;
	for (const cJSON *c = ov->child; c; c = c->next) {
		char key[512];
		join_key(key, sizeof key, "formats.overrides", c->string);
		if (!*c->string)
			return key_error(w, key, "empty pattern");
		DType fmt;
		if (get_format(w, c, key, &fmt))
			return -1;
		if (schedule_add_override(s, c->string, fmt))
			return lfm_error(w->err, w->path, "out of memory");
	}
	return 0;
}

static int read_fusions(Walk *w, const cJSON *f, Schedule *s)
{
	const char *known[64];
	for (int i = 0; i < n_fusions; i++)
		known[i] = fusion_table[i].name;
	if (check_keys(w, f, "fusions", known, n_fusions))
		return -1;
	for (int i = 0; i < n_fusions; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, fusion_table[i].name);
		char key[128];
		join_key(key, sizeof key, "fusions", fusion_table[i].name);
		bool on = false;
		if (v && get_bool(w, v, key, &on))
			return -1;
		if (v)
			fusion_set(&s->fusions, i, on);
	}
	return 0;
}

static int read_leaf(Walk *w, const cJSON *v, const char *key, Schedule *s)
{
	for (int k = 0; k < SCHED_N_KEYS; k++) {
		const ScheduleKey *sk = &schedule_keys[k];
		if (strcmp(sk->path, key))
			continue;
		int rc = *sk->choices ? get_choice(w, v, key, sk->choices, key_field(s, k))
		                      : get_int(w, v, key, sk->lo, sk->hi, key_field(s, k));
		s->given |= rc ? 0 : sk->given;
		return rc;
	}
	for (int k = 0; k < N_REMOVED; k++)
		if (!strcmp(removed_keys[k].path, key))
			return key_error(w, key, "%s", removed_keys[k].why);
	return key_error(w, key, "unknown key");
}

/* An object of tile keys at `prefix` ("" for the root's own keys), by the
 * table; the root's sections are read by the caller. */
static int read_keys(Walk *w, const cJSON *obj, const char *prefix, Schedule *s)
{
	const char *known[MAX_KNOWN];
	char store[MAX_KNOWN][64];
	int n = known_under(prefix, known, store);
	if (check_keys(w, obj, prefix, known, n))
		return -1;
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (!*prefix && (!strcmp(c->string, "version") || !strcmp(c->string, "formats")
		                 || !strcmp(c->string, "fusions")))
			continue;
		char key[512];
		join_key(key, sizeof key, prefix, c->string);
		const char *probe[MAX_KNOWN];
		char probe_store[MAX_KNOWN][64];
		int inner = known_under(key, probe, probe_store);   /* names under it: an object */
		int rc = inner ? read_keys(w, c, key, s) : read_leaf(w, c, key, s);
		if (rc)
			return -1;
	}
	return 0;
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
	if (s->vector_width & (s->vector_width - 1))
		return key_error(w, "vector_width", "must be a power of two (1, 2, 4, ... 64), got %d", s->vector_width);
	if (s->matmul_nb % s->vector_width)
		return key_error(w, "tiles.matmul.nb", "must be a multiple of vector_width (%d), got %d",
		                 s->vector_width, s->matmul_nb);
	if (s->int8_lanes & (s->int8_lanes - 1))
		return key_error(w, "tiles.int8.lanes", "must be 4, 8 or 16, got %d", s->int8_lanes);
	return 0;
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
	if (!cJSON_IsObject(root))
		return lfm_error(w->err, w->path, "a schedule must be a JSON object, got %s", json_type(root));
	const char *known[MAX_KNOWN];
	char store[MAX_KNOWN][64];
	if (check_keys(w, root, "", known, known_under("", known, store)))
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
	return read_keys(w, root, "", s) || check_relations(w, s) ? -1 : 0;
}

/* ------------------------------------------------------------ entry */

void schedule_defaults(Schedule *s)
{
	memset(s, 0, sizeof *s);
	s->version = 1;
	s->default_format = DT_F32;
	for (int k = 0; k < SCHED_N_KEYS; k++)
		*key_field(s, k) = schedule_keys[k].def;
	fusions_default(&s->fusions);
}

void schedule_free(Schedule *s)
{
	for (int i = 0; i < s->n_overrides; i++)
		quant_override_free(&s->overrides[i]);
	free(s->overrides);
	schedule_defaults(s);
}

int schedule_add_override(Schedule *s, const char *pattern, DType format)
{
	QuantOverride *v = realloc(s->overrides, (size_t)(s->n_overrides + 1) * sizeof *v);
	if (!v)
		return -1;
	s->overrides = v;
	char *p = strdup(pattern);
	if (!p)
		return -1;
	v[s->n_overrides++] = (QuantOverride){p, format};
	return 0;
}

int schedule_copy(Schedule *dst, const Schedule *src)
{
	*dst = *src;
	dst->overrides = NULL;
	dst->n_overrides = 0;
	for (int i = 0; i < src->n_overrides; i++)
		if (schedule_add_override(dst, src->overrides[i].pattern, src->overrides[i].format)) {
			schedule_free(dst);
			return -1;
		}
	return 0;
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

/* ------------------------------------------------------------ the writer */

/* The object at dotted `path`'s parent inside root, made as needed; *leaf
 * gets the last component. */
static cJSON *parent_of(cJSON *root, const char *path, char *leaf, size_t n)
{
	cJSON *at = root;
	for (;;) {
		size_t k = strcspn(path, ".");
		if (!path[k]) {
			snprintf(leaf, n, "%s", path);
			return at;
		}
		char part[64];
		snprintf(part, sizeof part, "%.*s", (int)k, path);
		cJSON *next = cJSON_GetObjectItemCaseSensitive(at, part);
		if (!next && !(next = cJSON_AddObjectToObject(at, part)))
			return NULL;
		at = next;
		path += k + 1;
	}
}

/* The word of choice i of a string key, into buf. */
static const char *choice_word(const char *choices, int i, char *buf, size_t n)
{
	const char *p = choices;
	for (; i > 0 && *p; i--)
		p += strcspn(p, " ") + (p[strcspn(p, " ")] == ' ');
	snprintf(buf, n, "%.*s", (int)strcspn(p, " "), p);
	return buf;
}

char *schedule_to_json(const Schedule *s, bool pretty)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON *formats = cJSON_AddObjectToObject(root, "formats");
	if (formats) {
		cJSON_AddStringToObject(formats, "default", quant_format_name(s->default_format));
		cJSON *ov = s->n_overrides ? cJSON_AddObjectToObject(formats, "overrides") : NULL;
		for (int i = 0; ov && i < s->n_overrides; i++)
			cJSON_AddStringToObject(ov, s->overrides[i].pattern, quant_format_name(s->overrides[i].format));
	}
	cJSON *fus = cJSON_AddObjectToObject(root, "fusions");
	for (int i = 0; fus && i < n_fusions; i++)
		cJSON_AddBoolToObject(fus, fusion_table[i].name, fusion_on(&s->fusions, i));
	/* the code generator's own per-target choice stands for every key not given */
	for (int k = 0; k < SCHED_N_KEYS; k++) {
		const ScheduleKey *sk = &schedule_keys[k];
		if (!(s->given & sk->given))
			continue;
		char leaf[64], word[64];
		cJSON *at = parent_of(root, sk->path, leaf, sizeof leaf);
		int v = schedule_key_value(s, k);
		if (at && *sk->choices)
			cJSON_AddStringToObject(at, leaf, choice_word(sk->choices, v, word, sizeof word));
		else if (at)
			cJSON_AddNumberToObject(at, leaf, v);
	}
	char *text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

const char *schedule_key_text(const Schedule *s, char *buf, size_t n)
{
	size_t at = (size_t)snprintf(buf, n, "weight-format %s\n", quant_format_name(s->default_format));
	for (int i = 0; i < s->n_overrides && at < n; i++)
		at += (size_t)snprintf(buf + at, n - at, "quant-override %s=%s\n", s->overrides[i].pattern,
		                       quant_format_name(s->overrides[i].format));
	char fl[512];
	if (at < n)
		at += (size_t)snprintf(buf + at, n - at, "fusions %s\n", fusions_describe(&s->fusions, fl, sizeof fl));
	for (int k = 0; k < SCHED_N_KEYS && at < n; k++)
		if (s->given & schedule_keys[k].given)
			at += (size_t)snprintf(buf + at, n - at, "%s %d\n", schedule_keys[k].path, schedule_key_value(s, k));
	return buf;
}
