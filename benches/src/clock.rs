//! The core clock, measured rather than assumed: a chain of dependent integer adds retires one
//! add per cycle on every x86_64 core, so adds per nanosecond of a monotonic clock is the core
//! clock in GHz (turbo, power limits and a VM's host included). The SIMD benchmark records the
//! clock it saw before and after its runs in [`RECORD_FILE`]; the report reads that record so
//! cycles come from the same run, and measures again itself.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::cpu::CpuId;

/// The file, in criterion's output directory, where the SIMD benchmark records its clock.
pub const RECORD_FILE: &str = "simd_clock.json";

/// Dependent adds in one timed run: 2.5 million, under 1 ms at 3 GHz, short enough that most
/// runs fit between two preemptions on a busy machine, long enough that timer resolution and
/// `Instant` overhead are far below 0.1 % of it.
const ADDS_PER_RUN: u64 = 2_500_000;
/// Adds per loop iteration in the assembly below (`.rept`), so the loop's counter and branch
/// (which run beside the chain, not on it) are a small share of the instructions.
const ADDS_PER_ITERATION: u64 = 100;

/// Runs the dependent-add chain once and returns the clock it implies, in GHz.
#[cfg(target_arch = "x86_64")]
fn one_run() -> f64 {
    let iterations = ADDS_PER_RUN / ADDS_PER_ITERATION;
    let mut acc: u64 = 0;
    let one: u64 = std::hint::black_box(1);
    let start = Instant::now();
    // SAFETY: the assembly only touches the three registers it names: it adds `one` to `acc`
    // `ADDS_PER_ITERATION` times per iteration (a register operand, not an immediate, so no renamer can fold
    // the adds away) and counts `n` down to zero; no memory, no stack, flags clobbered
    // (the default for `asm!`).
    unsafe {
        std::arch::asm!(
            "2:",
            ".rept {per_iteration}",
            "add {acc}, {one}",
            ".endr",
            "dec {n}",
            "jnz 2b",
            acc = inout(reg) acc,
            one = in(reg) one,
            n = inout(reg) iterations => _,
            per_iteration = const ADDS_PER_ITERATION,
            options(nomem, nostack),
        );
    }
    let ns = start.elapsed().as_nanos() as f64;
    assert_eq!(
        acc, ADDS_PER_RUN,
        "the add chain ran a wrong number of times"
    );
    ADDS_PER_RUN as f64 / ns
}

/// Measures the clock `runs` times (each run under 1 ms), in GHz, in the order measured.
/// Empty off x86_64.
pub fn measure(runs: usize) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        // A few untimed runs first, so a core waking from idle has ramped up its clock.
        for _ in 0..8 {
            let _ = one_run();
        }
        (0..runs).map(|_| one_run()).collect()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = runs;
        Vec::new()
    }
}

/// The robust clock figure of `runs`: their upper quartile. Preemption, interrupts and a VM's
/// stolen time only lengthen a run, so disturbed runs read low, never high: the upper
/// quartile is an undisturbed run while fewer than three quarters are disturbed, and a lone
/// high reading does not move it.
/// `None` when there are no finite runs.
pub fn robust_ghz(runs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = runs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    // Nearest rank of the 75th percentile.
    let rank = (v.len() * 3).div_ceil(4).max(1);
    Some(v[rank - 1])
}

/// What the SIMD benchmark writes to [`RECORD_FILE`]: its CPU and the clock runs it measured
/// right before and right after its timed runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ClockRecord {
    /// The CPU the benchmark ran on.
    pub cpu: CpuId,
    /// Clock runs (GHz) before the benchmark's timed runs.
    pub before_ghz: Vec<f64>,
    /// Clock runs (GHz) after them.
    pub after_ghz: Vec<f64>,
}

impl ClockRecord {
    /// The [`robust_ghz`] figure of every run, before and after together.
    pub fn ghz(&self) -> Option<f64> {
        let all: Vec<f64> = self
            .before_ghz
            .iter()
            .chain(&self.after_ghz)
            .copied()
            .collect();
        robust_ghz(&all)
    }

    /// The record as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "cpu": {
                "vendor": self.cpu.vendor,
                "brand": self.cpu.brand,
                "family": self.cpu.family,
                "model": self.cpu.model,
                "stepping": self.cpu.stepping,
            },
            "method": "dependent 64-bit register adds, 1 per cycle, timed with std::time::Instant",
            "before_ghz": self.before_ghz,
            "after_ghz": self.after_ghz,
        })
    }

    /// Parses [`Self::to_json`]'s format; `None` if a field is missing or mistyped.
    pub fn from_json(v: &Value) -> Option<Self> {
        let cpu = &v["cpu"];
        let num = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let runs =
            |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(Value::as_f64).collect() };
        Some(Self {
            cpu: CpuId {
                vendor: cpu["vendor"].as_str()?.to_owned(),
                brand: cpu["brand"].as_str()?.to_owned(),
                family: num(&cpu["family"])?,
                model: num(&cpu["model"])?,
                stepping: num(&cpu["stepping"])?,
            },
            before_ghz: runs(&v["before_ghz"])?,
            after_ghz: runs(&v["after_ghz"])?,
        })
    }

    /// Writes the record to `dir/`[`RECORD_FILE`], creating `dir` if needed.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(RECORD_FILE), text)
    }

    /// Reads `dir/`[`RECORD_FILE`]; `None` if it is absent or unreadable.
    pub fn load(dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(dir.join(RECORD_FILE)).ok()?;
        Self::from_json(&serde_json::from_slice(&bytes).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ClockRecord {
        ClockRecord {
            cpu: CpuId {
                vendor: "AuthenticAMD".into(),
                brand: "AMD EPYC 7B13".into(),
                family: 25,
                model: 1,
                stepping: 0,
            },
            before_ghz: vec![2.9, 3.0, 1.2],
            after_ghz: vec![2.95, 2.97],
        }
    }

    #[test]
    fn the_robust_figure_ignores_preempted_runs() {
        assert_eq!(robust_ghz(&[]), None);
        assert_eq!(robust_ghz(&[f64::NAN]), None);
        assert_eq!(robust_ghz(&[2.5]), Some(2.5));
        // Half the runs preempted: an undisturbed one is the figure.
        assert_eq!(robust_ghz(&[1.1, 3.0, 0.9, 2.9]), Some(2.9));
        assert_eq!(
            robust_ghz(&[1.1, 3.0, 2.9, 2.95, 3.0, 0.8, 2.9, 2.97]),
            Some(2.97)
        );
        // One spuriously high run among many does not move it.
        assert_eq!(
            robust_ghz(&[3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 9.0]),
            Some(3.0)
        );
        assert_eq!(record().ghz(), Some(2.97));
    }

    #[test]
    fn record_round_trips_through_json() {
        let r = record();
        let text = serde_json::to_string(&r.to_json()).unwrap();
        let back = ClockRecord::from_json(&serde_json::from_str(&text).unwrap());
        assert_eq!(back, Some(r));
    }

    #[test]
    fn malformed_records_are_rejected() {
        let mut v = record().to_json();
        v["before_ghz"] = json!([2.9, "fast"]);
        assert_eq!(ClockRecord::from_json(&v), None);
        let mut v = record().to_json();
        v["cpu"]["family"] = json!(-1);
        assert_eq!(ClockRecord::from_json(&v), None);
        assert_eq!(ClockRecord::from_json(&json!({})), None);
    }

    #[test]
    fn the_add_chain_gives_a_plausible_clock() {
        // Not a speed test: a clock outside 0.2–10 GHz means the chain or the timing is broken.
        let runs = measure(3);
        if cfg!(target_arch = "x86_64") {
            let ghz = robust_ghz(&runs).unwrap();
            assert!((0.2..10.0).contains(&ghz), "{ghz} GHz");
        }
    }
}
