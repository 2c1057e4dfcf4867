//! Hidden-layer activations, named as scikit-learn names them.

use crate::ModelError;
use alloc::string::ToString;
use simd_kernels::Backend;

/// The activation applied after every hidden dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `x` (scikit-learn `"identity"`).
    Identity,
    /// `max(x, 0)` (`"relu"`).
    Relu,
    /// `1 / (1 + e^−x)` (`"logistic"`).
    Logistic,
    /// `tanh(x)` (`"tanh"`).
    Tanh,
    /// `x·Φ(x)` (`"gelu"`).
    Gelu,
    /// `x·sigmoid(x)` (`"silu"`).
    Silu,
}

impl Activation {
    /// Parses scikit-learn's name (plus `"gelu"` and `"silu"`).
    ///
    /// # Errors
    /// [`ModelError::UnknownActivation`] for any other name.
    pub fn from_name(name: &str) -> Result<Self, ModelError> {
        Ok(match name {
            "identity" => Activation::Identity,
            "relu" => Activation::Relu,
            "logistic" => Activation::Logistic,
            "tanh" => Activation::Tanh,
            "gelu" => Activation::Gelu,
            "silu" => Activation::Silu,
            other => return Err(ModelError::UnknownActivation(other.to_string())),
        })
    }

    /// Applies the activation to `data` in place on `backend`.
    ///
    /// # Panics
    /// If `backend` is not available (callers check it first: [`crate::Mlp::forward_on`]
    /// does).
    pub fn apply(self, backend: Backend, data: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Relu => backend.relu_inplace(data),
            Activation::Logistic => backend.sigmoid_inplace(data),
            Activation::Tanh => backend.tanh_inplace(data),
            Activation::Gelu => backend.gelu_inplace(data),
            Activation::Silu => backend.silu_inplace(data),
        }
    }
}
