//! Typed reads of safetensors tensors (little-endian, any alignment: the bytes are decoded
//! into fresh vectors, so `include_bytes!` data works as it is).

use crate::ModelError;
use alloc::string::ToString;
use alloc::vec::Vec;
use safetensors::{Dtype, SafeTensors};

/// The tensor `name` as `T` values, with its shape; errors if absent or not of `dtype`.
fn read<T>(
    st: &SafeTensors<'_>,
    name: &str,
    dtype: Dtype,
    decode: impl Fn(&[u8]) -> T,
) -> Result<(Vec<T>, Vec<usize>), ModelError> {
    let view = st
        .tensor(name)
        .map_err(|_| ModelError::MissingTensor(name.to_string()))?;
    if view.dtype() != dtype {
        return Err(ModelError::Dtype {
            name: name.to_string(),
            expected: dtype,
            got: view.dtype(),
        });
    }
    let size = dtype.bitsize() / 8;
    let values = view.data().chunks_exact(size).map(decode).collect();
    Ok((values, view.shape().to_vec()))
}

/// An `F32` tensor and its shape.
pub(crate) fn f32s(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<f32>, Vec<usize>), ModelError> {
    read(st, name, Dtype::F32, |b| {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    })
}

/// An `F64` tensor and its shape.
pub(crate) fn f64s(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<f64>, Vec<usize>), ModelError> {
    read(st, name, Dtype::F64, |b| {
        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    })
}

/// A `U8` tensor and its shape.
pub(crate) fn u8s(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<u8>, Vec<usize>), ModelError> {
    read(st, name, Dtype::U8, |b| b[0])
}

/// The error for tensor `name` with an unexpected `shape`.
pub(crate) fn bad_shape(name: &str, shape: &[usize]) -> ModelError {
    ModelError::Shape {
        name: name.to_string(),
        got: shape.to_vec(),
    }
}
