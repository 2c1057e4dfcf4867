//! The committed baseline (`benches/perf-baseline.json`), the comparison with a run, and the
//! history (`benches/perf-history.jsonl`, one line per baseline update) the charts read.
//!
//! Only instruction counts are guarded: they are exact and repeatable. L1 and LL misses are
//! recorded and shown, but a warm hot path has almost none, so a percentage of them would
//! flag noise from the address layout, not a regression.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde_json::{Value, json};

use super::callgrind::{Counts, Measured, Run};

/// Allowed growth of a case's instructions per iteration when no override names it.
pub const DEFAULT_THRESHOLD_PERCENT: f64 = 2.0;

/// A per-case threshold and why it differs from the default.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Allowed growth in percent.
    pub threshold_percent: f64,
    /// Why this case gets it (required).
    pub reason: String,
}

/// The committed counts and thresholds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    /// The SIMD backend the counts were taken on.
    pub backend: String,
    /// Allowed growth in percent for cases without an override.
    pub default_threshold_percent: f64,
    /// Per-case thresholds.
    pub overrides: BTreeMap<String, Override>,
    /// Per-case counts.
    pub cases: BTreeMap<String, Measured>,
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> io::Result<Self> {
        let v: Value = serde_json::from_slice(&std::fs::read(path)?)
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        let mut b = Baseline {
            backend: v["backend"].as_str().unwrap_or_default().to_owned(),
            default_threshold_percent: v["default_threshold_percent"]
                .as_f64()
                .unwrap_or(DEFAULT_THRESHOLD_PERCENT),
            ..Default::default()
        };
        for (name, o) in v["overrides"].as_object().into_iter().flatten() {
            let threshold_percent = o["threshold_percent"].as_f64();
            let reason = o["reason"].as_str().filter(|r| !r.trim().is_empty());
            let (Some(threshold_percent), Some(reason)) = (threshold_percent, reason) else {
                return Err(bad(format!(
                    "override {name}: needs threshold_percent and a reason"
                )));
            };
            b.overrides.insert(
                name.clone(),
                Override {
                    threshold_percent,
                    reason: reason.to_owned(),
                },
            );
        }
        for (name, c) in v["cases"].as_object().into_iter().flatten() {
            let field = |f: &str| {
                c[f].as_u64()
                    .ok_or_else(|| bad(format!("case {name}: no {f}")))
            };
            b.cases.insert(
                name.clone(),
                Measured {
                    name: name.clone(),
                    iterations: field("iterations")?,
                    counts: Counts {
                        instructions: field("instructions")?,
                        d1_misses: field("d1_misses")?,
                        ll_misses: field("ll_misses")?,
                    },
                },
            );
        }
        Ok(b)
    }

    /// Writes the baseline as pretty JSON.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let overrides: serde_json::Map<String, Value> = self
            .overrides
            .iter()
            .map(|(n, o)| {
                let v = json!({"threshold_percent": o.threshold_percent, "reason": o.reason});
                (n.clone(), v)
            })
            .collect();
        let cases: serde_json::Map<String, Value> = self
            .cases
            .values()
            .map(|m| {
                let v = json!({
                    "iterations": m.iterations,
                    "instructions": m.counts.instructions,
                    "d1_misses": m.counts.d1_misses,
                    "ll_misses": m.counts.ll_misses,
                });
                (m.name.clone(), v)
            })
            .collect();
        let v = json!({
            "about": "Callgrind counts of scripts/perf-guard.sh, summed over `iterations`. \
                      Regenerate with `scripts/perf-guard.sh --update` and say why in the commit.",
            "backend": self.backend,
            "default_threshold_percent": self.default_threshold_percent,
            "overrides": overrides,
            "cases": cases,
        });
        let mut text = serde_json::to_string_pretty(&v).map_err(|e| bad(e.to_string()))?;
        text.push('\n');
        std::fs::write(path, text)
    }

    /// The baseline a run would write: its counts, this baseline's thresholds.
    pub fn updated(&self, run: &Run) -> Self {
        Self {
            backend: run.backend.clone(),
            default_threshold_percent: self.default_threshold_percent,
            overrides: self.overrides.clone(),
            cases: run
                .cases
                .iter()
                .map(|m| (m.name.clone(), m.clone()))
                .collect(),
        }
    }

    /// Allowed growth of `case` in percent.
    pub fn threshold(&self, case: &str) -> f64 {
        self.overrides
            .get(case)
            .map_or(self.default_threshold_percent, |o| o.threshold_percent)
    }
}

/// Instructions per iteration.
pub fn per_iteration(m: &Measured) -> f64 {
    m.counts.instructions as f64 / m.iterations.max(1) as f64
}

/// One row of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Case name.
    pub name: String,
    /// Baseline instructions per iteration, if the baseline has the case.
    pub baseline: Option<f64>,
    /// Measured instructions per iteration.
    pub now: f64,
    /// Measured L1 data / last-level misses per iteration (shown, not guarded).
    pub misses: (f64, f64),
    /// Allowed growth in percent.
    pub threshold: f64,
}

impl Row {
    /// Change against the baseline in percent.
    pub fn change_percent(&self) -> Option<f64> {
        self.baseline.map(|b| (self.now / b - 1.0) * 100.0)
    }

    /// Whether the case grew beyond its threshold (growth exactly at it passes, up to
    /// rounding of the division). A case missing from the baseline fails too: a new case must
    /// be added with `--update`.
    pub fn failed(&self) -> bool {
        self.change_percent()
            .is_none_or(|c| c > self.threshold + 1e-9)
    }
}

/// Compares a run with the baseline, case by case, in the run's order.
pub fn compare(baseline: &Baseline, run: &Run) -> Vec<Row> {
    run.cases
        .iter()
        .map(|m| {
            let n = m.iterations.max(1) as f64;
            Row {
                name: m.name.clone(),
                baseline: baseline.cases.get(&m.name).map(per_iteration),
                now: per_iteration(m),
                misses: (m.counts.d1_misses as f64 / n, m.counts.ll_misses as f64 / n),
                threshold: baseline.threshold(&m.name),
            }
        })
        .collect()
}

/// The comparison as a text table.
pub fn render(rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<30} {:>12} {:>12} {:>8} {:>6}  {:>9} {:>9}  verdict",
        "case (instructions/iter)", "baseline", "now", "change", "limit", "D1 miss", "LL miss"
    );
    for r in rows {
        let base = r.baseline.map_or("–".to_owned(), |b| format!("{b:.1}"));
        let change = r
            .change_percent()
            .map_or("new".to_owned(), |c| format!("{c:+.2}%"));
        let verdict = match (r.baseline, r.failed()) {
            (None, _) => "NOT IN BASELINE",
            (_, true) => "REGRESSION",
            (_, false) => "ok",
        };
        let _ = writeln!(
            s,
            "{:<30} {:>12} {:>12.1} {:>8} {:>5}%  {:>9.2} {:>9.2}  {verdict}",
            r.name, base, r.now, change, r.threshold, r.misses.0, r.misses.1
        );
    }
    s
}

/// Appends one history line: the commit and date of the update and every case's
/// instructions per iteration.
pub fn append_history(path: &Path, commit: &str, date: &str, run: &Run) -> io::Result<()> {
    let counts: serde_json::Map<String, Value> = run
        .cases
        .iter()
        .map(|m| (m.name.clone(), json!(per_iteration(m))))
        .collect();
    let line = json!({"commit": commit, "date": date, "instructions": counts});
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    let _ = writeln!(text, "{line}");
    std::fs::write(path, text)
}

/// One history entry.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// Short commit hash the update was made on.
    pub commit: String,
    /// UTC date of the update.
    pub date: String,
    /// Instructions per iteration per case.
    pub instructions: BTreeMap<String, f64>,
}

/// Reads the history file; a missing file is an empty history.
pub fn load_history(path: &Path) -> io::Result<Vec<HistoryEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).map_err(|e| bad(format!("history: {e}")))?;
            Ok(HistoryEntry {
                commit: v["commit"].as_str().unwrap_or_default().to_owned(),
                date: v["date"].as_str().unwrap_or_default().to_owned(),
                instructions: v["instructions"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(name: &str, instructions: u64) -> Measured {
        Measured {
            name: name.to_owned(),
            iterations: 10,
            counts: Counts {
                instructions,
                ..Counts::default()
            },
        }
    }

    fn run(cases: Vec<Measured>) -> Run {
        Run {
            backend: "avx2".to_owned(),
            cases,
        }
    }

    #[test]
    fn growth_beyond_the_threshold_fails_and_overrides_apply() {
        let mut base = Baseline {
            default_threshold_percent: 2.0,
            ..Default::default()
        }
        .updated(&run(vec![measured("a", 1000), measured("b", 1000)]));
        base.overrides.insert(
            "b".to_owned(),
            Override {
                threshold_percent: 5.0,
                reason: "test".to_owned(),
            },
        );
        let rows = compare(&base, &run(vec![measured("a", 1021), measured("b", 1040)]));
        assert!(rows[0].failed(), "{rows:?}");
        assert!(!rows[1].failed(), "{rows:?}");
        let rows = compare(&base, &run(vec![measured("a", 1020), measured("c", 1)]));
        assert!(!rows[0].failed());
        assert!(
            rows[1].failed(),
            "a case missing from the baseline must fail"
        );
        assert!(render(&rows).contains("NOT IN BASELINE"));
    }

    #[test]
    fn baseline_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("perf-guard-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.json");
        let mut base = Baseline {
            default_threshold_percent: 2.0,
            ..Default::default()
        }
        .updated(&run(vec![measured("x/y", 123)]));
        base.overrides.insert(
            "x/y".to_owned(),
            Override {
                threshold_percent: 3.0,
                reason: "why".to_owned(),
            },
        );
        base.save(&path).unwrap();
        assert_eq!(Baseline::load(&path).unwrap(), base);
        let history = dir.join("h.jsonl");
        append_history(
            &history,
            "abc",
            "2026-12-02",
            &run(vec![measured("x/y", 50)]),
        )
        .unwrap();
        append_history(
            &history,
            "def",
            "2026-12-03",
            &run(vec![measured("x/y", 60)]),
        )
        .unwrap();
        let h = load_history(&history).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].instructions["x/y"], 6.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
