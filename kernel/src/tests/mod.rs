//! The in-kernel test suites, registered in one place: [`ALL`].
//!
//! To add a test, write `pub fn my_test() -> TestResult` in a suite's file and add its name to
//! that suite's list below. To add a suite, add `mod my_suite;` and a `my_suite: [...]` line.
//! Names are checked for uniqueness at build time (see `kernel/README.md`). The command-line
//! parser and the registry's selection are host-tested in `kernel-core`.

#![deny(unsafe_code)]

mod bench;
mod boot;
pub mod crash;
mod heap;
mod model;
mod pool;
mod simd;
mod smp;

use kernel_core::registry::Suite;

/// Every suite and test, in the order they run.
pub static ALL: &[Suite] = kernel_core::suites![
    boot: [libc_memory_functions, memory_protections],
    heap: [box_vec_string],
    pool: [
        tensor_buffers_every_class,
        every_class_alignment,
        fallback_large_sizes,
        exhaustion_returns_null,
        stats_after_known_workload,
        add_region_serves_from_both,
    ],
    simd: [
        backend_matches_cpuid,
        relu,
        leaky_relu,
        sigmoid,
        tanh,
        gelu,
        gelu_tanh,
        silu,
        elu,
        exp,
        softmax,
    ],
    bench: [pool_vs_linked_list],
    smp: [
        cpus_online_match_madt,
        latch_names_missing_cpu,
        concurrent_alloc_free_every_class,
        cross_cpu_free_producer_consumer,
        simd_matches_scalar_every_cpu,
        throughput_scaling,
    ],
    model: [matches_reference, every_cpu],
];
