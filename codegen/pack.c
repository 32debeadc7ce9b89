/*
 * pack.c — the packed row layouts of pack.h.
 *
 * (A block-format weight a matmul reads is stored in panels of 16 rows,
 * pack_panels.c; the row layout here is for its rows after the last whole
 * panel and for block-format weights read a row at a time.)
 *
 * f32, f16 and bf16 rows are their plain encoding (formats.h).  Block
 * formats (q8_0, q4_0, q4_1) are repacked for the int8 dot-product kernels
 * (lower_qmatmul.c, specs/formats.md "Packed layouts: block formats"):
 *
 * A row's K/32 blocks are cut into groups of 16 blocks, then one group of
 * 8 and one of 4 if the rest allows, then single blocks (pack_group_blocks).
 * Inside a group of g blocks, the quants of its blocks are interleaved four
 * bytes at a time — chunk c (bytes 4c..4c+3 of a block's quants) of block b
 * lands at byte 4g*c + 4b — so one vector load of 4*lanes bytes gives every
 * lane (one block each) its next four values, and a dot-product instruction
 * (vpdpbusd, sdot) accumulates each block's sum in its own lane with no
 * horizontal reduction.  After the quants come the g scales (f16, block
 * order), then for q4_1 the g minimums, so a group's scales decode as one
 * vector.  q8_0 quants are stored with their sign bit flipped (q + 128, an
 * unsigned byte): x86's vpdpbusd multiplies unsigned by signed bytes, and
 * the kernel takes 128 * (sum of the activation block) back out once per
 * block.  q4 nibbles keep the block encoding's order (element j and j+16 in
 * one byte), which the interleave of 4-byte chunks preserves.
 *
 * The row keeps quant_bytes_per_row bytes (the layout pass sizes it so)
 * and every row stays contiguous and independent (the embedding lookup
 * decodes one row).  pack_row quantizes with quant_quantize_row and
 * permutes; unpack_row permutes back and dequantizes, so the values are
 * exactly the block encoding's.
 */
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "formats.h"

int pack_group_blocks(int64_t left)
{
	return left >= 16 ? 16 : left >= 8 ? 8 : left >= 4 ? 4 : left >= 1 ? 1 : 0;
}

/* Bytes of a block's quants (32 for q8_0, 16 for the q4 formats) and of
 * its header (f16 d, and f16 m for q4_1). */
static int quant_bytes(DType t) { return t == DT_Q8_0 ? 32 : 16; }
static int header_bytes(DType t) { return t == DT_Q4_1 ? 4 : 2; }

/* Copies one row of nb blocks between the plain block encoding (formats.h)
 * and the packed layout: plain -> packed when to_packed, else back.
 * Every byte of the row is copied exactly once (q8_0 quants with their
 * sign bit flipped). */
static void permute_row(DType t, const uint8_t *from, uint8_t *to, int64_t nb, int to_packed)
{
	int bpb = quant_block_bytes(t), qb = quant_bytes(t), hb = header_bytes(t);
	uint8_t flip = t == DT_Q8_0 ? 0x80 : 0;
	for (int64_t b0 = 0; b0 < nb;) {
		int g = pack_group_blocks(nb - b0);
		int64_t grp = b0 * bpb;   /* the group's first byte, in both layouts */
		for (int b = 0; b < g; b++) {
			int64_t blk = (b0 + b) * bpb;
			for (int c = 0; c < qb / 4; c++)
				for (int q = 0; q < 4; q++) {
					int64_t pl = blk + hb + 4 * c + q, pk = grp + 4 * g * c + 4 * b + q;
					if (to_packed)
						to[pk] = (uint8_t)(from[pl] ^ flip);
					else
						to[pl] = (uint8_t)(from[pk] ^ flip);
				}
			for (int f = 0; f < hb / 2; f++)
				for (int k = 0; k < 2; k++) {
					int64_t pl = blk + 2 * f + k, pk = grp + qb * g + 2 * g * f + 2 * b + k;
					if (to_packed)
						to[pk] = from[pl];
					else
						to[pl] = from[pk];
				}
		}
		b0 += g;
	}
}

/* A scratch row of plain blocks: on the stack for rows up to 16K values. */
enum { STACK_BYTES = 16384 / QUANT_BLOCK * QUANT_Q8_0_BYTES };

int pack_row(DType t, const float *x, int64_t K, void *out)
{
	if (!quant_is_blocked(t))
		return quant_quantize_row(t, x, K, out);
	int64_t bytes = quant_bytes_per_row(t, K);
	if (bytes < 0)
		return -1;
	uint8_t stack[STACK_BYTES];
	uint8_t *plain = bytes <= STACK_BYTES ? stack : malloc((size_t)bytes);
	if (!plain)
		return -1;
	int rc = quant_quantize_row(t, x, K, plain);
	if (!rc)
		permute_row(t, plain, out, K / QUANT_BLOCK, 1);
	if (plain != stack)
		free(plain);
	return rc;
}

int unpack_row(DType t, const void *in, int64_t K, float *out)
{
	if (!quant_is_blocked(t))
		return quant_dequantize_row(t, in, K, out);
	int64_t bytes = quant_bytes_per_row(t, K);
	if (bytes < 0)
		return -1;
	uint8_t stack[STACK_BYTES];
	uint8_t *plain = bytes <= STACK_BYTES ? stack : malloc((size_t)bytes);
	if (!plain)
		return -1;
	permute_row(t, in, plain, K / QUANT_BLOCK, 0);
	int rc = quant_dequantize_row(t, plain, K, out);
	if (plain != stack)
		free(plain);
	return rc;
}
