#!/bin/sh
# e2e.sh — one step of lfm2c's end-to-end test against the oracle fixtures.
#
#   e2e.sh compile LFM2C MODEL_DIR OUT_DIR [OPTIONS...]
#       lfm2c compile MODEL_DIR -o OUT_DIR OPTIONS (OUT_DIR is removed
#       first) and check that OUT_DIR/lfm2-run was built.
#   e2e.sh logits OUT_DIR FIXTURE_DIR NPYCMP [REL]
#       OUT_DIR/lfm2-run --tokens <FIXTURE_DIR/tokens.txt> --logits got.npy,
#       then npycmp got.npy FIXTURE_DIR/logits.npy --rel REL (default 1e-4):
#       every prompt position's logits against the f64 oracle.
#   e2e.sh pair OUT_A OUT_B FIXTURE_DIR NPYCMP [REL]
#       both builds' logits of FIXTURE_DIR/tokens.txt against each other
#       (bound REL, default 1e-5): the LLVM and the C backend agree.
#   e2e.sh greedy OUT_DIR FIXTURE_DIR [MIN_GAP]
#       OUT_DIR/lfm2-run --tokens PROMPT -n N --temp 0, where PROMPT is
#       FIXTURE_DIR/greedy_prompt.txt if present, else tokens.txt, and N the
#       number of ids on line 1 of greedy.txt.  Line 2 holds the oracle's
#       top1-top2 logit gap at each step.  If every gap is >= MIN_GAP
#       (default 0.01) stdout must equal line 1 exactly; otherwise the ids
#       before the first small-gap step must match (a correct f32 build may
#       pick the other token there, and everything after it then differs).
#
# $E2E_RUNNER, if set, prefixes every lfm2-run command (tests/cross runs
# aarch64 builds with E2E_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu").
# $E2E_GOT, if set, is where the logits step writes got.npy (a test that
# runs a build another test owns writes its files in its own directory).
#
# Exit 0 on success; on failure one line saying which step failed and why
# (the tools' own output is shown above it in the ctest log).
set -u

die() {
	echo "e2e: FAIL: $*" >&2
	exit 1
}

first_line() {
	[ -r "$1" ] || die "cannot read $1"
	head -n 1 "$1" | tr -d ' \r'
}

cmd_compile() {
	[ $# -ge 3 ] || die "usage: e2e.sh compile LFM2C MODEL_DIR OUT_DIR [OPTIONS...]"
	lfm2c=$1 model=$2 out=$3
	shift 3
	[ -d "$model" ] || die "model directory $model does not exist"
	rm -rf "$out" || die "cannot remove $out"
	echo "$ $lfm2c compile $model -o $out $*"
	"$lfm2c" compile "$model" -o "$out" "$@" || die "lfm2c compile $model exited with status $?"
	[ -x "$out/lfm2-run" ] || die "lfm2c compile succeeded but $out/lfm2-run is missing"
}

cmd_logits() {
	[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: e2e.sh logits OUT_DIR FIXTURE_DIR NPYCMP [REL]"
	out=$1 fx=$2 npycmp=$3 rel=${4:-1e-4}
	got=${E2E_GOT:-$out/got.npy}
	tokens=$(first_line "$fx/tokens.txt")
	[ -x "$out/lfm2-run" ] || die "$out/lfm2-run is missing (did the compile step fail?)"
	rm -f "$got"
	echo "$ $out/lfm2-run --tokens $tokens --logits $got"
	${E2E_RUNNER:-} "$out/lfm2-run" --tokens "$tokens" --logits "$got" || die "lfm2-run exited with status $?"
	[ -f "$got" ] || die "lfm2-run did not write $got"
	echo "$ npycmp $got $fx/logits.npy --rel $rel"
	"$npycmp" "$got" "$fx/logits.npy" --rel "$rel" || die "logits differ from the oracle (npycmp status $?)"
}

cmd_pair() {
	[ $# -ge 4 ] && [ $# -le 5 ] || die "usage: e2e.sh pair OUT_A OUT_B FIXTURE_DIR NPYCMP [REL]"
	a=$1 b=$2 fx=$3 npycmp=$4 rel=${5:-1e-5}
	tokens=$(first_line "$fx/tokens.txt")
	for o in "$a" "$b"; do
		[ -x "$o/lfm2-run" ] || die "$o/lfm2-run is missing (did the compile step fail?)"
		rm -f "$o/pair.npy"
		echo "$ $o/lfm2-run --tokens $tokens --logits $o/pair.npy"
		${E2E_RUNNER:-} "$o/lfm2-run" --tokens "$tokens" --logits "$o/pair.npy" || die "$o/lfm2-run exited with status $?"
	done
	echo "$ npycmp $a/pair.npy $b/pair.npy --rel $rel"
	"$npycmp" "$a/pair.npy" "$b/pair.npy" --rel "$rel" || die "the two builds' logits differ (npycmp status $?)"
}

cmd_greedy() {
	[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: e2e.sh greedy OUT_DIR FIXTURE_DIR [MIN_GAP]"
	out=$1 fx=$2 min_gap=${3:-0.01}
	if [ -f "$fx/greedy_prompt.txt" ]; then
		prompt=$(first_line "$fx/greedy_prompt.txt")
	else
		prompt=$(first_line "$fx/tokens.txt")
	fi
	want=$(first_line "$fx/greedy.txt")
	gaps=$(sed -n 2p "$fx/greedy.txt" | tr -d ' \r')
	n=$(printf '%s\n' "$want" | tr ',' '\n' | grep -c .)
	[ "$n" -gt 0 ] || die "$fx/greedy.txt has no ids"
	# k = number of leading steps whose gap is >= min_gap
	k=$(printf '%s\n' "$gaps" | tr ',' '\n' | awk -v m="$min_gap" '
		!stop && $1 + 0 >= m + 0 { k++; next } { stop = 1 } END { print k + 0 }')
	[ -x "$out/lfm2-run" ] || die "$out/lfm2-run is missing (did the compile step fail?)"
	echo "$ $out/lfm2-run --tokens $prompt -n $n --temp 0"
	got=$(${E2E_RUNNER:-} "$out/lfm2-run" --tokens "$prompt" -n "$n" --temp 0) || die "lfm2-run exited with status $?"
	got=$(printf '%s\n' "$got" | tr -d ' \r')
	echo "got:  $got"
	echo "want: $want (oracle; $k of $n steps have top1-top2 gap >= $min_gap)"
	if [ "$k" -eq "$n" ]; then
		[ "$got" = "$want" ] || die "generated ids differ from the oracle's"
	else
		if [ "$k" -gt 0 ]; then
			gp=$(printf '%s\n' "$got" | cut -d, -f1-"$k")
			wp=$(printf '%s\n' "$want" | cut -d, -f1-"$k")
			[ "$gp" = "$wp" ] || die "the first $k generated ids differ from the oracle's"
		fi
		ng=$(printf '%s\n' "$got" | tr ',' '\n' | grep -c .)
		[ "$ng" -eq "$n" ] || die "lfm2-run printed $ng ids, expected $n"
		echo "compared the first $k ids (step $((k + 1)) has a gap below $min_gap)"
	fi
}

[ $# -ge 1 ] || die "usage: e2e.sh compile|logits|pair|greedy ARGS..."
step=$1
shift
case $step in
compile) cmd_compile "$@" ;;
logits) cmd_logits "$@" ;;
pair) cmd_pair "$@" ;;
greedy) cmd_greedy "$@" ;;
*) die "unknown step '$step'" ;;
esac
echo "e2e: $step OK"
