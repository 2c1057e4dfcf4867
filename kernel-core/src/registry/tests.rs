//! Host tests of the registry and the selection.

use super::*;
use crate::cmdline::Options;
use alloc::vec;

fn nothing() -> TestResult {
    Ok(())
}

mod alpha {
    use super::*;
    pub fn shared() -> TestResult {
        nothing()
    }
    pub fn only_alpha() -> TestResult {
        nothing()
    }
}

mod beta {
    use super::*;
    pub fn shared() -> TestResult {
        Err(Stop::Skip("beta".into()))
    }
}

static ALL: &[Suite] = crate::suites![alpha: [shared, only_alpha], beta: [shared]];
static FORCED: Suite = Suite {
    name: "crash",
    tests: &[Test {
        name: "hang",
        run: nothing,
    }],
};

fn chosen(selection: &Selection) -> Vec<String> {
    selection
        .suites()
        .flat_map(|(s, tests)| {
            tests
                .iter()
                .map(move |t| alloc::format!("{}.{}", s.name, t.name))
        })
        .collect()
}

#[test]
fn the_macro_names_suites_after_modules_and_tests_after_functions() {
    assert_eq!(ALL.len(), 2);
    assert_eq!((ALL[0].name, ALL[0].tests[1].name), ("alpha", "only_alpha"));
    assert!((ALL[1].tests[0].run)().is_err());
}

#[test]
fn repeated_names_are_rejected() {
    const A: Test = Test {
        name: "a",
        run: nothing,
    };
    const B: Test = Test {
        name: "b",
        run: nothing,
    };
    let suite = |name, tests| Suite { name, tests };
    assert!(names_unique(&[suite("x", &[A, B]), suite("y", &[A])]));
    assert!(!names_unique(&[suite("x", &[A, B, A])]));
    assert!(!names_unique(&[suite("x", &[A]), suite("x", &[B])]));
}

#[test]
fn filter_matches_any_part_of_suite_dot_test() {
    let all = select(&[], ALL, &Options::default()).unwrap();
    assert_eq!(
        chosen(&all),
        ["alpha.shared", "alpha.only_alpha", "beta.shared"]
    );
    for (filter, want) in [
        ("beta", vec!["beta.shared"]),
        ("alpha.sh", vec!["alpha.shared"]),
        ("shared", vec!["alpha.shared", "beta.shared"]),
    ] {
        let options = Options {
            filter: Some(filter),
            ..Options::default()
        };
        assert_eq!(
            chosen(&select(&[], ALL, &options).unwrap()),
            want,
            "{filter}"
        );
    }
}

#[test]
fn a_filter_that_selects_nothing_is_an_error_even_with_forced_suites() {
    let options = Options {
        filter: Some("zzz"),
        ..Options::default()
    };
    assert_eq!(
        select(&[&FORCED], ALL, &options).err(),
        Some(SelectError::FilterMatchesNothing("zzz"))
    );
}

#[test]
fn forced_suites_come_first_and_ignore_the_filter() {
    let options = Options {
        filter: Some("beta"),
        ..Options::default()
    };
    let selection = select(&[&FORCED], ALL, &options).unwrap();
    assert_eq!(chosen(&selection), ["crash.hang", "beta.shared"]);
}

#[test]
fn fail_takes_suite_dot_test_or_a_unique_test_name() {
    let fail = |name| Options {
        fail: Some(name),
        ..Options::default()
    };
    let selection = select(&[], ALL, &fail("beta.shared")).unwrap();
    assert!(selection.fails(&ALL[1].tests[0]) && !selection.fails(&ALL[0].tests[0]));
    let selection = select(&[], ALL, &fail("only_alpha")).unwrap();
    assert!(selection.fails(&ALL[0].tests[1]));
    assert_eq!(
        select(&[], ALL, &fail("shared")).err(),
        Some(SelectError::FailAmbiguous("shared"))
    );
    assert_eq!(
        select(&[], ALL, &fail("gamma.shared")).err(),
        Some(SelectError::FailMatchesNothing("gamma.shared"))
    );
    let filtered_out = Options {
        filter: Some("beta"),
        fail: Some("only_alpha"),
        ..Options::default()
    };
    assert_eq!(
        select(&[], ALL, &filtered_out).err(),
        Some(SelectError::FailMatchesNothing("only_alpha"))
    );
}
