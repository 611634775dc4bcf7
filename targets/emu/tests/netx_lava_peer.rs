//! Peer check of the netx import against Lava itself: a network imported
//! from a lava-dl `.net` file runs on the emulator's `loihi` profile, and
//! Lava 0.10 (`PyLifModelBitAcc`, `PyDenseModelBitAcc`,
//! `PyDelayDenseModelBitAcc`) runs the same network, built from the file's
//! datasets with h5py the way netx builds it (`peer/netx_lava.py`), on the
//! same fixed spike raster. Every spike of every layer and the per-step `u`
//! and `v` of one layer must be equal.
//!
//! Networks: the fixtures `lava_oxford.net` (200 → 256 → 200),
//! `lava_mnist_trained.net` (784 → 128 → 64 → 10) and `lava_tiny.net`
//! (input 3×16×16 → conv 24×5×5 /2 → conv 36×5×5 /2, Lava's `Conv` with
//! `PyConvModelFixed`; the raster gives the input layer's spikes), and a
//! synthetic file
//! written here with h5py that covers what the fixtures do not: a negative
//! weight exponent from netx's weight-bit optimisation, per-output delays
//! (`DelayDense`), per-neuron biases and a dense layer without a neuron
//! group (netx's default neuron: `du = −1`, `dv = 4096`, `vth = 2^17`).
//! The emulator places at most 64 (synthetic: 16) neurons per core, so a
//! layer's input arrives from several cores and the weight exponent must
//! apply to the whole sum, as in Lava.
//!
//! The Lava venv (Python 3.10, `lava-nc==0.10.0`, `h5py`) is created once
//! under the cargo target directory's `peer-venvs/python3.10/`. The base interpreter is
//! `$SPIKEFORGE_PYTHON310`, else pyenv's 3.10.13. When it cannot be created
//! the test fails; it never skips.

use spikeforge_compiler::expand::Stimuli;
use spikeforge_compiler::import::netx::import_netx;
use spikeforge_compiler::ir::{self, recording::What};
use spikeforge_compiler::lower::{compile_with, CompileOptions, TargetProfile};
use spikeforge_emu::Emulator;
use spikeforge_results::RunResult;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = include_str!("peer/netx_lava.py");

fn shared() -> PathBuf {
    let p = std::env::var_os("SPIKEFORGE_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(p.join("fixtures/lava-dl").is_dir(), "shared fixtures not found at {} (set SPIKEFORGE_SHARED)", p.display());
    p
}

fn python310() -> PathBuf {
    if let Some(p) = std::env::var_os("SPIKEFORGE_PYTHON310") {
        return PathBuf::from(p);
    }
    let root = Command::new("pyenv").arg("root").output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let root = root.unwrap_or_else(|| panic!("peer check: no Python 3.10 (lava-nc 0.10.0 needs >=3.10,<3.11): set SPIKEFORGE_PYTHON310 or install pyenv's 3.10.13"));
    let p = Path::new(&root).join("versions/3.10.13/bin/python3.10");
    assert!(p.is_file(), "peer check: {} does not exist (lava-nc 0.10.0 needs Python 3.10); set SPIKEFORGE_PYTHON310", p.display());
    p
}

fn lava_python() -> PathBuf {
    let base = python310();
    spikeforge_results::peer::try_python_with_in(&spikeforge_results::peer::venv_root().join("python3.10"), base.as_os_str(), &["lava-nc==0.10.0", "h5py"])
        .unwrap_or_else(|e| panic!("peer check: could not provide a Python 3.10 venv with lava-nc 0.10.0 and h5py: {e}"))
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("spikeforge-netx-lava-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A deterministic raster (steps, neurons): a 64-bit LCG, spike when
/// `(x >> 33) % 1000 < per_mille`.
fn raster(steps: usize, neurons: usize, per_mille: u64, seed: u64) -> Vec<Vec<i64>> {
    let mut x = seed;
    (0..steps)
        .map(|_| {
            (0..neurons)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    i64::from((x >> 33) % 1000 < per_mille)
                })
                .collect()
        })
        .collect()
}

struct Lava {
    spikes: BTreeMap<String, Vec<(u32, u32)>>,
    probe: String,
    u: Vec<Vec<i64>>,
    v: Vec<Vec<i64>>,
}

fn run_lava(python: &Path, net: &Path, raster_npy: &Path, probe_layer: usize) -> Lava {
    let out = spikeforge_results::peer::run_python(python, SCRIPT, &[net.as_os_str(), raster_npy.as_os_str(), probe_layer.to_string().as_ref()]);
    let j: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("Lava script output is not JSON ({e}):\n{out}"));
    let spikes = j["spikes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_array().unwrap().iter().map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_u64().unwrap() as u32)).collect()))
        .collect();
    let mat = |v: &serde_json::Value| -> Vec<Vec<i64>> { v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()).collect() };
    Lava { spikes, probe: j["probe"].as_str().unwrap().to_string(), u: mat(&j["u"]), v: mat(&j["v"]) }
}

fn run_emulator(net_path: &Path, input: &str, rows: &[Vec<i64>], probe: &str, max_per_core: u32) -> RunResult {
    let (mut net, _notes) = import_netx(net_path).unwrap();
    let layers: Vec<String> = net.populations.iter().filter(|p| matches!(p.model, Some(ir::population::Model::NetxNeuron(_)))).map(|p| p.name.clone()).collect();
    for l in &layers {
        net.recordings.push(ir::Recording { what: Some(What::Spikes(ir::SpikeRecording { population: l.clone(), neurons: vec![] })) });
    }
    for var in ["u", "v"] {
        net.recordings.push(ir::Recording { what: Some(What::State(ir::StateRecording { population: probe.into(), variable: var.into(), neurons: vec![], every_n_steps: 1 })) });
    }
    let steps = rows.len() as u32;
    let mut stimuli = Stimuli::default();
    stimuli.insert_raster(input, rows).unwrap();
    let compiled = compile_with(&net, &CompileOptions { profile: TargetProfile::Loihi, max_neurons_per_core: max_per_core, n_steps: steps }, &stimuli)
        .unwrap_or_else(|d| panic!("compile failed: {:?}", d.0));
    assert!(!compiled.diagnostics.has_errors());
    let mut emu = Emulator::new(compiled.program, 1).unwrap();
    emu.run(steps, |_| {}).unwrap().0
}

/// Runs both and compares; returns the number of spikes compared.
fn compare(python: &Path, net_path: &Path, input: &str, rows: Vec<Vec<i64>>, probe_layer: usize, max_per_core: u32) -> usize {
    let dir = scratch();
    let npy = dir.join(format!("{}.npy", net_path.file_stem().unwrap().to_string_lossy()));
    let (t, n) = (rows.len(), rows[0].len());
    spikeforge_results::npy::write::<i64>(&npy, &[t, n], &rows.concat()).unwrap();
    let started = std::time::Instant::now();
    let lava = run_lava(python, net_path, &npy, probe_layer);
    let lava_time = started.elapsed();
    let emu = run_emulator(net_path, input, &rows, &lava.probe, max_per_core);
    let mut total = 0;
    assert_eq!(emu.spikes.len(), lava.spikes.len(), "layers recorded");
    for rec in &emu.spikes {
        let want = &lava.spikes[&rec.population];
        let mut got = rec.events.clone();
        got.sort_unstable();
        let mut want = want.clone();
        want.sort_unstable();
        if got != want {
            let first = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
            panic!(
                "{}: {} spikes of layer '{}' differ from Lava's {} (first difference at event {first}: emulator {:?}, Lava {:?})",
                net_path.display(),
                got.len(),
                rec.population,
                want.len(),
                got.get(first),
                want.get(first)
            );
        }
        total += got.len();
    }
    for (var, lv) in [("u", &lava.u), ("v", &lava.v)] {
        let s = emu.states.iter().find(|s| s.variable == var).unwrap();
        let raw = s.raw.as_ref().unwrap();
        let width = s.neurons.len();
        assert_eq!(lv.len(), t);
        for step in 0..t {
            assert_eq!(&raw[step * width..(step + 1) * width], &lv[step][..], "{}: {var} of '{}' after step {} differs from Lava's", net_path.display(), lava.probe, step + 1);
        }
    }
    eprintln!("{}: {total} spikes and {t} steps of u/v of '{}' equal Lava's (Lava run {:.1} s)", net_path.display(), lava.probe, lava_time.as_secs_f64());
    total
}

/// The synthetic netx file: input 40 → dense 30 (CUBA, small weights → netx
/// weight_exp −5, per-output delays 0..3, biases) → dense 20 without a neuron
/// group (netx's default neuron).
const SYNTH: &str = r#"
import sys, h5py, numpy as np
rng = np.random.default_rng(7)
with h5py.File(sys.argv[1], 'w') as f:
    l = f.create_group('layer/0')
    l['type'] = np.array([b'dense'], dtype='S10')
    l['shape'] = np.array([30])
    l['weight'] = rng.integers(-3, 5, size=(30, 40)).astype(np.float32)
    l['bias'] = rng.integers(-2, 6, size=30).astype(np.float32)
    l['delay'] = rng.integers(0, 4, size=30).astype(np.float32)
    n = l.create_group('neuron')
    n['type'] = 'CUBA'
    n['iDecay'] = 1024; n['vDecay'] = 256; n['vThMant'] = 40; n['refDelay'] = 1; n['gradedSpike'] = False
    l = f.create_group('layer/1')
    l['type'] = np.array([b'dense'], dtype='S10')
    l['shape'] = np.array([20])
    l['weight'] = rng.integers(-60, 61, size=(20, 30)).astype(np.float32)
"#;

#[test]
fn imported_netx_networks_run_bit_exact_with_lava() {
    let python = lava_python();
    let fx = shared().join("fixtures/lava-dl");
    let ox = compare(&python, &fx.join("lava_oxford.net"), "input", raster(80, 200, 10, 1), 0, 64);
    assert!(ox > 100, "oxford: only {ox} spikes; the comparison needs activity");
    let mn = compare(&python, &fx.join("lava_mnist_trained.net"), "input", raster(60, 784, 30, 2), 1, 64);
    assert!(mn > 1000, "mnist: only {mn} spikes");
    let tiny = compare(&python, &fx.join("lava_tiny.net"), "layer0", raster(40, 3 * 16 * 16, 100, 4), 0, 256);
    assert!(tiny > 1000, "tiny: only {tiny} spikes");
    let synth = scratch().join("synth.net");
    spikeforge_results::peer::run_python(&python, SYNTH, &[synth.as_os_str()]);
    let (net, _) = import_netx(&synth).unwrap();
    let l0 = net.projections.iter().find(|p| p.name == "layer0").unwrap();
    assert!(l0.loihi.unwrap().weight_exp < 0, "the synthetic layer must exercise a negative weight exponent");
    let sy = compare(&python, &synth, "input", raster(60, 40, 150, 3), 1, 16);
    assert!(sy > 50, "synthetic: only {sy} spikes");
}
