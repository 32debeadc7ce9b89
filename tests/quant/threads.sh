#!/bin/sh
# threads.sh LFM2C ROOT OUT — the weights blob does not depend on how many
# threads quantize it.
#
# compile packs the block formats' rows on every CPU of its affinity mask
# (codegen/blob.c), cutting each chunk into one part per thread; the chunk
# size grows with the threads, so one CPU and two CPUs cut trained-tiny's
# matrices at different rows.  The blobs of `taskset -c 0` (one thread) and
# of every CPU must be byte-identical, for q4_1 (the least-squares search)
# and q4_0 (`--emit loops`: the blob without a code generator).  Needs two CPUs to mean anything: fails if it has only one.
set -u
lfm2c=$1 root=$2 out=$3
tt=$root/examples/trained-tiny
fail() { echo "threads.sh: FAIL: $*"; exit 1; }
run() { echo "$ $*"; "$@" || fail "$* exited $?"; }

cpus=$(nproc)
[ "$cpus" -ge 2 ] || fail "needs two CPUs to compare thread counts, has $cpus"
first=$(taskset -c -p $$ | sed 's/.*: *//; s/[,-].*//')
rm -rf "$out" && mkdir -p "$out" || fail "cannot make $out"
for q in q4_1 q4_0; do
	run taskset -c "$first" "$lfm2c" compile "$tt" -o "$out/one_$q" -q "$q" --no-cache --emit loops
	run "$lfm2c" compile "$tt" -o "$out/all_$q" -q "$q" --no-cache --emit loops
	cmp "$out/one_$q/weights.bin" "$out/all_$q/weights.bin" ||
		fail "$q: weights.bin from 1 thread and from $cpus differ"
	echo "$q: weights.bin identical for 1 and $cpus threads"
done
rm -rf "$out"
