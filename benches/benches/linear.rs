//! Criterion benchmarks of `simd_kernels::linear` (`y = x·Wᵀ + b`, f32) on the digits
//! model's layer shapes at batch 1 and 64 and on 256×256×256, side by side with
//!
//! * `zenslab` — the dispatched `linear` on weights packed once, outside the timing,
//! * `scalar`  — `Backend::Scalar.linear` on the same packed weights,
//! * `matrixmultiply` — the `matrixmultiply` crate's `sgemm` (the GEMM ndarray uses), reading
//!   `Wᵀ` through strides, with the bias rows copied into `y` first (`beta = 1`).
//!
//! Groups are `linear/<batch>x<inputs>x<outputs>`; throughput is counted in flops
//! (`2·batch·inputs·outputs`), so criterion's "elem/s" are flop/s.
//!
//! After the criterion groups, the bench measures the core clock with a chain of dependent
//! integer adds (one per cycle) and, in the same run, the best of many timed 256³ calls, and
//! prints flop per cycle against the 32 flop/cycle FMA peak of Zen 3 (two 256-bit FMA pipes).
//! Run: `cargo bench -p zenslab-benches --bench linear`.

use std::arch::asm;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use simd_kernels::{Backend, PackedWeights, packed_len};

/// `(batch, inputs, outputs)`: the digits model's three layers at batch 1 and 64, and 256³.
const SHAPES: [(usize, usize, usize); 7] = [
    (1, 64, 128),
    (1, 128, 64),
    (1, 64, 10),
    (64, 64, 128),
    (64, 128, 64),
    (64, 64, 10),
    (256, 256, 256),
];

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let h = i
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40503))
                >> 8;
            h as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// One shape's operands.
struct Case {
    batch: usize,
    inputs: usize,
    outputs: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    packed: PackedWeights<Vec<f32>>,
}

impl Case {
    fn new((batch, inputs, outputs): (usize, usize, usize)) -> Self {
        let (x, w, b) = (
            values(batch * inputs, 1),
            values(outputs * inputs, 2),
            values(outputs, 3),
        );
        let storage = vec![0.0; packed_len(outputs, inputs).expect("shape")];
        let packed = PackedWeights::pack(&w, &b, outputs, inputs, storage).expect("pack");
        Self {
            batch,
            inputs,
            outputs,
            x,
            w,
            b,
            packed,
        }
    }

    fn flops(&self) -> u64 {
        2 * (self.batch * self.inputs * self.outputs) as u64
    }

    fn ours(&self, backend: Backend, y: &mut [f32]) {
        backend
            .linear(black_box(&self.x), self.batch, &self.packed, y)
            .expect("linear");
    }

    /// `y = x·Wᵀ + b` through `matrixmultiply::sgemm`.
    fn sgemm(&self, y: &mut [f32]) {
        for row in y.chunks_exact_mut(self.outputs) {
            row.copy_from_slice(&self.b);
        }
        let (m, k, n) = (self.batch, self.inputs, self.outputs);
        // SAFETY: x is m×k with row stride k, Wᵀ is read as k×n with row stride 1 and
        // column stride k (W is n×k row-major), y is m×n with row stride n; all three
        // slices have exactly those sizes.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                black_box(self.x.as_ptr()),
                k as isize,
                1,
                self.w.as_ptr(),
                1,
                k as isize,
                1.0,
                y.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }
}

fn bench_shape(group: &mut BenchmarkGroup<'_, WallTime>, case: &Case) {
    let mut y = vec![0.0f32; case.batch * case.outputs];
    group.bench_function("zenslab", |bch| {
        bch.iter(|| case.ours(simd_kernels::active_backend(), &mut y))
    });
    group.bench_function("scalar", |bch| {
        bch.iter(|| case.ours(Backend::Scalar, &mut y))
    });
    group.bench_function("matrixmultiply", |bch| bch.iter(|| case.sgemm(&mut y)));
}

fn linear(c: &mut Criterion) {
    eprintln!(
        "simd-kernels backend: {}",
        simd_kernels::active_backend().name()
    );
    for shape in SHAPES {
        let case = Case::new(shape);
        let mut group = c.benchmark_group(format!("linear/{}x{}x{}", shape.0, shape.1, shape.2));
        group
            .throughput(Throughput::Elements(case.flops()))
            .sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500));
        bench_shape(&mut group, &case);
        group.finish();
    }
}

/// Core clock in Hz: a chain of dependent register-register `add`s retires one per cycle
/// on every x86 core, whatever the turbo state, so adds / seconds is the clock while the
/// chain runs. (Adds of an immediate are not used: recent Intel cores fold chains of them at
/// rename and run them faster than one per cycle.)
fn clock_hz() -> f64 {
    const ITERS: u64 = 1_000_000;
    let best = (0..200)
        .map(|_| {
            let (mut a, mut n, one) = (0u64, ITERS, black_box(1u64));
            let t = Instant::now();
            // SAFETY: register-only arithmetic and a local loop; no memory, no stack.
            unsafe {
                asm!(
                    "2:",
                    "add {a}, {one}", "add {a}, {one}", "add {a}, {one}", "add {a}, {one}",
                    "add {a}, {one}", "add {a}, {one}", "add {a}, {one}", "add {a}, {one}",
                    "dec {n}",
                    "jnz 2b",
                    a = inout(reg) a,
                    n = inout(reg) n,
                    one = in(reg) one,
                    options(nomem, nostack),
                );
            }
            black_box((a, n));
            t.elapsed()
        })
        .min()
        .unwrap_or(Duration::from_secs(1));
    (ITERS * 8) as f64 / best.as_secs_f64()
}

/// Prints flop per cycle of the best of many timed 256³ calls, clock measured alongside.
fn peak_share() {
    let case = Case::new((256, 256, 256));
    let mut y = vec![0.0f32; 256 * 256];
    let backend = simd_kernels::active_backend();
    let before = clock_hz();
    let best = |f: &mut dyn FnMut()| {
        (0..400)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::from_secs(1))
    };
    let ours = best(&mut || case.ours(backend, &mut y));
    let theirs = best(&mut || case.sgemm(&mut y));
    let after = clock_hz();
    let hz = before.max(after);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let per_cycle = |d: Duration| case.flops() as f64 / (d.as_secs_f64() * hz);
    println!(
        "linear 256x256x256 on {cpu}, clock {:.2} GHz (dependent-add chain, {:.2}/{:.2} before/after):",
        hz / 1e9,
        before / 1e9,
        after / 1e9
    );
    for (name, d) in [(backend.name(), ours), ("matrixmultiply", theirs)] {
        println!(
            "  {name:>14}: best {:>7.1} µs, {:>6.1} GFLOP/s, {:>5.2} flop/cycle = {:>5.1} % of the 32 flop/cycle FMA peak",
            d.as_secs_f64() * 1e6,
            case.flops() as f64 / d.as_secs_f64() / 1e9,
            per_cycle(d),
            per_cycle(d) / 32.0 * 100.0
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    linear(&mut c);
    c.final_summary();
    peak_share();
}
