//! "Which CPU am I": the hook a kernel (or the host, behind `std`) gives the pool.
// Only the `unsafe trait` declaration and its `unsafe impl`s; no unsafe blocks.
#![deny(clippy::multiple_unsafe_ops_per_block)]

/// Tells the pool which per-CPU cache the current execution context may use.
///
/// # Safety
/// Implementations must guarantee that while a `pin()` result `Some((i, token))` is held and
/// until the matching `unpin(token)`, **no other execution context** (another CPU, thread,
/// interrupt handler or signal handler that allocates) obtains the same index `i` from `pin()`
/// of this hook type for use with the same pool (hooks normally make indices global, like CPU
/// numbers, which satisfies this for every pool). Handing index `i` to another context later
/// must happen-after the `unpin` (e.g. release/acquire), so it sees the cache as left. In a kernel this means: disable interrupts (or preemption and any
/// allocating interrupt handler) in `pin`, save the previous state in `token`, restore it in
/// `unpin`, and return the current CPU's number. The index is global for the hook type: every
/// pool using the hook uses cache `i` for that context. Indices `>= Config::max_cpus` of a
/// pool should not be returned (return `None`); the pool treats them as `None` anyway.
/// `None` means "no per-CPU cache now": the pool then goes to the shared depot under its
/// lock, which is always correct, just slower. `pin`/`unpin` must not allocate from the pool.
///
/// [`try_claim`](CpuHook::try_claim) lends an index that no context uses now (so the pool can
/// drain its caches): while its result is held and until the matching `release_claim`, no
/// other context may obtain that index from `pin` or `try_claim`, and the earlier owner's
/// uses of the index must happen-before the claim (e.g. the owner released it with Release
/// and the claim is an Acquire). The default never lends.
pub unsafe trait CpuHook {
    /// State saved by `pin` and restored by `unpin` (e.g. the interrupt flag).
    type Token;
    /// Claims the current context's cache index, or `None` for "no cache".
    fn pin() -> Option<(usize, Self::Token)>;
    /// Ends the claim made by the `pin` that returned `token`.
    fn unpin(token: Self::Token);
    /// Claims index `i` for the caller if no execution context uses it now (a thread slot no
    /// live thread owns, an offline CPU); `None` if it is in use or the hook cannot tell.
    /// The default returns `None` (the pool then leaves a drain request instead).
    fn try_claim(i: usize) -> Option<Self::Token> {
        let _ = i;
        None
    }
    /// Ends a claim of index `i` made by `try_claim`. The default calls `unpin`.
    fn release_claim(i: usize, token: Self::Token) {
        let _ = i;
        Self::unpin(token);
    }
}

/// A hook without caches: every operation takes the class lock (correct anywhere, e.g. before
/// per-CPU data exists, and exact for `peak_live`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCpuCache;

// SAFETY: `pin` never returns an index, so no index can be shared.
unsafe impl CpuHook for NoCpuCache {
    type Token = ();
    #[inline]
    fn pin() -> Option<(usize, ())> {
        None
    }
    #[inline]
    fn unpin(_token: ()) {}
}

/// The hook of a [`SlabPool`](crate::SlabPool) whose type names none (`SlabPool::new()`): with
/// the `std` feature [`ThreadSlots`](crate::ThreadSlots), so the default pool caches per
/// thread (as safe as `NoCpuCache` on a host: neither may be used from a signal handler);
/// without it [`NoCpuCache`], since only the embedder knows which CPU runs.
#[cfg(all(feature = "std", not(loom)))]
pub type DefaultHook = crate::ThreadSlots;
/// The hook of a [`SlabPool`](crate::SlabPool) whose type names none: [`NoCpuCache`] without
/// the `std` feature (only the embedder knows which CPU runs; implement [`CpuHook`]).
#[cfg(not(all(feature = "std", not(loom))))]
pub type DefaultHook = NoCpuCache;
