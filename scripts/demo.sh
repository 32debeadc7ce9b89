#!/bin/sh
# demo.sh [PROMPT] — the main job on the embedded default model:
# build lfm2c, compile examples/trained-tiny (a real trained 3.2M-parameter
# LFM2) into an inference binary, and generate from a prompt.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
prompt=${1:-This program is free software}
sh "$root/scripts/build.sh" "$root/build"
lfm2c=$root/build/driver/lfm2c
out=$root/build/demo
echo "== lfm2c compile examples/trained-tiny -o build/demo"
"$lfm2c" compile "$root/examples/trained-tiny" -o "$out"
ids=$("$lfm2c" tokenize "$root/examples/trained-tiny" "$prompt")
echo "== prompt: \"$prompt\" -> ids $ids"
echo "== build/demo/lfm2-run --tokens $ids -n 60 --temp 0"
gen=$("$out/lfm2-run" --tokens "$ids" -n 60 --temp 0)
echo "generated ids: $gen"
echo "== text:"
"$lfm2c" tokenize "$root/examples/trained-tiny" --decode "$ids,$gen"
echo
