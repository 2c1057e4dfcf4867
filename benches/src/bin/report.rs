//! `cargo run -p zenslab-benches --release --bin report`: reads the criterion results under
//! `target/criterion` (or `$CARGO_TARGET_DIR/criterion`, or the directory given as the first
//! argument) and prints one table per benchmark family plus the issue targets, each marked
//! met or not met from the measured medians, and the SIMD results in core cycles per element.
//! It also writes SVG charts to `docs/charts/` (see `charts_out`). The only thing it measures
//! itself is the core clock (the SIMD benchmark records the clock of its own run, which the
//! report prefers): run `scripts/bench.sh` (or `cargo bench`) first.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use zenslab_benches::charts::files::write_charts;
use zenslab_benches::clock::{self, ClockRecord};
use zenslab_benches::cpu::CpuId;
use zenslab_benches::report::{Measurement, Tables, load_measurements};
use zenslab_benches::{simd_cycles, simd_targets, targets};

fn criterion_dir() -> PathBuf {
    match std::env::args_os().nth(1) {
        Some(arg) => PathBuf::from(arg),
        None => zenslab_benches::criterion_dir(),
    }
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
    let alloc_checks = targets::alloc_checks(&measurements);
    // Nine clock runs (~80 ms) here, beside the benchmark's own record of its clock.
    let (machine, machine_lines) = simd_cycles::choose_machine(
        ClockRecord::load(&dir),
        CpuId::current(),
        &clock::measure(9),
    );
    write_charts(&dir, &measurements, machine.cycles(1.0));
    let simd_checks = simd_targets::simd_checks(&measurements, &machine);
    let simd_cycles = simd_cycles::render(&measurements, &machine, &machine_lines);
    let linear_checks = targets::linear_checks(&measurements);
    let mut families: BTreeMap<String, Vec<Measurement>> = BTreeMap::new();
    for m in measurements {
        families.entry(m.family().to_owned()).or_default().push(m);
    }
    for (family, ms) in &families {
        println!("{}", Tables::new(family, ms).render());
    }
    if let Some(table) = zenslab_benches::fragmentation::render(&zenslab_benches::target_dir()) {
        println!("{table}");
    }
    println!(
        "{}",
        targets::render("alloc-pool targets (issue 2)", &alloc_checks)
    );
    println!("{simd_cycles}");
    println!("{}", targets::render("simd-kernels targets", &simd_checks));
    println!(
        "{}",
        targets::render("linear and model targets", &linear_checks)
    );
    ExitCode::SUCCESS
}
