//! Lowering of plastic spinnaker projections (pair, nearest-pair and triplet
//! STDP, quantized by `quantize::spinnaker_stdp`) into the
//! `SpinnakerStdpRule`, `SpinnakerStdpLuts`, `SpinnakerPostHistories` and
//! `SpinnakerPlasticMatrix` sections of their target cores (layouts:
//! `spikeforge_kernel::program`).
//!
//! * Plastic synapses are *not* written into the core's `SynapticMatrix`:
//!   they get rows in sPyNNaker's format (pre-event history, weights, control
//!   half-words) in a plastic matrix with the same block/row-index layout,
//!   one block per source core. Static synapses from the same source core
//!   stay in the `SynapticMatrix`; a spike walks both rows.
//! * A row holds every plastic synapse of one source neuron onto the core,
//!   sorted by (target neuron, expansion order), whichever plastic projection
//!   it belongs to: the pre-event history depends only on the source's spike
//!   times, so one history per row is what per-projection rows would hold.
//! * One rule per core: the post population's ([`PopulationStdp`]), with one
//!   weight region per synapse type, and one post-event history per neuron.

use super::Core;
use crate::quantize::spinnaker_stdp::{plastic_row, PlasticWeights, PopulationStdp, RowSynapse};
use spikeforge_kernel::program::{self as kp, MatrixBlock, MatrixHeader, SectionKind};
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use std::collections::BTreeMap;

/// One plastic synapse of a block: (source local, target local, expansion
/// order, synapse).
type Entry = (u32, u32, usize, RowSynapse);

/// The plastic synapses of the program, per (target core, source core).
pub(super) struct Stdp {
    /// Per target core, per source core.
    blocks: Vec<BTreeMap<usize, Vec<Entry>>>,
}

impl Stdp {
    pub(super) fn new(n_cores: usize) -> Stdp {
        Stdp { blocks: (0..n_cores).map(|_| BTreeMap::new()).collect() }
    }

    /// Adds synapse `j` of a plastic projection with stored weights `w`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(&mut self, tc: usize, sc: usize, sl: u32, tl: u32, order: usize, delay: u32, synapse_type: u32, w: &PlasticWeights, j: usize) {
        let weight = match w {
            PlasticWeights::W16(v) => v[j] as u32,
            PlasticWeights::W32(v) => v[j] as u32,
        };
        self.blocks[tc].entry(sc).or_default().push((sl, tl, order, RowSynapse { delay, synapse_type, neuron: tl, weight }));
    }

    /// Whether core `c` receives plastic synapses.
    pub(super) fn has(&self, c: usize) -> bool {
        !self.blocks[c].is_empty()
    }

    /// (source core, target core) pairs that must be routed.
    pub(super) fn routes(&self) -> Vec<(usize, usize)> {
        self.blocks.iter().enumerate().flat_map(|(tc, b)| b.keys().map(move |&sc| (sc, tc))).collect()
    }

    /// The sections of core `c` (none if it has no plastic synapses):
    /// rule, LUTs, `n` post histories and the plastic matrix.
    pub(super) fn sections(&mut self, c: usize, rule: &PopulationStdp, layout: &RingBufferLayout, n: u32, cores: &[Core]) -> Vec<(SectionKind, u32, Vec<u32>)> {
        if !self.has(c) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut sec: Vec<u32> = bytemuck::cast_slice(std::slice::from_ref(&rule.header)).to_vec();
        sec.extend_from_slice(&rule.regions);
        out.push((SectionKind::SpinnakerStdpRule, 1, sec));
        out.push((SectionKind::SpinnakerStdpLuts, rule.n_luts, rule.luts.clone()));
        let mut hist = Vec::with_capacity(rule.post_history.len() * n as usize);
        for _ in 0..n {
            hist.extend_from_slice(&rule.post_history);
        }
        out.push((SectionKind::SpinnakerPostHistories, n, hist));
        let mut mblocks = Vec::new();
        let mut row_index = vec![0u32];
        let mut words = Vec::new();
        for (&sc, entries) in self.blocks[c].iter_mut() {
            entries.sort_by_key(|e| (e.0, e.1, e.2));
            let first_row = row_index.len() as u32 - 1;
            let n_sources = cores[sc].n;
            let mut e = 0;
            for src in 0..n_sources {
                let start = e;
                while e < entries.len() && entries[e].0 == src {
                    e += 1;
                }
                if e > start {
                    let syn: Vec<RowSynapse> = entries[start..e].iter().map(|x| x.3).collect();
                    words.extend(plastic_row(rule, &syn, layout));
                }
                row_index.push(words.len() as u32);
            }
            mblocks.push(MatrixBlock { key_base: kp::key(sc as u32, 0), n_sources, first_row, weight_exp: 0 });
        }
        let header = MatrixHeader { n_blocks: mblocks.len() as u32, n_rows: row_index.len() as u32 - 1, n_words: words.len() as u32, reserved: 0 };
        let mut sec: Vec<u32> = bytemuck::cast_slice(std::slice::from_ref(&header)).to_vec();
        sec.extend_from_slice(bytemuck::cast_slice(&mblocks));
        sec.extend(row_index);
        sec.extend(words);
        out.push((SectionKind::SpinnakerPlasticMatrix, mblocks.len() as u32, sec));
        out
    }
}
