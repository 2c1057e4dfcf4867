//! In-kernel micro-benchmark: the slab pool against a `linked_list_allocator` heap on the same
//! workload, in `rdtsc` ticks per operation. Reported as diagnostics only (never asserted): the
//! figures are labelled with the platform (under TCG they are emulated-CPU figures).
#![allow(unsafe_code)] // raw GlobalAlloc calls on the allocators under measurement

use crate::cpu::{Platform, rdtsc};
use crate::heap::OwnedRegion;
use crate::ktap::TestResult;
use crate::llheap::LockedHeap;
use crate::percpu::KernelCpuHook;
use crate::{check, diag};
use alloc::vec;
use alloc_pool::{CLASS_SIZES, Config, SlabPool};
use core::alloc::{GlobalAlloc, Layout};

/// Region given to each allocator.
const REGION: usize = 16 << 20;
/// Slots of the random workload (live objects at most).
const SLOTS: usize = 256;
/// Operations of the random workload.
const RANDOM_OPS: usize = 20_000;
/// Alloc/free pairs of the fixed-size loop.
const PAIRS: usize = 10_000;
/// Measured passes per workload (the best is reported).
const PASSES: usize = 3;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Ticks for the random workload (allocate into an empty slot, free a full one; sizes spread
/// over every class), or `None` if an allocation failed. Frees everything at the end.
fn random_workload(a: &dyn GlobalAlloc) -> Option<u64> {
    let mut slots: vec::Vec<Option<(*mut u8, Layout)>> = vec![None; SLOTS];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failed = false;
    let t0 = rdtsc();
    for _ in 0..RANDOM_OPS {
        let r = rng.next();
        let slot = &mut slots[(r % SLOTS as u64) as usize];
        match slot.take() {
            Some((p, layout)) => {
                // SAFETY: allocated below from `a` with `layout`, freed once.
                unsafe { a.dealloc(p, layout) }
            }
            None => {
                let class = CLASS_SIZES[((r >> 16) % CLASS_SIZES.len() as u64) as usize];
                let size = 1 + ((r >> 32) as usize % class);
                let layout = Layout::from_size_align(size, 8).ok()?;
                // SAFETY: non-zero size.
                let p = unsafe { a.alloc(layout) };
                if p.is_null() {
                    failed = true;
                } else {
                    // SAFETY: fresh block of at least one byte.
                    unsafe { p.write(r as u8) };
                    *slot = Some((p, layout));
                }
            }
        }
    }
    let ticks = rdtsc() - t0;
    for (p, layout) in slots.into_iter().flatten() {
        // SAFETY: still live, allocated from `a` with `layout`.
        unsafe { a.dealloc(p, layout) }
    }
    (!failed).then_some(ticks)
}

/// Ticks for `PAIRS` alloc+free pairs of one 256-byte layout, or `None` on failure.
fn pairs(a: &dyn GlobalAlloc) -> Option<u64> {
    let layout = Layout::from_size_align(256, 8).ok()?;
    let t0 = rdtsc();
    for _ in 0..PAIRS {
        // SAFETY: non-zero size.
        let p = unsafe { a.alloc(layout) };
        if p.is_null() {
            return None;
        }
        // SAFETY: just allocated with `layout`.
        unsafe { a.dealloc(core::hint::black_box(p), layout) };
    }
    Some(rdtsc() - t0)
}

/// The pool (with this CPU's cache) against linked_list_allocator on the same workloads.
pub fn pool_vs_linked_list() -> TestResult {
    let (Some(pool_region), Some(ll_region)) = (OwnedRegion::new(REGION), OwnedRegion::new(REGION))
    else {
        check!(false, "no memory for the benchmark regions");
        return Ok(());
    };
    let pool: SlabPool<KernelCpuHook> = SlabPool::with_config(Config {
        max_cpus: crate::acpi::MAX_CPUS,
        ..Config::DEFAULT
    });
    // SAFETY: the region is owned by this test and outlives `pool`.
    let init = unsafe { pool.init(pool_region.start(), pool_region.len()) };
    check!(init.is_ok(), "pool init: {init:?}");
    let ll = LockedHeap::empty();
    // SAFETY: the region is owned by this test and outlives `ll`; initialised once.
    unsafe { ll.init(ll_region.start(), ll_region.len()) };

    // A warm-up pass each (first touches, slab carving), then the best of `PASSES` measured
    // passes (the host may be busy: the minimum is the least disturbed figure).
    let _ = (random_workload(&pool), random_workload(&ll));
    let best = |f: &dyn Fn() -> Option<u64>| {
        (0..PASSES)
            .map(|_| f())
            .try_fold(u64::MAX, |m, t| t.map(|t| m.min(t)))
    };
    let rp = best(&|| random_workload(&pool));
    let rl = best(&|| random_workload(&ll));
    let pp = best(&|| pairs(&pool));
    let pl = best(&|| pairs(&ll));
    let (Some(rp), Some(rl), Some(pp), Some(pl)) = (rp, rl, pp, pl) else {
        check!(
            false,
            "an allocation failed: pool {rp:?}/{pp:?}, linked list {rl:?}/{pl:?}"
        );
        return Ok(());
    };
    let stats = pool.stats();
    check!(
        stats.live_objects() == 0,
        "pool: {} objects live after the workload",
        stats.live_objects()
    );
    let label = Platform::detect().timing_label();
    let per = |ticks: u64, ops: usize| ticks as f64 / ops as f64;
    diag!("bench ({label}; rdtsc ticks, not hardware cycles; best of {PASSES} passes):");
    diag!(
        "bench random 1 B-8 KiB, {RANDOM_OPS} ops, <= {SLOTS} live: slab pool {:.1} ticks/op, linked_list_allocator {:.1} ticks/op ({:.1}x)",
        per(rp, RANDOM_OPS),
        per(rl, RANDOM_OPS),
        rl as f64 / rp.max(1) as f64
    );
    diag!(
        "bench 256 B alloc+free, {PAIRS} pairs: slab pool {:.1} ticks/pair, linked_list_allocator {:.1} ticks/pair ({:.1}x)",
        per(pp, PAIRS),
        per(pl, PAIRS),
        pl as f64 / pp.max(1) as f64
    );
    diag!(
        "bench pool reuse rate {:.3}, cache hits {}",
        stats.reuse_rate(),
        stats.classes.iter().map(|c| c.cache_hits).sum::<u64>()
    );
    Ok(())
}
