/*
 * util.c — small helpers shared by the config and safetensors readers.
 *
 * JSON numbers arrive from cJSON as doubles, so "is this an integer" means
 * "is this a number whose value is integral and inside the range the field
 * allows"; values beyond 2^53 cannot be represented exactly and are refused
 * by the callers' ranges.  Bad values are quoted back in error messages in
 * their compact JSON form, cut short so a message stays a readable line; a
 * number too large for a double (1e400, which cJSON parses as inf and
 * would print as "null") is described as such instead.  Whole-file reads
 * are bounded: config.json and the shard index are small, and a
 * multi-gigabyte "config" is an error, not something to slurp.  They go
 * through lfm_open_input (fileio.h): a FIFO or a directory is refused
 * before anything is read.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe_internal.h"
#include "fileio.h"

void fe_json_quote(const cJSON *v, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	if (!v) {
		snprintf(buf, cap, "nothing");
		return;
	}
	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
		snprintf(buf, cap, "a number that overflows a double");
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

/* read(2) exactly n bytes (EINTR resumed); 0, or -1 with errno (0 at EOF). */
static int read_exactly(int fd, char *buf, size_t n)
{
	while (n) {
		errno = 0;
		ssize_t k = read(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

int fe_read_small_file(const char *path, size_t max, char **text, size_t *len,
                       LfmError *err)
{
	*text = NULL;
	*len = 0;
	struct stat st;
	int fd = lfm_open_input(path, &st, err);
	if (fd < 0)
		return -1;
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return lfm_error(err, path, "file is %lld bytes, more than the %zu-byte limit for a JSON file",
		                 (long long)st.st_size, max);
	}
	size_t n = (size_t)st.st_size;
	char *buf = malloc(n + 1);
	if (!buf) {
		close(fd);
		return lfm_error(err, path, "out of memory reading %zu bytes", n);
	}
	int rc = read_exactly(fd, buf, n);
	int e = errno;
	close(fd);
	if (rc) {
		free(buf);
		return e ? lfm_error(err, path, "read error: %s", strerror(e))
		         : lfm_error(err, path, "file shrank while reading (expected %zu bytes)", n);
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
