//! One vector (8 × f32) of each activation. Safe `#[target_feature]` functions, reachable only
//! through the `unsafe fn` slice entry points of [`super`].
//!
//! Clamps use `max_ps(bound, x)` / `min_ps(bound, x)` so that a NaN in `x` (the second
//! operand) is what comes out; every formula then carries NaN to the result.
#![deny(unsafe_code)]

use core::arch::x86_64::*;

use super::vector_math::{
    TWO_POW_M64, abs, any_lane, corrected_div, exp_in_range, exp_nonpositive_parts, exp_parts,
    exp_split_m1, expm1_nonnegative, fast_two_sum, ldexp, max_keep_nan, min_keep_nan, outside,
    splat, two_sum,
};
use crate::erfcx_fit;

/// `√(8/π)` split: the tanh-GELU argument is `w = x·(K1 + K3·x²)`.
const GELU_TANH_K1_HI: f32 = 1.595_769_2;
const GELU_TANH_K1_LO: f32 = -4.534_068e-8;
/// `√(8/π)·0.044715` split.
const GELU_TANH_K3_HI: f32 = 0.071_354_814;
const GELU_TANH_K3_LO: f32 = 2.398_832_5e-9;
/// Beyond this `|x|` sigmoid and SiLU have saturated or underflowed (e^−110 < 2^−158).
const SIGMOID_CLAMP: f32 = 110.0;
/// GELU forms: `|x|` beyond 20 gives `x` (positive) or −0 (negative).
const GELU_CLAMP: f32 = 20.0;

/// `max(x, 0)`; NaN kept, −0 kept.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn relu(x: __m256) -> __m256 {
    // Perf-guard self-test only (`scripts/perf-guard.sh --selftest`): extra work in the loop,
    // which the guard must report as a regression.
    #[cfg(zenslab_perf_selftest)]
    let x = core::hint::black_box(x);
    _mm256_max_ps(_mm256_setzero_ps(), x)
}

/// `x < 0 ? alpha·x : x`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn leaky_relu(x: __m256, alpha: __m256) -> __m256 {
    let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps());
    _mm256_blendv_ps(x, _mm256_mul_ps(alpha, x), neg)
}

/// `x < 0 ? alpha·x : x` for `0 < alpha ≤ 1`, as `max(alpha·x, x)` (`maxps` returns its
/// second operand `x` on NaN and on equal operands): the same bits as [`leaky_relu`] for
/// every `x`, NaN payloads and `−0` included (`alpha·x ≤ x` for `x ≥ 0`, `≥ x` for `x < 0`,
/// and rounding is monotone; `alpha = 0` is excluded because `0·∞` is NaN).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn leaky_relu_max(x: __m256, alpha: __m256) -> __m256 {
    _mm256_max_ps(_mm256_mul_ps(alpha, x), x)
}

/// `x < 0 ? alpha·x : x` for `alpha ≥ 1` (`+∞` included), as `min(alpha·x, x)`: the same bits
/// as [`leaky_relu`] for every `x` by the argument of [`leaky_relu_max`] (for `x = ±0` and
/// `alpha = ∞` the product is NaN and `minps` returns `x`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn leaky_relu_min(x: __m256, alpha: __m256) -> __m256 {
    _mm256_min_ps(_mm256_mul_ps(alpha, x), x)
}

/// Beyond this `|x|` the exponentials of `exp`, sigmoid and SiLU leave the normal range: lanes
/// within it take the short path (no clamp, one exact power-of-two multiplication).
const NORMAL_EXP_LIMIT: f32 = 87.0;

/// `e^x`, overflow to +∞ above ≈ 88.72, gradual underflow below ≈ −87.34.
///
/// A chunk whose lanes all have `|x| ≤ 87` takes [`exp_in_range`], which gives the same bits
/// as the careful [`exp_any`] on those lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp(x: __m256) -> __m256 {
    if any_lane(outside(x, NORMAL_EXP_LIMIT)) {
        exp_any(x)
    } else {
        exp_in_range(x)
    }
}

/// `e^x` for any lane: clamps, then a scale by two normal powers of two so that a subnormal
/// result is rounded once.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
fn exp_any(x: __m256) -> __m256 {
    let a = min_keep_nan(max_keep_nan(x, -104.0), 89.0);
    let (p, n) = exp_parts(a, _mm256_setzero_ps());
    ldexp(p, n)
}

/// For a double-word `w = wh + wl` (sign of `wh`): `e^−|w| = p·s·2^−64` split as by
/// [`exp_nonpositive_parts`] (`p` the polynomial, `s` the power of two).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp_minus_abs_parts(wh: __m256, wl: Option<__m256>) -> (__m256, __m256) {
    let minus = splat(-0.0);
    // −|w| = (−|wh|) + (−sign(wh)·wl)
    let nzh = max_keep_nan(_mm256_or_ps(wh, minus), -SIGMOID_CLAMP);
    let nzl = wl.map(|wl| _mm256_xor_ps(_mm256_xor_ps(wl, _mm256_and_ps(wh, minus)), minus));
    exp_nonpositive_parts(nzh, nzl)
}

/// `e = p·s·2^−64 = e^−|w|` (subnormal included, rounded once).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn scaled(p: __m256, s: __m256) -> __m256 {
    _mm256_mul_ps(_mm256_mul_ps(p, s), splat(TWO_POW_M64))
}

/// `m·sigmoid(w)` given stage 1's `e^−|w| = p·s·2^−64` and the sign of `w` (in `wh`), with the
/// product `m·e` kept exact: the only errors are those of `e` and one rounding.
/// `sigmoid(w) = 1/(1 + e)` for `w ≥ 0`, `e/(1 + e)` for `w < 0`, with `d + d_lo = 1 + e`
/// exactly.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn times_sigmoid(m: __m256, wh: __m256, (p, s): (__m256, __m256)) -> __m256 {
    let e = scaled(p, s);
    let (d, d_lo) = fast_two_sum(splat(1.0), e);
    let k = splat(TWO_POW_M64);
    let mp = _mm256_mul_ps(m, p);
    let me = _mm256_mul_ps(_mm256_mul_ps(mp, s), k);
    let me_lo = _mm256_mul_ps(_mm256_mul_ps(_mm256_fmsub_ps(m, p, mp), s), k);
    let num = _mm256_blendv_ps(m, me, wh);
    let num_lo = _mm256_blendv_ps(_mm256_setzero_ps(), me_lo, wh);
    corrected_div(num, num_lo, d, d_lo)
}

/// Sigmoid `1/(1 + e^−x)`, stage 1 (see `driver`): `E = e^−x` by [`exp_in_range`],
/// meaningful on lanes with `|x| ≤ 87` (a normal `E`; [`sigmoid_finish_any`] replaces the
/// others).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sigmoid_exp(x: __m256) -> __m256 {
    exp_in_range(_mm256_xor_ps(x, splat(-0.0)))
}

/// Lanes where [`sigmoid_finish`] is not valid (NaN or `|x| > 87`; see [`outside`]): the
/// driver runs [`sigmoid_finish_any`] on chunks with such a lane. SiLU's flag is the same.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sigmoid_flag(x: __m256) -> __m256 {
    outside(x, NORMAL_EXP_LIMIT)
}

/// `1 + E` as a pair `d + d_lo` for sigmoid and SiLU (`E = e^−x`): the fast two-sum with `E`
/// first (3 adds, no FMA-pipe µop), exact for `E ≥ 1` (`x ≤ 0`), which covers the range where
/// a rounded `1 + E` would cost the most (at `E ≥ 2^24` it rounds by up to 2^−24 of itself).
/// For `x > 0` (`E < 1`) it computes `d_lo = 1 − fl(1 − L)` for the exact low part `L`, which
/// can miss `L` by up to 2^−24: there the correction is partial, and the error of `E` is
/// damped by `E/(1 + E) < ½`. (A full two-sum, 3 more adds, made SiLU ≈ 8 % slower on the
/// Intel VM of the README.) The exhaustive sweep proves the contract for every input.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn one_plus(e: __m256) -> (__m256, __m256) {
    fast_two_sum(e, splat(1.0))
}

/// Sigmoid, stage 2, for `|x| ≤ 87`: `1/(1 + E)` (one form for both signs, no blend), `1 + E`
/// as the pair of [`one_plus`], one corrected division.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sigmoid_finish(_x: __m256, e: __m256) -> __m256 {
    let (d, d_lo) = one_plus(e);
    let one = splat(1.0);
    let q = _mm256_div_ps(one, d);
    // The residual of `1/(d + d_lo)`, scaled by `q` itself: a better reciprocal than `vrcpps`
    // and one µop fewer.
    let rn = _mm256_fmadd_ps(q, d_lo, _mm256_fmsub_ps(q, d, one));
    _mm256_fnmadd_ps(rn, q, q)
}

/// Sigmoid, stage 2, for any lane: [`sigmoid_finish`] of stage 1's `E` on the lanes with
/// `|x| ≤ 87`; on the others `e = e^−|x|` (clamped at 110, subnormal included, rounded once), `1/(1 + e)` for
/// `x > 0` and `e/(1 + e)` for `x < 0` with `1 + e` an exact pair and one corrected division.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sigmoid_finish_any(x: __m256, e: __m256) -> __m256 {
    let (p, s) = exp_minus_abs_parts(x, None);
    let em = scaled(p, s); // e^−|x|
    let (d, d_lo) = fast_two_sum(splat(1.0), em);
    let num = _mm256_blendv_ps(splat(1.0), em, x);
    let careful = corrected_div(num, _mm256_setzero_ps(), d, d_lo);
    let fast = sigmoid_finish(x, e);
    _mm256_blendv_ps(fast, careful, outside(x, NORMAL_EXP_LIMIT))
}

/// SiLU `x·sigmoid(x)`, stage 1: `E = e^−x` by [`exp_in_range`], meaningful on lanes with
/// `|x| ≤ 87` ([`silu_finish_any`] replaces the others).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn silu_exp(x: __m256) -> __m256 {
    exp_in_range(_mm256_xor_ps(x, splat(-0.0)))
}

/// Lanes where [`silu_finish`] is not valid (NaN or `|x| > 87`; see [`outside`]): the driver
/// runs [`silu_finish_any`] on chunks with such a lane.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn silu_flag(x: __m256) -> __m256 {
    sigmoid_flag(x)
}

/// SiLU, stage 2, for `|x| ≤ 87`: `x·sigmoid(x) = x/(1 + E)` from `E = e^−x` (one form for
/// both signs, no blend): `1 + E` as the pair of [`one_plus`], one corrected division of `x`.
/// An exact quotient gives a `+0` correction, so `x = −0` gives `−0`. For `x < 0` the error
/// is that of `E` (not damped) plus one rounding.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn silu_finish(x: __m256, e: __m256) -> __m256 {
    let (d, d_lo) = one_plus(e);
    corrected_div(x, _mm256_setzero_ps(), d, d_lo)
}

/// SiLU, stage 2, for any lane: [`silu_finish`] of stage 1's `E` on the lanes with `|x| ≤ 87`,
/// the careful
/// form (`x` clamped to −110, `m·e` kept exact through the `2^(n+64)` scaling so a subnormal
/// result is rounded once, `x` itself above 20) on the others.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
pub(super) fn silu_finish_any(x: __m256, e: __m256) -> __m256 {
    let (p, s) = exp_minus_abs_parts(x, None);
    let m = max_keep_nan(x, -SIGMOID_CLAMP);
    let careful = saturate_to_x(x, silu_quotient(m, scaled(p, s), p, s));
    let fast = silu_finish(x, e);
    _mm256_blendv_ps(fast, careful, outside(x, NORMAL_EXP_LIMIT))
}

/// `m·sigmoid` from `e = e^−|m| = p·s·2^−64`: `m·e` kept exact, `1 + e` an exact pair, one
/// corrected division (the sign of `m` picks `1/(1 + e)` or `e/(1 + e)`).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn silu_quotient(m: __m256, e: __m256, p: __m256, s: __m256) -> __m256 {
    let (d, d_lo) = fast_two_sum(splat(1.0), e);
    let k = splat(TWO_POW_M64);
    let ms = _mm256_mul_ps(m, s);
    let mps = _mm256_mul_ps(ms, p);
    let me = _mm256_mul_ps(mps, k);
    let me_lo = _mm256_mul_ps(_mm256_fmsub_ps(ms, p, mps), k);
    let num = _mm256_blendv_ps(m, me, m);
    let num_lo = _mm256_blendv_ps(_mm256_setzero_ps(), me_lo, m);
    corrected_div(num, num_lo, d, d_lo)
}

/// `x` on lanes with `x > 20`, where SiLU and both GELUs round to `x` (this also keeps `+∞`
/// away from the `∞ − ∞` of the quotient correction).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn saturate_to_x(x: __m256, v: __m256) -> __m256 {
    _mm256_blendv_ps(v, x, _mm256_cmp_ps::<_CMP_GT_OQ>(x, splat(GELU_CLAMP)))
}

/// Chunks with a lane beyond this `|x|` (or NaN) take [`tanh_finish_any`]; below it
/// `e^2|x| − 1` is normal and finite, so [`expm1_nonnegative`] applies.
const TANH_FAST_LIMIT: f32 = 40.0;

/// tanh, stage 1 (see `driver`): `e = e^2|x| − 1` by [`expm1_nonnegative`] (`2|x|` is exact),
/// meaningful on lanes with `|x| ≤ 40` ([`tanh_finish_any`] replaces the others).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn tanh_expm1(x: __m256) -> __m256 {
    let a = abs(x);
    expm1_nonnegative(_mm256_add_ps(a, a))
}

/// Lanes where [`tanh_finish`] is not valid (NaN or `|x| > 40`; see [`outside`]): the driver
/// runs [`tanh_finish_any`] on chunks with such a lane.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn tanh_flag(x: __m256) -> __m256 {
    outside(x, TANH_FAST_LIMIT)
}

/// tanh, stage 2, for `|x| ≤ 40`: `sign(x)·e/(e + 2)` for every such `|x|` (one form, no
/// blend), the sign restored by OR (so `−0` stays `−0`).
///
/// Errors: `e + 2` is carried as an exact pair (`2 + e` by the fast two-sum is exact for
/// `0 ≤ e < 2^25`; above, the quotient is 1 either way) into one corrected division, so the
/// result carries the error of `e` damped by `2/(e + 2) ≤ 1`, plus one rounding; `e` itself is
/// within about 0.5 ULP plus the polynomial's 0.03·2^−24 (`tools/fit_expm1.py`). The
/// exhaustive sweep checks the whole.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn tanh_finish(x: __m256, e: __m256) -> __m256 {
    let (d, d_lo) = fast_two_sum(splat(2.0), e);
    let t = corrected_div(e, _mm256_setzero_ps(), d, d_lo);
    _mm256_or_ps(t, _mm256_and_ps(x, splat(-0.0)))
}

/// tanh, stage 2, for any lane: [`tanh_finish`] of stage 1's `e` on the lanes with
/// `|x| ≤ 40`, `±1` (the sign of `x`) beyond, where tanh rounds to ±1 (it does from 9.01),
/// and `x + x` (a quiet NaN) on NaN lanes.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
pub(super) fn tanh_finish_any(x: __m256, e: __m256) -> __m256 {
    let t = tanh_finish(x, e);
    let one = _mm256_or_ps(splat(1.0), _mm256_and_ps(x, splat(-0.0)));
    let t = _mm256_blendv_ps(t, one, outside(x, TANH_FAST_LIMIT));
    _mm256_blendv_ps(t, _mm256_add_ps(x, x), _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x))
}

/// `x < 0 ? alpha·(e^x − 1) : x`, one rounding after a double-word `e^x − 1`.
///
/// `e^a − 1 = (2^n − 1) + 2^n·r + 2^n·rw` from [`exp_split_m1`] (`a` clamped to
/// `[−18, 0]`): `2^n − 1` is split exactly (`c + cl`), `2^n·r` and `2^n·rw` are exact, and
/// `c + 2^n·r` is an exact two-sum (`|c| ≥ |2^n·r|` or `c = 0`), so nothing cancels.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn elu(x: __m256, alpha: __m256) -> __m256 {
    let a = min_keep_nan(max_keep_nan(x, -18.0), 0.0);
    let (s, r, rw) = exp_split_m1(a);
    let one = splat(1.0);
    let c = _mm256_sub_ps(s, one);
    let cl = _mm256_sub_ps(s, _mm256_add_ps(c, one)); // exact (Sterbenz)
    let sr = _mm256_mul_ps(s, r);
    let (h, l) = fast_two_sum(c, sr);
    let l = _mm256_fmadd_ps(s, rw, _mm256_add_ps(l, cl));
    let ev = _mm256_fmadd_ps(alpha, h, _mm256_mul_ps(alpha, l));
    let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps());
    _mm256_blendv_ps(x, ev, neg)
}

/// `x·Φ(x)`, with `Φ(−|x|) = h = ½·e^(−x²/2)·F(u)/(1 + 2t)`, `t = |x|/√2` (see
/// [`erfcx_fit`]): negative side `x·h`, positive side `x − x·h`.
///
/// `u = 2t/(t + L) − 1` keeps `u + 1` accurate for small `t`; `F`, `p·F`, `x·p·F` and
/// `1 + 2t` are carried as exact pairs into one corrected division, so the error is that of
/// `p`, of the polynomial, and one rounding.
///
/// Stage 1 (see `driver`): `e^(−x²/2) = p·s·2^−64` and `u`; the state is `(p, s, u)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gelu_exp(x: __m256) -> (__m256, __m256, __m256) {
    let xc = min_keep_nan(max_keep_nan(x, -GELU_CLAMP), GELU_CLAMP);
    let sq = _mm256_mul_ps(xc, xc);
    let sq_lo = _mm256_fmsub_ps(xc, xc, sq);
    let neg_half = splat(-0.5);
    let ah = max_keep_nan(_mm256_mul_ps(neg_half, sq), -SIGMOID_CLAMP);
    let (p, s) = exp_nonpositive_parts(ah, Some(_mm256_mul_ps(neg_half, sq_lo)));
    let t = _mm256_mul_ps(abs(xc), splat(core::f32::consts::FRAC_1_SQRT_2));
    let two_t = _mm256_add_ps(t, t);
    let l = splat(erfcx_fit::L as f32);
    let u = _mm256_sub_ps(_mm256_div_ps(two_t, _mm256_add_ps(t, l)), splat(1.0));
    (p, s, u)
}

/// GELU, stage 2: the `erfcx` polynomial in stage 1's `u`, the pairs and the corrected
/// division (see [`gelu_exp`]).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gelu_finish(x: __m256, (p, s, u): (__m256, __m256, __m256)) -> __m256 {
    let m = max_keep_nan(x, -GELU_CLAMP);
    let xc = min_keep_nan(m, GELU_CLAMP);
    let t = _mm256_mul_ps(abs(xc), splat(core::f32::consts::FRAC_1_SQRT_2));
    let two_t = _mm256_add_ps(t, t);
    let one = splat(1.0);
    let c = &erfcx_fit::F_COEFFS;
    let mut g = splat(c[0] as f32);
    let mut i = 1;
    while i < c.len() - 1 {
        g = _mm256_fmadd_ps(g, u, splat(c[i] as f32));
        i += 1;
    }
    let (f, f_lo) = fast_two_sum(
        splat(erfcx_fit::F0_HI),
        _mm256_fmadd_ps(g, u, splat(erfcx_fit::F0_LO)),
    );
    // N = ½·p·F as a pair (½ is exact).
    let half = splat(0.5);
    let hp = _mm256_mul_ps(half, p); // ½·e = ½·p·s·2^−64: scaled at the very end
    let nh = _mm256_mul_ps(hp, f);
    let nl = _mm256_fmadd_ps(hp, f_lo, _mm256_fmsub_ps(hp, f, nh));
    // Negative side: numerator m·N.
    let mnh = _mm256_mul_ps(m, nh);
    let mnl = _mm256_fmadd_ps(m, nl, _mm256_fmsub_ps(m, nh, mnh));
    let num = _mm256_blendv_ps(nh, mnh, x);
    let num_lo = _mm256_blendv_ps(nl, mnl, x);
    let (w, w_lo) = fast_two_sum(one, two_t);
    let v = corrected_div(num, num_lo, w, w_lo);
    let v = _mm256_mul_ps(_mm256_mul_ps(v, s), splat(TWO_POW_M64));
    let pos = _mm256_fnmadd_ps(xc, v, m);
    saturate_to_x(x, _mm256_blendv_ps(pos, v, x))
}

/// tanh-form GELU `x·sigmoid(w)`, `w = x·(K1 + K3·x²)` evaluated as a double word so the
/// exponential of a large `|w|` does not magnify its rounding. Stage 1 (see `driver`): `w`
/// and `e^−|w| = p·s·2^−64`; the state is `(p, s, wh)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gelu_tanh_exp(x: __m256) -> (__m256, __m256, __m256) {
    let m = max_keep_nan(x, -GELU_CLAMP);
    let xc = min_keep_nan(m, GELU_CLAMP);
    let sq = _mm256_mul_ps(xc, xc);
    let sq_lo = _mm256_fmsub_ps(xc, xc, sq);
    let k3h = splat(GELU_TANH_K3_HI);
    let p1 = _mm256_mul_ps(k3h, sq);
    let p1l = _mm256_fmsub_ps(k3h, sq, p1);
    let p1l = _mm256_add_ps(
        p1l,
        _mm256_fmadd_ps(k3h, sq_lo, _mm256_mul_ps(splat(GELU_TANH_K3_LO), sq)),
    );
    let (ch, cl) = two_sum(splat(GELU_TANH_K1_HI), p1);
    let cl = _mm256_add_ps(cl, _mm256_add_ps(p1l, splat(GELU_TANH_K1_LO)));
    let wh = _mm256_mul_ps(xc, ch);
    let wl = _mm256_fmadd_ps(xc, cl, _mm256_fmsub_ps(xc, ch, wh));
    let (p, s) = exp_minus_abs_parts(wh, Some(wl));
    (p, s, wh)
}

/// tanh-form GELU, stage 2: `m·sigmoid(w)` with `m = max(x, −20)`, `x` itself above 20.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gelu_tanh_finish(x: __m256, (p, s, wh): (__m256, __m256, __m256)) -> __m256 {
    let m = max_keep_nan(x, -GELU_CLAMP);
    saturate_to_x(x, times_sigmoid(m, wh, (p, s)))
}
