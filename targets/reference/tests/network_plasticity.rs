//! Plasticity in the network reference: the network's weights equal the
//! per-synapse rules (`reference::stdp`, `reference::fep`) run on the spike
//! trains the network produced, with the documented event times
//! (pre at its step, post at `t_post + delay`, post first within a step).

use spikeforge_compiler::expand;
use spikeforge_compiler::ir::{self, recording::What};
use spikeforge_reference::fep::FepSynapse;
use spikeforge_reference::network::{fep_rule_from_ir, simulate, stdp_rule_from_ir, PlasticityPolicy, SimOptions};
use spikeforge_reference::stdp;
use std::path::Path;

fn example(name: &str, duration_ms: f64) -> ir::Network {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    let mut net = spikeforge_compiler::load::load(&path).expect("example loads");
    net.duration_ms = duration_ms;
    net
}

fn record_spikes(net: &mut ir::Network, pop: &str) {
    net.recordings.push(ir::Recording { what: Some(What::Spikes(ir::SpikeRecording { population: pop.into(), neurons: vec![] })) });
}

fn trains(r: &spikeforge_results::RunResult, pop: &str, n: usize) -> Vec<Vec<i64>> {
    let mut t = vec![Vec::new(); n];
    for &(s, i) in &r.spike_record(pop).expect("recorded").events {
        t[i as usize].push(s as i64);
    }
    t
}

#[test]
fn song2000_pair_stdp_matches_the_per_synapse_rule() {
    let mut net = example("song2000.yaml", 2000.0);
    record_spikes(&mut net, "inputs");
    let steps = expand::steps_for(net.duration_ms, net.dt_ms);
    let exp = expand::expand(&net, steps).unwrap();
    let (r, notes) = simulate(&net, &exp, steps, &SimOptions::default()).unwrap();
    assert!(notes.is_empty());
    let rule = stdp_rule_from_ir(&net.plasticity_rules[0]).unwrap();
    let pre = trains(&r, "inputs", 1000);
    let post: Vec<i64> = trains(&r, "neuron", 1)[0].clone();
    assert!(post.len() > 5, "the neuron fires ({} spikes)", post.len());
    let w = r.weight_record("inputs_to_neuron").unwrap();
    let last = &w.values[w.values.len() - 1000..];
    let proj = &exp.projections[0];
    let mut changed = 0;
    for (k, s) in proj.synapses.iter().enumerate() {
        let post_d: Vec<i64> = post.iter().map(|&t| t + s.delay as i64).filter(|&t| t <= steps as i64).collect();
        let (wf, _) = stdp::run(rule, &pre[s.pre as usize], &post_d, s.weight, net.dt_ms).unwrap();
        assert_eq!(wf.to_bits(), last[k].to_bits(), "synapse {k}");
        changed += usize::from(wf != s.weight);
    }
    assert!(changed > 900, "{changed} weights changed");
}

#[test]
fn static_policy_keeps_weights_and_notes_it() {
    let net = example("song2000.yaml", 1000.0);
    let steps = expand::steps_for(net.duration_ms, net.dt_ms);
    let exp = expand::expand(&net, steps).unwrap();
    let opts = SimOptions { plasticity: PlasticityPolicy::Static, ..Default::default() };
    let (r, notes) = simulate(&net, &exp, steps, &opts).unwrap();
    assert_eq!(notes.len(), 1);
    let w = r.weight_record("inputs_to_neuron").unwrap();
    let init: Vec<f64> = exp.projections[0].synapses.iter().map(|s| s.weight).collect();
    assert_eq!(&w.values[w.values.len() - 1000..], &init[..]);
}

#[test]
fn ei_triplet_matches_the_per_synapse_rule() {
    let mut net = example("ei_triplet.yaml", 300.0);
    net.recordings.retain(|r| !matches!(r.what, Some(What::State(_))));
    let steps = expand::steps_for(net.duration_ms, net.dt_ms);
    let exp = expand::expand(&net, steps).unwrap();
    let (r, _) = simulate(&net, &exp, steps, &SimOptions::default()).unwrap();
    let rule = stdp_rule_from_ir(&net.plasticity_rules[0]).unwrap();
    assert!(matches!(rule, stdp::Rule::Triplet(_)));
    let exc = trains(&r, "exc", 400);
    assert!(exc.iter().map(Vec::len).sum::<usize>() > 100);
    let k_proj = exp.projections.iter().position(|p| p.name == "exc_to_exc").unwrap();
    let proj = &exp.projections[k_proj];
    let w = r.weight_record("exc_to_exc").unwrap();
    let n = proj.synapses.len();
    let last = &w.values[w.values.len() - n..];
    let mut changed = 0;
    for (k, s) in proj.synapses.iter().enumerate() {
        let post_d: Vec<i64> = exc[s.post as usize].iter().map(|&t| t + s.delay as i64).filter(|&t| t <= steps as i64).collect();
        let (wf, _) = stdp::run(rule, &exc[s.pre as usize], &post_d, s.weight, net.dt_ms).unwrap();
        assert_eq!(wf.to_bits(), last[k].to_bits(), "synapse {k}");
        changed += usize::from(wf != s.weight);
    }
    assert!(changed > 0);
}

#[test]
fn free_energy_matches_fep_synapse_and_delivers_mean_release() {
    let mut net = example("free_energy.yaml", 3000.0);
    record_spikes(&mut net, "inputs");
    let steps = expand::steps_for(net.duration_ms, net.dt_ms);
    let exp = expand::expand(&net, steps).unwrap();
    let (r, _) = simulate(&net, &exp, steps, &SimOptions::default()).unwrap();
    let ir::plasticity_rule::Rule::FreeEnergy(f) = net.plasticity_rules[0].rule.as_ref().unwrap() else { panic!() };
    let rule = fep_rule_from_ir(f, net.dt_ms);
    assert_eq!(rule.params.r0, 0.5);
    assert_eq!(rule.depth_ms, 256.0);
    let pre = trains(&r, "inputs", 100);
    let post = trains(&r, "neuron", 1)[0].clone();
    assert!(post.len() > 10);
    let k_proj = exp.projections.iter().position(|p| p.name == "plastic").unwrap();
    let proj = &exp.projections[k_proj];
    let w = r.weight_record("plastic").unwrap();
    let last = &w.values[w.values.len() - 100..];
    for (k, s) in proj.synapses.iter().enumerate() {
        let mut syn = FepSynapse::with_depth(rule.params, s.weight, rule.depth_ms).unwrap().with_w_max(rule.w_max);
        let ev = stdp::merge_events(&pre[s.pre as usize], &post.iter().map(|&t| t + s.delay as i64).filter(|&t| t <= steps as i64).collect::<Vec<_>>());
        for (t, e) in ev {
            match e {
                stdp::Event::Post => {
                    syn.on_post(t as f64 * net.dt_ms).unwrap();
                }
                stdp::Event::Pre => {
                    syn.on_pre(t as f64 * net.dt_ms).unwrap();
                }
            }
        }
        assert_eq!(syn.w().to_bits(), last[k].to_bits(), "synapse {k}");
        assert_ne!(syn.w(), s.weight);
    }
}

#[test]
fn sum_of_products_twin_learns_on_epochs() {
    let net = example("lava_learning.yaml", 100.0);
    let steps = expand::steps_for(net.duration_ms, net.dt_ms);
    let exp = expand::expand(&net, steps).unwrap();
    let (r, _) = simulate(&net, &exp, steps, &SimOptions::default()).unwrap();
    let w = r.weight_record("plastic").unwrap();
    assert_eq!(w.steps.len(), 100);
    let n = w.synapses.len();
    // t_epoch = 2: weights can only change at even steps
    for s in 1..w.steps.len() {
        let (a, b) = (&w.values[(s - 1) * n..s * n], &w.values[s * n..(s + 1) * n]);
        if w.steps[s] % 2 == 1 {
            assert_eq!(a, b, "step {}", w.steps[s]);
        }
    }
    let first = &w.values[..n];
    let last = &w.values[w.values.len() - n..];
    assert_ne!(first, last, "the rule changed some weight");
    // the float twin does not round: some weight is not an integer
    assert!(last.iter().any(|x| x.fract() != 0.0));
}
