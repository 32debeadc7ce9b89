/*
 * test_pack.c — the packed layouts of the block formats (codegen/pack.c,
 * specs/formats.md "Packed layouts: block formats").
 *
 * For q8_0, q4_0 and q4_1 and row lengths that exercise every group size
 * (16, 8, 4 and single blocks, in all the combinations a row can end
 * with):
 *   - pack_row then unpack_row gives exactly quant_quantize_row then
 *     quant_dequantize_row (bit for bit);
 *   - every byte of the packed row sits where the spec says: it is
 *     recomputed here from the plain block encoding by the spec's formula
 *     (written independently of pack.c's loop);
 *   - pack_group_blocks cuts rows as documented;
 *   - whole weights in panels (pack_rows, PACK_PANELS and PACK_PAIRS,
 *     pack_panels.c): every byte of every panel row where the spec's
 *     panel formula puts it, the rows after the last whole group as
 *     pack_row's rows, packing in chunks of whole groups equal to packing at
 *     once, unpack_rows giving the dequantized values, and
 *     pack_qpanel_row_offset naming each row's panel and lane;
 *   - bad K and non-finite values are refused like quant_quantize_row.
 * f32/f16/bf16 rows stay their plain encoding.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pack.h"
#include "formats.h"


static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* Group sizes of a row of nb blocks, from the spec: as many 16s as fit,
 * then 8 if at least 8 remain, then 4, then ones. */
static int spec_groups(int64_t nb, int *g)
{
	int n = 0;
	while (nb >= 16) {
		g[n++] = 16;
		nb -= 16;
	}
	if (nb >= 8) {
		g[n++] = 8;
		nb -= 8;
	}
	if (nb >= 4) {
		g[n++] = 4;
		nb -= 4;
	}
	while (nb-- > 0)
		g[n++] = 1;
	return n;
}

/* The spec's byte map for one row: packed[...] from the plain blocks. */
static void spec_pack(DType t, const uint8_t *plain, int64_t nb, uint8_t *out)
{
	int bpb = quant_block_bytes(t);
	int qb = t == DT_Q8_0 ? 32 : 16;        /* quant bytes per block */
	int hdr = t == DT_Q4_1 ? 4 : 2;         /* header: d (, m) */
	int groups[4096], ng = spec_groups(nb, groups);
	int64_t b0 = 0;
	for (int i = 0; i < ng; i++) {
		int g = groups[i];
		uint8_t *G = out + b0 * bpb;
		for (int b = 0; b < g; b++) {
			const uint8_t *blk = plain + (b0 + b) * bpb;
			for (int j = 0; j < qb; j++) {   /* quant byte j of block b */
				uint8_t v = blk[hdr + j];
				G[(j / 4) * 4 * g + 4 * b + j % 4] = t == DT_Q8_0 ? (uint8_t)(v + 128) : v;
			}
			G[qb * g + 2 * b] = blk[0];          /* d */
			G[qb * g + 2 * b + 1] = blk[1];
			if (t == DT_Q4_1) {                  /* m */
				G[qb * g + 2 * g + 2 * b] = blk[2];
				G[qb * g + 2 * g + 2 * b + 1] = blk[3];
			}
		}
		b0 += g;
	}
}

static void check_row(DType t, int64_t K, int kind)
{
	float *x = malloc((size_t)K * sizeof *x), *a = malloc((size_t)K * sizeof *a), *b = malloc((size_t)K * sizeof *b);
	int64_t bytes = quant_bytes_per_row(t, K);
	uint8_t *plain = malloc((size_t)bytes), *packed = malloc((size_t)bytes), *want = malloc((size_t)bytes);
	if (!x || !a || !b || !plain || !packed || !want) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (int64_t k = 0; k < K; k++) {
		double u = uniform() * 2 - 1;
		x[k] = (float)(kind == 0 ? u : kind == 1 ? u * u * u * 30 : (k % 7 == 0 ? 0.0 : u * 1e-3));
	}
	if (kind == 2)   /* an all-zero block and a constant one */
		for (int k = 0; k < 32 && k < K; k++) {
			x[k] = 0.0f;
			if (K >= 64)
				x[32 + k] = -0.25f;
		}
	CHECK(quant_quantize_row(t, x, K, plain) == 0, "quantize %s K=%lld", quant_format_name(t), (long long)K);
	CHECK(quant_dequantize_row(t, plain, K, a) == 0, "dequantize");
	CHECK(pack_row(t, x, K, packed) == 0, "pack_row %s K=%lld", quant_format_name(t), (long long)K);
	CHECK(unpack_row(t, packed, K, b) == 0, "unpack_row");
	CHECK(!memcmp(a, b, (size_t)K * sizeof *a), "%s K=%lld kind %d: unpack(pack(x)) != dequantize(quantize(x))",
	      quant_format_name(t), (long long)K, kind);
	spec_pack(t, plain, K / 32, want);
	int64_t bad = -1;
	for (int64_t i = 0; i < bytes && bad < 0; i++)
		if (packed[i] != want[i])
			bad = i;
	CHECK(bad < 0, "%s K=%lld: packed byte %lld is %u, the spec says %u", quant_format_name(t), (long long)K,
	      (long long)bad, bad < 0 ? 0 : packed[bad], bad < 0 ? 0 : want[bad]);
	free(x);
	free(a);
	free(b);
	free(plain);
	free(packed);
	free(want);
}

/* Block-format weights in panels: N rows of K (a tail after the groups). */
static void check_panels(DType t, PackLayout lay, int64_t N, int64_t K)
{
	int64_t rb = quant_bytes_per_row(t, K), nb = K / 32, G = lay == PACK_PAIRS ? 32 : 16, full = N / G * G;
	int bpb = quant_block_bytes(t), qb = t == DT_Q8_0 ? 32 : 16, hb = bpb - qb;
	float *x = malloc((size_t)(N * K) * sizeof *x), *back = malloc((size_t)(N * K) * sizeof *x);
	float *want = malloc((size_t)K * sizeof *x);
	uint8_t *whole = malloc((size_t)(N * rb)), *chunked = malloc((size_t)(N * rb)), *plain = malloc((size_t)rb);
	uint8_t *row = malloc((size_t)rb);
	if (!x || !back || !want || !whole || !chunked || !plain || !row) {
		CHECK(0, "out of memory");
		return;
	}
	for (int64_t i = 0; i < N * K; i++)
		x[i] = (float)(uniform() * 2 - 1) * (i % 7 == 0 ? 4.0f : 1.0f);
	CHECK(pack_group_rows(t, lay) == G, "%s: %lld rows a group", quant_format_name(t), (long long)pack_group_rows(t, lay));
	CHECK(!pack_rows(t, lay, N, K, 0, N, x, whole), "pack_rows %s N=%lld K=%lld", quant_format_name(t), (long long)N,
	      (long long)K);
	int rc = 0;
	for (int64_t r = 0; r < N && !rc; r += 2 * G)
		rc = pack_rows(t, lay, N, K, r, N - r < 2 * G ? N - r : 2 * G, x + r * K, chunked + r * rb);
	CHECK(!rc && !memcmp(whole, chunked, (size_t)(N * rb)), "%s lay %d: chunked packing differs", quant_format_name(t), lay);
	CHECK(!unpack_rows(t, lay, N, K, 0, N, whole, back), "unpack_rows");
	int64_t bad = -1;
	for (int64_t r = 0; r < N; r++) {
		CHECK(!quant_quantize_row(t, x + r * K, K, plain) && !quant_dequantize_row(t, plain, K, want), "quantize");
		if (memcmp(want, back + r * K, (size_t)K * sizeof *want) && bad < 0)
			bad = r;
		int lane;
		int64_t off = pack_qpanel_row_offset(t, lay, N, K, r, &lane);
		if (r >= full) {   /* a plain row: pack_row's bytes at r * rb */
			CHECK(lane == -1 && off == r * rb, "row %lld after the groups: lane %d offset %lld", (long long)r, lane,
			      (long long)off);
			CHECK(!pack_row(t, x + r * K, K, row) && !memcmp(row, whole + r * rb, (size_t)rb), "tail row %lld bytes",
			      (long long)r);
			continue;
		}
		/* the spec: group r / G; pairs put even rows in its first panel,
		 * odd rows in its second, lane (r % G) / 2; panels: lane r % 16 */
		int64_t g = r / G, l = r % G, pan = lay == PACK_PAIRS ? l % 2 : 0, ln = lay == PACK_PAIRS ? l / 2 : l;
		int64_t pbase = g * G * rb + pan * 16 * rb;
		CHECK(lane == ln && off == pbase, "row %lld: lane %d offset %lld, want %lld %lld", (long long)r, lane,
		      (long long)off, (long long)ln, (long long)pbase);
		for (int64_t b = 0; b < nb; b++) {
			const uint8_t *pl = plain + b * bpb;
			int64_t blk = pbase + b * 16 * bpb;
			for (int c = 0; c < qb / 4; c++)
				for (int i = 0; i < 4; i++)
					CHECK(whole[blk + 64 * c + 4 * ln + i] == (uint8_t)(pl[hb + 4 * c + i] ^ (t == DT_Q8_0 ? 0x80 : 0)),
					      "%s row %lld block %lld chunk %d byte %d", quant_format_name(t), (long long)r, (long long)b, c, i);
			for (int f = 0; f < hb / 2; f++)
				for (int i = 0; i < 2; i++)
					CHECK(whole[blk + 16 * qb + 32 * f + 2 * ln + i] == pl[2 * f + i], "%s row %lld block %lld %s byte %d",
					      quant_format_name(t), (long long)r, (long long)b, f ? "m" : "d", i);
		}
	}
	CHECK(bad < 0, "%s lay %d: unpack_rows row %lld differs from the dequantized row", quant_format_name(t), lay,
	      (long long)bad);
	free(x);
	free(back);
	free(want);
	free(whole);
	free(chunked);
	free(plain);
	free(row);
}

int main(void)
{
	/* blocks: 1, 2, 3, 4, 5, 6 (trained-tiny's 192), 7, 8, 12, 15, 16, 18
	 * (576), 23, 29, 31, 32 (1024), 33, 47, 144 (4608), 216 (6912), 600 (> the stack buffer) */
	static const int64_t blocks[] = {1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 18, 23, 29, 31, 32, 33, 47, 144, 216, 600};
	static const DType fmts[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1};
	for (size_t f = 0; f < 3; f++)
		for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
			for (int kind = 0; kind < 3; kind++)
				check_row(fmts[f], blocks[i] * 32, kind);

	/* whole weights in panels and pairs of panels, with tails */
	for (size_t f = 0; f < 3; f++) {
		check_panels(fmts[f], PACK_PANELS, 77, 96);
		check_panels(fmts[f], PACK_PAIRS, 77, 192);
		check_panels(fmts[f], PACK_PANELS, 16, 32);
	}

	/* the group rule */
	static const int64_t left[] = {0, 1, 3, 4, 7, 8, 15, 16, 17, 100};
	static const int want[] = {0, 1, 1, 4, 4, 8, 8, 16, 16, 16};
	for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
		CHECK(pack_group_blocks(left[i]) == want[i], "pack_group_blocks(%lld) = %d", (long long)left[i],
		      pack_group_blocks(left[i]));

	/* a single block of q8_0 is the plain block with the sign bits flipped */
	float x[32];
	uint8_t p[34], q[34];
	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 16) / 3.0f;
	CHECK(!quant_quantize_row(DT_Q8_0, x, 32, p) && !pack_row(DT_Q8_0, x, 32, q), "q8_0 one block");
	CHECK(q[32] == p[0] && q[33] == p[1], "q8_0 one block: scale after the quants");
	for (int j = 0; j < 32; j++)
		CHECK(q[j] == (uint8_t)(p[2 + j] ^ 0x80), "q8_0 one block: byte %d", j);

	/* errors as quant_quantize_row */
	float y[64] = {0};
	uint8_t out[128];
	CHECK(pack_row(DT_Q4_0, y, 48, out) == -1, "K=48 refused");
	CHECK(unpack_row(DT_Q4_1, out, 40, y) == -1, "K=40 refused");
	y[5] = NAN;
	CHECK(pack_row(DT_Q8_0, y, 64, out) == -1, "NaN refused");
	y[5] = 1e30f;
	CHECK(pack_row(DT_Q8_0, y, 64, out) == -1, "scale overflow refused");

	/* float formats: the plain encoding */
	float z[8] = {1.5f, -2.25f, 3.0f, 0.1f, -7.0f, 1e-3f, 65504.0f, -0.0f}, zz[8];
	uint8_t e1[32], e2[32];
	static const DType ff[] = {DT_F32, DT_F16, DT_BF16};
	for (size_t i = 0; i < 3; i++) {
		CHECK(!pack_row(ff[i], z, 8, e1) && !quant_quantize_row(ff[i], z, 8, e2), "float pack");
		CHECK(!memcmp(e1, e2, (size_t)quant_bytes_per_row(ff[i], 8)), "%s packed as plain", quant_format_name(ff[i]));
		CHECK(!unpack_row(ff[i], e1, 8, zz), "float unpack");
	}
	printf("pack: 3 block formats x 21 row lengths x 3 value kinds, panels and pairs, errors, float formats\n");
	return check_finish("pack");
}
