//! The `spinnaker` profile runs the physical-unit examples deterministically.

use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use std::path::Path;

fn run(example: &str, steps: u32, threads: usize) -> (spikeforge_results::RunResult, spikeforge_emu::Counters) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(example);
    let net = yaml::parse(&std::fs::read_to_string(&path).unwrap(), example).unwrap();
    let compiled = compile(&net, &CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: steps }).unwrap();
    let mut emu = Emulator::new(compiled.program, threads).unwrap();
    emu.run(steps, |_| {}).unwrap()
}

#[test]
fn ei_network_spikes_and_is_thread_count_independent() {
    let (a, ca) = run("ei_triplet.yaml", 2000, 1);
    let (b, cb) = run("ei_triplet.yaml", 2000, 2);
    assert_eq!(a, b);
    assert_eq!(ca, cb);
    let exc = a.spikes.iter().find(|s| s.population == "exc").unwrap();
    eprintln!("exc spikes: {}, events {}", exc.events.len(), ca.synaptic_events);
    assert!(!exc.events.is_empty());
}
