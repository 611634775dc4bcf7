//! Song, Miller & Abbott (2000) — `examples/song2000.yaml` — with 32-bit
//! plastic weights (the opt-in deviation of docs/plasticity.md; with
//! sPyNNaker's 16-bit weights A± are 1/8 of an LSB and the compiler reports
//! that nothing can be learned, `compiler/tests/stdp_spinnaker.rs`).
//!
//! Shortened to dt = 1 ms (the example has 0.1 ms) and 200 s of network
//! time (~20 s in a debug build, ~2 s in release). The full example
//! (100 s at dt = 0.1 ms, 10^6 steps) runs with
//! `spikeforge run examples/song2000.yaml --plastic-weight-bits 32 -o OUT`.
//!
//! Checked: the weights drift towards the bounds — the numbers within 10 %
//! of w_min and of w_max both grow (measured: 94 / 107 of 1000 after 20 s,
//! 139 / 128 after 200 s, i.e. 20.1 % → 26.7 % of the weights near a bound;
//! 158 / 137 after 300 s; mean weight 0.002505 → 0.002443 nA; the neuron
//! fires at ~2 Hz, so the example learns slowly) — and at every synapse the
//! final weight agrees with the float64 twin run on the same pre spikes and
//! the emulator's post spikes within 0.5 % of w_max (measured 0.088 %).

use spikeforge_compiler::lower::{compile_with_profile, CompileOptions, ProfileOptions, TargetProfile};
use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_compiler::{expand, yaml};
use spikeforge_emu::Emulator;
use spikeforge_reference::stdp::{run_pair, PairStdp, Pairing, WeightDependence};
use std::path::Path;

const SECONDS: u32 = 200;
const W_MAX: f64 = 0.005;

#[test]
fn song2000_32bit_drifts_to_the_bounds_and_matches_the_twin() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/song2000.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace("dt_ms: 0.1", "dt_ms: 1.0").replace("every_n_steps: 10000", "every_n_steps: 20000")
        .replace("record:\n", "record:\n  - spikes: {population: inputs}\n");
    let net = yaml::parse(&text, "song2000.yaml").unwrap();
    let steps = SECONDS * 1000;
    let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: steps };
    let c = compile_with_profile(&net, &opts, &Default::default(), &ProfileOptions { plastic_weight_bits: PlasticWeightBits::ThirtyTwo }).unwrap();
    let r = Emulator::new(c.program, 2).unwrap().run(steps, |_| {}).unwrap().0;

    let w = &r.weights[0];
    let n = w.synapses.len();
    assert_eq!(n, 1000);
    assert_eq!(w.steps.len(), (steps / 20000) as usize);
    let near = |s: usize| {
        let v = &w.values[s * n..(s + 1) * n];
        (v.iter().filter(|&&x| x < 0.1 * W_MAX).count(), v.iter().filter(|&&x| x > 0.9 * W_MAX).count())
    };
    let (lo0, hi0) = near(0);
    let (lo, hi) = near(w.steps.len() - 1);
    eprintln!("near 0 / near w_max: {lo0} / {hi0} after 20 s, {lo} / {hi} after {SECONDS} s");
    assert!(lo > lo0 + 30 && hi > hi0 + 15, "both tails grow");
    assert!(lo + hi >= 260, "over 26 % of the weights within 10 % of a bound (20 % when uniform)");
    let mean = w.values[(w.steps.len() - 1) * n..].iter().sum::<f64>() / n as f64;
    eprintln!("mean weight {mean:.6} nA");

    // the float64 twin on the same trains (post spikes delayed by the 1-step dendritic delay)
    let mut trains = vec![Vec::new(); n];
    for &(t, i) in &r.spikes.iter().find(|s| s.population == "inputs").unwrap().events {
        trains[i as usize].push(t as i64);
    }
    let post: Vec<i64> = r.spikes.iter().find(|s| s.population == "neuron").unwrap().events.iter().map(|e| e.0 as i64 + 1).collect();
    assert!(post.len() > 300, "the neuron fires ({} spikes)", post.len());
    let rule = PairStdp {
        pairing: Pairing::AllToAll,
        weight_dependence: WeightDependence::Additive,
        tau_plus_ms: 20.0,
        tau_minus_ms: 20.0,
        a_plus: 2.5e-5,
        a_minus: 2.625e-5,
        w_min: 0.0,
        w_max: W_MAX,
    };
    let last = &w.values[(w.steps.len() - 1) * n..];
    // the initial weights, as drawn by the expansion (the IR's floats)
    let w0: Vec<f64> = expand::expand(&net, 1).unwrap().projections[0].synapses.iter().map(|s| s.weight).collect();
    let mut max_err: f64 = 0.0;
    for (k, &(i, _)) in w.synapses.iter().enumerate() {
        let pre = &trains[i as usize];
        let lp = *pre.last().unwrap();
        let posts: Vec<i64> = post.iter().copied().filter(|&p| p <= lp).collect();
        let (wf, _) = run_pair(&rule, pre, &posts, w0[k], 1.0).unwrap();
        max_err = max_err.max((wf - last[k]).abs() / W_MAX);
    }
    eprintln!("fixed vs float: max |Δw| = {:.4} % of w_max", max_err * 100.0);
    assert!(max_err < 0.005);
}
