//! [`SlabPool`]: the allocator's state and the helpers every path shares. The paths live in
//! one file per concern: `init` (initialisation and regions), `held` (the proof that a
//! context may use a CPU index's caches), `fast` (the per-CPU fast path),
//! `slow` (depot and slab exchanges, the fallback heap), `reclaim` (trim and drains),
//! `sampling` (statistics) and `traits` (`GlobalAlloc` and `Allocator`).

use core::marker::PhantomData;
use core::ptr;

use crate::cache::{CpuCaches, CpuClassCache};
use crate::class::NUM_CLASSES;
use crate::config::Config;
use crate::freelist::Links;
use crate::hook::{CpuHook, DefaultHook};
use crate::regions::Regions;
use crate::slab::{ClassCounters, ClassState, SlabLayer};
use crate::spin::SpinLock;
use crate::sync::{AtomicPtr, AtomicU8, AtomicUsize, Ordering, loom_const_fn};

mod fast;
mod held;
mod init;
mod reclaim;
mod sampling;
mod slow;
mod traits;

const UNINIT: u8 = 0;
const INITIALISING: u8 = 1;
const READY: u8 = 2;

macro_rules! eight {
    ($e:expr) => {
        [$e, $e, $e, $e, $e, $e, $e, $e]
    };
}

/// A size-class slab pool for 64 B – 8 KiB objects with per-CPU magazine caches, over
/// `linked_list_allocator` heaps that own the regions and serve everything larger.
///
/// * A request `(size, align)` is served by the smallest class `>= max(size, align)`; every
///   object is aligned to its class size. Larger sizes or alignments go to a fallback heap.
/// * Zero-size requests: through [`GlobalAlloc`](core::alloc::GlobalAlloc) (where they are
///   not allowed) they get a 64-byte object; through
///   [`Allocator`](allocator_api2::alloc::Allocator) they get a dangling pointer aligned to
///   the layout, and freeing it does nothing.
/// * Exhaustion gives null or `AllocError`, never a panic. Before failing any request the
///   pool [trims](SlabPool::trim) once; a request larger than every region's heap fails at
///   once, without trimming.
/// * Before `init` has finished (and after a failed `init`), every allocation fails.
///
/// `H` says which per-CPU cache the caller may use; see [`CpuHook`]. Without it the pool uses
/// [`DefaultHook`](crate::DefaultHook): per-thread caches with the `std` feature, none without.
pub struct SlabPool<H: CpuHook = DefaultHook> {
    config: Config,
    batches: [usize; NUM_CLASSES],
    depot_caps: [usize; NUM_CLASSES],
    /// Magazines of each class's depot that hold the prefill (never decayed).
    prefill_mags: [usize; NUM_CLASSES],
    state: AtomicU8,
    /// Non-null once initialised (Release, after the first region is published and the
    /// prefill carved); every allocation path checks it first.
    caches: AtomicPtr<CpuCaches>,
    regions: Regions,
    /// Serialises `add_region` calls.
    growing: SpinLock<()>,
    /// Link-word secret of hardened mode (see `freelist::Links`).
    secret: AtomicUsize,
    /// One past the highest CPU index that used its caches (the stats sum over these).
    cpus_seen: AtomicUsize,
    /// Largest heap of any region: no request larger than this can ever be served.
    max_heap: AtomicUsize,
    classes: [SpinLock<ClassState>; NUM_CLASSES],
    counters: [ClassCounters; NUM_CLASSES],
    fallback_bytes: AtomicUsize,
    _hook: PhantomData<fn() -> H>,
}

impl<H: CpuHook> core::fmt::Debug for SlabPool<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SlabPool")
            .field("config", &self.config)
            .field("initialised", &self.ready())
            .field("regions", &self.regions.len())
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
            let mut prefill_mags = [0; NUM_CLASSES];
            let mut c = 0;
            while c < NUM_CLASSES {
                batches[c] = config.batch(c);
                depot_caps[c] = config.depot_cap(c);
                prefill_mags[c] = config.prefill[c] / batches[c];
                c += 1;
            }
            Self {
                config,
                batches,
                depot_caps,
                prefill_mags,
                state: AtomicU8::new(UNINIT),
                caches: AtomicPtr::new(ptr::null_mut()),
                regions: Regions::new(),
                growing: SpinLock::new(()),
                secret: AtomicUsize::new(0),
                cpus_seen: AtomicUsize::new(0),
                max_heap: AtomicUsize::new(0),
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

    /// Whether `init` has finished successfully.
    #[inline(always)]
    fn ready(&self) -> bool {
        !self.caches.load(Ordering::Acquire).is_null()
    }

    /// The link codec of `class`.
    #[inline(always)]
    fn links(&self, class: usize) -> Links<'_> {
        Links::new(self.secret(), &self.regions, class)
    }

    /// The link-word secret of hardened mode (0, not even loaded, in a plain build).
    #[inline(always)]
    fn secret(&self) -> usize {
        if cfg!(hardened) {
            self.secret.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// The link codec of `class`, whose colour mask the caller knows (a constant on the fast
    /// paths, see [`Links::with_colour`]).
    #[inline(always)]
    fn links_coloured(&self, class: usize, colour_mask: usize) -> Links<'_> {
        Links::with_colour(self.secret(), &self.regions, class, colour_mask)
    }

    fn layer(&self, class: usize) -> SlabLayer<'_> {
        SlabLayer {
            class,
            regions: &self.regions,
            links: self.links(class),
            counters: &self.counters[class],
        }
    }

    /// `ptr` with the provenance of the pool's regions. The pointer a caller hands back may
    /// only carry permission for the bytes of its layout (e.g. after a `Box` retag, in Stacked
    /// Borrows terms), while the pool writes free-list links, poison and heap headers anywhere
    /// in the object: it must use its own provenance for that. Every region's provenance is
    /// exposed when the region is added (see `Regions::publish`), so taking the exposed
    /// provenance of the address picks the region's for an object of the pool, with no lookup
    /// on the fast path. A pointer in no region keeps no usable provenance; hardened mode
    /// reports it before anything is written through it.
    #[inline(always)]
    fn own(&self, ptr: *mut u8) -> *mut u8 {
        ptr::with_exposed_provenance_mut(ptr.addr())
    }

    /// Cache of (`cpu`, `class`), if `cpu` has one and the pool is initialised.
    #[inline(always)]
    fn cache(&self, cpu: usize, class: usize) -> Option<&CpuClassCache> {
        let caches = self.caches.load(Ordering::Acquire);
        if cpu >= self.config.max_cpus || caches.is_null() {
            return None;
        }
        debug_assert!(class < NUM_CLASSES);
        // SAFETY: the pool is initialised, so `caches` has `max_cpus` entries, and
        // `cpu < max_cpus`; every class index the pool computes is `< NUM_CLASSES`.
        Some(unsafe {
            &*(&raw const (*caches.add(cpu)).classes)
                .cast::<CpuClassCache>()
                .add(class)
        })
    }

    /// Records that `cpu` uses its caches (the statistics sum over the CPUs seen).
    fn saw_cpu(&self, cpu: usize) {
        self.cpus_seen.fetch_max(cpu + 1, Ordering::Relaxed);
    }

    /// CPU indices that have used their caches.
    fn cpus_seen(&self) -> usize {
        self.cpus_seen
            .load(Ordering::Relaxed)
            .min(self.config.max_cpus)
    }
}

impl<H: CpuHook> Default for SlabPool<H> {
    fn default() -> Self {
        Self::new()
    }
}
