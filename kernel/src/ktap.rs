//! The test registry and the KTAP version 1 reporter, nested the way KUnit writes it.
//!
//! Tests are `fn() -> TestResult` grouped in [`Suite`]s (declared with `kernel_core::suites!`,
//! see [`kernel_core::registry`]). They print
//! diagnostics with [`diag!`](crate::diag) (`# ` lines, indented with their suite), fail with
//! [`check!`](crate::check) and skip with [`Stop::Skip`]. Output:
//!
//! ```text
//! KTAP version 1
//! 1..2
//!     KTAP version 1
//!     # Subtest: heap
//!     1..1
//!     ok 1 box_vec_string
//! ok 1 heap
//!     ...
//! ```
//!
//! A suite is `not ok` when any of its tests is. A test that crashes the kernel or hangs gets
//! `not ok N <test> # ERROR|TIMEOUT <reason>` from the fatal path ([`abort_current`]).

#![deny(unsafe_code)]

use crate::exit::ExitCode;
use core::fmt;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

pub use kernel_core::registry::{Selection, Stop, Suite, Test, TestResult, select};

/// Indentation of the current KTAP level: 4 spaces inside a suite.
static INDENT: AtomicUsize = AtomicUsize::new(0);
/// The running test (null between tests) and its number; the running suite and its number.
static CURRENT_TEST: AtomicPtr<Test> = AtomicPtr::new(core::ptr::null_mut());
static CURRENT_TEST_NUMBER: AtomicUsize = AtomicUsize::new(0);
static CURRENT_SUITE: AtomicPtr<Suite> = AtomicPtr::new(core::ptr::null_mut());
static CURRENT_SUITE_NUMBER: AtomicUsize = AtomicUsize::new(0);

/// The indentation to print before a line at the current KTAP level.
pub fn indent() -> &'static str {
    &"        "[..INDENT.load(Ordering::Relaxed).min(8)]
}

/// Prints a KTAP diagnostic line (`# ...`) at the current level.
#[macro_export]
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::println!("{}# {}", $crate::ktap::indent(), format_args!($($arg)*))
    };
}

/// Fails the current test (returns `Err(Stop::Failed)`) with a diagnostic when `cond` is false.
#[macro_export]
macro_rules! check {
    ($cond:expr $(,)?) => { $crate::check!($cond, "{}", stringify!($cond)) };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::diag!("FAIL at {}:{}: {}", file!(), line!(), format_args!($($arg)+));
            return Err($crate::ktap::Stop::Failed);
        }
    };
}

/// Prints `suite.test: test` for every selected test (the libtest `--list` format).
pub fn list(selection: &Selection) {
    for (suite, tests) in selection.suites() {
        for test in tests {
            crate::println!("{}.{}: test", suite.name, test.name);
        }
    }
}

/// Runs the selection, prints the nested KTAP report, returns the exit code for the protocol.
/// Each test runs under the watchdog (`timeout_s`).
pub fn run(selection: &Selection, timeout_s: u64) -> ExitCode {
    crate::println!("KTAP version 1");
    crate::println!("1..{}", selection.suites().count());
    let mut failed = 0usize;
    for (suite_number, (suite, tests)) in (1..).zip(selection.suites()) {
        INDENT.store(4, Ordering::Relaxed);
        crate::println!("    KTAP version 1");
        crate::println!("    # Subtest: {}", suite.name);
        crate::println!("    1..{}", tests.len());
        CURRENT_SUITE_NUMBER.store(suite_number, Ordering::Relaxed);
        CURRENT_SUITE.store(suite as *const Suite as *mut Suite, Ordering::Release);
        let mut suite_failed = false;
        for (number, test) in (1..).zip(tests) {
            CURRENT_TEST_NUMBER.store(number, Ordering::Relaxed);
            CURRENT_TEST.store(*test as *const Test as *mut Test, Ordering::Release);
            crate::watchdog::arm(timeout_s);
            let mut result = (test.run)();
            crate::watchdog::disarm();
            CURRENT_TEST.store(core::ptr::null_mut(), Ordering::Release);
            if selection.fails(test) {
                crate::diag!("injected failure");
                result = Err(Stop::Failed);
            }
            match result {
                Ok(()) => crate::println!("    ok {number} {}", test.name),
                Err(Stop::Skip(reason)) => {
                    crate::println!("    ok {number} {} # SKIP {reason}", test.name)
                }
                Err(Stop::Failed) => {
                    failed += 1;
                    suite_failed = true;
                    crate::println!("    not ok {number} {}", test.name);
                }
            }
        }
        CURRENT_SUITE.store(core::ptr::null_mut(), Ordering::Release);
        INDENT.store(0, Ordering::Relaxed);
        let status = if suite_failed { "not ok" } else { "ok" };
        crate::println!("{status} {suite_number} {}", suite.name);
    }
    if failed == 0 {
        ExitCode::Success
    } else {
        crate::diag!("{failed} test(s) failed");
        ExitCode::Failed
    }
}

/// On a fatal path: prints the running test's result with `directive` and `reason`, then its
/// suite's `not ok` line, without locks or allocation. Does nothing between tests.
pub fn abort_current(directive: &str, reason: fmt::Arguments<'_>) {
    let test = CURRENT_TEST.swap(core::ptr::null_mut(), Ordering::AcqRel);
    let suite = CURRENT_SUITE.swap(core::ptr::null_mut(), Ordering::AcqRel);
    let (Some(test), Some(suite)) = (ptr_to_static(test), ptr_to_static(suite)) else {
        return;
    };
    crate::serial::raw_write(format_args!(
        "    not ok {} {} # {directive} {reason}\nnot ok {} {}\n",
        CURRENT_TEST_NUMBER.load(Ordering::Relaxed),
        test.name,
        CURRENT_SUITE_NUMBER.load(Ordering::Relaxed),
        suite.name
    ));
}

/// Turns a pointer stored by [`run`] (from a `&'static T`, or null) back into the reference.
fn ptr_to_static<T>(ptr: *mut T) -> Option<&'static T> {
    #[allow(unsafe_code)] // the only conversion back from the stored pointers
    // SAFETY: every non-null pointer stored in CURRENT_TEST/CURRENT_SUITE was made from a
    // `&'static Test`/`&'static Suite` (registry entries live for ever) and is only read.
    unsafe {
        ptr.as_ref()
    }
}
