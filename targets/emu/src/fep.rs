//! The free-energy rule (Kappel & Tetzlaff) on an emulated SpiNNaker core:
//! the `SpinnakerFepRule` (header and tables) and `SpinnakerFepMatrix`
//! (rows with the source's spike history, per-synapse state and controls)
//! sections, run through `spikeforge_kernel::spinnaker::fep`.
//!
//! # Order within step `t`
//!
//! 1. `receive`: for each spike emitted in step `t − 1` (time `tp = t − 1`),
//!    walk its row: (a) every history spike `th` with `tp − th ≥ N − 1 = 255`
//!    leaves the history and is folded into the accumulator of every synapse
//!    of the row whose last post event `t1 < th` (its complete `dw` with
//!    `i = N − 1`, `j = clamp(th − t1, 1, N − 1)` at the current weight,
//!    as `FepSynapse` folds it); (b) `tp` joins the history; (c) every
//!    synapse releases `y = max(0, r0·w + sqrt(s0·w)·ε)` (`fep::release`,
//!    `ε` from the row's own xorshift32, drawn in synapse order), converted
//!    to the ring buffer as `w16 = min(0xFFFF, (y + 2^(s−1)) >> s)`,
//!    `s = 9 + left_shift` (`y` is `Uq8p24` in IR weight units, a w16 LSB
//!    is `2^(left_shift − 15)` of them: the static projections' scale), and
//!    added into slot `tp + delay` with saturation.
//! 2. `step`: neuron update; then [`FepCore::post_step`]: the post spikes of
//!    `t` are kept, and every synapse of delay `d` whose post neuron spiked
//!    in step `t − d` gets its post event at time `t` (the back-propagated
//!    spike carries the dendritic delay, as the reference network's and
//!    sPyNNaker's STDP): `Σdw` over its folded accumulator and every history
//!    spike `t1 < th < t` (`fep::parts(t − th, t − t1)`), then
//!    `w ← clamp(w + eta·Σdw)`, `t1 ← t`, accumulator cleared.
//!
//! So a post event and a pre spike at the same time are post first (the pre
//! spike forms no triplet), as in `FepSynapse` and the reference network.
//! The result is bit-identical to one `FepSynapse` per synapse fed the same
//! times: a spike still in the history at the post event has
//! `parts(t − th, …) = parts_ij(N − 1, …)` once it is N − 1 steps old, which
//! is its fold; sums are exact integers.
//!
//! Each source neuron spikes at most once per step, so the history (255
//! entries) never overflows. The row's generator makes the releases
//! independent of the order in which rows are walked (thread count).
//! Post events are applied at once through an index (delay, neuron) →
//! synapses built at load; a chip would defer them to the next row visit.

use crate::EmuError;
use spikeforge_kernel::program::{CoreImage, FepRuleHeader, ImageError, SectionKind, SpinnakerRing, SynapticMatrix, FEP_ROW_HEADER_WORDS, KEY_CORE_SHIFT};
use spikeforge_kernel::spinnaker::fep::{self, FepRng, FepTables, Sq39p24, Uq8p24, FEP_N, FEP_PENDING_CAP, FEP_TABLE_WORDS};
use spikeforge_kernel::spinnaker::ring_buffer::{add_saturating, RingBufferLayout};
use spikeforge_kernel::spinnaker::stdp::PlasticSynapse;

/// `t1` of a synapse that has not seen a post event.
const NO_POST: u32 = u32::MAX;
const HIST: usize = 3;
const N_WORD: usize = FEP_ROW_HEADER_WORDS - 1;

/// Free-energy state of one SpiNNaker core.
pub struct FepCore {
    tables: Box<FepTables>,
    to_ring_shift: [u32; 2],
    layout: RingBufferLayout,
    /// Per source core: (first row, n_sources).
    by_source: Vec<Option<(u32, u32)>>,
    row_index: Vec<u32>,
    words: Vec<u32>,
    /// Per delay present: (delay, per neuron the synapses as (row start, slot)).
    post_index: Vec<(u32, Vec<Vec<(u32, u32)>>)>,
    /// The post spikes of the last `max_delay + 1` steps: (step, neurons).
    post_ring: Vec<(u32, Vec<u32>)>,
}

fn bad(core: usize, kind: SectionKind, reason: &'static str) -> EmuError {
    EmuError::Image { core, error: ImageError::BadSection { kind, reason } }
}

#[inline]
fn fold_of(w: &[u32]) -> i64 {
    (w[2] as u64 | (w[3] as u64) << 32) as i64
}

#[inline]
fn set_fold(w: &mut [u32], v: i64) {
    w[2] = v as u64 as u32;
    w[3] = (v as u64 >> 32) as u32;
}

impl FepCore {
    /// Words of the free-energy rows (for balancing cores over workers).
    pub fn row_words(&self) -> usize {
        self.words.len()
    }

    /// The free-energy state of a SpiNNaker neuron core, `None` without a
    /// `SpinnakerFepMatrix`. Checks both sections and every row.
    pub fn load(img: &CoreImage, core: usize, ring: &SpinnakerRing) -> Result<Option<FepCore>, EmuError> {
        const KM: SectionKind = SectionKind::SpinnakerFepMatrix;
        const KR: SectionKind = SectionKind::SpinnakerFepRule;
        let Some((msec, _)) = img.section(KM) else {
            return Ok(None);
        };
        let err = |error| EmuError::Image { core, error };
        let (rsec, _) = img.section(KR).ok_or(err(ImageError::MissingSection(KR)))?;
        if rsec.len() != 8 + FEP_TABLE_WORDS {
            return Err(bad(core, KR, "not a header and the free-energy tables"));
        }
        let header: FepRuleHeader = bytemuck::pod_read_unaligned(bytemuck::cast_slice(&rsec[..8]));
        let tables = FepTables::from_words(&rsec[8..]).ok_or(bad(core, KR, "the tables do not decode"))?;
        for t in 0..2 {
            if header.to_ring_shift[t] != 9 + ring.left_shifts[t] {
                return Err(bad(core, KR, "the release-to-ring shift is not 9 + the ring-buffer left shift"));
            }
        }
        let layout = ring.layout;
        let n = img.header.n_neurons as usize;
        let m = SynapticMatrix::parse_as(msec, KM).map_err(err)?;
        let mut by_source: Vec<Option<(u32, u32)>> = Vec::new();
        let mut row_index = vec![0u32];
        let mut words = Vec::new();
        let mut syn_index: Vec<(u32, u32, u32, u32)> = Vec::new(); // (delay, neuron, row start, slot)
        let mut max_delay = 0;
        for (b, blk) in m.blocks.iter().enumerate() {
            if blk.key_base & ((1 << KEY_CORE_SHIFT) - 1) != 0 {
                return Err(EmuError::Manifest(format!("core {core}: free-energy block {b} does not start at a core's first key")));
            }
            let source = (blk.key_base >> KEY_CORE_SHIFT) as usize;
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
                    if row.len() < FEP_ROW_HEADER_WORDS {
                        return Err(bad(core, KM, "a row is shorter than its header"));
                    }
                    let ns = row[N_WORD] as usize;
                    if row.len() != FEP_ROW_HEADER_WORDS + 4 * ns + ns.div_ceil(2) || ns == 0 {
                        return Err(bad(core, KM, "a row's length does not match its synapse count"));
                    }
                    if row[1] as usize > FEP_PENDING_CAP || row[2] as usize >= FEP_PENDING_CAP || row[0] == 0 {
                        return Err(bad(core, KM, "a row's history or generator state is out of range"));
                    }
                    let start = words.len() as u32;
                    let controls: &[u16] = &bytemuck::cast_slice::<u32, u16>(&row[FEP_ROW_HEADER_WORDS + 4 * ns..])[..ns];
                    for (k, &c) in controls.iter().enumerate() {
                        let s = PlasticSynapse::from_control(c, &layout);
                        if s.neuron as usize >= n || s.delay == 0 {
                            return Err(bad(core, KM, "a synapse names a neuron outside the core or has delay 0"));
                        }
                        let st = &row[FEP_ROW_HEADER_WORDS + 4 * k..];
                        if st[0] < tables.w_min.0 || st[0] > tables.w_max.0.max(tables.w_min.0) {
                            return Err(bad(core, KM, "a weight lies outside [w_min, w_max]"));
                        }
                        max_delay = max_delay.max(s.delay);
                        syn_index.push((s.delay, s.neuron, start, k as u32));
                    }
                }
                words.extend_from_slice(row);
                row_index.push(words.len() as u32);
            }
            by_source[source] = Some((first, blk.n_sources));
        }
        syn_index.sort_unstable();
        let mut post_index: Vec<(u32, Vec<Vec<(u32, u32)>>)> = Vec::new();
        for (d, j, start, k) in syn_index {
            if post_index.last().is_none_or(|x| x.0 != d) {
                post_index.push((d, vec![Vec::new(); n]));
            }
            post_index.last_mut().expect("pushed").1[j as usize].push((start, k));
        }
        Ok(Some(FepCore {
            tables: Box::new(tables),
            to_ring_shift: header.to_ring_shift,
            layout,
            by_source,
            row_index,
            words,
            post_index,
            post_ring: vec![(u32::MAX, Vec::new()); max_delay as usize + 1],
        }))
    }

    /// Walks the rows of the spikes `source` emitted at `time`; returns the
    /// synapses processed and adds saturations to `saturations`.
    pub fn receive(&mut self, source: u32, spikes: &[u32], time: u32, buffer: &mut [u16], saturations: &mut u32) -> u64 {
        let Some(Some((first, n_src))) = self.by_source.get(source as usize).copied() else { return 0 };
        let t = &*self.tables;
        let mut events = 0;
        for &i in spikes {
            if i >= n_src {
                continue;
            }
            let r = (first + i) as usize;
            let (a, b) = (self.row_index[r] as usize, self.row_index[r + 1] as usize);
            if a == b {
                continue;
            }
            let row = &mut self.words[a..b];
            let ns = row[N_WORD] as usize;
            let (head, rest) = row.split_at_mut(FEP_ROW_HEADER_WORDS);
            let (state, controls) = rest.split_at_mut(4 * ns);
            // (a) fold the spikes leaving the history
            let cap = FEP_PENDING_CAP;
            while head[1] > 0 && (head[1] as usize == cap || time.wrapping_sub(head[HIST + head[2] as usize]) >= FEP_N as u32 - 1) {
                let th = head[HIST + head[2] as usize];
                for s in state.chunks_exact_mut(4) {
                    let t1 = s[1];
                    if t1 != NO_POST && th > t1 {
                        let w = Uq8p24(s[0]);
                        let n1 = FEP_N as u32 - 1;
                        let (ltp, ltd) = fep::parts_ij(t, n1, (th - t1).clamp(1, n1));
                        let d = fep::dw_from_parts(t, ltp, ltd, w, fep::half_inv(t, w));
                        set_fold(s, fold_of(s) + d.0);
                    }
                }
                head[2] = (head[2] + 1) % cap as u32;
                head[1] -= 1;
            }
            // (b) the new spike
            head[HIST + ((head[2] + head[1]) as usize % cap)] = time;
            head[1] += 1;
            // (c) releases
            let mut rng = FepRng::new(head[0]);
            let controls: &[u16] = &bytemuck::cast_slice::<u32, u16>(controls)[..ns];
            for (s, &c) in state.chunks_exact(4).zip(controls) {
                let syn = PlasticSynapse::from_control(c, &self.layout);
                let y = fep::release(t, Uq8p24(s[0]), &mut rng);
                let sh = self.to_ring_shift[syn.synapse_type as usize & 1];
                let w16 = ((y.0 as u64 + (1u64 << (sh - 1))) >> sh).min(0xFFFF) as u16;
                let idx = self.layout.index(time + syn.delay, syn.synapse_type, syn.neuron);
                add_saturating(&mut buffer[idx], w16, saturations);
            }
            head[0] = rng.state();
            events += ns as u64;
        }
        events
    }

    /// After the neuron update of step `t`: keeps the post spikes of `t`
    /// (`spiked`, local indices) and runs the post events at time `t`.
    pub fn post_step(&mut self, spiked: &[u32], t: u32) {
        let len = self.post_ring.len();
        let slot = &mut self.post_ring[t as usize % len];
        slot.0 = t;
        slot.1.clear();
        slot.1.extend_from_slice(spiked);
        let tb = &*self.tables;
        for (d, lists) in &self.post_index {
            let Some(ts) = t.checked_sub(*d) else { continue };
            let (step, neurons) = &self.post_ring[ts as usize % len];
            if *step != ts {
                continue;
            }
            for &j in neurons {
                for &(start, k) in &lists[j as usize] {
                    let row = &mut self.words[start as usize..];
                    let (head, rest) = row.split_at_mut(FEP_ROW_HEADER_WORDS);
                    let s = &mut rest[4 * k as usize..4 * k as usize + 4];
                    let t1 = s[1];
                    if t1 != NO_POST {
                        let w = Uq8p24(s[0]);
                        let hi = fep::half_inv(tb, w);
                        let mut sum = fold_of(s);
                        for q in 0..head[1] as usize {
                            let th = head[HIST + (head[2] as usize + q) % FEP_PENDING_CAP];
                            if th > t1 && th < t {
                                let (ltp, ltd) = fep::parts(tb, t - th, t - t1);
                                sum += fep::dw_from_parts(tb, ltp, ltd, w, hi).0;
                            }
                        }
                        let nw = w.0 as i64 + fep::scaled_update(tb, Sq39p24(sum)).0;
                        let lo = tb.w_min.0 as i64;
                        s[0] = nw.clamp(lo, (tb.w_max.0 as i64).max(lo)) as u32;
                    }
                    s[1] = t;
                    set_fold(s, 0);
                }
            }
        }
    }

    /// Every free-energy synapse as (source core, source local neuron,
    /// target local neuron, synapse type, `Uq8p24` weight), in row order.
    pub fn synapses(&self) -> Vec<(u32, u32, u32, u32, i64)> {
        let mut out = Vec::new();
        for (sc, b) in self.by_source.iter().enumerate() {
            let Some((first, n)) = *b else { continue };
            for i in 0..n {
                let r = (first + i) as usize;
                let row = &self.words[self.row_index[r] as usize..self.row_index[r + 1] as usize];
                if row.is_empty() {
                    continue;
                }
                let ns = row[N_WORD] as usize;
                let controls: &[u16] = &bytemuck::cast_slice::<u32, u16>(&row[FEP_ROW_HEADER_WORDS + 4 * ns..])[..ns];
                for (k, &c) in controls.iter().enumerate() {
                    let syn = PlasticSynapse::from_control(c, &self.layout);
                    out.push((sc as u32, i, syn.neuron, syn.synapse_type, row[FEP_ROW_HEADER_WORDS + 4 * k] as i64));
                }
            }
        }
        out
    }
}
