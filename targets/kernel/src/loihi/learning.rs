//! Lava 0.10's bit-approximate learning engine
//! (`PyLearningDenseModelBitApproximate` with a `Loihi2FLearningRule`,
//! binary spikes, `GradedSpikeCfg.USE_REGULAR_IMPULSE`), `loihi-lava.md` §3.
//!
//! Per time step `t` (1-based) the caller runs, after the LIF populations
//! of the step have produced their spikes:
//! 1. [`spike_phase`] with this step's pre spikes (the LearningDense input)
//!    and post spikes (the back-propagated `s_in_bap`, i.e. the post LIF's
//!    output of the same step);
//! 2. if [`is_learning_step`], [`learning_phase`].
//!
//! Fixed-point quantities (all documented at their fields):
//! * traces x1, x2 (per pre neuron) and y1, y2, y3 (per post neuron):
//!   7-bit unsigned (0..=127) in `u8`;
//! * tx, ty: in-epoch time of the latest spike, 0 (none) ..= t_epoch (6-bit);
//! * w, d (tag_2), t (tag_1): 8 bits + sign in `i16`
//!   (w within the sign mode's range, d in 0..=255, t in -257..=255);
//! * the update accumulator: 15 bits + sign (`Z << 7`), clipped to
//!   [-32769, 32767] (Lava's asymmetric bound) after every product;
//! * trace impulses: integer part + 8-bit fraction (see [`TraceParams`]);
//! * trace decay: a float64 factor `E` supplied by the host (see
//!   [`TraceParams::decay_factor`]); this is the one float quantity, as in
//!   Lava, and its multiply/floor/fraction are exact IEEE operations.

use bytemuck::{Pod, Zeroable};

use super::dense::SignMode;
use super::rule::{Dependency, FactorVar, Product, ProductSeries, Target};
use crate::rng::LearningRandoms;

/// Trace width: traces are 7-bit unsigned.
pub const TRACE_BITS: u32 = 7;
/// Largest trace value.
pub const TRACE_MAX: u8 = 127;
/// Fractional bits of a trace impulse.
pub const IMPULSE_FRAC_BITS: u32 = 8;
/// Largest epoch length (tx/ty are 6-bit).
pub const MAX_T_EPOCH: u8 = 63;
/// Accumulator shift for w, d and t: `16 - 9` (accumulator is 15 bits +
/// sign, the variables 8 bits + sign).
pub const ACC_SHIFT: u32 = 7;
/// Width the raw product is shifted back to (unsigned accumulator bits).
pub const ACC_BITS_U: u32 = 15;
/// Width of the scaling mantissa, added to a product's width.
pub const MANTISSA_BITS: u32 = 4;
/// Lower clip bound of products and the accumulator: `-(2^15) - 1`.
pub const ACC_MIN: i64 = -(1 << 15) - 1;
/// Upper clip bound of products and the accumulator: `2^15 - 1`.
pub const ACC_MAX: i64 = (1 << 15) - 1;
/// Range of the delay d (tag_2) after an update (dense storage).
pub const TAG2_RANGE: (i32, i32) = (0, 255);
/// Range of the tag t (tag_1) after an update.
pub const TAG1_RANGE: (i32, i32) = (-257, 255);

/// Configuration of one trace (stored in program images; 16 bytes,
/// `repr(C)`, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct TraceParams {
    /// The per-step decay factor `E = exp(-1/tau)` as an IEEE float64, in
    /// [0, 1). The host must supply the exact bits Lava used
    /// (`np.exp(-1/np.array([tau]))[0]`; numpy's vectorised exp differs from
    /// libm by one ulp for about half of the integer taus, `loihi-lava.md`
    /// §3.5), e.g. from a table such as the fixtures'
    /// `trace_decay_factor_hex`. `tau = 0` means "zero the trace every
    /// step" (not "no decay"): pass `0.0` (numpy's `exp(-inf)`); a decay
    /// with `E = 0` yields 0, exactly Lava's behaviour.
    pub decay_factor: f64,
    /// Integer part of the impulse, `floor(impulse)`, saturated to 65535
    /// (any value above 127 saturates the trace anyway).
    pub impulse_int: u16,
    /// Fractional part of the impulse in 1/256 units,
    /// `round_half_even(frac(impulse) * 256)`, 0..=256. Rounding up is
    /// decided against a 7-bit random (`r < impulse_frac`, r in 0..=127),
    /// so fractions >= 0.5 always round up (Lava quirk, §3.2).
    pub impulse_frac: u16,
    /// Explicit padding, must be 0.
    pub _pad: [u8; 4],
}

impl TraceParams {
    /// A trace that is always 0 (impulse 0, tau 0): Lava's default.
    pub const OFF: TraceParams = TraceParams {
        decay_factor: 0.0,
        impulse_int: 0,
        impulse_frac: 0,
        _pad: [0; 4],
    };

    /// Builds the parameters from Lava's float impulse and the decay factor.
    /// Returns `None` for a negative or non-finite impulse (Lava rejects
    /// negative impulses) or a decay factor outside [0, 1).
    pub fn from_impulse(impulse: f64, decay_factor: f64) -> Option<TraceParams> {
        if !((0.0..1.0e300).contains(&impulse) && (0.0..1.0).contains(&decay_factor)) {
            return None;
        }
        // floor of a non-negative float: a truncating cast (saturating)
        let int = if impulse >= 65535.0 {
            65535.0
        } else {
            (impulse as u64) as f64
        };
        let frac = if impulse >= 65535.0 {
            0.0
        } else {
            impulse - int
        };
        // frac * 256 is exact (power-of-two scaling); numpy's round is
        // round-half-to-even
        let x = frac * 256.0;
        let n = x as u32;
        let d = x - n as f64;
        let r = if d > 0.5 || (d == 0.5 && n % 2 == 1) {
            n + 1
        } else {
            n
        };
        Some(TraceParams {
            decay_factor,
            impulse_int: int as u16,
            impulse_frac: r as u16,
            _pad: [0; 4],
        })
    }

    fn is_valid(&self) -> bool {
        (0.0..1.0).contains(&self.decay_factor) && self.impulse_frac <= 256
    }
}

/// Configuration of one LearningDense's learning engine (stored in program
/// images; 96 bytes, `repr(C)`, no implicit padding). The rule strings
/// themselves are kept as [`ProductSeries`] (see [`Rules`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct LearningParams {
    /// Pre-synaptic traces x1, x2.
    pub x: [TraceParams; 2],
    /// Post-synaptic traces y1, y2, y3.
    pub y: [TraceParams; 3],
    /// Lava's `rng_seed` S (streams S..S+3, see [`LearningRandoms`]).
    pub rng_seed: u64,
    /// Epoch length in time steps, 1..=63 (learning runs when
    /// `t mod t_epoch == 0`).
    pub t_epoch: u8,
    /// The connection's weight [`SignMode`] as its `u8` value (LearningDense
    /// default: Mixed).
    pub sign_mode: u8,
    /// Explicit padding, must be 0.
    pub _pad: [u8; 6],
}

/// The learning rules of one connection (any may be absent; a target
/// without a rule is never modified).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules<'a> {
    /// Rule for the weight.
    pub dw: Option<&'a ProductSeries>,
    /// Rule for the delay (tag_2).
    pub dd: Option<&'a ProductSeries>,
    /// Rule for the tag (tag_1).
    pub dt: Option<&'a ProductSeries>,
}

/// The caller-owned learning state of one LearningDense with `n_pre` inputs
/// and `n_post` outputs. Synaptic arrays are `[post][pre]` row-major.
#[derive(Debug)]
pub struct LearningState<'a> {
    /// Traces x1, x2: `n_pre` values each, 7-bit unsigned (0..=127).
    pub x: [&'a mut [u8]; 2],
    /// In-epoch time of each pre neuron's latest spike, 0 = none, else
    /// 1..=t_epoch (6-bit); reset after every learning phase.
    pub tx: &'a mut [u8],
    /// Traces y1, y2, y3: `n_post` values each, 7-bit unsigned (0..=127).
    pub y: [&'a mut [u8]; 3],
    /// In-epoch time of each post neuron's latest spike (as `tx`).
    pub ty: &'a mut [u8],
    /// Weights, `n_post * n_pre`, 8 bits + sign, within the sign mode's
    /// range after the first learning epoch.
    pub w: &'a mut [i16],
    /// Delays (tag_2), `n_post * n_pre`, 0..=255 after an update; may be
    /// empty if no rule targets or reads `d`.
    pub d: &'a mut [i16],
    /// Tags (tag_1), `n_post * n_pre`, -257..=255 after an update; may be
    /// empty if no rule targets or reads `t`.
    pub t: &'a mut [i16],
}

/// Errors of the learning engine (all are configuration errors that a
/// compiler should have excluded; nothing is modified when one is returned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearningError {
    /// `t_epoch` outside 1..=63.
    TEpoch(u8),
    /// `sign_mode` is not 1, 2 or 3.
    SignMode(u8),
    /// A trace's decay factor is outside [0, 1) or its impulse fraction
    /// above 256 (index: 0..=1 for x1, x2; 2..=4 for y1..y3).
    Trace(usize),
    /// A slice's length does not match `n_pre`/`n_post`.
    Shape,
    /// The history scratch buffer is smaller than [`history_scratch_len`].
    ScratchTooSmall {
        /// Required length.
        needed: usize,
    },
    /// A rule reads or targets d or t but that array is empty.
    MissingTagArray(Target),
    /// The rules use different u_k.
    MixedDecimateExponent,
    /// A rule's target does not match its slot in [`Rules`].
    WrongTarget(Target),
}

impl core::fmt::Display for LearningError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LearningError::TEpoch(v) => write!(f, "t_epoch = {v} is outside 1..=63"),
            LearningError::SignMode(v) => write!(f, "sign_mode = {v} is not 1, 2 or 3"),
            LearningError::Trace(i) => write!(
                f,
                "trace {} has a decay factor outside [0, 1) or an impulse fraction above 256",
                ["x1", "x2", "y1", "y2", "y3"][i]
            ),
            LearningError::Shape => write!(f, "learning state slices do not match n_pre/n_post"),
            LearningError::ScratchTooSmall { needed } => {
                write!(f, "trace history scratch needs {needed} bytes")
            }
            LearningError::MissingTagArray(t) => {
                write!(f, "rule {} uses d or t but the array is empty", t.name())
            }
            LearningError::MixedDecimateExponent => write!(f, "the rules use different u_k"),
            LearningError::WrongTarget(t) => write!(f, "a {} rule is in the wrong slot", t.name()),
        }
    }
}

impl LearningParams {
    /// Checks every field; returns the sign mode.
    pub fn validate(&self) -> Result<SignMode, LearningError> {
        if !(1..=MAX_T_EPOCH).contains(&self.t_epoch) {
            return Err(LearningError::TEpoch(self.t_epoch));
        }
        let mode =
            SignMode::from_u8(self.sign_mode).ok_or(LearningError::SignMode(self.sign_mode))?;
        for (i, tp) in self.x.iter().chain(self.y.iter()).enumerate() {
            if !tp.is_valid() {
                return Err(LearningError::Trace(i));
            }
        }
        Ok(mode)
    }
}

impl LearningState<'_> {
    fn n_pre(&self) -> usize {
        self.tx.len()
    }

    fn n_post(&self) -> usize {
        self.ty.len()
    }

    fn check_shape(&self) -> Result<(), LearningError> {
        let (np, nq) = (self.n_pre(), self.n_post());
        let syn = np * nq;
        let ok = self.x.iter().all(|s| s.len() == np)
            && self.y.iter().all(|s| s.len() == nq)
            && self.w.len() == syn
            && (self.d.is_empty() || self.d.len() == syn)
            && (self.t.is_empty() || self.t.len() == syn);
        if ok {
            Ok(())
        } else {
            Err(LearningError::Shape)
        }
    }
}

/// What the spike phase used (caller-visible for logging and comparison).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpikePhaseReport {
    /// `Some(r)` when a post neuron spiked a second time in the epoch: the
    /// y-impulse random `r` used for its immediate impulse.
    pub multi_spike_y_impulse: Option<u8>,
}

/// The randoms a learning phase used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// x decay random.
    pub x_decay: f64,
    /// x impulse random (0..=127).
    pub x_impulse: u8,
    /// y decay random.
    pub y_decay: f64,
    /// y impulse random (0..=127).
    pub y_impulse: u8,
    /// Weight rounding random.
    pub w_round: f64,
}

/// `clip(trace + impulse_int + (r < impulse_frac), 0, 127)`.
#[inline]
pub fn add_impulse(trace: u8, r: u8, tp: &TraceParams) -> u8 {
    let v = trace as u32 + tp.impulse_int as u32 + ((r as u16) < tp.impulse_frac) as u32;
    v.min(TRACE_MAX as u32) as u8
}

/// One step of stochastic trace decay:
/// `floor(E·h) + (r < frac(E·h))`, computed in float64 exactly as numpy
/// does (`E·h` is one rounding; floor and fraction are exact). `E = 0`
/// (tau = 0) gives 0.
#[inline]
pub fn decay_trace(h: u8, decay_factor: f64, r: f64) -> u8 {
    if decay_factor == 0.0 {
        return 0;
    }
    let p = decay_factor * h as f64;
    let fl = p as u32; // p >= 0: truncation is floor
    let frac = p - fl as f64;
    (fl + (r < frac) as u32) as u8
}

/// `t mod t_epoch`, or `t_epoch` when that is 0: the in-epoch time of step
/// `t` (1-based).
pub fn in_epoch_time(t_epoch: u8, time_step: u32) -> u8 {
    let te = t_epoch.max(1) as u32;
    match time_step % te {
        0 => te as u8,
        r => r as u8,
    }
}

/// Whether the learning phase runs after the spike phase of step `t`.
pub fn is_learning_step(p: &LearningParams, time_step: u32) -> bool {
    time_step.is_multiple_of(p.t_epoch.max(1) as u32)
}

/// Spike phase of step `time_step` (1-based), every step.
///
/// Records the in-epoch spike times; a neuron spiking again within an epoch
/// gets the impulse of its earlier spike added immediately (x traces with
/// random 0, y traces with the y-impulse random current after the first
/// advance). Advances the x and y trace randoms twice, as Lava does.
pub fn spike_phase(
    p: &LearningParams,
    time_step: u32,
    pre_spikes: &[bool],
    post_spikes: &[bool],
    st: &mut LearningState<'_>,
    rnd: &mut LearningRandoms,
) -> Result<SpikePhaseReport, LearningError> {
    p.validate()?;
    st.check_shape()?;
    if pre_spikes.len() != st.n_pre() || post_spikes.len() != st.n_post() {
        return Err(LearningError::Shape);
    }
    let off = in_epoch_time(p.t_epoch, time_step);
    for (i, _) in pre_spikes.iter().enumerate().filter(|(_, &s)| s) {
        if st.tx[i] > 0 {
            for (k, tp) in p.x.iter().enumerate() {
                st.x[k][i] = add_impulse(st.x[k][i], 0, tp);
            }
        }
        st.tx[i] = off;
    }
    rnd.advance_traces();
    let r = rnd.y.impulse();
    let mut multi = false;
    for (j, _) in post_spikes.iter().enumerate().filter(|(_, &s)| s) {
        if st.ty[j] > 0 {
            multi = true;
            for (k, tp) in p.y.iter().enumerate() {
                st.y[k][j] = add_impulse(st.y[k][j], r, tp);
            }
        }
        st.ty[j] = off;
    }
    rnd.advance_traces();
    Ok(SpikePhaseReport {
        multi_spike_y_impulse: if multi { Some(r) } else { None },
    })
}

/// Length of the trace-history scratch buffer [`learning_phase`] needs:
/// `(t_epoch + 1) * (2 * n_pre + 3 * n_post)` bytes.
pub fn history_scratch_len(t_epoch: u8, n_pre: usize, n_post: usize) -> usize {
    (t_epoch as usize + 1) * (2 * n_pre + 3 * n_post)
}

/// Read-only view of the trace histories inside the scratch buffer.
struct Hist<'s> {
    buf: &'s [u8],
    te1: usize,
    n_pre: usize,
    n_post: usize,
}

impl Hist<'_> {
    /// History of x trace `k` (0, 1) of pre neuron `i` at in-epoch time `s`.
    fn x(&self, k: usize, s: usize, i: usize) -> u8 {
        self.buf[(k * self.te1 + s) * self.n_pre + i]
    }

    /// History of y trace `k` (0..3) of post neuron `j` at time `s`.
    fn y(&self, k: usize, s: usize, j: usize) -> u8 {
        self.buf[2 * self.te1 * self.n_pre + (k * self.te1 + s) * self.n_post + j]
    }
}

/// Fills `h[0..=T_e]` for every trace of one side (`n` neurons,
/// `traces.len()` traces) into `out` (trace-major, then time, then neuron).
fn fill_history(
    out: &mut [u8],
    traces: &[&mut [u8]],
    params: &[TraceParams],
    spike_t: &[u8],
    te: usize,
    r_dec: f64,
    r_imp: u8,
) {
    let n = spike_t.len();
    for (k, tr) in traces.iter().enumerate() {
        let tp = &params[k];
        let base = k * (te + 1) * n;
        out[base..base + n].copy_from_slice(tr);
        for s in 1..=te {
            for q in 0..n {
                let prev = out[base + (s - 1) * n + q];
                let mut h = decay_trace(prev, tp.decay_factor, r_dec);
                if spike_t[q] as usize == s {
                    h = add_impulse(h, r_imp, tp);
                }
                out[base + s * n + q] = h;
            }
        }
    }
}

/// Everything a product needs about one synapse.
struct SynCtx<'h> {
    hist: &'h Hist<'h>,
    i: usize,
    j: usize,
    tx: usize,
    ty: usize,
    te: usize,
    x0: i32,
    y0: i32,
    u: i32,
    w: i32,
    d: i32,
    t: i32,
}

impl SynCtx<'_> {
    fn var(&self, v: FactorVar, read_t: usize) -> i64 {
        (match v {
            FactorVar::X0 => self.x0,
            FactorVar::Y0 => self.y0,
            FactorVar::X1 => self.hist.x(0, read_t, self.i) as i32,
            FactorVar::X2 => self.hist.x(1, read_t, self.i) as i32,
            FactorVar::Y1 => self.hist.y(0, read_t, self.j) as i32,
            FactorVar::Y2 => self.hist.y(1, read_t, self.j) as i32,
            FactorVar::Y3 => self.hist.y(2, read_t, self.j) as i32,
            FactorVar::W => self.w,
            FactorVar::D => self.d,
            FactorVar::T => self.t,
        }) as i64
    }
}

/// Arithmetic right shift of an int32 as numpy's `right_shift` (shifts of
/// 32 or more give the sign fill).
fn shr_i32(r: i32, s: u32) -> i32 {
    if s >= 32 {
        if r < 0 {
            -1
        } else {
            0
        }
    } else {
        r >> s
    }
}

/// Evaluates one product for one synapse: int32 (wrapping) product of the
/// dependency, the clipped factors and the mantissa; floor-shift by
/// `max(0, width - 15)`; shift left by `e + 7`; clip to [-32769, 32767].
fn eval_product(p: &Product, c: &SynCtx<'_>) -> i64 {
    let (dep, read_t) = match p.dependency {
        Dependency::X0 => (c.x0, c.tx),
        Dependency::Y0 => (c.y0, c.ty),
        Dependency::U => (c.u, c.te),
    };
    let mut r: i32 = dep;
    let mut nb: u32 = 0;
    for f in p.factors() {
        let wf = f.var.width();
        let raw = c.var(f.var, read_t) + f.constant.unwrap_or(0) as i64;
        let v = if f.sgn {
            raw.signum()
        } else {
            raw.clamp(-(1i64 << wf), (1i64 << wf) - 1)
        };
        r = r.wrapping_mul(v as i32);
        nb += wf;
    }
    nb += MANTISSA_BITS;
    r = r.wrapping_mul(p.mantissa as i32);
    r = shr_i32(r, nb.saturating_sub(ACC_BITS_U));
    r = r.wrapping_shl(p.stored_exponent());
    (r as i64).clamp(ACC_MIN, ACC_MAX)
}

/// Applies one series to one synaptic variable's old value `z`; returns
/// the new value (before the final target clip).
fn apply_series(
    s: &ProductSeries,
    z: i32,
    c: &SynCtx<'_>,
    sign_floor: Option<bool>,
    w_round: f64,
) -> i32 {
    let mut acc: i64 = (z as i64) << ACC_SHIFT;
    for p in s.products() {
        acc = (acc + eval_product(p, c)).clamp(ACC_MIN, ACC_MAX);
    }
    match sign_floor {
        Some(true) => acc = acc.max(0),
        Some(false) => acc = acc.min(0),
        None => {}
    }
    let q = acc >> ACC_SHIFT;
    let rem = acc & ((1 << ACC_SHIFT) - 1);
    // Lava: floor(acc/128) + (r < frac(acc/128)); r*128 is exact
    (q + ((w_round * 128.0) < rem as f64) as i64) as i32
}

/// Learning phase at the end of step `time_step` (call only when
/// [`is_learning_step`]).
///
/// Advances the weight-rounding random, computes the trace histories with
/// the trace randoms current now, sets the traces to their end-of-epoch
/// values, applies the rules to every synapse (all targets read the old
/// w, d, t), and resets tx/ty. `scratch` holds the histories (at least
/// [`history_scratch_len`] bytes; contents are overwritten).
pub fn learning_phase(
    p: &LearningParams,
    rules: &Rules<'_>,
    time_step: u32,
    st: &mut LearningState<'_>,
    rnd: &mut LearningRandoms,
    scratch: &mut [u8],
) -> Result<EpochReport, LearningError> {
    let mode = p.validate()?;
    st.check_shape()?;
    let te = p.t_epoch as usize;
    let (n_pre, n_post) = (st.n_pre(), st.n_post());
    let needed = history_scratch_len(p.t_epoch, n_pre, n_post);
    if scratch.len() < needed {
        return Err(LearningError::ScratchTooSmall { needed });
    }
    let all: [Option<&ProductSeries>; 3] = [rules.dw, rules.dd, rules.dt];
    let mut k: Option<u8> = None;
    for (slot, want) in all.iter().zip([Target::Dw, Target::Dd, Target::Dt]) {
        if let Some(s) = slot {
            if s.target() != want {
                return Err(LearningError::WrongTarget(s.target()));
            }
            let uses = |v: FactorVar| {
                s.products()
                    .iter()
                    .any(|pr| pr.factors().iter().any(|f| f.var == v))
            };
            let d_needed = want == Target::Dd || uses(FactorVar::D);
            let t_needed = want == Target::Dt || uses(FactorVar::T);
            if (d_needed && st.d.is_empty()) || (t_needed && st.t.is_empty()) {
                return Err(LearningError::MissingTagArray(want));
            }
            if let Some(e) = s.decimate_exponent() {
                match k {
                    None => k = Some(e),
                    Some(k0) if k0 != e => return Err(LearningError::MixedDecimateExponent),
                    Some(_) => {}
                }
            }
        }
    }

    // (1) weight-rounding random
    rnd.w.advance();
    let w_round = rnd.w.value();
    let report = EpochReport {
        x_decay: rnd.x.decay(),
        x_impulse: rnd.x.impulse(),
        y_decay: rnd.y.decay(),
        y_impulse: rnd.y.impulse(),
        w_round,
    };
    // (2) dependencies
    let u = match k {
        Some(k) => (time_step / te as u32).is_multiple_of(1u32 << k) as i32,
        None => 0,
    };
    // (3) trace histories
    let x_len = 2 * (te + 1) * n_pre;
    let (xs, ys) = scratch[..needed].split_at_mut(x_len);
    fill_history(xs, &st.x, &p.x, st.tx, te, report.x_decay, report.x_impulse);
    fill_history(ys, &st.y, &p.y, st.ty, te, report.y_decay, report.y_impulse);
    let hist = Hist {
        buf: &scratch[..needed],
        te1: te + 1,
        n_pre,
        n_post,
    };
    // (4) traces take their end-of-epoch values
    for (k, tr) in st.x.iter_mut().enumerate() {
        for (i, v) in tr.iter_mut().enumerate() {
            *v = hist.x(k, te, i);
        }
    }
    for (k, tr) in st.y.iter_mut().enumerate() {
        for (j, v) in tr.iter_mut().enumerate() {
            *v = hist.y(k, te, j);
        }
    }
    // (5) rules, per synapse, all reading the old w, d, t
    let (wlo, whi) = mode.weight_range();
    let w_floor = match mode {
        SignMode::Mixed => None,
        SignMode::Excitatory => Some(true),
        SignMode::Inhibitory => Some(false),
    };
    for j in 0..n_post {
        for i in 0..n_pre {
            let idx = j * n_pre + i;
            let c = SynCtx {
                hist: &hist,
                i,
                j,
                tx: st.tx[i] as usize,
                ty: st.ty[j] as usize,
                te,
                x0: (st.tx[i] > 0) as i32,
                y0: (st.ty[j] > 0) as i32,
                u,
                w: st.w[idx] as i32,
                d: st.d.get(idx).map_or(0, |&v| v as i32),
                t: st.t.get(idx).map_or(0, |&v| v as i32),
            };
            if let Some(s) = rules.dw {
                st.w[idx] = apply_series(s, c.w, &c, w_floor, w_round).clamp(wlo, whi) as i16;
            }
            if let Some(s) = rules.dd {
                st.d[idx] = apply_series(s, c.d, &c, Some(true), w_round)
                    .clamp(TAG2_RANGE.0, TAG2_RANGE.1) as i16;
            }
            if let Some(s) = rules.dt {
                st.t[idx] = apply_series(s, c.t, &c, None, w_round)
                    .clamp(TAG1_RANGE.0, TAG1_RANGE.1) as i16;
            }
        }
    }
    // (6) reset the in-epoch spike times
    st.tx.fill(0);
    st.ty.fill(0);
    Ok(report)
}
