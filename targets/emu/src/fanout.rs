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
//! The merged buffers share one layout ([`Merged`]), the widest of the
//! cores' (most neuron, synapse-type and delay bits; a population's last
//! core is usually smaller), with the cores' slots of one time side by side:
//! each core steps on its slot of the step's time. Only the addresses differ
//! from the core's own buffer: an entry is still the sum of the weights that
//! arrive for one neuron, synapse type and time, and every delay fits the
//! core's own ring, so a wider ring holds the same pending entries.
//! [`Fanout::load`] and [`Fanout::store`] move the pending entries between
//! the core's layout and the merged one (by the time each is for).
//!
//! Same bits as per-core delivery: a core's entries receive the same adds
//! in the same order. Per core, the per-core path walks its source cores in
//! ascending order, the spikes of each in emission order and a row's words
//! in order; [`Fanout::deliver`] walks the source cores in ascending order,
//! their spikes in emission order and, per spike, each listening core's row
//! unchanged. Restricted to one core that is the same sequence; the
//! saturating add depends only on an entry's own sequence. Event and
//! saturation counts are totals, kept here and added to the run's counters
//! (`tests/fast_path.rs` compares whole runs, counters and final ring
//! buffers included, with the reference path).
//!
//! Merged are the cores whose arriving spikes touch nothing but static rows
//! (SpiNNaker fast-path cores without STDP or free-energy rows); the others
//! keep per-core delivery.

use crate::core::CoreState;
use crate::lined::Lined;
use crate::Counters;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;

/// The merged static rows and ring buffers of a worker's cores. Aligned
/// to 128 bytes: the workers' fanouts lie side by side in one `Vec`, and
/// each worker writes its own (counters, run list) every step.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Fanout {
    /// The merged buffers' layout (`None`: nothing merged).
    layout: Option<Merged>,
    /// Per slot (position in the worker's core list): its place among the
    /// merged buffers and its own layout.
    place: Vec<Option<(u32, RingBufferLayout)>>,
    /// Per source core (global index): its first entry in `neuron_start`
    /// and its neuron count, if a merged core listens to it.
    sources: Vec<Option<(u32, u32)>>,
    /// Per source neuron (all sources concatenated), plus one: its first
    /// synapse in `keys` / `weights`.
    neuron_start: Vec<u32>,
    /// [`Merged::index`] of the synapse's delay, place, type and neuron:
    /// adding the arrival time's slot to the delay field and masking the
    /// carry out of the top gives the entry (see [`Merged::arrival`]).
    keys: Vec<u32>,
    /// The word's weight (its top 16 bits).
    weights: Vec<u16>,
    /// The merged cores' ring buffers ([`Merged::len`] entries), written
    /// every step by this fanout's worker only.
    buffers: Lined<u16>,
    events: u64,
    saturations: u64,
    /// A step begun by [`Fanout::deliver_early`]: its time, the or of its
    /// wrapping sums so far and its events so far.
    pending: Option<(u32, u32, u64)>,
    /// The runs (synapse ranges) of the spikes being delivered (kept to
    /// reuse its allocation).
    runs: Vec<(u32, u32)>,
    /// The shortest delay (steps) of a merged synapse (`None`: no synapse).
    min_delay: Option<u32>,
}

/// A synapse word's (delay, type, neuron) fields in `layout`.
fn fields(word: u32, l: &RingBufferLayout) -> (u32, u32, u32) {
    let neuron = word & ((1 << l.log_n_neurons) - 1);
    let ty = (word >> l.log_n_neurons) & ((1 << l.log_n_synapse_types) - 1);
    let delay = (word >> l.type_index_bits()) & l.delay_mask();
    (delay, ty, neuron)
}

/// The layout of a worker's merged ring buffers: the widest core layout
/// `core` with `place_bits` of place between its delay field and its type
/// field, so an index is `delay | place | type | neuron` (most significant
/// first). One time slot of every core is one contiguous block — a step's
/// arrivals (mostly for one or two slots) and the cores' reads of their slot
/// touch a few contiguous kilobytes rather than one slot per core at a
/// stride of whole rings (which, at power-of-two strides, fell into the same
/// few cache sets). Places are padded to a power of two; a padding place's
/// entries are never touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merged {
    core: RingBufferLayout,
    place_bits: u32,
}

impl Merged {
    /// Bits below the delay field: place, type, neuron.
    fn slot_bits(&self) -> u32 {
        self.place_bits + self.core.type_index_bits()
    }

    /// Entries of the whole buffer.
    fn len(&self) -> usize {
        1usize << (self.core.log_max_delay + self.slot_bits())
    }

    /// The entry of (time modulo the ring, place, synapse type, neuron).
    fn index(&self, time: u32, place: u32, ty: u32, neuron: u32) -> usize {
        (((time & self.core.delay_mask()) << self.slot_bits()) | (place << self.core.type_index_bits()) | (ty << self.core.log_n_neurons) | neuron) as usize
    }

    /// `add_fixed_row`'s index for arrivals from step `t`: a key's entry is
    /// `(key + masked_time) & index_mask` (the time added to the key's
    /// delay field, the carry out of the top masked: the ring).
    fn arrival(&self, t: u32) -> (u32, u32) {
        (self.len() as u32 - 1, ((t - 1) & self.core.delay_mask()) << self.slot_bits())
    }
}

/// The time in `from..from + period` that is `slot` modulo `period`.
fn time_of(slot: u32, from: u32, period: u32) -> u32 {
    from.wrapping_add(slot.wrapping_sub(from) & (period - 1))
}

impl Fanout {
    /// Merges the static rows of `cores` (a worker's cores, in slot order;
    /// `ids[k]` is the global index of slot `k`) for the source cores each
    /// receives from (`inputs`, by global index).
    pub fn build(cores: &[&CoreState], ids: &[usize], inputs: &[Vec<usize>], n_cores: usize) -> Fanout {
        let own: Vec<Option<RingBufferLayout>> = cores.iter().map(|c| c.static_rows_mergeable()).collect();
        let widest = |f: fn(&RingBufferLayout) -> u32| own.iter().flatten().map(f).max();
        let (Some(log_n_neurons), Some(log_n_synapse_types), Some(log_max_delay)) =
            (widest(|l| l.log_n_neurons), widest(|l| l.log_n_synapse_types), widest(|l| l.log_max_delay))
        else {
            return Fanout::default();
        };
        let core = RingBufferLayout { log_n_neurons, log_n_synapse_types, log_max_delay };
        let mut place = vec![None; cores.len()];
        let mut n_places = 0u32;
        for (k, l) in own.iter().enumerate() {
            // Keys (and indices) must fit 31 bits: places < 2^(31 − the core's bits).
            if let (Some(l), true) = (l, (n_places as u64) < (1u64 << 31u32.saturating_sub(core.len().trailing_zeros()))) {
                place[k] = Some((n_places, *l));
                n_places += 1;
            }
        }
        let layout = Merged { core, place_bits: n_places.next_power_of_two().trailing_zeros() };
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
        let mut f = Fanout {
            layout: Some(layout),
            sources: vec![None; n_cores],
            neuron_start: vec![0],
            buffers: Lined::zeroed(layout.len()),
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
                    let Some((p, own)) = place[k] else { continue };
                    for &word in cores[k].static_row(s as u32, i).unwrap_or(&[]) {
                        let (d, ty, neuron) = fields(word, &own);
                        f.min_delay = Some(f.min_delay.map_or(d, |m| m.min(d)));
                        f.keys.push(layout.index(d, p, ty, neuron) as u32);
                        f.weights.push((word >> 16) as u16);
                    }
                }
                f.neuron_start.push(f.keys.len() as u32);
            }
        }
        // `add_run`'s contract: every key is an entry of the buffers.
        assert!(f.keys.iter().all(|&k| (k as usize) < f.buffers.len()), "merged row key outside the merged buffers");
        f.place = place;
        f
    }

    /// Whether slot `k`'s core is merged (every spike it receives arrives
    /// through [`Fanout::deliver`]).
    pub fn merges(&self, k: usize) -> bool {
        matches!(self.place.get(k), Some(Some(_)))
    }

    /// The shortest delay, in steps, of the merged synapses (`None`: there
    /// are none). A spike of step `t` arrives at `t + min_delay` at the
    /// earliest.
    pub fn min_delay(&self) -> Option<u32> {
        self.min_delay
    }

    /// If slot `k`'s core is merged: its time slot of step `t` as a ring
    /// of one slot (the merged layout without delay bits; its static rows
    /// are delivered by [`Fanout::deliver`], its per-core receive must skip
    /// them, and it steps on this slot).
    #[inline]
    pub fn ring(&mut self, k: usize, t: u32) -> Option<(&mut [u16], RingBufferLayout)> {
        let (p, _) = (*self.place.get(k)?)?;
        let layout = self.layout?;
        let one = RingBufferLayout { log_max_delay: 0, ..layout.core };
        Some((&mut self.buffers[layout.index(t, p, 0, 0)..][..one.len()], one))
    }

    /// Takes the merged cores' pending ring-buffer entries in, before step
    /// `first` (each core's entries are for times `first..first + its ring`).
    pub fn load(&mut self, cores: &[&mut CoreState], first: u32) {
        let Some(layout) = self.layout else { return };
        self.buffers.fill(0);
        for (k, c) in cores.iter().enumerate() {
            let (Some(&Some((p, own))), Some(b)) = (self.place.get(k), c.spinnaker_buffer()) else { continue };
            for slot in 0..1u32 << own.log_max_delay {
                let time = time_of(slot, first, 1 << own.log_max_delay);
                for ty in 0..1u32 << own.log_n_synapse_types {
                    for neuron in 0..1u32 << own.log_n_neurons {
                        self.buffers[layout.index(time, p, ty, neuron)] = b[own.index(time, ty, neuron)];
                    }
                }
            }
        }
    }

    /// Gives the pending entries back to the cores in their own layouts,
    /// after step `last` (entries for times `last + 1..`, within each core's
    /// ring: its longest delay fits it).
    pub fn store(&self, cores: &mut [&mut CoreState], last: u32) {
        let Some(layout) = self.layout else { return };
        for (k, c) in cores.iter_mut().enumerate() {
            let (Some(&Some((p, own))), Some(b)) = (self.place.get(k), c.spinnaker_buffer_mut()) else { continue };
            b.fill(0);
            for slot in 0..1u32 << own.log_max_delay {
                let time = time_of(slot, last.wrapping_add(1), 1 << own.log_max_delay);
                for ty in 0..1u32 << own.log_n_synapse_types {
                    for neuron in 0..1u32 << own.log_n_neurons {
                        b[own.index(time, ty, neuron)] = self.buffers[layout.index(time, p, ty, neuron)];
                    }
                }
            }
        }
    }

    /// The synaptic events and ring-buffer saturations of merged delivery.
    pub fn counters(&self) -> Counters {
        Counters { synaptic_events: self.events, ring_buffer_saturations: self.saturations, spikes: 0 }
    }

    /// Delivers the spikes every core emitted in step `t − 1` (`prev`, by
    /// global core index) to the merged ring buffers: `add_fixed_row`'s
    /// index (in the merged layout) and saturating add, per key — made as
    /// wrapping adds where the step saturates nothing (below).
    pub fn deliver(&mut self, prev: &[Vec<u32>], t: u32) {
        self.deliver_rest(prev, t, |_| false);
    }

    /// The first part of [`Fanout::deliver`] for step `t`: the spikes of
    /// the source cores `early` selects (a worker's own cores, whose spikes
    /// it has before the others'), with wrapping adds. The step is
    /// completed by [`Fanout::deliver_rest`] with the same `early`; until
    /// then the entries hold a partial sum (no core steps in between).
    pub fn deliver_early(&mut self, prev: &[Vec<u32>], t: u32, early: impl Fn(usize) -> bool) {
        if self.layout.is_none() {
            return;
        }
        debug_assert!(self.pending.is_none(), "a step's delivery begun twice");
        let (sums, events) = self.add_wrapping(prev, t, early);
        self.pending = Some((t, sums, events));
    }

    /// Completes step `t`'s delivery: the spikes of the source cores
    /// `early` does not select (all of them if no [`Fanout::deliver_early`]
    /// began the step), then the saturation check over the whole step.
    ///
    /// The wrapping adds, or-ing the 17-bit sums, go first. If no sum passed
    /// 0xFFFF, no add saturated — and none would have in any other order:
    /// weights are non-negative, so every partial sum of an entry is at most
    /// its final sum, which is the same in every order — so the entries are
    /// exactly the saturating adds' in the canonical order (source cores
    /// ascending, spikes in emission order, runs in order) and the step
    /// saturated nothing. Otherwise (rare: saturation means weights too
    /// large for the ring buffer) every wrapping add of the step is taken
    /// back (subtracting every weight again, in any order, restores the
    /// entries exactly) and the step is delivered in the canonical order
    /// with the saturating add, which counts.
    pub fn deliver_rest(&mut self, prev: &[Vec<u32>], t: u32, early: impl Fn(usize) -> bool) {
        if self.layout.is_none() {
            return;
        }
        let (mut sums, mut events) = match self.pending.take() {
            Some((at, sums, events)) => {
                debug_assert_eq!(at, t, "a step's delivery completed at another step");
                (sums, events)
            }
            None => (0, 0),
        };
        let (s, e) = self.add_wrapping(prev, t, |s| !early(s));
        sums |= s;
        events += e;
        if sums > 0xFFFF {
            self.list_runs(prev, |_| true);
            let (index_mask, masked_time) = self.arrival(t);
            let Fanout { keys, weights, buffers, runs, saturations, .. } = self;
            for &(a, b) in runs.iter() {
                let r = a as usize..b as usize;
                // SAFETY: the keys and buffers of this fanout (see `build`).
                unsafe { sub_run_wrapping(buffers, &keys[r.clone()], &weights[r], index_mask, masked_time) };
            }
            for &(a, b) in runs.iter() {
                let r = a as usize..b as usize;
                // SAFETY: as above.
                *saturations += unsafe { add_run(buffers, &keys[r.clone()], &weights[r], index_mask, masked_time) } as u64;
            }
        }
        self.events += events;
    }

    /// `Merged::arrival` of step `t` (nothing merged: no index is used).
    fn arrival(&self, t: u32) -> (u32, u32) {
        self.layout.map_or((0, 0), |l| l.arrival(t))
    }

    /// Lists in `runs` the synapse ranges of the spikes of the source cores
    /// `which` selects, in delivery order (source cores ascending, spikes
    /// in emission order), and asks the cache for each one's first
    /// synapses: the rows of a step's spikes are scattered over the whole
    /// matrix and mostly not in cache, so the misses overlap before any run
    /// is walked.
    fn list_runs(&mut self, prev: &[Vec<u32>], which: impl Fn(usize) -> bool) {
        let Fanout { sources, neuron_start, keys, weights, runs, .. } = self;
        runs.clear();
        for (s, spikes) in prev.iter().enumerate() {
            if spikes.is_empty() || !which(s) {
                continue;
            }
            let Some(&Some((first, n))) = sources.get(s) else { continue };
            for &i in spikes.iter().filter(|&&i| i < n) {
                let k = (first + i) as usize;
                let (a, b) = (neuron_start[k], neuron_start[k + 1]);
                if let (Some(key), Some(w)) = (keys.get(a as usize), weights.get(a as usize)) {
                    prefetch(key);
                    prefetch(w);
                }
                runs.push((a, b));
            }
        }
    }

    /// The wrapping adds of the spikes of the source cores `which` selects
    /// for step `t`: the or of the sums and the number of synaptic events.
    fn add_wrapping(&mut self, prev: &[Vec<u32>], t: u32, which: impl Fn(usize) -> bool) -> (u32, u64) {
        self.list_runs(prev, which);
        let (index_mask, masked_time) = self.arrival(t);
        let Fanout { keys, weights, buffers, runs, .. } = self;
        let (mut sums, mut events) = (0u32, 0u64);
        for &(a, b) in runs.iter() {
            let r = a as usize..b as usize;
            events += r.len() as u64;
            // SAFETY: the keys and buffers of this fanout (see `build`).
            sums |= unsafe { add_run_wrapping(buffers, &keys[r.clone()], &weights[r], index_mask, masked_time) };
        }
        (sums, events)
    }
}

/// [`add_run`] without saturation: each entry becomes `(entry + w) mod
/// 2^16`. Returns the bitwise or of the 17-bit sums, which is above 0xFFFF
/// exactly when some add would have saturated.
///
/// # Safety
/// As [`add_run`].
#[inline(never)]
unsafe fn add_run_wrapping(buffers: &mut [u16], keys: &[u32], weights: &[u16], index_mask: u32, masked_time: u32) -> u32 {
    let mut sums = 0;
    for (&key, &w) in keys.iter().zip(weights) {
        let index = (key.wrapping_add(masked_time) & index_mask) as usize;
        debug_assert!(index < buffers.len());
        // SAFETY: the caller's contract.
        let slot = unsafe { buffers.get_unchecked_mut(index) };
        let sum = *slot as u32 + w as u32;
        *slot = sum as u16;
        sums |= sum;
    }
    sums
}

/// Takes back [`add_run_wrapping`]: `(entry − w) mod 2^16` per synapse.
///
/// # Safety
/// As [`add_run`].
unsafe fn sub_run_wrapping(buffers: &mut [u16], keys: &[u32], weights: &[u16], index_mask: u32, masked_time: u32) {
    for (&key, &w) in keys.iter().zip(weights) {
        let index = (key.wrapping_add(masked_time) & index_mask) as usize;
        // SAFETY: the caller's contract.
        let slot = unsafe { buffers.get_unchecked_mut(index) };
        *slot = slot.wrapping_sub(w);
    }
}

/// One source neuron's run of synapses: `add_fixed_row`'s index (in the
/// merged layout, [`Merged::arrival`]) and saturating add. Returns the
/// number of saturated adds. (Its own function, so the loop keeps its
/// operands in registers; unrolled by four, unchecked: a synaptic event is
/// ~10 instructions.)
///
/// # Safety
/// `(key + masked_time) & index_mask < buffers.len()` for every key: true
/// for the keys, buffers and `index_mask` of a [`Fanout`] (the mask is the
/// buffers' length minus one, a power of two).
#[inline(never)]
unsafe fn add_run(buffers: &mut [u16], keys: &[u32], weights: &[u16], index_mask: u32, masked_time: u32) -> u32 {
    #[inline(always)]
    unsafe fn add(buffers: &mut [u16], key: u32, w: u16, index_mask: u32, masked_time: u32) -> u32 {
        let index = (key.wrapping_add(masked_time) & index_mask) as usize;
        debug_assert!(index < buffers.len());
        // SAFETY: the caller's contract.
        let slot = unsafe { buffers.get_unchecked_mut(index) };
        // At most 0xFFFF + 0xFFFF: bit 16 is set exactly when the add saturates.
        let sum = *slot as u32 + w as u32;
        *slot = sum.min(0xFFFF) as u16;
        sum >> 16
    }
    let n = keys.len().min(weights.len());
    let (keys, weights) = (&keys[..n], &weights[..n]);
    let mut saturated = 0;
    let (k4, w4) = (keys.chunks_exact(4), weights.chunks_exact(4));
    let (kr, wr) = (k4.remainder(), w4.remainder());
    // In order: a key may repeat within a run (several synapses onto one
    // neuron with one delay), so each add sees the previous ones.
    for (k, w) in k4.zip(w4) {
        // SAFETY: the caller's contract, for each key.
        unsafe {
            saturated += add(buffers, k[0], w[0], index_mask, masked_time);
            saturated += add(buffers, k[1], w[1], index_mask, masked_time);
            saturated += add(buffers, k[2], w[2], index_mask, masked_time);
            saturated += add(buffers, k[3], w[3], index_mask, masked_time);
        }
    }
    for (&k, &w) in kr.iter().zip(wr) {
        // SAFETY: as above.
        saturated += unsafe { add(buffers, k, w, index_mask, masked_time) };
    }
    saturated
}

/// A hint to load the cache line holding `x` (no effect on results).
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_kernel::spinnaker::ring_buffer::add_saturating;

    /// `deliver` (wrapping adds, redone with saturating adds when a sum
    /// passed 0xFFFF) against the plain saturating walk of the same runs in
    /// the canonical order: every entry and the saturation and event counts
    /// after each step, on runs with repeated entries and weights large
    /// enough to saturate in some steps and not in others. Two source cores;
    /// in half of the steps the second core's spikes go first
    /// (`deliver_early`, as a worker delivers its own cores' spikes).
    #[test]
    fn deliver_equals_saturating_walk() {
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let mut next = move |n: u32| rng.below(n);
        // Three places: the merged layout pads them to four.
        let core = RingBufferLayout { log_n_neurons: 4, log_n_synapse_types: 1, log_max_delay: 2 };
        let (n_places, n_src) = (3u32, 12u32);
        let layout = Merged { core, place_bits: 2 };
        let sources = vec![Some((0, n_src / 2)), Some((n_src / 2, n_src / 2))];
        let place = (0..n_places).map(|p| Some((p, core))).collect();
        let mut f = Fanout { layout: Some(layout), place, sources, neuron_start: vec![0], buffers: Lined::zeroed(layout.len()), ..Default::default() };
        let mut targets = Vec::new();
        for _ in 0..n_src {
            for _ in 0..next(30) {
                let (p, d, ty, neuron) = (next(n_places), 1 + next(3), next(2), next(16));
                targets.push((p, d, ty, neuron));
                f.keys.push(layout.index(d, p, ty, neuron) as u32);
                f.weights.push(if next(5) == 0 { 0x6000 + next(0x4000) as u16 } else { next(0x800) as u16 });
            }
            f.neuron_start.push(f.keys.len() as u32);
        }
        // The reference: one ring buffer per place in the core layout.
        let mut rings = vec![vec![0u16; core.len()]; n_places as usize];
        let (mut saturated, mut events) = (0u32, 0u64);
        let (mut saturating_steps, mut clean_steps, mut split_saturating) = (0, 0, 0);
        for t in 1..600u32 {
            let spikes: Vec<u32> = (0..n_src).filter(|_| next(4) == 0).collect();
            let prev: Vec<Vec<u32>> = vec![spikes.iter().copied().filter(|&i| i < n_src / 2).collect(), spikes.iter().filter(|&&i| i >= n_src / 2).map(|&i| i - n_src / 2).collect()];
            // the kernel's saturating add, run after run, in order
            for &i in &spikes {
                for a in f.neuron_start[i as usize] as usize..f.neuron_start[i as usize + 1] as usize {
                    let (p, d, ty, neuron) = targets[a];
                    add_saturating(&mut rings[p as usize][core.index(t - 1 + d, ty, neuron)], f.weights[a], &mut saturated);
                    events += 1;
                }
            }
            let before = f.saturations;
            let split = t % 2 == 0;
            if split {
                f.deliver_early(&prev, t, |s| s == 1);
                f.deliver_rest(&prev, t, |s| s == 1);
            } else {
                f.deliver(&prev, t);
            }
            if f.saturations > before {
                saturating_steps += 1;
                split_saturating += split as u32;
            } else {
                clean_steps += 1;
            }
            assert_eq!((f.saturations, f.events), (saturated as u64, events), "step {t}");
            let mut merged = vec![0u16; layout.len()];
            for (p, ring) in rings.iter().enumerate() {
                for time in t..t + 4 {
                    for ty in 0..2 {
                        for neuron in 0..16 {
                            merged[layout.index(time, p as u32, ty, neuron)] = ring[core.index(time, ty, neuron)];
                        }
                    }
                }
            }
            assert_eq!(&f.buffers[..], &merged[..], "step {t}");
            // consume the slot of t as the cores would, through `ring` (so
            // entries do not only grow)
            for (p, ring) in rings.iter_mut().enumerate() {
                let (slot, one) = f.ring(p, t).unwrap();
                assert_eq!(slot.len(), one.len());
                assert_eq!(slot, &ring[core.first_index(t)..][..core.slot_len()], "step {t}, place {p}");
                slot.fill(0);
                ring[core.first_index(t)..][..core.slot_len()].fill(0);
            }
        }
        assert!(saturating_steps > 40 && clean_steps > 40 && split_saturating > 20, "{saturating_steps} steps saturated ({split_saturating} split), {clean_steps} did not");
    }
}
