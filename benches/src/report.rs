//! Reading criterion's results (`<dir>/**/new/{benchmark,estimates}.json`) into plain
//! measurements and rendering them as text tables. Used by the `report` binary.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde_json::Value;

/// One benchmark's median, as criterion stored it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Criterion group, e.g. `alloc/pair/4096`.
    pub group: String,
    /// The implementation measured (criterion's function id), e.g. `zenslab`.
    pub function: String,
    /// Criterion's parameter string, if the benchmark had one.
    pub parameter: Option<String>,
    /// Median time per iteration in nanoseconds.
    pub median_ns: f64,
    /// Elements processed per iteration, when the benchmark declared a throughput in elements.
    pub elements: Option<u64>,
}

impl Measurement {
    /// The first path component of the group (`alloc`, `simd`), used to split the report.
    pub fn family(&self) -> &str {
        self.group.split('/').next().unwrap_or(&self.group)
    }

    /// The row this measurement belongs to: its group, plus the parameter if any.
    pub fn row(&self) -> String {
        match &self.parameter {
            Some(p) => format!("{}/{p}", self.group),
            None => self.group.clone(),
        }
    }

    /// Median nanoseconds per element (per operation), or per iteration without a throughput.
    pub fn ns_per_element(&self) -> f64 {
        self.median_ns / self.elements.unwrap_or(1).max(1) as f64
    }

    /// Elements per second, when a throughput in elements was declared.
    pub fn elements_per_second(&self) -> Option<f64> {
        self.elements.map(|e| e as f64 / (self.median_ns * 1e-9))
    }
}

/// Walks `dir` and returns every benchmark whose `new/` results criterion wrote.
pub fn load_measurements(dir: &Path) -> io::Result<Vec<Measurement>> {
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    out.sort_by(|a, b| (a.row(), &a.function).cmp(&(b.row(), &b.function)));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Measurement>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(m) = read_one(&path) {
                out.push(m);
            }
        } else if path.file_name().is_some_and(|n| n != "report") {
            walk(&path, out)?;
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn read_one(new_dir: &Path) -> Option<Measurement> {
    let bench = read_json(&new_dir.join("benchmark.json"))?;
    let estimates = read_json(&new_dir.join("estimates.json"))?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Some(Measurement {
        group: text(&bench["group_id"])?,
        function: text(&bench["function_id"]).unwrap_or_else(|| "-".to_owned()),
        parameter: text(&bench["value_str"]),
        median_ns: estimates["median"]["point_estimate"].as_f64()?,
        elements: bench["throughput"]["Elements"].as_u64(),
    })
}

/// A rendered table: one row per benchmark row, one column per implementation.
pub struct Tables<'a> {
    family: &'a str,
    measurements: &'a [Measurement],
}

impl<'a> Tables<'a> {
    /// A table over the measurements of one family.
    pub fn new(family: &'a str, measurements: &'a [Measurement]) -> Self {
        Self {
            family,
            measurements,
        }
    }

    /// Markdown text. The `simd` family is shown in G elements/s; every other family in
    /// median ns per operation (per element where a throughput was declared).
    pub fn render(&self) -> String {
        let columns: BTreeSet<&str> = self
            .measurements
            .iter()
            .map(|m| m.function.as_str())
            .collect();
        let rows: BTreeSet<String> = self.measurements.iter().map(Measurement::row).collect();
        let throughput = self.family == "simd";
        let unit = if throughput {
            "G elem/s (higher is better)"
        } else {
            "median ns per operation (lower is better)"
        };
        let mut s = String::new();
        let _ = writeln!(s, "## {} — {unit}\n", self.family);
        let _ = write!(s, "| benchmark |");
        for c in &columns {
            let _ = write!(s, " {c} |");
        }
        let _ = write!(s, "\n|---|");
        for _ in &columns {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        for row in &rows {
            let _ = write!(s, "| {row} |");
            for c in &columns {
                let cell = self
                    .measurements
                    .iter()
                    .find(|m| &m.row() == row && m.function == *c)
                    .map(|m| match (throughput, m.elements_per_second()) {
                        (true, Some(eps)) => format!("{:.2}", eps / 1e9),
                        _ => format!("{:.2}", m.ns_per_element()),
                    })
                    .unwrap_or_else(|| "–".to_owned());
                let _ = write!(s, " {cell} |");
            }
            s.push('\n');
        }
        s
    }
}
