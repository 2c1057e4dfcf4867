//! Shared helpers for the benchmarks.

pub mod report;
pub mod targets;
