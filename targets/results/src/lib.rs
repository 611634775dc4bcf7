//! # spikeforge-results
//!
//! What a run produced, in one format for every backend (the emulator, the
//! float64 reference, later a board): spike events, sampled state variables
//! and weights. In memory it is a [`RunResult`]; on disk a directory with
//! `summary.json` and NumPy `.npy` arrays (see `docs/run-output.md`).
//! Wall-clock timings never go into it (they go to `timing.json`), so two
//! runs of the same program give byte-identical directories.
//!
//! * [`RunResult::write_dir`] / [`RunResult::read_dir`]: the directory form.
//! * [`RunResult::summary_text`]: a one-screen text summary for the CLI.
//! * [`compare_exact`], [`spike_agreement`]: comparing two results.
//! * [`npy`]: the self-contained `.npy` writer and reader underneath.
//! * [`names`]: how user-given names become file names.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod compare;
mod dir;
mod error;
mod json;
pub mod names;
pub mod npy;
#[doc(hidden)]
pub mod peer;
mod text;

pub use compare::{compare_exact, spike_agreement, AgreementError, Mismatch, SpikeAgreement};
pub use dir::{
    FileNames, FORMAT_NAME, FORMAT_VERSION, SPIKES_DIR, STATES_DIR, SUMMARY_FILE, WEIGHTS_DIR,
};
pub use error::{NpyError, ResultsError};

/// Everything one run recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunResult {
    /// Network name.
    pub network: String,
    /// Which backend produced it, e.g. `emu/spinnaker`, `emu/loihi`, `reference`.
    pub backend: String,
    /// Time step, ms.
    pub dt_ms: f64,
    /// Steps simulated; steps are numbered 1..=n_steps.
    pub n_steps: u32,
    pub spikes: Vec<SpikeRecord>,
    pub states: Vec<StateRecord>,
    pub weights: Vec<WeightRecord>,
    /// Event counters (e.g. `ring_buffer_saturations`), by name.
    pub counters: BTreeMap<String, u64>,
}

/// Spikes of (some) neurons of one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SpikeRecord {
    pub population: String,
    /// Recorded neuron indices (all neurons when the IR asked for all).
    pub neurons: Vec<u32>,
    /// `(step, neuron)` pairs sorted by step, then neuron.
    pub events: Vec<(u32, u32)>,
}

/// A state variable sampled every `every_n_steps` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StateRecord {
    pub population: String,
    /// `v`, `i_syn_e`, `i_syn_i`, `u`, ...
    pub variable: String,
    /// Physical unit of `values` (`mV`, `nA`) or `lava` for Lava integers.
    pub unit: String,
    pub neurons: Vec<u32>,
    /// Steps at which the samples were taken (state after that step).
    pub steps: Vec<u32>,
    /// Row-major `[sample][neuron]`, in `unit`.
    pub values: Vec<f64>,
    /// The fixed-point words behind `values`, same layout, when the backend
    /// is fixed-point (`raw_format` says which, e.g. `s16.15`, `i24`).
    pub raw: Option<Vec<i64>>,
    pub raw_format: Option<String>,
}

/// The weights of one projection, sampled every `every_n_steps` steps or at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WeightRecord {
    pub projection: String,
    /// `(pre, post)` of every synapse, in the order of the columns of `values`.
    pub synapses: Vec<(u32, u32)>,
    /// Steps at which the samples were taken (weights after that step).
    pub steps: Vec<u32>,
    /// Row-major `[sample][synapse]`, in the IR's weight units.
    pub values: Vec<f64>,
    /// The fixed-point words behind `values`, when fixed-point.
    pub raw: Option<Vec<i64>>,
    pub raw_format: Option<String>,
}

/// Minimum, mean and maximum of one weight sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightStats {
    /// The step of the sample.
    pub step: u32,
    pub min: f64,
    /// Sum in synapse order divided by the number of synapses.
    pub mean: f64,
    pub max: f64,
}

impl RunResult {
    /// Writes the result as a run-output directory (`summary.json`,
    /// `spikes/`, `states/`, `weights/`; see `docs/run-output.md`),
    /// creating `dir` if needed. Everything is validated before anything is
    /// written. `*.npy` files in the three subdirectories that this result
    /// does not produce (left from an earlier run) are removed; other files
    /// (such as `timing.json`) are left alone. `summary.json` is written
    /// last, through a rename.
    pub fn write_dir(&self, dir: impl AsRef<Path>) -> Result<(), ResultsError> {
        dir::write_dir(self, dir.as_ref())
    }

    /// Reads a run-output directory written by [`RunResult::write_dir`]
    /// (or by anything following `docs/run-output.md`).
    pub fn read_dir(dir: impl AsRef<Path>) -> Result<RunResult, ResultsError> {
        dir::read_dir(dir.as_ref())
    }

    /// The relative file names [`RunResult::write_dir`] uses for each record.
    pub fn file_names(&self) -> FileNames {
        dir::file_names(self)
    }

    /// `n_steps * dt_ms`.
    pub fn duration_ms(&self) -> f64 {
        f64::from(self.n_steps) * self.dt_ms
    }

    /// The first spike record of `population`.
    pub fn spike_record(&self, population: &str) -> Option<&SpikeRecord> {
        self.spikes.iter().find(|s| s.population == population)
    }

    /// The first state record of `variable` of `population`.
    pub fn state_record(&self, population: &str, variable: &str) -> Option<&StateRecord> {
        self.states
            .iter()
            .find(|s| s.population == population && s.variable == variable)
    }

    /// The first weight record of `projection`.
    pub fn weight_record(&self, projection: &str) -> Option<&WeightRecord> {
        self.weights.iter().find(|w| w.projection == projection)
    }

    /// A one-screen plain-text summary for the CLI: the run, spike counts
    /// and mean rates per population, state records, final-weight
    /// statistics per projection and the counters (each section cut to a
    /// few rows).
    pub fn summary_text(&self) -> String {
        text::summary_text(self)
    }
}

impl SpikeRecord {
    /// Number of spike events.
    pub fn n_spikes(&self) -> usize {
        self.events.len()
    }

    /// Mean firing rate over the recorded neurons, Hz:
    /// `n_spikes / (neurons.len() * n_steps * dt_ms / 1000)`. `None` when
    /// there are no recorded neurons or the duration is not positive.
    pub fn mean_rate_hz(&self, dt_ms: f64, n_steps: u32) -> Option<f64> {
        let duration_ms = f64::from(n_steps) * dt_ms;
        if self.neurons.is_empty() || duration_ms.is_nan() || duration_ms <= 0.0 {
            return None;
        }
        Some(self.events.len() as f64 * 1000.0 / (self.neurons.len() as f64 * duration_ms))
    }

    /// Spike count of each neuron of `neurons`, in that order (events of
    /// neurons not listed are not counted).
    pub fn counts_per_neuron(&self) -> Vec<u64> {
        let index: BTreeMap<u32, usize> = self
            .neurons
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i))
            .collect();
        let mut counts = vec![0u64; self.neurons.len()];
        for (_, n) in &self.events {
            if let Some(&i) = index.get(n) {
                counts[i] += 1;
            }
        }
        counts
    }
}

impl StateRecord {
    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.steps.len()
    }
}

impl WeightRecord {
    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.steps.len()
    }

    /// Statistics of the last sample; `None` without samples or synapses
    /// (or when `values` is shorter than the last row). A NaN weight makes
    /// all three NaN.
    pub fn final_stats(&self) -> Option<WeightStats> {
        let n = self.synapses.len();
        let step = *self.steps.last()?;
        if n == 0 {
            return None;
        }
        let start = (self.steps.len() - 1).checked_mul(n)?;
        let row = self.values.get(start..start.checked_add(n)?)?;
        if row.iter().any(|x| x.is_nan()) {
            return Some(WeightStats {
                step,
                min: f64::NAN,
                mean: f64::NAN,
                max: f64::NAN,
            });
        }
        let min = row.iter().copied().fold(f64::INFINITY, f64::min);
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = row.iter().sum::<f64>() / n as f64;
        Some(WeightStats {
            step,
            min,
            mean,
            max,
        })
    }
}
