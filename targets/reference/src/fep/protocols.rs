//! Protocols of the reference experiments (`exp_stdp.py`, `exp_freq.py`, `exp_rate.py`,
//! `exp_fp.py`), returning plain data for `spikeforge verify`.
//!
//! Deterministic protocols (pairing) reproduce the reference value for value. Poisson
//! protocols use [`FepRng`], not numpy's generator, so they agree with the reference only in
//! distribution.

use std::fmt;

use super::events::triplets;
use super::kernel::{dw_from_parts, w_ltd, w_ltp};
use super::params::FepParams;
use super::rng::FepRng;

/// Time of the first pre spike of the pairing protocols (ms).
pub const PAIRING_OFFSET_MS: f64 = 200.0;
/// Post-synaptic refractoriness of the Poisson protocols (ms).
pub const POST_REFRACTORY_MS: f64 = 2.0;
/// Default bracket `[lo, hi]` (units of w) of the fixed-point search (the reference's).
pub const FIXED_POINT_BRACKET: (f64, f64) = (0.05, 100.0);

/// Pairing trains (ms): pre spikes at `k·period_ms + 200`, `k = 0..n_pairs`, and post spikes
/// at `pre + lag_ms` (`lag = t_post − t_pre`).
pub fn pairing_trains(n_pairs: usize, period_ms: f64, lag_ms: f64) -> (Vec<f64>, Vec<f64>) {
    let pre: Vec<f64> = (0..n_pairs)
        .map(|k| k as f64 * period_ms + PAIRING_OFFSET_MS)
        .collect();
    let post = pre.iter().map(|&t| t + lag_ms).collect();
    (pre, post)
}

/// Result of one pairing protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairingPoint {
    /// `t_post − t_pre` (ms).
    pub lag_ms: f64,
    /// Pairing period (ms).
    pub period_ms: f64,
    /// `Σ dw` over all triplets (1/units of w).
    pub total_dw: f64,
    /// Number of triplets (`n_pairs − 1` when `|lag| < period`).
    pub n_triplets: usize,
    /// `total_dw / n_triplets` (NaN without triplets).
    pub mean_dw: f64,
}

/// `n_pairs` pre/post pairs with period `period_ms` (ms) and lag `lag_ms` (ms) at weight `w`.
pub fn pairing(p: &FepParams, w: f64, lag_ms: f64, n_pairs: usize, period_ms: f64) -> PairingPoint {
    let (pre, post) = pairing_trains(n_pairs, period_ms, lag_ms);
    let tr = triplets(&pre, &post);
    let total: f64 = tr.iter().map(|&(x, t)| super::kernel::dw(p, x, t, w)).sum();
    PairingPoint {
        lag_ms,
        period_ms,
        total_dw: total,
        n_triplets: tr.len(),
        mean_dw: total / tr.len() as f64,
    }
}

/// STDP window: one [`pairing`] per lag (ms) at `rate_hz` (period `1000/rate_hz` ms).
/// The reference uses 10 pairs (Fig. 2F, total dw) and 60 pairs (per-triplet window).
pub fn stdp_window(
    p: &FepParams,
    w: f64,
    lags_ms: &[f64],
    n_pairs: usize,
    rate_hz: f64,
) -> Vec<PairingPoint> {
    let period = 1000.0 / rate_hz;
    lags_ms
        .iter()
        .map(|&lag| pairing(p, w, lag, n_pairs, period))
        .collect()
}

/// Pairing-frequency dependence: one [`pairing`] per frequency (Hz) at a fixed lag (ms).
pub fn pairing_frequency(
    p: &FepParams,
    w: f64,
    lag_ms: f64,
    freqs_hz: &[f64],
    n_pairs: usize,
) -> Vec<PairingPoint> {
    freqs_hz
        .iter()
        .map(|&f| pairing(p, w, lag_ms, n_pairs, 1000.0 / f))
        .collect()
}

/// Homogeneous Poisson train of `rate_hz` (Hz) on `[0, duration_ms)` (ms), sorted, built from
/// exponential inter-spike intervals (mean `1000/rate_hz` ms). Equal in distribution to the
/// reference's "Poisson count, then sorted uniform times". Empty for `rate_hz ≤ 0`.
pub fn poisson_train(rate_hz: f64, duration_ms: f64, rng: &mut FepRng) -> Vec<f64> {
    let mut out = Vec::new();
    let positive = |x: f64| x > 0.0; // false for NaN
    if !positive(rate_hz) || !positive(duration_ms) {
        return out;
    }
    let mean_isi = 1000.0 / rate_hz;
    let mut t = rng.exponential(mean_isi);
    while t < duration_ms {
        out.push(t);
        t += rng.exponential(mean_isi);
    }
    out
}

/// The reference's refractoriness filter: keeps the first spike and every spike whose
/// distance to the preceding spike *of the input* is at least `min_isi_ms` (ms)
/// (`post[concatenate(([True], diff(post) >= min_isi))]`). Input must be sorted.
pub fn refractory_filter(train: &[f64], min_isi_ms: f64) -> Vec<f64> {
    train
        .iter()
        .enumerate()
        .filter(|&(i, &t)| i == 0 || t - train[i - 1] >= min_isi_ms)
        .map(|(_, &t)| t)
        .collect()
}

/// Poisson rate map: mean total `dw` over repetitions, rows = post rates, columns = pre rates.
#[derive(Debug, Clone, PartialEq)]
pub struct RateMap {
    /// Pre-synaptic rates (Hz) (columns).
    pub pre_rates_hz: Vec<f64>,
    /// Post-synaptic rates (Hz) (rows), before the refractoriness filter.
    pub post_rates_hz: Vec<f64>,
    /// Duration of one repetition (ms).
    pub duration_ms: f64,
    /// Repetitions per cell.
    pub reps: usize,
    /// Weight (units of w).
    pub w: f64,
    /// `mean[i][j]`: mean over repetitions of the total dw of one repetition.
    pub mean: Vec<Vec<f64>>,
    /// `sem[i][j]`: standard error of `mean[i][j]` (sample SD / sqrt(reps)).
    pub sem: Vec<Vec<f64>>,
}

/// Rate map as `exp_rate.py` (post trains with [`POST_REFRACTORY_MS`]), seeded with `seed`.
pub fn rate_map(
    p: &FepParams,
    w: f64,
    pre_rates_hz: &[f64],
    post_rates_hz: &[f64],
    duration_ms: f64,
    reps: usize,
    seed: u64,
) -> RateMap {
    let mut rng = FepRng::new(seed);
    let mut mean = Vec::with_capacity(post_rates_hz.len());
    let mut sem = Vec::with_capacity(post_rates_hz.len());
    for &rpost in post_rates_hz {
        let mut mrow = Vec::with_capacity(pre_rates_hz.len());
        let mut srow = Vec::with_capacity(pre_rates_hz.len());
        for &rpre in pre_rates_hz {
            let vals: Vec<f64> = (0..reps)
                .map(|_| {
                    let post = refractory_filter(
                        &poisson_train(rpost, duration_ms, &mut rng),
                        POST_REFRACTORY_MS,
                    );
                    let pre = poisson_train(rpre, duration_ms, &mut rng);
                    super::events::total_dw(p, &pre, &post, w)
                })
                .collect();
            let (m, s) = mean_sem(&vals);
            mrow.push(m);
            srow.push(s);
        }
        mean.push(mrow);
        sem.push(srow);
    }
    RateMap {
        pre_rates_hz: pre_rates_hz.to_vec(),
        post_rates_hz: post_rates_hz.to_vec(),
        duration_ms,
        reps,
        w,
        mean,
        sem,
    }
}

/// Mean and standard error (sample SD with n − 1, divided by sqrt(n)); SEM is 0 for n < 2.
pub fn mean_sem(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Failure of the fixed-point search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootError {
    /// The bracket is not `0 < lo < hi` with finite ends.
    InvalidBracket { lo: f64, hi: f64 },
    /// `f(lo)` and `f(hi)` have the same sign (or one is NaN).
    NoSignChange {
        lo: f64,
        hi: f64,
        f_lo: f64,
        f_hi: f64,
    },
    /// The spike trains contain no triplet, so total dw is not informative.
    NoTriplets,
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootError::InvalidBracket { lo, hi } => write!(f, "invalid bracket [{lo}, {hi}]"),
            RootError::NoSignChange { lo, hi, f_lo, f_hi } => write!(
                f,
                "no sign change of total dw on [{lo}, {hi}]: f(lo) = {f_lo}, f(hi) = {f_hi}"
            ),
            RootError::NoTriplets => write!(f, "spike trains contain no post-pre-post triplet"),
        }
    }
}

impl std::error::Error for RootError {}

/// Bisection root of `f` on `[lo, hi]`, run to full f64 convergence (at most 200 halvings),
/// with the reference's update rule (`hi = m` if `f(lo)·f(m) ≤ 0`, else `lo = m`).
pub fn bisect(mut f: impl FnMut(f64) -> f64, lo: f64, hi: f64) -> Result<f64, RootError> {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(RootError::InvalidBracket { lo, hi });
    }
    let (f_lo, f_hi) = (f(lo), f(hi));
    let bracketed = f_lo * f_hi <= 0.0; // false if either is NaN
    if !bracketed {
        return Err(RootError::NoSignChange { lo, hi, f_lo, f_hi });
    }
    let (mut lo, mut hi, mut f_lo) = (lo, hi, f_lo);
    for _ in 0..200 {
        let m = 0.5 * (lo + hi);
        if m <= lo || m >= hi {
            break;
        }
        let f_m = f(m);
        if f_lo * f_m <= 0.0 {
            hi = m;
        } else {
            lo = m;
            f_lo = f_m;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// Per-triplet `(W_LTP, W_LTD)` of the trains.
fn triplet_parts(p: &FepParams, pre: &[f64], post: &[f64]) -> Vec<(f64, f64)> {
    triplets(pre, post)
        .iter()
        .map(|&(x, t)| (w_ltp(p, x, t), w_ltd(p, x, t)))
        .collect()
}

/// Self-stabilising fixed point `w*` (units of w): root of `total_dw(pre, post, w)` in the
/// bracket `[lo, hi]`, by [`bisect`] (the reference's method).
pub fn fixed_point(
    p: &FepParams,
    pre: &[f64],
    post: &[f64],
    (lo, hi): (f64, f64),
) -> Result<f64, RootError> {
    let parts = triplet_parts(p, pre, post);
    if parts.is_empty() {
        return Err(RootError::NoTriplets);
    }
    bisect(
        |w| parts.iter().map(|&(l, d)| dw_from_parts(p, l, d, w)).sum(),
        lo,
        hi,
    )
}

/// Closed form of `w*`. `total_dw(w) = L − (c + w)·D + n/(2w)` with `L = Σ W_LTP`,
/// `D = Σ W_LTD`, `n` triplets, `c = (1 − r0)/(2 r0)`, so `w*` is the positive root of
/// `D·w² − (L − c·D)·w − n/2 = 0`; unique when `D > 0` (the product of the roots is
/// `−n/(2D) < 0`), and `total_dw` is then strictly decreasing in `w`. `None` without
/// triplets or when `D ≤ 0`.
pub fn fixed_point_closed_form(p: &FepParams, pre: &[f64], post: &[f64]) -> Option<f64> {
    let parts = triplet_parts(p, pre, post);
    let n = parts.len() as f64;
    let l: f64 = parts.iter().map(|x| x.0).sum();
    let d: f64 = parts.iter().map(|x| x.1).sum();
    if parts.is_empty() || d.is_nan() || d <= 0.0 {
        return None;
    }
    let bq = l - p.ltd_offset() * d;
    let disc = (bq * bq + 2.0 * d * n).sqrt();
    // Cancellation-free form of (bq + disc)/(2d).
    Some(if bq >= 0.0 {
        (bq + disc) / (2.0 * d)
    } else {
        n / (disc - bq)
    })
}

/// `w*` of the pairing protocol (`n_pairs` pairs, period (ms), lag (ms)) in
/// [`FIXED_POINT_BRACKET`].
pub fn pairing_fixed_point(
    p: &FepParams,
    lag_ms: f64,
    n_pairs: usize,
    period_ms: f64,
) -> Result<f64, RootError> {
    let (pre, post) = pairing_trains(n_pairs, period_ms, lag_ms);
    fixed_point(p, &pre, &post, FIXED_POINT_BRACKET)
}

/// Poisson trains of one protocol: `(pre, post)` (ms), post filtered with
/// [`POST_REFRACTORY_MS`]; pre drawn first, then post (as `exp_fp.py`).
pub fn poisson_pair(
    pre_rate_hz: f64,
    post_rate_hz: f64,
    duration_ms: f64,
    rng: &mut FepRng,
) -> (Vec<f64>, Vec<f64>) {
    let pre = poisson_train(pre_rate_hz, duration_ms, rng);
    let post = refractory_filter(
        &poisson_train(post_rate_hz, duration_ms, rng),
        POST_REFRACTORY_MS,
    );
    (pre, post)
}

/// `w*` of a Poisson protocol (`exp_fp.py`: 200 s) with a generator seeded by `seed`, in
/// [`FIXED_POINT_BRACKET`].
pub fn poisson_fixed_point(
    p: &FepParams,
    pre_rate_hz: f64,
    post_rate_hz: f64,
    duration_ms: f64,
    seed: u64,
) -> Result<f64, RootError> {
    let mut rng = FepRng::new(seed);
    let (pre, post) = poisson_pair(pre_rate_hz, post_rate_hz, duration_ms, &mut rng);
    fixed_point(p, &pre, &post, FIXED_POINT_BRACKET)
}
