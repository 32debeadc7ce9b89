/*
 * rt_util.c — the two helpers every part of the runtime needs: one-line
 * error messages (lfm2_err) and zero-filled 64-byte aligned memory.
 *
 * The aligned allocator over-allocates with calloc and keeps the original
 * pointer just below the aligned block.  calloc (unlike posix_memalign +
 * memset) lets big KV caches stay untouched, zero pages from the OS until
 * the model writes them, so a 4096-position cache costs nothing up front.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink/mkstemp under -std=c11 too */
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
