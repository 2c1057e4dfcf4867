//! AVX2+FMA kernels (x86_64 with SSE enabled, i.e. not the soft-float `x86_64-unknown-none`).
//!
//! Every public function here is an `unsafe fn` compiled with
//! `#[target_feature(enable = "avx2,fma")]`: calling it on a CPU without AVX2 and FMA (or with
//! the OS not saving YMM state) is undefined behaviour. The safe dispatcher in
//! [`crate::Backend`] checks `cpufeatures` (CPUID + XGETBV) before calling them.
//!
//! Slices are walked as `[f32; 8]` chunks with unaligned loads and stores; the last `len % 8`
//! elements go through an 8-lane stack buffer, so nothing outside the slices is read or
//! written and no masked store (`vmaskmovps`, 42 µops on Zen 3) is used.

mod activations;
mod memory;
mod softmax;
mod two_stage;
mod vector_math;

use core::arch::x86_64::__m256;

/// Outputs of at least this many elements (8 MiB) are written with streaming stores, like
/// `memcpy` does for large copies: at DRAM sizes this saves the read-for-ownership of every
/// output line (a third of the memory traffic of an out-of-place kernel).
const STREAMING_MIN_LEN: usize = 2 << 20;

/// Out of place: applies `$body` (a vector expression of `$v`) to every 8-lane chunk and to
/// the padded tail; large outputs are first aligned to 32 bytes and streamed.
macro_rules! map_chunks {
    (@plain $input:expr, $output:expr, |$v:ident| $body:expr) => {{
        let (in_chunks, in_tail) = $input.as_chunks::<8>();
        let (out_chunks, out_tail) = $output.as_chunks_mut::<8>();
        for (i, o) in in_chunks.iter().zip(out_chunks.iter_mut()) {
            let $v: __m256 = memory::load(i);
            memory::store(o, $body);
        }
        if !in_tail.is_empty() {
            // Separate input and output buffers: see `memory::load_for_inplace`.
            let mut in_buf = [0.0f32; 8];
            let mut out_buf = [0.0f32; 8];
            in_buf[..in_tail.len()].copy_from_slice(in_tail);
            let $v: __m256 = memory::load(&in_buf);
            memory::store(&mut out_buf, $body);
            out_tail.copy_from_slice(&out_buf[..in_tail.len()]);
        }
    }};
    ($input:expr, $output:expr, |$v:ident| $body:expr) => {{
        let input: &[f32] = $input;
        let output: &mut [f32] = $output;
        if output.len() >= STREAMING_MIN_LEN {
            let head = output.as_ptr().align_offset(32).min(output.len());
            let (in_head, in_rest) = input.split_at(head);
            let (out_head, out_rest) = output.split_at_mut(head);
            map_chunks!(@plain in_head, out_head, |$v| $body);
            let (in_chunks, _) = in_rest.as_chunks::<8>();
            let (out_chunks, out_tail) = out_rest.as_chunks_mut::<8>();
            for (i, o) in in_chunks.iter().zip(out_chunks.iter_mut()) {
                let $v: __m256 = memory::load(i);
                memory::store_streaming(o, $body);
            }
            memory::streaming_fence();
            let n = in_chunks.len() * 8;
            map_chunks!(@plain &in_rest[n..], out_tail, |$v| $body);
        } else {
            map_chunks!(@plain input, output, |$v| $body);
        }
    }};
}

/// Same as [`map_chunks`] on one slice read and written in place.
macro_rules! map_chunks_inplace {
    ($data:expr, |$v:ident| $body:expr) => {{
        let (chunks, tail) = $data.as_chunks_mut::<8>();
        for c in chunks.iter_mut() {
            let $v: __m256 = memory::load_for_inplace(c);
            memory::store(c, $body);
        }
        if !tail.is_empty() {
            let n = tail.len();
            let mut in_buf = [0.0f32; 8];
            let mut out_buf = [0.0f32; 8];
            in_buf[..n].copy_from_slice(tail);
            let $v: __m256 = memory::load(&in_buf);
            memory::store(&mut out_buf, $body);
            tail.copy_from_slice(&out_buf[..n]);
        }
    }};
}

macro_rules! elementwise {
    ($what:literal, $name:ident, $inplace:ident, |$v:ident $(, $arg:ident: $ty:ty)*| $body:expr) => {
        #[doc = concat!($what, ", out of place (AVX2+FMA).")]
        ///
        /// # Panics
        /// If `input.len() != output.len()`.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
        /// (`Backend::Avx2Fma.is_available()`).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $name(input: &[f32], output: &mut [f32] $(, $arg: $ty)*) {
            crate::check_lengths(stringify!($name), input.len(), output.len());
            map_chunks!(input, output, |$v| $body);
        }

        #[doc = concat!($what, ", in place (AVX2+FMA).")]
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
        /// (`Backend::Avx2Fma.is_available()`).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $inplace(data: &mut [f32] $(, $arg: $ty)*) {
            map_chunks_inplace!(data, |$v| $body);
        }
    };
}

elementwise!("ReLU", relu, relu_inplace, |v| activations::relu(v));
elementwise!(
    "Leaky ReLU",
    leaky_relu,
    leaky_relu_inplace,
    |v, alpha: f32| { activations::leaky_relu(v, vector_math::splat(alpha)) }
);
/// Like [`elementwise!`] for a kernel split in two stages (see `two_stage`): blocks of
/// chunks run stage 1 then stage 2 (streaming stores for huge outputs, as `map_chunks!`);
/// every lane gets the same bits as the one-pass `stage2(x, stage1(x))`.
macro_rules! elementwise_two_stage {
    ($what:literal, $name:ident, $inplace:ident, $zero:expr, $stage1:path, $stage2:path) => {
        #[doc = concat!($what, ", out of place (AVX2+FMA).")]
        ///
        /// # Panics
        /// If `input.len() != output.len()`.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
        /// (`Backend::Avx2Fma.is_available()`).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $name(input: &[f32], output: &mut [f32]) {
            crate::check_lengths(stringify!($name), input.len(), output.len());
            two_stage::map(
                input,
                output,
                STREAMING_MIN_LEN,
                $zero,
                |v| $stage1(v),
                |v, s| $stage2(v, s),
            );
        }

        #[doc = concat!($what, ", in place (AVX2+FMA).")]
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
        /// (`Backend::Avx2Fma.is_available()`).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $inplace(data: &mut [f32]) {
            two_stage::map_inplace(data, $zero, |v| $stage1(v), |v, s| $stage2(v, s));
        }
    };
}

elementwise_two_stage!(
    "Sigmoid",
    sigmoid,
    sigmoid_inplace,
    two_stage::zero(),
    activations::sigmoid_exp,
    activations::sigmoid_finish
);

elementwise!(
    "GELU (erf form)",
    gelu,
    gelu_inplace,
    |v| activations::gelu(v)
);
elementwise!("GELU (tanh form)", gelu_tanh, gelu_tanh_inplace, |v| {
    activations::gelu_tanh(v)
});
elementwise_two_stage!(
    "tanh",
    tanh,
    tanh_inplace,
    (two_stage::zero(), two_stage::zero()),
    activations::tanh_expm1,
    activations::tanh_finish
);
elementwise_two_stage!(
    "SiLU",
    silu,
    silu_inplace,
    (two_stage::zero(), two_stage::zero()),
    activations::silu_exp,
    activations::silu_finish
);
elementwise!("ELU", elu, elu_inplace, |v, alpha: f32| {
    activations::elu(v, vector_math::splat(alpha))
});
elementwise!("exp", exp, exp_inplace, |v| activations::exp(v));

/// Softmax of the row `input` into `output` (AVX2+FMA).
///
/// # Panics
/// If `input.len() != output.len()`.
///
/// # Safety
/// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
/// (`Backend::Avx2Fma.is_available()`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn softmax(input: &[f32], output: &mut [f32]) {
    crate::check_lengths("softmax", input.len(), output.len());
    softmax::softmax_row(input, output);
}

/// Softmax of the row `data`, in place (AVX2+FMA).
///
/// # Safety
/// The CPU must support AVX2 and FMA and the OS must have enabled YMM state
/// (`Backend::Avx2Fma.is_available()`).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn softmax_inplace(data: &mut [f32]) {
    softmax::softmax_row_inplace(data);
}
