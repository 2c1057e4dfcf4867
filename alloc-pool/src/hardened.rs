//! Hardened mode (`hardened` feature or debug assertions): an allocation bit per object in its
//! slab descriptor, checked on every hand-out, free and reallocation; validation of every
//! decoded free-list link (see [`crate::freelist::Links`]); poisoning of free objects, checked
//! when an object is handed out again. Every finding goes to [`fatal`], which never returns
//! or unwinds.

use crate::class::{SLAB_SIZE, class_size, link_offset};
use crate::regions::Regions;
use crate::report::fatal;
use crate::slab::{NO_CLASS, SlabDesc};
use crate::sync::Ordering;

/// Byte written over free objects (all but the three list words).
pub const POISON: u8 = 0xA5;

/// Bytes of a free object used by the list links and the prefetch hint (not poisoned; at
/// [`link_offset`], see `freelist`).
const LINK_BYTES: usize = 3 * core::mem::size_of::<usize>();

/// The two poisoned byte ranges of a free object of `class` at `addr`: before and after its
/// list words.
fn poisoned_ranges(addr: usize, class: usize) -> [core::ops::Range<usize>; 2] {
    let off = link_offset(addr, class);
    [0..off, off + LINK_BYTES..class_size(class)]
}

/// The descriptor and bit of `addr`, after validating that it starts an object of `class` in
/// a slab of that class; otherwise reports `what` (or the more precise fault found).
fn locate<'a>(
    regions: &'a Regions,
    addr: usize,
    class: usize,
    foreign: &'static str,
) -> (&'a SlabDesc, usize) {
    let size = class_size(class);
    let Some((_, d)) = regions.slab_of(addr) else {
        fatal(addr, size, foreign)
    };
    let owner = d.class.load(Ordering::Acquire);
    if owner == NO_CLASS {
        fatal(addr, size, foreign)
    }
    if owner as usize != class {
        fatal(
            addr,
            class_size(owner as usize),
            "free or reallocation with the layout of another class (the class named is the block's)",
        )
    }
    let offset = addr % SLAB_SIZE;
    if !offset.is_multiple_of(size) {
        fatal(addr, size, "pointer into the middle of an object")
    }
    (d, offset / size)
}

fn bit_of(d: &SlabDesc, bit: usize) -> (&crate::sync::AtomicU64, u64) {
    (&d.bits[bit / 64], 1u64 << (bit % 64))
}

/// Checks that `next`, just decoded from a link word of the free object `slot`, is a free
/// object of `class`; reports a corrupted link otherwise (before anything follows it).
pub(crate) fn check_link(regions: &Regions, slot: *mut u8, next: *mut u8, class: usize) {
    let size = class_size(class);
    let bad = || {
        fatal(
            slot.addr(),
            size,
            "corrupted free-list link (write after free?)",
        )
    };
    let Some((_, d)) = regions.slab_of(next.addr()) else {
        bad()
    };
    if d.class.load(Ordering::Acquire) as usize != class
        || !(next.addr() % SLAB_SIZE).is_multiple_of(size)
    {
        bad()
    }
    let (word, mask) = bit_of(d, (next.addr() % SLAB_SIZE) / size);
    if word.load(Ordering::Relaxed) & mask != 0 {
        bad()
    }
}

/// Poisons a freshly carved object of `class`, all but its list words.
pub(crate) fn poison_fresh(obj: *mut u8, class: usize) {
    for r in poisoned_ranges(obj.addr(), class) {
        // SAFETY: `obj` starts a free object of `class` of the pool (the caller carved it);
        // the range lies inside it.
        unsafe { obj.add(r.start).write_bytes(POISON, r.len()) };
    }
}

/// Marks `obj` as handed out after checking it is free and still poisoned.
pub(crate) fn on_alloc(regions: &Regions, obj: *mut u8, class: usize) {
    let size = class_size(class);
    let (d, bit) = locate(
        regions,
        obj.addr(),
        class,
        "free list holds a foreign pointer",
    );
    let (word, mask) = bit_of(d, bit);
    if word.fetch_or(mask, Ordering::Relaxed) & mask != 0 {
        fatal(
            obj.addr(),
            size,
            "object handed out twice (free lists corrupted)",
        )
    }
    for r in poisoned_ranges(obj.addr(), class) {
        // Word by word: the list words are 8-byte aligned and objects are aligned to their
        // class size, so both ranges are whole words.
        // SAFETY: `obj` is an object of the pool that was free until now; the range lies
        // inside it.
        let words =
            unsafe { core::slice::from_raw_parts(obj.add(r.start).cast::<u64>(), r.len() / 8) };
        // Under Miri (which interprets every word) only the first words are checked.
        let checked = if cfg!(miri) {
            &words[..words.len().min(6)]
        } else {
            words
        };
        if checked
            .iter()
            .any(|&w| w != u64::from_ne_bytes([POISON; 8]))
        {
            fatal(
                obj.addr(),
                size,
                "free object overwritten (write after free)",
            )
        }
    }
}

/// Checks that `obj` is a live object of `class` (before a reallocation).
pub(crate) fn check_live(regions: &Regions, obj: *mut u8, class: usize) {
    let (d, bit) = locate(
        regions,
        obj.addr(),
        class,
        "reallocation of a pointer the pool does not own",
    );
    let (word, mask) = bit_of(d, bit);
    if word.load(Ordering::Relaxed) & mask == 0 {
        fatal(
            obj.addr(),
            class_size(class),
            "reallocation of a freed block",
        )
    }
}

/// Validates a free of `obj` as `class` and marks it free; reports a double free or a
/// pointer the pool does not own. Then poisons the object but its three list words: the bytes
/// of the caller's layout (`size`) through the caller's pointer `user`, the rest through the
/// pool's own pointer `obj` (see `SlabPool::own`).
pub(crate) fn on_free(regions: &Regions, obj: *mut u8, user: *mut u8, size: usize, class: usize) {
    let (d, bit) = locate(
        regions,
        obj.addr(),
        class,
        "free of a pointer the pool does not own",
    );
    let (word, mask) = bit_of(d, bit);
    if word.fetch_and(!mask, Ordering::Relaxed) & mask == 0 {
        fatal(obj.addr(), class_size(class), "double free")
    }
    for r in poisoned_ranges(obj.addr(), class) {
        let split = size.clamp(r.start, r.end);
        // SAFETY: `obj`/`user` start an object of `class` of this pool that the caller just
        // gave back; `user` covers the caller's `size` bytes, `obj` the whole object; the
        // range lies inside it and holds no list word.
        unsafe {
            user.add(r.start).write_bytes(POISON, split - r.start);
            obj.add(split).write_bytes(POISON, r.end - split);
        }
    }
}

/// Validates a free or reallocation of a fallback-heap block: inside a region, not in a slab.
pub(crate) fn check_large(regions: &Regions, ptr: *mut u8, size: usize) {
    let addr = ptr.addr();
    if regions.find(addr).is_none() {
        fatal(
            addr,
            size,
            "free of a pointer the pool does not own (fallback block)",
        )
    }
    if let Some((_, d)) = regions.slab_of(addr) {
        let owner = d.class.load(Ordering::Acquire);
        if owner != NO_CLASS {
            fatal(
                addr,
                class_size(owner as usize),
                "free of a slab object with a fallback-heap layout (the class named is the block's)",
            )
        }
    }
}
