//! [`SlabPool`]: the allocator front end (fast paths, exchanges with the depot, the fallback
//! heap, initialisation, statistics).

use core::alloc::{GlobalAlloc, Layout};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};
use linked_list_allocator::Heap;

use crate::cache::CpuClassCache;
use crate::class::{NUM_CLASSES, class_index, class_size};
use crate::config::Config;
use crate::error::InitError;
use crate::freelist::Batch;
#[cfg(hardened)]
use crate::hardened;
use crate::hook::{CpuHook, NoCpuCache};
use crate::region::RegionLayout;
use crate::slab::{ClassCounters, ClassState, Region, SlabDesc, SlabLayer, add_locked};
use crate::spin::SpinLock;
use crate::stats::Stats;
use crate::sync::{AtomicPtr, AtomicU8, AtomicUsize, Ordering, bump_owned, loom_const_fn};

const UNINIT: u8 = 0;
const INITIALISING: u8 = 1;
const READY: u8 = 2;

macro_rules! eight {
    ($e:expr) => {
        [$e, $e, $e, $e, $e, $e, $e, $e]
    };
}

/// A size-class slab pool for 64 B – 8 KiB objects with per-CPU magazine caches, over a
/// `linked_list_allocator` heap that owns the whole region and serves everything larger.
///
/// * A request `(size, align)` is served by the smallest class `>= max(size, align)`; every
///   object is aligned to its class size. Larger sizes or alignments go to the fallback heap.
/// * Zero-size requests: through [`GlobalAlloc`] (where they are not allowed) they get a
///   64-byte object; through [`Allocator`] they get a dangling pointer aligned to the layout,
///   and freeing it does nothing.
/// * Exhaustion gives null ([`GlobalAlloc`]) or [`AllocError`] ([`Allocator`]), never a panic.
///   Before failing a fallback-heap request, the pool [trims](SlabPool::trim) once.
/// * Before `init`, every allocation fails.
///
/// `H` says which per-CPU cache the caller may use; see [`CpuHook`].
pub struct SlabPool<H: CpuHook = NoCpuCache> {
    config: Config,
    batches: [usize; NUM_CLASSES],
    depot_caps: [usize; NUM_CLASSES],
    state: AtomicU8,
    /// Non-null once initialised (Release); publishes every other region field.
    caches: AtomicPtr<CpuClassCache>,
    base: AtomicPtr<u8>,
    descs: AtomicPtr<SlabDesc>,
    n_descs: AtomicUsize,
    slab_base: AtomicUsize,
    heap_start: AtomicUsize,
    heap_end: AtomicUsize,
    /// One past the highest CPU index that used its caches (the stats sum over these).
    cpus_seen: AtomicUsize,
    heap: SpinLock<Heap>,
    classes: [SpinLock<ClassState>; NUM_CLASSES],
    counters: [ClassCounters; NUM_CLASSES],
    fallback_bytes: AtomicUsize,
    _hook: PhantomData<fn() -> H>,
}

impl<H: CpuHook> core::fmt::Debug for SlabPool<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SlabPool")
            .field("config", &self.config)
            .field(
                "initialised",
                &!self.caches.load(Ordering::Acquire).is_null(),
            )
            .finish_non_exhaustive()
    }
}

impl<H: CpuHook> SlabPool<H> {
    loom_const_fn! {
        /// An uninitialised pool with [`Config::DEFAULT`].
        pub fn new() -> Self {
            Self::with_config(Config::DEFAULT)
        }
    }

    loom_const_fn! {
        /// An uninitialised pool with `config`.
        pub fn with_config(config: Config) -> Self {
            let mut batches = [0; NUM_CLASSES];
            let mut depot_caps = [0; NUM_CLASSES];
            let mut c = 0;
            while c < NUM_CLASSES {
                batches[c] = config.batch(c);
                depot_caps[c] = config.depot_cap(c);
                c += 1;
            }
            Self {
                config,
                batches,
                depot_caps,
                state: AtomicU8::new(UNINIT),
                caches: AtomicPtr::new(ptr::null_mut()),
                base: AtomicPtr::new(ptr::null_mut()),
                descs: AtomicPtr::new(ptr::null_mut()),
                n_descs: AtomicUsize::new(0),
                slab_base: AtomicUsize::new(0),
                heap_start: AtomicUsize::new(0),
                heap_end: AtomicUsize::new(0),
                cpus_seen: AtomicUsize::new(0),
                heap: SpinLock::new(Heap::empty()),
                classes: eight!(SpinLock::new(ClassState::EMPTY)),
                counters: eight!(ClassCounters::new()),
                fallback_bytes: AtomicUsize::new(0),
                _hook: PhantomData,
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Initialises the pool over `region`, which it owns from now on. The region must start on
    /// a [`REGION_ALIGN`](crate::REGION_ALIGN)-byte (8) boundary (a byte array in a `static`
    /// may not: wrap it in a `#[repr(align(64))]` struct) and hold the metadata (`max_cpus × 512`
    /// bytes of caches, ~0.3 % for slab descriptors) plus two slabs (128 KiB), else a typed
    /// [`InitError`].
    pub fn init_from_slice(&self, region: &'static mut [MaybeUninit<u8>]) -> Result<(), InitError> {
        let len = region.len();
        let start = region.as_mut_ptr().cast::<u8>();
        // SAFETY: a `'static mut` slice is valid for reads and writes for the rest of the
        // program and nobody else can use it any more.
        unsafe { self.init(start, len) }
    }

    /// Initialises the pool over `[start, start + len)`: carves the per-CPU caches and slab
    /// descriptors from its start, gives the rest to the fallback heap, then carves the
    /// configured prefill. Errors leave the pool uninitialised (and leave the region unused).
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
        // alone.
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
        let plan = RegionLayout::compute(start.addr(), len, &self.config)?;
        // SAFETY: the plan's parts lie inside the region (checked by `compute`), their starts
        // are aligned for their types, and the caller gives us the region exclusively.
        let (caches, descs) = unsafe {
            let caches = start.add(plan.caches_off).cast::<CpuClassCache>();
            for i in 0..plan.n_caches {
                caches.add(i).write(CpuClassCache::new());
            }
            let descs = start.add(plan.descs_off).cast::<SlabDesc>();
            for i in 0..plan.n_descs {
                descs.add(i).write(SlabDesc::new());
            }
            (caches, descs)
        };
        // SAFETY: `[heap_off, heap_off + heap_len)` is inside the region, unused by the
        // metadata, and at least two slabs long.
        self.heap
            .with(|h| unsafe { h.init(start.add(plan.heap_off), plan.heap_len) });
        self.base.store(start, Ordering::Relaxed);
        self.descs.store(descs, Ordering::Relaxed);
        self.n_descs.store(plan.n_descs, Ordering::Relaxed);
        self.slab_base.store(plan.slab_base, Ordering::Relaxed);
        self.heap_start
            .store(start.addr() + plan.heap_off, Ordering::Relaxed);
        self.heap_end.store(start.addr() + len, Ordering::Relaxed);
        self.cpus_seen.store(0, Ordering::Relaxed);
        self.fallback_bytes.store(0, Ordering::Relaxed);
        let region = Region {
            base: start,
            descs,
            n_descs: plan.n_descs,
            slab_base: plan.slab_base,
        };
        for class in 0..NUM_CLASSES {
            if let Err(e) = self.prefill(class, region) {
                self.heap.with(|h| *h = Heap::empty());
                for (lock, counters) in self.classes.iter().zip(&self.counters) {
                    lock.with(|st| *st = ClassState::EMPTY);
                    counters.reset();
                }
                return Err(e);
            }
        }
        self.caches.store(caches, Ordering::Release);
        Ok(())
    }

    fn prefill(&self, class: usize, region: Region) -> Result<(), InitError> {
        let want = self.config.prefill[class];
        let batch = self.batches[class];
        let layer = self.layer(class, region);
        self.classes[class].with(|st| {
            let mut done = 0;
            while done < want {
                let mut b = Batch::EMPTY;
                // SAFETY: the lock is held and the region is initialised.
                unsafe { layer.take(st, batch.min(want - done), &mut b) };
                if b.count < batch.min(want - done) {
                    return Err(InitError::PrefillExhausted { class });
                }
                done += b.count;
                if b.count == batch {
                    // SAFETY: `b` is a full magazine of free objects.
                    unsafe { st.depot.push(b) };
                } else {
                    st.loose = b;
                }
            }
            Ok(())
        })
    }

    /// The region, if initialised.
    #[inline]
    fn region(&self) -> Option<Region> {
        if self.caches.load(Ordering::Acquire).is_null() {
            return None;
        }
        Some(Region {
            base: self.base.load(Ordering::Relaxed),
            descs: self.descs.load(Ordering::Relaxed),
            n_descs: self.n_descs.load(Ordering::Relaxed),
            slab_base: self.slab_base.load(Ordering::Relaxed),
        })
    }

    fn layer(&self, class: usize, region: Region) -> SlabLayer<'_> {
        SlabLayer {
            class,
            region,
            heap: &self.heap,
            counters: &self.counters[class],
        }
    }

    /// `ptr` re-derived from the region's provenance. The pointer a caller hands back may only
    /// carry permission for the bytes of its layout (e.g. after a `Box` retag, in Stacked
    /// Borrows terms), while the pool writes free-list links, poison and heap headers anywhere
    /// in the object: it must use its own provenance for that.
    #[inline(always)]
    fn own(&self, ptr: *mut u8) -> *mut u8 {
        self.base.load(Ordering::Relaxed).with_addr(ptr.addr())
    }

    /// Cache of (`cpu`, `class`), if `cpu` has one and the pool is initialised.
    #[inline(always)]
    fn cache(&self, cpu: usize, class: usize) -> Option<&CpuClassCache> {
        let caches = self.caches.load(Ordering::Acquire);
        if cpu >= self.config.max_cpus || caches.is_null() {
            return None;
        }
        // SAFETY: the pool is initialised, so `caches` has `max_cpus × NUM_CLASSES` entries,
        // and `cpu < max_cpus`, `class < NUM_CLASSES`.
        Some(unsafe { &*caches.add(cpu * NUM_CLASSES + class) })
    }

    // ---- allocation -------------------------------------------------------------------

    #[inline(always)]
    fn alloc_class(&self, class: usize) -> *mut u8 {
        // Perf-guard self-test only (`scripts/perf-guard.sh --selftest`): a handful of extra
        // instructions on the fast path, which the guard must report as a regression.
        #[cfg(zenslab_perf_selftest)]
        for i in 0..3 {
            core::hint::black_box(class + i);
        }
        let obj = match H::pin() {
            Some((cpu, token)) => {
                let obj = match self.cache(cpu, class) {
                    Some(cache) => {
                        // SAFETY: we hold the pin of `cpu`.
                        let obj = unsafe { cache.pop() };
                        if obj.is_null() {
                            self.refill(cache, class, cpu)
                        } else {
                            obj
                        }
                    }
                    None => self.alloc_uncached(class),
                };
                H::unpin(token);
                obj
            }
            None => self.alloc_uncached(class),
        };
        #[cfg(hardened)]
        if let (false, Some(region)) = (obj.is_null(), self.region()) {
            hardened::on_alloc(&region, obj, class);
        }
        obj
    }

    /// Both magazines of the pinned cache are empty: get a full magazine from the depot (or
    /// the slabs) as the new loaded one.
    #[cold]
    #[inline(never)]
    fn refill(&self, cache: &CpuClassCache, class: usize, cpu: usize) -> *mut u8 {
        let Some(region) = self.region() else {
            return ptr::null_mut();
        };
        let batch = self.batches[class];
        let layer = self.layer(class, region);
        // SAFETY: the caller holds the pin of `cpu`, the owner of `cache`.
        let obj = unsafe {
            cache.with_magazines(|m, first_use| {
                if first_use {
                    self.cpus_seen.fetch_max(cpu + 1, Ordering::Relaxed);
                }
                if m.loaded.count == 0 && m.previous.count > 0 {
                    core::mem::swap(&mut m.loaded, &mut m.previous);
                }
                if m.loaded.count == 0 {
                    self.classes[class].with(|st| {
                        if let Some(mag) = st.depot.pop(batch) {
                            m.loaded = mag;
                        } else if st.loose.count > 0 {
                            m.loaded = st.loose.take();
                        } else {
                            layer.take(st, batch, &mut m.loaded);
                        }
                        if m.loaded.count > 0 {
                            add_locked(&self.counters[class].refills, 1);
                        }
                    });
                }
                let obj = m.loaded.pop();
                if !obj.is_null() {
                    bump_owned(&cache.misses);
                }
                obj
            })
        };
        self.sample_peak(class);
        obj
    }

    #[cold]
    fn alloc_uncached(&self, class: usize) -> *mut u8 {
        let Some(region) = self.region() else {
            return ptr::null_mut();
        };
        let batch = self.batches[class];
        let layer = self.layer(class, region);
        let obj = self.classes[class].with(|st| {
            if st.loose.count == 0 {
                // SAFETY: the lock is held; depot magazines have `batch` objects.
                if let Some(mag) = unsafe { st.depot.pop(batch) } {
                    st.loose = mag;
                } else {
                    let mut b = Batch::EMPTY;
                    // SAFETY: the lock is held and the region is initialised.
                    unsafe { layer.take(st, batch, &mut b) };
                    st.loose = b;
                }
            }
            // SAFETY: `loose` holds free objects of this class.
            let obj = unsafe { st.loose.pop() };
            if !obj.is_null() {
                add_locked(&self.counters[class].uncached_allocs, 1);
            }
            obj
        });
        self.sample_peak(class);
        obj
    }

    #[cold]
    #[inline(never)]
    fn alloc_large(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = self.alloc_heap(layout) {
            return p;
        }
        self.trim();
        self.alloc_heap(layout).unwrap_or(ptr::null_mut())
    }

    fn alloc_heap(&self, layout: Layout) -> Option<*mut u8> {
        self.heap.with(|h| {
            let p = h.allocate_first_fit(layout).ok()?;
            add_locked(&self.fallback_bytes, layout.size());
            Some(p.as_ptr())
        })
    }

    // ---- free -------------------------------------------------------------------------

    /// # Safety
    /// `user` was handed out by this pool for `class` with a layout of `size` bytes and is not
    /// used any more.
    #[inline(always)]
    unsafe fn free_class(&self, user: *mut u8, size: usize, class: usize) {
        // Lists keep the pool's own pointer; the link word of the object being freed is
        // written through the caller's pointer when its layout covers it (see `own`).
        let obj = self.own(user);
        let link = if size >= core::mem::size_of::<usize>() {
            user
        } else {
            obj
        };
        #[cfg(hardened)]
        match self.region() {
            Some(region) => hardened::on_free(&region, obj, user, size, class),
            None => panic!(
                "alloc-pool: free of {:#x} into an uninitialised pool",
                obj.addr()
            ),
        }
        if let Some((cpu, token)) = H::pin() {
            if let Some(cache) = self.cache(cpu, class) {
                // SAFETY: we hold the pin of `cpu`; `obj` is free and in no list; `link` is
                // its address, writable for the link word.
                if !unsafe { cache.push(obj, link, self.batches[class]) } {
                    // SAFETY: as above.
                    unsafe { self.flush(cache, class, cpu, obj, link) };
                }
                H::unpin(token);
                return;
            }
            H::unpin(token);
        }
        // SAFETY: forwarded.
        unsafe { self.free_uncached(obj, link, class) }
    }

    /// Both magazines of the pinned cache are full: hand the previous one to the depot (or
    /// through it to the slabs), make the loaded one previous, and start an empty one.
    ///
    /// # Safety
    /// The caller holds the pin of `cpu`, the owner of `cache`; `obj` is free, in no list;
    /// `link` is its address, writable for the link word.
    #[cold]
    #[inline(never)]
    unsafe fn flush(
        &self,
        cache: &CpuClassCache,
        class: usize,
        cpu: usize,
        obj: *mut u8,
        link: *mut u8,
    ) {
        let Some(region) = self.region() else { return };
        let batch = self.batches[class];
        let layer = self.layer(class, region);
        // SAFETY: the caller holds the pin.
        unsafe {
            cache.with_magazines(|m, first_use| {
                if first_use {
                    self.cpus_seen.fetch_max(cpu + 1, Ordering::Relaxed);
                }
                if m.loaded.count >= batch {
                    if m.previous.count == 0 {
                        core::mem::swap(&mut m.loaded, &mut m.previous);
                    } else {
                        let full = m.previous.take();
                        self.classes[class].with(|st| {
                            if st.depot.len < self.depot_caps[class] {
                                st.depot.push(full);
                            } else {
                                layer.give_back(st, full, self.config.empty_slabs_kept);
                            }
                            add_locked(&self.counters[class].flushes, 1);
                        });
                        m.previous = m.loaded.take();
                    }
                }
                m.loaded.push_linked(obj, link);
                bump_owned(&cache.frees);
            })
        };
        self.sample_peak(class);
    }

    /// # Safety
    /// `obj` (the pool's pointer) was handed out by this pool for `class` and is not used any
    /// more; `link` is its address, writable for the link word.
    #[cold]
    unsafe fn free_uncached(&self, obj: *mut u8, link: *mut u8, class: usize) {
        let Some(region) = self.region() else { return };
        let batch = self.batches[class];
        let layer = self.layer(class, region);
        self.classes[class].with(|st| {
            // SAFETY: `obj` is free and in no list, `link` writable (caller contract).
            unsafe { st.loose.push_linked(obj, link) };
            add_locked(&self.counters[class].uncached_frees, 1);
            if st.loose.count >= batch {
                let full = st.loose.take();
                if st.depot.len < self.depot_caps[class] {
                    // SAFETY: `full` is a full magazine of free objects.
                    unsafe { st.depot.push(full) };
                } else {
                    // SAFETY: the lock is held; `full` holds free objects of this class.
                    unsafe { layer.give_back(st, full, self.config.empty_slabs_kept) };
                }
            }
        });
        self.sample_peak(class);
    }

    /// # Safety
    /// `ptr` was returned by `alloc_large` with `layout` and is not used any more.
    #[cold]
    #[inline(never)]
    unsafe fn free_large(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(hardened)]
        {
            let addr = ptr.addr();
            let (lo, hi) = (
                self.heap_start.load(Ordering::Relaxed),
                self.heap_end.load(Ordering::Relaxed),
            );
            if addr < lo || addr >= hi {
                panic!(
                    "alloc-pool: free of {addr:#x} as a {}-byte fallback block: the pool does not own this pointer",
                    layout.size()
                );
            }
            if let Some(region) = self.region() {
                hardened::on_free_large(&region, ptr, layout.size());
            }
        }
        // The caller's pointer: linked_list_allocator writes its hole header at the block start.
        let Some(ptr) = NonNull::new(ptr) else { return };
        self.heap.with(|h| {
            // SAFETY: the caller guarantees `ptr` came from this heap with `layout`.
            unsafe { h.deallocate(ptr, layout) };
            add_locked(&self.fallback_bytes, layout.size().wrapping_neg());
        });
    }

    // ---- maintenance and statistics ----------------------------------------------------

    /// Returns cached memory to the fallback heap: the calling context's own CPU caches (if
    /// its hook gives one), the depots, and every fully free slab, **including the prefill and
    /// the `empty_slabs_kept` reserve**. Other CPUs' caches are untouched (only their owners
    /// may touch them). Called automatically once before a fallback-heap request fails.
    pub fn trim(&self) {
        let Some(region) = self.region() else { return };
        if let Some((cpu, token)) = H::pin() {
            for class in 0..NUM_CLASSES {
                let Some(cache) = self.cache(cpu, class) else {
                    break;
                };
                let layer = self.layer(class, region);
                // SAFETY: we hold the pin of `cpu`.
                unsafe {
                    cache.with_magazines(|m, first_use| {
                        if first_use {
                            self.cpus_seen.fetch_max(cpu + 1, Ordering::Relaxed);
                        }
                        let (a, b) = (m.loaded.take(), m.previous.take());
                        self.classes[class].with(|st| {
                            layer.give_back(st, a, usize::MAX);
                            layer.give_back(st, b, usize::MAX);
                        });
                    })
                };
            }
            H::unpin(token);
        }
        for class in 0..NUM_CLASSES {
            let layer = self.layer(class, region);
            let batch = self.batches[class];
            self.classes[class].with(|st| {
                // SAFETY: the lock is held; the loose list and the depot hold free objects of
                // this class, depot magazines have `batch` objects.
                unsafe {
                    let loose = st.loose.take();
                    layer.give_back(st, loose, usize::MAX);
                    while let Some(mag) = st.depot.pop(batch) {
                        layer.give_back(st, mag, usize::MAX);
                    }
                    layer.release_empty(st);
                }
            });
        }
    }

    /// `live` of `class` summed over the counters (see [`Stats`] for its exactness).
    fn live(&self, class: usize) -> (usize, usize, usize, usize) {
        let c = &self.counters[class];
        let (mut allocs, mut frees, mut hits) = (
            c.uncached_allocs.load(Ordering::Relaxed),
            c.uncached_frees.load(Ordering::Relaxed),
            0usize,
        );
        let seen = self
            .cpus_seen
            .load(Ordering::Relaxed)
            .min(self.config.max_cpus);
        for cpu in 0..seen {
            if let Some(cache) = self.cache(cpu, class) {
                let h = cache.hits.load(Ordering::Relaxed);
                hits = hits.wrapping_add(h);
                allocs = allocs
                    .wrapping_add(h)
                    .wrapping_add(cache.misses.load(Ordering::Relaxed));
                frees = frees.wrapping_add(cache.frees.load(Ordering::Relaxed));
            }
        }
        (allocs, frees, allocs.saturating_sub(frees), hits)
    }

    fn sample_peak(&self, class: usize) {
        let (_, _, live, _) = self.live(class);
        self.counters[class]
            .peak_live
            .fetch_max(live, Ordering::Relaxed);
    }

    /// A snapshot of the counters; see [`Stats`] for what is exact when.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::empty();
        for (class, cs) in s.classes.iter_mut().enumerate() {
            self.sample_peak(class);
            let (allocs, frees, live, hits) = self.live(class);
            let c = &self.counters[class];
            cs.allocations = allocs as u64;
            cs.frees = frees as u64;
            cs.live = live as u64;
            cs.cache_hits = hits as u64;
            cs.peak_live = c.peak_live.load(Ordering::Relaxed).max(live) as u64;
            cs.depot_refills = c.refills.load(Ordering::Relaxed) as u64;
            cs.depot_flushes = c.flushes.load(Ordering::Relaxed) as u64;
            cs.slabs_held = c.slabs_held.load(Ordering::Relaxed) as u64;
            cs.carved = c.carved.load(Ordering::Relaxed) as u64;
        }
        s.fallback_bytes = self.fallback_bytes.load(Ordering::Relaxed) as u64;
        let (used, size) = self.heap.with(|h| (h.used(), h.size()));
        s.heap_used = used as u64;
        s.heap_size = size as u64;
        s
    }

    /// Reallocation shared by [`GlobalAlloc::realloc`] and the [`Allocator`] methods: stays
    /// in place when both layouts map to the same class.
    ///
    /// # Safety
    /// `ptr` is a live, non-zero-size block of this pool allocated with `old`; `new.size() > 0`.
    unsafe fn resize(
        &self,
        ptr: *mut u8,
        old: Layout,
        new: Layout,
        zero: bool,
    ) -> Option<(*mut u8, usize)> {
        let old_class = class_index(old.size(), old.align());
        let new_class = class_index(new.size(), new.align());
        if let (Some(a), Some(b)) = (old_class, new_class)
            && a == b
        {
            // The caller's pointer may only cover the old size; hand back one that covers the
            // whole object.
            let ptr = self.own(ptr);
            if zero && new.size() > old.size() {
                // SAFETY: the object has `class_size(a) >= new.size()` bytes.
                unsafe { ptr.add(old.size()).write_bytes(0, new.size() - old.size()) };
            }
            return Some((ptr, class_size(a)));
        }
        let (fresh, len) = match new_class {
            Some(c) => (self.alloc_class(c), class_size(c)),
            None => (self.alloc_large(new), new.size()),
        };
        if fresh.is_null() {
            return None;
        }
        // SAFETY: both blocks are live, distinct, and at least `min(old, new)` bytes long.
        unsafe {
            ptr::copy_nonoverlapping(ptr, fresh, old.size().min(new.size()));
            if zero && new.size() > old.size() {
                fresh
                    .add(old.size())
                    .write_bytes(0, new.size() - old.size());
            }
            GlobalAlloc::dealloc(self, ptr, old);
        }
        Some((fresh, len))
    }
}

impl<H: CpuHook> Default for SlabPool<H> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks come from slabs or the heap of the region, never overlap while live (each
// object is in exactly one list or handed out; the heap is locked), are aligned to their
// class size >= the layout's size and alignment (class_index) or by the heap to the layout;
// failures return null.
unsafe impl<H: CpuHook> GlobalAlloc for SlabPool<H> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_index(layout.size(), layout.align()) {
            Some(class) => self.alloc_class(class),
            None => self.alloc_large(layout),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class_index(layout.size(), layout.align()) {
            // SAFETY: the caller guarantees `ptr` came from `alloc` with `layout`, so from
            // this class.
            Some(class) => unsafe { self.free_class(ptr, layout.size(), class) },
            // SAFETY: as above, from the fallback heap.
            None => unsafe { self.free_large(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `GlobalAlloc::realloc`'s contract: `new_size > 0` and, rounded up to the
        // alignment, does not overflow `isize`.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `ptr` is a live block of this pool allocated with `layout`.
        unsafe { self.resize(ptr, layout, new, false) }.map_or(ptr::null_mut(), |(p, _)| p)
    }
}

fn dangling(layout: Layout) -> NonNull<[u8]> {
    let ptr = NonNull::new(ptr::without_provenance_mut::<u8>(layout.align()))
        .unwrap_or(NonNull::dangling());
    NonNull::slice_from_raw_parts(ptr, 0)
}

// SAFETY: as for `GlobalAlloc`; in addition the returned length is the whole object (class
// size) or the requested size, so any size between the request and it maps to the same class
// or heap block on free; zero-size blocks are dangling and never freed to the pool.
unsafe impl<H: CpuHook> Allocator for &SlabPool<H> {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout));
        }
        let (ptr, len) = match class_index(layout.size(), layout.align()) {
            Some(class) => (self.alloc_class(class), class_size(class)),
            None => (self.alloc_large(layout), layout.size()),
        };
        NonNull::new(ptr)
            .map(|p| NonNull::slice_from_raw_parts(p, len))
            .ok_or(AllocError)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the block was allocated by this pool with a layout that fits `layout`.
            unsafe { GlobalAlloc::dealloc(*self, ptr.as_ptr(), layout) }
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded `Allocator::grow` contract.
        unsafe { self.reshape(ptr, old, new, false) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded `Allocator::grow_zeroed` contract.
        unsafe { self.reshape(ptr, old, new, true) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded `Allocator::shrink` contract.
        unsafe { self.reshape(ptr, old, new, false) }
    }
}

impl<H: CpuHook> SlabPool<H> {
    /// Grow/shrink for the [`Allocator`] impl, handling zero sizes.
    ///
    /// # Safety
    /// `ptr` is a block of this pool currently allocated with a layout fitting `old`.
    unsafe fn reshape(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        zero: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let this = self;
        if old.size() == 0 {
            return if zero {
                (&this).allocate_zeroed(new)
            } else {
                (&this).allocate(new)
            };
        }
        if new.size() == 0 {
            // SAFETY: `ptr` is live with `old` (caller contract).
            unsafe { (&this).deallocate(ptr, old) };
            return Ok(dangling(new));
        }
        // SAFETY: `ptr` is live with `old`, both sizes are non-zero.
        let (p, len) = unsafe { self.resize(ptr.as_ptr(), old, new, zero) }.ok_or(AllocError)?;
        NonNull::new(p)
            .map(|p| NonNull::slice_from_raw_parts(p, len))
            .ok_or(AllocError)
    }
}
