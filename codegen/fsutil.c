/*
 * fsutil.c — writing files and directories so that failures say why and
 * leave nothing behind (fsutil.h).
 *
 * The removal walks with openat/unlinkat relative to directory descriptors
 * opened O_NOFOLLOW, so a symlink planted inside a staging directory is
 * unlinked itself and never leads the walk elsewhere.  Staleness is told
 * by flock: a writer keeps its directory open and locked for as long as it
 * writes, the kernel drops the lock when the writer dies however it dies,
 * and a pruner that can take the lock knows nobody is left.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fsutil.h"

int fs_write_file(const char *path, const void *p, size_t n, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return -1;
	int io = lfm_io_write(fd, p, n);
	int rc = io ? -1 : 0;
	int saved = io == LFM_IO_SHORT ? ENOSPC : io;
	if (close(fd) && !rc) {
		rc = -1;
		saved = errno;
	}
	if (rc) {
		unlink(path);
		errno = saved;
	}
	return rc;
}

unsigned fs_umask(void)
{
	mode_t m = umask(022);
	umask(m);
	return (unsigned)m;
}

/* Empties the directory open as fd (depth-limited: staging trees are
 * shallow; a deeper tree is not ours).  Closes fd. */
static int empty_dir(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0, saved = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (!unlinkat(dirfd(d), nm, 0))
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			saved = errno;
			continue;
		}
		int sub = depth < 8 ? openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (sub < 0 || empty_dir(sub, depth + 1) || unlinkat(dirfd(d), nm, AT_REMOVEDIR)) {
			rc = -1;
			saved = errno;
		}
	}
	closedir(d);
	errno = saved;
	return rc;
}

int fs_remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (empty_dir(fd, 0))
		return -1;
	return rmdir(path) && errno != ENOENT ? -1 : 0;
}

int fs_prune_stale(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int removed = 0;
	size_t plen = strlen(prefix);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, plen) || !e->d_name[plen])
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd);   /* its writer is alive */
			continue;
		}
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		removed += fs_remove_tree(path) == 0;
		close(fd);
	}
	closedir(d);
	return removed;
}

int fs_make_locked_dir(const char *dir, const char *prefix, char *path, size_t n, int *fd)
{
	int k = snprintf(path, n, "%s/%sXXXXXX", dir, prefix);
	if (k < 0 || (size_t)k >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!mkdtemp(path))
		return -1;
	/* lock before anyone can see it unlocked for long: a pruner racing in
	 * this instant could remove it, which the fchmod below then notices */
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0 || flock(*fd, LOCK_EX) || fchmod(*fd, (mode_t)(0777 & ~fs_umask()))) {
		int saved = errno;
		if (*fd >= 0)
			close(*fd);
		rmdir(path);
		errno = saved;
		return -1;
	}
	struct stat a, b;
	if (fstat(*fd, &a) || stat(path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(*fd);   /* pruned between mkdtemp and flock: its name is free again */
		errno = EAGAIN;
		return -1;
	}
	return 0;
}
