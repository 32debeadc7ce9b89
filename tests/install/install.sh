#!/bin/sh
# install.sh — `cmake --install` into a temporary prefix, then use it as a
# user would (issue 16, item 1).
#
#   install.sh prefix BUILD DIR MODEL REF RT_MAIN_C
#       cmake --install BUILD --prefix DIR/prefix; the installed files are
#       there; the installed lfm2c compiles MODEL (examples/trained-tiny)
#       into DIR/OUT, and its lfm2-run continues a prompt exactly as REF's
#       (e2e's in-tree build) does; RT_MAIN_C, a program outside the tree,
#       is built against DIR/OUT/model.o with `pkg-config --cflags --libs
#       lfm2rt` of the installed lfm2rt.pc and prints the same text.
#   install.sh deb BUILD DIR
#       cpack (the DEB generator, BUILD/CPackConfig.cmake) into DIR; the
#       package lists the binary, the headers, liblfm2rt.a and lfm2rt.pc;
#       unpacked (dpkg-deb -x, not installed), its Depends name the
#       package of every shared library its lfm2c loads (readelf NEEDED,
#       ldd, dpkg -S) and the tools lfm2c runs (gcc, libc6-dev,
#       libxxhash-dev, binutils); the binary runs and its lfm2rt.pc points
#       into the unpacked tree.
# $LFM2C_CFLAGS (the sanitizer pass) goes into the program built here.
set -u
PROMPT="This program is free software"
N=30

die() {
	echo "install: FAIL: $*" >&2
	exit 1
}

cmd_prefix() {
	build=$1 dir=$2 model=$3 ref=$4 rt_main=$5
	rm -rf "$dir" && mkdir -p "$dir" || die "cannot make $dir"
	p="$dir/prefix"
	cmake --install "$build" --prefix "$p" >"$dir/install.log" || die "cmake --install failed (see $dir/install.log)"
	for f in bin/lfm2c include/lfm2rt/lfm2rt.h include/lfm2rt/lfm2_abi.h include/lfm2rt/lfm2_tokenizer.h \
		lib/liblfm2rt.a lib/pkgconfig/lfm2rt.pc share/doc/lfm2c/examples/embed/main.c; do
		[ -f "$p/$f" ] || die "$p/$f was not installed"
	done
	echo "ok   installed: bin/lfm2c, include/lfm2rt/*.h, lib/liblfm2rt.a, lib/pkgconfig/lfm2rt.pc, share/doc/lfm2c"
	# the installed compiler, on its own: the runtime's sources are inside it
	"$p/bin/lfm2c" compile "$model" -o "$dir/OUT" || die "the installed lfm2c could not compile $model"
	"$ref/lfm2-run" -t 2 --raw -p "$PROMPT" --temp 0 -n $N >"$dir/want.txt" 2>/dev/null || die "$ref/lfm2-run failed"
	"$dir/OUT/lfm2-run" -t 2 --raw -p "$PROMPT" --temp 0 -n $N >"$dir/got_run.txt" 2>/dev/null ||
		die "the installed lfm2c's lfm2-run failed"
	cmp -s "$dir/got_run.txt" "$dir/want.txt" || die "the installed lfm2c's lfm2-run printed something else"
	echo "ok   the installed lfm2c's lfm2-run == the in-tree build's"
	# a program outside the tree, through pkg-config
	flags=$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags --libs lfm2rt) || die "pkg-config lfm2rt failed"
	case $flags in *"$p/"*) ;; *) die "pkg-config's flags do not point into the prefix: $flags" ;; esac
	# shellcheck disable=SC2086
	cc -std=gnu11 -O2 ${LFM2C_CFLAGS:-} "$rt_main" "$dir/OUT/model.o" $flags -o "$dir/rt_main" ||
		die "cc $rt_main OUT/model.o \$(pkg-config --cflags --libs lfm2rt) failed"
	"$dir/rt_main" "$dir/OUT/weights.bin" "$dir/OUT/tokenizer.bin" "$PROMPT" $N >"$dir/got.txt" ||
		die "rt_main exited with status $?"
	cmp -s "$dir/got.txt" "$dir/want.txt" || { cat "$dir/got.txt"; die "rt_main's text != lfm2-run's"; }
	echo "ok   a program built with pkg-config lfm2rt against model.o == lfm2-run: $(head -c 60 "$dir/got.txt")..."
}

# The package of a file (dpkg -S), without ":arch": the file's owner, or
# the owner of the path ldd gave (with /usr merged dpkg knows one of them).
package_of() {
	for f in "$(readlink -f "$1")" "$1"; do
		owner=$(dpkg -S "$f" 2>/dev/null | head -n 1)
		[ -n "$owner" ] && { printf '%s\n' "${owner%%:*}"; return; }
	done
}

cmd_deb() {
	build=$1 dir=$2
	rm -rf "$dir" && mkdir -p "$dir" || die "cannot make $dir"
	cpack --config "$build/CPackConfig.cmake" -G DEB -B "$dir" >"$dir/cpack.log" 2>&1 ||
		die "cpack -G DEB failed (see $dir/cpack.log)"
	deb=$(ls "$dir"/lfm2c_*.deb 2>/dev/null)
	[ "$(printf '%s\n' "$deb" | grep -c .)" = 1 ] || die "cpack did not write one lfm2c_*.deb into $dir"
	dpkg-deb -c "$deb" | awk '{ print $NF }' >"$dir/contents.txt" || die "dpkg-deb -c $deb failed"
	for f in ./usr/bin/lfm2c ./usr/include/lfm2rt/lfm2rt.h ./usr/include/lfm2rt/lfm2_abi.h \
		./usr/include/lfm2rt/lfm2_tokenizer.h ./usr/lib/liblfm2rt.a ./usr/lib/pkgconfig/lfm2rt.pc; do
		grep -qx "$f" "$dir/contents.txt" || die "$(basename "$deb") does not contain $f"
	done
	echo "ok   $(basename "$deb") holds the binary, the headers, liblfm2rt.a and lfm2rt.pc"
	depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/ //g')
	has() { printf '%s\n' "$depends" | grep -qx "$1"; }
	for pkg in gcc libc6-dev libxxhash-dev binutils; do
		has "$pkg" || die "Depends lacks $pkg, which lfm2c runs or needs to build lfm2-run"
	done
	dpkg-deb -x "$deb" "$dir/root" || die "dpkg-deb -x failed"
	bin="$dir/root/usr/bin/lfm2c"   # what the package installs, loading what it loads
	for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		case $lib in libasan* | libubsan*) echo "     $lib: the sanitizer build's runtime, not declared"; continue ;; esac
		path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$path" ] || die "ldd does not resolve $lib"
		pkg=$(package_of "$path")
		[ -n "$pkg" ] || die "no Debian package holds $path ($lib)"
		has "$pkg" || die "lfm2c loads $lib from the package $pkg, which Depends does not name"
		echo "     $lib: $pkg, declared"
	done
	"$bin" --version >"$dir/version.txt" || die "the packaged lfm2c does not run"
	inc=$(PKG_CONFIG_PATH="$dir/root/usr/lib/pkgconfig" pkg-config --cflags-only-I lfm2rt) || die "pkg-config failed"
	inc=$(printf '%s' "$inc" | sed 's/^ *-I//; s/ *$//')
	[ -f "$inc/lfm2rt.h" ] || die "the packaged lfm2rt.pc points at $inc, which has no lfm2rt.h"
	echo "ok   unpacked: $(cat "$dir/version.txt"); its lfm2rt.pc finds the headers beside it"
}

[ $# -ge 1 ] || die "usage: install.sh prefix|deb ARGS..."
step=$1
shift
case $step in
prefix) cmd_prefix "$@" ;;
deb) cmd_deb "$@" ;;
*) die "unknown step '$step'" ;;
esac
echo "install: $step OK"
