#!/bin/sh
# formats.sh — one step of tests/formats (see CMakeLists.txt there).
#
#   formats.sh compile LFM2C MODEL_DIR OUT_DIR [FLAGS...]
#       lfm2c compile MODEL_DIR -o OUT_DIR FLAGS (OUT_DIR removed first);
#       OUT_DIR/lfm2-run must exist afterwards.
#   formats.sh logits OUT_DIR TOKENS_TXT WANT_NPY NPYCMP REL
#       OUT_DIR/lfm2-run --tokens <line 1 of TOKENS_TXT> --logits got.npy,
#       then npycmp got.npy WANT_NPY --rel REL (every position).
#   formats.sh pair OUT_A OUT_B TOKENS_TXT NPYCMP REL
#       both builds' logits against each other.
#   formats.sh cachekey LFM2C MODEL_DIR TMP
#       the build cache tells builds apart by every format, fusion and
#       schedule flag: --emit c with each flag set below after a plain
#       build must miss the cache (and write a different model.c), and
#       repeating it must hit.
#
# $FORMATS_RUNNER, if set, prefixes every lfm2-run (aarch64 builds run
# under "qemu-aarch64 -L /usr/aarch64-linux-gnu"); then a missing runner or
# cross compiler skips the step (exit 77).
#
# Exit 0 on success; otherwise one line "formats: FAIL: ..." (the tools'
# own output above it in the ctest log).
set -u

if [ -n "${FORMATS_RUNNER:-}" ]; then
	command -v "${FORMATS_RUNNER%% *}" >/dev/null 2>&1 || { echo "formats: skipped: no ${FORMATS_RUNNER%% *}"; exit 77; }
	command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || { echo "formats: skipped: no aarch64-linux-gnu-gcc"; exit 77; }
fi

die() {
	echo "formats: FAIL: $*" >&2
	exit 1
}

run_logits() {   # OUT TOKENS NPY
	[ -x "$1/lfm2-run" ] || die "$1/lfm2-run is missing (did the compile step fail?)"
	rm -f "$3"
	echo "$ $1/lfm2-run --tokens $2 --logits $3"
	${FORMATS_RUNNER:-} "$1/lfm2-run" --tokens "$2" --logits "$3" || die "$1/lfm2-run exited with status $?"
	[ -f "$3" ] || die "$1/lfm2-run did not write $3"
}

[ $# -ge 1 ] || die "usage: formats.sh compile|logits|pair ARGS..."
step=$1
shift
case $step in
compile)
	[ $# -ge 3 ] || die "usage: formats.sh compile LFM2C MODEL_DIR OUT_DIR [FLAGS...]"
	lfm2c=$1 model=$2 out=$3
	shift 3
	rm -rf "$out" || die "cannot remove $out"
	mkdir -p "$(dirname "$out")" || die "cannot create the parent of $out"
	echo "$ $lfm2c compile $model -o $out $*"
	"$lfm2c" compile "$model" -o "$out" "$@" || die "lfm2c compile exited with status $?"
	[ -x "$out/lfm2-run" ] || die "lfm2c compile succeeded but $out/lfm2-run is missing"
	;;
logits)
	[ $# -eq 5 ] || die "usage: formats.sh logits OUT_DIR TOKENS_TXT WANT_NPY NPYCMP REL"
	tokens=$(head -n 1 "$2" | tr -d ' \r') || die "cannot read $2"
	run_logits "$1" "$tokens" "$1/got.npy"
	echo "$ npycmp $1/got.npy $3 --rel $5"
	"$4" "$1/got.npy" "$3" --rel "$5" || die "logits differ from the oracle on the dequantized checkpoint"
	;;
pair)
	[ $# -eq 5 ] || die "usage: formats.sh pair OUT_A OUT_B TOKENS_TXT NPYCMP REL"
	tokens=$(head -n 1 "$3" | tr -d ' \r') || die "cannot read $3"
	run_logits "$1" "$tokens" "$1/pair.npy"
	run_logits "$2" "$tokens" "$2/pair.npy"
	echo "$ npycmp $1/pair.npy $2/pair.npy --rel $5"
	"$4" "$1/pair.npy" "$2/pair.npy" --rel "$5" || die "the LLVM and the C build differ"
	;;
cachekey)
	[ $# -eq 3 ] || die "usage: formats.sh cachekey LFM2C MODEL_DIR TMP"
	lfm2c=$1 model=$2 tmp=$3
	set -f   # the flags below are split on spaces, never globbed
	rm -rf "$tmp" && mkdir -p "$tmp" || die "cannot create $tmp"
	export XDG_CACHE_HOME="$tmp/cache"
	printf '{"version": 1, "vector_width": 4}\n' >"$tmp/vw4.json"
	printf '{"version": 1, "fusions": {"rmsnorm_fold": false, "qkv": true, "w1w3_swiglu": false, "residual_epilogue": false, "conv_chain": true, "qk_norm_rope": false}}\n' >"$tmp/qkv_conv.json"
	printf '{"version": 1, "fusions": {"rmsnorm_fold": false, "qkv": true, "w1w3_swiglu": false, "residual_epilogue": false, "conv_chain": false, "qk_norm_rope": false}}\n' >"$tmp/qkv.json"
	# the plain build: no fusion (the defaults may change), f32, the target's tiling
	"$lfm2c" compile "$model" -o "$tmp/base" --emit c --fuse none 2>"$tmp/err" || die "plain compile failed"
	i=0
	for flags in "-q f16" "-q bf16" "--quant-override *w2*=f16" "--fuse qkv" "--schedule $tmp/vw4.json --fuse none" \
	             "--schedule $tmp/qkv_conv.json"; do
		i=$((i + 1))
		for run in 1 2; do
			# shellcheck disable=SC2086
			"$lfm2c" compile "$model" -o "$tmp/o$i.$run" --emit c $flags 2>"$tmp/err" || die "compile $flags failed"
			hit=$(grep -c "cache hit" "$tmp/err")
			[ "$run" = 1 ] && [ "$hit" != 0 ] && die "compile $flags hit the cache of another build"
			[ "$run" = 2 ] && [ "$hit" = 0 ] && die "repeating compile $flags missed the cache"
		done
		cmp -s "$tmp/base/model.c" "$tmp/o$i.1/model.c" && die "compile $flags wrote the plain build's model.c"
		echo "ok: $flags: its own cache entry"
	done
	# the key is what the build is, not how it was asked for: a schedule
	# file saying exactly what --fuse qkv says is the same entry
	"$lfm2c" compile "$model" -o "$tmp/qkv_file" --emit c --schedule "$tmp/qkv.json" 2>"$tmp/err" \
		|| die "compile --schedule qkv.json failed"
	grep -q "cache hit" "$tmp/err" || die "a schedule equal to --fuse qkv missed its cache entry"
	echo "ok: a schedule equal to --fuse qkv is the same cache entry"
	# a schedule that sets no tile keys keeps the target's tiling: the same code
	printf '{"version": 1, "formats": {"default": "f32"}}\n' >"$tmp/none.json"
	"$lfm2c" compile "$model" -o "$tmp/none" --emit c --schedule "$tmp/none.json" --fuse none 2>"$tmp/err" \
		|| die "compile failed"
	cmp -s "$tmp/base/model.c" "$tmp/none/model.c" || die "a schedule without tile keys changed the code"
	echo "ok: a schedule without tile keys keeps the target's tiling"
	;;
*)
	die "unknown step '$step'"
	;;
esac
echo "formats: $step OK"
