//! Event structure: post–pre–post triplets, and the event-driven per-synapse state machine.
//!
//! A pre spike at `t` contributes one triplet term `dw(t2 − t, t2 − t1, w)` for the
//! neighbouring post spikes `t1 < t < t2` (strict inequalities: a pre spike at the same time
//! as a post spike forms no triplet). The update is post-hoc: it is applied at `t2`; if the
//! neuron never fires again nothing is updated.

use std::collections::VecDeque;
use std::fmt;

use super::kernel::{dw, w_ltd};
use super::params::{FepParamError, FepParams};

/// Default depth (ms) of the pending pre-spike window (the LUT depth N of the fixed-point
/// design, 1 ms bins).
pub const DEFAULT_TABLE_DEPTH_MS: f64 = 256.0;

/// All post–pre–post triplets `(dt1, dt2)` (ms) of the given spike trains (ms).
///
/// Both trains are sorted first (inputs need not be sorted). For each pair of neighbouring
/// post spikes `t1 < t2` (in sorted order) and each pre spike with `t1 < t_pre < t2`, yields
/// `(t2 − t_pre, t2 − t1)`, ordered by `t2` then by `t_pre`, as `fep_ref.triplets`.
/// NaN spike times are ignored (they never satisfy the strict inequalities).
pub fn triplets(pre: &[f64], post: &[f64]) -> Vec<(f64, f64)> {
    let mut pre: Vec<f64> = pre.iter().copied().filter(|t| !t.is_nan()).collect();
    let mut post: Vec<f64> = post.iter().copied().filter(|t| !t.is_nan()).collect();
    pre.sort_by(f64::total_cmp);
    post.sort_by(f64::total_cmp);
    let mut out = Vec::new();
    let mut k = 0usize;
    for pair in post.windows(2) {
        let (t1, t2) = (pair[0], pair[1]);
        while k < pre.len() && pre[k] <= t1 {
            k += 1;
        }
        let mut m = k;
        while m < pre.len() && pre[m] < t2 {
            out.push((t2 - pre[m], t2 - t1));
            m += 1;
        }
    }
    out
}

/// Sum of `dw` (1/units of w) over all triplets of the trains at the fixed weight `w`
/// (`fep_ref.total_dw`; 0 when there is no triplet). Summed sequentially in triplet order.
pub fn total_dw(p: &FepParams, pre: &[f64], post: &[f64], w: f64) -> f64 {
    triplets(pre, post)
        .iter()
        .map(|&(x, t)| dw(p, x, t, w))
        .sum()
}

/// One spike event for [`FepSynapse`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpikeEvent {
    /// Pre-synaptic spike at the given time (ms).
    Pre(f64),
    /// Post-synaptic spike at the given time (ms).
    Post(f64),
}

impl SpikeEvent {
    /// Time of the event (ms).
    pub fn time(&self) -> f64 {
        match *self {
            SpikeEvent::Pre(t) | SpikeEvent::Post(t) => t,
        }
    }
}

/// Merges two spike trains (ms) into one time-ordered event list. Each train is sorted
/// first; at equal times pre events come before post events (the order does not change the
/// result: a pre spike at a post spike's time forms no triplet either way).
pub fn merge_events(pre: &[f64], post: &[f64]) -> Vec<SpikeEvent> {
    let mut ev: Vec<SpikeEvent> = pre
        .iter()
        .map(|&t| SpikeEvent::Pre(t))
        .chain(post.iter().map(|&t| SpikeEvent::Post(t)))
        .collect();
    ev.sort_by(|a, b| {
        a.time().total_cmp(&b.time()).then_with(|| {
            let rank = |e: &SpikeEvent| matches!(e, SpikeEvent::Post(_)) as u8;
            rank(a).cmp(&rank(b))
        })
    });
    ev
}

/// Rejected input to [`FepSynapse`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FepEventError {
    /// The spike time is NaN or infinite.
    NonFiniteTime { t: f64 },
    /// The spike time is earlier than an event already received.
    OutOfOrder { t: f64, last: f64 },
    /// The initial weight is not finite or below `w_min`.
    InvalidWeight { w: f64, w_min: f64 },
    /// The table depth is not finite or not positive.
    InvalidDepth { depth_ms: f64 },
    /// The parameters are invalid.
    Params(FepParamError),
}

impl fmt::Display for FepEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FepEventError::NonFiniteTime { t } => write!(f, "spike time {t} is not finite"),
            FepEventError::OutOfOrder { t, last } => {
                write!(f, "spike at {t} ms arrives after an event at {last} ms")
            }
            FepEventError::InvalidWeight { w, w_min } => {
                write!(
                    f,
                    "initial weight {w} must be finite and >= w_min = {w_min}"
                )
            }
            FepEventError::InvalidDepth { depth_ms } => {
                write!(f, "table depth {depth_ms} ms must be finite and > 0")
            }
            FepEventError::Params(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FepEventError {}

impl From<FepParamError> for FepEventError {
    fn from(e: FepParamError) -> Self {
        FepEventError::Params(e)
    }
}

/// What a post spike committed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostUpdate {
    /// Time of the post spike `t2` (ms).
    pub t_post: f64,
    /// Pre spikes evaluated with the exact kernel (`dt1 < depth`).
    pub n_live: usize,
    /// Pre spikes committed from the folded accumulators (`dt1 ≥ depth`).
    pub n_folded: u64,
    /// Raw update `Σ dw` over the triplets ending at `t2` (1/units of w), before `eta`.
    pub dw: f64,
    /// Weight before the update (units of w).
    pub w_before: f64,
    /// Weight after `w + eta·dw` and the clamp at `w_min` (units of w).
    pub w_after: f64,
    /// Whether the clamp at `w_min` was applied.
    pub clamped: bool,
}

/// Event-driven state of one synapse.
///
/// Receives pre and post spikes in time order. State: the weight `w`, the last post spike
/// `t1`, the pending pre spikes of the current post ISI that are younger than the table depth
/// `D`, and two accumulators for the older ones. When a pending pre spike's age reaches `D`
/// (checked at every event and in [`FepSynapse::advance`]), its eventual `dt1` is at least
/// `D`, where `W_LTP ≈ 0` and the kernel depends only on `s = t_pre − t1`; it is folded into
/// `Σ W_LTD(D, D + s)` (i.e. `dt1` saturated at `D`) and a count for the `1/(2w)` term. At the
/// next post spike `t2` the machine commits
/// `Σ_live dw(t2 − t_pre, t2 − t1, w) − (c + w)·Σ_folded W_LTD + n_folded/(2w)`
/// (`c = (1 − r0)/(2 r0)`; `W_LTP` of folded spikes is dropped). `w` is constant between post
/// spikes, so committing the fold at `t2` with the current `w` is exact apart from the
/// saturation of `dt1`. Then `w ← max(w + eta·Σdw, w_min)` (clamps are counted).
///
/// With spike times on a 1 ms grid and at most one pre spike per ms, the pending list holds at
/// most `D` entries. Pre spikes before the first post spike form no triplet and are dropped.
/// With an infinite depth ([`FepSynapse::unbounded`]) nothing is folded and the machine
/// reproduces [`total_dw`] term by term.
#[derive(Debug, Clone)]
pub struct FepSynapse {
    params: FepParams,
    depth_ms: f64,
    w: f64,
    /// Upper clamp (`+inf` unless [`FepSynapse::with_w_max`]).
    w_max: f64,
    last_post: Option<f64>,
    last_event: Option<f64>,
    pending: VecDeque<f64>,
    fold_ltd_sum: f64,
    fold_count: u64,
    clamp_count: u64,
    committed_dw: f64,
    committed_live: u64,
    committed_folded: u64,
    max_pending: usize,
}

impl FepSynapse {
    /// New synapse with weight `w0` (units of w) and the default depth of 256 ms.
    pub fn new(params: FepParams, w0: f64) -> Result<Self, FepEventError> {
        Self::with_depth(params, w0, DEFAULT_TABLE_DEPTH_MS)
    }

    /// New synapse with a pending-window depth of `depth_ms` (ms) (`f64::INFINITY`: never
    /// fold).
    pub fn with_depth(params: FepParams, w0: f64, depth_ms: f64) -> Result<Self, FepEventError> {
        params.validate()?;
        if depth_ms.is_nan() || depth_ms <= 0.0 {
            return Err(FepEventError::InvalidDepth { depth_ms });
        }
        if !w0.is_finite() || w0 < params.w_min {
            return Err(FepEventError::InvalidWeight {
                w: w0,
                w_min: params.w_min,
            });
        }
        Ok(FepSynapse {
            params,
            depth_ms,
            w: w0,
            w_max: f64::INFINITY,
            last_post: None,
            last_event: None,
            pending: VecDeque::new(),
            fold_ltd_sum: 0.0,
            fold_count: 0,
            clamp_count: 0,
            committed_dw: 0.0,
            committed_live: 0,
            committed_folded: 0,
            max_pending: 0,
        })
    }

    /// New synapse that never folds (exact kernel for every pre spike).
    pub fn unbounded(params: FepParams, w0: f64) -> Result<Self, FepEventError> {
        Self::with_depth(params, w0, f64::INFINITY)
    }

    /// The same synapse with an upper weight bound: after every update
    /// `w ← min(max(w + eta·Σdw, w_min), w_max)` (the network reference uses the IR's
    /// `w_max`; the Python reference has no upper bound). A `w_max` below `w_min` acts as
    /// `w_min`. Only clamps at `w_min` are counted by [`FepSynapse::clamp_count`].
    pub fn with_w_max(mut self, w_max: f64) -> Self {
        self.w_max = w_max;
        self
    }

    /// Current weight (units of w).
    pub fn w(&self) -> f64 {
        self.w
    }
    /// Parameters.
    pub fn params(&self) -> &FepParams {
        &self.params
    }
    /// Pending-window depth (ms).
    pub fn depth_ms(&self) -> f64 {
        self.depth_ms
    }
    /// Last post spike `t1` (ms), if any.
    pub fn last_post(&self) -> Option<f64> {
        self.last_post
    }
    /// Number of pre spikes currently pending with their exact time.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
    /// Largest pending length seen so far.
    pub fn max_pending_len(&self) -> usize {
        self.max_pending
    }
    /// Current folded accumulators `(Σ W_LTD(D, D + s), count)`, not yet committed.
    pub fn folded(&self) -> (f64, u64) {
        (self.fold_ltd_sum, self.fold_count)
    }
    /// Number of post spikes at which the clamp `w ≥ w_min` was applied.
    pub fn clamp_count(&self) -> u64 {
        self.clamp_count
    }
    /// Sum of all committed raw updates `Σ dw` (before `eta`) (1/units of w).
    pub fn committed_dw(&self) -> f64 {
        self.committed_dw
    }
    /// Committed triplets `(live, folded)`.
    pub fn committed_triplets(&self) -> (u64, u64) {
        (self.committed_live, self.committed_folded)
    }

    fn check_time(&mut self, t: f64) -> Result<(), FepEventError> {
        if !t.is_finite() {
            return Err(FepEventError::NonFiniteTime { t });
        }
        if let Some(last) = self.last_event {
            if t < last {
                return Err(FepEventError::OutOfOrder { t, last });
            }
        }
        self.last_event = Some(t);
        Ok(())
    }

    /// Folds every pending pre spike whose age at time `t` (ms) is at least the depth.
    fn fold_aged(&mut self, t: f64) {
        let Some(t1) = self.last_post else { return };
        while let Some(&tp) = self.pending.front() {
            if t - tp < self.depth_ms {
                break;
            }
            self.pending.pop_front();
            let s = tp - t1;
            let d = self.depth_ms;
            self.fold_ltd_sum += w_ltd(&self.params, d, d + s);
            self.fold_count += 1;
        }
    }

    /// Advances the clock to `t` (ms) without a spike, folding aged pre spikes.
    pub fn advance(&mut self, t: f64) -> Result<(), FepEventError> {
        self.check_time(t)?;
        self.fold_aged(t);
        Ok(())
    }

    /// Pre-synaptic spike at `t` (ms). Returns whether it was queued (it is not when no post
    /// spike has occurred yet, or when it coincides with the last post spike).
    pub fn on_pre(&mut self, t: f64) -> Result<bool, FepEventError> {
        self.check_time(t)?;
        match self.last_post {
            Some(t1) if t > t1 => {
                self.fold_aged(t);
                self.pending.push_back(t);
                self.max_pending = self.max_pending.max(self.pending.len());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Post-synaptic spike at `t2` (ms): commits the post-hoc update of every pre spike in
    /// `(t1, t2)`, applies `w ← max(w + eta·Σdw, w_min)` and starts a new ISI.
    pub fn on_post(&mut self, t2: f64) -> Result<PostUpdate, FepEventError> {
        self.check_time(t2)?;
        let w_before = self.w;
        let Some(t1) = self.last_post else {
            self.last_post = Some(t2);
            self.pending.clear();
            return Ok(PostUpdate {
                t_post: t2,
                n_live: 0,
                n_folded: 0,
                dw: 0.0,
                w_before,
                w_after: w_before,
                clamped: false,
            });
        };
        self.fold_aged(t2);
        let p = self.params;
        let w = self.w;
        let dt2 = t2 - t1;
        let mut sum = 0.0;
        let mut n_live = 0usize;
        for &tp in &self.pending {
            if tp < t2 {
                sum += dw(&p, t2 - tp, dt2, w);
                n_live += 1;
            }
        }
        let n_folded = self.fold_count;
        if n_folded > 0 {
            sum += -(p.ltd_offset() + w) * self.fold_ltd_sum + n_folded as f64 / (2.0 * w);
        }
        let mut w_after = w + p.eta * sum;
        if w_after > self.w_max {
            w_after = self.w_max;
        }
        let clamped = w_after < p.w_min;
        if clamped {
            w_after = p.w_min;
            self.clamp_count += 1;
        }
        self.w = w_after;
        self.committed_dw += sum;
        self.committed_live += n_live as u64;
        self.committed_folded += n_folded;
        self.pending.clear();
        self.fold_ltd_sum = 0.0;
        self.fold_count = 0;
        self.last_post = Some(t2);
        Ok(PostUpdate {
            t_post: t2,
            n_live,
            n_folded,
            dw: sum,
            w_before,
            w_after,
            clamped,
        })
    }

    /// Feeds one event.
    pub fn on_event(&mut self, ev: SpikeEvent) -> Result<Option<PostUpdate>, FepEventError> {
        match ev {
            SpikeEvent::Pre(t) => self.on_pre(t).map(|_| None),
            SpikeEvent::Post(t) => self.on_post(t).map(Some),
        }
    }
}
