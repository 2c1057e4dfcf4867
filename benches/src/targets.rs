//! The allocator's speed targets, judged from measured medians, and the verdict type every
//! target shares (the SIMD targets are in [`crate::simd_targets`]). Each check says
//! what it compared and whether the target is met; a check whose inputs were not measured is
//! reported as missing, and one that cannot be judged on this machine as not judged, never as
//! met.

use crate::report::Measurement;

/// One target and its verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// What the target demands, e.g. `alloc pair <= 4 ns in every class`.
    pub target: String,
    /// The measured figure(s) behind the verdict.
    pub detail: String,
    /// `Some(true)` met, `Some(false)` not met, `None` not measured or not judged.
    pub met: Option<bool>,
    /// Why a measured target cannot be judged on this machine (`met` is then `None`).
    pub not_judged: Option<String>,
}

impl Check {
    pub(crate) fn new(target: impl Into<String>, met: Option<bool>, detail: String) -> Self {
        Self {
            target: target.into(),
            detail,
            met,
            not_judged: None,
        }
    }

    /// A target measured here but only judged elsewhere, e.g. a Zen 3 floor on another CPU.
    pub(crate) fn not_judged(target: impl Into<String>, reason: String, detail: String) -> Self {
        Self {
            not_judged: Some(reason),
            ..Self::new(target, None, detail)
        }
    }

    /// `met`, `NOT met`, `not measured` or `not judged: <reason>`.
    pub fn verdict(&self) -> String {
        match (self.met, &self.not_judged) {
            (Some(true), _) => "met".to_owned(),
            (Some(false), _) => "NOT met".to_owned(),
            (None, Some(reason)) => format!("not judged: {reason}"),
            (None, None) => "not measured".to_owned(),
        }
    }
}

/// Nanoseconds per element of `function` in `row` (group plus parameter), if measured.
pub(crate) fn ns(ms: &[Measurement], row: &str, function: &str) -> Option<f64> {
    ms.iter()
        .find(|m| m.row() == row && m.function == function)
        .map(Measurement::ns_per_element)
}

/// Every row whose name starts with `prefix`, in order, without duplicates.
pub(crate) fn rows_with_prefix(ms: &[Measurement], prefix: &str) -> Vec<String> {
    let mut rows: Vec<String> = ms
        .iter()
        .map(Measurement::row)
        .filter(|r| r.starts_with(prefix))
        .collect();
    rows.dedup();
    rows
}

/// `ours` must be at most `factor` times `theirs` (both in ns per element) in every row that
/// measured both; rows missing either side are skipped, no row at all is `None`.
pub(crate) fn ratio_check(
    ms: &[Measurement],
    target: &str,
    rows: &[String],
    ours: &str,
    theirs: &str,
    wanted_speedup: f64,
) -> Check {
    let mut worst: Option<(f64, &str)> = None;
    for row in rows {
        if let (Some(a), Some(b)) = (ns(ms, row, ours), ns(ms, row, theirs)) {
            let speedup = b / a;
            if worst.is_none_or(|(w, _)| speedup < w) {
                worst = Some((speedup, row));
            }
        }
    }
    match worst {
        Some((s, row)) => Check::new(
            target,
            Some(s >= wanted_speedup),
            format!("worst {s:.2}x at {row}"),
        ),
        None => Check::new(target, None, String::new()),
    }
}

/// The allocator targets of issue 2.
pub fn alloc_checks(ms: &[Measurement]) -> Vec<Check> {
    let all = rows_with_prefix(ms, "alloc/");
    let pairs = rows_with_prefix(ms, "alloc/pair/");
    let mut checks = Vec::new();

    let slowest_pair = pairs
        .iter()
        .filter_map(|r| ns(ms, r, "zenslab").map(|t| (t, r)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    checks.push(match slowest_pair {
        Some((t, r)) => Check::new(
            "alloc+free pair <= 4 ns in every class and alignment",
            Some(t <= 4.0),
            format!("slowest {t:.2} ns at {r}"),
        ),
        None => Check::new("alloc+free pair <= 4 ns", None, String::new()),
    });
    checks.push(ratio_check(
        ms,
        "at least as fast as mimalloc on every workload",
        &all,
        "zenslab",
        "mimalloc",
        1.0,
    ));

    let speedups: Vec<f64> = all
        .iter()
        .filter_map(|r| Some(ns(ms, r, "glibc")? / ns(ms, r, "zenslab")?))
        .collect();
    checks.push(if speedups.is_empty() {
        Check::new("geometric mean >= 3x glibc", None, String::new())
    } else {
        let geomean = (speedups.iter().map(|s| s.ln()).sum::<f64>() / speedups.len() as f64).exp();
        Check::new(
            "geometric mean >= 3x glibc",
            Some(geomean >= 3.0),
            format!("{geomean:.2}x over {} workloads", speedups.len()),
        )
    });
    checks.push(ratio_check(
        ms,
        ">= 20x linked_list_allocator on the tensor trace",
        &rows_with_prefix(ms, "alloc/trace/"),
        "zenslab",
        "linked_list",
        20.0,
    ));

    for size in ["256", "4096"] {
        let costs: Vec<f64> = ["lifo", "fifo", "random"]
            .iter()
            .filter_map(|o| ns(ms, &format!("alloc/free_{o}/{size}"), "zenslab"))
            .collect();
        let target = format!("free order (LIFO/FIFO/random) within 1.5x, {size} B");
        checks.push(if costs.len() == 3 {
            let max = costs.iter().copied().fold(f64::MIN, f64::max);
            let min = costs.iter().copied().fold(f64::MAX, f64::min);
            Check::new(
                target,
                Some(max / min <= 1.5),
                format!("max/min {:.2}", max / min),
            )
        } else {
            Check::new(target, None, String::new())
        });
    }

    let single_thread: Vec<String> = all
        .iter()
        .filter(|r| {
            ["alloc/pair/", "alloc/free_", "alloc/trace/"]
                .iter()
                .any(|p| r.starts_with(p))
        })
        .cloned()
        .collect();
    checks.push(ratio_check(
        ms,
        "default pool (SlabPool::new()) at least as fast as glibc on pairs, batches, trace",
        &single_thread,
        "zenslab_default",
        "glibc",
        1.0,
    ));

    let one = ns(ms, "alloc/local_threads/1", "zenslab");
    let two = ns(ms, "alloc/local_threads/2", "zenslab");
    let target = "2-thread local throughput >= 1.8x one thread";
    checks.push(match (one, two) {
        (Some(one), Some(two)) => Check::new(
            target,
            Some(one / two >= 1.8),
            format!("{:.2}x ({one:.2} -> {two:.2} ns per pair)", one / two),
        ),
        _ => Check::new(target, None, String::new()),
    });
    checks
}

/// Renders checks as a Markdown table.
pub fn render(title: &str, checks: &[Check]) -> String {
    let mut s = format!("## {title}\n\n| target | verdict | measured |\n|---|---|---|\n");
    for c in checks {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.target,
            c.verdict(),
            c.detail
        ));
    }
    s
}

/// The dense-layer and model-inference targets of the trained-model work. The target of
/// 70 % of the FMA peak needs the core clock, which criterion does not record: the `linear`
/// bench measures it and prints the share of the peak.
pub fn linear_checks(ms: &[Measurement]) -> Vec<Check> {
    vec![
        ratio_check(
            ms,
            "linear at least as fast as matrixmultiply's sgemm on every shape",
            &rows_with_prefix(ms, "linear/"),
            "zenslab",
            "matrixmultiply",
            1.0,
        ),
        ratio_check(
            ms,
            "model inference at least as fast as ndarray + matrixmultiply",
            &rows_with_prefix(ms, "model/"),
            "zenslab",
            "ndarray",
            1.0,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, function: &str, median_ns: f64) -> Measurement {
        Measurement {
            group: group.to_owned(),
            function: function.to_owned(),
            parameter: None,
            median_ns,
            elements: None,
        }
    }

    #[test]
    fn pair_target_follows_the_slowest_class() {
        let ms = [
            m("alloc/pair/64", "zenslab", 2.0),
            m("alloc/pair/8192", "zenslab", 4.5),
        ];
        let c = &alloc_checks(&ms)[0];
        assert_eq!(c.met, Some(false));
        assert!(c.detail.contains("alloc/pair/8192"), "{}", c.detail);
    }

    #[test]
    fn unmeasured_targets_are_never_met() {
        assert!(alloc_checks(&[]).iter().all(|c| c.met.is_none()));
    }

    #[test]
    fn elements_divide_the_median() {
        let mut one = m("alloc/local_threads/1", "zenslab", 4.0);
        one.elements = Some(1);
        let mut two = m("alloc/local_threads/2", "zenslab", 4.0);
        two.elements = Some(2);
        let c = alloc_checks(&[one, two]).pop().unwrap();
        assert_eq!(c.met, Some(true), "{}", c.detail);
    }
}
