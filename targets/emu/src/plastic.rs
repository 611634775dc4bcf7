//! SpiNNaker STDP on an emulated core: the plastic synaptic matrix
//! (`SectionKind::SpinnakerPlasticMatrix`, rows in sPyNNaker's format), the
//! rule (`SpinnakerStdpRule`, `SpinnakerStdpLuts`) and the per-neuron
//! post-event histories (`SpinnakerPostHistories`), run through
//! `spikeforge_kernel::spinnaker::stdp` exactly as the core runs them.
//!
//! # Order within step `t` (the kernel engine's contract)
//!
//! 1. `receive`: for each spike emitted in step `t − 1` (source cores
//!    ascending, then neurons ascending; per source core the static rows
//!    first, then the plastic rows), walk its plastic row at time `t − 1`:
//!    update the row's pre-event history, run the deferred update of every
//!    synapse against the post histories (posts up to and including step
//!    `t − 1`, delayed by the synapse's dendritic delay), store the weight and
//!    add it (16-bit: the row weight; 32-bit: its rounded ring value) into
//!    ring-buffer slot `t − 1 + delay` with saturation. Static words of the
//!    row (none in what the compiler writes) are added like the
//!    `SynapticMatrix`'s.
//! 2. `step`: neuron update; then every neuron that spiked in step `t` gets
//!    a post event at time `t` ([`PlasticCore::post_spikes`]).
//!
//! So the post spikes of step `s` are in the histories before the pre spikes
//! emitted in step `s` are processed (in step `s + 1`): a same-step pair is
//! post-then-pre, depression with Δt = 0, as on the chip and in the float
//! twin (`spikeforge_reference::stdp`).
//!
//! Nothing per synapse is kept outside the row words (2 B weight + 2 B
//! control, or 4 B + 2 B with 32-bit weights); the control half-words are
//! decoded as the row is walked.
//!
//! Rows are walked by the emulator's own walker ([`crate::stdp_fast`]:
//! post-event windows found by counting on a padded copy of each post
//! history, pair-rule potentiation from a per-row table; the same bits),
//! except on the reference path ([`PlasticCore::use_reference_path`]),
//! which runs the kernel's `process_row_controls`.

use crate::EmuError;
use spikeforge_kernel::program::{
    CoreImage, ImageError, PlasticRowLayout, SectionKind, SpinnakerRing, StdpRule, StdpTimingKind, StdpWeightKind, SynapticMatrix,
};
use spikeforge_kernel::spinnaker::ring_buffer::{process_fixed_synapses, RingBufferLayout};
use spikeforge_kernel::spinnaker::stdp::nearest::{NearestPairRule, NearestPostEventHistory};
use spikeforge_kernel::spinnaker::stdp::triplet::{TripletPostEventHistory, TripletPostTrace, TripletRule};
use crate::stdp_fast::{self, Direct, Lanes, Mirror, OneTerm, PairTable};
use spikeforge_kernel::fixed::S411;
use spikeforge_kernel::spinnaker::stdp::{
    plastic_region_words_sized, process_post_event, process_row_controls, split_plastic_region_as, AdditiveTwoTermWeights, ExpLut,
    OneTermWeights, PairRule, PlasticSynapse, PlasticWeight, PostEventHistory, PostHistory, RowConfig, TimingRule, WeightDependence,
    WeightRegion, WeightRegionTwoTerm, WeightRule, WideWeight, MAX_POST_SYNAPTIC_EVENTS,
};

/// An owned exp LUT.
#[derive(Clone, Debug)]
struct Lut {
    shift: u16,
    values: Vec<i16>,
}

impl Lut {
    fn view(&self) -> ExpLut<'_> {
        ExpLut { shift: self.shift, values: &self.values }
    }
}

/// The timing rule with its post histories (one per neuron).
/// `mirror`: the post histories as the fast walker reads them
/// ([`crate::stdp_fast`]); `None` on the reference path (the kernel's walker).
enum Timing {
    Pair { plus: Lut, minus: Lut, post: Vec<PostEventHistory>, mirror: Option<Mirror<S411, i32>> },
    Nearest { plus: Lut, minus: Lut, post: Vec<NearestPostEventHistory>, mirror: Option<Mirror<(), i32>> },
    Triplet { luts: [Lut; 4], post: Vec<TripletPostEventHistory>, mirror: Option<Mirror<TripletPostTrace, [i32; 2]>> },
}

/// The weight dependence with its regions (one per synapse type).
enum Weights {
    OneTerm(WeightDependence, Vec<WeightRegion>),
    TwoTerm(Vec<WeightRegionTwoTerm>),
}

/// The plastic rows of a core, as in the image.
struct Rows {
    /// Per source core: (first row, n_sources).
    by_source: Vec<Option<(u32, u32)>>,
    row_index: Vec<u32>,
    words: Vec<u32>,
}

impl Rows {
    #[inline]
    fn range(&self, source: u32, neuron: u32) -> Option<std::ops::Range<usize>> {
        let (first, n) = (*self.by_source.get(source as usize)?)?;
        if neuron >= n {
            return None;
        }
        let r = (first + neuron) as usize;
        Some(self.row_index[r] as usize..self.row_index[r + 1] as usize)
    }
}

/// STDP state of one SpiNNaker core.
pub struct PlasticCore {
    timing: Timing,
    weights: Weights,
    left_shifts: [u32; 2],
    layout: RingBufferLayout,
    backprop_delay: bool,
    /// 32-bit weights ([`WideWeight`]).
    wide: bool,
    /// Bytes of a row's pre-event history (padded to a word in the row).
    pre_bytes: usize,
    rows: Rows,
    /// The fast walker's per-row potentiation table (pair rule).
    pair_table: PairTable,
    /// The fast walker's AVX-512 lanes (pair and nearest-pair rules, where
    /// the CPU has AVX-512F).
    lanes: Option<Lanes>,
}

fn bad(core: usize, kind: SectionKind, reason: &'static str) -> EmuError {
    EmuError::Image { core, error: ImageError::BadSection { kind, reason } }
}

fn histories<H: PostHistory>(img: &CoreImage, core: usize, n: usize) -> Result<Vec<H>, EmuError> {
    const K: SectionKind = SectionKind::SpinnakerPostHistories;
    let (w, count) = img.section(K).ok_or(EmuError::Image { core, error: ImageError::MissingSection(K) })?;
    let size = std::mem::size_of::<H>();
    if count as usize != n || w.len() * 4 != n * size {
        return Err(bad(core, K, "not one post-event history of the rule per neuron"));
    }
    let bytes: &[u8] = bytemuck::cast_slice(w);
    let h: Vec<H> = bytes.chunks_exact(size).map(bytemuck::pod_read_unaligned).collect();
    if h.iter().any(|x| x.newest() >= MAX_POST_SYNAPTIC_EVENTS) {
        return Err(bad(core, K, "a history's count_minus_one is out of range"));
    }
    Ok(h)
}

impl PlasticCore {
    /// Words of the plastic rows (for balancing cores over workers).
    pub fn row_words(&self) -> usize {
        self.rows.words.len()
    }

    /// The STDP state of a SpiNNaker neuron core, `None` if it has no
    /// plastic matrix. Checks every section and every row.
    pub fn load(img: &CoreImage, core: usize, ring: &SpinnakerRing) -> Result<Option<PlasticCore>, EmuError> {
        let Some((msec, _)) = img.section(SectionKind::SpinnakerPlasticMatrix) else {
            return Ok(None);
        };
        let err = |error| EmuError::Image { core, error };
        let n = img.header.n_neurons as usize;
        let (rsec, _) = img.section(SectionKind::SpinnakerStdpRule).ok_or(err(ImageError::MissingSection(SectionKind::SpinnakerStdpRule)))?;
        let rule = StdpRule::parse(rsec).map_err(err)?;
        let layout = ring.layout;
        if rule.header.n_synapse_types as usize != 1 << layout.log_n_synapse_types || ring.left_shifts.len() < rule.header.n_synapse_types as usize {
            return Err(bad(core, SectionKind::SpinnakerStdpRule, "not one weight region per synapse type of the ring buffer"));
        }
        let n_types = rule.header.n_synapse_types as usize;
        // LUTs
        const KL: SectionKind = SectionKind::SpinnakerStdpLuts;
        let (lsec, n_luts) = img.section(KL).ok_or(err(ImageError::MissingSection(KL)))?;
        if n_luts as usize != StdpRule::n_luts(rule.timing) {
            return Err(bad(core, KL, "not the number of LUTs the timing rule reads"));
        }
        let mut luts = Vec::new();
        let mut pos = 0;
        for _ in 0..n_luts {
            let size = lsec.get(pos).map_or(0, |h| (h & 0xFFFF) as usize);
            let mut buf = vec![0i16; size];
            let (l, used) = ExpLut::from_words(&lsec[pos.min(lsec.len())..], &mut buf).ok_or(bad(core, KL, "a LUT is truncated"))?;
            luts.push(Lut { shift: l.shift, values: buf });
            pos += used;
        }
        if pos != lsec.len() {
            return Err(bad(core, KL, "words after the last LUT"));
        }
        let mut it = luts.into_iter();
        let mut next = || it.next().expect("counted");
        let (timing, pre_bytes) = match rule.timing {
            StdpTimingKind::Pair => {
                let post: Vec<PostEventHistory> = histories(img, core, n)?;
                (Timing::Pair { plus: next(), minus: next(), mirror: Mirror::build(&post), post }, 8)
            }
            StdpTimingKind::NearestPair => {
                let post: Vec<NearestPostEventHistory> = histories(img, core, n)?;
                (Timing::Nearest { plus: next(), minus: next(), mirror: Mirror::build(&post), post }, 4)
            }
            StdpTimingKind::Triplet => {
                let post: Vec<TripletPostEventHistory> = histories(img, core, n)?;
                (Timing::Triplet { luts: [next(), next(), next(), next()], mirror: Mirror::build(&post), post }, 8)
            }
        };
        let regions = |t: usize| rule.region(t).expect("length checked");
        let weights = match rule.weight {
            StdpWeightKind::AdditiveTwoTerm => Weights::TwoTerm((0..n_types).map(|t| bytemuck::pod_read_unaligned(bytemuck::cast_slice(regions(t)))).collect()),
            k => {
                let dep = if k == StdpWeightKind::Additive { WeightDependence::Additive } else { WeightDependence::Multiplicative };
                Weights::OneTerm(dep, (0..n_types).map(|t| bytemuck::pod_read_unaligned(bytemuck::cast_slice(regions(t)))).collect())
            }
        };
        let wide = rule.header.weight_bits == 32;
        let lanes = match (&timing, &weights) {
            (Timing::Pair { plus, minus, .. }, Weights::OneTerm(dep, regions)) => {
                Lanes::new(&minus.view(), Some(&plus.view()), *dep, regions, &ring.left_shifts[..regions.len().min(ring.left_shifts.len())])
            }
            (Timing::Nearest { minus, .. }, Weights::OneTerm(dep, regions)) => {
                Lanes::new(&minus.view(), None, *dep, regions, &ring.left_shifts[..regions.len().min(ring.left_shifts.len())])
            }
            _ => None,
        };
        // Rows
        const KM: SectionKind = SectionKind::SpinnakerPlasticMatrix;
        let m = SynapticMatrix::parse_as(msec, KM).map_err(err)?;
        let mut by_source: Vec<Option<(u32, u32)>> = Vec::new();
        let mut row_index = vec![0u32];
        let mut words = Vec::new();
        let nmask = (1u32 << layout.log_n_neurons) - 1;
        for (b, blk) in m.blocks.iter().enumerate() {
            if blk.key_base & ((1 << spikeforge_kernel::program::KEY_CORE_SHIFT) - 1) != 0 {
                return Err(EmuError::Manifest(format!("core {core}: plastic block {b} does not start at a core's first key")));
            }
            let source = (blk.key_base >> spikeforge_kernel::program::KEY_CORE_SHIFT) as usize;
            if source >= by_source.len() {
                by_source.resize(source + 1, None);
            }
            if by_source[source].is_some() {
                return Err(bad(core, KM, "two blocks for one source core"));
            }
            let first = row_index.len() as u32 - 1;
            for r in 0..blk.n_sources {
                let row = m.row(b, r);
                if !row.is_empty() {
                    let l = PlasticRowLayout::parse(row).map_err(err)?;
                    let need = plastic_region_words_sized(pre_bytes, l.n_plastic, if wide { 4 } else { 2 });
                    if l.plastic.len() < need {
                        return Err(bad(core, KM, "a row's plastic region is shorter than its pre history and weights"));
                    }
                    for &c in l.control_halfwords(row) {
                        let s = PlasticSynapse::from_control(c, &layout);
                        if s.neuron as usize >= n {
                            return Err(bad(core, KM, "a plastic synapse names a neuron outside the core"));
                        }
                    }
                    if row[l.fixed.clone()].iter().any(|&w| (w & nmask) as usize >= n) {
                        return Err(bad(core, KM, "a static synapse names a neuron outside the core"));
                    }
                }
                words.extend_from_slice(row);
                row_index.push(words.len() as u32);
            }
            by_source[source] = Some((first, blk.n_sources));
        }
        Ok(Some(PlasticCore {
            timing,
            weights,
            left_shifts: [ring.left_shifts[0], ring.left_shifts[1]],
            layout,
            backprop_delay: rule.header.backprop_delay == 1,
            wide,
            pre_bytes,
            rows: Rows { by_source, row_index, words },
            pair_table: PairTable::default(),
            lanes,
        }))
    }

    /// Switches to the kernel's row walker (the reference path): drops the
    /// fast walker's mirrors of the post histories.
    pub fn use_reference_path(&mut self) {
        self.lanes = None;
        match &mut self.timing {
            Timing::Pair { mirror, .. } => *mirror = None,
            Timing::Nearest { mirror, .. } => *mirror = None,
            Timing::Triplet { mirror, .. } => *mirror = None,
        }
    }

    /// Hints the cache to load the rows of the spikes `source` emitted (at
    /// most 32 cache lines of each): a row is a few short streams (pre
    /// history and weights, control words) that the hardware prefetcher
    /// does not pick up before the walk reaches their ends.
    pub fn prefetch(&self, source: u32, spikes: &[u32]) {
        const LINE_WORDS: usize = 16;
        for &i in spikes {
            if let Some(r) = self.rows.range(source, i) {
                for w in self.rows.words[r].iter().step_by(LINE_WORDS).take(32) {
                    crate::fanout::prefetch(w);
                }
            }
        }
    }

    /// Processes the plastic rows of the spikes `source` emitted at `time`
    /// (step `time + 1` receives them). Returns the synapses processed;
    /// saturations are added to `saturations`.
    pub fn receive(&mut self, source: u32, spikes: &[u32], time: u32, buffer: &mut [u16], saturations: &mut u32) -> u64 {
        let cfg = RowConfig { layout: &self.layout, backprop_delay: self.backprop_delay };
        let ls = &self.left_shifts;
        let rows = &mut self.rows;
        let wide = self.wide;
        let table = &mut self.pair_table;
        let lanes = self.lanes.as_ref();
        match (&self.timing, &self.weights) {
            (Timing::Pair { plus, minus, post, mirror }, Weights::OneTerm(dep, regions)) => {
                let rule = PairRule { tau_plus: plus.view(), tau_minus: minus.view() };
                match (mirror, dep) {
                    (Some(m), WeightDependence::Additive) => {
                        let w = OneTerm::<false> { regions, left_shifts: ls };
                        walk(&rule, &w, &cfg, wide, rows, post, Some(m), source, spikes, time, buffer, saturations, table, lanes)
                    }
                    (Some(m), WeightDependence::Multiplicative) => {
                        let w = OneTerm::<true> { regions, left_shifts: ls };
                        walk(&rule, &w, &cfg, wide, rows, post, Some(m), source, spikes, time, buffer, saturations, table, lanes)
                    }
                    (None, _) => {
                        let w = OneTermWeights { dependence: *dep, regions, left_shifts: ls };
                        walk(&rule, &w, &cfg, wide, rows, post, None, source, spikes, time, buffer, saturations, table, None)
                    }
                }
            }
            (Timing::Nearest { plus, minus, post, mirror }, Weights::OneTerm(dep, regions)) => {
                let rule = NearestPairRule { tau_plus: plus.view(), tau_minus: minus.view() };
                match (mirror, dep) {
                    (Some(m), WeightDependence::Additive) => {
                        let w = OneTerm::<false> { regions, left_shifts: ls };
                        walk(&rule, &w, &cfg, wide, rows, post, Some(m), source, spikes, time, buffer, saturations, &mut Direct, lanes)
                    }
                    (Some(m), WeightDependence::Multiplicative) => {
                        let w = OneTerm::<true> { regions, left_shifts: ls };
                        walk(&rule, &w, &cfg, wide, rows, post, Some(m), source, spikes, time, buffer, saturations, &mut Direct, lanes)
                    }
                    (None, _) => {
                        let w = OneTermWeights { dependence: *dep, regions, left_shifts: ls };
                        walk(&rule, &w, &cfg, wide, rows, post, None, source, spikes, time, buffer, saturations, &mut Direct, None)
                    }
                }
            }
            (Timing::Triplet { luts, post, mirror }, Weights::TwoTerm(regions)) => {
                let rule = TripletRule { tau_plus: luts[0].view(), tau_minus: luts[1].view(), tau_x: luts[2].view(), tau_y: luts[3].view() };
                let w = AdditiveTwoTermWeights { regions, left_shifts: ls };
                walk(&rule, &w, &cfg, wide, rows, post, mirror.as_ref(), source, spikes, time, buffer, saturations, &mut Direct, None)
            }
            // `StdpRule::parse` pairs the triplet with the two-term regions only.
            _ => unreachable!("timing rule and weight dependence checked at load"),
        }
    }

    /// Adds a post event at `time` for every neuron set in `spiked` (bit `i`
    /// of word `i / 32`): `synapse_dynamics_process_post_synaptic_event`.
    pub fn post_spikes(&mut self, spiked: &[u32], time: u32) {
        fn each<T: TimingRule>(rule: &T, post: &mut [T::PostHistory], mirror: &mut Option<Mirror<T::PostTrace, T::Terms>>, spiked: &[u32], time: u32)
        where
            T::PostTrace: stdp_fast::TraceBits,
        {
            for (w, &bits) in spiked.iter().enumerate() {
                let mut b = bits;
                while b != 0 {
                    let i = w * 32 + b.trailing_zeros() as usize;
                    process_post_event(rule, &mut post[i], time);
                    if let Some(m) = mirror {
                        if !m.refresh(i, &post[i]) {
                            // out of the fast walker's assumptions: the kernel's walker from now on
                            *mirror = None;
                        }
                    }
                    b &= b - 1;
                }
            }
        }
        match &mut self.timing {
            Timing::Pair { plus, minus, post, mirror } => each(&PairRule { tau_plus: plus.view(), tau_minus: minus.view() }, post, mirror, spiked, time),
            Timing::Nearest { plus, minus, post, mirror } => {
                each(&NearestPairRule { tau_plus: plus.view(), tau_minus: minus.view() }, post, mirror, spiked, time)
            }
            Timing::Triplet { luts, post, mirror } => {
                let rule = TripletRule { tau_plus: luts[0].view(), tau_minus: luts[1].view(), tau_x: luts[2].view(), tau_y: luts[3].view() };
                each(&rule, post, mirror, spiked, time)
            }
        }
    }

    /// The state the chip would hold: the plastic rows' words (pre
    /// histories, weights, control half-words) and every neuron's post
    /// history, as words (for comparing the two paths).
    pub fn state_words(&self) -> (Vec<u32>, Vec<u32>) {
        fn words<H: bytemuck::Pod>(h: &[H]) -> Vec<u32> {
            bytemuck::cast_slice::<H, u8>(h).chunks(4).map(|c| c.iter().rev().fold(0u32, |a, &b| a << 8 | b as u32)).collect()
        }
        let post = match &self.timing {
            Timing::Pair { post, .. } => words(post),
            Timing::Nearest { post, .. } => words(post),
            Timing::Triplet { post, .. } => words(post),
        };
        (self.rows.words.clone(), post)
    }

    /// Every plastic synapse as (source core, source local neuron, target
    /// local neuron, synapse type, stored weight: `u16`, or the
    /// [`WideWeight`] bits with 32-bit weights), in row order.
    pub fn synapses(&self) -> Vec<(u32, u32, u32, u32, i64)> {
        let mut out = Vec::new();
        for (s, b) in self.rows.by_source.iter().enumerate() {
            let Some((first, n)) = *b else { continue };
            for i in 0..n {
                let r = (first + i) as usize;
                let row = &self.rows.words[self.rows.row_index[r] as usize..self.rows.row_index[r + 1] as usize];
                if row.is_empty() {
                    continue;
                }
                let l = PlasticRowLayout::parse(row).expect("rows checked at load");
                let region = &row[l.plastic.clone()];
                let head = self.pre_bytes.div_ceil(4);
                for (k, &c) in l.control_halfwords(row).iter().enumerate() {
                    let syn = PlasticSynapse::from_control(c, &self.layout);
                    let raw = if self.wide {
                        region[head + k] as i32 as i64
                    } else {
                        let h: &[u16] = bytemuck::cast_slice(&region[head..]);
                        h[k] as i64
                    };
                    out.push((s as u32, i, syn.neuron, syn.synapse_type, raw));
                }
            }
        }
        out
    }
}

/// Walks the rows of `spikes`: adds each row's static words, then hands its
/// plastic region (pre history and weights) and control half-words to
/// `plastic`, which returns the saturated adds. Returns the synapses
/// processed.
#[allow(clippy::too_many_arguments)]
#[inline]
fn each_row(
    rows: &mut Rows,
    layout: &RingBufferLayout,
    source: u32,
    spikes: &[u32],
    time: u32,
    buffer: &mut [u16],
    saturations: &mut u32,
    mut plastic: impl FnMut(&mut [u16], &mut [u32], &[u16]) -> u32,
) -> u64 {
    let mut events = 0u64;
    for &i in spikes {
        let Some(range) = rows.range(source, i) else { continue };
        if range.is_empty() {
            continue;
        }
        let row = &mut rows.words[range];
        let p = row[0] as usize;
        let (head, rest) = row.split_at_mut(1 + p);
        let region = &mut head[1..];
        let (f, n) = (rest[0] as usize, rest[1] as usize);
        let fixed = &rest[2..2 + f];
        if f > 0 {
            events += process_fixed_synapses(buffer, layout, time, 0, fixed, saturations).added as u64;
        }
        let controls: &[u16] = &bytemuck::cast_slice::<u32, u16>(&rest[2 + f..])[..n];
        let stats = plastic(buffer, region, controls);
        *saturations = saturations.wrapping_add(stats);
        events += n as u64;
    }
    events
}

/// Walks the plastic rows of `spikes` with one rule and weight dependence:
/// through the emulator's own row walker ([`crate::stdp_fast`]) where the
/// core keeps a `mirror` of its post histories (potentiation terms from
/// `terms`, 16 synapses at a time with `lanes`), else — and for a row
/// outside the walker's assumptions — through the kernel's
/// `process_row_controls` (the reference path). The same bits either way.
#[allow(clippy::too_many_arguments)]
fn walk<T: stdp_fast::Depression, W: WeightRule<Terms = T::Terms>, P: stdp_fast::Terms<T>>(
    rule: &T,
    weight: &W,
    cfg: &RowConfig<'_>,
    wide: bool,
    rows: &mut Rows,
    post: &[T::PostHistory],
    mirror: Option<&Mirror<T::PostTrace, T::Terms>>,
    source: u32,
    spikes: &[u32],
    time: u32,
    buffer: &mut [u16],
    saturations: &mut u32,
    terms: &mut P,
    lanes: Option<&Lanes>,
) -> u64 {
    let layout = cfg.layout;
    let fast = mirror.map(|mirror| stdp_fast::Walk { rule, weight, layout, backprop_delay: cfg.backprop_delay, mirror, time });
    if wide {
        each_row(rows, layout, source, spikes, time, buffer, saturations, |buffer, region, controls| {
            fast.as_ref()
                .and_then(|f| stdp_fast::region_row::<T, W, WideWeight, P>(f, terms, buffer, region, controls, lanes))
                .unwrap_or_else(|| row_as::<T, W, WideWeight>(rule, weight, cfg, buffer, post, region, controls, controls.len(), time))
        })
    } else {
        each_row(rows, layout, source, spikes, time, buffer, saturations, |buffer, region, controls| {
            fast.as_ref()
                .and_then(|f| stdp_fast::region_row::<T, W, u16, P>(f, terms, buffer, region, controls, lanes))
                .unwrap_or_else(|| row_as::<T, W, u16>(rule, weight, cfg, buffer, post, region, controls, controls.len(), time))
        })
    }
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn row_as<T: TimingRule, W: WeightRule<Terms = T::Terms>, S: PlasticWeight>(
    rule: &T,
    weight: &W,
    cfg: &RowConfig<'_>,
    buffer: &mut [u16],
    post: &[T::PostHistory],
    region: &mut [u32],
    controls: &[u16],
    n: usize,
    time: u32,
) -> u32 {
    let (pre, weights) = split_plastic_region_as::<T::PreHistory, S>(region, n).expect("rows checked at load");
    process_row_controls(rule, weight, cfg, buffer, post, pre, controls, weights, time).saturated
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_kernel::program::PlasticRowLayout;
    use spikeforge_kernel::spinnaker::stdp::PreEventHistory;

    /// A row with static words and plastic synapses is walked as both.
    #[test]
    fn row_with_static_and_plastic_parts() {
        let layout = RingBufferLayout { log_n_neurons: 1, log_n_synapse_types: 1, log_max_delay: 3 };
        let plus: Vec<i16> = vec![2048, 1000];
        let minus: Vec<i16> = vec![2048, 1000];
        let region = WeightRegion { min_weight: spikeforge_kernel::fixed::S1615(0), max_weight: spikeforge_kernel::fixed::S1615(1 << 20), a2_plus: spikeforge_kernel::fixed::S1615(1 << 10), a2_minus: spikeforge_kernel::fixed::S1615(1 << 10) };
        // pre history (2 words) + 2 weights (1 word)
        let mut row = vec![3u32, 0, 0, 100 | 200 << 16, 1, 2, layout.fixed_word(7, 1, 0, 1)];
        let c0 = PlasticSynapse { delay: 1, synapse_type: 0, neuron: 0 }.to_control(&layout);
        let c1 = PlasticSynapse { delay: 2, synapse_type: 0, neuron: 1 }.to_control(&layout);
        row.push(c0 as u32 | (c1 as u32) << 16);
        let l = PlasticRowLayout::parse(&row).unwrap();
        assert_eq!((l.plastic.clone(), l.fixed.clone(), l.n_plastic), (1..4, 6..7, 2));
        let mut rows = Rows { by_source: vec![Some((0, 1))], row_index: vec![0, row.len() as u32], words: row };
        let rule = PairRule { tau_plus: ExpLut { shift: 0, values: &plus }, tau_minus: ExpLut { shift: 0, values: &minus } };
        let regions = [region, region];
        let w = OneTermWeights { dependence: WeightDependence::Additive, regions: &regions, left_shifts: &[0, 0] };
        let cfg = RowConfig { layout: &layout, backprop_delay: true };
        let post = vec![PostEventHistory::initial(); 2];
        let mut buf = vec![0u16; layout.len()];
        let mut sat = 0;
        let ev = walk(&rule, &w, &cfg, false, &mut rows, &post, None, 0, &[0], 5, &mut buf, &mut sat, &mut Direct, None);
        assert_eq!(ev, 3);
        assert_eq!(buf[layout.index(6, 0, 1)], 7, "static word");
        assert_eq!(buf[layout.index(6, 0, 0)], 100, "plastic synapse 0 (no post spike: unchanged)");
        assert_eq!(buf[layout.index(7, 0, 1)], 200, "plastic synapse 1");
        let h: PreEventHistory = bytemuck::pod_read_unaligned(bytemuck::cast_slice(&rows.words[1..3]));
        assert_eq!((h.prev_time, h.prev_trace), (5, 2048));
    }
}
