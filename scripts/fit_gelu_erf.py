#!/usr/bin/env python3
"""Fits the coefficients of the `gelu-rational` pass (src/passes/gelu_rational.cc).

GELU(x) = x * Phi(x) = relu(x) - c(|x|),  c(u) = u * Phi(-u) = 0.5 * u * erfc(u / sqrt(2)).

c is small (<= 0.17) and is computed directly, so its rounding errors stay far
below an ulp of the result; the float result is then off by little more than
its own rounding. With t = min(|x|, A):

    r(t) = t * (a1 + t * (a2 + ... + t * aD))        polynomial, r(0) = 0
    J - 1 steps r <- r * (r + 2)                      (1 + r squares; r is never rounded near 1)
    q = (r + 1) * (r + 1)                             = (1 + r(t))^K, K = 2^J
    c = (-0.5 * t) / q                                = -c(t)
    GELU = max(x, 0) + c

so Phi(-u) ~= 0.5 / (1 + r(u))^K: r is fitted to (2 Phi(-u))^(-1/K) - 1, with
weights that make the fit minimax in the absolute error of c (Lawson's
iteratively reweighted least squares on the linear problem). Every op is one the
TensorFlow Lite 2.9 XNNPACK delegate takes (ABS, MINIMUM, MUL, ADD, DIV,
MAXIMUM) and each is correctly rounded in float32 by both XNNPACK and the
built-in kernels, so the float32 simulation below is exactly what they compute.

    /usr/bin/python3 scripts/fit_gelu_erf.py            # fit, check, print the C++ table
Needs numpy only. scripts/check_gelu_rational.cc checks the result on every float32.
"""
import math
import sys

import numpy as np

f32 = np.float32
ERF = np.vectorize(math.erf)
ERFC = np.vectorize(math.erfc)

D = 6          # degree of r
J = 5          # K = 2^J
A = 6.0        # clamp: c(6) = 5.9e-9


def phi_minus(u):
    return 0.5 * ERFC(u / math.sqrt(2.0))


def fit(d=D, j=J, a=A, iters=500, n=6000):
    k = 2 ** j
    i = np.arange(n)
    u = a * (1 - np.cos(np.pi * (i + 0.5) / n)) / 2   # Chebyshev points on [0, a]
    u = np.concatenate([u, [a]])
    f = phi_minus(u)
    c = u * f
    target = (2 * f) ** (-1.0 / k) - 1
    w = k * c / (1 + target) + 1e-12                   # |dc/dr|
    v = u / a
    basis = np.stack([v ** p for p in range(1, d + 1)], 1)
    lw = np.ones_like(u)
    best = None
    for _ in range(iters):
        s = np.sqrt(lw) * w
        coef, *_ = np.linalg.lstsq(basis * s[:, None], target * s, rcond=None)
        r = basis @ coef
        err = 0.5 * u / (1 + r) ** k - c
        e = np.max(np.abs(err))
        if best is None or e < best[0]:
            best = (e, coef.copy())
        lw = np.maximum(lw * np.abs(err), 1e-300)
        lw /= lw.sum()
    e, coef = best
    return e, [f32(coef[p - 1] / a ** p) for p in range(1, d + 1)]


def gelu_f32(x, coefs, j=J, a=A):
    """Exactly the ops the pass emits, in float32."""
    x = np.asarray(x, dtype=f32)
    t = np.minimum(np.abs(x), f32(a))
    r = t * coefs[-1]
    for cf in reversed(coefs[:-1]):
        r = (r + cf) * t
    for _ in range(j - 1):
        r = r * (r + f32(2))
    s = r + f32(1)
    c = (t * f32(-0.5)) / (s * s)
    return np.maximum(x, f32(0)) + c


def main():
    e, coefs = fit()
    print(f"fit: max |c error| {e:.3g} (degree {D}, K = {2 ** J}, clamp {A})")
    x = np.linspace(-8, 8, 4_000_001).astype(f32)
    xd = x.astype(np.float64)
    exact = 0.5 * xd * (1 + ERF(xd / math.sqrt(2)))
    y = gelu_f32(x, coefs).astype(np.float64)
    err = np.abs(y - exact)
    rounded = exact.astype(f32).astype(np.float64)
    print(f"float32 on {x.size} points in [-8, 8]: max |GELU error| {err.max():.3g} at x = {x[np.argmax(err)]:g}; "
          f"max |diff| to the correctly rounded value {np.abs(y - rounded).max():.3g}")
    for lo, hi in ((-8, -4), (-4, -1), (-1, 1), (1, 4), (4, 8)):
        m = (xd >= lo) & (xd < hi)
        print(f"  [{lo:3d}, {hi:3d}): max |error| {err[m].max():.3g}")
    print("C++ (src/passes/gelu_rational.cc):")
    print("constexpr float kCoefficients[] = {" + ", ".join(f"{float(c):.9g}f" for c in coefs) + "};  // a1..a%d" % D)
    return 0


if __name__ == "__main__":
    sys.exit(main())
