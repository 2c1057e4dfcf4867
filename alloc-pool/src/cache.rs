//! Per-CPU caches: for every CPU index and class a pair of magazines ("loaded" and
//! "previous", Bonwick & Adams 2001) on one cache line, and the owner's counters on the next.
//! Only the context holding the [`CpuHook`](crate::CpuHook) pin of that index touches the
//! magazines, so the fast path has no lock and no atomic read-modify-write; statistics
//! readers only read the counter line, never the magazines' line.

use crate::freelist::{Batch, Links};
use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeCell, bump_owned};

/// `loaded.count` of a cache never used since init: makes the first free take the slow path
/// too, so the pool learns which indices are in use (see `SlabPool::cpus_seen`).
const UNUSED: usize = usize::MAX;

/// The two magazines of one (CPU, class).
#[derive(Debug)]
pub(crate) struct Magazines {
    pub(crate) loaded: Batch,
    pub(crate) previous: Batch,
}

/// Counters of one (CPU, class), written only by the owner (relaxed load + store), read by
/// statistics; plus the drain request other contexts may set.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct OwnerCounters {
    /// Allocations from this cache (hits and refills).
    pub(crate) allocs: AtomicUsize,
    /// Allocations that needed a refill.
    pub(crate) misses: AtomicUsize,
    /// Frees into this cache.
    pub(crate) frees: AtomicUsize,
    /// Bytes requested by those allocations / given back by those frees (wrapping sums).
    pub(crate) req_in: AtomicUsize,
    pub(crate) req_out: AtomicUsize,
    /// Set by `SlabPool::request_drain`; the owner drains all its caches at its next slow path.
    pub(crate) drain: AtomicBool,
}

/// One (CPU, class) cache: the magazines alone on one cache line, the counters on the next.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct CpuClassCache {
    mags: UnsafeCell<Magazines>,
    pub(crate) counters: OwnerCounters,
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
            counters: OwnerCounters {
                allocs: AtomicUsize::new(0),
                misses: AtomicUsize::new(0),
                frees: AtomicUsize::new(0),
                req_in: AtomicUsize::new(0),
                req_out: AtomicUsize::new(0),
                drain: AtomicBool::new(false),
            },
        }
    }

    /// Counts one allocation of `req` requested bytes (owner only).
    #[inline(always)]
    pub(crate) fn count_alloc(&self, req: usize) {
        bump_owned(&self.counters.allocs, 1);
        bump_owned(&self.counters.req_in, req);
    }

    /// Counts one free of `req` requested bytes (owner only).
    #[inline(always)]
    pub(crate) fn count_free(&self, req: usize) {
        bump_owned(&self.counters.frees, 1);
        bump_owned(&self.counters.req_out, req);
    }

    /// Whether a drain of this CPU was requested (cleared by the read).
    #[inline]
    pub(crate) fn take_drain_request(&self) -> bool {
        self.counters.drain.load(Ordering::Relaxed)
            && self.counters.drain.swap(false, Ordering::Acquire)
    }

    /// Fast-path allocation: pops from `loaded`, else swaps in a full `previous`. Null when
    /// both are empty (the caller refills).
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index; `links` is the class's codec.
    #[inline(always)]
    pub(crate) unsafe fn pop(&self, links: Links<'_>) -> *mut u8 {
        self.mags.with_mut(|m| {
            // SAFETY: the pin gives this context exclusive use of the magazines.
            let m = unsafe { &mut *m };
            // SAFETY: objects in the magazines are free and linked through word 0.
            let mut obj = unsafe { m.loaded.pop(links) };
            if obj.is_null() && m.previous.count > 0 {
                core::mem::swap(&mut m.loaded, &mut m.previous);
                // SAFETY: as above.
                obj = unsafe { m.loaded.pop(links) };
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
    /// cache's class, in no list; `link` is its address, writable for one pointer; `links` is
    /// the class's codec.
    #[inline(always)]
    pub(crate) unsafe fn push(
        &self,
        links: Links<'_>,
        obj: *mut u8,
        link: *mut u8,
        batch: usize,
    ) -> bool {
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
            unsafe { m.loaded.push_linked(links, obj, link) };
            true
        })
    }

    /// Runs `f` on the magazines (slow paths). Returns whether the cache was unused before
    /// (the first call marks it used).
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index (or otherwise has exclusive use of
    /// it, see `SlabPool::drain_cpu`).
    pub(crate) unsafe fn with_magazines<R>(&self, f: impl FnOnce(&mut Magazines, bool) -> R) -> R {
        self.mags.with_mut(|m| {
            // SAFETY: the caller has exclusive use of the magazines.
            let m = unsafe { &mut *m };
            let first_use = m.loaded.count == UNUSED;
            if first_use {
                m.loaded.count = 0;
            }
            f(m, first_use)
        })
    }
}
