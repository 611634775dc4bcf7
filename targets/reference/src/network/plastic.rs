//! Plasticity in the float64 network reference (see the module docs of
//! [`network`](super::super), section "Plasticity").
//!
//! A child module of `sim`, so it works directly on the simulator's CSR
//! projections; what it adds is per plastic projection: the rule's
//! per-synapse state, the synapses indexed by pre neuron and by
//! (delay, post neuron), and a ring of the post population's recent spikes
//! (for the back-propagation delay).

use super::super::error::SimError;
use super::Proj;
use crate::fep::{FepParams, FepSynapse, VarianceForm};
use crate::stdp;
use spikeforge_compiler::expand::ExpProjection;
use spikeforge_compiler::ir;
use spikeforge_kernel::loihi::dense::SignMode;
use spikeforge_kernel::loihi::rule::{Dependency, FactorVar, ProductSeries, Target};

/// The float64 STDP rule of an IR rule (`None` for the other kinds).
///
/// Triplet amplitudes are taken as they are in the IR (weight units per unit
/// trace), as [`stdp`] defines them.
pub fn stdp_rule_from_ir(rule: &ir::PlasticityRule) -> Option<stdp::Rule> {
    use ir::plasticity_rule::Rule;
    let dep = |d: i32| match ir::WeightDependence::try_from(d) {
        Ok(ir::WeightDependence::Multiplicative) => stdp::WeightDependence::Multiplicative,
        _ => stdp::WeightDependence::Additive,
    };
    match &rule.rule {
        Some(Rule::PairStdp(p)) => Some(stdp::Rule::Pair(stdp::PairStdp {
            pairing: match ir::Pairing::try_from(p.pairing) {
                Ok(ir::Pairing::Nearest) => stdp::Pairing::Nearest,
                _ => stdp::Pairing::AllToAll,
            },
            weight_dependence: dep(p.weight_dependence),
            tau_plus_ms: p.tau_plus_ms,
            tau_minus_ms: p.tau_minus_ms,
            a_plus: p.a_plus,
            a_minus: p.a_minus,
            w_min: p.w_min,
            w_max: p.w_max,
        })),
        Some(Rule::TripletStdp(p)) => Some(stdp::Rule::Triplet(stdp::TripletStdp {
            weight_dependence: dep(p.weight_dependence),
            tau_plus_ms: p.tau_plus_ms,
            tau_minus_ms: p.tau_minus_ms,
            tau_x_ms: p.tau_x_ms,
            tau_y_ms: p.tau_y_ms,
            a2_plus: p.a2_plus,
            a2_minus: p.a2_minus,
            a3_plus: p.a3_plus,
            a3_minus: p.a3_minus,
            w_min: p.w_min,
            w_max: p.w_max,
        })),
        _ => None,
    }
}

/// The free-energy rule of the IR in the reference's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FepRule {
    /// Parameters (IR zeros replaced by the documented defaults).
    pub params: FepParams,
    /// Upper weight bound (units of w).
    pub w_max: f64,
    /// Depth of the pending pre-spike window, ms (`depth` steps × dt).
    pub depth_ms: f64,
}

/// `x` unless it is 0 (the IR's "default").
fn or_default(x: f64, default: f64) -> f64 {
    if x == 0.0 {
        default
    } else {
        x
    }
}

/// The [`FepRule`] of an IR `FreeEnergy` rule on the time grid `dt_ms`
/// (fields left at 0 take the defaults of `network.proto`).
pub fn fep_rule_from_ir(f: &ir::FreeEnergy, dt_ms: f64) -> FepRule {
    let d = FepParams::default();
    let params = FepParams {
        tau_m: or_default(f.tau_ms, d.tau_m),
        u0: or_default(f.u0_mv, d.u0),
        theta: or_default(f.theta_mv, d.theta),
        u_reset: or_default(f.u_reset_mv, d.u_reset),
        gamma: or_default(f.gamma, d.gamma),
        sigma0: or_default(f.sigma0_mv, d.sigma0),
        r0: or_default(f.r0, d.r0),
        eta: or_default(f.eta, d.eta),
        kappa: or_default(f.kappa, d.kappa),
        variance_form: match ir::VarianceForm::try_from(f.variance_form) {
            Ok(ir::VarianceForm::A9) => VarianceForm::A9,
            Ok(ir::VarianceForm::Bridge) => VarianceForm::Bridge,
            _ => VarianceForm::Eq14,
        },
        w_min: or_default(f.w_min, d.w_min),
    };
    let depth = if f.depth == 0 { 256 } else { f.depth };
    FepRule { params, w_max: or_default(f.w_max, 16.0), depth_ms: depth as f64 * dt_ms }
}

/// One float trace of the sum-of-products twin.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SopTrace {
    impulse: f64,
    /// `exp(-1/tau)` per step; 0 for `tau = 0` (zeroed every step).
    decay: f64,
}

impl SopTrace {
    fn from_ir(t: Option<&ir::Trace>) -> SopTrace {
        match t {
            Some(t) if t.tau > 0.0 => SopTrace { impulse: t.impulse, decay: (-1.0 / t.tau).exp() },
            Some(t) => SopTrace { impulse: t.impulse, decay: 0.0 },
            None => SopTrace { impulse: 0.0, decay: 0.0 },
        }
    }
}

/// Largest trace value (Lava's 7-bit range; a range, not a rounding).
const SOP_TRACE_MAX: f64 = 127.0;

/// State of the float sum-of-products twin on one projection.
#[derive(Debug, Clone)]
struct Sop {
    dw: Option<ProductSeries>,
    dt: Option<ProductSeries>,
    x: [SopTrace; 2],
    y: [SopTrace; 3],
    t_epoch: u32,
    decimate: Option<u8>,
    /// Per pre neuron: x1, x2.
    xv: [Vec<f64>; 2],
    /// Per post neuron: y1, y2, y3.
    yv: [Vec<f64>; 3],
    /// In-epoch times (1..=t_epoch) of this epoch's spikes, per neuron.
    pre_ev: Vec<Vec<u32>>,
    post_ev: Vec<Vec<u32>>,
    /// Per synapse (Expanded order): the tag (`dt` target).
    tag: Vec<f64>,
    w_range: (f64, f64),
    w_floor: Option<bool>,
}

#[derive(Debug, Clone)]
enum Kind {
    Stdp(Vec<stdp::Synapse>),
    Fep { syn: Vec<FepSynapse>, dt_ms: f64 },
    Sop(Box<Sop>),
}

/// The plasticity of one projection.
#[derive(Debug, Clone)]
pub(super) struct Plastic {
    /// Index of the projection.
    pub(super) proj: usize,
    rule: String,
    kind: Kind,
    /// Per pre neuron: its synapses (Expanded order indices).
    by_pre: Vec<Vec<u32>>,
    /// Per distinct delay: per post neuron, its synapses with that delay.
    by_post_delay: Vec<(u32, Vec<Vec<u32>>)>,
    /// The post population's spikes of the last `post_ring.len()` steps.
    post_ring: Vec<Vec<u32>>,
}

impl Plastic {
    /// Builds the state of projection `k` with rule `rule`, `n_post` post neurons.
    pub(super) fn new(k: usize, ep: &ExpProjection, rule: &ir::PlasticityRule, n_pre: usize, n_post: usize, dt_ms: f64) -> Result<Plastic, SimError> {
        use ir::plasticity_rule::Rule;
        let err = |message: String| SimError::Plasticity { projection: ep.name.clone(), rule: rule.name.clone(), message };
        let kind = match &rule.rule {
            Some(Rule::PairStdp(_)) | Some(Rule::TripletStdp(_)) => {
                let r = stdp_rule_from_ir(rule).expect("an STDP rule");
                let syn = ep
                    .synapses
                    .iter()
                    .map(|s| stdp::Synapse::new(r, s.weight, dt_ms))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| err(e.to_string()))?;
                Kind::Stdp(syn)
            }
            Some(Rule::FreeEnergy(f)) => {
                let r = fep_rule_from_ir(f, dt_ms);
                let syn = ep
                    .synapses
                    .iter()
                    .map(|s| FepSynapse::with_depth(r.params, s.weight, r.depth_ms).map(|x| x.with_w_max(r.w_max)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| err(e.to_string()))?;
                Kind::Fep { syn, dt_ms }
            }
            Some(Rule::SumOfProducts(s)) => {
                let parse = |t: Target, text: &str| -> Result<Option<ProductSeries>, SimError> {
                    if text.trim().is_empty() {
                        Ok(None)
                    } else {
                        ProductSeries::parse(t, text).map(Some).map_err(|e| err(format!("rule string {}: {e:?}", t.name())))
                    }
                };
                if !s.dd.trim().is_empty() {
                    return Err(err("learned delays (dd) are not simulated by the float reference".into()));
                }
                let dw = parse(Target::Dw, &s.dw)?;
                let dt = parse(Target::Dt, &s.dt)?;
                let decimate = [dw.as_ref(), dt.as_ref()].iter().flatten().find_map(|p| p.decimate_exponent());
                let mode = SignMode::from_u8(ep.loihi.sign_mode as u8).unwrap_or(SignMode::Mixed);
                let (lo, hi) = mode.weight_range();
                Kind::Sop(Box::new(Sop {
                    dw,
                    dt,
                    x: [SopTrace::from_ir(s.x1.as_ref()), SopTrace::from_ir(s.x2.as_ref())],
                    y: [SopTrace::from_ir(s.y1.as_ref()), SopTrace::from_ir(s.y2.as_ref()), SopTrace::from_ir(s.y3.as_ref())],
                    t_epoch: s.t_epoch.max(1),
                    decimate,
                    xv: [vec![0.0; n_pre], vec![0.0; n_pre]],
                    yv: [vec![0.0; n_post], vec![0.0; n_post], vec![0.0; n_post]],
                    pre_ev: vec![Vec::new(); n_pre],
                    post_ev: vec![Vec::new(); n_post],
                    tag: vec![0.0; ep.synapses.len()],
                    w_range: (lo as f64, hi as f64),
                    w_floor: match mode {
                        SignMode::Mixed => None,
                        SignMode::Excitatory => Some(true),
                        SignMode::Inhibitory => Some(false),
                    },
                }))
            }
            None => return Err(err("the rule has no kind".into())),
        };
        let mut by_pre = vec![Vec::new(); n_pre];
        let mut delays: Vec<u32> = ep.synapses.iter().map(|s| s.delay).collect();
        delays.sort_unstable();
        delays.dedup();
        let mut by_post_delay: Vec<(u32, Vec<Vec<u32>>)> = delays.iter().map(|&d| (d, vec![Vec::new(); n_post])).collect();
        for (i, s) in ep.synapses.iter().enumerate() {
            by_pre[s.pre as usize].push(i as u32);
            let slot = delays.binary_search(&s.delay).expect("delay listed");
            by_post_delay[slot].1[s.post as usize].push(i as u32);
        }
        let ring = delays.last().map_or(1, |&d| d as usize + 1);
        Ok(Plastic { proj: k, rule: rule.name.clone(), kind, by_pre, by_post_delay, post_ring: vec![Vec::new(); ring] })
    }

    /// Whether the rule learns before the step's spikes are delivered (STDP,
    /// FEP) or after (the sum-of-products twin, as Lava's LearningDense).
    pub(super) fn learns_before_delivery(&self) -> bool {
        !matches!(self.kind, Kind::Sop(_))
    }

    /// The factor applied to the weight when a spike is delivered
    /// (`r0` for the free-energy rule: the mean release `r0·w`; 1 otherwise).
    pub(super) fn delivery_factor(&self) -> f64 {
        match &self.kind {
            Kind::Fep { syn, .. } => syn.first().map_or(1.0, |s| s.params().r0),
            _ => 1.0,
        }
    }

    /// The events of step `t`: `pre` and `post` are the neurons of the pre
    /// and post populations that spiked in step `t`.
    pub(super) fn step(&mut self, t: u32, pre: &[u32], post: &[u32], proj: &mut Proj) -> Result<(), SimError> {
        let n = self.post_ring.len();
        let slot = &mut self.post_ring[t as usize % n];
        slot.clear();
        slot.extend_from_slice(post);
        let (projection, rule) = (&proj.name, &self.rule);
        let err = |message: String| SimError::Plasticity { projection: projection.clone(), rule: rule.clone(), message };
        match &mut self.kind {
            Kind::Stdp(syn) => {
                // post events first (each delayed by its synapse's delay), then pre events
                for (d, lists) in &self.by_post_delay {
                    if t <= *d {
                        continue;
                    }
                    for &j in &self.post_ring[(t - d) as usize % n] {
                        for &k in &lists[j as usize] {
                            let s = &mut syn[k as usize];
                            s.post(t as i64).map_err(|e| err(e.to_string()))?;
                            proj.weight[proj.csr_of[k as usize]] = s.weight();
                        }
                    }
                }
                for &i in pre {
                    for &k in &self.by_pre[i as usize] {
                        let s = &mut syn[k as usize];
                        s.pre(t as i64).map_err(|e| err(e.to_string()))?;
                        proj.weight[proj.csr_of[k as usize]] = s.weight();
                    }
                }
            }
            Kind::Fep { syn, dt_ms } => {
                let time = t as f64 * *dt_ms;
                for (d, lists) in &self.by_post_delay {
                    if t <= *d {
                        continue;
                    }
                    for &j in &self.post_ring[(t - d) as usize % n] {
                        for &k in &lists[j as usize] {
                            let s = &mut syn[k as usize];
                            s.on_post(time).map_err(|e| err(e.to_string()))?;
                            proj.weight[proj.csr_of[k as usize]] = s.w();
                        }
                    }
                }
                for &i in pre {
                    for &k in &self.by_pre[i as usize] {
                        syn[k as usize].on_pre(time).map_err(|e| err(e.to_string()))?;
                    }
                }
            }
            Kind::Sop(s) => s.step(t, pre, post, proj),
        }
        Ok(())
    }
}

impl Sop {
    /// Spike phase of step `t`, then (every `t_epoch` steps) the learning phase.
    fn step(&mut self, t: u32, pre: &[u32], post: &[u32], proj: &mut Proj) {
        let te = self.t_epoch;
        let off = match t % te {
            0 => te,
            r => r,
        };
        for &i in pre {
            self.pre_ev[i as usize].push(off);
        }
        for &j in post {
            self.post_ev[j as usize].push(off);
        }
        if !t.is_multiple_of(te) {
            return;
        }
        let te_us = te as usize;
        // trace histories h[0..=te] per neuron
        let hist = |v: &[f64], tr: &SopTrace, ev: &[Vec<u32>]| -> Vec<Vec<f64>> {
            v.iter()
                .zip(ev)
                .map(|(&h0, times)| {
                    let mut h = Vec::with_capacity(te_us + 1);
                    h.push(h0);
                    for s in 1..=te {
                        let spikes = times.iter().filter(|&&x| x == s).count() as f64;
                        let prev = h[s as usize - 1];
                        h.push((prev * tr.decay + tr.impulse * spikes).min(SOP_TRACE_MAX));
                    }
                    h
                })
                .collect()
        };
        let xh: Vec<Vec<Vec<f64>>> = (0..2).map(|k| hist(&self.xv[k], &self.x[k], &self.pre_ev)).collect();
        let yh: Vec<Vec<Vec<f64>>> = (0..3).map(|k| hist(&self.yv[k], &self.y[k], &self.post_ev)).collect();
        let tx: Vec<usize> = self.pre_ev.iter().map(|e| e.iter().copied().max().unwrap_or(0) as usize).collect();
        let ty: Vec<usize> = self.post_ev.iter().map(|e| e.iter().copied().max().unwrap_or(0) as usize).collect();
        let u = match self.decimate {
            Some(k) => f64::from((t / te).is_multiple_of(1u32 << k)),
            None => 0.0,
        };
        let n = proj.csr_of.len();
        for syn in 0..n {
            let (i, j) = (proj.pairs[syn].0 as usize, proj.pairs[syn].1 as usize);
            let c = proj.csr_of[syn];
            let w = proj.weight[c];
            let tag = self.tag[syn];
            let ctx = SopCtx { xh: &xh, yh: &yh, i, j, tx: tx[i], ty: ty[j], te: te_us, u, w, tag };
            if let Some(s) = &self.dw {
                let mut nw = w + ctx.series(s);
                match self.w_floor {
                    Some(true) => nw = nw.max(0.0),
                    Some(false) => nw = nw.min(0.0),
                    None => {}
                }
                proj.weight[c] = nw.clamp(self.w_range.0, self.w_range.1);
            }
            if let Some(s) = &self.dt {
                self.tag[syn] = (tag + ctx.series(s)).clamp(-257.0, 255.0);
            }
        }
        for k in 0..2 {
            for (v, h) in self.xv[k].iter_mut().zip(&xh[k]) {
                *v = h[te_us];
            }
        }
        for k in 0..3 {
            for (v, h) in self.yv[k].iter_mut().zip(&yh[k]) {
                *v = h[te_us];
            }
        }
        self.pre_ev.iter_mut().for_each(Vec::clear);
        self.post_ev.iter_mut().for_each(Vec::clear);
    }
}

/// What a product reads for one synapse in one learning phase.
struct SopCtx<'a> {
    xh: &'a [Vec<Vec<f64>>],
    yh: &'a [Vec<Vec<f64>>],
    i: usize,
    j: usize,
    tx: usize,
    ty: usize,
    te: usize,
    u: f64,
    w: f64,
    tag: f64,
}

impl SopCtx<'_> {
    fn var(&self, v: FactorVar, at: usize) -> f64 {
        match v {
            FactorVar::X0 => f64::from(self.tx > 0),
            FactorVar::Y0 => f64::from(self.ty > 0),
            FactorVar::X1 => self.xh[0][self.i][at],
            FactorVar::X2 => self.xh[1][self.i][at],
            FactorVar::Y1 => self.yh[0][self.j][at],
            FactorVar::Y2 => self.yh[1][self.j][at],
            FactorVar::Y3 => self.yh[2][self.j][at],
            FactorVar::W => self.w,
            FactorVar::D => 0.0,
            FactorVar::T => self.tag,
        }
    }

    /// `Σ dep · m·2^e·2^-max(0, width-15) · Π factors`.
    fn series(&self, s: &ProductSeries) -> f64 {
        let mut sum = 0.0;
        for p in s.products() {
            let (dep, at) = match p.dependency {
                Dependency::X0 => (f64::from(self.tx > 0), self.tx),
                Dependency::Y0 => (f64::from(self.ty > 0), self.ty),
                Dependency::U => (self.u, self.te),
            };
            if dep == 0.0 {
                continue;
            }
            let mut r = dep;
            for f in p.factors() {
                let wf = f.var.width() as i32;
                let raw = self.var(f.var, at) + f.constant.unwrap_or(0) as f64;
                r *= if f.sgn {
                    if raw > 0.0 {
                        1.0
                    } else if raw < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                } else {
                    raw.clamp(-(2f64.powi(wf)), 2f64.powi(wf) - 1.0)
                };
            }
            let narrow = p.width().saturating_sub(15) as i32;
            sum += r * p.mantissa as f64 * 2f64.powi(p.exponent as i32 - narrow);
        }
        sum
    }
}
