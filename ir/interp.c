/*
 * interp.c — the reference interpreter.
 *
 * Runs a Graph op by op in double precision, each op written as the
 * plainest loop that matches specs/ir.md.  It carries the same state as a
 * compiled session (conv state of B*x rows, K/V cache) so chunked,
 * incremental evaluation can be checked here before it is checked in
 * generated code.  Speed is not a goal: it is the in-project oracle.
 *
 * Weights are read through ir_weight_values_f64: those the quantize pass
 * stored in another format (f16, q4_0, ...) with their quantize-then-
 * dequantize values, so the interpreter computes exactly the quantized
 * model's arithmetic on weights, in double precision; weights a fusion
 * derived (stacked, paired, norm-folded) as derived.  Activations are never
 * quantized here.  The fused ops (CONV_CHAIN, NORM_ROPE, MATMUL_ACC, ...)
 * run the unfused ops' arithmetic in the same order, so a fused graph
 * interprets to the unfused one's logits up to the double rounding of a
 * folded norm weight.
 *
 * interp_set_act_q8 makes the matmuls on block-format weights (q8_0, q4_0,
 * q4_1) compute what the compiled int8 kernels compute: each activation
 * row rounded to f32 and quantized by quant_act_row, each output
 * quant_dot_ref of the row's quantized bytes (exact integer block sums,
 * scaled in double).  Everything else stays in double.  Rounding to a
 * code is discontinuous: an activation whose x * 127/max|x| lies within
 * ACT_TIE_REL of a half-integer may round the other way in the compiled
 * model, whose f32 activations differ from these by ~1e-7; such a change
 * moves the logits by ~1% from that position on.  interp_act_q8_tie
 * reports the first position where one occurred, so a test can hold the
 * positions before it to the f32 bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "formats.h"

struct InterpState {
	const Graph *g;
	int ctx, pos;
	double **weights;     /* per weight index, converted to double */
	int act_q8;           /* interp_set_act_q8 */
	uint8_t **qbytes;     /* per weight index: its rows quantized (block formats, act_q8) */
	int tie_pos;          /* first position with a near-tie activation, or -1 */
	int64_t call_T, call_R;   /* rows of the current interp_eval call */
	double *conv_state;   /* [slots][L-1][H] */
	double *kv;           /* [slots][2][ctx][nkv*hd] */
};

static void *xcalloc(size_t n, size_t size, LfmError *err)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		lfm_error(err, NULL, "interpreter: out of memory");
	return p;
}

void interp_free(InterpState *s)
{
	if (!s)
		return;
	if (s->weights)
		for (int i = 0; i < s->g->n_weights; i++)
			free(s->weights[i]);
	free(s->weights);
	if (s->qbytes)
		for (int i = 0; i < s->g->n_weights; i++)
			free(s->qbytes[i]);
	free(s->qbytes);
	free(s->conv_state);
	free(s->kv);
	free(s);
}

static size_t kv_dim(const LfmConfig *c) { return (size_t)c->n_kv_heads * c->head_dim; }

InterpState *interp_new(const Graph *g, int ctx, LfmError *err)
{
	const LfmConfig *c = g->cfg;
	InterpState *s = xcalloc(1, sizeof *s, err);
	if (!s)
		return NULL;
	s->g = g;
	s->ctx = ctx;
	s->tie_pos = -1;
	s->weights = xcalloc((size_t)g->n_weights, sizeof(double *), err);
	if (!s->weights)
		goto fail;
	for (int i = 0; i < g->n_weights; i++) {
		const Weight *w = &g->weights[i];
		int64_t rows = ir_weight_rows(w), cols = ir_weight_cols(w);
		s->weights[i] = xcalloc((size_t)(rows * cols), sizeof(double), err);
		if (!s->weights[i] || ir_weight_values_f64(w, 0, rows, s->weights[i], err))
			goto fail;
	}
	s->conv_state = xcalloc((size_t)g->n_conv_slots * (size_t)(c->conv_L - 1) * (size_t)c->hidden,
	                        sizeof(double), err);
	s->kv = xcalloc((size_t)g->n_attn_slots * 2 * (size_t)ctx * kv_dim(c), sizeof(double), err);
	if (!s->conv_state || !s->kv)
		goto fail;
	return s;
fail:
	interp_free(s);
	return NULL;
}


void interp_set_act_q8(InterpState *s, int on) { s->act_q8 = on; }

int interp_act_q8_tie(const InterpState *s) { return s->tie_pos; }

#define ACT_TIE_REL 0x1p-20   /* ~1e-6: 2x the largest f32-vs-f64 drift seen to flip a code */

/* Notes the position of row m of a matmul input if one of its values is
 * within ACT_TIE_REL (relative) of a rounding tie of its code. */
static void note_ties(InterpState *s, const float *x, int64_t K, int64_t M, int64_t m)
{
	for (int64_t b = 0; b < K / QUANT_BLOCK; b++) {
		const float *xb = x + b * QUANT_BLOCK;
		float amax = 0.0f;
		for (int j = 0; j < QUANT_BLOCK; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		for (int j = 0; j < QUANT_BLOCK && amax > 0; j++) {
			double v = (double)xb[j] * (127.0 / amax), frac = v - floor(v);
			if (fabs(frac - 0.5) <= ACT_TIE_REL * fabs(v)) {
				int pos = (int)(s->pos + (M == s->call_T ? m : s->call_T - s->call_R + m));
				if (s->tie_pos < 0 || pos < s->tie_pos)
					s->tie_pos = pos;
			}
		}
	}
}

void interp_reset(InterpState *s)
{
	const LfmConfig *c = s->g->cfg;
	s->pos = 0;
	s->tie_pos = -1;
	memset(s->conv_state, 0, (size_t)s->g->n_conv_slots * (size_t)(c->conv_L - 1) * (size_t)c->hidden
	       * sizeof(double));
	memset(s->kv, 0, (size_t)s->g->n_attn_slots * 2 * (size_t)s->ctx * kv_dim(c) * sizeof(double));
}

/* ------------------------------------------------------------ the ops */

static void rmsnorm(double *y, const double *x, const double *w, int64_t rows, int64_t n, double eps)
{
	for (int64_t r = 0; r < rows; r++) {
		double ss = 0;
		for (int64_t i = 0; i < n; i++)
			ss += x[r * n + i] * x[r * n + i];
		double inv = 1.0 / sqrt(ss / (double)n + eps);
		for (int64_t i = 0; i < n; i++)
			y[r * n + i] = w ? w[i] * (x[r * n + i] * inv) : x[r * n + i] * inv;
	}
}

/* Each output is one sum over k in increasing order.  Four outputs are
 * summed side by side only so their chains overlap in the CPU (about 3x
 * faster); every output's own arithmetic is the plain loop's. */
static void matmul(double *y, const double *x, const double *w, int64_t M, int64_t N, int64_t K)
{
	for (int64_t m = 0; m < M; m++) {
		const double *xm = x + m * K;
		int64_t n = 0;
		for (; n + 4 <= N; n += 4) {
			const double *w0 = w + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
			double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
			for (int64_t k = 0; k < K; k++) {
				a0 += xm[k] * w0[k];
				a1 += xm[k] * w1[k];
				a2 += xm[k] * w2[k];
				a3 += xm[k] * w3[k];
			}
			y[m * N + n] = a0;
			y[m * N + n + 1] = a1;
			y[m * N + n + 2] = a2;
			y[m * N + n + 3] = a3;
		}
		for (; n < N; n++) {
			double acc = 0;
			for (int64_t k = 0; k < K; k++)
				acc += xm[k] * w[n * K + k];
			y[m * N + n] = acc;
		}
	}
}

/* out[t,c] = sum_k w[c,0,k] * ext[t+k, c], ext = [state (L-1 rows); z] */
static void short_conv(InterpState *s, double *y, const double *z, const double *w, int slot, int64_t T)
{
	const LfmConfig *c = s->g->cfg;
	int64_t H = c->hidden, L = c->conv_L;
	double *state = s->conv_state + (size_t)slot * (size_t)(L - 1) * (size_t)H;
	for (int64_t t = 0; t < T; t++)
		for (int64_t ch = 0; ch < H; ch++) {
			double acc = 0;
			for (int64_t k = 0; k < L; k++) {
				int64_t row = t + k - (L - 1);   /* < 0: from the state */
				double v = row < 0 ? state[(L - 1 + row) * H + ch] : z[row * H + ch];
				acc += w[ch * L + k] * v;
			}
			y[t * H + ch] = acc;
		}
	/* new state: the last L-1 rows of [state; z] */
	for (int64_t r = 0; r < L - 1; r++) {
		int64_t src = T - (L - 1) + r;   /* row index into z; < 0: old state */
		for (int64_t ch = 0; ch < H; ch++)
			state[r * H + ch] = src >= 0 ? z[src * H + ch] : state[(r + T) * H + ch];
	}
}

/* CONV_CHAIN(_B): the unfused ops' arithmetic in their order — z = B*x,
 * the short conv (+ bias), times C — through one scratch of [T,H]. */
static void conv_chain(InterpState *s, double *y, const double *bcx, const double *w, const double *bias,
                       int slot, int64_t T, double *z)
{
	int64_t H = s->g->cfg->hidden;
	for (int64_t t = 0; t < T; t++)
		for (int64_t c = 0; c < H; c++)
			z[t * H + c] = bcx[t * 3 * H + c] * bcx[t * 3 * H + 2 * H + c];
	short_conv(s, y, z, w, slot, T);
	for (int64_t t = 0; t < T; t++)
		for (int64_t c = 0; c < H; c++) {
			double v = bias ? y[t * H + c] + bias[c] : y[t * H + c];
			y[t * H + c] = bcx[t * 3 * H + H + c] * v;
		}
}

static void rope(double *y, const double *x, int64_t T, int64_t n, int64_t d, int pos0, double theta)
{
	int64_t half = d / 2;
	for (int64_t t = 0; t < T; t++)
		for (int64_t h = 0; h < n; h++) {
			const double *xi = x + (t * n + h) * d;
			double *yi = y + (t * n + h) * d;
			for (int64_t i = 0; i < half; i++) {
				double ang = (double)(pos0 + t) * pow(theta, -2.0 * (double)i / (double)d);
				double cs = cos(ang), sn = sin(ang);
				yi[i] = xi[i] * cs - xi[i + half] * sn;
				yi[i + half] = xi[i + half] * cs + xi[i] * sn;
			}
		}
}

static void attention(InterpState *s, double *y, const double *q, const double *k, const double *v,
                      int slot, int64_t T, int64_t nh, int64_t nkv, int64_t d, double *p)
{
	size_t kvd = (size_t)(nkv * d);
	double *K = s->kv + (size_t)slot * 2 * (size_t)s->ctx * kvd;
	double *V = K + (size_t)s->ctx * kvd;
	memcpy(K + (size_t)s->pos * kvd, k, (size_t)T * kvd * sizeof(double));
	memcpy(V + (size_t)s->pos * kvd, v, (size_t)T * kvd * sizeof(double));
	double scale = 1.0 / sqrt((double)d);
	int64_t group = nh / nkv;
	for (int64_t t = 0; t < T; t++) {
		int64_t S = s->pos + t + 1;   /* keys 0 .. pos+t */
		for (int64_t h = 0; h < nh; h++) {
			const double *qi = q + (t * nh + h) * d;
			int64_t kh = h / group;
			double mx = -INFINITY, sum = 0;
			for (int64_t j = 0; j < S; j++) {
				double dot = 0;
				for (int64_t i = 0; i < d; i++)
					dot += qi[i] * K[(size_t)j * kvd + (size_t)(kh * d + i)];
				p[j] = dot * scale;
				mx = fmax(mx, p[j]);
			}
			for (int64_t j = 0; j < S; j++)
				sum += p[j] = exp(p[j] - mx);
			double *yi = y + (t * nh + h) * d;
			for (int64_t i = 0; i < d; i++) {
				double acc = 0;
				for (int64_t j = 0; j < S; j++)
					acc += p[j] * V[(size_t)j * kvd + (size_t)(kh * d + i)];
				yi[i] = acc / sum;
			}
		}
	}
}

/* The block-format weight wi's rows as the compiled model stores their
 * values: quant_quantize_row of ir_weight_rows_f32, built on first use. */
static const uint8_t *weight_blocks(InterpState *s, int wi, LfmError *err)
{
	const Weight *w = &s->g->weights[wi];
	if (!s->qbytes && !(s->qbytes = xcalloc((size_t)s->g->n_weights, sizeof *s->qbytes, err)))
		return NULL;
	if (s->qbytes[wi])
		return s->qbytes[wi];
	int64_t N = ir_weight_rows(w), K = ir_weight_cols(w), rb = quant_bytes_per_row(w->dtype, K);
	float *row = xcalloc((size_t)K, sizeof *row, err);
	uint8_t *q = rb > 0 ? xcalloc((size_t)(N * rb), 1, err) : NULL;
	int rc = row && q ? 0 : -1;
	for (int64_t n = 0; n < N && !rc; n++)
		if (ir_weight_rows_f32(w, n, 1, row, err) || quant_quantize_row(w->dtype, row, K, q + n * rb))
			rc = lfm_error(err, NULL, "interpreter: weight %s row %lld cannot be stored as %s", w->name,
			               (long long)n, dtype_name(w->dtype));
	free(row);
	if (rc) {
		free(q);
		return NULL;
	}
	return s->qbytes[wi] = q;
}

/* y [M][N] = x [M][K] . w^T for the weight of node wnode: matmul() in
 * double, or with act_q8 and a block-format weight the int8 kernels'
 * arithmetic (quant_act_row per row, quant_dot_ref per output). */
static int matmul_node(InterpState *s, Ref wnode, double *y, const double *x, const double *w, int64_t M,
                       int64_t N, int64_t K, LfmError *err)
{
	int wi = s->g->nodes[wnode].aux;
	DType t = s->g->weights[wi].dtype;
	if (!s->act_q8 || !quant_is_blocked(t)) {
		matmul(y, x, w, M, N, K);
		return 0;
	}
	const uint8_t *q = weight_blocks(s, wi, err);
	if (!q)
		return -1;
	int64_t rb = quant_bytes_per_row(t, K);
	float *xf = xcalloc((size_t)K, sizeof *xf, err);
	QuantActBlock *a = xcalloc((size_t)(K / QUANT_BLOCK), sizeof *a, err);
	int rc = xf && a ? 0 : -1;
	for (int64_t m = 0; m < M && !rc; m++) {
		for (int64_t k = 0; k < K; k++)
			xf[k] = (float)x[m * K + k];
		if (quant_act_row(xf, K, a))
			rc = lfm_error(err, NULL, "interpreter: an activation row of a %s matmul is not finite",
			               dtype_name(t));
		else
			note_ties(s, xf, K, M, m);
		for (int64_t n = 0; n < N && !rc; n++)
			rc = quant_dot_ref(t, q + n * rb, a, K, &y[m * N + n], NULL);
	}
	free(xf);
	free(a);
	return rc;
}

/* ------------------------------------------------------------ the loop */

int interp_eval(InterpState *s, const int32_t *tokens, int n, int rows, double *logits, LfmError *err)
{
	const Graph *g = s->g;
	const LfmConfig *c = g->cfg;
	if (n < 1 || s->pos + n > s->ctx)
		return lfm_error(err, NULL, "interpreter: %d tokens at position %d exceed the context %d",
		                 n, s->pos, s->ctx);
	if (rows != 1 && rows != n && rows != 0)
		return lfm_error(err, NULL, "interpreter: rows must be 0, 1 or the token count");
	for (int i = 0; i < n; i++)
		if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
			return lfm_error(err, NULL, "interpreter: token %d (id %d) out of range", i, tokens[i]);
	int64_t T = n, R = rows;
	s->call_T = T;
	s->call_R = R;
	double **val = xcalloc((size_t)g->n_nodes, sizeof(double *), err);
	char *owned = xcalloc((size_t)g->n_nodes, 1, err);
	int rc = -1;
	if (!val || !owned)
		goto out;
	for (Ref r = 1; r < g->n_nodes; r++) {
		const Node *nd = &g->nodes[r];
		int64_t numel = ir_shape_numel(nd->shape, T, R);
		double *a = nd->in[0] ? val[nd->in[0]] : NULL;
		double *b = nd->in[1] ? val[nd->in[1]] : NULL;
		double *cc = nd->in[2] ? val[nd->in[2]] : NULL;
		Shape is = nd->in[0] ? g->nodes[nd->in[0]].shape : nd->shape;
		int64_t last = nd->shape.d[nd->shape.ndim - 1];
		if (nd->op == OP_WEIGHT) {
			val[r] = s->weights[nd->aux];
			continue;
		}
		if (nd->op == OP_RESHAPE || nd->op == OP_OUTPUT) {
			val[r] = a;   /* a view */
			continue;
		}
		if (nd->op == OP_TOKENS)
			continue;
		double *y = val[r] = xcalloc((size_t)(numel ? numel : 1), sizeof(double), err);
		if (!y)
			goto out;
		owned[r] = 1;
		switch (nd->op) {
		case OP_EMBED:
			for (int64_t t = 0; t < T; t++)
				memcpy(y + t * last, b + (int64_t)tokens[t] * last, (size_t)last * sizeof(double));
			break;
		case OP_RMSNORM:
			rmsnorm(y, a, b, numel / last, last, nd->f);
			break;
		case OP_MATMUL: {
			Shape ws = g->nodes[nd->in[1]].shape;
			if (matmul_node(s, nd->in[1], y, a, b, numel / last, ws.d[0], ws.d[1], err))
				goto out;
			break;
		}
		case OP_ADD_BIAS:
		case OP_CONV_BIAS:
			for (int64_t i = 0; i < numel; i++)
				y[i] = a[i] + b[i % last];
			break;
		case OP_SLICE: {
			int64_t in_last = is.d[is.ndim - 1];
			for (int64_t rr = 0; rr < numel / last; rr++)
				memcpy(y + rr * last, a + rr * in_last + nd->aux, (size_t)last * sizeof(double));
			break;
		}
		case OP_MUL:
			for (int64_t i = 0; i < numel; i++)
				y[i] = a[i] * b[i];
			break;
		case OP_ADD:
			for (int64_t i = 0; i < numel; i++)
				y[i] = a[i] + b[i];
			break;
		case OP_SHORT_CONV:
			short_conv(s, y, a, b, nd->aux, T);
			break;
		case OP_ROPE:
			rope(y, a, T, nd->shape.d[1], nd->shape.d[2], s->pos, nd->f);
			break;
		case OP_ATTENTION: {
			Shape ks = g->nodes[nd->in[1]].shape;
			double *p = xcalloc((size_t)(s->pos + T), sizeof(double), err);
			if (!p)
				goto out;
			attention(s, y, a, b, cc, nd->aux, T, nd->shape.d[1], ks.d[1], nd->shape.d[2], p);
			free(p);
			break;
		}
		case OP_SILU:
			for (int64_t i = 0; i < numel; i++)
				y[i] = a[i] / (1.0 + exp(-a[i]));
			break;
		case OP_RMSNORM_UNIT:
			rmsnorm(y, a, NULL, numel / last, last, nd->f);
			break;
		case OP_MATMUL_ACC: {
			Shape ws = g->nodes[nd->in[1]].shape;
			if (matmul_node(s, nd->in[1], y, a, b, numel / last, ws.d[0], ws.d[1], err))
				goto out;
			for (int64_t i = 0; i < numel; i++)
				y[i] = cc[i] + y[i];
			break;
		}
		case OP_MATMUL_SWIGLU: {
			Shape ws = g->nodes[nd->in[1]].shape;
			double *ab = xcalloc((size_t)(2 * numel), sizeof(double), err);
			if (!ab)
				goto out;
			if (matmul_node(s, nd->in[1], ab, a, b, numel / last, ws.d[0], ws.d[1], err)) {
				free(ab);
				goto out;
			}
			for (int64_t i = 0; i < numel; i++)
				y[i] = ab[2 * i] / (1.0 + exp(-ab[2 * i])) * ab[2 * i + 1];
			free(ab);
			break;
		}
		case OP_CONV_CHAIN:
		case OP_CONV_CHAIN_B: {
			double *z = xcalloc((size_t)numel, sizeof(double), err);
			if (!z)
				goto out;
			conv_chain(s, y, a, b, nd->op == OP_CONV_CHAIN_B ? cc : NULL, nd->aux, T, z);
			free(z);
			break;
		}
		case OP_NORM_ROPE: {
			double *nrm = xcalloc((size_t)numel, sizeof(double), err);
			if (!nrm)
				goto out;
			rmsnorm(nrm, a, b, numel / last, last, nd->f);
			rope(y, nrm, T, nd->shape.d[1], nd->shape.d[2], s->pos, nd->f2);
			free(nrm);
			break;
		}
		case OP_LAST_ROWS:
			memcpy(y, a + (T - R) * last, (size_t)(R * last) * sizeof(double));
			break;
		case OP_TOKENS:    /* handled above: no value of its own */
		case OP_WEIGHT:
		case OP_RESHAPE:
		case OP_OUTPUT:
		case OP_COUNT:
			lfm_error(err, NULL, "interpreter: op %s not handled", op_name(nd->op));
			goto out;
		}
	}
	memcpy(logits, val[g->output], (size_t)R * (size_t)c->vocab_size * sizeof(double));
	s->pos += n;
	rc = 0;
out:
	if (val && owned)
		for (Ref r = 1; r < g->n_nodes; r++)
			if (owned[r])
				free(val[r]);
	free(val);
	free(owned);
	return rc;
}
