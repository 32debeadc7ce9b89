#!/bin/sh
# errors.sh LFM2C MODEL OUT — bad targets and options: every case must exit
# non-zero with exactly one line on stderr, "lfm2c: ..." naming the culprit,
# and leave no output directory behind.
set -u
lfm2c=$1 model=$2 out=$3
fails=0
case_() {   # case_ WORD OPTIONS...: WORD must appear in the message
	word=$1
	shift
	rm -rf "$out"
	"$lfm2c" compile "$model" -o "$out" "$@" 2>"$out.err" >/dev/null
	rc=$?
	lines=$(wc -l < "$out.err")
	msg=$(head -n 1 "$out.err")
	if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ] || ! printf '%s' "$msg" | grep -q "^lfm2c: .*$word" || [ -e "$out" ]; then
		echo "FAIL $*: rc $rc, $lines line(s): $(cat "$out.err")"
		fails=$((fails + 1))
	else
		echo "ok   $*: $msg"
	fi
}
case_ "unknown target" --target sparc-linux-gnu
case_ "unknown target" --target not-a-triple
case_ "unknown target" --target riscv64-linux-gnu
case_ "cpu foo" --cpu foo
case_ "cpu skylake" --target aarch64-linux-gnu --cpu skylake
case_ "bogus" --features +bogus
case_ "+avx2" --target aarch64-linux-gnu --features +avx2
case_ "features avx2" --features avx2
case_ "only for the host" --target aarch64-linux-gnu --cpu host
case_ "backend" --backend gcc
case_ "emit" --emit elf
case_ "LLVM backend" --backend c --emit llvm
case_ "C backend" --backend llvm --emit c
case_ "needs a value" --cpu
case_ "unknown option" --frobnicate
[ "$fails" -eq 0 ] || { echo "errors: $fails case(s) failed"; exit 1; }
