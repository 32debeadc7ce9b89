#!/bin/sh
# progress.sh LFM2C MODEL OUT — the progress line of lfm2c compile.
#   stderr not a terminal: exactly the one final line, no \r, no escapes;
#   stderr a terminal (script(1) gives it a pty): the line is rewritten in
#   place with the stage names, a percentage and the elapsed seconds.
set -eu
lfm2c=$1 model=$2 out=$3
rm -rf "$out"
mkdir -p "$out"
fail() { echo "progress: FAIL: $*"; exit 1; }
"$lfm2c" compile "$model" -o "$out/a" --no-cache 2>"$out/plain.err"
[ "$(wc -l < "$out/plain.err")" -eq 1 ] || fail "not a terminal: $(wc -l < "$out/plain.err") lines on stderr"
if tr -d '\n' < "$out/plain.err" | grep -q "$(printf '[\r\033]')"; then fail "control characters without a terminal"; fi
echo "ok   not a terminal: one line: $(cat "$out/plain.err")"
if ! command -v script >/dev/null 2>&1; then
	echo "skip terminal part: no script(1)"
	exit 0
fi
script -qec "$lfm2c compile $model -o $out/b --no-cache" /dev/null > "$out/tty.out" 2>&1 </dev/null || fail "compile on a pty"
grep -q "$(printf '\r')lfm2c: writing weights" "$out/tty.out" || fail "no 'writing weights' progress line on a terminal"
grep -Eq "[0-9]+% +[0-9]+\.[0-9] s" "$out/tty.out" || fail "no percentage and elapsed time"
grep -q "lfm2c: compiled" "$out/tty.out" || fail "no final line on a terminal"
echo "ok   terminal: progress line with stages, percent and seconds, then the final line"
