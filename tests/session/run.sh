#!/bin/sh
# run.sh LFM2C MODEL_DIR FIXTURE_DIR OUT_DIR TEST_C NPYIO_DIR [CFLAGS...]
# Compiles the model to C, builds test_session.c against it and the
# runtime (all runtime sources but main.c), and runs it on the fixture.
set -eu
lfm2c=$1 model=$2 fx=$3 out=$4 test_c=$5 npyio=$6
shift 6
rm -rf "$out"
mkdir -p "$(dirname "$out")"
"$lfm2c" compile "$model" -o "$out" --emit c
srcs=$(ls "$out"/runtime/*.c | grep -v '/main\.c$')
${CC:-cc} -std=gnu11 -O2 -march=native ${LFM2C_CFLAGS:-} "$@" -I"$out/runtime" -I"$out" -I"$npyio" "$out/model.c" $srcs "$npyio/npyio.c" "$test_c" \
	-o "$out/test_session" -lm -lpthread
"$out/test_session" "$out/weights.bin" "$fx/tokens.txt" "$fx/logits.npy"
