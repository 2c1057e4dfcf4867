//! Unit tests of the pool as a whole (the modules test their own policy).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::mem::MaybeUninit;
use std::vec::Vec;

use allocator_api2::alloc::Allocator;

use crate::{CLASS_SIZES, Config, CpuHook, InitError, NUM_CLASSES, NoCpuCache, SlabPool};

std::thread_local! {
    static CPU: Cell<Option<usize>> = const { Cell::new(Some(0)) };
}

/// Test hook: the CPU index is chosen per test thread with [`set_cpu`]; each test uses its own
/// pool from one thread, so indices are exclusive per pool.
struct TestCpu;

// SAFETY: every test pool is used by one thread only, so an index is never used concurrently.
unsafe impl CpuHook for TestCpu {
    type Token = ();
    fn pin() -> Option<(usize, ())> {
        CPU.with(Cell::get).map(|c| (c, ()))
    }
    fn unpin(_: ()) {}
}

fn set_cpu(cpu: Option<usize>) {
    CPU.with(|c| c.set(cpu));
}

const SMALL: Config = Config {
    max_cpus: 4,
    ..Config::DEFAULT
};

/// Runs `f` on a pool of `H` over a fresh `len`-byte region, then frees the region.
fn with_pool<H: CpuHook, R>(config: Config, len: usize, f: impl FnOnce(&SlabPool<H>) -> R) -> R {
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(len / 8);
    let pool = SlabPool::<H>::with_config(config);
    // SAFETY: the buffer is valid for `len` bytes and outlives the pool (dropped first).
    unsafe { pool.init(mem.as_mut_ptr().cast(), len) }.expect("init");
    let r = f(&pool);
    // The pool (which has no destructor) must not be used after the region is freed.
    let _ = pool;
    drop(mem);
    r
}

/// Allocates `n` blocks of `l` (null on exhaustion).
fn alloc_n<H: CpuHook>(pool: &SlabPool<H>, l: Layout, n: usize) -> Vec<*mut u8> {
    // SAFETY: the test layouts have non-zero sizes.
    (0..n).map(|_| unsafe { pool.alloc(l) }).collect()
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

#[test]
fn init_rejects_bad_regions_and_second_init() {
    let pool = SlabPool::<NoCpuCache>::with_config(SMALL);
    // SAFETY: a null start is rejected before any access.
    let null = unsafe { pool.init(core::ptr::null_mut(), 1 << 20) };
    assert_eq!(null, Err(InitError::NullRegion));
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(1 << 17);
    let base = mem.as_mut_ptr().cast::<u8>();
    // SAFETY: the checks fail before the (in-bounds) region is touched.
    unsafe {
        assert!(matches!(
            pool.init(base.add(1), 1 << 19),
            Err(InitError::Misaligned { .. })
        ));
        assert!(matches!(
            pool.init(base, 1000),
            Err(InitError::TooSmall { got: 1000, .. })
        ));
        assert_eq!(pool.init(base, usize::MAX), Err(InitError::AddressOverflow));
    }
    // SAFETY: non-zero size.
    let early = unsafe { pool.alloc(layout(64, 8)) };
    assert!(early.is_null(), "no allocation before init");
    assert!((&pool).allocate(layout(64, 8)).is_err());
    // SAFETY: a valid 1 MiB buffer that outlives the pool.
    unsafe {
        pool.init(base, 1 << 20).unwrap();
        assert_eq!(pool.init(base, 1 << 20), Err(InitError::AlreadyInitialized));
    }
    // The pool (which has no destructor) must not be used after the region is freed.
    let _ = pool;
    drop(mem);
}

#[test]
fn too_small_for_prefill_is_an_error_and_leaves_pool_uninitialised() {
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(1 << 15);
    let big = Config {
        prefill: [1024; NUM_CLASSES],
        ..SMALL
    };
    let pool = SlabPool::<NoCpuCache>::with_config(big);
    // SAFETY: valid 256 KiB buffer, outlives the pool.
    let r = unsafe { pool.init(mem.as_mut_ptr().cast(), 1 << 18) };
    assert!(
        matches!(r, Err(InitError::PrefillExhausted { .. })),
        "{r:?}"
    );
    // SAFETY: null layout check: pool is uninitialised again, allocation fails.
    assert!(unsafe { pool.alloc(layout(64, 64)) }.is_null());
    assert_eq!(
        pool.stats()
            .classes
            .iter()
            .map(|c| c.slabs_held)
            .sum::<u64>(),
        0
    );
    // The pool (which has no destructor) must not be used after the region is freed.
    let _ = pool;
    drop(mem);
}

#[test]
fn every_class_honours_size_equal_align_and_keeps_contents() {
    for cpu in [None, Some(1)] {
        set_cpu(cpu);
        with_pool::<TestCpu, _>(SMALL, 1 << 20, |pool| {
            let mut blocks = Vec::new();
            for &size in &CLASS_SIZES {
                for l in [layout(size, size), layout(size, 1), layout(size / 2 + 1, 8)] {
                    // SAFETY: non-zero size.
                    let p = unsafe { pool.alloc(l) };
                    assert!(!p.is_null());
                    let class = crate::class_index(l.size(), l.align()).unwrap();
                    assert_eq!(p.addr() % CLASS_SIZES[class], 0, "aligned to its class");
                    let fill = blocks.len() as u8;
                    // SAFETY: `p` is a live block of `l.size()` bytes.
                    unsafe { p.write_bytes(fill, l.size()) };
                    blocks.push((p, l, fill));
                }
            }
            for &(p, l, fill) in &blocks {
                // SAFETY: live blocks written above.
                let bytes = unsafe { core::slice::from_raw_parts(p, l.size()) };
                assert!(
                    bytes.iter().all(|&b| b == fill),
                    "block {p:p} lost its bytes"
                );
            }
            for (p, l, _) in blocks {
                // SAFETY: allocated above with `l`.
                unsafe { pool.dealloc(p, l) };
            }
            let s = pool.stats();
            assert_eq!(s.live_objects(), 0);
            assert_eq!(s.classes.iter().map(|c| c.allocations).sum::<u64>(), 24);
        });
    }
    set_cpu(Some(0));
}

#[test]
fn blocks_are_distinct_and_keep_their_bytes() {
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        let mut blocks = Vec::new();
        // Fewer blocks under Miri, where every byte check is interpreted.
        let n = if cfg!(miri) { 48 } else { 300 };
        for i in 0..n {
            let size = CLASS_SIZES[i % NUM_CLASSES];
            let l = layout(size - 7, 8);
            // SAFETY: non-zero size.
            let p = unsafe { pool.alloc(l) };
            assert!(!p.is_null());
            // SAFETY: live block of `l.size()` bytes.
            unsafe { p.write_bytes(i as u8, l.size()) };
            blocks.push((p, l, i as u8));
        }
        let mut spans: Vec<(usize, usize)> = blocks
            .iter()
            .map(|(p, l, _)| (p.addr(), p.addr() + l.size()))
            .collect();
        spans.sort();
        assert!(
            spans.windows(2).all(|w| w[0].1 <= w[1].0),
            "overlapping blocks"
        );
        for (p, l, v) in blocks {
            // SAFETY: live block written above.
            let bytes = unsafe { core::slice::from_raw_parts(p, l.size()) };
            assert!(bytes.iter().all(|&b| b == v));
            // SAFETY: allocated with `l`.
            unsafe { pool.dealloc(p, l) };
        }
    });
}

#[test]
fn aligned_4k_and_large_requests() {
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        let l = layout(4096, 64);
        // SAFETY: non-zero sizes; blocks freed with their layouts.
        unsafe {
            let p = pool.alloc(l);
            assert_eq!(p.addr() % 4096, 0);
            pool.dealloc(p, l);
            let big = layout(20_000, 16_384);
            let q = pool.alloc(big);
            assert!(!q.is_null());
            assert_eq!(q.addr() % 16_384, 0);
            q.write_bytes(1, big.size());
            assert_eq!(pool.stats().fallback_bytes, 20_000);
            pool.dealloc(q, big);
            assert_eq!(pool.stats().fallback_bytes, 0);
        }
    });
}

#[test]
fn realloc_stays_in_place_within_a_class_and_copies_across() {
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        // SAFETY: blocks used within their sizes and freed with their current layouts.
        unsafe {
            let l = layout(100, 8);
            let p = pool.alloc(l);
            p.write_bytes(7, 100);
            let q = pool.realloc(p, l, 128);
            assert_eq!(q, p, "100 -> 128 stays in the 128 class");
            let r = pool.realloc(q, layout(128, 8), 5000);
            assert_ne!(r, q);
            assert!(core::slice::from_raw_parts(r, 100).iter().all(|&b| b == 7));
            let s = pool.realloc(r, layout(5000, 8), 40_000);
            assert!(core::slice::from_raw_parts(s, 100).iter().all(|&b| b == 7));
            let t = pool.realloc(s, layout(40_000, 8), 64);
            assert!(core::slice::from_raw_parts(t, 64).iter().all(|&b| b == 7));
            pool.dealloc(t, layout(64, 8));
        }
        let s = pool.stats();
        assert_eq!(s.live_objects(), 0);
        assert_eq!(s.fallback_bytes, 0);
    });
}

#[test]
fn allocator_api_vec_and_zero_sizes() {
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        let mut v = allocator_api2::vec::Vec::new_in(pool);
        for i in 0..10_000u32 {
            v.push(i);
        }
        assert!(v.iter().enumerate().all(|(i, &x)| i as u32 == x));
        v.truncate(3);
        v.shrink_to_fit();
        assert_eq!(&v[..], &[0, 1, 2]);
        drop(v);
        let z = (&pool).allocate(layout(0, 4096)).unwrap();
        assert_eq!(z.len(), 0);
        assert_eq!(z.cast::<u8>().as_ptr().addr() % 4096, 0);
        // SAFETY: zero-size blocks are dangling and freeing them is a no-op.
        unsafe { (&pool).deallocate(z.cast(), layout(0, 4096)) };
        let b = (&pool).allocate(layout(100, 4)).unwrap();
        assert_eq!(b.len(), 128, "the whole object is usable");
        // SAFETY: `b` is live with a layout fitting 100..=128 bytes.
        unsafe {
            let g = (&pool)
                .grow_zeroed(b.cast(), layout(100, 4), layout(128, 4))
                .unwrap();
            assert_eq!(
                g.cast::<u8>(),
                b.cast::<u8>(),
                "grow within the class stays in place"
            );
            (&pool).deallocate(g.cast(), layout(128, 4));
        }
        assert_eq!(pool.stats().live_objects(), 0);
    });
}

#[test]
fn exhaustion_returns_null_and_everything_comes_back() {
    with_pool::<TestCpu, _>(SMALL, 1 << 20, |pool| {
        let before = pool.stats();
        let mut blocks = Vec::new();
        let mut i = 0usize;
        loop {
            let l = layout(CLASS_SIZES[i % NUM_CLASSES], 8);
            i += 1;
            // SAFETY: non-zero size.
            let p = unsafe { pool.alloc(l) };
            if p.is_null() {
                break;
            }
            blocks.push((p, l));
        }
        assert!(blocks.len() > 100);
        assert!((&pool).allocate(layout(1 << 20, 8)).is_err());
        for (p, l) in blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        pool.trim();
        let s = pool.stats();
        assert_eq!(s.live_objects(), 0);
        assert_eq!(s.classes.iter().map(|c| c.slabs_held).sum::<u64>(), 0);
        assert_eq!(s.heap_used, before.heap_used);
        // Nearly the whole heap in one block.
        let l = layout(s.heap_size as usize - 4096, 8);
        // SAFETY: non-zero size; freed right away.
        unsafe {
            let p = pool.alloc(l);
            assert!(!p.is_null());
            pool.dealloc(p, l);
        }
    });
}

#[test]
fn large_request_trims_caches_before_failing() {
    with_pool::<TestCpu, _>(SMALL, 1 << 20, |pool| {
        let l = layout(64, 64);
        let blocks: Vec<_> = alloc_n(pool, l, if cfg!(miri) { 1100 } else { 3000 });
        assert!(blocks.iter().all(|p| !p.is_null()));
        for &p in &blocks {
            // SAFETY: allocated above with `l`.
            unsafe { pool.dealloc(p, l) };
        }
        assert!(pool.stats().classes[0].slabs_held >= 2);
        let s = pool.stats();
        let big = layout(s.heap_size as usize - 8192, 8);
        // SAFETY: non-zero size; freed right away.
        unsafe {
            let p = pool.alloc(big);
            assert!(!p.is_null(), "the implicit trim freed the cached slabs");
            pool.dealloc(p, big);
        }
    });
}

#[test]
fn cross_cpu_frees_land_in_the_freeing_cache_and_balance() {
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        let l = layout(256, 8);
        set_cpu(Some(0));
        let blocks: Vec<_> = alloc_n(pool, l, 500);
        set_cpu(Some(3));
        for &p in &blocks {
            // SAFETY: allocated above with `l`.
            unsafe { pool.dealloc(p, l) };
        }
        let s = pool.stats().classes[2];
        assert_eq!((s.allocations, s.frees, s.live), (500, 500, 0));
        assert!(
            s.depot_flushes > 0,
            "CPU 3 handed full magazines to the depot"
        );
        set_cpu(Some(0));
        // 64 objects stay in CPU 3's magazines; the other 436 are in the depot and slabs.
        let again: Vec<_> = alloc_n(pool, l, 400);
        let s2 = pool.stats().classes[2];
        assert_eq!(
            s2.slabs_held, s.slabs_held,
            "objects freed on CPU 3 were reused by CPU 0"
        );
        assert!(s2.reuse_rate() > 0.0);
        for p in again {
            // SAFETY: allocated above with `l`.
            unsafe { pool.dealloc(p, l) };
        }
    });
    set_cpu(Some(0));
}

#[test]
fn objects_outside_the_shared_layer_are_counted_exactly() {
    // The bound that lets refills skip peak samples: live <= outside, and everything comes
    // back (outside 0) once every cache is drained.
    with_pool::<TestCpu, _>(SMALL, 1 << 22, |pool| {
        let mut live = Vec::new();
        for (class, &size) in CLASS_SIZES.iter().enumerate() {
            let l = layout(size, 8);
            set_cpu(Some(class % 3));
            live.push((alloc_n(pool, l, 70), l));
            set_cpu(None);
            live.push((alloc_n(pool, l, 5), l));
            let s = pool.stats().classes[class];
            assert!(pool.outside(class) >= s.live as usize, "class {class}");
        }
        for (i, (blocks, l)) in live.into_iter().enumerate() {
            // Frees on other CPUs than the allocations, and some uncached.
            set_cpu([Some(1), Some(2), None][i % 3]);
            for p in blocks {
                // SAFETY: allocated above with `l`.
                unsafe { pool.dealloc(p, l) };
            }
        }
        for cpu in 0..3 {
            // SAFETY: this thread is the only user of the pool.
            unsafe { pool.drain_cpu(cpu) };
        }
        for class in 0..NUM_CLASSES {
            assert_eq!(pool.outside(class), 0, "class {class}");
        }
    });
    set_cpu(Some(0));
}

#[test]
fn stats_count_hits_refills_and_peak() {
    // Cached: hits after the first refill; peak sampled (a lower bound of the true peak).
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        let l = layout(64, 8);
        for _ in 0..1000 {
            // SAFETY: allocate and free at once.
            unsafe { pool.dealloc(pool.alloc(l), l) };
        }
        let s = pool.stats().classes[0];
        assert_eq!(s.allocations, 1000);
        assert_eq!(s.cache_hits, 999);
        assert_eq!(s.depot_refills, 1);
        assert!(s.peak_live <= 1 && s.peak_live >= s.live);
    });
    // Uncached: every operation samples, so the peak is exact.
    with_pool::<NoCpuCache, _>(SMALL, 1 << 21, |pool| {
        let l = layout(700, 8);
        let a: Vec<_> = alloc_n(pool, l, 37);
        for &p in &a[..30] {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        let b: Vec<_> = alloc_n(pool, l, 5);
        let s = pool.stats().classes[4];
        assert_eq!((s.live, s.peak_live, s.cache_hits), (12, 37, 0));
        assert_eq!(s.slabs_held, 1);
        // 700-byte requests in 1024-byte objects.
        let expected = 1.0 - 700.0 / 1024.0;
        assert!((pool.stats().internal_fragmentation() - expected).abs() < 1e-12);
        for p in a[30..].iter().chain(&b) {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(*p, l) };
        }
    });
}

#[test]
fn empty_slabs_return_to_the_heap_beyond_the_kept_ones() {
    let config = Config {
        empty_slabs_kept: 0,
        depot_magazines: 0,
        ..SMALL
    };
    with_pool::<NoCpuCache, _>(config, 1 << 21, |pool| {
        let l = layout(8192, 8);
        let used0 = pool.stats().heap_used;
        let blocks: Vec<_> = alloc_n(pool, l, 40);
        assert_eq!(pool.stats().classes[7].slabs_held, 5);
        for &p in &blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        let s = pool.stats();
        assert_eq!(
            s.classes[7].slabs_held, 0,
            "no depot, no kept slabs: all returned"
        );
        assert_eq!(s.heap_used, used0);
    });
}

#[test]
fn prefill_carves_objects_up_front() {
    let config = Config {
        prefill: [100; NUM_CLASSES],
        ..SMALL
    };
    with_pool::<TestCpu, _>(config, 4 << 20, |pool| {
        let s = pool.stats();
        assert!(
            s.classes
                .iter()
                .all(|c| c.carved == 100 && c.slabs_held >= 1)
        );
        let heap_used = s.heap_used;
        let l = layout(8192, 8192);
        let blocks: Vec<_> = alloc_n(pool, l, 100);
        assert!(blocks.iter().all(|p| !p.is_null()));
        assert_eq!(pool.stats().heap_used, heap_used, "served from the prefill");
        for p in blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
    });
}

#[cfg(hardened)]
#[test]
fn freed_memory_is_poisoned() {
    with_pool::<NoCpuCache, _>(SMALL, 1 << 20, |pool| {
        let l = layout(256, 8);
        // SAFETY: the freed object is read only to check the poison; the pool does not
        // hand it out meanwhile (single thread).
        unsafe {
            let p = pool.alloc(l);
            p.write_bytes(0, 256);
            pool.dealloc(p, l);
            // Past the three words the lists use (next, next magazine, prefetch hint).
            let tail = core::slice::from_raw_parts(p.add(24), 232);
            assert!(tail.iter().all(|&b| b == crate::POISON));
        }
    });
}

#[cfg(hardened)]
#[test]
fn coloured_objects_are_poisoned_around_their_list_words() {
    with_pool::<NoCpuCache, _>(SMALL, 1 << 21, |pool| {
        let l = layout(4096, 8);
        // Consecutive 4 KiB objects differ in address bit 12, so even three show the move
        // (Miri interprets every byte written and read here).
        let blocks = alloc_n(pool, l, if cfg!(miri) { 3 } else { 20 });
        let offsets: Vec<usize> = blocks
            .iter()
            .map(|p| crate::class::link_offset(p.addr(), 6))
            .collect();
        assert!(offsets.iter().any(|&o| o != 0), "the list words move");
        for (&p, &off) in blocks.iter().zip(&offsets) {
            // SAFETY: allocated above, freed once; the freed bytes are only read, while the
            // pool (single thread, no further allocation) does not hand them out.
            unsafe {
                p.write_bytes(0, 4096);
                pool.dealloc(p, l);
                let bytes = core::slice::from_raw_parts(p, 4096);
                for (i, &b) in bytes.iter().enumerate() {
                    if !(off..off + 24).contains(&i) {
                        assert_eq!(
                            b,
                            crate::POISON,
                            "byte {i} of a freed object, links at {off}"
                        );
                    }
                }
            }
        }
    });
}

#[test]
fn grow_zeroed_zeroes_up_to_the_returned_length() {
    for cpu in [Some(0), None] {
        set_cpu(cpu);
        with_pool::<TestCpu, _>(SMALL, 1 << 20, |pool| {
            let a = &pool;
            // SAFETY: blocks are used within their returned lengths and freed with layouts
            // that fit them.
            unsafe {
                // Leave stale bytes in a 128-byte object, then grow a 64-byte block into it.
                let old = a.allocate(layout(128, 8)).unwrap().cast::<u8>();
                old.as_ptr().write_bytes(0xEE, 128);
                a.deallocate(old, layout(128, 8));
                let small = a.allocate(layout(64, 8)).unwrap().cast::<u8>();
                small.as_ptr().write_bytes(7, 64);
                let g = a.grow_zeroed(small, layout(64, 8), layout(100, 8)).unwrap();
                assert_eq!(g.len(), 128);
                let bytes = core::slice::from_raw_parts(g.cast::<u8>().as_ptr(), g.len());
                assert!(bytes[..64].iter().all(|&b| b == 7), "contents kept");
                assert!(bytes[64..].iter().all(|&b| b == 0), "zero up to the length");
                // In place within a class: the tail past the old size is zeroed too.
                let p = g.cast::<u8>();
                p.as_ptr().write_bytes(0xEE, 128);
                let h = a.grow_zeroed(p, layout(100, 8), layout(120, 8)).unwrap();
                assert_eq!(h.cast::<u8>(), p, "stays in place");
                let bytes = core::slice::from_raw_parts(h.cast::<u8>().as_ptr(), 128);
                assert!(bytes[100..].iter().all(|&b| b == 0));
                a.deallocate(h.cast(), layout(120, 8));
            }
        });
    }
    set_cpu(Some(0));
}

#[test]
fn a_request_that_can_never_fit_fails_without_touching_the_caches() {
    let config = Config {
        prefill: [64; NUM_CLASSES],
        ..SMALL
    };
    with_pool::<TestCpu, _>(config, 2 << 20, |pool| {
        let before = pool.stats();
        // SAFETY: a valid layout; the request fails.
        assert!(unsafe { pool.alloc(layout(1 << 40, 8)) }.is_null());
        let after = pool.stats();
        assert_eq!(
            before.classes, after.classes,
            "prefill and caches untouched"
        );
    });
}

#[test]
fn every_size_trims_before_failing() {
    /// Allocates `l` until the first failure; returns the blocks.
    fn until_null(pool: &SlabPool<TestCpu>, l: Layout) -> Vec<*mut u8> {
        // SAFETY: non-zero size.
        core::iter::from_fn(|| Some(unsafe { pool.alloc(l) }).filter(|p| !p.is_null())).collect()
    }
    let region = if cfg!(miri) { 1 << 20 } else { 2 << 20 };
    let count_8k = |pool: &SlabPool<TestCpu>| {
        let l = layout(8192, 8);
        let blocks = until_null(pool, l);
        for &p in &blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        blocks.len()
    };
    // Both pools over the same memory: how many slabs fit depends on the region's address.
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(region / 8);
    let fresh_pool = SlabPool::<TestCpu>::with_config(SMALL);
    // SAFETY: the buffer is valid for `region` bytes and outlives the pool, which is not used
    // after the next pool takes the buffer over.
    unsafe { fresh_pool.init(mem.as_mut_ptr().cast(), region) }.expect("init");
    let fresh = count_8k(&fresh_pool);
    let pool = SlabPool::<TestCpu>::with_config(SMALL);
    // SAFETY: as above; `fresh_pool` is not used any more.
    unsafe { pool.init(mem.as_mut_ptr().cast(), region) }.expect("init");
    let l = layout(4096, 8);
    let blocks = until_null(&pool, l);
    assert!(blocks.len() > 100, "exhausted with 4 KiB objects");
    for &p in &blocks {
        // SAFETY: allocated above.
        unsafe { pool.dealloc(p, l) };
    }
    assert_eq!(
        count_8k(&pool),
        fresh,
        "8 KiB requests get what a fresh pool gives"
    );
    drop(mem);
}

#[test]
fn failed_init_hands_nothing_out_and_allows_a_retry() {
    let mut mem: Vec<MaybeUninit<u64>> = Vec::with_capacity(1 << 17);
    let config = Config {
        prefill: [1024; NUM_CLASSES],
        ..SMALL
    };
    let pool = SlabPool::<NoCpuCache>::with_config(config);
    // SAFETY: a valid 1 MiB buffer that outlives the pool.
    unsafe {
        let r = pool.init(mem.as_mut_ptr().cast(), 1 << 20);
        assert!(
            matches!(r, Err(InitError::PrefillExhausted { .. })),
            "{r:?}"
        );
        assert!(pool.alloc(layout(64, 8)).is_null());
        assert!(pool.alloc(layout(100_000, 8)).is_null());
        let s = pool.stats();
        assert_eq!((s.fallback_bytes, s.regions), (0, 0));
    }
    let _ = pool;
    drop(mem);
}

#[test]
fn drains_reach_other_cpus_caches() {
    with_pool::<TestCpu, _>(SMALL, 1 << 21, |pool| {
        let l = layout(512, 8);
        set_cpu(Some(1));
        let blocks = alloc_n(pool, l, 40);
        for &p in &blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        set_cpu(Some(0));
        pool.trim();
        let held = pool.stats().classes[3].slabs_held;
        assert!(held > 0, "CPU 1's magazines are out of CPU 0's reach");
        // The request is honoured at CPU 1's next slow path (a 64-byte refill here).
        set_cpu(Some(1));
        // SAFETY: freed at once.
        unsafe { pool.dealloc(pool.alloc(layout(64, 8)), layout(64, 8)) };
        set_cpu(Some(0));
        pool.trim();
        assert_eq!(pool.stats().classes[3].slabs_held, 0, "drained on request");
        // An explicit drain of an idle CPU.
        set_cpu(Some(2));
        let blocks = alloc_n(pool, l, 40);
        for &p in &blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        set_cpu(Some(0));
        // SAFETY: CPU 2 is idle: this test runs every CPU index on one thread.
        unsafe { pool.drain_cpu(2) };
        pool.trim();
        assert_eq!(pool.stats().classes[3].slabs_held, 0, "drained explicitly");
    });
    set_cpu(Some(0));
}

#[test]
fn depots_decay_what_they_did_not_need() {
    // 8 KiB objects (8 per slab), magazines of 4, a depot of up to 8 magazines.
    let config = Config {
        magazine_size: 4,
        depot_magazines: 8,
        depot_decay_period: 4,
        ..SMALL
    };
    with_pool::<NoCpuCache, _>(config, 2 << 20, |pool| {
        let l = layout(8192, 8);
        let burst = alloc_n(pool, l, 32);
        for &p in &burst {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        let full = pool.stats().classes[7].slabs_held;
        // Steady use of one magazine: the depot never dips below 7 magazines.
        for _ in 0..8 {
            let few = alloc_n(pool, l, 4);
            for &p in &few {
                // SAFETY: allocated above.
                unsafe { pool.dealloc(p, l) };
            }
        }
        let after = pool.stats().classes[7].slabs_held;
        assert!(after < full, "decay returned slabs: {full} -> {after}");
    });
}

#[cfg(feature = "std")]
#[test]
fn exiting_threads_flush_their_caches() {
    let config = Config {
        max_cpus: crate::MAX_SLOTS,
        depot_magazines: 0,
        empty_slabs_kept: 0,
        ..Config::DEFAULT
    };
    let pool: &'static SlabPool<crate::ThreadSlots> =
        std::boxed::Box::leak(std::boxed::Box::new(SlabPool::with_config(config)));
    let region = std::boxed::Box::leak(std::boxed::Box::new_uninit_slice(1 << 20));
    pool.init_from_slice(region).unwrap();
    assert!(pool.flush_on_thread_exit());
    let l = layout(512, 8);
    std::thread::spawn(move || {
        let blocks = alloc_n(pool, l, 40);
        for &p in &blocks {
            // SAFETY: allocated above.
            unsafe { pool.dealloc(p, l) };
        }
        assert!(pool.stats().classes[3].slabs_held > 0, "objects cached");
    })
    .join()
    .unwrap();
    // No depot and no kept slabs: the flushed objects went straight back to the heap.
    assert_eq!(pool.stats().classes[3].slabs_held, 0);
}
