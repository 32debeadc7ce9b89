#!/bin/sh
# test.sh [--quick] — build lfm2c and run the whole test suite (ctest).
#
# Runs the suite twice: once in a normal build, once with AddressSanitizer
# and UBSan (the compiler, the runtime and every generated model built by
# the tests).  --quick skips the sanitizer pass.  At the end, for each
# pass: its wall time (build and tests) and its ten slowest tests (from
# ctest's Testing/Temporary/LastTest.log).  The sanitizer pass runs even
# when a test of the first one failed, so one run reports everything; the
# exit status is non-zero if a test of either pass failed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
failed=0
report=$(mktemp)
trap 'cat "$report"; rm -f "$report"' EXIT

# slowest DIR: the ten longest tests of the last ctest run in DIR
slowest() {
	awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
	     /^Test time = / && name != "" { printf "  %8.2f s  %s\n", $4, name; name = "" }' \
		"$1/Testing/Temporary/LastTest.log" 2>/dev/null | sort -rn | head -n 10
}

# pass NAME DIR [CMAKE ARGS...]: build in DIR, run ctest there, add to the report
pass() {
	name=$1 dir=$2
	shift 2
	t0=$(date +%s)
	sh "$root/scripts/build.sh" "$dir" "$@"
	t1=$(date +%s)
	echo "== tests $name ($(basename "$dir")/)"
	st=0
	(cd "$dir" && ctest -j"$jobs" --output-on-failure) || st=$?
	t2=$(date +%s)
	[ "$st" -eq 0 ] || failed=1
	{
		echo "== $name: $((t2 - t0)) s wall (build $((t1 - t0)) s, tests $((t2 - t1)) s)$([ "$st" -eq 0 ] || echo ", FAILED")"
		echo "   the ten slowest tests:"
		slowest "$dir"
	} >>"$report"
}

pass "normal" "$root/build"

if [ $quick = 0 ]; then
	# -g1: line tables, so the sanitizers' reports name file:line (inlined
	# frames too), without the variable locations of -g, which make gcc
	# ~40% slower on the generated models; the code is the same either way
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LFM2C_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -g1"
	pass "ASan + UBSan" "$root/build-asan" -DLFM2C_SANITIZE=ON   # optimized: -O2 -g
fi
exit "$failed"
