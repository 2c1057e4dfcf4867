//! Criterion benchmarks of `simd-kernels`: elements per second per function and size, side by
//! side with its peers and baselines in one run, for the report to convert into core cycles
//! (`cargo run -p zenslab-benches --release --bin report`). Rows are `simd/<function>/<size>`
//! at 64 floats (per-call overhead), 4 KiB (L1), 64 KiB (input and output in Zen 3's 512 KiB
//! L2) and 64 MiB (memory); the row and column names are in `zenslab_benches::simd_layout`.
//! Columns:
//!
//! * `zenslab` — the dispatched top-level function, out of place, input and output 64-byte
//!   aligned; `zenslab_inplace` — the `*_inplace` function, fed like tract (below);
//!   `zenslab_unaligned_out` — the output one float off alignment (4 KiB, 64 KiB);
//!   `zenslab_outliers` — 1 % of the lanes at |x| > 90, softmax with −1e4 logits (4 KiB);
//! * `scalar` — `Backend::Scalar`, the portable fallback (4 KiB);
//! * `sleef` — Debian's SLEEF 3.5 AVX2 `_u10` functions through FFI (libsleef-dev), where
//!   SLEEF has the function or its building block (exp, expm1, tanh, erf);
//! * `tract` — tract-linalg 0.23's x86_64 FMA kernels (sigmoid, tanh, silu, exp), in place only.
//!
//! In-place calls (ours, tract's and the in-place copy loop alike) run on fresh copies of the
//! input: a batch of copies sized to stay in the cache level of the row is refreshed untimed,
//! then the calls on the batch are timed together (one timer read per batch).
//!
//! The rows `simd/copy/<size>` hold the baselines: `copy_loop` (an AVX `vmovups` loop of the
//! kernels' shape), `copy_loop_inplace` (the same loop storing back where it loaded) and
//! `memcpy` (`copy_from_slice`: glibc's `memcpy`, information only).
//!
//! Before and after its timed runs the benchmark measures the core clock (dependent adds) and
//! records it with the CPU in `<criterion dir>/simd_clock.json`, which the report reads.
//! Run: `cargo bench -p zenslab-benches --bench simd` (add a filter such as `simd/gelu`);
//! about four minutes in all.

use std::arch::x86_64::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    Bencher, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use simd_kernels::Backend;
use tract_linalg::element_wise::ElementWise;
use tract_linalg::routines::{Func, RoutineFactory, declared};
use zenslab_benches::clock::{self, ClockRecord};
use zenslab_benches::copy_loop::Avx;
use zenslab_benches::cpu::CpuId;
use zenslab_benches::simd_layout::{CALL, COPY, DRAM, L1, L2, SIZES, Size, group, id};

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

type InPlace = fn(&mut [f32]);

struct Case {
    name: &'static str,
    zenslab: Kernel,
    inplace: InPlace,
    scalar: Kernel,
    sleef: Option<Kernel>,
    tract: Option<Func>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "relu",
            zenslab: simd_kernels::relu,
            inplace: simd_kernels::relu_inplace,
            scalar: |i, o| Backend::Scalar.relu(i, o),
            sleef: None,
            tract: None,
        },
        Case {
            name: "leaky_relu",
            zenslab: |i, o| simd_kernels::leaky_relu(i, o, LEAKY_ALPHA),
            inplace: |d| simd_kernels::leaky_relu_inplace(d, LEAKY_ALPHA),
            scalar: |i, o| Backend::Scalar.leaky_relu(i, o, LEAKY_ALPHA),
            sleef: None,
            tract: None,
        },
        Case {
            name: "sigmoid",
            zenslab: simd_kernels::sigmoid,
            inplace: simd_kernels::sigmoid_inplace,
            scalar: |i, o| Backend::Scalar.sigmoid(i, o),
            sleef: Some(sleef_safe!(sleef_sigmoid)),
            tract: Some(Func::Sigmoid),
        },
        Case {
            name: "tanh",
            zenslab: simd_kernels::tanh,
            inplace: simd_kernels::tanh_inplace,
            scalar: |i, o| Backend::Scalar.tanh(i, o),
            sleef: Some(sleef_safe!(sleef_tanh)),
            tract: Some(Func::Tanh),
        },
        Case {
            name: "gelu",
            zenslab: simd_kernels::gelu,
            inplace: simd_kernels::gelu_inplace,
            scalar: |i, o| Backend::Scalar.gelu(i, o),
            sleef: Some(sleef_safe!(sleef_gelu)),
            tract: None,
        },
        Case {
            name: "gelu_tanh",
            zenslab: simd_kernels::gelu_tanh,
            inplace: simd_kernels::gelu_tanh_inplace,
            scalar: |i, o| Backend::Scalar.gelu_tanh(i, o),
            sleef: Some(sleef_safe!(sleef_gelu_tanh)),
            tract: None,
        },
        Case {
            name: "silu",
            zenslab: simd_kernels::silu,
            inplace: simd_kernels::silu_inplace,
            scalar: |i, o| Backend::Scalar.silu(i, o),
            sleef: Some(sleef_safe!(sleef_silu)),
            tract: Some(Func::Silu),
        },
        Case {
            name: "elu",
            zenslab: |i, o| simd_kernels::elu(i, o, ELU_ALPHA),
            inplace: |d| simd_kernels::elu_inplace(d, ELU_ALPHA),
            scalar: |i, o| Backend::Scalar.elu(i, o, ELU_ALPHA),
            sleef: Some(sleef_safe!(sleef_elu)),
            tract: None,
        },
        Case {
            name: "exp",
            zenslab: simd_kernels::exp,
            inplace: simd_kernels::exp_inplace,
            scalar: |i, o| Backend::Scalar.exp(i, o),
            sleef: Some(sleef_safe!(sleef_exp)),
            tract: Some(Func::Exp),
        },
        Case {
            name: "softmax",
            zenslab: simd_kernels::softmax,
            inplace: simd_kernels::softmax_inplace,
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

/// `inputs(len)` with one lane in every 100 moved out of range, at a position that moves
/// from block to block so that about 8 % of the 8-lane vectors hold one: |x| in 90..98, both
/// signs (exp overflows, sigmoid and exp underflow to subnormals), or −1e4 for softmax (a
/// masked logit: its exponential underflows after the maximum is subtracted).
fn with_outliers(clean: &[f32], softmax: bool) -> Vec<f32> {
    let mut v = clean.to_vec();
    for (block, chunk) in v.chunks_mut(100).enumerate() {
        let lane = block * 37 % chunk.len();
        let magnitude = 90.5 + (block % 8) as f32;
        chunk[lane] = match (softmax, block % 2) {
            (true, _) => -1e4,
            (false, 0) => magnitude,
            (false, _) => -magnitude,
        };
    }
    v
}

/// An f32 buffer whose slice starts `shift` floats after a 64-byte boundary (the allocator
/// only promises 16-byte alignment).
struct Aligned {
    storage: Vec<f32>,
    start: usize,
    len: usize,
}

impl Aligned {
    fn new(data: &[f32], shift: usize) -> Self {
        let mut storage = vec![0.0f32; data.len() + 16 + shift];
        let start = storage.as_ptr().align_offset(64) + shift;
        assert!(start + data.len() <= storage.len(), "cannot align");
        storage[start..start + data.len()].copy_from_slice(data);
        Self {
            storage,
            start,
            len: data.len(),
        }
    }

    fn get(&self) -> &[f32] {
        &self.storage[self.start..self.start + self.len]
    }

    fn get_mut(&mut self) -> &mut [f32] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// In-place calls per timed batch: as many fresh copies as stay in the row's cache level
/// (24 KiB of Zen 3's 32 KiB L1D, 256 KiB of its 512 KiB L2), one at 64 MiB.
fn in_place_batch(size: Size) -> usize {
    match size.bytes {
        b if b <= L1.bytes => ((24 << 10) / b).clamp(1, 96),
        b if b <= L2.bytes => ((256 << 10) / b).max(1),
        _ => 1,
    }
}

/// Times `f` in place on fresh copies of `input`: each batch of copies is refreshed untimed,
/// then the calls on the batch are timed together. Every in-place row (ours, tract, the copy
/// loop) is measured through here, so they are fed alike.
fn time_in_place(b: &mut Bencher<'_>, input: &[f32], size: Size, mut f: impl FnMut(&mut [f32])) {
    let mut copies: Vec<Aligned> = (0..in_place_batch(size))
        .map(|_| Aligned::new(input, 0))
        .collect();
    b.iter_custom(|iters| {
        let mut timed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(copies.len() as u64) as usize;
            for copy in &mut copies[..n] {
                copy.get_mut().copy_from_slice(input);
            }
            let start = Instant::now();
            for copy in &mut copies[..n] {
                f(black_box(copy.get_mut()));
            }
            timed += start.elapsed();
            left -= n as u64;
        }
        timed
    });
}

/// Sampling settings: short at the cache sizes (each call takes microseconds), flat and few
/// samples at 64 MiB (each call takes milliseconds). Only the median is used, so the
/// bootstrap that estimates its confidence interval is kept small.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, size: Size) {
    group
        .throughput(Throughput::Elements(size.elements() as u64))
        .nresamples(5_000);
    if size == DRAM {
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500));
    } else {
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(700));
    }
}

/// The inputs of one size: in range, and with 1 % out-of-range lanes where that row runs.
struct Inputs {
    clean: Aligned,
    outliers: Option<(Aligned, Aligned)>,
}

impl Inputs {
    fn new(size: Size) -> Self {
        let clean = inputs(size.elements());
        let outliers = (size == L1).then(|| {
            (
                Aligned::new(&with_outliers(&clean, false), 0),
                Aligned::new(&with_outliers(&clean, true), 0),
            )
        });
        Self {
            clean: Aligned::new(&clean, 0),
            outliers,
        }
    }
}

/// One function's row at one size. Which columns run where (to keep the run short): in place
/// everywhere except 64 floats, where only the tract functions run it; unaligned output at
/// 4 KiB and 64 KiB; out-of-range lanes and the scalar path at 4 KiB; SLEEF except at 64
/// floats; tract everywhere.
fn bench_case(c: &mut Criterion, case: &Case, size: Size, inputs: &Inputs) {
    let mut group = c.benchmark_group(group(case.name, size));
    configure(&mut group, size);
    let input = inputs.clean.get();
    let mut output = Aligned::new(input, 0);
    group.bench_function(id::ZENSLAB, |b| {
        b.iter(|| (case.zenslab)(black_box(input), black_box(output.get_mut())))
    });
    let tract = case.tract.and_then(tract_fma);
    if size != CALL || tract.is_some() {
        group.bench_function(id::INPLACE, |b| time_in_place(b, input, size, case.inplace));
    }
    if size == L1 || size == L2 {
        let mut shifted = Aligned::new(input, 1);
        group.bench_function(id::UNALIGNED_OUT, |b| {
            b.iter(|| (case.zenslab)(black_box(input), black_box(shifted.get_mut())))
        });
    }
    if let Some((outliers, masked)) = &inputs.outliers
        && !matches!(case.name, "relu" | "leaky_relu")
    {
        let odd = if case.name == "softmax" {
            masked
        } else {
            outliers
        };
        group.bench_function(id::OUTLIERS, |b| {
            b.iter(|| (case.zenslab)(black_box(odd.get()), black_box(output.get_mut())))
        });
    }
    if size == L1 {
        group.bench_function(id::SCALAR, |b| {
            b.iter(|| (case.scalar)(black_box(input), black_box(output.get_mut())))
        });
    }
    if let Some(f) = case
        .sleef
        .filter(|_| size != CALL && Backend::Avx2Fma.is_available())
    {
        group.bench_function(id::SLEEF, |b| {
            b.iter(|| f(black_box(input), black_box(output.get_mut())))
        });
    }
    if let Some(kernel) = tract {
        group.bench_function(id::TRACT, |b| {
            time_in_place(b, input, size, |buf| kernel.run(buf).unwrap())
        });
    }
    group.finish();
}

/// The copy baselines at one size.
fn bench_copies(c: &mut Criterion, avx: Avx, size: Size, inputs: &Inputs) {
    let mut group = c.benchmark_group(group(COPY, size));
    configure(&mut group, size);
    let input = inputs.clean.get();
    let mut output = Aligned::new(input, 0);
    group.bench_function(id::COPY_LOOP, |b| {
        b.iter(|| avx.copy(black_box(input), black_box(output.get_mut())))
    });
    group.bench_function(id::COPY_LOOP_INPLACE, |b| {
        time_in_place(b, input, size, |buf| avx.copy_in_place(buf))
    });
    group.bench_function(id::MEMCPY, |b| {
        b.iter(|| black_box(output.get_mut()).copy_from_slice(black_box(input)))
    });
    group.finish();
}

/// Checks that every peer computes the same function as ours before timing it (catches a
/// broken FFI call or a wrong tract routine): |a − b| ≤ 1e-5 + 1e-4·|b| on the bench inputs.
fn verify_peers(input: &[f32], avx: Option<Avx>) {
    if let Some(avx) = avx {
        let mut out = vec![0.0f32; input.len()];
        avx.copy(input, &mut out);
        assert_eq!(out, input, "copy loop");
    }
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
        let mut in_place = input.to_vec();
        (case.inplace)(&mut in_place);
        check("zenslab in place", &in_place);
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

/// Clock runs before and after the timed runs (about 30 ms each way).
const CLOCK_RUNS: usize = 31;

fn simd(c: &mut Criterion) {
    let avx = Avx::detect();
    verify_peers(&inputs(4099), avx);
    print_accuracy();
    eprintln!(
        "simd-kernels backend: {}",
        simd_kernels::active_backend().name()
    );
    let before_ghz = clock::measure(CLOCK_RUNS);
    for size in SIZES {
        let inputs = Inputs::new(size);
        for case in cases() {
            bench_case(c, &case, size, &inputs);
        }
        if let Some(avx) = avx {
            bench_copies(c, avx, size, &inputs);
        }
    }
    let after_ghz = clock::measure(CLOCK_RUNS);
    if let Some(cpu) = CpuId::current() {
        let record = ClockRecord {
            cpu,
            before_ghz,
            after_ghz,
        };
        let dir = zenslab_benches::criterion_dir();
        match record.save(&dir) {
            Ok(()) => eprintln!(
                "clock {:.3} GHz (before and after the timed runs) recorded in {}",
                record.ghz().unwrap_or(f64::NAN),
                dir.join(clock::RECORD_FILE).display()
            ),
            Err(e) => eprintln!("cannot record the clock in {}: {e}", dir.display()),
        }
    }
}

criterion_group!(benches, simd);
criterion_main!(benches);
