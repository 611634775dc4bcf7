//! Free-energy rule, `spinnaker` profile: kernel-level acceptance without the
//! float reference crate (the float side here is the closed form of
//! fep-synapse-rule.md §1.4–1.5 written out below; the acceptance against
//! `spikeforge_reference::fep` is `targets/verify/tests/fep_acceptance.rs`).
//!
//! Grid: dt1, dt2 − dt1 ∈ [1, 1023] ms × 64 log-spaced w ∈ [0.5, 12]. Built with
//! optimisations (`cargo test --release`) the full grid (67 M evaluations) is
//! run; in a debug build every 8th value of dt1 and of dt2 − dt1 (1, 9, …,
//! 1017, plus 1023) is used, i.e. 129² × 64 = 1.07 M evaluations.

use spikeforge_kernel::spinnaker::fep::*;
use spikeforge_kernel::spinnaker::fep_host::*;

fn tables() -> FepBuild {
    build(&FepHostParams::default()).unwrap()
}

/// Float closed form with the reference's parameters.
fn dw_f64(dt1: f64, dt2: f64, w: f64) -> f64 {
    let (tau, u0, th, ur, g, s0, r0) = (30.0f64, -70.0f64, -55.0f64, -75.0f64, 10.0f64, 10.0f64, 0.5f64);
    let ex = (-dt1 / tau).exp();
    let es = (-(dt2 - dt1) / tau).exp();
    let et = ex * es;
    let a = (2.0 / tau) * ex * ((th - u0) + (u0 - ur) * et) / (1.0 - et * et);
    let d = 1.0 + g * (es + ex);
    let b = s0 * s0 * (2.0 + 3.0 * g * es + g * ex) / (tau * d * d);
    r0 * a / b - ((1.0 - r0) / (2.0 * r0) + w) * r0 * r0 / b + 1.0 / (2.0 * w)
}

fn axis() -> Vec<u32> {
    let step = if cfg!(debug_assertions) { 8 } else { 1 };
    let mut v: Vec<u32> = (1..=1023).step_by(step).collect();
    if *v.last().unwrap() != 1023 {
        v.push(1023);
    }
    v
}

fn w_grid() -> Vec<f64> {
    (0..64).map(|k| (0.5f64.ln() + (12.0f64.ln() - 0.5f64.ln()) * k as f64 / 63.0).exp()).collect()
}

/// Poisson weight of a grid point, as the sampler of `exp_fixed.py`: post rate
/// r ~ U(1, 80) Hz, ISI T ~ Exp(mean 1000/r) ms, pre uniform on the T − 1 integer
/// steps inside the ISI: `weight(dt1, T) = p(T)/(T − 1)`, with
/// `p(T) = (1/79)∫_1^80 (r/1000)·exp(−r·T/1000) dr`.
pub fn poisson_weight(t: f64) -> f64 {
    let a = t / 1000.0;
    let prim = |r: f64| -(r / a + 1.0 / (a * a)) * (-a * r).exp() / 1000.0;
    (prim(80.0) - prim(1.0)) / 79.0 / (t - 1.0)
}

#[test]
fn kernel_grid_meets_issue_bounds() {
    let b = tables();
    let t = &b.tables;
    let ax = axis();
    let ws = w_grid();
    let wq: Vec<Uq8p24> = ws.iter().map(|&w| Uq8p24((w * 16777216.0).round() as u32)).collect();
    let mut fs = 0.0f64;
    let mut max_err = 0.0f64;
    let mut se = vec![0.0f64; ws.len()];
    let mut sw = 0.0f64;
    let mut errs: Vec<(f64, f64)> = Vec::new(); // (|ref|, sign agreement)
    for &i in &ax {
        for &j in &ax {
            let pw = poisson_weight((i + j) as f64);
            sw += pw;
            let (ltp, ltd) = parts(t, i, i + j);
            for (k, &w) in ws.iter().enumerate() {
                let wf = wq[k].to_f64();
                let r = dw_f64(i as f64, (i + j) as f64, wf);
                let x = dw_from_parts(t, ltp, ltd, wq[k], half_inv(t, wq[k])).to_f64();
                fs = fs.max(r.abs());
                max_err = max_err.max((x - r).abs());
                se[k] += pw * (x - r) * (x - r);
                if r.abs() >= 15.0 / 256.0 && (x > 0.0) != (r > 0.0) {
                    errs.push((r, x));
                }
                let _ = w;
            }
        }
    }
    let rms = se.iter().map(|s| (s / sw).sqrt()).fold(0.0, f64::max);
    eprintln!("grid {}x{}x64: FS = {fs:.4}, max/FS = {:.3e}, Poisson RMS/FS (worst w) = {:.3e}", ax.len(), ax.len(), max_err / fs, rms / fs);
    assert!(fs > 15.0 && fs < 16.5, "FS {fs}");
    assert!(max_err <= fs / 4096.0, "max err {max_err} > 2^-12 FS");
    assert!(rms <= fs / 16384.0, "rms {rms} > 2^-14 FS");
    let flips: Vec<_> = errs.iter().filter(|(r, _)| r.abs() >= fs / 256.0).collect();
    assert!(flips.is_empty(), "sign flips: {:?}", &flips[..flips.len().min(5)]);
}

#[test]
fn dw_matches_parts_and_clamps_w() {
    let b = tables();
    let t = &b.tables;
    for (i, dt2) in [(1u32, 2u32), (5, 40), (300, 310), (1000, 2046)] {
        for w in [Uq8p24(1 << 16), Uq8p24(3 << 23), Uq8p24(12 << 24)] {
            let (l, d) = parts(t, i, dt2);
            assert_eq!(dw(t, i, dt2, w), dw_from_parts(t, l, d, w, half_inv(t, w)));
        }
    }
    // below w_min the kernel uses w_min
    assert_eq!(dw(t, 5, 40, Uq8p24(1)), dw(t, 5, 40, t.w_min));
    // 1/(2w) at w = 0.5 is exactly 1, at w_min = 2^-8 it is 128
    assert_eq!(half_inv(t, Uq8p24(1 << 23)).0, 1 << 24);
    assert_eq!(half_inv(t, Uq8p24(1 << 16)).0, 128 << 24);
}

#[test]
fn reciprocal_and_sqrt_tables_are_accurate() {
    let b = tables();
    let t = &b.tables;
    let mut worst_r = 0.0f64;
    let mut worst_s = 0.0f64;
    let mut x: u32 = 1 << 16;
    while x < u32::MAX / 2 {
        let (r, s) = recip(t, x);
        let v = r.0 as f64 / 2f64.powi(s as i32);
        worst_r = worst_r.max((v * x as f64 - 1.0).abs());
        let q = sqrt_uq8p24(t, Uq8p24(x)).to_f64();
        let e = (x as f64 / 16777216.0).sqrt();
        worst_s = worst_s.max((q - e).abs() / e);
        x = x + x / 977 + 1;
    }
    assert!(worst_r < 4.0e-6, "reciprocal rel err {worst_r}");
    assert!(worst_s < 1.0e-5, "sqrt rel err {worst_s}");
}

/// The synapse state machine (live + folded pre spikes) gives bit for bit the
/// sum of the per-triplet kernel, with dt1 up to 2000 ms (folds happen).
#[test]
fn synapse_fold_is_bit_exact() {
    let b = tables();
    let t = &b.tables;
    let post = [100u32, 130, 1100, 1160, 3200, 3203, 3204, 4000];
    let mut rng = FepRng::new(7);
    let mut pre = Vec::new();
    let mut s = 0u32;
    while s < 4100 {
        s += 1 + (rng.next_u032().0 % 40);
        pre.push(s);
    }
    let w0 = Uq8p24(2 << 24);
    let mut syn = FepSynapse::new(t, w0);
    let (mut k, mut folded) = (0usize, 0u32);
    for (n, &t2) in post.iter().enumerate() {
        while k < pre.len() && pre[k] < t2 {
            syn.on_pre(t, pre[k]);
            k += 1;
        }
        let w = syn.w();
        let c = syn.on_post(t, t2);
        if n > 0 {
            let t1 = post[n - 1];
            let mut sum = 0i64;
            let mut cnt = 0;
            for &tp in pre.iter().filter(|&&tp| tp > t1 && tp < t2) {
                sum += dw(t, t2 - tp, t2 - t1, w).0;
                cnt += 1;
            }
            assert_eq!(c.dw.0, sum, "post {t2}");
            assert_eq!(c.n_live + c.n_folded, cnt);
            folded += c.n_folded;
            let expect = (w.0 as i64 + scaled_update(t, Sq39p24(sum)).0).clamp(t.w_min.0 as i64, t.w_max.0 as i64);
            assert_eq!(c.w_after.0 as i64, expect);
        }
        while k < pre.len() && pre[k] == t2 {
            k += 1;
        }
    }
    assert!(folded > 20, "the test must exercise the fold ({folded})");
    assert_eq!(syn.early_folds, 0);
}

#[test]
fn eta_update_is_rounded_scaled_sum() {
    let b = tables();
    let t = &b.tables;
    let sum = Sq39p24(1000 << 24); // Σdw = 1000
    let d = scaled_update(t, sum).to_f64();
    assert!((d - 1e-2).abs() < 1e-7, "{d}");
    assert!((scaled_update(t, Sq39p24(-(1000 << 24))).to_f64() + 1e-2).abs() < 1e-7);
    assert!(b.precision.eta.max_rel < 1e-9);
}

/// Release: `max(0, r0·w + sqrt(s0·w)·eps)` has the truncated-normal mean and
/// second moment; the stream is deterministic per seed.
#[test]
fn release_statistics_and_determinism() {
    let b = tables();
    let t = &b.tables;
    let p = &b.precision;
    assert!((p.gauss_variance - 1.0).abs() < 2e-3, "source variance {}", p.gauss_variance);
    assert!(p.gauss_max > 3.4 && p.gauss_max < 3.6);
    for w in [0.5f64, 2.0, 8.0] {
        let wq = Uq8p24((w * 16777216.0) as u32);
        let mut rng = FepRng::new(12345);
        let n = 400_000;
        let (mut m1, mut m2) = (0.0, 0.0);
        for _ in 0..n {
            let y = release(t, wq, &mut rng).to_f64();
            assert!(y >= 0.0);
            m1 += y;
            m2 += y * y;
        }
        m1 /= n as f64;
        m2 /= n as f64;
        let (mu, sd) = (0.5 * w, (0.25 * w).sqrt());
        let z = mu / sd;
        let phi = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let cdf = 1.0 - 0.5 * erfc_approx(z / std::f64::consts::SQRT_2);
        let e1 = mu * cdf + sd * phi;
        let e2 = (mu * mu + sd * sd) * cdf + mu * sd * phi;
        assert!((m1 - e1).abs() < 4.0 * sd / (n as f64).sqrt() + 1e-3 * e1, "w {w}: mean {m1} vs {e1}");
        assert!((m2 - e2).abs() / e2 < 1e-2, "w {w}: m2 {m2} vs {e2}");
    }
    let mut a = FepRng::new(9);
    let mut c = FepRng::new(9);
    let w = Uq8p24(3 << 24);
    for _ in 0..1000 {
        assert_eq!(release(t, w, &mut a), release(t, w, &mut c));
    }
}

fn erfc_approx(x: f64) -> f64 {
    // Abramowitz–Stegun 7.1.26 is too coarse; integrate the density instead.
    let n = 20000;
    let hi = 10.0f64;
    if x >= hi {
        return 0.0;
    }
    let h = (hi - x) / n as f64;
    let f = |u: f64| (-u * u).exp();
    let mut s = f(x) + f(hi);
    for k in 1..n {
        s += if k % 2 == 1 { 4.0 } else { 2.0 } * f(x + k as f64 * h);
    }
    s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn memory_fits_arm968() {
    let m = memory();
    assert_eq!(m.tables_total, 6960);
    assert_eq!(m.exp_lut + m.f_lut + m.recip_lut + m.sqrt_lut + m.gauss_lut + m.constants, m.tables_total);
    assert!(m.fits_dtcm_quarter);
    // Tables plus the state of 1000 synapses take less than half of DTCM; the
    // pre-spike history (255 B per pre neuron) travels with the synaptic row in
    // SDRAM, like sPyNNaker's STDP pre-trace header.
    assert!(m.tables_total + 1000 * m.per_synapse < ARM968_DTCM_BYTES / 2);
    assert_eq!(m.per_synapse, 14);
    assert_eq!(m.per_pre_neuron, 255);
    assert_eq!(tables().memory, m);
}

#[test]
fn host_rejects_unrepresentable_parameters() {
    let p = FepHostParams::default();
    assert!(matches!(build(&FepHostParams { gamma: 70.0, ..p }), Err(FepHostError::Range { .. })));
    assert!(matches!(build(&FepHostParams { w_min: 1e-3, ..p }), Err(FepHostError::Domain { field: "w_min", .. })));
    assert!(matches!(build(&FepHostParams { sigma0: f64::NAN, ..p }), Err(FepHostError::Domain { field: "sigma0", .. })));
    assert!(matches!(build(&FepHostParams { sigma0: 0.5, ..p }), Err(FepHostError::Range { .. })));
    let b = tables();
    assert!(b.precision.exp_lut.max_abs <= 2f64.powi(-33));
    assert!(b.precision.f_lut.max_abs <= 2f64.powi(-25));
    assert_eq!(b.precision.gamma.max_abs, 0.0);
}
