#!/bin/sh
# ir_print.sh LFM2C FIXTURES: `lfm2c ir` prints a verified graph with the
# expected node counts, op by op, for the tiny model and its variants (the
# unfused graph, --fuse none; tests/fusion checks what each fusion changes).
set -eu
lfm2c=$1 fx=$2
check() {   # check MODEL OP COUNT
	n=$("$lfm2c" ir "$fx/$1" --fuse none | grep -c "= $2 ") || true
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
"$lfm2c" ir "$fx/tiny" -d all | grep -q "after layout"
if "$lfm2c" ir "$fx/tiny" -d nosuchpass 2>/dev/null; then echo "FAIL: unknown pass accepted"; exit 1; fi
echo "ir print checks passed"
