//! `perf-guard`: the instruction-count guard (run it through `scripts/perf-guard.sh`).
//!
//! * `perf-guard check [--update] [--repeat] [--filter F]...` runs this same binary's
//!   `cases` under Callgrind, prints baseline / now / change per case and exits 1 when a case
//!   grew beyond its threshold (2 % unless the baseline's `overrides` say otherwise, with a
//!   reason), 2 when the run itself failed. `--update` rewrites the baseline instead and
//!   appends the counts to the history; `--repeat` runs everything twice and fails unless
//!   both runs counted exactly the same events.
//! * `perf-guard cases [F]...` is the client Valgrind runs: every case whose name contains one
//!   of the filters (all without one).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use simd_kernels::active_backend;
use zenslab_benches::date::utc_date;
use zenslab_benches::guard::baseline::{self, Baseline};
use zenslab_benches::guard::{callgrind, cases};

const USAGE: &str = "usage: perf-guard check [--update] [--repeat] [--filter F]... \
                     [--baseline FILE] [--history FILE]\n       perf-guard cases [F]...";

/// Options of `check` (hand-parsed: a dependency on an argument parser would be built twice
/// in CI, once more for the self-test's other compiler flags).
struct Check {
    update: bool,
    repeat: bool,
    filter: Vec<String>,
    baseline: PathBuf,
    history: PathBuf,
}

impl Check {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut c = Check {
            update: false,
            repeat: false,
            filter: Vec::new(),
            baseline: repo_path("benches/perf-baseline.json"),
            history: repo_path("benches/perf-history.jsonl"),
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--update" => c.update = true,
                "--repeat" => c.repeat = true,
                "--filter" => c.filter.push(value()?),
                "--baseline" => c.baseline = value()?.into(),
                "--history" => c.history = value()?.into(),
                _ => return Err(format!("unknown option {arg}")),
            }
        }
        Ok(c)
    }
}

fn repo_path(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ sits in the workspace root")
        .join(p)
}

fn selected(name: &str, filter: &[String]) -> bool {
    filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
}

fn run_cases(filter: &[String]) {
    println!("backend {}", active_backend().name());
    for mut case in cases::all() {
        if selected(&case.name, filter) {
            case.run();
            println!("case {} {}", case.name, case.iterations);
        }
    }
}

fn git(args: &[&str]) -> String {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn check(opts: Check) -> ExitCode {
    let (update, repeat, filter) = (opts.update, opts.repeat, &opts.filter[..]);
    let (base_path, history) = (opts.baseline.as_path(), opts.history.as_path());
    if update && !filter.is_empty() {
        eprintln!("perf-guard: --update rewrites the whole baseline; drop --filter");
        return ExitCode::from(2);
    }
    let client = std::env::current_exe().expect("own path");
    let work = client.with_file_name("perf-guard-dumps");
    let measure = || callgrind::run(&client, filter, &work);
    let run = match measure() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("perf-guard: {e}");
            return ExitCode::from(2);
        }
    };
    if repeat {
        match measure() {
            Ok(again) if again.cases == run.cases => {
                println!(
                    "perf-guard: two runs gave identical counts for {} cases",
                    run.cases.len()
                )
            }
            Ok(again) => {
                eprintln!("perf-guard: counts differ between two runs:");
                for (a, b) in run.cases.iter().zip(&again.cases) {
                    if a != b {
                        eprintln!("  {}: {:?} then {:?}", a.name, a.counts, b.counts);
                    }
                }
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("perf-guard: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let base = match Baseline::load(base_path) {
        Ok(b) => b,
        Err(e) if update && e.kind() == std::io::ErrorKind::NotFound => Baseline {
            default_threshold_percent: baseline::DEFAULT_THRESHOLD_PERCENT,
            ..Default::default()
        },
        Err(e) => {
            eprintln!("perf-guard: baseline {}: {e}", base_path.display());
            return ExitCode::from(2);
        }
    };
    let rows = baseline::compare(&base, &run);
    print!("{}", baseline::render(&rows));
    println!(
        "SIMD backend under Valgrind: {} (baseline: {})",
        run.backend, base.backend
    );
    if update {
        let saved = base.updated(&run).save(base_path).and_then(|()| {
            let commit = git(&["rev-parse", "--short", "HEAD"]);
            baseline::append_history(
                history,
                &commit,
                &utc_date(std::time::SystemTime::now()),
                &run,
            )
        });
        return match saved {
            Ok(()) => {
                println!(
                    "perf-guard: wrote {} and appended to {}",
                    base_path.display(),
                    history.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("perf-guard: {e}");
                ExitCode::from(2)
            }
        };
    }
    if run.backend != base.backend {
        eprintln!(
            "perf-guard: the SIMD backend differs from the baseline's: counts are not comparable"
        );
        return ExitCode::from(2);
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.name.as_str())
        .collect();
    if failed.is_empty() {
        println!("perf-guard: {} cases within their thresholds", rows.len());
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "perf-guard: grew beyond the threshold or missing from the baseline: {}",
            failed.join(", ")
        );
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("cases") => {
            run_cases(&args.collect::<Vec<_>>());
            ExitCode::SUCCESS
        }
        Some("check") => match Check::parse(args) {
            Ok(opts) => check(opts),
            Err(e) => {
                eprintln!("perf-guard: {e}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
