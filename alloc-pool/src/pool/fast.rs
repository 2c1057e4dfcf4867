//! The per-CPU fast path: pin, pop or push a magazine, count, unpin. Everything else is a
//! call into `slow`.

use core::ptr;

use super::SlabPool;
use super::held::Held;
use crate::class::{FIRST_COLOURED_CLASS, link_colour_mask};
#[cfg(hardened)]
use crate::hardened;
use crate::hook::CpuHook;

impl<H: CpuHook> SlabPool<H> {
    /// Allocates an object of `class` for a request of `req` bytes; trims once and retries
    /// before returning null.
    #[inline(always)]
    pub(super) fn alloc_class(&self, class: usize, req: usize) -> *mut u8 {
        // Perf-guard self-test only (`scripts/perf-guard.sh --selftest`): a handful of extra
        // instructions on the fast path, which the guard must report as a regression.
        #[cfg(zenslab_perf_selftest)]
        for i in 0..3 {
            core::hint::black_box(class + i);
        }
        // One branch on the class, then fast paths whose colour mask is a constant.
        let obj = if class < FIRST_COLOURED_CLASS {
            self.alloc_class_once(class, req, link_colour_mask(0))
        } else {
            self.alloc_class_once(class, req, link_colour_mask(FIRST_COLOURED_CLASS))
        };
        if obj.is_null() {
            return self.alloc_class_after_trim(class, req);
        }
        obj
    }

    #[cold]
    #[inline(never)]
    fn alloc_class_after_trim(&self, class: usize, req: usize) -> *mut u8 {
        if !self.ready() {
            return ptr::null_mut();
        }
        self.trim();
        self.alloc_class_once(class, req, link_colour_mask(class))
    }

    /// One attempt: the held CPU index's cache, else the locked path. `colour_mask` is
    /// `link_colour_mask(class)`, a constant where the caller branched on the class.
    #[inline(always)]
    fn alloc_class_once(&self, class: usize, req: usize, colour_mask: usize) -> *mut u8 {
        let obj = match Held::<H>::pin() {
            Some(held) => match self.held_cache(held.proof(), class) {
                Some(cache) => {
                    let obj = cache.pop(self.links_coloured(class, colour_mask));
                    if obj.is_null() {
                        self.refill(cache, class, req)
                    } else {
                        cache.cache().count_alloc(req);
                        obj
                    }
                }
                None => self.alloc_uncached(class, req),
            },
            None => self.alloc_uncached(class, req),
        };
        #[cfg(hardened)]
        if !obj.is_null() {
            hardened::on_alloc(&self.regions, obj, class);
        }
        obj
    }

    /// Frees an object of `class` that was requested with `req` bytes.
    ///
    /// # Safety
    /// `user` was handed out by this pool for `class` and is not used any more; `req` is the
    /// size its allocation was counted with (the layout size, or the class size through the
    /// `Allocator` API).
    #[inline(always)]
    pub(super) unsafe fn free_class(&self, user: *mut u8, req: usize, class: usize) {
        // One branch on the class, then fast paths whose colour mask is a constant.
        if class < FIRST_COLOURED_CLASS {
            // SAFETY: forwarded.
            unsafe { self.free_class_coloured(user, req, class, link_colour_mask(0)) }
        } else {
            // SAFETY: forwarded.
            unsafe {
                self.free_class_coloured(user, req, class, link_colour_mask(FIRST_COLOURED_CLASS))
            }
        }
    }

    /// [`free_class`](Self::free_class) with the class's colour mask.
    ///
    /// # Safety
    /// As `free_class`; `colour_mask` is `link_colour_mask(class)`.
    #[inline(always)]
    unsafe fn free_class_coloured(
        &self,
        user: *mut u8,
        req: usize,
        class: usize,
        colour_mask: usize,
    ) {
        // Lists keep the pool's own pointer; the link words of the object being freed are
        // written through the caller's pointer when its layout covers them (see `own`): at
        // the start of the object below the coloured classes (see `class::link_offset`).
        let obj = self.own(user);
        let link = if colour_mask == 0 && req >= 3 * core::mem::size_of::<usize>() {
            user
        } else {
            obj
        };
        #[cfg(hardened)]
        {
            if !self.ready() {
                crate::report::fatal(
                    obj.addr(),
                    crate::class::class_size(class),
                    "free into an uninitialised pool",
                )
            }
            hardened::on_free(&self.regions, obj, user, req, class);
        }
        if let Some(held) = Held::<H>::pin()
            && let Some(cache) = self.held_cache(held.proof(), class)
        {
            let links = self.links_coloured(class, colour_mask);
            // SAFETY: `obj` is free and in no list; `link` is its address, writable for the
            // link words.
            if unsafe { cache.push(links, obj, link, self.batches[class]) } {
                cache.cache().count_free(req);
            } else {
                // SAFETY: as above.
                unsafe { self.flush(cache, class, obj, link, req) };
            }
            return;
        }
        // SAFETY: forwarded.
        unsafe { self.free_uncached(obj, link, class, req) }
    }
}
