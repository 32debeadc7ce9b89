/*
 * fileio.h — how lfm2c opens the files it is given and reports failed
 * writes (used by frontend/, passes/, ir/ and driver/).
 *
 * Inputs: every file a user names (or puts in a model directory) is opened
 * with lfm_open_input, which refuses anything but a regular file before a
 * single byte is read.  The open itself uses O_NONBLOCK, so a FIFO in
 * place of config.json cannot hang lfm2c waiting for a writer; the flag is
 * cleared again before the caller reads.  The message names what the path
 * is instead: "PATH: not a regular file (a FIFO)".
 *
 * Writes: a failed write says why.  The lfm_io_* calls return 0, the errno
 * of the call that failed, or LFM_IO_SHORT when a call came up short
 * without setting errno (errno is cleared before each call, so a stale
 * value from an earlier, unrelated call is never reported);
 * lfm_io_reason() turns that status into the text for the message.
 */
#ifndef LFM2C_FILEIO_H
#define LFM2C_FILEIO_H

#include <stdio.h>
#include <sys/stat.h>

#include "frontend.h"

/* Opens path read-only (close-on-exec) if it is a regular file; fills *st
 * when st is not NULL.  Returns the descriptor, or -1 with err set
 * ("PATH: cannot open: REASON", "PATH: not a regular file (a directory)"). */
int lfm_open_input(const char *path, struct stat *st, LfmError *err);

/* The same as a stdio stream ("rb"); NULL with err set. */
FILE *lfm_fopen_input(const char *path, LfmError *err);

/* For a file that is optional: 0 if path does not exist or is a regular
 * file; -1 with err set if it exists as anything else (or cannot be
 * examined).  Only stat()s: nothing is opened. */
int lfm_check_optional_input(const char *path, LfmError *err);

/* "a FIFO", "a directory", "a character device", ... for a st_mode. */
const char *lfm_file_kind(unsigned mode);

/* A write that failed without an errno (a short fwrite, write() == 0). */
#define LFM_IO_SHORT (-1)

/* write(2) all n bytes (EINTR and partial writes resumed, so a full disk
 * shows as the ENOSPC of the retried call).  0 or a failure status. */
int lfm_io_write(int fd, const void *p, size_t n);

/* fwrite all n bytes; 0 or a failure status. */
int lfm_io_fwrite(FILE *f, const void *p, size_t n);

/* fclose (which flushes); 0 or a failure status. */
int lfm_io_fclose(FILE *f);

/* fflush, then the stream's error flag (an earlier buffered write that
 * failed); 0 or a failure status (LFM_IO_SHORT when only the flag tells). */
int lfm_io_fflush(FILE *f);

/* The reason for a failure status: strerror(status), or
 * "short write (disk full?)" for LFM_IO_SHORT. */
const char *lfm_io_reason(int status);

#endif
