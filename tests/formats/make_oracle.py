#!/usr/bin/python3
"""Write the oracle logits tests/formats compares compiled models against.

Dev-time only (tests never run Python): with /usr/bin/python3 (numpy),

    /usr/bin/python3 tests/formats/make_oracle.py path/to/lfm2c [CASE ...]

then commit tests/formats/oracle/.  For every case of cases.txt (or the
ones named) and each of its fixtures this

  1. writes the checkpoint a build with the case's flags computes with:
     `lfm2c dequant MODEL FLAGS -o TMP` (every weight replaced by its
     quantize-then-dequantize value in the format the flags choose, f32);
  2. runs the f64 numpy oracle (/work/shared/lfm2/lfm2_ref.py) on it for the
     fixture's tokens.txt, every position;
  3. stores the logits as float32 [T, V] in oracle/FIXTURE_CASE.npy (f32 is
     ample against the tests' 1e-4 bound and halves the files).

So a compiled FORMAT build is held to the f32 bound against exactly the
model its weights define; quantization error itself is not in the bound.
"""
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

SHARED = "/work/shared/lfm2"
sys.path.insert(0, SHARED)
import lfm2_ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures")


def read_cases():
	cases = []
	with open(os.path.join(HERE, "cases.txt")) as f:
		for line in f:
			line = line.strip()
			if not line or line.startswith("#"):
				continue
			name, fixtures, *flags = shlex.split(line.replace("@HERE@", HERE))
			cases.append((name, fixtures.split(","), flags))
	return cases


def model_dir(fixture):
	fx = os.path.join(FIXTURES, fixture)
	if os.path.exists(os.path.join(fx, "config.json")):
		return fx
	with open(os.path.join(fx, "model_dir.txt")) as f:
		return os.path.join(REPO, f.readline().strip())


def tokens(fixture):
	with open(os.path.join(FIXTURES, fixture, "tokens.txt")) as f:
		return [int(t) for t in f.readline().strip().split(",")]


def oracle(lfm2c, fixture, flags, out):
	with tempfile.TemporaryDirectory() as tmp:
		dq = os.path.join(tmp, "dq")
		subprocess.run([lfm2c, "dequant", model_dir(fixture), *flags, "-o", dq], check=True)
		logits = lfm2_ref.Lfm2Ref(dq, dtype=np.float64).forward_full(tokens(fixture))
	np.save(out, np.asarray(logits, dtype=np.float32))
	print("%s: %s %s" % (out, list(np.shape(logits)), " ".join(flags)))


def main():
	if len(sys.argv) < 2:
		sys.exit("usage: make_oracle.py LFM2C [CASE ...]")
	lfm2c, only = os.path.abspath(sys.argv[1]), set(sys.argv[2:])
	os.makedirs(os.path.join(HERE, "oracle"), exist_ok=True)
	for name, fixtures, flags in read_cases():
		if only and name not in only:
			continue
		for fx in fixtures:
			oracle(lfm2c, fx, flags, os.path.join(HERE, "oracle", "%s_%s.npy" % (fx, name)))


if __name__ == "__main__":
	main()
