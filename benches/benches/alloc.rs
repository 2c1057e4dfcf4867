//! Allocator benchmarks (issue 2): `SlabPool<ThreadSlots>` against glibc, mimalloc, jemalloc,
//! talc and linked_list_allocator, every allocator used as an *instance* through `GlobalAlloc`,
//! all in the same run.
//!
//! Groups (function id = allocator: `zenslab` (`SlabPool<ThreadSlots>`), `zenslab_default`
//! (`SlabPool::new()`: the default hook, `ThreadSlots` with `std`), `zenslab_nocache`
//! (`SlabPool<NoCpuCache>`: no CPU cache, the default without `std`), `glibc`, `mimalloc`, `jemalloc`, `talc`,
//! `linked_list`):
//! - `alloc/pair/<size>` (align 8) and `alloc/pair/<size>a<align>`: one alloc + free.
//! - `alloc/free_<lifo|fifo|random>/<size>`: 1024 allocations of one class, then 1024 frees
//!   in that order (throughput = 2048 operations).
//! - `alloc/trace/mixed`: a seeded trace of 64 B – 8 KiB tensor-like sizes with overlapping
//!   lifetimes (same trace for every allocator).
//! - `alloc/local_threads/<1|2>`: each thread runs its own alloc/free loop; time per
//!   iteration = one operation pair per thread, so 2-thread scaling = 2 × t(1) / t(2).
//! - `alloc/producer_consumer/2`: one thread allocates, the other frees (SPSC ring between them).
//!
//! Run: `CARGO_TARGET_DIR=target-alloc cargo bench -p zenslab-benches --bench alloc`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use alloc_pool::{Config, NoCpuCache, SlabPool, ThreadSlots};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use zenslab_benches::workloads::{Rng, Trace};

/// Bytes of the region given to each region-based allocator.
const REGION: usize = 256 << 20;

fn leak_region() -> &'static mut [MaybeUninit<u8>] {
    Box::leak(Box::new_uninit_slice(REGION))
}

/// The pool a user gets without naming a hook: `SlabPool::new()` (with `std`, per-thread
/// caches through `ThreadSlots`).
fn zenslab_default() -> &'static SlabPool {
    static POOL: SlabPool = SlabPool::new();
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| POOL.init_from_slice(leak_region()).expect("pool init"));
    &POOL
}

/// The pool without any CPU cache (every operation under the class lock): what
/// `SlabPool::new()` is without `std`, e.g. in a kernel that implements no hook.
fn zenslab_nocache() -> &'static SlabPool<NoCpuCache> {
    static POOL: SlabPool<NoCpuCache> = SlabPool::new();
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| POOL.init_from_slice(leak_region()).expect("pool init"));
    &POOL
}

fn zenslab() -> &'static SlabPool<ThreadSlots> {
    static POOL: SlabPool<ThreadSlots> = SlabPool::with_config(Config::DEFAULT);
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| POOL.init_from_slice(leak_region()).expect("pool init"));
    &POOL
}

type Talc = talc::TalcLock<spinning_top::RawSpinlock, talc::source::Claim>;

fn talc() -> &'static Talc {
    static TALC: OnceLock<Talc> = OnceLock::new();
    TALC.get_or_init(|| {
        let region = leak_region();
        // SAFETY: the leaked region is valid, unused and lives forever.
        Talc::new(unsafe { talc::source::Claim::new(region.as_mut_ptr().cast(), region.len()) })
    })
}

fn linked_list() -> &'static linked_list_allocator::LockedHeap {
    static HEAP: OnceLock<linked_list_allocator::LockedHeap> = OnceLock::new();
    HEAP.get_or_init(|| {
        let heap = linked_list_allocator::LockedHeap::empty();
        heap.lock().init_from_slice(leak_region());
        heap
    })
}

/// A workload, generic over the allocator so every allocator gets a monomorphised loop.
trait Workload {
    fn run<A: GlobalAlloc + Sync + 'static>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        a: &'static A,
    );
}

/// Runs `w` for every allocator, in the same group.
fn for_each_allocator(c: &mut Criterion, group: &str, elements: Option<u64>, w: &impl Workload) {
    let mut g = c.benchmark_group(group);
    if let Some(n) = elements {
        g.throughput(Throughput::Elements(n));
    }
    w.run(&mut g, "zenslab", zenslab());
    w.run(&mut g, "zenslab_default", zenslab_default());
    w.run(&mut g, "zenslab_nocache", zenslab_nocache());
    w.run(&mut g, "glibc", &System);
    w.run(&mut g, "mimalloc", &mimalloc::MiMalloc);
    w.run(&mut g, "jemalloc", &tikv_jemallocator::Jemalloc);
    w.run(&mut g, "talc", talc());
    w.run(&mut g, "linked_list", linked_list());
    g.finish();
}

// ---- alloc + free pair ------------------------------------------------------------------

struct Pair(Layout);

impl Workload for Pair {
    fn run<A: GlobalAlloc + Sync + 'static>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        a: &'static A,
    ) {
        let l = self.0;
        g.bench_function(name, |b| {
            b.iter(|| {
                // SAFETY: non-zero size; freed at once with the same layout.
                unsafe {
                    let p = a.alloc(black_box(l));
                    assert!(!p.is_null());
                    a.dealloc(black_box(p), l);
                }
            })
        });
    }
}

// ---- 1024 allocations, then frees in an order ---------------------------------------------

const BATCH: usize = 1024;

struct FreeOrder {
    layout: Layout,
    /// Index order of the frees.
    order: Vec<usize>,
}

impl Workload for FreeOrder {
    fn run<A: GlobalAlloc + Sync + 'static>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        a: &'static A,
    ) {
        let l = self.layout;
        let mut blocks = vec![std::ptr::null_mut::<u8>(); BATCH];
        g.bench_function(name, |b| {
            b.iter(|| {
                for slot in blocks.iter_mut() {
                    // SAFETY: non-zero size; freed below.
                    *slot = unsafe { a.alloc(l) };
                    assert!(!slot.is_null());
                }
                for &i in &self.order {
                    // SAFETY: allocated above with `l`, freed once.
                    unsafe { a.dealloc(black_box(blocks[i]), l) };
                }
            })
        });
    }
}

fn orders() -> [(&'static str, Vec<usize>); 3] {
    let lifo: Vec<usize> = (0..BATCH).rev().collect();
    let fifo: Vec<usize> = (0..BATCH).collect();
    let mut random = fifo.clone();
    let mut rng = Rng(0x5EED_0001);
    for i in (1..BATCH).rev() {
        random.swap(i, rng.below(i + 1));
    }
    [("lifo", lifo), ("fifo", fifo), ("random", random)]
}

// ---- mixed tensor trace ---------------------------------------------------------------------

impl Workload for Trace {
    fn run<A: GlobalAlloc + Sync + 'static>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        a: &'static A,
    ) {
        let mut blocks = self.blocks();
        g.bench_function(name, |b| b.iter(|| self.replay(a, &mut blocks)));
    }
}

// ---- threads ---------------------------------------------------------------------------------

/// Sizes cycled by the thread workloads (one of each class).
const THREAD_SIZES: [usize; 8] = [64, 128, 256, 512, 1024, 2048, 4096, 8192];

/// Each of `threads` threads runs `iters` iterations of: allocate a block, free the block
/// allocated 8 iterations ago (a small live window, sizes cycling through the classes).
struct LocalThreads(usize);

fn local_loop<A: GlobalAlloc>(a: &A, iters: u64) {
    let mut window = [(std::ptr::null_mut::<u8>(), Layout::new::<u64>()); 8];
    for i in 0..iters as usize {
        let l = Layout::from_size_align(THREAD_SIZES[i % 8], 8).unwrap();
        // SAFETY: non-zero size; freed 8 iterations later or at the end.
        let p = unsafe { a.alloc(l) };
        assert!(!p.is_null());
        let old = std::mem::replace(&mut window[i % 8], (p, l));
        if !old.0.is_null() {
            // SAFETY: allocated 8 iterations ago with `old.1`.
            unsafe { a.dealloc(old.0, old.1) };
        }
    }
    for (p, l) in window {
        if !p.is_null() {
            // SAFETY: still live, allocated with `l`.
            unsafe { a.dealloc(p, l) };
        }
    }
}

impl Workload for LocalThreads {
    fn run<A: GlobalAlloc + Sync + 'static>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        a: &'static A,
    ) {
        let threads = self.0;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                timed_workers(threads, |_| local_loop(a, 64), |_| local_loop(a, iters))
            })
        });
    }
}

/// Runs `workers` threads: each runs `warm(i)`, waits at a barrier, then runs `work(i)`.
/// Returns the time from the first worker's start of `work` to the last one's end, taken by
/// the workers themselves: the spawning thread must not time them, because on a machine with
/// as many cores as workers it is woken from the barrier only after a worker gives up its core
/// (it read near-zero times for short runs and twice the real time for long ones, on the
/// 2-vCPU Intel Xeon VM).
fn timed_workers(
    workers: usize,
    warm: impl Fn(usize) + Sync,
    work: impl Fn(usize) + Sync,
) -> Duration {
    let barrier = Barrier::new(workers);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|i| {
                let (barrier, warm, work) = (&barrier, &warm, &work);
                s.spawn(move || {
                    warm(i);
                    barrier.wait();
                    let start = Instant::now();
                    work(i);
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let start = spans.iter().map(|s| s.0).min().unwrap();
    let end = spans.iter().map(|s| s.1).max().unwrap();
    end - start
}

/// Spin briefly, then yield: on a shared 2-core machine the peer may be descheduled, and
/// spinning through its whole time slice would measure the scheduler, not the allocator.
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 128 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// A bounded single-producer single-consumer ring of block pointers.
struct Ring {
    slots: Vec<AtomicPtr<u8>>,
    head: AtomicUsize,
    tail: AtomicUsize,
}

impl Ring {
    fn new(cap: usize) -> Self {
        Self {
            slots: (0..cap)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
        }
    }

    fn push(&self, p: *mut u8) {
        let tail = self.tail.load(Ordering::Relaxed);
        let mut spins = 0u32;
        while tail - self.head.load(Ordering::Acquire) == self.slots.len() {
            backoff(&mut spins);
        }
        self.slots[tail % self.slots.len()].store(p, Ordering::Relaxed);
        self.tail.store(tail + 1, Ordering::Release);
    }

    fn pop(&self) -> *mut u8 {
        let head = self.head.load(Ordering::Relaxed);
        let mut spins = 0u32;
        while self.tail.load(Ordering::Acquire) == head {
            backoff(&mut spins);
        }
        let p = self.slots[head % self.slots.len()].load(Ordering::Relaxed);
        self.head.store(head + 1, Ordering::Release);
        p
    }
}

struct ProducerConsumer;

impl Workload for ProducerConsumer {
    fn run<A: GlobalAlloc + Sync + 'static>(
        &self,
        g: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        a: &'static A,
    ) {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let ring = Ring::new(256);
                let layout =
                    |i: u64| Layout::from_size_align(THREAD_SIZES[i as usize % 8], 8).unwrap();
                let produce = || {
                    for i in 0..iters {
                        // SAFETY: non-zero size; the consumer frees it.
                        let p = unsafe { a.alloc(layout(i)) };
                        assert!(!p.is_null());
                        ring.push(p);
                    }
                };
                let consume = || {
                    for i in 0..iters {
                        let p = ring.pop();
                        // SAFETY: allocated by the producer with `layout(i)` (FIFO ring).
                        unsafe { a.dealloc(p, layout(i)) };
                    }
                };
                timed_workers(2, |_| {}, |i| if i == 0 { produce() } else { consume() })
            })
        });
    }
}

// ---- groups ------------------------------------------------------------------------------------

fn pairs(c: &mut Criterion) {
    for size in THREAD_SIZES {
        for_each_allocator(
            c,
            &format!("alloc/pair/{size}"),
            None,
            &Pair(Layout::from_size_align(size, 8).unwrap()),
        );
    }
    for (size, align) in [(4096, 64), (4096, 4096), (8192, 8192)] {
        let l = Layout::from_size_align(size, align).unwrap();
        for_each_allocator(c, &format!("alloc/pair/{size}a{align}"), None, &Pair(l));
    }
}

fn free_orders(c: &mut Criterion) {
    for size in [256, 4096] {
        for (order_name, order) in orders() {
            let w = FreeOrder {
                layout: Layout::from_size_align(size, 8).unwrap(),
                order,
            };
            for_each_allocator(
                c,
                &format!("alloc/free_{order_name}/{size}"),
                Some(2 * BATCH as u64),
                &w,
            );
        }
    }
}

fn trace(c: &mut Criterion) {
    let trace = Trace::tensor();
    let n = trace.len() as u64;
    for_each_allocator(c, "alloc/trace/mixed", Some(n), &trace);
}

fn threads(c: &mut Criterion) {
    for t in [1, 2] {
        for_each_allocator(
            c,
            &format!("alloc/local_threads/{t}"),
            Some(t as u64),
            &LocalThreads(t),
        );
    }
    for_each_allocator(c, "alloc/producer_consumer/2", Some(1), &ProducerConsumer);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(50);
    targets = pairs, free_orders, trace, threads
}
criterion_main!(benches);
