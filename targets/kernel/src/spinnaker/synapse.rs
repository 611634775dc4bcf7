//! Exponential synapse shaping (`synapse_types_exponential_impl.h` +
//! `exp_synapse_utils.h` + `decay.h`, sPyNNaker @558fca1).
//!
//! * Host writes per neuron ([`ExpSynapseParams`], `synapse_type_exponential.py`):
//!   `tau_syn_E, isyn_exc, tau_syn_I, isyn_inh, time_step_ms`, all s16.15.
//! * On-core initialisation ([`ExpSynState::initialise`], `decay_and_init`):
//!   `ts = kdivui(time_step_ms, n_steps_per_timestep)`,
//!   `decay = expulr(-kdivk(ts, tau))` (u0.32),
//!   `init = decay_s1615_to_u032(kdivk(tau, ts), 1.0ulr - decay)` (u0.32),
//!   with `1.0ulr` = `0xFFFF_FFFF` and a wrapping subtraction.
//! * Input ([`ExpSynState::add_input`], `add_input_exp`):
//!   `value = value + decay_s1615(input, init)` (wrapping add, floor product).
//! * Shaping after the neuron update ([`ExpSynState::shape`], `exp_shaping`):
//!   `value = decay_s1615(value, decay)`.

use super::exp::expulr;
use crate::fixed::{S1615, U032};
use bytemuck::{Pod, Zeroable};

/// Host parameters of one exponential receptor (`exp_params_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ExpParams {
    /// Time constant in ms.
    pub tau: S1615,
    /// Initial synaptic value.
    pub init_input: S1615,
}

/// Host parameter block of `synapse_types_exponential` for one neuron
/// (`synapse_types_params_t`, 5 words).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ExpSynapseParams {
    /// Excitatory receptor.
    pub exc: ExpParams,
    /// Inhibitory receptor.
    pub inh: ExpParams,
    /// Machine time step in ms.
    pub time_step_ms: S1615,
}

/// Run-time state of one receptor (`exp_state_t`, 3 words).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ExpSynState {
    /// Per-(sub)step decay factor.
    pub decay: U032,
    /// Scale applied to each input.
    pub init: U032,
    /// Current synaptic input.
    pub value: S1615,
}

impl ExpSynState {
    /// `decay_and_init`. `None` if `n_steps_per_timestep == 0` or a division
    /// by zero would occur (`tau == 0` or `ts == 0`).
    pub fn initialise(params: &ExpParams, time_step_ms: S1615, n_steps_per_timestep: u32) -> Option<Self> {
        let ts = time_step_ms.kdivui(n_steps_per_timestep)?;
        let ts_over_tau = ts.kdivk(params.tau)?;
        let decay = expulr(ts_over_tau.wrapping_neg());
        let inv_decay = U032::ONE_SAT.wrapping_sub(decay);
        let tau_over_ts = params.tau.kdivk(ts)?;
        let init = tau_over_ts.mul_u032_to_u032(inv_decay);
        Some(ExpSynState { decay, init, value: params.init_input })
    }

    /// `exp_shaping`: decay the value by one (sub)step.
    #[inline]
    pub fn shape(&mut self) {
        self.value = self.value.decay(self.decay);
    }

    /// `add_input_exp`.
    #[inline]
    pub fn add_input(&mut self, input: S1615) {
        self.value = self.value.wrapping_add(input.decay(self.init));
    }
}

/// Both receptors of one neuron (`synapse_types_t`, 6 words).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ExpSynapseState {
    /// Excitatory receptor (synapse type 0).
    pub exc: ExpSynState,
    /// Inhibitory receptor (synapse type 1).
    pub inh: ExpSynState,
}

/// Synapse type index of the excitatory receptor.
pub const EXCITATORY: u32 = 0;
/// Synapse type index of the inhibitory receptor.
pub const INHIBITORY: u32 = 1;

impl ExpSynapseState {
    /// `synapse_types_initialise`.
    pub fn initialise(params: &ExpSynapseParams, n_steps_per_timestep: u32) -> Option<Self> {
        Some(ExpSynapseState {
            exc: ExpSynState::initialise(&params.exc, params.time_step_ms, n_steps_per_timestep)?,
            inh: ExpSynState::initialise(&params.inh, params.time_step_ms, n_steps_per_timestep)?,
        })
    }

    /// `synapse_types_add_neuron_input`; other type indices are ignored, as
    /// upstream.
    #[inline]
    pub fn add_input(&mut self, synapse_type: u32, input: S1615) {
        match synapse_type {
            EXCITATORY => self.exc.add_input(input),
            INHIBITORY => self.inh.add_input(input),
            _ => {}
        }
    }

    /// `synapse_types_shape_input`.
    #[inline]
    pub fn shape(&mut self) {
        self.exc.shape();
        self.inh.shape();
    }

    /// `synapse_types_save_state`: write the current values back as the
    /// initial inputs.
    pub fn save_state(&self, params: &mut ExpSynapseParams) {
        params.exc.init_input = self.exc.value;
        params.inh.init_input = self.inh.value;
    }
}
