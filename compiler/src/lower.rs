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
//! On the loihi profile every block of a core's synaptic matrix belongs to
//! an accumulation group (`SectionKind::LoihiBlockGroups`), one per
//! projection into the core: the emulator sums a group's raw weights over
//! all its source cores before applying the projection's `weight_exp`, as
//! Lava's Dense shifts the whole sum of one projection. Two projections
//! between the same pair of cores share a block and so need one exponent
//! (`L010`).
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
use spikeforge_kernel::loihi::lif::LifParams;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use std::collections::BTreeMap;

mod learning;
mod spinnaker_fep;
mod spinnaker_plastic;

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

/// Profile options beyond [`CompileOptions`] (a separate struct, so that
/// `CompileOptions { .. }` literals stay valid); [`compile_with_profile`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Width of stored plastic weights on the spinnaker profile: 16
    /// (sPyNNaker, default) or 32 (documented deviation, docs/plasticity.md;
    /// `--plastic-weight-bits`).
    pub plastic_weight_bits: quantize::spinnaker_stdp::PlasticWeightBits,
}

/// A compiled program and what the passes reported.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: MachineProgram,
    pub diagnostics: Diagnostics,
}

/// Runs every pass without external input. `Err` carries the diagnostics
/// with at least one error.
pub fn compile(net: &ir::Network, opts: &CompileOptions) -> Result<Compiled, Diagnostics> {
    compile_with(net, opts, &expand::Stimuli::default())
}

/// Runs every pass, feeding the input populations from `stimuli`
/// (see [`expand::Stimuli`]). `Err` carries the diagnostics with at least one
/// error.
pub fn compile_with(net: &ir::Network, opts: &CompileOptions, stimuli: &expand::Stimuli) -> Result<Compiled, Diagnostics> {
    compile_with_profile(net, opts, stimuli, &ProfileOptions::default())
}

/// [`compile_with`] with profile options (e.g. 32-bit plastic weights).
pub fn compile_with_profile(net: &ir::Network, opts: &CompileOptions, stimuli: &expand::Stimuli, popts: &ProfileOptions) -> Result<Compiled, Diagnostics> {
    let mut d = Diagnostics::default();
    for p in net.populations.iter().filter(|p| expand::is_input(p)) {
        if !stimuli.trains.contains_key(&p.name) {
            d.push(
                Diagnostic::warning("L011", format!("population '{}'", p.name), "stimulus", "is an input population without a stimulus: it emits no spikes".to_string())
                    .with_hint("give its spike raster with `spikeforge run --input` (or `compile --input`)"),
            );
        }
        if let Some(ir::population::Model::NetxInput(ir::NetxInput { neuron: Some(_), .. })) = &p.model {
            d.push(Diagnostic {
                severity: Severity::Note,
                ..Diagnostic::error(
                    "L012",
                    format!("population '{}'", p.name),
                    "neuron",
                    "the stimulus gives this netx input layer's output spikes; its neuron group and input transform are not simulated".to_string(),
                )
            });
        }
    }
    let exp = match expand::expand_with(net, opts.n_steps, stimuli) {
        Ok(e) => e,
        Err(e) => {
            d.push(Diagnostic::error("L001", "network", "", e.to_string()));
            return Err(d);
        }
    };
    shared_rows(net, opts.profile, &mut d);
    if opts.max_neurons_per_core == 0 || opts.max_neurons_per_core > kp::MAX_NEURONS_PER_CORE {
        d.push(Diagnostic::error("L002", "compile options", "max_neurons_per_core", format!("found {}; expected 1..={}", opts.max_neurons_per_core, kp::MAX_NEURONS_PER_CORE)));
        return Err(d);
    }
    let q = match opts.profile {
        TargetProfile::Spinnaker => {
            let q = quantize::spinnaker::quantize_with(net, &exp, popts.plastic_weight_bits);
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
    /// Plastic projections: learning parameters, rules and Dense parameters
    /// (lowered by [`learning`]).
    plastic: Vec<Option<(spikeforge_kernel::loihi::learning::LearningParams, spikeforge_kernel::loihi::encoding::RuleSet, spikeforge_kernel::loihi::dense::DenseParams)>>,
}

/// The loihi profile's numbers ([`quantize::loihi::quantize`]); populations
/// imported from netx neuron groups ([`expand::ExpPopulation::netx`]) are
/// quantized with [`quantize::loihi::netx_lif_params`] instead (per-neuron
/// bias mantissa), and only its diagnostics are kept for them.
fn loihi_quantize(net: &ir::Network, exp: &Expanded, d: &mut Diagnostics) -> LoihiQuant {
    use quantize::loihi::LoihiPopulation;
    let (q, diags) = quantize::loihi::quantize(net, exp);
    let netx_objects: Vec<String> = exp.populations.iter().filter(|p| p.netx.is_some()).map(|p| format!("population '{}'", p.name)).collect();
    d.0.extend(diags.0.into_iter().filter(|x| !netx_objects.contains(&x.object)));
    let neurons = q
        .populations
        .iter()
        .zip(&exp.populations)
        .map(|(p, e)| match (p, &e.netx) {
            (Some(LoihiPopulation::Lif { size, .. }), Some(n)) => {
                let (nl, diags) = quantize::loihi::netx_lif_params(&e.name, n, &n.bias);
                d.0.extend(diags.0);
                let bias = |i: usize| nl.bias_mant.get(i).copied().unwrap_or(0);
                Some((0..*size as usize).map(|i| LoihiNeuron { params: LifParams { bias_mant: bias(i), ..nl.params }, u_init: 0, v_init: 0 }).collect())
            }
            (Some(LoihiPopulation::Lif { params, init, size }), None) => Some(vec![LoihiNeuron { params: *params, u_init: init.u, v_init: init.v }; *size as usize]),
            _ => None,
        })
        .collect();
    let weight_exp = q.projections.iter().map(|p| p.dense.weight_exp as i32).collect();
    let plastic = q.projections.iter().map(|p| p.learning.map(|(lp, rules)| (lp, rules, p.dense))).collect();
    let weights = q.projections.into_iter().map(|p| p.weights).collect();
    LoihiQuant { neurons, weights, weight_exp, plastic }
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
    // Loihi: the projection whose weights a (target core, source core) block holds.
    let mut block_projection: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut order = 0usize;
    // Plastic loihi projections get their own sections and routes.
    let mut plastic = match q {
        Quant::Loihi(ql) => learning::lower(exp, ql, &cores, &pop_cores, d),
        Quant::Spinnaker(_) => learning::Plastic { sections: vec![Vec::new(); cores.len()], routes: Vec::new() },
    };
    // Plastic spinnaker projections get their own rows and sections.
    let mut stdp = spinnaker_plastic::Stdp::new(cores.len());
    // Free-energy spinnaker projections too.
    let mut fep = spinnaker_fep::Fep::new(cores.len());
    for (k, proj) in exp.projections.iter().enumerate() {
        if matches!(q, Quant::Loihi(ql) if learning::is_plastic(ql, k)) {
            continue;
        }
        if let Quant::Spinnaker(qs) = q {
            if let Some(w) = &qs.plastic.weights[k] {
                for (j, s) in proj.synapses.iter().enumerate() {
                    let (sc, sl) = core_of(proj.pre, s.pre);
                    let (tc, tl) = core_of(proj.post, s.post);
                    stdp.push(tc, sc, sl, tl, order, s.delay, qs.synapse_type[k], w, j);
                    order += 1;
                }
                continue;
            }
            if let Some(w) = &qs.plastic.fep_weights[k] {
                for (j, s) in proj.synapses.iter().enumerate() {
                    let (sc, sl) = core_of(proj.pre, s.pre);
                    let (tc, tl) = core_of(proj.post, s.post);
                    fep.push(tc, sc, sl, tl, order, s.delay, qs.synapse_type[k], w[j]);
                    order += 1;
                }
                continue;
            }
        }
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
                    block_projection.entry((tc, sc)).or_insert(k);
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
        if bits > 16 && (!blocks[c].is_empty() || stdp.has(c) || fep.has(c)) {
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
    for (sc, tc) in stdp.routes().into_iter().chain(fep.routes()) {
        let t = routes.entry(sc).or_default();
        t.push(tc as u32);
        t.sort_unstable();
        t.dedup();
    }
    for &(sc, tc) in &plastic.routes {
        let t = routes.entry(sc).or_default();
        t.push(tc as u32);
        t.sort_unstable();
        t.dedup();
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
                        if let Some(rule) = &qs.plastic.populations[core.population] {
                            for (kind, count, words) in stdp.sections(c, rule, &ring.layout, core.n, &cores) {
                                img.raw(kind, count, words);
                            }
                        }
                        if let Some(rule) = &qs.plastic.fep[core.population] {
                            for (kind, count, words) in fep.sections(c, rule, &ring.layout, block.left_shifts, &cores) {
                                img.raw(kind, count, words);
                            }
                        }
                    }
                    Quant::Loihi(ql) => {
                        let ns = ql.neurons[core.population].as_ref().expect("loihi neurons quantized");
                        img.pods(SectionKind::LoihiLif, &ns[range.clone()]);
                        let input = LoihiInput { log_max_delay: bits_for(max_delay[c] + 1), log_n_neurons: bits_for(core.n) };
                        img.pods(SectionKind::LoihiInput, std::slice::from_ref(&input));
                        for (kind, count, words) in std::mem::take(&mut plastic.sections[c]) {
                            img.raw(kind, count, words);
                        }
                    }
                }
                // Synaptic matrix.
                for entries in blocks[c].values_mut() {
                    entries.sort_by_key(|e| (e.0, e.1, e.2));
                }
                let (matrix, n_blocks) = matrix_section(
                    &blocks[c],
                    |sc| cores[sc].n,
                    |e| e.0,
                    |sc| block_weight_exp.get(&(c, sc)).copied().unwrap_or(0),
                    |_, _, row, words| words.extend(row.iter().map(|e| e.3)),
                );
                if matches!(q, Quant::Loihi(_)) {
                    // One accumulation group per projection into this core, numbered in projection order.
                    let projs: Vec<usize> = blocks[c].keys().map(|&sc| block_projection[&(c, sc)]).collect();
                    let mut distinct = projs.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    let groups: Vec<u32> = projs.iter().map(|k| distinct.binary_search(k).unwrap_or(0) as u32).collect();
                    img.raw(SectionKind::LoihiBlockGroups, groups.len() as u32, groups);
                }
                img.raw(SectionKind::SynapticMatrix, n_blocks, matrix);
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
            plastic: matches!(q, Quant::Spinnaker(qs) if qs.plastic.weights[k].is_some() || qs.plastic.fep_weights[k].is_some()),
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

/// A matrix section in the kernel's block/row-index layout
/// (`spikeforge_kernel::program::MatrixHeader`, then `MatrixBlock`s, the row
/// index and the words): one block per source core in ascending order, one
/// row per source neuron. Each source core's entries must be sorted by
/// source neuron (`source_of`); `row(source core, source neuron, entries,
/// words)` appends the words of one non-empty row. Returns the section and
/// its block count. Static, plastic and free-energy matrices share it.
pub(crate) fn matrix_section<E>(
    blocks: &BTreeMap<usize, Vec<E>>,
    n_sources: impl Fn(usize) -> u32,
    source_of: impl Fn(&E) -> u32,
    weight_exp: impl Fn(usize) -> i32,
    mut row: impl FnMut(usize, u32, &[E], &mut Vec<u32>),
) -> (Vec<u32>, u32) {
    let mut mblocks = Vec::with_capacity(blocks.len());
    let mut row_index = vec![0u32];
    let mut words = Vec::new();
    for (&sc, entries) in blocks {
        let first_row = row_index.len() as u32 - 1;
        let n = n_sources(sc);
        let mut e = 0;
        for src in 0..n {
            let start = e;
            while e < entries.len() && source_of(&entries[e]) == src {
                e += 1;
            }
            if e > start {
                row(sc, src, &entries[start..e], &mut words);
            }
            row_index.push(words.len() as u32);
        }
        mblocks.push(MatrixBlock { key_base: kp::key(sc as u32, 0), n_sources: n, first_row, weight_exp: weight_exp(sc) });
    }
    let header = MatrixHeader { n_blocks: mblocks.len() as u32, n_rows: row_index.len() as u32 - 1, n_words: words.len() as u32, reserved: 0 };
    let mut sec: Vec<u32> = bytemuck::cast_slice(std::slice::from_ref(&header)).to_vec();
    sec.extend_from_slice(bytemuck::cast_slice(&mblocks));
    sec.extend(row_index);
    sec.extend(words);
    (sec, mblocks.len() as u32)
}

/// Float weight per raw weight unit of projection `k`.
fn weight_scale(q: &Quant, exp: &Expanded, k: usize) -> f64 {
    match q {
        Quant::Spinnaker(qs) => {
            if let Some(s) = qs.plastic.scale[k] {
                return s;
            }
            let p = &exp.projections[k];
            let shift = qs.populations[p.post].as_ref().map_or(0, |b| b.left_shifts[qs.synapse_type[k] as usize]);
            1.0 / spikeforge_kernel::spinnaker::host::weight_scale(shift, 1.0)
        }
        Quant::Loihi(_) => 1.0,
    }
}

/// L013: a weight recording of a projection whose synapses share synaptic
/// rows with another projection's (the same pre and post populations, the
/// same receptor on SpiNNaker, both static or both plastic). The rows hold
/// synapses, not projections, so the two cannot be read back apart: the
/// recording would silently hold both.
fn shared_rows(net: &ir::Network, profile: TargetProfile, d: &mut Diagnostics) {
    use ir::recording::What;
    for r in &net.recordings {
        let Some(What::Weights(w)) = &r.what else { continue };
        let Some(p) = net.projections.iter().find(|p| p.name == w.projection) else { continue };
        let plastic = !p.plasticity.is_empty();
        // Lava-style plastic projections keep their weights per projection.
        if plastic && profile == TargetProfile::Loihi {
            continue;
        }
        let other = net.projections.iter().find(|q| {
            q.name != p.name && q.pre == p.pre && q.post == p.post && q.plasticity.is_empty() != plastic && (profile == TargetProfile::Loihi || q.receptor == p.receptor)
        });
        if let Some(q) = other {
            let same = if profile == TargetProfile::Loihi { "pre and post populations" } else { "pre and post populations and receptor" };
            d.push(
                Diagnostic::error(
                    "L013",
                    format!("weight recording of '{}'", p.name),
                    "projection",
                    format!("projection '{}' has the same {same}, so their synapses share synaptic rows and the weights of '{}' cannot be read back on their own", q.name, p.name),
                )
                .with_hint("merge the two projections into one (e.g. a from_list connector), or record neither's weights"),
            );
        }
    }
}

fn weight_recording(w: &ir::WeightRecording, exp: &Expanded, q: &Quant) -> RecordingInfo {
    let unit = match q {
        Quant::Spinnaker(_) => "nA",
        Quant::Loihi(_) => "lava",
    };
    let k = exp.projections.iter().position(|p| p.name == w.projection);
    let raw = match q {
        // 32-bit plastic weights: s16.15 in units of the 16-bit ring-buffer weight
        Quant::Spinnaker(qs) if k.is_some_and(|k| matches!(qs.plastic.weights[k], Some(quantize::spinnaker_stdp::PlasticWeights::W32(_)))) => "w32",
        // free-energy weights: Uq8p24 in IR weight units
        Quant::Spinnaker(qs) if k.is_some_and(|k| qs.plastic.fep_weights[k].is_some()) => "uq8.24",
        Quant::Spinnaker(_) => "w16",
        Quant::Loihi(_) => "i16",
    };
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
