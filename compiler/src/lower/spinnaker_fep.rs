//! Lowering of free-energy projections on the `spinnaker` profile
//! (quantized by `quantize::spinnaker_fep`) into the `SpinnakerFepRule` and
//! `SpinnakerFepMatrix` sections of their target cores (layouts:
//! `spikeforge_kernel::program`).
//!
//! Like the plastic STDP rows (`super::spinnaker_plastic`): the synapses are
//! not written into the core's `SynapticMatrix`; one block per source core,
//! one row per source neuron holding every free-energy synapse of that
//! neuron onto the core, sorted by (target neuron, expansion order), after a
//! shared spike history and the row's release-noise state.

use super::Core;
use crate::quantize::spinnaker_fep::PopulationFep;
use spikeforge_kernel::program::{self as kp, FepRuleHeader, SectionKind, FEP_ROW_HEADER_WORDS};
use spikeforge_kernel::spinnaker::fep::FEP_TABLE_WORDS;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use spikeforge_kernel::spinnaker::stdp::PlasticSynapse;
use std::collections::BTreeMap;

/// One synapse of a block: (source local, target local, expansion order,
/// delay, synapse type, `Uq8p24` weight).
type Entry = (u32, u32, usize, u32, u32, u32);

/// The free-energy synapses of the program, per (target core, source core).
pub(super) struct Fep {
    blocks: Vec<BTreeMap<usize, Vec<Entry>>>,
}

impl Fep {
    pub(super) fn new(n_cores: usize) -> Fep {
        Fep { blocks: (0..n_cores).map(|_| BTreeMap::new()).collect() }
    }

    /// Adds a synapse with `Uq8p24` weight `w`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(&mut self, tc: usize, sc: usize, sl: u32, tl: u32, order: usize, delay: u32, synapse_type: u32, w: u32) {
        self.blocks[tc].entry(sc).or_default().push((sl, tl, order, delay, synapse_type, w));
    }

    /// Whether core `c` receives free-energy synapses.
    pub(super) fn has(&self, c: usize) -> bool {
        !self.blocks[c].is_empty()
    }

    /// (source core, target core) pairs that must be routed.
    pub(super) fn routes(&self) -> Vec<(usize, usize)> {
        self.blocks.iter().enumerate().flat_map(|(tc, b)| b.keys().map(move |&sc| (sc, tc))).collect()
    }

    /// The sections of core `c` (none without free-energy synapses): the
    /// rule (header and tables) and the matrix. `left_shifts` are the
    /// core's ring-buffer shifts per synapse type.
    pub(super) fn sections(&mut self, c: usize, rule: &PopulationFep, layout: &RingBufferLayout, left_shifts: [u32; 2], cores: &[Core]) -> Vec<(SectionKind, u32, Vec<u32>)> {
        if !self.has(c) {
            return Vec::new();
        }
        let header = FepRuleHeader {
            seed_lo: rule.seed as u32,
            seed_hi: (rule.seed >> 32) as u32,
            to_ring_shift: [9 + left_shifts[0], 9 + left_shifts[1]],
            reserved: [0; 4],
        };
        let mut sec: Vec<u32> = bytemuck::cast_slice(std::slice::from_ref(&header)).to_vec();
        let mut tw = [0u32; FEP_TABLE_WORDS];
        rule.tables.to_words(&mut tw);
        sec.extend_from_slice(&tw);
        let mut out = vec![(SectionKind::SpinnakerFepRule, 1, sec)];
        for entries in self.blocks[c].values_mut() {
            entries.sort_by_key(|e| (e.0, e.1, e.2));
        }
        let (sec, n_blocks) = super::matrix_section(
            &self.blocks[c],
            |sc| cores[sc].n,
            |e| e.0,
            |_| 0,
            |sc, src, syn, words| {
                words.push(kp::fep_row_seed(rule.seed, c as u32, sc as u32, src));
                words.extend([0u32, 0]);
                words.extend(std::iter::repeat_n(0u32, FEP_ROW_HEADER_WORDS - 4));
                words.push(syn.len() as u32);
                for s in syn {
                    words.extend([s.5, u32::MAX, 0, 0]);
                }
                let controls: Vec<u16> = syn.iter().map(|s| PlasticSynapse { delay: s.3, synapse_type: s.4, neuron: s.1 }.to_control(layout)).collect();
                for pair in controls.chunks(2) {
                    words.push(pair[0] as u32 | (pair.get(1).copied().unwrap_or(0) as u32) << 16);
                }
            },
        );
        out.push((SectionKind::SpinnakerFepMatrix, n_blocks, sec));
        out
    }
}
