//! `IF_curr_exp` as sPyNNaker runs it: LIF (`neuron_model_lif_impl.h`),
//! current input (`input_type_current.h`: identity), static threshold
//! (`threshold_type_static.h`), exponential synapses ([`super::synapse`]), no
//! additional input, no current source; the per-step order of
//! `neuron_impl_standard.h` and the transfer of `neuron.c`. Sources read at
//! sPyNNaker fork `emijan-kth/sPyNNaker` @558fca1 (merge of upstream master,
//! 2023-10-17).
//!
//! ## Host data (all written with `DataType.S1615` = `rint(x·32768)`)
//!
//! * neuron ([`LifParams`], 9 words): `V_init, V_rest, c_m, tau_m, I_offset,
//!   V_reset, T_refract_ms, refract_timer_init (i32), time_step`;
//! * threshold ([`ThresholdParams`], 1 word): `V_thresh`;
//! * synapse ([`super::synapse::ExpSynapseParams`], 5 words);
//! * per core: `n_steps_per_timestep` (u32, first word of the neuron region).
//!
//! ## On-core initialisation ([`LifState::initialise`], integer only)
//!
//! `ts = kdivui(time_step, n_steps)`, `R = kdivk(tau_m, c_m)`,
//! `exp_TC = expk(-kdivk(ts, tau_m))`,
//! `T_refract = lif_ceil_accum(kdivk(T_refract_ms, ts))`.
//!
//! ## One timestep ([`step_core`])
//!
//! 1. ring-buffer slot `t & delay_mask` → `add_input_exp` per neuron/type;
//! 2. for each neuron, `n_steps` sub-steps of:
//!    `exc, inh` = synaptic values; if `refract_timer <= 0`:
//!    `I = exc - inh + 0 + I_offset + 0`,
//!    `alpha = I * R + V_rest`, `V = alpha - exp_TC * (alpha - V)`,
//!    else `refract_timer -= 1`; spike if `V >= V_thresh` (compare of the
//!    raw bits) → `V = V_reset`, `refract_timer = T_refract`; then decay both
//!    synaptic values.
//!
//! All `accum` products use [`S1615::mul_arm`] (ARM-state GCC: floor, wrap),
//! adds/subtracts wrap. Golden traces produced by the upstream formulas
//! compiled for ARM are checked in `tests/spinnaker_lif.rs`.
//!
//! Note: another version of `lif_neuron_closed_form` exists upstream (file
//! version at sPyNNaker commit 001e4d93, from a rounding-experiment branch; it
//! is not in the history of master @558fca1). It uses
//! `MULT_ROUND_NEAREST_ACCUM` for both products and subtracts
//! `external_bias`; [`LifState::update_round_nearest`] implements that
//! variant for completeness, [`step_core`] uses the master behaviour.

use super::ring_buffer::{transfer_slot, RingBufferLayout};
use super::synapse::{ExpSynapseParams, ExpSynapseState};
use super::exp::expk;
use crate::fixed::S1615;
use bytemuck::{Pod, Zeroable};

/// Host parameters of one LIF neuron (`neuron_params_t`, 9 words).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct LifParams {
    /// Initial membrane voltage (mV).
    pub v_init: S1615,
    /// Resting voltage (mV).
    pub v_rest: S1615,
    /// Capacitance (nF).
    pub c_m: S1615,
    /// Membrane time constant (ms).
    pub tau_m: S1615,
    /// Offset current (nA).
    pub i_offset: S1615,
    /// Reset voltage (mV).
    pub v_reset: S1615,
    /// Refractory period (ms).
    pub t_refract_ms: S1615,
    /// Initial refractory counter (steps).
    pub refract_timer_init: i32,
    /// Machine time step (ms).
    pub time_step: S1615,
}

/// Run-time state of one LIF neuron (`neuron_t`, 8 words).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct LifState {
    /// Membrane voltage.
    pub v_membrane: S1615,
    /// Resting voltage.
    pub v_rest: S1615,
    /// Membrane resistance `tau_m / c_m`.
    pub r_membrane: S1615,
    /// `expk(-ts / tau_m)`.
    pub exp_tc: S1615,
    /// Offset current.
    pub i_offset: S1615,
    /// Remaining refractory sub-steps.
    pub refract_timer: i32,
    /// Reset voltage.
    pub v_reset: S1615,
    /// Refractory period in sub-steps.
    pub t_refract: i32,
}

/// Static threshold (`threshold_type_params_t` / `threshold_type_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ThresholdParams {
    /// Firing threshold (mV).
    pub v_thresh: S1615,
}

impl LifState {
    /// `neuron_model_initialise`. `None` if `n_steps_per_timestep == 0` or a
    /// divisor (`c_m`, `tau_m`, `ts`) is zero.
    pub fn initialise(p: &LifParams, n_steps_per_timestep: u32) -> Option<Self> {
        let ts = p.time_step.kdivui(n_steps_per_timestep)?;
        Some(LifState {
            v_membrane: p.v_init,
            v_rest: p.v_rest,
            r_membrane: p.tau_m.kdivk(p.c_m)?,
            exp_tc: expk(ts.kdivk(p.tau_m)?.wrapping_neg()),
            i_offset: p.i_offset,
            refract_timer: p.refract_timer_init,
            v_reset: p.v_reset,
            t_refract: p.t_refract_ms.kdivk(ts)?.ceil_to_int(),
        })
    }

    /// `neuron_model_save_state`.
    pub fn save_state(&self, p: &mut LifParams) {
        p.v_init = self.v_membrane;
        p.refract_timer_init = self.refract_timer;
    }

    /// `neuron_model_state_update` (master): returns the new membrane voltage.
    /// `external_bias` and `current_offset` are 0 for `IF_curr_exp` without
    /// current sources.
    #[inline]
    pub fn update(&mut self, exc: S1615, inh: S1615, external_bias: S1615, current_offset: S1615) -> S1615 {
        if self.refract_timer <= 0 {
            let input = S1615::ZERO
                .wrapping_add(exc)
                .wrapping_sub(S1615::ZERO.wrapping_add(inh))
                .wrapping_add(external_bias)
                .wrapping_add(self.i_offset)
                .wrapping_add(current_offset);
            let alpha = input.mul_arm(self.r_membrane).wrapping_add(self.v_rest);
            self.v_membrane = alpha.wrapping_sub(self.exp_tc.mul_arm(alpha.wrapping_sub(self.v_membrane)));
        } else {
            self.refract_timer -= 1;
        }
        self.v_membrane
    }

    /// The `MULT_ROUND_NEAREST_ACCUM` variant of the update (rounding branch,
    /// sPyNNaker commit 001e4d93; not master): both products rounded half up and saturated, and
    /// `external_bias` subtracted.
    #[inline]
    pub fn update_round_nearest(&mut self, exc: S1615, inh: S1615, external_bias: S1615, current_offset: S1615) -> S1615 {
        if self.refract_timer <= 0 {
            let input = exc
                .wrapping_sub(inh)
                .wrapping_sub(external_bias)
                .wrapping_add(self.i_offset)
                .wrapping_add(current_offset);
            let alpha = input.mul_round_nearest(self.r_membrane).wrapping_add(self.v_rest);
            self.v_membrane =
                alpha.wrapping_sub(self.exp_tc.mul_round_nearest(alpha.wrapping_sub(self.v_membrane)));
        } else {
            self.refract_timer -= 1;
        }
        self.v_membrane
    }

    /// `neuron_model_has_spiked`.
    #[inline]
    pub fn has_spiked(&mut self) {
        self.v_membrane = self.v_reset;
        self.refract_timer = self.t_refract;
    }
}

/// `threshold_type_is_above_threshold`: `bits(v) >= bits(threshold)`.
#[inline]
pub const fn is_above_threshold(v: S1615, t: &ThresholdParams) -> bool {
    v.0 >= t.v_thresh.0
}

/// Initialise the state arrays of a core from the host parameter arrays.
/// Returns `false` (leaving the outputs partially written) if any neuron has
/// an invalid parameter (see [`LifState::initialise`]) or the slices differ
/// in length.
pub fn initialise_core(
    n_steps_per_timestep: u32,
    lif_params: &[LifParams],
    syn_params: &[ExpSynapseParams],
    lif_out: &mut [LifState],
    syn_out: &mut [ExpSynapseState],
) -> bool {
    let n = lif_params.len();
    if syn_params.len() != n || lif_out.len() != n || syn_out.len() != n {
        return false;
    }
    for i in 0..n {
        match (
            LifState::initialise(&lif_params[i], n_steps_per_timestep),
            ExpSynapseState::initialise(&syn_params[i], n_steps_per_timestep),
        ) {
            (Some(l), Some(s)) => {
                lif_out[i] = l;
                syn_out[i] = s;
            }
            _ => return false,
        }
    }
    true
}

/// Mutable per-core data for [`step_core`]; all slices have one entry per
/// neuron except `ring_buffer` (the whole buffer) and `spiked` (a bit field
/// of `ceil(n/32)` words, bit `i % 32` of word `i / 32`).
pub struct CoreIo<'a> {
    /// Neuron states.
    pub neurons: &'a mut [LifState],
    /// Synapse states.
    pub synapses: &'a mut [ExpSynapseState],
    /// Ring buffer of the core.
    pub ring_buffer: &'a mut [u16],
    /// Output: neurons that spiked in this timestep (cleared first).
    pub spiked: &'a mut [u32],
}

/// Read-only per-core configuration for [`step_core`].
pub struct CoreConfig<'a> {
    /// Sub-steps per timestep.
    pub n_steps_per_timestep: u32,
    /// Thresholds, one per neuron.
    pub thresholds: &'a [ThresholdParams],
    /// Ring buffer field widths.
    pub layout: RingBufferLayout,
    /// `ring_buffer_to_input_left_shifts`, one per synapse type.
    pub left_shifts: &'a [u32],
}

/// One timestep of an `IF_curr_exp` core at time `time`: transfer the ring
/// buffer slot, then update every neuron (see the module documentation).
/// Returns the number of spikes sent (a neuron can spike more than once with
/// sub-steps).
///
/// The number of neurons is `neurons.len()`; `synapses` and `thresholds`
/// must be at least as long (extra neurons are not updated otherwise).
///
/// # Panics
/// If `spiked` has fewer than `ceil(n/32)` words or the ring buffer is
/// shorter than `layout.len()`.
pub fn step_core(cfg: &CoreConfig<'_>, io: &mut CoreIo<'_>, time: u32) -> u32 {
    let n = io.neurons.len();
    let synapses = &mut *io.synapses;
    transfer_slot(io.ring_buffer, &cfg.layout, time, cfg.left_shifts, n as u32, |t, i, input| {
        synapses[i as usize].add_input(t, input);
    });
    for w in io.spiked.iter_mut() {
        *w = 0;
    }
    let mut sent = 0;
    let per_neuron = io.neurons.iter_mut().zip(synapses.iter_mut()).zip(cfg.thresholds.iter());
    for (i, ((neuron, syn), thr)) in per_neuron.enumerate() {
        for _ in 0..cfg.n_steps_per_timestep {
            let v = neuron.update(syn.exc.value, syn.inh.value, S1615::ZERO, S1615::ZERO);
            if is_above_threshold(v, thr) {
                neuron.has_spiked();
                io.spiked[i / 32] |= 1 << (i % 32);
                sent += 1;
            }
            syn.shape();
        }
    }
    sent
}
