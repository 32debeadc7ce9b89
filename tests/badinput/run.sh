#!/bin/sh
# run.sh LFM2C FIXTURES TMP — bad input through the whole command line.
#
# Every case must fail with a non-zero exit, print exactly one error line
# on stderr naming the file (or flag) and the problem, print nothing on
# stdout, and leave no output behind.  (File-format cases in depth are in
# tests/frontend; flag cases of lfm2-run in tests/runtime.)  Cases that use
# a checkpoint with a tokenizer take examples/trained-tiny, found from
# FIXTURES (PROJECT/tests/fixtures).
set -u
lfm2c=$1 fx=$2 tmp=$3
rm -rf "$tmp"
mkdir -p "$tmp"
fails=0
n=0

# case NAME STATUS REGEX COMMAND... : exit status, one stderr line matching REGEX, empty stdout
case_() {
	name=$1 want=$2 regex=$3
	shift 3
	n=$((n + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$st" -ne "$want" ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ] || ! grep -Eq -- "$regex" "$tmp/err"; then
		echo "FAIL $name: exit $st (want $want), $lines stderr lines, stdout $(wc -c <"$tmp/out") bytes:"
		sed 's/^/    /' "$tmp/err" | head -5
		fails=$((fails + 1))
	else
		echo "ok   $name: $(cat "$tmp/err")"
	fi
}

# no artifact left: the directory must not exist (or be empty) after a failed compile
no_output() {
	n=$((n + 1))
	if [ -e "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
		echo "FAIL $2: output left behind in $1: $(ls -A "$1" | tr '\n' ' ')"
		fails=$((fails + 1))
	else
		echo "ok   $2: no output left behind"
	fi
}

# setup COMMAND...: a step the cases below need; its failure is one too
setup() {
	"$@" 2>"$tmp/setup.err" && return 0
	echo "FAIL setup: $* exited with status $?:"
	sed 's/^/    /' "$tmp/setup.err" | head -5
	fails=$((fails + 1))
}

# a model directory with one thing broken
broken() {   # broken NAME: copy of the tiny fixture in $tmp/NAME
	rm -rf "$tmp/$1"
	cp -r "$fx/tiny" "$tmp/$1"
	echo "$tmp/$1"
}

m=$(broken trunc)
head -c 1000 "$fx/tiny/model.safetensors" >"$m/model.safetensors"
case_ compile_truncated_safetensors 1 "model.safetensors" "$lfm2c" compile "$m" -o "$tmp/o_trunc"
no_output "$tmp/o_trunc" compile_truncated_safetensors

m=$(broken badjson)
printf '{"hidden_size": 64,' >"$m/config.json"
case_ compile_malformed_config 1 "config.json" "$lfm2c" compile "$m" -o "$tmp/o_badjson"
no_output "$tmp/o_badjson" compile_malformed_config

m=$(broken notobj)
printf '[1, 2, 3]\n' >"$m/config.json"
case_ compile_config_not_object 1 "config.json" "$lfm2c" compile "$m" -o "$tmp/o_notobj"

m=$(broken missing)
rm "$m/model.safetensors"
case_ compile_missing_weights 1 "model.safetensors" "$lfm2c" compile "$m" -o "$tmp/o_missing"
no_output "$tmp/o_missing" compile_missing_weights

case_ compile_missing_model_dir 1 "no/such/dir" "$lfm2c" compile "$tmp/no/such/dir" -o "$tmp/o_nodir"

: >"$tmp/a_file"
case_ compile_output_is_a_file 1 "a_file" "$lfm2c" compile "$fx/tiny" -o "$tmp/a_file"
case_ compile_output_under_a_file 1 "a_file" "$lfm2c" compile "$fx/tiny" -o "$tmp/a_file/sub"
case_ compile_unknown_flag 1 "--frobnicate" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_flag" --frobnicate
no_output "$tmp/o_flag" compile_unknown_flag
case_ compile_no_output_flag 1 "usage|-o" "$lfm2c" compile "$fx/tiny"

# compile's weight-format, fusion and schedule flags
case_ compile_unknown_format 1 "unknown format 'q9' for -q" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" -q q9
no_output "$tmp/o_q" compile_unknown_format
case_ compile_format_no_value 1 "-q needs a value" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" -q
case_ compile_override_no_equals 1 "bad quant override 'embed'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --quant-override embed
case_ compile_override_bad_format 1 "unknown format 'int4'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --quant-override "*w1*=int4"
case_ compile_unknown_fusion 1 "unknown fusion 'qkvo'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --fuse qkv,qkvo
case_ compile_schedule_missing 1 "nowhere.json: cannot open" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/nowhere.json"
printf '{"version": 1, "tilez": {}}\n' >"$tmp/s_key.json"
case_ compile_schedule_unknown_key 1 "s_key.json: key 'tilez': unknown key" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_key.json"
printf '{"version": 1, "unroll": "4"}\n' >"$tmp/s_type.json"
case_ compile_schedule_wrong_type 1 "s_type.json: key 'unroll': must be an integer" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_type.json"
printf '{"version": 1, "tiles": {"matmul": {"mr": 9}}}\n' >"$tmp/s_mr.json"
case_ compile_schedule_tile_too_big 1 "s_mr.json: key 'tiles.matmul.mr': .*at most 8" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_mr.json"
no_output "$tmp/o_q" compile_schedule_tile_too_big
printf '{"version": 1, "unroll": 8}\n' >"$tmp/s_unroll.json"
case_ compile_schedule_unroll 1 "s_unroll.json: key 'unroll': .*at most 4" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_unroll.json"
printf '{"version": 1, "threads": {"split": "rows"}}\n' >"$tmp/s_split.json"
case_ compile_schedule_split_rows 1 "s_split.json: key 'threads.split'" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_split.json"
printf '{"version": 1, "threads": {"count": -2}}\n' >"$tmp/s_threads.json"
case_ compile_schedule_threads 1 "s_threads.json: key 'threads.count': no longer a schedule key: .*lfm2-run -t N" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_threads.json"
printf '{"version": 1}\n' >"$tmp/s_ok.json"
case_ compile_schedule_twice 1 "--schedule given twice" "$lfm2c" compile "$fx/tiny" -o "$tmp/o_q" --schedule "$tmp/s_ok.json" --schedule "$tmp/s_ok.json"
no_output "$tmp/o_q" compile_schedule_twice
# --emit lib: its flag, and a target without binutils (a C compiler that
# names an objcopy that is not there), refused before any work
case_ compile_lib_prefix_without_lib 1 "--lib-prefix needs --emit lib" \
	"$lfm2c" compile "$fx/tiny" -o "$tmp/o_lib" --lib-prefix tiny
case_ compile_lib_prefix_not_identifier 1 "--lib-prefix 'my-model' is not a C identifier" \
	"$lfm2c" compile "$fx/tiny" -o "$tmp/o_lib" --emit lib --lib-prefix my-model
printf '#!/bin/sh\ncase "$1" in -print-prog-name=*) echo "/nonexistent/${1#*=}" ;; *) exec cc "$@" ;; esac\n' \
	>"$tmp/cc_no_binutils"
chmod +x "$tmp/cc_no_binutils"
case_ compile_lib_no_objcopy 1 "--emit lib needs objcopy for the target \\(Debian package binutils" \
	"$lfm2c" compile "$fx/tiny" -o "$tmp/o_lib" --emit lib --cc "$tmp/cc_no_binutils"
no_output "$tmp/o_lib" compile_lib_no_objcopy
case_ unknown_command 2 "frobnicate" "$lfm2c" frobnicate
case_ inspect_missing_dir 1 "nowhere" "$lfm2c" inspect "$tmp/nowhere"

# a weights blob that does not belong to the compiled code
setup "$lfm2c" compile "$fx/tiny" -o "$tmp/a"
setup "$lfm2c" compile "$fx/mqa" -o "$tmp/b"
case_ run_foreign_weights 1 "weights.bin" "$tmp/a/lfm2-run" -m "$tmp/b/weights.bin" --tokens 1,2,3 -n 2
cp "$tmp/a/weights.bin" "$tmp/flipped.bin"
printf '\001' | dd of="$tmp/flipped.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
case_ run_corrupted_weights 1 "flipped.bin" "$tmp/a/lfm2-run" -m "$tmp/flipped.bin" --tokens 1,2,3 -n 2
head -c 3000 "$tmp/a/weights.bin" >"$tmp/short.bin"
case_ run_truncated_weights 1 "short.bin" "$tmp/a/lfm2-run" -m "$tmp/short.bin" --tokens 1,2,3 -n 2
case_ run_missing_weights 1 "nothere.bin" "$tmp/a/lfm2-run" -m "$tmp/nothere.bin" --tokens 1,2,3 -n 2
case_ run_token_out_of_range 2 "512" "$tmp/a/lfm2-run" --tokens 1,512 -n 2
case_ run_non_numeric_token 2 "abc|token" "$tmp/a/lfm2-run" --tokens 1,abc -n 2
case_ run_unknown_flag 2 "--bogus" "$tmp/a/lfm2-run" --tokens 1 --bogus
case_ run_negative_n 2 "-n" "$tmp/a/lfm2-run" --tokens 1 -n -3
case_ run_context_too_small 2 "context|ctx|-c" "$tmp/a/lfm2-run" --tokens 1,2,3,4 -n 8 -c 4
# -c past the model's positions (4096), and a context whose KV cache and
# scratch exceed the memory available (LFM2_MEMINFO: a meminfo stand-in with
# MemAvailable 1 MiB): one line each, before any allocation
case_ run_context_past_max_position 2 "-c 4097: the model has 4096 positions" "$tmp/a/lfm2-run" --tokens 1,2 -n 2 -c 4097
printf 'MemTotal:       2048 kB\nMemFree:        1024 kB\nMemAvailable:   1024 kB\n' >"$tmp/meminfo"
case_ run_context_no_memory 2 "-c 4096 needs [0-9]+ MiB \\(KV cache [0-9]+ MiB, scratch [0-9]+ MiB\\) and 1 MiB of memory is available" \
	env LFM2_MEMINFO="$tmp/meminfo" "$tmp/a/lfm2-run" --tokens 1,2 -n 2 -c 4096
case_ run_logits_unwritable 1 "nodir" "$tmp/a/lfm2-run" --tokens 1,2 --logits "$tmp/nodir/x.npy"

# ---------------------------------------------------------------- not regular files
# A FIFO (or a directory) where a file is expected: refused at once with
# "not a regular file (a FIFO)" — never a hang; every FIFO case is bounded
# by `timeout 10`, so a regression fails (exit 124) instead of blocking.
ex="$fx/../../examples/trained-tiny"   # a checkpoint with tokenizer.json
fifo() { rm -rf "$1"; mkfifo "$1"; }
dir_() { rm -rf "$1"; mkdir "$1"; }

m=$(broken fifo_st)
fifo "$m/model.safetensors"
case_ compile_fifo_safetensors 1 "model.safetensors: not a regular file \(a FIFO\)" \
	timeout 10 "$lfm2c" compile "$m" -o "$tmp/o_fifo"
no_output "$tmp/o_fifo" compile_fifo_safetensors
m=$(broken fifo_cfg)
fifo "$m/config.json"
case_ compile_fifo_config 1 "config.json: not a regular file \(a FIFO\)" timeout 10 "$lfm2c" compile "$m" -o "$tmp/o_fifo"
no_output "$tmp/o_fifo" compile_fifo_config
case_ inspect_fifo_config 1 "config.json: not a regular file \(a FIFO\)" timeout 10 "$lfm2c" inspect "$m"
m=$(broken fifo_tok)
fifo "$m/tokenizer.json"
case_ compile_fifo_tokenizer_json 1 "tokenizer.json: not a regular file \(a FIFO\)" \
	timeout 10 "$lfm2c" compile "$m" -o "$tmp/o_fifo"
no_output "$tmp/o_fifo" compile_fifo_tokenizer_json
m=$(broken fifo_gen)
fifo "$m/generation_config.json"
case_ compile_fifo_generation_config 1 "generation_config.json: not a regular file \(a FIFO\)" \
	timeout 10 "$lfm2c" compile "$m" -o "$tmp/o_fifo"
fifo "$tmp/s_fifo.json"
case_ compile_fifo_schedule 1 "s_fifo.json: not a regular file \(a FIFO\)" \
	timeout 10 "$lfm2c" compile "$fx/tiny" -o "$tmp/o_fifo" --schedule "$tmp/s_fifo.json"
no_output "$tmp/o_fifo" compile_fifo_schedule

m=$(broken dir_st)
dir_ "$m/model.safetensors"
case_ compile_dir_safetensors 1 "model.safetensors: not a regular file \(a directory\)" \
	"$lfm2c" compile "$m" -o "$tmp/o_dir"
no_output "$tmp/o_dir" compile_dir_safetensors
m=$(broken dir_cfg)
dir_ "$m/config.json"
case_ compile_dir_config 1 "config.json: not a regular file \(a directory\)" "$lfm2c" compile "$m" -o "$tmp/o_dir"
m=$(broken dir_tok)
dir_ "$m/tokenizer.json"
case_ compile_dir_tokenizer_json 1 "tokenizer.json: not a regular file \(a directory\)" \
	"$lfm2c" compile "$m" -o "$tmp/o_dir"
no_output "$tmp/o_dir" compile_dir_tokenizer_json
dir_ "$tmp/s_dir.json"
case_ compile_dir_schedule 1 "s_dir.json: not a regular file \(a directory\)" \
	"$lfm2c" compile "$fx/tiny" -o "$tmp/o_dir" --schedule "$tmp/s_dir.json"
case_ compile_devnull_schedule 1 "/dev/null: not a regular file \(a character device\)" \
	timeout 10 "$lfm2c" compile "$fx/tiny" -o "$tmp/o_dir" --schedule /dev/null

m=$(broken fifo_side)   # dequant copies the side files it finds
fifo "$m/special_tokens_map.json"
case_ dequant_fifo_side_file 1 "special_tokens_map.json: not a regular file \(a FIFO\)" \
	timeout 10 "$lfm2c" dequant "$m" -q q8_0 -o "$tmp/o_deq"
no_output "$tmp/o_deq" dequant_fifo_side_file

# lfm2-run: the weights, the tokenizer table, -f FILE ($tmp/t: a model with text)
setup "$lfm2c" compile "$ex" -o "$tmp/t"
fifo "$tmp/w_fifo.bin"
case_ run_fifo_weights 1 "w_fifo.bin: not a regular file \(a FIFO\)" \
	timeout 10 "$tmp/a/lfm2-run" -m "$tmp/w_fifo.bin" --tokens 1,2,3 -n 2
dir_ "$tmp/w_dir.bin"
case_ run_dir_weights 1 "w_dir.bin: not a regular file \(a directory\)" \
	"$tmp/a/lfm2-run" -m "$tmp/w_dir.bin" --tokens 1,2,3 -n 2
fifo "$tmp/t_fifo.bin"
case_ run_fifo_tokenizer 1 "t_fifo.bin: not a regular file \(a FIFO\)" \
	timeout 10 "$tmp/t/lfm2-run" --tokenizer "$tmp/t_fifo.bin" -p hello -n 2
dir_ "$tmp/t_dir.bin"
case_ run_dir_tokenizer 1 "t_dir.bin: not a regular file \(a directory\)" \
	"$tmp/t/lfm2-run" --tokenizer "$tmp/t_dir.bin" -p hello -n 2
fifo "$tmp/p_fifo.txt"
case_ run_fifo_prompt_file 2 "-f .*p_fifo.txt: not a regular file \(a FIFO\)" \
	timeout 10 "$tmp/t/lfm2-run" -f "$tmp/p_fifo.txt" -n 2
dir_ "$tmp/p_dir.txt"
case_ run_dir_prompt_file 2 "-f .*p_dir.txt: not a regular file \(a directory\)" \
	"$tmp/t/lfm2-run" -f "$tmp/p_dir.txt" -n 2

# ---------------------------------------------------------------- found at compile time
# What the runtime would otherwise meet later: ids outside the vocabulary,
# sampling defaults outside the sampler's ranges.
m=$(broken bigvocab)   # the trained tokenizer has 2048 ids, tiny's vocab_size is 512
cp "$ex/tokenizer.json" "$ex/tokenizer_config.json" "$m/"
case_ compile_tokenizer_vocab_too_big 1 "tokenizer.json: has token ids up to 2047 but config.json's vocab_size is 512" \
	"$lfm2c" compile "$m" -o "$tmp/o_voc"
no_output "$tmp/o_voc" compile_tokenizer_vocab_too_big
m=$(broken eos_range)
sed 's/"eos_token_id": 7/"eos_token_id": 512/' "$fx/tiny/config.json" >"$m/config.json"
case_ compile_eos_out_of_range 1 "config.json: key 'eos_token_id' is 512: not a token id of the vocabulary \(vocab_size 512\)" \
	"$lfm2c" compile "$m" -o "$tmp/o_voc"
no_output "$tmp/o_voc" compile_eos_out_of_range
sed 's/"eos_token_id": 7/"eos_token_id": [7, 9000]/' "$fx/tiny/config.json" >"$m/config.json"
case_ compile_eos_list_out_of_range 1 "config.json: key 'eos_token_id' element 1 is 9000: not a token id" \
	"$lfm2c" compile "$m" -o "$tmp/o_voc"
sed 's/"bos_token_id": 1/"bos_token_id": -1/' "$fx/tiny/config.json" >"$m/config.json"
case_ compile_bos_negative 1 "config.json: key 'bos_token_id' must be a non-negative integer \(got -1\)" \
	"$lfm2c" compile "$m" -o "$tmp/o_voc"

# generation_config.json of a checkpoint with a tokenizer (the file is read with it)
gencase() {   # gencase NAME REGEX JSON
	rm -rf "$tmp/g_$1"
	cp -r "$ex" "$tmp/g_$1"
	printf '%s\n' "$3" >"$tmp/g_$1/generation_config.json"
	case_ "$1" 1 "$2" "$lfm2c" compile "$tmp/g_$1" -o "$tmp/o_gen"
	no_output "$tmp/o_gen" "$1"
}
gencase compile_gen_top_p_out_of_range "generation_config.json: top_p is 1.5 \(expected a number in \(0, 1\]\)" \
	'{"top_p": 1.5}'
gencase compile_gen_top_p_1e400 "generation_config.json: top_p is a number that overflows a double" '{"top_p": 1e400}'
gencase compile_gen_temperature_negative "generation_config.json: temperature is -1 \(expected a number >= 0\)" \
	'{"temperature": -1}'
gencase compile_gen_top_k_negative "generation_config.json: top_k is -3" '{"top_k": -3}'
gencase compile_gen_min_p_out_of_range "generation_config.json: min_p is 2" '{"min_p": 2}'
gencase compile_gen_repetition_penalty_tiny \
	"generation_config.json: repetition_penalty is 1e-38 \(expected a number in \[0.01, 100\]\)" \
	'{"repetition_penalty": 1e-38}'
gencase compile_gen_eos_out_of_range "generation_config.json: eos_token_id\[1\] is 2048: not a token id of the vocabulary \(config.json's vocab_size 2048\)" \
	'{"eos_token_id": [7, 2048]}'
gencase compile_gen_pad_not_an_id "generation_config.json: pad_token_id is \"0\" \(expected a token id" \
	'{"pad_token_id": "0"}'
# config.json's number too large for a double is named as such, not "null"
m=$(broken theta_inf)
sed 's/"rope_theta": 1000000.0/"rope_theta": 1e400/' "$fx/tiny/config.json" >"$m/config.json"
case_ compile_config_number_overflows 1 "config.json: key 'rope_theta' must be a positive number \(got a number that overflows a double\)" \
	"$lfm2c" compile "$m" -o "$tmp/o_voc"

# an RMSNorm weight folded into the matmul it feeds: 3e38 x 2 overflows f32
m=$(broken fold)
set_first_f32() {   # set_first_f32 FILE TENSOR BYTES: the tensor's first F32 value := BYTES (printf escapes)
	hlen=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	off=$(dd if="$1" bs=1 skip=8 count="$hlen" 2>/dev/null | tr '}' '\n' | grep "\"$2\"" |
		sed 's/.*"data_offsets":\[\([0-9]*\),.*/\1/')
	printf "$3" | dd of="$1" bs=1 seek=$((8 + hlen + off)) conv=notrunc 2>/dev/null
}
set_first_f32 "$m/model.safetensors" model.layers.0.feed_forward.w1.weight '\346\261\141\177'   # 3e38
set_first_f32 "$m/model.safetensors" model.layers.0.ffn_norm.weight '\000\000\000\100'            # 2
case_ compile_fold_overflows_f32 1 "folding model.layers.0.ffn_norm.weight into model.layers.0.feed_forward.w1.weight overflows f32 at row 0, column 0 \(3e\+38 x 2 = 6e\+38" \
	"$lfm2c" compile "$m" -o "$tmp/o_fold"
no_output "$tmp/o_fold" compile_fold_overflows_f32

# ---------------------------------------------------------------- sampling flags
case_ run_repeat_penalty_tiny 2 "--repeat-penalty: must be in \[0.01, 100\] \(1 = off\), got 1e-38" \
	"$tmp/a/lfm2-run" --tokens 1,2,3 -n 2 --temp 1 --repeat-penalty 1e-38
case_ run_repeat_penalty_huge 2 "--repeat-penalty: must be in \[0.01, 100\]" \
	"$tmp/a/lfm2-run" --tokens 1,2,3 -n 2 --repeat-penalty 1000
case_ run_temp_overflows_float 2 "--temp: 1e39 is too large" "$tmp/a/lfm2-run" --tokens 1,2,3 -n 2 --temp 1e39

# ---------------------------------------------------------------- failed writes say why
# stdout on a full disk (/dev/full): the reason of the failing call, not a
# bare "cannot write" nor a stale errno
case_ interp_logits_unwritable 1 "nodir/x.npy: cannot create: No such file or directory" \
	"$lfm2c" interp "$fx/tiny" --tokens 1,2 --logits "$tmp/nodir/x.npy"
if [ -w /dev/full ]; then
	full() { "$@" >/dev/full; }
	case_ run_stdout_full 1 "error writing to stdout: No space left on device" \
		full "$tmp/a/lfm2-run" --tokens 1,2,3 -n 2
	case_ run_text_stdout_full 1 "error writing to stdout: No space left on device" \
		full "$tmp/t/lfm2-run" -p hello -n 4
	case_ inspect_stdout_full 1 "inspect: error writing the report to stdout: No space left on device" \
		full "$lfm2c" inspect "$fx/tiny"
	case_ tokenize_stdout_full 1 "tokenize: cannot write the output: No space left on device" \
		full "$lfm2c" tokenize "$ex" hello
fi

echo "$((n - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
