//! Model-based property test: random alloc / dealloc / realloc sequences (sizes 1 B – 64 KiB,
//! alignments 1 B – 8 KiB), trims, drain requests, and a second region added midway, against
//! a simple model of live blocks and per-class counters.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::mem::MaybeUninit;

use alloc_pool::{Config, CpuHook, NUM_CLASSES, NoCpuCache, SlabPool, Stats, class_index};
use proptest::prelude::*;

std::thread_local! {
    static CPU: Cell<usize> = const { Cell::new(0) };
}

/// Caches enabled; the CPU index is switched by the test (one thread per pool).
struct TestCpu;

// SAFETY: each test pool is used by one thread only; indices are < max_cpus.
unsafe impl CpuHook for TestCpu {
    type Token = ();
    fn pin() -> Option<(usize, ())> {
        Some((CPU.with(Cell::get), ()))
    }
    fn unpin(_: ()) {}
}

#[derive(Clone, Debug)]
enum Op {
    Alloc { size: usize, align_log2: u32 },
    Free { pick: usize },
    Realloc { pick: usize, size: usize },
    SwitchCpu { cpu: usize },
    Trim,
    RequestDrain { cpu: usize },
    AddRegion,
}

fn size_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 1usize..=8192,
        1 => 8193usize..=65536,
        1 => prop::sample::select(vec![64usize, 128, 256, 512, 1024, 2048, 4096, 8192]),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (size_strategy(), 0u32..=13).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        4 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        2 => (any::<usize>(), size_strategy()).prop_map(|(pick, size)| Op::Realloc { pick, size }),
        1 => (0usize..3).prop_map(|cpu| Op::SwitchCpu { cpu }),
        1 => Just(Op::Trim),
        1 => (0usize..3).prop_map(|cpu| Op::RequestDrain { cpu }),
        1 => Just(Op::AddRegion),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Block {
    ptr: *mut u8,
    layout: Layout,
    fill: u8,
}

#[derive(Default)]
struct Model {
    live: Vec<Block>,
    allocs: [u64; NUM_CLASSES],
    frees: [u64; NUM_CLASSES],
    requested: [u64; NUM_CLASSES],
    peak: [u64; NUM_CLASSES],
    fallback_bytes: u64,
    next_fill: u8,
}

impl Model {
    fn on_alloc(&mut self, layout: Layout) {
        match class_index(layout.size(), layout.align()) {
            Some(c) => {
                self.allocs[c] += 1;
                self.requested[c] += layout.size() as u64;
                self.peak[c] = self.peak[c].max(self.allocs[c] - self.frees[c]);
            }
            None => self.fallback_bytes += layout.size() as u64,
        }
    }
    fn on_free(&mut self, layout: Layout) {
        match class_index(layout.size(), layout.align()) {
            Some(c) => {
                self.frees[c] += 1;
                self.requested[c] -= layout.size() as u64;
            }
            None => self.fallback_bytes -= layout.size() as u64,
        }
    }
}

fn check_block(b: &Block) -> Result<(), TestCaseError> {
    // SAFETY: `b` is live in the pool and was filled with `b.fill`.
    let bytes = unsafe { core::slice::from_raw_parts(b.ptr, b.layout.size()) };
    prop_assert!(
        bytes.iter().all(|&x| x == b.fill),
        "block {:p} lost its contents",
        b.ptr
    );
    Ok(())
}

fn check_new(
    model: &Model,
    p: *mut u8,
    layout: Layout,
    regions: &[(usize, usize)],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.addr() % layout.align(), 0, "misaligned {:?}", layout);
    if let Some(c) = class_index(layout.size(), layout.align()) {
        prop_assert_eq!(p.addr() % (64 << c), 0, "not aligned to its class");
    }
    prop_assert!(
        regions
            .iter()
            .any(|r| p.addr() >= r.0 && p.addr() + layout.size() <= r.1),
        "outside the regions"
    );
    let (lo, hi) = (p.addr(), p.addr() + layout.size());
    for b in &model.live {
        let (blo, bhi) = (b.ptr.addr(), b.ptr.addr() + b.layout.size());
        prop_assert!(
            hi <= blo || bhi <= lo,
            "new block {lo:#x}..{hi:#x} overlaps {blo:#x}..{bhi:#x}"
        );
    }
    Ok(())
}

fn check_stats(model: &Model, s: &Stats, exact_peak: bool) -> Result<(), TestCaseError> {
    for c in 0..NUM_CLASSES {
        let cs = &s.classes[c];
        prop_assert_eq!(
            cs.allocations,
            model.allocs[c],
            "allocations of class {}",
            c
        );
        prop_assert_eq!(cs.frees, model.frees[c], "frees of class {}", c);
        prop_assert_eq!(cs.live, model.allocs[c] - model.frees[c]);
        prop_assert_eq!(
            cs.requested_bytes,
            model.requested[c],
            "requested bytes of {}",
            c
        );
        prop_assert!(cs.peak_live <= model.peak[c] && cs.peak_live >= cs.live);
        if exact_peak {
            prop_assert_eq!(cs.peak_live, model.peak[c], "peak of class {}", c);
        }
        prop_assert!(cs.cache_hits <= cs.allocations);
    }
    prop_assert_eq!(s.fallback_bytes, model.fallback_bytes);
    prop_assert!((0.0..=1.0).contains(&s.internal_fragmentation()));
    prop_assert!((0.0..=1.0).contains(&s.external_fragmentation()));
    prop_assert!((0.0..=1.0).contains(&s.reuse_rate()));
    prop_assert!(s.largest_free <= s.free_bytes);
    Ok(())
}

const REGION: usize = 4 << 20;
/// The region added midway by `Op::AddRegion`.
const EXTRA: usize = 1 << 20;

fn run<H: CpuHook>(ops: &[Op], exact_peak: bool) -> Result<(), TestCaseError> {
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(REGION / 8);
    let base = mem.as_mut_ptr().cast::<u8>();
    let mut extra: Vec<MaybeUninit<u64>> = Vec::with_capacity(EXTRA / 8);
    let mut regions = vec![(base.addr(), base.addr() + REGION)];
    let config = Config {
        max_cpus: 3,
        magazine_size: 8,
        ..Config::DEFAULT
    };
    let pool = SlabPool::<H>::with_config(config);
    // SAFETY: `mem` is valid for REGION bytes and outlives the pool.
    unsafe { pool.init(base, REGION) }.unwrap();
    let initial = pool.stats();
    let mut m = Model::default();
    for op in ops {
        match *op {
            Op::Alloc { size, align_log2 } => {
                let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                // SAFETY: non-zero size.
                let p = unsafe { pool.alloc(layout) };
                if p.is_null() {
                    continue; // exhaustion is allowed; nothing changes
                }
                check_new(&m, p, layout, &regions)?;
                m.next_fill = m.next_fill.wrapping_add(1);
                // SAFETY: fresh block of `layout.size()` bytes.
                unsafe { p.write_bytes(m.next_fill, size) };
                m.on_alloc(layout);
                m.live.push(Block {
                    ptr: p,
                    layout,
                    fill: m.next_fill,
                });
            }
            Op::Free { pick } if !m.live.is_empty() => {
                let b = m.live.swap_remove(pick % m.live.len());
                check_block(&b)?;
                // SAFETY: live block allocated with `b.layout`.
                unsafe { pool.dealloc(b.ptr, b.layout) };
                m.on_free(b.layout);
            }
            Op::Realloc { pick, size } if !m.live.is_empty() => {
                let i = pick % m.live.len();
                let b = m.live[i];
                check_block(&b)?;
                // SAFETY: live block allocated with `b.layout`, non-zero new size.
                let p = unsafe { pool.realloc(b.ptr, b.layout, size) };
                if p.is_null() {
                    continue; // the old block stays valid
                }
                let new_layout = Layout::from_size_align(size, b.layout.align()).unwrap();
                let old_class = class_index(b.layout.size(), b.layout.align());
                let in_place =
                    old_class.is_some() && old_class == class_index(size, b.layout.align());
                m.live.swap_remove(i);
                if in_place {
                    prop_assert_eq!(p, b.ptr, "same class must stay in place");
                    let c = old_class.unwrap();
                    m.requested[c] = m.requested[c] - b.layout.size() as u64 + size as u64;
                } else {
                    check_new(&m, p, new_layout, &regions)?;
                    m.on_alloc(new_layout);
                    m.on_free(b.layout);
                }
                // SAFETY: the first min(old, new) bytes were copied into the live block `p`.
                let kept = unsafe { core::slice::from_raw_parts(p, size.min(b.layout.size())) };
                prop_assert!(kept.iter().all(|&x| x == b.fill), "realloc lost contents");
                m.next_fill = m.next_fill.wrapping_add(1);
                // SAFETY: live block of `size` bytes.
                unsafe { p.write_bytes(m.next_fill, size) };
                m.live.push(Block {
                    ptr: p,
                    layout: new_layout,
                    fill: m.next_fill,
                });
            }
            Op::SwitchCpu { cpu } => CPU.with(|c| c.set(cpu)),
            Op::Trim => pool.trim(),
            Op::RequestDrain { cpu } => pool.request_drain(cpu),
            Op::AddRegion if regions.len() == 1 => {
                let start = extra.as_mut_ptr().cast::<u8>();
                // SAFETY: `extra` is valid for EXTRA bytes and outlives the pool.
                unsafe { pool.add_region(start, EXTRA) }.unwrap();
                regions.push((start.addr(), start.addr() + EXTRA));
                prop_assert_eq!(pool.stats().regions, 2);
            }
            _ => {}
        }
        check_stats(&m, &pool.stats(), exact_peak)?;
    }
    // Free everything (on CPU 0 after the last switch) and give the memory back.
    for b in std::mem::take(&mut m.live) {
        check_block(&b)?;
        // SAFETY: live block allocated with `b.layout`.
        unsafe { pool.dealloc(b.ptr, b.layout) };
        m.on_free(b.layout);
    }
    check_stats(&m, &pool.stats(), exact_peak)?;
    for cpu in 0..3 {
        CPU.with(|c| c.set(cpu));
        pool.trim();
    }
    let s = pool.stats();
    prop_assert_eq!(s.live_objects(), 0);
    prop_assert_eq!(s.classes.iter().map(|c| c.slabs_held).sum::<u64>(), 0);
    prop_assert_eq!(s.internal_fragmentation(), 0.0);
    prop_assert_eq!(s.heap_used, initial.heap_used);
    if regions.len() == 1 {
        prop_assert_eq!(s.external_fragmentation(), 0.0);
    }
    // The whole heap is one block again: most of it can be allocated at once.
    let big = Layout::from_size_align(initial.heap_size as usize - 4096, 8).unwrap();
    // SAFETY: non-zero size, freed at once.
    unsafe {
        let p = pool.alloc(big);
        prop_assert!(!p.is_null(), "heap fragmented after freeing everything");
        pool.dealloc(p, big);
    }
    // The pool (which has no destructor) must not be used after the region is freed.
    let _ = pool;
    drop(mem);
    drop(extra);
    Ok(())
}

proptest! {
    #[test]
    #[cfg_attr(miri, ignore)]
    fn cached_pool_matches_model(ops in prop::collection::vec(op_strategy(), 1..200)) {
        CPU.with(|c| c.set(0));
        run::<TestCpu>(&ops, false)?;
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn uncached_pool_matches_model_with_exact_peak(ops in prop::collection::vec(op_strategy(), 1..200)) {
        run::<NoCpuCache>(&ops, true)?;
    }
}
