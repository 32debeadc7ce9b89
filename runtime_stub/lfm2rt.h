/*
 * lfm2rt.h — the lfm2 runtime: everything an inference program needs around
 * the code lfm2c generates.
 *
 * lfm2c turns one LFM2 checkpoint into a C file that defines a single
 * `const lfm2_model_info` (see lfm2_abi.h).  That code is pure computation:
 * given the weights, the caches, a scratch buffer and some tokens, forward()
 * writes logits and updates the caches.  It owns no memory and starts no
 * threads.  This runtime supplies the rest, in five small pieces:
 *
 *   lfm2_pool      a thread pool; the generated code calls lfm2_parallel_for
 *                  (declared in lfm2_abi.h) to spread a loop over it.
 *   lfm2_weights   the weights blob, read into memory or mmap'd, checked
 *                  against the model it was compiled with (sizes + XXH3).
 *   lfm2_session   one conversation: KV cache, conv state, scratch, the
 *                  current position; eval() feeds tokens in chunks;
 *                  snapshots save and restore the whole state.
 *   lfm2_sampler   repetition penalty, top-k, top-p, min-p, temperature,
 *                  with a seeded PRNG that gives the same draws everywhere.
 *   lfm2_npy_*     float32 .npy files (logit dumps for tests).
 *
 * main.c builds these into the `lfm2-run` command.
 *
 * Conventions (as in ggml/llama.cpp, but simpler):
 *   - No global state.  Objects are made by a _create or _open function
 *     and released by the matching _free, _close or _destroy; passing NULL
 *     to a release function is a no-op.
 *   - The caller owns every buffer it passes in (tokens, logits, snapshot
 *     memory); the runtime never keeps a pointer to them after returning,
 *     except where a function says so (weights opened from memory, the
 *     model info, the weights and pool a session uses: those must outlive
 *     the objects built on them).
 *   - Functions that can fail take an `lfm2_err *` (may be NULL) and return
 *     NULL or -1; the message is one line without a trailing newline and
 *     names the file or the argument at fault.
 *   - An object is used by one thread at a time.  Several sessions may share
 *     one pool as long as they don't eval at the same moment (concurrent
 *     lfm2_parallel_for calls on one pool are serialized, never run nested).
 *
 * Everything here is portable C11 + POSIX (pthreads, mmap); it needs only
 * libc, libm, pthreads and the header-only xxHash.
 */
#ifndef LFM2RT_H
#define LFM2RT_H

#include <stddef.h>
#include <stdint.h>

#include "lfm2_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

#define LFM2_ERR_LEN 512

/* Filled by a failing call: a single line, e.g.
 * "weights.bin: not an lfm2 weights blob (bad magic)". */
typedef struct lfm2_err {
	char msg[LFM2_ERR_LEN];
} lfm2_err;

/* ----------------------------------------------------------- thread pool
 * A pool of n_threads: n_threads-1 worker threads plus the thread that
 * calls lfm2_parallel_for.  lfm2_parallel_for(pool, n, fn, arg) cuts
 * [0, n) into C = min(n, 4 * n_threads) chunks of (almost) equal size —
 * chunk c is [n*c/C, n*(c+1)/C) — and every thread, the caller included,
 * takes the next chunk until none is left, calling fn(arg, lo, hi, w) for
 * it, w being the thread's index (0 for the caller, 1 .. n_threads-1 for
 * the workers; a per-thread scratch slot).  The boundaries depend only on n and the thread count, so results
 * that depend on the split are reproducible; which thread runs a chunk
 * varies (pool.c says why: a descheduled worker costs nothing).  Idle
 * workers spin for 200 us, then sleep (no CPU use).
 * fn must not call lfm2_parallel_for on the same pool (that deadlocks).
 */

/* Creates a pool; n_threads >= 1 (1 = everything runs on the caller). */
lfm2_pool *lfm2_pool_create(int n_threads, lfm2_err *err);

/* Stops and joins the workers, frees the pool.  No call may be running. */
void lfm2_pool_destroy(lfm2_pool *pool);

/* lfm2_parallel_for() and lfm2_pool_threads() are declared in lfm2_abi.h. */

/* --------------------------------------------------------------- weights
 * The weights blob (format in lfm2_abi.h) is checked against the model the
 * code was compiled for, in this order, each failure being one message that
 * names the file: file readable; magic "LFM2BLOB"; format version; header
 * size; payload size == model->blob_bytes; file size == header + payload;
 * payload XXH3-64 == the hash in the header == model->blob_hash.
 *
 * LFM2_WEIGHTS_READ (default) reads the payload into anonymous memory
 * asked for in 2 MiB transparent huge pages, hashing as it reads: decode
 * streams every weight once per token and runs 10-25% faster without a
 * TLB miss every 4 KiB (350M: f32, f16, q8_0, q4_0); the kernel may take
 * longer to load when it must compact memory for the huge pages (1.35 GB
 * of f32: 0.85 -> 3.0 s here).  LFM2_WEIGHTS_READ_SMALL_PAGES reads into ordinary pages.
 * LFM2_WEIGHTS_MMAP maps the file read-only instead (shares the page
 * cache, but page faults on first use; on some VMs mmap'd access slows
 * down run after run).
 */
typedef struct lfm2_weights lfm2_weights;

enum lfm2_weights_mode {
	LFM2_WEIGHTS_READ = 0,
	LFM2_WEIGHTS_MMAP = 1,
	LFM2_WEIGHTS_READ_SMALL_PAGES = 2,
};

/* Opens and verifies `path` for `model`.  The model info must outlive the
 * weights.  Returns NULL (and err) on any failure. */
lfm2_weights *lfm2_weights_open(const char *path, const lfm2_model_info *model,
                                enum lfm2_weights_mode mode, lfm2_err *err);

/* Same checks on a whole blob (header included) already in memory, e.g.
 * linked into the program.  `name` is used in messages.  If the payload
 * (data + LFM2_BLOB_HEADER) is 64-byte aligned it is used in place and
 * `data` must outlive the weights; otherwise it is copied. */
lfm2_weights *lfm2_weights_from_memory(const void *data, size_t size, const char *name,
                                       const lfm2_model_info *model, lfm2_err *err);

/* Releases the buffer or mapping.  NULL is a no-op. */
void lfm2_weights_close(lfm2_weights *w);

/* The payload (what forward() gets as args->weights), 64-byte aligned. */
const void *lfm2_weights_data(const lfm2_weights *w);

/* Payload size in bytes (== model->blob_bytes). */
uint64_t lfm2_weights_bytes(const lfm2_weights *w);

/* "read", "mmap" or "memory": how the payload got into memory. */
const char *lfm2_weights_mode_name(const lfm2_weights *w);

/* --------------------------------------------------------------- session
 * A session holds the state of one token sequence for one model: the KV
 * cache for `ctx` positions, the conv state, a scratch buffer sized for
 * chunks of up to `max_chunk` tokens, and the position (tokens seen so far).
 * The memory is allocated once at creation: ctx * kv_floats_per_pos floats
 * of KV cache (zero-initialized lazily by the OS), conv_state_floats floats,
 * and scratch_bytes(max_chunk, ctx, threads) bytes, all 64-byte aligned.
 */
typedef struct lfm2_session lfm2_session;

/* Creates a session.  ctx >= 1; max_chunk >= 1 (clamped to ctx); pool may
 * be NULL (single-threaded).  model, weights and pool must outlive it. */
lfm2_session *lfm2_session_create(const lfm2_model_info *model, const lfm2_weights *weights,
                                  int32_t ctx, int32_t max_chunk, lfm2_pool *pool,
                                  lfm2_err *err);

/* The memory lfm2_session_create(model, .., ctx, max_chunk, pool) takes on
 * a pool of n_threads: *kv_bytes of KV cache (ctx x kv_floats_per_pos
 * floats) and *scratch_bytes of scratch and conv state.  0, or -1 (err
 * set) when ctx or max_chunk is < 1 or the sizes overflow 64 bits. */
int lfm2_session_plan(const lfm2_model_info *model, int32_t ctx, int32_t max_chunk, int n_threads,
                      uint64_t *kv_bytes, uint64_t *scratch_bytes, lfm2_err *err);

/* Frees the session's memory.  NULL is a no-op. */
void lfm2_session_free(lfm2_session *s);

/* Feeds tokens[0..n) at positions pos..pos+n-1, in forward() calls of at
 * most max_chunk tokens, and advances pos by n.  Logits go to `logits`
 * (caller's buffer; may be NULL for none): with all_rows == 0 the vocab
 * floats of the last token; with all_rows != 0, n x vocab floats, row i
 * for tokens[i].  Fails without changing anything if n < 0, pos + n > ctx,
 * or a token is outside [0, vocab) (the message gives its index and value).
 * n == 0 is a no-op.  Returns 0 or -1. */
int lfm2_session_eval(lfm2_session *s, const int32_t *tokens, int32_t n, float *logits,
                      int all_rows, lfm2_err *err);

/* Back to position 0 with a zero conv state (KV entries past pos are never
 * read, so the cache is not cleared). */
void lfm2_session_reset(lfm2_session *s);

int32_t lfm2_session_pos(const lfm2_session *s);         /* tokens seen */
int32_t lfm2_session_ctx(const lfm2_session *s);         /* capacity */
const lfm2_model_info *lfm2_session_model(const lfm2_session *s);

/* Snapshots.  A snapshot is a flat byte buffer owned by the caller:
 *
 *   64-byte header: "LFM2SNAP", u32 version (1), u32 header bytes (64),
 *                   u64 blob_hash, u64 model_hash, u64 kv_floats_per_pos,
 *                   u64 conv_state_floats, i32 pos, zero padding;
 *   conv state:     conv_state_floats floats;
 *   KV prefix:      for each attention layer, K rows [0,pos) then V rows
 *                   [0,pos), each row kv_dim floats (the ABI layout minus
 *                   the unused tail, so it does not depend on ctx).
 *
 * Integers and floats are in host byte order: a snapshot is for the same
 * kind of machine.  Restoring it into any session of the same model (same
 * hashes and sizes) with ctx >= pos makes that session continue exactly as
 * the original would.  Sessions never share state, so restoring one
 * snapshot into several sessions forks the conversation. */

/* Bytes a snapshot of the session's current state takes. */
size_t lfm2_session_snapshot_size(const lfm2_session *s);

/* Writes the snapshot into buf (size >= lfm2_session_snapshot_size(s)).
 * Returns the number of bytes written, or 0 if the buffer is too small. */
size_t lfm2_session_snapshot(const lfm2_session *s, void *buf, size_t size, lfm2_err *err);

/* Replaces the session's state by the snapshot in buf[0..size).  Fails
 * (session unchanged) if it is malformed, from another model, or pos > ctx. */
int lfm2_session_restore(lfm2_session *s, const void *buf, size_t size, lfm2_err *err);

/* --------------------------------------------------------------- sampler
 * Turning logits into the next token.  With temperature T > 0 the steps
 * are, in this order (like llama.cpp's default chain, with one documented
 * difference in step 4):
 *
 *   1. repetition penalty r (skipped when r == 1 or repeat_last_n == 0):
 *      every DISTINCT token among the last repeat_last_n accepted tokens
 *      (all of them if repeat_last_n < 0) gets l = l / r if l > 0, else
 *      l = l * r — once, however often it occurs.
 *   2. sort all tokens by penalized logit, descending; ties by lower id.
 *   3. top-k (k > 0): keep the first k.
 *   4. top-p (p < 1): with q_i = softmax(l_i / T) over the tokens still
 *      kept, keep the shortest prefix whose q sum is >= p (sums in double).
 *      Note: the probabilities are taken AT THE TEMPERATURE (as in HF
 *      transformers); llama.cpp uses T = 1 here.
 *   5. min-p (m > 0): keep tokens with q_i >= m * q_max, i.e.
 *      exp((l_i - l_max) / T) >= m (again at the temperature).
 *   6. final probabilities: softmax(l_i / T) over the kept tokens.
 *   7. draw u uniform in [0,1) (53 bits from xoshiro256**, seeded through
 *      splitmix64) and return the first kept token whose cumulative
 *      probability exceeds u (the last kept one if rounding leaves none).
 *   At least one token always survives steps 3-5.
 *
 * T == 0 is greedy: step 1, then the token with the highest penalized
 * logit, lowest id on ties; no random number is drawn.
 *
 * Exponentials and sums are computed in double; the only platform
 * dependence is libm's exp(), so the same seed gives the same tokens on
 * any machine with a correctly rounded (e.g. glibc) exp.
 *
 * Ranges (lfm2_sampler_create and lfm2_sample_filter refuse anything else,
 * and lfm2-run's flags and lfm2c's reading of generation_config.json use
 * the same ones):
 *   temperature      finite, >= 0
 *   top_k            >= 0
 *   top_p            (0, 1]
 *   min_p            [0, 1]
 *   repeat_penalty   [LFM2_REPEAT_PENALTY_MIN, LFM2_REPEAT_PENALTY_MAX]
 *                    = [0.01, 100]: beyond a factor of 100 either way a
 *                    penalty no longer weighs tokens, it bans or forces
 *                    them, and 1e-38 would push logits past the float range.
 *
 * Robustness: for ANY logits (finite, +-inf or NaN) and any parameters in
 * range, the filter's probabilities are finite and sum to 1 and the sampled
 * id is in [0, vocab).  To get there: a penalized logit is computed in
 * double and saturates at +-FLT_MAX instead of overflowing; a NaN logit
 * counts as -inf; softmax subtracts the largest logit, taking l - l_max
 * as 0 for the tokens equal to the maximum (so several +inf logits share
 * the probability equally, and an all -inf row is uniform).
 */
#define LFM2_REPEAT_PENALTY_MIN 0.01f
#define LFM2_REPEAT_PENALTY_MAX 100.0f

typedef struct lfm2_sampler_params {
	float temperature;      /* T >= 0, finite; 0 = greedy */
	int32_t top_k;          /* >= 0; 0 = off */
	float top_p;            /* (0, 1]; 1 = off */
	float min_p;            /* [0, 1]; 0 = off */
	float repeat_penalty;   /* [0.01, 100]; 1 = off */
	int32_t repeat_last_n;  /* history window; 0 = off, < 0 = all */
	uint64_t seed;
} lfm2_sampler_params;

/* llama.cpp's defaults: T 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * repeat_penalty 1.0, repeat_last_n 64, seed 0. */
lfm2_sampler_params lfm2_sampler_default_params(void);

/* A token kept by the filter, with its logit after the penalty and its
 * final probability (step 6). */
typedef struct lfm2_candidate {
	int32_t id;
	float logit;
	double p;
} lfm2_candidate;

/* Steps 1-6 as a pure function: writes the kept tokens to out (room for
 * vocab entries), best first, and returns how many (>= 1), or -1 if the
 * parameters are out of range or vocab < 1.  history[0..n_history) are the
 * accepted tokens, oldest first.  With T == 0 the single greedy token is
 * returned with p = 1. */
int32_t lfm2_sample_filter(const lfm2_sampler_params *params, const float *logits, int32_t vocab,
                           const int32_t *history, int32_t n_history, lfm2_candidate *out);

typedef struct lfm2_sampler lfm2_sampler;

/* Creates a sampler for a vocabulary of `vocab` tokens; validates params. */
lfm2_sampler *lfm2_sampler_create(const lfm2_sampler_params *params, int32_t vocab,
                                  lfm2_err *err);

void lfm2_sampler_free(lfm2_sampler *s);

/* Records a token in the history the repetition penalty looks at (feed the
 * prompt tokens too, and every sampled token).  Does not sample. */
void lfm2_sampler_accept(lfm2_sampler *s, int32_t token);

/* Picks the next token from vocab logits (not modified).  Does not accept
 * it: call lfm2_sampler_accept() with the token you keep. */
int32_t lfm2_sampler_sample(lfm2_sampler *s, const float *logits);

/* Clears the history and re-seeds the generator with params.seed. */
void lfm2_sampler_reset(lfm2_sampler *s);

/* Next raw 64-bit value of the sampler's xoshiro256** stream. */
uint64_t lfm2_sampler_rand(lfm2_sampler *s);

/* ------------------------------------------------------------------- npy
 * NumPy .npy files holding a 2-D little-endian float32 C-order array:
 * format version 1.0, header dict
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (R, C), }
 * padded with spaces and a final '\n' so the data starts at a multiple of 64
 * (with numpy's spare room for a 21-digit row count: the file is byte for
 * byte what np.save writes for the same float32 array).
 */

/* Writes data[rows*cols] to path (via a temporary file renamed into place,
 * so a failed write leaves nothing behind).  Returns 0 or -1. */
int lfm2_npy_write(const char *path, const float *data, int64_t rows, int64_t cols,
                   lfm2_err *err);

/* Reads a '<f4' C-order .npy of 1 or 2 dimensions (1-D -> rows = 1).
 * Returns a malloc'd array the caller free()s, or NULL. */
float *lfm2_npy_read(const char *path, int64_t *rows, int64_t *cols, lfm2_err *err);

#ifdef __cplusplus
}
#endif

#endif
