//! Fragmentation, reuse and heap efficiency of one tensor-lifetime trace through the pool,
//! linked_list_allocator and talc, each over its own region of the same size. Not timed:
//! it prints a table and writes it as JSON to `<target>/fragmentation.json`, which the report
//! command shows. Run: `cargo bench -p zenslab-benches --bench fragmentation`.
//!
//! The trace is an inference loop: per decoding step, every layer allocates activations
//! (256 B – 8 KiB) freed one layer later, scratch buffers (64 B – 1 KiB) freed in the layer,
//! one 4 KiB KV block per layer kept until the sequence ends (every 48 steps), and now and
//! then a larger block (16 – 96 KiB) that lives a few layers.
//!
//! Figures, the same definitions for every allocator:
//! - **fragmentation at the peak**: replay the trace until its peak of live requested bytes,
//!   then probe the largest block the allocator hands out; the share of the memory not
//!   requested by live blocks that this largest request could not use:
//!   `1 - largest / (region - live requested bytes)`. It counts internal rounding, metadata
//!   and holes alike (the pool trims before failing, as any request would make it).
//! - **reuse rate**: the share of allocations that returned an address handed out before.
//! - **heap efficiency** (talc's measure): replay the trace with its KV blocks never freed
//!   until the first allocation fails; live requested bytes at that moment / region size.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::HashSet;
use std::mem::MaybeUninit;

use alloc_pool::{Config, NoCpuCache, SlabPool};
use zenslab_benches::workloads::Rng;

/// Bytes of each allocator's region.
const REGION: usize = 8 << 20;

/// One of `choices`, uniformly.
fn pick(rng: &mut Rng, choices: &[usize]) -> usize {
    choices[rng.below(choices.len())]
}

#[derive(Clone, Copy)]
enum Event {
    Alloc { slot: usize, layout: Layout },
    Free { slot: usize },
}

/// The trace; with `keep_kv` the KV blocks are never freed (for heap efficiency).
fn inference_trace(keep_kv: bool) -> Vec<Event> {
    const LAYERS: usize = 12;
    const STEPS: usize = 192;
    const SEQUENCE: usize = 48;
    let mut rng = Rng(0x1A7E_5EED_0000_0009);
    let mut events = Vec::new();
    let mut next_slot = 0;
    let mut alloc = |events: &mut Vec<Event>, size: usize, align: usize| {
        let slot = next_slot;
        next_slot += 1;
        events.push(Event::Alloc {
            slot,
            layout: Layout::from_size_align(size, align).unwrap(),
        });
        slot
    };
    let mut kv = Vec::new();
    let mut large: Vec<(usize, usize)> = Vec::new(); // (slot, layer it dies at)
    let mut clock = 0;
    for step in 0..STEPS {
        let mut prev_acts: Vec<usize> = Vec::new();
        for _ in 0..LAYERS {
            clock += 1;
            let acts: Vec<usize> = (0..3)
                .map(|_| {
                    let size = pick(&mut rng, &[256, 768, 1024, 2048, 3072, 4096, 6144, 8192]);
                    alloc(&mut events, size, 64)
                })
                .collect();
            for _ in 0..4 {
                let size = pick(&mut rng, &[64, 96, 200, 256, 512, 1000]);
                let s = alloc(&mut events, size, 8);
                events.push(Event::Free { slot: s });
            }
            kv.push(alloc(&mut events, 4096, 4096));
            if rng.next_u64().is_multiple_of(8) {
                let size = pick(&mut rng, &[16 << 10, 40 << 10, 96 << 10]);
                let s = alloc(&mut events, size, 64);
                large.push((s, clock + 1 + (rng.next_u64() % 6) as usize));
            }
            large.retain(|&(s, dies)| {
                let alive = dies > clock;
                if !alive {
                    events.push(Event::Free { slot: s });
                }
                alive
            });
            for s in prev_acts.drain(..) {
                events.push(Event::Free { slot: s });
            }
            prev_acts = acts;
        }
        for s in prev_acts {
            events.push(Event::Free { slot: s });
        }
        if !keep_kv && (step + 1) % SEQUENCE == 0 {
            for s in kv.drain(..) {
                events.push(Event::Free { slot: s });
            }
        }
    }
    for (s, _) in large {
        events.push(Event::Free { slot: s });
    }
    if !keep_kv {
        for s in kv {
            events.push(Event::Free { slot: s });
        }
    }
    events
}

/// Live requested bytes after each event, and the index of the first peak.
fn peak_index(events: &[Event]) -> usize {
    let mut sizes = std::collections::HashMap::new();
    let (mut live, mut peak, mut at) = (0usize, 0usize, 0usize);
    for (i, e) in events.iter().enumerate() {
        match *e {
            Event::Alloc { slot, layout } => {
                sizes.insert(slot, layout.size());
                live += layout.size();
            }
            Event::Free { slot } => live -= sizes[&slot],
        }
        if live > peak {
            (peak, at) = (live, i);
        }
    }
    at
}

/// What one replay measured.
#[derive(Default)]
struct Replay {
    /// Live requested bytes when the replay stopped.
    live: usize,
    allocations: usize,
    reused: usize,
    failed: bool,
}

/// Replays `events[..=stop]` (or until the first failure), leaving the blocks live.
fn replay<A: GlobalAlloc>(a: &A, events: &[Event], stop: usize) -> Replay {
    let mut slots: Vec<(*mut u8, Layout)> = Vec::new();
    let mut seen = HashSet::new();
    let mut r = Replay::default();
    for e in &events[..=stop.min(events.len() - 1)] {
        match *e {
            Event::Alloc { slot, layout } => {
                // SAFETY: non-zero size.
                let p = unsafe { a.alloc(layout) };
                if p.is_null() {
                    r.failed = true;
                    return r;
                }
                if slots.len() <= slot {
                    slots.resize(slot + 1, (std::ptr::null_mut(), layout));
                }
                slots[slot] = (p, layout);
                r.allocations += 1;
                r.reused += usize::from(!seen.insert(p.addr()));
                r.live += layout.size();
            }
            Event::Free { slot } => {
                let (p, l) = slots[slot];
                // SAFETY: allocated above with `l`, freed once.
                unsafe { a.dealloc(p, l) };
                r.live -= l.size();
            }
        }
    }
    r
}

/// The largest block `a` hands out now (8-byte aligned), by bisection.
fn largest<A: GlobalAlloc>(a: &A) -> usize {
    let (mut lo, mut hi) = (0usize, REGION);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let l = Layout::from_size_align(mid, 8).unwrap();
        // SAFETY: non-zero size; freed at once.
        let p = unsafe { a.alloc(l) };
        if p.is_null() {
            hi = mid - 1;
        } else {
            // SAFETY: allocated just above with `l`.
            unsafe { a.dealloc(p, l) };
            lo = mid;
        }
    }
    lo
}

/// One allocator's row.
struct Row {
    name: &'static str,
    fragmentation_at_peak: f64,
    reuse_rate: f64,
    heap_efficiency: f64,
}

fn region() -> &'static mut [MaybeUninit<u8>] {
    Box::leak(Box::new_uninit_slice(REGION))
}

fn pool() -> SlabPool<NoCpuCache> {
    let p = SlabPool::with_config(Config {
        max_cpus: 1,
        ..Config::DEFAULT
    });
    p.init_from_slice(region()).unwrap();
    p
}

type Talc = talc::TalcLock<spinning_top::RawSpinlock, talc::source::Claim>;

fn talc_heap() -> Talc {
    let r = region();
    // SAFETY: the leaked region is valid, unused and lives forever.
    Talc::new(unsafe { talc::source::Claim::new(r.as_mut_ptr().cast(), r.len()) })
}

fn linked_list() -> linked_list_allocator::LockedHeap {
    let heap = linked_list_allocator::LockedHeap::empty();
    heap.lock().init_from_slice(region());
    heap
}

/// Measures one allocator, given a constructor of fresh instances.
fn measure<A: GlobalAlloc>(name: &'static str, fresh: impl Fn() -> A) -> Row {
    let trace = inference_trace(false);
    let peak = peak_index(&trace);
    let a = fresh();
    let at_peak = replay(&a, &trace, peak);
    assert!(
        !at_peak.failed,
        "{name}: the trace does not fit {REGION} bytes"
    );
    let free = REGION - at_peak.live;
    let fragmentation_at_peak = 1.0 - largest(&a) as f64 / free as f64;
    let whole = replay(&fresh(), &trace, usize::MAX);
    assert!(
        !whole.failed,
        "{name}: the trace does not fit {REGION} bytes"
    );
    let growing = inference_trace(true);
    let until_oom = replay(&fresh(), &growing, usize::MAX);
    assert!(until_oom.failed, "{name}: never ran out; grow the trace");
    Row {
        name,
        fragmentation_at_peak,
        reuse_rate: whole.reused as f64 / whole.allocations as f64,
        heap_efficiency: until_oom.live as f64 / REGION as f64,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter this target ignores.
    let rows = [
        measure("zenslab", pool),
        measure("linked_list", linked_list),
        measure("talc", talc_heap),
    ];
    println!("| allocator | fragmentation at peak | reuse rate | heap efficiency |");
    println!("|---|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.3} | {:.3} | {:.3} |",
            r.name, r.fragmentation_at_peak, r.reuse_rate, r.heap_efficiency
        );
    }
    let json = serde_json::json!({
        "region_bytes": REGION,
        "rows": rows.iter().map(|r| serde_json::json!({
            "allocator": r.name,
            "fragmentation_at_peak": r.fragmentation_at_peak,
            "reuse_rate": r.reuse_rate,
            "heap_efficiency": r.heap_efficiency,
        })).collect::<Vec<_>>(),
    });
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("fragmentation.json");
    std::fs::write(&path, json.to_string()).expect("write fragmentation.json");
    println!("written to {}", path.display());
}
