//! The netx model on the three lava-dl fixtures: every dataset of each file is
//! found in the model with the same value (checked against an independent HDF5
//! reader), plus values checked by hand against formats.md §1.6.

mod common;

use std::collections::BTreeMap;

use common::*;
use spikeforge_formats::netx::{
    self, netx_conv_kernel, netx_xy, read_netx, LayerType, NeuronType, Weight,
};
use spikeforge_formats::{IntArray, NetxNetwork, NumArray, NumData, Scalar};

/// What the model holds for one stored dataset.
#[derive(Debug)]
enum ModelVal {
    Arr(Entry),
    Ints(IntArray),
    Scalar(Scalar),
    Str(String),
    Bool(bool),
}

fn arr(a: &NumArray) -> ModelVal {
    ModelVal::Arr((a.shape.clone(), val_of_num(&a.data)))
}

/// The model flattened back to HDF5 paths.
fn model_paths(net: &NetxNetwork) -> BTreeMap<String, ModelVal> {
    let mut m = BTreeMap::new();
    for l in &net.layers {
        let p = |n: &str| format!("/layer/{}/{n}", l.index);
        m.insert(p("type"), ModelVal::Str(l.kind.as_str().to_string()));
        if let Some(s) = &l.shape {
            m.insert(
                p("shape"),
                ModelVal::Ints(IntArray {
                    shape: vec![s.len()],
                    values: s.clone(),
                }),
            );
        }
        match &l.weight {
            Some(Weight::Real(w)) => {
                m.insert(p("weight"), arr(w));
            }
            Some(Weight::Complex { real, imag }) => {
                m.insert(p("weight/real"), arr(real));
                m.insert(p("weight/imag"), arr(imag));
            }
            None => {}
        }
        for (name, a) in [
            ("weight_rec", &l.weight_rec),
            ("bias", &l.bias),
            ("delay", &l.delay),
        ] {
            if let Some(a) = a {
                m.insert(p(name), arr(a));
            }
        }
        for (name, v) in [
            ("inFeatures", l.in_features),
            ("outFeatures", l.out_features),
            ("inChannels", l.conv.in_channels),
            ("outChannels", l.conv.out_channels),
            ("groups", l.conv.groups),
        ] {
            if let Some(v) = v {
                m.insert(p(name), ModelVal::Scalar(Scalar::Int(v)));
            }
        }
        for (name, v) in [
            ("kernelSize", &l.conv.kernel_size),
            ("stride", &l.conv.stride),
            ("padding", &l.conv.padding),
            ("dilation", &l.conv.dilation),
        ] {
            if let Some(v) = v {
                m.insert(p(name), ModelVal::Ints(v.clone()));
            }
        }
        for (k, d) in &l.extra {
            m.insert(p(k), ModelVal::Arr(val_of_dataset(d)));
        }
        if let Some(n) = &l.neuron {
            let q = |f: &str| p(&format!("neuron/{f}"));
            m.insert(q("type"), ModelVal::Str(n.kind.as_str().to_string()));
            for (f, v) in [
                ("iDecay", n.i_decay),
                ("vDecay", n.v_decay),
                ("vThMant", n.v_th_mant),
                ("refDelay", n.ref_delay),
                ("wgtExp", n.wgt_exp),
                ("theta", n.theta),
                ("tauRho", n.tau_rho),
                ("scaleRho", n.scale_rho),
                ("sinDecay", n.sin_decay),
                ("cosDecay", n.cos_decay),
                ("thDecay", n.th_decay),
                ("refDecay", n.ref_decay),
                ("vThStep", n.v_th_step),
                ("messageBits", n.message_bits),
                ("weight_exp", n.weight_exp),
            ] {
                if let Some(v) = v {
                    m.insert(q(f), ModelVal::Scalar(v));
                }
            }
            for (f, v) in [
                ("gradedSpike", n.graded_spike),
                ("sigma_output", n.sigma_output),
            ] {
                if let Some(v) = v {
                    m.insert(q(f), ModelVal::Bool(v));
                }
            }
            if let Some(a) = &n.activation {
                m.insert(q("activation"), ModelVal::Str(a.clone()));
            }
            for (k, d) in &n.extra {
                m.insert(q(k), ModelVal::Arr(val_of_dataset(d)));
            }
        }
    }
    if let Some(s) = &net.simulation {
        for (f, v) in [("Ts", s.ts), ("tSample", s.t_sample)] {
            if let Some(v) = v {
                m.insert(format!("/simulation/{f}"), ModelVal::Scalar(v));
            }
        }
    }
    m
}

fn ints_of(v: &Val) -> Vec<i64> {
    match v {
        Val::I64(x) => x.clone(),
        Val::I32(x) => x.iter().map(|&a| a.into()).collect(),
        other => panic!("expected integers, found {other:?}"),
    }
}

/// Compares the model to the file's datasets read independently.
fn assert_model_matches_file(file: &str) {
    let path = lava(file);
    let net = read_netx(&path).unwrap();
    let model = model_paths(&net);
    let theirs = independent_walk_file(&path);
    let mk: Vec<&String> = model.keys().collect();
    let tk: Vec<&String> = theirs.keys().collect();
    assert_eq!(
        mk, tk,
        "{file}: every stored dataset must be in the model, nothing more"
    );
    for (p, mv) in &model {
        let (shape, val) = &theirs[p];
        let ok = match mv {
            ModelVal::Arr((s, v)) => s == shape && same_val(v, val),
            ModelVal::Ints(a) => &a.shape == shape && ints_of(val) == a.values,
            ModelVal::Scalar(sc) => {
                shape.iter().product::<usize>() == 1
                    && match (sc, val) {
                        (Scalar::Int(i), Val::I64(v)) => v[0] == *i,
                        (Scalar::F32(x), Val::F32(v)) => v[0].to_bits() == x.to_bits(),
                        (Scalar::F64(x), Val::F64(v)) => v[0].to_bits() == x.to_bits(),
                        _ => false,
                    }
            }
            ModelVal::Str(s) => matches!(val, Val::Str(v) if v.len() == 1 && &v[0] == s),
            ModelVal::Bool(b) => matches!(val, Val::Bool(v) if v.len() == 1 && v[0] == *b),
        };
        assert!(ok, "{file}: {p}: model {mv:?} != stored {shape:?} {val:?}");
    }
}

#[test]
fn tiny_model_holds_every_stored_value() {
    assert_model_matches_file("lava_tiny.net");
}

#[test]
fn oxford_model_holds_every_stored_value() {
    assert_model_matches_file("lava_oxford.net");
}

#[test]
fn mnist_model_holds_every_stored_value() {
    assert_model_matches_file("lava_mnist_trained.net");
}

fn f32s(a: &NumArray) -> &[f32] {
    match &a.data {
        NumData::F32(v) => v,
        other => panic!("expected float32, found {}", other.dtype_name()),
    }
}

fn weight(l: &netx::NetxLayer) -> &NumArray {
    match l.weight.as_ref().expect("layer has a weight") {
        Weight::Real(w) => w,
        Weight::Complex { .. } => panic!("unexpected complex weight"),
    }
}

/// Weights are `quantize_8bit(descale=True)` outputs: even integers in
/// [-256, 254] (formats.md §1.3).
fn assert_8bit_even(w: &[f32]) {
    assert!(w
        .iter()
        .all(|&x| x.fract() == 0.0 && (x as i64) % 2 == 0 && (-256.0..=254.0).contains(&x)));
}

#[test]
fn tiny_by_hand() {
    let net = read_netx(lava("lava_tiny.net")).unwrap();
    assert_eq!(net.layers.len(), 3);
    let kinds: Vec<_> = net.layers.iter().map(|l| l.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![LayerType::Input, LayerType::Conv, LayerType::Conv]
    );
    assert!(net.unsupported_layers().is_empty());

    let input = &net.layers[0];
    assert_eq!(input.shape, Some(vec![3, 16, 16]));
    assert_eq!(input.netx_shape(), Some(vec![16, 16, 3]));
    assert_eq!(f32s(weight(input)), &[36.0]);
    assert_eq!(f32s(input.bias.as_ref().unwrap()), &[34.0]);
    assert_eq!(netx::input_transform(input).unwrap(), (36, 34));

    let c1 = &net.layers[1];
    let w1 = weight(c1);
    assert_eq!(w1.shape, vec![24, 3, 5, 5, 1]);
    assert_eq!(c1.shape, Some(vec![24, 6, 6]));
    assert_eq!(c1.conv.in_channels, Some(3));
    assert_eq!(c1.conv.out_channels, Some(24));
    assert_eq!(c1.conv.groups, Some(1));
    assert_eq!(c1.conv.kernel_size.as_ref().unwrap().values, vec![5, 5]);
    assert_eq!(netx_xy(c1.conv.stride.as_ref().unwrap()).unwrap(), [2, 2]);
    assert_eq!(c1.conv.padding.as_ref().unwrap().values, vec![0, 0]);
    assert_eq!(c1.conv.dilation.as_ref().unwrap().values, vec![1, 1]);
    assert_eq!(c1.bias.as_ref().unwrap().shape, vec![24]);
    // spot values (h5py): weight[5,2,1,3,0] = -6, weight[0,0,0,0:3,0] = 8, 0, -8
    let w = f32s(w1);
    assert_eq!(w[((5 * 3 + 2) * 5 + 1) * 5 + 3], -6.0);
    assert_eq!(&w[..3], &[8.0, 0.0, -8.0]);
    assert_8bit_even(w);

    let c2 = &net.layers[2];
    assert_eq!(weight(c2).shape, vec![36, 24, 5, 5, 1]);
    assert_eq!(c2.shape, Some(vec![36, 1, 1]));
    assert_eq!(c2.bias.as_ref().unwrap().shape, vec![36]);
    assert_8bit_even(f32s(weight(c2)));

    for l in &net.layers {
        let n = l.neuron.as_ref().unwrap();
        assert_eq!(n.kind, NeuronType::Loihi);
        assert_eq!(n.i_decay, Some(Scalar::Int(4096)));
        assert_eq!(n.v_decay, Some(Scalar::Int(1024)));
        assert_eq!(n.v_th_mant, Some(Scalar::Int(25)));
        assert_eq!(n.wgt_exp, Some(Scalar::Int(0)));
        assert_eq!(n.theta, Some(Scalar::Int(1600)));
        assert_eq!(n.tau_rho, Some(Scalar::F64(0.5)));
        assert_eq!(n.scale_rho, Some(Scalar::F64(10.0)));
        assert_eq!(n.ref_delay, Some(Scalar::Int(1)));
        assert_eq!(n.graded_spike, None);
        assert!(n.extra.is_empty());
        let p = netx::lif_params(n).unwrap();
        assert_eq!(
            (p.du, p.dv, p.vth, p.bias_exp, p.num_message_bits),
            (4095, 1024, 25, 6, 0)
        );
    }
    let sim = net.simulation.as_ref().unwrap();
    assert_eq!(sim.ts, Some(Scalar::Int(1)));
    assert_eq!(sim.t_sample, Some(Scalar::Int(64)));
}

#[test]
fn tiny_conv_kernel_transform_matches_netx() {
    let net = read_netx(lava("lava_tiny.net")).unwrap();
    let w = weight(&net.layers[1]);
    let stored = f32s(w);
    let (shape, out) = netx_conv_kernel(&w.shape, stored).unwrap();
    assert_eq!(shape, vec![24, 5, 5, 3]);
    // netx: result[o][x][y][i] = stored[o][i][kH-1-y][kW-1-x][0]
    let st = |o: usize, i: usize, y: usize, x: usize| stored[((o * 3 + i) * 5 + y) * 5 + x];
    for (o, x, y, i) in [(0, 0, 0, 0), (5, 1, 3, 2), (23, 4, 0, 1), (11, 2, 2, 0)] {
        assert_eq!(out[((o * 5 + x) * 5 + y) * 3 + i], st(o, i, 4 - y, 4 - x));
    }
    let mut sorted_in: Vec<u32> = stored.iter().map(|v| v.to_bits()).collect();
    let mut sorted_out: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
    sorted_in.sort();
    sorted_out.sort();
    assert_eq!(sorted_in, sorted_out, "a permutation of the stored values");
}

#[test]
fn oxford_by_hand() {
    let net = read_netx(lava("lava_oxford.net")).unwrap();
    assert_eq!(net.layers.len(), 2);
    assert!(net.simulation.is_none());
    assert!(
        net.layers.iter().all(|l| l.kind == LayerType::Dense),
        "no input layer"
    );
    let dims: Vec<_> = net
        .layers
        .iter()
        .map(|l| {
            (
                l.in_features.unwrap(),
                l.out_features.unwrap(),
                weight(l).shape.clone(),
            )
        })
        .collect();
    assert_eq!(
        dims,
        vec![(200, 256, vec![256, 200]), (256, 200, vec![200, 256])]
    );
    assert_eq!(net.layers[0].shape, Some(vec![256]));
    let all: Vec<f32> = net
        .layers
        .iter()
        .flat_map(|l| f32s(weight(l)).to_vec())
        .collect();
    let min = all.iter().copied().fold(f32::INFINITY, f32::min);
    let max = all.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert_eq!((min, max), (-178.0, 192.0));
    assert_8bit_even(&all);
    assert_eq!(&f32s(weight(&net.layers[0]))[..3], &[-106.0, -72.0, -114.0]);
    let vdecay: Vec<_> = net
        .layers
        .iter()
        .map(|l| l.neuron.as_ref().unwrap().v_decay)
        .collect();
    assert_eq!(vdecay, vec![Some(Scalar::Int(415)), Some(Scalar::Int(409))]);
    for l in &net.layers {
        let n = l.neuron.as_ref().unwrap();
        assert_eq!(n.kind, NeuronType::Cuba);
        assert_eq!(n.i_decay, Some(Scalar::Int(4096)));
        assert_eq!(n.v_th_mant, Some(Scalar::Int(6)));
        assert_eq!(n.graded_spike, Some(false));
        assert_eq!(l.effective_neuron().as_ref(), Some(n));
    }
}

#[test]
fn mnist_by_hand() {
    let net = read_netx(lava("lava_mnist_trained.net")).unwrap();
    let shapes: Vec<_> = net.layers.iter().map(|l| weight(l).shape.clone()).collect();
    assert_eq!(shapes, vec![vec![128, 784], vec![64, 128], vec![10, 64]]);
    assert_eq!(net.layers[0].kind, LayerType::Dense, "no input layer");
    let max = net
        .layers
        .iter()
        .flat_map(|l| f32s(weight(l)).to_vec())
        .fold(f32::NEG_INFINITY, f32::max);
    assert_eq!(max, 254.0);
    for l in &net.layers {
        assert_8bit_even(f32s(weight(l)));
        let n = l.neuron.as_ref().unwrap();
        assert_eq!(n.kind, NeuronType::Cuba);
        assert_eq!(
            (n.i_decay, n.v_decay, n.v_th_mant),
            (
                Some(Scalar::Int(410)),
                Some(Scalar::Int(410)),
                Some(Scalar::Int(64))
            )
        );
        assert!(l.bias.is_none() && l.delay.is_none());
    }
}
