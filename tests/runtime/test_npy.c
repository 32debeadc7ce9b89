/*
 * test_npy.c — the .npy writer and reader.
 *
 * Fixtures in data/ were written by numpy 1.24 (np.save):
 *   numpy_2x3.npy      float32 (arange(6)*0.5 - 1).reshape(2, 3)
 *   numpy_1d.npy       float32 [3.25, -1e-3, 7e30, 0, -2]
 *   numpy_f8.npy       float64 zeros (2, 3)       -> must be rejected
 *   numpy_fortran.npy  float32 Fortran order       -> must be rejected
 * Checks: our writer reproduces numpy_2x3.npy byte for byte; the header of
 * a [3, 4] array is the known numpy string; write -> read round-trips
 * exact bits for odd shapes; reading numpy's files gives their values;
 * bad files (a FIFO and a directory among them) and unwritable paths fail
 * with the path in the message and leave no file behind.
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lfm2rt.h"
#include "check.h"

static const char *data_dir, *tmp_dir;

static char *path_in(const char *dir, const char *name)
{
	static char buf[4][1024];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", dir, name);
	return p;
}

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	CHECK_OR_DIE(f);
	unsigned char *b = malloc(1 << 20);
	*size = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static void test_matches_numpy_bytes(void)
{
	float a[6];
	for (int i = 0; i < 6; i++)
		a[i] = (float)i * 0.5f - 1;
	const char *mine = path_in(tmp_dir, "mine_2x3.npy");
	lfm2_err err;
	CHECK_OR_DIE(lfm2_npy_write(mine, a, 2, 3, &err) == 0);
	size_t n1, n2;
	unsigned char *x = slurp(mine, &n1), *y = slurp(path_in(data_dir, "numpy_2x3.npy"), &n2);
	CHECK_INT(n1, 152);
	CHECK(n1 == n2 && memcmp(x, y, n1) == 0);
	free(x);
	free(y);
}

static void test_header_3x4(void)
{
	/* np.save(np.zeros((3,4), '<f4')): 10-byte preamble, header length 0x76,
	 * dict (59 chars), 58 spaces, '\n' -> data at offset 128. */
	char expect[129];
	const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
	memcpy(expect, "\x93NUMPY\x01\x00\x76\x00", 10);
	memcpy(expect + 10, dict, 59);
	memset(expect + 69, ' ', 58);
	expect[127] = '\n';
	float z[12] = {0};
	z[0] = 1.0f;
	z[11] = -2.5f;
	const char *p = path_in(tmp_dir, "h3x4.npy");
	CHECK_OR_DIE(lfm2_npy_write(p, z, 3, 4, NULL) == 0);
	size_t n;
	unsigned char *b = slurp(p, &n);
	CHECK_INT(n, 128 + 48);
	CHECK(memcmp(b, expect, 128) == 0);
	CHECK(memcmp(b + 128, "\x00\x00\x80\x3f", 4) == 0);            /* 1.0f LE */
	CHECK(memcmp(b + 128 + 44, "\x00\x00\x20\xc0", 4) == 0);       /* -2.5f LE */
	free(b);
}

static void test_roundtrip(void)
{
	static const int64_t shapes[][2] = {{1, 1}, {7, 13}, {1, 65536}, {0, 5}, {123456789012, 0}};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		int64_t r = shapes[s][0], c = shapes[s][1], n = r * c;
		float *a = malloc((size_t)(n ? n : 1) * sizeof *a);
		CHECK_OR_DIE(a);
		uint32_t x = 7;
		for (int64_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			uint32_t bits = x;
			memcpy(&a[i], &bits, 4);
			if (a[i] != a[i])   /* keep NaN payloads out of == */
				a[i] = (float)i;
		}
		const char *p = path_in(tmp_dir, "rt.npy");
		lfm2_err err;
		CHECK_OR_DIE(lfm2_npy_write(p, a, r, c, &err) == 0);
		int64_t rr = -1, cc = -1;
		float *b = lfm2_npy_read(p, &rr, &cc, &err);
		CHECK_OR_DIE(b);
		CHECK_INT(rr, r);
		CHECK_INT(cc, c);
		CHECK(memcmp(a, b, (size_t)n * 4) == 0);
		struct stat sb;
		CHECK(stat(p, &sb) == 0 && sb.st_size % 64 == (int64_t)((size_t)n * 4 % 64));
		free(a);
		free(b);
	}
}

static void test_read_numpy_files(void)
{
	lfm2_err err;
	int64_t r, c;
	float *a = lfm2_npy_read(path_in(data_dir, "numpy_1d.npy"), &r, &c, &err);
	CHECK_OR_DIE(a);
	CHECK_INT(r, 1);
	CHECK_INT(c, 5);
	CHECK(a[0] == 3.25f && a[1] == -1e-3f && a[2] == 7e30f && a[3] == 0 && a[4] == -2);
	free(a);
	a = lfm2_npy_read(path_in(data_dir, "numpy_2x3.npy"), &r, &c, &err);
	CHECK_OR_DIE(a);
	CHECK(r == 2 && c == 3 && a[0] == -1 && a[5] == 1.5f);
	free(a);

	const char *bad[] = {"numpy_f8.npy", "numpy_fortran.npy"};
	const char *why[] = {"float32", "C order"};
	for (int i = 0; i < 2; i++) {
		const char *p = path_in(data_dir, bad[i]);
		CHECK(lfm2_npy_read(p, &r, &c, &err) == NULL);
		CHECK_CONTAINS(err.msg, p);
		CHECK_CONTAINS(err.msg, why[i]);
	}
	/* Truncated: numpy_2x3 minus its last float. */
	size_t n;
	unsigned char *b = slurp(path_in(data_dir, "numpy_2x3.npy"), &n);
	const char *t = path_in(tmp_dir, "trunc.npy");
	FILE *f = fopen(t, "wb");
	CHECK_OR_DIE(f && fwrite(b, 1, n - 4, f) == n - 4 && fclose(f) == 0);
	free(b);
	CHECK(lfm2_npy_read(t, &r, &c, &err) == NULL);
	CHECK_CONTAINS(err.msg, "trunc.npy");
	CHECK_CONTAINS(err.msg, "size");
	CHECK(lfm2_npy_read(path_in(tmp_dir, "missing.npy"), &r, &c, &err) == NULL);
	CHECK_CONTAINS(err.msg, "missing.npy");
	/* a FIFO and a directory: refused at once, never waited on */
	const char *fifo = path_in(tmp_dir, "fifo.npy");
	unlink(fifo);
	CHECK_OR_DIE(mkfifo(fifo, 0644) == 0);
	alarm(20);
	CHECK(lfm2_npy_read(fifo, &r, &c, &err) == NULL);
	alarm(0);
	CHECK_CONTAINS(err.msg, "fifo.npy: not a regular file (a FIFO)");
	const char *dir = path_in(tmp_dir, "dir.npy");
	mkdir(dir, 0755);
	CHECK(lfm2_npy_read(dir, &r, &c, &err) == NULL);
	CHECK_CONTAINS(err.msg, "dir.npy: not a regular file (a directory)");
}

static void test_write_failure(void)
{
	float a[2] = {1, 2};
	lfm2_err err;
	const char *p = path_in(tmp_dir, "no-such-dir/x.npy");
	CHECK(lfm2_npy_write(p, a, 1, 2, &err) == -1);
	CHECK_CONTAINS(err.msg, p);
	/* Writing over a directory fails at rename; the temp file must be gone. */
	const char *d = path_in(tmp_dir, "a-dir.npy");
	mkdir(d, 0755);
	CHECK(lfm2_npy_write(d, a, 1, 2, &err) == -1);
	CHECK_CONTAINS(err.msg, "a-dir.npy");
	DIR *dir = opendir(tmp_dir);
	CHECK_OR_DIE(dir);
	struct dirent *e;
	while ((e = readdir(dir)))
		if (strstr(e->d_name, ".tmp."))
			CHECK_FAIL("left behind: %s", e->d_name);
	closedir(dir);
}

int main(int argc, char **argv)
{
	CHECK_OR_DIE(argc == 3);
	data_dir = argv[1];
	tmp_dir = argv[2];
	mkdir(tmp_dir, 0755);
	test_matches_numpy_bytes();
	test_header_3x4();
	test_roundtrip();
	test_read_numpy_files();
	test_write_failure();
	return check_finish("test_npy");
}
