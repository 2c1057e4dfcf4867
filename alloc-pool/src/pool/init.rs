//! Initialisation and further regions.

use core::mem::MaybeUninit;

use linked_list_allocator::Heap;

use super::{INITIALISING, READY, SlabPool, UNINIT};
use crate::cache::CpuCaches;
use crate::class::NUM_CLASSES;
use crate::error::InitError;
use crate::freelist::Batch;
use crate::hook::CpuHook;
use crate::region::RegionLayout;
use crate::regions::RegionHeader;
use crate::slab::{ClassState, SlabDesc};
use crate::spin::SpinLock;
use crate::sync::Ordering;

/// A region carved by [`SlabPool::carve`], not yet published.
struct Carved {
    header: *mut RegionHeader,
    caches: *mut CpuCaches,
    heap_len: usize,
}

impl<H: CpuHook> SlabPool<H> {
    /// Initialises the pool over `region`, which it owns from now on. The region must start on
    /// a [`REGION_ALIGN`](crate::REGION_ALIGN)-byte (8) boundary (a byte array in a `static`
    /// may not: wrap it in a `#[repr(align(64))]` struct) and hold the metadata (a header,
    /// `max_cpus × 4 KiB` of caches, ~0.3 % for slab descriptors) plus two slabs (128 KiB),
    /// else a typed [`InitError`].
    pub fn init_from_slice(&self, region: &'static mut [MaybeUninit<u8>]) -> Result<(), InitError> {
        let len = region.len();
        let start = region.as_mut_ptr().cast::<u8>();
        // SAFETY: a `'static mut` slice is valid for reads and writes for the rest of the
        // program and nobody else can use it any more.
        unsafe { self.init(start, len) }
    }

    /// Initialises the pool over `[start, start + len)`: carves a header, the per-CPU caches
    /// and slab descriptors from its start, gives the rest to the region's fallback heap, then
    /// carves the configured prefill. No allocation succeeds before this returns `Ok`. Errors
    /// leave the pool uninitialised (it may be initialised again) and the region unused.
    ///
    /// # Safety
    /// If `start` is non-null, `[start, start + len)` must be valid for reads and writes,
    /// used by nothing else while the pool is in use, and outlive every use of the pool and of
    /// memory it handed out.
    pub unsafe fn init(&self, start: *mut u8, len: usize) -> Result<(), InitError> {
        if self
            .state
            .compare_exchange(UNINIT, INITIALISING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(InitError::AlreadyInitialized);
        }
        // SAFETY: forwarded caller contract; this thread won the state CAS, so it initialises
        // alone, and no allocation runs (the pool is not ready).
        let result = unsafe { self.init_exclusive(start, len) };
        self.state.store(
            if result.is_ok() { READY } else { UNINIT },
            Ordering::Release,
        );
        result
    }

    /// # Safety
    /// As [`SlabPool::init`], and the caller moved the state to `INITIALISING`.
    unsafe fn init_exclusive(&self, start: *mut u8, len: usize) -> Result<(), InitError> {
        // SAFETY: forwarded caller contract.
        let carved = unsafe { self.carve(start, len, self.config.max_cpus)? };
        self.secret
            .store(link_secret(self, start), Ordering::Relaxed);
        self.cpus_seen.store(0, Ordering::Relaxed);
        self.fallback_bytes.store(0, Ordering::Relaxed);
        self.max_heap.store(carved.heap_len, Ordering::Relaxed);
        // SAFETY: the header is initialised and lives in the caller's region.
        unsafe { self.regions.publish(carved.header)? };
        for class in 0..NUM_CLASSES {
            if let Err(e) = self.prefill(class) {
                self.regions.clear();
                for (lock, counters) in self.classes.iter().zip(&self.counters) {
                    lock.with(|st| *st = ClassState::EMPTY);
                    counters.reset();
                }
                return Err(e);
            }
        }
        self.caches.store(carved.caches, Ordering::Release);
        Ok(())
    }

    /// Gives the pool a further region after `init`, with the same checks as `init` (a typed
    /// [`InitError`] leaves the region unused). Its memory serves slabs and large blocks like
    /// the first region's; a single block never spans two regions. At most
    /// [`MAX_REGIONS`](crate::MAX_REGIONS) regions in all.
    ///
    /// # Safety
    /// As [`SlabPool::init`].
    pub unsafe fn add_region(&self, start: *mut u8, len: usize) -> Result<(), InitError> {
        if self.state.load(Ordering::Acquire) != READY {
            return Err(InitError::NotInitialized);
        }
        self.growing.with(|_| {
            if self.regions.len() >= crate::regions::MAX_REGIONS {
                return Err(InitError::TooManyRegions {
                    max: crate::regions::MAX_REGIONS,
                });
            }
            let end = start
                .addr()
                .checked_add(len)
                .ok_or(InitError::AddressOverflow)?;
            if self
                .regions
                .iter()
                .any(|r| start.addr() < r.end && r.base.addr() < end)
            {
                return Err(InitError::Overlaps { addr: start.addr() });
            }
            // SAFETY: forwarded caller contract; `growing` serialises the carve and publish.
            let carved = unsafe { self.carve(start, len, 0)? };
            // SAFETY: the header is initialised and lives in the caller's region.
            unsafe { self.regions.publish(carved.header)? };
            self.max_heap.fetch_max(carved.heap_len, Ordering::Relaxed);
            Ok(())
        })
    }

    /// [`SlabPool::add_region`] for a `'static` slice.
    pub fn add_region_from_slice(
        &self,
        region: &'static mut [MaybeUninit<u8>],
    ) -> Result<(), InitError> {
        let len = region.len();
        // SAFETY: a `'static mut` slice is valid for reads and writes for the rest of the
        // program and nobody else can use it any more.
        unsafe { self.add_region(region.as_mut_ptr().cast(), len) }
    }

    /// Plans `[start, start + len)` with caches for `cpus` indices and writes its header,
    /// caches, descriptors and heap.
    ///
    /// # Safety
    /// As [`SlabPool::init`].
    unsafe fn carve(&self, start: *mut u8, len: usize, cpus: usize) -> Result<Carved, InitError> {
        let plan = RegionLayout::compute(start.addr(), len, cpus)?;
        // SAFETY: the plan's parts lie inside the region (checked by `compute`), their starts
        // are aligned for their types, and the caller gives us the region exclusively.
        unsafe {
            let caches = start.add(plan.caches_off).cast::<CpuCaches>();
            for i in 0..plan.n_cpus {
                caches.add(i).write(CpuCaches::new());
            }
            let descs = start.add(plan.descs_off).cast::<SlabDesc>();
            for i in 0..plan.n_descs {
                descs.add(i).write(SlabDesc::new());
            }
            let mut heap = Heap::empty();
            heap.init(start.add(plan.heap_off), plan.heap_len);
            let header = start.add(plan.header_off).cast::<RegionHeader>();
            header.write(RegionHeader {
                base: start,
                end: start.addr() + len,
                descs,
                n_descs: plan.n_descs,
                slab_base: plan.slab_base,
                heap: SpinLock::new(heap),
            });
            Ok(Carved {
                header,
                caches,
                heap_len: plan.heap_len,
            })
        }
    }

    fn prefill(&self, class: usize) -> Result<(), InitError> {
        let want = self.config.prefill[class];
        let batch = self.batches[class];
        let layer = self.layer(class);
        self.classes[class].with(|st| {
            let mut done = 0;
            while done < want {
                let mut b = Batch::EMPTY;
                // SAFETY: the lock is held; `b` uses the class's links.
                unsafe { layer.take(st, batch.min(want - done), &mut b) };
                if b.count < batch.min(want - done) {
                    return Err(InitError::PrefillExhausted { class });
                }
                done += b.count;
                if b.count == batch {
                    // SAFETY: `b` is a full magazine of free objects.
                    unsafe { st.depot.push(layer.links, b) };
                } else {
                    st.loose = b;
                }
            }
            st.depot_low = st.depot.len;
            Ok(())
        })
    }
}

/// The hardened link secret of a pool: its own and its region's addresses, mixed
/// (splitmix64's finaliser). It makes stray writes decode to implausible links; it is not a
/// secret from code that can read the pool.
fn link_secret<T>(pool: &T, region: *mut u8) -> usize {
    let mut z = (core::ptr::from_ref(pool).addr() as u64)
        ^ (region.addr() as u64).rotate_left(29)
        ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as usize
}
