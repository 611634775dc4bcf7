//! The verification report (`report.json`) and its metrics.

use crate::tolerances::Tolerances;
use serde::{Deserialize, Serialize};

/// Schema name of `report.json`.
pub const REPORT_SCHEMA: &str = "spikeforge-verify/1";

fn sixteen() -> u32 {
    16
}

/// Whether a metric must stay below or above its tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// Pass when `value <= tolerance`.
    Max,
    /// Pass when `value >= tolerance`.
    Min,
}

/// One checked number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name, e.g. `dw_error_max`.
    pub name: String,
    /// What it measures: `projection 'ee'`, `population 'exc'`, `protocol stdp-window`.
    pub scope: String,
    /// Unit or normalisation, e.g. `fraction of w_max - w_min`.
    pub unit: String,
    pub value: f64,
    pub tolerance: f64,
    pub bound: Bound,
    pub pass: bool,
}

impl Metric {
    /// A metric; `pass` from the bound (a NaN value fails).
    pub fn new(name: &str, scope: &str, unit: &str, value: f64, tolerance: f64, bound: Bound) -> Metric {
        let pass = match bound {
            Bound::Max => value <= tolerance,
            Bound::Min => value >= tolerance,
        };
        Metric { name: name.into(), scope: scope.into(), unit: unit.into(), value, tolerance, bound, pass }
    }
}

/// A series for plots and for the report (`x`, float, fixed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub x_label: String,
    pub y_label: String,
    pub x: Vec<f64>,
    pub float: Vec<f64>,
    pub fixed: Vec<f64>,
}

/// Error growth: RMS of the weight error in consecutive time bins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    /// Bin end times, s.
    pub t_s: Vec<f64>,
    /// RMS of `(w_fixed − w_float)/(w_max − w_min)` over the pre spikes of the bin.
    pub rms: Vec<f64>,
    /// Least-squares slope of `rms` against time, per second.
    pub slope_per_s: f64,
}

/// What was verified for one plastic projection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectionReport {
    pub projection: String,
    pub rule: String,
    /// `pair_stdp`, `triplet_stdp`, `free_energy`, `sum_of_products`.
    pub kind: String,
    pub w_min: f64,
    pub w_max: f64,
    /// Weight units of one stored LSB (fixed point).
    pub weight_lsb: f64,
    pub n_synapses: usize,
    /// Updates compared (open loop: pre spikes × synapses).
    pub n_updates: u64,
    /// Per-update Δw errors, fraction of the range (open loop; capped sample for plots).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub dw_errors: Vec<f64>,
    /// Final weights, float and fixed.
    pub final_float: Vec<f64>,
    pub final_fixed: Vec<f64>,
    /// Trajectories of a few synapses (`x` in s).
    #[serde(default)]
    pub trajectories: Vec<Series>,
    #[serde(default)]
    pub growth: Growth,
}

/// Spike agreement of one population (closed loop).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PopulationReport {
    pub population: String,
    pub spikes_float: u64,
    pub spikes_fixed: u64,
    pub count_rel_diff: f64,
    pub matched_fraction: f64,
    /// A few neurons' spikes for the raster: `(step, neuron)`.
    #[serde(default)]
    pub raster_float: Vec<(u32, u32)>,
    #[serde(default)]
    pub raster_fixed: Vec<(u32, u32)>,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_SCHEMA`].
    pub schema: String,
    pub network: String,
    /// `open_loop`, `closed_loop` or `protocol`.
    pub mode: String,
    /// The protocol (mode `protocol`).
    pub protocol: Option<String>,
    pub profile: String,
    /// Width of the stored plastic weights on the spinnaker profile (16 =
    /// sPyNNaker's; 32 = `--plastic-weight-bits 32`).
    #[serde(default = "sixteen")]
    pub plastic_weight_bits: u32,
    pub dt_ms: f64,
    pub n_steps: u32,
    pub tolerances: Option<Tolerances>,
    pub metrics: Vec<Metric>,
    pub projections: Vec<ProjectionReport>,
    pub populations: Vec<PopulationReport>,
    /// Protocol curves (float and fixed).
    pub curves: Vec<Series>,
    /// Diagnostics: precision losses, what was not compared and why.
    pub diagnostics: Vec<String>,
    /// Plot files written (relative to the output directory).
    pub plots: Vec<String>,
    /// All metrics pass.
    pub pass: bool,
}

impl Report {
    /// Sets `pass` from the metrics (a report without metrics passes).
    pub fn finish(&mut self) {
        self.pass = self.metrics.iter().all(|m| m.pass);
    }

    /// The failing metrics.
    pub fn failures(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.iter().filter(|m| !m.pass)
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let what = match &self.protocol {
            Some(p) => format!("protocol {p}"),
            None => self.mode.replace('_', " "),
        };
        // A protocol drives the rule with its own trains at the network's
        // time step; the network's duration does not apply.
        let time = match &self.protocol {
            Some(_) => format!("dt {} ms", self.dt_ms),
            None => format!("{} steps of {} ms", self.n_steps, self.dt_ms),
        };
        s.push_str(&format!(
            "verify {} ({}, profile {}{}, {time}): {}\n",
            self.network,
            what,
            self.profile,
            if self.plastic_weight_bits == 32 { ", 32-bit plastic weights" } else { "" },
            if self.pass { "PASS" } else { "FAIL" }
        ));
        for m in &self.metrics {
            let op = match m.bound {
                Bound::Max => "<=",
                Bound::Min => ">=",
            };
            s.push_str(&format!(
                "  {} {:<22} {:<36} {:>12.4e} ({op} {:.4e}) {}\n",
                if m.pass { "ok  " } else { "FAIL" },
                m.name,
                m.scope,
                m.value,
                m.tolerance,
                m.unit
            ));
        }
        for d in &self.diagnostics {
            s.push_str(&format!("  note: {d}\n"));
        }
        s
    }
}

/// `(max |e|, rms e)` of a list (0, 0 when empty).
pub fn max_rms(e: &[f64]) -> (f64, f64) {
    if e.is_empty() {
        return (0.0, 0.0);
    }
    let max = e.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let rms = (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt();
    (max, rms)
}

/// Least-squares slope of `y` against `x` (0 with fewer than two points).
pub fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let sxy: f64 = (0..n).map(|i| (x[i] - mx) * (y[i] - my)).sum();
    let sxx: f64 = (0..n).map(|i| (x[i] - mx) * (x[i] - mx)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}
