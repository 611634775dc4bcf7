//! Shared test helpers: fixture lookup, and an *independent* view of every
//! dataset in a file through a second pure-Rust HDF5 reader (`hdf5-reader`), to
//! compare against what our reader and models hold.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use hdf5_reader::{Datatype, Hdf5File};
use spikeforge_formats::h5::{Data, Dataset};
use spikeforge_formats::NumData;

/// `shared/` holding the fixtures: `$SPIKEFORGE_SHARED` if set, else
/// `<CARGO_MANIFEST_DIR>/../../../shared`. Panics (fails the test) with a clear
/// message if the fixtures are not there.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("SPIKEFORGE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let probe = dir.join("fixtures/lava-dl/lava_tiny.net");
    assert!(
        probe.is_file(),
        "test fixtures not found: {} does not exist. Set SPIKEFORGE_SHARED to the \
         directory holding fixtures/lava-dl and fixtures/nir (the project's shared/).",
        probe.display()
    );
    dir
}

/// Path of a lava-dl fixture, e.g. `lava("lava_tiny.net")`.
pub fn lava(name: &str) -> PathBuf {
    let p = shared_dir().join("fixtures/lava-dl").join(name);
    assert!(p.is_file(), "fixture missing: {}", p.display());
    p
}

/// Path of a NIR fixture.
pub fn nir(name: &str) -> PathBuf {
    let p = shared_dir().join("fixtures/nir").join(name);
    assert!(p.is_file(), "fixture missing: {}", p.display());
    p
}

pub const LAVA_FILES: &[&str] = &["lava_tiny.net", "lava_oxford.net", "lava_mnist_trained.net"];
pub const NIR_FILES: &[&str] = &[
    "nirpaper_lif_norse.nir",
    "nirpaper_braille_noDelay_bias_zero.nir",
    "nirpaper_cnn_sinabs.nir",
];

/// A dataset's value as the independent reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    I16(Vec<i16>),
    I8(Vec<i8>),
    U64(Vec<u64>),
    U32(Vec<u32>),
    U16(Vec<u16>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

/// (shape, value) of a dataset.
pub type Entry = (Vec<usize>, Val);

/// Every dataset of the file at `path`, by absolute path, read with
/// `hdf5-reader`.
pub fn independent_walk_file(path: &std::path::Path) -> BTreeMap<String, Entry> {
    let f = Hdf5File::open(path).expect("hdf5-reader opens the file");
    walk_root(&f)
}

/// Same for in-memory bytes.
pub fn independent_walk_bytes(bytes: &[u8]) -> BTreeMap<String, Entry> {
    let f = Hdf5File::from_bytes(bytes).expect("hdf5-reader opens the bytes");
    walk_root(&f)
}

fn walk_root(f: &Hdf5File) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    walk(&f.root_group().unwrap(), "", &mut out);
    out
}

fn walk(g: &hdf5_reader::group::Group, prefix: &str, out: &mut BTreeMap<String, Entry>) {
    let (groups, datasets) = g.members().unwrap();
    for d in datasets {
        let path = format!("{prefix}/{}", d.name());
        let shape: Vec<usize> = d.shape().iter().map(|&x| x as usize).collect();
        macro_rules! arr {
            ($t:ty, $v:ident) => {{
                let a = d.read_array::<$t>().unwrap();
                Val::$v(a.iter().copied().collect())
            }};
        }
        let val = match d.dtype().clone() {
            Datatype::FloatingPoint { size: 4, .. } => arr!(f32, F32),
            Datatype::FloatingPoint { size: 8, .. } => arr!(f64, F64),
            Datatype::FixedPoint {
                size: 8,
                signed: true,
                ..
            } => arr!(i64, I64),
            Datatype::FixedPoint {
                size: 4,
                signed: true,
                ..
            } => arr!(i32, I32),
            Datatype::FixedPoint {
                size: 2,
                signed: true,
                ..
            } => arr!(i16, I16),
            Datatype::FixedPoint {
                size: 1,
                signed: true,
                ..
            } => arr!(i8, I8),
            Datatype::FixedPoint {
                size: 8,
                signed: false,
                ..
            } => arr!(u64, U64),
            Datatype::FixedPoint {
                size: 4,
                signed: false,
                ..
            } => arr!(u32, U32),
            Datatype::FixedPoint {
                size: 2,
                signed: false,
                ..
            } => arr!(u16, U16),
            Datatype::FixedPoint {
                size: 1,
                signed: false,
                ..
            } => arr!(u8, U8),
            Datatype::Enum { members, .. } => {
                let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                assert!(
                    names.contains(&"FALSE") && names.contains(&"TRUE"),
                    "{path}: enum {names:?}"
                );
                let raw = d.read_raw_bytes().unwrap();
                Val::Bool(
                    raw.iter()
                        .map(|&b| match b {
                            0 => false,
                            1 => true,
                            x => panic!("{path}: bool byte {x}"),
                        })
                        .collect(),
                )
            }
            Datatype::String { .. } | Datatype::VarLen { .. } => {
                Val::Str(d.read_strings().unwrap())
            }
            other => panic!("{path}: unexpected datatype {other:?}"),
        };
        out.insert(path, (shape, val));
    }
    for sub in groups {
        walk(&sub, &format!("{prefix}/{}", sub.name()), out);
    }
}

/// Our reader's [`Dataset`] in the independent representation.
pub fn val_of_dataset(d: &Dataset) -> Entry {
    let v = match &d.data {
        Data::Num(n) => val_of_num(n),
        Data::Bool(b) => Val::Bool(b.clone()),
        Data::Str(s) => Val::Str(s.clone()),
    };
    (d.shape.clone(), v)
}

/// Numeric data in the independent representation (same element type).
pub fn val_of_num(n: &NumData) -> Val {
    match n {
        NumData::F32(v) => Val::F32(v.clone()),
        NumData::F64(v) => Val::F64(v.clone()),
        NumData::I8(v) => Val::I8(v.clone()),
        NumData::I16(v) => Val::I16(v.clone()),
        NumData::I32(v) => Val::I32(v.clone()),
        NumData::I64(v) => Val::I64(v.clone()),
        NumData::U8(v) => Val::U8(v.clone()),
        NumData::U16(v) => Val::U16(v.clone()),
        NumData::U32(v) => Val::U32(v.clone()),
        NumData::U64(v) => Val::U64(v.clone()),
    }
}

/// Compares two dataset maps element by element (floats bit for bit), with a
/// message naming the first differing path.
pub fn assert_same_datasets(
    ours: &BTreeMap<String, Entry>,
    theirs: &BTreeMap<String, Entry>,
    what: &str,
) {
    let ok: Vec<&String> = ours.keys().collect();
    let tk: Vec<&String> = theirs.keys().collect();
    assert_eq!(ok, tk, "{what}: dataset paths differ");
    for (path, (shape, val)) in ours {
        let (tshape, tval) = &theirs[path];
        assert_eq!(shape, tshape, "{what}: {path}: shape");
        assert!(
            same_val(val, tval),
            "{what}: {path}: values differ:\n ours   {val:?}\n theirs {tval:?}"
        );
    }
}

/// Equality with floats compared bit for bit (so NaN == NaN, -0.0 != 0.0).
pub fn same_val(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::F32(x), Val::F32(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        (Val::F64(x), Val::F64(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => a == b,
    }
}
