//! The AVX2 Leaky ReLU picks `max(α·x, x)` for `0 < α ≤ 1`, `min(α·x, x)` for `α ≥ 1` and a
//! compare-and-blend otherwise; every form must give the bits of the scalar
//! `x < 0 ? α·x : x` for every `x` (NaN payloads, `±0`, `±∞`, subnormals) and every `α`.

use simd_kernels::Backend;

fn inputs() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7fc0_1234),
        f32::from_bits(0xffa0_0001), // signalling NaN with payload
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::from_bits(0x8000_0001),
        f32::MAX,
        f32::MIN,
        1.0,
        -1.0,
    ];
    let mut state = 0x9e37_79b9u32;
    for _ in 0..4000 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        v.push(f32::from_bits(state));
    }
    v
}

#[test]
fn every_alpha_form_matches_the_scalar_bits() {
    if !Backend::Avx2Fma.is_available() {
        eprintln!("note: no AVX2+FMA here; nothing to compare");
        return;
    }
    let xs = inputs();
    let alphas = [
        0.01,
        0.5,
        1.0,
        f32::from_bits(1),
        1.5,
        3.0,
        f32::MAX,
        f32::INFINITY,
        0.0,
        -0.0,
        -0.2,
        -3.0,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    for alpha in alphas {
        let mut want = vec![0.0; xs.len()];
        Backend::Scalar.leaky_relu(&xs, &mut want, alpha);
        let mut got = vec![0.0; xs.len()];
        Backend::Avx2Fma.leaky_relu(&xs, &mut got, alpha);
        let mut inplace = xs.clone();
        Backend::Avx2Fma.leaky_relu_inplace(&mut inplace, alpha);
        for (i, &x) in xs.iter().enumerate() {
            assert_eq!(
                got[i].to_bits(),
                want[i].to_bits(),
                "leaky_relu({x:e}, alpha {alpha:e}) out of place"
            );
            assert_eq!(
                inplace[i].to_bits(),
                want[i].to_bits(),
                "leaky_relu({x:e}, alpha {alpha:e}) in place"
            );
        }
    }
}
