//! The in-kernel test suite, in registry order.

#![deny(unsafe_code)]

mod bench;
mod heap;
mod model;
mod pool;
mod simd;
mod smp;
mod support;

use crate::ktap::Test;

/// Every test, in the order they run.
pub static ALL: &[Test] = &[
    Test::new("boot_libc_memory_functions", support::libc_memory_functions),
    Test::new("boot_cmdline_tokens", support::cmdline_tokens),
    Test::new("heap_box_vec_string", heap::box_vec_string),
    Test::new(
        "pool_tensor_buffers_every_class",
        pool::tensor_buffers_every_class,
    ),
    Test::new("pool_every_class_alignment", pool::every_class_alignment),
    Test::new("pool_fallback_large_sizes", pool::fallback_large_sizes),
    Test::new(
        "pool_exhaustion_returns_null",
        pool::exhaustion_returns_null,
    ),
    Test::new(
        "pool_stats_after_known_workload",
        pool::stats_after_known_workload,
    ),
    Test::new("simd_backend_matches_cpuid", simd::backend_matches_cpuid),
    Test::new("simd_relu_matches_scalar", simd::relu),
    Test::new("simd_leaky_relu_matches_scalar", simd::leaky_relu),
    Test::new("simd_sigmoid_matches_scalar", simd::sigmoid),
    Test::new("simd_tanh_matches_scalar", simd::tanh),
    Test::new("simd_gelu_matches_scalar", simd::gelu),
    Test::new("simd_gelu_tanh_matches_scalar", simd::gelu_tanh),
    Test::new("simd_silu_matches_scalar", simd::silu),
    Test::new("simd_elu_matches_scalar", simd::elu),
    Test::new("simd_exp_matches_scalar", simd::exp),
    Test::new("simd_softmax_matches_scalar", simd::softmax),
    Test::new("bench_pool_vs_linked_list", bench::pool_vs_linked_list),
    Test::new("smp_cpus_online_match_madt", smp::cpus_online_match_madt),
    Test::new("smp_latch_names_missing_cpu", smp::latch_names_missing_cpu),
    Test::new(
        "smp_concurrent_alloc_free_every_class",
        smp::concurrent_alloc_free_every_class,
    ),
    Test::new(
        "smp_cross_cpu_free_producer_consumer",
        smp::cross_cpu_free_producer_consumer,
    ),
    Test::new(
        "smp_simd_matches_scalar_every_cpu",
        smp::simd_matches_scalar_every_cpu,
    ),
    Test::new("smp_throughput_scaling", smp::throughput_scaling),
    Test::new("model_matches_reference", model::matches_reference),
    Test::new("smp_model_every_cpu", model::every_cpu),
];
