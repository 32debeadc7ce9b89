/*
 * npyio.h — reading and writing NumPy .npy files for lfm2c's test tools.
 *
 * The oracle fixtures are .npy files (float64 logits written by numpy) and
 * the compiled binaries write float32 .npy logits; the tools that compare
 * them need a small, strict reader.  Only what the tests use is supported:
 * little-endian float32 ('<f4') and float64 ('<f8') arrays in C order, format
 * versions 1.0, 2.0 and 3.0, any number of dimensions up to NPY_MAX_DIMS.
 * Elements are converted to double on reading.  Anything else — a bad magic
 * string, a header that does not parse, Fortran order, another dtype, a data
 * section that is shorter or longer than the shape says — is an error with a
 * one-line message "PATH: problem".
 */
#ifndef LFM2C_TESTS_NPYIO_H
#define LFM2C_TESTS_NPYIO_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8

typedef struct NpyArray {
	int ndim;
	int64_t shape[NPY_MAX_DIMS];
	int64_t count;          /* product of shape (1 for a 0-d array) */
	int elsize;             /* 4 or 8: the dtype stored in the file */
	double *data;           /* count elements, C order, malloc'd */
} NpyArray;

/* Reads PATH into *a.  Returns 0, or -1 with a one-line message in err. */
int npy_read(const char *path, NpyArray *a, char *err, size_t errlen);
void npy_free(NpyArray *a);

/* Writes a C-order 2-D array of rows x cols doubles as '<f8' (elsize 8) or
 * '<f4' (elsize 4, rounded).  Returns 0, or -1 with a message in err. */
int npy_write_2d(const char *path, const double *data, int64_t rows, int64_t cols,
                 int elsize, char *err, size_t errlen);

#endif
