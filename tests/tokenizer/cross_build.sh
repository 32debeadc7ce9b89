#!/bin/sh
# cross_build.sh TEST_TOKENIZER RUNTIME_DIR TEST_DIR TOKENIZER_DIR EXPECTED_DIR OUT_DIR
#
# The runtime tokenizer must build for another target with nothing but its
# own files and libc: compile runtime_stub/tokenizer_*.c (table, encode,
# decode, chat; their shared header tokenizer_internal.h) with
# tok_portable.c as strict ISO C11 (-pedantic -Werror), natively and, when
# aarch64-linux-gnu-gcc is installed, for aarch64 (static).  Under
# qemu-aarch64 the aarch64 build must reproduce tokenizers.js's ids for the
# whole parity corpus from a table written on this machine.  Exit 77 (skip)
# only when there is no cross compiler.
set -eu
test_tok=$1 rt=$2 td=$3 tokdir=$4 exp=$5 out=$6
rm -rf "$out"
mkdir -p "$out"
"$test_tok" dump "$tokdir" "$out/tokenizer.bin"
flags="-std=c11 -pedantic -Wall -Wextra -Werror -O2 -I$rt"
# the tokenizer's sources, as "$@" (paths may hold spaces)
set -- "$rt/tokenizer_table.c" "$rt/tokenizer_encode.c" "$rt/tokenizer_decode.c" "$rt/tokenizer_chat.c"
${CC:-cc} $flags "$td/tok_portable.c" "$@" -o "$out/tok_native"
r=$("$out/tok_native" "$out/tokenizer.bin" "$exp/corpus.txt" "$exp/enc_tiny.txt")
echo "native: $r"
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
	echo "no aarch64-linux-gnu-gcc: cross build skipped"
	exit 77
fi
aarch64-linux-gnu-gcc $flags -static "$td/tok_portable.c" "$@" -o "$out/tok_arm64"
echo "aarch64 cross build ok (static, libc only)"
if command -v qemu-aarch64 >/dev/null 2>&1; then
	r=$(qemu-aarch64 "$out/tok_arm64" "$out/tokenizer.bin" "$exp/corpus.txt" "$exp/enc_tiny.txt")
	echo "aarch64 (qemu): $r"
else
	echo "no qemu-aarch64: not run"
fi
