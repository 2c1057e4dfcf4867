//! Shared helpers for the benchmarks, the report command and the instruction-count guard.

pub mod charts;
pub mod date;
pub mod guard;
pub mod report;
pub mod targets;
pub mod workloads;
