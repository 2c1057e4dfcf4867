//! Trained models in the kernel: the committed digits MLPs (`zenslab_model::embedded`, files
//! embedded with `include_bytes!`: scikit-learn's tanh network and a NumPy SiLU one) classify
//! the held-out split with the kernel's global slab pool as the allocator of every activation
//! tensor, and must give the reference's class for every sample and every probability within
//! `PROBABILITY_TOLERANCE` — on this CPU with each backend, then on every CPU at once.

use crate::acpi::MAX_CPUS;
use crate::cpu::{Platform, rdtsc};
use crate::heap::GLOBAL;
use crate::ktap::{Stop, TestResult};
use crate::smp;
use crate::{check, diag};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc_pool::{NUM_CLASSES, Stats};
use core::sync::atomic::{AtomicU64, Ordering};
use simd_kernels::Backend;
use zenslab_model::embedded::{self, EmbeddedModel, PROBABILITY_TOLERANCE};
use zenslab_model::{Agreement, CountingAllocator, Mlp, ReferenceSet};

/// Bound for the every-CPU job.
const JOB_TIMEOUT_MS: u64 = 20_000;
/// Samples per forward call on every CPU: one tile, so the output fits on the stack.
const SMP_BATCH: usize = 16;
/// Most classes a model may have in [`every_cpu`] (its output tile is on each CPU's stack).
const MAX_CLASSES: usize = 16;

/// The model and its reference, or a failed check naming the broken file.
fn load(embedded: &EmbeddedModel) -> Result<(Mlp, ReferenceSet), Stop> {
    let loaded = embedded.load();
    check!(loaded.is_ok(), "{}: {}", embedded.name, loaded.unwrap_err());
    Ok(loaded.unwrap())
}

/// Allocations served by size classes, and live objects per class.
fn class_counts(s: &Stats) -> (u64, [u64; NUM_CLASSES]) {
    let allocations = s.classes.iter().map(|c| c.allocations).sum();
    (allocations, core::array::from_fn(|c| s.classes[c].live))
}

/// Checks a window of global-pool activity: exactly `counted` allocations, all by size
/// classes, none left live, nothing in the fallback heap.
fn check_pool_window(before: &Stats, after: &Stats, counted: usize, what: &str) -> TestResult {
    let (a0, live0) = class_counts(before);
    let (a1, live1) = class_counts(after);
    check!(
        a1 - a0 == counted as u64,
        "{what}: {counted} activation tensors allocated, size classes served {}",
        a1 - a0
    );
    check!(
        live1 == live0,
        "{what}: live objects per class {live0:?} before, {live1:?} after"
    );
    check!(
        after.fallback_bytes == before.fallback_bytes,
        "{what}: fallback heap {} bytes before, {} after",
        before.fallback_bytes,
        after.fallback_bytes
    );
    Ok(())
}

/// The whole reference set on `backend` in batches of `batch` samples; every batch's pool
/// activity checked. Returns the tally and the ticks spent in `forward_on`.
fn run_set(
    name: &'static str,
    model: &Mlp,
    reference: &ReferenceSet,
    backend: Backend,
    batch: usize,
) -> Result<(Agreement, u64), Stop> {
    let classes = reference.classes;
    let mut tally = Agreement::new(name);
    let mut probabilities = vec![0.0f32; batch * classes];
    let mut ticks = 0;
    for first in (0..reference.samples).step_by(batch) {
        let n = batch.min(reference.samples - first);
        let x = &reference.inputs[first * reference.features..(first + n) * reference.features];
        let out = &mut probabilities[..n * classes];
        let counting = CountingAllocator::new(&GLOBAL);
        let before = GLOBAL.stats();
        let t0 = rdtsc();
        let result = model.forward_on(backend, x, n, out, &counting);
        ticks += rdtsc() - t0;
        let after = GLOBAL.stats();
        check!(result.is_ok(), "forward: {}", result.unwrap_err());
        check_pool_window(&before, &after, counting.allocations(), "one batch")?;
        tally.add(reference, first, out);
    }
    Ok((tally, ticks))
}

/// Each embedded model on this CPU, in batches of one tile, with the detected backend and
/// then with the scalar backend: the reference's answers, pool accounting per batch, ticks
/// per sample.
pub fn matches_reference() -> TestResult {
    let ours = simd_kernels::active_backend();
    let label = Platform::detect().timing_label();
    let mut backends = vec![ours];
    if ours != Backend::Scalar {
        backends.push(Backend::Scalar);
    }
    for embedded in embedded::ALL {
        let (model, reference) = load(embedded)?;
        let batch = model.tile_rows();
        for &backend in &backends {
            let (tally, ticks) = run_set(embedded.name, &model, &reference, backend, batch)?;
            if backend == ours {
                diag!("{tally}");
            }
            check!(tally.samples == reference.samples, "{tally}");
            check!(
                tally.passes(PROBABILITY_TOLERANCE),
                "{}: {tally}",
                backend.name()
            );
            diag!(
                "model {}: {} backend, batch {batch}: {} ticks per sample ({label})",
                embedded.name,
                backend.name(),
                ticks / tally.samples as u64
            );
        }
    }
    Ok(())
}

/// Every CPU classifies its share of each reference set at the same time (tile `t` of
/// [`SMP_BATCH`] samples goes to CPU `t mod n`) through the global pool: together they must
/// agree with the reference on every sample, every CPU must have worked, and the pool must
/// serve every activation tensor from its size classes and hold none afterwards. Shares, not
/// the whole set per CPU, because AVX2 FMA code runs about 13× slower than the scalar path
/// under TCG (about 10 M ticks per sample) and this runs in every boot test.
pub fn every_cpu() -> TestResult {
    let n = smp::cpu_count();
    if n < 2 {
        // One CPU is `matches_reference`'s run already.
        return Err(Stop::Skip(String::from("needs at least 2 CPUs")));
    }
    for embedded in embedded::ALL {
        shared_by_every_cpu(embedded, n)?;
    }
    Ok(())
}

/// [`every_cpu`] for one model on `n` CPUs.
fn shared_by_every_cpu(embedded: &'static EmbeddedModel, n: usize) -> TestResult {
    let (model, reference) = load(embedded)?;
    let name = embedded.name;
    check!(
        reference.classes <= MAX_CLASSES,
        "{name}: {} classes",
        reference.classes
    );
    let samples = reference.samples;
    let shared = Arc::new((model, reference));
    let results: Arc<[CpuResult; MAX_CPUS]> = Arc::new([const { CpuResult::new() }; MAX_CPUS]);
    let (s, r) = (shared.clone(), results.clone());
    let job: smp::Job = Arc::new(move |cpu| {
        let (model, reference) = &*s;
        let counting = CountingAllocator::new(&GLOBAL);
        let classes = reference.classes;
        let mut tally = Agreement::new(name);
        let mut out = [0.0f32; SMP_BATCH * MAX_CLASSES];
        let tiles = (0..reference.samples).step_by(SMP_BATCH);
        for first in tiles.skip(cpu).step_by(n) {
            let rows = SMP_BATCH.min(reference.samples - first);
            let x = &reference.inputs[first * reference.features..][..rows * reference.features];
            let out = &mut out[..rows * classes];
            if model.forward(x, rows, out, &counting).is_err() {
                return;
            }
            tally.add(reference, first, out);
        }
        r[cpu].store(&tally, counting.allocations());
    });
    // The job's own allocation is freed only after the second snapshot (`job` lives on).
    let before = GLOBAL.stats();
    let run = smp::run_on(n, JOB_TIMEOUT_MS, job.clone());
    let after = GLOBAL.stats();
    drop(job);
    check!(
        run.is_ok(),
        "{}",
        run.err().map(|m| format!("{m}")).unwrap_or_default()
    );
    let mut total = Agreement::new(name);
    let mut tensors = 0;
    for (cpu, result) in results.iter().enumerate().take(n) {
        let Some((done, agreeing, max_diff, allocations)) = result.load() else {
            diag!("FAIL {name}: cpu {cpu}: the forward pass failed");
            return Err(Stop::Failed);
        };
        check!(
            done > 0 || samples.div_ceil(SMP_BATCH) < n,
            "cpu {cpu} classified nothing"
        );
        total.samples += done;
        total.agreeing += agreeing;
        total.max_abs_diff = total.max_abs_diff.max(max_diff);
        tensors += allocations;
    }
    check!(
        total.samples == samples && total.passes(PROBABILITY_TOLERANCE),
        "{n} cpu(s): {} samples, agreement {}/{samples}, max |Δp| {:.2e}",
        total.samples,
        total.agreeing,
        total.max_abs_diff
    );
    check_pool_window(&before, &after, tensors, "every cpu")?;
    diag!(
        "model {name}: {n} cpu(s) at once on {}: agreement {}/{samples}, max |Δp| {:.2e}, {tensors} activation tensors, all from size classes",
        simd_kernels::active_backend().name(),
        total.agreeing,
        total.max_abs_diff
    );
    Ok(())
}

/// One CPU's share of [`every_cpu`], published with release/acquire on `done`.
struct CpuResult {
    /// Samples classified, or `u64::MAX` until the CPU finished without error.
    done: AtomicU64,
    agreeing: AtomicU64,
    max_diff_bits: AtomicU64,
    allocations: AtomicU64,
}

impl CpuResult {
    const fn new() -> Self {
        Self {
            done: AtomicU64::new(u64::MAX),
            agreeing: AtomicU64::new(0),
            max_diff_bits: AtomicU64::new(0),
            allocations: AtomicU64::new(0),
        }
    }

    fn store(&self, tally: &Agreement, allocations: usize) {
        self.agreeing
            .store(tally.agreeing as u64, Ordering::Relaxed);
        self.max_diff_bits
            .store(tally.max_abs_diff.to_bits(), Ordering::Relaxed);
        self.allocations
            .store(allocations as u64, Ordering::Relaxed);
        self.done.store(tally.samples as u64, Ordering::Release);
    }

    /// `(samples, agreeing, max |Δp|, allocations)`, or `None` if the CPU did not finish.
    fn load(&self) -> Option<(usize, usize, f64, usize)> {
        let done = self.done.load(Ordering::Acquire);
        (done != u64::MAX).then(|| {
            (
                done as usize,
                self.agreeing.load(Ordering::Relaxed) as usize,
                f64::from_bits(self.max_diff_bits.load(Ordering::Relaxed)),
                self.allocations.load(Ordering::Relaxed) as usize,
            )
        })
    }
}
