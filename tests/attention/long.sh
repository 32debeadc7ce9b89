#!/bin/sh
# long.sh LFM2C NPYCMP SRC OUT — a 3073-token prompt on the tiny model, both
# attention kernels against the f64 oracle (tests/attention/make_long.py).
#
# The logits of every position must be within 1e-4 of max |logit| of the
# oracle's (rows 0, 64, .. 3072: npycmp --stride 64), with the prompt fed
#   * in chunks of 512 (the tiled prefill kernel: kt_task + attention_tiled_task),
#   * in chunks of 100 (tiles cut by the chunk end, positions not a multiple
#     of the key block),
#   * one token at a time (attention_task, the decode kernel),
# for the LLVM and the C backend (the C one in chunks of 512 only).
set -u
lfm2c=$1 npycmp=$2 src=$3 out=$4
fx=$src/tests/fixtures/tiny
dir=$src/tests/attention/long
fail() { echo "long.sh: FAIL: $*"; exit 1; }
run() { echo "$ $*"; "$@" || fail "$* exited $?"; }

rm -rf "$out" && mkdir -p "$out" || fail "cannot make $out"
toks=$(cat "$dir/tokens.txt") || fail "no tokens"
run "$lfm2c" compile "$fx" -o "$out/llvm"
run "$lfm2c" compile "$fx" -o "$out/c" --backend c
for case in llvm:512 llvm:100 llvm:1 c:512; do
	b=${case%%:*} chunk=${case#*:}
	run "$out/$b/lfm2-run" --tokens "$toks" --chunk "$chunk" --logits "$out/got_${b}_$chunk.npy"
	run "$npycmp" "$out/got_${b}_$chunk.npy" "$dir/logits_every64.npy" --stride 64 --rel 1e-4
done
rm -rf "$out"
