#!/usr/bin/env python3
"""Reproduces the coefficients in src/erfcx_fit.rs (needs mpmath; ~10 s).

We approximate F(u) = erfcx(t) * (1 + 2t), erfcx(t) = exp(t^2) erfc(t), in the variable
u = (t - L) / (t + L), L = 2.5, over t in [0, 14.2] (u in [-1, (14.2 - L) / (14.2 + L)]),
by a degree-11 Chebyshev fit (mpmath.chebyfit). F is smooth and bounded on the whole half-line
(F(0) = 1, F(inf) = 2 / sqrt(pi)), so one polynomial covers every t the GELU kernels need.
"""
import struct
import mpmath as mp

mp.mp.dps = 40
L = mp.mpf("2.5")
TMAX = mp.mpf("14.2")
UMAX = (TMAX - L) / (TMAX + L)


def f(u):
    t = L * (1 + u) / (1 - u)
    return mp.erfc(t) * mp.exp(t * t) * (1 + 2 * t)


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


poly, err = mp.chebyfit(f, [-1, UMAX], 12, error=True)
worst = max(abs(mp.polyval(poly, -1 + (UMAX + 1) * i / 2000) / f(-1 + (UMAX + 1) * i / 2000) - 1)
            for i in range(2001))
print("fit abs error", mp.nstr(err, 3), "max relative error", mp.nstr(worst, 3))
print("coefficients, highest degree first:")
for c in poly:
    print(repr(float(c)))
c0 = float(poly[-1])
print("c0 split for f32:", repr(f32(c0)), repr(f32(c0 - f32(c0))))
