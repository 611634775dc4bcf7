//! The stepping simulator.

use super::error::SimError;
use super::neuron::{IfCurrExpProp, LavaLifFloat, LavaUnits};
use super::{PlasticityPolicy, SimOptions};
use spikeforge_compiler::expand::{ExpModel, Expanded};
use spikeforge_compiler::ir;

/// A state variable of a population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateVar {
    /// Membrane potential: mV (IF_curr_exp) or Lava units (LavaLif).
    V,
    /// Excitatory synaptic current, nA (IF_curr_exp).
    ISynE,
    /// Inhibitory synaptic current (magnitude, subtracted from the drive), nA (IF_curr_exp).
    ISynI,
    /// Lava current `u` (LavaLif).
    U,
}

impl StateVar {
    /// The IR name (`StateRecording.variable`).
    pub fn name(self) -> &'static str {
        match self {
            StateVar::V => "v",
            StateVar::ISynE => "i_syn_e",
            StateVar::ISynI => "i_syn_i",
            StateVar::U => "u",
        }
    }

    /// Parses an IR variable name.
    pub fn from_name(name: &str) -> Option<StateVar> {
        match name {
            "v" => Some(StateVar::V),
            "i_syn_e" => Some(StateVar::ISynE),
            "i_syn_i" => Some(StateVar::ISynI),
            "u" => Some(StateVar::U),
            _ => None,
        }
    }
}

/// Structure-of-arrays state of one population.
#[derive(Debug, Clone)]
enum PopState {
    IfCurrExp { p: IfCurrExpProp, v: Vec<f64>, ie: Vec<f64>, ii: Vec<f64>, refr: Vec<u32> },
    LavaLif { p: LavaLifFloat, u: Vec<f64>, v: Vec<f64> },
    /// `(step, neuron)` sorted by step then neuron, and the next unread index.
    Source { events: Vec<(u32, u32)>, next: usize },
}

#[derive(Debug, Clone)]
struct Pop {
    name: String,
    size: usize,
    state: PopState,
    /// Receptor channels of the ring buffer (2 for IF_curr_exp, 1 otherwise).
    channels: usize,
    /// Ring buffer slots (`max incoming delay + 1`).
    slots: usize,
    /// `[slot][channel][neuron]`.
    ring: Vec<f64>,
    /// Neurons that spiked in the last step, ascending.
    spikes: Vec<u32>,
}

/// How a projection's IR weight becomes the input of its target.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Transfer {
    /// `w · scale`.
    Plain(f64),
    /// `|w| · scale` (IF_curr_exp inhibitory current magnitude).
    Abs(f64),
    /// `-|w| · scale` (inhibitory onto a single signed input).
    NegAbs(f64),
}

#[derive(Debug, Clone)]
struct Proj {
    name: String,
    pre: usize,
    post: usize,
    channel: usize,
    transfer: Transfer,
    /// CSR by pre neuron: synapses of pre `i` are `row[i]..row[i + 1]`.
    row: Vec<usize>,
    post_idx: Vec<u32>,
    delay: Vec<u32>,
    /// IR weights, CSR order.
    weight: Vec<f64>,
    /// Expanded order -> CSR position.
    csr_of: Vec<usize>,
    /// `(pre, post)` in Expanded order.
    pairs: Vec<(u32, u32)>,
}

/// The float64 reference, one step at a time (see the [module docs](super)).
///
/// After [`Simulator::new`] the state is the initial state ("step 0");
/// each [`Simulator::step`] simulates the next step.
#[derive(Debug, Clone)]
pub struct Simulator {
    dt_ms: f64,
    t: u32,
    pops: Vec<Pop>,
    projs: Vec<Proj>,
    /// Projections by pre population.
    out: Vec<Vec<usize>>,
    lava_units: LavaUnits,
    /// Plastic projections with their rules' state.
    plastic: Vec<plastic::Plastic>,
}

#[path = "plastic.rs"]
mod plastic;
pub use plastic::{fep_rule_from_ir, stdp_rule_from_ir, FepRule};

impl Simulator {
    /// Builds the simulator of an expanded network.
    pub fn new(exp: &Expanded, opts: &SimOptions) -> Result<Simulator, SimError> {
        let mut slots = vec![1usize; exp.populations.len()];
        for p in &exp.projections {
            let post = p.post;
            if post >= exp.populations.len() || p.pre >= exp.populations.len() {
                return Err(SimError::Mismatch(format!("projection '{}' refers to a population index out of range", p.name)));
            }
            if let Some(d) = p.synapses.iter().map(|s| s.delay).max() {
                slots[post] = slots[post].max(d as usize + 1);
            }
        }
        let mut pops = Vec::with_capacity(exp.populations.len());
        for (k, ep) in exp.populations.iter().enumerate() {
            let n = ep.size as usize;
            let invalid = |message: String| SimError::InvalidParameter { population: ep.name.clone(), message };
            let (state, channels) = match &ep.model {
                ExpModel::IfCurrExp(m) => {
                    let p = IfCurrExpProp::new(m, exp.dt_ms).map_err(invalid)?;
                    let v = match &ep.v_init {
                        None => vec![p.v_init; n],
                        Some(v) if v.len() == n => v.clone(),
                        Some(v) => return Err(invalid(format!("{} initial potentials for {n} neurons", v.len()))),
                    };
                    (PopState::IfCurrExp { p, v, ie: vec![0.0; n], ii: vec![0.0; n], refr: vec![0; n] }, 2)
                }
                ExpModel::LavaLif(m) => {
                    let p = LavaLifFloat::new(m, opts.lava_units).map_err(invalid)?;
                    (PopState::LavaLif { p, u: vec![p.u_init; n], v: vec![p.v_init; n] }, 1)
                }
                ExpModel::Source(trains) => {
                    if trains.len() != n {
                        return Err(invalid(format!("{} spike trains for {n} neurons", trains.len())));
                    }
                    let mut events: Vec<(u32, u32)> = trains.iter().enumerate().flat_map(|(i, tr)| tr.iter().map(move |&s| (s, i as u32))).collect();
                    events.sort_unstable();
                    events.dedup();
                    (PopState::Source { events, next: 0 }, 0)
                }
            };
            let s = if channels == 0 { 0 } else { slots[k] };
            pops.push(Pop { name: ep.name.clone(), size: n, state, channels, slots: s, ring: vec![0.0; s * channels * n], spikes: Vec::new() });
        }
        let mut projs = Vec::with_capacity(exp.projections.len());
        let mut out = vec![Vec::new(); pops.len()];
        for (k, ep) in exp.projections.iter().enumerate() {
            let unsupported = |message: String| SimError::Unsupported { projection: ep.name.clone(), message };
            let (pre, post) = (&pops[ep.pre], &pops[ep.post]);
            let (channel, transfer) = match (&post.state, ep.receptor) {
                (PopState::IfCurrExp { .. }, ir::Receptor::Excitatory) => (0, Transfer::Plain(1.0)),
                (PopState::IfCurrExp { .. }, ir::Receptor::Inhibitory) => (1, Transfer::Abs(1.0)),
                (PopState::IfCurrExp { .. }, r) => {
                    return Err(unsupported(format!("receptor {} onto IF_curr_exp population '{}'; expected excitatory or inhibitory", r.as_str_name(), post.name)))
                }
                (PopState::LavaLif { .. }, r) => {
                    let scale = 2f64.powi(ep.loihi.weight_exp);
                    match r {
                        ir::Receptor::Excitatory | ir::Receptor::Signed => (0, Transfer::Plain(scale)),
                        ir::Receptor::Inhibitory => (0, Transfer::NegAbs(scale)),
                        ir::Receptor::Unspecified => return Err(unsupported("unspecified receptor".into())),
                    }
                }
                (PopState::Source { .. }, _) => return Err(unsupported(format!("population '{}' is a spike source and cannot receive synapses", post.name))),
            };
            let (n_pre, n_post) = (pre.size, post.size);
            for (i, s) in ep.synapses.iter().enumerate() {
                let bad = if s.pre as usize >= n_pre {
                    Some((&pre.name, s.pre, n_pre))
                } else if s.post as usize >= n_post {
                    Some((&post.name, s.post, n_post))
                } else {
                    None
                };
                if let Some((population, neuron, size)) = bad {
                    return Err(SimError::SynapseOutOfRange { projection: ep.name.clone(), index: i, population: population.clone(), neuron, size: size as u32 });
                }
                if s.delay == 0 {
                    return Err(unsupported(format!("synapse #{i} has delay 0; expected whole steps >= 1")));
                }
            }
            // Stable counting sort by pre neuron.
            let mut row = vec![0usize; n_pre + 1];
            for s in &ep.synapses {
                row[s.pre as usize + 1] += 1;
            }
            for i in 0..n_pre {
                row[i + 1] += row[i];
            }
            let m = ep.synapses.len();
            let mut fill = row.clone();
            let (mut post_idx, mut delay, mut weight, mut csr_of) = (vec![0u32; m], vec![0u32; m], vec![0.0; m], vec![0usize; m]);
            for (i, s) in ep.synapses.iter().enumerate() {
                let c = fill[s.pre as usize];
                fill[s.pre as usize] += 1;
                post_idx[c] = s.post;
                delay[c] = s.delay;
                weight[c] = s.weight;
                csr_of[i] = c;
            }
            let pairs = ep.synapses.iter().map(|s| (s.pre, s.post)).collect();
            out[ep.pre].push(k);
            projs.push(Proj { name: ep.name.clone(), pre: ep.pre, post: ep.post, channel, transfer, row, post_idx, delay, weight, csr_of, pairs });
        }
        Ok(Simulator { dt_ms: exp.dt_ms, t: 0, pops, projs, out, lava_units: opts.lava_units, plastic: Vec::new() })
    }

    /// A simulator of `net` (expanded as `exp`) whose plastic projections
    /// learn with their rules (`opts.plasticity` = [`PlasticityPolicy::Simulate`])
    /// or keep their initial weights ([`PlasticityPolicy::Static`], as
    /// [`Simulator::new`]). `exp` must be the expansion of `net`.
    pub fn with_plasticity(net: &ir::Network, exp: &Expanded, opts: &SimOptions) -> Result<Simulator, SimError> {
        let mut sim = Simulator::new(exp, opts)?;
        if opts.plasticity == PlasticityPolicy::Static {
            return Ok(sim);
        }
        for (k, ep) in exp.projections.iter().enumerate() {
            let Some(idx) = ep.plasticity else { continue };
            let rule = net.plasticity_rules.get(idx).ok_or_else(|| {
                SimError::Mismatch(format!("projection '{}' refers to plasticity rule #{idx}, which the network does not have", ep.name))
            })?;
            let (n_pre, n_post) = (sim.pops[ep.pre].size, sim.pops[ep.post].size);
            let p = plastic::Plastic::new(k, ep, rule, n_pre, n_post, exp.dt_ms)?;
            let f = p.delivery_factor();
            if f != 1.0 {
                sim.projs[k].transfer = match sim.projs[k].transfer {
                    Transfer::Plain(s) => Transfer::Plain(s * f),
                    Transfer::Abs(s) => Transfer::Abs(s * f),
                    Transfer::NegAbs(s) => Transfer::NegAbs(s * f),
                };
            }
            sim.plastic.push(p);
        }
        Ok(sim)
    }

    /// Runs the rules of the plastic projections that learn before (`early`)
    /// or after the step's spikes are delivered.
    fn learn(&mut self, t: u32, early: bool) -> Result<(), SimError> {
        for p in &mut self.plastic {
            if p.learns_before_delivery() != early {
                continue;
            }
            let proj = &mut self.projs[p.proj];
            let (pre, post) = (&self.pops[proj.pre].spikes, &self.pops[proj.post].spikes);
            p.step(t, pre, post, proj)?;
        }
        Ok(())
    }

    /// Simulates the next step and returns its number.
    ///
    /// # Panics
    /// If a plasticity rule rejects an event (it cannot for spikes the
    /// simulator generates; [`Simulator::try_step`] returns the error).
    pub fn step(&mut self) -> u32 {
        match self.try_step() {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Simulates the next step and returns its number: neurons update, then
    /// the STDP and free-energy rules see the step's post spikes (each at
    /// `t + delay` of its synapse) and pre spikes, then the step's spikes are
    /// delivered with the updated weights, then the sum-of-products rules run
    /// their spike (and learning) phase.
    pub fn try_step(&mut self) -> Result<u32, SimError> {
        self.t += 1;
        let t = self.t;
        for pop in &mut self.pops {
            pop.update(t);
        }
        if !self.plastic.is_empty() {
            self.learn(t, true)?;
        }
        self.deliver_all(t);
        if !self.plastic.is_empty() {
            self.learn(t, false)?;
        }
        Ok(t)
    }

    /// Delivers the spikes of step `t` into the ring buffers.
    fn deliver_all(&mut self, t: u32) {
        for pre in 0..self.pops.len() {
            if self.pops[pre].spikes.is_empty() {
                continue;
            }
            for &k in &self.out[pre] {
                let proj = &self.projs[k];
                let post = proj.post;
                let (pre_pop, post_pop) = if pre == post {
                    // A recurrent projection: the spike list is read while the ring is written.
                    let pop = &mut self.pops[pre];
                    deliver(proj, &pop.spikes, t, pop.size, pop.channels, pop.slots, &mut pop.ring);
                    continue;
                } else if pre < post {
                    let (a, b) = self.pops.split_at_mut(post);
                    (&a[pre], &mut b[0])
                } else {
                    let (a, b) = self.pops.split_at_mut(pre);
                    (&b[0], &mut a[post])
                };
                deliver(proj, &pre_pop.spikes, t, post_pop.size, post_pop.channels, post_pop.slots, &mut post_pop.ring);
            }
        }
    }

    /// Steps simulated so far (the state is the state "at" this step; 0 = initial).
    pub fn step_count(&self) -> u32 {
        self.t
    }

    /// Time step, ms.
    pub fn dt_ms(&self) -> f64 {
        self.dt_ms
    }

    /// Units of the LavaLif state.
    pub fn lava_units(&self) -> LavaUnits {
        self.lava_units
    }

    /// Number of populations (in [`Expanded`] order).
    pub fn n_populations(&self) -> usize {
        self.pops.len()
    }

    /// Index of a population by name.
    pub fn population(&self, name: &str) -> Option<usize> {
        self.pops.iter().position(|p| p.name == name)
    }

    /// Population name.
    pub fn population_name(&self, pop: usize) -> Option<&str> {
        self.pops.get(pop).map(|p| p.name.as_str())
    }

    /// Neurons of a population.
    pub fn size(&self, pop: usize) -> Option<usize> {
        self.pops.get(pop).map(|p| p.size)
    }

    /// The neurons of `pop` that spiked in the last step, ascending.
    pub fn spikes(&self, pop: usize) -> Option<&[u32]> {
        self.pops.get(pop).map(|p| p.spikes.as_slice())
    }

    /// The state variables `pop` has (empty for spike sources).
    pub fn variables(&self, pop: usize) -> &'static [StateVar] {
        match self.pops.get(pop).map(|p| &p.state) {
            Some(PopState::IfCurrExp { .. }) => &[StateVar::V, StateVar::ISynE, StateVar::ISynI],
            Some(PopState::LavaLif { .. }) => &[StateVar::U, StateVar::V],
            _ => &[],
        }
    }

    /// A state variable of every neuron of `pop`; `None` when the population
    /// does not exist or has no such variable.
    pub fn state(&self, pop: usize, var: StateVar) -> Option<&[f64]> {
        match (&self.pops.get(pop)?.state, var) {
            (PopState::IfCurrExp { v, .. }, StateVar::V) => Some(v),
            (PopState::IfCurrExp { ie, .. }, StateVar::ISynE) => Some(ie),
            (PopState::IfCurrExp { ii, .. }, StateVar::ISynI) => Some(ii),
            (PopState::LavaLif { v, .. }, StateVar::V) => Some(v),
            (PopState::LavaLif { u, .. }, StateVar::U) => Some(u),
            _ => None,
        }
    }

    /// Membrane potential of `pop` (`None` for spike sources).
    pub fn v(&self, pop: usize) -> Option<&[f64]> {
        self.state(pop, StateVar::V)
    }

    /// Remaining refractory steps of an IF_curr_exp population.
    pub fn refractory(&self, pop: usize) -> Option<&[u32]> {
        match &self.pops.get(pop)?.state {
            PopState::IfCurrExp { refr, .. } => Some(refr),
            _ => None,
        }
    }

    /// Number of projections (in [`Expanded`] order).
    pub fn n_projections(&self) -> usize {
        self.projs.len()
    }

    /// Index of a projection by name.
    pub fn projection(&self, name: &str) -> Option<usize> {
        self.projs.iter().position(|p| p.name == name)
    }

    /// `(pre, post)` population indices of a projection.
    pub fn projection_ends(&self, proj: usize) -> Option<(usize, usize)> {
        self.projs.get(proj).map(|p| (p.pre, p.post))
    }

    /// `(pre, post)` neuron indices of every synapse, in [`Expanded`] order.
    pub fn synapses(&self, proj: usize) -> Option<&[(u32, u32)]> {
        self.projs.get(proj).map(|p| p.pairs.as_slice())
    }

    /// The current weights (IR units), in [`Expanded`] synapse order.
    pub fn weights(&self, proj: usize) -> Option<Vec<f64>> {
        let p = self.projs.get(proj)?;
        Some(p.csr_of.iter().map(|&c| p.weight[c]).collect())
    }

    /// Appends the current weights of `proj` (Expanded order) to `out`.
    pub(crate) fn extend_weights(&self, proj: usize, out: &mut Vec<f64>) {
        let p = &self.projs[proj];
        out.extend(p.csr_of.iter().map(|&c| p.weight[c]));
    }

    /// The weight of synapse `k` (Expanded order).
    pub fn weight(&self, proj: usize, k: usize) -> Option<f64> {
        let p = self.projs.get(proj)?;
        p.csr_of.get(k).map(|&c| p.weight[c])
    }

    /// Sets the weight (IR units) of synapse `k` (Expanded order); it applies
    /// to spikes delivered from the next step on (spikes already in flight
    /// keep the weight they were sent with).
    pub fn set_weight(&mut self, proj: usize, k: usize, w: f64) -> Result<(), SimError> {
        let n = self.projs.len();
        let p = self.projs.get_mut(proj).ok_or(SimError::IndexOutOfRange { what: "projection", index: proj, len: n })?;
        let len = p.csr_of.len();
        let c = *p.csr_of.get(k).ok_or(SimError::IndexOutOfRange { what: "synapse", index: k, len })?;
        p.weight[c] = w;
        Ok(())
    }
}

/// Adds the spikes' weights to the ring slots `t + delay`.
fn deliver(proj: &Proj, spikes: &[u32], t: u32, n_post: usize, channels: usize, slots: usize, ring: &mut [f64]) {
    let now = t as usize % slots;
    let stride = channels * n_post;
    let offset = proj.channel * n_post;
    let mut run = |scale: f64, f: fn(f64) -> f64| {
        for &i in spikes {
            let (a, b) = (proj.row[i as usize], proj.row[i as usize + 1]);
            for c in a..b {
                let mut slot = now + proj.delay[c] as usize;
                if slot >= slots {
                    slot -= slots;
                }
                ring[slot * stride + offset + proj.post_idx[c] as usize] += f(proj.weight[c]) * scale;
            }
        }
    };
    match proj.transfer {
        Transfer::Plain(s) => run(s, |w| w),
        Transfer::Abs(s) => run(s, f64::abs),
        Transfer::NegAbs(s) => run(s, |w| -w.abs()),
    }
}

impl Pop {
    /// Step `t`: take the inputs of slot `t`, integrate, threshold.
    fn update(&mut self, t: u32) {
        self.spikes.clear();
        let n = self.size;
        match &mut self.state {
            PopState::IfCurrExp { p, v, ie, ii, refr } => {
                let base = (t as usize % self.slots) * 2 * n;
                let (ine, rest) = self.ring[base..base + 2 * n].split_at_mut(n);
                let ini = rest;
                let drive = p.p20 * p.i_offset;
                for j in 0..n {
                    let e = ie[j] + ine[j];
                    let i = ii[j] + ini[j];
                    ine[j] = 0.0;
                    ini[j] = 0.0;
                    if refr[j] > 0 {
                        refr[j] -= 1;
                    } else {
                        let vn = p.v_rest + (v[j] - p.v_rest) * p.p22 + p.p21e * e - p.p21i * i + drive;
                        if vn >= p.v_thresh {
                            v[j] = p.v_reset;
                            refr[j] = p.refrac_steps;
                            self.spikes.push(j as u32);
                        } else {
                            v[j] = vn;
                        }
                    }
                    ie[j] = e * p.p11e;
                    ii[j] = i * p.p11i;
                }
            }
            PopState::LavaLif { p, u, v } => {
                let base = (t as usize % self.slots) * n;
                let a = &mut self.ring[base..base + n];
                for j in 0..n {
                    u[j] = u[j] * p.decay_u + a[j] * p.input_scale;
                    a[j] = 0.0;
                    let vn = v[j] * p.decay_v + u[j] + p.bias;
                    if vn > p.vth {
                        v[j] = 0.0;
                        self.spikes.push(j as u32);
                    } else {
                        v[j] = vn;
                    }
                }
            }
            PopState::Source { events, next } => {
                while *next < events.len() && events[*next].0 < t {
                    *next += 1;
                }
                while *next < events.len() && events[*next].0 == t {
                    self.spikes.push(events[*next].1);
                    *next += 1;
                }
            }
        }
    }
}
