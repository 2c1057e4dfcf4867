//! Physical memory: the kernel image bounds and the choice of the heap region from the e820 map.

#![deny(unsafe_code)]

use crate::pvh::{E820_RAM, MemmapEntry};

/// Highest address the boot page tables map (identity, 4 GiB).
pub const MAPPED_LIMIT: u64 = (crate::boot::IDENTITY_MAP_GIB as u64) << 30;

/// A physical (= virtual, identity-mapped) range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Region {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Every usable RAM range at or above `floor` (the kernel image end) and below the mapped
/// limit, 4 KiB aligned, in map order.
pub fn usable_above(map: &[MemmapEntry], floor: u64) -> impl Iterator<Item = Region> + '_ {
    map.iter()
        .filter(|e| e.kind == E820_RAM)
        .filter_map(move |e| {
            let start = e.addr.max(floor).next_multiple_of(4096);
            let end = e.addr.saturating_add(e.size).min(MAPPED_LIMIT) & !4095;
            (end > start).then(|| Region {
                start,
                len: end - start,
            })
        })
}

/// The largest of [`usable_above`]'s ranges. `None` if there is none.
pub fn largest_usable_above(map: &[MemmapEntry], floor: u64) -> Option<Region> {
    usable_above(map, floor).max_by_key(|r| r.len)
}

/// Kernel image bounds from the linker script.
pub fn kernel_image() -> Region {
    let start = core::ptr::addr_of!(crate::boot::__kernel_start) as u64;
    let end = core::ptr::addr_of!(crate::boot::__kernel_end) as u64;
    Region {
        start,
        len: end - start,
    }
}
