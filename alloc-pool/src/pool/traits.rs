//! `GlobalAlloc` and `Allocator` for [`SlabPool`], and the reallocation they share.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};

use super::SlabPool;
use crate::class::{class_index, class_size};
use crate::hook::CpuHook;
use crate::sync::Ordering;

impl<H: CpuHook> SlabPool<H> {
    /// Reallocation shared by [`GlobalAlloc::realloc`] and the [`Allocator`] methods: stays
    /// in place when both layouts map to the same class. With `zero`, every byte from
    /// `old.size()` to the returned length is zero. `old_req`/`new_req` are the sizes the
    /// block is counted with before and after (see `free_class`).
    ///
    /// # Safety
    /// `ptr` is a live, non-zero-size block of this pool allocated with `old`; `new.size() > 0`.
    unsafe fn resize(
        &self,
        ptr: *mut u8,
        old: Layout,
        new: Layout,
        zero: bool,
        api: Api,
    ) -> Option<(*mut u8, usize)> {
        let old_class = class_index(old.size(), old.align());
        let new_class = class_index(new.size(), new.align());
        #[cfg(hardened)]
        match old_class {
            Some(c) => crate::hardened::check_live(&self.regions, ptr, c),
            None => crate::hardened::check_large(&self.regions, ptr, old.size()),
        }
        if let (Some(a), Some(b)) = (old_class, new_class)
            && a == b
        {
            // The caller's pointer may only cover the old size; hand back one that covers the
            // whole object.
            let ptr = self.own(ptr);
            let len = class_size(a);
            if zero && len > old.size() {
                // SAFETY: the object has `len` bytes; the caller may use all of them.
                unsafe { ptr.add(old.size()).write_bytes(0, len - old.size()) };
            }
            let delta = api.req(new, a).wrapping_sub(api.req(old, a));
            if delta != 0 {
                self.counters[a].resized.fetch_add(delta, Ordering::Relaxed);
            }
            return Some((ptr, len));
        }
        let (fresh, len) = match new_class {
            Some(c) => (self.alloc_class(c, api.req(new, c)), class_size(c)),
            None => (self.alloc_large(new), new.size()),
        };
        if fresh.is_null() {
            return None;
        }
        // SAFETY: both blocks are live, distinct, and at least `min(old, new)` bytes long; the
        // fresh one has `len` bytes.
        unsafe {
            ptr::copy_nonoverlapping(ptr, fresh, old.size().min(new.size()));
            if zero && len > old.size() {
                fresh.add(old.size()).write_bytes(0, len - old.size());
            }
            self.free_with(ptr, old, api);
        }
        Some((fresh, len))
    }

    /// Frees `ptr` allocated with `layout` through `api`.
    ///
    /// # Safety
    /// `ptr` is a live, non-zero-size block of this pool allocated with `layout`.
    #[inline(always)]
    unsafe fn free_with(&self, ptr: *mut u8, layout: Layout, api: Api) {
        match class_index(layout.size(), layout.align()) {
            // SAFETY: the caller guarantees `ptr` came from this class.
            Some(class) => unsafe { self.free_class(ptr, api.req(layout, class), class) },
            // SAFETY: as above, from the fallback heap.
            None => unsafe { self.free_large(ptr, layout) },
        }
    }
}

/// Which front end a block went through: it decides the size a class block is counted with.
/// `GlobalAlloc` frees with the allocation's layout, so it counts the layout size; an
/// `Allocator` caller receives (and may free with any size up to) the whole object, so it
/// counts the class size.
#[derive(Clone, Copy)]
enum Api {
    Global,
    Allocator,
}

impl Api {
    #[inline(always)]
    fn req(self, layout: Layout, class: usize) -> usize {
        match self {
            Api::Global => layout.size(),
            Api::Allocator => class_size(class),
        }
    }
}

// SAFETY: blocks come from slabs or the heaps of the regions, never overlap while live (each
// object is in exactly one list or handed out; the heaps are locked), are aligned to their
// class size >= the layout's size and alignment (class_index) or by the heap to the layout;
// failures return null and nothing unwinds (hardened reports abort).
unsafe impl<H: CpuHook> GlobalAlloc for SlabPool<H> {
    // Always inlined: the fast path is two copies, one per colour mask (see `fast.rs`), and
    // left to itself the compiler calls it out of line (a 64 B pair went 3.2 -> 5.9 ns).
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_index(layout.size(), layout.align()) {
            Some(class) => self.alloc_class(class, layout.size()),
            None => self.alloc_large(layout),
        }
    }

    // As `alloc`.
    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from `alloc` with `layout`.
        unsafe { self.free_with(ptr, layout, Api::Global) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `GlobalAlloc::realloc`'s contract: `new_size > 0` and, rounded up to the
        // alignment, does not overflow `isize`.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `ptr` is a live block of this pool allocated with `layout`.
        unsafe { self.resize(ptr, layout, new, false, Api::Global) }
            .map_or(ptr::null_mut(), |(p, _)| p)
    }
}

fn dangling(layout: Layout) -> NonNull<[u8]> {
    let ptr = NonNull::new(ptr::without_provenance_mut::<u8>(layout.align()))
        .unwrap_or(NonNull::dangling());
    NonNull::slice_from_raw_parts(ptr, 0)
}

// SAFETY: as for `GlobalAlloc`; in addition the returned length is the whole object (class
// size) or the requested size, so any size between the request and it maps to the same class
// or heap block on free; zero-size blocks are dangling and never freed to the pool.
unsafe impl<H: CpuHook> Allocator for &SlabPool<H> {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout));
        }
        let (ptr, len) = match class_index(layout.size(), layout.align()) {
            Some(class) => (
                self.alloc_class(class, class_size(class)),
                class_size(class),
            ),
            None => (self.alloc_large(layout), layout.size()),
        };
        NonNull::new(ptr)
            .map(|p| NonNull::slice_from_raw_parts(p, len))
            .ok_or(AllocError)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the block was allocated by this pool with a layout that fits `layout`.
            unsafe { self.free_with(ptr.as_ptr(), layout, Api::Allocator) }
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded `Allocator::grow` contract.
        unsafe { self.reshape(ptr, old, new, false) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded `Allocator::grow_zeroed` contract.
        unsafe { self.reshape(ptr, old, new, true) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded `Allocator::shrink` contract.
        unsafe { self.reshape(ptr, old, new, false) }
    }
}

impl<H: CpuHook> SlabPool<H> {
    /// Grow/shrink for the [`Allocator`] impl, handling zero sizes.
    ///
    /// # Safety
    /// `ptr` is a block of this pool currently allocated with a layout fitting `old`.
    unsafe fn reshape(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        zero: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let this = self;
        if old.size() == 0 {
            return if zero {
                (&this).allocate_zeroed(new)
            } else {
                (&this).allocate(new)
            };
        }
        if new.size() == 0 {
            // SAFETY: `ptr` is live with `old` (caller contract).
            unsafe { (&this).deallocate(ptr, old) };
            return Ok(dangling(new));
        }
        // SAFETY: `ptr` is live with `old`, both sizes are non-zero.
        let (p, len) = unsafe { self.resize(ptr.as_ptr(), old, new, zero, Api::Allocator) }
            .ok_or(AllocError)?;
        NonNull::new(p)
            .map(|p| NonNull::slice_from_raw_parts(p, len))
            .ok_or(AllocError)
    }
}
