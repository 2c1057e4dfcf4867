//! Dense layer `y = x·Wᵀ + b` in f32: weight packing, shape checks with typed errors, and the
//! dispatch between the AVX2+FMA microkernel and the portable loop.
//!
//! # Layout
//! `x` is `batch × inputs`, `W` is `outputs × inputs` (PyTorch's `nn.Linear` layout), `b` has
//! `outputs` entries and `y` is `batch × outputs`, all row-major and contiguous, any alignment.
//! The weights are first packed ([`PackedWeights::pack`]) into a caller-owned buffer of
//! [`packed_len`] floats: panels of [`PANEL`] outputs, each the panel's bias followed by, for
//! every input `k`, the panel's `PANEL` weights of that input (zero-padded past `outputs`).
//! Model weights are constant, so a model packs once and keeps the buffer; nothing here
//! allocates.
//!
//! # Accuracy (both backends; enforced by `tests/linear.rs`)
//! Each output is one sequential sum over `k` that starts from the bias, with every product
//! and sum rounded to f32 (the AVX2 path fuses them, the scalar path does not). Against the
//! exact value, with `u = 2^−24` and `γ_n = n·u / (1 − n·u)`:
//!
//! `|y − y_exact| ≤ γ_(K+1) · (|b| + Σ_k |x_k|·|w_k|) + (K + 1)·2^−149`
//!
//! for `K = inputs`, as long as no intermediate overflows (the last term covers underflow).
//! Infinities and NaN propagate as in IEEE arithmetic.

mod pack;
mod scalar;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx2;

pub use pack::{PANEL, PackedWeights, packed_len};

use crate::{Backend, active_backend};
use core::fmt;

/// Why a [`linear`] call or a packing was refused. Nothing was written when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinearError {
    /// A slice has the wrong number of floats for the shape.
    Length {
        /// Which operand: `"x"`, `"weights"`, `"bias"`, `"y"` or `"packed buffer"`.
        operand: &'static str,
        /// Floats the shape needs (for the packed buffer: at least this many).
        expected: usize,
        /// Floats the caller passed.
        got: usize,
    },
    /// The shape's element count does not fit in `usize`.
    TooLarge,
    /// The requested backend cannot run on this CPU or build.
    BackendUnavailable(Backend),
}

impl fmt::Display for LinearError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinearError::Length {
                operand,
                expected,
                got,
            } => write!(
                f,
                "linear: {operand} has {got} floats, the shape needs {expected}"
            ),
            LinearError::TooLarge => f.write_str("linear: shape too large for usize"),
            LinearError::BackendUnavailable(b) => {
                write!(f, "linear: backend {} is not available here", b.name())
            }
        }
    }
}

impl core::error::Error for LinearError {}

/// `a · b`, or [`LinearError::TooLarge`].
pub(crate) fn product(a: usize, b: usize) -> Result<usize, LinearError> {
    a.checked_mul(b).ok_or(LinearError::TooLarge)
}

/// `Ok` when `got == expected`, else the [`LinearError::Length`] naming `operand`.
pub(crate) fn expect_len(
    operand: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), LinearError> {
    if got == expected {
        Ok(())
    } else {
        Err(LinearError::Length {
            operand,
            expected,
            got,
        })
    }
}

/// `y = x·Wᵀ + b` for `batch` rows of `x` on the [`active_backend`]; see the
/// [module docs](self) for the layout and the error bound.
pub fn linear<S: AsRef<[f32]>>(
    x: &[f32],
    batch: usize,
    weights: &PackedWeights<S>,
    y: &mut [f32],
) -> Result<(), LinearError> {
    active_backend().linear(x, batch, weights, y)
}

impl Backend {
    /// `y = x·Wᵀ + b` for `batch` rows of `x` on this backend (see [`linear`]).
    ///
    /// # Errors
    /// [`LinearError::Length`] if `x` is not `batch × inputs` or `y` not `batch × outputs`,
    /// [`LinearError::BackendUnavailable`] if this backend cannot run here.
    pub fn linear<S: AsRef<[f32]>>(
        self,
        x: &[f32],
        batch: usize,
        weights: &PackedWeights<S>,
        y: &mut [f32],
    ) -> Result<(), LinearError> {
        let (inputs, outputs) = (weights.inputs(), weights.outputs());
        expect_len("x", product(batch, inputs)?, x.len())?;
        expect_len("y", product(batch, outputs)?, y.len())?;
        let panels = weights.panels();
        match self {
            Backend::Scalar => scalar::linear(x, batch, inputs, panels, y, outputs),
            Backend::Avx2Fma => {
                if !self.is_available() {
                    return Err(LinearError::BackendUnavailable(self));
                }
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                // SAFETY: `is_available` just checked that the CPU has AVX2 and FMA and that
                // the OS saves YMM state, the kernel's only requirement beyond the shapes it
                // checks itself.
                unsafe {
                    avx2::linear(x, batch, inputs, panels, y, outputs)
                };
            }
        }
        Ok(())
    }
}
