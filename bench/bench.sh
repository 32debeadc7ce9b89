#!/bin/sh
# bench.sh [PRESET...] — how fast is the generated code on this machine?
#
# For each preset (default: 350m): synthesize a random-weight checkpoint of
# that real shape with `lfm2c synth`, compile it, and time the inference
# binary: prefill of 512 tokens and decode of 128 tokens, at 1 and 2
# threads, RUNS runs each (median reported).  The memory read bandwidth is
# measured in the same command, and decode is reported as a percentage of
# the bandwidth bound (weight bytes per token / bandwidth).
#
# Weights are read into memory (--no-mmap, the runtime's default): on this
# VM mmap'd weights slow down run after run.  Environment: RUNS (default 5),
# BENCH_DIR (default build/bench), THREADS (default "1 2").
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
threads=${THREADS:-1 2}
dir=${BENCH_DIR:-$root/build/bench}
presets=${*:-350m}
mkdir -p "$dir"
sh "$root/scripts/build.sh" "$root/build"
lfm2c=$root/build/driver/lfm2c
cc -O3 -march=native -pthread "$root/bench/membw.c" -o "$dir/membw"

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
	t0=$(date +%s.%N)
	"$lfm2c" compile "$m" -o "$dir/out-$p" 2>/dev/null
	t1=$(date +%s.%N)
	bin=$dir/out-$p/lfm2-run
	bytes=$(stat -c %s "$dir/out-$p/weights.bin")
	echo
	echo "== $p: weights.bin $(echo "$bytes" | awk '{printf "%.1f MiB", $1/1048576}') (f32), compile $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s, weights read into memory"
	printf '%-8s %14s %14s %12s %14s\n' threads "prefill tok/s" "decode tok/s" "decode GB/s" "% of bw bound"
	for t in $threads; do
		pf=$(for i in $(seq "$runs"); do "$bin" --tokens "$prompt" -n 1 -t "$t" --chunk 512 2>&1 >/dev/null | rate prefill; done | median)
		dc=$(for i in $(seq "$runs"); do "$bin" --tokens 1 -n 129 --ignore-eos -t "$t" 2>&1 >/dev/null | rate decode; done | median)
		eval "bw=\$bw_$t"
		echo "$t $pf $dc $bytes $bw" | awk '{gbs = $3 * $4 / 1e9; printf "%-8s %14.1f %14.2f %12.1f %13.0f%%\n", $1, $2, $3, gbs, 100 * gbs / $5}'
	done
done
