//! Host stress test: 2 threads, millions of operations, half of the frees done by the other
//! thread (blocks sent over a channel), every block's contents checksummed, and the counters
//! back to zero live objects at the end. Counts are 10× smaller in debug builds (hardened
//! checks and poisoning); CI runs this file in release.

use std::alloc::{GlobalAlloc, Layout};
use std::mem::MaybeUninit;
use std::sync::mpsc;

use alloc_pool::{Config, NUM_CLASSES, SlabPool, ThreadSlots};

const ALLOCS_PER_THREAD: usize = if cfg!(debug_assertions) {
    100_000
} else {
    1_000_000
};
const MAX_LOCAL: usize = 256;

struct Block {
    ptr: *mut u8,
    layout: Layout,
    seed: u64,
}

// SAFETY: a block is owned by whoever holds this value; the pool allows freeing from any thread.
unsafe impl Send for Block {}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Fills the block's words with a sequence derived from `seed`.
fn fill(b: &Block) {
    let words = b.layout.size() / 8;
    for i in 0..words {
        // SAFETY: `i < size / 8`, the block is live and 8-aligned (class objects are >= 64-aligned,
        // large blocks are requested with align 8).
        unsafe {
            b.ptr
                .cast::<u64>()
                .add(i)
                .write(b.seed.wrapping_mul(i as u64 + 1))
        };
    }
}

fn verify(b: &Block) {
    let words = b.layout.size() / 8;
    for i in 0..words {
        // SAFETY: as in `fill`.
        let w = unsafe { b.ptr.cast::<u64>().add(i).read() };
        assert_eq!(
            w,
            b.seed.wrapping_mul(i as u64 + 1),
            "block {:p} ({:?}) corrupted at word {i}",
            b.ptr,
            b.layout
        );
    }
}

fn free(pool: &SlabPool<ThreadSlots>, b: Block) {
    verify(&b);
    // SAFETY: `b` was allocated from `pool` with `b.layout` and is no longer used.
    unsafe { pool.dealloc(b.ptr, b.layout) };
}

/// Frees every batch waiting in `rx`; returns the number of blocks freed.
fn drain(pool: &SlabPool<ThreadSlots>, rx: &mpsc::Receiver<Vec<Block>>) -> usize {
    let mut n = 0;
    while let Ok(batch) = rx.try_recv() {
        n += batch.len();
        batch.into_iter().for_each(|b| free(pool, b));
    }
    n
}

/// Sends `batch` over the bounded channel (back-pressure keeps the blocks in flight bounded
/// even when the peer is descheduled), draining our own inbox while the peer's is full so the
/// two workers can never wait on each other. Returns the blocks freed from our inbox.
fn send(
    pool: &SlabPool<ThreadSlots>,
    tx: &mpsc::SyncSender<Vec<Block>>,
    rx: &mpsc::Receiver<Vec<Block>>,
    mut batch: Vec<Block>,
) -> usize {
    let mut freed = 0;
    loop {
        match tx.try_send(batch) {
            Ok(()) => return freed,
            Err(mpsc::TrySendError::Full(back)) => {
                batch = back;
                freed += drain(pool, rx);
                std::thread::yield_now();
            }
            Err(mpsc::TrySendError::Disconnected(_)) => panic!("peer hung up early"),
        }
    }
}

/// One worker: allocates, keeps up to MAX_LOCAL blocks, frees half of its victims locally and
/// sends the other half to the peer; frees what the peer sends.
fn worker(
    pool: &SlabPool<ThreadSlots>,
    seed: u64,
    tx: mpsc::SyncSender<Vec<Block>>,
    rx: mpsc::Receiver<Vec<Block>>,
) -> (usize, usize) {
    let mut rng = seed;
    let mut local: Vec<Block> = Vec::with_capacity(MAX_LOCAL);
    let mut outbox: Vec<Block> = Vec::with_capacity(64);
    let (mut remote_frees, mut null) = (0usize, 0usize);
    for n in 0..ALLOCS_PER_THREAD {
        let r = xorshift(&mut rng);
        let size = if r.is_multiple_of(64) {
            9000 + (r >> 8) as usize % 30_000
        } else {
            8 + (r >> 8) as usize % (8192 >> ((r >> 40) % NUM_CLASSES as u64))
        };
        let layout = Layout::from_size_align(size.max(8), 8).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { pool.alloc(layout) };
        if ptr.is_null() {
            if null == 0 && std::env::var_os("STRESS_DEBUG").is_some() {
                eprintln!("first null at {n} for {layout:?}: {:#?}", pool.stats());
            }
            null += 1;
            continue;
        }
        let b = Block {
            ptr,
            layout,
            seed: r | 1,
        };
        fill(&b);
        local.push(b);
        if local.len() >= MAX_LOCAL {
            for _ in 0..MAX_LOCAL / 2 {
                let victim = local.swap_remove(xorshift(&mut rng) as usize % local.len());
                if xorshift(&mut rng).is_multiple_of(2) {
                    free(pool, victim);
                } else {
                    outbox.push(victim);
                    if outbox.len() == 64 {
                        remote_frees += send(pool, &tx, &rx, std::mem::take(&mut outbox));
                    }
                }
            }
        }
        if n % 128 == 0 {
            remote_frees += drain(pool, &rx);
        }
    }
    remote_frees += send(pool, &tx, &rx, outbox);
    drop(tx);
    local.into_iter().for_each(|b| free(pool, b));
    for batch in rx {
        remote_frees += batch.len();
        batch.into_iter().for_each(|b| free(pool, b));
    }
    (remote_frees, null)
}

#[test]
#[cfg_attr(miri, ignore)] // millions of operations
fn two_threads_cross_free_and_balance() {
    let region: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new_uninit_slice(64 << 20));
    let pool: &'static SlabPool<ThreadSlots> = Box::leak(Box::new(SlabPool::with_config(Config {
        max_cpus: 8,
        ..Config::DEFAULT
    })));
    pool.init_from_slice(region).unwrap();
    let (tx_a, rx_b) = mpsc::sync_channel(8);
    let (tx_b, rx_a) = mpsc::sync_channel(8);
    let a = std::thread::spawn(move || worker(pool, 0x9E37_79B9_7F4A_7C15, tx_a, rx_a));
    let b = std::thread::spawn(move || worker(pool, 0xD1B5_4A32_D192_ED03, tx_b, rx_b));
    let (ra, na) = a.join().unwrap();
    let (rb, nb) = b.join().unwrap();
    assert_eq!((na, nb), (0, 0), "64 MiB never runs out in this workload");
    let s = pool.stats();
    let allocs: u64 = s.classes.iter().map(|c| c.allocations).sum();
    let frees: u64 = s.classes.iter().map(|c| c.frees).sum();
    assert_eq!(allocs, frees);
    assert_eq!(s.live_objects(), 0, "{s:#?}");
    assert_eq!(s.fallback_bytes, 0);
    let total = 2 * ALLOCS_PER_THREAD as u64;
    assert!(
        allocs > total * 9 / 10,
        "most allocations are class allocations ({allocs} of {total})"
    );
    // About half of the victims travel to the other thread.
    let remote = (ra + rb) as u64;
    assert!(
        remote > total / 5 && remote < total * 3 / 5,
        "remote frees {remote} of {total}"
    );
    assert!(
        s.classes.iter().map(|c| c.cache_hits).sum::<u64>() > allocs / 2,
        "the caches served most allocations"
    );
}
