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

/// A constant that lands in `.rodata`.
static RODATA_PROBE: [u64; 4] = [1, 2, 3, 4];
/// A value that lands in `.data`/`.bss`.
static DATA_PROBE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The protections the boot set up, read back from the hardware: page 0 and the stack guard
/// unmapped, code read-only and executable, read-only data read-only and NX, data and heap
/// writable and NX; CR0.WP, CR4.MCE and EFER.NXE on every CPU; both 8259 PICs fully masked.
pub fn memory_protections() -> TestResult {
    use crate::paging::{leaf_entry, no_execute, writable};
    use alloc::boxed::Box;
    check!(
        leaf_entry(0).is_none(),
        "page 0 is mapped: {:?}",
        leaf_entry(0)
    );
    let guard = core::ptr::addr_of!(crate::boot::boot_stack_guard) as u64;
    check!(
        leaf_entry(guard).is_none(),
        "the boot stack's guard page is mapped"
    );
    // The last byte of the page below cpu 1's kernel stack.
    let cpu1_guard = crate::stacks::kernel_top(1) - crate::stacks::KERNEL_STACK_SIZE as u64 - 1;
    check!(
        leaf_entry(cpu1_guard).is_none(),
        "cpu 1's stack guard page is mapped"
    );
    let heap = Box::new(0u64);
    let probes: [(&str, u64, bool, bool); 4] = [
        ("code", memory_protections as *const () as u64, false, false),
        ("rodata", RODATA_PROBE.as_ptr() as u64, false, true),
        ("data", DATA_PROBE.as_ptr() as u64, true, true),
        ("heap", &*heap as *const u64 as u64, true, true),
    ];
    for (what, addr, want_write, want_nx) in probes {
        let Some(entry) = leaf_entry(addr) else {
            check!(false, "{what} at {addr:#x} is not mapped");
            return Ok(());
        };
        check!(
            writable(entry) == want_write && no_execute(entry) == want_nx,
            "{what} at {addr:#x}: entry {entry:#x}, want writable {want_write}, NX {want_nx}"
        );
    }
    drop(heap);
    let cpus = crate::smp::cpu_count();
    let bad = alloc::sync::Arc::new(core::sync::atomic::AtomicU64::new(0));
    let flags = bad.clone();
    let job = alloc::sync::Arc::new(move |cpu: usize| {
        use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
        use x86_64::registers::model_specific::{Efer, EferFlags};
        let ok = Cr0::read().contains(Cr0Flags::WRITE_PROTECT)
            && Cr4::read().contains(Cr4Flags::MACHINE_CHECK_EXCEPTION)
            && Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE);
        if !ok {
            flags.fetch_or(1 << cpu, core::sync::atomic::Ordering::Relaxed);
        }
    });
    let run = crate::smp::run_on(cpus, 2000, job);
    check!(run.is_ok(), "{run:?}");
    let bad = bad.load(core::sync::atomic::Ordering::Relaxed);
    check!(bad == 0, "CR0.WP/CR4.MCE/EFER.NXE missing on cpus {bad:#b}");
    for port in [0x21u16, 0xa1] {
        let mut p: x86_64::instructions::port::Port<u8> =
            x86_64::instructions::port::Port::new(port);
        // SAFETY: reading a PIC's data port returns its interrupt mask (OCW1); no side effects.
        let mask = unsafe { p.read() };
        check!(mask == 0xff, "PIC mask at port {port:#x} is {mask:#x}");
    }
    crate::diag!(
        "page 0 and guard pages unmapped, W^X as linked, WP/MCE/NXE on {cpus} cpu(s), PICs masked"
    );
    Ok(())
}
