//! The floating-point environment the kernels assume, checked in debug builds.
//!
//! Every kernel assumes MXCSR's defaults: round to nearest even, flush-to-zero (FTZ) and
//! denormals-are-zero (DAZ) off, all exceptions masked. [`check`] asserts it in debug builds
//! on every call through [`crate::Backend`].

/// MXCSR bits 6–15: DAZ (6), the six exception masks (7–12), rounding control (13–14), FTZ (15).
const CONTROL_BITS: u32 = 0xffc0;
/// DAZ off, every exception masked, round to nearest, FTZ off (the reset value, flags aside).
const EXPECTED_CONTROL: u32 = 0x1f80;

/// The current MXCSR.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn read() -> u32 {
    let mut csr: u32 = 0;
    // SAFETY: `stmxcsr` stores the 4-byte MXCSR to the given address, here a live local
    // `u32` we own exclusively; it changes no register, flag or other memory. SSE is enabled
    // on this target (cfg above), so the instruction exists.
    unsafe {
        core::arch::asm!(
            "stmxcsr [{p}]",
            p = in(reg) &raw mut csr,
            options(nostack, preserves_flags)
        );
    }
    csr
}

/// Whether MXCSR holds the environment the kernels assume (always true where there is no
/// MXCSR: the soft-float build uses no SSE).
pub(crate) fn is_default() -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        read() & CONTROL_BITS == EXPECTED_CONTROL
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let _ = (CONTROL_BITS, EXPECTED_CONTROL);
        true
    }
}

/// Debug builds: panics if MXCSR is not in the assumed state (see the crate docs).
#[inline]
#[track_caller]
pub(crate) fn check() {
    debug_assert!(
        is_default(),
        "simd_kernels: MXCSR must be round-to-nearest with FTZ/DAZ off and exceptions masked"
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_threads_run_in_the_default_environment() {
        assert!(super::is_default());
    }

    /// Runs `f` with MXCSR's FTZ bit set on this thread, then restores the old MXCSR.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn with_flush_to_zero<R>(f: impl FnOnce() -> R) -> R {
        let old = super::read();
        let ftz = old | (1 << 15);
        // SAFETY: `ldmxcsr` loads MXCSR from a live local; the value differs from a valid
        // MXCSR only in the FTZ bit (reserved bits untouched), so it cannot fault. It changes
        // the floating-point environment of this test thread only, and `old` is put back below.
        unsafe { core::arch::asm!("ldmxcsr [{p}]", p = in(reg) &raw const ftz, options(nostack)) };
        let r = f();
        // SAFETY: as above, restoring the value read at the start.
        unsafe { core::arch::asm!("ldmxcsr [{p}]", p = in(reg) &raw const old, options(nostack)) };
        r
    }

    #[test]
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn flush_to_zero_is_noticed() {
        assert!(!with_flush_to_zero(super::is_default));
        assert!(super::is_default());
    }
}
