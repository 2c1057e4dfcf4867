//! The binary's logic: parse arguments, build, boot, summarise, map the outcome to an exit code.

#![deny(unsafe_code)]

use crate::command::{QemuCommand, find_qemu};
use crate::error::RunnerError;
use crate::kernel_build::{build_kernel, default_kernel_dir, kernel_elf};
use crate::options::Options;
use crate::outcome::{Outcome, Policy, QemuEnd, Verdict, classify};
use crate::session::{SessionOutput, run_session};
use crate::summary::{is_tcg_feature_warning, render};
use clap::Parser;
use clap::error::ErrorKind;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// A finished boot: the session and its verdict.
#[derive(Debug, Clone)]
pub struct Run {
    /// What QEMU produced.
    pub session: SessionOutput,
    /// The classification.
    pub verdict: Verdict,
}

/// Resolves the kernel to boot: the explicit ELF, or the zenslab kernel (built unless `--no-build`).
pub fn resolve_kernel(options: &Options) -> Result<PathBuf, RunnerError> {
    let kernel = match options.explicit_kernel() {
        Some(path) => path,
        None if options.no_build => kernel_elf(&default_kernel_dir()),
        None => build_kernel(&default_kernel_dir(), options.quiet)?,
    };
    if kernel.is_file() {
        Ok(kernel)
    } else {
        Err(RunnerError::KernelMissing(kernel))
    }
}

/// Finds QEMU, builds/resolves the kernel, boots it and classifies the run. Serial lines go to
/// `on_line` as they arrive; QEMU's stderr is forwarded to the process's stderr unless `quiet`.
pub fn run(options: &Options, on_line: &mut dyn FnMut(&str)) -> Result<Run, RunnerError> {
    let path = std::env::var_os("PATH");
    let qemu = find_qemu(options.qemu.as_deref(), path.as_deref())?;
    let kernel = resolve_kernel(options)?;
    let command = QemuCommand::new(qemu, kernel, options)?;
    if !options.quiet {
        eprintln!("running: {}", command.display());
        if options.gdb {
            eprintln!("waiting for gdb: `gdb -ex 'target remote :1234' <ELF>`");
        }
    }
    let quiet = options.quiet;
    let session = run_session(
        &command,
        Duration::from_secs(options.timeout),
        on_line,
        move |line| {
            if !quiet && !is_tcg_feature_warning(line) {
                eprintln!("{line}");
            }
        },
    )?;
    if let Some(error) = start_failure(&session) {
        return Err(error);
    }
    let policy = Policy {
        allow_empty: options.allow_empty,
    };
    let verdict = classify(&session.report, session.end, policy);
    Ok(Run { session, verdict })
}

/// QEMU that exits 1 without a single serial line failed to start (an unknown `--cpu`, an ELF
/// without a PVH note, a bad `--qemu-arg`): the guest never ran, so it is the runner's error,
/// not a crash. (A kernel never writes exit value 0, the only one that also gives status 1.)
fn start_failure(session: &SessionOutput) -> Option<RunnerError> {
    (session.end == QemuEnd::Exited(1) && session.serial_lines == 0).then(|| {
        RunnerError::QemuFailedToStart {
            stderr: session
                .stderr
                .lines()
                .filter(|l| !is_tcg_feature_warning(l))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    })
}

/// `--list`: the `name: test` lines the kernel printed (libtest's list format), if it
/// exited with the success code.
pub fn listed_tests(session: &SessionOutput, lines: &[String]) -> Option<Vec<String>> {
    (session.end == QemuEnd::Exited(crate::outcome::EXIT_ALL_PASSED)).then(|| {
        lines
            .iter()
            .filter(|l| l.ends_with(": test"))
            .cloned()
            .collect()
    })
}

/// The whole binary: returns the process exit code (0 passed, 1 failed, 2 crashed, 3 timed out,
/// 4 error; 0 for `--help`/`--version`).
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> i32 {
    let options = match Options::try_parse_from(args) {
        Ok(options) => options,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => Outcome::Error.exit_code(),
            };
        }
    };
    if options.kernel_args().is_ok_and(|args| args.list) {
        return list(&options);
    }
    let quiet = options.quiet;
    let mut echo = |line: &str| {
        if !quiet {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
    };
    match run(&options, &mut echo) {
        Ok(run) => {
            print!("{}", render(&run.session, &run.verdict));
            let _ = std::io::stdout().flush();
            run.verdict.outcome.exit_code()
        }
        Err(error) => {
            eprintln!("qemu runner: error: {error}");
            println!(
                "result:    {} (exit code {})",
                Outcome::Error.label(),
                Outcome::Error.exit_code()
            );
            Outcome::Error.exit_code()
        }
    }
}

/// `--list`: boots with the kernel's `list` token and prints only the test names.
fn list(options: &Options) -> i32 {
    let mut lines = Vec::new();
    let quiet = Options {
        quiet: true,
        ..options.clone()
    };
    match run(&quiet, &mut |line| lines.push(line.to_owned())) {
        Ok(run) => match listed_tests(&run.session, &lines) {
            Some(names) => {
                for name in &names {
                    println!("{name}");
                }
                0
            }
            None => {
                print!("{}", render(&run.session, &run.verdict));
                Outcome::Error.exit_code()
            }
        },
        Err(error) => {
            eprintln!("qemu runner: error: {error}");
            Outcome::Error.exit_code()
        }
    }
}
