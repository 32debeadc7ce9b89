#!/bin/sh
# bench.sh [PRESET...] — how fast is lfm2c, and the code it generates, on
# this machine?
#
# For each preset (default: 350m 1.2b): synthesize a random-weight
# checkpoint of that real shape with `lfm2c synth`, and compile it with
# each backend (LLVM, C), reporting compile time and peak RSS (GNU time,
# --no-cache so nothing is reused).  For the presets in RUN_PRESETS
# (default: 350m), time both inference binaries in the same run, their
# runs interleaved so a noisy machine hits both alike: prefill of 512
# tokens and decode of 128 tokens, at each thread count of THREADS, RUNS
# runs each (median reported).  The memory read bandwidth is measured in
# the same command, and decode is reported as a percentage of the
# bandwidth bound (weight bytes per token / bandwidth).
#
# Weights are read into memory (--no-mmap, the runtime's default): on this
# VM mmap'd weights slow down run after run.  Environment: RUNS (default 5),
# BUILD_DIR (default build), BENCH_DIR (default BUILD_DIR/bench), THREADS
# (default "1 2"), RUN_PRESETS, BACKENDS (default "llvm c").
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
threads=${THREADS:-1 2}
build=${BUILD_DIR:-$root/build}
dir=${BENCH_DIR:-$build/bench}
presets=${*:-350m 1.2b}
run_presets=${RUN_PRESETS:-350m}
backends=${BACKENDS:-llvm c}
mkdir -p "$dir"
sh "$root/scripts/build.sh" "$build"
lfm2c=$build/driver/lfm2c
cc -O3 -march=native -pthread "$root/bench/membw.c" -o "$dir/membw"
export XDG_CACHE_HOME="$dir/cache"   # --no-cache below; never the user's cache

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# field N of the timing line: "... prefill 512 tokens 1.2 s (420.1 tok/s), decode 127 tokens ..."
rate() {   # rate prefill|decode < stderr
	sed -n "s/.*$1 [0-9]* tokens [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for t in $threads; do
	bw=$("$dir/membw" "$t" 1024 | awk '{print $3}')
	eval "bw_$t=$bw"
	echo "memory read bandwidth, $t thread(s): $bw GB/s (median of 7)"
done
prompt=$(seq -s, 1 512)
for p in $presets; do
	m=$dir/model-$p
	if [ ! -f "$m/model.safetensors" ]; then
		"$lfm2c" synth "$p" -o "$m" --dtype bf16 --seed 1 >/dev/null
	fi
	echo
	echo "== $p: compile (--no-cache; wall time, peak RSS of lfm2c and the C compiler it runs)"
	printf '%-8s %12s %14s\n' backend "compile s" "peak RSS MiB"
	for b in $backends; do
		/usr/bin/time -f "%e %M" -o "$dir/time-$p-$b" \
			"$lfm2c" compile "$m" -o "$dir/out-$p-$b" --backend "$b" --no-cache 2>/dev/null
		awk -v b="$b" '{printf "%-8s %12.1f %14.0f\n", b, $1, $2 / 1024}' "$dir/time-$p-$b"
	done
	case " $run_presets " in *" $p "*) ;; *) continue ;; esac
	bytes=$(stat -c %s "$dir/out-$p-llvm/weights.bin")
	echo
	echo "== $p: weights.bin $(echo "$bytes" | awk '{printf "%.1f MiB", $1/1048576}') (f32), weights read into memory"
	printf '%-8s %-8s %14s %14s %12s %14s\n' backend threads "prefill tok/s" "decode tok/s" "decode GB/s" "% of bw bound"
	for t in $threads; do
		# interleave the backends' runs: run i of every backend, then run i+1
		for i in $(seq "$runs"); do
			for b in $backends; do
				bin=$dir/out-$p-$b/lfm2-run
				"$bin" --tokens "$prompt" -n 1 -t "$t" --chunk 512 2>&1 >/dev/null | rate prefill >> "$dir/pf-$p-$b-$t"
				"$bin" --tokens 1 -n 129 --ignore-eos -t "$t" 2>&1 >/dev/null | rate decode >> "$dir/dc-$p-$b-$t"
			done
		done
		for b in $backends; do
			pf=$(median < "$dir/pf-$p-$b-$t")
			dc=$(median < "$dir/dc-$p-$b-$t")
			rm -f "$dir/pf-$p-$b-$t" "$dir/dc-$p-$b-$t"
			eval "bw=\$bw_$t"
			echo "$b $t $pf $dc $bytes $bw" | awk '{gbs = $4 * $5 / 1e9; printf "%-8s %-8s %14.1f %14.2f %12.1f %13.0f%%\n", $1, $2, $3, $4, gbs, 100 * gbs / $6}'
		done
	done
done
