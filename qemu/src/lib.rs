//! Host runner for the zenslab test kernel: builds the kernel (nested cargo), boots it under
//! `qemu-system-x86_64`, streams its serial port, parses the KTAP version 1 report and classifies
//! the run as passed / failed / crashed / timed out / error, each with its own exit code.
//!
//! The parser ([`ktap`]) and the classification ([`outcome`]) are pure functions; [`session`]
//! owns the QEMU process; [`cli`] is what the binary runs. The guest contract (PVH boot, KTAP on
//! COM1, exit port and codes, command-line tokens, crash-line prefixes) is `qemu/README.md`; its
//! values live in the `ktap-abi` crate, which the zenslab kernel imports too.

#![deny(unsafe_code)]

pub mod cli;
pub mod command;
pub mod error;
pub mod kernel_build;
pub mod ktap;
pub mod options;
pub mod outcome;
pub mod session;
pub mod summary;

pub use cli::{Run, main_with_args, run};
pub use command::{QemuCommand, find_qemu};
pub use error::RunnerError;
pub use ktap::{KtapReport, TestResult, TestStatus, parse};
pub use options::Options;
pub use outcome::{Outcome, Policy, QemuEnd, Verdict, classify};
