//! The emulator's STDP row walker (`src/stdp_fast.rs`) against the kernel's
//! (`Emulator::new_reference`), bit for bit, through the whole compiler:
//! pair all-to-all and nearest-pair STDP (additive and multiplicative) and
//! the additive triplet rule, with 16-bit and 32-bit plastic weights, on 1
//! and 2 worker threads.
//!
//! The networks are small but busy: Poisson pre neurons onto post neurons
//! spread over several cores, through plastic `from_list` synapses with
//! dendritic delays 1..8, and with excitatory and inhibitory plastic
//! projections between the same populations (rows with both synapse
//! types); half the post neurons are driven by a 400 Hz teacher, so their
//! post histories overflow (more than 15 post events between two pre
//! spikes of a row), the other half by a 15 Hz teacher. A static projection
//! shares the plastic rows' source and target cores.
//!
//! Compared: every spike, every recorded weight sample (every 25 steps),
//! the counters, and at the end every core's plastic row words (pre
//! histories, weights, controls), post histories, neuron, synapse and
//! ring-buffer state.

use spikeforge_compiler::lower::{compile_with_profile, CompileOptions, ProfileOptions, TargetProfile};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_compiler::yaml;
use spikeforge_emu::{Counters, Emulator};
use spikeforge_results::RunResult;

const STEPS: u32 = 1500;
const N_PRE: u32 = 40;
const N_POST: u32 = 24;

fn rule_yaml(rule: &str) -> String {
    match rule {
        "pair_add" => "pair_stdp: {pairing: all_to_all, weight_dependence: additive, tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.01, a_minus: 0.012, w_min: 0.0, w_max: 0.4}".into(),
        "pair_mult" => "pair_stdp: {pairing: all_to_all, weight_dependence: multiplicative, tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.1, a_minus: 0.12, w_min: 0.0, w_max: 0.4}".into(),
        "nearest_add" => "pair_stdp: {pairing: nearest, weight_dependence: additive, tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.01, a_minus: 0.012, w_min: 0.0, w_max: 0.4}".into(),
        "nearest_mult" => "pair_stdp: {pairing: nearest, weight_dependence: multiplicative, tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.1, a_minus: 0.12, w_min: 0.0, w_max: 0.4}".into(),
        "triplet" => "triplet_stdp: {weight_dependence: additive, tau_plus_ms: 16.8, tau_minus_ms: 33.7, tau_x_ms: 101.0, tau_y_ms: 125.0, a2_plus: 0.004, a2_minus: 0.007, a3_plus: 0.0062, a3_minus: 0.0003, w_min: 0.0, w_max: 0.4}".into(),
        other => panic!("unknown rule {other}"),
    }
}

/// `pre → post` synapses (pre, post, weight, delay ms) of one plastic
/// projection; `salt` varies weights and delays between projections.
fn synapses(salt: u32) -> String {
    let mut s = Vec::new();
    for i in 0..N_PRE {
        for j in 0..N_POST {
            if (i * 5 + j * 3 + salt).is_multiple_of(7) {
                continue; // not quite all-to-all: rows of different lengths
            }
            let w = 0.02 + 0.012 * ((i * 3 + j * 7 + salt) % 23) as f64;
            let d = 1 + (i * 7 + j * 3 + salt) % 8;
            s.push(format!("[{i}, {j}, {w:?}, {d}]"));
        }
    }
    s.join(", ")
}

fn teacher_list(offset: u32) -> String {
    (0..N_POST / 2).map(|i| format!("[{i}, {}, 40.0, 1]", i + offset)).collect::<Vec<_>>().join(", ")
}

fn network(rule: &str) -> String {
    format!(
        "spikeforge: 1
name: plastic_fast_path
dt_ms: 1.0
duration_ms: {STEPS}
seed: 11
populations:
  - name: pre
    size: {N_PRE}
    spike_source_poisson: {{rate_hz: 25, seed: 5}}
  - name: teach_hi
    size: {half}
    spike_source_poisson: {{rate_hz: 400, seed: 6}}
  - name: teach_lo
    size: {half}
    spike_source_poisson: {{rate_hz: 15, seed: 7}}
  - name: post
    size: {N_POST}
    if_curr_exp: {{tau_m_ms: 20, cm_nf: 0.25, v_rest_mv: -65, v_reset_mv: -65, v_thresh_mv: -50, tau_refrac_ms: 0, tau_syn_e_ms: 0.2, tau_syn_i_ms: 0.2}}
projections:
  - {{name: hi, pre: teach_hi, post: post, connector: {{from_list: [{hi}]}}}}
  - {{name: lo, pre: teach_lo, post: post, connector: {{from_list: [{lo}]}}}}
  - {{name: plastic_e, pre: pre, post: post, receptor: excitatory, connector: {{from_list: [{se}]}}, plasticity: rule}}
  - {{name: plastic_i, pre: pre, post: post, receptor: inhibitory, connector: {{from_list: [{si}]}}, plasticity: rule}}
  - {{name: static_same, pre: pre, post: post, connector: all_to_all, weight: 0.01, delay_ms: 2}}
plasticity:
  - name: rule
    {rule}
record:
  - spikes: {{population: post}}
  - weights: {{projection: plastic_e, every_n_steps: 25}}
  - weights: {{projection: plastic_i, every_n_steps: 25}}
",
        half = N_POST / 2,
        hi = teacher_list(0),
        lo = teacher_list(N_POST / 2),
        se = synapses(0),
        si = synapses(3),
        rule = rule_yaml(rule),
    )
}

fn compile(rule: &str, bits: PlasticWeightBits) -> MachineProgram {
    let net = yaml::parse(&network(rule), "plastic_fast_path.yaml").unwrap_or_else(|e| panic!("{e:?}"));
    // 8 neurons per core: the post population spans three cores
    let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 8, n_steps: STEPS };
    compile_with_profile(&net, &opts, &Default::default(), &ProfileOptions { plastic_weight_bits: bits }).unwrap_or_else(|e| panic!("{rule} {bits:?}: {e:?}")).program
}

/// Words per post history of a rule (`PostEventHistory` 100 B, nearest 68 B,
/// triplet 196 B).
fn history_words(rule: &str) -> usize {
    match rule {
        "triplet" => 49,
        r if r.starts_with("nearest") => 17,
        _ => 25,
    }
}

fn check(rule: &str, bits: PlasticWeightBits) {
    let program = compile(rule, bits);
    let mut reference = Emulator::new_reference(program.clone()).unwrap();
    let (want, want_counters) = reference.run(STEPS, |_| {}).unwrap();
    let n_cores = program.images.len();

    // The case is busy: post spikes, weights that move, full post histories.
    let post = &want.spikes.iter().find(|s| s.population == "post").unwrap().events;
    assert!(post.len() > 3000, "{rule} {bits:?}: {} post spikes", post.len());
    for w in &want.weights {
        let raw = w.raw.as_ref().unwrap();
        let n = w.synapses.len();
        assert_eq!(raw.len(), n * (STEPS / 25) as usize);
        let changed = raw[..n].iter().zip(&raw[raw.len() - n..]).filter(|(a, b)| a != b).count();
        assert!(changed * 2 > n, "{rule} {bits:?}: only {changed} of {n} weights of {} moved", w.projection);
    }
    let mut plastic_cores = 0;
    let mut full = 0;
    for c in 0..n_cores {
        if let Some((_, hist)) = reference.spinnaker_stdp_state(c) {
            plastic_cores += 1;
            full += hist.chunks(history_words(rule)).filter(|h| h[0] == 15).count();
        }
    }
    assert!(plastic_cores >= 3, "{rule}: the plastic projections span {plastic_cores} cores");
    assert!(full >= N_POST as usize / 2, "{rule}: {full} post histories are full");

    same_as_reference(&program, &reference, &want, &want_counters, &format!("{rule} {bits:?}"));
}

/// The fast path on 1 and 2 threads against the reference run (`want`,
/// `want_counters`, and `reference`'s cores at the end): counters, every
/// spike, every weight sample, the recorded counters, and every core's
/// plastic rows, post histories, neuron, synapse and ring-buffer state.
fn same_as_reference(program: &MachineProgram, reference: &Emulator, want: &RunResult, want_counters: &Counters, label: &str) {
    for threads in [1, 2] {
        let mut fast = Emulator::new(program.clone(), threads).unwrap();
        let (got, got_counters) = fast.run(STEPS, |_| {}).unwrap();
        let what = format!("{label} threads {threads}");
        assert_eq!(&got_counters, want_counters, "{what}: counters");
        assert_eq!(got.spikes, want.spikes, "{what}: spikes");
        assert_eq!(got.weights.len(), want.weights.len());
        for (g, w) in got.weights.iter().zip(&want.weights) {
            assert_eq!(g.synapses, w.synapses, "{what}: {} synapses", w.projection);
            assert_eq!(g.steps, w.steps, "{what}: {} sample steps", w.projection);
            assert_eq!(g.raw, w.raw, "{what}: {} weight samples", w.projection);
        }
        assert_eq!(got.counters, want.counters, "{what}: recorded counters");
        for c in 0..program.images.len() {
            assert_eq!(fast.spinnaker_stdp_state(c), reference.spinnaker_stdp_state(c), "{what}: core {c} plastic rows and post histories");
            assert_eq!(fast.spinnaker_state(c), reference.spinnaker_state(c), "{what}: core {c} neurons, synapses, ring buffer");
        }
    }
}

#[test]
fn pair_additive() {
    check("pair_add", PlasticWeightBits::Sixteen);
    check("pair_add", PlasticWeightBits::ThirtyTwo);
}

#[test]
fn pair_multiplicative() {
    check("pair_mult", PlasticWeightBits::Sixteen);
    check("pair_mult", PlasticWeightBits::ThirtyTwo);
}

#[test]
fn nearest_additive() {
    check("nearest_add", PlasticWeightBits::Sixteen);
    check("nearest_add", PlasticWeightBits::ThirtyTwo);
}

#[test]
fn nearest_multiplicative() {
    check("nearest_mult", PlasticWeightBits::Sixteen);
    check("nearest_mult", PlasticWeightBits::ThirtyTwo);
}

#[test]
fn triplet_additive() {
    check("triplet", PlasticWeightBits::Sixteen);
    check("triplet", PlasticWeightBits::ThirtyTwo);
}

/// Weight samples taken during a run (gathered in a (pre, post) order sorted
/// once) equal a full read-back (listed and sorted anew) at the same step:
/// the run with samples every 25 steps against runs of 750 and 1500 steps
/// that read the weights only at their end.
#[test]
fn weight_samples_equal_a_full_read_at_their_step() {
    let compile_text = |text: &str| {
        let net = yaml::parse(text, "plastic_fast_path.yaml").unwrap_or_else(|e| panic!("{e:?}"));
        let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 8, n_steps: STEPS };
        compile_with_profile(&net, &opts, &Default::default(), &ProfileOptions { plastic_weight_bits: PlasticWeightBits::ThirtyTwo }).unwrap().program
    };
    let sampled = compile_text(&network("pair_add"));
    let at_end = compile_text(&network("pair_add").replace("every_n_steps: 25", "every_n_steps: 0"));
    for threads in [1, 2] {
        let (all, _) = Emulator::new(sampled.clone(), threads).unwrap().run(STEPS, |_| {}).unwrap();
        for steps in [STEPS / 2, STEPS] {
            let (end, _) = Emulator::new(at_end.clone(), threads).unwrap().run(steps, |_| {}).unwrap();
            for (s, e) in all.weights.iter().zip(&end.weights) {
                assert_eq!(s.synapses, e.synapses, "{}", s.projection);
                let n = s.synapses.len();
                let k = s.steps.iter().position(|&t| t == steps).expect("a sample at that step");
                assert_eq!(e.steps, vec![steps]);
                assert_eq!(&s.raw.as_ref().unwrap()[k * n..(k + 1) * n], &e.raw.as_ref().unwrap()[..], "{} at step {steps}, threads {threads}", s.projection);
                assert_eq!(&s.values[k * n..(k + 1) * n], &e.values[..], "{} at step {steps}", s.projection);
            }
        }
    }
}

/// An all-to-all plastic projection onto 20 neurons per core (one delay and
/// type, plus a static all-to-all projection in the same rows): rows whose
/// first 16 synapses the fast walker takes as a vector with consecutive
/// ring-buffer entries, and the 4 after them. The same bits as the kernel's
/// walker for the pair and nearest-pair rules, both weight widths, 1 and 2
/// threads. (Two plastic projections between the same populations
/// interleave their synapses by neuron: the test above.)
#[test]
fn dense_rows_in_lanes() {
    const N_DENSE: u32 = 40;
    for rule in ["pair_add", "pair_mult", "nearest_add", "nearest_mult"] {
        let text = format!(
            "spikeforge: 1
name: dense_rows
dt_ms: 1.0
duration_ms: {STEPS}
seed: 12
populations:
  - {{name: pre, size: {N_PRE}, spike_source_poisson: {{rate_hz: 20, seed: 5}}}}
  - {{name: teach, size: {half}, spike_source_poisson: {{rate_hz: 300, seed: 6}}}}
  - name: post
    size: {N_DENSE}
    if_curr_exp: {{tau_m_ms: 20, cm_nf: 0.25, v_rest_mv: -65, v_reset_mv: -65, v_thresh_mv: -50, tau_refrac_ms: 0, tau_syn_e_ms: 0.2, tau_syn_i_ms: 0.2}}
projections:
  - {{name: teach, pre: teach, post: post, connector: {{from_list: [{taught}]}}}}
  - {{name: dense_e, pre: pre, post: post, receptor: excitatory, connector: all_to_all, weight: {{uniform: {{low: 0.02, high: 0.3, seed: 1}}}}, delay_ms: 1, plasticity: rule}}
  - {{name: dense_i, pre: pre, post: post, receptor: inhibitory, connector: all_to_all, weight: {{uniform: {{low: 0.02, high: 0.1, seed: 2}}}}, delay_ms: 3}}
plasticity:
  - name: rule
    {rule}
record:
  - spikes: {{population: post}}
  - weights: {{projection: dense_e, every_n_steps: 100}}
",
            half = N_DENSE / 2,
            // teacher i drives post neuron 2i: every other neuron is taught
            taught = (0..N_DENSE / 2).map(|i| format!("[{i}, {}, 40.0, 1]", 2 * i)).collect::<Vec<_>>().join(", "),
            rule = rule_yaml(rule),
        );
        let net = yaml::parse(&text, "dense_rows.yaml").unwrap_or_else(|e| panic!("{e:?}"));
        let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 20, n_steps: STEPS };
        for bits in [PlasticWeightBits::Sixteen, PlasticWeightBits::ThirtyTwo] {
            let program = compile_with_profile(&net, &opts, &Default::default(), &ProfileOptions { plastic_weight_bits: bits })
                .unwrap_or_else(|e| panic!("{rule} {bits:?}: {e:?}"))
                .program;
            let mut reference = Emulator::new_reference(program.clone()).unwrap();
            let (want, want_counters) = reference.run(STEPS, |_| {}).unwrap();
            let post = &want.spikes.iter().find(|s| s.population == "post").unwrap().events;
            assert!(post.len() > 1000, "{rule} {bits:?}: {} post spikes", post.len());
            let w = &want.weights[0];
            let (raw, n) = (w.raw.as_ref().unwrap(), w.synapses.len());
            let changed = raw[..n].iter().zip(&raw[raw.len() - n..]).filter(|(a, b)| a != b).count();
            // the taught half's weights move; the other half's post neurons
            // barely spike (histories with only the sentinel, also a lane case)
            assert!(changed * 4 > n, "{rule} {bits:?}: only {changed} of {n} weights moved");
            same_as_reference(&program, &reference, &want, &want_counters, &format!("dense {rule} {bits:?}"));
        }
    }
}
