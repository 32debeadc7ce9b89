#!/bin/sh
# ir_print.sh LFM2C FIXTURES: `lfm2c ir` prints a verified graph with the
# expected node counts, op by op, for the tiny model and its variants (the
# unfused graph, --fuse none; tests/fusion checks what each fusion changes).
# Every `lfm2c ir` writes to a file first: a failing lfm2c fails the test
# (in a pipeline its exit status would be lost, and a count of 0 expected).
set -eu
lfm2c=$1 fx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {   # ir MODEL ARGS...: lfm2c ir's output in $tmp/MODEL.txt; its failure fails the test
	m=$1
	shift
	"$lfm2c" ir "$fx/$m" "$@" >"$tmp/$m.txt" || { echo "FAIL: lfm2c ir $m $* exited with status $?"; exit 1; }
}
check() {   # check MODEL OP COUNT
	ir "$1" --fuse none
	n=$(awk -v op="= $2 " 'index($0, op) { n++ } END { print n + 0 }' "$tmp/$1.txt")
	if [ "$n" != "$3" ]; then
		echo "FAIL $1: $n $2 nodes, expected $3"; exit 1
	fi
	echo "ok   $1: $3 $2"
}
# tiny: 6 layers (4 conv, 2 attention); 7 matmuls per layer kind... per layer:
# conv 5 (in, out, w1, w3, w2), attention 7 (q, k, v, out, w1, w3, w2), + head
check tiny MATMUL $((4 * 5 + 2 * 7 + 1))
check tiny SHORT_CONV 4
check tiny ATTENTION 2
check tiny ROPE 4
check tiny RMSNORM $((6 * 2 + 2 * 2 + 1))
check all_conv ATTENTION 0
check all_attn SHORT_CONV 0
check conv_bias_L4 ADD_BIAS 8
check conv_bias_L4 CONV_BIAS 4
check untied WEIGHT 57   # 56 tensors of tiny + lm_head
ir tiny -d all
grep -q "after layout" "$tmp/tiny.txt" || { echo "FAIL: -d all shows no 'after layout'"; exit 1; }
st=0
"$lfm2c" ir "$fx/tiny" -d nosuchpass >/dev/null 2>&1 || st=$?
[ "$st" = 1 ] || { echo "FAIL: -d nosuchpass: exit status $st, expected 1 (refused)"; exit 1; }
echo "ir print checks passed"
