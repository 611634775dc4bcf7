//! Host-side table generation for the free-energy rule ([`super::fep`]).
//!
//! Everything here is `f64` with `libm`, run once before a program image is
//! written; nothing runs per step on a core. [`build`] turns plain parameters
//! ([`FepHostParams`], the fields of the reference's `FepParams` plus the
//! weight bounds) into [`FepTables`], and reports the memory per core
//! ([`FepMemory`]) and the precision lost by every table and constant
//! ([`FepPrecision`]) as structured values.
//!
//! The kernel implements the paper's variance form (Eq. 14) only: a caller
//! with another form must not build these tables.

use super::fep::{
    EtaScale, FepTables, Sq39p24, Uq1p31, Uq2p30, Uq3p13, Uq4p28, Uq8p24, FEP_F_LEN, FEP_GAUSS_LEN, FEP_N, FEP_PENDING_CAP, FEP_RECIP_SEGMENTS,
    FEP_SQRT_SEGMENTS,
};
use crate::fixed::U032;
use libm::{erfc, exp, floor, ldexp, log2, rint, sqrt};

/// Data memory (DTCM) of one ARM968 core (bytes).
pub const ARM968_DTCM_BYTES: usize = 64 * 1024;
/// Instruction memory (ITCM) of one ARM968 core (bytes).
pub const ARM968_ITCM_BYTES: usize = 32 * 1024;

/// Parameters of the rule (units as the float reference: ms, mV, w in units of `a`·`kappa`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FepHostParams {
    pub tau_m: f64,
    pub u0: f64,
    pub theta: f64,
    pub u_reset: f64,
    pub gamma: f64,
    pub sigma0: f64,
    pub r0: f64,
    pub eta: f64,
    pub kappa: f64,
    pub w_min: f64,
    pub w_max: f64,
}

impl Default for FepHostParams {
    /// The reference's values (`sigma0 = 10` mV, `kappa = 1`, `w_min = 2^-8`), `w_max = 64`.
    fn default() -> Self {
        FepHostParams { tau_m: 30.0, u0: -70.0, theta: -55.0, u_reset: -75.0, gamma: 10.0, sigma0: 10.0, r0: 0.5, eta: 1e-5, kappa: 1.0, w_min: 1.0 / 256.0, w_max: 64.0 }
    }
}

/// Why the tables cannot be built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FepHostError {
    /// A parameter is NaN, infinite or outside its physical domain.
    Domain { field: &'static str, value: f64 },
    /// A quantity does not fit its fixed-point format (`bound` is the format's limit).
    Range { quantity: &'static str, value: f64, bound: f64 },
}

/// Bytes per core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FepMemory {
    pub exp_lut: usize,
    pub f_lut: usize,
    pub recip_lut: usize,
    pub sqrt_lut: usize,
    pub gauss_lut: usize,
    pub constants: usize,
    /// Sum of the above (= [`FepTables::bytes`]).
    pub tables_total: usize,
    /// Per synapse: weight (4) + folded accumulator (8) + folded count (2).
    pub per_synapse: usize,
    /// Per pre-synaptic neuron: spike history of `N − 1` times as 1-byte ages.
    pub per_pre_neuron: usize,
    /// [`ARM968_DTCM_BYTES`].
    pub dtcm: usize,
    /// `tables_total ≤ dtcm / 4` (the tables leave ≥ 75 % of DTCM to the neuron and synapse state).
    pub fits_dtcm_quarter: bool,
}

/// Quantization error of one table or constant (in its value units).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuantError {
    pub max_abs: f64,
    pub max_rel: f64,
}

impl QuantError {
    fn add(&mut self, exact: f64, stored: f64) {
        let e = (stored - exact).abs();
        self.max_abs = self.max_abs.max(e);
        if exact != 0.0 {
            self.max_rel = self.max_rel.max(e / exact.abs());
        }
    }
}

/// Precision lost by every stored quantity.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FepPrecision {
    pub exp_lut: QuantError,
    pub f_lut: QuantError,
    pub recip_lut: QuantError,
    pub sqrt_lut: QuantError,
    pub gauss_lut: QuantError,
    pub gamma: QuantError,
    pub k_ltd: QuantError,
    pub ltd_offset: QuantError,
    pub r0: QuantError,
    pub s0: QuantError,
    pub eta: QuantError,
    pub w_min: QuantError,
    pub w_max: QuantError,
    /// Variance of the discrete Gaussian source (1 for an exact normal).
    pub gauss_variance: f64,
    /// Largest `|eps|` the source can draw.
    pub gauss_max: f64,
    /// Largest `W_LTD` and `F·W_LTD` over the table (must stay < 256, [`Uq8p24`]).
    pub w_ltd_max: f64,
    pub f_w_ltd_max: f64,
}

/// Result of [`build`].
#[derive(Clone, Debug, PartialEq)]
pub struct FepBuild {
    pub tables: FepTables,
    pub memory: FepMemory,
    pub precision: FepPrecision,
}

fn domain(field: &'static str, value: f64, ok: bool) -> Result<(), FepHostError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(FepHostError::Domain { field, value })
    }
}

fn enc(quantity: &'static str, v: f64, frac: i32, bits: u32, err: &mut QuantError) -> Result<u32, FepHostError> {
    let raw = rint(ldexp(v, frac));
    let max = ldexp(1.0, bits as i32) - 1.0;
    if !(raw >= 0.0 && raw <= max) {
        return Err(FepHostError::Range { quantity, value: v, bound: ldexp(max, -frac) });
    }
    err.add(v, ldexp(raw, -frac));
    Ok(raw as u32)
}

/// Standard normal upper tail inverse: `x` with `Phi(x) = p`, `p ∈ (0.5, 1)`, by bisection on `erfc`.
fn probit(p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 40.0f64);
    for _ in 0..200 {
        let m = 0.5 * (lo + hi);
        let phi = 1.0 - 0.5 * erfc(m / core::f64::consts::SQRT_2);
        if phi < p {
            lo = m;
        } else {
            hi = m;
        }
    }
    0.5 * (lo + hi)
}

/// `F(T)` of the module docs (T in steps of 1 ms).
pub fn f_of_t(p: &FepHostParams, t: f64) -> f64 {
    let e = exp(-t / p.tau_m);
    p.kappa * (2.0 / p.tau_m) * ((p.theta - p.u0) + (p.u0 - p.u_reset) * e) / (1.0 - e * e) / p.r0
}

/// Builds every table and constant; see the module docs.
pub fn build(p: &FepHostParams) -> Result<FepBuild, FepHostError> {
    domain("tau_m", p.tau_m, p.tau_m > 0.0)?;
    domain("u0", p.u0, true)?;
    domain("theta", p.theta, p.theta > p.u0)?;
    domain("u_reset", p.u_reset, p.u_reset < p.theta && p.u_reset <= p.u0 + (p.theta - p.u0))?;
    domain("gamma", p.gamma, p.gamma > 0.0)?;
    domain("sigma0", p.sigma0, p.sigma0 > 0.0)?;
    domain("r0", p.r0, p.r0 > 0.0 && p.r0 < 1.0)?;
    domain("eta", p.eta, p.eta >= 0.0)?;
    domain("kappa", p.kappa, p.kappa > 0.0)?;
    domain("w_min", p.w_min, p.w_min >= 1.0 / 256.0)?;
    domain("w_max", p.w_max, p.w_max >= p.w_min)?;
    let mut pr = FepPrecision::default();
    // den = 2 + 4·gamma at most must be < 256 (UQ8.24).
    if 2.0 + 4.0 * p.gamma >= 256.0 {
        return Err(FepHostError::Range { quantity: "den = 2 + 4 gamma", value: 2.0 + 4.0 * p.gamma, bound: 256.0 });
    }
    let mut exp_t = [U032(0); FEP_N];
    for (k, e) in exp_t.iter_mut().enumerate() {
        let v = exp(-((k.max(1)) as f64) / p.tau_m);
        *e = U032(enc("E[k]", v, 32, 32, &mut pr.exp_lut)?);
    }
    let mut f_t = [Uq8p24(0); FEP_F_LEN];
    for (k, f) in f_t.iter_mut().enumerate() {
        let v = f_of_t(p, k.max(2) as f64);
        *f = Uq8p24(enc("F[T]", v, 24, 32, &mut pr.f_lut)?);
    }
    let mut recip_t = [Uq1p31(0); FEP_RECIP_SEGMENTS + 1];
    for (k, r) in recip_t.iter_mut().enumerate() {
        let v = 1.0 / (1.0 + k as f64 / FEP_RECIP_SEGMENTS as f64);
        *r = Uq1p31(enc("1/m", v, 31, 32, &mut pr.recip_lut)?);
    }
    let mut sqrt_t = [Uq2p30(0); FEP_SQRT_SEGMENTS + 1];
    for (k, s) in sqrt_t.iter_mut().enumerate() {
        let v = sqrt(1.0 + k as f64 / 64.0);
        *s = Uq2p30(enc("sqrt(m)", v, 30, 32, &mut pr.sqrt_lut)?);
    }
    let mut gauss_t = [Uq3p13(0); FEP_GAUSS_LEN];
    let mut var = 0.0;
    for (k, g) in gauss_t.iter_mut().enumerate() {
        let v = probit(0.5 + (k as f64 + 0.5) / (2.0 * FEP_GAUSS_LEN as f64));
        let raw = enc("eps", v, 13, 16, &mut pr.gauss_lut)?;
        *g = Uq3p13(raw as u16);
        let q = ldexp(raw as f64, -13);
        var += q * q / FEP_GAUSS_LEN as f64;
        pr.gauss_max = pr.gauss_max.max(q);
    }
    pr.gauss_variance = var;
    let k_ltd = p.r0 * p.r0 * p.tau_m / (p.kappa * p.kappa * p.sigma0 * p.sigma0);
    let c = (1.0 - p.r0) / (2.0 * p.r0);
    // Ranges of the intermediate UQ8.24 values (module docs, steps 5–8): X = D²/den < D ≤ 1 + 2 gamma.
    let d_max = 1.0 + 2.0 * p.gamma;
    pr.w_ltd_max = k_ltd * d_max;
    let f_max = (0..FEP_F_LEN).map(|k| f_of_t(p, k.max(2) as f64)).fold(0.0, f64::max);
    pr.f_w_ltd_max = f_max * pr.w_ltd_max;
    if pr.f_w_ltd_max >= 256.0 {
        return Err(FepHostError::Range { quantity: "F·W_LTD", value: pr.f_w_ltd_max, bound: 256.0 });
    }
    if c + p.w_max >= 256.0 {
        return Err(FepHostError::Range { quantity: "c + w_max", value: c + p.w_max, bound: 256.0 });
    }
    let eta = if p.eta == 0.0 {
        EtaScale { mant: 0, shift: 0 }
    } else {
        let shift = 31 - floor(log2(p.eta)) as i32;
        if !(0..=100).contains(&shift) {
            return Err(FepHostError::Range { quantity: "eta", value: p.eta, bound: 2.0 });
        }
        let mut m = rint(ldexp(p.eta, shift));
        let mut shift = shift;
        if m >= 4294967296.0 {
            m = rint(ldexp(p.eta, shift - 1));
            shift -= 1;
        }
        pr.eta.add(p.eta, ldexp(m, -shift));
        EtaScale { mant: m as u32, shift: shift as u32 }
    };
    let tables = FepTables {
        exp: exp_t,
        f: f_t,
        recip: recip_t,
        sqrt: sqrt_t,
        gauss: gauss_t,
        gamma: Uq8p24(enc("gamma", p.gamma, 24, 32, &mut pr.gamma)?),
        k_ltd: Uq4p28(enc("K", k_ltd, 28, 32, &mut pr.k_ltd)?),
        ltd_offset: Uq8p24(enc("c", c, 24, 32, &mut pr.ltd_offset)?),
        r0: U032(enc("r0", p.r0, 32, 32, &mut pr.r0)?),
        s0: U032(enc("s0", p.r0 * (1.0 - p.r0), 32, 32, &mut pr.s0)?),
        eta,
        w_min: Uq8p24(enc("w_min", p.w_min, 24, 32, &mut pr.w_min)?),
        w_max: Uq8p24(enc("w_max", p.w_max, 24, 32, &mut pr.w_max)?),
    };
    let memory = memory();
    Ok(FepBuild { tables, memory, precision: pr })
}

/// Memory per core of the design (independent of the parameters).
pub fn memory() -> FepMemory {
    let m = FepMemory {
        exp_lut: FEP_N * 4,
        f_lut: FEP_F_LEN * 4,
        recip_lut: (FEP_RECIP_SEGMENTS + 1) * 4,
        sqrt_lut: (FEP_SQRT_SEGMENTS + 1) * 4,
        gauss_lut: FEP_GAUSS_LEN * 2,
        constants: 10 * 4,
        tables_total: FepTables::bytes(),
        per_synapse: 4 + core::mem::size_of::<Sq39p24>() + 2,
        per_pre_neuron: FEP_PENDING_CAP,
        dtcm: ARM968_DTCM_BYTES,
        fits_dtcm_quarter: false,
    };
    FepMemory { fits_dtcm_quarter: m.tables_total <= m.dtcm / 4, ..m }
}
