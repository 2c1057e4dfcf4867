//! Criterion benchmarks of whole-model inference: the committed digits MLP
//! (64 → 128 → 64 → 10, tanh, softmax) on scikit-learn's held-out samples at batch 1 and 64,
//!
//! * `zenslab` — `zenslab_model::Mlp::forward` (detected backend), activation tensors from a
//!   `SlabPool<ThreadSlots>`,
//! * `zenslab_scalar` — the same on `Backend::Scalar`,
//! * `ndarray` — the same network through ndarray (`dot`, i.e. matrixmultiply's sgemm) with
//!   `f32::tanh` and a softmax written with `f32::exp`,
//! * `scalar_loop` — a plain Rust loop: dot products over the rows of `W`, std `tanh`/`exp`.
//!
//! Every path reads the same safetensors file. Groups are `model/digits/batch<N>`, throughput
//! in samples (criterion's "elem/s" are samples/s).
//! Run: `cargo bench -p zenslab-benches --bench model`.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::time::Duration;

use alloc_pool::{SlabPool, ThreadSlots};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use safetensors::SafeTensors;
use simd_kernels::Backend;
use zenslab_model::embedded::DIGITS;
use zenslab_model::{Mlp, ReferenceSet};

static POOL: SlabPool<ThreadSlots> = SlabPool::new();

fn pool() -> &'static SlabPool<ThreadSlots> {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let region: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new_uninit_slice(16 << 20));
        POOL.init_from_slice(region).expect("pool region");
    });
    &POOL
}

/// One dense layer as plain vectors: `w` is `outputs × inputs`, row-major.
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

/// The layers of the digits model, read straight from its safetensors file.
fn dense_layers() -> Vec<Dense> {
    let st = SafeTensors::deserialize(DIGITS.weights).expect("weights");
    let floats = |name: &str| {
        let t = st.tensor(name).expect(name);
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (v, t.shape().to_vec())
    };
    (0..)
        .map_while(|i| {
            st.tensor(&format!("layers.{i}.weight")).ok()?;
            let (w, shape) = floats(&format!("layers.{i}.weight"));
            let (b, _) = floats(&format!("layers.{i}.bias"));
            Some(Dense {
                w,
                b,
                inputs: shape[1],
                outputs: shape[0],
            })
        })
        .collect()
}

/// Softmax of one row with `f32::exp`, max-subtracted.
fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// The plain-loop network: one sample at a time, a dot product per output.
fn scalar_loop(layers: &[Dense], x: &[f32], batch: usize, out: &mut [f32]) {
    let (first, last) = (&layers[0], &layers[layers.len() - 1]);
    let mut a = vec![0.0f32; 256];
    let mut h = vec![0.0f32; 256];
    for s in 0..batch {
        a[..first.inputs].copy_from_slice(&x[s * first.inputs..][..first.inputs]);
        for (i, l) in layers.iter().enumerate() {
            let rows = l.w.chunks_exact(l.inputs);
            for ((hj, row), &bj) in h.iter_mut().zip(rows).zip(&l.b) {
                let mut acc = bj;
                for (&w, &v) in row.iter().zip(&a[..l.inputs]) {
                    acc += w * v;
                }
                *hj = if i + 1 < layers.len() {
                    acc.tanh()
                } else {
                    acc
                };
            }
            std::mem::swap(&mut a, &mut h);
        }
        let o = &mut out[s * last.outputs..][..last.outputs];
        o.copy_from_slice(&a[..last.outputs]);
        softmax_row(o);
    }
}

/// The ndarray network: `x · Wᵀ + b` with `dot`, tanh by `mapv_inplace`, softmax per row.
struct NdNet {
    layers: Vec<(Array2<f32>, Array1<f32>)>,
}

impl NdNet {
    fn new(dense: &[Dense]) -> Self {
        let layers = dense
            .iter()
            .map(|l| {
                let w = Array2::from_shape_vec((l.outputs, l.inputs), l.w.clone()).expect("w");
                (w.t().to_owned(), Array1::from_vec(l.b.clone()))
            })
            .collect();
        Self { layers }
    }

    fn forward(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        let mut a = x.to_owned();
        for (i, (wt, b)) in self.layers.iter().enumerate() {
            a = a.dot(wt) + b;
            if i + 1 < self.layers.len() {
                a.mapv_inplace(f32::tanh);
            }
        }
        for mut row in a.axis_iter_mut(Axis(0)) {
            softmax_row(row.as_slice_mut().expect("contiguous row"));
        }
        a
    }
}

fn model(c: &mut Criterion) {
    let model = Mlp::from_safetensors(DIGITS.weights).expect("weights");
    let reference = ReferenceSet::from_safetensors(DIGITS.reference).expect("reference");
    let dense = dense_layers();
    let nd = NdNet::new(&dense);
    let pool = pool();
    eprintln!(
        "simd-kernels backend: {}",
        simd_kernels::active_backend().name()
    );
    for batch in [1usize, 64] {
        let x = &reference.inputs[..batch * reference.features];
        let x_nd = ArrayView2::from_shape((batch, reference.features), x).expect("x");
        let mut out = vec![0.0f32; batch * reference.classes];
        let mut group = c.benchmark_group(format!("model/{}/batch{batch}", DIGITS.name));
        group
            .throughput(Throughput::Elements(batch as u64))
            .sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500));
        group.bench_function("zenslab", |b| {
            b.iter(|| {
                model
                    .forward(black_box(x), batch, &mut out, pool)
                    .expect("forward")
            })
        });
        group.bench_function("zenslab_scalar", |b| {
            b.iter(|| {
                model
                    .forward_on(Backend::Scalar, black_box(x), batch, &mut out, pool)
                    .expect("forward")
            })
        });
        group.bench_function("ndarray", |b| {
            b.iter(|| black_box(nd.forward(black_box(x_nd))))
        });
        group.bench_function("scalar_loop", |b| {
            b.iter(|| scalar_loop(&dense, black_box(x), batch, &mut out))
        });
        group.finish();
        // All four give the reference's classes (a benchmark of a wrong network is no use).
        let check = |p: &[f32]| {
            for (s, row) in p.chunks(reference.classes).enumerate() {
                assert_eq!(
                    zenslab_model::argmax(row),
                    Some(usize::from(reference.predictions[s]))
                );
            }
        };
        model.forward(x, batch, &mut out, pool).expect("forward");
        check(&out);
        scalar_loop(&dense, x, batch, &mut out);
        check(&out);
        check(nd.forward(x_nd).as_slice().expect("contiguous"));
    }
}

criterion_group!(benches, model);
criterion_main!(benches);
