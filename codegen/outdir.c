/*
 * outdir.c — the output directory as one transaction (outdir.h).
 *
 * begin:  lock file, prune dead stages, fresh locked stage.
 * commit: a new OUT is the stage renamed; an existing OUT gets the staged
 *         files renamed in one by one under an "incomplete" manifest, the
 *         old manifest's leftovers removed, then the final manifest.
 * end:    stage removed if still there, lock released.
 *
 * The manifest is text: a header line, then one "file REL" line per file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "outdir.h"

#define MANIFEST_HEADER "lfm2c-manifest 1"

typedef struct NameList {
	char name[2 * OUTDIR_MAX_FILES][OUTDIR_NAME_MAX];
	int n;
} NameList;

static int has_name(const NameList *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return 1;
	return 0;
}

static void add_name(NameList *l, const char *name)
{
	if (l->n < (int)(sizeof l->name / sizeof l->name[0]) && !has_name(l, name))
		snprintf(l->name[l->n++], OUTDIR_NAME_MAX, "%.*s", OUTDIR_NAME_MAX - 1, name);
}

/* A relative name we are willing to create or remove: no "..", not
 * absolute, at most one directory level (runtime/x). */
static int safe_name(const char *s)
{
	if (!*s || s[0] == '/' || strstr(s, "..") || strchr(s, '\n'))
		return 0;
	const char *slash = strchr(s, '/');
	return !slash || (slash[1] && !strchr(slash + 1, '/'));
}

/* ------------------------------------------------------------ begin */

/* Where the lock and the stage go: OUT's parent when we may write there,
 * else OUT itself (which must then exist). */
static int choose_base(OutDir *d, LfmError *err)
{
	char tmp[1024], parent[1024];
	snprintf(tmp, sizeof tmp, "%s", d->out);
	while (strlen(tmp) > 1 && tmp[strlen(tmp) - 1] == '/')
		tmp[strlen(tmp) - 1] = 0;
	char *real = realpath(tmp, NULL);   /* "-o ." or "-o .." need the real name */
	if (real) {
		snprintf(tmp, sizeof tmp, "%s", real);
		free(real);
	}
	char c1[1024], c2[1024];
	snprintf(c1, sizeof c1, "%s", tmp);
	snprintf(c2, sizeof c2, "%s", tmp);
	snprintf(parent, sizeof parent, "%s", dirname(c1));
	const char *name = basename(c2);
	if (!strcmp(name, "/") || !strcmp(name, ".") || !strcmp(name, ".."))
		name = "";
	struct stat st;
	if (stat(parent, &st))
		return lfm_error(err, d->out, "cannot create output directory: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return lfm_error(err, d->out, "cannot create output directory: %s", strerror(ENOTDIR));
	if (*name && access(parent, W_OK | X_OK) == 0) {
		snprintf(d->base, sizeof d->base, "%s", parent);
		snprintf(d->prefix, sizeof d->prefix, ".%.250s.lfm2c-", name);
		return 0;
	}
	if (!d->out_existed)
		return lfm_error(err, d->out, "cannot create output directory: %s", strerror(EACCES));
	snprintf(d->base, sizeof d->base, "%s", tmp);
	snprintf(d->prefix, sizeof d->prefix, ".lfm2c-");
	return 0;
}

static int take_lock(OutDir *d, LfmError *err)
{
	snprintf(d->lock_path, sizeof d->lock_path, "%s/%slock", d->base, d->prefix);
	d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (d->lock_fd < 0)
		return lfm_error(err, d->out, "cannot create the lock file %s: %s", d->lock_path, strerror(errno));
	if (!flock(d->lock_fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno == EWOULDBLOCK) {
		fprintf(stderr, "lfm2c: waiting for another compile into %s to finish\n", d->out);
		while (flock(d->lock_fd, LOCK_EX))
			if (errno != EINTR)
				break;
		if (!flock(d->lock_fd, LOCK_EX | LOCK_NB))
			return 0;
	}
	int e = errno;
	close(d->lock_fd);
	d->lock_fd = -1;
	return lfm_error(err, d->out, "cannot lock %s: %s", d->lock_path, strerror(e));
}

/* Dead staging directories inside OUT: those of the fallback layout, and
 * OUT/.lfm2c-PID of lfm2c versions before the lock (never flock'd). */
static void prune_inside(const OutDir *d)
{
	if (d->out_existed)
		fs_prune_stale(d->out, ".lfm2c-");
}

int outdir_begin(OutDir *d, const char *out, LfmError *err)
{
	memset(d, 0, sizeof *d);
	d->lock_fd = d->stage_fd = -1;
	snprintf(d->out, sizeof d->out, "%s", out);
	struct stat st;
	if (!stat(out, &st)) {
		if (!S_ISDIR(st.st_mode))
			return lfm_error(err, out, "exists and is not a directory");
		d->out_existed = 1;
	} else if (errno != ENOENT) {
		return lfm_error(err, out, "cannot use as output directory: %s", strerror(errno));
	}
	if (choose_base(d, err) || take_lock(d, err))
		return -1;
	char stage_prefix[400];
	snprintf(stage_prefix, sizeof stage_prefix, "%sstage-", d->prefix);
	fs_prune_stale(d->base, stage_prefix);
	prune_inside(d);
	if (fs_make_locked_dir(d->base, stage_prefix, d->stage, sizeof d->stage, &d->stage_fd)) {
		int e = errno;
		d->stage[0] = 0;
		outdir_end(d);
		return lfm_error(err, out, "output directory is not writable: %s", strerror(e));
	}
	return 0;
}

/* ------------------------------------------------------------ manifest */

static int read_manifest(const char *out, NameList *l)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", out, OUTDIR_MANIFEST);
	l->n = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[256];
	int first = 1;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (first) {
			first = 0;
			if (strncmp(line, MANIFEST_HEADER, strlen(MANIFEST_HEADER)))
				break;   /* not ours: lists nothing */
			continue;
		}
		if (!strncmp(line, "file ", 5) && safe_name(line + 5))
			add_name(l, line + 5);
	}
	fclose(f);
	return 0;
}

/* Writes the manifest of l into the stage, then renames it into OUT. */
static int write_manifest(OutDir *d, const NameList *l, int complete, LfmError *err)
{
	char tmp[1500], dst[1200];
	snprintf(tmp, sizeof tmp, "%s/%s", d->stage, OUTDIR_MANIFEST);
	snprintf(dst, sizeof dst, "%s/%s", d->out, OUTDIR_MANIFEST);
	char text[2 * OUTDIR_MAX_FILES * (OUTDIR_NAME_MAX + 8) + 200];
	size_t len = (size_t)snprintf(text, sizeof text, "%s%s\n", MANIFEST_HEADER,
	                              complete ? "" : " incomplete: a compile was stopped while moving files");
	for (int i = 0; i < l->n && len < sizeof text; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "file %s\n", l->name[i]);
	if (len >= sizeof text)
		return lfm_error(err, dst, "manifest too long");
	unsigned mode = 0666 & ~fs_umask();
	if (fs_write_file(tmp, text, len, mode))
		return lfm_error(err, dst, "cannot write: %s", strerror(errno));
	if (rename(tmp, dst)) {
		int e = errno;
		unlink(tmp);
		return lfm_error(err, dst, "cannot write: %s", strerror(e));
	}
	return 0;
}

/* ------------------------------------------------------------ commit */

static int move_in(const char *from_dir, const char *to_dir, const NameList *files, LfmError *err);

/* A new OUT: the listed files move into a fresh directory in the stage,
 * which then becomes OUT in one rename. */
static int commit_fresh(OutDir *d, const NameList *l, LfmError *err)
{
	char fresh[1500], man[1600];
	snprintf(fresh, sizeof fresh, "%s/+out", d->stage);
	if (mkdir(fresh, 0777))
		return lfm_error(err, d->out, "cannot create output directory: %s", strerror(errno));
	if (move_in(d->stage, fresh, l, err))
		return -1;
	snprintf(man, sizeof man, "%s/%s", fresh, OUTDIR_MANIFEST);
	char text[2 * OUTDIR_MAX_FILES * (OUTDIR_NAME_MAX + 8) + 64];
	size_t len = (size_t)snprintf(text, sizeof text, "%s\n", MANIFEST_HEADER);
	for (int i = 0; i < l->n && len < sizeof text; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "file %s\n", l->name[i]);
	if (len >= sizeof text || fs_write_file(man, text, len, 0666 & ~fs_umask()))
		return lfm_error(err, d->out, "cannot write %s: %s", OUTDIR_MANIFEST, strerror(errno));
	if (rename(fresh, d->out))
		return lfm_error(err, d->out, "cannot create output directory: %s", strerror(errno));
	return 0;
}

/* Every staged file that would replace a file in OUT must replace one of
 * ours (on the old manifest). */
static int check_no_foreign(const OutDir *d, const NameList *new_files, const NameList *old, LfmError *err)
{
	for (int i = 0; i < new_files->n; i++) {
		char p[1200];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", d->out, new_files->name[i]);
		if (lstat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			return lfm_error(err, p, "is a directory; the build would replace it (choose another -o)");
		if (!has_name(old, new_files->name[i]))
			return lfm_error(err, p, "exists and was not written by lfm2c (not in %s); move it away or "
			                 "choose another -o", OUTDIR_MANIFEST);
	}
	/* runtime/ must be a directory (or absent) */
	for (int i = 0; i < new_files->n; i++) {
		const char *slash = strchr(new_files->name[i], '/');
		if (!slash)
			continue;
		char p[1200];
		struct stat st;
		snprintf(p, sizeof p, "%s/%.*s", d->out, (int)(slash - new_files->name[i]), new_files->name[i]);
		if (!lstat(p, &st) && !S_ISDIR(st.st_mode))
			return lfm_error(err, p, "exists and is not a directory");
	}
	return 0;
}

/* Renames files[] from from_dir to to_dir, creating runtime/ and the like. */
static int move_in(const char *from_dir, const char *to_dir, const NameList *files, LfmError *err)
{
	for (int i = 0; i < files->n; i++) {
		const char *rel = files->name[i];
		char from[1700], to[1700];
		snprintf(from, sizeof from, "%s/%s", from_dir, rel);
		snprintf(to, sizeof to, "%s/%s", to_dir, rel);
		const char *slash = strchr(rel, '/');
		if (slash) {
			char sub[1700];
			snprintf(sub, sizeof sub, "%s/%.*s", to_dir, (int)(slash - rel), rel);
			if (mkdir(sub, 0777) && errno != EEXIST)
				return lfm_error(err, sub, "cannot create directory: %s", strerror(errno));
		}
		if (rename(from, to))
			return lfm_error(err, to, "cannot move into place: %s", strerror(errno));
	}
	return 0;
}

/* Files of the old build the new one does not have, and the directories
 * they leave empty. */
static void remove_leftovers(const OutDir *d, const NameList *old, const NameList *new_files)
{
	for (int i = 0; i < old->n; i++) {
		if (has_name(new_files, old->name[i]))
			continue;
		char p[1200];
		snprintf(p, sizeof p, "%s/%s", d->out, old->name[i]);
		unlink(p);
		const char *slash = strchr(old->name[i], '/');
		if (slash) {
			snprintf(p, sizeof p, "%s/%.*s", d->out, (int)(slash - old->name[i]), old->name[i]);
			rmdir(p);   /* only if empty */
		}
	}
}

int outdir_commit(OutDir *d, char names[][OUTDIR_NAME_MAX], int n, LfmError *err)
{
	NameList *new_files = calloc(1, sizeof *new_files), *old = calloc(1, sizeof *old),
	         *both = calloc(1, sizeof *both);
	int rc = -1;
	if (!new_files || !old || !both) {
		lfm_error(err, d->out, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (!safe_name(names[i])) {
			lfm_error(err, d->out, "internal error: bad output name '%s'", names[i]);
			goto out;
		}
		add_name(new_files, names[i]);
	}
	struct stat st;
	if (stat(d->out, &st)) {
		rc = commit_fresh(d, new_files, err);
		goto out;
	}
	read_manifest(d->out, old);
	if (check_no_foreign(d, new_files, old, err))
		goto out;
	for (int i = 0; i < old->n; i++)
		add_name(both, old->name[i]);
	for (int i = 0; i < new_files->n; i++)
		add_name(both, new_files->name[i]);
	if (write_manifest(d, both, 0, err) || move_in(d->stage, d->out, new_files, err))
		goto out;
	remove_leftovers(d, old, new_files);
	rc = write_manifest(d, new_files, 1, err);
out:
	free(new_files);
	free(old);
	free(both);
	return rc;
}

/* ------------------------------------------------------------ end */

void outdir_end(OutDir *d)
{
	if (d->stage[0]) {
		/* the killed compile's C compiler may take an instant to let go */
		for (int tries = 0; tries < 50 && fs_remove_tree(d->stage) && errno == ENOTEMPTY; tries++)
			usleep(20000);
		d->stage[0] = 0;
	}
	if (d->stage_fd >= 0)
		close(d->stage_fd);
	d->stage_fd = -1;
	if (d->lock_fd >= 0)
		close(d->lock_fd);   /* releases the flock; the lock file stays for the next compile */
	d->lock_fd = -1;
}
