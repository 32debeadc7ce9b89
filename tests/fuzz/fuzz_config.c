/*
 * fuzz_config.c — config.json from arbitrary bytes (frontend/config.c).
 *
 * The input is the text of config.json, handed to lfm_config_parse in a
 * buffer of exactly its length with no terminating NUL (the parser takes
 * a length; ASan reports a read past it).  Both key styles, the ff rule,
 * layer_types / full_attn_idxs, rope_parameters and the token ids are all
 * reached from here.
 *
 * On failure the message must be one line.  On success the resolved
 * config must be one lfm2c can build a graph from, as config.c promises:
 * positive sizes, a layer count within LFM_MAX_LAYERS whose types add up,
 * a positive ff that follows lfm_ff_rule from the recorded inputs, finite
 * positive norm_eps and rope_theta.  Then the two functions every command
 * runs next on a resolved config must work on it: lfm_config_hash and
 * lfm_expected_tensors (whose list must come back sorted, with plausible
 * shapes).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "fuzz.h"

static ExpectedTensor *exp_buf;

static void check_config(const LfmConfig *c)
{
	FUZZ_ASSERT(c->vocab_size > 0 && c->hidden > 0 && c->n_heads > 0 && c->n_kv_heads > 0 && c->head_dim > 0,
	            "non-positive size (vocab %d hidden %d heads %d kv %d head_dim %d)", c->vocab_size, c->hidden,
	            c->n_heads, c->n_kv_heads, c->head_dim);
	FUZZ_ASSERT(c->n_layers >= 1 && c->n_layers <= LFM_MAX_LAYERS, "n_layers %d", c->n_layers);
	FUZZ_ASSERT(c->n_heads % c->n_kv_heads == 0, "heads %d not a multiple of kv heads %d", c->n_heads,
	            c->n_kv_heads);
	int attn = 0;
	for (int i = 0; i < c->n_layers; i++) {
		FUZZ_ASSERT(c->layer_type[i] == LAYER_CONV || c->layer_type[i] == LAYER_ATTN, "layer %d type %d", i,
		            (int)c->layer_type[i]);
		attn += c->layer_type[i] == LAYER_ATTN;
	}
	FUZZ_ASSERT(attn == c->n_attn_layers && c->n_layers - attn == c->n_conv_layers,
	            "layer counts %d + %d do not match the %d types", c->n_attn_layers, c->n_conv_layers, c->n_layers);
	FUZZ_ASSERT(c->ff > 0, "ff %d", c->ff);
	FUZZ_ASSERT(c->ff == lfm_ff_rule(c->ff_declared, c->ff_auto_adjust, c->ff_has_multiplier, c->ff_multiplier,
	                                 c->ff_multiple_of),
	            "ff %d does not follow the rule", c->ff);
	FUZZ_ASSERT(c->conv_L >= 1, "conv_L %d", c->conv_L);
	FUZZ_ASSERT(isfinite(c->norm_eps) && c->norm_eps > 0, "norm_eps %g", c->norm_eps);
	FUZZ_ASSERT(isfinite(c->rope_theta) && c->rope_theta > 0, "rope_theta %g", c->rope_theta);
	FUZZ_ASSERT(c->max_position_embeddings >= 1, "max_position_embeddings %d", c->max_position_embeddings);
	FUZZ_ASSERT(c->layer_spec != NULL, "no layer_spec");
	for (int i = 0; i < c->n_layers; i++)
		FUZZ_ASSERT(lfm_layer_type_name(c->layer_type[i]) != NULL, "layer type name");

	(void)lfm_config_hash(c);
	int n = lfm_expected_tensors(c, exp_buf, LFM_MAX_EXPECTED_TENSORS);
	FUZZ_ASSERT(n > 0, "lfm_expected_tensors gave %d", n);
	for (int i = 0; i < n; i++) {
		const ExpectedTensor *e = &exp_buf[i];
		FUZZ_ASSERT(memchr(e->name, 0, sizeof e->name) != NULL, "tensor %d name not terminated", i);
		FUZZ_ASSERT(e->ndim >= 1 && e->ndim <= 4, "'%s' ndim %d", e->name, e->ndim);
		for (int d = 0; d < e->ndim; d++)
			FUZZ_ASSERT(e->shape[d] > 0, "'%s' dimension %d is %lld", e->name, d, (long long)e->shape[d]);
		if (i > 0)
			FUZZ_ASSERT(strcmp(exp_buf[i - 1].name, e->name) < 0, "expected tensors not sorted at '%s'", e->name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!exp_buf) {
		exp_buf = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *exp_buf);
		if (!exp_buf)
			fuzz_die("out of memory");
	}
	char *text = fuzz_copy(data, size, 0);
	LfmConfig cfg;
	LfmError err;
	if (lfm_config_parse(text, size, "config.json", &cfg, &err) != 0) {
		fuzz_check_message(err.msg, sizeof err.msg);
		fuzz_note("%s", err.msg);
	} else {
		fuzz_note("ok: vocab %d hidden %d layers %d (%d attention) ff %d", cfg.vocab_size, cfg.hidden,
		          cfg.n_layers, cfg.n_attn_layers, cfg.ff);
		check_config(&cfg);
	}
	free(text);
	return 0;
}
