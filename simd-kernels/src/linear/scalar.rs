//! The portable dense-layer loop over packed panels: one sequential sum per output, product
//! and sum each rounded (no fused multiply-add), so it runs on every target.

use super::PANEL;

/// `y = x·Wᵀ + b` over `panels` (the layout of [`super::PackedWeights`]).
///
/// The caller has checked `x.len() == batch·inputs`, `y.len() == batch·outputs` and that
/// `panels` holds `⌈outputs / PANEL⌉` panels of `PANEL·(inputs + 1)` floats.
pub(super) fn linear(
    x: &[f32],
    batch: usize,
    inputs: usize,
    panels: &[f32],
    y: &mut [f32],
    outputs: usize,
) {
    if outputs == 0 {
        return;
    }
    let panel_floats = PANEL * (inputs + 1);
    for row in 0..batch {
        let x_row = &x[row * inputs..][..inputs];
        let y_row = &mut y[row * outputs..][..outputs];
        for (panel, y_part) in panels
            .chunks_exact(panel_floats)
            .zip(y_row.chunks_mut(PANEL))
        {
            let (bias, weights) = panel.split_at(PANEL);
            let mut acc = [0.0f32; PANEL];
            acc.copy_from_slice(bias);
            for (&xk, w) in x_row.iter().zip(weights.chunks_exact(PANEL)) {
                for (a, &wj) in acc.iter_mut().zip(w) {
                    *a += xk * wj;
                }
            }
            y_part.copy_from_slice(&acc[..y_part.len()]);
        }
    }
}
