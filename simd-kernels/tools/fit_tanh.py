#!/usr/bin/env python3
"""Reproduces the small-argument tanh polynomial in src/avx2/activations.rs (needs mpmath; ~5 s).

For |x| < C the AVX2 tanh is a + a^3 * P(a^2), a = |x|, with P the degree-DEG Chebyshev fit
(mpmath.chebyfit, near-minimax) of (tanh(a) - a) / a^3 in s = a^2 over [0, C^2], coefficients
rounded to f32. The script prints the coefficients and the worst relative error of a + a^3 * P
(exact arithmetic, f32 coefficients) against tanh over the interval; the ULP contract itself is
proven by the exhaustive sweep (tests/accuracy_sweep.rs), not by this script.
"""
import struct
import sys
import mpmath as mp

mp.mp.dps = 40
C = mp.mpf(sys.argv[1]) if len(sys.argv) > 1 else mp.mpf("0.5625")
DEG = int(sys.argv[2]) if len(sys.argv) > 2 else 4


def f(s):
    if s == 0:
        return mp.mpf(-1) / 3
    a = mp.sqrt(s)
    return (mp.tanh(a) - a) / a**3


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


poly, err = mp.chebyfit(f, [0, C * C], DEG + 1, error=True)
coeffs = [f32(c) for c in poly]
worst = 0
for i in range(1, 4001):
    a = C * i / 4000
    s = a * a
    approx = a + a**3 * mp.polyval([mp.mpf(c) for c in coeffs], s)
    worst = max(worst, abs(approx / mp.tanh(a) - 1))
print("C", C, "degree", DEG, "fit abs error", mp.nstr(err, 3),
      "max relative error with f32 coefficients", mp.nstr(worst, 3),
      "=", mp.nstr(worst * 2**24, 3), "x 2^-24")
print("coefficients, highest degree first:")
for c in coeffs:
    print(repr(c))
