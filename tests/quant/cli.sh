#!/bin/sh
# cli.sh LFM2C NPYCMP CKCMP ROOT OUT — the weight-format command lines.
#
#  * interp -q f32 (and a schedule with only defaults) == plain interp, bitwise
#  * for each format and a mixed override set: `dequant` then `interp` of the
#    dequantized checkpoint == `interp -q` of the original, bitwise (rel 0),
#    and the quantized logits really differ from f32 (the flag is not ignored)
#  * dequant keeps names and shapes, writes F32, copies config/tokenizer
#    files; dequant -q f32 keeps every value exactly (ckcmp)
#  * errors: one line, non-zero exit, no output directory left behind
set -u
lfm2c=$1 npycmp=$2 ckcmp=$3 root=$4 out=$5
tt=$root/examples/trained-tiny
expect="sh $root/tests/tools/expect.sh"
fail() { echo "cli.sh: FAIL: $*"; exit 1; }
run() { echo "$ $*"; "$@" || fail "$* exited $?"; }

rm -rf "$out" && mkdir -p "$out" || fail "cannot make $out"
tok=$(cat "$root/tests/fixtures/trained_tiny/tokens.txt")

run "$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/f32.npy"
run "$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/f32q.npy" -q f32
run "$npycmp" "$out/f32q.npy" "$out/f32.npy" --rel 0
printf '{"version": 1}\n' > "$out/empty_schedule.json"
run "$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/f32s.npy" --schedule "$out/empty_schedule.json"
run "$npycmp" "$out/f32s.npy" "$out/f32.npy" --rel 0

# check_format NAME FLAGS...: dequant + interp == interp -q, bitwise; and != f32
# (on $tt; the f16 case uses the f32 tiny fixture: trained-tiny's bf16 values
# are all f16 values, so f16 is lossless there)
check_format() {
	name=$1
	shift
	run "$lfm2c" dequant "$tt" "$@" -o "$out/dq_$name"
	# --fuse none on both sides: rmsnorm_fold (a default) folds the norms of
	# the all-f32 dequantized checkpoint but not those of quantized weights,
	# which reorders double roundings (~1e-15) of the same model
	run "$lfm2c" interp "$out/dq_$name" --tokens "$tok" --logits "$out/dq_$name.npy" --fuse none
	run "$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/q_$name.npy" "$@" --fuse none
	run "$npycmp" "$out/dq_$name.npy" "$out/q_$name.npy" --rel 0
	# chunked evaluation of the quantized model matches too
	run "$lfm2c" interp "$tt" --tokens "$tok" --chunks 3,1,5 --logits "$out/qc_$name.npy" "$@" --fuse none
	run "$npycmp" "$out/qc_$name.npy" "$out/q_$name.npy" --rel 1e-12
	if "$npycmp" "$out/q_$name.npy" "$out/f32.npy" --rel 1e-7 >/dev/null; then
		fail "$name: quantized logits equal the f32 ones: the format was not applied"
	fi
	"$ckcmp" "$tt" "$out/dq_$name" --dtype F32 >/dev/null
	[ $? = 1 ] || fail "$name: dequant changed no value (or ckcmp failed)"
	for f in config.json tokenizer.json tokenizer_config.json chat_template.jinja generation_config.json; do
		[ -e "$tt/$f" ] || continue
		cmp -s "$tt/$f" "$out/dq_$name/$f" || fail "$name: $f not copied"
	done
	echo "ok   $name: dequant + interp == interp $* (bitwise)"
}
check_format q8_0 -q q8_0
check_format q4_0 -q q4_0
check_format q4_1 -q q4_1
tt_saved=$tt tok_saved=$tok
tt=$root/tests/fixtures/tiny tok=$(cat "$root/tests/fixtures/tiny/tokens.txt")
"$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/f32.npy" || fail "interp tiny"
check_format f16 -q f16
check_format bf16 -q bf16
tt=$tt_saved tok=$tok_saved
"$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/f32.npy" || fail "interp"
check_format mixed -q q4_0 --quant-override 'model.embed_tokens.weight=q8_0' --quant-override '*.feed_forward.w2.*=q4_1'
cat > "$out/sched.json" <<'EOF'
{"version": 1, "formats": {"default": "q4_1", "overrides": {"model.layers.0.*": "q8_0"}}}
EOF
check_format sched --schedule "$out/sched.json"
# the command line's -q beats the schedule's default: same as q4_0 + the layer-0 override
run "$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/sched_q.npy" --schedule "$out/sched.json" -q q4_0
run "$lfm2c" interp "$tt" --tokens "$tok" --logits "$out/sched_q2.npy" -q q4_0 --quant-override 'model.layers.0.*=q8_0'
run "$npycmp" "$out/sched_q.npy" "$out/sched_q2.npy" --rel 0

# dequant -q f32: every value kept (bf16 values re-stored as F32)
run "$lfm2c" dequant "$tt" -q f32 -o "$out/dq_f32"
run "$ckcmp" "$tt" "$out/dq_f32" --dtype F32
run "$lfm2c" interp "$out/dq_f32" --tokens "$tok" --logits "$out/dq_f32.npy"
run "$npycmp" "$out/dq_f32.npy" "$out/f32.npy" --rel 0
# an f32 checkpoint with 16 oracle variants: the tiny fixture round-trips exactly too
run "$lfm2c" dequant "$root/tests/fixtures/tiny" -q f32 -o "$out/dq_tiny/"
run "$ckcmp" "$root/tests/fixtures/tiny" "$out/dq_tiny" --dtype F32

# errors
run $expect 1 "dequant: unknown format 'q3_k' for -q" "$lfm2c" dequant "$tt" -q q3_k -o "$out/e1"
run $expect 1 "unknown format 'q5' \\(known: f32, f16, bf16, q8_0, q4_0, q4_1\\)" \
	"$lfm2c" dequant "$tt" --quant-override 'x=q5' -o "$out/e1"
run $expect 1 "bad quant override 'nopattern' \\(want PATTERN=FORMAT\\)" \
	"$lfm2c" interp "$tt" --tokens 1 --logits "$out/e.npy" --quant-override nopattern
run $expect 1 "usage: lfm2c dequant" "$lfm2c" dequant "$tt" -o "$out/e1"
run $expect 1 "dq_q8_0: exists and is not empty" "$lfm2c" dequant "$tt" -q q4_0 -o "$out/dq_q8_0"
run $expect 1 "is the model's own directory" "$lfm2c" dequant "$out/dq_f32" -q q4_0 -o "$out/dq_f32/../dq_f32"
run $expect 1 "nosuch: cannot open model directory" "$lfm2c" dequant "$out/nosuch" -q q4_0 -o "$out/e2"
run $expect 1 "--schedule given twice" "$lfm2c" interp "$tt" --schedule "$out/sched.json" --schedule "$out/sched.json"
printf '{"version": 1, "formats": {"default": "q4"}}\n' > "$out/bad_schedule.json"
run $expect 1 "bad_schedule.json: key 'formats.default': unknown format 'q4'" \
	"$lfm2c" dequant "$tt" --schedule "$out/bad_schedule.json" -o "$out/e3"
run $expect 1 "ir: -q needs a value" "$lfm2c" ir "$tt" -q
# a failed dequant leaves nothing behind: write into a read-only parent
mkdir -p "$out/ro" && chmod 555 "$out/ro"
if [ "$(id -u)" != 0 ]; then
	run $expect 1 "cannot create a temporary directory" "$lfm2c" dequant "$tt" -q q4_0 -o "$out/ro/x"
fi
chmod 755 "$out/ro"
for d in "$out"/e1 "$out"/e2 "$out"/e3 "$out"/*.tmp-* "$out"/ro/*; do
	[ -e "$d" ] && fail "left behind: $d"
done
# the empty output directory given explicitly is filled
mkdir -p "$out/empty"
run "$lfm2c" dequant "$tt" -q q8_0 -o "$out/empty"
run "$ckcmp" "$out/dq_q8_0" "$out/empty"
echo "quant cli checks passed"
