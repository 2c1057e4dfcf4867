//! Statistics snapshot and its derived figures; no unsafe code.
#![deny(unsafe_code)]

use crate::class::{CLASS_SIZES, NUM_CLASSES, SLAB_SIZE};

/// Counters of one size class. See [`Stats`] for exactness under concurrency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Object size of the class in bytes.
    pub size: usize,
    /// Allocations served by this class.
    pub allocations: u64,
    /// Frees into this class.
    pub frees: u64,
    /// `allocations - frees` (saturating).
    pub live: u64,
    /// Highest `live` seen at a sampling point (see [`Stats`]).
    pub peak_live: u64,
    /// Allocations served by a CPU cache's loaded or previous magazine without taking a lock.
    pub cache_hits: u64,
    /// Refills of a CPU cache on a miss: a full magazine from the depot, or a batch from the
    /// loose list or the slab layer.
    pub depot_refills: u64,
    /// Full magazines a CPU cache handed back to the depot (which passes them on to the slabs
    /// when it already holds `Config::depot_magazines`).
    pub depot_flushes: u64,
    /// Slabs currently held by the class (each [`SLAB_SIZE`] bytes).
    pub slabs_held: u64,
    /// Objects carved from never-used slab space (including the prefill).
    pub carved: u64,
}

impl ClassStats {
    /// Share of allocations served by an object that had been freed before:
    /// `(allocations - carved) / allocations`, clamped to `[0, 1]`, and 0 with no allocation.
    /// Carved objects (prefill, and batches taken from fresh slab space) count as not reused,
    /// so the figure is a lower bound of the true reuse share, off by at most the objects
    /// carved but not yet handed out (those still in caches and the depot).
    pub fn reuse_rate(&self) -> f64 {
        if self.allocations == 0 {
            return 0.0;
        }
        self.allocations.saturating_sub(self.carved) as f64 / self.allocations as f64
    }

    /// Bytes of the class's slabs: `slabs_held × SLAB_SIZE`.
    pub fn held_bytes(&self) -> u64 {
        self.slabs_held * SLAB_SIZE as u64
    }

    /// Bytes of live objects at class size: `live × size`.
    pub fn live_bytes(&self) -> u64 {
        self.live * self.size as u64
    }
}

/// A snapshot of the pool's counters, returned by [`SlabPool::stats`](crate::SlabPool::stats).
///
/// # Semantics under concurrency
/// Counters are summed from per-CPU counters (each written only by its owner with a relaxed
/// load + store) and shared counters (written under the class lock). A snapshot is therefore:
/// - **exact when quiescent**: if no allocation or free runs during [`SlabPool::stats`]
///   (and every earlier one happened-before the call, e.g. threads joined), `allocations`,
///   `frees`, `live`, `cache_hits`, `depot_refills`, `depot_flushes`, `slabs_held`, `carved`
///   and `fallback_bytes` are exact;
/// - otherwise each counter is a value it held at some moment during the call, and `live` may
///   be off by the operations running concurrently (it is computed with saturating arithmetic).
///
/// `peak_live` is **sampled**: the highest `live` the pool computed at a sampling point. The
/// sampling points are every depot exchange, every uncached (hook returned `None`) operation
/// and every `stats()` call. Hence `peak_live >= live` of any earlier quiescent snapshot,
/// `peak_live <=` the true peak when quiescent, and it is **exact** when every operation is
/// uncached ([`NoCpuCache`](crate::NoCpuCache)), since each operation then samples.
///
/// [`SlabPool::stats`]: crate::SlabPool::stats
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Per class, smallest first.
    pub classes: [ClassStats; NUM_CLASSES],
    /// Bytes (as requested in the layouts) of blocks live in the fallback heap.
    pub fallback_bytes: u64,
    /// Bytes the fallback heap has handed out, slabs included (linked_list_allocator's `used`).
    pub heap_used: u64,
    /// Bytes of the fallback heap (region minus metadata).
    pub heap_size: u64,
}

impl Stats {
    /// Reuse rate over all classes: `Σ(allocations - carved) / Σ allocations`, each term
    /// clamped at 0; see [`ClassStats::reuse_rate`].
    pub fn reuse_rate(&self) -> f64 {
        let allocs: u64 = self.classes.iter().map(|c| c.allocations).sum();
        if allocs == 0 {
            return 0.0;
        }
        let reused: u64 = self
            .classes
            .iter()
            .map(|c| c.allocations.saturating_sub(c.carved))
            .sum();
        reused as f64 / allocs as f64
    }

    /// Slab fragmentation: the share of the bytes held in slabs that is not occupied by live
    /// objects, `1 - Σ live_bytes / Σ held_bytes` over the classes, clamped to `[0, 1]`; 0 when
    /// no slab is held. It counts free slots in slabs, CPU caches and the depot. It does not
    /// count rounding inside an object (a 65-byte request uses a 128-byte object) nor holes in
    /// the fallback heap (see `heap_used`/`heap_size`).
    pub fn fragmentation(&self) -> f64 {
        let held: u64 = self.classes.iter().map(ClassStats::held_bytes).sum();
        if held == 0 {
            return 0.0;
        }
        let live: u64 = self.classes.iter().map(ClassStats::live_bytes).sum();
        (1.0 - live as f64 / held as f64).clamp(0.0, 1.0)
    }

    /// Live objects over all classes.
    pub fn live_objects(&self) -> u64 {
        self.classes.iter().map(|c| c.live).sum()
    }

    /// An empty snapshot with the class sizes filled in.
    pub(crate) fn empty() -> Self {
        let mut s = Self::default();
        for (c, size) in s.classes.iter_mut().zip(CLASS_SIZES) {
            c.size = size;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures_follow_their_definitions() {
        let mut s = Stats::empty();
        assert_eq!(s.reuse_rate(), 0.0);
        assert_eq!(s.fragmentation(), 0.0);
        s.classes[0].allocations = 100;
        s.classes[0].carved = 25;
        s.classes[0].live = 256; // 256 × 64 B = a quarter of one slab
        s.classes[0].slabs_held = 1;
        assert_eq!(s.reuse_rate(), 0.75);
        assert_eq!(s.fragmentation(), 0.75);
        s.classes[1].allocations = 100;
        s.classes[1].carved = 200; // more carved than allocated: clamps at 0
        assert_eq!(s.reuse_rate(), 75.0 / 200.0);
    }
}
