/*
 * fsutil.h — small filesystem tools for the writers of lfm2c's outputs
 * (the compile's output directory, the build cache, the blob).
 *
 * Writes report the errno of the call that failed (frontend/fileio.h
 * retries a write that stopped short, so a full disk says "No space left
 * on device", not whatever errno an earlier call left behind).  Directories that a
 * writer fills are flock'd while it fills them: a directory nobody holds
 * a lock on any more is a dead writer's, and can be removed.  Nothing here
 * is global.
 */
#ifndef LFM2C_FSUTIL_H
#define LFM2C_FSUTIL_H

#include <stddef.h>

/* Creates (or truncates) path with `mode` and writes n bytes; fsync is not
 * implied.  0, or -1 with errno set; a failed file is unlinked. */
int fs_write_file(const char *path, const void *p, size_t n, unsigned mode);

/* Removes directory `path` and everything below it; symlinks inside are
 * removed, never followed.  0, or -1 with errno set. */
int fs_remove_tree(const char *path);

/* Removes each entry of dir whose name starts with `prefix` and that is a
 * directory nobody holds an flock on: a staging directory whose writer
 * died.  Returns how many it removed. */
int fs_prune_stale(const char *dir, const char *prefix);

/* Creates a fresh directory "<dir>/<prefix>XXXXXX" with mode
 * 0777 & ~umask, holds an exclusive flock on it (*fd, close to release)
 * and puts its path into path.  0, or -1 with errno set. */
int fs_make_locked_dir(const char *dir, const char *prefix, char *path, size_t n, int *fd);

/* The current umask, without changing it. */
unsigned fs_umask(void);

#endif
