//! [`ThreadSlots`]: a [`CpuHook`] for hosts, giving each thread a global slot index.
// The `unsafe impl` of the hook, and the exit-time drain of registered pools (one unsafe
// operation per block).
#![deny(clippy::multiple_unsafe_ops_per_block)]

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::SlabPool;
use crate::hook::CpuHook;

/// Number of thread slots (the host's "CPU numbers"). A pool with `Config::max_cpus` below
/// this treats higher slots as uncached.
pub const MAX_SLOTS: usize = 64;

const UNCLAIMED: usize = usize::MAX;
const DEAD: usize = usize::MAX - 1;

/// Global slot table: `true` = owned by a live thread.
static SLOTS: [AtomicBool; MAX_SLOTS] = [const { AtomicBool::new(false) }; MAX_SLOTS];

std::thread_local! {
    /// This thread's slot (or `UNCLAIMED` / `DEAD`); const-initialised, no destructor, so reading
    /// it is a plain thread-local load.
    static SLOT: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Registered on the first claim; its destructor gives the slot back when the thread exits.
    static GUARD: SlotGuard = const { SlotGuard(Cell::new(UNCLAIMED)) };
}

/// Most pools that can ask for [`SlabPool::flush_on_thread_exit`].
pub const MAX_EXIT_FLUSH_POOLS: usize = 8;

/// Pools whose caches an exiting thread flushes (null: free entry).
static EXIT_FLUSH: [AtomicPtr<SlabPool<ThreadSlots>>; MAX_EXIT_FLUSH_POOLS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_EXIT_FLUSH_POOLS];

/// Registers `pool` for [`SlabPool::flush_on_thread_exit`]; `false` if the table is full.
pub(crate) fn register_exit_flush(pool: &'static SlabPool<ThreadSlots>) -> bool {
    let ptr = core::ptr::from_ref(pool).cast_mut();
    EXIT_FLUSH.iter().any(|e| {
        e.load(Ordering::Acquire) == ptr
            || e.compare_exchange(
                core::ptr::null_mut(),
                ptr,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    })
}

struct SlotGuard(Cell<usize>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let slot = self.0.get();
        // Allocations made by later thread-local destructors go uncached.
        let _ = SLOT.try_with(|s| s.set(DEAD));
        if slot < MAX_SLOTS {
            for entry in &EXIT_FLUSH {
                let pool = entry.load(Ordering::Acquire);
                if !pool.is_null() {
                    // SAFETY: only `register_exit_flush` stores here, always a `'static` pool.
                    let pool = unsafe { &*pool };
                    // SAFETY: this thread still owns `slot` (released below), so no other
                    // context uses that index of the pool, and its own earlier uses are
                    // program-ordered before this call.
                    unsafe { pool.drain_cpu(slot) };
                }
            }
            // Release: the next owner of the slot sees every write this thread made to the
            // caches of that index.
            SLOTS[slot].store(false, Ordering::Release);
        }
    }
}

/// Per-thread cache slots for hosts (`std` feature): each thread claims a free slot of a global
/// table of [`MAX_SLOTS`] once (one CAS, on its first allocation or free), keeps it in a
/// thread-local and gives it back when it exits. A thread that finds no free slot, or that
/// allocates while its thread-locals are being destroyed, gets `None` (uncached, correct) from
/// then on.
/// Slots are global across pools, like CPU numbers. Not async-signal-safe: do not allocate
/// from a pool in a signal handler (the same rule as for `malloc`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadSlots;

impl ThreadSlots {
    #[cold]
    fn claim() -> Option<usize> {
        // Registering the guard's destructor may allocate (std's fallback destructor list): if
        // this pool is the global allocator, that nested allocation must not claim again, so
        // the thread counts as slot-less (uncached) until the claim is done.
        SLOT.with(|s| s.set(DEAD));
        for (i, slot) in SLOTS.iter().enumerate() {
            if !slot.load(Ordering::Relaxed)
                && slot
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                // Registering the guard may fail while this thread is being torn down.
                if GUARD.try_with(|g| g.0.set(i)).is_ok() {
                    SLOT.with(|s| s.set(i));
                    return Some(i);
                }
                slot.store(false, Ordering::Release);
                return None;
            }
        }
        None
    }

    /// The calling thread's slot, if it holds one (without claiming).
    pub fn current() -> Option<usize> {
        SLOT.try_with(Cell::get).ok().filter(|&s| s < MAX_SLOTS)
    }
}

// SAFETY: a slot index is owned by at most one live thread at a time, or lent by `try_claim`
// (claimed by CAS from `false` with Acquire, released with a Release store by the owning
// thread's exit or by `release_claim`), and a thread never
// pins re-entrantly (the pool does not allocate while pinned; signal handlers must not use the
// pool, as documented). Indices are `< MAX_SLOTS`; the pool checks them against `max_cpus`.
unsafe impl CpuHook for ThreadSlots {
    type Token = ();

    #[inline]
    fn pin() -> Option<(usize, ())> {
        let slot = SLOT.try_with(Cell::get).unwrap_or(DEAD);
        if slot < MAX_SLOTS {
            Some((slot, ()))
        } else if slot == UNCLAIMED {
            Self::claim().map(|s| (s, ()))
        } else {
            None
        }
    }

    #[inline]
    fn unpin(_token: ()) {}

    /// Lends a slot no live thread owns (an exited thread's), so the pool can drain it.
    fn try_claim(i: usize) -> Option<()> {
        let slot = SLOTS.get(i)?;
        slot.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| ())
    }

    fn release_claim(i: usize, _token: ()) {
        SLOTS[i].store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_get_distinct_slots_and_release_them() {
        let (a, _) = ThreadSlots::pin().unwrap();
        assert_eq!(ThreadSlots::pin().unwrap().0, a, "a thread keeps its slot");
        let other = std::thread::spawn(|| ThreadSlots::pin().unwrap().0)
            .join()
            .unwrap();
        assert_ne!(other, a);
        // The exited thread released its slot; a new thread may claim it again.
        assert!(!SLOTS[other].load(Ordering::Acquire) || other == a);
    }
}
