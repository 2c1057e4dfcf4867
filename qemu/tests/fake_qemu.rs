//! The real `qemu` binary against fake QEMUs: shell scripts that print a captured KTAP log and end
//! the way a real QEMU would (exit code, signal, hang). Covers argument handling, streaming,
//! classification and the process exit codes end to end, without a kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const RUNNER: &str = env!("CARGO_BIN_EXE_qemu");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A directory for one test, with a fake `qemu-system-x86_64` running `body` (after recording
/// its arguments, one per line, in `args`).
struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(test: &str, body: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("fake-qemu")
            .join(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}/args'\n{body}\n",
            dir.display()
        );
        let path = dir.join("qemu-system-x86_64");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Self { dir }
    }

    /// A fake that prints `log` and exits with `code`.
    fn printing(test: &str, log: &str, code: i32) -> Self {
        Self::new(test, &format!("cat '{}'\nexit {code}", data(log).display()))
    }

    fn qemu(&self) -> PathBuf {
        self.dir.join("qemu-system-x86_64")
    }

    /// Runs the runner with `--qemu <fake> --kernel <a file>` and `extra`.
    fn run(&self, extra: &[&str]) -> Output {
        let kernel = data("pass.log");
        let mut command = Command::new(RUNNER);
        command
            .arg("--qemu")
            .arg(self.qemu())
            .arg("--kernel")
            .arg(kernel)
            .args(extra);
        command.output().unwrap()
    }

    fn args(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("args"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("runner exited normally")
}

fn summary_line<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
}

#[test]
fn passing_log_with_exit_33_passes_and_streams_the_log() {
    let fake = Fake::printing("pass", "pass.log", 33);
    let output = fake.run(&[]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}");
    let log = std::fs::read_to_string(data("pass.log")).unwrap();
    assert!(
        text.starts_with(&log),
        "serial log not echoed first:\n{text}"
    );
    assert_eq!(summary_line(&text, "result:"), Some("PASSED (exit code 0)"));
    assert!(
        text.contains("4 in 3 planned suite(s), 3 passed, 0 failed, 1 skipped"),
        "{text}"
    );
}

#[test]
fn quiet_prints_only_the_summary() {
    let fake = Fake::printing("quiet", "pass.log", 33);
    let output = fake.run(&["--quiet"]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(
        text.starts_with("---- zenslab runner summary ----"),
        "{text}"
    );
    assert!(!text.contains("KTAP version 1"), "{text}");
}

#[test]
fn protocol_command_line_reaches_qemu() {
    let fake = Fake::printing("args", "pass.log", 33);
    let output = fake.run(&[
        "--cpu",
        "qemu64",
        "--smp",
        "3",
        "--memory",
        "512M",
        "--filter",
        "pool",
        "--fail",
        "pool_every_class_alignment",
        "--append",
        "extra=1",
    ]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let kernel = data("pass.log").display().to_string();
    let expected = [
        "-machine",
        "q35",
        "-accel",
        "tcg",
        "-cpu",
        "qemu64",
        "-smp",
        "3",
        "-m",
        "512M",
        "-nodefaults",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-kernel",
        &kernel,
        "-append",
        "filter=pool fail=pool_every_class_alignment extra=1 expect_cpus=3",
    ];
    assert_eq!(fake.args(), expected);
}

#[test]
fn cargo_runner_form_boots_the_positional_elf_with_trailing_tokens() {
    let fake = Fake::printing("runner-form", "pass.log", 33);
    let elf = data("pass.log");
    let output = Command::new(RUNNER)
        .arg("--qemu")
        .arg(fake.qemu())
        .arg(&elf)
        .args(["filter=simd", "verbose=1", "--nocapture"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let args = fake.args();
    let kernel_at = args.iter().position(|a| a == "-kernel").unwrap();
    assert_eq!(args[kernel_at + 1], elf.display().to_string());
    assert_eq!(args.last().unwrap(), "filter=simd verbose=1 expect_cpus=1");
}

#[test]
fn one_failure_exit_35_is_failed_with_the_test_named() {
    let fake = Fake::printing("fail", "one_failure.log", 35);
    let output = fake.run(&[]);
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert_eq!(
        summary_line(&text, "failed:"),
        Some("pool.every_class_alignment")
    );
    assert_eq!(summary_line(&text, "result:"), Some("FAILED (exit code 1)"));
}

#[test]
fn exception_exit_37_is_a_crash_with_the_report_in_the_summary() {
    let fake = Fake::printing("exception", "exception.log", 37);
    let output = fake.run(&[]);
    let text = stdout(&output);
    assert_eq!(code(&output), 2, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("reason:") && l.contains("EXCEPTION: page fault")),
        "{text}"
    );
}

#[test]
fn triple_fault_exit_0_is_a_crash() {
    let fake = Fake::printing("triple", "triple_fault.log", 0);
    let output = fake.run(&[]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
}

#[test]
fn structural_problems_with_exit_33_are_crashes() {
    for log in [
        "missing_plan.log",
        "missing_result.log",
        "out_of_order.log",
        "extra_result.log",
    ] {
        let fake = Fake::printing(log, log, 33);
        let output = fake.run(&[]);
        assert_eq!(code(&output), 2, "{log}: {}", stdout(&output));
    }
}

#[test]
fn qemu_failing_to_start_is_a_runner_error_with_its_message() {
    let fake = Fake::new(
        "bad-option",
        "echo 'qemu-system-x86_64: unable to find CPU model' >&2\nexit 1",
    );
    let output = fake.run(&["--cpu", "nonsense"]);
    let text = stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 4, "{text}");
    assert_eq!(summary_line(&text, "result:"), Some("ERROR (exit code 4)"));
    assert!(
        stderr.contains("QEMU failed to start") && stderr.contains("unable to find CPU model"),
        "{stderr}"
    );
}

#[test]
fn unexpected_exit_code_after_output_is_a_crash_and_shows_qemu_stderr() {
    let fake = Fake::new(
        "odd-exit",
        &format!(
            "cat '{}'\necho 'qemu-system-x86_64: something broke' >&2\nexit 3",
            data("missing_result.log").display()
        ),
    );
    let output = fake.run(&[]);
    let text = stdout(&output);
    assert_eq!(code(&output), 2, "{text}");
    assert!(
        text.contains("stderr:    qemu-system-x86_64: something broke"),
        "{text}"
    );
}

#[test]
fn killed_by_a_signal_is_a_crash() {
    let fake = Fake::new(
        "signal",
        &format!("cat '{}'\nkill -KILL $$", data("pass.log").display()),
    );
    let output = fake.run(&[]);
    let text = stdout(&output);
    assert_eq!(code(&output), 2, "{text}");
    assert!(text.contains("killed by signal 9"), "{text}");
}

#[test]
fn hang_is_killed_at_the_timeout_and_keeps_the_lines_already_printed() {
    let body = format!(
        "cat '{}'\nexec sleep 30",
        data("missing_result.log").display()
    );
    let fake = Fake::new("timeout", &body);
    let start = Instant::now();
    let output = fake.run(&["--timeout", "1"]);
    let elapsed = start.elapsed();
    let text = stdout(&output);
    assert_eq!(code(&output), 3, "{text}");
    assert!(elapsed < Duration::from_secs(10), "runner took {elapsed:?}");
    assert!(text.contains("2 in 3 planned suite(s), 2 passed"), "{text}");
    assert_eq!(
        summary_line(&text, "result:"),
        Some("TIMED OUT (exit code 3)")
    );
}

#[test]
fn floods_on_stdout_and_stderr_do_not_deadlock() {
    let body = format!(
        "yes 'boot noise line' | head -n 200000\nyes 'qemu warning' | head -n 200000 >&2\n\
         cat '{}'\nexit 33",
        data("pass.log").display()
    );
    let fake = Fake::new("flood", &body);
    let output = fake.run(&["--quiet", "--timeout", "30"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn missing_qemu_is_an_error_with_the_install_command() {
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake-qemu/empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let output = Command::new(RUNNER)
        .env("PATH", &empty)
        .arg("--kernel")
        .arg(data("pass.log"))
        .output()
        .unwrap();
    assert_eq!(code(&output), 4);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sudo apt-get install qemu-system-x86"),
        "{stderr}"
    );

    let output = Command::new(RUNNER)
        .args(["--qemu", "/nonexistent/qemu-system-x86_64", "--no-build"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 4);
}

#[test]
fn bad_arguments_and_missing_kernel_are_errors() {
    let fake = Fake::printing("bad-args", "pass.log", 33);
    for args in [
        &["--smp", "9"][..],
        &["--filter", "a b"],
        &["--timeout", "x"],
        &["--bogus"],
    ] {
        assert_eq!(code(&fake.run(args)), 4, "{args:?}");
    }
    let output = Command::new(RUNNER)
        .arg("--qemu")
        .arg(fake.qemu())
        .args(["--kernel", "/nonexistent/kernel.elf"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 4);
    assert!(String::from_utf8_lossy(&output.stderr).contains("kernel ELF not found"));
    let help = Command::new(RUNNER).arg("--help").output().unwrap();
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("--filter"));
}

#[test]
fn kernel_option_with_trailing_tokens_as_the_kernel_runner_script_calls_it() {
    let fake = Fake::printing("kernel-then-args", "pass.log", 33);
    let output = fake.run(&["filter=pool", "fail=x"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert_eq!(
        fake.args().last().unwrap(),
        "filter=pool fail=x expect_cpus=1"
    );
}

#[test]
fn endless_output_still_times_out() {
    let body = format!(
        "cat '{}'\nexec yes 'spam spam spam'",
        data("missing_result.log").display()
    );
    let fake = Fake::new("endless", &body);
    let start = Instant::now();
    let output = fake.run(&["--timeout", "1", "--quiet"]);
    let elapsed = start.elapsed();
    assert_eq!(code(&output), 3, "{}", stdout(&output));
    assert!(elapsed < Duration::from_secs(10), "runner took {elapsed:?}");
}

#[test]
fn a_line_without_newlines_is_cut_and_counted() {
    // 1 MiB of 'x' with no newline, then a passing report.
    let body = format!(
        "head -c 1048576 /dev/zero | tr '\\0' x\necho\ncat '{}'\nexit 33",
        data("pass.log").display()
    );
    let fake = Fake::new("long-line", &body);
    let output = fake.run(&["--quiet"]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(
        text.contains("output:    1 serial line(s) longer than 16384 bytes were cut"),
        "{text}"
    );
}
