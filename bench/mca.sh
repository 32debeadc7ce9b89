#!/bin/sh
# mca.sh — `make bench`, last part: how fast would the aarch64 code lfm2c
# generates run on a Cortex-A76 and a Cortex-A53?  A static estimate of
# each hot loop with llvm-mca-19, on this machine (no ARM board, no qemu).
#
# Why a static estimate.  We have no ARM machine to time on, and qemu
# runs the code but says nothing about its speed.  What we can do is ask
# LLVM's own model of each core.  llvm-mca takes a straight-line sequence
# of instructions, assumes it repeats (a loop body: every load hits L1, no
# branch mispredicts), and simulates the core's dispatch, pipes and
# register dependencies cycle by cycle.  For the inner loop of a matmul —
# where prefill spends its time — that is most of the story: whether the
# multiply pipes are kept busy, or the loads, the block-scale arithmetic,
# the register spills or the dependency chains get in the way.  So a
# schedule change on ARM (a tile, an unroll, a new kernel) is judged by a
# number instead of by nothing.  Memory bandwidth, which bounds decode, is
# out of its sight: for the decode loop it says how fast the core could
# consume the weights it is given (bytes/cycle), not how fast they come.
#
# The steps, for each CPU of MCA_CPUS (default "cortex-a76 cortex-a53") and
# each weight format of MCA_FORMATS (default "f32 f16 bf16 q8_0 q4_0"):
#
#  1. Compile the 350M shape (`lfm2c synth 350m --dtype bf16 --seed 1`,
#     bench.sh's checkpoint when it is there) for aarch64-linux-gnu and the
#     CPU with `--emit asm`: the very code `compile` would put in model.o
#     (the LLVM backend, default<O3>, the target machine of that CPU),
#     printed as assembly.  Two compiles run at once (MCA_JOBS).
#
#  2. Find the loops.  A branch to a label earlier in the same function is
#     a loop's back edge: the loop is the text from the label to its last
#     back branch.  The innermost loops are those containing no other.  No
#     instruction names are needed for that — only what a branch looks
#     like — so new kernels (the sdot-free smull/sadalp path of the A53,
#     say) are found the same way.
#
#  3. Weigh each innermost loop: its multiplies.  Every vector or FP
#     instruction whose mnemonic says it multiplies (mul, mla, mls, dot,
#     madd, msub, mmla: fmla, sdot, smull2, smlal, bfdot, ...) counts the
#     products it forms: one per destination lane; a dot product sums
#     wider/narrower products into each lane (sdot .4s from .16b: 16); a
#     matrix multiply (smmla) twice that.  Products on integer registers
#     are the int8 dot's (however it is spelt: sdot, or widened to 16 bits
#     and multiplied there); those on FP registers the float FMAs.  The
#     work of a loop is its integer products for the block formats (q8_0,
#     q4_0: the f32 scale arithmetic beside them is overhead, not work)
#     and its float products for the float formats (f16 and bf16 weights
#     are widened and multiplied in f32).  Scalar multiplies on x/w
#     registers are address arithmetic and do not count.
#
#  4. Pick the two loops that matter in one representative matmul: the
#     task function (`*matmul*_task`) of the largest N x K that is not the
#     vocabulary's LM head — the FFN's fused gate/up matmul; MCA_FUNC (an
#     awk regex) names another.  Which of its loops is which is read off
#     how the multiplies share their operands: in an MR x NR register tile
#     each loaded weight value feeds MR multiplies and each activation
#     value NR (values are tracked through register writes: a copy or a
#     spill and its reload keep the value; a lane of an indexed operand
#     counts as its own value).  Per multiply, u_lo and
#     u_hi are the smaller and larger of its two operands' use counts.
#       prefill: the loop with the largest mean u_lo x u_hi — the biggest
#                register tile (ties: more products per iteration);
#       decode:  among the loops with the smallest mean u_lo — one
#                activation row: each weight used once (twice when a
#                widening multiply takes the low and the high half) — the
#                one that prefetches (the GEMV streaming the weights),
#                else the one with the most products per iteration (the
#                main loop, not a remainder).
#     MCA_ALL=1 lists every multiply loop of the function with these
#     numbers, so the choice can be checked.
#
#  5. Cut each loop's body out (its instructions, without labels and
#     directives) and run `llvm-mca-19 -mtriple=aarch64 -mcpu=MODEL
#     -iterations=100`: cycles per iteration = Total Cycles / 100 (the
#     simulation, dependencies and in-order stalls included; "rthru" is
#     the Block RThroughput, the bound of the busiest pipe alone, and
#     "busiest" names that pipe).  MACs/cycle = products per iteration /
#     cycles per iteration; "% peak" compares it with the core's peak.
#
# The peaks come from the same model, measured the same way: llvm-mca's
# Block RThroughput of 12 independent instructions (so latency does not
# count, only the pipes), for int8 `sdot vA.4s, vB.16b, vC.16b` (16
# products) where the core has it, else the cheapest sdot-free sequence:
# smull .8h + smlal2 .8h + sadalp .4s per 16 products (two int8 products
# summed in an i16 cannot overflow: the codes are within [-127, 127]); for
# f32 `fmla .4s` (4 products).  Taking the peak from the model the loop is
# measured with makes "% peak" the fraction of the model's multiply
# throughput the loop reaches, whatever that model's flaws.  What the
# models say, and what Arm documents:
#
#   cortex-a76  Arm Cortex-A76 Software Optimization Guide (PJDOC-466751330-
#               7215): two 128-bit ASIMD pipes V0/V1; SDOT and FMLA (Q form)
#               issue on both, 2 per cycle: 32 int8 products/cycle (64 int8
#               operations), 8 f32 FMA/cycle; multiply-long (SMULL) on V0
#               only.  LLVM 19 does
#               not schedule -mcpu=cortex-a76 with an A76 model: it uses its
#               Cortex-A57 model (llvm-mca -resource-pressure lists
#               A57Unit*), where a Q-form FMLA takes 2 cycles of one of two
#               FP pipes (4 FMA/cycle).  The Neoverse N1 is the A76's core
#               in server form, and LLVM 19 has a model of it
#               (AArch64SchedNeoverseN1.td) that agrees with the guide: 2
#               SDOT and 2 FMLA per cycle, SMULL 1.  So the A76 code (compiled
#               for cortex-a76) is simulated with -mcpu=neoverse-n1;
#               MCA_MODEL_cortex_a76=cortex-a76 asks for LLVM's own pick.
#   cortex-a53  in order, dual issue; no SDOT (Armv8.0).  Arm publishes no
#               optimization guide for it; LLVM's model
#               (AArch64SchedA53.td, whose comments cite Arm's "Cortex-A53 Software
#               Optimisation Specification - Instruction Timings", not
#               public) has one FP/ASIMD ALU pipe and one FP multiply pipe: FMLA (any width) 1 per
#               cycle on the multiply pipe: 4 f32 FMA/cycle; SMULL, SMLAL2,
#               SADALP 1 per cycle each on the ALU pipe: 16 int8 products
#               per 3 cycles, 5.3/cycle.  Some descriptions of the A53 (and
#               later LLVM models) run 128-bit ASIMD operations as two
#               64-bit halves; llvm-mca-19 does not.  The "% peak" of the
#               A53 rows is relative to the model either way.
#
# Limits: one loop at a time, L1-resident, no prefetch or cache-miss
# effects, no branch costs, and an in-order core's stalls only as far as
# the model knows them.  The numbers are for comparing schedules and
# kernels with each other, not predictions of tokens per second.
#
# Environment: BUILD_DIR (default build), BENCH_DIR (default
# BUILD_DIR/bench; this writes BENCH_DIR/mca/), LFM2C, MCA_CPUS,
# MCA_FORMATS, MCA_FUNC, MCA_ALL, MCA_JOBS, MCA_ITERATIONS (default 100),
# MCA_SCHEDULE (a schedule file for every compile: compare tiles by model),
# MCA_REUSE=1 (analyse the assembly of the previous run again, no
# compiles), LLVM_MCA (the llvm-mca of LLVM 19).  Called by bench.sh (MCA=0 skips
# it); runs alone too: `sh bench/mca.sh`.  About two minutes on two cores:
# ten compiles (writing each format's weights, then deleting them) and
# twenty llvm-mca runs of a second or less.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bench=${BENCH_DIR:-$build/bench}
dir=$bench/mca
lfm2c=${LFM2C:-$build/driver/lfm2c}
cpus=${MCA_CPUS:-cortex-a76 cortex-a53}
formats=${MCA_FORMATS:-f32 f16 bf16 q8_0 q4_0}
jobs=${MCA_JOBS:-2}
iters=${MCA_ITERATIONS:-100}
preset=350m

mca=${LLVM_MCA:-}
if [ -z "$mca" ]; then
	for c in llvm-mca-19 /usr/lib/llvm-19/bin/llvm-mca; do
		if command -v "$c" >/dev/null 2>&1; then mca=$(command -v "$c"); break; fi
	done
fi
if [ -z "$mca" ] || ! "$mca" --version >/dev/null 2>&1; then
	echo "mca: skipped: no llvm-mca-19 (Debian: apt-get install llvm-19)"
	exit 0
fi
if [ ! -x "$lfm2c" ]; then
	echo "mca: skipped: no lfm2c at $lfm2c (BUILD_DIR, LFM2C)"
	exit 0
fi
mkdir -p "$dir"
export XDG_CACHE_HOME="$dir/cache"   # --no-cache below; never the user's cache anyway
start=$(date +%s)

# the scheduling model llvm-mca simulates CPU with (see the header)
model_of() {
	eval "m=\${MCA_MODEL_$(echo "$1" | tr -c 'A-Za-z0-9\n' _):-}"
	if [ -n "$m" ]; then echo "$m"; return; fi
	case $1 in
	cortex-a76) echo neoverse-n1 ;;
	*) echo "$1" ;;
	esac
}

# run_mca MODEL FILE: "cycles/iteration rthroughput busiest-unit", or "fail" with
# llvm-mca's first error in $dir/mca.err
run_mca() {
	if ! "$mca" -mtriple=aarch64 -mcpu="$1" -iterations="$iters" -resource-pressure "$2" \
		>"$2.mca" 2>"$dir/mca.err"; then
		echo fail
		return
	fi
	awk -v it="$iters" '
		/^Total Cycles:/ { cyc = $3 / it }
		/^Block RThroughput:/ { rt = $3 }
		/^Resources:/ { inres = 1; next }
		inres && /^\[/ { id = $1; sub(/^.*- /, ""); name[id] = $0; next }
		inres && /^$/ { inres = 0 }
		/^Resource pressure per iteration:/ { getline hdr; getline val
			nh = split(hdr, h); split(val, v)
			for (i = 1; i <= nh; i++) if (v[i] != "-" && v[i] + 0 > best) { best = v[i] + 0; bu = name[h[i]] } }
		END { printf "%.2f %s %s\n", cyc, rt, bu == "" ? "-" : bu }' "$2.mca"
}

# peak_of MODEL CLASS: "products-per-cycle what": a stream of 12 independent
# instructions, its products over llvm-mca's Block RThroughput
peak_of() {
	f=$dir/peak-$1-$2.s
	: >"$f"
	i=0
	case $2 in
	f32)
		while [ $i -lt 12 ]; do echo "fmla v$((i + 8)).4s, v0.4s, v1.4s"; i=$((i + 1)); done >"$f"
		total=48; what="fmla .4s" ;;
	int)
		while [ $i -lt 12 ]; do echo "sdot v$((i + 8)).4s, v0.16b, v1.16b"; i=$((i + 1)); done >"$f"
		total=192; what=sdot
		if ! "$mca" -mtriple=aarch64 -mcpu="$1" "$f" >/dev/null 2>&1; then   # no sdot on this core
			i=0
			while [ $i -lt 4 ]; do
				echo "smull v$((i + 20)).8h, v0.8b, v1.8b"
				echo "smlal2 v$((i + 20)).8h, v0.16b, v1.16b"
				echo "sadalp v$((i + 8)).4s, v$((i + 20)).8h"
				i=$((i + 1))
			done >"$f"
			total=64; what="smull+smlal2+sadalp"
		fi ;;
	esac
	"$mca" -mtriple=aarch64 -mcpu="$1" -iterations="$iters" "$f" 2>/dev/null |
		awk -v t="$total" -v w="$what" '/^Block RThroughput:/ { printf "%.3g %s\n", t / $3, w }'
}

# ------------------------------------------------------------ the checkpoint
model=$bench/model-$preset
if [ ! -f "$model/model.safetensors" ]; then
	model=$dir/model-$preset
	[ -f "$model/model.safetensors" ] || "$lfm2c" synth "$preset" -o "$model" --dtype bf16 --seed 1 >/dev/null
fi
vocab=$(sed -n 's/.*"vocab_size"[^0-9]*\([0-9][0-9]*\).*/\1/p' "$model/config.json" | head -1)

# ------------------------------------------------------------ 1. compiles
n=0
for cpu in $cpus; do
	for f in $formats; do
		[ "${MCA_REUSE:-0}" = 1 ] && [ -f "$dir/$cpu-$f.s" ] && continue
		(
			out=$dir/out-$cpu-$f
			rm -f "$dir/$cpu-$f.s" "$dir/$cpu-$f.err"
			set -- --target aarch64-linux-gnu --cpu "$cpu" -q "$f" --emit asm --no-cache
			[ -z "${MCA_SCHEDULE:-}" ] || set -- "$@" --schedule "$MCA_SCHEDULE"
			if "$lfm2c" compile "$model" -o "$out" "$@" >/dev/null 2>"$dir/$cpu-$f.err"; then
				mv "$out/model.s" "$dir/$cpu-$f.s"
				rm -f "$dir/$cpu-$f.err"
			fi
			rm -rf "$out" "$dir/.out-$cpu-$f.lfm2c-lock"
		) &
		n=$((n + 1))
		if [ "$n" -ge "$jobs" ]; then wait; n=0; fi
	done
done
wait

# ------------------------------------------------------------ 2-4. the loops
# loops.awk FILE: one line per innermost loop with multiplies:
#   func first-line last-line insns int-products fp-products loaded-bytes
#        mean-u_lo(int) mean-u_lo*u_hi(int) mean-u_lo(fp) mean-u_lo*u_hi(fp) prefetches
cat >"$dir/loops.awk" <<'EOF'
# operands: split at the commas outside [] and {}
function split_ops(s, ops,    n, i, c, d, cur) {
	n = 0; d = 0; cur = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "[" || c == "{") d++
		else if (c == "]" || c == "}") d--
		if (c == "," && d == 0) { ops[++n] = cur; cur = ""; continue }
		cur = cur c
	}
	if (cur != "") ops[++n] = cur
	for (i = 1; i <= n; i++) gsub(/^[ \t]+|[ \t]+$/, "", ops[i])
	return n
}
function bits(l) { return l == "b" ? 8 : l == "h" ? 16 : l == "s" ? 32 : l == "d" ? 64 : l == "q" ? 128 : 0 }
# the vector register an operand names (v3.4s, q3, d3, s3, v3.s[1] -> v3), or ""
function vreg(o) {
	if (match(o, /^v[0-9]+/)) return substr(o, 1, RLENGTH)
	if (match(o, /^[bhsdq][0-9]+$/)) return "v" substr(o, 2)
	return ""
}
# products formed by one instruction: 0 unless a vector/FP multiply
function products(m, n, ops,    d, a, lanes, db, sb) {
	if (m !~ /(mul|mla|mls|dot|madd|msub|mmla)/ || m ~ /^(pmul|umulh|smulh)/) return 0
	d = ops[1]
	if (d ~ /^v[0-9]+\.[0-9]+[bhsd]$/) {
		a = substr(d, index(d, ".") + 1)
		lanes = substr(a, 1, length(a) - 1) + 0; db = bits(substr(a, length(a)))
	} else if (d ~ /^[bhsd][0-9]+$/) { lanes = 1; db = bits(substr(d, 1, 1)) }
	else return 0                         # x/w registers: address arithmetic
	sb = db
	if (n >= 2 && match(ops[2], /\.[0-9]*[bhsd]/)) sb = bits(substr(ops[2], RSTART + RLENGTH - 1, 1))
	if (m ~ /mmla$/) return lanes * db / sb * 2
	if (m ~ /dot$/) return lanes * db / sb
	return lanes
}
# bytes a SIMD/FP load brings in, not counting the stack frame (spills)
function loaded(m, n, ops,    i, mem, r, k, cnt, e, lanes) {
	if (m !~ /^ld/) return 0
	mem = ""
	for (i = 2; i <= n; i++) if (substr(ops[i], 1, 1) == "[") { mem = ops[i]; break }
	if (mem ~ /^\[sp[],]/) return 0
	if (ops[1] ~ /^[bhsdq][0-9]+$/) return bits(substr(ops[1], 1, 1)) / 8 * (m ~ /^ldn?p$/ ? 2 : 1)
	if (m ~ /^ld[1-4]/ && substr(ops[1], 1, 1) == "{") {
		r = ops[1]; cnt = split(substr(r, 2, index(r, "}") - 2), k, ",")
		if (!match(r, /\.[0-9]*[bhsd]/)) return 0
		e = bits(substr(r, RSTART + RLENGTH - 1, 1)) / 8
		lanes = substr(r, RSTART + 1, RLENGTH - 2) + 0
		if (m ~ /r$/ || r ~ /\}\[/ || lanes == 0) return cnt * e
		return cnt * lanes * e
	}
	return 0
}
# the vector registers an instruction writes, space-separated
function writes(m, n, ops,    w, r, k, c, i) {
	if (m ~ /^(st[a-z0-9]*|b|b\..*|cbn?z|tbn?z|cmp|cmn|tst|fcmpe?|fccmpe?|ccmp|ccmn|prfm|ret)$/) return ""
	if (substr(ops[1], 1, 1) == "{") {
		r = ops[1]; c = split(substr(r, 2, index(r, "}") - 2), k, ",")
		w = ""
		for (i = 1; i <= c; i++) { gsub(/[ \t]/, "", k[i]); w = w " " vreg(k[i]) }
		return w
	}
	w = vreg(ops[1])
	if (m ~ /^ldn?p$/) w = w " " vreg(ops[2])
	return w
}
# the offset of a stack slot operand ([sp] or [sp, #N]), or ""
function slotof(mem,    o) {
	if (mem !~ /^\[sp(, #-?[0-9]+)?\]$/) return ""
	o = mem; gsub(/[^0-9-]/, "", o)
	return o == "" ? 0 : o + 0
}
function is_branch(m) { return m == "b" || m ~ /^b\./ || m == "cbz" || m == "cbnz" || m == "tbz" || m == "tbnz" }
/^[A-Za-z_][A-Za-z0-9_.$]*:/ { fn = substr($0, 1, index($0, ":") - 1); next }
/^\.L[A-Za-z0-9_.$]*:/ { l = $1; sub(/:.*/, "", l); lab[l] = NR; lfn[l] = fn; next }
/^\t[a-z]/ {
	s = $0; sub(/\/\/.*/, "", s); sub(/^\t/, "", s)
	m = s; sub(/[ \t].*/, "", m); rest = substr(s, length(m) + 1)
	delete ops; n = split_ops(rest, ops)
	ins[NR] = 1
	p = products(m, n, ops)
	if (p > 0) {
		cls[NR] = m ~ /^(f|bf)/ ? "f" : "i"; prod[NR] = p
		# the two multiplied operands: value = register (+ lane of an indexed operand)
		src1[NR] = vreg(ops[2]); src2[NR] = vreg(ops[3])
		if (match(ops[3], /\[[0-9]+\]$/)) src2[NR] = src2[NR] substr(ops[3], RSTART)
	}
	lb[NR] = loaded(m, n, ops)
	# what the line does to register values: c(opy) D S, s(pill) R SLOT.., l(oad spilled) R SLOT.., w(rite) R..
	if (m == "mov" && ops[1] ~ /^v[0-9]+\.(16|8)b$/ && ops[2] ~ /^v[0-9]+\.(16|8)b$/)
		act[NR] = "c " vreg(ops[1]) " " vreg(ops[2])
	else if (m ~ /^(str|stur|stp|ldr|ldur|ldp)$/ && ops[1] ~ /^[qds][0-9]+$/ && (o = slotof(ops[n])) != "") {
		act[NR] = (m ~ /^st/ ? "s " : "l ") vreg(ops[1]) " " o
		if (m ~ /p$/) act[NR] = act[NR] " " vreg(ops[2]) " " (o + bits(substr(ops[1], 1, 1)) / 8)
	} else act[NR] = "w " writes(m, n, ops)
	if (m == "prfm") pf[NR] = 1
	if (is_branch(m) && (ops[n] in lab) && lfn[ops[n]] == fn) {
		h = lab[ops[n]]
		if (!(h in hend) || hend[h] < NR) hend[h] = NR
		hfn[h] = fn
	}
}
# the value register operand o holds (+ the lane of an indexed operand):
# values are numbered as they are written in the loop; a copy (mov) or a
# spill and its reload keep the value; "in:vN" is the value at loop entry
function val(o,    r, lane) {
	r = o; lane = ""
	if (match(o, /\[.*/)) { r = substr(o, 1, RSTART - 1); lane = substr(o, RSTART) }
	if (!(r in cur)) cur[r] = "in:" r
	return cur[r] lane
}
END {
	for (h in hend) {
		inner = 1
		for (g in hend) if (g != h && g + 0 >= h + 0 && hend[g] <= hend[h]) inner = 0
		if (!inner) continue
		ni = 0; ip = 0; fp = 0; b = 0; np = 0
		delete cur; delete slot; delete uses; delete id1; delete id2
		for (i = h + 1; i <= hend[h]; i++) {
			if (!(i in ins)) continue
			ni++; b += lb[i]; np += (i in pf)
			if (i in prod) {
				if (cls[i] == "i") ip += prod[i]; else fp += prod[i]
				id1[i] = val(src1[i]); id2[i] = val(src2[i])
				uses[id1[i]]++; uses[id2[i]]++
			}
			c = split(act[i], a, " ")
			if (a[1] == "c") cur[a[2]] = val(a[3])
			else if (a[1] == "s") { for (k = 2; k < c; k += 2) slot[a[k + 1]] = val(a[k]) }
			else if (a[1] == "l") { for (k = 2; k < c; k += 2) cur[a[k]] = (a[k + 1] in slot) ? slot[a[k + 1]] : "v" (++nv) }
			else for (k = 2; k <= c; k++) cur[a[k]] = "v" (++nv)
		}
		if (ip + fp == 0) continue
		sl["i"] = sp["i"] = sn["i"] = sl["f"] = sp["f"] = sn["f"] = 0
		for (i in id1) {
			u1 = uses[id1[i]]; u2 = uses[id2[i]]
			sl[cls[i]] += u1 < u2 ? u1 : u2; sp[cls[i]] += u1 * u2; sn[cls[i]]++
		}
		printf "%s %d %d %d %d %d %d %.3f %.3f %.3f %.3f %d\n", hfn[h], h, hend[h], ni, ip, fp, b,
			sn["i"] ? sl["i"] / sn["i"] : 0, sn["i"] ? sp["i"] / sn["i"] : 0,
			sn["f"] ? sl["f"] / sn["f"] : 0, sn["f"] ? sp["f"] / sn["f"] : 0, np
	}
}
EOF

# pick CLASS VOCAB < loops: "role func first last insns products bytes" for prefill and decode
pick() {
	awk -v cl="$1" -v vocab="$2" -v want="${MCA_FUNC:-}" -v all="${MCA_ALL:-0}" '
	{
		fn = $1
		if (want != "") { if (!(fn ~ want)) next }
		else if (!(fn ~ /matmul/ && fn ~ /_task$/)) next
		p = cl == "i" ? $5 : $6
		if (p == 0) next
		k++; F[k] = fn; S[k] = $2; E[k] = $3; NI[k] = $4; P[k] = p; B[k] = $7; PF[k] = $12
		LO[k] = cl == "i" ? $8 : $10; PR[k] = cl == "i" ? $9 : $11
		size = 0
		if (match(fn, /[0-9]+x[0-9]+/)) {
			split(substr(fn, RSTART, RLENGTH), nk, "x")
			size = nk[1] == vocab ? -1 : nk[1] * nk[2]
		}
		if (!(fn in fsize)) { fsize[fn] = size; order[++nf] = fn }
	}
	END {
		best = ""
		for (i = 1; i <= nf; i++) if (best == "" || fsize[order[i]] > fsize[best]) best = order[i]
		if (best == "") exit
		t = 0; d = 0
		for (i = 1; i <= k; i++) {
			if (F[i] != best) continue
			if (all == 1) printf "loop %s %d %d %d %d %d u_lo=%.2f u_lo*u_hi=%.2f prefetch=%d\n",
				F[i], S[i], E[i], NI[i], P[i], B[i], LO[i], PR[i], PF[i] > "/dev/stderr"
			if (!t || PR[i] > PR[t] + 1e-9 || (PR[i] > PR[t] - 1e-9 && P[i] > P[t])) t = i
			if (!d || LO[i] < LO[d] - 1e-9) { d = i; continue }
			if (LO[i] > LO[d] + 1e-9) continue
			if ((PF[i] > 0) != (PF[d] > 0)) { if (PF[i] > 0) d = i; continue }
			if (P[i] > P[d]) d = i
		}
		printf "prefill %s %d %d %d %d %d\n", F[t], S[t], E[t], NI[t], P[t], B[t]
		if (d != t) printf "decode %s %d %d %d %d %d\n", F[d], S[d], E[d], NI[d], P[d], B[d]
	}'
}

# ------------------------------------------------------------ 5. llvm-mca
table=$dir/table.txt
: >"$table"
: >"$dir/peaks.txt"
fns=
for cpu in $cpus; do
	mm=$(model_of "$cpu")
	pk_i=$(peak_of "$mm" int); pk_f=$(peak_of "$mm" f32)
	[ -n "$pk_i" ] || pk_i="- (llvm-mca failed)"
	[ -n "$pk_f" ] || pk_f="- (llvm-mca failed)"
	echo "$cpu|$mm|${pk_i%% *}|${pk_i#* }|${pk_f%% *}|${pk_f#* }" >>"$dir/peaks.txt"
	for f in $formats; do
		s=$dir/$cpu-$f.s
		if [ ! -f "$s" ]; then
			why=$(grep -m1 . "$dir/$cpu-$f.err" 2>/dev/null || echo "no output")
			printf '%-11s %-6s skipped: %s\n' "$cpu" "$f" "$why" >>"$table"
			continue
		fi
		case $f in q*) cl=i; pk=${pk_i%% *} ;; *) cl=f; pk=${pk_f%% *} ;; esac
		awk -f "$dir/loops.awk" "$s" >"$s.loops"
		pick "$cl" "$vocab" <"$s.loops" >"$s.pick"
		if [ ! -s "$s.pick" ]; then
			printf '%-11s %-6s no multiply loop found in a matmul task\n' "$cpu" "$f" >>"$table"
			continue
		fi
		fns="$fns $f=$(awk 'NR == 1 { print $2 }' "$s.pick")"
		while read -r role fn first last ni prods bytes; do
			body=$dir/$cpu-$f-$role.s
			sed -n "$((first + 1)),${last}p" "$s" | grep '^	[a-z]' | sed 's@//.*@@' >"$body"
			r=$(run_mca "$mm" "$body")
			if [ "$r" = fail ]; then
				printf '%-11s %-6s %-8s llvm-mca failed: %s\n' "$cpu" "$f" "$role" "$(head -1 "$dir/mca.err")" >>"$table"
				continue
			fi
			echo "$cpu $f $role $ni $prods $bytes $r $pk" | awk '{
				c = $7; mpc = c > 0 ? $5 / c : 0
				pct = $10 + 0 > 0 ? sprintf("%.1f%%", 100 * mpc / $10) : "-"
				printf "%-11s %-6s %-8s %6d %9d %10.1f %7.1f %9.1f %8s %8.1f  %s\n",
				       $1, $2, $3, $4, $5, c, $8, mpc, pct, (c > 0 ? $6 / c : 0), $9 }' >>"$table"
		done <"$s.pick"
	done
done

echo "== aarch64 hot loops, static estimate: llvm-mca-19, $preset shape, $iters iterations per loop"
while IFS='|' read -r cpu mm pi wi pf wf; do
	echo "peak of $cpu (llvm-mca model $mm): int8 $pi MAC/cycle ($wi), f32 $pf FMA/cycle ($wf)"
done <"$dir/peaks.txt"
echo "loops of: $(for x in $fns; do echo "$x"; done | awk -F= '!seen[$1]++ { printf "%s%s %s", n++ ? ", " : "", $1, $2 }')"
printf '%-11s %-6s %-8s %6s %9s %10s %7s %9s %8s %8s  %s\n' cpu format loop insns "MACs/iter" "cycles/it" rthru \
	"MACs/cyc" "% peak" "B/cycle" busiest
cat "$table"
echo "(prefill: the biggest register tile's K loop; decode: the one-row loop; MACs: int8 products for q*,"
echo " f32 FMAs for the float formats; B/cycle: bytes loaded outside the stack; bodies, llvm-mca reports: $dir/;"
echo " $(($(date +%s) - start)) s)"
