//! The `crash` suite: one test per [`CrashKind`], run first and alone when the command line
//! says `crash=<kind>`, so the runner's crash, nested-crash and watchdog paths are exercised
//! against the real kernel (see `tests/tests/boot.rs` in the host workspace).

#![allow(unsafe_code)] // deliberate faults

use crate::check;
use crate::ktap::{Suite, Test, TestResult};
use alloc::boxed::Box;
use alloc::sync::Arc;
use kernel_core::cmdline::CrashKind;

/// One test per kind, named as the kind.
static TESTS: [Test; CrashKind::ALL.len()] = {
    let mut tests = [const {
        Test {
            name: "",
            run: panic,
        }
    }; CrashKind::ALL.len()];
    let mut i = 0;
    while i < tests.len() {
        let kind = CrashKind::ALL[i];
        tests[i] = Test {
            name: kind.name(),
            run: match kind {
                CrashKind::Panic => panic,
                CrashKind::PageFault => page_fault,
                CrashKind::InvalidOpcode => invalid_opcode,
                CrashKind::NullDeref => null_deref,
                CrashKind::StackOverflow => stack_overflow,
                CrashKind::ApStackOverflow => ap_stack_overflow,
                CrashKind::NestedFault => nested_fault,
                CrashKind::ApPanic => ap_panic,
                CrashKind::Hang => hang,
            },
        };
        i += 1;
    }
    tests
};

/// The one-test suite `crash` for `kind`.
pub fn suite(kind: CrashKind) -> &'static Suite {
    let index = CrashKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("every kind is in ALL");
    Box::leak(Box::new(Suite {
        name: "crash",
        tests: core::slice::from_ref(&TESTS[index]),
    }))
}

fn panic() -> TestResult {
    panic!("crash=panic requested on the command line")
}

fn page_fault() -> TestResult {
    // Above the 4 GiB identity map: not present.
    let addr = core::hint::black_box(crate::memory::MAPPED_LIMIT as usize + 0x1234);
    // SAFETY: deliberately faulting: the read raises #PF before any value is produced, and
    // the exception handler never returns (it exits QEMU).
    let _ = unsafe { core::ptr::read_volatile(addr as *const u64) };
    check!(false, "the read above the identity map did not fault");
    Ok(())
}

fn invalid_opcode() -> TestResult {
    // SAFETY: deliberately raises #UD; the handler reports and exits QEMU.
    unsafe { core::arch::asm!("ud2") };
    Ok(())
}

fn null_deref() -> TestResult {
    let null = core::hint::black_box(0usize) as *const u64;
    // SAFETY: deliberately faulting: page 0 is unmapped, the handler never returns.
    let _ = unsafe { core::ptr::read_volatile(null) };
    check!(false, "reading address 0 did not fault: page 0 is mapped");
    Ok(())
}

/// Recurses with 1 KiB frames until the guard page below the stack stops it.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 128]);
    if core::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(core::hint::black_box(frame)[0])
}

fn stack_overflow() -> TestResult {
    let never = recurse(core::hint::black_box(0));
    check!(false, "unbounded recursion returned {never}");
    Ok(())
}

fn ap_stack_overflow() -> TestResult {
    let cpus = crate::smp::cpu_count();
    check!(
        cpus >= 2,
        "crash=ap_stack_overflow needs 2 CPUs online, have {cpus}"
    );
    let job = Arc::new(|cpu: usize| {
        if cpu == 1 {
            recurse(core::hint::black_box(0));
        }
    });
    let result = crate::smp::run_on(2, 10_000, job);
    check!(false, "cpu 1 did not overflow its stack: {result:?}");
    Ok(())
}

fn nested_fault() -> TestResult {
    crate::fatal::fault_inside_next_report();
    invalid_opcode()
}

fn ap_panic() -> TestResult {
    let cpus = crate::smp::cpu_count();
    check!(cpus >= 2, "crash=ap_panic needs 2 CPUs online, have {cpus}");
    let job = Arc::new(|cpu: usize| {
        if cpu == 1 {
            panic!("crash=ap_panic requested on the command line");
        }
    });
    let result = crate::smp::run_on(2, 10_000, job);
    check!(false, "cpu 1 did not panic: {result:?}");
    Ok(())
}

fn hang() -> TestResult {
    loop {
        core::hint::spin_loop();
    }
}
