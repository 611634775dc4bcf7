//! IF_curr_exp in the network reference against closed-form solutions.

mod network_common;

use network_common::*;
use spikeforge_compiler::ir::{self, Receptor};
use spikeforge_reference::network::{refractory_steps, simulate, SimOptions, Simulator, StateVar};

const DT: f64 = 0.1;

/// One source neuron spiking in `spike_step`, one synapse (`weight`, `delay`
/// steps) onto one IF_curr_exp neuron; returns V after every step 1..=n.
fn single_input_trace(m: ir::IfCurrExp, receptor: Receptor, weight: f64, spike_step: u32, delay: u32, n: u32) -> Vec<f64> {
    let mut net = network(DT);
    net.populations = vec![source("in", &[vec![spike_step as f64 * DT]]), if_pop("n", 1, m)];
    net.projections = vec![from_list("p", "in", "n", receptor, &[(0, 0, weight, delay as f64 * DT)])];
    net.recordings = vec![record_state("n", "v", &[], 0)];
    let (r, notes) = run(&net, n);
    assert!(notes.is_empty());
    let s = &r.states[0];
    assert_eq!(s.steps, (1..=n).collect::<Vec<_>>());
    s.values.clone()
}

/// `V - v_rest` for a current jump `w` (nA) at time 0, `t` ms later.
fn psp(m: &ir::IfCurrExp, tau_s: f64, w: f64, t: f64) -> f64 {
    let tm = m.tau_m_ms;
    if tau_s == tm {
        w / m.cm_nf * t * (-t / tm).exp()
    } else {
        w / m.cm_nf * tm * tau_s / (tau_s - tm) * ((-t / tau_s).exp() - (-t / tm).exp())
    }
}

/// Checks the trace against the closed form; returns the largest relative
/// error of `V` and of `V - v_rest`.
fn check_psp(m: ir::IfCurrExp, tau_s: f64, receptor: Receptor, w: f64) -> (f64, f64) {
    let (spike, delay, n) = (5u32, 3u32, 1500u32);
    let v = single_input_trace(m, receptor, w, spike, delay, n);
    let arrive = spike + delay;
    let sign = if receptor == Receptor::Inhibitory { -1.0 } else { 1.0 };
    let (mut worst_v, mut worst_dev) = (0.0f64, 0.0f64);
    for (k, &vk) in v.iter().enumerate() {
        let step = k as u32 + 1;
        if step < arrive {
            assert_eq!(vk, m.v_rest_mv, "step {step}: V moved before the input arrived");
            continue;
        }
        // The jump is applied at the start of step `arrive`: after step s the
        // current has acted for (s - arrive + 1)·dt.
        let t = (step - arrive + 1) as f64 * DT;
        let dev = sign * psp(&m, tau_s, w.abs(), t);
        worst_v = worst_v.max(rel(vk, m.v_rest_mv + dev));
        worst_dev = worst_dev.max(rel(vk - m.v_rest_mv, dev));
    }
    (worst_v, worst_dev)
}

#[test]
fn excitatory_psp_is_the_closed_form_at_every_step() {
    let m = pynn_defaults();
    let (v, dev) = check_psp(m, m.tau_syn_e_ms, Receptor::Excitatory, 0.7);
    println!("PyNN defaults: max relative error of V {v:e}, of V - v_rest {dev:e}");
    assert!(v < 1e-14, "relative error of V {v:e}");
    // With v_rest = 0, V is the deviation itself: a much stricter check.
    let m0 = ir::IfCurrExp { v_rest_mv: 0.0, v_reset_mv: 0.0, v_thresh_mv: 1e9, tau_syn_e_ms: 3.0, ..m };
    let (v0, _) = check_psp(m0, 3.0, Receptor::Excitatory, 0.7);
    println!("v_rest = 0: max relative error of V {v0:e}");
    assert!(v0 < 1e-12, "relative error of V - v_rest {v0:e}");
}

#[test]
fn inhibitory_psp_uses_the_magnitude_and_tau_syn_i() {
    let m = ir::IfCurrExp { tau_syn_i_ms: 8.0, v_rest_mv: 0.0, v_reset_mv: -100.0, v_thresh_mv: 1e9, ..pynn_defaults() };
    // PyNN: a negative weight on an inhibitory receptor means the same as its magnitude.
    for w in [0.4, -0.4] {
        let (v, _) = check_psp(m, 8.0, Receptor::Inhibitory, w);
        assert!(v < 1e-12, "w = {w}: relative error {v:e}");
    }
}

#[test]
fn tau_syn_equal_to_tau_m_uses_the_limit_form() {
    let m = ir::IfCurrExp { tau_m_ms: 10.0, tau_syn_e_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: -1.0, v_thresh_mv: 1e9, ..pynn_defaults() };
    let (v, _) = check_psp(m, 10.0, Receptor::Excitatory, 1.3);
    println!("tau_syn == tau_m: max relative error of V {v:e}");
    assert!(v < 1e-12, "relative error {v:e}");
    // Nearly equal time constants: no cancellation, and continuous in tau_syn.
    for eps in [1e-13, 1e-9, 1e-6] {
        let mn = ir::IfCurrExp { tau_syn_e_ms: 10.0 * (1.0 + eps), ..m };
        let a = single_input_trace(m, Receptor::Excitatory, 1.3, 5, 3, 400);
        let b = single_input_trace(mn, Receptor::Excitatory, 1.3, 5, 3, 400);
        for (x, y) in a.iter().zip(&b) {
            // dV/dtau_syn is O(V / tau), so the traces differ by O(eps·V).
            assert!((x - y).abs() <= 10.0 * eps * x.abs().max(1e-3) + 1e-15, "eps {eps}: {x} vs {y}");
        }
    }
}

#[test]
fn constant_current_reaches_v_rest_plus_r_i() {
    let m = ir::IfCurrExp { i_offset_na: 0.35, tau_m_ms: 12.0, cm_nf: 0.5, v_thresh_mv: 0.0, ..pynn_defaults() };
    let r = m.tau_m_ms / m.cm_nf;
    let mut net = network(DT);
    net.populations = vec![if_pop("n", 1, m)];
    net.recordings = vec![record_state("n", "v", &[], 0)];
    let n = 12_000; // 100 tau_m
    let (res, _) = run(&net, n);
    let v = &res.states[0].values;
    let mut worst = 0.0f64;
    for (k, &vk) in v.iter().enumerate() {
        let t = (k + 1) as f64 * DT;
        let an = m.v_rest_mv + r * m.i_offset_na * -(-t / m.tau_m_ms).exp_m1();
        worst = worst.max(rel(vk, an));
    }
    println!("i_offset: max relative error of V {worst:e}");
    assert!(worst < 1e-13, "relative error {worst:e}");
    let v_inf = m.v_rest_mv + r * m.i_offset_na;
    assert!(rel(v[v.len() - 1], v_inf) < 1e-14, "{} vs {v_inf}", v[v.len() - 1]);
}

#[test]
fn refractory_step_counts() {
    assert_eq!(refractory_steps(0.0, 0.1), 0);
    assert_eq!(refractory_steps(0.1, 0.1), 1);
    assert_eq!(refractory_steps(2.0, 0.1), 20);
    assert_eq!(refractory_steps(0.25, 0.1), 3);
    assert_eq!(refractory_steps(0.6, 0.2), 3, "0.6/0.2 = 2.9999999999999996 in f64");
    assert_eq!(refractory_steps(0.7, 0.1), 7, "0.7/0.1 = 7.000000000000001 in f64");
    assert_eq!(refractory_steps(1.0, 0.3), 4);
    assert_eq!(refractory_steps(1.0001, 0.1), 11);
}

/// A neuron driven by `i_offset` from `v_init`: the steps it spikes in.
fn driven_spikes(m: ir::IfCurrExp, n: u32) -> (Vec<u32>, Vec<f64>) {
    let mut net = network(DT);
    net.populations = vec![if_pop("n", 1, m)];
    net.recordings = vec![record_spikes("n", &[]), record_state("n", "v", &[], 1)];
    let (r, _) = run(&net, n);
    (r.spikes[0].events.iter().map(|&(s, _)| s).collect(), r.states[0].values.clone())
}

#[test]
fn refractory_neuron_stays_at_v_reset_and_keeps_its_currents() {
    // Strong drive: spikes in step 1 (V jumps above threshold in one step).
    let m = ir::IfCurrExp { i_offset_na: 1000.0, tau_refrac_ms: 2.0, v_reset_mv: -70.0, ..pynn_defaults() };
    let (spikes, v) = driven_spikes(m, 100);
    let r = 20;
    assert_eq!(spikes[0], 1);
    for w in spikes.windows(2) {
        assert_eq!(w[1] - w[0], r + 1, "{spikes:?}");
    }
    for &s in &spikes {
        for k in s..s + r {
            if (k as usize) < v.len() {
                assert_eq!(v[k as usize - 1], -70.0, "step {k} of {spikes:?}");
            }
        }
    }
    // Currents decay and accumulate during refractoriness: drive the
    // excitatory synapse while the neuron is refractory and compare with a
    // neuron that never spikes.
    let mut net = network(DT);
    let quiet = ir::IfCurrExp { v_thresh_mv: 1e9, ..pynn_defaults() };
    let busy = ir::IfCurrExp { i_offset_na: 200.0, tau_refrac_ms: 2.0, ..pynn_defaults() };
    net.populations = vec![source("in", &[vec![0.3, 0.5, 1.2]]), if_pop("a", 1, quiet), if_pop("b", 1, busy)];
    net.projections =
        vec![from_list("pa", "in", "a", Receptor::Excitatory, &[(0, 0, 0.5, 0.1)]), from_list("pb", "in", "b", Receptor::Excitatory, &[(0, 0, 0.5, 0.1)])];
    let exp = expanded(&net, 40);
    let mut sim = Simulator::new(&exp, &SimOptions::default()).unwrap();
    for _ in 0..40 {
        sim.step();
        if sim.step_count() == 4 {
            assert!(sim.refractory(2).unwrap()[0] > 0, "b should be refractory when the input arrives");
        }
        let (a, b) = (sim.state(1, StateVar::ISynE).unwrap()[0], sim.state(2, StateVar::ISynE).unwrap()[0]);
        assert_eq!(a.to_bits(), b.to_bits(), "step {}", sim.step_count());
    }
    assert!(sim.state(1, StateVar::ISynE).unwrap()[0] > 0.0);
}

/// Closed-form spike steps of a neuron driven by a constant current.
fn analytic_spike_steps(m: &ir::IfCurrExp, n: u32) -> Vec<u32> {
    let v_inf = m.v_rest_mv + m.tau_m_ms / m.cm_nf * m.i_offset_na;
    // Time from v0 to threshold: tau_m · ln((v_inf - v0) / (v_inf - v_thresh)).
    let cross = |v0: f64| m.tau_m_ms * ((v_inf - v0) / (v_inf - m.v_thresh_mv)).ln();
    let steps_to = |v0: f64| {
        let q = cross(v0) / DT;
        // Keep the test away from crossings that fall on a step boundary.
        assert!((q - q.round()).abs() > 1e-6, "crossing {q} steps is too close to a step boundary");
        q.ceil() as u32
    };
    let refr = refractory_steps(m.tau_refrac_ms, DT);
    let first = steps_to(m.v_init_mv.unwrap_or(m.v_rest_mv));
    let isi = refr + steps_to(m.v_reset_mv);
    (0..).map(|k| first + k * isi).take_while(|&s| s <= n).collect()
}

#[test]
fn constant_current_spike_train_matches_the_analytic_isi() {
    let cases = [
        ir::IfCurrExp { i_offset_na: 1.0, tau_refrac_ms: 2.0, ..pynn_defaults() },
        ir::IfCurrExp { i_offset_na: 1.5, tau_refrac_ms: 0.0, v_reset_mv: -70.0, v_init_mv: Some(-60.0), ..pynn_defaults() },
        ir::IfCurrExp { i_offset_na: 3.7, tau_refrac_ms: 0.25, tau_m_ms: 10.0, cm_nf: 0.25, v_reset_mv: -55.0, ..pynn_defaults() },
    ];
    for m in cases {
        let n = 20_000;
        let (spikes, _) = driven_spikes(m, n);
        let expect = analytic_spike_steps(&m, n);
        assert!(expect.len() > 50, "{m:?}: only {} spikes", expect.len());
        assert_eq!(spikes, expect, "{m:?}");
    }
}

#[test]
fn delays_land_in_step_s_plus_d_and_late_spikes_are_dropped() {
    // Source spikes in steps 2 and 9 over delays 1, 4 and 7 onto three neurons.
    let mut net = network(DT);
    let m = ir::IfCurrExp { v_thresh_mv: 1e9, ..pynn_defaults() };
    net.populations = vec![source("in", &[vec![0.2, 0.9]]), if_pop("n", 3, m)];
    net.projections = vec![from_list("p", "in", "n", Receptor::Excitatory, &[(0, 0, 1.0, 0.1), (0, 1, 1.0, 0.4), (0, 2, 1.0, 0.7)])];
    net.recordings = vec![record_state("n", "i_syn_e", &[], 0)];
    let n = 12;
    let (r, _) = run(&net, n);
    let s = &r.states[0];
    let p11 = (-DT / 5.0f64).exp();
    for (k, step) in s.steps.iter().enumerate() {
        for (j, d) in [1u32, 4, 7].into_iter().enumerate() {
            // The current after step `step`: every arrival a <= step decayed (step - a + 1) times.
            let expect: f64 = [2u32, 9].iter().map(|&sp| sp + d).filter(|&a| a <= *step).map(|a| p11.powi((*step - a + 1) as i32)).sum();
            let got = s.values[k * 3 + j];
            assert!(rel(got, expect) < 1e-14, "step {step} neuron {j}: {got} vs {expect}");
        }
    }
    // 9 + 7 = 16 > 12: the second spike never reaches neuron 2, and nothing breaks.
    assert_eq!(s.steps.len(), 12);
}

#[test]
fn multapses_and_recurrent_delivery_add_up() {
    // A neuron that spikes every step (huge drive, no refractoriness) excites
    // itself over two synapses with delays 2 and 5, and inhibits a second one.
    let mut net = network(1.0);
    let fire = ir::IfCurrExp { i_offset_na: 1e4, tau_refrac_ms: 0.0, ..pynn_defaults() };
    let quiet = ir::IfCurrExp { v_thresh_mv: 1e9, ..pynn_defaults() };
    net.populations = vec![if_pop("f", 1, fire), if_pop("q", 1, quiet)];
    net.projections = vec![
        from_list("self", "f", "f", Receptor::Excitatory, &[(0, 0, 0.25, 2.0), (0, 0, 0.5, 5.0)]),
        from_list("inh", "f", "q", Receptor::Inhibitory, &[(0, 0, -2.0, 3.0)]),
    ];
    let exp = expanded(&net, 30);
    let mut sim = Simulator::new(&exp, &SimOptions::default()).unwrap();
    let (pe, pi) = ((-1.0f64 / 5.0).exp(), (-1.0f64 / 5.0).exp());
    let (mut ie, mut ii) = (0.0f64, 0.0f64);
    for t in 1..=30u32 {
        sim.step();
        assert_eq!(sim.spikes(0).unwrap(), &[0], "step {t}");
        // f spikes in every step s >= 1: arrivals in step t from s = t - 2 and s = t - 5.
        let add_e = if t > 2 { 0.25 } else { 0.0 } + if t > 5 { 0.5 } else { 0.0 };
        let add_i = if t > 3 { 2.0 } else { 0.0 };
        ie = (ie + add_e) * pe;
        ii = (ii + add_i) * pi;
        assert!(rel(sim.state(0, StateVar::ISynE).unwrap()[0], ie) < 1e-13, "step {t}");
        assert!(rel(sim.state(1, StateVar::ISynI).unwrap()[0], ii) < 1e-13, "step {t}");
    }
}

#[test]
fn simulate_and_the_stepping_api_agree() {
    let mut net = network(DT);
    net.populations = vec![
        source("in", &[vec![0.5, 1.0, 3.0], vec![0.2, 2.2]]),
        if_pop("n", 2, ir::IfCurrExp { i_offset_na: 0.9, ..pynn_defaults() }),
    ];
    net.projections = vec![from_list("p", "in", "n", Receptor::Excitatory, &[(0, 0, 2.0, 0.1), (1, 1, 1.5, 0.3), (1, 0, 0.5, 0.2)])];
    net.recordings = vec![record_state("n", "v", &[1, 0], 0), record_spikes("n", &[])];
    let n = 3000;
    let exp = expanded(&net, n);
    let (r, _) = simulate(&net, &exp, n, &SimOptions::default()).unwrap();
    let mut sim = Simulator::new(&exp, &SimOptions::default()).unwrap();
    let (mut vals, mut events) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = sim.step();
        let v = sim.v(1).unwrap();
        vals.extend([v[1], v[0]]);
        events.extend(sim.spikes(1).unwrap().iter().map(|&j| (t, j)));
    }
    assert_eq!(r.states[0].values, vals);
    assert_eq!(r.spikes[0].events, events);
    assert!(events.len() > 10, "{}", events.len());
}
