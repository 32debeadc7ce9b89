#!/bin/sh
# lib.sh — one test of `lfm2c compile --emit lib` (see CMakeLists.txt here).
#
#   lib.sh embed LFM2C MODEL OUT REF EXAMPLE
#       MODEL (examples/trained-tiny) as a library with the default prefix
#       and weights.bin; examples/embed built with cc and with CMake; its
#       answers == REF/lfm2-run's (a default build of MODEL) for one turn
#       (-p) and two (-i); a wrong -m is one error line naming the file.
#   lib.sh two LFM2C TINY TINY_FX MODEL OUT REF TEST_C TOOLS
#       TINY (prefix tiny, weights.bin) and MODEL (prefix tt, weights and
#       tokenizer inside) linked into TEST_C (two_models.c): tiny's greedy
#       ids == the oracle's (TINY_FX/greedy.txt), tt's answer == REF's.
#   lib.sh cross LFM2C MODEL OUT REF EXAMPLE
#       MODEL as an aarch64 library (C backend, cortex-a76, embedded
#       weights), examples/embed cross-built and run under qemu-aarch64:
#       the same two turns as REF's x86-64 lfm2-run -i.  Exit 77 (skipped)
#       without aarch64-linux-gnu-gcc or qemu-aarch64.
#
# Every library is checked the same way (check_symbols): each global
# symbol it defines starts with its prefix, and each function model.h
# declares is one of them.  $LFM2C_CFLAGS (the sanitizer pass) goes into
# every host program built here, as lfm2c puts it into the library.
set -u
P1="What is free software?"
P2="And then?"
N=40

die() {
	echo "lib: FAIL: $*" >&2
	exit 1
}

# (the helpers' variables have their own names: sh variables are global)
compile() {   # compile MODEL OUT [OPTIONS...]
	c_model=$1 c_out=$2
	shift 2
	rm -rf "$c_out"
	echo "$ lfm2c compile $c_model -o $c_out --emit lib $*"
	"$lfm2c" compile "$c_model" -o "$c_out" --emit lib "$@" || die "lfm2c compile --emit lib $* exited with status $?"
	[ -f "$c_out/libmodel.a" ] && [ -f "$c_out/model.h" ] || die "$c_out has no libmodel.a or model.h"
}

check_symbols() {   # check_symbols OUT PREFIX NM
	s_out=$1 prefix=$2 nm=$3
	defined=$("$nm" -g --defined-only "$s_out/libmodel.a" | awk 'NF == 3 { print $3 }' | sort -u)
	[ -n "$defined" ] || die "$nm found no symbols in $s_out/libmodel.a"
	stray=$(printf '%s\n' "$defined" | grep -v "^${prefix}_" | tr '\n' ' ')
	[ -z "$stray" ] || die "$s_out/libmodel.a defines global symbols without the prefix ${prefix}_: $stray"
	declared=$(grep -o "\b${prefix}_[a-z_]*(" "$s_out/model.h" | tr -d '(' | sort -u)
	[ "$(printf '%s\n' "$declared" | grep -c .)" -ge 15 ] || die "$s_out/model.h declares too few ${prefix}_ functions"
	for f in $declared; do
		printf '%s\n' "$defined" | grep -qx "$f" || die "model.h declares $f, libmodel.a does not define it"
	done
	echo "symbols: $(printf '%s\n' "$defined" | grep -c .) global, all ${prefix}_*; the $(printf '%s\n' "$declared" | grep -c .) functions of model.h defined"
}

reference() {   # reference REF DIR: DIR/ref1.txt (one turn), DIR/ref2.txt (two turns)
	r_ref=$1 r_dir=$2
	"$r_ref/lfm2-run" -t 2 -p "$P1" --temp 0 -n $N >"$r_dir/ref1.txt" 2>"$r_dir/ref.log" ||
		die "$r_ref/lfm2-run -p failed"
	printf '%s\n' "$P2" | "$r_ref/lfm2-run" -t 2 -i -p "$P1" --temp 0 -n $N >"$r_dir/ref2.txt" 2>>"$r_dir/ref.log" ||
		die "$r_ref/lfm2-run -i failed"
	[ -s "$r_dir/ref1.txt" ] || die "lfm2-run printed nothing"
}

same() {   # same GOT WANT WHAT
	cmp -s "$1" "$2" || { echo "got:"; cat "$1"; echo "want:"; cat "$2"; die "$3"; }
	echo "ok   $3"
}

cmd_embed() {
	lfm2c=$1 model=$2 out=$3 ref=$4 example=$5
	mkdir -p "$out" || die "cannot make $out"
	compile "$model" "$out/OUT"
	check_symbols "$out/OUT" lfm2lib nm
	# shellcheck disable=SC2086
	cc -std=gnu11 -O2 ${LFM2C_CFLAGS:-} -I "$out/OUT" "$example/main.c" "$out/OUT/libmodel.a" -lm -lpthread \
		-o "$out/embed" || die "cc could not build examples/embed"
	cmake -S "$example" -B "$out/cmake" -DLFM2_OUT="$out/OUT" -DCMAKE_C_FLAGS="${LFM2C_CFLAGS:-}" >/dev/null &&
		cmake --build "$out/cmake" >/dev/null || die "CMake could not build examples/embed"
	reference "$ref" "$out"
	w="$out/OUT/weights.bin"
	"$out/embed" -t 2 -m "$w" --temp 0 -n $N "$P1" "$P2" >"$out/got2.txt" || die "embed exited with status $?"
	same "$out/got2.txt" "$out/ref2.txt" "embed (cc), two turns == lfm2-run -i"
	"$out/cmake/embed" -t 2 -m "$w" --temp 0 -n $N "$P1" >"$out/got1.txt" || die "embed (CMake) exited with status $?"
	same "$out/got1.txt" "$out/ref1.txt" "embed (CMake), one turn == lfm2-run -p"
	# bad input: one line naming the file, exit 1, nothing on stdout
	st=0
	"$out/embed" -m "$out/OUT/tokenizer.bin" "$P1" >"$out/bad.out" 2>"$out/bad.err" || st=$?
	[ "$st" = 1 ] && [ ! -s "$out/bad.out" ] && [ "$(wc -l <"$out/bad.err")" = 1 ] &&
		grep -q "tokenizer.bin" "$out/bad.err" || die "embed -m tokenizer.bin: status $st, $(cat "$out/bad.err")"
	echo "ok   a wrong -m: $(cat "$out/bad.err")"
}

cmd_two() {
	lfm2c=$1 tiny=$2 fx=$3 model=$4 out=$5 ref=$6 test_c=$7 tools=$8
	mkdir -p "$out" || die "cannot make $out"
	compile "$tiny" "$out/tiny" --lib-prefix tiny
	compile "$model" "$out/tt" --lib-prefix tt --embed-weights
	check_symbols "$out/tiny" tiny nm
	check_symbols "$out/tt" tt nm
	# the test includes them as tiny.h and tt.h
	cp "$out/tiny/model.h" "$out/tiny.h" && cp "$out/tt/model.h" "$out/tt.h" || die "cannot copy the headers"
	# shellcheck disable=SC2086
	cc -std=gnu11 -O2 ${LFM2C_CFLAGS:-} -I "$out" -I "$tools" "$test_c" "$out/tiny/libmodel.a" "$out/tt/libmodel.a" \
		-lm -lpthread -o "$out/two_models" || die "cc could not link the two libraries into one program"
	reference "$ref" "$out"
	prompt=$(head -n 1 "$fx/tokens.txt" | tr -d ' \r')
	want=$(head -n 1 "$fx/greedy.txt" | tr -d ' \r')
	n=$(printf '%s\n' "$want" | tr ',' '\n' | grep -c .)
	"$out/two_models" "$out/tiny/weights.bin" "$prompt" "$n" "$P1" $N "$out/ids.txt" "$out/text.txt" ||
		die "two_models exited with status $?"
	[ "$(cat "$out/ids.txt")" = "$want" ] || die "tiny's greedy ids $(cat "$out/ids.txt") != the oracle's $want"
	echo "ok   tiny (prefix tiny): greedy ids == the oracle's ($want)"
	same "$out/text.txt" "$out/ref1.txt" "tt (prefix tt, embedded weights): answer == lfm2-run -p"
}

cmd_cross() {
	lfm2c=$1 model=$2 out=$3 ref=$4 example=$5
	for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-nm qemu-aarch64; do
		command -v "$tool" >/dev/null 2>&1 || { echo "lib: $tool not installed, skipped"; exit 77; }
	done
	mkdir -p "$out" || die "cannot make $out"
	compile "$model" "$out/OUT" --target aarch64-linux-gnu --cpu cortex-a76 --backend c --embed-weights
	check_symbols "$out/OUT" lfm2lib aarch64-linux-gnu-nm
	aarch64-linux-gnu-gcc -std=gnu11 -O2 -I "$out/OUT" "$example/main.c" "$out/OUT/libmodel.a" -lm -lpthread \
		-o "$out/embed" || die "aarch64-linux-gnu-gcc could not build examples/embed"
	[ "$(od -An -tu2 -j18 -N2 "$out/embed" | tr -d ' ')" = 183 ] || die "$out/embed is not an aarch64 ELF file"
	reference "$ref" "$out"
	qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/embed" -t 2 --temp 0 -n $N "$P1" "$P2" >"$out/got2.txt" ||
		die "embed under qemu-aarch64 exited with status $?"
	same "$out/got2.txt" "$out/ref2.txt" "aarch64 embed under qemu, two turns == x86-64 lfm2-run -i"
}

[ $# -ge 1 ] || die "usage: lib.sh embed|two|cross ARGS..."
step=$1
shift
case $step in
embed) cmd_embed "$@" ;;
two) cmd_two "$@" ;;
cross) cmd_cross "$@" ;;
*) die "unknown step '$step'" ;;
esac
echo "lib: $step OK"
