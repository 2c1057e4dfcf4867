//! Slice drivers for kernels split in two stages, run block by block.
//!
//! Why: one sigmoid vector is a dependency chain of ≈ 70 cycles (reduction, polynomial,
//! scale, `vdivps`, three correction FMAs) for ≈ 30 µops. Run chunk after chunk, the µops
//! that wait for their inputs fill the FP scheduler long before the FMA pipes are busy, so
//! the loop runs at the speed of the chain, not of the pipes (measured here on Zen 5: ≈ 14
//! cycles per 8 lanes where the pipes need ≈ 8). Splitting the work in two stages, stage 1 for
//! [`BLOCK`] chunks into a small stack array (L1), then stage 2 for the same chunks, halves the
//! chain each loop sees: each stage runs close to its pipe limit.
//!
//! The result of every lane is bit-identical to `stage2(x, stage1(x))` in one pass; only the
//! order of work changes.
#![deny(unsafe_code)]

use core::arch::x86_64::{__m256, _mm256_setzero_ps};

use super::memory;

/// Chunks of 8 lanes per block: 16 × 8 = 128 elements, a 1 KiB (or 2 KiB) stage array.
const BLOCK: usize = 16;

/// Runs `stage1` then `stage2` on the 8-lane chunks `input` → `output` (same number of
/// chunks), block by block.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn run_chunks<S: Copy>(
    input: &[[f32; 8]],
    output: &mut [[f32; 8]],
    zero: S,
    stage1: impl Fn(__m256) -> S,
    stage2: impl Fn(__m256, S) -> __m256,
    store: impl Fn(&mut [f32; 8], __m256),
) {
    let mut state = [zero; BLOCK];
    for (i, o) in input.chunks(BLOCK).zip(output.chunks_mut(BLOCK)) {
        for (c, s) in i.iter().zip(state.iter_mut()) {
            *s = stage1(memory::load(c));
        }
        for ((c, s), o) in i.iter().zip(state.iter()).zip(o.iter_mut()) {
            store(o, stage2(memory::load(c), *s));
        }
    }
}

/// Out of place: whole chunks in blocks, the `len % 8` tail through 8-lane stack buffers.
/// Outputs of at least `streaming_min_len` elements are first aligned to 32 bytes and then
/// written with streaming stores (see `super::STREAMING_MIN_LEN`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn map<S: Copy>(
    input: &[f32],
    output: &mut [f32],
    streaming_min_len: usize,
    zero: S,
    stage1: impl Fn(__m256) -> S,
    stage2: impl Fn(__m256, S) -> __m256,
) {
    if output.len() >= streaming_min_len {
        let head = output.as_ptr().align_offset(32).min(output.len());
        let (in_head, in_rest) = input.split_at(head);
        let (out_head, out_rest) = output.split_at_mut(head);
        map_cached(in_head, out_head, zero, &stage1, &stage2);
        let (in_chunks, _) = in_rest.as_chunks::<8>();
        let (out_chunks, out_tail) = out_rest.as_chunks_mut::<8>();
        run_chunks(in_chunks, out_chunks, zero, &stage1, &stage2, |o, v| {
            memory::store_streaming(o, v)
        });
        memory::streaming_fence();
        let n = in_chunks.len() * 8;
        map_cached(&in_rest[n..], out_tail, zero, &stage1, &stage2);
    } else {
        map_cached(input, output, zero, &stage1, &stage2);
    }
}

/// [`map`] with ordinary stores.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn map_cached<S: Copy>(
    input: &[f32],
    output: &mut [f32],
    zero: S,
    stage1: impl Fn(__m256) -> S,
    stage2: impl Fn(__m256, S) -> __m256,
) {
    let (in_chunks, in_tail) = input.as_chunks::<8>();
    let (out_chunks, out_tail) = output.as_chunks_mut::<8>();
    run_chunks(in_chunks, out_chunks, zero, &stage1, &stage2, |o, v| {
        memory::store(o, v)
    });
    if !in_tail.is_empty() {
        let mut in_buf = [0.0f32; 8];
        let mut out_buf = [0.0f32; 8];
        in_buf[..in_tail.len()].copy_from_slice(in_tail);
        let x = memory::load(&in_buf);
        memory::store(&mut out_buf, stage2(x, stage1(x)));
        out_tail.copy_from_slice(&out_buf[..in_tail.len()]);
    }
}

/// In place: like [`map`] on one slice; stage 2 reloads each chunk through
/// [`memory::load_for_inplace`] (no `vmaskmovps`).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn map_inplace<S: Copy>(
    data: &mut [f32],
    zero: S,
    stage1: impl Fn(__m256) -> S,
    stage2: impl Fn(__m256, S) -> __m256,
) {
    let (chunks, tail) = data.as_chunks_mut::<8>();
    let mut state = [zero; BLOCK];
    for block in chunks.chunks_mut(BLOCK) {
        for (c, s) in block.iter().zip(state.iter_mut()) {
            *s = stage1(memory::load(c));
        }
        for (c, s) in block.iter_mut().zip(state.iter()) {
            let x = memory::load_for_inplace(c);
            memory::store(c, stage2(x, *s));
        }
    }
    if !tail.is_empty() {
        let n = tail.len();
        let mut in_buf = [0.0f32; 8];
        let mut out_buf = [0.0f32; 8];
        in_buf[..n].copy_from_slice(tail);
        let x = memory::load(&in_buf);
        memory::store(&mut out_buf, stage2(x, stage1(x)));
        tail.copy_from_slice(&out_buf[..n]);
    }
}

/// A zero vector, the initial stage state.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn zero() -> __m256 {
    _mm256_setzero_ps()
}
