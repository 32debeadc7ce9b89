/*
 * dtypes.h — the one table of value and storage types.
 *
 * DTYPE(NAME, id, "name", values per block, bytes per block, weight format)
 *
 * It drives the DType enum (ir.h), dtype_name, and the weight formats'
 * parser, list and sizes (formats.h).  Values are f32 (i32 for token ids);
 * a weight may be *stored* in any row marked as a weight format.  Block
 * formats encode blocks of 32 values along K (specs/formats.md has every
 * byte).  Append only: the numbering is part of dumps and hashes.
 */
DTYPE(F32,  0, "f32",  1,  4, 1)   /* IEEE binary32, little-endian */
DTYPE(I32,  1, "i32",  1,  4, 0)   /* token ids */
DTYPE(F16,  2, "f16",  1,  2, 1)   /* IEEE binary16, round to nearest even */
DTYPE(BF16, 3, "bf16", 1,  2, 1)   /* top half of binary32, round to nearest even */
DTYPE(Q8_0, 4, "q8_0", 32, 34, 1)  /* f16 scale + 32 int8 */
DTYPE(Q4_0, 5, "q4_0", 32, 18, 1)  /* f16 scale + 32 nibbles, value (q-8)*d */
DTYPE(Q4_1, 6, "q4_1", 32, 20, 1)  /* f16 scale + f16 min + 32 nibbles, q*d+m */
