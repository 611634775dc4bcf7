//! Host formulas: STDP exp LUTs (golden tables of `reference/spinnaker.md`
//! §1.2, produced by sPyNNaker's `get_exp_lut_array`), the weight-scale shift
//! rule (§1.8), weight quantization and the Poisson bound.

use spikeforge_kernel::spinnaker::host::*;

const TAU20: [i16; 154] = [
    2048, 1948, 1853, 1762, 1676, 1594, 1517, 1443, 1372, 1305, 1242, 1181, 1123, 1069, 1017, 967, //
    920, 875, 832, 792, 753, 716, 681, 648, 616, 586, 558, 530, 505, 480, 456, 434, //
    413, 393, 374, 355, 338, 322, 306, 291, 277, 263, 250, 238, 226, 215, 205, 195, //
    185, 176, 168, 159, 152, 144, 137, 130, 124, 118, 112, 107, 101, 96, 92, 87, //
    83, 79, 75, 71, 68, 65, 61, 58, 55, 53, 50, 48, 45, 43, 41, 39, //
    37, 35, 33, 32, 30, 29, 27, 26, 25, 23, 22, 21, 20, 19, 18, 17, //
    16, 16, 15, 14, 13, 13, 12, 11, 11, 10, 10, 9, 9, 8, 8, 7, //
    7, 7, 6, 6, 6, 5, 5, 5, 5, 4, 4, 4, 4, 3, 3, 3, //
    3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, //
    1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
];

const TAU5: [i16; 40] = [
    2048, 1676, 1372, 1123, 920, 753, 616, 505, 413, 338, 277, 226, 185, 152, 124, 101, 83, 68, 55, 45, 37, 30,
    25, 20, 16, 13, 11, 9, 7, 6, 5, 4, 3, 2, 2, 1, 1, 1, 1, 0,
];

#[test]
fn lut_tau20_matches_golden_entry_for_entry() {
    let mut v = [0i16; 200];
    let n = exp_lut(1.0, 20.0, 0, &mut v).unwrap();
    assert_eq!(n, 154);
    assert_eq!(&v[..n], &TAU20[..]);
    let mut w = [0u32; 100];
    let words = pack_exp_lut(&v[..n], 0, &mut w).unwrap();
    assert_eq!(words, 78);
    assert_eq!(w[0], 0x0000_009a);
    assert_eq!(w[1], 2048 | 1948 << 16);
    assert_eq!(w[77], 1); // entries 152, 153 = 1, 0
}

#[test]
fn lut_tau5_matches_golden() {
    let mut v = [0i16; 64];
    let n = exp_lut(1.0, 5.0, 0, &mut v).unwrap();
    assert_eq!(&v[..n], &TAU5[..]);
    assert_eq!(packed_lut_words(n), 21);
}

#[test]
fn lut_sizes_with_shift() {
    assert_eq!(exp_lut_len(1.0, 200.0, 2).unwrap(), 382);
    assert_eq!(packed_lut_words(382), 192);
    assert_eq!(exp_lut_len(1.0, 1000.0, 4).unwrap(), 478);
    assert_eq!(packed_lut_words(478), 240);
    // values with a shift: entry i is exp(-(i << shift) * lambda)
    let mut v = [0i16; 478];
    let n = exp_lut(1.0, 1000.0, 4, &mut v).unwrap();
    assert_eq!(n, 478);
    assert_eq!(v[0], 2048);
    assert_eq!(v[1] as f64, (libm::exp(-16.0 / 1000.0) * 2048.0).floor());
    let mut w = [0u32; 240];
    pack_exp_lut(&v[..n], 4, &mut w).unwrap();
    assert_eq!(w[0], 478 | 4 << 16);
    // too small a buffer is reported, not truncated
    assert_eq!(exp_lut(1.0, 1000.0, 4, &mut [0i16; 10]), Err(HostError::BufferTooSmall(478)));
    assert_eq!(exp_lut_len(1.0, 0.0, 0), Err(HostError::Domain));
}

#[test]
fn weight_scale_table() {
    for (w, shift, scale) in [(0.5, 0, 32768.0), (1.0, 1, 16384.0), (1.5, 1, 16384.0), (3.0, 2, 8192.0), (17.2, 5, 1024.0)]
    {
        let s = ring_buffer_shift(w).unwrap();
        assert_eq!(s, shift, "max weight {w}");
        assert_eq!(weight_scale(s, 1.0), scale);
    }
    assert_eq!(ring_buffer_shift(0.0).unwrap(), 0);
    assert_eq!(ring_buffer_shift(-3.0).unwrap(), 0);
    assert_eq!(ring_buffer_shift(2.0).unwrap(), 2);
    assert_eq!(ring_buffer_shift(f64::NAN), Err(HostError::NotFinite));
    assert_eq!(weight_scale(3, 1024.0), 4096.0 * 1024.0);
}

#[test]
fn quantization_reports_zero_and_overflow() {
    let scale = weight_scale(2, 1.0); // 8192
    let q = quantize_weight(1.0, scale);
    assert_eq!((q.w16, q.kind), (8192, QuantKind::Ok));
    let q = quantize_weight(-0.25, scale);
    assert_eq!((q.w16, q.kind), (2048, QuantKind::Ok));
    // rint ties to even: 0.5/8192 -> 0 (reported), 1.5/8192 -> 2
    let q = quantize_weight(0.5 / 8192.0, scale);
    assert_eq!((q.w16, q.kind), (0, QuantKind::RoundedToZero));
    assert_eq!(quantize_weight(1.5 / 8192.0, scale).w16, 2);
    let q = quantize_weight(8.0, scale);
    assert_eq!((q.w16, q.kind, q.rounded), (0, QuantKind::Overflow, 65536.0));
    assert_eq!(quantize_weight(0.0, scale).kind, QuantKind::Ok);
    assert_eq!(quantize_weight(f64::INFINITY, scale).kind, QuantKind::NotFinite);

    let ws = [1.0, 1e-6, 9.0, 0.0, 2e-5, 3.0];
    let mut out = [0u16; 6];
    let r = quantize_weights(&ws, scale, &mut out).unwrap();
    assert_eq!(out, [8192, 0, 8192, 0, 0, 24576]);
    assert_eq!((r.n_rounded_to_zero, r.first_rounded_to_zero), (2, Some(1)));
    assert_eq!((r.n_overflow, r.first_overflow), (1, Some(2)));
    assert_eq!(r.max_abs_error, 0.0);
    assert_eq!(quantize_weights(&ws, scale, &mut [0u16; 2]), Err(HostError::BufferTooSmall(6)));
}

#[test]
fn max_weight_constant_delays_uses_total() {
    // 100 connections, w_max 0.5, default 30 Hz at 1 ms -> spikes_per_tick = 1
    let mut e = MaxWeightEstimator::new(1.0);
    let spt = default_spikes_per_tick(DEFAULT_SPIKES_PER_SECOND, 1000.0);
    assert_eq!(spt, 1.0);
    e.add_projection(&ProjectionStats {
        n_connections: 100,
        weight_mean: 0.5,
        weight_variance: 0.0,
        weight_max: 0.5,
        delay_variance: 0.0,
        spikes_per_tick: spt,
        spikes_per_second: 30.0,
    });
    assert_eq!(e.max_weight(DEFAULT_RING_BUFFER_SIGMA, 1000.0).unwrap(), 50.0);
    assert_eq!(ring_buffer_shift(50.0).unwrap(), 6);
}

#[test]
fn max_weight_poisson_bound_with_delay_variance() {
    // constant weights: bound = lam*w + sigma*sqrt(lam*w^2), lam = 100*30/1000 = 3
    let mut e = MaxWeightEstimator::new(1.0);
    e.add_projection(&ProjectionStats {
        n_connections: 100,
        weight_mean: 0.5,
        weight_variance: 0.0,
        weight_max: 0.5,
        delay_variance: 1.0,
        spikes_per_tick: 1.0,
        spikes_per_second: 30.0,
    });
    let want = 3.0 * 0.5 + 5.0 * libm::sqrt(3.0 * 0.25);
    assert!((e.max_weight(5.0, 1000.0).unwrap() - want).abs() < 1e-12);
    // with weight variance the extra term is positive and below the cap
    let b0 = expected_upper_bound(0.5, 0.0, 30.0, 100, 5.0, 1000.0).unwrap();
    let b1 = expected_upper_bound(0.5, 0.2, 30.0, 100, 5.0, 1000.0).unwrap();
    assert!(b1 > b0);
    // e^lam*Q(1+ub, lam) - lam^ub/ub! = sum_{k<ub} lam^k/k!  (ub = round(3+3*sqrt 3) = 8)
    let lam: f64 = 3.0;
    let mut s = 0.0;
    let mut t = 1.0;
    for k in 0..8 {
        if k > 0 {
            t *= lam / k as f64;
        }
        s += t;
    }
    let wv = libm::exp(-lam + lam.ln() + 2.0 * 0.2f64.ln() + s.ln());
    let want1 = lam * 0.5 + 5.0 * libm::sqrt(lam * 0.25 + wv);
    assert!((b1 - want1).abs() < 1e-12, "{b1} vs {want1}");
}
