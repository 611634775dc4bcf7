//! NIR export of networks that did not come from NIR: IF_curr_exp → CubaLIF
//! with the unit conversion, and errors for what NIR cannot hold.

use spikeforge_compiler::import::nir::{step, NeuronState, StepOutput};
use spikeforge_compiler::import::nir_export::export_nir;
use spikeforge_compiler::ir::{self, population::Model};
use spikeforge_compiler::yaml;
use spikeforge_formats::nir::{read_nir_bytes, NirOp};
use spikeforge_formats::write_nir_bytes;

const NET: &str = r#"
spikeforge: 1
dt_ms: 0.5
populations:
  - name: src
    spike_source_array: {times_ms: [[1], [2], []]}
  - name: cell
    size: 2
    if_curr_exp: {tau_m_ms: 20, cm_nf: 0.5, v_rest_mv: -65, v_reset_mv: -70, v_thresh_mv: -50,
                  tau_refrac_ms: 2, tau_syn_e_ms: 5, tau_syn_i_ms: 5, i_offset_na: 0.1}
projections:
  - {name: exc, pre: src, post: cell, connector: {from_list: [[0, 0, 0.5], [1, 1, 0.25], [0, 1, 0.125]]}, delay_ms: 0.5}
  - {name: inh, pre: src, post: cell, receptor: inhibitory, connector: all_to_all, weight: 0.05, delay_ms: 1.5}
plasticity:
  - name: r
    pair_stdp: {w_max: 1}
"#;

#[test]
fn if_curr_exp_becomes_cuba_lif_with_units_converted() {
    let mut net = yaml::parse(NET, "n.yaml").unwrap();
    net.projections[0].plasticity = "r".into();
    let (g, notes) = export_nir(&net).unwrap();
    let NirOp::CubaLIF { tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in } = &g.nodes["cell"].op else { panic!("{:?}", g.nodes["cell"]) };
    assert_eq!(tau_mem.to_f64(), vec![0.02; 2]);
    assert_eq!(tau_syn.to_f64(), vec![0.005; 2]);
    assert_eq!(r.to_f64(), vec![40.0; 2], "tau_m / cm = 20 ms / 0.5 nF = 40 MOhm");
    assert_eq!(v_leak.to_f64(), vec![4.0; 2], "r * i_offset, relative to v_rest");
    assert_eq!(v_threshold.to_f64(), vec![15.0; 2]);
    assert_eq!(v_reset.as_ref().unwrap().to_f64(), vec![-5.0; 2]);
    let w = 1.0 / (1.0 - (-0.5f64 / 5.0).exp());
    assert_eq!(w_in.as_ref().unwrap().to_f64(), vec![w; 2]);
    // Weights: (post, pre), nA, inhibitory negative.
    let NirOp::Linear { weight } = &g.nodes["exc"].op else { panic!() };
    assert_eq!(weight.shape, vec![2, 3]);
    assert_eq!(weight.to_f64(), vec![0.5, 0.0, 0.0, 0.125, 0.25, 0.0]);
    let NirOp::Linear { weight } = &g.nodes["inh"].op else { panic!() };
    assert_eq!(weight.to_f64(), vec![-0.05; 6]);
    // 1.5 ms = 3 steps: a Delay of 2 steps before the Linear.
    let NirOp::Delay { delay } = &g.nodes["inh.delay"].op else { panic!() };
    assert_eq!(delay.to_f64(), vec![0.001; 3]);
    assert!(g.edges.contains(&("src".into(), "inh.delay".into())) && g.edges.contains(&("inh.delay".into(), "inh".into())));
    for needle in ["refractory", "plasticity rule 'r'", "spike source"] {
        assert!(notes.iter().any(|n| n.message.contains(needle)), "no note about {needle}: {notes:?}");
    }
    // The file round-trips through the writer and reader.
    let back = read_nir_bytes("x.nir", write_nir_bytes(&g).unwrap()).unwrap();
    assert_eq!(back.graph.nodes.len(), g.nodes.len());

    // With these parameters the discrete CubaLIF makes the synaptic current
    // jump by the weight (PyNN's convention) and settles where PyNN's membrane
    // does: v_rest + R i_offset, relative to v_rest.
    let nr = ir::NirNeuron {
        kind: ir::NirNeuronKind::CubaLif as i32,
        tau_mem_s: tau_mem.to_f64(),
        tau_syn_s: tau_syn.to_f64(),
        r: r.to_f64(),
        v_leak: v_leak.to_f64(),
        v_threshold: v_threshold.to_f64(),
        v_reset: v_reset.as_ref().unwrap().to_f64(),
        w_in: w_in.as_ref().unwrap().to_f64(),
    };
    let mut s = NeuronState::default();
    step(&nr, 0, 0.5, &mut s, 0.5);
    assert!((s.i - 0.5).abs() < 1e-12, "{}", s.i);
    let mut s = NeuronState::default();
    for _ in 0..4000 {
        assert_eq!(step(&nr, 0, 0.5, &mut s, 0.0), StepOutput::Spike(false));
    }
    assert!((s.v - 4.0).abs() < 1e-9);
}

#[test]
fn what_nir_cannot_hold_is_an_error() {
    let mut net = yaml::parse(NET, "n.yaml").unwrap();
    let Some(Model::IfCurrExp(m)) = &mut net.populations[1].model else { panic!() };
    m.tau_syn_i_ms = 10.0;
    let e = export_nir(&net).unwrap_err();
    assert_eq!(e.path, "population 'cell'");
    assert!(e.message.contains("tau_syn_i_ms"), "{e}");

    let lava = yaml::parse(
        "spikeforge: 1\ndt_ms: 1\npopulations:\n  - {name: a, size: 1, lava_lif: {du: 1, dv: 1, vth: 10}}\n",
        "l.yaml",
    )
    .unwrap();
    assert!(export_nir(&lava).unwrap_err().message.contains("Lava LIF"));

    let mut net = yaml::parse(NET, "n.yaml").unwrap();
    net.projections[1].delay_ms = Some(ir::Distribution { kind: Some(ir::distribution::Kind::Uniform(ir::Uniform { low: 1.0, high: 3.0, seed: Some(1) })) });
    assert!(export_nir(&net).unwrap_err().message.contains("different delays"));
}
