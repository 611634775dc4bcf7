//! The one-screen summary `spikeforge check` prints.

use crate::ir::{self, plasticity_rule::Rule, population::Model, projection::Connectivity};
use serde::Serialize;

/// Counts that describe a network's size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub name: String,
    pub dt_ms: f64,
    pub duration_ms: f64,
    pub populations: usize,
    /// Neurons with state (excludes spike sources).
    pub neurons: u64,
    /// Spike-source neurons (arrays, Poisson, netx inputs).
    pub sources: u64,
    pub projections: usize,
    /// Synapses; for fixed-probability connectors the expected number.
    pub synapses: u64,
    /// False when `synapses` includes expected (not yet drawn) counts.
    pub synapses_exact: bool,
    /// Synapses of projections with a plasticity rule.
    pub plastic_synapses: u64,
    pub rules: Vec<RuleSummary>,
    pub recordings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSummary {
    pub name: String,
    pub kind: &'static str,
    /// Projections the rule is attached to.
    pub projections: Vec<String>,
}

/// Number of synapses of a projection and whether the count is exact.
pub fn synapse_count(p: &ir::Projection, n_pre: u64, n_post: u64, same_population: bool) -> (u64, bool) {
    match &p.connectivity {
        None => (0, true),
        Some(Connectivity::AllToAll(a)) => {
            let n = n_pre.saturating_mul(n_post);
            (if same_population && !a.allow_self_connections { n - n_pre.min(n_post) } else { n }, true)
        }
        Some(Connectivity::OneToOne(_)) => (n_pre.min(n_post), true),
        Some(Connectivity::FixedProbability(f)) => {
            let all = n_pre.saturating_mul(n_post);
            let pairs = if same_population && !f.allow_self_connections { all - n_pre.min(n_post) } else { all };
            ((pairs as f64 * f.p_connect).round() as u64, false)
        }
        Some(Connectivity::FromList(l)) => (l.connections.len() as u64, true),
        Some(Connectivity::DenseMatrix(m)) => ((m.rows as u64).saturating_mul(m.cols as u64), true),
        // Each target neuron receives one kernel's worth of inputs per input channel group.
        Some(Connectivity::Convolution(c)) => {
            let k = c.weight_shape.iter().skip(1).fold(1u64, |a, &s| a.saturating_mul(s as u64));
            (n_post.saturating_mul(k), true)
        }
        Some(Connectivity::Pooling(c)) => {
            let k = c.kernel_size.iter().fold(1u64, |a, &s| a.saturating_mul(s as u64));
            (n_post.saturating_mul(k), true)
        }
    }
}

pub fn rule_kind(r: &Option<Rule>) -> &'static str {
    match r {
        Some(Rule::PairStdp(_)) => "pair_stdp",
        Some(Rule::TripletStdp(_)) => "triplet_stdp",
        Some(Rule::SumOfProducts(_)) => "sum_of_products",
        Some(Rule::FreeEnergy(_)) => "free_energy",
        None => "none",
    }
}

/// Summarises a (validated) network.
pub fn summarize(net: &ir::Network) -> Summary {
    let size = |name: &str| net.populations.iter().find(|p| p.name == name).map_or(0, |p| p.size as u64);
    let mut neurons: u64 = 0;
    let mut sources: u64 = 0;
    for p in &net.populations {
        match p.model {
            Some(Model::SpikeSourceArray(_)) | Some(Model::SpikeSourcePoisson(_)) | Some(Model::NetxInput(_)) | Some(Model::NirInput(_)) => sources += p.size as u64,
            Some(Model::NetxFlatten(_)) | Some(Model::NirRelay(_)) | None => {}
            _ => neurons += p.size as u64,
        }
    }
    let mut synapses: u64 = 0;
    let mut plastic: u64 = 0;
    let mut exact = true;
    for p in &net.projections {
        let (n, e) = synapse_count(p, size(&p.pre), size(&p.post), p.pre == p.post);
        synapses = synapses.saturating_add(n);
        exact &= e;
        if !p.plasticity.is_empty() {
            plastic = plastic.saturating_add(n);
        }
    }
    let rules = net
        .plasticity_rules
        .iter()
        .map(|r| RuleSummary {
            name: r.name.clone(),
            kind: rule_kind(&r.rule),
            projections: net.projections.iter().filter(|p| p.plasticity == r.name).map(|p| p.name.clone()).collect(),
        })
        .collect();
    Summary {
        name: net.name.clone(),
        dt_ms: net.dt_ms,
        duration_ms: net.duration_ms,
        populations: net.populations.len(),
        neurons,
        sources,
        projections: net.projections.len(),
        synapses,
        synapses_exact: exact,
        plastic_synapses: plastic,
        rules,
        recordings: net.recordings.len(),
    }
}
