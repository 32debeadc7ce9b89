#!/bin/sh
# cli_tokenize.sh — `lfm2c tokenize` as a user sees it.
#
#   cli_tokenize.sh LFM2C TOKENIZER_DIR TMP_DIR
#
# TOKENIZER_DIR is trained-tiny's tokenizer (tests/tokenizer/data/tiny): the
# README's prompts must give the README's ids (from the Python encoder that
# trained the model), decoding gives the text back, standard input works.
# Bad inputs (no tokenizer.json, a broken one, a bad id, a bad option): exit
# 1, nothing on stdout, exactly one stderr line "lfm2c: ..." naming it.
set -u
lfm2c=$1
dir=$2
tmp=$3
failures=0
out=$tmp/out.txt
err=$tmp/err.txt
mkdir -p "$tmp"

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

run() {
	want=$1
	shift
	"$lfm2c" "$@" >"$out" 2>"$err" </dev/null
	status=$?
	echo "\$ lfm2c $* -> exit $status"
	[ "$status" -eq "$want" ] || fail "lfm2c $*: exit $status, want $want ($(cat "$err"))"
}

expect_out() {
	got=$(cat "$out")
	[ "$got" = "$1" ] || fail "stdout '$got', want '$1'"
	[ -s "$err" ] && fail "stderr not empty: $(cat "$err")"
}

expect_one_error() {
	[ -s "$out" ] && fail "stdout not empty: $(head -n 3 "$out")"
	lines=$(wc -l <"$err")
	[ "$lines" -eq 1 ] || fail "stderr has $lines lines: $(cat "$err")"
	grep -q "^lfm2c: .*$1" "$err" || fail "stderr '$(cat "$err")' does not match '$1'"
}

run 0 tokenize "$dir" 'This program is free software'
expect_out "1,1650,1049,335,1206,813"
run 0 tokenize "$dir" 'The GNU General Public License'
expect_out "1,1157,734,887,821,532"
run 0 tokenize "$dir" 'Debian'
expect_out "1,1679,678"
run 0 tokenize "$dir" --no-special 'Debian'
expect_out "1679,678"
run 0 tokenize "$dir" --decode 1,1650,1049,335,1206,813
expect_out "<|startoftext|>This program is free software"
run 0 tokenize "$dir" --no-special --decode "1 1650 1049 335 1206 813 7"
expect_out "This program is free software"
run 0 tokenize "$dir" --split-special -- '<|im_end|>'
[ "$(cat "$out")" != "1,7" ] || fail "--split-special still matched <|im_end|>"

# after "--" every argument is text, even "-" (not standard input) and "--":
# the ids decode back to exactly that text (stdin is /dev/null, which would
# give only BOS)
for t in - -- -n -0.0 '-x y'; do
	run 0 tokenize "$dir" -- "$t"
	ids=$(cat "$out")
	[ "$ids" != "1" ] || fail "tokenize -- '$t' read standard input"
	run 0 tokenize "$dir" --no-special --decode "$ids"
	expect_out "$t"
done
# and an option before "--" is still one
run 0 tokenize "$dir" --no-special -- -
[ "$(cut -d, -f1 "$out")" != 1 ] || fail "--no-special before -- ignored"

# standard input: a prompt with a newline
printf 'def main():\n    """' | "$lfm2c" tokenize "$dir" - >"$out" 2>"$err"
[ $? -eq 0 ] || fail "stdin: exit status"
expect_out "1,655,487,273,1676,274,492"

# errors
mkdir -p "$tmp/empty" "$tmp/broken"
run 1 tokenize "$tmp/empty" 'x'
expect_one_error "empty: no tokenizer.json"
printf '{"model": {"type": "Unigram"}, "pre_tokenizer": null}' >"$tmp/broken/tokenizer.json"
run 1 tokenize "$tmp/broken" 'x'
expect_one_error "broken/tokenizer.json: "
run 1 tokenize "$dir" --decode 1,2048
expect_one_error "bad token id '2048'"
run 1 tokenize "$dir" --decode 1,abc
expect_one_error "bad token id 'abc'"
run 1 tokenize "$dir" --bogus x
expect_one_error "usage: lfm2c tokenize"
run 1 tokenize "$dir"
expect_one_error "usage: lfm2c tokenize"
run 1 tokenize "$dir" x --decode 1
expect_one_error "usage: lfm2c tokenize"

if [ "$failures" -ne 0 ]; then
	echo "cli_tokenize: $failures failure(s)"
	exit 1
fi
echo "cli_tokenize: ok"
