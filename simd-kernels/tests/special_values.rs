//! NaN, infinities, signed zeros, subnormals, clamp points and the softmax special rows, on
//! every backend, through both the out-of-place and the in-place forms.

mod support;

use simd_kernels::Backend;
use support::{backends, functions};

/// Runs `name` on one value through both forms and checks they agree bit for bit.
fn run1(f: &support::Func, b: Backend, x: f32) -> f32 {
    let mut out = [0.0f32];
    (f.run)(b, &[x], &mut out);
    let mut data = [x];
    (f.run_inplace)(b, &mut data);
    assert_eq!(
        out[0].to_bits(),
        data[0].to_bits(),
        "{} {}: in-place differs at {x:e}",
        f.name,
        b.name()
    );
    out[0]
}

fn func(name: &str) -> support::Func {
    functions().into_iter().find(|f| f.name == name).unwrap()
}

#[test]
fn nan_in_nan_out_for_every_function() {
    let nans = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001),
        f32::from_bits(0xffc1_2345),
    ];
    for b in backends() {
        for f in functions() {
            for &x in &nans {
                assert!(
                    run1(&f, b, x).is_nan(),
                    "{}({x:?}) on {} is not NaN",
                    f.name,
                    b.name()
                );
            }
        }
    }
}

#[test]
fn infinities_give_the_limits() {
    let pos = f32::INFINITY;
    let neg = f32::NEG_INFINITY;
    for b in backends() {
        let check = |name: &str, x: f32, want: f32| {
            let got = run1(&func(name), b, x);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{name}({x}) on {}: {got:?}, want {want:?}",
                b.name()
            );
        };
        check("sigmoid", pos, 1.0);
        check("sigmoid", neg, 0.0);
        check("tanh", pos, 1.0);
        check("tanh", neg, -1.0);
        check("exp", neg, 0.0);
        check("exp", pos, pos);
        check("gelu", neg, -0.0);
        check("gelu", pos, pos);
        check("gelu_tanh", neg, -0.0);
        check("gelu_tanh", pos, pos);
        check("silu", neg, -0.0);
        check("silu", pos, pos);
        check("elu", neg, -support::ELU_ALPHA);
        check("elu", pos, pos);
        check("relu", neg, 0.0);
        check("relu", pos, pos);
        check("leaky_relu", neg, neg);
        check("leaky_relu", pos, pos);
    }
}

#[test]
fn signed_zero_is_kept() {
    for b in backends() {
        for name in [
            "tanh",
            "gelu",
            "gelu_tanh",
            "silu",
            "elu",
            "relu",
            "leaky_relu",
        ] {
            let f = func(name);
            assert_eq!(
                run1(&f, b, -0.0).to_bits(),
                (-0.0f32).to_bits(),
                "{name}(-0) on {}",
                b.name()
            );
            assert_eq!(
                run1(&f, b, 0.0).to_bits(),
                0.0f32.to_bits(),
                "{name}(+0) on {}",
                b.name()
            );
        }
        assert_eq!(run1(&func("sigmoid"), b, -0.0), 0.5);
        assert_eq!(run1(&func("exp"), b, -0.0), 1.0);
    }
}

/// Every finite input gives a non-NaN output; checked on the values around every clamp and
/// branch point of the kernels, ±1 ULP, and on the extremes of the format.
#[test]
fn no_finite_input_gives_nan_around_clamp_points() {
    let points = [
        0.0f32,
        f32::MIN_POSITIVE,
        1e-45,
        1e-30,
        0.3466,
        0.35,
        1.0,
        8.0,
        // tanh: e^2|x| − 1 crosses 2^25 and 2^26 (where `2 + e` stops being exact).
        8.664_34,
        9.010_913,
        9.0,
        9.1,
        9.2,
        10.0,
        14.2,
        // SiLU: e^−x crosses 2^24 and 2^25 (where `1 + E` needs the full two-sum).
        16.635_532,
        17.328_68,
        17.5,
        18.0,
        18.5,
        20.0,
        40.0,
        87.3,
        88.7,
        88.73,
        89.0,
        103.9,
        104.0,
        110.0,
        200.0,
        1e10,
        1e20,
        1.8e19,
        f32::MAX,
    ];
    let mut inputs = Vec::new();
    for &p in &points {
        for s in [1.0f32, -1.0] {
            let v = p * s;
            inputs.push(v);
            inputs.push(f32::from_bits(v.to_bits().wrapping_add(1)));
            if v != 0.0 {
                inputs.push(f32::from_bits(v.to_bits() - 1));
            }
        }
    }
    inputs.retain(|x| x.is_finite());
    for b in backends() {
        for f in functions() {
            let mut out = vec![0.0; inputs.len()];
            (f.run)(b, &inputs, &mut out);
            for (&x, &y) in inputs.iter().zip(&out) {
                assert!(!y.is_nan(), "{}({x:e}) on {} is NaN", f.name, b.name());
                let want = (f.reference)(x);
                let err = support::ulp_error(y, want);
                let bound = if support::is_subnormal_result(want) {
                    f.max_subnormal_ulp
                } else {
                    f.max_ulp
                };
                assert!(
                    err <= bound,
                    "{}({x:e}) on {}: {y:e} vs {want:e} ({err} ULP)",
                    f.name,
                    b.name()
                );
            }
        }
    }
}

#[test]
fn saturation_values_are_exact() {
    for b in backends() {
        assert_eq!(run1(&func("exp"), b, 89.0), f32::INFINITY);
        assert_eq!(run1(&func("exp"), b, -104.0), 0.0);
        assert_eq!(run1(&func("tanh"), b, 9.1), 1.0);
        assert_eq!(run1(&func("tanh"), b, -50.0), -1.0);
        // e^-17 = 4.1e-8 > 2^-25: sigmoid(17) rounds to 1 − 2^-24; from 17.5 on it rounds to 1.
        assert_eq!(run1(&func("sigmoid"), b, 17.0), 1.0 - f32::EPSILON / 2.0);
        assert_eq!(run1(&func("sigmoid"), b, 17.5), 1.0);
        assert_eq!(run1(&func("gelu"), b, 30.0), 30.0);
        assert_eq!(run1(&func("gelu_tanh"), b, 1e30), 1e30);
        assert_eq!(run1(&func("elu"), b, -1e30), -support::ELU_ALPHA);
        assert_eq!(run1(&func("gelu"), b, -1e30).to_bits(), (-0.0f32).to_bits());
        // exp(x) just below the smallest subnormal's half rounds up to it.
        assert_eq!(run1(&func("exp"), b, -103.27), f32::from_bits(1));
    }
}

#[test]
fn subnormal_inputs_are_ordinary_numbers() {
    let tiny = f32::from_bits(3); // 3·2^-149
    for b in backends() {
        assert_eq!(run1(&func("tanh"), b, tiny), tiny);
        assert_eq!(run1(&func("tanh"), b, -tiny), -tiny);
        assert_eq!(run1(&func("silu"), b, tiny), f32::from_bits(2)); // x/2 = 1.5 → 2 (ties to even)
        assert_eq!(run1(&func("elu"), b, -tiny), -tiny);
        assert_eq!(run1(&func("relu"), b, tiny), tiny);
        assert_eq!(run1(&func("exp"), b, tiny), 1.0);
        assert_eq!(run1(&func("sigmoid"), b, tiny), 0.5);
    }
}

fn softmax_both(b: Backend, row: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; row.len()];
    b.softmax(row, &mut out);
    let mut data = row.to_vec();
    b.softmax_inplace(&mut data);
    assert_eq!(
        out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        data.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "softmax in place differs on {}",
        b.name()
    );
    out
}

#[test]
fn softmax_special_rows() {
    let inf = f32::INFINITY;
    let ninf = f32::NEG_INFINITY;
    for b in backends() {
        // +∞ entries share the mass equally, others get +0.
        let mut row = vec![1.0f32; 19];
        row[3] = inf;
        row[11] = inf;
        row[17] = ninf;
        let out = softmax_both(b, &row);
        for (i, v) in out.iter().enumerate() {
            let want = if i == 3 || i == 11 { 0.5 } else { 0.0 };
            assert_eq!(
                v.to_bits(),
                f32::to_bits(want),
                "softmax +inf row on {} at {i}",
                b.name()
            );
        }
        // All −∞: NaN everywhere.
        let out = softmax_both(b, &[ninf; 13]);
        assert!(out.iter().all(|v| v.is_nan()), "all -inf on {}", b.name());
        // Any NaN: NaN everywhere, also with +∞ present.
        for pos in [0usize, 5, 12] {
            let mut row = vec![0.5f32; 13];
            row[pos] = f32::NAN;
            row[(pos + 1) % 13] = inf;
            let out = softmax_both(b, &row);
            assert!(out.iter().all(|v| v.is_nan()), "NaN row on {}", b.name());
        }
        // −∞ entries among finite ones get exactly +0; the rest still sums to 1.
        let row = [ninf, 0.0, ninf, 0.0, 1.0, ninf, 2.0, 3.0, 4.0, ninf];
        let out = softmax_both(b, &row);
        assert!(
            row.iter()
                .zip(&out)
                .all(|(x, y)| *x != ninf || y.to_bits() == 0)
        );
        let sum: f64 = out.iter().map(|&v| v as f64).sum();
        assert!((sum - 1.0).abs() < 1e-6, "{sum}");
        // Empty row is fine; a single element gives exactly 1.
        assert!(softmax_both(b, &[]).is_empty());
        assert_eq!(softmax_both(b, &[-3.0e38]), vec![1.0]);
        // Huge spread: no overflow, no NaN.
        let out = softmax_both(b, &[f32::MAX, -f32::MAX, 0.0]);
        assert_eq!(out, vec![1.0, 0.0, 0.0]);
    }
}

#[test]
#[should_panic(expected = "input length 3 != output length 4")]
fn mismatched_lengths_panic_with_a_clear_message() {
    let mut out = [0.0f32; 4];
    simd_kernels::sigmoid(&[1.0, 2.0, 3.0], &mut out);
}

#[test]
fn forcing_an_unavailable_backend_panics_instead_of_ub() {
    if Backend::Avx2Fma.is_available() {
        eprintln!("note: AVX2+FMA present; the unavailable-backend panic is covered on other CPUs");
        return;
    }
    let r = std::panic::catch_unwind(|| {
        let mut out = [0.0f32; 1];
        Backend::Avx2Fma.sigmoid(&[1.0], &mut out);
    });
    assert!(r.is_err());
}

#[test]
fn detection_is_consistent() {
    let b = simd_kernels::active_backend();
    assert_eq!(b, Backend::detect());
    assert!(b.is_available());
    assert_eq!(simd_kernels::active_backend(), b);
    println!("active backend: {}", b.name());
}
