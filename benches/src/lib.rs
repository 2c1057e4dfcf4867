//! Shared helpers for the benchmarks, the report command and the instruction-count guard.

pub mod charts;
pub mod clock;
pub mod copy_loop;
pub mod cpu;
pub mod date;
pub mod floors;
pub mod fragmentation;
pub mod guard;
pub mod report;
pub mod simd_cycles;
pub mod simd_layout;
pub mod simd_targets;
pub mod targets;
pub mod workloads;

use std::path::PathBuf;

/// The workspace's cargo target directory: `$CARGO_TARGET_DIR`, else `target/` at the
/// workspace root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// Criterion's output directory, chosen as criterion chooses it for this workspace:
/// `$CRITERION_HOME`, else `criterion/` in the [`target_dir`].
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    target_dir().join("criterion")
}
