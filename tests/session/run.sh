#!/bin/sh
# run.sh — one step of tests/session (see CMakeLists.txt there).
#
#   run.sh runtime LFM2C MODEL_DIR OUT_DIR TEST_C NPYIO_DIR [CFLAGS...]
#       Compiles MODEL_DIR to C (lfm2c compile --emit c) for its runtime
#       sources, and compiles them (all but main.c), npyio.c and TEST_C to
#       objects in OUT_DIR: the part of test_session every model shares
#       (the runtime's sources are the same in every output of lfm2c).
#   run.sh model LFM2C MODEL_DIR FIXTURE_DIR OUT_DIR RUNTIME_OUT [CFLAGS...]
#       Compiles MODEL_DIR to C, checks that its runtime sources are those
#       RUNTIME_OUT's objects were built from, builds test_session from its
#       model.c and those objects, and runs it on the fixture.
#
# Every object is built with the same command line options as when the
# test compiled all the sources in one go: cc -std=gnu11 -O2 -march=native
# $LFM2C_CFLAGS CFLAGS.
set -eu
step=$1
shift
cc=${CC:-cc}
case $step in
runtime)
	lfm2c=$1 model=$2 out=$3 test_c=$4 npyio=$5
	shift 5
	extra="${LFM2C_CFLAGS:-} $*"
	rm -rf "$out"
	mkdir -p "$out"
	"$lfm2c" compile "$model" -o "$out/src" --emit c
	# the sources in two lists, compiled side by side
	n=0 list0= list1=
	for f in "$out"/src/runtime/*.c "$npyio/npyio.c" "$test_c"; do
		[ "$(basename "$f")" = main.c ] && continue
		if [ $((n % 2)) = 0 ]; then list0="$list0 $f"; else list1="$list1 $f"; fi
		n=$((n + 1))
	done
	objects() {
		for f in $1; do
			# shellcheck disable=SC2086
			$cc -std=gnu11 -O2 -march=native $extra -I"$out/src/runtime" -I"$out/src" -I"$npyio" -c "$f" \
				-o "$out/$(basename "$f" .c).o" || return 1
		done
	}
	objects "$list0" &
	p0=$!
	objects "$list1" &
	p1=$!
	st=0
	wait $p0 || st=1
	wait $p1 || st=1
	[ $st = 0 ] || { echo "session: FAIL: compiling the runtime"; exit 1; }
	echo "session runtime: $n objects in $out"
	;;
model)
	lfm2c=$1 model=$2 fx=$3 out=$4 rt=$5
	shift 5
	rm -rf "$out"
	mkdir -p "$(dirname "$out")"
	"$lfm2c" compile "$model" -o "$out" --emit c
	for f in "$out"/runtime/*; do
		cmp -s "$f" "$rt/src/runtime/$(basename "$f")" ||
			{ echo "session: FAIL: $f is not the runtime source $rt was built from"; exit 1; }
	done
	[ "$(ls "$out/runtime" | wc -l)" = "$(ls "$rt/src/runtime" | wc -l)" ] ||
		{ echo "session: FAIL: $out/runtime and $rt/src/runtime hold different files"; exit 1; }
	# shellcheck disable=SC2086
	$cc -std=gnu11 -O2 -march=native ${LFM2C_CFLAGS:-} "$@" -I"$out/runtime" -I"$out" -c "$out/model.c" \
		-o "$out/model.o"
	# shellcheck disable=SC2086
	$cc -std=gnu11 -O2 -march=native ${LFM2C_CFLAGS:-} "$@" "$out/model.o" "$rt"/*.o -o "$out/test_session" \
		-lm -lpthread
	"$out/test_session" "$out/weights.bin" "$fx/tokens.txt" "$fx/logits.npy"
	;;
*)
	echo "run.sh: unknown step '$step'" >&2
	exit 2
	;;
esac
