//! Initialisation errors.
#![deny(unsafe_code)]

use core::fmt;

/// Why [`SlabPool::init`](crate::SlabPool::init) or
/// [`SlabPool::add_region`](crate::SlabPool::add_region) rejected a region. After a failed
/// `init` (except `AlreadyInitialized`) the pool is uninitialised and may be initialised
/// again; a failed `add_region` leaves the pool as it was. The region is left unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// The pool was already initialised (or an initialisation is running on another thread).
    AlreadyInitialized,
    /// The start pointer is null.
    NullRegion,
    /// The start is not aligned to [`REGION_ALIGN`](crate::REGION_ALIGN) bytes.
    Misaligned {
        /// Start address of the region.
        addr: usize,
        /// Required alignment.
        required: usize,
    },
    /// `start + len` overflows the address space.
    AddressOverflow,
    /// The region cannot hold the metadata plus one slab (or the configuration is unusable,
    /// e.g. `max_cpus` so large its caches overflow).
    TooSmall {
        /// Bytes needed at least.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// `add_region` before `init` finished.
    NotInitialized,
    /// The pool already owns [`MAX_REGIONS`](crate::MAX_REGIONS) regions.
    TooManyRegions {
        /// The limit.
        max: usize,
    },
    /// The region overlaps one the pool already owns.
    Overlaps {
        /// Start address of the rejected region.
        addr: usize,
    },
    /// The region is too small for the configured prefill of this class.
    PrefillExhausted {
        /// Index of the class (0 = 64 B … 7 = 8 KiB).
        class: usize,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::AlreadyInitialized => f.write_str("pool already initialised"),
            Self::NullRegion => f.write_str("region start is null"),
            Self::Misaligned { addr, required } => {
                write!(f, "region start {addr:#x} is not {required}-byte aligned")
            }
            Self::AddressOverflow => f.write_str("region end overflows the address space"),
            Self::TooSmall { needed, got } => {
                write!(
                    f,
                    "region of {got} bytes is too small, need at least {needed}"
                )
            }
            Self::NotInitialized => f.write_str("pool not initialised"),
            Self::TooManyRegions { max } => write!(f, "pool already owns {max} regions"),
            Self::Overlaps { addr } => {
                write!(f, "region at {addr:#x} overlaps one the pool owns")
            }
            Self::PrefillExhausted { class } => {
                write!(f, "region too small for the prefill of class {class}")
            }
        }
    }
}

impl core::error::Error for InitError {}
