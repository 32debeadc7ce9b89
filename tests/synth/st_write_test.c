/*
 * st_write_test.c — unit test of the streaming safetensors writer.
 *
 *   st_write_test DIR
 *
 * Writes small files with known contents into DIR and checks the exact
 * bytes: the header text (compact JSON, sorted names, offsets, space
 * padding to 8), the little-endian F32 data, round-to-nearest-even BF16
 * and F16 conversion (values and expected bit patterns worked out by hand;
 * the BF16 ones are those of the f64 oracle's selftest), an empty tensor, and
 * values pushed in uneven pieces across tensor boundaries.  Then the error
 * paths: unsorted or duplicate names, too many values, an incomplete file,
 * abort, and an unwritable location — each must fail with a message and
 * leave neither the target nor a temporary file behind.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "st_write.h"


static char dir[2048];

static char *path_of(const char *name)
{
	static char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *b = malloc(1 << 20);
	*len = b ? fread(b, 1, 1 << 20, f) : 0;
	fclose(f);
	return b;
}

/* Number of entries in DIR whose name starts with prefix. */
static int count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

static void test_exact_file(void)
{
	StWriteTensor t[] = {
		{"a.weight", ST_F32, 2, {2, 3}},
		{"b", ST_BF16, 1, {7}},
		{"c", ST_F16, 3, {2, 2, 2}},
		{"d.empty", ST_F32, 2, {0, 5}},
		{"e", ST_F32, 0, {0}},
	};
	const int n = 5;
	const char *want_hdr =
		"{\"__metadata__\":{\"format\":\"pt\"},"
		"\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
		"\"b\":{\"dtype\":\"BF16\",\"shape\":[7],\"data_offsets\":[24,38]},"
		"\"c\":{\"dtype\":\"F16\",\"shape\":[2,2,2],\"data_offsets\":[38,54]},"
		"\"d.empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[54,54]},"
		"\"e\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[54,58]}}";
	StLayout lay;
	LfmError err = {{0}};
	CHECK(lfm_st_layout(t, n, &lay, &err) == 0, "layout: %s", err.msg);
	size_t hl = strlen(want_hdr), padded = (hl + 7) / 8 * 8;
	CHECK(lay.header_len == padded, "header_len %zu, want %zu", lay.header_len, padded);
	CHECK(lay.header && !strncmp(lay.header, want_hdr, hl), "header text:\n%s", lay.header);
	for (size_t i = hl; lay.header && i < lay.header_len; i++)
		CHECK(lay.header[i] == ' ', "padding byte %zu is %d", i, lay.header[i]);
	CHECK(lay.data_bytes == 58 && lay.file_bytes == 8 + padded + 58 && lay.n_params == 6 + 7 + 8 + 1,
	      "sizes %llu %llu %lld", (unsigned long long)lay.data_bytes,
	      (unsigned long long)lay.file_bytes, (long long)lay.n_params);

	float a[6] = {1.0f, -2.0f, 0.5f, 3.25f, -0.0f, 1e-3f};
	float b[7] = {1.0f, -2.5f, 3.14159265f, 1e-3f, 65504.0f, 1.00390625f, 1.01171875f};
	uint16_t b_bits[7] = {0x3f80, 0xc020, 0x4049, 0x3a83, 0x4780, 0x3f80, 0x3f82};
	/* f16: 1, -2, 65504 (max), 65520 (ties to even -> inf), 2^-24 (min subnormal),
	 * 2^-25 (tie -> 0), 0.1 (0x2e66), 1+2^-11 (tie -> even 1.0) */
	float c[8] = {1.0f, -2.0f, 65504.0f, 65520.0f, 0x1p-24f, 0x1p-25f, 0.1f, 1.0f + 0x1p-11f};
	uint16_t c_bits[8] = {0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x2e66, 0x3c00};
	float e[1] = {42.0f};
	/* all 22 values, pushed in uneven pieces that straddle tensor boundaries */
	float all[22];
	memcpy(all, a, sizeof a);
	memcpy(all + 6, b, sizeof b);
	memcpy(all + 13, c, sizeof c);
	memcpy(all + 21, e, sizeof e);
	StWriter *w = lfm_st_writer_create(path_of("x.safetensors"), t, n, &err);
	CHECK(w != NULL, "create: %s", err.msg);
	if (!w) {
		lfm_st_layout_free(&lay);
		return;
	}
	CHECK(count_files("x.safetensors") == 1 && count_files("x.safetensors.tmp-") == 1,
	      "while writing, only the temporary file exists");
	const size_t pieces[] = {4, 5, 0, 9, 3, 1};
	size_t off = 0;
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		CHECK(lfm_st_writer_put_f32(w, all + off, pieces[i], &err) == 0, "put: %s", err.msg);
		off += pieces[i];
	}
	CHECK(off == 22, "pieces add up");
	CHECK(lfm_st_writer_tensor(w) == n, "all tensors complete (at %d)", lfm_st_writer_tensor(w));
	CHECK(lfm_st_writer_commit(w, &err) == 0, "commit: %s", err.msg);
	CHECK(count_files("x.safetensors.tmp-") == 0, "no temporary file left");

	size_t len;
	unsigned char *f = slurp(path_of("x.safetensors"), &len);
	CHECK(f && len == lay.file_bytes, "file size %zu, want %llu", len, (unsigned long long)lay.file_bytes);
	if (f && len == lay.file_bytes) {
		uint64_t h = 0;
		for (int i = 7; i >= 0; i--)
			h = h << 8 | f[i];
		CHECK(h == padded, "length prefix %llu", (unsigned long long)h);
		CHECK(!memcmp(f + 8, lay.header, padded), "header bytes");
		const unsigned char *d = f + 8 + padded;
		for (int i = 0; i < 6; i++) {
			uint32_t u;
			memcpy(&u, &a[i], 4);
			uint32_t g = d[4 * i] | d[4 * i + 1] << 8 | d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24;
			CHECK(g == u, "f32[%d] bits %08x, want %08x", i, g, u);
		}
		for (int i = 0; i < 7; i++) {
			uint16_t g = (uint16_t)(d[24 + 2 * i] | d[24 + 2 * i + 1] << 8);
			CHECK(g == b_bits[i], "bf16[%d] (%g) bits %04x, want %04x", i, b[i], g, b_bits[i]);
		}
		for (int i = 0; i < 8; i++) {
			uint16_t g = (uint16_t)(d[38 + 2 * i] | d[38 + 2 * i + 1] << 8);
			CHECK(g == c_bits[i], "f16[%d] (%g) bits %04x, want %04x", i, c[i], g, c_bits[i]);
		}
		float g;
		memcpy(&g, d + 54, 4);
		CHECK(g == 42.0f, "scalar %g", g);
	}
	free(f);
	lfm_st_layout_free(&lay);
}

static void test_errors(void)
{
	LfmError err = {{0}};
	StLayout lay;
	StWriteTensor unsorted[] = {{"b", ST_F32, 1, {2}}, {"a", ST_F32, 1, {2}}};
	CHECK(lfm_st_layout(unsorted, 2, &lay, &err) == -1 && strstr(err.msg, "sorted"),
	      "unsorted names rejected: %s", err.msg);
	StWriteTensor dup[] = {{"a", ST_F32, 1, {2}}, {"a", ST_F32, 1, {2}}};
	CHECK(lfm_st_writer_create(path_of("dup.safetensors"), dup, 2, &err) == NULL &&
	      strstr(err.msg, "unique"), "duplicate names rejected: %s", err.msg);
	CHECK(count_files("dup.safetensors") == 0, "nothing created for bad names");

	StWriteTensor one[] = {{"w", ST_BF16, 2, {2, 2}}};
	float v[5] = {1, 2, 3, 4, 5};
	StWriter *w = lfm_st_writer_create(path_of("over.safetensors"), one, 1, &err);
	CHECK(w && lfm_st_writer_put_f32(w, v, 5, &err) == -1 && strstr(err.msg, "more values"),
	      "too many values rejected: %s", err.msg);
	lfm_st_writer_abort(w);
	CHECK(count_files("over.safetensors") == 0, "abort removes the temporary file");

	w = lfm_st_writer_create(path_of("short.safetensors"), one, 1, &err);
	CHECK(w && lfm_st_writer_put_f32(w, v, 3, &err) == 0, "put 3 of 4");
	CHECK(w && lfm_st_writer_commit(w, &err) == -1 && strstr(err.msg, "incomplete"),
	      "incomplete file rejected: %s", err.msg);
	CHECK(count_files("short.safetensors") == 0, "failed commit leaves nothing");

	CHECK(lfm_st_writer_create(path_of("no/such/dir/x.safetensors"), one, 1, &err) == NULL &&
	      strstr(err.msg, "cannot create"), "unwritable path: %s", err.msg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: st_write_test DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	test_exact_file();
	test_errors();
	return check_finish("st_write_test");
}
