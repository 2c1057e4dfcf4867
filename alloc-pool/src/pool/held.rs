//! Who may touch a CPU index's caches: [`Held`], the guard saying the current context has one
//! index to itself, [`Proof`], a copyable borrow of it, and [`HeldCache`], a cache reached
//! through a proof. The magazines of an index are used without a lock, so every use must
//! happen while its guard lives; with the proof in the types, the fast and slow paths need no
//! `unsafe` of their own for it. (The proof is a copy of the index tied to the guard's
//! lifetime, not a reference to the guard: the guard then never lives in memory, and its
//! drop folds away on the fast path.)

use core::marker::PhantomData;

use super::SlabPool;
use crate::cache::CpuClassCache;
use crate::freelist::Links;
use crate::hook::CpuHook;

/// How a [`Held`] ends.
enum End<T> {
    /// Taken with [`CpuHook::pin`]: `unpin(token)`.
    Unpin(T),
    /// Lent by [`CpuHook::try_claim`]: `release_claim(cpu, token)`.
    Release(T),
    /// Vouched for by the caller of an `unsafe` entry point: nothing to give back.
    Nothing,
}

/// Exclusive use of CPU index `cpu`'s caches (of every pool using hook `H`) until dropped.
/// Not `Send`: it ends in the context that took it (a pin restores that context's state).
pub(super) struct Held<H: CpuHook> {
    cpu: usize,
    end: End<H::Token>,
    _not_send: PhantomData<*mut ()>,
}

impl<H: CpuHook> Held<H> {
    /// The calling context's index, from the hook (`None`: no cache now).
    #[inline(always)]
    pub(super) fn pin() -> Option<Self> {
        H::pin().map(|(cpu, token)| Self::new(cpu, End::Unpin(token)))
    }

    /// Index `cpu`, if the hook lends it (nobody uses it now).
    pub(super) fn claim(cpu: usize) -> Option<Self> {
        H::try_claim(cpu).map(|token| Self::new(cpu, End::Release(token)))
    }

    /// Index `cpu` on the caller's word.
    ///
    /// # Safety
    /// No other execution context uses index `cpu` while the result lives, and every earlier
    /// use of it happened-before this call.
    pub(super) unsafe fn assume(cpu: usize) -> Self {
        Self::new(cpu, End::Nothing)
    }

    #[inline(always)]
    fn new(cpu: usize, end: End<H::Token>) -> Self {
        Self {
            cpu,
            end,
            _not_send: PhantomData,
        }
    }

    /// The index held.
    #[inline(always)]
    pub(super) fn cpu(&self) -> usize {
        self.cpu
    }

    /// A copyable proof that this index is held, valid while the guard is borrowed.
    #[inline(always)]
    pub(super) fn proof(&self) -> Proof<'_> {
        Proof {
            cpu: self.cpu,
            _held: PhantomData,
        }
    }
}

/// Index `cpu` is held (by a [`Held`] that outlives `'h`).
#[derive(Clone, Copy)]
pub(super) struct Proof<'h> {
    cpu: usize,
    _held: PhantomData<&'h ()>,
}

impl Proof<'_> {
    /// The index held.
    #[inline(always)]
    pub(super) fn cpu(self) -> usize {
        self.cpu
    }
}

impl<H: CpuHook> Drop for Held<H> {
    #[inline(always)]
    fn drop(&mut self) {
        match core::mem::replace(&mut self.end, End::Nothing) {
            End::Unpin(token) => H::unpin(token),
            End::Release(token) => H::release_claim(self.cpu, token),
            End::Nothing => {}
        }
    }
}

/// The cache of one class of a held index: its magazines may be used without a lock. Two
/// words, passed by value (a reference would make the fast path store it for the slow paths).
#[derive(Clone, Copy)]
pub(super) struct HeldCache<'h> {
    cache: &'h CpuClassCache,
    proof: Proof<'h>,
}

impl<'h> HeldCache<'h> {
    /// The index's proof, for slow paths that reach its other classes.
    #[inline(always)]
    pub(super) fn proof(self) -> Proof<'h> {
        self.proof
    }

    /// The cache's counters and drain request (readable by anyone).
    #[inline(always)]
    pub(super) fn cache(self) -> &'h CpuClassCache {
        self.cache
    }

    /// See [`CpuClassCache::pop`].
    #[inline(always)]
    pub(super) fn pop(self, links: Links<'_>) -> *mut u8 {
        // SAFETY: the proof's guard gives this context exclusive use of the index's caches.
        unsafe { self.cache.pop(links) }
    }

    /// See [`CpuClassCache::push`].
    ///
    /// # Safety
    /// `obj` is a free object of this cache's class, in no list; `link` is its address,
    /// writable for the link words; `links` is the class's codec.
    #[inline(always)]
    pub(super) unsafe fn push(
        self,
        links: Links<'_>,
        obj: *mut u8,
        link: *mut u8,
        batch: usize,
    ) -> bool {
        // SAFETY: the proof's guard gives exclusive use of the cache; the rest is the
        // caller's contract.
        unsafe { self.cache.push(links, obj, link, batch) }
    }

    /// See [`CpuClassCache::with_magazines`].
    pub(super) fn with_magazines<R>(
        self,
        f: impl FnOnce(&mut crate::cache::Magazines, bool) -> R,
    ) -> R {
        // SAFETY: the proof's guard gives this context exclusive use of the index's caches.
        unsafe { self.cache.with_magazines(f) }
    }
}

impl<H: CpuHook> SlabPool<H> {
    /// The cache of `class` of the held index, if it has one and the pool is initialised.
    #[inline(always)]
    pub(super) fn held_cache<'h>(
        &'h self,
        proof: Proof<'h>,
        class: usize,
    ) -> Option<HeldCache<'h>> {
        self.cache(proof.cpu(), class)
            .map(|cache| HeldCache { cache, proof })
    }
}
