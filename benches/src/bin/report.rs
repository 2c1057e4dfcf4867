//! `cargo run -p zenslab-benches --release --bin report`: reads the criterion results under
//! `target/criterion` (or `$CARGO_TARGET_DIR/criterion`, or the directory given as the first
//! argument) and prints one table per benchmark family plus the issue targets, each marked
//! met or not met from the measured medians, and writes SVG charts to `docs/charts/` (see
//! `charts_out`). It measures nothing itself: run `scripts/bench.sh` (or `cargo bench`) first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zenslab_benches::charts::files::write_charts;
use zenslab_benches::report::{Measurement, Tables, load_measurements};
use zenslab_benches::targets;

fn criterion_dir() -> PathBuf {
    if let Some(arg) = std::env::args_os().nth(1) {
        return PathBuf::from(arg);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

fn main() -> ExitCode {
    let dir = criterion_dir();
    let measurements: Vec<Measurement> = match load_measurements(&dir) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => {
            eprintln!(
                "no criterion results under {}: run scripts/bench.sh first",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    write_charts(&dir, &measurements, None);
    let alloc_checks = targets::alloc_checks(&measurements);
    let simd_checks = targets::simd_checks(&measurements);
    let mut families: BTreeMap<String, Vec<Measurement>> = BTreeMap::new();
    for m in measurements {
        families.entry(m.family().to_owned()).or_default().push(m);
    }
    for (family, ms) in &families {
        println!("{}", Tables::new(family, ms).render());
    }
    println!(
        "{}",
        targets::render("alloc-pool targets (issue 2)", &alloc_checks)
    );
    println!(
        "{}",
        targets::render("simd-kernels targets (issue 3)", &simd_checks)
    );
    ExitCode::SUCCESS
}
