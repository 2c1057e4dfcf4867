//! Where the report's charts go and what their captions say: `docs/charts/*.svg`, captioned
//! with this machine's CPU, the clock the benchmarks measured and the date of the results.

use std::path::{Path, PathBuf};

use super::{self as charts, Caption};
use crate::date::utc_date;
use crate::guard::baseline::load_history;
use crate::report::Measurement;

fn repo_path(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ sits in the workspace root")
        .join(p)
}

/// The CPU model from `/proc/cpuinfo`, or `unknown CPU`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// Writes the three charts to `docs/charts/` and prints their paths; failures are reported
/// on stderr and do not stop the report. `criterion_dir`'s modification time dates the run;
/// `clock_ghz` is the clock the benchmark run measured, if it did.
pub fn write_charts(criterion_dir: &Path, ms: &[Measurement], clock_ghz: Option<f64>) {
    let date = std::fs::metadata(criterion_dir)
        .and_then(|m| m.modified())
        .map_or_else(|_| "date unknown".to_owned(), utc_date);
    let caption = Caption {
        cpu: cpu_model(),
        clock_ghz,
        date,
    };
    let history = load_history(&repo_path("benches/perf-history.jsonl")).unwrap_or_else(|e| {
        eprintln!("charts: guard history: {e}");
        Vec::new()
    });
    let out = repo_path("docs/charts");
    let charts = [
        ("allocators.svg", charts::allocators(ms, &caption)),
        ("simd.svg", charts::simd(ms, &caption)),
        (
            "guard-history.svg",
            charts::guard_history(
                &history,
                "Valgrind Callgrind counts (CPU-independent), one point per baseline update",
            ),
        ),
    ];
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("charts: {}: {e}", out.display());
        return;
    }
    for (name, svg) in charts {
        if svg.is_empty() {
            continue;
        }
        let path = out.join(name);
        match std::fs::write(&path, svg) {
            Ok(()) => eprintln!("chart: {}", path.display()),
            Err(e) => eprintln!("charts: {}: {e}", path.display()),
        }
    }
}
