//! The guard's instruction counts over the baseline updates, as lines.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::svg::{COLOURS, escape};
use crate::guard::baseline::HistoryEntry;

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
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.1}%</text>"##,
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
        let points: Vec<(f64, f64, f64)> = relative(c)
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| Some((px(i), py(v?), v?)))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{}"><title>{}</title></polyline>"#,
            path.join(" "),
            escape(c)
        );
        for (x, y, v) in points {
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{colour}"><title>{}: {v:.2}%</title></circle>"#,
                escape(c)
            );
        }
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
