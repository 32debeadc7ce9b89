/*
 * rt_internal.h — helpers shared by the runtime's own .c files (not part of
 * the public API in lfm2rt.h): error formatting, 64-byte aligned,
 * zero-filled allocation, and opening an input file that must be a
 * regular file.
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

/* Opens path read-only for an input that must be a regular file (the
 * weights, the tokenizer table, a prompt file, a .npy): opened without
 * blocking, so a FIFO cannot hang the program, refused unless fstat says
 * regular file ("PATH: not a regular file (a FIFO)"), then switched back
 * to blocking reads.  `what` names the file in the "cannot open" message
 * ("weights" -> "PATH: cannot open weights: REASON"; NULL: "cannot
 * open").  Returns the descriptor (close-on-exec), or -1 with err set and
 * errno = open()'s error if the open itself failed (ENOENT: absent), else
 * 0; *size gets the file's size when size is not NULL. */
int rt_open_input(const char *path, const char *what, long long *size, lfm2_err *err);

/* The reason for a failed write: strerror(e), or "short write (disk
 * full?)" when the failing call set no errno (e == 0). */
const char *rt_write_reason(int e);

#endif
