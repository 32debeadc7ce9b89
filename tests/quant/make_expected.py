#!/usr/bin/python3
"""Expected bytes of the two 'inexact scale' blocks in test_quant.c.

An independent emulation, in numpy float32, of llama.cpp's reference
quantizers (ggml-quants.c: quantize_row_q8_0_ref, quantize_row_q4_0_ref):
every operation is a binary32 operation in the same order, f16 conversion
is numpy's (round to nearest even).  Not run by the tests: its output is
pasted into test_quant.c.  Run: /usr/bin/python3 tests/quant/make_expected.py
"""
import numpy as np
f = np.float32

def block_b():   # q8_0 input: the d = max/127 scale is not an f16 value
    return np.array([f(0.3) * f(j - 13) / f(7) for j in range(32)], dtype=np.float32)

def block_g():   # q4_0 input: the d = max/-8 scale is not an f16 value
    return np.array([f(0.3) * f((j * 7) % 17 - 8) / f(5) for j in range(32)], dtype=np.float32)

def q8_0(x):
    amax = f(0)
    for v in x:
        amax = max(amax, abs(v))
    d = f(amax / f(127))
    idd = f(f(1) / d) if d != 0 else f(0)
    out = list(np.array([d], dtype=np.float16).view(np.uint8))
    for v in x:
        y = float(f(v * idd))                           # roundf: half away from zero
        out.append(int(np.sign(y) * np.floor(abs(y) + 0.5)) & 0xff)
    return out

def q4_0(x):
    amax = f(0); mx = f(0)
    for v in x:
        if amax < abs(v):
            amax = abs(v); mx = v
    d = f(mx / f(-8))
    idd = f(f(1) / d) if d != 0 else f(0)
    out = list(np.array([d], dtype=np.float16).view(np.uint8))
    for j in range(16):
        x0 = f(f(x[j] * idd) + f(8.5)); x1 = f(f(x[j + 16] * idd) + f(8.5))
        q0 = min(15, int(x0)); q1 = min(15, int(x1))
        out.append(q0 | q1 << 4)
    return out

def c(name, xs, bs):
    print(f"/* {name} input: " + ", ".join(f"{v!r}" for v in xs[:4]) + ", ... */")
    print(f"static const uint8_t {name}[] = {{" + ", ".join(f"0x{b:02x}" for b in bs) + "};")

with np.errstate(all='ignore'):
    c("want_b", block_b(), q8_0(block_b()))
    c("want_g", block_g(), q4_0(block_g()))
