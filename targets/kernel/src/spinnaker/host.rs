//! Host-side formulas of sPyNNaker, for the compiler's quantization pass.
//!
//! These use `f64` and `libm` and reproduce what sPyNNaker's Python computes
//! before it writes a binary image; nothing here runs per step on a core.
//! Sources (sPyNNaker fork `emijan-kth/sPyNNaker` @558fca1, merge of upstream
//! master 2023-10-17):
//!
//! * `spynnaker/pyNN/models/neuron/abstract_population_vertex.py`:
//!   `get_ring_buffer_shifts`, `__get_weight_scale`, `_Stats`,
//!   `_ring_buffer_expected_upper_bound`;
//! * `spynnaker/pyNN/utilities/running_stats.py` (`RunningStats`);
//! * `spynnaker/pyNN/utilities/constants.py`
//!   (`POSSION_SIGMA_SUMMATION_LIMIT = 3.0`), `spynnaker.cfg`
//!   (`spikes_per_second = 30`, `ring_buffer_sigma = 5`);
//! * `synapse_dynamics_static.py` / `synapse_dynamics_stdp.py`
//!   (`numpy.rint(numpy.abs(weight · scale))`, then `& 0xFFFF` for static
//!   words / `astype(uint16)` for plastic half-words — upstream wraps silently
//!   on overflow; here overflow is reported);
//! * `plasticity/stdp/common.py` (`get_exp_lut_array`, `float_to_fixed`).

use libm::{ceil, exp, floor, fmod, lgamma, log, log2, rint, sqrt};

/// Default Poisson rate assumed for inputs without a known maximum
/// (`spynnaker.cfg [Simulation] spikes_per_second`).
pub const DEFAULT_SPIKES_PER_SECOND: f64 = 30.0;
/// Default number of standard deviations (`spynnaker.cfg ring_buffer_sigma`).
pub const DEFAULT_RING_BUFFER_SIGMA: f64 = 5.0;
/// `POSSION_SIGMA_SUMMATION_LIMIT` (sic) in `utilities/constants.py`.
pub const POISSON_SIGMA_SUMMATION_LIMIT: f64 = 3.0;
/// `STDP_FIXED_POINT_ONE` (`1 << 11`).
pub const STDP_FIXED_POINT_ONE: f64 = 2048.0;

/// Errors of the host formulas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HostError {
    /// An input was NaN or infinite (Python would raise or produce garbage).
    NotFinite,
    /// An input was out of its domain (e.g. `tau <= 0`).
    Domain,
    /// The caller's output buffer is too small; the needed length is given.
    BufferTooSmall(usize),
    /// An intermediate overflowed `f64` (Python raises `OverflowError` in
    /// `math.exp` for the same inputs).
    Overflow,
}

// ---------------------------------------------------------------------------
// Weight scaling
// ---------------------------------------------------------------------------

/// `get_ring_buffer_shifts` for one synapse type: the left shift that maps
/// the 16-bit ring-buffer value to s16.15.
///
/// `p = 0 if w <= 0 else ceil(max(0, log2(w)))`; then `p += 1` if
/// `2^p <= w` (the range of a 16-bit value shifted by `p` is `[0, 2^p)`).
pub fn ring_buffer_shift(max_summed_weight: f64) -> Result<u32, HostError> {
    if !max_summed_weight.is_finite() {
        return Err(HostError::NotFinite);
    }
    let w = max_summed_weight;
    let p = if w <= 0.0 {
        0.0
    } else {
        let l = log2(w);
        ceil(if l > 0.0 { l } else { 0.0 })
    };
    let p = p as u32;
    // 2^p as f64 is exact for every p reachable from a finite f64 (<= 1024).
    if libm::ldexp(1.0, p as i32) <= w {
        Ok(p + 1)
    } else {
        Ok(p)
    }
}

/// `__get_weight_scale(shift) · global_weight_scale`:
/// `2^(16 - (shift + 1)) · gws`. `global_weight_scale` is 1.0 for current
/// input (`input_type_current.py`) and 1024.0 for conductance input.
pub fn weight_scale(shift: u32, global_weight_scale: f64) -> f64 {
    libm::ldexp(1.0, 15 - shift as i32) * global_weight_scale
}

/// Weight in 16-bit ring-buffer units → real value: `w16 / scale`.
pub fn weight_from_w16(w16: u16, scale: f64) -> f64 {
    w16 as f64 / scale
}

/// How a weight quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantKind {
    /// `rint(|w|·scale)` fits in 16 bits and is non-zero (or `w == 0`).
    Ok,
    /// `w != 0` but `rint(|w|·scale) == 0`: the synapse has no effect.
    RoundedToZero,
    /// `rint(|w|·scale) > 65535`. `w16` then holds what sPyNNaker's static
    /// path writes (`rounded & 0xFFFF`), which is almost certainly wrong.
    Overflow,
    /// `w` or `scale` is NaN or infinite; `w16` is 0.
    NotFinite,
}

/// Result of quantizing one weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantizedWeight {
    /// The 16-bit value (see [`QuantKind`] for the non-`Ok` cases).
    pub w16: u16,
    /// `rint(|w| · scale)` before any 16-bit reduction.
    pub rounded: f64,
    /// Classification.
    pub kind: QuantKind,
}

/// `w16 = rint(|w| · scale)` (ties to even, as `numpy.rint`), classified.
pub fn quantize_weight(w: f64, scale: f64) -> QuantizedWeight {
    if !w.is_finite() || !scale.is_finite() {
        return QuantizedWeight { w16: 0, rounded: f64::NAN, kind: QuantKind::NotFinite };
    }
    let rounded = rint(libm::fabs(w) * scale);
    if rounded > 65535.0 {
        let wrapped = if rounded < 18446744073709551616.0 { (rounded as u64 & 0xFFFF) as u16 } else { 0 };
        QuantizedWeight { w16: wrapped, rounded, kind: QuantKind::Overflow }
    } else if rounded == 0.0 && w != 0.0 {
        QuantizedWeight { w16: 0, rounded, kind: QuantKind::RoundedToZero }
    } else {
        QuantizedWeight { w16: rounded as u16, rounded, kind: QuantKind::Ok }
    }
}

/// Summary of [`quantize_weights`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuantReport {
    /// Weights that became 0 although non-zero.
    pub n_rounded_to_zero: usize,
    /// Weights above 16 bits.
    pub n_overflow: usize,
    /// Non-finite weights.
    pub n_not_finite: usize,
    /// Index of the first weight rounded to zero.
    pub first_rounded_to_zero: Option<usize>,
    /// Index of the first overflowing weight.
    pub first_overflow: Option<usize>,
    /// Largest `| |w| - w16/scale |` over the `Ok` weights.
    pub max_abs_error: f64,
}

/// Quantize a slice of weights into `out` (same length) and report every
/// weight that did not survive. Returns `Err(BufferTooSmall)` if `out` is
/// shorter than `weights`.
pub fn quantize_weights(weights: &[f64], scale: f64, out: &mut [u16]) -> Result<QuantReport, HostError> {
    if out.len() < weights.len() {
        return Err(HostError::BufferTooSmall(weights.len()));
    }
    let mut r = QuantReport::default();
    for (i, (&w, o)) in weights.iter().zip(out.iter_mut()).enumerate() {
        let q = quantize_weight(w, scale);
        *o = q.w16;
        match q.kind {
            QuantKind::Ok => {
                let err = libm::fabs(libm::fabs(w) - q.w16 as f64 / scale);
                if err > r.max_abs_error {
                    r.max_abs_error = err;
                }
            }
            QuantKind::RoundedToZero => {
                r.n_rounded_to_zero += 1;
                r.first_rounded_to_zero.get_or_insert(i);
            }
            QuantKind::Overflow => {
                r.n_overflow += 1;
                r.first_overflow.get_or_insert(i);
            }
            QuantKind::NotFinite => r.n_not_finite += 1,
        }
    }
    Ok(r)
}

// ---------------------------------------------------------------------------
// Max summed weight estimate
// ---------------------------------------------------------------------------

/// `RunningStats` (`utilities/running_stats.py`): mean and variance merged
/// from groups given by (mean, variance, count), in the same float order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningStats {
    mean: f64,
    mean_2: f64,
    n_items: u64,
}

impl RunningStats {
    /// `add_items(mean, variance, n_items)`; ignored if `n_items == 0`.
    pub fn add_items(&mut self, mean: f64, variance: f64, n_items: u64) {
        if n_items > 0 {
            let new_n = self.n_items + n_items;
            let mean_2 = variance * (n_items as f64 - 1.0);
            let delta = mean - self.mean;
            let delta_2 = delta * delta;
            let new_mean = ((self.n_items as f64 * self.mean) + (n_items as f64 * mean)) / new_n as f64;
            let new_mean_2 =
                self.mean_2 + mean_2 + (delta_2 * self.n_items as f64 * n_items as f64) / new_n as f64;
            self.n_items = new_n;
            self.mean = new_mean;
            self.mean_2 = new_mean_2;
        }
    }
    /// Number of items.
    pub fn n_items(&self) -> u64 {
        self.n_items
    }
    /// Mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }
    /// Sample variance (0 for fewer than two items).
    pub fn variance(&self) -> f64 {
        if self.n_items <= 1 {
            0.0
        } else {
            self.mean_2 / (self.n_items as f64 - 1.0)
        }
    }
    /// `sqrt(variance)`.
    pub fn standard_deviation(&self) -> f64 {
        sqrt(self.variance())
    }
}

/// What `_Stats.__add_unsigned_projection` needs from one incoming
/// projection (weights in the user's units, before any scaling).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProjectionStats {
    /// `connector.get_n_connections_to_post_vertex_maximum`.
    pub n_connections: u64,
    /// Mean weight.
    pub weight_mean: f64,
    /// Weight variance.
    pub weight_variance: f64,
    /// Maximum weight.
    pub weight_max: f64,
    /// Delay variance (in ms², as the connector reports it).
    pub delay_variance: f64,
    /// Maximum spikes per time step of the source
    /// (`max(1, rate / steps_per_second)` by default, or the source's
    /// `max_spikes_per_ts()`), see [`default_spikes_per_tick`].
    pub spikes_per_tick: f64,
    /// Rate of the source in Hz (the default rate unless the source reports a
    /// non-zero maximum).
    pub spikes_per_second: f64,
}

/// `max(1.0, default_spikes_per_second / steps_per_second)`.
pub fn default_spikes_per_tick(default_spikes_per_second: f64, steps_per_second: f64) -> f64 {
    let v = default_spikes_per_second / steps_per_second;
    if v > 1.0 {
        v
    } else {
        1.0
    }
}

/// `_Stats` for one synapse type (unsigned projections; signed-weight
/// synapse dynamics are not covered).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MaxWeightEstimator {
    /// `neuron_impl.get_global_weight_scale()`.
    pub global_weight_scale: f64,
    running: RunningStats,
    delay_running: RunningStats,
    rate_stats: RunningStats,
    total_weight: f64,
    biggest_weight: f64,
}

impl MaxWeightEstimator {
    /// An empty estimator.
    pub fn new(global_weight_scale: f64) -> Self {
        MaxWeightEstimator { global_weight_scale, ..Default::default() }
    }

    /// `__add_details`.
    pub fn add_projection(&mut self, p: &ProjectionStats) {
        let ws = self.global_weight_scale;
        self.running.add_items(p.weight_mean * ws, p.weight_variance * ws * ws, p.n_connections);
        let bw = p.weight_max * ws;
        if bw > self.biggest_weight {
            self.biggest_weight = bw;
        }
        self.delay_running.add_items(0.0, p.delay_variance, p.n_connections);
        self.rate_stats.add_items(p.spikes_per_second, 0.0, p.n_connections);
        self.total_weight += p.spikes_per_tick * (p.weight_max * p.n_connections as f64);
    }

    /// `get_max_weight`. If every delay is constant (delay variance 0) this is
    /// `max(Σ spikes_per_tick·w_max·n, biggest w_max)` — the Poisson bound is
    /// **not** used then. Otherwise the Poisson bound of
    /// [`expected_upper_bound`], capped by that total and floored by the
    /// biggest weight.
    pub fn max_weight(&self, sigma: f64, steps_per_second: f64) -> Result<f64, HostError> {
        if self.delay_running.variance() == 0.0 {
            return Ok(fmax(self.total_weight, self.biggest_weight));
        }
        let w = expected_upper_bound(
            self.running.mean(),
            self.running.standard_deviation(),
            self.rate_stats.mean(),
            self.running.n_items(),
            sigma,
            steps_per_second,
        )?;
        let w = if w < self.total_weight { w } else { self.total_weight };
        Ok(fmax(w, self.biggest_weight))
    }
}

fn fmax(a: f64, b: f64) -> f64 {
    // Python max(a, b): returns a unless b > a.
    if b > a {
        b
    } else {
        a
    }
}

/// `_ring_buffer_expected_upper_bound`: mean + sigma·SD of the summed input
/// of `n_synapses_in` Poisson sources in one time step.
///
/// `λ = n·rate / steps_per_second`; Poisson variance `λ·mean²`; the weight
/// variance term uses `ub = round(λ + 3·sqrt(λ))` (Python `round`, ties to
/// even), `gammaln(1+ub)` (here `libm::lgamma`) and the regularised upper
/// incomplete gamma `Q(1+ub, λ)` (scipy `gammaincc`; here the exact finite
/// sum for integer order, so `e^λ·Q(1+ub, λ) = Σ_{k=0}^{ub} λ^k/k!`). The
/// result agrees with scipy to floating-point rounding; a weight bound lying
/// within a few ulps of a power of two could pick a different shift.
pub fn expected_upper_bound(
    weight_mean: f64,
    weight_std_dev: f64,
    spikes_per_second: f64,
    n_synapses_in: u64,
    sigma: f64,
    steps_per_second: f64,
) -> Result<f64, HostError> {
    let lam = (n_synapses_in as f64 * spikes_per_second) / steps_per_second;
    if !lam.is_finite() {
        return Err(HostError::NotFinite);
    }
    let poisson_variance = lam * (weight_mean * weight_mean);
    let ub = rint(lam + POISSON_SIGMA_SUMMATION_LIMIT * sqrt(lam));
    let mut weight_variance = 0.0;
    if weight_std_dev > 0.0 {
        if lam <= 0.0 {
            return Err(HostError::Domain);
        }
        let lngamma = lgamma(1.0 + ub);
        let big_ratio = log(lam) * ub - lngamma;
        if -701.0 < big_ratio && big_ratio < 701.0 && big_ratio != 0.0 {
            // Σ_{k=0}^{ub} λ^k / k!  (= e^λ · gammaincc(1+ub, λ))
            let mut term = 1.0;
            let mut sum = 1.0;
            let mut k = 1.0;
            while k <= ub {
                term *= lam / k;
                sum += term;
                k += 1.0;
            }
            if !sum.is_finite() {
                return Err(HostError::Overflow);
            }
            let log_weight_variance =
                -lam + log(lam) + 2.0 * log(weight_std_dev) + log(sum - exp(big_ratio));
            weight_variance = exp(log_weight_variance);
        }
    }
    Ok(lam * weight_mean + sigma * sqrt(poisson_variance + weight_variance))
}

// ---------------------------------------------------------------------------
// STDP exponential LUT
// ---------------------------------------------------------------------------

/// Number of entries of `get_exp_lut_array(time_step, tau, shift)`:
/// `2·ceil(ln(2048)/(time_step/tau)/2^shift / 2)` (Python `divmod` by 2,
/// plus one if the remainder is non-zero, times 2).
pub fn exp_lut_len(time_step: f64, tau: f64, shift: u32) -> Result<usize, HostError> {
    if !time_step.is_finite() || !tau.is_finite() {
        return Err(HostError::NotFinite);
    }
    if time_step <= 0.0 || tau <= 0.0 || shift > 31 {
        return Err(HostError::Domain);
    }
    let lambda = time_step / tau;
    let size = log(STDP_FIXED_POINT_ONE) / lambda;
    let x = size / (1u64 << shift) as f64;
    let rem = fmod(x, 2.0);
    let q = floor((x - rem) / 2.0);
    Ok(((q as usize) + usize::from(rem > 0.0)) * 2)
}

/// `get_exp_lut_array` values: `floor(exp((i << shift) · -λ) · 2048)` for
/// `i < exp_lut_len(..)`, written to `out`; returns the length.
pub fn exp_lut(time_step: f64, tau: f64, shift: u32, out: &mut [i16]) -> Result<usize, HostError> {
    let n = exp_lut_len(time_step, tau, shift)?;
    if out.len() < n {
        return Err(HostError::BufferTooSmall(n));
    }
    for (i, o) in out[..n].iter_mut().enumerate() {
        *o = exp_lut_value(time_step, tau, shift, i);
    }
    Ok(n)
}

/// Entry `i` of [`exp_lut`]: `floor(exp((i << shift) · -λ) · 2048)` with
/// `λ = time_step / tau` (inputs as checked by [`exp_lut_len`]).
pub fn exp_lut_value(time_step: f64, tau: f64, shift: u32, i: usize) -> i16 {
    let neg_lambda = -(time_step / tau);
    floor(exp(((i as u64) << shift) as f64 * neg_lambda) * STDP_FIXED_POINT_ONE) as i16
}

/// Words of a packed LUT of `n` entries: `1 + ceil(n/2)`.
pub const fn packed_lut_words(n: usize) -> usize {
    1 + n.div_ceil(2)
}

/// Pack a LUT as sPyNNaker's blob: `u16 size, u16 shift, size × u16`, viewed
/// as little-endian `u32` words (first word `size | shift << 16`). An odd
/// final entry is padded with 0 (never happens for generated LUTs, whose
/// size is even). Returns the number of words written.
pub fn pack_exp_lut(values: &[i16], shift: u16, out: &mut [u32]) -> Result<usize, HostError> {
    let words = packed_lut_words(values.len());
    if out.len() < words {
        return Err(HostError::BufferTooSmall(words));
    }
    if values.len() > u16::MAX as usize {
        return Err(HostError::Domain);
    }
    out[0] = values.len() as u32 | (shift as u32) << 16;
    for (k, pair) in values.chunks(2).enumerate() {
        let lo = pair[0] as u16 as u32;
        let hi = pair.get(1).map_or(0, |&v| v as u16 as u32);
        out[1 + k] = lo | hi << 16;
    }
    Ok(words)
}

// ---------------------------------------------------------------------------
// STDP weight regions and precision checks
// ---------------------------------------------------------------------------

use super::stdp::{WeightDependence, WeightRegion, WeightRegionTwoTerm};
use crate::fixed::{EncodeError, S1615};

/// A parameter of an STDP weight region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdpParam {
    /// Lower weight bound.
    WMin,
    /// Upper weight bound.
    WMax,
    /// (Pair) potentiation amplitude.
    A2Plus,
    /// (Pair) depression amplitude.
    A2Minus,
    /// Triplet potentiation amplitude.
    A3Plus,
    /// Triplet depression amplitude.
    A3Minus,
}

/// A trace time constant of an STDP timing rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdpTau {
    /// `tau_plus` (pre trace / r1).
    Plus,
    /// `tau_minus` (post trace / o1).
    Minus,
    /// `tau_x` (triplet r2).
    X,
    /// `tau_y` (triplet o2).
    Y,
}

/// A region parameter that could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StdpEncodeError {
    /// Which parameter.
    pub param: StdpParam,
    /// The value handed to `DataType.S1615` (after scaling).
    pub value: f64,
    /// Why.
    pub error: EncodeError,
}

fn enc(param: StdpParam, value: f64) -> Result<S1615, StdpEncodeError> {
    S1615::from_f64_host(value).map_err(|error| StdpEncodeError { param, value, error })
}

/// `weight_dependence_additive.py` `write_parameters` for one synapse type:
/// `w_min·gws, w_max·gws, A+·gws, A-·gws` as s16.15 (A± in weight units; the
/// upstream comment says "pre-multiply by Wmax" but the code does not).
pub fn weight_region_additive(
    w_min: f64,
    w_max: f64,
    a_plus: f64,
    a_minus: f64,
    global_weight_scale: f64,
) -> Result<WeightRegion, StdpEncodeError> {
    let g = global_weight_scale;
    Ok(WeightRegion {
        min_weight: enc(StdpParam::WMin, w_min * g)?,
        max_weight: enc(StdpParam::WMax, w_max * g)?,
        a2_plus: enc(StdpParam::A2Plus, a_plus * g)?,
        a2_minus: enc(StdpParam::A2Minus, a_minus * g)?,
    })
}

/// `weight_dependence_multiplicative.py`: `w_min·gws, w_max·gws, A+, A-`
/// (amplitudes dimensionless, unscaled).
pub fn weight_region_multiplicative(
    w_min: f64,
    w_max: f64,
    a_plus: f64,
    a_minus: f64,
    global_weight_scale: f64,
) -> Result<WeightRegion, StdpEncodeError> {
    let g = global_weight_scale;
    Ok(WeightRegion {
        min_weight: enc(StdpParam::WMin, w_min * g)?,
        max_weight: enc(StdpParam::WMax, w_max * g)?,
        a2_plus: enc(StdpParam::A2Plus, a_plus)?,
        a2_minus: enc(StdpParam::A2Minus, a_minus)?,
    })
}

/// `weight_dependence_additive_triplet.py`: `w_min·gws, w_max·gws` and every
/// amplitude as `A·w_max·gws` (here the amplitudes *are* relative to
/// `w_max`, unlike the one-term additive rule). A compiler holding
/// amplitudes in weight units passes `a / w_max`.
#[allow(clippy::too_many_arguments)]
pub fn weight_region_additive_triplet(
    w_min: f64,
    w_max: f64,
    a2_plus: f64,
    a2_minus: f64,
    a3_plus: f64,
    a3_minus: f64,
    global_weight_scale: f64,
) -> Result<WeightRegionTwoTerm, StdpEncodeError> {
    let g = global_weight_scale;
    Ok(WeightRegionTwoTerm {
        min_weight: enc(StdpParam::WMin, w_min * g)?,
        max_weight: enc(StdpParam::WMax, w_max * g)?,
        a2_plus: enc(StdpParam::A2Plus, a2_plus * w_max * g)?,
        a2_minus: enc(StdpParam::A2Minus, a2_minus * w_max * g)?,
        a3_plus: enc(StdpParam::A3Plus, a3_plus * w_max * g)?,
        a3_minus: enc(StdpParam::A3Minus, a3_minus * w_max * g)?,
    })
}

/// Timing rule of an STDP synapse type, with its time constants in ms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StdpTiming {
    /// All-to-all pair rule.
    Pair {
        /// ms
        tau_plus: f64,
        /// ms
        tau_minus: f64,
    },
    /// Nearest-pair rule.
    NearestPair {
        /// ms
        tau_plus: f64,
        /// ms
        tau_minus: f64,
    },
    /// Pfister triplet rule (tau_x, tau_y LUTs use shift 2 as upstream).
    Triplet {
        /// ms
        tau_plus: f64,
        /// ms
        tau_minus: f64,
        /// ms
        tau_x: f64,
        /// ms
        tau_y: f64,
    },
}

/// Host parameters of one STDP synapse type, in sPyNNaker's (PyNN's)
/// conventions: see [`weight_region_additive`],
/// [`weight_region_multiplicative`], [`weight_region_additive_triplet`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StdpHostParams {
    /// Timing rule and time constants.
    pub timing: StdpTiming,
    /// Weight dependence (triplet: additive only upstream).
    pub dependence: WeightDependence,
    /// Lower bound (weight units).
    pub w_min: f64,
    /// Upper bound (weight units).
    pub w_max: f64,
    /// A+ / A2+.
    pub a2_plus: f64,
    /// A- / A2-.
    pub a2_minus: f64,
    /// A3+ (triplet only; ignored otherwise).
    pub a3_plus: f64,
    /// A3- (triplet only; ignored otherwise).
    pub a3_minus: f64,
}

/// Precision of one amplitude.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmplitudeCheck {
    /// Which amplitude.
    pub param: StdpParam,
    /// The value handed to the s16.15 encoder (after scaling).
    pub requested: f64,
    /// What the core uses.
    pub encoded: S1615,
    /// `|encoded - requested| / |requested|` (0 if `requested == 0`).
    pub relative_error: f64,
    /// Weight change of one event with a unit trace (s4.11 `2048`, a single
    /// spike at Δt = 0), in s16.15 bits; for multiplicative rules taken at
    /// the largest factor `w_max - w_min`.
    pub unit_update_bits: i64,
    /// That change in LSBs of the stored 16-bit weight (`2^shift` s16.15 bits).
    pub unit_update_w16: f64,
    /// Smallest trace (s4.11 bits) whose update survives the store to 16
    /// bits (`None`: not even a trace of 16.0 does).
    pub min_effective_trace: Option<u32>,
}

/// A time-constant LUT as the host would write it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LutCheck {
    /// Which tau.
    pub tau: StdpTau,
    /// ms.
    pub tau_ms: f64,
    /// LUT shift.
    pub shift: u32,
    /// Entries.
    pub len: usize,
    /// Steps after which the decay is 0 (`len << shift`).
    pub cutoff_steps: u64,
}

/// A precision loss of an STDP configuration on the sPyNNaker core.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StdpPrecisionLoss {
    /// No sPyNNaker binary implements this combination (triplet with a
    /// multiplicative weight dependence).
    Unsupported,
    /// A region parameter does not fit s16.15.
    Encode(StdpEncodeError),
    /// A non-zero amplitude is 0 in s16.15: that update never happens.
    RoundedToZero {
        /// Which amplitude.
        param: StdpParam,
        /// Requested (scaled) value.
        requested: f64,
    },
    /// The s16.15 amplitude differs from the request by more than the
    /// tolerance.
    AmplitudeError {
        /// Which amplitude.
        param: StdpParam,
        /// Relative error.
        relative_error: f64,
    },
    /// Even a unit-trace update is below one LSB of the stored 16-bit weight:
    /// the weight is truncated (floor) at every store, so potentiation of that
    /// size never changes the weight and depression always removes a whole LSB.
    BelowWeightLsb {
        /// Which amplitude.
        param: StdpParam,
        /// The unit-trace update in 16-bit LSBs (< 1).
        unit_update_w16: f64,
    },
    /// Pair terms whose trace has decayed below the amplitude's effective
    /// trace vanish: the single-spike window is cut to `effective_steps`,
    /// dropping more than the tolerance of the exponential kernel's mass.
    WindowTruncated {
        /// Which amplitude.
        param: StdpParam,
        /// Its time constant.
        tau: StdpTau,
        /// Largest Δt (steps) whose single-spike update survives, +1.
        effective_steps: u64,
        /// `e^{-effective_steps·dt/tau}`: fraction of the kernel lost.
        lost_fraction: f64,
    },
    /// The LUT has at most two entries: the rule sees at most Δt ≤ 1 step.
    LutDegenerate {
        /// Which tau.
        tau: StdpTau,
        /// Entries.
        len: usize,
    },
    /// `w_max` exceeds what the 16-bit weight can hold (`65535 / scale`).
    BoundAboveWeightRange {
        /// Requested bound.
        w_max: f64,
        /// Largest representable weight.
        max: f64,
    },
}

/// Maximum losses one report holds (more cannot occur).
pub const MAX_STDP_LOSSES: usize = 16;

/// Result of [`check_stdp_precision`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StdpPrecisionReport {
    /// Amplitudes (A2+, A2-, then A3+, A3- for the triplet).
    pub amplitudes: [Option<AmplitudeCheck>; 4],
    /// LUTs (plus, minus, then x, y for the triplet).
    pub luts: [Option<LutCheck>; 4],
    losses: [Option<StdpPrecisionLoss>; MAX_STDP_LOSSES],
    n_losses: usize,
}

impl StdpPrecisionReport {
    /// The losses found, in the order checked.
    pub fn losses(&self) -> impl Iterator<Item = &StdpPrecisionLoss> {
        self.losses[..self.n_losses].iter().flatten()
    }
    /// True when nothing was lost beyond the tolerance.
    pub fn is_clean(&self) -> bool {
        self.n_losses == 0
    }
    fn push(&mut self, l: StdpPrecisionLoss) {
        if self.n_losses < MAX_STDP_LOSSES {
            self.losses[self.n_losses] = Some(l);
            self.n_losses += 1;
        }
    }
}

/// Check what an STDP configuration loses on the sPyNNaker core: encodes
/// the weight region and LUTs as the host would (`global_weight_scale`, the
/// synapse type's ring-buffer `weight_shift` from [`ring_buffer_shift`]) and
/// reports every precision loss as a structured value. `tolerance` is the
/// relative threshold for [`StdpPrecisionLoss::AmplitudeError`] and
/// [`StdpPrecisionLoss::WindowTruncated`] (e.g. `0.01`).
pub fn check_stdp_precision(
    p: &StdpHostParams,
    time_step_ms: f64,
    weight_shift: u32,
    global_weight_scale: f64,
    tolerance: f64,
) -> Result<StdpPrecisionReport, HostError> {
    let mut r = StdpPrecisionReport { amplitudes: [None; 4], luts: [None; 4], losses: [None; MAX_STDP_LOSSES], n_losses: 0 };
    let (taus, triplet): ([(StdpTau, f64, u32); 4], bool) = match p.timing {
        StdpTiming::Pair { tau_plus, tau_minus } | StdpTiming::NearestPair { tau_plus, tau_minus } => (
            [(StdpTau::Plus, tau_plus, 0), (StdpTau::Minus, tau_minus, 0), (StdpTau::X, 0.0, 0), (StdpTau::Y, 0.0, 0)],
            false,
        ),
        StdpTiming::Triplet { tau_plus, tau_minus, tau_x, tau_y } => (
            [(StdpTau::Plus, tau_plus, 0), (StdpTau::Minus, tau_minus, 0), (StdpTau::X, tau_x, 2), (StdpTau::Y, tau_y, 2)],
            true,
        ),
    };
    let n = if triplet { 4 } else { 2 };
    for (k, &(tau, tau_ms, shift)) in taus[..n].iter().enumerate() {
        let len = exp_lut_len(time_step_ms, tau_ms, shift)?;
        r.luts[k] = Some(LutCheck { tau, tau_ms, shift, len, cutoff_steps: (len as u64) << shift });
        if len <= 2 {
            r.push(StdpPrecisionLoss::LutDegenerate { tau, len });
        }
    }
    if triplet && p.dependence == WeightDependence::Multiplicative {
        r.push(StdpPrecisionLoss::Unsupported);
        return Ok(r);
    }
    let g = global_weight_scale;
    let scale = weight_scale(weight_shift, g);
    let max_w = 65535.0 / scale * g;
    if p.w_max * g > max_w {
        r.push(StdpPrecisionLoss::BoundAboveWeightRange { w_max: p.w_max, max: max_w / g });
    }
    // (param, requested after scaling, encoded) per amplitude
    let mut amps: [(StdpParam, f64, S1615); 4] = [(StdpParam::A2Plus, 0.0, S1615(0)); 4];
    let (w_min, w_max) = if triplet {
        match weight_region_additive_triplet(p.w_min, p.w_max, p.a2_plus, p.a2_minus, p.a3_plus, p.a3_minus, g) {
            Ok(w) => {
                let m = p.w_max * g;
                amps = [
                    (StdpParam::A2Plus, p.a2_plus * m, w.a2_plus),
                    (StdpParam::A2Minus, p.a2_minus * m, w.a2_minus),
                    (StdpParam::A3Plus, p.a3_plus * m, w.a3_plus),
                    (StdpParam::A3Minus, p.a3_minus * m, w.a3_minus),
                ];
                (w.min_weight, w.max_weight)
            }
            Err(e) => {
                r.push(StdpPrecisionLoss::Encode(e));
                return Ok(r);
            }
        }
    } else {
        let (res, sa) = match p.dependence {
            WeightDependence::Additive => (weight_region_additive(p.w_min, p.w_max, p.a2_plus, p.a2_minus, g), g),
            WeightDependence::Multiplicative => {
                (weight_region_multiplicative(p.w_min, p.w_max, p.a2_plus, p.a2_minus, g), 1.0)
            }
        };
        match res {
            Ok(w) => {
                amps[0] = (StdpParam::A2Plus, p.a2_plus * sa, w.a2_plus);
                amps[1] = (StdpParam::A2Minus, p.a2_minus * sa, w.a2_minus);
                (w.min_weight, w.max_weight)
            }
            Err(e) => {
                r.push(StdpPrecisionLoss::Encode(e));
                return Ok(r);
            }
        }
    };
    let lsb = 1i64 << weight_shift.min(62);
    for (k, &(param, requested, encoded)) in amps[..n].iter().enumerate() {
        // the effective s16.15 multiplier of a trace x: A (additive) or
        // (w_max - w_min)·A at its largest (multiplicative)
        let a_eff = match p.dependence {
            WeightDependence::Additive => encoded,
            WeightDependence::Multiplicative => w_max.wrapping_sub(w_min).mul_arm(encoded),
        };
        let unit = super::stdp::mul_accum_fixed(a_eff, 2048).0 as i64;
        // smallest x in 1..=32767 with (a_eff · (x << 4)) >> 15 >= 2^shift
        let min_x = if a_eff.0 <= 0 {
            None
        } else {
            let need = lsb << 15; // a·x·16 >= need
            let x = (need + 16 * a_eff.0 as i64 - 1) / (16 * a_eff.0 as i64);
            if x <= 32767 {
                Some(x as u32)
            } else {
                None
            }
        };
        let rel = if requested != 0.0 { libm::fabs(encoded.to_f64() - requested) / libm::fabs(requested) } else { 0.0 };
        r.amplitudes[k] = Some(AmplitudeCheck {
            param,
            requested,
            encoded,
            relative_error: rel,
            unit_update_bits: unit,
            unit_update_w16: unit as f64 / lsb as f64,
            min_effective_trace: min_x,
        });
        if requested != 0.0 && encoded.0 == 0 {
            r.push(StdpPrecisionLoss::RoundedToZero { param, requested });
            continue;
        }
        if requested == 0.0 {
            continue;
        }
        if rel > tolerance {
            r.push(StdpPrecisionLoss::AmplitudeError { param, relative_error: rel });
        }
        if unit < lsb {
            r.push(StdpPrecisionLoss::BelowWeightLsb { param, unit_update_w16: unit as f64 / lsb as f64 });
            continue;
        }
        // pair terms (A2±): window of a single-spike trace through the LUT
        if k < 2 {
            let (tau, tau_ms, shift) = if k == 0 { taus[0] } else { taus[1] };
            let len = exp_lut_len(time_step_ms, tau_ms, shift)?;
            let min_x = min_x.map_or(i64::MAX, |x| x as i64);
            // the entries are non-increasing: count the leading ones >= min_x
            let eff = (0..len).take_while(|&i| exp_lut_value(time_step_ms, tau_ms, shift, i) as i64 >= min_x).count() as u64;
            let steps = eff << shift;
            let lost = exp(-(steps as f64) * time_step_ms / tau_ms);
            if lost > tolerance {
                r.push(StdpPrecisionLoss::WindowTruncated { param, tau, effective_steps: steps, lost_fraction: lost });
            }
        }
    }
    Ok(r)
}
