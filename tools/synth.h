/*
 * synth.h — random-weight checkpoints of the real LFM2 shapes, so a device
 * can be measured before a model is downloaded (`lfm2c synth`).  Written
 * with the safetensors writer of st_write.h.
 */
#ifndef LFM2C_SYNTH_H
#define LFM2C_SYNTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend.h"

/* `lfm2c synth PRESET -o DIR`: random-weight checkpoint in HF layout. */
typedef struct SynthOptions {
	const char *preset;     /* tiny | 350m | 700m | 1.2b | 2.6b */
	const char *out_dir;
	StDtype dtype;
	uint64_t seed;
	const char **set_keys;  /* --set key=JSON overrides */
	const char **set_values;
	int n_set;
	bool dry_run;           /* resolve and print sizes only; write nothing */
	bool config_only;       /* write config.json + generation_config.json only */
} SynthOptions;

int lfm_synth(const SynthOptions *o, FILE *log, LfmError *err);

#endif
