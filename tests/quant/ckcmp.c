/*
 * ckcmp.c — compare two checkpoints tensor by tensor:
 *
 *   ckcmp A_DIR B_DIR [--dtype F32|F16|BF16]
 *
 * Passes (exit 0) when both have the same tensor names and shapes and every
 * value is identical (compared as doubles, so a bf16 tensor equals the f32
 * tensor holding the same numbers); with --dtype every tensor of B must
 * also be stored in that dtype.  Prints the number of tensors and the first
 * difference.  Exit 1 on a difference, 2 on a usage or read error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "--dtype"))) {
		fprintf(stderr, "usage: ckcmp A_DIR B_DIR [--dtype F32|F16|BF16]\n");
		return 2;
	}
	LfmError err = {{0}};
	Checkpoint a, b;
	if (lfm_checkpoint_open(argv[1], &a, NULL, &err)) {
		fprintf(stderr, "ckcmp: %s\n", err.msg);
		return 2;
	}
	if (lfm_checkpoint_open(argv[2], &b, NULL, &err)) {
		fprintf(stderr, "ckcmp: %s\n", err.msg);
		lfm_checkpoint_close(&a);
		return 2;
	}
	int rc = 0;
	if (a.n_tensors != b.n_tensors) {
		printf("ckcmp: %d tensors vs %d\n", a.n_tensors, b.n_tensors);
		rc = 1;
	}
	for (int i = 0; i < a.n_tensors && !rc; i++) {
		const StTensor *x = &a.tensors[i], *y = &b.tensors[i];
		if (strcmp(x->name, y->name) || x->ndim != y->ndim || memcmp(x->shape, y->shape, sizeof x->shape)) {
			printf("ckcmp: tensor %d: %s vs %s (name or shape differs)\n", i, x->name, y->name);
			rc = 1;
			break;
		}
		if (argc == 5 && strcmp(lfm_dtype_name(y->dtype), argv[4])) {
			printf("ckcmp: %s is %s in B, want %s\n", y->name, lfm_dtype_name(y->dtype), argv[4]);
			rc = 1;
			break;
		}
		double *u = malloc((size_t)x->numel * sizeof *u), *v = malloc((size_t)y->numel * sizeof *v);
		if (!u || !v) {
			free(u);
			free(v);
			rc = 2;
			break;
		}
		lfm_tensor_to_f64(x, u);
		lfm_tensor_to_f64(y, v);
		for (int64_t k = 0; k < x->numel; k++)
			if (u[k] != v[k]) {
				printf("ckcmp: %s[%lld]: %.9g vs %.9g\n", x->name, (long long)k, u[k], v[k]);
				rc = 1;
				break;
			}
		free(u);
		free(v);
	}
	if (!rc)
		printf("ckcmp: %d tensors, names, shapes and values identical\n", a.n_tensors);
	lfm_checkpoint_close(&a);
	lfm_checkpoint_close(&b);
	return rc;
}
