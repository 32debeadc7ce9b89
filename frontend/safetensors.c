/*
 * safetensors.c — map one .safetensors file and validate its header.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON, then
 * the raw data area.  The JSON object maps each tensor name to
 * {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative to
 * the data area; an optional "__metadata__" entry is ignored.
 *
 * The file comes from outside, so nothing in it is trusted: the length
 * prefix is bounded (100 MB, the reference implementation's limit) and must
 * stay inside the file; the header must be exactly one JSON object; every
 * entry must have the right JSON types; shape x dtype size must equal the
 * byte span (computed with overflow checks); spans must lie inside the data
 * area and must not overlap; names must be unique.  Only F32, F16 and BF16
 * are accepted — an LFM2 checkpoint has nothing else, and anything else
 * (I8, F64, ...) is more likely a wrong file than something to convert.
 *
 * The file must be a regular file (checked on the open descriptor, which
 * is opened without blocking: a FIFO cannot hang us).  It is mapped
 * read-only and stays mapped for the checkpoint's lifetime; tensors point
 * into the mapping (possibly unaligned: readers use byte loads).  Each tensor's raw bytes are hashed with XXH3-64 here,
 * once, while we walk the file anyway.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "fe_internal.h"
#include "fileio.h"

const char *lfm_dtype_name(StDtype t)
{
	switch (t) {
	case ST_F32: return "F32";
	case ST_F16: return "F16";
	case ST_BF16: return "BF16";
	}
	return "?";
}

size_t lfm_dtype_size(StDtype t)
{
	return t == ST_F32 ? 4 : 2;
}

static bool dtype_from_name(const char *s, StDtype *t)
{
	for (int i = ST_F32; i <= ST_BF16; i++)
		if (!strcmp(s, lfm_dtype_name((StDtype)i))) {
			*t = (StDtype)i;
			return true;
		}
	return false;
}

/* ------------------------------------------------------------- mapping */

static int map_file(const char *path, MappedFile *m, LfmError *err)
{
	memset(m, 0, sizeof *m);
	struct stat st;
	int fd = lfm_open_input(path, &st, err);   /* a FIFO or directory is refused here */
	if (fd < 0)
		return -1;
	if (st.st_size < 8) {
		close(fd);
		return lfm_error(err, path, "file is %lld bytes, too short for a safetensors header (needs at least 8)",
		                 (long long)st.st_size);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED)
		return lfm_error(err, path, "cannot mmap: %s", strerror(e));
	m->path = strdup(path);
	if (!m->path) {
		munmap(p, (size_t)st.st_size);
		return lfm_error(err, path, "out of memory");
	}
	m->base = p;
	m->size = (size_t)st.st_size;
	return 0;
}

static void unmap_file(MappedFile *m)
{
	if (m->base)
		munmap((void *)m->base, m->size);
	free(m->path);
	memset(m, 0, sizeof *m);
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ------------------------------------------------------ header entries */

/* Limits one header entry's checks need. */
typedef struct Area {
	const char *path;
	const uint8_t *data;   /* first byte after the header */
	uint64_t size;         /* bytes in the data area */
	LfmError *err;
} Area;

static int entry_error(const Area *a, const char *name, const char *what)
{
	return lfm_error(a->err, a->path, "tensor '%s': %s", name, what);
}

static int read_dtype(const Area *a, const char *name, const cJSON *entry, StDtype *t)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
	if (!cJSON_IsString(d))
		return entry_error(a, name, "'dtype' is missing or not a string");
	if (!dtype_from_name(d->valuestring, t))
		return lfm_error(a->err, a->path, "tensor '%s' has dtype %.32s; only F32, F16 and BF16 are supported",
		                 name, d->valuestring);
	return 0;
}

static int read_shape(const Area *a, const char *name, const cJSON *entry, StTensor *t)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(entry, "shape");
	if (!cJSON_IsArray(s))
		return entry_error(a, name, "'shape' is missing or not a list");
	int n = cJSON_GetArraySize(s);
	if (n > 4)
		return lfm_error(a->err, a->path, "tensor '%s' has %d dimensions; at most 4 are supported", name, n);
	t->ndim = n;
	uint64_t numel = 1;
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, s) {
		if (!fe_json_is_int_in(it, 0, LFM_JSON_MAX_EXACT_INT))
			return entry_error(a, name, "'shape' must be a list of non-negative integers");
		t->shape[i] = (int64_t)it->valuedouble;
		if (__builtin_mul_overflow(numel, (uint64_t)t->shape[i], &numel) || numel > (1ull << 62))
			return entry_error(a, name, "shape is too large");
		i++;
	}
	t->numel = (int64_t)numel;
	return 0;
}

static int read_offsets(const Area *a, const char *name, const cJSON *entry, uint64_t *b, uint64_t *e)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
	const cJSON *o0 = cJSON_GetArrayItem(o, 0), *o1 = cJSON_GetArrayItem(o, 1);
	if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) != 2 ||
	    !fe_json_is_int_in(o0, 0, LFM_JSON_MAX_EXACT_INT) ||
	    !fe_json_is_int_in(o1, 0, LFM_JSON_MAX_EXACT_INT))
		return entry_error(a, name, "'data_offsets' must be a list of two non-negative integers [begin, end]");
	*b = (uint64_t)o0->valuedouble;
	*e = (uint64_t)o1->valuedouble;
	if (*b > *e)
		return lfm_error(a->err, a->path, "tensor '%s': data_offsets [%llu, %llu] end before they begin",
		                 name, (unsigned long long)*b, (unsigned long long)*e);
	if (*e > a->size)
		return lfm_error(a->err, a->path,
		                 "tensor '%s': data_offsets [%llu, %llu] are out of range (data area is %llu bytes)",
		                 name, (unsigned long long)*b, (unsigned long long)*e, (unsigned long long)a->size);
	return 0;
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
	size_t u = 0;
	u += (size_t)snprintf(buf, cap, "[");
	for (int i = 0; i < ndim && u < cap; i++)
		u += (size_t)snprintf(buf + u, cap - u, i ? ", %lld" : "%lld", (long long)shape[i]);
	if (u < cap)
		snprintf(buf + u, cap - u, "]");
}

static int read_entry(const Area *a, const cJSON *entry, StTensor *t)
{
	const char *name = entry->string;
	if (!cJSON_IsObject(entry))
		return entry_error(a, name, "header entry is not an object");
	uint64_t b = 0, e = 0;
	if (read_dtype(a, name, entry, &t->dtype) || read_shape(a, name, entry, t) ||
	    read_offsets(a, name, entry, &b, &e))
		return -1;
	size_t esz = lfm_dtype_size(t->dtype);
	if ((uint64_t)t->numel > UINT64_MAX / esz || (uint64_t)t->numel * esz != e - b) {
		char shp[128];
		format_shape(shp, sizeof shp, t->ndim, t->shape);
		return lfm_error(a->err, a->path,
		                 "tensor '%s': shape %s x %s (%zu bytes) does not match the %llu bytes of data_offsets [%llu, %llu]",
		                 name, shp, lfm_dtype_name(t->dtype), esz, (unsigned long long)(e - b),
		                 (unsigned long long)b, (unsigned long long)e);
	}
	t->name = strdup(name);
	if (!t->name)
		return lfm_error(a->err, a->path, "out of memory");
	t->data = a->data + b;
	t->nbytes = (size_t)(e - b);
	t->file = a->path;
	t->hash = XXH3_64bits(t->data, t->nbytes);
	return 0;
}

/* ---------------------------------------------- whole-header checks */

static int by_offset(const void *x, const void *y)
{
	const StTensor *a = *(const StTensor *const *)x, *b = *(const StTensor *const *)y;
	if (a->data != b->data)
		return a->data < b->data ? -1 : 1;
	return a->nbytes < b->nbytes ? -1 : a->nbytes > b->nbytes;
}

static int check_no_overlap(const Area *a, StTensor *t, int n)
{
	if (n < 2)
		return 0;
	const StTensor **p = malloc((size_t)n * sizeof *p);
	if (!p)
		return lfm_error(a->err, a->path, "out of memory");
	for (int i = 0; i < n; i++)
		p[i] = &t[i];
	qsort(p, (size_t)n, sizeof *p, by_offset);
	int rc = 0;
	/* Empty tensors occupy no bytes and cannot overlap anything. */
	const StTensor *prev = NULL;
	for (int i = 0; i < n && !rc; i++) {
		if (p[i]->nbytes == 0)
			continue;
		if (prev && p[i]->data < prev->data + prev->nbytes) {
			rc = lfm_error(a->err, a->path, "tensors '%s' [%td, %td) and '%s' [%td, %td) overlap",
			               prev->name, prev->data - a->data, prev->data + prev->nbytes - a->data,
			               p[i]->name, p[i]->data - a->data, p[i]->data + p[i]->nbytes - a->data);
		}
		prev = p[i];
	}
	free(p);
	return rc;
}

static int by_string(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int check_unique_names(const Area *a, const cJSON *root)
{
	/* cJSON keeps duplicate keys; compare each name with the later ones via
	 * a sorted copy of the pointers. */
	int n = cJSON_GetArraySize(root);
	if (n < 2)
		return 0;
	const char **names = malloc((size_t)n * sizeof *names);
	if (!names)
		return lfm_error(a->err, a->path, "out of memory");
	int k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
		names[k++] = it->string;
	int rc = 0;
	qsort(names, (size_t)k, sizeof *names, by_string);
	for (int i = 1; i < k && !rc; i++)
		if (!strcmp(names[i - 1], names[i]))
			rc = lfm_error(a->err, a->path, "header names tensor '%s' twice", names[i]);
	free(names);
	return rc;
}

/* ------------------------------------------------------------- open */

static int parse_header(StFile *f, const cJSON *root, const Area *a)
{
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
		n += strcmp(it->string, "__metadata__") != 0;
	f->tensors = calloc(n ? (size_t)n : 1, sizeof *f->tensors);
	if (!f->tensors)
		return lfm_error(a->err, a->path, "out of memory");
	cJSON_ArrayForEach(it, root) {
		if (!strcmp(it->string, "__metadata__"))
			continue;
		if (read_entry(a, it, &f->tensors[f->n_tensors]))
			return -1;
		f->n_tensors++;
	}
	return check_no_overlap(a, f->tensors, f->n_tensors);
}

int fe_st_open(const char *path, StFile *f, LfmError *err)
{
	memset(f, 0, sizeof *f);
	if (map_file(path, &f->map, err))
		return -1;
	const uint8_t *base = f->map.base;
	uint64_t hlen = load_le64(base);
	uint64_t after = f->map.size - 8;
	if (hlen > LFM_ST_MAX_HEADER) {
		lfm_error(err, path, "header length %llu exceeds the 100 MB limit (file is %zu bytes)",
		          (unsigned long long)hlen, f->map.size);
		goto fail;
	}
	if (hlen > after) {
		lfm_error(err, path, "header length %llu runs past the end of the file (only %llu bytes follow the length prefix)",
		          (unsigned long long)hlen, (unsigned long long)after);
		goto fail;
	}
	cJSON *root = fe_parse_json((const char *)base + 8, (size_t)hlen, path, "header", err);
	if (!root)
		goto fail;
	Area a = {f->map.path, base + 8 + hlen, after - hlen, err};
	int rc;
	if (!cJSON_IsObject(root)) {
		char q[80];
		fe_json_quote(root, q, sizeof q);
		rc = lfm_error(err, path, "header is not a JSON object (got %s)", q);
	} else {
		rc = check_unique_names(&a, root);
		if (!rc)
			rc = parse_header(f, root, &a);
	}
	cJSON_Delete(root);
	if (rc)
		goto fail;
	return 0;
fail:
	fe_st_close(f);
	return -1;
}

void fe_st_close(StFile *f)
{
	if (f->tensors)
		for (int i = 0; i < f->n_tensors; i++)
			free(f->tensors[i].name);
	free(f->tensors);
	unmap_file(&f->map);
	memset(f, 0, sizeof *f);
}
