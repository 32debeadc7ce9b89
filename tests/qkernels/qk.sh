#!/bin/sh
# qk.sh QK_GEN HARNESS RUNTIME_DIR OUT BACKEND TRIPLE CPU FEATURES CFLAGS WANT FORBID RUN [all|short [MR NR]]
# The block-format matmul kernels for one target variant (qk_gen.c):
#   1. generate the kernels and their test data with BACKEND (llvm: assembly;
#      c: C compiled by the target's C compiler with CFLAGS), assembled;
#      `short` builds a third of the cases (the slow portable dot expansions)
#   2. the assembly must match the regex WANT and not match FORBID ("-":
#      none): the dot instruction was chosen by feature, or not;
#   3. link with qk_harness.c and run it — on the host when RUN is
#      "always" or names a /proc/cpuinfo flag the host has, under
#      qemu-aarch64 when RUN is "qemu" — against quant_act_row and
#      quant_dot_ref's results.
# Exit 77 (skipped) when a cross compiler or qemu is missing.
set -eu
gen=$1 harness=$2 rtdir=$3 out=$4 backend=$5 triple=$6 cpu=$7 feats=$8 cflags=$9
shift 9
want=$1 forbid=$2 run=$3
shift 3
[ "$feats" = - ] && feats=
[ "$cflags" = - ] && cflags=
rm -rf "$out"
mkdir -p "$out"
asflags=
case $triple in
aarch64*) cc=aarch64-linux-gnu-gcc asflags=-mcpu=$cpu ;;   # gas needs the CPU for sdot
*) cc=${CC:-cc} ;;
esac
command -v "$cc" >/dev/null 2>&1 || { echo "qk: $cc not installed, skipped"; exit 77; }
if [ "$run" = qemu ] && ! command -v qemu-aarch64 >/dev/null 2>&1; then
	echo "qk: qemu-aarch64 not installed, skipped"; exit 77
fi
"$gen" "$backend" "$out" "$triple" "$cpu" "$feats" "$@"
if [ "$backend" = c ]; then
	# shellcheck disable=SC2086
	$cc -std=gnu11 -O2 $cflags -I"$rtdir" -S "$out/k.c" -o "$out/k.s"
fi
$cc $asflags -c "$out/k.s" -o "$out/k.o"
if [ "$want" != - ]; then
	grep -Eq "$want" "$out/k.s" || { echo "qk: FAIL: no /$want/ in the assembly for $cpu $feats"; exit 1; }
	echo "assembly uses /$want/"
fi
if [ "$forbid" != - ]; then
	if grep -Eq "$forbid" "$out/k.s"; then echo "qk: FAIL: /$forbid/ in the assembly for $cpu $feats"; exit 1; fi
	echo "assembly avoids /$forbid/"
fi
# shellcheck disable=SC2086
$cc -std=gnu11 -O2 $cflags -I"$rtdir" -I"$out" "$harness" "$out/k.o" -o "$out/harness" -lm
case $run in
always) "$out/harness" "$out/data.bin" ;;
qemu) qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/harness" "$out/data.bin" ;;
*)
	if grep -qw "$run" /proc/cpuinfo; then
		"$out/harness" "$out/data.bin"
	else
		echo "host has no $run: compiled and checked the assembly, not run"
	fi ;;
esac
