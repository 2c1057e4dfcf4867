//! The names the SIMD benchmark gives its results, shared by the benchmark (which writes
//! them), the targets and the report (which read them). A row is the criterion group
//! `simd/<function>/<size>`; a column is the criterion function id within it.

/// One input size of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// The label used in the group name, e.g. `4KiB`.
    pub label: &'static str,
    /// Bytes of f32 input (the output is as large again).
    pub bytes: usize,
}

impl Size {
    /// f32 elements per call.
    pub const fn elements(self) -> usize {
        self.bytes / 4
    }
}

/// 64 floats: prices the per-call overhead (dispatch, length checks, tails).
pub const CALL: Size = Size {
    label: "256B",
    bytes: 256,
};
/// Input and output in L1 (Zen 3's L1D is 32 KiB).
pub const L1: Size = Size {
    label: "4KiB",
    bytes: 4 << 10,
};
/// Input and output (128 KiB) in Zen 3's 512 KiB L2.
pub const L2: Size = Size {
    label: "64KiB",
    bytes: 64 << 10,
};
/// Far beyond every cache: memory-bound.
pub const DRAM: Size = Size {
    label: "64MiB",
    bytes: 64 << 20,
};
/// Every size, smallest first.
pub const SIZES: [Size; 4] = [CALL, L1, L2, DRAM];

/// The pseudo-function whose rows hold the copy baselines.
pub const COPY: &str = "copy";

/// The criterion group of `function` at `size`.
pub fn group(function: &str, size: Size) -> String {
    format!("simd/{function}/{}", size.label)
}

/// Column ids (criterion function ids).
pub mod id {
    /// The dispatched top-level function, out of place, input and output 64-byte aligned.
    pub const ZENSLAB: &str = "zenslab";
    /// The dispatched `*_inplace` function on a fresh copy of the input (as tract is called).
    pub const INPLACE: &str = "zenslab_inplace";
    /// Out of place with the output one float off its 64-byte alignment.
    pub const UNALIGNED_OUT: &str = "zenslab_unaligned_out";
    /// Out of place on an input with 1 % out-of-range lanes (|x| > 90; −1e4 for softmax).
    pub const OUTLIERS: &str = "zenslab_outliers";
    /// `Backend::Scalar`, the portable fallback.
    pub const SCALAR: &str = "scalar";
    /// SLEEF 3.5 AVX2 `_u10` functions through FFI.
    pub const SLEEF: &str = "sleef";
    /// tract-linalg's x86_64 FMA kernel, in place on a fresh copy of the input.
    pub const TRACT: &str = "tract";
    /// An AVX2 `vmovups` load/store loop, out of place (in the [`super::COPY`] rows).
    pub const COPY_LOOP: &str = "copy_loop";
    /// The same loop storing back where it loaded, on a fresh copy (in place).
    pub const COPY_LOOP_INPLACE: &str = "copy_loop_inplace";
    /// `copy_from_slice`, i.e. the C library's `memcpy` (information only).
    pub const MEMCPY: &str = "memcpy";
}
