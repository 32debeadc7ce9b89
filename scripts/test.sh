#!/bin/sh
# test.sh [--quick] — build lfm2c and run the whole test suite (ctest).
#
# Runs the suite twice: once in a normal build, once with AddressSanitizer
# and UBSan (the compiler, the runtime and every generated model built by
# the tests).  --quick skips the sanitizer pass.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)

sh "$root/scripts/build.sh" "$root/build"
echo "== tests (build/)"
(cd "$root/build" && ctest -j"$jobs" --output-on-failure)

if [ $quick = 0 ]; then
	echo "== tests under ASan + UBSan (build-asan/)"
	sh "$root/scripts/build.sh" "$root/build-asan" -DLFM2C_SANITIZE=ON   # optimized: -O2 -g
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LFM2C_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -g"
	(cd "$root/build-asan" && ctest -j"$jobs" --output-on-failure)
fi
