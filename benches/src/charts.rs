//! SVG charts of the benchmark report: allocator ns/op against every peer, SIMD
//! cycles/element against the Zen 3 floors and the peers, and the guard's instruction counts
//! over the baseline updates. Hand-written SVG (bars, lines, text): the browser lays out the
//! text, so no font library is needed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::guard::baseline::HistoryEntry;
use crate::report::Measurement;

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

/// Zen 3 floors in cycles per element at L1 (/work/shared/simd-zen3-notes.md: counted from
/// the port limits of each function's minimal instruction mix).
pub const ZEN3_FLOORS: [(&str, f64); 6] = [
    ("relu", 0.125),
    ("sigmoid", 0.69),
    ("tanh", 0.81),
    ("gelu", 1.06),
    ("exp", 0.625),
    ("softmax", 0.81),
];

/// Series colours, cycled.
const COLOURS: [&str; 8] = [
    "#1b6ac9", "#e0712c", "#2a9d4a", "#c9302c", "#7b4fc9", "#8c6d31", "#d14fa1", "#5f6b7a",
];

/// One row of a grouped horizontal bar chart.
struct BarRow {
    label: String,
    /// One value per series (same order as the chart's series), `None` when not measured.
    values: Vec<Option<f64>>,
    /// A reference line drawn across the row, with its legend name.
    marker: Option<f64>,
}

struct BarChart {
    title: String,
    caption: String,
    axis: String,
    series: Vec<String>,
    marker_name: Option<String>,
    rows: Vec<BarRow>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Log-scale axis over `[lo, hi]` with decade ticks.
struct LogAxis {
    lo: f64,
    hi: f64,
}

impl LogAxis {
    fn over(values: impl Iterator<Item = f64>) -> Option<Self> {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (hi > 0.0).then(|| Self {
            lo: 10f64.powf(lo.log10().floor()),
            hi: 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
        })
    }

    /// Position of `v` in `[0, 1]`.
    fn at(&self, v: f64) -> f64 {
        (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
    }

    fn ticks(&self) -> Vec<f64> {
        let mut t = Vec::new();
        let mut v = self.lo;
        while v <= self.hi * 1.0001 {
            t.push(v);
            v *= 10.0;
        }
        t
    }
}

fn number(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

impl BarChart {
    fn render(&self) -> String {
        const LEFT: f64 = 190.0;
        const PLOT_W: f64 = 640.0;
        const BAR_H: f64 = 9.0;
        const TOP: f64 = 92.0;
        let row_h = BAR_H * self.series.len() as f64 + 10.0;
        let height = TOP + row_h * self.rows.len() as f64 + 40.0;
        let width = LEFT + PLOT_W + 80.0;
        let Some(axis) = LogAxis::over(
            self.rows
                .iter()
                .flat_map(|r| r.values.iter().flatten().copied().chain(r.marker)),
        ) else {
            return String::new();
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        let _ = writeln!(
            s,
            r##"<text x="10" y="38" fill="#444">{}</text>"##,
            escape(&self.caption)
        );
        // Legend.
        let mut x = 10.0;
        let legend: Vec<(String, &str, bool)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), COLOURS[i % COLOURS.len()], false))
            .chain(self.marker_name.iter().map(|n| (n.clone(), "black", true)))
            .collect();
        for (name, colour, is_marker) in legend {
            if is_marker {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x}" y1="52" x2="{x}" y2="64" stroke="{colour}" stroke-width="2"/>"#
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="52" width="12" height="12" fill="{colour}"/>"#
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{}" y="62">{}</text>"#,
                x + 16.0,
                escape(&name)
            );
            x += 24.0 + 7.0 * name.len() as f64;
        }
        // Grid and axis labels.
        let bottom = TOP + row_h * self.rows.len() as f64;
        for t in axis.ticks() {
            let tx = LEFT + axis.at(t) * PLOT_W;
            let _ = writeln!(
                s,
                r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{bottom}" stroke="#ddd"/>"##,
                TOP - 4.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{tx:.1}" y="{}" text-anchor="middle">{}</text>"#,
                bottom + 14.0,
                number(t)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{} (log scale)</text>"#,
            LEFT + PLOT_W / 2.0,
            bottom + 30.0,
            escape(&self.axis)
        );
        // Rows.
        for (r, row) in self.rows.iter().enumerate() {
            let y0 = TOP + row_h * r as f64;
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                y0 + row_h / 2.0,
                escape(&row.label)
            );
            for (i, v) in row.values.iter().enumerate() {
                let Some(v) = v else { continue };
                let y = y0 + BAR_H * i as f64;
                let w = axis.at(*v) * PLOT_W;
                let _ = writeln!(
                    s,
                    r#"<rect x="{LEFT}" y="{y:.1}" width="{w:.1}" height="{}" fill="{}"><title>{}: {}</title></rect>"#,
                    BAR_H - 1.0,
                    COLOURS[i % COLOURS.len()],
                    escape(&self.series[i]),
                    number(*v)
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="8">{}</text>"#,
                    LEFT + w + 3.0,
                    y + BAR_H - 2.0,
                    number(*v)
                );
            }
            if let Some(m) = row.marker {
                let mx = LEFT + axis.at(m) * PLOT_W;
                let _ = writeln!(
                    s,
                    r#"<line x1="{mx:.1}" y1="{y0:.1}" x2="{mx:.1}" y2="{:.1}" stroke="black" stroke-width="2"/>"#,
                    y0 + row_h - 10.0
                );
            }
        }
        s.push_str("</svg>\n");
        s
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
            marker: ZEN3_FLOORS
                .iter()
                .find(|(n, _)| *n == f)
                .map(|(_, c)| *c)
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

/// Instruction counts of every guard case over the baseline updates, each relative to its
/// first recorded count (100 %), one line per case.
pub fn guard_history(history: &[HistoryEntry], caption: &str) -> String {
    const LEFT: f64 = 70.0;
    const TOP: f64 = 60.0;
    const PLOT_W: f64 = 620.0;
    const PLOT_H: f64 = 320.0;
    if history.is_empty() {
        return String::new();
    }
    let cases: BTreeSet<&String> = history.iter().flat_map(|h| h.instructions.keys()).collect();
    let relative = |case: &str| -> Vec<Option<f64>> {
        let first = history
            .iter()
            .find_map(|h| h.instructions.get(case).copied());
        history
            .iter()
            .map(|h| Some(h.instructions.get(case)? / first? * 100.0))
            .collect()
    };
    let (mut lo, mut hi) = (100.0f64, 100.0f64);
    for c in &cases {
        for v in relative(c).into_iter().flatten() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let (lo, hi) = ((lo - 2.0).floor(), (hi + 2.0).ceil());
    let n = history.len().max(2) as f64 - 1.0;
    let px = |i: usize| LEFT + PLOT_W * i as f64 / n;
    let py = |v: f64| TOP + PLOT_H * (1.0 - (v - lo) / (hi - lo));
    let legend_x = LEFT + PLOT_W + 20.0;
    let height = (TOP + PLOT_H + 60.0).max(TOP + 13.0 * cases.len() as f64 + 20.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="11">"#,
        legend_x + 200.0
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="15" font-weight="bold">Callgrind instructions per iteration, relative to each case's first baseline</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="38" fill="#444">{}</text>"##,
        escape(caption)
    );
    let steps = 5;
    for k in 0..=steps {
        let v = lo + (hi - lo) * k as f64 / steps as f64;
        let y = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.0}%</text>"##,
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (i, h) in history.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{} {}</text>"#,
            px(i),
            TOP + PLOT_H + 16.0,
            escape(&h.commit),
            escape(&h.date)
        );
    }
    for (k, c) in cases.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let dash = if (k / COLOURS.len()) % 2 == 1 {
            r#" stroke-dasharray="4 2""#
        } else {
            ""
        };
        let points: Vec<String> = relative(c)
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| Some(format!("{:.1},{:.1}", px(i), py(v?))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{}"><title>{}</title></polyline>"#,
            points.join(" "),
            escape(c)
        );
        let ly = TOP + 13.0 * k as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{legend_x}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
            legend_x + 16.0,
            legend_x + 20.0,
            ly + 4.0,
            escape(c)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(svg.contains("110%") || svg.contains("112%"), "{svg}");
    }
}
