//! Tolerances: defaults, the optional `verify:` section of a network YAML,
//! and overrides (the CLI's `--tol-*` flags).

use serde::{Deserialize, Serialize};

/// Every bound `spikeforge verify` checks. Weight errors are normalised to
/// the rule's `w_max − w_min`; protocol errors to the protocol's peak |Δw|.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tolerances {
    /// Largest per-update Δw error (open loop), fraction of the weight range.
    pub dw_max: f64,
    /// RMS per-update Δw error (open loop), fraction of the weight range.
    pub dw_rms: f64,
    /// Smallest fraction of significant updates with the float sign (open loop).
    pub sign_agreement: f64,
    /// Largest final-weight error, fraction of the weight range.
    pub final_max: f64,
    /// RMS final-weight error, fraction of the weight range.
    pub final_rms: f64,
    /// Smallest fraction of reference spikes matched within ±1 step (closed loop).
    pub spike_match: f64,
    /// Largest relative difference of a population's spike count (closed loop).
    pub spike_count: f64,
    /// Largest protocol error, fraction of the protocol's peak |Δw|.
    pub protocol_max: f64,
    /// Smallest sign agreement where |Δw| exceeds 2 % of the protocol's peak.
    pub protocol_sign: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            dw_max: 0.02,
            dw_rms: 0.005,
            sign_agreement: 0.95,
            final_max: 0.05,
            final_rms: 0.02,
            spike_match: 0.9,
            spike_count: 0.1,
            protocol_max: 0.05,
            protocol_sign: 0.95,
        }
    }
}

/// Overrides from the command line (`None`: keep).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ToleranceOverrides {
    pub dw_max: Option<f64>,
    pub dw_rms: Option<f64>,
    pub sign_agreement: Option<f64>,
    pub final_max: Option<f64>,
    pub final_rms: Option<f64>,
    pub spike_match: Option<f64>,
    pub spike_count: Option<f64>,
    pub protocol_max: Option<f64>,
    pub protocol_sign: Option<f64>,
}

impl Tolerances {
    /// Applies the overrides that are set.
    pub fn with(mut self, o: &ToleranceOverrides) -> Tolerances {
        let set = |x: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *x = v;
            }
        };
        set(&mut self.dw_max, o.dw_max);
        set(&mut self.dw_rms, o.dw_rms);
        set(&mut self.sign_agreement, o.sign_agreement);
        set(&mut self.final_max, o.final_max);
        set(&mut self.final_rms, o.final_rms);
        set(&mut self.spike_match, o.spike_match);
        set(&mut self.spike_count, o.spike_count);
        set(&mut self.protocol_max, o.protocol_max);
        set(&mut self.protocol_sign, o.protocol_sign);
        self
    }
}

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    verify: Option<VerifySection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifySection {
    #[serde(default)]
    tolerances: Option<Tolerances>,
}

/// The tolerances of the `verify: {tolerances: {...}}` section of a network
/// YAML (`Ok(None)` without one). Unknown keys are errors.
pub fn from_yaml(text: &str) -> Result<Option<Tolerances>, String> {
    let doc: Doc = serde_norway::from_str(text).map_err(|e| format!("verify section: {e}"))?;
    Ok(doc.verify.and_then(|v| v.tolerances))
}
