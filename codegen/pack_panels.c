/*
 * pack_panels.c — the whole-weight layouts of pack.h: the weights a
 * matmul reads in panels (float formats element by element, block formats
 * block by block), every other weight row by row.
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
 * The block formats (q8_0, q4_0, q4_1) use the same panels of P rows
 * (and pairs of panels), block by block: the int8 kernels
 * (lower_qmatmul.c) keep P output rows in the i32 lanes of their dot
 * sums, so step c of block b of a panel is P rows' 4-byte chunk c of that
 * block, 4P bytes in row order, and after the block's chunks come its P
 * scales (f16), then for q4_1 its P minimums:
 *
 *   panel g, block b, at b * P * bpb:   chunk c of row gP+l at 4P*c + 4l,
 *                                       d of row gP+l at P*qb + 2l,
 *                                       m (q4_1) at P*qb + 2P + 2l
 *
 * (qb: quant bytes of a block, 32 or 16; q8_0 bytes with the sign bit
 * flipped as in pack.c).  One block of a panel is a run of whole cache
 * lines (544, 288 or 320 bytes), read in order.  A block format's rows
 * after the last whole group keep pack.c's row layout.
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
	if (!is_float_format(g->weights[wi].dtype) && !quant_is_blocked(g->weights[wi].dtype))
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
	if ((!is_float_format(t) && !quant_is_blocked(t)) || lay == PACK_ROWS)
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

/* Block formats (bpb bytes a block, qb of them quants): where byte j of
 * block b's plain encoding (formats.h: header, then quants) of lane l
 * lands, from the start of the panel. */
static int64_t qpanel_byte(int bpb, int qb, int64_t b, int l, int j)
{
	int hb = bpb - qb;
	int64_t blk = b * PACK_PANEL * bpb;
	if (j < hb)   /* d (j 0, 1), then q4_1's m (j 2, 3) */
		return blk + (int64_t)PACK_PANEL * qb + 2 * PACK_PANEL * (j / 2) + 2 * l + j % 2;
	int q = j - hb;   /* quant byte q: chunk q / 4 */
	return blk + 4 * PACK_PANEL * (q / 4) + 4 * l + q % 4;
}

int64_t pack_qpanel_row_offset(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row, int *lane)
{
	int64_t G = pack_group_rows(t, lay), rb = quant_bytes_per_row(t, K), full = N / G * G;
	if (G == 1 || row >= full || rb < 0) {
		*lane = -1;
		return row * rb;
	}
	int64_t g = row / G, l = row % G;
	int panel = lay == PACK_PAIRS ? (int)(l % 2) : 0;
	*lane = (int)(lay == PACK_PAIRS ? l / 2 : l);
	return g * G * rb + (int64_t)panel * PACK_PANEL * rb;
}

/* Copies the panel rows of a chunk (rows row0.. of n, all before the last
 * whole group's end) between their plain block encodings (rb bytes each,
 * formats.h) and the block panels; q8_0 quants get the sign bit flipped
 * as in pack.c. */
static void permute_blocks(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n,
                           const unsigned char *from, unsigned char *to, int to_packed)
{
	int64_t rb = quant_bytes_per_row(t, K), nb = K / QUANT_BLOCK, base = row0 * rb;
	int bpb = quant_block_bytes(t), qb = t == DT_Q8_0 ? 32 : 16, hb = bpb - qb;
	unsigned char flip = t == DT_Q8_0 ? 0x80 : 0;
	for (int64_t r = 0; r < n; r++) {
		int l;
		int64_t p0 = pack_qpanel_row_offset(t, lay, N, K, row0 + r, &l) - base;
		for (int64_t b = 0; b < nb; b++) {
			int64_t pl = r * rb + b * bpb;
			/* the header's 2-byte fields, then the quants 4 bytes at a time
			 * (qpanel_byte's map, a field or chunk per copy) */
			for (int j = 0; j < bpb; j += j < hb ? 2 : 4) {
				int64_t pk = p0 + qpanel_byte(bpb, bpb - hb, b, l, j);
				const unsigned char *src = to_packed ? from + pl + j : from + pk;
				unsigned char *dst = to_packed ? to + pk : to + pl + j;
				if (j < hb) {
					memcpy(dst, src, 2);
				} else {
					for (int i = 0; i < 4; i++)
						dst[i] = (unsigned char)(src[i] ^ flip);
				}
			}
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

/* Block formats in panels: the chunk's panel rows quantized to their
 * plain encoding, then permuted; the rows after the last whole group
 * packed by pack_row (pack.c's row layout). */
static int pack_block_rows(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, const float *x,
                           void *out)
{
	int64_t rb = quant_bytes_per_row(t, K), G = pack_group_rows(t, lay), full = N / G * G;
	int64_t np = row0 >= full ? 0 : (row0 + n <= full ? n : full - row0);   /* panel rows */
	unsigned char *o = out;
	unsigned char *plain = np ? malloc((size_t)(np * rb)) : NULL;
	if (np && !plain)
		return -1;
	int rc = 0;
	for (int64_t r = 0; r < np && !rc; r++)
		rc = quant_quantize_row(t, x + r * K, K, plain + r * rb);
	if (!rc && np)
		permute_blocks(t, lay, N, K, row0, np, plain, o, 1);
	free(plain);
	for (int64_t r = np; r < n && !rc; r++)
		rc = pack_row(t, x + r * K, K, o + r * rb);
	return rc;
}

static int unpack_block_rows(DType t, PackLayout lay, int64_t N, int64_t K, int64_t row0, int64_t n, const void *in,
                             float *x)
{
	int64_t rb = quant_bytes_per_row(t, K), G = pack_group_rows(t, lay), full = N / G * G;
	int64_t np = row0 >= full ? 0 : (row0 + n <= full ? n : full - row0);
	const unsigned char *i = in;
	unsigned char *plain = np ? malloc((size_t)(np * rb)) : NULL;
	if (np && !plain)
		return -1;
	int rc = 0;
	if (np)
		permute_blocks(t, lay, N, K, row0, np, i, plain, 0);
	for (int64_t r = 0; r < np && !rc; r++)
		rc = quant_dequantize_row(t, plain + r * rb, K, x + r * K);
	free(plain);
	for (int64_t r = np; r < n && !rc; r++)
		rc = unpack_row(t, i + r * rb, K, x + r * K);
	return rc;
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
	if (quant_is_blocked(t))
		return pack_block_rows(t, lay, N, K, row0, n, x, out);
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
	if (quant_is_blocked(t))
		return unpack_block_rows(t, lay, N, K, row0, n, in, x);
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
