//! The fast path (structure of arrays, persistent workers) against the
//! reference path (the kernel's `step_core` and `process_fixed_synapses`,
//! one core after the other on one thread) on the Vogels–Abbott CUBA
//! network: spike for spike, recorded state word for word, and the complete
//! neuron, synapse and ring-buffer state of every core at the end.

use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::yaml;
use spikeforge_emu::{Counters, Emulator};
use spikeforge_results::RunResult;
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

/// Runs `program` for `steps` on the reference path and on the fast path
/// with 1, 2 and 3 threads (`check` sees each fast emulator before its run)
/// and asserts that the counters, every spike, every recorded state word
/// and weight, and every core's final state agree. Returns the reference
/// run (for the caller's checks that the comparison is not weak).
fn assert_fast_equals_reference(program: &MachineProgram, steps: u32, check: impl Fn(&Emulator, usize)) -> (RunResult, Counters) {
    let n_cores = program.images.len();
    let mut reference = Emulator::new_reference(program.clone()).unwrap();
    let (want, want_counters) = reference.run(steps, |_| {}).unwrap();
    for threads in [1, 2, 3] {
        let mut fast = Emulator::new(program.clone(), threads).unwrap();
        check(&fast, threads);
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
    (want, want_counters)
}

fn compare(dt_ms: f64, duration_ms: f64) {
    let (program, steps) = cuba(dt_ms, duration_ms);
    let (want, want_counters) = assert_fast_equals_reference(&program, steps, |_, _| {});
    let spikes: usize = want.spikes.iter().map(|s| s.events.len()).sum();
    assert!(spikes > 1000, "only {spikes} spikes: the comparison would be weak");
    assert!(want_counters.synaptic_events > 50_000, "{want_counters:?}");
    assert_eq!(want.states.len(), 6);
}

#[test]
fn cuba_fast_path_equals_reference_at_dt_0_1_ms() {
    compare(0.1, 200.0);
}

#[test]
fn cuba_fast_path_equals_reference_at_dt_1_ms() {
    compare(1.0, 300.0);
}

/// Merged delivery with synchronous volleys: 300 array sources that fire
/// together every 5 ms, all-to-all onto 600 neurons on three cores, and a
/// dense recurrent projection with a 2-step delay, so many rows of one
/// source land on several cores and several delay slots in one step. A
/// fourth core (40 neurons, 5-step delays) makes the cores' ring layouts
/// differ in neuron and delay bits, and a weight recording every 7 steps
/// ends a segment (pending entries leave the merged buffers and come back)
/// at steps that are not multiples of any ring size.
/// (The compiler's weight-scale shift bounds the worst case of these
/// sources, so nothing saturates; saturation counts are compared anyway.)
/// Counters, spikes, states and the final buffers equal the reference path
/// for 1, 2 and 3 threads.
#[test]
fn synchronous_volleys_equal_reference() {
    let times: Vec<String> = (0..300).map(|i| format!("[{}]", (1..40).map(|k| (5 * k + i % 2).to_string()).collect::<Vec<_>>().join(", "))).collect();
    let text = format!(
        "spikeforge: 1\nname: volleys\ndt_ms: 1.0\nduration_ms: 200\nseed: 3\npopulations:\n  - name: src\n    spike_source_array:\n      times_ms: [{}]\n  - name: lif\n    size: 600\n    if_curr_exp: {{tau_m_ms: 20, cm_nf: 1.0, v_rest_mv: -65, v_reset_mv: -70, v_thresh_mv: -50, tau_refrac_ms: 2, tau_syn_e_ms: 5, tau_syn_i_ms: 5}}\n  - name: lif2\n    size: 40\n    if_curr_exp: {{tau_m_ms: 10, cm_nf: 0.5, v_rest_mv: -65, v_reset_mv: -70, v_thresh_mv: -52, tau_refrac_ms: 1, tau_syn_e_ms: 2, tau_syn_i_ms: 5}}\nprojections:\n  - {{name: drive, pre: src, post: lif, connector: all_to_all, weight: {{uniform: {{low: 0.2, high: 1.0, seed: 4}}}}, delay_ms: 1}}\n  - {{name: rec, pre: lif, post: lif, connector: {{fixed_probability: {{p_connect: 0.5, seed: 5}}}}, weight: {{uniform: {{low: 0.5, high: 5.0, seed: 6}}}}, delay_ms: 2}}\n  - {{name: far, pre: lif, post: lif2, connector: {{fixed_probability: {{p_connect: 0.2, seed: 7}}}}, weight: 1.5, delay_ms: 5}}\nrecord:\n  - spikes: {{population: lif}}\n  - spikes: {{population: lif2}}\n  - weights: {{projection: rec, every_n_steps: 7}}\n  - state: {{population: lif, variable: i_syn_e, neurons: [0, 299, 300, 599]}}\n",
        times.join(", ")
    );
    let net = yaml::parse(&text, "volleys.yaml").unwrap();
    let steps = 200;
    let program = compile(&net, &CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: steps }).unwrap().program;
    let (_, want_counters) = assert_fast_equals_reference(&program, steps, |_, _| {});
    assert!(want_counters.synaptic_events > 10_000_000 && want_counters.spikes > 40_000, "{want_counters:?}");
}

/// Exchanging spikes once per window of steps: a CUBA-like network at
/// dt = 0.1 ms whose every delay is at least 1 ms (10 steps; others 1.2, 1.5
/// and 2.3 ms), driven by an array source, with a weight recording every 37
/// steps that ends segments inside windows (the pending entries leave the
/// merged buffers and come back between two exchanges). With 2 and 3
/// workers the workers exchange every 10 steps; counters, spikes, states and
/// every core's final state (ring buffers included) equal the reference
/// path's, and the 1-thread run's. CUBA itself (one-step delays) keeps
/// exchanging every step.
#[test]
fn exchange_per_window_equals_reference() {
    let times: Vec<String> = (0..50).map(|i| format!("[{}]", (0..20).map(|k| format!("{:.1}", 2.0 + 4.7 * k as f64 + 0.3 * (i % 7) as f64)).collect::<Vec<_>>().join(", "))).collect();
    let lif = "tau_m_ms: 20, cm_nf: 1.0, v_rest_mv: -49, v_reset_mv: -60, v_thresh_mv: -50, tau_refrac_ms: 5, tau_syn_e_ms: 5, tau_syn_i_ms: 10";
    let text = format!(
        "spikeforge: 1\nname: windows\ndt_ms: 0.1\nduration_ms: 100\nseed: 5\npopulations:\n  - name: src\n    spike_source_array:\n      times_ms: [{}]\n  - name: exc\n    size: 800\n    if_curr_exp: {{{lif}, v_init_distribution_mv: {{uniform: {{low: -60, high: -50, seed: 1}}}}}}\n  - name: inh\n    size: 200\n    if_curr_exp: {{{lif}, v_init_distribution_mv: {{uniform: {{low: -60, high: -50, seed: 2}}}}}}\nprojections:\n  - {{name: drive, pre: src, post: exc, connector: {{fixed_probability: {{p_connect: 0.2, seed: 3}}}}, weight: 0.3, delay_ms: 1.2}}\n  - {{name: ee, pre: exc, post: exc, connector: {{fixed_probability: {{p_connect: 0.08, seed: 11}}}}, weight: 0.081, delay_ms: 1.0}}\n  - {{name: ei, pre: exc, post: inh, connector: {{fixed_probability: {{p_connect: 0.08, seed: 12}}}}, weight: 0.081, delay_ms: 1.0}}\n  - {{name: ie, pre: inh, post: exc, receptor: inhibitory, connector: {{fixed_probability: {{p_connect: 0.08, seed: 13}}}}, weight: 0.45, delay_ms: 1.5}}\n  - {{name: ii, pre: inh, post: inh, receptor: inhibitory, connector: {{fixed_probability: {{p_connect: 0.08, seed: 14}}}}, weight: 0.45, delay_ms: 2.3}}\nrecord:\n  - spikes: {{population: exc}}\n  - spikes: {{population: inh}}\n  - weights: {{projection: ie, every_n_steps: 37}}\n  - state: {{population: exc, variable: v, neurons: [0, 127, 128, 799]}}\n  - state: {{population: inh, variable: i_syn_i, neurons: [0, 199]}}\n",
        times.join(", ")
    );
    let net = yaml::parse(&text, "windows.yaml").unwrap();
    let steps = 1000;
    let program = compile(&net, &CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 128, n_steps: steps }).unwrap().program;
    let (_, want_counters) = assert_fast_equals_reference(&program, steps, |fast, threads| {
        assert_eq!(fast.exchange_window(), if threads == 1 { 1 } else { 10 }, "threads {threads}");
    });
    assert!(want_counters.spikes > 3000 && want_counters.synaptic_events > 100_000, "{want_counters:?}");
    let (cuba, _) = cuba(0.1, 10.0);
    assert_eq!(Emulator::new(cuba, 2).unwrap().exchange_window(), 1);
}

/// A window's mailbox has room for every neuron of a worker spiking in
/// every step of it and stays within 1 MiB: with 4 ms delays at dt 0.1 ms
/// (40 steps) a small network exchanges every 32 steps (the most), one of
/// 2 × 10,000 neurons less often than every step but more often than every
/// 32 (about 10,000 words a step per worker).
#[test]
fn exchange_window_is_bounded() {
    let net = |n: u32| {
        let text = format!(
            "spikeforge: 1\nname: big\ndt_ms: 0.1\nduration_ms: 10\nseed: 1\npopulations:\n  - name: a\n    size: {n}\n    if_curr_exp: {{tau_m_ms: 20, cm_nf: 1.0, v_rest_mv: -65, v_reset_mv: -70, v_thresh_mv: -50, tau_refrac_ms: 2, tau_syn_e_ms: 5, tau_syn_i_ms: 5}}\n  - name: b\n    size: {n}\n    if_curr_exp: {{tau_m_ms: 20, cm_nf: 1.0, v_rest_mv: -65, v_reset_mv: -70, v_thresh_mv: -50, tau_refrac_ms: 2, tau_syn_e_ms: 5, tau_syn_i_ms: 5}}\nprojections:\n  - {{name: ab, pre: a, post: b, connector: {{fixed_probability: {{p_connect: 0.001, seed: 2}}}}, weight: 0.1, delay_ms: 4}}\n  - {{name: ba, pre: b, post: a, connector: {{fixed_probability: {{p_connect: 0.001, seed: 3}}}}, weight: 0.1, delay_ms: 4}}\n"
        );
        let net = yaml::parse(&text, "big.yaml").unwrap();
        compile(&net, &CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: 100 }).unwrap().program
    };
    assert_eq!(Emulator::new(net(1000), 2).unwrap().exchange_window(), 32);
    let w = Emulator::new(net(10_000), 2).unwrap().exchange_window();
    assert!(w > 1 && w < 32, "{w}");
}
