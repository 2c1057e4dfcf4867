//! The only memory access of the AVX2 kernels: unaligned 8-lane loads and stores of whole
//! `[f32; 8]` arrays, so bounds are proven by the types.

use core::arch::asm;
use core::arch::x86_64::{__m256, _mm_sfence, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_stream_ps};

/// Loads 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn load(chunk: &[f32; 8]) -> __m256 {
    // SAFETY: `chunk` is a reference to 8 initialised, contiguous f32 (32 readable bytes);
    // `loadu` has no alignment requirement; AVX is enabled by this function's target features.
    unsafe { _mm256_loadu_ps(chunk.as_ptr()) }
}

/// Loads 8 lanes that will be stored back to the same place (in-place forms).
///
/// The value goes through an empty `asm!` so LLVM cannot tell that it came from `chunk`:
/// otherwise a store of `blend(v, y)` back to the same place is folded into `vmaskmovps`
/// (42 µops on Zen 3, excluded by the issue). Out-of-place loops and the stack-buffer tails
/// (separate input and output buffers) do not need it.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn load_for_inplace(chunk: &[f32; 8]) -> __m256 {
    let v = load(chunk);
    let opaque: __m256;
    // SAFETY: an empty instruction template: no memory, stack or flag effects; the register
    // operand is returned unchanged.
    unsafe {
        asm!("/* {0} */", inout(ymm_reg) v => opaque, options(pure, nomem, nostack, preserves_flags));
    }
    opaque
}

/// Stores 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn store(chunk: &mut [f32; 8], v: __m256) {
    // SAFETY: `chunk` is an exclusive reference to 8 contiguous f32 (32 writable bytes);
    // `storeu` has no alignment requirement; AVX is enabled by this function's target features.
    unsafe { _mm256_storeu_ps(chunk.as_mut_ptr(), v) }
}

/// Stores 8 lanes with a non-temporal (streaming) store when `chunk` is 32-byte aligned
/// (callers align the slice first; a misaligned chunk falls back to `storeu`). Used for
/// outputs far larger than the caches: no read-for-ownership of the destination line.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn store_streaming(chunk: &mut [f32; 8], v: __m256) {
    if (chunk.as_ptr() as usize).is_multiple_of(32) {
        // SAFETY: `chunk` is an exclusive reference to 32 writable bytes, 32-byte aligned as
        // `vmovntps` requires (checked just above); AVX is enabled here.
        unsafe { _mm256_stream_ps(chunk.as_mut_ptr(), v) }
    } else {
        store(chunk, v);
    }
}

/// Orders the streaming stores before any later store (call once after a streaming loop).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn streaming_fence() {
    _mm_sfence();
}
