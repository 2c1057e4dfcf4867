//! The instruction-count guard: hot paths of the pool and the SIMD kernels measured under
//! Valgrind's Callgrind, compared with a committed baseline.
//!
//! * [`cases`]: what is measured. The `perf-guard cases` client runs every case's warm-up
//!   outside, then its iterations inside [`cases::zenslab_perf_guard_region`], the one function
//!   Callgrind collects in (`--toggle-collect`) and dumps after (`--dump-after`).
//! * [`callgrind`]: running the client under Valgrind and reading each dump's totals.
//! * [`baseline`]: the committed counts, thresholds with reasons, the comparison table and
//!   the history the charts read.
//!
//! Counts depend on the code and the compiler, not on the CPU model: the SIMD cases go
//! through runtime dispatch, which sees the CPU Valgrind reports (AVX2 and FMA, never AVX-512),
//! and no glibc code runs inside the measured region (glibc picks `memcpy` and friends by CPU
//! through ifuncs), which [`callgrind`] checks on every run.

pub mod baseline;
pub mod callgrind;
pub mod cases;
