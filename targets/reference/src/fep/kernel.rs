//! The per-triplet kernel: OU-bridge mean, variance, drives `a` and `b`, `W_LTP`, `W_LTD`, `dw`.
//!
//! Every function takes `dt1 = t2 − t_pre` and `dt2 = t2 − t1` in ms and evaluates exactly
//! the expressions of the Python reference, in the same operation order, so that results
//! agree to a few ulp. Like the reference these are plain IEEE formulas without domain
//! checks: the meaningful domain is `0 ≤ dt1 ≤ dt2`, `dt2 > 0`, `w > 0`; outside it the
//! functions return what the formulas give (e.g. `dt2 = 0` makes `mu` NaN and `a` infinite,
//! `w = 0` makes `dw` infinite), as numpy does for the reference.

use super::params::{FepParams, VarianceForm};

/// `(Ex, Es) = (exp(−dt1/tau_m), exp(−(dt2 − dt1)/tau_m))`, dimensionless.
#[inline]
pub fn exp_pair(p: &FepParams, dt1: f64, dt2: f64) -> (f64, f64) {
    ((-dt1 / p.tau_m).exp(), (-(dt2 - dt1) / p.tau_m).exp())
}

/// OU-bridge mean `mu` (mV) at time `t = t2 − dt1` (Eq. 13 / A.7), pinned at
/// `mu(t1) = u_reset` and `mu(t2) = theta`.
pub fn mu(p: &FepParams, dt1: f64, dt2: f64) -> f64 {
    let tau = p.tau_m;
    let s_t = (dt2 / tau).sinh();
    p.u0 + (p.u_reset - p.u0) * (dt1 / tau).sinh() / s_t
        + (p.theta - p.u0) * ((dt2 - dt1) / tau).sinh() / s_t
}

/// Variance `sigma²` (mV²) of the generative model, in the form `p.variance_form`.
pub fn var(p: &FepParams, dt1: f64, dt2: f64) -> f64 {
    let s2 = p.sigma0 * p.sigma0;
    match p.variance_form {
        VarianceForm::Eq14 => {
            let (ex, es) = exp_pair(p, dt1, dt2);
            s2 / (1.0 + p.gamma * (es + ex))
        }
        VarianceForm::A9 => {
            let (ex, es) = exp_pair(p, dt1, dt2);
            s2 * p.gamma / (p.gamma + es + ex)
        }
        VarianceForm::Bridge => {
            let tau = p.tau_m;
            s2 * (dt1 / tau).sinh() * ((dt2 - dt1) / tau).sinh() / (dt2 / tau).sinh()
        }
    }
}

/// Step (ms) of the central difference used for `b` with [`VarianceForm::Bridge`]
/// (the reference's value).
pub const BRIDGE_DERIVATIVE_STEP_MS: f64 = 1e-4;

/// Optimal drive `a = mu' + (mu − u0)/tau_m` (mV/ms), closed form (overflow-free):
/// `a = (2/tau)·Ex·[(theta − u0) + (u0 − u_reset)·Ex·Es] / (1 − (Ex·Es)²)`.
pub fn a_drive(p: &FepParams, dt1: f64, dt2: f64) -> f64 {
    let (ex, es) = exp_pair(p, dt1, dt2);
    let e_t = ex * es;
    (2.0 / p.tau_m) * ex * ((p.theta - p.u0) + (p.u0 - p.u_reset) * e_t) / (1.0 - e_t * e_t)
}

/// `b = (sigma²)' + 2·sigma²/tau_m` (mV²/ms); closed form for Eq14 and A9, central
/// numerical derivative (d/dt = −d/d(dt1)) for Bridge, as in the reference.
pub fn b_drive(p: &FepParams, dt1: f64, dt2: f64) -> f64 {
    let (g, s2, tau) = (p.gamma, p.sigma0 * p.sigma0, p.tau_m);
    match p.variance_form {
        VarianceForm::Eq14 => {
            let (ex, es) = exp_pair(p, dt1, dt2);
            let d = 1.0 + g * (es + ex);
            s2 * (2.0 + 3.0 * g * es + g * ex) / (tau * d * d)
        }
        VarianceForm::A9 => {
            let (ex, es) = exp_pair(p, dt1, dt2);
            let d = 1.0 + (es + ex) / g;
            s2 * (2.0 + (3.0 * es + ex) / g) / (tau * d * d)
        }
        VarianceForm::Bridge => {
            let h = BRIDGE_DERIVATIVE_STEP_MS;
            let dv = -(var(p, dt1 + h, dt2) - var(p, dt1 - h, dt2)) / (2.0 * h);
            dv + 2.0 * var(p, dt1, dt2) / tau
        }
    }
}

/// `W_LTP = r0·(kappa·a)/(kappa²·b)` (1/units of w).
pub fn w_ltp(p: &FepParams, dt1: f64, dt2: f64) -> f64 {
    let k = p.kappa;
    p.r0 * (k * a_drive(p, dt1, dt2)) / (k * k * b_drive(p, dt1, dt2))
}

/// `W_LTD = r0²/(kappa²·b)` (1/(units of w)²).
pub fn w_ltd(p: &FepParams, dt1: f64, dt2: f64) -> f64 {
    let k = p.kappa;
    p.r0 * p.r0 / (k * k * b_drive(p, dt1, dt2))
}

/// Per-triplet weight change before the learning rate (Eq. 5):
/// `dw = W_LTP − ((1 − r0)/(2·r0) + w)·W_LTD + 1/(2w)`.
pub fn dw(p: &FepParams, dt1: f64, dt2: f64, w: f64) -> f64 {
    dw_from_parts(p, w_ltp(p, dt1, dt2), w_ltd(p, dt1, dt2), w)
}

/// `dw` from precomputed `W_LTP` and `W_LTD` (same operation order as [`dw`]).
#[inline]
pub fn dw_from_parts(p: &FepParams, ltp: f64, ltd: f64, w: f64) -> f64 {
    ltp - (p.ltd_offset() + w) * ltd + 1.0 / (2.0 * w)
}

/// Result of [`self_check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfCheck {
    /// max |a_closed − a_numerical| (mV/ms) over the check grid.
    pub max_err_a: f64,
    /// max |b_closed − b_numerical| (mV²/ms) over the check grid.
    pub max_err_b: f64,
    /// `mu` at `dt1 = 1e-12` ms (just before t2); should equal `theta` (mV).
    pub mu_at_t2: f64,
    /// `mu` at `dt1 = dt2` (at t1); should equal `u_reset` (mV).
    pub mu_at_t1: f64,
}

/// Compares the closed forms of `a` and `b` with central numerical derivatives of `mu` and
/// `var` (step 1e-5 ms) on 400 points `dt1 ∈ [0.5, 99.5]` ms of one ISI `dt2 = 100` ms, and
/// returns the boundary values of `mu`. Mirrors `fep_ref.self_check`.
pub fn self_check(p: &FepParams) -> SelfCheck {
    const T: f64 = 100.0;
    const N: usize = 400;
    const H: f64 = 1e-5;
    let step = (T - 1.0) / (N - 1) as f64;
    let (mut max_err_a, mut max_err_b) = (0.0f64, 0.0f64);
    for i in 0..N {
        let x = 0.5 + i as f64 * step;
        let mup = -(mu(p, x + H, T) - mu(p, x - H, T)) / (2.0 * H);
        let a_num = mup + (mu(p, x, T) - p.u0) / p.tau_m;
        max_err_a = max_err_a.max((a_num - a_drive(p, x, T)).abs());
        let vp = -(var(p, x + H, T) - var(p, x - H, T)) / (2.0 * H);
        let b_num = vp + 2.0 * var(p, x, T) / p.tau_m;
        max_err_b = max_err_b.max((b_num - b_drive(p, x, T)).abs());
    }
    SelfCheck {
        max_err_a,
        max_err_b,
        mu_at_t2: mu(p, 1e-12, T),
        mu_at_t1: mu(p, T, T),
    }
}
