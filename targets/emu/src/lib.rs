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
//! Loihi cores with plastic projections (Lava's sum-of-products learning)
//! then run a learning pass of step `t`, once every core has run the step:
//! the plastic Dense delivery of the pre spikes of `t` with the current
//! weights, the spike phase and, at epoch ends, the learning phase
//! ([`learning`](crate::learning) documents the order). Weight recordings
//! with `every_n_steps = N > 0` are sampled after steps `N, 2N, …`, with
//! `0` once at the end of the run.
//!
//! ## Determinism
//!
//! Cores are stepped in parallel (`threads` persistent workers that exchange
//! their spikes once per step, see `workers.rs`) but never share mutable state
//! within a step: each reads the previous step's spike lists and writes only
//! its own state. A core processes incoming spikes in ascending source-core,
//! then neuron order. The output is therefore identical for any thread count.
//!
//! ## Fast path and reference path
//!
//! SpiNNaker cores run on a structure-of-arrays fast path (`lif_soa.rs`: one
//! vectorised pass per step, with an AVX-512 pass for uniform-parameter
//! cores where the CPU has it) that gives the same bits as the kernel's
//! `step_core`. Arriving spikes reach static-only cores through their
//! worker's merged rows (`fanout.rs`: one contiguous run of synapses per
//! source neuron over all the worker's cores, the same saturating adds in
//! the same per-core order as `process_fixed_synapses`); cores with STDP or
//! free-energy rows walk their own rows (`add_fixed_row`, `plastic.rs`,
//! `fep.rs`). [`Emulator::new_reference`] runs the kernel's
//! straightforward implementation instead, on one thread: the oracle the fast
//! path is tested against (`tests/fast_path.rs`).

mod core;
mod lif_soa;
mod lined;
mod fanout;
mod workers;
mod learning;
mod plastic;
mod stdp_fast;
mod fep;

/// The xorshift generator of the unit tests' random rows, runs and spikes.
#[cfg(test)]
pub(crate) mod test_rng {
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 16) as u32
        }

        /// Below `n`.
        pub fn below(&mut self, n: u32) -> u32 {
            self.next() % n
        }
    }
}

use crate::core::{CoreState, Recorder};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_kernel::program::{CoreImage, ImageError};
use spikeforge_kernel::spinnaker::lif::LifState;
use spikeforge_kernel::spinnaker::synapse::ExpSynapseState;
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

/// The least work per step (in [`CoreState::cost`] units: about one per
/// neuron, one per 64 synapses) that [`Emulator::with_max_threads`] gives a
/// worker: about a microsecond, several times the cost of the spike
/// exchange the workers wait for at every step.
pub const MIN_WORK_PER_WORKER: u64 = 1024;

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
    /// Whether any core runs a learning pass.
    learning: bool,
    /// Run the reference path (see [`Emulator::new_reference`]).
    reference: bool,
    /// The worker of each core (fixed when the program is loaded).
    assignment: Vec<usize>,
    /// Per worker, its cores' merged static rows and ring buffers, built
    /// when the program is loaded; they also count the events and
    /// saturations of merged delivery (the cores do not).
    fanouts: Vec<fanout::Fanout>,
    /// Steps between exchanges of spikes between workers
    /// ([`workers::exchange_window`]).
    window: u32,
}

impl Emulator {
    /// Loads every core image and initialises the cores as the chip would,
    /// for `threads` workers.
    pub fn new(program: MachineProgram, threads: usize) -> Result<Emulator, EmuError> {
        let mut emu = Emulator::load(program)?;
        emu.threads = threads.max(1);
        emu.plan();
        Ok(emu)
    }

    /// The cores and routes of `program`, not yet split over workers.
    fn load(program: MachineProgram) -> Result<Emulator, EmuError> {
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
        let learning = cores.iter().any(|c| c.has_learning());
        Ok(Emulator { program, cores, recorders, inputs, threads: 1, learning, reference: false, assignment: Vec::new(), fanouts: Vec::new(), window: 1 })
    }

    /// Loads the program for at most `max_threads` workers: a network with
    /// less than [`MIN_WORK_PER_WORKER`] of work per step for each worker
    /// runs on fewer (a one-neuron network gains nothing from a second
    /// worker and loses an exchange per step). The output does not depend on
    /// the count; [`Emulator::workers`] tells it.
    pub fn with_max_threads(program: MachineProgram, max_threads: usize) -> Result<Emulator, EmuError> {
        let mut emu = Emulator::load(program)?;
        let work: u64 = emu.cores.iter().map(CoreState::cost).sum();
        emu.threads = max_threads.clamp(1, (work / MIN_WORK_PER_WORKER).max(1) as usize);
        emu.plan();
        Ok(emu)
    }

    /// The number of workers a run uses.
    pub fn workers(&self) -> usize {
        self.fanouts.len()
    }

    /// Splits the cores over the workers and merges each worker's static
    /// rows (none on the reference path).
    fn plan(&mut self) {
        let n = self.cores.len();
        let workers = if self.reference { 1 } else { self.threads.min(n).max(1) };
        let costs: Vec<u64> = self.cores.iter().map(CoreState::cost).collect();
        self.assignment = workers::assign(&costs, workers);
        let members = workers::members(&self.assignment, workers);
        self.fanouts = members
            .iter()
            .map(|ids| {
                if self.reference {
                    return fanout::Fanout::default();
                }
                let cores: Vec<&CoreState> = ids.iter().map(|&c| &self.cores[c]).collect();
                fanout::Fanout::build(&cores, ids, &self.inputs, n)
            })
            .collect();
        let capacity: Vec<usize> = self.cores.iter().map(CoreState::max_spikes).collect();
        self.window = workers::exchange_window(&self.fanouts, &members, &self.inputs, &capacity, self.learning);
    }

    /// How many steps the workers run between two exchanges of their
    /// spikes: 1 (every step), or — when every synapse delays its spike by
    /// at least that many steps, every arriving spike goes through merged
    /// static rows and nothing learns — the shortest delay, as NEST
    /// exchanges once per minimum delay (at most 32 steps, fewer for a
    /// network so large that a window's mailbox would pass 1 MiB per worker).
    /// The output is the same either way.
    pub fn exchange_window(&self) -> u32 {
        self.window
    }

    /// The same program on the reference path: SpiNNaker cores stepped by the
    /// kernel's `step_core` and `process_fixed_synapses` on the kernel's data
    /// layout, every core in turn on the calling thread. Slow; it is the
    /// oracle the fast path is compared with, and gives the same output.
    pub fn new_reference(program: MachineProgram) -> Result<Emulator, EmuError> {
        let mut emu = Emulator::load(program)?;
        for c in &mut emu.cores {
            c.use_reference_path();
        }
        emu.reference = true;
        emu.plan();
        Ok(emu)
    }

    /// The neuron, synapse and ring-buffer state of SpiNNaker core `core`
    /// in the kernel's layout (`None` for other cores).
    #[doc(hidden)]
    pub fn spinnaker_state(&self, core: usize) -> Option<(Vec<LifState>, Vec<ExpSynapseState>, Vec<u16>)> {
        self.cores.get(core)?.spinnaker_state()
    }

    /// The STDP state of SpiNNaker core `core`: the words of its plastic
    /// rows (pre histories, weights, controls) and of its post histories
    /// (`None`: no plastic matrix).
    #[doc(hidden)]
    pub fn spinnaker_stdp_state(&self, core: usize) -> Option<(Vec<u32>, Vec<u32>)> {
        self.cores.get(core)?.stdp_state()
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
        let n = self.cores.len();
        // Weight recordings sampled during the run (every_n_steps > 0), with
        // the (pre, post) order of their synapses once it is known.
        let mut weight_samples: Vec<(usize, Samples)> = self
            .program
            .manifest
            .recordings
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == "weights" && r.every_n_steps > 0)
            .map(|(i, r)| (i, Samples { expected: (n_steps / r.every_n_steps) as usize, ..Default::default() }))
            .collect();
        let workers = self.fanouts.len();
        let capacity: Vec<usize> = self.cores.iter().map(CoreState::max_spikes).collect();
        // Every core's spikes of the previous step.
        let mut spikes: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut first = 1u32;
        while first <= n_steps {
            // A segment of steps ends where weights are sampled (all cores at rest).
            let last = weight_samples
                .iter()
                .map(|(r, _)| {
                    let every = self.program.manifest.recordings[*r].every_n_steps as u64;
                    (first as u64).div_ceil(every) * every
                })
                .min()
                .unwrap_or(n_steps as u64)
                .min(n_steps as u64) as u32;
            let seg = workers::Segment { inputs: &self.inputs, learning: self.learning, window: self.window, first, last };
            if workers == 1 {
                workers::run_serial(&mut self.cores, &mut self.recorders, &mut self.fanouts[0], &seg, &mut spikes, &mut progress);
            } else {
                workers::run_parallel(&mut self.cores, &mut self.recorders, &self.assignment, &mut self.fanouts, &capacity, &seg, &mut spikes, &mut progress)
                    .map_err(|e| EmuError::Threads { threads: workers, message: e.to_string() })?;
            }
            for (r, samples) in weight_samples.iter_mut() {
                let rec = &self.program.manifest.recordings[*r];
                if last.is_multiple_of(rec.every_n_steps) {
                    weight_sample(&self.program.manifest, &self.cores, &rec.target, last, samples)?;
                }
            }
            first = last + 1;
        }
        let mut counters = Counters::default();
        for k in self.cores.iter().map(CoreState::counters).chain(self.fanouts.iter().map(fanout::Fanout::counters)) {
            counters.synaptic_events += k.synaptic_events;
            counters.ring_buffer_saturations += k.ring_buffer_saturations;
            counters.spikes += k.spikes;
        }
        let result = self.assemble(n_steps, &self.recorders, &counters, weight_samples)?;
        Ok((result, counters))
    }

    /// Builds the run result from the per-core recorders, in the manifest's
    /// recording order with population-level neuron indices.
    fn assemble(&self, n_steps: u32, recorders: &[Recorder], counters: &Counters, weight_samples: Vec<(usize, Samples)>) -> Result<RunResult, EmuError> {
        let mut weight_samples: BTreeMap<usize, Samples> = weight_samples.into_iter().collect();
        let m = &self.program.manifest;
        let mut out = RunResult {
            network: m.network.clone(),
            backend: format!("emu/{}", m.profile),
            dt_ms: m.dt_ms,
            n_steps,
            ..Default::default()
        };
        for (ri, r) in m.recordings.iter().enumerate() {
            match r.kind.as_str() {
                "spikes" => {
                    let parts: Vec<(u32, &[(u32, u32)])> =
                        r.parts.iter().map(|&(c, e)| (m.cores[c as usize].first_neuron, recorders[c as usize].spikes(e as usize))).collect();
                    let events = by_step_then_neuron(&parts);
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
                "weights" => match weight_samples.remove(&ri) {
                    // samples after steps every_n, 2·every_n, …, each with the synapse order of the first
                    Some(samples) => {
                        let mut rec = weights(m, &self.cores, &r.target, &r.raw_format, n_steps)?;
                        rec.values = samples.raw.iter().map(|&w| w as f64 * samples.scale).collect();
                        (rec.steps, rec.raw) = (samples.steps, Some(samples.raw));
                        out.weights.push(rec);
                    }
                    None => out.weights.push(weights(m, &self.cores, &r.target, &r.raw_format, n_steps)?),
                },
                other => return Err(EmuError::Manifest(format!("unknown recording kind '{other}'"))),
            }
        }
        out.counters.insert("synaptic_events".into(), counters.synaptic_events);
        out.counters.insert("ring_buffer_saturations".into(), counters.ring_buffer_saturations);
        out.counters.insert("spikes".into(), counters.spikes);
        Ok(out)
    }
}

/// The current weights of a projection, read back from the cores'
/// synaptic matrices (plastic loihi projections: from their learning
/// state), sorted by (pre, post), as a sample taken after `step`.
fn weights(m: &spikeforge_compiler::program::Manifest, cores: &[CoreState], projection: &str, raw_format: &str, step: u32) -> Result<WeightRecord, EmuError> {
    let (mut syn, scale) = weight_list(m, cores, projection)?;
    syn.sort_by_key(|s| (s.0, s.1));
    let raw: Vec<i64> = syn.iter().map(|s| s.2).collect();
    let values = raw.iter().map(|&w| w as f64 * scale).collect();
    Ok(WeightRecord {
        projection: projection.to_string(),
        synapses: syn.iter().map(|s| (s.0, s.1)).collect(),
        steps: vec![step],
        values,
        raw: Some(raw),
        raw_format: Some(raw_format.to_string()),
    })
}

/// A sample of [`weights`] during a run, appended to `samples`: its step and
/// raw words only (the run's result takes the synapse list from the final
/// read, whose order is the same). `samples.order` caches the (pre, post)
/// sort of the cores' listing, which does not change during a run (the
/// synapses stay, only their weights move): the first sample sorts, the
/// others gather.
fn weight_sample(m: &spikeforge_compiler::program::Manifest, cores: &[CoreState], projection: &str, step: u32, samples: &mut Samples) -> Result<(), EmuError> {
    let (syn, scale) = weight_list(m, cores, projection)?;
    let order = samples.order.get_or_insert_with(|| {
        // stable, as `weights`' sort: equal keys keep the listing's order
        let mut idx: Vec<u32> = (0..syn.len() as u32).collect();
        idx.sort_by_key(|&i| (syn[i as usize].0, syn[i as usize].1));
        idx
    });
    if order.len() != syn.len() {
        return Err(EmuError::Manifest(format!("projection '{projection}' changed its synapse count during the run ({} -> {})", order.len(), syn.len())));
    }
    if samples.raw.is_empty() {
        samples.raw.reserve_exact(samples.expected.max(1) * syn.len());
    }
    samples.raw.extend(order.iter().map(|&i| syn[i as usize].2));
    samples.steps.push(step);
    samples.scale = scale;
    Ok(())
}

/// A weight recording's samples taken during a run, every sample's raw
/// weights appended in one vector (values are computed once, at the end:
/// a recording of 10 samples of 1 M synapses held twice would cost 160 MB
/// more), with the (pre, post) order of the synapses once it is known.
#[derive(Debug, Default)]
struct Samples {
    /// Samples the run will take.
    expected: usize,
    steps: Vec<u32>,
    raw: Vec<i64>,
    /// Raw weight to the recording's unit.
    scale: f64,
    /// Positions in the cores' listing, in (pre, post) order.
    order: Option<Vec<u32>>,
}

/// `(pre, post, raw weight)` of a synapse, population-level neuron indices.
type SynapseWeight = (u32, u32, i64);

/// A projection's synapses as the cores list them, `(pre, post, raw
/// weight)` with population-level neuron indices, and the weight scale.
fn weight_list(m: &spikeforge_compiler::program::Manifest, cores: &[CoreState], projection: &str) -> Result<(Vec<SynapseWeight>, f64), EmuError> {
    let p = m
        .projections
        .iter()
        .find(|p| p.name == projection)
        .ok_or_else(|| EmuError::Manifest(format!("weight recording of unknown projection '{projection}'")))?;
    let wanted_type = u32::from(p.receptor == "inhibitory");
    let mut syn: Vec<(u32, u32, i64)> = Vec::new();
    // A plastic loihi projection's weights live in its learning state.
    let k = m.projections.iter().position(|q| q.name == projection).unwrap_or(0) as u32;
    let mut plastic = false;
    for (c, info) in m.cores.iter().enumerate() {
        if let Some(w) = cores[c].plastic_weights(k) {
            plastic = true;
            syn.extend(w.into_iter().map(|(pre, post, raw)| (pre, info.first_neuron + post, raw)));
        }
    }
    for (c, info) in m.cores.iter().enumerate().filter(|_| !plastic) {
        if info.population != p.post {
            continue;
        }
        // spinnaker STDP projections live in the plastic matrices
        let list = if p.plastic { cores[c].stdp_synapses() } else { cores[c].synapses() };
        for (sc, local_pre, local_post, ty, raw) in list {
            let src = &m.cores[sc as usize];
            if src.population != p.pre || (m.profile == "spinnaker" && ty != wanted_type) {
                continue;
            }
            syn.push((src.first_neuron + local_pre, info.first_neuron + local_post, raw));
        }
    }
    Ok((syn, p.scale))
}

/// The spikes of a population's cores (`(first neuron, [(step, local
/// neuron)])` per core) as `(step, neuron)` pairs in ascending order. With
/// at least one spike per 8 steps: a counting sort by step (each core
/// records its spikes step by step), then each step's few events sorted by
/// neuron where they are not already (a core's spikes of one step come in
/// ascending order, and the cores of a population hold ascending ranges) —
/// linear, where a comparison sort of a long run's spikes took ~5 % of
/// CUBA's loop at dt 1 ms; its one `u32` per step costs at most half the
/// events' own memory. Sparser spikes (Song: one neuron over 10^6 steps)
/// are sorted by comparison.
fn by_step_then_neuron(parts: &[(u32, &[(u32, u32)])]) -> Vec<(u32, u32)> {
    let n: usize = parts.iter().map(|(_, ev)| ev.len()).sum();
    let steps = parts.iter().flat_map(|(_, ev)| ev.iter().map(|&(t, _)| t)).max().map_or(0, |t| t as usize + 1);
    if n.saturating_mul(8) < steps || n > u32::MAX as usize {
        let mut events: Vec<(u32, u32)> = parts.iter().flat_map(|&(first, ev)| ev.iter().map(move |&(t, l)| (t, first + l))).collect();
        events.sort_unstable();
        return events;
    }
    // `end[t]`: first event after step t; counted, summed, then moved down
    // by one bucket while the events are placed
    let mut end = vec![0u32; steps];
    for (_, ev) in parts {
        for &(t, _) in ev.iter() {
            end[t as usize] += 1;
        }
    }
    let mut sum = 0;
    for e in end.iter_mut() {
        *e += sum;
        sum = *e;
    }
    let mut events = vec![(0u32, 0u32); n];
    // placed from the back, so each step's events keep their order
    for &(first, ev) in parts.iter().rev() {
        for &(t, local) in ev.iter().rev() {
            end[t as usize] -= 1;
            events[end[t as usize] as usize] = (t, first + local);
        }
    }
    // now `end[t]` is step t's first event
    for t in 0..steps {
        let stop = end.get(t + 1).map_or(n, |&e| e as usize);
        let bucket = &mut events[end[t] as usize..stop];
        if !bucket.is_sorted() {
            bucket.sort_unstable();
        }
    }
    events
}

/// A raw recorded word in physical units.
fn convert(format: &str, w: i64) -> f64 {
    match format {
        "s16.15" => w as f64 / 32768.0,
        _ => w as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counting sort gives what a comparison sort gives: cores in any
    /// order, a core's events of one step in any order, empty cores.
    #[test]
    fn spikes_by_step_then_neuron_equal_a_sort() {
        let mut rng = test_rng::Rng(0x2545_F491_4F6C_DD1D);
        let mut next = move |n: u32| rng.below(n);
        for case in 0..200 {
            let n_cores = 1 + next(5) as usize;
            let cores: Vec<(u32, Vec<(u32, u32)>)> = (0..n_cores)
                .map(|c| {
                    // dense runs (counting sort) and sparse ones (comparison sort)
                    let steps = if case % 4 == 1 { 5000 } else { 30 };
                    let mut ev: Vec<(u32, u32)> = (0..next(40)).map(|_| (next(steps), next(16))).collect();
                    ev.sort_by_key(|&(t, _)| t); // step by step, as a core records
                    ev.dedup();
                    if case % 2 == 0 {
                        ev.sort_unstable(); // and in neuron order within a step
                    }
                    (c as u32 * 16, ev)
                })
                .collect();
            let mut parts: Vec<(u32, &[(u32, u32)])> = cores.iter().map(|(f, e)| (*f, e.as_slice())).collect();
            if case % 3 == 0 {
                parts.reverse();
            }
            let mut want: Vec<(u32, u32)> = parts.iter().flat_map(|&(f, e)| e.iter().map(move |&(t, l)| (t, f + l))).collect();
            want.sort_unstable();
            assert_eq!(by_step_then_neuron(&parts), want, "case {case}");
        }
    }
}
