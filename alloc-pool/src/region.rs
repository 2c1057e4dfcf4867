//! Where the metadata goes inside a region: pure address arithmetic, no unsafe code.
#![deny(unsafe_code)]

use core::mem::{align_of, size_of};

use crate::cache::CpuCaches;
use crate::class::SLAB_SIZE;
use crate::error::InitError;
use crate::regions::RegionHeader;
use crate::slab::SlabDesc;

/// Required alignment of a region's start address.
pub const REGION_ALIGN: usize = align_of::<usize>();

/// Offsets (from the region start) of the parts of a region:
/// `[header][caches: one page per CPU index][slab descriptors][fallback heap ... end]`
/// (the caches only in the first region).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RegionLayout {
    pub(crate) header_off: usize,
    pub(crate) caches_off: usize,
    /// CPU indices with caches (one [`CpuCaches`] page each).
    pub(crate) n_cpus: usize,
    pub(crate) descs_off: usize,
    pub(crate) n_descs: usize,
    pub(crate) heap_off: usize,
    pub(crate) heap_len: usize,
    /// Absolute address of descriptor 0's slab.
    pub(crate) slab_base: usize,
}

fn align_up(x: usize, align: usize) -> Option<usize> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

impl RegionLayout {
    /// Plans a region of `len` bytes at address `addr` with caches for `cpus` CPU indices, or
    /// says why it cannot be used. The heap must hold at least two slabs' worth (so one
    /// slab-aligned slab always fits).
    pub(crate) fn compute(addr: usize, len: usize, cpus: usize) -> Result<Self, InitError> {
        if addr == 0 {
            return Err(InitError::NullRegion);
        }
        if !addr.is_multiple_of(REGION_ALIGN) {
            return Err(InitError::Misaligned {
                addr,
                required: REGION_ALIGN,
            });
        }
        let end = addr.checked_add(len).ok_or(InitError::AddressOverflow)?;
        let too_small = InitError::TooSmall {
            needed: usize::MAX,
            got: len,
        };
        let header = align_up(addr, align_of::<RegionHeader>()).ok_or(too_small)?;
        let header_end = header
            .checked_add(size_of::<RegionHeader>())
            .ok_or(too_small)?;
        let caches = align_up(header_end, align_of::<CpuCaches>()).ok_or(too_small)?;
        let caches_end = cpus
            .checked_mul(size_of::<CpuCaches>())
            .and_then(|b| caches.checked_add(b))
            .ok_or(too_small)?;
        let n_descs = len / SLAB_SIZE + 1;
        let descs = align_up(caches_end, align_of::<SlabDesc>()).ok_or(too_small)?;
        let descs_end = n_descs
            .checked_mul(size_of::<SlabDesc>())
            .and_then(|b| descs.checked_add(b))
            .ok_or(too_small)?;
        let heap = align_up(descs_end, 64).ok_or(too_small)?;
        let needed = (heap - addr)
            .checked_add(2 * SLAB_SIZE + 64)
            .ok_or(too_small)?;
        if len < needed {
            return Err(InitError::TooSmall { needed, got: len });
        }
        let slab_base = align_up(heap, SLAB_SIZE).ok_or(too_small)?;
        debug_assert!((end - slab_base) / SLAB_SIZE < n_descs);
        Ok(Self {
            header_off: header - addr,
            caches_off: caches - addr,
            n_cpus: cpus,
            descs_off: descs - addr,
            n_descs,
            heap_off: heap - addr,
            heap_len: end - heap,
            slab_base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn rejects_bad_regions_with_typed_errors() {
        let c = Config::DEFAULT.max_cpus;
        assert_eq!(
            RegionLayout::compute(0, 1 << 20, c),
            Err(InitError::NullRegion)
        );
        assert_eq!(
            RegionLayout::compute(0x1001, 1 << 20, c),
            Err(InitError::Misaligned {
                addr: 0x1001,
                required: REGION_ALIGN
            })
        );
        assert_eq!(
            RegionLayout::compute(usize::MAX - 15, 64, c),
            Err(InitError::AddressOverflow)
        );
        assert!(matches!(
            RegionLayout::compute(0x1000, 4096, c),
            Err(InitError::TooSmall { got: 4096, .. })
        ));
        let huge = usize::MAX / 4;
        assert!(matches!(
            RegionLayout::compute(0x1000, 1 << 20, huge),
            Err(InitError::TooSmall { .. })
        ));
    }

    #[test]
    fn parts_are_in_bounds_and_aligned() {
        let c = Config::DEFAULT.max_cpus;
        for addr in [0x1000usize, 0x1008, 0x12345678] {
            for len in [1usize << 18, 1 << 20, (1 << 20) + 12345] {
                let l = match RegionLayout::compute(addr, len, c) {
                    Ok(l) => l,
                    Err(InitError::TooSmall { needed, .. }) => {
                        assert!(needed > len);
                        continue;
                    }
                    Err(e) => panic!("{e}"),
                };
                assert!(l.header_off + size_of::<RegionHeader>() <= l.caches_off);
                assert_eq!((addr + l.caches_off) % 4096, 0);
                assert!(l.caches_off + l.n_cpus * size_of::<CpuCaches>() <= l.descs_off);
                assert!(l.descs_off + l.n_descs * size_of::<SlabDesc>() <= l.heap_off);
                assert_eq!(l.heap_off + l.heap_len, len);
                assert!(l.heap_len >= 2 * SLAB_SIZE);
                assert_eq!(l.slab_base % SLAB_SIZE, 0);
                assert!(l.slab_base >= addr + l.heap_off);
                assert!((addr + len - l.slab_base) / SLAB_SIZE < l.n_descs);
            }
        }
    }
}
