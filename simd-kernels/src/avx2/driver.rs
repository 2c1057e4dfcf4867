//! The one slice driver of the element-wise AVX2 kernels.
//!
//! A kernel is given as a [`Kernel`]: two stages, `stage1(x) → S` and `stage2(x, S) → y`. A
//! one-stage kernel has `S = ()` and does everything in stage 2.
//!
//! Why stages: one sigmoid vector is a dependency chain of ≈ 50–70 cycles for ≈ 25 µops. Run
//! chunk after chunk, the µops that wait for their inputs fill the FP scheduler long before
//! the FMA pipes are busy, so the loop runs at the speed of the chain, not of the pipes.
//! Running stage 1 for [`BLOCK`] chunks into a small stack array (L1), then stage 2 for the
//! same chunks, halves the chain each loop sees, and the chunks of a block are independent.
//!
//! Guarded kernels: a kernel whose stage 2 has a fast form valid only in a range also gives a
//! careful `stage2_any` (valid for every lane, the same bits on in-range lanes) and a `flag`
//! whose lanes have the sign bit set where the fast form is not valid. The driver ORs the
//! flags of a block while it runs stage 1: a block with no flagged lane (the common case) runs
//! the fast stage 2 with no test per chunk; a block with one tests each chunk again and runs
//! `stage2_any` only on the flagged chunks. Unguarded kernels flag nothing (the tests fold
//! away).
//!
//! Every lane gets exactly `stage2(x, stage1(x))` (or the same bits from `stage2_any`): only
//! the order of work changes, so a lane's result never depends on its neighbours, its
//! position or the length of the call.
//!
//! Memory: unaligned loads and stores of whole `[f32; 8]` chunks. The last `len % 8` elements
//! are done by one more, overlapping chunk ending at the last element when the slice has at
//! least 8 (out of place it reads the untouched input again; in place that chunk is loaded
//! before the main loop overwrites it), and through an 8-lane stack buffer otherwise; nothing
//! outside the slices is read or written and no masked store (`vmaskmovps`, 42 µops on
//! Zen 3) is used. Outputs of at least [`STREAMING_MIN_LEN`] elements are aligned to 32 bytes
//! and written with streaming stores.
#![deny(unsafe_code)]

use core::arch::x86_64::{__m256, _mm256_or_ps, _mm256_setzero_ps};

use super::memory;
use super::vector_math::any_lane;

/// An element-wise kernel as the driver runs it (see the module docs).
pub(super) struct Kernel<S, F1, F2, FA, FF> {
    /// The stage state's initial value (fills the stage array).
    pub zero: S,
    /// Stage 1: `x → S`.
    pub stage1: F1,
    /// Stage 2, valid on a block none of whose lanes is flagged.
    pub stage2: F2,
    /// Stage 2 for any lane, the same bits as `stage2` on lanes `stage2` is valid for.
    pub stage2_any: FA,
    /// A vector whose lanes have the sign bit set where `stage2` is not valid.
    pub flag: FF,
}

/// Chunks of 8 lanes per block: 16 × 8 = 128 elements, a stage array of at most 2 KiB.
const BLOCK: usize = 16;

/// Outputs of at least this many elements (8 MiB) are written with streaming stores, like
/// `memcpy` does for large copies: at DRAM sizes this saves the read-for-ownership of every
/// output line (a third of the memory traffic of an out-of-place kernel).
const STREAMING_MIN_LEN: usize = 2 << 20;

/// The last chunk of a slice of at least 8 elements.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn last_chunk(data: &[f32]) -> &[f32; 8] {
    let (_, last) = data.split_last_chunk::<8>().expect("at least 8 elements");
    last
}

impl<S, F1, F2, FA, FF> Kernel<S, F1, F2, FA, FF>
where
    S: Copy,
    F1: Fn(__m256) -> S,
    F2: Fn(__m256, S) -> __m256,
    FA: Fn(__m256, S) -> __m256,
    FF: Fn(__m256) -> __m256,
{
    /// Stage 2 of one chunk, tested on its own: `stage2_any` if a lane is flagged.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn finish(&self, x: __m256, s: S) -> __m256 {
        if any_lane((self.flag)(x)) {
            (self.stage2_any)(x, s)
        } else {
            (self.stage2)(x, s)
        }
    }

    /// One chunk on its own (tails, short slices, one-stage kernels).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn chunk(&self, x: __m256) -> __m256 {
        self.finish(x, (self.stage1)(x))
    }

    /// Stage 1 of a block into `state`; returns whether any lane is flagged.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn stage1_block(&self, chunks: &[[f32; 8]], state: &mut [S]) -> bool {
        let mut flags = _mm256_setzero_ps();
        for (c, s) in chunks.iter().zip(state.iter_mut()) {
            let x = memory::load(c);
            flags = _mm256_or_ps(flags, (self.flag)(x));
            *s = (self.stage1)(x);
        }
        any_lane(flags)
    }

    /// Runs the stages on the chunks `input` → `output` (same number of chunks), block by
    /// block, storing with `store`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn run_chunks(
        &self,
        input: &[[f32; 8]],
        output: &mut [[f32; 8]],
        store: impl Fn(&mut [f32; 8], __m256),
    ) {
        if size_of::<S>() == 0 {
            // One stage: no blocks needed.
            for (c, o) in input.iter().zip(output.iter_mut()) {
                store(o, self.chunk(memory::load(c)));
            }
            return;
        }
        let mut state = [self.zero; BLOCK];
        for (i, o) in input.chunks(BLOCK).zip(output.chunks_mut(BLOCK)) {
            if self.stage1_block(i, &mut state) {
                for ((c, s), o) in i.iter().zip(state.iter()).zip(o.iter_mut()) {
                    store(o, self.finish(memory::load(c), *s));
                }
            } else {
                for ((c, s), o) in i.iter().zip(state.iter()).zip(o.iter_mut()) {
                    store(o, (self.stage2)(memory::load(c), *s));
                }
            }
        }
    }

    /// Fewer than 8 elements, through 8-lane stack buffers padded with +0. Out of line, so the
    /// common path needs no 32-byte-aligned stack frame.
    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    fn short(&self, input: &[f32], output: &mut [f32]) {
        let mut in_buf = [0.0f32; 8];
        let mut out_buf = [0.0f32; 8];
        in_buf[..input.len()].copy_from_slice(input);
        memory::store(&mut out_buf, self.chunk(memory::load(&in_buf)));
        output.copy_from_slice(&out_buf[..input.len()]);
    }

    /// [`Self::short`] in place.
    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    fn short_inplace(&self, data: &mut [f32]) {
        let mut in_buf = [0.0f32; 8];
        in_buf[..data.len()].copy_from_slice(data);
        self.short(&in_buf[..data.len()], data);
    }

    /// Out of place, cached stores: whole chunks, then the overlapping last chunk.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn map_cached(&self, input: &[f32], output: &mut [f32]) {
        if input.len() < 8 {
            return self.short(input, output);
        }
        let (in_chunks, in_tail) = input.as_chunks::<8>();
        let (out_chunks, _) = output.as_chunks_mut::<8>();
        self.run_chunks(in_chunks, out_chunks, |o, v| memory::store(o, v));
        if !in_tail.is_empty() {
            let x = memory::load(last_chunk(input));
            let (_, out_last) = output.split_last_chunk_mut::<8>().expect("same length");
            memory::store(out_last, self.chunk(x));
        }
    }

    /// Out of place: `output[i] = stage2(x, stage1(x))` with `x = input[i]`, for
    /// `input.len() == output.len()` (callers check).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn map(&self, input: &[f32], output: &mut [f32]) {
        debug_assert_eq!(input.len(), output.len());
        if output.len() < STREAMING_MIN_LEN {
            return self.map_cached(input, output);
        }
        let head = output.as_ptr().align_offset(32).min(output.len());
        let (in_head, in_rest) = input.split_at(head);
        let (out_head, out_rest) = output.split_at_mut(head);
        self.short(in_head, out_head);
        let (in_chunks, _) = in_rest.as_chunks::<8>();
        let (out_chunks, _) = out_rest.as_chunks_mut::<8>();
        self.run_chunks(in_chunks, out_chunks, |o, v| memory::store_streaming(o, v));
        memory::streaming_fence();
        let n = in_chunks.len() * 8;
        self.map_cached(&in_rest[n..], &mut out_rest[n..]);
    }

    /// In place: like [`Self::map`] on one slice. Stage 2 reloads each chunk through
    /// [`memory::load_for_inplace`] (no `vmaskmovps`).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn map_inplace(&self, data: &mut [f32]) {
        if data.len() < 8 {
            return self.short_inplace(data);
        }
        // The overlapping last chunk is read before the main loop overwrites part of it.
        let last = memory::load(last_chunk(data));
        let (chunks, tail) = data.as_chunks_mut::<8>();
        let has_tail = !tail.is_empty();
        if size_of::<S>() == 0 {
            for c in chunks.iter_mut() {
                let x = memory::load_for_inplace(c);
                memory::store(c, self.chunk(x));
            }
        }
        let mut state = [self.zero; BLOCK];
        let blocks = if size_of::<S>() == 0 {
            &mut [][..]
        } else {
            chunks
        };
        for block in blocks.chunks_mut(BLOCK) {
            if self.stage1_block(block, &mut state) {
                for (c, s) in block.iter_mut().zip(state.iter()) {
                    let x = memory::load_for_inplace(c);
                    memory::store(c, self.finish(x, *s));
                }
            } else {
                for (c, s) in block.iter_mut().zip(state.iter()) {
                    let x = memory::load_for_inplace(c);
                    memory::store(c, (self.stage2)(x, *s));
                }
            }
        }
        if has_tail {
            let (_, out_last) = data
                .split_last_chunk_mut::<8>()
                .expect("at least 8 elements");
            memory::store(out_last, self.chunk(last));
        }
    }
}
