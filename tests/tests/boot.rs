//! Boot tests: each boots the real zenslab kernel through the real runner binary (`qemu`, built
//! once with a nested `cargo build -p qemu --release`), then checks the runner's exit code, its
//! summary and the KTAP report it streamed.
//!
//! Needs `qemu-system-x86_64` (CI installs `qemu-system-x86`); without it every test fails with
//! the install command, on purpose: a silent skip would hide breakage. Boots are serialised.

use qemu::ktap::{KtapReport, TestStatus};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// One QEMU at a time (the machine has 2 cores; the kernel build must not race either).
static BOOT_LOCK: Mutex<()> = Mutex::new(());
/// The runner binary, built once.
static RUNNER: OnceLock<PathBuf> = OnceLock::new();
/// The default boot, shared by the tests that only read it.
static DEFAULT_BOOT: OnceLock<Boot> = OnceLock::new();

/// The backend diagnostic the kernel prints (protocol: `# simd backend: <name>`).
const BACKEND_PREFIX: &str = "simd backend:";

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

fn lock() -> MutexGuard<'static, ()> {
    BOOT_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fails (never skips) when QEMU is missing.
fn require_qemu() {
    let path = std::env::var_os("PATH");
    if let Err(error) = qemu::find_qemu(None, path.as_deref()) {
        panic!("boot tests need QEMU: {error}");
    }
}

/// Builds the runner binary once, in a target dir of its own: the outer `cargo test` may still
/// hold its own target dir's lock.
fn runner() -> &'static Path {
    RUNNER.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner-target");
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "qemu", "--release", "--bin", "qemu"])
            .current_dir(workspace_root())
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("cannot start cargo to build the runner");
        assert!(status.success(), "building the runner failed: {status}");
        target.join("release").join("qemu")
    })
}

/// What one boot through the runner produced.
#[derive(Debug, Clone)]
struct Boot {
    args: Vec<String>,
    code: i32,
    /// How long the runner process ran.
    elapsed: std::time::Duration,
    stdout: String,
    stderr: String,
    report: KtapReport,
}

impl Boot {
    /// The value of the summary line `key` (e.g. `result:`).
    fn summary(&self, key: &str) -> Option<&str> {
        let (_, summary) = self.stdout.split_once("---- zenslab runner summary ----")?;
        summary
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .map(str::trim)
    }

    /// The `simd backend:` diagnostic(s) of the report.
    fn backends(&self) -> Vec<&str> {
        self.report
            .all_diagnostics()
            .into_iter()
            .filter_map(|d| d.strip_prefix(BACKEND_PREFIX))
            .map(str::trim)
            .collect()
    }

    /// Every test's `suite.test` path, in order.
    fn names(&self) -> Vec<String> {
        self.report.leaves().iter().map(|l| l.path()).collect()
    }

    /// The summary's `reason:` lines.
    fn reasons(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter_map(|line| line.strip_prefix("reason:"))
            .map(|reason| reason.trim().to_owned())
            .collect()
    }

    /// The serial log the runner echoed (everything before its summary).
    fn serial(&self) -> &str {
        self.stdout
            .split("---- zenslab runner summary ----")
            .next()
            .unwrap_or_default()
    }

    fn context(&self) -> String {
        format!(
            "runner {:?} exited {}\n--- stdout\n{}\n--- stderr (tail)\n{}",
            self.args,
            self.code,
            self.stdout,
            tail(&self.stderr, 40)
        )
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Boots the kernel through the runner binary with `args` (the runner builds the kernel first).
fn boot(args: &[&str]) -> Boot {
    require_qemu();
    let runner = runner();
    let _guard = lock();
    let start = std::time::Instant::now();
    let output = Command::new(runner)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("cannot start the runner");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut boot = Boot {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: output.status.code().expect("runner killed by a signal"),
        elapsed: start.elapsed(),
        report: KtapReport::default(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout,
    };
    boot.report = qemu::parse(boot.serial());
    boot
}

fn default_boot() -> &'static Boot {
    DEFAULT_BOOT.get_or_init(|| boot(&[]))
}

fn assert_passed(boot: &Boot) {
    assert_eq!(boot.code, 0, "{}", boot.context());
    assert_eq!(
        boot.summary("result:"),
        Some("PASSED (exit code 0)"),
        "{}",
        boot.context()
    );
    let plan = boot.report.plan().expect("a passing run has a plan");
    assert!(plan > 0, "empty suite\n{}", boot.context());
    assert_eq!(
        boot.report.results().len() as u64,
        plan,
        "{}",
        boot.context()
    );
    assert!(!boot.report.leaves().is_empty(), "{}", boot.context());
    assert!(boot.report.failed().is_empty(), "{}", boot.context());
}

#[test]
fn default_boot_passes() {
    assert_passed(default_boot());
}

#[test]
fn default_cpu_reports_a_vector_backend() {
    let boot = default_boot();
    assert_passed(boot);
    let backends = boot.backends();
    assert!(
        !backends.is_empty(),
        "no `# {BACKEND_PREFIX}` line\n{}",
        boot.context()
    );
    assert!(
        backends.iter().all(|b| *b != "scalar"),
        "EPYC-Milan has AVX2 but the kernel chose {backends:?}\n{}",
        boot.context()
    );
}

#[test]
fn injected_failure_is_reported_by_name_and_exits_1() {
    let baseline = default_boot();
    assert_passed(baseline);
    // The last non-skipped test of the real suite (not a hard-coded name).
    let victim = baseline
        .report
        .leaves()
        .iter()
        .rev()
        .find(|l| l.result.status == TestStatus::Passed)
        .expect("the default suite has a passing test")
        .path();

    let boot = boot(&["--fail", &victim]);
    assert_eq!(boot.code, 1, "{}", boot.context());
    assert_eq!(
        boot.summary("failed:"),
        Some(victim.as_str()),
        "{}",
        boot.context()
    );
    assert_eq!(
        boot.summary("result:"),
        Some("FAILED (exit code 1)"),
        "{}",
        boot.context()
    );
    let failed: Vec<_> = boot.report.failed().iter().map(|f| f.path()).collect();
    assert_eq!(failed, [victim.as_str()], "{}", boot.context());
    let result = boot.report.failed()[0].result;
    assert!(
        result.diagnostics.iter().any(|d| d == "injected failure"),
        "{}",
        boot.context()
    );
    let suite = victim.split('.').next().unwrap();
    let suite_result = boot
        .report
        .results()
        .iter()
        .find(|r| r.name == suite)
        .unwrap();
    assert_eq!(
        suite_result.status,
        TestStatus::Failed,
        "the failure bubbles up to its suite"
    );
    assert_eq!(boot.names(), baseline.names(), "the whole suite still ran");
}

#[test]
fn filter_runs_only_matching_tests() {
    let baseline = default_boot();
    assert_passed(baseline);
    // A word of a real test name, chosen so that the filter selects some tests but not all.
    let names = baseline.names();
    let word = names
        .iter()
        .flat_map(|name| name.split(['_', '.']))
        .filter(|word| word.len() >= 3)
        .find(|word| {
            let matching = names.iter().filter(|n| n.contains(word)).count();
            matching > 0 && matching < names.len()
        })
        .map(str::to_owned);
    let Some(word) = word else {
        panic!("no name fragment selects a strict subset of {names:?}");
    };
    let expected: Vec<String> = names
        .iter()
        .filter(|n| n.contains(&word))
        .cloned()
        .collect();

    let boot = boot(&["--filter", &word]);
    assert_passed(&boot);
    assert_eq!(boot.names(), expected, "filter={word}\n{}", boot.context());
}

#[test]
fn qemu64_without_avx2_passes_on_the_scalar_path() {
    let boot = boot(&["--cpu", "qemu64"]);
    assert_passed(&boot);
    assert!(
        boot.stdout
            .lines()
            .any(|line| line.trim().starts_with("# simd backend: scalar")),
        "no `# simd backend: scalar` line\n{}",
        boot.context()
    );
}

/// Boots with `crash=<kind>` (the kernel's `crash` suite runs that one test first) and checks
/// the runner's verdict: `code`, the result label, the `# ERROR`/`# TIMEOUT` result naming
/// `crash.<kind>`, and a reason containing each of `reasons`.
fn crash_boot(kind: &str, extra: &[&str], code: i32, label: &str, reasons: &[&str]) -> Boot {
    let token = format!("crash={kind}");
    let mut args = vec!["--append", &token];
    args.extend_from_slice(extra);
    let boot = boot(&args);
    assert_eq!(boot.code, code, "{}", boot.context());
    assert_eq!(boot.summary("result:"), Some(label), "{}", boot.context());
    let failed: Vec<String> = boot.report.failed().iter().map(|f| f.path()).collect();
    assert_eq!(failed, [format!("crash.{kind}")], "{}", boot.context());
    let all = boot.reasons();
    for wanted in reasons {
        assert!(
            all.iter().any(|r| r.contains(wanted)),
            "no reason contains `{wanted}`\n{}",
            boot.context()
        );
    }
    assert!(
        boot.elapsed.as_secs() < 30,
        "crash={kind} took {:?}",
        boot.elapsed
    );
    boot
}

#[test]
fn kernel_panic_is_a_crash_with_the_panic_report() {
    crash_boot(
        "panic",
        &[],
        2,
        "CRASHED (exit code 2)",
        &[
            "PANIC: cpu 0: crash=panic",
            "test `crash.panic` crashed the kernel",
        ],
    );
}

#[test]
fn page_fault_is_a_crash_with_the_exception_report_and_cr2() {
    crash_boot(
        "page_fault",
        &[],
        2,
        "CRASHED (exit code 2)",
        &["EXCEPTION: vector 14", "CR2 0x0000000100001234", "RIP"],
    );
}

#[test]
fn null_deref_faults_on_the_unmapped_page_0() {
    crash_boot(
        "null_deref",
        &[],
        2,
        "CRASHED (exit code 2)",
        &["null pointer dereference (address 0x0)", "crash.null_deref"],
    );
}

#[test]
fn stack_overflow_hits_the_guard_page_and_is_reported_as_such() {
    crash_boot(
        "stack_overflow",
        &[],
        2,
        "CRASHED (exit code 2)",
        &[
            "#DF double fault",
            "stack overflow: cpu 0's boot (BSP kernel) stack ran into its guard page",
        ],
    );
}

#[test]
fn an_application_processor_stack_overflow_is_reported_from_its_guard_page() {
    crash_boot(
        "ap_stack_overflow",
        &["--smp", "2"],
        2,
        "CRASHED (exit code 2)",
        &["on cpu 1: stack overflow: cpu 1's kernel stack ran into its guard page"],
    );
}

#[test]
fn a_fault_inside_the_crash_report_exits_at_once() {
    let boot = crash_boot(
        "nested_fault",
        &[],
        2,
        "CRASHED (exit code 2)",
        &[
            "EXCEPTION: vector 6",
            "PANIC: nested crash while printing a crash report",
        ],
    );
    assert!(
        boot.stdout.contains("# ERROR nested crash"),
        "{}",
        boot.context()
    );
}

#[test]
fn a_panic_on_an_application_processor_is_reported() {
    crash_boot(
        "ap_panic",
        &["--smp", "2"],
        2,
        "CRASHED (exit code 2)",
        &[
            "PANIC: cpu 1: crash=ap_panic",
            "test `crash.ap_panic` crashed the kernel",
        ],
    );
}

#[test]
fn a_hung_test_is_ended_by_the_kernel_watchdog_and_named() {
    let boot = crash_boot(
        "hang",
        &["--append", "test_timeout=1"],
        3,
        "TIMED OUT (exit code 3)",
        &["test `crash.hang` timed out (kernel watchdog)"],
    );
    assert!(
        boot.stdout.contains("not ok 1 hang # TIMEOUT"),
        "{}",
        boot.context()
    );
}

/// Boots with `args` and expects the kernel to refuse the boot with a `BOOT ERROR` containing
/// `message`.
fn assert_boot_refused(args: &[&str], message: &str) {
    let boot = boot(args);
    assert_eq!(boot.code, 2, "{}", boot.context());
    assert!(
        boot.reasons()
            .iter()
            .any(|r| r.starts_with("BOOT ERROR:") && r.contains(message)),
        "no `BOOT ERROR: ...{message}...`\n{}",
        boot.context()
    );
    assert!(boot.report.leaves().is_empty(), "{}", boot.context());
}

#[test]
fn a_filter_that_selects_nothing_refuses_the_boot() {
    assert_boot_refused(
        &["--filter", "zzz_no_such_test"],
        "filter=zzz_no_such_test matches no test",
    );
}

#[test]
fn a_fail_that_names_no_test_refuses_the_boot() {
    assert_boot_refused(
        &["--fail", "no_such_test"],
        "fail=no_such_test names no selected test",
    );
}

#[test]
fn unknown_tokens_and_crash_kinds_refuse_the_boot() {
    assert_boot_refused(
        &["--append", "bogus=1"],
        "unknown command-line token `bogus=1`",
    );
    assert_boot_refused(&["--append", "crash=zzz"], "unknown crash kind `crash=zzz`");
}

#[test]
fn fewer_cpus_than_expected_refuses_the_boot_and_says_why() {
    assert_boot_refused(
        &["--smp", "1", "--append", "expect_cpus=2"],
        "expect_cpus=2, but 1 CPU(s) online: the MADT lists 1 processor(s)",
    );
}

#[test]
fn qemu_start_up_failures_are_runner_errors() {
    let bad_cpu = boot(&["--cpu", "no-such-cpu-model"]);
    assert_eq!(bad_cpu.code, 4, "{}", bad_cpu.context());
    assert!(
        bad_cpu.stderr.contains("QEMU failed to start"),
        "{}",
        bad_cpu.context()
    );
    let not_pvh = std::env::current_exe().expect("the test binary is an ELF without a PVH note");
    let no_note = boot(&["--kernel", not_pvh.to_str().unwrap()]);
    assert_eq!(no_note.code, 4, "{}", no_note.context());
    assert!(no_note.stderr.contains("PVH"), "{}", no_note.context());
}

#[test]
fn list_prints_every_test_without_running_them() {
    let baseline = default_boot();
    assert_passed(baseline);
    let boot = boot(&["--list"]);
    assert_eq!(boot.code, 0, "{}", boot.context());
    let listed: Vec<&str> = boot
        .stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    assert_eq!(listed, baseline.names(), "{}", boot.context());
}

/// Linux's own KTAP parser, `tools/testing/kunit/kunit.py parse`, from the Linux source
/// Debian ships (`linux-source-6.12`), extracted once under the target directory. `None` when
/// the source or python3 is missing (CI installs the source; python3 is in the base image).
fn kunit_py() -> Option<PathBuf> {
    static KUNIT: OnceLock<Option<PathBuf>> = OnceLock::new();
    KUNIT
        .get_or_init(|| {
            let tarball = Path::new("/usr/src/linux-source-6.12.tar.xz");
            let python = Command::new("python3").arg("--version").output();
            if !tarball.is_file() || !python.is_ok_and(|o| o.status.success()) {
                return None;
            }
            let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linux-kunit");
            let dir = root.join("linux-source-6.12/tools/testing/kunit");
            if !dir.join("kunit.py").is_file() {
                std::fs::create_dir_all(&root).unwrap();
                let status = Command::new("tar")
                    .arg("-xJf")
                    .arg(tarball)
                    .args(["--wildcards", "linux-source-6.12/tools/testing/kunit/*"])
                    .current_dir(&root)
                    .status()
                    .expect("cannot run tar");
                assert!(status.success(), "extracting kunit.py failed: {status}");
            }
            Some(dir.join("kunit.py"))
        })
        .clone()
}

/// `(passed, failed, skipped)` from kunit.py's `Testing complete. Ran N tests: passed: P,
/// failed: F, skipped: S` line.
fn kunit_counts(kunit: &Path, name: &str, log: &str) -> (usize, usize, usize) {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kunit-{name}.log"));
    std::fs::write(&file, log).unwrap();
    let output = Command::new("python3")
        .arg(kunit)
        .arg("parse")
        .arg(&file)
        .current_dir(kunit.parent().unwrap())
        .output()
        .expect("cannot run kunit.py");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.split_once("Testing complete. Ran ").map(|(_, rest)| rest))
        .and_then(|rest| rest.split_once("tests: ").map(|(_, counts)| counts))
        .unwrap_or_else(|| panic!("no summary from kunit.py:\n{text}"));
    let count = |key: &str| {
        line.split(", ")
            .find_map(|part| part.trim().strip_prefix(key))
            .map_or(0, |n| n.trim().parse().unwrap())
    };
    (count("passed:"), count("failed:"), count("skipped:"))
}

/// The runner's counts, from its summary line
/// `tests:     <n> in <s> planned suite(s), <p> passed, <f> failed, <k> skipped`.
fn runner_counts(boot: &Boot) -> (usize, usize, usize) {
    let line = boot
        .summary("tests:")
        .unwrap_or_else(|| panic!("{}", boot.context()));
    let count = |word: &str| {
        line.split(", ")
            .find_map(|part| part.strip_suffix(word))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{word}` count in `{line}`"))
    };
    (count(" passed"), count(" failed"), count(" skipped"))
}

#[test]
fn linux_kunit_parser_agrees_with_the_runner() {
    let Some(kunit) = kunit_py() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED linux_kunit_parser_agrees_with_the_runner: needs python3 and \
             /usr/src/linux-source-6.12.tar.xz (apt-get install linux-source-6.12)"
        );
        return;
    };
    let pass = default_boot();
    assert_passed(pass);
    let summary = pass.summary("tests:").unwrap().to_owned();
    assert_eq!(
        kunit_counts(&kunit, "pass", pass.serial()),
        runner_counts(pass),
        "{summary}"
    );
    let victim = pass.names().last().unwrap().clone();
    let failed = boot(&["--fail", &victim]);
    assert_eq!(failed.code, 1, "{}", failed.context());
    assert_eq!(runner_counts(&failed).1, 1);
    assert_eq!(
        kunit_counts(&kunit, "one-failure", failed.serial()),
        runner_counts(&failed)
    );
}

/// Boots with `--smp <cpus>`: the suite must pass and the kernel must report every CPU online
/// (its `# smp: <n> cpu(s) online` diagnostic), so a kernel that ignores the APs cannot pass.
fn assert_smp_boot(cpus: u8) {
    let boot = boot(&["--smp", &cpus.to_string()]);
    assert_passed(&boot);
    let online: Option<u64> = boot
        .stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("# smp:"))
        .find_map(|rest| rest.trim().strip_suffix("cpu(s) online"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    assert_eq!(
        online,
        Some(u64::from(cpus)),
        "expected `# smp: {cpus} cpu(s) online`\n{}",
        boot.context()
    );
}

#[test]
fn smp_2_passes() {
    assert_smp_boot(2);
}

#[test]
fn smp_4_passes() {
    assert_smp_boot(4);
}

/// The contract's minimal example guest (`qemu/examples/minimal-guest.S`), assembled and linked
/// with binutils (`as`, `ld`; CI installs binutils), passes through the runner: the contract in
/// `qemu/README.md` is enough for another kernel.
#[test]
fn the_minimal_example_guest_passes() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("minimal-guest");
    std::fs::create_dir_all(&out).unwrap();
    let source = workspace_root().join("qemu/examples/minimal-guest.S");
    let (object, elf) = (out.join("guest.o"), out.join("guest.elf"));
    let assembled = Command::new("as")
        .arg("--32")
        .arg("-o")
        .arg(&object)
        .arg(&source)
        .status()
        .expect("boot tests need binutils (`as`): apt-get install binutils");
    assert!(assembled.success(), "as failed: {assembled}");
    let linked = Command::new("ld")
        .args(["-m", "elf_i386", "-Ttext=0x100000", "-o"])
        .arg(&elf)
        .arg(&object)
        .status()
        .expect("boot tests need binutils (`ld`)");
    assert!(linked.success(), "ld failed: {linked}");
    let boot = boot(&["--kernel", elf.to_str().unwrap()]);
    assert_passed(&boot);
    assert_eq!(boot.names(), ["example.hello"], "{}", boot.context());
}
