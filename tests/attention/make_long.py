#!/usr/bin/python3
"""Write the long-prompt oracle fixture tests/attention checks against.

Dev-time only (tests never run Python): with /usr/bin/python3 (numpy),

    /usr/bin/python3 tests/attention/make_long.py

then commit tests/attention/long/.  On the tiny fixture model
(tests/fixtures/tiny: 2 attention layers of 4 heads, head_dim 16) this

  1. picks 3073 token ids (first 1 = BOS) from a generator seeded by a
     fixed number -> long/tokens.txt (one line, comma-separated);
  2. runs the f64 numpy oracle (/work/shared/lfm2/lfm2_ref.py,
     Lfm2Ref.forward_full) for the logits of every position;
  3. keeps rows 0, 64, 128, ..., 3072 (49 rows: a prefix of every length
     class, the last position included) as float32 [49, V] in
     long/logits_every64.npy — every row of 3073 would be 6 MB.

The compiled model's logits of all 3073 positions are compared with these
rows (npycmp --stride 64) after a prefill in chunks (the tiled attention
kernel) and after feeding the tokens one at a time (the decode kernel).
"""
import os
import sys

import numpy as np

SHARED = "/work/shared/lfm2"
sys.path.insert(0, SHARED)
import lfm2_ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
T, STRIDE = 3073, 64


def main():
	model_dir = os.path.join(REPO, "tests", "fixtures", "tiny")
	model = lfm2_ref.Lfm2Ref(model_dir, dtype=np.float64)
	vocab = model.cfg.vocab_size
	rng = np.random.default_rng(20261208)
	tokens = [1] + [int(t) for t in rng.integers(0, vocab, size=T - 1)]
	out = os.path.join(HERE, "long")
	os.makedirs(out, exist_ok=True)
	with open(os.path.join(out, "tokens.txt"), "w") as f:
		f.write(",".join(str(t) for t in tokens) + "\n")
	logits = np.asarray(model.forward_full(tokens), dtype=np.float64)
	assert logits.shape == (T, vocab), logits.shape
	np.save(os.path.join(out, "logits_every64.npy"), logits[::STRIDE].astype(np.float32))
	print("wrote %s: %d tokens, %d rows of %d" % (out, T, logits[::STRIDE].shape[0], vocab))


if __name__ == "__main__":
	main()
