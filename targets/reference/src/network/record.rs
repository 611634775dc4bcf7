//! Turning `Network.recordings` into [`spikeforge_results`] records during a run.

use super::error::SimError;
use super::sim::{Simulator, StateVar};
use spikeforge_compiler::expand::{ExpModel, Expanded};
use spikeforge_compiler::ir::{self, recording::What};
use spikeforge_results::{SpikeRecord, StateRecord, WeightRecord};

enum Plan {
    Spikes { pop: usize, mask: Option<Vec<bool>>, rec: SpikeRecord },
    State { pop: usize, var: StateVar, idx: Vec<usize>, every: u32, rec: StateRecord },
    Weights { proj: usize, every: u32, rec: WeightRecord },
}

/// Collects the records of one run.
pub(crate) struct Recorder {
    plans: Vec<Plan>,
    n_steps: u32,
}

fn model_name(m: &ExpModel) -> &'static str {
    match m {
        ExpModel::IfCurrExp(_) => "IF_curr_exp",
        ExpModel::LavaLif(_) => "LavaLif",
        ExpModel::Source(_) => "spike source",
    }
}

fn check_neurons(recording: &str, population: &str, size: u32, neurons: &[u32]) -> Result<(), SimError> {
    match neurons.iter().find(|&&n| n >= size) {
        Some(&neuron) => Err(SimError::NeuronOutOfRange { recording: recording.to_string(), population: population.to_string(), neuron, size }),
        None => Ok(()),
    }
}

impl Recorder {
    /// Plans every recording of `net`; all errors are reported before the run starts.
    pub(crate) fn new(net: &ir::Network, exp: &Expanded, sim: &Simulator, n_steps: u32) -> Result<Recorder, SimError> {
        let mut plans = Vec::with_capacity(net.recordings.len());
        for r in &net.recordings {
            match r.what.as_ref().ok_or(SimError::EmptyRecording)? {
                What::Spikes(s) => {
                    let recording = format!("spike recording of '{}'", s.population);
                    let pop = sim.population(&s.population).ok_or_else(|| SimError::UnknownPopulation { recording: recording.clone(), population: s.population.clone() })?;
                    let size = exp.populations[pop].size;
                    check_neurons(&recording, &s.population, size, &s.neurons)?;
                    let (neurons, mask) = if s.neurons.is_empty() {
                        ((0..size).collect(), None)
                    } else {
                        let mut mask = vec![false; size as usize];
                        for &n in &s.neurons {
                            mask[n as usize] = true;
                        }
                        (s.neurons.clone(), Some(mask))
                    };
                    plans.push(Plan::Spikes { pop, mask, rec: SpikeRecord { population: s.population.clone(), neurons, events: Vec::new() } });
                }
                What::State(s) => {
                    let recording = format!("state recording of '{}'", s.population);
                    let pop = sim.population(&s.population).ok_or_else(|| SimError::UnknownPopulation { recording: recording.clone(), population: s.population.clone() })?;
                    let ep = &exp.populations[pop];
                    let vars = sim.variables(pop);
                    let var = StateVar::from_name(&s.variable).filter(|v| vars.contains(v)).ok_or_else(|| SimError::UnknownVariable {
                        population: s.population.clone(),
                        variable: s.variable.clone(),
                        model: model_name(&ep.model),
                        expected: if vars.is_empty() { "none: spike sources have no state".into() } else { vars.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ") },
                    })?;
                    check_neurons(&recording, &s.population, ep.size, &s.neurons)?;
                    let neurons: Vec<u32> = if s.neurons.is_empty() { (0..ep.size).collect() } else { s.neurons.clone() };
                    let unit = match (&ep.model, var) {
                        (ExpModel::IfCurrExp(_), StateVar::V) => "mV",
                        (ExpModel::IfCurrExp(_), _) => "nA",
                        _ => sim.lava_units().unit(),
                    };
                    let every = s.every_n_steps.max(1);
                    let samples = (n_steps / every) as usize;
                    let rec = StateRecord {
                        population: s.population.clone(),
                        variable: s.variable.clone(),
                        unit: unit.to_string(),
                        neurons: neurons.clone(),
                        steps: Vec::with_capacity(samples),
                        values: Vec::with_capacity(samples.saturating_mul(neurons.len())),
                        raw: None,
                        raw_format: None,
                    };
                    plans.push(Plan::State { pop, var, idx: neurons.iter().map(|&n| n as usize).collect(), every, rec });
                }
                What::Weights(w) => {
                    let proj = sim.projection(&w.projection).ok_or_else(|| SimError::UnknownProjection { projection: w.projection.clone() })?;
                    let synapses = sim.synapses(proj).map(<[_]>::to_vec).unwrap_or_default();
                    plans.push(Plan::Weights { proj, every: w.every_n_steps, rec: WeightRecord { projection: w.projection.clone(), synapses, steps: Vec::new(), values: Vec::new(), raw: None, raw_format: None } });
                }
            }
        }
        Ok(Recorder { plans, n_steps })
    }

    /// Records what is due at the simulator's current step (call once after
    /// construction, for step 0, and once after every step).
    pub(crate) fn sample(&mut self, sim: &Simulator) {
        let t = sim.step_count();
        for plan in &mut self.plans {
            match plan {
                Plan::Spikes { pop, mask, rec } => {
                    if t == 0 {
                        continue;
                    }
                    let spikes = sim.spikes(*pop).unwrap_or_default();
                    match mask {
                        None => rec.events.extend(spikes.iter().map(|&n| (t, n))),
                        Some(m) => rec.events.extend(spikes.iter().filter(|&&n| m[n as usize]).map(|&n| (t, n))),
                    }
                }
                Plan::State { pop, var, idx, every, rec } => {
                    if t == 0 || !t.is_multiple_of(*every) {
                        continue;
                    }
                    if let Some(x) = sim.state(*pop, *var) {
                        rec.steps.push(t);
                        rec.values.extend(idx.iter().map(|&j| x[j]));
                    }
                }
                Plan::Weights { proj, every, rec } => {
                    let due = if *every == 0 { t == self.n_steps } else { t > 0 && t.is_multiple_of(*every) };
                    if due {
                        rec.steps.push(t);
                        sim.extend_weights(*proj, &mut rec.values);
                    }
                }
            }
        }
    }

    /// The records, each kind in the order of `Network.recordings`.
    pub(crate) fn finish(self) -> (Vec<SpikeRecord>, Vec<StateRecord>, Vec<WeightRecord>) {
        let (mut spikes, mut states, mut weights) = (Vec::new(), Vec::new(), Vec::new());
        for plan in self.plans {
            match plan {
                Plan::Spikes { rec, .. } => spikes.push(rec),
                Plan::State { rec, .. } => states.push(rec),
                Plan::Weights { rec, .. } => weights.push(rec),
            }
        }
        (spikes, states, weights)
    }
}
