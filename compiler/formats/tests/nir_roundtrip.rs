//! NIR writer: each fixture read, written in nir 1.0.8's layout, read back with
//! our reader (every array compared exactly) and with an independent HDF5
//! reader (every dataset of the written file equals the original's); plus a
//! synthetic graph holding every node kind, metadata and a nested graph.

mod common;

use std::collections::BTreeMap;

use common::*;
use spikeforge_formats::h5::{DType, Data, Dataset};
use spikeforge_formats::nir::{
    Conv, MetaValue, Metadata, NirGraph, NirNode, NirOp, Padding, Pool, NODE_TYPES,
};
use spikeforge_formats::nir_write::NIR_WRITE_VERSION;
use spikeforge_formats::{read_nir, read_nir_bytes, write_nir, write_nir_bytes, NumArray, NumData};

/// Bitwise comparison of two graphs through their independent HDF5 views.
fn assert_graphs_bitwise_equal(a: &[u8], b: &[u8], what: &str) {
    let mut x = independent_walk_bytes(a);
    let mut y = independent_walk_bytes(b);
    x.remove("/version");
    y.remove("/version");
    assert_same_datasets(&x, &y, what);
}

#[test]
fn every_fixture_round_trips_exactly() {
    for file in NIR_FILES {
        let path = nir(file);
        let original = std::fs::read(&path).unwrap();
        let doc = read_nir(&path).unwrap();
        let bytes = write_nir_bytes(&doc.graph).unwrap();
        let back = read_nir_bytes("written.nir", bytes.clone()).unwrap();
        assert_eq!(back.version.as_deref(), Some(NIR_WRITE_VERSION), "{file}");
        assert_eq!(back.graph, doc.graph, "{file}: graph after write + read");
        // Every dataset of the written file equals the original's, element by
        // element and in the same stored type, as seen by another HDF5 reader.
        assert_graphs_bitwise_equal(&bytes, &original, file);
        // Arrays are chunked + deflated (as nir's own writer does); scalars plain.
        let f = hdf5_pure::File::from_bytes(bytes).unwrap();
        let w = f.dataset("node/nodes/input/shape").unwrap();
        assert!(w.is_chunked() && w.filters() == vec![1], "{file}");
    }
}

#[test]
fn written_version_is_a_scalar_vlen_string() {
    let doc = read_nir(nir("nirpaper_lif_norse.nir")).unwrap();
    let bytes = write_nir_bytes(&doc.graph).unwrap();
    let ind = independent_walk_bytes(&bytes);
    assert_eq!(ind["/version"], (vec![], Val::Str(vec!["1.0.8".into()])));
    assert_eq!(
        ind["/node/type"],
        (vec![], Val::Str(vec!["NIRGraph".into()]))
    );
    let (shape, _) = &ind["/node/edges"];
    assert_eq!(shape, &vec![3, 2]);
    use spikeforge_formats::h5::H5Source;
    let f = spikeforge_formats::h5::PureH5File::from_bytes("w.nir", bytes).unwrap();
    assert_eq!(f.dataset("/version").unwrap().dtype, DType::VlenString);
    assert_eq!(f.dataset("/node/edges").unwrap().dtype, DType::VlenString);
}

fn f32a(shape: Vec<usize>, v: Vec<f32>) -> NumArray {
    NumArray::f32(shape, v).unwrap()
}
fn f64a(shape: Vec<usize>, v: Vec<f64>) -> NumArray {
    NumArray::f64(shape, v).unwrap()
}
fn i64a(shape: Vec<usize>, v: Vec<i64>) -> NumArray {
    NumArray::i64(shape, v).unwrap()
}
fn node(op: NirOp) -> NirNode {
    NirNode {
        op,
        metadata: Metadata::new(),
    }
}

/// A graph with every node kind, odd dtypes, metadata of every kind, a named
/// padding, a nested graph with an empty edge list, NaN and -0.0.
fn synthetic() -> NirGraph {
    let v3 = |x: f32| f32a(vec![3], vec![x, -0.0, f32::NAN]);
    let mut g = NirGraph::default();
    let mut add = |name: &str, op: NirOp| {
        g.nodes.insert(name.to_string(), node(op));
    };
    add(
        "input",
        NirOp::Input {
            shape: i64a(vec![1], vec![3]),
        },
    );
    add(
        "output",
        NirOp::Output {
            shape: i64a(vec![1], vec![3]),
        },
    );
    add(
        "affine",
        NirOp::Affine {
            weight: f32a(vec![3, 3], (0..9).map(|i| i as f32 * 0.5).collect()),
            bias: f64a(vec![3], vec![1.0, 2.0, 3.0]),
        },
    );
    add(
        "linear",
        NirOp::Linear {
            weight: f64a(vec![3, 3], vec![0.25; 9]),
        },
    );
    add(
        "conv1",
        NirOp::Conv1d(Conv {
            input_shape: Some(i64a(vec![], vec![8])),
            weight: f32a(vec![2, 1, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            stride: i64a(vec![], vec![1]),
            padding: Padding::Named("same".into()),
            dilation: i64a(vec![], vec![1]),
            groups: i64a(vec![], vec![1]),
            bias: f32a(vec![2], vec![0.0, 1.0]),
        }),
    );
    add(
        "conv2",
        NirOp::Conv2d(Conv {
            input_shape: None,
            weight: f32a(vec![1, 1, 2, 2], vec![1.0, -1.0, 2.0, -2.0]),
            stride: i64a(vec![2], vec![1, 2]),
            padding: Padding::Values(NumArray::new(vec![2], NumData::I32(vec![0, 1])).unwrap()),
            dilation: i64a(vec![2], vec![1, 1]),
            groups: i64a(vec![], vec![1]),
            bias: f32a(vec![1], vec![0.5]),
        }),
    );
    let pool = Pool {
        kernel_size: i64a(vec![2], vec![2, 2]),
        stride: i64a(vec![2], vec![2, 2]),
        padding: i64a(vec![2], vec![0, 0]),
    };
    add("sumpool", NirOp::SumPool2d(pool.clone()));
    add("avgpool", NirOp::AvgPool2d(pool));
    add(
        "flatten",
        NirOp::Flatten {
            input_type: Some(i64a(vec![3], vec![1, 2, 2])),
            start_dim: Some(i64a(vec![], vec![0])),
            end_dim: None,
        },
    );
    add(
        "li",
        NirOp::LI {
            tau: v3(1.0),
            r: v3(2.0),
            v_leak: v3(3.0),
        },
    );
    add(
        "lif",
        NirOp::LIF {
            tau: v3(1.0),
            r: v3(2.0),
            v_leak: v3(3.0),
            v_threshold: v3(4.0),
            v_reset: Some(v3(5.0)),
        },
    );
    add(
        "cubali",
        NirOp::CubaLI {
            tau_syn: v3(1.0),
            tau_mem: v3(2.0),
            r: v3(3.0),
            v_leak: v3(4.0),
            w_in: None,
        },
    );
    add(
        "cubalif",
        NirOp::CubaLIF {
            tau_syn: v3(1.0),
            tau_mem: v3(2.0),
            r: v3(3.0),
            v_leak: v3(4.0),
            v_threshold: v3(5.0),
            v_reset: None,
            w_in: Some(v3(6.0)),
        },
    );
    add(
        "i",
        NirOp::I {
            r: f64a(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]),
        },
    );
    add(
        "if",
        NirOp::IF {
            r: v3(1.0),
            v_threshold: v3(2.0),
            v_reset: Some(v3(0.0)),
        },
    );
    add(
        "delay",
        NirOp::Delay {
            delay: NumArray::new(vec![3], NumData::U16(vec![1, 2, 3])).unwrap(),
        },
    );
    add("threshold", NirOp::Threshold { threshold: v3(0.5) });
    add(
        "scale",
        NirOp::Scale {
            scale: NumArray::new(vec![0], NumData::F32(vec![])).unwrap(),
        },
    );

    let mut sub = NirGraph::default();
    sub.nodes.insert(
        "a".into(),
        node(NirOp::I {
            r: f32a(vec![1], vec![1.0]),
        }),
    );
    let mut inner_meta = BTreeMap::new();
    inner_meta.insert(
        "flags".to_string(),
        MetaValue::Data(Dataset {
            shape: vec![2],
            dtype: DType::Bool,
            data: Data::Bool(vec![true, false]),
        }),
    );
    let mut sub_node = node(NirOp::Graph(sub));
    sub_node
        .metadata
        .insert("nested".into(), MetaValue::Group(inner_meta));
    g.nodes.insert("sub.graph".into(), sub_node);

    g.nodes.get_mut("lif").unwrap().metadata.insert(
        "note".into(),
        MetaValue::Data(Dataset {
            shape: vec![],
            dtype: DType::VlenString,
            data: Data::Str(vec!["héllo".into()]),
        }),
    );
    g.metadata.insert(
        "fixed".into(),
        MetaValue::Data(Dataset {
            shape: vec![2],
            dtype: DType::FixedString(4),
            data: Data::Str(vec!["ab".into(), "cdef".into()]),
        }),
    );
    g.metadata.insert(
        "count".into(),
        MetaValue::Data(Dataset {
            shape: vec![],
            dtype: DType::I64,
            data: Data::Num(NumData::I64(vec![42])),
        }),
    );
    g.edges = vec![
        ("input".into(), "affine".into()),
        ("affine".into(), "lif".into()),
        ("lif".into(), "output".into()),
    ];
    g
}

/// Graph equality with floats compared bit for bit (the synthetic graph has NaN).
fn assert_same_graph(a: &NirGraph, b: &NirGraph) {
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let x = write_nir_bytes(a).unwrap();
    let y = write_nir_bytes(b).unwrap();
    assert_graphs_bitwise_equal(&x, &y, "synthetic");
}

#[test]
fn synthetic_graph_with_every_node_kind_round_trips() {
    let g = synthetic();
    let kinds: std::collections::BTreeSet<&str> =
        g.nodes.values().map(|n| n.op.type_name()).collect();
    let all: std::collections::BTreeSet<&str> = NODE_TYPES.iter().copied().collect();
    assert_eq!(kinds, all, "the synthetic graph covers every node type");

    let bytes = write_nir_bytes(&g).unwrap();
    let back = read_nir_bytes("synthetic.nir", bytes.clone()).unwrap();
    assert_same_graph(&back.graph, &g);
    // The other reader sees the same stored types as the model.
    let ind = independent_walk_bytes(&bytes);
    assert_eq!(
        ind["/node/nodes/delay/delay"],
        (vec![3], Val::U16(vec![1, 2, 3]))
    );
    assert_eq!(
        ind["/node/nodes/conv2/padding"],
        (vec![2], Val::I32(vec![0, 1]))
    );
    assert_eq!(
        ind["/node/nodes/conv1/padding"],
        (vec![], Val::Str(vec!["same".into()]))
    );
    assert_eq!(ind["/node/nodes/sub.graph/edges"].0, vec![0, 2]);
    assert_eq!(
        ind["/node/nodes/sub.graph/metadata/nested/flags"],
        (vec![2], Val::Bool(vec![true, false]))
    );
    assert_eq!(
        ind["/node/metadata/fixed"],
        (vec![2], Val::Str(vec!["ab".into(), "cdef".into()]))
    );
    assert!(
        !ind.contains_key("/node/nodes/cubalif/v_reset"),
        "absent optionals stay absent"
    );
    assert!(!ind.contains_key("/node/nodes/flatten/end_dim"));
}

#[test]
fn write_to_a_file_and_read_it_back() {
    let g = synthetic();
    let dir = std::env::temp_dir().join(format!("spikeforge-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("graph.nir");
    write_nir(&path, &g).unwrap();
    let back = read_nir(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_same_graph(&back.graph, &g);
}

#[test]
fn writer_refuses_names_hdf5_cannot_hold() {
    let mut g = NirGraph::default();
    g.nodes.insert(
        "a/b".into(),
        node(NirOp::I {
            r: f32a(vec![1], vec![1.0]),
        }),
    );
    let e = write_nir_bytes(&g).unwrap_err();
    assert_eq!(e.path, "/node/nodes/a/b");
    assert!(e.to_string().contains("cannot be an HDF5 name"), "{e}");

    let mut g = NirGraph::default();
    g.nodes.insert(
        "x".into(),
        node(NirOp::I {
            r: NumArray {
                shape: vec![2],
                data: NumData::F32(vec![1.0]),
            },
        }),
    );
    let e = write_nir_bytes(&g).unwrap_err();
    assert_eq!(e.path, "/node/nodes/x/r");
}
