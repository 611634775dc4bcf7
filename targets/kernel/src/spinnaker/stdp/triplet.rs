//! Pfister–Gerstner triplet timing (`timing_pfister_triplet_impl.h`,
//! `timing_pfister_triplet_impl.c`) with the additive two-term weight rule
//! ([`AdditiveTwoTermWeights`], `weight_additive_two_term_impl.h`; the only
//! build upstream is `pfister_triplet_additive`).
//!
//! Traces (s4.11, `int16`):
//! * pre: `r1` (tau_plus) *after* the spike, `r2` (tau_x) sampled *before*
//!   it: `r1 = (r1·LUT+[Δ] >> 11) + 2048`;
//!   `r2 = ((r2 + 2048)·LUTx[Δ]) >> 11`, or 0 when `last_time == 0`;
//! * post: `o1` (tau_minus) after the spike, `o2` (tau_y) before it, and
//!   `last_spike_time` (the "+1 not yet added to `o2`" marker):
//!   `o1 = (o1·LUT-[Δ] >> 11) + 2048`; if the previous trace's
//!   `last_spike_time == 0`: `o2 = (o2·LUTy[Δ]) >> 11`, else
//!   `o2 = ((o2 + 2048)·LUTy[t - last_spike_time]) >> 11`.
//!
//! Updates:
//! * pre spike at `t` (if any post spike occurred): `x1 = (o1_last ·
//!   LUT-[t - t_last_post]) >> 11`, `x2 = (x1 · r2_new) >> 11` →
//!   depression `(x1, x2)`;
//! * post event at `t_post` with `t_post - t_last_pre > 0`:
//!   `x1 = (r1_last · LUT+[t_post - t_last_pre]) >> 11`,
//!   `x2 = (x1 · o2_post) >> 11` → potentiation `(x1, x2)`.
//!
//! sPyNNaker writes the tau_x and tau_y LUTs with `shift = 2`
//! (`get_exp_lut_array(ts, tau_x, shift=2)`), so those decays are constant
//! over 4-step blocks; tau_plus and tau_minus use shift 0.
//!
//! Upstream quirks kept bit for bit: time 0 doubles as "no spike yet", so a
//! pre spike at step 0 is forgotten by `r2` of the next pre spike, and a post
//! spike at step 0 by `o2` of the next post spike.

use super::engine::{
    process_post_event, process_row, AdditiveTwoTermWeights, PostHistory, PreHistory, RowConfig, TimingRule,
};
use super::{fixed_mul_16x16, ExpLut, PlasticRowStats, PlasticSynapse, MAX_POST_SYNAPTIC_EVENTS};
use bytemuck::{Pod, Zeroable};

/// `STDP_FIXED_POINT_ONE`.
const ONE: i32 = 2048;

/// The triplet rule's four LUTs.
#[derive(Clone, Copy, Debug)]
pub struct TripletRule<'a> {
    /// LUT of `tau_plus` (r1).
    pub tau_plus: ExpLut<'a>,
    /// LUT of `tau_minus` (o1).
    pub tau_minus: ExpLut<'a>,
    /// LUT of `tau_x` (r2), shift 2 upstream.
    pub tau_x: ExpLut<'a>,
    /// LUT of `tau_y` (o2), shift 2 upstream.
    pub tau_y: ExpLut<'a>,
}

/// `pre_trace_t` of the triplet rule.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct TripletPreTrace {
    /// Fast pre trace after the spike (s4.11 bits).
    pub r1: i16,
    /// Slow pre trace before the spike (s4.11 bits).
    pub r2: i16,
}

/// `post_trace_t` of the triplet rule (8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct TripletPostTrace {
    /// Fast post trace after the spike (s4.11 bits).
    pub o1: i16,
    /// Slow post trace before the spike (s4.11 bits).
    pub o2: i16,
    /// Time of the spike whose +1 is not yet in `o2` (0: none).
    pub last_spike_time: u32,
}

impl TripletRule<'_> {
    /// `timing_add_pre_spike`.
    pub fn add_pre_spike(&self, time: u32, last_time: u32, last: TripletPreTrace) -> TripletPreTrace {
        let dt = time.wrapping_sub(last_time);
        let r1 = fixed_mul_16x16(last.r1 as i32, self.tau_plus.decay(dt)) + ONE;
        let r2 = if last_time == 0 { 0 } else { fixed_mul_16x16(last.r2 as i32 + ONE, self.tau_x.decay(dt)) };
        TripletPreTrace { r1: r1 as i16, r2: r2 as i16 }
    }

    /// `timing_decay_post`.
    pub fn decay_post(&self, time: u32, last_time: u32, last: TripletPostTrace) -> TripletPostTrace {
        let dt = time.wrapping_sub(last_time);
        let o1 = fixed_mul_16x16(last.o1 as i32, self.tau_minus.decay(dt));
        let (o2, next) = if last.last_spike_time == 0 {
            (fixed_mul_16x16(last.o2 as i32, self.tau_y.decay(dt)), last.last_spike_time)
        } else {
            let d = time.wrapping_sub(last.last_spike_time);
            (fixed_mul_16x16(last.o2 as i32 + ONE, self.tau_y.decay(d)), 0)
        };
        TripletPostTrace { o1: o1 as i16, o2: o2 as i16, last_spike_time: next }
    }

    /// `timing_add_post_spike`: decay, `o1 += 1`, mark the spike.
    pub fn add_post_spike(&self, time: u32, last_time: u32, last: TripletPostTrace) -> TripletPostTrace {
        let mut t = self.decay_post(time, last_time, last);
        t.o1 = (t.o1 as i32 + ONE) as i16;
        t.last_spike_time = time;
        t
    }

    /// Depression terms at a pre spike (`timing_apply_pre_spike`).
    pub fn depression(
        &self,
        time: u32,
        new_pre: TripletPreTrace,
        last_post_time: u32,
        last_post: TripletPostTrace,
    ) -> [i32; 2] {
        let o1 = fixed_mul_16x16(last_post.o1 as i32, self.tau_minus.decay(time.wrapping_sub(last_post_time)));
        [o1, fixed_mul_16x16(o1, new_pre.r2 as i32)]
    }

    /// Potentiation terms at a post event (`timing_apply_post_spike`);
    /// `None` if `time - last_pre_time == 0`.
    pub fn potentiation(
        &self,
        time: u32,
        post: TripletPostTrace,
        last_pre_time: u32,
        last_pre: TripletPreTrace,
    ) -> Option<[i32; 2]> {
        let dt = time.wrapping_sub(last_pre_time);
        if dt > 0 {
            let r1 = fixed_mul_16x16(last_pre.r1 as i32, self.tau_plus.decay(dt));
            Some([r1, fixed_mul_16x16(r1, post.o2 as i32)])
        } else {
            None
        }
    }
}

/// Row header of a triplet row (`{u32 prev_time; {int16 r1, r2}}`, 8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct TripletPreEventHistory {
    /// Time of the last pre spike.
    pub prev_time: u32,
    /// Traces after it.
    pub prev_trace: TripletPreTrace,
}

impl PreHistory for TripletPreEventHistory {
    type Trace = TripletPreTrace;
    #[inline]
    fn last(&self) -> (u32, TripletPreTrace) {
        (self.prev_time, self.prev_trace)
    }
    #[inline]
    fn set(&mut self, time: u32, trace: TripletPreTrace) {
        self.prev_time = time;
        self.prev_trace = trace;
    }
}

/// Post-event history of one neuron for the triplet rule (196 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct TripletPostEventHistory {
    /// Index of the newest entry.
    pub count_minus_one: u32,
    /// Spike times (entry 0: sentinel, time 0).
    pub times: [u32; MAX_POST_SYNAPTIC_EVENTS],
    /// Traces after each spike (entry 0: `{0, 0, 0}`).
    pub traces: [TripletPostTrace; MAX_POST_SYNAPTIC_EVENTS],
}

impl Default for TripletPostEventHistory {
    fn default() -> Self {
        Self::initial()
    }
}

impl PostHistory for TripletPostEventHistory {
    type Trace = TripletPostTrace;
    fn initial() -> Self {
        TripletPostEventHistory {
            count_minus_one: 0,
            times: [0; MAX_POST_SYNAPTIC_EVENTS],
            traces: [TripletPostTrace::default(); MAX_POST_SYNAPTIC_EVENTS],
        }
    }
    #[inline]
    fn newest(&self) -> usize {
        self.count_minus_one as usize
    }
    #[inline]
    fn times(&self) -> &[u32; MAX_POST_SYNAPTIC_EVENTS] {
        &self.times
    }
    #[inline]
    fn trace_at(&self, i: usize) -> TripletPostTrace {
        self.traces[i]
    }
    #[inline]
    fn push(&mut self, time: u32, trace: TripletPostTrace) {
        super::engine::push_event(&mut self.count_minus_one, &mut self.times, &mut self.traces, time, trace);
    }
}

impl TimingRule for TripletRule<'_> {
    type PreTrace = TripletPreTrace;
    type PostTrace = TripletPostTrace;
    type Terms = [i32; 2];
    type PreHistory = TripletPreEventHistory;
    type PostHistory = TripletPostEventHistory;
    #[inline]
    fn add_pre_spike(&self, time: u32, last_time: u32, last: TripletPreTrace) -> TripletPreTrace {
        TripletRule::add_pre_spike(self, time, last_time, last)
    }
    #[inline]
    fn add_post_spike(&self, time: u32, last_time: u32, last: TripletPostTrace) -> TripletPostTrace {
        TripletRule::add_post_spike(self, time, last_time, last)
    }
    #[inline]
    fn pre_spike_terms(
        &self,
        time: u32,
        trace: TripletPreTrace,
        _: u32,
        _: TripletPreTrace,
        last_post_time: u32,
        last_post: TripletPostTrace,
    ) -> [i32; 2] {
        self.depression(time, trace, last_post_time, last_post)
    }
    #[inline]
    fn post_spike_terms(
        &self,
        time: u32,
        trace: TripletPostTrace,
        last_pre_time: u32,
        last_pre: TripletPreTrace,
        _: u32,
        _: TripletPostTrace,
    ) -> Option<[i32; 2]> {
        self.potentiation(time, trace, last_pre_time, last_pre)
    }
}

/// `synapse_dynamics_process_post_synaptic_event` for the triplet rule.
pub fn process_post_spike(rule: &TripletRule<'_>, history: &mut TripletPostEventHistory, time: u32) {
    process_post_event(rule, history, time);
}

/// `synapse_dynamics_process_plastic_synapses` for the triplet rule and a pre
/// spike of this row at `time`; see [`process_row`].
#[allow(clippy::too_many_arguments)]
pub fn process_plastic_row(
    rule: &TripletRule<'_>,
    weights_rule: &AdditiveTwoTermWeights<'_>,
    cfg: &RowConfig<'_>,
    ring_buffer: &mut [u16],
    post_histories: &[TripletPostEventHistory],
    pre: &mut TripletPreEventHistory,
    synapses: &[PlasticSynapse],
    weights: &mut [u16],
    time: u32,
) -> PlasticRowStats {
    process_row(rule, weights_rule, cfg, ring_buffer, post_histories, pre, synapses, weights, time)
}
