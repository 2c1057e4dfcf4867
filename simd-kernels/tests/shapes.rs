//! Shape tests: every length 0–67, every misalignment, in place vs out of place, guard values
//! around the output untouched, scalar/AVX2 agreement per element.

mod support;

use support::{backends, functions};

const GUARD: usize = 16;
const GUARD_VALUE: f32 = -12345.678;

fn inputs(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let k = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed);
            // Spread over [-24, 24] plus a few specials.
            match k % 37 {
                0 => f32::NAN,
                1 => -0.0,
                2 => f32::INFINITY,
                3 => f32::NEG_INFINITY,
                _ => ((k >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 48.0,
            }
        })
        .collect()
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn every_length_and_offset_with_guards() {
    for b in backends() {
        for f in functions() {
            for len in 0..=67usize {
                for offset in 0..8usize {
                    let src = inputs(len, (len * 8 + offset) as u32);
                    // Input at an arbitrary (unaligned) offset inside a bigger buffer.
                    let mut in_buf = vec![GUARD_VALUE; len + offset + GUARD];
                    in_buf[offset..offset + len].copy_from_slice(&src);
                    let input = &in_buf[offset..offset + len];

                    let mut out_buf = vec![GUARD_VALUE; GUARD + len + GUARD + offset];
                    let start = GUARD + offset;
                    (f.run)(b, input, &mut out_buf[start..start + len]);
                    assert!(
                        out_buf[..start]
                            .iter()
                            .all(|&v| v.to_bits() == GUARD_VALUE.to_bits()),
                        "{} {} len {len}: guard before written",
                        f.name,
                        b.name()
                    );
                    assert!(
                        out_buf[start + len..]
                            .iter()
                            .all(|&v| v.to_bits() == GUARD_VALUE.to_bits()),
                        "{} {} len {len}: guard after written",
                        f.name,
                        b.name()
                    );

                    // Per element, the slice result equals the single-element result.
                    for (i, &x) in src.iter().enumerate() {
                        let mut one = [0.0f32];
                        (f.run)(b, &[x], &mut one);
                        assert_eq!(
                            one[0].to_bits(),
                            out_buf[start + i].to_bits(),
                            "{} {} len {len} offset {offset} index {i}",
                            f.name,
                            b.name()
                        );
                    }

                    // In place on an unaligned sub-slice, with guards.
                    let mut data_buf = vec![GUARD_VALUE; GUARD + len + GUARD + offset];
                    data_buf[start..start + len].copy_from_slice(&src);
                    (f.run_inplace)(b, &mut data_buf[start..start + len]);
                    assert!(
                        same_bits(&data_buf[start..start + len], &out_buf[start..start + len]),
                        "{} {} len {len}: in-place differs",
                        f.name,
                        b.name()
                    );
                    assert!(
                        data_buf[..start]
                            .iter()
                            .chain(&data_buf[start + len..])
                            .all(|&v| v.to_bits() == GUARD_VALUE.to_bits()),
                        "{} {} len {len}: in-place guard written",
                        f.name,
                        b.name()
                    );
                }
            }
        }
    }
}

#[test]
fn softmax_every_length_and_offset_with_guards() {
    for b in backends() {
        for len in 0..=67usize {
            for offset in 0..8usize {
                let src: Vec<f32> = inputs(len, len as u32 + 7)
                    .into_iter()
                    .map(|v| if v.is_finite() { v } else { 1.5 })
                    .collect();
                let mut out_buf = vec![GUARD_VALUE; GUARD + len + GUARD + offset];
                let start = GUARD + offset;
                b.softmax(&src, &mut out_buf[start..start + len]);
                assert!(
                    out_buf[..start]
                        .iter()
                        .chain(&out_buf[start + len..])
                        .all(|&v| v.to_bits() == GUARD_VALUE.to_bits()),
                    "softmax {} len {len}: guard written",
                    b.name()
                );
                let mut data = vec![GUARD_VALUE; GUARD + len + GUARD + offset];
                data[start..start + len].copy_from_slice(&src);
                b.softmax_inplace(&mut data[start..start + len]);
                assert!(
                    same_bits(&data, &out_buf),
                    "softmax {} len {len}: in place differs",
                    b.name()
                );
                if len > 0 {
                    let sum: f64 = out_buf[start..start + len].iter().map(|&v| v as f64).sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-5,
                        "softmax {} len {len}: sum {sum}",
                        b.name()
                    );
                }
            }
        }
    }
}

#[test]
fn top_level_functions_dispatch_to_the_active_backend() {
    let b = simd_kernels::active_backend();
    let x = inputs(67, 3);
    let mut a = vec![0.0; 67];
    let mut c = vec![0.0; 67];
    macro_rules! same {
        ($f:ident $(, $arg:expr)*) => {{
            simd_kernels::$f(&x, &mut a $(, $arg)*);
            b.$f(&x, &mut c $(, $arg)*);
            assert!(same_bits(&a, &c), stringify!($f));
        }};
    }
    same!(relu);
    same!(leaky_relu, 0.1);
    same!(sigmoid);
    same!(tanh);
    same!(gelu);
    same!(gelu_tanh);
    same!(silu);
    same!(elu, 1.0);
    same!(exp);
    let mut d = x.clone();
    simd_kernels::gelu_inplace(&mut d);
    b.gelu(&x, &mut c);
    assert!(same_bits(&d, &c));
}

/// Outputs of 8 MiB and more take the streaming-store path (aligned head, streamed body,
/// tail): same bits as small slices, guards untouched, for every misalignment of the output.
#[test]
fn large_outputs_take_the_streaming_path_correctly() {
    let len = (2 << 20) + 13;
    let src = inputs(len, 99);
    for b in backends() {
        for f in functions() {
            // Reference: the same backend on small (non-streaming) pieces.
            let mut want = vec![0.0f32; len];
            for (i, o) in src.chunks(1000).zip(want.chunks_mut(1000)) {
                (f.run)(b, i, o);
            }
            for offset in [0usize, 3] {
                let mut out_buf = vec![GUARD_VALUE; GUARD + len + GUARD + offset];
                let start = GUARD + offset;
                (f.run)(b, &src, &mut out_buf[start..start + len]);
                assert!(
                    same_bits(&out_buf[start..start + len], &want),
                    "{} {} offset {offset}",
                    f.name,
                    b.name()
                );
                assert!(
                    out_buf[..start]
                        .iter()
                        .chain(&out_buf[start + len..])
                        .all(|&v| v.to_bits() == GUARD_VALUE.to_bits()),
                    "{} {} offset {offset}: guard written",
                    f.name,
                    b.name()
                );
            }
        }
    }
}
