//! Building the zenslab kernel with a nested `cargo build --release` (see `qemu/README.md`).

#![deny(unsafe_code)]

use crate::error::RunnerError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The kernel workspace as seen at compile time of this crate (`<repo>/kernel`).
pub const KERNEL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../kernel");

/// The kernel ELF path inside a kernel workspace.
pub const KERNEL_ELF_IN_DIR: &str = "target/x86_64-unknown-linux-gnu/release/zenslab-kernel";

/// Variables removed from the nested cargo's environment: the outer build's flags, target
/// directory and target must not reach the kernel build (and the kernel's must not reach ours).
pub const CLEANED_ENV: [&str; 4] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

/// `<repo>/kernel`, with `..` resolved when the directory exists.
pub fn default_kernel_dir() -> PathBuf {
    let dir = Path::new(KERNEL_DIR);
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// Where `cargo build --release` in `kernel_dir` puts the kernel ELF.
pub fn kernel_elf(kernel_dir: &Path) -> PathBuf {
    kernel_dir.join(KERNEL_ELF_IN_DIR)
}

/// The nested build command: `$CARGO` (or `cargo`) `build --release` in `kernel_dir`, with
/// [`CLEANED_ENV`] removed. Output is inherited, or captured when `quiet`.
pub fn build_command(kernel_dir: &Path, quiet: bool) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release"])
        .current_dir(kernel_dir)
        .stdin(Stdio::null());
    if quiet {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        // Cargo's progress goes to stderr; keep stdout for the serial log and the summary.
        command.stdout(std::io::stderr()).stderr(Stdio::inherit());
    }
    for name in CLEANED_ENV {
        command.env_remove(name);
    }
    command
}

/// Builds the kernel in `kernel_dir` and returns the ELF path. With `quiet`, cargo's output is
/// shown only when the build fails.
pub fn build_kernel(kernel_dir: &Path, quiet: bool) -> Result<PathBuf, RunnerError> {
    let failed = |detail: String| RunnerError::KernelBuildFailed {
        dir: kernel_dir.to_path_buf(),
        detail,
    };
    if !kernel_dir.join("Cargo.toml").is_file() {
        return Err(failed("no Cargo.toml there".to_owned()));
    }
    let output = build_command(kernel_dir, quiet)
        .output()
        .map_err(|e| failed(format!("cannot start cargo: {e}")))?;
    if !output.status.success() {
        if quiet {
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
        }
        return Err(failed(format!("cargo {}", output.status)));
    }
    let elf = kernel_elf(kernel_dir);
    if elf.is_file() {
        Ok(elf)
    } else {
        Err(failed(format!(
            "cargo succeeded but {} does not exist",
            elf.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_dir_is_the_sibling_of_this_crate() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(
            default_kernel_dir(),
            repo.join("kernel").canonicalize().unwrap()
        );
        assert!(kernel_elf(Path::new("/k")).ends_with("release/zenslab-kernel"));
    }

    #[test]
    fn nested_cargo_environment_is_cleaned() {
        let command = build_command(Path::new("/tmp"), true);
        let removed: Vec<_> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_str().unwrap().to_owned())
            .collect();
        for name in CLEANED_ENV {
            assert!(removed.iter().any(|r| r == name), "{name} not removed");
        }
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["build", "--release"]);
        assert_eq!(command.get_current_dir(), Some(Path::new("/tmp")));
    }

    #[test]
    fn build_failure_is_a_typed_error() {
        let dir = std::env::temp_dir().join(format!("zenslab-bad-kernel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = build_kernel(&dir, true).unwrap_err();
        assert!(missing.to_string().contains("no Cargo.toml"), "{missing}");
        std::fs::write(dir.join("Cargo.toml"), "this is not toml [").unwrap();
        let broken = build_kernel(&dir, true).unwrap_err();
        assert!(
            matches!(broken, RunnerError::KernelBuildFailed { .. }),
            "{broken}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
