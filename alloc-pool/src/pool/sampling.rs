//! Statistics: summing the per-CPU counter lines and the class counters, sampling the peak,
//! and measuring free memory for the fragmentation figures (see [`Stats`]).

use core::alloc::Layout;

use super::SlabPool;
use crate::class::{NUM_CLASSES, SLAB_SIZE, class_size};
use crate::hook::CpuHook;
use crate::slab::ClassState;
use crate::stats::Stats;
use crate::sync::Ordering;

/// Sums of one class's counters.
#[derive(Clone, Copy, Default)]
struct Sums {
    allocs: usize,
    frees: usize,
    misses: usize,
    /// Requested bytes of live objects (wrapping sums).
    requested: usize,
}

impl Sums {
    fn live(&self) -> usize {
        self.allocs.saturating_sub(self.frees)
    }
}

impl<H: CpuHook> SlabPool<H> {
    /// The class's counters summed over the shared ones and every CPU seen. Reads only the
    /// CPUs' counter lines, never their magazines.
    fn sums(&self, class: usize) -> Sums {
        let c = &self.counters[class];
        let mut s = Sums {
            allocs: c.uncached_allocs.load(Ordering::Relaxed),
            frees: c.uncached_frees.load(Ordering::Relaxed),
            misses: 0,
            requested: c
                .uncached_req_in
                .load(Ordering::Relaxed)
                .wrapping_sub(c.uncached_req_out.load(Ordering::Relaxed))
                .wrapping_add(c.resized.load(Ordering::Relaxed)),
        };
        for cpu in 0..self.cpus_seen() {
            if let Some(cache) = self.cache(cpu, class) {
                let o = &cache.counters;
                s.allocs = s.allocs.wrapping_add(o.allocs.load(Ordering::Relaxed));
                s.frees = s.frees.wrapping_add(o.frees.load(Ordering::Relaxed));
                s.misses = s.misses.wrapping_add(o.misses.load(Ordering::Relaxed));
                s.requested = s
                    .requested
                    .wrapping_add(o.req_in.load(Ordering::Relaxed))
                    .wrapping_sub(o.req_out.load(Ordering::Relaxed));
            }
        }
        s
    }

    /// [`sample_peak_locked`](Self::sample_peak_locked) unless it cannot raise the peak:
    /// `live` is at most the objects outside the shared layer (`st.outside`), so while those
    /// are no more than the peak the sample is skipped. Skipping keeps a refill from reading
    /// the counter line of every CPU (each a cache miss on a line its owner keeps writing)
    /// whenever the caches hold fewer objects than the peak has above the live count.
    pub(super) fn sample_peak(&self, class: usize, st: &ClassState) {
        if st.outside > self.counters[class].peak_live.load(Ordering::Relaxed) {
            self.sample_peak_locked(class);
        }
    }

    /// Objects of `class` outside the shared layer (see `ClassState::outside`).
    #[cfg(test)]
    pub(crate) fn outside(&self, class: usize) -> usize {
        self.classes[class].with(|st| st.outside)
    }

    /// Raises the class's `peak_live` to the current `live`. Called with the class lock held
    /// (every writer of `peak_live` holds it, so a load and a store suffice).
    pub(super) fn sample_peak_locked(&self, class: usize) {
        let live = if self.cpus_seen.load(Ordering::Relaxed) == 0 {
            // No CPU cache in use: the shared counters are the whole count.
            let c = &self.counters[class];
            c.uncached_allocs
                .load(Ordering::Relaxed)
                .saturating_sub(c.uncached_frees.load(Ordering::Relaxed))
        } else {
            self.sums(class).live()
        };
        let peak = &self.counters[class].peak_live;
        if live > peak.load(Ordering::Relaxed) {
            peak.store(live, Ordering::Relaxed);
        }
    }

    /// A snapshot of the counters; see [`Stats`] for what is exact when. Takes each class
    /// lock and each heap lock briefly (and probes each heap for its largest free block).
    pub fn stats(&self) -> Stats {
        let mut s = Stats::empty();
        for (class, cs) in s.classes.iter_mut().enumerate() {
            self.classes[class].with(|_| self.sample_peak_locked(class));
            let sums = self.sums(class);
            let c = &self.counters[class];
            cs.allocations = sums.allocs as u64;
            cs.frees = sums.frees as u64;
            cs.live = sums.live() as u64;
            cs.requested_bytes = if sums.live() == 0 {
                0
            } else {
                (sums.requested as u64).min(cs.live * class_size(class) as u64)
            };
            cs.cache_hits = sums
                .allocs
                .wrapping_sub(c.uncached_allocs.load(Ordering::Relaxed))
                .saturating_sub(sums.misses) as u64;
            cs.peak_live = c.peak_live.load(Ordering::Relaxed).max(sums.live()) as u64;
            cs.depot_refills = c.refills.load(Ordering::Relaxed) as u64;
            cs.depot_flushes = c.flushes.load(Ordering::Relaxed) as u64;
            cs.slabs_held = c.slabs_held.load(Ordering::Relaxed) as u64;
            cs.carved = c.carved.load(Ordering::Relaxed) as u64;
        }
        s.fallback_bytes = self.fallback_bytes.load(Ordering::Relaxed) as u64;
        let nothing_live = s.live_objects() == 0 && s.fallback_bytes == 0;
        let mut heap_free = 0u64;
        for r in self.regions.iter() {
            let (used, size, free, largest) = r.heap.with(|h| {
                let largest = if nothing_live {
                    // A trim would return every slab: the whole heap is one free block.
                    h.size()
                } else {
                    largest_block(h)
                };
                (h.used(), h.size(), h.free(), largest)
            });
            s.heap_used += used as u64;
            s.heap_size += size as u64;
            heap_free += free as u64;
            s.largest_free = s.largest_free.max(largest as u64);
        }
        let slab_free: u64 = s
            .classes
            .iter()
            .map(|c| (c.slabs_held * SLAB_SIZE as u64).saturating_sub(c.live_bytes()))
            .sum();
        s.free_bytes = heap_free + slab_free;
        s.regions = self.regions.len();
        debug_assert_eq!(s.classes.len(), NUM_CLASSES);
        s
    }
}

/// The largest block `heap` can hand out now (8-byte aligned), by bisection over
/// allocate-and-free probes (each probe is O(holes)).
fn largest_block(heap: &mut linked_list_allocator::Heap) -> usize {
    let (mut lo, mut hi) = (0usize, heap.free());
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let fits = Layout::from_size_align(mid, 8)
            .ok()
            .and_then(|l| heap.allocate_first_fit(l).ok().map(|p| (p, l)))
            .map(|(p, l)| {
                // SAFETY: `p` was just allocated from this heap with `l`.
                unsafe { heap.deallocate(p, l) };
            })
            .is_some();
        if fits {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}
