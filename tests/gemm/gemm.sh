#!/bin/sh
# gemm.sh GEMM_TEST BACKEND SCHEDULE OUT RUNTIME_DIR — one backend and
# schedule of the float matmul kernel test (gemm_test.c): generate the
# kernels for the host (LLVM object, or C compiled with the host's cc),
# link them as a shared object, run every case against the reference.
set -eu
gen=$1 backend=$2 sched=$3 out=$4 rt=$5
rm -rf "$out"
mkdir -p "$out"
cc=${CC:-cc}
if [ "$backend" = llvm ]; then
	"$gen" gen llvm "$sched" "$out/k.o"
	$cc -shared "$out/k.o" -o "$out/k.so"
else
	"$gen" gen c "$sched" "$out/k.c"
	$cc -std=gnu11 -O2 -march=native -fPIC -shared -I"$rt" "$out/k.c" -o "$out/k.so" -lm
fi
"$gen" run "$out/k.so" "$sched"
