/*
 * rt_util.c — the helpers every part of the runtime needs: one-line error
 * messages (lfm2_err), zero-filled 64-byte aligned memory, and the one way
 * an input file is opened (rt_open_input: regular files only, checked on
 * the descriptor after a non-blocking open, so a FIFO given as the weights
 * or a prompt file is an error instead of a hang).
 *
 * The aligned allocator over-allocates with calloc and keeps the original
 * pointer just below the aligned block.  calloc (unlike posix_memalign +
 * memset) lets big KV caches stay untouched, zero pages from the OS until
 * the model writes them, so a 4096-position cache costs nothing up front.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_internal.h"

int rt_fail(lfm2_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

#define RT_ALIGN 64

void *rt_calloc_aligned(size_t bytes)
{
	if (bytes > SIZE_MAX - 2 * RT_ALIGN)
		return NULL;
	unsigned char *raw = calloc(1, bytes + 2 * RT_ALIGN);
	if (!raw)
		return NULL;
	uintptr_t p = ((uintptr_t)raw + sizeof(void *) + RT_ALIGN - 1) & ~(uintptr_t)(RT_ALIGN - 1);
	((void **)p)[-1] = raw;
	return (void *)p;
}

void rt_free_aligned(void *p)
{
	if (p)
		free(((void **)p)[-1]);
}

/* What a non-regular file is, for the message. */
static const char *file_kind(mode_t mode)
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
	return "not a plain file";
}

int rt_open_input(const char *path, const char *what, long long *size, lfm2_err *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rt_fail(err, "%s: cannot open%s%s: %s", path, what ? " " : "", what ? what : "", strerror(e));
		errno = e;   /* callers may tell "absent" (ENOENT) from the rest */
		return -1;
	}
	struct stat st;
	const char *problem = NULL;
	int e = 0;
	if (fstat(fd, &st) != 0) {
		problem = "cannot stat";
		e = errno;
	} else if (!S_ISREG(st.st_mode)) {
		rt_fail(err, "%s: not a regular file (%s)", path, file_kind(st.st_mode));
		close(fd);
		errno = 0;
		return -1;
	} else {
		int flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
			problem = "cannot set blocking reads";
			e = errno;
		}
	}
	if (problem) {
		rt_fail(err, "%s: %s: %s", path, problem, strerror(e));
		close(fd);
		errno = 0;
		return -1;
	}
	if (size)
		*size = (long long)st.st_size;
	return fd;
}

const char *rt_write_reason(int e)
{
	return e ? strerror(e) : "short write (disk full?)";
}
