#!/usr/bin/env python3
"""Reproduces the expm1 polynomial of the AVX2 tanh in src/avx2/vector_math.rs (needs mpmath;
under a second). Run: python3 simd-kernels/tools/fit_expm1.py [R] [DEG]
(defaults 0.348 and 5: they print the coefficients committed in vector_math.rs).

For the reduced argument |r| <= R (R = ln2/2 plus a margin for the one-constant reduction),
e^r - 1 = r + r^2 * P(r), with P the degree-DEG Chebyshev fit (mpmath.chebyfit, near-minimax)
of (e^r - 1 - r) / r^2 over [-R, R], coefficients rounded to f32. The script prints the
coefficients and the worst relative error of r + r^2 * P(r) (exact arithmetic, f32
coefficients) against e^r - 1; the ULP contract of tanh is proven by the exhaustive sweep
(tests/accuracy_sweep.rs), not by this script.
"""
import struct
import sys
import mpmath as mp

mp.mp.dps = 40
R = mp.mpf(sys.argv[1]) if len(sys.argv) > 1 else mp.mpf("0.348")
DEG = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def f(r):
    if r == 0:
        return mp.mpf(1) / 2
    return (mp.expm1(r) - r) / r**2


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


poly = mp.chebyfit(f, [-R, R], DEG + 1)
coeffs = [f32(c) for c in poly]
worst = 0
for i in range(-4000, 4001):
    if i == 0:
        continue
    r = R * i / 4000
    approx = r + r**2 * mp.polyval([mp.mpf(c) for c in coeffs], r)
    worst = max(worst, abs(approx / mp.expm1(r) - 1))
print("R", R, "degree", DEG,
      "max relative error with f32 coefficients", mp.nstr(worst, 3),
      "=", mp.nstr(worst * 2**24, 3), "x 2^-24")
print("coefficients, highest degree first:")
for c in coeffs:
    print(repr(c))
