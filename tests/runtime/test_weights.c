/*
 * test_weights.c — opening and verifying weights blobs.
 *
 * A valid blob for the fake model loads in both modes (read, mmap) and from
 * memory (aligned: used in place; misaligned: copied), with the payload
 * bytes intact and 64-byte aligned.  Every kind of damage — missing file,
 * too short, bad magic, wrong version, wrong header size, payload size of
 * another model, hash of another model, truncated, padded, corrupted
 * payload, a directory or a FIFO instead of a file — is refused in every mode with one message that names the file
 * and says what is wrong.
 */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_model.h"
#include "lfm2rt.h"
#include "check.h"

static const char *tmp_dir;
static unsigned char *good;
static size_t good_size;

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void write_file(const char *path, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK_OR_DIE(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
}

static void check_payload(const lfm2_weights *w)
{
	CHECK_INT(lfm2_weights_bytes(w), fake_model.blob_bytes);
	CHECK_INT((uintptr_t)lfm2_weights_data(w) % 64, 0);
	CHECK(memcmp(lfm2_weights_data(w), good + LFM2_BLOB_HEADER, (size_t)fake_model.blob_bytes) == 0);
}

static void test_good(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/good.bin", tmp_dir);
	CHECK_OR_DIE(fake_model_write_blob(path) == 0);
	lfm2_err err = {{0}};
	static const char *const names[] = {"read", "mmap", "read-4k"};
	for (int mode = 0; mode < 3; mode++) {
		lfm2_weights *w = lfm2_weights_open(path, &fake_model, mode, &err);
		if (!w) {
			CHECK_FAIL("good blob refused: %s", err.msg);
			continue;
		}
		CHECK(!strcmp(lfm2_weights_mode_name(w), names[mode]));
		if (mode == LFM2_WEIGHTS_READ)   /* huge-page memory starts on a 2 MiB boundary */
			CHECK((uintptr_t)lfm2_weights_data(w) % ((uintptr_t)2 << 20) == 0);
		check_payload(w);
		lfm2_weights_close(w);
	}
	/* From memory, payload aligned (used in place) and misaligned (copied). */
	unsigned char *buf = aligned_alloc(64, good_size + 64);
	CHECK_OR_DIE(buf);
	for (int shift = 0; shift <= 1; shift++) {
		memcpy(buf + shift, good, good_size);
		lfm2_weights *w = lfm2_weights_from_memory(buf + shift, good_size, "embedded", &fake_model, &err);
		CHECK_OR_DIE(w);
		CHECK(!strcmp(lfm2_weights_mode_name(w), "memory"));
		check_payload(w);
		if (shift == 0)
			CHECK(lfm2_weights_data(w) == buf + LFM2_BLOB_HEADER);
		else
			CHECK(lfm2_weights_data(w) != buf + 1 + LFM2_BLOB_HEADER);
		lfm2_weights_close(w);
	}
	free(buf);
	lfm2_weights_close(NULL);
}

/* Writes `b` to NAME, expects every way of opening it to fail with a
 * message containing the file name and `why`. */
static void expect_refused(const char *name, const unsigned char *b, size_t n, const char *why)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
	if (b)
		write_file(path, b, n);
	for (int mode = 0; mode < 2; mode++) {
		lfm2_err err = {{0}};
		lfm2_weights *w = lfm2_weights_open(path, &fake_model, mode, &err);
		CHECK(w == NULL);
		lfm2_weights_close(w);
		CHECK_CONTAINS(err.msg, path);
		CHECK_CONTAINS(err.msg, why);
		CHECK(!strchr(err.msg, '\n'));
	}
	if (b) {
		lfm2_err err = {{0}};
		CHECK(lfm2_weights_from_memory(b, n, name, &fake_model, &err) == NULL);
		CHECK_CONTAINS(err.msg, name);
		CHECK_CONTAINS(err.msg, why);
	}
}

static void test_bad(void)
{
	unsigned char *b = malloc(good_size + 100);
	CHECK_OR_DIE(b);
#define FRESH() memcpy(b, good, good_size)

	expect_refused("missing.bin", NULL, 0, "cannot open");
	FRESH();
	expect_refused("short.bin", b, 3, "too short");
	FRESH();
	b[0] = 'X';
	expect_refused("magic.bin", b, good_size, "bad magic");
	FRESH();
	expect_refused("header-cut.bin", b, 20, "truncated");
	FRESH();
	put_le(b + 8, 2, 4);
	expect_refused("version.bin", b, good_size, "version 2");
	FRESH();
	put_le(b + 12, 512, 4);
	expect_refused("hdrsize.bin", b, good_size, "header size");
	FRESH();
	put_le(b + 16, fake_model.blob_bytes + 64, 8);
	expect_refused("size.bin", b, good_size + 64, "do not match the compiled model (payload");
	FRESH();
	put_le(b + 24, 0x0123456789abcdefull, 8);
	expect_refused("otherhash.bin", b, good_size,
	               "weights do not match the compiled model (hash 0x0123456789abcdef, expected 0x");
	FRESH();
	expect_refused("truncated.bin", b, good_size - 1, "truncated");
	FRESH();
	memset(b + good_size, 0, 100);
	expect_refused("padded.bin", b, good_size + 100, "too long");
	FRESH();
	b[LFM2_BLOB_HEADER + 777] ^= 0x10;
	expect_refused("corrupt.bin", b, good_size, "corrupt");
	FRESH();
	b[good_size - 1] ^= 0x01;
	expect_refused("corrupt-last.bin", b, good_size, "corrupt");
	free(b);

	char dir[1024];
	snprintf(dir, sizeof dir, "%s/a-directory.bin", tmp_dir);
	mkdir(dir, 0755);
	expect_refused("a-directory.bin", NULL, 0, "not a regular file (a directory)");
	/* a FIFO: refused at once (opening it for reading used to wait for a
	 * writer forever; the alarm fails the test if that comes back) */
	char fifo[1024];
	snprintf(fifo, sizeof fifo, "%s/a-fifo.bin", tmp_dir);
	unlink(fifo);
	CHECK_OR_DIE(mkfifo(fifo, 0644) == 0);
	alarm(20);
	expect_refused("a-fifo.bin", NULL, 0, "a-fifo.bin: not a regular file (a FIFO)");
	alarm(0);
}

int main(int argc, char **argv)
{
	CHECK_OR_DIE(argc == 2);
	tmp_dir = argv[1];
	mkdir(tmp_dir, 0755);
	good = fake_model_blob(&good_size);
	CHECK_OR_DIE(good);
	CHECK_INT(good_size, LFM2_BLOB_HEADER + fake_model.blob_bytes);
	test_good();
	test_bad();
	free(good);
	return check_finish("test_weights");
}
