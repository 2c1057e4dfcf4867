//! The QEMU command line (the guest contract in `qemu/README.md`) and finding
//! `qemu-system-x86_64`.

#![deny(unsafe_code)]

use crate::error::RunnerError;
use crate::options::Options;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The QEMU binary the runner looks for.
pub const QEMU_BINARY: &str = "qemu-system-x86_64";

/// Everything that varies in the QEMU command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuCommand {
    /// The QEMU executable.
    pub program: PathBuf,
    /// The kernel ELF (`-kernel`).
    pub kernel: PathBuf,
    /// `-accel`.
    pub accel: String,
    /// `-cpu`.
    pub cpu: String,
    /// `-smp`.
    pub smp: u8,
    /// `-m`.
    pub memory: String,
    /// `-append` (the kernel command line).
    pub cmdline: String,
    /// Extra arguments: `--gdb`, `--trace`, then every `--qemu-arg`.
    pub extra: Vec<OsString>,
}

impl QemuCommand {
    /// The command for `options`, booting `kernel` with `program`; an error if the positional
    /// arguments cannot be turned into a kernel command line.
    pub fn new(program: PathBuf, kernel: PathBuf, options: &Options) -> Result<Self, RunnerError> {
        let mut extra: Vec<OsString> = Vec::new();
        if options.gdb {
            extra.extend(["-s".into(), "-S".into()]);
        }
        if let Some(file) = &options.trace {
            extra.extend(["-d".into(), "int,cpu_reset".into(), "-D".into()]);
            extra.push(file.clone().into_os_string());
        }
        extra.extend(options.qemu_arg.iter().map(OsString::from));
        Ok(Self {
            program,
            kernel,
            accel: options.accel.clone(),
            cpu: options.cpu.clone(),
            smp: options.smp,
            memory: options.memory.clone(),
            cmdline: options
                .kernel_cmdline()
                .map_err(RunnerError::BadArguments)?,
            extra,
        })
    }

    /// The arguments after the program name: the contract's command line, then the extras.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "-machine",
            "q35",
            "-accel",
            &self.accel,
            "-cpu",
            &self.cpu,
            "-smp",
            &self.smp.to_string(),
            "-m",
            &self.memory,
            "-nodefaults",
            "-display",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push(self.kernel.clone().into_os_string());
        args.push("-append".into());
        args.push(self.cmdline.clone().into());
        args.extend(self.extra.iter().cloned());
        args
    }

    /// A `Command` ready to spawn: stdin closed, stdout and stderr piped.
    pub fn to_command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// The command as a shell-like line for humans (arguments with spaces are quoted).
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_os_str().to_owned())
            .chain(self.args())
            .map(|arg| quote(&arg))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    if !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || c == '"') {
        text.into_owned()
    } else {
        format!("{text:?}")
    }
}

/// Finds QEMU: `explicit` (a path, or a bare name searched on PATH) or [`QEMU_BINARY`] on
/// `path_var` (the value of `PATH`).
pub fn find_qemu(
    explicit: Option<&Path>,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, RunnerError> {
    let wanted = explicit.unwrap_or(Path::new(QEMU_BINARY));
    if wanted.components().count() > 1 || wanted.is_absolute() {
        return if is_executable(wanted) {
            Ok(wanted.to_path_buf())
        } else {
            Err(RunnerError::QemuNotFound {
                searched: format!("{} is not an executable file", wanted.display()),
            })
        };
    }
    let found = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(wanted))
        .find(|candidate| is_executable(candidate));
    found.ok_or_else(|| RunnerError::QemuNotFound {
        searched: format!("no `{}` on PATH", wanted.display()),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn options(args: &[&str]) -> Options {
        Options::try_parse_from(std::iter::once("qemu").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn default_command_is_the_protocol_command() {
        let command = QemuCommand::new(
            "qemu-system-x86_64".into(),
            "/k/zenslab-kernel".into(),
            &options(&[]),
        )
        .unwrap();
        assert_eq!(
            command.display(),
            "qemu-system-x86_64 -machine q35 -accel tcg -cpu EPYC-Milan -smp 1 -m 256M -nodefaults \
             -display none -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
             -kernel /k/zenslab-kernel -append expect_cpus=1"
        );
    }

    #[test]
    fn gdb_trace_and_raw_arguments_come_last() {
        let o = options(&[
            "--gdb",
            "--trace",
            "/tmp/t.log",
            "--qemu-arg",
            "-d",
            "--qemu-arg",
            "guest_errors",
        ]);
        let args = QemuCommand::new("q".into(), "k".into(), &o).unwrap().args();
        let tail: Vec<_> = args[args.len() - 8..]
            .iter()
            .map(|a| a.to_str().unwrap())
            .collect();
        assert_eq!(
            tail,
            [
                "-s",
                "-S",
                "-d",
                "int,cpu_reset",
                "-D",
                "/tmp/t.log",
                "-d",
                "guest_errors"
            ]
        );
    }

    #[test]
    fn options_change_the_bracketed_parts() {
        let o = options(&[
            "--cpu", "qemu64", "--smp", "4", "--accel", "kvm", "--memory", "1G", "--filter",
            "simd", "--fail", "x",
        ]);
        let args = QemuCommand::new("q".into(), "k".into(), &o).unwrap().args();
        let pairs: Vec<_> = args
            .windows(2)
            .map(|w| (w[0].to_str().unwrap(), w[1].to_str().unwrap()))
            .collect();
        for expected in [
            ("-cpu", "qemu64"),
            ("-smp", "4"),
            ("-accel", "kvm"),
            ("-m", "1G"),
            ("-kernel", "k"),
            ("-append", "filter=simd fail=x expect_cpus=4"),
        ] {
            assert!(
                pairs.contains(&expected),
                "{expected:?} missing in {args:?}"
            );
        }
        assert_eq!(args.last().unwrap(), "filter=simd fail=x expect_cpus=4");
    }

    #[test]
    fn finds_qemu_on_path_and_reports_missing() {
        let dir = std::env::temp_dir().join(format!("zenslab-find-qemu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join(QEMU_BINARY);
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths(["/nonexistent-dir".as_ref(), dir.as_path()]).unwrap();

        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        assert!(matches!(
            find_qemu(None, Some(&path)),
            Err(RunnerError::QemuNotFound { .. })
        ));

        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        assert_eq!(find_qemu(None, Some(&path)).unwrap(), fake);
        assert_eq!(find_qemu(Some(&fake), None).unwrap(), fake);
        assert!(find_qemu(None, None).is_err());
        assert!(find_qemu(Some(&dir.join("missing")), Some(&path)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
