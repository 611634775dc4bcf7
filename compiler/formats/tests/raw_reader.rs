//! Our `h5` reader against an independent pure-Rust HDF5 reader, on every
//! fixture: same dataset paths, shapes, stored element types and every element.

mod common;

use common::*;
use spikeforge_formats::h5::{read_tree, DType, H5Source, PureH5File};

fn our_walk(path: &std::path::Path) -> std::collections::BTreeMap<String, Entry> {
    let f = PureH5File::open(path).unwrap();
    read_tree(&f, "/")
        .unwrap()
        .into_iter()
        .map(|(k, d)| (format!("/{k}"), val_of_dataset(&d)))
        .collect()
}

#[test]
fn every_dataset_of_every_fixture_matches_the_independent_reader() {
    let mut files = Vec::new();
    for f in LAVA_FILES {
        files.push(lava(f));
    }
    for f in NIR_FILES {
        files.push(nir(f));
    }
    let mut total = 0;
    for path in &files {
        let ours = our_walk(path);
        let theirs = independent_walk_file(path);
        assert!(!theirs.is_empty(), "{}: no datasets", path.display());
        assert_same_datasets(&ours, &theirs, &path.display().to_string());
        total += theirs.len();
    }
    // 3 lava files + 3 NIR files: a regression guard that the walks saw the
    // whole trees (counted independently with h5py 3.16 `visititems`).
    assert_eq!(total, 55 + 22 + 33 + 15 + 30 + 64, "dataset count");
}

#[test]
fn stored_types_are_reported_exactly() {
    let f = PureH5File::open(lava("lava_tiny.net")).unwrap();
    let w = f.dataset("/layer/1/weight").unwrap();
    assert_eq!(w.dtype, DType::F32);
    assert_eq!(w.shape, vec![24, 3, 5, 5, 1]);
    assert_eq!(
        f.dataset("/layer/1/type").unwrap().dtype,
        DType::FixedString(10)
    );
    assert_eq!(
        f.dataset("/layer/1/neuron/type").unwrap().dtype,
        DType::VlenString
    );
    assert_eq!(
        f.dataset("/layer/1/neuron/tauRho").unwrap().dtype,
        DType::F64
    );
    assert_eq!(
        f.dataset("/layer/1/neuron/theta").unwrap().dtype,
        DType::I64
    );

    let f = PureH5File::open(lava("lava_oxford.net")).unwrap();
    let g = f.dataset("/layer/0/neuron/gradedSpike").unwrap();
    assert_eq!(g.dtype, DType::Bool);
    assert_eq!(g.shape, Vec::<usize>::new());

    let f = PureH5File::open(nir("nirpaper_braille_noDelay_bias_zero.nir")).unwrap();
    assert_eq!(
        f.dataset("/node/nodes/lif1.lif/tau_mem").unwrap().dtype,
        DType::F64
    );
    assert_eq!(
        f.dataset("/node/nodes/fc1/weight").unwrap().dtype,
        DType::F32
    );
    let e = f.dataset("/node/edges").unwrap();
    assert_eq!((e.dtype, e.shape), (DType::VlenString, vec![7, 2]));
}

#[test]
fn type_errors_name_file_and_path() {
    let f = PureH5File::open(lava("lava_tiny.net")).unwrap();
    let d = f.dataset("/layer/1/type").unwrap();
    let e = d
        .into_num()
        .map_err(|k| f.error("/layer/1/type", k))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "lava_tiny.net: /layer/1/type: expected a numeric dataset, found string (fixed, 10 bytes)"
    );
    let e = f.dataset("/layer/7").unwrap_err();
    assert_eq!(e.file, "lava_tiny.net");
    assert_eq!(e.path, "/layer/7");
    let e = f.members("/layer/1/weight").unwrap_err();
    assert_eq!(
        e.to_string(),
        "lava_tiny.net: /layer/1/weight: expected a group, found a dataset"
    );
}
