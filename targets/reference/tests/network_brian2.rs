//! Peer check: the IF_curr_exp network reference against Brian2 (numpy runtime
//! target, exact integration) on an identical network.
//!
//! # Matching the conventions
//!
//! Brian2 runs one time step `k = 0, 1, ...` (clock time `k·dt`) in the slots
//! `groups` (state update over `[k·dt, (k+1)·dt]`), `thresholds`, `synapses`
//! (`on_pre` of the spikes due now), `resets`, `end`. Our step `s` is Brian2's
//! step `k = s - 1`:
//!
//! * a source spike in step `s` is a `SpikeGeneratorGroup` spike at `(s-1)·dt`
//!   (emitted in the `thresholds` slot of step `s - 1`);
//! * a synapse with delay `d` steps gets the Brian2 delay `(d-1)·dt`: a spike
//!   emitted in Brian2 step `s - 1` is applied by `on_pre` (`I_e += w`,
//!   `I_i += |w|`) in the `synapses` slot of step `s - 1 + d - 1`, i.e. after
//!   that step's integration and before the integration of Brian2 step
//!   `s + d - 1` = our step `s + d`: "input of step `s + d`, applied at its start";
//! * the threshold `v >= v_thresh` is tested after the integration of the
//!   same step, the reset `v = v_reset` follows in `resets`;
//! * refractoriness: Brian2 integrates `v` (`unless refractory`) in step
//!   `k' + j` after a spike in `k'` iff `j >= timestep(refractory)`; we freeze
//!   `R = ceil(tau_refrac/dt)` steps and integrate again at `j = R + 1`, so the
//!   Brian2 model gets `refractory = (R + 1)·dt`;
//! * `StateMonitor(when='end')` in step `k` records the state after our step `k + 1`.
//!
//! The network: 20 spike-source-array inputs with pseudo-random spike steps
//! onto two IF_curr_exp populations of 5 (different parameters, `tau_syn_e !=
//! tau_syn_i`, refractory periods of 20 and 5 steps, one of them `i_offset`
//! and `v_init`, the other per-neuron initial potentials drawn from a
//! distribution), excitatory and inhibitory projections with delays of 1 to 6
//! steps, and recurrent projections between the two populations.

mod network_common;

use network_common::*;
use serde_json::{json, Value};
use spikeforge_compiler::expand::{ExpModel, Expanded};
use spikeforge_compiler::ir::{self, Receptor};
use spikeforge_reference::network::{refractory_steps, simulate, SimOptions};

const DT: f64 = 0.1;
const N_STEPS: u32 = 4000;

/// xorshift64*: a deterministic pattern generator for the test network.
struct Pattern(u64);

impl Pattern {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn build() -> ir::Network {
    let mut g = Pattern(0x9e37_79b9_7f4a_7c15);
    let mut net = network(DT);
    net.name = "brian2-peer".into();
    let trains: Vec<Vec<f64>> = (0..20)
        .map(|_| {
            let mut steps: Vec<u64> = (0..60).map(|_| 1 + g.below(N_STEPS as u64)).collect();
            steps.sort_unstable();
            steps.dedup();
            steps.into_iter().map(|s| s as f64 * DT).collect()
        })
        .collect();
    let a = ir::IfCurrExp { tau_syn_e_ms: 5.0, tau_syn_i_ms: 10.0, tau_refrac_ms: 2.0, i_offset_na: 0.1, v_init_mv: Some(-60.0), ..pynn_defaults() };
    let b = ir::IfCurrExp {
        tau_m_ms: 15.0,
        cm_nf: 0.5,
        v_rest_mv: -62.0,
        v_reset_mv: -70.0,
        v_thresh_mv: -52.0,
        tau_refrac_ms: 0.5,
        tau_syn_e_ms: 3.0,
        tau_syn_i_ms: 6.0,
        i_offset_na: 0.0,
        v_init_mv: None,
        // Per-neuron initial potentials, drawn by the expansion.
        v_init_distribution_mv: Some(ir::Distribution { kind: Some(ir::distribution::Kind::Uniform(ir::Uniform { low: -70.0, high: -52.0, seed: Some(4) })) }),
    };
    net.populations = vec![source("in", &trains), if_pop("a", 5, a), if_pop("b", 5, b)];
    let mut conns = |n_pre: u32, n_post: u32, p: f64, w: (f64, f64), max_d: u64| -> Vec<(u32, u32, f64, f64)> {
        let mut v = Vec::new();
        for i in 0..n_pre {
            for j in 0..n_post {
                if g.unit() < p {
                    let weight = w.0 + (w.1 - w.0) * g.unit();
                    let d = 1 + g.below(max_d);
                    v.push((i, j, weight, d as f64 * DT));
                }
            }
        }
        v
    };
    net.projections = vec![
        from_list("in_a_e", "in", "a", Receptor::Excitatory, &conns(20, 5, 0.6, (0.6, 2.0), 6)),
        from_list("in_a_i", "in", "a", Receptor::Inhibitory, &conns(20, 5, 0.15, (-1.0, -0.3), 6)),
        from_list("in_b_e", "in", "b", Receptor::Excitatory, &conns(20, 5, 0.5, (0.3, 1.0), 6)),
        from_list("in_b_i", "in", "b", Receptor::Inhibitory, &conns(20, 5, 0.2, (0.2, 1.0), 6)),
        from_list("a_b", "a", "b", Receptor::Excitatory, &conns(5, 5, 0.6, (0.2, 0.6), 4)),
        from_list("b_a", "b", "a", Receptor::Inhibitory, &conns(5, 5, 0.6, (0.2, 0.6), 4)),
    ];
    net.recordings = vec![record_state("a", "v", &[], 0), record_state("b", "v", &[], 0), record_spikes("a", &[]), record_spikes("b", &[])];
    net
}

/// The expanded network as the Brian2 script reads it.
fn to_json(exp: &Expanded) -> Value {
    let pops: Vec<Value> = exp
        .populations
        .iter()
        .map(|p| match &p.model {
            ExpModel::Source(trains) => {
                let events: Vec<(u32, u32)> = trains.iter().enumerate().flat_map(|(i, t)| t.iter().map(move |&s| (i as u32, s))).collect();
                json!({"name": p.name, "size": p.size, "kind": "source", "events": events})
            }
            ExpModel::IfCurrExp(m) => json!({
                "name": p.name, "size": p.size, "kind": "if_curr_exp",
                "tau_m": m.tau_m_ms, "cm": m.cm_nf, "v_rest": m.v_rest_mv, "v_reset": m.v_reset_mv,
                "v_thresh": m.v_thresh_mv, "tau_e": m.tau_syn_e_ms, "tau_i": m.tau_syn_i_ms,
                "i_offset": m.i_offset_na,
                "v_init": p.v_init.clone().unwrap_or_else(|| vec![m.v_init_mv.unwrap_or(m.v_rest_mv); p.size as usize]),
                "refrac_steps": refractory_steps(m.tau_refrac_ms, exp.dt_ms),
            }),
            ExpModel::LavaLif(_) => panic!("no LavaLif in this test"),
        })
        .collect();
    let projs: Vec<Value> = exp
        .projections
        .iter()
        .map(|p| {
            let syn: Vec<(u32, u32, f64, u32)> = p.synapses.iter().map(|s| (s.pre, s.post, s.weight, s.delay)).collect();
            json!({"name": p.name, "pre": exp.populations[p.pre].name, "post": exp.populations[p.post].name,
                   "inhibitory": p.receptor == Receptor::Inhibitory, "synapses": syn})
        })
        .collect();
    json!({"dt": exp.dt_ms, "n_steps": N_STEPS, "populations": pops, "projections": projs})
}

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from brian2 import (prefs, defaultclock, start_scope, NeuronGroup, SpikeGeneratorGroup, Synapses,
                    StateMonitor, SpikeMonitor, Network, ms, mV, nA, nF, Mohm)
prefs.codegen.target = 'numpy'
spec = json.load(open(sys.argv[1]))
start_scope()
dt = spec['dt'] * ms
defaultclock.dt = dt
groups, monitors = {}, []
eqs = '''
dv/dt = (-(v - v_rest) + R*(Ie - Ii + i_offset))/tau_m : volt (unless refractory)
dIe/dt = -Ie/tau_e : amp
dIi/dt = -Ii/tau_i : amp
v_rest : volt (constant)
v_reset : volt (constant)
v_thresh : volt (constant)
R : ohm (constant)
tau_m : second (constant)
tau_e : second (constant)
tau_i : second (constant)
i_offset : amp (constant)
'''
for p in spec['populations']:
    if p['kind'] == 'source':
        ev = np.array(p['events'], dtype=np.int64).reshape(-1, 2)
        # Our step s is Brian2's time step s - 1.
        g = SpikeGeneratorGroup(p['size'], ev[:, 0], (ev[:, 1] - 1) * dt, name=p['name'])
    else:
        g = NeuronGroup(p['size'], eqs, threshold='v >= v_thresh', reset='v = v_reset',
                        refractory=(p['refrac_steps'] + 1) * dt, method='exact', name=p['name'])
        g.v_rest = p['v_rest'] * mV
        g.v_reset = p['v_reset'] * mV
        g.v_thresh = p['v_thresh'] * mV
        g.R = p['tau_m'] / p['cm'] * Mohm
        g.tau_m = p['tau_m'] * ms
        g.tau_e = p['tau_e'] * ms
        g.tau_i = p['tau_i'] * ms
        g.i_offset = p['i_offset'] * nA
        g.v = np.asarray(p['v_init']) * mV
        monitors.append((p['name'], StateMonitor(g, 'v', record=True, when='end'), SpikeMonitor(g)))
    groups[p['name']] = g
syns = []
for q in spec['projections']:
    syn = np.array(q['synapses'], dtype=float).reshape(-1, 4)
    target = 'Ii_post += w' if q['inhibitory'] else 'Ie_post += w'
    s = Synapses(groups[q['pre']], groups[q['post']], 'w : amp', on_pre=target, name=q['name'])
    s.connect(i=syn[:, 0].astype(int), j=syn[:, 1].astype(int))
    w = syn[:, 2]
    s.w = (np.abs(w) if q['inhibitory'] else w) * nA
    s.delay = (syn[:, 3] - 1) * dt
    syns.append(s)
net = Network(list(groups.values()), syns, [m for _, sm, sp in monitors for m in (sm, sp)])
net.run(spec['n_steps'] * dt)
out = {}
for name, sm, sp in monitors:
    steps = np.round(np.asarray(sp.t / dt)).astype(int) + 1
    out[name] = {'v': (sm.v / mV).tolist(), 'spikes': [[int(s), int(i)] for s, i in sorted(zip(steps, np.asarray(sp.i)))]}
json.dump(out, sys.stdout)
"#;

#[test]
fn if_curr_exp_network_matches_brian2() {
    let net = build();
    let exp = expanded(&net, N_STEPS);
    let (r, notes) = simulate(&net, &exp, N_STEPS, &SimOptions::default()).unwrap();
    assert!(notes.is_empty());

    let spec = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("network_brian2_{}.json", std::process::id()));
    std::fs::write(&spec, serde_json::to_vec(&to_json(&exp)).unwrap()).unwrap();
    let python = spikeforge_results::peer::python_with(&["brian2", "numpy<2.4"]);
    let out = spikeforge_results::peer::run_python(&python, SCRIPT, &[spec.as_os_str()]);
    let _ = std::fs::remove_file(&spec);
    let b2: Value = serde_json::from_str(&out).expect("Brian2 output is JSON");

    for (k, pop) in ["a", "b"].into_iter().enumerate() {
        let st = &r.states[k];
        assert_eq!(st.population, pop);
        let n = st.neurons.len();
        let bv = b2[pop]["v"].as_array().unwrap();
        assert_eq!(bv.len(), n);
        let (mut worst_rel, mut worst_abs) = (0.0f64, 0.0f64);
        for (j, trace) in bv.iter().enumerate() {
            let trace = trace.as_array().unwrap();
            assert_eq!(trace.len(), N_STEPS as usize);
            for (t, x) in trace.iter().enumerate() {
                let (ours, theirs) = (st.values[t * n + j], x.as_f64().unwrap());
                worst_rel = worst_rel.max(rel(ours, theirs));
                worst_abs = worst_abs.max((ours - theirs).abs());
            }
        }
        let ours: Vec<(u32, u32)> = r.spikes[k].events.clone();
        let theirs: Vec<(u32, u32)> = b2[pop]["spikes"].as_array().unwrap().iter().map(|e| (e[0].as_u64().unwrap() as u32, e[1].as_u64().unwrap() as u32)).collect();
        println!("population {pop}: {} spikes, max |dV| {worst_abs:e} mV, max relative {worst_rel:e}", ours.len());
        assert_eq!(ours, theirs, "spike steps of population {pop}");
        // Each of the 5 neurons spikes several times, so thresholds, resets and
        // refractoriness are exercised.
        let counts: Vec<usize> = (0..5).map(|j| ours.iter().filter(|e| e.1 == j).count()).collect();
        println!("population {pop}: spikes per neuron {counts:?}");
        assert!(counts.iter().all(|&c| c >= 3), "population {pop}: spikes per neuron {counts:?}");
        assert!(worst_rel < 1e-12, "population {pop}: V differs from Brian2 by {worst_rel:e} (relative)");
    }
}
