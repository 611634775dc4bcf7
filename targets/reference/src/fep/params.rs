//! Parameters of the free-energy synapse rule.

use std::fmt;

/// Which expression is used for the variance `sigma²` of the generative model.
///
/// With `Ex = exp(−dt1/tau_m)` and `Es = exp(−(dt2 − dt1)/tau_m)`:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VarianceForm {
    /// Paper Eq. 14: `sigma0² / (1 + gamma·(Es + Ex))`. The reference's choice.
    #[default]
    Eq14,
    /// Appendix A.9: `sigma0²·gamma / (gamma + Es + Ex)` (gamma and 1/gamma swapped
    /// relative to Eq. 14; kept to reproduce the inconsistency).
    A9,
    /// The exact OU-bridge variance (A.8):
    /// `sigma0²·sinh(dt1/tau)·sinh((dt2 − dt1)/tau)/sinh(dt2/tau)`. Its `b` is obtained by a
    /// central numerical derivative (step 1e-4 ms) as in the reference, and can be negative
    /// near spikes, which is why the paper rejects it. `sinh(dt2/tau)` overflows for
    /// `dt2 > ~710·tau_m`, giving NaN like the reference.
    Bridge,
}

impl VarianceForm {
    /// The reference's name of the form (`"eq14"`, `"A9"`, `"bridge"`).
    pub fn reference_name(self) -> &'static str {
        match self {
            VarianceForm::Eq14 => "eq14",
            VarianceForm::A9 => "A9",
            VarianceForm::Bridge => "bridge",
        }
    }

    /// Inverse of [`VarianceForm::reference_name`].
    pub fn from_reference_name(name: &str) -> Option<Self> {
        match name {
            "eq14" => Some(VarianceForm::Eq14),
            "A9" => Some(VarianceForm::A9),
            "bridge" => Some(VarianceForm::Bridge),
            _ => None,
        }
    }
}

/// Parameters of the rule. All values are f64; units as documented per field.
///
/// `Default` gives the reference's values (`fep_ref.P()` plus `eta` and `w_min`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FepParams {
    /// Membrane time constant `tau_m` (ms). Default 30.
    pub tau_m: f64,
    /// Resting potential `u0` (mV). Default −70.
    pub u0: f64,
    /// Firing threshold `theta` (mV); the bridge is pinned at `u(t2) = theta`. Default −55.
    pub theta: f64,
    /// Reset potential `u_reset` (mV); the bridge is pinned at `u(t1) = u_reset`. Default −75.
    pub u_reset: f64,
    /// Variance-slope constant `gamma` of Eq. 14 (dimensionless). Default 10.
    pub gamma: f64,
    /// Stationary standard deviation `sigma0` of the OU process (mV). Default 10.
    ///
    /// **Calibration, not paper data**: the paper never gives a number. 10 mV is the value
    /// with which the reference reproduces every qualitative claim of the paper; it sets the
    /// LTP/LTD balance (5 mV gives LTD at every lag of the 10-pair protocol at w = 2,
    /// 15 mV mostly LTP), so any spec must fix it explicitly.
    pub sigma0: f64,
    /// Mean scale of the synaptic current `r0` (dimensionless, release probability). Default 0.5.
    pub r0: f64,
    /// Learning rate `eta` (dimensionless): `w ← w + eta·dw` at each post spike. Default 1e-5.
    pub eta: f64,
    /// Unit factor `kappa`: the synaptic current equals `kappa`·drive. Default 1 (w in the
    /// units of `a`, mV/ms). Not given in the paper.
    pub kappa: f64,
    /// Variance expression. Default [`VarianceForm::Eq14`].
    pub variance_form: VarianceForm,
    /// Lower clamp of the weight (units of w), needed because of the `1/(2w)` term.
    /// Default 2⁻⁸ (the value suggested for the fixed-point design; the Python reference
    /// has no weight dynamics and so no clamp).
    pub w_min: f64,
}

impl Default for FepParams {
    fn default() -> Self {
        FepParams {
            tau_m: 30.0,
            u0: -70.0,
            theta: -55.0,
            u_reset: -75.0,
            gamma: 10.0,
            sigma0: 10.0,
            r0: 0.5,
            eta: 1e-5,
            kappa: 1.0,
            variance_form: VarianceForm::Eq14,
            w_min: 1.0 / 256.0,
        }
    }
}

impl FepParams {
    /// Release variance scale `s0 = r0·(1 − r0)` (1/4 for r0 = 1/2).
    pub fn s0(&self) -> f64 {
        self.r0 * (1.0 - self.r0)
    }

    /// The constant `(1 − r0)/(2·r0)` multiplying `W_LTD` in `dw` (1/2 for r0 = 1/2).
    pub fn ltd_offset(&self) -> f64 {
        (1.0 - self.r0) / (2.0 * self.r0)
    }

    /// Checks that every value is finite and physically meaningful. Returns the first
    /// violation, naming the field.
    ///
    /// Requirements: `tau_m > 0`; `theta > u0` (threshold above rest);
    /// `u_reset < theta`; `gamma > 0`; `sigma0 > 0`; `0 < r0 < 1` (so that `s0 > 0`);
    /// `eta ≥ 0`; `kappa > 0`; `w_min > 0`.
    pub fn validate(&self) -> Result<(), FepParamError> {
        let fields: [(&'static str, f64); 10] = [
            ("tau_m", self.tau_m),
            ("u0", self.u0),
            ("theta", self.theta),
            ("u_reset", self.u_reset),
            ("gamma", self.gamma),
            ("sigma0", self.sigma0),
            ("r0", self.r0),
            ("eta", self.eta),
            ("kappa", self.kappa),
            ("w_min", self.w_min),
        ];
        for (field, value) in fields {
            if !value.is_finite() {
                return Err(FepParamError::NotFinite { field, value });
            }
        }
        let checks: [(&'static str, f64, bool, &'static str); 9] = [
            ("tau_m", self.tau_m, self.tau_m > 0.0, "tau_m > 0 ms"),
            ("theta", self.theta, self.theta > self.u0, "theta > u0"),
            (
                "u_reset",
                self.u_reset,
                self.u_reset < self.theta,
                "u_reset < theta",
            ),
            ("gamma", self.gamma, self.gamma > 0.0, "gamma > 0"),
            ("sigma0", self.sigma0, self.sigma0 > 0.0, "sigma0 > 0 mV"),
            ("r0", self.r0, self.r0 > 0.0 && self.r0 < 1.0, "0 < r0 < 1"),
            ("eta", self.eta, self.eta >= 0.0, "eta >= 0"),
            ("kappa", self.kappa, self.kappa > 0.0, "kappa > 0"),
            ("w_min", self.w_min, self.w_min > 0.0, "w_min > 0"),
        ];
        for (field, value, ok, requirement) in checks {
            if !ok {
                return Err(FepParamError::OutOfRange {
                    field,
                    value,
                    requirement,
                });
            }
        }
        Ok(())
    }
}

/// A non-physical parameter value, naming the offending field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FepParamError {
    /// The field is NaN or infinite.
    NotFinite { field: &'static str, value: f64 },
    /// The field violates `requirement`.
    OutOfRange {
        field: &'static str,
        value: f64,
        requirement: &'static str,
    },
}

impl FepParamError {
    /// Name of the offending field of [`FepParams`].
    pub fn field(&self) -> &'static str {
        match self {
            FepParamError::NotFinite { field, .. } | FepParamError::OutOfRange { field, .. } => {
                field
            }
        }
    }
}

impl fmt::Display for FepParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FepParamError::NotFinite { field, value } => {
                write!(f, "FEP parameter `{field}` must be finite, got {value}")
            }
            FepParamError::OutOfRange {
                field,
                value,
                requirement,
            } => {
                write!(
                    f,
                    "FEP parameter `{field}` = {value} violates {requirement}"
                )
            }
        }
    }
}

impl std::error::Error for FepParamError {}
