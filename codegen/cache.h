/*
 * cache.h — the build cache of `lfm2c compile`, and the progress line.
 *
 * A compile is a pure function of its inputs: the checkpoint (its resolved
 * config and every tensor's hash), the options, the target, the C compiler
 * and lfm2c itself.  The cache keys a finished set of output files by the
 * XXH3-64 of all of those, written out as text (see cache_key_add), so a
 * repeated compile copies the files instead of redoing minutes of work.
 *
 * Entries live in $XDG_CACHE_HOME/lfm2c/<key>/ (else ~/.cache/lfm2c/),
 * each a directory of the output files plus MANIFEST listing them; an
 * entry appears atomically (built under a temporary name, renamed).
 */
#ifndef LFM2C_CACHE_H
#define LFM2C_CACHE_H

#include <stdint.h>
#include <stdio.h>

#include "frontend.h"

typedef struct CacheKey {
	char text[8192];   /* what the key hashes, "name value" lines */
	size_t len;
} CacheKey;

/* Appends "name value\n" to the key text. */
void cache_key_add(CacheKey *k, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t cache_key_hash(const CacheKey *k);

/* XXH3-64 of a whole file (lfm2c's own executable goes into the key);
 * 0 if it cannot be read. */
uint64_t cache_file_hash(const char *path);

/* The cache root ($XDG_CACHE_HOME/lfm2c or ~/.cache/lfm2c) into buf; -1 if
 * neither variable is set. */
int cache_dir(char *buf, size_t n);

/* If entry `key` exists, copies its files into dir (keeping the exec bit)
 * and lists their relative names in names[] (up to cap).  Returns the
 * number of files, 0 on a miss, -1 on a failed copy (err). */
int cache_fetch(uint64_t key, const char *dir, char names[][128], int cap, LfmError *err);

/* Stores files names[0..n) of dir as entry `key` (best effort: a failure
 * only warns, a compile never fails because of the cache). */
void cache_store(uint64_t key, const char *dir, char names[][128], int n);

/* Copies a file (copy_file_range, falling back to read/write); mode
 * 0755 when exec, else 0644.  Returns 0 or -1 (err). */
int copy_file(const char *from, const char *to, int exec, LfmError *err);

/* ---------------------------------------------------------------- progress
 * On a terminal, one line rewritten in place:
 *   lfm2c: writing weights     42%   3.1 s
 * Nothing at all when stderr is not a terminal. */
typedef struct Progress {
	int tty;
	double t0;
	const char *stage;
	int shown;
	double last;
} Progress;

void progress_init(Progress *p);
/* Enters a stage that runs from overall percent lo to hi. */
void progress_stage(Progress *p, const char *stage, int percent);
/* Within the current stage: percent of the whole compile. */
void progress_percent(Progress *p, int percent);
/* Clears the line (before the final message or an error). */
void progress_done(Progress *p);
double progress_elapsed(const Progress *p);

#endif
