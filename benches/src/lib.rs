//! Shared helpers for the benchmarks.

pub mod fragmentation;
pub mod report;
pub mod targets;
