/*
 * fe_internal.h — helpers shared by the frontend's own files (not a
 * contract: nothing outside frontend/ should include this).
 *
 * The config reader and the safetensors reader both pull typed values out
 * of cJSON trees and both need to quote a bad value in a one-line message;
 * both read small whole files (config.json, the shard index).  Those
 * helpers live here so the two readers check values the same way.
 */
#ifndef LFM2C_FE_INTERNAL_H
#define LFM2C_FE_INTERNAL_H

#include <cjson/cJSON.h>

#include "frontend.h"

/* Largest safetensors header we accept (the reference implementation's
 * limit, 100 MB). */
#define LFM_ST_MAX_HEADER 100000000ull

/* Largest JSON side file (config.json, index) we read into memory. */
#define LFM_MAX_JSON_FILE (64u << 20)

/* Largest integer a JSON number (an IEEE double) holds exactly. */
#define LFM_JSON_MAX_EXACT_INT 9007199254740992.0

/* Renders a JSON value compactly for an error message ("\"abc\"", "16.5",
 * "null"), cut to at most cap-1 bytes with "..." when longer. */
void fe_json_quote(const cJSON *v, char *buf, size_t cap);

/* True if v is a JSON number with an integral value in [lo, hi]. */
bool fe_json_is_int_in(const cJSON *v, double lo, double hi);

/* Reads a whole (small) file into a NUL-terminated malloc'd buffer. */
int fe_read_small_file(const char *path, size_t max, char **text, size_t *len,
                       LfmError *err);

/* Parses JSON text that must be a single value followed only by white
 * space; on failure fills err ("PATH: what: malformed JSON near byte N"). */
cJSON *fe_parse_json(const char *text, size_t len, const char *path,
                     const char *what, LfmError *err);

/* malloc'd "dir/name". NULL on allocation failure. */
char *fe_join_path(const char *dir, const char *name);

/* ------------------------------------------------------- one safetensors */

/* One parsed safetensors file: its mapping and its tensors, in header
 * order.  Tensor names are malloc'd; `file` points at map.path. */
typedef struct StFile {
	MappedFile map;
	StTensor *tensors;
	int n_tensors;
} StFile;

/* Maps `path` read-only and validates its header (see safetensors.c).
 * On success the caller owns f and must call fe_st_close. */
int fe_st_open(const char *path, StFile *f, LfmError *err);
void fe_st_close(StFile *f);

#endif
