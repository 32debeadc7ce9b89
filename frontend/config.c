/*
 * config.c — config.json -> LfmConfig, resolved exactly as transformers'
 * Lfm2Config / Lfm2MLP do (specs/lfm2.md §3, §5).
 *
 * Two key styles exist in the wild (specs/lfm2.md §3, §9): the Liquid v1 form
 * (block_ff_dim, full_attn_idxs or layer_types, rope_theta/theta,
 * tie_embedding) and the transformers-5 form (intermediate_size,
 * layer_types with full_attn_idxs: null, rope_parameters{rope_theta,
 * rope_type}, tie_word_embeddings).  The precedence rules:
 *
 *   ff          block_ff_dim, else intermediate_size, else 12288; then the
 *               auto-adjust rule (lfm_ff_rule);
 *   layer types layer_types, else full_attn_idxs, else every layer is
 *               attention;
 *   rope theta  rope_parameters.rope_theta (or rope_parameters.full_attention
 *               .rope_theta), else theta, else rope_theta, else 1e6;
 *               any rope_type other than "default" is refused;
 *   tying       tie_embedding, else tie_word_embeddings, else true;
 *   eos         eos_token_id (first element if a list), else 7 — the
 *               class default 2 is wrong for LFM2.  Every id the file
 *               gives (bos, eos, pad, each element of a list) must lie in
 *               [0, vocab_size): an id the embedding has no row for is
 *               refused here rather than found at run time.
 *
 * Absent keys take transformers' class defaults (but eos, above;
 * specs/lfm2.md §3 lists them).  A key that is present must have the right
 * JSON type: where the reference would crash or silently coerce
 * (int("abc"), bool(null)), we stop with a
 * one-line message naming the key and quoting the value.  null is accepted
 * only where the reference gives it a meaning (block_ffn_dim_multiplier,
 * head_dim, layer_types, full_attn_idxs, rope_parameters, rope_scaling,
 * token ids).  Duplicate keys resolve to the last one, as Python's json
 * module does.
 */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "fe_internal.h"

typedef struct Reader {
	const cJSON *root;
	const char *path;
	LfmError *err;
} Reader;

/* Last member named `key` (Python's json keeps the last duplicate). */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *found = NULL, *it;
	cJSON_ArrayForEach(it, obj)
		if (it->string && !strcmp(it->string, key))
			found = it;
	return found;
}

static int bad_value(Reader *r, const char *key, const char *what, const cJSON *v)
{
	char q[80];
	fe_json_quote(v, q, sizeof q);
	return lfm_error(r->err, r->path, "key '%s' must be %s (got %s)", key, what, q);
}

/* Integer key in [lo, hi]; absent -> def. */
static int read_int(Reader *r, const char *key, int def, int lo, int hi, int *out)
{
	const cJSON *v = member(r->root, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!fe_json_is_int_in(v, lo, hi)) {
		char what[80];
		if (lo == 1 && hi == INT_MAX)
			snprintf(what, sizeof what, "a positive integer");
		else if (lo == 0 && hi == INT_MAX)
			snprintf(what, sizeof what, "a non-negative integer");
		else
			snprintf(what, sizeof what, "an integer from %d to %d", lo, hi);
		return bad_value(r, key, what, v);
	}
	*out = (int)v->valuedouble;
	return 0;
}

static int read_bool(Reader *r, const char *key, bool def, bool *out)
{
	const cJSON *v = member(r->root, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return bad_value(r, key, "true or false", v);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Positive finite number (v already looked up; `key` for the message). */
static int positive_number(Reader *r, const char *key, const cJSON *v, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0)
		return bad_value(r, key, "a positive number", v);
	*out = v->valuedouble;
	return 0;
}

static int read_positive_number(Reader *r, const char *key, double def, double *out)
{
	const cJSON *v = member(r->root, key);
	if (!v) {
		*out = def;
		return 0;
	}
	return positive_number(r, key, v, out);
}

/* A token id of the vocabulary: an integer in [0, vocab). */
static bool is_token_id(const cJSON *v, int vocab)
{
	return fe_json_is_int_in(v, 0, (double)vocab - 1);
}

static int token_outside_vocab(Reader *r, const char *key, const cJSON *v, int index, int vocab)
{
	char q[80], at[32] = "";
	fe_json_quote(v, q, sizeof q);
	if (index >= 0)
		snprintf(at, sizeof at, " element %d", index);
	return lfm_error(r->err, r->path, "key '%s'%s is %s: not a token id of the vocabulary (vocab_size %d)",
	                 key, at, q, vocab);
}

/* Token id: integer in [0, vocab), null -> -1 (none), a list -> its first
 * element (transformers allows several eos ids; generation stops at any,
 * we keep the first) — every element must be a token id.  An absent key
 * takes `def` unchecked: a default is not a claim the file makes. */
static int read_token_id(Reader *r, const char *key, int def, int vocab, int *out)
{
	const cJSON *v = member(r->root, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (cJSON_IsNull(v)) {
		*out = -1;
		return 0;
	}
	if (cJSON_IsArray(v)) {
		const cJSON *first = cJSON_GetArrayItem(v, 0), *it;
		if (!first)
			return bad_value(r, key, "a token id or a non-empty list of token ids", v);
		int i = 0;
		cJSON_ArrayForEach(it, v) {
			if (!fe_json_is_int_in(it, 0, INT_MAX))
				return bad_value(r, key, "a token id or a non-empty list of token ids", v);
			if (!is_token_id(it, vocab))
				return token_outside_vocab(r, key, it, i, vocab);
			i++;
		}
		*out = (int)first->valuedouble;
		return 0;
	}
	if (!fe_json_is_int_in(v, 0, INT_MAX))
		return bad_value(r, key, "a non-negative integer", v);
	if (!is_token_id(v, vocab))
		return token_outside_vocab(r, key, v, -1, vocab);
	*out = (int)v->valuedouble;
	return 0;
}

static int read_model_type(Reader *r)
{
	const cJSON *v = member(r->root, "model_type");
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "lfm2") != 0) {
		char q[80];
		fe_json_quote(v, q, sizeof q);
		return lfm_error(r->err, r->path,
		                 "key 'model_type' is %s; only dense \"lfm2\" models are supported", q);
	}
	return 0;
}

static int read_sizes(Reader *r, LfmConfig *c)
{
	if (read_int(r, "vocab_size", 65536, 1, INT_MAX, &c->vocab_size) ||
	    read_int(r, "hidden_size", 2560, 1, INT_MAX, &c->hidden) ||
	    read_int(r, "num_hidden_layers", 32, 1, INT_MAX, &c->n_layers) ||
	    read_int(r, "num_attention_heads", 32, 1, INT_MAX, &c->n_heads) ||
	    read_int(r, "num_key_value_heads", 8, 1, INT_MAX, &c->n_kv_heads) ||
	    read_int(r, "conv_L_cache", 3, 1, INT_MAX, &c->conv_L) ||
	    read_bool(r, "conv_bias", false, &c->conv_bias) ||
	    read_positive_number(r, "norm_eps", 1e-5, &c->norm_eps) ||
	    read_int(r, "max_position_embeddings", 128000, 1, INT_MAX, &c->max_position_embeddings))
		return -1;
	if (c->n_layers > LFM_MAX_LAYERS)
		return lfm_error(r->err, r->path, "key 'num_hidden_layers' is %d, more than the supported maximum %d",
		                 c->n_layers, LFM_MAX_LAYERS);
	if (c->n_heads % c->n_kv_heads)
		return lfm_error(r->err, r->path,
		                 "num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)",
		                 c->n_heads, c->n_kv_heads);
	const cJSON *hd = member(r->root, "head_dim");
	if (hd && !cJSON_IsNull(hd))
		return read_int(r, "head_dim", 0, 1, INT_MAX, &c->head_dim);
	if (c->hidden % c->n_heads)
		return lfm_error(r->err, r->path,
		                 "hidden_size (%d) is not divisible by num_attention_heads (%d) and there is no head_dim",
		                 c->hidden, c->n_heads);
	c->head_dim = c->hidden / c->n_heads;
	return 0;
}

int lfm_ff_rule(int ff, bool auto_adjust, bool has_multiplier,
                double multiplier, int multiple_of)
{
	if (!auto_adjust)
		return ff;
	/* Python: int(2 * ff / 3) — float division, truncation. */
	double v = trunc(2.0 * (double)ff / 3.0);
	if (has_multiplier) {
		v = trunc(multiplier * v);
		if (!(v >= 0 && v <= INT_MAX) || multiple_of <= 0)
			return -1;
		long long m = multiple_of;
		long long up = m * (((long long)v + m - 1) / m);
		return up > INT_MAX ? -1 : (int)up;
	}
	return (v >= 0 && v <= INT_MAX) ? (int)v : -1;
}

static int read_ff(Reader *r, LfmConfig *c)
{
	const char *key = member(r->root, "block_ff_dim") ? "block_ff_dim"
	                : member(r->root, "intermediate_size") ? "intermediate_size" : NULL;
	if (key) {
		if (read_int(r, key, 0, 1, INT_MAX, &c->ff_declared))
			return -1;
	} else {
		c->ff_declared = 12288;
	}
	if (read_bool(r, "block_auto_adjust_ff_dim", true, &c->ff_auto_adjust) ||
	    read_int(r, "block_multiple_of", 256, 1, INT_MAX, &c->ff_multiple_of))
		return -1;
	const cJSON *m = member(r->root, "block_ffn_dim_multiplier");
	c->ff_has_multiplier = true;
	c->ff_multiplier = 1.0;
	if (m && cJSON_IsNull(m))
		c->ff_has_multiplier = false;
	else if (m && positive_number(r, "block_ffn_dim_multiplier", m, &c->ff_multiplier))
		return -1;
	c->ff = lfm_ff_rule(c->ff_declared, c->ff_auto_adjust, c->ff_has_multiplier,
	                    c->ff_multiplier, c->ff_multiple_of);
	if (c->ff <= 0)
		return lfm_error(r->err, r->path,
		                 "the ff rule gives %d from %s %d (block_auto_adjust_ff_dim %s, multiplier %g, multiple_of %d); it must be positive",
		                 c->ff, key ? key : "default ff", c->ff_declared,
		                 c->ff_auto_adjust ? "true" : "false", c->ff_multiplier, c->ff_multiple_of);
	return 0;
}

static int read_layer_types_list(Reader *r, LfmConfig *c, const cJSON *lt)
{
	if (!cJSON_IsArray(lt))
		return bad_value(r, "layer_types", "a list of \"conv\" / \"full_attention\"", lt);
	int n = cJSON_GetArraySize(lt);
	if (n != c->n_layers)
		return lfm_error(r->err, r->path, "key 'layer_types' has %d entries but num_hidden_layers is %d",
		                 n, c->n_layers);
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, lt) {
		if (cJSON_IsString(it) && !strcmp(it->valuestring, "conv")) {
			c->layer_type[i] = LAYER_CONV;
		} else if (cJSON_IsString(it) && !strcmp(it->valuestring, "full_attention")) {
			c->layer_type[i] = LAYER_ATTN;
		} else {
			char q[80];
			fe_json_quote(it, q, sizeof q);
			return lfm_error(r->err, r->path,
			                 "layer_types[%d] is %s: unknown layer type (expected \"conv\" or \"full_attention\")",
			                 i, q);
		}
		i++;
	}
	c->layer_spec = "layer_types";
	return 0;
}

static int read_full_attn_idxs(Reader *r, LfmConfig *c, const cJSON *idx)
{
	if (!cJSON_IsArray(idx))
		return bad_value(r, "full_attn_idxs", "a list of layer indices", idx);
	for (int i = 0; i < c->n_layers; i++)
		c->layer_type[i] = LAYER_CONV;
	int k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, idx) {
		if (!fe_json_is_int_in(it, 0, c->n_layers - 1)) {
			char q[80];
			fe_json_quote(it, q, sizeof q);
			return lfm_error(r->err, r->path,
			                 "full_attn_idxs[%d] is %s: not a layer index from 0 to %d",
			                 k, q, c->n_layers - 1);
		}
		c->layer_type[(int)it->valuedouble] = LAYER_ATTN;
		k++;
	}
	c->layer_spec = "full_attn_idxs";
	return 0;
}

static int read_layer_types(Reader *r, LfmConfig *c)
{
	const cJSON *lt = member(r->root, "layer_types");
	const cJSON *idx = member(r->root, "full_attn_idxs");
	int rc;
	if (lt && !cJSON_IsNull(lt)) {
		rc = read_layer_types_list(r, c, lt);
	} else if (idx && !cJSON_IsNull(idx)) {
		rc = read_full_attn_idxs(r, c, idx);
	} else {
		for (int i = 0; i < c->n_layers; i++)
			c->layer_type[i] = LAYER_ATTN;
		c->layer_spec = "none (all attention)";
		rc = 0;
	}
	if (rc)
		return rc;
	c->n_attn_layers = 0;
	for (int i = 0; i < c->n_layers; i++)
		c->n_attn_layers += c->layer_type[i] == LAYER_ATTN;
	c->n_conv_layers = c->n_layers - c->n_attn_layers;
	return 0;
}

/* rope_type / type inside a rope dict must be "default" if present. */
static int check_rope_type(Reader *r, const char *where, const cJSON *obj)
{
	const cJSON *t = member(obj, "rope_type");
	if (!t)
		t = member(obj, "type");
	if (!t)
		return 0;
	if (cJSON_IsString(t) && !strcmp(t->valuestring, "default"))
		return 0;
	char q[80];
	fe_json_quote(t, q, sizeof q);
	return lfm_error(r->err, r->path, "%s rope_type is %s; only \"default\" (unscaled) RoPE is supported",
	                 where, q);
}

static int read_rope(Reader *r, LfmConfig *c)
{
	const cJSON *rp = member(r->root, "rope_parameters");
	const char *where = "rope_parameters";
	bool have_theta = false;
	if (rp && !cJSON_IsNull(rp)) {
		if (!cJSON_IsObject(rp))
			return bad_value(r, "rope_parameters", "an object", rp);
		const cJSON *per_type = member(rp, "full_attention");
		if (cJSON_IsObject(per_type)) {
			rp = per_type;
			where = "rope_parameters.full_attention";
		}
		if (check_rope_type(r, where, rp))
			return -1;
		const cJSON *t = member(rp, "rope_theta");
		if (t && !cJSON_IsNull(t)) {
			char key[64];
			snprintf(key, sizeof key, "%s.rope_theta", where);
			if (positive_number(r, key, t, &c->rope_theta))
				return -1;
			have_theta = true;
		}
	}
	if (!have_theta) {
		const char *key = member(r->root, "theta") ? "theta" : "rope_theta";
		if (read_positive_number(r, key, 1e6, &c->rope_theta))
			return -1;
	}
	const cJSON *rs = member(r->root, "rope_scaling");
	if (rs && !cJSON_IsNull(rs)) {
		if (!cJSON_IsObject(rs))
			return bad_value(r, "rope_scaling", "an object or null", rs);
		if (check_rope_type(r, "rope_scaling", rs))
			return -1;
	}
	return 0;
}

static int read_tie_and_tokens(Reader *r, LfmConfig *c)
{
	const char *tie_key = member(r->root, "tie_embedding") ? "tie_embedding" : "tie_word_embeddings";
	if (read_bool(r, tie_key, true, &c->tie_embeddings))
		return -1;
	if (read_token_id(r, "bos_token_id", 1, c->vocab_size, &c->bos_id) ||
	    read_token_id(r, "eos_token_id", 7, c->vocab_size, &c->eos_id) ||
	    read_token_id(r, "pad_token_id", 0, c->vocab_size, &c->pad_id))
		return -1;
	return 0;
}

int lfm_config_parse(const char *text, size_t len, const char *path,
                     LfmConfig *cfg, LfmError *err)
{
	memset(cfg, 0, sizeof *cfg);
	cJSON *root = fe_parse_json(text, len, path, "config", err);
	if (!root)
		return -1;
	int rc = -1;
	Reader r = {root, path, err};
	if (!cJSON_IsObject(root)) {
		char q[80];
		fe_json_quote(root, q, sizeof q);
		lfm_error(err, path, "config is not a JSON object (got %s)", q);
	} else if (!read_model_type(&r) && !read_sizes(&r, cfg) && !read_ff(&r, cfg) &&
	           !read_layer_types(&r, cfg) && !read_rope(&r, cfg) &&
	           !read_tie_and_tokens(&r, cfg)) {
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}

int lfm_config_load(const char *path, LfmConfig *cfg, LfmError *err)
{
	char *text;
	size_t len;
	memset(cfg, 0, sizeof *cfg);
	if (fe_read_small_file(path, LFM_MAX_JSON_FILE, &text, &len, err))
		return -1;
	int rc = lfm_config_parse(text, len, path, cfg, err);
	free(text);
	return rc;
}

/*
 * The config hash covers the resolved values only, in a fixed text form
 * (doubles as exact hex floats), so two config.json files that differ in
 * key style but describe the same model hash the same.  The ff rule's
 * inputs and the layer-type source are deliberately left out.
 */
uint64_t lfm_config_hash(const LfmConfig *c)
{
	char buf[1024 + LFM_MAX_LAYERS];
	int n = snprintf(buf, sizeof buf,
	                 "lfm2-config-v1 vocab=%d hidden=%d layers=%d heads=%d kv=%d head_dim=%d ff=%d "
	                 "conv_L=%d conv_bias=%d tie=%d eps=%a theta=%a bos=%d eos=%d pad=%d max_pos=%d types=",
	                 c->vocab_size, c->hidden, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
	                 c->ff, c->conv_L, c->conv_bias, c->tie_embeddings, c->norm_eps, c->rope_theta,
	                 c->bos_id, c->eos_id, c->pad_id, c->max_position_embeddings);
	if (n < 0 || n > 1000)
		n = 0;  /* cannot happen: the fixed part is < 500 bytes */
	for (int i = 0; i < c->n_layers && i < LFM_MAX_LAYERS && (size_t)n + 1 < sizeof buf; i++)
		buf[n++] = c->layer_type[i] == LAYER_ATTN ? 'A' : 'C';
	return XXH3_64bits(buf, (size_t)n);
}

const char *lfm_layer_type_name(LayerType t)
{
	return t == LAYER_ATTN ? "full_attention" : "conv";
}
