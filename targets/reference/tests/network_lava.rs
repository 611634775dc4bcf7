//! LavaLif in the network reference: Lava's float LIF model.

mod network_common;

use network_common::*;
use spikeforge_compiler::ir::{self, Receptor};
use spikeforge_reference::network::{simulate, LavaUnits, PlasticityPolicy, SimOptions, Simulator, StateVar};

fn lif(du: u32, dv: u32, vth: i64, bias_mant: i64, bias_exp: i32) -> ir::LavaLif {
    ir::LavaLif { du, dv, vth, bias_mant, bias_exp, u_init: 0, v_init: 0 }
}

fn opts(units: LavaUnits) -> SimOptions {
    SimOptions { lava_units: units, plasticity: PlasticityPolicy::Static }
}

/// One source spiking in steps 1 and 2, weight 2, delay 1 -> a_in = 2 in steps 2 and 3.
fn hand_net() -> ir::Network {
    let mut net = network(1.0);
    // decay_u = 1 - 1024/4096 = 0.75, decay_v = 1 - 2048/4096 = 0.5, bias = 3 << 2 = 12, VTH = 1 << 6 = 64.
    net.populations = vec![source("in", &[vec![1.0, 2.0]]), lava_pop("n", 1, lif(1023, 2048, 1, 3, 2))];
    net.projections = vec![from_list("p", "in", "n", Receptor::Signed, &[(0, 0, 2.0, 1.0)])];
    net.recordings = vec![record_state("n", "u", &[], 0), record_state("n", "v", &[], 0), record_spikes("n", &[])];
    net
}

#[test]
fn hand_computed_trajectory_in_bit_accurate_units() {
    // u = 0.75 u + 64 a;  v = 0.5 v + u + 12;  spike when v > 64, then v = 0.
    let u = [0.0, 128.0, 224.0, 168.0, 126.0, 94.5, 70.875, 53.15625, 39.8671875, 29.900390625];
    let v = [12.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 51.8671875, 0.0];
    let spikes = [2u32, 3, 4, 5, 6, 7, 8, 10];
    let net = hand_net();
    let exp = expanded(&net, 10);
    let (r, _) = simulate(&net, &exp, 10, &opts(LavaUnits::BitAccurate)).unwrap();
    assert_eq!(r.states[0].unit, "lava");
    assert_eq!(r.states[0].values, u);
    assert_eq!(r.states[1].values, v);
    assert_eq!(r.spikes[0].events, spikes.iter().map(|&s| (s, 0)).collect::<Vec<_>>());
    // Step 10 spiked with v = 25.93359375 + 29.900390625 + 12 = 67.833984375 > 64; step 9 did not (51.87).
}

#[test]
fn float_units_are_lava_float_model_units() {
    // PyLifModelFloat with du = 0.25, dv = 0.5, bias = 12/64, vth = 1, a_in = 2.
    let net = hand_net();
    let exp = expanded(&net, 10);
    let (r, _) = simulate(&net, &exp, 10, &opts(LavaUnits::Float)).unwrap();
    assert_eq!(r.states[0].unit, "lava_float");
    let (mut u, mut v) = (0.0f64, 0.0f64);
    let a = [0.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    for (t, a_in) in a.into_iter().enumerate() {
        u = u * (1.0 - 0.25) + a_in;
        v = v * (1.0 - 0.5) + u + 0.1875;
        if v > 1.0 {
            v = 0.0;
        }
        assert_eq!(r.states[0].values[t], u, "u, step {}", t + 1);
        assert_eq!(r.states[1].values[t], v, "v, step {}", t + 1);
    }
    assert_eq!(r.spikes[0].events.len(), 8);
}

#[test]
fn float_and_bit_accurate_units_differ_by_exactly_64() {
    // A busy recurrent network: Poisson drive, excitatory and inhibitory
    // projections, weight exponents, random initial state.
    let mut net = network(1.0);
    let poisson = ir::SpikeSourcePoisson { rate_hz: 150.0, start_ms: 0.0, duration_ms: None, seed: Some(5) };
    net.populations = vec![
        population("in", 20, ir::population::Model::SpikeSourcePoisson(poisson)),
        lava_pop("a", 15, ir::LavaLif { u_init: 1000, v_init: -321, ..lif(400, 900, 90, -7, 3) }),
        lava_pop("b", 10, lif(4095, 0, 40, 5, -2)),
    ];
    let conns = |n_pre: u32, n_post: u32, w: f64| -> Vec<(u32, u32, f64, f64)> {
        (0..n_pre).flat_map(|i| (0..n_post).filter(move |j| (i * 7 + j * 3) % 4 == 0).map(move |j| (i, j, w + (i + j) as f64 % 5.0, 1.0 + ((i + 2 * j) % 4) as f64))).collect()
    };
    let mut p1 = from_list("in_a", "in", "a", Receptor::Signed, &conns(20, 15, 20.0));
    p1.loihi = Some(ir::LoihiWeights { sign_mode: ir::SignMode::Mixed as i32, num_weight_bits: 8, weight_exp: 1 });
    let p2 = from_list("a_b", "a", "b", Receptor::Excitatory, &conns(15, 10, 30.0));
    let mut p3 = from_list("b_a", "b", "a", Receptor::Inhibitory, &conns(10, 15, -25.0));
    p3.loihi = Some(ir::LoihiWeights { sign_mode: ir::SignMode::Inhibitory as i32, num_weight_bits: 8, weight_exp: -1 });
    net.projections = vec![p1, p2, p3];
    net.recordings = vec![
        record_state("a", "u", &[], 0),
        record_state("a", "v", &[], 0),
        record_state("b", "v", &[], 0),
        record_spikes("a", &[]),
        record_spikes("b", &[]),
    ];
    let n = 500;
    let exp = expanded(&net, n);
    let (fx, _) = simulate(&net, &exp, n, &opts(LavaUnits::BitAccurate)).unwrap();
    let (fl, _) = simulate(&net, &exp, n, &opts(LavaUnits::Float)).unwrap();
    assert_eq!(fx.spikes, fl.spikes);
    for (a, b) in fx.states.iter().zip(&fl.states) {
        for (x, y) in a.values.iter().zip(&b.values) {
            assert_eq!(x.to_bits(), (y * 64.0).to_bits(), "{} {}", a.population, a.variable);
        }
    }
    assert!(fx.spikes[0].events.len() > 100 && fx.spikes[1].events.len() > 20, "{} {}", fx.spikes[0].events.len(), fx.spikes[1].events.len());
}

#[test]
fn receptors_and_weight_exponent() {
    // a_in per step: +3 (signed) - |-2|·2 (inhibitory, weight_exp 1) + 5/2 (excitatory, weight_exp -1).
    let mut net = network(1.0);
    net.populations = vec![source("in", &[vec![1.0]]), lava_pop("n", 1, lif(4095, 4095, 100_000, 0, 0))];
    let mut inh = from_list("inh", "in", "n", Receptor::Inhibitory, &[(0, 0, -2.0, 2.0)]);
    inh.loihi = Some(ir::LoihiWeights { sign_mode: ir::SignMode::Inhibitory as i32, num_weight_bits: 8, weight_exp: 1 });
    let mut exc = from_list("exc", "in", "n", Receptor::Excitatory, &[(0, 0, 5.0, 3.0)]);
    exc.loihi = Some(ir::LoihiWeights { sign_mode: ir::SignMode::Excitatory as i32, num_weight_bits: 8, weight_exp: -1 });
    net.projections = vec![from_list("sig", "in", "n", Receptor::Signed, &[(0, 0, 3.0, 1.0)]), inh, exc];
    let exp = expanded(&net, 5);
    let mut sim = Simulator::new(&exp, &opts(LavaUnits::Float)).unwrap();
    // du = 4095 zeroes u every step, so u is the input of the step.
    let expect_u = [0.0, 3.0, -4.0, 2.5, 0.0];
    for e in expect_u {
        sim.step();
        assert_eq!(sim.state(1, StateVar::U).unwrap()[0], e, "step {}", sim.step_count());
    }
}

/// Lava's bit-accurate LIF (`loihi-lava.md` §1) without wrap/clamp (the test keeps within 24 bits).
struct BitAcc {
    du: i64,
    dv: i64,
    bias: i64,
    u: i64,
    v: i64,
}

impl BitAcc {
    fn rtz(p: i64) -> i64 {
        p.signum() * (p.abs() >> 12)
    }
    fn step(&mut self, a_in: i64) {
        self.u = Self::rtz(self.u * (4096 - (self.du + 1))) + (a_in << 6);
        self.v = Self::rtz(self.v * (4096 - self.dv)) + self.u + self.bias;
        assert!(self.u.abs() < 1 << 23 && self.v.abs() < 1 << 23);
    }
}

#[test]
fn tracks_the_bit_accurate_model_within_its_rounding() {
    // Constant drive a_in = 50 every step, du = 63, dv = 512, bias = 100 << 3.
    // The rounding toward zero loses < 1 per step in u and in v, so
    // |u_fx - u| <= 4096/(du + 1) and |v_fx - v| <= (4096/(du + 1) + 1)·4096/dv.
    // A float model with du/4096 instead of (du + 1)/4096 would settle
    // 3200·64·(4096/63 - 4096/64) ~ 3250 away in u, and one with the bias
    // unscaled in float units (64× too large) ~ 5.1e6 away in v.
    let (du, dv, bias_mant, bias_exp) = (63u32, 512u32, 100i64, 3i32);
    let mut net = network(1.0);
    let n = 2000u32;
    net.populations = vec![source("in", &[(1..=n).map(|s| s as f64).collect()]), lava_pop("n", 1, lif(du, dv, 131_071, bias_mant, bias_exp))];
    net.projections = vec![from_list("p", "in", "n", Receptor::Signed, &[(0, 0, 50.0, 1.0)])];
    net.recordings = vec![record_state("n", "u", &[], 0), record_state("n", "v", &[], 0), record_spikes("n", &[])];
    let exp = expanded(&net, n);
    let (r, _) = simulate(&net, &exp, n, &opts(LavaUnits::BitAccurate)).unwrap();
    assert!(r.spikes[0].events.is_empty());
    let mut fx = BitAcc { du: du as i64, dv: dv as i64, bias: bias_mant << bias_exp, u: 0, v: 0 };
    let bound_u = 4096.0 / (du as f64 + 1.0);
    let bound_v = (bound_u + 1.0) * 4096.0 / dv as f64;
    let (mut worst_u, mut worst_v) = (0.0f64, 0.0f64);
    for t in 1..=n {
        fx.step(if t >= 2 { 50 } else { 0 });
        let (u, v) = (r.states[0].values[t as usize - 1], r.states[1].values[t as usize - 1]);
        worst_u = worst_u.max((u - fx.u as f64).abs());
        worst_v = worst_v.max((v - fx.v as f64).abs());
    }
    println!("bit-accurate vs float reference: max |du| {worst_u} (bound {bound_u}), max |dv| {worst_v} (bound {bound_v})");
    assert!(worst_u <= bound_u && worst_v <= bound_v);
    // The run reached the steady state, so the bounds are tight enough to tell the mappings apart.
    let u_inf = 50.0 * 64.0 * 4096.0 / 64.0;
    assert!((r.states[0].values[n as usize - 1] - u_inf).abs() < 1e-6 * u_inf);
}
