/*
 * inspect.c — the human-readable report behind `lfm2c inspect`.
 *
 * Everything the frontend resolved, in the order one checks a model: the
 * config values (with the ff rule's inputs and where the layer types came
 * from), the layer map, one line per tensor (dtype, shape, bytes, XXH3-64,
 * the file for sharded checkpoints, and "unused" for tensors the model
 * does not read), then the totals and the two hashes.  Lines are
 * "key: value" so scripts can grep them; hashes are 16 lower-case hex
 * digits.  Doubles are printed with the fewest digits that read back
 * exactly.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static void shortest_double(char *buf, size_t cap, double v)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
		snprintf(buf, cap, "%.0f", v);   /* 1000000, not 1e+06 */
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* 1234567 -> "1,234,567" */
static void grouped(char *buf, size_t cap, uint64_t v)
{
	char digits[32];
	int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
	size_t u = 0;
	for (int i = 0; i < n && u + 2 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[u++] = ',';
		buf[u++] = digits[i];
	}
	buf[u] = '\0';
}

static void token_id(char *buf, size_t cap, int id)
{
	if (id < 0)
		snprintf(buf, cap, "none");
	else
		snprintf(buf, cap, "%d", id);
}

static void print_config(FILE *f, const LfmConfig *c)
{
	char eps[32], theta[32], mult[32], bos[16], eos[16], pad[16];
	shortest_double(eps, sizeof eps, c->norm_eps);
	shortest_double(theta, sizeof theta, c->rope_theta);
	if (c->ff_has_multiplier)
		shortest_double(mult, sizeof mult, c->ff_multiplier);
	else
		snprintf(mult, sizeof mult, "null");
	token_id(bos, sizeof bos, c->bos_id);
	token_id(eos, sizeof eos, c->eos_id);
	token_id(pad, sizeof pad, c->pad_id);
	fprintf(f, "config:\n");
	fprintf(f, "  vocab_size: %d\n", c->vocab_size);
	fprintf(f, "  hidden_size: %d\n", c->hidden);
	fprintf(f, "  num_hidden_layers: %d (%d conv, %d attention)\n", c->n_layers, c->n_conv_layers,
	        c->n_attn_layers);
	fprintf(f, "  layer_types_from: %s\n", c->layer_spec ? c->layer_spec : "?");
	fprintf(f, "  num_attention_heads: %d\n", c->n_heads);
	fprintf(f, "  num_key_value_heads: %d\n", c->n_kv_heads);
	fprintf(f, "  head_dim: %d\n", c->head_dim);
	fprintf(f, "  ff: %d (declared %d, auto_adjust %s, multiplier %s, multiple_of %d)\n", c->ff,
	        c->ff_declared, c->ff_auto_adjust ? "true" : "false", mult, c->ff_multiple_of);
	fprintf(f, "  conv_L_cache: %d\n", c->conv_L);
	fprintf(f, "  conv_bias: %s\n", c->conv_bias ? "true" : "false");
	fprintf(f, "  tie_embeddings: %s\n", c->tie_embeddings ? "true" : "false");
	fprintf(f, "  norm_eps: %s\n", eps);
	fprintf(f, "  rope_theta: %s\n", theta);
	fprintf(f, "  bos_token_id: %s\n", bos);
	fprintf(f, "  eos_token_id: %s\n", eos);
	fprintf(f, "  pad_token_id: %s\n", pad);
	fprintf(f, "  max_position_embeddings: %d\n", c->max_position_embeddings);
}

static void print_layers(FILE *f, const LfmConfig *c)
{
	fprintf(f, "layers:\n");
	for (int i = 0; i < c->n_layers; i++)
		fprintf(f, "  %3d %s\n", i, lfm_layer_type_name(c->layer_type[i]));
}

static bool in_list(const char *name, const ExpectedTensor *exp, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(exp[i].name, name))
			return true;
	return false;
}

static void print_tensors(FILE *f, const Checkpoint *ck)
{
	ExpectedTensor *exp = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *exp);
	int n_exp = exp ? lfm_expected_tensors(&ck->cfg, exp, LFM_MAX_EXPECTED_TENSORS) : -1;
	fprintf(f, "tensors: %d in %d file%s\n", ck->n_tensors, ck->n_files, ck->n_files == 1 ? "" : "s");
	fprintf(f, "  %-48s %-5s %-18s %12s %-16s\n", "name", "dtype", "shape", "bytes", "xxh3");
	for (int i = 0; i < ck->n_tensors; i++) {
		const StTensor *t = &ck->tensors[i];
		char shape[96];
		size_t u = (size_t)snprintf(shape, sizeof shape, "[");
		for (int d = 0; d < t->ndim && u < sizeof shape; d++)
			u += (size_t)snprintf(shape + u, sizeof shape - u, d ? ",%lld" : "%lld", (long long)t->shape[d]);
		if (u < sizeof shape)
			snprintf(shape + u, sizeof shape - u, "]");
		fprintf(f, "  %-48s %-5s %-18s %12zu %016" PRIx64, t->name, lfm_dtype_name(t->dtype), shape,
		        t->nbytes, t->hash);
		if (ck->n_files > 1) {
			const char *base = strrchr(t->file, '/');
			fprintf(f, " %s", base ? base + 1 : t->file);
		}
		if (n_exp >= 0 && !in_list(t->name, exp, n_exp))
			fprintf(f, " unused");
		fputc('\n', f);
	}
	free(exp);
}

void lfm_inspect_print(FILE *f, const Checkpoint *ck)
{
	char params[40], bytes[40];
	grouped(params, sizeof params, (uint64_t)ck->n_params);
	grouped(bytes, sizeof bytes, ck->n_bytes);
	fprintf(f, "model: %s\n", ck->dir);
	fprintf(f, "config_file: %s\n", ck->config_path);
	print_config(f, &ck->cfg);
	print_layers(f, &ck->cfg);
	print_tensors(f, ck);
	fprintf(f, "parameters: %s\n", params);
	fprintf(f, "bytes: %s\n", bytes);
	fprintf(f, "unexpected tensors: %d\n", ck->n_unexpected);
	fprintf(f, "config hash: %016" PRIx64 "\n", ck->config_hash);
	fprintf(f, "model hash: %016" PRIx64 "\n", ck->model_hash);
}
