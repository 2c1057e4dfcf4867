//! How a run ended, and the verdict: passed / failed / crashed / timed out / error, each with its
//! own process exit code (the guest contract: `qemu/README.md`, values in [`ktap_abi`]).
//!
//! [`classify`] is a pure function of the parsed KTAP report and the way QEMU ended. A pass needs
//! both the success exit code (33, which QEMU cannot produce by itself) and a complete report: a
//! plan at every level and exactly the results `1..N` in order, none failed, and at least one
//! test (unless empty runs are allowed). When the exit code says success but the report is
//! malformed, the run is a crash, because something stopped the suite from telling the whole
//! story; a malformed report beats a `not ok` for the same reason.

#![deny(unsafe_code)]

use crate::ktap::{KtapReport, Level};
use ktap_abi::ExitCode;
use std::fmt;
use std::time::Duration;

/// QEMU exit code when every selected test passed (`isa-debug-exit` value 0x10).
pub const EXIT_ALL_PASSED: i32 = ExitCode::Success.qemu_status();
/// QEMU exit code when the suite finished with at least one failure (value 0x11).
pub const EXIT_SOME_FAILED: i32 = ExitCode::Failed.qemu_status();
/// QEMU exit code after a kernel panic, CPU exception or boot error report (value 0x12).
pub const EXIT_KERNEL_CRASH: i32 = ExitCode::Crashed.qemu_status();
/// QEMU exit code after the kernel's watchdog ended a hung test (value 0x13).
pub const EXIT_TEST_TIMED_OUT: i32 = ExitCode::TestTimedOut.qemu_status();

/// What the user accepts beyond the strict rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Accept a run with no test at all (`1..0`) as a pass (`--allow-empty`).
    pub allow_empty: bool,
}

/// How the QEMU process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuEnd {
    /// Exited by itself with this code.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signaled(i32),
    /// Still running at the deadline; the runner killed it.
    TimedOut(Duration),
}

impl fmt::Display for QemuEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            QemuEnd::Exited(code) => {
                let meaning = match code {
                    EXIT_ALL_PASSED => "kernel: all tests passed",
                    EXIT_SOME_FAILED => "kernel: suite finished with failures",
                    EXIT_KERNEL_CRASH => "kernel: panic, CPU exception or boot error",
                    EXIT_TEST_TIMED_OUT => "kernel: its watchdog ended a hung test",
                    0 => "triple fault or guest shutdown (-no-reboot)",
                    1 => "QEMU error (bad option?) or guest shutdown",
                    _ => "not a code the kernel writes",
                };
                write!(f, "exit code {code} ({meaning})")
            }
            QemuEnd::Signaled(signal) => write!(f, "killed by signal {signal}"),
            QemuEnd::TimedOut(after) => {
                write!(f, "timed out after {:.1} s, killed", after.as_secs_f64())
            }
        }
    }
}

/// The runner's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 33 and a complete report with no failure.
    Passed,
    /// The kernel reported at least one failed test.
    Failed,
    /// Panic, exception, triple fault, signal, unexpected exit code or a malformed report.
    Crashed,
    /// Wall-clock timeout, or the kernel's per-test watchdog fired.
    TimedOut,
    /// The runner could not do its job (QEMU missing, kernel build failed, bad arguments).
    Error,
}

impl Outcome {
    /// The runner's process exit code for this outcome.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::Crashed => 2,
            Outcome::TimedOut => 3,
            Outcome::Error => 4,
        }
    }

    /// Upper-case label for the summary.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "PASSED",
            Outcome::Failed => "FAILED",
            Outcome::Crashed => "CRASHED",
            Outcome::TimedOut => "TIMED OUT",
            Outcome::Error => "ERROR",
        }
    }
}

/// An outcome and the reasons that led to it (empty for a clean pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Outcome,
    /// Human-readable reasons, most important first.
    pub reasons: Vec<String>,
}

/// Problems of one level (`path` names it in messages): plan, count and numbering.
fn level_problems(level: &Level, path: &str, problems: &mut Vec<String>) {
    let Some(plan) = level.plan else {
        problems.push(format!("no KTAP plan line (`1..N`){path}"));
        return;
    };
    if level.repeated_plans > 0 {
        problems.push(format!("{} extra plan line(s){path}", level.repeated_plans));
    }
    let got = level.results.len() as u64;
    if got < plan {
        problems.push(format!(
            "missing results{path}: plan 1..{plan}, got {got} result(s)"
        ));
    } else if got > plan {
        problems.push(format!(
            "extra results{path}: plan 1..{plan}, got {got} result(s)"
        ));
    }
    if let Some((index, result)) = level
        .results
        .iter()
        .enumerate()
        .find(|(index, result)| result.number != *index as u64 + 1)
    {
        problems.push(format!(
            "results out of order{path}: result #{} is numbered {} (`{}`)",
            index + 1,
            result.number,
            result.name
        ));
    }
    for result in &level.results {
        if !result.subtests.results.is_empty() || result.subtests.plan.is_some() {
            level_problems(
                &result.subtests,
                &format!(" in subtest `{}`", result.name),
                problems,
            );
        }
    }
}

/// Problems that make a report incomplete or inconsistent, in the order they are checked.
pub fn structural_problems(report: &KtapReport) -> Vec<String> {
    let mut problems = Vec::new();
    if report.version.is_none() {
        problems.push("no `KTAP version` line on the serial port".to_owned());
        return problems;
    }
    if report.repeated_version_lines > 0 {
        problems.push(format!(
            "`KTAP version` printed {} more time(s): the guest restarted",
            report.repeated_version_lines
        ));
    }
    if report.overflowed {
        problems.push(format!(
            "the report exceeded the runner's {} MiB cap; text was dropped",
            crate::ktap::MAX_STORED_BYTES >> 20
        ));
    }
    if report.unclosed_levels > 0 {
        problems.push(format!(
            "{} subtest(s) without their result line",
            report.unclosed_levels
        ));
    }
    level_problems(&report.top, "", &mut problems);
    problems
}

/// Judges a run from its report and the way QEMU ended.
pub fn classify(report: &KtapReport, end: QemuEnd, policy: Policy) -> Verdict {
    let failed: Vec<String> = report.failed().iter().map(|f| f.path()).collect();
    let structure = structural_problems(report);
    let crash: Vec<String> = report
        .crash_lines()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut reasons = Vec::new();
    let empty = report.leaves().is_empty() && report.plan().is_some();

    let outcome = match end {
        QemuEnd::TimedOut(_) => {
            reasons.push(format!("QEMU {end}"));
            Outcome::TimedOut
        }
        QemuEnd::Signaled(_) => {
            reasons.push(format!("QEMU {end}"));
            Outcome::Crashed
        }
        QemuEnd::Exited(EXIT_TEST_TIMED_OUT) => {
            reasons.push(format!("QEMU {end}"));
            let hung = report.with_directive(ktap_abi::TIMEOUT_DIRECTIVE);
            if hung.is_empty() {
                reasons.push("no `# TIMEOUT` result names the hung test".to_owned());
            }
            for test in hung {
                reasons.push(format!("test `{test}` timed out (kernel watchdog)"));
            }
            Outcome::TimedOut
        }
        QemuEnd::Exited(EXIT_KERNEL_CRASH) => {
            reasons.push(format!("QEMU {end}"));
            if crash.is_empty() {
                reasons.push(
                    "no `# PANIC`/`# EXCEPTION`/`# BOOT ERROR` report was printed".to_owned(),
                );
            }
            reasons.extend(crash);
            for test in report.with_directive(ktap_abi::ERROR_DIRECTIVE) {
                reasons.push(format!("test `{test}` crashed the kernel"));
            }
            Outcome::Crashed
        }
        QemuEnd::Exited(EXIT_SOME_FAILED) => {
            if failed.is_empty() {
                reasons.push("kernel reported failure but printed no `not ok` result".to_owned());
            }
            Outcome::Failed
        }
        QemuEnd::Exited(EXIT_ALL_PASSED) => {
            if !crash.is_empty() {
                reasons.push("success exit code after a crash report".to_owned());
                reasons.extend(crash);
                Outcome::Crashed
            } else if !structure.is_empty() {
                Outcome::Crashed
            } else if !failed.is_empty() {
                reasons.push("success exit code but some results are `not ok`".to_owned());
                Outcome::Failed
            } else if empty && !policy.allow_empty {
                reasons.push(
                    "no test ran (empty plan); pass --allow-empty to accept an empty run"
                        .to_owned(),
                );
                Outcome::Failed
            } else {
                Outcome::Passed
            }
        }
        QemuEnd::Exited(_) => {
            reasons.push(format!("QEMU {end}"));
            Outcome::Crashed
        }
    };
    reasons.extend(structure);
    Verdict { outcome, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ktap::parse;

    const PASS: &str = include_str!("../tests/data/pass.log");
    const ONE_FAILURE: &str = include_str!("../tests/data/one_failure.log");
    const EXCEPTION: &str = include_str!("../tests/data/exception.log");
    const MISSING_PLAN: &str = include_str!("../tests/data/missing_plan.log");
    const MISSING_RESULT: &str = include_str!("../tests/data/missing_result.log");
    const OUT_OF_ORDER: &str = include_str!("../tests/data/out_of_order.log");
    const EXTRA_RESULT: &str = include_str!("../tests/data/extra_result.log");
    const TRIPLE_FAULT: &str = include_str!("../tests/data/triple_fault.log");

    fn verdict(log: &str, end: QemuEnd) -> Verdict {
        classify(&parse(log), end, Policy::default())
    }

    fn outcome(log: &str, end: QemuEnd) -> Outcome {
        verdict(log, end).outcome
    }

    #[test]
    fn pass_needs_exit_33_and_a_complete_report() {
        let v = verdict(PASS, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Passed, "{:?}", v.reasons);
        assert!(v.reasons.is_empty());
        assert_eq!(Outcome::Passed.exit_code(), 0);
    }

    #[test]
    fn a_passing_log_with_any_other_ending_is_not_a_pass() {
        for (end, expected) in [
            (QemuEnd::Exited(0), Outcome::Crashed),
            (QemuEnd::Exited(1), Outcome::Crashed),
            (QemuEnd::Exited(3), Outcome::Crashed),
            (QemuEnd::Exited(35), Outcome::Failed),
            (QemuEnd::Exited(37), Outcome::Crashed),
            (QemuEnd::Signaled(9), Outcome::Crashed),
            (
                QemuEnd::TimedOut(Duration::from_secs(60)),
                Outcome::TimedOut,
            ),
        ] {
            assert_eq!(outcome(PASS, end), expected, "{end:?}");
        }
    }

    #[test]
    fn one_failure_exit_35_is_failed_and_names_nothing_extra() {
        let report = parse(ONE_FAILURE);
        let v = classify(&report, QemuEnd::Exited(35), Policy::default());
        assert_eq!(v.outcome, Outcome::Failed);
        assert!(v.reasons.is_empty(), "{:?}", v.reasons);
        let failed: Vec<_> = report.failed().iter().map(|f| f.path()).collect();
        assert_eq!(failed, ["pool.every_class_alignment"]);
        assert_eq!(report.failed()[0].result.diagnostics, ["injected failure"]);
        assert_eq!(Outcome::Failed.exit_code(), 1);
    }

    #[test]
    fn not_ok_with_success_exit_code_is_failed() {
        let v = verdict(ONE_FAILURE, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Failed);
        assert_eq!(v.reasons.len(), 1);
    }

    #[test]
    fn exit_35_without_not_ok_is_still_failed_with_a_reason() {
        let v = verdict(PASS, QemuEnd::Exited(35));
        assert_eq!(v.outcome, Outcome::Failed);
        assert!(v.reasons[0].contains("no `not ok`"));
    }

    #[test]
    fn missing_plan_is_a_crash() {
        let v = verdict(MISSING_PLAN, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.contains("no KTAP plan")));
    }

    #[test]
    fn missing_version_line_is_a_crash() {
        let v = verdict("booting...\n1..1\nok 1 a\n", QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons[0].contains("KTAP version"));
    }

    #[test]
    fn missing_result_is_a_crash() {
        let v = verdict(MISSING_RESULT, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.contains("missing results")));
    }

    #[test]
    fn out_of_order_results_are_a_crash() {
        let v = verdict(OUT_OF_ORDER, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.contains("out of order")));
    }

    #[test]
    fn extra_result_is_a_crash() {
        let v = verdict(EXTRA_RESULT, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.contains("extra results")));
    }

    #[test]
    fn malformed_report_beats_not_ok() {
        let log = "KTAP version 1\n1..3\nok 1 a\nnot ok 2 b\n";
        assert_eq!(outcome(log, QemuEnd::Exited(33)), Outcome::Crashed);
    }

    #[test]
    fn exception_then_exit_37_is_a_crash_with_the_report() {
        let v = verdict(EXCEPTION, QemuEnd::Exited(37));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.starts_with("EXCEPTION")));
        assert_eq!(Outcome::Crashed.exit_code(), 2);
    }

    #[test]
    fn panic_during_boot_exit_37_is_a_crash_with_the_report() {
        let v = verdict(
            include_str!("../tests/data/boot_panic.log"),
            QemuEnd::Exited(37),
        );
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.starts_with("PANIC")), "{v:?}");
        assert!(
            !v.reasons.iter().any(|r| r.contains("no `# PANIC`")),
            "{v:?}"
        );
    }

    #[test]
    fn exit_37_without_a_report_says_so() {
        let v = verdict(PASS, QemuEnd::Exited(37));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons.iter().any(|r| r.contains("no `# PANIC`")));
    }

    #[test]
    fn crash_report_with_success_code_is_a_crash() {
        let log = "KTAP version 1\n1..1\n# PANIC: at src/x.rs:1\nok 1 a\n";
        assert_eq!(outcome(log, QemuEnd::Exited(33)), Outcome::Crashed);
    }

    #[test]
    fn triple_fault_exit_0_is_a_crash() {
        let v = verdict(TRIPLE_FAULT, QemuEnd::Exited(0));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons[0].contains("triple fault"));
    }

    #[test]
    fn signal_is_a_crash() {
        let v = verdict(PASS, QemuEnd::Signaled(11));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(v.reasons[0].contains("signal 11"));
    }

    #[test]
    fn timeout_is_timed_out_even_with_a_complete_report() {
        let v = verdict(PASS, QemuEnd::TimedOut(Duration::from_secs(5)));
        assert_eq!(v.outcome, Outcome::TimedOut);
        assert_eq!(Outcome::TimedOut.exit_code(), 3);
        let v = verdict(MISSING_RESULT, QemuEnd::TimedOut(Duration::from_secs(5)));
        assert_eq!(v.outcome, Outcome::TimedOut);
        assert!(v.reasons.iter().any(|r| r.contains("missing results")));
    }

    #[test]
    fn an_empty_plan_fails_unless_allowed() {
        let log = "KTAP version 1\n1..0\n";
        let v = verdict(log, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Failed);
        assert!(v.reasons[0].contains("--allow-empty"), "{v:?}");
        let allowed = classify(
            &parse(log),
            QemuEnd::Exited(33),
            Policy { allow_empty: true },
        );
        assert_eq!(allowed.outcome, Outcome::Passed);
        let empty_suite = "KTAP version 1\n1..1\n    # Subtest: s\n    1..0\nok 1 s\n";
        assert_eq!(outcome(empty_suite, QemuEnd::Exited(33)), Outcome::Failed);
    }

    #[test]
    fn an_ok_suite_with_a_failed_test_is_failed() {
        let log = "KTAP version 1\n1..1\n    # Subtest: s\n    1..1\n    not ok 1 t\nok 1 s\n";
        let v = verdict(log, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Failed, "{v:?}");
    }

    #[test]
    fn a_subtest_with_a_missing_result_is_a_crash() {
        let log = "KTAP version 1\n1..1\n    # Subtest: s\n    1..2\n    ok 1 t\nok 1 s\n";
        let v = verdict(log, QemuEnd::Exited(33));
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(
            v.reasons.iter().any(|r| r.contains("in subtest `s`")),
            "{v:?}"
        );
    }

    #[test]
    fn watchdog_exit_is_timed_out_and_names_the_test() {
        let log = "KTAP version 1\n1..1\n    # Subtest: crash\n    1..1\n\
                   \x20   not ok 1 hang # TIMEOUT the test ran longer than test_timeout=1 s\n\
                   not ok 1 crash\n";
        let v = verdict(log, QemuEnd::Exited(39));
        assert_eq!(v.outcome, Outcome::TimedOut);
        assert!(
            v.reasons
                .iter()
                .any(|r| r == "test `crash.hang` timed out (kernel watchdog)"),
            "{v:?}"
        );
    }

    #[test]
    fn a_crash_in_a_test_names_it() {
        let v = verdict(
            include_str!("../tests/data/crash_in_test.log"),
            QemuEnd::Exited(37),
        );
        assert_eq!(v.outcome, Outcome::Crashed);
        assert!(
            v.reasons
                .iter()
                .any(|r| r == "test `crash.null_deref` crashed the kernel"),
            "{v:?}"
        );
    }

    #[test]
    fn exit_codes_are_distinct() {
        let all = [
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Crashed,
            Outcome::TimedOut,
            Outcome::Error,
        ];
        let mut codes: Vec<_> = all.iter().map(|o| o.exit_code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
    }
}
