/*
 * codegen.h — from a Graph to files: the weights blob, the model code (C
 * or an LLVM object), the model header, and the embedded-weights object.
 *
 * Both backends start from the same loop-level form (loops.h), built by
 * lower_model() for a Target: codegen_c prints it as C, codegen_llvm builds
 * it with the LLVM-C API, optimizes it (default<O3>) and emits an object,
 * assembly or LLVM IR for the target.
 */
#ifndef LFM2C_CODEGEN_H
#define LFM2C_CODEGEN_H

#include <stdint.h>
#include <stdio.h>

#include "ir.h"
#include "target.h"

struct Schedule;
struct Machine;

/* The largest register tiles the kernels build: the float GEMM's rows and
 * vectors (lower_gemm.c), the int8 matmul's rows and columns
 * (lower_qmatmul.c).  The plan derives nothing larger, and a schedule
 * asking for more int8 rows is refused (plan.c). */
#define TILE_MAX_FLOAT 16
#define TILE_MAX_INT8 8

/* How the matmul and the other kernels are tiled and vectorized. */
typedef struct Tiling {
	int vw;            /* f32 lanes of a vector */
	/* The int8 matmuls (block-format weights; lower_qmatmul.c):
	 *   q_mr, q_nr      prefill register tile: MR rows x NR vectors of
	 *                     output rows (tiles.matmul.mr, tiles.int8.nr)
	 *   q_block_floats   weights per cache block (tiles.int8.block)
	 *   q_lanes           i32 lanes of the dot instruction, 4, 8 or 16
	 *                     (tiles.int8.lanes)
	 *   q_decode_rows     weight rows one activation row streams at once
	 *                     (tiles.int8.decode_rows)
	 *   q_split_k         accumulators per block dot chain in small tiles,
	 *                     1 or 2; 0: 2 for tiles of at most 2 dots, else 1
	 *                     (tiles.int8.split_k)
	 *   q_sequential      decode reads a SwiGLU pair's two rows one after the
	 *                     other (1) or interleaved (0) (tiles.int8.sequential) */
	int q_mr, q_nr, q_block_floats, q_lanes, q_decode_rows, q_split_k, q_sequential;
	/* The float matmuls (f32, f16, bf16 weights; lower_gemm.c).  Valid
	 * values (the kernel clamps anything else into them):
	 *   fm_mr     rows of the register tile, 1..16 (schedule: tiles.matmul.mr)
	 *   fm_nr     its width in vectors of vw output columns, a multiple of
	 *             the vectors of one 16-column panel (16 / vw; rounded down),
	 *             at most 16.  MR x NR accumulators (two per vector for
	 *             SwiGLU), NR weight vectors and a broadcast must fit the
	 *             target's vector registers, else NR, then MR, shrink
	 *   fm_ku     K loop unrolled KU times, 1..8 (schedule: unroll)
	 *   fm_kc     K block: partial sums over KC columns of K at a time, so a
	 *             row tile's MR x KC activations stay in L1; 0 (or >= K):
	 *             whole K (tiles.matmul.kc).  SwiGLU never splits K (its
	 *             epilogue needs whole sums)
	 *   fm_nb     weight block: this many weight rows (output columns; for
	 *             SwiGLU w1 and w3 rows together) x KC stay in L2 while every
	 *             row tile passes over them, rounded to whole register tiles
	 *             (tiles.matmul.nb); 0: fm_block weights
	 *   fm_block  the weight block as about this many weights
	 *   fm_gnr    one-row (decode, GEMV) tile: vectors streamed at once, a
	 *             multiple of a panel's vectors as fm_nr; 0: two panels
	 *   fm_gku    ... with KU independent accumulators each, 1..4 (unroll)
	 * Calls with at least fm_mr rows take the blocked GEMM; fewer (decode)
	 * take whole-K tiles of 4, 2 and 1 rows.  plan.c derives the defaults
	 * from the machine model (and keeps the measurements behind the ones
	 * that are measured, not derived); tiles.float.{nr,block,decode_nr}
	 * and the tiles.matmul keys set them. */
	int fm_mr, fm_nr, fm_ku, fm_kc, fm_nb, fm_block, fm_gnr, fm_gku;
	/* Decode (one activation row) streams every weight once: each weight
	 * load of the int8 GEMV (lower_qmatmul.c) is followed by a prefetch of
	 * the byte this far ahead (0: none), so the next rows are on their way
	 * while this one is multiplied; the hardware prefetchers alone left
	 * the q4_0 350M decode at 70% of the read bandwidth (schedule:
	 * tiles.matmul.prefetch; plan.c has the measurements).  The
	 * float GEMV's two panel streams do better without: the same hint
	 * there cost f32 decode 10-15% (1 thread), f16 0-5%. */
	int prefetch;
	int attn_block;        /* keys per block of the online softmax */
	int par_min_flops;     /* below this, a kernel runs on the calling thread */
} Tiling;

/* The tiles for machine m (machine.h): every field derived from the
 * machine model (plan.c), then every tile key schedule s gives
 * (passes/schedule.h; s may be NULL).  0, or -1 with one line in err
 * naming the file (`path`, for the message) and the key the code
 * generator cannot follow ("s.json: key 'unroll': ...").  Called once per
 * compile, before any work; the result goes into CodegenOptions. */
int codegen_plan(const struct Schedule *s, const char *path, const struct Machine *m, Tiling *out, LfmError *err);

/* `lfm2c explain`: the target, the machine model (each number with its
 * source), the derived tiles (each with its reason), the schedule's keys
 * and what each changed, and the resulting Tiling, written to out.  0 or
 * -1 (a key refused, as codegen_plan). */
int codegen_explain(const struct Schedule *s, const char *path, const Target *t, const struct Machine *m,
                    FILE *out, LfmError *err);

/* Every Tiling field as "vw 8 q_mr 4 ..." (into buf): the build cache
 * key and the last line of the explanation. */
const char *tiling_key_text(const Tiling *t, char *buf, size_t n);

typedef struct CodegenOptions {
	const char *symbol;       /* name of the lfm2_model_info symbol ("lfm2_model") */
	const char *target_desc;  /* recorded in the info, e.g. "llvm,x86_64-unknown-linux-gnu,znver4" */
	const char *version;      /* lfm2c version, written into headers */
	Tiling tiling;            /* codegen_plan's */
} CodegenOptions;

/* Progress of a long step: called with done <= total (bytes, say). */
typedef void (*ProgressFn)(void *ctx, uint64_t done, uint64_t total);

/* Writes the blob (header + payload per the layout pass) to `path` and
 * returns the payload's XXH3-64 in *hash.  progress may be NULL. */
int blob_write(const Graph *g, const char *path, uint64_t *hash, ProgressFn progress, void *pctx,
               LfmError *err);

/* C backend: model.c for the target, blob_hash baked in, and model.h
 * (sizes, alignment, state bytes per token, entry points; `embedded`
 * declares the linked-in blob of --embed-weights). */
int codegen_c(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
              const CodegenOptions *o, int embedded, FILE *c_out, FILE *h_out, LfmError *err);

/* LLVM backend. */
typedef enum LlvmEmit { EMIT_LLVM_OBJ, EMIT_LLVM_ASM, EMIT_LLVM_IR } LlvmEmit;

/* LLVM backend: the same module built with the LLVM-C API, verified,
 * optimized with default<O3>, emitted as `kind` to path; and model.h. */
int codegen_llvm(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                 const CodegenOptions *o, int embedded, LlvmEmit kind, const char *path, FILE *h_out,
                 LfmError *err);

/* The loop-level form as text (`--emit loops`, for debugging). */
int codegen_loops(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                  const CodegenOptions *o, FILE *out, LfmError *err);

/* --embed-weights: an ELF relocatable object (x86-64 or aarch64) holding the
 * blob file `blob_path` in section .lfm2_weights, between the symbols
 * `<symbol>_blob` and `<symbol>_blob_end`; and the C glue that hands it to
 * the runtime (see elf_blob.c). */
int elf_blob_write(const char *blob_path, const char *obj_path, TargetArch arch, const char *symbol,
                   LfmError *err);
/* The same for a small file of read-only data (--emit lib: the tokenizer
 * table): section .rodata.<symbol>, 16-byte aligned, between the symbols
 * `<symbol>` and `<symbol>_end`. */
int elf_rodata_write(const char *src_path, const char *obj_path, TargetArch arch, const char *symbol,
                     LfmError *err);
int embed_glue_write(const char *c_path, const char *symbol, LfmError *err);

/* The runtime's sources, embedded at build time (cmake/embed.cmake). */
struct lfm2c_embedded_file {
	const char *name;
	const unsigned char *bytes;
	size_t size;
};
extern const struct lfm2c_embedded_file lfm2c_runtime_files[];
/* The application API's sources (runtime_stub/lib/), for --emit lib. */
extern const struct lfm2c_embedded_file lfm2c_lib_files[];

#endif
