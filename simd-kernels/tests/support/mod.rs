//! Test support: f64 references (independent of the crate's algorithms), ULP measurement,
//! and the list of functions under test.
#![allow(dead_code)] // each test binary uses a different subset of this module

pub mod reference;

use simd_kernels::Backend;

/// Size of one f32 ULP at the correctly rounded f32 result nearest to `y` (2^−149 in the
/// subnormal range). For `|y|` exactly a power of two the ULP above is used.
pub fn ulp_of(y: f64) -> f64 {
    let a = y.abs();
    if a < f32::MIN_POSITIVE as f64 {
        return 2f64.powi(-149);
    }
    let e = a.log2().floor() as i32;
    // Guard against log2 rounding at binade edges.
    let e = if 2f64.powi(e) > a {
        e - 1
    } else if 2f64.powi(e + 1) <= a {
        e + 1
    } else {
        e
    };
    2f64.powi(e.min(127) - 23)
}

/// Error of `got` against the exact `want`, in ULP of the f32 result; `0` when both are the
/// same NaN/infinity class, `f64::INFINITY` for a class mismatch (NaN vs number, wrong
/// infinity, wrong sign of zero when `want` is zero is not checked here).
pub fn ulp_error(got: f32, want: f64) -> f64 {
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let want_rounded = want as f32; // correctly rounded (may overflow to ±∞)
    if got.is_infinite() || want_rounded.is_infinite() {
        return if got == want_rounded {
            0.0
        } else {
            f64::INFINITY
        };
    }
    (got as f64 - want).abs() / ulp_of(want)
}

/// Whether the correctly rounded result is subnormal or zero (contract in absolute terms).
pub fn is_subnormal_result(want: f64) -> bool {
    (want as f32).abs() < f32::MIN_POSITIVE
}

/// The backends to test here: scalar always, AVX2+FMA when this CPU has it (else a note).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Scalar];
    if Backend::Avx2Fma.is_available() {
        v.push(Backend::Avx2Fma);
    } else {
        eprintln!("note: this CPU lacks AVX2+FMA; the AVX2 backend is skipped");
    }
    v
}

/// An element-wise function under test.
#[derive(Clone, Copy)]
pub struct Func {
    pub name: &'static str,
    /// Runs the function on a backend, out of place.
    pub run: fn(Backend, &[f32], &mut [f32]),
    /// Runs the function on a backend, in place.
    pub run_inplace: fn(Backend, &mut [f32]),
    /// f64 reference.
    pub reference: fn(f32) -> f64,
    /// Contract for normal results, in ULP.
    pub max_ulp: f64,
    /// Contract for subnormal/zero results, in units of 2^−149.
    pub max_subnormal_ulp: f64,
}

pub const ELU_ALPHA: f32 = 1.0;
pub const LEAKY_ALPHA: f32 = 0.01;

pub fn functions() -> Vec<Func> {
    use reference as r;
    vec![
        Func {
            name: "relu",
            run: |b, i, o| b.relu(i, o),
            run_inplace: |b, d| b.relu_inplace(d),
            reference: r::relu,
            max_ulp: 0.0,
            max_subnormal_ulp: 0.0,
        },
        Func {
            name: "leaky_relu",
            run: |b, i, o| b.leaky_relu(i, o, LEAKY_ALPHA),
            run_inplace: |b, d| b.leaky_relu_inplace(d, LEAKY_ALPHA),
            reference: |x| r::leaky_relu(x, LEAKY_ALPHA),
            max_ulp: 0.5,
            max_subnormal_ulp: 0.5,
        },
        Func {
            name: "sigmoid",
            run: |b, i, o| b.sigmoid(i, o),
            run_inplace: |b, d| b.sigmoid_inplace(d),
            reference: r::sigmoid,
            max_ulp: 2.0,
            max_subnormal_ulp: 2.0,
        },
        Func {
            name: "tanh",
            run: |b, i, o| b.tanh(i, o),
            run_inplace: |b, d| b.tanh_inplace(d),
            reference: r::tanh,
            max_ulp: 2.0,
            max_subnormal_ulp: 2.0,
        },
        Func {
            name: "gelu",
            run: |b, i, o| b.gelu(i, o),
            run_inplace: |b, d| b.gelu_inplace(d),
            reference: r::gelu,
            max_ulp: 4.0,
            max_subnormal_ulp: 4.0,
        },
        Func {
            name: "gelu_tanh",
            run: |b, i, o| b.gelu_tanh(i, o),
            run_inplace: |b, d| b.gelu_tanh_inplace(d),
            reference: r::gelu_tanh,
            max_ulp: 4.0,
            max_subnormal_ulp: 4.0,
        },
        Func {
            name: "silu",
            run: |b, i, o| b.silu(i, o),
            run_inplace: |b, d| b.silu_inplace(d),
            reference: r::silu,
            max_ulp: 2.0,
            max_subnormal_ulp: 2.0,
        },
        Func {
            name: "elu",
            run: |b, i, o| b.elu(i, o, ELU_ALPHA),
            run_inplace: |b, d| b.elu_inplace(d, ELU_ALPHA),
            reference: |x| r::elu(x, ELU_ALPHA),
            max_ulp: 1.0,
            max_subnormal_ulp: 1.0,
        },
        Func {
            name: "exp",
            run: |b, i, o| b.exp(i, o),
            run_inplace: |b, d| b.exp_inplace(d),
            reference: r::exp,
            max_ulp: 2.0,
            max_subnormal_ulp: 2.0,
        },
    ]
}
