//! Running the `perf-guard cases` client under Callgrind and reading its dumps.
//!
//! One Valgrind process runs every selected case. Collection is off at start and toggled on
//! only inside [`REGION`]; `--dump-after` writes one profile part per region call, so part
//! `k` holds exactly the events of case `k`. The cache simulator is given Zen 3's L1 and L3
//! geometry explicitly, so miss counts do not follow the host's caches.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The symbol Callgrind collects in (see `cases::zenslab_perf_guard_region`).
pub const REGION: &str = "zenslab_perf_guard_region";

/// The events of one case, summed over its iterations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Instructions executed (`Ir`).
    pub instructions: u64,
    /// L1 data misses, reads plus writes (`D1mr + D1mw`).
    pub d1_misses: u64,
    /// Last-level misses, instruction and data (`ILmr + DLmr + DLmw`).
    pub ll_misses: u64,
}

/// One measured case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    /// The case's name.
    pub name: String,
    /// Iterations inside the region.
    pub iterations: u64,
    /// Events over all iterations.
    pub counts: Counts,
}

/// What one run of the client produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// The SIMD backend the client dispatched to under Valgrind.
    pub backend: String,
    /// Every case, in the client's order.
    pub cases: Vec<Measured>,
}

/// Failure of a run, with what to look at.
#[derive(Debug)]
pub enum RunError {
    /// Valgrind could not be started or its output read.
    Io(io::Error),
    /// Valgrind or the client failed; stderr is attached.
    Failed(String),
    /// A dump was missing or not understood.
    BadDump(String),
    /// Code from another object than the client (glibc, the loader) ran inside the region:
    /// its counts would depend on the CPU glibc's ifuncs select.
    ForeignCode(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot run valgrind: {e}"),
            Self::Failed(s) => write!(f, "valgrind or the client failed:\n{s}"),
            Self::BadDump(s) => write!(f, "unreadable callgrind dump: {s}"),
            Self::ForeignCode(s) => write!(f, "code outside the client ran in the region: {s}"),
        }
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Runs `client cases <filter>...` under Callgrind, writing dumps into `work_dir`.
pub fn run(client: &Path, filter: &[String], work_dir: &Path) -> Result<Run, RunError> {
    if work_dir.exists() {
        std::fs::remove_dir_all(work_dir)?;
    }
    std::fs::create_dir_all(work_dir)?;
    let out_file = work_dir.join("callgrind.out");
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={REGION}"))
        .arg(format!("--dump-after={REGION}"))
        .arg("--cache-sim=yes")
        .args(["--I1=32768,8,64", "--D1=32768,8,64", "--LL=33554432,16,64"])
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(client)
        .arg("cases")
        .args(filter)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(RunError::Failed(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    let mut backend = String::new();
    let mut cases = Vec::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("backend"), Some(b), None) => backend = b.to_owned(),
            (Some("case"), Some(name), Some(iterations)) => {
                let part = dump_path(&out_file, cases.len() + 1);
                let text = std::fs::read_to_string(&part)
                    .map_err(|e| RunError::BadDump(format!("{}: {e}", part.display())))?;
                cases.push(Measured {
                    name: name.to_owned(),
                    iterations: iterations
                        .parse()
                        .map_err(|_| RunError::BadDump(format!("client said {line:?}")))?,
                    counts: parse_dump(&text, client)?,
                });
            }
            _ => {}
        }
    }
    Ok(Run { backend, cases })
}

/// Callgrind names part `k` of `--callgrind-out-file=F` `F.k`.
fn dump_path(out_file: &Path, part: usize) -> PathBuf {
    let mut name = out_file.as_os_str().to_owned();
    name.push(format!(".{part}"));
    PathBuf::from(name)
}

/// Reads one dump: the totals of its `events:` / `summary:` lines, and the costs per object
/// file, which must all belong to `client`.
pub fn parse_dump(text: &str, client: &Path) -> Result<Counts, RunError> {
    let bad = |what: &str| RunError::BadDump(what.to_owned());
    let events: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("events:"))
        .ok_or_else(|| bad("no events: line"))?
        .split_whitespace()
        .collect();
    let summary: Vec<u64> = text
        .lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .ok_or_else(|| bad("no summary: line"))?
        .split_whitespace()
        .map(|v| v.parse().map_err(|_| bad("summary value")))
        .collect::<Result<_, _>>()?;
    let event = |name: &str| -> u64 {
        events
            .iter()
            .position(|e| *e == name)
            .and_then(|i| summary.get(i).copied())
            .unwrap_or(0)
    };
    let foreign = foreign_objects(text, client);
    if !foreign.is_empty() {
        let list: Vec<String> = foreign
            .iter()
            .map(|(o, ir)| format!("{o} ({ir} Ir)"))
            .collect();
        return Err(RunError::ForeignCode(list.join(", ")));
    }
    Ok(Counts {
        instructions: event("Ir"),
        d1_misses: event("D1mr") + event("D1mw"),
        ll_misses: event("ILmr") + event("DLmr") + event("DLmw"),
    })
}

/// Objects other than `client` with a self cost (first event, `Ir`) in the dump.
fn foreign_objects(text: &str, client: &Path) -> BTreeMap<String, u64> {
    // Callgrind compresses names: `ob=(3) /path` defines id 3, a later `ob=(3)` reuses it.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::new();
    let mut skip_next_cost = false;
    let mut costs: BTreeMap<String, u64> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("ob=") {
            current = resolve(&mut names, rest);
        } else if let Some(rest) = line.strip_prefix("cob=") {
            resolve(&mut names, rest);
        } else if line.starts_with("calls=") {
            // The next cost line is the inclusive cost of the call, charged to the callee.
            skip_next_cost = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            if std::mem::take(&mut skip_next_cost) {
                continue;
            }
            let ir: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            *costs.entry(current.clone()).or_default() += ir;
        }
    }
    let client_name = client.file_name().map(|n| n.to_string_lossy().into_owned());
    costs
        .into_iter()
        .filter(|(object, ir)| {
            *ir > 0
                && Path::new(object)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    != client_name
        })
        .collect()
}

/// The name of a compressed `(id) name` or `(id)` reference, remembering new definitions.
fn resolve(names: &mut BTreeMap<String, String>, reference: &str) -> String {
    let reference = reference.trim();
    match reference.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some((id, "")) => names.get(id).cloned().unwrap_or_default(),
        Some((id, name)) => {
            let name = name.trim().to_owned();
            names.insert(id.to_owned(), name.clone());
            name
        }
        None => reference.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "version: 1\ncreator: callgrind-3.19.0\n\
        events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n\
        ob=(1) /t/release/perf-guard\nfl=(1) ???\nfn=(1) zenslab_perf_guard_region\n\
        0 10 2 1 0 1 2 0 0 3\ncob=(2) /usr/lib/libc.so.6\ncfn=(2) memcpy\ncalls=1 0\n\
        0 50 0 0 0 0 0 0 0 0\nob=(2)\nfl=(2) ???\nfn=(2)\n0 0\n\
        summary: 60 2 1 0 1 2 0 0 3\ntotals: 60 2 1 0 1 2 0 0 3\n";

    #[test]
    fn totals_come_from_the_summary() {
        let counts = parse_dump(DUMP, Path::new("/x/perf-guard")).unwrap();
        assert_eq!(
            counts,
            Counts {
                instructions: 60,
                d1_misses: 3,
                ll_misses: 3
            }
        );
    }

    #[test]
    fn code_of_another_object_is_refused() {
        let with_libc = DUMP.replace("fn=(2)\n0 0\n", "fn=(2)\n0 50\n");
        match parse_dump(&with_libc, Path::new("/x/perf-guard")) {
            Err(RunError::ForeignCode(s)) => assert!(s.contains("libc.so.6 (50 Ir)"), "{s}"),
            other => panic!("{other:?}"),
        }
    }
}
