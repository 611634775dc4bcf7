//! Lava's Dense shifts the *sum* of a projection's weights by `weight_exp`.
//! When the pre population is split over several cores, the emulator must
//! add up the raw sums from all of them before shifting (accumulation groups,
//! `SectionKind::LoihiBlockGroups`); shifting each core's partial sum would
//! round differently for a negative exponent. The network below has odd
//! sums that do not divide by 2^3, so splitting 40 inputs over 5 cores must
//! not change a single value of `u`, `v` or any spike.

use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;

const NET: &str = r#"
spikeforge: 1
name: split_weight_exp
dt_ms: 1
duration_ms: 60
seed: 3
populations:
  - name: inputs
    size: 40
    spike_source_poisson: {rate_hz: 300, seed: 11}
  - name: lif
    size: 4
    lava_lif: {du: 512, dv: 256, vth: 30}
projections:
  - name: dense
    pre: inputs
    post: lif
    receptor: signed
    connector: all_to_all
    weight: {uniform: {low: -40, high: 60, seed: 12}}
    loihi: {sign_mode: mixed, num_weight_bits: 8, weight_exp: -3}
    delay_ms: 1
record:
  - spikes: {population: lif}
  - state: {population: lif, variable: u}
  - state: {population: lif, variable: v}
"#;

fn run(max_per_core: u32) -> spikeforge_results::RunResult {
    let net = yaml::parse(NET, "split_weight_exp.yaml").unwrap();
    let compiled = compile(&net, &CompileOptions { profile: TargetProfile::Loihi, max_neurons_per_core: max_per_core, n_steps: 60 }).unwrap();
    let n_cores = compiled.program.manifest.cores.len();
    assert_eq!(n_cores, 40usize.div_ceil(max_per_core as usize) + 4usize.div_ceil(max_per_core as usize));
    Emulator::new(compiled.program, 1).unwrap().run(60, |_| {}).unwrap().0
}

#[test]
fn splitting_the_inputs_over_cores_keeps_the_shifted_sum() {
    let one = run(64);
    let split = run(8);
    assert!(one.spikes[0].events.len() > 10, "{} spikes", one.spikes[0].events.len());
    assert_eq!(one.spikes, split.spikes);
    for (a, b) in one.states.iter().zip(&split.states) {
        assert_eq!(a.raw, b.raw, "{}", a.variable);
    }
}
