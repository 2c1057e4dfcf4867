//! Command-line options of the runner (`clap` derive) and the kernel command line they produce.

#![deny(unsafe_code)]

use clap::Parser;
use std::path::PathBuf;

/// Builds the zenslab test kernel, boots it under QEMU, streams its serial port, parses the KTAP
/// report and exits 0 passed, 1 failed, 2 crashed, 3 timed out, 4 runner error.
///
/// As another kernel's cargo `runner`, cargo calls `qemu <ELF> [ARGS]...`: the ELF is booted
/// without building; `key=value` ARGS are appended to the kernel command line, a bare word is a
/// test filter, and libtest's flags (`--list`, `--format X`, `--nocapture`, ...) are handled
/// here, never sent to the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "qemu", version)]
pub struct Options {
    /// QEMU CPU model (`-cpu`); `qemu64` has no AVX and exercises the scalar path.
    #[arg(long, default_value = "EPYC-Milan")]
    pub cpu: String,
    /// Number of virtual CPUs (`-smp`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub smp: u8,
    /// QEMU accelerator (`-accel`): `tcg` (emulation), or `kvm` where real hardware
    /// virtualisation is available.
    #[arg(long, default_value = "tcg")]
    pub accel: String,
    /// Guest memory (`-m`).
    #[arg(long, default_value = "256M")]
    pub memory: String,
    /// Wall-clock limit for QEMU in seconds; QEMU is killed when it is exceeded.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Run only the tests whose `suite.test` names contain this (kernel token `filter=`); a
    /// filter that selects nothing fails the boot.
    #[arg(long, value_name = "PATTERN", value_parser = parse_token_value)]
    pub filter: Option<String>,
    /// Make the test `suite.test` (or a unique `test`) fail on purpose (kernel token `fail=`).
    #[arg(long, value_name = "NAME", value_parser = parse_token_value)]
    pub fail: Option<String>,
    /// Accept a run with no test at all (plan `1..0`) as a pass.
    #[arg(long)]
    pub allow_empty: bool,
    /// List the tests (`suite.test: test`, libtest's format) instead of running them.
    #[arg(long)]
    pub list: bool,
    /// Raw argument appended to the QEMU command line (repeatable).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub qemu_arg: Vec<String>,
    /// Start QEMU's gdb server on tcp::1234 and wait for a debugger (`-s -S`); the timeout
    /// still applies, so raise it with `--timeout`.
    #[arg(long)]
    pub gdb: bool,
    /// Log interrupts and CPU resets to FILE (`-d int,cpu_reset -D FILE`): the trail a triple
    /// fault leaves.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Raw text appended to the kernel command line (repeatable).
    #[arg(long, value_name = "RAW", allow_hyphen_values = true)]
    pub append: Vec<String>,
    /// Boot this kernel ELF instead of building the zenslab kernel.
    #[arg(long, value_name = "ELF")]
    pub kernel: Option<PathBuf>,
    /// Do not build the kernel; boot the last build.
    #[arg(long)]
    pub no_build: bool,
    /// Path to qemu-system-x86_64 (default: search PATH).
    #[arg(long, value_name = "PATH")]
    pub qemu: Option<PathBuf>,
    /// Do not echo the serial output (or the kernel build) live; print only the summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// libtest's flags that take a value (`--format`, `--test-threads`, `--color`, `--logfile`,
    /// `-Z`), as cargo or an IDE pass them before any positional argument: accepted, ignored.
    #[arg(long = "format", short = 'Z', value_name = "X", hide = true, num_args = 1,
          action = clap::ArgAction::Append,
          aliases = ["test-threads", "color", "logfile"])]
    pub ignored_libtest_values: Vec<String>,
    /// libtest's switches (`--nocapture`, `--exact`, `--show-output`, `--ignored`,
    /// `--include-ignored`): accepted, ignored.
    #[arg(long = "nocapture", hide = true, action = clap::ArgAction::Count,
          aliases = ["exact", "show-output", "ignored", "include-ignored"])]
    pub ignored_libtest_switches: u8,
    /// `[ELF] [ARGS]...`: without `--kernel`, the first positional is the kernel ELF to boot
    /// (what cargo passes when this is a `runner`); the rest are extra kernel command-line tokens.
    /// After the first positional everything is taken as-is, even `--flags`.
    #[arg(value_name = "ELF_THEN_ARGS", trailing_var_arg = true)]
    pub positional: Vec<String>,
}

impl Options {
    /// The explicit kernel ELF (`--kernel` or the positional argument), if any.
    pub fn explicit_kernel(&self) -> Option<PathBuf> {
        self.kernel
            .clone()
            .or_else(|| self.positional.first().map(PathBuf::from))
    }

    /// Positional arguments that are kernel command-line tokens (all of them with `--kernel`,
    /// all but the first without).
    pub fn positional_tokens(&self) -> &[String] {
        let skip = usize::from(self.kernel.is_none() && !self.positional.is_empty());
        &self.positional[skip..]
    }

    /// The kernel command line for `-append`: `filter=`, `fail=`, then `--append` text, then
    /// trailing arguments, separated by single spaces.
    ///
    /// Libtest arguments among the positional tokens are taken out first (see
    /// [`Options::kernel_args`]); `expect_cpus=<--smp>` is added unless given.
    pub fn kernel_cmdline(&self) -> Result<String, String> {
        self.kernel_args().map(|args| args.cmdline)
    }

    /// The kernel command line and the mode, after taking libtest's arguments out of the
    /// positional tokens: `--list` lists, a bare word is the filter, `--format X`,
    /// `--nocapture`, `--exact`, `--quiet`, `--show-output`, `--test-threads N`, `--color X`,
    /// `-Z X` are accepted and ignored, any other `-...` is an error.
    pub fn kernel_args(&self) -> Result<KernelArgs, String> {
        let mut list = self.list;
        let mut filter = self.filter.clone();
        let mut extra: Vec<String> = Vec::new();
        let mut positional = self.positional_tokens().iter();
        while let Some(raw) = positional.next() {
            let arg = raw.trim();
            let flag = arg.split_once('=').map_or(arg, |(name, _)| name);
            match flag {
                "" => {}
                "--list" => list = true,
                "--nocapture" | "--exact" | "--quiet" | "-q" | "--show-output" | "--ignored"
                | "--include-ignored" => {}
                "--format" | "--test-threads" | "--color" | "-Z" | "--logfile" => {
                    if !arg.contains('=') {
                        positional.next();
                    }
                }
                _ if arg.starts_with('-') => {
                    return Err(format!("unsupported test-harness argument `{arg}`"));
                }
                _ if !arg.contains('=') => {
                    if let Some(previous) = filter.replace(arg.to_owned()) {
                        return Err(format!("one filter only: got `{previous}` and `{arg}`"));
                    }
                }
                _ => extra.push(arg.to_owned()),
            }
        }
        let appended: Vec<&str> = self
            .append
            .iter()
            .flat_map(|raw| raw.split_whitespace())
            .collect();
        if filter.is_some()
            && appended
                .iter()
                .copied()
                .chain(extra.iter().map(String::as_str))
                .any(|t| t.starts_with("filter="))
        {
            return Err(
                "one filter only: a filter word or --filter, and a filter= token".to_owned(),
            );
        }
        let mut tokens: Vec<String> = Vec::new();
        if let Some(filter) = &filter {
            tokens.push(format!("filter={filter}"));
        }
        if let Some(fail) = &self.fail {
            tokens.push(format!("fail={fail}"));
        }
        tokens.extend(appended.into_iter().map(str::to_owned).chain(extra));
        if list {
            tokens.push("list".to_owned());
        }
        if !tokens.iter().any(|t| t.starts_with("expect_cpus=")) {
            tokens.push(format!("expect_cpus={}", self.smp));
        }
        Ok(KernelArgs {
            cmdline: tokens.join(" "),
            list,
        })
    }
}

/// What the kernel is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelArgs {
    /// The `-append` text.
    pub cmdline: String,
    /// List the tests instead of running them.
    pub list: bool,
}

/// A `filter=`/`fail=` value: non-empty, no whitespace (tokens are space-separated).
fn parse_token_value(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err("must not be empty".to_owned())
    } else if value.contains(char::is_whitespace) {
        Err(
            "must not contain whitespace (kernel command-line tokens are space-separated)"
                .to_owned(),
        )
    } else {
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("qemu").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Options::command().debug_assert();
    }

    #[test]
    fn defaults_follow_the_protocol() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (
                o.cpu.as_str(),
                o.smp,
                o.accel.as_str(),
                o.memory.as_str(),
                o.timeout
            ),
            ("EPYC-Milan", 1, "tcg", "256M", 60)
        );
        assert!(!o.quiet && !o.no_build && !o.allow_empty && !o.gdb && !o.list);
        assert_eq!(o.explicit_kernel(), None);
        assert_eq!(o.kernel_cmdline().unwrap(), "expect_cpus=1");
    }

    #[test]
    fn filter_fail_and_append_become_kernel_tokens_in_order() {
        let o = parse(&[
            "--append",
            "  verbose ",
            "--fail",
            "b_test",
            "--filter",
            "pool",
            "--append",
            "x=1 y=2",
        ])
        .unwrap();
        assert_eq!(
            o.kernel_cmdline().unwrap(),
            "filter=pool fail=b_test verbose x=1 y=2 expect_cpus=1"
        );
    }

    #[test]
    fn smp_is_limited_to_1_through_8() {
        assert_eq!(parse(&["--smp", "8"]).unwrap().smp, 8);
        for bad in ["0", "9", "-1", "two"] {
            assert!(parse(&["--smp", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_values_reject_whitespace_and_empty() {
        assert!(parse(&["--filter", "a b"]).is_err());
        assert!(parse(&["--fail", ""]).is_err());
        assert!(parse(&["--timeout", "0"]).is_err());
    }

    #[test]
    fn cargo_runner_form_takes_the_elf_and_trailing_args() {
        let o = parse(&["target/kernel.elf", "filter=pool", "--nocapture"]).unwrap();
        assert_eq!(
            o.explicit_kernel(),
            Some(PathBuf::from("target/kernel.elf"))
        );
        assert_eq!(o.kernel_cmdline().unwrap(), "filter=pool expect_cpus=1");
        let o = parse(&["--smp", "2", "k.elf"]).unwrap();
        assert_eq!((o.smp, o.explicit_kernel()), (2, Some("k.elf".into())));
        assert_eq!(o.kernel_cmdline().unwrap(), "expect_cpus=2");
    }

    #[test]
    fn unknown_options_are_errors_not_kernel_tokens() {
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--kernel", "k", "--bogus"]).is_err());
    }

    #[test]
    fn with_kernel_option_every_positional_is_a_kernel_token() {
        let o = parse(&["--kernel", "a.elf", "fail=x", "y=1"]).unwrap();
        assert_eq!(o.explicit_kernel(), Some(PathBuf::from("a.elf")));
        assert_eq!(o.kernel_cmdline().unwrap(), "fail=x y=1 expect_cpus=1");
    }

    #[test]
    fn libtest_arguments_are_handled_not_sent_to_the_kernel() {
        let o = parse(&[
            "k.elf",
            "--format",
            "terse",
            "--list",
            "--nocapture",
            "--exact",
            "pool",
            "--test-threads=1",
            "--color",
            "never",
            "-Z",
            "unstable-options",
        ])
        .unwrap();
        let args = o.kernel_args().unwrap();
        assert!(args.list);
        assert_eq!(args.cmdline, "filter=pool list expect_cpus=1");
        assert!(parse(&["k.elf", "--bench"]).unwrap().kernel_args().is_err());
        assert!(parse(&["k.elf", "a", "b"]).unwrap().kernel_args().is_err());
        assert!(
            parse(&["--filter", "a", "k.elf", "b"])
                .unwrap()
                .kernel_args()
                .is_err()
        );
    }

    #[test]
    fn libtest_flags_before_any_positional_are_accepted_and_ignored() {
        let o = parse(&[
            "--kernel",
            "k.elf",
            "--list",
            "--format",
            "terse",
            "--nocapture",
            "--exact",
            "--test-threads",
            "1",
            "-Z",
            "unstable-options",
            "pool",
        ])
        .unwrap();
        let args = o.kernel_args().unwrap();
        assert!(args.list);
        assert_eq!(args.cmdline, "filter=pool list expect_cpus=1");
    }

    #[test]
    fn a_given_expect_cpus_is_kept() {
        let o = parse(&["--smp", "4", "--append", "expect_cpus=2"]).unwrap();
        assert_eq!(o.kernel_cmdline().unwrap(), "expect_cpus=2");
    }
}
