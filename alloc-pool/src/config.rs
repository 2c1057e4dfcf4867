//! Pool configuration: plain data, `const`-constructible, no unsafe code.
#![deny(unsafe_code)]

use crate::class::{NUM_CLASSES, objects_per_slab};

/// Tuning of a [`SlabPool`](crate::SlabPool). Build it with [`Config::DEFAULT`] and struct
/// update syntax, e.g. `Config { prefill: [1024; 8], ..Config::DEFAULT }` (usable in a `static`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of per-CPU cache slots carved from the region at init (default 64). A
    /// [`CpuHook`](crate::CpuHook) index `>= max_cpus` is treated like `None` (no cache).
    /// Each slot costs `8 × 128` bytes of the region (per class one cache line of magazines
    /// and one of counters).
    pub max_cpus: usize,
    /// Objects per magazine (the batch moved between a CPU cache and the depot), default 32.
    /// The effective batch of a class is `min(magazine_size, objects per slab)` (8 for 8 KiB),
    /// at least 1.
    pub magazine_size: usize,
    /// Objects of each class carved at init and parked in the depot (default 0 = none).
    /// `[1024; 8]` reserves about 16 MiB so the first 1024 live objects of every class never
    /// need new slabs from the fallback heap. Prefilled objects are never returned to the heap
    /// by the depot policy (the depot keeps at least as many magazines as the prefill fills).
    pub prefill: [usize; NUM_CLASSES],
    /// Fully free slabs each class keeps instead of returning them to the heap (default 1).
    /// Beyond this, a slab whose last object comes back goes to the heap at once, where any
    /// class or a large allocation can use it. [`SlabPool::trim`](crate::SlabPool::trim)
    /// returns even these.
    pub empty_slabs_kept: usize,
    /// Full magazines the depot of each class holds (default 32) before it returns further
    /// magazines' objects to their slabs. Larger depots absorb bigger bursts of frees without
    /// touching the slab layer (32 keeps a burst of 1024 objects of the classes up to 2 KiB);
    /// the memory a depot can hold is `depot_magazines × batch × class size`: with the
    /// defaults 64 KiB for 64 B, doubling per class to 2 MiB for 2 KiB, and 2 MiB each for
    /// 4 KiB (batch 16) and 8 KiB (batch 8), about 7.9 MiB over all classes. The depot gives
    /// it back through decay (see `depot_decay_period`) and [`SlabPool::trim`](crate::SlabPool::trim),
    /// which also runs before any request would fail.
    pub depot_magazines: usize,
    /// Depot exchanges of a class between two decay steps (default 256; 0 = never decay).
    /// At each step the depot returns to its slabs the magazines it did not dip into during
    /// the period (its low-water mark), keeping those that hold the prefill.
    pub depot_decay_period: usize,
}

impl Config {
    /// The documented defaults.
    pub const DEFAULT: Config = Config {
        max_cpus: 64,
        magazine_size: 32,
        prefill: [0; NUM_CLASSES],
        empty_slabs_kept: 1,
        depot_magazines: 32,
        depot_decay_period: 256,
    };

    /// Effective magazine size of `class`: `min(magazine_size, objects per slab)`, at least 1.
    #[inline]
    pub const fn batch(&self, class: usize) -> usize {
        let per_slab = objects_per_slab(class);
        let m = if self.magazine_size < per_slab {
            self.magazine_size
        } else {
            per_slab
        };
        if m == 0 { 1 } else { m }
    }

    /// Full magazines the depot of `class` may hold: `depot_magazines`, raised to cover the
    /// prefill of that class.
    pub const fn depot_cap(&self, class: usize) -> usize {
        let batch = self.batch(class);
        let prefill_mags = self.prefill[class].div_ceil(batch);
        if prefill_mags > self.depot_magazines {
            prefill_mags
        } else {
            self.depot_magazines
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_clamped_to_slab_and_at_least_one() {
        let c = Config::DEFAULT;
        assert_eq!(c.batch(0), 32);
        assert_eq!(c.batch(7), 8);
        let zero = Config {
            magazine_size: 0,
            ..Config::DEFAULT
        };
        assert_eq!(zero.batch(3), 1);
    }

    #[test]
    fn depot_cap_covers_prefill() {
        let c = Config {
            prefill: [1024; NUM_CLASSES],
            ..Config::DEFAULT
        };
        assert_eq!(c.depot_cap(0), 32);
        assert_eq!(c.depot_cap(7), 128);
        assert_eq!(Config::DEFAULT.depot_cap(0), 32);
        let small = Config {
            depot_magazines: 4,
            prefill: [64; NUM_CLASSES],
            ..Config::DEFAULT
        };
        assert_eq!((small.depot_cap(0), small.depot_cap(7)), (4, 8));
    }
}
