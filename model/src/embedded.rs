//! The committed models of `models/` with their references, embedded with `include_bytes!`.

use crate::{Mlp, ModelError, ReferenceSet};

/// The largest `|p − p_ref|` accepted against a reference's f64 probabilities.
pub const PROBABILITY_TOLERANCE: f64 = 1e-4;

/// A model file and the reference answers for its test split.
#[derive(Debug)]
pub struct EmbeddedModel {
    /// Name used in summaries.
    pub name: &'static str,
    /// The weights (safetensors; see [`Mlp::from_safetensors`]).
    pub weights: &'static [u8],
    /// The test split and the reference's answers (see [`ReferenceSet::from_safetensors`]).
    pub reference: &'static [u8],
}

impl EmbeddedModel {
    /// Decodes the model and its reference set.
    ///
    /// # Errors
    /// The first [`ModelError`] of either file (the committed files have none), or
    /// [`ModelError::Shape`] if the reference does not fit the model.
    pub fn load(&self) -> Result<(Mlp, ReferenceSet), ModelError> {
        let model = Mlp::from_safetensors(self.weights)?;
        let reference = ReferenceSet::from_safetensors(self.reference)?;
        if (model.inputs(), model.outputs()) != (reference.features, reference.classes) {
            return Err(ModelError::Shape {
                name: alloc::string::String::from("inputs"),
                got: alloc::vec![reference.features, reference.classes],
            });
        }
        Ok((model, reference))
    }
}

/// `models/digits/`: scikit-learn's `MLPClassifier((128, 64), activation="tanh")`,
/// 64 → 128 → 64 → 10, with scikit-learn's predictions and probabilities.
pub static DIGITS: EmbeddedModel = EmbeddedModel {
    name: "digits",
    weights: include_bytes!("../../models/digits/weights.safetensors"),
    reference: include_bytes!("../../models/digits/reference.safetensors"),
};

/// `models/digits_silu/`: a 64 → 64 → 10 SiLU network trained with NumPy, with NumPy's f64
/// predictions and probabilities.
pub static DIGITS_SILU: EmbeddedModel = EmbeddedModel {
    name: "digits_silu",
    weights: include_bytes!("../../models/digits_silu/weights.safetensors"),
    reference: include_bytes!("../../models/digits_silu/reference.safetensors"),
};

/// Every embedded model.
pub static ALL: [&EmbeddedModel; 2] = [&DIGITS, &DIGITS_SILU];
