//! Lowering: the expanded, quantized network placed onto cores and written as
//! per-core program images (`spikeforge_kernel::program`).
//!
//! Passes, in order:
//! 1. [`crate::expand`] draws stimuli and synapses;
//! 2. [`crate::quantize`] turns parameters and weights into the profile's numbers;
//! 3. placement splits every population into slices of at most
//!    `max_neurons_per_core` neurons, one core each, in population order;
//! 4. routing: a source core routes to every core that holds a target of
//!    one of its neurons; the target core gets one block of rows per source
//!    core, keyed by the source core's keys;
//! 5. recordings are split per core.
//!
//! Rows list synapse words sorted by (target neuron, expansion order), so
//! reading the matrices back in block/row/word order yields synapses sorted
//! by (pre, post) — the order of weight recordings.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::expand::{self, ExpModel, Expanded};
use crate::ir;
use crate::program::{CoreInfo, MachineProgram, Manifest, ProjectionInfo, RecordingInfo, Route};
use crate::quantize;
use bytemuck::Pod;
use spikeforge_kernel::program::{
    self as kp, CoreKind, Header, LoihiInput, LoihiNeuron, MatrixBlock, MatrixHeader, Profile, RecordEntry, SectionKind, SpinnakerRing, Variable,
};
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use std::collections::BTreeMap;

/// Default neurons per core, as sPyNNaker's `DEFAULT_MAX_ATOMS_PER_CORE`.
pub const DEFAULT_MAX_NEURONS_PER_CORE: u32 = 256;

/// Which numeric profile to compile for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetProfile {
    Spinnaker,
    Loihi,
}

impl TargetProfile {
    pub fn name(self) -> &'static str {
        match self {
            TargetProfile::Spinnaker => "spinnaker",
            TargetProfile::Loihi => "loihi",
        }
    }

    /// The profile a network's neurons call for: `loihi` when every neuron
    /// population is Loihi-style, `spinnaker` otherwise.
    pub fn for_network(net: &ir::Network) -> TargetProfile {
        use ir::population::Model;
        let any_lava = net.populations.iter().any(|p| matches!(p.model, Some(Model::LavaLif(_)) | Some(Model::NetxNeuron(_))));
        if any_lava {
            TargetProfile::Loihi
        } else {
            TargetProfile::Spinnaker
        }
    }
}

/// Options of [`compile`].
#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub profile: TargetProfile,
    pub max_neurons_per_core: u32,
    /// Steps the stimuli are expanded for (a run may use fewer).
    pub n_steps: u32,
}

/// A compiled program and what the passes reported.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: MachineProgram,
    pub diagnostics: Diagnostics,
}

/// Runs every pass. `Err` carries the diagnostics with at least one error.
pub fn compile(net: &ir::Network, opts: &CompileOptions) -> Result<Compiled, Diagnostics> {
    let mut d = Diagnostics::default();
    let exp = match expand::expand(net, opts.n_steps) {
        Ok(e) => e,
        Err(e) => {
            d.push(Diagnostic::error("L001", "network", "", e.to_string()));
            return Err(d);
        }
    };
    if opts.max_neurons_per_core == 0 || opts.max_neurons_per_core > kp::MAX_NEURONS_PER_CORE {
        d.push(Diagnostic::error("L002", "compile options", "max_neurons_per_core", format!("found {}; expected 1..={}", opts.max_neurons_per_core, kp::MAX_NEURONS_PER_CORE)));
        return Err(d);
    }
    let q = match opts.profile {
        TargetProfile::Spinnaker => {
            let q = quantize::spinnaker::quantize(net, &exp);
            d.0.extend(q.diagnostics.0.iter().cloned());
            Quant::Spinnaker(q)
        }
        TargetProfile::Loihi => {
            let q = loihi_quantize(net, &exp, &mut d);
            Quant::Loihi(q)
        }
    };
    if d.has_errors() {
        return Err(d);
    }
    let program = build(net, &exp, &q, opts, &mut d);
    if d.has_errors() {
        return Err(d);
    }
    Ok(Compiled { program, diagnostics: d })
}

/// The quantized numbers of one profile.
enum Quant {
    Spinnaker(quantize::spinnaker::Quantized),
    Loihi(LoihiQuant),
}

/// Loihi-profile numbers: per population neurons, per projection signed weights.
struct LoihiQuant {
    neurons: Vec<Option<Vec<LoihiNeuron>>>,
    weights: Vec<Vec<i16>>,
    weight_exp: Vec<i32>,
}

fn loihi_quantize(net: &ir::Network, exp: &Expanded, d: &mut Diagnostics) -> LoihiQuant {
    use quantize::loihi::LoihiPopulation;
    let (q, diags) = quantize::loihi::quantize(net, exp);
    d.0.extend(diags.0);
    let neurons = q
        .populations
        .iter()
        .map(|p| match p {
            Some(LoihiPopulation::Lif { params, init, size }) => Some(vec![LoihiNeuron { params: *params, u_init: init.u, v_init: init.v }; *size as usize]),
            _ => None,
        })
        .collect();
    let weight_exp = q.projections.iter().map(|p| p.dense.weight_exp as i32).collect();
    let weights = q.projections.into_iter().map(|p| p.weights).collect();
    LoihiQuant { neurons, weights, weight_exp }
}

/// One placed core.
struct Core {
    population: usize,
    first: u32,
    n: u32,
}

fn bits_for(n: u32) -> u32 {
    // Bits needed to index 0..n (at least 0).
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

fn build(net: &ir::Network, exp: &Expanded, q: &Quant, opts: &CompileOptions, d: &mut Diagnostics) -> MachineProgram {
    // Placement.
    let mut cores: Vec<Core> = Vec::new();
    let mut pop_cores: Vec<Vec<usize>> = Vec::new();
    for (i, p) in exp.populations.iter().enumerate() {
        let mut mine = Vec::new();
        let mut first = 0;
        while first < p.size {
            let n = (p.size - first).min(opts.max_neurons_per_core);
            mine.push(cores.len());
            cores.push(Core { population: i, first, n });
            first += n;
        }
        pop_cores.push(mine);
    }
    let core_of = |pop: usize, neuron: u32| -> (usize, u32) {
        let k = (neuron / opts.max_neurons_per_core) as usize;
        (pop_cores[pop][k], neuron % opts.max_neurons_per_core)
    };

    // Synapse words per (target core, source core): rows per source neuron.
    // Entries: (source local neuron, target local neuron, expansion order, word).
    let mut blocks: Vec<BTreeMap<usize, Vec<(u32, u32, usize, u32)>>> = (0..cores.len()).map(|_| BTreeMap::new()).collect();
    let mut max_delay = vec![1u32; cores.len()];
    for proj in &exp.projections {
        for s in &proj.synapses {
            let (tc, _) = core_of(proj.post, s.post);
            max_delay[tc] = max_delay[tc].max(s.delay);
        }
    }
    let mut block_weight_exp: BTreeMap<(usize, usize), i32> = BTreeMap::new();
    let mut order = 0usize;
    for (k, proj) in exp.projections.iter().enumerate() {
        for (j, s) in proj.synapses.iter().enumerate() {
            let (sc, sl) = core_of(proj.pre, s.pre);
            let (tc, tl) = core_of(proj.post, s.post);
            let word = match q {
                Quant::Spinnaker(qs) => {
                    let layout = spinnaker_layout(cores[tc].n, max_delay[tc]);
                    layout.fixed_word(qs.weights[k][j], s.delay, qs.synapse_type[k], tl)
                }
                Quant::Loihi(ql) => {
                    let we = ql.weight_exp[k];
                    if let Some(prev) = block_weight_exp.insert((tc, sc), we) {
                        if prev != we {
                            d.push(Diagnostic::error(
                                "L010",
                                format!("projection '{}'", proj.name),
                                "loihi.weight_exp",
                                format!("differs ({we}) from another projection between the same cores ({prev}); one weight exponent per source/target core pair"),
                            ));
                        }
                    }
                    let log_n = bits_for(cores[tc].n);
                    (ql.weights[k][j] as u16 as u32) << 16 | s.delay << log_n | tl
                }
            };
            blocks[tc].entry(sc).or_default().push((sl, tl, order, word));
            order += 1;
        }
    }
    // Word-format limits.
    for (c, core) in cores.iter().enumerate() {
        let bits = bits_for(max_delay[c] + 1) + bits_for(core.n) + if matches!(q, Quant::Spinnaker(_)) { 1 } else { 0 };
        if bits > 16 && !blocks[c].is_empty() {
            d.push(Diagnostic::error(
                "L003",
                format!("population '{}'", exp.populations[core.population].name),
                "delay_ms",
                format!("a delay of {} steps with {} neurons per core does not fit the 16-bit synapse word fields", max_delay[c], core.n),
            ));
        }
    }

    // Routes.
    let mut routes: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for (tc, b) in blocks.iter().enumerate() {
        for &sc in b.keys() {
            routes.entry(sc).or_default().push(tc as u32);
        }
    }

    // Recordings.
    let mut core_records: Vec<Vec<(RecordEntry, Vec<u32>)>> = (0..cores.len()).map(|_| Vec::new()).collect();
    let mut rec_infos = Vec::new();
    for r in &net.recordings {
        use ir::recording::What;
        let (kind, target, variable, neurons, every) = match &r.what {
            Some(What::Spikes(s)) => ("spikes", s.population.clone(), String::new(), s.neurons.clone(), 1),
            Some(What::State(s)) => ("state", s.population.clone(), s.variable.clone(), s.neurons.clone(), s.every_n_steps.max(1)),
            Some(What::Weights(w)) => {
                rec_infos.push(weight_recording(w, exp, q));
                continue;
            }
            None => continue,
        };
        let Some(pop) = exp.populations.iter().position(|p| p.name == target) else { continue };
        let neurons: Vec<u32> = if neurons.is_empty() { (0..exp.populations[pop].size).collect() } else { neurons };
        let var = match (kind, variable.as_str()) {
            ("spikes", _) => Variable::Spikes,
            (_, "v") => Variable::V,
            (_, "u") => Variable::U,
            (_, "i_syn_e") => Variable::ISynE,
            (_, "i_syn_i") => Variable::ISynI,
            _ => continue,
        };
        let (unit, raw_format) = match (q, var) {
            (_, Variable::Spikes) => ("", ""),
            (Quant::Spinnaker(_), Variable::V) => ("mV", "s16.15"),
            (Quant::Spinnaker(_), _) => ("nA", "s16.15"),
            (Quant::Loihi(_), _) => ("lava", "i24"),
        };
        let mut per_core: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for &n in &neurons {
            let (c, l) = core_of(pop, n);
            per_core.entry(c).or_default().push(l);
        }
        let mut parts = Vec::new();
        for (c, locals) in per_core {
            let entry = RecordEntry { variable: var as u32, every_n_steps: every, first: 0, count: locals.len() as u32 };
            parts.push((c as u32, core_records[c].len() as u32));
            core_records[c].push((entry, locals));
        }
        rec_infos.push(RecordingInfo {
            kind: kind.into(),
            target,
            variable,
            unit: unit.into(),
            raw_format: raw_format.into(),
            every_n_steps: every,
            neurons,
            parts,
        });
    }

    // Images.
    let timestep_ns = (exp.dt_ms * 1e6).round() as u32;
    let profile = match q {
        Quant::Spinnaker(_) => Profile::Spinnaker,
        Quant::Loihi(_) => Profile::Loihi,
    };
    let mut images = Vec::with_capacity(cores.len());
    let mut infos = Vec::with_capacity(cores.len());
    for (c, core) in cores.iter().enumerate() {
        let pop = &exp.populations[core.population];
        let range = core.first as usize..(core.first + core.n) as usize;
        let mut img = ImageBuilder::default();
        let kind = match &pop.model {
            ExpModel::Source(trains) => {
                let mut words = vec![core.n, 0];
                let mut offsets = vec![0u32];
                let mut steps = Vec::new();
                for t in &trains[range.clone()] {
                    steps.extend_from_slice(t);
                    offsets.push(steps.len() as u32);
                }
                words[1] = steps.len() as u32;
                words.extend(offsets);
                words.extend(steps);
                img.raw(SectionKind::SourceSpikes, core.n, words);
                CoreKind::Source
            }
            _ => {
                match q {
                    Quant::Spinnaker(qs) => {
                        let block = qs.populations[core.population].as_ref().expect("spinnaker neurons quantized");
                        img.pods(SectionKind::SpinnakerLif, &block.lif[range.clone()]);
                        img.pods(SectionKind::SpinnakerThreshold, &block.threshold[range.clone()]);
                        img.pods(SectionKind::SpinnakerSynapse, &block.synapse[range.clone()]);
                        let ring = SpinnakerRing { layout: spinnaker_layout(core.n, max_delay[c]), n_steps_per_timestep: 1, left_shifts: block.left_shifts };
                        img.pods(SectionKind::SpinnakerRing, std::slice::from_ref(&ring));
                    }
                    Quant::Loihi(ql) => {
                        let ns = ql.neurons[core.population].as_ref().expect("loihi neurons quantized");
                        img.pods(SectionKind::LoihiLif, &ns[range.clone()]);
                        let input = LoihiInput { log_max_delay: bits_for(max_delay[c] + 1), log_n_neurons: bits_for(core.n) };
                        img.pods(SectionKind::LoihiInput, std::slice::from_ref(&input));
                    }
                }
                // Synaptic matrix.
                let mut mblocks = Vec::new();
                let mut row_index = vec![0u32];
                let mut words = Vec::new();
                for (&sc, entries) in blocks[c].iter_mut() {
                    entries.sort_by_key(|e| (e.0, e.1, e.2));
                    let first_row = row_index.len() as u32 - 1;
                    let n_sources = cores[sc].n;
                    let mut e = 0;
                    for src in 0..n_sources {
                        while e < entries.len() && entries[e].0 == src {
                            words.push(entries[e].3);
                            e += 1;
                        }
                        row_index.push(words.len() as u32);
                    }
                    let weight_exp = block_weight_exp.get(&(c, sc)).copied().unwrap_or(0);
                    mblocks.push(MatrixBlock { key_base: kp::key(sc as u32, 0), n_sources, first_row, weight_exp });
                }
                let header = MatrixHeader { n_blocks: mblocks.len() as u32, n_rows: row_index.len() as u32 - 1, n_words: words.len() as u32, reserved: 0 };
                let mut sec: Vec<u32> = bytemuck::cast_slice(std::slice::from_ref(&header)).to_vec();
                sec.extend_from_slice(bytemuck::cast_slice(&mblocks));
                sec.extend(row_index);
                sec.extend(words);
                img.raw(SectionKind::SynapticMatrix, mblocks.len() as u32, sec);
                CoreKind::Neurons
            }
        };
        // Recording section.
        let recs = &core_records[c];
        if !recs.is_empty() {
            let mut entries = Vec::new();
            let mut neurons = Vec::new();
            for (e, locals) in recs {
                entries.push(RecordEntry { first: neurons.len() as u32, ..*e });
                neurons.extend_from_slice(locals);
            }
            let mut sec = vec![entries.len() as u32, neurons.len() as u32];
            sec.extend_from_slice(bytemuck::cast_slice(&entries));
            sec.extend(neurons);
            img.raw(SectionKind::Recording, recs.len() as u32, sec);
        }
        images.push(img.finish(profile, kind, c as u32, core.n, timestep_ns));
        infos.push(CoreInfo {
            index: c as u32,
            population: pop.name.clone(),
            first_neuron: core.first,
            n_neurons: core.n,
            kind: if kind == CoreKind::Source { "source".into() } else { "neurons".into() },
        });
    }

    let projections = exp
        .projections
        .iter()
        .enumerate()
        .map(|(k, p)| ProjectionInfo {
            name: p.name.clone(),
            pre: exp.populations[p.pre].name.clone(),
            post: exp.populations[p.post].name.clone(),
            scale: weight_scale(q, exp, k),
            receptor: match p.receptor {
                ir::Receptor::Inhibitory => "inhibitory",
                ir::Receptor::Signed => "signed",
                _ => "excitatory",
            }
            .into(),
            n_synapses: p.synapses.len() as u64,
        })
        .collect();

    MachineProgram {
        manifest: Manifest {
            format_version: crate::program::FORMAT_VERSION,
            network: net.name.clone(),
            profile: match q {
                Quant::Spinnaker(_) => "spinnaker".into(),
                Quant::Loihi(_) => "loihi".into(),
            },
            dt_ms: exp.dt_ms,
            default_steps: expand::steps_for(net.duration_ms, net.dt_ms),
            max_neurons_per_core: opts.max_neurons_per_core,
            cores: infos,
            routes: routes.into_iter().map(|(s, t)| Route { source: s as u32, targets: t }).collect(),
            recordings: rec_infos,
            projections,
            stimulus_steps: opts.n_steps,
        },
        images,
    }
}

/// Float weight per raw weight unit of projection `k`.
fn weight_scale(q: &Quant, exp: &Expanded, k: usize) -> f64 {
    match q {
        Quant::Spinnaker(qs) => {
            let p = &exp.projections[k];
            let shift = qs.populations[p.post].as_ref().map_or(0, |b| b.left_shifts[qs.synapse_type[k] as usize]);
            1.0 / spikeforge_kernel::spinnaker::host::weight_scale(shift, 1.0)
        }
        Quant::Loihi(_) => 1.0,
    }
}

fn weight_recording(w: &ir::WeightRecording, exp: &Expanded, q: &Quant) -> RecordingInfo {
    let unit = match q {
        Quant::Spinnaker(_) => "nA",
        Quant::Loihi(_) => "lava",
    };
    let raw = match q {
        Quant::Spinnaker(_) => "w16",
        Quant::Loihi(_) => "i16",
    };
    let _ = exp;
    RecordingInfo {
        kind: "weights".into(),
        target: w.projection.clone(),
        variable: String::new(),
        unit: unit.into(),
        raw_format: raw.into(),
        every_n_steps: w.every_n_steps,
        neurons: vec![],
        parts: vec![],
    }
}

/// The ring-buffer layout of a SpiNNaker core: 2 synapse types, enough bits
/// for its neurons and its longest delay (delays must be < 2^log_max_delay).
pub fn spinnaker_layout(n_neurons: u32, max_delay: u32) -> RingBufferLayout {
    RingBufferLayout { log_n_neurons: bits_for(n_neurons), log_n_synapse_types: 1, log_max_delay: bits_for(max_delay + 1) }
}

#[derive(Default)]
struct ImageBuilder {
    sections: Vec<(SectionKind, u32, Vec<u32>)>,
}

impl ImageBuilder {
    fn pods<T: Pod>(&mut self, kind: SectionKind, items: &[T]) {
        let bytes: &[u8] = bytemuck::cast_slice(items);
        let words = bytes.chunks(4).map(|c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        });
        self.sections.push((kind, items.len() as u32, words.collect()));
    }

    fn raw(&mut self, kind: SectionKind, count: u32, words: Vec<u32>) {
        self.sections.push((kind, count, words));
    }

    fn finish(self, profile: Profile, kind: CoreKind, core: u32, n_neurons: u32, timestep_ns: u32) -> Vec<u32> {
        let header_words = std::mem::size_of::<Header>() / 4;
        let table_words = self.sections.len() * 4;
        let mut offset = (header_words + table_words) as u32;
        let mut table = Vec::new();
        for (k, count, w) in &self.sections {
            table.extend([*k as u32, offset, w.len() as u32, *count]);
            offset += w.len() as u32;
        }
        let header = Header {
            magic: kp::MAGIC,
            version: kp::VERSION,
            profile: profile as u8,
            kind: kind as u8,
            core,
            n_neurons,
            timestep_ns,
            n_sections: self.sections.len() as u32,
            n_words: offset,
            reserved: 0,
        };
        let mut out: Vec<u32> = bytemuck::cast_slice(std::slice::from_ref(&header)).to_vec();
        out.extend(table);
        for (_, _, w) in self.sections {
            out.extend(w);
        }
        out
    }
}

/// Turns warnings into errors (`--strict`).
pub fn strict(d: &mut Diagnostics) {
    for x in &mut d.0 {
        if x.severity == Severity::Warning {
            x.severity = Severity::Error;
        }
    }
}
