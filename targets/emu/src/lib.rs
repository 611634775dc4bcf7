//! # spikeforge-emu
//!
//! The software emulator: runs a compiled [`MachineProgram`] for N steps with
//! the kernel's fixed-point semantics and records what the network asks for.
//!
//! ## Execution model
//!
//! Every core of the program is emulated as the chip would run it: a
//! SpiNNaker core through `spikeforge_kernel::spinnaker` (ring buffer,
//! `IF_curr_exp`), a Loihi core through `spikeforge_kernel::loihi` (Dense
//! delay line, bit-accurate LIF), a source core by replaying its spike list.
//! Steps are numbered from 1. In step `t` each core first receives the
//! spikes every core emitted in step `t − 1` (the router delivers them to the
//! cores its table names; each target walks its synaptic rows and schedules
//! the input `delay` steps after the emission), then updates its neurons and
//! emits its own spikes of step `t`.
//!
//! ## Determinism
//!
//! Cores are stepped in parallel (rayon, `threads` workers) but never share
//! mutable state within a step: each reads the previous step's spike lists
//! and writes only its own state. A core processes incoming spikes in
//! ascending source-core, then neuron order. The output is therefore
//! identical for any thread count.

mod core;

use crate::core::{CoreState, Recorder};
use rayon::prelude::*;
use spikeforge_compiler::program::MachineProgram;
use spikeforge_kernel::program::{CoreImage, ImageError};
use spikeforge_results::{RunResult, SpikeRecord, StateRecord, WeightRecord};
use std::collections::BTreeMap;

/// Why a program cannot be emulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmuError {
    #[error("core {core}: {error}")]
    Image { core: usize, error: ImageError },
    #[error("core {core}: the on-core initialisation rejected neuron {neuron}'s parameters")]
    Initialise { core: usize, neuron: usize },
    #[error("the program's stimuli cover {available} steps but {requested} were requested; recompile with at least that many steps")]
    TooManySteps { requested: u32, available: u32 },
    #[error("the manifest is inconsistent: {0}")]
    Manifest(String),
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
}

/// Counters of one run, summed over cores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Synaptic events: synapse words processed for arriving spikes.
    pub synaptic_events: u64,
    /// Ring-buffer adds that saturated at 0xFFFF (SpiNNaker cores).
    pub ring_buffer_saturations: u64,
    /// Spikes emitted by neuron and source cores.
    pub spikes: u64,
}

/// A loaded program, ready to run.
pub struct Emulator {
    program: MachineProgram,
    cores: Vec<CoreState>,
    recorders: Vec<Recorder>,
    /// For each core, the source cores whose spikes it receives (ascending).
    inputs: Vec<Vec<usize>>,
    threads: usize,
}

impl Emulator {
    /// Loads every core image and initialises the cores as the chip would.
    pub fn new(program: MachineProgram, threads: usize) -> Result<Emulator, EmuError> {
        let mut cores = Vec::with_capacity(program.images.len());
        let mut recorders = Vec::with_capacity(program.images.len());
        for (c, words) in program.images.iter().enumerate() {
            let img = CoreImage::parse(words).map_err(|error| EmuError::Image { core: c, error })?;
            cores.push(CoreState::load(c, &img)?);
            recorders.push(Recorder::load(&img, c)?);
        }
        let mut inputs = vec![Vec::new(); cores.len()];
        for r in &program.manifest.routes {
            for &t in &r.targets {
                let t = t as usize;
                if t >= cores.len() || r.source as usize >= cores.len() {
                    return Err(EmuError::Manifest(format!("route {} -> {t} names a core that does not exist", r.source)));
                }
                inputs[t].push(r.source as usize);
            }
        }
        for i in &mut inputs {
            i.sort_unstable();
            i.dedup();
        }
        Ok(Emulator { program, cores, recorders, inputs, threads: threads.max(1) })
    }

    /// The program being run.
    pub fn program(&self) -> &MachineProgram {
        &self.program
    }

    /// Runs `n_steps` steps, calling `progress(step)` after each, and returns
    /// what the program records plus the counters.
    pub fn run(&mut self, n_steps: u32, mut progress: impl FnMut(u32)) -> Result<(RunResult, Counters), EmuError> {
        let available = self.program.manifest.stimulus_steps;
        if n_steps > available {
            return Err(EmuError::TooManySteps { requested: n_steps, available });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| EmuError::Threads { threads: self.threads, message: e.to_string() })?;
        let n = self.cores.len();
        let recorders = &mut self.recorders;
        let mut prev: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut next: Vec<Vec<u32>> = vec![Vec::new(); n];
        let inputs = &self.inputs;
        // One task per worker: cores are split into `threads` contiguous
        // chunks, so a step costs one fork/join, not one per core.
        let chunk = n.div_ceil(self.threads).max(1);
        let step_core = |c: usize, core: &mut CoreState, out: &mut Vec<u32>, rec: &mut Recorder, prev: &[Vec<u32>], t: u32| {
            out.clear();
            for &s in &inputs[c] {
                core.receive(s as u32, &prev[s], t);
            }
            core.step(t, out);
            rec.sample(core, t, out);
        };
        for t in 1..=n_steps {
            let prev_ref = &prev;
            if self.threads == 1 {
                for (c, ((core, out), rec)) in self.cores.iter_mut().zip(next.iter_mut()).zip(recorders.iter_mut()).enumerate() {
                    step_core(c, core, out, rec, prev_ref, t);
                }
            } else {
                pool.install(|| {
                    self.cores
                        .par_chunks_mut(chunk)
                        .zip(next.par_chunks_mut(chunk))
                        .zip(recorders.par_chunks_mut(chunk))
                        .enumerate()
                        .for_each(|(k, ((cores, outs), recs))| {
                            for (j, ((core, out), rec)) in cores.iter_mut().zip(outs.iter_mut()).zip(recs.iter_mut()).enumerate() {
                                step_core(k * chunk + j, core, out, rec, prev_ref, t);
                            }
                        });
                });
            }
            std::mem::swap(&mut prev, &mut next);
            progress(t);
        }
        let mut counters = Counters::default();
        for c in &self.cores {
            let k = c.counters();
            counters.synaptic_events += k.synaptic_events;
            counters.ring_buffer_saturations += k.ring_buffer_saturations;
            counters.spikes += k.spikes;
        }
        let result = self.assemble(n_steps, &self.recorders, &counters)?;
        Ok((result, counters))
    }

    /// Builds the run result from the per-core recorders, in the manifest's
    /// recording order with population-level neuron indices.
    fn assemble(&self, n_steps: u32, recorders: &[Recorder], counters: &Counters) -> Result<RunResult, EmuError> {
        let m = &self.program.manifest;
        let mut out = RunResult {
            network: m.network.clone(),
            backend: format!("emu/{}", m.profile),
            dt_ms: m.dt_ms,
            n_steps,
            ..Default::default()
        };
        for r in &m.recordings {
            match r.kind.as_str() {
                "spikes" => {
                    let mut events = Vec::new();
                    for &(c, e) in &r.parts {
                        let core = &m.cores[c as usize];
                        for &(step, local) in recorders[c as usize].spikes(e as usize) {
                            events.push((step, core.first_neuron + local));
                        }
                    }
                    events.sort_unstable();
                    out.spikes.push(SpikeRecord { population: r.target.clone(), neurons: r.neurons.clone(), events });
                }
                "state" => {
                    // Samples are taken at steps every_n, 2·every_n, ...
                    let steps: Vec<u32> = (1..=n_steps).filter(|t| t % r.every_n_steps == 0).collect();
                    let width = r.neurons.len();
                    // Output positions of the requested neurons, grouped by the core holding them
                    // (a core's recorder keeps its neurons in request order).
                    let pop_cores: Vec<u32> = m.cores.iter().filter(|c| c.population == r.target).map(|c| c.index).collect();
                    let mut positions: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
                    for (k, &n) in r.neurons.iter().enumerate() {
                        let core = pop_cores[(n / m.max_neurons_per_core) as usize];
                        positions.entry(core).or_default().push(k);
                    }
                    let mut raw = vec![0i64; steps.len() * width];
                    for &(c, e) in &r.parts {
                        let cols = &positions[&c];
                        let data = recorders[c as usize].state(e as usize);
                        for (s, row) in data.chunks(cols.len()).enumerate().take(steps.len()) {
                            for (j, &w) in row.iter().enumerate() {
                                raw[s * width + cols[j]] = w;
                            }
                        }
                    }
                    let values = raw.iter().map(|&w| convert(&r.raw_format, w)).collect();
                    out.states.push(StateRecord {
                        population: r.target.clone(),
                        variable: r.variable.clone(),
                        unit: r.unit.clone(),
                        neurons: r.neurons.clone(),
                        steps,
                        values,
                        raw: Some(raw),
                        raw_format: Some(r.raw_format.clone()),
                    });
                }
                "weights" => out.weights.push(self.weights(&r.target, &r.raw_format, n_steps)?),
                other => return Err(EmuError::Manifest(format!("unknown recording kind '{other}'"))),
            }
        }
        out.counters.insert("synaptic_events".into(), counters.synaptic_events);
        out.counters.insert("ring_buffer_saturations".into(), counters.ring_buffer_saturations);
        out.counters.insert("spikes".into(), counters.spikes);
        Ok(out)
    }

    /// The current weights of a projection, read back from the cores'
    /// synaptic matrices, sorted by (pre, post).
    fn weights(&self, projection: &str, raw_format: &str, n_steps: u32) -> Result<WeightRecord, EmuError> {
        let m = &self.program.manifest;
        let p = m
            .projections
            .iter()
            .find(|p| p.name == projection)
            .ok_or_else(|| EmuError::Manifest(format!("weight recording of unknown projection '{projection}'")))?;
        let wanted_type = u32::from(p.receptor == "inhibitory");
        let mut syn: Vec<(u32, u32, i64)> = Vec::new();
        for (c, info) in m.cores.iter().enumerate() {
            if info.population != p.post {
                continue;
            }
            for (sc, local_pre, local_post, ty, raw) in self.cores[c].synapses() {
                let src = &m.cores[sc as usize];
                if src.population != p.pre || (m.profile == "spinnaker" && ty != wanted_type) {
                    continue;
                }
                syn.push((src.first_neuron + local_pre, info.first_neuron + local_post, raw));
            }
        }
        syn.sort_by_key(|s| (s.0, s.1));
        let raw: Vec<i64> = syn.iter().map(|s| s.2).collect();
        let values = raw.iter().map(|&w| w as f64 * p.scale).collect();
        Ok(WeightRecord {
            projection: projection.to_string(),
            synapses: syn.iter().map(|s| (s.0, s.1)).collect(),
            steps: vec![n_steps],
            values,
            raw: Some(raw),
            raw_format: Some(raw_format.to_string()),
        })
    }
}

/// A raw recorded word in physical units.
fn convert(format: &str, w: i64) -> f64 {
    match format {
        "s16.15" => w as f64 / 32768.0,
        _ => w as f64,
    }
}
