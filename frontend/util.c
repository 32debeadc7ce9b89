/*
 * util.c — small helpers shared by the config and safetensors readers.
 *
 * JSON numbers arrive from cJSON as doubles, so "is this an integer" means
 * "is this a number whose value is integral and inside the range the field
 * allows"; values beyond 2^53 cannot be represented exactly and are refused
 * by the callers' ranges.  Bad values are quoted back in error messages in
 * their compact JSON form, cut short so a message stays a readable line.
 * Whole-file reads are bounded: config.json and the shard index are small,
 * and a multi-gigabyte "config" is an error, not something to slurp.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fe_internal.h"

void fe_json_quote(const cJSON *v, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	if (!v) {
		snprintf(buf, cap, "nothing");
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	if (!s) {
		snprintf(buf, cap, "?");
		return;
	}
	size_t n = strlen(s);
	if (n < cap) {
		memcpy(buf, s, n + 1);
	} else if (cap > 4) {
		memcpy(buf, s, cap - 4);
		memcpy(buf + cap - 4, "...", 4);
	} else {
		buf[0] = '\0';
	}
	cJSON_free(s);
}

bool fe_json_is_int_in(const cJSON *v, double lo, double hi)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	return isfinite(d) && d == floor(d) && d >= lo && d <= hi;
}

int fe_read_small_file(const char *path, size_t max, char **text, size_t *len,
                       LfmError *err)
{
	*text = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return lfm_error(err, path, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0) {
		int e = errno;
		fclose(f);
		return lfm_error(err, path, "cannot stat: %s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		fclose(f);
		return lfm_error(err, path, "not a regular file");
	}
	if ((unsigned long long)st.st_size > max) {
		fclose(f);
		return lfm_error(err, path, "file is %lld bytes, more than the %zu-byte limit for a JSON file",
		                 (long long)st.st_size, max);
	}
	size_t n = (size_t)st.st_size;
	char *buf = malloc(n + 1);
	if (!buf) {
		fclose(f);
		return lfm_error(err, path, "out of memory reading %zu bytes", n);
	}
	size_t got = fread(buf, 1, n, f);
	int read_failed = ferror(f);
	fclose(f);
	if (got != n || read_failed) {
		free(buf);
		return lfm_error(err, path, "read error (got %zu of %zu bytes)", got, n);
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static bool only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

cJSON *fe_parse_json(const char *text, size_t len, const char *path,
                     const char *what, LfmError *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t at = (end && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
		lfm_error(err, path, "%s is malformed JSON (error near byte %zu)", what, at);
		return NULL;
	}
	if (end && !only_space(end, text + len)) {
		lfm_error(err, path, "%s is malformed JSON (trailing data at byte %zu)", what,
		          (size_t)(end - text));
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

char *fe_join_path(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	bool slash = a > 0 && dir[a - 1] != '/';
	char *p = malloc(a + slash + b + 1);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	if (slash)
		p[a] = '/';
	memcpy(p + a + slash, name, b + 1);
	return p;
}
