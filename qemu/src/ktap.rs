//! KTAP parser (the Linux KUnit report format), nested as KUnit writes it, for what a kernel
//! prints on its serial port.
//!
//! The parser is a pure state machine: feed it lines with [`KtapParser::feed_line`] (live, while
//! QEMU runs) or a whole log with [`parse`], then read the [`KtapReport`]. It never judges the
//! run; that is [`crate::outcome::classify`]'s job. It records what it saw, including anything
//! odd, so the classifier can refuse to call a malformed report a pass.
//!
//! Accepted grammar (KTAP version 1, and `TAP version 13/14` headers):
//! - anything before the first `KTAP version <n>` / `TAP version <n>` line is boot noise and is
//!   ignored, except crash reports ([`ktap_abi::is_crash_line`]): a kernel can die before its
//!   suite starts. Text before `KTAP` on that line is a console prefix (a timestamp, say) and is
//!   stripped from every later line that starts with it, as the KTAP spec asks of parsers;
//! - nesting is by indentation, 4 spaces per level: an indented `KTAP version` or
//!   `# Subtest: <name>` opens a subtest level, its plan and results follow at that
//!   indentation, and the parent's result line (one level out) closes it;
//! - `1..N` is a level's plan; `ok <n> <name>[ # <directive>]` and `not ok ...` are results;
//!   a `SKIP` directive (on either) marks a skip, as KUnit's own parser does;
//! - `#` lines at any indentation are diagnostics and belong to the next result; those after
//!   the last result are trailing diagnostics (where panic and exception reports land);
//! - any other line is recorded as unrecognised and otherwise ignored.
//!
//! Memory is bounded: at most [`MAX_STORED_BYTES`] of text is kept; past that the report is
//! marked [`KtapReport::overflowed`] (which the classifier treats as a broken report).

#![deny(unsafe_code)]

/// Unrecognised lines kept verbatim.
pub const MAX_KEPT_UNRECOGNIZED: usize = 1000;
/// Most bytes of names, directives and diagnostics the parser stores for one log.
pub const MAX_STORED_BYTES: usize = 16 << 20;
/// Spaces per KTAP nesting level.
const INDENT: usize = 4;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestStatus {
    /// `ok <n> <name>`.
    Passed,
    /// `not ok <n> <name>` (any directive but `SKIP`).
    Failed,
    /// `ok <n> <name> # SKIP <reason>` (reason may be empty).
    Skipped(String),
}

/// One result line, the diagnostics printed just before it and, for a suite, its subtests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The number printed on the result line.
    pub number: u64,
    /// The test name (everything between the number and an optional ` # directive`).
    pub name: String,
    /// Passed, failed or skipped (as printed on this line; see [`KtapReport::failed`] for
    /// failures that bubble up).
    pub status: TestStatus,
    /// The directive after ` # `, if any (`SKIP why`, `TIMEOUT why`, `ERROR why`, ...).
    pub directive: Option<String>,
    /// `#` lines since the previous result, without the leading `#` and one space.
    pub diagnostics: Vec<String>,
    /// 1-based line number of the result line in the fed log.
    pub line: usize,
    /// The subtest level this result closes: its plan and results (empty for a leaf test).
    pub subtests: Level,
}

impl TestResult {
    /// Whether this result closes a subtest level (a suite), even an empty one.
    pub fn is_suite(&self) -> bool {
        let s = &self.subtests;
        s.subtest_name.is_some() || s.plan.is_some() || !s.results.is_empty()
    }
}

/// One level of results: the top level of a report, or a suite's subtests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Level {
    /// `# Subtest: <name>`, if printed.
    pub subtest_name: Option<String>,
    /// `N` from the level's first `1..N` plan line.
    pub plan: Option<u64>,
    /// Plan lines after the first.
    pub repeated_plans: usize,
    /// Result lines in the order they were printed.
    pub results: Vec<TestResult>,
}

/// A leaf test with its dotted path (`suite.test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf<'a> {
    /// Names from the top level down, joined later by [`Leaf::path`].
    parent: Option<&'a str>,
    /// The result.
    pub result: &'a TestResult,
}

impl Leaf<'_> {
    /// `suite.test` (or just `test` at the top level).
    pub fn path(&self) -> String {
        match self.parent {
            Some(parent) => format!("{parent}.{}", self.result.name),
            None => self.result.name.clone(),
        }
    }
}

/// Everything the parser extracted from a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KtapReport {
    /// The version from the first `KTAP version <v>` line (`TAP <v>` for a TAP header).
    pub version: Option<String>,
    /// Number of top-level version lines seen after the first (a rebooted guest prints another).
    pub repeated_version_lines: usize,
    /// The top level: plan and results (suites, with their subtests).
    pub top: Level,
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
    /// Subtest levels still open at the end of the log (the report stopped mid-suite).
    pub unclosed_levels: usize,
    /// Whether [`MAX_STORED_BYTES`] was reached and text was dropped.
    pub overflowed: bool,
}

impl KtapReport {
    /// The top-level plan.
    pub fn plan(&self) -> Option<u64> {
        self.top.plan
    }

    /// The top-level results (suites for a nested report).
    pub fn results(&self) -> &[TestResult] {
        &self.top.results
    }

    /// Every leaf test (a result without subtests), depth first.
    pub fn leaves(&self) -> Vec<Leaf<'_>> {
        fn walk<'a>(level: &'a Level, parent: Option<&'a str>, out: &mut Vec<Leaf<'a>>) {
            for result in &level.results {
                if result.is_suite() {
                    walk(&result.subtests, Some(&result.name), out);
                } else {
                    out.push(Leaf { parent, result });
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.top, None, &mut out);
        out
    }

    /// Failed leaves, plus any `not ok` suite none of whose tests failed (a suite-level
    /// failure): what made the run fail, by path.
    pub fn failed(&self) -> Vec<Leaf<'_>> {
        fn walk<'a>(level: &'a Level, parent: Option<&'a str>, out: &mut Vec<Leaf<'a>>) {
            for result in &level.results {
                let before = out.len();
                if result.is_suite() {
                    walk(&result.subtests, Some(&result.name), out);
                }
                if out.len() == before && result.status == TestStatus::Failed {
                    out.push(Leaf { parent, result });
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.top, None, &mut out);
        out
    }

    /// Number of passed, failed and skipped leaf tests, counted as KUnit's `kunit.py` does
    /// (a suite counts through its tests; a suite-level failure counts once).
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for leaf in self.leaves() {
            match leaf.result.status {
                TestStatus::Passed => counts.passed += 1,
                TestStatus::Failed => counts.failed += 1,
                TestStatus::Skipped(_) => counts.skipped += 1,
            }
        }
        let suite_failures = self.failed().iter().filter(|f| f.result.is_suite()).count();
        counts.failed += suite_failures;
        counts
    }

    /// Every diagnostic line of the report, in order (those attached to results, then trailing).
    pub fn all_diagnostics(&self) -> Vec<&str> {
        fn walk<'a>(level: &'a Level, out: &mut Vec<&'a str>) {
            for result in &level.results {
                walk(&result.subtests, out);
                out.extend(result.diagnostics.iter().map(String::as_str));
            }
        }
        let mut out = Vec::new();
        walk(&self.top, &mut out);
        out.extend(self.trailing_diagnostics.iter().map(String::as_str));
        out
    }

    /// Crash-report diagnostics ([`ktap_abi::CRASH_PREFIXES`]), from the boot preamble and from
    /// the report.
    pub fn crash_lines(&self) -> Vec<&str> {
        self.preamble_crash_lines
            .iter()
            .map(String::as_str)
            .chain(
                self.all_diagnostics()
                    .into_iter()
                    .filter(|d| ktap_abi::is_crash_line(d)),
            )
            .collect()
    }

    /// Results whose directive starts with `directive` (e.g. `TIMEOUT`), by path.
    pub fn with_directive(&self, directive: &str) -> Vec<String> {
        self.failed()
            .iter()
            .filter(|f| {
                f.result
                    .directive
                    .as_deref()
                    .is_some_and(|d| d.starts_with(directive))
            })
            .map(Leaf::path)
            .collect()
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
    /// Open subtest levels below the top, outermost first.
    open: Vec<Level>,
    prefix_len: usize,
    pending_diagnostics: Vec<String>,
    line_number: usize,
    stored: usize,
}

impl KtapParser {
    /// A parser that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Charges `bytes` against [`MAX_STORED_BYTES`]; false (and marks the report) when over.
    fn store(&mut self, bytes: usize) -> bool {
        self.stored = self.stored.saturating_add(bytes);
        if self.stored > MAX_STORED_BYTES {
            self.report.overflowed = true;
            return false;
        }
        true
    }

    /// The level at nesting `depth` (0 = top), opening levels down to it.
    fn level(&mut self, depth: usize) -> &mut Level {
        while self.open.len() < depth {
            self.open.push(Level::default());
        }
        match depth {
            0 => &mut self.report.top,
            d => &mut self.open[d - 1],
        }
    }

    /// Feeds one line (a trailing `\n` or `\r\n` is allowed and stripped).
    pub fn feed_line(&mut self, raw: &str) {
        self.line_number += 1;
        let line = raw.trim_end();
        if self.report.version.is_none() {
            self.preamble_line(line);
            return;
        }
        // As kunit.py does: the prefix's length is cut from every line (timestamps differ).
        let cut = self.prefix_len;
        let line = if line.len() >= cut && line.is_char_boundary(cut) {
            &line[cut..]
        } else {
            line
        };
        let content = line.trim_start();
        if content.is_empty() {
            return;
        }
        let depth = (line.len() - content.len()) / INDENT;
        if let Some(diagnostic) = parse_diagnostic(content) {
            if let Some(name) = diagnostic.strip_prefix("Subtest:") {
                let name = name.trim().to_owned();
                if depth > 0 && self.store(name.len()) {
                    let started = self.open.get(depth - 1).is_some_and(|l| {
                        l.subtest_name.is_some() || l.plan.is_some() || !l.results.is_empty()
                    });
                    if started {
                        self.abandon_from(depth, "no result line for this subtest");
                    }
                    self.level(depth).subtest_name = Some(name);
                }
                return;
            }
            if self.store(diagnostic.len()) {
                self.pending_diagnostics.push(diagnostic.to_owned());
            }
        } else if parse_version(content).is_some() {
            if depth == 0 {
                self.report.repeated_version_lines += 1;
            } else {
                // A new subtest at this depth; one already there with content never got its
                // result line. (A `# Subtest:` line may come first, as older KUnit prints it.)
                let started = self
                    .open
                    .get(depth - 1)
                    .is_some_and(|l| l.plan.is_some() || !l.results.is_empty());
                if started {
                    self.abandon_from(depth, "no result line for this subtest");
                }
                self.level(depth);
            }
        } else if let Some(count) = parse_plan(content) {
            let level = self.level(depth);
            if level.plan.is_none() {
                level.plan = Some(count);
            } else {
                level.repeated_plans += 1;
            }
        } else if let Some((number, name, status, directive)) = parse_result(content) {
            let subtests = self.close_below(depth);
            if !self.store(name.len() + directive.map_or(0, str::len) + 64) {
                return;
            }
            let result = TestResult {
                number,
                name: name.to_owned(),
                status,
                directive: directive.map(str::to_owned),
                diagnostics: std::mem::take(&mut self.pending_diagnostics),
                line: self.line_number,
                subtests,
            };
            self.level(depth).results.push(result);
        } else {
            self.report.unrecognized_count += 1;
            if self.report.unrecognized.len() < MAX_KEPT_UNRECOGNIZED && self.store(line.len()) {
                self.report.unrecognized.push(line.to_owned());
            }
        }
    }

    /// Attaches a level that never got its result line to its parent, as a failed result.
    fn abandon(&mut self, level: Level, why: &str) {
        self.report.unclosed_levels += 1;
        let placeholder = TestResult {
            number: 0,
            name: level.subtest_name.clone().unwrap_or_default(),
            status: TestStatus::Failed,
            directive: Some(why.to_owned()),
            diagnostics: Vec::new(),
            line: self.line_number,
            subtests: level,
        };
        match self.open.last_mut() {
            Some(parent) => parent.results.push(placeholder),
            None => self.report.top.results.push(placeholder),
        }
    }

    /// Abandons every open level at nesting `depth` or deeper.
    fn abandon_from(&mut self, depth: usize, why: &str) {
        while self.open.len() >= depth.max(1) {
            let level = self.open.pop().expect("non-empty");
            self.abandon(level, why);
        }
    }

    /// For a result at `depth`: returns the level just below it (its subtests), or an empty
    /// level; deeper open levels are abandoned.
    fn close_below(&mut self, depth: usize) -> Level {
        self.abandon_from(depth + 2, "no result line for this subtest");
        if self.open.len() > depth {
            self.open.pop().expect("non-empty")
        } else {
            Level::default()
        }
    }

    fn preamble_line(&mut self, line: &str) {
        if let Some((prefix, version)) = find_version(line) {
            self.prefix_len = prefix.len();
            self.report.version = Some(version.to_owned());
            return;
        }
        self.report.preamble_lines += 1;
        if let Some(crash) = line
            .find('#')
            .and_then(|at| parse_diagnostic(&line[at..]))
            .filter(|d| ktap_abi::is_crash_line(d))
            && self.store(crash.len())
        {
            self.report.preamble_crash_lines.push(crash.to_owned());
        }
    }

    /// The report so far (diagnostics not yet followed by a result are not included).
    pub fn report(&self) -> &KtapReport {
        &self.report
    }

    /// Ends the log: pending diagnostics become trailing diagnostics; open levels are counted.
    pub fn finish(mut self) -> KtapReport {
        self.abandon_from(1, "the log ended inside this subtest");
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

/// `[prefix]KTAP version <v>` / `[prefix]TAP version <v>` → `(prefix, v)` (`TAP <v>` for TAP).
fn find_version(line: &str) -> Option<(&str, String)> {
    let at = line.find("TAP version ")?;
    let (prefix, tap) = if at > 0 && line[..at].ends_with('K') {
        (&line[..at - 1], false)
    } else {
        (&line[..at], true)
    };
    let version = parse_version(&line[prefix.len()..])?;
    Some((
        prefix,
        if tap {
            format!("TAP {version}")
        } else {
            version.to_owned()
        },
    ))
}

/// `KTAP version <v>` or `TAP version <v>` → `<v>`.
fn parse_version(line: &str) -> Option<&str> {
    let version = line
        .strip_prefix("KTAP version ")
        .or_else(|| line.strip_prefix("TAP version "))?
        .trim();
    (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())).then_some(version)
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

/// `ok 3 name # SKIP why` → `(3, "name", Skipped("why"), Some("SKIP why"))`.
fn parse_result(line: &str) -> Option<(u64, &str, TestStatus, Option<&str>)> {
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
    Some((number, name, status, directive))
}

#[cfg(test)]
mod tests;
