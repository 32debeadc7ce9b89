#!/bin/sh
# report.sh LFM2C REPORT_CHECK ROOT OUT — `lfm2c quant-report` on trained-tiny:
# the text report names every part, the JSON passes report_check (exact sizes,
# KLD orderings), the same seed gives the same JSON, and bad flags fail cleanly.
set -u
lfm2c=$1 check=$2 root=$3 out=$4
tt=$root/examples/trained-tiny
expect="sh $root/tests/tools/expect.sh"
fail() { echo "report.sh: FAIL: $*"; exit 1; }
rm -rf "$out" && mkdir -p "$out" || fail "cannot make $out"

"$lfm2c" quant-report "$tt" -q q8_0,q4_0 q4_1 --json "$out/r.json" > "$out/r.txt" || fail "quant-report exited $?"
cat "$out/r.txt"
for s in "activations NOT quantized" "natural text 66" "KLD mean" "KLD p99" "top-1" "max|dlog|" \
	"per-group sensitivity" "model.layers.5.\*" "suggested schedules" "--quant-override 'model."; do
	grep -q -- "$s" "$out/r.txt" || fail "report lacks '$s'"
done
# f32 bytes: trained-tiny has 3,199,872 parameters
"$check" "$out/r.json" 12799488 || fail "report_check"
"$lfm2c" quant-report "$tt" -q q4_0 --seqs 1 --len 8 --json "$out/a.json" >/dev/null || fail "small run"
"$lfm2c" quant-report "$tt" -q q4_0 --seqs 1 --len 8 --json "$out/b.json" >/dev/null || fail "small run 2"
cmp -s "$out/a.json" "$out/b.json" || fail "same flags, different JSON: not deterministic"
"$lfm2c" quant-report "$tt" -q q4_0 --seqs 1 --len 8 --seed 7 --json "$out/c.json" >/dev/null || fail "seed 7"
cmp -s "$out/a.json" "$out/c.json" && fail "--seed changed nothing"

$expect 1 "bad -q 'q9'" "$lfm2c" quant-report "$tt" -q q9 || fail "bad format"
$expect 1 "--seqs must be an integer" "$lfm2c" quant-report "$tt" --seqs -1 || fail "bad seqs"
$expect 1 "--len must be an integer" "$lfm2c" quant-report "$tt" --len 1 || fail "bad len"
$expect 1 "no sequences" "$lfm2c" quant-report "$root/tests/fixtures/tiny" --seqs 0 || fail "no sequences"
$expect 1 "cannot write" "$lfm2c" quant-report "$tt" -q q8_0 --seqs 1 --len 4 --json "$out/nodir/x.json" \
	|| fail "bad json path"
echo "quant-report checks passed"
