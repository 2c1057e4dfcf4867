//! Per-CPU caches: for every CPU index and class a cache-line-aligned pair of magazines
//! ("loaded" and "previous", Bonwick & Adams 2001) and the owner's counters. Only the context
//! holding the [`CpuHook`](crate::CpuHook) pin of that index touches the magazines, so the fast
//! path has no lock and no atomic read-modify-write.

use crate::freelist::Batch;
use crate::sync::{AtomicUsize, UnsafeCell, bump_owned};

/// `loaded.count` of a cache never used since init: makes the first free take the slow path
/// too, so the pool learns which indices are in use (see `SlabPool::cpus_seen`).
const UNUSED: usize = usize::MAX;

/// The two magazines of one (CPU, class).
#[derive(Debug)]
pub(crate) struct Magazines {
    pub(crate) loaded: Batch,
    pub(crate) previous: Batch,
}

/// One (CPU, class) cache, alone on its cache line.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct CpuClassCache {
    mags: UnsafeCell<Magazines>,
    /// Allocations served by `loaded`/`previous` (owner-written).
    pub(crate) hits: AtomicUsize,
    /// Allocations that needed a refill (owner-written).
    pub(crate) misses: AtomicUsize,
    /// Frees into this cache (owner-written).
    pub(crate) frees: AtomicUsize,
}

impl CpuClassCache {
    /// A never-used cache.
    pub(crate) fn new() -> Self {
        Self {
            mags: UnsafeCell::new(Magazines {
                loaded: Batch {
                    head: core::ptr::null_mut(),
                    count: UNUSED,
                },
                previous: Batch::EMPTY,
            }),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            frees: AtomicUsize::new(0),
        }
    }

    /// Fast-path allocation: pops from `loaded`, else swaps in a full `previous`. Null when
    /// both are empty (the caller refills).
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index.
    #[inline(always)]
    pub(crate) unsafe fn pop(&self) -> *mut u8 {
        self.mags.with_mut(|m| {
            // SAFETY: the pin gives this context exclusive use of the magazines.
            let m = unsafe { &mut *m };
            // SAFETY: objects in the magazines are free and linked through word 0.
            let mut obj = unsafe { m.loaded.pop() };
            if obj.is_null() && m.previous.count > 0 {
                core::mem::swap(&mut m.loaded, &mut m.previous);
                // SAFETY: as above.
                obj = unsafe { m.loaded.pop() };
            }
            if !obj.is_null() {
                bump_owned(&self.hits);
            }
            obj
        })
    }

    /// Fast-path free: pushes onto `loaded` if it has room, else onto an empty `previous`
    /// after swapping. Returns `false` (nothing done) when both are full or the cache is
    /// unused (the caller takes the slow path).
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index; `obj` is a free object of this
    /// cache's class, in no list; `link` is its address, writable for one pointer.
    #[inline(always)]
    pub(crate) unsafe fn push(&self, obj: *mut u8, link: *mut u8, batch: usize) -> bool {
        self.mags.with_mut(|m| {
            // SAFETY: the pin gives this context exclusive use of the magazines.
            let m = unsafe { &mut *m };
            if m.loaded.count >= batch {
                if m.previous.count != 0 || m.loaded.count == UNUSED {
                    return false;
                }
                core::mem::swap(&mut m.loaded, &mut m.previous);
            }
            // SAFETY: the caller guarantees `obj` is free and in no list, `link` writable.
            unsafe { m.loaded.push_linked(obj, link) };
            bump_owned(&self.frees);
            true
        })
    }

    /// Runs `f` on the magazines (slow paths). Returns whether the cache was unused before
    /// (the first call marks it used).
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index.
    pub(crate) unsafe fn with_magazines<R>(&self, f: impl FnOnce(&mut Magazines, bool) -> R) -> R {
        self.mags.with_mut(|m| {
            // SAFETY: the pin gives this context exclusive use of the magazines.
            let m = unsafe { &mut *m };
            let first_use = m.loaded.count == UNUSED;
            if first_use {
                m.loaded.count = 0;
            }
            f(m, first_use)
        })
    }
}
