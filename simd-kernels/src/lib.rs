//! `no_std` f32 activation kernels: AVX2+FMA for x86_64 (tuned for Zen 3) with a portable
//! scalar fallback chosen once at run time, accurate to a few ULP over every input.
//!
//! # Functions
//! Each function has an out-of-place form `f(input, output)` and an in-place form
//! `f_inplace(data)` (plus `alpha` for [`leaky_relu`] and [`elu`]). Any length, any alignment.
//! **Panics** if `input.len() != output.len()`, with the function name and both lengths.
//!
//! # Accuracy contract (both backends; enforced by `tests/accuracy_sweep.rs`)
//! Errors are measured against an f64 reference, in ULP of the correctly rounded f32 result
//! (for a subnormal result the ULP is 2^−149, i.e. the error is absolute). The measured worst
//! cases per backend are in the crate's README.md.
//!
//! | function | bound | notes |
//! |---|---|---|
//! | `relu`, `leaky_relu` | exact | `alpha·x` rounded once |
//! | `sigmoid`, `tanh`, `silu`, `exp` | ≤ 2 ULP | including subnormal results |
//! | `elu` | ≤ 1 ULP | `alpha·(e^x − 1)` rounded once from a double-word `e^x − 1` |
//! | `gelu`, `gelu_tanh` | ≤ 4 ULP where the result is normal | ≤ 4·2^−149 absolute where it is subnormal |
//! | `softmax` | ≤ 3 ULP per output (normal outputs) | f64 sum; ≤ 3·2^−149 absolute for subnormal outputs |
//!
//! # Special values
//! * NaN → NaN for every function (softmax: any NaN in the row makes the whole row NaN).
//! * Limits: `sigmoid(+∞) = 1`, `sigmoid(−∞) = +0`, `tanh(±∞) = ±1`, `exp(−∞) = +0`,
//!   `exp(+∞) = +∞`, `gelu(+∞) = gelu_tanh(+∞) = silu(+∞) = +∞`,
//!   `gelu(−∞) = gelu_tanh(−∞) = silu(−∞) = −0`, `elu(−∞) = −alpha`.
//! * Signed zero: `tanh`, `gelu`, `gelu_tanh`, `silu`, `elu`, `relu`, `leaky_relu` map −0 to −0.
//! * No finite input produces NaN; `exp` overflows to +∞ above ≈ 88.72.
//! * Subnormals: inputs are ordinary numbers (no flush to zero; the kernels never change
//!   MXCSR); results in the subnormal range are produced by gradual underflow, rounded once.
//! * Softmax special rows (shared code, so both backends agree bit for bit): a row with NaN
//!   gives NaN everywhere; otherwise a row with +∞ gives `1/k` to each of its `k` infinite
//!   entries and +0 elsewhere (the limit); a row of only −∞ gives NaN everywhere (0/0: a
//!   fully masked row is reported, not silently made uniform); an empty row is left alone.
//!   `−∞` entries in an otherwise finite row get exactly +0.
//!
//! # Floating-point environment (MXCSR)
//! Both backends assume the x86 default environment: round to nearest even, flush-to-zero
//! (FTZ) and denormals-are-zero (DAZ) off, every floating-point exception masked. They never
//! read or change MXCSR; debug builds assert that state (with `stmxcsr`) on every call.
//! * Under FTZ and/or DAZ (which many inference runtimes set) nothing becomes unsafe (the
//!   kernels only do arithmetic on in-bounds data), but subnormal inputs read as zero and
//!   subnormal results and intermediates flush to zero, so the accuracy contract and the
//!   special-value rules are not guaranteed: results near the underflow threshold (`exp(x)`
//!   for `x < −87.3`, sigmoid and SiLU of `x < −87`, the GELU tails, tiny inputs) may be
//!   zero or outside the bounds above.
//! * Another rounding mode voids the contract.
//! * Unmasked exceptions: the kernels raise invalid, overflow, underflow and inexact flags
//!   as part of normal operation (e.g. the careful path of SiLU computes `∞ − ∞` for a `+∞`
//!   input and then selects `+∞`), so an unmasked exception traps (`#XM`).
//!
//! # Backends
//! [`Backend::detect`] picks AVX2+FMA when `cpufeatures` (CPUID + XGETBV, no `std`) says the
//! CPU and OS support it; [`active_backend`] caches that choice. Any function can be run on a
//! chosen backend, e.g. `Backend::Scalar.sigmoid(input, output)`; forcing `Avx2Fma` where it
//! is unavailable panics (never UB). On `x86_64-unknown-none` (soft-float, no SSE) the AVX2
//! module is compiled out and everything runs on the scalar path.
//!
//! # Dense layer
//! [`linear`] computes `y = x·Wᵀ + b` (f32, row-major, any shape) from weights packed once
//! into a caller-owned buffer ([`PackedWeights`], [`packed_len`]); nothing allocates, shape
//! errors are a typed [`LinearError`], and the error bound against an f64 reference is in the
//! [`linear`](mod@linear) module docs. `Backend::Scalar.linear(...)` forces a backend as above.
#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub mod avx2;
mod backend;
mod erfcx_fit;
pub mod linear;
mod mxcsr;
pub mod scalar;
mod softmax_limits;

pub use backend::{Backend, active_backend};
pub use linear::{LinearError, PANEL, PackedWeights, linear, packed_len};

/// Panics with a clear message when an out-of-place call gets slices of different lengths.
#[inline]
#[track_caller]
pub(crate) fn check_lengths(function: &str, input: usize, output: usize) {
    if input != output {
        length_mismatch(function, input, output);
    }
}

/// The panic of [`check_lengths`], out of line so the check costs a compare and a branch.
#[cold]
#[inline(never)]
#[track_caller]
fn length_mismatch(function: &str, input: usize, output: usize) -> ! {
    panic!("simd_kernels::{function}: input length {input} != output length {output}");
}

/// Generates the dispatched top-level pair for one function.
macro_rules! dispatched {
    ($what:literal, $name:ident, $inplace:ident $(, $arg:ident: $ty:ty)*) => {
        #[doc = concat!($what, " of `input` into `output` on the [`active_backend`].")]
        ///
        /// # Panics
        /// If `input.len() != output.len()`.
        #[inline]
        pub fn $name(input: &[f32], output: &mut [f32] $(, $arg: $ty)*) {
            active_backend().$name(input, output $(, $arg)*)
        }

        #[doc = concat!($what, " of `data`, in place, on the [`active_backend`].")]
        #[inline]
        pub fn $inplace(data: &mut [f32] $(, $arg: $ty)*) {
            active_backend().$inplace(data $(, $arg)*)
        }
    };
}

dispatched!("ReLU `max(x, 0)` (exact)", relu, relu_inplace);
dispatched!("Leaky ReLU `x < 0 ? alpha·x : x` (exact)", leaky_relu, leaky_relu_inplace, alpha: f32);
dispatched!("Sigmoid `1/(1 + e^−x)` (≤ 2 ULP)", sigmoid, sigmoid_inplace);
dispatched!("`tanh` (≤ 2 ULP)", tanh, tanh_inplace);
dispatched!(
    "GELU `x·Φ(x)`, erf form (≤ 4 ULP where normal)",
    gelu,
    gelu_inplace
);
dispatched!(
    "GELU, tanh approximation (≤ 4 ULP where normal)",
    gelu_tanh,
    gelu_tanh_inplace
);
dispatched!("SiLU `x·sigmoid(x)` (≤ 2 ULP)", silu, silu_inplace);
dispatched!("ELU `x < 0 ? alpha·(e^x − 1) : x` (≤ 1 ULP)", elu, elu_inplace, alpha: f32);
dispatched!("`e^x` (≤ 2 ULP)", exp, exp_inplace);
dispatched!(
    "Numerically stable softmax of one row (≤ 3 ULP)",
    softmax,
    softmax_inplace
);
