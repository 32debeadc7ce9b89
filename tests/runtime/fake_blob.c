/*
 * fake_blob.c — writes the fake model's weights blob to the path given
 * (for standalone_build.sh, which builds lfm2-run by hand).
 */
#include <stdio.h>

#include "fake_model.h"

int main(int argc, char **argv)
{
	if (argc != 2 || fake_model_write_blob(argv[1]) != 0) {
		fprintf(stderr, "usage: fake_blob OUT.bin (write failed or bad arguments)\n");
		return 1;
	}
	return 0;
}
