#!/usr/bin/python3
"""Writes tests/tokenizer/data/tok-b/: a second LFM2-structured test tokenizer.

Same pipeline as LFM2 (and trained-tiny): the Llama-3 split regex + ByteLevel,
BPE with ignore_merges, LFM2's 14 special tokens, BOS via TemplateProcessing,
ByteLevel decoder.  It differs from trained-tiny where a C tokenizer could get
things wrong:

  * merges are written as "a b" strings (trained-tiny uses ["a", "b"] pairs);
  * ~3000 merges learned here from English text (Debian license texts and git
    release notes on this machine) plus a synthetic multilingual word mix, so
    there are multi-byte merges (CJK, Cyrillic, Greek, Arabic, emoji);
  * extra added tokens: non-special normalized=true ones ("Mathias", "python",
    "日本語"), an added token whose id is past the model vocabulary, two
    special tokens where one is a prefix of the other (leftmost-longest);
  * a few vocabulary entries no merge sequence produces (reachable only
    through ignore_merges), e.g. "Ġsupercalifragilistic";
  * tokens 14..269 are the 256 byte symbols in a shuffled order.

Dev-time only (the committed output is what tests read); Python stdlib only
(the training split is a plain-Python version of the regex: it only has to be
good enough to learn plausible merges).
Run:  /usr/bin/python3 tests/tokenizer/make_test_tokenizer.py
"""
import collections
import glob
import json
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "tok-b")
N_MERGES = 3000
SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|fim_pre|>", "<|fim_mid|>",
            "<|fim_suf|>", "<|im_start|>", "<|im_end|>", "<|tool_list_start|>",
            "<|tool_list_end|>", "<|tool_call_start|>", "<|tool_call_end|>",
            "<|tool_response_start|>", "<|tool_response_end|>"]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()

WORDS = {
    "fr": "le la les un une des être avoir faire dire pouvoir aller voir savoir français été "
          "déjà très où garçon cœur naïve élève château forêt",
    "de": "der die das und ist nicht über größer Straße Mädchen schön grün Fußball Äpfel "
          "Übung können müssen",
    "ru": "и в не на я быть он с что а по это она этот к но они мы как из у который то за "
          "свой весь год от так о для ты же все тот мочь вы человек такой его сказать",
    "el": "και το να η του ο με που τα στο την είναι για δεν από θα σε ότι Ελλάδα καλημέρα",
    "zh": "的 一 是 不 了 在 人 有 我 他 这 个 们 中 来 上 大 为 和 国 地 到 以 说 时 要 就 出 会 "
          "中国 北京 我们 你好 学习 语言 模型 日本語",
    "ja": "これ は ペン です ひらがな カタカナ 東京 日本 ありがとう こんにちは 漢字",
    "ar": "في من على إلى أن هذا مع كان عن التي الذي العربية مرحبا",
    "hi": "और के है में की को से यह एक हिन्दी नमस्ते भारत",
    "emoji": "🙂 😀 👍 ❤️ 🚀 🎉 🔥 👨‍👩‍👧 🇫🇷 🏳️‍🌈 ✨ 🤖",
}


def training_text():
    files = sorted(glob.glob("/usr/share/common-licenses/*"))
    files += sorted(glob.glob("/usr/share/doc/git/RelNotes/2.[0-3]*.txt"))[:40]
    parts = []
    for f in files:
        try:
            with open(f, encoding="utf-8", errors="replace") as fh:
                parts.append(fh.read()[:60000])
        except (IsADirectoryError, PermissionError):
            pass
    rng = random.Random(7)
    for lang, words in sorted(WORDS.items()):
        w = words.split()
        for _ in range(600):
            parts.append(" ".join(rng.choice(w) for _ in range(rng.randint(3, 12))) + ".\n")
    return "".join(parts)


def _cls(ch):
    if ch in "\t\n\x0b\x0c\r\x85" or unicodedata.category(ch).startswith("Z"):
        return "S"
    c = unicodedata.category(ch)[0]
    return c if c in "LN" else "O"


def split_llama3(text):
    """The SPLIT pattern's matches, for training (ASCII-only case folding)."""
    out, i, n = [], 0, len(text)
    k = [_cls(ch) for ch in text]
    while i < n:
        j = i
        low = text[i + 1:i + 3].lower()
        if text[i] == "'" and low[:1] in ("s", "t", "m", "d"):
            j = i + 2
        elif text[i] == "'" and low in ("re", "ve", "ll"):
            j = i + 3
        elif k[i] == "L" or (k[i] != "N" and text[i] not in "\r\n" and i + 1 < n and k[i + 1] == "L"):
            j = i + 1
            while j < n and k[j] == "L":
                j += 1
        elif k[i] == "N":
            while j < n and j - i < 3 and k[j] == "N":
                j += 1
        elif k[i] == "O" or (text[i] == " " and i + 1 < n and k[i + 1] == "O"):
            j = i + 1
            while j < n and k[j] == "O":
                j += 1
            while j < n and text[j] in "\r\n":
                j += 1
        else:
            e = i
            while e < n and k[e] == "S":
                e += 1
            nl = [x for x in range(i, e) if text[x] in "\r\n"]
            if nl:
                j = nl[-1] + 1
            elif e == n or e - i < 2:
                j = e
            else:
                j = e - 1
        out.append(text[i:j])
        i = j
    return out


def train(text):
    words = collections.Counter()
    for piece in split_llama3(text):
        words["".join(B2U[b] for b in piece.encode("utf-8"))] += 1
    seqs = {w: list(w) for w in words}
    pair_count = collections.Counter()
    where = collections.defaultdict(set)
    for w, n in words.items():
        s = seqs[w]
        for a, b in zip(s, s[1:]):
            pair_count[(a, b)] += n
            where[(a, b)].add(w)
    merges = []
    for _ in range(N_MERGES):
        if not pair_count:
            break
        best = max(pair_count.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pair_count[best] < 2:
            break
        merges.append(best)
        a, b = best
        for w in list(where[best]):
            s, n = seqs[w], words[w]
            for x, y in zip(s, s[1:]):
                pair_count[(x, y)] -= n
                if pair_count[(x, y)] <= 0:
                    del pair_count[(x, y)]
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += n
                where[(x, y)].add(w)
        where.pop(best, None)
    return merges


def main():
    merges = train(training_text())
    vocab = {}
    for i, s in enumerate(SPECIALS):
        vocab[s] = i
    byte_syms = [B2U[b] for b in range(256)]
    random.Random(3).shuffle(byte_syms)
    for s in byte_syms:
        vocab[s] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    # reachable only through ignore_merges (no merge builds them)
    for w in ["Ġsupercalifragilistic", "Ġantidisestablishment", "zzqx", "Ġ日本語テスト"]:
        w = "".join(B2U[b] for b in w.replace("Ġ", " ").encode("utf-8"))
        vocab.setdefault(w, len(vocab))
    n_model = len(vocab)
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    extra = [("Mathias", False, True), ("python", False, True), ("日本語", False, True),
             ("<|x|>", True, False), ("<|x|>long", True, False)]
    for content, special, normalized in extra:
        bl = "".join(B2U[b] for b in content.encode("utf-8"))
        if bl in vocab:                        # an added token that is also a model token
            tid = vocab[bl]
        else:
            tid = len(vocab)
            vocab[bl] = tid
        added.append({"id": tid, "content": content, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": normalized, "special": special})
    # an added token past the model vocabulary, not in "vocab" at all
    added.append({"id": len(vocab), "content": "<think>", "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": False})
    added.sort(key=lambda t: t["id"])
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|startoftext|>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<|startoftext|>", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<|startoftext|>", "type_id": 1}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<|startoftext|>": {"id": "<|startoftext|>", "ids": [1],
                                                                  "tokens": ["<|startoftext|>"]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": True, "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<|startoftext|>",
           "eos_token": "<|im_end|>", "pad_token": "<|pad|>", "clean_up_tokenization_spaces": False,
           "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 4096,
           "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added}}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
    print(f"{OUT}: {n_model} model tokens, {len(merges)} merges, {len(added)} added tokens")


if __name__ == "__main__":
    main()
