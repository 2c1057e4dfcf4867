//! Kernel command line (from `-append`): `filter=<substr>`, `fail=<name>`, `crash=<kind>`.

#![deny(unsafe_code)]

use alloc::vec::Vec;

/// A deliberate crash requested on the command line (to exercise the runner's crash path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// `crash=panic`: a Rust panic.
    Panic,
    /// `crash=page_fault`: a read from an unmapped address (#PF, CR2 reported).
    PageFault,
    /// `crash=invalid_opcode`: `ud2` (#UD).
    InvalidOpcode,
}

/// Parsed options.
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// Run only tests whose name contains this.
    pub filter: Option<&'a str>,
    /// Make the test with exactly this name fail on purpose.
    pub fail: Option<&'a str>,
    /// Crash on purpose before the suite.
    pub crash: Option<CrashKind>,
    /// Tokens not understood (reported as `# ` notes, otherwise ignored).
    pub unknown: Vec<&'a str>,
}

/// Parses space-separated tokens; never fails (unknown tokens are collected).
pub fn parse(cmdline: &str) -> Options<'_> {
    let mut options = Options::default();
    for token in cmdline.split_ascii_whitespace() {
        match token.split_once('=') {
            Some(("filter", v)) if !v.is_empty() => options.filter = Some(v),
            Some(("fail", v)) if !v.is_empty() => options.fail = Some(v),
            Some(("crash", "panic")) => options.crash = Some(CrashKind::Panic),
            Some(("crash", "page_fault")) => options.crash = Some(CrashKind::PageFault),
            Some(("crash", "invalid_opcode")) => options.crash = Some(CrashKind::InvalidOpcode),
            _ => options.unknown.push(token),
        }
    }
    options
}
