//! The committed models against their references (scikit-learn's tanh MLP, a NumPy SiLU MLP)
//! on every backend this host has, with every activation tensor taken from a slab pool and
//! accounted for.

use alloc_pool::{MAX_CLASS_SIZE, NUM_CLASSES, NoCpuCache, SlabPool, Stats};
use simd_kernels::Backend;
use std::mem::MaybeUninit;
use zenslab_model::embedded::{self, DIGITS, PROBABILITY_TOLERANCE};
use zenslab_model::{Agreement, CountingAllocator, Mlp, ModelError, ReferenceSet, argmax};

/// A fresh pool on a leaked 4 MiB region (no CPU caches: stats are exact).
fn pool() -> &'static SlabPool<NoCpuCache> {
    let pool: &'static SlabPool<NoCpuCache> = Box::leak(Box::new(SlabPool::new()));
    let region: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new_uninit_slice(4 << 20));
    pool.init_from_slice(region).expect("pool region");
    pool
}

fn class_allocations(s: &Stats) -> u64 {
    s.classes.iter().map(|c| c.allocations).sum()
}

fn backends() -> Vec<Backend> {
    [Backend::Scalar, Backend::Avx2Fma]
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

#[test]
fn every_prediction_and_probability_matches_the_reference() {
    let pool = pool();
    for embedded in embedded::ALL {
        let (model, reference) = embedded.load().expect("committed files");
        let (features, classes) = (reference.features, reference.classes);
        for backend in backends() {
            for batch in [1, 7, 16, 64, reference.samples] {
                let mut tally = Agreement::new(embedded.name);
                for first in (0..reference.samples).step_by(batch) {
                    let n = batch.min(reference.samples - first);
                    let x = &reference.inputs[first * features..(first + n) * features];
                    let mut probabilities = vec![0.0f32; n * classes];
                    let counting = CountingAllocator::new(pool);
                    let before = pool.stats();
                    model
                        .forward_on(backend, x, n, &mut probabilities, &counting)
                        .expect("forward");
                    let after = pool.stats();
                    // Every allocation the forward pass made was served by a size class ...
                    assert_eq!(counting.allocations(), model.tensors_per_call());
                    assert!(counting.largest() <= MAX_CLASS_SIZE);
                    assert_eq!(
                        class_allocations(&after) - class_allocations(&before),
                        counting.allocations() as u64,
                        "{backend:?} batch {n}: not every activation came from a size class"
                    );
                    // ... none by the fallback heap, and every object is back after the batch.
                    assert_eq!(after.fallback_bytes, 0);
                    for c in 0..NUM_CLASSES {
                        assert_eq!(after.classes[c].live, 0, "class {c} after batch {n}");
                    }
                    tally.add(&reference, first, &probabilities);
                }
                println!("{} ({}, batch {batch})", tally, backend.name());
                assert_eq!(tally.samples, reference.samples);
                assert!(
                    tally.passes(PROBABILITY_TOLERANCE),
                    "{backend:?} batch {batch}: {tally}"
                );
                assert!(tally.accuracy() > 0.95, "{tally}");
            }
        }
    }
}

#[test]
fn backends_give_the_same_classes() {
    let pool = pool();
    for embedded in embedded::ALL {
        let (model, reference) = embedded.load().expect("committed files");
        let n = reference.samples;
        let c = reference.classes;
        let mut scalar = vec![0.0f32; n * c];
        let mut ours = vec![0.0f32; n * c];
        model
            .forward_on(Backend::Scalar, &reference.inputs, n, &mut scalar, pool)
            .expect("scalar");
        model
            .forward(&reference.inputs, n, &mut ours, pool)
            .expect("active backend");
        for (a, b) in scalar.chunks(c).zip(ours.chunks(c)) {
            assert_eq!(argmax(a), argmax(b));
            for (p, q) in a.iter().zip(b) {
                assert!((p - q).abs() <= 1e-5, "{}: {p} vs {q}", embedded.name);
            }
        }
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (model, _) = DIGITS.load().expect("committed files");
    let pool = pool();
    let mut out = vec![0.0f32; 10];
    let e = model.forward(&[0.0; 63], 1, &mut out, pool).unwrap_err();
    assert!(matches!(e, ModelError::Linear(_)), "{e}");
    let e = model
        .forward(&[0.0; 64], 1, &mut out[..9], pool)
        .unwrap_err();
    assert!(matches!(e, ModelError::Linear(_)), "{e}");
    assert!(matches!(
        Mlp::from_safetensors(&DIGITS.weights[..100]),
        Err(ModelError::Format(_))
    ));
    assert!(matches!(
        Mlp::from_safetensors(DIGITS.reference),
        Err(ModelError::UnknownActivation(_))
    ));
    assert!(matches!(
        ReferenceSet::from_safetensors(DIGITS.weights),
        Err(ModelError::MissingTensor(_))
    ));
}
