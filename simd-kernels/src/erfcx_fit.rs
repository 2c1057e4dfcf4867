//! The fitted approximation of the scaled complementary error function used by both GELU paths.
//!
//! `erfcx(t) = exp(t²)·erfc(t)` is approximated as `F(u) / (1 + 2t)` with `u = (t − L)/(t + L)`,
//! `L = 2.5`, where `F` is a degree-11 polynomial fitted by `tools/fit_erfcx.py` (mpmath
//! Chebyshev fit over `t ∈ [0, 14.2]`, maximum relative error 1.4e-9 ≈ 0.02 f32 ULP). The map
//! `t → u` folds the whole half-line into `[−1, 1)`, so a single polynomial serves every input
//! with no table or branch: this is what lets the negative side of GELU keep its relative
//! accuracy down to underflow instead of cancelling in `1 + erf`.
#![forbid(unsafe_code)]

/// `L` of the map `u = (t − L)/(t + L)`.
pub(crate) const L: f64 = 2.5;

/// Largest `t` the fit covers; callers clamp `|x|` to 20, i.e. `t ≤ 14.15`.
#[cfg(test)]
pub(crate) const T_MAX: f64 = 14.2;

/// Coefficients of `F(u)`, highest degree first (Horner order); the last one is `F(0)`.
pub(crate) const F_COEFFS: [f64; 12] = [
    -6.892985082896551e-05,
    -6.812990874240755e-05,
    0.0005933646984675571,
    0.00047389969729891746,
    -0.004365121794486522,
    0.0009386211906176255,
    0.032757117418553555,
    -0.10296813996419173,
    0.15763029878824794,
    -0.09902447879049686,
    -0.12235677459218067,
    1.2648381838542897,
];

/// `F(0)` split into the nearest f32 and the f32 remainder, so the f32 path adds it exactly.
#[cfg(any(test, all(target_arch = "x86_64", target_feature = "sse2")))]
pub(crate) const F0_HI: f32 = 1.264_838_2;
/// See [`F0_HI`].
#[cfg(any(test, all(target_arch = "x86_64", target_feature = "sse2")))]
pub(crate) const F0_LO: f32 = -3.483_467_4e-8;

/// `F(u)` in f64 (scalar path).
pub(crate) fn f_of_u(u: f64) -> f64 {
    F_COEFFS.iter().fold(0.0, |acc, &c| acc * u + c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_constant_adds_up_to_the_f64_coefficient() {
        let c0 = F_COEFFS[F_COEFFS.len() - 1];
        let diff = (F0_HI as f64 + F0_LO as f64 - c0).abs();
        // F0_LO is the nearest f32 to the remainder: off by at most half its ULP (2^-49).
        assert!(diff < 2e-15, "split off by {diff}");
    }

    #[test]
    fn fit_matches_the_known_limits() {
        // F(u = -1) is t = 0: erfcx(0)·1 = 1; F near u = UMAX approaches 2/sqrt(pi)·(1+2t)/(2t).
        assert!((f_of_u(-1.0) - 1.0).abs() < 1e-8, "{}", f_of_u(-1.0));
        let t = T_MAX;
        let u = (t - L) / (t + L);
        // Asymptotic erfcx(t) ≈ 1/(t√π)·(1 − 1/(2t²) + 3/(4t⁴)).
        let erfcx = (1.0 - 1.0 / (2.0 * t * t) + 3.0 / (4.0 * t.powi(4)))
            / (t * core::f64::consts::PI.sqrt());
        let rel = (f_of_u(u) / (1.0 + 2.0 * t) / erfcx - 1.0).abs();
        assert!(rel < 1e-5, "{rel}");
    }
}
