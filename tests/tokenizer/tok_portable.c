/*
 * tok_portable.c — the runtime tokenizer alone, for a foreign target.
 *
 * cross_build.sh compiles this file with runtime_stub/tokenizer_*.c (table,
 * encode, decode, chat) and nothing else (strict C11, libc only) for
 * aarch64 and runs it under qemu: the table written on the build machine
 * must give, on the target, the same ids as tokenizers.js for the whole
 * parity corpus, and decode back.
 *
 *   tok_portable TABLE CORPUS EXPECTED_IDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 20, len = 0;
	char *b = malloc(cap + 1);
	while (b) {
		len += fread(b + len, 1, cap - len, f);
		if (len < cap)
			break;
		char *p = realloc(b, (cap *= 2) + 1);
		if (!p)
			free(b);
		b = p;
	}
	fclose(f);
	if (b) {
		b[len] = '\0';
		*n = len;
	}
	return b;
}

/* next non-comment line, NUL-terminated in place */
static char *next_line(char **p)
{
	while (**p == '#')
		*p = strchr(*p, '\n') ? strchr(*p, '\n') + 1 : *p + strlen(*p);
	if (!**p)
		return NULL;
	char *line = *p, *nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: tok_portable TABLE CORPUS EXPECTED_IDS\n");
		return 2;
	}
	size_t tn, cn, en;
	char *table = slurp(argv[1], &tn), *corpus = slurp(argv[2], &cn), *exp = slurp(argv[3], &en);
	if (!table || !corpus || !exp) {
		fprintf(stderr, "tok_portable: cannot read the inputs\n");
		return 2;
	}
	lfm2_tokenizer *t;
	char err[256];
	if (lfm2_tokenizer_open(table, tn, &t, err, sizeof err)) {
		fprintf(stderr, "tok_portable: %s\n", err);
		return 2;
	}
	char *cp = corpus, *ep = exp, *line, *want;
	size_t count = 0, bad = 0, bad_rt = 0;
	while ((line = next_line(&cp)) && (want = next_line(&ep))) {
		size_t len = strlen(line) / 2, n, dl;
		char *text = malloc(len + 1);
		for (size_t i = 0; i < len; i++) {
			unsigned v;
			sscanf(line + 2 * i, "%2x", &v);
			text[i] = (char)v;
		}
		int32_t *ids;
		char *d;
		if (!text || lfm2_tokenizer_encode(t, text, len, LFM2_ENCODE_ADD_SPECIAL, &ids, &n)) {
			fprintf(stderr, "tok_portable: out of memory\n");
			return 2;
		}
		char *w = want;
		size_t k = 0;
		int same = 1;
		while (*w) {
			long v = strtol(w, &w, 10);
			same &= k < n && ids[k] == v;
			k++;
			if (*w == ',')
				w++;
		}
		bad += !(same && k == n);
		if (lfm2_tokenizer_decode(t, ids + 1, n - 1, 0, &d, &dl, err, sizeof err) == 0) {
			bad_rt += dl != len || memcmp(d, text, len) != 0;
			free(d);
		} else {
			bad_rt++;
		}
		free(ids);
		free(text);
		count++;
	}
	lfm2_tokenizer_close(t);
	printf("%zu strings, %zu mismatches, %zu round-trip failures\n", count, bad, bad_rt);
	return (bad || bad_rt || count < 2000) ? 1 : 0;
}
