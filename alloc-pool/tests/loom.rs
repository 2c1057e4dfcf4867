//! loom models of the concurrent protocols, on small pool instances (loom cannot check a
//! process's `#[global_allocator]`). Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p alloc-pool --release --test loom`.
#![cfg(loom)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::mem::MaybeUninit;

use alloc_pool::{Config, CpuHook, SlabPool};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

loom::thread_local! {
    static CPU: Cell<Option<usize>> = Cell::new(None);
}

/// Each loom thread picks its own index with `set_cpu` (distinct per thread, like CPUs).
struct LoomCpu;

// SAFETY: every model gives its threads distinct indices (or `None`), so an index is never
// used by two threads at once; handing an index to a new thread happens after `join`.
unsafe impl CpuHook for LoomCpu {
    type Token = ();
    fn pin() -> Option<(usize, ())> {
        CPU.with(Cell::get).map(|c| (c, ()))
    }
    fn unpin(_: ()) {}
}

fn set_cpu(cpu: Option<usize>) {
    CPU.with(|c| c.set(cpu));
}

/// A pointer that may cross threads (the pool allows freeing anywhere).
#[derive(Clone, Copy)]
struct Obj(*mut u8);
// SAFETY: the block is owned by whoever holds the value.
unsafe impl Send for Obj {}
// SAFETY: as above; the tests never use one block from two threads at once.
unsafe impl Sync for Obj {}

const REGION: usize = 256 * 1024;
/// Magazines of one object: every second operation exchanges with the depot.
const CONFIG: Config = Config {
    max_cpus: 2,
    magazine_size: 1,
    depot_magazines: 1,
    ..Config::DEFAULT
};

/// `loom::model` with room for the pool's bookkeeping atomics (statistics, region lookups)
/// in one execution; preemptions stay bounded by `LOOM_MAX_PREEMPTIONS`.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 20_000;
    builder.check(f);
}

fn l() -> Layout {
    Layout::from_size_align(64, 8).unwrap()
}

/// Runs `f` with a fresh pool over a fresh region (freed after the pool).
fn with_pool(f: impl FnOnce(Arc<SlabPool<LoomCpu>>)) {
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(REGION / 8);
    let pool = Arc::new(SlabPool::<LoomCpu>::with_config(CONFIG));
    // SAFETY: the buffer is valid for REGION bytes and outlives every use of the pool.
    unsafe { pool.init(mem.as_mut_ptr().cast(), REGION) }.unwrap();
    f(pool);
    drop(mem);
}

/// Allocates, tags, checks the tag, frees: detects two threads getting the same object.
fn churn(pool: &SlabPool<LoomCpu>, tag: u8, rounds: usize) {
    for _ in 0..rounds {
        // SAFETY: non-zero size; the block is freed below.
        unsafe {
            let a = pool.alloc(l());
            let b = pool.alloc(l());
            assert!(!a.is_null() && !b.is_null() && a != b);
            a.add(32).write(tag);
            b.add(32).write(tag);
            thread::yield_now();
            assert_eq!(
                (a.add(32).read(), b.add(32).read()),
                (tag, tag),
                "object shared between threads"
            );
            pool.dealloc(a, l());
            pool.dealloc(b, l());
        }
    }
}

#[test]
fn cache_depot_exchange_two_cpus() {
    model(|| {
        with_pool(|pool| {
            let p2 = pool.clone();
            let t = thread::spawn(move || {
                set_cpu(Some(1));
                churn(&p2, 1, 1);
            });
            set_cpu(Some(0));
            churn(&pool, 0, 1);
            t.join().unwrap();
            let s = pool.stats();
            assert_eq!((s.classes[0].allocations, s.classes[0].live), (4, 0));
        });
    });
}

#[test]
fn cross_thread_free_lands_in_the_freeing_cache() {
    model(|| {
        with_pool(|pool| {
            set_cpu(Some(0));
            // SAFETY: non-zero size; each block is freed exactly once, by the other thread (the
            // third free hands a full magazine to the depot under the class lock).
            let objs = unsafe {
                [
                    Obj(pool.alloc(l())),
                    Obj(pool.alloc(l())),
                    Obj(pool.alloc(l())),
                ]
            };
            let p2 = pool.clone();
            let t = thread::spawn(move || {
                set_cpu(Some(1));
                for o in objs {
                    // SAFETY: allocated by thread 0 with `l()`, handed over by the spawn.
                    unsafe { p2.dealloc(o.0, l()) };
                }
            });
            // Meanwhile CPU 0 keeps exchanging with the depot.
            churn(&pool, 0, 1);
            t.join().unwrap();
            let s = pool.stats().classes[0];
            assert_eq!((s.allocations, s.frees, s.live), (5, 5, 0));
            // The objects freed on CPU 1 are reusable (through CPU 1's cache or the depot).
            set_cpu(Some(1));
            // SAFETY: non-zero size; freed at once.
            unsafe {
                let a = pool.alloc(l());
                assert!(objs.iter().any(|o| o.0 == a), "CPU 1 reuses what it freed");
                pool.dealloc(a, l());
            }
        });
    });
}

#[test]
fn uncached_and_cached_threads_share_the_depot() {
    model(|| {
        with_pool(|pool| {
            let p2 = pool.clone();
            let t = thread::spawn(move || {
                set_cpu(None); // no cache: straight to the depot under the class lock
                churn(&p2, 1, 1);
            });
            set_cpu(Some(0));
            churn(&pool, 0, 1);
            t.join().unwrap();
            assert_eq!(pool.stats().classes[0].live, 0);
        });
    });
}

#[test]
fn drain_request_races_with_the_owner() {
    model(|| {
        with_pool(|pool| {
            let p2 = pool.clone();
            let t = thread::spawn(move || {
                set_cpu(Some(1));
                churn(&p2, 1, 1);
            });
            set_cpu(Some(0));
            pool.request_drain(1);
            t.join().unwrap();
            // CPU 1 is idle now: drain it explicitly, then everything goes back.
            // SAFETY: the thread that used index 1 has been joined.
            unsafe { pool.drain_cpu(1) };
            pool.trim();
            let s = pool.stats().classes[0];
            assert_eq!((s.live, s.slabs_held), (0, 0));
        });
    });
}

loom::lazy_static! {
    /// Which indices of [`ClaimCpu`] a thread holds (like `ThreadSlots`' slot table).
    static ref SLOTS: [AtomicBool; 2] =
        [AtomicBool::new(false), AtomicBool::new(false)];
}

/// A hook whose indices are claimed and released like `ThreadSlots`' slots, and lent to
/// `try_claim` while free (an exited thread's cache).
struct ClaimCpu;

fn claim_cpu(i: usize) {
    while SLOTS[i]
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        thread::yield_now();
    }
    CPU.with(|c| c.set(Some(i)));
}

fn leave_cpu(i: usize) {
    CPU.with(|c| c.set(None));
    SLOTS[i].store(false, Ordering::Release);
}

// SAFETY: an index is used only by the thread that claimed it in `SLOTS` (Acquire CAS) until it
// releases it (Release store); `try_claim` takes a free index the same way.
unsafe impl CpuHook for ClaimCpu {
    type Token = ();
    fn pin() -> Option<(usize, ())> {
        CPU.with(Cell::get).map(|c| (c, ()))
    }
    fn unpin(_: ()) {}
    fn try_claim(i: usize) -> Option<()> {
        SLOTS
            .get(i)?
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| ())
    }
    fn release_claim(i: usize, _: ()) {
        SLOTS[i].store(false, Ordering::Release);
    }
}

#[test]
fn trim_drains_an_exited_threads_cache() {
    model(|| {
        let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(REGION / 8);
        let pool = Arc::new(SlabPool::<ClaimCpu>::with_config(CONFIG));
        // SAFETY: the buffer is valid for REGION bytes and outlives every use of the pool.
        unsafe { pool.init(mem.as_mut_ptr().cast(), REGION) }.unwrap();
        let p2 = pool.clone();
        let t = thread::spawn(move || {
            claim_cpu(0);
            // SAFETY: non-zero size; freed right away (into this thread's cache).
            unsafe {
                let a = p2.alloc(l());
                let b = p2.alloc(l());
                p2.dealloc(a, l());
                p2.dealloc(b, l());
            }
            leave_cpu(0);
        });
        pool.trim(); // races with the thread: drains index 0 if free, else requests a drain
        t.join().unwrap();
        pool.trim(); // the thread has exited: its index is lent and drained
        let s = pool.stats().classes[0];
        assert_eq!(
            (s.live, s.slabs_held),
            (0, 0),
            "the exited thread's cache came back"
        );
        drop(pool);
        drop(mem);
    });
}

#[test]
fn init_races_with_allocation() {
    model(|| {
        let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(REGION / 8);
        let pool = Arc::new(SlabPool::<LoomCpu>::with_config(CONFIG));
        let p2 = pool.clone();
        let big = Layout::from_size_align(20_000, 8).unwrap();
        let t = thread::spawn(move || {
            // SAFETY: non-zero sizes; the blocks are returned to the main thread.
            unsafe { [Obj(p2.alloc(l())), Obj(p2.alloc(big))] }
        });
        // SAFETY: the buffer is valid for REGION bytes and outlives every use of the pool.
        unsafe { pool.init(mem.as_mut_ptr().cast(), REGION) }.unwrap();
        let [small, large] = t.join().unwrap();
        // Either refused (before init finished) or a real block of the initialised pool.
        // SAFETY: non-null blocks were allocated with these layouts.
        unsafe {
            if !small.0.is_null() {
                small.0.write_bytes(1, 64);
                pool.dealloc(small.0, l());
            }
            if !large.0.is_null() {
                large.0.write_bytes(1, big.size());
                pool.dealloc(large.0, big);
            }
        }
        let s = pool.stats();
        assert_eq!((s.live_objects(), s.fallback_bytes), (0, 0));
        drop(pool);
        drop(mem);
    });
}
