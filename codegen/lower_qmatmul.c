/*
 * lower_qmatmul.c — matmul kernels for the block formats (q8_0, q4_0,
 * q4_1): weights read in their packed layout (pack.c), activations
 * quantized to int8 blocks on the fly, int8 dot products.
 *
 * What they compute is quant_dot_ref (ir/formats.h) in binary32: each
 * activation row is quantized exactly as quant_act_row does (per block of
 * 32: d = max|x|/127, q = round-half-even(x * (127/max|x|)), sum of q),
 * each block's integer dot product is exact in int32, and the block terms
 * d_w d_a isum (q4_0: isum over (q - 8); q4_1: + m_w d_a sum_a) are summed
 * in f32.
 *
 * qmatmul_FMT_NxK(c, y, ldy, x, w, rows) runs in two steps on the pool:
 *   1. qact_K over rows: x [rows][K] floats -> c->qx, one scratch row of
 *      QROW bytes per row (group by group: the codes interleaved 4 bytes
 *      per block, then the blocks' f32 scales, then their i32 code sums);
 *   2. qmatmul_..._task over panel groups of output columns.
 *
 * Panels (the weight's rows in whole groups of 16, or 32 for the SwiGLU
 * pairs; pack_panels.c).  Lanes are output rows: step c of a block is one
 * load of 4 x lanes bytes (the panel rows' next four codes) and one dot
 * (vpdpbusd / sdot / the vpmaddubsw and NEON forms) with the activation's
 * four codes broadcast to every lane.  A tile is MR activation rows x NR
 * column-vectors of `lanes` rows (x2 parts for SwiGLU: the w1 and w3
 * panels): per block, MR x NR x parts i32 sums started at the activation's
 * -2^s sum_a, 8 steps of NR x parts loads, MR broadcasts and MR x NR x parts
 * dots, then per (row, vector) one conversion, one multiply by d_a and one
 * FMA with d_w (16 f16 scales, one conversion per vector; q4_1: one more
 * FMA, m_w d_a sum_a).  Each output lives in one lane of one f32
 * accumulator from the first block to the last: no horizontal sums, and
 * the blocks are added in order.  Prefill: weight blocks of q_block_floats
 * stay in L2 while every row tile passes (MR x NR, plan.c); leftover rows
 * and decode take 1 x q_decode_rows tiles, each weight byte streamed once,
 * the panel's blocks in order with a prefetch tiles.matmul.prefetch
 * bytes ahead.  On x86 with VNNI the 4 x 3 tile's block is 96 vpdpbusd to
 * 36 conversions, multiplies and FMAs and 3 vcvtph2ps.
 *
 * Rows (the N mod 16 or 32 rows after the last group, stored as plain
 * rows by pack.c): the earlier block-per-lane scheme.  A group of 16 blocks
 * is 8 steps of 64 bytes per row; at step s a vector holds bytes 4s..4s+3
 * of each block, one block per 32-bit lane, and DOT4 of a weight vector
 * and an activation vector loaded at the same offset adds 4 products into
 * each lane; per group one conversion, multiply and FMA per lane group,
 * and a horizontal sum per output at the end.  A machine whose dot
 * instruction is narrower (AVX2: 8 lanes, NEON: 4) takes a group in 2 or
 * 4 chunks; groups of 8 and 4 blocks use vectors of 8 / 4 lanes, single
 * blocks (at most 3 per row) a 4-lane dot summed into a scalar term.
 *
 * Operands: x86 multiplies unsigned by signed bytes (vpdpbusd), so q8_0
 * weights are stored + 128 and the kernel starts each block's sum at
 * -128 sum_a; q4_0 codes (0..15, value code - 8) start at -8 sum_a; q4_1
 * codes are used as they are and its minimum adds m_w (d_a sum_a).
 * aarch64's sdot multiplies signed bytes: q8_0 bytes get their 128 back
 * (a wrapping add) and q4 codes are small positive i8s.  x86 without
 * VNNI multiplies with vpmaddubsw, which sums two u8 x i8 products in a
 * saturating i16: exact for q4 codes (2 x 15 x 128 < 2^15), so they stay
 * unsigned, but not for q8_0's stored bytes (up to 255): q8_0 takes the
 * signed route there too, and the printer moves each weight's sign onto
 * the activation (vpsignb), |w| <= 128 times |a| <= 127 (loops.h).  q4
 * there sums its vpmaddubsw pairs in i16 lanes across a block's 8 steps
 * (vpaddw: 8 x 2 x 15 x 127 < 2^15) and widens once per block (vpmaddwd),
 * one 16-bit add per step instead of a widening multiply and a 32-bit add.
 *
 * The rows' f16 scales are decoded with integer operations (bits << 13,
 * sign kept, times 2^112: exact for every finite f16), which every target
 * has.
 *
 * Measured (350M shape, 2 threads, 2-vCPU Xeon sapphirerapids): prefill of
 * 512 tokens q8_0 647 -> ~870 tok/s, q4_0 646 -> ~855 moving from the
 * block-per-lane rows (whose per-output horizontal sums and per-group scale
 * decoding cost as much as the dots at K = 1024) to panels; decode stays at
 * the read bandwidth.
 */
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "pack.h"
#include "formats.h"


#define QACT_BLOCK_BYTES 40   /* per block in scratch: 32 codes, f32 d, i32 sum */
#define MAX_QT TILE_MAX_INT8  /* largest MR or NR */

/* Activation scratch bytes of one row of K values (64-aligned rows). */
static int64_t qact_row_bytes(int64_t K) { return (K / QUANT_BLOCK * QACT_BLOCK_BYTES + 63) / 64 * 64; }

/* Every block-format matrix weight of the graph counts (a plain or fused
 * matmul reads its rows of K; the embedding's K is the hidden size, which
 * some matmul has too), so no kernel can outgrow the region. */
int64_t qmatmul_scratch_floats(const Graph *g)
{
	int64_t most = 0;
	for (Ref r = 1; r < g->n_nodes; r++) {
		const Node *nd = &g->nodes[r];
		if (nd->op != OP_WEIGHT || nd->shape.ndim != 2 || !quant_is_blocked(g->weights[nd->aux].dtype))
			continue;
		int64_t b = qact_row_bytes(nd->shape.d[1]);
		most = b > most ? b : most;
	}
	return most / 4;
}

/* ------------------------------------------------------------ shared */

typedef struct QM {
	Lower *L;
	LModule *m;
	DType wt;
	int64_t N, K, nb;   /* nb blocks per row */
	int bpb, qb;        /* bytes per block; quant bytes per block (32 or 16) */
	int64_t rowb;       /* packed weight bytes per row */
	int nd;             /* lanes of the dot instruction */
	int sdot;           /* signed weight bytes, DOT4_S8: aarch64, and q8_0 on x86 without VNNI */
	int i16;            /* q4 on x86 without VNNI: products summed in i16 lanes over a block (DOT2_I16) */
	MatEpi epi;
	int64_t G, N0;      /* rows per panel group (16, 32 for pairs); rows in whole groups */
	int uid;            /* unique variable names */
	LE y, ldy, w, qx;   /* inside the task */
} QM;

/* p (a byte pointer) + off bytes, as a const pointer to k. */
static LE at_bytes(LModule *m, LE p, LE off, LKind k, int is_const)
{
	LE q = le_at(m, p, off);
	return le_ptr_cast(m, q, lt_ptr(k, is_const));
}

/* f16 bits (i16 x n) -> the f32 values: magnitude bits << 13 is the f32
 * with the exponent 112 too small (subnormal f16 included), times 2^112;
 * the sign bit lands at bit 31 by the sign extension and the mask. */
static LE f16_decode(LModule *m, LE h, int n)
{
	if (n == 1) {
		LE u = le_convert(m, h, lt_scalar(LK_U32));
		LE b = le_bin(m, LE_BAND, le_bin(m, LE_SHL, u, le_int(m, LK_U32, 13)), le_int(m, LK_U32, 0x8FFFE000u));
		return le_mul(m, le_bitcast(m, b, T_F32()), le_f32(m, 0x1p112));
	}
	LE v = le_convert(m, h, lt_vec(LK_I32, n));
	LE sh = le_bin(m, LE_SHL, v, le_splat(m, le_int(m, LK_I32, 13), n));
	LE b = le_bin(m, LE_BAND, sh, le_splat(m, le_int(m, LK_I32, (int32_t)0x8FFFE000u), n));
	return le_mul(m, le_bitcast(m, b, lt_vec(LK_F32, n)), le_splat(m, le_f32(m, 0x1p112), n));
}

/* acc + dot of 4-byte groups: weight bytes (u8 x 4n, as stored or
 * unpacked nibbles) with activation codes (i8 x 4n). */
static LE qdot(QM *q, LE acc, LE wv, LE av, int n)
{
	LModule *m = q->m;
	if (!q->sdot)   /* q8_0 stored + 128 (any byte), q4 codes 0..15 */
		return le_dot4_i8(m, acc, wv, av, q->wt == DT_Q8_0 ? 255 : 15);
	if (q->wt == DT_Q8_0)   /* stored q + 128: add 128 back (mod 256), read signed */
		wv = le_add(m, wv, le_splat(m, le_int(m, LK_U8, 128), 4 * n));
	return le_dot4_s8(m, acc, le_convert(m, wv, lt_vec(LK_I8, 4 * n)), av);
}

/* What each block's integer sum starts at: -128 sum_a (q8_0 on x86),
 * -8 sum_a (q4_0), or nothing. */
static int start_shift(const QM *q)
{
	if (q->wt == DT_Q4_0)
		return 3;
	if (q->wt == DT_Q8_0 && !q->sdot)
		return 7;
	return 0;
}

/* ------------------------------------------------------------ the tile
 * One chunk: lanes n (blocks c*n .. c*n+n-1) of a group of g blocks whose
 * weight bytes start at gw[j] and activation bytes at ga[r]; adds the
 * chunk's block terms into acc[r][j] (f32 x n). */
static void tile_chunk(QM *q, int MR, int NR, const LV *gw, const LV *ga, int g, int c, int n,
                       LV acc[MAX_QT][MAX_QT])
{
	Lower *L = q->L;
	LModule *m = q->m;
	int u = q->uid++;
	LType vi = lt_vec(LK_I32, n), vf = lt_vec(LK_F32, n);
	int64_t cofs = 4 * (int64_t)c * n;   /* the chunk's bytes within a step */
	int shift = start_shift(q);
	/* a small tile (decode) splits each block's chain of dots in two, so
	 * the loads of a row are not held up by one long dependency chain */
	int split = L->sch.q_split_k ? L->sch.q_split_k : MR * NR <= 2 ? 2 : 1;   /* tiles.int8.split_k */
	int64_t pf = MR == 1 ? L->sch.prefetch : 0;
	LV isum[MAX_QT][MAX_QT], isum2[MAX_QT][MAX_QT] = {{0}}, sum[MAX_QT];
	for (int r = 0; r < MR; r++) {
		sum[r] = lb_let(m, lm_fmt(m, "sa%d_%d", r, u), vi,
		                le_load(m, at_bytes(m, V(L, ga[r]), I(L, 36 * (int64_t)g + cofs), LK_I32, 1), n));
		LE start = shift ? le_neg(m, le_bin(m, LE_SHL, V(L, sum[r]), le_splat(m, le_int(m, LK_I32, shift), n)))
		                 : le_splat(m, le_int(m, LK_I32, 0), n);
		LV st = lb_let(m, lm_fmt(m, "st%d_%d", r, u), vi, start);
		for (int j = 0; j < NR; j++) {
			isum[r][j] = lb_let(m, lm_fmt(m, "is%d%d_%d", r, j, u), vi, V(L, st));
			if (split > 1)
				isum2[r][j] = lb_let(m, lm_fmt(m, "iz%d%d_%d", r, j, u), vi, le_splat(m, le_int(m, LK_I32, 0), n));
		}
	}
	/* q->i16: each chain sums its products in i16 lanes (at most 8 steps
	 * of 2 x 15 x 127 = 3810 per lane: 30480 < 2^15) and is widened into
	 * the block sums after the steps */
	LV h16[2][MAX_QT][MAX_QT];
	LType vh = lt_vec(LK_I16, 2 * n);
	int chains = split > 1 ? 2 : 1;   /* step k adds into chain k > 0, as acc_k below */
	if (q->i16)
		for (int k = 0; k < chains; k++)
			for (int r = 0; r < MR; r++)
				for (int j = 0; j < NR; j++)
					h16[k][r][j] = lb_let(m, lm_fmt(m, "h%d%d%s_%d", r, j, k ? "z" : "", u), vh,
					                      le_splat(m, le_int(m, LK_I16, 0), 2 * n));
	LType vb = lt_vec(LK_U8, 4 * n), va = lt_vec(LK_I8, 4 * n);
	/* the steps: a loop (the backend unrolls it where that pays); q8_0 loads 8
	 * weight vectors, q4 loads 4 and takes two steps from each */
	int nload = q->qb / 4, halves = q->wt == DT_Q8_0 ? 1 : 2;
	LV i = lm_local(m, lm_fmt(m, "st_%d", u), T_I64());
	lb_for(m, i, I(L, 0), I(L, nload), split);
	for (int k = 0; k < split; k++) {
		LV (*acc_k)[MAX_QT] = k ? isum2 : isum;
		LE wofs = le_add(m, le_mul(m, le_add(m, V(L, i), I(L, k)), I(L, 4 * (int64_t)g)), I(L, cofs));
		LE wv[MAX_QT][2];
		for (int j = 0; j < NR; j++) {
			LV bytes = lb_let(m, lm_fmt(m, "w%d_%d_%d", j, k, u), vb, le_load(m, le_at(m, V(L, gw[j]), wofs), 4 * n));
			if (pf)   /* decode: the row's bytes pf ahead are on their way */
				lb_prefetch(m, le_at(m, V(L, gw[j]), le_add(m, wofs, I(L, pf))));
			if (halves == 1) {
				wv[j][0] = V(L, bytes);
			} else {   /* q4: low nibbles are step i, high ones step i + 4 */
				wv[j][0] = V(L, lb_let(m, lm_fmt(m, "lo%d_%d_%d", j, k, u), vb,
				                       le_bin(m, LE_BAND, V(L, bytes), le_splat(m, le_int(m, LK_U8, 15), 4 * n))));
				wv[j][1] = V(L, lb_let(m, lm_fmt(m, "hi%d_%d_%d", j, k, u), vb,
				                       le_bin(m, LE_SHR, V(L, bytes), le_splat(m, le_int(m, LK_U8, 4), 4 * n))));
			}
		}
		for (int h = 0; h < halves; h++) {
			LE aofs = h ? le_add(m, wofs, I(L, 16 * (int64_t)g)) : wofs;
			for (int r = 0; r < MR; r++) {
				LV a = lb_let(m, lm_fmt(m, "a%d_%d_%d_%d", r, h, k, u), va, le_load(m, le_at(m, V(L, ga[r]), aofs), 4 * n));
				for (int j = 0; j < NR; j++)
					if (q->i16)
						lb_assign(m, h16[k > 0][r][j], le_dot2_i16(m, V(L, h16[k > 0][r][j]), wv[j][h], V(L, a), 15));
					else
						lb_assign(m, acc_k[r][j], qdot(q, V(L, acc_k[r][j]), wv[j][h], V(L, a), n));
			}
		}
	}
	lb_end(m);
	if (q->i16)
		for (int k = 0; k < chains; k++)
			for (int r = 0; r < MR; r++)
				for (int j = 0; j < NR; j++)
					lb_assign(m, k ? isum2[r][j] : isum[r][j],
					          le_pairs_i32(m, V(L, k ? isum2[r][j] : isum[r][j]), V(L, h16[k][r][j])));
	if (split > 1)
		for (int r = 0; r < MR; r++)
			for (int j = 0; j < NR; j++)
				lb_assign(m, isum[r][j], le_add(m, V(L, isum[r][j]), V(L, isum2[r][j])));
	/* the block terms */
	LV dw[MAX_QT], mw[MAX_QT] = {0}, da[MAX_QT], dsum[MAX_QT] = {0};
	for (int j = 0; j < NR; j++) {
		LE h = le_load(m, at_bytes(m, V(L, gw[j]), I(L, (int64_t)q->qb * g + 2 * (int64_t)c * n), LK_I16, 1), n);
		dw[j] = lb_let(m, lm_fmt(m, "dw%d_%d", j, u), vf, f16_decode(m, h, n));
		if (q->wt == DT_Q4_1) {
			LE hm = le_load(m, at_bytes(m, V(L, gw[j]), I(L, (int64_t)q->qb * g + 2 * (int64_t)g + 2 * (int64_t)c * n),
			                            LK_I16, 1), n);
			mw[j] = lb_let(m, lm_fmt(m, "mw%d_%d", j, u), vf, f16_decode(m, hm, n));
		}
	}
	for (int r = 0; r < MR; r++) {
		da[r] = lb_let(m, lm_fmt(m, "da%d_%d", r, u), vf,
		               le_load(m, at_bytes(m, V(L, ga[r]), I(L, 32 * (int64_t)g + cofs), LK_F32, 1), n));
		if (q->wt == DT_Q4_1)
			dsum[r] = lb_let(m, lm_fmt(m, "ds%d_%d", r, u), vf, le_mul(m, V(L, da[r]), le_convert(m, V(L, sum[r]), vf)));
	}
	for (int r = 0; r < MR; r++)
		for (int j = 0; j < NR; j++) {
			LE f = le_convert(m, V(L, isum[r][j]), vf);
			lb_assign(m, acc[r][j], le_fma(m, f, le_mul(m, V(L, dw[j]), V(L, da[r])), V(L, acc[r][j])));
			if (q->wt == DT_Q4_1)
				lb_assign(m, acc[r][j], le_fma(m, V(L, mw[j]), V(L, dsum[r]), V(L, acc[r][j])));
		}
}

/* One single block (a row's last 1..3 blocks) at weight bytes wb[j],
 * activation bytes ab[r]: its term added to the scalars s[r][j].  The
 * block's 32 values in element order, 4-lane dots of 16 bytes each. */
static void tile_single(QM *q, int MR, int NR, const LV *wb, const LV *ab, LV s[MAX_QT][MAX_QT])
{
	Lower *L = q->L;
	LModule *m = q->m;
	int u = q->uid++;
	LType vi = lt_vec(LK_I32, 4), vb = lt_vec(LK_U8, 16), va = lt_vec(LK_I8, 16);
	LV isum[MAX_QT][MAX_QT];
	for (int r = 0; r < MR; r++)
		for (int j = 0; j < NR; j++)
			isum[r][j] = lb_let(m, lm_fmt(m, "is%d%d_%d", r, j, u), vi, le_splat(m, le_int(m, LK_I32, 0), 4));
	for (int half = 0; half < 2; half++) {
		LE wv[MAX_QT];
		for (int j = 0; j < NR; j++) {
			if (q->wt == DT_Q8_0) {
				wv[j] = le_load(m, le_at(m, V(L, wb[j]), I(L, 16 * (int64_t)half)), 16);
			} else {   /* bytes 0..15: elements 0..15 low, 16..31 high */
				LE bytes = le_load(m, V(L, wb[j]), 16);
				wv[j] = half ? le_bin(m, LE_SHR, bytes, le_splat(m, le_int(m, LK_U8, 4), 16))
				             : le_bin(m, LE_BAND, bytes, le_splat(m, le_int(m, LK_U8, 15), 16));
			}
			wv[j] = V(L, lb_let(m, lm_fmt(m, "w%d_%d_%d", j, half, u), vb, wv[j]));
		}
		for (int r = 0; r < MR; r++) {
			LV a = lb_let(m, lm_fmt(m, "a%d_%d_%d", r, half, u), va,
			              le_load(m, le_at(m, V(L, ab[r]), I(L, 16 * (int64_t)half)), 16));
			for (int j = 0; j < NR; j++)
				lb_assign(m, isum[r][j], qdot(q, V(L, isum[r][j]), wv[j], V(L, a), 4));
		}
	}
	int shift = start_shift(q);
	for (int r = 0; r < MR; r++) {
		LE sa = le_load(m, at_bytes(m, V(L, ab[r]), I(L, 36), LK_I32, 1), 1);
		LV sum = lb_let(m, lm_fmt(m, "sa%d_%d", r, u), T_I32(), sa);
		LV da = lb_let(m, lm_fmt(m, "da%d_%d", r, u), T_F32(), le_load(m, at_bytes(m, V(L, ab[r]), I(L, 32), LK_F32, 1), 1));
		for (int j = 0; j < NR; j++) {
			LE dwh = le_load(m, at_bytes(m, V(L, wb[j]), I(L, q->qb), LK_I16, 1), 1);
			LE isum_s = le_reduce_add(m, V(L, isum[r][j]));
			if (shift)
				isum_s = le_sub(m, isum_s, le_mul(m, V(L, sum), le_int(m, LK_I32, 1 << shift)));
			LE term = le_mul(m, le_convert(m, isum_s, T_F32()), le_mul(m, f16_decode(m, dwh, 1), V(L, da)));
			lb_assign(m, s[r][j], le_add(m, V(L, s[r][j]), term));
			if (q->wt == DT_Q4_1) {
				LE mh = le_load(m, at_bytes(m, V(L, wb[j]), I(L, q->qb + 2), LK_I16, 1), 1);
				LE ds = le_mul(m, V(L, da), le_convert(m, V(L, sum), T_F32()));
				lb_assign(m, s[r][j], le_add(m, V(L, s[r][j]), le_mul(m, f16_decode(m, mh, 1), ds)));
			}
		}
	}
}

/* The dot products of MR activation rows ar[] with NR weight rows wr[],
 * over all blocks of the row, added into the scalars s[r][j]. */
static void qtile_sums(QM *q, int MR, int NR, const LV *wr, const LV *ar, LV s[MAX_QT][MAX_QT])
{
	Lower *L = q->L;
	LModule *m = q->m;
	int u = q->uid++;
	int64_t nfull = q->nb / 16;
	LType pb = lt_ptr(LK_U8, 1), pa = lt_ptr(LK_I8, 1);
	if (nfull) {   /* the groups of 16, in a loop */
		LV acc[MAX_QT][MAX_QT], gw[MAX_QT], ga[MAX_QT];
		for (int r = 0; r < MR; r++)
			for (int j = 0; j < NR; j++)
				acc[r][j] = lb_let(m, lm_fmt(m, "acc%d%d_%d", r, j, u), lt_vec(LK_F32, q->nd),
				                   le_splat(m, le_f32(m, 0), q->nd));
		LV gi = lm_local(m, lm_fmt(m, "gi_%d", u), T_I64());
		lb_for(m, gi, I(L, 0), I(L, nfull), 1);
		for (int j = 0; j < NR; j++)
			gw[j] = lb_let(m, lm_fmt(m, "gw%d_%d", j, u), pb,
			               le_at(m, V(L, wr[j]), le_mul(m, V(L, gi), I(L, 16 * (int64_t)q->bpb))));
		for (int r = 0; r < MR; r++)
			ga[r] = lb_let(m, lm_fmt(m, "ga%d_%d", r, u), pa,
			               le_at(m, V(L, ar[r]), le_mul(m, V(L, gi), I(L, 16 * QACT_BLOCK_BYTES))));
		for (int c = 0; c < 16 / q->nd; c++)
			tile_chunk(q, MR, NR, gw, ga, 16, c, q->nd, acc);
		lb_end(m);
		for (int r = 0; r < MR; r++)
			for (int j = 0; j < NR; j++)
				lb_assign(m, s[r][j], le_reduce_add(m, V(L, acc[r][j])));
	}
	/* the row's last groups: 8, 4 or single blocks */
	for (int64_t b0 = nfull * 16; b0 < q->nb;) {
		int g = pack_group_blocks(q->nb - b0);
		int v = q->uid++;
		LV gw[MAX_QT], ga[MAX_QT];
		for (int j = 0; j < NR; j++)
			gw[j] = lb_let(m, lm_fmt(m, "gw%d_%d", j, v), pb, le_at(m, V(L, wr[j]), I(L, b0 * q->bpb)));
		for (int r = 0; r < MR; r++)
			ga[r] = lb_let(m, lm_fmt(m, "ga%d_%d", r, v), pa, le_at(m, V(L, ar[r]), I(L, b0 * QACT_BLOCK_BYTES)));
		if (g == 1) {
			tile_single(q, MR, NR, gw, ga, s);
		} else {
			int n = g < q->nd ? g : q->nd;
			LV acc[MAX_QT][MAX_QT];
			for (int r = 0; r < MR; r++)
				for (int j = 0; j < NR; j++)
					acc[r][j] = lb_let(m, lm_fmt(m, "acc%d%d_%d", r, j, v), lt_vec(LK_F32, n),
					                   le_splat(m, le_f32(m, 0), n));
			for (int c = 0; c < g / n; c++)
				tile_chunk(q, MR, NR, gw, ga, g, c, n, acc);
			for (int r = 0; r < MR; r++)
				for (int j = 0; j < NR; j++)
					lb_assign(m, s[r][j], le_add(m, V(L, s[r][j]), le_reduce_add(m, V(L, acc[r][j]))));
		}
		b0 += g;
	}
}

/* Weight rows the decode tile reads one after the other rather than
 * interleaved (Tiling.q_sequential, tiles.int8.sequential): the SwiGLU
 * pair (w1 row, w3 row) is two 1 x 1 dot products in sequence, one
 * stream at a time like the plain GEMV. */

/* An MR x NR tile at rows t.., columns n..: all blocks of the row, then
 * the results through mm_store. */
static void qtile(QM *q, int MR, int NR, LE t, LE n)
{
	Lower *L = q->L;
	LModule *m = q->m;
	int u = q->uid++;
	int64_t qrow = qact_row_bytes(q->K);
	LType pb = lt_ptr(LK_U8, 1), pa = lt_ptr(LK_I8, 1);
	LV wr[MAX_QT] = {0}, ar[MAX_QT] = {0}, s[MAX_QT][MAX_QT];
	for (int j = 0; j < NR; j++)
		wr[j] = lb_let(m, lm_fmt(m, "wr%d_%d", j, u), pb,
		               le_at(m, q->w, le_mul(m, le_add(m, n, I(L, j)), I(L, q->rowb))));
	for (int r = 0; r < MR; r++)
		ar[r] = lb_let(m, lm_fmt(m, "ar%d_%d", r, u), pa,
		               le_ptr_cast(m, le_at(m, q->qx, le_mul(m, le_add(m, t, I(L, r)), I(L, qrow))), pa));
	for (int r = 0; r < MR; r++)
		for (int j = 0; j < NR; j++)
			s[r][j] = lb_let(m, lm_fmt(m, "s%d%d_%d", r, j, u), T_F32(), le_f32(m, 0));
	if (MR == 1 && NR > 1 && L->sch.q_sequential) {
		for (int j = 0; j < NR; j++) {
			LV sj[MAX_QT][MAX_QT] = {{s[0][j]}};
			qtile_sums(q, 1, 1, &wr[j], ar, sj);
		}
	} else {
		qtile_sums(q, MR, NR, wr, ar, s);
	}
	for (int r = 0; r < MR; r++) {
		LE row = le_mul(m, le_add(m, t, I(L, r)), q->ldy);
		LE col = q->epi == EPI_SWIGLU ? le_div(m, n, I(L, 2)) : n;
		LE vals[MAX_QT];
		for (int j = 0; j < NR; j++)
			vals[j] = V(L, s[r][j]);
		mm_store(L, q->epi, le_at(m, q->y, le_add(m, row, col)), vals, NR);
	}
}

/* Columns [nb, ne) of rows t.. in tiles of NR, then one at a time (pairs
 * for EPI_SWIGLU). */
static void qcolumns(QM *q, int MR, int NR, LE t, LE nb, LE ne)
{
	Lower *L = q->L;
	LModule *m = q->m;
	LV n = lb_let(m, "n", T_I64(), nb);
	lb_for(m, n, 0, le_sub(m, ne, I(L, NR - 1)), NR);
	qtile(q, MR, NR, t, V(L, n));
	lb_end(m);
	int one = q->epi == EPI_SWIGLU ? 2 : 1;
	if (NR > one) {
		lb_for(m, n, 0, ne, one);
		qtile(q, MR, one, t, V(L, n));
		lb_end(m);
	}
}

/* ------------------------------------------------------------ panels
 * The weight's rows [0, N0) are stored in panels of P = PACK_PANEL rows,
 * block by block (pack_panels.c): step c of block b of a panel is the 4P
 * bytes of the P rows' chunk c, so a vector of 4 x lanes bytes holds
 * `lanes` rows' next four codes and a dot with the activation's matching
 * four codes broadcast to every lane adds four products into each row's
 * lane.  Lanes are output rows: a block's integer sums come out for P
 * rows at once, its scales are P consecutive f16 (one vector), and each
 * output ends in one lane of one f32 accumulator — no horizontal sums.
 *
 * A tile is MR activation rows x NR column-vectors (`lanes` weight rows
 * each; with pairs, the SwiGLU weight, each column-vector has the w1 part
 * and the w3 part in two panels).  Per block: the sums start at the
 * activation's -2^s sum_a (q4_0, x86's q8_0), then per step NR x parts
 * weight loads (q4: one load, two steps of nibbles), MR broadcasts, MR x NR
 * x parts dots; then per (row, vector) one conversion, one multiply by
 * d_a, one FMA with d_w (q4_1: one more FMA, m_w d_a sum_a).  Blocks are
 * summed in order, one f32 FMA each, like quant_dot_ref.
 */

/* The pointer to block 0 of column-vector `cv` (a runtime index), part
 * `part` (1: the w3 panel of a pair group), in panel units: the panel's
 * first byte plus the vector's lanes (quants: 4 bytes a lane). */
static LE panel_ptr(QM *q, LE cv, int part)
{
	Lower *L = q->L;
	LModule *m = q->m;
	int vpp = PACK_PANEL / q->nd;
	LE unit = le_div(m, cv, I(L, vpp)), vv = le_bin(m, LE_REM, cv, I(L, vpp));
	LE off = le_add(m, le_mul(m, unit, I(L, q->G * q->rowb)), I(L, (int64_t)part * PACK_PANEL * q->rowb));
	return le_at(m, q->w, le_add(m, off, le_mul(m, vv, I(L, 4 * (int64_t)q->nd))));
}

/* One block of a tile: weight block at byte offset wofs from each wp[v][p]
 * (whose scales are qb * P bytes further, minus the lane offset 4 nd vv,
 * plus 2 nd vv: held in sofs[v]), activation block bb of the group of g at
 * ga[r]; its terms added into acc[r][v][p]. */
static void panel_block(QM *q, int MR, int NR, int parts, LV wp[][2], LE *sofs, const LV *ga, int g, LE bb,
                        LE wofs, LV acc[][MAX_QT][2])
{
	Lower *L = q->L;
	LModule *m = q->m;
	int u = q->uid++, n = q->nd;
	LType vi = lt_vec(LK_I32, n), vf = lt_vec(LK_F32, n), vb = lt_vec(LK_U8, 4 * n), va = lt_vec(LK_I8, 4 * n);
	LType vh = lt_vec(LK_I16, 2 * n);
	int shift = start_shift(q);
	int64_t pf = MR == 1 ? L->sch.prefetch : 0;
	LV sum[MAX_QT], isum[MAX_QT][MAX_QT][2], h16[MAX_QT][MAX_QT][2];
	for (int r = 0; r < MR; r++) {
		LE sa = le_load(m, le_at(m, at_bytes(m, V(L, ga[r]), I(L, 36 * (int64_t)g), LK_I32, 1), bb), 1);
		sum[r] = lb_let(m, lm_fmt(m, "sa%d_%d", r, u), T_I32(), sa);
		/* -2^s sum_a as a product: a left shift of a negative sum is
		 * undefined in C (|sum_a| <= 32 x 127, so no overflow) */
		LE start = shift ? le_splat(m, le_mul(m, V(L, sum[r]), le_int(m, LK_I32, -(1 << shift))), n)
		                 : le_splat(m, le_int(m, LK_I32, 0), n);
		LV st = lb_let(m, lm_fmt(m, "st%d_%d", r, u), vi, start);
		for (int v = 0; v < NR; v++)
			for (int p = 0; p < parts; p++) {
				isum[r][v][p] = lb_let(m, lm_fmt(m, "is%d%d%d_%d", r, v, p, u), vi, V(L, st));
				if (q->i16)
					h16[r][v][p] = lb_let(m, lm_fmt(m, "h%d%d%d_%d", r, v, p, u), vh,
					                      le_splat(m, le_int(m, LK_I16, 0), 2 * n));
			}
	}
	/* the activation's chunk k of block bb: 4 codes, in every lane */
#define ACT(r, k) le_bitcast(m, le_splat(m, le_load(m, at_bytes(m, V(L, ga[r]), \
	le_add(m, I(L, 4 * (int64_t)g * (k)), le_mul(m, bb, I(L, 4))), LK_I32, 1), 1), n), va)
	int nload = q->qb / 4, halves = q->wt == DT_Q8_0 ? 1 : 2;
	for (int c = 0; c < nload; c++) {
		LE wv[MAX_QT][2][2];
		for (int v = 0; v < NR; v++)
			for (int p = 0; p < parts; p++) {
				LE at = le_at(m, V(L, wp[v][p]), le_add(m, wofs, I(L, 4 * (int64_t)PACK_PANEL * c)));
				LV bytes = lb_let(m, lm_fmt(m, "w%d%d_%d_%d", v, p, c, u), vb, le_load(m, at, 4 * n));
				if (pf && c == 0)
					lb_prefetch(m, le_at(m, at, I(L, pf)));
				if (halves == 1) {
					wv[v][p][0] = V(L, bytes);
				} else {   /* q4: low nibbles are elements 4c.., high ones 16 + 4c.. */
					wv[v][p][0] = V(L, lb_let(m, lm_fmt(m, "lo%d%d_%d_%d", v, p, c, u), vb,
					                          le_bin(m, LE_BAND, V(L, bytes), le_splat(m, le_int(m, LK_U8, 15), 4 * n))));
					wv[v][p][1] = V(L, lb_let(m, lm_fmt(m, "hi%d%d_%d_%d", v, p, c, u), vb,
					                          le_bin(m, LE_SHR, V(L, bytes), le_splat(m, le_int(m, LK_U8, 4), 4 * n))));
				}
			}
		for (int h = 0; h < halves; h++)
			for (int r = 0; r < MR; r++) {
				LV a = lb_let(m, lm_fmt(m, "a%d_%d_%d_%d", r, h, c, u), va, ACT(r, c + 4 * h));
				for (int v = 0; v < NR; v++)
					for (int p = 0; p < parts; p++)
						if (q->i16)
							lb_assign(m, h16[r][v][p], le_dot2_i16(m, V(L, h16[r][v][p]), wv[v][p][h], V(L, a), 15));
						else
							lb_assign(m, isum[r][v][p], qdot(q, V(L, isum[r][v][p]), wv[v][p][h], V(L, a), n));
			}
	}
#undef ACT
	if (q->i16)
		for (int r = 0; r < MR; r++)
			for (int v = 0; v < NR; v++)
				for (int p = 0; p < parts; p++)
					lb_assign(m, isum[r][v][p], le_pairs_i32(m, V(L, isum[r][v][p]), V(L, h16[r][v][p])));
	/* the block terms */
	LV dw[MAX_QT][2], mw[MAX_QT][2];
	for (int v = 0; v < NR; v++)
		for (int p = 0; p < parts; p++) {
			LE sp = le_at(m, V(L, wp[v][p]), le_add(m, wofs, sofs[v]));
			/* P consecutive f16: one conversion (vcvtph2ps where the target has it) */
			dw[v][p] = lb_let(m, lm_fmt(m, "dw%d%d_%d", v, p, u), vf,
			                  le_convert(m, le_load(m, le_ptr_cast(m, sp, lt_ptr(LK_F16, 1)), n), vf));
			if (q->wt == DT_Q4_1)
				mw[v][p] = lb_let(m, lm_fmt(m, "mw%d%d_%d", v, p, u), vf,
				                  le_convert(m, le_load(m, le_ptr_cast(m, le_at(m, sp, I(L, 2 * PACK_PANEL)),
				                                                      lt_ptr(LK_F16, 1)), n), vf));
		}
	for (int r = 0; r < MR; r++) {
		LE dap = le_at(m, at_bytes(m, V(L, ga[r]), I(L, 32 * (int64_t)g), LK_F32, 1), bb);
		LV da = lb_let(m, lm_fmt(m, "da%d_%d", r, u), T_F32(), le_load(m, dap, 1));
		LV das = lb_let(m, lm_fmt(m, "das%d_%d", r, u), vf, le_splat(m, V(L, da), n));
		LV ds = 0;
		if (q->wt == DT_Q4_1)
			ds = lb_let(m, lm_fmt(m, "ds%d_%d", r, u), vf,
			            le_splat(m, le_mul(m, V(L, da), le_convert(m, V(L, sum[r]), T_F32())), n));
		for (int v = 0; v < NR; v++)
			for (int p = 0; p < parts; p++) {
				LE f = le_convert(m, V(L, isum[r][v][p]), vf);
				lb_assign(m, acc[r][v][p], le_fma(m, f, le_mul(m, V(L, dw[v][p]), V(L, das)), V(L, acc[r][v][p])));
				if (q->wt == DT_Q4_1)
					lb_assign(m, acc[r][v][p], le_fma(m, V(L, mw[v][p]), V(L, ds), V(L, acc[r][v][p])));
			}
	}
}

/* An MR x NR tile of column-vectors cv.. (runtime) at activation rows t..:
 * every block of K, then the outputs stored (pairs: silu(a) * b). */
static void panel_tile(QM *q, int MR, int NR, LE t, LE cv)
{
	Lower *L = q->L;
	LModule *m = q->m;
	int u = q->uid++, n = q->nd, parts = q->epi == EPI_SWIGLU ? 2 : 1;
	int64_t qrow = qact_row_bytes(q->K), pblk = (int64_t)PACK_PANEL * q->bpb;
	LType pb = lt_ptr(LK_U8, 1), pa = lt_ptr(LK_I8, 1), vf = lt_vec(LK_F32, n);
	lb_comment(m, "tile %dx%d%s", MR, NR, parts > 1 ? " (w1, w3 pairs)" : "");
	LV wp[MAX_QT][2], ar[MAX_QT], acc[MAX_QT][MAX_QT][2];
	LE sofs[MAX_QT];
	int vpp = PACK_PANEL / n;
	for (int v = 0; v < NR; v++) {
		LV cvv = lb_let(m, lm_fmt(m, "cv%d_%d", v, u), T_I64(), le_add(m, cv, I(L, v)));
		for (int p = 0; p < parts; p++)
			wp[v][p] = lb_let(m, lm_fmt(m, "wp%d%d_%d", v, p, u), pb, panel_ptr(q, V(L, cvv), p));
		/* from the lane-shifted quants pointer to the vector's scales */
		LE vv = le_bin(m, LE_REM, V(L, cvv), I(L, vpp));
		sofs[v] = V(L, lb_let(m, lm_fmt(m, "so%d_%d", v, u), T_I64(),
		                      le_add(m, I(L, (int64_t)PACK_PANEL * q->qb), le_mul(m, vv, I(L, -2 * (int64_t)n)))));
	}
	for (int r = 0; r < MR; r++)
		ar[r] = lb_let(m, lm_fmt(m, "ar%d_%d", r, u), pa,
		               le_ptr_cast(m, le_at(m, q->qx, le_mul(m, le_add(m, t, I(L, r)), I(L, qrow))), pa));
	for (int r = 0; r < MR; r++)
		for (int v = 0; v < NR; v++)
			for (int p = 0; p < parts; p++)
				acc[r][v][p] = lb_let(m, lm_fmt(m, "acc%d%d%d_%d", r, v, p, u), vf, le_splat(m, le_f32(m, 0), n));
	int64_t nfull = q->nb / 16;
	if (nfull) {   /* the groups of 16 blocks, and their blocks, in loops */
		LV gi = lm_local(m, lm_fmt(m, "gi_%d", u), T_I64());
		lb_for(m, gi, I(L, 0), I(L, nfull), 1);
		LV ga[MAX_QT];
		for (int r = 0; r < MR; r++)
			ga[r] = lb_let(m, lm_fmt(m, "ga%d_%d", r, u), pa,
			               le_at(m, V(L, ar[r]), le_mul(m, V(L, gi), I(L, 16 * QACT_BLOCK_BYTES))));
		LV bb = lm_local(m, lm_fmt(m, "bb_%d", u), T_I64());
		lb_for(m, bb, I(L, 0), I(L, 16), 1);
		LE wofs = le_mul(m, le_add(m, le_mul(m, V(L, gi), I(L, 16)), V(L, bb)), I(L, pblk));
		LV wo = lb_let(m, lm_fmt(m, "wo_%d", u), T_I64(), wofs);
		panel_block(q, MR, NR, parts, wp, sofs, ga, 16, V(L, bb), V(L, wo), acc);
		lb_end(m);
		lb_end(m);
	}
	for (int64_t b0 = nfull * 16; b0 < q->nb;) {   /* the row's last groups: 8, 4 or single blocks */
		int g = pack_group_blocks(q->nb - b0);
		int v = q->uid++;
		LV ga[MAX_QT];
		for (int r = 0; r < MR; r++)
			ga[r] = lb_let(m, lm_fmt(m, "ga%d_%d", r, v), pa, le_at(m, V(L, ar[r]), I(L, b0 * QACT_BLOCK_BYTES)));
		LV bb = lm_local(m, lm_fmt(m, "bb_%d", v), T_I64());
		lb_for(m, bb, I(L, 0), I(L, g), 1);
		LV wo = lb_let(m, lm_fmt(m, "wo_%d", v), T_I64(), le_mul(m, le_add(m, I(L, b0), V(L, bb)), I(L, pblk)));
		panel_block(q, MR, NR, parts, wp, sofs, ga, g, V(L, bb), V(L, wo), acc);
		lb_end(m);
		b0 += g;
	}
	/* the stores: column-vector cv holds outputs cv * lanes .. (pairs too:
	 * a pair group of 2P rows makes P outputs) */
	for (int r = 0; r < MR; r++)
		for (int v = 0; v < NR; v++) {
			LE row = le_mul(m, le_add(m, t, I(L, r)), q->ldy);
			LE at = le_at(m, q->y, le_add(m, row, le_mul(m, le_add(m, cv, I(L, v)), I(L, n))));
			LE a = V(L, acc[r][v][0]);
			if (parts == 2) {
				LE one = le_splat(m, le_f32(m, 1), n);
				LE den = le_add(m, one, lower_exp(L, le_neg(m, a), n));
				lb_store(m, at, le_div(m, le_mul(m, a, V(L, acc[r][v][1])), den));
			} else if (q->epi == EPI_ACC) {
				lb_store(m, at, le_add(m, le_load(m, at, n), a));
			} else {
				lb_store(m, at, a);
			}
		}
}

/* Column-vectors [cb, ce) of rows t.. in tiles of NR, then one at a time. */
static void panel_columns(QM *q, int MR, int NR, LE t, LE cb, LE ce)
{
	Lower *L = q->L;
	LModule *m = q->m;
	LV c = lb_let(m, "cv", T_I64(), cb);
	lb_for(m, c, 0, le_sub(m, ce, I(L, NR - 1)), NR);
	panel_tile(q, MR, NR, t, V(L, c));
	lb_end(m);
	if (NR > 1) {
		lb_for(m, c, 0, ce, 1);
		panel_tile(q, MR, 1, t, V(L, c));
		lb_end(m);
	}
}

/* ------------------------------------------------------------ activations
 * qact_K(arg, i0, i1): rows [i0, i1) of a->x quantized into a->qx. */

static LStr qmatmul_args(Lower *L)
{
	LModule *m = L->m;
	for (LStr s = 1; s < m->nst; s++)
		if (!strcmp(m->st[s].name, "qmatmul_args"))
			return s;
	LStr s = lm_struct(m, "qmatmul_args", "Arguments of the int8 matmul tasks.", 0);
	lm_field(m, s, "y", T_PF(), NULL);
	lm_field(m, s, "ldy", T_I64(), NULL);
	lm_field(m, s, "x", T_CPF(), NULL);
	lm_field(m, s, "w", lt_ptr(LK_U8, 1), "packed weight rows");
	lm_field(m, s, "rows", T_I64(), NULL);
	lm_field(m, s, "qx", lt_ptr(LK_U8, 0), "quantized activation rows");
	return s;
}

/* Blocks b in [0, g) of one group: x at xg (floats), codes at qg. */
static void qact_group(Lower *L, LV tmp, LE xg, LE qg, int64_t g)
{
	LModule *m = L->m;
	LV b = lm_local(m, "b", T_I64());
	lb_for(m, b, I(L, 0), I(L, g), 1);
	LV xb = lb_let(m, "xb", T_CPF(), le_at(m, xg, le_mul(m, V(L, b), I(L, QUANT_BLOCK))));
	LType v8 = lt_vec(LK_F32, 8), i4 = lt_vec(LK_I32, 4);
	LE mx = 0;
	for (int k = 0; k < 4; k++) {   /* |x|: the sign bit cleared (-0 becomes +0, as fabsf) */
		LE bits = le_bitcast(m, le_load(m, le_at(m, V(L, xb), I(L, 8 * k)), 8), lt_vec(LK_I32, 8));
		LE mag = le_bin(m, LE_BAND, bits, le_splat(m, le_int(m, LK_I32, 0x7fffffff), 8));
		LV a = lb_let(m, lm_fmt(m, "ax%d", k), v8, le_bitcast(m, mag, v8));
		mx = mx ? le_bin(m, LE_MAX, mx, V(L, a)) : V(L, a);
	}
	lb_store(m, le_addr(m, tmp), mx);
	LE amax = le_load(m, le_addr(m, tmp), 1);
	for (int k = 1; k < 8; k++)
		amax = le_bin(m, LE_MAX, amax, le_load(m, le_at(m, le_addr(m, tmp), I(L, k)), 1));
	LV am = lb_let(m, "amax", T_F32(), amax);
	LE pos = le_bin(m, LE_LT, le_f32(m, 0), V(L, am));
	LE den = le_select(m, pos, V(L, am), le_f32(m, 1));
	LV id = lb_let(m, "id", T_F32(), le_select(m, pos, le_div(m, le_f32(m, 127), den), le_f32(m, 0)));
	LV sum = lb_let(m, "qsum", i4, le_splat(m, le_int(m, LK_I32, 0), 4));
	for (int s = 0; s < 8; s++) {
		LE xv = le_load(m, le_at(m, V(L, xb), I(L, 4 * s)), 4);
		LV qv = lb_let(m, lm_fmt(m, "q%d", s), i4,
		               le_convert(m, le_round(m, le_mul(m, xv, le_splat(m, V(L, id), 4))), i4));
		lb_assign(m, sum, le_add(m, V(L, sum), V(L, qv)));
		LE at = le_at(m, qg, le_add(m, I(L, 4 * g * s), le_mul(m, V(L, b), I(L, 4))));
		lb_store(m, le_ptr_cast(m, at, lt_ptr(LK_I8, 0)), le_convert(m, V(L, qv), lt_vec(LK_I8, 4)));
	}
	lb_store(m, le_at(m, at_bytes(m, qg, I(L, 32 * g), LK_F32, 0), V(L, b)), le_div(m, V(L, am), le_f32(m, 127)));
	lb_store(m, le_at(m, at_bytes(m, qg, I(L, 36 * g), LK_I32, 0), V(L, b)), le_reduce_add(m, V(L, sum)));
	lb_end(m);
}

static LF kernel_qact(Lower *L, int64_t K)
{
	LModule *m = L->m;
	const char *name = lm_fmt(m, "qact_%lld", (long long)K);
	int64_t nb = K / QUANT_BLOCK, qrow = qact_row_bytes(K);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "Rows [i0, i1) of x [rows][%lld] quantized to int8 blocks of 32 (quant_act_row):\n"
	                   "d = max|x|/127, q = round-half-even(x * (127/max|x|)); row r at qx + r*%lld bytes,\n"
	                   "groups of 16/8/4/1 blocks: codes interleaved 4 bytes per block, f32 d[], i32 sum[].",
	                   (long long)K, (long long)qrow), &fresh);
	if (!fresh)
		return f;
	LV arg = lm_param(m, f, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, f, "i0", T_I64());
	LV i1 = lm_param(m, f, "i1", T_I64());
	lm_param(m, f, "worker", T_I32());
	lb_begin(m, f);
	LStr st = qmatmul_args(L);
	LV a = lb_let(m, "a", lt_struct_ptr(st, 1), le_ptr_cast(m, V(L, arg), lt_struct_ptr(st, 1)));
	LV tmp = lm_array(m, "lanes", T_F32(), 8);
	LV t = lm_local(m, "t", T_I64());
	lb_for(m, t, V(L, i0), V(L, i1), 1);
	LV xr = lb_let(m, "xr", T_CPF(), le_at(m, le_field(m, V(L, a), "x"), le_mul(m, V(L, t), I(L, K))));
	LV qr = lb_let(m, "qr", lt_ptr(LK_U8, 0), le_at(m, le_field(m, V(L, a), "qx"), le_mul(m, V(L, t), I(L, qrow))));
	int64_t nfull = nb / 16;
	if (nfull) {
		LV gi = lm_local(m, "gi", T_I64());
		lb_for(m, gi, I(L, 0), I(L, nfull), 1);
		qact_group(L, tmp, le_at(m, V(L, xr), le_mul(m, V(L, gi), I(L, 16 * QUANT_BLOCK))),
		           le_at(m, V(L, qr), le_mul(m, V(L, gi), I(L, 16 * QACT_BLOCK_BYTES))), 16);
		lb_end(m);
	}
	for (int64_t b0 = nfull * 16; b0 < nb;) {
		int g = pack_group_blocks(nb - b0);
		qact_group(L, tmp, le_at(m, V(L, xr), I(L, b0 * QUANT_BLOCK)), le_at(m, V(L, qr), I(L, b0 * QACT_BLOCK_BYTES)), g);
		b0 += g;
	}
	lb_end(m);
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------ the kernel */

LF kernel_qmatmul(Lower *L, DType wt, int64_t N, int64_t K, MatEpi epi)
{
	LModule *m = L->m;
	const Tiling *s = &L->sch;
	if (!quant_is_blocked(wt) || K % QUANT_BLOCK || K <= 0 || N <= 0) {
		lfm_error(L->err, NULL, "lowering: no matmul kernel for %s weights of %lld x %lld", dtype_name(wt),
		          (long long)N, (long long)K);
		return 0;
	}
	if (L->g && qact_row_bytes(K) > qmatmul_scratch_floats(L->g) * 4) {   /* lower.c sized c->qx by it */
		lfm_error(L->err, NULL, "lowering: a %s matmul with rows of %lld has no int8 activation scratch "
		          "(its weight is not a graph weight?)", dtype_name(wt), (long long)K);
		return 0;
	}
	static const char *const epi_suffix[] = {"", "_acc", "_swiglu"};
	const char *name = lm_fmt(m, "qmatmul_%s_%lldx%lld%s", dtype_name(wt), (long long)N, (long long)K, epi_suffix[epi]);
	LF f = lm_find_func(m, name);
	if (f)
		return f;
	QM q;
	memset(&q, 0, sizeof q);
	q.L = L;
	q.m = m;
	q.wt = wt;
	q.N = N;
	q.K = K;
	q.nb = K / QUANT_BLOCK;
	q.bpb = quant_block_bytes(wt);
	q.qb = wt == DT_Q8_0 ? 32 : 16;
	q.rowb = quant_bytes_per_row(wt, K);
	q.nd = s->q_lanes == 4 || s->q_lanes == 8 || s->q_lanes == 16 ? s->q_lanes : 4;
	q.sdot = L->t->arch == ARCH_AARCH64 || (wt == DT_Q8_0 && !(L->t->feat & (TF_AVX512VNNI | TF_AVXVNNI)));
	q.i16 = L->t->arch == ARCH_X86_64 && wt != DT_Q8_0 && (L->t->feat & TF_AVX2)
	        && !(L->t->feat & (TF_AVX512VNNI | TF_AVXVNNI)) && (q.nd < 16 || (L->t->feat & TF_AVX512));
	q.epi = epi;
	int parts = epi == EPI_SWIGLU ? 2 : 1, vpp = PACK_PANEL / q.nd;
	q.G = (int64_t)PACK_PANEL * parts;
	q.N0 = N / q.G * q.G;
	/* the panel tile: MR rows x NR column-vectors (x parts), within the
	 * registers (plan.c's rule, here with the pairs' second part) */
	int MR = s->q_mr < MAX_QT ? s->q_mr : MAX_QT, NR = s->q_nr < MAX_QT ? s->q_nr : MAX_QT;
	int DNR = s->q_decode_rows >= 1 && s->q_decode_rows <= MAX_QT ? s->q_decode_rows : 1;
	int regs = L->t->vector_regs > 0 ? L->t->vector_regs : 16;
	while (NR > 1 && (2 + q.i16) * MR * NR * parts + NR * parts + 1 > regs)
		NR--;
	while (MR > 1 && (2 + q.i16) * MR * NR * parts + NR * parts + 1 > regs)
		MR--;
	while (DNR > 1 && (2 + q.i16) * DNR * parts + DNR * parts + 1 > regs)
		DNR--;
	int64_t units = q.N0 / q.G, cvs = units * vpp;   /* panel groups; column-vectors in them */
	int64_t NB = (int64_t)s->q_block_floats * 4 / (q.rowb * q.nd * parts);   /* column-vectors per weight block */
	NB = NB < NR ? NR : NB / NR * NR;
	int64_t tiles = units + (q.N0 < N);   /* the tail rows: one more unit */
	LStr st = qmatmul_args(L);
	LF qact = kernel_qact(L, K);

	/* the task */
	LF task = lm_func(m, lm_fmt(m, "%s_task", name), lt_scalar(LK_VOID), LL_STATIC,
	                  lm_fmt(m, "y[rows][%lld] = x[rows][%lld] . w[%lld][%lld]^T (w %s, x quantized in qx) for\n"
	                         "the panel groups [i0, i1) of %lld rows (%lld groups%s).  Blocks of %lld column-vectors\n"
	                         "of %d rows; row tiles %dx%d, then single rows 1x%d; int8 dots of %d lanes, one row\n"
	                         "per lane.",
	                         (long long)N, (long long)K, (long long)N, (long long)K, dtype_name(wt), (long long)q.G,
	                         (long long)units, q.N0 < N ? lm_fmt(m, ", then the %lld plain rows as one more",
	                                                            (long long)(N - q.N0)) : "",
	                         (long long)NB, q.nd, MR, NR, DNR, q.nd));
	LV arg = lm_param(m, task, "arg", lt_ptr(LK_VOID, 0));
	LV i0 = lm_param(m, task, "i0", T_I64());
	LV i1 = lm_param(m, task, "i1", T_I64());
	lm_param(m, task, "worker", T_I32());
	lb_begin(m, task);
	LV a = lb_let(m, "a", lt_struct_ptr(st, 1), le_ptr_cast(m, V(L, arg), lt_struct_ptr(st, 1)));
	q.y = V(L, lb_let(m, "y", T_PF(), le_field(m, V(L, a), "y")));
	q.ldy = V(L, lb_let(m, "ldy", T_I64(), le_field(m, V(L, a), "ldy")));
	q.w = V(L, lb_let(m, "w", lt_ptr(LK_U8, 1), le_field(m, V(L, a), "w")));
	q.qx = V(L, lb_let(m, "qx", lt_ptr(LK_U8, 1), le_ptr_cast(m, le_field(m, V(L, a), "qx"), lt_ptr(LK_U8, 1))));
	LV rows = lb_let(m, "rows", T_I64(), le_field(m, V(L, a), "rows"));
	if (units) {
		LV c0 = lb_let(m, "c0", T_I64(), le_mul(m, V(L, i0), I(L, vpp)));
		LV c1 = lb_let(m, "c1", T_I64(), le_bin(m, LE_MIN, le_mul(m, V(L, i1), I(L, vpp)), I(L, cvs)));
		LV cb = lm_local(m, "cb", T_I64());
		lb_for(m, cb, V(L, c0), V(L, c1), NB);
		LV ce = lb_let(m, "ce", T_I64(), le_bin(m, LE_MIN, le_add(m, V(L, cb), I(L, NB)), V(L, c1)));
		LV t = lb_let(m, "t", T_I64(), I(L, 0));
		if (MR > 1) {
			lb_for(m, t, 0, le_sub(m, V(L, rows), I(L, MR - 1)), MR);
			panel_columns(&q, MR, NR, V(L, t), V(L, cb), V(L, ce));
			lb_end(m);
		}
		lb_for(m, t, 0, V(L, rows), 1);
		panel_columns(&q, 1, DNR, V(L, t), V(L, cb), V(L, ce));
		lb_end(m);
		lb_end(m);
	}
	if (q.N0 < N) {   /* the plain rows after the last group: dot products along K */
		lb_if(m, le_bin(m, LE_LT, I(L, units), V(L, i1)));
		int TR = MR < 4 ? MR : 4;   /* one weight row (a SwiGLU pair) at a time */
		LV t = lb_let(m, "tr", T_I64(), I(L, 0));
		if (TR > 1) {
			lb_for(m, t, 0, le_sub(m, V(L, rows), I(L, TR - 1)), TR);
			qcolumns(&q, TR, parts, V(L, t), I(L, q.N0), I(L, N));
			lb_end(m);
		}
		lb_for(m, t, 0, V(L, rows), 1);
		qcolumns(&q, 1, parts, V(L, t), I(L, q.N0), I(L, N));
		lb_end(m);
		lb_end(m);
	}
	lb_finish(m);

	/* the entry */
	f = lm_func(m, name, lt_scalar(LK_VOID), LL_STATIC,
	            lm_fmt(m, "y[rows][%lld] (row stride ldy) = x[rows][%lld] . w[%lld][%lld]^T, w packed %s:\n"
	                   "x quantized to int8 blocks in c->qx, then int8 dot products.",
	                   (long long)N, (long long)K, (long long)N, (long long)K, dtype_name(wt)));
	LV c = lm_param(m, f, "c", lt_struct_ptr(L->s_call, 1));
	LV y = lm_param(m, f, "y", T_PF());
	LV ldy = lm_param(m, f, "ldy", T_I64());
	LV x = lm_param(m, f, "x", T_CPF());
	LV w = lm_param(m, f, "w", lt_ptr(LK_VOID, 1));
	LV r = lm_param(m, f, "rows", T_I64());
	lb_begin(m, f);
	LE fields[6] = {V(L, y), V(L, ldy), V(L, x), le_ptr_cast(m, V(L, w), lt_ptr(LK_U8, 1)), V(L, r),
	                le_field(m, V(L, c), "qx")};
	LV args = lb_let(m, "a", lt_struct(st), le_agg(m, lt_struct(st), fields, 6, NULL));
	LE qcall[5] = {V(L, c), V(L, r), le_mul(m, V(L, r), I(L, 8 * K)), le_func(m, qact), le_addr(m, args)};
	lb_eval(m, le_call(m, L->f_run, qcall, 5));
	LE call[5] = {V(L, c), I(L, tiles), le_mul(m, V(L, r), I(L, N * K)), le_func(m, task), le_addr(m, args)};
	lb_eval(m, le_call(m, L->f_run, call, 5));
	lb_finish(m);
	return f;
}

/* Chunk c of one block (its 4 quant bytes at `at`: elements 4c.. of q8_0,
 * 4c.. and 16 + 4c.. of the q4 formats) decoded with scale d (and q4_1's
 * minimum mn, splat f32 x 4) into yb, as quant_dequantize_row does. */
static void decode_chunk(Lower *L, DType wt, LE at, int c, LV d, LV mn, LE yb)
{
	LModule *m = L->m;
	LType i4 = lt_vec(LK_I32, 4), f4 = lt_vec(LK_F32, 4);
	LV bytes = lb_let(m, lm_fmt(m, "q%d", c), i4, le_convert(m, le_load(m, at, 4), i4));
	for (int h = 0; h < (wt == DT_Q8_0 ? 1 : 2); h++) {
		LE code;
		int64_t elem = wt == DT_Q8_0 ? 4 * c : 4 * c + 16 * h;
		if (wt == DT_Q8_0)
			code = le_sub(m, V(L, bytes), le_splat(m, le_int(m, LK_I32, 128), 4));
		else
			code = h ? le_bin(m, LE_SHR, V(L, bytes), le_splat(m, le_int(m, LK_I32, 4), 4))
			         : le_bin(m, LE_BAND, V(L, bytes), le_splat(m, le_int(m, LK_I32, 15), 4));
		if (wt == DT_Q4_0)
			code = le_sub(m, code, le_splat(m, le_int(m, LK_I32, 8), 4));
		LE v = le_mul(m, le_convert(m, code, f4), V(L, d));
		if (wt == DT_Q4_1)
			v = le_add(m, v, V(L, mn));
		lb_store(m, le_at(m, yb, I(L, elem)), v);
	}
}

/* ------------------------------------------------------------ row decoder
 * qdequant_FMT_K(y, row): one packed row of K weights -> floats (the
 * embedding lookup).  The values are quant_dequantize_row's exactly. */
LF kernel_qdequant_row(Lower *L, DType wt, int64_t K)
{
	LModule *m = L->m;
	if (!quant_is_blocked(wt) || K % QUANT_BLOCK || K <= 0) {
		lfm_error(L->err, NULL, "lowering: no row decoder for %s rows of %lld", dtype_name(wt), (long long)K);
		return 0;
	}
	const char *name = lm_fmt(m, "qdequant_%s_%lld", dtype_name(wt), (long long)K);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[%lld] = one packed %s row, decoded (q*d%s)", (long long)K, dtype_name(wt),
	                   wt == DT_Q4_1 ? " + m" : wt == DT_Q4_0 ? ", q in -8..7" : ""), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV row = lm_param(m, f, "row", lt_ptr(LK_VOID, 1));
	lb_begin(m, f);
	int bpb = quant_block_bytes(wt), qb = wt == DT_Q8_0 ? 32 : 16;
	int64_t nb = K / QUANT_BLOCK;
	LV w = lb_let(m, "w", lt_ptr(LK_U8, 1), le_ptr_cast(m, V(L, row), lt_ptr(LK_U8, 1)));
	LType f4 = lt_vec(LK_F32, 4);
	for (int64_t b0 = 0; b0 < nb;) {
		int64_t g = pack_group_blocks(nb - b0);
		int64_t cnt = g == 16 ? (nb - b0) / 16 : 1;   /* all the groups of 16 in one loop */
		LV gi = lm_local(m, "gi", T_I64());
		lb_for(m, gi, I(L, 0), I(L, cnt), 1);
		LE gblock = le_add(m, I(L, b0), le_mul(m, V(L, gi), I(L, g)));   /* first block of the group */
		LV gw = lb_let(m, "gw", lt_ptr(LK_U8, 1), le_at(m, V(L, w), le_mul(m, gblock, I(L, bpb))));
		LV b = lm_local(m, "b", T_I64());
		lb_for(m, b, I(L, 0), I(L, g), 1);
		LV yb = lb_let(m, "yb", T_PF(), le_at(m, V(L, y), le_mul(m, le_add(m, gblock, V(L, b)), I(L, QUANT_BLOCK))));
		LE dh = le_load(m, le_at(m, at_bytes(m, V(L, gw), I(L, qb * g), LK_I16, 1), V(L, b)), 1);
		LV d = lb_let(m, "d", f4, le_splat(m, f16_decode(m, dh, 1), 4));
		LV mn = 0;
		if (wt == DT_Q4_1) {
			LE mh = le_load(m, le_at(m, at_bytes(m, V(L, gw), I(L, qb * g + 2 * g), LK_I16, 1), V(L, b)), 1);
			mn = lb_let(m, "mn", f4, le_splat(m, f16_decode(m, mh, 1), 4));
		}
		for (int i = 0; i < qb / 4; i++)   /* 4 bytes of the block at a time */
			decode_chunk(L, wt, le_at(m, V(L, gw), le_add(m, I(L, 4 * g * i), le_mul(m, V(L, b), I(L, 4)))), i, d, mn,
			             V(L, yb));
		lb_end(m);
		lb_end(m);
		b0 += g * cnt;
	}
	lb_finish(m);
	return f;
}

/* ------------------------------------------------------------ panel row
 * qpanel_row_FMT_NxK(y, w, row): row `row` of an [N][K] block-format
 * weight stored in panels (pack_panels.c) -> floats, quant_dequantize_row's
 * values exactly: the embedding lookup of a tied embedding, whose rows the
 * logits matmul reads in panels.  Rows after the last whole panel are
 * plain rows, decoded by qdequant_FMT_K. */
LF kernel_qpanel_row(Lower *L, DType wt, int64_t N, int64_t K)
{
	LModule *m = L->m;
	LF plain = kernel_qdequant_row(L, wt, K);
	if (!plain)
		return 0;
	const char *name = lm_fmt(m, "qpanel_row_%s_%lldx%lld", dtype_name(wt), (long long)N, (long long)K);
	int64_t full = N / PACK_PANEL * PACK_PANEL, rowb = quant_bytes_per_row(wt, K);
	int fresh;
	LF f = kernel_lookup(L, name, lm_fmt(m, "y[0..%lld) = row `row` of a [%lld][%lld] %s weight stored in panels of %d rows "
	                   "(rows from %lld plain), as floats.", (long long)K, (long long)N, (long long)K,
	                   dtype_name(wt), PACK_PANEL, (long long)full), &fresh);
	if (!fresh)
		return f;
	LV y = lm_param(m, f, "y", T_PF());
	LV w = lm_param(m, f, "w", lt_ptr(LK_VOID, 1));
	LV row = lm_param(m, f, "row", T_I64());
	lb_begin(m, f);
	LV wb = lb_let(m, "wb", lt_ptr(LK_U8, 1), le_ptr_cast(m, V(L, w), lt_ptr(LK_U8, 1)));
	int bpb = quant_block_bytes(wt), qb = wt == DT_Q8_0 ? 32 : 16;
	LType f4 = lt_vec(LK_F32, 4);
	if (full) {
		lb_if(m, le_bin(m, LE_LT, V(L, row), I(L, full)));
		LE panel = le_div(m, V(L, row), I(L, PACK_PANEL)), lane = le_bin(m, LE_REM, V(L, row), I(L, PACK_PANEL));
		LV p = lb_let(m, "p", lt_ptr(LK_U8, 1), le_at(m, V(L, wb), le_mul(m, panel, I(L, PACK_PANEL * rowb))));
		LV ln = lb_let(m, "lane", T_I64(), lane);
		LV b = lm_local(m, "b", T_I64());
		lb_for(m, b, I(L, 0), I(L, K / QUANT_BLOCK), 1);
		LV pb = lb_let(m, "pb", lt_ptr(LK_U8, 1), le_at(m, V(L, p), le_mul(m, V(L, b), I(L, (int64_t)PACK_PANEL * bpb))));
		LV yb = lb_let(m, "yb", T_PF(), le_at(m, V(L, y), le_mul(m, V(L, b), I(L, QUANT_BLOCK))));
		LE sp = le_at(m, V(L, pb), le_add(m, I(L, (int64_t)PACK_PANEL * qb), le_mul(m, V(L, ln), I(L, 2))));
		LV d = lb_let(m, "d", f4, le_splat(m, f16_decode(m, le_load(m, le_ptr_cast(m, sp, lt_ptr(LK_I16, 1)), 1), 1), 4));
		LV mn = 0;
		if (wt == DT_Q4_1)
			mn = lb_let(m, "mn", f4, le_splat(m, f16_decode(m, le_load(m, le_ptr_cast(m, le_at(m, sp, I(L, 2 * PACK_PANEL)),
			                                                                              lt_ptr(LK_I16, 1)), 1), 1), 4));
		for (int c = 0; c < qb / 4; c++)   /* chunk c: the lane's 4 bytes */
			decode_chunk(L, wt, le_at(m, V(L, pb), le_add(m, I(L, 4 * (int64_t)PACK_PANEL * c), le_mul(m, V(L, ln), I(L, 4)))),
			             c, d, mn, V(L, yb));
		lb_end(m);
		lb_return(m, 0);
		lb_end(m);
	}
	LE args[2] = {V(L, y), le_at(m, V(L, wb), le_mul(m, V(L, row), I(L, rowb)))};
	lb_eval(m, le_call(m, plain, args, 2));
	lb_finish(m);
	return f;
}
