#!/bin/sh
# tokenizer.sh LFM2C MODEL_WITH_TOKENIZER MODEL_WITHOUT OUT — compile writes
# OUT/tokenizer.bin (what lfm2-run reads for text), byte for byte the table
# `lfm2c tokenize --write-table` makes, when the checkpoint has
# tokenizer.json; and none when it has not.
set -eu
lfm2c=$1 with=$2 without=$3 out=$4
rm -rf "$out"
mkdir -p "$out"
"$lfm2c" compile "$with" -o "$out/with" --emit obj --no-cache 2>/dev/null
"$lfm2c" tokenize "$with" --write-table "$out/ref.bin"
cmp "$out/with/tokenizer.bin" "$out/ref.bin" || { echo "tokenizer: FAIL: tokenizer.bin differs from --write-table"; exit 1; }
"$lfm2c" compile "$without" -o "$out/without" --emit obj --no-cache 2>/dev/null
[ ! -e "$out/without/tokenizer.bin" ] || { echo "tokenizer: FAIL: a table without tokenizer.json"; exit 1; }
echo "ok   tokenizer.bin written from tokenizer.json (== --write-table), absent without it"
