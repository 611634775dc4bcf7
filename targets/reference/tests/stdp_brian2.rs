//! Peer check of the float64 STDP twin against Brian2 2.9 (numpy runtime
//! target, event-driven traces updated from `lastupdate` at each event).
//!
//! The venv (`brian2`, `numpy<2.4`) is created once under
//! `<workspace>/target/peer-venvs/brian2`, guarded by a lock file so that
//! parallel test threads and processes do not collide. If pip fails the test
//! fails (it never skips).
//!
//! Same-step events: the Rust twin processes a post spike before a pre spike
//! of the same step. Brian2 runs the `pre` pathway before the `post`
//! pathway by default; the script sets `S.post.order = -1` so that the post
//! pathway runs first, and one hand-made train pair has coincident spikes to
//! check that convention. The seeded random trains exclude coincidences
//! anyway, so they test the rules independently of the ordering question.

use spikeforge_reference::stdp::{run_pair, run_triplet, PairStdp, Pairing, TripletStdp, WeightDependence};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const REL_TOL: f64 = 1e-9;

static VENV_LOCK: Mutex<()> = Mutex::new(());

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peer-venvs")
}

/// Create (once) the Brian2 venv; returns its python.
fn brian2_python() -> PathBuf {
    let _g = VENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = venv_dir();
    std::fs::create_dir_all(&root).expect("create target/peer-venvs");
    let venv = root.join("brian2");
    let py = venv.join("bin/python");
    let stamp = venv.join(".spikeforge-ready");
    if stamp.exists() {
        return py;
    }
    // cross-process lock: create_new on a lock file, stale after 20 min
    let lock = root.join("brian2.lock");
    let start = Instant::now();
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                break;
            }
            Err(_) => {
                if stamp.exists() {
                    return py;
                }
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .map(|m| m.elapsed().unwrap_or_default() > Duration::from_secs(1200))
                    .unwrap_or(false);
                if stale {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                assert!(start.elapsed() < Duration::from_secs(1800), "timed out waiting for {}", lock.display());
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    let result = (|| -> Result<(), String> {
        if stamp.exists() {
            return Ok(());
        }
        if !py.exists() {
            let st = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().map_err(|e| e.to_string())?;
            if !st.success() {
                return Err(format!("python3 -m venv failed: {st}"));
            }
        }
        let out = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "brian2", "numpy<2.4"])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "pip install brian2 'numpy<2.4' failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&stamp, "ok\n").map_err(|e| e.to_string())?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&lock);
    if let Err(e) = result {
        panic!("cannot create the Brian2 venv: {e}");
    }
    py
}

const SCRIPT: &str = r#"
import json, sys
import numpy as np
import brian2 as b2
from brian2 import ms
b2.prefs.codegen.target = 'numpy'
b2.prefs.logging.console_log_level = 'ERROR'
cfg = json.load(sys.stdin)
dt = cfg['dt']
b2.defaultclock.dt = dt * ms
trains = cfg['trains']
n = len(trains)
def group(which):
    idx, times = [], []
    for i, tr in enumerate(trains):
        for s in tr[which]:
            idx.append(i); times.append(s * dt)
    return b2.SpikeGeneratorGroup(n, np.array(idx, dtype=int), np.array(times) * ms)
pre = group('pre'); post = group('post')
p = cfg['params']
ns = {k: v for k, v in p.items()}
for k in list(ns):
    if k.startswith('tau'):
        ns[k] = ns[k] * ms
if cfg['rule'] == 'pair':
    model = '''w : 1
    dr/dt = -r/tau_plus : 1 (event-driven)
    do/dt = -o/tau_minus : 1 (event-driven)'''
    if cfg['dep'] == 'add':
        on_pre = 'w = clip(w - a_minus*o, w_min, w_max)\nr += 1'
        on_post = 'w = clip(w + a_plus*r, w_min, w_max)\no += 1'
    else:
        on_pre = 'w = clip(w - (w - w_min)*a_minus*o, w_min, w_max)\nr += 1'
        on_post = 'w = clip(w + (w_max - w)*a_plus*r, w_min, w_max)\no += 1'
else:
    model = '''w : 1
    dr1/dt = -r1/tau_plus : 1 (event-driven)
    dr2/dt = -r2/tau_x : 1 (event-driven)
    do1/dt = -o1/tau_minus : 1 (event-driven)
    do2/dt = -o2/tau_y : 1 (event-driven)'''
    on_pre = 'w = clip(w - o1*(a2_minus + a3_minus*r2), w_min, w_max)\nr1 += 1\nr2 += 1'
    on_post = 'w = clip(w + r1*(a2_plus + a3_plus*o2), w_min, w_max)\no1 += 1\no2 += 1'
S = b2.Synapses(pre, post, model=model, on_pre=on_pre, on_post=on_post, namespace=ns)
S.connect(j='i')
S.post.order = -1
S.w = cfg['w0']
last = max(max(tr['pre'] + tr['post'] + [0]) for tr in trains)
b2.run((last + 2) * dt * ms)
print(json.dumps([float(x) for x in S.w[:]]))
"#;

fn brian2(
    rule: &str,
    dep: &str,
    params: serde_json::Value,
    trains: &[(Vec<i64>, Vec<i64>)],
    w0: f64,
    dt: f64,
) -> Vec<f64> {
    let py = brian2_python();
    let cfg = serde_json::json!({
        "rule": rule, "dep": dep, "params": params, "dt": dt, "w0": w0,
        "trains": trains.iter().map(|(a, b)| serde_json::json!({"pre": a, "post": b})).collect::<Vec<_>>(),
    });
    let mut child = Command::new(&py)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn brian2 python");
    child.stdin.take().unwrap().write_all(cfg.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "brian2 script failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad output {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// xorshift64* Bernoulli trains, no step with both a pre and a post spike.
fn random_trains(seed: u64, n_steps: i64, p_pre: f64, p_post: f64) -> (Vec<i64>, Vec<i64>) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut u = || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut pre, mut post) = (Vec::new(), Vec::new());
    for t in 1..n_steps {
        let a = u() < p_pre;
        let b = u() < p_post;
        if a && !b {
            pre.push(t);
        } else if b && !a {
            post.push(t);
        }
    }
    (pre, post)
}

fn all_trains() -> Vec<(Vec<i64>, Vec<i64>)> {
    let mut v: Vec<_> = (1..=6u64).map(|k| random_trains(k, 2000, 0.02 + 0.005 * k as f64, 0.03)).collect();
    // hand-made: one pre-post pair, one post-pre pair, a burst, coincidences
    v.push((vec![10], vec![15]));
    v.push((vec![15], vec![10]));
    v.push((vec![5, 40, 41, 42, 90], vec![20, 21, 22, 60, 61, 62, 63]));
    v.push((vec![10, 30, 50, 51], vec![10, 30, 45, 51]));
    v
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn compare(what: &str, rust: &[f64], brian: &[f64]) {
    assert_eq!(rust.len(), brian.len());
    for (i, (r, b)) in rust.iter().zip(brian).enumerate() {
        assert!(rel(*r, *b) <= REL_TOL, "{what} train {i}: rust {r} brian2 {b} (rel {:e})", rel(*r, *b));
    }
}

fn pair_check(dep: WeightDependence, a_plus: f64, a_minus: f64) {
    let dt = 0.1;
    let rule = PairStdp {
        pairing: Pairing::AllToAll,
        weight_dependence: dep,
        tau_plus_ms: 16.8,
        tau_minus_ms: 33.7,
        a_plus,
        a_minus,
        w_min: 0.0,
        w_max: 1.0,
    };
    let trains = all_trains();
    let w0 = 0.5;
    let rust: Vec<f64> = trains.iter().map(|(a, b)| run_pair(&rule, a, b, w0, dt).unwrap().0).collect();
    // the weights must actually move and some must hit no bound
    assert!(rust.iter().all(|&w| w != w0), "{rust:?}");
    assert!(rust.iter().filter(|&&w| w > 0.0 && w < 1.0).count() >= 6, "{rust:?}");
    let params = serde_json::json!({
        "tau_plus": rule.tau_plus_ms, "tau_minus": rule.tau_minus_ms,
        "a_plus": a_plus, "a_minus": a_minus, "w_min": 0.0, "w_max": 1.0,
    });
    let d = if dep == WeightDependence::Additive { "add" } else { "mul" };
    let brian = brian2("pair", d, params, &trains, w0, dt);
    compare(&format!("pair {d}"), &rust, &brian);
}

#[test]
fn pair_additive_matches_brian2() {
    pair_check(WeightDependence::Additive, 0.006, 0.0035);
}

#[test]
fn pair_multiplicative_matches_brian2() {
    pair_check(WeightDependence::Multiplicative, 0.03, 0.02);
}

#[test]
fn triplet_additive_matches_brian2() {
    let dt = 0.1;
    // Pfister & Gerstner 2006, visual cortex, minimal all-to-all (amplitudes
    // scaled up so the trains move the weight visibly)
    let rule = TripletStdp {
        weight_dependence: WeightDependence::Additive,
        tau_plus_ms: 16.8,
        tau_minus_ms: 33.7,
        tau_x_ms: 101.0,
        tau_y_ms: 125.0,
        a2_plus: 5e-3,
        a2_minus: 7e-3,
        a3_plus: 6.2e-3,
        a3_minus: 2.3e-4,
        w_min: 0.0,
        w_max: 1.0,
    };
    let trains = all_trains();
    let w0 = 0.5;
    let rust: Vec<f64> = trains.iter().map(|(a, b)| run_triplet(&rule, a, b, w0, dt).unwrap().0).collect();
    assert!(rust.iter().all(|&w| w != w0), "{rust:?}");
    assert!(rust.iter().filter(|&&w| w > 0.0 && w < 1.0).count() >= 6, "{rust:?}");
    let params = serde_json::json!({
        "tau_plus": rule.tau_plus_ms, "tau_minus": rule.tau_minus_ms, "tau_x": rule.tau_x_ms, "tau_y": rule.tau_y_ms,
        "a2_plus": rule.a2_plus, "a2_minus": rule.a2_minus, "a3_plus": rule.a3_plus, "a3_minus": rule.a3_minus,
        "w_min": 0.0, "w_max": 1.0,
    });
    let brian = brian2("triplet", "add", params, &trains, w0, dt);
    compare("triplet add", &rust, &brian);
}
