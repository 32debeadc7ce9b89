/*
 * cmd_tokenize.c — `lfm2c tokenize`: the model's tokenizer from the command
 * line, for checking what a prompt turns into.
 *
 *   lfm2c tokenize MODEL_DIR TEXT            ids, comma-separated (with BOS)
 *   lfm2c tokenize MODEL_DIR --decode IDS    the text of comma/space-separated ids
 *   lfm2c tokenize MODEL_DIR --write-table FILE
 *                                            the compiled tokenizer table (what
 *                                            lfm2-run loads as tokenizer.bin)
 *   options: --no-special  encode without BOS; decode without special tokens
 *            --split-special  encode special-token text as plain text
 *   TEXT "-" reads standard input; "--" ends the options: every argument
 *   after it is literal text, "-" and "--" included.  (lfm2-run has no
 *   positional text: the value after -p, --system or --tokenize is always
 *   text, whatever it starts with.)
 *
 * It goes through exactly the path a compiled model uses: tokenizer.json is
 * compiled to the binary table (frontend/tokenizer_json.c) and the table is
 * opened by the runtime tokenizer (runtime_stub/tokenizer_table.c; encoding
 * in tokenizer_encode.c, decoding in tokenizer_decode.c), so what this
 * prints is what lfm2-run will feed the model.  --write-table writes that
 * table itself, byte for byte what `lfm2c compile` puts in OUT/tokenizer.bin,
 * through a temporary file renamed into place (nothing half-written is
 * left behind on failure).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "fileio.h"
#include "lfm2_tokenizer.h"
#include "tokenizer.h"

static int usage(void)
{
	return lfm_fail("usage: lfm2c tokenize MODEL_DIR [--no-special] [--split-special] "
	                   "(TEXT | - | -- TEXT | --decode IDS | --write-table FILE)");
}

static char *read_stdin(size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, stdin);
		if (n < cap)
			break;
		char *p = realloc(buf, cap *= 2);
		if (!p) {
			free(buf);
			return NULL;
		}
		buf = p;
	}
	if (buf && ferror(stdin)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* "1,2 3" -> ids; -1 with a message on a bad id. */
static int parse_ids(const lfm2_tokenizer *t, const char *s, int32_t **ids, size_t *n)
{
	size_t cap = 16;
	*n = 0;
	*ids = malloc(cap * sizeof **ids);
	if (!*ids)
		return lfm_fail("tokenize: out of memory");
	for (;;) {
		while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			return 0;
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || errno || v < 0 || v >= lfm2_tokenizer_n_tokens(t) ||
		    (*end && *end != ',' && *end != ' ' && *end != '\t' && *end != '\n')) {
			int k = (int)strcspn(s, ", \t\n");
			free(*ids);
			return lfm_fail("tokenize: bad token id '%.*s' (ids are 0..%d)", k, s,
			                   lfm2_tokenizer_n_tokens(t) - 1);
		}
		if (*n == cap) {
			int32_t *p = realloc(*ids, (cap *= 2) * sizeof *p);
			if (!p) {
				free(*ids);
				return lfm_fail("tokenize: out of memory");
			}
			*ids = p;
		}
		(*ids)[(*n)++] = (int32_t)v;
		s = end;
	}
}

/* The compiled table of dir's tokenizer (malloc'd), or 1 after a message. */
static int build_table(const char *dir, void **bytes, size_t *n)
{
	LfmError e;
	int rc = lfm_tokenizer_build(dir, bytes, n, &e);
	if (rc < 0)
		return lfm_fail("%s", e.msg);
	if (rc == 0)
		return lfm_fail("%s: no tokenizer.json (this model takes token ids only)", dir);
	return 0;
}

static int open_tokenizer(const char *dir, lfm2_tokenizer **t)
{
	void *bytes;
	size_t n;
	if (build_table(dir, &bytes, &n))
		return 1;
	char err[256];
	int rc = lfm2_tokenizer_open(bytes, n, t, err, sizeof err);
	free(bytes);
	return rc ? lfm_fail("%s: %s", dir, err) : 0;
}

/* Writes bytes to path via "path.XXXXXX" + rename. */
static int write_file_atomic(const char *path, const void *bytes, size_t n)
{
	size_t len = strlen(path) + sizeof ".XXXXXX";
	char *tmp = malloc(len);
	if (!tmp)
		return lfm_fail("tokenize: out of memory");
	snprintf(tmp, len, "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int rc = lfm_fail("%s: cannot create: %s", path, strerror(errno));
		free(tmp);
		return rc;
	}
	int saved = lfm_io_write(fd, bytes, n);
	if (!saved && fchmod(fd, 0644) != 0)
		saved = errno;
	if (close(fd) != 0 && !saved)
		saved = errno;
	if (!saved && rename(tmp, path) != 0)
		saved = errno;
	if (saved) {
		unlink(tmp);
		free(tmp);
		return lfm_fail("%s: cannot write: %s", path, lfm_io_reason(saved));
	}
	free(tmp);
	return 0;
}

static int do_write_table(const char *dir, const char *path)
{
	void *bytes;
	size_t n;
	if (build_table(dir, &bytes, &n))
		return 1;
	int rc = write_file_atomic(path, bytes, n);
	free(bytes);
	return rc;
}

/* Flushes stdout; 0, or 1 after "tokenize: cannot write the output: REASON". */
static int flush_output(void)
{
	int e = lfm_io_fflush(stdout);
	return e ? lfm_fail("tokenize: cannot write the output: %s", lfm_io_reason(e)) : 0;
}

/* Encodes arg, or standard input when arg is "-" given before any "--"
 * (literal: it came after "--"). */
static int do_encode(const lfm2_tokenizer *t, const char *arg, bool literal, unsigned flags)
{
	size_t len = 0;
	char *text = NULL;
	if (!literal && strcmp(arg, "-") == 0) {
		text = read_stdin(&len);
		if (!text)
			return lfm_fail("tokenize: cannot read standard input");
		arg = text;
	} else {
		len = strlen(arg);
	}
	int32_t *ids;
	size_t n;
	int rc = lfm2_tokenizer_encode(t, arg, len, flags, &ids, &n);
	free(text);
	if (rc)
		return lfm_fail("tokenize: out of memory");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", ids[i]);
	putchar('\n');
	free(ids);
	return flush_output();
}

static int do_decode(const lfm2_tokenizer *t, const char *arg, unsigned flags)
{
	int32_t *ids;
	size_t n, len;
	if (parse_ids(t, arg, &ids, &n))
		return 1;
	char *text, err[256];
	int rc = lfm2_tokenizer_decode(t, ids, n, flags, &text, &len, err, sizeof err);
	free(ids);
	if (rc)
		return lfm_fail("tokenize: %s", err);
	fwrite(text, 1, len, stdout);
	putchar('\n');
	free(text);
	return flush_output();
}

int cmd_tokenize(int argc, char **argv)
{
	const char *dir = NULL, *text = NULL, *decode = NULL, *table = NULL;
	bool no_special = false, split_special = false, options = true, literal = false;
	for (int i = 1; i < argc; i++) {
		if (options && !strcmp(argv[i], "--"))
			options = false;
		else if (!options)
			goto positional;
		else if (!strcmp(argv[i], "--no-special"))
			no_special = true;
		else if (!strcmp(argv[i], "--split-special"))
			split_special = true;
		else if (!strcmp(argv[i], "--decode") && i + 1 < argc && !decode)
			decode = argv[++i];
		else if (!strcmp(argv[i], "--write-table") && i + 1 < argc && !table)
			table = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage();
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage();
		else {
positional:
			if (!dir)
				dir = argv[i];
			else if (!text) {
				text = argv[i];
				literal = !options;
			}
			else
				return usage();
		}
	}
	if (!dir || (text != NULL) + (decode != NULL) + (table != NULL) != 1)
		return usage();
	if (table)
		return (no_special || split_special) ? usage() : do_write_table(dir, table);
	lfm2_tokenizer *t;
	if (open_tokenizer(dir, &t))
		return 1;
	int rc;
	if (decode)
		rc = do_decode(t, decode, no_special ? LFM2_DECODE_SKIP_SPECIAL : 0);
	else
		rc = do_encode(t, text, literal, (no_special ? 0 : LFM2_ENCODE_ADD_SPECIAL) |
		                                (split_special ? LFM2_ENCODE_SPLIT_SPECIAL : 0));
	lfm2_tokenizer_close(t);
	return rc;
}
