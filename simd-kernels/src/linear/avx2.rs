//! The AVX2+FMA dense-layer microkernel: register tiles of `R` rows of `x` × `G` panels of
//! [`PANEL`] outputs, accumulated in `2·R·G` ymm registers (at most 12, leaving room for the
//! weight vectors and the broadcast).
//!
//! Full blocks of [`ROWS`] rows use one panel per tile (12 accumulators, 2 weight loads and
//! 6 broadcasts per 12 FMAs: FMA-bound on two FMA pipes). The last `batch % ROWS` rows take
//! several panels per tile instead, so a single row (batch 1, a matrix–vector product) still
//! keeps 8 independent FMA chains in flight. The loop over panels is outside the loop over
//! rows: a panel (`64·(inputs + 1)` bytes) stays in L1 while every row passes over it.
//! Each output is one `vfmadd` chain over `k` in order, starting from the bias: the error
//! bound of the [module docs](super) holds.

use super::PANEL;
use core::arch::x86_64::{
    __m256, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps,
    _mm256_storeu_ps,
};

/// Rows of `x` per full register tile.
const ROWS: usize = 6;

/// Where one call's operands live; all pointers are the starts of the checked slices.
struct Operands {
    x: *const f32,
    inputs: usize,
    panels: *const f32,
    panel_floats: usize,
    y: *mut f32,
    outputs: usize,
}

/// `y = x·Wᵀ + b` over `panels` (the layout of [`super::PackedWeights`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA with YMM state enabled by the OS. The caller has checked
/// `x.len() == batch·inputs`, `y.len() == batch·outputs` and that `panels` holds
/// `⌈outputs / PANEL⌉` panels of `PANEL·(inputs + 1)` floats.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn linear(
    x: &[f32],
    batch: usize,
    inputs: usize,
    panels: &[f32],
    y: &mut [f32],
    outputs: usize,
) {
    debug_assert!(x.len() == batch * inputs && y.len() == batch * outputs);
    debug_assert!(panels.len() == outputs.div_ceil(PANEL) * PANEL * (inputs + 1));
    if batch == 0 || outputs == 0 {
        return;
    }
    let ops = Operands {
        x: x.as_ptr(),
        inputs,
        panels: panels.as_ptr(),
        panel_floats: PANEL * (inputs + 1),
        y: y.as_mut_ptr(),
        outputs,
    };
    let n_panels = outputs.div_ceil(PANEL);
    let full = batch / ROWS * ROWS;
    for panel in 0..n_panels {
        for row in (0..full).step_by(ROWS) {
            // SAFETY: rows `row..row + ROWS` are below `batch` and `panel < n_panels`, which
            // with the caller's checks is what `tile` requires; the features are ours.
            unsafe { tile::<ROWS, 1>(&ops, row, panel) };
        }
    }
    // SAFETY: the last `batch - full < ROWS` rows, every panel: as above.
    unsafe {
        match batch - full {
            0 => {}
            1 => rows::<1, 4>(&ops, full, n_panels),
            2 => rows::<2, 3>(&ops, full, n_panels),
            3 => rows::<3, 2>(&ops, full, n_panels),
            4 => rows::<4, 1>(&ops, full, n_panels),
            _ => rows::<5, 1>(&ops, full, n_panels),
        }
    }
}

/// Rows `row..row + R` against every panel, `G` panels per tile while `G` remain.
///
/// # Safety
/// As [`tile`] for each of the panels `0..n_panels`.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows<const R: usize, const G: usize>(ops: &Operands, row: usize, n_panels: usize) {
    let mut panel = 0;
    while panel + G <= n_panels {
        // SAFETY: panels `panel..panel + G` are below `n_panels`; the rest is the caller's.
        unsafe { tile::<R, G>(ops, row, panel) };
        panel += G;
    }
    while panel < n_panels {
        // SAFETY: as above, one panel.
        unsafe { tile::<R, 1>(ops, row, panel) };
        panel += 1;
    }
}

/// One register tile: rows `row..row + R` of `x` against panels `panel..panel + G`.
///
/// # Safety
/// AVX2 and FMA available; `ops` describes slices as [`linear`] requires; `row + R` is at most
/// the batch and `panel + G` at most the number of panels.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<const R: usize, const G: usize>(ops: &Operands, row: usize, panel: usize) {
    let k = ops.inputs;
    // SAFETY: panels `panel..panel + G` exist, so each start is inside `panels`.
    let w: [*const f32; G] =
        core::array::from_fn(|g| unsafe { ops.panels.add((panel + g) * ops.panel_floats) });
    // SAFETY: rows `row..row + R` exist, so each start is inside (or, for `inputs == 0`, one
    // past the end of) `x`; it is only read at `k < inputs` below.
    let x: [*const f32; R] = core::array::from_fn(|r| unsafe { ops.x.add((row + r) * k) });

    let mut acc = [[[_mm256_setzero_ps(); 2]; G]; R];
    for g in 0..G {
        // SAFETY: the first `PANEL` floats of a panel are its bias.
        let bias = unsafe { [_mm256_loadu_ps(w[g]), _mm256_loadu_ps(w[g].add(8))] };
        for a in acc.iter_mut() {
            a[g] = bias;
        }
    }
    for kk in 0..k {
        let off = PANEL * (kk + 1);
        // SAFETY: `off + PANEL <= PANEL·(inputs + 1)`: row `kk` of each panel's weights.
        let wv: [[__m256; 2]; G] = core::array::from_fn(|g| unsafe {
            [
                _mm256_loadu_ps(w[g].add(off)),
                _mm256_loadu_ps(w[g].add(off + 8)),
            ]
        });
        for r in 0..R {
            // SAFETY: `kk < inputs`: element `kk` of row `row + r` of `x`.
            let xv = unsafe { _mm256_broadcast_ss(&*x[r].add(kk)) };
            for g in 0..G {
                acc[r][g][0] = _mm256_fmadd_ps(xv, wv[g][0], acc[r][g][0]);
                acc[r][g][1] = _mm256_fmadd_ps(xv, wv[g][1], acc[r][g][1]);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        for (g, a) in acc_row.iter().enumerate() {
            let col = (panel + g) * PANEL;
            let valid = PANEL.min(ops.outputs - col);
            // SAFETY: row `row + r` of `y` has `outputs` floats; `col + valid <= outputs`.
            let dst = unsafe { ops.y.add((row + r) * ops.outputs + col) };
            if valid == PANEL {
                // SAFETY: `dst..dst + PANEL` is inside that row (see above).
                unsafe {
                    _mm256_storeu_ps(dst, a[0]);
                    _mm256_storeu_ps(dst.add(8), a[1]);
                }
            } else {
                let mut buf = [0.0f32; PANEL];
                // SAFETY: `buf` holds `PANEL` floats; then `valid` floats are copied into the
                // row (inside it, see above; `buf` is a separate local, no overlap).
                unsafe {
                    _mm256_storeu_ps(buf.as_mut_ptr(), a[0]);
                    _mm256_storeu_ps(buf.as_mut_ptr().add(8), a[1]);
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), dst, valid);
                }
            }
        }
    }
}
