#!/bin/sh
# explain.sh LFM2C SRC_DIR TMP FIXTURE — `lfm2c explain` and compile --explain.
#
#   1. explain for a named CPU equals the committed text line by line
#      (explain_znver4.txt: today's Zen 4 tiles, every number's source,
#      every tile's reason), and with a schedule (explain_znver4_override.txt:
#      the keys and what each changed)
#   2. the host with LFM2C_SYSFS_ROOT at nothing: no failure, no "sysfs";
#      at a fake tree: its sizes, marked sysfs
#   3. compile --explain prints the same lines, then compiles; the cache key
#      follows the derived tiles: the same host caches hit the cache, another
#      L2 (other blocks) does not
set -u
lfm2c=$1 src=$2 tmp=$3 fx=$4
rm -rf "$tmp" && mkdir -p "$tmp" || exit 2
fails=0
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# 1. golden text (run in SRC_DIR: the schedule's path is printed as given)
for c in znver4:explain_znver4.txt znver4:explain_znver4_override.txt; do
	cpu=${c%%:*} want=${c#*:}
	set -- --target x86_64-linux-gnu --cpu "$cpu"
	[ "$want" = explain_znver4_override.txt ] && set -- "$@" --schedule override.json
	if ! (cd "$src" && "$lfm2c" explain "$@") >"$tmp/got.txt" 2>"$tmp/err.txt"; then
		fail "explain $*: exit status $? ($(cat "$tmp/err.txt"))"
	elif ! diff -u "$src/$want" "$tmp/got.txt"; then
		fail "explain $*: differs from $want (above)"
	else
		echo "ok   explain $* = $want ($(wc -l <"$tmp/got.txt") lines)"
	fi
done

# 2. host caches
if ! LFM2C_SYSFS_ROOT="$tmp/no-such-dir" "$lfm2c" explain >"$tmp/nosys.txt" 2>"$tmp/err.txt"; then
	fail "explain without sysfs: $(cat "$tmp/err.txt")"
elif grep -q sysfs "$tmp/nosys.txt" || ! grep -q '^  L1d per core' "$tmp/nosys.txt"; then
	fail "explain without sysfs: $(grep 'per core' "$tmp/nosys.txt")"
else
	echo "ok   no sysfs: $(grep '^  L2 per core' "$tmp/nosys.txt" | tr -s ' ')"
fi
mkcache() {   # ROOT INDEX LEVEL TYPE SIZE SHARED
	d=$1/devices/system/cpu/cpu0/cache/index$2
	mkdir -p "$d" && echo "$3" >"$d/level" && echo "$4" >"$d/type" && echo "$5" >"$d/size" &&
		echo "$6" >"$d/shared_cpu_list"
}
fake=$tmp/sysfs
mkcache "$fake" 0 1 Data 48K 0 && mkcache "$fake" 1 1 Instruction 32K 0 &&
	mkcache "$fake" 2 2 Unified 1280K 0 && mkcache "$fake" 3 3 Unified 8M 0-3 || exit 2
LFM2C_SYSFS_ROOT=$fake "$lfm2c" explain >"$tmp/fake.txt" 2>&1
for want in 'L1d per core +48 KiB +sysfs' 'L2 per core +1.25 MiB +sysfs' 'L3 share per core +2 MiB +sysfs'; do
	grep -Eq "^  $want\$" "$tmp/fake.txt" || fail "fake sysfs: no line '$want' in: $(grep 'per core' "$tmp/fake.txt")"
done
grep -q 'fm_block 81920 ' "$tmp/fake.txt" || fail "fake sysfs: fm_block not a quarter of 1.25 MiB"
[ "$fails" -eq 0 ] && echo "ok   fake sysfs: 48 KiB / 1.25 MiB / 2 MiB, fm_block 81920"

# 3. compile --explain, and the cache key following the tiles
export XDG_CACHE_HOME=$tmp/cache
run() {   # SYSFS OUT_FILE ERR_FILE
	LFM2C_SYSFS_ROOT=$1 "$lfm2c" compile "$fx" -o "$tmp/out" --emit loops --explain >"$2" 2>"$3"
}
if ! run "$fake" "$tmp/c1.txt" "$tmp/c1.err"; then
	fail "compile --explain: $(cat "$tmp/c1.err")"
else
	grep -v '^target:' "$tmp/c1.txt" >"$tmp/c1.body"
	grep -v '^target:' "$tmp/fake.txt" >"$tmp/fake.body"
	cmp -s "$tmp/c1.body" "$tmp/fake.body" || fail "compile --explain printed other lines than explain"
	[ -s "$tmp/out/model.loops" ] || fail "compile --explain did not compile"
	grep -q 'cache hit' "$tmp/c1.err" && fail "first compile: a cache hit"
	run "$fake" "$tmp/c2.txt" "$tmp/c2.err"
	grep -q 'cache hit' "$tmp/c2.err" || fail "same caches: no cache hit ($(cat "$tmp/c2.err"))"
	mkcache "$fake" 2 2 Unified 512K 0 || exit 2
	run "$fake" "$tmp/c3.txt" "$tmp/c3.err"
	if grep -q 'cache hit' "$tmp/c3.err"; then
		fail "another L2 (fm_block $(grep -o 'fm_block [0-9]*' "$tmp/c3.txt" | head -1)): still a cache hit"
	else
		echo "ok   compile --explain; the same caches hit the cache, another L2 does not"
	fi
fi
[ "$fails" -eq 0 ] && echo "explain: all ok"
[ "$fails" -eq 0 ]
