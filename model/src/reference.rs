//! A held-out test set with a reference framework's answers for it.

use crate::ModelError;
use crate::tensors::{bad_shape, f32s, f64s, u8s};
use alloc::vec::Vec;
use safetensors::SafeTensors;

/// The test split and the reference's answers, as `train.py` writes them: `inputs`
/// (F32 `[N, features]`), `labels` and `predictions` (U8 `[N]`), `probabilities`
/// (F64 `[N, classes]`).
#[derive(Clone, Debug)]
pub struct ReferenceSet {
    /// Samples, row-major, `samples × features`.
    pub inputs: Vec<f32>,
    /// True class of each sample.
    pub labels: Vec<u8>,
    /// The reference's predicted class of each sample.
    pub predictions: Vec<u8>,
    /// The reference's class probabilities, `samples × classes`.
    pub probabilities: Vec<f64>,
    /// Number of samples.
    pub samples: usize,
    /// Features per sample.
    pub features: usize,
    /// Classes per sample.
    pub classes: usize,
}

impl ReferenceSet {
    /// Reads the set from a safetensors file (any alignment).
    ///
    /// # Errors
    /// A [`ModelError`] naming the missing, mistyped or misshaped tensor.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelError> {
        let st = SafeTensors::deserialize(bytes)?;
        let (inputs, in_shape) = f32s(&st, "inputs")?;
        let &[samples, features] = in_shape.as_slice() else {
            return Err(bad_shape("inputs", &in_shape));
        };
        let (probabilities, p_shape) = f64s(&st, "probabilities")?;
        let &[p_samples, classes] = p_shape.as_slice() else {
            return Err(bad_shape("probabilities", &p_shape));
        };
        if p_samples != samples || classes == 0 {
            return Err(bad_shape("probabilities", &p_shape));
        }
        let (labels, l_shape) = u8s(&st, "labels")?;
        if l_shape.as_slice() != [samples] {
            return Err(bad_shape("labels", &l_shape));
        }
        let (predictions, r_shape) = u8s(&st, "predictions")?;
        if r_shape.as_slice() != [samples] {
            return Err(bad_shape("predictions", &r_shape));
        }
        Ok(Self {
            inputs,
            labels,
            predictions,
            probabilities,
            samples,
            features,
            classes,
        })
    }

    /// Features of sample `i`.
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.inputs[i * self.features..][..self.features]
    }
}
