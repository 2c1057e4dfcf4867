//! The portable path: the reference semantics of every function and the fallback on CPUs (or
//! targets such as `x86_64-unknown-none`) without AVX2+FMA.
//!
//! Each f32 result is computed in f64 and rounded once, so the scalar path sits within
//! ≈ 0.5 ULP of the exact value everywhere (the accuracy sweep measures it). The element
//! functions are public so callers can use them on single values.
#![forbid(unsafe_code)]

mod f64_math;

/// `√(8/π)`: the tanh-GELU argument is `w = 2·√(2/π)·(x + 0.044715·x³)`.
const GELU_TANH_K1: f64 = 1.595_769_121_605_730_8;
/// `0.044715`, the cubic coefficient of the tanh GELU.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// `max(x, 0)`; NaN → NaN, `relu(−0) = −0`.
#[inline]
pub fn relu(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}

/// `x` for `x ≥ 0` (and −0, NaN), `alpha·x` for `x < 0`.
#[inline]
pub fn leaky_relu(x: f32, alpha: f32) -> f32 {
    if x < 0.0 { alpha * x } else { x }
}

/// `1 / (1 + e^−x)`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    f64_math::sigmoid(x as f64) as f32
}

/// `tanh(x)`, keeping the sign of zero.
#[inline]
pub fn tanh(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let z = x.abs() as f64;
    let t = if z > 10.0 {
        1.0
    } else {
        let m = f64_math::expm1(-2.0 * z);
        -m / (2.0 + m)
    };
    (t as f32).copysign(x)
}

/// `x·Φ(x) = x/2·erfc(−x/√2)` (the exact, erf-form GELU).
#[inline]
pub fn gelu(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let xd = x as f64;
    if xd > 10.0 {
        x
    } else if xd < -40.0 {
        -0.0
    } else if xd >= 0.0 {
        // Also −0: −0·(1 − h) = −0.
        (xd * (1.0 - f64_math::normal_tail(xd))) as f32
    } else {
        (xd * f64_math::normal_tail(xd)) as f32
    }
}

/// `x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, evaluated as `x·sigmoid(w)` so the negative side
/// does not cancel.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let xd = x as f64;
    if xd > 20.0 {
        return x;
    }
    if xd < -20.0 {
        return -0.0;
    }
    let w = GELU_TANH_K1 * (xd + GELU_TANH_CUBIC * xd * xd * xd);
    (xd * f64_math::sigmoid(w)) as f32
}

/// `x·sigmoid(x)` (swish with β = 1).
#[inline]
pub fn silu(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let xd = x as f64;
    if xd < -200.0 {
        return -0.0;
    }
    (xd * f64_math::sigmoid(xd)) as f32
}

/// `x` for `x ≥ 0` (and −0, NaN), `alpha·(e^x − 1)` for `x < 0`.
#[inline]
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x < 0.0 {
        (alpha as f64 * f64_math::expm1(x as f64)) as f32
    } else {
        x
    }
}

/// `e^x`.
#[inline]
pub fn exp(x: f32) -> f32 {
    f64_math::exp(x as f64) as f32
}

macro_rules! slice_forms {
    ($(#[$doc:meta])* $name:ident, $inplace:ident, $elem:ident $(, $arg:ident: $ty:ty)*) => {
        $(#[$doc])*
        ///
        /// Slice form of the element function; lengths must already agree.
        pub(crate) fn $name(input: &[f32], output: &mut [f32] $(, $arg: $ty)*) {
            for (o, &x) in output.iter_mut().zip(input) {
                *o = $elem(x $(, $arg)*);
            }
        }

        $(#[$doc])*
        ///
        /// In-place slice form of the element function.
        pub(crate) fn $inplace(data: &mut [f32] $(, $arg: $ty)*) {
            for v in data.iter_mut() {
                *v = $elem(*v $(, $arg)*);
            }
        }
    };
}

slice_forms!(
    #[doc = "ReLU."]
    relu_slice,
    relu_inplace,
    relu
);
slice_forms!(#[doc = "Leaky ReLU."] leaky_relu_slice, leaky_relu_inplace, leaky_relu, alpha: f32);
slice_forms!(
    #[doc = "Sigmoid."]
    sigmoid_slice,
    sigmoid_inplace,
    sigmoid
);
slice_forms!(
    #[doc = "tanh."]
    tanh_slice,
    tanh_inplace,
    tanh
);
slice_forms!(
    #[doc = "GELU (erf)."]
    gelu_slice,
    gelu_inplace,
    gelu
);
slice_forms!(
    #[doc = "GELU (tanh)."]
    gelu_tanh_slice,
    gelu_tanh_inplace,
    gelu_tanh
);
slice_forms!(
    #[doc = "SiLU."]
    silu_slice,
    silu_inplace,
    silu
);
slice_forms!(#[doc = "ELU."] elu_slice, elu_inplace, elu, alpha: f32);
slice_forms!(
    #[doc = "exp."]
    exp_slice,
    exp_inplace,
    exp
);

/// Softmax of one row, in place: `e^(x_i − max) / Σ e^(x_j − max)`.
///
/// The exponentials are stored as f32 and summed in f64, then divided in f64: two roundings
/// per output. Rows with NaN or +∞ follow [`crate::softmax_limits`].
pub(crate) fn softmax_inplace(data: &mut [f32]) {
    let Some(max) = crate::softmax_limits::row_max_or_apply_limits(data) else {
        return;
    };
    let max = max as f64;
    let mut sum = 0.0f64;
    for v in data.iter_mut() {
        let e = f64_math::exp(*v as f64 - max);
        sum += e;
        *v = e as f32;
    }
    for v in data.iter_mut() {
        *v = (*v as f64 / sum) as f32;
    }
}

/// Softmax of one row from `input` into `output`.
pub(crate) fn softmax_slice(input: &[f32], output: &mut [f32]) {
    output.copy_from_slice(input);
    softmax_inplace(output);
}
