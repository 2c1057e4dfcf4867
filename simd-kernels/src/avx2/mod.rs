//! AVX2+FMA kernels (x86_64 with SSE enabled, i.e. not the soft-float `x86_64-unknown-none`).
//!
//! Every public function here is an `unsafe fn` compiled with
//! `#[target_feature(enable = "avx2,fma")]`: calling it on a CPU without AVX2 and FMA (or with
//! the OS not saving YMM state) is undefined behaviour. The safe dispatcher in
//! [`crate::Backend`] checks `cpufeatures` (CPUID + XGETBV) before calling them.
//!
//! Every element-wise kernel runs through the one slice driver in [`driver`]; softmax has its
//! own passes in [`softmax`].

mod activations;
mod driver;
mod memory;
mod softmax;
mod vector_math;

use core::arch::x86_64::__m256;

/// Generates the out-of-place and in-place entry points of one element-wise kernel given as
/// two stages (see [`driver`]); a one-stage kernel has state `()` and an empty stage 1. A
/// guarded kernel adds `flag` and `stage2_any` (see [`driver::Kernel`]).
macro_rules! elementwise {
    (
        $what:literal, $name:ident, $inplace:ident $(, $arg:ident: $ty:ty)*;
        zero: $zero:expr,
        stage1: |$x1:ident| $stage1:expr,
        stage2: |$x2:ident, $state:pat_param| $stage2:expr $(,)?
    ) => {
        elementwise!($what, $name, $inplace $(, $arg: $ty)*;
            zero: $zero,
            stage1: |$x1| $stage1,
            stage2: |$x2, $state| $stage2,
            flag: |_x| vector_math::zero(),
            stage2_any: |$x2, $state| $stage2);
    };
    (
        $what:literal, $name:ident, $inplace:ident $(, $arg:ident: $ty:ty)*;
        zero: $zero:expr,
        stage1: |$x1:ident| $stage1:expr,
        stage2: |$x2:ident, $state:pat_param| $stage2:expr,
        flag: |$xf:ident| $flag:expr,
        stage2_any: |$xa:ident, $state_any:pat_param| $stage2_any:expr $(,)?
    ) => {
        #[doc = concat!($what, ", out of place (AVX2+FMA).")]
        ///
        /// # Panics
        /// If `input.len() != output.len()`.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
        /// (`Backend::Avx2Fma.is_available()`).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $name(input: &[f32], output: &mut [f32] $(, $arg: $ty)*) {
            crate::check_lengths(stringify!($name), input.len(), output.len());
            driver::Kernel {
                zero: $zero,
                stage1: |$x1: __m256| $stage1,
                stage2: |$x2: __m256, $state| $stage2,
                stage2_any: |$xa: __m256, $state_any| $stage2_any,
                flag: |$xf: __m256| $flag,
            }
            .map(input, output);
        }

        #[doc = concat!($what, ", in place (AVX2+FMA).")]
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
        /// (`Backend::Avx2Fma.is_available()`).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $inplace(data: &mut [f32] $(, $arg: $ty)*) {
            driver::Kernel {
                zero: $zero,
                stage1: |$x1: __m256| $stage1,
                stage2: |$x2: __m256, $state| $stage2,
                stage2_any: |$xa: __m256, $state_any| $stage2_any,
                flag: |$xf: __m256| $flag,
            }
            .map_inplace(data);
        }
    };
}

elementwise!("ReLU", relu, relu_inplace;
    zero: (), stage1: |_x| (), stage2: |x, ()| activations::relu(x));
/// Runs `$call` with `$f` bound to the cheapest per-vector Leaky ReLU form for `$alpha` that
/// gives the same bits as `x < 0 ? alpha·x : x` (see `activations::leaky_relu_max`).
macro_rules! with_leaky_form {
    ($alpha:expr, |$f:ident| $call:expr) => {{
        let alpha: f32 = $alpha;
        let a = vector_math::splat(alpha);
        if alpha > 0.0 && alpha <= 1.0 {
            let $f = |x: __m256| activations::leaky_relu_max(x, a);
            $call
        } else if alpha >= 1.0 {
            let $f = |x: __m256| activations::leaky_relu_min(x, a);
            $call
        } else {
            let $f = |x: __m256| activations::leaky_relu(x, a);
            $call
        }
    }};
}

/// The one-stage, unguarded driver kernel of a per-vector Leaky ReLU form `$f`.
macro_rules! leaky_kernel {
    ($f:ident) => {
        driver::Kernel {
            zero: (),
            stage1: |_: __m256| (),
            stage2: |x: __m256, ()| $f(x),
            stage2_any: |x: __m256, ()| $f(x),
            flag: |_: __m256| vector_math::zero(),
        }
    };
}

/// Leaky ReLU, out of place (AVX2+FMA).
///
/// # Panics
/// If `input.len() != output.len()`.
///
/// # Safety
/// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
/// (`Backend::Avx2Fma.is_available()`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn leaky_relu(input: &[f32], output: &mut [f32], alpha: f32) {
    crate::check_lengths("leaky_relu", input.len(), output.len());
    with_leaky_form!(alpha, |f| leaky_kernel!(f).map(input, output))
}

/// Leaky ReLU, in place (AVX2+FMA).
///
/// # Safety
/// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
/// (`Backend::Avx2Fma.is_available()`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn leaky_relu_inplace(data: &mut [f32], alpha: f32) {
    with_leaky_form!(alpha, |f| leaky_kernel!(f).map_inplace(data))
}
elementwise!("Sigmoid", sigmoid, sigmoid_inplace;
    zero: vector_math::zero(),
    stage1: |x| activations::sigmoid_exp(x),
    stage2: |x, e| activations::sigmoid_finish(x, e),
    flag: |x| activations::sigmoid_flag(x),
    stage2_any: |x, e| activations::sigmoid_finish_any(x, e));
elementwise!("GELU (erf form)", gelu, gelu_inplace;
    zero: (vector_math::zero(), vector_math::zero(), vector_math::zero()),
    stage1: |x| activations::gelu_exp(x),
    stage2: |x, state| activations::gelu_finish(x, state));
elementwise!("GELU (tanh form)", gelu_tanh, gelu_tanh_inplace;
    zero: (vector_math::zero(), vector_math::zero(), vector_math::zero()),
    stage1: |x| activations::gelu_tanh_exp(x),
    stage2: |x, state| activations::gelu_tanh_finish(x, state));
elementwise!("tanh", tanh, tanh_inplace;
    zero: vector_math::zero(),
    stage1: |x| activations::tanh_expm1(x),
    stage2: |x, e| activations::tanh_finish(x, e),
    flag: |x| activations::tanh_flag(x),
    stage2_any: |x, e| activations::tanh_finish_any(x, e));
elementwise!("SiLU", silu, silu_inplace;
    zero: vector_math::zero(),
    stage1: |x| activations::silu_exp(x),
    stage2: |x, e| activations::silu_finish(x, e),
    flag: |x| activations::silu_flag(x),
    stage2_any: |x, e| activations::silu_finish_any(x, e));
elementwise!("ELU", elu, elu_inplace, alpha: f32;
    zero: (), stage1: |_x| (),
    stage2: |x, ()| activations::elu(x, vector_math::splat(alpha)));
elementwise!("exp", exp, exp_inplace;
    zero: (), stage1: |_x| (), stage2: |x, ()| activations::exp(x));

/// Softmax of the row `input` into `output` (AVX2+FMA).
///
/// # Panics
/// If `input.len() != output.len()`.
///
/// # Safety
/// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
/// (`Backend::Avx2Fma.is_available()`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn softmax(input: &[f32], output: &mut [f32]) {
    crate::check_lengths("softmax", input.len(), output.len());
    softmax::softmax_row(input, output);
}

/// Softmax of the row `data`, in place (AVX2+FMA).
///
/// # Safety
/// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
/// (`Backend::Avx2Fma.is_available()`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn softmax_inplace(data: &mut [f32]) {
    softmax::softmax_row_inplace(data);
}
