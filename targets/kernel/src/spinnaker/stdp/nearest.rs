//! Nearest-pair timing (`timing_nearest_pair_impl.h`,
//! `timing_nearest_pair_impl.c`; PyNN `SpikeNearestPairRule`): no traces, the
//! LUT value is the update magnitude. One-term weight rules
//! ([`OneTermWeights`]): sPyNNaker builds `nearest_pair_additive` and
//! `nearest_pair_multiplicative`.
//!
//! * Pre spike at `t` (depression): `LUT-[t - t_last_post]`, where the last
//!   post is the newest post event at or before the window end (only if any
//!   post spike has ever occurred).
//! * Post event at `t_post` in the window `(t_last_pre, t]` (potentiation):
//!   `LUT+[t_post - t_last_pre]` if `t_post - t_last_pre > 0`, but **0** if
//!   `t_post - t_prev_post < t_post - t_last_pre`, i.e. if the post event
//!   before it (the window's `prev`, undelayed) is later than the last pre:
//!   only the first post after a pre potentiates. A suppressed event still
//!   calls the weight rule with 0 (the additive rule then clamps to `w_max`).
//!
//! Upstream quirks kept bit for bit:
//! * the row's pre history starts at `prev_time = 0`, so for the first pre
//!   spike every post event in `(0, t]` pairs with a phantom pre spike at
//!   time 0 (potentiation by `LUT+[t_post]`, which is 0 once `t_post` is past
//!   the LUT);
//! * with a dendritic delay `d`, `t_post` is delayed but the previous post's
//!   time is not.
//!
//! State: the pre history is just the time (4 bytes: `pre_trace_t` is an
//! empty struct, `pre_trace_n_bytes = 0`); the post history keeps only times
//! (68 bytes per neuron).

use super::engine::{process_post_event, process_row, OneTermWeights, PostHistory, PreHistory, RowConfig, TimingRule};
use super::{ExpLut, PlasticRowStats, PlasticSynapse, MAX_POST_SYNAPTIC_EVENTS};
use bytemuck::{Pod, Zeroable};

/// The nearest-pair rule: its two LUTs (`tau_plus_lookup`, `tau_minus_lookup`).
#[derive(Clone, Copy, Debug)]
pub struct NearestPairRule<'a> {
    /// LUT of `tau_plus`.
    pub tau_plus: ExpLut<'a>,
    /// LUT of `tau_minus`.
    pub tau_minus: ExpLut<'a>,
}

impl NearestPairRule<'_> {
    /// Depression magnitude at a pre spike: `LUT-[t - t_last_post]`.
    #[inline]
    pub fn depression(&self, time: u32, last_post_time: u32) -> i32 {
        self.tau_minus.decay(time.wrapping_sub(last_post_time))
    }

    /// Potentiation magnitude at a post event (`None`: `t - t_last_pre == 0`,
    /// state unchanged; `Some(0)`: suppressed as not the first post after the
    /// last pre).
    #[inline]
    pub fn potentiation(&self, time: u32, last_pre_time: u32, last_post_time: u32) -> Option<i32> {
        let since_pre = time.wrapping_sub(last_pre_time);
        let since_post = time.wrapping_sub(last_post_time);
        if since_pre > 0 {
            let r = self.tau_plus.decay(since_pre);
            Some(if since_post < since_pre { 0 } else { r })
        } else {
            None
        }
    }
}

/// Row header of a nearest-pair row (`pre_event_history_t` with an empty
/// `pre_trace_t`): 4 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct NearestPreEventHistory {
    /// Time of the last pre spike.
    pub prev_time: u32,
}

impl PreHistory for NearestPreEventHistory {
    type Trace = ();
    #[inline]
    fn last(&self) -> (u32, ()) {
        (self.prev_time, ())
    }
    #[inline]
    fn set(&mut self, time: u32, _: ()) {
        self.prev_time = time;
    }
}

/// Post-event history of one neuron for the nearest-pair rule (68 bytes:
/// `post_trace_t` is empty).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct NearestPostEventHistory {
    /// Index of the newest entry.
    pub count_minus_one: u32,
    /// Spike times (entry 0: sentinel, time 0).
    pub times: [u32; MAX_POST_SYNAPTIC_EVENTS],
}

impl Default for NearestPostEventHistory {
    fn default() -> Self {
        Self::initial()
    }
}

impl PostHistory for NearestPostEventHistory {
    type Trace = ();
    fn initial() -> Self {
        NearestPostEventHistory { count_minus_one: 0, times: [0; MAX_POST_SYNAPTIC_EVENTS] }
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
    fn trace_at(&self, _: usize) {}
    #[inline]
    fn push(&mut self, time: u32, _: ()) {
        let mut none = [(); MAX_POST_SYNAPTIC_EVENTS];
        super::engine::push_event(&mut self.count_minus_one, &mut self.times, &mut none, time, ());
    }
}

impl TimingRule for NearestPairRule<'_> {
    type PreTrace = ();
    type PostTrace = ();
    type Terms = i32;
    type PreHistory = NearestPreEventHistory;
    type PostHistory = NearestPostEventHistory;
    #[inline]
    fn add_pre_spike(&self, _: u32, _: u32, _: ()) {}
    #[inline]
    fn add_post_spike(&self, _: u32, _: u32, _: ()) {}
    #[inline]
    fn pre_spike_terms(&self, time: u32, _: (), _: u32, _: (), last_post_time: u32, _: ()) -> i32 {
        self.depression(time, last_post_time)
    }
    #[inline]
    fn post_spike_terms(&self, time: u32, _: (), last_pre_time: u32, _: (), last_post_time: u32, _: ()) -> Option<i32> {
        self.potentiation(time, last_pre_time, last_post_time)
    }
}

/// `synapse_dynamics_process_post_synaptic_event` for the nearest-pair rule.
pub fn process_post_spike(rule: &NearestPairRule<'_>, history: &mut NearestPostEventHistory, time: u32) {
    process_post_event(rule, history, time);
}

/// `synapse_dynamics_process_plastic_synapses` for the nearest-pair rule and
/// a pre spike of this row at `time`; see [`process_row`].
#[allow(clippy::too_many_arguments)]
pub fn process_plastic_row(
    rule: &NearestPairRule<'_>,
    weights_rule: &OneTermWeights<'_>,
    cfg: &RowConfig<'_>,
    ring_buffer: &mut [u16],
    post_histories: &[NearestPostEventHistory],
    pre: &mut NearestPreEventHistory,
    synapses: &[PlasticSynapse],
    weights: &mut [u16],
    time: u32,
) -> PlasticRowStats {
    process_row(rule, weights_rule, cfg, ring_buffer, post_histories, pre, synapses, weights, time)
}
