//! An allocator wrapper that counts what passes through it, so tests can prove where a
//! computation's memory came from.
#![allow(unsafe_code)] // the `Allocator` impl is an unsafe trait; it only forwards

use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Forwards to `A` and counts the allocations and the largest request. Use it by reference:
/// `&CountingAllocator<A>` is the [`Allocator`]. The counters are atomics, so one wrapper
/// may be shared between CPUs.
#[derive(Debug)]
pub struct CountingAllocator<A> {
    inner: A,
    allocations: AtomicUsize,
    largest: AtomicUsize,
}

impl<A> CountingAllocator<A> {
    /// Wraps `inner` with zeroed counters.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            allocations: AtomicUsize::new(0),
            largest: AtomicUsize::new(0),
        }
    }

    /// Allocations (including those a `grow`/`shrink` made) so far.
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::Relaxed)
    }

    /// The largest size requested so far, in bytes.
    pub fn largest(&self) -> usize {
        self.largest.load(Ordering::Relaxed)
    }
}

// SAFETY: every block comes from `inner` and goes back to `inner` with the caller's layout,
// so `inner`'s guarantees are ours; counting does not touch the memory.
unsafe impl<A: Allocator> Allocator for &CountingAllocator<A> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.largest.fetch_max(layout.size(), Ordering::Relaxed);
        self.inner.allocate(layout)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller's `deallocate` contract, for a block `inner` handed out.
        unsafe { self.inner.deallocate(ptr, layout) }
    }
}
