//! The slab layer and the depot of one class, both under the class lock, plus the slab
//! descriptor (metadata outside the objects, in a table carved from each region).
//!
//! A slab is [`SLAB_SIZE`] bytes, aligned to [`SLAB_SIZE`], allocated from a region's fallback
//! heap. Its descriptor is found from any interior address through the region header, so
//! objects carry no header and a free can be validated (hardened mode) without touching the
//! object. Descriptor fields are atomics only so that hardened checks may read `class`
//! without the lock and so that loom sees every access; everything except the hardened bitmap
//! is written under the owning class lock (relaxed), and a slab changes class only through the
//! heap lock (class lock -> heap lock -> other class lock), which orders those writes.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use crate::class::{SLAB_SIZE, class_size, objects_per_slab};
use crate::freelist::{Batch, Links, MagazineStack};
use crate::regions::Regions;
#[cfg(hardened)]
use crate::sync::AtomicU64;
use crate::sync::{AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering, loom_const_fn};

/// `SlabDesc::class` of a descriptor whose slab is not allocated.
pub(crate) const NO_CLASS: u8 = u8::MAX;
/// Words of the hardened allocation bitmap (one bit per object of the 64-byte class).
#[cfg(hardened)]
pub(crate) const BITMAP_WORDS: usize = SLAB_SIZE / 64 / 64;

/// Metadata of one slab-sized, slab-aligned stretch of a region's heap.
#[derive(Debug)]
pub(crate) struct SlabDesc {
    /// Class index, or [`NO_CLASS`].
    pub(crate) class: AtomicU8,
    /// Objects available in the slab layer (free list + never carved).
    avail: AtomicU32,
    /// Objects carved so far from the slab's start (the rest were never used).
    bump: AtomicU32,
    /// Start of the slab, with its region's provenance (set when the slab is allocated).
    slab: AtomicPtr<u8>,
    /// Partial-list links.
    next: AtomicPtr<SlabDesc>,
    prev: AtomicPtr<SlabDesc>,
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
            slab: AtomicPtr::new(ptr::null_mut()),
            next: AtomicPtr::new(ptr::null_mut()),
            prev: AtomicPtr::new(ptr::null_mut()),
            free_head: AtomicPtr::new(ptr::null_mut()),
            #[cfg(hardened)]
            bits: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Counters of a class written under its lock (read by `stats()` without it), except
/// `resized`, which in-place reallocations update with an atomic add.
#[derive(Debug)]
pub(crate) struct ClassCounters {
    pub(crate) uncached_allocs: AtomicUsize,
    pub(crate) uncached_frees: AtomicUsize,
    /// Bytes requested by uncached allocations / given back by uncached frees.
    pub(crate) uncached_req_in: AtomicUsize,
    pub(crate) uncached_req_out: AtomicUsize,
    /// Net change (wrapping) of requested bytes by in-place reallocations.
    pub(crate) resized: AtomicUsize,
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
                uncached_req_in: AtomicUsize::new(0),
                uncached_req_out: AtomicUsize::new(0),
                resized: AtomicUsize::new(0),
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
            &self.uncached_req_in,
            &self.uncached_req_out,
            &self.resized,
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

/// Shared state of one class, only reachable through its lock.
#[derive(Debug)]
pub(crate) struct ClassState {
    /// Free objects of uncached operations, fewer than a batch.
    pub(crate) loose: Batch,
    /// The depot: full magazines.
    pub(crate) depot: MagazineStack,
    /// Fewest magazines the depot held since the last decay step (its unused reserve).
    pub(crate) depot_low: usize,
    /// Depot exchanges since the last decay step.
    pub(crate) depot_ticks: usize,
    /// Objects outside this shared layer: handed out, or cached by a CPU (moved under this
    /// lock by every refill, flush, drain and uncached operation). Every live object is one
    /// of them, so `live <= outside`: a peak sample cannot raise `peak_live` while `outside`
    /// is at most the peak, and is skipped (see `SlabPool::sample_peak`).
    pub(crate) outside: usize,
    /// Head of the list of slabs with available objects.
    partial: *const SlabDesc,
    /// Slabs on the partial list with every object available.
    empty_slabs: usize,
}

// SAFETY: the raw pointers point at free objects and descriptors inside the pool's regions,
// which any thread may use; the state is only touched under its lock.
unsafe impl Send for ClassState {}

impl ClassState {
    /// No objects, no slabs.
    pub(crate) const EMPTY: ClassState = ClassState {
        loose: Batch::EMPTY,
        depot: MagazineStack::EMPTY,
        depot_low: 0,
        depot_ticks: 0,
        outside: 0,
        partial: ptr::null(),
        empty_slabs: 0,
    };
}

/// The slab layer of one class: a locked [`ClassState`] together with what it needs.
pub(crate) struct SlabLayer<'a> {
    pub(crate) class: usize,
    pub(crate) regions: &'a Regions,
    pub(crate) links: Links<'a>,
    pub(crate) counters: &'a ClassCounters,
}

impl SlabLayer<'_> {
    /// Moves up to `n` available objects from the slabs into `out`, allocating slabs from the
    /// regions' heaps as needed; stops early when every heap is exhausted.
    ///
    /// # Safety
    /// `st` is this class's state (lock held); `out` was built with this layer's links.
    pub(crate) unsafe fn take(&self, st: &mut ClassState, n: usize, out: &mut Batch) {
        let size = class_size(self.class);
        let per_slab = objects_per_slab(self.class) as u32;
        while out.count < n {
            let d = if !st.partial.is_null() {
                // SAFETY: descriptors on the partial list live in a published region.
                unsafe { &*st.partial }
            } else if let Some(d) = self.new_slab(st) {
                d
            } else {
                return;
            };
            let mut avail = d.avail.load(Ordering::Relaxed);
            if avail == per_slab {
                st.empty_slabs -= 1;
            }
            let slab = d.slab.load(Ordering::Relaxed);
            let mut head = d.free_head.load(Ordering::Relaxed);
            while out.count < n && avail > 0 {
                let obj = if !head.is_null() {
                    let obj = head;
                    // SAFETY: objects on a slab's free list are free; word 0 links them.
                    head = unsafe { self.links.read(obj, 0) };
                    obj
                } else {
                    let bump = d.bump.load(Ordering::Relaxed);
                    d.bump.store(bump + 1, Ordering::Relaxed);
                    add_locked(&self.counters.carved, 1);
                    // SAFETY: `bump < per_slab` (avail > 0 and the free list is empty), so the
                    // object lies inside the slab.
                    let obj = unsafe { slab.add(bump as usize * size) };
                    #[cfg(hardened)]
                    crate::hardened::poison_fresh(obj, self.class);
                    obj
                };
                // SAFETY: `obj` is a free object of this class, not in any list any more.
                unsafe { out.push(self.links, obj) };
                avail -= 1;
            }
            d.free_head.store(head, Ordering::Relaxed);
            d.avail.store(avail, Ordering::Relaxed);
            if avail == 0 {
                self.unlink(st, d);
            }
        }
    }

    /// Returns every object of `batch` to its slab; slabs that become fully available beyond
    /// `keep` empty slabs go back to their heap.
    ///
    /// # Safety
    /// `st` is this class's state (lock held); every object of `batch` is a free object of
    /// this class from this pool, linked with this layer's links.
    pub(crate) unsafe fn give_back(&self, st: &mut ClassState, mut batch: Batch, keep: usize) {
        let per_slab = objects_per_slab(self.class) as u32;
        loop {
            // SAFETY: the batch holds free objects linked through word 0.
            let obj = unsafe { batch.pop(self.links) };
            if obj.is_null() {
                return;
            }
            let (_, d) = self
                .regions
                .slab_of(obj.addr())
                .expect("object outside every region's slabs");
            // SAFETY: `obj` is free and belongs to this slab.
            unsafe {
                self.links
                    .write(obj, 0, d.free_head.load(Ordering::Relaxed))
            };
            d.free_head.store(obj, Ordering::Relaxed);
            let avail = d.avail.load(Ordering::Relaxed) + 1;
            d.avail.store(avail, Ordering::Relaxed);
            if avail == 1 {
                self.link(st, d);
            }
            if avail == per_slab {
                if st.empty_slabs < keep {
                    st.empty_slabs += 1;
                } else {
                    self.release(st, d);
                }
            }
        }
    }

    /// Returns every fully available slab to its heap.
    pub(crate) fn release_empty(&self, st: &mut ClassState) {
        let per_slab = objects_per_slab(self.class) as u32;
        let mut cur = st.partial;
        while !cur.is_null() {
            // SAFETY: descriptors on the partial list live in a published region.
            let d = unsafe { &*cur };
            let next = d.next.load(Ordering::Relaxed);
            if d.avail.load(Ordering::Relaxed) == per_slab {
                st.empty_slabs -= 1;
                self.release(st, d);
            }
            cur = next;
        }
    }

    fn new_slab(&self, st: &mut ClassState) -> Option<&SlabDesc> {
        let layout = Layout::from_size_align(SLAB_SIZE, SLAB_SIZE).ok()?;
        let (region, slab) = self.regions.iter().find_map(|r| {
            let slab = r.heap.with(|h| h.allocate_first_fit(layout)).ok()?;
            Some((r, slab))
        })?;
        let idx = region
            .slab_index(slab.as_ptr().addr())
            .expect("heap slab outside its region's table");
        let d = region.desc(idx);
        d.avail
            .store(objects_per_slab(self.class) as u32, Ordering::Relaxed);
        d.bump.store(0, Ordering::Relaxed);
        d.slab.store(region.slab_ptr(idx), Ordering::Relaxed);
        d.free_head.store(ptr::null_mut(), Ordering::Relaxed);
        #[cfg(hardened)]
        for w in &d.bits {
            w.store(0, Ordering::Relaxed);
        }
        d.class.store(self.class as u8, Ordering::Release);
        self.link(st, d);
        st.empty_slabs += 1;
        add_locked(&self.counters.slabs_held, 1);
        Some(d)
    }

    /// Gives slab `d` back to its heap. It is on the partial list with every object available
    /// and counted out of `empty_slabs` by the caller.
    fn release(&self, st: &mut ClassState, d: &SlabDesc) {
        self.unlink(st, d);
        d.class.store(NO_CLASS, Ordering::Release);
        let slab = d.slab.load(Ordering::Relaxed);
        let region = self
            .regions
            .find(slab.addr())
            .expect("slab outside every region");
        let slab = NonNull::new(slab).expect("slab pointer is never null");
        let layout = Layout::from_size_align(SLAB_SIZE, SLAB_SIZE).expect("valid slab layout");
        // SAFETY: the slab was allocated from this region's heap with this layout by
        // `new_slab`, and no object of it is in use or in any list (every object is available).
        region.heap.with(|h| unsafe { h.deallocate(slab, layout) });
        add_locked(&self.counters.slabs_held, usize::MAX); // wrapping -1
    }

    fn link(&self, st: &mut ClassState, d: &SlabDesc) {
        d.prev.store(ptr::null_mut(), Ordering::Relaxed);
        d.next.store(st.partial.cast_mut(), Ordering::Relaxed);
        if !st.partial.is_null() {
            // SAFETY: the old head is a live descriptor.
            unsafe { &*st.partial }
                .prev
                .store(ptr::from_ref(d).cast_mut(), Ordering::Relaxed);
        }
        st.partial = d;
    }

    /// Removes `d` (on the partial list) from the list.
    fn unlink(&self, st: &mut ClassState, d: &SlabDesc) {
        let (prev, next) = (
            d.prev.load(Ordering::Relaxed),
            d.next.load(Ordering::Relaxed),
        );
        if prev.is_null() {
            st.partial = next;
        } else {
            // SAFETY: linked neighbours are live descriptors.
            unsafe { &*prev }.next.store(next, Ordering::Relaxed);
        }
        if !next.is_null() {
            // SAFETY: linked neighbours are live descriptors.
            unsafe { &*next }.prev.store(prev, Ordering::Relaxed);
        }
    }
}
