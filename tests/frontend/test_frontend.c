/*
 * test_frontend.c — the frontend against good and bad checkpoints.
 *
 *   test_frontend TMP_DIR REPO_ROOT
 *
 * Bad inputs: every case writes a fresh model directory under TMP_DIR
 * (a small valid checkpoint with exactly one thing broken), opens it, and
 * asserts that lfm_checkpoint_open fails with a one-line message naming
 * the offending file and containing a key phrase (token ids outside the
 * vocabulary, numbers beyond the double range, and a FIFO or a directory
 * in place of every file the checkpoint may have, each opened under an
 * alarm so a blocking open fails the test).  The safetensors files
 * are written by a small independent writer in this file (header JSON by
 * hand, tensor data from a fixed formula), so the test does not trust the
 * code it tests to build its inputs.
 *
 * Good inputs: the hand-written model in F32 / BF16 / F16 / mixed, single
 * file and sharded; the committed oracle fixtures (each tests/fixtures/NAME: its
 * MANIFEST.json holds what the Python oracle resolved — ff, head_dim,
 * layer types, theta, tying, parameter count); the four release configs;
 * the ff rule's worked examples (specs/lfm2.md §5); decoded tensor values
 * against numpy's (fixtures/values.txt); dtype conversions against known
 * bit patterns.
 *
 * Output and exit status: tests/tools/check.h's (a line per failed check,
 * a summary line; 1 if anything failed, 2 for bad arguments).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "check.h"
#include "frontend.h"

/* ------------------------------------------------------------ harness */

/* The checks are tests/tools/check.h's; check_case names the running case. */
typedef struct Suite {
	const char *tmp;
	const char *repo;
} Suite;

/* ---------------------------------------------------------- files */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_of(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0) {
		perror("asprintf");
		exit(2);
	}
	return p;
}

/* A fresh, empty directory TMP/name. */
static char *fresh_dir(Suite *s, const char *name)
{
	char *d = path_of(s->tmp, name);
	rm_rf(d);
	if (mkdir(d, 0755) != 0) {
		fprintf(stderr, "cannot create %s: %s\n", d, strerror(errno));
		exit(2);
	}
	return d;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char *p = path_of(dir, name);
	write_bytes(p, text, strlen(text));
	free(p);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------- the small model */

/*
 * vocab 32, H 8, 3 layers conv/attn/conv, nh 2 / nkv 1 (hd 4), conv_L 3,
 * block_ff_dim 30 -> int(2*30/3) = 20 -> ceil to multiple_of 8 = 24.
 */
static const char BASE_CONFIG[] =
	"{\"model_type\": \"lfm2\", \"vocab_size\": 32, \"hidden_size\": 8,"
	" \"num_hidden_layers\": 3, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
	" \"block_ff_dim\": 30, \"block_auto_adjust_ff_dim\": true, \"block_ffn_dim_multiplier\": 1.0,"
	" \"block_multiple_of\": 8, \"conv_L_cache\": 3, \"conv_bias\": false, \"norm_eps\": 1e-05,"
	" \"rope_theta\": 1000000.0, \"layer_types\": [\"conv\", \"full_attention\", \"conv\"],"
	" \"eos_token_id\": 7, \"bos_token_id\": 1, \"pad_token_id\": 0}";

enum { SM_V = 32, SM_H = 8, SM_F = 24, SM_HD = 4, SM_L = 3, MAX_T = 64 };

typedef struct TSpec {
	char name[96];
	char dtype[16];          /* as written in the header */
	int ndim;                /* written shape (may be made wrong on purpose) */
	int64_t shape[5];
	int64_t numel;           /* element count of the data actually written */
	int esize;               /* bytes per element of the data written */
	bool custom_offsets;
	uint64_t begin, end;     /* header offsets if custom_offsets */
	uint64_t hash;           /* XXH3 of the bytes written (filled by the writer) */
	int shard;               /* for sharded writes */
} TSpec;

typedef struct Model {
	TSpec t[MAX_T];
	int n;
} Model;

static void add_t(Model *m, const char *dtype, int ndim, int64_t a, int64_t b, int64_t c, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void add_t(Model *m, const char *dtype, int ndim, int64_t a, int64_t b, int64_t c, const char *fmt, ...)
{
	TSpec *t = &m->t[m->n++];
	memset(t, 0, sizeof *t);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->name, sizeof t->name, fmt, ap);
	va_end(ap);
	snprintf(t->dtype, sizeof t->dtype, "%s", dtype);
	t->ndim = ndim;
	t->shape[0] = a;
	t->shape[1] = b;
	t->shape[2] = c;
	t->numel = a * (ndim > 1 ? b : 1) * (ndim > 2 ? c : 1);
	t->esize = strcmp(dtype, "F32") ? 2 : 4;
}

/* The tensors of the small model (written out by hand from specs/lfm2.md §2). */
static void small_model(Model *m, const char *dtype, bool tied, bool conv_bias)
{
	m->n = 0;
	add_t(m, dtype, 2, SM_V, SM_H, 0, "model.embed_tokens.weight");
	add_t(m, dtype, 1, SM_H, 0, 0, "model.embedding_norm.weight");
	if (!tied)
		add_t(m, dtype, 2, SM_V, SM_H, 0, "lm_head.weight");
	for (int i = 0; i < 3; i++) {
		add_t(m, dtype, 1, SM_H, 0, 0, "model.layers.%d.operator_norm.weight", i);
		add_t(m, dtype, 1, SM_H, 0, 0, "model.layers.%d.ffn_norm.weight", i);
		add_t(m, dtype, 2, SM_F, SM_H, 0, "model.layers.%d.feed_forward.w1.weight", i);
		add_t(m, dtype, 2, SM_F, SM_H, 0, "model.layers.%d.feed_forward.w3.weight", i);
		add_t(m, dtype, 2, SM_H, SM_F, 0, "model.layers.%d.feed_forward.w2.weight", i);
		if (i != 1) {
			add_t(m, dtype, 2, 3 * SM_H, SM_H, 0, "model.layers.%d.conv.in_proj.weight", i);
			add_t(m, dtype, 3, SM_H, 1, SM_L, "model.layers.%d.conv.conv.weight", i);
			add_t(m, dtype, 2, SM_H, SM_H, 0, "model.layers.%d.conv.out_proj.weight", i);
			if (conv_bias) {
				add_t(m, dtype, 1, 3 * SM_H, 0, 0, "model.layers.%d.conv.in_proj.bias", i);
				add_t(m, dtype, 1, SM_H, 0, 0, "model.layers.%d.conv.conv.bias", i);
				add_t(m, dtype, 1, SM_H, 0, 0, "model.layers.%d.conv.out_proj.bias", i);
			}
		} else {
			add_t(m, dtype, 2, 2 * SM_HD, SM_H, 0, "model.layers.%d.self_attn.q_proj.weight", i);
			add_t(m, dtype, 2, SM_HD, SM_H, 0, "model.layers.%d.self_attn.k_proj.weight", i);
			add_t(m, dtype, 2, SM_HD, SM_H, 0, "model.layers.%d.self_attn.v_proj.weight", i);
			add_t(m, dtype, 2, SM_H, 2 * SM_HD, 0, "model.layers.%d.self_attn.out_proj.weight", i);
			add_t(m, dtype, 1, SM_HD, 0, 0, "model.layers.%d.self_attn.q_layernorm.weight", i);
			add_t(m, dtype, 1, SM_HD, 0, 0, "model.layers.%d.self_attn.k_layernorm.weight", i);
		}
	}
}

static int64_t small_model_params(const Model *m)
{
	int64_t n = 0;
	for (int i = 0; i < m->n; i++)
		n += m->t[i].numel;
	return n;
}

static TSpec *find_t(Model *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->t[i].name, name))
			return &m->t[i];
	fprintf(stderr, "test bug: no tensor %s\n", name);
	exit(2);
}

static void remove_t(Model *m, const char *name)
{
	TSpec *t = find_t(m, name);
	int i = (int)(t - m->t);
	memmove(&m->t[i], &m->t[i + 1], (size_t)(m->n - i - 1) * sizeof *t);
	m->n--;
}

/* Element j of tensor number k: k/64-steps, exact in BF16 and F16. */
static float value_of(int k, int64_t j)
{
	return (float)((int)((j * 7 + k * 13) % 101) - 50) / 64.0f;
}

/* IEEE half bits of a value that is exactly representable (independent of
 * the converter under test). */
static uint16_t f16_bits_exact(float v)
{
	if (v == 0)
		return signbit(v) ? 0x8000 : 0;
	uint16_t sign = v < 0 ? 0x8000 : 0;
	int e;
	double m = frexp(fabs(v), &e);       /* v = m * 2^e, m in [0.5, 1) */
	int exp16 = e - 1 + 15;              /* v = (2m) * 2^(e-1) */
	if (exp16 <= 0) {                    /* subnormal: v / 2^-24 */
		return (uint16_t)(sign | (uint16_t)ldexp(fabs(v), 24));
	}
	uint16_t mant = (uint16_t)((2 * m - 1) * 1024);
	return (uint16_t)(sign | exp16 << 10 | mant);
}

static void put_elem(uint8_t *p, const char *dtype, float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	if (!strcmp(dtype, "F32")) {
		for (int i = 0; i < 4; i++)
			p[i] = (uint8_t)(u >> (8 * i));
	} else if (!strcmp(dtype, "F16")) {
		uint16_t h = f16_bits_exact(v);
		p[0] = (uint8_t)h;
		p[1] = (uint8_t)(h >> 8);
	} else {                             /* BF16 (and any 2-byte junk dtype) */
		p[0] = (uint8_t)(u >> 16);
		p[1] = (uint8_t)(u >> 24);
	}
}

/* Growable byte buffer. */
typedef struct Buf {
	char *p;
	size_t n, cap;
} Buf;

static void buf_add(Buf *b, const void *data, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(Buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_add(b, tmp, (size_t)n);
}

/* Knobs for writing one safetensors file. */
typedef struct StOpts {
	int shard;                 /* only tensors with this shard number (-1: all) */
	const char *header;        /* raw header text instead of the generated one */
	bool no_metadata;
	bool no_padding;           /* leave the header length unpadded (odd alignment) */
	const char *extra_entry;   /* raw text appended inside the header object */
	bool set_hlen;
	uint64_t hlen;             /* length prefix to write instead of the real one */
	long truncate_to;          /* > 0: cut the file to this many bytes */
} StOpts;

static StOpts st_defaults(void)
{
	StOpts o = {0};
	o.shard = -1;
	return o;
}

/* Writes the tensors of m (data in list order) into path. */
static void write_st(const char *path, Model *m, const StOpts *o)
{
	Buf data = {0}, hdr = {0};
	buf_add(&hdr, "{", 1);
	bool first = true;
	if (!o->no_metadata) {
		buf_printf(&hdr, "\"__metadata__\":{\"format\":\"pt\"}");
		first = false;
	}
	for (int k = 0; k < m->n; k++) {
		TSpec *t = &m->t[k];
		if (o->shard >= 0 && t->shard != o->shard)
			continue;
		size_t begin = data.n;
		for (int64_t j = 0; j < t->numel; j++) {
			uint8_t e[4];
			put_elem(e, t->esize == 4 ? "F32" : t->dtype, value_of(k, j));
			buf_add(&data, e, (size_t)t->esize);
		}
		t->hash = XXH3_64bits(data.p ? data.p + begin : "", data.n - begin);
		uint64_t b = t->custom_offsets ? t->begin : begin, e = t->custom_offsets ? t->end : data.n;
		buf_printf(&hdr, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", first ? "" : ",", t->name, t->dtype);
		for (int d = 0; d < t->ndim; d++)
			buf_printf(&hdr, d ? ",%lld" : "%lld", (long long)t->shape[d]);
		buf_printf(&hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)b, (unsigned long long)e);
		first = false;
	}
	if (o->extra_entry)
		buf_printf(&hdr, "%s%s", first ? "" : ",", o->extra_entry);
	buf_add(&hdr, "}", 1);
	if (o->header) {
		hdr.n = 0;
		buf_add(&hdr, o->header, strlen(o->header));
	}
	while (!o->no_padding && hdr.n % 8)
		buf_add(&hdr, " ", 1);
	uint64_t hlen = o->set_hlen ? o->hlen : hdr.n;
	uint8_t prefix[8];
	for (int i = 0; i < 8; i++)
		prefix[i] = (uint8_t)(hlen >> (8 * i));
	Buf file = {0};
	buf_add(&file, prefix, 8);
	buf_add(&file, hdr.p, hdr.n);
	if (data.n)
		buf_add(&file, data.p, data.n);
	size_t n = file.n;
	if (o->truncate_to > 0 && (size_t)o->truncate_to < n)
		n = (size_t)o->truncate_to;
	write_bytes(path, file.p, n);
	free(data.p);
	free(hdr.p);
	free(file.p);
}

/* config.json = BASE_CONFIG with key set to raw JSON (NULL: key removed). */
static char *config_with(int n, const char *const *kv)
{
	cJSON *c = cJSON_Parse(BASE_CONFIG);
	for (int i = 0; i < n; i++) {
		const char *k = kv[2 * i], *v = kv[2 * i + 1];
		cJSON_DeleteItemFromObjectCaseSensitive(c, k);
		if (v) {
			cJSON *val = cJSON_Parse(v);
			if (!val) {
				fprintf(stderr, "test bug: bad JSON %s\n", v);
				exit(2);
			}
			cJSON_AddItemToObject(c, k, val);
		}
	}
	char *s = cJSON_Print(c);
	cJSON_Delete(c);
	return s;
}

/* Writes DIR/config.json (BASE_CONFIG with overrides) and DIR/model.safetensors. */
static void write_model(const char *dir, Model *m, const StOpts *o, int n_kv, const char *const *kv)
{
	char *cfg = config_with(n_kv, kv);
	write_text(dir, "config.json", cfg);
	free(cfg);
	char *p = path_of(dir, "model.safetensors");
	write_st(p, m, o);
	free(p);
}

/* ------------------------------------------------------ bad cases */

/* Opens dir; the open must fail with a one-line message containing `file`
 * and `phrase`. */
static void expect_open_fails(const char *dir, const char *file, const char *phrase)
{
	Checkpoint ck;
	LfmError err = {{0}};
	FILE *warn = tmpfile();
	int rc = lfm_checkpoint_open(dir, &ck, warn, &err);
	if (warn)
		fclose(warn);
	CHECK(rc == -1, "open succeeded, expected failure with '%s'", phrase);
	if (rc == 0) {
		lfm_checkpoint_close(&ck);
		return;
	}
	CHECK(strstr(err.msg, file) != NULL, "message lacks file '%s': %s", file, err.msg);
	CHECK(strstr(err.msg, phrase) != NULL, "message lacks '%s': %s", phrase, err.msg);
	CHECK(strchr(err.msg, '\n') == NULL && err.msg[0] != '\0', "message not one line: %s", err.msg);
	/* the struct is zeroed on failure: closing it again is harmless */
	lfm_checkpoint_close(&ck);
}

/* A bad case: small model (F32), one mutation, expected file + phrase. */
typedef struct BadCase {
	const char *name;
	const char *file;      /* what the message must name */
	const char *phrase;
	void (*mutate)(Model *m, StOpts *o);
	int n_kv;
	const char *kv[8];     /* config overrides */
} BadCase;

static void mut_none(Model *m, StOpts *o) { (void)m; (void)o; }
static void mut_truncated(Model *m, StOpts *o) { (void)m; o->truncate_to = 5; }
static void mut_hlen_past_end(Model *m, StOpts *o) { (void)m; o->set_hlen = true; o->hlen = 1u << 20; }
static void mut_hlen_huge(Model *m, StOpts *o) { (void)m; o->set_hlen = true; o->hlen = 200000000; }
static void mut_hlen_max(Model *m, StOpts *o) { (void)m; o->set_hlen = true; o->hlen = UINT64_MAX; }
static void mut_not_json(Model *m, StOpts *o) { (void)m; o->header = "{\"a\": [1, 2"; }
static void mut_not_object(Model *m, StOpts *o) { (void)m; o->header = "[1, 2, 3]"; }
static void mut_trailing(Model *m, StOpts *o) { (void)m; o->header = "{} {}"; }
static void mut_offsets_range(Model *m, StOpts *o)
{
	(void)o;
	TSpec *t = find_t(m, "model.embedding_norm.weight");
	t->custom_offsets = true;
	t->begin = 1u << 20;
	t->end = (1u << 20) + 32;
}
static void mut_offsets_reversed(Model *m, StOpts *o)
{
	(void)o;
	TSpec *t = find_t(m, "model.embedding_norm.weight");
	t->custom_offsets = true;
	t->begin = 64;
	t->end = 32;
}
static void mut_overlap(Model *m, StOpts *o)
{
	(void)o;
	/* ffn_norm claims operator_norm's bytes (same size, so each entry is
	 * consistent on its own). embed_tokens comes first: 32*8*4 bytes. */
	TSpec *a = find_t(m, "model.layers.0.ffn_norm.weight");
	a->custom_offsets = true;
	a->begin = 1024 + 16;
	a->end = 1024 + 16 + 32;
}
static void mut_dtype_i8(Model *m, StOpts *o)
{
	(void)o;
	TSpec *t = find_t(m, "model.layers.1.self_attn.q_layernorm.weight");
	snprintf(t->dtype, sizeof t->dtype, "I8");
}
static void mut_dtype_f64(Model *m, StOpts *o)
{
	(void)o;
	TSpec *t = find_t(m, "model.embedding_norm.weight");
	snprintf(t->dtype, sizeof t->dtype, "F64");
}
static void mut_size_mismatch(Model *m, StOpts *o)
{
	(void)o;
	find_t(m, "model.layers.0.feed_forward.w1.weight")->shape[1] = 7;   /* data is still 24x8 */
}
static void mut_shape_not_list(Model *m, StOpts *o)
{
	(void)m;
	o->extra_entry = "\"junk\":{\"dtype\":\"F32\",\"shape\":\"abc\",\"data_offsets\":[0,0]}";
}
static void mut_no_offsets(Model *m, StOpts *o)
{
	(void)m;
	o->extra_entry = "\"junk\":{\"dtype\":\"F32\",\"shape\":[0]}";
}
static void mut_dtype_number(Model *m, StOpts *o)
{
	(void)m;
	o->extra_entry = "\"junk\":{\"dtype\":5,\"shape\":[0],\"data_offsets\":[0,0]}";
}
static void mut_entry_not_object(Model *m, StOpts *o) { (void)m; o->extra_entry = "\"junk\":[1]"; }
static void mut_rank5(Model *m, StOpts *o)
{
	(void)m;
	o->extra_entry = "\"junk\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,0],\"data_offsets\":[0,0]}";
}
static void mut_negative_offset(Model *m, StOpts *o)
{
	(void)m;
	o->extra_entry = "\"junk\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[-4,0]}";
}
static void mut_duplicate_name(Model *m, StOpts *o)
{
	(void)m;
	o->extra_entry = "\"model.embedding_norm.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}";
}
static void mut_missing_tensor(Model *m, StOpts *o)
{
	(void)o;
	remove_t(m, "model.layers.1.self_attn.k_layernorm.weight");
}
static void mut_wrong_shape(Model *m, StOpts *o)
{
	(void)o;
	TSpec *t = find_t(m, "model.layers.1.self_attn.q_proj.weight");
	t->shape[0] = 4;
	t->shape[1] = 16;   /* same element count, transposed-ish */
}
static void mut_conv_squeezed(Model *m, StOpts *o)
{
	(void)o;
	TSpec *t = find_t(m, "model.layers.2.conv.conv.weight");
	t->ndim = 2;
	t->shape[1] = SM_L;   /* [H, L] as GGUF converters store it */
}
static void mut_untied_no_head(Model *m, StOpts *o) { (void)m; (void)o; }

static const BadCase BAD_CASES[] = {
	{"st_truncated", "model.safetensors", "too short", mut_truncated, 0, {0}},
	{"st_header_past_end", "model.safetensors", "past the end", mut_hlen_past_end, 0, {0}},
	{"st_header_over_100mb", "model.safetensors", "100 MB", mut_hlen_huge, 0, {0}},
	{"st_header_len_2^64-1", "model.safetensors", "100 MB", mut_hlen_max, 0, {0}},
	{"st_header_not_json", "model.safetensors", "malformed JSON", mut_not_json, 0, {0}},
	{"st_header_not_object", "model.safetensors", "not a JSON object", mut_not_object, 0, {0}},
	{"st_header_trailing_data", "model.safetensors", "trailing data", mut_trailing, 0, {0}},
	{"st_offsets_out_of_range", "model.safetensors", "out of range", mut_offsets_range, 0, {0}},
	{"st_offsets_reversed", "model.safetensors", "end before they begin", mut_offsets_reversed, 0, {0}},
	{"st_overlapping_tensors", "model.safetensors", "overlap", mut_overlap, 0, {0}},
	{"st_dtype_I8", "model.safetensors", "dtype I8", mut_dtype_i8, 0, {0}},
	{"st_dtype_F64", "model.safetensors", "'model.embedding_norm.weight' has dtype F64", mut_dtype_f64, 0, {0}},
	{"st_shape_x_dtype_ne_bytes", "model.safetensors", "does not match the 768 bytes", mut_size_mismatch, 0, {0}},
	{"st_shape_not_a_list", "model.safetensors", "tensor 'junk': 'shape'", mut_shape_not_list, 0, {0}},
	{"st_data_offsets_missing", "model.safetensors", "tensor 'junk': 'data_offsets'", mut_no_offsets, 0, {0}},
	{"st_negative_offset", "model.safetensors", "'data_offsets' must be", mut_negative_offset, 0, {0}},
	{"st_dtype_not_string", "model.safetensors", "'dtype' is missing or not a string", mut_dtype_number, 0, {0}},
	{"st_entry_not_object", "model.safetensors", "not an object", mut_entry_not_object, 0, {0}},
	{"st_rank_5", "model.safetensors", "5 dimensions", mut_rank5, 0, {0}},
	{"st_duplicate_name", "model.safetensors", "twice", mut_duplicate_name, 0, {0}},
	{"missing_tensor", "model.safetensors", "missing tensor 'model.layers.1.self_attn.k_layernorm.weight'",
	 mut_missing_tensor, 0, {0}},
	{"wrong_shape", "model.safetensors", "has shape [4, 16] but the config implies [8, 8]", mut_wrong_shape, 0, {0}},
	{"conv_weight_squeezed", "model.safetensors", "has shape [8, 3] but the config implies [8, 1, 3]",
	 mut_conv_squeezed, 0, {0}},
	{"untied_needs_lm_head", "model.safetensors", "missing tensor 'lm_head.weight'", mut_untied_no_head,
	 1, {"tie_embedding", "false"}},
	{"conv_bias_needs_biases", "model.safetensors", "missing tensor 'model.layers.0.conv.conv.bias'", mut_none,
	 1, {"conv_bias", "true"}},
	{"w1_disagrees_with_ff_rule", "model.safetensors", "has 24 rows but the config's ff rule gives 20", mut_none,
	 1, {"block_ffn_dim_multiplier", "null"}},
	{"w1_disagrees_no_auto_adjust", "model.safetensors", "has 24 rows but the config's ff rule gives 30", mut_none,
	 1, {"block_auto_adjust_ff_dim", "false"}},
	/* config errors */
	{"config_string_hidden_size", "config.json", "key 'hidden_size' must be a positive integer (got \"abc\")",
	 mut_none, 1, {"hidden_size", "\"abc\""}},
	{"config_float_num_hidden_layers", "config.json", "key 'num_hidden_layers' must be a positive integer (got 2.5)",
	 mut_none, 1, {"num_hidden_layers", "2.5"}},
	{"config_negative_vocab", "config.json", "key 'vocab_size' must be a positive integer (got -32)", mut_none,
	 1, {"vocab_size", "-32"}},
	{"config_null_hidden_size", "config.json", "key 'hidden_size' must be a positive integer (got null)",
	 mut_none, 1, {"hidden_size", "null"}},
	{"config_bool_as_string", "config.json", "key 'conv_bias' must be true or false (got \"yes\")", mut_none,
	 1, {"conv_bias", "\"yes\""}},
	{"config_eps_string", "config.json", "key 'norm_eps' must be a positive number", mut_none,
	 1, {"norm_eps", "\"1e-5\""}},
	{"config_layer_types_length", "config.json", "'layer_types' has 2 entries but num_hidden_layers is 3", mut_none,
	 1, {"layer_types", "[\"conv\", \"conv\"]"}},
	{"config_unknown_layer_type", "config.json", "layer_types[1] is \"mamba\": unknown layer type", mut_none,
	 1, {"layer_types", "[\"conv\", \"mamba\", \"conv\"]"}},
	{"config_layer_types_not_list", "config.json", "key 'layer_types' must be", mut_none,
	 1, {"layer_types", "\"conv\""}},
	{"config_full_attn_idxs_out_of_range", "config.json", "full_attn_idxs[1] is 3: not a layer index from 0 to 2",
	 mut_none, 2, {"layer_types", NULL, "full_attn_idxs", "[1, 3]"}},
	{"config_nh_not_multiple_of_nkv", "config.json", "num_attention_heads (2) is not a multiple of num_key_value_heads (3)",
	 mut_none, 1, {"num_key_value_heads", "3"}},
	{"config_hidden_not_divisible", "config.json", "hidden_size (8) is not divisible by num_attention_heads (3)",
	 mut_none, 2, {"num_attention_heads", "3", "num_key_value_heads", "1"}},
	{"config_conv_L_cache_0", "config.json", "key 'conv_L_cache' must be a positive integer (got 0)", mut_none,
	 1, {"conv_L_cache", "0"}},
	{"config_too_many_layers", "config.json", "more than the supported maximum 512", mut_none,
	 2, {"num_hidden_layers", "600", "layer_types", NULL}},
	{"config_model_type_moe", "config.json", "key 'model_type' is \"lfm2_moe\"", mut_none,
	 1, {"model_type", "\"lfm2_moe\""}},
	{"config_rope_type_linear", "config.json", "rope_parameters rope_type is \"linear\"", mut_none,
	 1, {"rope_parameters", "{\"rope_theta\": 10000.0, \"rope_type\": \"linear\"}"}},
	{"config_rope_scaling_dynamic", "config.json", "rope_scaling rope_type is \"dynamic\"", mut_none,
	 1, {"rope_scaling", "{\"type\": \"dynamic\", \"factor\": 2.0}"}},
	{"config_eos_empty_list", "config.json", "key 'eos_token_id' must be a token id", mut_none,
	 1, {"eos_token_id", "[]"}},
	{"config_eos_past_vocab", "config.json", "key 'eos_token_id' is 32: not a token id of the vocabulary (vocab_size 32)",
	 mut_none, 1, {"eos_token_id", "32"}},
	{"config_eos_list_past_vocab", "config.json", "key 'eos_token_id' element 2 is 99: not a token id",
	 mut_none, 1, {"eos_token_id", "[7, 2, 99]"}},
	{"config_eos_list_negative", "config.json", "key 'eos_token_id' must be a token id or a non-empty list",
	 mut_none, 1, {"eos_token_id", "[7, -2]"}},
	{"config_bos_past_vocab", "config.json", "key 'bos_token_id' is 40: not a token id", mut_none,
	 1, {"bos_token_id", "40"}},
	{"config_pad_past_smaller_vocab", "config.json", "key 'pad_token_id' is 31: not a token id of the vocabulary (vocab_size 31)",
	 mut_none, 2, {"pad_token_id", "31", "vocab_size", "31"}},
	{"config_ff_rule_gives_zero", "config.json", "the ff rule gives 0", mut_none,
	 2, {"block_ff_dim", "1", "block_ffn_dim_multiplier", "null"}},
};

static void run_bad_case(Suite *s, const BadCase *c)
{
	check_case = c->name;
	char *dir = fresh_dir(s, c->name);
	Model m;
	small_model(&m, "F32", true, false);
	StOpts o = st_defaults();
	c->mutate(&m, &o);
	write_model(dir, &m, &o, c->n_kv, c->kv);
	expect_open_fails(dir, c->file, c->phrase);
	free(dir);
}

/* Cases that need more than a mutation of the small model. */
static void bad_files_and_dirs(Suite *s)
{
	Model m;
	StOpts o = st_defaults();
	small_model(&m, "F32", true, false);

	check_case = "config_not_object";
	char *d = fresh_dir(s, "config_not_object");
	write_model(d, &m, &o, 0, NULL);
	write_text(d, "config.json", "[1, 2]");
	expect_open_fails(d, "config.json", "config is not a JSON object (got [1,2])");
	free(d);

	check_case = "config_malformed_json";
	d = fresh_dir(s, "config_malformed_json");
	write_model(d, &m, &o, 0, NULL);
	write_text(d, "config.json", "{\"hidden_size\": 8,");
	expect_open_fails(d, "config.json", "malformed JSON");
	free(d);

	check_case = "config_empty_file";
	d = fresh_dir(s, "config_empty_file");
	write_model(d, &m, &o, 0, NULL);
	write_text(d, "config.json", "");
	expect_open_fails(d, "config.json", "malformed JSON");
	free(d);

	check_case = "missing_config";
	d = fresh_dir(s, "missing_config");
	write_model(d, &m, &o, 0, NULL);
	char *p = path_of(d, "config.json");
	remove(p);
	free(p);
	expect_open_fails(d, "config.json", "cannot open");
	free(d);

	check_case = "missing_model_safetensors";
	d = fresh_dir(s, "missing_model_safetensors");
	write_model(d, &m, &o, 0, NULL);
	p = path_of(d, "model.safetensors");
	remove(p);
	free(p);
	expect_open_fails(d, "missing_model_safetensors", "no model.safetensors");
	free(d);

	check_case = "model_dir_missing";
	d = path_of(s->tmp, "no-such-model-dir");
	rm_rf(d);
	expect_open_fails(d, "no-such-model-dir", "cannot open model directory");
	free(d);

	check_case = "model_dir_is_a_file";
	d = fresh_dir(s, "model_dir_is_a_file");
	write_text(d, "x", "x");
	p = path_of(d, "x");
	expect_open_fails(p, "model_dir_is_a_file/x", "not a directory");
	free(p);
	free(d);

	check_case = "safetensors_is_a_directory";
	d = fresh_dir(s, "safetensors_is_a_directory");
	write_model(d, &m, &o, 0, NULL);
	p = path_of(d, "model.safetensors");
	remove(p);
	mkdir(p, 0755);
	free(p);
	expect_open_fails(d, "model.safetensors", "not a regular file (a directory)");
	free(d);

	/* A number beyond the double range (cJSON reads 1e400 as inf) is named
	 * as such, not quoted as "null".  Written as text: cJSON would print
	 * inf as null. */
	check_case = "config_number_overflows_double";
	d = fresh_dir(s, "config_number_overflows_double");
	write_model(d, &m, &o, 0, NULL);
	char *cfg = config_with(1, (const char *const[]){"rope_theta", "12345"});
	char *at = strstr(cfg, "12345");
	CHECK(at != NULL, "test bug: no rope_theta in the config text");
	if (at) {
		Buf b = {0};
		buf_add(&b, cfg, (size_t)(at - cfg));
		buf_printf(&b, "1e400%s", at + 5);
		write_text(d, "config.json", b.p);
		free(b.p);
		expect_open_fails(d, "config.json",
		                  "key 'rope_theta' must be a positive number (got a number that overflows a double)");
	}
	free(cfg);
	free(d);
}

/* --------------------------------------------------------- sharded */

static const char *SHARD_NAMES[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};

/* Splits m across two shards (first half / second half) and writes an index
 * that maps each tensor to its shard; `index_extra` is appended to the
 * weight_map, `skip_shard` (0/1) leaves that shard file unwritten. */
static void write_sharded(const char *dir, Model *m, const char *index_extra, int skip_shard)
{
	char *cfg = config_with(0, NULL);
	write_text(dir, "config.json", cfg);
	free(cfg);
	for (int i = 0; i < m->n; i++)
		m->t[i].shard = i < m->n / 2 ? 0 : 1;
	for (int sh = 0; sh < 2; sh++) {
		StOpts o = st_defaults();
		o.shard = sh;
		char *p = path_of(dir, SHARD_NAMES[sh]);
		if (sh != skip_shard)
			write_st(p, m, &o);
		free(p);
	}
	Buf idx = {0};
	buf_printf(&idx, "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
	for (int i = 0; i < m->n; i++)
		buf_printf(&idx, "%s\"%s\": \"%s\"", i ? ", " : "", m->t[i].name, SHARD_NAMES[m->t[i].shard]);
	if (index_extra)
		buf_printf(&idx, ", %s", index_extra);
	buf_printf(&idx, "}}");
	write_text(dir, "model.safetensors.index.json", idx.p);
	free(idx.p);
}

/* Replaces DIR/name by a FIFO or a directory. */
static void make_special(const char *dir, const char *name, bool fifo)
{
	char *p = path_of(dir, name);
	remove(p);
	if (fifo ? mkfifo(p, 0644) : mkdir(p, 0755)) {
		fprintf(stderr, "cannot make %s: %s\n", p, strerror(errno));
		exit(2);
	}
	free(p);
}

/* A FIFO or a directory where the checkpoint has a file: one line naming
 * the file and what it is, at once.  Opening a FIFO for reading used to
 * block forever; the alarm turns such a regression into a failed test. */
static void not_regular_files(Suite *s)
{
	static const char *const names[] = {"config.json", "model.safetensors", "tokenizer.json",
	                                    "tokenizer_config.json", "chat_template.jinja", "generation_config.json"};
	Model m;
	StOpts o = st_defaults();
	small_model(&m, "F32", true, false);
	for (int fifo = 0; fifo < 2; fifo++)
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			char name[160], want[160];
			snprintf(name, sizeof name, "%s_is_a_%s", names[i], fifo ? "fifo" : "directory");
			snprintf(want, sizeof want, "%s: not a regular file (a %s)", names[i], fifo ? "FIFO" : "directory");
			check_case = name;
			char *d = fresh_dir(s, name);
			write_model(d, &m, &o, 0, NULL);
			make_special(d, names[i], fifo);
			alarm(20);
			expect_open_fails(d, names[i], want);
			alarm(0);
			free(d);
		}
	/* the sharded index, and a shard */
	for (int which = 0; which < 2; which++) {
		const char *name = which ? SHARD_NAMES[1] : "model.safetensors.index.json";
		check_case = which ? "shard_is_a_fifo" : "index_is_a_fifo";
		char *d = fresh_dir(s, check_case);
		write_sharded(d, &m, NULL, -1);
		make_special(d, name, true);
		char want[160];
		snprintf(want, sizeof want, "%s: not a regular file (a FIFO)", name);
		alarm(20);
		expect_open_fails(d, name, want);
		alarm(0);
		free(d);
	}
}

static uint64_t open_hash(const char *dir)
{
	Checkpoint ck;
	LfmError err;
	if (lfm_checkpoint_open(dir, &ck, NULL, &err)) {
		CHECK(false, "cannot open %s: %s", dir, err.msg);
		return 0;
	}
	uint64_t h = ck.model_hash;
	lfm_checkpoint_close(&ck);
	return h;
}

static void sharded_cases(Suite *s)
{
	Model m;
	small_model(&m, "BF16", true, false);

	check_case = "sharded_good";
	char *single = fresh_dir(s, "sharded_reference_single");
	StOpts o = st_defaults();
	write_model(single, &m, &o, 0, NULL);
	char *d = fresh_dir(s, "sharded_good");
	write_sharded(d, &m, NULL, -1);
	Checkpoint ck;
	LfmError err;
	if (lfm_checkpoint_open(d, &ck, NULL, &err) == 0) {
		CHECK_INT(ck.n_files, 2);
		CHECK_INT(ck.n_tensors, m.n);
		const StTensor *first = lfm_checkpoint_find(&ck, m.t[0].name);
		const StTensor *last = lfm_checkpoint_find(&ck, m.t[m.n - 1].name);
		CHECK(first && strstr(first->file, SHARD_NAMES[0]), "first tensor not in shard 1");
		CHECK(last && strstr(last->file, SHARD_NAMES[1]), "last tensor not in shard 2");
		CHECK(ck.model_hash == open_hash(single), "sharded and single-file model hashes differ");
		lfm_checkpoint_close(&ck);
	} else {
		CHECK(false, "sharded open failed: %s", err.msg);
	}
	free(single);
	free(d);

	check_case = "sharded_unlisted_tensor_warns";
	d = fresh_dir(s, "sharded_unlisted_tensor_warns");
	write_sharded(d, &m, NULL, -1);
	{
		/* shard 2 gains a tensor the weight_map does not list */
		Model m2 = m;
		add_t(&m2, "BF16", 1, 4, 0, 0, "model.rotary_emb.inv_freq");
		m2.t[m2.n - 1].shard = 1;
		StOpts o2 = st_defaults();
		o2.shard = 1;
		char *p = path_of(d, SHARD_NAMES[1]);
		write_st(p, &m2, &o2);
		free(p);
	}
	FILE *warn = tmpfile();
	if (lfm_checkpoint_open(d, &ck, warn, &err) == 0) {
		CHECK_INT(ck.n_unexpected, 1);
		char text[1024] = "";
		rewind(warn);
		size_t got = fread(text, 1, sizeof text - 1, warn);
		text[got] = '\0';
		CHECK(strstr(text, "'model.rotary_emb.inv_freq' is not mapped to this shard") &&
		         strstr(text, "unexpected tensor 'model.rotary_emb.inv_freq'"), "warnings: %s", text);
		lfm_checkpoint_close(&ck);
	} else {
		CHECK(false, "open failed: %s", err.msg);
	}
	if (warn)
		fclose(warn);
	free(d);

	check_case = "sharded_missing_shard";
	d = fresh_dir(s, "sharded_missing_shard");
	write_sharded(d, &m, NULL, 1);
	expect_open_fails(d, SHARD_NAMES[1], "cannot be opened");
	free(d);

	check_case = "sharded_tensor_not_in_shard";
	d = fresh_dir(s, "sharded_tensor_not_in_shard");
	write_sharded(d, &m, "\"model.extra.weight\": \"model-00001-of-00002.safetensors\"", -1);
	expect_open_fails(d, "model.safetensors.index.json", "tensor 'model.extra.weight' in shard");
	free(d);

	check_case = "sharded_index_malformed";
	d = fresh_dir(s, "sharded_index_malformed");
	write_sharded(d, &m, NULL, -1);
	write_text(d, "model.safetensors.index.json", "{\"weight_map\": {\"a\": ");
	expect_open_fails(d, "model.safetensors.index.json", "malformed JSON");
	free(d);

	check_case = "sharded_index_no_weight_map";
	d = fresh_dir(s, "sharded_index_no_weight_map");
	write_sharded(d, &m, NULL, -1);
	write_text(d, "model.safetensors.index.json", "{\"metadata\": {}}");
	expect_open_fails(d, "model.safetensors.index.json", "'weight_map' object");
	free(d);

	check_case = "sharded_shard_outside_dir";
	d = fresh_dir(s, "sharded_shard_outside_dir");
	write_sharded(d, &m, "\"x\": \"../escape.safetensors\"", -1);
	expect_open_fails(d, "model.safetensors.index.json", "outside the model directory");
	free(d);

	check_case = "sharded_tensor_in_two_shards";
	d = fresh_dir(s, "sharded_tensor_in_two_shards");
	write_sharded(d, &m, NULL, -1);
	{
		/* rewrite shard 2 with one of shard 1's tensors added */
		m.t[0].shard = 1;
		StOpts o2 = st_defaults();
		o2.shard = 1;
		char *p = path_of(d, SHARD_NAMES[1]);
		write_st(p, &m, &o2);
		free(p);
		m.t[0].shard = 0;
	}
	expect_open_fails(d, "model-0000", "is also stored in");
	free(d);
}

/* ------------------------------------------------------ good models */

static void check_small_model(Suite *s, const char *dtype_name, StDtype dtype, bool unaligned)
{
	char name[64];
	snprintf(name, sizeof name, "good_small_%s%s", dtype_name, unaligned ? "_unaligned" : "");
	check_case = name;
	char *d = fresh_dir(s, name);
	Model m;
	small_model(&m, dtype_name, true, false);
	StOpts o = st_defaults();
	o.no_padding = unaligned;
	o.no_metadata = unaligned;
	write_model(d, &m, &o, 0, NULL);
	Checkpoint ck;
	LfmError err;
	FILE *warn = tmpfile();
	if (lfm_checkpoint_open(d, &ck, warn, &err)) {
		CHECK(false, "open failed: %s", err.msg);
		free(d);
		if (warn)
			fclose(warn);
		return;
	}
	CHECK(warn && ftell(warn) == 0, "unexpected warnings");
	if (warn)
		fclose(warn);
	CHECK_INT(ck.n_tensors, m.n);
	CHECK_INT(ck.n_unexpected, 0);
	CHECK_INT(ck.n_params, small_model_params(&m));
	/* by hand: embed 256 + final norm 8; per layer norms 16 + ffn 3*192;
	 * conv layers 192+24+64; the attention layer 64+32+32+64+4+4 */
	CHECK_INT(ck.n_params, 264 + 3 * 592 + 2 * 280 + 200);
	CHECK_INT(ck.n_bytes, (uint64_t)ck.n_params * lfm_dtype_size(dtype));
	CHECK_INT(ck.cfg.ff, SM_F);
	CHECK_INT(ck.cfg.head_dim, SM_HD);
	CHECK(ck.config_hash == lfm_config_hash(&ck.cfg), "config hash");
	for (int i = 1; i < ck.n_tensors; i++)
		CHECK(strcmp(ck.tensors[i - 1].name, ck.tensors[i].name) < 0, "tensors not sorted at %d", i);
	float *buf = malloc(SM_V * SM_H * sizeof *buf);
	double *dbuf = malloc(SM_V * SM_H * sizeof *dbuf);
	for (int k = 0; k < m.n; k++) {
		const StTensor *t = lfm_checkpoint_find(&ck, m.t[k].name);
		CHECK(t != NULL, "find %s", m.t[k].name);
		if (!t)
			continue;
		CHECK(t->dtype == dtype, "%s dtype %d", t->name, t->dtype);
		CHECK(t->hash == m.t[k].hash, "%s hash %016llx, bytes written hash to %016llx", t->name,
		      (unsigned long long)t->hash, (unsigned long long)m.t[k].hash);
		CHECK_INT(t->numel, m.t[k].numel);
		lfm_tensor_to_f32(t, buf);
		lfm_tensor_to_f64(t, dbuf);
		int bad = 0;
		for (int64_t j = 0; j < t->numel; j++)
			bad += buf[j] != value_of(k, j) || dbuf[j] != (double)value_of(k, j);
		CHECK(bad == 0, "%s: %d decoded values differ from the written ones", t->name, bad);
	}
	CHECK(lfm_checkpoint_find(&ck, "model.nothing") == NULL, "find of an absent name");
	free(buf);
	free(dbuf);
	lfm_checkpoint_close(&ck);
	free(d);
}

static void good_variants(Suite *s)
{
	Model m;
	StOpts o = st_defaults();
	Checkpoint ck;
	LfmError err;

	/* mixed dtypes are fine */
	check_case = "good_mixed_dtypes";
	char *d = fresh_dir(s, "good_mixed_dtypes");
	small_model(&m, "BF16", true, false);
	snprintf(find_t(&m, "model.embedding_norm.weight")->dtype, 16, "F32");
	find_t(&m, "model.embedding_norm.weight")->esize = 4;
	snprintf(find_t(&m, "model.layers.0.feed_forward.w2.weight")->dtype, 16, "F16");
	write_model(d, &m, &o, 0, NULL);
	uint64_t mixed_hash = open_hash(d);
	free(d);

	/* hash sensitivity: dtype, one weight, one config value */
	check_case = "model_hash_sensitivity";
	small_model(&m, "BF16", true, false);
	d = fresh_dir(s, "hash_bf16");
	write_model(d, &m, &o, 0, NULL);
	uint64_t h_bf16 = open_hash(d);
	char *p = path_of(d, "model.safetensors");
	FILE *f = fopen(p, "r+b");
	if (f && fseek(f, -1, SEEK_END) == 0) {
		int c = fgetc(f);
		fseek(f, -1, SEEK_END);
		fputc(c ^ 1, f);
	}
	if (f)
		fclose(f);
	free(p);
	uint64_t h_flip = open_hash(d);
	free(d);
	d = fresh_dir(s, "hash_bf16_eos2");
	const char *eos[] = {"eos_token_id", "2"};
	write_model(d, &m, &o, 1, eos);
	uint64_t h_eos = open_hash(d);
	free(d);
	small_model(&m, "F32", true, false);
	d = fresh_dir(s, "hash_f32");
	write_model(d, &m, &o, 0, NULL);
	uint64_t h_f32 = open_hash(d);
	free(d);
	CHECK(h_bf16 != h_flip, "flipping a weight bit did not change the model hash");
	CHECK(h_bf16 != h_eos, "eos_token_id did not change the model hash");
	CHECK(h_bf16 != h_f32 && h_bf16 != mixed_hash, "dtype did not change the model hash");

	/* unexpected tensors: warned and counted, not fatal; lm_head when tied: silent */
	check_case = "unexpected_tensor_warning";
	d = fresh_dir(s, "unexpected_tensor");
	small_model(&m, "F32", true, false);
	add_t(&m, "F32", 1, 4, 0, 0, "model.rotary_emb.inv_freq");
	add_t(&m, "F32", 2, SM_V, SM_H, 0, "lm_head.weight");
	write_model(d, &m, &o, 0, NULL);
	FILE *warn = tmpfile();
	if (lfm_checkpoint_open(d, &ck, warn, &err) == 0) {
		CHECK_INT(ck.n_unexpected, 1);
		CHECK_INT(ck.n_tensors, m.n);
		char line[512] = "";
		rewind(warn);
		if (!fgets(line, sizeof line, warn))
			line[0] = '\0';
		CHECK(strstr(line, "model.rotary_emb.inv_freq") && strstr(line, "model.safetensors") &&
		         strstr(line, "unexpected"), "warning line: %s", line);
		CHECK(!fgets(line, sizeof line, warn), "more than one warning line: %s", line);
		Model m2;
		small_model(&m2, "F32", true, false);
		CHECK_INT(ck.n_params, small_model_params(&m2));   /* unused tensors not counted */
		lfm_checkpoint_close(&ck);
	} else {
		CHECK(false, "open failed: %s", err.msg);
	}
	if (warn)
		fclose(warn);
	free(d);

	/* untied model with lm_head; conv_bias model with biases */
	check_case = "good_untied_conv_bias";
	d = fresh_dir(s, "good_untied_conv_bias");
	small_model(&m, "F32", false, true);
	const char *kv[] = {"tie_word_embeddings", "false", "conv_bias", "true"};
	write_model(d, &m, &o, 2, kv);
	if (lfm_checkpoint_open(d, &ck, NULL, &err) == 0) {
		CHECK(!ck.cfg.tie_embeddings && ck.cfg.conv_bias, "flags");
		CHECK_INT(ck.n_params, small_model_params(&m));
		CHECK_INT(ck.n_unexpected, 0);
		lfm_checkpoint_close(&ck);
	} else {
		CHECK(false, "open failed: %s", err.msg);
	}
	free(d);

	/* all attention (neither layer_types nor full_attn_idxs) and L = 1 */
	check_case = "good_all_attention_L1";
	d = fresh_dir(s, "good_all_attention_L1");
	m.n = 0;
	add_t(&m, "F32", 2, SM_V, SM_H, 0, "model.embed_tokens.weight");
	add_t(&m, "F32", 1, SM_H, 0, 0, "model.embedding_norm.weight");
	const char *kv2[] = {"layer_types", NULL, "num_hidden_layers", "1", "conv_L_cache", "1"};
	add_t(&m, "F32", 1, SM_H, 0, 0, "model.layers.0.operator_norm.weight");
	add_t(&m, "F32", 1, SM_H, 0, 0, "model.layers.0.ffn_norm.weight");
	add_t(&m, "F32", 2, SM_F, SM_H, 0, "model.layers.0.feed_forward.w1.weight");
	add_t(&m, "F32", 2, SM_F, SM_H, 0, "model.layers.0.feed_forward.w3.weight");
	add_t(&m, "F32", 2, SM_H, SM_F, 0, "model.layers.0.feed_forward.w2.weight");
	add_t(&m, "F32", 2, 2 * SM_HD, SM_H, 0, "model.layers.0.self_attn.q_proj.weight");
	add_t(&m, "F32", 2, SM_HD, SM_H, 0, "model.layers.0.self_attn.k_proj.weight");
	add_t(&m, "F32", 2, SM_HD, SM_H, 0, "model.layers.0.self_attn.v_proj.weight");
	add_t(&m, "F32", 2, SM_H, 2 * SM_HD, 0, "model.layers.0.self_attn.out_proj.weight");
	add_t(&m, "F32", 1, SM_HD, 0, 0, "model.layers.0.self_attn.q_layernorm.weight");
	add_t(&m, "F32", 1, SM_HD, 0, 0, "model.layers.0.self_attn.k_layernorm.weight");
	write_model(d, &m, &o, 3, kv2);
	if (lfm_checkpoint_open(d, &ck, NULL, &err) == 0) {
		CHECK_INT(ck.cfg.n_attn_layers, 1);
		CHECK(!strcmp(ck.cfg.layer_spec, "none (all attention)"), "layer_spec %s", ck.cfg.layer_spec);
		lfm_checkpoint_close(&ck);
	} else {
		CHECK(false, "open failed: %s", err.msg);
	}
	free(d);
}

/* ----------------------------------------------------- config tests */

static bool parse_cfg(const char *json, LfmConfig *c)
{
	LfmError err;
	if (lfm_config_parse(json, strlen(json), "test.json", c, &err)) {
		CHECK(false, "parse failed: %s", err.msg);
		return false;
	}
	return true;
}

static void layer_pattern(const LfmConfig *c, char *out)
{
	for (int i = 0; i < c->n_layers; i++)
		out[i] = c->layer_type[i] == LAYER_ATTN ? 'A' : 'C';
	out[c->n_layers] = '\0';
}

static void real_configs(Suite *s)
{
	static const struct {
		const char *file;
		int H, layers, nh, ff, declared;
		bool adjust;
		const char *spec, *pattern;
		int64_t params;      /* published (specs/lfm2.md §6) */
	} want[] = {
		{"LFM2-350M.config.json", 1024, 16, 16, 4608, 6656, true, "layer_types", "CCACCACCACACACAC", 354483968},
		{"LFM2-700M.config.json", 1536, 16, 24, 6912, 10240, true, "full_attn_idxs", "CCACCACCACACACAC",
		 742489344},
		{"LFM2-1.2B.config.json", 2048, 16, 32, 8192, 12288, true, "full_attn_idxs", "CCACCACCACACACAC",
		 1170340608},
		{"LFM2-2.6B.config.json", 2048, 30, 32, 10752, 10752, false, "layer_types",
		 "CCACCACCCACCCACCCACCCACCACCACC", 2569272320},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		check_case = want[i].file;
		char rel[256];
		snprintf(rel, sizeof rel, "tests/frontend/fixtures/real_configs/%s", want[i].file);
		char *p = path_of(s->repo, rel);
		LfmConfig c;
		LfmError err;
		if (lfm_config_load(p, &c, &err)) {
			CHECK(false, "load: %s", err.msg);
			free(p);
			continue;
		}
		free(p);
		char pat[LFM_MAX_LAYERS + 1];
		layer_pattern(&c, pat);
		CHECK_INT(c.hidden, want[i].H);
		CHECK_INT(c.n_layers, want[i].layers);
		CHECK_INT(c.n_heads, want[i].nh);
		CHECK_INT(c.n_kv_heads, 8);
		CHECK_INT(c.head_dim, 64);
		CHECK_INT(c.ff, want[i].ff);
		CHECK_INT(c.ff_declared, want[i].declared);
		CHECK(c.ff_auto_adjust == want[i].adjust, "auto_adjust");
		CHECK_INT(c.vocab_size, 65536);
		CHECK_INT(c.conv_L, 3);
		CHECK(!c.conv_bias, "conv_bias");
		CHECK(c.tie_embeddings, "tied");
		CHECK(c.rope_theta == 1e6, "theta %g", c.rope_theta);
		CHECK(c.norm_eps == 1e-5, "eps %g", c.norm_eps);
		CHECK_INT(c.eos_id, 7);
		CHECK_INT(c.bos_id, 1);
		CHECK_INT(c.pad_id, 0);
		CHECK_INT(c.max_position_embeddings, 128000);
		CHECK(!strcmp(c.layer_spec, want[i].spec), "layer_spec %s", c.layer_spec);
		CHECK(!strcmp(pat, want[i].pattern), "layers %s, want %s", pat, want[i].pattern);
		CHECK_INT(c.n_attn_layers + c.n_conv_layers, c.n_layers);
		/* the published parameter count from the implied tensor list */
		ExpectedTensor *e = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *e);
		int n = lfm_expected_tensors(&c, e, LFM_MAX_EXPECTED_TENSORS);
		int64_t params = 0;
		for (int k = 0; k < n; k++) {
			int64_t x = 1;
			for (int dd = 0; dd < e[k].ndim; dd++)
				x *= e[k].shape[dd];
			params += x;
		}
		CHECK_INT(params, want[i].params);
		free(e);
	}
}

static void ff_rule_examples(void)
{
	check_case = "ff_rule";
	CHECK_INT(lfm_ff_rule(6656, true, true, 1.0, 256), 4608);
	CHECK_INT(lfm_ff_rule(10240, true, true, 1.0, 256), 6912);
	CHECK_INT(lfm_ff_rule(12288, true, true, 1.0, 256), 8192);
	CHECK_INT(lfm_ff_rule(10752, false, true, 1.0, 256), 10752);
	CHECK_INT(lfm_ff_rule(256, true, false, 0, 32), 170);     /* HF: no rounding without multiplier */
	CHECK_INT(lfm_ff_rule(256, true, true, 1.0, 32), 192);
	CHECK_INT(lfm_ff_rule(256, true, true, 1.5, 32), 256);    /* int(1.5*170) = 255 -> 256 */
	CHECK_INT(lfm_ff_rule(864, true, true, 1.0, 64), 576);    /* trained-tiny */
	CHECK_INT(lfm_ff_rule(30, true, true, 1.0, 8), 24);
	CHECK_INT(lfm_ff_rule(3, true, true, 1.0, 1), 2);
}

static void config_resolution(void)
{
	LfmConfig c;
	char pat[LFM_MAX_LAYERS + 1];

	check_case = "config_defaults";   /* Lfm2Cfg({}) in the oracle */
	if (parse_cfg("{}", &c)) {
		CHECK_INT(c.vocab_size, 65536);
		CHECK_INT(c.hidden, 2560);
		CHECK_INT(c.n_layers, 32);
		CHECK_INT(c.n_heads, 32);
		CHECK_INT(c.n_kv_heads, 8);
		CHECK_INT(c.head_dim, 80);
		CHECK_INT(c.ff_declared, 12288);
		CHECK_INT(c.ff, 8192);
		CHECK_INT(c.n_attn_layers, 32);
		CHECK_INT(c.eos_id, 7);
		CHECK(c.tie_embeddings && c.rope_theta == 1e6 && c.norm_eps == 1e-5 && c.conv_L == 3, "defaults");
	}

	check_case = "config_block_ff_dim_wins";
	if (parse_cfg("{\"intermediate_size\": 999, \"block_ff_dim\": 6656}", &c))
		CHECK_INT(c.ff, 4608);
	check_case = "config_intermediate_size_alone";
	if (parse_cfg("{\"intermediate_size\": 10240}", &c))
		CHECK_INT(c.ff, 6912);
	check_case = "config_multiplier_null";
	if (parse_cfg("{\"block_ff_dim\": 256, \"block_multiple_of\": 32, \"block_ffn_dim_multiplier\": null}", &c)) {
		CHECK_INT(c.ff, 170);
		CHECK(!c.ff_has_multiplier, "has multiplier");
	}

	check_case = "config_theta_precedence";
	if (parse_cfg("{\"theta\": 5000.0, \"rope_theta\": 7000.0}", &c))
		CHECK(c.rope_theta == 5000.0, "theta first: %g", c.rope_theta);
	if (parse_cfg("{\"rope_theta\": 7000.0}", &c))
		CHECK(c.rope_theta == 7000.0, "rope_theta: %g", c.rope_theta);
	if (parse_cfg("{\"theta\": 5000.0, \"rope_parameters\": {\"rope_theta\": 9000.0, \"rope_type\": \"default\"}}", &c))
		CHECK(c.rope_theta == 9000.0, "rope_parameters first: %g", c.rope_theta);
	if (parse_cfg("{\"rope_parameters\": {\"full_attention\": {\"rope_theta\": 123.0, \"rope_type\": \"default\"}}}", &c))
		CHECK(c.rope_theta == 123.0, "per-layer-type rope_parameters: %g", c.rope_theta);
	if (parse_cfg("{\"rope_parameters\": {\"rope_type\": \"default\"}, \"rope_theta\": 4.0, \"rope_scaling\": null}", &c))
		CHECK(c.rope_theta == 4.0, "rope_parameters without theta: %g", c.rope_theta);

	check_case = "config_tie_precedence";
	if (parse_cfg("{\"tie_embedding\": false, \"tie_word_embeddings\": true}", &c))
		CHECK(!c.tie_embeddings, "tie_embedding wins");
	if (parse_cfg("{\"tie_embedding\": true, \"tie_word_embeddings\": false}", &c))
		CHECK(c.tie_embeddings, "tie_embedding wins");
	if (parse_cfg("{\"tie_word_embeddings\": false}", &c))
		CHECK(!c.tie_embeddings, "tie_word_embeddings");

	check_case = "config_layer_spec";
	if (parse_cfg("{\"num_hidden_layers\": 4, \"full_attn_idxs\": [3, 1]}", &c)) {
		layer_pattern(&c, pat);
		CHECK(!strcmp(pat, "CACA"), "%s", pat);
		CHECK(!strcmp(c.layer_spec, "full_attn_idxs"), "%s", c.layer_spec);
	}
	if (parse_cfg("{\"num_hidden_layers\": 3, \"full_attn_idxs\": [0], "
	                 "\"layer_types\": [\"conv\", \"conv\", \"full_attention\"]}", &c)) {
		layer_pattern(&c, pat);
		CHECK(!strcmp(pat, "CCA"), "layer_types wins over full_attn_idxs: %s", pat);
	}
	if (parse_cfg("{\"num_hidden_layers\": 2, \"full_attn_idxs\": null, \"layer_types\": null}", &c)) {
		layer_pattern(&c, pat);
		CHECK(!strcmp(pat, "AA"), "neither: all attention: %s", pat);
	}

	check_case = "config_misc";
	if (parse_cfg("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 32}", &c))
		CHECK_INT(c.head_dim, 32);
	if (parse_cfg("{\"hidden_size\": 64, \"num_attention_heads\": 3, \"num_key_value_heads\": 1, \"head_dim\": 16}", &c))
		CHECK_INT(c.head_dim, 16);   /* head_dim present: H need not divide */
	if (parse_cfg("{\"head_dim\": null, \"hidden_size\": 64, \"num_attention_heads\": 4, \"num_key_value_heads\": 2}", &c))
		CHECK_INT(c.head_dim, 16);
	if (parse_cfg("{\"eos_token_id\": [7, 2]}", &c))
		CHECK_INT(c.eos_id, 7);
	if (parse_cfg("{\"eos_token_id\": [3], \"pad_token_id\": null}", &c)) {
		CHECK_INT(c.eos_id, 3);
		CHECK_INT(c.pad_id, -1);
	}
	if (parse_cfg("{\"conv_L_cache\": 7, \"conv_bias\": true, \"hidden_size\": 16, \"hidden_size\": 64}", &c)) {
		CHECK_INT(c.conv_L, 7);
		CHECK(c.conv_bias, "conv_bias");
		CHECK_INT(c.hidden, 64);   /* duplicate key: the last wins, as in Python */
	}
	if (parse_cfg("{\"num_hidden_layers\": 512, \"norm_eps\": 1e-6, \"model_type\": \"lfm2\"}", &c)) {
		CHECK_INT(c.n_layers, LFM_MAX_LAYERS);
		CHECK(c.norm_eps == 1e-6, "eps");
	}
	if (parse_cfg("{\"num_hidden_layers\": 16.0}", &c))
		CHECK_INT(c.n_layers, 16);   /* an integral float is an integer (Python's int(16.0)) */

	check_case = "config_hash_ignores_key_style";
	LfmConfig a, b;
	if (parse_cfg("{\"block_ff_dim\": 6656, \"full_attn_idxs\": [1], \"num_hidden_layers\": 2, \"rope_theta\": 1e6}", &a) &&
	    parse_cfg("{\"intermediate_size\": 6656, \"layer_types\": [\"conv\", \"full_attention\"], "
	                 "\"num_hidden_layers\": 2, \"rope_parameters\": {\"rope_theta\": 1000000}, "
	                 "\"tie_word_embeddings\": true}", &b)) {
		CHECK(lfm_config_hash(&a) == lfm_config_hash(&b), "same model, different key style: hashes differ");
		b.rope_theta = 1e4;
		CHECK(lfm_config_hash(&a) != lfm_config_hash(&b), "theta not in the config hash");
		b = a;
		b.layer_type[0] = LAYER_ATTN;
		CHECK(lfm_config_hash(&a) != lfm_config_hash(&b), "layer types not in the config hash");
	}

	check_case = "config_error_message_exact";
	LfmError err;
	const char *txt = "{\"hidden_size\": \"abc\"}";
	CHECK(lfm_config_parse(txt, strlen(txt), "m/config.json", &c, &err) == -1, "accepted");
	CHECK(!strcmp(err.msg, "m/config.json: key 'hidden_size' must be a positive integer (got \"abc\")"),
	      "message: %s", err.msg);
}

static void expected_list(void)
{
	check_case = "expected_tensors";
	LfmConfig c;
	if (!parse_cfg(BASE_CONFIG, &c))
		return;
	ExpectedTensor e[64];
	int n = lfm_expected_tensors(&c, e, 64);
	Model m;
	small_model(&m, "F32", true, false);
	CHECK_INT(n, m.n);
	for (int i = 1; i < n; i++)
		CHECK(strcmp(e[i - 1].name, e[i].name) < 0, "not sorted at %d", i);
	for (int i = 0; i < n && i < m.n; i++) {
		int k = 0;
		while (k < m.n && strcmp(m.t[k].name, e[i].name))
			k++;
		CHECK(k < m.n, "unexpected name %s", e[i].name);
		if (k < m.n) {
			CHECK_INT(e[i].ndim, m.t[k].ndim);
			for (int d = 0; d < e[i].ndim; d++)
				CHECK(e[i].shape[d] == m.t[k].shape[d], "%s dim %d", e[i].name, d);
		}
	}
	CHECK_INT(lfm_expected_tensors(&c, e, 10), -1);
}

/* -------------------------------------------------- oracle fixtures */

static void oracle_fixture(Suite *s, const char *rel, uint64_t *hash_out)
{
	check_case = rel;
	char *dir = path_of(s->repo, rel);
	char *mpath = path_of(dir, "MANIFEST.json");
	char *mtext = read_text(mpath);
	cJSON *man = mtext ? cJSON_Parse(mtext) : NULL;
	Checkpoint ck;
	LfmError err;
	FILE *warn = tmpfile();
	if (lfm_checkpoint_open(dir, &ck, warn, &err)) {
		CHECK(false, "open failed: %s", err.msg);
	} else {
		CHECK(warn && ftell(warn) == 0, "warnings for a clean oracle checkpoint");
		CHECK_INT(ck.n_unexpected, 0);
		if (hash_out)
			*hash_out = ck.model_hash;
		const cJSON *res = cJSON_GetObjectItem(man, "resolved");
		CHECK(man && res, "no MANIFEST.json resolved values");
		if (res) {
			CHECK_INT(ck.n_params, cJSON_GetObjectItem(man, "params")->valuedouble);
			CHECK_INT(ck.cfg.ff, cJSON_GetObjectItem(res, "ff")->valuedouble);
			CHECK_INT(ck.cfg.head_dim, cJSON_GetObjectItem(res, "head_dim")->valuedouble);
			CHECK(ck.cfg.rope_theta == cJSON_GetObjectItem(res, "rope_theta")->valuedouble, "theta");
			CHECK(ck.cfg.tie_embeddings == cJSON_IsTrue(cJSON_GetObjectItem(res, "tied")), "tied");
			const cJSON *lt = cJSON_GetObjectItem(res, "layer_types");
			CHECK_INT(cJSON_GetArraySize(lt), ck.cfg.n_layers);
			int i = 0;
			const cJSON *it;
			cJSON_ArrayForEach(it, lt) {
				LayerType want = !strcmp(it->valuestring, "full_attention") ? LAYER_ATTN : LAYER_CONV;
				CHECK(i < ck.cfg.n_layers && ck.cfg.layer_type[i] == want, "layer %d type", i);
				i++;
			}
			/* bytes of the file = 8 + header + tensor bytes */
			CHECK(ck.n_bytes < ck.files[0].size && ck.files[0].size - ck.n_bytes < 16384,
			      "n_bytes %llu vs file %zu", (unsigned long long)ck.n_bytes, ck.files[0].size);
		}
		lfm_checkpoint_close(&ck);
	}
	if (warn)
		fclose(warn);
	cJSON_Delete(man);
	free(mtext);
	free(mpath);
	free(dir);
}

static void oracle_fixtures(Suite *s)
{
	static const char *variants[] = {
		"tiny", "bf16", "f16", "conv_bias_L4", "conv_L2", "conv_L1", "mqa", "mha", "untied",
		"full_attn_idxs", "hf5", "no_auto_adjust", "ffn_mult_null", "all_conv", "all_attn", "vocab_500",
	};
	uint64_t h[sizeof variants / sizeof variants[0]] = {0};
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		char rel[128];
		snprintf(rel, sizeof rel, "tests/fixtures/%s", variants[i]);
		oracle_fixture(s, rel, &h[i]);
	}
	check_case = "oracle_fixture_hashes";
	/* tiny, full_attn_idxs and hf5 are the same model (same seed, same
	 * bytes) written with three config key styles. */
	CHECK(h[0] && h[0] == h[9] && h[0] == h[10], "tiny/full_attn_idxs/hf5 hashes differ");
	for (size_t i = 1; i < sizeof variants / sizeof variants[0]; i++)
		if (i != 9 && i != 10)
			CHECK(h[i] != h[0], "%s has tiny's model hash", variants[i]);

	check_case = "examples/trained-tiny";
	char *dir = path_of(s->repo, "examples/trained-tiny");
	Checkpoint ck;
	LfmError err;
	if (lfm_checkpoint_open(dir, &ck, NULL, &err) == 0) {
		CHECK_INT(ck.cfg.ff, 576);
		CHECK_INT(ck.cfg.head_dim, 48);
		CHECK_INT(ck.cfg.vocab_size, 2048);
		CHECK(ck.tensors[0].dtype == ST_BF16, "bf16");
		lfm_checkpoint_close(&ck);
	} else {
		CHECK(false, "open failed: %s", err.msg);
	}
	free(dir);
}

/* fixtures/values.txt: decoded values from numpy vs ours. */
static void decoded_values(Suite *s)
{
	check_case = "decoded_values_vs_numpy";
	char *p = path_of(s->repo, "tests/frontend/fixtures/values.txt");
	char *text = read_text(p);
	free(p);
	CHECK(text != NULL, "no values.txt");
	if (!text)
		return;
	int lines = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char model[128], name[128];
		long long numel;
		double sum;
		int used;
		if (sscanf(line, "%127s %127s %lld %lf%n", model, name, &numel, &sum, &used) != 4)
			continue;
		char *dir = path_of(s->repo, model);
		Checkpoint ck;
		LfmError err;
		if (lfm_checkpoint_open(dir, &ck, NULL, &err)) {
			CHECK(false, "open %s: %s", model, err.msg);
			free(dir);
			continue;
		}
		const StTensor *t = lfm_checkpoint_find(&ck, name);
		CHECK(t && t->numel == numel, "%s %s numel", model, name);
		if (t && t->numel == numel) {
			double *v = malloc((size_t)numel * sizeof *v);
			lfm_tensor_to_f64(t, v);
			double mysum = 0;
			for (long long i = 0; i < numel; i++)
				mysum += v[i];
			CHECK(fabs(mysum - sum) <= 1e-9 * (1 + fabs(sum)), "%s %s sum %.17g vs numpy %.17g", model, name,
			      mysum, sum);
			const char *q = line + used;
			long long idx;
			double want;
			int k;
			while (sscanf(q, " %lld:%lf%n", &idx, &want, &k) == 2) {
				CHECK(idx < numel && v[idx] == want, "%s %s[%lld] = %.17g, numpy %.17g", model, name, idx,
				      idx < numel ? v[idx] : NAN, want);
				q += k;
			}
			free(v);
		}
		lfm_checkpoint_close(&ck);
		free(dir);
		lines++;
	}
	CHECK(lines >= 20, "only %d value lines", lines);
	free(text);
}

/* ------------------------------------------------------ conversions */

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static void conversions(void)
{
	check_case = "f16_to_f32";
	static const struct { uint16_t h; uint32_t f; } f16[] = {
		{0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3c00, 0x3f800000}, {0xbc00, 0xbf800000},
		{0x3555, 0x3eaaa000}, {0x7bff, 0x477fe000},  /* 65504 */
		{0x0400, 0x38800000},                        /* 2^-14, smallest normal */
		{0x0001, 0x33800000},                        /* 2^-24, smallest subnormal */
		{0x03ff, 0x387fc000},                        /* largest subnormal */
		{0x0200, 0x38000000},                        /* 2^-15 */
		{0x8001, 0xb3800000}, {0x7c00, 0x7f800000}, {0xfc00, 0xff800000},
		{0x7e00, 0x7fc00000}, {0x7c01, 0x7f802000},  /* quiet / signalling NaN payload */
		{0x4248, 0x40490000},                        /* 3.140625 */
	};
	for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++)
		CHECK(bits(lfm_f16_to_f32(f16[i].h)) == f16[i].f, "f16 %04x -> %08x, want %08x", f16[i].h,
		      bits(lfm_f16_to_f32(f16[i].h)), f16[i].f);
	/* every finite half round-trips exactly through f32 */
	int bad = 0;
	for (uint32_t h = 0; h < 0x10000; h++)
		if ((h & 0x7c00) != 0x7c00 && lfm_f32_to_f16(lfm_f16_to_f32((uint16_t)h)) != h)
			bad++;
	CHECK(bad == 0, "%d halves do not round-trip", bad);

	check_case = "f32_to_f16";
	static const struct { uint32_t f; uint16_t h; } to16[] = {
		{0x3f800000, 0x3c00},
		{0x3f801000, 0x3c00},  /* 1 + 2^-11: tie -> even (down) */
		{0x3f803000, 0x3c02},  /* 1 + 3*2^-11: tie -> even (up) */
		{0x3f801001, 0x3c01},  /* just above the tie -> up */
		{0x477fe000, 0x7bff},  /* 65504 */
		{0x477fefff, 0x7bff},  /* just below 65520 */
		{0x477ff000, 0x7c00},  /* 65520 -> inf */
		{0x7f7fffff, 0x7c00}, {0xff800000, 0xfc00},
		{0x33800000, 0x0001},  /* 2^-24 */
		{0x33000000, 0x0000},  /* 2^-25: tie -> even (0) */
		{0x33000001, 0x0001},  /* just above 2^-25 -> 2^-24 */
		{0x33c00000, 0x0002},  /* 1.5 * 2^-24: tie -> even (2) */
		{0x387fc000, 0x03ff},  /* largest subnormal */
		{0x387fe000, 0x0400},  /* rounds up into the smallest normal */
		{0x80000000, 0x8000}, {0xb3800000, 0x8001},
		{0x3eaaaaab, 0x3555},  /* 1/3 */
	};
	for (size_t i = 0; i < sizeof to16 / sizeof to16[0]; i++)
		CHECK(lfm_f32_to_f16(from_bits(to16[i].f)) == to16[i].h, "f32 %08x -> f16 %04x, want %04x", to16[i].f,
		      lfm_f32_to_f16(from_bits(to16[i].f)), to16[i].h);
	uint16_t nan16 = lfm_f32_to_f16(from_bits(0x7fc00000));
	CHECK((nan16 & 0x7c00) == 0x7c00 && (nan16 & 0x3ff), "NaN -> %04x", nan16);
	nan16 = lfm_f32_to_f16(from_bits(0x7f800001));   /* signalling NaN with a low payload */
	CHECK((nan16 & 0x7c00) == 0x7c00 && (nan16 & 0x3ff), "sNaN -> %04x (must stay NaN)", nan16);

	check_case = "bf16";
	static const struct { uint32_t f; uint16_t b; } tob[] = {
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80},  /* tie -> even (down) */
		{0x3f818000, 0x3f82},                        /* tie -> even (up) */
		{0x3f808001, 0x3f81}, {0x3f807fff, 0x3f80},
		{0x7f7fffff, 0x7f80},                        /* max float rounds to inf */
		{0xff800000, 0xff80}, {0x00000001, 0x0000},  /* tiny subnormal -> 0 */
		{0x00018000, 0x0002},                        /* subnormal tie -> even */
		{0xc0490fdb, 0xc049},                        /* -pi */
	};
	for (size_t i = 0; i < sizeof tob / sizeof tob[0]; i++)
		CHECK(lfm_f32_to_bf16(from_bits(tob[i].f)) == tob[i].b, "f32 %08x -> bf16 %04x, want %04x", tob[i].f,
		      lfm_f32_to_bf16(from_bits(tob[i].f)), tob[i].b);
	uint16_t nanb = lfm_f32_to_bf16(from_bits(0xff800001));
	CHECK((nanb & 0x7f80) == 0x7f80 && (nanb & 0x7f) && (nanb & 0x8000), "NaN -> %04x", nanb);
	CHECK(bits(lfm_bf16_to_f32(0xc049)) == 0xc0490000, "bf16 widen");
	CHECK(bits(lfm_bf16_to_f32(0x0001)) == 0x00010000, "bf16 subnormal widen");
	bad = 0;
	for (uint32_t b = 0; b < 0x10000; b++)
		if ((b & 0x7f80) != 0x7f80 && lfm_f32_to_bf16(lfm_bf16_to_f32((uint16_t)b)) != b)
			bad++;
	CHECK(bad == 0, "%d bf16 values do not round-trip", bad);

	check_case = "dtype_names";
	CHECK(!strcmp(lfm_dtype_name(ST_F32), "F32") && !strcmp(lfm_dtype_name(ST_F16), "F16") &&
	         !strcmp(lfm_dtype_name(ST_BF16), "BF16"), "names");
	CHECK(lfm_dtype_size(ST_F32) == 4 && lfm_dtype_size(ST_F16) == 2 && lfm_dtype_size(ST_BF16) == 2, "sizes");
}

static void error_format(void)
{
	check_case = "lfm_error";
	LfmError e;
	CHECK_INT(lfm_error(&e, "a/b.json", "x %d", 3), -1);
	CHECK(!strcmp(e.msg, "a/b.json: x 3"), "%s", e.msg);
	lfm_error(&e, NULL, "tensor '%s'", "bad\nname");
	CHECK(!strcmp(e.msg, "tensor 'bad?name'"), "control characters: %s", e.msg);
	char longname[3000];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	lfm_error(&e, longname, "%s", longname);
	CHECK(strlen(e.msg) == sizeof e.msg - 1, "long message truncated to the buffer");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_frontend TMP_DIR REPO_ROOT\n");
		return 2;
	}
	Suite s = {.tmp = argv[1], .repo = argv[2]};
	mkdir(s.tmp, 0755);

	conversions();
	error_format();
	ff_rule_examples();
	config_resolution();
	real_configs(&s);
	expected_list();
	check_small_model(&s, "F32", ST_F32, false);
	check_small_model(&s, "BF16", ST_BF16, false);
	check_small_model(&s, "F16", ST_F16, false);
	check_small_model(&s, "F32", ST_F32, true);
	good_variants(&s);
	oracle_fixtures(&s);
	decoded_values(&s);

	int n_bad = (int)(sizeof BAD_CASES / sizeof BAD_CASES[0]);
	for (int i = 0; i < n_bad; i++)
		run_bad_case(&s, &BAD_CASES[i]);
	bad_files_and_dirs(&s);
	sharded_cases(&s);
	not_regular_files(&s);

	check_case = NULL;
	printf("test_frontend: %d table-driven bad-input cases, plus file/dir and sharded cases\n", n_bad);
	return check_finish("test_frontend");
}
