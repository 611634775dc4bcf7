//! Quantization of the free-energy rule (Kappel & Tetzlaff) for the
//! `spinnaker` profile: the host tables of `spikeforge_kernel::spinnaker::fep_host`
//! per post population, the weights as `Uq8p24` and the release seed
//! (docs/fep-rule.md, "Running on the emulator").
//!
//! One table set per core: every free-energy projection onto a population
//! must have the same rule parameters. The tables are built for a 1 ms step
//! (`E[k] = exp(−k/tau)` with k in steps); other `dt` are rejected. The
//! kernel implements the paper's variance form (Eq. 14) and a table depth of
//! 256 steps only. Errors are `Q043`; a note `Q044` reports the memory.

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::expand::{derived_seed, Expanded};
use crate::ir;
use spikeforge_kernel::spinnaker::fep::{FepTables, FEP_N};
use spikeforge_kernel::spinnaker::fep_host::{self, FepHostError, FepHostParams};

/// The quantized free-energy rule of one post population.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationFep {
    /// Tables and constants ([`fep_host::build`]).
    pub tables: Box<FepTables>,
    /// Release-noise seed.
    pub seed: u64,
}

/// `x` unless it is 0 (the IR's "default"), as the reference network reads the rule.
fn or_default(x: f64, default: f64) -> f64 {
    if x == 0.0 {
        default
    } else {
        x
    }
}

/// The host parameters of an IR `FreeEnergy` rule (IR zeros take the
/// defaults of `network.proto`, as in the reference network).
pub fn host_params(f: &ir::FreeEnergy) -> FepHostParams {
    let d = FepHostParams::default();
    FepHostParams {
        tau_m: or_default(f.tau_ms, d.tau_m),
        u0: or_default(f.u0_mv, d.u0),
        theta: or_default(f.theta_mv, d.theta),
        u_reset: or_default(f.u_reset_mv, d.u_reset),
        gamma: or_default(f.gamma, d.gamma),
        sigma0: or_default(f.sigma0_mv, d.sigma0),
        r0: or_default(f.r0, d.r0),
        eta: or_default(f.eta, d.eta),
        kappa: or_default(f.kappa, d.kappa),
        w_min: or_default(f.w_min, d.w_min),
        w_max: or_default(f.w_max, 16.0),
    }
}

/// The free-energy rule of projection `k`, if it has one.
pub fn rule_of<'a>(net: &'a ir::Network, exp: &Expanded, k: usize) -> Option<(&'a ir::PlasticityRule, &'a ir::FreeEnergy)> {
    let r = net.plasticity_rules.get(exp.projections[k].plasticity?)?;
    match &r.rule {
        Some(ir::plasticity_rule::Rule::FreeEnergy(f)) => Some((r, f)),
        _ => None,
    }
}

/// Largest ring-buffer input of a free-energy projection (IR weight units),
/// for the ring-buffer shift: the largest release
/// `r0·w + 3.5·sqrt(s0·w)` at `w_max` or at the largest initial weight
/// (the Gaussian source is cut at 3.49σ), and at least `w_max`.
pub fn estimator_weight(f: &ir::FreeEnergy, proj: &crate::expand::ExpProjection) -> f64 {
    let p = host_params(f);
    let w = proj.synapses.iter().map(|s| s.weight.abs()).fold(p.w_max.abs(), f64::max);
    let s0 = p.r0 * (1.0 - p.r0);
    (p.r0 * w + 3.5 * (s0 * w).sqrt()).max(w)
}

fn err(code: &'static str, obj: &str, field: &str, message: String) -> Diagnostic {
    Diagnostic::error(code, obj, field, message)
}

/// Runs the pass: per population its tables (if it receives free-energy
/// projections), per projection its weights as `Uq8p24` raw words.
/// `on_spinnaker[pop]`: the population is a spinnaker neuron population.
pub fn quantize(net: &ir::Network, exp: &Expanded, on_spinnaker: &[bool], d: &mut Diagnostics) -> (Vec<Option<PopulationFep>>, Vec<Option<Vec<u32>>>) {
    let mut pops: Vec<Option<PopulationFep>> = vec![None; exp.populations.len()];
    let mut weights: Vec<Option<Vec<u32>>> = vec![None; exp.projections.len()];
    // (host params, seed, first projection) per population
    let mut chosen: Vec<Option<(FepHostParams, u64, usize)>> = vec![None; exp.populations.len()];
    let mut failed = vec![false; exp.populations.len()];
    for k in 0..exp.projections.len() {
        let proj = &exp.projections[k];
        let Some((r, f)) = rule_of(net, exp, k) else { continue };
        if !on_spinnaker[proj.post] {
            continue;
        }
        let obj = format!("projection '{}'", proj.name);
        let mut ok = true;
        if exp.dt_ms != 1.0 {
            d.push(err("Q043", &obj, "plasticity", format!("rule '{}' (free_energy): the spinnaker tables are built for a 1 ms step; dt is {} ms", r.name, exp.dt_ms)).with_hint("use dt_ms: 1"));
            ok = false;
        }
        if !matches!(ir::VarianceForm::try_from(f.variance_form), Ok(ir::VarianceForm::Eq14) | Ok(ir::VarianceForm::Unspecified)) {
            d.push(err("Q043", &obj, "variance_form", format!("rule '{}' (free_energy): the spinnaker kernel implements the paper's variance form (eq14) only", r.name)));
            ok = false;
        }
        if f.depth != 0 && f.depth as usize != FEP_N {
            d.push(err("Q043", &obj, "depth", format!("rule '{}' (free_energy): the spinnaker kernel's table depth is {FEP_N} steps; found {}", r.name, f.depth)));
            ok = false;
        }
        if proj.synapses.iter().any(|s| s.weight < 0.0) {
            d.push(err("Q043", &obj, "weight", format!("rule '{}' (free_energy): negative initial weight; the release is a magnitude on the projection's receptor", r.name)));
            ok = false;
        }
        let p = host_params(f);
        let seed = f.release_seed.unwrap_or_else(|| derived_seed(net.seed, &r.name));
        match chosen[proj.post] {
            None => chosen[proj.post] = Some((p, seed, k)),
            Some((q, s, first)) if q != p || s != seed => {
                d.push(err(
                    "Q043",
                    &obj,
                    "plasticity",
                    format!(
                        "its free-energy parameters or release seed differ from projection '{}' onto the same population '{}'; a spinnaker core holds one set of free-energy tables",
                        exp.projections[first].name, exp.populations[proj.post].name
                    ),
                ));
                ok = false;
            }
            Some(_) => {}
        }
        if !ok {
            failed[proj.post] = true;
            continue;
        }
        let w_max = p.w_max.max(p.w_min);
        weights[k] = Some(proj.synapses.iter().map(|s| (s.weight.clamp(p.w_min, w_max) * 16_777_216.0).round() as u32).collect());
    }
    for (pop, c) in chosen.iter().enumerate() {
        let Some((p, seed, first)) = *c else { continue };
        let obj = format!("projection '{}'", exp.projections[first].name);
        if failed[pop] {
            for (k, w) in weights.iter_mut().enumerate() {
                if exp.projections[k].post == pop {
                    *w = None;
                }
            }
            continue;
        }
        match fep_host::build(&p) {
            Ok(b) => {
                d.push(Diagnostic {
                    severity: Severity::Note,
                    ..err(
                        "Q044",
                        &format!("population '{}'", exp.populations[pop].name),
                        "plasticity",
                        format!(
                            "free-energy rule on the sPyNNaker core: tables {} B per core ({:.1} % of DTCM), {} B per synapse, {} B of spike history per source neuron; Gaussian source variance {:.4}, |eps| <= {:.2}",
                            b.memory.tables_total,
                            100.0 * b.memory.tables_total as f64 / b.memory.dtcm as f64,
                            b.memory.per_synapse,
                            b.memory.per_pre_neuron,
                            b.precision.gauss_variance,
                            b.precision.gauss_max
                        ),
                    )
                });
                pops[pop] = Some(PopulationFep { tables: Box::new(b.tables), seed });
            }
            Err(e) => {
                let msg = match e {
                    FepHostError::Domain { field, value } => format!("{field} = {value} is outside the rule's domain"),
                    FepHostError::Range { quantity, value, bound } => format!("{quantity} = {value} does not fit its fixed-point format (bound {bound})"),
                };
                d.push(err("Q043", &obj, "plasticity", format!("the free-energy tables cannot be built: {msg}")));
                for (k, w) in weights.iter_mut().enumerate() {
                    if exp.projections[k].post == pop {
                        *w = None;
                    }
                }
            }
        }
    }
    (pops, weights)
}
