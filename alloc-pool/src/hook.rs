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
pub unsafe trait CpuHook {
    /// State saved by `pin` and restored by `unpin` (e.g. the interrupt flag).
    type Token;
    /// Claims the current context's cache index, or `None` for "no cache".
    fn pin() -> Option<(usize, Self::Token)>;
    /// Ends the claim made by the `pin` that returned `token`.
    fn unpin(token: Self::Token);
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
