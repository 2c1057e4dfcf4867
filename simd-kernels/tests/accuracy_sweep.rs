//! Accuracy sweep: every function, both backends, against the f64 references.
//!
//! Default: every 1021st f32 bit pattern (≈ 4.2 M inputs, all binades, both signs) plus every
//! 17th pattern with |x| in [2^−4, 2^7) where the functions bend, saturate and underflow
//! (≈ 10.9 M inputs).
//! `ZENSLAB_SWEEP_FULL=1`: every finite f32 (2^32 − 2^24 inputs per function and backend).
//! `ZENSLAB_SWEEP_BACKEND=avx2-fma` (or `scalar`): only that backend in the per-function
//! sweeps; one function is picked with the test name filter, e.g. `-- --exact silu`.
//! Prints the worst error and where it happens per function and backend, then asserts the
//! contract of the crate docs.

mod support;

use simd_kernels::Backend;
use support::{Func, backends, functions, is_subnormal_result, ulp_error};

const BLOCK: usize = 1 << 20;

#[derive(Default, Clone, Copy)]
struct Worst {
    ulp: f64,
    at: f32,
    sub_ulp: f64,
    sub_at: f32,
    checked: u64,
}

fn full_sweep() -> bool {
    std::env::var("ZENSLAB_SWEEP_FULL").is_ok_and(|v| v == "1")
}

/// Calls `f` with blocks of finite inputs covering the sweep.
fn for_each_block(mut f: impl FnMut(&[f32])) {
    let mut block = Vec::with_capacity(BLOCK);
    let mut flush = |block: &mut Vec<f32>, force: bool| {
        if block.len() == BLOCK || (force && !block.is_empty()) {
            f(block);
            block.clear();
        }
    };
    let mut push_range = |start: u64, end: u64, stride: u64, block: &mut Vec<f32>| {
        let mut bits = start;
        while bits < end {
            let x = f32::from_bits(bits as u32);
            if x.is_finite() {
                block.push(x);
                flush(block, false);
            }
            bits += stride;
        }
    };
    if full_sweep() {
        push_range(0, 1 << 32, 1, &mut block);
    } else {
        push_range(0, 1 << 32, 1021, &mut block);
        for sign in [0u64, 0x8000_0000] {
            let lo = 0.0625f32.to_bits() as u64 | sign;
            let hi = 128.0f32.to_bits() as u64 | sign;
            push_range(lo + 7, hi, 17, &mut block);
        }
    }
    flush(&mut block, true);
}

/// `ZENSLAB_SWEEP_BACKEND=<name>` (e.g. `avx2-fma`, `scalar`) restricts the per-function
/// sweeps to that backend (a full sweep of one function and backend, selected with the test
/// name filter, takes minutes instead of the whole run's tens of minutes).
fn selected_backends() -> Vec<Backend> {
    let only = std::env::var("ZENSLAB_SWEEP_BACKEND").ok();
    let list: Vec<Backend> = backends()
        .into_iter()
        .filter(|b| only.as_deref().is_none_or(|name| b.name() == name))
        .collect();
    assert!(
        !list.is_empty(),
        "ZENSLAB_SWEEP_BACKEND={only:?} matches no available backend"
    );
    list
}

fn sweep(func: &Func) {
    let backends = selected_backends();
    let mut worst = vec![Worst::default(); backends.len()];
    let mut out = vec![0.0f32; BLOCK];
    let mut failures = Vec::new();
    for_each_block(|inputs| {
        let want: Vec<f64> = inputs.iter().map(|&x| (func.reference)(x)).collect();
        for (b, w) in backends.iter().zip(worst.iter_mut()) {
            let out = &mut out[..inputs.len()];
            (func.run)(*b, inputs, out);
            for ((&x, &got), &want) in inputs.iter().zip(out.iter()).zip(&want) {
                let err = ulp_error(got, want);
                w.checked += 1;
                if is_subnormal_result(want) {
                    if err > w.sub_ulp || err.is_nan() {
                        w.sub_ulp = err;
                        w.sub_at = x;
                    }
                } else if err > w.ulp || err.is_nan() {
                    w.ulp = err;
                    w.at = x;
                }
                let bound = if is_subnormal_result(want) {
                    func.max_subnormal_ulp
                } else {
                    func.max_ulp
                };
                if err > bound && failures.len() < 10 {
                    failures.push(format!(
                        "{} {}: f({x:e} = {:#010x}) = {got:e}, want {want:e} ({err:.3} ULP)",
                        func.name,
                        b.name(),
                        x.to_bits()
                    ));
                }
            }
        }
    });
    for (b, w) in backends.iter().zip(&worst) {
        println!(
            "SWEEP {:<10} {:<8} inputs {:>10}  worst {:.3} ULP at x = {:e}  subnormal-range worst {:.3} × 2^-149 at x = {:e}",
            func.name,
            b.name(),
            w.checked,
            w.ulp,
            w.at,
            w.sub_ulp,
            w.sub_at
        );
    }
    assert!(
        failures.is_empty(),
        "contract violated:\n{}",
        failures.join("\n")
    );
}

fn func(name: &str) -> Func {
    functions().into_iter().find(|f| f.name == name).unwrap()
}

macro_rules! sweep_tests {
    ($($name:ident),*) => { $(
        #[test]
        fn $name() {
            sweep(&func(stringify!($name)));
        }
    )* };
}

sweep_tests!(
    relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, elu, exp
);

/// ELU with other slopes (SELU's alpha among them), coarser stride.
#[test]
fn elu_other_alphas() {
    for alpha in [0.5f32, 1.673_263_2, 3.0] {
        for b in backends() {
            let mut worst = 0.0f64;
            let mut at = 0.0f32;
            let inputs: Vec<f32> = (0..1u64 << 32)
                .step_by(40_009)
                .map(|bits| f32::from_bits(bits as u32))
                .filter(|x| x.is_finite())
                .collect();
            let mut out = vec![0.0; inputs.len()];
            b.elu(&inputs, &mut out, alpha);
            for (&x, &got) in inputs.iter().zip(&out) {
                let e = ulp_error(got, support::reference::elu(x, alpha));
                if e > worst {
                    worst = e;
                    at = x;
                }
            }
            println!(
                "SWEEP elu(alpha={alpha}) {:<8} worst {worst:.3} ULP at x = {at:e}",
                b.name()
            );
            assert!(
                worst <= 1.0,
                "elu alpha {alpha} on {}: {worst} ULP at {at:e}",
                b.name()
            );
        }
    }
}

/// Softmax on random-ish finite rows of many lengths and spreads.
#[test]
fn softmax_accuracy() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for b in backends() {
        let mut worst = 0.0f64;
        let mut worst_sub = 0.0f64;
        for len in [1usize, 2, 3, 7, 8, 9, 31, 64, 100, 1000, 4099] {
            for spread in [0.1f64, 1.0, 10.0, 100.0, 1e4] {
                let row: Vec<f32> = (0..len)
                    .map(|_| {
                        ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32 * spread as f32
                    })
                    .collect();
                let mut out = vec![0.0; len];
                b.softmax(&row, &mut out);
                let want = support::reference::softmax(&row);
                for (&g, &w) in out.iter().zip(&want) {
                    let e = ulp_error(g, w);
                    if is_subnormal_result(w) {
                        worst_sub = worst_sub.max(e);
                    } else {
                        worst = worst.max(e);
                    }
                }
            }
        }
        println!(
            "SWEEP softmax    {:<8} worst {worst:.3} ULP, subnormal-range worst {worst_sub:.3} × 2^-149",
            b.name()
        );
        assert!(
            worst <= 3.0 && worst_sub <= 3.0,
            "softmax on {}: {worst} / {worst_sub}",
            b.name()
        );
    }
}

#[test]
fn backend_list_is_sane() {
    assert!(backends().contains(&Backend::Scalar));
}
