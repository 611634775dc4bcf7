//! Acceptance of the `spinnaker` kernel's free-energy rule
//! (`spikeforge_verify::fep_kernel::SpinnakerFep`) against the float64
//! reference (`spikeforge_reference::fep`), with the bounds of issue 5.
//!
//! * Kernel grid: dt1, dt2 − dt1 ∈ [1, 1023] ms × 64 log-spaced w ∈ [0.5, 12].
//!   With optimisations (`cargo test --release -p spikeforge-verify --test
//!   fep_acceptance`) the full grid (67 M evaluations); in a debug build every
//!   16th value of both axes (1, 17, …, 1009, plus 1023): 65² × 64 = 270 k.
//! * Protocols: STDP window, w = 1 / w = 12, pairing frequency, rate map.
//! * Dynamics: 100 s of Poisson input (cheap: runs in debug too).

use spikeforge_reference::fep::{self, protocols as rp, FepParams, FepRng};
use spikeforge_verify::fep::{total_dw_fixed, total_dw_float, weight_float, FepFixed};
use spikeforge_verify::fep_kernel::SpinnakerFep;

const W_MAX: f64 = 64.0;

fn setup() -> (FepParams, SpinnakerFep) {
    let p = FepParams::default();
    (p, SpinnakerFep::new(&p, W_MAX).unwrap())
}

/// Poisson weight of a grid point, as the sampler of `exp_fixed.py` (post
/// rate U(1, 80) Hz, ISI T exponential, pre uniform on the T − 1 steps of the
/// ISI): `p(T)/(T − 1)`, `p(T) = (1/79)∫_1^80 (r/1000)·exp(−rT/1000) dr`.
fn poisson_weight(t: f64) -> f64 {
    let a = t / 1000.0;
    let prim = |r: f64| -(r / a + 1.0 / (a * a)) * (-a * r).exp() / 1000.0;
    (prim(80.0) - prim(1.0)) / 79.0 / (t - 1.0)
}

#[test]
fn kernel_grid_against_reference() {
    let (p, k) = setup();
    let step = if cfg!(debug_assertions) { 16 } else { 1 };
    let mut ax: Vec<u32> = (1..=1023).step_by(step).collect();
    if *ax.last().unwrap() != 1023 {
        ax.push(1023);
    }
    let ws: Vec<f64> = (0..64).map(|i| (0.5f64.ln() + (12.0f64.ln() - 0.5f64.ln()) * i as f64 / 63.0).exp()).collect();
    let (mut fs, mut max_err, mut sw) = (0.0f64, 0.0f64, 0.0f64);
    let mut se = vec![0.0f64; ws.len()];
    let mut sign_pairs = Vec::new();
    for &i in &ax {
        for &j in &ax {
            let (dt1, dt2) = (i as f64, (i + j) as f64);
            let (l, d) = (fep::w_ltp(&p, dt1, dt2), fep::w_ltd(&p, dt1, dt2));
            let pw = poisson_weight(dt2);
            sw += pw;
            for (n, &w) in ws.iter().enumerate() {
                let r = fep::kernel::dw_from_parts(&p, l, d, w);
                let x = k.dw(i, i + j, w);
                fs = fs.max(r.abs());
                max_err = max_err.max((x - r).abs());
                se[n] += pw * (x - r) * (x - r);
                if (x > 0.0) != (r > 0.0) {
                    sign_pairs.push((i, j, w, r, x));
                }
            }
        }
    }
    let rms = se.iter().map(|s| (s / sw).sqrt()).fold(0.0, f64::max);
    let flips: Vec<_> = sign_pairs.iter().filter(|s| s.3.abs() >= fs / 256.0).collect();
    eprintln!("grid {}² × 64: FS = {fs:.4}, max |Δdw|/FS = {:.3e} (bound 2.44e-4), Poisson RMS/FS = {:.3e} (bound 6.10e-5), sign flips ≥ 2^-8 FS: {}", ax.len(), max_err / fs, rms / fs, flips.len());
    assert!(max_err <= fs / 4096.0);
    assert!(rms <= fs / 16384.0);
    assert!(flips.is_empty(), "{:?}", &flips[..flips.len().min(5)]);
}

fn pairing(n: usize, period: u32, lag: i64) -> (Vec<u32>, Vec<u32>) {
    let pre: Vec<u32> = (0..n as u32).map(|k| 200 + k * period).collect();
    let post = pre.iter().map(|&t| (t as i64 + lag) as u32).collect();
    (pre, post)
}

/// `(float, fixed)` curves: within 1 % of the float peak, equal signs where |float| > 2 % of peak.
fn check_curve(name: &str, float: &[f64], fixed: &[f64]) {
    let peak = float.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let err = float.iter().zip(fixed).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    eprintln!("{name}: peak {peak:.4}, max err / peak {:.2e}", err / peak);
    assert!(err <= 0.01 * peak, "{name}: {err} > 1% of {peak}");
    for (a, b) in float.iter().zip(fixed) {
        if a.abs() > 0.02 * peak {
            assert_eq!(*a > 0.0, *b > 0.0, "{name}: sign of {a} vs {b}");
        }
    }
}

const LAGS: [i64; 14] = [-100, -50, -30, -20, -10, -5, -2, 2, 5, 10, 20, 30, 50, 100];

#[test]
fn stdp_window_and_weight_extremes() {
    let (p, k) = setup();
    let curve = |w: f64, total: bool| -> (Vec<f64>, Vec<f64>) {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for lag in LAGS {
            let (pre, post) = pairing(10, 1000, lag);
            let (f, n) = total_dw_float(&p, &pre, &post, w, 1.0);
            let (x, m) = total_dw_fixed(&k, &pre, &post, w);
            assert_eq!(n, m);
            a.push(if total { f } else { f / n as f64 });
            b.push(if total { x } else { x / m as f64 });
        }
        (a, b)
    };
    let (f, x) = curve(1.5, false);
    check_curve("STDP window w = 1.5, 1 Hz", &f, &x);
    for (n, lag) in LAGS.iter().enumerate() {
        if (2..=10).contains(lag) {
            assert!(x[n] > 0.0, "LTP expected at +{lag} ms");
        }
        if (-10..=-2).contains(lag) {
            assert!(x[n] < 0.0, "LTD expected at {lag} ms");
        }
    }
    let (f1, x1) = curve(1.0, true);
    check_curve("w = 1, 10 pairs", &f1, &x1);
    assert!(x1.iter().all(|&v| v > 0.0), "w = 1: LTP at every lag");
    let (f12, x12) = curve(12.0, true);
    check_curve("w = 12, 10 pairs", &f12, &x12);
    assert!(x12.iter().all(|&v| v < 0.0), "w = 12: LTD at every lag");
    // reference table (fep-synapse-rule.md §3, Fig. 2F): +2 ms at w = 12 is −67.38
    assert!((x12[7] + 67.38).abs() < 0.01 * 67.38);
}

#[test]
fn pairing_frequency() {
    let (p, k) = setup();
    for lag in [10i64, -10] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for f in [0.1f64, 1.0, 5.0, 10.0, 20.0, 40.0, 50.0] {
            let (pre, post) = pairing(10, (1000.0 / f).round() as u32, lag);
            let (x, n) = total_dw_float(&p, &pre, &post, 1.5, 1.0);
            let (y, m) = total_dw_fixed(&k, &pre, &post, 1.5);
            a.push(x / n as f64);
            b.push(y / m as f64);
        }
        check_curve(&format!("pairing frequency, lag {lag:+} ms"), &a, &b);
        // potentiation at 50 Hz for both lags (reference §3)
        assert!(*b.last().unwrap() > 0.0);
    }
}

fn to_steps(v: &[f64]) -> Vec<u32> {
    v.iter().map(|&t| t.floor() as u32).collect()
}

#[test]
fn poisson_rate_map() {
    let (p, k) = setup();
    let pre_rates = [1.0, 5.0, 10.0, 20.0, 50.0];
    let post_rates = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 80.0];
    let reps = if cfg!(debug_assertions) { 8 } else { 20 };
    let mut rng = FepRng::new(2024);
    let (mut fl, mut fx) = (Vec::new(), Vec::new());
    for &rpost in &post_rates {
        for &rpre in &pre_rates {
            let (mut a, mut b) = (0.0, 0.0);
            for _ in 0..reps {
                let post = rp::refractory_filter(&rp::poisson_train(rpost, 10_000.0, &mut rng), rp::POST_REFRACTORY_MS);
                let pre = rp::poisson_train(rpre, 10_000.0, &mut rng);
                let (pre, post) = (to_steps(&pre), to_steps(&post));
                a += total_dw_float(&p, &pre, &post, 2.0, 1.0).0 / reps as f64;
                b += total_dw_fixed(&k, &pre, &post, 2.0).0 / reps as f64;
            }
            fl.push(a);
            fx.push(b);
        }
    }
    check_curve("rate map w = 2", &fl, &fx);
    let row = |r: usize| &fx[r * pre_rates.len()..(r + 1) * pre_rates.len()];
    // depression at post 10 and 20 Hz in every cell, at 5 Hz on the row sum; potentiation at ≥ 50 Hz
    for r in [3usize, 4] {
        assert!(row(r).iter().all(|&v| v < 0.0), "post {} Hz: {:?}", post_rates[r], row(r));
    }
    assert!(row(2).iter().sum::<f64>() < 0.0, "post 5 Hz: {:?}", row(2));
    for r in [6usize, 7] {
        assert!(row(r).iter().all(|&v| v > 0.0), "post {} Hz: {:?}", post_rates[r], row(r));
    }
}

/// 100 s of Poisson input: the kernel's synapse (32-bit accumulator, folded
/// state) against the unbounded float synapse, and the fixed points.
#[test]
fn weight_dynamics_100s_and_fixed_point() {
    for (eta, rpre, rpost, seed) in [(1e-5, 10.0, 10.0, 1u64), (1e-5, 10.0, 50.0, 2), (1e-2, 10.0, 20.0, 3), (1e-2, 10.0, 50.0, 4)] {
        let p = FepParams { eta, ..FepParams::default() };
        let k = SpinnakerFep::new(&p, W_MAX).unwrap();
        let mut rng = FepRng::new(seed);
        let (pre, post) = rp::poisson_pair(rpre, rpost, 100_000.0, &mut rng);
        let (pre, post) = (to_steps(&pre), to_steps(&post));
        let w0 = 1.0;
        let a = k.weight_trajectory(w0, &pre, &post);
        let b = weight_float(&p, W_MAX, w0, &pre, &post, 1.0);
        assert_eq!(a.len(), b.len());
        let (mut worst, mut drift_err, mut drift) = (0.0f64, 0.0f64, 0.0f64);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.0, y.0);
            worst = worst.max((x.1 - y.1).abs() / y.1);
            drift_err = drift_err.max((x.1 - y.1).abs());
            drift = drift.max((y.1 - w0).abs());
        }
        // the fixed point of the same trains: float closed form vs bisection on the kernel's Σdw
        let pre_ms: Vec<f64> = pre.iter().map(|&t| t as f64).collect();
        let post_ms: Vec<f64> = post.iter().map(|&t| t as f64).collect();
        let ws_float = rp::fixed_point_closed_form(&p, &pre_ms, &post_ms).unwrap();
        let ws_fixed = rp::bisect(|w| total_dw_fixed(&k, &pre, &post, w).0, 0.05, 60.0).unwrap();
        let (wx, wf) = (a.last().unwrap().1, b.last().unwrap().1);
        eprintln!(
            "eta {eta:e}, pre {rpre} / post {rpost} Hz: w(100 s) fixed {wx:.6} float {wf:.6}, max rel err {worst:.2e}, drift err / drift {:.2e}; w* float {ws_float:.5} fixed {ws_fixed:.5}",
            drift_err / drift
        );
        assert!(worst <= 0.01, "w(t) off by {worst}");
        assert!(drift_err <= 0.01 * drift, "drift error {drift_err} vs drift {drift}");
        assert!((ws_fixed - ws_float).abs() <= 0.01 * ws_float);
        if eta > 1e-4 {
            // accelerated: both trajectories end near w*
            assert!((wx - ws_float).abs() < 0.05 * ws_float && (wf - ws_float).abs() < 0.05 * ws_float, "{wx} {wf} {ws_float}");
        }
    }
}

#[test]
fn memory_per_core() {
    let (_, k) = setup();
    assert_eq!(k.memory_bytes(), 6960);
    assert!(k.memory_bytes() <= spikeforge_kernel::spinnaker::fep_host::ARM968_DTCM_BYTES / 4);
    let a9 = FepParams { variance_form: fep::VarianceForm::A9, ..FepParams::default() };
    assert!(SpinnakerFep::new(&a9, W_MAX).unwrap_err().contains("Eq. 14"));
}
