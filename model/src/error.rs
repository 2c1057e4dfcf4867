//! The model's typed errors.

use core::fmt;
use simd_kernels::LinearError;

/// Why loading or running a model failed.
#[derive(Debug)]
pub enum ModelError {
    /// The bytes are not a readable safetensors file.
    Format(safetensors::SafeTensorError),
    /// A tensor the model needs is absent.
    MissingTensor(alloc::string::String),
    /// A tensor has the wrong element type.
    Dtype {
        /// Tensor name.
        name: alloc::string::String,
        /// What the model reads.
        expected: safetensors::Dtype,
        /// What the file holds.
        got: safetensors::Dtype,
    },
    /// A tensor's shape does not fit the rest of the model.
    Shape {
        /// Tensor name.
        name: alloc::string::String,
        /// What the file holds.
        got: alloc::vec::Vec<usize>,
    },
    /// The file names an activation this crate does not implement.
    UnknownActivation(alloc::string::String),
    /// The file has no layer at all.
    NoLayers,
    /// A dense layer refused its operands (wrong input or output length, unavailable backend).
    Linear(LinearError),
    /// The allocator could not provide an activation tensor.
    OutOfMemory {
        /// Bytes requested.
        bytes: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Format(e) => write!(f, "model: not a safetensors file: {e:?}"),
            ModelError::MissingTensor(n) => write!(f, "model: tensor {n} is missing"),
            ModelError::Dtype {
                name,
                expected,
                got,
            } => write!(f, "model: tensor {name} is {got:?}, expected {expected:?}"),
            ModelError::Shape { name, got } => {
                write!(
                    f,
                    "model: tensor {name} has shape {got:?}, which does not fit"
                )
            }
            ModelError::UnknownActivation(a) => write!(f, "model: unknown activation {a:?}"),
            ModelError::NoLayers => f.write_str("model: no layers.0.weight tensor"),
            ModelError::Linear(e) => write!(f, "model: {e}"),
            ModelError::OutOfMemory { bytes } => {
                write!(f, "model: the allocator refused {bytes} bytes")
            }
        }
    }
}

impl core::error::Error for ModelError {}

impl From<LinearError> for ModelError {
    fn from(e: LinearError) -> Self {
        ModelError::Linear(e)
    }
}

impl From<safetensors::SafeTensorError> for ModelError {
    fn from(e: safetensors::SafeTensorError) -> Self {
        ModelError::Format(e)
    }
}
