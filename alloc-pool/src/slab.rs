//! The slab layer and the depot of one class, both under the class lock, plus the slab
//! descriptor table (metadata outside the objects, carved from the region at init).
//!
//! A slab is [`SLAB_SIZE`] bytes, aligned to [`SLAB_SIZE`], allocated from the fallback heap.
//! Its descriptor is found from any interior address as `(addr - slab_base) / SLAB_SIZE`, so
//! objects carry no header and a free can be validated (hardened mode) without touching the
//! object. Descriptor fields are atomics only so that hardened checks may read `class`
//! without the lock and so that loom sees every access; everything except the hardened bitmap
//! is written under the owning class lock (relaxed), and a slab changes class only through the
//! heap lock (class lock -> heap lock -> other class lock), which orders those writes.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use linked_list_allocator::Heap;

use crate::class::{SLAB_SIZE, class_size, objects_per_slab};
use crate::freelist::{Batch, MagazineStack};
use crate::spin::SpinLock;
#[cfg(hardened)]
use crate::sync::AtomicU64;
use crate::sync::{AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering, loom_const_fn};

/// `SlabDesc::class` of a descriptor whose slab is not allocated.
pub(crate) const NO_CLASS: u8 = u8::MAX;
const NONE: u32 = u32::MAX;
/// Words of the hardened allocation bitmap (one bit per object of the 64-byte class).
#[cfg(hardened)]
pub(crate) const BITMAP_WORDS: usize = SLAB_SIZE / 64 / 64;

/// Metadata of one slab-sized, slab-aligned stretch of the heap.
#[derive(Debug)]
pub(crate) struct SlabDesc {
    /// Class index, or [`NO_CLASS`].
    pub(crate) class: AtomicU8,
    /// Objects available in the slab layer (free list + never carved).
    avail: AtomicU32,
    /// Objects carved so far from the slab's start (the rest were never used).
    bump: AtomicU32,
    /// Partial-list links (descriptor indices).
    next: AtomicU32,
    prev: AtomicU32,
    /// Free list of returned objects (word 0 links).
    free_head: AtomicPtr<u8>,
    /// Hardened mode: bit set = object handed out to a user.
    #[cfg(hardened)]
    pub(crate) bits: [AtomicU64; BITMAP_WORDS],
}

impl SlabDesc {
    /// A descriptor of an unallocated slab.
    pub(crate) fn new() -> Self {
        Self {
            class: AtomicU8::new(NO_CLASS),
            avail: AtomicU32::new(0),
            bump: AtomicU32::new(0),
            next: AtomicU32::new(NONE),
            prev: AtomicU32::new(NONE),
            free_head: AtomicPtr::new(ptr::null_mut()),
            #[cfg(hardened)]
            bits: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Where the region's metadata and slabs are (copied out of the pool's atomics).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    /// Start of the region; every object pointer is derived from it (strict provenance).
    pub(crate) base: *mut u8,
    /// Descriptor table.
    pub(crate) descs: *const SlabDesc,
    /// Entries of the descriptor table.
    pub(crate) n_descs: usize,
    /// Address of descriptor 0's slab (slab-aligned).
    pub(crate) slab_base: usize,
}

impl Region {
    /// Descriptor index of the slab containing `addr`, if inside the table's range.
    #[inline]
    pub(crate) fn slab_index(&self, addr: usize) -> Option<usize> {
        let idx = addr.checked_sub(self.slab_base)? / SLAB_SIZE;
        (idx < self.n_descs).then_some(idx)
    }

    /// The descriptor `idx`.
    ///
    /// # Safety
    /// `idx < n_descs` and the region is initialised (the table outlives the pool's use).
    #[inline]
    pub(crate) unsafe fn desc(&self, idx: usize) -> &SlabDesc {
        debug_assert!(idx < self.n_descs);
        // SAFETY: the table has `n_descs` initialised entries for the pool's lifetime.
        unsafe { &*self.descs.add(idx) }
    }

    /// Pointer to the start of slab `idx`, with the region's provenance.
    #[inline]
    pub(crate) fn slab_ptr(&self, idx: usize) -> *mut u8 {
        self.base.with_addr(self.slab_base + idx * SLAB_SIZE)
    }
}

/// Counters of a class written under its lock (read by `stats()` without it).
#[derive(Debug)]
pub(crate) struct ClassCounters {
    pub(crate) uncached_allocs: AtomicUsize,
    pub(crate) uncached_frees: AtomicUsize,
    pub(crate) refills: AtomicUsize,
    pub(crate) flushes: AtomicUsize,
    pub(crate) slabs_held: AtomicUsize,
    pub(crate) carved: AtomicUsize,
    pub(crate) peak_live: AtomicUsize,
}

impl ClassCounters {
    loom_const_fn! {
        /// All zero.
        pub(crate) fn new() -> Self {
            Self {
                uncached_allocs: AtomicUsize::new(0),
                uncached_frees: AtomicUsize::new(0),
                refills: AtomicUsize::new(0),
                flushes: AtomicUsize::new(0),
                slabs_held: AtomicUsize::new(0),
                carved: AtomicUsize::new(0),
                peak_live: AtomicUsize::new(0),
            }
        }
    }

    /// Resets every counter (re-initialisation after a failed init).
    pub(crate) fn reset(&self) {
        for c in [
            &self.uncached_allocs,
            &self.uncached_frees,
            &self.refills,
            &self.flushes,
            &self.slabs_held,
            &self.carved,
            &self.peak_live,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Adds `n` to a counter written only under the class lock.
#[inline]
pub(crate) fn add_locked(counter: &AtomicUsize, n: usize) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// Shared state of one class, only reachable through its [`SpinLock`].
#[derive(Debug)]
pub(crate) struct ClassState {
    /// Free objects of uncached operations, fewer than a batch.
    pub(crate) loose: Batch,
    /// The depot: full magazines.
    pub(crate) depot: MagazineStack,
    /// Head of the list of slabs with available objects.
    partial: u32,
    /// Slabs on the partial list with every object available.
    empty_slabs: usize,
}

// SAFETY: the raw pointers point at free objects inside the pool's region, which any thread
// may use; the state is only touched under its lock.
unsafe impl Send for ClassState {}

impl ClassState {
    /// No objects, no slabs.
    pub(crate) const EMPTY: ClassState = ClassState {
        loose: Batch::EMPTY,
        depot: MagazineStack::EMPTY,
        partial: NONE,
        empty_slabs: 0,
    };
}

/// The slab layer of one class: a locked [`ClassState`] together with what it needs.
pub(crate) struct SlabLayer<'a> {
    pub(crate) class: usize,
    pub(crate) region: Region,
    pub(crate) heap: &'a SpinLock<Heap>,
    pub(crate) counters: &'a ClassCounters,
}

impl SlabLayer<'_> {
    /// Moves up to `n` available objects from the slabs into `out`, allocating slabs from the
    /// heap as needed; stops early when the heap is exhausted.
    ///
    /// # Safety
    /// `st` is this class's state (lock held) and the region is initialised.
    pub(crate) unsafe fn take(&self, st: &mut ClassState, n: usize, out: &mut Batch) {
        let size = class_size(self.class);
        let per_slab = objects_per_slab(self.class) as u32;
        while out.count < n {
            let idx = if st.partial != NONE {
                st.partial as usize
            } else if let Some(idx) = self.new_slab(st) {
                idx
            } else {
                return;
            };
            // SAFETY: indices on the partial list are valid table entries.
            let d = unsafe { self.region.desc(idx) };
            let mut avail = d.avail.load(Ordering::Relaxed);
            if avail == per_slab {
                st.empty_slabs -= 1;
            }
            let mut head = d.free_head.load(Ordering::Relaxed);
            while out.count < n && avail > 0 {
                let obj = if !head.is_null() {
                    let obj = head;
                    // SAFETY: objects on a slab's free list are free; word 0 links them.
                    head = unsafe { obj.cast::<*mut u8>().read() };
                    obj
                } else {
                    let bump = d.bump.load(Ordering::Relaxed);
                    d.bump.store(bump + 1, Ordering::Relaxed);
                    add_locked(&self.counters.carved, 1);
                    // SAFETY: `bump < per_slab` (avail > 0 and the free list is empty), so the
                    // object lies inside the slab.
                    unsafe { self.region.slab_ptr(idx).add(bump as usize * size) }
                };
                // SAFETY: `obj` is a free object of this class, not in any list any more.
                unsafe { out.push(obj) };
                avail -= 1;
            }
            d.free_head.store(head, Ordering::Relaxed);
            d.avail.store(avail, Ordering::Relaxed);
            if avail == 0 {
                // SAFETY: `idx` is on the partial list (it was its head).
                unsafe { self.unlink(st, idx) };
            }
        }
    }

    /// Returns every object of `batch` to its slab; slabs that become fully available beyond
    /// `keep` empty slabs go back to the heap.
    ///
    /// # Safety
    /// `st` is this class's state (lock held); every object of `batch` is a free object of
    /// this class from this region.
    pub(crate) unsafe fn give_back(&self, st: &mut ClassState, mut batch: Batch, keep: usize) {
        let per_slab = objects_per_slab(self.class) as u32;
        loop {
            // SAFETY: the batch holds free objects linked through word 0.
            let obj = unsafe { batch.pop() };
            if obj.is_null() {
                return;
            }
            let idx = self
                .region
                .slab_index(obj.addr())
                .expect("object outside the slab range");
            // SAFETY: `slab_index` checked the bound.
            let d = unsafe { self.region.desc(idx) };
            // SAFETY: `obj` is free and belongs to this slab.
            unsafe {
                obj.cast::<*mut u8>()
                    .write(d.free_head.load(Ordering::Relaxed))
            };
            d.free_head.store(obj, Ordering::Relaxed);
            let avail = d.avail.load(Ordering::Relaxed) + 1;
            d.avail.store(avail, Ordering::Relaxed);
            if avail == 1 {
                self.link(st, idx);
            }
            if avail == per_slab {
                if st.empty_slabs < keep {
                    st.empty_slabs += 1;
                } else {
                    // SAFETY: the slab is on the partial list with every object available.
                    unsafe { self.release(st, idx) };
                }
            }
        }
    }

    /// Returns every fully available slab to the heap.
    ///
    /// # Safety
    /// `st` is this class's state (lock held).
    pub(crate) unsafe fn release_empty(&self, st: &mut ClassState) {
        let per_slab = objects_per_slab(self.class) as u32;
        let mut idx = st.partial;
        while idx != NONE {
            // SAFETY: indices on the partial list are valid table entries.
            let d = unsafe { self.region.desc(idx as usize) };
            let next = d.next.load(Ordering::Relaxed);
            if d.avail.load(Ordering::Relaxed) == per_slab {
                st.empty_slabs -= 1;
                // SAFETY: the slab is on the partial list with every object available.
                unsafe { self.release(st, idx as usize) };
            }
            idx = next;
        }
    }

    fn new_slab(&self, st: &mut ClassState) -> Option<usize> {
        let layout = Layout::from_size_align(SLAB_SIZE, SLAB_SIZE).ok()?;
        let slab = self.heap.with(|h| h.allocate_first_fit(layout)).ok()?;
        let idx = self
            .region
            .slab_index(slab.as_ptr().addr())
            .expect("heap slab outside the table");
        // SAFETY: `slab_index` checked the bound.
        let d = unsafe { self.region.desc(idx) };
        d.avail
            .store(objects_per_slab(self.class) as u32, Ordering::Relaxed);
        d.bump.store(0, Ordering::Relaxed);
        d.free_head.store(ptr::null_mut(), Ordering::Relaxed);
        #[cfg(hardened)]
        for w in &d.bits {
            w.store(0, Ordering::Relaxed);
        }
        d.class.store(self.class as u8, Ordering::Release);
        self.link(st, idx);
        st.empty_slabs += 1;
        add_locked(&self.counters.slabs_held, 1);
        Some(idx)
    }

    /// # Safety
    /// Slab `idx` is on the partial list with every object available and counted out of
    /// `empty_slabs` by the caller.
    unsafe fn release(&self, st: &mut ClassState, idx: usize) {
        // SAFETY: the caller guarantees `idx` is on the partial list.
        unsafe { self.unlink(st, idx) };
        // SAFETY: `idx` is a valid entry (it was on the list).
        let d = unsafe { self.region.desc(idx) };
        d.class.store(NO_CLASS, Ordering::Release);
        let slab = NonNull::new(self.region.slab_ptr(idx)).expect("slab pointer is never null");
        let layout = Layout::from_size_align(SLAB_SIZE, SLAB_SIZE).expect("valid slab layout");
        // SAFETY: the slab was allocated from this heap with this layout by `new_slab`, and no
        // object of it is in use or in any list (every object is available).
        self.heap.with(|h| unsafe { h.deallocate(slab, layout) });
        add_locked(&self.counters.slabs_held, usize::MAX); // wrapping -1
    }

    fn link(&self, st: &mut ClassState, idx: usize) {
        // SAFETY: callers pass valid entries.
        let d = unsafe { self.region.desc(idx) };
        d.prev.store(NONE, Ordering::Relaxed);
        d.next.store(st.partial, Ordering::Relaxed);
        if st.partial != NONE {
            // SAFETY: the old head is a valid entry.
            unsafe { self.region.desc(st.partial as usize) }
                .prev
                .store(idx as u32, Ordering::Relaxed);
        }
        st.partial = idx as u32;
    }

    /// # Safety
    /// `idx` is on the partial list.
    unsafe fn unlink(&self, st: &mut ClassState, idx: usize) {
        // SAFETY: the caller guarantees `idx` is a valid, linked entry.
        let d = unsafe { self.region.desc(idx) };
        let (prev, next) = (
            d.prev.load(Ordering::Relaxed),
            d.next.load(Ordering::Relaxed),
        );
        if prev == NONE {
            st.partial = next;
        } else {
            // SAFETY: linked neighbours are valid entries.
            unsafe { self.region.desc(prev as usize) }
                .next
                .store(next, Ordering::Relaxed);
        }
        if next != NONE {
            // SAFETY: linked neighbours are valid entries.
            unsafe { self.region.desc(next as usize) }
                .prev
                .store(prev, Ordering::Relaxed);
        }
    }
}
