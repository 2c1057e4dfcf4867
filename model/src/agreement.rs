//! How far a run's probabilities are from the reference's: accuracy, agreement of the
//! predicted classes and the largest probability difference, and the one-line summary.

use crate::ReferenceSet;
use core::fmt;

/// Tally of a run over (part of) a [`ReferenceSet`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// Model name printed in the summary.
    pub name: &'static str,
    /// Samples compared.
    pub samples: usize,
    /// Samples whose predicted class is the true label.
    pub correct: usize,
    /// Samples whose predicted class is the reference's.
    pub agreeing: usize,
    /// Largest `|p − p_ref|` over every class of every sample compared.
    pub max_abs_diff: f64,
}

/// Index of the largest value; the first one on ties, as NumPy's `argmax` (and so
/// scikit-learn's `predict`) picks. `None` for an empty row.
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> Option<usize> {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    (!row.is_empty()).then_some(best)
}

impl Agreement {
    /// An empty tally for model `name`.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            samples: 0,
            correct: 0,
            agreeing: 0,
            max_abs_diff: 0.0,
        }
    }

    /// Adds samples `first..first + n` of `reference`, whose probabilities we computed as
    /// `probabilities` (`n × classes`, `n = probabilities.len() / classes`). A NaN probability
    /// makes `max_abs_diff` infinite.
    ///
    /// # Panics
    /// If those samples are not all in `reference` or the length is not a multiple of the
    /// class count (a caller's bug, not a data error).
    pub fn add(&mut self, reference: &ReferenceSet, first: usize, probabilities: &[f32]) {
        let c = reference.classes;
        assert!(
            probabilities.len().is_multiple_of(c),
            "{} probabilities is not a multiple of {c} classes",
            probabilities.len()
        );
        for (j, row) in probabilities.chunks_exact(c).enumerate() {
            let i = first + j;
            let predicted = argmax(row).map(|p| p as u8);
            self.samples += 1;
            self.correct += usize::from(predicted == Some(reference.labels[i]));
            self.agreeing += usize::from(predicted == Some(reference.predictions[i]));
            let want = &reference.probabilities[i * c..][..c];
            for (&p, &q) in row.iter().zip(want) {
                let d = (f64::from(p) - q).abs();
                self.max_abs_diff = if d.is_nan() {
                    f64::INFINITY
                } else {
                    self.max_abs_diff.max(d)
                };
            }
        }
    }

    /// Whether every prediction matched and every probability is within `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.agreeing == self.samples && self.max_abs_diff <= tolerance
    }

    /// Share of correct predictions (0 with no sample).
    pub fn accuracy(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.correct as f64 / self.samples as f64
        }
    }
}

/// `model <name>: <N> samples, accuracy <a>, agreement <k>/<N> with the reference,
/// max |Δp| <d>`.
impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "model {}: {} samples, accuracy {:.4}, agreement {}/{} with the reference, max |Δp| {:.2e}",
            self.name,
            self.samples,
            self.accuracy(),
            self.agreeing,
            self.samples,
            self.max_abs_diff
        )
    }
}
