//! The rule-independent half of sPyNNaker's "MAD" STDP core
//! (`synapse_dynamics_stdp_mad_impl.c`, `synapse_dynamics_stdp_common.h`,
//! `post_events.h`), generic over the timing rule and the weight dependence
//! the way the C is generic over its `#include`d `timing_*_impl.h` and
//! `weight_*_impl.h`.
//!
//! # Driving it (the emulator's contract)
//!
//! Per core: one post-event history per neuron (`T::PostHistory`, created with
//! [`PostHistory::initial`]), the weight regions (one per synapse type) and
//! the ring-buffer left shifts. Per plastic synaptic row: the pre-event
//! history (`T::PreHistory`, at the head of the row's plastic region), one
//! `u16` weight per synapse and one control half-word per synapse (decoded
//! with [`PlasticSynapse::from_control`](super::PlasticSynapse::from_control)).
//!
//! Within a time step `t` the emulator must, as the sPyNNaker core does,
//! 1. call [`process_post_event`] for every neuron that spiked at `t`
//!    (the neuron update runs at the timer tick, before any of the step's
//!    incoming spikes are processed), then
//! 2. call [`process_row`] for every plastic row whose pre spike is processed
//!    at `t`.
//!
//! With that order a post spike and a pre spike in the same step form a
//! pre-after-post pair with `Δt = 0` (depression by `LUT-[0]`); the pair is
//! never also counted as potentiation (the next window starts *after* `t`).
//!
//! # Bytes per plastic synapse
//!
//! | rule | pre history (row header) | per synapse | per post neuron |
//! |---|---|---|---|
//! | pair | 8 B ([`PreEventHistory`](super::PreEventHistory)) | 2 B weight + 2 B control | 100 B |
//! | nearest pair | 4 B ([`NearestPreEventHistory`](super::nearest::NearestPreEventHistory)) | 2 B + 2 B | 68 B |
//! | Pfister triplet | 8 B ([`TripletPreEventHistory`](super::triplet::TripletPreEventHistory)) | 2 B + 2 B | 196 B |
//! | any, 32-bit weights ([`WideWeight`]) | as above | 4 B weight + 2 B control | as above |
//!
//! The row's plastic region is the pre history followed by the weights,
//! padded to a word (`_n_header_bytes` + `2·n`, rounded up to 4, in
//! `synapse_dynamics_stdp.py`); see [`split_plastic_region`]. All state types
//! are `#[repr(C)]` and `Pod`, so the emulator can keep them in the same
//! words the firmware reads.
//!
//! # Stored weight width ([`PlasticWeight`])
//!
//! The row weight is sPyNNaker's `u16` (`weight_get_initial`: `w16 <<
//! shift`; `weight_get_final`: `>> shift`, truncating) or, as a documented
//! deviation, a [`WideWeight`]: an `i32` s16.15 value in units of the
//! ring-buffer LSB, updated in place without truncation and rounded to the
//! ring buffer's `u16` at delivery (4 B weight + 2 B control per synapse).
//! The update arithmetic is the same for both: the weight rules only add,
//! compare and multiply by dimensionless traces, so they work in any weight
//! unit as long as the bounds and additive amplitudes share it
//! (`docs/plasticity.md`).

use super::{PlasticRowStats, PlasticSynapse, PostWindow, WeightState, MAX_POST_SYNAPTIC_EVENTS};
use crate::fixed::S1615;
use crate::spinnaker::ring_buffer::{add_saturating, RingBufferLayout};
use bytemuck::{Pod, Zeroable};

/// A timing dependence (`timing_*_impl.h`): what is stored per pre spike and
/// per post spike and how a pairing turns into weight-rule terms.
pub trait TimingRule {
    /// `pre_trace_t`.
    type PreTrace: Copy;
    /// `post_trace_t`.
    type PostTrace: Copy;
    /// What the weight dependence receives (`i32` for one-term rules,
    /// `[i32; 2]` for two-term rules), in s4.11 bits.
    type Terms: Copy;
    /// Row-header layout (`pre_event_history_t`).
    type PreHistory: PreHistory<Trace = Self::PreTrace>;
    /// Per-neuron layout (`post_event_history_t`).
    type PostHistory: PostHistory<Trace = Self::PostTrace>;

    /// `timing_add_pre_spike(time, last_time, last_trace)`.
    fn add_pre_spike(&self, time: u32, last_time: u32, last_trace: Self::PreTrace) -> Self::PreTrace;

    /// `timing_add_post_spike(time, last_time, last_trace)`.
    fn add_post_spike(&self, time: u32, last_time: u32, last_trace: Self::PostTrace) -> Self::PostTrace;

    /// The terms of `timing_apply_pre_spike` (depression); always applied
    /// when called (the engine calls it only if a post spike has occurred).
    #[allow(clippy::too_many_arguments)]
    fn pre_spike_terms(
        &self,
        time: u32,
        trace: Self::PreTrace,
        last_pre_time: u32,
        last_pre_trace: Self::PreTrace,
        last_post_time: u32,
        last_post_trace: Self::PostTrace,
    ) -> Self::Terms;

    /// The terms of `timing_apply_post_spike` (potentiation); `None` when the
    /// C returns the state unchanged (`time - last_pre_time == 0`). `Some`
    /// with zero terms still runs the weight rule (additive rules clamp).
    #[allow(clippy::too_many_arguments)]
    fn post_spike_terms(
        &self,
        time: u32,
        trace: Self::PostTrace,
        last_pre_time: u32,
        last_pre_trace: Self::PreTrace,
        last_post_time: u32,
        last_post_trace: Self::PostTrace,
    ) -> Option<Self::Terms>;
}

/// A weight dependence (`weight_*_impl.h`) with its per-synapse-type regions
/// and the ring-buffer left shifts (`weight_shift[type]`).
pub trait WeightRule {
    /// Terms it consumes (must equal the timing rule's).
    type Terms: Copy;
    /// `weight_get_initial(w16, type)`: `kbits(w16 << shift[type])`.
    fn load(&self, w16: u16, synapse_type: u32) -> WeightState;
    /// `weight_*_apply_depression`.
    fn depress(&self, synapse_type: u32, state: &mut WeightState, terms: Self::Terms);
    /// `weight_*_apply_potentiation`.
    fn potentiate(&self, synapse_type: u32, state: &mut WeightState, terms: Self::Terms);
}

/// Row-header pre-spike history (`pre_event_history_t`).
pub trait PreHistory: Pod {
    /// `pre_trace_t`.
    type Trace: Copy;
    /// (`prev_time`, `prev_trace`).
    fn last(&self) -> (u32, Self::Trace);
    /// Overwrite with a new spike.
    fn set(&mut self, time: u32, trace: Self::Trace);
}

/// Per-neuron post-spike history (`post_event_history_t`): a sentinel at
/// index 0 and up to 15 events, drop-entry-1 when full.
pub trait PostHistory: Pod {
    /// `post_trace_t`.
    type Trace: Copy;
    /// `post_events_init_buffers` for one neuron: only the sentinel
    /// (time 0, `timing_get_initial_post_trace()`); unused slots are zero.
    fn initial() -> Self;
    /// `count_minus_one` (index of the newest entry).
    fn newest(&self) -> usize;
    /// `times`.
    fn times(&self) -> &[u32; MAX_POST_SYNAPTIC_EVENTS];
    /// `traces[i]`.
    fn trace_at(&self, i: usize) -> Self::Trace;
    /// `post_events_add`.
    fn push(&mut self, time: u32, trace: Self::Trace);

    /// Newest (time, trace).
    #[inline]
    fn newest_event(&self) -> (u32, Self::Trace) {
        let i = self.newest();
        (self.times()[i], self.trace_at(i))
    }

    /// `post_events_get_window_delayed(begin, end)`.
    #[inline]
    fn event_window(&self, begin_time: u32, end_time: u32) -> PostWindow {
        window_of(self.times(), self.newest(), begin_time, end_time)
    }
}

/// `post_events_get_window_delayed` on the times of a history whose newest
/// entry is `count_minus_one`: walk back from the newest event while
/// `times[i] > begin` (stopping at the sentinel); the window is the events
/// after `prev` with `time <= end`.
pub fn window_of(
    times: &[u32; MAX_POST_SYNAPTIC_EVENTS],
    count_minus_one: usize,
    begin_time: u32,
    end_time: u32,
) -> PostWindow {
    let count = count_minus_one + 1;
    let mut idx = count;
    let mut end_idx = count;
    let mut next;
    loop {
        // (the C also tests the slot one past the newest here; that test
        // can only set end_idx to its current value)
        if idx < count && times[idx] > end_time {
            end_idx = idx;
        }
        next = idx;
        idx -= 1;
        if !(times[idx] > begin_time && idx != 0) {
            break;
        }
    }
    PostWindow { prev: idx, next, num_events: end_idx - next, prev_time_valid: idx != 0 }
}

/// `post_events_add` on raw arrays: append; when full, drop entry 1 (shift
/// 2.. down) and write the new event at the end.
pub fn push_event<T: Copy>(
    count_minus_one: &mut u32,
    times: &mut [u32; MAX_POST_SYNAPTIC_EVENTS],
    traces: &mut [T; MAX_POST_SYNAPTIC_EVENTS],
    time: u32,
    trace: T,
) {
    if (*count_minus_one as usize) < MAX_POST_SYNAPTIC_EVENTS - 1 {
        *count_minus_one += 1;
        let i = *count_minus_one as usize;
        times[i] = time;
        traces[i] = trace;
    } else {
        times.copy_within(2.., 1);
        traces.copy_within(2.., 1);
        times[MAX_POST_SYNAPTIC_EVENTS - 1] = time;
        traces[MAX_POST_SYNAPTIC_EVENTS - 1] = trace;
    }
}

/// `synapse_dynamics_process_post_synaptic_event(time, neuron)`: add a post
/// spike to that neuron's history.
pub fn process_post_event<T: TimingRule>(rule: &T, history: &mut T::PostHistory, time: u32) {
    let (t, tr) = history.newest_event();
    history.push(time, rule.add_post_spike(time, t, tr));
}

/// `plasticity_update_synapse` (axonal delay 0): replay the post events in
/// `(last_pre - d, time - d]` as potentiation (each with the event before it
/// as "last post"), then, if any post spike precedes the window end, depress
/// with the newest of them. `post_delay` is the dendritic delay if
/// `backprop_delay`, else 0 (as `process_plastic_synapse`).
#[allow(clippy::too_many_arguments)]
pub fn update_synapse_with<T: TimingRule, W: WeightRule<Terms = T::Terms>>(
    rule: &T,
    weight: &W,
    synapse_type: u32,
    state: &mut WeightState,
    time: u32,
    last_pre_time: u32,
    last_pre_trace: T::PreTrace,
    new_pre_trace: T::PreTrace,
    post_delay: u32,
    history: &T::PostHistory,
) {
    let begin = last_pre_time.saturating_sub(post_delay);
    let end = time.saturating_sub(post_delay);
    let w = history.event_window(begin, end);
    let mut prev = w.prev;
    for k in w.next..w.next + w.num_events {
        let post_time = history.times()[k].wrapping_add(post_delay);
        // post_window.prev_time is *not* delayed in the C
        let prev_time = history.times()[prev];
        if let Some(x) = rule.post_spike_terms(
            post_time,
            history.trace_at(k),
            last_pre_time,
            last_pre_trace,
            prev_time,
            history.trace_at(prev),
        ) {
            weight.potentiate(synapse_type, state, x);
        }
        prev = k;
    }
    if w.num_events > 0 || w.prev_time_valid {
        let last_post = history.times()[prev].wrapping_add(post_delay);
        let x =
            rule.pre_spike_terms(time, new_pre_trace, last_pre_time, last_pre_trace, last_post, history.trace_at(prev));
        weight.depress(synapse_type, state, x);
    }
}

/// Per-core settings of [`process_row`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowConfig<'a> {
    /// Ring-buffer layout (also the control half-word field widths).
    pub layout: &'a RingBufferLayout,
    /// `stdp_params.backprop_delay` (PyNN `backprop_delay`, default true):
    /// post events are delayed by the synapse's dendritic delay.
    pub backprop_delay: bool,
}

/// How a plastic weight is stored in the row and delivered to the ring buffer.
pub trait PlasticWeight: Pod {
    /// `weight_get_initial`: the weight state the rules update.
    fn load<W: WeightRule>(self, rule: &W, synapse_type: u32) -> WeightState;
    /// `weight_get_final`: back to the stored form.
    fn store(state: WeightState) -> Self;
    /// The value added into the ring buffer.
    fn ring_value(self) -> u16;
}

/// sPyNNaker's 16-bit row weight (the default, bit-exact with upstream).
impl PlasticWeight for u16 {
    #[inline]
    fn load<W: WeightRule>(self, rule: &W, synapse_type: u32) -> WeightState {
        rule.load(self, synapse_type)
    }
    #[inline]
    fn store(state: WeightState) -> u16 {
        state.store()
    }
    #[inline]
    fn ring_value(self) -> u16 {
        self
    }
}

/// A 32-bit plastic weight (opt-in deviation from sPyNNaker): s16.15 in units
/// of the ring-buffer LSB, i.e. `w32 = w · 2^(15 − shift) · 2^15` for a weight
/// `w` in the IR's units. The rules update it in place (its `WeightState` has
/// shift 0, and the host writes bounds and additive amplitudes in the same
/// unit), so no bits are lost at the store; the ring buffer receives
/// [`WideWeight::to_ring`]. Bounds up to 65535 ring-buffer LSBs fit.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct WideWeight(pub i32);

impl WideWeight {
    /// Delivery rounding: `(w32 + 2^14) >> 15` (round half up), clamped to
    /// `0..=0xFFFF` (a weight can only leave that range through a bound the
    /// compiler rejects, or a multiplicative update's floor below `w_min = 0`).
    #[inline]
    pub const fn to_ring(self) -> u16 {
        let r = (self.0 as i64 + (1 << 14)) >> 15;
        if r < 0 {
            0
        } else if r > 0xFFFF {
            0xFFFF
        } else {
            r as u16
        }
    }
}

impl PlasticWeight for WideWeight {
    #[inline]
    fn load<W: WeightRule>(self, _: &W, _: u32) -> WeightState {
        WeightState { weight: S1615(self.0), shift: 0 }
    }
    #[inline]
    fn store(state: WeightState) -> WideWeight {
        WideWeight(state.weight.0)
    }
    #[inline]
    fn ring_value(self) -> u16 {
        self.to_ring()
    }
}

/// `synapse_dynamics_process_plastic_synapses` for a pre spike of this row at
/// `time` (colour delay 0): update the row's pre history, then for each
/// synapse load its weight, run [`update_synapse_with`], store the weight
/// back into `weights` and add its ring value ([`PlasticWeight::ring_value`])
/// to the ring buffer at `time + delay` with saturation. `post_histories` is
/// indexed by the synapse's neuron.
///
/// # Panics
/// If a synapse's neuron or type indexes past `post_histories` or the
/// weight rule's regions, or its ring-buffer index is out of `ring_buffer`.
#[allow(clippy::too_many_arguments)]
pub fn process_row<T: TimingRule, W: WeightRule<Terms = T::Terms>, S: PlasticWeight>(
    rule: &T,
    weight: &W,
    cfg: &RowConfig<'_>,
    ring_buffer: &mut [u16],
    post_histories: &[T::PostHistory],
    pre: &mut T::PreHistory,
    synapses: &[PlasticSynapse],
    weights: &mut [S],
    time: u32,
) -> PlasticRowStats {
    row_with(rule, weight, cfg, ring_buffer, post_histories, pre, synapses.iter().copied(), weights, time)
}

/// [`process_row`] reading the synapses straight from the row's control
/// half-words (decoded with [`PlasticSynapse::from_control`] and
/// `cfg.layout`), as the core does: nothing per synapse is kept besides the
/// row itself.
#[allow(clippy::too_many_arguments)]
pub fn process_row_controls<T: TimingRule, W: WeightRule<Terms = T::Terms>, S: PlasticWeight>(
    rule: &T,
    weight: &W,
    cfg: &RowConfig<'_>,
    ring_buffer: &mut [u16],
    post_histories: &[T::PostHistory],
    pre: &mut T::PreHistory,
    controls: &[u16],
    weights: &mut [S],
    time: u32,
) -> PlasticRowStats {
    let layout = cfg.layout;
    let syn = controls.iter().map(|&c| PlasticSynapse::from_control(c, layout));
    row_with(rule, weight, cfg, ring_buffer, post_histories, pre, syn, weights, time)
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn row_with<T: TimingRule, W: WeightRule<Terms = T::Terms>, S: PlasticWeight>(
    rule: &T,
    weight: &W,
    cfg: &RowConfig<'_>,
    ring_buffer: &mut [u16],
    post_histories: &[T::PostHistory],
    pre: &mut T::PreHistory,
    synapses: impl Iterator<Item = PlasticSynapse>,
    weights: &mut [S],
    time: u32,
) -> PlasticRowStats {
    let (last_pre_time, last_pre_trace) = pre.last();
    let new_pre_trace = rule.add_pre_spike(time, last_pre_time, last_pre_trace);
    pre.set(time, new_pre_trace);
    let mut stats = PlasticRowStats::default();
    let mut sat = 0u32;
    for (s, w) in synapses.zip(weights.iter_mut()) {
        let mut st = w.load(weight, s.synapse_type);
        update_synapse_with(
            rule,
            weight,
            s.synapse_type,
            &mut st,
            time,
            last_pre_time,
            last_pre_trace,
            new_pre_trace,
            if cfg.backprop_delay { s.delay } else { 0 },
            &post_histories[s.neuron as usize],
        );
        *w = S::store(st);
        let idx = cfg.layout.index(time.wrapping_add(s.delay), s.synapse_type, s.neuron);
        if add_saturating(&mut ring_buffer[idx], w.ring_value(), &mut sat) {
            stats.saturated += 1;
        }
    }
    stats
}

/// Words of a row's plastic region for `n` 16-bit weights: the pre history,
/// then `n` half-word weights, rounded up to whole words (`_n_header_bytes`
/// is already word-aligned).
pub const fn plastic_region_words(pre_history_bytes: usize, n: usize) -> usize {
    plastic_region_words_sized(pre_history_bytes, n, 2)
}

/// [`plastic_region_words`] for weights of `weight_bytes` bytes (2 or 4).
pub const fn plastic_region_words_sized(pre_history_bytes: usize, n: usize, weight_bytes: usize) -> usize {
    (pre_history_bytes.div_ceil(4) * 4 + weight_bytes * n).div_ceil(4)
}

/// View a row's plastic region (`synapse_row_plastic_data_t`) as its pre
/// history and `n` 16-bit weights. `None` if `words` is too short.
pub fn split_plastic_region<H: Pod>(words: &mut [u32], n: usize) -> Option<(&mut H, &mut [u16])> {
    split_plastic_region_as::<H, u16>(words, n)
}

/// [`split_plastic_region`] for any stored weight type (`u16` or
/// [`WideWeight`]). `None` if `words` is too short.
pub fn split_plastic_region_as<H: Pod, S: PlasticWeight>(words: &mut [u32], n: usize) -> Option<(&mut H, &mut [S])> {
    let head = core::mem::size_of::<H>().div_ceil(4) * 4;
    let wb = core::mem::size_of::<S>();
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(words);
    if bytes.len() < head + wb * n {
        return None;
    }
    let (h, rest) = bytes.split_at_mut(head);
    let h = bytemuck::try_from_bytes_mut::<H>(&mut h[..core::mem::size_of::<H>()]).ok()?;
    let w = bytemuck::try_cast_slice_mut::<u8, S>(&mut rest[..wb * n]).ok()?;
    Some((h, w))
}

/// One-term weight dependences (`weight_additive_one_term_impl.h`,
/// `weight_multiplicative_impl.h`), used by the pair and nearest-pair rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneTermWeights<'a> {
    /// Which dependence.
    pub dependence: super::WeightDependence,
    /// One region per synapse type.
    pub regions: &'a [super::WeightRegion],
    /// Ring-buffer left shift per synapse type.
    pub left_shifts: &'a [u32],
}

impl WeightRule for OneTermWeights<'_> {
    type Terms = i32;
    #[inline]
    fn load(&self, w16: u16, synapse_type: u32) -> WeightState {
        WeightState::load(w16, self.left_shifts[synapse_type as usize])
    }
    #[inline]
    fn depress(&self, synapse_type: u32, state: &mut WeightState, x: i32) {
        state.depress(self.dependence, &self.regions[synapse_type as usize], x);
    }
    #[inline]
    fn potentiate(&self, synapse_type: u32, state: &mut WeightState, x: i32) {
        state.potentiate(self.dependence, &self.regions[synapse_type as usize], x);
    }
}

/// Weight-dependence parameters of one synapse type for two-term rules
/// (`plasticity_weight_region_data_two_term_t`, 6 words of s16.15; the host
/// writes `w·gws` and `A·w_max·gws`, see
/// [`host::weight_region_additive_triplet`](crate::spinnaker::host::weight_region_additive_triplet)).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WeightRegionTwoTerm {
    /// Lower weight bound.
    pub min_weight: S1615,
    /// Upper weight bound.
    pub max_weight: S1615,
    /// Pair potentiation amplitude.
    pub a2_plus: S1615,
    /// Pair depression amplitude.
    pub a2_minus: S1615,
    /// Triplet potentiation amplitude.
    pub a3_plus: S1615,
    /// Triplet depression amplitude.
    pub a3_minus: S1615,
}

/// `weight_additive_two_term_impl.h` (the only two-term dependence upstream;
/// there is no multiplicative two-term rule in sPyNNaker):
/// depression `w -= A2-·x1; w -= A3-·x2; w = max(w, w_min)`, potentiation
/// `w += A2+·x1; w += A3+·x2; w = min(w, w_max)` (wrapping `accum` adds,
/// products via [`mul_accum_fixed`](super::mul_accum_fixed)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdditiveTwoTermWeights<'a> {
    /// One region per synapse type.
    pub regions: &'a [WeightRegionTwoTerm],
    /// Ring-buffer left shift per synapse type.
    pub left_shifts: &'a [u32],
}

impl WeightRule for AdditiveTwoTermWeights<'_> {
    type Terms = [i32; 2];
    #[inline]
    fn load(&self, w16: u16, synapse_type: u32) -> WeightState {
        WeightState::load(w16, self.left_shifts[synapse_type as usize])
    }
    fn depress(&self, synapse_type: u32, state: &mut WeightState, x: [i32; 2]) {
        let r = &self.regions[synapse_type as usize];
        let mut w = state.weight.wrapping_sub(super::mul_accum_fixed(r.a2_minus, x[0]));
        w = w.wrapping_sub(super::mul_accum_fixed(r.a3_minus, x[1]));
        state.weight = if w.0 > r.min_weight.0 { w } else { r.min_weight };
    }
    fn potentiate(&self, synapse_type: u32, state: &mut WeightState, x: [i32; 2]) {
        let r = &self.regions[synapse_type as usize];
        let mut w = state.weight.wrapping_add(super::mul_accum_fixed(r.a2_plus, x[0]));
        w = w.wrapping_add(super::mul_accum_fixed(r.a3_plus, x[1]));
        state.weight = if w.0 < r.max_weight.0 { w } else { r.max_weight };
    }
}
