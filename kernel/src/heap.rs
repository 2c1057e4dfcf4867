//! The kernel heap: an `alloc_pool::SlabPool` with per-CPU caches as `#[global_allocator]`,
//! plus carving of separate, owned regions for test pool instances.

use crate::acpi::MAX_CPUS;
use crate::memory::{self, Region};
use crate::percpu::KernelCpuHook;
use crate::pvh::MemmapEntry;
use alloc_pool::{Config, InitError, REGION_ALIGN, SlabPool};
use core::alloc::Layout;

/// The global allocator: every CPU has its own caches (see [`KernelCpuHook`]).
#[global_allocator]
pub static GLOBAL: SlabPool<KernelCpuHook> = SlabPool::with_config(Config {
    max_cpus: MAX_CPUS,
    ..Config::DEFAULT
});

/// Hands the region `start..start+len` to the global pool (start rounded up to the pool's
/// region alignment).
///
/// # Safety
/// The range must be unused, writable RAM owned by the heap from now on; call once.
pub unsafe fn init(start: u64, len: u64) -> Result<(), InitError> {
    let aligned = start.next_multiple_of(REGION_ALIGN as u64);
    let len = len.saturating_sub(aligned - start);
    // SAFETY: a sub-range of the caller's range.
    unsafe { GLOBAL.init(aligned as *mut u8, len as usize) }
}

/// Hands the global pool every usable RAM range of `map` at or above `floor` other than
/// `first` (the range given to [`init`]). Returns how many ranges the pool took; ranges it
/// rejects (too small for a region's metadata and two slabs, or over the pool's region limit)
/// stay unused.
///
/// # Safety
/// Call once, after [`init`] succeeded; every usable range of `map` at or above `floor` is
/// unused, writable, identity-mapped RAM owned by the heap from now on.
pub unsafe fn add_usable_regions(map: &[MemmapEntry], floor: u64, first: Region) -> usize {
    memory::usable_above(map, floor)
        .filter(|r| *r != first)
        .filter(|r| {
            let aligned = r.start.next_multiple_of(REGION_ALIGN as u64);
            let len = r.len.saturating_sub(aligned - r.start);
            // SAFETY: a usable range other than `first`, owned by the heap (caller contract).
            unsafe { GLOBAL.add_region(aligned as *mut u8, len as usize) }.is_ok()
        })
        .count()
}

/// A region of `len` bytes carved from the global heap, aligned for a pool, owned by the
/// caller until dropped (for separate pool instances and the benchmark baseline).
pub struct OwnedRegion {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: an `OwnedRegion` is the unique owner of its allocation (like a `Box<[u8]>`); the
// raw pointer is only an address, so moving or sharing the owner between CPUs is sound.
unsafe impl Send for OwnedRegion {}
// SAFETY: `&OwnedRegion` only exposes the address and length (no access to the bytes).
unsafe impl Sync for OwnedRegion {}

impl OwnedRegion {
    /// Allocates `len` bytes aligned to the pool's region alignment; `None` if out of memory.
    pub fn new(len: usize) -> Option<Self> {
        let layout = Layout::from_size_align(len, REGION_ALIGN).ok()?;
        // SAFETY: `layout` has non-zero size (callers ask for regions of at least a slab).
        let ptr = unsafe { alloc::alloc::alloc(layout) };
        (!ptr.is_null()).then_some(Self { ptr, layout })
    }

    /// Start of the region.
    pub fn start(&self) -> *mut u8 {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for OwnedRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { alloc::alloc::dealloc(self.ptr, self.layout) }
    }
}
