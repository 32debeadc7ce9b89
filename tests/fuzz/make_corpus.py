#!/usr/bin/python3
"""Write the seed corpora of the fuzz harnesses (tests/fuzz/corpus/NAME/).

Dev-time only, like tests/fixtures/make_fixtures.py: the seeds are
committed and the tests never run Python.  Standard library only, plus an
lfm2c binary for what only lfm2c can make (a small checkpoint, tokenizer
tables, a weights blob):

    python3 tests/fuzz/make_corpus.py BUILD/driver/lfm2c

Every seed is small (the largest are the weights blobs, ~10 KB) and named
for what it is: valid-* inputs come from the test fixtures (configs,
tokenizers, tokenizer vectors, logits, schedules) or from `lfm2c synth` /
`lfm2c compile` at the shape of FUZZ_SMALL_CONFIG (fuzz_util.c); bad-*
inputs are each broken in one way the parser must catch.  The directories
are rewritten as a whole, except files named crash-* (reproducers of bugs
the fuzzers found), which are kept.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
FIX = os.path.join(ROOT, "tests", "fixtures")
TOKDATA = os.path.join(ROOT, "tests", "tokenizer", "data")

# lfm2c synth settings giving the model of FUZZ_SMALL_CONFIG (fuzz_util.c).
SMALL_SET = ["vocab_size=16", "hidden_size=8", "num_attention_heads=2", "num_key_value_heads=1",
             "block_ff_dim=16", "block_multiple_of=8", "num_hidden_layers=2",
             'layer_types=["conv","full_attention"]']


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


class Corpus:
    def __init__(self, name):
        self.dir = os.path.join(CORPUS, name)
        os.makedirs(self.dir, exist_ok=True)
        for f in os.listdir(self.dir):
            if not f.startswith("crash-"):
                os.unlink(os.path.join(self.dir, f))

    def put(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


def lfm2c(exe, *args, env=None):
    subprocess.run([exe, *args], check=True, stdout=subprocess.DEVNULL, env=env)


# ------------------------------------------------------------ safetensors

def st_parse(data):
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        tensors[name] = (e["dtype"], e["shape"], body[b:end])
    return tensors


def st_build(entries, metadata=None, header_override=None):
    """entries: list of (name, dtype, shape, bytes), laid out in order."""
    header, body = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def to_f16(raw_f32):
    vals = struct.unpack("<%df" % (len(raw_f32) // 4), raw_f32)
    return struct.pack("<%de" % len(vals), *vals)


def make_safetensors(exe, tmp):
    c = Corpus("safetensors")
    out = {}
    for dtype in ("f32", "bf16"):
        d = os.path.join(tmp, "small-" + dtype)
        args = ["synth", "tiny", "-o", d, "--dtype", dtype]
        for s in SMALL_SET:
            args += ["--set", s]
        lfm2c(exe, *args)
        out[dtype] = read(os.path.join(d, "model.safetensors"))
        c.put("valid-%s.safetensors" % dtype, out[dtype])
    t32 = st_parse(out["f32"])
    names = sorted(t32)
    entries = [(n, t32[n][0], t32[n][1], t32[n][2]) for n in names]
    # F16 everywhere, tensors in reverse file order, metadata, one unused tensor.
    f16 = [(n, "F16", s, to_f16(raw)) for n, _, s, raw in reversed(entries)]
    c.put("valid-f16-extra-tensor.safetensors",
          st_build(f16 + [("extra.bias", "F32", [2], struct.pack("<2f", 1, 2))], metadata={"format": "pt"}))
    # Mixed dtypes, with an empty tensor placed anywhere.
    tb = st_parse(out["bf16"])
    mixed = [(n, *(tb[n] if i % 2 else t32[n])) for i, n in enumerate(names)]
    c.put("valid-mixed-dtypes.safetensors", st_build(mixed + [("zz.empty", "F32", [0, 4], b"")]))

    c.put("bad-short.safetensors", b"\x10\x00\x00")
    c.put("bad-header-length-huge.safetensors", b"\xff" * 8 + b"{}")
    c.put("bad-header-past-end.safetensors", struct.pack("<Q", 64) + b'{"a":1}')
    c.put("bad-header-not-object.safetensors", st_build([], header_override="[1,2]"))
    c.put("bad-header-trailing.safetensors", st_build([], header_override='{} {}'))
    e0 = entries[0]
    c.put("bad-dtype-i8.safetensors", st_build([(e0[0], "I8", [len(e0[3])], e0[3])]))
    c.put("bad-shape-mismatch.safetensors", st_build([(e0[0], "F32", [3, 3], e0[3][:32])]))
    c.put("bad-five-dims.safetensors", st_build([(e0[0], "F32", [1, 1, 1, 1, 2], e0[3][:8])]))
    hdr = ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
           '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}')
    c.put("bad-overlap.safetensors", st_build([("x", "F32", [3], b"\0" * 12)], header_override=hdr))
    hdr = ('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
           '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')
    c.put("bad-duplicate-name.safetensors", st_build([("x", "F32", [2], b"\0" * 8)], header_override=hdr))
    hdr = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}'
    c.put("bad-offsets-reversed.safetensors", st_build([("x", "F32", [2], b"\0" * 8)], header_override=hdr))
    c.put("bad-truncated-data.safetensors", out["f32"][:len(out["f32"]) // 2])
    c.put("bad-missing-tensor.safetensors", st_build(entries[1:]))
    w1 = [e for e in entries if e[0].endswith("feed_forward.w1.weight")][0]
    wrong = [(n, d, ([s[1], s[0]] if n == w1[0] else s), r) for n, d, s, r in entries]
    c.put("bad-transposed-w1.safetensors", st_build(wrong))
    return names


# ------------------------------------------------------------------ index

def make_index(names):
    c = Corpus("index")
    half = len(names) // 2
    s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    wm = {n: (s1 if i < half else s2) for i, n in enumerate(names)}

    def index(weight_map, **extra):
        return json.dumps(dict(extra, weight_map=weight_map), indent=1)

    c.put("valid.json", index(wm, metadata={"total_size": 5696}))
    c.put("valid-one-unlisted.json", index({k: v for k, v in wm.items() if k != names[1]}))
    c.put("bad-extra-shard-holds-a-copy.json", index(dict(wm, **{"extra.weight": "extra.safetensors"})))
    c.put("bad-tensor-in-two-shards.json", index(dict(wm, **{"extra.weight": "extra.safetensors",
                                                             names[0]: "extra.safetensors"})))
    c.put("bad-wrong-shard.json", index(dict(wm, **{names[0]: s2})))
    c.put("bad-outside-dir.json", index(dict(wm, **{names[0]: "../" + s1})))
    c.put("bad-missing-shard.json", index(dict(wm, **{names[0]: "model-00003-of-00003.safetensors"})))
    c.put("bad-shard-is-config.json", index(dict(wm, **{names[0]: "config.json"})))
    c.put("bad-shard-is-dir.json", index(dict(wm, **{names[0]: "."})))
    c.put("bad-shard-not-string.json", index(dict(wm, **{names[0]: 1})))
    c.put("bad-empty-map.json", index({}))
    c.put("bad-map-array.json", '{"weight_map": ["a", "b"]}')
    c.put("bad-not-object.json", "[]")
    c.put("bad-trailing.json", index(wm) + "}")


# ----------------------------------------------------------------- config

def make_config():
    c = Corpus("config")
    for v in ("tiny", "hf5", "full_attn_idxs", "ffn_mult_null", "no_auto_adjust", "all_attn", "conv_bias_L4"):
        c.put("valid-fixture-%s.json" % v, read(os.path.join(FIX, v, "config.json")))
    real = os.path.join(ROOT, "tests", "frontend", "fixtures", "real_configs")
    for f in ("LFM2-350M.config.json", "LFM2-2.6B.config.json"):
        c.put("valid-" + f, read(os.path.join(real, f)))
    tiny = json.loads(read(os.path.join(FIX, "tiny", "config.json")))

    def bad(name, **changes):
        d = dict(tiny)
        for k, v in changes.items():
            if v is None:
                d.pop(k, None)
            else:
                d[k] = v
        c.put("bad-%s.json" % name, json.dumps(d, indent=1))

    bad("vocab-string", vocab_size="512")
    bad("heads-not-multiple", num_key_value_heads=3)
    bad("layer-types-unknown", layer_types=["conv", "mamba", "conv", "conv", "conv", "conv"])
    bad("layer-types-short", layer_types=["conv"])
    bad("rope-type", rope_parameters={"rope_type": "llama3", "rope_theta": 10000})
    bad("model-type", model_type="lfm2_moe")
    bad("eos-outside-vocab", eos_token_id=512)
    bad("ff-rule-zero", block_ff_dim=1, block_multiple_of=1, block_ffn_dim_multiplier=0.1)
    c.put("bad-truncated.json", read(os.path.join(FIX, "tiny", "config.json"))[:300])
    c.put("bad-not-object.json", "42")


# -------------------------------------------------------------- tokenizer

def small_tokenizer(src_dir, keep=330):
    """The tokenizer of src_dir cut to ids < keep (added tokens with larger
    ids are renumbered after them), merges kept where all three tokens are."""
    tj = json.loads(read(os.path.join(src_dir, "tokenizer.json")))
    vocab = tj["model"]["vocab"]
    new_vocab = {t: i for t, i in vocab.items() if i < keep}
    nxt = keep
    for a in tj["added_tokens"]:
        if a["id"] >= keep:
            if vocab.get(a["content"]) == a["id"]:
                new_vocab[a["content"]] = nxt
            a["id"] = nxt
            nxt += 1
    merges = []
    for m in tj["model"]["merges"]:
        l, r = m.split(" ") if isinstance(m, str) else m
        if l in new_vocab and r in new_vocab and l + r in new_vocab:
            merges.append(m)
    tj["model"]["vocab"] = new_vocab
    tj["model"]["merges"] = merges
    return tj


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def make_tokenizer_json(tmp):
    c = Corpus("tokenizer_json")
    tiny = small_tokenizer(os.path.join(TOKDATA, "tiny"))
    tokb = small_tokenizer(os.path.join(TOKDATA, "tok-b"))
    tiny_tmpl = read(os.path.join(TOKDATA, "tiny", "chat_template.jinja"))
    tokb_tmpl = read(os.path.join(TOKDATA, "tok-b", "chat_template.jinja"))
    cfg = {"bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>"}
    gen = {"temperature": 0.3, "top_k": 50, "top_p": 0.9, "min_p": 0.15, "repetition_penalty": 1.05,
           "do_sample": True, "eos_token_id": 7}
    z = b"\0"
    seeds = {
        "valid-tiny-alone.bin": dump(tiny),
        "valid-tiny-chatml.bin": dump(tiny) + z + dump(cfg) + z + tiny_tmpl,
        "valid-tiny-template-in-config.bin": dump(tiny) + z + dump(dict(cfg, chat_template=tiny_tmpl.decode())),
        "valid-tiny-generation.bin": dump(tiny) + z + dump(cfg) + z + tiny_tmpl + z + dump(gen),
        "valid-tokb-lfm25.bin": dump(tokb) + z + dump(cfg) + z + tokb_tmpl + z + b'{"temperature": null}',
    }
    for name, data in seeds.items():
        c.put(name, data)

    def broken(name, edit):
        t = json.loads(json.dumps(tiny))
        edit(t)
        c.put(name, dump(t))

    broken("bad-normalizer.bin", lambda t: t.update(normalizer={"type": "NFC"}))
    broken("bad-model-wordpiece.bin", lambda t: t["model"].update(type="WordPiece"))
    broken("bad-merge-unknown-token.bin", lambda t: t["model"]["merges"].append(["Ġ", "zzz"]))
    broken("bad-byte-fallback.bin", lambda t: t["model"].update(byte_fallback=True))
    broken("bad-regex.bin", lambda t: t["pre_tokenizer"]["pretokenizers"][0]["pattern"].update(Regex="\\s+"))
    c.put("bad-generation-top-p.bin", dump(tiny) + z + dump(cfg) + z + tiny_tmpl + z + b'{"top_p": 2}')
    c.put("bad-config-bos.bin", dump(tiny) + z + b'{"bos_token": "<|nope|>"}')
    c.put("bad-not-json.bin", b"{\"version\": \"1.0\", ")
    return {"tiny": (tiny, cfg, tiny_tmpl, gen), "tokb": (tokb, cfg, tokb_tmpl, None)}


def make_tables_and_blob(exe, tmp, toks):
    """Tokenizer tables and a weights blob, as `lfm2c compile` writes them:
    each small tokenizer compiled with a model of the small shape but a
    vocabulary that holds its ids, and the small model itself (no
    tokenizer) for the blob."""
    tables = {}
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))

    def compile_dir(d, out):
        lfm2c(exe, "compile", d, "-o", out, "--backend", "c", "--emit", "c", "--no-cache", env=env)

    for name, (tj, cfg, tmpl, gen) in toks.items():
        n_ids = 1 + max(list(tj["model"]["vocab"].values()) + [a["id"] for a in tj["added_tokens"]])
        d = os.path.join(tmp, "model-" + name)
        args = ["synth", "tiny", "-o", d]
        for s in SMALL_SET:
            args += ["--set", s if not s.startswith("vocab_size=") else "vocab_size=%d" % n_ids]
        lfm2c(exe, *args)
        with open(os.path.join(d, "tokenizer.json"), "wb") as f:
            f.write(dump(tj))
        with open(os.path.join(d, "tokenizer_config.json"), "wb") as f:
            f.write(dump(cfg))
        with open(os.path.join(d, "chat_template.jinja"), "wb") as f:
            f.write(tmpl)
        if gen:
            with open(os.path.join(d, "generation_config.json"), "wb") as f:
                f.write(dump(gen))
        out = os.path.join(tmp, "out-" + name)
        compile_dir(d, out)
        tables[name] = read(os.path.join(out, "tokenizer.bin"))
    out = os.path.join(tmp, "out-small")
    compile_dir(os.path.join(tmp, "small-f32"), out)
    return tables, read(os.path.join(out, "weights.bin"))


def fnv_fix(t):
    """Rewrites the total and checksum fields of a table after an edit."""
    t = bytearray(t)
    t[16:24] = struct.pack("<Q", len(t))
    h = 0xcbf29ce484222325
    for b in t[32:]:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    t[24:32] = struct.pack("<Q", h)
    return bytes(t)


def make_tokenizer_table(tables):
    c = Corpus("tokenizer_table")
    c.put("valid-tiny-chatml-generation.tok", tables["tiny"])
    c.put("valid-tokb-lfm25.tok", tables["tokb"])
    t = tables["tiny"]
    c.put("bad-magic.tok", b"LFM2TOX\0" + t[8:])
    c.put("bad-version-1.tok", fnv_fix(t[:8] + struct.pack("<I", 1) + t[12:]))
    c.put("bad-truncated.tok", t[:len(t) // 3])
    c.put("bad-header-only.tok", t[:32])
    # The section directory with its first entry's offset moved past the end.
    bad = bytearray(t)
    bad[36:40] = struct.pack("<I", len(t) + 4)
    c.put("bad-section-out-of-bounds.tok", fnv_fix(bytes(bad)))


def make_tokenizer_codec():
    c = Corpus("tokenizer_codec")
    vec = json.loads(read(os.path.join(TOKDATA, "tiny", "tokenizer_vectors.json"), "r"))["vectors"]
    for i, v in enumerate(vec[:8]):
        text = v["text"].encode()
        c.put("text-vector-%d.bin" % i, bytes([i % 4]) + text)            # flags ADD_SPECIAL / SPLIT_SPECIAL
    ids = vec[0]["ids"]
    c.put("ids-vector-0.bin", bytes([4]) + struct.pack("<%di" % len(ids), *ids))
    c.put("ids-vector-0-raw-skip.bin", bytes([4 | 3]) + struct.pack("<%di" % len(ids), *ids))
    c.put("ids-folded-range.bin", bytes([4 | 8]) + struct.pack("<8I", 0, 1, 2, 2051, 2052, 100, 7, 65535))
    c.put("ids-unknown.bin", bytes([4]) + struct.pack("<3i", 1, -5, 99999))
    c.put("text-invalid-utf8.bin", bytes([0]) + b"caf\xc3 \xed\xa0\x80 \xf4\x90\x80\x80 ok\xff")
    c.put("text-special-tokens.bin", bytes([2]) + b"<|im_start|>user\nhi<|im_end|><|pad|>")
    c.put("chat-chatml.bin", bytes([32 | 128]) + b"\0system\0Be brief.\0user\0What is C. elegans?")
    tools = b'[{"name": "get_weather", "parameters": {"city": "Paris", "days": 3, "x": [1.5e3, true, null]}}, "raw"]'
    c.put("chat-lfm25-tools.bin", bytes([32 | 64]) + tools + b"\0user\0Weather?\0tool\0{\"t\": 21}")
    c.put("chat-lfm25-bad-tools.bin", bytes([32 | 64]) + b'[{"a": "\\ud800"}, ]\0user\0x')


def make_weights(blob):
    c = Corpus("weights")
    for how, name in ((0, "read"), (1, "mmap"), (2, "read-small-pages"), (3, "memory-aligned"),
                      (4, "memory-unaligned")):
        c.put("valid-%s.blob" % name, bytes([how]) + blob)
    c.put("bad-payload-size.blob", bytes([8]) + blob)
    c.put("bad-model-hash.blob", bytes([16 | 3]) + blob)
    c.put("bad-truncated.blob", bytes([0]) + blob[:-100])
    c.put("bad-too-long.blob", bytes([2]) + blob + b"\0" * 64)
    c.put("bad-corrupt-payload.blob", bytes([1]) + blob[:5000] + bytes([blob[5000] ^ 0x40]) + blob[5001:])
    # Refused on the header alone: the first 64 bytes suffice.
    head = blob[:64]
    c.put("bad-magic.blob", bytes([0]) + b"LFM2BLOC" + head[8:])
    c.put("bad-version.blob", bytes([1]) + head[:8] + struct.pack("<I", 2) + head[12:])
    c.put("bad-header-size.blob", bytes([3]) + head[:12] + struct.pack("<I", 64) + head[16:])
    c.put("bad-header-only.blob", bytes([4]) + blob[:32])
    c.put("bad-short.blob", bytes([2]) + blob[:20])


def load_npy_row(path, row):
    data = read(path)
    assert data[:6] == b"\x93NUMPY"
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hlen].decode()
    shape = tuple(int(x) for x in header.split("(")[1].split(")")[0].split(",") if x.strip())
    fmt = "<f8" if "'<f8'" in header else "<f4"
    size = 8 if fmt == "<f8" else 4
    cols = shape[1]
    off = 10 + hlen + row * cols * size
    return struct.unpack("<%d%s" % (cols, "d" if size == 8 else "f"), data[off:off + cols * size])


def make_sampler():
    c = Corpus("sampler")

    def raw_params(t, k, p, m, rp, last_n, seed):
        return struct.pack("<fifffiQ", t, k, p, m, rp, last_n, seed)

    def seed(ctl, params, hist, logits_raw):
        return bytes([ctl]) + params + bytes([len(hist)]) + b"".join(struct.pack("<H", h) for h in hist) + \
            logits_raw

    logits = load_npy_row(os.path.join(FIX, "tiny", "logits.npy"), 3)   # 512 oracle logits
    lraw = struct.pack("<%df" % len(logits), *logits)
    hist = [1, 1650, 1049, 335, 1206, 813, 813]
    p = raw_params(0.3, 50, 0.9, 0.15, 1.05, 64, 42)
    c.put("valid-model-card-params-fixture-logits.bin", seed(1 | 2, p, [h % 512 for h in hist], lraw))
    c.put("valid-greedy-fixture-logits.bin", seed(1 | 2, raw_params(0, 0, 1, 0, 1, 0, 0), [], lraw))
    c.put("valid-llama-defaults.bin", seed(1 | 2, raw_params(0.8, 40, 0.95, 0.05, 1.1, 64, 7), [3, 4, 3],
                                          lraw[:4 * 64]))
    c.put("valid-no-top-k-all-window.bin", seed(1 | 2, raw_params(1.5, 0, 0.5, 0.0, 1.3, -1, 1), [0, 1, 2],
                                               lraw[:4 * 40]))
    c.put("valid-mapped-ties.bin", seed(0, bytes(range(40, 72)), [5, 9, 5], bytes(range(0, 200, 3)) * 2))
    c.put("valid-vocab-1.bin", seed(1 | 2, raw_params(1, 1, 1, 1, 2, 8, 0), [0, 0], struct.pack("<f", -3)))
    c.put("valid-nan-inf-logits.bin", seed(1 | 2, raw_params(0.7, 0, 1, 0, 1, 0, 3), [],
                                           struct.pack("<5f", 1, float("nan"), float("inf"), -float("inf"), 2)))
    # Penalties at both ends of the range on logits near the float limit:
    # l / 0.01 and l * 100 must saturate, not overflow (then NaN).
    big = struct.pack("<4f", 3e38, 1e38, -3e38, 0.5)
    c.put("valid-penalty-saturates-low.bin", seed(1 | 2, raw_params(1, 0, 1, 0, 0.01, -1, 5), [0, 1, 2], big))
    c.put("valid-penalty-saturates-high.bin", seed(1 | 2, raw_params(0.5, 0, 0.9, 0.1, 100, 8, 6), [2, 3], big))
    c.put("refused-penalty-1e-38.bin", seed(1 | 2, raw_params(1, 0, 1, 0, 1e-38, -1, 0), [0], big))
    c.put("refused-top-p-zero.bin", seed(1 | 2, raw_params(0.8, 40, 0, 0.05, 1, 64, 0), [], lraw[:64]))
    c.put("refused-nan-temperature.bin", seed(1 | 2, raw_params(float("nan"), 40, 1, 0, 1, 64, 0), [], lraw[:64]))
    c.put("refused-no-logits.bin", seed(1, raw_params(0.8, 40, 0.9, 0, 1, 64, 0), [], b""))


# ------------------------------------------------------------------ main

def make_schedule():
    c = Corpus("schedule")
    sdir = os.path.join(ROOT, "tests", "schedule")
    for f in sorted(os.listdir(os.path.join(sdir, "good"))):
        c.put("valid-" + f, read(os.path.join(sdir, "good", f)))
    for f in ("duplicate_key.json", "kc_not_blocks.json", "nb_not_multiple.json", "override_format.json",
              "prefetch_not_line.json", "syntax.json", "threads_split.json", "unknown_nested_key.json",
              "vector_width.json"):
        c.put("bad-" + f, read(os.path.join(sdir, "bad", f)))
    c.put("valid-fuse-list.txt", "+qkv,-conv_chain,dequant_in_matmul")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py PATH/TO/lfm2c")
    exe = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="lfm2c-corpus-") as tmp:
        names = make_safetensors(exe, tmp)
        make_index(names)
        make_config()
        toks = make_tokenizer_json(tmp)
        make_schedule()
        tables, blob = make_tables_and_blob(exe, tmp, toks)
        make_tokenizer_table(tables)
        make_tokenizer_codec()
        make_weights(blob)
        make_sampler()


if __name__ == "__main__":
    main()
