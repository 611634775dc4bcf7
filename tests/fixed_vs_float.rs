//! Fixed point against float64 on the examples: the `spinnaker` profile
//! (sPyNNaker's numerics, bit for bit) against the float64 reference with
//! exact integration, on identical stimuli and synapses. Plasticity is
//! switched off on both sides (the rules' own drift is `spikeforge verify`'s
//! job); this bounds the drift of the neuron and synapse arithmetic.
//!
//! Metrics (documented in docs/fixed-point.md, "Measured drift"):
//! * total spike count per population, relative difference;
//! * fraction of the reference's spikes matched one-to-one by an emulator
//!   spike of the same neuron within ±k steps (`spike_agreement`);
//! * for a single feed-forward neuron, the membrane trajectory: mean and
//!   maximum |ΔV| before the first spike.
//!
//! The bounds are the measured values with a margin. They are *not* the
//! 2 %/95 %-within-±1-step one might hope for, and the reasons are physical:
//! sPyNNaker's exponential synapse decays its s16.15 input with a floor
//! product every step, losing ~0.5 LSB per step, which lowers the mean
//! synaptic current by a few percent when inputs are a few hundred LSB (see
//! `synaptic_floor_bias_is_what_spinnaker_does`); and in recurrent networks
//! any difference is amplified chaotically, so only rates can agree.

use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::{expand, ir, yaml};
use spikeforge_emu::Emulator;
use spikeforge_reference::network::{simulate, SimOptions};
use spikeforge_results::{spike_agreement, RunResult};
use std::path::Path;

fn load(example: &str, record: Vec<ir::Recording>) -> ir::Network {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
    let mut net = yaml::parse(&std::fs::read_to_string(&path).unwrap(), example).unwrap();
    for p in &mut net.projections {
        p.plasticity.clear();
    }
    net.plasticity_rules.clear();
    net.recordings = record;
    net
}

fn spikes_of_all(net_populations: &[&str]) -> Vec<ir::Recording> {
    net_populations
        .iter()
        .map(|p| ir::Recording { what: Some(ir::recording::What::Spikes(ir::SpikeRecording { population: p.to_string(), neurons: vec![] })) })
        .collect()
}

fn run_both(net: &ir::Network, steps: u32) -> (RunResult, RunResult) {
    let compiled = compile(net, &CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: steps }).unwrap();
    let (fixed, _) = Emulator::new(compiled.program, 1).unwrap().run(steps, |_| {}).unwrap();
    let exp = expand::expand(net, steps).unwrap();
    let (float, _) = simulate(net, &exp, steps, &SimOptions::default()).unwrap();
    (fixed, float)
}

struct Bounds {
    min_reference_spikes: u64,
    max_count_diff: f64,
    /// (k steps, minimum matched fraction)
    matched: &'static [(u32, f64)],
}

fn check(example: &str, populations: &[&str], steps: u32, b: Bounds) {
    let net = load(example, spikes_of_all(populations));
    let (fixed, float) = run_both(&net, steps);
    for pop in populations {
        let a = spike_agreement(&float, &fixed, pop, 1).unwrap();
        eprintln!("{example} {pop}: reference {} spikes, emulator {}, count difference {:.2} %", a.total_a, a.total_b, a.total_rel_diff * 100.0);
        assert!(a.total_a >= b.min_reference_spikes, "{example} {pop}: only {} reference spikes; the comparison needs activity", a.total_a);
        assert!(a.total_rel_diff <= b.max_count_diff, "{example} {pop}: spike counts differ by {:.2} % (bound {:.0} %)", a.total_rel_diff * 100.0, b.max_count_diff * 100.0);
        for &(k, min) in b.matched {
            let m = spike_agreement(&float, &fixed, pop, k).unwrap().matched_fraction;
            eprintln!("{example} {pop}: {:.1} % matched within ±{k} steps", m * 100.0);
            assert!(m >= min, "{example} {pop}: {:.1} % of spikes matched within ±{k} steps (bound {:.0} %)", m * 100.0, min * 100.0);
        }
    }
}

/// Feed-forward, dt = 1 ms: spike for spike.
#[test]
fn free_energy_neuron_tracks_float64_spike_for_spike() {
    // Measured: 0.5 % count difference; 73 % within ±1 step, 95 % within ±10.
    check("free_energy.yaml", &["neuron"], 5000, Bounds { min_reference_spikes: 100, max_count_diff: 0.02, matched: &[(1, 0.65), (10, 0.90)] });
}

/// Recurrent and chaotic (CUBA, dt = 0.1 ms): population rates agree.
#[test]
fn cuba_rates_track_float64() {
    // Measured over 300 ms: 1.8 % (exc) and 0.2 % (inh).
    check("cuba.yaml", &["exc", "inh"], 3000, Bounds { min_reference_spikes: 1000, max_count_diff: 0.04, matched: &[] });
}

/// Recurrent E/I network, dt = 0.1 ms: population rates agree.
#[test]
fn ei_network_rates_track_float64() {
    // Measured over 300 ms: 9.3 % (exc) and 6.3 % (inh).
    check("ei_triplet.yaml", &["exc", "inh"], 3000, Bounds { min_reference_spikes: 100, max_count_diff: 0.15, matched: &[] });
}

/// Song 2000's neuron (1000 Poisson inputs, dt = 0.1 ms): the membrane
/// trajectory over 500 ms, with the threshold lifted to 0 mV so that it
/// never fires (the example's uniform initial weights drive it ~37 mV above
/// rest, across its −54 mV threshold after ~13 ms; after a spike the runs
/// would differ by whole resets).
#[test]
fn song_neuron_membrane_tracks_float64() {
    let rec = vec![ir::Recording { what: Some(ir::recording::What::State(ir::StateRecording { population: "neuron".into(), variable: "v".into(), neurons: vec![], every_n_steps: 1 })) }];
    let mut net = load("song2000.yaml", rec);
    match net.populations.iter_mut().find(|p| p.name == "neuron").and_then(|p| p.model.as_mut()) {
        Some(ir::population::Model::IfCurrExp(m)) => m.v_thresh_mv = 0.0,
        _ => panic!("song2000's neuron is IF_curr_exp"),
    }
    let steps = 5000;
    let (fixed, float) = run_both(&net, steps);
    let (fv, rv) = (&fixed.states[0].values, &float.states[0].values);
    let mean = fv.iter().zip(rv).map(|(a, b)| a - b).sum::<f64>() / fv.len() as f64;
    let max = fv.iter().zip(rv).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let top = rv.iter().copied().fold(f64::MIN, f64::max);
    eprintln!("song2000: mean ΔV {mean:.4} mV, max |ΔV| {max:.4} mV (float64 membrane up to {top:.1} mV)");
    assert!(top < -10.0, "the lifted threshold is out of reach");
    // Measured: mean −0.115 mV, max 0.207 mV (the synaptic floor bias, below).
    assert!(mean.abs() <= 0.2 && max <= 0.3, "mean ΔV {mean} mV, max |ΔV| {max} mV (bounds 0.2, 0.3 mV)");
}

/// The bias behind the bounds above, isolated: 1 kHz of 0.005 nA inputs into
/// an IF_curr_exp neuron at dt = 0.1 ms drive the float64 membrane 2.000 mV
/// above rest; sPyNNaker's arithmetic gives ~1.92 mV, because every decay
/// step floors the s16.15 synaptic value (~800 LSB here), losing ~0.5 LSB.
/// If this ever stops holding, the fixed-point semantics changed.
#[test]
fn synaptic_floor_bias_is_what_spinnaker_does() {
    let times: Vec<String> = (0..200).map(|k| format!("{}", 1.0 + k as f64)).collect();
    let yaml_text = format!(
        "spikeforge: 1\nname: bias\ndt_ms: 0.1\nduration_ms: 300\npopulations:\n  - {{name: src, spike_source_array: {{times_ms: [[{}]]}}}}\n  - {{name: n, size: 1, if_curr_exp: {{tau_m_ms: 20, cm_nf: 0.25, v_rest_mv: -70, v_reset_mv: -60, v_thresh_mv: 0, tau_syn_e_ms: 5, tau_refrac_ms: 1}}}}\nprojections:\n  - {{name: p, pre: src, post: n, connector: all_to_all, weight: 0.005, delay_ms: 1}}\nrecord:\n  - state: {{population: n, variable: v}}\n",
        times.join(", ")
    );
    let net = yaml::parse(&yaml_text, "bias.yaml").unwrap();
    let (fixed, float) = run_both(&net, 2001);
    let (f, r) = (fixed.states[0].values[2000] + 70.0, float.states[0].values[2000] + 70.0);
    eprintln!("drive above rest: fixed {f:.4} mV, float {r:.4} mV");
    assert!((r - 2.0).abs() < 0.01, "float64 drive {r} mV, analytic 2.0 mV");
    assert!((f / r - 0.96).abs() < 0.01, "fixed-point drive is {:.2} % of float (sPyNNaker's floor decay gives ~96 %)", f / r * 100.0);
}
