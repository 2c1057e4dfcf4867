//! A `linked_list_allocator` heap behind a spin lock: the baseline of the in-kernel
//! micro-benchmark.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use linked_list_allocator::Heap;
use spin::Mutex;

/// A locked `linked_list_allocator::Heap`.
pub struct LockedHeap(Mutex<Heap>);

impl LockedHeap {
    /// An empty heap.
    pub const fn empty() -> Self {
        Self(Mutex::new(Heap::empty()))
    }

    /// Gives the heap its memory.
    ///
    /// # Safety
    /// `start..start+len` must be unused, writable memory owned by this heap from now on,
    /// for as long as the heap is used; call once.
    pub unsafe fn init(&self, start: *mut u8, len: usize) {
        // SAFETY: forwarded caller contract.
        unsafe { self.0.lock().init(start, len) }
    }
}

// SAFETY: allocation and deallocation are delegated under the lock to linked_list_allocator's
// Heap, which returns blocks that fit the layout and are disjoint from every live block.
unsafe impl GlobalAlloc for LockedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: the caller passes a pointer this allocator returned, with its layout.
            unsafe { self.0.lock().deallocate(p, layout) }
        }
    }
}
