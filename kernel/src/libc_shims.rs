//! The few symbols the prebuilt `core`/`alloc` for `x86_64-unknown-linux-gnu` expect from libc
//! and the unwinder: `memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`, `rust_eh_personality`,
//! `_Unwind_Resume`.
//!
//! The memory functions use string instructions in inline assembly: simple, correct for any
//! length, and impossible for LLVM to turn back into a call to themselves.

use core::arch::asm;

/// Copies `n` bytes from `src` to `dest` (the regions must not overlap).
///
/// # Safety
/// `src` must be valid for reads and `dest` for writes of `n` bytes; no overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid for `n` bytes; `rep movsb` copies
    // forwards (DF is clear per the SysV ABI) and touches exactly those bytes.
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dest
}

/// Copies `n` bytes from `src` to `dest`; the regions may overlap.
///
/// # Safety
/// `src` must be valid for reads and `dest` for writes of `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if n == 0 || dest.cast_const() == src {
        return dest;
    }
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // `dest` is below `src` or past its end: a forward copy never reads a byte it wrote.
        // SAFETY: same contract as the caller's; forward copy is overlap-safe here.
        unsafe { memcpy(dest, src, n) }
    } else {
        // `dest` lies inside `src..src+n`: copy backwards, from the last byte down.
        // SAFETY: both ranges are valid for `n` bytes (caller); `std` makes `rep movsb` walk
        // down from the last byte, which is overlap-safe when dest > src; DF is cleared again
        // before returning, as the ABI requires.
        unsafe {
            asm!("std", "rep movsb", "cld",
                 inout("rcx") n => _,
                 inout("rdi") dest.add(n - 1) => _,
                 inout("rsi") src.add(n - 1) => _,
                 options(nostack));
        }
        dest
    }
}

/// Fills `n` bytes at `dest` with the low byte of `c`.
///
/// # Safety
/// `dest` must be valid for writes of `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees `dest..dest+n` is writable; `rep stosb` writes exactly it.
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") c as u8,
             options(nostack, preserves_flags));
    }
    dest
}

/// Compares `n` bytes; returns <0, 0, >0 like C's `memcmp` (bytes compared as unsigned).
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n` and the caller guarantees `n` readable bytes behind both pointers.
        // Volatile reads keep LLVM from recognising this loop as a call to memcmp/bcmp.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// Compares `n` bytes for equality only (0 when equal).
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// Unwinding personality referenced by the prebuilt `core` (built with unwinding); the kernel
/// is `panic = "abort"`, so it is never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

/// Unwinder entry referenced by landing pads in the prebuilt `core`; unreachable with
/// `panic = "abort"`. Reports and stops if ever reached.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    crate::fatal::halt_with_report(format_args!(
        "_Unwind_Resume called (unwinding is not supported)"
    ))
}
