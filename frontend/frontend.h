/*
 * frontend.h — reading a Hugging Face LFM2 checkpoint.
 *
 * The frontend turns a model directory (config.json, model.safetensors or a
 * sharded model.safetensors.index.json) into two plain values:
 *
 *   LfmConfig   every hyper-parameter resolved exactly as transformers does
 *               (both config key styles, the ff-dim rule, layer types);
 *   Checkpoint  the mmap'd tensors, each validated against the shape the
 *               config implies, with an XXH3-64 hash per tensor and one for
 *               the whole model.
 *
 * Errors never abort: every function that can fail returns -1 and fills an
 * LfmError whose message is one line "PATH: what is wrong".  The caller
 * prints it.  Nothing here writes files.
 */
#ifndef LFM2C_FRONTEND_H
#define LFM2C_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------- errors */

typedef struct LfmError {
	char msg[1024];
} LfmError;

/* Formats "PATH: message" into e (PATH may be NULL) and returns -1. */
int lfm_error(LfmError *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The command line's error line: "lfm2c: " + message + newline on stderr,
 * control characters replaced as in lfm_error; returns 1 (the exit
 * status).  Every lfm2c command reports through this. */
int lfm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- config */

#define LFM_MAX_LAYERS 512

typedef enum LayerType { LAYER_CONV = 0, LAYER_ATTN = 1 } LayerType;

typedef struct LfmConfig {
	int vocab_size;
	int hidden;          /* H */
	int n_layers;
	int n_heads;         /* nh */
	int n_kv_heads;      /* nkv */
	int head_dim;        /* hd: "head_dim" key or H / nh */
	int ff;              /* resolved SwiGLU width (specs/lfm2.md §5) */
	int ff_declared;     /* block_ff_dim, else intermediate_size */
	bool ff_auto_adjust;
	bool ff_has_multiplier;
	double ff_multiplier;
	int ff_multiple_of;
	int conv_L;          /* conv_L_cache, >= 1 */
	bool conv_bias;
	bool tie_embeddings;
	double norm_eps;
	double rope_theta;
	int bos_id, eos_id, pad_id;
	int max_position_embeddings;
	int n_attn_layers, n_conv_layers;
	LayerType layer_type[LFM_MAX_LAYERS];
	const char *layer_spec;  /* "layer_types", "full_attn_idxs" or "none (all attention)" */
} LfmConfig;

/* Parse config JSON text; `path` is only used in messages. */
int lfm_config_parse(const char *text, size_t len, const char *path,
                     LfmConfig *cfg, LfmError *err);
int lfm_config_load(const char *path, LfmConfig *cfg, LfmError *err);

/* XXH3-64 of the resolved values (not the text, not the key style): two
 * config files describing the same model hash the same. */
uint64_t lfm_config_hash(const LfmConfig *cfg);

const char *lfm_layer_type_name(LayerType t);   /* "conv", "full_attention" */

/* The ff-dim rule of transformers' Lfm2MLP (specs/lfm2.md §5). */
int lfm_ff_rule(int ff, bool auto_adjust, bool has_multiplier,
                double multiplier, int multiple_of);

/* ------------------------------------------------------------ safetensors */

typedef enum StDtype { ST_F32 = 0, ST_F16 = 1, ST_BF16 = 2 } StDtype;

const char *lfm_dtype_name(StDtype t);   /* "F32", "F16", "BF16" */
size_t lfm_dtype_size(StDtype t);

typedef struct StTensor {
	char *name;
	StDtype dtype;
	int ndim;
	int64_t shape[4];
	int64_t numel;
	const uint8_t *data;    /* inside the mmap'd file, little-endian */
	size_t nbytes;
	const char *file;       /* the shard it lives in */
	uint64_t hash;          /* XXH3-64 of the raw bytes */
} StTensor;

/* Expected tensor: name and shape implied by the config (specs/lfm2.md §2). */
typedef struct ExpectedTensor {
	char name[96];
	int ndim;
	int64_t shape[4];
} ExpectedTensor;

/* Enough room for lfm_expected_tensors of any config. */
#define LFM_MAX_EXPECTED_TENSORS (3 + 11 * LFM_MAX_LAYERS)

/* Fills out[] (capacity cap) with the tensors the config implies, in
 * sorted-name order; returns their number (or -1 if cap is too small). */
int lfm_expected_tensors(const LfmConfig *cfg, ExpectedTensor *out, int cap);

/* ------------------------------------------------------------ checkpoint */

typedef struct MappedFile {
	char *path;
	const uint8_t *base;
	size_t size;
} MappedFile;

typedef struct Checkpoint {
	char *dir;
	char *config_path;
	LfmConfig cfg;
	StTensor *tensors;      /* sorted by name */
	int n_tensors;
	MappedFile *files;
	int n_files;
	uint64_t config_hash;   /* XXH3-64 of the resolved config (not the text) */
	uint64_t model_hash;    /* XXH3-64 over config_hash and every (name, dtype, shape, hash) */
	int64_t n_params;
	uint64_t n_bytes;       /* tensor bytes as stored in the file(s) */
	int n_unexpected;       /* tensors present but not used (reported on stderr) */
} Checkpoint;

/* Open a model directory: parse config.json, map and validate the
 * safetensors file(s), check every expected tensor (ff is read from w1 and
 * checked against the rule), hash everything.  Unexpected tensors are
 * reported as one warning line each on `warn` (may be NULL), not errors. */
int lfm_checkpoint_open(const char *dir, Checkpoint *ck, FILE *warn, LfmError *err);
void lfm_checkpoint_close(Checkpoint *ck);
const StTensor *lfm_checkpoint_find(const Checkpoint *ck, const char *name);

/* Convert a tensor's elements (any StDtype) to float / double. */
void lfm_tensor_to_f32(const StTensor *t, float *out);
void lfm_tensor_to_f64(const StTensor *t, double *out);
float lfm_bf16_to_f32(uint16_t b);
float lfm_f16_to_f32(uint16_t h);
uint16_t lfm_f32_to_bf16(float f);   /* round to nearest even */
uint16_t lfm_f32_to_f16(float f);    /* round to nearest even */

/* `lfm2c inspect`: resolved config, layer map, tensor table with hashes,
 * parameter count and bytes. */
void lfm_inspect_print(FILE *f, const Checkpoint *ck);

#endif
