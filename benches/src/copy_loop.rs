//! The copy baseline of the SIMD benchmark: an AVX `vmovups` load/store loop of the same shape
//! as the activation kernels (unaligned 256-bit loads and stores, four vectors per iteration),
//! written in assembly so the compiler cannot turn it into a `memcpy` call (glibc's `memcpy`
//! uses `rep movsb`, which is far slower than this loop on some VMs) or drop the in-place
//! form's stores as redundant.

use std::hint::black_box;

/// Proof that the CPU and OS support AVX: the copy functions are methods of this token, so
/// the check happens once, not per call.
#[derive(Clone, Copy, Debug)]
pub struct Avx(());

impl Avx {
    /// `Some` when AVX is available.
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            return Some(Self(()));
        }
        None
    }

    /// Copies `input` to `output` with the vector loop (the last `len % 8` floats one by one).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn copy(self, input: &[f32], output: &mut [f32]) {
        assert_eq!(input.len(), output.len(), "copy loop: lengths differ");
        let whole = input.len() / 8 * 8;
        // SAFETY: `Avx` exists only where AVX is available; both pointers are valid for
        // `whole` floats (`whole <= len` of each slice), and `output` is a `&mut` borrow,
        // distinct from `input`.
        unsafe { vmovups_loop(input.as_ptr(), output.as_mut_ptr(), whole) };
        for (o, &i) in output[whole..].iter_mut().zip(&input[whole..]) {
            *o = i;
        }
    }

    /// Loads every float of `data` and stores it back where it was (the in-place baseline).
    pub fn copy_in_place(self, data: &mut [f32]) {
        let whole = data.len() / 8 * 8;
        let p = data.as_mut_ptr();
        // SAFETY: as in `copy`; reading and writing the same address is allowed, each vector
        // is loaded before it is stored.
        unsafe { vmovups_loop(p, p, whole) };
        for x in &mut data[whole..] {
            *x = black_box(*x);
        }
    }
}

/// Copies `floats` floats (a multiple of 8) from `src` to `dst` with `vmovups`: 4 vectors per
/// iteration, then 1 vector per iteration for the rest.
///
/// # Safety
/// AVX must be available; `src` must be valid for reads and `dst` for writes of `floats`
/// floats; the ranges are either identical or do not overlap; `floats % 8 == 0`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn vmovups_loop(src: *const f32, dst: *mut f32, floats: usize) {
    debug_assert_eq!(floats % 8, 0);
    let bytes = floats * 4;
    let blocks_end = bytes / 128 * 128;
    // SAFETY: the caller guarantees AVX and that `[src, src + bytes)` is readable and
    // `[dst, dst + bytes)` writable; the loops touch exactly those bytes: the first in 128-byte
    // steps below `blocks_end`, the second in 32-byte steps below `bytes` (a multiple of 32).
    // No stack use; flags are clobbered (the `asm!` default).
    unsafe {
        std::arch::asm!(
            "cmp {i}, {blocks_end}",
            "jae 3f",
            "2:",
            "vmovups {v0}, ymmword ptr [{src} + {i}]",
            "vmovups {v1}, ymmword ptr [{src} + {i} + 32]",
            "vmovups {v2}, ymmword ptr [{src} + {i} + 64]",
            "vmovups {v3}, ymmword ptr [{src} + {i} + 96]",
            "vmovups ymmword ptr [{dst} + {i}], {v0}",
            "vmovups ymmword ptr [{dst} + {i} + 32], {v1}",
            "vmovups ymmword ptr [{dst} + {i} + 64], {v2}",
            "vmovups ymmword ptr [{dst} + {i} + 96], {v3}",
            "add {i}, 128",
            "cmp {i}, {blocks_end}",
            "jb 2b",
            "3:",
            "cmp {i}, {bytes}",
            "jae 5f",
            "4:",
            "vmovups {v0}, ymmword ptr [{src} + {i}]",
            "vmovups ymmword ptr [{dst} + {i}], {v0}",
            "add {i}, 32",
            "cmp {i}, {bytes}",
            "jb 4b",
            "5:",
            src = in(reg) src,
            dst = in(reg) dst,
            i = inout(reg) 0usize => _,
            blocks_end = in(reg) blocks_end,
            bytes = in(reg) bytes,
            v0 = out(ymm_reg) _,
            v1 = out(ymm_reg) _,
            v2 = out(ymm_reg) _,
            v3 = out(ymm_reg) _,
            options(nostack),
        );
    }
}

/// Never called: [`Avx::detect`] is `None` off x86_64.
///
/// # Safety
/// Unreachable.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn vmovups_loop(_: *const f32, _: *mut f32, _: usize) {
    unreachable!("no AVX off x86_64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_length_exactly() {
        let Some(avx) = Avx::detect() else {
            return;
        };
        let input: Vec<f32> = (0..300).map(|i| i as f32 * 1.5 - 7.0).collect();
        for len in [0, 1, 7, 8, 9, 31, 32, 33, 64, 100, 128, 129, 300] {
            for offset in [0, 1, 3] {
                let src = &input[offset..offset + len.min(300 - offset)];
                let mut out = vec![f32::NAN; src.len() + 2];
                avx.copy(src, &mut out[1..=src.len()]);
                assert_eq!(&out[1..=src.len()], src, "len {len} offset {offset}");
                assert!(
                    out[0].is_nan() && out[src.len() + 1].is_nan(),
                    "wrote outside"
                );
                let mut data = src.to_vec();
                avx.copy_in_place(&mut data);
                assert_eq!(data, src);
            }
        }
    }

    #[test]
    #[should_panic(expected = "lengths differ")]
    fn different_lengths_panic() {
        let Some(avx) = Avx::detect() else {
            panic!("lengths differ (no AVX here)");
        };
        avx.copy(&[1.0; 8], &mut [0.0; 9]);
    }
}
