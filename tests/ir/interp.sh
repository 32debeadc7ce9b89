#!/bin/sh
# interp.sh LFM2C NPYCMP FIXTURE OUT BUILD: the interpreter vs the oracle
# (whole, token by token, random chunks) and the compiled model vs the
# interpreter.  BUILD is FIXTURE compiled with the defaults (lfm2c compile
# FIXTURE -o BUILD: e2e's shared build); its logits are written to OUT.
set -eu
lfm2c=$1 npycmp=$2 fx=$3 out=$4 bin=$5
mkdir -p "$out"
tok=$(cat "$fx/tokens.txt")
"$lfm2c" interp "$fx" --tokens "$tok" --logits "$out/whole.npy"
"$npycmp" "$out/whole.npy" "$fx/logits.npy" --rel 1e-9
"$lfm2c" interp "$fx" --tokens "$tok" --chunks 1 --logits "$out/by1.npy"
"$npycmp" "$out/by1.npy" "$fx/logits.npy" --rel 1e-9
"$lfm2c" interp "$fx" --tokens "$tok" --chunks 3,1,4,1,5,9,2,6 --logits "$out/rnd.npy"
"$npycmp" "$out/rnd.npy" "$fx/logits.npy" --rel 1e-9
"$bin/lfm2-run" --tokens "$tok" --chunk 5 --logits "$out/gen.npy"
"$npycmp" "$out/gen.npy" "$out/whole.npy" --rel 1e-4
