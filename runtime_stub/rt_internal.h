/*
 * rt_internal.h — helpers shared by the runtime's own .c files (not part of
 * the public API in lfm2rt.h): error formatting and 64-byte aligned,
 * zero-filled allocation.
 */
#ifndef LFM2_RT_INTERNAL_H
#define LFM2_RT_INTERNAL_H

#include <stddef.h>

#include "lfm2rt.h"

#if defined(__GNUC__)
#define RT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RT_PRINTF(a, b)
#endif

/* Formats a one-line message into err (if not NULL); returns -1. */
int rt_fail(lfm2_err *err, const char *fmt, ...) RT_PRINTF(2, 3);

/* `bytes` zeroed bytes at a 64-byte aligned address, or NULL.  calloc
 * underneath, so large blocks come straight from the OS and their pages
 * are only touched when used.  Free with rt_free_aligned. */
void *rt_calloc_aligned(size_t bytes);
void rt_free_aligned(void *p);

#endif
