//! How a run ended, and the verdict: passed / failed / crashed / timed out / error, each with its
//! own process exit code (protocol.md).
//!
//! [`classify`] is a pure function of the parsed KTAP report and the way QEMU ended. A pass needs
//! both the success exit code (33, which QEMU cannot produce by itself) and a complete report: a
//! plan and exactly the results `1..N` in order, none failed. When the exit code says success but
//! the report is malformed, the run is a crash, because something stopped the suite from telling
//! the whole story; a malformed report beats a `not ok` for the same reason.

#![deny(unsafe_code)]

use crate::ktap::KtapReport;
use std::fmt;
use std::time::Duration;

/// QEMU exit code when every selected test passed (`isa-debug-exit` value 0x10).
pub const EXIT_ALL_PASSED: i32 = 33;
/// QEMU exit code when the suite finished with at least one failure (value 0x11).
pub const EXIT_SOME_FAILED: i32 = 35;
/// QEMU exit code after a kernel panic or CPU exception report (value 0x12).
pub const EXIT_KERNEL_CRASH: i32 = 37;

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
                    EXIT_KERNEL_CRASH => "kernel: panic or CPU exception",
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
    /// Wall-clock timeout.
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
    let Some(plan) = report.plan else {
        problems.push("no KTAP plan line (`1..N`)".to_owned());
        return problems;
    };
    if report.repeated_plans > 0 {
        problems.push(format!("{} extra plan line(s)", report.repeated_plans));
    }
    let got = report.results.len() as u64;
    if got < plan {
        problems.push(format!(
            "missing results: plan 1..{plan}, got {got} result(s)"
        ));
    } else if got > plan {
        problems.push(format!(
            "extra results: plan 1..{plan}, got {got} result(s)"
        ));
    }
    if let Some((index, result)) = report
        .results
        .iter()
        .enumerate()
        .find(|(index, result)| result.number != *index as u64 + 1)
    {
        problems.push(format!(
            "results out of order: result #{} is numbered {} (`{}`)",
            index + 1,
            result.number,
            result.name
        ));
    }
    problems
}

/// Judges a run from its report and the way QEMU ended.
pub fn classify(report: &KtapReport, end: QemuEnd) -> Verdict {
    let failed: Vec<&str> = report.failed().map(|r| r.name.as_str()).collect();
    let structure = structural_problems(report);
    let crash: Vec<String> = report.crash_lines().map(str::to_owned).collect();
    let mut reasons = Vec::new();

    let outcome = match end {
        QemuEnd::TimedOut(_) => {
            reasons.push(format!("QEMU {end}"));
            Outcome::TimedOut
        }
        QemuEnd::Signaled(_) => {
            reasons.push(format!("QEMU {end}"));
            Outcome::Crashed
        }
        QemuEnd::Exited(EXIT_KERNEL_CRASH) => {
            reasons.push(format!("QEMU {end}"));
            if crash.is_empty() {
                reasons.push("no `# PANIC`/`# EXCEPTION` report was printed".to_owned());
            }
            reasons.extend(crash);
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
        classify(&parse(log), end)
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
        let v = classify(&report, QemuEnd::Exited(35));
        assert_eq!(v.outcome, Outcome::Failed);
        assert!(v.reasons.is_empty(), "{:?}", v.reasons);
        let failed: Vec<_> = report.failed().map(|r| r.name.as_str()).collect();
        assert_eq!(failed, ["pool_every_class_alignment"]);
        assert_eq!(
            report.failed().next().unwrap().diagnostics,
            ["injected failure"]
        );
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
        let log = "KTAP version 1\n1..1\n# PANIC at src/x.rs:1\nok 1 a\n";
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
