#!/usr/bin/python3
"""Write the expected config files for `lfm2c synth` (dev-time only).

    /usr/bin/python3 tests/synth/make_expected.py

For every case in cases.txt (NAME PRESET ARGS...), computes config.json and
generation_config.json exactly as /work/shared/lfm2/make_model.py does —
importing its PRESETS and finalize_config and repeating the few lines of its
main() that build the two dicts — and writes them to
expected/NAME.config.json and expected/NAME.generation_config.json.  Going
through the functions instead of the CLI avoids writing gigabytes of weights
for the real-size presets; for the tiny preset the CLI is run as well and the
files must come out byte-identical, which checks that this script mirrors
main().  The C tests never run Python: they compare against these files.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

SHARED = "/work/shared/lfm2"
sys.path.insert(0, SHARED)
import make_model  # noqa: E402
from lfm2_ref import Lfm2Cfg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


def read_cases():
	cases = []
	with open(os.path.join(HERE, "cases.txt")) as f:
		for line in f:
			line = line.rstrip("\n")
			if line and not line.startswith("#"):
				name, preset, *args = line.split(" ")
				cases.append((name, preset, args))
	return cases


def parse_args(args):
	dtype, sets = "f32", []
	i = 0
	while i < len(args):
		if args[i] == "--dtype":
			dtype = args[i + 1]
		elif args[i] == "--set":
			sets.append(make_model.parse_set(args[i + 1]))
		else:
			raise SystemExit(f"unsupported argument {args[i]}")
		i += 2
	return dtype, sets


def configs(preset, args):
	dtype, sets = parse_args(args)
	raw = copy.deepcopy(make_model.PRESETS[make_model.ALIASES.get(preset, preset)])
	for k, v in sets:
		raw[k] = v
	raw["torch_dtype"] = DTYPES[dtype]
	raw = make_model.finalize_config(raw, "liquid", "preset")
	Lfm2Cfg(raw)   # must resolve
	gen = {"_from_model_config": True, "bos_token_id": raw.get("bos_token_id", 1),
	       "eos_token_id": raw.get("eos_token_id", 7), "pad_token_id": raw.get("pad_token_id", 0),
	       "transformers_version": raw.get("transformers_version", "4.54.0.dev0")}
	return json.dumps(raw, indent=2) + "\n", json.dumps(gen, indent=2) + "\n"


def main():
	out = os.path.join(HERE, "expected")
	os.makedirs(out, exist_ok=True)
	for name, preset, args in read_cases():
		cfg, gen = configs(preset, args)
		if preset == "tiny":
			with tempfile.TemporaryDirectory() as d:
				subprocess.run([sys.executable, os.path.join(SHARED, "make_model.py"), preset, d] + args,
				               check=True, stdout=subprocess.DEVNULL)
				for fname, text in (("config.json", cfg), ("generation_config.json", gen)):
					with open(os.path.join(d, fname)) as f:
						assert f.read() == text, f"{name}: {fname} differs from make_model.py's CLI output"
		for fname, text in (("config.json", cfg), ("generation_config.json", gen)):
			with open(os.path.join(out, f"{name}.{fname}"), "w") as f:
				f.write(text)
		print(name, "ok")


if __name__ == "__main__":
	main()
