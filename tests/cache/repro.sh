#!/bin/sh
# repro.sh LFM2C MODEL OUT — reproducible builds: the same model and options
# compiled twice (--no-cache, into directories with different paths) give
# byte-identical files — object, header, blob, runtime sources and the
# executable — for the LLVM backend with embedded weights, the C backend,
# --emit obj (weights.bin), and (when the cross compiler is installed) an
# aarch64 build.
set -eu
lfm2c=$1 model=$2 out=$3
rm -rf "$out"
mkdir -p "$out"
fail() { echo "repro: FAIL: $*"; exit 1; }
check() {   # check NAME OPTIONS...
	name=$1
	shift
	"$lfm2c" compile "$model" -o "$out/$name-1" --no-cache "$@" 2>/dev/null || fail "$name: compile"
	"$lfm2c" compile "$model" -o "$out/$name-second-build" --no-cache "$@" 2>/dev/null || fail "$name: compile"
	files=$(cd "$out/$name-1" && find . -type f | sort)
	[ "$files" = "$(cd "$out/$name-second-build" && find . -type f | sort)" ] || fail "$name: different file sets"
	for f in $files; do
		cmp -s "$out/$name-1/$f" "$out/$name-second-build/$f" || fail "$name: $f differs between the two builds"
	done
	echo "ok   $name: $(echo "$files" | grep -c .) files byte-identical ($(echo "$files" | grep -E 'lfm2-run|model\.|weights' | tr '\n' ' '))"
}
check embed --embed-weights
check c --backend c
check obj --emit obj
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
	check aarch64 --target aarch64-linux-gnu --cpu cortex-a76
else
	echo "skip aarch64: no aarch64-linux-gnu-gcc"
fi
