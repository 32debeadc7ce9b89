#!/bin/sh
# bench.sh [PRESET...] — `make bench`: how fast is the code lfm2c generates,
# per weight format, against this machine's memory bandwidth and llama.cpp?
#
# For each preset (default: 350m 1.2b), a random-weight checkpoint of that
# real shape (`lfm2c synth`, bf16, seed 1):
#
#  1. compile time and peak RSS of each backend (BACKENDS, default "llvm
#     c"; GNU time, --no-cache so nothing is reused), f32 weights;
#  2. every weight format of FORMATS (default f32 f16 bf16 q8_0 q4_0 q4_1)
#     through `lfm2c variants` (a one-line schedule per format, everything
#     else at its defaults), timed at each thread count of THREADS (default
#     "1 2"): decode of 128 tokens and prefill of 512 tokens (one chunk),
#     RUNS runs each (default 5), medians; the runs of all formats and both
#     thread counts are interleaved (run i of everything, then run i + 1) so
#     a noisy machine hits all alike.  Each run is a fresh lfm2-run with
#     its weights evicted from the page cache first and then READ INTO
#     MEMORY (--no-mmap, as llama-bench -lm none: on this VM mmap'd weights
#     slow down run after run; in 2 MiB huge pages, the runtime's default);
#     MMAP=1 adds the same table with mmap'd weights.  A format the
#     compiler cannot build or run is skipped with a note (variants
#     --keep-going).  Each format is also checked against
#     the f32 build (max |logit error| / max |logit|, mean KLD).
#
# The memory read bandwidth is measured in the same command (bench/membw.c)
# for each thread count; decode GB/s = decode tok/s x weight bytes (the
# blob: every weight is read once per token, the tied embedding included,
# as the LM head), and "% of bound" compares it with that bandwidth (the
# higher of its measurements before and after each table's runs).  So
# are the arithmetic peaks (bench/peak.c: f32 FMA, int8 dot products) that
# bound prefill: "% of peak" is prefill tok/s x the matmul operations per
# token (2 x the parameters outside the embedding: prefill takes logits of
# the last token only) over the FMA peak (f32, f16, bf16: the float kernels
# compute in f32) or the int8 dot peak (q8_0, q4_0, q4_1).
# llama.cpp's figures (llama-bench build 10587, 2 threads, tg128 / pp512,
# best of mmap and no-mmap, ±15 % run to run; issue 5) are shown next to
# the 350M rows at 2 threads.
#
# Disk: variants keeps every format's build until all are timed (the runs
# are interleaved), about 5.2x the bf16 checkpoint for the six formats
# (3.5 GB for 350M, 12 GB for 1.2B); a preset without that much free space
# is skipped with a note rather than failing half-way.
#
# Environment: PRESETS (when no argument), RUNS, THREADS, FORMATS, BACKENDS, MMAP, BUILD_DIR (default
# build), BENCH_DIR (default BUILD_DIR/bench), SKIP_BUILD=1 (use BUILD_DIR
# as it is: what `make bench` does), LFM2C (the compiler, default
# BUILD_DIR/driver/lfm2c).  Not a test: nothing here runs under ctest.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
threads=${THREADS:-1 2}
build=${BUILD_DIR:-$root/build}
dir=${BENCH_DIR:-$build/bench}
presets=${*:-${PRESETS:-350m 1.2b}}
formats=${FORMATS:-f32 f16 bf16 q8_0 q4_0 q4_1}
backends=${BACKENDS-llvm c}
mmap=${MMAP:-0}
mkdir -p "$dir"
[ -n "${SKIP_BUILD:-}" ] || sh "$root/scripts/build.sh" "$build"
lfm2c=${LFM2C:-$build/driver/lfm2c}
cc -O3 -march=native -pthread "$root/bench/membw.c" -o "$dir/membw"
cc -O3 -march=native -pthread "$root/bench/peak.c" -o "$dir/peak"
export XDG_CACHE_HOME="$dir/cache"   # never the user's cache

# llama.cpp on the 350M shape, 2 threads (issue 5): FORMAT DECODE PREFILL
llama_cpp() {
	case $1 in
	f32) echo "30.0 215" ;;
	f16) echo "55.1 452" ;;
	q8_0) echo "78.6 377" ;;
	q4_0) echo "111.5 573" ;;
	*) echo "- -" ;;
	esac
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
tlist=
for t in $threads; do
	bw=$("$dir/membw" "$t" 1024 | awk '{print $3}')
	eval "bw_$t=$bw"
	echo "memory read bandwidth, $t thread(s): $bw GB/s (median of 7)"
	"$dir/peak" "$t" >"$dir/peak-$t"
	eval "fma_$t=$(awk '$1 == "fma_gflops" {print $3}' "$dir/peak-$t")"
	eval "dot_$t=$(awk '$1 == "int8_gops" {print $3}' "$dir/peak-$t")"
	eval "echo \"arithmetic peak, $t thread(s): f32 FMA \$fma_$t GFLOP/s, int8 dot \$dot_$t G op/s (median of 5)\""
	tlist=${tlist:+$tlist,}$t
done

mkdir -p "$dir/sched"
scheds=
for f in $formats; do
	printf '{"version": 1, "formats": {"default": "%s"}}\n' "$f" >"$dir/sched/$f.json"
	scheds="$scheds $dir/sched/$f.json"
done

# table PRESET CSV: the variants CSV as the benchmark table
table() {
	while IFS=, read -r name sched thr dec pre load blob code art comp cached err kld top1 rest; do
		[ "$name" = variant ] && continue
		eval "bw=\${bw_$thr:-0}"
		case $name in
		q*) eval "peak=\${dot_$thr:--}" ;;
		*) eval "peak=\${fma_$thr:--}" ;;
		esac
		if [ -z "$dec" ]; then   # failed: the error is the rest of the line
			why=$(printf '%s' "$rest" | sed 's/^"//; s/"$//; s/""/"/g')
			printf '%-6s %7s  skipped: %s\n' "$name" "$thr" "$why"
			continue
		fi
		ll="- -"
		[ "$1" = 350m ] && [ "$thr" = 2 ] && ll=$(llama_cpp "$name")
		echo "$name $thr $blob $dec $pre $bw $ll $err $kld $peak $3" | awk '{
			gbs = $4 * $3 / 1e9
			pk = $11 == "-" ? "-" : sprintf("%.0f%%", 100 * $5 * $12 / ($11 * 1e9))
			printf "%-6s %7s %12.1f %12.2f %13.1f %11.1f %9.0f%% %9s %10s %10s %10.2e %10.2e\n",
			       $1, $2, $3 / 1048576, $4, $5, gbs, ($6 > 0 ? 100 * gbs / $6 : 0), pk, $7, $8, $9, $10 }'
	done <"$2"
}

header() {
	printf '%-6s %7s %12s %12s %13s %11s %10s %9s %10s %10s %10s %10s\n' format threads "weights MiB" "decode tok/s" \
		"prefill tok/s" "decode GB/s" "% of bound" "% of peak" "llama.cpp" "llama.cpp" "max err" KLD
	printf '%-6s %7s %12s %12s %13s %11s %10s %9s %10s %10s %10s %10s\n' "" "" "" "(128)" "(512)" "" "(decode)" "(prefill)" \
		"decode" "pp512" "vs f32" "vs f32"
}

for p in $presets; do
	m=$dir/model-$p
	if [ ! -f "$m/model.safetensors" ]; then
		"$lfm2c" synth "$p" -o "$m" --dtype bf16 --seed 1 >/dev/null
	fi
	# matmul operations per prefill token: 2 x the parameters outside the embedding
	ops=$("$lfm2c" synth "$p" -o "$dir/dry" --dry-run 2>&1 | awk '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { printf "%.0f", 2 * (v["params"] - v["vocab"] * v["hidden"]) }')
	echo
	echo "== $p: $(awk -v o="$ops" 'BEGIN {printf "%.3f", o / 1e9}') G matmul operations per prefill token"
	if [ -n "$backends" ]; then
		echo
		echo "== $p: compile, f32 weights (--no-cache; wall time, peak RSS of lfm2c and the C compiler it runs)"
		printf '%-8s %12s %14s\n' backend "compile s" "peak RSS MiB"
		for b in $backends; do
			/usr/bin/time -f "%e %M" -o "$dir/time-$p-$b" \
				"$lfm2c" compile "$m" -o "$dir/out-$p-$b" --backend "$b" --no-cache 2>/dev/null
			awk -v b="$b" '{printf "%-8s %12.1f %14.0f\n", b, $1, $2 / 1024}' "$dir/time-$p-$b"
			rm -rf "$dir/out-$p-$b"
		done
	fi
	# room for every format's blob at once (bytes per bf16 checkpoint byte), +10 %
	need=$(for f in $formats; do echo "$f"; done | awk -v b="$(du -Lb "$m/model.safetensors" | cut -f1)" '
		{ r = $1 == "f32" ? 2 : ($1 == "f16" || $1 == "bf16") ? 1 : $1 == "q8_0" ? 0.54 : $1 == "q4_0" ? 0.29 : 0.32
		  t += r * b } END { printf "%.0f", t * 1.1 }')
	have=$(df -B1 --output=avail "$dir" | tail -1)
	if [ "$have" -lt "$need" ]; then
		echo
		echo "== $p: skipped: the builds of every format need $((need / 1000000000 + 1)) GB free in $dir, there are $((have / 1000000000))"
		continue
	fi
	modes=read
	[ "$mmap" = 1 ] && modes="read mmap"
	for mode in $modes; do
		out=$dir/variants-$p-$mode
		flag=
		[ $mode = mmap ] && flag=--mmap
		echo
		echo "== $p: weight formats, $runs runs each (medians), formats and thread counts interleaved"
		# variants exits 1 when a format failed; the table says which
		"$lfm2c" variants "$m" $scheds -o "$out" --threads "$tlist" --runs "$runs" --prefill 512 --decode 128 \
			--keep-going $flag >"$out.table" 2>"$out.log" || true
		if [ ! -f "$out/variants.csv" ]; then
			echo "variants failed:"
			tail -3 "$out.log"
			continue
		fi
		# the bandwidth again: on a shared machine it moves with the neighbours'
		# load (seen here: 25 to 52 GB/s within minutes); the bound is the
		# higher of the two measurements
		for t in $threads; do
			bw=$("$dir/membw" "$t" 1024 | awk '{print $3}')
			eval "before=\$bw_$t"
			echo "memory read bandwidth, $t thread(s), after the runs: $bw GB/s (before: $before)"
			eval "bw_$t=$(echo "$bw $before" | awk '{print ($1 > $2 ? $1 : $2)}')"
		done
		sed -n 's/^weights /weights /p' "$out.table"
		header
		table "$p" "$out/variants.csv" "$ops"
		echo "(full table: $out.table; JSON, CSV, SVG: $out/)"
	done
done
