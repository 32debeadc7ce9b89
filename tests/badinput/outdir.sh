#!/bin/sh
# outdir.sh LFM2C FIXTURES EXAMPLES TMP — the output directory of
# `lfm2c compile` is replaced as a set, whatever happens.
#
# Interrupts (SIGINT to the group, SIGTERM and SIGHUP to lfm2c alone) while
# a fake C compiler sleeps: exit 130, one line "interrupted", OUT exactly as
# before (or absent), no staging directory, no process left.  SIGKILL: the
# staging directory stays (unavoidable), the next compile removes it.
# A stale tokenizer.bin goes, a user's file stays, a user's file in the
# way is refused, "-o ." works, two compiles racing into one OUT leave one
# whole build.  A full disk (a small tmpfs in a private mount namespace;
# skipped where none can be made) at each stage: weights.bin, model.o,
# the runtime's sources, the C compiler — one line naming OUT's file and
# the reason, nothing left behind.
set -u
lfm2c=$1 fx=$2 ex=$3 tmp=$4
rm -rf "$tmp"
mkdir -p "$tmp"
tmp=$(cd "$tmp" && pwd)
case $lfm2c in /*) ;; *) lfm2c=$(pwd)/$lfm2c ;; esac
case $fx in /*) ;; *) fx=$(pwd)/$fx ;; esac
case $ex in /*) ;; *) ex=$(pwd)/$ex ;; esac
export XDG_CACHE_HOME="$tmp/cache"
fails=0
n=0

ok() { n=$((n + 1)); echo "ok   $1"; }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL $1: $2"; }

# a listing of DIR with each file's checksum (what "as it was" means)
snapshot() { (cd "$1" && find . -type f -o -type l | LC_ALL=C sort | xargs -r md5sum) 2>/dev/null; }

# no staging directory of OUT (NAME) left in DIR
no_stage() { ! ls -a "$1" | grep -q "^\.$2\.lfm2c-stage-"; }

# a C compiler that says it started, then sleeps (its pid in $tmp/cc.pid)
cat >"$tmp/slowcc" <<EOF
#!/bin/sh
echo \$\$ >"$tmp/cc.pid"
: >"$tmp/cc.started"
sleep 20
exec cc "\$@"
EOF
chmod +x "$tmp/slowcc"

# a process that still runs (a zombie nobody reaped does not count)
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }

wait_started() {
	i=0
	while [ ! -e "$tmp/cc.started" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$tmp/cc.started" ]
}

# interrupt NAME SIGNAL WHO OUT_EXISTS: compile into $tmp/NAME while the
# fake compiler sleeps, send SIGNAL to lfm2c (WHO=parent) or its group
interrupt() {
	name=$1 sig=$2 who=$3 exists=$4
	out="$tmp/$name"
	rm -rf "$out" "$tmp/cc.started" "$tmp/cc.pid"
	if [ "$exists" = 1 ]; then
		"$lfm2c" compile "$fx/mqa" -o "$out" 2>/dev/null || { bad "$name" "setup compile failed"; return; }
		echo "user's notes" >"$out/notes.txt"
	fi
	before=$(snapshot "$out")
	# a background job of sh starts with SIGINT ignored (and lfm2c honours that, as under nohup)
	env --default-signal=INT,HUP setsid "$lfm2c" compile "$fx/tiny" -o "$out" --cc "$tmp/slowcc" --no-cache \
		>"$tmp/o" 2>"$tmp/e" &
	pid=$!
	if ! wait_started; then
		bad "$name" "the fake C compiler never started"
		kill -KILL "$pid" 2>/dev/null
		return
	fi
	if [ "$who" = group ]; then kill -"$sig" "-$pid"; else kill -"$sig" "$pid"; fi
	wait "$pid"
	st=$?
	ccpid=$(cat "$tmp/cc.pid")
	sleep 0.2
	if [ "$st" -ne 130 ]; then
		bad "$name" "exit $st, want 130"
	elif [ "$(wc -l <"$tmp/e")" -ne 1 ] || ! grep -q "interrupted (SIG$sig)" "$tmp/e"; then
		bad "$name" "stderr: $(cat "$tmp/e")"
	elif [ "$(snapshot "$out")" != "$before" ]; then
		bad "$name" "$out changed"
	elif [ "$exists" = 0 ] && [ -e "$out" ]; then
		bad "$name" "$out was created"
	elif ! no_stage "$tmp" "$name"; then
		bad "$name" "staging directory left: $(ls -a "$tmp" | grep stage)"
	elif alive "$ccpid"; then
		bad "$name" "the C compiler ($ccpid) still runs"
		kill -KILL "$ccpid"
	else
		ok "$name: $(cat "$tmp/e")"
	fi
}

interrupt interrupt_sigint_new_out INT group 0
interrupt interrupt_sigint_old_out INT group 1
interrupt interrupt_sigterm_parent TERM parent 1
interrupt interrupt_sighup_parent HUP parent 0

# SIGKILL: the stage stays, the next compile into the same OUT removes it
name=sigkill_then_prune
out="$tmp/$name"
rm -f "$tmp/cc.started"
"$lfm2c" compile "$fx/tiny" -o "$out" --cc "$tmp/slowcc" --no-cache 2>/dev/null &
pid=$!
if wait_started; then
	child=$(pgrep -P "$pid" -f "lfm2c" | head -1)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	sleep 0.3
	kill -KILL "$(cat "$tmp/cc.pid")" 2>/dev/null
	left=$(ls -a "$tmp" | grep -c "^\.$name\.lfm2c-stage-")
	if [ -n "$child" ] && alive "$child"; then
		bad "$name" "the compile's child $child outlived lfm2c"
	elif [ "$left" -ne 1 ]; then
		bad "$name" "expected the killed compile's stage, found $left"
	elif ! "$lfm2c" compile "$fx/tiny" -o "$out" 2>"$tmp/e"; then
		bad "$name" "compile after SIGKILL failed: $(cat "$tmp/e")"
	elif ! no_stage "$tmp" "$name"; then
		bad "$name" "stale staging directory not removed"
	else
		ok "$name"
	fi
else
	bad "$name" "the fake C compiler never started"
fi

# a staging directory of an lfm2c before the lock, inside OUT
name=legacy_stage_removed
out="$tmp/$name"
"$lfm2c" compile "$fx/tiny" -o "$out" 2>/dev/null
mkdir -p "$out/.lfm2c-4242/runtime" && : >"$out/.lfm2c-4242/weights.bin"
"$lfm2c" compile "$fx/tiny" -o "$out" 2>/dev/null
if [ -e "$out/.lfm2c-4242" ]; then bad "$name" "OUT/.lfm2c-4242 still there"; else ok "$name"; fi

# a stale tokenizer.bin goes; the user's own file stays
name=stale_tokenizer_removed
out="$tmp/$name"
"$lfm2c" compile "$ex/trained-tiny" -o "$out" 2>/dev/null
echo mine >"$out/notes.txt"
if [ ! -e "$out/tokenizer.bin" ]; then
	bad "$name" "setup: the trained model gave no tokenizer.bin"
elif ! "$lfm2c" compile "$fx/tiny" -o "$out" 2>"$tmp/e"; then
	bad "$name" "$(cat "$tmp/e")"
elif [ -e "$out/tokenizer.bin" ]; then
	bad "$name" "tokenizer.bin of the previous build is still there"
elif [ "$(cat "$out/notes.txt")" != mine ]; then
	bad "$name" "the user's notes.txt was touched"
elif ! grep -q "^file weights.bin$" "$out/.lfm2c-manifest" || grep -q "^file tokenizer.bin$" "$out/.lfm2c-manifest"; then
	bad "$name" "manifest: $(cat "$out/.lfm2c-manifest")"
elif ! "$out/lfm2-run" --tokens 1,2,3 -n 2 >/dev/null 2>&1; then
	bad "$name" "the new build does not run"
else
	ok "$name"
fi

# a file the build would replace but lfm2c did not write: refused, untouched
name=foreign_file_refused
out="$tmp/$name"
mkdir -p "$out"
echo "my header" >"$out/model.h"
before=$(snapshot "$out")
"$lfm2c" compile "$fx/tiny" -o "$out" >"$tmp/o" 2>"$tmp/e"
st=$?
if [ "$st" -ne 1 ] || [ "$(wc -l <"$tmp/e")" -ne 1 ] || ! grep -q "model.h: exists and was not written by lfm2c" "$tmp/e"; then
	bad "$name" "exit $st: $(cat "$tmp/e")"
elif [ "$(snapshot "$out")" != "$before" ] || ! no_stage "$tmp" "$name"; then
	bad "$name" "OUT changed or a stage was left"
else
	ok "$name: $(cat "$tmp/e")"
fi

# -o . keeps what else is there
name=out_is_cwd
out="$tmp/$name"
mkdir -p "$out"
echo keep >"$out/README"
if ! (cd "$out" && "$lfm2c" compile "$fx/tiny" -o . 2>"$tmp/e" && "$lfm2c" compile "$fx/mqa" -o . 2>>"$tmp/e"); then
	bad "$name" "$(cat "$tmp/e")"
elif [ "$(cat "$out/README")" != keep ] || ! "$out/lfm2-run" --tokens 1,2 -n 2 >/dev/null 2>&1; then
	bad "$name" "README touched or the build does not run"
else
	ok "$name"
fi

# two compiles racing into one OUT: one whole build, not a mix
name=concurrent_compiles
out="$tmp/$name"
# the references: cached builds are byte-identical to fresh ones (tests/cache)
"$lfm2c" compile "$fx/tiny" -o "$tmp/ref_tiny" 2>/dev/null || bad "$name" "reference compile of tiny failed"
"$lfm2c" compile "$fx/bf16" -o "$tmp/ref_bf16" 2>/dev/null || bad "$name" "reference compile of bf16 failed"
"$lfm2c" compile "$fx/tiny" -o "$out" --no-cache 2>"$tmp/e1" &
p1=$!
"$lfm2c" compile "$fx/bf16" -o "$out" --no-cache 2>"$tmp/e2" &
p2=$!
wait $p1
s1=$?
wait $p2
s2=$?
same_as() { cmp -s "$out/weights.bin" "$1/weights.bin" && cmp -s "$out/model.h" "$1/model.h" && cmp -s "$out/lfm2-run" "$1/lfm2-run"; }
if [ $s1 -ne 0 ] || [ $s2 -ne 0 ]; then
	bad "$name" "a compile failed: $(cat "$tmp/e1" "$tmp/e2")"
elif ! same_as "$tmp/ref_tiny" && ! same_as "$tmp/ref_bf16"; then
	bad "$name" "OUT is neither build"
elif ! "$out/lfm2-run" --tokens 1,2 -n 2 >/dev/null 2>&1; then
	bad "$name" "the build in OUT does not run"
else
	ok "$name"
fi

# ---------------------------------------------------------- full disk
# Each case mounts a tmpfs of a given size in a private mount namespace
# (unshare as root, or as a user namespace) and compiles into it.
pages() { echo $((($(stat -c %s "$1") + 4095) / 4096)); }
mk_ns() {
	if unshare -m true 2>/dev/null; then echo "unshare -m"
	elif unshare -rm true 2>/dev/null; then echo "unshare -rm"
	else echo ""
	fi
}
ns=$(mk_ns)
ref="$tmp/ref_tiny"
if [ -z "$ns" ] || ! $ns sh -c "mkdir -p '$tmp/mnt' && mount -t tmpfs -o size=64k tmpfs '$tmp/mnt'" 2>/dev/null; then
	echo "skip full-disk cases: cannot mount a tmpfs here"
else
	wpages=$(pages "$ref/weights.bin")
	hpages=$(pages "$ref/model.h")
	opages=$(pages "$ref/model.o")
	rpages=0
	for f in "$ref"/runtime/*; do rpages=$((rpages + $(pages "$f"))); done
	# full NAME PAGES REGEX: the compile into a tmpfs of PAGES pages fails with REGEX
	full() {
		name=$1 size=$2 regex=$3
		mkdir -p "$tmp/mnt"
		$ns sh -c "mount -t tmpfs -o size=$((size * 4))k tmpfs '$tmp/mnt' && cd '$tmp/mnt' && \
			TMPDIR='$tmp' '$lfm2c' compile '$fx/tiny' -o out --no-cache >'$tmp/o' 2>'$tmp/e'; echo \$? >'$tmp/st'; \
			ls -a '$tmp/mnt' >'$tmp/left'"
		st=$(cat "$tmp/st")
		left=$(grep -v '^\.\.\?$' "$tmp/left" | grep -v '^\.out\.lfm2c-lock$' | tr '\n' ' ')
		if [ "$st" -ne 1 ] || [ "$(wc -l <"$tmp/e")" -ne 1 ] || ! grep -Eq -- "$regex" "$tmp/e"; then
			bad "$name" "exit $st: $(head -3 "$tmp/e")"
		elif [ -n "$left" ]; then
			bad "$name" "left behind: $left"
		else
			ok "$name: $(cat "$tmp/e")"
		fi
	}
	full enospc_weights $((wpages / 2)) "out/weights.bin: .*No space left on device"
	full enospc_model_o $((wpages + hpages + opages / 2)) "out/model.o: .*No space left on device"
	full enospc_runtime_copy $((wpages + hpages + opages + rpages / 2)) \
		"out/runtime/[a-z_0-9]+\.[ch]: .*No space left on device"
	full enospc_c_compiler $((wpages + hpages + opages + rpages + 8)) \
		"the C compiler \(cc\) failed .*No space left on device.*all of its output: $tmp/lfm2c-cc-.*\.log"
fi

echo "$((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
