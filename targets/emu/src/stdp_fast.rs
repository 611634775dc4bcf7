//! The emulator's own walker of SpiNNaker STDP rows: the same bits as the
//! kernel's `process_row_controls` / `update_synapse_with`, computed with
//! less work per synapse. [`Emulator::new_reference`](crate::Emulator::new_reference)
//! keeps the kernel's walker; `tests/plastic_fast_path.rs` (whole networks)
//! and the tests below (random rows against the kernel) compare the two.
//!
//! Covered: every rule the kernel has — pair all-to-all and nearest pair
//! with the additive or multiplicative one-term dependence, the triplet rule
//! with the additive two-term one — with 16-bit and 32-bit weights, and
//! `backprop_delay` on or off. Falls back to the kernel's walker: a core
//! whose post histories break the assumptions below, and single rows
//! processed before their previous pre spike or at `time == u32::MAX`.
//!
//! # What is different
//!
//! * **Post-event windows by counting.** Each core keeps, next to the
//!   kernel's post histories (which stay the state the chip would hold and
//!   are updated by the kernel's `process_post_event`), a [`Mirror`]: per
//!   neuron the 16 history times on one cache line with the slots past the
//!   newest event set to `u32::MAX`, and the 16 traces. The kernel's
//!   `post_events_get_window_delayed(begin, end)` walks back from the newest
//!   event while `time > begin`; on a history whose times are non-decreasing
//!   with the sentinel's time 0 in slot 0, the index it stops at (`prev`) is
//!   `#{slots with time <= begin} − 1` and the window's end is
//!   `#{slots with time <= end}` (`begin <= end`). Both counts are two
//!   AVX-512 compares and population counts where the CPU has AVX-512F
//!   (detected at run time), else two branch-free binary searches. The
//!   newest event at or before `end` (the one the depression uses) is slot
//!   `#{time <= end} − 1`, and the kernel depresses iff that slot is not the
//!   sentinel (`num_events > 0 || prev_time_valid`).
//! * **Pair-rule potentiation from a per-row table** ([`PairTable`]): the
//!   pair rule's term for a window event depends only on
//!   `dt = t_post + d − t_last_pre` and the row's pre trace, so each row
//!   tabulates `PairRule::potentiation` over the `dt` its window events can
//!   have (`0..=time − t_last_pre`, capped at the LUT's end) and a window
//!   event costs one load — if the row has enough synapses for the table to
//!   pay (at most [`TABLE_PER_SYNAPSE`] entries per synapse; Song's
//!   one-synapse rows do not). The other rules call their own
//!   `post_spike_terms` per event ([`Direct`]).
//! * **Depression once per neuron and step** (pair and nearest-pair rules,
//!   [`Depression`]): their depression term depends only on the time and the
//!   newest post event at or before the window's end, so each neuron keeps
//!   it, with the window's end count, for the `(time, post delay)` it was
//!   last computed at; the other rows of the step read it, so there a
//!   synapse without post events in its window (the common case) needs no
//!   window search. The weight update itself stays per synapse.
//! * **16 synapses at a time** ([`Lanes`], pair and nearest-pair rules
//!   with a one-term dependence, where the CPU has AVX-512F, rows of at
//!   least [`LANES_MIN_ROW`] synapses): a synapse whose post history has no
//!   event in the row's window, or (pair rule) only its newest, is updated
//!   in 32-bit vector lanes from per-neuron copies of the newest event's
//!   time and trace and the time of the one before — a LUT gather and a
//!   product per term, the weight rule without branches. The others are
//!   walked one at a time in their place, and the ring-buffer adds keep the
//!   row's order (see [`Lanes`]).
//! * **Monomorphised weight rules.** The one-term dependence is a const
//!   generic ([`OneTerm`]) instead of `OneTermWeights`' run-time enum; the
//!   arithmetic is the kernel's own (`WeightState::depress` / `potentiate`,
//!   the timing rule's `pre_spike_terms`, and `post_spike_terms` or its
//!   tabulated values, with the same arguments in the same order per
//!   synapse), so only the bookkeeping around it changes.
//! * **Control half-words decoded in the loop**, and the ring-buffer index
//!   `((t + d) & delay_mask) << type_index_bits | (c & type_index_mask)`
//!   taken from the control word's low bits, as `RingBufferLayout::index`
//!   builds it.
//!
//! Each synapse is loaded, updated (potentiation by every window event in
//! order, then the depression) and stored with the kernel's arithmetic; a
//! synapse's update reads only its own weight and the histories, which the
//! row does not change, so the lanes may update 16 at once. The ring-buffer
//! adds are made in row order (the saturating add and its count depend on
//! an entry's sequence of adds), except that 16 adds to 16 distinct
//! consecutive entries go as one vector.
//!
//! # Assumptions (checked; the kernel's walker runs otherwise)
//!
//! * Every post history has time 0 in slot 0 and non-decreasing times
//!   below `u32::MAX` up to its newest event: checked when the image is
//!   loaded and after every post event ([`Mirror::refresh`]); a history that
//!   breaks it (only an image written by hand could) switches the core to
//!   the kernel's walker for the rest of the run.
//! * The row is processed at a `time` below `u32::MAX` (else `end` could
//!   count the padding) and not before the row's previous pre spike (else
//!   `begin > end`); rows that are not are walked by the kernel.
//!
//! # Tried and not kept
//!
//! Summing an additive rule's increments (`min(w + Σ a_k, w_max)` equals the
//! kernel's per-event clamps when every `a_k >= 0` and nothing overflows),
//! with an AVX-512 masked gather or a branch-free unrolled loop, was slower
//! on the bench machine (Zen 4) than the per-event loop above.

use spikeforge_kernel::fixed::S411;
use spikeforge_kernel::spinnaker::stdp::nearest::NearestPairRule;
use spikeforge_kernel::spinnaker::stdp::triplet::TripletRule;
use std::cell::Cell;
use spikeforge_kernel::spinnaker::ring_buffer::{add_saturating, RingBufferLayout};
use spikeforge_kernel::spinnaker::stdp::{
    split_plastic_region_as, ExpLut, PairRule, WideWeight, PlasticWeight, PostHistory, PreHistory, TimingRule, WeightDependence, WeightRegion, WeightRule, WeightState,
    MAX_POST_SYNAPTIC_EVENTS,
};

const SLOTS: usize = MAX_POST_SYNAPTIC_EVENTS;

/// A post history's times on one cache line; slots past the newest event
/// hold `u32::MAX`.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Times([u32; SLOTS]);

/// Per neuron: the times (padded) and traces of its post history, as the
/// fast walker reads them, and its cached depression term `X`
/// ([`Depression`]).
#[derive(Clone, Debug)]
pub struct Mirror<Tr: Copy, X: Copy> {
    times: Vec<Times>,
    traces: Vec<[Tr; SLOTS]>,
    dep: Vec<Cell<DepEntry<X>>>,
    /// Per neuron, for the AVX-512 lanes ([`Lanes`]): the newest event's
    /// time, and its trace's s4.11 bits ([`TraceBits`]) or [`NO_EVENT`]
    /// when the history holds only the sentinel.
    newest_time: Vec<u32>,
    newest_bits: Vec<i32>,
    /// The time of the event before the newest (the sentinel's 0 if there
    /// is none).
    second_time: Vec<u32>,
}

/// [`Mirror`]'s `newest_bits` of a history without events.
const NO_EVENT: i32 = i32::MIN;

/// A post trace as the depression's AVX-512 lanes read it: the s4.11 factor
/// the depression multiplies its LUT value by (`fixed_mul_16x16(trace, lut)`).
pub trait TraceBits: Copy {
    /// The factor (sign-extended 16 bits).
    fn bits(self) -> i32;
}

/// The pair rule's trace.
impl TraceBits for S411 {
    #[inline]
    fn bits(self) -> i32 {
        self.0 as i32
    }
}

/// The nearest-pair rule has no trace: its depression is the LUT value,
/// `fixed_mul_16x16(2048, lut) = lut`.
impl TraceBits for () {
    #[inline]
    fn bits(self) -> i32 {
        2048
    }
}

/// The triplet rule is not walked in lanes (its depression reads the pre
/// trace); the value is never read.
impl TraceBits for spikeforge_kernel::spinnaker::stdp::triplet::TripletPostTrace {
    #[inline]
    fn bits(self) -> i32 {
        0
    }
}

/// A neuron's depression at one `(time, post delay)`: `stop` =
/// `#{history times <= time − post delay}` and, if `stop > 1`, the term.
/// `key == u64::MAX`: nothing cached.
#[derive(Clone, Copy, Debug)]
struct DepEntry<X> {
    key: u64,
    stop: u32,
    x: Option<X>,
}

/// Timing rules whose depression term (`pre_spike_terms`) reads only the
/// time and the newest post event at or before the window's end, not the
/// row's pre history (the pair and nearest-pair rules: their pre arguments
/// are unused in the kernel). For them a neuron's term is the same for every
/// row processed at one `time` with one dendritic delay, and [`Mirror`]
/// keeps it: the first such row computes it, the others read it. The
/// histories do not change between those rows (a step's rows are processed
/// before the step's own post events are added; see `plastic.rs`), so the
/// cache needs no invalidation: its key is `(time, post delay)`.
pub trait Depression: TimingRule {
    /// Whether the term is cached.
    const POST_ONLY: bool;

    /// A pre trace's s4.11 bits, for the pair rule's potentiation in
    /// [`Lanes`] (only read for the pair rule).
    #[inline]
    fn pre_bits(_: Self::PreTrace) -> i32 {
        0
    }
}

impl Depression for PairRule<'_> {
    const POST_ONLY: bool = true;

    #[inline]
    fn pre_bits(trace: S411) -> i32 {
        trace.0 as i32
    }
}

impl Depression for NearestPairRule<'_> {
    const POST_ONLY: bool = true;
}

/// The triplet rule's depression reads the pre trace: not cached.
impl Depression for TripletRule<'_> {
    const POST_ONLY: bool = false;
}

/// Whether a history satisfies the walker's assumption: slot 0 at time 0,
/// times non-decreasing and below `u32::MAX` up to the newest event.
fn ordered<H: PostHistory>(h: &H) -> bool {
    let n = h.newest();
    let t = h.times();
    n < SLOTS && t[0] == 0 && t[..=n].windows(2).all(|w| w[0] <= w[1]) && t[n] < u32::MAX
}

impl<Tr: TraceBits, X: Copy> Mirror<Tr, X> {
    /// The mirror of `post`, or `None` if a history is not [`ordered`].
    pub fn build<H: PostHistory<Trace = Tr>>(post: &[H]) -> Option<Mirror<Tr, X>> {
        let none = DepEntry { key: u64::MAX, stop: 0, x: None };
        let mut m = Mirror {
            times: Vec::with_capacity(post.len()),
            traces: Vec::with_capacity(post.len()),
            dep: vec![Cell::new(none); post.len()],
            newest_time: vec![0; post.len()],
            newest_bits: vec![NO_EVENT; post.len()],
            second_time: vec![0; post.len()],
        };
        for h in post {
            if !ordered(h) {
                return None;
            }
            m.times.push(Times([u32::MAX; SLOTS]));
            m.traces.push(core::array::from_fn(|k| h.trace_at(k)));
            let i = m.times.len() - 1;
            m.copy(i, h);
        }
        Some(m)
    }

    fn copy<H: PostHistory<Trace = Tr>>(&mut self, i: usize, h: &H) {
        let n = h.newest();
        let mut t = [u32::MAX; SLOTS];
        t[..=n].copy_from_slice(&h.times()[..=n]);
        self.times[i] = Times(t);
        self.traces[i] = core::array::from_fn(|k| h.trace_at(k));
        self.newest_time[i] = t[n];
        self.newest_bits[i] = if n == 0 { NO_EVENT } else { h.trace_at(n).bits() };
        self.second_time[i] = t[n.saturating_sub(1)];
    }

    /// Re-reads neuron `i`'s history after a post event; `false` if it is
    /// no longer [`ordered`] (the mirror must then be dropped).
    #[inline]
    pub fn refresh<H: PostHistory<Trace = Tr>>(&mut self, i: usize, h: &H) -> bool {
        if !ordered(h) {
            return false;
        }
        self.copy(i, h);
        true
    }
}

/// A one-term weight dependence fixed at compile time (`MULT`: the
/// multiplicative one), with the kernel's arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct OneTerm<'a, const MULT: bool> {
    pub regions: &'a [WeightRegion],
    pub left_shifts: &'a [u32],
}

impl<const MULT: bool> OneTerm<'_, MULT> {
    const DEP: WeightDependence = if MULT { WeightDependence::Multiplicative } else { WeightDependence::Additive };
}

impl<const MULT: bool> WeightRule for OneTerm<'_, MULT> {
    type Terms = i32;
    #[inline(always)]
    fn load(&self, w16: u16, synapse_type: u32) -> WeightState {
        WeightState::load(w16, self.left_shifts[synapse_type as usize])
    }
    #[inline(always)]
    fn depress(&self, synapse_type: u32, state: &mut WeightState, x: i32) {
        state.depress(Self::DEP, &self.regions[synapse_type as usize], x);
    }
    #[inline(always)]
    fn potentiate(&self, synapse_type: u32, state: &mut WeightState, x: i32) {
        state.potentiate(Self::DEP, &self.regions[synapse_type as usize], x);
    }
}

/// `#{k : times[k] <= x}` on sorted times with `times[0] <= x`: a
/// branch-free binary search for the last slot at or before `x`.
#[inline(always)]
fn count_le(times: &[u32; SLOTS], x: u32) -> usize {
    let mut i = 0usize;
    let mut step = SLOTS / 2;
    while step > 0 {
        if times[i + step] <= x {
            i += step;
        }
        step /= 2;
    }
    i + 1
}

/// Where the potentiation terms of a window event come from.
pub trait Terms<T: TimingRule> {
    /// Called once per row of `n` synapses, before them, with the row's
    /// last pre spike and the largest `dt` of its window events ([`span`]).
    fn prepare(&mut self, _rule: &T, _last_pre_time: u32, _last_pre_trace: T::PreTrace, _span: u32, _n: usize) {}

    /// `rule.post_spike_terms(post_time, trace, last_pre_time,
    /// last_pre_trace, prev_time, prev_trace)`.
    #[allow(clippy::too_many_arguments)]
    fn term(
        &self,
        rule: &T,
        post_time: u32,
        trace: T::PostTrace,
        last_pre_time: u32,
        last_pre_trace: T::PreTrace,
        prev_time: u32,
        prev_trace: T::PostTrace,
    ) -> Option<T::Terms>;
}

/// The rule's own `post_spike_terms`, per event.
pub struct Direct;

impl<T: TimingRule> Terms<T> for Direct {
    #[inline(always)]
    fn term(&self, rule: &T, post_time: u32, trace: T::PostTrace, t: u32, r: T::PreTrace, prev_time: u32, prev: T::PostTrace) -> Option<T::Terms> {
        rule.post_spike_terms(post_time, trace, t, r, prev_time, prev)
    }
}

/// The pair rule's potentiation term depends only on `dt = post_time −
/// last_pre_time` and the row's pre trace (`PairRule::potentiation`: the
/// post trace and the previous post event are not read), so a row's terms
/// are tabulated once per pre spike: `x[dt]` for `dt` in `0..=min(span,
/// limit)`, where `span` ([`span`]) bounds the `dt` of any window event of the row and
/// `limit = LUT+ length << shift` is the first `dt` past the LUT (term 0 for
/// every `dt >= limit`: `x[limit]` serves them all), by the kernel's
/// `PairRule::potentiation`. `dt = 0` gives `None`, as the kernel; it does
/// not occur in a window (`post_time > last_pre_time`).
///
/// A row whose table would have more than [`TABLE_PER_SYNAPSE`] entries per
/// synapse (short rows, long intervals between pre spikes: building it
/// would cost more than the lookups save) computes each term directly, by
/// the same function.
#[derive(Clone, Debug, Default)]
pub struct PairTable {
    x: Vec<i32>,
    /// This row's terms are computed per event.
    direct: bool,
}

/// Most table entries per synapse of the row for which [`PairTable`]
/// tabulates (each synapse has a few window events on average).
pub const TABLE_PER_SYNAPSE: u64 = 2;

impl<'r> Terms<PairRule<'r>> for PairTable {
    fn prepare(&mut self, rule: &PairRule<'r>, last_pre_time: u32, last_pre_trace: S411, span: u32, n: usize) {
        let lut = &rule.tau_plus;
        let limit = (lut.values.len() as u64) << (lut.shift as u32 & 31);
        let len = (span as u64).min(limit) + 1;
        self.direct = len > TABLE_PER_SYNAPSE * n as u64;
        if self.direct {
            return;
        }
        self.x.clear();
        self.x.extend((0..len as u32).map(|dt| rule.potentiation(last_pre_time.wrapping_add(dt), last_pre_time, last_pre_trace).unwrap_or(0)));
    }

    #[inline(always)]
    fn term(&self, rule: &PairRule<'r>, post_time: u32, _: S411, last_pre_time: u32, last_pre_trace: S411, _: u32, _: S411) -> Option<i32> {
        if self.direct {
            return rule.potentiation(post_time, last_pre_time, last_pre_trace);
        }
        let dt = post_time.wrapping_sub(last_pre_time);
        if dt == 0 {
            return None;
        }
        let last = self.x.len() - 1;
        Some(self.x[(dt as usize).min(last)])
    }
}

/// The largest `dt = post_time − last_pre_time` of a window event of a row
/// processed at `time`: a window event has `t_post <= end = time − d`, so
/// `post_time = t_post + d <= time`.
#[inline]
pub fn span(last_pre_time: u32, time: u32) -> u32 {
    time.wrapping_sub(last_pre_time)
}

/// Whether [`row`] may walk a row last spiked at `last_pre_time` at `time`.
#[inline]
pub fn applies(last_pre_time: u32, time: u32) -> bool {
    time < u32::MAX && last_pre_time <= time
}

/// How the post-event window is found: `(#{time <= begin}, #{time <= end})`
/// over a neuron's padded times.
trait Window {
    fn window(times: &Times, begin: u32, end: u32) -> (usize, usize);
}

/// Two branch-free binary searches (any CPU).
struct Portable;

impl Window for Portable {
    #[inline(always)]
    fn window(times: &Times, begin: u32, end: u32) -> (usize, usize) {
        (count_le(&times.0, begin), count_le(&times.0, end))
    }
}

/// Two AVX-512 compares of all 16 slots and population counts. Only used
/// inside the `#[target_feature(enable = "avx512f,popcnt")]` row
/// functions (the intrinsics inline there).
#[cfg(target_arch = "x86_64")]
struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Window for Avx512 {
    #[inline(always)]
    fn window(times: &Times, begin: u32, end: u32) -> (usize, usize) {
        use core::arch::x86_64::*;
        // SAFETY: `Avx512` is only used by functions that run only where
        // AVX-512F is available; `Times` is 16 `u32`s, 64-byte aligned.
        unsafe {
            let v = _mm512_load_si512(times as *const Times as *const _);
            let b = _mm512_cmple_epu32_mask(v, _mm512_set1_epi32(begin as i32));
            let e = _mm512_cmple_epu32_mask(v, _mm512_set1_epi32(end as i32));
            (b.count_ones() as usize, e.count_ones() as usize)
        }
    }
}

/// Whether [`row`] uses the AVX-512 window search.
#[inline]
fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What the rows of one call share: the timing rule, the weight
/// dependence, the ring-buffer layout, whether post events take the
/// synapse's dendritic delay (`backprop_delay`), the post histories (as
/// [`Mirror`]) and the time of the pre spikes.
pub struct Walk<'a, T: Depression, W> {
    pub rule: &'a T,
    pub weight: &'a W,
    pub layout: &'a RingBufferLayout,
    pub backprop_delay: bool,
    pub mirror: &'a Mirror<T::PostTrace, T::Terms>,
    pub time: u32,
}

impl<T: Depression, W> Clone for Walk<'_, T, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Depression, W> Copy for Walk<'_, T, W> {}

/// `process_row_controls` for one row (pre history and weights in
/// `region`, control half-words `controls`) at `time`, reading the post
/// histories through `mirror`, in [`Lanes`] if given (rows of at least
/// [`LANES_MIN_ROW`] synapses). Returns the saturated ring-buffer adds.
/// The caller has checked [`applies`] on the row's pre history.
#[inline]
pub fn row<T: Depression, W: WeightRule<Terms = T::Terms>, S: LaneWeight, P: Terms<T>>(
    walk: &Walk<'_, T, W>,
    terms: &P,
    buffer: &mut [u16],
    pre: &mut T::PreHistory,
    weights: &mut [S],
    controls: &[u16],
    lanes: Option<&Lanes>,
) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(lanes) = lanes.filter(|_| controls.len() >= LANES_MIN_ROW) {
        // SAFETY: a `Lanes` exists only where AVX-512F and POPCNT are (`Lanes::new`).
        return unsafe { row_lanes(walk, terms, buffer, pre, weights, controls, lanes) };
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: AVX-512F and POPCNT are available (checked above).
        return unsafe { row_avx512(walk, terms, buffer, pre, weights, controls) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = lanes;
    row_with::<T, W, S, P, Portable>(walk, terms, buffer, pre, weights, controls)
}

/// [`row_with`] compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,popcnt")]
unsafe fn row_avx512<T: Depression, W: WeightRule<Terms = T::Terms>, S: PlasticWeight, P: Terms<T>>(
    walk: &Walk<'_, T, W>,
    terms: &P,
    buffer: &mut [u16],
    pre: &mut T::PreHistory,
    weights: &mut [S],
    controls: &[u16],
) -> u32 {
    row_with::<T, W, S, P, Avx512>(walk, terms, buffer, pre, weights, controls)
}

/// One row's pre spike as its synapses see it: the rule, the row's previous
/// and new pre trace, the time, the control word's fields.
struct RowCtx<'a, T: Depression, P> {
    rule: &'a T,
    terms: &'a P,
    mirror: &'a Mirror<T::PostTrace, T::Terms>,
    backprop_delay: bool,
    time: u32,
    last_pre_time: u32,
    last_pre_trace: T::PreTrace,
    new_pre_trace: T::PreTrace,
    lnn: u32,
    tib: u32,
    neuron_mask: u32,
    type_mask: u32,
    delay_mask: u32,
    low_mask: u32,
}

impl<'a, T: Depression, P: Terms<T>> RowCtx<'a, T, P> {
    /// `timing_add_pre_spike` on the row's pre history, and the context of
    /// its synapses.
    #[inline(always)]
    fn begin<W>(walk: &Walk<'a, T, W>, terms: &'a P, pre: &mut T::PreHistory) -> Self {
        let Walk { rule, layout, backprop_delay, mirror, time, .. } = *walk;
        let (last_pre_time, last_pre_trace) = pre.last();
        debug_assert!(applies(last_pre_time, time));
        let new_pre_trace = rule.add_pre_spike(time, last_pre_time, last_pre_trace);
        pre.set(time, new_pre_trace);
        let lnn = layout.log_n_neurons;
        let tib = layout.type_index_bits();
        RowCtx {
            rule,
            terms,
            mirror,
            backprop_delay,
            time,
            last_pre_time,
            last_pre_trace,
            new_pre_trace,
            lnn,
            tib,
            neuron_mask: (1u32 << lnn) - 1,
            type_mask: (1u32 << layout.log_n_synapse_types) - 1,
            delay_mask: layout.delay_mask(),
            low_mask: (1u32 << tib) - 1,
        }
    }

    /// One synapse (control half-word `c`, weight `w`): load, every window
    /// event's potentiation in order, the depression, store, and the
    /// ring-buffer add. Returns whether the add saturated.
    #[inline(always)]
    fn synapse<W: WeightRule<Terms = T::Terms>, S: PlasticWeight, F: Window>(&self, weight: &W, c: u16, w: &mut S, buffer: &mut [u16], sat: &mut u32) -> bool {
        let (rule, time) = (self.rule, self.time);
        let (last_pre_time, last_pre_trace) = (self.last_pre_time, self.last_pre_trace);
        let c = c as u32;
        let neuron = (c & self.neuron_mask) as usize;
        let ty = (c >> self.lnn) & self.type_mask;
        let delay = (c >> self.tib) & self.delay_mask;
        let post_delay = if self.backprop_delay { delay } else { 0 };
        let mut st = w.load(weight, ty);
        let begin = last_pre_time.saturating_sub(post_delay);
        let end = time.saturating_sub(post_delay);
        let padded = &self.mirror.times[neuron];
        let times = &padded.0;
        let traces = &self.mirror.traces[neuron];
        // the depression term of the newest event at or before `end`
        let depression = |stop: usize| {
            let p = (stop - 1) & (SLOTS - 1);
            rule.pre_spike_terms(time, self.new_pre_trace, last_pre_time, last_pre_trace, times[p].wrapping_add(post_delay), traces[p])
        };
        // `stop` = #{times <= end}, and the depression if `stop > 1`
        let (stop, dep) = if T::POST_ONLY {
            let key = (u64::from(time) << 32) | u64::from(post_delay);
            let cell = &self.mirror.dep[neuron];
            let e = cell.get();
            if e.key == key {
                (e.stop as usize, e.x)
            } else {
                let (_, stop) = F::window(padded, end, end);
                let x = (stop > 1).then(|| depression(stop));
                cell.set(DepEntry { key, stop: stop as u32, x });
                (stop, x)
            }
        } else {
            let (_, stop) = F::window(padded, end, end);
            (stop, (stop > 1).then(|| depression(stop)))
        };
        // Window events: after slot `first − 1` (#{times <= begin} = first),
        // up to slot `stop − 1`; none when the newest event at or before
        // `end` is at or before `begin` (slot 0 is always counted: `begin`
        // and `end` are >= its time 0).
        if stop > 1 && times[(stop - 1) & (SLOTS - 1)] > begin {
            let (first, _) = F::window(padded, begin, end);
            let mut prev = first.wrapping_sub(1) & (SLOTS - 1);
            for k in first..stop.min(SLOTS) {
                let post_time = times[k].wrapping_add(post_delay);
                if let Some(x) = self.terms.term(rule, post_time, traces[k], last_pre_time, last_pre_trace, times[prev], traces[prev]) {
                    weight.potentiate(ty, &mut st, x);
                }
                prev = k;
            }
        }
        if let Some(x) = dep {
            weight.depress(ty, &mut st, x);
        }
        *w = S::store(st);
        let idx = (((time.wrapping_add(delay) & self.delay_mask) << self.tib) | (c & self.low_mask)) as usize;
        add_saturating(&mut buffer[idx], w.ring_value(), sat)
    }
}

#[inline(always)]
fn row_with<T: Depression, W: WeightRule<Terms = T::Terms>, S: PlasticWeight, P: Terms<T>, F: Window>(
    walk: &Walk<'_, T, W>,
    terms: &P,
    buffer: &mut [u16],
    pre: &mut T::PreHistory,
    weights: &mut [S],
    controls: &[u16],
) -> u32 {
    let ctx = RowCtx::begin(walk, terms, pre);
    let weight = walk.weight;
    let mut saturated = 0u32;
    let mut sat = 0u32;
    for (&c, w) in controls.iter().zip(weights.iter_mut()) {
        if ctx.synapse::<W, S, F>(weight, c, w, buffer, &mut sat) {
            saturated += 1;
        }
    }
    saturated
}

/// How a plastic weight is held in the AVX-512 lanes: 16-bit (`u16`,
/// sPyNNaker's) or 32-bit ([`WideWeight`]) words in the row.
pub trait LaneWeight: PlasticWeight {
    /// The 32-bit form.
    const WIDE: bool;
}

impl LaneWeight for u16 {
    const WIDE: bool = false;
}

impl LaneWeight for WideWeight {
    const WIDE: bool = true;
}

/// What the AVX-512 lanes ([`row_lanes`]) need to walk the rows of a pair or
/// nearest-pair rule with a one-term weight dependence: the LUTs and, per
/// synapse type, the weight region and ring-buffer shift, laid out for
/// vector lookups.
///
/// The lanes take 16 synapses of a row at a time and update, with the
/// kernel's arithmetic in 32-bit lanes, every synapse whose post history has
/// no event in the row's window (the common case) or, for the pair rule,
/// only its newest: that event is then also the newest at or before the
/// window's end, and [`Mirror`] keeps it per neuron (with the time of the
/// one before, to tell), so the potentiation and the depression are a LUT
/// gather and a product each, and the weight update
/// (`WeightState::potentiate` / `depress`, the store's truncation,
/// `WideWeight::to_ring`) needs no branch. The other synapses (several
/// window events, a newest event inside the dendritic delay; the
/// nearest-pair rule's window events) are walked by [`RowCtx::synapse`] in
/// their place. The ring-buffer adds are made in row order, so saturations
/// and their count are the kernel's — or, when the 16 entries are
/// consecutive (all-to-all and dense rows), as one vector for the lanes
/// followed by the others: no entry is then added to twice.
#[derive(Clone, Debug)]
pub struct Lanes {
    /// The depression LUT (`tau_minus`), widened to `i32` for gathers.
    lut: Vec<i32>,
    /// Its time-to-index shift (`& 31`, as `ExpLut::decay`).
    shift: u32,
    /// Synapse types with a region (at most 16).
    n_types: u32,
    /// Per synapse type, s16.15 bits: A− and the lower bound.
    a_minus: [i32; 16],
    min_weight: [i32; 16],
    /// Per synapse type: the ring-buffer left shift of 16-bit weights (`& 31`).
    left_shifts: [u32; 16],
    /// The multiplicative dependence (else additive).
    mult: bool,
    /// The pair rule's potentiation LUT (`tau_plus`), widened, and its
    /// shift: a synapse whose window holds exactly one post event (the
    /// newest) is potentiated in the lanes too. Empty for the nearest-pair
    /// rule (its potentiation reads the previous post event).
    plus: Vec<i32>,
    plus_shift: u32,
    /// Per synapse type, s16.15 bits: A+ and the upper bound.
    a_plus: [i32; 16],
    max_weight: [i32; 16],
}

/// Shortest row walked in lanes: shorter rows are walked one synapse at a
/// time (Song's rows hold one synapse).
pub const LANES_MIN_ROW: usize = 8;

impl Lanes {
    /// The lanes of a rule whose depression LUT is `minus` (and, for the
    /// pair rule, whose potentiation LUT is `plus`), or `None` if the CPU
    /// lacks AVX-512F or the rule has more than 16 synapse types.
    pub fn new(minus: &ExpLut<'_>, plus: Option<&ExpLut<'_>>, dependence: WeightDependence, regions: &[WeightRegion], left_shifts: &[u32]) -> Option<Lanes> {
        if !has_avx512() || regions.len() > 16 || left_shifts.len() < regions.len() {
            return None;
        }
        let mut l = Lanes {
            lut: minus.values.iter().map(|&v| v as i32).collect(),
            shift: minus.shift as u32 & 31,
            n_types: regions.len() as u32,
            a_minus: [0; 16],
            min_weight: [0; 16],
            left_shifts: [0; 16],
            mult: dependence == WeightDependence::Multiplicative,
            plus: plus.map_or_else(Vec::new, |p| p.values.iter().map(|&v| v as i32).collect()),
            plus_shift: plus.map_or(0, |p| p.shift as u32 & 31),
            a_plus: [0; 16],
            max_weight: [0; 16],
        };
        for (t, r) in regions.iter().enumerate() {
            l.a_minus[t] = r.a2_minus.0;
            l.min_weight[t] = r.min_weight.0;
            l.a_plus[t] = r.a2_plus.0;
            l.max_weight[t] = r.max_weight.0;
            l.left_shifts[t] = left_shifts[t] & 31;
        }
        Some(l)
    }
}

/// [`row_with`] 16 synapses at a time where [`Lanes`] can, one at a time
/// elsewhere, the same bits (see [`Lanes`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,popcnt")]
unsafe fn row_lanes<T: Depression, W: WeightRule<Terms = T::Terms>, S: LaneWeight, P: Terms<T>>(
    walk: &Walk<'_, T, W>,
    terms: &P,
    buffer: &mut [u16],
    pre: &mut T::PreHistory,
    weights: &mut [S],
    controls: &[u16],
    lanes: &Lanes,
) -> u32 {
    use core::arch::x86_64::*;
    use crate::lif_soa::mul_arm_lanes as mul_arm;
    const {
        assert!(core::mem::size_of::<S>() == if S::WIDE { 4 } else { 2 });
    }
    let (weight, mirror, backprop_delay, time) = (walk.weight, walk.mirror, walk.backprop_delay, walk.time);
    let ctx = RowCtx::begin(walk, terms, pre);
    let (mut saturated, mut sat) = (0u32, 0u32);
    let u = |x: u32| _mm512_set1_epi32(x as i32);
    let (neuron_mask, type_mask, delay_mask, low_mask) = (u(ctx.neuron_mask), u(ctx.type_mask), u(ctx.delay_mask), u(ctx.low_mask));
    let (lnn, tib) = (u(ctx.lnn), u(ctx.tib));
    let (time_v, last_pre_v) = (u(time), u(ctx.last_pre_time));
    let mirrored = mirror.newest_time.len().min(mirror.newest_bits.len()).min(mirror.second_time.len());
    let (n_neurons, n_types) = (u(mirrored as u32), u(lanes.n_types));
    let (lut_len, lut_shift) = (u(lanes.lut.len().min(i32::MAX as usize) as u32), u(lanes.shift));
    let (plus_len, plus_shift) = (u(lanes.plus.len().min(i32::MAX as usize) as u32), u(lanes.plus_shift));
    let pre_bits = _mm512_set1_epi32(T::pre_bits(ctx.last_pre_trace));
    let pair = !lanes.plus.is_empty();
    let no_event = _mm512_set1_epi32(NO_EVENT);
    let zero = _mm512_setzero_si512();
    let iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    // SAFETY: 16 `i32`/`u32` each.
    let (a_minus, min_weight, left_shifts, a_plus, max_weight) = unsafe {
        (
            _mm512_loadu_si512(lanes.a_minus.as_ptr().cast()),
            _mm512_loadu_si512(lanes.min_weight.as_ptr().cast()),
            _mm512_loadu_si512(lanes.left_shifts.as_ptr().cast()),
            _mm512_loadu_si512(lanes.a_plus.as_ptr().cast()),
            _mm512_loadu_si512(lanes.max_weight.as_ptr().cast()),
        )
    };
    let n = controls.len().min(weights.len());
    let mut i = 0;
    while i < n {
        let m = (n - i).min(16);
        let live = ((1u32 << m) - 1) as u16;
        let mut cbuf = [0u16; 16];
        let mut wbuf = [S::zeroed(); 16];
        if m == 16 {
            cbuf = controls[i..i + 16].try_into().expect("16");
            wbuf = weights[i..i + 16].try_into().expect("16");
        } else {
            // element by element: `copy_from_slice` of a length unknown
            // here is a call to `memmove` (7 % of a run when it was used)
            #[allow(clippy::manual_memcpy)]
            for k in 0..m {
                cbuf[k] = controls[i + k];
                wbuf[k] = weights[i + k];
            }
        }
        // SAFETY: `cbuf` is 32 bytes.
        let c = _mm512_cvtepu16_epi32(unsafe { _mm256_loadu_si256(cbuf.as_ptr().cast()) });
        let neuron = _mm512_and_si512(c, neuron_mask);
        let ty = _mm512_and_si512(_mm512_srlv_epi32(c, lnn), type_mask);
        let delay = _mm512_and_si512(_mm512_srlv_epi32(c, tib), delay_mask);
        let post_delay = if backprop_delay { delay } else { zero };
        // `saturating_sub(x, d)` = max(x, d) − d
        let end = _mm512_sub_epi32(_mm512_max_epu32(time_v, post_delay), post_delay);
        let begin = _mm512_sub_epi32(_mm512_max_epu32(last_pre_v, post_delay), post_delay);
        // lanes the mirror and the regions cover (others: one at a time,
        // where the indexing reports them)
        let ok = live & _mm512_cmplt_epu32_mask(neuron, n_neurons) & _mm512_cmplt_epu32_mask(ty, n_types);
        // SAFETY: gathers only in `ok` lanes, whose neuron is below both
        // arrays' lengths; the plain loads (16 consecutive neurons, as in
        // all-to-all and dense rows) read `first..first + 16`, checked.
        let first = cbuf[0] as u32 & ctx.neuron_mask;
        let (newest, bits, second) = unsafe {
            if ok == 0xFFFF && _mm512_cmpeq_epi32_mask(neuron, _mm512_add_epi32(u(first), iota)) == 0xFFFF && first as usize + 16 <= mirrored {
                (
                    _mm512_loadu_si512(mirror.newest_time.as_ptr().add(first as usize).cast()),
                    _mm512_loadu_si512(mirror.newest_bits.as_ptr().add(first as usize).cast()),
                    _mm512_loadu_si512(mirror.second_time.as_ptr().add(first as usize).cast()),
                )
            } else {
                (
                    _mm512_mask_i32gather_epi32::<4>(zero, ok, neuron, mirror.newest_time.as_ptr().cast()),
                    _mm512_mask_i32gather_epi32::<4>(no_event, ok, neuron, mirror.newest_bits.as_ptr().cast()),
                    _mm512_mask_i32gather_epi32::<4>(zero, ok, neuron, mirror.second_time.as_ptr().cast()),
                )
            }
        };
        let has = _mm512_cmpneq_epi32_mask(bits, no_event);
        // the newest event at or before the window's end, and not in the
        // window (or no event) ...
        let in_end = ok & _mm512_cmple_epu32_mask(newest, end);
        let after_begin = _mm512_cmpgt_epu32_mask(newest, begin);
        let mut fast = in_end & (!has | !after_begin);
        // ... or (pair rule) the only event in the window
        let one = if pair { in_end & has & after_begin & _mm512_cmple_epu32_mask(second, begin) } else { 0 };
        fast |= one;
        let dep = fast & has;
        // `fixed_mul_16x16(trace, LUT−[(time − (t + d)) >> shift])`, 0 past the LUT
        let index = _mm512_srlv_epi32(_mm512_sub_epi32(time_v, _mm512_add_epi32(newest, post_delay)), lut_shift);
        let in_lut = dep & _mm512_cmplt_epu32_mask(index, lut_len);
        // SAFETY: gathers only where `index < lut.len()`.
        let decay = unsafe { _mm512_mask_i32gather_epi32::<4>(zero, in_lut, index, lanes.lut.as_ptr().cast()) };
        let x = _mm512_srai_epi32::<11>(_mm512_mullo_epi32(bits, decay));
        // the weight: raw words, the s16.15 state, the depression
        // SAFETY: `wbuf` is 16 weights of `size_of::<S>()` bytes.
        let raw = unsafe {
            if S::WIDE {
                _mm512_loadu_si512(wbuf.as_ptr().cast())
            } else {
                _mm512_cvtepu16_epi32(_mm256_loadu_si256(wbuf.as_ptr().cast()))
            }
        };
        let shift = _mm512_permutexvar_epi32(ty, left_shifts);
        let state = if S::WIDE { raw } else { _mm512_sllv_epi32(raw, shift) };
        // the window's one event (`PairRule::potentiation`: dt = t + d −
        // t_last_pre >= 1 for a window event), before the depression
        let state = if one != 0 {
            let dt = _mm512_sub_epi32(_mm512_add_epi32(newest, post_delay), last_pre_v);
            let index = _mm512_srlv_epi32(dt, plus_shift);
            let in_plus = one & _mm512_cmplt_epu32_mask(index, plus_len);
            // SAFETY: gathers only where `index < plus.len()`.
            let decay = unsafe { _mm512_mask_i32gather_epi32::<4>(zero, in_plus, index, lanes.plus.as_ptr().cast()) };
            let xs = _mm512_slli_epi32::<4>(_mm512_srai_epi32::<11>(_mm512_mullo_epi32(pre_bits, decay)));
            let a = _mm512_permutexvar_epi32(ty, a_plus);
            let hi = _mm512_permutexvar_epi32(ty, max_weight);
            let potentiated = if lanes.mult {
                let scale = mul_arm(_mm512_sub_epi32(hi, state), a);
                _mm512_add_epi32(state, mul_arm(scale, xs))
            } else {
                _mm512_min_epi32(_mm512_add_epi32(state, mul_arm(a, xs)), hi)
            };
            _mm512_mask_mov_epi32(state, one, potentiated)
        } else {
            state
        };
        let a = _mm512_permutexvar_epi32(ty, a_minus);
        let lo = _mm512_permutexvar_epi32(ty, min_weight);
        let xs = _mm512_slli_epi32::<4>(x);
        let depressed = if lanes.mult {
            let scale = mul_arm(_mm512_sub_epi32(state, lo), a);
            _mm512_sub_epi32(state, mul_arm(scale, xs))
        } else {
            _mm512_max_epi32(_mm512_sub_epi32(state, mul_arm(a, xs)), lo)
        };
        let state = _mm512_mask_mov_epi32(state, dep, depressed);
        // `WeightState::store` (arithmetic shift, then 16-bit truncation)
        let stored = _mm512_mask_mov_epi32(raw, fast, if S::WIDE { state } else { _mm512_srav_epi32(state, shift) });
        // SAFETY: as the load.
        unsafe {
            if S::WIDE {
                _mm512_storeu_si512(wbuf.as_mut_ptr().cast(), stored);
            } else {
                _mm256_storeu_si256(wbuf.as_mut_ptr().cast(), _mm512_cvtepi32_epi16(stored));
            }
        }
        let ring = if S::WIDE {
            // `WideWeight::to_ring`: (w + 2^14) >> 15, clamped to 0..=0xFFFF
            let r = _mm512_add_epi32(_mm512_srai_epi32::<15>(stored), _mm512_and_si512(_mm512_srai_epi32::<14>(stored), u(1)));
            _mm512_min_epi32(_mm512_max_epi32(r, zero), u(0xFFFF))
        } else {
            _mm512_and_si512(stored, u(0xFFFF))
        };
        let index = _mm512_or_si512(
            _mm512_sllv_epi32(_mm512_and_si512(_mm512_add_epi32(time_v, delay), delay_mask), tib),
            _mm512_and_si512(c, low_mask),
        );
        let at = _mm512_cvtsi512_si32(index) as u32 as usize;
        if _mm512_cmpeq_epi32_mask(index, _mm512_add_epi32(u(at as u32), iota)) & live == live && at + 16 <= buffer.len() {
            // 16 consecutive ring-buffer entries (consecutive neurons, one
            // delay and type: all-to-all and dense rows): no entry is added
            // to twice, so the fast lanes' adds go first, as one vector,
            // and the others' in order after them; `add_saturating` per lane
            let p = buffer[at..at + 16].as_mut_ptr();
            // SAFETY: `p` points to 16 `u16` (checked above).
            let entries = _mm512_cvtepu16_epi32(unsafe { _mm256_loadu_si256(p.cast()) });
            let sum = _mm512_add_epi32(entries, ring);
            let over = fast & _mm512_cmpgt_epu32_mask(sum, u(0xFFFF));
            let added = _mm512_mask_mov_epi32(entries, fast, _mm512_min_epu32(sum, u(0xFFFF)));
            // SAFETY: as the load.
            unsafe { _mm256_storeu_si256(p.cast(), _mm512_cvtepi32_epi16(added)) };
            saturated += over.count_ones();
            sat = sat.wrapping_add(over.count_ones());
            let mut slow = live & !fast;
            while slow != 0 {
                let k = slow.trailing_zeros() as usize;
                saturated += ctx.synapse::<W, S, Avx512>(weight, cbuf[k], &mut wbuf[k], buffer, &mut sat) as u32;
                slow &= slow - 1;
            }
        } else {
            let (mut ibuf, mut rbuf) = ([0u32; 16], [0u32; 16]);
            // SAFETY: 16 `u32` each.
            unsafe {
                _mm512_storeu_si512(ibuf.as_mut_ptr().cast(), index);
                _mm512_storeu_si512(rbuf.as_mut_ptr().cast(), ring);
            }
            for k in 0..m {
                let s = if fast & (1 << k) != 0 {
                    add_saturating(&mut buffer[ibuf[k] as usize], rbuf[k] as u16, &mut sat)
                } else {
                    ctx.synapse::<W, S, Avx512>(weight, cbuf[k], &mut wbuf[k], buffer, &mut sat)
                };
                saturated += s as u32;
            }
        }
        if m == 16 {
            weights[i..i + 16].copy_from_slice(&wbuf);
        } else {
            #[allow(clippy::manual_memcpy)]
            for k in 0..m {
                weights[i + k] = wbuf[k];
            }
        }
        i += m;
    }
    saturated
}

/// [`row`] on a row's plastic region, with the potentiation terms of
/// `terms` (prepared for the row here). `None` if the region is too short
/// for the weights, or the row may not be walked here (see [`applies`]).
#[inline]
pub fn region_row<T: Depression, W: WeightRule<Terms = T::Terms>, S: LaneWeight, P: Terms<T>>(
    walk: &Walk<'_, T, W>,
    terms: &mut P,
    buffer: &mut [u16],
    region: &mut [u32],
    controls: &[u16],
    lanes: Option<&Lanes>,
) -> Option<u32> {
    let (rule, time) = (walk.rule, walk.time);
    let (pre, weights) = split_plastic_region_as::<T::PreHistory, S>(region, controls.len())?;
    let (last_pre_time, last_pre_trace) = pre.last();
    if !applies(last_pre_time, time) {
        return None;
    }
    terms.prepare(rule, last_pre_time, last_pre_trace, span(last_pre_time, time), controls.len());
    Some(row(walk, &*terms, buffer, pre, weights, controls, lanes))
}

#[cfg(test)]
mod tests {
    //! The fast walker against the kernel's `process_row_controls` on random
    //! rows and post histories: every rule, both weight widths, both window
    //! searches (the AVX-512 one where the CPU has it), `backprop_delay` on
    //! and off, rows whose previous pre spike is at 0 or closer than the
    //! delays, histories that overflow.
    use super::*;
    use spikeforge_kernel::fixed::S1615;
    use spikeforge_kernel::spinnaker::host;
    use spikeforge_kernel::spinnaker::stdp::nearest::NearestPairRule;
    use spikeforge_kernel::spinnaker::stdp::triplet::{TripletPreTrace, TripletRule};
    use spikeforge_kernel::spinnaker::stdp::PostEventHistory;
    use spikeforge_kernel::spinnaker::stdp::{
        process_post_event, process_row_controls, AdditiveTwoTermWeights, ExpLut, OneTermWeights, PlasticSynapse, RowConfig,
        WeightRegionTwoTerm, WideWeight,
    };

    use crate::test_rng::Rng;

    const LAYOUT: RingBufferLayout = RingBufferLayout { log_n_neurons: 5, log_n_synapse_types: 1, log_max_delay: 3 };
    const N: usize = 32;

    fn lut(tau: f64, shift: u32) -> Vec<i16> {
        let mut v = vec![0i16; host::exp_lut_len(1.0, tau, shift).unwrap()];
        host::exp_lut(1.0, tau, shift, &mut v).unwrap();
        v
    }

    /// Post histories of `N` neurons with spikes up to `time` (rates from
    /// rare to every other step).
    fn histories<T: TimingRule>(rule: &T, rng: &mut Rng, time: u32) -> Vec<T::PostHistory> {
        (0..N)
            .map(|i| {
                let mut h = T::PostHistory::initial();
                let p = [0, 20, 100, 300, 500, 700, 900, 50][i % 8];
                for t in 1..=time {
                    if rng.below(1000) < p {
                        process_post_event(rule, &mut h, t);
                    }
                }
                h
            })
            .collect()
    }

    /// One random row, walked by the kernel and by the fast walker (each
    /// window search), compared.
    #[allow(clippy::too_many_arguments)]
    fn compare<T, WK, WF, S, P>(
        rule: &T,
        kernel: &WK,
        fast: &WF,
        terms: &mut P,
        lanes: Option<&Lanes>,
        rng: &mut Rng,
        trace: T::PreTrace,
        weight: impl Fn(&mut Rng) -> S,
    ) where
        T: Depression,
        T::PostTrace: TraceBits,
        WK: WeightRule<Terms = T::Terms>,
        WF: WeightRule<Terms = T::Terms>,
        S: LaneWeight + PartialEq + core::fmt::Debug,
        P: Terms<T>,
        T::PreHistory: PartialEq + core::fmt::Debug,
    {
        let time = 1 + rng.below(300);
        let post = histories(rule, rng, time);
        let mirror = Mirror::build(&post).expect("ordered");
        let last_pre = match rng.below(4) {
            0 => 0,
            1 => time.saturating_sub(rng.below(4)),
            _ => rng.below(time + 1),
        };
        let n = 1 + rng.below(40) as usize;
        let controls: Vec<u16> = if rng.below(2) == 0 {
            // random synapses (neurons repeat)
            (0..n)
                .map(|_| PlasticSynapse { delay: 1 + rng.below(7), synapse_type: rng.below(2), neuron: rng.below(N as u32) }.to_control(&LAYOUT))
                .collect()
        } else {
            // a dense row: consecutive neurons, one delay and type
            let n = n.min(N);
            let (first, delay, synapse_type) = (rng.below((N - n) as u32 + 1), 1 + rng.below(7), rng.below(2));
            (0..n as u32).map(|k| PlasticSynapse { delay, synapse_type, neuron: first + k }.to_control(&LAYOUT)).collect()
        };
        let n = controls.len();
        let weights: Vec<S> = (0..n).map(|_| weight(rng)).collect();
        let mut pre = <T::PreHistory as bytemuck::Zeroable>::zeroed();
        pre.set(last_pre, trace);
        let ring: Vec<u16> = (0..LAYOUT.len()).map(|_| if rng.below(8) == 0 { 0xFFF0 } else { rng.below(0x8000) as u16 }).collect();
        for backprop_delay in [true, false] {
            let (mut pre_k, mut w_k, mut ring_k) = (pre, weights.clone(), ring.clone());
            let cfg = RowConfig { layout: &LAYOUT, backprop_delay };
            let sat_k = process_row_controls(rule, kernel, &cfg, &mut ring_k, &post, &mut pre_k, &controls, &mut w_k, time).saturated;
            #[allow(clippy::type_complexity)]
            let mut variants: Vec<(&str, u32, T::PreHistory, Vec<S>, Vec<u16>)> = Vec::new();
            assert!(applies(last_pre, time));
            let (mut pre_f, mut w_f, mut ring_f): (T::PreHistory, Vec<S>, Vec<u16>) = (pre, weights.clone(), ring.clone());
            terms.prepare(rule, last_pre, trace, span(last_pre, time), controls.len());
            let walk = Walk { rule, weight: fast, layout: &LAYOUT, backprop_delay, mirror: &mirror, time };
            let sat = row_with::<T, WF, S, P, Portable>(&walk, terms, &mut ring_f, &mut pre_f, &mut w_f, &controls);
            variants.push(("portable", sat, pre_f, w_f, ring_f));
            #[cfg(target_arch = "x86_64")]
            if has_avx512() {
                let (mut pre_f, mut w_f, mut ring_f): (T::PreHistory, Vec<S>, Vec<u16>) = (pre, weights.clone(), ring.clone());
                terms.prepare(rule, last_pre, trace, span(last_pre, time), controls.len());
                // SAFETY: AVX-512F and POPCNT are available.
                let sat = unsafe { row_avx512(&walk, terms, &mut ring_f, &mut pre_f, &mut w_f, &controls) };
                variants.push(("avx512", sat, pre_f, w_f, ring_f));
                if let Some(lanes) = lanes {
                    let (mut pre_f, mut w_f, mut ring_f): (T::PreHistory, Vec<S>, Vec<u16>) = (pre, weights.clone(), ring.clone());
                    terms.prepare(rule, last_pre, trace, span(last_pre, time), controls.len());
                    // SAFETY: `Lanes` exist only where AVX-512F and POPCNT do.
                    let sat = unsafe { row_lanes(&walk, terms, &mut ring_f, &mut pre_f, &mut w_f, &controls, lanes) };
                    variants.push(("lanes", sat, pre_f, w_f, ring_f));
                }
            }
            for (name, sat, pre_f, w_f, ring_f) in variants {
                let what = format!("{name}, backprop {backprop_delay}, time {time}, last pre {last_pre}");
                assert_eq!(pre_f, pre_k, "{what}: pre history");
                assert_eq!(w_f, w_k, "{what}: weights");
                assert_eq!(ring_f, ring_k, "{what}: ring buffer");
                assert_eq!(sat, sat_k, "{what}: saturations");
            }
        }
    }

    fn regions(mult: bool) -> [WeightRegion; 2] {
        let r = |max: i32, a: i32| WeightRegion {
            min_weight: S1615(if mult { 0 } else { 3 << 10 }),
            max_weight: S1615(max),
            a2_plus: S1615(a),
            a2_minus: S1615(a + a / 5),
        };
        if mult {
            [r(60_000 << 4, 3277), r(50_000 << 4, 9000)]
        } else {
            [r(60_000 << 4, 700 << 4), r(50_000 << 4, 90 << 4)]
        }
    }

    fn u16_weight(rng: &mut Rng) -> u16 {
        rng.below(62_000) as u16
    }

    fn wide_weight(rng: &mut Rng) -> WideWeight {
        WideWeight(rng.below(62_000 << 4) as i32 + 100)
    }

    #[test]
    fn pair_and_nearest_rows_match_the_kernel() {
        let (plus, minus) = (lut(16.8, 0), lut(33.7, 0));
        let (plus2, minus2) = (lut(30.0, 2), lut(20.0, 1));
        let shifts = [4u32, 3];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut table = PairTable::default();
        for case in 0..400 {
            let (p, m) = if case % 2 == 0 { (&plus, &minus) } else { (&plus2, &minus2) };
            let pair = PairRule { tau_plus: ExpLut { shift: if case % 2 == 0 { 0 } else { 2 }, values: p }, tau_minus: ExpLut { shift: if case % 2 == 0 { 0 } else { 1 }, values: m } };
            let nearest = NearestPairRule { tau_plus: pair.tau_plus, tau_minus: pair.tau_minus };
            let trace = S411(if case % 7 == 0 { -(rng.below(3000) as i16) } else { rng.below(30_000) as i16 });
            for mult in [false, true] {
                let regs = regions(mult);
                let dep = if mult { WeightDependence::Multiplicative } else { WeightDependence::Additive };
                let k = OneTermWeights { dependence: dep, regions: &regs, left_shifts: &shifts };
                let pair_lanes = Lanes::new(&pair.tau_minus, Some(&pair.tau_plus), dep, &regs, &shifts);
                let nearest_lanes = Lanes::new(&pair.tau_minus, None, dep, &regs, &shifts);
                let (lanes, nl) = (pair_lanes.as_ref(), nearest_lanes.as_ref());
                macro_rules! both {
                    ($f:expr) => {
                        if mult {
                            let f = OneTerm::<true> { regions: &regs, left_shifts: &shifts };
                            $f(&f)
                        } else {
                            let f = OneTerm::<false> { regions: &regs, left_shifts: &shifts };
                            $f(&f)
                        }
                    };
                }
                both!(|f| compare(&pair, &k, f, &mut table, lanes, &mut rng, trace, u16_weight));
                both!(|f| compare(&pair, &k, f, &mut table, lanes, &mut rng, trace, wide_weight));
                both!(|f| compare(&pair, &k, f, &mut Direct, lanes, &mut rng, trace, u16_weight));
                both!(|f| compare(&nearest, &k, f, &mut Direct, nl, &mut rng, (), u16_weight));
                both!(|f| compare(&nearest, &k, f, &mut Direct, nl, &mut rng, (), wide_weight));
            }
        }
    }

    #[test]
    fn triplet_rows_match_the_kernel() {
        let luts = [lut(16.8, 0), lut(33.7, 0), lut(101.0, 2), lut(125.0, 2)];
        let rule = TripletRule {
            tau_plus: ExpLut { shift: 0, values: &luts[0] },
            tau_minus: ExpLut { shift: 0, values: &luts[1] },
            tau_x: ExpLut { shift: 2, values: &luts[2] },
            tau_y: ExpLut { shift: 2, values: &luts[3] },
        };
        let region = |max: i32| WeightRegionTwoTerm {
            min_weight: S1615(0),
            max_weight: S1615(max),
            a2_plus: S1615(300 << 4),
            a2_minus: S1615(500 << 4),
            a3_plus: S1615(450 << 4),
            a3_minus: S1615(20 << 4),
        };
        let regs = [region(60_000 << 4), region(30_000 << 4)];
        let shifts = [4u32, 4];
        let w = AdditiveTwoTermWeights { regions: &regs, left_shifts: &shifts };
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..400 {
            let trace = TripletPreTrace { r1: rng.below(20_000) as i16, r2: rng.below(20_000) as i16 };
            compare(&rule, &w, &w, &mut Direct, None, &mut rng, trace, u16_weight);
            compare(&rule, &w, &w, &mut Direct, None, &mut rng, trace, wide_weight);
        }
    }

    #[test]
    fn disordered_history_is_refused() {
        let mut h = PostEventHistory::new();
        h.add(5, S411(2048));
        h.add(9, S411(3000));
        assert!(Mirror::<S411, i32>::build(core::slice::from_ref(&h)).is_some());
        h.add(7, S411(3000));
        assert!(Mirror::<S411, i32>::build(core::slice::from_ref(&h)).is_none());
        let mut m = Mirror::<S411, i32>::build(&[PostEventHistory::new()]).unwrap();
        assert!(!m.refresh(0, &h));
    }
}
