//! Verification protocols: spike trains with known structure fed to the
//! float and the fixed rule.
//!
//! * `stdp-window`: `n_pairs` pre/post pairings at `rate_hz` for each lag
//!   `t_post − t_pre` in −100…+100 ms (the lag is measured at the synapse:
//!   the post spike is placed `delay` steps before its arrival);
//! * `pairing-frequency` (Sjöström-style): pairings at ±10 ms for each
//!   frequency;
//! * `poisson-rates`: independent Poisson pre and post trains for a grid of
//!   rates.
//!
//! STDP: the value of a point is the total weight change after the trains
//! plus one flushing pre spike one period later (the kernel applies
//! potentiation at the next pre spike), from a mid-range weight. FEP: the
//! mean `dw` per triplet (window, frequency) or the total `dw` (rates), at
//! a fixed weight, float vs [`FepFixed`](crate::fep::FepFixed); plus the
//! exhaustive kernel grid, `w = 1` vs `w = 12` windows and weight dynamics.

use crate::fep::{self as vf, FepFixed};
use crate::report::{Bound, Metric, Series};
use crate::stdp_open::StdpSetup;
use crate::tolerances::Tolerances;
use crate::VerifyError;
use spikeforge_reference::fep::{self, FepParams, FepRng};

/// A protocol name as given to `--protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    StdpWindow,
    PairingFrequency,
    PoissonRates,
    /// FEP only: the exhaustive kernel grid.
    KernelGrid,
    /// FEP only: windows at w = 1 and w = 12.
    WeightExtremes,
    /// FEP only: w(t) under Poisson input and the fixed point w*.
    Dynamics,
}

impl Protocol {
    /// Parses a `--protocol` value.
    pub fn parse(s: &str) -> Option<Protocol> {
        Some(match s {
            "stdp-window" => Protocol::StdpWindow,
            "pairing-frequency" => Protocol::PairingFrequency,
            "poisson-rates" => Protocol::PoissonRates,
            "kernel-grid" => Protocol::KernelGrid,
            "w1-w12" => Protocol::WeightExtremes,
            "dynamics" => Protocol::Dynamics,
            _ => return None,
        })
    }

    /// The `--protocol` name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::StdpWindow => "stdp-window",
            Protocol::PairingFrequency => "pairing-frequency",
            Protocol::PoissonRates => "poisson-rates",
            Protocol::KernelGrid => "kernel-grid",
            Protocol::WeightExtremes => "w1-w12",
            Protocol::Dynamics => "dynamics",
        }
    }
}

/// Sizes of the protocols (defaults: the issue's; tests shrink them).
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolOptions {
    /// Lags of the window, ms.
    pub lags_ms: Vec<f64>,
    /// Pairs per point.
    pub n_pairs: usize,
    /// Pairing rate of the window, Hz.
    pub rate_hz: f64,
    /// Frequencies of `pairing-frequency`, Hz.
    pub freqs_hz: Vec<f64>,
    /// Rate grid of `poisson-rates`, Hz (pre = post grid).
    pub rates_hz: Vec<f64>,
    /// Duration of one Poisson cell / of the dynamics, s.
    pub poisson_s: f64,
    /// Seed of the Poisson trains.
    pub seed: u64,
    /// Kernel grid: largest `dt1` and `dt2 − dt1`, steps, and the stride.
    pub grid_max: u32,
    pub grid_stride: u32,
    /// Kernel grid: number of log-spaced weights in [0.5, 12].
    pub grid_weights: usize,
}

impl ProtocolOptions {
    /// Whether the pairing protocols can run at time step `dt_ms`: at least
    /// one pair, and pairs at least one step apart at `rate_hz` and at every
    /// frequency of `freqs_hz`.
    pub fn check(&self, dt_ms: f64) -> Result<(), VerifyError> {
        if self.n_pairs == 0 {
            return Err(VerifyError::Usage("the pairing protocols need at least one pair per point".into()));
        }
        for (what, r) in std::iter::once(("the pairing rate", self.rate_hz)).chain(self.freqs_hz.iter().map(|&f| ("a pairing frequency", f))) {
            if !(r.is_finite() && r > 0.0) || 1000.0 / r < dt_ms {
                return Err(VerifyError::Usage(format!(
                    "{what} of {r} Hz puts the pairs less than one time step ({dt_ms} ms) apart; expected a rate in (0, {}] Hz",
                    1000.0 / dt_ms
                )));
            }
        }
        Ok(())
    }
}

impl Default for ProtocolOptions {
    fn default() -> Self {
        ProtocolOptions {
            lags_ms: (-20..=20).map(|k| k as f64 * 5.0).filter(|&l| l != 0.0).collect(),
            n_pairs: 60,
            rate_hz: 1.0,
            freqs_hz: vec![0.1, 1.0, 5.0, 10.0, 20.0, 40.0, 50.0],
            rates_hz: vec![1.0, 5.0, 10.0, 20.0, 50.0],
            poisson_s: 10.0,
            seed: 1,
            grid_max: 1023,
            grid_stride: 1,
            grid_weights: 64,
        }
    }
}

/// Pairing trains in steps: pre at `offset + k·period`, post at `pre + lag − delay`
/// (so the pair's lag at the synapse is `lag`); both as emission steps.
fn pairing(n: usize, period_steps: u32, lag_steps: i64, delay: u32) -> (Vec<u32>, Vec<u32>) {
    let offset = (200 + lag_steps.unsigned_abs() as u32 + delay).max(1);
    let pre: Vec<u32> = (0..n as u32).map(|k| offset + k * period_steps).collect();
    let post = pre.iter().map(|&t| (t as i64 + lag_steps - delay as i64) as u32).collect();
    (pre, post)
}

/// Poisson steps of `rate_hz` over `n_steps` steps of `dt_ms` (at most one per step).
fn poisson(rate_hz: f64, n_steps: u32, dt_ms: f64, rng: &mut FepRng) -> Vec<u32> {
    let mut out: Vec<u32> = fep::protocols::poisson_train(rate_hz, n_steps as f64 * dt_ms, rng).iter().map(|&t| (t / dt_ms).floor() as u32 + 1).collect();
    out.dedup();
    out
}

/// The comparison of one curve: `(max |fixed − float| / peak, sign agreement)`.
pub fn curve_errors(float: &[f64], fixed: &[f64]) -> (f64, f64) {
    let peak = float.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if peak == 0.0 {
        return (0.0, 1.0);
    }
    let err = float.iter().zip(fixed).fold(0.0f64, |m, (a, b)| m.max((a - b).abs())) / peak;
    let sig: Vec<(f64, f64)> = float.iter().zip(fixed).filter(|(a, _)| a.abs() > 0.02 * peak).map(|(a, b)| (*a, *b)).collect();
    let agree = if sig.is_empty() { 1.0 } else { sig.iter().filter(|(a, b)| a.signum() == b.signum()).count() as f64 / sig.len() as f64 };
    (err, agree)
}

fn curve_metrics(scope: &str, s: &Series, tol: &Tolerances, out: &mut Vec<Metric>) {
    let (err, agree) = curve_errors(&s.float, &s.fixed);
    let scope = format!("{scope} {}", s.name);
    out.push(Metric::new("protocol_error_max", &scope, "fraction of peak |dw|", err, tol.protocol_max, Bound::Max));
    out.push(Metric::new("protocol_sign_agreement", &scope, "fraction where |dw| > 2% of peak", agree, tol.protocol_sign, Bound::Min));
}

/// Runs an STDP protocol; returns the curves and their metrics.
pub fn stdp(setup: &StdpSetup, proto: Protocol, o: &ProtocolOptions, tol: &Tolerances) -> Result<(Vec<Series>, Vec<Metric>), VerifyError> {
    let dt = setup.dt_ms;
    let (lo, hi) = setup.bounds();
    let w0 = 0.5 * (lo + hi);
    let delay = 1u32;
    let point = |pre: Vec<u32>, post: Vec<u32>, period: u32| -> Result<(f64, f64), VerifyError> {
        let mut pre = pre;
        let last = pre.last().copied().unwrap_or(1).max(post.last().copied().unwrap_or(1));
        pre.push(last + period.max(1));
        let r = setup.run(&pre, &post, delay, w0)?;
        Ok((r.w_float.last().copied().unwrap_or(r.w_start) - r.w_start, r.w_fixed.last().copied().unwrap_or(r.w_start) - r.w_start))
    };
    let mut curves = Vec::new();
    match proto {
        Protocol::StdpWindow => {
            let period = (1000.0 / o.rate_hz / dt).round() as u32;
            let mut s = Series { name: format!("window at {} Hz, {} pairs", o.rate_hz, o.n_pairs), x_label: "lag t_post - t_pre (ms)".into(), y_label: "total dw".into(), ..Default::default() };
            for &lag in &o.lags_ms {
                let (pre, post) = pairing(o.n_pairs, period, (lag / dt).round() as i64, delay);
                let (f, x) = point(pre, post, period)?;
                s.x.push(lag);
                s.float.push(f);
                s.fixed.push(x);
            }
            curves.push(s);
        }
        Protocol::PairingFrequency => {
            for lag in [10.0, -10.0] {
                let mut s = Series { name: format!("pairing frequency, lag {lag:+} ms"), x_label: "frequency (Hz)".into(), y_label: "total dw".into(), ..Default::default() };
                for &f in &o.freqs_hz {
                    let period = (1000.0 / f / dt).round() as u32;
                    let (pre, post) = pairing(o.n_pairs, period, (lag / dt).round() as i64, delay);
                    let (a, b) = point(pre, post, period)?;
                    s.x.push(f);
                    s.float.push(a);
                    s.fixed.push(b);
                }
                curves.push(s);
            }
        }
        Protocol::PoissonRates => {
            let n_steps = (o.poisson_s * 1000.0 / dt).round() as u32;
            let mut rng = FepRng::new(o.seed);
            for &rpost in &o.rates_hz {
                let mut s = Series { name: format!("Poisson, post {rpost} Hz"), x_label: "pre rate (Hz)".into(), y_label: "total dw".into(), ..Default::default() };
                for &rpre in &o.rates_hz {
                    let pre = poisson(rpre, n_steps, dt, &mut rng);
                    let post = poisson(rpost, n_steps, dt, &mut rng);
                    let (a, b) = point(pre, post, (1000.0 / dt) as u32)?;
                    s.x.push(rpre);
                    s.float.push(a);
                    s.fixed.push(b);
                }
                curves.push(s);
            }
        }
        other => return Err(VerifyError::Usage(format!("protocol {} applies to the free-energy rule only", other.name()))),
    }
    let mut metrics = Vec::new();
    for s in &curves {
        curve_metrics("protocol", s, tol, &mut metrics);
    }
    Ok((curves, metrics))
}

/// Runs a free-energy protocol (times on a grid of `dt_ms`, float vs `fixed`).
pub fn free_energy(p: &FepParams, w_max: f64, dt_ms: f64, fixed: &dyn FepFixed, proto: Protocol, o: &ProtocolOptions, tol: &Tolerances) -> (Vec<Series>, Vec<Metric>, Vec<String>) {
    let mut curves = Vec::new();
    let mut metrics = Vec::new();
    let mut notes = vec![format!("fixed-point side: {} ({} bytes of tables)", fixed.name(), fixed.memory_bytes())];
    let mean = |(s, n): (f64, usize)| if n > 0 { s / n as f64 } else { 0.0 };
    let window = |w: f64, n_pairs: usize, total: bool, name: String| -> Series {
        let period = (1000.0 / o.rate_hz / dt_ms).round() as u32;
        let mut s = Series { name, x_label: "lag t_post - t_pre (ms)".into(), y_label: if total { "total dw".into() } else { "mean dw per triplet".into() }, ..Default::default() };
        for &lag in &o.lags_ms {
            let (pre, post) = pairing(n_pairs, period, (lag / dt_ms).round() as i64, 0);
            let (a, b) = (vf::total_dw_float(p, &pre, &post, w, dt_ms), vf::total_dw_fixed(fixed, &pre, &post, w));
            s.x.push(lag);
            s.float.push(if total { a.0 } else { mean(a) });
            s.fixed.push(if total { b.0 } else { mean(b) });
        }
        s
    };
    match proto {
        Protocol::StdpWindow => curves.push(window(1.5, o.n_pairs, false, format!("window, w = 1.5, {} Hz", o.rate_hz))),
        Protocol::WeightExtremes => {
            for w in [1.0, 12.0] {
                let s = window(w, 10, true, format!("window, w = {w}, 10 pairs"));
                let (ltp, ltd) = (s.fixed.iter().all(|&x| x > 0.0), s.fixed.iter().all(|&x| x < 0.0));
                notes.push(format!("w = {w}: fixed side {} at every lag", if ltp { "potentiates" } else if ltd { "depresses" } else { "mixes LTP and LTD" }));
                curves.push(s);
            }
        }
        Protocol::PairingFrequency => {
            for lag in [10.0, -10.0] {
                let mut s = Series { name: format!("pairing frequency, w = 1.5, lag {lag:+} ms"), x_label: "frequency (Hz)".into(), y_label: "mean dw per triplet".into(), ..Default::default() };
                for &f in &o.freqs_hz {
                    let period = (1000.0 / f / dt_ms).round() as u32;
                    let (pre, post) = pairing(o.n_pairs, period, (lag / dt_ms).round() as i64, 0);
                    s.x.push(f);
                    s.float.push(mean(vf::total_dw_float(p, &pre, &post, 1.5, dt_ms)));
                    s.fixed.push(mean(vf::total_dw_fixed(fixed, &pre, &post, 1.5)));
                }
                curves.push(s);
            }
        }
        Protocol::PoissonRates => {
            let n_steps = (o.poisson_s * 1000.0 / dt_ms).round() as u32;
            let mut rng = FepRng::new(o.seed);
            for &rpost in &o.rates_hz {
                let mut s = Series { name: format!("rate map, w = 2, post {rpost} Hz"), x_label: "pre rate (Hz)".into(), y_label: "total dw".into(), ..Default::default() };
                for &rpre in &o.rates_hz {
                    let post = poisson(rpost, n_steps, dt_ms, &mut rng);
                    let post: Vec<u32> = post.iter().enumerate().filter(|&(i, &t)| i == 0 || (t - post[i - 1]) as f64 * dt_ms >= fep::protocols::POST_REFRACTORY_MS).map(|(_, &t)| t).collect();
                    let pre = poisson(rpre, n_steps, dt_ms, &mut rng);
                    s.x.push(rpre);
                    s.float.push(vf::total_dw_float(p, &pre, &post, 2.0, dt_ms).0);
                    s.fixed.push(vf::total_dw_fixed(fixed, &pre, &post, 2.0).0);
                }
                curves.push(s);
            }
        }
        Protocol::KernelGrid => {
            let ws: Vec<f64> = (0..o.grid_weights.max(1)).map(|k| 0.5 * (24.0f64).powf(k as f64 / (o.grid_weights.max(2) - 1) as f64)).collect();
            let (mut fs, mut errs, mut signs) = (0.0f64, Vec::new(), (0u64, 0u64));
            let mut pts = Vec::new();
            for &w in &ws {
                let mut a = 1;
                while a <= o.grid_max {
                    let mut b = 1;
                    while b <= o.grid_max {
                        let f = fep::dw(p, a as f64 * dt_ms, (a + b) as f64 * dt_ms, w);
                        let x = fixed.dw(a, a + b, w);
                        fs = fs.max(f.abs());
                        pts.push((f, x));
                        b += o.grid_stride.max(1);
                    }
                    a += o.grid_stride.max(1);
                }
            }
            for &(f, x) in &pts {
                errs.push((x - f) / fs);
                if f.abs() >= fs / 256.0 {
                    signs.0 += 1;
                    signs.1 += u64::from(f.signum() == x.signum());
                }
            }
            let (max, rms) = crate::report::max_rms(&errs);
            let scope = format!("protocol kernel-grid ({} points)", pts.len());
            metrics.push(Metric::new("kernel_error_max", &scope, "fraction of full scale", max, 2f64.powi(-12), Bound::Max));
            metrics.push(Metric::new("kernel_error_rms", &scope, "fraction of full scale (uniform grid)", rms, 2f64.powi(-14), Bound::Max));
            let agree = if signs.0 > 0 { signs.1 as f64 / signs.0 as f64 } else { 1.0 };
            metrics.push(Metric::new("kernel_sign_agreement", &scope, "fraction where |dw| >= 2^-8 FS", agree, 1.0, Bound::Min));
            notes.push(format!("kernel grid: full scale {fs:.4}, {} weights in [0.5, 12]", ws.len()));
            // Slices of the grid for the plots: dw against dt1 at a fixed
            // post interval remainder dt2 - dt1 = 20 steps, float and fixed overlaid.
            for &w in &[1.0, 2.0, 12.0] {
                let mut s = Series { name: format!("kernel slice, w = {w}, dt2 - dt1 = 20 steps"), x_label: "dt1 = t2 - t_pre (ms)".into(), y_label: "dw per triplet".into(), ..Default::default() };
                for a in 1..=o.grid_max.min(255) {
                    s.x.push(a as f64 * dt_ms);
                    s.float.push(fep::dw(p, a as f64 * dt_ms, (a + 20) as f64 * dt_ms, w));
                    s.fixed.push(fixed.dw(a, a + 20, w));
                }
                curves.push(s);
            }
            return (curves, metrics, notes);
        }
        Protocol::Dynamics => {
            let n_steps = (o.poisson_s * 1000.0 / dt_ms).round() as u32;
            let mut rng = FepRng::new(o.seed);
            let pre = poisson(10.0, n_steps, dt_ms, &mut rng);
            let post = poisson(10.0, n_steps, dt_ms, &mut rng);
            let fixed_traj = vf::weight_fixed(fixed, p, w_max, 1.0, &pre, &post);
            let float_traj = vf::weight_float(p, w_max, 1.0, &pre, &post, dt_ms);
            let mut s = Series { name: "w(t), Poisson 10 Hz / 10 Hz".into(), x_label: "time (s)".into(), y_label: "w".into(), ..Default::default() };
            for ((t, a), (_, b)) in float_traj.iter().zip(&fixed_traj) {
                s.x.push(*t as f64 * dt_ms / 1000.0);
                s.float.push(*a);
                s.fixed.push(*b);
            }
            let rel = s.float.iter().zip(&s.fixed).fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / a.abs().max(1e-12)));
            metrics.push(Metric::new("dynamics_rel_error_max", "protocol dynamics", "relative", rel, 0.01, Bound::Max));
            let pre_ms: Vec<f64> = pre.iter().map(|&t| t as f64 * dt_ms).collect();
            let post_ms: Vec<f64> = post.iter().map(|&t| t as f64 * dt_ms).collect();
            if let Ok(wstar) = fep::protocols::fixed_point(p, &pre_ms, &post_ms, fep::protocols::FIXED_POINT_BRACKET) {
                let g = |w: f64| vf::total_dw_fixed(fixed, &pre, &post, w).0;
                if let Ok(wfix) = fep::protocols::bisect(g, fep::protocols::FIXED_POINT_BRACKET.0, fep::protocols::FIXED_POINT_BRACKET.1) {
                    metrics.push(Metric::new("fixed_point_rel_error", "protocol dynamics", "relative", (wfix - wstar).abs() / wstar, 0.01, Bound::Max));
                    notes.push(format!("fixed point w*: float {wstar:.5}, fixed {wfix:.5}"));
                }
            }
            curves.push(s);
            return (curves, metrics, notes);
        }
    }
    for s in &curves {
        curve_metrics("protocol", s, tol, &mut metrics);
    }
    (curves, metrics, notes)
}
