//! `alloc_pool`: a `no_std` size-class slab pool for 64 B – 8 KiB tensor buffers.
//!
//! # Design
//! The magazine design of Bonwick & Adams (USENIX 2001), over a general heap:
//!
//! * **Regions and fallback heaps.** Each region (the first from `init`, more from
//!   [`SlabPool::add_region`], at most [`MAX_REGIONS`]) starts with a header, published once
//!   complete, holding a [`linked_list_allocator::Heap`] behind a spin lock that owns the
//!   rest of the region (minus the metadata carved from its start). The heaps serve every
//!   request larger than 8 KiB (size or alignment) and supply the slabs.
//! * **Slabs.** 64 KiB ([`SLAB_SIZE`]), 64 KiB-aligned, so every object is aligned to its class
//!   size. Metadata is *outside* the objects, in a descriptor table carved from the region at
//!   init and indexed by `(addr - slab_base) / SLAB_SIZE` within the region: no per-object header, and a free
//!   can be validated without trusting the object's bytes (hardened mode). Each class keeps a
//!   list of slabs with available objects; a slab whose objects are all back goes to the heap
//!   unless the class already keeps [`Config::empty_slabs_kept`] empty slabs, so memory freed
//!   by one class serves the others and large requests.
//! * **Depot.** Per class, under the class lock: a stack of full magazines (intrusive lists
//!   through the free objects; word 0 = next object, word 1 = next magazine) and a "loose"
//!   list used when no per-CPU cache is available. It holds at most
//!   [`Config::depot_magazines`] magazines (or the prefill, if more); further magazines go back
//!   to their slabs, and magazines the depot did not need for a while decay back to them too
//!   ([`Config::depot_decay_period`]).
//! * **Per-CPU caches.** `max_cpus × 8` entries carved from the first region, each a cache
//!   line with a *loaded* and a *previous* magazine followed by a line of the owner's
//!   counters (statistics read only the counters). Allocation pops from loaded, else swaps in a
//!   full previous, else exchanges with the depot; free pushes symmetrically. The fast path
//!   is `H::pin()`, a pop or push, a relaxed load + store of an owner-written counter,
//!   `H::unpin()`: no lock, no atomic read-modify-write. A free on another CPU than the
//!   allocation lands in the freeing CPU's cache (correct, no leak).
//! * **Reclaim.** [`SlabPool::trim`] drains the caller's caches and every index the hook can
//!   lend (an exited thread's slot), leaves drain requests that other CPUs honour at their
//!   next slow path, and returns depots and free slabs to the heaps; it runs once before any
//!   request fails. [`SlabPool::drain_cpu`] drains one CPU a kernel controls.
//! * **Which CPU am I:** the [`CpuHook`] trait; [`NoCpuCache`] (always the depot) and, with the
//!   `std` feature, `ThreadSlots` (one slot per host thread).
//!
//! Unsafe code lives in `sync`/`spin` (primitives), `freelist`, `slab`, `cache`, `regions`,
//! `hardened`, `report` and `pool`; policy (`class`, `config`, `region`, `stats`, `hook`) is
//! safe code.
//!
//! # Example
//! ```
//! use alloc_pool::{Config, SlabPool, NoCpuCache};
//! use core::alloc::{GlobalAlloc, Layout};
//! use core::mem::MaybeUninit;
//!
//! static POOL: SlabPool<NoCpuCache> = SlabPool::with_config(Config { max_cpus: 4, ..Config::DEFAULT });
//! let region: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new_uninit_slice(1 << 20));
//! POOL.init_from_slice(region).unwrap();
//! let layout = Layout::from_size_align(4096, 4096).unwrap();
//! let p = unsafe { POOL.alloc(layout) };
//! assert!(!p.is_null() && p.addr() % 4096 == 0);
//! unsafe { POOL.dealloc(p, layout) };
//! assert_eq!(POOL.stats().classes[6].live, 0);
//! ```
//!
//! # Features
//! * `std`: `ThreadSlots`.
//! * `hardened` (also on whenever debug assertions are): double frees, frees of pointers the
//!   pool does not own, frees with a layout of another class, reallocation of freed blocks,
//!   corrupted free-list links and writes into free objects are reported (address, class,
//!   what was wrong) by a function that never unwinds: see [`set_report_hook`]. Costs two
//!   atomic read-modify-writes of the object's bitmap word per allocation/free pair, an
//!   encode and a checked decode per list link followed, poisoning each freed object and
//!   checking the poison when it is handed out again (both linear in the object size).
#![no_std]

#[cfg(any(test, all(feature = "std", not(loom))))]
extern crate std;

mod cache;
mod class;
mod config;
mod error;
mod freelist;
#[cfg(hardened)]
mod hardened;
mod hook;
mod pool;
mod region;
mod regions;
mod report;
mod slab;
mod spin;
mod stats;
mod sync;
#[cfg(all(feature = "std", not(loom)))]
mod thread_slots;

#[cfg(test)]
mod tests;

pub use class::{CLASS_SIZES, MAX_CLASS_SIZE, MIN_CLASS_SIZE, NUM_CLASSES, SLAB_SIZE, class_index};
pub use config::Config;
pub use error::InitError;
#[cfg(hardened)]
pub use hardened::POISON;
pub use hook::{CpuHook, DefaultHook, NoCpuCache};
pub use pool::SlabPool;
pub use region::REGION_ALIGN;
pub use regions::MAX_REGIONS;
pub use report::{Report, ReportHook, set_report_hook};
pub use stats::{ClassStats, Stats};
#[cfg(all(feature = "std", not(loom)))]
pub use thread_slots::{MAX_EXIT_FLUSH_POOLS, MAX_SLOTS, ThreadSlots};

/// Whether this build checks frees and poisons freed memory (`hardened` feature or debug
/// assertions).
pub const HARDENED: bool = cfg!(hardened);
