//! NIR importer: the paper's files import and validate with arrays equal to
//! the stored datasets; nested graphs, edges, errors; the continuous-time to
//! step conversion checked numerically on a LIF.

use proptest::prelude::*;
use spikeforge_compiler::import::nir::{decay, import_doc, import_nir, import_nir_bytes, step, NeuronState, StepOutput};
use spikeforge_compiler::import::nir_export::export_nir;
use spikeforge_compiler::ir::{self, population::Model, projection::Connectivity};
use spikeforge_compiler::validate::validate;
use spikeforge_formats::h5::{H5Source, PureH5File};
use spikeforge_formats::nir::{Metadata, NirDocument, NirGraph, NirNode, NirOp};
use spikeforge_formats::NumArray;
use std::path::PathBuf;

fn shared() -> PathBuf {
    let dir = match std::env::var_os("SPIKEFORGE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    let probe = dir.join("fixtures/nir/nirpaper_lif_norse.nir");
    assert!(probe.is_file(), "fixtures not found: {} does not exist; set SPIKEFORGE_SHARED to the directory holding fixtures/", probe.display());
    dir
}

fn nir(name: &str) -> PathBuf {
    shared().join("fixtures/nir").join(name)
}

fn raw(f: &PureH5File, path: &str) -> (Vec<usize>, Vec<f64>) {
    let a = f.dataset(path).unwrap_or_else(|e| panic!("{path}: {e}")).into_num().unwrap();
    (a.shape.clone(), a.to_f64())
}

fn pop<'a>(net: &'a ir::Network, name: &str) -> &'a ir::Population {
    net.populations.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no population {name}"))
}

fn proj<'a>(net: &'a ir::Network, name: &str) -> &'a ir::Projection {
    net.projections.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no projection {name}"))
}

fn neuron(p: &ir::Population) -> &ir::NirNeuron {
    match &p.model {
        Some(Model::NirNeuron(n)) => n,
        other => panic!("{}: {other:?}", p.name),
    }
}

fn assert_valid(net: &ir::Network) {
    let d = validate(net);
    assert!(!d.has_errors(), "{d}");
}

#[test]
fn braille_matches_the_file() {
    let (net, _) = import_nir(&nir("nirpaper_braille_noDelay_bias_zero.nir"), 1.0).unwrap();
    assert_valid(&net);
    let f = PureH5File::open(nir("nirpaper_braille_noDelay_bias_zero.nir")).unwrap();
    for node in ["lif1.lif", "lif2"] {
        let n = neuron(pop(&net, node));
        assert_eq!(n.kind, ir::NirNeuronKind::CubaLif as i32);
        let base = format!("/node/nodes/{node}");
        for (field, got) in [
            ("tau_syn", &n.tau_syn_s),
            ("tau_mem", &n.tau_mem_s),
            ("r", &n.r),
            ("v_leak", &n.v_leak),
            ("v_threshold", &n.v_threshold),
            ("v_reset", &n.v_reset),
            ("w_in", &n.w_in),
        ] {
            if field == "v_reset" && f.members(&base).unwrap().datasets.iter().all(|d| d != "v_reset") {
                assert!(got.is_empty(), "{node}: no v_reset in the file, none in the IR");
                continue;
            }
            let (shape, v) = raw(&f, &format!("{base}/{field}"));
            assert_eq!(got, &v, "{node}.{field}");
            assert_eq!(pop(&net, node).shape, shape.iter().map(|&d| d as u32).collect::<Vec<_>>());
        }
    }
    for (node, pre, post) in [("fc1", "input", "lif1.lif"), ("lif1.w_rec", "lif1.lif", "lif1.lif"), ("fc2", "lif1.lif", "lif2")] {
        let p = proj(&net, node);
        assert_eq!((p.pre.as_str(), p.post.as_str()), (pre, post), "{node}");
        let Some(Connectivity::DenseMatrix(m)) = &p.connectivity else { panic!() };
        let (shape, w) = raw(&f, &format!("/node/nodes/{node}/weight"));
        assert_eq!((m.rows as usize, m.cols as usize), (shape[0], shape[1]));
        assert_eq!(m.weights, w, "{node} weight");
        assert_eq!(p.nir.as_ref().unwrap().bias, raw(&f, &format!("/node/nodes/{node}/bias")).1, "{node} bias");
        assert_eq!(p.receptor, ir::Receptor::Signed as i32);
    }
    assert!(matches!(pop(&net, "output").model, Some(Model::NirRelay(_))));
    assert_eq!(proj(&net, "lif2->output").nir.as_ref().unwrap().kind, ir::NirOpKind::Edge as i32);
}

#[test]
fn norse_lif_without_v_reset_keeps_it_absent() {
    let (net, _) = import_nir(&nir("nirpaper_lif_norse.nir"), 1.0).unwrap();
    assert_valid(&net);
    let n = neuron(pop(&net, "1"));
    assert_eq!(n.kind, ir::NirNeuronKind::Lif as i32);
    assert_eq!(n.tau_mem_s, vec![0.0025f32 as f64]);
    assert!(n.v_reset.is_empty(), "absent in the file, nir's default 0");
    let (g, _) = export_nir(&net).unwrap();
    assert!(matches!(&g.nodes["1"].op, NirOp::LIF { v_reset: None, .. }));
}

#[test]
fn cnn_matches_the_file() {
    let (net, _) = import_nir(&nir("nirpaper_cnn_sinabs.nir"), 1.0).unwrap();
    assert_valid(&net);
    let f = PureH5File::open(nir("nirpaper_cnn_sinabs.nir")).unwrap();
    for (node, pre, post) in [("0", "input", "1"), ("2", "1", "3"), ("5", "4", "6")] {
        let p = proj(&net, node);
        assert_eq!((p.pre.as_str(), p.post.as_str()), (pre, post), "conv {node}");
        let Some(Connectivity::Convolution(c)) = &p.connectivity else { panic!() };
        let (shape, w) = raw(&f, &format!("/node/nodes/{node}/weight"));
        assert_eq!(c.weight_shape.iter().map(|&d| d as usize).collect::<Vec<_>>(), shape);
        assert_eq!(c.weight, w);
        assert_eq!(c.stride.iter().map(|&d| d as f64).collect::<Vec<_>>(), raw(&f, &format!("/node/nodes/{node}/stride")).1);
        assert_eq!(c.padding.iter().map(|&d| d as f64).collect::<Vec<_>>(), raw(&f, &format!("/node/nodes/{node}/padding")).1);
    }
    for node in ["1", "3", "6", "10", "12"] {
        let n = neuron(pop(&net, node));
        assert_eq!(n.kind, ir::NirNeuronKind::If as i32);
        let (shape, r) = raw(&f, &format!("/node/nodes/{node}/r"));
        assert_eq!(n.r, r);
        assert_eq!(n.v_threshold, raw(&f, &format!("/node/nodes/{node}/v_threshold")).1);
        assert_eq!(pop(&net, node).shape, shape.iter().map(|&d| d as u32).collect::<Vec<_>>(), "(C, H, W) state");
    }
    // SumPool2d 4 feeds a conv: it delivers into a relay of its own; 7 feeds Flatten 8.
    assert!(matches!(pop(&net, "4").model, Some(Model::NirRelay(ref r)) if r.kind == ir::NirRelayKind::NodeOutput as i32));
    assert_eq!(pop(&net, "4").shape, vec![16, 8, 8]);
    assert_eq!(pop(&net, "8").shape, vec![128]);
    let Some(Connectivity::Pooling(pl)) = &proj(&net, "4").connectivity else { panic!() };
    assert_eq!((pl.kernel_size.clone(), pl.weight.clone()), (vec![2, 2], vec![1.0]));
}

// ------------------------------------------------------------ time step

fn lif(tau: f64, r: f64, v_leak: f64, thr: f64) -> ir::NirNeuron {
    ir::NirNeuron { kind: ir::NirNeuronKind::Lif as i32, tau_mem_s: vec![tau], r: vec![r], v_leak: vec![v_leak], v_threshold: vec![thr], v_reset: vec![0.0], ..Default::default() }
}

/// The discrete LIF equals the continuous solution of
/// `tau dv/dt = (v_leak - v) + r x` at every step for a constant input x, for
/// any dt (exp(-dt/tau) is the exact propagator), and spikes in the step in
/// which the continuous solution crosses the threshold. Lava's `tau = dt/decay` convention (forward Euler)
/// is off by O(dt/tau) and goes unstable for dt > 2 tau.
#[test]
fn lif_discretisation_is_exact_for_constant_input() {
    let (tau, r, vl, x) = (0.02, 2.0, -0.1, 0.75);
    let v_inf = vl + r * x;
    let analytic = |t: f64| v_inf + (0.0 - v_inf) * (-t / tau).exp();
    for dt_ms in [0.1, 1.0, 5.0, 30.0] {
        let n = lif(tau, r, vl, f64::INFINITY);
        let mut s = NeuronState::default();
        let mut euler = 0.0f64;
        let a = dt_ms / 1000.0 / tau; // Lava's decay = dt / tau
        let mut worst_euler = 0.0f64;
        for k in 1..=200 {
            step(&n, 0, dt_ms, &mut s, x);
            let t = k as f64 * dt_ms / 1000.0;
            assert!((s.v - analytic(t)).abs() < 1e-12, "dt {dt_ms} ms, step {k}: {} vs {}", s.v, analytic(t));
            euler += a * ((vl - euler) + r * x);
            worst_euler = worst_euler.max((euler - analytic(t)).abs());
        }
        if dt_ms == 1.0 {
            assert!(worst_euler > 1e-3, "Euler's error at dt/tau = 0.05 is visible: {worst_euler}");
        }
        if dt_ms == 30.0 {
            assert!(worst_euler > 1.0, "Euler is unstable at dt/tau = 1.5... {worst_euler}");
        }
    }
    // Spike timing: the first step whose end lies past the analytic crossing.
    let thr = 1.0;
    let t_cross = -tau * ((v_inf - thr) / v_inf).ln();
    for dt_ms in [0.1, 1.0, 2.0] {
        let n = lif(tau, r, vl, thr);
        let mut s = NeuronState::default();
        let first = (1..=10_000).find(|_| step(&n, 0, dt_ms, &mut s, x) == StepOutput::Spike(true)).unwrap();
        assert_eq!(first, (t_cross / (dt_ms / 1000.0)).ceil() as usize, "dt {dt_ms}");
        assert_eq!(s.v, 0.0, "reset to v_reset");
    }
    assert_eq!(decay(1.0, 0.001), (-1.0f64).exp());
}

#[test]
fn cuba_lif_reaches_the_continuous_steady_state() {
    let n = ir::NirNeuron {
        kind: ir::NirNeuronKind::CubaLi as i32,
        tau_mem_s: vec![0.01],
        tau_syn_s: vec![0.005],
        r: vec![3.0],
        v_leak: vec![0.5],
        w_in: vec![2.0],
        ..Default::default()
    };
    let mut s = NeuronState::default();
    let mut out = StepOutput::Value(0.0);
    for _ in 0..2000 {
        out = step(&n, 0, 0.5, &mut s, 0.25);
    }
    // i -> w_in x = 0.5, v -> v_leak + r i = 2.0
    assert!((s.i - 0.5).abs() < 1e-12);
    assert_eq!(out, StepOutput::Value(s.v));
    assert!((s.v - 2.0).abs() < 1e-12);
}

// ------------------------------------------------------------ graph structure

fn arr(v: &[f64]) -> NumArray {
    NumArray::f64(vec![v.len()], v.to_vec()).unwrap()
}

fn n(op: NirOp) -> NirNode {
    NirNode { op, metadata: Metadata::new() }
}

fn i64s(v: &[i64]) -> NumArray {
    NumArray::i64(vec![v.len()], v.to_vec()).unwrap()
}

/// input(2) -> sub{ in -> lin -> li -> out } -> scale -> delay -> output(2); plus a
/// second edge into `lin` (summed) from input.
fn nested_doc() -> NirDocument {
    let mut sub = NirGraph::default();
    sub.nodes.insert("in".into(), n(NirOp::Input { shape: i64s(&[2]) }));
    sub.nodes.insert("lin".into(), n(NirOp::Linear { weight: NumArray::f64(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap() }));
    sub.nodes.insert("li".into(), n(NirOp::LI { tau: arr(&[0.01, 0.02]), r: arr(&[1.0, 1.0]), v_leak: arr(&[0.0, 0.0]) }));
    sub.nodes.insert("out".into(), n(NirOp::Output { shape: i64s(&[2]) }));
    sub.edges = vec![("in".into(), "lin".into()), ("lin".into(), "li".into()), ("li".into(), "out".into())];
    let mut g = NirGraph::default();
    g.nodes.insert("input".into(), n(NirOp::Input { shape: i64s(&[2]) }));
    g.nodes.insert("sub".into(), n(NirOp::Graph(sub)));
    g.nodes.insert("scale".into(), n(NirOp::Scale { scale: arr(&[0.5, -2.0]) }));
    g.nodes.insert("delay".into(), n(NirOp::Delay { delay: arr(&[0.002, 0.0031]) }));
    g.nodes.insert("thr".into(), n(NirOp::Threshold { threshold: arr(&[0.1, 0.2]) }));
    g.nodes.insert("output".into(), n(NirOp::Output { shape: i64s(&[2]) }));
    g.edges = vec![
        ("input".into(), "sub".into()),
        ("input".into(), "sub.lin".into()),
        ("sub".into(), "scale".into()),
        ("scale".into(), "delay".into()),
        ("delay".into(), "thr".into()),
        ("thr".into(), "output".into()),
    ];
    NirDocument { version: Some("1.0.8".into()), graph: g }
}

#[test]
fn nested_graphs_flatten_and_edges_map_to_projections() {
    let (net, notes, nodes) = import_doc(&nested_doc(), "g.nir", "g.nir", 1.0).unwrap();
    assert_valid(&net);
    assert_eq!(nodes, 7, "input, sub.lin, sub.li, scale, delay, thr, output");
    assert!(notes.iter().any(|n| n.message.contains("nested graph flattened")));
    // sub.lin has two inputs: they meet in the relay `sub.lin.in`.
    assert!(matches!(pop(&net, "sub.lin.in").model, Some(Model::NirRelay(ref r)) if r.kind == ir::NirRelayKind::NodeInput as i32));
    assert_eq!(proj(&net, "sub.lin").pre, "sub.lin.in");
    assert_eq!(proj(&net, "sub.lin").post, "sub.li");
    assert!(net.projections.iter().any(|p| p.name == "input->sub.lin#2" || p.name == "input->sub.lin"));
    assert_eq!(net.projections.iter().filter(|p| p.post == "sub.lin.in").count(), 2);
    // Scale feeds a weight node (Delay): it writes into its own relay.
    let Some(Connectivity::FromList(l)) = &proj(&net, "scale").connectivity else { panic!() };
    assert_eq!(l.connections.iter().map(|c| c.weight.unwrap()).collect::<Vec<_>>(), vec![0.5, -2.0]);
    // Delay: 2 ms and 3.1 ms -> 2 and 3 steps on top of the one-step latency.
    let Some(Connectivity::FromList(l)) = &proj(&net, "delay").connectivity else { panic!() };
    assert_eq!(l.connections.iter().map(|c| c.delay_ms.unwrap()).collect::<Vec<_>>(), vec![3.0, 4.0]);
    assert!(notes.iter().any(|n| n.path.ends_with("delay/delay") && n.message.contains("rounded")));
    assert_eq!(proj(&net, "delay").post, "thr");
    // Export gives back the flattened graph with every array.
    let (g, _) = export_nir(&net).unwrap();
    let mut names: Vec<_> = g.nodes.keys().cloned().collect();
    names.sort();
    assert_eq!(names, vec!["delay", "input", "output", "scale", "sub.li", "sub.lin", "thr"]);
    match &g.nodes["delay"].op {
        NirOp::Delay { delay } => assert_eq!(delay.to_f64(), vec![0.002, 0.0031]),
        other => panic!("{other:?}"),
    }
    let mut e = g.edges.clone();
    e.sort();
    assert_eq!(
        e,
        vec![
            ("delay".to_string(), "thr".to_string()),
            ("input".into(), "sub.lin".into()),
            ("input".into(), "sub.lin".into()),
            ("scale".into(), "delay".into()),
            ("sub.li".into(), "scale".into()),
            ("sub.lin".into(), "sub.li".into()),
            ("thr".into(), "output".into()),
        ]
    );
}

#[test]
fn dangling_edges_and_bad_shapes_are_errors_naming_the_path() {
    let mut d = nested_doc();
    d.graph.edges.push(("thr".into(), "lif".into()));
    let e = import_doc(&d, "g.nir", "g.nir", 1.0).unwrap_err();
    assert_eq!(e.path, "/node/edges[6]");
    assert!(e.message.contains("no node 'lif'"), "{e}");
    let mut d = nested_doc();
    d.graph.nodes.insert("scale".into(), n(NirOp::Scale { scale: arr(&[1.0, 2.0, 3.0]) }));
    let e = import_doc(&d, "g.nir", "g.nir", 1.0).unwrap_err();
    assert!(e.path.starts_with("/node/"), "{e}");
    assert!(import_doc(&nested_doc(), "g.nir", "g.nir", 0.0).is_err(), "dt must be > 0");
}

#[test]
fn a_netx_file_is_not_a_nir_file() {
    let e = import_nir(&shared().join("fixtures/lava-dl/lava_oxford.net"), 1.0).unwrap_err();
    assert_eq!(e.path, "/node");
    assert!(e.message.contains("netx"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn corrupted_files_give_errors_not_panics(which in 0usize..3, cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, 0u8..8), 0..6)) {
        let name = ["nirpaper_lif_norse.nir", "nirpaper_braille_noDelay_bias_zero.nir", "nirpaper_cnn_sinabs.nir"][which];
        let bytes = std::fs::read(nir(name)).unwrap();
        let mut b = bytes[..(bytes.len() as f64 * cut) as usize].to_vec();
        if b.is_empty() { b = bytes.clone(); }
        for (pos, bit) in flips {
            let i = (b.len() as f64 * pos) as usize % b.len();
            b[i] ^= 1 << bit;
        }
        match import_nir_bytes(name, b, 1.0) {
            Ok((net, _)) => { let _ = validate(&net); let _ = export_nir(&net); }
            Err(e) => {
                prop_assert_eq!(&e.file, name);
                prop_assert!(e.path.starts_with('/'), "{}", e);
            }
        }
    }
}
