//! NIR round trip peer check: graphs written by Python's `nir` package
//! (feed-forward CubaLIF, recurrent LIF, conv + pooling + flatten) are
//! imported, validated and exported by spikeforge; `nir.read()` accepts each
//! export and every node, edge and array (values and shapes) equals the
//! original. The venv (nir 1.0.8, h5py, numpy) is created once under the
//! target directory; if it cannot be created the test fails, it never skips.

use spikeforge_compiler::import::nir::import_nir;
use spikeforge_compiler::import::nir_export::export_nir_file;
use spikeforge_compiler::validate::validate;
use spikeforge_results::peer::{python_with, run_python};

const GENERATE: &str = r#"
import sys, numpy as np, nir
out = sys.argv[1]
rng = np.random.default_rng(7)
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
pos = lambda *s: (0.001 + rng.random(s) * 0.02).astype(np.float32)
ff = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([4])),
        "affine": nir.Affine(weight=f32(3, 4), bias=f32(3)),
        "lif": nir.CubaLIF(tau_syn=pos(3), tau_mem=pos(3), r=f32(3), v_leak=f32(3), v_threshold=np.abs(f32(3)) + 0.5, v_reset=f32(3), w_in=f32(3)),
        "output": nir.Output(output_type=np.array([3])),
    },
    edges=[("input", "affine"), ("affine", "lif"), ("lif", "output")],
)
nir.write(f"{out}/ff_cubalif.nir", ff)
rec = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([2])),
        "w_in": nir.Linear(weight=f32(3, 2)),
        "lif": nir.LIF(tau=pos(3), r=f32(3), v_leak=f32(3), v_threshold=np.abs(f32(3)) + 0.5, v_reset=np.zeros(3, np.float32)),
        "w_rec": nir.Linear(weight=f32(3, 3)),
        "output": nir.Output(output_type=np.array([3])),
    },
    edges=[("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
)
nir.write(f"{out}/recurrent.nir", rec)
conv = nir.NIRGraph(
    nodes={
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=f32(4, 2, 3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=f32(4)),
        "if1": nir.IF(r=np.ones((4, 8, 8), np.float32), v_threshold=np.ones((4, 8, 8), np.float32), v_reset=np.zeros((4, 8, 8), np.float32)),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=f32(5, 64), bias=f32(5)),
        "li": nir.LI(tau=pos(5), r=f32(5), v_leak=f32(5)),
        "output": nir.Output(output_type=np.array([5])),
    },
    edges=[("input", "conv"), ("conv", "if1"), ("if1", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "li"), ("li", "output")],
)
nir.write(f"{out}/conv.nir", conv)
print("written")
"#;

const COMPARE: &str = r#"
import sys, numpy as np, nir
def arrays(node):
    out = {}
    for k, v in vars(node).items():
        if k == "metadata" or v is None:
            continue
        if isinstance(v, dict):
            for kk, vv in v.items():
                out[f"{k}.{kk}"] = np.asarray(vv)
        elif isinstance(v, (np.ndarray, int, float, tuple, list, np.integer, np.floating)):
            out[k] = np.asarray(v)
        elif isinstance(v, str):
            out[k] = v
    return out
bad = []
for orig, exp in zip(sys.argv[1::2], sys.argv[2::2]):
    a, b = nir.read(orig), nir.read(exp)
    if sorted(a.nodes) != sorted(b.nodes):
        bad.append(f"{orig}: nodes {sorted(a.nodes)} vs {sorted(b.nodes)}")
        continue
    if sorted(map(tuple, a.edges)) != sorted(map(tuple, b.edges)):
        bad.append(f"{orig}: edges {sorted(a.edges)} vs {sorted(b.edges)}")
    for name in a.nodes:
        na, nb = a.nodes[name], b.nodes[name]
        if type(na) is not type(nb):
            bad.append(f"{orig}: {name}: {type(na).__name__} vs {type(nb).__name__}")
            continue
        xa, xb = arrays(na), arrays(nb)
        if sorted(xa) != sorted(xb):
            bad.append(f"{orig}: {name}: fields {sorted(xa)} vs {sorted(xb)}")
            continue
        for k in xa:
            va, vb = xa[k], xb[k]
            same = va == vb if isinstance(va, str) else (va.shape == vb.shape and np.array_equal(va, vb))
            if not same:
                bad.append(f"{orig}: {name}.{k}: {va!r} vs {vb!r}")
    print(f"{orig}: {len(a.nodes)} nodes, {len(a.edges)} edges compared")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("OK")
"#;

#[test]
fn python_nir_graphs_round_trip_through_spikeforge() {
    let python = python_with(&["nir==1.0.8", "h5py", "numpy"]);
    let dir = std::env::temp_dir().join(format!("spikeforge-nir-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = run_python(&python, GENERATE, &[dir.to_str().unwrap()]);
    assert!(out.contains("written"), "{out}");
    let mut pairs = Vec::new();
    for name in ["ff_cubalif", "recurrent", "conv"] {
        let src = dir.join(format!("{name}.nir"));
        let (net, _) = import_nir(&src, 1.0).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = validate(&net);
        assert!(!d.has_errors(), "{name}: {d}");
        let dst = dir.join(format!("{name}.spikeforge.nir"));
        export_nir_file(&net, &dst).unwrap_or_else(|e| panic!("{name}: {e}"));
        pairs.push(src.to_str().unwrap().to_string());
        pairs.push(dst.to_str().unwrap().to_string());
    }
    let report = run_python(&python, COMPARE, &pairs);
    assert!(report.trim_end().ends_with("OK"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
