//! The speed targets of `simd-kernels`, judged from measured medians (the rows are named in
//! [`crate::simd_layout`]):
//!
//! * at 4 KiB (L1), out of place, cycles per element within a factor of the counted Zen 3
//!   floor ([`FLOOR_TARGETS`]); judged only on a Zen 3, reported as "not judged" elsewhere;
//! * exp, sigmoid, silu and tanh at least as fast as tract-linalg at every size, both in
//!   place on a fresh copy of the input (the only way tract is called);
//! * relu and leaky_relu at least 0.95× the AVX2 copy loop at 4 KiB and 64 KiB, out of place
//!   and in place, and at least as fast as `memcpy` at 64 MiB;
//! * 64-element calls within 2× the per-element cost of 4 KiB calls (per-call overhead);
//! * every transcendental function at least 6× our scalar path and at least as fast as SLEEF.

use crate::floors;
use crate::report::Measurement;
use crate::simd_cycles::Machine;
use crate::simd_layout::{CALL, COPY, DRAM, L1, L2, Size, group, id};
use crate::targets::{Check, ns, ratio_check, rows_with_prefix};

/// How far above its Zen 3 floor (in cycles per element at 4 KiB) each function may run.
pub const FLOOR_TARGETS: [(&str, f64); 8] = [
    ("exp", 1.25),
    ("sigmoid", 1.3),
    ("silu", 1.5),
    ("elu", 1.75),
    ("tanh", 1.75),
    ("gelu", 2.0),
    ("gelu_tanh", 2.0),
    ("softmax", 1.5),
];

/// The functions tract-linalg has, compared in place at every size.
pub const TRACT_FUNCTIONS: [&str; 4] = ["exp", "sigmoid", "silu", "tanh"];

/// The transcendental functions (compared with our scalar path and SLEEF).
const TRANSCENDENTAL: [&str; 8] = [
    "sigmoid",
    "tanh",
    "gelu",
    "gelu_tanh",
    "silu",
    "elu",
    "exp",
    "softmax",
];

/// Speed of `ours` relative to `base` (base time / our time), both per element.
fn speedup(ms: &[Measurement], ours: (&str, Size, &str), base: (&str, Size, &str)) -> Option<f64> {
    let a = ns(ms, &group(ours.0, ours.1), ours.2)?;
    let b = ns(ms, &group(base.0, base.1), base.2)?;
    Some(b / a)
}

/// Cycles per element of `function`, out of place at 4 KiB, against its floor.
fn floor_check(ms: &[Measurement], machine: &Machine, function: &str, factor: f64) -> Check {
    let target = format!("{function} <= {factor}x its Zen 3 floor at 4 KiB");
    let floor = floors::floor(function).map(|f| f.cycles_per_element);
    let cycles = ns(ms, &group(function, L1), id::ZENSLAB).and_then(|t| machine.cycles(t));
    let (Some(floor), Some(cycles)) = (floor, cycles) else {
        return Check::new(target, None, String::new());
    };
    let ratio = cycles / floor;
    let detail = format!("{ratio:.2}x ({cycles:.2} cycles/element, floor {floor})");
    match machine.not_zen3_reason() {
        Some(reason) => Check::not_judged(target, reason, detail),
        None => Check::new(target, Some(ratio <= factor), detail),
    }
}

/// `function` against the copy loop at 4 KiB and 64 KiB, out of place and in place: the worst
/// of the four ratios; not measured unless all four were.
fn copy_loop_check(ms: &[Measurement], function: &str) -> Check {
    let target = format!(
        "{function} >= 0.95x the AVX2 copy loop (4 KiB, 64 KiB; out of place and in place)"
    );
    let mut worst: Option<(f64, String)> = None;
    for size in [L1, L2] {
        for (ours, base) in [
            (id::ZENSLAB, id::COPY_LOOP),
            (id::INPLACE, id::COPY_LOOP_INPLACE),
        ] {
            let Some(s) = speedup(ms, (function, size, ours), (COPY, size, base)) else {
                return Check::new(
                    target,
                    None,
                    format!("{ours} or {base} missing at {}", size.label),
                );
            };
            if worst.as_ref().is_none_or(|(w, _)| s < *w) {
                worst = Some((s, format!("{ours} at {}", size.label)));
            }
        }
    }
    match worst {
        Some((s, at)) => Check::new(target, Some(s >= 0.95), format!("worst {s:.2}x, {at}")),
        None => Check::new(target, None, String::new()),
    }
}

/// `function` out of place against `memcpy` at 64 MiB.
fn memcpy_check(ms: &[Measurement], function: &str) -> Check {
    let target = format!("{function} at least as fast as memcpy at 64 MiB");
    match speedup(ms, (function, DRAM, id::ZENSLAB), (COPY, DRAM, id::MEMCPY)) {
        Some(s) => Check::new(target, Some(s >= 1.0), format!("{s:.2}x")),
        None => Check::new(target, None, String::new()),
    }
}

/// Per-element cost of 64-element calls against 4 KiB calls, worst function.
fn call_overhead_check(ms: &[Measurement]) -> Check {
    let target = "64-element calls within 2x the per-element cost of 4 KiB calls (every function)";
    let worst = floors::FLOORS
        .iter()
        .filter_map(|f| {
            let short = ns(ms, &group(f.function, CALL), id::ZENSLAB)?;
            let long = ns(ms, &group(f.function, L1), id::ZENSLAB)?;
            Some((short / long, f.function))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match worst {
        Some((r, f)) => Check::new(target, Some(r <= 2.0), format!("worst {r:.2}x ({f})")),
        None => Check::new(target, None, String::new()),
    }
}

/// Every SIMD target, in a fixed order, each met, not met, not measured or not judged.
pub fn simd_checks(ms: &[Measurement], machine: &Machine) -> Vec<Check> {
    let mut checks: Vec<Check> = FLOOR_TARGETS
        .iter()
        .map(|&(f, factor)| floor_check(ms, machine, f, factor))
        .collect();
    for f in TRACT_FUNCTIONS {
        checks.push(ratio_check(
            ms,
            &format!("{f}: at least as fast as tract at every size, both in place"),
            &rows_with_prefix(ms, &format!("simd/{f}/")),
            id::INPLACE,
            id::TRACT,
            1.0,
        ));
    }
    for f in ["relu", "leaky_relu"] {
        checks.push(copy_loop_check(ms, f));
        checks.push(memcpy_check(ms, f));
    }
    checks.push(call_overhead_check(ms));
    for f in TRANSCENDENTAL {
        let rows = rows_with_prefix(ms, &format!("simd/{f}/"));
        checks.push(ratio_check(
            ms,
            &format!("{f}: >= 6x our scalar path"),
            &rows,
            id::ZENSLAB,
            id::SCALAR,
            6.0,
        ));
        let sleef = ratio_check(
            ms,
            &format!("{f}: at least as fast as sleef"),
            &rows,
            id::ZENSLAB,
            id::SLEEF,
            1.0,
        );
        // SLEEF lacks softmax: no SLEEF row is not a target.
        if sleef.met.is_some() {
            checks.push(sleef);
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuId;

    /// A measurement of `elements` elements taking `ns_per_element` each.
    fn m(function: &str, size: Size, column: &str, ns_per_element: f64) -> Measurement {
        let elements = size.elements() as u64;
        Measurement {
            group: group(function, size),
            function: column.to_owned(),
            parameter: None,
            median_ns: ns_per_element * elements as f64,
            elements: Some(elements),
        }
    }

    fn machine(family: u32, model: u32, ghz: f64) -> Machine {
        let vendor = if family == 25 {
            "AuthenticAMD"
        } else {
            "GenuineIntel"
        };
        Machine::new(
            Some(ghz),
            Some(CpuId {
                vendor: vendor.into(),
                brand: "test CPU".into(),
                family,
                model,
                stepping: 0,
            }),
        )
    }

    fn find<'a>(checks: &'a [Check], prefix: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.target.starts_with(prefix))
            .unwrap_or_else(|| panic!("no check {prefix}"))
    }

    #[test]
    fn floors_are_judged_on_zen3_only() {
        // exp at 0.25 ns/element at 3 GHz = 0.75 cycles = 1.2x its 0.625 floor.
        let ms = [m("exp", L1, id::ZENSLAB, 0.25)];
        let milan = simd_checks(&ms, &machine(25, 1, 3.0));
        let c = find(&milan, "exp <= 1.25x");
        assert_eq!(c.met, Some(true), "{}", c.detail);
        assert!(c.detail.starts_with("1.20x"), "{}", c.detail);
        // Faster clock, same time: more cycles, over the target.
        let c = find(&simd_checks(&ms, &machine(25, 0x21, 4.0)), "exp <= 1.25x").clone();
        assert_eq!(c.met, Some(false), "{}", c.detail);
        // Zen 4 and Intel: measured, printed, never judged.
        for other in [machine(25, 0x61, 3.0), machine(6, 167, 3.0)] {
            let checks = simd_checks(&ms, &other);
            let c = find(&checks, "exp <= 1.25x");
            assert_eq!(c.met, None);
            assert!(
                c.verdict().starts_with("not judged: not a Zen 3"),
                "{}",
                c.verdict()
            );
            assert!(c.detail.starts_with("1.20x"), "{}", c.detail);
        }
    }

    #[test]
    fn unmeasured_targets_are_never_met() {
        for c in simd_checks(&[], &machine(25, 1, 3.0)) {
            assert_eq!(c.met, None, "{}", c.target);
            assert_eq!(c.verdict(), "not measured", "{}", c.target);
        }
        // No clock: cycles cannot be formed, the floors are not measured.
        let ms = [m("exp", L1, id::ZENSLAB, 0.25)];
        let c = find(&simd_checks(&ms, &Machine::new(None, None)), "exp <= 1.25x").clone();
        assert_eq!(c.verdict(), "not measured");
    }

    #[test]
    fn tract_is_compared_in_place_at_the_worst_size() {
        let ms = [
            m("tanh", L1, id::INPLACE, 1.0),
            m("tanh", L1, id::TRACT, 2.0),
            m("tanh", DRAM, id::INPLACE, 3.0),
            m("tanh", DRAM, id::TRACT, 2.0),
            // Out of place is faster but is not how tract is called.
            m("tanh", DRAM, id::ZENSLAB, 1.0),
        ];
        let checks = simd_checks(&ms, &machine(6, 167, 3.0));
        let c = find(&checks, "tanh: at least as fast as tract");
        assert_eq!(c.met, Some(false));
        assert!(c.detail.contains("64MiB"), "{}", c.detail);
    }

    #[test]
    fn relu_needs_all_four_copy_loop_comparisons() {
        let mut ms = vec![];
        for size in [L1, L2] {
            ms.push(m(COPY, size, id::COPY_LOOP, 1.0));
            ms.push(m(COPY, size, id::COPY_LOOP_INPLACE, 1.0));
            ms.push(m("relu", size, id::ZENSLAB, 1.0));
        }
        let c = find(&simd_checks(&ms, &machine(6, 167, 3.0)), "relu >= 0.95x").clone();
        assert_eq!(c.met, None, "in place missing: {}", c.detail);
        ms.push(m("relu", L1, id::INPLACE, 1.05));
        ms.push(m("relu", L2, id::INPLACE, 1.0));
        let c = find(&simd_checks(&ms, &machine(6, 167, 3.0)), "relu >= 0.95x").clone();
        assert_eq!(c.met, Some(true), "{}", c.detail);
        assert!(c.detail.contains("zenslab_inplace at 4KiB"), "{}", c.detail);
        ms.retain(|x| !(x.group == group("relu", L2) && x.function == id::INPLACE));
        ms.push(m("relu", L2, id::INPLACE, 1.1));
        let c = find(&simd_checks(&ms, &machine(6, 167, 3.0)), "relu >= 0.95x").clone();
        assert_eq!(c.met, Some(false), "1/1.1 < 0.95: {}", c.detail);
    }

    #[test]
    fn relu_against_memcpy_at_64mib() {
        let ms = [
            m("leaky_relu", DRAM, id::ZENSLAB, 0.9),
            m(COPY, DRAM, id::MEMCPY, 1.0),
        ];
        let checks = simd_checks(&ms, &machine(6, 167, 3.0));
        assert_eq!(
            find(&checks, "leaky_relu at least as fast as memcpy").met,
            Some(true)
        );
        assert_eq!(find(&checks, "relu at least as fast as memcpy").met, None);
    }

    #[test]
    fn call_overhead_takes_the_worst_function() {
        let ms = [
            m("gelu", CALL, id::ZENSLAB, 1.5),
            m("gelu", L1, id::ZENSLAB, 1.0),
            m("relu", CALL, id::ZENSLAB, 0.5),
            m("relu", L1, id::ZENSLAB, 0.1),
        ];
        let c = find(&simd_checks(&ms, &machine(6, 167, 3.0)), "64-element calls").clone();
        assert_eq!(c.met, Some(false));
        assert!(c.detail.contains("5.00x (relu)"), "{}", c.detail);
    }

    #[test]
    fn peers_use_the_worst_row_and_absent_peers_are_no_target() {
        let ms = [
            m("exp", L1, id::ZENSLAB, 1.0),
            m("exp", L1, id::SLEEF, 2.0),
            m("exp", DRAM, id::ZENSLAB, 3.0),
            m("exp", DRAM, id::SLEEF, 2.0),
            m("softmax", L1, id::ZENSLAB, 1.0),
            m("softmax", L1, id::SCALAR, 7.0),
        ];
        let checks = simd_checks(&ms, &machine(6, 167, 3.0));
        let c = find(&checks, "exp: at least as fast as sleef");
        assert_eq!(c.met, Some(false));
        assert!(c.detail.contains("64MiB"), "{}", c.detail);
        assert_eq!(find(&checks, "softmax: >= 6x").met, Some(true));
        assert!(
            !checks
                .iter()
                .any(|c| c.target.starts_with("softmax: at least as fast as sleef"))
        );
    }
}
