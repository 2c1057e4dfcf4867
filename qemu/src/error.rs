//! Errors that stop the runner before it can judge a boot (runner exit code 4).

#![deny(unsafe_code)]

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The command users need when QEMU is missing (Debian/Ubuntu).
pub const QEMU_INSTALL_HINT: &str = "sudo apt-get install qemu-system-x86";

/// Why the runner could not boot the kernel.
#[derive(Debug)]
pub enum RunnerError {
    /// `qemu-system-x86_64` was not found (on `PATH` or at the `--qemu` path).
    QemuNotFound {
        /// What was looked for, and where.
        searched: String,
    },
    /// The nested `cargo build --release` of the kernel failed.
    KernelBuildFailed {
        /// The kernel workspace directory.
        dir: PathBuf,
        /// How cargo ended (exit status, or the spawn error).
        detail: String,
    },
    /// The kernel ELF to boot does not exist.
    KernelMissing(PathBuf),
    /// The command line was invalid.
    BadArguments(String),
    /// QEMU exited 1 before the guest printed anything (bad `--cpu`, no PVH note, ...).
    QemuFailedToStart {
        /// What QEMU said on stderr.
        stderr: String,
    },
    /// An I/O operation of the runner itself failed.
    Io {
        /// What the runner was doing.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
}

impl fmt::Display for RunnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunnerError::QemuNotFound { searched } => write!(
                f,
                "qemu-system-x86_64 not found ({searched}).\n\
                 Install it with: {QEMU_INSTALL_HINT}\n\
                 (or pass --qemu <path to qemu-system-x86_64>)"
            ),
            RunnerError::KernelBuildFailed { dir, detail } => write!(
                f,
                "building the kernel failed (`cargo build --release` in {}): {detail}",
                dir.display()
            ),
            RunnerError::KernelMissing(path) => {
                write!(f, "kernel ELF not found: {}", path.display())
            }
            RunnerError::BadArguments(message) => write!(f, "bad arguments: {message}"),
            RunnerError::QemuFailedToStart { stderr } => write!(
                f,
                "QEMU failed to start the guest (exit 1, no serial output): {}",
                if stderr.trim().is_empty() {
                    "no message"
                } else {
                    stderr.trim()
                }
            ),
            RunnerError::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for RunnerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunnerError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_not_found_names_the_install_command() {
        let message = RunnerError::QemuNotFound {
            searched: "PATH".into(),
        }
        .to_string();
        assert!(
            message.contains("apt-get install qemu-system-x86"),
            "{message}"
        );
    }
}
