//! The slow paths: exchanges between a CPU cache and the depot, uncached operations under the
//! class lock, the depot's policy (capacity and working-set decay), and the fallback heaps.
//!
//! # Depot decay
//! Each class counts its depot exchanges and remembers the fewest full magazines its depot
//! held since the last decay step (its low-water mark). Every
//! [`Config::depot_decay_period`](crate::Config::depot_decay_period) exchanges, the
//! magazines below that mark — not needed during a whole period — go back to their slabs
//! (and fully free slabs to the heap), except those holding the configured prefill. This is
//! Bonwick and Adams' working-set decay counted in exchanges rather than seconds: an idle
//! class keeps its depot until [`SlabPool::trim`] runs.

use core::alloc::Layout;
use core::ptr::{self, NonNull};

use super::SlabPool;
use super::held::HeldCache;
use crate::freelist::Batch;
use crate::hook::CpuHook;
use crate::slab::{ClassState, SlabLayer, add_locked};
use crate::sync::{Ordering, bump_owned};

impl<H: CpuHook> SlabPool<H> {
    /// Both magazines of the pinned cache are empty: get a full magazine from the depot (or
    /// the slabs) as the new loaded one, and hand out one object of it.
    #[cold]
    #[inline(never)]
    pub(super) fn refill(&self, held: HeldCache<'_>, class: usize, req: usize) -> *mut u8 {
        if !self.ready() {
            return ptr::null_mut();
        }
        let cache = held.cache();
        if cache.take_drain_request() {
            self.drain_held(held.proof());
        }
        let layer = self.layer(class);
        held.with_magazines(|m, first_use| {
            if first_use {
                self.saw_cpu(held.proof().cpu());
            }
            if m.loaded.count == 0 && m.previous.count > 0 {
                core::mem::swap(&mut m.loaded, &mut m.previous);
            }
            if m.loaded.count == 0 {
                self.classes[class].with(|st| {
                    m.loaded = self.depot_get(st, &layer);
                    st.outside = st.outside.wrapping_add(m.loaded.count);
                    if m.loaded.count > 0 {
                        add_locked(&self.counters[class].refills, 1);
                        // Counted before sampling, so the sample includes this object.
                        bump_owned(&cache.counters.misses, 1);
                        cache.count_alloc(req);
                        self.sample_peak(class, st);
                    }
                });
                // SAFETY: magazines hold free objects linked with the class's links.
                return unsafe { m.loaded.pop(layer.links) };
            }
            // SAFETY: as above.
            let obj = unsafe { m.loaded.pop(layer.links) };
            if !obj.is_null() {
                cache.count_alloc(req);
            }
            obj
        })
    }

    /// A full magazine (or a partial batch when the depot is empty) from the depot, the loose
    /// list or the slabs; empty when memory is exhausted.
    fn depot_get(&self, st: &mut ClassState, layer: &SlabLayer<'_>) -> Batch {
        let batch = self.batches[layer.class];
        // SAFETY: the class lock is held (the caller's `st`); depot magazines have `batch`
        // objects and every list uses the class's links.
        unsafe {
            if let Some(mag) = st.depot.pop(layer.links, batch) {
                self.depot_tick(st, layer);
                mag
            } else if st.loose.count > 0 {
                st.loose.take()
            } else {
                let mut b = Batch::EMPTY;
                layer.take(st, batch, &mut b);
                b
            }
        }
    }

    /// Puts a full magazine into the depot, or through it to the slabs when the depot is full.
    ///
    /// # Safety
    /// The class lock is held (`st`); `mag` holds `batch` free objects of the class.
    pub(super) unsafe fn depot_put(&self, st: &mut ClassState, layer: &SlabLayer<'_>, mag: Batch) {
        if st.depot.len < self.depot_caps[layer.class] {
            // SAFETY: forwarded.
            unsafe { st.depot.push(layer.links, mag) };
            self.depot_tick(st, layer);
        } else {
            // SAFETY: forwarded.
            unsafe { layer.give_back(st, mag, self.config.empty_slabs_kept) };
        }
    }

    /// Counts a depot exchange and runs a decay step every `depot_decay_period` exchanges.
    fn depot_tick(&self, st: &mut ClassState, layer: &SlabLayer<'_>) {
        st.depot_low = st.depot_low.min(st.depot.len);
        st.depot_ticks += 1;
        let period = self.config.depot_decay_period;
        if period == 0 || st.depot_ticks < period {
            return;
        }
        let class = layer.class;
        let spare = st.depot.len.saturating_sub(self.prefill_mags[class]);
        for _ in 0..st.depot_low.min(spare) {
            // SAFETY: the class lock is held; depot magazines hold `batch` free objects.
            unsafe {
                if let Some(mag) = st.depot.pop(layer.links, self.batches[class]) {
                    layer.give_back(st, mag, self.config.empty_slabs_kept);
                }
            }
        }
        st.depot_ticks = 0;
        st.depot_low = st.depot.len;
    }

    /// Returns `batch` (free objects of the class, any count) to the shared layer: through
    /// the loose list into full magazines for the depot.
    ///
    /// # Safety
    /// The class lock is held (`st`); `batch` holds free objects of the class.
    pub(super) unsafe fn put_objects(
        &self,
        st: &mut ClassState,
        layer: &SlabLayer<'_>,
        mut batch: Batch,
    ) {
        let full = self.batches[layer.class];
        loop {
            // SAFETY: forwarded: free objects linked with the class's links.
            let obj = unsafe { batch.pop(layer.links) };
            if obj.is_null() {
                return;
            }
            // SAFETY: `obj` is free and in no list now.
            unsafe { st.loose.push(layer.links, obj) };
            if st.loose.count >= full {
                let mag = st.loose.take();
                // SAFETY: a full magazine of free objects.
                unsafe { self.depot_put(st, layer, mag) };
            }
        }
    }

    #[cold]
    pub(super) fn alloc_uncached(&self, class: usize, req: usize) -> *mut u8 {
        if !self.ready() {
            return ptr::null_mut();
        }
        let layer = self.layer(class);
        self.classes[class].with(|st| {
            if st.loose.count == 0 {
                st.loose = self.depot_get(st, &layer);
            }
            // SAFETY: `loose` holds free objects of this class.
            let obj = unsafe { st.loose.pop(layer.links) };
            if !obj.is_null() {
                st.outside = st.outside.wrapping_add(1);
                let c = &self.counters[class];
                add_locked(&c.uncached_allocs, 1);
                add_locked(&c.uncached_req_in, req);
                self.sample_peak(class, st);
            }
            obj
        })
    }

    /// Both magazines of the pinned cache are full: hand the previous one to the depot (or
    /// through it to the slabs), make the loaded one previous, and start an empty one.
    ///
    /// # Safety
    /// `obj` is free, in no list; `link` is its address, writable for the link words.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn flush(
        &self,
        held: HeldCache<'_>,
        class: usize,
        obj: *mut u8,
        link: *mut u8,
        req: usize,
    ) {
        if !self.ready() {
            return;
        }
        let cache = held.cache();
        if cache.take_drain_request() {
            self.drain_held(held.proof());
        }
        let batch = self.batches[class];
        let layer = self.layer(class);
        held.with_magazines(|m, first_use| {
            if first_use {
                self.saw_cpu(held.proof().cpu());
            }
            if m.loaded.count >= batch {
                if m.previous.count == 0 {
                    core::mem::swap(&mut m.loaded, &mut m.previous);
                } else {
                    let full = m.previous.take();
                    self.classes[class].with(|st| {
                        st.outside = st.outside.wrapping_sub(full.count);
                        // SAFETY: the class lock is held; `full` is a full magazine of free
                        // objects of the class.
                        unsafe { self.depot_put(st, &layer, full) };
                        add_locked(&self.counters[class].flushes, 1);
                    });
                    m.previous = m.loaded.take();
                }
            }
            // SAFETY: the caller guarantees `obj` is free and in no list, `link` writable.
            unsafe { m.loaded.push_linked(layer.links, obj, link) };
            cache.count_free(req);
        });
    }

    /// # Safety
    /// `obj` (the pool's pointer) was handed out by this pool for `class` and is not used any
    /// more; `link` is its address, writable for the link words.
    #[cold]
    pub(super) unsafe fn free_uncached(
        &self,
        obj: *mut u8,
        link: *mut u8,
        class: usize,
        req: usize,
    ) {
        if !self.ready() {
            return;
        }
        let layer = self.layer(class);
        self.classes[class].with(|st| {
            // SAFETY: `obj` is free and in no list, `link` writable (caller contract).
            unsafe { st.loose.push_linked(layer.links, obj, link) };
            st.outside = st.outside.wrapping_sub(1);
            let c = &self.counters[class];
            add_locked(&c.uncached_frees, 1);
            add_locked(&c.uncached_req_out, req);
            if st.loose.count >= self.batches[class] {
                let full = st.loose.take();
                // SAFETY: the lock is held; `full` is a full magazine of free objects.
                unsafe { self.depot_put(st, &layer, full) };
            }
        });
    }

    /// A block from the first region's heap that can serve `layout`, trimming once before
    /// failing; null at once when no region's heap could ever hold it.
    #[cold]
    #[inline(never)]
    pub(super) fn alloc_large(&self, layout: Layout) -> *mut u8 {
        if !self.ready() || layout.size() > self.max_heap.load(Ordering::Relaxed) {
            return ptr::null_mut();
        }
        if let Some(p) = self.alloc_heap(layout) {
            return p;
        }
        self.trim();
        self.alloc_heap(layout).unwrap_or(ptr::null_mut())
    }

    fn alloc_heap(&self, layout: Layout) -> Option<*mut u8> {
        self.regions.iter().find_map(|r| {
            r.heap.with(|h| {
                let p = h.allocate_first_fit(layout).ok()?;
                self.fallback_bytes
                    .fetch_add(layout.size(), Ordering::Relaxed);
                Some(p.as_ptr())
            })
        })
    }

    /// # Safety
    /// `ptr` was returned by `alloc_large` with `layout` and is not used any more.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn free_large(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(hardened)]
        crate::hardened::check_large(&self.regions, ptr, layout.size());
        let Some(region) = self.regions.find(ptr.addr()) else {
            return;
        };
        // The caller's pointer: linked_list_allocator writes its hole header at the block start.
        let Some(ptr) = NonNull::new(ptr) else { return };
        region.heap.with(|h| {
            // SAFETY: the caller guarantees `ptr` came from this region's heap with `layout`.
            unsafe { h.deallocate(ptr, layout) };
        });
        self.fallback_bytes
            .fetch_sub(layout.size(), Ordering::Relaxed);
    }
}
