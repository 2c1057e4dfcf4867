//! Per-CPU caches: for every CPU index and class a pair of magazines ("loaded" and
//! "previous", Bonwick & Adams 2001) on one cache line, and the owner's counters on the next;
//! the caches of one CPU index fill one page of their own ([`CpuCaches`]).
//! Only the context holding the [`CpuHook`](crate::CpuHook) pin of that index touches the
//! magazines, so the fast path has no lock and no atomic read-modify-write; statistics
//! readers only read the counter line, never the magazines' line.
//!
//! The loaded magazine's length is not stored: every object pushed onto it is a counted free
//! and every object popped from it a counted allocation, so it is kept as a bias against the
//! owner's `frees - allocs` (see [`StoredMagazines`]). A fast-path operation then stores only
//! the list head and its two counters, no length.

use crate::class::NUM_CLASSES;
use crate::freelist::{Batch, Links};
use crate::sync::{AtomicBool, AtomicUsize, Ordering, UnsafeCell, bump_owned};

/// `loaded.count` of a cache never used since init: makes the first free take the slow path
/// too, so the pool learns which indices are in use (see `SlabPool::cpus_seen`).
const UNUSED: usize = usize::MAX;

/// The two magazines of one (CPU, class), as the slow paths see them.
#[derive(Debug)]
pub(crate) struct Magazines {
    pub(crate) loaded: Batch,
    pub(crate) previous: Batch,
}

/// The magazines as stored. The loaded magazine's length is
/// `bias + (frees - allocs)` (wrapping, with the owner's counters): each push onto it is
/// counted as a free and each pop from it as an allocation, by the same owner, so the
/// difference moves with the length; `bias` is reset whenever the loaded magazine is replaced.
#[derive(Debug)]
struct StoredMagazines {
    /// Head of the loaded magazine.
    head: *mut u8,
    /// Loaded length minus the owner's `frees - allocs` (`UNUSED` while never used).
    bias: usize,
    previous: Batch,
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
    mags: UnsafeCell<StoredMagazines>,
    pub(crate) counters: OwnerCounters,
}

/// The caches of one CPU index, one per class, alone in a 4 KiB page. A CPU that uses
/// several classes walks its caches in address order, which hardware stream prefetchers take
/// for a stream and follow ahead, up to the end of the page: with the next index's caches on
/// the same page they pulled its lines away from the CPU writing them on every step (two
/// threads cycling through all eight classes ran at 0.55x the speed of one, Intel Xeon VM,
/// family 6 model 167). Prefetchers do not cross pages.
#[derive(Debug)]
#[repr(C, align(4096))]
pub(crate) struct CpuCaches {
    pub(crate) classes: [CpuClassCache; NUM_CLASSES],
}

impl CpuCaches {
    /// Never-used caches.
    pub(crate) fn new() -> Self {
        Self {
            classes: core::array::from_fn(|_| CpuClassCache::new()),
        }
    }
}

impl CpuClassCache {
    /// A never-used cache.
    pub(crate) fn new() -> Self {
        Self {
            mags: UnsafeCell::new(StoredMagazines {
                head: core::ptr::null_mut(),
                bias: UNUSED,
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

    /// `frees - allocs` of the owner (wrapping); with `StoredMagazines::bias`, the loaded
    /// magazine's length.
    #[inline(always)]
    fn net_frees(&self) -> usize {
        self.counters
            .frees
            .load(Ordering::Relaxed)
            .wrapping_sub(self.counters.allocs.load(Ordering::Relaxed))
    }

    /// Fast-path allocation: pops from `loaded`, else swaps in a full `previous`. Null when
    /// both are empty (the caller refills). The caller counts a non-null result with
    /// [`count_alloc`](Self::count_alloc) before the next use of this cache.
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index; `links` is the class's codec.
    #[inline(always)]
    pub(crate) unsafe fn pop(&self, links: Links<'_>) -> *mut u8 {
        self.mags.with_mut(|m| {
            // SAFETY: the pin gives this context exclusive use of the magazines.
            let m = unsafe { &mut *m };
            let mut obj = m.head;
            if obj.is_null() {
                // `loaded` is empty (or never used, and then so is `previous`).
                if m.previous.count == 0 {
                    return obj;
                }
                // Swap: the empty loaded magazine becomes `previous`.
                let full = m.previous.take();
                m.bias = full.count.wrapping_sub(self.net_frees());
                obj = full.head;
            }
            // SAFETY: objects in the magazines are free and entered them through
            // `Links::link`.
            unsafe {
                m.head = links.read(obj, 0);
                // The next pop reads `m.head`'s line (prefetched by the pop before this one);
                // start on the line of the object after it now: two misses in flight, not one.
                links.prefetch_hint(obj);
            }
            obj
        })
    }

    /// Fast-path free: pushes onto `loaded` if it has room, else onto an empty `previous`
    /// after swapping. Returns `false` (nothing done) when both are full or the cache is
    /// unused (the caller takes the slow path). The caller counts a `true` result with
    /// [`count_free`](Self::count_free) before the next use of this cache.
    ///
    /// # Safety
    /// The caller holds the pin of this cache's CPU index; `obj` is a free object of this
    /// cache's class, in no list; `link` is its address, writable for three pointers; `links`
    /// is the class's codec.
    #[inline(always)]
    pub(crate) unsafe fn push(
        &self,
        links: Links<'_>,
        obj: *mut u8,
        link: *mut u8,
        batch: usize,
    ) -> bool {
        debug_assert_eq!(obj.addr(), link.addr());
        self.mags.with_mut(|m| {
            // SAFETY: the pin gives this context exclusive use of the magazines.
            let m = unsafe { &mut *m };
            let count = m.bias.wrapping_add(self.net_frees());
            if count >= batch {
                if m.previous.count != 0 || count == UNUSED {
                    return false;
                }
                // Swap: the full loaded magazine becomes `previous`, an empty one is loaded.
                m.previous = Batch {
                    head: m.head,
                    count,
                };
                m.head = core::ptr::null_mut();
                m.bias = 0usize.wrapping_sub(self.net_frees());
            }
            // SAFETY: the caller guarantees `obj` is free and in no list, `link` writable; the
            // head is null or a free object of this magazine.
            unsafe { links.push_onto(link, m.head) };
            m.head = obj;
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
        self.mags.with_mut(|stored| {
            // SAFETY: the caller has exclusive use of the magazines.
            let stored = unsafe { &mut *stored };
            let mut m = Magazines {
                loaded: Batch {
                    head: stored.head,
                    count: stored.bias.wrapping_add(self.net_frees()),
                },
                previous: stored.previous.take(),
            };
            let first_use = m.loaded.count == UNUSED;
            if first_use {
                m.loaded.count = 0;
            }
            // `f` counts the objects it pops from or pushes onto `loaded`; the bias is taken
            // after it, against the counters it left.
            let r = f(&mut m, first_use);
            stored.head = m.loaded.head;
            stored.bias = m.loaded.count.wrapping_sub(self.net_frees());
            stored.previous = m.previous;
            r
        })
    }
}
