#!/bin/sh
# standalone_build.sh RUNTIME_DIR TEST_DIR FAKE_BLOB OUT_DIR
# Builds lfm2-run the way lfm2c does — one plain cc command over the model
# file and every runtime .c, nothing but libc, libm and pthreads — with the
# fake model as the model, -Werror.  Then the same for aarch64 if a cross
# compiler is installed, run under qemu if available: generated ids (greedy
# and seeded sampling) must be identical on both machines.  The core runtime
# files must also compile warning-free as strict ISO C11 (-Werror, checked
# one by one; other files in the folder are built but not held to that).
set -eu
rt=$1 td=$2 fake_blob=$3 out=$4
rm -rf "$out"
mkdir -p "$out"
"$fake_blob" "$out/weights.bin"
flags="-std=gnu11 -Wall -Wextra -DLFM2_MODEL_SYMBOL=fake_model -I$rt -I$td"

for f in rt_util pool weights session sampler npy main; do
	${CC:-cc} -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$rt" "$rt/$f.c"
done
echo "core runtime files: clean under -std=c11 -pedantic -Werror"

# Compiler messages about other files go to a log, shown only on failure.
build() { "$@" 2>"$out/build.log" || { cat "$out/build.log" >&2; exit 1; }; }
build ${CC:-cc} -O3 -march=native $flags "$td/fake_model.c" "$rt"/*.c -lm -lpthread -o "$out/lfm2-run"
run() { "$@" --tokens 3,9,4,22 -n 16 -t 2 2>/dev/null; "$@" --tokens 5,1 -n 24 --temp 0.9 -s 11 --repeat-penalty 1.2 2>/dev/null; }
run "$out/lfm2-run" > "$out/native.txt"
test "$(wc -l < "$out/native.txt")" -eq 2
echo "native build ok: $(tr '\n' ' ' < "$out/native.txt")"

if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
	build aarch64-linux-gnu-gcc -O3 $flags "$td/fake_model.c" "$rt"/*.c -lm -lpthread -o "$out/lfm2-run-arm64"
	echo "aarch64 cross build ok"
	if command -v qemu-aarch64 >/dev/null 2>&1 && [ -d /usr/aarch64-linux-gnu ]; then
		run qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/lfm2-run-arm64" -m "$out/weights.bin" > "$out/arm64.txt"
		cmp "$out/native.txt" "$out/arm64.txt"
		echo "aarch64 (qemu) output identical"
	fi
fi
