//! Kernel command line (from `-append`): space-separated tokens, every one of which must be
//! understood (token names: [`ktap_abi::token`]).
//!
//! - `filter=<pattern>`: run only the tests whose `suite.test` name contains `<pattern>`;
//! - `fail=<suite.test|test>`: make that test fail on purpose;
//! - `crash=<kind>`: run one test of the `crash` suite first, which crashes as named
//!   ([`CrashKind`]);
//! - `expect_cpus=<n>`: refuse to run unless at least `n` CPUs came online;
//! - `test_timeout=<seconds>`: the per-test watchdog (default 10, at least 1);
//! - `list`: print the test names (`suite.test: test`) instead of running them.
//!
//! An unknown token, a repeated one, an empty or malformed value is a [`CmdlineError`]; the
//! kernel then refuses to boot, so a typo can never produce an unfiltered, uninjected pass.

use core::fmt;
use ktap_abi::token;

/// A deliberate crash requested on the command line (to exercise the runner's crash path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// `crash=panic`: a Rust panic.
    Panic,
    /// `crash=page_fault`: a read above the identity map (#PF, CR2 reported).
    PageFault,
    /// `crash=invalid_opcode`: `ud2` (#UD).
    InvalidOpcode,
    /// `crash=null_deref`: a read of address 0 (page 0 is unmapped).
    NullDeref,
    /// `crash=stack_overflow`: unbounded recursion into the BSP stack's guard page.
    StackOverflow,
    /// `crash=ap_stack_overflow`: the same on application processor 1.
    ApStackOverflow,
    /// `crash=nested_fault`: a #UD whose report itself faults.
    NestedFault,
    /// `crash=ap_panic`: a panic on application processor 1.
    ApPanic,
    /// `crash=hang`: a test that never returns (ended by the watchdog).
    Hang,
}

impl CrashKind {
    /// Every kind, in documentation order.
    pub const ALL: [CrashKind; 9] = [
        CrashKind::Panic,
        CrashKind::PageFault,
        CrashKind::InvalidOpcode,
        CrashKind::NullDeref,
        CrashKind::StackOverflow,
        CrashKind::ApStackOverflow,
        CrashKind::NestedFault,
        CrashKind::ApPanic,
        CrashKind::Hang,
    ];

    /// The token value (and the name of its test in the `crash` suite).
    pub const fn name(self) -> &'static str {
        match self {
            CrashKind::Panic => "panic",
            CrashKind::PageFault => "page_fault",
            CrashKind::InvalidOpcode => "invalid_opcode",
            CrashKind::NullDeref => "null_deref",
            CrashKind::StackOverflow => "stack_overflow",
            CrashKind::ApStackOverflow => "ap_stack_overflow",
            CrashKind::NestedFault => "nested_fault",
            CrashKind::ApPanic => "ap_panic",
            CrashKind::Hang => "hang",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Parsed options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options<'a> {
    /// Run only tests whose `suite.test` name contains this.
    pub filter: Option<&'a str>,
    /// Make the test with this `suite.test` (or unique `test`) name fail on purpose.
    pub fail: Option<&'a str>,
    /// Crash on purpose in a test of its own, before the suite.
    pub crash: Option<CrashKind>,
    /// Fewest CPUs that must come online.
    pub expect_cpus: Option<usize>,
    /// Per-test watchdog in seconds (`None`: [`ktap_abi::DEFAULT_TEST_TIMEOUT_S`]).
    pub test_timeout: Option<u64>,
    /// Print the test names instead of running them.
    pub list: bool,
}

impl Options<'_> {
    /// The per-test watchdog in seconds.
    pub fn test_timeout_s(&self) -> u64 {
        self.test_timeout
            .unwrap_or(ktap_abi::DEFAULT_TEST_TIMEOUT_S)
    }
}

/// Why a command line was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CmdlineError<'a> {
    /// A token this kernel does not know.
    Unknown(&'a str),
    /// A known token given twice.
    Repeated(&'a str),
    /// A known token with an empty or malformed value.
    BadValue(&'a str),
    /// `crash=` with a kind this kernel does not know.
    UnknownCrash(&'a str),
}

impl fmt::Display for CmdlineError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdlineError::Unknown(t) => write!(
                f,
                "unknown command-line token `{t}` (known: filter= fail= crash= expect_cpus= \
                 test_timeout= list)"
            ),
            CmdlineError::Repeated(t) => write!(f, "command-line token `{t}` given twice"),
            CmdlineError::BadValue(t) => write!(f, "bad value in command-line token `{t}`"),
            CmdlineError::UnknownCrash(v) => {
                write!(f, "unknown crash kind `crash={v}` (known:")?;
                for kind in CrashKind::ALL {
                    write!(f, " {}", kind.name())?;
                }
                f.write_str(")")
            }
        }
    }
}

fn set<'a, T>(slot: &mut Option<T>, value: T, token: &'a str) -> Result<(), CmdlineError<'a>> {
    if slot.is_some() {
        return Err(CmdlineError::Repeated(token));
    }
    *slot = Some(value);
    Ok(())
}

/// Parses space-separated tokens; the first token not understood is the error.
pub fn parse(cmdline: &str) -> Result<Options<'_>, CmdlineError<'_>> {
    let mut o = Options::default();
    for t in cmdline.split_ascii_whitespace() {
        let bad = || CmdlineError::BadValue(t);
        match t.split_once('=') {
            None if t == token::LIST => {
                if o.list {
                    return Err(CmdlineError::Repeated(t));
                }
                o.list = true;
            }
            Some((_, "")) if is_known(t) => return Err(bad()),
            Some((token::FILTER, v)) => set(&mut o.filter, v, t)?,
            Some((token::FAIL, v)) => set(&mut o.fail, v, t)?,
            Some((token::CRASH, v)) => {
                let kind = CrashKind::from_name(v).ok_or(CmdlineError::UnknownCrash(v))?;
                set(&mut o.crash, kind, t)?;
            }
            Some((token::EXPECT_CPUS, v)) => {
                let n = v.parse().ok().filter(|&n| n >= 1).ok_or_else(bad)?;
                set(&mut o.expect_cpus, n, t)?;
            }
            Some((token::TEST_TIMEOUT, v)) => {
                let s = v.parse().ok().filter(|&s| s >= 1).ok_or_else(bad)?;
                set(&mut o.test_timeout, s, t)?;
            }
            _ => return Err(CmdlineError::Unknown(t)),
        }
    }
    Ok(o)
}

fn is_known(t: &str) -> bool {
    let name = t.split_once('=').map_or(t, |(name, _)| name);
    [
        token::FILTER,
        token::FAIL,
        token::CRASH,
        token::EXPECT_CPUS,
        token::TEST_TIMEOUT,
    ]
    .contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn every_known_token_parses() {
        let o = parse(
            "  filter=pool.  fail=pool.every_class_alignment crash=page_fault expect_cpus=4 \
             test_timeout=3 list ",
        );
        let want = Options {
            filter: Some("pool."),
            fail: Some("pool.every_class_alignment"),
            crash: Some(CrashKind::PageFault),
            expect_cpus: Some(4),
            test_timeout: Some(3),
            list: true,
        };
        assert_eq!(o, Ok(want));
        assert_eq!(parse(""), Ok(Options::default()));
        assert_eq!(
            Options::default().test_timeout_s(),
            ktap_abi::DEFAULT_TEST_TIMEOUT_S
        );
    }

    #[test]
    fn every_crash_kind_round_trips() {
        for kind in CrashKind::ALL {
            let token = format!("crash={}", kind.name());
            assert_eq!(parse(&token).map(|o| o.crash), Ok(Some(kind)), "{token}");
        }
    }

    #[test]
    fn anything_not_understood_is_an_error_naming_the_token() {
        for (line, error) in [
            ("bogus", CmdlineError::Unknown("bogus")),
            ("filter=a x=1", CmdlineError::Unknown("x=1")),
            ("filter=", CmdlineError::BadValue("filter=")),
            ("crash=zzz", CmdlineError::UnknownCrash("zzz")),
            ("fail=a fail=b", CmdlineError::Repeated("fail=b")),
            ("list list", CmdlineError::Repeated("list")),
            ("expect_cpus=0", CmdlineError::BadValue("expect_cpus=0")),
            (
                "test_timeout=ten",
                CmdlineError::BadValue("test_timeout=ten"),
            ),
            ("--nocapture", CmdlineError::Unknown("--nocapture")),
            ("list=1", CmdlineError::Unknown("list=1")),
        ] {
            assert_eq!(parse(line).err(), Some(error), "{line}");
        }
    }

    #[test]
    fn errors_say_what_is_known() {
        let text = format!("{}", CmdlineError::UnknownCrash("x"));
        assert!(
            text.contains("stack_overflow") && text.contains("hang"),
            "{text}"
        );
        let text = format!("{}", CmdlineError::Unknown("x=1"));
        assert!(text.contains("expect_cpus="), "{text}");
    }
}
