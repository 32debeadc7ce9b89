#!/bin/sh
# sanitize.sh OUT_DIR TMP — lfm2-run's text paths under ASan + UBSan.
#
# OUT_DIR is a compiled model (model.c or model.o, runtime/, weights.bin,
# tokenizer.bin).  Its runtime sources are built again with
# -fsanitize=address,undefined (and model.c too; an object file from
# another backend is linked as it is), next to copies of weights.bin and
# tokenizer.bin, and every text mode runs once: raw greedy, chat with
# sampling and --json, interactive with several turns, --tokenize,
# --detokenize, and the error paths (prompt too long, no tokenizer, a
# damaged table).  Any sanitizer report fails the test.
set -u
out=$1 tmp=$2
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/notok"
cc=${CC:-cc}
flags="-std=gnu11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if [ -f "$out/model.c" ]; then
	model=$out/model.c
elif [ -f "$out/model.o" ]; then
	model=$out/model.o
else
	echo "FAIL: $out has neither model.c nor model.o" >&2
	exit 1
fi
if ! $cc $flags -I"$out/runtime" -I"$out" "$model" "$out"/runtime/*.c -lm -lpthread -o "$tmp/bin/lfm2-run" \
	2>"$tmp/build.log"; then
	cat "$tmp/build.log" >&2
	echo "FAIL: sanitized build" >&2
	exit 1
fi
cp "$out/weights.bin" "$out/tokenizer.bin" "$tmp/bin/"
cp "$tmp/bin/lfm2-run" "$out/weights.bin" "$tmp/notok/"
exe=$tmp/bin/lfm2-run
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
failures=0

# check WANT_STATUS INPUT ARGS...: the exit status, and no sanitizer report
check() {
	want=$1 input=$2
	shift 2
	printf '%s' "$input" | "$@" >"$tmp/out.txt" 2>"$tmp/err.txt"
	status=$?
	if grep -q "Sanitizer\|runtime error:" "$tmp/err.txt"; then
		echo "FAIL: sanitizer report for: $*" >&2
		cat "$tmp/err.txt" >&2
		failures=$((failures + 1))
	elif [ "$status" -ne "$want" ]; then
		echo "FAIL: exit $status (want $want) for: $*" >&2
		cat "$tmp/err.txt" >&2
		failures=$((failures + 1))
	else
		echo "ok: $* (exit $status)"
	fi
}

check 0 "" "$exe" -p "This program is free software" --raw --temp 0 -n 40 -t 2
check 0 "" "$exe" -p "What is free software?" -s 3 -n 40 --json --verbose-prompt
check 0 "" "$exe" -p "naïve café 日本語 🙂" --system "Be brief." -s 4 -n 30 -t 1 --chunk 3
check 0 "What is GNU?
multi\\
line

And Debian?
/exit
" "$exe" -i -s 5 -n 25 --verbose-prompt
check 0 "one
two
" "$exe" -i --json -n 10 --temp 0
check 2 "a
b
c
" "$exe" -i -n 30 -c 50 --temp 0
check 0 "" "$exe" --tokenize "naïve café 日本語 🙂 <|im_start|>"
check 0 "" "$exe" --detokenize "1,6,1611,24,209,7"
check 2 "" "$exe" --detokenize "1,99999"
check 2 "" "$exe" -p "What is C. elegans?" -c 8
check 0 "" "$exe" --tokens 1,1650,1049 -n 8
check 1 "" "$tmp/notok/lfm2-run" -p hi
head -c 1000 "$out/tokenizer.bin" >"$tmp/trunc.bin"
check 1 "" "$exe" -p hi --tokenizer "$tmp/trunc.bin"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "sanitized lfm2-run: all text paths clean"
