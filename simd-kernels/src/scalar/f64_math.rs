//! f64 building blocks of the scalar path. `core` has no `exp`, `expm1`, `erfc`, `round` or
//! `mul_add` for floats, so they are written here with plain IEEE f64 arithmetic, which is
//! correctly rounded on every target (hardware SSE2 or soft-float). Each result carries a
//! relative error of a few f64 ULP (≈ 1e-15), far below the f32 rounding it is followed by.
#![forbid(unsafe_code)]

use crate::erfcx_fit;

/// ln 2 to 32 significant bits (fdlibm's `ln2_hi`): `k·LN2_HI` is exact for |k| < 2^20.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// `ln 2 − LN2_HI` (fdlibm's `ln2_lo`).
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5·2^52: adding it rounds to an integer

/// Round to the nearest integer (ties to even) for |v| < 2^51.
fn round_small(v: f64) -> f64 {
    (v + ROUND_MAGIC) - ROUND_MAGIC
}

/// `2^k` for `k` in the normal f64 exponent range.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `e^r` for |r| ≤ ln2/2 + ε: Taylor to degree 13 (truncation < 5e-18).
fn exp_reduced(r: f64) -> f64 {
    const INV_FACT: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    INV_FACT.iter().fold(0.0, |acc, &c| acc * r + c)
}

/// `e^x` in f64; NaN propagates, overflow gives +∞, deep underflow +0.
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = round_small(x * core::f64::consts::LOG2_E);
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let k = k as i32;
    // Two factors keep both in the normal range for k ∈ [-1075, 1023].
    let k1 = k / 2;
    exp_reduced(r) * pow2(k1) * pow2(k - k1)
}

/// `e^x − 1` with full relative accuracy near 0.
pub(crate) fn expm1(x: f64) -> f64 {
    if x.abs() < 0.35 {
        // Taylor to degree 15: truncation 0.35^16/16! < 3e-21 relative.
        let mut acc = 0.0;
        let mut k = 15.0;
        while k >= 2.0 {
            acc = (acc + 1.0) * x / k;
            k -= 1.0;
        }
        x + x * acc
    } else {
        exp(x) - 1.0
    }
}

/// `e^x / (1 + e^x)`, evaluated on the side that cannot overflow.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

/// `erfc(|x|/√2) / 2`, the lower tail Φ(−|x|) of the standard normal distribution, with full
/// relative accuracy for |x| ≤ 20 (through the fitted `erfcx`, never through `1 − erf`).
pub(crate) fn normal_tail(x: f64) -> f64 {
    let ax = x.abs();
    let t = ax * core::f64::consts::FRAC_1_SQRT_2;
    let u = (t - erfcx_fit::L) / (t + erfcx_fit::L);
    0.5 * exp(-0.5 * ax * ax) * erfcx_fit::f_of_u(u) / (1.0 + 2.0 * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_over_the_range_the_kernels_use() {
        let mut x = -745.0;
        while x < 709.0 {
            let rel = (exp(x) / std::primitive::f64::exp(x) - 1.0).abs();
            assert!(rel < 4e-15 || exp(x) < 1e-300, "exp({x}): rel {rel}");
            x += 0.3127;
        }
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn expm1_matches_std() {
        let mut x = -30.0;
        while x < 3.0 {
            let want = std::primitive::f64::exp_m1(x);
            let rel = (expm1(x) / want - 1.0).abs();
            assert!(rel < 4e-15 || want == 0.0, "expm1({x}): rel {rel}");
            x += 0.01173;
        }
    }
}
