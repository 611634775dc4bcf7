//! Peer check against real NumPy: a venv with numpy (created once, cached
//! under `<target>/peer-venvs/numpy`) loads every file of a run-output
//! directory and checks dtypes, shapes and values bit for bit, and re-saves
//! each array with `np.save` to check our bytes equal NumPy's; then NumPy
//! writes arrays that our reader must read (or refuse with the right error).
//! Without network for `pip install` this test fails with pip's output.

mod common;

use common::{sample, scratch};
use serde_json::{json, Value};
use spikeforge_results::npy::{self, NpyData};
use spikeforge_results::peer;
use spikeforge_results::{NpyError, ResultsError, RunResult};

fn entry(file: &str, dtype: &str, shape: &[usize], values: Vec<Value>) -> Value {
    json!({"file": file, "dtype": dtype, "shape": shape, "values": values})
}

fn ints<T: Copy + Into<i128>>(v: &[T]) -> Vec<Value> {
    v.iter()
        .map(|&x| {
            let x: i128 = x.into();
            json!(x as i64)
        })
        .collect()
}

fn bits(v: &[f64]) -> Vec<Value> {
    v.iter().map(|x| json!(x.to_bits())).collect()
}

fn pairs(v: &[(u32, u32)]) -> Vec<Value> {
    v.iter().flat_map(|&(x, y)| [json!(x), json!(y)]).collect()
}

/// What every file must hold, derived from the in-memory result only.
fn expectations(r: &RunResult) -> Value {
    let names = r.file_names();
    let mut out = Vec::new();
    for (s, f) in r.spikes.iter().zip(&names.spikes) {
        out.push(entry(f, "<i4", &[s.events.len(), 2], pairs(&s.events)));
    }
    for (s, f) in r.states.iter().zip(&names.states) {
        let shape = [s.steps.len(), s.neurons.len()];
        out.push(entry(&f[0], "<f8", &shape, bits(&s.values)));
        out.push(entry(&f[1], "<u4", &[s.steps.len()], ints(&s.steps)));
        if let Some(raw) = &s.raw {
            out.push(entry(&f[2], "<i8", &shape, ints(raw)));
        }
    }
    for (w, f) in r.weights.iter().zip(&names.weights) {
        let shape = [w.steps.len(), w.synapses.len()];
        out.push(entry(&f[0], "<f8", &shape, bits(&w.values)));
        out.push(entry(
            &f[1],
            "<i4",
            &[w.synapses.len(), 2],
            pairs(&w.synapses),
        ));
        out.push(entry(&f[2], "<u4", &[w.steps.len()], ints(&w.steps)));
        if let Some(raw) = &w.raw {
            out.push(entry(&f[3], "<i8", &shape, ints(raw)));
        }
    }
    Value::Array(out)
}

const LOAD_SCRIPT: &str = r#"
import io, json, os, sys
import numpy as np
out_dir, expected_path = sys.argv[1], sys.argv[2]
expected = json.load(open(expected_path))
summary = json.load(open(os.path.join(out_dir, "summary.json")))
assert summary["format"] == "spikeforge-run-output" and summary["format_version"] == 1, summary
referenced = set()
for s in summary["spikes"]:
    referenced.add(s["file"])
for s in summary["states"] + summary["weights"]:
    referenced.update(f for f in s["files"].values() if f is not None)
on_disk = set()
for sub in ("spikes", "states", "weights"):
    on_disk.update(sub + "/" + f for f in os.listdir(os.path.join(out_dir, sub)))
listed = set(e["file"] for e in expected)
assert on_disk == referenced == listed, (sorted(on_disk), sorted(referenced), sorted(listed))
for e in expected:
    path = os.path.join(out_dir, e["file"])
    a = np.load(path, allow_pickle=False)
    assert a.dtype == np.dtype(e["dtype"]), (e["file"], a.dtype, e["dtype"])
    assert a.dtype.str == e["dtype"], (e["file"], a.dtype.str)
    assert a.shape == tuple(e["shape"]), (e["file"], a.shape, e["shape"])
    assert a.flags["C_CONTIGUOUS"]
    got = (a.view("<u8") if e["dtype"] == "<f8" else a).ravel().tolist()
    assert got == e["values"], (e["file"], got[:8], e["values"][:8])
    buf = io.BytesIO()
    np.save(buf, a)
    with open(path, "rb") as f:
        mine = f.read()
    assert buf.getvalue() == mine, (e["file"], buf.getvalue()[:128], mine[:128])
# Spike rows are [step, neuron]; rates in summary.json follow from them.
for s in summary["spikes"]:
    a = np.load(os.path.join(out_dir, s["file"]))
    assert len(a) == s["n_spikes"]
    if a.size:
        assert set(a[:, 1].tolist()) <= set(s["neurons"]), s["population"]
    if s["n_neurons"] and summary["n_steps"]:
        rate = len(a) * 1000.0 / (s["n_neurons"] * summary["n_steps"] * summary["dt_ms"])
        assert rate == s["mean_rate_hz"], (rate, s["mean_rate_hz"])
print("numpy", np.__version__, "checked", len(expected), "files")
"#;

const SAVE_SCRIPT: &str = r#"
import os, sys
import numpy as np
d = sys.argv[1]
np.save(os.path.join(d, "f8.npy"), np.arange(12, dtype="<f8").reshape(3, 4) * 0.1 - 0.5)
np.save(os.path.join(d, "i8.npy"), np.array([-2**63, -1, 0, 1, 2**63 - 1], dtype="<i8"))
np.save(os.path.join(d, "i4.npy"), np.arange(6, dtype="<i4").reshape(2, 3) - 3)
np.save(os.path.join(d, "u4.npy"), np.array([0, 1, 2**31, 2**32 - 1], dtype="<u4"))
np.save(os.path.join(d, "empty2.npy"), np.zeros((0, 2), dtype="<i4"))
np.save(os.path.join(d, "empty1.npy"), np.zeros((0,), dtype="<f8"))
np.save(os.path.join(d, "transposed.npy"), np.asfortranarray(np.ones((2, 3))))
np.save(os.path.join(d, "bigendian.npy"), np.ones(3, dtype=">f8"))
np.save(os.path.join(d, "float32.npy"), np.ones(3, dtype="<f4"))
np.save(os.path.join(d, "rank3.npy"), np.ones((1, 2, 3), dtype="<f8"))
print("saved")
"#;

#[test]
fn numpy_loads_every_file_and_agrees_byte_for_byte() {
    let python = peer::python_with(&["numpy"]);
    let r = sample();
    let d = scratch("peer-out");
    r.write_dir(&d).unwrap();
    let exp = scratch("peer-expected.json");
    std::fs::write(&exp, serde_json::to_vec(&expectations(&r)).unwrap()).unwrap();
    let out = peer::run_python(&python, LOAD_SCRIPT, &[d.as_os_str(), exp.as_os_str()]);
    assert!(out.contains("checked 15 files"), "{out}");
}

#[test]
fn we_read_what_numpy_writes() {
    let python = peer::python_with(&["numpy"]);
    let d = scratch("peer-numpy-saved");
    std::fs::create_dir_all(&d).unwrap();
    let out = peer::run_python(&python, SAVE_SCRIPT, &[d.as_os_str()]);
    assert!(out.contains("saved"), "{out}");
    let read = |f: &str| npy::read(&d.join(f));

    let a = read("f8.npy").unwrap();
    assert_eq!(a.shape, [3, 4]);
    let want: Vec<u64> = (0..12).map(|i| (i as f64 * 0.1 - 0.5).to_bits()).collect();
    let got: Vec<u64> = a
        .into_vec::<f64>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        read("i8.npy").unwrap().data,
        NpyData::I8(vec![i64::MIN, -1, 0, 1, i64::MAX])
    );
    let a = read("i4.npy").unwrap();
    assert_eq!(
        (a.shape.as_slice(), a.data),
        (&[2usize, 3][..], NpyData::I4(vec![-3, -2, -1, 0, 1, 2]))
    );
    assert_eq!(
        read("u4.npy").unwrap().data,
        NpyData::U4(vec![0, 1, 1 << 31, u32::MAX])
    );
    let a = read("empty2.npy").unwrap();
    assert_eq!(
        (a.shape.as_slice(), a.data),
        (&[0usize, 2][..], NpyData::I4(vec![]))
    );
    let a = read("empty1.npy").unwrap();
    assert_eq!(
        (a.shape.as_slice(), a.data),
        (&[0usize][..], NpyData::F8(vec![]))
    );

    let err = |f: &str| match read(f) {
        Err(ResultsError::Npy { source, path }) => {
            assert!(path.ends_with(f));
            source
        }
        other => panic!("{f}: {other:?}"),
    };
    assert_eq!(err("transposed.npy"), NpyError::FortranOrder);
    assert_eq!(
        err("bigendian.npy"),
        NpyError::UnsupportedDtype {
            descr: ">f8".into()
        }
    );
    assert_eq!(
        err("float32.npy"),
        NpyError::UnsupportedDtype {
            descr: "<f4".into()
        }
    );
    assert_eq!(
        err("rank3.npy"),
        NpyError::UnsupportedRank {
            shape: vec![1, 2, 3]
        }
    );
}

#[test]
fn venv_key_and_location() {
    assert_eq!(peer::venv_key(&["numpy"]), "numpy");
    assert_eq!(peer::venv_key(&["scipy", "numpy", "numpy"]), "numpy+scipy");
    assert_eq!(peer::venv_key(&["numpy==1.26.4"]), "numpy__1.26.4");
    let root = peer::venv_root();
    assert!(root.ends_with("peer-venvs"), "{}", root.display());
    // The running test binary lives in the same cargo target directory.
    let exe = std::env::current_exe().unwrap();
    assert!(
        exe.starts_with(root.parent().unwrap()),
        "{} vs {}",
        exe.display(),
        root.display()
    );
}
