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
    let neg_lambda = -(time_step / tau);
    for (i, o) in out[..n].iter_mut().enumerate() {
        let v = floor(exp(((i as u64) << shift) as f64 * neg_lambda) * STDP_FIXED_POINT_ONE);
        *o = v as i16;
    }
    Ok(n)
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
