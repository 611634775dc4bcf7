//! Pair and triplet STDP, exact event-driven float64 semantics — the twin of
//! the sPyNNaker kernel rules (`spikeforge_kernel::spinnaker::stdp`).
//!
//! # Units (the IR's, `PairStdp` / `TripletStdp` in `network.proto`)
//!
//! * time constants in ms; spike times are integer steps, `t = step · dt`;
//! * weights and bounds in the projection's weight units;
//! * amplitudes: **additive** — weight units per unit trace (as sPyNNaker's
//!   one-term additive rule writes them, not scaled by `w_max`); for the
//!   triplet rule the same convention is used (sPyNNaker's triplet host code
//!   multiplies its dimensionless A's by `w_max`; the compiler divides an IR
//!   amplitude by `w_max` before handing it over); **multiplicative** —
//!   dimensionless.
//!
//! # Rules
//!
//! Traces jump by exactly 1 at their own spike and decay as
//! `exp(-Δt/τ)` between events, evaluated lazily at events (no time
//! stepping). `x` below is the trace value at the event.
//!
//! * Weight dependence, per event: additive `w += A+·x` / `w -= A-·x`;
//!   multiplicative `w += (w_max - w)·A+·x` / `w -= (w - w_min)·A-·x`; then
//!   hard bounds `w = clamp(w, w_min, w_max)` after every update.
//! * **Pair, all-to-all** (`Pairing::AllToAll`): pre trace `r` (τ+), post
//!   trace `o` (τ-). Post spike: potentiate with `x = r`, then `o += 1`. Pre
//!   spike: depress with `x = o`, then `r += 1`.
//! * **Pair, nearest** (`Pairing::Nearest`), sPyNNaker's
//!   `timing_nearest_pair_impl.h`: a post spike potentiates with
//!   `exp(-(t_post - t_pre)/τ+)` against the latest earlier pre spike only
//!   if it is the *first* post spike since that pre spike (later posts do
//!   not pair); a pre spike depresses with `exp(-(t_pre - t_post)/τ-)`
//!   against the latest post spike at or before it, every time (several pre
//!   spikes after one post spike each depress). So potentiation is
//!   "presynaptic-centred" (each pre pairs with at most one later post) and
//!   depression is "symmetric nearest" (each pre with its nearest earlier
//!   post). Not modelled: the kernel's phantom pre spike at step 0 (its row
//!   history starts at time 0, so posts before the first pre spike
//!   potentiate by `LUT+[t_post]` there); trains whose first post spike is
//!   later than the LUT window or after the first pre spike do not see it.
//!   Nor the kernel's suppression test with a dendritic delay `d`: it
//!   compares the previous post spike's *undelayed* time with the last pre
//!   spike, so a post spike in `(t_pre − d, t_pre]` (which reaches the
//!   synapse after the pre spike) does not suppress the next post's
//!   potentiation there (measured effect: docs/plasticity.md, "Measured
//!   agreement").
//! * **Triplet** (Pfister & Gerstner 2006, minimal all-to-all): `r1` (τ+),
//!   `r2` (τx), `o1` (τ-), `o2` (τy). Post spike:
//!   `dw+ = r1·(A2+ + A3+·o2)` with `o2` taken *before* this spike's
//!   increment, then `o1 += 1, o2 += 1`. Pre spike:
//!   `dw- = o1·(A2- + A3-·r2)` with `r2` before its increment, then
//!   `r1 += 1, r2 += 1`. Multiplicative: `dw+` times `(w_max - w)`, `dw-`
//!   times `(w - w_min)` (sPyNNaker has no multiplicative triplet binary).
//!
//! # Event order within a step
//!
//! A post spike and a pre spike in the same step: **the post spike is
//! processed first**. This is the kernel's contract (the sPyNNaker core
//! records the step's post spikes at the timer tick, before it processes the
//! step's incoming pre spikes; `engine` in the kernel documents it): the post
//! spike is then in the post history when the pre spike's row is updated, so
//! the pair counts as **depression with Δt = 0** (`x = 1` from that spike)
//! and never as potentiation (the next window starts after that step). In
//! the triplet rule the same-step post spike likewise enters `o1` before the
//! pre spike reads it, and `o2`/`r2` "before" values exclude only the spike
//! itself. [`Synapse`] rejects events out of this order.
//!
//! # Where the fixed-point kernel differs by construction
//!
//! The kernel defers potentiation to the next pre spike; weights agree at
//! pre-spike times (and after a final pre spike). It keeps at most 15 post
//! spikes per neuron: more than 15 post spikes between two pre spikes of a
//! row lose the oldest potentiations there. Its LUTs end at
//! `ln(2048)·τ` (and the triplet τx/τy LUTs step in blocks of 4), traces are
//! s4.11 and weights 16-bit; see `spikeforge_kernel::spinnaker::host::
//! check_stdp_precision`.

/// Which pre/post pairs interact (IR `Pairing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// Every pair (exponential traces).
    AllToAll,
    /// sPyNNaker's nearest-pair rule (see the module docs).
    Nearest,
}

/// How an update scales with the weight (IR `WeightDependence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightDependence {
    /// `dw = ±A·x`.
    Additive,
    /// `dw = (w_max - w)·A+·x`, `dw = -(w - w_min)·A-·x`.
    Multiplicative,
}

/// IR `PairStdp`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairStdp {
    /// Pairing.
    pub pairing: Pairing,
    /// Weight dependence.
    pub weight_dependence: WeightDependence,
    /// ms.
    pub tau_plus_ms: f64,
    /// ms.
    pub tau_minus_ms: f64,
    /// Potentiation amplitude.
    pub a_plus: f64,
    /// Depression amplitude.
    pub a_minus: f64,
    /// Lower bound.
    pub w_min: f64,
    /// Upper bound.
    pub w_max: f64,
}

/// IR `TripletStdp`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletStdp {
    /// Weight dependence.
    pub weight_dependence: WeightDependence,
    /// r1 time constant, ms.
    pub tau_plus_ms: f64,
    /// o1 time constant, ms.
    pub tau_minus_ms: f64,
    /// r2 time constant, ms.
    pub tau_x_ms: f64,
    /// o2 time constant, ms.
    pub tau_y_ms: f64,
    /// Pair potentiation amplitude.
    pub a2_plus: f64,
    /// Pair depression amplitude.
    pub a2_minus: f64,
    /// Triplet potentiation amplitude.
    pub a3_plus: f64,
    /// Triplet depression amplitude.
    pub a3_minus: f64,
    /// Lower bound.
    pub w_min: f64,
    /// Upper bound.
    pub w_max: f64,
}

/// A rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Pair STDP.
    Pair(PairStdp),
    /// Triplet STDP.
    Triplet(TripletStdp),
}

/// Why a rule or an event was rejected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StdpError {
    /// A time constant or `dt` is not finite and positive.
    BadTime,
    /// An amplitude is negative or not finite.
    BadAmplitude,
    /// `w_min > w_max` or a bound / the initial weight is not finite.
    BadBounds,
    /// An event earlier than the previous one (or a post after a pre in the
    /// same step).
    OutOfOrder {
        /// Step of the rejected event.
        step: i64,
    },
}

impl core::fmt::Display for StdpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StdpError::BadTime => write!(f, "time constants and dt must be finite and > 0"),
            StdpError::BadAmplitude => write!(f, "amplitudes must be finite and >= 0"),
            StdpError::BadBounds => write!(f, "need finite w_min <= w_max and a finite weight"),
            StdpError::OutOfOrder { step } => {
                write!(f, "event at step {step} out of order (time order; post before pre within a step)")
            }
        }
    }
}

impl std::error::Error for StdpError {}

impl Rule {
    fn check(&self, dt: f64) -> Result<(), StdpError> {
        let pos = |x: f64| x.is_finite() && x > 0.0;
        let amp = |x: f64| x.is_finite() && x >= 0.0;
        let (taus, amps, lo, hi): (&[f64], &[f64], f64, f64) = match self {
            Rule::Pair(p) => (&[p.tau_plus_ms, p.tau_minus_ms][..], &[p.a_plus, p.a_minus][..], p.w_min, p.w_max),
            Rule::Triplet(p) => (
                &[p.tau_plus_ms, p.tau_minus_ms, p.tau_x_ms, p.tau_y_ms][..],
                &[p.a2_plus, p.a2_minus, p.a3_plus, p.a3_minus][..],
                p.w_min,
                p.w_max,
            ),
        };
        if !pos(dt) || !taus.iter().all(|&t| pos(t)) {
            return Err(StdpError::BadTime);
        }
        if !amps.iter().all(|&a| amp(a)) {
            return Err(StdpError::BadAmplitude);
        }
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(StdpError::BadBounds);
        }
        Ok(())
    }

    fn bounds(&self) -> (f64, f64, WeightDependence) {
        match self {
            Rule::Pair(p) => (p.w_min, p.w_max, p.weight_dependence),
            Rule::Triplet(p) => (p.w_min, p.w_max, p.weight_dependence),
        }
    }
}

/// A decaying trace: value at `t_ms`, decays as `exp(-Δt/τ)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Trace {
    value: f64,
    t_ms: f64,
}

impl Trace {
    fn at(&self, t_ms: f64, tau: f64) -> f64 {
        if self.value == 0.0 {
            0.0
        } else {
            self.value * (-(t_ms - self.t_ms) / tau).exp()
        }
    }
    fn bump(&mut self, t_ms: f64, tau: f64) {
        self.value = self.at(t_ms, tau) + 1.0;
        self.t_ms = t_ms;
    }
}

/// Kind of a spike event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// Post-synaptic spike (first within a step).
    Post,
    /// Pre-synaptic spike.
    Pre,
}

/// One point of a weight trajectory: the weight right after an event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrajectoryPoint {
    /// Step of the event.
    pub step: i64,
    /// Which event.
    pub event: Event,
    /// Weight after it (after the bounds).
    pub w: f64,
}

/// The state machine of one plastic synapse.
#[derive(Clone, Debug, PartialEq)]
pub struct Synapse {
    rule: Rule,
    dt: f64,
    w: f64,
    /// r (pair) / r1 (triplet)
    r1: Trace,
    r2: Trace,
    /// o (pair) / o1 (triplet)
    o1: Trace,
    o2: Trace,
    last_pre: Option<i64>,
    last_post: Option<i64>,
    /// nearest: whether a post spike has occurred since the last pre spike
    post_since_pre: bool,
    last_event: Option<(i64, Event)>,
}

impl Synapse {
    /// A synapse with weight `w0` (any finite value; the bounds apply at the
    /// first update) on the grid `dt` (ms).
    pub fn new(rule: Rule, w0: f64, dt: f64) -> Result<Self, StdpError> {
        rule.check(dt)?;
        if !w0.is_finite() {
            return Err(StdpError::BadBounds);
        }
        Ok(Synapse {
            rule,
            dt,
            w: w0,
            r1: Trace::default(),
            r2: Trace::default(),
            o1: Trace::default(),
            o2: Trace::default(),
            last_pre: None,
            last_post: None,
            post_since_pre: false,
            last_event: None,
        })
    }

    /// Current weight.
    pub fn weight(&self) -> f64 {
        self.w
    }

    /// The rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    fn order(&mut self, step: i64, e: Event) -> Result<(), StdpError> {
        if let Some(last) = self.last_event {
            if (step, e) < last {
                return Err(StdpError::OutOfOrder { step });
            }
        }
        self.last_event = Some((step, e));
        Ok(())
    }

    fn apply(&mut self, potentiate: bool, x: f64) {
        let (lo, hi, dep) = self.rule.bounds();
        let (a_plus, a_minus) = match self.rule {
            Rule::Pair(p) => (p.a_plus, p.a_minus),
            // the triplet passes the combined factor in x, amplitude 1
            Rule::Triplet(_) => (1.0, 1.0),
        };
        let w = self.w;
        let nw = match (dep, potentiate) {
            (WeightDependence::Additive, true) => w + a_plus * x,
            (WeightDependence::Additive, false) => w - a_minus * x,
            (WeightDependence::Multiplicative, true) => w + (hi - w) * a_plus * x,
            (WeightDependence::Multiplicative, false) => w - (w - lo) * a_minus * x,
        };
        self.w = nw.clamp(lo, hi);
    }

    /// A post-synaptic spike at `step`.
    pub fn post(&mut self, step: i64) -> Result<(), StdpError> {
        self.order(step, Event::Post)?;
        let t = step as f64 * self.dt;
        match self.rule {
            Rule::Pair(p) => match p.pairing {
                Pairing::AllToAll => {
                    let x = self.r1.at(t, p.tau_plus_ms);
                    self.apply(true, x);
                    self.o1.bump(t, p.tau_minus_ms);
                }
                Pairing::Nearest => {
                    if let Some(tp) = self.last_pre {
                        // tp < step always: a same-step pre comes after this post
                        if !self.post_since_pre {
                            let x = (-((step - tp) as f64 * self.dt) / p.tau_plus_ms).exp();
                            self.apply(true, x);
                        }
                    }
                    self.post_since_pre = true;
                }
            },
            Rule::Triplet(p) => {
                let r1 = self.r1.at(t, p.tau_plus_ms);
                let o2 = self.o2.at(t, p.tau_y_ms);
                self.apply(true, r1 * (p.a2_plus + p.a3_plus * o2));
                self.o1.bump(t, p.tau_minus_ms);
                self.o2.bump(t, p.tau_y_ms);
            }
        }
        self.last_post = Some(step);
        Ok(())
    }

    /// A pre-synaptic spike at `step`.
    pub fn pre(&mut self, step: i64) -> Result<(), StdpError> {
        self.order(step, Event::Pre)?;
        let t = step as f64 * self.dt;
        match self.rule {
            Rule::Pair(p) => match p.pairing {
                Pairing::AllToAll => {
                    let x = self.o1.at(t, p.tau_minus_ms);
                    self.apply(false, x);
                    self.r1.bump(t, p.tau_plus_ms);
                }
                Pairing::Nearest => {
                    if let Some(tq) = self.last_post {
                        let x = (-((step - tq) as f64 * self.dt) / p.tau_minus_ms).exp();
                        self.apply(false, x);
                    }
                    self.post_since_pre = false;
                }
            },
            Rule::Triplet(p) => {
                let o1 = self.o1.at(t, p.tau_minus_ms);
                let r2 = self.r2.at(t, p.tau_x_ms);
                self.apply(false, o1 * (p.a2_minus + p.a3_minus * r2));
                self.r1.bump(t, p.tau_plus_ms);
                self.r2.bump(t, p.tau_x_ms);
            }
        }
        self.last_pre = Some(step);
        Ok(())
    }
}

/// Merge two sorted spike-step lists into events in processing order (time
/// order, post before pre within a step). Each list must be non-decreasing.
pub fn merge_events(pre_steps: &[i64], post_steps: &[i64]) -> Vec<(i64, Event)> {
    let mut ev: Vec<(i64, Event)> =
        pre_steps.iter().map(|&s| (s, Event::Pre)).chain(post_steps.iter().map(|&s| (s, Event::Post))).collect();
    ev.sort();
    ev
}

/// Run `rule` on the trains: final weight and the weight after every event.
pub fn run(
    rule: Rule,
    pre_steps: &[i64],
    post_steps: &[i64],
    w0: f64,
    dt: f64,
) -> Result<(f64, Vec<TrajectoryPoint>), StdpError> {
    let mut s = Synapse::new(rule, w0, dt)?;
    let mut traj = Vec::with_capacity(pre_steps.len() + post_steps.len());
    for (step, e) in merge_events(pre_steps, post_steps) {
        match e {
            Event::Pre => s.pre(step)?,
            Event::Post => s.post(step)?,
        }
        traj.push(TrajectoryPoint { step, event: e, w: s.weight() });
    }
    Ok((s.weight(), traj))
}

/// [`run`] for pair STDP.
pub fn run_pair(
    rule: &PairStdp,
    pre_steps: &[i64],
    post_steps: &[i64],
    w0: f64,
    dt: f64,
) -> Result<(f64, Vec<TrajectoryPoint>), StdpError> {
    run(Rule::Pair(*rule), pre_steps, post_steps, w0, dt)
}

/// [`run`] for triplet STDP.
pub fn run_triplet(
    rule: &TripletStdp,
    pre_steps: &[i64],
    post_steps: &[i64],
    w0: f64,
    dt: f64,
) -> Result<(f64, Vec<TrajectoryPoint>), StdpError> {
    run(Rule::Triplet(*rule), pre_steps, post_steps, w0, dt)
}
