#!/bin/sh
# synth_check.sh — helpers for lfm2c synth's ctest cases.
#
#   synth_check.sh config LFM2C JSON_EQ EXPECTED_DIR OUT NAME PRESET [ARGS...]
#       lfm2c synth PRESET ARGS --config-only -o OUT, then both JSON files
#       must equal expected/NAME.* as parsed JSON (json_eq, key by key) and
#       byte for byte (Python json.dump formatting, specs/lfm2.md §12).
#   synth_check.sh stats LFM2C SYNTH_STATS OUT DTYPE LIKE [ARGS...]
#       lfm2c synth ARGS --dtype DTYPE -o OUT, then synth_stats OUT (init
#       rule statistics, read back through lfm_checkpoint_open); LIKE is a
#       tests/fixtures checkpoint with the same tensor list and header, or -.
#   synth_check.sh seed LFM2C OUT
#       same --seed twice => identical bytes; another seed => same size and
#       header, different data.
#   synth_check.sh roundtrip LFM2C NPYCMP OUT [SYNTH ARGS...]
#       a synth checkpoint goes through the whole pipeline: lfm2c compile,
#       then lfm2-run's logits for 12 tokens must match lfm2c interp's
#       (rel 1e-4).
#   synth_check.sh nospace LFM2C OUT
#       synth under a 64 KiB file-size limit must fail with one error line
#       (File too large) and leave no file and no directory behind.
set -u

die() {
	echo "synth_check: FAIL: $*" >&2
	exit 1
}

run() {
	echo "$ $*"
	"$@" || die "'$*' exited with status $?"
}

dtype_name() {
	case $1 in
	f32) echo F32 ;;
	bf16) echo BF16 ;;
	f16) echo F16 ;;
	*) die "bad dtype $1" ;;
	esac
}

step=$1
shift
case $step in
config)
	lfm2c=$1 json_eq=$2 expected=$3 out=$4 name=$5 preset=$6
	shift 6
	rm -rf "$out"
	run "$lfm2c" synth "$preset" "$@" --config-only -o "$out"
	[ ! -e "$out/model.safetensors" ] || die "--config-only wrote model.safetensors"
	for f in config.json generation_config.json; do
		run "$json_eq" "$out/$f" "$expected/$name.$f"
		cmp "$out/$f" "$expected/$name.$f" || die "$f is not byte-identical to make_model.py's"
	done
	;;
stats)
	lfm2c=$1 stats=$2 out=$3 dtype=$4 like=$5
	shift 5
	rm -rf "$out"
	run "$lfm2c" synth "$@" --dtype "$dtype" -o "$out"
	if [ "$like" = - ]; then
		run "$stats" "$out" --dtype "$(dtype_name "$dtype")"
	else
		run "$stats" "$out" --dtype "$(dtype_name "$dtype")" --like "$like"
	fi
	rm -rf "$out"
	;;
seed)
	lfm2c=$1 out=$2
	rm -rf "$out"
	run "$lfm2c" synth tiny --dtype bf16 --seed 7 -o "$out/a"
	run "$lfm2c" synth tiny --dtype bf16 --seed 7 -o "$out/b"
	run "$lfm2c" synth tiny --dtype bf16 --seed 8 -o "$out/c"
	cmp "$out/a/model.safetensors" "$out/b/model.safetensors" || die "same seed, different bytes"
	cmp "$out/a/config.json" "$out/c/config.json" || die "the seed changed config.json"
	sa=$(wc -c <"$out/a/model.safetensors") sc=$(wc -c <"$out/c/model.safetensors")
	[ "$sa" -eq "$sc" ] || die "sizes differ across seeds ($sa vs $sc)"
	hdr=$(od -An -tu8 -N8 "$out/a/model.safetensors" | tr -d ' ')
	cmp -n $((8 + hdr)) "$out/a/model.safetensors" "$out/c/model.safetensors" || die "headers differ across seeds"
	ndiff=$(cmp -l "$out/a/model.safetensors" "$out/c/model.safetensors" | wc -l)
	echo "seed 7 vs 8: $ndiff of $sa bytes differ"
	# nearly every bf16 weight differs: demand more than half the data bytes
	[ "$ndiff" -gt $(((sa - 8 - hdr) / 2)) ] || die "a different seed changed only $ndiff bytes"
	rm -rf "$out"
	;;
roundtrip)
	lfm2c=$1 npycmp=$2 out=$3
	shift 3
	rm -rf "$out"
	tokens=1,2,3,500,7,7,42,511,0,9,100,6
	run "$lfm2c" synth "$@" -o "$out/model"
	run "$lfm2c" compile "$out/model" -o "$out/bin"
	run "$out/bin/lfm2-run" --tokens "$tokens" --logits "$out/got.npy"
	run "$lfm2c" interp "$out/model" --tokens "$tokens" --logits "$out/want.npy"
	run "$npycmp" "$out/got.npy" "$out/want.npy" --rel 1e-4
	rm -rf "$out"
	;;
nospace)
	lfm2c=$1 out=$2
	rm -rf "$out"
	echo "$ (ulimit -f 128; $lfm2c synth tiny -o $out)"
	msg=$( (trap '' XFSZ; ulimit -f 128; "$lfm2c" synth tiny -o "$out") 2>&1)
	status=$?
	printf '%s\n[exit %s]\n' "$msg" "$status"
	[ "$status" -eq 1 ] || die "exit status $status, expected 1"
	lines=$(printf '%s\n' "$msg" | grep -c '^lfm2c: ')
	[ "$lines" -eq 1 ] || die "expected one 'lfm2c:' error line"
	printf '%s\n' "$msg" | grep -q 'model.safetensors: write failed: File too large' || die "unexpected message"
	[ ! -e "$out" ] || die "left $(ls -A "$out" | tr '\n' ' ') behind in $out"
	;;
*)
	die "unknown step $step"
	;;
esac
echo "synth_check: $step OK"
