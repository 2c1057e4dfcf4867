//! `linear` against an f64 reference within the documented bound, on every backend this CPU
//! has: a grid of shapes from 1 to 67 in every dimension, unaligned slices with guard values
//! around the output, random shapes and values (proptest), and the typed errors.

use proptest::prelude::*;
use simd_kernels::{Backend, LinearError, PANEL, PackedWeights, packed_len};

/// Dimensions of the shape grid: every small size, both sides of each vector and panel
/// width, and the top of the 1..=67 range.
const SIZES: [usize; 21] = [
    1, 2, 3, 4, 5, 6, 7, 8, 11, 15, 16, 17, 23, 31, 32, 33, 48, 63, 64, 65, 67,
];

fn backends() -> Vec<Backend> {
    [Backend::Scalar, Backend::Avx2Fma]
        .into_iter()
        .filter(|b| b.is_available())
        .collect()
}

/// A small deterministic generator (xorshift64*), values in [-2, 2).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 22) as f32 - 2.0
    }

    fn fill(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// The documented bound: `γ_(K+1)·(|b| + Σ|x||w|) + (K+1)·2^−149`.
fn bound(k: usize, magnitude: f64) -> f64 {
    let u = f64::from(f32::EPSILON) / 2.0;
    let n = (k + 1) as f64;
    let gamma = n * u / (1.0 - n * u);
    // The f64 reference itself is off by at most ~K·2^−53 of the magnitude: allow for it.
    gamma * magnitude + n * 2f64.powi(-149) + magnitude * n * f64::EPSILON
}

/// Checks `y` (batch × n) against the f64 reference; returns the largest error / bound.
fn check(x: &[f32], w: &[f32], b: &[f32], y: &[f32], batch: usize, k: usize, n: usize) -> f64 {
    let mut worst = 0.0f64;
    for r in 0..batch {
        for j in 0..n {
            let mut exact = f64::from(b[j]);
            let mut magnitude = f64::from(b[j]).abs();
            for kk in 0..k {
                let p = f64::from(x[r * k + kk]) * f64::from(w[j * k + kk]);
                exact += p;
                magnitude += p.abs();
            }
            let got = f64::from(y[r * n + j]);
            let err = (got - exact).abs();
            let allowed = bound(k, magnitude);
            assert!(
                err <= allowed,
                "batch {batch} k {k} n {n}: y[{r}][{j}] = {got}, exact {exact}, error {err:e} > bound {allowed:e}"
            );
            worst = worst.max(err / allowed);
        }
    }
    worst
}

/// Runs one shape on `backend` with every operand at float offset 1 of its buffer (so not
/// 32-byte aligned), and checks the result and the guard values around `y`.
fn run_shape(backend: Backend, rng: &mut Rng, batch: usize, k: usize, n: usize) -> f64 {
    let x_buf = rng.fill(batch * k + 1);
    let w_buf = rng.fill(n * k + 1);
    let b_buf = rng.fill(n + 1);
    let (x, w, b) = (&x_buf[1..], &w_buf[1..], &b_buf[1..]);
    let mut storage = vec![f32::NAN; packed_len(n, k).unwrap() + 1];
    let packed = PackedWeights::pack(w, b, n, k, &mut storage[1..]).unwrap();
    const GUARD: f32 = -12345.0;
    let mut y_buf = vec![GUARD; batch * n + 2];
    let y = &mut y_buf[1..=batch * n];
    backend.linear(x, batch, &packed, y).unwrap();
    assert_eq!(y_buf[0], GUARD, "wrote before y");
    assert_eq!(y_buf[batch * n + 1], GUARD, "wrote after y");
    check(x, w, b, &y_buf[1..=batch * n], batch, k, n)
}

#[test]
fn shape_grid_within_bound_every_backend() {
    for backend in backends() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut worst = 0.0f64;
        for &batch in &SIZES {
            for &k in &SIZES {
                for &n in &SIZES {
                    worst = worst.max(run_shape(backend, &mut rng, batch, k, n));
                }
            }
        }
        println!(
            "{}: worst error {:.3} of the bound over {} shapes",
            backend.name(),
            worst,
            SIZES.len().pow(3)
        );
    }
}

#[test]
fn no_inputs_gives_the_bias_and_no_rows_writes_nothing() {
    for backend in backends() {
        let b: Vec<f32> = (0..19).map(|i| i as f32 - 3.5).collect();
        let mut storage = vec![0.0; packed_len(19, 0).unwrap()];
        let packed = PackedWeights::pack(&[], &b, 19, 0, &mut storage[..]).unwrap();
        let mut y = vec![0.0; 3 * 19];
        backend.linear(&[], 3, &packed, &mut y).unwrap();
        for row in y.chunks(19) {
            assert_eq!(row, &b[..]);
        }
        backend.linear(&[], 0, &packed, &mut []).unwrap();
    }
}

#[test]
fn nan_and_infinity_propagate() {
    for backend in backends() {
        let (k, n) = (9, 17);
        let w = vec![1.0f32; n * k];
        let b = vec![0.0f32; n];
        let mut storage = vec![0.0; packed_len(n, k).unwrap()];
        let packed = PackedWeights::pack(&w, &b, n, k, &mut storage[..]).unwrap();
        let mut x = vec![1.0f32; 2 * k];
        x[3] = f32::NAN;
        x[k + 8] = f32::INFINITY;
        let mut y = vec![0.0; 2 * n];
        backend.linear(&x, 2, &packed, &mut y).unwrap();
        assert!(y[..n].iter().all(|v| v.is_nan()), "{y:?}");
        assert!(y[n..].iter().all(|&v| v == f32::INFINITY), "{y:?}");
    }
}

#[test]
fn wrong_lengths_are_typed_errors() {
    let (k, n) = (5, 20);
    let w = vec![0.5f32; n * k];
    let b = vec![0.0f32; n];
    let need = packed_len(n, k).unwrap();
    assert_eq!(need, 2 * PANEL * (k + 1));
    let mut small = vec![0.0; need - 1];
    let e = PackedWeights::pack(&w, &b, n, k, &mut small[..]).unwrap_err();
    assert_eq!(
        e,
        LinearError::Length {
            operand: "packed buffer",
            expected: need,
            got: need - 1
        }
    );
    let mut storage = vec![0.0; need];
    let e = PackedWeights::pack(&w[1..], &b, n, k, &mut storage[..]).unwrap_err();
    assert!(
        matches!(
            e,
            LinearError::Length {
                operand: "weights",
                ..
            }
        ),
        "{e}"
    );
    let e = PackedWeights::pack(&w, &b[1..], n, k, &mut storage[..]).unwrap_err();
    assert!(
        matches!(
            e,
            LinearError::Length {
                operand: "bias",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(packed_len(usize::MAX, 2), Err(LinearError::TooLarge));
    assert_eq!(packed_len(3, usize::MAX), Err(LinearError::TooLarge));
    let packed = PackedWeights::pack(&w, &b, n, k, &mut storage[..]).unwrap();
    for backend in backends() {
        let mut y = vec![7.0; 2 * n];
        let e = backend.linear(&[0.0; 9], 2, &packed, &mut y).unwrap_err();
        assert_eq!(
            e,
            LinearError::Length {
                operand: "x",
                expected: 10,
                got: 9
            }
        );
        let e = backend
            .linear(&[0.0; 10], 2, &packed, &mut y[1..])
            .unwrap_err();
        assert!(matches!(e, LinearError::Length { operand: "y", .. }), "{e}");
        assert!(y.iter().all(|&v| v == 7.0), "an error wrote to y");
        let e = backend
            .linear(&[], usize::MAX, &packed, &mut y)
            .unwrap_err();
        assert_eq!(e, LinearError::TooLarge);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random shapes and magnitudes: every backend within the bound, so the AVX2 path and
    /// the scalar path are each within it of the exact result (and of each other within
    /// twice the bound).
    #[test]
    fn random_shapes_every_backend_within_bound(
        batch in 1usize..=67,
        k in 1usize..=67,
        n in 1usize..=67,
        seed in any::<u64>(),
        scale in prop::sample::select(vec![1e-3f32, 1.0, 1e3]),
    ) {
        for backend in backends() {
            let mut rng = Rng(seed | 1);
            let x: Vec<f32> = rng.fill(batch * k).into_iter().map(|v| v * scale).collect();
            let w = rng.fill(n * k);
            let b = rng.fill(n);
            let mut storage = vec![0.0; packed_len(n, k).unwrap()];
            let packed = PackedWeights::pack(&w, &b, n, k, &mut storage[..]).unwrap();
            let mut y = vec![0.0; batch * n];
            backend.linear(&x, batch, &packed, &mut y).unwrap();
            check(&x, &w, &b, &y, batch, k, n);
        }
    }
}
