//! One vector (8 × f32) of each activation. Safe `#[target_feature]` functions, reachable only
//! through the `unsafe fn` slice entry points of [`super`].
//!
//! Clamps use `max_ps(bound, x)` / `min_ps(bound, x)` so that a NaN in `x` (the second
//! operand) is what comes out; every formula then carries NaN to the result.
#![deny(unsafe_code)]

use core::arch::x86_64::*;

use super::vector_math::{
    TWO_POW_M64, abs, corrected_div, exp_nonpositive_parts, exp_parts, expm1_double, fast_two_sum,
    ldexp, max_keep_nan, min_keep_nan, splat, two_sum,
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

/// `e^x`, overflow to +∞ above ≈ 88.72, gradual underflow below ≈ −87.34.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp(x: __m256) -> __m256 {
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

/// `m·sigmoid(wh + wl)` with the product `m·e` kept exact: the only errors are those of `e`
/// and one rounding. `e = e^−|w|`; `sigmoid(w) = 1/(1 + e)` for `w ≥ 0`, `e/(1 + e)` for
/// `w < 0`, with `d + d_lo = 1 + e` exactly.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn times_sigmoid(m: __m256, wh: __m256, wl: Option<__m256>) -> __m256 {
    let (p, s) = exp_minus_abs_parts(wh, wl);
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

/// Sigmoid `1/(1 + e^−x)`, stage 1 (see `two_stage`): `e = e^−|x|`, subnormal included.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sigmoid_exp(x: __m256) -> __m256 {
    let (p, s) = exp_minus_abs_parts(x, None);
    scaled(p, s)
}

/// Sigmoid, stage 2: `1/(1 + e)` for `x ≥ 0`, `e/(1 + e)` for `x < 0`, with `1 + e` as an
/// exact pair and one corrected division.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn sigmoid_finish(x: __m256, e: __m256) -> __m256 {
    let (d, d_lo) = fast_two_sum(splat(1.0), e);
    let num = _mm256_blendv_ps(splat(1.0), e, x);
    corrected_div(num, _mm256_setzero_ps(), d, d_lo)
}

/// SiLU `x·sigmoid(x)`, stage 1: `e^−|x| = p·s·2^−64` as the pair `(p, s)`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn silu_exp(x: __m256) -> (__m256, __m256) {
    exp_minus_abs_parts(x, None)
}

/// SiLU, stage 2: `x·sigmoid(x)` from stage 1's `e^−|x| = p·s·2^−64`, the same algorithm as
/// [`times_sigmoid`] (`m·e` kept exact, `1 + e` an exact pair, one corrected division) with
/// a shorter chain and one multiplication fewer:
/// * `ms = m·s` is exact (a power-of-two scaling that stays normal: `|m| ≤ 110` meets
///   `s ≥ 2^−95`, a subnormal `m` meets `s = 2^64`), so `ms·p` is `m·p·s` rounded once at full
///   precision and its FMA residual is exact; both come down by the exact 2^−64 (one
///   rounding only where `m·e` is subnormal).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn silu_finish(x: __m256, (p, s): (__m256, __m256)) -> __m256 {
    let m = max_keep_nan(x, -SIGMOID_CLAMP);
    let e = scaled(p, s);
    let (d, d_lo) = fast_two_sum(splat(1.0), e);
    let k = splat(TWO_POW_M64);
    let ms = _mm256_mul_ps(m, s);
    let mps = _mm256_mul_ps(ms, p);
    let me = _mm256_mul_ps(mps, k);
    let me_lo = _mm256_mul_ps(_mm256_fmsub_ps(ms, p, mps), k);
    let num = _mm256_blendv_ps(m, me, x);
    let num_lo = _mm256_blendv_ps(_mm256_setzero_ps(), me_lo, x);
    saturate_to_x(x, corrected_div(num, num_lo, d, d_lo))
}

/// `x` on lanes with `x > 20`, where SiLU and both GELUs round to `x` (this also keeps `+∞`
/// away from the `∞ − ∞` of the quotient correction).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn saturate_to_x(x: __m256, v: __m256) -> __m256 {
    _mm256_blendv_ps(v, x, _mm256_cmp_ps::<_CMP_GT_OQ>(x, splat(GELU_CLAMP)))
}

/// `tanh(x) = −M/(2 + M)`, stage 1 (see `two_stage`): `M = e^−2|x| − 1` as a double word.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn tanh_expm1(x: __m256) -> (__m256, __m256) {
    let z = min_keep_nan(abs(x), 9.1);
    expm1_double(_mm256_mul_ps(z, splat(-2.0)))
}

/// tanh, stage 2: `−M/(2 + M)`, one corrected division, sign of `x` restored.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn tanh_finish(x: __m256, (mh, ml): (__m256, __m256)) -> __m256 {
    let minus = splat(-0.0);
    let (dh, dl) = fast_two_sum(splat(2.0), mh);
    let dl = _mm256_add_ps(dl, ml);
    let num = _mm256_xor_ps(mh, minus);
    let q = _mm256_div_ps(num, dh);
    let r = _mm256_fnmadd_ps(q, dh, num);
    let r = _mm256_sub_ps(r, ml);
    let r = _mm256_fnmadd_ps(q, dl, r);
    let q = _mm256_fmadd_ps(r, _mm256_rcp_ps(dh), q);
    _mm256_or_ps(abs(q), _mm256_and_ps(x, minus))
}

/// `x < 0 ? alpha·(e^x − 1) : x`, one rounding after the double-word `e^x − 1`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn elu(x: __m256, alpha: __m256) -> __m256 {
    let a = min_keep_nan(max_keep_nan(x, -18.0), 0.0);
    let (mh, ml) = expm1_double(a);
    let ev = _mm256_fmadd_ps(alpha, mh, _mm256_mul_ps(alpha, ml));
    let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps());
    _mm256_blendv_ps(x, ev, neg)
}

/// `x·Φ(x)`, with `Φ(−|x|) = h = ½·e^(−x²/2)·F(u)/(1 + 2t)`, `t = |x|/√2` (see
/// [`erfcx_fit`]): negative side `x·h`, positive side `x − x·h`.
///
/// `u = 2t/(t + L) − 1` keeps `u + 1` accurate for small `t`; `F`, `p·F`, `x·p·F` and
/// `1 + 2t` are carried as exact pairs into one corrected division, so the error is that of
/// `p`, of the polynomial, and one rounding.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gelu(x: __m256) -> __m256 {
    let m = max_keep_nan(x, -GELU_CLAMP);
    let xc = min_keep_nan(m, GELU_CLAMP);
    let sq = _mm256_mul_ps(xc, xc);
    let sq_lo = _mm256_fmsub_ps(xc, xc, sq);
    let neg_half = splat(-0.5);
    let ah = max_keep_nan(_mm256_mul_ps(neg_half, sq), -SIGMOID_CLAMP);
    let (p, s) = exp_nonpositive_parts(ah, Some(_mm256_mul_ps(neg_half, sq_lo)));
    let t = _mm256_mul_ps(abs(xc), splat(core::f32::consts::FRAC_1_SQRT_2));
    let two_t = _mm256_add_ps(t, t);
    let l = splat(erfcx_fit::L as f32);
    let one = splat(1.0);
    let u = _mm256_sub_ps(_mm256_div_ps(two_t, _mm256_add_ps(t, l)), one);
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

/// `x·sigmoid(w)`, `w = x·(K1 + K3·x²)` evaluated as a double word so the exponential of a
/// large `|w|` does not magnify its rounding.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn gelu_tanh(x: __m256) -> __m256 {
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
    saturate_to_x(x, times_sigmoid(m, wh, Some(wl)))
}
