//! Lava's bit-accurate LIF neuron (`PyLifModelBitAcc`, `loihi-lava.md` §1).
//!
//! All arithmetic mirrors Lava's numpy dtypes: the decays are computed in
//! 64 bits and rounded toward zero, everything else is 32-bit two's
//! complement with wrap-around (numpy `int32`), and `u` wraps at 24 bits.

use bytemuck::{Pod, Zeroable};

/// Number of bits of the LIF state variables `u` and `v` (signed).
pub const UV_BITS: u32 = 24;
/// `2^23`: the 24-bit wrap/clamp bound of `u` and `v`.
pub const MAX_UV: i32 = 1 << (UV_BITS - 1);
/// Decay constants are 12-bit fractions of `2^12`.
pub const DECAY_SHIFT: u32 = 12;
/// `2^12`, the decay unity.
pub const DECAY_UNITY: i64 = 1 << DECAY_SHIFT;
/// Threshold MSB alignment: `VTH = vth << 6`.
pub const VTH_SHIFT: u32 = 6;
/// Synaptic input MSB alignment: `u += a_in << 6`.
pub const ACT_SHIFT: u32 = 6;
/// Current decay offset (Loihi's 1-bit `ds_offset`): `du + 1` is used.
pub const DS_OFFSET: i64 = 1;
/// Voltage decay offset (`dm_offset`): `dv + 0` is used.
pub const DM_OFFSET: i64 = 0;
/// Largest `du` and largest hardware `dv` (12-bit unsigned).
pub const MAX_DECAY: u16 = 4095;
/// Smallest `du`: −1, netx's "current never decays" (`iDecay = 0`), which
/// Lava runs as the factor `4096 − (−1 + 1) = 4096`.
pub const MIN_DU: i16 = -1;
/// Largest `dv`: 4096, netx's `vDecay = 4096` (factor 0: `v` is zeroed
/// before `u` and the bias are added), which Lava runs.
pub const MAX_DV: u16 = 4096;
/// Largest `vth`: 2^17, netx's default-neuron threshold. `2^17 << 6 = 2^23`
/// exceeds the clamp of `v` (2^23 − 1), so such a neuron never spikes, as
/// in Lava. 0..=131071 is the 17-bit hardware field.
pub const MAX_VTH: i32 = 1 << 17;
/// Range of `bias_mant` (13-bit signed).
pub const BIAS_MANT_RANGE: (i16, i16) = (-4096, 4095);
/// Range of `bias_exp` accepted here. Lava documents it as 3-bit unsigned
/// (0..=7); its code also accepts negative values (arithmetic right shift),
/// which [`LifParams::effective_bias`] reproduces.
pub const BIAS_EXP_RANGE: (i16, i16) = (-7, 7);

/// Parameters of one LIF population (stored in program images).
///
/// Layout: 12 bytes, `repr(C)`, no implicit padding: `du` (i16), `dv`
/// (u16), `vth` (i32), `bias_mant` (i16), `bias_exp` (i16).
///
/// The accepted ranges are the hardware fields plus the three values
/// netx's default neuron uses and Lava runs (`du = −1`, `dv = 4096`,
/// `vth = 2^17`); everything else about the arithmetic is unchanged and
/// bit-exact with `PyLifModelBitAcc` for all of them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct LifParams {
    /// Current decay, a fraction of 4096, −1..=4095 (12-bit unsigned field
    /// plus −1). The effective factor is `(4096 - (du + 1)) / 4096`, so
    /// 4095 zeroes `u` every step, 0 decays by 1/4096 and −1 keeps `u`
    /// unchanged (netx `iDecay = 0`).
    pub du: i16,
    /// Voltage decay, a fraction of 4096, 0..=4096 (12-bit unsigned field
    /// plus 4096). The effective factor is `(4096 - dv) / 4096` (0 = no
    /// decay; 4096 zeroes `v` before `u` and the bias are added).
    pub dv: u16,
    /// Threshold mantissa, 0..=131072 (17-bit unsigned field plus 2^17). A
    /// neuron spikes when `v > vth << 6`; with `vth = 2^17` it never does.
    pub vth: i32,
    /// Bias mantissa, 13-bit signed (-4096..=4095).
    pub bias_mant: i16,
    /// Bias exponent (see [`BIAS_EXP_RANGE`]): the bias added to `v` every
    /// step is `bias_mant << bias_exp` (or `>> -bias_exp`, arithmetic).
    pub bias_exp: i16,
}

/// A LIF parameter outside the range Lava's fixed-point model declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifParamError {
    /// `du` outside −1..=4095.
    Du(i16),
    /// `dv` > 4096.
    Dv(u16),
    /// `vth` outside 0..=131072.
    Vth(i32),
    /// `bias_mant` outside -4096..=4095.
    BiasMant(i16),
    /// `bias_exp` outside [`BIAS_EXP_RANGE`].
    BiasExp(i16),
}

impl core::fmt::Display for LifParamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LifParamError::Du(v) => write!(
                f,
                "du = {v} is outside -1..=4095 (12-bit unsigned, or -1: no current decay)"
            ),
            LifParamError::Dv(v) => write!(
                f,
                "dv = {v} is outside 0..=4096 (12-bit unsigned, or 4096: v zeroed every step)"
            ),
            LifParamError::Vth(v) => {
                write!(
                    f,
                    "vth = {v} is outside 0..=131072 (17-bit unsigned, or 2^17: never spikes)"
                )
            }
            LifParamError::BiasMant(v) => {
                write!(
                    f,
                    "bias_mant = {v} is not a 13-bit signed value (-4096..=4095)"
                )
            }
            LifParamError::BiasExp(v) => write!(f, "bias_exp = {v} is outside -7..=7"),
        }
    }
}

impl LifParams {
    /// Checks every field against its declared width.
    pub fn validate(&self) -> Result<(), LifParamError> {
        if !(MIN_DU..=MAX_DECAY as i16).contains(&self.du) {
            return Err(LifParamError::Du(self.du));
        }
        if self.dv > MAX_DV {
            return Err(LifParamError::Dv(self.dv));
        }
        if !(0..=MAX_VTH).contains(&self.vth) {
            return Err(LifParamError::Vth(self.vth));
        }
        if !(BIAS_MANT_RANGE.0..=BIAS_MANT_RANGE.1).contains(&self.bias_mant) {
            return Err(LifParamError::BiasMant(self.bias_mant));
        }
        if !(BIAS_EXP_RANGE.0..=BIAS_EXP_RANGE.1).contains(&self.bias_exp) {
            return Err(LifParamError::BiasExp(self.bias_exp));
        }
        Ok(())
    }

    /// The bias added to `v` every step: `bias_mant << bias_exp`, or an
    /// arithmetic right shift for a negative exponent (Lava recomputes it
    /// every step from the current `bias_mant`/`bias_exp`). At most
    /// 4095 << 7 in magnitude for valid parameters.
    pub fn effective_bias(&self) -> i32 {
        effective_bias(self.bias_mant, self.bias_exp)
    }

    /// The scaled threshold `VTH = vth << 6` (at most 2^23).
    pub fn scaled_threshold(&self) -> i32 {
        self.vth.wrapping_shl(VTH_SHIFT)
    }
}

/// `bias_mant << bias_exp` (arithmetic `>> -bias_exp` when negative), in
/// int32 like Lava. Exponents beyond ±31 saturate the shift.
pub fn effective_bias(bias_mant: i16, bias_exp: i16) -> i32 {
    let m = bias_mant as i32;
    if bias_exp >= 0 {
        if bias_exp >= 32 {
            0
        } else {
            m.wrapping_shl(bias_exp as u32)
        }
    } else {
        m >> (-(bias_exp as i32)).min(31)
    }
}

/// `sign(x * (4096 - d)) * (|x * (4096 - d)| >> 12)`: the 12-bit decay,
/// product in 64 bits, rounding toward zero, result truncated to int32 as
/// numpy's `np.int32(...)` does.
pub fn decay_rtz(x: i32, d: i64) -> i32 {
    let p = x as i64 * (DECAY_UNITY - d);
    let q = if p < 0 {
        -((-p) >> DECAY_SHIFT)
    } else {
        p >> DECAY_SHIFT
    };
    q as i32
}

/// One LIF neuron for one time step.
///
/// * `u`, `v`: 24-bit signed state held in `i32`.
/// * `a_in`: the synaptic input of this step — the sum of the Dense outputs
///   produced in the *previous* step (int32; nominally 16-bit signed).
/// * `bias`: the effective bias ([`LifParams::effective_bias`]).
///
/// Returns whether the neuron spiked (then `v` is reset to 0).
#[inline]
pub fn lif_update(p: &LifParams, bias: i32, u: &mut i32, v: &mut i32, a_in: i32) -> bool {
    // current: decay (offset 1), add the input MSB-aligned, wrap at 24 bits
    let decayed = decay_rtz(*u, p.du as i64 + DS_OFFSET);
    let cur = decayed.wrapping_add(a_in.wrapping_shl(ACT_SHIFT));
    let wrapped = if cur > MAX_UV {
        cur.wrapping_sub(2 * MAX_UV)
    } else if cur <= -MAX_UV {
        cur.wrapping_add(2 * MAX_UV)
    } else {
        cur
    };
    *u = wrapped;
    // voltage: decay (offset 0), integrate u and the bias, clamp
    let vv = decay_rtz(*v, p.dv as i64 + DM_OFFSET)
        .wrapping_add(wrapped)
        .wrapping_add(bias);
    let vv = vv.clamp(-(MAX_UV - 1), MAX_UV - 1);
    if vv > p.scaled_threshold() {
        *v = 0;
        true
    } else {
        *v = vv;
        false
    }
}

/// One time step of a LIF population (`PyLifModelBitAcc.run_spk`).
///
/// `u`, `v`, `a_in` and `spikes` must all have the population's length
/// (panics otherwise). `spikes[i]` is overwritten with neuron `i`'s output.
/// Returns the number of spikes.
pub fn lif_step(
    p: &LifParams,
    u: &mut [i32],
    v: &mut [i32],
    a_in: &[i32],
    spikes: &mut [bool],
) -> usize {
    let n = u.len();
    assert!(
        v.len() == n && a_in.len() == n && spikes.len() == n,
        "LIF slices differ in length"
    );
    let bias = p.effective_bias();
    let mut count = 0;
    for i in 0..n {
        let s = lif_update(p, bias, &mut u[i], &mut v[i], a_in[i]);
        spikes[i] = s;
        count += s as usize;
    }
    count
}

/// [`lif_step`] with a per-neuron bias mantissa (Lava's `bias_mant` may be an
/// array; `p.bias_mant` is then ignored and `p.bias_exp` applies to all).
pub fn lif_step_bias(
    p: &LifParams,
    bias_mant: &[i16],
    u: &mut [i32],
    v: &mut [i32],
    a_in: &[i32],
    spikes: &mut [bool],
) -> usize {
    let n = u.len();
    assert!(
        v.len() == n && a_in.len() == n && spikes.len() == n && bias_mant.len() == n,
        "LIF slices differ in length"
    );
    let mut count = 0;
    for i in 0..n {
        let bias = effective_bias(bias_mant[i], p.bias_exp);
        let s = lif_update(p, bias, &mut u[i], &mut v[i], a_in[i]);
        spikes[i] = s;
        count += s as usize;
    }
    count
}
