//! The on-disk form of a [`RunResult`]: `summary.json` plus `.npy` arrays.
//! The layout is documented in `docs/run-output.md`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{show_shape, NpyError, ResultsError};
use crate::names::{assign, is_safe_file_name, sanitize, Wanted};
use crate::npy::{self, DType, NpyArray, NpyData};
use crate::{RunResult, SpikeRecord, StateRecord, WeightRecord};

/// `format` in every `summary.json`.
pub const FORMAT_NAME: &str = "spikeforge-run-output";
/// `format_version` this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The summary file's name inside a run-output directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// Subdirectory of spike arrays.
pub const SPIKES_DIR: &str = "spikes";
/// Subdirectory of state arrays.
pub const STATES_DIR: &str = "states";
/// Subdirectory of weight arrays.
pub const WEIGHTS_DIR: &str = "weights";

#[derive(Serialize, Deserialize)]
struct Summary {
    format: String,
    format_version: u32,
    network: String,
    backend: String,
    dt_ms: f64,
    n_steps: u32,
    /// `n_steps * dt_ms`; informational.
    duration_ms: Option<f64>,
    counters: BTreeMap<String, u64>,
    spikes: Vec<SpikeEntry>,
    states: Vec<StateEntry>,
    weights: Vec<WeightEntry>,
}

#[derive(Serialize, Deserialize)]
struct SpikeEntry {
    population: String,
    file: String,
    n_neurons: u64,
    neurons: Vec<u32>,
    n_spikes: u64,
    /// Informational.
    mean_rate_hz: Option<f64>,
}

#[derive(Serialize, Deserialize)]
struct StateEntry {
    population: String,
    variable: String,
    unit: String,
    n_neurons: u64,
    neurons: Vec<u32>,
    n_samples: u64,
    raw_format: Option<String>,
    files: StateFiles,
}

#[derive(Serialize, Deserialize)]
struct StateFiles {
    values: String,
    steps: String,
    raw: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WeightEntry {
    projection: String,
    n_synapses: u64,
    n_samples: u64,
    raw_format: Option<String>,
    files: WeightFiles,
    /// Informational.
    final_weights: Option<FinalWeights>,
}

#[derive(Serialize, Deserialize)]
struct WeightFiles {
    values: String,
    synapses: String,
    steps: String,
    raw: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct FinalWeights {
    step: u32,
    min: Option<f64>,
    mean: Option<f64>,
    max: Option<f64>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The file stems a result gets: one per spike, state and weight record.
struct Plan {
    spikes: Vec<String>,
    states: Vec<String>,
    weights: Vec<String>,
}

const STATE_SUFFIXES: &[&str] = &[".npy", ".steps.npy", ".raw.npy"];
const WEIGHT_SUFFIXES: &[&str] = &[".npy", ".synapses.npy", ".steps.npy", ".raw.npy"];

fn plan(r: &RunResult) -> Plan {
    let spikes: Vec<Wanted> = r
        .spikes
        .iter()
        .map(|s| Wanted {
            base: sanitize(&s.population),
            exact: sanitize(&s.population) == s.population,
        })
        .collect();
    let states: Vec<Wanted> = r
        .states
        .iter()
        .map(|s| {
            let (p, v) = (sanitize(&s.population), sanitize(&s.variable));
            Wanted {
                exact: p == s.population && v == s.variable,
                base: format!("{p}.{v}"),
            }
        })
        .collect();
    let weights: Vec<Wanted> = r
        .weights
        .iter()
        .map(|w| Wanted {
            base: sanitize(&w.projection),
            exact: sanitize(&w.projection) == w.projection,
        })
        .collect();
    Plan {
        spikes: assign(&spikes, &[".npy"]),
        states: assign(&states, STATE_SUFFIXES),
        weights: assign(&weights, WEIGHT_SUFFIXES),
    }
}

fn to_i32(v: u32, record: &str, what: &str) -> Result<i32, ResultsError> {
    i32::try_from(v).map_err(|_| {
        ResultsError::invalid(
            record,
            format!(
                "{what} {v} does not fit the file's int32 (max {})",
                i32::MAX
            ),
        )
    })
}

fn check_grid(
    record: &str,
    rows: usize,
    cols: usize,
    what_cols: &str,
    values: usize,
    raw: Option<usize>,
) -> Result<(), ResultsError> {
    let need = rows.checked_mul(cols).ok_or_else(|| {
        ResultsError::invalid(
            record,
            format!("{rows} samples x {cols} {what_cols} overflows"),
        )
    })?;
    if values != need {
        return Err(ResultsError::invalid(
            record,
            format!("values has {values} elements, expected {rows} samples x {cols} {what_cols} = {need}"),
        ));
    }
    if let Some(raw) = raw {
        if raw != need {
            return Err(ResultsError::invalid(
                record,
                format!(
                    "raw has {raw} elements, expected {rows} samples x {cols} {what_cols} = {need}"
                ),
            ));
        }
    }
    Ok(())
}

fn spike_label(s: &SpikeRecord) -> String {
    format!("spikes of population '{}'", s.population)
}
fn state_label(s: &StateRecord) -> String {
    format!("state '{}' of population '{}'", s.variable, s.population)
}
fn weight_label(w: &WeightRecord) -> String {
    format!("weights of projection '{}'", w.projection)
}

fn create_dir(path: &Path) -> Result<(), ResultsError> {
    std::fs::create_dir_all(path).map_err(|e| ResultsError::io(path, e))
}

fn rel(sub: &str, file: &str) -> String {
    format!("{sub}/{file}")
}

/// Removes `*.npy` files in `dir` that are not in `keep` (left over from an
/// earlier result written to the same directory).
fn remove_stale(dir: &Path, keep: &BTreeSet<String>) -> Result<(), ResultsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ResultsError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ResultsError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".npy") && !keep.contains(name) {
            let path = entry.path();
            let is_file = entry
                .file_type()
                .map_err(|e| ResultsError::io(&path, e))?
                .is_file();
            if is_file {
                std::fs::remove_file(&path).map_err(|e| ResultsError::io(&path, e))?;
            }
        }
    }
    Ok(())
}

pub(crate) fn write_dir(r: &RunResult, dir: &Path) -> Result<(), ResultsError> {
    if !r.dt_ms.is_finite() {
        return Err(ResultsError::invalid(
            "the run",
            format!("dt_ms is {}, not a finite number", r.dt_ms),
        ));
    }
    // Validate everything before touching the file system.
    let mut spike_rows: Vec<Vec<i32>> = Vec::with_capacity(r.spikes.len());
    for s in &r.spikes {
        let label = spike_label(s);
        let mut flat = Vec::with_capacity(s.events.len() * 2);
        for &(step, neuron) in &s.events {
            flat.push(to_i32(step, &label, "step")?);
            flat.push(to_i32(neuron, &label, "neuron")?);
        }
        spike_rows.push(flat);
    }
    for s in &r.states {
        check_grid(
            &state_label(s),
            s.steps.len(),
            s.neurons.len(),
            "neurons",
            s.values.len(),
            s.raw.as_ref().map(Vec::len),
        )?;
    }
    let mut synapse_rows: Vec<Vec<i32>> = Vec::with_capacity(r.weights.len());
    for w in &r.weights {
        let label = weight_label(w);
        check_grid(
            &label,
            w.steps.len(),
            w.synapses.len(),
            "synapses",
            w.values.len(),
            w.raw.as_ref().map(Vec::len),
        )?;
        let mut flat = Vec::with_capacity(w.synapses.len() * 2);
        for &(pre, post) in &w.synapses {
            flat.push(to_i32(pre, &label, "pre index")?);
            flat.push(to_i32(post, &label, "post index")?);
        }
        synapse_rows.push(flat);
    }

    let plan = plan(r);
    let (spikes_dir, states_dir, weights_dir) = (
        dir.join(SPIKES_DIR),
        dir.join(STATES_DIR),
        dir.join(WEIGHTS_DIR),
    );
    create_dir(dir)?;
    create_dir(&spikes_dir)?;
    create_dir(&states_dir)?;
    create_dir(&weights_dir)?;

    let mut keep_spikes = BTreeSet::new();
    let mut keep_states = BTreeSet::new();
    let mut keep_weights = BTreeSet::new();
    let mut summary = Summary {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        network: r.network.clone(),
        backend: r.backend.clone(),
        dt_ms: r.dt_ms,
        n_steps: r.n_steps,
        duration_ms: finite(r.duration_ms()),
        counters: r.counters.clone(),
        spikes: Vec::new(),
        states: Vec::new(),
        weights: Vec::new(),
    };

    for ((s, stem), flat) in r.spikes.iter().zip(&plan.spikes).zip(&spike_rows) {
        let file = format!("{stem}.npy");
        npy::write(&spikes_dir.join(&file), &[s.events.len(), 2], flat)?;
        summary.spikes.push(SpikeEntry {
            population: s.population.clone(),
            file: rel(SPIKES_DIR, &file),
            n_neurons: s.neurons.len() as u64,
            neurons: s.neurons.clone(),
            n_spikes: s.events.len() as u64,
            mean_rate_hz: s.mean_rate_hz(r.dt_ms, r.n_steps).and_then(finite),
        });
        keep_spikes.insert(file);
    }

    for (s, stem) in r.states.iter().zip(&plan.states) {
        let shape = [s.steps.len(), s.neurons.len()];
        let values = format!("{stem}.npy");
        let steps = format!("{stem}.steps.npy");
        npy::write(&states_dir.join(&values), &shape, &s.values)?;
        npy::write(&states_dir.join(&steps), &[s.steps.len()], &s.steps)?;
        let raw = match &s.raw {
            Some(raw) => {
                let f = format!("{stem}.raw.npy");
                npy::write(&states_dir.join(&f), &shape, raw)?;
                keep_states.insert(f.clone());
                Some(rel(STATES_DIR, &f))
            }
            None => None,
        };
        summary.states.push(StateEntry {
            population: s.population.clone(),
            variable: s.variable.clone(),
            unit: s.unit.clone(),
            n_neurons: s.neurons.len() as u64,
            neurons: s.neurons.clone(),
            n_samples: s.steps.len() as u64,
            raw_format: s.raw_format.clone(),
            files: StateFiles {
                values: rel(STATES_DIR, &values),
                steps: rel(STATES_DIR, &steps),
                raw,
            },
        });
        keep_states.insert(values);
        keep_states.insert(steps);
    }

    for ((w, stem), flat) in r.weights.iter().zip(&plan.weights).zip(&synapse_rows) {
        let shape = [w.steps.len(), w.synapses.len()];
        let values = format!("{stem}.npy");
        let synapses = format!("{stem}.synapses.npy");
        let steps = format!("{stem}.steps.npy");
        npy::write(&weights_dir.join(&values), &shape, &w.values)?;
        npy::write(&weights_dir.join(&synapses), &[w.synapses.len(), 2], flat)?;
        npy::write(&weights_dir.join(&steps), &[w.steps.len()], &w.steps)?;
        let raw = match &w.raw {
            Some(raw) => {
                let f = format!("{stem}.raw.npy");
                npy::write(&weights_dir.join(&f), &shape, raw)?;
                keep_weights.insert(f.clone());
                Some(rel(WEIGHTS_DIR, &f))
            }
            None => None,
        };
        summary.weights.push(WeightEntry {
            projection: w.projection.clone(),
            n_synapses: w.synapses.len() as u64,
            n_samples: w.steps.len() as u64,
            raw_format: w.raw_format.clone(),
            files: WeightFiles {
                values: rel(WEIGHTS_DIR, &values),
                synapses: rel(WEIGHTS_DIR, &synapses),
                steps: rel(WEIGHTS_DIR, &steps),
                raw,
            },
            final_weights: w.final_stats().map(|st| FinalWeights {
                step: st.step,
                min: finite(st.min),
                mean: finite(st.mean),
                max: finite(st.max),
            }),
        });
        keep_weights.insert(values);
        keep_weights.insert(synapses);
        keep_weights.insert(steps);
    }

    remove_stale(&spikes_dir, &keep_spikes)?;
    remove_stale(&states_dir, &keep_states)?;
    remove_stale(&weights_dir, &keep_weights)?;

    let summary_path = dir.join(SUMMARY_FILE);
    let bytes = crate::json::to_summary_json(&summary).map_err(|e| ResultsError::Json {
        path: summary_path.clone(),
        source: e,
    })?;
    // Written last and renamed into place: a complete summary.json means a
    // complete directory.
    let tmp = dir.join(".summary.json.partial");
    std::fs::write(&tmp, &bytes).map_err(|e| ResultsError::io(&tmp, e))?;
    std::fs::rename(&tmp, &summary_path).map_err(|e| ResultsError::io(&summary_path, e))?;
    Ok(())
}

/// Resolves a file name from summary.json: `<sub>/<safe name>.npy` only.
fn resolve(dir: &Path, summary: &Path, sub: &str, name: &str) -> Result<PathBuf, ResultsError> {
    match name.strip_prefix(sub).and_then(|r| r.strip_prefix('/')) {
        Some(file) if is_safe_file_name(file) => Ok(dir.join(sub).join(file)),
        _ => Err(ResultsError::format(
            summary,
            format!("file name {name:?} is not of the form {sub}/<[A-Za-z0-9_.-]>.npy"),
        )),
    }
}

fn load(path: &Path) -> Result<NpyArray, ResultsError> {
    npy::read(path)
}

fn npy_err(path: &Path, e: NpyError) -> ResultsError {
    ResultsError::npy(path, e)
}

fn expect_shape(path: &Path, a: &NpyArray, want: &[usize]) -> Result<(), ResultsError> {
    if a.shape != want {
        return Err(npy_err(
            path,
            NpyError::WrongShape {
                expected: format!("{} (from summary.json)", show_shape(want)),
                found: a.shape.clone(),
            },
        ));
    }
    Ok(())
}

fn expect_dtype(path: &Path, a: &NpyArray, want: &[DType]) -> Result<(), ResultsError> {
    if !want.contains(&a.dtype()) {
        return Err(npy_err(
            path,
            NpyError::WrongDtype {
                expected: want.to_vec(),
                found: a.dtype(),
            },
        ));
    }
    Ok(())
}

fn to_usize(path: &Path, summary: &Path, what: &str, n: u64) -> Result<usize, ResultsError> {
    usize::try_from(n).map_err(|_| {
        ResultsError::format(
            summary,
            format!("{what} {n} too large for {}", path.display()),
        )
    })
}

/// Pairs from an int32 (N, 2) array, all non-negative.
fn read_pairs(path: &Path, rows: usize) -> Result<Vec<(u32, u32)>, ResultsError> {
    let a = load(path)?;
    expect_dtype(path, &a, &[DType::I4])?;
    expect_shape(path, &a, &[rows, 2])?;
    let v: Vec<i32> = a.into_vec().map_err(|e| npy_err(path, e))?;
    let mut out = Vec::with_capacity(rows);
    for (i, pair) in v.chunks_exact(2).enumerate() {
        let (x, y) = (pair[0], pair[1]);
        if x < 0 || y < 0 {
            return Err(ResultsError::format(
                path,
                format!("row {i} is [{x}, {y}]: expected non-negative indices"),
            ));
        }
        out.push((x as u32, y as u32));
    }
    Ok(out)
}

/// A 1-D steps array of `<u4` or non-negative `<i4`.
fn read_steps(path: &Path, n: usize) -> Result<Vec<u32>, ResultsError> {
    let a = load(path)?;
    expect_dtype(path, &a, &[DType::U4, DType::I4])?;
    expect_shape(path, &a, &[n])?;
    match a.data {
        NpyData::U4(v) => Ok(v),
        NpyData::I4(v) => v
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                u32::try_from(s).map_err(|_| {
                    ResultsError::format(path, format!("element {i} is {s}: expected a step >= 0"))
                })
            })
            .collect(),
        _ => Err(ResultsError::format(path, "unexpected dtype")),
    }
}

fn read_f64(path: &Path, shape: &[usize]) -> Result<Vec<f64>, ResultsError> {
    let a = load(path)?;
    expect_dtype(path, &a, &[DType::F8])?;
    expect_shape(path, &a, shape)?;
    a.into_vec().map_err(|e| npy_err(path, e))
}

fn read_i64(path: &Path, shape: &[usize]) -> Result<Vec<i64>, ResultsError> {
    let a = load(path)?;
    expect_dtype(path, &a, &[DType::I8])?;
    expect_shape(path, &a, shape)?;
    a.into_vec().map_err(|e| npy_err(path, e))
}

fn check_count(
    summary: &Path,
    what: &str,
    declared: u64,
    actual: usize,
) -> Result<(), ResultsError> {
    if declared != actual as u64 {
        return Err(ResultsError::format(
            summary,
            format!("{what} is {declared} but the list has {actual} entries"),
        ));
    }
    Ok(())
}

pub(crate) fn read_dir(dir: &Path) -> Result<RunResult, ResultsError> {
    let sp = dir.join(SUMMARY_FILE);
    let text = std::fs::read(&sp).map_err(|e| ResultsError::io(&sp, e))?;
    let s: Summary = serde_json::from_slice(&text).map_err(|e| ResultsError::Json {
        path: sp.clone(),
        source: e,
    })?;
    if s.format != FORMAT_NAME {
        return Err(ResultsError::format(
            &sp,
            format!("format is {:?} (expected {FORMAT_NAME:?})", s.format),
        ));
    }
    if s.format_version != FORMAT_VERSION {
        return Err(ResultsError::format(
            &sp,
            format!(
                "format_version is {} (this reader knows {FORMAT_VERSION})",
                s.format_version
            ),
        ));
    }
    let mut r = RunResult {
        network: s.network,
        backend: s.backend,
        dt_ms: s.dt_ms,
        n_steps: s.n_steps,
        counters: s.counters,
        ..RunResult::default()
    };
    for e in s.spikes {
        let path = resolve(dir, &sp, SPIKES_DIR, &e.file)?;
        check_count(
            &sp,
            &format!("n_neurons of spikes '{}'", e.population),
            e.n_neurons,
            e.neurons.len(),
        )?;
        let n = to_usize(&path, &sp, "n_spikes", e.n_spikes)?;
        let events = read_pairs(&path, n)?;
        r.spikes.push(SpikeRecord {
            population: e.population,
            neurons: e.neurons,
            events,
        });
    }
    for e in s.states {
        let label = format!("state '{}' of '{}'", e.variable, e.population);
        check_count(
            &sp,
            &format!("n_neurons of {label}"),
            e.n_neurons,
            e.neurons.len(),
        )?;
        let values_path = resolve(dir, &sp, STATES_DIR, &e.files.values)?;
        let steps_path = resolve(dir, &sp, STATES_DIR, &e.files.steps)?;
        let samples = to_usize(&steps_path, &sp, "n_samples", e.n_samples)?;
        let shape = [samples, e.neurons.len()];
        let steps = read_steps(&steps_path, samples)?;
        let values = read_f64(&values_path, &shape)?;
        let raw = match &e.files.raw {
            Some(f) => Some(read_i64(&resolve(dir, &sp, STATES_DIR, f)?, &shape)?),
            None => None,
        };
        r.states.push(StateRecord {
            population: e.population,
            variable: e.variable,
            unit: e.unit,
            neurons: e.neurons,
            steps,
            values,
            raw,
            raw_format: e.raw_format,
        });
    }
    for e in s.weights {
        let values_path = resolve(dir, &sp, WEIGHTS_DIR, &e.files.values)?;
        let syn_path = resolve(dir, &sp, WEIGHTS_DIR, &e.files.synapses)?;
        let steps_path = resolve(dir, &sp, WEIGHTS_DIR, &e.files.steps)?;
        let n_syn = to_usize(&syn_path, &sp, "n_synapses", e.n_synapses)?;
        let samples = to_usize(&steps_path, &sp, "n_samples", e.n_samples)?;
        let shape = [samples, n_syn];
        let synapses = read_pairs(&syn_path, n_syn)?;
        let steps = read_steps(&steps_path, samples)?;
        let values = read_f64(&values_path, &shape)?;
        let raw = match &e.files.raw {
            Some(f) => Some(read_i64(&resolve(dir, &sp, WEIGHTS_DIR, f)?, &shape)?),
            None => None,
        };
        r.weights.push(WeightRecord {
            projection: e.projection,
            synapses,
            steps,
            values,
            raw,
            raw_format: e.raw_format,
        });
    }
    Ok(r)
}

/// The relative file names `write_dir` gives each record of `r`, in record
/// order: spikes `[file]`, states `[values, steps, raw]`, weights
/// `[values, synapses, steps, raw]` (the `raw` entry is listed even when the
/// record has no raw words and no file is written for it).
pub fn file_names(r: &RunResult) -> FileNames {
    let plan = plan(r);
    FileNames {
        spikes: plan
            .spikes
            .iter()
            .map(|s| rel(SPIKES_DIR, &format!("{s}.npy")))
            .collect(),
        states: plan
            .states
            .iter()
            .map(|s| {
                STATE_SUFFIXES
                    .iter()
                    .map(|x| rel(STATES_DIR, &format!("{s}{x}")))
                    .collect()
            })
            .collect(),
        weights: plan
            .weights
            .iter()
            .map(|s| {
                WEIGHT_SUFFIXES
                    .iter()
                    .map(|x| rel(WEIGHTS_DIR, &format!("{s}{x}")))
                    .collect()
            })
            .collect(),
    }
}

/// The relative file names of each record, from [`RunResult::file_names`](crate::RunResult::file_names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNames {
    pub spikes: Vec<String>,
    pub states: Vec<Vec<String>>,
    pub weights: Vec<Vec<String>>,
}
