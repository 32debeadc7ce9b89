/*
 * checkpoint.c — a model directory -> Checkpoint.
 *
 * Steps: resolve config.json (config.c); map the weights — model.safetensors
 * if present, else the shards named by model.safetensors.index.json (each
 * shard opened once, however many tensors the weight_map sends to it);
 * check the tensors against the list the config implies (expected.c); hash.
 *
 * Checks, in the order a user needs them:
 *   - every weight_map entry must be found in the shard it names, and a
 *     tensor may not live in two shards;
 *   - the ff width is read from layer 0's w1 and compared with the ff rule
 *     first, because a mismatch there (a converter that rounded differently,
 *     specs/lfm2.md §5) would otherwise show up as a confusing list of wrong
 *     shapes;
 *   - every expected tensor present with exactly the expected shape (any of
 *     F32/F16/BF16; dtypes may be mixed);
 *   - tensors nobody uses are reported as warnings — except lm_head.weight
 *     in a tied model, which some exporters write and which is harmless.
 *
 * Hashes: each tensor's XXH3-64 is computed when its file is read.  The
 * model hash covers the config hash and (name, dtype, shape, hash) of every
 * tensor the model uses, in sorted-name order; unused tensors do not change
 * what gets compiled and are left out, as are n_params / n_bytes.
 *
 * Every file is opened through lfm_open_input (fileio.h): a FIFO, a
 * directory or a device in place of config.json, a shard or the index is
 * refused with one line instead of blocking or failing obscurely; the
 * tokenizer's side files, which this code does not read, are at least
 * checked to be regular files if present (check_side_files).
 *
 * Ownership: everything hangs off the Checkpoint as soon as it is created,
 * so lfm_checkpoint_close frees a half-built one as well as a complete one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <xxhash.h>

#include "fe_internal.h"
#include "fileio.h"

static const char SINGLE_FILE[] = "model.safetensors";
static const char INDEX_FILE[] = "model.safetensors.index.json";

/* ------------------------------------------------------------- helpers */

static int by_tensor_name(const void *a, const void *b)
{
	return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

const StTensor *lfm_checkpoint_find(const Checkpoint *ck, const char *name)
{
	if (!ck || !ck->tensors)
		return NULL;
	StTensor key = {.name = (char *)name};
	return bsearch(&key, ck->tensors, (size_t)ck->n_tensors, sizeof key, by_tensor_name);
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
	size_t u = (size_t)snprintf(buf, cap, "[");
	for (int i = 0; i < ndim && u < cap; i++)
		u += (size_t)snprintf(buf + u, cap - u, i ? ", %lld" : "%lld", (long long)shape[i]);
	if (u < cap)
		snprintf(buf + u, cap - u, "]");
}

/* Moves a parsed file's mapping and tensors into the checkpoint. */
static int adopt_file(Checkpoint *ck, StFile *f, LfmError *err)
{
	MappedFile *files = realloc(ck->files, (size_t)(ck->n_files + 1) * sizeof *files);
	if (!files)
		return lfm_error(err, f->map.path, "out of memory");
	ck->files = files;
	StTensor *t = realloc(ck->tensors, (size_t)(ck->n_tensors + f->n_tensors + 1) * sizeof *t);
	if (!t)
		return lfm_error(err, f->map.path, "out of memory");
	ck->tensors = t;
	memcpy(ck->tensors + ck->n_tensors, f->tensors, (size_t)f->n_tensors * sizeof *t);
	ck->n_tensors += f->n_tensors;
	ck->files[ck->n_files++] = f->map;
	free(f->tensors);
	memset(f, 0, sizeof *f);
	return 0;
}

static int open_and_adopt(Checkpoint *ck, const char *path, LfmError *err)
{
	StFile f;
	if (fe_st_open(path, &f, err))
		return -1;
	if (adopt_file(ck, &f, err)) {
		fe_st_close(&f);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- shards */

/* A shard name from the index must stay inside the model directory. */
static bool safe_shard_name(const char *s)
{
	if (!*s || s[0] == '/')
		return false;
	for (const char *p = s; *p; ) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n + (slash != NULL);
	}
	return true;
}

/* Number of the already-opened shard `shard`, or -1.  Every file path is
 * fe_join_path(ck->dir, shard), so the shard name is what follows the
 * directory prefix. */
static int shard_index_of(const Checkpoint *ck, const char *shard)
{
	size_t d = strlen(ck->dir);
	size_t prefix = d + (d > 0 && ck->dir[d - 1] != '/');
	for (int i = 0; i < ck->n_files; i++)
		if (strlen(ck->files[i].path) >= prefix && !strcmp(ck->files[i].path + prefix, shard))
			return i;
	return -1;
}

static int open_shard(Checkpoint *ck, const char *index_path, const char *tensor,
                      const char *shard, LfmError *err)
{
	if (!safe_shard_name(shard))
		return lfm_error(err, index_path, "weight_map sends tensor '%s' to shard '%s', a path outside the model directory",
		                 tensor, shard);
	char *path = fe_join_path(ck->dir, shard);
	if (!path)
		return lfm_error(err, index_path, "out of memory");
	int rc;
	struct stat st;
	if (stat(path, &st) != 0)
		rc = lfm_error(err, index_path, "shard '%s' (holding tensor '%s') cannot be opened: %s",
		               shard, tensor, strerror(errno));
	else
		rc = open_and_adopt(ck, path, err);
	free(path);
	return rc;
}

/* Is tensor `name` in file number `fi`?  (Before the global sort.) */
static bool file_has_tensor(const Checkpoint *ck, int fi, const char *name)
{
	for (int i = 0; i < ck->n_tensors; i++)
		if (ck->tensors[i].file == ck->files[fi].path && !strcmp(ck->tensors[i].name, name))
			return true;
	return false;
}

static int open_sharded(Checkpoint *ck, const char *index_path, FILE *warn, LfmError *err)
{
	char *text;
	size_t len;
	if (fe_read_small_file(index_path, LFM_MAX_JSON_FILE, &text, &len, err))
		return -1;
	cJSON *root = fe_parse_json(text, len, index_path, "index", err);
	free(text);
	if (!root)
		return -1;
	int rc = 0;
	const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
	if (!cJSON_IsObject(root) || !cJSON_IsObject(wm)) {
		rc = lfm_error(err, index_path, "index must be a JSON object with a 'weight_map' object");
		goto done;
	}
	/* Open every shard once, in order of first mention. */
	const cJSON *it;
	cJSON_ArrayForEach(it, wm) {
		if (!cJSON_IsString(it)) {
			rc = lfm_error(err, index_path, "weight_map entry for tensor '%s' is not a file name", it->string);
			goto done;
		}
		if (shard_index_of(ck, it->valuestring) < 0 &&
		    (rc = open_shard(ck, index_path, it->string, it->valuestring, err)))
			goto done;
	}
	if (ck->n_files == 0) {
		rc = lfm_error(err, index_path, "weight_map is empty");
		goto done;
	}
	/* Every mapped tensor must be where the map says. */
	cJSON_ArrayForEach(it, wm) {
		int fi = shard_index_of(ck, it->valuestring);
		if (!file_has_tensor(ck, fi, it->string)) {
			rc = lfm_error(err, index_path, "weight_map puts tensor '%s' in shard '%s', but that shard does not contain it",
			               it->string, it->valuestring);
			goto done;
		}
	}
	/* Tensors a shard has but the map does not list: kept, with a warning. */
	for (int i = 0; i < ck->n_tensors && warn; i++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(wm, ck->tensors[i].name);
		int fi = cJSON_IsString(m) ? shard_index_of(ck, m->valuestring) : -1;
		if (fi < 0 || ck->files[fi].path != ck->tensors[i].file)
			fprintf(warn, "lfm2c: warning: %s: tensor '%s' is not mapped to this shard by %s\n",
			        ck->tensors[i].file, ck->tensors[i].name, INDEX_FILE);
	}
done:
	cJSON_Delete(root);
	return rc;
}

/* ---------------------------------------------------------- validation */

static int check_unique_tensors(const Checkpoint *ck, LfmError *err)
{
	for (int i = 1; i < ck->n_tensors; i++) {
		const StTensor *a = &ck->tensors[i - 1], *b = &ck->tensors[i];
		if (!strcmp(a->name, b->name))
			return lfm_error(err, b->file, "tensor '%s' is also stored in %s", b->name, a->file);
	}
	return 0;
}

static bool same_shape(const StTensor *t, const ExpectedTensor *e)
{
	if (t->ndim != e->ndim)
		return false;
	for (int i = 0; i < e->ndim; i++)
		if (t->shape[i] != e->shape[i])
			return false;
	return true;
}

static int check_ff_width(const Checkpoint *ck, LfmError *err)
{
	const LfmConfig *c = &ck->cfg;
	const StTensor *w1 = lfm_checkpoint_find(ck, "model.layers.0.feed_forward.w1.weight");
	if (!w1 || w1->ndim != 2 || w1->shape[0] == c->ff)
		return 0;   /* absent or oddly shaped: the generic checks report it */
	char mult[32];
	if (c->ff_has_multiplier)
		snprintf(mult, sizeof mult, "%g", c->ff_multiplier);
	else
		snprintf(mult, sizeof mult, "null");
	return lfm_error(err, w1->file,
	                 "ff width mismatch: model.layers.0.feed_forward.w1.weight has %lld rows but the config's ff rule gives %d "
	                 "(declared %d, block_auto_adjust_ff_dim %s, block_ffn_dim_multiplier %s, block_multiple_of %d)",
	                 (long long)w1->shape[0], c->ff, c->ff_declared, c->ff_auto_adjust ? "true" : "false",
	                 mult, c->ff_multiple_of);
}

static int check_expected(Checkpoint *ck, const ExpectedTensor *exp, int n_exp,
                          const char *weights_path, LfmError *err)
{
	for (int i = 0; i < n_exp; i++) {
		const StTensor *t = lfm_checkpoint_find(ck, exp[i].name);
		char want[128], got[128];
		format_shape(want, sizeof want, exp[i].ndim, exp[i].shape);
		if (!t)
			return lfm_error(err, weights_path, "missing tensor '%s' (expected shape %s)", exp[i].name, want);
		if (!same_shape(t, &exp[i])) {
			format_shape(got, sizeof got, t->ndim, t->shape);
			return lfm_error(err, t->file, "tensor '%s' has shape %s but the config implies %s",
			                 t->name, got, want);
		}
		ck->n_params += t->numel;
		ck->n_bytes += t->nbytes;
	}
	return 0;
}

static bool is_expected(const char *name, const ExpectedTensor *exp, int n_exp)
{
	int lo = 0, hi = n_exp - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(name, exp[mid].name);
		if (!c)
			return true;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return false;
}

static void report_unexpected(Checkpoint *ck, const ExpectedTensor *exp, int n_exp, FILE *warn)
{
	for (int i = 0; i < ck->n_tensors; i++) {
		const StTensor *t = &ck->tensors[i];
		if (is_expected(t->name, exp, n_exp))
			continue;
		if (ck->cfg.tie_embeddings && !strcmp(t->name, "lm_head.weight"))
			continue;   /* a tied model may still carry its head: harmless */
		ck->n_unexpected++;
		if (warn) {
			char shp[128];
			format_shape(shp, sizeof shp, t->ndim, t->shape);
			fprintf(warn, "lfm2c: warning: %s: unexpected tensor '%s' %s %s is not used by the model\n",
			        t->file, t->name, lfm_dtype_name(t->dtype), shp);
		}
	}
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int compute_model_hash(Checkpoint *ck, const ExpectedTensor *exp, int n_exp, LfmError *err)
{
	XXH3_state_t *s = XXH3_createState();
	if (!s)
		return lfm_error(err, ck->dir, "out of memory");
	uint8_t b[8];
	XXH3_64bits_reset(s);
	XXH3_64bits_update(s, "lfm2-model-v1", 13);
	put_le64(b, ck->config_hash);
	XXH3_64bits_update(s, b, 8);
	for (int i = 0; i < n_exp; i++) {
		const StTensor *t = lfm_checkpoint_find(ck, exp[i].name);
		const char *dt = lfm_dtype_name(t->dtype);
		XXH3_64bits_update(s, t->name, strlen(t->name) + 1);
		XXH3_64bits_update(s, dt, strlen(dt) + 1);
		put_le64(b, (uint64_t)t->ndim);
		XXH3_64bits_update(s, b, 8);
		for (int d = 0; d < t->ndim; d++) {
			put_le64(b, (uint64_t)t->shape[d]);
			XXH3_64bits_update(s, b, 8);
		}
		put_le64(b, t->hash);
		XXH3_64bits_update(s, b, 8);
	}
	ck->model_hash = XXH3_64bits_digest(s);
	XXH3_freeState(s);
	return 0;
}

/* ---------------------------------------------------------------- open */

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* model.safetensors wins when both it and an index exist (as in the
 * reference).  *weights_path gets the file missing tensors are blamed on. */
static int open_weights(Checkpoint *ck, FILE *warn, char **weights_path, LfmError *err)
{
	char *single = fe_join_path(ck->dir, SINGLE_FILE);
	char *index = fe_join_path(ck->dir, INDEX_FILE);
	int rc;
	if (!single || !index) {
		rc = lfm_error(err, ck->dir, "out of memory");
	} else if (exists(single)) {
		rc = open_and_adopt(ck, single, err);
		*weights_path = single;
		single = NULL;
	} else if (exists(index)) {
		rc = open_sharded(ck, index, warn, err);
		*weights_path = index;
		index = NULL;
	} else {
		rc = lfm_error(err, ck->dir, "no %s (nor %s) in the model directory", SINGLE_FILE, INDEX_FILE);
	}
	free(single);
	free(index);
	return rc;
}

/* The files lfm2c may read from the directory besides config.json and the
 * weights (the tokenizer and sampling defaults compile reads, and whose
 * bytes it hashes into its cache key): each must be a regular file if it
 * is there at all.  Only stat()ed here, so a FIFO among them is refused
 * before anything tries to read it. */
static int check_side_files(const char *dir, LfmError *err)
{
	static const char *const names[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
	                                    "generation_config.json"};
	int rc = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0] && !rc; i++) {
		char *path = fe_join_path(dir, names[i]);
		rc = path ? lfm_check_optional_input(path, err) : lfm_error(err, dir, "out of memory");
		free(path);
	}
	return rc;
}

static int check_dir(const char *dir, LfmError *err)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return lfm_error(err, dir, "cannot open model directory: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return lfm_error(err, dir, "not a directory (expected a model directory with config.json)");
	return 0;
}

static int validate_and_hash(Checkpoint *ck, const char *weights_path, FILE *warn, LfmError *err)
{
	ExpectedTensor *exp = malloc(LFM_MAX_EXPECTED_TENSORS * sizeof *exp);
	if (!exp)
		return lfm_error(err, ck->dir, "out of memory");
	int n_exp = lfm_expected_tensors(&ck->cfg, exp, LFM_MAX_EXPECTED_TENSORS);
	int rc = n_exp < 0 ? lfm_error(err, ck->config_path, "too many tensors implied") : 0;
	if (!rc) {
		qsort(ck->tensors, (size_t)ck->n_tensors, sizeof *ck->tensors, by_tensor_name);
		rc = check_unique_tensors(ck, err);
	}
	if (!rc)
		rc = check_ff_width(ck, err);
	if (!rc)
		rc = check_expected(ck, exp, n_exp, weights_path, err);
	if (!rc) {
		report_unexpected(ck, exp, n_exp, warn);
		ck->config_hash = lfm_config_hash(&ck->cfg);
		rc = compute_model_hash(ck, exp, n_exp, err);
	}
	free(exp);
	return rc;
}

int lfm_checkpoint_open(const char *dir, Checkpoint *ck, FILE *warn, LfmError *err)
{
	memset(ck, 0, sizeof *ck);
	if (check_dir(dir, err))
		return -1;
	ck->dir = strdup(dir);
	ck->config_path = fe_join_path(dir, "config.json");
	if (!ck->dir || !ck->config_path) {
		lfm_checkpoint_close(ck);
		return lfm_error(err, dir, "out of memory");
	}
	char *weights_path = NULL;
	int rc = lfm_config_load(ck->config_path, &ck->cfg, err);
	if (!rc)
		rc = open_weights(ck, warn, &weights_path, err);
	if (!rc)
		rc = check_side_files(dir, err);
	if (!rc)
		rc = validate_and_hash(ck, weights_path, warn, err);
	free(weights_path);
	if (rc)
		lfm_checkpoint_close(ck);
	return rc;
}

void lfm_checkpoint_close(Checkpoint *ck)
{
	if (!ck)
		return;
	for (int i = 0; i < ck->n_tensors; i++)
		free(ck->tensors[i].name);
	free(ck->tensors);
	for (int i = 0; i < ck->n_files; i++) {
		if (ck->files[i].base)
			munmap((void *)ck->files[i].base, ck->files[i].size);
		free(ck->files[i].path);
	}
	free(ck->files);
	free(ck->dir);
	free(ck->config_path);
	memset(ck, 0, sizeof *ck);
}
