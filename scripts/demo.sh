#!/bin/sh
# demo.sh [PROMPT] — the main job on the embedded default model:
# build lfm2c, compile examples/trained-tiny (a real trained 3.2M-parameter
# LFM2) into an inference binary, and generate from a prompt: text in, text
# out.  First a plain greedy continuation (the model's training text shows
# through: the GPL preamble), then a chat turn with the model card's
# sampling settings and a fixed seed (the tiny model babbles, but the chat
# template, sampling and streaming are the real ones).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
prompt=${1:-This program is free software}
sh "$root/scripts/build.sh" "$root/build"
lfm2c=$root/build/driver/lfm2c
out=$root/build/demo
echo "== lfm2c compile examples/trained-tiny -o build/demo"
"$lfm2c" compile "$root/examples/trained-tiny" -o "$out"
echo "== build/demo/lfm2-run -p \"$prompt\" --raw -n 60 --temp 0"
"$out/lfm2-run" -p "$prompt" --raw -n 60 --temp 0
echo "== build/demo/lfm2-run -p \"What is free software?\" -n 60 -s 42"
"$out/lfm2-run" -p "What is free software?" -n 60 -s 42
