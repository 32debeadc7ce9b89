#!/bin/sh
# dot.sh DOT_GEN HARNESS OUT BACKEND TRIPLE CPU FEATURES CFLAGS WANT FORBID RUN
# One target variant of the dot-product operations (dot_gen.c):
#   1. generate the kernels with BACKEND (llvm: object + assembly; c: C,
#      compiled by the target's C compiler with CFLAGS, -S for assembly);
#   2. the assembly must match the regex WANT and must not match FORBID
#      ("-" for none): the instruction was selected by feature, or not;
#   3. link with dot_harness.c and run it — on the host when RUN is
#      "always" or names a /proc/cpuinfo flag the host has, under
#      qemu-aarch64 when RUN is "qemu" — comparing with scalar loops.
# Exit 77 (skipped) when a cross compiler or qemu is missing.
set -eu
gen=$1 harness=$2 out=$3 backend=$4 triple=$5 cpu=$6 feats=$7 cflags=$8 want=$9
shift 9
forbid=$1 run=$2
[ "$feats" = - ] && feats=
[ "$cflags" = - ] && cflags=
rm -rf "$out"
mkdir -p "$out"
case $triple in
aarch64*) cc=aarch64-linux-gnu-gcc ;;
*) cc=${CC:-cc} ;;
esac
command -v "$cc" >/dev/null 2>&1 || { echo "dot: $cc not installed, skipped"; exit 77; }
if [ "$backend" = llvm ]; then
	"$gen" llvm "$out/k.o" "$triple" "$cpu" "$feats"
	"$gen" llvm "$out/k.s" "$triple" "$cpu" "$feats" asm
	kern=$out/k.o
else
	"$gen" c "$out/k.c" "$triple" "$cpu" "$feats"
	# shellcheck disable=SC2086
	$cc -std=gnu11 -O2 $cflags -S "$out/k.c" -o "$out/k.s"
	# shellcheck disable=SC2086
	$cc -std=gnu11 -O2 $cflags -c "$out/k.c" -o "$out/k.o"
	kern=$out/k.o
fi
if [ "$want" != - ]; then
	grep -Eq "$want" "$out/k.s" || { echo "dot: FAIL: no /$want/ in the assembly for $cpu $feats"; exit 1; }
	echo "assembly uses /$want/"
fi
if [ "$forbid" != - ]; then
	if grep -Eq "$forbid" "$out/k.s"; then echo "dot: FAIL: /$forbid/ in the assembly for $cpu $feats"; exit 1; fi
	echo "assembly avoids /$forbid/"
fi
# shellcheck disable=SC2086
$cc -O2 $cflags "$harness" "$kern" -o "$out/harness" -lm
case $run in
always) "$out/harness" ;;
qemu)
	command -v qemu-aarch64 >/dev/null 2>&1 || { echo "dot: qemu-aarch64 not installed, skipped"; exit 77; }
	qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/harness" ;;
*)
	if grep -qw "$run" /proc/cpuinfo; then
		"$out/harness"
	else
		echo "host has no $run: compiled and checked the assembly, not run"
	fi ;;
esac
