//! # spikeforge-verify
//!
//! `spikeforge verify`: runs the float64 reference and the quantized
//! emulator (or the fixed-point rule alone) and reports, with numbers, how
//! far the learning rule on the chip drifts from the rule the user wrote.
//! See `docs/verify.md` for the command and the metrics.
//!
//! * [`verify`] — one verification ([`Mode`]): open loop, closed loop or a protocol;
//! * [`write_outputs`] — `report.json`, `summary.txt` and the plots;
//! * [`stdp_open`] — the kernel STDP engine against `reference::stdp`;
//! * [`fep`] — the free-energy rule's pluggable fixed-point side;
//! * [`protocols`] — pairing, frequency, Poisson, kernel-grid protocols;
//! * [`report`] — the report and its metrics; [`tolerances`]; [`plots`].
//!
//! The library never prints.

pub mod fep;
pub mod fep_kernel;
pub mod plots;
pub mod protocols;
pub mod report;
pub mod stdp_open;
pub mod tolerances;

use report::{max_rms, slope, Bound, Growth, Metric, PopulationReport, ProjectionReport, Report, Series, REPORT_SCHEMA};
use spikeforge_compiler::expand::{self, Expanded};
use spikeforge_compiler::ir::{self, recording::What};
use spikeforge_compiler::lower::{self, CompileOptions, ProfileOptions, TargetProfile};
pub use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_reference::network::{self as refnet, PlasticityPolicy, SimOptions};
use spikeforge_results::RunResult;
use std::collections::BTreeMap;
use std::path::Path;

pub use protocols::{Protocol, ProtocolOptions};
pub use tolerances::{ToleranceOverrides, Tolerances};

/// Why a verification could not run (a tolerance exceeded is not an error:
/// it is a failing [`Report`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerifyError {
    /// The request does not fit the network (e.g. a protocol without a rule).
    #[error("{0}")]
    Usage(String),
    /// A rule cannot be encoded or run.
    #[error("plasticity rule: {0}")]
    Rule(String),
    /// The network cannot be expanded, compiled or simulated.
    #[error("{0}")]
    Network(String),
    /// Writing the outputs failed.
    #[error("{0}")]
    Io(String),
}

/// What to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Identical spike trains (from the float run) through both rules.
    OpenLoop,
    /// The whole network on the reference and on the emulator.
    ClosedLoop,
    /// A protocol on the network's (first) plastic rule.
    Protocol(Protocol),
}

/// Options of [`verify`].
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub mode: Mode,
    /// Steps to simulate (default: the network's duration).
    pub n_steps: Option<u32>,
    pub tolerances: Tolerances,
    pub protocol: ProtocolOptions,
    /// Numeric profile (default: as `compile`).
    pub profile: Option<TargetProfile>,
    /// Emulator threads (closed loop).
    pub threads: usize,
    /// Synapses whose trajectories are kept for the plots, per projection.
    pub trajectories: usize,
    /// Width of stored plastic weights on the spinnaker profile, as
    /// `spikeforge compile --plastic-weight-bits` (verify what will run).
    pub plastic_weight_bits: PlasticWeightBits,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            mode: Mode::OpenLoop,
            n_steps: None,
            tolerances: Tolerances::default(),
            protocol: ProtocolOptions::default(),
            profile: None,
            threads: 1,
            trajectories: 4,
            plastic_weight_bits: PlasticWeightBits::Sixteen,
        }
    }
}

fn rule_kind(r: &ir::PlasticityRule) -> &'static str {
    use ir::plasticity_rule::Rule;
    match r.rule {
        Some(Rule::PairStdp(_)) => "pair_stdp",
        Some(Rule::TripletStdp(_)) => "triplet_stdp",
        Some(Rule::SumOfProducts(_)) => "sum_of_products",
        Some(Rule::FreeEnergy(_)) => "free_energy",
        None => "none",
    }
}

/// Runs one verification of `net`.
pub fn verify(net: &ir::Network, opts: &VerifyOptions) -> Result<Report, VerifyError> {
    let n_steps = opts.n_steps.unwrap_or_else(|| expand::steps_for(net.duration_ms, net.dt_ms));
    let profile = opts.profile.unwrap_or_else(|| TargetProfile::for_network(net));
    let mut report = Report {
        schema: REPORT_SCHEMA.into(),
        network: net.name.clone(),
        mode: match opts.mode {
            Mode::OpenLoop => "open_loop",
            Mode::ClosedLoop => "closed_loop",
            Mode::Protocol(_) => "protocol",
        }
        .into(),
        protocol: match opts.mode {
            Mode::Protocol(p) => Some(p.name().into()),
            _ => None,
        },
        profile: profile.name().into(),
        plastic_weight_bits: opts.plastic_weight_bits.bits(),
        dt_ms: net.dt_ms,
        n_steps,
        tolerances: Some(opts.tolerances),
        ..Default::default()
    };
    match opts.mode {
        Mode::OpenLoop => open_loop(net, n_steps, profile, opts, &mut report)?,
        Mode::ClosedLoop => closed_loop(net, n_steps, profile, opts, &mut report)?,
        Mode::Protocol(p) => protocol(net, n_steps, p, opts, &mut report)?,
    }
    report.finish();
    Ok(report)
}

/// Writes `report.json`, `summary.txt` and the plots into `dir` (created if
/// needed), recording the plot files in the report.
pub fn write_outputs(report: &mut Report, dir: &Path) -> Result<(), VerifyError> {
    std::fs::create_dir_all(dir).map_err(|e| VerifyError::Io(format!("creating {}: {e}", dir.display())))?;
    report.plots = plots::write_plots(report, dir).map_err(|e| VerifyError::Io(format!("drawing plots: {e}")))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| VerifyError::Io(e.to_string()))?;
    std::fs::write(dir.join("report.json"), json).map_err(|e| VerifyError::Io(format!("writing report.json: {e}")))?;
    std::fs::write(dir.join("summary.txt"), report.summary()).map_err(|e| VerifyError::Io(format!("writing summary.txt: {e}")))?;
    Ok(())
}

fn expand_net(net: &ir::Network, n_steps: u32) -> Result<Expanded, VerifyError> {
    expand::expand(net, n_steps).map_err(|e| VerifyError::Network(e.to_string()))
}

/// The network with recordings of every population's spikes and every
/// plastic projection's weights (every `every` steps; 0 = at the end).
fn instrumented(net: &ir::Network, every: u32) -> ir::Network {
    let mut n = net.clone();
    n.recordings = net.populations.iter().map(|p| ir::Recording { what: Some(What::Spikes(ir::SpikeRecording { population: p.name.clone(), neurons: vec![] })) }).collect();
    for p in &net.projections {
        if !p.plasticity.is_empty() {
            n.recordings.push(ir::Recording { what: Some(What::Weights(ir::WeightRecording { projection: p.name.clone(), every_n_steps: every })) });
        }
    }
    n
}

fn reference_run(net: &ir::Network, exp: &Expanded, n_steps: u32, policy: PlasticityPolicy) -> Result<RunResult, VerifyError> {
    let opts = SimOptions { plasticity: policy, ..Default::default() };
    refnet::simulate(net, exp, n_steps, &opts).map(|r| r.0).map_err(|e| VerifyError::Network(format!("reference: {e}")))
}

/// Per population, per neuron: spike steps.
fn trains(r: &RunResult, pop: &str, size: usize) -> Vec<Vec<u32>> {
    let mut t = vec![Vec::new(); size];
    if let Some(rec) = r.spike_record(pop) {
        for &(s, i) in &rec.events {
            t[i as usize].push(s);
        }
    }
    t
}

/// Error growth: bins of the duration, RMS of the normalised error of the
/// updates in each bin.
fn growth(points: &[(u32, f64)], n_steps: u32, dt_ms: f64) -> Growth {
    let bins = 10u32;
    let width = n_steps.div_ceil(bins).max(1);
    let mut acc = vec![(0.0f64, 0u64); bins as usize];
    for &(t, e) in points {
        let b = ((t.saturating_sub(1)) / width).min(bins - 1) as usize;
        acc[b].0 += e * e;
        acc[b].1 += 1;
    }
    let mut g = Growth::default();
    for (k, (s, n)) in acc.iter().enumerate() {
        if *n > 0 {
            g.t_s.push(((k as u32 + 1) * width) as f64 * dt_ms / 1000.0);
            g.rms.push((s / *n as f64).sqrt());
        }
    }
    g.slope_per_s = slope(&g.t_s, &g.rms);
    g
}

fn push_weight_metrics(report: &mut Report, scope: &str, p: &ProjectionReport, dw: &[f64], signs: (u64, u64), tol: &Tolerances) {
    let (dmax, drms) = max_rms(dw);
    let range = (p.w_max - p.w_min).abs().max(f64::MIN_POSITIVE);
    let fe: Vec<f64> = p.final_fixed.iter().zip(&p.final_float).map(|(a, b)| (a - b) / range).collect();
    let (fmax, frms) = max_rms(&fe);
    let unit = "fraction of w_max - w_min";
    report.metrics.push(Metric::new("dw_error_max", scope, unit, dmax, tol.dw_max, Bound::Max));
    report.metrics.push(Metric::new("dw_error_rms", scope, unit, drms, tol.dw_rms, Bound::Max));
    let agree = if signs.0 > 0 { signs.1 as f64 / signs.0 as f64 } else { 1.0 };
    report.metrics.push(Metric::new("sign_agreement", scope, "fraction of significant updates", agree, tol.sign_agreement, Bound::Min));
    report.metrics.push(Metric::new("final_weight_error_max", scope, unit, fmax, tol.final_max, Bound::Max));
    report.metrics.push(Metric::new("final_weight_error_rms", scope, unit, frms, tol.final_rms, Bound::Max));
}

/// Sign agreement counts of `(fixed, float)` deltas: updates whose float
/// magnitude is at least 1 % of the largest float update count as significant.
fn sign_counts(d: &[(f64, f64)]) -> (u64, u64) {
    let peak = d.iter().fold(0.0f64, |m, x| m.max(x.1.abs()));
    let mut c = (0, 0);
    for &(x, f) in d {
        if peak > 0.0 && f.abs() >= 0.01 * peak {
            c.0 += 1;
            c.1 += u64::from(x.signum() == f.signum());
        }
    }
    c
}

const MAX_STORED_ERRORS: usize = 20_000;

/// Post events a neuron's history holds besides the one before a window
/// (sPyNNaker's `MAX_POST_SYNAPTIC_EVENTS` slots, one of them the oldest,
/// kept as the window's "previous" event).
const POST_HISTORY_EVENTS: usize = spikeforge_kernel::spinnaker::stdp::MAX_POST_SYNAPTIC_EVENTS - 1;

/// The share of a projection's post events that sPyNNaker's post history
/// has dropped before a synapse's next pre spike processes them (pair
/// all-to-all and triplet STDP; nearest pairing needs only the newest), on
/// the spike trains `pre` and `post` (by neuron; `whose`: which run's).
fn history_note(scope: &str, rule: &spikeforge_reference::stdp::Rule, ep: &expand::ExpProjection, pre: &[Vec<u32>], post: &[Vec<u32>], whose: &str) -> Option<String> {
    if matches!(rule, spikeforge_reference::stdp::Rule::Pair(p) if p.pairing == spikeforge_reference::stdp::Pairing::Nearest) {
        return None;
    }
    let (lost, total) = ep.synapses.iter().fold((0u64, 0u64), |(l, t), s| {
        let (a, b) = history_overflow(&pre[s.pre as usize], &post[s.post as usize], s.delay);
        (l + a, t + b)
    });
    (lost > 0).then(|| {
        format!(
            "{scope}: on {whose} spike trains, {lost} of {total} post events ({:.1} %) reach a synapse after {} others since its previous pre spike; the chip's post history (sPyNNaker's MAX_POST_SYNAPTIC_EVENTS) has dropped the oldest by then, so their pairings are lost: that part of the error is the history's length, not the fixed-point arithmetic",
            100.0 * lost as f64 / total.max(1) as f64,
            POST_HISTORY_EVENTS
        )
    })
}

/// Of the post events (spike steps `post`, reaching the synapse `delay`
/// later) that fall into a pre interval `(previous pre, pre]` of `pre`,
/// those that are more than [`POST_HISTORY_EVENTS`] back from the interval's
/// end (lost on the chip), and all of them: `(lost, total)`.
fn history_overflow(pre: &[u32], post: &[u32], delay: u32) -> (u64, u64) {
    let (mut lost, mut total, mut j) = (0u64, 0u64, 0usize);
    for &t in pre {
        let start = j;
        while j < post.len() && post[j] + delay <= t {
            j += 1;
        }
        let n = (j - start) as u64;
        total += n;
        lost += n.saturating_sub(POST_HISTORY_EVENTS as u64);
    }
    (lost, total)
}

fn open_loop(net: &ir::Network, n_steps: u32, profile: TargetProfile, opts: &VerifyOptions, report: &mut Report) -> Result<(), VerifyError> {
    let inet = instrumented(net, 0);
    let exp = expand_net(&inet, n_steps)?;
    let r = reference_run(&inet, &exp, n_steps, PlasticityPolicy::Simulate)?;
    let shifts = match profile {
        TargetProfile::Spinnaker => Some(spikeforge_compiler::quantize::spinnaker::quantize(&inet, &exp)),
        TargetProfile::Loihi => None,
    };
    let dt = net.dt_ms;
    let mut any = false;
    for (k, ep) in exp.projections.iter().enumerate() {
        let Some(ri) = ep.plasticity else { continue };
        let rule = &net.plasticity_rules[ri];
        let kind = rule_kind(rule);
        let pre = trains(&r, &exp.populations[ep.pre].name, exp.populations[ep.pre].size as usize);
        let post = trains(&r, &exp.populations[ep.post].name, exp.populations[ep.post].size as usize);
        let scope = format!("projection '{}'", ep.name);
        let mut pr = ProjectionReport { projection: ep.name.clone(), rule: rule.name.clone(), kind: kind.into(), n_synapses: ep.synapses.len(), ..Default::default() };
        let mut dw = Vec::new();
        let mut deltas = Vec::new();
        let mut growth_pts = Vec::new();
        if let Some(stdp_rule) = refnet::stdp_rule_from_ir(rule) {
            let Some(q) = &shifts else {
                report.diagnostics.push(format!("{scope}: {kind} runs on the spinnaker profile only; nothing compared"));
                continue;
            };
            let shift = q.populations[ep.post].as_ref().map_or(0, |b| b.left_shifts[q.synapse_type[k] as usize]);
            let setup = stdp_open::StdpSetup::new(stdp_rule, shift, dt, opts.plastic_weight_bits == PlasticWeightBits::ThirtyTwo)?;
            for d in setup.precision_diagnostics(0.01) {
                report.diagnostics.push(format!("{scope}: {d}"));
            }
            (pr.w_min, pr.w_max) = setup.bounds();
            pr.weight_lsb = setup.lsb();
            let range = setup.range();
            report.diagnostics.extend(history_note(&scope, &setup.rule, ep, &pre, &post, "the float run's"));
            for (j, s) in ep.synapses.iter().enumerate() {
                let run = setup.run(&pre[s.pre as usize], &post[s.post as usize], s.delay, s.weight)?;
                for (m, (x, f)) in run.deltas().enumerate() {
                    dw.push((x - f) / range);
                    deltas.push((x, f));
                    growth_pts.push((run.pre_steps[m], (run.w_fixed[m] - run.w_float[m]) / range));
                }
                pr.final_fixed.push(run.w_fixed.last().copied().unwrap_or(run.w_start));
                pr.final_float.push(run.w_float.last().copied().unwrap_or(run.w_start));
                if j < opts.trajectories && !run.pre_steps.is_empty() {
                    pr.trajectories.push(Series {
                        name: format!("{}->{}", s.pre, s.post),
                        x_label: "time (s)".into(),
                        y_label: "weight".into(),
                        x: run.pre_steps.iter().map(|&t| t as f64 * dt / 1000.0).collect(),
                        float: run.w_float.clone(),
                        fixed: run.w_fixed.clone(),
                    });
                }
            }
        } else if let Some(ir::plasticity_rule::Rule::FreeEnergy(f)) = &rule.rule {
            let fr = refnet::fep_rule_from_ir(f, dt);
            let table = fep_kernel::SpinnakerFep::new(&fr.params, fr.w_max).map_err(VerifyError::Usage)?;
            report.diagnostics.push(format!("{scope}: fixed-point side {} ({} bytes)", fep::FepFixed::name(&table), fep::FepFixed::memory_bytes(&table)));
            (pr.w_min, pr.w_max) = (fr.params.w_min, fr.w_max);
            let range = fr.w_max - fr.params.w_min;
            for (j, s) in ep.synapses.iter().enumerate() {
                let post_d: Vec<u32> = post[s.post as usize].iter().map(|&t| t + s.delay).collect();
                let a = table.weight_trajectory(s.weight, &pre[s.pre as usize], &post_d);
                let b = fep::weight_float(&fr.params, fr.w_max, s.weight, &pre[s.pre as usize], &post_d, dt);
                let (mut pa, mut pb) = (s.weight, s.weight);
                for (&(t, x), &(_, y)) in a.iter().zip(&b) {
                    dw.push(((x - pa) - (y - pb)) / range);
                    deltas.push((x - pa, y - pb));
                    growth_pts.push((t, (x - y) / range));
                    (pa, pb) = (x, y);
                }
                pr.final_fixed.push(pa);
                pr.final_float.push(pb);
                if j < opts.trajectories && !a.is_empty() {
                    pr.trajectories.push(Series {
                        name: format!("{}->{}", s.pre, s.post),
                        x_label: "time (s)".into(),
                        y_label: "weight".into(),
                        x: a.iter().map(|&(t, _)| t as f64 * dt / 1000.0).collect(),
                        float: b.iter().map(|x| x.1).collect(),
                        fixed: a.iter().map(|x| x.1).collect(),
                    });
                }
            }
        } else {
            report.diagnostics.push(format!("{scope}: open loop does not cover {kind} rules (their fixed-point engine runs on whole epochs of the network); use closed loop"));
            continue;
        }
        any = true;
        pr.n_updates = dw.len() as u64;
        pr.growth = growth(&growth_pts, n_steps, dt);
        let signs = sign_counts(&deltas);
        push_weight_metrics(report, &scope, &pr, &dw, signs, &opts.tolerances);
        report.metrics.push(Metric::new("error_growth_per_s", &scope, "RMS weight error / (w_max - w_min) per second", pr.growth.slope_per_s, f64::INFINITY, Bound::Max));
        dw.truncate(MAX_STORED_ERRORS);
        pr.dw_errors = dw;
        report.projections.push(pr);
    }
    if !any {
        report.diagnostics.push("no plastic projection could be compared in open loop".into());
    }
    Ok(())
}

fn closed_loop(net: &ir::Network, n_steps: u32, profile: TargetProfile, opts: &VerifyOptions, report: &mut Report) -> Result<(), VerifyError> {
    let inet = instrumented(net, 0);
    let exp = expand_net(&inet, n_steps)?;
    let copts = CompileOptions { profile, max_neurons_per_core: lower::DEFAULT_MAX_NEURONS_PER_CORE, n_steps };
    let popts = ProfileOptions { plastic_weight_bits: opts.plastic_weight_bits };
    let compiled = lower::compile_with_profile(&inet, &copts, &expand::Stimuli::default(), &popts).map_err(|d| VerifyError::Network(format!("compile: {}", d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; "))))?;
    let emu_err = |e: spikeforge_emu::EmuError| VerifyError::Network(format!("emulator: {e}"));
    let initial = spikeforge_emu::Emulator::new(compiled.program.clone(), 1).map_err(emu_err)?.run(0, |_| {}).map_err(emu_err)?.0;
    let (fixed, _) = spikeforge_emu::Emulator::with_max_threads(compiled.program, opts.threads).map_err(emu_err)?.run(n_steps, |_| {}).map_err(emu_err)?;
    let mut float = reference_run(&inet, &exp, n_steps, PlasticityPolicy::Simulate)?;
    // Did the emulator learn? A plastic projection whose fixed weights did not
    // move while the float ones did runs static on the emulator.
    let mut static_emu = Vec::new();
    for p in net.projections.iter().filter(|p| !p.plasticity.is_empty()) {
        let (Some(a), Some(b), Some(f)) = (initial.weight_record(&p.name), fixed.weight_record(&p.name), float.weight_record(&p.name)) else { continue };
        let n = f.synapses.len();
        let moved_float = f.values.len() >= n && f.values[f.values.len() - n..] != exp.projections.iter().find(|e| e.name == p.name).map(|e| e.synapses.iter().map(|s| s.weight).collect::<Vec<_>>()).unwrap_or_default()[..];
        if a.raw == b.raw && moved_float {
            static_emu.push(p.name.clone());
        }
    }
    if !static_emu.is_empty() {
        report.diagnostics.push(format!(
            "the emulator does not learn on {} yet (its weights stayed at their initial values); spikes and weights are compared against a static float run",
            static_emu.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
        ));
        float = reference_run(&inet, &exp, n_steps, PlasticityPolicy::Static)?;
    }
    let tol = &opts.tolerances;
    for (pi, p) in exp.populations.iter().enumerate() {
        if matches!(p.model, expand::ExpModel::Source(_)) {
            continue;
        }
        let a = spikeforge_results::spike_agreement(&float, &fixed, &p.name, 1).map_err(|e| VerifyError::Network(e.to_string()))?;
        let scope = format!("population '{}'", p.name);
        report.metrics.push(Metric::new("spike_match_fraction", &scope, "reference spikes matched within +-1 step", a.matched_fraction, tol.spike_match, Bound::Min));
        report.metrics.push(Metric::new("spike_count_rel_diff", &scope, "|n_fixed - n_float| / n_float", a.total_rel_diff, tol.spike_count, Bound::Max));
        let shown = |r: &RunResult| r.spike_record(&p.name).map(|s| s.events.iter().filter(|e| e.1 < 50).copied().take(20_000).collect::<Vec<_>>()).unwrap_or_default();
        report.populations.push(PopulationReport {
            population: p.name.clone(),
            spikes_float: a.total_a,
            spikes_fixed: a.total_b,
            count_rel_diff: a.total_rel_diff,
            matched_fraction: a.matched_fraction,
            raster_float: shown(&float),
            raster_fixed: shown(&fixed),
        });
        let _ = pi;
    }
    for (k, ep) in exp.projections.iter().enumerate() {
        let Some(ri) = ep.plasticity else { continue };
        let rule = &net.plasticity_rules[ri];
        let (Some(f), Some(x)) = (float.weight_record(&ep.name), fixed.weight_record(&ep.name)) else { continue };
        let nf = f.synapses.len();
        let ff = &f.values[f.values.len().saturating_sub(nf)..];
        let fx = &x.values[x.values.len().saturating_sub(x.synapses.len())..];
        // pair by (pre, post)
        let mut idx: BTreeMap<(u32, u32), Vec<f64>> = BTreeMap::new();
        for (s, &w) in x.synapses.iter().zip(fx) {
            idx.entry(*s).or_default().push(w);
        }
        let mut pr = ProjectionReport { projection: ep.name.clone(), rule: rule.name.clone(), kind: rule_kind(rule).into(), n_synapses: nf, ..Default::default() };
        let mut order: Vec<usize> = (0..nf).collect();
        order.sort_by_key(|&i| f.synapses[i]);
        let mut taken: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for i in order {
            let key = f.synapses[i];
            let c = taken.entry(key).or_insert(0);
            if let Some(w) = idx.get(&key).and_then(|v| v.get(*c)) {
                pr.final_float.push(ff[i].abs());
                pr.final_fixed.push(w.abs());
            }
            *c += 1;
        }
        let scope = format!("projection '{}'", ep.name);
        let float_rule = refnet::stdp_rule_from_ir(rule);
        if let (Some(r), TargetProfile::Spinnaker) = (&float_rule, profile) {
            let pre = trains(&fixed, &exp.populations[ep.pre].name, exp.populations[ep.pre].size as usize);
            let post = trains(&fixed, &exp.populations[ep.post].name, exp.populations[ep.post].size as usize);
            report.diagnostics.extend(history_note(&scope, r, ep, &pre, &post, "the emulator's"));
        }
        let (lo, hi) = match float_rule {
            Some(spikeforge_reference::stdp::Rule::Pair(p)) => (p.w_min, p.w_max),
            Some(spikeforge_reference::stdp::Rule::Triplet(p)) => (p.w_min, p.w_max),
            None => match &rule.rule {
                Some(ir::plasticity_rule::Rule::FreeEnergy(fe)) => {
                    let r = refnet::fep_rule_from_ir(fe, net.dt_ms);
                    (r.params.w_min, r.w_max)
                }
                _ => {
                    let m = pr.final_float.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1.0);
                    (-m, m)
                }
            },
        };
        (pr.w_min, pr.w_max) = (lo, hi);
        let range = (hi - lo).abs().max(f64::MIN_POSITIVE);
        let fe: Vec<f64> = pr.final_fixed.iter().zip(&pr.final_float).map(|(a, b)| (a - b) / range).collect();
        let (fmax, frms) = max_rms(&fe);
        report.metrics.push(Metric::new("final_weight_error_max", &scope, "fraction of w_max - w_min", fmax, tol.final_max, Bound::Max));
        report.metrics.push(Metric::new("final_weight_error_rms", &scope, "fraction of w_max - w_min", frms, tol.final_rms, Bound::Max));
        let _ = k;
        report.projections.push(pr);
    }
    Ok(())
}

fn protocol(net: &ir::Network, n_steps: u32, proto: Protocol, opts: &VerifyOptions, report: &mut Report) -> Result<(), VerifyError> {
    let _ = n_steps;
    let (ep_k, rule) = net
        .projections
        .iter()
        .enumerate()
        .find_map(|(k, p)| net.plasticity_rules.iter().find(|r| !p.plasticity.is_empty() && r.name == p.plasticity).map(|r| (k, r)))
        .ok_or_else(|| VerifyError::Usage(format!("protocol {}: the network has no plastic projection", proto.name())))?;
    let dt = net.dt_ms;
    opts.protocol.check(dt)?;
    if let Some(stdp_rule) = refnet::stdp_rule_from_ir(rule) {
        // the projection's ring-buffer shift, as compiled
        let exp = expand_net(net, 1)?;
        let q = spikeforge_compiler::quantize::spinnaker::quantize(net, &exp);
        let ep = &exp.projections[ep_k];
        let shift = q.populations[ep.post].as_ref().map_or(0, |b| b.left_shifts[q.synapse_type[ep_k] as usize]);
        let setup = stdp_open::StdpSetup::new(stdp_rule, shift, dt, opts.plastic_weight_bits == PlasticWeightBits::ThirtyTwo)?;
        for d in setup.precision_diagnostics(0.01) {
            report.diagnostics.push(format!("rule '{}': {d}", rule.name));
        }
        let (curves, metrics) = protocols::stdp(&setup, proto, &opts.protocol, &opts.tolerances)?;
        report.curves = curves;
        report.metrics = metrics;
    } else if let Some(ir::plasticity_rule::Rule::FreeEnergy(f)) = &rule.rule {
        let fr = refnet::fep_rule_from_ir(f, dt);
        let table = fep_kernel::SpinnakerFep::new(&fr.params, fr.w_max).map_err(VerifyError::Usage)?;
        let (curves, metrics, notes) = protocols::free_energy(&fr.params, fr.w_max, dt, &table, proto, &opts.protocol, &opts.tolerances);
        report.curves = curves;
        report.metrics = metrics;
        report.diagnostics.extend(notes);
    } else {
        return Err(VerifyError::Usage(format!("protocol {}: rule '{}' ({}) has no protocol; protocols cover pair/triplet STDP and the free-energy rule", proto.name(), rule.name, rule_kind(rule))));
    }
    report.profile = "spinnaker".into();
    Ok(())
}
