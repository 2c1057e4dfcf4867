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
    /// Bytes the live objects were requested with (the layout size through `GlobalAlloc`,
    /// the class size through `Allocator`, which hands out the whole object); at most
    /// `live × size`.
    pub requested_bytes: u64,
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
/// `peak_live` is an **approximation**: the highest `live` the pool computed at a sampling
/// point, under the class lock. The sampling points are every refill of a CPU cache from the
/// shared layer, every uncached (hook returned `None`) allocation and every `stats()` call;
/// a refill or uncached allocation skips its sample when it cannot raise the peak (the
/// objects outside the shared layer, live or cached by a CPU, an exact upper bound of `live`
/// kept under the class lock, are no more than the peak), so that it need not read every
/// CPU's counter line.
/// When quiescent it lies between the `live` of any earlier snapshot and the true peak; it
/// can miss the true peak by the objects allocated from CPU caches since the last sample
/// (at most `2 × batch` per CPU and class). Under concurrency a sample may also read another
/// CPU's counters a few updates stale. It is **exact** when every operation is uncached
/// ([`NoCpuCache`](crate::NoCpuCache)), since each allocation then samples under the lock.
///
/// # Fragmentation
/// Two figures, both 0 with nothing live (trimmed or not):
/// - [`internal_fragmentation`](Stats::internal_fragmentation): the share of the bytes held
///   for live objects that they did not request, `1 - requested / held`, where `held` is
///   `Σ live × class size` plus `fallback_bytes`. It measures class rounding (a 65-byte
///   request holds a 128-byte object). Free slots of partly used slabs are *not* in it: the
///   class reuses them, so they count as free memory below.
/// - [`external_fragmentation`](Stats::external_fragmentation): the share of free memory
///   that the largest possible request could not use, `1 - largest_free / free_bytes`.
///   `free_bytes` counts everything not held by a live object: the heaps' holes, and in the
///   slabs every object not live (free slots, CPU caches, depots, empty slabs: memory kept
///   for reuse is free). `largest_free` is the largest block a heap can hand out now, found by
///   probing; when nothing is live it is the whole heap (the trim the pool runs before
///   failing returns every slab). With live objects the probe does not count slabs a trim
///   could free, so the figure is then an upper bound. A single block cannot span regions,
///   so a pool with several regions has external fragmentation even when empty.
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
    /// Bytes of the fallback heaps (regions minus metadata).
    pub heap_size: u64,
    /// Bytes not held by a live object (see *Fragmentation*).
    pub free_bytes: u64,
    /// Largest block the pool could hand out (see *Fragmentation*).
    pub largest_free: u64,
    /// Regions the pool owns.
    pub regions: usize,
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

    /// Internal fragmentation, `1 - requested / held` over the live blocks (see
    /// *Fragmentation*); 0 with nothing live.
    pub fn internal_fragmentation(&self) -> f64 {
        let held: u64 =
            self.classes.iter().map(ClassStats::live_bytes).sum::<u64>() + self.fallback_bytes;
        if held == 0 {
            return 0.0;
        }
        let requested: u64 =
            self.classes.iter().map(|c| c.requested_bytes).sum::<u64>() + self.fallback_bytes;
        (1.0 - requested as f64 / held as f64).clamp(0.0, 1.0)
    }

    /// External fragmentation, `1 - largest_free / free_bytes` (see *Fragmentation*); 0 with
    /// no free memory.
    pub fn external_fragmentation(&self) -> f64 {
        if self.free_bytes == 0 {
            return 0.0;
        }
        (1.0 - self.largest_free as f64 / self.free_bytes as f64).clamp(0.0, 1.0)
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
        assert_eq!(s.internal_fragmentation(), 0.0);
        assert_eq!(s.external_fragmentation(), 0.0);
        s.classes[0].allocations = 100;
        s.classes[0].carved = 25;
        s.classes[0].live = 256;
        s.classes[0].requested_bytes = 256 * 48; // 48-byte requests in 64-byte objects
        s.classes[0].slabs_held = 1;
        assert_eq!(s.reuse_rate(), 0.75);
        assert_eq!(s.internal_fragmentation(), 0.25);
        s.free_bytes = 1000;
        s.largest_free = 600;
        assert!((s.external_fragmentation() - 0.4).abs() < 1e-12);
        s.classes[1].allocations = 100;
        s.classes[1].carved = 200; // more carved than allocated: clamps at 0
        assert_eq!(s.reuse_rate(), 75.0 / 200.0);
    }
}
