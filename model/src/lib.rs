//! `no_std` inference of a multilayer perceptron (dense layers, one hidden activation,
//! softmax output) stored in safetensors, written once for every place it runs: host tests,
//! benchmarks and the test kernel.
//!
//! * The maths is `simd-kernels`: [`simd_kernels::linear`] for the dense layers, its
//!   activations and row softmax, on the backend the caller picks ([`Mlp::forward_on`]) or
//!   the detected one ([`Mlp::forward`]).
//! * Every activation tensor comes from the [`Allocator`](allocator_api2::alloc::Allocator)
//!   the caller passes (the slab pool, `&SlabPool` implements it), and each is at most
//!   [`alloc_pool::MAX_CLASS_SIZE`] bytes, so a slab pool serves all of them from its size
//!   classes, never from its fallback heap: a batch is run in tiles of
//!   [`Mlp::tile_rows`] samples. The weights are decoded and packed once at load time (into
//!   ordinary `alloc` vectors, i.e. the global allocator).
//! * Errors are typed ([`ModelError`]); nothing here panics on bad files or shapes.
//!
//! [`embedded`] holds the committed models (scikit-learn's tanh digits MLP, a NumPy SiLU one)
//! with their references;
//! [`Agreement`] compares our probabilities with a reference and prints the one-line summary
//! the kernel test and the host test share.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod activation;
mod agreement;
mod counting;
pub mod embedded;
mod error;
mod mlp;
mod reference;
mod tensors;

pub use activation::Activation;
pub use agreement::{Agreement, argmax};
pub use counting::CountingAllocator;
pub use error::ModelError;
pub use mlp::Mlp;
pub use reference::ReferenceSet;
