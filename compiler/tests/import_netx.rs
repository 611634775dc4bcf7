//! netx importer: the real lava-dl files import and validate, and every layer
//! shape, weight and neuron parameter equals the dataset read directly from
//! the file; netx's quirks; layers netx cannot load; malformed files.

use proptest::prelude::*;
use spikeforge_compiler::import::netx::{import_doc, import_netx, import_netx_bytes};
use spikeforge_compiler::ir::{self, population::Model, projection::Connectivity};
use spikeforge_compiler::validate::validate;
use spikeforge_formats::h5::{H5Source, PureH5File};
use spikeforge_formats::netx::{ConvParams, LayerType, NetxLayer, NetxNetwork, NetxNeuron, NeuronType, Weight};
use spikeforge_formats::{NumArray, Scalar};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn shared() -> PathBuf {
    let dir = match std::env::var_os("SPIKEFORGE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    let probe = dir.join("fixtures/lava-dl/lava_tiny.net");
    assert!(probe.is_file(), "fixtures not found: {} does not exist; set SPIKEFORGE_SHARED to the directory holding fixtures/", probe.display());
    dir
}

fn lava(name: &str) -> PathBuf {
    shared().join("fixtures/lava-dl").join(name)
}

/// A dataset read straight from the file, as f64.
fn raw(f: &PureH5File, path: &str) -> (Vec<usize>, Vec<f64>) {
    let d = f.dataset(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let a = d.into_num().unwrap();
    (a.shape.clone(), a.to_f64())
}

fn raw1(f: &PureH5File, path: &str) -> f64 {
    let (_, v) = raw(f, path);
    assert_eq!(v.len(), 1, "{path}");
    v[0]
}

fn pop<'a>(net: &'a ir::Network, name: &str) -> &'a ir::Population {
    net.populations.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no population {name}"))
}

fn proj<'a>(net: &'a ir::Network, name: &str) -> &'a ir::Projection {
    net.projections.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no projection {name}"))
}

fn netx_neuron(p: &ir::Population) -> &ir::NetxNeuron {
    match &p.model {
        Some(Model::NetxNeuron(n)) => n,
        other => panic!("{}: {other:?}", p.name),
    }
}

fn assert_valid(net: &ir::Network) {
    let d = validate(net);
    assert!(!d.has_errors(), "{d}");
}

/// Checks a dense layer's weights (truncated, then shifted by the scale bits
/// netx's optimize_weight_bits chose) and neuron fields against the file.
fn check_dense(f: &PureH5File, net: &ir::Network, layer: usize) {
    let name = format!("layer{layer}");
    let p = proj(net, &name);
    let Some(Connectivity::DenseMatrix(m)) = &p.connectivity else { panic!("{name}") };
    let (shape, w) = raw(f, &format!("/layer/{layer}/weight"));
    assert_eq!((m.rows as usize, m.cols as usize), (shape[0], shape[1]), "{name}: (out, in) = (rows, cols)");
    let l = p.loihi.unwrap();
    assert!((1..=8).contains(&l.num_weight_bits));
    let scale = (-l.weight_exp) as u32;
    assert_eq!(m.weights.len(), w.len());
    for (k, (a, b)) in m.weights.iter().zip(&w).enumerate() {
        assert_eq!(*a, (b.trunc() as i64 * (1 << scale)) as f64, "{name} weight {k}");
    }
    let n = netx_neuron(pop(net, &name));
    for (field, got) in [("iDecay", n.i_decay as f64), ("vDecay", n.v_decay as f64), ("vThMant", n.v_th_mant as f64), ("refDelay", n.ref_delay as f64)] {
        assert_eq!(got, raw1(f, &format!("/layer/{layer}/neuron/{field}")), "{name} {field}");
    }
    assert_eq!(pop(net, &name).size as usize, shape[0]);
    let stored_shape = raw(f, &format!("/layer/{layer}/shape")).1;
    assert_eq!(pop(net, &name).netx_layer.as_ref().unwrap().shape, stored_shape.iter().map(|&x| x as i64).collect::<Vec<_>>());
}

#[test]
fn oxford_and_mnist_dense_layers_match_the_files() {
    for (file, layers) in [("lava_oxford.net", 2), ("lava_mnist_trained.net", 3)] {
        let (net, notes) = import_netx(&lava(file)).unwrap();
        assert_valid(&net);
        let f = PureH5File::open(lava(file)).unwrap();
        for l in 0..layers {
            check_dense(&f, &net, l);
        }
        // No input layer: an input population stands for the input port.
        let input = pop(&net, "input");
        assert!(matches!(input.model, Some(Model::NetxInput(_))));
        assert_eq!(input.size as usize, raw(&f, "/layer/0/weight").0[1]);
        assert!(notes.iter().any(|n| n.message.contains("no input layer")), "{notes:?}");
        assert_eq!(net.provenance.as_ref().unwrap().notes.len(), notes.len());
        assert_eq!(net.dt_ms, 1.0);
    }
}

#[test]
fn oxford_second_layer_gets_nets_weight_scaling() {
    // Hand check of optimize_weight_bits on the file: max/min of layer 1.
    let f = PureH5File::open(lava("lava_oxford.net")).unwrap();
    let (_, w) = raw(&f, "/layer/1/weight");
    let (max, min) = (w.iter().cloned().fold(f64::MIN, f64::max), w.iter().cloned().fold(f64::MAX, f64::min));
    let scale = (127.0 / max).min(-128.0 / min);
    let scale_bits = scale.log2().floor() as i32 + 1;
    let (net, _) = import_netx(&lava("lava_oxford.net")).unwrap();
    assert_eq!(proj(&net, "layer1").loihi.unwrap().weight_exp, -scale_bits);
    assert_eq!(proj(&net, "layer1").loihi.unwrap().sign_mode, ir::SignMode::Mixed as i32);
}

#[test]
fn tiny_conv_network_matches_the_file() {
    let (net, notes) = import_netx(&lava("lava_tiny.net")).unwrap();
    assert_valid(&net);
    let f = PureH5File::open(lava("lava_tiny.net")).unwrap();
    // Input layer: shape (3, 16, 16), transform weight 36, bias 34.
    let input = pop(&net, "layer0");
    assert_eq!(input.shape, vec![3, 16, 16]);
    let Some(Model::NetxInput(i)) = &input.model else { panic!() };
    assert_eq!((i.weight.clone(), i.bias.clone()), (vec![raw1(&f, "/layer/0/weight").trunc()], vec![raw1(&f, "/layer/0/bias").trunc()]));
    for layer in [1usize, 2] {
        let name = format!("layer{layer}");
        let p = proj(&net, &name);
        let Some(Connectivity::Convolution(c)) = &p.connectivity else { panic!() };
        let (wshape, w) = raw(&f, &format!("/layer/{layer}/weight"));
        assert_eq!(wshape.len(), 5, "SLAYER's trailing time dimension");
        assert_eq!(c.weight_shape.iter().map(|&d| d as usize).collect::<Vec<_>>(), wshape[..4].to_vec());
        assert_eq!(c.weight, w.iter().map(|x| x.trunc()).collect::<Vec<_>>(), "{name}: kernel as stored (not flipped)");
        let stored_shape: Vec<u32> = raw(&f, &format!("/layer/{layer}/shape")).1.iter().map(|&x| x as u32).collect();
        assert_eq!(pop(&net, &name).shape, stored_shape);
        let stride = raw(&f, &format!("/layer/{layer}/stride")).1;
        assert_eq!(c.stride[0] as f64, stride[0]);
        let n = netx_neuron(pop(&net, &name));
        assert_eq!(n.r#type, ir::NetxNeuronType::Loihi as i32);
        for (field, got) in [
            ("iDecay", n.i_decay as f64),
            ("vDecay", n.v_decay as f64),
            ("vThMant", n.v_th_mant as f64),
            ("wgtExp", n.wgt_exp as f64),
            ("theta", n.theta),
            ("tauRho", n.tau_rho),
            ("scaleRho", n.scale_rho),
        ] {
            assert_eq!(got, raw1(&f, &format!("/layer/{layer}/neuron/{field}")), "{name} {field}");
        }
    }
    assert_eq!(net.duration_ms, 64.0);
    assert!(notes.iter().any(|n| n.path == "/simulation/Ts"));
}

// ------------------------------------------------------------ synthetic layers

fn layer(index: usize, kind: LayerType, shape: Vec<i64>) -> NetxLayer {
    NetxLayer {
        index,
        kind,
        shape: Some(shape),
        weight: None,
        weight_rec: None,
        bias: None,
        delay: None,
        in_features: None,
        out_features: None,
        conv: ConvParams::default(),
        neuron: None,
        extra: BTreeMap::new(),
    }
}

fn cuba() -> NetxNeuron {
    let mut n = NetxNeuron::empty(NeuronType::Cuba);
    n.i_decay = Some(Scalar::Int(1024));
    n.v_decay = Some(Scalar::Int(128));
    n.v_th_mant = Some(Scalar::Int(80));
    n.ref_delay = Some(Scalar::Int(1));
    n
}

fn dense(index: usize, out: usize, inp: usize, w: Vec<f32>) -> NetxLayer {
    let mut l = layer(index, LayerType::Dense, vec![out as i64]);
    l.weight = Some(Weight::Real(NumArray::f32(vec![out, inp], w).unwrap()));
    l.neuron = Some(cuba());
    l
}

fn net_of(layers: Vec<NetxLayer>) -> NetxNetwork {
    NetxNetwork { layers, simulation: None }
}

#[test]
fn layers_netx_cannot_load_are_errors_naming_the_layer() {
    for (kind, text) in [(LayerType::Pool, "pool"), (LayerType::ConvT, "convT"), (LayerType::Unpool, "unpool"), (LayerType::Average, "average"), (LayerType::Concat, "concat")] {
        let doc = net_of(vec![layer(0, LayerType::Input, vec![4]), dense(1, 2, 4, vec![2.0; 8]), layer(2, kind, vec![2])]);
        let e = import_doc(&doc, "x.net", "x.net").unwrap_err();
        assert_eq!(e.path, format!("/layer/2 ({text})"), "{e}");
        assert!(e.to_string().starts_with(&format!("x.net: /layer/2 ({text}): netx cannot load")), "{e}");
    }
    let doc = net_of(vec![layer(0, LayerType::DenseComp, vec![4])]);
    assert!(import_doc(&doc, "x.net", "x.net").unwrap_err().message.contains("create_complex_dense"));
    let mut alif = dense(0, 2, 2, vec![2.0; 4]);
    alif.neuron = Some(NetxNeuron::empty(NeuronType::Alif));
    assert!(import_doc(&net_of(vec![alif]), "x.net", "x.net").unwrap_err().message.contains("ALIF"));
}

#[test]
fn dense_without_neuron_gets_the_default_neuron_with_vthmant_131072() {
    let mut l = dense(0, 2, 3, vec![2.0, -4.0, 6.0, 8.0, 0.0, -2.0]);
    l.neuron = None;
    let (net, notes) = import_doc(&net_of(vec![l]), "d.net", "d.net").unwrap();
    assert_valid(&net);
    let n = netx_neuron(pop(&net, "layer0"));
    assert_eq!((n.i_decay, n.v_decay, n.v_th_mant, n.ref_delay, n.r#type), (0, 4096, 131072, 1, ir::NetxNeuronType::Cuba as i32));
    assert!(notes.iter().any(|n| n.message.contains("1 << 18 - 1")));
}

#[test]
fn delays_are_clipped_as_netx_does() {
    let mut l = dense(0, 2, 3, vec![2.0; 6]);
    l.delay = Some(NumArray::f32(vec![2], vec![70.0, 5.0]).unwrap());
    let (net, notes) = import_doc(&net_of(vec![l]), "d.net", "d.net").unwrap();
    assert_eq!(proj(&net, "layer0").netx_delay, vec![62, 5], "per output neuron, clipped to 62");
    assert!(notes.iter().any(|n| n.path == "/layer/0/delay" && n.message.contains("62")));
    let mut l = dense(0, 2, 3, vec![2.0; 6]);
    l.delay = Some(NumArray::f32(vec![3], vec![1.0, 2.0, 3.0]).unwrap());
    let (net, _) = import_doc(&net_of(vec![l]), "d.net", "d.net").unwrap();
    assert_eq!(proj(&net, "layer0").netx_delay, vec![1, 2, 3], "per input");
    let mut l = dense(0, 2, 3, vec![2.0; 6]);
    l.delay = Some(NumArray::f32(vec![4], vec![1.0; 4]).unwrap());
    let e = import_doc(&net_of(vec![l]), "d.net", "d.net").unwrap_err();
    assert_eq!(e.path, "/layer/0/delay");
}

#[test]
fn dense_rec_is_optimised_together_and_flatten_is_the_identity() {
    // input (2, 1, 2) -> flatten -> dense_rec 2 with weight (2, 4) and weight_rec (2, 2)
    let mut inp = layer(0, LayerType::Input, vec![2, 1, 2]);
    inp.neuron = Some(cuba());
    let flat = layer(1, LayerType::Flatten, vec![4]);
    let mut rec = dense(2, 2, 4, vec![2.0, 4.0, -6.0, 8.0, 10.0, 12.0, 14.0, 16.0]);
    rec.kind = LayerType::DenseRec;
    rec.weight_rec = Some(NumArray::f32(vec![2, 2], vec![1.0, -3.0, 5.0, 7.0]).unwrap());
    let (net, _) = import_doc(&net_of(vec![inp, flat, rec]), "r.net", "r.net").unwrap();
    assert_valid(&net);
    assert!(matches!(pop(&net, "layer1").model, Some(Model::NetxFlatten(_))));
    assert!(matches!(proj(&net, "layer1").connectivity, Some(Connectivity::OneToOne(_))));
    assert_eq!(proj(&net, "layer2").pre, "layer1");
    let (f, r) = (proj(&net, "layer2"), proj(&net, "layer2.rec"));
    assert_eq!(f.loihi, r.loihi, "one optimisation for hstack(weight, weight_rec)");
    // max 16, min -6: scale = min(127/16, 128/6) = 7.9 -> 2 + 1 signed = 3 bits; odd weights -> n = -1.
    assert_eq!(f.loihi.unwrap().weight_exp, -3);
    assert_eq!(f.loihi.unwrap().num_weight_bits, 8 - 3 + 1);
    let Some(Connectivity::DenseMatrix(m)) = &r.connectivity else { panic!() };
    assert_eq!(m.weights, vec![8.0, -24.0, 40.0, 56.0]);
    assert_eq!((r.pre.as_str(), r.post.as_str()), ("layer2", "layer2"));
}

#[test]
fn complex_dense_keeps_both_parts_with_their_own_encoding() {
    let mut l = layer(0, LayerType::Dense, vec![2]);
    l.weight = Some(Weight::Complex {
        real: NumArray::f32(vec![2, 2], vec![2.0, 4.0, 6.0, 8.0]).unwrap(),
        imag: NumArray::f32(vec![2, 2], vec![-2.0, -4.0, -6.0, -8.0]).unwrap(),
    });
    let mut n = NetxNeuron::empty(NeuronType::RfPhase);
    n.sin_decay = Some(Scalar::Int(100));
    n.cos_decay = Some(Scalar::Int(200));
    n.v_th_mant = Some(Scalar::Int(10));
    l.neuron = Some(n);
    let (net, _) = import_doc(&net_of(vec![l]), "c.net", "c.net").unwrap();
    assert_valid(&net);
    let p = proj(&net, "layer0");
    let Some(Connectivity::DenseMatrix(m)) = &p.connectivity else { panic!() };
    assert_eq!(m.weights_imag.len(), 4);
    assert_eq!(p.loihi.unwrap().sign_mode, ir::SignMode::Excitatory as i32);
    assert_eq!(p.loihi_imag.unwrap().sign_mode, ir::SignMode::Inhibitory as i32);
}

#[test]
fn missing_datasets_are_named() {
    let mut l = dense(0, 2, 2, vec![2.0; 4]);
    l.weight = None;
    assert_eq!(import_doc(&net_of(vec![l]), "m.net", "m.net").unwrap_err().path, "/layer/0/weight");
    let mut l = layer(1, LayerType::Conv, vec![2, 2, 2]);
    l.weight = Some(Weight::Real(NumArray::f32(vec![2, 1, 1, 1], vec![1.0, 1.0]).unwrap()));
    let doc = net_of(vec![layer(0, LayerType::Input, vec![1, 2, 2]), l]);
    assert_eq!(import_doc(&doc, "m.net", "m.net").unwrap_err().path, "/layer/1/stride");
    let mut l = dense(0, 2, 2, vec![2.0; 4]);
    l.neuron.as_mut().unwrap().i_decay = Some(Scalar::F64(0.5));
    assert_eq!(import_doc(&net_of(vec![l]), "m.net", "m.net").unwrap_err().path, "/layer/0/neuron/iDecay");
}

#[test]
fn a_nir_file_is_not_a_netx_file() {
    let e = import_netx(&shared().join("fixtures/nir/nirpaper_lif_norse.nir")).unwrap_err();
    assert_eq!(e.path, "/layer");
    assert!(e.message.contains("NIR"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Truncated or bit-flipped files never panic; errors name the file and a path inside it.
    #[test]
    fn corrupted_files_give_errors_not_panics(cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, 0u8..8), 0..6)) {
        let bytes = std::fs::read(lava("lava_tiny.net")).unwrap();
        let mut b = bytes[..(bytes.len() as f64 * cut) as usize].to_vec();
        if b.is_empty() { b = bytes.clone(); }
        for (pos, bit) in flips {
            let i = (b.len() as f64 * pos) as usize % b.len();
            b[i] ^= 1 << bit;
        }
        match import_netx_bytes("tiny.net", b) {
            Ok((net, _)) => { let _ = validate(&net); }
            Err(e) => {
                prop_assert_eq!(&e.file, "tiny.net");
                prop_assert!(e.path.starts_with('/'), "{}", e);
            }
        }
    }
}
