#!/bin/sh
# ops.sh LFM2C ROOT — `lfm2c ir --ops` prints the op table of ir/ops.h:
# one line per OP( row, in order, with its operand letters.
set -u
lfm2c=$1 root=$2
out=$("$lfm2c" ir --ops) || { echo "FAIL: lfm2c ir --ops exited $?"; exit 1; }
want=$(sed -n 's/^OP(\([A-Z_0-9]*\), *"\([twx]*\)".*/\1 \2/p' "$root/ir/ops.h")
got=$(printf '%s\n' "$out" | awk '{ if ($2 ~ /^[twx]+$/) print $1, $2; else print $1, "" }' | sed 's/ $//')
want=$(printf '%s\n' "$want" | sed 's/ $//')
if [ -z "$want" ] || [ "$got" != "$want" ]; then
	echo "FAIL: the printed op table differs from ir/ops.h"
	printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"
	exit 1
fi
echo "ok   lfm2c ir --ops: $(printf '%s\n' "$want" | wc -l) ops, as in ir/ops.h"
