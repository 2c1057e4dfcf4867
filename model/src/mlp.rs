//! The multilayer perceptron: loading from safetensors and the tiled forward pass.

use crate::tensors::{bad_shape, f32s};
use crate::{Activation, ModelError};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use allocator_api2::alloc::Allocator;
use safetensors::SafeTensors;
use simd_kernels::{Backend, PackedWeights, active_backend, packed_len};

/// A multilayer perceptron: dense layers `layers.{i}.weight` (`[out, in]`, F32) and
/// `layers.{i}.bias` (`[out]`), the `hidden_activation` of the file's metadata after every
/// layer but the last, and a softmax over the last layer's outputs.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<PackedWeights<Vec<f32>>>,
    hidden: Activation,
    tile_rows: usize,
}

impl Mlp {
    /// Reads and packs the model in `bytes` (a safetensors file; any alignment).
    ///
    /// The metadata must have `hidden_activation` (see [`Activation::from_name`]) and, if
    /// present, `output_activation = "softmax"`.
    ///
    /// # Errors
    /// A [`ModelError`] naming the tensor or entry that is missing, mistyped or misshaped.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelError> {
        let (_, metadata) = SafeTensors::read_metadata(bytes)?;
        let entry = |key: &str| metadata.metadata().as_ref().and_then(|m| m.get(key));
        let hidden = Activation::from_name(
            entry("hidden_activation").map_or("(no hidden_activation)", |s| s.as_str()),
        )?;
        if let Some(out) = entry("output_activation")
            && out != "softmax"
        {
            return Err(ModelError::UnknownActivation(out.clone()));
        }
        let st = SafeTensors::deserialize(bytes)?;
        let mut layers: Vec<PackedWeights<Vec<f32>>> = Vec::new();
        while st
            .tensor(&format!("layers.{}.weight", layers.len()))
            .is_ok()
        {
            let i = layers.len();
            let (w_name, b_name) = (format!("layers.{i}.weight"), format!("layers.{i}.bias"));
            let (weights, shape) = f32s(&st, &w_name)?;
            let &[outputs, inputs] = shape.as_slice() else {
                return Err(bad_shape(&w_name, &shape));
            };
            if outputs == 0 || layers.last().is_some_and(|l| l.outputs() != inputs) {
                return Err(bad_shape(&w_name, &shape));
            }
            let (bias, b_shape) = f32s(&st, &b_name)?;
            if b_shape.as_slice() != [outputs] {
                return Err(bad_shape(&b_name, &b_shape));
            }
            let storage = vec![0.0; packed_len(outputs, inputs)?];
            layers.push(PackedWeights::pack(
                &weights, &bias, outputs, inputs, storage,
            )?);
        }
        if layers.is_empty() {
            return Err(ModelError::NoLayers);
        }
        let widest = layers.iter().map(PackedWeights::outputs).max().unwrap_or(1);
        let tile_rows = (alloc_pool::MAX_CLASS_SIZE / (widest * size_of::<f32>())).max(1);
        Ok(Self {
            layers,
            hidden,
            tile_rows,
        })
    }

    /// Features per sample.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs()
    }

    /// Classes (probabilities per sample).
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs()
    }

    /// The hidden activation.
    pub fn activation(&self) -> Activation {
        self.hidden
    }

    /// Samples per tile: the most rows whose widest hidden tensor still fits in
    /// [`alloc_pool::MAX_CLASS_SIZE`] bytes (at least 1; a layer wider than 2048 outputs
    /// makes tensors larger than a size class).
    pub fn tile_rows(&self) -> usize {
        self.tile_rows
    }

    /// Activation tensors one forward call allocates: one per hidden layer, at most two (the
    /// hidden layers alternate between two buffers), each `min(batch, tile_rows) × widest`
    /// floats at most.
    pub fn tensors_per_call(&self) -> usize {
        (self.layers.len() - 1).min(2)
    }

    /// Class probabilities of `batch` samples (`inputs` floats each, row-major in `x`) into
    /// `probabilities` (`batch × outputs`), on the [`active_backend`].
    ///
    /// # Errors
    /// As [`Mlp::forward_on`].
    pub fn forward<A: Allocator + Clone>(
        &self,
        x: &[f32],
        batch: usize,
        probabilities: &mut [f32],
        alloc: A,
    ) -> Result<(), ModelError> {
        self.forward_on(active_backend(), x, batch, probabilities, alloc)
    }

    /// [`Mlp::forward`] on a chosen backend: dense layers, activations and softmax all run on
    /// `backend`. The hidden tensors are allocated from `alloc` ([`Mlp::tensors_per_call`]
    /// of them, each at most [`alloc_pool::MAX_CLASS_SIZE`] bytes) and freed before return;
    /// the output goes straight into `probabilities`.
    ///
    /// # Errors
    /// [`ModelError::Linear`] if `x` is not `batch × inputs` or `probabilities` not
    /// `batch × outputs` floats or `backend` is unavailable, [`ModelError::OutOfMemory`] if
    /// `alloc` fails. `probabilities` may be partly written when an error is returned.
    pub fn forward_on<A: Allocator + Clone>(
        &self,
        backend: Backend,
        x: &[f32],
        batch: usize,
        probabilities: &mut [f32],
        alloc: A,
    ) -> Result<(), ModelError> {
        let (inputs, outputs) = (self.inputs(), self.outputs());
        let length = |operand, per_row: usize, got| simd_kernels::LinearError::Length {
            operand,
            expected: batch.saturating_mul(per_row),
            got,
        };
        if batch.checked_mul(inputs) != Some(x.len()) {
            return Err(length("x", inputs, x.len()).into());
        }
        if batch.checked_mul(outputs) != Some(probabilities.len()) {
            return Err(length("y", outputs, probabilities.len()).into());
        }
        if !backend.is_available() {
            return Err(simd_kernels::LinearError::BackendUnavailable(backend).into());
        }
        let Some((last, hidden)) = self.layers.split_last() else {
            return Err(ModelError::NoLayers);
        };
        let tile = self.tile_rows.min(batch.max(1));
        let widest = hidden.iter().map(PackedWeights::outputs).max().unwrap_or(0);
        let mut ping = tensor(tile * widest, !hidden.is_empty(), alloc.clone())?;
        let mut pong = tensor(tile * widest, hidden.len() >= 2, alloc)?;
        let y_tiles = probabilities.chunks_mut(tile * outputs);
        for (start, y_tile) in (0..batch).step_by(tile).zip(y_tiles) {
            let rows = tile.min(batch - start);
            let x_tile = &x[start * inputs..(start + rows) * inputs];
            let (mut cur, mut next) = (&mut ping[..], &mut pong[..]);
            let mut input: &[f32] = x_tile;
            for layer in hidden {
                let out = &mut cur[..rows * layer.outputs()];
                backend.linear(input, rows, layer, out)?;
                self.hidden.apply(backend, out);
                core::mem::swap(&mut cur, &mut next);
                input = &next[..rows * layer.outputs()];
            }
            backend.linear(input, rows, last, y_tile)?;
            for row in y_tile.chunks_exact_mut(outputs) {
                backend.softmax_inplace(row);
            }
        }
        Ok(())
    }
}

/// A zeroed tensor of `len` floats from `alloc`, or an empty one (no allocation) if not
/// `needed`.
fn tensor<A: Allocator>(
    len: usize,
    needed: bool,
    alloc: A,
) -> Result<allocator_api2::vec::Vec<f32, A>, ModelError> {
    let mut v = allocator_api2::vec::Vec::new_in(alloc);
    if needed {
        v.try_reserve_exact(len)
            .map_err(|_| ModelError::OutOfMemory {
                bytes: len * size_of::<f32>(),
            })?;
        v.resize(len, 0.0);
    }
    Ok(v)
}
