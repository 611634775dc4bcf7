//! A result with every kind of record, used by several test files.
#![allow(dead_code)]

use spikeforge_results::{RunResult, SpikeRecord, StateRecord, WeightRecord};
use std::path::{Path, PathBuf};

/// A path to a fresh directory or file (nothing there yet) under cargo's per-target test scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if d.is_dir() {
        std::fs::remove_dir_all(&d).unwrap();
    } else if d.exists() {
        std::fs::remove_file(&d).unwrap();
    }
    d
}

/// Every file under `dir` (relative path, bytes), sorted.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub fn sample() -> RunResult {
    let mut r = RunResult {
        network: "stdp_pair \"demo\"".to_string(),
        backend: "emu/loihi".to_string(),
        dt_ms: 0.1,
        n_steps: 50,
        ..RunResult::default()
    };
    r.spikes.push(SpikeRecord {
        population: "exc".to_string(),
        neurons: vec![0, 1, 2, 3],
        events: vec![(1, 0), (1, 3), (7, 1), (7, 2), (20, 0), (49, 3), (50, 3)],
    });
    r.spikes.push(SpikeRecord {
        population: "in/put äö".to_string(),
        neurons: vec![10, 12],
        events: vec![(3, 12), (4, 10)],
    });
    r.spikes.push(SpikeRecord {
        population: "silent".to_string(),
        neurons: vec![],
        events: vec![],
    });
    r.states.push(StateRecord {
        population: "exc".to_string(),
        variable: "v".to_string(),
        unit: "lava".to_string(),
        neurons: vec![0, 2, 3],
        steps: vec![10, 20],
        values: vec![-1.0, 0.0, 1.0 / 3.0, 5e-324, -0.0, f64::MAX],
        raw: Some(vec![i64::MIN, 0, 1, -(1 << 40), 2, i64::MAX]),
        raw_format: Some("i24".to_string()),
    });
    r.states.push(StateRecord {
        population: "exc".to_string(),
        variable: "u".to_string(),
        unit: "nA".to_string(),
        neurons: vec![1],
        steps: vec![1, 2, 3],
        values: vec![0.1, 0.2, 0.30000000000000004],
        raw: None,
        raw_format: None,
    });
    r.weights.push(WeightRecord {
        projection: "exc->exc".to_string(),
        synapses: vec![(0, 1), (1, 0), (2, 3)],
        steps: vec![25, 50],
        values: vec![0.5, 0.25, 1.0, 0.625, 0.0, 1.0],
        raw: Some(vec![128, 64, 256, 160, 0, 256]),
        raw_format: Some("u8 x 2^-8".to_string()),
    });
    r.weights.push(WeightRecord {
        projection: "never_sampled".to_string(),
        synapses: vec![(0, 0)],
        steps: vec![],
        values: vec![],
        raw: None,
        raw_format: None,
    });
    r.counters.insert("ring_buffer_saturations".to_string(), 3);
    r.counters.insert("dropped_packets".to_string(), u64::MAX);
    r
}
