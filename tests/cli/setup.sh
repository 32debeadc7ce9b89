#!/bin/sh
# setup.sh LFM2C MODEL_DIR TMP — the fixture of the lfm2-run text tests:
#   TMP/tiny   lfm2c compile MODEL_DIR, plus tokenizer.bin
#   TMP/notok  the same program and weights without a tokenizer table
set -eu
lfm2c=$1 model=$2 tmp=$3
rm -rf "$tmp/tiny" "$tmp/notok"
mkdir -p "$tmp"
"$lfm2c" compile "$model" -o "$tmp/tiny"
# until compile writes it:
"$lfm2c" tokenize "$model" --write-table "$tmp/tiny/tokenizer.bin"
mkdir "$tmp/notok"
cp "$tmp/tiny/lfm2-run" "$tmp/tiny/weights.bin" "$tmp/notok/"
rm -f "$tmp/notok/tokenizer.bin"
echo "built $tmp/tiny (lfm2-run, weights.bin, tokenizer.bin) and $tmp/notok"
