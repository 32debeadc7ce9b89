/*
 * lfm2c.c — entry point: dispatch to a sub-command.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "tools.h"

#ifndef LFM2C_VERSION
#define LFM2C_VERSION "dev"
#endif

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{"compile", cmd_compile, "MODEL_DIR -o OUT_DIR   emit C + weights, build OUT_DIR/lfm2-run"},
	{"dequant", cmd_dequant, "MODEL_DIR -q FORMAT -o OUT_DIR   checkpoint of quantize-dequantized weights"},
	{"explain", cmd_explain, "[--cpu NAME] [--schedule S]   machine model and the tiles derived from it"},
	{"inspect", cmd_inspect, "MODEL_DIR              resolved config, layers, tensors, hashes"},
	{"ir", cmd_ir, "MODEL_DIR [-d PASSES]  print the IR (after the passes)"},
	{"interp", cmd_interp, "MODEL_DIR --tokens IDS --logits F.npy   reference interpreter"},
	{"quant-report", cmd_quant_report, "MODEL_DIR -q FORMAT...   accuracy of weight formats vs f32"},
	{"synth", cmd_synth, "PRESET -o DIR [--dtype f32|bf16|f16] [--seed N] [--set k=JSON]"},
	{"tokenize", cmd_tokenize, "MODEL_DIR TEXT         print token ids"},
	{"tune", cmd_tune, "MODEL_DIR [-o best.json] search schedules: fastest accurate build"},
	{"variants", cmd_variants, "MODEL_DIR S.json...    compile, validate and time schedules; one table"},
};

static void usage(FILE *f)
{
	fprintf(f, "lfm2c %s — ahead-of-time compiler for LFM2 models\n\nusage:\n", LFM2C_VERSION);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  lfm2c %-12s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("lfm2c %s\n", LFM2C_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	lfm_fail("unknown command '%s' (try lfm2c --help)", argv[1]);
	return 2;
}
