//! Lava's bit-accurate Dense synapses (`PyDenseModelBitAcc`; `LearningDense`
//! shares the datapath), `loihi-lava.md` §2.
//!
//! Weights are stored row-major `[post][pre]` (Lava's `(num_out, num_in)`
//! C order) as `i16`. After [`prepare_dense_weights`] /
//! [`prepare_learning_weights`] they are within the sign mode's 9-bit range
//! (see [`SignMode::weight_range`]).
//!
//! The one-step delay: at every step a Dense first emits the activation it
//! accumulated in the previous step (`a_out(t) = a_buff(t - 1)`) and then
//! accumulates this step's spikes into `a_buff`. The caller owns `a_buff`
//! (one `i32` per post neuron, initially zero) and the LIF input
//! accumulator; [`dense_step`] does both halves in the right order.

use bytemuck::{Pod, Zeroable};

/// Lava's `SignMode` (`lava.utils.weightutils`); the discriminants are
/// Lava's enum values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SignMode {
    /// Signed weights, range [-256, 255].
    Mixed = 1,
    /// Non-negative weights, range [0, 255].
    Excitatory = 2,
    /// Non-positive weights, range [-255, 0].
    Inhibitory = 3,
}

impl SignMode {
    /// The 8-bit (+ sign) range of weights in this mode (inclusive).
    pub const fn weight_range(self) -> (i32, i32) {
        match self {
            SignMode::Mixed => (-256, 255),
            SignMode::Excitatory => (0, 255),
            SignMode::Inhibitory => (-255, 0),
        }
    }

    /// Lava's `determine_sign_mode`: Excitatory if no weight is negative,
    /// else Inhibitory if none is positive, else Mixed. (A Dense without an
    /// explicit `sign_mode` uses this; LearningDense defaults to Mixed.)
    pub fn determine(weights: &[i16]) -> SignMode {
        if weights.iter().all(|&w| w >= 0) {
            SignMode::Excitatory
        } else if weights.iter().all(|&w| w <= 0) {
            SignMode::Inhibitory
        } else {
            SignMode::Mixed
        }
    }

    /// Decodes Lava's enum value (1, 2, 3).
    pub const fn from_u8(v: u8) -> Option<SignMode> {
        match v {
            1 => Some(SignMode::Mixed),
            2 => Some(SignMode::Excitatory),
            3 => Some(SignMode::Inhibitory),
            _ => None,
        }
    }
}

/// Parameters of one Dense / LearningDense projection (stored in program
/// images). 4 bytes, `repr(C)`, no implicit padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct DenseParams {
    /// [`SignMode`] as its `u8` value (1 Mixed, 2 Excitatory, 3 Inhibitory).
    pub sign_mode: u8,
    /// Number of significant weight bits, 1..=8 (Lava default 8). The low
    /// `8 - num_weight_bits + (Mixed ? 1 : 0)` bits of every weight are
    /// truncated away once, before the first step.
    pub num_weight_bits: u8,
    /// Weight exponent, signed: the accumulated activation is shifted left
    /// by it (arithmetic right shift when negative). Lava default 0.
    pub weight_exp: i8,
    /// Explicit padding, must be 0.
    pub _pad: u8,
}

/// A Dense parameter Lava's model would not accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseParamError {
    /// `sign_mode` is not 1, 2 or 3.
    SignMode(u8),
    /// `num_weight_bits` outside 1..=8.
    NumWeightBits(u8),
    /// `weight_exp` outside -31..=31.
    WeightExp(i8),
}

impl core::fmt::Display for DenseParamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            DenseParamError::SignMode(v) => {
                write!(
                    f,
                    "sign_mode = {v} is not 1 (mixed), 2 (excitatory) or 3 (inhibitory)"
                )
            }
            DenseParamError::NumWeightBits(v) => {
                write!(f, "num_weight_bits = {v} is outside 1..=8")
            }
            DenseParamError::WeightExp(v) => write!(f, "weight_exp = {v} is outside -31..=31"),
        }
    }
}

impl DenseParams {
    /// Lava's defaults for a given sign mode: 8 weight bits, exponent 0.
    pub const fn new(sign_mode: SignMode) -> Self {
        DenseParams {
            sign_mode: sign_mode as u8,
            num_weight_bits: 8,
            weight_exp: 0,
            _pad: 0,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<SignMode, DenseParamError> {
        let mode =
            SignMode::from_u8(self.sign_mode).ok_or(DenseParamError::SignMode(self.sign_mode))?;
        if !(1..=8).contains(&self.num_weight_bits) {
            return Err(DenseParamError::NumWeightBits(self.num_weight_bits));
        }
        if !(-31..=31).contains(&self.weight_exp) {
            return Err(DenseParamError::WeightExp(self.weight_exp));
        }
        Ok(mode)
    }

    /// The number of truncated low bits,
    /// `k = 8 - num_weight_bits + (Mixed ? 1 : 0)` (0..=8 when valid).
    pub fn truncate_bits(&self) -> u32 {
        let mixed = (self.sign_mode == SignMode::Mixed as u8) as u32;
        (8u32 + mixed).saturating_sub(self.num_weight_bits as u32)
    }
}

/// What the one-time weight preparation changed (caller-visible, so the
/// compiler can turn it into a diagnostic instead of losing it silently).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeightPrepReport {
    /// Weights that were outside the sign mode's range and were clipped.
    pub clipped: usize,
    /// Weights whose value changed in the truncation of the low bits.
    pub truncated: usize,
    /// LearningDense only: weights outside the sign mode's range, left
    /// unclipped as Lava does (they are clipped at the first learning epoch).
    pub out_of_range: usize,
}

impl WeightPrepReport {
    /// `true` when no weight changed.
    pub fn is_lossless(&self) -> bool {
        self.clipped == 0 && self.truncated == 0 && self.out_of_range == 0
    }
}

/// Clips one weight to the sign mode's range.
pub fn clip_weight(w: i32, mode: SignMode) -> i32 {
    let (lo, hi) = mode.weight_range();
    w.clamp(lo, hi)
}

/// Lava's `truncate_weights` for one weight: `(w >> k) << k` (toward −∞),
/// computed on the magnitude for Inhibitory (`-((-w >> k) << k)`, i.e.
/// toward zero).
pub fn truncate_weight(w: i32, mode: SignMode, k: u32) -> i32 {
    if mode == SignMode::Inhibitory {
        -(((-w) >> k) << k)
    } else {
        (w >> k) << k
    }
}

/// Dense (non-learning) first-step preparation: clip to the sign mode's
/// range, then truncate the low bits. Applies it in place and reports it.
pub fn prepare_dense_weights(
    weights: &mut [i16],
    p: &DenseParams,
) -> Result<WeightPrepReport, DenseParamError> {
    let mode = p.validate()?;
    let k = p.truncate_bits();
    let mut rep = WeightPrepReport::default();
    for w in weights.iter_mut() {
        let c = clip_weight(*w as i32, mode);
        if c != *w as i32 {
            rep.clipped += 1;
        }
        let t = truncate_weight(c, mode, k);
        if t != c {
            rep.truncated += 1;
        }
        *w = t as i16;
    }
    Ok(rep)
}

/// LearningDense first-step preparation: truncation only, no clip (Lava
/// does not clip plastic weights until the first learning epoch). Weights
/// outside the sign mode's range are left as they are and counted in
/// `out_of_range` (Lava uses them unclipped; the compiler should reject or
/// warn).
pub fn prepare_learning_weights(
    weights: &mut [i16],
    p: &DenseParams,
) -> Result<WeightPrepReport, DenseParamError> {
    let mode = p.validate()?;
    let k = p.truncate_bits();
    let mut rep = WeightPrepReport::default();
    for w in weights.iter_mut() {
        let v = *w as i32;
        if clip_weight(v, mode) != v {
            rep.out_of_range += 1;
        }
        let t = truncate_weight(v, mode, k);
        if t != v {
            rep.truncated += 1;
        }
        *w = t as i16;
    }
    Ok(rep)
}

/// Applies the weight exponent to an accumulated activation and truncates
/// to int32 (numpy's int32 channel): `acc << weight_exp`, or an arithmetic
/// `acc >> -weight_exp`.
pub fn scale_activation(acc: i64, weight_exp: i8) -> i32 {
    let s = if weight_exp > 0 {
        acc.wrapping_shl(weight_exp as u32)
    } else {
        acc >> (-(weight_exp as i32)) as u32
    };
    s as i32
}

/// Accumulates binary input spikes into `a_buff`:
/// `a_buff[j] = (Σ_{i: s_in[i]} W[j][i]) << weight_exp`.
///
/// `weights` is `[post][pre]` row-major with `n_pre = s_in.len()` columns and
/// `a_buff.len()` rows (panics on a size mismatch).
pub fn accumulate(weights: &[i16], weight_exp: i8, s_in: &[bool], a_buff: &mut [i32]) {
    let n_pre = s_in.len();
    assert_eq!(
        weights.len(),
        n_pre * a_buff.len(),
        "weight matrix is not n_post x n_pre"
    );
    for (j, a) in a_buff.iter_mut().enumerate() {
        let row = &weights[j * n_pre..(j + 1) * n_pre];
        let mut acc: i64 = 0;
        for (w, &s) in row.iter().zip(s_in) {
            if s {
                acc += *w as i64;
            }
        }
        *a = scale_activation(acc, weight_exp);
    }
}

/// One Dense step with its one-step delay: first adds the activation
/// buffered in the previous step to `a_out` (the post population's input
/// accumulator for this step, shared by all Dense projections into it, to
/// be zeroed by the caller before the first projection; int32 wrap-around
/// like numpy), then overwrites `a_buff` with this step's accumulation of
/// `s_in`.
pub fn dense_step(
    weights: &[i16],
    weight_exp: i8,
    s_in: &[bool],
    a_buff: &mut [i32],
    a_out: &mut [i32],
) {
    emit(a_buff, a_out);
    accumulate(weights, weight_exp, s_in, a_buff);
}

/// The sending half of [`dense_step`]: `a_out[j] += a_buff[j]` (wrapping).
pub fn emit(a_buff: &[i32], a_out: &mut [i32]) {
    assert_eq!(
        a_buff.len(),
        a_out.len(),
        "a_buff and a_out differ in length"
    );
    for (o, &a) in a_out.iter_mut().zip(a_buff) {
        *o = o.wrapping_add(a);
    }
}
