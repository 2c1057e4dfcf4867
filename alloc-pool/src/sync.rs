//! Concurrency shim (the crossbeam pattern): `loom`'s checked primitives under `cfg(loom)`,
//! `core`'s otherwise. Every atomic, cell and spin hint of the pool goes through here, so the
//! loom tests check the real protocols.

#[cfg(all(loom, hardened))]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering,
};

#[cfg(all(not(loom), hardened))]
pub(crate) use core::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering,
};

/// Busy-wait hint. Under loom a spinning thread must yield so the model checker can schedule the
/// lock holder.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}

/// Adds `n` to a counter that only one execution context writes (its owner): a relaxed load
/// and a relaxed store, which compile to plain moves, so the fast path has no atomic
/// read-modify-write. Readers (`stats()`) see a value that is at most a few updates stale.
#[inline(always)]
pub(crate) fn bump_owned(counter: &AtomicUsize, n: usize) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// Interior-mutable cell with a closure API that both `core` and `loom` can provide.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[inline]
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Gives `f` a raw pointer to the contents; the caller of the pointer must hold
    /// exclusive access (a lock or a pinned CPU index).
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Declares a function `const` when the primitives allow it (`core`), plain under loom
/// (loom's constructors are not `const`).
macro_rules! loom_const_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($args:tt)*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$meta])* $vis const fn $name($($args)*) -> $ret $body
        #[cfg(loom)]
        $(#[$meta])* $vis fn $name($($args)*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;
