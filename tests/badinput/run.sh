#!/bin/sh
# run.sh LFM2C FIXTURES TMP — bad input through the whole command line.
#
# Every case must fail with a non-zero exit, print exactly one error line
# on stderr naming the file (or flag) and the problem, print nothing on
# stdout, and leave no output behind.  (File-format cases in depth are in
# tests/frontend; flag cases of lfm2-run in tests/runtime.)
set -u
lfm2c=$1 fx=$2 tmp=$3
rm -rf "$tmp"
mkdir -p "$tmp"
fails=0
n=0

# case NAME STATUS REGEX COMMAND... : exit status, one stderr line matching REGEX, empty stdout
case_() {
	name=$1 want=$2 regex=$3
	shift 3
	n=$((n + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$st" -ne "$want" ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ] || ! grep -Eq -- "$regex" "$tmp/err"; then
		echo "FAIL $name: exit $st (want $want), $lines stderr lines, stdout $(wc -c <"$tmp/out") bytes:"
		sed 's/^/    /' "$tmp/err" | head -5
		fails=$((fails + 1))
	else
		echo "ok   $name: $(cat "$tmp/err")"
	fi
}

# no artifact left: the directory must not exist (or be empty) after a failed compile
no_output() {
	n=$((n + 1))
	if [ -e "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
		echo "FAIL $2: output left behind in $1: $(ls -A "$1" | tr '\n' ' ')"
		fails=$((fails + 1))
	else
		echo "ok   $2: no output left behind"
	fi
}

# a model directory with one thing broken
broken() {   # broken NAME: copy of the tiny fixture in $tmp/NAME
	rm -rf "$tmp/$1"
	cp -r "$fx/tiny" "$tmp/$1"
	echo "$tmp/$1"
}

m=$(broken trunc)
head -c 1000 "$fx/tiny/model.safetensors" >"$m/model.safetensors"
case_ compile_truncated_safetensors 1 "model.safetensors" "$lfm2c" compile "$m" -o "$tmp/o_trunc"
no_output "$tmp/o_trunc" compile_truncated_safetensors

m=$(broken badjson)
printf '{"hidden_size": 64,' >"$m/config.json"
case_ compile_malformed_config 1 "config.json" "$lfm2c" compile "$m" -o "$tmp/o_badjson"
no_output "$tmp/o_badjson" compile_malformed_config

m=$(broken notobj)
printf '[1, 2, 3]\n' >"$m/config.json"
case_ compile_config_not_object 1 "config.json" "$lfm2c" compile "$m" -o "$tmp/o_notobj"

m=$(broken missing)
rm "$m/model.safetensors"
case_ compile_missing_weights 1 "model.safetensors" "$lfm2c" compile "$m" -o "$tmp/o_missing"
no_output "$tmp/o_missing" compile_missing_weights

case_ compile_missing_model_dir 1 "no/such/dir" "$lfm2c" compile "$tmp/no/such/dir" -o "$tmp/o_nodir"

: >"$tmp/a_file"
case_ compile_output_is_a_file 1 "a_file" "$lfm2c" compile "$fx/tiny" -o "$tmp/a_file"
case_ compile_output_under_a_file 1 "a_file" "$lfm2c" compile "$fx/tiny" -o "$tmp/a_file/sub"
case_ compile_unknown_flag 1 "--frobnicate" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_flag" --frobnicate
no_output "$tmp/o_flag" compile_unknown_flag
case_ compile_no_output_flag 1 "usage|-o" "$lfm2c" compile "$fx/tiny"

# compile's weight-format, fusion and schedule flags
case_ compile_unknown_format 1 "unknown format 'q9' for -q" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" -q q9
no_output "$tmp/o_q" compile_unknown_format
case_ compile_format_no_value 1 "-q needs a value" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" -q
case_ compile_override_no_equals 1 "bad quant override 'embed'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --quant-override embed
case_ compile_override_bad_format 1 "unknown format 'int4'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --quant-override "*w1*=int4"
case_ compile_unknown_fusion 1 "unknown fusion 'qkvo'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --fuse qkv,qkvo
case_ compile_schedule_missing 1 "nowhere.json: cannot open" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/nowhere.json"
printf '{"version": 1, "tilez": {}}\n' >"$tmp/s_key.json"
case_ compile_schedule_unknown_key 1 "s_key.json: key 'tilez': unknown key" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_key.json"
printf '{"version": 1, "unroll": "4"}\n' >"$tmp/s_type.json"
case_ compile_schedule_wrong_type 1 "s_type.json: key 'unroll': must be an integer" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_type.json"
printf '{"version": 1, "tiles": {"matmul": {"mr": 9}}}\n' >"$tmp/s_mr.json"
case_ compile_schedule_tile_too_big 1 "s_mr.json: key 'tiles.matmul.mr': .*at most 8" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_mr.json"
no_output "$tmp/o_q" compile_schedule_tile_too_big
printf '{"version": 1, "unroll": 8}\n' >"$tmp/s_unroll.json"
case_ compile_schedule_unroll 1 "s_unroll.json: key 'unroll': .*at most 4" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_unroll.json"
printf '{"version": 1, "threads": {"split": "rows"}}\n' >"$tmp/s_split.json"
case_ compile_schedule_split_rows 1 "s_split.json: key 'threads.split'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_split.json"
printf '{"version": 1, "threads": {"count": -2}}\n' >"$tmp/s_threads.json"
case_ compile_schedule_threads 1 "s_threads.json: key 'threads.count': impossible thread count" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_threads.json"
printf '{"version": 1}\n' >"$tmp/s_ok.json"
case_ compile_schedule_twice 1 "--schedule given twice" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_ok.json" --schedule "$tmp/s_ok.json"
no_output "$tmp/o_q" compile_schedule_twice
case_ unknown_command 2 "frobnicate" "$lfm2c" frobnicate
case_ inspect_missing_dir 1 "nowhere" "$lfm2c" inspect "$tmp/nowhere"

# a weights blob that does not belong to the compiled code
"$lfm2c" compile "$fx/tiny" -o "$tmp/a" 2>/dev/null
"$lfm2c" compile "$fx/mqa" -o "$tmp/b" 2>/dev/null
case_ run_foreign_weights 1 "weights.bin" "$tmp/a/lfm2-run" -m "$tmp/b/weights.bin" --tokens 1,2,3 -n 2
cp "$tmp/a/weights.bin" "$tmp/flipped.bin"
printf '\001' | dd of="$tmp/flipped.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
case_ run_corrupted_weights 1 "flipped.bin" "$tmp/a/lfm2-run" -m "$tmp/flipped.bin" --tokens 1,2,3 -n 2
head -c 3000 "$tmp/a/weights.bin" >"$tmp/short.bin"
case_ run_truncated_weights 1 "short.bin" "$tmp/a/lfm2-run" -m "$tmp/short.bin" --tokens 1,2,3 -n 2
case_ run_missing_weights 1 "nothere.bin" "$tmp/a/lfm2-run" -m "$tmp/nothere.bin" --tokens 1,2,3 -n 2
case_ run_token_out_of_range 2 "512" "$tmp/a/lfm2-run" --tokens 1,512 -n 2
case_ run_non_numeric_token 2 "abc|token" "$tmp/a/lfm2-run" --tokens 1,abc -n 2
case_ run_unknown_flag 2 "--bogus" "$tmp/a/lfm2-run" --tokens 1 --bogus
case_ run_negative_n 2 "-n" "$tmp/a/lfm2-run" --tokens 1 -n -3
case_ run_context_too_small 2 "context|ctx|-c" "$tmp/a/lfm2-run" --tokens 1,2,3,4 -n 8 -c 4
case_ run_logits_unwritable 1 "nodir" "$tmp/a/lfm2-run" --tokens 1,2 --logits "$tmp/nodir/x.npy"

echo "$((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
