//! The human summary printed after the serial log.

#![deny(unsafe_code)]

use crate::outcome::Verdict;
use crate::session::SessionOutput;
use std::fmt::Write;

/// First line of the summary block (tests look for it).
pub const SUMMARY_HEADER: &str = "---- zenslab runner summary ----";
/// QEMU stderr lines repeated in the summary of a run that did not pass.
const STDERR_TAIL_LINES: usize = 10;
/// QEMU's harmless warning, once per CPU feature TCG cannot emulate (about 25 for EPYC-Milan).
pub const TCG_FEATURE_WARNING: &str = "TCG doesn't support requested feature";

/// Whether a QEMU stderr line is the harmless TCG feature warning (hidden from the live output and
/// the summary; counted instead).
pub fn is_tcg_feature_warning(line: &str) -> bool {
    line.contains(TCG_FEATURE_WARNING)
}

/// Renders the summary: counts, failed test names, QEMU's end, reasons, wall time, result.
pub fn render(run: &SessionOutput, verdict: &Verdict) -> String {
    let report = &run.report;
    let counts = report.counts();
    let planned = report.plan().map_or_else(
        || "no plan".to_owned(),
        |n| format!("{} in {n} planned suite(s)", report.leaves().len()),
    );
    let mut out = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "{SUMMARY_HEADER}");
    let _ = writeln!(
        out,
        "tests:     {planned}, {} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.skipped
    );
    let failed: Vec<String> = report.failed().iter().map(|f| f.path()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "failed:    {}", failed.join(" "));
    }
    let _ = writeln!(out, "qemu:      {}", run.end);
    let hidden = run
        .stderr
        .lines()
        .filter(|line| is_tcg_feature_warning(line))
        .count();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "warnings:  {hidden} x \"{TCG_FEATURE_WARNING}\" from QEMU (harmless, hidden)"
        );
    }
    if run.truncated_lines > 0 {
        let _ = writeln!(
            out,
            "output:    {} serial line(s) longer than {} bytes were cut",
            run.truncated_lines,
            crate::session::MAX_LINE_BYTES
        );
    }
    for reason in &verdict.reasons {
        let _ = writeln!(out, "reason:    {reason}");
    }
    if verdict.outcome != crate::outcome::Outcome::Passed && !run.stderr.trim().is_empty() {
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| !is_tcg_feature_warning(line))
            .collect();
        let tail = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
        for line in tail {
            let _ = writeln!(out, "stderr:    {line}");
        }
    }
    let _ = writeln!(
        out,
        "wall time: {:.3} s (QEMU start to exit)",
        run.wall_time.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "result:    {} (exit code {})",
        verdict.outcome.label(),
        verdict.outcome.exit_code()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ktap::parse;
    use crate::outcome::{Policy, QemuEnd, classify};
    use std::time::Duration;

    #[test]
    fn failed_run_summary_names_the_failed_test_and_the_stderr_tail() {
        let run = SessionOutput {
            report: parse(include_str!("../tests/data/one_failure.log")),
            end: QemuEnd::Exited(35),
            wall_time: Duration::from_millis(1500),
            serial_lines: 20,
            truncated_lines: 0,
            stderr: "qemu-system-x86_64: warning: something\n\
                     qemu-system-x86_64: warning: TCG doesn't support requested feature: x\n"
                .to_owned(),
        };
        let text = render(&run, &classify(&run.report, run.end, Policy::default()));
        assert!(text.starts_with(SUMMARY_HEADER));
        assert!(
            text.contains("tests:     3 in 2 planned suite(s), 2 passed, 1 failed, 0 skipped"),
            "{text}"
        );
        assert!(
            text.contains("failed:    pool.every_class_alignment\n"),
            "{text}"
        );
        assert!(
            text.contains("stderr:    qemu-system-x86_64: warning"),
            "{text}"
        );
        assert!(text.contains("wall time: 1.500 s"), "{text}");
        assert!(text.contains("warnings:  1 x"), "{text}");
        assert_eq!(text.matches(TCG_FEATURE_WARNING).count(), 1, "{text}");
        assert!(
            text.ends_with("result:    FAILED (exit code 1)\n"),
            "{text}"
        );
    }

    #[test]
    fn passing_summary_has_no_failed_line_and_no_stderr() {
        let run = SessionOutput {
            report: parse(include_str!("../tests/data/pass.log")),
            end: QemuEnd::Exited(33),
            wall_time: Duration::from_millis(10),
            serial_lines: 20,
            truncated_lines: 2,
            stderr: "warning: noise\n".to_owned(),
        };
        let text = render(&run, &classify(&run.report, run.end, Policy::default()));
        assert!(
            !text.contains("failed:") && !text.contains("stderr:"),
            "{text}"
        );
        assert!(text.contains("output:    2 serial line(s)"), "{text}");
        assert!(
            text.contains("4 in 3 planned suite(s), 3 passed, 0 failed, 1 skipped"),
            "{text}"
        );
        assert!(
            text.ends_with("result:    PASSED (exit code 0)\n"),
            "{text}"
        );
    }
}
