//! Quantization for the `loihi` profile (Lava 0.10's fixed-point numerics,
//! `spikeforge_kernel::loihi`).
//!
//! Pure functions from the IR's (and the expanded network's) values to the
//! kernel's parameter types, each returning [`Diagnostics`] that name the
//! object (`population 'x'`, `projection 'y'`, `plasticity rule 'z'`) and
//! the field. Severities: **error** — the value cannot be used;
//! **warning** — a precision loss the user did not ask for (a non-integer
//! weight, a clipped weight, a weight that truncates to zero, a product that
//! can wrap); **note** — a loss inherent in an encoding the user chose (the
//! truncation of `num_weight_bits`, the 8-bit impulse fraction), or where
//! spikeforge goes beyond or pins down what Lava leaves open (delays, the
//! random seed, the host-dependent decay factor). Codes `Q1xx`,
//! docs/diagnostics.md.
//!
//! * [`lif_params`], [`netx_lif_params`] — LIF populations;
//! * [`dense_weights`] — a projection's weights and `DenseParams`;
//! * [`learning`] — a sum-of-products rule: `LearningParams` and the parsed
//!   rules ([`RuleSet`], encodable into program images with
//!   `spikeforge_kernel::loihi::encoding`);
//! * [`quantize`] — all of it for an expanded network ([`LoihiQuantized`]).
//!
//! ## The trace decay factor
//!
//! Lava decays traces with the float64 `E = np.exp(-1/tau)`, evaluated by
//! numpy's vectorised exp. Which exp that is depends on the host: numpy
//! 1.22+ on an x86-64 CPU with AVX-512 SKX (the fixtures' host and this
//! project's machines) calls Intel SVML's `__svml_exp8_ha`, which is not
//! correctly rounded: for 2818 of tau = 1..=4096 (33,848 of 1..=65535) its
//! result is one ulp off the correctly rounded value (2815 above; tau = 6,
//! 8 and 13 below). Elsewhere numpy calls libm's `exp`, which (glibc) is correctly
//! rounded for every tau in 1..=4096. Lava's learning is therefore host
//! dependent. spikeforge follows the fixtures: [`lava_decay_factor`] is the
//! correctly rounded [`exp_correctly_rounded`] moved by a documented table
//! of SVML's one-ulp exceptions ([`NUMPY_SVML_EXCEPTIONS`], integer tau in
//! 1..=4096); for other tau it is the correctly rounded value and
//! [`learning`] notes that Lava on an AVX-512 host may differ by one ulp
//! (`Q128`), as it notes a tabulated tau whose factor differs between the
//! two kinds of host. The peer test `compiler/tests/quantize_loihi.rs`
//! checks every tau in 1..=4096 against numpy on the machine it runs on.

use std::cmp::Ordering;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::expand::{ExpModel, Expanded, Synapse};
use crate::ir;
use spikeforge_kernel::loihi::dense::{clip_weight, truncate_weight, DenseParams, SignMode};
use spikeforge_kernel::loihi::encoding::RuleSet;
use spikeforge_kernel::loihi::learning::{LearningParams, TraceParams, MAX_T_EPOCH};
use spikeforge_kernel::loihi::lif::{LifParams, BIAS_MANT_RANGE, MAX_DECAY, MAX_DV, MAX_UV, MAX_VTH, MIN_DU};
use spikeforge_kernel::loihi::rule::{common_decimate_exponent, ProductSeries, Target};

/// netx's bias exponent: `bias_mant = bias`, `bias_exp = 6`.
pub const NETX_BIAS_EXP: i16 = 6;

fn note(code: &'static str, object: &str, field: &str, message: String) -> Diagnostic {
    Diagnostic { severity: Severity::Note, ..Diagnostic::error(code, object, field, message) }
}

// ------------------------------------------------------------------ LIF

/// Initial state of a LIF population (24-bit signed values in `i32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LifInit {
    pub u: i32,
    pub v: i32,
}

fn int_in(d: &mut Diagnostics, object: &str, field: &str, v: i64, lo: i64, hi: i64, what: &str) -> i64 {
    if v < lo || v > hi {
        d.push(Diagnostic::error("Q101", object, field, format!("found {v}; expected {what} ({lo}..={hi})")));
        v.clamp(lo, hi)
    } else {
        v
    }
}

/// The kernel parameters and initial state of a `lava_lif` population.
///
/// Every field must fit Lava's fixed-point widths (error `Q101` otherwise;
/// the returned value is then clamped and must not be used): `du` 12-bit,
/// `dv` 12-bit or 4096 (v zeroed every step), `vth` 17-bit or 2^17 (never
/// spikes), as `LifParams` accepts.
pub fn lif_params(name: &str, m: &ir::LavaLif) -> (LifParams, LifInit, Diagnostics) {
    let obj = format!("population '{name}'");
    let mut d = Diagnostics::default();
    let dmax = MAX_DECAY as i64;
    let du = int_in(&mut d, &obj, "du", m.du as i64, 0, dmax, "a 12-bit unsigned decay");
    let dv = int_in(&mut d, &obj, "dv", m.dv as i64, 0, MAX_DV as i64, "a 12-bit unsigned decay, or 4096");
    let vth = int_in(&mut d, &obj, "vth", m.vth, 0, MAX_VTH as i64, "a 17-bit unsigned threshold, or 2^17");
    let (blo, bhi) = (BIAS_MANT_RANGE.0 as i64, BIAS_MANT_RANGE.1 as i64);
    let bias_mant = int_in(&mut d, &obj, "bias_mant", m.bias_mant, blo, bhi, "a 13-bit signed mantissa");
    let bias_exp = int_in(&mut d, &obj, "bias_exp", m.bias_exp as i64, 0, 7, "a 3-bit unsigned exponent");
    let max = MAX_UV as i64;
    let u = int_in(&mut d, &obj, "u_init", m.u_init, -max, max - 1, "a 24-bit signed value");
    let v = int_in(&mut d, &obj, "v_init", m.v_init, -(max - 1), max - 1, "a 24-bit signed value within the clamp of v");
    let p = LifParams { du: du as i16, dv: dv as u16, vth: vth as i32, bias_mant: bias_mant as i16, bias_exp: bias_exp as i16 };
    (p, LifInit { u: u as i32, v: v as i32 }, d)
}

/// A netx CUBA/LOIHI neuron group as Lava LIF parameters: `params` (with
/// `bias_mant = 0`) plus one bias mantissa per neuron (empty = all 0), to be
/// run with `lif_step_bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetxLif {
    pub params: LifParams,
    pub bias_mant: Vec<i16>,
}

fn netx_type_name(t: i32) -> String {
    match ir::NetxNeuronType::try_from(t) {
        Ok(k) => k.as_str_name().trim_start_matches("NETX_NEURON_TYPE_").to_string(),
        Err(_) => format!("unknown ({t})"),
    }
}

/// netx's mapping of a CUBA / LOIHI neuron to Lava's LIF
/// (`lava.lib.dl.netx.hdf5`): `du = iDecay − 1`, `dv = vDecay`,
/// `vth = vThMant`, `bias_mant = bias` (per neuron), `bias_exp = 6`.
///
/// * Other neuron types (SDNN, RF, ADRF, ALIF) and graded spikes are errors
///   (`Q102`).
/// * `iDecay = 0` (netx's default neuron for a dense layer without a neuron
///   group) gives Lava `du = −1`: Lava's LIF then computes
///   `u·(4096 − 0)/4096`, i.e. `u` never decays. Likewise `vDecay = 4096`
///   (Lava zeroes `v` before adding `u`) and `vThMant = 131072` (Lava never
///   spikes). The kernel's `LifParams` accepts exactly these three values
///   beyond the hardware's 12-/17-bit fields and runs them as Lava does;
///   anything further out (`iDecay`, `vDecay` above 4096, `vThMant` above
///   2^17) is an error `Q101`.
/// * A non-integer bias is rounded to the nearest integer, ties to even
///   (numpy's `round`): warning `Q104` with the count and largest change.
///   A bias outside the 13-bit mantissa is an error.
/// * `refDelay` is ignored by netx for CUBA neurons (Lava's LIF has no
///   refractory period): note `Q105` when it is above 1.
pub fn netx_lif_params(name: &str, n: &ir::NetxNeuron, bias: &[f64]) -> (NetxLif, Diagnostics) {
    let obj = format!("population '{name}'");
    let mut d = Diagnostics::default();
    let kind = ir::NetxNeuronType::try_from(n.r#type).ok();
    if !matches!(kind, Some(ir::NetxNeuronType::Cuba) | Some(ir::NetxNeuronType::Loihi)) {
        d.push(
            Diagnostic::error("Q102", &obj, "type", format!("netx neuron type {} is not supported by the loihi profile; expected CUBA or LOIHI (Lava LIF)", netx_type_name(n.r#type)))
                .with_hint("the loihi profile runs Lava's bit-accurate LIF; sigma-delta, resonator and adaptive neurons have no kernel yet"),
        );
    }
    if n.graded_spike {
        d.push(
            Diagnostic::error("Q102", &obj, "gradedSpike", "graded spikes are not supported: the loihi profile's LIF emits binary spikes".to_string())
                .with_hint("export the network with binary spikes (gradedSpike = false)"),
        );
    }
    let dmax = MAX_DECAY as i64;
    let du = n.i_decay as i64 - 1;
    if !(MIN_DU as i64..=dmax).contains(&du) {
        d.push(Diagnostic::error("Q101", &obj, "iDecay", format!("iDecay {} gives du = iDecay - 1 = {du}; expected iDecay in 0..=4096 (du -1..=4095)", n.i_decay)));
    }
    if !(0..=MAX_DV as i64).contains(&(n.v_decay as i64)) {
        d.push(Diagnostic::error("Q101", &obj, "vDecay", format!("found {}; expected 0..=4096 (dv = vDecay)", n.v_decay)));
    }
    if !(0..=MAX_VTH as i64).contains(&n.v_th_mant) {
        d.push(Diagnostic::error("Q101", &obj, "vThMant", format!("found {}; expected a threshold 0..={MAX_VTH} (vth = vThMant)", n.v_th_mant)));
    }
    if n.ref_delay > 1 {
        d.push(note("Q105", &obj, "refDelay", format!("refDelay {} is ignored: netx maps CUBA neurons to Lava's LIF, which has no refractory period", n.ref_delay)));
    }
    let (blo, bhi) = (BIAS_MANT_RANGE.0 as f64, BIAS_MANT_RANGE.1 as f64);
    let mut bias_mant = Vec::with_capacity(bias.len());
    let (mut rounded, mut max_dev, mut example) = (0usize, 0.0f64, None);
    let mut bad = 0usize;
    for (i, &b) in bias.iter().enumerate() {
        if !b.is_finite() {
            bad += 1;
            bias_mant.push(0);
            continue;
        }
        let r = b.round_ties_even();
        if r != b {
            rounded += 1;
            if (r - b).abs() > max_dev {
                max_dev = (r - b).abs();
            }
            example.get_or_insert((i, b, r));
        }
        if r < blo || r > bhi {
            bad += 1;
        }
        bias_mant.push(r.clamp(blo, bhi) as i16);
    }
    if bad > 0 {
        d.push(Diagnostic::error("Q101", &obj, "bias", format!("{bad} of {} biases are not finite or outside the 13-bit bias mantissa ({}..={})", bias.len(), BIAS_MANT_RANGE.0, BIAS_MANT_RANGE.1)));
    }
    if let Some((i, b, r)) = example {
        d.push(
            Diagnostic::warning("Q104", &obj, "bias", format!("{rounded} of {} biases are not integers and were rounded to the nearest (ties to even; largest change {max_dev}; e.g. neuron {i}: {b} -> {r})", bias.len()))
                .with_hint("Lava's bias_mant is an integer (bias = bias_mant << 6); export integer biases to keep them exact"),
        );
    }
    let params = LifParams {
        du: du.clamp(MIN_DU as i64, dmax) as i16,
        dv: (n.v_decay as i64).clamp(0, MAX_DV as i64) as u16,
        vth: n.v_th_mant.clamp(0, MAX_VTH as i64) as i32,
        bias_mant: 0,
        bias_exp: NETX_BIAS_EXP,
    };
    (NetxLif { params, bias_mant }, d)
}

// ------------------------------------------------------------------ weights

fn sign_mode_of(lw: &ir::LoihiWeights) -> Option<SignMode> {
    match ir::SignMode::try_from(lw.sign_mode) {
        Ok(ir::SignMode::Unspecified) | Ok(ir::SignMode::Mixed) => Some(SignMode::Mixed),
        Ok(ir::SignMode::Excitatory) => Some(SignMode::Excitatory),
        Ok(ir::SignMode::Inhibitory) => Some(SignMode::Inhibitory),
        Err(_) => None,
    }
}

fn mode_name(m: SignMode) -> &'static str {
    match m {
        SignMode::Mixed => "MIXED",
        SignMode::Excitatory => "EXCITATORY",
        SignMode::Inhibitory => "INHIBITORY",
    }
}

fn syn_name(i: usize, s: &Synapse) -> String {
    format!("synapse {i} (pre {} -> post {})", s.pre, s.post)
}

/// A projection's weights as the Dense / LearningDense of the loihi profile
/// holds them, one `i16` per synapse in `synapses` order, and its
/// [`DenseParams`].
///
/// The returned weights are what Lava uses after its first-step
/// preparation (static: clip to the sign mode's range, then truncate the
/// low bits; plastic: truncate only), so running the kernel's
/// `prepare_dense_weights` / `prepare_learning_weights` on them again
/// changes nothing.
///
/// * `ir::LoihiWeights`: sign mode unspecified = MIXED, `num_weight_bits`
///   0 = 8 (else 1..=8), `weight_exp` in -8..=7; anything else is an error
///   (`Q110`), as are non-finite weights and synapse indices outside
///   `n_pre`/`n_post`.
/// * Non-integer weights are rounded to the nearest integer, ties to even:
///   warning `Q111` with the count, the largest change and an example.
/// * Weights outside the sign mode's range: plastic — error `Q112`
///   (LearningDense does not clip; Lava would learn from the unclipped
///   value until the first epoch clips it); static — warning `Q113` (Lava's
///   Dense clips them), with counts.
/// * Truncation of the low `8 − num_weight_bits + (MIXED ? 1 : 0)` bits:
///   note `Q114` with the count and an example; a non-zero weight that
///   truncates to 0 is a warning `Q115`.
/// * Synapse delays above one step: note `Q116` — Lava's Dense has a fixed
///   one-step delay (`DelayDense` models longer ones); the emulator runs
///   them with a delay line.
pub fn dense_weights(proj_name: &str, synapses: &[Synapse], n_pre: u32, n_post: u32, lw: &ir::LoihiWeights, plastic: bool) -> (Vec<i16>, DenseParams, Diagnostics) {
    let obj = format!("projection '{proj_name}'");
    let mut d = Diagnostics::default();
    let mode = sign_mode_of(lw).unwrap_or_else(|| {
        d.push(Diagnostic::error("Q110", &obj, "loihi.sign_mode", format!("unknown sign mode {}; expected mixed, excitatory or inhibitory", lw.sign_mode)));
        SignMode::Mixed
    });
    let bits = match lw.num_weight_bits {
        0 => 8,
        b @ 1..=8 => b as u8,
        b => {
            d.push(Diagnostic::error("Q110", &obj, "loihi.num_weight_bits", format!("found {b}; expected 1..=8 (0 = 8)")));
            8
        }
    };
    let exp = if (-8..=7).contains(&lw.weight_exp) {
        lw.weight_exp as i8
    } else {
        d.push(Diagnostic::error("Q110", &obj, "loihi.weight_exp", format!("found {}; expected -8..=7", lw.weight_exp)));
        lw.weight_exp.clamp(-8, 7) as i8
    };
    let params = DenseParams { sign_mode: mode as u8, num_weight_bits: bits, weight_exp: exp, _pad: 0 };
    let k = params.truncate_bits();
    let (lo, hi) = mode.weight_range();
    let n = synapses.len();

    let mut out = Vec::with_capacity(n);
    let (mut nonint, mut max_dev, mut nonint_ex) = (0usize, 0.0f64, None);
    let (mut out_of_range, mut oor_ex) = (0usize, None);
    let (mut truncated, mut trunc_ex) = (0usize, None);
    let (mut zeroed, mut zero_ex) = (0usize, None);
    let (mut bad_index, mut nonfinite) = (0usize, 0usize);
    let (mut delayed, mut max_delay) = (0usize, 0u32);
    for (i, s) in synapses.iter().enumerate() {
        if s.pre >= n_pre || s.post >= n_post {
            bad_index += 1;
        }
        if s.delay > 1 {
            delayed += 1;
            max_delay = max_delay.max(s.delay);
        }
        if !s.weight.is_finite() {
            nonfinite += 1;
            out.push(0);
            continue;
        }
        let r = s.weight.round_ties_even();
        if r != s.weight {
            nonint += 1;
            let dev = (r - s.weight).abs();
            if dev > max_dev {
                max_dev = dev;
            }
            nonint_ex.get_or_insert((i, s.weight, r));
        }
        let w = r.clamp(i32::MIN as f64, i32::MAX as f64) as i32;
        let c = clip_weight(w, mode);
        if c != w {
            out_of_range += 1;
            oor_ex.get_or_insert((i, w, c));
        }
        // plastic weights out of range are an error; the clipped value keeps the result well defined
        let t = truncate_weight(c, mode, k);
        if t != c {
            truncated += 1;
            trunc_ex.get_or_insert((i, c, t));
            if t == 0 {
                zeroed += 1;
                zero_ex.get_or_insert((i, c));
            }
        }
        out.push(t as i16);
    }
    if bad_index > 0 {
        d.push(Diagnostic::error("Q110", &obj, "connectivity", format!("{bad_index} of {n} synapses name a neuron outside the populations ({n_pre} pre, {n_post} post neurons)")));
    }
    if nonfinite > 0 {
        d.push(Diagnostic::error("Q110", &obj, "weight", format!("{nonfinite} of {n} weights are not finite")));
    }
    if let Some((i, w, r)) = nonint_ex {
        d.push(
            Diagnostic::warning("Q111", &obj, "weight", format!("{nonint} of {n} weights are not integers and were rounded to the nearest integer (ties to even; largest change {max_dev}; e.g. {}: {w} -> {r})", syn_name(i, &synapses[i])))
                .with_hint("Loihi weights are integers (8 bits + sign); give integer weights to keep them exact"),
        );
    }
    if let Some((i, w, c)) = oor_ex {
        let range = format!("the {} sign mode's range [{lo}, {hi}]", mode_name(mode));
        if plastic {
            d.push(
                Diagnostic::error("Q112", &obj, "weight", format!("{out_of_range} of {n} plastic weights are outside {range} (e.g. {}: {w}); Lava's LearningDense does not clip initial weights but learns from them until the first epoch clips them", syn_name(i, &synapses[i])))
                    .with_hint("give initial weights within the range, or choose another loihi.sign_mode"),
            );
        } else {
            d.push(
                Diagnostic::warning("Q113", &obj, "weight", format!("{out_of_range} of {n} weights are outside {range} and were clipped, as Lava's Dense does (e.g. {}: {w} -> {c})", syn_name(i, &synapses[i])))
                    .with_hint("scale the weights into the range and use loihi.weight_exp for the magnitude"),
            );
        }
    }
    if let Some((i, c, t)) = trunc_ex {
        let how = if k == 1 { "to even".to_string() } else { format!("to multiples of {}", 1u32 << k) };
        let magnitude_bits = bits as i32 - (mode == SignMode::Mixed) as i32;
        d.push(note(
            "Q114",
            &obj,
            "weight",
            format!(
                "{truncated} of {n} weights truncated {how} ({c} -> {t} at {}): {} sign mode with {bits} weight bits keeps {magnitude_bits} magnitude bits, as Lava does",
                syn_name(i, &synapses[i]),
                mode_name(mode)
            ),
        ));
    }
    if let Some((i, c)) = zero_ex {
        d.push(
            Diagnostic::warning("Q115", &obj, "weight", format!("{zeroed} of {n} non-zero weights truncate to 0 (e.g. {}: {c}); these synapses have no effect", syn_name(i, &synapses[i])))
                .with_hint("increase loihi.num_weight_bits, use the EXCITATORY/INHIBITORY sign mode (one more magnitude bit), or scale the weights up and lower loihi.weight_exp"),
        );
    }
    if delayed > 0 {
        d.push(
            note("Q116", &obj, "delay_ms", format!("{delayed} of {n} synapses have delays above one step (up to {max_delay}): Lava's Dense has a fixed one-step delay (its DelayDense models synaptic delays); the emulator runs them with a delay line, beyond what Lava's Dense does")),
        );
    }
    (out, params, d)
}

// ------------------------------------------------------------------ learning

/// The learning configuration of a sum-of-products rule: the kernel's
/// [`LearningParams`] (with `sign_mode` MIXED, LearningDense's default —
/// the caller sets the projection's; [`quantize`] does) and the parsed
/// rules.
///
/// * Rule strings are parsed with the kernel's parser (error `Q120` with the
///   byte offset); all `u_k` must agree.
/// * Products: a constant outside the hardware's 8-bit field → note `Q125`
///   (Lava uses it unchanged); a product whose factor widths can overflow
///   Lava's int32 → warning `Q126`; a product wider than 15 bits, whose low
///   bits Lava drops before the exponent shift → note `Q127`.
/// * Traces (unset = impulse 0, tau 0): impulse in [0, 127] and tau ≥ 0,
///   finite (error `Q121`); the impulse is split into an integer and an
///   8-bit fraction (note `Q122` when a fraction is present: its rounding
///   and Lava's 7-bit random quirk); `E = lava_decay_factor(tau)`, tau = 0 →
///   `E = 0` (zero every step); a host-dependent `E` → note `Q128`.
/// * `t_epoch` 0 = 1, else 1..=63 (error `Q123`).
/// * `rng_seed`: the rule's, or else `network_seed` (note `Q124`: Lava
///   would pick a random one).
pub fn learning(rule_name: &str, s: &ir::SumOfProducts, network_seed: u64) -> (LearningParams, RuleSet, Diagnostics) {
    let obj = format!("plasticity rule '{rule_name}'");
    let mut d = Diagnostics::default();
    let mut set = RuleSet::default();
    for (field, target, text) in [("dw", Target::Dw, &s.dw), ("dd", Target::Dd, &s.dd), ("dt", Target::Dt, &s.dt)] {
        if text.trim().is_empty() {
            continue;
        }
        match ProductSeries::parse(target, text) {
            Ok(series) => {
                check_products(&mut d, &obj, field, &series);
                match target {
                    Target::Dw => set.dw = Some(series),
                    Target::Dd => set.dd = Some(series),
                    Target::Dt => set.dt = Some(series),
                }
            }
            Err(e) => d.push(
                Diagnostic::error("Q120", &obj, field, format!("rule string \"{text}\" does not parse at byte {}: {}", e.offset, e.kind))
                    .with_hint("the grammar is Lava's (shared/reference/loihi-lava.md §4), e.g. \"2^-2*x1*y0 - 2^-2*y1*x0\""),
            ),
        }
    }
    if s.dw.trim().is_empty() && s.dd.trim().is_empty() && s.dt.trim().is_empty() {
        d.push(Diagnostic::error("Q120", &obj, "dw", "dw, dd and dt are all empty; expected at least one rule string".to_string()));
    }
    let present: Vec<&ProductSeries> = [&set.dw, &set.dd, &set.dt].into_iter().flatten().collect();
    if let Err(e) = common_decimate_exponent(&present) {
        d.push(Diagnostic::error("Q120", &obj, e.second.0.name(), e.to_string()));
    }
    let trace = |d: &mut Diagnostics, field: &str, t: &Option<ir::Trace>| -> TraceParams {
        let t = t.unwrap_or(ir::Trace { impulse: 0.0, tau: 0.0 });
        trace_params(d, &obj, field, t.impulse, t.tau)
    };
    let x = [trace(&mut d, "x1", &s.x1), trace(&mut d, "x2", &s.x2)];
    let y = [trace(&mut d, "y1", &s.y1), trace(&mut d, "y2", &s.y2), trace(&mut d, "y3", &s.y3)];
    let t_epoch = match s.t_epoch {
        0 => 1,
        t if t <= MAX_T_EPOCH as u32 => t as u8,
        t => {
            d.push(Diagnostic::error("Q123", &obj, "t_epoch", format!("found {t}; expected a learning epoch of 1..={MAX_T_EPOCH} steps (6-bit epoch time)")));
            MAX_T_EPOCH
        }
    };
    let rng_seed = match s.rng_seed {
        Some(v) => v,
        None => {
            d.push(note(
                "Q124",
                &obj,
                "rng_seed",
                format!("not set: the trace random streams use the network seed {network_seed} (Lava would pick a random seed, so its runs would not be reproducible)"),
            ));
            network_seed
        }
    };
    let p = LearningParams { x, y, rng_seed, t_epoch, sign_mode: SignMode::Mixed as u8, _pad: [0; 6] };
    (p, set, d)
}

fn check_products(d: &mut Diagnostics, obj: &str, field: &str, s: &ProductSeries) {
    for (i, p) in s.products().iter().enumerate() {
        for f in p.factors() {
            if let Some(c) = f.constant {
                if !(-128..=127).contains(&c) {
                    d.push(note("Q125", obj, field, format!("product {}: the constant {c} added to {} is outside Loihi's 8-bit constant field (-128..=127); Lava and the emulator use it unchanged", i + 1, f.var.name())));
                }
            }
        }
        let w = p.width();
        if w >= 32 {
            d.push(
                Diagnostic::warning("Q126", obj, field, format!("product {}: its factors and mantissa are {w} bits wide, beyond Lava's int32 product, which then wraps around", i + 1))
                    .with_hint("use fewer or narrower factors in one product"),
            );
        } else if w > 15 {
            d.push(note(
                "Q127",
                obj,
                field,
                format!("product {}: {w} bits wide, so Lava drops its {} low bits before applying the scaling exponent ((... >> {}) << {})", i + 1, w - 15, w - 15, p.stored_exponent()),
            ));
        }
    }
}

fn trace_params(d: &mut Diagnostics, obj: &str, field: &str, impulse: f64, tau: f64) -> TraceParams {
    let mut ok = true;
    if !(impulse.is_finite() && (0.0..=127.0).contains(&impulse)) {
        d.push(Diagnostic::error("Q121", obj, format!("{field}.impulse"), format!("found {impulse}; expected an impulse in [0, 127] (7-bit trace)")));
        ok = false;
    }
    if !(tau.is_finite() && tau >= 0.0) {
        d.push(Diagnostic::error("Q121", obj, format!("{field}.tau"), format!("found {tau}; expected a finite time constant >= 0 steps (0 zeroes the trace every step)")));
        ok = false;
    }
    if !ok {
        return TraceParams::OFF;
    }
    let e = lava_decay_factor(tau);
    if e >= 1.0 {
        d.push(Diagnostic::error("Q121", obj, format!("{field}.tau"), format!("tau {tau} is so large that exp(-1/tau) rounds to 1.0; expected a decay factor below 1")));
        return TraceParams::OFF;
    }
    if tau > 0.0 {
        let cr = exp_correctly_rounded(-1.0 / tau);
        if !decay_factor_is_tabulated(tau) {
            d.push(note(
                "Q128",
                obj,
                &format!("{field}.tau"),
                format!(
                    "tau {tau} is not an integer in 1..={TABULATED_TAU_MAX}: the decay factor is the correctly rounded exp(-1/tau) = {} (Lava's value on hosts without AVX-512); Lava on an AVX-512 host (numpy's SVML exp) may differ by one ulp",
                    hex_f64(e)
                ),
            ));
        } else if cr != e {
            d.push(note(
                "Q128",
                obj,
                &format!("{field}.tau"),
                format!(
                    "Lava's decay factor exp(-1/{tau}) depends on its host: numpy's SVML exp on AVX-512 hosts gives {} (used, as in the fixtures), a correctly rounded exp (numpy elsewhere, glibc) gives {}",
                    hex_f64(e),
                    hex_f64(cr)
                ),
            ));
        }
    }
    let Some(tp) = TraceParams::from_impulse(impulse, e) else {
        d.push(Diagnostic::error("Q121", obj, format!("{field}.impulse"), format!("impulse {impulse} with decay factor {} is not a valid trace", hex_f64(e))));
        return TraceParams::OFF;
    };
    if impulse.fract() != 0.0 {
        let stored = tp.impulse_int as f64 + tp.impulse_frac as f64 / 256.0;
        let exact = if stored == impulse { String::new() } else { format!(", rounded from {impulse} to 1/256") };
        let p_up = (2.0 * tp.impulse_frac as f64 / 256.0).min(1.0);
        d.push(note(
            "Q122",
            obj,
            &format!("{field}.impulse"),
            format!(
                "impulse {impulse} is stored as {} + {}/256 = {stored}{exact}; the fraction rounds up against a 7-bit random, so each impulse adds {} with probability {p_up} instead of {} (Lava quirk: fractions >= 0.5 always round up)",
                tp.impulse_int,
                tp.impulse_frac,
                tp.impulse_int as u32 + 1,
                tp.impulse_frac as f64 / 256.0
            ),
        ));
    }
    tp
}

// ------------------------------------------------------------------ whole network

/// One population of the loihi profile.
#[derive(Debug, Clone, PartialEq)]
pub enum LoihiPopulation {
    /// A Lava LIF population.
    Lif { params: LifParams, init: LifInit, size: u32 },
    /// A spike source (its trains are in the expanded network).
    Source,
}

/// One projection of the loihi profile.
#[derive(Debug, Clone, PartialEq)]
pub struct LoihiProjection {
    /// Prepared weights, one per synapse in `ExpProjection::synapses` order,
    /// signed by the receptor.
    pub weights: Vec<i16>,
    pub dense: DenseParams,
    /// Learning configuration and rules of a plastic projection (its
    /// `sign_mode` is the projection's).
    pub learning: Option<(LearningParams, RuleSet)>,
}

/// The loihi profile's numbers for an expanded network, in the expanded
/// network's order. Entries whose diagnostics contain errors hold clamped
/// placeholder values.
#[derive(Debug, Clone, PartialEq)]
pub struct LoihiQuantized {
    pub populations: Vec<Option<LoihiPopulation>>,
    pub projections: Vec<LoihiProjection>,
}

/// Quantizes every population, projection and rule of `exp` (expanded from
/// `net`). Weights of an inhibitory receptor are made non-positive, of an
/// excitatory one non-negative (the receptor gives the sign, PyNN
/// convention); `signed` keeps them.
pub fn quantize(net: &ir::Network, exp: &Expanded) -> (LoihiQuantized, Diagnostics) {
    let mut d = Diagnostics::default();
    let mut populations = Vec::with_capacity(exp.populations.len());
    for p in &exp.populations {
        populations.push(match &p.model {
            ExpModel::LavaLif(m) => {
                let (params, init, dd) = lif_params(&p.name, m);
                d.0.extend(dd.0);
                Some(LoihiPopulation::Lif { params, init, size: p.size })
            }
            ExpModel::Source(_) => Some(LoihiPopulation::Source),
            ExpModel::IfCurrExp(_) => {
                d.push(Diagnostic::error("Q102", format!("population '{}'", p.name), "model", "IF_curr_exp neurons run on the spinnaker profile, not the loihi profile; expected lava_lif".to_string()));
                None
            }
        });
    }
    let mut projections = Vec::with_capacity(exp.projections.len());
    for pr in &exp.projections {
        let synapses: Vec<Synapse> = pr
            .synapses
            .iter()
            .map(|s| {
                let weight = match pr.receptor {
                    ir::Receptor::Inhibitory => -s.weight.abs(),
                    ir::Receptor::Excitatory => s.weight.abs(),
                    _ => s.weight,
                };
                Synapse { weight, ..*s }
            })
            .collect();
        let (n_pre, n_post) = (exp.populations[pr.pre].size, exp.populations[pr.post].size);
        let (weights, dense, dd) = dense_weights(&pr.name, &synapses, n_pre, n_post, &pr.loihi, pr.plasticity.is_some());
        d.0.extend(dd.0);
        let learning = pr.plasticity.and_then(|i| net.plasticity_rules.get(i)).and_then(|rule| match &rule.rule {
            Some(ir::plasticity_rule::Rule::SumOfProducts(s)) => {
                let (mut lp, rules, dd) = learning(&rule.name, s, net.seed);
                d.0.extend(dd.0);
                lp.sign_mode = dense.sign_mode;
                Some((lp, rules))
            }
            _ => {
                d.push(Diagnostic::error(
                    "Q120",
                    format!("projection '{}'", pr.name),
                    "plasticity",
                    format!("rule '{}' is not a sum_of_products rule; the loihi profile runs only Lava's sum-of-products learning", rule.name),
                ));
                None
            }
        });
        projections.push(LoihiProjection { weights, dense, learning });
    }
    (LoihiQuantized { populations, projections }, d)
}

// ------------------------------------------------------------------ exp

/// Lava's trace decay factor `exp(-1/tau)` as numpy 1.26 computes it on the
/// fixtures' kind of host (x86-64 with AVX-512 SKX, where `np.exp` calls
/// Intel SVML's `__svml_exp8_ha`): the correctly rounded value
/// ([`exp_correctly_rounded`] of the float64 `-1/tau`), moved by the one ulp
/// recorded in [`NUMPY_SVML_EXCEPTIONS`] for the integer tau in 1..=4096
/// where SVML is not correctly rounded (2818 of them, each one ulp off).
/// Other tau get the correctly rounded value ([`decay_factor_is_tabulated`]
/// tells which; [`learning`] notes the others). `tau = 0` → `0.0` (numpy's
/// `exp(-inf)`: the trace is zeroed every step). Negative or NaN tau → NaN.
pub fn lava_decay_factor(tau: f64) -> f64 {
    if tau == 0.0 {
        return 0.0;
    }
    if tau.is_nan() || tau < 0.0 {
        return f64::NAN;
    }
    let cr = exp_correctly_rounded(-1.0 / tau);
    match numpy_svml_offset(tau) {
        Some(d) if d != 0 => f64::from_bits((cr.to_bits() as i64 + d as i64) as u64),
        _ => cr,
    }
}

/// Whether `tau` is an integer in 1..=[`TABULATED_TAU_MAX`], for which
/// [`lava_decay_factor`] is numpy's exact bit pattern on an AVX-512 host.
pub fn decay_factor_is_tabulated(tau: f64) -> bool {
    numpy_svml_offset(tau).is_some()
}

/// Largest tau of [`NUMPY_SVML_EXCEPTIONS`].
pub const TABULATED_TAU_MAX: u32 = 4096;

/// numpy's `exp(-1/tau)` minus the correctly rounded value, in ulps, for an
/// integer tau in 1..=4096: +1, -1 or 0.
fn numpy_svml_offset(tau: f64) -> Option<i8> {
    if !((1.0..=TABULATED_TAU_MAX as f64).contains(&tau) && tau.fract() == 0.0) {
        return None;
    }
    let i = tau as usize - 1;
    Some(match (NUMPY_SVML_EXCEPTIONS[i / 32] >> (2 * (i % 32))) & 3 {
        1 => 1,
        2 => -1,
        _ => 0,
    })
}

/// Where numpy 1.26.4's `np.exp(-1/np.array([tau]))` on an AVX-512 SKX host
/// (SVML `__svml_exp8_ha`) is not the correctly rounded `exp(-1/tau)`, for
/// tau = 1..=4096: two bits per tau, tau = 32 w + j + 1 in bits 2j..2j+1 of
/// word w; 0 = correctly rounded, 1 = one ulp above, 2 = one ulp below.
/// 2818 entries are non-zero (2815 above; 6, 8, 13 below). Measured with numpy 1.26.4
/// (the fixtures' version) on this project's machine; the peer test
/// `compiler/tests/quantize_loihi.rs` re-checks every entry against numpy.
pub const NUMPY_SVML_EXCEPTIONS: [u64; 128] = [
    0x1145440002108801, 0x0051155555105454, 0x4455045104150441, 0x4001045014510001,
    0x5554514010415545, 0x5541545444514540, 0x5555511555545510, 0x5515555554555555,
    0x5545555455551554, 0x5555554455555555, 0x5555555555555555, 0x5551555555555554,
    0x4555551155555555, 0x5555555555555155, 0x5555551555155555, 0x1515555545555555,
    0x5551555555155551, 0x0555515555515555, 0x5555515555555555, 0x5555555455555555,
    0x5555555155555555, 0x5551555554555545, 0x5111544451155515, 0x5545555554555504,
    0x0455555515155554, 0x5551540551155555, 0x5515451455545555, 0x5550555445545515,
    0x4155515114545554, 0x1505415154555105, 0x5555455515555541, 0x5151455154155545,
    0x5554014555555554, 0x0545555515455554, 0x5555105105555555, 0x5550451145505041,
    0x4510441445555505, 0x1451155544555550, 0x4554555515514554, 0x4005044151555554,
    0x5554154545115550, 0x5144554505041550, 0x0554555555550455, 0x0155145155541515,
    0x1415141445154545, 0x5555105551545515, 0x1054014555005451, 0x1555554555455554,
    0x1455155541055455, 0x1551451555005055, 0x5150554441105050, 0x5115541550105055,
    0x1554100415455555, 0x0154144105414550, 0x4145155555515444, 0x1541451411450555,
    0x5155444555445155, 0x5515445151550515, 0x5514445440140454, 0x1550144555404151,
    0x5541410555454154, 0x1455554145414545, 0x5541555111545104, 0x0004401415154041,
    0x5551541515501100, 0x4554441545041051, 0x4551454441155141, 0x5141515515450514,
    0x4050554415051550, 0x5505101551510550, 0x5545114551515515, 0x1155155004151445,
    0x5145411014555154, 0x5541511555114054, 0x5441541154510515, 0x1505104515455155,
    0x5054514111011054, 0x5545455551110414, 0x5444145555145511, 0x4115015554545015,
    0x1514155454550505, 0x0440155115505554, 0x5141154151554555, 0x5111115455555155,
    0x1155514551154550, 0x5145011155401555, 0x1514415515505050, 0x4410514551144545,
    0x0550515151451115, 0x5554154154445515, 0x0015450400444455, 0x0415515445440515,
    0x1545551545515414, 0x4144410454515554, 0x5044515454541140, 0x4151544505550505,
    0x1045051045515545, 0x0515550455510041, 0x5544451550101551, 0x5414155414405144,
    0x0451541541504141, 0x0555541050551114, 0x0501541054544151, 0x1015555015504445,
    0x4555444541455015, 0x5505500141011441, 0x1044005144041455, 0x1455505055151155,
    0x1045405050541114, 0x4114515115415145, 0x5104010454414445, 0x4401555115551450,
    0x5545451115550044, 0x0141405054451015, 0x5404444441005155, 0x0041145105055055,
    0x5544544540444504, 0x5044151451411415, 0x4114555054110541, 0x4155041144514544,
    0x5454545551445404, 0x5544514450501544, 0x0415555515440151, 0x5115450504544145,
    0x1545140144414514, 0x5055041040155004, 0x5415410515401051, 0x5405511545100001,
];

/// `2^m` for -1022 <= m <= 1023.
fn pow2(m: i32) -> f64 {
    f64::from_bits(((m + 1023) as u64) << 52)
}

/// `exp(x)` correctly rounded (round to nearest) for `x <= 0`: the value
/// numpy gives on hosts without AVX-512 and libm gives wherever libm is
/// correctly rounded (glibc is, for every `-1/tau` with tau = 1..=4096).
/// Computed in multi-limb fixed point (384 fractional bits, more if the
/// result lies too close to a rounding boundary) and rounded once,
/// subnormal results included. NaN or positive `x` → NaN.
pub fn exp_correctly_rounded(x: f64) -> f64 {
    if x.is_nan() || x > 0.0 {
        return f64::NAN;
    }
    let y = -x;
    // exp(-y) lies in (1 - 2^-54, 1] and rounds to 1
    if y <= f64::from_bits(0x3C90000000000000) {
        return 1.0;
    }
    // exp(-746) < 2^-1076: rounds to 0
    if y >= 746.0 {
        return 0.0;
    }
    let mut f = 6;
    loop {
        if let Some(v) = exact::exp_neg(y, f) {
            return v;
        }
        if f >= 48 {
            // unreachable for binary64 inputs (exp of a non-zero rational is
            // never a rounding midpoint and binary64's hardest cases need
            // well under 384 bits); keep a defined result anyway
            return exact::exp_neg_nearest(y, f);
        }
        f *= 2;
    }
}

mod exact {
    //! Non-negative fixed-point numbers with `f` 64-bit fractional limbs
    //! and one integer limb, just enough to evaluate exp(-y) with a proven
    //! error bound.
    use super::Ordering;

    #[derive(Clone, Debug)]
    pub(super) struct Fx {
        f: usize,
        l: Vec<u64>,
    }

    impl Fx {
        fn zero(f: usize) -> Fx {
            Fx { f, l: vec![0; f + 1] }
        }
        fn one(f: usize) -> Fx {
            Fx::pow2(f, 0)
        }
        /// `2^e`, for -64f <= e < 64.
        fn pow2(f: usize, e: i64) -> Fx {
            let mut z = Fx::zero(f);
            let pos = (e + 64 * f as i64) as usize;
            z.l[pos / 64] = 1 << (pos % 64);
            z
        }
        fn is_zero(&self) -> bool {
            self.l.iter().all(|&x| x == 0)
        }
        fn add(&self, o: &Fx) -> Fx {
            let mut r = Fx::zero(self.f);
            let mut carry = 0u128;
            for i in 0..self.l.len() {
                let s = self.l[i] as u128 + o.l[i] as u128 + carry;
                r.l[i] = s as u64;
                carry = s >> 64;
            }
            r
        }
        /// `self - o`, for `self >= o`.
        fn sub(&self, o: &Fx) -> Fx {
            let mut r = Fx::zero(self.f);
            let mut borrow = 0i128;
            for i in 0..self.l.len() {
                let s = self.l[i] as i128 - o.l[i] as i128 - borrow;
                r.l[i] = s as u64;
                borrow = (s < 0) as i128;
            }
            r
        }
        pub(super) fn cmp(&self, o: &Fx) -> Ordering {
            for i in (0..self.l.len()).rev() {
                match self.l[i].cmp(&o.l[i]) {
                    Ordering::Equal => {}
                    c => return c,
                }
            }
            Ordering::Equal
        }
        /// `floor(self · o)` (products below 2^64).
        fn mul(&self, o: &Fx) -> Fx {
            let n = self.l.len();
            let mut p = vec![0u64; 2 * n];
            for i in 0..n {
                let mut carry = 0u128;
                for j in 0..n {
                    let t = self.l[i] as u128 * o.l[j] as u128 + p[i + j] as u128 + carry;
                    p[i + j] = t as u64;
                    carry = t >> 64;
                }
                p[i + n] = carry as u64;
            }
            Fx { f: self.f, l: p[self.f..self.f + n].to_vec() }
        }
        fn mul_small(&self, m: u64) -> Fx {
            let mut r = Fx::zero(self.f);
            let mut carry = 0u128;
            for i in 0..self.l.len() {
                let t = self.l[i] as u128 * m as u128 + carry;
                r.l[i] = t as u64;
                carry = t >> 64;
            }
            r
        }
        fn div_small(&self, d: u64) -> Fx {
            let mut r = Fx::zero(self.f);
            let mut rem = 0u128;
            for i in (0..self.l.len()).rev() {
                let cur = rem << 64 | self.l[i] as u128;
                r.l[i] = (cur / d as u128) as u64;
                rem = cur % d as u128;
            }
            r
        }
        /// The exact value of a finite `y` in [2^-107, 2^63).
        fn from_f64(f: usize, y: f64) -> Fx {
            let bits = y.to_bits();
            let e = ((bits >> 52) & 0x7FF) as i64;
            let m = (bits & ((1 << 52) - 1)) | 1 << 52;
            let pos = e - 1075 + 64 * f as i64; // bit position of m's lsb
            let mut z = Fx::zero(f);
            let (w, b) = ((pos / 64) as usize, (pos % 64) as u32);
            let wide = (m as u128) << b;
            z.l[w] = wide as u64;
            if w + 1 < z.l.len() {
                z.l[w + 1] = (wide >> 64) as u64;
            }
            z
        }
        /// `floor(self · 2^bits)` as an integer, for results below 2^64 and
        /// bits <= 64f; and the remaining fraction `self·2^bits - floor`, as
        /// a fixed-point number.
        fn split(&self, bits: u32) -> (u64, Fx) {
            let shift = 64 * self.f as u32 - bits; // position of the unit bit of the result
            let mut int: u128 = 0;
            for i in (0..self.l.len()).rev() {
                let lo = 64 * i as u32;
                if lo + 64 <= shift {
                    break;
                }
                let part = self.l[i] as u128;
                if lo >= shift {
                    int |= part << (lo - shift);
                } else {
                    int |= part >> (shift - lo);
                }
            }
            let mut frac = self.clone();
            for i in 0..frac.l.len() {
                let lo = 64 * i as u32;
                if lo >= shift {
                    frac.l[i] = 0;
                } else if lo + 64 > shift {
                    frac.l[i] &= (1u64 << (shift - lo)) - 1;
                }
            }
            // scale the fraction up by 2^bits so it is in [0, 1)
            let mut scaled = Fx::zero(self.f);
            for i in 0..frac.l.len() {
                let v = frac.l[i] as u128;
                let pos = 64 * i as u32 + bits;
                let (w, b) = ((pos / 64) as usize, pos % 64);
                if w < scaled.l.len() {
                    let wide = v << b;
                    scaled.l[w] |= wide as u64;
                    if w + 1 < scaled.l.len() {
                        scaled.l[w + 1] |= (wide >> 64) as u64;
                    }
                }
            }
            (int as u64, scaled)
        }
    }

    /// ln 2 = Σ_{k>=1} 1 / (k 2^k), with an error below 64f + 1 units of the last place.
    fn ln2(f: usize) -> Fx {
        let mut s = Fx::zero(f);
        for k in 1..=(64 * f as i64) {
            let t = Fx::pow2(f, -k).div_small(k as u64);
            s = s.add(&t);
        }
        s
    }

    /// `E = exp(-y)·2^k` in (0.5, 1] and `k`, with |error| < 2^24 units.
    fn reduce(y: f64, f: usize) -> (Fx, i64) {
        let l2 = ln2(f);
        let yy = Fx::from_f64(f, y);
        let mut k = (y / std::f64::consts::LN_2).floor() as i64;
        let mut kl = l2.mul_small(k as u64);
        while kl.cmp(&yy) == Ordering::Greater {
            k -= 1;
            kl = l2.mul_small(k as u64);
        }
        loop {
            let next = l2.mul_small((k + 1) as u64);
            if next.cmp(&yy) == Ordering::Greater {
                break;
            }
            k += 1;
            kl = next;
        }
        let r = yy.sub(&kl); // in [0, ln 2)
        let mut term = Fx::one(f);
        let mut pos = Fx::one(f);
        let mut neg = Fx::zero(f);
        let mut n = 1u64;
        loop {
            term = term.mul(&r).div_small(n);
            if term.is_zero() || n > 100_000 {
                break;
            }
            if n % 2 == 1 {
                neg = neg.add(&term);
            } else {
                pos = pos.add(&term);
            }
            n += 1;
        }
        (pos.sub(&neg), k)
    }

    /// Rounding of `E·2^-k` to binary64: the quantum in units of E is
    /// `2^-qb`; returns (qb, rounded integer n, the fraction of E·2^qb).
    fn round_parts(e: &Fx, k: i64) -> Option<(u32, u64, Fx)> {
        if k >= 1075 {
            return None;
        }
        let qb = 53.min(1074 - k) as u32;
        let (n, frac) = e.split(qb);
        Some((qb, n, frac))
    }

    fn assemble(n: u64, qb: u32, k: i64) -> f64 {
        // n < 2^53 + 1 is exact in f64; the value n·2^-(qb+k) is
        // representable, so both power-of-two steps are exact
        let total = qb as i64 + k;
        let mut v = n as f64;
        let mut rest = total;
        while rest > 0 {
            let step = rest.min(1000);
            v *= super::pow2(-step as i32);
            rest -= step;
        }
        v
    }

    /// The correctly rounded exp(-y), or `None` if the approximation is
    /// too close to a rounding boundary at this precision.
    pub(super) fn exp_neg(y: f64, f: usize) -> Option<f64> {
        let (e, k) = reduce(y, f);
        let Some((qb, n, frac)) = round_parts(&e, k) else {
            return Some(0.0);
        };
        // error of E < 2^24 units = 2^(24 - 64f); in units of the quantum: times 2^qb
        let margin = Fx::pow2(f, 24 + qb as i64 - 64 * f as i64);
        let half = Fx::pow2(f, -1);
        let lo = half.sub(&margin);
        let hi = half.add(&margin);
        if frac.cmp(&lo) == Ordering::Less {
            Some(assemble(n, qb, k))
        } else if frac.cmp(&hi) == Ordering::Greater {
            Some(assemble(n + 1, qb, k))
        } else {
            None
        }
    }

    /// Round to nearest at precision `f` without the safety margin.
    pub(super) fn exp_neg_nearest(y: f64, f: usize) -> f64 {
        let (e, k) = reduce(y, f);
        match round_parts(&e, k) {
            None => 0.0,
            Some((qb, n, frac)) => {
                let up = frac.cmp(&Fx::pow2(f, -1)) == Ordering::Greater;
                assemble(n + up as u64, qb, k)
            }
        }
    }
}

/// `x` in Python's `float.hex()` form (`0x1.cf46d99d52b3ap-1`), for
/// messages and for comparing with the fixtures' `trace_decay_factor_hex`.
pub fn hex_f64(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_infinite() {
        return format!("{sign}inf");
    }
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7FF) as i64;
    let m = bits & ((1 << 52) - 1);
    if e == 0 && m == 0 {
        return format!("{sign}0x0.0p+0");
    }
    let (lead, exp) = if e == 0 { (0, -1022) } else { (1, e - 1023) };
    let digits = format!("{m:013x}");
    let es = if exp >= 0 { format!("+{exp}") } else { exp.to_string() };
    format!("{sign}0x{lead}.{digits}p{es}")
}
