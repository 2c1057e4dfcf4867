//! Which implementation runs: detection (no `std`: CPUID + XGETBV through `cpufeatures`), the
//! cached choice, and methods that run a function on a chosen backend.

use core::sync::atomic::{AtomicU8, Ordering};

use crate::scalar;

/// An implementation of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The portable path ([`crate::scalar`]): every target, every CPU.
    Scalar,
    /// The AVX2+FMA path (x86_64 with SSE enabled, CPU and OS support checked at run time).
    Avx2Fma,
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
cpufeatures::new!(avx2_fma_cpuid, "avx2", "fma");

const UNKNOWN: u8 = 0;
const SCALAR: u8 = 1;
const AVX2_FMA: u8 = 2;
static ACTIVE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The backend the safe top-level functions use: [`Backend::detect`] on first call, cached.
pub fn active_backend() -> Backend {
    match ACTIVE.load(Ordering::Relaxed) {
        SCALAR => Backend::Scalar,
        AVX2_FMA => Backend::Avx2Fma,
        _ => {
            let b = Backend::detect();
            let code = match b {
                Backend::Scalar => SCALAR,
                Backend::Avx2Fma => AVX2_FMA,
            };
            ACTIVE.store(code, Ordering::Relaxed);
            b
        }
    }
}

impl Backend {
    /// The fastest backend this CPU, OS and build can run.
    pub fn detect() -> Backend {
        if Backend::Avx2Fma.is_available() {
            Backend::Avx2Fma
        } else {
            Backend::Scalar
        }
    }

    /// Whether this backend can run here. `Scalar` always can; `Avx2Fma` needs an x86_64 build
    /// with SSE (not the soft-float `x86_64-unknown-none`), CPUID bits AVX2 and FMA, and YMM
    /// state enabled by the OS (XGETBV).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar => true,
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Backend::Avx2Fma => avx2_fma_cpuid::get(),
            #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
            Backend::Avx2Fma => false,
        }
    }

    /// Short stable name: `"scalar"` or `"avx2-fma"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2Fma => "avx2-fma",
        }
    }

    fn assert_available(self) {
        assert!(
            self.is_available(),
            "simd_kernels: backend {} is not available on this CPU/build",
            self.name()
        );
    }
}

/// Generates `Backend::f` / `Backend::f_inplace` for one function.
macro_rules! backend_methods {
    ($what:literal, $name:ident, $inplace:ident, $scalar:path, $scalar_inplace:path $(, $arg:ident: $ty:ty)*) => {
        #[doc = concat!($what, " of `input` into `output` on this backend.")]
        ///
        /// # Panics
        /// If `input.len() != output.len()`, or if this backend is not
        /// [available](Backend::is_available) (never undefined behaviour).
        #[inline]
        pub fn $name(self, input: &[f32], output: &mut [f32] $(, $arg: $ty)*) {
            crate::mxcsr::check();
            match self {
                Backend::Scalar => {
                    // (The AVX2 entry point checks the lengths itself.)
                    crate::check_lengths(stringify!($name), input.len(), output.len());
                    $scalar(input, output $(, $arg)*)
                }
                Backend::Avx2Fma => {
                    self.assert_available();
                    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                    // SAFETY: `assert_available` just checked that the CPU has AVX2 and FMA
                    // and that the OS saves YMM state, the only requirement of the kernel.
                    unsafe {
                        crate::avx2::$name(input, output $(, $arg)*)
                    };
                }
            }
        }

        #[doc = concat!($what, " of `data`, in place, on this backend.")]
        ///
        /// # Panics
        /// If this backend is not [available](Backend::is_available).
        #[inline]
        pub fn $inplace(self, data: &mut [f32] $(, $arg: $ty)*) {
            crate::mxcsr::check();
            match self {
                Backend::Scalar => $scalar_inplace(data $(, $arg)*),
                Backend::Avx2Fma => {
                    self.assert_available();
                    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                    // SAFETY: `assert_available` just checked that the CPU has AVX2 and FMA
                    // and that the OS saves YMM state, the only requirement of the kernel.
                    unsafe {
                        crate::avx2::$inplace(data $(, $arg)*)
                    };
                }
            }
        }
    };
}

impl Backend {
    backend_methods!(
        "ReLU",
        relu,
        relu_inplace,
        scalar::relu_slice,
        scalar::relu_inplace
    );
    backend_methods!("Leaky ReLU", leaky_relu, leaky_relu_inplace, scalar::leaky_relu_slice,
        scalar::leaky_relu_inplace, alpha: f32);
    backend_methods!(
        "Sigmoid",
        sigmoid,
        sigmoid_inplace,
        scalar::sigmoid_slice,
        scalar::sigmoid_inplace
    );
    backend_methods!(
        "tanh",
        tanh,
        tanh_inplace,
        scalar::tanh_slice,
        scalar::tanh_inplace
    );
    backend_methods!(
        "GELU (erf form)",
        gelu,
        gelu_inplace,
        scalar::gelu_slice,
        scalar::gelu_inplace
    );
    backend_methods!(
        "GELU (tanh form)",
        gelu_tanh,
        gelu_tanh_inplace,
        scalar::gelu_tanh_slice,
        scalar::gelu_tanh_inplace
    );
    backend_methods!(
        "SiLU",
        silu,
        silu_inplace,
        scalar::silu_slice,
        scalar::silu_inplace
    );
    backend_methods!("ELU", elu, elu_inplace, scalar::elu_slice, scalar::elu_inplace,
        alpha: f32);
    backend_methods!(
        "exp",
        exp,
        exp_inplace,
        scalar::exp_slice,
        scalar::exp_inplace
    );
    backend_methods!(
        "Softmax (one row)",
        softmax,
        softmax_inplace,
        scalar::softmax_slice,
        scalar::softmax_inplace
    );
}
