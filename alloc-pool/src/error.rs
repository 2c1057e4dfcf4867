//! Initialisation errors.
#![deny(unsafe_code)]

use core::fmt;

/// Why [`SlabPool::init`](crate::SlabPool::init) rejected a region. The pool is left
/// uninitialised (and may be initialised again) after every error except
/// `AlreadyInitialized`.
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
            Self::PrefillExhausted { class } => {
                write!(f, "region too small for the prefill of class {class}")
            }
        }
    }
}

impl core::error::Error for InitError {}
