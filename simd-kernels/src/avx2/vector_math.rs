//! Vector building blocks (8 × f32) shared by the AVX2 kernels: exponential with a
//! double-word argument and an exact power-of-two scale, and `e^a − 1` as a double word.
//!
//! These are safe `#[target_feature]` functions: they can only be called from code that is
//! itself compiled for AVX2+FMA, which the public `unsafe fn`s of [`super`] guarantee.
#![deny(unsafe_code)]

use core::arch::x86_64::*;

/// Nearest f32 to ln 2 (0x3f317218); `n·LN2_HI` is exact inside an FMA.
const LN2_HI: f32 = core::f32::consts::LN_2;
/// `ln 2 − LN2_HI`.
const LN2_LO: f32 = -1.904_654_2e-9;
/// 1.5·2^23: `fma(a, log2e, MAGIC)` rounds `a·log2e` to an integer held in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Broadcast.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn splat(v: f32) -> __m256 {
    _mm256_set1_ps(v)
}

/// `|x|`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn abs(x: __m256) -> __m256 {
    _mm256_andnot_ps(splat(-0.0), x)
}

/// `min(x, hi)`, NaN in `x` kept (`minps` returns its second operand on NaN).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn min_keep_nan(x: __m256, hi: f32) -> __m256 {
    _mm256_min_ps(splat(hi), x)
}

/// `max(x, lo)`, NaN in `x` kept.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn max_keep_nan(x: __m256, lo: f32) -> __m256 {
    _mm256_max_ps(splat(lo), x)
}

/// Error-free sum for `|a| ≥ |b|` (or `a = 0`): `a + b = s + e` exactly.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn fast_two_sum(a: __m256, b: __m256) -> (__m256, __m256) {
    let s = _mm256_add_ps(a, b);
    let e = _mm256_sub_ps(b, _mm256_sub_ps(s, a));
    (s, e)
}

/// Error-free sum for any `a`, `b` (Knuth): `a + b = s + e` exactly.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn two_sum(a: __m256, b: __m256) -> (__m256, __m256) {
    let s = _mm256_add_ps(a, b);
    let bb = _mm256_sub_ps(s, a);
    let e = _mm256_add_ps(_mm256_sub_ps(a, _mm256_sub_ps(s, bb)), _mm256_sub_ps(b, bb));
    (s, e)
}

/// `v·2^n` for `n ∈ [−152, 128]`, via two normal power-of-two factors so that a result in
/// the subnormal range is rounded only once (by the last multiplication).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn ldexp(v: __m256, n: __m256i) -> __m256 {
    let n1 = _mm256_srai_epi32::<1>(n);
    let n2 = _mm256_sub_epi32(n, n1);
    let bias = _mm256_set1_epi32(127);
    let s1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
    let s2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
    _mm256_mul_ps(_mm256_mul_ps(v, s1), s2)
}

/// The one Cody–Waite range reduction of the exponentials: `n = round(a·log2 e)` by adding
/// `magic` (1.5·2^23 plus a bias) inside an FMA, so the low mantissa bits of the returned `t`
/// hold `n + bias`; `nf` is `n` as an f32 and `rh = a − n·LN2_HI` is exact. The rest of the
/// argument is `−n·LN2_LO` (and any low part of `a`): callers add it as they need.
///
/// No `a·log2e` is a tie between two integers (`log2e` has an odd 24-bit significand), so
/// every bias gives the same `n`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn round_reduce(a: __m256, magic: f32) -> (__m256, __m256, __m256) {
    let magic = splat(magic);
    let t = _mm256_fmadd_ps(a, splat(core::f32::consts::LOG2_E), magic);
    let nf = _mm256_sub_ps(t, magic);
    let rh = _mm256_fnmadd_ps(nf, splat(LN2_HI), a);
    (t, nf, rh)
}

/// `r = a − n·ln2` from [`round_reduce`]'s `(nf, rh)`: absolute error below 2^−25.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn reduced(nf: __m256, rh: __m256) -> __m256 {
    _mm256_fnmadd_ps(nf, splat(LN2_LO), rh)
}

/// The f32 `2^(k − bias)` from a `t` of [`round_reduce`] whose low 9 bits hold `k ∈ [1, 254]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn pow2_bits(t: __m256) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_castps_si256(t)))
}

/// 1.5·2^23 + 127: [`round_reduce`] with this magic gives `2^n` through [`pow2_bits`].
const POW2_MAGIC: f32 = 12_583_039.0;

/// `p·2^n` for a normal `p` and a normal product, by an integer add of `n_field = n << 23`
/// to the exponent field: exact, and no FMA-pipe µop.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn times_pow2(p: __m256, n_field: __m256i) -> __m256 {
    _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), n_field))
}

/// `n << 23` (two's complement) from a `t` of [`round_reduce`] with [`ROUND_MAGIC`]: the low
/// 9 bits of `t` hold `n` modulo 512 and the rest shifts out.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exponent_field(t: __m256) -> __m256i {
    _mm256_slli_epi32::<23>(_mm256_castps_si256(t))
}

/// Whether any lane of the comparison mask `m` is set.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn any_lane(m: __m256) -> bool {
    _mm256_movemask_ps(m) != 0
}

/// A vector whose lanes have the sign bit set exactly where `x` is NaN or `|x| > limit`
/// (`0 ≤ limit < ∞`): what [`any_lane`] and `blendv` read; the other bits are no mask.
///
/// As integers the bits of `|x|` order like `|x|` (NaNs above `+∞`), so
/// `bits(|x|) + (2^31 − 1 − bits(limit))` reaches `2^31` exactly when `|x| > limit` or `x` is
/// NaN, and never wraps: one integer add, which any vector port runs, where a float compare
/// takes an FMA-pipe slot.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn outside(x: __m256, limit: f32) -> __m256 {
    let bias = _mm256_set1_epi32((i32::MAX as u32 - limit.to_bits()) as i32);
    _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(abs(x)), bias))
}

/// `e^a` for `|a| ≤ 87` (normal results), as `p·2^n` exactly (an exponent-field add): the
/// same bits as [`exp_parts`] followed by [`ldexp`] give for those lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp_in_range(a: __m256) -> __m256 {
    let (t, nf, rh) = round_reduce(a, ROUND_MAGIC);
    times_pow2(exp_poly(reduced(nf, rh)), exponent_field(t))
}

/// `e^a − 1` for `0 ≤ a ≤ 87` (NaN propagates): `a = n·ln2 + r` with the one constant
/// `LN2_HI` (`r` then also carries `n·(ln 2 − LN2_HI)`, at most `|n|·1.9·10^−9`), `e^r − 1 =
/// r + r²·P(r)` ([`expm1_poly`]) and the result `fma(2^n, e^r − 1, 2^n − 1)` rounded once
/// (`2^n − 1` is exact for `n ≤ 24`; above, the `−1` is below the rounding). For `n = 0`
/// (`a < 0.35`) the reduction is exact (`r = a`), so small arguments keep their relative
/// accuracy. The one-constant error is for callers that damp the error of `e^a` by about
/// `1/e^a` (tanh's `e/(e + 2)`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn expm1_nonnegative(a: __m256) -> __m256 {
    let (t, _, r) = round_reduce(a, POW2_MAGIC);
    let s = pow2_bits(t);
    _mm256_fmadd_ps(s, expm1_poly(r), _mm256_sub_ps(s, splat(1.0)))
}

/// `e^r − 1` for `|r| ≤ 0.348`: `r + r²·P(r)` with `P` the degree-5 fit of
/// `(e^r − 1 − r)/r²` by `tools/fit_expm1.py` (relative error 0.03·2^−24 with these f32
/// coefficients, before rounding); 7 FMA-pipe operations.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn expm1_poly(r: __m256) -> __m256 {
    let mut p = splat(0.000_198_913_91);
    p = _mm256_fmadd_ps(p, r, splat(0.001_393_401_1));
    p = _mm256_fmadd_ps(p, r, splat(0.008_333_310_5));
    p = _mm256_fmadd_ps(p, r, splat(0.041_666_463));
    p = _mm256_fmadd_ps(p, r, splat(0.166_666_67));
    p = _mm256_fmadd_ps(p, r, splat(0.5));
    _mm256_fmadd_ps(_mm256_mul_ps(r, r), p, r)
}

/// `e^(a + a_lo)` for `|a| ≤ 87` and `|a_lo| ≤ 2^−20·|a|` (normal results) as `p·2^n` with one
/// exact multiplication: the same bits as [`exp_parts`] followed by [`ldexp`] give there.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp_pair_in_range(a: __m256, a_lo: __m256) -> __m256 {
    let (t, nf, rh) = round_reduce(a, ROUND_MAGIC);
    let r = _mm256_add_ps(reduced(nf, rh), a_lo);
    times_pow2(exp_poly(r), exponent_field(t))
}

/// Splits `e^(a_hi + a_lo) = p·2^n` with `p ∈ [0.70, 1.42]`, for `a_hi ∈ [−110, 89]` (callers
/// clamp; NaN propagates into `p`) and `|a_lo| ≤ 2^−20·|a_hi|`.
///
/// Range reduction `r = a − n·ln2` uses two constants with FMA (the first step is exact) and
/// adds `a_lo`, so `r` carries an absolute error below 2^−25 whatever the size of `a`: the
/// relative error of `e^a` does not grow with `|a|`. `e^r` is [`exp_poly`].
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp_parts(a_hi: __m256, a_lo: __m256) -> (__m256, __m256i) {
    let (t, nf, rh) = round_reduce(a_hi, ROUND_MAGIC);
    let n = _mm256_sub_epi32(
        _mm256_castps_si256(t),
        _mm256_castps_si256(splat(ROUND_MAGIC)),
    );
    let r = _mm256_add_ps(reduced(nf, rh), a_lo);
    (exp_poly(r), n)
}

/// 1.5·2^23 + 191: after [`round_reduce`] the low 9 mantissa bits hold `n + 191`, so
/// [`pow2_bits`] gives the f32 `2^(n + 64)` directly.
const SCALED_MAGIC: f32 = 12_583_103.0;

/// 2^−64: the factor that brings `p·2^(n+64)` back to `e^a`.
pub(super) const TWO_POW_M64: f32 = f32::from_bits(0x1f80_0000);

/// `e^(a_hi + a_lo) = p·s·2^−64` (`a_lo` absent: 0) for `a_hi ∈ [−110, 0]` (callers clamp; NaN propagates into
/// `p`), with `p ∈ [0.70, 1.42]` and `s = 2^(n + 64)` ∈ [2^−95, 2^64] read straight out of
/// the rounding constant's bits (one shift, no integer arithmetic).
///
/// Callers multiply whatever else they need into `p` first, then by `s`, then by 2^−64: the
/// intermediate stays normal for every `|m·p|` ≥ 2^−149·2^−64·…, and the last product is
/// exact for a normal result and rounds once for a subnormal one, so a normal result is never
/// built from a subnormal intermediate.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp_nonpositive_parts(a_hi: __m256, a_lo: Option<__m256>) -> (__m256, __m256) {
    let (t, nf, rh) = round_reduce(a_hi, SCALED_MAGIC);
    let mut r = reduced(nf, rh);
    if let Some(lo) = a_lo {
        r = _mm256_add_ps(r, lo);
    }
    (exp_poly(r), pow2_bits(t))
}

/// `e^r` for `|r| ≤ ln2/2 + 0.002`: `1 + r·q(r)` with `q` the degree-5 Chebyshev fit of
/// `(e^r − 1)/r` (mpmath `chebyfit`, coefficients rounded to f32): relative error 1.04e-8
/// (0.17·2^−24) including the coefficient rounding; 6 FMAs.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp_poly(r: __m256) -> __m256 {
    let mut q = splat(0.001_393_416);
    q = _mm256_fmadd_ps(q, r, splat(0.008_369_564));
    q = _mm256_fmadd_ps(q, r, splat(0.041_666_46));
    q = _mm256_fmadd_ps(q, r, splat(0.166_665_02));
    q = _mm256_fmadd_ps(q, r, splat(0.5));
    q = _mm256_fmadd_ps(q, r, splat(1.0));
    _mm256_fmadd_ps(q, r, splat(1.0))
}

/// `e^a = s·(1 + r + rw)` for `a ∈ [−18.5, 0]` (NaN propagates into `r`), with `s = 2^n`
/// (`n ∈ [−27, 0]`) and `e^r − 1 = r + rw` for the reduced `|r| ≤ ln2/2` as an unevaluated
/// pair: `rw = r·w`, `w = r·q(r)`, `q` the Taylor polynomial of `(e^r − 1 − r)/r²` to `r^6/8!`
/// (truncation below 2^−30 relative). For `n = 0` the reduction is exact (`r = a`), so small
/// arguments keep their relative accuracy, and `|rw| ≤ 0.18·|r|`, so the roundings of `w`
/// and `rw` reach `e^r − 1` damped five-fold: the pair is good to about 0.15 ULP.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp_split_m1(a: __m256) -> (__m256, __m256, __m256) {
    let (t, nf, rh) = round_reduce(a, POW2_MAGIC);
    let r = reduced(nf, rh);
    let mut q = splat(1.0 / 40320.0);
    q = _mm256_fmadd_ps(q, r, splat(1.0 / 5040.0));
    q = _mm256_fmadd_ps(q, r, splat(1.0 / 720.0));
    q = _mm256_fmadd_ps(q, r, splat(1.0 / 120.0));
    q = _mm256_fmadd_ps(q, r, splat(1.0 / 24.0));
    q = _mm256_fmadd_ps(q, r, splat(1.0 / 6.0));
    q = _mm256_fmadd_ps(q, r, splat(0.5));
    let rw = _mm256_mul_ps(r, _mm256_mul_ps(r, q));
    (pow2_bits(t), r, rw)
}

/// `num / d` corrected for the rounding of the quotient and for the low parts `num_lo` and
/// `d_lo` of the exact numerator and denominator (`d ∈ [1, 2]`): one `vdivps`, the exact
/// residual by FMA, and a correction through the 12-bit `vrcpps`. The residual is formed
/// negated so that a −0 quotient stays −0.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn corrected_div(num: __m256, num_lo: __m256, d: __m256, d_lo: __m256) -> __m256 {
    let q = _mm256_div_ps(num, d);
    let rn = _mm256_fmsub_ps(q, d, num);
    let rn = _mm256_fmadd_ps(q, d_lo, rn);
    let rn = _mm256_sub_ps(rn, num_lo);
    _mm256_fnmadd_ps(rn, _mm256_rcp_ps(d), q)
}

/// A zero vector (initial stage state).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn zero() -> __m256 {
    _mm256_setzero_ps()
}
