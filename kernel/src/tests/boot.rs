//! The kernel's own support code: the libc memory functions the prebuilt `core` links against.
//! (The command-line parser and the registry are host-tested in `kernel-core`.)
#![allow(unsafe_code)] // direct calls of the `extern "C"` memory functions under test

use crate::check;
use crate::ktap::TestResult;
use crate::libc_shims::{bcmp, memcmp, memcpy, memmove, memset};

/// memcpy/memmove (both overlap directions, every small length and offset), memset,
/// memcmp/bcmp (ordering as unsigned bytes).
pub fn libc_memory_functions() -> TestResult {
    let original: [u8; 96] = core::array::from_fn(|i| (i * 7 + 3) as u8);
    for len in 0..40usize {
        for (src, dst) in [(0usize, 5usize), (5, 0), (8, 9), (9, 8), (3, 3), (0, 50)] {
            let mut buf = original;
            // Reference copy element by element (`black_box` keeps LLVM from turning it back
            // into a call of the very functions under test).
            let mut want = original;
            for i in 0..len {
                want[dst + i] = core::hint::black_box(original[src + i]);
            }
            let p = buf.as_mut_ptr();
            // SAFETY: src+len and dst+len are at most 90 <= 96: both ranges inside `buf`.
            unsafe { memmove(p.add(dst), p.add(src), len) };
            check!(buf == want, "memmove(dst {dst}, src {src}, len {len})");
            if src.abs_diff(dst) >= len {
                let mut buf = original;
                let p = buf.as_mut_ptr();
                // SAFETY: as above, and the ranges do not overlap (checked).
                unsafe { memcpy(p.add(dst), p.add(src), len) };
                check!(buf == want, "memcpy(dst {dst}, src {src}, len {len})");
            }
        }
        let mut buf = original;
        // SAFETY: 10 + len <= 50 <= 96 bytes.
        unsafe { memset(buf.as_mut_ptr().add(10), 0x1ab, len) };
        check!(
            buf[10..10 + len].iter().all(|&b| b == 0xab),
            "memset len {len}"
        );
        check!(
            buf[..10] == original[..10] && buf[10 + len..] == original[10 + len..],
            "memset overran, len {len}"
        );
    }
    let (a, b) = ([1u8, 2, 3, 0x80], [1u8, 2, 3, 0x7f]);
    // SAFETY: both arrays have 4 readable bytes.
    let (lt, eq, gt, ne) = unsafe {
        (
            memcmp(b.as_ptr(), a.as_ptr(), 4),
            memcmp(a.as_ptr(), a.as_ptr(), 4),
            memcmp(a.as_ptr(), b.as_ptr(), 4),
            bcmp(a.as_ptr(), b.as_ptr(), 3),
        )
    };
    check!(
        lt < 0 && eq == 0 && gt > 0,
        "memcmp order: {lt} {eq} {gt} (bytes are unsigned)"
    );
    check!(ne == 0, "bcmp of equal prefixes gave {ne}");
    Ok(())
}
