/*
 * replay_main.c — run a fuzz harness over saved inputs, without libFuzzer.
 *
 *   fuzz_replay_HARNESS PATH...
 *
 * Each PATH is a file or a directory; a directory stands for its regular
 * files (sorted by name, hidden ones skipped, not recursive).  Every file is
 * read into a buffer of exactly its size and passed once to
 * LLVMFuzzerTestOneInput, the same call libFuzzer makes, so the committed
 * corpus of every harness is replayed by ctest with the ordinary compiler
 * and, in the sanitizer build, under ASan + UBSan with leak checking.  A
 * crash reproducer found by `make fuzz` replays the same way:
 * `fuzz_replay_config crash-...`.
 *
 * Each input's name goes to stderr before it runs, so when one crashes the
 * log says which.  Exit status: 0 if every input ran (a harness reports a
 * bug by aborting), 2 on a usage or I/O error, including a directory with
 * no inputs (an empty corpus would make the test pass for nothing).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the harness on one file; 0 or -1 (I/O error, message printed). */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fprintf(stderr, "replay: cannot stat %s: %s\n", path, strerror(errno));
		fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		fprintf(stderr, "replay: out of memory for %s (%zu bytes)\n", path, n);
		fclose(f);
		return -1;
	}
	size_t got = n ? fread(buf, 1, n, f) : 0;
	int bad = got != n || ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		return -1;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

/* Runs every regular, non-hidden file of dir in name order; returns the
 * number run, or -1. */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	long rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn) {
				rc = -1;
				break;
			}
			names = nn;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		if (!(names[n] = malloc(len))) {
			rc = -1;
			break;
		}
		snprintf(names[n++], len, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (rc < 0)
		fprintf(stderr, "replay: out of memory listing %s\n", dir);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n && rc >= 0; i++) {
		struct stat st;
		if (stat(names[i], &st) != 0) {
			fprintf(stderr, "replay: cannot stat %s: %s\n", names[i], strerror(errno));
			rc = -1;
		} else if (S_ISREG(st.st_mode)) {
			rc = replay_file(names[i]) ? -1 : rc + 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0) {
		fprintf(stderr, "replay: %s holds no inputs\n", dir);
		rc = -1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
		return 2;
	}
	long total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: cannot stat %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		long k = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) ? -1 : 1;
		if (k < 0)
			return 2;
		total += k;
	}
	printf("replay: %ld input(s) ran without a finding\n", total);
	return 0;
}
