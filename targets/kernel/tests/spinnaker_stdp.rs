//! STDP: pair traces (golden of `reference/spinnaker.md` §1.2), post-event
//! history with the drop-entry-1 policy, the event window, and the deferred
//! update. The deferred-update expectations were worked out by hand from the
//! upstream formulas (`timing_pair_impl.h`, `weight_additive_one_term_impl.h`,
//! `weight_multiplicative_impl.h`, `stdp_typedefs.h`: `(a·(x<<4)) >> 15`
//! floor) — an independent reading, not a chip run.

use spikeforge_kernel::fixed::{S1615, S411};
use spikeforge_kernel::spinnaker::host::{exp_lut, pack_exp_lut};
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use spikeforge_kernel::spinnaker::stdp::*;

fn lut20(buf: &mut [i16; 154]) -> usize {
    exp_lut(1.0, 20.0, 0, buf).unwrap()
}

#[test]
fn pair_trace_golden_sequence() {
    let mut v = [0i16; 154];
    let n = lut20(&mut v);
    let lut = ExpLut { shift: 0, values: &v[..n] };
    let rule = PairRule { tau_plus: lut, tau_minus: lut };
    let mut r = S411(0);
    let mut last = 0;
    let mut got = Vec::new();
    for t in [0u32, 5, 10, 30] {
        r = rule.add_pre_spike(t, last, r);
        last = t;
        got.push(r.0);
    }
    assert_eq!(got, vec![2048, 3642, 4882, 3842]);
    assert!((r.to_f64() - 1.87598).abs() < 1e-5);
    // beyond the table the decay is 0
    assert_eq!(lut.decay(153), 0);
    assert_eq!(lut.decay(154), 0);
    assert_eq!(lut.decay(10_000), 0);
    assert_eq!(lut.decay(1), 1948);
}

#[test]
fn lut_roundtrip_through_packed_words_and_shift() {
    let mut v = [0i16; 478];
    let n = exp_lut(1.0, 1000.0, 4, &mut v).unwrap();
    let mut w = [0u32; 240];
    let words = pack_exp_lut(&v[..n], 4, &mut w).unwrap();
    let mut buf = [0i16; 478];
    let (lut, used) = ExpLut::from_words(&w[..words], &mut buf).unwrap();
    assert_eq!(used, 240);
    assert_eq!(lut.shift, 4);
    assert_eq!(lut.values, &v[..n]);
    // i = dt >> 4
    assert_eq!(lut.decay(15), v[0] as i32);
    assert_eq!(lut.decay(16), v[1] as i32);
    assert_eq!(lut.decay(478 * 16), 0);
    assert!(ExpLut::from_words(&w[..10], &mut buf).is_none());
}

#[test]
fn post_history_keeps_sentinel_and_drops_entry_one() {
    let mut h = PostEventHistory::new();
    for k in 1..=15u32 {
        h.add(k * 10, S411(k as i16));
    }
    assert_eq!(h.count_minus_one, 15);
    h.add(1000, S411(99));
    assert_eq!(h.count_minus_one, 15);
    assert_eq!(h.times[0], 0);
    assert_eq!(h.times[1], 20); // entry with time 10 dropped
    assert_eq!(h.times[15], 1000);
    assert_eq!(h.traces[15], 99);
    assert_eq!(h.traces[1], 2);
    assert_eq!(core::mem::size_of::<PostEventHistory>(), 100);
}

#[test]
fn window_selects_events_between_pre_spikes() {
    let mut h = PostEventHistory::new();
    for t in [5u32, 12, 15, 30] {
        h.add(t, S411(1));
    }
    // (9, 19]: events at 12 and 15, prev = 5
    let w = h.window(9, 19);
    assert_eq!((w.prev, w.next, w.num_events, w.prev_time_valid), (1, 2, 2, true));
    // (0, 4]: nothing, prev = sentinel
    let w = h.window(0, 4);
    assert_eq!(w.num_events, 0);
    // (20, 40]: event 30; prev = 15
    let w = h.window(20, 40);
    assert_eq!((w.prev, w.next, w.num_events, w.prev_time_valid), (3, 4, 1, true));
    // (0, 100]: all four, prev is the sentinel
    let w = h.window(0, 100);
    assert_eq!((w.prev, w.next, w.num_events, w.prev_time_valid), (0, 1, 4, false));
}

fn scenario(dep: WeightDependence) -> (u16, u16, S1615) {
    let mut v = [0i16; 154];
    let n = lut20(&mut v);
    let lut = ExpLut { shift: 0, values: &v[..n] };
    let rule = PairRule { tau_plus: lut, tau_minus: lut };
    let region = WeightRegion { min_weight: S1615(0), max_weight: S1615(32768), a2_plus: S1615(3277), a2_minus: S1615(3932) };
    let layout = RingBufferLayout { log_n_neurons: 1, log_n_synapse_types: 1, log_max_delay: 4 };
    let mut rb = vec![0u16; layout.len()];
    let mut posts = [PostEventHistory::new(), PostEventHistory::new()];
    let mut pre = PreEventHistory::default();
    let syn = [PlasticSynapse { delay: 1, synapse_type: 0, neuron: 1 }];
    let mut w = [8192u16];
    let shifts = [1u32, 1];
    let regions = [region, region];
    // pre at 10: no post yet -> unchanged
    process_plastic_row(&rule, dep, &regions, &shifts, &layout, &mut rb, &posts, &mut pre, &syn, &mut w, 10);
    assert_eq!(w[0], 8192);
    assert_eq!(rb[layout.index(11, 0, 1)], 8192);
    assert_eq!((pre.prev_time, pre.prev_trace), (10, 2048));
    // posts at 12 and 15
    process_post_spike(&rule, &mut posts[1], 12);
    process_post_spike(&rule, &mut posts[1], 15);
    assert_eq!(posts[1].last(), (15, S411(3810)));
    // pre at 20: potentiate for posts 13, 16 (delayed by 1), depress from 16
    let s = process_plastic_row(&rule, dep, &regions, &shifts, &layout, &mut rb, &posts, &mut pre, &syn, &mut w, 20);
    assert_eq!(s.saturated, 0);
    assert_eq!(pre.prev_trace, 3290);
    let mut st = WeightState::load(8192, 1);
    update_synapse(&rule, dep, &region, &mut st, 20, 10, S411(2048), 1, &posts[1]);
    (w[0], rb[layout.index(21, 0, 1)], st.weight)
}

#[test]
fn deferred_update_additive() {
    // w: 16384 +2819 (dt 3) +2427 (dt 6) -5984 (o=3117 at dt 4) = 15646 -> w16 7823
    let (w16, rb, w) = scenario(WeightDependence::Additive);
    assert_eq!(w, S1615(15646));
    assert_eq!((w16, rb), (7823, 7823));
}

#[test]
fn deferred_update_multiplicative() {
    // 16384 -> 17793 -> 18901 -> 15450 -> w16 7725
    let (w16, rb, w) = scenario(WeightDependence::Multiplicative);
    assert_eq!(w, S1615(15450));
    assert_eq!((w16, rb), (7725, 7725));
}

#[test]
fn additive_clamps_each_event() {
    let r = WeightRegion { min_weight: S1615(1000), max_weight: S1615(20000), a2_plus: S1615(32768), a2_minus: S1615(32768) };
    let mut s = WeightState::load(9000, 1); // 18000
    s.potentiate(WeightDependence::Additive, &r, 2048); // +32768 -> clamp 20000
    assert_eq!(s.weight, S1615(20000));
    s.depress(WeightDependence::Additive, &r, 2048); // -32768 -> clamp 1000
    assert_eq!(s.weight, S1615(1000));
    assert_eq!(s.store(), 500);
    assert_eq!(mul_accum_fixed(S1615(32768), 2048), S1615(32768));
    assert_eq!(WeightState::load(0xFFFF, 4).weight, S1615(0xFFFF << 4));
}
