//! Recording layout, notes and errors of the network reference.

mod network_common;

use network_common::*;
use spikeforge_compiler::ir::{self, plasticity_rule::Rule, Receptor};
use spikeforge_reference::network::{simulate, PlasticityPolicy, SimError, SimOptions, Simulator, BACKEND};

/// Sources `in` (3 neurons), IF_curr_exp `n` (4 neurons, driven to spike).
fn base() -> ir::Network {
    let mut net = network(0.5);
    net.name = "layout".into();
    let m = ir::IfCurrExp { i_offset_na: 1.2, tau_refrac_ms: 1.0, ..pynn_defaults() };
    net.populations = vec![source("in", &[vec![1.0, 4.0], vec![], vec![2.5, 4.0, 9.5]]), if_pop("n", 4, m)];
    net.projections = vec![from_list("p", "in", "n", Receptor::Excitatory, &[(2, 1, 0.3, 1.0), (0, 3, 0.5, 0.5), (0, 0, 0.2, 1.5), (2, 3, 0.1, 0.5)])];
    net
}

#[test]
fn spike_records_filter_neurons_and_sort_by_step_then_neuron() {
    let mut net = base();
    net.recordings = vec![record_spikes("in", &[]), record_spikes("in", &[2, 0]), record_spikes("n", &[])];
    let (r, notes) = run(&net, 100);
    assert!(notes.is_empty());
    assert_eq!((r.network.as_str(), r.backend.as_str(), r.dt_ms, r.n_steps), ("layout", BACKEND, 0.5, 100));
    assert_eq!(r.spikes.len(), 3);
    assert_eq!(r.spikes[0].population, "in");
    assert_eq!(r.spikes[0].neurons, vec![0, 1, 2]);
    // Times 1.0, 4.0 | - | 2.5, 4.0, 9.5 ms at dt 0.5 -> steps 2, 8 | 5, 8, 19.
    assert_eq!(r.spikes[0].events, vec![(2, 0), (5, 2), (8, 0), (8, 2), (19, 2)]);
    assert_eq!(r.spikes[1].neurons, vec![2, 0]);
    assert_eq!(r.spikes[1].events, r.spikes[0].events);
    let ev = &r.spikes[2].events;
    assert!(ev.len() >= 8, "{ev:?}");
    assert!(ev.windows(2).all(|w| w[0] < w[1]), "{ev:?}");
    assert!(ev.iter().all(|&(s, j)| (1..=100).contains(&s) && j < 4));
    assert!(r.states.is_empty() && r.weights.is_empty() && r.counters.is_empty());
}

#[test]
fn state_records_sample_every_n_steps_row_major() {
    let mut net = base();
    net.recordings = vec![
        record_state("n", "v", &[], 0),
        record_state("n", "i_syn_e", &[3, 1], 4),
        record_state("n", "i_syn_i", &[0], 1),
        record_state("n", "v", &[2], 7),
    ];
    let n = 30;
    let (r, _) = run(&net, n);
    let all = &r.states[0];
    assert_eq!((all.population.as_str(), all.variable.as_str(), all.unit.as_str()), ("n", "v", "mV"));
    assert_eq!(all.neurons, vec![0, 1, 2, 3]);
    assert_eq!(all.steps, (1..=n).collect::<Vec<_>>());
    assert_eq!(all.values.len(), 4 * n as usize);
    assert!(all.raw.is_none() && all.raw_format.is_none());
    let sub = &r.states[1];
    assert_eq!((sub.unit.as_str(), sub.neurons.clone(), sub.steps.clone()), ("nA", vec![3, 1], vec![4, 8, 12, 16, 20, 24, 28]));
    assert_eq!(r.states[2].steps.len(), n as usize);
    assert_eq!(r.states[3].steps, vec![7, 14, 21, 28]);
    // The samples are the simulator's state after those steps.
    let exp = expanded(&net, n);
    let mut sim = Simulator::new(&exp, &SimOptions::default()).unwrap();
    let (mut k, mut k3) = (0, 0);
    for t in 1..=n {
        sim.step();
        let v = sim.v(1).unwrap();
        assert_eq!(&all.values[(t as usize - 1) * 4..t as usize * 4], v);
        if t % 4 == 0 {
            let ie = sim.state(1, spikeforge_reference::network::StateVar::ISynE).unwrap();
            assert_eq!(&sub.values[2 * k..2 * k + 2], &[ie[3], ie[1]]);
            k += 1;
        }
        if t % 7 == 0 {
            assert_eq!(r.states[3].values[k3], v[2]);
            k3 += 1;
        }
    }
    assert!(sub.values.iter().any(|&x| x > 0.0));
}

#[test]
fn weight_records_at_the_end_or_every_n_steps_in_expanded_order() {
    let mut net = base();
    net.recordings = vec![record_weights("p", 0), record_weights("p", 10)];
    let (r, _) = run(&net, 25);
    let end = &r.weights[0];
    assert_eq!(end.projection, "p");
    // Expanded order = the from_list order (not sorted by pre).
    assert_eq!(end.synapses, vec![(2, 1), (0, 3), (0, 0), (2, 3)]);
    assert_eq!(end.steps, vec![25]);
    assert_eq!(end.values, vec![0.3, 0.5, 0.2, 0.1]);
    let every = &r.weights[1];
    assert_eq!(every.steps, vec![10, 20]);
    assert_eq!(every.values, [0.3, 0.5, 0.2, 0.1].repeat(2));
    // A run of 0 steps records the initial weights at step 0.
    let (r0, _) = run(&net, 0);
    assert_eq!((r0.weights[0].steps.clone(), r0.weights[1].steps.clone()), (vec![0], vec![]));
}

#[test]
fn set_weight_addresses_synapses_in_expanded_order() {
    let net = base();
    let exp = expanded(&net, 5);
    let mut sim = Simulator::new(&exp, &SimOptions::default()).unwrap();
    sim.set_weight(0, 2, 7.0).unwrap();
    assert_eq!(sim.weights(0).unwrap(), vec![0.3, 0.5, 7.0, 0.1]);
    assert_eq!(sim.weight(0, 2), Some(7.0));
    assert_eq!(sim.synapses(0).unwrap(), &[(2, 1), (0, 3), (0, 0), (2, 3)]);
    assert!(matches!(sim.set_weight(0, 4, 1.0), Err(SimError::IndexOutOfRange { what: "synapse", index: 4, len: 4 })));
    assert!(matches!(sim.set_weight(1, 0, 1.0), Err(SimError::IndexOutOfRange { what: "projection", .. })));
    // The new weight is what the next delivery carries: in[0] spikes in step 2, delay 3 -> step 5.
    for _ in 0..5 {
        sim.step();
    }
    let ie = sim.state(1, spikeforge_reference::network::StateVar::ISynE).unwrap()[0];
    assert!((ie - 7.0 * (-0.5f64 / 5.0).exp()).abs() < 1e-12, "{ie}");
}

fn with_rule(mut net: ir::Network) -> ir::Network {
    let stdp = ir::PairStdp {
        pairing: ir::Pairing::AllToAll as i32,
        weight_dependence: ir::WeightDependence::Additive as i32,
        tau_plus_ms: 20.0,
        tau_minus_ms: 20.0,
        a_plus: 0.01,
        a_minus: 0.012,
        w_min: 0.0,
        w_max: 1.0,
    };
    net.plasticity_rules = vec![ir::PlasticityRule { name: "stdp".into(), rule: Some(Rule::PairStdp(stdp)) }];
    net.projections[0].plasticity = "stdp".into();
    net.recordings = vec![record_weights("p", 5)];
    net
}

#[test]
fn plastic_projections_learn_or_run_static_with_a_note() {
    let net = with_rule(base());
    let exp = expanded(&net, 100);
    let (r, notes) = simulate(&net, &exp, 100, &SimOptions::default()).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(r.weights[0].values.len(), 80);
    assert_ne!(r.weights[0].values[76..], [0.3, 0.5, 0.2, 0.1], "the rule changed the weights");
    let static_ = SimOptions { plasticity: PlasticityPolicy::Static, ..SimOptions::default() };
    let (r, notes) = simulate(&net, &exp, 20, &static_).unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("projection 'p'") && notes[0].contains("'stdp'") && notes[0].contains("not simulated"), "{}", notes[0]);
    assert_eq!(r.weights[0].values, [0.3, 0.5, 0.2, 0.1].repeat(4));
}

#[test]
fn a_rule_the_reference_cannot_run_is_a_typed_error() {
    let mut net = with_rule(base());
    let sop = ir::SumOfProducts { dw: "x0*y1".into(), dd: "x0*y1".into(), ..Default::default() };
    net.plasticity_rules = vec![ir::PlasticityRule { name: "sop".into(), rule: Some(Rule::SumOfProducts(sop)) }];
    net.projections[0].plasticity = "sop".into();
    let exp = expanded(&net, 20);
    let err = simulate(&net, &exp, 20, &SimOptions::default()).unwrap_err();
    assert!(matches!(&err, SimError::Plasticity { projection, rule, message } if projection == "p" && rule == "sop" && message.contains("dd")), "{err}");
}

type ErrorCheck = fn(&SimError) -> bool;

#[test]
fn bad_recordings_are_typed_errors() {
    let cases: Vec<(ir::Recording, ErrorCheck)> = vec![
        (record_state("n", "u", &[], 0), |e| matches!(e, SimError::UnknownVariable { model: "IF_curr_exp", .. })),
        (record_state("in", "v", &[], 0), |e| matches!(e, SimError::UnknownVariable { model: "spike source", expected, .. } if expected.contains("no state"))),
        (record_state("nope", "v", &[], 0), |e| matches!(e, SimError::UnknownPopulation { .. })),
        (record_spikes("n", &[4]), |e| matches!(e, SimError::NeuronOutOfRange { neuron: 4, size: 4, .. })),
        (record_state("n", "v", &[0, 9], 0), |e| matches!(e, SimError::NeuronOutOfRange { neuron: 9, .. })),
        (record_weights("q", 0), |e| matches!(e, SimError::UnknownProjection { .. })),
        (ir::Recording { what: None }, |e| matches!(e, SimError::EmptyRecording)),
    ];
    for (rec, ok) in cases {
        let mut net = base();
        net.recordings = vec![rec.clone()];
        let exp = expanded(&net, 5);
        let err = simulate(&net, &exp, 5, &SimOptions::default()).unwrap_err();
        assert!(ok(&err), "{rec:?}: {err}");
    }
    // LavaLif has u and v but no synaptic currents.
    let mut net = network(1.0);
    net.populations = vec![lava_pop("l", 2, ir::LavaLif { du: 1, dv: 1, vth: 10, ..Default::default() })];
    net.recordings = vec![record_state("l", "i_syn_e", &[], 0)];
    let exp = expanded(&net, 5);
    let err = simulate(&net, &exp, 5, &SimOptions::default()).unwrap_err();
    assert!(matches!(&err, SimError::UnknownVariable { model: "LavaLif", expected, .. } if expected == "u, v"), "{err}");
}

#[test]
fn networks_the_reference_cannot_run_are_typed_errors() {
    // Signed receptor onto IF_curr_exp.
    let mut net = base();
    net.projections[0].receptor = Receptor::Signed as i32;
    let exp = expanded(&net, 5);
    assert!(matches!(Simulator::new(&exp, &SimOptions::default()), Err(SimError::Unsupported { .. })));
    // A non-integrable parameter.
    let mut net = base();
    net.populations[1] = if_pop("n", 4, ir::IfCurrExp { tau_m_ms: 0.0, ..pynn_defaults() });
    let exp = expanded(&net, 5);
    let err = simulate(&net, &exp, 5, &SimOptions::default()).unwrap_err();
    assert!(matches!(&err, SimError::InvalidParameter { population, message } if population == "n" && message.contains("tau_m_ms")), "{err}");
    // An expansion of another network.
    let other = expanded(&network(0.5), 5);
    assert!(matches!(simulate(&base(), &other, 5, &SimOptions::default()), Err(SimError::Mismatch(_))));
    let mut coarse = base();
    coarse.dt_ms = 1.0;
    let exp = expanded(&coarse, 5);
    assert!(matches!(simulate(&base(), &exp, 5, &SimOptions::default()), Err(SimError::Mismatch(_))));
}

#[test]
fn drawn_initial_potentials_are_used_per_neuron() {
    let mut net = base();
    let dist = ir::Distribution { kind: Some(ir::distribution::Kind::Uniform(ir::Uniform { low: -70.0, high: -55.0, seed: Some(9) })) };
    net.populations[1] = if_pop("n", 4, ir::IfCurrExp { v_init_distribution_mv: Some(dist), ..pynn_defaults() });
    let exp = expanded(&net, 5);
    let drawn = exp.populations[1].v_init.clone().expect("the expansion draws v_init");
    let sim = Simulator::new(&exp, &SimOptions::default()).unwrap();
    assert_eq!(sim.v(1).unwrap(), drawn.as_slice());
    assert!(drawn.windows(2).any(|w| w[0] != w[1]) && drawn.iter().all(|v| (-70.0..-55.0).contains(v)), "{drawn:?}");
}
