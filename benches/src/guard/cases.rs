//! The measured cases. Each has a fixed seed, a warm-up that runs outside the measured
//! region (first-use work: thread slot, slab carving, dispatch detection) and a fixed number
//! of iterations inside it, so two runs of the same binary give the same counts.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

use alloc_pool::{CLASS_SIZES, Config, CpuHook, NoCpuCache, SlabPool, ThreadSlots};

use crate::workloads::{Rng, Trace};

/// The function Callgrind collects in: everything `body` executes during `iterations` calls,
/// and nothing else. Its unmangled name is what `perf-guard` passes to `--toggle-collect` and
/// `--dump-after`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn zenslab_perf_guard_region(body: &mut dyn FnMut(), iterations: u32) {
    for _ in 0..iterations {
        body();
    }
}

/// One measured case.
pub struct Case {
    /// Stable name, the key of the baseline, e.g. `pool/pair/64/cached`.
    pub name: String,
    /// Calls of `body` outside the region before measuring.
    pub warm_up: u32,
    /// Calls of `body` inside the region.
    pub iterations: u32,
    /// One iteration of the work.
    pub body: Box<dyn FnMut()>,
}

impl Case {
    fn new(name: String, warm_up: u32, iterations: u32, body: impl FnMut() + 'static) -> Self {
        Self {
            name,
            warm_up,
            iterations,
            body: Box::new(body),
        }
    }

    /// Runs the warm-up, then the measured iterations inside the region.
    pub fn run(&mut self) {
        for _ in 0..self.warm_up {
            (self.body)();
        }
        zenslab_perf_guard_region(&mut self.body, self.iterations);
    }
}

/// Bytes of the region given to each pool (pages are touched only as slabs are carved).
const POOL_REGION: usize = 16 << 20;

/// A fresh pool per case, so a case's counts do not depend on which cases ran before it.
fn pool<H: CpuHook + 'static>() -> &'static SlabPool<H> {
    let pool: &'static SlabPool<H> = Box::leak(Box::new(SlabPool::with_config(Config::DEFAULT)));
    let region = Box::leak(Box::<[u8]>::new_uninit_slice(POOL_REGION));
    pool.init_from_slice(region).expect("pool init");
    pool
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("valid layout")
}

/// One alloc + free of `size` bytes: the fast path of the per-CPU cache, or of the depot's
/// loose list without one.
fn pair<H: CpuHook + 'static>(kind: &str, size: usize) -> Case {
    let pool = pool::<H>();
    let l = layout(size);
    Case::new(format!("pool/pair/{size}/{kind}"), 100, 1000, move || {
        // SAFETY: non-zero size; freed at once with the same layout.
        unsafe {
            let p = pool.alloc(black_box(l));
            assert!(!p.is_null());
            pool.dealloc(black_box(p), l);
        }
    })
}

/// Allocates three magazines' worth of one class and frees them again: the per-CPU cache
/// runs dry and overflows, so every iteration exchanges full and empty magazines with the
/// depot in both directions.
fn depot_exchange(size: usize) -> Case {
    let pool = pool::<ThreadSlots>();
    let l = layout(size);
    let class = CLASS_SIZES
        .iter()
        .position(|&c| c == size)
        .expect("a class size");
    let objects = 3 * Config::DEFAULT.batch(class);
    let mut blocks: Vec<*mut u8> = vec![std::ptr::null_mut(); objects];
    Case::new(format!("pool/depot_exchange/{size}"), 4, 20, move || {
        for b in blocks.iter_mut() {
            // SAFETY: non-zero size; freed below.
            *b = unsafe { pool.alloc(l) };
            assert!(!b.is_null());
        }
        for &b in blocks.iter().rev() {
            // SAFETY: allocated above with `l`, freed once.
            unsafe { pool.dealloc(black_box(b), l) };
        }
    })
}

/// The seeded tensor trace of the allocator benchmarks on the cached pool.
fn trace() -> Case {
    let pool = pool::<ThreadSlots>();
    let trace = Trace::tensor();
    let mut blocks = trace.blocks();
    Case::new("pool/trace/mixed".to_owned(), 1, 2, move || {
        trace.replay(pool, &mut blocks)
    })
}

/// A dispatched out-of-place SIMD function.
type SimdFn = fn(&[f32], &mut [f32]);

/// Elements per SIMD case.
const SIMD_LEN: usize = 1024;

/// A dispatched SIMD function at [`SIMD_LEN`] floats of seeded input in [-8, 8).
fn simd(name: &str, f: SimdFn) -> Case {
    let mut rng = Rng(0x51AD_0000_0000_1024);
    let input: Vec<f32> = (0..SIMD_LEN)
        .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 16.0 - 8.0)
        .collect();
    let mut output = vec![0.0f32; SIMD_LEN];
    Case::new(format!("simd/{name}/{SIMD_LEN}"), 10, 100, move || {
        f(black_box(&input), black_box(&mut output))
    })
}

/// Every case, in a fixed order.
pub fn all() -> Vec<Case> {
    use simd_kernels as k;
    let mut cases = Vec::new();
    for &size in CLASS_SIZES.iter() {
        cases.push(pair::<ThreadSlots>("cached", size));
        cases.push(pair::<NoCpuCache>("uncached", size));
    }
    cases.push(depot_exchange(64));
    cases.push(depot_exchange(8192));
    cases.push(trace());
    let functions: [(&str, SimdFn); 10] = [
        ("relu", k::relu),
        ("leaky_relu", |i, o| k::leaky_relu(i, o, 0.01)),
        ("sigmoid", k::sigmoid),
        ("tanh", k::tanh),
        ("gelu", k::gelu),
        ("gelu_tanh", k::gelu_tanh),
        ("silu", k::silu),
        ("elu", |i, o| k::elu(i, o, 1.0)),
        ("exp", k::exp),
        ("softmax", k::softmax),
    ];
    for (name, f) in functions {
        cases.push(simd(name, f));
    }
    // The digits model's first layer (64 -> 128) at batch 1 and 16, and a square 64^3.
    cases.push(linear(1, 64, 128));
    cases.push(linear(16, 64, 128));
    cases.push(linear(64, 64, 64));
    cases
}

/// One dispatched `linear` call, `batch × inputs` by `outputs × inputs` weights packed once
/// outside the region, seeded inputs and weights in [-1, 1).
fn linear(batch: usize, inputs: usize, outputs: usize) -> Case {
    let mut rng = Rng(0x11EA_0000_0000_0000 ^ (batch * inputs * outputs) as u64);
    let mut uniform = move |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
            .collect()
    };
    let (x, w, b) = (
        uniform(batch * inputs),
        uniform(outputs * inputs),
        uniform(outputs),
    );
    let len = simd_kernels::packed_len(outputs, inputs).expect("a small shape");
    let packed = simd_kernels::PackedWeights::pack(&w, &b, outputs, inputs, vec![0.0f32; len])
        .expect("shapes match");
    let mut y = vec![0.0f32; batch * outputs];
    Case::new(
        format!("simd/linear/{batch}x{inputs}x{outputs}"),
        10,
        100,
        move || {
            simd_kernels::linear(black_box(&x), batch, &packed, black_box(&mut y))
                .expect("shapes match")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<String> = all().into_iter().map(|c| c.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
