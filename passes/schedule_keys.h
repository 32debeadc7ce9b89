/*
 * schedule_keys.h — the one table of a schedule file's tile keys.
 *
 * SKEY(field, GIVEN, "json.path", lo, hi, default, "choices", "tune values", "what it sets")
 *
 *   field     the int member of Schedule; GIVEN names its SCHED_GIVEN_ bit
 *   path      where it sits in the file ("tiles.matmul.nb" is
 *             {"tiles": {"matmul": {"nb": ...}}})
 *   lo, hi    the range the reader accepts (the code generator may accept
 *             less: codegen_check_schedule names the key then)
 *   default   the value when absent — used only by the reader's checks
 *             between keys: an absent key leaves the code generator's own
 *             per-target choice
 *   choices   "" for an integer; else the key is a string, one of these
 *             words, stored as the word's index
 *   tune      the values `lfm2c tune` tries beside leaving the key out
 *             ("" : not a tune axis)
 *
 * It drives the Schedule fields and given bits (schedule.h), the reader
 * and writer of schedule files, the cache key, tune's axes, and the key
 * table of specs/formats.md (which says how the code generator follows
 * each).  A new knob is a row here and one line where lower.c applies it.
 */
SKEY(matmul_nb,       NB,              "tiles.matmul.nb",       1, 65536, 64, "", "16 32 64 128 256",
     "weight rows per cache block of the float matmuls (a multiple of vector_width)")
SKEY(matmul_mr,       MR,              "tiles.matmul.mr",       1, 32, 4, "", "1 2 4 8",
     "rows of the matmul register tiles, int8 and float")
SKEY(matmul_kc,       KC,              "tiles.matmul.kc",       1, 65536, 256, "", "128 256 512",
     "K block of the float matmuls (a multiple of 32)")
SKEY(matmul_prefetch, PREFETCH,        "tiles.matmul.prefetch", 0, 65536, 4096, "", "0 2048 8192",
     "bytes ahead the int8 decode GEMV prefetches (a multiple of 64; 0: none)")
SKEY(attention_block, ATTENTION_BLOCK, "tiles.attention_block", 1, 65536, 64, "", "32 64 128 256",
     "keys per block of the attention's online softmax")
SKEY(split,           SPLIT,           "threads.split",         0, 2, 0, "n rows auto", "rows",
     "how threads share a matmul: output features (n), token rows (rows) or the code generator's pick (auto)")
SKEY(unroll,          UNROLL,          "unroll",                1, 64, 4, "", "1 2 4",
     "K unroll of the matmul tiles")
SKEY(vector_width,    VECTOR_WIDTH,    "vector_width",          1, 64, 8, "", "8 16 32",
     "f32 lanes of every vector (a power of two; wider than the registers is legal, just split)")
SKEY(int8_nr,         INT8_NR,         "tiles.int8.nr",         1, 8, 4, "", "",
     "vectors of output rows in the int8 prefill register tile")
SKEY(int8_block,      INT8_BLOCK,      "tiles.int8.block",      1024, 16777216, 32768, "", "",
     "weights per cache block of the int8 prefill")
SKEY(int8_lanes,      INT8_LANES,      "tiles.int8.lanes",      4, 16, 16, "", "",
     "i32 lanes of the int8 dot product: 4, 8 or 16")
SKEY(int8_decode_rows, INT8_DECODE_ROWS, "tiles.int8.decode_rows", 1, 8, 1, "", "",
     "weight rows one activation row (decode) streams at once")
SKEY(int8_split_k,    INT8_SPLIT_K,    "tiles.int8.split_k",    1, 2, 1, "", "",
     "accumulators per block dot chain of the small (decode) tiles")
SKEY(int8_sequential, INT8_SEQUENTIAL, "tiles.int8.sequential", 0, 1, 1, "", "",
     "1: the SwiGLU pair's two weight rows one after the other in decode; 0: interleaved")
SKEY(float_nr,        FLOAT_NR,        "tiles.float.nr",        1, 16, 4, "", "",
     "width of the float GEMM register tile, in vectors (whole panels)")
SKEY(float_block,     FLOAT_BLOCK,     "tiles.float.block",     1024, 16777216, 32768, "", "",
     "weights per cache block of the float GEMM when tiles.matmul.nb is absent")
SKEY(float_decode_nr, FLOAT_DECODE_NR, "tiles.float.decode_nr", 0, 16, 0, "", "",
     "vectors the float GEMV streams at once (whole panels; 0: two panels)")
