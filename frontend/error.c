/*
 * error.c — the frontend's one error channel.
 *
 * Every failure in the frontend becomes a single line "PATH: what is
 * wrong" in an LfmError, which the caller prints (the driver prefixes
 * "lfm2c: ").  Messages often quote text that came from the input files —
 * tensor names, JSON values — so the formatter replaces control characters
 * (a newline inside a tensor name, say) with '?': whatever the input, the
 * message stays one line.  The function returns -1 so callers can write
 * `return lfm_error(err, path, "...")`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontend.h"

static void make_single_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int lfm_error(LfmError *e, const char *path, const char *fmt, ...)
{
	if (!e)
		return -1;
	size_t used = 0;
	e->msg[0] = '\0';
	if (path && *path) {
		int n = snprintf(e->msg, sizeof e->msg, "%s: ", path);
		used = n < 0 ? 0 : (size_t)n;
		if (used >= sizeof e->msg)
			used = sizeof e->msg - 1;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg + used, sizeof e->msg - used, fmt, ap);
	va_end(ap);
	make_single_line(e->msg);
	return -1;
}

int lfm_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	make_single_line(msg);
	fprintf(stderr, "lfm2c: %s\n", msg);
	return 1;
}
