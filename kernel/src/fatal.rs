//! Fatal paths: the panic handler and the common "report, then exit with the crash code" step.

use crate::exit::{ExitCode, exit_qemu};
use crate::serial::raw_write;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

/// Set by the first CPU that reports a fatal error; later ones stay quiet and halt.
static REPORTING: AtomicBool = AtomicBool::new(false);

/// Prints `# PANIC: <msg>` (lock-free) and exits QEMU with [`ExitCode::Crashed`].
pub fn halt_with_report(args: fmt::Arguments<'_>) -> ! {
    report_and_exit(format_args!("# PANIC: {args}\n"))
}

/// Prints `text` without taking the console lock, then exits with [`ExitCode::Crashed`].
/// Only the first CPU to get here prints; the others halt.
pub fn report_and_exit(text: fmt::Arguments<'_>) -> ! {
    if REPORTING.swap(true, Ordering::AcqRel) {
        crate::exit::halt_forever();
    }
    raw_write(format_args!("\n"));
    raw_write(text);
    exit_qemu(ExitCode::Crashed)
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
