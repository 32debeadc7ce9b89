/*
 * check.h — the one assertion harness of lfm2c's C tests.
 *
 * A test includes "check.h" (tests/CMakeLists.txt puts tests/tools on the
 * include path of every test target), calls the macros below as it goes,
 * and ends main with
 *
 *     return check_finish("test_name");
 *
 * The checks.  Each one counts in check_count; a failed one counts in
 * check_failures and the test goes on, so one run reports every failure:
 *
 *   CHECK(cond)                  cond must be true (non-zero)
 *   CHECK(cond, fmt, ...)        the same, with a printf-style explanation
 *                                (it may show the values cond looked at)
 *   CHECK_INT(got, want)         two integers, compared as long long, equal
 *   CHECK_CONTAINS(hay, needle)  the string hay contains the string needle
 *   CHECK_FAIL(fmt, ...)         a failed check found by the test's own
 *                                logic (a loop that compared many values,
 *                                a file left behind, ...)
 *   CHECK_OR_DIE(cond)           a precondition the rest of the test needs
 *                                (an allocation, an open): on failure it
 *                                reports "EXPR: fatal, the test stops here"
 *                                and exits 1 at once
 *
 * check_case may point at the name of the running case (or be NULL); it
 * is printed in every failure line while set.
 *
 * How a failure is reported: one line on stderr (stdout is flushed first,
 * so in the ctest log the line comes after the test's own progress lines):
 *
 *   FILE:LINE: FAIL: EXPR                       CHECK(cond)
 *   FILE:LINE: FAIL: EXPR: MESSAGE              CHECK(cond, fmt, ...)
 *   FILE:LINE: FAIL: GOT == WANT: 3 != 4        CHECK_INT (the two values)
 *   FILE:LINE: FAIL: 'HAY' does not contain 'NEEDLE'   CHECK_CONTAINS
 *   FILE:LINE: FAIL: MESSAGE                    CHECK_FAIL
 *   FILE:LINE: FAIL [CASE]: ...                 any of them, check_case set
 *
 * where EXPR, GOT and WANT are the source text of the arguments.
 *
 * The exit status: check_finish(NAME) prints "NAME: N checks passed" on
 * stdout, or "NAME: F of N checks failed" on stderr, and returns 0 when
 * no check failed, else 1 — main returns it.  CHECK_OR_DIE exits with 1.
 * Exit status 2 is left to the tests themselves for usage and set-up
 * errors (wrong arguments, an input file that cannot be read): the test
 * could not run, which is not a failed check.
 *
 * Every function here is static inline and the counters are static: a test
 * is one translation unit that includes this header once.  C11.
 */
#ifndef LFM2C_TESTS_CHECK_H
#define LFM2C_TESTS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count;            /* checks evaluated */
static int check_failures;         /* checks that failed */
static const char *check_case;     /* the running case, or NULL */

/* Prints the condition's source text.  ARGS is #__VA_ARGS__ of CHECK: the
 * condition is the text up to its first comma outside brackets and
 * literals (the rest is the message's format and values). */
static inline void check_print_cond_(const char *args)
{
	int depth = 0;
	size_t n = 0;
	char quote = 0;
	for (; args[n]; n++) {
		char c = args[n];
		if (quote) {
			if (c == '\\' && args[n + 1])
				n++;
			else if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '(' || c == '[' || c == '{') {
			depth++;
		} else if (c == ')' || c == ']' || c == '}') {
			depth--;
		} else if (c == ',' && depth == 0) {
			break;
		}
	}
	fprintf(stderr, "%.*s", (int)n, args);
}

/* A failure line; ARGS (CHECK's arguments as text) or NULL, then the
 * message, or none when FMT is NULL. */
static inline void check_fail_(const char *file, int line, const char *args, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline void check_fail_(const char *file, int line, const char *args, const char *fmt, ...)
{
	fflush(stdout);
	check_failures++;
	if (check_case)
		fprintf(stderr, "%s:%d: FAIL [%s]: ", file, line, check_case);
	else
		fprintf(stderr, "%s:%d: FAIL: ", file, line);
	if (args)
		check_print_cond_(args);
	if (args && fmt)
		fputs(": ", stderr);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
}

static inline void check_int_(const char *file, int line, const char *got_text, const char *want_text,
                              long long got, long long want)
{
	check_count++;
	if (got != want)
		check_fail_(file, line, NULL, "%s == %s: %lld != %lld", got_text, want_text, got, want);
}

static inline void check_contains_(const char *file, int line, const char *hay, const char *needle)
{
	check_count++;
	if (!hay || !needle || !strstr(hay, needle))
		check_fail_(file, line, NULL, "'%s' does not contain '%s'", hay ? hay : "(null)",
		            needle ? needle : "(null)");
}

/* CHECK(cond) or CHECK(cond, fmt, ...): the form is picked by the number
 * of arguments (up to 32), so both are plain C11. */
#define CHECK(...)                                                                                  \
	CHECK_PICK_(__VA_ARGS__, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_,   \
	            CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_,    \
	            CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_,    \
	            CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_,    \
	            CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_MSG_, CHECK_PLAIN_, CHECK_NONE_)             \
	(#__VA_ARGS__, __VA_ARGS__)
#define CHECK_PICK_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, \
                    a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, name, ...)           \
	name
#define CHECK_PLAIN_(text, cond)                                                                     \
	do {                                                                                         \
		check_count++;                                                                       \
		if (!(cond))                                                                         \
			check_fail_(__FILE__, __LINE__, text, NULL);                                 \
	} while (0)
#define CHECK_MSG_(text, cond, ...)                                                                  \
	do {                                                                                         \
		check_count++;                                                                       \
		if (!(cond))                                                                         \
			check_fail_(__FILE__, __LINE__, text, __VA_ARGS__);                          \
	} while (0)

#define CHECK_INT(got, want) \
	check_int_(__FILE__, __LINE__, #got, #want, (long long)(got), (long long)(want))
#define CHECK_CONTAINS(hay, needle) check_contains_(__FILE__, __LINE__, (hay), (needle))
#define CHECK_FAIL(...)                                                                              \
	do {                                                                                         \
		check_count++;                                                                       \
		check_fail_(__FILE__, __LINE__, NULL, __VA_ARGS__);                                  \
	} while (0)
#define CHECK_OR_DIE(cond)                                                                           \
	do {                                                                                         \
		check_count++;                                                                       \
		if (!(cond)) {                                                                       \
			check_fail_(__FILE__, __LINE__, #cond, "fatal, the test stops here");        \
			exit(1);                                                                     \
		}                                                                                    \
	} while (0)

/* The summary line and the exit status: 0 when every check passed, else 1. */
static inline int check_finish(const char *name)
{
	fflush(stdout);
	if (check_failures) {
		fprintf(stderr, "%s: %d of %d checks failed\n", name, check_failures, check_count);
		return 1;
	}
	printf("%s: %d checks passed\n", name, check_count);
	return 0;
}

#endif
