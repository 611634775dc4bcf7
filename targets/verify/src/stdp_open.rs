//! Open-loop STDP: the same pre/post spike trains through the sPyNNaker
//! kernel engine (`spikeforge_kernel::spinnaker::stdp`, with the host's
//! quantized parameters) and through the float64 twin (`reference::stdp`).
//!
//! Per synapse, both start from the same weight — the initial weight as the
//! chip stores it (`w16 / scale`) — so the comparison measures the rule, not
//! the initial weight quantization. The kernel defers potentiation to the
//! next pre spike, so weights are compared **after each pre spike**, where
//! both sides are defined. Event times: pre at its emission step, post at
//! its spike step; the kernel's `backprop_delay` delays the post by the
//! synapse's delay, the float side gets `t_post + delay` (see the network
//! reference's docs); post before pre within a step.
//!
//! Stored weights: sPyNNaker's 16-bit row weight, or (`wide`, the compiler's
//! `--plastic-weight-bits 32`) the kernel's 32-bit [`WideWeight`], s16.15 in
//! ring-buffer units, with bounds and additive amplitudes written in that
//! unit, exactly as the compiler writes them.

use crate::VerifyError;
use spikeforge_kernel::spinnaker::host::{self, StdpHostParams, StdpTiming};
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use spikeforge_kernel::spinnaker::stdp::{
    engine::{process_post_event, process_row, PostHistory, RowConfig, TimingRule, WeightRule},
    nearest::NearestPairRule,
    triplet::TripletRule,
    AdditiveTwoTermWeights, ExpLut, OneTermWeights, PairRule, PlasticSynapse, PlasticWeight, WeightDependence, WeightRegion, WideWeight,
};
use spikeforge_reference::stdp;

/// An STDP rule and the numbers the chip uses for it.
#[derive(Debug, Clone)]
pub struct StdpSetup {
    /// The float rule (IR units).
    pub rule: stdp::Rule,
    /// Ring-buffer left shift of the synapse type (from the compiler).
    pub shift: u32,
    /// 32-bit stored weights (`--plastic-weight-bits 32`) instead of 16-bit.
    pub wide: bool,
    /// Time step, ms.
    pub dt_ms: f64,
    luts: [Vec<i16>; 4],
    regions: Regions,
}

#[derive(Debug, Clone, Copy)]
enum Regions {
    One(WeightRegion, WeightDependence),
    Two(spikeforge_kernel::spinnaker::stdp::WeightRegionTwoTerm),
}

/// The host parameters of a float rule (sPyNNaker's conventions: triplet
/// amplitudes relative to `w_max`).
pub fn host_params(rule: &stdp::Rule) -> StdpHostParams {
    host_params_in(rule, 1.0)
}

/// [`host_params`] with every weight-valued parameter (bounds, additive pair
/// amplitudes) multiplied by `unit`: the weight scale `2^(15 − shift)` for
/// 32-bit weights, as the compiler writes them (multiplicative amplitudes
/// are dimensionless; triplet amplitudes are relative to `w_max`).
pub fn host_params_in(rule: &stdp::Rule, unit: f64) -> StdpHostParams {
    let dep = |d: stdp::WeightDependence| match d {
        stdp::WeightDependence::Additive => WeightDependence::Additive,
        stdp::WeightDependence::Multiplicative => WeightDependence::Multiplicative,
    };
    match rule {
        stdp::Rule::Pair(p) => StdpHostParams {
            timing: match p.pairing {
                stdp::Pairing::AllToAll => StdpTiming::Pair { tau_plus: p.tau_plus_ms, tau_minus: p.tau_minus_ms },
                stdp::Pairing::Nearest => StdpTiming::NearestPair { tau_plus: p.tau_plus_ms, tau_minus: p.tau_minus_ms },
            },
            dependence: dep(p.weight_dependence),
            w_min: p.w_min * unit,
            w_max: p.w_max * unit,
            a2_plus: if p.weight_dependence == stdp::WeightDependence::Additive { p.a_plus * unit } else { p.a_plus },
            a2_minus: if p.weight_dependence == stdp::WeightDependence::Additive { p.a_minus * unit } else { p.a_minus },
            a3_plus: 0.0,
            a3_minus: 0.0,
        },
        stdp::Rule::Triplet(p) => {
            let m = if p.w_max != 0.0 { p.w_max } else { 1.0 };
            StdpHostParams {
                timing: StdpTiming::Triplet { tau_plus: p.tau_plus_ms, tau_minus: p.tau_minus_ms, tau_x: p.tau_x_ms, tau_y: p.tau_y_ms },
                dependence: dep(p.weight_dependence),
                w_min: p.w_min * unit,
                w_max: p.w_max * unit,
                a2_plus: p.a2_plus / m,
                a2_minus: p.a2_minus / m,
                a3_plus: p.a3_plus / m,
                a3_minus: p.a3_minus / m,
            }
        }
    }
}

fn lut(dt: f64, tau: f64, shift: u32) -> Result<Vec<i16>, VerifyError> {
    let n = host::exp_lut_len(dt, tau, shift).map_err(|e| VerifyError::Rule(format!("exp LUT for tau = {tau} ms: {e:?}")))?;
    let mut v = vec![0i16; n];
    host::exp_lut(dt, tau, shift, &mut v).map_err(|e| VerifyError::Rule(format!("exp LUT for tau = {tau} ms: {e:?}")))?;
    Ok(v)
}

impl StdpSetup {
    /// Encodes `rule` as the sPyNNaker host does for a synapse type with
    /// ring-buffer left shift `shift` (current input: global weight scale 1),
    /// for 16-bit or (`wide`) 32-bit stored weights.
    pub fn new(rule: stdp::Rule, shift: u32, dt_ms: f64, wide: bool) -> Result<StdpSetup, VerifyError> {
        let unit = if wide { host::weight_scale(shift, 1.0) } else { 1.0 };
        let h = host_params_in(&rule, unit);
        let enc = |e: host::StdpEncodeError| VerifyError::Rule(format!("{:?} = {} does not fit s16.15 ({:?})", e.param, e.value, e.error));
        let (luts, regions) = match h.timing {
            StdpTiming::Pair { tau_plus, tau_minus } | StdpTiming::NearestPair { tau_plus, tau_minus } => {
                let region = match h.dependence {
                    WeightDependence::Additive => host::weight_region_additive(h.w_min, h.w_max, h.a2_plus, h.a2_minus, 1.0),
                    WeightDependence::Multiplicative => host::weight_region_multiplicative(h.w_min, h.w_max, h.a2_plus, h.a2_minus, 1.0),
                }
                .map_err(enc)?;
                ([lut(dt_ms, tau_plus, 0)?, lut(dt_ms, tau_minus, 0)?, Vec::new(), Vec::new()], Regions::One(region, h.dependence))
            }
            StdpTiming::Triplet { tau_plus, tau_minus, tau_x, tau_y } => {
                if h.dependence == WeightDependence::Multiplicative {
                    return Err(VerifyError::Rule("triplet STDP with a multiplicative weight dependence has no sPyNNaker implementation".into()));
                }
                let region = host::weight_region_additive_triplet(h.w_min, h.w_max, h.a2_plus, h.a2_minus, h.a3_plus, h.a3_minus, 1.0).map_err(enc)?;
                ([lut(dt_ms, tau_plus, 0)?, lut(dt_ms, tau_minus, 0)?, lut(dt_ms, tau_x, 2)?, lut(dt_ms, tau_y, 2)?], Regions::Two(region))
            }
        };
        Ok(StdpSetup { rule, shift, wide, dt_ms, luts, regions })
    }

    /// `w_max − w_min` of the rule (1 if they are equal).
    pub fn range(&self) -> f64 {
        let (lo, hi) = self.bounds();
        if hi > lo {
            hi - lo
        } else {
            1.0
        }
    }

    /// The weight region as the core reads it (the words of the compiled
    /// `SpinnakerStdpRule` section for this synapse type).
    pub fn region_words(&self) -> Vec<u32> {
        match &self.regions {
            Regions::One(r, _) => bytemuck::cast_slice(std::slice::from_ref(r)).to_vec(),
            Regions::Two(r) => bytemuck::cast_slice(std::slice::from_ref(r)).to_vec(),
        }
    }

    /// `(w_min, w_max)`.
    pub fn bounds(&self) -> (f64, f64) {
        match &self.rule {
            stdp::Rule::Pair(p) => (p.w_min, p.w_max),
            stdp::Rule::Triplet(p) => (p.w_min, p.w_max),
        }
    }

    /// Weight units per raw unit of the stored weight (16- or 32-bit).
    pub fn lsb(&self) -> f64 {
        let ws = host::weight_scale(self.shift, 1.0);
        if self.wide {
            1.0 / (ws * 32768.0)
        } else {
            1.0 / ws
        }
    }

    /// The 16-bit weight the host writes for `w`.
    pub fn quantize(&self, w: f64) -> u16 {
        host::quantize_weight(w, host::weight_scale(self.shift, 1.0)).w16
    }

    /// The 32-bit weight the compiler writes for `w` (round half to even of
    /// `|w| · 2^(15 − shift) · 2^15`).
    pub fn quantize_wide(&self, w: f64) -> WideWeight {
        WideWeight((w.abs() * host::weight_scale(self.shift, 1.0) * 32768.0).round_ties_even().min(i32::MAX as f64) as i32)
    }

    /// What the host's precision check reports for this rule (human-readable):
    /// as the compiler checks it, in ring-buffer units with shift 0 for
    /// 32-bit weights.
    pub fn precision_diagnostics(&self, tolerance: f64) -> Vec<String> {
        let unit = if self.wide { host::weight_scale(self.shift, 1.0) } else { 1.0 };
        let h = host_params_in(&self.rule, unit);
        let stored = if self.wide { "32-bit" } else { "16-bit" };
        let mut out: Vec<String> = match host::check_stdp_precision(&h, self.dt_ms, if self.wide { 0 } else { self.shift }, 1.0, tolerance) {
            // (32-bit: the bound is checked against the ring buffer below,
            // not against a 16-bit weight at shift 0)
            Ok(r) => r.losses().filter(|l| !(self.wide && matches!(l, host::StdpPrecisionLoss::BoundAboveWeightRange { .. }))).map(|l| describe_loss(l, stored)).collect(),
            Err(e) => vec![format!("the precision check failed: {e:?}")],
        };
        let ws = host::weight_scale(self.shift, 1.0);
        if self.wide && self.bounds().1 * ws > 65535.0 {
            out.push(format!("w_max = {} exceeds the ring-buffer range {:.6} (shift {})", self.bounds().1, 65535.0 / ws, self.shift));
        }
        out
    }

    /// Runs one synapse: `pre` (emission steps), `post` (spike steps of its
    /// post neuron), dendritic delay `delay` (steps), initial weight `w0`.
    pub fn run(&self, pre: &[u32], post: &[u32], delay: u32, w0: f64) -> Result<SynapseRun, VerifyError> {
        let lsb = self.lsb();
        let (w_start, w_fixed) = if self.wide {
            let w = self.quantize_wide(w0);
            (w.0 as f64 * lsb, self.drive_weights(w, pre, post, delay).iter().map(|w| w.0 as f64 * lsb).collect())
        } else {
            let w = self.quantize(w0);
            (w as f64 * lsb, self.drive_weights(w, pre, post, delay).iter().map(|&w| w as f64 * lsb).collect::<Vec<f64>>())
        };
        // float twin
        let post_d: Vec<i64> = post.iter().map(|&t| t as i64 + delay as i64).collect();
        let pre_i: Vec<i64> = pre.iter().map(|&t| t as i64).collect();
        let mut s = stdp::Synapse::new(self.rule, w_start, self.dt_ms).map_err(|e| VerifyError::Rule(e.to_string()))?;
        let mut w_float = Vec::with_capacity(pre.len());
        for (step, e) in stdp::merge_events(&pre_i, &post_d) {
            match e {
                stdp::Event::Post => s.post(step).map_err(|e| VerifyError::Rule(e.to_string()))?,
                stdp::Event::Pre => {
                    s.pre(step).map_err(|e| VerifyError::Rule(e.to_string()))?;
                    w_float.push(s.weight());
                }
            }
        }
        Ok(SynapseRun { w_start, pre_steps: pre.to_vec(), w_fixed, w_float })
    }

    /// The stored weight after each pre spike, through the kernel engine.
    fn drive_weights<P: PlasticWeight>(&self, w0: P, pre: &[u32], post: &[u32], delay: u32) -> Vec<P> {
        let lut = |i: usize, shift: u16| ExpLut { shift, values: &self.luts[i] };
        match self.regions {
            Regions::One(region, dependence) => {
                let regions = [region];
                let shifts = [self.shift];
                let w = OneTermWeights { dependence, regions: &regions, left_shifts: &shifts };
                match &self.rule {
                    stdp::Rule::Pair(p) if p.pairing == stdp::Pairing::Nearest => {
                        drive(&NearestPairRule { tau_plus: lut(0, 0), tau_minus: lut(1, 0) }, &w, w0, delay, pre, post)
                    }
                    _ => drive(&PairRule { tau_plus: lut(0, 0), tau_minus: lut(1, 0) }, &w, w0, delay, pre, post),
                }
            }
            Regions::Two(region) => {
                let regions = [region];
                let shifts = [self.shift];
                let w = AdditiveTwoTermWeights { regions: &regions, left_shifts: &shifts };
                drive(&TripletRule { tau_plus: lut(0, 0), tau_minus: lut(1, 0), tau_x: lut(2, 2), tau_y: lut(3, 2) }, &w, w0, delay, pre, post)
            }
        }
    }
}

fn describe_loss(l: &host::StdpPrecisionLoss, stored: &str) -> String {
    use host::StdpPrecisionLoss as L;
    match l {
        L::Unsupported => "no sPyNNaker binary implements this rule (triplet with multiplicative weights)".into(),
        L::Encode(e) => format!("{:?} = {} cannot be encoded as s16.15 ({:?})", e.param, e.value, e.error),
        L::RoundedToZero { param, requested } => format!("{param:?} = {requested:e} rounds to 0 in s16.15: that update never happens"),
        L::AmplitudeError { param, relative_error } => format!("{param:?} is encoded with a relative error of {:.2} %", relative_error * 100.0),
        L::BelowWeightLsb { param, unit_update_w16 } => format!(
            "{param:?}: even a unit-trace update is {unit_update_w16:.3} of one weight LSB; the {stored} weight store truncates it (potentiation of that size is lost, depression always removes a whole LSB) — A is below one trace/weight LSB"
        ),
        L::WindowTruncated { param, tau, effective_steps, lost_fraction } => format!(
            "{param:?}: updates vanish after {effective_steps} steps of the {tau:?} window ({:.1} % of the kernel lost)",
            lost_fraction * 100.0
        ),
        L::LutDegenerate { tau, len } => format!("the {tau:?} exp LUT has only {len} entries"),
        L::BoundAboveWeightRange { w_max, max } => format!("w_max = {w_max} exceeds the largest weight the ring buffer can take, {max}"),
    }
}

/// Drives one synapse through the kernel engine; returns the stored weight
/// after each pre spike.
fn drive<T: TimingRule, W: WeightRule<Terms = T::Terms>, P: PlasticWeight>(rule: &T, weights: &W, w0: P, delay: u32, pre: &[u32], post: &[u32]) -> Vec<P> {
    let log_max_delay = 32 - (delay + 1).leading_zeros();
    let layout = RingBufferLayout { log_n_neurons: 0, log_n_synapse_types: 1, log_max_delay };
    let mut ring = vec![0u16; layout.len()];
    let cfg = RowConfig { layout: &layout, backprop_delay: true };
    let mut hist = [T::PostHistory::initial()];
    let mut pre_h = <T::PreHistory as bytemuck::Zeroable>::zeroed();
    let syn = [PlasticSynapse { delay, synapse_type: 0, neuron: 0 }];
    let mut w = [w0];
    let mut out = Vec::with_capacity(pre.len());
    let (mut i, mut j) = (0, 0);
    while i < pre.len() {
        if j < post.len() && post[j] <= pre[i] {
            process_post_event(rule, &mut hist[0], post[j]);
            j += 1;
        } else {
            ring.iter_mut().for_each(|x| *x = 0);
            process_row(rule, weights, &cfg, &mut ring, &hist, &mut pre_h, &syn, &mut w, pre[i]);
            out.push(w[0]);
            i += 1;
        }
    }
    out
}

/// One synapse's weights after each of its pre spikes.
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseRun {
    /// The common initial weight (the stored weight, dequantized).
    pub w_start: f64,
    /// Steps of the pre spikes.
    pub pre_steps: Vec<u32>,
    /// Kernel weights (dequantized) after each pre spike.
    pub w_fixed: Vec<f64>,
    /// Float weights after each pre spike.
    pub w_float: Vec<f64>,
}

impl SynapseRun {
    /// `(Δw_fixed, Δw_float)` of every pre spike (the change since the previous one).
    pub fn deltas(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let prev = |v: &[f64], k: usize| if k == 0 { self.w_start } else { v[k - 1] };
        (0..self.w_fixed.len()).map(move |k| (self.w_fixed[k] - prev(&self.w_fixed, k), self.w_float[k] - prev(&self.w_float, k)))
    }
}
