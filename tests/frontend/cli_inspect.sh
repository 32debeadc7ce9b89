#!/bin/sh
# cli_inspect.sh — `lfm2c inspect` as a user sees it.
#
#   cli_inspect.sh LFM2C REPO_ROOT TMP_DIR
#
# Good model: exit 0, nothing on stderr, the report on stdout with the
# parameter count and a 16-hex-digit model hash; the same model written in
# two config key styles (tests/fixtures/tiny and .../hf5) gets the same
# hash, a different dtype (bf16) a different one.  Bad inputs (malformed
# config, missing directory, unknown option, no argument): exit 1, nothing
# on stdout, exactly one stderr line "lfm2c: ..." naming the problem.
set -u
lfm2c=$1
repo=$2
tmp=$3
failures=0
out=$tmp/out.txt
err=$tmp/err.txt
mkdir -p "$tmp"

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run STATUS ARGS...: runs lfm2c, checks the exit status
run() {
	want=$1
	shift
	"$lfm2c" "$@" >"$out" 2>"$err"
	status=$?
	echo "\$ lfm2c $* -> exit $status"
	[ "$status" -eq "$want" ] || fail "lfm2c $*: exit $status, want $want ($(cat "$err"))"
}

# expect_one_error REGEX: stdout empty, exactly one stderr line matching REGEX
expect_one_error() {
	[ -s "$out" ] && fail "stdout not empty: $(head -n 3 "$out")"
	lines=$(wc -l <"$err")
	[ "$lines" -eq 1 ] || fail "stderr has $lines lines: $(cat "$err")"
	grep -Eq -- "$1" "$err" || fail "stderr does not match /$1/: $(cat "$err")"
	cat "$err"
}

hash_of() {
	sed -n 's/^model hash: \([0-9a-f]\{16\}\)$/\1/p' "$out"
}

# --- good
run 0 inspect "$repo/tests/fixtures/bf16"
[ -s "$err" ] && fail "stderr not empty for a good model: $(cat "$err")"
grep -q '^parameters: 345,728$' "$out" || fail "no 'parameters: 345,728' line"
grep -q '^  ff: 192 ' "$out" || fail "no resolved ff 192"
grep -q '^    2 full_attention$' "$out" || fail "layer 2 is not listed as full_attention"
grep -Eq '^  model\.layers\.0\.conv\.conv\.weight +BF16 +\[64,1,3\] +384 [0-9a-f]{16}$' "$out" ||
	fail "conv weight row missing or malformed"
h_bf16=$(hash_of)
[ -n "$h_bf16" ] || fail "no 'model hash: <16 hex>' line"

run 0 inspect "$repo/tests/fixtures/tiny"
h_tiny=$(hash_of)
run 0 inspect -- "$repo/tests/fixtures/hf5"
h_hf5=$(hash_of)
grep -q '^  layer_types_from: layer_types$' "$out" || fail "hf5: layer_types_from"
run 0 inspect "$repo/tests/fixtures/full_attn_idxs"
h_idx=$(hash_of)
grep -q '^  layer_types_from: full_attn_idxs$' "$out" || fail "full_attn_idxs: layer_types_from"
[ -n "$h_tiny" ] && [ "$h_tiny" = "$h_hf5" ] && [ "$h_tiny" = "$h_idx" ] ||
	fail "same model, different key styles: hashes $h_tiny $h_hf5 $h_idx"
[ "$h_tiny" != "$h_bf16" ] || fail "f32 and bf16 models share a hash"

run 0 inspect --help
grep -q 'usage: lfm2c inspect' "$out" || fail "--help prints no usage"

# --- bad
bad=$tmp/bad-config
rm -rf "$bad"
mkdir -p "$bad"
cp "$repo/tests/fixtures/bf16/model.safetensors" "$bad/"
printf '{"hidden_size": 64,' >"$bad/config.json"
run 1 inspect "$bad"
expect_one_error "^lfm2c: .*bad-config/config.json: config is malformed JSON"

printf '{"hidden_size": "abc"}' >"$bad/config.json"
run 1 inspect "$bad"
expect_one_error "^lfm2c: .*config.json: key 'hidden_size' must be a positive integer \\(got \"abc\"\\)$"

run 1 inspect "$tmp/no-such-dir"
expect_one_error "^lfm2c: .*no-such-dir: cannot open model directory"

run 1 inspect --frobnicate "$repo/tests/fixtures/bf16"
expect_one_error "^lfm2c: inspect: unknown option '--frobnicate'"

run 1 inspect
expect_one_error "^lfm2c: inspect: missing MODEL_DIR"

run 1 inspect "$repo/tests/fixtures/bf16" "$repo/tests/fixtures/f16"
expect_one_error "^lfm2c: inspect: more than one model directory"

if [ "$failures" -ne 0 ]; then
	echo "cli_inspect: $failures failure(s)" >&2
	exit 1
fi
echo "cli_inspect: all passed"
