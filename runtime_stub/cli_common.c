/*
 * cli_common.c — lfm2-run's small shared helpers: one-line errors, the
 * files next to the program, input files (regular files only, through the
 * runtime's rt_open_input), the clock, and opening weights + thread pool
 * + session for a run.
 *
 * They live apart from main.c so that every runtime source except main.c
 * (the "library" the tests and tools link, see tests/session/run.sh) links
 * on its own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* POSIX + readlink under -std=c11 too */
#endif
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rt_internal.h"

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("lfm2-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

char *cli_exe_sibling(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash = NULL;
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
	}
	if (!slash)
		return strdup(name);
	slash[1] = 0;
	size_t len = strlen(exe) + strlen(name) + 1;
	char *path = malloc(len);
	if (path)
		snprintf(path, len, "%s%s", exe, name);
	return path;
}

FILE *cli_fopen_input(const char *path, lfm2_err *err)
{
	int fd = rt_open_input(path, NULL, NULL, err);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		int e = errno;
		close(fd);
		rt_fail(err, "%s: cannot open: %s", path, strerror(e));
		errno = 0;
	}
	return f;
}

static int stdout_failed(int e)
{
	return cli_fail(CLI_RUNTIME, "error writing to stdout: %s", rt_write_reason(e));
}

int cli_flush_stdout(void)
{
	errno = 0;
	if (fflush(stdout) != 0)
		return stdout_failed(errno);
	return ferror(stdout) ? stdout_failed(0) : 0;   /* an earlier buffered write failed */
}

int cli_write_stdout(const void *p, size_t n)
{
	errno = 0;
	if (n && fwrite(p, 1, n, stdout) != n)
		return stdout_failed(errno);
	return cli_flush_stdout();
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cli_rate(long n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

/* MemAvailable of /proc/meminfo (or of the file LFM2_MEMINFO names: the
 * tests' stand-in) in bytes, or 0 when it cannot be read (then nothing is
 * refused for want of memory). */
static uint64_t mem_available(void)
{
	const char *path = getenv("LFM2_MEMINFO");
	FILE *f = fopen(path && *path ? path : "/proc/meminfo", "r");
	if (!f)
		return 0;
	char line[256];
	unsigned long long kib = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib * 1024;
}

static double mib(uint64_t bytes) { return (double)bytes / (1 << 20); }

/* The context must be within the model's positions, and the session's KV
 * cache and scratch must fit the memory available now (the weights are
 * already in): one line and CLI_USAGE otherwise, before anything is
 * allocated, so a too-large -c never pushes the machine into swap.
 * --verbose-prompt prints the plan. */
int cli_check_memory(const cli_options *o, const lfm2_model_info *m, const cli_runtime *rt)
{
	if (m->max_position > 0 && o->ctx > m->max_position) {
		cli_fail(CLI_USAGE, "-c %ld: the model has %d positions (max_position_embeddings)", o->ctx, m->max_position);
		return -1;
	}
	lfm2_err err;
	uint64_t kv, scratch;
	int threads = lfm2_pool_threads(rt->pool);
	if (lfm2_session_plan(m, (int32_t)o->ctx, (int32_t)o->chunk, threads, &kv, &scratch, &err) != 0) {
		cli_fail(CLI_USAGE, "%s", err.msg);
		return -1;
	}
	uint64_t avail = mem_available();
	if (o->verbose_prompt)
		fprintf(stderr, "memory: KV cache %.1f MiB (%ld positions x %.1f KiB), scratch %.1f MiB (chunks of %ld, "
		        "%d threads), weights %.1f MiB; available %.0f MiB\n", mib(kv), o->ctx,
		        (double)m->kv_floats_per_pos * sizeof(float) / 1024, mib(scratch), o->chunk < o->ctx ? o->chunk : o->ctx,
		        threads, mib(lfm2_weights_bytes(rt->weights)), mib(avail));
	if (avail && kv + scratch > avail) {
		cli_fail(CLI_USAGE, "-c %ld needs %.0f MiB (KV cache %.0f MiB, scratch %.0f MiB) and %.0f MiB of memory is "
		         "available (MemAvailable)", o->ctx, mib(kv + scratch), mib(kv), mib(scratch), mib(avail));
		return -1;
	}
	return 0;
}

int cli_open_runtime(const cli_options *o, const lfm2_model_info *m, cli_runtime *rt)
{
	memset(rt, 0, sizeof *rt);
	char *default_path = o->weights ? NULL : cli_exe_sibling("weights.bin");
	const char *path = o->weights ? o->weights : default_path;
	if (!path)
		return cli_fail(CLI_RUNTIME, "out of memory");
	lfm2_err err;
	double t0 = cli_now();
	rt->weights = lfm2_weights_open(path, m,
	                                o->use_mmap      ? LFM2_WEIGHTS_MMAP
	                                : o->small_pages ? LFM2_WEIGHTS_READ_SMALL_PAGES
	                                                 : LFM2_WEIGHTS_READ,
	                                &err);
	free(default_path);
	if (!rt->weights)
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	rt->load_s = cli_now() - t0;
	rt->load_mode = lfm2_weights_mode_name(rt->weights);
	rt->pool = lfm2_pool_create((int)o->threads, &err);
	if (rt->pool && cli_check_memory(o, m, rt) != 0) {
		cli_close_runtime(rt);
		return CLI_USAGE;
	}
	rt->session = rt->pool ? lfm2_session_create(m, rt->weights, (int32_t)o->ctx, (int32_t)o->chunk, rt->pool, &err)
	                       : NULL;
	if (!rt->session) {
		cli_close_runtime(rt);
		return cli_fail(CLI_RUNTIME, "%s", err.msg);
	}
	return 0;
}

void cli_close_runtime(cli_runtime *rt)
{
	lfm2_session_free(rt->session);
	lfm2_pool_destroy(rt->pool);
	lfm2_weights_close(rt->weights);
	memset(rt, 0, sizeof *rt);
}
