//! Boot tests: each boots the real zenslab kernel through the real runner binary (`qemu`, built
//! once with a nested `cargo build -p qemu --release`), then checks the runner's exit code, its
//! summary and the KTAP report it streamed.
//!
//! Needs `qemu-system-x86_64` (CI installs `qemu-system-x86`); without it every test fails with
//! the install command, on purpose: a silent skip would hide breakage. Boots are serialised.

use qemu::ktap::{KtapReport, TestStatus};
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
            .filter_map(|d| d.strip_prefix(BACKEND_PREFIX))
            .map(str::trim)
            .collect()
    }

    fn names(&self) -> Vec<&str> {
        self.report
            .results
            .iter()
            .map(|r| r.name.as_str())
            .collect()
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
    let output = Command::new(runner)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("cannot start the runner");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let serial = stdout
        .split("---- zenslab runner summary ----")
        .next()
        .unwrap_or_default();
    Boot {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: output.status.code().expect("runner killed by a signal"),
        report: qemu::parse(serial),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout,
    }
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
    let plan = boot.report.plan.expect("a passing run has a plan");
    assert!(plan > 0, "empty suite\n{}", boot.context());
    assert_eq!(boot.report.results.len() as u64, plan, "{}", boot.context());
    assert!(
        boot.report
            .results
            .iter()
            .all(|r| r.status != TestStatus::Failed),
        "{}",
        boot.context()
    );
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
        .results
        .iter()
        .rev()
        .find(|r| r.status == TestStatus::Passed)
        .expect("the default suite has a passing test")
        .name
        .clone();

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
    let failed: Vec<_> = boot.report.failed().map(|r| r.name.as_str()).collect();
    assert_eq!(failed, [victim.as_str()], "{}", boot.context());
    let result = boot.report.failed().next().unwrap();
    assert!(
        result.diagnostics.iter().any(|d| d == "injected failure"),
        "{}",
        boot.context()
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
        .flat_map(|name| name.split('_'))
        .filter(|word| word.len() >= 3)
        .find(|word| {
            let matching = names.iter().filter(|n| n.contains(word)).count();
            matching > 0 && matching < names.len()
        })
        .map(str::to_owned);
    let Some(word) = word else {
        panic!("no name fragment selects a strict subset of {names:?}");
    };
    let expected: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.contains(&word))
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
            .any(|line| line.trim_end().starts_with("# simd backend: scalar")),
        "no `# simd backend: scalar` line\n{}",
        boot.context()
    );
}

/// Boots with the kernel's `crash=<kind>` token (a kernel extension of the protocol, for exactly
/// this) and returns the crash-report lines the runner put in its summary.
fn crash_boot(kind: &str) -> (Boot, Vec<String>) {
    let token = format!("crash={kind}");
    let boot = boot(&["--append", &token]);
    assert_eq!(boot.code, 2, "{}", boot.context());
    assert_eq!(
        boot.summary("result:"),
        Some("CRASHED (exit code 2)"),
        "{}",
        boot.context()
    );
    let reasons: Vec<String> = boot
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("reason:"))
        .map(|reason| reason.trim().to_owned())
        .collect();
    (boot, reasons)
}

#[test]
fn kernel_panic_is_a_crash_with_the_panic_report() {
    let (boot, reasons) = crash_boot("panic");
    assert!(
        reasons.iter().any(|r| r.starts_with("PANIC")),
        "{}",
        boot.context()
    );
}

#[test]
fn page_fault_is_a_crash_with_the_exception_report_and_cr2() {
    let (boot, reasons) = crash_boot("page_fault");
    let exception: Vec<&String> = reasons
        .iter()
        .filter(|r| r.starts_with("EXCEPTION"))
        .collect();
    assert!(!exception.is_empty(), "{}", boot.context());
    assert!(
        exception.iter().any(|r| r.contains("CR2")),
        "{}",
        boot.context()
    );
    assert!(
        exception.iter().any(|r| r.contains("RIP")),
        "{}",
        boot.context()
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
        .find_map(|line| line.trim().strip_prefix("# smp:"))
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
