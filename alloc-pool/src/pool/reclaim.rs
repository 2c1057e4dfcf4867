//! Giving memory back: draining CPU caches into the depot, and trimming depots and free slabs
//! back to the heaps.
//!
//! Only the context that holds a CPU index may touch that index's caches. So the pool drains
//! another index in one of three ways: the calling context holds it (its own pin); the hook
//! lends it because nobody uses it ([`CpuHook::try_claim`]: an exited thread's slot, an
//! offline CPU); or the pool leaves a *drain request* that the index's owner honours at its
//! next slow path (its next depot exchange on any class). A kernel that can run code on a
//! CPU, or knows a CPU is offline, can also call [`SlabPool::drain_cpu`] for it.

use super::SlabPool;
use super::held::{Held, Proof};
use crate::class::NUM_CLASSES;
use crate::hook::CpuHook;

impl<H: CpuHook> SlabPool<H> {
    /// Returns cached memory to the heaps: drains the calling context's caches and every
    /// other CPU index the hook lends ([`CpuHook::try_claim`]), leaves a drain request for the
    /// indices in use (see [`SlabPool::request_drain`]), then empties the depots and returns
    /// every fully free slab, **including the prefill and the `empty_slabs_kept` reserve**.
    /// Runs automatically once before any request fails.
    pub fn trim(&self) {
        if !self.ready() {
            return;
        }
        self.drain_all();
        for class in 0..NUM_CLASSES {
            let layer = self.layer(class);
            let batch = self.batches[class];
            self.classes[class].with(|st| {
                // SAFETY: the lock is held; the loose list and the depot hold free objects of
                // this class, depot magazines have `batch` objects.
                unsafe {
                    let loose = st.loose.take();
                    layer.give_back(st, loose, usize::MAX);
                    while let Some(mag) = st.depot.pop(layer.links, batch) {
                        layer.give_back(st, mag, usize::MAX);
                    }
                }
                layer.release_empty(st);
                st.depot_low = 0;
            });
        }
    }

    /// Drains every CPU cache the caller can reach now and requests a drain of the others.
    fn drain_all(&self) {
        let mine = Held::<H>::pin();
        if let Some(held) = &mine {
            self.drain_held(held.proof());
        }
        for cpu in 0..self.cpus_seen() {
            if mine.as_ref().is_some_and(|held| held.cpu() == cpu) {
                continue;
            }
            match Held::<H>::claim(cpu) {
                Some(lent) => self.drain_held(lent.proof()),
                None => self.request_drain(cpu),
            }
        }
    }

    /// Asks the context owning CPU index `cpu` to drain its caches into the depot at its next
    /// slow path (its next exchange with the depot on any class). Does nothing for an index
    /// without caches.
    pub fn request_drain(&self, cpu: usize) {
        for class in 0..NUM_CLASSES {
            if let Some(cache) = self.cache(cpu, class) {
                cache
                    .counters
                    .drain
                    .store(true, crate::sync::Ordering::Release);
            }
        }
    }

    /// Moves every object cached by CPU index `cpu` into the depot (full magazines) and the
    /// loose lists, from where any CPU can use them and [`SlabPool::trim`] can return them.
    ///
    /// # Safety
    /// No other execution context may use index `cpu` of this pool during the call (the
    /// caller runs on that CPU with its hook's pin conditions met, e.g. interrupts off, or the
    /// CPU is offline), and every earlier use of it must happen-before the call.
    pub unsafe fn drain_cpu(&self, cpu: usize) {
        if self.ready() {
            // SAFETY: forwarded caller contract.
            let held = unsafe { Held::<H>::assume(cpu) };
            self.drain_held(held.proof());
        }
    }

    /// Drains every class cache of the held index into the shared layer and clears its drain
    /// requests.
    pub(super) fn drain_held(&self, proof: Proof<'_>) {
        for class in 0..NUM_CLASSES {
            let Some(cache) = self.held_cache(proof, class) else {
                return;
            };
            let _ = cache.cache().take_drain_request();
            let layer = self.layer(class);
            cache.with_magazines(|m, first_use| {
                if first_use {
                    self.saw_cpu(proof.cpu());
                }
                let (a, b) = (m.loaded.take(), m.previous.take());
                if a.count + b.count > 0 {
                    self.classes[class].with(|st| {
                        st.outside = st.outside.wrapping_sub(a.count + b.count);
                        // SAFETY: the class lock is held; magazines hold free objects of the
                        // class.
                        unsafe {
                            self.put_objects(st, &layer, a);
                            self.put_objects(st, &layer, b);
                        }
                    });
                }
            });
        }
    }
}

#[cfg(all(feature = "std", not(loom)))]
impl SlabPool<crate::ThreadSlots> {
    /// Makes every thread hand its caches of this pool to the depot when it exits (before it
    /// gives its slot back), so an exited thread's objects serve the others at once. Returns
    /// `false` if [`MAX_EXIT_FLUSH_POOLS`](crate::MAX_EXIT_FLUSH_POOLS) pools are already
    /// registered (the caches of exited threads are then still drained by
    /// [`SlabPool::trim`], which borrows free slots).
    pub fn flush_on_thread_exit(&'static self) -> bool {
        crate::thread_slots::register_exit_flush(self)
    }
}
