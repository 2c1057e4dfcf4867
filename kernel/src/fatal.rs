//! Fatal paths: the panic handler, boot errors, and the one "report, then exit" step every
//! crash and the watchdog go through.
//!
//! Guarantees:
//! - only the first CPU to get here reports; the others halt (the reporter exits QEMU);
//! - a fault or panic *inside* a report on the reporting CPU (a nested crash) prints one
//!   `# PANIC: nested ...` line and exits at once with the crash code; a third level exits
//!   without printing;
//! - if a test was running, its KTAP result is printed last, as
//!   `not ok N <test> # ERROR <reason>` (or `# TIMEOUT`), then its suite's `not ok` line, so
//!   the report names the test ([`crate::ktap::abort_current`]).
//!
//! Nothing here allocates or takes a lock: text goes out through [`raw_write`].

use crate::exit::{ExitCode, exit_qemu};
use crate::serial::raw_write;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// CPU index + 1 of the CPU printing a report; 0 while none is.
static REPORTER: AtomicUsize = AtomicUsize::new(0);
/// Crashes nested inside the report on the reporting CPU.
static NESTED: AtomicUsize = AtomicUsize::new(0);
/// `crash=nested_fault`: fault once inside the next report.
static FAULT_IN_REPORT: AtomicBool = AtomicBool::new(false);

/// Makes the next crash report fault (null read) after its first lines, to exercise the
/// nested-crash path.
pub fn fault_inside_next_report() {
    FAULT_IN_REPORT.store(true, Ordering::Release);
}

/// Prints `# PANIC: <args>` and exits with [`ExitCode::Crashed`].
pub fn halt_with_report(args: fmt::Arguments<'_>) -> ! {
    let cpu = crate::percpu::current_cpu_index();
    report_and_exit(
        format_args!("panic on cpu {cpu}"),
        format_args!("# {}: {args}\n", ktap_abi::PANIC),
    )
}

/// Refuses to run the suite: prints `# BOOT ERROR: <args>` and exits with
/// [`ExitCode::Crashed`] (bad command line, too few CPUs, no memory).
pub fn boot_error(args: fmt::Arguments<'_>) -> ! {
    report_and_exit(
        format_args!("boot error"),
        format_args!("# {}: {args}\n", ktap_abi::BOOT_ERROR),
    )
}

/// Prints the crash report `text`, then the running test's `# ERROR <reason>` result, and
/// exits with [`ExitCode::Crashed`]. See the module docs for concurrent and nested calls.
pub fn report_and_exit(reason: fmt::Arguments<'_>, text: fmt::Arguments<'_>) -> ! {
    finish(ktap_abi::ERROR_DIRECTIVE, reason, text, ExitCode::Crashed)
}

/// The watchdog's end of a hung test: `# TIMEOUT` result, exit [`ExitCode::TestTimedOut`].
pub fn test_timed_out(seconds: u64) -> ! {
    finish(
        ktap_abi::TIMEOUT_DIRECTIVE,
        format_args!("the test ran longer than test_timeout={seconds} s"),
        format_args!("# watchdog: test still running after {seconds} s\n"),
        ExitCode::TestTimedOut,
    )
}

fn finish(
    directive: &str,
    reason: fmt::Arguments<'_>,
    text: fmt::Arguments<'_>,
    code: ExitCode,
) -> ! {
    x86_64::instructions::interrupts::disable();
    let me = crate::percpu::current_cpu_index() + 1;
    if let Err(reporter) = REPORTER.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
        if reporter != me {
            // Another CPU reports and exits QEMU.
            crate::exit::halt_forever();
        }
        if NESTED.fetch_add(1, Ordering::AcqRel) == 0 {
            raw_write(format_args!(
                "\n# {}: nested crash while printing a crash report on cpu {}: {reason}\n",
                ktap_abi::PANIC,
                me - 1
            ));
            crate::ktap::abort_current(
                ktap_abi::ERROR_DIRECTIVE,
                format_args!("nested crash during the crash report"),
            );
        }
        exit_qemu(ExitCode::Crashed);
    }
    raw_write(format_args!("\n"));
    raw_write(text);
    if FAULT_IN_REPORT.swap(false, Ordering::AcqRel) {
        let null = core::hint::black_box(0usize) as *const u64;
        // SAFETY: deliberately faults (page 0 is unmapped): the #PF handler's report finds
        // this CPU already reporting and exits QEMU; the read never produces a value.
        let _ = unsafe { core::ptr::read_volatile(null) };
    }
    crate::ktap::abort_current(directive, reason);
    exit_qemu(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let cpu = crate::percpu::current_cpu_index();
    match info.location() {
        Some(loc) => halt_with_report(format_args!(
            "cpu {cpu}: {} at {}:{}",
            info.message(),
            loc.file(),
            loc.line()
        )),
        None => halt_with_report(format_args!("cpu {cpu}: {}", info.message())),
    }
}
