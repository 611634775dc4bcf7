//! Per-population constants of the neuron models (see the module docs of
//! [`network`](super) for the equations).

use spikeforge_compiler::ir;

/// The factor between Lava's bit-accurate LIF units and its float model's
/// units (`a_in << 6`, `vth << 6`).
pub const LAVA_SCALE: f64 = 64.0;

/// Units in which LavaLif state (`u`, `v`) is simulated and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LavaUnits {
    /// The bit-accurate model's units (float model × 64): unit `lava`,
    /// comparable with the emulator's integer `u`, `v`; threshold `vth·64`.
    #[default]
    BitAccurate,
    /// Lava `PyLifModelFloat` units: unit `lava_float`; threshold `vth`.
    Float,
}

impl LavaUnits {
    /// The unit string of [`spikeforge_results::StateRecord::unit`].
    pub fn unit(self) -> &'static str {
        match self {
            LavaUnits::BitAccurate => "lava",
            LavaUnits::Float => "lava_float",
        }
    }
}

/// `ceil(tau_refrac_ms / dt_ms)` with a relative tolerance of 1e-9 on the
/// quotient (so a quotient that is an integer up to rounding counts as that
/// integer); 0 for `tau_refrac_ms <= 0`.
pub fn refractory_steps(tau_refrac_ms: f64, dt_ms: f64) -> u32 {
    let q = tau_refrac_ms / dt_ms;
    if q.is_nan() || q <= 0.0 {
        return 0;
    }
    let r = q.round();
    if (q - r).abs() <= 1e-9 * r.max(1.0) {
        r as u32
    } else {
        q.ceil() as u32
    }
}

/// The exact one-step propagators and constants of one IF_curr_exp population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IfCurrExpProp {
    /// Resting potential, mV.
    pub v_rest: f64,
    /// Reset potential, mV.
    pub v_reset: f64,
    /// Threshold, mV (spike when `V >= v_thresh`).
    pub v_thresh: f64,
    /// Initial potential, mV.
    pub v_init: f64,
    /// Constant current, nA.
    pub i_offset: f64,
    /// `exp(-dt/tau_m)`.
    pub p22: f64,
    /// `exp(-dt/tau_syn_e)`.
    pub p11e: f64,
    /// `exp(-dt/tau_syn_i)`.
    pub p11i: f64,
    /// mV per nA of `I_e` at the start of the step.
    pub p21e: f64,
    /// mV per nA of `I_i` at the start of the step.
    pub p21i: f64,
    /// mV per nA of constant current: `R·(1 - exp(-dt/tau_m))`.
    pub p20: f64,
    /// Refractory steps after a spike.
    pub refrac_steps: u32,
}

/// `P21` from a synaptic current to `V` over `h` (see the module docs).
pub(crate) fn p21(tau_m: f64, tau_s: f64, cm: f64, h: f64) -> f64 {
    let x = h * (1.0 / tau_m - 1.0 / tau_s);
    let phi = if x == 0.0 { 1.0 } else { x.exp_m1() / x };
    h / cm * (-h / tau_m).exp() * phi
}

impl IfCurrExpProp {
    /// The propagators for time step `dt_ms`; `Err` names a parameter that
    /// cannot be integrated.
    pub fn new(m: &ir::IfCurrExp, dt_ms: f64) -> Result<Self, String> {
        let positive = [("tau_m_ms", m.tau_m_ms), ("cm_nf", m.cm_nf), ("tau_syn_e_ms", m.tau_syn_e_ms), ("tau_syn_i_ms", m.tau_syn_i_ms), ("dt_ms", dt_ms)];
        for (name, x) in positive {
            if !(x.is_finite() && x > 0.0) {
                return Err(format!("{name} = {x}; expected a finite value > 0"));
            }
        }
        let finite = [("v_rest_mv", m.v_rest_mv), ("v_reset_mv", m.v_reset_mv), ("v_thresh_mv", m.v_thresh_mv), ("i_offset_na", m.i_offset_na), ("tau_refrac_ms", m.tau_refrac_ms)];
        for (name, x) in finite {
            if !x.is_finite() {
                return Err(format!("{name} = {x}; expected a finite value"));
            }
        }
        if let Some(v) = m.v_init_mv.filter(|v| !v.is_finite()) {
            return Err(format!("v_init_mv = {v}; expected a finite value"));
        }
        if m.tau_refrac_ms < 0.0 {
            return Err(format!("tau_refrac_ms = {}; expected >= 0", m.tau_refrac_ms));
        }
        let h = dt_ms;
        let r = m.tau_m_ms / m.cm_nf;
        Ok(IfCurrExpProp {
            v_rest: m.v_rest_mv,
            v_reset: m.v_reset_mv,
            v_thresh: m.v_thresh_mv,
            v_init: m.v_init_mv.unwrap_or(m.v_rest_mv),
            i_offset: m.i_offset_na,
            p22: (-h / m.tau_m_ms).exp(),
            p11e: (-h / m.tau_syn_e_ms).exp(),
            p11i: (-h / m.tau_syn_i_ms).exp(),
            p21e: p21(m.tau_m_ms, m.tau_syn_e_ms, m.cm_nf, h),
            p21i: p21(m.tau_m_ms, m.tau_syn_i_ms, m.cm_nf, h),
            p20: -r * (-h / m.tau_m_ms).exp_m1(),
            refrac_steps: refractory_steps(m.tau_refrac_ms, dt_ms),
        })
    }
}

/// The float parameters of one LavaLif population in the chosen [`LavaUnits`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LavaLifFloat {
    /// `1 - (du + 1)/4096`.
    pub decay_u: f64,
    /// `1 - dv/4096`.
    pub decay_v: f64,
    /// Bias added to `v` every step: `bias_mant·2^bias_exp` (bit-accurate
    /// units) or that over 64 (float units).
    pub bias: f64,
    /// Threshold: `vth·64` (bit-accurate units) or `vth` (float units).
    pub vth: f64,
    /// Factor on the summed input `a_in`: 64 (bit-accurate units) or 1.
    pub input_scale: f64,
    /// Initial `u`.
    pub u_init: f64,
    /// Initial `v`.
    pub v_init: f64,
}

impl LavaLifFloat {
    /// The float model of the IR's (bit-accurate) parameters; `Err` names a
    /// parameter outside Lava's declared ranges.
    pub fn new(m: &ir::LavaLif, units: LavaUnits) -> Result<Self, String> {
        if m.du > 4095 {
            return Err(format!("du = {}; expected 0..=4095", m.du));
        }
        if m.dv > 4095 {
            return Err(format!("dv = {}; expected 0..=4095", m.dv));
        }
        if !(-7..=7).contains(&m.bias_exp) {
            return Err(format!("bias_exp = {}; expected -7..=7", m.bias_exp));
        }
        let scale = match units {
            LavaUnits::BitAccurate => 1.0,
            LavaUnits::Float => 1.0 / LAVA_SCALE,
        };
        Ok(LavaLifFloat {
            decay_u: 1.0 - (m.du as f64 + 1.0) / 4096.0,
            decay_v: 1.0 - m.dv as f64 / 4096.0,
            bias: m.bias_mant as f64 * 2f64.powi(m.bias_exp) * scale,
            vth: m.vth as f64 * LAVA_SCALE * scale,
            input_scale: LAVA_SCALE * scale,
            u_init: m.u_init as f64 * scale,
            v_init: m.v_init as f64 * scale,
        })
    }
}
