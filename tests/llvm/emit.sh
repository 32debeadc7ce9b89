#!/bin/sh
# emit.sh LFM2C MODEL OUT NPYCMP — what each --emit writes, the x86 CPU
# presets, and model.o + model.h used alone (bundle_main.c).
#   --emit obj    model.o (an ELF relocatable), model.h, weights.bin, no lfm2-run
#   --emit asm    model.s with forward; --emit llvm  model.ll whose hot loops
#                 are vector IR (fma and reductions on <N x float>)
#   --emit loops  the loop form as text; --emit c  model.c (C backend implied)
#   --cpu x86-64, x86-64-v3, x86-64-v4: each compiles; each runs (logits vs
#                 the oracle) only where the host has the instructions
# The --emit builds are fresh (--no-cache).  The presets' builds use the
# build cache: no other test builds them, so they are compiled here, but
# the runtime's objects (the same for every x86-64 CPU with the LLVM
# backend) come from the cache instead of being compiled three more times.
set -eu
lfm2c=$1 model=$2 out=$3 npycmp=$4
here=$(cd "$(dirname "$0")" && pwd)
tools=$(cd "$here/../tools" && pwd)
rm -rf "$out"
mkdir -p "$out"
c() { "$lfm2c" compile "$model" --no-cache "$@" 2>"$out/last.err" || { cat "$out/last.err"; exit 1; }; }
cached() { "$lfm2c" compile "$model" "$@" 2>"$out/last.err" || { cat "$out/last.err"; exit 1; }; }
fail() { echo "emit: FAIL: $*"; exit 1; }

c -o "$out/obj" --emit obj
[ -f "$out/obj/model.o" ] && [ -f "$out/obj/model.h" ] && [ -f "$out/obj/weights.bin" ] || fail "--emit obj outputs"
[ ! -e "$out/obj/lfm2-run" ] || fail "--emit obj built an executable"
[ "$(od -An -tx1 -N4 "$out/obj/model.o" | tr -d ' ')" = 7f454c46 ] || fail "model.o is not ELF"
[ "$(od -An -tu2 -j16 -N2 "$out/obj/model.o" | tr -d ' ')" = 1 ] || fail "model.o is not relocatable"
echo "ok   --emit obj"

c -o "$out/asm" --emit asm
grep -q '^forward:' "$out/asm/model.s" || fail "model.s has no forward"
echo "ok   --emit asm"

c -o "$out/ll" --emit llvm
grep -q 'define internal .*@forward' "$out/ll/model.ll" || fail "model.ll has no forward"
grep -Eq 'llvm\.(fma|fmuladd)\.v[0-9]+f32' "$out/ll/model.ll" || fail "model.ll has no vector FMA"
grep -q 'llvm.vector.reduce.fadd' "$out/ll/model.ll" || fail "model.ll has no vector reduction"
echo "ok   --emit llvm: vector FMA and reductions in the IR"

c -o "$out/loops" --emit loops
grep -q '^func matmul_' "$out/loops/model.loops" || fail "model.loops has no matmul"
c -o "$out/c" --emit c
grep -q 'static int32_t forward' "$out/c/model.c" || fail "model.c has no forward"
[ ! -e "$out/c/lfm2-run" ] || fail "--emit c built an executable"
echo "ok   --emit loops, --emit c"

# model.o and model.h on their own, like a Glow bundle
${CC:-cc} -std=gnu11 -O1 -I"$out/obj" -I"$out/obj/runtime" -I"$tools" "$here/bundle_main.c" "$tools/npyio.c" \
	"$out/obj/model.o" -o "$out/bundle" -lm
"$out/bundle" "$out/obj/weights.bin" "$model/tokens.txt" "$model/logits.npy"

has() { for f in "$@"; do grep -qw "$f" /proc/cpuinfo || return 1; done; }
tokens=$(head -n 1 "$model/tokens.txt")
for preset in x86-64 x86-64-v3 x86-64-v4; do
	case $(uname -m) in x86_64) ;; *) echo "skip presets: not an x86-64 host"; break ;; esac
	cached -o "$out/$preset" --cpu "$preset"
	case $preset in
	x86-64) runs=1 ;;
	x86-64-v3) has avx2 fma bmi2 && runs=1 || runs=0 ;;
	x86-64-v4) has avx512f avx512bw avx512vl avx512dq && runs=1 || runs=0 ;;
	esac
	if [ "$runs" = 1 ]; then
		"$out/$preset/lfm2-run" --tokens "$tokens" --logits "$out/$preset/got.npy" 2>/dev/null
		"$npycmp" "$out/$preset/got.npy" "$model/logits.npy" --rel 1e-4 >/dev/null || fail "--cpu $preset logits"
		echo "ok   --cpu $preset: compiled, logits match the oracle"
	else
		echo "ok   --cpu $preset: compiled (this host cannot run it)"
	fi
done
