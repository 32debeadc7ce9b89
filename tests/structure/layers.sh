#!/bin/sh
# layers.sh ROOT — the folders' imports run one way.
#
# The pipeline is layered, bottom to top:
#   runtime_stub  the runtime and its contract headers (lfm2_abi.h, the
#                 tokenizer table's format): it includes nothing of the
#                 compiler, because it is shipped into every compiled model
#   frontend      checkpoint, config, tokenizer.json
#   ir            the graph, the weight formats, the interpreter
#   passes        the schedule (options) and the pass list
#   codegen       lowering, printers, the build into an output directory
#   tools         synth, variants, tune, quant-report
#   driver        the lfm2c command
# A file may include headers of its own folder and of folders below it.
# Every #include "x.h" of every .c and .h in these folders is resolved to
# the folder that holds x.h; an include of a folder above is an arrow
# running up (and the start of a cycle): the test names each and fails.
# It also prints the folder-level drawing (who includes whom, how often).
set -u
root=$1
layers="runtime_stub frontend ir passes codegen tools driver"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

rank() { i=0; for l in $layers; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo -1; }

# header -> folder
for l in $layers; do
	for h in "$root/$l"/*.h; do
		[ -e "$h" ] && echo "$(basename "$h") $l"
	done
done >"$tmp"

fails=0
edges=""
for l in $layers; do
	rl=$(rank "$l")
	for f in "$root/$l"/*.c "$root/$l"/*.h; do
		[ -e "$f" ] || continue
		for inc in $(sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f"); do
			h=$(basename "$inc")
			g=$(awk -v h="$h" '$1 == h { print $2; exit }' "$tmp")
			[ -n "$g" ] || continue   # a header of no pipeline folder (ops.h tables are .h too: found)
			[ "$g" = "$l" ] && continue
			edges="$edges$l -> $g
"
			rg=$(rank "$g")
			if [ "$rg" -gt "$rl" ]; then
				echo "FAIL $l/$(basename "$f") includes $g/$h: an arrow running up ($g is above $l)"
				fails=$((fails + 1))
			fi
		done
	done
done
echo "the import drawing (folder -> folder: includes):"
printf '%s' "$edges" | sort | uniq -c | awk '{ printf "  %-14s -> %-14s %3d\n", $2, $4, $1 }'
[ "$fails" -eq 0 ] && echo "ok   no arrow runs up, so no cycle between the folders"
[ "$fails" -eq 0 ]
