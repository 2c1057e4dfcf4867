//! KTAP version 1 parser (the Linux KUnit report format), as the kernel prints it on its serial port.
//!
//! The parser is a pure state machine: feed it lines with [`KtapParser::feed_line`] (live, while QEMU
//! runs) or a whole log with [`parse`], then read the [`KtapReport`]. It never judges the run; that is
//! [`crate::outcome::classify`]'s job. It records what it saw, including anything odd, so the
//! classifier can refuse to call a malformed report a pass.
//!
//! Accepted grammar (top level only; KTAP subtests are indented and are not used by the zenslab
//! kernel, so indented lines are recorded as unrecognised):
//! - anything before the first `KTAP version <n>` line is boot noise and is ignored, except crash
//!   reports (`# PANIC...`, `# EXCEPTION...`): the kernel can die before its suite starts;
//! - `1..N` is the plan;
//! - `ok <n> <name>[ # <directive>]` and `not ok <n> <name>[ # <directive>]` are results; a `SKIP`
//!   directive (on either) marks a skip, as KUnit's own parser does;
//! - `#` lines are diagnostics and belong to the next result; those after the last result are
//!   trailing diagnostics (where panic and exception reports land);
//! - any other line is recorded as unrecognised and otherwise ignored.

#![deny(unsafe_code)]

/// Unrecognised lines kept verbatim (a guest printing garbage in a loop must not eat the host's
/// memory before the timeout).
pub const MAX_KEPT_UNRECOGNIZED: usize = 1000;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStatus {
    /// `ok <n> <name>`.
    Passed,
    /// `not ok <n> <name>`.
    Failed,
    /// `ok <n> <name> # SKIP <reason>` (reason may be empty).
    Skipped(String),
}

/// One result line and the diagnostics printed just before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The number printed on the result line.
    pub number: u64,
    /// The test name (everything between the number and an optional ` # directive`).
    pub name: String,
    /// Passed, failed or skipped.
    pub status: TestStatus,
    /// `#` lines since the previous result, without the leading `#` and one space.
    pub diagnostics: Vec<String>,
    /// 1-based line number of the result line in the fed log.
    pub line: usize,
}

/// Everything the parser extracted from a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KtapReport {
    /// The version from the first `KTAP version <v>` line, if one was seen.
    pub version: Option<String>,
    /// Number of `KTAP version` lines seen after the first (a rebooted guest prints another).
    pub repeated_version_lines: usize,
    /// `N` from the first `1..N` plan line.
    pub plan: Option<u64>,
    /// Number of plan lines seen after the first.
    pub repeated_plans: usize,
    /// Result lines in the order they were printed.
    pub results: Vec<TestResult>,
    /// Diagnostics printed after the last result (or after the plan when no result came).
    pub trailing_diagnostics: Vec<String>,
    /// The first [`MAX_KEPT_UNRECOGNIZED`] lines after the version line that are neither plan,
    /// result nor diagnostic.
    pub unrecognized: Vec<String>,
    /// How many such lines there were in all.
    pub unrecognized_count: usize,
    /// Number of lines before the version line (boot banner).
    pub preamble_lines: usize,
    /// Crash-report diagnostics printed before the version line (a crash during boot).
    pub preamble_crash_lines: Vec<String>,
}

impl KtapReport {
    /// Results with [`TestStatus::Failed`].
    pub fn failed(&self) -> impl Iterator<Item = &TestResult> {
        self.results
            .iter()
            .filter(|r| r.status == TestStatus::Failed)
    }

    /// Number of passed, failed and skipped results.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for result in &self.results {
            match result.status {
                TestStatus::Passed => counts.passed += 1,
                TestStatus::Failed => counts.failed += 1,
                TestStatus::Skipped(_) => counts.skipped += 1,
            }
        }
        counts
    }

    /// Every diagnostic line of the report, in order (those attached to results, then trailing).
    pub fn all_diagnostics(&self) -> impl Iterator<Item = &str> {
        self.results
            .iter()
            .flat_map(|r| r.diagnostics.iter())
            .chain(self.trailing_diagnostics.iter())
            .map(String::as_str)
    }

    /// Crash-report diagnostics (`PANIC...` or `EXCEPTION...`, protocol.md), from the boot
    /// preamble and from the report, in order.
    pub fn crash_lines(&self) -> impl Iterator<Item = &str> {
        self.preamble_crash_lines
            .iter()
            .map(String::as_str)
            .chain(self.all_diagnostics().filter(|d| is_crash_report(d)))
    }
}

/// Result counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// `ok` without a skip directive.
    pub passed: usize,
    /// `not ok` without a skip directive.
    pub failed: usize,
    /// Any result with a `SKIP` directive.
    pub skipped: usize,
}

/// Incremental KTAP parser; see the module documentation for the grammar.
#[derive(Debug, Default)]
pub struct KtapParser {
    report: KtapReport,
    pending_diagnostics: Vec<String>,
    line_number: usize,
}

impl KtapParser {
    /// A parser that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line (a trailing `\n` or `\r\n` is allowed and stripped).
    pub fn feed_line(&mut self, raw: &str) {
        self.line_number += 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let line = line.trim_end();

        if let Some(version) = parse_version(line) {
            if self.report.version.is_none() {
                self.report.version = Some(version.to_owned());
            } else {
                self.report.repeated_version_lines += 1;
            }
            return;
        }
        if self.report.version.is_none() {
            self.report.preamble_lines += 1;
            if let Some(crash) = parse_diagnostic(line).filter(|d| is_crash_report(d)) {
                self.report.preamble_crash_lines.push(crash.to_owned());
            }
            return;
        }
        if line.is_empty() {
            return;
        }
        if let Some(diagnostic) = parse_diagnostic(line) {
            self.pending_diagnostics.push(diagnostic.to_owned());
        } else if let Some(count) = parse_plan(line) {
            if self.report.plan.is_none() {
                self.report.plan = Some(count);
            } else {
                self.report.repeated_plans += 1;
            }
        } else if let Some((number, name, status)) = parse_result(line) {
            self.report.results.push(TestResult {
                number,
                name: name.to_owned(),
                status,
                diagnostics: std::mem::take(&mut self.pending_diagnostics),
                line: self.line_number,
            });
        } else {
            self.report.unrecognized_count += 1;
            if self.report.unrecognized.len() < MAX_KEPT_UNRECOGNIZED {
                self.report.unrecognized.push(line.to_owned());
            }
        }
    }

    /// The report so far (diagnostics not yet followed by a result are not included).
    pub fn report(&self) -> &KtapReport {
        &self.report
    }

    /// Ends the log: pending diagnostics become trailing diagnostics.
    pub fn finish(mut self) -> KtapReport {
        self.report
            .trailing_diagnostics
            .append(&mut self.pending_diagnostics);
        self.report
    }
}

/// Parses a whole log.
pub fn parse(log: &str) -> KtapReport {
    let mut parser = KtapParser::new();
    for line in log.lines() {
        parser.feed_line(line);
    }
    parser.finish()
}

/// Whether a diagnostic (without its `# `) is part of a panic or exception report.
fn is_crash_report(diagnostic: &str) -> bool {
    diagnostic.starts_with("PANIC") || diagnostic.starts_with("EXCEPTION")
}

/// `KTAP version <v>` → `<v>`.
fn parse_version(line: &str) -> Option<&str> {
    let version = line.strip_prefix("KTAP version ")?.trim();
    (!version.is_empty() && !version.contains(char::is_whitespace)).then_some(version)
}

/// `# text` / `#text` / `#` → `text`.
fn parse_diagnostic(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// `1..N` → `N`.
fn parse_plan(line: &str) -> Option<u64> {
    let count = line.strip_prefix("1..")?;
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    count.parse().ok()
}

/// `ok 3 name # SKIP why` → `(3, "name", Skipped("why"))`.
fn parse_result(line: &str) -> Option<(u64, &str, TestStatus)> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix("ok ") {
        (true, rest)
    } else if let Some(rest) = line.strip_prefix("not ok ") {
        (false, rest)
    } else {
        return None;
    };
    let (number, rest) = match rest.split_once(' ') {
        Some((number, rest)) => (number, rest),
        None => (rest, ""),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = number.parse().ok()?;
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.split_once('#') {
        Some((name, directive)) => (name.trim(), Some(directive.trim())),
        None => (rest.trim(), None),
    };
    let skip_reason = directive.and_then(|d| {
        let upper = d.get(..4)?;
        upper
            .eq_ignore_ascii_case("SKIP")
            .then(|| d[4..].trim().to_owned())
    });
    let status = match (skip_reason, ok) {
        (Some(reason), _) => TestStatus::Skipped(reason),
        (None, true) => TestStatus::Passed,
        (None, false) => TestStatus::Failed,
    };
    Some((number, name, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_clean_report() {
        let report = parse(
            "SeaBIOS noise\nzenslab booting\nKTAP version 1\n1..3\n# note a\nok 1 first\n\
             not ok 2 second\nok 3 third # SKIP no avx2\n",
        );
        assert_eq!(report.version.as_deref(), Some("1"));
        assert_eq!(report.preamble_lines, 2);
        assert_eq!(report.plan, Some(3));
        let names: Vec<_> = report.results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["first", "second", "third"]);
        assert_eq!(report.results[0].diagnostics, ["note a"]);
        assert_eq!(report.results[1].status, TestStatus::Failed);
        assert_eq!(
            report.results[2].status,
            TestStatus::Skipped("no avx2".into())
        );
        assert_eq!(
            report.counts(),
            Counts {
                passed: 1,
                failed: 1,
                skipped: 1
            }
        );
        assert!(report.unrecognized.is_empty());
    }

    #[test]
    fn lines_before_the_version_line_are_ignored_even_if_they_look_like_ktap() {
        let report = parse("ok 1 fake\n1..9\n# note\nKTAP version 1\n1..1\nok 1 real\n");
        assert_eq!(report.preamble_lines, 3);
        assert_eq!(report.plan, Some(1));
        assert_eq!(report.results.len(), 1);
        assert_eq!(report.results[0].name, "real");
        assert_eq!(report.all_diagnostics().count(), 0);
    }

    #[test]
    fn crash_reports_before_the_version_line_are_kept() {
        let report = parse(include_str!("../tests/data/boot_panic.log"));
        assert_eq!(report.version, None);
        let crash: Vec<_> = report.crash_lines().collect();
        assert_eq!(crash.len(), 1);
        assert!(crash[0].starts_with("PANIC: cpu 0:"), "{crash:?}");
    }

    #[test]
    fn without_a_version_line_nothing_is_parsed() {
        let report = parse("1..1\nok 1 a\n");
        assert_eq!(report.version, None);
        assert_eq!(report.plan, None);
        assert!(report.results.is_empty());
    }

    #[test]
    fn crlf_and_trailing_garbage_are_tolerated() {
        let report = parse("KTAP version 1\r\n1..1\r\nok 1 a\r\n\x1b[2Jgarbage\r\n");
        assert_eq!(report.plan, Some(1));
        assert_eq!(report.results[0].name, "a");
        assert_eq!(report.unrecognized, ["\x1b[2Jgarbage"]);
    }

    #[test]
    fn trailing_diagnostics_keep_the_crash_report() {
        let report = parse(
            "KTAP version 1\n1..2\nok 1 a\n# EXCEPTION #PF error=0x2 rip=0x1000 cr2=0x0\n# halted\n",
        );
        assert_eq!(
            report.trailing_diagnostics,
            ["EXCEPTION #PF error=0x2 rip=0x1000 cr2=0x0", "halted"]
        );
        assert_eq!(report.crash_lines().count(), 1);
    }

    #[test]
    fn repeated_version_and_plan_lines_are_counted() {
        let report = parse("KTAP version 1\n1..1\nKTAP version 1\n1..1\nok 1 a\n");
        assert_eq!(report.repeated_version_lines, 1);
        assert_eq!(report.repeated_plans, 1);
    }

    #[test]
    fn malformed_results_and_plans_are_unrecognized() {
        let report = parse("KTAP version 1\n1..x\nok x name\nnot ok\nokay 1 a\n1..\n");
        assert_eq!(report.plan, None);
        assert!(report.results.is_empty());
        assert_eq!(report.unrecognized.len(), 5);
        assert_eq!(report.unrecognized_count, 5);
    }

    #[test]
    fn unrecognized_lines_are_counted_but_kept_only_up_to_the_cap() {
        let mut parser = KtapParser::new();
        parser.feed_line("KTAP version 1");
        for _ in 0..MAX_KEPT_UNRECOGNIZED + 5 {
            parser.feed_line("spam");
        }
        let report = parser.finish();
        assert_eq!(report.unrecognized.len(), MAX_KEPT_UNRECOGNIZED);
        assert_eq!(report.unrecognized_count, MAX_KEPT_UNRECOGNIZED + 5);
    }

    #[test]
    fn result_details() {
        let report = parse(
            "KTAP version 1\nok 7 - dashed\nnot ok 2 skipped_fail # skip lower case\nok 3\n\
             not ok 4 todo # TODO later\n",
        );
        let r = &report.results;
        assert_eq!((r[0].number, r[0].name.as_str()), (7, "dashed"));
        assert_eq!(r[1].status, TestStatus::Skipped("lower case".into()));
        assert_eq!((r[2].number, r[2].name.as_str()), (3, ""));
        assert_eq!(r[3].status, TestStatus::Failed);
        assert_eq!(r[3].line, 5);
    }

    #[test]
    fn live_report_excludes_pending_diagnostics_until_finish() {
        let mut parser = KtapParser::new();
        for line in ["KTAP version 1", "1..1", "# waiting"] {
            parser.feed_line(line);
        }
        assert!(parser.report().trailing_diagnostics.is_empty());
        assert_eq!(parser.finish().trailing_diagnostics, ["waiting"]);
    }
}
