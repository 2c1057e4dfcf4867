//! The SIMD part of the report in core cycles per element: the machine the figures came from
//! (CPU from CPUID, clock measured in the benchmark's own run), and Markdown tables of ours
//! against the counted Zen 3 floors, the copy baselines and the peers, ready to paste.

use std::fmt::Write as _;

use crate::clock::{ClockRecord, RECORD_FILE, robust_ghz};
use crate::cpu::CpuId;
use crate::floors::FLOORS;
use crate::report::Measurement;
use crate::simd_layout::{COPY, L1, SIZES, Size, group, id};
use crate::simd_targets::{FLOOR_TARGETS, TRACT_FUNCTIONS};
use crate::targets::ns;

/// The machine SIMD figures are converted and judged for.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    ghz: Option<f64>,
    cpu: Option<CpuId>,
}

impl Machine {
    /// A machine with a measured clock (GHz) and CPU, either of which may be unknown.
    pub fn new(ghz: Option<f64>, cpu: Option<CpuId>) -> Self {
        Self { ghz, cpu }
    }

    /// Core cycles for `ns` nanoseconds, if the clock is known.
    pub fn cycles(&self, ns: f64) -> Option<f64> {
        self.ghz.map(|g| ns * g)
    }

    /// Why the Zen 3 floors cannot be judged here; `None` on a Zen 3.
    pub fn not_zen3_reason(&self) -> Option<String> {
        match &self.cpu {
            Some(cpu) if cpu.zen3().is_some() => None,
            Some(cpu) => Some(format!(
                "not a Zen 3 ({}, {} family {} model {})",
                cpu.brand, cpu.vendor, cpu.family, cpu.model
            )),
            None => Some("CPU unknown".to_owned()),
        }
    }
}

/// Chooses the clock and CPU the report uses and says so: the benchmark's own record when
/// there is one (cycles from the same run), else the clock measured now (`now_ghz_runs`).
/// Returns the machine and the header lines that name the CPU, the clock and its source.
pub fn choose_machine(
    record: Option<ClockRecord>,
    now_cpu: Option<CpuId>,
    now_ghz_runs: &[f64],
) -> (Machine, Vec<String>) {
    let now = robust_ghz(now_ghz_runs);
    let now_text = now.map_or("unknown".to_owned(), |g| format!("{g:.3} GHz"));
    let mut lines = Vec::new();
    let machine = match record.as_ref().and_then(|r| Some((r, r.ghz()?))) {
        Some((r, ghz)) => {
            let all: Vec<f64> = r.before_ghz.iter().chain(&r.after_ghz).copied().collect();
            let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let side = |v: &[f64]| robust_ghz(v).map_or("–".to_owned(), |g| format!("{g:.3}"));
            lines.push(format!("CPU: {}", r.cpu));
            lines.push(format!(
                "Clock: **{ghz:.3} GHz**, measured by the simd benchmark in the same run as the \
                 timings (chain of dependent adds; upper quartile of {} runs, {lo:.3}–{hi:.3} GHz; \
                 {} GHz before its timed runs, {} GHz after). At report time: {now_text}.",
                all.len(),
                side(&r.before_ghz),
                side(&r.after_ghz),
            ));
            let disturbed = all.iter().filter(|&&g| g < 0.9 * ghz).count();
            if disturbed * 10 > all.len() {
                lines.push(format!(
                    "Busy machine: {disturbed} of {} clock runs read below 90 % of the clock \
                     (preempted), so the timings likely include time lost to other work and the \
                     cycles are upper bounds.",
                    all.len()
                ));
            }
            if now_cpu.as_ref().is_some_and(|c| *c != r.cpu) {
                lines.push(format!(
                    "Note: this report runs on another CPU ({}) than the benchmark did.",
                    now_cpu
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ));
            }
            Machine::new(Some(ghz), Some(r.cpu.clone()))
        }
        None => {
            lines.push(format!(
                "CPU: {}",
                now_cpu
                    .as_ref()
                    .map_or("unknown".to_owned(), ToString::to_string)
            ));
            lines.push(format!(
                "Clock: **{now_text}**, measured at report time (chain of dependent adds; upper \
                 quartile of {} runs): the benchmark left no {RECORD_FILE}, so the cycles assume the \
                 clock has not changed since it ran.",
                now_ghz_runs.len()
            ));
            Machine::new(now, now_cpu)
        }
    };
    lines.push(match machine.not_zen3_reason() {
        None => "Zen 3 floors: judged (a Zen 3 core).".to_owned(),
        Some(reason) => {
            format!("Zen 3 floors: not judged here, {reason}; the ratios are printed for this CPU.")
        }
    });
    (machine, lines)
}

/// Cycles per element of `column` in `function`'s row at `size`, formatted, `–` if missing.
fn cell(ms: &[Measurement], machine: &Machine, function: &str, size: Size, column: &str) -> String {
    cycles(ms, machine, function, size, column).map_or("–".to_owned(), |c| format!("{c:.2}"))
}

fn cycles(
    ms: &[Measurement],
    machine: &Machine,
    function: &str,
    size: Size,
    column: &str,
) -> Option<f64> {
    machine.cycles(ns(ms, &group(function, size), column)?)
}

fn header(s: &mut String, columns: &[&str]) {
    let _ = writeln!(s, "| {} |", columns.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(columns.len() - 1));
}

/// Ours out of place at every size: cycles per element and their ratio to the floor (the
/// target applies at 4 KiB).
fn floors_table(s: &mut String, ms: &[Measurement], machine: &Machine) {
    let _ = writeln!(
        s,
        "### Ours, out of place: cycles per element (× the counted Zen 3 floor)\n"
    );
    header(
        s,
        &[
            "function",
            "Zen 3 floor",
            "target at 4 KiB",
            "64 floats",
            "4 KiB",
            "64 KiB",
            "64 MiB",
        ],
    );
    for f in FLOORS {
        let target = FLOOR_TARGETS
            .iter()
            .find(|(name, _)| *name == f.function)
            .map_or("–".to_owned(), |(_, t)| format!("≤ {t}×"));
        let cells: Vec<String> = SIZES
            .iter()
            .map(
                |&size| match cycles(ms, machine, f.function, size, id::ZENSLAB) {
                    Some(c) => format!("{c:.2} ({:.2}×)", c / f.cycles_per_element),
                    None => "–".to_owned(),
                },
            )
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {target} | {} |",
            f.function,
            f.cycles_per_element,
            cells.join(" | ")
        );
    }
}

/// The variants and peers at 4 KiB.
fn variants_table(s: &mut String, ms: &[Measurement], machine: &Machine) {
    let _ = writeln!(
        s,
        "\n### Cycles per element at 4 KiB: call variants and peers\n\n\
         In place and tract: each call on a fresh copy of the input (the copy is not timed). \
         Unaligned output: one float off 64-byte alignment. Out of range: 1 % of the lanes at \
         |x| > 90 (softmax: −1e4 logits).\n"
    );
    header(
        s,
        &[
            "function",
            "out of place",
            "in place",
            "unaligned output",
            "1 % out of range",
            "scalar",
            "sleef",
            "tract (in place)",
        ],
    );
    for f in FLOORS {
        let cols = [
            id::ZENSLAB,
            id::INPLACE,
            id::UNALIGNED_OUT,
            id::OUTLIERS,
            id::SCALAR,
            id::SLEEF,
            id::TRACT,
        ];
        let cells: Vec<String> = cols
            .iter()
            .map(|c| cell(ms, machine, f.function, L1, c))
            .collect();
        let _ = writeln!(s, "| {} | {} |", f.function, cells.join(" | "));
    }
}

/// Ours in place against tract in place at every size.
fn tract_table(s: &mut String, ms: &[Measurement], machine: &Machine) {
    let _ = writeln!(
        s,
        "\n### Against tract-linalg, both in place: ours / tract cycles per element \
         (tract time ÷ ours; above 1 means ours is faster)\n"
    );
    let mut columns = vec!["function"];
    columns.extend(["64 floats", "4 KiB", "64 KiB", "64 MiB"]);
    header(s, &columns);
    for f in TRACT_FUNCTIONS {
        let cells: Vec<String> = SIZES
            .iter()
            .map(|&size| {
                let ours = cycles(ms, machine, f, size, id::INPLACE);
                let theirs = cycles(ms, machine, f, size, id::TRACT);
                match (ours, theirs) {
                    (Some(a), Some(b)) => format!("{a:.2} / {b:.2} ({:.2}×)", b / a),
                    _ => "–".to_owned(),
                }
            })
            .collect();
        let _ = writeln!(s, "| {f} | {} |", cells.join(" | "));
    }
}

/// The copy baselines beside relu and leaky_relu at every size.
fn copy_table(s: &mut String, ms: &[Measurement], machine: &Machine) {
    let _ = writeln!(
        s,
        "\n### Copy baselines and the store-bound kernels (cycles per element)\n\n\
         Copy loop: AVX2 `vmovups` load and store, 4 vectors per iteration; in place it stores \
         back where it loaded. memcpy (`copy_from_slice`) is information only.\n"
    );
    header(
        s,
        &[
            "size",
            "copy loop",
            "copy loop, in place",
            "memcpy",
            "relu",
            "relu, in place",
            "leaky_relu",
            "leaky_relu, in place",
        ],
    );
    for size in SIZES {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            size.label,
            cell(ms, machine, COPY, size, id::COPY_LOOP),
            cell(ms, machine, COPY, size, id::COPY_LOOP_INPLACE),
            cell(ms, machine, COPY, size, id::MEMCPY),
            cell(ms, machine, "relu", size, id::ZENSLAB),
            cell(ms, machine, "relu", size, id::INPLACE),
            cell(ms, machine, "leaky_relu", size, id::ZENSLAB),
            cell(ms, machine, "leaky_relu", size, id::INPLACE),
        );
    }
}

/// The whole SIMD cycles section: the header lines, then the four tables.
pub fn render(ms: &[Measurement], machine: &Machine, header_lines: &[String]) -> String {
    let mut s = String::from("## simd-kernels in core cycles per element\n\n");
    for line in header_lines {
        let _ = writeln!(s, "{line}  ");
    }
    s.push('\n');
    floors_table(&mut s, ms, machine);
    variants_table(&mut s, ms, machine);
    tract_table(&mut s, ms, machine);
    copy_table(&mut s, ms, machine);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(vendor: &str, family: u32, model: u32) -> CpuId {
        CpuId {
            vendor: vendor.into(),
            brand: "test CPU".into(),
            family,
            model,
            stepping: 0,
        }
    }

    #[test]
    fn the_benchmarks_record_wins_over_the_report_clock() {
        let record = ClockRecord {
            cpu: cpu("AuthenticAMD", 25, 1),
            before_ghz: vec![2.9, 3.0, 3.0],
            after_ghz: vec![2.95],
        };
        let (m, lines) = choose_machine(Some(record), Some(cpu("GenuineIntel", 6, 167)), &[2.0]);
        assert_eq!(m.cycles(1.0), Some(3.0));
        assert_eq!(m.not_zen3_reason(), None);
        let text = lines.join("\n");
        assert!(text.contains("measured by the simd benchmark"), "{text}");
        assert!(text.contains("At report time: 2.000 GHz"), "{text}");
        assert!(text.contains("another CPU"), "{text}");
        assert!(!text.contains("Busy machine"), "{text}");
    }

    #[test]
    fn many_slow_clock_runs_flag_a_busy_machine() {
        let record = ClockRecord {
            cpu: cpu("AuthenticAMD", 25, 1),
            before_ghz: vec![0.5, 3.0, 3.0, 3.0],
            after_ghz: vec![0.6, 3.0, 3.0, 3.0],
        };
        let (_, lines) = choose_machine(Some(record), None, &[]);
        let text = lines.join("\n");
        assert!(text.contains("Busy machine: 2 of 8 clock runs"), "{text}");
    }

    #[test]
    fn without_a_record_the_report_clock_is_used_and_said() {
        let (m, lines) = choose_machine(None, Some(cpu("GenuineIntel", 6, 167)), &[2.0, 2.2, 2.1]);
        assert_eq!(m.cycles(1.0), Some(2.2));
        let reason = m.not_zen3_reason().unwrap();
        assert!(reason.starts_with("not a Zen 3 (test CPU"), "{reason}");
        let text = lines.join("\n");
        assert!(text.contains("measured at report time"), "{text}");
        assert!(text.contains("not judged here"), "{text}");
        let (m, _) = choose_machine(None, None, &[]);
        assert_eq!(m.cycles(1.0), None);
    }

    #[test]
    fn tables_convert_to_cycles_and_mark_missing_cells() {
        let m = |function: &str, size: Size, column: &str, ns_per_element: f64| Measurement {
            group: group(function, size),
            function: column.to_owned(),
            parameter: None,
            median_ns: ns_per_element * size.elements() as f64,
            elements: Some(size.elements() as u64),
        };
        let ms = [
            m("exp", L1, id::ZENSLAB, 0.5),
            m("exp", L1, id::INPLACE, 0.5),
            m("exp", L1, id::TRACT, 1.0),
        ];
        let machine = Machine::new(Some(2.0), Some(cpu("AuthenticAMD", 25, 0x21)));
        let text = render(&ms, &machine, &[]);
        assert!(
            text.contains("| exp | 0.625 | ≤ 1.25× | – | 1.00 (1.60×) | – | – |"),
            "{text}"
        );
        assert!(
            text.contains("| exp | – | 1.00 / 2.00 (2.00×) | – | – |"),
            "{text}"
        );
    }
}
