//! SVG charts of the benchmark report: allocator ns/op against every peer, SIMD
//! cycles/element against the Zen 3 floors and the peers, and the guard's instruction counts
//! over the baseline updates. Hand-written SVG (bars, lines, text): the browser lays out the
//! text, so no font library is needed.

mod bars;
pub mod files;
mod history;
mod svg;

use std::collections::BTreeSet;

use crate::report::Measurement;
use bars::{BarChart, BarRow};
pub use history::guard_history;

/// Who measured what, where: printed under every chart's title.
#[derive(Clone, Debug)]
pub struct Caption {
    /// CPU model name.
    pub cpu: String,
    /// Clock measured in the same run, if any.
    pub clock_ghz: Option<f64>,
    /// UTC date of the run.
    pub date: String,
}

impl Caption {
    fn line(&self) -> String {
        let clock = self.clock_ghz.map_or("clock not measured".to_owned(), |g| {
            format!("measured clock {g:.2} GHz")
        });
        format!("{} · {clock} · {}", self.cpu, self.date)
    }
}

/// Allocator ns per operation, one row per workload, one bar per allocator.
pub fn allocators(ms: &[Measurement], caption: &Caption) -> String {
    let alloc: Vec<&Measurement> = ms.iter().filter(|m| m.family() == "alloc").collect();
    let series: Vec<String> = ordered_functions(&alloc, &["zenslab"]);
    let rows: BTreeSet<String> = alloc.iter().map(|m| m.row()).collect();
    let rows = rows
        .into_iter()
        .map(|row| BarRow {
            values: series
                .iter()
                .map(|f| {
                    alloc
                        .iter()
                        .find(|m| m.row() == row && &m.function == f)
                        .map(|m| m.ns_per_element())
                })
                .collect(),
            label: row.trim_start_matches("alloc/").to_owned(),
            marker: None,
        })
        .collect();
    BarChart {
        title: "Allocators: median ns per operation (lower is better)".to_owned(),
        caption: caption.line(),
        axis: "ns per operation".to_owned(),
        series,
        marker_name: None,
        rows,
    }
    .render()
}

/// SIMD cycles per element at 4 KiB (L1-resident) per function and implementation, with the
/// Zen 3 floor where one is known. Without a measured clock the chart shows ns per element.
pub fn simd(ms: &[Measurement], caption: &Caption) -> String {
    let l1: Vec<&Measurement> = ms
        .iter()
        .filter(|m| m.family() == "simd" && m.group.ends_with("/4KiB"))
        .collect();
    let series = ordered_functions(&l1, &["zenslab"]);
    let scale = caption.clock_ghz.unwrap_or(1.0);
    let functions: BTreeSet<String> = l1
        .iter()
        .map(|m| m.group.split('/').nth(1).unwrap_or_default().to_owned())
        .collect();
    let rows = functions
        .into_iter()
        .map(|f| BarRow {
            values: series
                .iter()
                .map(|s| {
                    l1.iter()
                        .find(|m| m.group == format!("simd/{f}/4KiB") && &m.function == s)
                        .map(|m| m.ns_per_element() * scale)
                })
                .collect(),
            marker: crate::floors::floor(&f)
                .map(|floor| floor.cycles_per_element)
                .filter(|_| caption.clock_ghz.is_some()),
            label: f,
        })
        .collect();
    let unit = if caption.clock_ghz.is_some() {
        "cycles per element"
    } else {
        "ns per element"
    };
    BarChart {
        title: format!("SIMD functions at 4 KiB (L1): {unit} (lower is better)"),
        caption: caption.line(),
        axis: unit.to_owned(),
        series,
        marker_name: caption.clock_ghz.map(|_| "Zen 3 floor".to_owned()),
        rows,
    }
    .render()
}

/// The implementations in `ms`, `first` ones first, then the rest alphabetically.
fn ordered_functions(ms: &[&Measurement], first: &[&str]) -> Vec<String> {
    let all: BTreeSet<&str> = ms.iter().map(|m| m.function.as_str()).collect();
    first
        .iter()
        .copied()
        .filter(|f| all.contains(f))
        .chain(all.iter().copied().filter(|f| !first.contains(f)))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::baseline::HistoryEntry;

    fn m(group: &str, function: &str, median_ns: f64, elements: Option<u64>) -> Measurement {
        Measurement {
            group: group.to_owned(),
            function: function.to_owned(),
            parameter: None,
            median_ns,
            elements,
        }
    }

    fn caption(clock_ghz: Option<f64>) -> Caption {
        Caption {
            cpu: "Test CPU <1>".to_owned(),
            clock_ghz,
            date: "2026-12-02".to_owned(),
        }
    }

    #[test]
    fn allocator_chart_has_a_bar_per_measurement_and_an_escaped_caption() {
        let ms = [
            m("alloc/pair/64", "zenslab", 3.0, None),
            m("alloc/pair/64", "glibc", 12.0, None),
            m("alloc/pair/128", "zenslab", 3.5, None),
        ];
        let svg = allocators(&ms, &caption(None));
        assert_eq!(
            svg.matches("<rect x=").count(),
            3 + 2,
            "3 bars + 2 legend boxes"
        );
        assert!(svg.contains("Test CPU &lt;1&gt;"));
        assert!(svg.contains("<title>glibc: 12.00</title>"));
    }

    #[test]
    fn simd_chart_converts_to_cycles_only_with_a_measured_clock() {
        let ms = [m("simd/relu/4KiB", "zenslab", 1024.0 * 0.1, Some(1024))];
        let with = simd(&ms, &caption(Some(3.0)));
        assert!(with.contains("cycles per element"));
        assert!(with.contains("<title>zenslab: 0.300</title>"), "{with}");
        assert!(with.contains("Zen 3 floor"));
        let without = simd(&ms, &caption(None));
        assert!(without.contains("ns per element") && !without.contains("Zen 3 floor"));
    }

    #[test]
    fn history_lines_are_relative_to_the_first_entry() {
        let entry = |commit: &str, v: f64| HistoryEntry {
            commit: commit.to_owned(),
            date: "d".to_owned(),
            instructions: [("pool/pair/64/cached".to_owned(), v)].into(),
        };
        let svg = guard_history(&[entry("a", 50.0), entry("b", 55.0)], "cap");
        assert!(svg.contains("<title>pool/pair/64/cached</title>"));
        assert!(
            svg.contains("<title>pool/pair/64/cached: 110.00%</title>"),
            "{svg}"
        );
    }
}
