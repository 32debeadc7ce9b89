#!/usr/bin/python3
"""Independent re-implementation of the lfm2rt sampler semantics (lfm2rt.h),
used once to produce the golden values in test_sampler.c (tests do not run
Python).  Prints C initializers.

    /usr/bin/python3 tests/runtime/gen_sampler_golden.py
"""
import math
import numpy as np

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro:
    def __init__(self, seed):
        self.s = []
        x = seed
        for _ in range(4):
            x, v = splitmix64(x)
            self.s.append(v)

    def next(self):
        s = self.s
        out = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return out


def f32(x):
    return np.float32(x)


def filter_(logits, T, top_k, top_p, min_p, rp, last_n, history):
    l = [f32(v) for v in logits]
    rp = f32(rp)
    if rp != f32(1) and last_n != 0 and history:
        win = history if last_n < 0 or last_n >= len(history) else history[-last_n:]
        for t in set(win):
            l[t] = f32(l[t] / rp) if l[t] > 0 else f32(l[t] * rp)
    cand = sorted(range(len(l)), key=lambda i: (-float(l[i]), i))
    if T == 0:
        return [(cand[0], 1.0)]
    Td = float(f32(T))
    if 0 < top_k < len(cand):
        cand = cand[:top_k]

    def sexp(c):
        mx = float(l[c[0]])
        return [math.exp((float(l[i]) - mx) / Td) for i in c]

    if f32(top_p) < 1:
        e = sexp(cand)
        s = 0.0
        for v in e:
            s += v
        cum, keep = 0.0, len(cand)
        for i, v in enumerate(e):
            cum += v / s
            if cum >= float(f32(top_p)):
                keep = i + 1
                break
        cand = cand[:keep]
    if min_p > 0:
        e = sexp(cand)
        keep = 1
        while keep < len(cand) and e[keep] >= float(f32(min_p)):
            keep += 1
        cand = cand[:keep]
    e = sexp(cand)
    s = 0.0
    for v in e:
        s += v
    return [(i, v / s) for i, v in zip(cand, e)]


def sample(rng, cands, T):
    if T == 0:
        return cands[0][0]
    u = (rng.next() >> 11) * 2.0 ** -53
    cum = 0.0
    for i, p in cands:
        cum += p
        if u < cum:
            return i
    return cands[-1][0]


def main():
    r = Xoshiro(42)
    print("/* xoshiro256** outputs, seed 42 */")
    print("{" + ", ".join("0x%016xull" % r.next() for _ in range(6)) + "}")

    # 20-token vocab, logits from a fixed formula (exactly representable f32)
    logits = [f32(((i * 7) % 20) * 0.25 - 2.0) for i in range(20)]
    print("/* logits */")
    print("{" + ", ".join("%.2ff" % v for v in logits) + "}")
    for name, (T, k, p, m, rp, n, seed) in {
        "plain": (0.9, 0, 1.0, 0.0, 1.0, 64, 7),
        "full": (0.7, 12, 0.9, 0.05, 1.3, 6, 12345),
    }.items():
        rng = Xoshiro(seed)
        hist = [3, 17]
        out = []
        for _ in range(40):
            c = filter_(logits, T, k, p, m, rp, n, hist)
            t = sample(rng, c, T)
            hist.append(t)
            out.append(t)
        print("/* %s: T=%g top_k=%d top_p=%g min_p=%g rp=%g last_n=%d seed=%d, history 3,17 */"
              % (name, T, k, p, m, rp, n, seed))
        print("{" + ", ".join(str(t) for t in out) + "}")


main()
