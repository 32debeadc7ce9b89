#!/bin/sh
# run_fuzz.sh SRC_DIR WORK_DIR HARNESS... — what `make fuzz` runs.
#
# Builds every named harness with clang and libFuzzer
# (-fsanitize=fuzzer,address,undefined; the project's libraries with
# -fsanitize=fuzzer-no-link,address,undefined so the fuzzer sees their
# coverage) in a second CMake build, WORK_DIR/build-CLANG, configured with
# -DLFM2C_LIBFUZZER=ON; then runs each harness, one after the other, for
# FUZZ_SECONDS seconds (default 60) over WORK_DIR/NAME/corpus: the
# committed seeds of tests/fuzz/corpus/NAME copied over whatever earlier
# runs found, so the committed corpus is never written to.  Crash, leak and
# timeout reproducers land in WORK_DIR/NAME/ (crash-*, leak-*, timeout-*),
# the harness's temp files in WORK_DIR/tmp, its log in WORK_DIR/NAME/log.
#
# Environment: FUZZ_SECONDS (per harness), FUZZ_TARGETS (a subset of the
# harness names, space-separated), FUZZ_CC (the clang to use; default: the
# newest clang-N, else clang, that can link a libFuzzer program),
# FUZZ_ARGS (extra libFuzzer options).
#
# Without a usable clang it prints one line naming the Debian package and
# exits 1.  Otherwise it prints one summary line per harness (executions,
# corpus size, result) and exits 1 if any harness found something.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 SRC_DIR WORK_DIR HARNESS..." >&2; exit 2; }
src=$1
work=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-$*}
mkdir -p "$work"

# A clang that can build a libFuzzer program with the sanitizers we use.
probe_dir=$(mktemp -d "$work/probe.XXXXXX")
trap 'rm -rf "$probe_dir"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$probe_dir/probe.c"
cc=""
for c in ${FUZZ_CC:-} clang-21 clang-20 clang-19 clang-18 clang-17 clang-16 clang-15 clang-14 clang; do
	command -v "$c" >/dev/null 2>&1 || continue
	if "$c" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.c" -o "$probe_dir/probe" >/dev/null 2>&1; then
		cc=$(command -v "$c")
		break
	fi
done
if [ -z "$cc" ]; then
	echo "make fuzz: needs clang with libFuzzer; on Debian 12: apt-get install clang-19 libclang-rt-19-dev (or clang-14 libclang-rt-14-dev)" >&2
	exit 1
fi

build="$work/build-$(basename "$cc")"   # one build per compiler: a CMake cache keeps its compiler
echo "== fuzz: building the harnesses with $cc in $build"
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DLFM2C_LIBFUZZER=ON -DCMAKE_C_FLAGS="$flags" >"$work/configure.log" 2>&1 ||
	{ cat "$work/configure.log" >&2; exit 1; }
build_targets=""
for h in $targets; do build_targets="$build_targets fuzz_$h"; done
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $build_targets >"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log" >&2; exit 1; }

mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
status=0
summary=""
for h in $targets; do
	dir="$work/$h"
	mkdir -p "$dir/corpus"
	cp "$src/tests/fuzz/corpus/$h/"* "$dir/corpus/"
	exe="$build/tests/fuzz/fuzz_$h"
	echo "== fuzz: $h for ${seconds}s (log: $dir/log)"
	set +e
	# shellcheck disable=SC2086
	"$exe" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/" ${FUZZ_ARGS:-} "$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	set -e
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	files=$(find "$dir/corpus" -type f | wc -l)
	if [ $rc = 0 ]; then
		result="ok"
	else
		status=1
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/log" | tail -1)
		reason=$(grep -m1 -E '^==[0-9]+==ERROR|runtime error|fuzz invariant failed|ALARM|out-of-memory' "$dir/log" |
			sed 's/^==[0-9]*==//' | cut -c1-120)
		result="FOUND: ${reason:-exit $rc} -> ${artifact:-see log}"
	fi
	line=$(printf '%-16s %10s execs  %5s inputs  %s' "$h" "${runs:-?}" "$files" "$result")
	echo "$line"
	summary="$summary$line
"
done
echo "== fuzz: summary (${seconds}s each)"
printf '%s' "$summary"
exit $status
