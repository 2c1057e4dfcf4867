//! A grouped horizontal bar chart on a log axis, with an optional reference line per row.

use std::fmt::Write as _;

use super::svg::{COLOURS, escape};

/// One row of a grouped horizontal bar chart.
pub(super) struct BarRow {
    pub(super) label: String,
    /// One value per series (same order as the chart's series), `None` when not measured.
    pub(super) values: Vec<Option<f64>>,
    /// A reference line drawn across the row, with its legend name.
    pub(super) marker: Option<f64>,
}

pub(super) struct BarChart {
    pub(super) title: String,
    pub(super) caption: String,
    pub(super) axis: String,
    pub(super) series: Vec<String>,
    pub(super) marker_name: Option<String>,
    pub(super) rows: Vec<BarRow>,
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
    pub(super) fn render(&self) -> String {
        const LEFT: f64 = 190.0;
        const PLOT_W: f64 = 640.0;
        const BAR_H: f64 = 9.0;
        // Room for two legend lines above the plot.
        const TOP: f64 = 110.0;
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
        // Legend, wrapped onto a second line when it would leave the picture.
        let (mut x, mut y) = (10.0, 52.0);
        let legend: Vec<(String, &str, bool)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), COLOURS[i % COLOURS.len()], false))
            .chain(self.marker_name.iter().map(|n| (n.clone(), "black", true)))
            .collect();
        for (name, colour, is_marker) in legend {
            let item_w = 24.0 + 7.0 * name.len() as f64;
            if x > 10.0 && x + item_w > width {
                (x, y) = (10.0, y + 18.0);
            }
            if is_marker {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x}" y1="{y}" x2="{x}" y2="{}" stroke="{colour}" stroke-width="2"/>"#,
                    y + 12.0
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>"#
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}">{}</text>"#,
                x + 16.0,
                y + 10.0,
                escape(&name)
            );
            x += item_w;
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
