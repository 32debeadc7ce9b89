#!/usr/bin/python3
"""The measurement behind q4_1's design (specs/formats.md, "Choosing the better
4-bit format").  Not a test and not needed to build: a record of how the
candidate 4-bit schemes were compared, in numpy, before one was written in C.

  /usr/bin/python3 tests/quant/choose_4bit.py [MODEL_DIR]   (default: the f32 trained-tiny)

Prints the relative RMS error sqrt(sum err^2 / sum x^2) of each candidate on
the checkpoint's matrix weights (rows of 192 and 576 values: every weight of
trained-tiny) and on gaussian / heavy-tailed random matrices with rows of 1024
(where the 256-value super-block candidate applies).  Scales and minima are
rounded to f16 before the error is measured, as they would be stored.
Takes about a minute.
"""
import json, struct, sys
import numpy as np

def load(path):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']; raw = b[8 + n + s:8 + n + e]
        if v['dtype'] == 'F32': a = np.frombuffer(raw, '<f4')
        else: a = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)  # BF16
        out[k] = a.reshape(v['shape']).astype(np.float32)
    return out

f16 = lambda x: x.astype(np.float16).astype(np.float32)
inv = lambda d: np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)

def q8_0(B):
    d = np.abs(B).max(1) / 127
    return np.round(B * inv(d)[:, None]) * f16(d)[:, None]

def q4_0(B):      # llama.cpp Q4_0
    mx = B[np.arange(len(B)), np.argmax(np.abs(B), 1)]; d = mx / -8
    q = np.minimum(15, np.trunc(B * inv(d)[:, None] + 8.5)); return (q - 8) * f16(d)[:, None]

def q4_0_search(B, rows=None):   # same bytes as q4_0, scale searched for least error
    mx = B[np.arange(len(B)), np.argmax(np.abs(B), 1)]; best = None
    for t in np.arange(-9, 10) * 0.1:
        d = f16(mx / -(8 + t)); q = np.clip(np.round(B * inv(d)[:, None]), -8, 7); r = q * d[:, None]
        e = ((r - B) ** 2).sum(1)
        if best is None: best, be = r, e
        else: m = e < be; best[m] = r[m]; be[m] = e[m]
    return best

def q4_1_minmax(B):   # llama.cpp Q4_1
    mn = B.min(1); d = (B.max(1) - mn) / 15
    q = np.minimum(15, np.trunc((B - mn[:, None]) * inv(d)[:, None] + 0.5)); return q * f16(d)[:, None] + f16(mn)[:, None]

def q4_1_ls(B, starts=np.linspace(-.1, .1, 11), rounds=5):   # what quant.c does
    mn = B.min(1); mx = B.max(1); best = q4_1_minmax(B); be = ((best - B) ** 2).sum(1)
    for t in starts:
        d = (mx - mn) / (15 * (1 + t)); m = mn.copy()
        for _ in range(rounds):
            q = np.clip(np.round((B - m[:, None]) * inv(d)[:, None]), 0, 15)
            n = B.shape[1]; sq = q.sum(1); sqq = (q * q).sum(1); sx = B.sum(1); sqx = (q * B).sum(1)
            det = n * sqq - sq * sq; ok = det > 0
            d = np.where(ok, (n * sqx - sq * sx) / np.where(ok, det, 1), d); m = np.where(ok, (sx - d * sq) / n, m)
        D = f16(d); M = f16(m); q = np.clip(np.round((B - M[:, None]) * inv(D)[:, None]), 0, 15)
        r = q * D[:, None] + M[:, None]; e = ((r - B) ** 2).sum(1); k = e < be; best[k] = r[k]; be[k] = e[k]
    return best

def nl4(B, cb):   # non-uniform 4-bit codebook (int8 levels) with an f16 scale per 32
    cb = np.asarray(cb, np.float32); mx = B[np.arange(len(B)), np.argmax(np.abs(B), 1)]; best = None
    for t in np.arange(-7, 8) * 0.02:
        d = f16(mx / (np.where(mx < 0, cb.min(), cb.max()) * (1 + t)))
        v = cb[np.abs((B * inv(d)[:, None])[:, :, None] - cb).argmin(2)]; r = v * d[:, None]
        e = ((r - B) ** 2).sum(1)
        if best is None: best, be = r, e
        else: k = e < be; best[k] = r[k]; be[k] = e[k]
    return best

def superblock256(B):   # k-quant-like: 8 x 32 sub-blocks, 6-bit scales and mins, f16 super scales
    sub = B.reshape(-1, 32); mn = np.minimum(sub.min(1), 0); d = (sub.max(1) - mn) / 15; m = mn
    for _ in range(5):
        q = np.clip(np.round((sub - m[:, None]) * inv(d)[:, None]), 0, 15)
        sq = q.sum(1); sqq = (q * q).sum(1); sx = sub.sum(1); sqx = (q * sub).sum(1); det = 32 * sqq - sq * sq; ok = det > 0
        dn = np.where(ok, (32 * sqx - sq * sx) / np.where(ok, det, 1), d); m = np.minimum(np.where(ok, (sx - dn * sq) / 32, m), 0); d = np.maximum(dn, 0)
    d = d.reshape(-1, 8); mneg = (-m).reshape(-1, 8); D = f16(d.max(1) / 63); M = f16(mneg.max(1) / 63)
    ds = (np.round(d * inv(D)[:, None]).clip(0, 63) * D[:, None]).reshape(-1)
    ms = (np.round(mneg * inv(M)[:, None]).clip(0, 63) * M[:, None]).reshape(-1)
    q = np.clip(np.round((sub + ms[:, None]) * inv(ds)[:, None]), 0, 15)
    return (q * ds[:, None] - ms[:, None]).reshape(B.shape)

IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]   # llama.cpp's IQ4_NL levels
CANDIDATES = [   # name, bits per weight, function, block
    ('q8_0', 8.5, q8_0, 32), ('q4_0 (llama.cpp)', 4.5, q4_0, 32), ('q4_0 bytes, searched scale', 4.5, q4_0_search, 32),
    ('nl4: IQ4_NL levels, scale/32', 4.5, lambda B: nl4(B, IQ4NL), 32),
    ('super-block 256, 6-bit sub-scales', 4.5, superblock256, 256),
    ('q4_0 with blocks of 16', 5.0, lambda B: q4_0_search(B.reshape(-1, 16)).reshape(B.shape), 32),
    ('q4_1 min/max (llama.cpp)', 5.0, q4_1_minmax, 32), ('q4_1 least squares (ours)', 5.0, q4_1_ls, 32)]

def table(sets):
    print(f"{'candidate':36s} {'bits/w':>6s} " + " ".join(f"{n:>14s}" for n in sets))
    for name, bits, fn, bs in CANDIDATES:
        cells = []
        for W in sets.values():
            num = den = 0
            for w in W:
                if w.shape[-1] % bs: continue
                B = w.reshape(-1, bs).astype(np.float32); r = fn(B.copy()); num += ((r - B) ** 2).sum(); den += (B ** 2).sum()
            cells.append(f"{np.sqrt(num / den):14.5f}" if den else f"{'n/a':>14s}")
        print(f"{name:36s} {bits:6.2f} " + " ".join(cells))

if __name__ == '__main__':
    m = load((sys.argv[1] if len(sys.argv) > 1 else '/work/shared/lfm2/trained-tiny') + '/model.safetensors')
    rng = np.random.default_rng(1)
    lap = rng.laplace(size=(256, 1024)) * np.where(rng.random((256, 1024)) < 0.01, 8, 1)
    table({'trained-tiny': [v for v in m.values() if v.ndim == 2],
           'gaussian': [rng.standard_normal((256, 1024))], 'laplace+1%x8': [lap]})
