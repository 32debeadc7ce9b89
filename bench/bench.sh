#!/bin/sh
# bench.sh [PRESET...] — `make bench`: how fast is the code lfm2c generates,
# per weight format, against this machine's own measured peaks and against
# llama.cpp run on the same machine in the same command?
#
# First, the machine: CPU model, the CPU LLVM names for the host and the
# ISA tier lfm2c compiles for (`lfm2c variants` on the tiny shape says), the
# memory read bandwidth (bench/membw.c) and the arithmetic peak of every
# instruction sequence the kernels run (bench/peak.c: f32 FMA at 256 and
# 512 bits, vpdpbusd zmm / ymm, the AVX2 int8 forms, vdpbf16ps; sdot,
# bfdot on aarch64), at each thread count of THREADS.
#
# Then for each preset (default: 350m 1.2b), a random-weight checkpoint of
# that real shape (`lfm2c synth`, bf16, seed 1):
#
#  1. compile time and peak RSS of each backend (BACKENDS, default "llvm
#     c"; GNU time, --no-cache so nothing is reused), f32 weights;
#  2. every weight format of FORMATS (default f32 f16 bf16 q8_0 q4_0 q4_1)
#     compiled by `lfm2c variants` (a one-line schedule per format,
#     everything else at its defaults, for this machine), which also
#     checks each against the f32 build (max |logit error| / max |logit|,
#     mean KLD); a format the compiler cannot build is skipped with a note;
#  3. the formats of V3_FORMATS (default "q4_0 q8_0 f32"; "" for none)
#     compiled again with `lfm2c compile --target x86_64-linux-gnu --cpu
#     x86-64-v3` (AVX2 + FMA, no AVX-512, no VNNI: most laptops and many
#     servers) and run on this machine (x86-64 with AVX2 only);
#  4. when LLAMA_CPP names a llama.cpp build directory (its bin/ holds
#     llama-bench and llama-quantize), the same checkpoint converted to
#     GGUF for each format of LLAMA_FORMATS (default "f32 f16 q8_0 q4_0",
#     intersected with FORMATS): f32 / f16 / bf16 by the LFM2 converter
#     (LLAMA_CONVERT, default ../shared/peer/convert_lfm2.py beside the
#     repository; llama.cpp's gguf-py from its source tree, PYTHON default
#     /usr/bin/python3), q8_0 / q4_0 / q4_1 by `llama-quantize --pure` from
#     the f32 GGUF (--pure: the embedding too, as lfm2c's -q does).  The
#     GGUFs stay in BENCH_DIR/gguf-PRESET and are reused;
#  5. timing, RUNS runs (default 5), medians: run i of every format at
#     every thread count — ours, then llama.cpp's, then the x86-64-v3
#     build's — then run i + 1, so a noisy machine hits all alike.  Ours:
#     a fresh lfm2-run per measurement, its blob evicted from the page
#     cache first (sync + dd iflag=nocache) and READ INTO MEMORY
#     (--no-mmap; in 2 MiB huge pages, the runtime's default): prefill of
#     512 tokens in one chunk, then decode of 128 tokens after a one-token
#     prompt, as `lfm2c variants` times.  llama.cpp: `llama-bench -t T -p
#     512 -n 128 -r 1 -lm none` (pp512, tg128; weights read into memory;
#     llama-bench's own warm-up run first).  MMAP=1 adds the same tables
#     with mmap'd weights (--mmap, -lm mmap).
#
#  6. long prompts (LONG_DEPTHS, default 8192; LONG=1 adds 32768) for the
#     formats of LONG_FORMATS (default q4_0) at the largest thread count,
#     LONG_RUNS runs (default 3), interleaved with llama.cpp: ours, a fresh
#     lfm2-run per run: a DEPTH-token prompt (ids 1.. wrapped to the
#     vocabulary) in chunks of 512, then DECODE tokens (-c DEPTH + DECODE +
#     16); llama.cpp: `llama-bench -p DEPTH -n 0` (ppDEPTH) and `-p 0 -n
#     DECODE -d DEPTH` (tg at that depth).  Decode's bound counts the blob
#     and the KV cache read per token at that depth (f32: layers with
#     attention x 2 x KV heads x head_dim x 4 bytes per position).
#
# The tables: decode GB/s = decode tok/s x weight bytes (the blob: every
# weight is read once per token, the tied embedding included, as the LM
# head), "% of bound" against the read bandwidth (the higher of its
# measurements before and after the runs).  "% of peak" = prefill tok/s x
# the multiply-adds per token (the parameters outside the embedding:
# prefill takes logits of the last token only; x 2 for a peak in flops)
# over the peak of the
# sequence the build runs — found in its model.o with objdump (vpdpbusd
# zmm, vfmadd231ps ymm, ...; the "peak" column names it), else the one its
# ISA tier is meant to run (marked "?").  The x86-64-v3 rows use the AVX2
# int8 forms (q4_0, q4_1: vpmaddubsw + vpmaddwd; q8_0: with vpsignb) and
# the 256-bit FMA, and their "decode / native" divides by the native
# build's decode of the same format (when FORMATS has it).  "ours /
# llama.cpp" divides the medians.
#
# Disk: every format's build is kept until all are timed (the runs are
# interleaved), about 5.2x the bf16 checkpoint for the six formats plus 2x
# for the f32 reference while variants runs (3.5-5 GB for 350M, 12-17 GB
# for 1.2B), the x86-64-v3 builds (2.8x) and the GGUFs (3.8x); a preset
# without that much free space is skipped with a note rather than failing
# half-way.  Builds are removed after their preset.
#
# Environment: PRESETS (when no argument), RUNS, THREADS, FORMATS,
# BACKENDS, MMAP, V3_FORMATS, LONG, LONG_FORMATS ("" for none), LONG_DEPTHS,
# LONG_RUNS, LLAMA_CPP, LLAMA_FORMATS, LLAMA_CONVERT,
# PYTHON, BUILD_DIR (default build), BENCH_DIR (default BUILD_DIR/bench),
# SKIP_BUILD=1 (use BUILD_DIR as it is: what `make bench` does), LFM2C
# (the compiler, default BUILD_DIR/driver/lfm2c).  Not a test: nothing
# here runs under ctest.
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
v3_formats=${V3_FORMATS-q4_0 q8_0 f32}
llama=${LLAMA_CPP:-}
llama_formats=${LLAMA_FORMATS:-f32 f16 q8_0 q4_0}
long_formats=${LONG_FORMATS-q4_0}
long_depths=${LONG_DEPTHS:-8192}
[ "${LONG:-0}" = 1 ] && long_depths="$long_depths 32768"
long_runs=${LONG_RUNS:-3}
PREFILL=512
DECODE=128
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ -n "${SKIP_BUILD:-}" ] || sh "$root/scripts/build.sh" "$build"
lfm2c=${LFM2C:-$build/driver/lfm2c}
cc -O3 -march=native -pthread "$root/bench/membw.c" -o "$dir/membw"
# no -march: each kernel is compiled for its instruction set and run when the CPU has it
cc -std=c11 -O3 -pthread "$root/bench/peak.c" -o "$dir/peak"
export XDG_CACHE_HOME="$dir/cache"   # never the user's cache
tmp=$dir/tmp
mkdir -p "$tmp"
# the builds of the preset being measured go on any exit (they are GBs)
cur=
drop_builds() {
	[ -z "$cur" ] || rm -rf "$dir/variants-$cur/builds" "$dir/v3-$cur-"* "$dir/.v3-$cur-"*.lfm2c-lock
	cur=
}
trap 'drop_builds; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------ helpers

# median of the numbers in FILE (one per line), "-" when there are none
median() {
	[ -s "$1" ] || { echo -; return; }
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# value of peak NAME at THREADS ("-" when not measured)
peak_of() {
	[ "$1" = - ] && { echo -; return; }
	awk -v n="$1" '$1 == n { v = $3 } END { print ((v == "" || v == "n/a") ? "-" : v) }' "$dir/peak-$2"
}

# the peak's unit: int8 sequences count byte multiply-adds, the others flops
peak_unit() {
	case $1 in int8_*) echo mac ;; *) echo flop ;; esac
}

# seq_of BUILD_DIR KIND (int8 | float | bf16): the peak of the sequence the
# build runs, from its machine code: "NAME COUNT INSTRUCTION", or "- 0 none"
seq_of() {
	obj=$1/model.o
	[ -f "$obj" ] || obj=$1/lfm2-run
	objdump -d --no-show-raw-insn "$obj" 2>/dev/null | awk -v kind="$2" '
	{
		t = index($0, "\t"); if (!t) next
		s = substr($0, t + 1); gsub(/\t/, " ", s)
		n = split(s, w, " "); if (n < 1) next
		m = w[1]; o = w[2]
		if (m ~ /^\{/) { m = w[2]; o = w[3] }   # {vex} / {evex} prefixes
		r = o ~ /%zmm[0-9]+$/ ? "zmm" : o ~ /%ymm[0-9]+$/ ? "ymm" : o ~ /%xmm[0-9]+$/ ? "xmm" : ""
		if (m == "vpdpbusd") c["vpdpbusd " r]++
		else if (m == "vpmaddubsw") c["vpmaddubsw " r]++
		else if (m == "vpsignb") c["vpsignb " r]++
		else if (m ~ /^vfn?madd(132|213|231)ps$/) c["vfmadd " r]++
		else if (m == "vdpbf16ps") c["vdpbf16ps " r]++
		else if (m == "sdot") c["sdot"]++
		else if (m == "bfdot") c["bfdot"]++
		else if (m == "fmla" && s ~ /\.4s/) c["fmla"]++
	}
	function out(name, key) { print name, c[key] + 0, key; done = 1 }
	END {
		if (kind == "bf16") {
			if (c["vdpbf16ps zmm"]) out("bf16_dot_zmm", "vdpbf16ps zmm")
			else if (c["vdpbf16ps ymm"]) out("bf16_dot_ymm", "vdpbf16ps ymm")
			else if (c["bfdot"]) out("bf16_dot", "bfdot")
			else kind = "float"
		}
		if (done) exit
		if (kind == "int8") {
			if (c["vpdpbusd zmm"]) out("int8_vnni_zmm", "vpdpbusd zmm")
			else if (c["vpdpbusd ymm"]) out("int8_vnni_ymm", "vpdpbusd ymm")
			else if (c["vpdpbusd xmm"]) out("int8_vnni_xmm", "vpdpbusd xmm")   # no peak measured
			else if (c["vpmaddubsw ymm"]) out(c["vpsignb ymm"] ? "int8_avx2_q8" : "int8_avx2_q4", "vpmaddubsw ymm")
			else if (c["sdot"]) out("int8_sdot", "sdot")
		} else if (kind == "float") {
			z = c["vfmadd zmm"] + 0; y = c["vfmadd ymm"] + 0
			if (z && z >= y) out("fma512", "vfmadd zmm")
			else if (y) out("fma256", "vfmadd ymm")
			else if (c["vfmadd xmm"]) out("fma128", "vfmadd xmm")   # no peak measured on x86
			else if (c["fmla"]) out("fma128", "fmla")
		}
		if (!done) print "- 0 none"
	}'
}

# the sequence an ISA TIER is meant to run for FORMAT (when the build shows none)
tier_seq() {
	case $1/$2 in
	avx512-vnni/q*) echo int8_vnni_zmm ;;
	avx-vnni/q*) echo int8_vnni_ymm ;;
	avx2/q8_0) echo int8_avx2_q8 ;;
	avx2/q*) echo int8_avx2_q4 ;;
	neon-dotprod/q*) echo int8_sdot ;;
	avx*) echo fma256 ;;
	neon*) echo fma128 ;;
	*) echo - ;;
	esac
}

kind_of() {
	case $1 in q*) echo int8 ;; bf16) echo bf16 ;; *) echo float ;; esac
}

# the peak a build is measured against: "NAME LABEL" (LABEL: what shows it)
peak_for() {   # BUILD_DIR FORMAT TIER -> "NAME build|tier LABEL..." ("tier": not found in the build)
	set -- "$1" "$2" "$3" $(seq_of "$1" "$(kind_of "$2")")
	if [ "$4" != - ]; then
		echo "$4 build $6${7:+ $7}: $5 in the build"
	else
		echo "$(tier_seq "$3" "$2") tier the build has none (portable code): what the $3 tier should run"
	fi
}

# drop FILE from the page cache (dirty pages are written back first)
evict() {
	sync "$1" 2>/dev/null || true
	dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || true
}

# tok/s of PHASE (prefill | decode) in lfm2-run's timing line in FILE
rate_of() {
	sed -n "s/.*lfm2-run: load .* $1 [0-9]* tokens [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p" "$2" | tail -1
}

# measure PHASE BUILD_DIR THREADS OUT ARGS...: one fresh lfm2-run with cold
# weights; PHASE's tok/s appended to OUT.PHASE, or its error to OUT.err
measure() {
	m_ph=$1 m_bd=$2 m_th=$3 m_out=$4
	shift 4
	evict "$m_bd/weights.bin"
	m_v=
	if "$m_bd/lfm2-run" "$@" --ignore-eos --chunk "$PREFILL" -t "$m_th" $runflag >/dev/null 2>"$tmp/log"; then
		m_v=$(rate_of "$m_ph" "$tmp/log")
		[ -n "$m_v" ] || echo "no timing line in its output" >"$m_out.err"
	else
		tail -1 "$tmp/log" >"$m_out.err"
	fi
	[ -z "$m_v" ] || echo "$m_v" >>"$m_out.$m_ph"
}

# ours BUILD_DIR THREADS OUT: prefill of PREFILL tokens (one chunk), then
# decode of DECODE tokens after a one-token prompt, as `lfm2c variants` times
ours() {
	measure prefill "$1" "$2" "$3" --tokens "$ids" -n 1
	measure decode "$1" "$2" "$3" --tokens 1 -n $((DECODE + 1))
}

# peer GGUF THREADS OUT: one llama-bench run (pp512 and tg128)
peer() {
	if "$llama_bench" -m "$1" -t "$2" -p "$PREFILL" -n "$DECODE" -r 1 -lm "$lm" -o csv >"$tmp/csv" 2>"$tmp/log" &&
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ s = $0; gsub(/^"|"$/, "", s); split(s, f, /","/)
		  if (f[col["n_prompt"]] > 0) pp = f[col["avg_ts"]]; else if (f[col["n_gen"]] > 0) tg = f[col["avg_ts"]]
		  build = f[col["build_number"]] " (" f[col["build_commit"]] ")" }
		END { if (pp == "" || tg == "") exit 1; print pp >> (out ".prefill"); print tg >> (out ".decode")
		      print build > (dir "/llama-build") }' out="$3" dir="$tmp" "$tmp/csv"; then
		:
	else
		tail -1 "$tmp/log" >"$3.err"
	fi
}

# peer_long GGUF THREADS DEPTH OUT: llama-bench ppDEPTH and tgDECODE at depth DEPTH
peer_long() {
	for pl in "-p $3 -n 0" "-p 0 -n $DECODE -d $3"; do
		if "$llama_bench" -m "$1" -t "$2" $pl -r 1 -lm "$lm" -o csv >"$tmp/csv" 2>"$tmp/log"; then
			awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			{ s = $0; gsub(/^"|"$/, "", s); split(s, f, /","/)
			  print f[col["avg_ts"]] >> (out (f[col["n_prompt"]] > 0 ? ".prefill" : ".decode")) }' out="$4" "$tmp/csv"
		else
			tail -1 "$tmp/log" >"$4.err"
		fi
	done
}

# KV cache bytes per position of PRESET's checkpoint DIR (f32): layers with
# attention x 2 x KV heads x head_dim x 4
kv_bytes() {
	tr -d ' \n' <"$1/config.json" | awk '{
		n = gsub(/"full_attention"/, "&")
		h = $0; sub(/.*"hidden_size":/, "", h); h += 0
		a = $0; sub(/.*"num_attention_heads":/, "", a); a += 0
		k = $0; sub(/.*"num_key_value_heads":/, "", k); k += 0
		print (a ? n * 2 * k * (h / a) * 4 : 0) }'
}

# bytes of FORMAT's weights per byte of the bf16 checkpoint
ratio() {
	case $1 in f32) echo 2 ;; f16 | bf16) echo 1 ;; q8_0) echo 0.54 ;; q4_0) echo 0.29 ;; *) echo 0.32 ;; esac
}

# ------------------------------------------------------------ the machine

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}"

# what lfm2c compiles for here: `lfm2c variants` prints the host target
# (triple,LLVM cpu name) and the features its kernels use
probe=$dir/probe-model
[ -f "$probe/model.safetensors" ] || "$lfm2c" synth tiny -o "$probe" --seed 1 >/dev/null
mkdir -p "$dir/sched"
for f in $formats $v3_formats; do
	printf '{"version": 1, "formats": {"default": "%s"}}\n' "$f" >"$dir/sched/$f.json"
done
printf '{"version": 1, "formats": {"default": "f32"}}\n' >"$dir/sched/f32.json"
"$lfm2c" variants "$probe" "$dir/sched/f32.json" -o "$dir/probe" --threads 1 --runs 1 --prefill 1 --decode 1 \
	>"$tmp/probe" 2>&1 || true
target=$(sed -n 's/.*, target \([^ ]*\) (\(.*\))$/\1 \2/p' "$tmp/probe" | head -1)
rm -rf "$dir/probe"
llvm_cpu=$(echo "$target" | awk '{ n = split($1, a, ","); print (n > 1 ? a[2] : "unknown") }')
feats=$(echo "$target" | awk '{ print $2 }')
case ,$feats, in
*,avx512vnni,*) tier=avx512-vnni ;;
*,avxvnni,*) tier=avx-vnni ;;
*,avx2,*) tier=avx2 ;;
*,dotprod,*) tier=neon-dotprod ;;
*,neon,*) tier=neon ;;
*) tier=baseline ;;
esac
echo "LLVM host CPU: $llvm_cpu (lfm2c's target: $(echo "${target:-unknown: $(tail -1 "$tmp/probe")}" | cut -d, -f1))"
echo "ISA tier: $tier (features lfm2c uses: ${feats:-?})"

for t in $threads; do
	bw=$("$dir/membw" "$t" 1024 | awk '{print $3}')
	eval "bw_$t=$bw"
	echo "memory read bandwidth, $t thread(s): $bw GB/s (median of 7)"
	"$dir/peak" "$t" >"$dir/peak-$t"
	echo "arithmetic peaks, $t thread(s) (bench/peak.c, medians of 5; MAC: one byte product):"
	sed 's/^/  /' "$dir/peak-$t"
done

# x86-64-v3 rows: an x86-64 host with AVX2 + FMA (it runs that code)
v3ok=
if [ -n "$v3_formats" ]; then
	first=${threads%% *}
	if [ "$(uname -m)" = x86_64 ] && [ "$(peak_of fma256 "$first")" != - ]; then
		v3ok=1
	else
		echo "x86-64-v3 rows: skipped (this machine is not x86-64 with AVX2)"
	fi
fi

# llama.cpp: llama-bench, llama-quantize, the converter and gguf-py
if [ -n "$llama" ]; then
	llama_bench=
	for b in "$llama/bin" "$llama"; do
		[ -x "$b/llama-bench" ] && { llama_bench=$b/llama-bench; llama_quantize=$b/llama-quantize; break; }
	done
	convert=${LLAMA_CONVERT:-$root/../shared/peer/convert_lfm2.py}
	[ -f "$convert" ] && convert=$(cd "$(dirname "$convert")" && pwd)/$(basename "$convert")
	src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$llama/CMakeCache.txt" 2>/dev/null || true)
	python=${PYTHON:-/usr/bin/python3}
	[ -x "$python" ] || python=python3
	why=
	if [ -z "$llama_bench" ]; then
		why="no llama-bench in $llama/bin"
	elif [ ! -x "$llama_quantize" ]; then
		why="no llama-quantize beside $llama_bench"
	elif [ ! -f "$convert" ]; then
		why="no LFM2 converter at $convert (LLAMA_CONVERT)"
	elif [ ! -d "$src/gguf-py" ]; then
		why="no gguf-py in llama.cpp's source tree '$src' (from $llama/CMakeCache.txt)"
	elif ! "$python" -c 'import numpy' 2>/dev/null; then
		why="$python has no numpy (apt-get install python3-numpy)"
	fi
	if [ -n "$why" ]; then
		echo "llama.cpp: not measured: $why"
		llama=
	else
		echo "llama.cpp: $llama_bench (run interleaved with ours; GGUFs by $convert)"
		export PYTHONPATH="$src/gguf-py${PYTHONPATH:+:$PYTHONPATH}"
	fi
fi
rm -f "$tmp/llama-build"

# ------------------------------------------------------------ tables

header() {
	printf '%-6s %7s %8s %9s %8s %7s %9s %7s %-14s %9s %9s %8s %8s %10s %10s\n' format threads "weights" \
		"decode" "decode" "% of" "prefill" "% of" "peak (prefill" "llama.cpp" "llama.cpp" "ours /" "ours /" \
		"max err" KLD
	printf '%-6s %7s %8s %9s %8s %7s %9s %7s %-14s %9s %9s %8s %8s %10s %10s\n' "" "" "MiB" \
		"tok/s" "GB/s" "bound" "tok/s" "peak" "sequence)" "tg128" "pp512" "llama tg" "llama pp" "vs f32" "vs f32"
}

# row FORMAT THREADS: one line of the native table (from the run files)
row() {
	f=$1 t=$2
	r=$res/native-$f-$t
	if [ -s "$r.err" ] && [ ! -s "$r.decode" ]; then
		printf '%-6s %7s  run failed: %s\n' "$f" "$t" "$(cat "$r.err")"
		return
	fi
	eval "bw=\${bw_$t:-0}"
	eval "pk=\$peak_$f"
	pv=$(peak_of "$pk" "$t")
	lt=- lp=-
	if [ -s "$res/llama-$f-$t.decode" ]; then
		lt=$(median "$res/llama-$f-$t.decode")
		lp=$(median "$res/llama-$f-$t.prefill")
	fi
	eval "blob=\$blob_$f"
	eval "err=\$err_$f"
	eval "kld=\$kld_$f"
	eval "mark=\$mark_$f"
	echo "$f $t $blob $(median "$r.decode") $(median "$r.prefill") $bw $pv $(peak_unit "$pk") $pk$mark $lt $lp $err $kld $macs" |
		awk '{
		gbs = $4 == "-" ? 0 : $4 * $3 / 1e9
		pk = ($7 == "-" || $5 == "-") ? "-" : sprintf("%.0f%%", 100 * $5 * $14 * ($8 == "flop" ? 2 : 1) / ($7 * 1e9))
		rt = ($10 == "-" || $4 == "-") ? "-" : sprintf("%.2f", $4 / $10)
		rp = ($11 == "-" || $5 == "-") ? "-" : sprintf("%.2f", $5 / $11)
		printf "%-6s %7s %8.1f %9s %8.1f %6.0f%% %9s %7s %-14s %9s %9s %8s %8s %10.2e %10.2e\n",
		       $1, $2, $3 / 1048576, $4, gbs, ($6 > 0 ? 100 * gbs / $6 : 0), $5, pk, $9, $10, $11, rt, rp, $12, $13 }'
}

# v3row FORMAT THREADS
v3row() {
	f=$1 t=$2
	r=$res/v3-$f-$t
	if [ -s "$r.err" ] && [ ! -s "$r.decode" ]; then
		printf '%-6s %7s  run failed: %s\n' "$f" "$t" "$(cat "$r.err")"
		return
	fi
	eval "pk=\$v3peak_$f"
	pv=$(peak_of "$pk" "$t")
	nd=-
	[ -s "$res/native-$f-$t.decode" ] && nd=$(median "$res/native-$f-$t.decode")
	eval "blob=\$v3blob_$f"
	eval "mark=\$v3mark_$f"
	echo "$f $t $blob $(median "$r.decode") $nd $(median "$r.prefill") $pv $(peak_unit "$pk") $pk$mark $macs" | awk '{
		pk = ($7 == "-" || $6 == "-") ? "-" : sprintf("%.0f%%", 100 * $6 * $10 * ($8 == "flop" ? 2 : 1) / ($7 * 1e9))
		vn = ($5 == "-" || $4 == "-") ? "-" : sprintf("%.2f", $4 / $5)
		printf "%-6s %7s %8.1f %9s %9s %9s %7s  %s\n", $1, $2, $3 / 1048576, $4, vn, $6, pk, $9 }'
}

for p in $presets; do
	m=$dir/model-$p
	gg=$dir/gguf-$p
	cur=$p
	if [ ! -f "$m/model.safetensors" ]; then
		rm -rf "$gg"   # made from the checkpoint this replaces
		"$lfm2c" synth "$p" -o "$m" --dtype bf16 --seed 1 >/dev/null
	fi
	# multiply-adds per prefill token: the parameters outside the embedding
	"$lfm2c" synth "$p" -o "$dir/dry" --dry-run >"$tmp/dry" 2>&1
	macs=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { printf "%.0f", v["params"] - v["vocab"] * v["hidden"] }' "$tmp/dry")
	vocab=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "vocab") print kv[2] } }' "$tmp/dry" | head -1)
	# the prompt of the prefill runs: ids 1..512, wrapped to the vocabulary
	ids=$(awk -v n="$PREFILL" -v v="$vocab" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", 1 + i % (v - 1) }')
	echo
	echo "== $p: $(awk -v o="$macs" 'BEGIN {printf "%.3f", o / 1e9}') G multiply-adds per prefill token"
	if [ -n "$backends" ]; then
		echo
		echo "== $p: compile, f32 weights (--no-cache; wall time, peak RSS of lfm2c and the C compiler it runs)"
		printf '%-8s %12s %14s\n' backend "compile s" "peak RSS MiB"
		for b in $backends; do
			/usr/bin/time -f "%e %M" -o "$dir/time-$p-$b" \
				"$lfm2c" compile "$m" -o "$dir/out-$p-$b" --backend "$b" --no-cache 2>/dev/null
			awk -v b="$b" '{printf "%-8s %12.1f %14.0f\n", b, $1, $2 / 1024}' "$dir/time-$p-$b"
			rm -rf "$dir/out-$p-$b" "$dir/.out-$p-$b.lfm2c-lock"
		done
	fi

	# llama.cpp's formats: those of LLAMA_FORMATS that are also in FORMATS
	lf=
	if [ -n "$llama" ]; then
		for f in $formats; do
			case " $llama_formats " in *" $f "*) lf="$lf $f" ;; esac
		done
	fi
	v3f=
	[ -n "$v3ok" ] && v3f=$v3_formats
	# room for every build at once, the f32 reference, the v3 builds and the
	# GGUFs not made yet (bytes per bf16 checkpoint byte), + 10 %
	ggneed=
	for f in $lf; do
		[ -f "$gg/$f.gguf" ] || ggneed="$ggneed $f"
	done
	case "$ggneed" in *q*) [ -f "$gg/f32.gguf" ] || ggneed="$ggneed f32" ;; esac
	need=$(for f in $formats f32 $v3f $ggneed; do ratio "$f"; done | awk -v b="$(du -Lb "$m/model.safetensors" | cut -f1)" '
		{ t += $1 * b } END { printf "%.0f", t * 1.1 }')
	have=$(df -B1 --output=avail "$dir" | tail -1)
	if [ "$have" -lt "$need" ]; then
		echo
		echo "== $p: skipped: its builds and GGUFs need $((need / 1000000000 + 1)) GB free in $dir, there are $((have / 1000000000))"
		continue
	fi

	# 1. our builds for this machine, checked against the f32 build
	out=$dir/variants-$p
	scheds=
	for f in $formats; do
		scheds="$scheds $dir/sched/$f.json"
	done
	"$lfm2c" variants "$m" $scheds -o "$out" --threads "${threads%% *}" --runs 1 --prefill 1 --decode 1 \
		--keep-going --keep-builds >"$out.table" 2>"$out.log" || true
	if [ ! -f "$out/variants.csv" ]; then
		echo "variants failed:"
		tail -3 "$out.log"
		rm -rf "$out/builds"
		continue
	fi
	rm -rf "$out/builds/f32-reference"
	built=
	echo
	echo "== $p: builds for this machine ($(sed -n 's/.*, target \(.*\)$/\1/p' "$out.table" | head -1))"
	while IFS=, read -r name sched thr dec pre load blob code art comp cached err kld top1 rest; do
		[ "$name" = variant ] && continue
		bd=$(ls -d "$out/builds/"v*-"$name" 2>/dev/null | head -1)
		if [ -z "$dec" ] || [ -z "$bd" ]; then
			why=$(printf '%s' "$rest" | sed 's/^"//; s/"$//; s/""/"/g')
			printf '%-6s skipped: %s\n' "$name" "${why:-no build}"
			continue
		fi
		built="$built $name"
		eval "dir_$name=\$bd blob_$name=\$blob err_$name=\$err kld_$name=\$kld"
		set -- $(peak_for "$bd" "$name" "$tier")
		mk=
		[ "$2" = tier ] && mk="?"
		eval "peak_$name=\$1 mark_$name=\$mk"
		shift 2
		printf '%-6s prefill %% of peak against %-14s (%s)\n' "$name" "$(eval "echo \$peak_$name")" "$*"
	done <"$out/variants.csv"

	# 2. the x86-64-v3 builds
	v3built=
	for f in $v3f; do
		vd=$dir/v3-$p-$f
		if "$lfm2c" compile "$m" -o "$vd" --target x86_64-linux-gnu --cpu x86-64-v3 --schedule "$dir/sched/$f.json" \
			--no-cache >"$tmp/log" 2>&1; then
			v3built="$v3built $f"
			eval "v3blob_$f=$(wc -c <"$vd/weights.bin")"
			# what the AVX2 tier runs: the int8 forms of the format, 256-bit FMA
			set -- $(seq_of "$vd" "$(kind_of "$f")")
			pk=$(tier_seq avx2 "$f")
			mk=
			if [ "$1" != "$pk" ]; then
				mk="?"
				[ "$1" = - ] && note="the build has no such instruction (portable code)" ||
					note="the build runs $1 ($3 ${4:-})"
			else
				note="$3${4:+ $4}: $2 in the build"
			fi
			eval "v3peak_$f=\$pk v3mark_$f=\$mk"
			printf '%-6s x86-64-v3 build: prefill %% of peak against %-14s (%s)\n' "$f" "$pk" "$note"
		else
			echo "$f x86-64-v3 build: skipped: $(tail -1 "$tmp/log")"
			rm -rf "$vd"
		fi
	done

	# 3. llama.cpp's GGUFs
	lbuilt=
	if [ -n "$lf" ]; then
		mkdir -p "$gg"
		for f in $ggneed; do   # f32 first when a quantized format needs it
			[ "$f" = f32 ] || continue
			"$python" "$convert" "$m" --outfile "$gg/f32.gguf.tmp" --outtype f32 >"$tmp/conv.log" 2>&1 &&
				mv "$gg/f32.gguf.tmp" "$gg/f32.gguf" || echo "llama.cpp f32: conversion failed: $(tail -1 "$tmp/conv.log")"
		done
		for f in $lf; do
			if [ ! -f "$gg/$f.gguf" ]; then
				case $f in
				f32 | f16 | bf16)
					"$python" "$convert" "$m" --outfile "$gg/$f.gguf.tmp" --outtype "$f" >"$tmp/conv.log" 2>&1 &&
						mv "$gg/$f.gguf.tmp" "$gg/$f.gguf" || echo "llama.cpp $f: conversion failed: $(tail -1 "$tmp/conv.log")" ;;
				*)
					[ -f "$gg/f32.gguf" ] && "$llama_quantize" --pure "$gg/f32.gguf" "$gg/$f.gguf.tmp" "$f" \
						>"$tmp/conv.log" 2>&1 && mv "$gg/$f.gguf.tmp" "$gg/$f.gguf" ||
						echo "llama.cpp $f: llama-quantize failed: $(tail -1 "$tmp/conv.log")" ;;
				esac
			fi
			[ -f "$gg/$f.gguf" ] && lbuilt="$lbuilt $f"
		done
		rm -f "$gg"/*.tmp
		# the f32 GGUF was only the quantizer's input
		case " $lf " in *" f32 "*) ;; *) rm -f "$gg/f32.gguf" ;; esac
	fi

	# 4. the runs, interleaved
	modes=read
	[ "$mmap" = 1 ] && modes="read mmap"
	for mode in $modes; do
		runflag=--no-mmap lm=none
		[ "$mode" = mmap ] && runflag=--mmap lm=mmap
		res=$dir/runs-$p-$mode
		rm -rf "$res"
		mkdir -p "$res"
		i=1
		while [ "$i" -le "$runs" ]; do
			echo "bench: $p, weights $mode: run $i of $runs" >&2
			for t in $threads; do
				for f in $built $v3built; do
					case " $built " in *" $f "*)
						[ -e "$res/native-$f-$t.err" ] || ours "$(eval "echo \$dir_$f")" "$t" "$res/native-$f-$t" ;;
					esac
					case " $lbuilt " in *" $f "*)
						[ -e "$res/llama-$f-$t.err" ] || peer "$gg/$f.gguf" "$t" "$res/llama-$f-$t" ;;
					esac
					case " $v3built " in *" $f "*)
						[ -e "$res/v3-$f-$t.err" ] || ours "$dir/v3-$p-$f" "$t" "$res/v3-$f-$t" ;;
					esac
				done
			done
			i=$((i + 1))
		done
		# the bandwidth again: on a shared machine it moves with the neighbours'
		# load (seen here: 25 to 52 GB/s within minutes); the bound is the
		# higher of the two measurements
		echo
		for t in $threads; do
			bw=$("$dir/membw" "$t" 1024 | awk '{print $3}')
			eval "before=\$bw_$t"
			echo "memory read bandwidth, $t thread(s), after the runs: $bw GB/s (before: $before)"
			eval "bw_$t=$(echo "$bw $before" | awk '{print ($1 > $2 ? $1 : $2)}')"
		done
		echo
		lb=
		[ -f "$tmp/llama-build" ] && lb=", llama.cpp build $(cat "$tmp/llama-build")"
		echo "== $p: weight formats, $runs run(s) each (medians), weights $mode, all interleaved$lb"
		header
		for f in $built; do
			for t in $threads; do
				row "$f" "$t"
			done
		done
		[ -n "$llama" ] || echo "(llama.cpp columns: set LLAMA_CPP=DIR, a llama.cpp build directory)"
		for f in $built; do
			for t in $threads; do
				[ -s "$res/llama-$f-$t.err" ] && echo "llama.cpp $f, $t thread(s): failed: $(cat "$res/llama-$f-$t.err")"
			done
		done
		if [ -n "$v3built" ]; then
			echo
			echo "== $p: compiled --target x86_64-linux-gnu --cpu x86-64-v3 (AVX2 + FMA, no VNNI), run here, weights $mode"
			printf '%-6s %7s %8s %9s %9s %9s %7s  %s\n' format threads "weights" "decode" "decode /" "prefill" "% of" \
				"peak (prefill sequence)"
			printf '%-6s %7s %8s %9s %9s %9s %7s\n' "" "" "MiB" "tok/s" "native" "tok/s" "peak"
			for f in $v3built; do
				for t in $threads; do
					v3row "$f" "$t"
				done
			done
		fi
		echo "(\"?\": the build does not run that sequence; full variants table: $out.table; runs: $res/)"
	done

	# 5. long prompts
	lt=${threads##* }
	runflag=--no-mmap lm=none
	kvb=$(kv_bytes "$m")
	for f in $long_formats; do
		case " $built " in *" $f "*) ;; *) continue ;; esac
		eval "bd=\$dir_$f blob=\$blob_$f"
		res=$dir/long-$p-$f
		rm -rf "$res"
		mkdir -p "$res"
		i=1
		while [ "$i" -le "$long_runs" ]; do
			for d in $long_depths; do
				echo "bench: $p, $f, $d-token prompt: run $i of $long_runs" >&2
				lids=$(awk -v n="$d" -v v="$vocab" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", 1 + i % (v - 1) }')
				evict "$bd/weights.bin"
				if "$bd/lfm2-run" --tokens "$lids" -n "$((DECODE + 1))" --ignore-eos --chunk 512 -c "$((d + DECODE + 16))" \
					-t "$lt" $runflag >/dev/null 2>"$tmp/log"; then
					rate_of prefill "$tmp/log" >>"$res/ours-$d.prefill"
					rate_of decode "$tmp/log" >>"$res/ours-$d.decode"
				else
					tail -1 "$tmp/log" >"$res/ours-$d.err"
				fi
				case " $lbuilt " in *" $f "*) peer_long "$gg/$f.gguf" "$lt" "$d" "$res/llama-$d" ;; esac
			done
			i=$((i + 1))
		done
		eval "bw=\${bw_$lt:-0}"
		echo
		echo "== $p: long prompts, $f, $lt thread(s), chunks of 512, KV cache f32 ($kvb bytes a position), $long_runs run(s) (medians), interleaved"
		printf '%7s %9s %9s %8s %9s %8s %7s %9s %8s\n' depth prefill "llama.cpp" "ours /" "decode" "decode" "% of" "llama.cpp" "ours /"
		printf '%7s %9s %9s %8s %9s %8s %7s %9s %8s\n' tokens "tok/s" "pp" llama "tok/s" "GB/s" bound "tg" llama
		for d in $long_depths; do
			[ -s "$res/ours-$d.err" ] && { echo "$d: run failed: $(cat "$res/ours-$d.err")"; continue; }
			echo "$d $(median "$res/ours-$d.prefill") $(median "$res/llama-$d.prefill") $(median "$res/ours-$d.decode") $(median "$res/llama-$d.decode") $blob $kvb $bw" |
				awk '{ bytes = $6 + $1 * $7; gbs = $4 == "-" ? 0 : $4 * bytes / 1e9
				rp = ($3 == "-" || $2 == "-") ? "-" : sprintf("%.2f", $2 / $3)
				rt = ($5 == "-" || $4 == "-") ? "-" : sprintf("%.2f", $4 / $5)
				printf "%7s %9s %9s %8s %9s %8.1f %6.0f%% %9s %8s\n", $1, $2, $3, rp, $4, gbs, ($8 > 0 ? 100 * gbs / $8 : 0), $5, rt }'
			[ -s "$res/llama-$d.err" ] && echo "llama.cpp at $d: failed: $(cat "$res/llama-$d.err")"
		done
	done
	drop_builds
done

# ---- bench/mca.sh: a static estimate of the aarch64 hot loops (cortex-a76,
# cortex-a53) with llvm-mca-19 — mca.sh says how.  MCA=0 skips it; its
# failure is reported, not fatal.
if [ "${MCA:-1}" != 0 ]; then
	echo
	BUILD_DIR="$build" BENCH_DIR="$dir" LFM2C="$lfm2c" sh "$root/bench/mca.sh" ||
		echo "bench/mca.sh failed (exit $?)"
fi
