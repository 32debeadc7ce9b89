#!/bin/sh
# run.sh MODE LFM2C FIXTURE TMP [CHECK] — tests of `lfm2c variants` and `lfm2c tune`.
#
#   variants  two schedules on the tiny fixture: ref_f32.json (the f32
#             reference build itself: error exactly 0) and f16_fused.json
#             (f16 weights, every graph fusion, its own tiles, unroll and
#             vector width: error above 0, below 1e-2, blob at most 0.6 of
#             f32's), timed at 1 and 2 threads (two series in the scatter;
#             the same two builds); check_variants checks the JSON, CSV and
#             SVG, and the PNG rsvg-convert renders of the SVG (it refuses
#             malformed SVG).  Speeds are written, never asserted.
#   tune      a budget of 3 on the tiny fixture, formats f32 and f16, in a
#             fresh results cache: finishes, writes a schedule that
#             `lfm2c compile --schedule` accepts; run again, every
#             measurement comes from the cache and the result is the same
#             file (the search is deterministic given the measurements).
#   report    (LFM2C is mk_report, FIXTURE unused) report.c's files of
#             made-up results: check_variants with the specs mk_report
#             prints, the SVG rendered by rsvg-convert; the crowd needs a
#             label placed away from its point (a leader line).
#   bad       bad input: one stderr line naming the file or flag, exit
#             status != 0, nothing on stdout, no output left behind (the
#             --eval-text flags included).
set -u
mode=$1 lfm2c=$2 fx=$3 tmp=$4 check=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$tmp"
mkdir -p "$tmp"
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# a short, quiet measurement: 1 thread, 1 run, short prompts
quick="--threads 1 --runs 1 --prefill 16 --decode 4 --seqs 2 --len 12"

case $mode in
variants)
	"$lfm2c" variants "$fx" "$here/ref_f32.json" "$here/f16_fused.json" -o "$tmp/out" $quick --threads 1,2 \
		--cache >"$tmp/table" 2>"$tmp/log"
	st=$?
	cat "$tmp/table" "$tmp/log"
	[ $st -eq 0 ] || fail "variants exited $st"
	grep -q '^ref_f32 ' "$tmp/table" || fail "no ref_f32 row in the table"
	grep -q '^f16_fused ' "$tmp/table" || fail "no f16_fused row in the table"
	grep -q 'evicted from the page cache' "$tmp/table" || fail "the table does not state the cold-weights method"
	grep -q 'read into memory' "$tmp/table" || fail "the table does not say how weights are loaded"
	# librsvg2-bin (scripts/deps.sh): a missing renderer is a failure, not a skip
	if rsvg-convert -o "$tmp/variants.png" "$tmp/out/variants.svg"; then
		png="--png $tmp/variants.png"
	else
		fail "rsvg-convert could not render variants.svg (installed? scripts/deps.sh installs librsvg2-bin)"
		png=""
	fi
	# one entry per variant and thread count, variant by variant
	"$check" "$tmp/out" 1 ref_f32=0:0 ref_f32=0:0 f16_fused=1e-9:1e-2 f16_fused=1e-9:1e-2 \
		--blob-ratio f16_fused ref_f32 0.6 $png || fail "check_variants"
	[ -e "$tmp/out/builds" ] && fail "builds left behind without --keep-builds"
	;;
tune)
	export XDG_CACHE_HOME="$tmp/cache"   # a fresh results cache: the first run measures
	args="tune $fx --budget 3 --formats f32,f16 $quick --cache"
	"$lfm2c" $args -o "$tmp/best.json" >"$tmp/out1" 2>"$tmp/log1"
	st=$?
	cat "$tmp/log1" "$tmp/out1"
	[ $st -eq 0 ] || fail "tune exited $st"
	[ "$(grep -c '^  #' "$tmp/log1")" -eq 3 ] || fail "the log does not show 3 candidates"
	grep -q 'cached' "$tmp/log1" && fail "a fresh cache served a measurement"
	[ -n "$(ls "$tmp/cache/lfm2c/tune/" 2>/dev/null)" ] || fail "no measurement stored in the cache"
	"$lfm2c" compile "$fx" --schedule "$tmp/best.json" -o "$tmp/compiled" 2>"$tmp/clog"
	st=$?
	cat "$tmp/clog"
	[ $st -eq 0 ] && [ -x "$tmp/compiled/lfm2-run" ] || fail "compile --schedule refused best.json"
	"$lfm2c" $args -o "$tmp/best2.json" >"$tmp/out2" 2>"$tmp/log2"
	st=$?
	cat "$tmp/log2"
	[ $st -eq 0 ] || fail "second tune exited $st"
	[ "$(grep -c '^  #.*cached' "$tmp/log2")" -eq 3 ] || fail "the second run did not reuse all 3 measurements"
	cmp -s "$tmp/best.json" "$tmp/best2.json" || fail "the second run chose differently"
	sed 's/ -> .*//' "$tmp/out1" >"$tmp/out1.cut"
	sed 's/ -> .*//' "$tmp/out2" >"$tmp/out2.cut"
	cmp -s "$tmp/out1.cut" "$tmp/out2.cut" || fail "the second run reports differently"
	ls -a "$tmp" | grep -q '\.lfm2c-tune' && fail "the work directory was left behind"
	;;
report)
	specs=$("$lfm2c" "$tmp") || fail "mk_report exited $?"
	rsvg-convert -o "$tmp/variants.png" "$tmp/variants.svg" \
		|| fail "rsvg-convert could not render variants.svg (installed? scripts/deps.sh installs librsvg2-bin)"
	# shellcheck disable=SC2086
	"$check" "$tmp" 1 $specs --png "$tmp/variants.png" || fail "check_variants"
	grep -q 'class="leader"' "$tmp/variants.svg" || fail "the crowd placed every label beside its point"
	;;
bad)
	n=0
	# case NAME REGEX COMMAND... : exit != 0, one stderr line matching REGEX, empty stdout
	case_() {
		name=$1 regex=$2
		shift 2
		n=$((n + 1))
		"$@" >"$tmp/o" 2>"$tmp/e"
		st=$?
		lines=$(wc -l <"$tmp/e")
		if [ "$st" -eq 0 ] || [ "$lines" -ne 1 ] || [ -s "$tmp/o" ] || ! grep -Eq -- "$regex" "$tmp/e"; then
			fail "$name: exit $st, $lines stderr lines, stdout $(wc -c <"$tmp/o") bytes: $(head -3 "$tmp/e")"
		else
			echo "ok   $name: $(cat "$tmp/e")"
		fi
	}
	out=$tmp/never
	good=$here/ref_f32.json
	case_ missing_schedule "nope\.json: cannot open" "$lfm2c" variants "$fx" "$good" "$tmp/nope.json" -o "$out"
	case_ invalid_schedule "bad_key\.json: key 'fusions\.qkvo': unknown key" \
		"$lfm2c" variants "$fx" "$good" "$here/bad_key.json" -o "$out"
	case_ missing_model "no-model: " "$lfm2c" variants "$tmp/no-model" "$good" -o "$out"
	case_ no_schedule "usage: lfm2c variants" "$lfm2c" variants "$fx"
	case_ bad_runs "--runs takes an integer" "$lfm2c" variants "$fx" "$good" --runs 0 -o "$out"
	case_ bad_backend "--backend takes llvm or c" "$lfm2c" variants "$fx" "$good" --backend gcc -o "$out"
	case_ prefill_too_long "--prefill 5000: the model holds 4096 positions" \
		"$lfm2c" variants "$fx" "$good" --prefill 5000 -o "$out"
	case_ unknown_option "unknown option '--fast'" "$lfm2c" variants "$fx" "$good" --fast
	case_ eval_text_missing "--eval-text .*/none\.txt: cannot open" \
		"$lfm2c" variants "$fx" "$good" --eval-text "$tmp/none.txt" -o "$out"
	case_ eval_text_no_tokenizer "--eval-text .*/text\.txt: the model .*/tiny has no tokenizer\.json" \
		"$lfm2c" variants "$fx" "$good" --eval-text "$here/../../examples/eval/text.txt" -o "$out"
	case_ eval_ctx_alone "--eval-ctx needs --eval-text FILE" "$lfm2c" variants "$fx" "$good" --eval-ctx 64 -o "$out"
	[ -e "$out" ] && fail "a failed variants left $out behind"
	case_ tune_missing_model "no-model: " "$lfm2c" tune "$tmp/no-model" -o "$tmp/b.json"
	case_ tune_bad_start "bad_key\.json: key 'fusions\.qkvo'" "$lfm2c" tune "$fx" --start "$here/bad_key.json" \
		-o "$tmp/b.json"
	case_ tune_bad_formats "--formats: unknown format 'q3'" "$lfm2c" tune "$fx" --formats f32,q3
	case_ tune_bad_budget "--budget takes a positive integer" "$lfm2c" tune "$fx" --budget 0
	case_ tune_unwritable "no-dir/b\.json: cannot write here" "$lfm2c" tune "$fx" -o "$tmp/no-dir/b.json"
	case_ tune_bad_eval_ctx "--eval-ctx takes an integer in 4\.\." "$lfm2c" tune "$fx" --eval-ctx 2 -o "$tmp/b.json"
	[ -e "$tmp/b.json" ] && fail "a failed tune wrote b.json"
	echo "$n cases"
	;;
*)
	echo "run.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
[ $fails -eq 0 ] && echo "PASS" || echo "$fails failure(s)"
[ $fails -eq 0 ]
