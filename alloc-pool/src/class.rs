//! Size classes: pure policy, no unsafe code.
#![deny(unsafe_code)]

/// Number of size classes.
pub const NUM_CLASSES: usize = 8;
/// Smallest class, in bytes (also the minimum object size, room for the free-list words).
pub const MIN_CLASS_SIZE: usize = 64;
/// Largest class, in bytes; larger requests (size or alignment) go to the fallback heap.
pub const MAX_CLASS_SIZE: usize = 8192;
/// Bytes per slab; every slab is aligned to this size inside the region, so every object is
/// aligned to its class size (all classes divide the slab size).
pub const SLAB_SIZE: usize = 64 * 1024;

/// The class sizes, smallest first.
pub const CLASS_SIZES: [usize; NUM_CLASSES] = [64, 128, 256, 512, 1024, 2048, 4096, 8192];

/// Classes from this one up (4 KiB, 8 KiB) keep their free-list words off the object's first
/// line; see [`link_offset`].
pub const FIRST_COLOURED_CLASS: usize = 6;

/// Mask of the address bits (shifted right by 6) that pick the line of a free object's list
/// words in `class`: 0 (first line) below [`FIRST_COLOURED_CLASS`].
#[inline(always)]
pub const fn link_colour_mask(class: usize) -> usize {
    if class >= FIRST_COLOURED_CLASS {
        63 << 6
    } else {
        0
    }
}

/// Offset of the free-list words inside a free object of `class` at `addr`. Objects of 4 KiB
/// and up are 4 KiB-aligned, so words at their start would all fall into one L1 set and 1/64
/// of the L2 sets: a thousand free 4 KiB objects thrash those sets while the rest of the cache
/// idles. Their words go instead to one of 64 lines chosen by address bits 12-17 (Bonwick's
/// slab colouring, applied to the pool's own words since the objects' alignment is promised).
/// Smaller classes keep them at offset 0, where they already spread over the sets.
#[cfg(any(hardened, test))]
#[inline(always)]
pub const fn link_offset(addr: usize, class: usize) -> usize {
    link_offset_masked(addr, link_colour_mask(class))
}

/// [`link_offset`] with the class's [`link_colour_mask`] given (a constant on the fast paths).
#[inline(always)]
pub const fn link_offset_masked(addr: usize, colour_mask: usize) -> usize {
    (addr >> 6) & colour_mask
}

/// The class serving `(size, align)`: the smallest class `>= max(size, align)`. `None` when
/// either exceeds [`MAX_CLASS_SIZE`]. A size of 0 maps to the smallest class.
#[inline]
pub const fn class_index(size: usize, align: usize) -> Option<usize> {
    let need = if size > align { size } else { align };
    if need > MAX_CLASS_SIZE {
        return None;
    }
    if need <= MIN_CLASS_SIZE {
        return Some(0);
    }
    // ceil(log2(need)) - 6 for need in 65..=8192.
    Some((usize::BITS - (need - 1).leading_zeros()) as usize - 6)
}

/// Bytes of one object of class `class`.
#[inline]
pub const fn class_size(class: usize) -> usize {
    MIN_CLASS_SIZE << class
}

/// Objects in one slab of class `class`.
#[inline]
pub const fn objects_per_slab(class: usize) -> usize {
    SLAB_SIZE / class_size(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // safe arithmetic only; the exhaustive sweep takes minutes in Miri
    fn every_size_and_alignment_maps_to_smallest_fitting_class() {
        for size in 0..=MAX_CLASS_SIZE + 1 {
            for align in [1usize, 2, 8, 64, 128, 4096, 8192, 16384] {
                let need = size.max(align);
                let got = class_index(size, align);
                let want = CLASS_SIZES.iter().position(|&c| c >= need);
                assert_eq!(got, want, "size {size} align {align}");
            }
        }
    }

    #[test]
    fn coloured_links_stay_inside_the_object_and_spread_over_the_lines() {
        for class in 0..NUM_CLASSES {
            let size = class_size(class);
            let mut lines = std::collections::BTreeSet::new();
            for i in 0..256usize {
                let addr = (1 << 30) + i * size;
                let off = link_offset(addr, class);
                assert!(
                    off.is_multiple_of(64) && off + 24 <= size,
                    "class {class} offset {off}"
                );
                lines.insert(((addr + off) >> 6) & 63);
            }
            if class >= FIRST_COLOURED_CLASS {
                // 4 KiB objects reach all 64 L1 sets, 8 KiB objects (twice as sparse) 32.
                assert!(
                    lines.len() >= 32,
                    "class {class} uses {} L1 sets",
                    lines.len()
                );
            } else {
                assert_eq!(link_offset(1 << 30, class), 0);
            }
        }
    }

    #[test]
    fn sizes_and_counts_agree() {
        for (i, &c) in CLASS_SIZES.iter().enumerate() {
            assert_eq!(class_size(i), c);
            assert_eq!(objects_per_slab(i) * c, SLAB_SIZE);
        }
    }
}
