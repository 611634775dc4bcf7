//! STDP rules beyond the pair rule: nearest pair, Pfister triplet with the
//! additive two-term weight rule, the rule-generic row engine, state layouts,
//! and the host-side precision report.
//!
//! Chip-derived goldens (`TRIPLET_ADD`, `NEAREST_ADD`, `NEAREST_MUL`): a C
//! harness that `#include`s the unmodified upstream headers
//! (`weight_additive_two_term_impl.h` + `timing_pfister_triplet_impl.h`,
//! `weight_additive_one_term_impl.h` / `weight_multiplicative_impl.h` +
//! `timing_nearest_pair_impl.h`, `post_events.h`, and
//! `plasticity_update_synapse` cut verbatim from
//! `synapse_dynamics_stdp_mad_impl.c`, sPyNNaker fork `emijan-kth/sPyNNaker`
//! @558fca1, spinn_common @1e3a090 for `__smulbb`), compiled with
//! `arm-none-eabi-gcc -marm -mcpu=arm968e-s -O2` and run under `qemu-arm -cpu
//! arm926`. The harness drives one post neuron and one row of three synapses
//! (w16 = 16000, 30000, 500; dendritic delays 1, 2, 5; weight shift 1) over
//! steps 0..600 with the pre/post trains of [`trains`], adding the step's post
//! event before processing the step's pre spike, and prints the three
//! weights after every pre spike (rows: time, w0, w1, w2). LUTs are
//! sPyNNaker's `get_exp_lut_array` with dt = 1 ms: tau_plus 16.8, tau_minus
//! 33.7 (shift 0), tau_x 101, tau_y 125 (shift 2). No upstream code is in
//! this repository; only the printed numbers are.

use spikeforge_kernel::fixed::{S1615, S411};
use spikeforge_kernel::spinnaker::host::*;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use spikeforge_kernel::spinnaker::stdp::nearest::{
    self, NearestPairRule, NearestPostEventHistory, NearestPreEventHistory,
};
use spikeforge_kernel::spinnaker::stdp::triplet::{
    self, TripletPostEventHistory, TripletPostTrace, TripletPreEventHistory, TripletPreTrace, TripletRule,
};
use spikeforge_kernel::spinnaker::stdp::*;

/// The LCG trains of the harness (`s = s·1103515245 + 12345 mod 2^31`, spike
/// at step t in 1..600 if `(s >> 8) % 1000 < p`): pre seed 7 p 60, post seed
/// 11 p 80.
fn trains() -> (Vec<u32>, Vec<u32>) {
    let gen = |seed: u64, p: u64| {
        let mut s = seed;
        let mut out = Vec::new();
        for t in 1..600u32 {
            s = (s.wrapping_mul(1103515245) + 12345) & 0x7fff_ffff;
            if (s >> 8) % 1000 < p {
                out.push(t);
            }
        }
        out
    };
    (gen(7, 60), gen(11, 80))
}

fn lut(tau: f64, shift: u32) -> Vec<i16> {
    let n = exp_lut_len(1.0, tau, shift).unwrap();
    let mut v = vec![0i16; n];
    exp_lut(1.0, tau, shift, &mut v).unwrap();
    v
}

const LAYOUT: RingBufferLayout = RingBufferLayout { log_n_neurons: 1, log_n_synapse_types: 1, log_max_delay: 3 };
const SYN: [PlasticSynapse; 3] = [
    PlasticSynapse { delay: 1, synapse_type: 0, neuron: 0 },
    PlasticSynapse { delay: 2, synapse_type: 0, neuron: 0 },
    PlasticSynapse { delay: 5, synapse_type: 0, neuron: 0 },
];

/// Run the harness scenario through the generic engine.
fn run<T: TimingRule, W: WeightRule<Terms = T::Terms>>(rule: &T, w: &W) -> Vec<[u32; 4]> {
    let (pre_t, post_t) = trains();
    let mut posts = [T::PostHistory::initial()];
    let mut pre = T::PreHistory::zeroed();
    let mut weights = [16000u16, 30000, 500];
    let mut rb = vec![0u16; LAYOUT.len()];
    let cfg = RowConfig { layout: &LAYOUT, backprop_delay: true };
    let mut out = Vec::new();
    for t in 0..600u32 {
        if post_t.contains(&t) {
            process_post_event(rule, &mut posts[0], t);
        }
        if pre_t.contains(&t) {
            rb.iter_mut().for_each(|x| *x = 0);
            let s = process_row(rule, w, &cfg, &mut rb, &posts, &mut pre, &SYN, &mut weights, t);
            assert_eq!(s.saturated, 0);
            for (k, syn) in SYN.iter().enumerate() {
                assert_eq!(rb[LAYOUT.index(t + syn.delay, 0, 0)], weights[k], "ring buffer at {t}");
            }
            out.push([t, weights[0] as u32, weights[1] as u32, weights[2] as u32]);
        }
    }
    out
}
use bytemuck::Zeroable;

#[test]
fn triplet_additive_matches_chip() {
    let (p, m, x, y) = (lut(16.8, 0), lut(33.7, 0), lut(101.0, 2), lut(125.0, 2));
    assert_eq!((p.len(), m.len(), x.len(), y.len()), (130, 258, 194, 240));
    let rule = TripletRule {
        tau_plus: ExpLut { shift: 0, values: &p },
        tau_minus: ExpLut { shift: 0, values: &m },
        tau_x: ExpLut { shift: 2, values: &x },
        tau_y: ExpLut { shift: 2, values: &y },
    };
    let regions = [WeightRegionTwoTerm {
        min_weight: S1615(0),
        max_weight: S1615(49152),
        a2_plus: S1615(1638),
        a2_minus: S1615(2294),
        a3_plus: S1615(2000),
        a3_minus: S1615(300),
    }];
    let w = AdditiveTwoTermWeights { regions: &regions, left_shifts: &[1] };
    assert_eq!(run(&rule, &w), TRIPLET_ADD.to_vec());
}

fn nearest(dep: WeightDependence, region: WeightRegion) -> Vec<[u32; 4]> {
    let (p, m) = (lut(16.8, 0), lut(33.7, 0));
    let rule =
        NearestPairRule { tau_plus: ExpLut { shift: 0, values: &p }, tau_minus: ExpLut { shift: 0, values: &m } };
    let regions = [region];
    run(&rule, &OneTermWeights { dependence: dep, regions: &regions, left_shifts: &[1] })
}

#[test]
fn nearest_additive_matches_chip() {
    let r =
        WeightRegion { min_weight: S1615(0), max_weight: S1615(49152), a2_plus: S1615(1638), a2_minus: S1615(1966) };
    assert_eq!(nearest(WeightDependence::Additive, r), NEAREST_ADD.to_vec());
}

#[test]
fn nearest_multiplicative_matches_chip() {
    let r =
        WeightRegion { min_weight: S1615(3277), max_weight: S1615(49152), a2_plus: S1615(3277), a2_minus: S1615(3932) };
    assert_eq!(nearest(WeightDependence::Multiplicative, r), NEAREST_MUL.to_vec());
}

fn lut20() -> Vec<i16> {
    lut(20.0, 0)
}

#[test]
fn nearest_only_first_post_after_pre_potentiates() {
    let v = lut20();
    let l = ExpLut { shift: 0, values: &v };
    let rule = NearestPairRule { tau_plus: l, tau_minus: l };
    let region = [WeightRegion {
        min_weight: S1615(0),
        max_weight: S1615(1 << 20),
        a2_plus: S1615(2048),
        a2_minus: S1615(1024),
    }];
    let w = OneTermWeights { dependence: WeightDependence::Additive, regions: &region, left_shifts: &[0] };
    let layout = RingBufferLayout { log_n_neurons: 0, log_n_synapse_types: 0, log_max_delay: 2 };
    let cfg = RowConfig { layout: &layout, backprop_delay: true };
    let mut rb = vec![0u16; layout.len()];
    let mut post = [NearestPostEventHistory::initial()];
    let mut pre = NearestPreEventHistory::default();
    let syn = [PlasticSynapse::default()];
    let mut wt = [10000u16];
    // first pre at 200: no post yet, phantom pre at 0 pairs with nothing
    nearest::process_plastic_row(&rule, &w, &cfg, &mut rb, &post, &mut pre, &syn, &mut wt, 200);
    assert_eq!(wt[0], 10000);
    nearest::process_post_spike(&rule, &mut post[0], 205);
    nearest::process_post_spike(&rule, &mut post[0], 210);
    // pre at 215: post 205 potentiates with LUT[5] = 1594 (A=2048 bits:
    // 2048·1594·16 >> 15 = 1594); post 210 is suppressed (0); depression by
    // LUT[215-210] = 1594 with A=1024: 797. 10000 + 1594 - 797 = 10797.
    nearest::process_plastic_row(&rule, &w, &cfg, &mut rb, &post, &mut pre, &syn, &mut wt, 215);
    assert_eq!(wt[0], 10797);
    // suppression through the rule itself
    assert_eq!(rule.potentiation(210, 200, 205), Some(0));
    assert_eq!(rule.potentiation(205, 200, 0), Some(1594));
    assert_eq!(rule.potentiation(200, 200, 0), None);
    // same-step post and pre (post first): the post pairs with the previous
    // pre (215 -> 220: LUT[5]) and the new pre depresses with LUT[0] = 2048.
    nearest::process_post_spike(&rule, &mut post[0], 220);
    nearest::process_plastic_row(&rule, &w, &cfg, &mut rb, &post, &mut pre, &syn, &mut wt, 220);
    assert_eq!(wt[0], 10797 + 1594 - 1024);
}

#[test]
fn nearest_phantom_first_pre_at_time_zero() {
    // upstream quirk: the first pre spike's "last pre" is time 0
    let v = lut20();
    let l = ExpLut { shift: 0, values: &v };
    let rule = NearestPairRule { tau_plus: l, tau_minus: l };
    let mut h = NearestPostEventHistory::initial();
    nearest::process_post_spike(&rule, &mut h, 3);
    let region =
        [WeightRegion { min_weight: S1615(0), max_weight: S1615(1 << 20), a2_plus: S1615(2048), a2_minus: S1615(0) }];
    let w = OneTermWeights { dependence: WeightDependence::Additive, regions: &region, left_shifts: &[0] };
    let mut st = w.load(100, 0);
    update_synapse_with(&rule, &w, 0, &mut st, 10, 0, (), (), 0, &h);
    assert_eq!(st.weight, S1615(100 + 1762)); // LUT[3] = 1762
}

#[test]
fn triplet_traces_by_hand() {
    let v = lut20();
    let l = ExpLut { shift: 0, values: &v };
    let rule = TripletRule { tau_plus: l, tau_minus: l, tau_x: l, tau_y: l };
    // pre spikes at 10, 15, 35
    let a = rule.add_pre_spike(10, 0, TripletPreTrace::default());
    assert_eq!(a, TripletPreTrace { r1: 2048, r2: 0 });
    let b = rule.add_pre_spike(15, 10, a);
    // r1 = (2048·1594 >> 11) + 2048 = 3642; r2 = ((0 + 2048)·1594) >> 11 = 1594
    assert_eq!(b, TripletPreTrace { r1: 3642, r2: 1594 });
    let c = rule.add_pre_spike(35, 15, b);
    // r1 = (3642·753 >> 11) + 2048 = 1339 + 2048; r2 = (3642·753) >> 11 = 1339
    assert_eq!(c, TripletPreTrace { r1: 3387, r2: 1339 });
    // post spikes at 4, 9
    let o = rule.add_post_spike(4, 0, TripletPostTrace::default());
    assert_eq!(o, TripletPostTrace { o1: 2048, o2: 0, last_spike_time: 4 });
    let o = rule.add_post_spike(9, 4, o);
    assert_eq!(o, TripletPostTrace { o1: 3642, o2: 1594, last_spike_time: 9 });
    // depression at pre 15 from post 9 (o1 3642, Δ 6: LUT 1517):
    // x1 = 3642·1517 >> 11 = 2697, x2 = 2697·r2(1594) >> 11 = 2099
    assert_eq!(rule.depression(15, b, 9, o), [2697, 2099]);
    // potentiation at post 20 (o2 before it) from pre 15 (r1 3642, Δ 5)
    let o20 = rule.add_post_spike(20, 9, o);
    // o2 = ((1594 + 2048)·LUT[11]=1181) >> 11 = 2100
    assert_eq!(o20.o2, 2100);
    assert_eq!(rule.potentiation(20, o20, 15, b), Some([2834, 2905]));
    assert_eq!(rule.potentiation(15, o20, 15, b), None);
}

#[test]
fn two_term_additive_clamps_after_both_terms() {
    let regions = [WeightRegionTwoTerm {
        min_weight: S1615(1000),
        max_weight: S1615(20000),
        a2_plus: S1615(16384),
        a2_minus: S1615(16384),
        a3_plus: S1615(8192),
        a3_minus: S1615(8192),
    }];
    let w = AdditiveTwoTermWeights { regions: &regions, left_shifts: &[1] };
    let mut s = w.load(5000, 0); // 10000
    w.potentiate(0, &mut s, [2048, 1024]); // +16384 +4096 -> clamp 20000
    assert_eq!(s.weight, S1615(20000));
    w.depress(0, &mut s, [1024, 2048]); // -8192 -8192 = 3616
    assert_eq!(s.weight, S1615(3616));
    w.depress(0, &mut s, [1024, 0]); // -8192 -> clamp 1000
    assert_eq!(s.weight, S1615(1000));
}

#[test]
fn layouts_and_row_region() {
    use core::mem::size_of;
    assert_eq!(size_of::<PostEventHistory>(), 100);
    assert_eq!(size_of::<NearestPostEventHistory>(), 68);
    assert_eq!(size_of::<TripletPostEventHistory>(), 196);
    assert_eq!(size_of::<PreEventHistory>(), 8);
    assert_eq!(size_of::<NearestPreEventHistory>(), 4);
    assert_eq!(size_of::<TripletPreEventHistory>(), 8);
    assert_eq!(size_of::<WeightRegionTwoTerm>(), 24);
    // 3 synapses: triplet 8 + 6 -> 4 words; nearest 4 + 6 -> 3 words
    assert_eq!(plastic_region_words(8, 3), 4);
    assert_eq!(plastic_region_words(4, 3), 3);
    assert_eq!(plastic_region_words(6, 2), 3);
    let mut words = [7u32, 0x0001_0002, 0x0003_0004, 0x0000_0005];
    {
        let (h, w) = split_plastic_region::<TripletPreEventHistory>(&mut words, 3).unwrap();
        assert_eq!(h.prev_time, 7);
        assert_eq!(h.prev_trace, TripletPreTrace { r1: 2, r2: 1 });
        assert_eq!(w, &[4, 3, 5]);
        w[2] = 9;
        h.prev_time = 8;
    }
    assert_eq!(words, [8, 0x0001_0002, 0x0003_0004, 9]);
    assert!(split_plastic_region::<TripletPreEventHistory>(&mut words, 5).is_none());
    let (h, w) = split_plastic_region::<NearestPreEventHistory>(&mut words, 6).unwrap();
    assert_eq!((h.prev_time, w.len()), (8, 6));
    // control half-words
    let layout = RingBufferLayout { log_n_neurons: 5, log_n_synapse_types: 1, log_max_delay: 4 };
    let s = PlasticSynapse { delay: 9, synapse_type: 1, neuron: 17 };
    let c = s.to_control(&layout);
    assert_eq!(c, (9 << 6) | (1 << 5) | 17);
    assert_eq!(PlasticSynapse::from_control(c, &layout), s);
}

#[test]
fn post_history_overflow_is_generic() {
    let v = lut20();
    let l = ExpLut { shift: 0, values: &v };
    let rule = TripletRule { tau_plus: l, tau_minus: l, tau_x: l, tau_y: l };
    let mut h = TripletPostEventHistory::initial();
    for t in 1..=20u32 {
        triplet::process_post_spike(&rule, &mut h, t * 2);
    }
    assert_eq!(h.count_minus_one, 15);
    assert_eq!(h.times[0], 0);
    assert_eq!(h.times[1], 12); // 2..10 dropped
    assert_eq!(h.times[15], 40);
    assert_eq!(h.traces[15].last_spike_time, 40);
    let w = h.event_window(30, 36);
    assert_eq!((w.num_events, h.times[w.next], h.times[w.prev]), (3, 32, 30));
}

#[test]
fn backprop_delay_off_uses_undelayed_posts() {
    let v = lut20();
    let l = ExpLut { shift: 0, values: &v };
    let rule = PairRule { tau_plus: l, tau_minus: l };
    let region = [WeightRegion {
        min_weight: S1615(0),
        max_weight: S1615(1 << 20),
        a2_plus: S1615(2048),
        a2_minus: S1615(2048),
    }];
    let w = OneTermWeights { dependence: WeightDependence::Additive, regions: &region, left_shifts: &[0] };
    let layout = RingBufferLayout { log_n_neurons: 0, log_n_synapse_types: 0, log_max_delay: 3 };
    let syn = [PlasticSynapse { delay: 4, synapse_type: 0, neuron: 0 }];
    let mut out = [0u16; 2];
    for (k, backprop) in [true, false].into_iter().enumerate() {
        let cfg = RowConfig { layout: &layout, backprop_delay: backprop };
        let mut rb = vec![0u16; layout.len()];
        let mut post = [PostEventHistory::new()];
        let mut pre = PreEventHistory::default();
        let mut wt = [10000u16];
        process_row(&rule, &w, &cfg, &mut rb, &post, &mut pre, &syn, &mut wt, 10);
        process_post_event(&rule, &mut post[0], 12);
        process_row(&rule, &w, &cfg, &mut rb, &post, &mut pre, &syn, &mut wt, 20);
        out[k] = wt[0];
    }
    // delayed: post at 16: +LUT[6]=1517, then -LUT[20-16]=1676
    // undelayed: post at 12: +LUT[2]=1853, then -LUT[8]=1372
    assert_eq!(out, [10000 + 1517 - 1676, 10000 + 1853 - 1372]);
}

fn params(timing: StdpTiming, dep: WeightDependence, a: [f64; 4]) -> StdpHostParams {
    StdpHostParams {
        timing,
        dependence: dep,
        w_min: 0.0,
        w_max: 1.0,
        a2_plus: a[0],
        a2_minus: a[1],
        a3_plus: a[2],
        a3_minus: a[3],
    }
}

const PAIR20: StdpTiming = StdpTiming::Pair { tau_plus: 20.0, tau_minus: 20.0 };

#[test]
fn precision_reports_amplitude_rounded_to_zero() {
    // A+ = 1e-5 -> 0.33 LSB of s16.15 -> 0
    let p = params(PAIR20, WeightDependence::Additive, [1e-5, 0.01, 0.0, 0.0]);
    let r = check_stdp_precision(&p, 1.0, 1, 1.0, 0.01).unwrap();
    let l: Vec<_> = r.losses().copied().collect();
    assert!(l.contains(&StdpPrecisionLoss::RoundedToZero { param: StdpParam::A2Plus, requested: 1e-5 }), "{l:?}");
    assert_eq!(r.amplitudes[0].unwrap().encoded, S1615(0));
    assert!(!r.is_clean());
}

#[test]
fn precision_reports_update_below_weight_lsb() {
    // shift 6: one stored LSB = 64 s16.15 bits; A- = 0.001 -> 33 bits
    let p = params(PAIR20, WeightDependence::Additive, [0.01, 0.001, 0.0, 0.0]);
    let r = check_stdp_precision(&p, 1.0, 6, 1.0, 0.5).unwrap();
    let a = r.amplitudes[1].unwrap();
    assert_eq!((a.encoded, a.unit_update_bits), (S1615(33), 33));
    assert_eq!(a.min_effective_trace, Some(3972)); // ceil(64·2048/33)
    let l: Vec<_> = r.losses().copied().collect();
    assert_eq!(l, vec![StdpPrecisionLoss::BelowWeightLsb { param: StdpParam::A2Minus, unit_update_w16: 33.0 / 64.0 }]);
    // the kernel really loses it: a unit-trace potentiation of 33 bits does
    // not survive the store
    let region =
        WeightRegion { min_weight: S1615(0), max_weight: S1615(32768), a2_plus: S1615(33), a2_minus: S1615(33) };
    let mut s = WeightState::load(100, 6);
    s.potentiate(WeightDependence::Additive, &region, 2048);
    assert_eq!(s.store(), 100);
}

#[test]
fn precision_reports_truncated_window_and_degenerate_lut() {
    // A+ = 0.01 (328 bits), shift 1: needs x >= 13 -> LUT20 >= 13 for
    // dt <= 101 -> e^(-102/20) = 0.6% lost; with tolerance 1e-3 reported
    let p = params(PAIR20, WeightDependence::Additive, [0.01, 0.01, 0.0, 0.0]);
    let r = check_stdp_precision(&p, 1.0, 1, 1.0, 1e-3).unwrap();
    let l: Vec<_> = r.losses().copied().collect();
    assert!(
        matches!(l[0], StdpPrecisionLoss::WindowTruncated { param: StdpParam::A2Plus, tau: StdpTau::Plus, effective_steps: 102, lost_fraction } if (lost_fraction - (-102.0f64 / 20.0).exp()).abs() < 1e-15),
        "{l:?}"
    );
    assert_eq!(r.amplitudes[0].unwrap().min_effective_trace, Some(13));
    // same configuration with a 1% tolerance is clean
    assert!(check_stdp_precision(&p, 1.0, 1, 1.0, 0.01).unwrap().is_clean());
    // tau = 0.25 ms at dt = 1 ms: LUT of 2 entries (ln 2048 · 0.25 = 1.9)
    let p = params(
        StdpTiming::NearestPair { tau_plus: 0.25, tau_minus: 20.0 },
        WeightDependence::Additive,
        [0.01, 0.01, 0.0, 0.0],
    );
    let r = check_stdp_precision(&p, 1.0, 1, 1.0, 0.01).unwrap();
    assert!(r.losses().any(|x| *x == StdpPrecisionLoss::LutDegenerate { tau: StdpTau::Plus, len: 2 }));
    assert_eq!(r.luts[0].unwrap().len, 2);
}

#[test]
fn precision_reports_triplet_issues() {
    let t = StdpTiming::Triplet { tau_plus: 16.8, tau_minus: 33.7, tau_x: 101.0, tau_y: 125.0 };
    // multiplicative triplet: no such binary
    let r = check_stdp_precision(&params(t, WeightDependence::Multiplicative, [0.1; 4]), 1.0, 1, 1.0, 0.01).unwrap();
    assert_eq!(r.losses().copied().collect::<Vec<_>>(), vec![StdpPrecisionLoss::Unsupported]);
    // A3- = 6.5e-6 (relative to w_max = 1): rounds to 0
    let p = params(t, WeightDependence::Additive, [5e-3, 7e-3, 6.5e-3, 6.5e-6]);
    let r = check_stdp_precision(&p, 1.0, 0, 1.0, 0.05).unwrap();
    assert!(r.losses().any(|x| matches!(x, StdpPrecisionLoss::RoundedToZero { param: StdpParam::A3Minus, .. })));
    assert_eq!(r.luts[2].unwrap().shift, 2);
    assert_eq!(r.luts[2].unwrap().cutoff_steps, 194 * 4);
    // w_max = 3 with shift 1 (max weight 65535/16384 = 3.99994): fine; with
    // w_max = 5 the bound is above the 16-bit range; w_max = 70000 fails to
    // encode
    let mut p = params(PAIR20, WeightDependence::Additive, [0.05, 0.05, 0.0, 0.0]);
    p.w_max = 5.0;
    let r = check_stdp_precision(&p, 1.0, 1, 1.0, 0.5).unwrap();
    assert!(r.losses().any(|x| matches!(x, StdpPrecisionLoss::BoundAboveWeightRange { .. })));
    p.w_max = 70000.0;
    let r = check_stdp_precision(&p, 1.0, 1, 1.0, 0.5).unwrap();
    assert!(r.losses().any(|x| matches!(x, StdpPrecisionLoss::Encode(StdpEncodeError { param: StdpParam::WMax, .. }))));
}

#[test]
fn host_regions_follow_upstream_scaling() {
    let r = weight_region_additive(0.0, 2.0, 0.01, 0.012, 1.0).unwrap();
    assert_eq!((r.max_weight, r.a2_plus, r.a2_minus), (S1615(65536), S1615(328), S1615(393)));
    let r = weight_region_multiplicative(0.5, 2.0, 0.01, 0.012, 1024.0).unwrap();
    assert_eq!((r.min_weight, r.a2_plus), (S1615(512 << 15), S1615(328)));
    let r = weight_region_additive_triplet(0.0, 2.0, 0.01, 0.012, 0.001, 0.0, 1.0).unwrap();
    assert_eq!((r.a2_plus, r.a2_minus, r.a3_plus, r.a3_minus), (S1615(655), S1615(786), S1615(66), S1615(0)));
    let _ = S411::ONE;
}

const TRIPLET_ADD: [[u32; 4]; 33] = [
    [44, 15651, 24216, 106],
    [60, 18575, 18681, 105],
    [69, 17513, 17300, 12368],
    [86, 17444, 17228, 12848],
    [88, 10049, 9613, 6215],
    [104, 5296, 4718, 19224],
    [119, 14825, 13312, 19647],
    [132, 11746, 10139, 16177],
    [162, 14662, 12526, 16974],
    [167, 10880, 8630, 20316],
    [179, 8163, 5831, 17256],
    [198, 15238, 14958, 16074],
    [229, 480, 5790, 10342],
    [271, 0, 0, 0],
    [276, 0, 0, 0],
    [281, 0, 0, 0],
    [307, 0, 0, 0],
    [310, 0, 0, 0],
    [319, 0, 0, 0],
    [326, 0, 0, 0],
    [349, 0, 0, 0],
    [367, 0, 0, 0],
    [414, 0, 0, 0],
    [415, 0, 0, 0],
    [417, 0, 0, 0],
    [436, 173, 0, 0],
    [476, 10605, 9322, 6267],
    [481, 10830, 8910, 4042],
    [501, 18123, 17929, 13089],
    [539, 17009, 16780, 12154],
    [574, 19828, 19686, 16732],
    [583, 16128, 15872, 15059],
    [585, 7527, 7009, 5373],
];
const NEAREST_ADD: [[u32; 4]; 33] = [
    [44, 16345, 24267, 671],
    [60, 15963, 23593, 139],
    [69, 16663, 23754, 1105],
    [86, 16217, 23250, 658],
    [88, 15318, 22324, 0],
    [104, 14759, 21748, 141],
    [119, 14818, 21745, 0],
    [132, 14364, 21277, 0],
    [162, 13736, 20603, 0],
    [167, 12938, 19781, 0],
    [179, 12379, 19205, 0],
    [198, 12165, 18924, 0],
    [229, 11754, 18480, 239],
    [271, 11456, 19442, 1612],
    [276, 10609, 19340, 1303],
    [281, 9878, 18587, 481],
    [307, 9595, 18248, 0],
    [310, 8842, 17473, 0],
    [319, 8838, 17402, 0],
    [326, 8208, 16754, 0],
    [349, 8350, 16840, 0],
    [367, 8192, 16627, 0],
    [414, 8011, 16441, 0],
    [415, 7835, 16260, 0],
    [417, 7669, 16090, 0],
    [436, 7271, 15645, 0],
    [476, 7141, 15454, 0],
    [481, 7039, 15282, 0],
    [501, 7016, 15201, 0],
    [539, 6367, 14517, 0],
    [574, 6247, 14329, 0],
    [583, 6872, 14842, 197],
    [585, 6050, 13995, 0],
];
const NEAREST_MUL: [[u32; 4]; 33] = [
    [44, 16126, 28544, 1980],
    [60, 14960, 25085, 3035],
    [69, 15177, 22656, 6927],
    [86, 14116, 20233, 7154],
    [88, 12747, 18132, 6617],
    [104, 11989, 16972, 7796],
    [119, 12171, 16266, 8296],
    [132, 11587, 15430, 7880],
    [162, 10881, 14101, 7740],
    [167, 9980, 12851, 8401],
    [179, 9411, 12063, 7881],
    [198, 9687, 11759, 8100],
    [229, 9637, 11288, 9414],
    [271, 9776, 12830, 11955],
    [276, 8935, 12626, 11632],
    [281, 8284, 11617, 10629],
    [307, 8583, 11307, 10255],
    [310, 7945, 10392, 9364],
    [319, 8766, 10675, 9550],
    [326, 8218, 9960, 8866],
    [349, 9059, 10465, 9285],
    [367, 9385, 10499, 9276],
    [414, 9214, 10298, 9086],
    [415, 9052, 10107, 8906],
    [417, 8902, 9931, 8741],
    [436, 8886, 9706, 8505],
    [476, 9320, 9916, 8665],
    [481, 9785, 10166, 8861],
    [501, 10191, 10429, 9084],
    [539, 9608, 9774, 8472],
    [574, 9975, 10013, 8670],
    [583, 11364, 11232, 9771],
    [585, 10388, 10240, 8852],
];
