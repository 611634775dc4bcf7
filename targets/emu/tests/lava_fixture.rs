//! The emulator's `loihi` profile reproduces Lava 0.10's bit-accurate LIF and
//! Dense: `examples/lava_learning.yaml` (the network of the Lava learning
//! oracle) is compiled and emulated, and every per-step `u`, `v` and spike of
//! the static part is compared with the fixtures Lava produced.

use serde_json::Value;
use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    let p = std::env::var_os("SPIKEFORGE_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(p.join("fixtures").is_dir(), "shared fixtures not found at {} (set SPIKEFORGE_SHARED)", p.display());
    p
}

fn run_example(threads: usize) -> spikeforge_results::RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lava_learning.yaml");
    let net = yaml::parse(&std::fs::read_to_string(&path).unwrap(), "lava_learning.yaml").unwrap();
    let compiled = compile(&net, &CompileOptions { profile: TargetProfile::Loihi, max_neurons_per_core: 256, n_steps: 100 }).unwrap();
    let mut emu = Emulator::new(compiled.program, threads).unwrap();
    emu.run(100, |_| {}).unwrap().0
}

fn column(v: &Value, key: &str, step: usize) -> Vec<i64> {
    v["per_step"][step][key].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

#[test]
fn static_part_matches_lava_step_by_step() {
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(shared().join("fixtures/lava-learning/default/result.json")).unwrap()).unwrap();
    let r = run_example(1);
    let state = |pop: &str, var: &str| r.states.iter().find(|s| s.population == pop && s.variable == var).unwrap();
    let (pu, pv) = (state("lif_pre", "u"), state("lif_pre", "v"));
    assert_eq!(pu.steps.len(), 100);
    for t in 0..100 {
        let raw = |s: &spikeforge_results::StateRecord| s.raw.as_ref().unwrap()[t * s.neurons.len()..(t + 1) * s.neurons.len()].to_vec();
        assert_eq!(raw(pu), column(&fixture, "pre_u", t), "lif_pre u at step {}", t + 1);
        assert_eq!(raw(pv), column(&fixture, "pre_v", t), "lif_pre v at step {}", t + 1);
    }
    // Spikes of lif_pre, every step and neuron.
    let spikes = r.spikes.iter().find(|s| s.population == "lif_pre").unwrap();
    let mut expected = Vec::new();
    for (t, row) in fixture["spikes_pre"].as_array().unwrap().iter().enumerate() {
        for (i, s) in row.as_array().unwrap().iter().enumerate() {
            if s.as_i64() == Some(1) {
                expected.push((t as u32 + 1, i as u32));
            }
        }
    }
    assert_eq!(spikes.events, expected);
    // lif_post until the first learning epoch changes a weight (learning is
    // compared in the plasticity tests).
    let w0 = &fixture["per_step"][0]["w"];
    let first_change = (0..100).find(|&t| &fixture["per_step"][t]["w"] != w0).unwrap();
    let (qu, qv) = (state("lif_post", "u"), state("lif_post", "v"));
    for t in 0..=first_change {
        let raw = |s: &spikeforge_results::StateRecord| s.raw.as_ref().unwrap()[t * 2..t * 2 + 2].to_vec();
        assert_eq!(raw(qu), column(&fixture, "post_u", t), "lif_post u at step {}", t + 1);
        assert_eq!(raw(qv), column(&fixture, "post_v", t), "lif_post v at step {}", t + 1);
    }
    assert!(first_change >= 5, "the comparison must cover some steps (first weight change at step {})", first_change + 1);
}

#[test]
fn output_does_not_depend_on_thread_count() {
    assert_eq!(run_example(1), run_example(2));
}
