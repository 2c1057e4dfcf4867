//! Validates the f64 references against values computed with mpmath at 30 digits, so the
//! accuracy sweep measures the kernels, not the reference.

#![allow(clippy::excessive_precision)] // mpmath values kept exactly as printed (20 digits)

mod support;

use support::reference::{erfc, gelu_tanh, sigmoid64};

#[test]
fn erfc_reference_matches_mpmath() {
    // (t, erfc(t)) from mpmath.erfc with mp.dps = 30.
    let known = [
        (0.1, 0.887_537_083_981_715_101_6),
        (0.5, 0.479_500_122_186_953_462_32),
        (1.0, 0.157_299_207_050_285_130_66),
        (1.5, 0.033_894_853_524_689_272_933),
        (1.999, 0.004_698_443_348_629_487_681_1),
        (2.0, 0.004_677_734_981_047_265_837_9),
        (2.5, 0.000_406_952_017_444_958_939_56),
        (3.0, 2.209_049_699_858_544_137_3e-5),
        (5.0, 1.537_459_794_428_034_850_2e-12),
        (8.0, 1.122_429_717_298_292_708e-29),
        (10.0, 2.088_487_583_762_544_757e-45),
        (10.5, 7.035_928_090_177_522_686_7e-50),
    ];
    for (t, want) in known {
        let rel = (erfc(t) / want - 1.0).abs();
        assert!(rel < 2e-13, "erfc({t}) = {} vs {want}: rel {rel}", erfc(t));
        let rel_neg = ((2.0 - erfc(-t)) / want - 1.0).abs();
        assert!(
            t > 3.0 || rel_neg < 1e-11,
            "erfc(-{t}) inconsistent: rel {rel_neg}"
        );
    }
}

#[test]
fn erfc_reference_is_continuous_at_the_method_switch() {
    let below = erfc(2.0 - 1e-12);
    let above = erfc(2.0);
    assert!((below / above - 1.0).abs() < 1e-11, "{below} vs {above}");
}

#[test]
fn gelu_tanh_reference_matches_the_literal_formula_where_it_is_well_conditioned() {
    let mut x = -3.0f32;
    while x < 8.0 {
        let xd = x as f64;
        let y = (2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd * xd * xd);
        let literal = 0.5 * xd * (1.0 + y.tanh());
        let ours = gelu_tanh(x);
        assert!(
            (ours - literal).abs() <= 1e-13 * literal.abs().max(1e-3),
            "{x}: {ours} vs {literal}"
        );
        x += 0.0137;
    }
}

#[test]
fn sigmoid_reference_is_symmetric() {
    for i in 0..1000 {
        let x = i as f64 * 0.05;
        let s = sigmoid64(x) + sigmoid64(-x);
        assert!((s - 1.0).abs() < 1e-15, "{x}: {s}");
    }
}
