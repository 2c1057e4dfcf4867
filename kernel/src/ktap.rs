//! A tiny test registry and KTAP version 1 reporter.
//!
//! Tests are `fn() -> TestResult`; they print diagnostics with [`diag!`](crate::diag) (lines
//! starting `# `) before their result line, fail with [`check!`](crate::check), and skip with
//! [`Stop::Skip`].

#![deny(unsafe_code)]

use crate::cmdline::Options;
use crate::exit::ExitCode;
use alloc::string::String;

/// Why a test stopped early.
#[derive(Debug)]
pub enum Stop {
    /// A check failed (its message was already printed as a diagnostic).
    Failed,
    /// The test does not apply here; the reason goes on the result line.
    Skip(String),
}

/// A test's outcome.
pub type TestResult = Result<(), Stop>;

/// A registered test.
pub struct Test {
    /// snake_case name, unique.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

impl Test {
    /// A registry entry.
    pub const fn new(name: &'static str, run: fn() -> TestResult) -> Self {
        Self { name, run }
    }
}

/// Prints a KTAP diagnostic line (`# ...`).
#[macro_export]
macro_rules! diag {
    ($($arg:tt)*) => { $crate::println!("# {}", format_args!($($arg)*)) };
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

/// Runs the tests selected by `options` and returns the exit code for the protocol.
pub fn run(tests: &[Test], options: &Options<'_>) -> ExitCode {
    let selected = || {
        tests
            .iter()
            .filter(move |t| options.filter.is_none_or(|f| t.name.contains(f)))
    };
    crate::println!("KTAP version 1");
    crate::println!("1..{}", selected().count());
    if let Some(filter) = options.filter {
        crate::diag!("filter: {filter}");
    }
    if let Some(fail) = options.fail
        && !selected().any(|t| t.name == fail)
    {
        crate::diag!("fail={fail}: no selected test has that name (nothing injected)");
    }
    let mut failed = 0usize;
    for (n, test) in selected().enumerate().map(|(i, t)| (i + 1, t)) {
        let mut result = (test.run)();
        if options.fail == Some(test.name) {
            crate::diag!("injected failure");
            result = Err(Stop::Failed);
        }
        match result {
            Ok(()) => crate::println!("ok {n} {}", test.name),
            Err(Stop::Skip(reason)) => crate::println!("ok {n} {} # SKIP {reason}", test.name),
            Err(Stop::Failed) => {
                failed += 1;
                crate::println!("not ok {n} {}", test.name);
            }
        }
    }
    if failed == 0 {
        ExitCode::Success
    } else {
        crate::diag!("{failed} test(s) failed");
        ExitCode::Failed
    }
}
