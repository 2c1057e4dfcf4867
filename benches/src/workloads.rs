//! Seeded allocator workloads shared by the criterion benchmarks (`benches/alloc.rs`) and the
//! instruction-count guard (`guard`), so both measure exactly the same trace.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

/// A small xorshift generator: the same seed gives the same sequence on every machine.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// One step of a trace: allocate into a slot, or free what a slot holds.
#[derive(Clone, Copy, Debug)]
enum Event {
    Alloc { slot: usize, layout: Layout },
    Free { slot: usize },
}

/// A well-formed allocation trace: every `Free` frees the block the latest `Alloc` of its slot
/// made, exactly once, and the trace ends with everything freed. Only [`Trace::tensor`] makes
/// one, which is what makes [`Trace::replay`] safe.
#[derive(Clone, Debug)]
pub struct Trace {
    events: Vec<Event>,
    slots: usize,
}

/// The block table a replay writes into: one pointer and layout per trace slot.
pub type Blocks = Vec<(*mut u8, Layout)>;

impl Trace {
    /// A seeded trace of tensor-like buffers (64 B – 8 KiB: powers of two and multiples of
    /// 64, alignments 8 or 64) with overlapping lifetimes: a live set that grows to ~200
    /// buffers and frees a random older one about as often as it allocates.
    pub fn tensor() -> Self {
        const SLOTS: usize = 256;
        const ALLOCS: usize = 4096;
        let mut rng = Rng(0x7E45_0B5E_ED00_0002);
        let mut live: Vec<usize> = Vec::new();
        let mut free_slots: Vec<usize> = (0..SLOTS).rev().collect();
        let mut events = Vec::new();
        for _ in 0..ALLOCS {
            let want_free = live.len() > 8 && (free_slots.is_empty() || rng.below(100) < 48);
            if want_free {
                let slot = live.swap_remove(rng.below(live.len()));
                events.push(Event::Free { slot });
                free_slots.push(slot);
            }
            let size = if rng.below(2) == 0 {
                64 << rng.below(8)
            } else {
                64 * (1 + rng.below(128))
            };
            let align = if rng.below(4) == 0 { 64 } else { 8 };
            let slot = free_slots.pop().expect("a free slot");
            events.push(Event::Alloc {
                slot,
                layout: Layout::from_size_align(size, align).expect("valid layout"),
            });
            live.push(slot);
        }
        for slot in live {
            events.push(Event::Free { slot });
        }
        Self {
            events,
            slots: SLOTS,
        }
    }

    /// Allocations plus frees in the trace.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the trace has no events (never true for [`Trace::tensor`]).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// A block table for [`Trace::replay`], made outside any measured region.
    pub fn blocks(&self) -> Blocks {
        vec![(std::ptr::null_mut(), Layout::new::<u8>()); self.slots]
    }

    /// Replays the trace on `a`, touching every new block's first word like a user would.
    ///
    /// # Panics
    /// If an allocation returns null or `blocks` has fewer entries than the trace has slots.
    pub fn replay<A: GlobalAlloc>(&self, a: &A, blocks: &mut [(*mut u8, Layout)]) {
        assert!(blocks.len() >= self.slots, "block table too small");
        for e in &self.events {
            match *e {
                Event::Alloc { slot, layout } => {
                    // SAFETY: every trace layout has a non-zero size; freed by a later event.
                    let p = unsafe { a.alloc(layout) };
                    assert!(!p.is_null(), "trace allocation of {layout:?} failed");
                    // SAFETY: the block has at least 64 bytes, 8-aligned.
                    unsafe { p.cast::<u64>().write(slot as u64) };
                    blocks[slot] = (p, layout);
                }
                Event::Free { slot } => {
                    let (p, layout) = blocks[slot];
                    // SAFETY: a well-formed trace (see `Trace`) frees the block this replay's
                    // latest `Alloc` of `slot` stored, with its layout, exactly once.
                    unsafe { a.dealloc(black_box(p), layout) };
                }
            }
        }
    }
}
