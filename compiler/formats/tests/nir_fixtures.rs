//! The NIR model on the three NIR fixtures: every dataset of each file is found
//! in the model with the same value (checked against an independent HDF5
//! reader), plus values checked by hand against formats.md §2.3.

mod common;

use std::collections::BTreeMap;

use common::*;
use spikeforge_formats::nir::{FieldRef, MetaValue, Metadata, NirGraph, NirOp, Padding};
use spikeforge_formats::{read_nir, NirDocument, NumArray, NumData};

/// `meta` stored under the group `group` (`.../metadata`).
fn meta_paths(group: &str, meta: &Metadata, out: &mut BTreeMap<String, Entry>) {
    for (k, v) in meta {
        let p = format!("{group}/{k}");
        match v {
            MetaValue::Data(d) => {
                out.insert(p, val_of_dataset(d));
            }
            MetaValue::Group(g) => meta_paths(&p, g, out),
        }
    }
}

fn graph_paths(
    prefix: &str,
    g: &NirGraph,
    node_meta: &Metadata,
    out: &mut BTreeMap<String, Entry>,
) {
    let s = |v: &str| (vec![], Val::Str(vec![v.to_string()]));
    out.insert(format!("{prefix}/type"), s("NIRGraph"));
    out.insert(
        format!("{prefix}/edges"),
        (
            vec![g.edges.len(), 2],
            Val::Str(
                g.edges
                    .iter()
                    .flat_map(|(a, b)| [a.clone(), b.clone()])
                    .collect(),
            ),
        ),
    );
    meta_paths(&format!("{prefix}/metadata"), &g.metadata, out);
    meta_paths(&format!("{prefix}/metadata"), node_meta, out);
    for (name, node) in &g.nodes {
        let np = format!("{prefix}/nodes/{name}");
        if let NirOp::Graph(sub) = &node.op {
            graph_paths(&np, sub, &node.metadata, out);
            continue;
        }
        out.insert(format!("{np}/type"), s(node.op.type_name()));
        for (f, v) in node.op.fields() {
            let e = match v {
                FieldRef::Num(a) => (a.shape.clone(), val_of_num(&a.data)),
                FieldRef::Str(x) => s(x),
            };
            out.insert(format!("{np}/{f}"), e);
        }
        meta_paths(&format!("{np}/metadata"), &node.metadata, out);
    }
}

/// The document flattened back to HDF5 paths, shapes and values.
fn model_paths(doc: &NirDocument) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    if let Some(v) = &doc.version {
        out.insert("/version".to_string(), (vec![], Val::Str(vec![v.clone()])));
    }
    graph_paths("/node", &doc.graph, &Metadata::new(), &mut out);
    out
}

fn assert_model_matches_file(file: &str) -> NirDocument {
    let path = nir(file);
    let doc = read_nir(&path).unwrap();
    assert_same_datasets(&model_paths(&doc), &independent_walk_file(&path), file);
    doc
}

#[test]
fn lif_norse_model_holds_every_stored_value() {
    assert_model_matches_file("nirpaper_lif_norse.nir");
}

#[test]
fn braille_model_holds_every_stored_value() {
    assert_model_matches_file("nirpaper_braille_noDelay_bias_zero.nir");
}

#[test]
fn cnn_model_holds_every_stored_value() {
    assert_model_matches_file("nirpaper_cnn_sinabs.nir");
}

fn f32s(a: &NumArray) -> &[f32] {
    match &a.data {
        NumData::F32(v) => v,
        other => panic!("expected float32, found {}", other.dtype_name()),
    }
}

fn f64s(a: &NumArray) -> &[f64] {
    match &a.data {
        NumData::F64(v) => v,
        other => panic!("expected float64, found {}", other.dtype_name()),
    }
}

fn ints(a: &NumArray) -> Vec<i64> {
    a.to_i64_exact().unwrap()
}

fn edges(g: &NirGraph) -> Vec<(&str, &str)> {
    g.edges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

#[test]
fn lif_norse_by_hand() {
    let doc = read_nir(nir("nirpaper_lif_norse.nir")).unwrap();
    assert_eq!(doc.version.as_deref(), Some("0.1.1"));
    let g = &doc.graph;
    assert_eq!(
        g.nodes.keys().collect::<Vec<_>>(),
        vec!["0", "1", "input", "output"]
    );
    assert_eq!(edges(g), vec![("input", "0"), ("0", "1"), ("1", "output")]);
    assert!(g.dangling_edges().is_empty());
    match &g.nodes["0"].op {
        NirOp::Affine { weight, bias } => {
            assert_eq!(
                (weight.shape.clone(), f32s(weight)),
                (vec![1, 1], &[1.0f32][..])
            );
            assert_eq!(f32s(bias), &[0.0]);
        }
        other => panic!("{other:?}"),
    }
    match &g.nodes["1"].op {
        NirOp::LIF {
            tau,
            r,
            v_leak,
            v_threshold,
            v_reset,
        } => {
            assert_eq!(f32s(tau), &[0.0025]);
            assert_eq!(f32s(r), &[1.0]);
            assert_eq!(f32s(v_leak), &[0.0]);
            assert_eq!(f32s(v_threshold), &[0.1]);
            assert!(
                v_reset.is_none(),
                "v_reset is absent in this 0.1.1 file, not invented"
            );
        }
        other => panic!("{other:?}"),
    }
    for (n, want) in [("input", 1), ("output", 1)] {
        match &g.nodes[n].op {
            NirOp::Input { shape } | NirOp::Output { shape } => assert_eq!(ints(shape), vec![want]),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn braille_by_hand() {
    let doc = read_nir(nir("nirpaper_braille_noDelay_bias_zero.nir")).unwrap();
    assert_eq!(doc.version.as_deref(), Some("0.2.0"));
    let g = &doc.graph;
    assert_eq!(
        g.nodes.keys().collect::<Vec<_>>(),
        vec![
            "fc1",
            "fc2",
            "input",
            "lif1.lif",
            "lif1.w_rec",
            "lif2",
            "output"
        ]
    );
    assert_eq!(g.edges.len(), 7);
    assert!(edges(g).contains(&("lif1.lif", "lif1.w_rec")));
    assert!(edges(g).contains(&("lif1.w_rec", "lif1.lif")));
    assert!(g.dangling_edges().is_empty());
    let affine = |n: &str| match &g.nodes[n].op {
        NirOp::Affine { weight, bias } => (weight.clone(), bias.clone()),
        other => panic!("{other:?}"),
    };
    let (fc1, b1) = affine("fc1");
    assert_eq!(
        (fc1.shape.clone(), b1.shape.clone()),
        (vec![38, 12], vec![38])
    );
    assert_eq!(f32s(&fc1)[37 * 12 + 11], -0.000_583_322_25);
    let (rec, _) = affine("lif1.w_rec");
    assert_eq!(rec.shape, vec![38, 38]);
    assert_eq!(f32s(&rec)[37], 0.246_071_22);
    assert_eq!(affine("fc2").0.shape, vec![7, 38]);
    for (n, size) in [("lif1.lif", 38), ("lif2", 7)] {
        match &g.nodes[n].op {
            NirOp::CubaLIF {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                v_threshold,
                v_reset,
                w_in,
            } => {
                for a in [
                    tau_syn,
                    tau_mem,
                    r,
                    v_leak,
                    v_threshold,
                    w_in.as_ref().unwrap(),
                ] {
                    assert_eq!(a.shape, vec![size]);
                    assert!(
                        matches!(a.data, NumData::F64(_)),
                        "neuron params are float64"
                    );
                }
                assert!(v_reset.is_none());
                assert!(f64s(v_threshold).iter().all(|&v| v == 1.0));
            }
            other => panic!("{other:?}"),
        }
    }
    match &g.nodes["lif1.lif"].op {
        NirOp::CubaLIF { tau_syn, .. } => assert_eq!(f64s(tau_syn)[0], 0.000_222_222_228_109_100_9),
        _ => unreachable!(),
    }
}

#[test]
fn cnn_by_hand() {
    let doc = read_nir(nir("nirpaper_cnn_sinabs.nir")).unwrap();
    let g = &doc.graph;
    assert_eq!(g.nodes.len(), 15);
    assert_eq!(g.edges.len(), 14);
    assert!(g.dangling_edges().is_empty());
    let kinds: Vec<&str> = (0..13)
        .map(|i| g.nodes[&i.to_string()].op.type_name())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "Conv2d",
            "IF",
            "Conv2d",
            "IF",
            "SumPool2d",
            "Conv2d",
            "IF",
            "SumPool2d",
            "Flatten",
            "Affine",
            "IF",
            "Affine",
            "IF"
        ]
    );
    match &g.nodes["input"].op {
        NirOp::Input { shape } => assert_eq!(ints(shape), vec![2, 34, 34]),
        other => panic!("{other:?}"),
    }
    match &g.nodes["0"].op {
        NirOp::Conv2d(c) => {
            assert_eq!(c.weight.shape, vec![16, 2, 5, 5]);
            assert_eq!(
                f32s(&c.weight)[((15 * 2 + 1) * 5 + 4) * 5 + 4],
                0.109_717_86
            );
            assert_eq!(ints(c.input_shape.as_ref().unwrap()), vec![34, 34]);
            assert_eq!(ints(&c.stride), vec![2, 2]);
            assert_eq!(
                c.padding,
                Padding::Values(NumArray::i64(vec![2], vec![1, 1]).unwrap())
            );
            assert_eq!(ints(&c.dilation), vec![1, 1]);
            assert_eq!(ints(&c.groups), vec![1]);
            assert!(c.groups.is_scalar());
            assert_eq!(c.bias.shape, vec![16]);
        }
        other => panic!("{other:?}"),
    }
    match &g.nodes["1"].op {
        NirOp::IF {
            r,
            v_threshold,
            v_reset,
        } => {
            assert_eq!(r.shape, vec![16, 16, 16], "(C, H, W)-shaped state");
            assert_eq!(v_threshold.shape, vec![16, 16, 16]);
            assert!(v_reset.is_none());
        }
        other => panic!("{other:?}"),
    }
    match &g.nodes["4"].op {
        NirOp::SumPool2d(p) => {
            assert_eq!(
                (ints(&p.kernel_size), ints(&p.stride), ints(&p.padding)),
                (vec![2, 2], vec![2, 2], vec![0, 0])
            );
        }
        other => panic!("{other:?}"),
    }
    match &g.nodes["8"].op {
        NirOp::Flatten {
            input_type,
            start_dim,
            end_dim,
        } => {
            assert_eq!(ints(input_type.as_ref().unwrap()), vec![8, 4, 4]);
            assert_eq!(ints(start_dim.as_ref().unwrap()), vec![0]);
            assert_eq!(ints(end_dim.as_ref().unwrap()), vec![-1]);
        }
        other => panic!("{other:?}"),
    }
    match &g.nodes["9"].op {
        NirOp::Affine { weight, .. } => {
            assert_eq!(weight.shape, vec![256, 128]);
            assert_eq!(f32s(weight)[255 * 128 + 127], -0.183_458_82);
        }
        other => panic!("{other:?}"),
    }
    match (&g.nodes["11"].op, &g.nodes["output"].op) {
        (NirOp::Affine { weight, .. }, NirOp::Output { shape }) => {
            assert_eq!(weight.shape, vec![10, 256]);
            assert_eq!(ints(shape), vec![10]);
        }
        other => panic!("{other:?}"),
    }
}
