//! Intrusive lists threaded through free objects (every object is at least 64 bytes, so it
//! has room for the three words used here: word 0 = next object, word 1 = next magazine,
//! word 2 = the object after next, a prefetch hint). The words start at the object for
//! classes below 4 KiB and on an address-dependent line of it from 4 KiB up
//! ([`crate::class::link_offset`]).
//!
//! # The prefetch hint
//! Popping a list is a chain of dependent loads: the next head is read from the object being
//! handed out, so a magazine whose objects are out of cache (freed in random order, say) pops
//! at one cache-miss latency per object. Every push therefore also stores, in word 2, the
//! successor of its successor, and the fast-path pop prefetches it: two chains of misses run
//! side by side instead of one (1024 random-order frees and allocations of 256 B: allocation
//! 4.6 -> 2.8 ns, Intel Xeon VM, family 6 model 167); the coloured classes (4 KiB and up) do
//! without it (see [`Links::hints`]). The hint is only ever prefetched, never
//! dereferenced, so a stale or corrupted hint costs a wasted prefetch and nothing else; it is
//! always written before it is read (every object enters a list through a push), so reading
//! it reads initialised memory.
//!
//! Every link word is read and written through a [`Links`] codec. In a plain build it stores
//! the pointer as is. In hardened mode it stores `next ^ secret ^ address of the word` (the
//! scheme of Linux SLUB's freelist hardening and mimalloc's encoded free lists), so a stray
//! write into a free object decodes to an implausible address, and it validates every
//! decoded pointer (the start of a free object of the class, inside the pool) *before* the
//! list follows it; a bad link is reported (see [`crate::report`]) instead of followed.

use core::marker::PhantomData;
use core::ptr;

#[cfg(hardened)]
use crate::regions::Regions;

/// How link words of one class are encoded and checked (zero-sized in a plain build).
#[derive(Clone, Copy)]
pub(crate) struct Links<'a> {
    #[cfg(hardened)]
    secret: usize,
    /// The pool's regions and the class, to validate decoded links (`None`: no validation,
    /// for lists outside a pool).
    #[cfg(hardened)]
    check: Option<(&'a Regions, usize)>,
    /// [`crate::class::link_colour_mask`] of the class.
    colour_mask: usize,
    _regions: PhantomData<&'a ()>,
}

impl<'a> Links<'a> {
    /// The codec of `class` in a pool with `regions` and link secret `secret`.
    #[cfg_attr(not(hardened), allow(unused_variables))]
    #[inline(always)]
    pub(crate) fn new(secret: usize, regions: &'a crate::regions::Regions, class: usize) -> Self {
        Self::with_colour(
            secret,
            regions,
            class,
            crate::class::link_colour_mask(class),
        )
    }

    /// As [`Links::new`], with the class's [`link_colour_mask`](crate::class::link_colour_mask)
    /// given by the caller (the fast paths pass a constant, so that the offset arithmetic
    /// disappears below the coloured classes).
    #[cfg_attr(not(hardened), allow(unused_variables))]
    #[inline(always)]
    pub(crate) fn with_colour(
        secret: usize,
        regions: &'a crate::regions::Regions,
        class: usize,
        colour_mask: usize,
    ) -> Self {
        debug_assert_eq!(colour_mask, crate::class::link_colour_mask(class));
        Self {
            #[cfg(hardened)]
            secret,
            #[cfg(hardened)]
            check: Some((regions, class)),
            colour_mask,
            _regions: PhantomData,
        }
    }

    /// A codec that stores links unencoded and checks nothing (lists outside a pool).
    #[cfg(test)]
    pub(crate) fn unchecked() -> Self {
        Self {
            #[cfg(hardened)]
            secret: 0,
            #[cfg(hardened)]
            check: None,
            colour_mask: 0,
            _regions: PhantomData,
        }
    }

    /// Whether pushes record the prefetch hint and pops prefetch it: not in the coloured
    /// classes, whose list words already spread over the cache sets (their 4 KiB batches ran
    /// as fast without it) and where the hint's colour arithmetic cost about ten instructions
    /// per alloc+free pair; word 2 is then written null.
    #[inline(always)]
    fn hints(self) -> bool {
        self.colour_mask == 0
    }

    /// Where link `word` of the object at `slot` lives (see [`crate::class::link_offset`]).
    #[inline(always)]
    fn at(self, slot: *mut u8, word: usize) -> *mut *mut u8 {
        slot.wrapping_add(crate::class::link_offset_masked(
            slot.addr(),
            self.colour_mask,
        ))
        .cast::<*mut u8>()
        .wrapping_add(word)
    }

    /// Writes link `word` (0, 1 or 2) of the free object at `slot` to point at `next`.
    ///
    /// # Safety
    /// `slot` is a free object of at least `word + 1` words, pointer-aligned, writable through this
    /// pointer for word `word`.
    #[inline(always)]
    pub(crate) unsafe fn write(self, slot: *mut u8, word: usize, next: *mut u8) {
        let at = self.at(slot, word);
        #[cfg(hardened)]
        let next = next.map_addr(|a| a ^ self.secret ^ at.addr());
        // SAFETY: the caller guarantees the word is writable and aligned.
        unsafe { at.write(next) };
    }

    /// Links the free object at `slot` to `next` (word 0) and stores `after`, the object
    /// after `next` as far as the caller knows, as its prefetch hint (word 2).
    ///
    /// # Safety
    /// `slot` is a free object of at least three words, pointer-aligned, writable through
    /// this pointer for words 0 to 2.
    #[inline(always)]
    pub(crate) unsafe fn link(self, slot: *mut u8, next: *mut u8, after: *mut u8) {
        // SAFETY: the caller guarantees words 0 and 2 of `slot` are writable.
        unsafe {
            self.write(slot, 0, next);
            self.write(slot, 2, after);
        }
    }

    /// Links the free object at `slot` in front of `head` (null, or the first object of a list
    /// of this codec): word 0 = `head`, word 2 = the object after `head` (its word 0), the
    /// prefetch hint.
    ///
    /// # Safety
    /// As [`Links::link`], and `head` is null or a free object of a list built with this codec.
    #[inline(always)]
    pub(crate) unsafe fn push_onto(self, slot: *mut u8, head: *mut u8) {
        let after = if head.is_null() || !self.hints() {
            ptr::null_mut()
        } else {
            // SAFETY: `head` is a free object of a list of this codec: its word 0 was written.
            unsafe { self.read_unchecked(head, 0) }
        };
        // SAFETY: forwarded.
        unsafe { self.link(slot, head, after) };
    }

    /// Prefetches the line of the list words of the object after `slot`'s successor, as
    /// recorded by [`Links::link`] (the line the pop after next reads).
    ///
    /// # Safety
    /// `slot` is a free object that entered its list through [`Links::link`] with this codec.
    #[inline(always)]
    pub(crate) unsafe fn prefetch_hint(self, slot: *mut u8) {
        if !self.hints() {
            return;
        }
        // SAFETY: `link` wrote word 2 of `slot`.
        let hint = unsafe { self.read_unchecked(slot, 2) };
        prefetch(self.at(hint, 0).cast());
    }

    /// Reads and decodes link `word` of `slot` without validating it (for hints, and for
    /// links that were validated when they were written).
    ///
    /// # Safety
    /// `slot` is a free object whose word `word` was written with [`Links::write`] of this
    /// codec.
    #[inline(always)]
    unsafe fn read_unchecked(self, slot: *mut u8, word: usize) -> *mut u8 {
        let at = self.at(slot, word);
        // SAFETY: the caller guarantees the word was written.
        let raw = unsafe { at.read() };
        #[cfg(hardened)]
        let raw = raw.map_addr(|a| a ^ self.secret ^ at.addr());
        raw
    }

    /// Reads link `word` of the free object at `slot`; in hardened mode reports a link that
    /// does not decode to null or to a free object of the class.
    ///
    /// # Safety
    /// `slot` is a free object whose word `word` was written with [`Links::write`] of a codec
    /// of the same pool and class.
    #[inline(always)]
    pub(crate) unsafe fn read(self, slot: *mut u8, word: usize) -> *mut u8 {
        // SAFETY: the caller guarantees the word is readable and was written as a link.
        let next = unsafe { self.read_unchecked(slot, word) };
        #[cfg(hardened)]
        if let (Some((regions, class)), false) = (self.check, next.is_null()) {
            crate::hardened::check_link(regions, slot, next, class);
        }
        next
    }
}

/// Asks the CPU to bring the line at `addr` into its caches: a hint, any address will do.
#[inline(always)]
pub(crate) fn prefetch(addr: *mut u8) {
    // Inline assembly rather than `_mm_prefetch`, which needs the `sse` target feature that
    // soft-float targets such as `x86_64-unknown-none` lack (PREFETCHT0 is in every x86_64).
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: PREFETCHT0 never faults, whatever the address, and changes no memory, register
    // or flag.
    unsafe {
        core::arch::asm!(
            "prefetcht0 [{0}]",
            in(reg) addr.addr(),
            options(nostack, nomem, preserves_flags),
        );
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = addr;
}

/// A LIFO list of free objects with its length (a magazine, or a partial batch).
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) head: *mut u8,
    pub(crate) count: usize,
}

impl Batch {
    /// The empty list.
    pub(crate) const EMPTY: Batch = Batch {
        head: ptr::null_mut(),
        count: 0,
    };

    /// Pushes `obj`.
    ///
    /// # Safety
    /// `obj` is a free object of at least three words, aligned for a pointer, writable, and
    /// not in any list; the list was built with the same `links`.
    #[inline]
    pub(crate) unsafe fn push(&mut self, links: Links<'_>, obj: *mut u8) {
        // SAFETY: forwarded: `obj` is writable and free, `link` is its address.
        unsafe { self.push_linked(links, obj, obj) }
    }

    /// Pushes `obj`, writing its link words through `link` (the same address, possibly with
    /// the caller's narrower provenance, see `SlabPool::own`).
    ///
    /// # Safety
    /// As [`Batch::push`], and `link` is `obj`'s address, valid for writing three pointers.
    #[inline(always)]
    pub(crate) unsafe fn push_linked(&mut self, links: Links<'_>, obj: *mut u8, link: *mut u8) {
        debug_assert_eq!(obj.addr(), link.addr());
        // SAFETY: the caller guarantees `link` is writable, aligned and free; the head is null
        // or a free object of this list.
        unsafe { links.push_onto(link, self.head) };
        self.head = obj;
        self.count += 1;
    }

    /// Pops an object, or returns null when empty.
    ///
    /// # Safety
    /// Every object in the list is still free and was pushed with the same `links`.
    #[inline(always)]
    pub(crate) unsafe fn pop(&mut self, links: Links<'_>) -> *mut u8 {
        let head = self.head;
        if !head.is_null() {
            // SAFETY: `head` is a free object of this list; word 0 is its link.
            self.head = unsafe { links.read(head, 0) };
            self.count -= 1;
        }
        head
    }

    /// Takes the whole list, leaving it empty.
    #[inline]
    pub(crate) fn take(&mut self) -> Batch {
        core::mem::replace(self, Batch::EMPTY)
    }
}

/// A stack of full magazines (the depot of one class), linked through word 1 of each
/// magazine's head object.
#[derive(Debug)]
pub(crate) struct MagazineStack {
    head: *mut u8,
    pub(crate) len: usize,
}

impl MagazineStack {
    /// The empty stack.
    pub(crate) const EMPTY: MagazineStack = MagazineStack {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Pushes a non-empty magazine.
    ///
    /// # Safety
    /// `mag` is a non-empty list of free objects not in any other list, built with `links`,
    /// as is the stack.
    pub(crate) unsafe fn push(&mut self, links: Links<'_>, mag: Batch) {
        debug_assert!(!mag.head.is_null());
        // SAFETY: the head object is free and has a second word (objects are >= 64 bytes).
        unsafe { links.write(mag.head, 1, self.head) };
        self.head = mag.head;
        self.len += 1;
    }

    /// Pops a magazine of `count` objects (every magazine in the stack has the class's batch
    /// size), or `None` when empty.
    ///
    /// # Safety
    /// The stack was built with [`MagazineStack::push`] of magazines of `count` objects, with
    /// the same `links`.
    pub(crate) unsafe fn pop(&mut self, links: Links<'_>, count: usize) -> Option<Batch> {
        let head = self.head;
        if head.is_null() {
            return None;
        }
        // SAFETY: `head` heads a magazine in this stack; word 1 links the next magazine.
        self.head = unsafe { links.read(head, 1) };
        self.len -= 1;
        Some(Batch { head, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_lifo_and_magazines_keep_their_objects() {
        let links = Links::unchecked();
        let mut storage = [[0usize; 8]; 4];
        let objs: std::vec::Vec<*mut u8> =
            storage.iter_mut().map(|o| o.as_mut_ptr().cast()).collect();
        let mut b = Batch::EMPTY;
        // SAFETY: each object is a distinct, aligned 64-byte array owned by this test.
        unsafe {
            for &o in &objs {
                b.push(links, o);
            }
            assert_eq!(b.count, 4);
            let mut stack = MagazineStack::EMPTY;
            stack.push(links, b.take());
            assert!(b.head.is_null());
            let mut m = stack.pop(links, 4).unwrap();
            assert!(stack.pop(links, 4).is_none());
            for &o in objs.iter().rev() {
                assert_eq!(m.pop(links), o);
            }
            assert!(m.pop(links).is_null());
            assert_eq!(m.count, 0);
        }
    }
}
