//! Fatal reports of heap misuse found by hardened mode. A report never unwinds (unwinding out
//! of an allocator is undefined behaviour for a `GlobalAlloc` and would leave its locks and
//! lists half-updated): it names the address, the class and what was wrong, then ends the
//! process or kernel.
//!
//! * With the `std` feature (and in this crate's tests) the default writes one line to stderr
//!   and calls [`std::process::abort`] (SIGABRT).
//! * Without `std` the default panics inside an `extern "C"` function: the panic handler runs
//!   (a kernel's prints and halts), and if the panic strategy would unwind, the unwind stops
//!   at that boundary and aborts.
//! * A kernel can install its own fatal-report function with [`set_report_hook`].

use core::fmt;

// Not a protocol of the pool: plain `core` atomics even under loom.
use core::sync::atomic::{AtomicPtr, Ordering};

/// What hardened mode found wrong, handed to the report hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The address concerned (the object freed, reallocated or handed out, or the free object
    /// whose link was corrupted).
    pub addr: usize,
    /// Size of the class concerned in bytes, or the layout size for fallback-heap blocks.
    pub size: usize,
    /// What was wrong, e.g. `"double free"`.
    pub what: &'static str,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "alloc-pool: {} at {:#x} (class {} B)",
            self.what, self.addr, self.size
        )
    }
}

/// A fatal-report function: must not return and must not unwind.
pub type ReportHook = fn(&Report) -> !;

/// The installed hook (null: the default).
static HOOK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs `hook` as the fatal-report function of every pool (for example a kernel's "print
/// and halt all CPUs"). The hook must not allocate from the pool that reported.
pub fn set_report_hook(hook: ReportHook) {
    HOOK.store(hook as *mut (), Ordering::Release);
}

/// Reports `what` at `addr` (class or block size `size`) and ends the program.
#[cfg_attr(not(hardened), allow(dead_code))] // only hardened mode reports
#[cold]
#[inline(never)]
pub(crate) fn fatal(addr: usize, size: usize, what: &'static str) -> ! {
    let report = Report { addr, size, what };
    let hook = HOOK.load(Ordering::Acquire);
    if !hook.is_null() {
        // SAFETY: only `set_report_hook` stores into `HOOK`, always a `ReportHook` cast to a
        // data pointer; fn pointers and data pointers have the same size on every target this
        // crate builds for.
        let hook = unsafe { core::mem::transmute::<*mut (), ReportHook>(hook) };
        hook(&report);
    }
    default_report(&report)
}

#[cfg(any(test, all(feature = "std", not(loom))))]
#[cfg_attr(not(hardened), allow(dead_code))]
fn default_report(report: &Report) -> ! {
    use std::io::Write;
    // Unbuffered and allocation-free: the pool may be the global allocator.
    let _ = writeln!(std::io::stderr().lock(), "{report}");
    std::process::abort()
}

#[cfg(not(any(test, all(feature = "std", not(loom)))))]
#[cfg_attr(not(hardened), allow(dead_code))]
fn default_report(report: &Report) -> ! {
    /// A panic that cannot unwind past this frame: `extern "C"` functions abort instead.
    #[allow(improper_ctypes_definitions)] // called from Rust only
    extern "C" fn panic_nounwind(report: &Report) -> ! {
        panic!("{report}")
    }
    panic_nounwind(report)
}
