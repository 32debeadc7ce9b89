/*
 * fileio.c — opening inputs safely and saying why a write failed (see
 * fileio.h for the rules).
 *
 * Why O_NONBLOCK: open(2) of a FIFO for reading blocks until some process
 * opens it for writing, and a read of a character device may never end.
 * Checking with stat() first would leave a window in which the path can be
 * swapped, so the kind is checked with fstat() on the descriptor that is
 * then read: opened without blocking, refused unless it is a regular
 * file, and switched back to blocking reads (O_NONBLOCK means nothing for
 * a regular file, but the caller should not inherit a surprising flag).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

const char *lfm_file_kind(unsigned mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a plain file";
}

static int not_regular(const char *path, unsigned mode, LfmError *err)
{
	return lfm_error(err, path, "not a regular file (%s)", lfm_file_kind(mode));
}

int lfm_open_input(const char *path, struct stat *st, LfmError *err)
{
	struct stat local;
	if (!st)
		st = &local;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return lfm_error(err, path, "cannot open: %s", strerror(errno));
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		return lfm_error(err, path, "cannot stat: %s", strerror(e));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return not_regular(path, st->st_mode, err);
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		int e = errno;
		close(fd);
		return lfm_error(err, path, "cannot set blocking reads: %s", strerror(e));
	}
	return fd;
}

FILE *lfm_fopen_input(const char *path, LfmError *err)
{
	int fd = lfm_open_input(path, NULL, err);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		lfm_error(err, path, "cannot open: %s", strerror(errno));
		close(fd);
	}
	return f;
}

int lfm_check_optional_input(const char *path, LfmError *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : lfm_error(err, path, "cannot stat: %s", strerror(errno));
	return S_ISREG(st.st_mode) ? 0 : not_regular(path, st.st_mode, err);
}

/* errno after a failed call, LFM_IO_SHORT if the call left it clear. */
static int failure_status(void)
{
	return errno ? errno : LFM_IO_SHORT;
}

int lfm_io_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		errno = 0;
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? failure_status() : LFM_IO_SHORT;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

int lfm_io_fwrite(FILE *f, const void *p, size_t n)
{
	errno = 0;
	return n == 0 || fwrite(p, 1, n, f) == n ? 0 : failure_status();
}

int lfm_io_fclose(FILE *f)
{
	errno = 0;
	return fclose(f) == 0 ? 0 : failure_status();
}

int lfm_io_fflush(FILE *f)
{
	errno = 0;
	if (fflush(f) != 0)
		return failure_status();
	return ferror(f) ? LFM_IO_SHORT : 0;
}

const char *lfm_io_reason(int status)
{
	return status == LFM_IO_SHORT ? "short write (disk full?)" : strerror(status);
}
