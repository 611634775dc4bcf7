//! One emulated core per program image.

use crate::lined::Lined;
use crate::lif_soa::LifSoa;
use crate::{Counters, EmuError};
use spikeforge_kernel::loihi::dense::scale_activation;
use spikeforge_kernel::loihi::lif::{effective_bias, lif_update};
use spikeforge_kernel::program::{
    CoreImage, CoreKind, LoihiInput, LoihiNeuron, Profile, RecordEntry, Recording, SectionKind, SourceSpikes, SpinnakerRing, SynapticMatrix, Variable,
};
use spikeforge_kernel::spinnaker::lif::{initialise_core, step_core, CoreConfig, CoreIo, LifParams, LifState, ThresholdParams};
use spikeforge_kernel::spinnaker::ring_buffer::{add_fixed_row, process_fixed_synapses, RingBufferLayout};
use spikeforge_kernel::spinnaker::synapse::{ExpSynapseParams, ExpSynapseState};

/// The owned synaptic matrix of a core (parsed once, kept as plain vectors
/// so rows are slices without re-validation in the step loop).
struct Matrix {
    /// Per source core (index): (first row, n_sources, weight_exp), if this core listens to it.
    by_source: Vec<Option<(u32, u32, i32)>>,
    /// Per source core: the Loihi accumulation group of its block (`SectionKind::LoihiBlockGroups`).
    group: Vec<u32>,
    /// Weight exponent of each accumulation group.
    group_exp: Vec<i32>,
    row_index: Vec<u32>,
    words: Vec<u32>,
}

impl Matrix {
    fn load(img: &CoreImage, n_cores_hint: usize, core: usize) -> Result<Matrix, EmuError> {
        let Some((sec, _)) = img.section(SectionKind::SynapticMatrix) else {
            return Ok(Matrix { by_source: Vec::new(), group: Vec::new(), group_exp: Vec::new(), row_index: vec![0], words: Vec::new() });
        };
        let m = SynapticMatrix::parse(sec).map_err(|error| EmuError::Image { core, error })?;
        let block_groups: Vec<u32> = match img.section(SectionKind::LoihiBlockGroups) {
            Some((g, _)) if g.len() == m.blocks.len() && g.iter().all(|&x| (x as usize) < m.blocks.len()) => g.to_vec(),
            Some(_) => return Err(EmuError::Manifest(format!("core {core}: the block groups do not name one group below the block count per block"))),
            None => (0..m.blocks.len() as u32).collect(),
        };
        let mut group = vec![0; n_cores_hint];
        let mut group_exp: Vec<Option<i32>> = vec![None; m.blocks.len()];
        let mut by_source = vec![None; n_cores_hint];
        let mut row_index = vec![0u32];
        let mut words = Vec::new();
        for (b, blk) in m.blocks.iter().enumerate() {
            if blk.key_base & ((1 << spikeforge_kernel::program::KEY_CORE_SHIFT) - 1) != 0 {
                return Err(EmuError::Manifest(format!("core {core}: block {b} does not start at a core's first key")));
            }
            let source = (blk.key_base >> spikeforge_kernel::program::KEY_CORE_SHIFT) as usize;
            if source >= by_source.len() {
                by_source.resize(source + 1, None);
                group.resize(source + 1, 0);
            }
            let g = block_groups[b];
            match group_exp[g as usize] {
                Some(e) if e != blk.weight_exp => return Err(EmuError::Manifest(format!("core {core}: blocks of accumulation group {g} differ in weight_exp"))),
                _ => group_exp[g as usize] = Some(blk.weight_exp),
            }
            group[source] = g;
            let first = row_index.len() as u32 - 1;
            for r in 0..blk.n_sources {
                words.extend_from_slice(m.row(b, r));
                row_index.push(words.len() as u32);
            }
            by_source[source] = Some((first, blk.n_sources, blk.weight_exp));
        }
        Ok(Matrix { by_source, group, group_exp: group_exp.into_iter().map(|e| e.unwrap_or(0)).collect(), row_index, words })
    }

    #[inline]
    fn row(&self, source: u32, neuron: u32) -> Option<(&[u32], i32)> {
        let (first, n, we) = (*self.by_source.get(source as usize)?)?;
        if neuron >= n {
            return None;
        }
        let r = (first + neuron) as usize;
        Some((&self.words[self.row_index[r] as usize..self.row_index[r + 1] as usize], we))
    }

    /// The accumulation group of the block of source core `source`.
    #[inline]
    fn group_of(&self, source: u32) -> usize {
        self.group.get(source as usize).copied().unwrap_or(0) as usize
    }

    /// The rows of one source core's block, if this core listens to it.
    #[inline]
    fn rows(&self, source: u32) -> Option<Rows<'_>> {
        let (first, n, _) = (*self.by_source.get(source as usize)?)?;
        let index = &self.row_index[first as usize..=(first + n) as usize];
        Some(Rows { index, words: &self.words })
    }

    /// Every synapse as (source core, source local neuron, word).
    fn all(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.by_source.iter().enumerate().filter_map(|(s, b)| b.map(|b| (s as u32, b))).flat_map(move |(s, (first, n, _))| {
            (0..n).flat_map(move |i| {
                let r = (first + i) as usize;
                self.words[self.row_index[r] as usize..self.row_index[r + 1] as usize].iter().map(move |&w| (s, i, w))
            })
        })
    }
}

/// The rows of one block: row `i` is `words[index[i]..index[i + 1]]`.
struct Rows<'a> {
    index: &'a [u32],
    words: &'a [u32],
}

impl<'a> Rows<'a> {
    #[inline]
    fn row(&self, neuron: u32) -> Option<&'a [u32]> {
        let i = neuron as usize;
        let (&a, &b) = (self.index.get(i)?, self.index.get(i + 1)?);
        self.words.get(a as usize..b as usize)
    }
}

/// How a SpiNNaker core's neurons are stepped; both give the same bits.
enum SpinnakerNeurons {
    /// The kernel's `step_core` and `process_fixed_synapses` on the kernel's
    /// own layout: the straightforward implementation, kept as the oracle
    /// ([`CoreState::use_reference_path`]).
    Reference { neurons: Vec<LifState>, synapses: Vec<ExpSynapseState>, thresholds: Vec<ThresholdParams> },
    /// Structure of arrays, vectorised passes ([`crate::lif_soa`]), and the
    /// on-time row loop `add_fixed_row` for arriving static rows.
    Fast { soa: LifSoa, thresholds: Vec<ThresholdParams> },
}

/// Aligned to 128 bytes (two cache lines), like [`LoihiCore`] and
/// [`SourceCore`]: a core's counters, written every step by its worker,
/// share no line with another worker's data (see [`crate::lined`]).
#[repr(align(128))]
pub struct SpinnakerCore {
    neurons: SpinnakerNeurons,
    ring: SpinnakerRing,
    buffer: Lined<u16>,
    spiked: Lined<u32>,
    matrix: Matrix,
    /// STDP rows, rule and post histories (`crate::plastic`), if any.
    plastic: Option<Box<crate::plastic::PlasticCore>>,
    /// Free-energy rows, rule and tables (`crate::fep`), if any.
    fep: Option<Box<crate::fep::FepCore>>,
    saturations: u32,
    events: u64,
    spikes: u64,
}

#[repr(align(128))]
pub struct LoihiCore {
    neurons: Vec<LoihiNeuron>,
    bias: Vec<i32>,
    u: Lined<i32>,
    v: Lined<i32>,
    input: LoihiInput,
    /// Delay line: `2^log_max_delay` slots of one i32 per neuron.
    a_in: Lined<i32>,
    /// Raw weight sums of this step's spikes per (accumulation group, slot,
    /// neuron), scaled by the group's weight exponent and added to the delay
    /// line at the start of the step (Lava's Dense shifts the sum over all
    /// its inputs, whichever cores they come from).
    scratch: Lined<i64>,
    /// Indices into `scratch` holding a sum.
    touched: Vec<usize>,
    matrix: Matrix,
    events: u64,
    spikes: u64,
    /// Plastic (LearningDense) projections onto this core (`crate::learning`).
    learning: Option<Box<crate::learning::Learning>>,
}

#[repr(align(128))]
pub struct SourceCore {
    n_neurons: usize,
    /// Every spike as (step, neuron), ascending (the image's trains are
    /// strictly increasing per neuron), and the first not yet emitted.
    events: Vec<(u32, u32)>,
    cursor: usize,
    spikes: u64,
}

pub enum CoreState {
    Spinnaker(Box<SpinnakerCore>),
    Loihi(Box<LoihiCore>),
    Source(SourceCore),
}

impl CoreState {
    pub fn load(core: usize, img: &CoreImage) -> Result<CoreState, EmuError> {
        let err = |error| EmuError::Image { core, error };
        let n = img.header.n_neurons as usize;
        let hint = 0;
        match (img.kind, img.profile) {
            (CoreKind::Source, _) => {
                let (sec, _) = img.section(SectionKind::SourceSpikes).ok_or(err(spikeforge_kernel::program::ImageError::MissingSection(SectionKind::SourceSpikes)))?;
                let s = SourceSpikes::parse(sec).map_err(err)?;
                if s.n_neurons() != n {
                    return Err(EmuError::Manifest(format!("core {core}: source section has {} neurons, header {n}", s.n_neurons())));
                }
                let mut events: Vec<(u32, u32)> = (0..n).flat_map(|i| s.steps(i).iter().map(move |&t| (t, i as u32))).collect();
                events.sort_unstable();
                Ok(CoreState::Source(SourceCore { n_neurons: n, events, cursor: 0, spikes: 0 }))
            }
            (CoreKind::Neurons, Profile::Spinnaker) => {
                let lif: &[LifParams] = img.per_neuron(SectionKind::SpinnakerLif).map_err(err)?;
                let thr: &[ThresholdParams] = img.per_neuron(SectionKind::SpinnakerThreshold).map_err(err)?;
                let syn: &[ExpSynapseParams] = img.per_neuron(SectionKind::SpinnakerSynapse).map_err(err)?;
                let ring: SpinnakerRing = *img.single(SectionKind::SpinnakerRing).map_err(err)?;
                let mut neurons = vec![LifState::default(); n];
                let mut synapses = vec![ExpSynapseState::default(); n];
                if !initialise_core(ring.n_steps_per_timestep, lif, syn, &mut neurons, &mut synapses) {
                    let neuron = (0..n)
                        .find(|&i| LifState::initialise(&lif[i], ring.n_steps_per_timestep).is_none() || ExpSynapseState::initialise(&syn[i], ring.n_steps_per_timestep).is_none())
                        .unwrap_or(0);
                    return Err(EmuError::Initialise { core, neuron });
                }
                let layout: RingBufferLayout = ring.layout;
                if layout.log_n_neurons + layout.log_n_synapse_types + layout.log_max_delay > 24 || (1usize << layout.log_n_neurons) < n {
                    return Err(EmuError::Manifest(format!("core {core}: ring-buffer layout {layout:?} does not fit {n} neurons")));
                }
                let neurons = if LifSoa::supports(&layout, n, ring.n_steps_per_timestep) {
                    SpinnakerNeurons::Fast { soa: LifSoa::new(&neurons, &synapses, thr, ring.n_steps_per_timestep, ring.left_shifts), thresholds: thr.to_vec() }
                } else {
                    SpinnakerNeurons::Reference { neurons, synapses, thresholds: thr.to_vec() }
                };
                Ok(CoreState::Spinnaker(Box::new(SpinnakerCore {
                    neurons,
                    buffer: Lined::zeroed(layout.len()),
                    spiked: Lined::zeroed(n.div_ceil(32)),
                    ring,
                    matrix: Matrix::load(img, hint, core)?,
                    plastic: crate::plastic::PlasticCore::load(img, core, &ring)?.map(Box::new),
                    fep: crate::fep::FepCore::load(img, core, &ring)?.map(Box::new),
                    saturations: 0,
                    events: 0,
                    spikes: 0,
                })))
            }
            (CoreKind::Neurons, Profile::Loihi) => {
                let neurons: &[LoihiNeuron] = img.per_neuron(SectionKind::LoihiLif).map_err(err)?;
                let input: LoihiInput = *img.single(SectionKind::LoihiInput).map_err(err)?;
                if input.log_max_delay > 12 || (1usize << input.log_n_neurons) < n {
                    return Err(EmuError::Manifest(format!("core {core}: input layout {input:?} does not fit {n} neurons")));
                }
                let slots = 1usize << input.log_max_delay;
                let matrix = Matrix::load(img, hint, core)?;
                Ok(CoreState::Loihi(Box::new(LoihiCore {
                    bias: neurons.iter().map(|p| effective_bias(p.params.bias_mant, p.params.bias_exp)).collect(),
                    u: neurons.iter().map(|p| p.u_init).collect(),
                    v: neurons.iter().map(|p| p.v_init).collect(),
                    neurons: neurons.to_vec(),
                    a_in: Lined::zeroed(slots * n),
                    touched: Vec::new(),
                    input,
                    scratch: Lined::zeroed(matrix.group_exp.len().max(1) * slots * n),
                    matrix,
                    events: 0,
                    spikes: 0,
                    learning: crate::learning::Learning::load(img, core)?.map(Box::new),
                })))
            }
        }
    }

    /// Whether the core walks plastic rows ([`CoreState::prefetch_rows`] does something).
    pub fn has_plastic_rows(&self) -> bool {
        matches!(self, CoreState::Spinnaker(c) if c.plastic.is_some())
    }

    /// Hints the cache to load the plastic rows that the spikes `source`
    /// emitted will walk (no effect on results).
    pub fn prefetch_rows(&self, source: u32, spikes: &[u32]) {
        if let CoreState::Spinnaker(c) = self {
            if let Some(p) = c.plastic.as_deref() {
                p.prefetch(source, spikes);
            }
        }
    }

    /// Delivers the spikes `source` emitted in step `t - 1`.
    pub fn receive(&mut self, source: u32, spikes: &[u32], t: u32) {
        if spikes.is_empty() {
            return;
        }
        match self {
            CoreState::Spinnaker(c) => {
                let layout = c.ring.layout;
                if let SpinnakerNeurons::Reference { .. } = c.neurons {
                    for &i in spikes {
                        if let Some((row, _)) = c.matrix.row(source, i) {
                            let stats = process_fixed_synapses(&mut c.buffer, &layout, t - 1, 0, row, &mut c.saturations);
                            c.events += stats.added as u64;
                        }
                    }
                } else if let Some(rows) = c.matrix.rows(source) {
                    for &i in spikes {
                        if let Some(row) = rows.row(i) {
                            c.events += add_fixed_row(&mut c.buffer, &layout, t - 1, row, &mut c.saturations) as u64;
                        }
                    }
                }
                if let Some(p) = c.plastic.as_deref_mut() {
                    c.events += p.receive(source, spikes, t - 1, &mut c.buffer, &mut c.saturations);
                }
                if let Some(f) = c.fep.as_deref_mut() {
                    c.events += f.receive(source, spikes, t - 1, &mut c.buffer, &mut c.saturations);
                }
            }
            CoreState::Loihi(c) => c.receive(source, spikes, t),
            CoreState::Source(_) => {}
        }
    }

    /// Runs step `t`, appending the local indices of the neurons that spiked to `out`.
    /// `ring`: a ring buffer holding the core's entries for `t`, and its
    /// layout, when they are held elsewhere (a worker's
    /// [`Fanout`](crate::fanout::Fanout) holds the buffers of the cores it
    /// delivers to, and gives a core its slot of `t`); `None` = the core's
    /// own.
    pub fn step(&mut self, t: u32, out: &mut Vec<u32>, ring: Option<(&mut [u16], RingBufferLayout)>) {
        match self {
            CoreState::Spinnaker(c) => match &mut c.neurons {
                SpinnakerNeurons::Fast { soa, .. } => {
                    let start = out.len();
                    let (buffer, layout) = match ring {
                        Some((b, l)) => (b, l),
                        None => (&mut c.buffer[..], c.ring.layout),
                    };
                    let fired = soa.step(buffer, &layout, t, out);
                    if fired > 0 {
                        if let Some(p) = c.plastic.as_deref_mut() {
                            c.spiked.fill(0);
                            for &i in &out[start..] {
                                c.spiked[i as usize / 32] |= 1 << (i % 32);
                            }
                            p.post_spikes(&c.spiked, t);
                        }
                    }
                    c.spikes += fired as u64;
                    if let Some(f) = c.fep.as_deref_mut() {
                        f.post_step(&out[start..], t);
                    }
                }
                SpinnakerNeurons::Reference { neurons, synapses, thresholds } => {
                    let start = out.len();
                    let cfg = CoreConfig { n_steps_per_timestep: c.ring.n_steps_per_timestep, thresholds, layout: c.ring.layout, left_shifts: &c.ring.left_shifts };
                    let mut io = CoreIo { neurons, synapses, ring_buffer: &mut c.buffer, spiked: &mut c.spiked };
                    let sent = step_core(&cfg, &mut io, t);
                    if sent > 0 {
                        if let Some(p) = c.plastic.as_deref_mut() {
                            p.post_spikes(&c.spiked, t);
                        }
                        for (w, &bits) in c.spiked.iter().enumerate() {
                            let mut b = bits;
                            while b != 0 {
                                let k = b.trailing_zeros();
                                out.push(w as u32 * 32 + k);
                                b &= b - 1;
                            }
                        }
                        c.spikes += (out.len() - start) as u64;
                    }
                    if let Some(f) = c.fep.as_deref_mut() {
                        f.post_step(&out[start..], t);
                    }
                }
            },
            CoreState::Loihi(c) => c.step(t, out),
            CoreState::Source(s) => {
                // Steps run 1, 2, …, so the events before `t` are all emitted.
                let start = out.len();
                while let Some(&(step, i)) = s.events.get(s.cursor) {
                    if step != t {
                        break;
                    }
                    out.push(i);
                    s.cursor += 1;
                }
                s.spikes += (out.len() - start) as u64;
            }
        }
    }

    /// The raw word of a state variable of local neuron `i`.
    fn state(&self, var: Variable, i: usize) -> i64 {
        match (self, var) {
            (CoreState::Spinnaker(c), var) => match (&c.neurons, var) {
                (SpinnakerNeurons::Fast { soa, .. }, Variable::V) => soa.v(i) as i64,
                (SpinnakerNeurons::Fast { soa, .. }, Variable::ISynE) => soa.exc(i) as i64,
                (SpinnakerNeurons::Fast { soa, .. }, Variable::ISynI) => soa.inh(i) as i64,
                (SpinnakerNeurons::Reference { neurons, .. }, Variable::V) => neurons[i].v_membrane.0 as i64,
                (SpinnakerNeurons::Reference { synapses, .. }, Variable::ISynE) => synapses[i].exc.value.0 as i64,
                (SpinnakerNeurons::Reference { synapses, .. }, Variable::ISynI) => synapses[i].inh.value.0 as i64,
                _ => 0,
            },
            (CoreState::Loihi(c), Variable::U) => c.u[i] as i64,
            (CoreState::Loihi(c), Variable::V) => c.v[i] as i64,
            _ => 0,
        }
    }

    /// Whether arriving spikes touch only this core's static rows, so that
    /// a [`Fanout`](crate::fanout::Fanout) may deliver them: a SpiNNaker
    /// fast-path core without STDP or free-energy rows.
    /// Returns the core's ring-buffer layout if so.
    pub fn static_rows_mergeable(&self) -> Option<RingBufferLayout> {
        match self {
            CoreState::Spinnaker(c) if matches!(c.neurons, SpinnakerNeurons::Fast { .. }) && c.plastic.is_none() && c.fep.is_none() => Some(c.ring.layout),
            _ => None,
        }
    }

    /// A SpiNNaker core's ring buffer.
    pub fn spinnaker_buffer(&self) -> Option<&[u16]> {
        match self {
            CoreState::Spinnaker(c) => Some(&c.buffer[..]),
            _ => None,
        }
    }

    /// A SpiNNaker core's ring buffer, to write.
    pub fn spinnaker_buffer_mut(&mut self) -> Option<&mut [u16]> {
        match self {
            CoreState::Spinnaker(c) => Some(&mut c.buffer[..]),
            _ => None,
        }
    }

    /// The number of source neurons of core `source` this core has static rows for.
    pub fn static_row_count(&self, source: u32) -> u32 {
        match self {
            CoreState::Spinnaker(c) => c.matrix.by_source.get(source as usize).copied().flatten().map_or(0, |b| b.1),
            _ => 0,
        }
    }

    /// The static row of neuron `neuron` of source core `source`.
    pub fn static_row(&self, source: u32, neuron: u32) -> Option<&[u32]> {
        match self {
            CoreState::Spinnaker(c) => c.matrix.row(source, neuron).map(|r| r.0),
            _ => None,
        }
    }

    /// Whether this core has plastic projections (a learning pass).
    pub fn has_learning(&self) -> bool {
        matches!(self, CoreState::Loihi(c) if c.learning.is_some())
    }

    /// The learning pass of step `t`, after every core has run step `t`:
    /// `own` are this core's spikes of `t`, `spikes[c]` those of core `c`
    /// (see `crate::learning`).
    pub fn learn(&mut self, t: u32, own: &[u32], spikes: &[Vec<u32>]) {
        if let CoreState::Loihi(c) = self {
            if let Some(l) = c.learning.as_mut() {
                let dmask = (1u32 << c.input.log_max_delay) - 1;
                c.events += l.step(t, own, spikes, &mut c.a_in, c.neurons.len(), dmask);
            }
        }
    }

    /// The current weights of plastic projection `projection` (manifest
    /// index) on this core as (pre neuron, local post neuron, raw weight);
    /// `None` when the core holds none of it.
    /// Every plastic (STDP) synapse of a SpiNNaker core, as [`Self::synapses`]
    /// lists the static ones.
    pub fn stdp_synapses(&self) -> Vec<(u32, u32, u32, u32, i64)> {
        match self {
            CoreState::Spinnaker(c) => {
                let mut v = c.plastic.as_ref().map(|p| p.synapses()).unwrap_or_default();
                v.extend(c.fep.as_ref().map(|f| f.synapses()).unwrap_or_default());
                v
            }
            _ => Vec::new(),
        }
    }

    pub fn plastic_weights(&self, projection: u32) -> Option<Vec<(u32, u32, i64)>> {
        match self {
            CoreState::Loihi(c) => c.learning.as_ref().filter(|l| l.has(projection)).map(|l| l.weights(projection).collect()),
            _ => None,
        }
    }

    /// Switches a SpiNNaker core to the reference path (the kernel's
    /// `step_core` and `process_fixed_synapses` on the kernel's layout),
    /// keeping its state. Other cores have a single implementation.
    pub fn use_reference_path(&mut self) {
        if let CoreState::Spinnaker(c) = self {
            if let SpinnakerNeurons::Fast { soa, thresholds } = &c.neurons {
                let (neurons, synapses) = soa.to_kernel();
                c.neurons = SpinnakerNeurons::Reference { neurons, synapses, thresholds: thresholds.clone() };
            }
            if let Some(p) = c.plastic.as_deref_mut() {
                p.use_reference_path();
            }
        }
    }

    /// The STDP state of a SpiNNaker core: its plastic rows' words and its
    /// post histories as words (`None`: no plastic matrix).
    pub fn stdp_state(&self) -> Option<(Vec<u32>, Vec<u32>)> {
        match self {
            CoreState::Spinnaker(c) => c.plastic.as_ref().map(|p| p.state_words()),
            _ => None,
        }
    }

    /// The complete neuron, synapse and ring-buffer state of a SpiNNaker
    /// core in the kernel's layout (for comparing the two paths).
    pub fn spinnaker_state(&self) -> Option<(Vec<LifState>, Vec<ExpSynapseState>, Vec<u16>)> {
        match self {
            CoreState::Spinnaker(c) => Some(match &c.neurons {
                SpinnakerNeurons::Fast { soa, .. } => {
                    let (n, s) = soa.to_kernel();
                    (n, s, c.buffer.to_vec())
                }
                SpinnakerNeurons::Reference { neurons, synapses, .. } => (neurons.clone(), synapses.clone(), c.buffer.to_vec()),
            }),
            _ => None,
        }
    }

    /// A rough per-step cost, to balance cores over workers: neurons plus a
    /// share of the incoming synapses (about one in 64 is hit per step; a
    /// plastic synapse, whose deferred update walks the post history, as
    /// four static ones).
    pub fn cost(&self) -> u64 {
        match self {
            CoreState::Spinnaker(c) => match &c.neurons {
                SpinnakerNeurons::Fast { thresholds, .. } | SpinnakerNeurons::Reference { thresholds, .. } => {
                    let plastic = c.plastic.as_ref().map_or(0, |p| p.row_words()) + c.fep.as_ref().map_or(0, |f| f.row_words());
                    thresholds.len() as u64 + c.matrix.words.len() as u64 / 64 + plastic as u64 / 16
                }
            },
            CoreState::Loihi(c) => c.neurons.len() as u64 + c.matrix.words.len() as u64 / 64,
            CoreState::Source(s) => s.n_neurons as u64 / 8,
        }
    }

    /// The most spikes this core can emit in one step (one per neuron).
    pub fn max_spikes(&self) -> usize {
        match self {
            CoreState::Spinnaker(c) => match &c.neurons {
                SpinnakerNeurons::Fast { thresholds, .. } | SpinnakerNeurons::Reference { thresholds, .. } => thresholds.len(),
            },
            CoreState::Loihi(c) => c.neurons.len(),
            CoreState::Source(s) => s.n_neurons,
        }
    }

    pub fn counters(&self) -> Counters {
        match self {
            CoreState::Spinnaker(c) => Counters { synaptic_events: c.events, ring_buffer_saturations: c.saturations as u64, spikes: c.spikes },
            CoreState::Loihi(c) => Counters { synaptic_events: c.events, ring_buffer_saturations: 0, spikes: c.spikes },
            CoreState::Source(s) => Counters { spikes: s.spikes, ..Default::default() },
        }
    }

    /// Every synapse on this core as (source core, source local, target local, type, raw weight).
    pub fn synapses(&self) -> Vec<(u32, u32, u32, u32, i64)> {
        match self {
            CoreState::Spinnaker(c) => {
                let l = c.ring.layout;
                let nmask = (1u32 << l.log_n_neurons) - 1;
                c.matrix
                    .all()
                    .map(|(s, i, w)| (s, i, w & nmask, (w >> l.log_n_neurons) & ((1 << l.log_n_synapse_types) - 1), (w >> 16) as i64))
                    .collect()
            }
            CoreState::Loihi(c) => {
                let nmask = (1u32 << c.input.log_n_neurons) - 1;
                c.matrix.all().map(|(s, i, w)| (s, i, w & nmask, 0, (w >> 16) as u16 as i16 as i64)).collect()
            }
            CoreState::Source(_) => Vec::new(),
        }
    }

}

impl LoihiCore {
    fn receive(&mut self, source: u32, spikes: &[u32], t: u32) {
        let log_n = self.input.log_n_neurons;
        let n = self.neurons.len();
        let nmask = (1u32 << log_n) - 1;
        let dmask = (1u32 << self.input.log_max_delay) - 1;
        let base = self.matrix.group_of(source) * (self.a_in.len());
        for &i in spikes {
            let Some((row, _)) = self.matrix.row(source, i) else { continue };
            for &w in row {
                let weight = (w >> 16) as u16 as i16 as i64;
                let d = (w >> log_n) & dmask;
                let target = (w & nmask) as usize;
                let slot = ((t - 1 + d) & dmask) as usize;
                let idx = base + slot * n + target;
                if self.scratch[idx] == 0 {
                    self.touched.push(idx);
                }
                self.scratch[idx] += weight;
                self.events += 1;
            }
        }
    }

    fn step(&mut self, t: u32, out: &mut Vec<u32>) {
        // Lava's Dense shifts the summed activation of one projection, not each weight.
        let line = self.a_in.len();
        for idx in self.touched.drain(..) {
            let sum = std::mem::take(&mut self.scratch[idx]);
            let we = self.matrix.group_exp[idx / line];
            self.a_in[idx % line] = self.a_in[idx % line].wrapping_add(scale_activation(sum, we as i8));
        }
        let n = self.neurons.len();
        let slots = 1u32 << self.input.log_max_delay;
        let slot = (t & (slots - 1)) as usize;
        let a = &mut self.a_in[slot * n..(slot + 1) * n];
        for i in 0..n {
            let spiked = lif_update(&self.neurons[i].params, self.bias[i], &mut self.u[i], &mut self.v[i], a[i]);
            a[i] = 0;
            if spiked {
                out.push(i as u32);
            }
        }
        self.spikes += out.len() as u64;
    }
}

/// A value on cache lines of its own (two lines: the adjacent-line
/// prefetcher pairs them). A recorder's vectors are small heap blocks,
/// allocated one after the other when the program is loaded; without this
/// the headers of cores that different workers step shared lines, and every
/// push of a spike moved the line between the workers.
#[repr(align(128))]
struct Padded<T>(T);

/// Samples of one core's recording section.
pub struct Recorder {
    entries: Vec<(RecordEntry, Vec<u32>)>,
    /// Per entry: whether each local neuron is recorded (spike entries).
    masks: Vec<Vec<bool>>,
    /// Per entry: (step, local neuron) spike events.
    spikes: Vec<Padded<Vec<(u32, u32)>>>,
    /// Per entry: raw words, row-major [sample][entry neuron].
    states: Vec<Padded<Vec<i64>>>,
}

impl Recorder {
    /// A recorder for the recording section of a core image.
    pub fn load(img: &CoreImage, core: usize) -> Result<Recorder, EmuError> {
        let entries: Vec<(RecordEntry, Vec<u32>)> = match img.section(SectionKind::Recording) {
            None => Vec::new(),
            Some((sec, _)) => {
                let r = Recording::parse(sec, img.header.n_neurons).map_err(|error| EmuError::Image { core, error })?;
                r.entries.iter().map(|e| (*e, r.neurons(e).to_vec())).collect()
            }
        };
        let n = entries.len();
        let masks = entries
            .iter()
            .map(|(_, neurons)| {
                let mut m = vec![false; img.header.n_neurons as usize];
                for &i in neurons {
                    m[i as usize] = true;
                }
                m
            })
            .collect();
        Ok(Recorder { entries, masks, spikes: (0..n).map(|_| Padded(Vec::new())).collect(), states: (0..n).map(|_| Padded(Vec::new())).collect() })
    }

    pub fn sample(&mut self, core: &CoreState, t: u32, spiked: &[u32]) {
        for (k, (e, neurons)) in self.entries.iter().enumerate() {
            match Variable::from_u32(e.variable) {
                Some(Variable::Spikes) => {
                    let mask = &self.masks[k];
                    for &i in spiked {
                        if mask[i as usize] {
                            self.spikes[k].0.push((t, i));
                        }
                    }
                }
                Some(var) if t.is_multiple_of(e.every_n_steps) => {
                    for &i in neurons {
                        self.states[k].0.push(core.state(var, i as usize));
                    }
                }
                _ => {}
            }
        }
    }

    pub fn spikes(&self, entry: usize) -> &[(u32, u32)] {
        &self.spikes[entry].0
    }

    pub fn state(&self, entry: usize) -> &[i64] {
        &self.states[entry].0
    }
}

