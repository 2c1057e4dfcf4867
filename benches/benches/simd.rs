//! Criterion benchmarks of `simd-kernels` (issue 3): elements per second per function at
//! 4 KiB (L1), 256 KiB (L2) and 64 MiB (DRAM) of f32, side by side with
//!
//! * `zenslab` — the dispatched top-level function (AVX2+FMA on this machine),
//! * `scalar`  — `Backend::Scalar` (the portable fallback),
//! * `copy`    — `output.copy_from_slice(input)`, the memory floor,
//! * `sleef`   — Debian's SLEEF 3.5 AVX2 `_u10` functions through FFI (libsleef-dev), where
//!   SLEEF has the function or its building block (exp, expm1, tanh, erf),
//! * `tract`   — tract-linalg 0.23's x86_64 FMA kernels (sigmoid, tanh, silu, exp). tract's
//!   kernels are in place only, so each iteration gets a fresh copy of the input from
//!   `iter_batched_ref` (the copy is outside the timing).
//!
//! Groups are `simd/<function>/<size>` (criterion writes them to
//! `target/criterion/simd_<function>_<size>/<id>/new/estimates.json`).
//! Run: `cargo bench -p zenslab-benches --bench simd` (add a filter such as `simd/gelu`).

use std::arch::x86_64::*;
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use simd_kernels::Backend;
use tract_linalg::element_wise::ElementWise;
use tract_linalg::routines::{Func, RoutineFactory, declared};

const ELU_ALPHA: f32 = 1.0;
const LEAKY_ALPHA: f32 = 0.01;

/// SLEEF 3.5 AVX2 entry points (`/usr/include/x86_64-linux-gnu/sleef.h`), ≤ 1.0 ULP each:
/// `__m256 Sleef_expf8_u10avx2(__m256)` etc. SIMD types in `extern "C"` signatures are
/// unstable in Rust, so they are declared without a signature and called through
/// [`vcall!`] with the System V vector ABI (argument and result in `ymm0`).
mod sleef {
    #[link(name = "sleef")]
    unsafe extern "C" {
        pub fn Sleef_expf8_u10avx2();
        pub fn Sleef_expm1f8_u10avx2();
        pub fn Sleef_tanhf8_u10avx2();
        pub fn Sleef_erff8_u10avx2();
    }
}

/// Calls a SLEEF `__m256 f(__m256)` function. Must be used inside an `unsafe` block of a
/// function compiled with AVX enabled.
macro_rules! vcall {
    ($f:path, $v:expr) => {{
        let r: __m256;
        // The callee follows the System V ABI: `clobber_abi("C")` marks every caller-saved
        // register (all vector registers included) as clobbered; Rust guarantees a
        // call-aligned stack on entry to an `asm!` block without `nostack`.
        std::arch::asm!("call {f}", f = sym $f, inout("ymm0") $v => r, clobber_abi("C"));
        r
    }};
}

/// Generates `unsafe fn $name(input, output)` applying a SLEEF-based vector expression to
/// 8-lane chunks, with a stack-buffer tail (the same loop shape as the crate's kernels).
macro_rules! sleef_map {
    ($name:ident, |$v:ident| $body:expr) => {
        /// # Safety
        /// The CPU must support AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $name(input: &[f32], output: &mut [f32]) {
            let (ic, it) = input.as_chunks::<8>();
            let (oc, ot) = output.as_chunks_mut::<8>();
            for (i, o) in ic.iter().zip(oc.iter_mut()) {
                // SAFETY: `i` and `o` are whole `[f32; 8]` arrays; AVX is enabled here; the SLEEF
                // functions are pure, take `__m256` in ymm0 and return it there (see `vcall!`).
                unsafe {
                    let $v = _mm256_loadu_ps(i.as_ptr());
                    _mm256_storeu_ps(o.as_mut_ptr(), $body);
                }
            }
            if !it.is_empty() {
                let mut buf = [0.0f32; 8];
                buf[..it.len()].copy_from_slice(it);
                // SAFETY: as above, on the 8-lane stack buffer.
                unsafe {
                    let $v = _mm256_loadu_ps(buf.as_ptr());
                    _mm256_storeu_ps(buf.as_mut_ptr(), $body);
                }
                ot.copy_from_slice(&buf[..it.len()]);
            }
        }
    };
}

sleef_map!(sleef_exp, |v| vcall!(sleef::Sleef_expf8_u10avx2, v));
sleef_map!(sleef_tanh, |v| vcall!(sleef::Sleef_tanhf8_u10avx2, v));
sleef_map!(sleef_sigmoid, |v| {
    let one = _mm256_set1_ps(1.0);
    let e = vcall!(
        sleef::Sleef_expf8_u10avx2,
        _mm256_xor_ps(v, _mm256_set1_ps(-0.0))
    );
    _mm256_div_ps(one, _mm256_add_ps(one, e))
});
sleef_map!(sleef_silu, |v| {
    let one = _mm256_set1_ps(1.0);
    let e = vcall!(
        sleef::Sleef_expf8_u10avx2,
        _mm256_xor_ps(v, _mm256_set1_ps(-0.0))
    );
    _mm256_div_ps(v, _mm256_add_ps(one, e))
});
sleef_map!(sleef_gelu, |v| {
    let half_v = _mm256_mul_ps(_mm256_set1_ps(0.5), v);
    let e = vcall!(
        sleef::Sleef_erff8_u10avx2,
        _mm256_mul_ps(v, _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2),)
    );
    _mm256_fmadd_ps(half_v, e, half_v)
});
sleef_map!(sleef_gelu_tanh, |v| {
    let half_v = _mm256_mul_ps(_mm256_set1_ps(0.5), v);
    let v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    let inner = _mm256_mul_ps(
        _mm256_set1_ps(0.797_884_6),
        _mm256_fmadd_ps(_mm256_set1_ps(0.044_715), v3, v),
    );
    let t = vcall!(sleef::Sleef_tanhf8_u10avx2, inner);
    _mm256_fmadd_ps(half_v, t, half_v)
});
sleef_map!(sleef_elu, |v| {
    let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(v, _mm256_setzero_ps());
    let em1 = vcall!(sleef::Sleef_expm1f8_u10avx2, v);
    _mm256_blendv_ps(v, _mm256_mul_ps(_mm256_set1_ps(ELU_ALPHA), em1), neg)
});

type Kernel = fn(&[f32], &mut [f32]);

/// A safe wrapper: the SLEEF rows are only registered when AVX2+FMA is available.
macro_rules! sleef_safe {
    ($f:ident) => {
        |i: &[f32], o: &mut [f32]| {
            assert!(Backend::Avx2Fma.is_available());
            // SAFETY: the assertion above checked AVX2 and FMA.
            unsafe { $f(i, o) }
        }
    };
}

/// tract-linalg's x86_64 FMA kernel for `func`, if this build has one.
fn tract_fma(func: Func) -> Option<Box<dyn ElementWise<f32>>> {
    declared()
        .filter(|r| r.func == func && r.name().contains("fma"))
        .find_map(|r| match r.factory {
            RoutineFactory::F32(f) => Some(f()),
            _ => None,
        })
}

struct Case {
    name: &'static str,
    zenslab: Kernel,
    scalar: Kernel,
    sleef: Option<Kernel>,
    tract: Option<Func>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "relu",
            zenslab: simd_kernels::relu,
            scalar: |i, o| Backend::Scalar.relu(i, o),
            sleef: None,
            tract: None,
        },
        Case {
            name: "leaky_relu",
            zenslab: |i, o| simd_kernels::leaky_relu(i, o, LEAKY_ALPHA),
            scalar: |i, o| Backend::Scalar.leaky_relu(i, o, LEAKY_ALPHA),
            sleef: None,
            tract: None,
        },
        Case {
            name: "sigmoid",
            zenslab: simd_kernels::sigmoid,
            scalar: |i, o| Backend::Scalar.sigmoid(i, o),
            sleef: Some(sleef_safe!(sleef_sigmoid)),
            tract: Some(Func::Sigmoid),
        },
        Case {
            name: "tanh",
            zenslab: simd_kernels::tanh,
            scalar: |i, o| Backend::Scalar.tanh(i, o),
            sleef: Some(sleef_safe!(sleef_tanh)),
            tract: Some(Func::Tanh),
        },
        Case {
            name: "gelu",
            zenslab: simd_kernels::gelu,
            scalar: |i, o| Backend::Scalar.gelu(i, o),
            sleef: Some(sleef_safe!(sleef_gelu)),
            tract: None,
        },
        Case {
            name: "gelu_tanh",
            zenslab: simd_kernels::gelu_tanh,
            scalar: |i, o| Backend::Scalar.gelu_tanh(i, o),
            sleef: Some(sleef_safe!(sleef_gelu_tanh)),
            tract: None,
        },
        Case {
            name: "silu",
            zenslab: simd_kernels::silu,
            scalar: |i, o| Backend::Scalar.silu(i, o),
            sleef: Some(sleef_safe!(sleef_silu)),
            tract: Some(Func::Silu),
        },
        Case {
            name: "elu",
            zenslab: |i, o| simd_kernels::elu(i, o, ELU_ALPHA),
            scalar: |i, o| Backend::Scalar.elu(i, o, ELU_ALPHA),
            sleef: Some(sleef_safe!(sleef_elu)),
            tract: None,
        },
        Case {
            name: "exp",
            zenslab: simd_kernels::exp,
            scalar: |i, o| Backend::Scalar.exp(i, o),
            sleef: Some(sleef_safe!(sleef_exp)),
            tract: Some(Func::Exp),
        },
        Case {
            name: "softmax",
            zenslab: simd_kernels::softmax,
            scalar: |i, o| Backend::Scalar.softmax(i, o),
            sleef: None,
            tract: None,
        },
    ]
}

/// Deterministic inputs uniform in [−8, 8): the range activations see.
fn inputs(len: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 16.0
        })
        .collect()
}

fn bench_case(group: &mut BenchmarkGroup<'_, WallTime>, case: &Case, input: &[f32]) {
    let mut output = vec![0.0f32; input.len()];
    group.bench_function("zenslab", |b| {
        b.iter(|| (case.zenslab)(black_box(input), black_box(&mut output)))
    });
    group.bench_function("scalar", |b| {
        b.iter(|| (case.scalar)(black_box(input), black_box(&mut output)))
    });
    group.bench_function("copy", |b| {
        b.iter(|| black_box(&mut output[..]).copy_from_slice(black_box(input)))
    });
    if let Some(f) = case.sleef.filter(|_| Backend::Avx2Fma.is_available()) {
        group.bench_function("sleef", |b| {
            b.iter(|| f(black_box(input), black_box(&mut output)))
        });
    }
    if let Some(kernel) = case.tract.and_then(tract_fma) {
        group.bench_function("tract", |b| {
            b.iter_batched_ref(
                || input.to_vec(),
                |buf| kernel.run(black_box(buf)).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
}

/// Checks that every peer computes the same function as ours before timing it (catches a
/// broken FFI call or a wrong tract routine): |a − b| ≤ 1e-5 + 1e-4·|b| on the bench inputs.
fn verify_peers(input: &[f32]) {
    for case in cases() {
        let mut ours = vec![0.0f32; input.len()];
        (case.zenslab)(input, &mut ours);
        let check = |who: &str, theirs: &[f32]| {
            for ((&x, &a), &b) in input.iter().zip(theirs).zip(&ours) {
                assert!(
                    (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
                    "{who} {}({x}) = {a}, zenslab says {b}",
                    case.name
                );
            }
        };
        if let Some(f) = case.sleef.filter(|_| Backend::Avx2Fma.is_available()) {
            let mut out = vec![0.0f32; input.len()];
            f(input, &mut out);
            check("sleef", &out);
        }
        if let Some(kernel) = case.tract.and_then(tract_fma) {
            let mut out = input.to_vec();
            kernel.run(&mut out).unwrap();
            check(kernel.name(), &out);
        }
    }
}

/// Distance in representable f32 values (the ULP distance of two finite results).
fn ulp_distance(a: f32, b: f32) -> u64 {
    fn ordered(x: f32) -> i64 {
        let i = x.to_bits() as i32 as i64;
        if i < 0 { i64::from(i32::MIN) - i } else { i }
    }
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    ordered(a).abs_diff(ordered(b))
}

/// Prints the worst disagreement (in ULP) of each implementation with our scalar path (itself
/// within 0.53 ULP of an f64 reference, see the crate's accuracy sweep) on a grid of step 1e-4
/// over [−30, 30]: accuracy context for the timings (not a test).
fn print_accuracy() {
    let grid: Vec<f32> = (0..=600_000).map(|i| -30.0 + i as f32 * 1e-4).collect();
    for case in cases() {
        let mut reference = vec![0.0f32; grid.len()];
        (case.scalar)(&grid, &mut reference);
        let worst = |out: &[f32]| {
            let (d, x) = grid
                .iter()
                .zip(out.iter().zip(&reference))
                .map(|(&x, (&a, &b))| (ulp_distance(a, b), x))
                .max_by_key(|&(d, _)| d)
                .unwrap_or((0, 0.0));
            format!("{d} ULP at x = {x}")
        };
        let mut out = vec![0.0f32; grid.len()];
        (case.zenslab)(&grid, &mut out);
        let mut line = format!("ACCURACY {:<10} zenslab {}", case.name, worst(&out));
        if let Some(f) = case.sleef.filter(|_| Backend::Avx2Fma.is_available()) {
            f(&grid, &mut out);
            line += &format!(" | sleef {}", worst(&out));
        }
        if let Some(kernel) = case.tract.and_then(tract_fma) {
            let mut buf = grid.clone();
            kernel.run(&mut buf).unwrap();
            line += &format!(" | tract {}", worst(&buf));
        }
        eprintln!("{line}");
    }
}

fn simd(c: &mut Criterion) {
    verify_peers(&inputs(4099));
    print_accuracy();
    let sizes: [(&str, usize); 3] = [
        ("4KiB", 4 << 10),
        ("256KiB", 256 << 10),
        ("64MiB", 64 << 20),
    ];
    eprintln!(
        "simd-kernels backend: {}",
        simd_kernels::active_backend().name()
    );
    for (label, bytes) in sizes {
        let input = inputs(bytes / 4);
        for case in cases() {
            let mut group = c.benchmark_group(format!("simd/{}/{label}", case.name));
            group.throughput(Throughput::Elements(input.len() as u64));
            if bytes >= 64 << 20 {
                group
                    .sample_size(10)
                    .sampling_mode(SamplingMode::Flat)
                    .warm_up_time(Duration::from_millis(300))
                    .measurement_time(Duration::from_secs(2));
            } else {
                group
                    .sample_size(30)
                    .warm_up_time(Duration::from_millis(300))
                    .measurement_time(Duration::from_millis(1200));
            }
            bench_case(&mut group, &case, &input);
            group.finish();
        }
    }
}

criterion_group!(benches, simd);
criterion_main!(benches);
