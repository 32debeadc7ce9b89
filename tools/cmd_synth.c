/*
 * cmd_synth.c — `lfm2c synth`: write a random-weight LFM2 checkpoint.
 *
 *   lfm2c synth PRESET -o DIR [--dtype f32|bf16|f16] [--seed N]
 *               [--set key=JSON]... [--dry-run]
 *
 * PRESET is tiny, 350m, 700m, 1.2b or 2.6b (also 350M, LFM2-350M, ...): the
 * shapes and config.json of the released models (specs/lfm2.md §12).
 * --set adds or replaces a config.json key; the value must be JSON (quote
 * strings: --set 'model_type="lfm2"').  torch_dtype always follows --dtype.
 * --dry-run resolves everything and prints the parameter count and the exact
 * model.safetensors size without writing (DIR may then be omitted);
 * --config-only writes config.json and generation_config.json but no weights.
 *
 * This file only parses the command line; the work is lfm_synth()
 * (tools/synth.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"
#include "frontend.h"
#include "synth.h"

static int usage(void)
{
	fprintf(stderr, "usage: lfm2c synth PRESET -o DIR [--dtype f32|bf16|f16] [--seed N] "
	        "[--set key=JSON]... [--dry-run | --config-only]\n"
	        "  PRESET: tiny | 350m | 700m | 1.2b | 2.6b\n");
	return 2;
}

static int parse_dtype(const char *s, StDtype *t)
{
	if (!strcmp(s, "f32") || !strcmp(s, "float32"))
		*t = ST_F32;
	else if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16"))
		*t = ST_BF16;
	else if (!strcmp(s, "f16") || !strcmp(s, "float16"))
		*t = ST_F16;
	else
		return -1;
	return 0;
}

static int parse_seed(const char *s, uint64_t *seed)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*seed = v;
	return 0;
}

int cmd_synth(int argc, char **argv)
{
	SynthOptions o = {.dtype = ST_F32};
	int rc = 1;
	o.set_keys = calloc((size_t)argc, sizeof *o.set_keys);
	o.set_values = calloc((size_t)argc, sizeof *o.set_values);
	char **owned = calloc((size_t)argc, sizeof *owned);
	if (!o.set_keys || !o.set_values || !owned) {
		lfm_fail("synth: out of memory");
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			rc = 0;
			goto out;
		} else if (!strcmp(a, "--dry-run")) {
			o.dry_run = true;
		} else if (!strcmp(a, "--config-only")) {
			o.config_only = true;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--dtype") || !strcmp(a, "--seed") ||
		           !strcmp(a, "--set")) {
			if (!val) {
				lfm_fail("synth: %s needs a value", a);
				goto out;
			}
			i++;
			if (!strcmp(a, "-o")) {
				o.out_dir = val;
			} else if (!strcmp(a, "--dtype")) {
				if (parse_dtype(val, &o.dtype)) {
					lfm_fail("synth: bad --dtype '%s' (use f32, bf16 or f16)", val);
					goto out;
				}
			} else if (!strcmp(a, "--seed")) {
				if (parse_seed(val, &o.seed)) {
					lfm_fail("synth: bad --seed '%s' (a non-negative integer)", val);
					goto out;
				}
			} else {
				const char *eq = strchr(val, '=');
				if (!eq || eq == val) {
					lfm_fail("synth: --set needs key=JSON, got '%s'", val);
					goto out;
				}
				char *key = strndup(val, (size_t)(eq - val));
				if (!key) {
					lfm_fail("synth: out of memory");
					goto out;
				}
				owned[o.n_set] = key;
				o.set_keys[o.n_set] = key;
				o.set_values[o.n_set] = eq + 1;
				o.n_set++;
			}
		} else if (a[0] == '-' && a[1]) {
			lfm_fail("synth: unknown option '%s'", a);
			usage();
			goto out;
		} else if (!o.preset) {
			o.preset = a;
		} else {
			lfm_fail("synth: unexpected argument '%s'", a);
			goto out;
		}
	}
	if (!o.preset) {
		usage();
		goto out;
	}
	if (o.dry_run && o.config_only) {
		lfm_fail("synth: --dry-run and --config-only exclude each other");
		goto out;
	}
	if (!o.out_dir && !o.dry_run) {
		lfm_fail("synth: no output directory (-o DIR)");
		goto out;
	}
	LfmError err = {{0}};
	if (lfm_synth(&o, stdout, &err)) {
		lfm_fail("%s", err.msg);
		goto out;
	}
	rc = 0;
out:
	if (owned)
		for (int i = 0; i < argc; i++)
			free(owned[i]);
	free(owned);
	free(o.set_keys);
	free(o.set_values);
	return rc;
}
