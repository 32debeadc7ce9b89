#!/bin/sh
# cache.sh LFM2C MODEL OUT NPYCMP — the build cache of lfm2c compile.
#   1. a first compile builds ("compiled ..."), and stores one entry in
#      $XDG_CACHE_HOME/lfm2c;
#   2. the same compile into another directory is a cache hit (says so on
#      stderr), its files are identical to the first's, lfm2-run is
#      executable and its logits match the oracle;
#   3. --no-cache rebuilds (no "cache hit"), adds no entry;
#   4. another model linked with the runtime objects from the cache is
#      byte-identical to its --no-cache build;
#   5. other options (--emit obj) are a miss, then a hit;
#   6. an entry without its MANIFEST (an interrupted store) is a miss;
#   7. without XDG_CACHE_HOME the cache is ~/.cache/lfm2c.
# (Only three compiles build the runtime: this runs under ASan too.)
set -eu
lfm2c=$1 model=$2 out=$3 npycmp=$4
rm -rf "$out"
mkdir -p "$out"
export XDG_CACHE_HOME="$out/xdg"
cache=$XDG_CACHE_HOME/lfm2c
fail() { echo "cache: FAIL: $*"; exit 1; }
compile() {   # compile DIR OPTIONS... -> stderr in DIR.err
	d=$1
	shift
	"$lfm2c" compile "$model" -o "$d" "$@" 2>"$d.err" || { cat "$d.err"; fail "compile $d"; }
	cat "$d.err"
}
hit() { grep -q "cache hit" "$1.err"; }
# entries: the cache's entry directories (not its tmp-* ones); 0 before the
# cache directory exists
entries() { [ -d "$cache" ] || { echo 0; return; }; find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name 'tmp-*' | wc -l | tr -d ' '; }
same_tree() {
	(cd "$1" && find . -type f | sort) > "$out/list1"
	(cd "$2" && find . -type f | sort) > "$out/list2"
	cmp -s "$out/list1" "$out/list2" || fail "$1 and $2 hold different files"
	while read -r f; do cmp -s "$1/$f" "$2/$f" || fail "$f differs between $1 and $2"; done < "$out/list1"
}

compile "$out/a"
hit "$out/a" && fail "first compile was a cache hit"
grep -q "^lfm2c: compiled" "$out/a.err" || fail "first compile did not say it compiled"
[ "$(entries)" = 2 ] || fail "expected 2 cache entries (the build, the runtime objects), found $(entries)"
echo "ok   first compile builds and stores its outputs and the runtime objects"

compile "$out/b"
hit "$out/b" || fail "second compile was not a cache hit"
same_tree "$out/a" "$out/b"
[ -x "$out/b/lfm2-run" ] || fail "cached lfm2-run is not executable"
"$out/b/lfm2-run" --tokens "$(head -n 1 "$model/tokens.txt")" --logits "$out/b.npy" 2>/dev/null
"$npycmp" "$out/b.npy" "$model/logits.npy" --rel 1e-4 >/dev/null || fail "cached lfm2-run logits"
echo "ok   second compile is a cache hit, identical files, working lfm2-run"

compile "$out/c" --no-cache
hit "$out/c" && fail "--no-cache was a cache hit"
[ "$(entries)" = 2 ] || fail "--no-cache changed the cache"
same_tree "$out/a" "$out/c"
echo "ok   --no-cache rebuilds (the same bytes) and leaves the cache alone"

other=$(dirname "$model")/mqa
"$lfm2c" compile "$other" -o "$out/o1" 2>/dev/null
"$lfm2c" compile "$other" -o "$out/o2" --no-cache 2>/dev/null
same_tree "$out/o1" "$out/o2"
[ "$(entries)" = 3 ] || fail "expected 3 entries (2 builds, the runtime objects), found $(entries)"
echo "ok   runtime objects from the cache: byte-identical to a --no-cache build"

compile "$out/d" --emit obj
hit "$out/d" && fail "--emit obj hit an exe build's entry"
compile "$out/e" --emit obj
hit "$out/e" || fail "repeated --emit obj compile was not a hit"
[ "$(entries)" = 4 ] || fail "expected 4 entries, found $(entries)"
echo "ok   other options: a miss, then a hit"

for e in "$cache"/*; do rm -f "$e/MANIFEST"; done
compile "$out/f" --emit obj
hit "$out/f" && fail "an entry without MANIFEST was used"
echo "ok   an incomplete entry is a miss"

unset XDG_CACHE_HOME
HOME="$out/home" "$lfm2c" compile "$model" -o "$out/g" --emit obj 2>/dev/null
[ -n "$(ls "$out/home/.cache/lfm2c" 2>/dev/null)" ] || fail "no entry in \$HOME/.cache/lfm2c"
echo "ok   without XDG_CACHE_HOME the cache is ~/.cache/lfm2c"
