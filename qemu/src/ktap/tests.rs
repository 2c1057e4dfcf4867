//! Unit tests of the KTAP parser on hand-written logs.

use super::*;

fn paths(leaves: &[Leaf<'_>]) -> Vec<String> {
    leaves.iter().map(Leaf::path).collect()
}

const NESTED: &str = "boot noise\nKTAP version 1\n1..2\n    KTAP version 1\n    # Subtest: heap\n\
                      \x20   1..2\n    # note a\n    ok 1 box\n    ok 2 vec # SKIP no vec\nok 1 heap\n\
                      \x20   KTAP version 1\n    # Subtest: pool\n    1..1\n    # injected failure\n\
                      \x20   not ok 1 align\nnot ok 2 pool\n";

#[test]
fn parses_a_nested_report() {
    let report = parse(NESTED);
    assert_eq!(report.version.as_deref(), Some("1"));
    assert_eq!(report.preamble_lines, 1);
    assert_eq!(report.plan(), Some(2));
    let suites: Vec<_> = report.results().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(suites, ["heap", "pool"]);
    let heap = &report.results()[0].subtests;
    assert_eq!(heap.subtest_name.as_deref(), Some("heap"));
    assert_eq!(heap.plan, Some(2));
    assert_eq!(heap.results[0].diagnostics, ["note a"]);
    assert_eq!(
        paths(&report.leaves()),
        ["heap.box", "heap.vec", "pool.align"]
    );
    assert_eq!(paths(&report.failed()), ["pool.align"]);
    assert_eq!(report.failed()[0].result.diagnostics, ["injected failure"]);
    assert_eq!(
        report.counts(),
        Counts {
            passed: 1,
            failed: 1,
            skipped: 1
        }
    );
    assert!(report.unrecognized.is_empty());
    assert_eq!(report.unclosed_levels, 0);
}

#[test]
fn an_ok_suite_with_a_not_ok_test_still_fails_and_a_bare_not_ok_suite_counts() {
    let report = parse(
        "KTAP version 1\n1..2\n    # Subtest: a\n    1..1\n    not ok 1 t\nok 1 a\n\
         \x20   # Subtest: b\n    1..1\n    ok 1 u\nnot ok 2 b\n",
    );
    assert_eq!(paths(&report.failed()), ["a.t", "b"]);
    assert_eq!(report.counts().failed, 2);
    assert_eq!(report.counts().passed, 1);
}

#[test]
fn flat_reports_still_parse() {
    let report = parse(
        "KTAP version 1\n1..3\n# note a\nok 1 first\nnot ok 2 second\nok 3 third # SKIP no avx2\n",
    );
    assert_eq!(paths(&report.leaves()), ["first", "second", "third"]);
    assert_eq!(report.results()[0].diagnostics, ["note a"]);
    assert_eq!(
        report.results()[2].status,
        TestStatus::Skipped("no avx2".into())
    );
}

#[test]
fn subtest_header_before_the_version_line_and_a_missing_suite_result() {
    let report = parse(
        "KTAP version 1\n1..2\n    # Subtest: a\n    KTAP version 1\n    1..1\n    ok 1 t\nok 1 a\n\
         \x20   KTAP version 1\n    # Subtest: b\n    1..1\n    ok 1 u\n\
         \x20   KTAP version 1\n    # Subtest: c\n    1..1\n    ok 1 v\nok 2 c\n",
    );
    assert_eq!(paths(&report.leaves()), ["a.t", "b.u", "c.v"]);
    assert_eq!(report.unclosed_levels, 1);
    assert_eq!(paths(&report.failed()), ["b"]);
}

#[test]
fn tap_13_and_14_headers_are_accepted() {
    for header in ["TAP version 13", "TAP version 14"] {
        let report = parse(&format!("{header}\n1..1\nok 1 - a\n"));
        assert_eq!(report.version, Some(header.replace("version ", "")));
        assert_eq!(paths(&report.leaves()), ["a"]);
    }
}

#[test]
fn console_prefixes_are_stripped() {
    let report = parse(
        "[    0.100] booting\n[    0.200] KTAP version 1\n[    0.201] 1..1\n\
         [    0.202]     # Subtest: s\n[    0.203]     1..1\n[    0.204]     ok 1 t\n\
         [    0.205] ok 1 s\n",
    );
    assert_eq!(report.version.as_deref(), Some("1"));
    assert_eq!(paths(&report.leaves()), ["s.t"]);
    assert!(report.unrecognized.is_empty(), "{:?}", report.unrecognized);
}

#[test]
fn lines_before_the_version_line_are_ignored_even_if_they_look_like_ktap() {
    let report = parse("ok 1 fake\n1..9\n# note\nKTAP version 1\n1..1\nok 1 real\n");
    assert_eq!(report.preamble_lines, 3);
    assert_eq!(report.plan(), Some(1));
    assert_eq!(paths(&report.leaves()), ["real"]);
    assert!(report.all_diagnostics().is_empty());
}

#[test]
fn crash_reports_before_the_version_line_are_kept() {
    let report = parse(include_str!("../../tests/data/boot_panic.log"));
    assert_eq!(report.version, None);
    let crash = report.crash_lines();
    assert_eq!(crash.len(), 1);
    assert!(crash[0].starts_with("PANIC: cpu 0:"), "{crash:?}");
}

#[test]
fn crash_inside_a_suite_names_the_test() {
    let report = parse(include_str!("../../tests/data/crash_in_test.log"));
    assert_eq!(paths(&report.failed()), ["crash.null_deref"]);
    assert!(
        report
            .crash_lines()
            .iter()
            .any(|l| l.contains("null pointer"))
    );
    assert_eq!(report.with_directive("ERROR"), ["crash.null_deref"]);
}

#[test]
fn without_a_version_line_nothing_is_parsed() {
    let report = parse("1..1\nok 1 a\n");
    assert_eq!(report.version, None);
    assert_eq!(report.plan(), None);
    assert!(report.results().is_empty());
}

#[test]
fn crlf_and_trailing_garbage_are_tolerated() {
    let report = parse("KTAP version 1\r\n1..1\r\nok 1 a\r\n\x1b[2Jgarbage\r\n");
    assert_eq!(report.plan(), Some(1));
    assert_eq!(report.results()[0].name, "a");
    assert_eq!(report.unrecognized, ["\x1b[2Jgarbage"]);
}

#[test]
fn trailing_diagnostics_keep_the_crash_report() {
    let report =
        parse("KTAP version 1\n1..2\nok 1 a\n# EXCEPTION: #PF error=0x2 rip=0x1000\n# halted\n");
    assert_eq!(
        report.trailing_diagnostics,
        ["EXCEPTION: #PF error=0x2 rip=0x1000", "halted"]
    );
    assert_eq!(report.crash_lines().len(), 1);
}

#[test]
fn repeated_version_and_plan_lines_are_counted() {
    let report = parse("KTAP version 1\n1..1\nKTAP version 1\n1..1\nok 1 a\n");
    assert_eq!(report.repeated_version_lines, 1);
    assert_eq!(report.top.repeated_plans, 1);
}

#[test]
fn a_log_that_ends_inside_a_suite_keeps_its_results_under_a_failed_placeholder() {
    let report = parse("KTAP version 1\n1..2\n    # Subtest: s\n    1..2\n    ok 1 a\n");
    assert_eq!(report.unclosed_levels, 1);
    assert_eq!(paths(&report.leaves()), ["s.a"]);
    assert_eq!(paths(&report.failed()), ["s"]);
}

#[test]
fn malformed_results_and_plans_are_unrecognized() {
    let report = parse("KTAP version 1\n1..x\nok x name\nnot ok\nokay 1 a\n1..\n");
    assert_eq!(report.plan(), None);
    assert!(report.results().is_empty());
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
fn stored_text_is_capped_and_the_report_marked() {
    let mut parser = KtapParser::new();
    parser.feed_line("KTAP version 1");
    let long = format!("# {}", "x".repeat(64 * 1024));
    for _ in 0..(MAX_STORED_BYTES / (64 * 1024)) + 2 {
        parser.feed_line(&long);
    }
    let report = parser.finish();
    assert!(report.overflowed);
    let kept: usize = report.trailing_diagnostics.iter().map(String::len).sum();
    assert!(kept <= MAX_STORED_BYTES);
}

#[test]
fn result_details() {
    let report = parse(
        "KTAP version 1\nok 7 - dashed\nnot ok 2 skipped_fail # skip lower case\nok 3\n\
         not ok 4 hung # TIMEOUT after 10 s\n",
    );
    let r = report.results();
    assert_eq!((r[0].number, r[0].name.as_str()), (7, "dashed"));
    assert_eq!(r[1].status, TestStatus::Skipped("lower case".into()));
    assert_eq!((r[2].number, r[2].name.as_str()), (3, ""));
    assert_eq!(r[3].status, TestStatus::Failed);
    assert_eq!(r[3].directive.as_deref(), Some("TIMEOUT after 10 s"));
    assert_eq!(r[3].line, 5);
    assert_eq!(report.with_directive("TIMEOUT"), ["hung"]);
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
