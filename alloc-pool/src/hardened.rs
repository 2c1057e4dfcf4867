//! Hardened mode (`hardened` feature or debug assertions): an allocation bit per object in its
//! slab descriptor, checked on every hand-out and free, and poisoning of freed objects.

use crate::class::{SLAB_SIZE, class_size};
use crate::slab::{NO_CLASS, Region};
use crate::sync::Ordering;

/// Byte written over freed objects (after the two link words).
pub const POISON: u8 = 0xA5;

/// Bit position of `obj` in its slab's bitmap, after validating that `obj` is the start of an
/// object of `class` in a slab of that class. Panics naming the address and class otherwise.
fn locate(region: &Region, obj: *mut u8, class: usize, what: &str) -> (usize, usize) {
    let size = class_size(class);
    let addr = obj.addr();
    let Some(idx) = region.slab_index(addr) else {
        panic!(
            "alloc-pool: {what} of {addr:#x} as class {size} B: the pool does not own this pointer"
        );
    };
    // SAFETY: `slab_index` checked the bound; the region is initialised (we got it from the pool).
    let d = unsafe { region.desc(idx) };
    let owner = d.class.load(Ordering::Acquire);
    if owner == NO_CLASS {
        panic!(
            "alloc-pool: {what} of {addr:#x} as class {size} B: the pool does not own this pointer (no slab there)"
        );
    }
    if owner as usize != class {
        panic!(
            "alloc-pool: {what} of {addr:#x} as class {size} B, but it lies in a slab of class {} B (wrong layout?)",
            class_size(owner as usize)
        );
    }
    let offset = addr % SLAB_SIZE;
    if !offset.is_multiple_of(size) {
        panic!("alloc-pool: {what} of {addr:#x} as class {size} B: not the start of an object");
    }
    (idx, offset / size)
}

/// Marks `obj` as handed out. Panics if it already was (the pool's free lists are corrupted,
/// e.g. by a write after free into a cached object).
pub(crate) fn on_alloc(region: &Region, obj: *mut u8, class: usize) {
    let (idx, bit) = locate(region, obj, class, "allocation");
    // SAFETY: `locate` validated the index.
    let d = unsafe { region.desc(idx) };
    let mask = 1u64 << (bit % 64);
    let old = d.bits[bit / 64].fetch_or(mask, Ordering::Relaxed);
    if old & mask != 0 {
        panic!(
            "alloc-pool: object {:#x} of class {} B handed out twice: free lists corrupted (use after free?)",
            obj.addr(),
            class_size(class)
        );
    }
}

/// Validates a free of `obj` as `class` and marks it free; panics on a double free or a
/// pointer the pool does not own. Then poisons the object past its two link words: the bytes
/// of the caller's layout (`size`) through the caller's pointer `user`, the rest through the
/// pool's own pointer `obj` (see `SlabPool::own`).
pub(crate) fn on_free(region: &Region, obj: *mut u8, user: *mut u8, size: usize, class: usize) {
    let (idx, bit) = locate(region, obj, class, "free");
    // SAFETY: `locate` validated the index.
    let d = unsafe { region.desc(idx) };
    let mask = 1u64 << (bit % 64);
    let old = d.bits[bit / 64].fetch_and(!mask, Ordering::Relaxed);
    if old & mask == 0 {
        panic!(
            "alloc-pool: double free of {:#x} (class {} B)",
            obj.addr(),
            class_size(class)
        );
    }
    let words = 2 * core::mem::size_of::<usize>();
    let class_bytes = class_size(class);
    let split = size.clamp(words, class_bytes);
    // SAFETY: `obj`/`user` start a `class_bytes`-byte object of this pool that the caller just
    // gave back; `user` covers the caller's `size` bytes, `obj` the whole object; the bytes
    // past the link words are ours to overwrite.
    unsafe {
        user.add(words).write_bytes(POISON, split - words);
        obj.add(split).write_bytes(POISON, class_bytes - split);
    }
}

/// Validates a free of a fallback-heap block: it must not lie inside a slab.
pub(crate) fn on_free_large(region: &Region, ptr: *mut u8, size: usize) {
    let addr = ptr.addr();
    if let Some(idx) = region.slab_index(addr) {
        // SAFETY: `slab_index` checked the bound.
        let owner = unsafe { region.desc(idx) }.class.load(Ordering::Acquire);
        if owner != NO_CLASS {
            panic!(
                "alloc-pool: free of {addr:#x} as a {size}-byte fallback block, but it lies in a slab of class {} B",
                class_size(owner as usize)
            );
        }
    }
}
