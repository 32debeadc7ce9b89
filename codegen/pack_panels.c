/*
 * pack_panels.c — the whole-weight layouts of pack.h: float weights
 * (f32, f16, bf16) in panels, block formats row by row.
 *
 * The float matmul kernels (lower_gemm.c) compute PACK_PANEL output
 * columns in the lanes of vector accumulators: per step k they load the
 * k-th value of PACK_PANEL consecutive weight rows as one vector and
 * multiply it by one broadcast activation.  So the weight is stored as the
 * kernels read it — PACK_PANEL rows interleaved along K:
 *
 *   panel g (rows gP .. gP+P-1):  element (row gP+l, column k) at k*P + l
 *
 * which makes one sequential stream of whole cache lines (16 f32 = 64
 * bytes), no horizontal sums at the end, and the same layout for every
 * vector width (an AVX2 kernel loads a panel step as two vectors, a NEON
 * one as four).  The SwiGLU matmul's weight, whose rows come in (w1, w3)
 * pairs (MATMUL_SWIGLU), is grouped by 2P rows, P pairs: the
 * group's first panel holds the pairs' first rows, its second panel their
 * second rows, so the kernel finds a and b of silu(a) * b in the same
 * lane of two accumulators.  The rows after the last whole group (N mod P,
 * or N mod 2P for pairs) stay plain rows, which the kernels' tail reads
 * with dot products along K.
 *
 * Only weights a matmul reads are packed so (pack_weight_layout): norm
 * weights, conv taps, biases and an untied embedding keep plain rows for
 * the kernels that read them elementwise.
 *
 * Every row keeps quant_bytes_per_row bytes of the weight's total (the
 * layout pass's size is unchanged), and a group's bytes follow the groups
 * before it, so the blob writer can stream a weight a chunk of whole
 * groups at a time.  specs/formats.md, "Packed layouts: float formats".
 */
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "formats.h"

static bool is_float_format(DType t) { return t == DT_F32 || t == DT_F16 || t == DT_BF16; }

PackLayout pack_weight_layout(const Graph *g, int wi)
{
	if (!is_float_format(g->weights[wi].dtype))
		return PACK_ROWS;
	for (Ref r = 1; r < g->n_nodes; r++) {
		const Node *n = &g->nodes[r];
		if ((n->op == OP_MATMUL || n->op == OP_MATMUL_ACC || n->op == OP_MATMUL_SWIGLU) && n->in[1]
		    && g->nodes[n->in[1]].op == OP_WEIGHT && g->nodes[n->in[1]].aux == wi)
			return n->op == OP_MATMUL_SWIGLU ? PACK_PAIRS : PACK_PANELS;
	}
	return PACK_ROWS;
}

int64_t pack_group_rows(DType t, PackLayout lay)
{
	if (!is_float_format(t) || lay == PACK_ROWS)
		return 1;
	return lay == PACK_PAIRS ? 2 * PACK_PANEL : PACK_PANEL;
}

int64_t pack_elem_index(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row, int64_t k)
{
	int64_t G = pack_group_rows(t, lay), full = N / G * G;
	if (G == 1 || row >= full)
		return row * K + k;
	int64_t g = row / G, l = row % G;
	if (lay == PACK_PAIRS)   /* lane l/2 of the group's first (even l) or second panel */
		return g * G * K + (l % 2) * PACK_PANEL * K + k * PACK_PANEL + l / 2;
	return g * G * K + k * PACK_PANEL + l;
}

/* Copies elements of `esize` (2 or 4) bytes between the plain rows of a
 * chunk (row-major, n rows starting at row0) and the packed layout: row
 * by row, the packed row being a stride-`step` walk from its first
 * element. */
static void permute(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, int esize,
                    const unsigned char *from, unsigned char *to, int to_packed)
{
	int64_t base = row0 * K;   /* the chunk's first element, in both layouts */
	int64_t full = N / pack_group_rows(t, lay) * pack_group_rows(t, lay);
	for (int64_t r = 0; r < n; r++) {
		int64_t p0 = pack_elem_index(t, lay, N, K, row0 + r, 0) - base;
		int64_t step = row0 + r < full ? PACK_PANEL : 1;
		int64_t q0 = r * K;
		/* memcpy of a constant size: one move, and no aliasing question */
		for (int64_t k = 0; k < K; k++) {
			int64_t a = (p0 + k * step) * esize, b = (q0 + k) * esize;
			if (esize == 4)
				memcpy(to_packed ? to + a : to + b, to_packed ? from + b : from + a, 4);
			else
				memcpy(to_packed ? to + a : to + b, to_packed ? from + b : from + a, 2);
		}
	}
}

/* Checks that [row0, row0+n) is a run of whole groups (or ends the weight). */
static int chunk_ok(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n)
{
	int64_t G = pack_group_rows(t, lay);
	if (K <= 0 || n < 0 || row0 < 0 || row0 + n > N || row0 % G)
		return 0;
	return n % G == 0 || row0 + n == N;
}

int pack_rows(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, const float *x, void *out)
{
	int64_t rb = quant_bytes_per_row(t, K);
	if (rb < 0 || !chunk_ok(t, lay, N, K, row0, n))
		return -1;
	if (pack_group_rows(t, lay) == 1) {
		for (int64_t r = 0; r < n; r++)
			if (pack_row(t, x + r * K, K, (unsigned char *)out + r * rb))
				return -1;
		return 0;
	}
	unsigned char *plain = malloc((size_t)(n * rb) + 1);
	if (!plain)
		return -1;
	int rc = 0;
	for (int64_t r = 0; r < n && !rc; r++)
		rc = pack_row(t, x + r * K, K, plain + r * rb);
	if (!rc)
		permute(t, lay, N, K, row0, n, (int)(rb / K), plain, out, 1);
	free(plain);
	return rc;
}

int unpack_rows(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, const void *in, float *x)
{
	int64_t rb = quant_bytes_per_row(t, K);
	if (rb < 0 || !chunk_ok(t, lay, N, K, row0, n))
		return -1;
	if (pack_group_rows(t, lay) == 1) {
		for (int64_t r = 0; r < n; r++)
			if (unpack_row(t, (const unsigned char *)in + r * rb, K, x + r * K))
				return -1;
		return 0;
	}
	unsigned char *plain = malloc((size_t)(n * rb) + 1);
	if (!plain)
		return -1;
	permute(t, lay, N, K, row0, n, (int)(rb / K), in, plain, 0);
	int rc = 0;
	for (int64_t r = 0; r < n && !rc; r++)
		rc = unpack_row(t, plain + r * rb, K, x + r * K);
	free(plain);
	return rc;
}
