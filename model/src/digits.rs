//! The committed handwritten-digits model (`models/digits/`, made by `train.py` there):
//! scikit-learn's `MLPClassifier((128, 64), activation="tanh")`, 64 → 128 → 64 → 10, with its
//! held-out test split and scikit-learn's own predictions and probabilities for it.

/// Name used in summaries.
pub const NAME: &str = "digits";

/// The weights (safetensors; read with [`crate::Mlp::from_safetensors`]).
pub static WEIGHTS: &[u8] = include_bytes!("../../models/digits/weights.safetensors");

/// The test split and scikit-learn's answers (read with
/// [`crate::ReferenceSet::from_safetensors`]).
pub static REFERENCE: &[u8] = include_bytes!("../../models/digits/reference.safetensors");

/// The largest `|p − p_ref|` accepted against scikit-learn's f64 probabilities.
pub const PROBABILITY_TOLERANCE: f64 = 1e-4;
