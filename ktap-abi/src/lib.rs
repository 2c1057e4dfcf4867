//! The contract between a test kernel and the `qemu` host runner, in one place both sides
//! import (the kernel is `no_std`, the runner is a host program).
//!
//! - **Exit**: the kernel writes one [`ExitCode`] value (32 bits) to the `isa-debug-exit` port
//!   [`EXIT_PORT`]; QEMU then exits with [`ExitCode::qemu_status`] = `(value << 1) | 1`, a code
//!   QEMU never produces by itself.
//! - **Crash reports**: diagnostic lines (`# ` first) whose text starts with one of
//!   [`CRASH_PREFIXES`] followed by `:`; the kernel prints them on a fatal path before exiting
//!   with [`ExitCode::Crashed`].
//! - **Command line**: space-separated tokens ([`token`]); a kernel rejects tokens it does not
//!   understand, so a typo can never turn into an unfiltered, uninjected green run.
//!
//! `qemu/README.md` describes the whole guest contract (PVH boot, KTAP on COM1) around this.

#![no_std]
#![forbid(unsafe_code)]

/// I/O port of QEMU's `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
pub const EXIT_PORT: u16 = 0xf4;

/// The values a kernel writes to [`EXIT_PORT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// The suite ran to the end and every selected test passed (QEMU exit 33).
    Success = 0x10,
    /// The suite ran to the end and at least one test failed (QEMU exit 35).
    Failed = 0x11,
    /// Panic, CPU exception or boot error, after a crash report (QEMU exit 37).
    Crashed = 0x12,
    /// The kernel's per-test watchdog ended a hung test, after its `# TIMEOUT` result (QEMU exit 39).
    TestTimedOut = 0x13,
}

impl ExitCode {
    /// Every code, for tables and tests.
    pub const ALL: [ExitCode; 4] = [
        ExitCode::Success,
        ExitCode::Failed,
        ExitCode::Crashed,
        ExitCode::TestTimedOut,
    ];

    /// The exit status of the QEMU process after the kernel wrote this code.
    pub const fn qemu_status(self) -> i32 {
        ((self as u32 as i32) << 1) | 1
    }

    /// The code whose QEMU exit status is `status`, if any.
    pub fn from_qemu_status(status: i32) -> Option<ExitCode> {
        Self::ALL.into_iter().find(|c| c.qemu_status() == status)
    }
}

/// Crash-report prefix of a Rust panic (`# PANIC: ...`).
pub const PANIC: &str = "PANIC";
/// Crash-report prefix of a CPU exception (`# EXCEPTION: ...`).
pub const EXCEPTION: &str = "EXCEPTION";
/// Crash-report prefix of a boot refused before the suite (`# BOOT ERROR: ...`): a bad
/// command line, fewer CPUs online than `expect_cpus=`, no usable memory.
pub const BOOT_ERROR: &str = "BOOT ERROR";
/// Every crash-report prefix.
pub const CRASH_PREFIXES: [&str; 3] = [PANIC, EXCEPTION, BOOT_ERROR];

/// Whether a diagnostic's text (after `# `) is a crash-report line: one of [`CRASH_PREFIXES`]
/// followed by `:`.
pub fn is_crash_line(diagnostic: &str) -> bool {
    CRASH_PREFIXES.iter().any(|p| {
        diagnostic
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with(':'))
    })
}

/// KTAP directive on the result of a test the kernel's watchdog ended (`not ok N name # TIMEOUT`).
pub const TIMEOUT_DIRECTIVE: &str = "TIMEOUT";
/// KTAP directive on the result of a test that crashed the kernel (`not ok N name # ERROR why`).
pub const ERROR_DIRECTIVE: &str = "ERROR";

/// Kernel command-line token names (`name=value`, or bare `name` for flags).
pub mod token {
    /// `filter=<pattern>`: run only the tests whose `suite.test` name contains the pattern.
    pub const FILTER: &str = "filter";
    /// `fail=<suite.test|test>`: fail that test on purpose.
    pub const FAIL: &str = "fail";
    /// `crash=<kind>`: crash on purpose in a test of its own, first.
    pub const CRASH: &str = "crash";
    /// `expect_cpus=<n>`: refuse to run unless at least `n` CPUs came online.
    pub const EXPECT_CPUS: &str = "expect_cpus";
    /// `test_timeout=<seconds>`: the per-test watchdog (default [`super::DEFAULT_TEST_TIMEOUT_S`]).
    pub const TEST_TIMEOUT: &str = "test_timeout";
    /// `list`: print the test names instead of running them.
    pub const LIST: &str = "list";
}

/// Default per-test watchdog, seconds.
pub const DEFAULT_TEST_TIMEOUT_S: u64 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_statuses_round_trip_and_are_odd() {
        for code in ExitCode::ALL {
            let status = code.qemu_status();
            assert_eq!(status & 1, 1);
            assert_eq!(ExitCode::from_qemu_status(status), Some(code));
        }
        assert_eq!(ExitCode::Success.qemu_status(), 33);
        assert_eq!(ExitCode::from_qemu_status(0), None);
        assert_eq!(ExitCode::from_qemu_status(1), None);
    }

    #[test]
    fn crash_lines_need_the_colon() {
        assert!(is_crash_line("PANIC: cpu 0: boom"));
        assert!(is_crash_line("BOOT ERROR: unknown token"));
        assert!(!is_crash_line("PANICKY test"));
        assert!(!is_crash_line("simd backend: avx2"));
    }
}
