//! The documented results of softmax on rows where `e^(x − max)` is not defined, shared by
//! both backends so they agree bit for bit:
//!
//! * a row containing NaN → every output NaN;
//! * otherwise, a row containing `+∞` → the limit as those entries grow: each of the `k`
//!   `+∞` entries gets `1/k`, every other entry `+0`;
//! * otherwise, a row whose entries are all `−∞` → every output NaN (0/0: the row carries no
//!   probability mass; a fully masked row is reported, not silently made uniform);
//! * an empty row → nothing to do.
#![forbid(unsafe_code)]

/// Handles the special rows in place given the row's maximum over its non-NaN entries and
/// whether a NaN was seen. Returns `true` when the row was special and has been written.
pub(crate) fn apply(data: &mut [f32], max: f32, saw_nan: bool) -> bool {
    if data.is_empty() {
        return true;
    }
    if saw_nan || max == f32::NEG_INFINITY {
        data.fill(f32::NAN);
        return true;
    }
    if max == f32::INFINITY {
        let k = data.iter().filter(|&&x| x == f32::INFINITY).count();
        let share = (1.0f64 / k as f64) as f32;
        for v in data.iter_mut() {
            *v = if *v == f32::INFINITY { share } else { 0.0 };
        }
        return true;
    }
    false
}

/// Scans a row for its maximum; applies [`apply`] and returns `None` when the row is special,
/// else returns the finite maximum.
pub(crate) fn row_max_or_apply_limits(data: &mut [f32]) -> Option<f32> {
    let mut max = f32::NEG_INFINITY;
    let mut saw_nan = false;
    for &x in data.iter() {
        saw_nan |= x.is_nan();
        if x > max {
            max = x;
        }
    }
    if apply(data, max, saw_nan) {
        None
    } else {
        Some(max)
    }
}
