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

use crate::ir::{self, distribution::Kind, population::Model, projection::Connectivity};
use spikeforge_kernel::rng::Pcg64;

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

/// Expands a validated network for a run of `n_steps` steps.
pub fn expand(net: &ir::Network, n_steps: u32) -> Result<Expanded, ExpandError> {
    let dt = net.dt_ms;
    let mut populations = Vec::with_capacity(net.populations.len());
    for p in &net.populations {
        let model = match &p.model {
            Some(Model::IfCurrExp(m)) => ExpModel::IfCurrExp(m.clone()),
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
            Some(other) => {
                let kind = match other {
                    Model::NetxNeuron(_) => "netx neuron",
                    Model::NetxInput(_) => "netx input",
                    _ => "netx flatten",
                };
                return Err(ExpandError::Unsupported {
                    object: format!("population '{}'", p.name),
                    message: format!("{kind} populations are not supported by the emulator yet"),
                });
            }
            None => return Err(ExpandError::Invalid { object: format!("population '{}'", p.name), message: "no model".into() }),
        };
        let v_init = match &p.model {
            Some(Model::IfCurrExp(m)) => draw(&m.v_init_distribution_mv, p.size as usize, derived_seed(net.seed, &format!("{}/v_init", p.name))),
            _ => None,
        };
        populations.push(ExpPopulation { name: p.name.clone(), size: p.size, model, v_init });
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
            Some(Connectivity::Convolution(_)) | Some(Connectivity::Pooling(_)) => {
                return Err(ExpandError::Unsupported { object: obj, message: "convolution and pooling connectivity is not supported by the emulator yet".into() })
            }
            None => return Err(invalid("no connectivity")),
        }
        let weights = draw(&p.weight, pairs.len(), derived_seed(net.seed, &format!("{}/weight", p.name)));
        let delays = draw(&p.delay_ms, pairs.len(), derived_seed(net.seed, &format!("{}/delay", p.name)));
        let mut synapses = Vec::with_capacity(pairs.len());
        for (k, (i, j, w, d)) in pairs.into_iter().enumerate() {
            let weight = w.or(weights.as_ref().map(|v| v[k])).ok_or_else(|| invalid("no weight"))?;
            let delay_ms = d.or(delays.as_ref().map(|v| v[k])).unwrap_or(dt);
            synapses.push(Synapse { pre: i, post: j, weight, delay: delay_steps(delay_ms, dt) });
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
    Ok(Expanded { dt_ms: dt, populations, projections })
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
