#!/bin/sh
# fusion.sh — the fusion passes (passes/fuse.c) against the oracle and
# against the unfused graph.
#
#   fusion.sh interp LFM2C NPYCMP ROOT OUT
#       For every fixture: the interpreter on the graph with every fusion
#       (fed in chunks 3,1,5, so the conv chain's state crosses calls) ==
#       the interpreter on the unfused graph (whole) to 1e-12, and == the
#       f64 oracle to 1e-9.  An IR-level check, independent of codegen.
#   fusion.sh e2e LFM2C NPYCMP E2E_SH FIXTURE MODEL OUT
#       compile MODEL with --fuse all, LLVM and C backends; each build's
#       logits vs the oracle (1e-4), the two builds vs each other (1e-5),
#       and greedy ids (decode: conv state and KV cache) — tests/e2e's steps.
#   fusion.sh single LFM2C NPYCMP E2E_SH ROOT OUT FUSES FIXTURE...
#       for each fixture: compile (LLVM) with --fuse FUSES (e.g. "qkv":
#       that fusion alone), logits vs the oracle fed in chunks of 3 (1e-4).
#   fusion.sh dump LFM2C ROOT
#       `lfm2c ir -d PREV,PASS --fuse PASS` on tiny for every fusion: the
#       ops the rewrite removes and adds, counted before and after.
#   fusion.sh dequant LFM2C NPYCMP ROOT OUT
#       dequant_in_matmul off (-q q8_0 --fuse all,-dequant_in_matmul): the
#       q8_0 weights stored as f32 holding their quantize-dequantize values;
#       the compiled model vs the interpreter on `lfm2c dequant -q q8_0`'s
#       checkpoint (1e-4), and that interpreter == interp -q q8_0 (bitwise).
set -u

die() {
	echo "fusion: FAIL: $*" >&2
	exit 1
}
run() {
	echo "$ $*"
	"$@" || die "$* exited with status $?"
}

# the model folder of a fixture (weight-less fixtures name theirs)
model_of() {
	if [ -f "$2/config.json" ]; then
		echo "$2"
	elif [ -f "$2/model_dir.txt" ]; then
		echo "$1/$(head -n 1 "$2/model_dir.txt")"
	fi
}

cmd_interp() {
	lfm2c=$1 npycmp=$2 root=$3 out=$4
	mkdir -p "$out" || die "cannot make $out"
	n=0
	for fx in "$root"/tests/fixtures/*/; do
		fx=${fx%/}
		v=$(basename "$fx")
		[ -f "$fx/tokens.txt" ] || continue
		model=$(model_of "$root" "$fx")
		[ -n "$model" ] || continue
		tok=$(head -n 1 "$fx/tokens.txt")
		run "$lfm2c" interp "$model" --tokens "$tok" --fuse none --logits "$out/$v-none.npy"
		run "$lfm2c" interp "$model" --tokens "$tok" --fuse all --chunks 3,1,5 --logits "$out/$v-all.npy"
		run "$npycmp" "$out/$v-all.npy" "$out/$v-none.npy" --rel 1e-12
		run "$npycmp" "$out/$v-all.npy" "$fx/logits.npy" --rel 1e-9
		n=$((n + 1))
	done
	[ "$n" -ge 10 ] || die "only $n fixtures found under $root/tests/fixtures"
	echo "fusion interp: $n fixtures, fused == unfused"
}

cmd_e2e() {
	lfm2c=$1 npycmp=$2 e2e=$3 fx=$4 model=$5 out=$6
	mkdir -p "$out" || die "cannot make $out"
	run sh "$e2e" compile "$lfm2c" "$model" "$out/llvm" --fuse all
	run sh "$e2e" compile "$lfm2c" "$model" "$out/c" --fuse all --backend c
	for b in llvm c; do
		run sh "$e2e" logits "$out/$b" "$fx" "$npycmp" 1e-4
		run sh "$e2e" greedy "$out/$b" "$fx" 0.01
	done
	run sh "$e2e" pair "$out/llvm" "$out/c" "$fx" "$npycmp" 1e-5
}

cmd_single() {
	lfm2c=$1 npycmp=$2 e2e=$3 root=$4 out=$5 fuses=$6
	shift 6
	mkdir -p "$out" || die "cannot make $out"
	for v in "$@"; do
		fx=$root/tests/fixtures/$v
		o=$out/$v
		run sh "$e2e" compile "$lfm2c" "$fx" "$o" --fuse "$fuses"
		tok=$(head -n 1 "$fx/tokens.txt")
		run "$o/lfm2-run" --tokens "$tok" --chunk 3 --logits "$o/got.npy"
		run "$npycmp" "$o/got.npy" "$fx/logits.npy" --rel 1e-4
	done
}

# count FILE SECTION OP: nodes of OP in the dump after pass SECTION
count() {
	awk -v s="# ---- after $2" -v op="= $3 " '
		index($0, "# ---- after ") == 1 { on = index($0, s) == 1 && (length($0) == length(s) || substr($0, length(s) + 1, 1) == " ") }
		on && index($0, op) { n++ }
		END { print n + 0 }' "$1"
}

# expect_counts PASS PREV OP BEFORE AFTER [OP BEFORE AFTER]...
expect_counts() {
	pass=$1 prev=$2
	shift 2
	f=$dump_dir/$pass.txt
	"$lfm2c" ir "$tiny" --fuse "$pass" -d "$prev,$pass" >"$f" || die "lfm2c ir -d $prev,$pass failed"
	grep -q "^# ---- after $pass (on)" "$f" || die "$pass: the dump does not say the pass is on"
	while [ $# -ge 3 ]; do
		b=$(count "$f" "$prev" "$1") a=$(count "$f" "$pass" "$1")
		[ "$b" = "$2" ] && [ "$a" = "$3" ] || die "$pass: $1 nodes $b -> $a, expected $2 -> $3"
		echo "ok   $pass: $1 $b -> $a"
		shift 3
	done
}

cmd_dump() {
	lfm2c=$1 root=$2
	tiny=$root/tests/fixtures/tiny
	dump_dir=$(mktemp -d) || die "mktemp"
	trap 'rm -rf "$dump_dir"' EXIT
	# tiny: 6 layers (4 conv, 2 attention), tied embedding; per layer 2 norms,
	# conv 5 matmuls, attention 7, QK-norm 2 per attention layer, + the head
	expect_counts rmsnorm_fold quantize RMSNORM 17 5 RMSNORM_UNIT 0 12
	grep -q 'in_proj.weight" f32 .* = \[conv.in_proj \* operator_norm\]' "$dump_dir/rmsnorm_fold.txt" \
		|| die "rmsnorm_fold: the folded weight's recipe is not shown"
	expect_counts qkv rmsnorm_fold MATMUL 35 31 SLICE 12 18
	grep -q 'qkv_proj.weight" f32 .* = \[self_attn.q_proj | self_attn.k_proj | self_attn.v_proj\]' \
		"$dump_dir/qkv.txt" || die "qkv: the stacked weight's recipe is not shown"
	expect_counts w1w3_swiglu qkv MATMUL 35 23 SILU 6 0 MUL 14 8 MATMUL_SWIGLU 0 6
	grep -q 'w13.weight" f32 .* = pairs(feed_forward.w1, feed_forward.w3)' "$dump_dir/w1w3_swiglu.txt" \
		|| die "w1w3_swiglu: the paired weight's recipe is not shown"
	expect_counts residual_epilogue w1w3_swiglu ADD 12 0 MATMUL 35 23 MATMUL_ACC 0 12
	expect_counts conv_chain residual_epilogue SHORT_CONV 4 0 MUL 14 6 SLICE 12 0 CONV_CHAIN 0 4
	expect_counts qk_norm_rope conv_chain ROPE 4 0 RMSNORM 17 13 NORM_ROPE 0 4
	# the untied head folds its norm too; the tied one cannot (shared weight)
	"$lfm2c" ir "$root/tests/fixtures/untied" --fuse rmsnorm_fold >"$dump_dir/untied.txt" \
		|| die "lfm2c ir untied --fuse rmsnorm_fold failed"
	grep -q '"lm_head.weight" .* = \[lm_head \* embedding_norm\]' "$dump_dir/untied.txt" \
		|| die "rmsnorm_fold: untied lm_head not folded"
	# a switched-off fusion changes nothing and says so
	"$lfm2c" ir "$tiny" --fuse none -d quantize,qkv >"$dump_dir/off.txt" || die "ir --fuse none failed"
	grep -q "^# ---- after qkv (off)" "$dump_dir/off.txt" || die "qkv off: not said"
	[ "$(count "$dump_dir/off.txt" quantize MATMUL)" = "$(count "$dump_dir/off.txt" qkv MATMUL)" ] \
		|| die "qkv off changed the graph"
	# dequant_in_matmul off: block formats become f32 holding their values
	"$lfm2c" ir "$tiny" -q q8_0 --fuse none,-dequant_in_matmul -d dequant_in_matmul >"$dump_dir/dq.txt" \
		|| die "ir -q q8_0 --fuse -dequant_in_matmul failed"
	grep -q "^# ---- after dequant_in_matmul (off: block formats stored as f32 values)" "$dump_dir/dq.txt" \
		|| die "dequant_in_matmul off: not said"
	n=$(grep -c '" f32 @[0-9+]* values=q8_0' "$dump_dir/dq.txt")
	[ "$n" = 35 ] || die "dequant_in_matmul off: $n weights hold q8_0 values as f32, expected 35 (every matrix)"
	# bad lists: one clear line each
	sh "$root/tests/tools/expect.sh" 1 "unknown fusion 'qkvo'" "$lfm2c" ir "$tiny" --fuse qkvo || die "bad --fuse accepted"
	sh "$root/tests/tools/expect.sh" 1 "unknown pass 'nosuch' for -d" "$lfm2c" ir "$tiny" -d qkv,nosuch \
		|| die "bad -d accepted"
	echo "fusion dumps: every rewrite as expected"
}

cmd_dequant() {
	lfm2c=$1 npycmp=$2 root=$3 out=$4
	fx=$root/tests/fixtures/tiny
	tok=$(head -n 1 "$fx/tokens.txt")
	rm -rf "$out" && mkdir -p "$out" || die "cannot make $out"
	run "$lfm2c" dequant "$fx" -q q8_0 --fuse all -o "$out/dq"
	# bitwise with the same graph on both sides: rmsnorm_fold would fold the
	# all-f32 dequantized checkpoint's norms but not the q8_0 weights' ones
	run "$lfm2c" interp "$out/dq" --tokens "$tok" --fuse all,-rmsnorm_fold --logits "$out/dq.npy"
	run "$lfm2c" interp "$fx" -q q8_0 --fuse all,-rmsnorm_fold --tokens "$tok" --logits "$out/q.npy"
	run "$npycmp" "$out/dq.npy" "$out/q.npy" --rel 0
	run "$lfm2c" compile "$fx" -o "$out/bin" -q q8_0 --fuse all,-dequant_in_matmul
	run "$out/bin/lfm2-run" --tokens "$tok" --chunk 5 --logits "$out/got.npy"
	run "$npycmp" "$out/got.npy" "$out/dq.npy" --rel 1e-4
	# the q8_0 values really differ from f32 (the format was applied)
	if "$npycmp" "$out/got.npy" "$fx/logits.npy" --rel 1e-5 >/dev/null 2>&1; then
		die "q8_0 values as f32 give the f32 logits: the rounding was not applied"
	fi
	echo "fusion dequant: dequant_in_matmul off == the dequantized checkpoint"
}

[ $# -ge 1 ] || die "usage: fusion.sh interp|e2e|single|dump|dequant ARGS..."
mode=$1
shift
case $mode in
interp) cmd_interp "$@" ;;
e2e) cmd_e2e "$@" ;;
single) cmd_single "$@" ;;
dump) cmd_dump "$@" ;;
dequant) cmd_dequant "$@" ;;
*) die "unknown mode '$mode'" ;;
esac
