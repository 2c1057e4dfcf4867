//! The test registry and the KTAP version 1 reporter, nested the way KUnit writes it.
//!
//! Tests are `fn() -> TestResult` grouped in [`Suite`]s (declared with [`suites!`]). They print
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

use crate::cmdline::Options;
use crate::exit::ExitCode;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

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
#[derive(Debug)]
pub struct Test {
    /// The function's name (unique in its suite, checked at build time by [`suites!`]).
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

/// A named group of tests: one KTAP subtest.
#[derive(Debug)]
pub struct Suite {
    /// The suite's name (unique, checked at build time by [`suites!`]).
    pub name: &'static str,
    /// Its tests, in the order they run.
    pub tests: &'static [Test],
}

/// Declares the suites, each as `module: [test_fn, ...]`: the suite is named after the module,
/// each test after its function (as `KUNIT_CASE` does). Evaluates to `&'static [Suite]` and
/// fails the build if a suite or test name repeats.
#[macro_export]
macro_rules! suites {
    ($( $module:ident : [ $( $test:ident ),* $(,)? ] ),* $(,)?) => {{
        const SUITES: &[$crate::ktap::Suite] = &[$(
            $crate::ktap::Suite {
                name: stringify!($module),
                tests: &[$( $crate::ktap::Test { name: stringify!($test), run: $module::$test } ),*],
            }
        ),*];
        const _: () = assert!($crate::ktap::names_unique(SUITES), "repeated suite or test name");
        SUITES
    }};
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether suite names are unique and test names are unique within each suite (const, for
/// [`suites!`]).
pub const fn names_unique(suites: &[Suite]) -> bool {
    let mut i = 0;
    while i < suites.len() {
        let mut j = i + 1;
        while j < suites.len() {
            if str_eq(suites[i].name, suites[j].name) {
                return false;
            }
            j += 1;
        }
        let tests = suites[i].tests;
        let mut a = 0;
        while a < tests.len() {
            let mut b = a + 1;
            while b < tests.len() {
                if str_eq(tests[a].name, tests[b].name) {
                    return false;
                }
                b += 1;
            }
            a += 1;
        }
        i += 1;
    }
    true
}

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

/// Why the command line's test selection was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SelectError<'a> {
    /// `filter=` matches no test.
    FilterMatchesNothing(&'a str),
    /// `fail=` names no selected test.
    FailMatchesNothing(&'a str),
    /// `fail=<test>` names tests in several suites.
    FailAmbiguous(&'a str),
}

impl fmt::Display for SelectError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::FilterMatchesNothing(p) => {
                write!(f, "filter={p} matches no test (names are suite.test)")
            }
            SelectError::FailMatchesNothing(n) => write!(
                f,
                "fail={n} names no selected test (give suite.test or a unique test name)"
            ),
            SelectError::FailAmbiguous(n) => {
                write!(f, "fail={n} names tests in several suites: give suite.test")
            }
        }
    }
}

/// The tests to run, per suite (suites with no selected test left out), and the test to fail.
pub struct Selection {
    suites: Vec<(&'static Suite, Vec<&'static Test>)>,
    fail: Option<*const Test>,
}

/// Whether `name` (`suite.test` or `test`) names `test` of `suite`.
fn names(name: &str, suite: &Suite, test: &Test) -> bool {
    match name.split_once('.') {
        Some((s, t)) => s == suite.name && t == test.name,
        None => name == test.name,
    }
}

/// Applies `filter=` and `fail=` to `suites`; `forced` suites run whole and ignore the filter.
pub fn select<'a>(
    forced: &[&'static Suite],
    suites: &'static [Suite],
    options: &Options<'a>,
) -> Result<Selection, SelectError<'a>> {
    let filtered = suites.iter().filter_map(|suite| {
        let tests: Vec<&'static Test> = suite
            .tests
            .iter()
            .filter(|t| {
                options.filter.is_none_or(|f| {
                    let full = alloc::format!("{}.{}", suite.name, t.name);
                    full.contains(f)
                })
            })
            .collect();
        (!tests.is_empty()).then_some((suite, tests))
    });
    let selected: Vec<_> = forced
        .iter()
        .map(|&s| (s, s.tests.iter().collect()))
        .chain(filtered)
        .collect();
    if let Some(f) = options.filter
        && selected.len() == forced.len()
    {
        return Err(SelectError::FilterMatchesNothing(f));
    }
    let mut fail = None;
    if let Some(name) = options.fail {
        let mut hits = selected
            .iter()
            .flat_map(|(s, tests)| tests.iter().filter(|t| names(name, s, t)).copied());
        let first = hits.next().ok_or(SelectError::FailMatchesNothing(name))?;
        if hits.next().is_some() {
            return Err(SelectError::FailAmbiguous(name));
        }
        fail = Some(first as *const Test);
    }
    Ok(Selection {
        suites: selected,
        fail,
    })
}

/// Prints `suite.test: test` for every selected test (the libtest `--list` format).
pub fn list(selection: &Selection) {
    for (suite, tests) in &selection.suites {
        for test in tests {
            crate::println!("{}.{}: test", suite.name, test.name);
        }
    }
}

/// Runs the selection, prints the nested KTAP report, returns the exit code for the protocol.
/// Each test runs under the watchdog (`timeout_s`).
pub fn run(selection: &Selection, timeout_s: u64) -> ExitCode {
    crate::println!("KTAP version 1");
    crate::println!("1..{}", selection.suites.len());
    let mut failed = 0usize;
    for (suite_number, (suite, tests)) in (1..).zip(&selection.suites) {
        INDENT.store(4, Ordering::Relaxed);
        crate::println!("    KTAP version 1");
        crate::println!("    # Subtest: {}", suite.name);
        crate::println!("    1..{}", tests.len());
        CURRENT_SUITE_NUMBER.store(suite_number, Ordering::Relaxed);
        CURRENT_SUITE.store(*suite as *const Suite as *mut Suite, Ordering::Release);
        let mut suite_failed = false;
        for (number, test) in (1..).zip(tests) {
            CURRENT_TEST_NUMBER.store(number, Ordering::Relaxed);
            CURRENT_TEST.store(*test as *const Test as *mut Test, Ordering::Release);
            crate::watchdog::arm(timeout_s);
            let mut result = (test.run)();
            crate::watchdog::disarm();
            CURRENT_TEST.store(core::ptr::null_mut(), Ordering::Release);
            if selection.fail == Some(*test as *const Test) {
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
