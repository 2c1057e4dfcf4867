//! The pool as the process's `#[global_allocator]` (with `ThreadSlots`): the test harness,
//! thread spawning, thread-local destructors, channels and collections all run on it.
//!
//! Not under Miri: there, std's `Box` arguments are "weakly protected" while they are freed, and
//! linked_list_allocator (the fallback heap, third-party) merges a freed large block into its
//! neighbour hole through its own pointers, which Stacked Borrows' experimental rules reject.
//! The pool's own free paths write through the caller's pointer where its layout reaches and
//! pass (checked with this file under Miri up to that heap merge).
#![cfg(not(miri))]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use alloc_pool::{SlabPool, ThreadSlots};

const LEN: usize = 128 << 20;

#[repr(C, align(4096))]
struct Region(UnsafeCell<[MaybeUninit<u8>; LEN]>);

// SAFETY: the region is only handed to the pool, once, under `INITIALISING`.
unsafe impl Sync for Region {}

static REGION: Region = Region(UnsafeCell::new([MaybeUninit::uninit(); LEN]));
static POOL: SlabPool<ThreadSlots> = SlabPool::new();
static READY: AtomicBool = AtomicBool::new(false);
static INITIALISING: AtomicBool = AtomicBool::new(false);

/// Initialises the pool on the first allocation of the process (the harness allocates before
/// `main`'s tests run).
#[cold]
fn init() {
    while INITIALISING
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
    if !READY.load(Ordering::Acquire) {
        // SAFETY: the static region is valid for LEN bytes forever and used by nothing else.
        unsafe { POOL.init(REGION.0.get().cast(), LEN) }.expect("pool init");
        READY.store(true, Ordering::Release);
    }
    INITIALISING.store(false, Ordering::Release);
}

struct Lazy;

// SAFETY: forwards to the initialised pool.
unsafe impl GlobalAlloc for Lazy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !READY.load(Ordering::Acquire) {
            init();
        }
        // SAFETY: forwarded contract.
        unsafe { POOL.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { POOL.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { POOL.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Lazy = Lazy;

#[test]
fn whole_program_runs_on_the_pool() {
    let before = POOL.stats();
    let (tx, rx) = mpsc::channel::<Vec<String>>();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut map: HashMap<u32, Vec<u8>> = HashMap::new();
                for i in 0..20_000u32 {
                    map.insert(i % 512, vec![t as u8; (i as usize * 37) % 9000 + 1]);
                    if i % 1000 == 0 {
                        tx.send((0..16).map(|k| format!("{t}-{i}-{k}")).collect())
                            .unwrap();
                    }
                }
                map.values().map(|v| v.len()).sum::<usize>()
            })
        })
        .collect();
    drop(tx);
    // Strings allocated on the workers are freed here, on another thread.
    let received: usize = rx.iter().map(|batch| batch.len()).sum();
    let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(received, 4 * 20 * 16);
    assert!(total > 0);
    let after = POOL.stats();
    let allocs = |s: &alloc_pool::Stats| s.classes.iter().map(|c| c.allocations).sum::<u64>();
    // 80 000 vectors, about 9 % of them over 8 KiB (fallback heap), plus strings and maps.
    let n = allocs(&after) - allocs(&before);
    assert!(
        n > 70_000,
        "the workers allocated only {n} class objects from the pool"
    );
    assert!(after.classes.iter().map(|c| c.cache_hits).sum::<u64>() > 0);
}
