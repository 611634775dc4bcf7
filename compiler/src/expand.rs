//! Expansion: the validated IR made concrete.
//!
//! Everything random in a network — Poisson spike trains, fixed-probability
//! connections, weight and delay distributions — is drawn here, once, so the
//! quantized emulator and the float64 reference see *identical* stimuli and
//! synapses. Times become step numbers on the `dt` grid.
//!
//! ## Random streams
//!
//! Every draw uses numpy's `default_rng(seed)` (PCG64 seeded through
//! `SeedSequence`, ported bit for bit in `spikeforge_kernel::rng`), consumed
//! in a documented order, so a Python peer (Brian2, NEST) can rebuild the same
//! network with numpy:
//!
//! * Poisson source: `rng = default_rng(seed)`; for every step `t = 1..=n`
//!   (outer) and neuron `i` (inner) one `rng.random()`; neuron `i` spikes in
//!   step `t` when the draw is `< rate_hz * dt_ms / 1000` and
//!   `start <= (t - 1) * dt < start + duration` — Brian2's `PoissonGroup`
//!   semantics (at most one spike per step).
//! * Fixed probability: `rng = default_rng(seed)`; for `pre` (outer) and
//!   `post` (inner) one `rng.random()`; connected when `< p_connect`
//!   (self-connections are skipped *after* drawing, so the stream does not
//!   depend on the flag).
//! * Uniform weights/delays: one `rng.random()` per synapse in synapse order,
//!   `low + (high - low) * u`.
//! * Normal weights/delays: Box–Muller on pairs of `rng.random()` draws
//!   (not numpy's ziggurat), redrawn outside the clip range.
//!
//! A missing seed is derived from `Network.seed` and the object's name with
//! [`derived_seed`], so adding an object does not change the others' draws.
//!
//! ## Imported networks (netx, NIR)
//!
//! * **Inputs.** A netx input layer (`NetxInput`, also the `input` population
//!   the importer adds to a file without an input layer) and a NIR `Input`
//!   node are the network's input ports: they become spike sources whose
//!   spikes are given per run in [`Stimuli`] (a raster: row `t − 1` holds the
//!   neurons that spike in step `t`; `spikeforge run --input`). An input
//!   without a stimulus emits nothing. The raster gives the input layer's
//!   *output* spikes: a neuron group of a netx input layer and its affine
//!   transform (which netx's `Input` block stores but never applies) are
//!   not simulated.
//! * **netx neurons** (`NetxNeuron`) become Lava LIF populations
//!   ([`ExpModel::LavaLif`] with netx's mapping: `du = iDecay − 1`,
//!   `dv = vDecay`, `vth = vThMant`, `bias_exp = 6`) and keep the neuron
//!   group with its per-neuron bias in [`ExpPopulation::netx`], from which
//!   the loihi profile quantizes them (`quantize::loihi::netx_lif_params`).
//! * **Relays** (`NetxFlatten`, `NirRelay`) have no neurons: every path
//!   `pre → relay → post` is composed into one projection `pre → post` whose
//!   weight is the product of the two weights (summed over parallel paths
//!   with equal delays) and whose delay is `(d_in − 1) + d_out` (a projection
//!   into a relay delivers one step early, so a relay adds no step). The
//!   composite takes the outgoing projection's name (`in.out` when the relay
//!   has several incoming projections), receptor and Loihi encoding.
//! * **Convolution / pooling** connectivity lists its synapses with
//!   [`crate::import::conv`], over the populations' (C, H, W) shapes.
//! * **netx delays** (`netx_delay`, Lava's `DelayDense`): a synapse with
//!   delay `d` delivers `1 + d` steps after the spike (`d = 0` is `Dense`).

use crate::ir::{self, distribution::Kind, population::Model, projection::Connectivity};
use spikeforge_kernel::rng::Pcg64;
use std::collections::BTreeMap;

/// The external input of one run: for each input population (by name), the
/// steps (1-based, sorted) each of its neurons spikes in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stimuli {
    pub trains: BTreeMap<String, Vec<Vec<u32>>>,
}

impl Stimuli {
    /// Adds the raster of population `population`: `rows[t - 1][i]` non-zero
    /// means neuron `i` spikes in step `t`. Every row must have the same length.
    pub fn insert_raster(&mut self, population: &str, rows: &[Vec<i64>]) -> Result<(), String> {
        let n = rows.first().map_or(0, |r| r.len());
        if let Some((t, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n) {
            return Err(format!("row {t} has {} values; row 0 has {n}", r.len()));
        }
        let mut trains = vec![Vec::new(); n];
        for (t, r) in rows.iter().enumerate() {
            for (i, &x) in r.iter().enumerate() {
                if x != 0 {
                    trains[i].push(t as u32 + 1);
                }
            }
        }
        self.trains.insert(population.to_string(), trains);
        Ok(())
    }
}

/// Whether a population is an input port (a spike source fed by [`Stimuli`]).
pub fn is_input(p: &ir::Population) -> bool {
    matches!(p.model, Some(Model::NetxInput(_)) | Some(Model::NirInput(_)))
}

/// The concrete network: populations with their spike trains, projections
/// with every synapse.
#[derive(Debug, Clone, PartialEq)]
pub struct Expanded {
    /// Time step, ms.
    pub dt_ms: f64,
    pub populations: Vec<ExpPopulation>,
    pub projections: Vec<ExpProjection>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExpPopulation {
    pub name: String,
    pub size: u32,
    pub model: ExpModel,
    /// Per-neuron initial membrane potential (mV) when the IR draws it from a
    /// distribution; otherwise the model's `v_init_mv` (or `v_rest_mv`) applies.
    pub v_init: Option<Vec<f64>>,
    /// For a population imported from a netx neuron group: the group, with its
    /// per-neuron `bias`. `model` then holds the [`ExpModel::LavaLif`] netx
    /// maps it to with `bias_mant = 0` (and `du` clamped at 0 for
    /// `iDecay = 0`); the group's bias and [`netx_lif`] parameters take
    /// precedence (the loihi profile uses `quantize::loihi::netx_lif_params`).
    pub netx: Option<ir::NetxNeuron>,
}

/// netx's mapping of a neuron group to Lava's LIF (`lava.lib.dl.netx.hdf5`):
/// `du = iDecay − 1`, `dv = vDecay`, `vth = vThMant`, `bias_exp = 6`; the bias
/// mantissa is per neuron (`bias`), 0 here. `du` is clamped at 0 (Lava runs
/// `iDecay = 0` with `du = −1`, which the IR's unsigned field cannot hold).
pub fn netx_lif(n: &ir::NetxNeuron) -> ir::LavaLif {
    ir::LavaLif {
        du: (n.i_decay as i64 - 1).clamp(0, u32::MAX as i64) as u32,
        dv: n.v_decay.max(0) as u32,
        vth: n.v_th_mant,
        bias_mant: 0,
        bias_exp: 6,
        u_init: 0,
        v_init: 0,
    }
}

/// What a population computes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpModel {
    IfCurrExp(ir::IfCurrExp),
    LavaLif(ir::LavaLif),
    /// A spike source: for each neuron the sorted steps (1-based) it spikes in.
    Source(Vec<Vec<u32>>),
}

/// One synapse, with its float weight in the IR's units and its delay in steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Synapse {
    /// Index in the pre population.
    pub pre: u32,
    /// Index in the post population.
    pub post: u32,
    /// Weight in IR units (nA for IF_curr_exp, Lava integers for Loihi-style neurons).
    pub weight: f64,
    /// Delay in whole steps, >= 1.
    pub delay: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExpProjection {
    pub name: String,
    /// Index into `Expanded::populations`.
    pub pre: usize,
    pub post: usize,
    pub receptor: ir::Receptor,
    /// Synapses sorted by (pre, post) in the order they were drawn.
    pub synapses: Vec<Synapse>,
    /// Index into `Network::plasticity_rules`.
    pub plasticity: Option<usize>,
    /// Loihi weight encoding (defaults when the IR gives none).
    pub loihi: ir::LoihiWeights,
}

/// Why a network cannot be expanded (it should have failed validation).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpandError {
    #[error("{object}: {message}")]
    Unsupported { object: String, message: String },
    #[error("{object}: {message} (run `spikeforge check` for details)")]
    Invalid { object: String, message: String },
}

/// A 64-bit seed derived from the network seed and an object's name
/// (FNV-1a over the name, mixed with the seed by SplitMix64's finaliser).
pub fn derived_seed(network_seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h ^ network_seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Number of steps of a run of `duration_ms` (rounded to the nearest step).
pub fn steps_for(duration_ms: f64, dt_ms: f64) -> u32 {
    (duration_ms / dt_ms).round().max(0.0) as u32
}

/// The step a time falls in: a spike at `t_ms` is emitted in step `round(t / dt)`.
pub fn step_of(t_ms: f64, dt_ms: f64) -> u32 {
    (t_ms / dt_ms).round().max(0.0) as u32
}

/// Delay in whole steps (>= 1).
pub fn delay_steps(d_ms: f64, dt_ms: f64) -> u32 {
    ((d_ms / dt_ms).round() as u32).max(1)
}

/// Expands a validated network for a run of `n_steps` steps, without external
/// input (input populations emit nothing).
pub fn expand(net: &ir::Network, n_steps: u32) -> Result<Expanded, ExpandError> {
    expand_with(net, n_steps, &Stimuli::default())
}

/// Expands a validated network for a run of `n_steps` steps with the external
/// input `stimuli` (spikes after `n_steps` are dropped).
pub fn expand_with(net: &ir::Network, n_steps: u32, stimuli: &Stimuli) -> Result<Expanded, ExpandError> {
    let dt = net.dt_ms;
    for name in stimuli.trains.keys() {
        match net.populations.iter().find(|p| &p.name == name) {
            Some(p) if is_input(p) => {}
            Some(_) => return Err(ExpandError::Invalid { object: format!("stimulus '{name}'"), message: "names a population that is not an input (a netx input layer or NIR Input)".into() }),
            None => return Err(ExpandError::Invalid { object: format!("stimulus '{name}'"), message: "names no population of the network".into() }),
        }
    }
    let mut populations = Vec::with_capacity(net.populations.len());
    let mut relay = Vec::with_capacity(net.populations.len());
    for p in &net.populations {
        relay.push(matches!(p.model, Some(Model::NetxFlatten(_)) | Some(Model::NirRelay(_))));
        let mut netx = None;
        let model = match &p.model {
            Some(Model::IfCurrExp(m)) => ExpModel::IfCurrExp(*m),
            Some(Model::LavaLif(m)) => ExpModel::LavaLif(*m),
            Some(Model::SpikeSourceArray(a)) => ExpModel::Source(
                a.trains
                    .iter()
                    .map(|t| {
                        let mut steps: Vec<u32> = t.times_ms.iter().map(|&x| step_of(x, dt)).filter(|&s| s >= 1 && s <= n_steps).collect();
                        // Two spikes that round into one step are one spike: a neuron spikes at most once per step.
                        steps.dedup();
                        steps
                    })
                    .collect(),
            ),
            Some(Model::SpikeSourcePoisson(s)) => {
                let seed = s.seed.unwrap_or_else(|| derived_seed(net.seed, &p.name));
                ExpModel::Source(poisson_trains(s, p.size, dt, n_steps, seed))
            }
            Some(Model::NetxNeuron(n)) => {
                netx = Some(n.clone());
                ExpModel::LavaLif(netx_lif(n))
            }
            Some(Model::NetxInput(_)) | Some(Model::NirInput(_)) => match stimuli.trains.get(&p.name) {
                None => ExpModel::Source(vec![Vec::new(); p.size as usize]),
                Some(t) if t.len() != p.size as usize => {
                    return Err(ExpandError::Invalid {
                        object: format!("stimulus '{}'", p.name),
                        message: format!("has {} neurons; the input population has {}", t.len(), p.size),
                    })
                }
                Some(t) => ExpModel::Source(t.iter().map(|s| s.iter().copied().filter(|&x| x >= 1 && x <= n_steps).collect()).collect()),
            },
            // Relays are composed away below; the placeholder never reaches the result.
            Some(Model::NetxFlatten(_)) | Some(Model::NirRelay(_)) => ExpModel::Source(Vec::new()),
            Some(Model::NirNeuron(_)) => {
                return Err(ExpandError::Unsupported {
                    object: format!("population '{}'", p.name),
                    message: "NIR neuron populations (float parameters in NIR units) are not supported by the emulator yet".into(),
                });
            }
            None => return Err(ExpandError::Invalid { object: format!("population '{}'", p.name), message: "no model".into() }),
        };
        let v_init = match &p.model {
            Some(Model::IfCurrExp(m)) => draw(&m.v_init_distribution_mv, p.size as usize, derived_seed(net.seed, &format!("{}/v_init", p.name))),
            _ => None,
        };
        populations.push(ExpPopulation { name: p.name.clone(), size: p.size, model, v_init, netx });
    }
    let index = |name: &str| net.populations.iter().position(|p| p.name == name);
    let mut projections = Vec::with_capacity(net.projections.len());
    for p in &net.projections {
        let obj = format!("projection '{}'", p.name);
        let invalid = |m: &str| ExpandError::Invalid { object: obj.clone(), message: m.to_string() };
        let pre = index(&p.pre).ok_or_else(|| invalid("unknown pre population"))?;
        let post = index(&p.post).ok_or_else(|| invalid("unknown post population"))?;
        let (n_pre, n_post) = (net.populations[pre].size, net.populations[post].size);
        let same = pre == post;
        let mut pairs: Vec<(u32, u32, Option<f64>, Option<f64>)> = Vec::new();
        match &p.connectivity {
            Some(Connectivity::AllToAll(a)) => {
                for i in 0..n_pre {
                    for j in 0..n_post {
                        if !(same && i == j && !a.allow_self_connections) {
                            pairs.push((i, j, None, None));
                        }
                    }
                }
            }
            Some(Connectivity::OneToOne(_)) => pairs.extend((0..n_pre.min(n_post)).map(|i| (i, i, None, None))),
            Some(Connectivity::FixedProbability(f)) => {
                let seed = f.seed.unwrap_or_else(|| derived_seed(net.seed, &format!("{}/connect", p.name)));
                let mut rng = Pcg64::new(seed as u128);
                for i in 0..n_pre {
                    for j in 0..n_post {
                        let u = rng.random_f64();
                        if u < f.p_connect && !(same && i == j && !f.allow_self_connections) {
                            pairs.push((i, j, None, None));
                        }
                    }
                }
            }
            Some(Connectivity::FromList(l)) => pairs.extend(l.connections.iter().map(|c| (c.pre, c.post, c.weight, c.delay_ms))),
            Some(Connectivity::DenseMatrix(m)) => {
                // Stored [post][pre]; synapses are listed pre-major like the others.
                for i in 0..m.cols {
                    for j in 0..m.rows {
                        pairs.push((i, j, Some(m.weights[(j * m.cols + i) as usize]), None));
                    }
                }
            }
            Some(Connectivity::Convolution(c)) => {
                let s = crate::import::conv::conv_synapses(c, &conv_shape(&net.populations[pre]), &conv_shape(&net.populations[post])).map_err(|e| invalid(&e.0))?;
                pairs.extend(s.into_iter().map(|(i, j, w)| (i, j, Some(w), None)));
            }
            Some(Connectivity::Pooling(c)) => {
                let s = crate::import::conv::pool_synapses(c, &conv_shape(&net.populations[pre]), &conv_shape(&net.populations[post])).map_err(|e| invalid(&e.0))?;
                pairs.extend(s.into_iter().map(|(i, j, w)| (i, j, Some(w), None)));
            }
            None => return Err(invalid("no connectivity")),
        }
        let weights = draw(&p.weight, pairs.len(), derived_seed(net.seed, &format!("{}/weight", p.name)));
        let delays = draw(&p.delay_ms, pairs.len(), derived_seed(net.seed, &format!("{}/delay", p.name)));
        // netx delays (Lava's DelayDense): d steps after Dense's own step.
        let netx_delay = |i: u32, j: u32| -> Option<u32> {
            let d = &p.netx_delay;
            match d.len() {
                0 => None,
                1 => Some(d[0]),
                n if n == n_post as usize => Some(d[j as usize]),
                _ => Some(d[i as usize]),
            }
        };
        if !(p.netx_delay.len() <= 1 || p.netx_delay.len() == n_post as usize || p.netx_delay.len() == n_pre as usize) {
            return Err(invalid(&format!("netx_delay has {} values; expected 1, the post size {n_post} or the pre size {n_pre}", p.netx_delay.len())));
        }
        let mut synapses = Vec::with_capacity(pairs.len());
        for (k, (i, j, w, d)) in pairs.into_iter().enumerate() {
            let weight = w.or(weights.as_ref().map(|v| v[k])).ok_or_else(|| invalid("no weight"))?;
            let delay = match netx_delay(i, j) {
                Some(nd) => 1 + nd,
                None => delay_steps(d.or(delays.as_ref().map(|v| v[k])).unwrap_or(dt), dt),
            };
            synapses.push(Synapse { pre: i, post: j, weight, delay });
        }
        let plasticity = if p.plasticity.is_empty() {
            None
        } else {
            Some(net.plasticity_rules.iter().position(|r| r.name == p.plasticity).ok_or_else(|| invalid("unknown plasticity rule"))?)
        };
        projections.push(ExpProjection {
            name: p.name.clone(),
            pre,
            post,
            receptor: ir::Receptor::try_from(p.receptor).unwrap_or(ir::Receptor::Excitatory),
            synapses,
            plasticity,
            loihi: p.loihi.unwrap_or(ir::LoihiWeights { sign_mode: ir::SignMode::Mixed as i32, num_weight_bits: 8, weight_exp: 0 }),
        });
    }
    eliminate_relays(&mut populations, &mut projections, &relay)?;
    Ok(Expanded { dt_ms: dt, populations, projections })
}

/// The (C, H, W) shape a convolution sees: the population's shape, with a
/// 1-D population read as (N, 1, 1).
fn conv_shape(p: &ir::Population) -> Vec<u32> {
    match p.shape.as_slice() {
        [] => vec![p.size, 1, 1],
        [n] => vec![*n, 1, 1],
        s => s.to_vec(),
    }
}

/// Composes every path through a relay population into one projection and
/// removes the relays (see the module docs).
fn eliminate_relays(populations: &mut Vec<ExpPopulation>, projections: &mut Vec<ExpProjection>, relay: &[bool]) -> Result<(), ExpandError> {
    for r in (0..populations.len()).filter(|&r| relay[r]) {
        let name = &populations[r].name;
        let unsupported = |object: String, message: String| ExpandError::Unsupported { object, message };
        if let Some(p) = projections.iter().find(|p| p.pre == r && p.post == r) {
            return Err(unsupported(format!("projection '{}'", p.name), format!("connects the relay '{name}' to itself")));
        }
        let ins: Vec<usize> = (0..projections.len()).filter(|&k| projections[k].post == r).collect();
        let outs: Vec<usize> = (0..projections.len()).filter(|&k| projections[k].pre == r).collect();
        for &k in ins.iter().chain(&outs) {
            if projections[k].plasticity.is_some() {
                return Err(unsupported(format!("projection '{}'", projections[k].name), format!("is plastic and connects the relay '{name}', which is composed away")));
            }
        }
        for &k in &ins {
            if projections[k].loihi.weight_exp != 0 {
                return Err(unsupported(format!("projection '{}'", projections[k].name), format!("has a Loihi weight exponent and feeds the relay '{name}'; only the projection out of a relay may carry one")));
            }
        }
        let mut composed = Vec::new();
        for &b in &outs {
            let out = &projections[b];
            let mut by_relay: Vec<Vec<&Synapse>> = vec![Vec::new(); populations[r].size as usize];
            for s in &out.synapses {
                by_relay[s.pre as usize].push(s);
            }
            for &a in &ins {
                let inp = &projections[a];
                let mut sum: BTreeMap<(u32, u32, u32), f64> = BTreeMap::new();
                for s1 in &inp.synapses {
                    for s2 in &by_relay[s1.post as usize] {
                        *sum.entry((s1.pre, s2.post, s1.delay - 1 + s2.delay)).or_insert(0.0) += s1.weight * s2.weight;
                    }
                }
                composed.push(ExpProjection {
                    name: if ins.len() == 1 { out.name.clone() } else { format!("{}.{}", inp.name, out.name) },
                    pre: inp.pre,
                    post: out.post,
                    receptor: out.receptor,
                    synapses: sum.into_iter().map(|((pre, post, delay), weight)| Synapse { pre, post, weight, delay }).collect(),
                    plasticity: None,
                    loihi: out.loihi,
                });
            }
        }
        // The composites take the place of the first outgoing projection.
        let at = outs.first().copied().unwrap_or(projections.len());
        let mut kept = Vec::with_capacity(projections.len());
        for (k, p) in projections.drain(..).enumerate() {
            if k == at {
                kept.append(&mut composed);
            }
            if p.pre != r && p.post != r {
                kept.push(p);
            }
        }
        kept.append(&mut composed);
        *projections = kept;
    }
    // Drop the relays and renumber.
    let mut index = vec![usize::MAX; populations.len()];
    let mut n = 0;
    for (i, &is_relay) in relay.iter().enumerate() {
        if !is_relay {
            index[i] = n;
            n += 1;
        }
    }
    let mut i = 0;
    populations.retain(|_| {
        i += 1;
        !relay[i - 1]
    });
    for p in projections.iter_mut() {
        p.pre = index[p.pre];
        p.post = index[p.post];
    }
    Ok(())
}

/// Poisson spike trains, Brian2 `PoissonGroup` semantics; see the module docs for the stream order.
pub fn poisson_trains(s: &ir::SpikeSourcePoisson, size: u32, dt_ms: f64, n_steps: u32, seed: u64) -> Vec<Vec<u32>> {
    let p = s.rate_hz * dt_ms / 1000.0;
    let end = s.duration_ms.map_or(f64::INFINITY, |d| s.start_ms + d);
    let mut rng = Pcg64::new(seed as u128);
    let mut trains = vec![Vec::new(); size as usize];
    for t in 1..=n_steps {
        let time = (t - 1) as f64 * dt_ms;
        let active = time >= s.start_ms && time < end;
        for train in trains.iter_mut() {
            let u = rng.random_f64();
            if active && u < p {
                train.push(t);
            }
        }
    }
    trains
}

/// Draws `n` values of a distribution; `None` when the distribution is absent.
fn draw(d: &Option<ir::Distribution>, n: usize, derived: u64) -> Option<Vec<f64>> {
    let kind = d.as_ref()?.kind.as_ref()?;
    Some(match kind {
        Kind::Constant(c) => vec![*c; n],
        Kind::Uniform(u) => {
            let mut rng = Pcg64::new(u.seed.unwrap_or(derived) as u128);
            (0..n).map(|_| u.low + (u.high - u.low) * rng.random_f64()).collect()
        }
        Kind::Normal(g) => {
            let mut rng = Pcg64::new(g.seed.unwrap_or(derived) as u128);
            let lo = g.clip_low.unwrap_or(f64::NEG_INFINITY);
            let hi = g.clip_high.unwrap_or(f64::INFINITY);
            (0..n)
                .map(|_| {
                    if g.sd == 0.0 {
                        return g.mean;
                    }
                    // Validation guarantees the clip range holds probability mass;
                    // cap the redraws so a pathological range cannot hang.
                    for _ in 0..10_000 {
                        let (u1, u2) = (1.0 - rng.random_f64(), rng.random_f64());
                        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                        let x = g.mean + g.sd * z;
                        if x >= lo && x <= hi {
                            return x;
                        }
                    }
                    g.mean.clamp(lo, hi)
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ_by_name_and_seed() {
        assert_ne!(derived_seed(1, "a"), derived_seed(1, "b"));
        assert_ne!(derived_seed(1, "a"), derived_seed(2, "a"));
        assert_eq!(derived_seed(7, "exc"), derived_seed(7, "exc"));
    }

    #[test]
    fn relays_are_composed_away_and_inputs_replay_the_stimulus() {
        use ir::distribution::Kind as K;
        let pop = |name: &str, size: u32, model: Model| ir::Population { name: name.into(), size, model: Some(model), ..Default::default() };
        let proj = |name: &str, pre: &str, post: &str, c: Connectivity, delay_ms: Option<f64>| ir::Projection {
            name: name.into(),
            pre: pre.into(),
            post: post.into(),
            receptor: ir::Receptor::Signed as i32,
            connectivity: Some(c),
            weight: Some(ir::Distribution { kind: Some(K::Constant(2.0)) }),
            delay_ms: delay_ms.map(|d| ir::Distribution { kind: Some(K::Constant(d)) }),
            ..Default::default()
        };
        let net = ir::Network {
            dt_ms: 1.0,
            populations: vec![
                pop("input", 3, Model::NetxInput(ir::NetxInput::default())),
                pop("flat", 3, Model::NetxFlatten(ir::NetxFlatten {})),
                pop("out", 2, Model::NetxNeuron(ir::NetxNeuron { i_decay: 4096, v_decay: 10, v_th_mant: 5, bias: vec![1.0, 2.0], ..Default::default() })),
            ],
            projections: vec![
                proj("into", "input", "flat", Connectivity::OneToOne(ir::OneToOne {}), None),
                proj("a", "input", "flat", Connectivity::FromList(ir::FromList { connections: vec![ir::Connection { pre: 0, post: 1, weight: Some(3.0), delay_ms: Some(2.0) }] }), None),
                ir::Projection {
                    netx_delay: vec![0, 4],
                    ..proj("dense", "flat", "out", Connectivity::DenseMatrix(ir::DenseMatrix { rows: 2, cols: 3, weights: vec![1.0, 0.0, 5.0, 7.0, 1.0, 0.0], weights_imag: vec![] }), None)
                },
            ],
            ..Default::default()
        };
        let mut st = Stimuli::default();
        st.insert_raster("input", &[vec![1, 0, 0], vec![0, 0, 1], vec![1, 1, 0]]).unwrap();
        let e = expand_with(&net, 2, &st).unwrap();
        assert_eq!(e.populations.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["input", "out"]);
        assert_eq!(e.populations[0].model, ExpModel::Source(vec![vec![1], vec![], vec![2]]));
        assert_eq!(e.populations[1].model, ExpModel::LavaLif(ir::LavaLif { du: 4095, dv: 10, vth: 5, bias_mant: 0, bias_exp: 6, u_init: 0, v_init: 0 }));
        assert_eq!(e.populations[1].netx.as_ref().unwrap().bias, vec![1.0, 2.0]);
        let names: Vec<&str> = e.projections.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["into.dense", "a.dense"]);
        let syn = |k: usize| e.projections[k].synapses.iter().map(|s| (s.pre, s.post, s.weight, s.delay)).collect::<Vec<_>>();
        // one_to_one weight 2 into the relay, dense weight w out, per-output netx delays 0 and 4.
        assert_eq!(syn(0), vec![(0, 0, 2.0, 1), (0, 1, 14.0, 5), (1, 0, 0.0, 1), (1, 1, 2.0, 5), (2, 0, 10.0, 1), (2, 1, 0.0, 5)]);
        // input 0 -> relay 1 with weight 3 and 2 ms: one step added to the outgoing delay.
        assert_eq!(syn(1), vec![(0, 0, 0.0, 2), (0, 1, 3.0, 6)]);
        assert!(e.projections.iter().all(|p| p.pre == 0 && p.post == 1));
        let mut wrong = Stimuli::default();
        wrong.insert_raster("out", &[vec![1, 0]]).unwrap();
        assert!(matches!(expand_with(&net, 2, &wrong), Err(ExpandError::Invalid { .. })));
    }

    #[test]
    fn poisson_rate_is_right_and_respects_the_window() {
        let s = ir::SpikeSourcePoisson { rate_hz: 20.0, start_ms: 100.0, duration_ms: Some(800.0), seed: Some(3) };
        let trains = poisson_trains(&s, 200, 1.0, 1000, 3);
        let n: usize = trains.iter().map(|t| t.len()).sum();
        // 200 neurons x 0.8 s x 20 Hz = 3200 expected; 5 sigma = 5 * sqrt(3200) ~ 283.
        assert!((n as f64 - 3200.0).abs() < 283.0, "{n}");
        for t in &trains {
            assert!(t.iter().all(|&s| (101..=900).contains(&s)), "{t:?}");
            assert!(t.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
