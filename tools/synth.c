/*
 * synth.c — `lfm2c synth`: a random-weight LFM2 checkpoint in exact Hugging
 * Face layout, from a preset of the released shapes.
 *
 * It writes what specs/lfm2.md §12 describes — what the reference checkpoint
 * generator the fixtures were made with (make_model.py, outside this
 * repository) writes — so that tests and benchmarks of real-size models
 * (350M .. 2.6B) need no Python and no downloads.  What must match, and how:
 *
 *   config.json   the same presets (key order and values of the released
 *                 files), the same --set override semantics (value parsed as
 *                 JSON; a new key is appended, an existing one replaced in
 *                 place), torch_dtype taken from --dtype, and the same
 *                 finalize rules: a layer_types list shorter or longer than
 *                 num_hidden_layers is repeated/cut to it, full_attn_idxs
 *                 drops indices >= num_hidden_layers, block_dim/conv_dim/
 *                 conv_dim_out follow hidden_size, num_heads follows
 *                 num_attention_heads.  The file is printed the way Python's
 *                 json.dump(indent=2) prints it — including float versus int
 *                 (1.0 vs 1, 1e-05) — so for equal inputs the bytes are equal.
 *                 To know which numbers are floats, floats are kept as cJSON
 *                 "raw" items holding Python's repr of the value, and numbers
 *                 parsed from --set text are classified by their spelling.
 *   tensors       names and shapes from the frontend's own list
 *                 (lfm_expected_tensors of the parsed config), so a synth
 *                 checkpoint always passes lfm_checkpoint_open.
 *   init          the "sane" scheme of §12: norm weights 1 + 0.1 N(0,1),
 *                 biases 0.1 N(0,1), embeddings / lm_head std 2/sqrt(H),
 *                 conv taps std 1/sqrt(L), other linears std 1/sqrt(fan_in).
 *                 The numbers come from our own generator: xoshiro256** with
 *                 a 128-layer ziggurat for N(0,1).  Each tensor has its own
 *                 stream, seeded from (--seed, tensor name), so its values do
 *                 not depend on which other tensors exist.  Bitwise equality
 *                 with numpy is not a goal; distribution and determinism are.
 *
 * Weights are streamed through the safetensors writer (st_write.c) in small
 * blocks: a 2.6B f32 file is 10 GB and is never in memory.  The three files
 * are first written under temporary names and renamed only when all of them
 * are complete; on any failure the temporaries (and an output directory we
 * created) are removed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "frontend.h"
#include "synth.h"
#include "st_write.h"

/* ================================================================ JSON
 * Python-compatible float text and printing.
 */

/* repr(float) of CPython: the shortest string that round-trips, in fixed
 * notation when the decimal exponent is in [-4, 16), else d.ddde+XX. */
static void py_float_repr(double v, char *out, size_t cap)
{
	if (v == 0) {
		snprintf(out, cap, "%s", signbit(v) ? "-0.0" : "0.0");
		return;
	}
	char buf[48];
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* buf is [-]d[.ddd]e(+|-)XX: split into sign, digits, exponent */
	const char *s = buf;
	int neg = *s == '-';
	if (neg)
		s++;
	char digits[24];
	int nd = 0;
	for (; *s && *s != 'e'; s++)
		if (isdigit((unsigned char)*s) && nd < (int)sizeof digits - 1)
			digits[nd++] = *s;
	digits[nd] = 0;
	int e = *s == 'e' ? atoi(s + 1) : 0;
	char body[64];
	size_t k = 0;
	if (e >= -4 && e < 16) {
		if (e >= 0) {
			for (int i = 0; i <= e; i++)
				body[k++] = i < nd ? digits[i] : '0';
			body[k++] = '.';
			if (nd > e + 1)
				for (int i = e + 1; i < nd; i++)
					body[k++] = digits[i];
			else
				body[k++] = '0';
		} else {
			body[k++] = '0';
			body[k++] = '.';
			for (int i = 0; i < -e - 1; i++)
				body[k++] = '0';
			for (int i = 0; i < nd; i++)
				body[k++] = digits[i];
		}
		body[k] = 0;
	} else {
		body[k++] = digits[0];
		if (nd > 1) {
			body[k++] = '.';
			for (int i = 1; i < nd; i++)
				body[k++] = digits[i];
		}
		snprintf(body + k, sizeof body - k, "e%c%02d", e < 0 ? '-' : '+', abs(e));
	}
	snprintf(out, cap, "%s%s", neg ? "-" : "", body);
}

/* A float-typed JSON number: a raw item holding its Python repr. */
static cJSON *py_float(double v)
{
	char txt[48];
	py_float_repr(v, txt, sizeof txt);
	return cJSON_CreateRaw(txt);
}

typedef struct Out {
	char *s;
	size_t len, cap;
	int bad;        /* out of memory or unprintable value */
} Out;

static void out_add(Out *o, const char *s, size_t n)
{
	if (o->bad)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *ns = realloc(o->s, cap);
		if (!ns) {
			o->bad = 1;
			return;
		}
		o->s = ns;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = 0;
}

static void out_str(Out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_u16(Out *o, unsigned v)
{
	char b[8];
	snprintf(b, sizeof b, "\\u%04x", v);
	out_add(o, b, 6);
}

/* json.dumps(s) with ensure_ascii: everything outside ' '..'~' escaped. */
static void out_json_string(Out *o, const char *str)
{
	out_add(o, "\"", 1);
	const unsigned char *p = (const unsigned char *)str;
	while (*p) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			out_add(o, e, 2);
			p++;
		} else if (c >= 0x20 && c < 0x7f) {
			out_add(o, (const char *)p, 1);
			p++;
		} else if (c < 0x80) {
			const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
			                  : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
			if (named)
				out_str(o, named);
			else
				out_u16(o, c);
			p++;
		} else {
			/* UTF-8 -> code point -> \uXXXX (surrogate pair above U+FFFF) */
			int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
			unsigned cp = n == 3 ? c & 0x07 : n == 2 ? c & 0x0f : c & 0x1f;
			for (int i = 1; n > 0 && i <= n; i++) {
				if ((p[i] & 0xc0) != 0x80) {
					n = -1;
					break;
				}
				cp = cp << 6 | (p[i] & 0x3f);
			}
			if (n < 0 || cp > 0x10ffff) {
				o->bad = 1;
				return;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				out_u16(o, 0xd800 | (cp >> 10));
				out_u16(o, 0xdc00 | (cp & 0x3ff));
			} else {
				out_u16(o, cp);
			}
			p += n + 1;
		}
	}
	out_add(o, "\"", 1);
}

static void out_indent(Out *o, int level)
{
	out_add(o, "\n", 1);
	for (int i = 0; i < level; i++)
		out_add(o, "  ", 2);
}

/* json.dump(v, indent=2) of Python. */
static void out_json(Out *o, const cJSON *v, int level)
{
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		int obj = cJSON_IsObject(v);
		if (!v->child) {
			out_str(o, obj ? "{}" : "[]");
			return;
		}
		out_add(o, obj ? "{" : "[", 1);
		for (const cJSON *c = v->child; c; c = c->next) {
			out_indent(o, level + 1);
			if (obj) {
				out_json_string(o, c->string);
				out_add(o, ": ", 2);
			}
			out_json(o, c, level + 1);
			if (c->next)
				out_add(o, ",", 1);
		}
		out_indent(o, level);
		out_add(o, obj ? "}" : "]", 1);
	} else if (cJSON_IsRaw(v)) {
		out_str(o, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		/* integers only: floats are raw items (see py_float) */
		char b[32];
		snprintf(b, sizeof b, "%.0f", v->valuedouble == 0 ? 0.0 : v->valuedouble);
		out_str(o, b);
	} else if (cJSON_IsString(v)) {
		out_json_string(o, v->valuestring);
	} else if (cJSON_IsTrue(v)) {
		out_str(o, "true");
	} else if (cJSON_IsFalse(v)) {
		out_str(o, "false");
	} else if (cJSON_IsNull(v)) {
		out_str(o, "null");
	} else {
		o->bad = 1;
	}
}

/* The text of a JSON document as Python's json.dump(indent=2) writes it,
 * plus a trailing "\n" (specs/lfm2.md §12). */
static char *print_py_json(const cJSON *v)
{
	Out o = {0};
	out_json(&o, v, 0);
	out_add(&o, "\n", 1);
	if (o.bad) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

/* ------------------------------------------------- --set value parsing */

/* Appends to flags[] one entry per JSON number token in text order:
 * 1 if Python would read it as a float (it has '.', 'e' or 'E'). */
static int number_token_kinds(const char *t, char *flags, int cap)
{
	int n = 0;
	for (const char *p = t; *p;) {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else if (*p == '-' || isdigit((unsigned char)*p)) {
			int isf = 0;
			while (*p && strchr("+-0123456789.eE", *p)) {
				if (*p == '.' || *p == 'e' || *p == 'E')
					isf = 1;
				p++;
			}
			if (n >= cap)
				return -1;
			flags[n++] = (char)isf;
		} else {
			p++;
		}
	}
	return n;
}

/* Gives v the object key `key` (allocated the way cJSON frees it).
 * cJSON_ReplaceItemViaPointer keeps the list position but not the key. */
static int set_item_key(cJSON *v, const char *key)
{
	size_t n = strlen(key) + 1;
	char *k = cJSON_malloc(n);
	if (!k)
		return -1;
	memcpy(k, key, n);
	if (v->string && !(v->type & cJSON_StringIsConst))
		cJSON_free(v->string);
	v->string = k;
	v->type &= ~cJSON_StringIsConst;
	return 0;
}

/* Walks v in document order, turning float-spelled numbers into raw
 * Python-repr items and checking integers are exact. */
static int retype_numbers(cJSON *parent, cJSON *v, const char *flags, int n, int *i,
                          cJSON **root)
{
	if (cJSON_IsNumber(v)) {
		if (*i >= n)
			return -1;
		if (!isfinite(v->valuedouble))
			return -1;
		if (flags[(*i)++]) {
			cJSON *r = py_float(v->valuedouble);
			if (!r)
				return -1;
			if (parent) {
				if (v->string && set_item_key(r, v->string)) {
					cJSON_Delete(r);
					return -1;
				}
				cJSON_ReplaceItemViaPointer(parent, v, r);
			}
			else {
				cJSON_Delete(*root);
				*root = r;
			}
		} else if (fabs(v->valuedouble) > 9007199254740992.0) {
			return -1;
		}
		return 0;
	}
	for (cJSON *c = v->child; c;) {
		cJSON *next = c->next;
		if (retype_numbers(v, c, flags, n, i, root))
			return -1;
		c = next;
	}
	return 0;
}

/* A --set value: strict JSON, numbers typed as Python would. */
static cJSON *parse_set_value(const char *key, const char *text, LfmError *err)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithOpts(text, &end, 1);
	if (!v) {
		lfm_error(err, NULL, "synth: --set %s=%s: the value is not valid JSON (strings need quotes, e.g. "
		          "--set 'key=\"text\"')", key, text);
		return NULL;
	}
	size_t len = strlen(text);
	char *flags = malloc(len + 1);
	int n = flags ? number_token_kinds(text, flags, (int)len + 1) : -1;
	int i = 0;
	if (n < 0 || retype_numbers(NULL, v, flags, n, &i, &v) || i != n) {
		lfm_error(err, NULL, "synth: --set %s=%s: numbers must be finite and integers at most 2^53",
		          key, text);
		cJSON_Delete(v);
		v = NULL;
	}
	free(flags);
	return v;
}

/* ============================================================== presets */

static const int ATTN16[] = {2, 5, 8, 10, 12, 14};
static const int ATTN30[] = {2, 5, 9, 13, 17, 21, 24, 27};

typedef struct Build {
	cJSON *o;
	int oom;
} Build;

static void put(Build *b, const char *key, cJSON *v)
{
	if (!v || b->oom) {
		b->oom = 1;
		cJSON_Delete(v);
		return;
	}
	cJSON_AddItemToObject(b->o, key, v);
}

static cJSON *layer_types_json(int n, const int *attn, int n_attn)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < n; i++) {
		int is_attn = 0;
		for (int j = 0; j < n_attn; j++)
			is_attn |= attn[j] == i;
		cJSON *s = cJSON_CreateString(is_attn ? "full_attention" : "conv");
		if (!s) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, s);
	}
	return a;
}

/* The v1 release key set and order (specs/lfm2.md §12, presets). */
static cJSON *liquid_base(int hidden, int heads, int ff, int auto_adjust, int n_layers,
                          const int *attn, int n_attn, const char *tv)
{
	Build b = {cJSON_CreateObject(), 0};
	if (!b.o)
		return NULL;
	cJSON *arch = cJSON_CreateArray();
	if (arch)
		cJSON_AddItemToArray(arch, cJSON_CreateString("Lfm2ForCausalLM"));
	put(&b, "architectures", arch && arch->child ? arch : (cJSON_Delete(arch), NULL));
	put(&b, "block_auto_adjust_ff_dim", cJSON_CreateBool(auto_adjust));
	put(&b, "block_dim", cJSON_CreateNumber(hidden));
	put(&b, "block_ff_dim", cJSON_CreateNumber(ff));
	put(&b, "block_ffn_dim_multiplier", py_float(1.0));
	put(&b, "block_mlp_init_scale", py_float(1.0));
	put(&b, "block_multiple_of", cJSON_CreateNumber(256));
	put(&b, "block_norm_eps", py_float(1e-5));
	put(&b, "block_out_init_scale", py_float(1.0));
	put(&b, "block_use_swiglu", cJSON_CreateTrue());
	put(&b, "block_use_xavier_init", cJSON_CreateTrue());
	put(&b, "bos_token_id", cJSON_CreateNumber(1));
	put(&b, "conv_L_cache", cJSON_CreateNumber(3));
	put(&b, "conv_bias", cJSON_CreateFalse());
	put(&b, "conv_dim", cJSON_CreateNumber(hidden));
	put(&b, "conv_dim_out", cJSON_CreateNumber(hidden));
	put(&b, "conv_use_xavier_init", cJSON_CreateTrue());
	put(&b, "eos_token_id", cJSON_CreateNumber(7));
	put(&b, "hidden_size", cJSON_CreateNumber(hidden));
	put(&b, "initializer_range", py_float(0.02));
	put(&b, "intermediate_size", cJSON_CreateNumber(ff));
	put(&b, "layer_types", layer_types_json(n_layers, attn, n_attn));
	put(&b, "max_position_embeddings", cJSON_CreateNumber(128000));
	put(&b, "model_type", cJSON_CreateString("lfm2"));
	put(&b, "norm_eps", py_float(1e-5));
	put(&b, "num_attention_heads", cJSON_CreateNumber(heads));
	put(&b, "num_heads", cJSON_CreateNumber(heads));
	put(&b, "num_hidden_layers", cJSON_CreateNumber(n_layers));
	put(&b, "num_key_value_heads", cJSON_CreateNumber(8));
	put(&b, "pad_token_id", cJSON_CreateNumber(0));
	put(&b, "rope_theta", py_float(1000000.0));
	put(&b, "torch_dtype", cJSON_CreateString("bfloat16"));
	put(&b, "transformers_version", cJSON_CreateString(tv));
	put(&b, "use_cache", cJSON_CreateTrue());
	put(&b, "use_pos_enc", cJSON_CreateTrue());
	put(&b, "vocab_size", cJSON_CreateNumber(65536));
	if (b.oom) {
		cJSON_Delete(b.o);
		return NULL;
	}
	return b.o;
}

/* Replaces (in place) or appends key — Python's dict assignment. */
static int set_key(cJSON *o, const char *key, cJSON *v)
{
	if (!v)
		return -1;
	cJSON *old = NULL, *it;
	cJSON_ArrayForEach(it, o)
		if (!strcmp(it->string, key))
			old = it;
	if (old) {
		if (set_item_key(v, key)) {
			cJSON_Delete(v);
			return -1;
		}
		return cJSON_ReplaceItemViaPointer(o, old, v) ? 0 : (cJSON_Delete(v), -1);
	}
	return cJSON_AddItemToObject(o, key, v) ? 0 : (cJSON_Delete(v), -1);
}

static int by_key(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* dict(sorted(c.items())) */
static int sort_keys(cJSON *o)
{
	int n = cJSON_GetArraySize(o);
	cJSON **items = malloc((size_t)(n ? n : 1) * sizeof *items);
	if (!items)
		return -1;
	int i = 0;
	for (cJSON *c = o->child; c; c = c->next)
		items[i++] = c;
	qsort(items, (size_t)n, sizeof *items, by_key);
	o->child = n ? items[0] : NULL;
	for (i = 0; i < n; i++) {
		items[i]->prev = i ? items[i - 1] : items[n - 1];   /* cJSON: head->prev is the tail */
		items[i]->next = i + 1 < n ? items[i + 1] : NULL;
	}
	free(items);
	return 0;
}

/* The 700M/1.2B full_attn_idxs hub form (specs/lfm2.md §9, §12). */
static cJSON *idxs_form(cJSON *c, const int *attn, int n_attn)
{
	if (!c)
		return NULL;
	cJSON_DeleteItemFromObject(c, "layer_types");
	cJSON_DeleteItemFromObject(c, "intermediate_size");
	cJSON *idx = cJSON_CreateIntArray(attn, n_attn);
	if (!idx || !cJSON_AddItemToObject(c, "full_attn_idxs", idx) || sort_keys(c)) {
		cJSON_Delete(idx);
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

static cJSON *tiny_preset(void)
{
	static const int attn[] = {2, 4};
	cJSON *c = liquid_base(64, 4, 256, 1, 6, attn, 2, "4.54.0.dev0");
	if (!c)
		return NULL;
	if (set_key(c, "vocab_size", cJSON_CreateNumber(512)) ||
	    set_key(c, "num_key_value_heads", cJSON_CreateNumber(2)) ||
	    set_key(c, "block_multiple_of", cJSON_CreateNumber(32)) ||
	    set_key(c, "torch_dtype", cJSON_CreateString("float32")) ||
	    set_key(c, "max_position_embeddings", cJSON_CreateNumber(4096))) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* Preset name (specs/lfm2.md §12 names and aliases) -> canonical name, or NULL. */
static const char *canonical_preset(const char *p)
{
	static const char *const names[] = {"tiny", "350m", "700m", "1.2b", "2.6b"};
	const char *s = !strncasecmp(p, "lfm2-", 5) ? p + 5 : p;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcasecmp(s, names[i]) && (s == p || strcmp(names[i], "tiny")))
			return names[i];
	return NULL;
}

static cJSON *make_preset(const char *name)
{
	int n16 = (int)(sizeof ATTN16 / sizeof ATTN16[0]), n30 = (int)(sizeof ATTN30 / sizeof ATTN30[0]);
	if (!strcmp(name, "tiny"))
		return tiny_preset();
	if (!strcmp(name, "350m"))
		return liquid_base(1024, 16, 6656, 1, 16, ATTN16, n16, "4.54.0.dev0");
	if (!strcmp(name, "700m"))
		return idxs_form(liquid_base(1536, 24, 10240, 1, 16, ATTN16, n16, "4.54.0.dev0"), ATTN16, n16);
	if (!strcmp(name, "1.2b"))
		return idxs_form(liquid_base(2048, 32, 12288, 1, 16, ATTN16, n16, "4.54.0.dev0"), ATTN16, n16);
	if (!strcmp(name, "2.6b"))
		return liquid_base(2048, 32, 10752, 0, 30, ATTN30, n30, "4.55.0.dev0");
	return NULL;
}

/* ============================================================= finalize */

static int finalize_error(LfmError *err, const char *what)
{
	return lfm_error(err, NULL, "synth: %s", what);
}

/* The finalize rules of specs/lfm2.md §12 (v1 key style, layer spec as the
 * preset). */
static int finalize(cJSON *c, LfmError *err)
{
	cJSON *nl = cJSON_GetObjectItemCaseSensitive(c, "num_hidden_layers");
	if (!cJSON_IsNumber(nl) || nl->valuedouble < 1 || nl->valuedouble > LFM_MAX_LAYERS ||
	    nl->valuedouble != floor(nl->valuedouble))
		return finalize_error(err, "num_hidden_layers must be an integer in 1..512");
	int n = (int)nl->valuedouble;
	cJSON *lt = cJSON_GetObjectItemCaseSensitive(c, "layer_types");
	if (lt && !cJSON_IsNull(lt)) {
		if (!cJSON_IsArray(lt))
			return finalize_error(err, "layer_types must be a list or null");
		int m = cJSON_GetArraySize(lt);
		if (m != n) {
			if (m == 0)
				return finalize_error(err, "layer_types is empty but num_hidden_layers > 0");
			/* repeat the pattern: lt[i % len(lt)] */
			cJSON *rep = cJSON_CreateArray();
			for (int i = 0; rep && i < n; i++) {
				cJSON *d = cJSON_Duplicate(cJSON_GetArrayItem(lt, i % m), 1);
				if (!d) {
					cJSON_Delete(rep);
					rep = NULL;
					break;
				}
				cJSON_AddItemToArray(rep, d);
			}
			if (set_key(c, "layer_types", rep))
				return finalize_error(err, "out of memory");
		}
	} else {
		cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "full_attn_idxs");
		if (idx && !cJSON_IsNull(idx)) {
			if (!cJSON_IsArray(idx))
				return finalize_error(err, "full_attn_idxs must be a list or null");
			for (cJSON *it = idx->child; it;) {
				cJSON *next = it->next;
				if (!cJSON_IsNumber(it) && !cJSON_IsRaw(it))
					return finalize_error(err, "full_attn_idxs must hold integers");
				if (cJSON_IsNumber(it) && it->valuedouble >= n)
					cJSON_Delete(cJSON_DetachItemViaPointer(idx, it));
				it = next;
			}
		}
	}
	static const char *const follow_hidden[] = {"block_dim", "conv_dim", "conv_dim_out"};
	cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "hidden_size");
	for (int i = 0; i < 3; i++)
		if (cJSON_GetObjectItemCaseSensitive(c, follow_hidden[i]) &&
		    set_key(c, follow_hidden[i], h ? cJSON_Duplicate(h, 1) : cJSON_CreateNull()))
			return finalize_error(err, "out of memory");
	cJSON *nh = cJSON_GetObjectItemCaseSensitive(c, "num_attention_heads");
	if (cJSON_GetObjectItemCaseSensitive(c, "num_heads") &&
	    set_key(c, "num_heads", nh ? cJSON_Duplicate(nh, 1) : cJSON_CreateNull()))
		return finalize_error(err, "out of memory");
	return 0;
}

/* generation_config.json (specs/lfm2.md §12): values copied from the config. */
static cJSON *generation_config(const cJSON *c)
{
	static const char *const keys[] = {"bos_token_id", "eos_token_id", "pad_token_id",
	                                   "transformers_version"};
	Build b = {cJSON_CreateObject(), 0};
	if (!b.o)
		return NULL;
	put(&b, "_from_model_config", cJSON_CreateTrue());
	for (int i = 0; i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, keys[i]);
		cJSON *d = v ? cJSON_Duplicate(v, 1)
		         : i == 0 ? cJSON_CreateNumber(1) : i == 1 ? cJSON_CreateNumber(7)
		         : i == 2 ? cJSON_CreateNumber(0) : cJSON_CreateString("4.54.0.dev0");
		put(&b, keys[i], d);
	}
	if (b.oom) {
		cJSON_Delete(b.o);
		return NULL;
	}
	return b.o;
}

/* ============================================================== random */

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
typedef struct Rng {
	uint64_t s[4];
} Rng;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(Rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* uniform in (0, 1]: never 0, so log() is safe */
static inline double rng_unit(Rng *r)
{
	return ((rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* One stream per (seed, tensor name): FNV-1a of the name mixed into the seed. */
static void rng_seed(Rng *r, uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	uint64_t x = seed ^ rotl(h, 17);
	(void)splitmix64(&x);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

/* Ziggurat for N(0,1) with 128 layers (Marsaglia & Tsang 2000; layout as in
 * Doornik 2005).  Layer i in 1..127 is the rectangle [0, x[i]] x [f(x[i]),
 * f(x[i+1])], layer 0 the base [0, x[0]] with x[0] = V / f(R) standing for
 * the rectangle under f(R) plus the tail beyond R.  All layers have area V. */
#define ZIG_N 128
#define ZIG_R 3.442619855899
#define ZIG_V 9.91256303526217e-3

typedef struct Ziggurat {
	double x[ZIG_N + 1];
	double f[ZIG_N + 1];
} Ziggurat;

static void zig_init(Ziggurat *z)
{
	z->x[0] = ZIG_V / exp(-0.5 * ZIG_R * ZIG_R);
	z->x[1] = ZIG_R;
	for (int i = 1; i < ZIG_N - 1; i++) {
		double fx = exp(-0.5 * z->x[i] * z->x[i]) + ZIG_V / z->x[i];
		z->x[i + 1] = sqrt(-2.0 * log(fx));
	}
	z->x[ZIG_N] = 0;
	for (int i = 0; i <= ZIG_N; i++)
		z->f[i] = exp(-0.5 * z->x[i] * z->x[i]);
}

static double zig_normal(const Ziggurat *z, Rng *r)
{
	for (;;) {
		uint64_t u = rng_next(r);
		int i = (int)(u & (ZIG_N - 1));
		double sign = (u & ZIG_N) ? -1.0 : 1.0;
		double v = (double)(u >> 11) * 0x1.0p-53 * z->x[i];
		if (v < z->x[i + 1])
			return sign * v;                  /* inside the layer's core rectangle */
		if (i == 0) {
			/* tail beyond R (Marsaglia 1964) */
			double a, b;
			do {
				a = -log(rng_unit(r)) / ZIG_R;
				b = -log(rng_unit(r));
			} while (b + b < a * a);
			return sign * (ZIG_R + a);
		}
		double y = z->f[i] + rng_unit(r) * (z->f[i + 1] - z->f[i]);
		if (y < exp(-0.5 * v * v))
			return sign * v;
	}
}

/* ================================================================ init */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* The "sane" init of specs/lfm2.md §12: value = mean + std * N(0,1). */
static void init_rule(const ExpectedTensor *t, const LfmConfig *c, double *mean, double *std)
{
	*mean = 0;
	if (ends_with(t->name, "norm.weight")) {       /* also q_/k_layernorm */
		*mean = 1;
		*std = 0.1;
	} else if (ends_with(t->name, ".bias")) {
		*std = 0.1;
	} else if (!strcmp(t->name, "model.embed_tokens.weight") || !strcmp(t->name, "lm_head.weight")) {
		*std = 2.0 / sqrt((double)c->hidden);
	} else if (ends_with(t->name, "conv.conv.weight")) {
		*std = 1.0 / sqrt((double)c->conv_L);
	} else {
		*std = 1.0 / sqrt((double)t->shape[t->ndim - 1]);
	}
}

static int64_t numel_of(const ExpectedTensor *t)
{
	int64_t n = 1;
	for (int d = 0; d < t->ndim; d++)
		n *= t->shape[d];
	return n;
}

#define GEN_BLOCK 65536

static int write_weights(StWriter *w, const ExpectedTensor *t, int n, const LfmConfig *c,
                         uint64_t seed, LfmError *err)
{
	float *buf = malloc(GEN_BLOCK * sizeof *buf);
	if (!buf)
		return lfm_error(err, NULL, "synth: out of memory");
	Ziggurat z;
	zig_init(&z);
	for (int i = 0; i < n; i++) {
		Rng r;
		rng_seed(&r, seed, t[i].name);
		double mean, std;
		init_rule(&t[i], c, &mean, &std);
		for (int64_t left = numel_of(&t[i]); left > 0;) {
			size_t k = left < GEN_BLOCK ? (size_t)left : GEN_BLOCK;
			for (size_t j = 0; j < k; j++)
				buf[j] = (float)(mean + std * zig_normal(&z, &r));
			if (lfm_st_writer_put_f32(w, buf, k, err)) {
				free(buf);
				return -1;
			}
			left -= (int64_t)k;
		}
	}
	free(buf);
	return 0;
}

/* ============================================================== output */

/* Writes text to "dir/name.tmp-XXXXXX"; *tmp receives the malloc'd name. */
static int write_temp_text(const char *dir, const char *name, const char *text, char **tmp,
                           LfmError *err)
{
	size_t cap = strlen(dir) + strlen(name) + 16;
	char *p = malloc(cap);
	*tmp = NULL;
	if (!p)
		return lfm_error(err, dir, "out of memory");
	snprintf(p, cap, "%s/%s.tmp-XXXXXX", dir, name);
	int fd = mkstemp(p);
	if (fd < 0) {
		lfm_error(err, dir, "cannot create %s: %s", name, strerror(errno));
		free(p);
		return -1;
	}
	int saved = fchmod(fd, 0644) == 0 ? lfm_io_write(fd, text, strlen(text)) : errno;
	if (close(fd) != 0 && !saved)
		saved = errno;
	if (saved) {
		lfm_error(err, dir, "cannot write %s: %s", name, lfm_io_reason(saved));
		unlink(p);
		free(p);
		return -1;
	}
	*tmp = p;
	return 0;
}

/* mkdir -p; *created tells whether the last component was made here. */
static int make_dirs(const char *dir, bool *created, LfmError *err)
{
	*created = false;
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return lfm_error(err, dir, "exists and is not a directory");
		return 0;
	}
	char *p = strdup(dir);
	if (!p)
		return lfm_error(err, dir, "out of memory");
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			lfm_error(err, dir, "cannot create directory %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(dir, 0755) == 0)
		*created = true;
	else if (errno != EEXIST)
		return lfm_error(err, dir, "cannot create directory: %s", strerror(errno));
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* ============================================================== driver */

typedef struct Plan {
	cJSON *config, *gen;
	char *config_text, *gen_text;
	LfmConfig cfg;
	ExpectedTensor *tensors;
	StWriteTensor *wt;
	int n;
	StLayout layout;
} Plan;

static void plan_free(Plan *p)
{
	cJSON_Delete(p->config);
	cJSON_Delete(p->gen);
	free(p->config_text);
	free(p->gen_text);
	free(p->tensors);
	free(p->wt);
	lfm_st_layout_free(&p->layout);
}

static const char *torch_dtype_name(StDtype t)
{
	return t == ST_BF16 ? "bfloat16" : t == ST_F16 ? "float16" : "float32";
}

/* Everything but the weights: config (with overrides), its resolution by
 * the frontend, the tensor list and the file layout. */
static int make_plan(const SynthOptions *o, Plan *p, LfmError *err)
{
	memset(p, 0, sizeof *p);
	if (o->dtype != ST_F32 && o->dtype != ST_BF16 && o->dtype != ST_F16)
		return lfm_error(err, NULL, "synth: bad dtype %d", (int)o->dtype);
	const char *name = o->preset ? canonical_preset(o->preset) : NULL;
	if (!name)
		return lfm_error(err, NULL, "synth: unknown preset '%s' (choose tiny, 350m, 700m, 1.2b or 2.6b)",
		                 o->preset ? o->preset : "");
	p->config = make_preset(name);
	if (!p->config)
		return lfm_error(err, NULL, "synth: out of memory");
	for (int i = 0; i < o->n_set; i++) {
		const char *k = o->set_keys[i];
		if (!k || !*k)
			return lfm_error(err, NULL, "synth: --set needs key=JSON with a non-empty key");
		cJSON *v = parse_set_value(k, o->set_values[i] ? o->set_values[i] : "", err);
		if (!v)
			return -1;
		if (set_key(p->config, k, v))
			return lfm_error(err, NULL, "synth: out of memory");
	}
	if (set_key(p->config, "torch_dtype", cJSON_CreateString(torch_dtype_name(o->dtype))))
		return lfm_error(err, NULL, "synth: out of memory");
	if (finalize(p->config, err))
		return -1;
	p->gen = generation_config(p->config);
	p->config_text = print_py_json(p->config);
	p->gen_text = p->gen ? print_py_json(p->gen) : NULL;
	if (!p->config_text || !p->gen_text)
		return lfm_error(err, NULL, "synth: cannot print the config (out of memory or bad UTF-8 in a --set string)");
	char where[64];
	snprintf(where, sizeof where, "synth %s config", name);
	if (lfm_config_parse(p->config_text, strlen(p->config_text), where, &p->cfg, err))
		return -1;
	p->tensors = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *p->tensors);
	if (!p->tensors)
		return lfm_error(err, NULL, "synth: out of memory");
	p->n = lfm_expected_tensors(&p->cfg, p->tensors, LFM_MAX_EXPECTED_TENSORS);
	if (p->n < 0)
		return lfm_error(err, NULL, "synth: too many tensors");
	p->wt = calloc((size_t)(p->n ? p->n : 1), sizeof *p->wt);
	if (!p->wt)
		return lfm_error(err, NULL, "synth: out of memory");
	for (int i = 0; i < p->n; i++) {
		p->wt[i].name = p->tensors[i].name;
		p->wt[i].dtype = o->dtype;
		p->wt[i].ndim = p->tensors[i].ndim;
		memcpy(p->wt[i].shape, p->tensors[i].shape, sizeof p->wt[i].shape);
	}
	return lfm_st_layout(p->wt, p->n, &p->layout, err);
}

static void print_summary(FILE *log, const char *preset, const Plan *p)
{
	const LfmConfig *c = &p->cfg;
	fprintf(log, "%s: vocab=%d hidden=%d layers=%d (conv=%d, attn=%d) heads=%d kv=%d head_dim=%d "
	        "ff=%d (declared %d) L=%d conv_bias=%s tied=%s theta=%g eps=%g\n",
	        preset, c->vocab_size, c->hidden, c->n_layers, c->n_conv_layers, c->n_attn_layers,
	        c->n_heads, c->n_kv_heads, c->head_dim, c->ff, c->ff_declared, c->conv_L,
	        c->conv_bias ? "true" : "false", c->tie_embeddings ? "true" : "false",
	        c->rope_theta, c->norm_eps);
}

/* Renames the finished temporaries into place: the model first (w may be
 * NULL with --config-only), then the two JSON files; undoes on failure. */
static int commit_files(const char *dir, char *tmp_cfg, char *tmp_gen, StWriter *w, LfmError *err)
{
	char *cfg = join(dir, "config.json"), *gen = join(dir, "generation_config.json");
	char *model = join(dir, "model.safetensors");
	int rc = -1;
	if (!cfg || !gen || !model) {
		lfm_error(err, dir, "out of memory");
		lfm_st_writer_abort(w);
		goto out;
	}
	if (w && lfm_st_writer_commit(w, err))
		goto out;
	if (rename(tmp_cfg, cfg) != 0) {
		lfm_error(err, cfg, "cannot rename into place: %s", strerror(errno));
		if (w)
			unlink(model);
		goto out;
	}
	if (rename(tmp_gen, gen) != 0) {
		lfm_error(err, gen, "cannot rename into place: %s", strerror(errno));
		if (w)
			unlink(model);
		unlink(cfg);
		goto out;
	}
	rc = 0;
out:
	free(cfg);
	free(gen);
	free(model);
	return rc;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_outputs(const SynthOptions *o, const Plan *p, LfmError *err)
{
	bool created;
	if (!o->out_dir || !*o->out_dir)
		return lfm_error(err, NULL, "synth: no output directory (-o DIR)");
	if (make_dirs(o->out_dir, &created, err))
		return -1;
	char *tmp_cfg = NULL, *tmp_gen = NULL, *model = join(o->out_dir, "model.safetensors");
	StWriter *w = NULL;
	int rc = -1;
	if (!model) {
		lfm_error(err, o->out_dir, "out of memory");
		goto fail;
	}
	if (write_temp_text(o->out_dir, "config.json", p->config_text, &tmp_cfg, err) ||
	    write_temp_text(o->out_dir, "generation_config.json", p->gen_text, &tmp_gen, err))
		goto fail;
	if (!o->config_only) {
		w = lfm_st_writer_create(model, p->wt, p->n, err);
		if (!w || write_weights(w, p->tensors, p->n, &p->cfg, o->seed, err))
			goto fail;
	}
	rc = commit_files(o->out_dir, tmp_cfg, tmp_gen, w, err);
	w = NULL;
	if (rc == 0)
		goto done;
fail:
	lfm_st_writer_abort(w);
	if (tmp_cfg)
		unlink(tmp_cfg);
	if (tmp_gen)
		unlink(tmp_gen);
	if (created)
		rmdir(o->out_dir);     /* only succeeds if we left it empty */
done:
	free(tmp_cfg);
	free(tmp_gen);
	free(model);
	return rc;
}

int lfm_synth(const SynthOptions *o, FILE *log, LfmError *err)
{
	Plan p;
	double t0 = now_seconds();
	int rc = make_plan(o, &p, err);
	const char *preset = o->preset ? canonical_preset(o->preset) : NULL;
	if (rc == 0 && log)
		print_summary(log, preset, &p);
	if (rc == 0 && !o->dry_run)
		rc = write_outputs(o, &p, err);
	if (rc == 0 && log) {
		fprintf(log, "%s %s seed=%" PRIu64 ": tensors=%d params=%" PRId64 " (%.3f B) "
		        "file_bytes=%" PRIu64 " (model.safetensors, header %zu)",
		        preset, lfm_dtype_name(o->dtype), o->seed, p.n, p.layout.n_params,
		        (double)p.layout.n_params / 1e9, p.layout.file_bytes, p.layout.header_len);
		if (o->dry_run)
			fprintf(log, " dry run, nothing written\n");
		else if (o->config_only)
			fprintf(log, " config only -> %s\n", o->out_dir);
		else
			fprintf(log, " -> %s in %.1f s\n", o->out_dir, now_seconds() - t0);
	}
	plan_free(&p);
	return rc;
}
