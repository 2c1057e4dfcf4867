//! A minimal test-and-test-and-set spin lock built on the [`crate::sync`] shim, so loom checks it.
//! Critical sections are short (slab and depot bookkeeping, heap calls), never re-entrant.

use crate::sync::{AtomicBool, Ordering, UnsafeCell, loom_const_fn, spin_hint};

/// A spin lock protecting a `T`; access goes through [`SpinLock::with`].
#[derive(Debug)]
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time (acquire/release on
// `locked`), so sharing the lock is sound whenever the value may move between threads.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the value; sound when the value is `Send`.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    loom_const_fn! {
        /// An unlocked lock holding `value`.
        pub(crate) fn new(value: T) -> Self {
            Self { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
        }
    }

    /// Runs `f` with exclusive access to the value.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.acquire();
        let _release = Release(&self.locked);
        self.value.with_mut(|ptr| {
            // SAFETY: `acquire` succeeded, so this thread owns the lock until `_release` drops
            // after `f` returns; no other reference to the value exists meanwhile.
            f(unsafe { &mut *ptr })
        })
    }

    #[inline]
    fn acquire(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                spin_hint();
            }
        }
    }
}

/// Unlocks on drop (also when `f` panics, e.g. a hardened-mode report).
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
