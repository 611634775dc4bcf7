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
use spikeforge_kernel::program::SectionKind;
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
        for entries in self.blocks[c].values_mut() {
            entries.sort_by_key(|e| (e.0, e.1, e.2));
        }
        let (sec, n_blocks) = super::matrix_section(
            &self.blocks[c],
            |sc| cores[sc].n,
            |e| e.0,
            |_| 0,
            |_, _, entries, words| {
                let syn: Vec<RowSynapse> = entries.iter().map(|x| x.3).collect();
                words.extend(plastic_row(rule, &syn, layout));
            },
        );
        out.push((SectionKind::SpinnakerPlasticMatrix, n_blocks, sec));
        out
    }
}
