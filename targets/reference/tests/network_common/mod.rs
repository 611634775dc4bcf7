//! Builders shared by the `network_*` tests.
#![allow(dead_code)]

use spikeforge_compiler::expand::{self, Expanded};
use spikeforge_compiler::ir::{self, population::Model, projection::Connectivity, recording::What};
use spikeforge_reference::network::{simulate, SimOptions};
use spikeforge_results::RunResult;

/// PyNN's IF_curr_exp defaults.
pub fn pynn_defaults() -> ir::IfCurrExp {
    ir::IfCurrExp {
        tau_m_ms: 20.0,
        cm_nf: 1.0,
        v_rest_mv: -65.0,
        v_reset_mv: -65.0,
        v_thresh_mv: -50.0,
        tau_refrac_ms: 0.1,
        tau_syn_e_ms: 5.0,
        tau_syn_i_ms: 5.0,
        i_offset_na: 0.0,
        v_init_mv: None,
        ..Default::default()
    }
}

pub fn network(dt_ms: f64) -> ir::Network {
    ir::Network { schema_version: ir::SCHEMA_VERSION, name: "test".into(), dt_ms, seed: 1, ..Default::default() }
}

pub fn population(name: &str, size: u32, model: Model) -> ir::Population {
    ir::Population { name: name.into(), size, model: Some(model), ..Default::default() }
}

pub fn if_pop(name: &str, size: u32, m: ir::IfCurrExp) -> ir::Population {
    population(name, size, Model::IfCurrExp(m))
}

pub fn lava_pop(name: &str, size: u32, m: ir::LavaLif) -> ir::Population {
    population(name, size, Model::LavaLif(m))
}

/// A spike source with the given spike times (ms) per neuron.
pub fn source(name: &str, trains: &[Vec<f64>]) -> ir::Population {
    let size = trains.len() as u32;
    let trains = trains.iter().map(|t| ir::SpikeTrain { times_ms: t.clone() }).collect();
    population(name, size, Model::SpikeSourceArray(ir::SpikeSourceArray { trains }))
}

/// A from-list projection: `(pre, post, weight, delay_ms)`.
pub fn from_list(name: &str, pre: &str, post: &str, receptor: ir::Receptor, conns: &[(u32, u32, f64, f64)]) -> ir::Projection {
    let connections = conns.iter().map(|&(pre, post, w, d)| ir::Connection { pre, post, weight: Some(w), delay_ms: Some(d) }).collect();
    ir::Projection {
        name: name.into(),
        pre: pre.into(),
        post: post.into(),
        receptor: receptor as i32,
        connectivity: Some(Connectivity::FromList(ir::FromList { connections })),
        ..Default::default()
    }
}

pub fn record_spikes(pop: &str, neurons: &[u32]) -> ir::Recording {
    ir::Recording { what: Some(What::Spikes(ir::SpikeRecording { population: pop.into(), neurons: neurons.to_vec() })) }
}

pub fn record_state(pop: &str, var: &str, neurons: &[u32], every: u32) -> ir::Recording {
    ir::Recording { what: Some(What::State(ir::StateRecording { population: pop.into(), variable: var.into(), neurons: neurons.to_vec(), every_n_steps: every })) }
}

pub fn record_weights(proj: &str, every: u32) -> ir::Recording {
    ir::Recording { what: Some(What::Weights(ir::WeightRecording { projection: proj.into(), every_n_steps: every })) }
}

pub fn expanded(net: &ir::Network, n_steps: u32) -> Expanded {
    expand::expand(net, n_steps).expect("expand")
}

/// Expands and runs with default options; panics on errors.
pub fn run(net: &ir::Network, n_steps: u32) -> (RunResult, Vec<String>) {
    let exp = expanded(net, n_steps);
    simulate(net, &exp, n_steps, &SimOptions::default()).expect("simulate")
}

/// `|a - b| / |b|` (absolute when `b == 0`).
pub fn rel(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        a.abs()
    } else {
        ((a - b) / b).abs()
    }
}
