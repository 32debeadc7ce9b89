/*
 * test_util.h — the few assertion macros the runtime tests share.  A failed
 * check prints file:line and the expression (plus values) and makes the
 * test exit non-zero at the end; CHECK_OR_DIE stops at once.
 */
#ifndef RT_TEST_UTIL_H
#define RT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); test_failures++; } } while (0)

#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); if (a_ != b_) { \
	fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); \
	test_failures++; } } while (0)

#define CHECK_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); if (!strstr(h_, n_)) { \
	fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__, h_, n_); \
	test_failures++; } } while (0)

#define CHECK_OR_DIE(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: fatal: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

static inline int test_finish(const char *name)
{
	if (test_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
	else
		printf("%s: ok\n", name);
	return test_failures ? 1 : 0;
}

#endif
