#!/bin/sh
# eval.sh MODE LFM2C CHECK ROOT TMP — tests of `lfm2-run --perplexity`
# (with --kld-base and --kld) on examples/trained-tiny and the shipped
# evaluation text examples/eval/text.txt.
#
#   setup  compiles trained-tiny as f32, q8_0 and q4_0 into TMP/{f32,q8_0,q4_0}
#          (build cache: the f32 one is e2e's), tokenizes the text with
#          `lfm2c tokenize`, cuts 3 chunks of 128 with check_eval (its own
#          chunking, BOS first) and dumps every build's logits of each chunk
#          with `lfm2-run --tokens ... --logits` (TMP/dumps)
#   ppl    the f32 build's perplexity on those chunks against check_eval's
#          recomputation from the dumps; the default chunking (512, every
#          whole chunk) by its result line
#   kld    the f32 build writes base.kld; f32 (itself: KLD exactly 0, top-1
#          exactly 1), q8_0 and q4_0 compare with it, each against
#          check_eval's exact KLD (no 16-bit rounding), PPL(base), PPL -
#          PPL(base), errors; the file's size; -c and --chunks come from it
#   bad    bad input: one line naming the file or flag, the exit status,
#          nothing left behind (also when a --kld-base run is killed)
#   quant_report
#          `lfm2c quant-report -q q4_0 --eval-text` (the f64 interpreter, 2
#          chunks of 32) against lfm2-run: the f32 build's --kld-base run
#          and the --kld run of `lfm2c dequant -q q4_0` compiled f32 (--fuse
#          none: the report's model, f32 arithmetic) — check_eval report;
#          the report's own bad flags
#   variants
#          `lfm2c variants q8_0.json --eval-text` (3 chunks of 128, the
#          builds kept): its JSON's text figures against check_eval's
#          recomputation from dumps of its own two builds; the table's and
#          CSV's text columns
set -u
mode=$1 lfm2c=$2 check=$3 root=$4 tmp=$5
tt=$root/examples/trained-tiny
text=$root/examples/eval/text.txt
expect="sh $root/tests/tools/expect.sh"
dumps=$tmp/dumps
CTX=128 CHUNKS=3
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

case $mode in
setup)
	rm -rf "$tmp"
	mkdir -p "$dumps" || exit 1
	for q in f32 q8_0 q4_0; do
		"$lfm2c" compile "$tt" -o "$tmp/$q" -q $q || exit 1
	done
	"$lfm2c" tokenize "$tt" - <"$text" >"$tmp/ids" || exit 1
	"$check" chunks "$tmp/ids" $CTX $CHUNKS 1 "$dumps" || exit 1
	for q in f32 q8_0 q4_0; do
		k=0
		while [ $k -lt $CHUNKS ]; do
			"$tmp/$q/lfm2-run" --tokens "$(cat "$dumps/chunk-$k.ids")" --logits "$dumps/$q-$k.npy" -t 1 ||
				exit 1
			k=$((k + 1))
		done
	done
	echo "eval setup: 3 builds, $CHUNKS chunks of $CTX dumped"
	exit 0
	;;
ppl)
	dir=$tmp/ppl
	rm -rf "$dir" && mkdir -p "$dir"
	"$tmp/f32/lfm2-run" --perplexity "$text" -c $CTX --chunks $CHUNKS -t 1 >"$dir/out" 2>"$dir/err"
	st=$?
	cat "$dir/out" "$dir/err"
	[ $st -eq 0 ] || fail "--perplexity exited $st"
	"$check" ppl "$dir/out" $CTX $CHUNKS "$dumps" f32 || fail "check_eval ppl"
	# defaults: chunks of 512 (max_position is 2048), as many as the text holds
	n=$(tr ',' '\n' <"$tmp/ids" | grep -c .)
	"$tmp/f32/lfm2-run" --perplexity "$text" -t 1 >"$dir/default" 2>/dev/null || fail "default run"
	grep "^result: " "$dir/default"
	grep -q "^result: .* predictions=$((n / 512 * 255)) chunks=$((n / 512)) ctx=512 " "$dir/default" ||
		fail "default chunking: expected $((n / 512)) chunks of 512 from $n tokens"
	;;
kld)
	dir=$tmp/kld
	rm -rf "$dir" && mkdir -p "$dir"
	"$tmp/f32/lfm2-run" --perplexity "$text" -c $CTX --chunks $CHUNKS --kld-base "$dir/base.kld" -t 1 \
		>"$dir/base.out" || fail "--kld-base exited $?"
	cat "$dir/base.out"
	"$check" ppl "$dir/base.out" $CTX $CHUNKS "$dumps" f32 || fail "check_eval ppl of the base run"
	ls "$dir" | grep -v -e '^base\.kld$' -e '^base\.out$' && fail "temporary files left next to base.kld"
	for q in f32 q8_0 q4_0; do
		echo "== $q against the f32 base"
		"$tmp/$q/lfm2-run" --perplexity "$text" --kld "$dir/base.kld" -t 1 >"$dir/$q.out" ||
			fail "$q: --kld exited $?"
		cat "$dir/$q.out"
		"$check" kld "$dir/$q.out" $CTX $CHUNKS "$dumps" f32 $q "$dir/base.kld" || fail "check_eval kld $q"
	done
	# the quantized builds are not the base: a positive divergence, in the expected order
	k8=$(sed -n 's/^result: .* kld=\([^ ]*\) .*/\1/p' "$dir/q8_0.out")
	k4=$(sed -n 's/^result: .* kld=\([^ ]*\) .*/\1/p' "$dir/q4_0.out")
	awk -v a="$k8" -v b="$k4" 'BEGIN { exit !(a > 0 && b > 10 * a) }' ||
		fail "expected 0 < KLD(q8_0) = $k8 and KLD(q4_0) = $k4 > 10 x KLD(q8_0)"
	;;
bad)
	dir=$tmp/bad
	rm -rf "$dir" && mkdir -p "$dir/out"
	run=$tmp/f32/lfm2-run
	"$run" --perplexity "$text" -c $CTX --chunks 2 --kld-base "$dir/base.kld" -t 1 >/dev/null 2>&1 ||
		fail "making the base"
	: >"$dir/empty.txt"
	printf 'Only a few words here.\n' >"$dir/short.txt"
	sed 's/small/little/' "$text" >"$dir/other.txt"
	size=$(wc -c <"$dir/base.kld")
	head -c $((size - 100)) "$dir/base.kld" >"$dir/trunc.kld"
	cp "$dir/base.kld" "$dir/corrupt.kld"
	printf '\001' | dd of="$dir/corrupt.kld" bs=1 seek=5000 conv=notrunc 2>/dev/null
	$expect 2 "^lfm2-run: --perplexity $dir/missing.txt: cannot open: No such file" \
		"$run" --perplexity "$dir/missing.txt" || fail "missing text"
	$expect 2 "^lfm2-run: --perplexity $dir/empty.txt: the file is empty$" \
		"$run" --perplexity "$dir/empty.txt" || fail "empty text"
	$expect 2 "^lfm2-run: --perplexity $dir/short.txt: [0-9]+ tokens, fewer than one chunk of 128 \\(lower -c\\)$" \
		"$run" --perplexity "$dir/short.txt" -c 128 || fail "text shorter than a chunk"
	$expect 2 "^lfm2-run: -c 3: chunks of at least 4 tokens" "$run" --perplexity "$text" -c 3 || fail "-c 3"
	$expect 2 "^lfm2-run: -c 4096: the model has 2048 positions" \
		"$run" --perplexity "$text" -c 4096 --kld-base "$dir/out/c4096.kld" || fail "-c past max_position"
	$expect 2 "^lfm2-run: --kld $dir/base.kld: made with chunks of 128 tokens, not 64 \\(leave -c out" \
		"$run" --perplexity "$text" --kld "$dir/base.kld" -c 64 || fail "other ctx"
	$expect 2 "^lfm2-run: --kld $dir/base.kld: made from 2 chunks, not 3 " \
		"$run" --perplexity "$text" --kld "$dir/base.kld" --chunks 3 || fail "other chunk count"
	$expect 2 "^lfm2-run: --kld $dir/base.kld: made from other tokens \\(another text or tokenizer" \
		"$run" --perplexity "$dir/other.txt" --kld "$dir/base.kld" || fail "other text"
	$expect 2 "^lfm2-run: --kld $dir/trunc.kld: truncated: $((size - 100)) bytes, the header promises $size " \
		"$run" --perplexity "$text" --kld "$dir/trunc.kld" || fail "truncated .kld"
	$expect 2 "^lfm2-run: --kld $dir/corrupt.kld: corrupt: the records' hash does not match" \
		"$run" --perplexity "$text" --kld "$dir/corrupt.kld" || fail "corrupt .kld"
	$expect 2 "^lfm2-run: --kld $text: not a .kld file \\(bad magic" \
		"$run" --perplexity "$text" --kld "$text" || fail "not a .kld"
	$expect 2 "^lfm2-run: --kld $dir/missing.kld: cannot open: No such file" \
		"$run" --perplexity "$text" --kld "$dir/missing.kld" || fail "missing .kld"
	$expect 1 "^lfm2-run: --kld-base $dir/nodir/b.kld: cannot create: No such file" \
		"$run" --perplexity "$text" -c $CTX --chunks 1 --kld-base "$dir/nodir/b.kld" || fail "--kld-base in no dir"
	$expect 2 "^lfm2-run: --kld-base and --kld exclude each other" \
		"$run" --perplexity "$text" --kld-base "$dir/x.kld" --kld "$dir/base.kld" || fail "both"
	$expect 2 "^lfm2-run: --chunks: only with --perplexity" "$run" --tokens 1,2 --chunks 2 || fail "--chunks alone"
	$expect 2 "^lfm2-run: --perplexity cannot be combined with" \
		"$run" --perplexity "$text" -p hello || fail "--perplexity -p"
	# a base run killed half way leaves nothing: not the file, not a temporary
	"$run" --perplexity "$text" -c 16 --kld-base "$dir/out/killed.kld" -t 1 >/dev/null 2>"$dir/killed.err" &
	pid=$!
	i=0
	while ! grep -q '\[3\]' "$dir/killed.err" 2>/dev/null && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	kill -9 $pid 2>/dev/null
	wait $pid
	st=$?
	[ $st -eq 137 ] || fail "the --kld-base run was not killed in time (exit $st)"
	[ -z "$(ls -A "$dir/out")" ] || fail "a killed --kld-base run left $(ls -A "$dir/out")"
	;;
quant_report)
	dir=$tmp/report
	rm -rf "$dir" && mkdir -p "$dir"
	"$lfm2c" dequant "$tt" -q q4_0 -o "$dir/dq" >/dev/null || fail "dequant exited $?"
	"$lfm2c" compile "$dir/dq" -o "$dir/dq-build" --fuse none || fail "compiling the dequantized model"
	"$tmp/f32/lfm2-run" --perplexity "$text" -c 32 --chunks 2 --kld-base "$dir/base.kld" -t 1 >"$dir/base.out" \
		2>/dev/null || fail "the base run exited $?"
	"$dir/dq-build/lfm2-run" --perplexity "$text" --kld "$dir/base.kld" -t 1 >"$dir/dq.out" 2>/dev/null ||
		fail "the --kld run exited $?"
	cat "$dir/base.out" "$dir/dq.out"
	"$lfm2c" quant-report "$tt" -q q4_0 --eval-text "$text" --eval-ctx 32 --eval-chunks 2 --json "$dir/r.json" \
		>"$dir/r.txt" || fail "quant-report --eval-text exited $?"
	cat "$dir/r.txt"
	grep -q "^positions: 30 predictions of $text ([0-9]* tokens): 2 chunks of 32, " "$dir/r.txt" ||
		fail "the report does not say which positions it scored"
	grep -q "KLD mean  *+-  *KLD p99 .* PPL  *+-" "$dir/r.txt" || fail "the table lacks the +- and PPL columns"
	"$check" report "$dir/r.json" q4_0 "$dir/base.out" "$dir/dq.out" "$dir/base.kld" || fail "check_eval report"
	qr="$lfm2c quant-report $tt -q q4_0"   # split into words below (the paths have no spaces)
	$expect 1 "^lfm2c: quant-report: --eval-text $dir/missing.txt: cannot open" \
		$qr --eval-text "$dir/missing.txt" || fail "missing text"
	$expect 1 "^lfm2c: quant-report: --eval-text $text: 7747 tokens, fewer than one chunk of 8000 \\(lower --eval-ctx\\)" \
		$qr --eval-text "$text" --eval-ctx 8000 || fail "text shorter than a chunk"
	$expect 1 "^lfm2c: quant-report: --eval-chunks needs --eval-text FILE" $qr --eval-chunks 2 || fail "--eval-chunks alone"
	$expect 1 "^lfm2c: quant-report: --eval-ctx takes an integer in 4\\.\\." $qr --eval-text "$text" --eval-ctx 2 ||
		fail "--eval-ctx 2"
	$expect 1 "^lfm2c: quant-report: --seqs, --len and --seed choose random sequences" \
		$qr --eval-text "$text" --seqs 2 || fail "--seqs with --eval-text"
	;;
variants)
	dir=$tmp/variants
	rm -rf "$dir" && mkdir -p "$dir"
	"$lfm2c" variants "$tt" "$root/examples/variants/q8_0.json" -o "$dir/out" --threads 1 --runs 1 --prefill 16 \
		--decode 4 --cache --keep-builds --eval-text "$text" --eval-ctx $CTX --eval-chunks $CHUNKS >"$dir/table" ||
		fail "variants --eval-text exited $?"
	cat "$dir/table"
	grep -q "top-1 on $text: $CHUNKS chunks of $CTX, $((CHUNKS * (CTX - 1 - CTX / 2))) predictions" "$dir/table" ||
		fail "the table does not say which positions it scored"
	grep -q "KLD  *+-  *top-1  *PPL  *dPPL" "$dir/table" || fail "the table lacks the text's columns"
	head -1 "$dir/out/variants.csv" | grep -q ",top1,error,kld_err,kld_p99,kld_max,ppl,ppl_err,dppl,dppl_err$" ||
		fail "variants.csv lacks the text's columns"
	b=$dir/out/builds
	[ -e "$b/f32-reference.kld" ] || fail "no f32-reference.kld among the kept builds"
	k=0
	while [ $k -lt $CHUNKS ]; do
		for v in f32-reference v1-q8_0; do
			"$b/$v/lfm2-run" --tokens "$(cat "$dumps/chunk-$k.ids")" --logits "$dir/$v-$k.npy" -t 1 2>/dev/null ||
				fail "dumping $v"
		done
		cp "$dumps/chunk-$k.ids" "$dir/"
		k=$((k + 1))
	done
	"$check" variants "$dir/out/variants.json" q8_0 $CTX $CHUNKS "$dir" f32-reference v1-q8_0 ||
		fail "check_eval variants"
	;;
*)
	echo "eval.sh: unknown mode $mode"
	exit 2
	;;
esac
[ $fails -eq 0 ] || { echo "eval $mode: $fails failure(s)"; exit 1; }
echo "eval $mode: passed"
