/*
 * weights.c — the values of a weight, whatever produced it.
 *
 * A Weight of the graph usually is one checkpoint tensor, but a fusion
 * pass may derive one (passes/fuse.c): the rows of several tensors stacked
 * (q | k | v), two tensors' rows interleaved in pairs (w1_i, w3_i), the
 * columns of a part scaled by a vector (an RMSNorm's weight folded into the
 * matmul that reads the norm: W' = W diag(g)).  Everything that needs a
 * weight's values — the blob writer, the interpreter, `lfm2c dequant` —
 * reads them through the functions here, so a derivation is written once.
 *
 * Two precisions, for two readers:
 *   ir_weight_rows_f32    what the blob stores before packing: the derived
 *                         values rounded to f32 (a folded scale is one f32
 *                         product per value; a product of finite values
 *                         that overflows f32 is an error naming both
 *                         tensors), then, for a weight "rounded"
 *                         to a block format (dequant_in_matmul off), that
 *                         format's quantize-then-dequantize;
 *   ir_weight_values_f64  what a model storing the weight computes with,
 *                         for the reference interpreter: the f32 values
 *                         through the stored format when the weight is
 *                         quantized in any way (that is the model), the
 *                         exact derivation in double otherwise — so a fused
 *                         f32 graph interprets to the unfused one's values
 *                         within double rounding, not f32 rounding.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "formats.h"

int64_t ir_weight_cols(const Weight *w)
{
	return w->shape.ndim ? w->shape.d[w->shape.ndim - 1] : 1;
}

int64_t ir_weight_rows(const Weight *w)
{
	int64_t n = 1;
	for (int i = 0; i + 1 < w->shape.ndim; i++)
		n *= w->shape.d[i];
	return n;
}

bool ir_weight_is_plain(const Weight *w)
{
	return w->n_parts <= 1 && !w->part[0].scale;
}

static int64_t tensor_cols(const StTensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 1; }
static int64_t tensor_rows(const StTensor *t) { return t->numel / (tensor_cols(t) ? tensor_cols(t) : 1); }

int64_t ir_weight_part_row(const Weight *w, int p, int64_t i)
{
	if (w->mix == WMIX_PAIRS)
		return 2 * i + p;
	int64_t r = i;
	for (int q = 0; q < p; q++)
		r += tensor_rows(w->part[q].src);
	return r;
}

/* The part and its row that derived row r comes from. */
static int locate(const Weight *w, int64_t r, int64_t *row)
{
	if (w->mix == WMIX_PAIRS) {
		*row = r / 2;
		return (int)(r % 2);
	}
	for (int p = 0; p < w->n_parts; p++) {
		int64_t n = tensor_rows(w->part[p].src);
		if (r < n) {
			*row = r;
			return p;
		}
		r -= n;
	}
	*row = 0;
	return -1;
}

/* The parts must be tensors of w's column count whose rows make up w's. */
int ir_weight_check(const Weight *w, LfmError *err)
{
	int64_t K = ir_weight_cols(w), rows = 0;
	if (w->n_parts < 1 || w->n_parts > WEIGHT_MAX_PARTS || (w->mix == WMIX_PAIRS && w->n_parts != 2))
		return lfm_error(err, NULL, "weight %s: bad derivation (%d parts)", w->name, w->n_parts);
	for (int p = 0; p < w->n_parts; p++) {
		const StTensor *t = w->part[p].src, *s = w->part[p].scale;
		if (!t || tensor_cols(t) != K)
			return lfm_error(err, NULL, "weight %s: no source tensor of its shape", w->name);
		if (s && s->numel != K)
			return lfm_error(err, NULL, "weight %s: scale %s is not a vector of %lld", w->name, s->name,
			                 (long long)K);
		rows += tensor_rows(t);
	}
	if (w->mix == WMIX_PAIRS && tensor_rows(w->part[0].src) != tensor_rows(w->part[1].src))
		return lfm_error(err, NULL, "weight %s: paired parts of different row counts", w->name);
	if (rows != ir_weight_rows(w))
		return lfm_error(err, NULL, "weight %s: parts hold %lld rows, the weight %lld", w->name,
		                 (long long)rows, (long long)ir_weight_rows(w));
	return 0;
}

/* Row `row` of tensor t (K values) as f32 / f64. */
static void tensor_row_f32(const StTensor *t, int64_t row, int64_t K, float *out)
{
	size_t esz = lfm_dtype_size(t->dtype);
	StTensor part = *t;
	part.data = t->data + (size_t)(row * K) * esz;
	part.numel = K;
	part.nbytes = (size_t)K * esz;
	lfm_tensor_to_f32(&part, out);
}

static void tensor_row_f64(const StTensor *t, int64_t row, int64_t K, double *out)
{
	size_t esz = lfm_dtype_size(t->dtype);
	StTensor part = *t;
	part.data = t->data + (size_t)(row * K) * esz;
	part.numel = K;
	part.nbytes = (size_t)K * esz;
	lfm_tensor_to_f64(&part, out);
}

/* The scales of every part converted once per call (NULL where none). */
typedef struct Scales {
	double *v[WEIGHT_MAX_PARTS];
} Scales;

static void scales_free(Scales *s)
{
	for (int p = 0; p < WEIGHT_MAX_PARTS; p++)
		free(s->v[p]);
}

static int scales_load(const Weight *w, Scales *s, LfmError *err)
{
	memset(s, 0, sizeof *s);
	for (int p = 0; p < w->n_parts; p++) {
		const StTensor *t = w->part[p].scale;
		if (!t)
			continue;
		if (!(s->v[p] = malloc((size_t)t->numel * sizeof(double)))) {
			scales_free(s);
			return lfm_error(err, NULL, "weight %s: out of memory", w->name);
		}
		lfm_tensor_to_f64(t, s->v[p]);
	}
	return 0;
}

static int check_range(const Weight *w, int64_t row0, int64_t n, LfmError *err)
{
	if (row0 < 0 || n < 0 || row0 + n > ir_weight_rows(w))
		return lfm_error(err, NULL, "weight %s: rows %lld..%lld out of range", w->name, (long long)row0,
		                 (long long)(row0 + n));
	return ir_weight_check(w, err);
}

/* Smallest magnitude that rounds to infinity as a float: FLT_MAX plus half
 * an ulp (round to nearest, ties to even: FLT_MAX's last bit is 1). */
#define F32_OVERFLOW 0x1.ffffffp127

/* o[k] *= scale[k], rounded once to f32; -1 with err set if a product of
 * two finite values overflows f32 (the folded weight cannot be stored,
 * although neither tensor is wrong on its own). */
static int scale_row(const Weight *w, int p, int64_t row, float *o, const double *scale, int64_t K,
                     LfmError *err)
{
	for (int64_t k = 0; k < K; k++) {
		double v = (double)o[k] * scale[k];   /* exact: f32 x f32 fits in a double */
		if (fabs(v) >= F32_OVERFLOW && isfinite(o[k]) && isfinite(scale[k]))
			return lfm_error(err, NULL, "weight %s: folding %s into %s overflows f32 at row %lld, column %lld "
			                 "(%g x %g = %g, beyond the f32 maximum %g); compile with --fuse default,-rmsnorm_fold",
			                 w->name, w->part[p].scale->name, w->part[p].src->name, (long long)row,
			                 (long long)k, (double)o[k], scale[k], v, (double)FLT_MAX);
		o[k] = (float)v;
	}
	return 0;
}

int ir_weight_rows_f32(const Weight *w, int64_t row0, int64_t n, float *out, LfmError *err)
{
	int64_t K = ir_weight_cols(w);
	Scales sc;
	if (check_range(w, row0, n, err) || scales_load(w, &sc, err))
		return -1;
	for (int64_t i = 0; i < n; i++) {
		int64_t row;
		int p = locate(w, row0 + i, &row);
		float *o = out + i * K;
		tensor_row_f32(w->part[p].src, row, K, o);
		if (sc.v[p] && scale_row(w, p, row, o, sc.v[p], K, err)) {
			scales_free(&sc);
			return -1;
		}
	}
	scales_free(&sc);
	if (w->rounded != DT_F32 && quant_roundtrip(w->rounded, out, n, K, out))
		return lfm_error(err, NULL, "weight %s cannot be rounded to %s (row length %lld, or a value "
		                 "outside the format's range)", w->name, dtype_name(w->rounded), (long long)K);
	return 0;
}

int ir_weight_values_f64(const Weight *w, int64_t row0, int64_t n, double *out, LfmError *err)
{
	int64_t K = ir_weight_cols(w);
	if (w->dtype != DT_F32 || w->rounded != DT_F32) {
		float *v = malloc((size_t)(n * K > 0 ? n * K : 1) * sizeof *v);
		if (!v)
			return lfm_error(err, NULL, "weight %s: out of memory", w->name);
		int rc = ir_weight_rows_f32(w, row0, n, v, err);
		if (!rc && w->dtype != DT_F32 && quant_roundtrip(w->dtype, v, n, K, v))
			rc = lfm_error(err, NULL, "weight %s cannot be stored as %s (row length %lld, or a value "
			               "outside the format's range)", w->name, dtype_name(w->dtype), (long long)K);
		for (int64_t i = 0; !rc && i < n * K; i++)
			out[i] = v[i];
		free(v);
		return rc;
	}
	Scales sc;
	if (check_range(w, row0, n, err) || scales_load(w, &sc, err))
		return -1;
	for (int64_t i = 0; i < n; i++) {
		int64_t row;
		int p = locate(w, row0 + i, &row);
		double *o = out + i * K;
		tensor_row_f64(w->part[p].src, row, K, o);
		if (sc.v[p])
			for (int64_t k = 0; k < K; k++)
				o[k] *= sc.v[p][k];
	}
	scales_free(&sc);
	return 0;
}

/* "model.layers.3.self_attn.q_proj.weight" -> "self_attn.q_proj" */
static void short_name(FILE *f, const char *name)
{
	const char *p = name;
	if (!strncmp(p, "model.layers.", 13)) {
		p += 13;
		p += strcspn(p, ".");
		if (*p)
			p++;
	} else if (!strncmp(p, "model.", 6)) {
		p += 6;
	}
	size_t n = strlen(p);
	if (n > 7 && !strcmp(p + n - 7, ".weight"))
		n -= 7;
	fprintf(f, "%.*s", (int)n, p);
}

void ir_weight_print_recipe(FILE *f, const Weight *w)
{
	fputs(w->mix == WMIX_PAIRS ? "pairs(" : "[", f);
	for (int p = 0; p < w->n_parts; p++) {
		if (p)
			fputs(w->mix == WMIX_PAIRS ? ", " : " | ", f);
		short_name(f, w->part[p].src->name);
		if (w->part[p].scale) {
			fputs(" * ", f);
			short_name(f, w->part[p].scale->name);
		}
	}
	fputs(w->mix == WMIX_PAIRS ? ")" : "]", f);
}
