//! proptest: the AVX2 backend agrees with the scalar backend within the sum of their
//! contracts (both are measured against f64 in the sweep), bit for bit on the exact
//! functions, and identically on NaN/∞/zero classes, for arbitrary bit patterns and lengths.

mod support;

use proptest::prelude::*;
use simd_kernels::Backend;
use support::{functions, ulp_error};

fn avx2() -> Option<Backend> {
    if Backend::Avx2Fma.is_available() {
        Some(Backend::Avx2Fma)
    } else {
        eprintln!("note: this CPU lacks AVX2+FMA; AVX2-vs-scalar properties are skipped");
        None
    }
}

/// Any f32 bit pattern, with extra weight on the region where the functions bend.
fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<u32>().prop_map(f32::from_bits),
        (-30.0f32..30.0),
        (-120.0f32..100.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn elementwise_agree(xs in prop::collection::vec(any_f32(), 0..80)) {
        let Some(v) = avx2() else { return Ok(()) };
        for f in functions() {
            let mut a = vec![0.0; xs.len()];
            let mut s = vec![0.0; xs.len()];
            (f.run)(v, &xs, &mut a);
            (f.run)(Backend::Scalar, &xs, &mut s);
            for ((&x, &ya), &ys) in xs.iter().zip(&a).zip(&s) {
                if f.max_ulp <= 0.5 {
                    prop_assert_eq!(ya.to_bits(), ys.to_bits(), "{}({:e})", f.name, x);
                    continue;
                }
                prop_assert_eq!(ya.is_nan(), ys.is_nan(), "{}({:e}) NaN class", f.name, x);
                if ya.is_nan() { continue; }
                if ys.is_infinite() || ys == 0.0 {
                    prop_assert_eq!(ya.to_bits(), ys.to_bits(), "{}({:e}) special", f.name, x);
                    continue;
                }
                // The scalar result is within 0.5+ε ULP of exact; AVX2 within the contract.
                let bound = f.max_ulp.max(f.max_subnormal_ulp) + 0.51;
                let e = ulp_error(ya, ys as f64);
                prop_assert!(e <= bound, "{}({:e}): avx2 {:e} scalar {:e} ({} ULP)", f.name, x, ya, ys, e);
            }
        }
    }

    #[test]
    fn softmax_agrees(xs in prop::collection::vec(-200.0f32..200.0, 1..300)) {
        let Some(v) = avx2() else { return Ok(()) };
        let mut a = vec![0.0; xs.len()];
        let mut s = vec![0.0; xs.len()];
        v.softmax(&xs, &mut a);
        Backend::Scalar.softmax(&xs, &mut s);
        for (&ya, &ys) in a.iter().zip(&s) {
            let e = ulp_error(ya, ys as f64);
            prop_assert!(e <= 4.0 || (ya - ys).abs() <= 4.0 * f32::from_bits(1), "{} vs {} ({} ULP)", ya, ys, e);
        }
    }
}
