//! Threads come and go while another allocates: waves of short-lived threads allocate and
//! free objects of every class (handing some to the long-lived thread to free) and exit with
//! objects still in their caches. After everyone has exited, one `trim` must bring every
//! slab back: the exited threads' caches are lent by `ThreadSlots::try_claim` and drained.
//! Its own test binary, because `ThreadSlots` slots are global to the process: a concurrent
//! test's thread could hold an exited thread's slot.

use std::alloc::{GlobalAlloc, Layout};
use std::mem::MaybeUninit;
use std::sync::mpsc;

use alloc_pool::{CLASS_SIZES, Config, SlabPool, ThreadSlots};

const WAVES: usize = if cfg!(debug_assertions) { 4 } else { 12 };
const THREADS_PER_WAVE: usize = 3;
const OPS_PER_THREAD: usize = if cfg!(debug_assertions) {
    3_000
} else {
    20_000
};

/// A block handed between threads.
struct Block(*mut u8, Layout);
// SAFETY: the pool allows freeing from any thread; the block is owned by whoever holds it.
unsafe impl Send for Block {}

fn layout_for(i: usize) -> Layout {
    let size = CLASS_SIZES[i % CLASS_SIZES.len()] - (i % 7) * 3;
    Layout::from_size_align(size, 8).unwrap()
}

/// Allocates and frees objects of every class, keeping up to 64 live, sending every
/// seventh to the long-lived thread; exits with its cache full of objects.
fn short_lived(pool: &SlabPool<ThreadSlots>, seed: usize, tx: &mpsc::Sender<Block>) {
    let mut live: Vec<Block> = Vec::new();
    for i in 0..OPS_PER_THREAD {
        let l = layout_for(seed.wrapping_mul(31).wrapping_add(i));
        // SAFETY: non-zero size.
        let p = unsafe { pool.alloc(l) };
        assert!(!p.is_null());
        // SAFETY: a fresh block of `l.size()` bytes.
        unsafe { p.write_bytes(i as u8, l.size()) };
        if i % 7 == 0 {
            tx.send(Block(p, l)).unwrap();
        } else {
            live.push(Block(p, l));
        }
        if live.len() > 64 {
            let b = live.swap_remove((i * 13) % live.len());
            // SAFETY: allocated above with `b.1`.
            unsafe { pool.dealloc(b.0, b.1) };
        }
    }
    for b in live {
        // SAFETY: allocated above with `b.1`.
        unsafe { pool.dealloc(b.0, b.1) };
    }
}

#[test]
#[cfg_attr(miri, ignore)] // many threads and operations
fn threads_come_and_go_and_every_slab_comes_back() {
    let region: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new_uninit_slice(64 << 20));
    let pool: &'static SlabPool<ThreadSlots> = Box::leak(Box::new(SlabPool::with_config(Config {
        max_cpus: 16,
        ..Config::DEFAULT
    })));
    pool.init_from_slice(region).unwrap();
    let heap_used = pool.stats().heap_used;
    let (tx, rx) = mpsc::channel::<Block>();
    // The long-lived thread frees what the others send it, allocating meanwhile.
    let keeper = std::thread::spawn(move || {
        let mut own = Vec::new();
        for (i, b) in rx.into_iter().enumerate() {
            // SAFETY: allocated by a short-lived thread with `b.1`, handed over.
            unsafe { pool.dealloc(b.0, b.1) };
            let l = layout_for(i);
            // SAFETY: non-zero size; freed below.
            own.push((unsafe { pool.alloc(l) }, l));
            if own.len() > 32 {
                let (p, l) = own.swap_remove(i % own.len());
                // SAFETY: allocated above with `l`.
                unsafe { pool.dealloc(p, l) };
            }
        }
        for (p, l) in own {
            // SAFETY: allocated above with `l`.
            unsafe { pool.dealloc(p, l) };
        }
    });
    for wave in 0..WAVES {
        let threads: Vec<_> = (0..THREADS_PER_WAVE)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || short_lived(pool, wave * 10 + t, &tx))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    drop(tx);
    keeper.join().unwrap();
    let before = pool.stats();
    assert_eq!(before.live_objects(), 0);
    assert!(
        before.classes.iter().map(|c| c.slabs_held).sum::<u64>() > 0,
        "exited threads left objects in their caches"
    );
    pool.trim();
    let after = pool.stats();
    assert_eq!(
        after.classes.iter().map(|c| c.slabs_held).sum::<u64>(),
        0,
        "every slab back after the final trim: {after:#?}"
    );
    assert_eq!(after.heap_used, heap_used);
    assert_eq!(after.external_fragmentation(), 0.0);
}
