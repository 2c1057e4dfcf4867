//! `alloc_pool` in the kernel: the global allocator (every class, alignment, fallback) and
//! separate pool instances (exhaustion, exact statistics).
//!
//! Raw allocations go through `GlobalAlloc` on purpose: these tests check the allocator's
//! contract itself. Each `unsafe` block only calls `alloc`/`dealloc` with a non-zero layout
//! and writes inside the block it got.
#![allow(unsafe_code)] // see the module docs: raw GlobalAlloc calls are the subject under test

use crate::heap::{GLOBAL, OwnedRegion};
use crate::ktap::{Stop, TestResult};
use crate::{check, diag};
use alloc::vec::Vec;
use alloc_pool::{
    CLASS_SIZES, Config, InitError, MAX_CLASS_SIZE, NUM_CLASSES, NoCpuCache, SlabPool,
};
use core::alloc::{GlobalAlloc, Layout};

/// Fills `len` bytes at `p` with a pattern derived from `seed`.
///
/// # Safety
/// `p` must be valid for writes of `len` bytes.
unsafe fn fill(p: *mut u8, len: usize, seed: u32) {
    for i in 0..len {
        // SAFETY: `i < len` (caller's contract).
        unsafe {
            p.add(i)
                .write((seed.wrapping_mul(31).wrapping_add(i as u32 * 7)) as u8)
        };
    }
}

/// Whether `len` bytes at `p` still hold the pattern of `seed`.
///
/// # Safety
/// `p` must be valid for reads of `len` bytes.
unsafe fn intact(p: *const u8, len: usize, seed: u32) -> bool {
    // SAFETY: `i < len` (caller's contract).
    (0..len).all(
        |i| unsafe { p.add(i).read() } == (seed.wrapping_mul(31).wrapping_add(i as u32 * 7)) as u8,
    )
}

/// Tensor buffers (f32 vectors filling each class exactly) through the global allocator: many
/// live at once per class, contents checksummed after all were written, stats counted.
pub fn tensor_buffers_every_class() -> TestResult {
    const PER_CLASS: usize = 24;
    let before = GLOBAL.stats();
    for (class, &size) in CLASS_SIZES.iter().enumerate() {
        let elems = size / 4;
        let mut tensors: Vec<Vec<f32>> = Vec::with_capacity(PER_CLASS);
        for t in 0..PER_CLASS {
            let mut v: Vec<f32> = Vec::with_capacity(elems);
            v.extend((0..elems).map(|i| (i * 3 + t * 7 + class) as f32 * 0.5));
            check!(
                (v.as_ptr() as usize).is_multiple_of(size),
                "class {size}: buffer {:p} not aligned to its class",
                v.as_ptr()
            );
            tensors.push(v);
        }
        for (t, v) in tensors.iter().enumerate() {
            let sum: f64 = v.iter().map(|&x| f64::from(x)).sum();
            let want: f64 = (0..elems)
                .map(|i| (i * 3 + t * 7 + class) as f64 * 0.5)
                .sum();
            check!(
                sum == want,
                "class {size}: tensor {t} checksum {sum} != {want} (overlap?)"
            );
        }
    }
    let after = GLOBAL.stats();
    for (class, &size) in CLASS_SIZES.iter().enumerate() {
        let grew = after.classes[class].allocations - before.classes[class].allocations;
        check!(
            grew >= PER_CLASS as u64,
            "class {size}: only {grew} allocations counted, want >= {PER_CLASS}"
        );
    }
    diag!(
        "global pool: {} live objects, reuse rate {:.3}, fragmentation internal {:.3} external {:.3}, {} regions",
        after.live_objects(),
        after.reuse_rate(),
        after.internal_fragmentation(),
        after.external_fragmentation(),
        after.regions
    );
    Ok(())
}

/// Every class with every power-of-two alignment up to the class size (size == align
/// included): aligned, class-size aligned, writable without clobbering a neighbour.
pub fn every_class_alignment() -> TestResult {
    let mut live: Vec<(*mut u8, Layout, u32)> = Vec::new();
    let mut seed = 1u32;
    for (index, &class) in CLASS_SIZES.iter().enumerate() {
        let prev = if index == 0 {
            0
        } else {
            CLASS_SIZES[index - 1]
        };
        let mut align = 1;
        while align <= class {
            // Sizes that land in this class with this alignment (size == align included).
            for size in [1, prev + 1, align, class] {
                if size.max(align) <= prev {
                    continue;
                }
                let layout = Layout::from_size_align(size, align).map_err(|_| Stop::Failed)?;
                // SAFETY: non-zero size.
                let p = unsafe { GLOBAL.alloc(layout) };
                check!(!p.is_null(), "alloc({size}, {align}) returned null");
                check!(
                    (p as usize).is_multiple_of(align),
                    "alloc({size}, {align}) = {p:p} misaligned"
                );
                check!(
                    (p as usize).is_multiple_of(class),
                    "alloc({size}, {align}) = {p:p} not aligned to its class {class}"
                );
                // SAFETY: `p` is a fresh block of `size` bytes.
                unsafe { fill(p, size, seed) };
                live.push((p, layout, seed));
                seed += 1;
            }
            align *= 2;
        }
    }
    for &(p, layout, seed) in &live {
        // SAFETY: `p` is live with `layout.size()` bytes.
        let ok = unsafe { intact(p, layout.size(), seed) };
        check!(ok, "block {p:p} {layout:?} was overwritten");
    }
    diag!(
        "{} blocks over {} classes, alignments 1..=class size",
        live.len(),
        NUM_CLASSES
    );
    for (p, layout, _) in live {
        // SAFETY: allocated above with this layout, freed once.
        unsafe { GLOBAL.dealloc(p, layout) };
    }
    Ok(())
}

/// Sizes and alignments beyond the largest class go to the fallback heap: aligned, usable,
/// counted in `fallback_bytes` while live and no longer after the free.
pub fn fallback_large_sizes() -> TestResult {
    let cases = [
        (MAX_CLASS_SIZE + 1, 8),
        (16 * 1024, 4096),
        (64, 16 * 1024),
        (1 << 20, 64),
        (8 << 20, 4096),
    ];
    let before = GLOBAL.stats().fallback_bytes;
    let mut live = Vec::new();
    let mut requested = 0u64;
    for (i, &(size, align)) in cases.iter().enumerate() {
        let layout = Layout::from_size_align(size, align).map_err(|_| Stop::Failed)?;
        // SAFETY: non-zero size.
        let p = unsafe { GLOBAL.alloc(layout) };
        check!(!p.is_null(), "alloc({size}, {align}) returned null");
        check!(
            (p as usize).is_multiple_of(align),
            "alloc({size}, {align}) = {p:p} misaligned"
        );
        // SAFETY: fresh block of `size` bytes.
        unsafe { fill(p, size, i as u32) };
        live.push((p, layout, i as u32));
        requested += size as u64;
    }
    let during = GLOBAL.stats().fallback_bytes;
    check!(
        during >= before + requested,
        "fallback_bytes {during} < {before} + {requested} while live"
    );
    for &(p, layout, seed) in &live {
        // SAFETY: live block of `layout.size()` bytes.
        let ok = unsafe { intact(p, layout.size(), seed) };
        check!(ok, "large block {p:p} overwritten");
    }
    for (p, layout, _) in live {
        // SAFETY: allocated above with this layout, freed once.
        unsafe { GLOBAL.dealloc(p, layout) };
    }
    let after = GLOBAL.stats().fallback_bytes;
    check!(
        after + requested <= during,
        "fallback_bytes {after} did not drop by {requested} from {during}"
    );
    diag!(
        "fallback heap: {requested} bytes in {} blocks allocated and returned",
        cases.len()
    );
    Ok(())
}

/// A separate small pool runs dry: allocation returns null (never panics), the kernel goes on,
/// and after freeing everything the pool serves again.
pub fn exhaustion_returns_null() -> TestResult {
    const REGION: usize = 512 * 1024;
    let Some(region) = OwnedRegion::new(REGION) else {
        check!(false, "no memory for the test region");
        return Ok(());
    };
    let pool: SlabPool<NoCpuCache> = SlabPool::with_config(Config {
        max_cpus: 1,
        ..Config::DEFAULT
    });
    // SAFETY: the region is owned by this test and outlives `pool` (declared before it).
    let init = unsafe { pool.init(region.start(), region.len()) };
    check!(init.is_ok(), "init: {init:?}");
    let layout = Layout::from_size_align(256, 256).map_err(|_| Stop::Failed)?;
    let bound = REGION / layout.size() + 1;
    let mut got = Vec::with_capacity(bound);
    let mut hit_null = false;
    for _ in 0..bound {
        // SAFETY: non-zero size.
        let p = unsafe { pool.alloc(layout) };
        if p.is_null() {
            hit_null = true;
            break;
        }
        got.push(p);
    }
    check!(
        hit_null,
        "no null after {} allocations from a {REGION}-byte region",
        got.len()
    );
    check!(!got.is_empty(), "the pool served nothing");
    let big = Layout::from_size_align(REGION, 8).map_err(|_| Stop::Failed)?;
    // SAFETY: non-zero size.
    let p = unsafe { pool.alloc(big) };
    check!(
        p.is_null(),
        "a region-sized request succeeded in an exhausted pool"
    );
    let served = got.len();
    for p in got {
        // SAFETY: allocated above with `layout`, freed once.
        unsafe { pool.dealloc(p, layout) };
    }
    check!(
        pool.stats().classes[2].live == 0,
        "live objects left after freeing all"
    );
    // SAFETY: non-zero size.
    let again = unsafe { pool.alloc(layout) };
    check!(!again.is_null(), "pool did not recover after frees");
    // SAFETY: just allocated with `layout`.
    unsafe { pool.dealloc(again, layout) };
    diag!(
        "exhausted after {served} x 256 B from {} KiB, recovered",
        REGION / 1024
    );
    Ok(())
}

/// Exact statistics after a known workload on a separate pool without CPU caches (where
/// `peak_live` is exact): per class, `k` allocations, half freed, 3 more, all freed.
pub fn stats_after_known_workload() -> TestResult {
    let Some(region) = OwnedRegion::new(4 << 20) else {
        check!(false, "no memory for the test region");
        return Ok(());
    };
    let pool: SlabPool<NoCpuCache> = SlabPool::with_config(Config {
        max_cpus: 1,
        ..Config::DEFAULT
    });
    // SAFETY: the region is owned by this test and outlives `pool`.
    let init = unsafe { pool.init(region.start(), region.len()) };
    check!(init.is_ok(), "init: {init:?}");
    let mut expected = [(0u64, 0u64); NUM_CLASSES]; // (allocations, peak)
    let mut seen_peak = [0u64; NUM_CLASSES];
    for (class, &size) in CLASS_SIZES.iter().enumerate() {
        let k = 10 + 3 * class;
        let layout = Layout::from_size_align(size, 8).map_err(|_| Stop::Failed)?;
        let mut live = Vec::new();
        for _ in 0..k {
            // SAFETY: non-zero size.
            let p = unsafe { pool.alloc(layout) };
            check!(!p.is_null(), "class {size}: null");
            live.push(p);
        }
        for p in live.drain(..k / 2) {
            // SAFETY: allocated above with `layout`.
            unsafe { pool.dealloc(p, layout) };
        }
        let mid = pool.stats().classes[class];
        check!(
            mid.live == (k - k / 2) as u64,
            "class {size}: live {} after freeing half of {k}",
            mid.live
        );
        for _ in 0..3 {
            // SAFETY: non-zero size.
            let p = unsafe { pool.alloc(layout) };
            check!(!p.is_null(), "class {size}: null");
            live.push(p);
        }
        seen_peak[class] = pool.stats().classes[class].peak_live;
        for p in live {
            // SAFETY: allocated above with `layout`.
            unsafe { pool.dealloc(p, layout) };
        }
        expected[class] = ((k + 3) as u64, k.max(k - k / 2 + 3) as u64);
    }
    let big = Layout::from_size_align(20_000, 8).map_err(|_| Stop::Failed)?;
    // SAFETY: non-zero size.
    let p = unsafe { pool.alloc(big) };
    check!(!p.is_null(), "fallback allocation failed");
    let with_big = pool.stats().fallback_bytes;
    // SAFETY: allocated just above with `big`.
    unsafe { pool.dealloc(p, big) };
    let stats = pool.stats();
    for (class, c) in stats.classes.iter().enumerate() {
        let (allocs, peak) = expected[class];
        check!(
            c.size == CLASS_SIZES[class],
            "class {class} size {}",
            c.size
        );
        check!(
            c.allocations == allocs,
            "class {}: allocations {} != {allocs}",
            c.size,
            c.allocations
        );
        check!(
            c.frees == allocs,
            "class {}: frees {} != {allocs}",
            c.size,
            c.frees
        );
        check!(c.live == 0, "class {}: live {} != 0", c.size, c.live);
        check!(
            c.peak_live == peak && seen_peak[class] == peak,
            "class {}: peak {} != {peak}",
            c.size,
            c.peak_live
        );
        check!(
            c.carved >= peak,
            "class {}: carved {} < peak {peak}",
            c.size,
            c.carved
        );
    }
    check!(
        with_big == 20_000,
        "fallback_bytes {with_big} != 20000 while the block was live"
    );
    check!(
        stats.fallback_bytes == 0,
        "fallback_bytes {} after the free",
        stats.fallback_bytes
    );
    let rr = stats.reuse_rate();
    check!((0.0..=1.0).contains(&rr), "reuse rate {rr} out of [0, 1]");
    let (internal, external) = (
        stats.internal_fragmentation(),
        stats.external_fragmentation(),
    );
    check!(
        internal == 0.0 && external == 0.0,
        "nothing live, yet fragmentation internal {internal} external {external}"
    );
    diag!(
        "known workload: {} allocations, reuse rate {:.3}, fragmentation {:.3}/{:.3}, heap used {} of {} bytes",
        stats.classes.iter().map(|c| c.allocations).sum::<u64>(),
        rr,
        internal,
        external,
        stats.heap_used,
        stats.heap_size
    );
    Ok(())
}

/// `add_region` on a separate pool: a region carved from the heap becomes its second region;
/// objects then come from both regions, and a misaligned or overlapping region is refused
/// with a typed error that leaves the pool as it was.
pub fn add_region_serves_from_both() -> TestResult {
    const FIRST: usize = 512 * 1024;
    const SECOND: usize = 1 << 20;
    let (Some(first), Some(second)) = (OwnedRegion::new(FIRST), OwnedRegion::new(SECOND)) else {
        check!(false, "no memory for the test regions");
        return Ok(());
    };
    let pool: SlabPool<NoCpuCache> = SlabPool::with_config(Config {
        max_cpus: 1,
        ..Config::DEFAULT
    });
    // SAFETY: both regions are owned by this test and outlive `pool` (declared before it);
    // a refused region is left unused, so adding `second` after the refusals is sound.
    unsafe {
        let init = pool.init(first.start(), first.len());
        check!(init.is_ok(), "init: {init:?}");
        let misaligned = pool.add_region(second.start().wrapping_add(1), SECOND - 64);
        check!(
            matches!(misaligned, Err(InitError::Misaligned { .. })),
            "misaligned region: {misaligned:?}"
        );
        let overlap = pool.add_region(first.start().wrapping_add(FIRST / 2), FIRST / 2);
        check!(
            matches!(overlap, Err(InitError::Overlaps { .. })),
            "region inside the first one: {overlap:?}"
        );
        check!(pool.stats().regions == 1, "a refused region was counted");
        let added = pool.add_region(second.start(), second.len());
        check!(added.is_ok(), "add_region: {added:?}");
        let again = pool.add_region(second.start(), second.len());
        check!(
            matches!(again, Err(InitError::Overlaps { .. })),
            "the second region added twice: {again:?}"
        );
    }
    check!(
        pool.stats().regions == 2,
        "regions {}",
        pool.stats().regions
    );
    let inside = |r: &OwnedRegion, p: *mut u8| {
        (r.start().addr()..r.start().addr() + r.len()).contains(&p.addr())
    };
    let layout = Layout::from_size_align(4096, 8).map_err(|_| Stop::Failed)?;
    let mut got = Vec::with_capacity((FIRST + SECOND) / 4096 + 1);
    loop {
        // SAFETY: non-zero size.
        let p = unsafe { pool.alloc(layout) };
        if p.is_null() || got.len() > (FIRST + SECOND) / 4096 {
            break;
        }
        got.push(p);
    }
    let in_first = got.iter().filter(|&&p| inside(&first, p)).count();
    let in_second = got.iter().filter(|&&p| inside(&second, p)).count();
    check!(
        in_first > 0 && in_second > 0 && in_first + in_second == got.len(),
        "{} objects: {in_first} in the first region, {in_second} in the second",
        got.len()
    );
    for &p in &got {
        // SAFETY: allocated above with `layout`, freed once.
        unsafe { pool.dealloc(p, layout) };
    }
    check!(
        pool.stats().live_objects() == 0,
        "live objects left after freeing all"
    );
    diag!(
        "4 KiB objects until null: {in_first} from the first region, {in_second} from the added one"
    );
    Ok(())
}
