/*
 * cache.c — the build cache and the progress line (cache.h).
 *
 * Fetching copies every file of an entry into the compile's staging
 * directory, so a cache hit then goes through the same commit as a real
 * build.  Storing copies the staged outputs into a fresh
 * <root>/tmp-<key>-XXXXXX/, flock'd while it is filled, writes MANIFEST
 * last and renames the directory to <root>/<key>: readers see a complete
 * entry or none.  Two compiles racing on the same key both build, and one
 * rename wins.  A tmp- directory nobody holds a lock on is a killed
 * writer's, and the next store removes it (fsutil.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache.h"
#include "fileio.h"
#include "fsutil.h"

void cache_key_add(CacheKey *k, const char *name, const char *fmt, ...)
{
	if (k->len >= sizeof k->text)
		return;
	int n = snprintf(k->text + k->len, sizeof k->text - k->len, "%s ", name);
	if (n < 0)
		return;
	k->len += (size_t)n;
	va_list ap;
	va_start(ap, fmt);
	n = k->len < sizeof k->text ? vsnprintf(k->text + k->len, sizeof k->text - k->len, fmt, ap) : 0;
	va_end(ap);
	if (n > 0)
		k->len += (size_t)n;
	if (k->len + 1 < sizeof k->text)
		k->text[k->len++] = '\n';
	if (k->len > sizeof k->text)
		k->len = sizeof k->text;
}

uint64_t cache_key_hash(const CacheKey *k) { return XXH3_64bits(k->text, k->len); }

uint64_t cache_file_hash(const char *path)
{
	FILE *f = lfm_fopen_input(path, NULL);   /* a FIFO would block */
	if (!f)
		return 0;
	XXH3_state_t *st = XXH3_createState();
	if (!st) {
		fclose(f);
		return 0;
	}
	XXH3_64bits_reset(st);
	static unsigned char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		XXH3_64bits_update(st, buf, n);
	uint64_t h = ferror(f) ? 0 : XXH3_64bits_digest(st);
	XXH3_freeState(st);
	fclose(f);
	return h;
}

int cache_dir(char *buf, size_t n)
{
	const char *x = getenv("XDG_CACHE_HOME");
	if (x && *x) {
		snprintf(buf, n, "%s/lfm2c", x);
		return 0;
	}
	const char *home = getenv("HOME");
	if (home && *home) {
		snprintf(buf, n, "%s/.cache/lfm2c", home);
		return 0;
	}
	return -1;
}

static int mkdirs(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0777) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(tmp, 0777) && errno != EEXIST ? -1 : 0;
}

int copy_file(const char *from, const char *to, int exec, LfmError *err)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return lfm_error(err, from, "cannot open: %s", strerror(errno));
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, exec ? 0755 : 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		return lfm_error(err, to, "cannot create file: %s", strerror(e));
	}
	int rc = 0, e = 0;
	for (int fast = 1;;) {
		ssize_t k = fast ? copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0) : -1;
		if (k == 0)
			break;
		if (k > 0)
			continue;
		if (fast && errno == EINTR)
			continue;
		if (fast && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
			fast = 0;   /* not between these files: plain read/write from where it stopped */
			continue;
		}
		if (fast) {
			rc = -1;
			e = errno;
			break;
		}
		static char buf[1 << 16];
		ssize_t r;
		while ((r = read(in, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
			if (r > 0 && (e = lfm_io_write(out, buf, (size_t)r)) != 0) {
				rc = -1;
				break;
			}
		if (r < 0 && !rc) {
			rc = -1;
			e = errno;
		}
		break;
	}
	if (close(out) && !rc) {
		rc = -1;
		e = errno;
	}
	close(in);
	if (!rc)
		chmod(to, exec ? 0755 : 0644);   /* whatever the umask made of it */
	else
		unlink(to);
	return rc ? lfm_error(err, to, "cannot write: %s", lfm_io_reason(e)) : 0;
}

static int is_exec(const char *path)
{
	struct stat st;
	return !stat(path, &st) && (st.st_mode & 0100);
}

int cache_fetch(uint64_t key, const char *dir, char names[][128], int cap, LfmError *err)
{
	char root[1024], entry[1200], man[1300];
	if (cache_dir(root, sizeof root))
		return 0;
	snprintf(entry, sizeof entry, "%s/%016llx", root, (unsigned long long)key);
	snprintf(man, sizeof man, "%s/MANIFEST", entry);
	FILE *f = fopen(man, "r");
	if (!f)
		return 0;
	int n = 0;
	char line[256];
	while (n < cap && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!*line || strstr(line, "..") || line[0] == '/')
			continue;
		snprintf(names[n++], 128, "%.127s", line);
	}
	fclose(f);
	for (int i = 0; i < n; i++) {
		char from[1500], to[1500];
		snprintf(from, sizeof from, "%s/%s", entry, names[i]);
		snprintf(to, sizeof to, "%s/%s", dir, names[i]);
		char *slash = strrchr(to, '/');
		if (slash && slash > to + strlen(dir)) {
			*slash = 0;
			mkdirs(to);
			*slash = '/';
		}
		if (copy_file(from, to, is_exec(from), err))
			return -1;
	}
	return n;
}

void cache_store(uint64_t key, const char *dir, char names[][128], int n)
{
	char root[1024], tmp[1200], entry[1200], prefix[64];
	LfmError err;
	if (cache_dir(root, sizeof root) || mkdirs(root)) {
		fprintf(stderr, "lfm2c: warning: cannot create the build cache directory; not caching\n");
		return;
	}
	fs_prune_stale(root, "tmp-");   /* entries whose writer died before the rename */
	snprintf(entry, sizeof entry, "%s/%016llx", root, (unsigned long long)key);
	snprintf(prefix, sizeof prefix, "tmp-%016llx-", (unsigned long long)key);
	int lock_fd;
	if (fs_make_locked_dir(root, prefix, tmp, sizeof tmp, &lock_fd)) {
		fprintf(stderr, "lfm2c: warning: cannot write the build cache (%s): %s\n", root, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		char from[1500], to[1500];
		snprintf(from, sizeof from, "%s/%s", dir, names[i]);
		snprintf(to, sizeof to, "%s/%s", tmp, names[i]);
		char *slash = strrchr(to, '/');
		if (slash > to + strlen(tmp)) {
			*slash = 0;
			mkdirs(to);
			*slash = '/';
		}
		if (copy_file(from, to, is_exec(from), &err)) {
			fprintf(stderr, "lfm2c: warning: not caching this build: %s\n", err.msg);
			fs_remove_tree(tmp);
			close(lock_fd);
			return;
		}
	}
	char man[1300];
	snprintf(man, sizeof man, "%s/MANIFEST", tmp);
	char text[64 * 130];
	size_t len = 0;
	for (int i = 0; i < n && len < sizeof text; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", names[i]);
	int bad = len >= sizeof text || fs_write_file(man, text, len, 0644);
	if (bad)
		fprintf(stderr, "lfm2c: warning: not caching this build: %s: %s\n", man, strerror(errno));
	else if (rename(tmp, entry) && errno != EEXIST && errno != ENOTEMPTY)
		fprintf(stderr, "lfm2c: warning: cannot write the build cache: %s\n", strerror(errno));
	fs_remove_tree(tmp);   /* whatever did not become the entry */
	close(lock_fd);
}

/* ---------------------------------------------------------------- progress */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(Progress *p)
{
	memset(p, 0, sizeof *p);
	p->tty = isatty(2);
	p->t0 = now();
	p->last = -1;
}

double progress_elapsed(const Progress *p) { return now() - p->t0; }

static void show(Progress *p, int percent)
{
	if (!p->tty)
		return;
	double t = now();
	if (p->last >= 0 && t - p->last < 0.1 && percent < 100)
		return;   /* at most ten updates a second */
	p->last = t;
	fprintf(stderr, "\rlfm2c: %-22s %3d%% %7.1f s\033[K", p->stage ? p->stage : "", percent, t - p->t0);
	fflush(stderr);
	p->shown = 1;
}

void progress_stage(Progress *p, const char *stage, int percent)
{
	p->stage = stage;
	p->last = -1;
	show(p, percent);
}

void progress_percent(Progress *p, int percent) { show(p, percent); }

void progress_done(Progress *p)
{
	if (p->tty && p->shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	p->shown = 0;
}
