/*
 * quantize.c — choose the stored format of every weight.
 *
 * Only *matrix* weights change format: those a MATMUL multiplies by or an
 * EMBED gathers rows from (the projections, the MLP, the embedding, and
 * lm_head when untied).  Norm weights, conv taps and biases are tiny and
 * numerically sensitive, so they always stay f32 whatever the options say.
 *
 * A matrix weight gets PassOptions.weight_format, then each override whose
 * glob matches its checkpoint name, in order (the last match wins).  A
 * block format needs the row length K (the last axis) to be a multiple of
 * 32; a weight for which it is not keeps f32 (with a warning), which is
 * always correct, never padded: padding would change the tensor's shape
 * for every consumer.  With zero options every weight stays f32, which is
 * what the C backend reads today.
 *
 * The pass only records the format (Weight.dtype); the layout pass sizes
 * the weight with quant_bytes_per_row and the interpreter and backends
 * encode the values.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "schedule.h"
#include "formats.h"

int quant_override_parse(const char *arg, QuantOverride *out, LfmError *err)
{
	const char *eq = strrchr(arg, '=');
	if (!eq || eq == arg)
		return lfm_error(err, NULL, "bad quant override '%s' (want PATTERN=FORMAT)", arg);
	if (quant_format_parse(eq + 1, &out->format))
		return lfm_error(err, NULL, "bad quant override '%s': unknown format '%s' (known: %s)", arg, eq + 1,
		                 quant_format_list());
	/* the pattern is everything before the '=' (a copy: see
	 * quant_override_free) */
	size_t n = (size_t)(eq - arg);
	char *pat = malloc(n + 1);
	if (!pat)
		return lfm_error(err, NULL, "out of memory");
	memcpy(pat, arg, n);
	pat[n] = 0;
	out->pattern = pat;
	return 0;
}

void quant_override_free(QuantOverride *o)
{
	free((char *)o->pattern);
	o->pattern = NULL;
}

/* Marks the weights used as matrices (MATMUL's W, EMBED's table). */
static void mark_matrices(const Graph *g, bool *is_matrix)
{
	for (Ref r = 1; r < g->n_nodes; r++) {
		const Node *n = &g->nodes[r];
		if (n->op != OP_MATMUL && n->op != OP_EMBED)
			continue;
		const Node *w = &g->nodes[n->in[1]];
		if (w->op == OP_WEIGHT && w->shape.ndim == 2)
			is_matrix[w->aux] = true;
	}
}

int pass_quantize(Graph *g, const PassOptions *o, LfmError *err)
{
	const Schedule *s = o ? o->schedule : NULL;   /* none: every weight f32 */
	FILE *warn = o ? o->warn : NULL;
	DType def = s ? s->default_format : DT_F32;
	const QuantOverride *ov = s ? s->overrides : NULL;
	int n_ov = s ? s->n_overrides : 0;
	if (!quant_is_format(def))
		return lfm_error(err, NULL, "quantize: %s is not a weight format", dtype_name(def));
	for (int k = 0; k < n_ov; k++)
		if (!quant_is_format(ov[k].format))
			return lfm_error(err, NULL, "quantize: override '%s': %s is not a weight format", ov[k].pattern,
			                 dtype_name(ov[k].format));
	bool *is_matrix = calloc((size_t)g->n_weights + 1, sizeof *is_matrix);
	int *hits = calloc((size_t)n_ov + 1, sizeof *hits);
	if (!is_matrix || !hits) {
		free(is_matrix);
		free(hits);
		return lfm_error(err, NULL, "quantize: out of memory");
	}
	mark_matrices(g, is_matrix);
	int kept = 0, first_kept = -1;
	DType first_kept_as = DT_F32;
	for (int i = 0; i < g->n_weights; i++) {
		Weight *w = &g->weights[i];
		w->dtype = DT_F32;
		if (!is_matrix[i])
			continue;
		DType f = def;
		for (int k = 0; k < n_ov; k++)
			if (fnmatch(ov[k].pattern, w->name, 0) == 0) {
				f = ov[k].format;
				hits[k]++;
			}
		int64_t K = w->shape.d[w->shape.ndim - 1];
		if (quant_bytes_per_row(f, K) < 0) {
			if (!kept++) {
				first_kept = i;
				first_kept_as = f;
			}
			f = DT_F32;
		}
		w->dtype = f;
	}
	if (kept && warn) {
		const Weight *w = &g->weights[first_kept];
		fprintf(warn, "lfm2c: warning: %d matrix weight%s kept f32: row length not a multiple of "
		        "the block (first: %s, row length %lld, asked %s)\n", kept, kept > 1 ? "s" : "", w->name,
		        (long long)w->shape.d[w->shape.ndim - 1], dtype_name(first_kept_as));
	}
	for (int k = 0; k < n_ov; k++)
		if (!hits[k] && warn)
			fprintf(warn, "lfm2c: warning: quant override '%s' matches no matrix weight\n",
			        ov[k].pattern);
	free(is_matrix);
	free(hits);
	return 0;
}
