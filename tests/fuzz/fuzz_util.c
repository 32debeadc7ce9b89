/*
 * fuzz_util.c — the helpers of fuzz.h: assertions, exact-size copies, and
 * the private temp directories the file-based parsers read from.
 *
 * The directories are the only place a harness writes.  Each is made with
 * mkdtemp under $TMPDIR (ctest points that into the build tree; libFuzzer
 * runs from `make fuzz` get a work directory there too) and remembered, so
 * an atexit handler can remove it with its files when the process ends
 * normally.  A crash leaves it behind on purpose: it holds the files the
 * parser saw.
 *
 * Any failure of the harness's own I/O aborts with "fuzz harness error":
 * silently skipping an input would look like a clean run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_DIRS 8

const char FUZZ_SMALL_CONFIG[] =
	"{\"model_type\": \"lfm2\", \"vocab_size\": 16, \"hidden_size\": 8, \"num_hidden_layers\": 2,\n"
	" \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"block_ff_dim\": 16,\n"
	" \"block_multiple_of\": 8, \"block_auto_adjust_ff_dim\": true, \"block_ffn_dim_multiplier\": 1.0,\n"
	" \"conv_L_cache\": 3, \"conv_bias\": false, \"layer_types\": [\"conv\", \"full_attention\"],\n"
	" \"norm_eps\": 1e-05, \"rope_theta\": 1000000.0, \"max_position_embeddings\": 4096,\n"
	" \"bos_token_id\": 1, \"eos_token_id\": 7, \"pad_token_id\": 0}\n";

static char *dirs[MAX_DIRS];
static int n_dirs;
static FILE *devnull;

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", file, line, cond);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

_Noreturn void fuzz_die(const char *fmt, ...)
{
	fprintf(stderr, "fuzz harness error: ");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fuzz_note(const char *fmt, ...)
{
	static int verbose = -1;
	if (verbose < 0) {
		const char *v = getenv("LFM2C_FUZZ_VERBOSE");
		verbose = v && *v && strcmp(v, "0") != 0;
	}
	if (!verbose)
		return;
	fprintf(stderr, "fuzz: ");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void fuzz_check_message(const char *msg, size_t cap)
{
	const char *end = memchr(msg, 0, cap);
	FUZZ_ASSERT(end != NULL, "error message is not NUL-terminated within %zu bytes", cap);
	FUZZ_ASSERT(end > msg, "empty error message");
	for (const char *p = msg; p < end; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f,
		            "control character 0x%02x at byte %td of error message \"%s\"", (unsigned char)*p, p - msg, msg);
}

char *fuzz_copy(const uint8_t *data, size_t n, int nul)
{
	size_t len = n + (nul != 0);
	char *p = malloc(len ? len : 1);
	if (!p)
		fuzz_die("out of memory copying %zu bytes", n);
	if (n)
		memcpy(p, data, n);
	if (nul)
		p[n] = 0;
	return p;
}

char *fuzz_path(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (!p)
		fuzz_die("out of memory");
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

void fuzz_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			fprintf(stderr, "fuzz: cannot open %s to clean it: %s\n", dir, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = fuzz_path(dir, e->d_name);
		if (unlink(p) != 0)
			fprintf(stderr, "fuzz: cannot remove %s: %s\n", p, strerror(errno));
		free(p);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		fprintf(stderr, "fuzz: cannot remove %s: %s\n", dir, strerror(errno));
}

static void cleanup(void)
{
	for (int i = 0; i < n_dirs; i++) {
		fuzz_dir_remove(dirs[i]);
		free(dirs[i]);
	}
	n_dirs = 0;
	if (devnull)
		fclose(devnull);
	devnull = NULL;
}

static void register_cleanup(void)
{
	static int registered;
	if (!registered && atexit(cleanup) != 0)
		fuzz_die("atexit failed");
	registered = 1;
}

char *fuzz_dir_create(const char *tag)
{
	if (n_dirs == MAX_DIRS)
		fuzz_die("more than %d temp directories", MAX_DIRS);
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	size_t cap = strlen(tmp) + strlen(tag) + 32;
	char *p = malloc(cap);
	if (!p)
		fuzz_die("out of memory");
	snprintf(p, cap, "%s/lfm2c-fuzz-%s-XXXXXX", tmp, tag);
	if (!mkdtemp(p))
		fuzz_die("mkdtemp %s: %s", p, strerror(errno));
	register_cleanup();
	dirs[n_dirs++] = p;
	char *ret = malloc(strlen(p) + 1);
	if (!ret)
		fuzz_die("out of memory");
	strcpy(ret, p);
	return ret;
}

void fuzz_write(const char *dir, const char *name, const void *data, size_t n)
{
	char *p = fuzz_path(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fuzz_die("cannot create %s: %s", p, strerror(errno));
	const char *b = data;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, b + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fuzz_die("cannot write %s: %s", p, w < 0 ? strerror(errno) : "no progress");
		done += (size_t)w;
	}
	if (close(fd) != 0)
		fuzz_die("cannot close %s: %s", p, strerror(errno));
	free(p);
}

void fuzz_unlink(const char *dir, const char *name)
{
	char *p = fuzz_path(dir, name);
	if (unlink(p) != 0 && errno != ENOENT)
		fuzz_die("cannot remove %s: %s", p, strerror(errno));
	free(p);
}

FILE *fuzz_devnull(void)
{
	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		if (!devnull)
			fuzz_die("cannot open /dev/null: %s", strerror(errno));
		register_cleanup();
	}
	return devnull;
}

uint32_t fuzz_le32(const uint8_t *data, size_t n, size_t at)
{
	uint32_t v = 0;
	for (size_t i = 0; i < 4; i++)
		if (at + i < n)
			v |= (uint32_t)data[at + i] << (8 * i);
	return v;
}

uint64_t fuzz_le64(const uint8_t *data, size_t n, size_t at)
{
	return (uint64_t)fuzz_le32(data, n, at) | (uint64_t)fuzz_le32(data, n, at + 4) << 32;
}
