#!/bin/sh
# cross.sh LFM2C NPYCMP E2E_SH MODEL FIXTURE OUT X86_OUT [OPTIONS...]
# Cross-compiles MODEL for aarch64 (lfm2c compile --target aarch64-linux-gnu
# OPTIONS), checks that model.o and lfm2-run are aarch64 ELF files, and runs
# lfm2-run under qemu-aarch64:
#   - logits of the fixture's tokens vs the f64 oracle (1e-4 of max |logit|);
#   - the same logits vs the x86 build X86_OUT (e2e's), 1e-5: the two
#     machines compute the same thing;
#   - greedy decoding == the oracle's ids (e2e.sh greedy, under qemu).
# Exit 77 (skipped) without aarch64-linux-gnu-gcc or qemu-aarch64.
set -eu
lfm2c=$1 npycmp=$2 e2e=$3 model=$4 fx=$5 out=$6 x86=$7
shift 7
for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
	command -v "$tool" >/dev/null 2>&1 || { echo "cross: $tool not installed, skipped"; exit 77; }
done
sh "$e2e" compile "$lfm2c" "$model" "$out" --target aarch64-linux-gnu "$@"
machine() { od -An -tu2 -j18 -N2 "$1" | tr -d ' '; }
for f in "$out/lfm2-run" "$out"/model.o "$out"/weights.o; do
	[ -f "$f" ] || continue
	[ "$(machine "$f")" = 183 ] || { echo "cross: FAIL: $f is not an aarch64 ELF file"; exit 1; }
done
echo "aarch64 ELF: $(cd "$out" && ls lfm2-run model.o weights.o 2>/dev/null | tr '\n' ' ')"
export E2E_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
sh "$e2e" logits "$out" "$fx" "$npycmp" 1e-4
# the x86 build is e2e's (shared): its logits go to this test's directory
E2E_RUNNER= E2E_GOT="$out/x86.npy" sh "$e2e" logits "$x86" "$fx" "$npycmp" 1e-4 >/dev/null
"$npycmp" "$out/got.npy" "$out/x86.npy" --rel 1e-5 || { echo "cross: FAIL: aarch64 and x86 logits differ"; exit 1; }
sh "$e2e" greedy "$out" "$fx" 0.01
