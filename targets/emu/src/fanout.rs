//! Static synaptic rows of one worker's cores, merged by source neuron.
//!
//! On the chip every core keeps its own synaptic matrix and ring buffer and
//! looks up one row per arriving spike. Emulated that way, a spike costs one
//! scattered index read and row walk *per target core* (16 in a 4000-neuron
//! network), and at dt = 1 ms those cache misses dominate the run. A
//! [`Fanout`] keeps the ring buffers of the worker's cores side by side in
//! one array and, for every source neuron, the synapses of all the cores
//! that listen to it in one run of (ring-buffer key, weight) pairs: a spike
//! is one index read and one contiguous walk.
//!
//! Same bits as per-core delivery. A key is the core's synapse word's
//! ring-buffer bits with the core's slot above them, so the add lands on the
//! entry the core's own `add_fixed_row` would update, and a core's entries
//! receive the same adds in the same order: per core, the per-core path
//! walks its source cores in ascending order, the spikes of each in emission
//! order and a row's words in order; [`Fanout::deliver`] walks the source
//! cores in ascending order, their spikes in emission order and, per spike,
//! each listening core's row unchanged. Restricted to one core that is the
//! same sequence; the saturating add depends only on an entry's own
//! sequence. Event and saturation counts are totals, kept here and added to
//! the run's counters (`tests/fast_path.rs` compares whole runs, counters
//! included, with the reference path).
//!
//! Merged are the cores whose arriving spikes touch nothing but static rows
//! (SpiNNaker fast-path cores without STDP or free-energy rows), in one
//! group per ring-buffer layout (the key's bit fields depend on it); the
//! others keep per-core delivery.

use crate::core::CoreState;
use crate::Counters;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;

/// The merged static rows and ring buffers of a worker's cores that share
/// one ring-buffer layout.
#[derive(Debug, Default)]
struct Group {
    /// The layout every merged core shares.
    layout: Option<RingBufferLayout>,
    /// Per slot (position in the worker's core list): its place among the
    /// merged buffers.
    place: Vec<Option<u32>>,
    /// Per source core (global index): its first entry in `neuron_start`
    /// and its neuron count, if a merged core listens to it.
    sources: Vec<Option<(u32, u32)>>,
    /// Per source neuron (all sources concatenated), plus one: its first
    /// synapse in `keys` / `weights`.
    neuron_start: Vec<u32>,
    /// `place << log2(layout.len())` | the word's ring-buffer bits.
    keys: Vec<u32>,
    /// The word's weight (its top 16 bits).
    weights: Vec<u16>,
    /// The merged cores' ring buffers, one `layout.len()` block per place.
    buffers: Vec<u16>,
    events: u64,
    saturations: u64,
}

impl Group {
    /// Merges the static rows of the mergeable `cores` with ring-buffer
    /// layout `layout` (see [`Fanout::build`]).
    fn build(cores: &[&CoreState], ids: &[usize], inputs: &[Vec<usize>], n_cores: usize, layout: RingBufferLayout) -> Group {
        let bits = layout.len().trailing_zeros();
        let mut place = vec![None; cores.len()];
        let mut n_places = 0u32;
        for (k, c) in cores.iter().enumerate() {
            // Keys must fit 32 bits: place < 2^(32 − bits).
            if c.static_rows_mergeable() == Some(layout) && (n_places as u64) < (1u64 << (32 - bits)) {
                place[k] = Some(n_places);
                n_places += 1;
            }
        }
        // Per source core, the slots of merged cores that listen to it.
        let mut listeners: Vec<Vec<usize>> = vec![Vec::new(); n_cores];
        for (k, &id) in ids.iter().enumerate() {
            if place[k].is_some() {
                for &s in &inputs[id] {
                    if s < n_cores {
                        listeners[s].push(k);
                    }
                }
            }
        }
        let mask = (layout.len() - 1) as u32;
        let mut f = Group {
            layout: Some(layout),
            sources: vec![None; n_cores],
            neuron_start: vec![0],
            buffers: vec![0; n_places as usize * layout.len()],
            ..Default::default()
        };
        for (s, slots) in listeners.iter().enumerate() {
            let n = slots.iter().map(|&k| cores[k].static_row_count(s as u32)).max().unwrap_or(0);
            if n == 0 {
                continue;
            }
            f.sources[s] = Some((f.neuron_start.len() as u32 - 1, n));
            for i in 0..n {
                for &k in slots {
                    let base = place[k].unwrap_or(0) << bits;
                    for &word in cores[k].static_row(s as u32, i).unwrap_or(&[]) {
                        f.keys.push(base | (word & mask));
                        f.weights.push((word >> 16) as u16);
                    }
                }
                f.neuron_start.push(f.keys.len() as u32);
            }
        }
        f.place = place;
        f
    }

    #[inline]
    fn ring(&mut self, k: usize) -> Option<&mut [u16]> {
        let p = (*self.place.get(k)?)? as usize;
        let len = self.layout?.len();
        Some(&mut self.buffers[p * len..(p + 1) * len])
    }

    fn load(&mut self, cores: &[&mut CoreState]) {
        let Some(layout) = self.layout else { return };
        for (k, c) in cores.iter().enumerate() {
            if let (Some(Some(p)), Some(b)) = (self.place.get(k), c.spinnaker_buffer()) {
                let p = *p as usize;
                self.buffers[p * layout.len()..(p + 1) * layout.len()].copy_from_slice(b);
            }
        }
    }

    fn store(&self, cores: &mut [&mut CoreState]) {
        let Some(layout) = self.layout else { return };
        for (k, c) in cores.iter_mut().enumerate() {
            if let (Some(Some(p)), Some(b)) = (self.place.get(k), c.spinnaker_buffer_mut()) {
                let p = *p as usize;
                b.copy_from_slice(&self.buffers[p * layout.len()..(p + 1) * layout.len()]);
            }
        }
    }

    fn deliver(&mut self, prev: &[Vec<u32>], t: u32) {
        let Some(layout) = self.layout else { return };
        let mask = (layout.len() - 1) as u32;
        let masked_time = ((t - 1) & layout.delay_mask()) << layout.type_index_bits();
        // The rows of a step's spikes are scattered over the whole matrix
        // and mostly not in cache: ask for every spike's index entry and
        // first synapses before walking any, so the misses overlap.
        for (s, spikes) in prev.iter().enumerate() {
            if let Some(&Some((first, n))) = self.sources.get(s) {
                for &i in spikes.iter().filter(|&&i| i < n) {
                    let a = self.neuron_start[(first + i) as usize] as usize;
                    if let (Some(k), Some(w)) = (self.keys.get(a), self.weights.get(a)) {
                        prefetch(k);
                        prefetch(w);
                    }
                }
            }
        }
        let buffers = &mut self.buffers[..];
        let mut saturated = 0u64;
        let mut events = 0u64;
        for (s, spikes) in prev.iter().enumerate() {
            let Some(&Some((first, n))) = self.sources.get(s) else { continue };
            for &i in spikes {
                if i >= n {
                    continue;
                }
                let k = (first + i) as usize;
                let (a, b) = (self.neuron_start[k] as usize, self.neuron_start[k + 1] as usize);
                saturated += add_run(buffers, &self.keys[a..b], &self.weights[a..b], mask, masked_time) as u64;
                events += (b - a) as u64;
            }
        }
        self.saturations += saturated;
        self.events += events;
    }
}

/// The merged static rows and the ring buffers of a worker's cores: one
/// [`Group`] per ring-buffer layout (a population's last core is usually
/// smaller, so its neuron field is narrower).
#[derive(Debug, Default)]
pub struct Fanout {
    groups: Vec<Group>,
    /// Per slot: its group, if merged.
    group_of: Vec<Option<usize>>,
}

impl Fanout {
    /// Merges the static rows of `cores` (a worker's cores, in slot order;
    /// `ids[k]` is the global index of slot `k`) for the source cores each
    /// receives from (`inputs`, by global index).
    pub fn build(cores: &[&CoreState], ids: &[usize], inputs: &[Vec<usize>], n_cores: usize) -> Fanout {
        let mut layouts: Vec<RingBufferLayout> = Vec::new();
        for l in cores.iter().filter_map(|c| c.static_rows_mergeable()) {
            if !layouts.contains(&l) {
                layouts.push(l);
            }
        }
        let groups: Vec<Group> = layouts.iter().map(|&l| Group::build(cores, ids, inputs, n_cores, l)).collect();
        let group_of = (0..cores.len()).map(|k| groups.iter().position(|g| matches!(g.place.get(k), Some(Some(_))))).collect();
        Fanout { groups, group_of }
    }

    /// The ring buffer of slot `k`, if merged: its static rows are
    /// delivered by [`Fanout::deliver`] (its per-core receive must skip
    /// them) and it steps on this buffer.
    #[inline]
    pub fn ring(&mut self, k: usize) -> Option<&mut [u16]> {
        let g = (*self.group_of.get(k)?)?;
        self.groups[g].ring(k)
    }

    /// Takes the merged cores' ring buffers in (before a segment of steps).
    pub fn load(&mut self, cores: &[&mut CoreState]) {
        for g in &mut self.groups {
            g.load(cores);
        }
    }

    /// Gives the ring buffers back to the cores (after a segment of steps).
    pub fn store(&self, cores: &mut [&mut CoreState]) {
        for g in &self.groups {
            g.store(cores);
        }
    }

    /// The synaptic events and ring-buffer saturations of merged delivery.
    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for g in &self.groups {
            c.synaptic_events += g.events;
            c.ring_buffer_saturations += g.saturations;
        }
        c
    }

    /// Delivers the spikes every core emitted in step `t − 1` (`prev`, by
    /// global core index) to the merged ring buffers: `add_fixed_row`'s
    /// index and saturating add, per key. (Groups hold disjoint cores, so
    /// each core still sees its spikes in order.)
    pub fn deliver(&mut self, prev: &[Vec<u32>], t: u32) {
        for g in &mut self.groups {
            g.deliver(prev, t);
        }
    }
}

/// One source neuron's run of synapses: `add_fixed_row`'s index (within
/// the key's place) and saturating add. Returns the number of saturated
/// adds. (Its own function, so the loop keeps its operands in registers.)
#[inline(never)]
fn add_run(buffers: &mut [u16], keys: &[u32], weights: &[u16], mask: u32, masked_time: u32) -> u32 {
    let mut saturated = 0;
    for (&key, &w) in keys.iter().zip(weights) {
        let index = ((key & !mask) | (key.wrapping_add(masked_time) & mask)) as usize;
        // At most 0xFFFF + 0xFFFF: bit 16 is set exactly when the add saturates.
        let sum = buffers[index] as u32 + w as u32;
        buffers[index] = sum.min(0xFFFF) as u16;
        saturated += sum >> 16;
    }
    saturated
}

/// A hint to load the cache line holding `x` (no effect on results).
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch never faults and reads no value; SSE is part
        // of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}
