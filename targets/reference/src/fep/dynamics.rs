//! Ad-hoc (release) path and weight trajectories.

use super::events::{merge_events, FepEventError, FepSynapse, SpikeEvent};
use super::params::FepParams;
use super::rng::FepRng;

/// Stochastic release at a pre spike (Eq. 4): `y = r0·w + sqrt(s0·w)·eps`, `eps ~ N(0, 1)`
/// from `rng`, truncated at 0 (units of w). `s0 = r0·(1 − r0)`. Consumes one Gaussian.
/// Meaningful for `w ≥ 0`; a NaN sample (negative `w`) is truncated to 0 like the reference's
/// `max(0.0, y)`.
pub fn release(p: &FepParams, w: f64, rng: &mut FepRng) -> f64 {
    let y = p.r0 * w + (p.s0() * w).sqrt() * rng.standard_normal();
    if y > 0.0 {
        y
    } else {
        0.0
    }
}

/// Weight trajectory of one synapse driven by spike trains.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightTrace {
    /// `(t_post (ms), w after the update (units of w))` at every post spike.
    pub w_at_post: Vec<(f64, f64)>,
    /// Final weight (units of w).
    pub w_final: f64,
    /// Sum of all raw updates `Σ dw` (before `eta`) (1/units of w).
    pub total_dw: f64,
    /// Number of post spikes at which `w` was clamped at `w_min`.
    pub clamp_count: u64,
    /// Triplets committed with the exact kernel.
    pub n_live: u64,
    /// Triplets committed through the folded accumulators.
    pub n_folded: u64,
    /// Largest number of simultaneously pending pre spikes.
    pub max_pending: usize,
}

/// Runs a [`FepSynapse`] of depth `depth_ms` (ms) (`f64::INFINITY` for unbounded) from
/// weight `w0` over the merged trains `pre`, `post` (ms), with `w ← max(w + eta·dw, w_min)`
/// at every post spike.
pub fn simulate_weight(
    p: &FepParams,
    w0: f64,
    pre: &[f64],
    post: &[f64],
    depth_ms: f64,
) -> Result<WeightTrace, FepEventError> {
    let mut syn = FepSynapse::with_depth(*p, w0, depth_ms)?;
    let mut w_at_post = Vec::with_capacity(post.len());
    for ev in merge_events(pre, post) {
        if let Some(u) = syn.on_event(ev)? {
            debug_assert!(matches!(ev, SpikeEvent::Post(_)));
            w_at_post.push((u.t_post, u.w_after));
        }
    }
    let (n_live, n_folded) = syn.committed_triplets();
    Ok(WeightTrace {
        w_at_post,
        w_final: syn.w(),
        total_dw: syn.committed_dw(),
        clamp_count: syn.clamp_count(),
        n_live,
        n_folded,
        max_pending: syn.max_pending_len(),
    })
}
