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
    fn sizes_and_counts_agree() {
        for (i, &c) in CLASS_SIZES.iter().enumerate() {
            assert_eq!(class_size(i), c);
            assert_eq!(objects_per_slab(i) * c, SLAB_SIZE);
        }
    }
}
