//! Softmax of one row in three passes: maximum, `e^(x − max)` stored and summed in f64
//! (a NaN entry shows up as a NaN sum), scale by the f32-rounded reciprocal of the sum.
#![deny(unsafe_code)]

use core::arch::x86_64::*;

use super::memory;
use super::vector_math::{
    any_lane, exp_pair_in_range, exp_parts, ldexp, max_keep_nan, splat, two_sum,
};
use crate::softmax_limits;

/// Maximum over the non-NaN entries (−∞ for an empty or all-NaN row). NaN entries are not
/// looked for here: they make the exponential pass's sum NaN, which the caller checks.
#[target_feature(enable = "avx2,fma")]
fn row_max(data: &[f32]) -> f32 {
    let (chunks, tail) = data.as_chunks::<8>();
    let mut acc = splat(f32::NEG_INFINITY);
    for c in chunks {
        // `maxps` returns the second operand on NaN: a NaN entry leaves `acc` unchanged.
        acc = _mm256_max_ps(memory::load(c), acc);
    }
    let mut lanes = [0.0f32; 8];
    memory::store(&mut lanes, acc);
    let mut max = f32::NEG_INFINITY;
    for &x in lanes.iter().chain(tail) {
        if x > max {
            max = x;
        }
    }
    max
}

/// `e^(x − max)` with the difference kept as an exact pair, so large `|x − max|` does not
/// magnify its rounding. Padding lanes of −∞ give +0.
///
/// A chunk whose differences all lie in `[−87, 0]` (the common case) takes
/// [`exp_pair_in_range`]: no clamps and one exact power-of-two multiplication, the same bits
/// as the careful [`exp_shifted_any`] there.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp_shifted(x: __m256, neg_max: __m256) -> __m256 {
    let (dh, dl) = two_sum(x, neg_max);
    if any_lane(_mm256_cmp_ps::<_CMP_NGE_UQ>(dh, splat(-87.0))) {
        exp_shifted_any(dh, dl)
    } else {
        exp_pair_in_range(dh, dl)
    }
}

/// [`exp_shifted`] for any lane (NaN, −∞, or far below the maximum).
#[cold]
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
fn exp_shifted_any(dh: __m256, dl: __m256) -> __m256 {
    // `dl` is NaN only when `dh` is ±∞ or NaN; then it must not matter: clamp it (NaN → −1).
    let dl = _mm256_min_ps(_mm256_max_ps(dl, splat(-1.0)), splat(1.0));
    let dh = max_keep_nan(dh, -104.0);
    let (p, n) = exp_parts(dh, dl);
    ldexp(p, n)
}

/// Adds the 8 lanes of `e` to two f64x4 accumulators.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn accumulate(acc: &mut (__m256d, __m256d), e: __m256) {
    acc.0 = _mm256_add_pd(acc.0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    acc.1 = _mm256_add_pd(acc.1, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(e)));
}

#[target_feature(enable = "avx2,fma")]
fn horizontal_sum(acc: (__m256d, __m256d)) -> f64 {
    let s = _mm256_add_pd(acc.0, acc.1);
    let two = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
    _mm_cvtsd_f64(two) + _mm_cvtsd_f64(_mm_unpackhi_pd(two, two))
}

/// Writes `e^(x − max)` of `input` into `output`, returns the f64 sum.
#[target_feature(enable = "avx2,fma")]
fn exp_pass(input: &[f32], output: &mut [f32], max: f32) -> f64 {
    let neg_max = splat(-max);
    let mut acc = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let (in_chunks, in_tail) = input.as_chunks::<8>();
    let (out_chunks, out_tail) = output.as_chunks_mut::<8>();
    for (i, o) in in_chunks.iter().zip(out_chunks.iter_mut()) {
        let e = exp_shifted(memory::load(i), neg_max);
        accumulate(&mut acc, e);
        memory::store(o, e);
    }
    if !in_tail.is_empty() {
        let mut buf = [f32::NEG_INFINITY; 8];
        buf[..in_tail.len()].copy_from_slice(in_tail);
        let e = exp_shifted(memory::load(&buf), neg_max);
        accumulate(&mut acc, e);
        memory::store(&mut buf, e);
        out_tail.copy_from_slice(&buf[..in_tail.len()]);
    }
    horizontal_sum(acc)
}

/// In-place form of [`exp_pass`].
#[target_feature(enable = "avx2,fma")]
fn exp_pass_inplace(data: &mut [f32], max: f32) -> f64 {
    let neg_max = splat(-max);
    let mut acc = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let (chunks, tail) = data.as_chunks_mut::<8>();
    for c in chunks.iter_mut() {
        let e = exp_shifted(memory::load_for_inplace(c), neg_max);
        accumulate(&mut acc, e);
        memory::store(c, e);
    }
    if !tail.is_empty() {
        let n = tail.len();
        let mut buf = [f32::NEG_INFINITY; 8];
        buf[..n].copy_from_slice(tail);
        let e = exp_shifted(memory::load(&buf), neg_max);
        accumulate(&mut acc, e);
        memory::store(&mut buf, e);
        tail.copy_from_slice(&buf[..n]);
    }
    horizontal_sum(acc)
}

/// Multiplies every element by `scale`.
#[target_feature(enable = "avx2,fma")]
fn scale_pass(data: &mut [f32], scale: f32) {
    let s = splat(scale);
    let (chunks, tail) = data.as_chunks_mut::<8>();
    for c in chunks.iter_mut() {
        let v = memory::load_for_inplace(c);
        memory::store(c, _mm256_mul_ps(v, s));
    }
    for v in tail {
        *v *= scale;
    }
}

/// Whether the row holds a NaN (only asked on the rare rows whose maximum is not finite).
fn has_nan(data: &[f32]) -> bool {
    data.iter().any(|x| x.is_nan())
}

/// Softmax of the row `input` into `output`; lengths already checked.
#[target_feature(enable = "avx2,fma")]
pub(super) fn softmax_row(input: &[f32], output: &mut [f32]) {
    let max = row_max(input);
    if input.is_empty() || !max.is_finite() {
        output.copy_from_slice(input);
        softmax_limits::apply(output, max, has_nan(output));
        return;
    }
    let sum = exp_pass(input, output, max);
    if sum.is_nan() {
        // Only a NaN entry makes the sum NaN (finite maximum): the row's result is all NaN.
        softmax_limits::apply(output, max, true);
        return;
    }
    scale_pass(output, (1.0 / sum) as f32);
}

/// Softmax of the row `data`, in place.
#[target_feature(enable = "avx2,fma")]
pub(super) fn softmax_row_inplace(data: &mut [f32]) {
    let max = row_max(data);
    if data.is_empty() || !max.is_finite() {
        softmax_limits::apply(data, max, has_nan(data));
        return;
    }
    let sum = exp_pass_inplace(data, max);
    if sum.is_nan() {
        // Only a NaN entry makes the sum NaN (finite maximum): the row's result is all NaN.
        softmax_limits::apply(data, max, true);
        return;
    }
    scale_pass(data, (1.0 / sum) as f32);
}
