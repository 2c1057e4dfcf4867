//! Packing `W` (outputs × inputs, row-major) and `b` into panels of [`PANEL`] outputs, in a
//! buffer the caller owns.

use super::{LinearError, expect_len, product};

/// Outputs per panel: two 8-lane vectors, the width of the AVX2 microkernel's tile.
pub const PANEL: usize = 16;

/// Floats a [`PackedWeights`] buffer needs for `outputs × inputs` weights:
/// `⌈outputs / PANEL⌉ · PANEL · (inputs + 1)` (the `+ 1` is the bias row of each panel).
///
/// # Errors
/// [`LinearError::TooLarge`] if that count does not fit in `usize`.
pub fn packed_len(outputs: usize, inputs: usize) -> Result<usize, LinearError> {
    let panel_floats = product(PANEL, inputs.checked_add(1).ok_or(LinearError::TooLarge)?)?;
    product(outputs.div_ceil(PANEL), panel_floats)
}

/// Weights and bias of one dense layer in the panel layout the kernels read (see the
/// [module docs](super)), in storage `S` the caller owns: `&mut [f32]`, a `Vec<f32>`, a slice
/// of a larger arena.
#[derive(Clone, Debug)]
pub struct PackedWeights<S> {
    storage: S,
    outputs: usize,
    inputs: usize,
}

impl<S: AsRef<[f32]>> PackedWeights<S> {
    /// Packs `weights` (`outputs × inputs`, row-major) and `bias` (`outputs`) into `storage`,
    /// which must hold at least [`packed_len`]`(outputs, inputs)` floats (any extra is left
    /// alone and never read).
    ///
    /// # Errors
    /// [`LinearError::Length`] for a `weights`, `bias` or `storage` of the wrong size,
    /// [`LinearError::TooLarge`] for a shape whose size overflows `usize`.
    pub fn pack(
        weights: &[f32],
        bias: &[f32],
        outputs: usize,
        inputs: usize,
        mut storage: S,
    ) -> Result<Self, LinearError>
    where
        S: AsMut<[f32]>,
    {
        expect_len("weights", product(outputs, inputs)?, weights.len())?;
        expect_len("bias", outputs, bias.len())?;
        let needed = packed_len(outputs, inputs)?;
        let buf = storage.as_mut();
        if buf.len() < needed {
            return Err(LinearError::Length {
                operand: "packed buffer",
                expected: needed,
                got: buf.len(),
            });
        }
        let panel_floats = PANEL * (inputs + 1);
        for (p, panel) in buf[..needed].chunks_exact_mut(panel_floats).enumerate() {
            panel.fill(0.0);
            let first = p * PANEL;
            let width = PANEL.min(outputs - first);
            panel[..width].copy_from_slice(&bias[first..first + width]);
            for j in 0..width {
                let row = &weights[(first + j) * inputs..][..inputs];
                for (k, &w) in row.iter().enumerate() {
                    panel[PANEL * (k + 1) + j] = w;
                }
            }
        }
        Ok(Self {
            storage,
            outputs,
            inputs,
        })
    }

    /// Outputs of the layer (rows of `W`).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Inputs of the layer (columns of `W`).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The packed panels, exactly [`packed_len`]`(outputs, inputs)` floats.
    pub(crate) fn panels(&self) -> &[f32] {
        let len = PANEL * (self.inputs + 1) * self.outputs.div_ceil(PANEL);
        &self.storage.as_ref()[..len]
    }

    /// Gives the storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }
}
