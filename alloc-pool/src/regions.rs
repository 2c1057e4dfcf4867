//! The regions a pool owns: one header per region, written at the region's start when the
//! region is added and published once, complete, through [`Regions`] (Release on the count).
//! Everything the slow paths need about a region (its heap, its slab descriptors, its bounds)
//! is read from that header; nothing about a region is re-read from the pool's atomics.

use linked_list_allocator::Heap;

use crate::class::SLAB_SIZE;
use crate::error::InitError;
use crate::slab::SlabDesc;
use crate::spin::SpinLock;
use crate::sync::{AtomicPtr, AtomicUsize, Ordering, loom_const_fn};

/// Most regions one pool can own (the first, from `init`, plus `add_region`s).
pub const MAX_REGIONS: usize = 16;

/// Header of one region, at its start.
pub(crate) struct RegionHeader {
    /// Start of the region; every pointer into it is derived from this one (strict provenance).
    pub(crate) base: *mut u8,
    /// One past the last byte.
    pub(crate) end: usize,
    /// Slab descriptor table.
    pub(crate) descs: *const SlabDesc,
    /// Entries of the table.
    pub(crate) n_descs: usize,
    /// Address of descriptor 0's slab (slab-aligned).
    pub(crate) slab_base: usize,
    /// The fallback heap of this region.
    pub(crate) heap: SpinLock<Heap>,
}

// SAFETY: the raw pointers point into the region, which the pool owns and any thread may use;
// the mutable parts (heap, descriptors) are behind a lock or atomics.
unsafe impl Sync for RegionHeader {}
// SAFETY: as above.
unsafe impl Send for RegionHeader {}

impl RegionHeader {
    /// Whether `addr` lies inside the region.
    #[inline(always)]
    pub(crate) fn contains(&self, addr: usize) -> bool {
        self.base.addr() <= addr && addr < self.end
    }

    /// Descriptor index of the slab containing `addr`, if inside the table's range.
    #[inline]
    pub(crate) fn slab_index(&self, addr: usize) -> Option<usize> {
        let idx = addr.checked_sub(self.slab_base)? / SLAB_SIZE;
        (idx < self.n_descs).then_some(idx)
    }

    /// The descriptor `idx`.
    ///
    /// # Panics
    /// If `idx` is out of the table (a bug of the caller).
    #[inline]
    pub(crate) fn desc(&self, idx: usize) -> &SlabDesc {
        assert!(idx < self.n_descs, "slab descriptor index out of range");
        // SAFETY: the table has `n_descs` initialised entries that live as long as the
        // region (the pool's `init`/`add_region` contract), and `idx` is in range.
        unsafe { &*self.descs.add(idx) }
    }

    /// Pointer to the start of slab `idx`, with the region's provenance.
    #[inline]
    pub(crate) fn slab_ptr(&self, idx: usize) -> *mut u8 {
        self.base.with_addr(self.slab_base + idx * SLAB_SIZE)
    }
}

/// The published list of a pool's regions.
#[derive(Debug)]
pub(crate) struct Regions {
    list: [AtomicPtr<RegionHeader>; MAX_REGIONS],
    count: AtomicUsize,
}

impl Regions {
    loom_const_fn! {
        /// No region.
        pub(crate) fn new() -> Self {
            Self {
                list: [
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                    AtomicPtr::new(core::ptr::null_mut()), AtomicPtr::new(core::ptr::null_mut()),
                ],
                count: AtomicUsize::new(0),
            }
        }
    }

    /// Number of published regions.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Region `i` (`i < len()`).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &RegionHeader {
        let h = self.list[i].load(Ordering::Relaxed);
        assert!(!h.is_null(), "region index out of range");
        // SAFETY: published headers are initialised before the Release store of `count` that
        // the caller's `len()` (Acquire) observed, and live as long as the pool is used.
        unsafe { &*h }
    }

    /// Every published region, first added first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &RegionHeader> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The region containing `addr`.
    #[inline]
    pub(crate) fn find(&self, addr: usize) -> Option<&RegionHeader> {
        self.iter().find(|r| r.contains(addr))
    }

    /// The region and slab descriptor of the slab containing `addr`.
    #[inline]
    pub(crate) fn slab_of(&self, addr: usize) -> Option<(&RegionHeader, &SlabDesc)> {
        let r = self.find(addr)?;
        let idx = r.slab_index(addr)?;
        Some((r, r.desc(idx)))
    }

    /// Forgets every region (a failed `init`, before the pool was ever ready).
    pub(crate) fn clear(&self) {
        self.count.store(0, Ordering::Release);
    }

    /// Publishes `header` as the next region, exposing the provenance of its base: the pool
    /// re-derives pointers handed back to it from the exposed provenance (`SlabPool::own`).
    ///
    /// # Safety
    /// `header` is initialised and lives as long as the pool is used; the caller serialises
    /// calls (only one thread publishes at a time).
    pub(crate) unsafe fn publish(&self, header: *mut RegionHeader) -> Result<(), InitError> {
        let n = self.count.load(Ordering::Relaxed);
        if n >= MAX_REGIONS {
            return Err(InitError::TooManyRegions { max: MAX_REGIONS });
        }
        // SAFETY: the caller guarantees `header` is initialised.
        let base = unsafe { (*header).base };
        let _ = base.expose_provenance();
        self.list[n].store(header, Ordering::Relaxed);
        self.count.store(n + 1, Ordering::Release);
        Ok(())
    }
}
