/*
 * fuzz.h — what the fuzz harnesses of tests/fuzz/ share.
 *
 * Every harness is one libFuzzer entry point, LLVMFuzzerTestOneInput, that
 * hands arbitrary bytes to one of lfm2c's parsers and then checks what the
 * parser promises: it never crashes, never leaks, and when it accepts an
 * input the result obeys the invariants its header documents.  The same
 * source links either with libFuzzer (clang -fsanitize=fuzzer, `make fuzz`)
 * or with replay_main.c (any C compiler: ctest replays the committed
 * corpus, also under ASan/UBSan), so a harness must not depend on either.
 *
 * Conventions the helpers below enforce:
 *   - A broken invariant is a bug: FUZZ_ASSERT prints what broke and
 *     aborts, which libFuzzer reports as a crash and ctest as a failure.
 *   - Trouble in the harness itself (no temp dir, disk full) is not the
 *     parser's fault, but it must not pass silently either: the helpers
 *     abort with a message that says it was the harness.
 *   - Parsers that want a path get their bytes in a file under a private
 *     directory made with mkdtemp in $TMPDIR (else /tmp); the file is
 *     removed after each input and the directory when the process exits.
 *     Nothing is ever written anywhere else.
 *   - LFM2C_FUZZ_VERBOSE=1 in the environment makes harnesses print what
 *     each input led to (the parser's message, or "ok"), to review seeds.
 */
#ifndef LFM2C_FUZZ_H
#define LFM2C_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The libFuzzer entry point every harness defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with "fuzz invariant failed at FILE:LINE: MESSAGE". */
#define FUZZ_ASSERT(cond, ...)                                            \
	do {                                                                  \
		if (!(cond))                                                      \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);            \
	} while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Aborts with "fuzz harness error: MESSAGE" (not a finding in the code under test). */
_Noreturn void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "fuzz: MESSAGE" to stderr when LFM2C_FUZZ_VERBOSE is set and not "0". */
void fuzz_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An error message must be one non-empty line: NUL-terminated within its
 * cap bytes, no control characters (the callers print it as is). */
void fuzz_check_message(const char *msg, size_t cap);

/* malloc'd copy of data[0..n) holding exactly n bytes (one if n == 0), so
 * that ASan sees a read past the end; with nul, one more byte set to 0. */
char *fuzz_copy(const uint8_t *data, size_t n, int nul);

/* A fresh private directory $TMPDIR/lfm2c-fuzz-TAG-XXXXXX (malloc'd path),
 * removed with its files (fuzz_dir_remove) when the process exits. */
char *fuzz_dir_create(const char *tag);

/* malloc'd "dir/name". */
char *fuzz_path(const char *dir, const char *name);

/* Writes data[0..n) to dir/name (created or truncated). */
void fuzz_write(const char *dir, const char *name, const void *data, size_t n);

/* Removes dir/name if it exists. */
void fuzz_unlink(const char *dir, const char *name);

/* Removes every file in dir (the harnesses make no sub-directories), then dir. */
void fuzz_dir_remove(const char *dir);

/* An open "/dev/null" for warnings and printed reports (opened once,
 * closed at exit). */
FILE *fuzz_devnull(void);

/* config.json of the small model the checkpoint harnesses open: the tiny
 * fixture's layout (tests/fixtures/tiny) shrunk to vocab 16, hidden 8, one
 * conv and one attention layer, ff 16 — what corpus/safetensors/ and the
 * shards of fuzz_index.c are made for. */
extern const char FUZZ_SMALL_CONFIG[];

/* Little-endian readers that never run past data[0..n): missing bytes read as 0. */
uint32_t fuzz_le32(const uint8_t *data, size_t n, size_t at);
uint64_t fuzz_le64(const uint8_t *data, size_t n, size_t at);

#endif
