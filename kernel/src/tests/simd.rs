//! `simd_kernels` in the kernel: the backend chosen at run time (and why), and every function
//! on the active backend against the scalar path on the same inputs, within the sum of both
//! paths' documented error bounds (bit-exact where both are exact).

use crate::cpu::cpuid;
use crate::ktap::{Stop, TestResult};
use crate::{check, diag};
use alloc::vec::Vec;
use simd_kernels::{Backend, active_backend};

/// Slice lengths: every tail of a 2×8-lane vector, plus long rows.
const LENGTHS: [usize; 20] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 256, 1031,
];

/// Inputs that hit special cases: signed zeros, infinities, NaN, subnormals, the overflow and
/// underflow edges of `exp`, large magnitudes.
const SPECIALS: [f32; 22] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    1.0e-40,
    -1.0e-40,
    88.72,
    88.73,
    -87.33,
    -103.9,
    -104.0,
    1.0e-7,
    -1.0e-7,
    9.0,
    -9.0,
    20.0,
    -20.0,
    f32::MAX,
    f32::MIN,
];

/// One function under test: out-of-place and in-place forms on a given backend.
pub struct Kernel {
    name: &'static str,
    /// Allowed distance (ordered-integer ULPs) between the two backends.
    tolerance: u32,
    run: fn(Backend, &[f32], &mut [f32]),
    run_inplace: fn(Backend, &mut [f32]),
    /// Whether inputs are one softmax row (special values make the whole row special).
    row: bool,
}

/// The kernels, with tolerance = scalar bound + AVX2 bound + 1 (binade edges).
pub const KERNELS: [Kernel; 10] = [
    Kernel {
        name: "relu",
        tolerance: 0,
        run: |b, i, o| b.relu(i, o),
        run_inplace: |b, d| b.relu_inplace(d),
        row: false,
    },
    Kernel {
        name: "leaky_relu",
        tolerance: 0,
        run: |b, i, o| b.leaky_relu(i, o, 0.01),
        run_inplace: |b, d| b.leaky_relu_inplace(d, 0.01),
        row: false,
    },
    Kernel {
        name: "sigmoid",
        tolerance: 5,
        run: |b, i, o| b.sigmoid(i, o),
        run_inplace: |b, d| b.sigmoid_inplace(d),
        row: false,
    },
    Kernel {
        name: "tanh",
        tolerance: 5,
        run: |b, i, o| b.tanh(i, o),
        run_inplace: |b, d| b.tanh_inplace(d),
        row: false,
    },
    Kernel {
        name: "gelu",
        tolerance: 9,
        run: |b, i, o| b.gelu(i, o),
        run_inplace: |b, d| b.gelu_inplace(d),
        row: false,
    },
    Kernel {
        name: "gelu_tanh",
        tolerance: 9,
        run: |b, i, o| b.gelu_tanh(i, o),
        run_inplace: |b, d| b.gelu_tanh_inplace(d),
        row: false,
    },
    Kernel {
        name: "silu",
        tolerance: 5,
        run: |b, i, o| b.silu(i, o),
        run_inplace: |b, d| b.silu_inplace(d),
        row: false,
    },
    Kernel {
        name: "elu",
        tolerance: 3,
        run: |b, i, o| b.elu(i, o, 1.0),
        run_inplace: |b, d| b.elu_inplace(d, 1.0),
        row: false,
    },
    Kernel {
        name: "exp",
        tolerance: 5,
        run: |b, i, o| b.exp(i, o),
        run_inplace: |b, d| b.exp_inplace(d),
        row: false,
    },
    Kernel {
        name: "softmax",
        tolerance: 7,
        run: |b, i, o| b.softmax(i, o),
        run_inplace: |b, d| b.softmax_inplace(d),
        row: true,
    },
];

impl Kernel {
    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Distance in representable f32 steps (0 for equal values, including ±0 vs ±0 when both
/// have the same bits; NaN is handled by the caller).
fn ulp_distance(a: f32, b: f32) -> u32 {
    let key = |x: f32| {
        let bits = x.to_bits() as i32;
        if bits < 0 { i32::MIN - bits } else { bits }
    };
    key(a).abs_diff(key(b))
}

/// Deterministic pseudo-random inputs: a ramp over [-12, 12], then wide-range values, then the
/// special values (for element-wise kernels).
fn inputs(len: usize, seed: u64, specials: bool) -> Vec<f32> {
    let mut state = seed | 1;
    let mut v: Vec<f32> = (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
            match i % 3 {
                0 => -12.0 + 24.0 * (i as f32 / len as f32),
                1 => (unit - 0.5) * 200.0,
                _ => (unit - 0.5) * 8.0,
            }
        })
        .collect();
    if specials {
        for (slot, &s) in v.iter_mut().zip(SPECIALS.iter()) {
            *slot = s;
        }
    }
    v
}

/// Compares `kernel` on `backend` with the scalar path over every length; prints the worst
/// case. Also checks that the in-place form matches the out-of-place one bit for bit.
pub fn matches_scalar(kernel: &Kernel, backend: Backend) -> Result<u32, Stop> {
    let mut worst = 0u32;
    for (k, &len) in LENGTHS.iter().enumerate() {
        let input = inputs(len, 0x5eed + k as u64, !kernel.row || k % 2 == 1);
        let mut fast = alloc::vec![0.0f32; len];
        let mut reference = alloc::vec![0.0f32; len];
        (kernel.run)(backend, &input, &mut fast);
        (kernel.run)(Backend::Scalar, &input, &mut reference);
        for (i, ((&f, &r), &x)) in fast.iter().zip(&reference).zip(&input).enumerate() {
            if f.is_nan() || r.is_nan() {
                check!(
                    f.is_nan() && r.is_nan(),
                    "{}({x:e}) [{i} of {len}]: {} gives {f:e}, scalar {r:e}",
                    kernel.name,
                    backend.name()
                );
                continue;
            }
            let d = ulp_distance(f, r);
            check!(
                d <= kernel.tolerance,
                "{}({x:e}) [{i} of {len}]: {} gives {f:e}, scalar {r:e}: {d} ulp > {}",
                kernel.name,
                backend.name(),
                kernel.tolerance
            );
            worst = worst.max(d);
        }
        let mut in_place = input.clone();
        (kernel.run_inplace)(backend, &mut in_place);
        let same = in_place
            .iter()
            .zip(&fast)
            .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
        check!(
            same,
            "{}: in-place and out-of-place results differ (len {len})",
            kernel.name
        );
    }
    Ok(worst)
}

/// Runs the registry test for kernel `index` on the active backend.
fn kernel_test(index: usize) -> TestResult {
    let kernel = &KERNELS[index];
    let backend = active_backend();
    let worst = matches_scalar(kernel, backend)?;
    diag!(
        "{} on {} vs scalar: max {worst} ulp (allowed {}), lengths 1..=17, 31, 256, 1031",
        kernel.name,
        backend.name(),
        kernel.tolerance
    );
    Ok(())
}

/// Registry entries, one per kernel.
pub fn relu() -> TestResult {
    kernel_test(0)
}
/// See [`relu`].
pub fn leaky_relu() -> TestResult {
    kernel_test(1)
}
/// See [`relu`].
pub fn sigmoid() -> TestResult {
    kernel_test(2)
}
/// See [`relu`].
pub fn tanh() -> TestResult {
    kernel_test(3)
}
/// See [`relu`].
pub fn gelu() -> TestResult {
    kernel_test(4)
}
/// See [`relu`].
pub fn gelu_tanh() -> TestResult {
    kernel_test(5)
}
/// See [`relu`].
pub fn silu() -> TestResult {
    kernel_test(6)
}
/// See [`relu`].
pub fn elu() -> TestResult {
    kernel_test(7)
}
/// See [`relu`].
pub fn exp() -> TestResult {
    kernel_test(8)
}
/// See [`relu`].
pub fn softmax() -> TestResult {
    kernel_test(9)
}

/// The backend chosen is the one CPUID/XCR0 allow: AVX2+FMA exactly when the CPU has AVX2
/// and FMA and the OS (this kernel) enabled YMM state. Prints `# simd backend: <name>`.
pub fn backend_matches_cpuid() -> TestResult {
    let leaf1 = cpuid(1, 0).ecx;
    let leaf7 = cpuid(7, 0).ebx;
    let fma = leaf1 & (1 << 12) != 0;
    let osxsave = leaf1 & (1 << 27) != 0;
    let avx2 = leaf7 & (1 << 5) != 0;
    let ymm = osxsave && x86_64::registers::xcontrol::XCr0::read_raw() & 0b110 == 0b110;
    let expected = if avx2 && fma && ymm {
        Backend::Avx2Fma
    } else {
        Backend::Scalar
    };
    let active = active_backend();
    diag!("simd backend: {}", active.name());
    diag!("cpuid avx2 {avx2}, fma {fma}, osxsave {osxsave}, xcr0 ymm {ymm}");
    check!(
        active == expected,
        "active backend {} but CPUID/XCR0 call for {}",
        active.name(),
        expected.name()
    );
    check!(
        Backend::detect() == active,
        "detect() disagrees with the cached backend"
    );
    check!(Backend::Scalar.is_available(), "scalar backend unavailable");
    Ok(())
}
