//! The parts of the zenslab test kernel that are pure logic, factored out of the guest so they
//! are unit-tested on the host (`cargo test -p kernel-core`) as well as linked into the kernel:
//! the command-line parser ([`cmdline`]) and the test registry with its selection
//! ([`registry`]). No hardware, no `unsafe`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod cmdline;
pub mod registry;
