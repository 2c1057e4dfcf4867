//! f64 references built from `std` (`exp`, `exp_m1`, `tanh`) and an erfc written here (power
//! series below 2, continued fraction above; validated in `reference_check.rs`). None of it
//! shares code or coefficients with the crate.

/// `erfc(t)` for any real `t`, relative error ≈ 1e-15 (1e-13 near t = 2).
pub fn erfc(t: f64) -> f64 {
    if t.is_nan() {
        return t;
    }
    if t < 0.0 {
        return 2.0 - erfc(-t);
    }
    if t < 2.0 {
        // erf(t) = 2/√π·e^(−t²)·Σ 2^n t^(2n+1) / (1·3·…·(2n+1)): positive terms, no cancellation.
        let mut sum = 0.0;
        let mut term = t;
        let mut n = 0.0;
        while term > 1e-18 * sum || n < 1.0 {
            sum += term;
            n += 1.0;
            term *= 2.0 * t * t / (2.0 * n + 1.0);
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * (-t * t).exp() * sum
    } else if t > 27.0 {
        0.0
    } else {
        // erfc(t) = e^(−t²)/√π · 1/(t + (1/2)/(t + 1/(t + (3/2)/(t + …)))), evaluated backwards.
        let mut f = t;
        for k in (1..=200).rev() {
            f = t + (k as f64 / 2.0) / f;
        }
        (-t * t).exp() / std::f64::consts::PI.sqrt() / f
    }
}

pub fn relu(x: f32) -> f64 {
    if x < 0.0 { 0.0 } else { x as f64 }
}

pub fn leaky_relu(x: f32, alpha: f32) -> f64 {
    if x < 0.0 {
        alpha as f64 * x as f64
    } else {
        x as f64
    }
}

pub fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

pub fn sigmoid(x: f32) -> f64 {
    sigmoid64(x as f64)
}

pub fn tanh(x: f32) -> f64 {
    (x as f64).tanh()
}

pub fn gelu(x: f32) -> f64 {
    let x = x as f64;
    if x == f64::NEG_INFINITY {
        return -0.0;
    }
    0.5 * x * erfc(-x / std::f64::consts::SQRT_2)
}

/// `x·sigmoid(w)` = `x/2·(1 + tanh(w/2))`, `w = 2√(2/π)(x + 0.044715x³)`.
pub fn gelu_tanh(x: f32) -> f64 {
    let x = x as f64;
    if x.is_infinite() {
        return if x > 0.0 { x } else { -0.0 };
    }
    let w = 2.0 * (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    x * sigmoid64(w)
}

pub fn silu(x: f32) -> f64 {
    let x = x as f64;
    if x == f64::NEG_INFINITY {
        return -0.0;
    }
    x * sigmoid64(x)
}

pub fn elu(x: f32, alpha: f32) -> f64 {
    if x < 0.0 {
        alpha as f64 * (x as f64).exp_m1()
    } else {
        x as f64
    }
}

pub fn exp(x: f32) -> f64 {
    (x as f64).exp()
}

/// Softmax of a finite row in f64.
pub fn softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let e: Vec<f64> = row.iter().map(|&x| (x as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}
