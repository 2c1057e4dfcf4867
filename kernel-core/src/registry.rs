//! The test registry: tests grouped in suites, declared once with [`suites!`](crate::suites)
//! (names taken from the functions, uniqueness checked at build time), and the selection that
//! `filter=` / `fail=` make of them.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

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
    /// The function's name (unique in its suite, checked at build time by [`suites!`](crate::suites)).
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

/// A named group of tests: one KTAP subtest.
#[derive(Debug)]
pub struct Suite {
    /// The suite's name (unique, checked at build time by [`suites!`](crate::suites)).
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
        const SUITES: &[$crate::registry::Suite] = &[$(
            $crate::registry::Suite {
                name: stringify!($module),
                tests: &[$( $crate::registry::Test { name: stringify!($test), run: $module::$test } ),*],
            }
        ),*];
        const _: () = assert!($crate::registry::names_unique(SUITES), "repeated suite or test name");
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
/// [`suites!`](crate::suites)).
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
#[derive(Debug)]
pub struct Selection {
    suites: Vec<(&'static Suite, Vec<&'static Test>)>,
    fail: Option<*const Test>,
}

impl Selection {
    /// The selected suites, in order, each with its selected tests.
    pub fn suites(&self) -> impl Iterator<Item = (&'static Suite, &[&'static Test])> {
        self.suites
            .iter()
            .map(|(suite, tests)| (*suite, tests.as_slice()))
    }

    /// Whether `test` is the one `fail=` names.
    pub fn fails(&self, test: &Test) -> bool {
        self.fail == Some(test as *const Test)
    }
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
    options: &crate::cmdline::Options<'a>,
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

#[cfg(test)]
mod tests;
