//! Quantization for the `spinnaker` profile (sPyNNaker's numerics).
//!
//! * Neuron and synapse parameters are written as s16.15 exactly as
//!   sPyNNaker's host does (`DataType.S1615`: `rint(x·32768)`, out of range is
//!   an error); the constants derived from them (exp_TC, R, T_refract, synaptic
//!   decays) are computed on the core by the kernel, as on the chip.
//! * Weights: one ring-buffer left shift per (post population, receptor),
//!   chosen as sPyNNaker chooses it from the maximum summed weight of the
//!   incoming projections; `w16 = rint(|w|·2^(15-shift))`.
//!
//! Diagnostics (codes `Q0xx`, see docs/diagnostics.md): a parameter out of
//! the s16.15 range (error), a weight that rounds to zero (warning), a weight
//! above 16 bits (error), a decay that collapses to 0 or 1 (warning), a
//! ring buffer that can saturate in the worst case (warning), and the
//! relative weight error introduced (note).

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::expand::{ExpModel, Expanded};
use crate::ir;
use spikeforge_kernel::fixed::{S1615, U032};
use spikeforge_kernel::spinnaker::host::{self, MaxWeightEstimator, ProjectionStats, QuantKind};
use spikeforge_kernel::spinnaker::lif::{LifParams, LifState, ThresholdParams};
use spikeforge_kernel::spinnaker::synapse::{ExpParams, ExpSynapseParams, ExpSynState};

/// sPyNNaker's default `ring_buffer_sigma` (spynnaker.cfg).
pub const RING_BUFFER_SIGMA: f64 = 5.0;
/// sPyNNaker's default `spikes_per_second` for sources without a rate (spynnaker.cfg).
pub const DEFAULT_SPIKES_PER_SECOND: f64 = 30.0;

/// The quantized parameters of one `IF_curr_exp` population (one entry per neuron).
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronBlock {
    pub lif: Vec<LifParams>,
    pub threshold: Vec<ThresholdParams>,
    pub synapse: Vec<ExpSynapseParams>,
    /// `ring_buffer_to_input_left_shifts` for excitatory (0) and inhibitory (1).
    pub left_shifts: [u32; 2],
}

/// Result of the pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// Per population: `Some` for IF_curr_exp, `None` for spike sources.
    pub populations: Vec<Option<NeuronBlock>>,
    /// Per projection, per synapse (in `Expanded` order): the 16-bit weight.
    pub weights: Vec<Vec<u16>>,
    /// Per projection: the synapse type (0 excitatory, 1 inhibitory).
    pub synapse_type: Vec<u32>,
    /// The STDP rules and plastic weights ([`super::spinnaker_stdp`]).
    pub plastic: super::spinnaker_stdp::Plastic,
    pub diagnostics: Diagnostics,
}

fn s1615(d: &mut Diagnostics, object: &str, field: &str, x: f64) -> S1615 {
    match S1615::from_f64_host(x) {
        Ok(v) => v,
        Err(e) => {
            d.push(
                Diagnostic::error("Q001", object, field, format!("{x} cannot be written as s16.15 ({e:?}); the representable range is [-65536, 65535.99997]"))
                    .with_hint("rescale the parameter's units (e.g. weights in nA, times in ms)"),
            );
            S1615::ZERO
        }
    }
}

fn pop_obj(name: &str) -> String {
    format!("population '{name}'")
}

/// The receptor's synapse type on a SpiNNaker core.
pub fn synapse_type(r: ir::Receptor) -> u32 {
    match r {
        ir::Receptor::Inhibitory => 1,
        _ => 0,
    }
}

/// Rate (Hz) sPyNNaker assumes for a source population in the weight-scale estimate.
fn source_rate(net: &ir::Network, pop: usize) -> f64 {
    match &net.populations[pop].model {
        Some(ir::population::Model::SpikeSourcePoisson(p)) if p.rate_hz > 0.0 => p.rate_hz,
        _ => DEFAULT_SPIKES_PER_SECOND,
    }
}

/// Runs the pass with sPyNNaker's 16-bit plastic weights. `exp` must come
/// from `net`; `n_steps_per_timestep` is 1 unless the user asked for neuron
/// sub-steps.
pub fn quantize(net: &ir::Network, exp: &Expanded) -> Quantized {
    quantize_with(net, exp, super::spinnaker_stdp::PlasticWeightBits::Sixteen)
}

/// Runs the pass, storing plastic weights with `plastic_bits`
/// ([`super::spinnaker_stdp`]).
pub fn quantize_with(net: &ir::Network, exp: &Expanded, plastic_bits: super::spinnaker_stdp::PlasticWeightBits) -> Quantized {
    let mut d = Diagnostics::default();
    let dt = exp.dt_ms;
    let steps_per_second = 1000.0 / dt;
    let mut populations: Vec<Option<NeuronBlock>> = Vec::with_capacity(exp.populations.len());
    for p in &exp.populations {
        let obj = pop_obj(&p.name);
        let m = match &p.model {
            ExpModel::IfCurrExp(m) => m,
            ExpModel::Source(_) => {
                populations.push(None);
                continue;
            }
            ExpModel::LavaLif(_) => {
                d.push(Diagnostic::error(
                    "Q002",
                    obj,
                    "model",
                    "lava_lif neurons run on the loihi profile; the spinnaker profile runs IF_curr_exp".to_string(),
                ).with_hint("compile with --profile loihi"));
                populations.push(None);
                continue;
            }
        };
        let lif = LifParams {
            v_init: s1615(&mut d, &obj, "v_init_mv", m.v_init_mv.unwrap_or(m.v_rest_mv)),
            v_rest: s1615(&mut d, &obj, "v_rest_mv", m.v_rest_mv),
            c_m: s1615(&mut d, &obj, "cm_nf", m.cm_nf),
            tau_m: s1615(&mut d, &obj, "tau_m_ms", m.tau_m_ms),
            i_offset: s1615(&mut d, &obj, "i_offset_na", m.i_offset_na),
            v_reset: s1615(&mut d, &obj, "v_reset_mv", m.v_reset_mv),
            t_refract_ms: s1615(&mut d, &obj, "tau_refrac_ms", m.tau_refrac_ms),
            refract_timer_init: 0,
            time_step: s1615(&mut d, &obj, "dt_ms", dt),
        };
        let threshold = ThresholdParams { v_thresh: s1615(&mut d, &obj, "v_thresh_mv", m.v_thresh_mv) };
        let synapse = ExpSynapseParams {
            exc: ExpParams { tau: s1615(&mut d, &obj, "tau_syn_e_ms", m.tau_syn_e_ms), init_input: S1615::ZERO },
            inh: ExpParams { tau: s1615(&mut d, &obj, "tau_syn_i_ms", m.tau_syn_i_ms), init_input: S1615::ZERO },
            time_step_ms: lif.time_step,
        };
        check_decays(&mut d, &obj, &lif, &synapse);
        let n = p.size as usize;
        let mut lifs = vec![lif; n];
        if let Some(v) = &p.v_init {
            for (l, &x) in lifs.iter_mut().zip(v) {
                l.v_init = s1615(&mut d, &obj, "v_init_distribution_mv", x);
            }
        }
        populations.push(Some(NeuronBlock {
            lif: lifs,
            threshold: vec![threshold; n],
            synapse: vec![synapse; n],
            left_shifts: [0, 0],
        }));
    }

    // Ring-buffer shifts per (post population, synapse type), as sPyNNaker.
    let mut estimators: Vec<[MaxWeightEstimator; 2]> = exp.populations.iter().map(|_| [MaxWeightEstimator::new(1.0), MaxWeightEstimator::new(1.0)]).collect();
    let synapse_types: Vec<u32> = exp.projections.iter().map(|p| synapse_type(p.receptor)).collect();
    for (k, proj) in exp.projections.iter().enumerate() {
        if proj.synapses.is_empty() || populations[proj.post].is_none() {
            continue;
        }
        let n = proj.synapses.len() as f64;
        let mags: Vec<f64> = proj.synapses.iter().map(|s| s.weight.abs()).collect();
        let (mean, var, wmax) = match super::spinnaker_stdp::estimator_weights(net, proj) {
            // STDP: mean = max = the largest weight the rule can reach, variance 0 (as sPyNNaker)
            Some(w) => (w, 0.0, w),
            None => {
                let mean = mags.iter().sum::<f64>() / n;
                let var = if n > 1.0 { mags.iter().map(|w| (w - mean) * (w - mean)).sum::<f64>() / (n - 1.0) } else { 0.0 };
                (mean, var, mags.iter().cloned().fold(0.0, f64::max))
            }
        };
        let dmean = proj.synapses.iter().map(|s| s.delay as f64 * dt).sum::<f64>() / n;
        let dvar = proj.synapses.iter().map(|s| (s.delay as f64 * dt - dmean).powi(2)).sum::<f64>() / n;
        let mut indeg = vec![0u64; exp.populations[proj.post].size as usize];
        for s in &proj.synapses {
            indeg[s.post as usize] += 1;
        }
        let rate = source_rate(net, proj.pre);
        estimators[proj.post][synapse_types[k] as usize].add_projection(&ProjectionStats {
            n_connections: indeg.iter().copied().max().unwrap_or(0),
            weight_mean: mean,
            weight_variance: var,
            weight_max: wmax,
            delay_variance: dvar,
            spikes_per_tick: host::default_spikes_per_tick(rate, steps_per_second),
            spikes_per_second: rate,
        });
    }
    for (i, block) in populations.iter_mut().enumerate() {
        let Some(block) = block else { continue };
        for t in 0..2 {
            let max_w = estimators[i][t].max_weight(RING_BUFFER_SIGMA, steps_per_second).unwrap_or(0.0);
            block.left_shifts[t] = if max_w > 0.0 {
                match host::ring_buffer_shift(max_w) {
                    Ok(s) => s,
                    Err(e) => {
                        d.push(Diagnostic::error("Q003", pop_obj(&exp.populations[i].name), if t == 0 { "weight (excitatory)" } else { "weight (inhibitory)" }, format!("no ring-buffer shift for a maximum summed weight of {max_w}: {e:?}")));
                        0
                    }
                }
            } else {
                0
            };
        }
    }

    // Weights.
    let mut weights = Vec::with_capacity(exp.projections.len());
    for (k, proj) in exp.projections.iter().enumerate() {
        let obj = format!("projection '{}'", proj.name);
        let Some(block) = &populations[proj.post] else {
            weights.push(vec![0; proj.synapses.len()]);
            continue;
        };
        let t = synapse_types[k] as usize;
        let scale = host::weight_scale(block.left_shifts[t], 1.0);
        let mut w16 = Vec::with_capacity(proj.synapses.len());
        let (mut zero, mut over, mut max_rel) = (Vec::new(), Vec::new(), 0.0f64);
        for (j, s) in proj.synapses.iter().enumerate() {
            let q = host::quantize_weight(s.weight, scale);
            match q.kind {
                QuantKind::Ok => {
                    if s.weight != 0.0 {
                        max_rel = max_rel.max(((q.w16 as f64 / scale) - s.weight.abs()).abs() / s.weight.abs());
                    }
                }
                QuantKind::RoundedToZero => zero.push(j),
                QuantKind::Overflow | QuantKind::NotFinite => over.push(j),
            }
            w16.push(if q.kind == QuantKind::Ok || q.kind == QuantKind::RoundedToZero { q.w16 } else { 0 });
        }
        let lsb = 1.0 / scale;
        if !zero.is_empty() {
            let s = proj.synapses[zero[0]];
            d.push(
                Diagnostic::warning(
                    "Q010",
                    &obj,
                    "weight",
                    format!(
                        "{} of {} weights round to zero (e.g. synapse {}→{} weight {}); the weight LSB is {lsb:.3e} with ring-buffer shift {}",
                        zero.len(),
                        proj.synapses.len(),
                        s.pre,
                        s.post,
                        s.weight,
                        block.left_shifts[t]
                    ),
                )
                .with_hint("these synapses have no effect on the chip; increase the weights or reduce the other inputs' maximum"),
            );
        }
        if !over.is_empty() {
            let s = proj.synapses[over[0]];
            d.push(Diagnostic::error(
                "Q011",
                &obj,
                "weight",
                format!("{} weights exceed 16 bits after scaling by 2^{} (e.g. synapse {}→{} weight {})", over.len(), 15 - block.left_shifts[t] as i32, s.pre, s.post, s.weight),
            ));
        }
        if max_rel > 0.0 {
            d.push(Diagnostic {
                severity: Severity::Note,
                ..Diagnostic::error("Q012", &obj, "weight", format!("weights quantized to 16 bits with LSB {lsb:.3e} (shift {}); largest relative error {:.2}%", block.left_shifts[t], max_rel * 100.0))
            });
        }
        weights.push(w16);
    }

    // Worst-case ring-buffer input per post neuron and type.
    for (i, p) in exp.populations.iter().enumerate() {
        if populations[i].is_none() {
            continue;
        }
        let mut worst = vec![[0u64; 2]; p.size as usize];
        for (k, proj) in exp.projections.iter().enumerate() {
            if proj.post != i {
                continue;
            }
            for (s, w) in proj.synapses.iter().zip(&weights[k]) {
                worst[s.post as usize][synapse_types[k] as usize] += *w as u64;
            }
        }
        for t in 0..2 {
            if let Some((n, w)) = worst.iter().enumerate().map(|(n, w)| (n, w[t])).max_by_key(|x| x.1) {
                if w > 0xFFFF {
                    d.push(
                        Diagnostic::warning(
                            "Q013",
                            pop_obj(&p.name),
                            if t == 0 { "input (excitatory)" } else { "input (inhibitory)" },
                            format!("the ring buffer can saturate: if all inputs of neuron {n} arrive in one step they sum to {w} > 65535; sPyNNaker's shift only bounds the expected input"),
                        )
                        .with_hint("saturations are counted at run time (counter ring_buffer_saturations)"),
                    );
                }
            }
        }
    }
    let plastic = super::spinnaker_stdp::quantize(net, exp, &populations, &synapse_types, &weights, plastic_bits, &mut d);
    Quantized { populations, weights, synapse_type: synapse_types, plastic, diagnostics: d }
}

/// A decay that collapses to 0 or 1 on the chip means the dynamics vanish or
/// never decay; computed with the kernel's own on-core initialisation.
fn check_decays(d: &mut Diagnostics, obj: &str, lif: &LifParams, syn: &ExpSynapseParams) {
    if let Some(state) = LifState::initialise(lif, 1) {
        if state.exp_tc == S1615::ZERO {
            d.push(Diagnostic::warning("Q020", obj, "tau_m_ms", "exp(-dt/tau_m) is 0 in s16.15: the membrane forgets its state every step".to_string()));
        } else if state.exp_tc == S1615::ONE {
            d.push(Diagnostic::warning("Q020", obj, "tau_m_ms", "exp(-dt/tau_m) is 1 in s16.15: the membrane never leaks".to_string()));
        }
    } else {
        d.push(Diagnostic::error("Q020", obj, "tau_m_ms", "the on-core initialisation rejects these parameters (a division by zero)".to_string()));
    }
    for (field, p) in [("tau_syn_e_ms", &syn.exc), ("tau_syn_i_ms", &syn.inh)] {
        match ExpSynState::initialise(p, syn.time_step_ms, 1) {
            Some(s) if s.decay == U032(0) => d.push(Diagnostic::warning("Q021", obj, field, "the synaptic decay is 0 in u0.32: inputs last a single step".to_string())),
            Some(s) if s.decay.0 == u32::MAX => d.push(Diagnostic::warning("Q021", obj, field, "the synaptic decay is 1 in u0.32: inputs never decay".to_string())),
            Some(_) => {}
            None => d.push(Diagnostic::error("Q021", obj, field, "the on-core initialisation rejects this time constant".to_string())),
        }
    }
}
