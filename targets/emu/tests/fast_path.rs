//! The fast path (structure of arrays, persistent workers) against the
//! reference path (the kernel's `step_core` and `process_fixed_synapses`,
//! one core after the other on one thread) on the Vogels–Abbott CUBA
//! network: spike for spike, recorded state word for word, and the complete
//! neuron, synapse and ring-buffer state of every core at the end.

use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use std::path::Path;

/// CUBA with `dt_ms`, run for `duration_ms`, recording every spike and the
/// three state words of neurons spread over every core, every step.
fn cuba(dt_ms: f64, duration_ms: f64) -> (MachineProgram, u32) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cuba.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for var in ["v", "i_syn_e", "i_syn_i"] {
        text.push_str(&format!("  - state: {{population: exc, variable: {var}, neurons: [0, 1, 255, 256, 700, 1500, 2047, 3071, 3072, 3199]}}\n"));
        text.push_str(&format!("  - state: {{population: inh, variable: {var}, neurons: [0, 255, 256, 600, 768, 799]}}\n"));
    }
    let mut net = yaml::parse(&text, "cuba.yaml").unwrap();
    net.dt_ms = dt_ms;
    net.duration_ms = duration_ms;
    let steps = (duration_ms / dt_ms).round() as u32;
    let compiled = compile(&net, &CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: steps }).unwrap();
    (compiled.program, steps)
}

fn compare(dt_ms: f64, duration_ms: f64) {
    let (program, steps) = cuba(dt_ms, duration_ms);
    let n_cores = program.images.len();
    let mut reference = Emulator::new_reference(program.clone()).unwrap();
    let (want, want_counters) = reference.run(steps, |_| {}).unwrap();
    let spikes: usize = want.spikes.iter().map(|s| s.events.len()).sum();
    assert!(spikes > 1000, "only {spikes} spikes: the comparison would be weak");
    assert!(want_counters.synaptic_events > 50_000, "{want_counters:?}");
    assert_eq!(want.states.len(), 6);
    for threads in [1, 2, 3] {
        let mut fast = Emulator::new(program.clone(), threads).unwrap();
        let (got, got_counters) = fast.run(steps, |_| {}).unwrap();
        assert_eq!(got_counters, want_counters, "threads {threads}");
        for (g, w) in got.spikes.iter().zip(&want.spikes) {
            assert_eq!(g.events, w.events, "spikes of {}, threads {threads}", w.population);
        }
        for (g, w) in got.states.iter().zip(&want.states) {
            assert_eq!(g.raw, w.raw, "{} of {}, threads {threads}", w.variable, w.population);
        }
        assert_eq!(got, want, "threads {threads}");
        for c in 0..n_cores {
            assert_eq!(fast.spinnaker_state(c), reference.spinnaker_state(c), "core {c}, threads {threads}");
        }
    }
}

#[test]
fn cuba_fast_path_equals_reference_at_dt_0_1_ms() {
    compare(0.1, 200.0);
}

#[test]
fn cuba_fast_path_equals_reference_at_dt_1_ms() {
    compare(1.0, 300.0);
}
