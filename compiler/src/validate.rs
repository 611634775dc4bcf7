//! The validation pass: is the IR a network spikeforge can use?
//!
//! Checks that every reference resolves, that parameters are in their
//! physical range, that sizes, matrices and lists agree, that rule strings
//! parse under Lava's limits, and that every plasticity rule is attached to a
//! projection it can serve. Each finding names the object and the field.
//! The codes are listed in docs/diagnostics.md.

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{self, plasticity_rule::Rule, population::Model, projection::Connectivity};
use std::collections::{HashMap, HashSet};

/// Validates a network; an empty result (or one with only warnings) means usable.
pub fn validate(net: &ir::Network) -> Diagnostics {
    let mut v = Validator { d: Diagnostics::default(), dt: net.dt_ms };
    v.network(net);
    v.d
}

struct Validator {
    d: Diagnostics,
    dt: f64,
}

fn pop_obj(name: &str) -> String {
    format!("population '{name}'")
}
fn proj_obj(name: &str) -> String {
    format!("projection '{name}'")
}
fn rule_obj(name: &str) -> String {
    format!("plasticity rule '{name}'")
}

/// What kind of neurons a population holds, as far as rules and connections care.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PopKind {
    /// Emits spikes, receives no synapses.
    Source,
    /// Physical-unit neurons (IF_curr_exp): the `spinnaker` profile.
    Physical,
    /// Loihi-style integer neurons (Lava LIF, netx): the `loihi` profile.
    Loihi,
    /// A reshape with no neurons (netx flatten, NIR relays).
    Relay,
    /// Float neurons imported from NIR (signed inputs, NIR units).
    Nir,
    /// No model (already reported).
    Unknown,
}

fn pop_kind(p: &ir::Population) -> PopKind {
    match &p.model {
        Some(Model::SpikeSourceArray(_)) | Some(Model::SpikeSourcePoisson(_)) | Some(Model::NetxInput(_)) | Some(Model::NirInput(_)) => PopKind::Source,
        Some(Model::IfCurrExp(_)) => PopKind::Physical,
        Some(Model::LavaLif(_)) | Some(Model::NetxNeuron(_)) => PopKind::Loihi,
        Some(Model::NetxFlatten(_)) | Some(Model::NirRelay(_)) => PopKind::Relay,
        Some(Model::NirNeuron(_)) => PopKind::Nir,
        None => PopKind::Unknown,
    }
}

impl Validator {
    fn err(&mut self, code: &'static str, obj: String, field: &str, msg: String) {
        self.d.push(Diagnostic::error(code, obj, field, msg));
    }

    fn finite(&mut self, code: &'static str, obj: &str, field: &str, v: f64) -> bool {
        if !v.is_finite() {
            self.err(code, obj.to_string(), field, format!("found {v}; expected a finite number"));
            return false;
        }
        true
    }

    /// `v > 0` and finite.
    fn positive(&mut self, code: &'static str, obj: &str, field: &str, v: f64) {
        if self.finite(code, obj, field, v) && v <= 0.0 {
            self.err(code, obj.to_string(), field, format!("found {v}; expected a value > 0"));
        }
    }

    /// `v >= 0` and finite.
    fn non_negative(&mut self, code: &'static str, obj: &str, field: &str, v: f64) {
        if self.finite(code, obj, field, v) && v < 0.0 {
            self.err(code, obj.to_string(), field, format!("found {v}; expected a value >= 0"));
        }
    }

    fn int_range(&mut self, code: &'static str, obj: &str, field: &str, v: i64, lo: i64, hi: i64) {
        if v < lo || v > hi {
            self.err(code, obj.to_string(), field, format!("found {v}; expected an integer in [{lo}, {hi}]"));
        }
    }

    fn network(&mut self, net: &ir::Network) {
        if net.schema_version != ir::SCHEMA_VERSION {
            self.err(
                "V001",
                "network".into(),
                "schema_version",
                format!("found {}; this spikeforge reads schema version {}", net.schema_version, ir::SCHEMA_VERSION),
            );
        }
        if !(net.dt_ms.is_finite() && net.dt_ms > 0.0 && net.dt_ms <= 100.0) {
            self.err("V002", "network".into(), "dt_ms", format!("found {}; expected a time step in (0, 100] ms", net.dt_ms));
            // Everything below that depends on dt would only repeat the problem.
            self.dt = f64::NAN;
        }
        self.non_negative("V002", "network", "duration_ms", net.duration_ms);

        // Names are unique within their kind.
        let mut pops: HashMap<&str, &ir::Population> = HashMap::new();
        for p in &net.populations {
            if p.name.is_empty() {
                self.err("V003", "population (unnamed)".into(), "name", "empty; every population needs a unique name".into());
            } else if pops.insert(&p.name, p).is_some() {
                self.err("V003", pop_obj(&p.name), "name", "duplicate population name; names must be unique".into());
            }
        }
        let mut rules: HashMap<&str, &ir::PlasticityRule> = HashMap::new();
        for r in &net.plasticity_rules {
            if r.name.is_empty() {
                self.err("V003", "plasticity rule (unnamed)".into(), "name", "empty; every rule needs a unique name".into());
            } else if rules.insert(&r.name, r).is_some() {
                self.err("V003", rule_obj(&r.name), "name", "duplicate rule name; names must be unique".into());
            }
        }
        let mut projs: HashMap<&str, &ir::Projection> = HashMap::new();
        for p in &net.projections {
            if p.name.is_empty() {
                self.err("V003", "projection (unnamed)".into(), "name", "empty; every projection needs a unique name".into());
            } else if projs.insert(&p.name, p).is_some() {
                self.err("V003", proj_obj(&p.name), "name", "duplicate projection name; names must be unique".into());
            }
        }

        for p in &net.populations {
            self.population(p);
        }
        for r in &net.plasticity_rules {
            self.rule(r);
        }
        let mut used_rules = HashSet::new();
        for p in &net.projections {
            self.projection(p, &pops, &rules);
            if !p.plasticity.is_empty() {
                used_rules.insert(p.plasticity.as_str());
            }
        }
        for r in &net.recordings {
            self.recording(r, &pops, &projs);
        }
        for r in &net.plasticity_rules {
            if !r.name.is_empty() && !used_rules.contains(r.name.as_str()) {
                self.d.push(
                    Diagnostic::warning("V039", rule_obj(&r.name), "", "defined but attached to no projection".to_string())
                        .with_hint("set `plasticity: <rule name>` on the projection it should act on, or remove the rule"),
                );
            }
        }
    }

    fn population(&mut self, p: &ir::Population) {
        let obj = pop_obj(&p.name);
        if p.size == 0 {
            self.err("V004", obj.clone(), "size", "found 0; expected at least 1 neuron".into());
        }
        if !p.shape.is_empty() {
            let prod = p.shape.iter().fold(1u64, |a, &s| a.saturating_mul(s as u64));
            if prod != p.size as u64 {
                self.err("V004", obj.clone(), "shape", format!("shape {:?} holds {prod} neurons but size is {}; expected equal", p.shape, p.size));
            }
        }
        match &p.model {
            None => self.err("V005", obj, "model", "missing; expected a neuron model or spike source".into()),
            Some(Model::IfCurrExp(m)) => {
                let o = obj.as_str();
                self.positive("V010", o, "tau_m_ms", m.tau_m_ms);
                self.positive("V010", o, "cm_nf", m.cm_nf);
                self.positive("V010", o, "tau_syn_e_ms", m.tau_syn_e_ms);
                self.positive("V010", o, "tau_syn_i_ms", m.tau_syn_i_ms);
                self.non_negative("V010", o, "tau_refrac_ms", m.tau_refrac_ms);
                self.finite("V010", o, "v_rest_mv", m.v_rest_mv);
                self.finite("V010", o, "i_offset_na", m.i_offset_na);
                if let Some(v) = m.v_init_mv {
                    self.finite("V010", o, "v_init_mv", v);
                }
                if let Some(d) = &m.v_init_distribution_mv {
                    self.distribution(o, "v_init_distribution_mv", d);
                }
                if self.finite("V010", o, "v_reset_mv", m.v_reset_mv)
                    && self.finite("V010", o, "v_thresh_mv", m.v_thresh_mv)
                    && m.v_reset_mv >= m.v_thresh_mv
                {
                    self.err(
                        "V010",
                        obj.clone(),
                        "v_reset_mv",
                        format!("reset {} mV is not below threshold {} mV; expected v_reset_mv < v_thresh_mv", m.v_reset_mv, m.v_thresh_mv),
                    );
                }
            }
            Some(Model::SpikeSourceArray(a)) => {
                if a.trains.len() != p.size as usize {
                    self.err("V011", obj.clone(), "trains", format!("{} spike trains for {} neurons; expected one train per neuron", a.trains.len(), p.size));
                }
                for (i, t) in a.trains.iter().enumerate() {
                    let field = format!("trains[{i}].times_ms");
                    if let Some(x) = t.times_ms.iter().find(|x| !x.is_finite() || **x < 0.0) {
                        self.err("V011", obj.clone(), &field, format!("found spike time {x}; expected finite times >= 0 ms"));
                    } else if let Some(w) = t.times_ms.windows(2).find(|w| w[1] < w[0]) {
                        self.err("V011", obj.clone(), &field, format!("{} ms follows {} ms; expected non-decreasing times", w[1], w[0]));
                    }
                }
            }
            Some(Model::SpikeSourcePoisson(s)) => {
                let o = obj.as_str();
                self.non_negative("V012", o, "rate_hz", s.rate_hz);
                self.non_negative("V012", o, "start_ms", s.start_ms);
                if let Some(d) = s.duration_ms {
                    self.non_negative("V012", o, "duration_ms", d);
                }
                if self.dt.is_finite() && s.rate_hz.is_finite() && s.rate_hz * self.dt / 1000.0 > 1.0 {
                    self.err(
                        "V012",
                        obj.clone(),
                        "rate_hz",
                        format!("{} Hz means more than one spike per {} ms step; expected rate_hz <= {}", s.rate_hz, self.dt, 1000.0 / self.dt),
                    );
                }
            }
            Some(Model::LavaLif(m)) => {
                let o = obj.as_str();
                self.int_range("V013", o, "du", m.du as i64, 0, 4095);
                // dv 4096 (v zeroed every step) and vth 2^17 (never spikes) run as in Lava
                self.int_range("V013", o, "dv", m.dv as i64, 0, 4096);
                self.int_range("V013", o, "vth", m.vth, 0, 1 << 17);
                self.int_range("V013", o, "bias_mant", m.bias_mant, -(1 << 12), (1 << 12) - 1);
                self.int_range("V013", o, "bias_exp", m.bias_exp as i64, 0, 7);
                self.int_range("V013", o, "u_init", m.u_init, -(1 << 23), (1 << 23) - 1);
                self.int_range("V013", o, "v_init", m.v_init, -(1 << 23) + 1, (1 << 23) - 1);
            }
            Some(Model::NetxNeuron(n)) => self.netx_neuron(&obj, n),
            Some(Model::NetxInput(i)) => {
                for (f, v) in [("weight", &i.weight), ("bias", &i.bias)] {
                    if !(v.len() <= 1 || v.len() == p.size as usize) {
                        self.err("V014", obj.clone(), f, format!("{} values for {} neurons; expected a scalar or one per neuron", v.len(), p.size));
                    }
                }
                if let Some(n) = &i.neuron {
                    self.netx_neuron(&obj, n);
                }
            }
            Some(Model::NetxFlatten(_)) | Some(Model::NirInput(_)) => {}
            Some(Model::NirNeuron(n)) => crate::import::nir::validate_neuron(&obj, p.size, n, &mut self.d),
            Some(Model::NirRelay(r)) => {
                if ir::NirRelayKind::try_from(r.kind).unwrap_or_default() == ir::NirRelayKind::Unspecified {
                    self.err("V015", obj, "kind", "unspecified; expected output, flatten, node_output or node_input".into());
                }
            }
        }
    }

    fn netx_neuron(&mut self, obj: &str, n: &ir::NetxNeuron) {
        for (f, v) in [("iDecay", n.i_decay), ("vDecay", n.v_decay), ("sinDecay", n.sin_decay), ("cosDecay", n.cos_decay), ("thDecay", n.th_decay), ("refDecay", n.ref_decay)] {
            self.int_range("V014", obj, f, v as i64, 0, 4096);
        }
        if n.r#type == ir::NetxNeuronType::Unspecified as i32 {
            self.err("V014", obj.to_string(), "type", "unspecified; expected CUBA, LOIHI, SDNN, RF_* or ADRF_*".into());
        }
        if n.v_th_mant < 0 {
            self.err("V014", obj.to_string(), "vThMant", format!("found {}; expected >= 0", n.v_th_mant));
        }
        if n.ref_delay < 0 {
            self.err("V014", obj.to_string(), "refDelay", format!("found {}; expected >= 0", n.ref_delay));
        }
    }

    fn distribution(&mut self, obj: &str, field: &str, d: &ir::Distribution) -> Option<(f64, f64)> {
        use ir::distribution::Kind;
        match &d.kind {
            None => {
                self.err("V026", obj.to_string(), field, "empty distribution; expected a constant, uniform or normal".into());
                None
            }
            Some(Kind::Constant(c)) => self.finite("V026", obj, field, *c).then_some((*c, *c)),
            Some(Kind::Uniform(u)) => {
                let ok = self.finite("V026", obj, &format!("{field}.low"), u.low) & self.finite("V026", obj, &format!("{field}.high"), u.high);
                if ok && u.low >= u.high {
                    self.err("V026", obj.to_string(), &format!("{field}.high"), format!("uniform range [{}, {}) is empty; expected low < high", u.low, u.high));
                    return None;
                }
                ok.then_some((u.low, u.high))
            }
            Some(Kind::Normal(n)) => {
                let mut ok = self.finite("V026", obj, &format!("{field}.mean"), n.mean);
                self.non_negative("V026", obj, &format!("{field}.sd"), n.sd);
                ok &= n.sd.is_finite() && n.sd >= 0.0;
                let lo = n.clip_low.unwrap_or(f64::NEG_INFINITY);
                let hi = n.clip_high.unwrap_or(f64::INFINITY);
                if lo.is_nan() || hi.is_nan() || lo >= hi {
                    self.err("V026", obj.to_string(), &format!("{field}.clip_high"), format!("clip range [{lo}, {hi}] is empty; expected clip_low < clip_high"));
                    return None;
                }
                if ok && n.sd == 0.0 && (n.mean < lo || n.mean > hi) {
                    self.err("V026", obj.to_string(), &format!("{field}.mean"), format!("sd is 0 and the mean {} lies outside the clip range [{lo}, {hi}]; no value can be drawn", n.mean));
                    return None;
                }
                ok.then_some((lo.max(if n.sd == 0.0 { n.mean } else { f64::NEG_INFINITY }), hi.min(if n.sd == 0.0 { n.mean } else { f64::INFINITY })))
            }
        }
    }

    fn delay(&mut self, obj: &str, field: &str, lo: f64) {
        if self.dt.is_finite() && lo < self.dt * (1.0 - 1e-9) {
            self.err(
                "V027",
                obj.to_string(),
                field,
                format!("delay {lo} ms is shorter than one time step ({} ms); expected delays >= dt", self.dt),
            );
        }
    }

    fn projection(&mut self, p: &ir::Projection, pops: &HashMap<&str, &ir::Population>, rules: &HashMap<&str, &ir::PlasticityRule>) {
        let obj = proj_obj(&p.name);
        let pre = pops.get(p.pre.as_str()).copied();
        let post = pops.get(p.post.as_str()).copied();
        if pre.is_none() {
            self.err("V020", obj.clone(), "pre", format!("population '{}' does not exist", p.pre));
        }
        if post.is_none() {
            self.err("V020", obj.clone(), "post", format!("population '{}' does not exist", p.post));
        }
        let receptor = ir::Receptor::try_from(p.receptor).unwrap_or(ir::Receptor::Unspecified);
        if receptor == ir::Receptor::Unspecified {
            self.err("V028", obj.clone(), "receptor", "unspecified; expected excitatory, inhibitory or signed".into());
        }
        if let Some(post) = post {
            match pop_kind(post) {
                PopKind::Source => self.err(
                    "V029",
                    obj.clone(),
                    "post",
                    format!("population '{}' is a spike source and cannot receive synapses", post.name),
                ),
                PopKind::Physical if receptor == ir::Receptor::Signed => self.err(
                    "V028",
                    obj.clone(),
                    "receptor",
                    format!("'signed' is for Loihi-style neurons; population '{}' is IF_curr_exp: expected excitatory or inhibitory", post.name),
                ),
                _ => {}
            }
        }
        let (n_pre, n_post) = (pre.map(|p| p.size), post.map(|p| p.size));
        let mut carries_weights = false;
        match &p.connectivity {
            None => self.err("V021", obj.clone(), "connectivity", "missing; expected a connector".into()),
            Some(Connectivity::AllToAll(_)) => {}
            Some(Connectivity::OneToOne(_)) => {
                if let (Some(a), Some(b)) = (n_pre, n_post) {
                    if a != b {
                        self.err("V022", obj.clone(), "one_to_one", format!("pre has {a} neurons and post {b}; one_to_one needs equal sizes"));
                    }
                }
            }
            Some(Connectivity::FixedProbability(f)) => {
                if !(f.p_connect.is_finite() && (0.0..=1.0).contains(&f.p_connect)) {
                    self.err("V023", obj.clone(), "fixed_probability.p_connect", format!("found {}; expected a probability in [0, 1]", f.p_connect));
                }
            }
            Some(Connectivity::FromList(l)) => {
                let lists_weights = l.connections.iter().any(|c| c.weight.is_some());
                carries_weights = lists_weights && l.connections.iter().all(|c| c.weight.is_some());
                for (i, c) in l.connections.iter().enumerate() {
                    if let Some(a) = n_pre {
                        if c.pre >= a {
                            self.err("V024", obj.clone(), &format!("from_list[{i}].pre"), format!("index {} but population '{}' has {a} neurons", c.pre, p.pre));
                        }
                    }
                    if let Some(b) = n_post {
                        if c.post >= b {
                            self.err("V024", obj.clone(), &format!("from_list[{i}].post"), format!("index {} but population '{}' has {b} neurons", c.post, p.post));
                        }
                    }
                    if let Some(w) = c.weight {
                        self.finite("V024", &obj, &format!("from_list[{i}].weight"), w);
                    }
                    if let Some(d) = c.delay_ms {
                        if self.finite("V027", &obj, &format!("from_list[{i}].delay_ms"), d) {
                            self.delay(&obj, &format!("from_list[{i}].delay_ms"), d);
                        }
                    }
                }
                let listed = l.connections.iter().filter_map(|c| c.weight).filter(|w| w.is_finite());
                let (lo, hi) = listed.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), w| (lo.min(w), hi.max(w)));
                if lo <= hi {
                    self.weight_sign(&obj, "from_list.weight", receptor, lo, hi);
                }
                if lists_weights && !carries_weights && p.weight.is_none() {
                    self.err("V024", obj.clone(), "weight", "some list entries have no weight and the projection gives none; expected a weight for every connection".into());
                }
            }
            Some(Connectivity::DenseMatrix(m)) => {
                carries_weights = true;
                if let (Some(a), Some(b)) = (n_pre, n_post) {
                    if m.rows != b || m.cols != a {
                        self.err(
                            "V025",
                            obj.clone(),
                            "dense_matrix",
                            format!("matrix is {}x{} but post x pre is {b}x{a}; expected rows = post neurons, columns = pre neurons", m.rows, m.cols),
                        );
                    }
                }
                let n = (m.rows as usize).saturating_mul(m.cols as usize);
                if m.weights.len() != n {
                    self.err("V025", obj.clone(), "dense_matrix.weights", format!("{} values for a {}x{} matrix; expected {n}", m.weights.len(), m.rows, m.cols));
                }
                if !(m.weights_imag.is_empty() || m.weights_imag.len() == n) {
                    self.err("V025", obj.clone(), "dense_matrix.weights_imag", format!("{} values for a {}x{} matrix; expected 0 or {n}", m.weights_imag.len(), m.rows, m.cols));
                }
                if let Some((i, w)) = m.weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
                    self.err("V025", obj.clone(), &format!("dense_matrix.weights[{i}]"), format!("found {w}; expected a finite weight"));
                } else if !m.weights.is_empty() {
                    let lo = m.weights.iter().cloned().fold(f64::INFINITY, f64::min);
                    let hi = m.weights.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    self.weight_sign(&obj, "dense_matrix.weights", receptor, lo, hi);
                }
            }
            Some(Connectivity::Convolution(c)) => {
                carries_weights = true;
                let n = c.weight_shape.iter().fold(1usize, |a, &s| a.saturating_mul(s as usize));
                if c.weight.len() != n {
                    self.err("V025", obj.clone(), "convolution.weight", format!("{} values for weight_shape {:?}; expected {n}", c.weight.len(), c.weight_shape));
                }
                if c.groups == 0 {
                    self.err("V025", obj.clone(), "convolution.groups", "found 0; expected >= 1".into());
                }
            }
            Some(Connectivity::Pooling(c)) => {
                carries_weights = true;
                let n = c.weight_shape.iter().fold(1usize, |a, &s| a.saturating_mul(s as usize));
                if c.weight.len() != n {
                    self.err("V025", obj.clone(), "pooling.weight", format!("{} values for weight_shape {:?}; expected {n}", c.weight.len(), c.weight_shape));
                }
            }
        }
        match &p.weight {
            Some(w) => {
                if let Some((lo, hi)) = self.distribution(&obj, "weight", w) {
                    self.weight_sign(&obj, "weight", receptor, lo, hi);
                }
            }
            None if !carries_weights && p.connectivity.is_some() => {
                self.err("V026", obj.clone(), "weight", "missing; expected a weight (a number or a distribution)".into());
            }
            None => {}
        }
        if let Some(d) = &p.delay_ms {
            if let Some((lo, _)) = self.distribution(&obj, "delay_ms", d) {
                self.delay(&obj, "delay_ms", lo);
            }
        }
        if let Some(l) = &p.loihi {
            if l.num_weight_bits == 0 || l.num_weight_bits > 8 {
                self.err("V028", obj.clone(), "loihi.num_weight_bits", format!("found {}; expected 1..8", l.num_weight_bits));
            }
            self.int_range("V028", &obj, "loihi.weight_exp", l.weight_exp as i64, -8, 7);
        }

        if !p.plasticity.is_empty() {
            match rules.get(p.plasticity.as_str()) {
                None => self.err("V030", obj.clone(), "plasticity", format!("rule '{}' does not exist", p.plasticity)),
                Some(rule) => self.rule_fits(p, rule, pre, post, receptor),
            }
        }
    }

    fn weight_sign(&mut self, obj: &str, field: &str, receptor: ir::Receptor, lo: f64, hi: f64) {
        if receptor == ir::Receptor::Excitatory && lo < 0.0 {
            self.err(
                "V028",
                obj.to_string(),
                field,
                format!("negative weight {lo} on an excitatory receptor; expected weights >= 0 (use `receptor: inhibitory` or `signed`)"),
            );
        }
        if receptor == ir::Receptor::Inhibitory && lo < 0.0 && hi > 0.0 {
            self.err("V028", obj.to_string(), field, format!("weights span [{lo}, {hi}] on an inhibitory receptor; expected one sign"));
        }
    }

    /// Can `rule` act on projection `p`?
    fn rule_fits(&mut self, p: &ir::Projection, rule: &ir::PlasticityRule, pre: Option<&ir::Population>, post: Option<&ir::Population>, receptor: ir::Receptor) {
        let obj = proj_obj(&p.name);
        let Some(r) = &rule.rule else { return };
        let kind_name = match r {
            Rule::PairStdp(_) => "pair_stdp",
            Rule::TripletStdp(_) => "triplet_stdp",
            Rule::SumOfProducts(_) => "sum_of_products",
            Rule::FreeEnergy(_) => "free_energy",
        };
        if matches!(p.connectivity, Some(Connectivity::Convolution(_)) | Some(Connectivity::Pooling(_))) {
            self.err(
                "V031",
                obj.clone(),
                "plasticity",
                format!("rule '{}' ({kind_name}) cannot act on shared convolution/pooling weights; expected a projection with one weight per synapse", rule.name),
            );
        }
        if let Some(pre) = pre {
            if pop_kind(pre) == PopKind::Relay {
                self.err("V031", obj.clone(), "plasticity", format!("pre population '{}' is a reshape without spikes of its own; a plastic projection needs spiking pre neurons", pre.name));
            }
        }
        let Some(post) = post else { return };
        let post_kind = pop_kind(post);
        match r {
            Rule::PairStdp(_) | Rule::TripletStdp(_) | Rule::FreeEnergy(_) => {
                let nir_stdp = post_kind == PopKind::Nir && !matches!(r, Rule::FreeEnergy(_));
                if post_kind != PopKind::Physical && post_kind != PopKind::Unknown && !nir_stdp {
                    self.err(
                        "V031",
                        obj.clone(),
                        "plasticity",
                        format!(
                            "rule '{}' ({kind_name}) runs on the spinnaker profile and needs IF_curr_exp post neurons; population '{}' is not (use a sum_of_products rule for Loihi-style neurons)",
                            rule.name, post.name
                        ),
                    );
                }
                if receptor == ir::Receptor::Signed && !nir_stdp {
                    self.err("V031", obj.clone(), "receptor", format!("rule '{}' ({kind_name}) needs an excitatory or inhibitory receptor", rule.name));
                }
            }
            Rule::SumOfProducts(_) => {
                if post_kind != PopKind::Loihi && post_kind != PopKind::Unknown {
                    self.err(
                        "V031",
                        obj.clone(),
                        "plasticity",
                        format!(
                            "rule '{}' (sum_of_products) runs on the loihi profile and needs Loihi-style post neurons (lava_lif or netx); population '{}' is not",
                            rule.name, post.name
                        ),
                    );
                }
            }
        }
        if let Rule::FreeEnergy(_) = r {
            if receptor != ir::Receptor::Excitatory {
                self.err("V031", obj.clone(), "receptor", format!("rule '{}' (free_energy) models excitatory release (w >= 0); expected an excitatory receptor", rule.name));
            }
        }
        // Bounds of additive/multiplicative rules must admit the initial weights.
        let bounds = match r {
            Rule::PairStdp(s) => Some((s.w_min, s.w_max)),
            Rule::TripletStdp(s) => Some((s.w_min, s.w_max)),
            Rule::FreeEnergy(f) => Some((f.w_min, f.w_max)),
            Rule::SumOfProducts(_) => None,
        };
        if let (Some((lo, hi)), Some(ir::Distribution { kind: Some(ir::distribution::Kind::Constant(w)) })) = (bounds, &p.weight) {
            // Invalid bounds are reported with the rule; only usable ones are checked here.
            if lo <= hi && receptor != ir::Receptor::Inhibitory && (*w < lo || *w > hi) {
                self.err(
                    "V031",
                    obj.clone(),
                    "weight",
                    format!("initial weight {w} lies outside rule '{}' bounds [{lo}, {hi}]; expected w_min <= weight <= w_max", rule.name),
                );
            }
        }
    }

    fn rule(&mut self, r: &ir::PlasticityRule) {
        let obj = rule_obj(&r.name);
        let o = obj.as_str();
        match &r.rule {
            None => self.err("V032", obj.clone(), "rule", "missing; expected pair_stdp, triplet_stdp, sum_of_products or free_energy".into()),
            Some(Rule::PairStdp(s)) => {
                if ir::Pairing::try_from(s.pairing).unwrap_or_default() == ir::Pairing::Unspecified {
                    self.err("V032", obj.clone(), "pairing", "unspecified; expected all_to_all or nearest".into());
                }
                self.weight_dependence(o, s.weight_dependence);
                self.positive("V032", o, "tau_plus_ms", s.tau_plus_ms);
                self.positive("V032", o, "tau_minus_ms", s.tau_minus_ms);
                self.non_negative("V032", o, "a_plus", s.a_plus);
                self.non_negative("V032", o, "a_minus", s.a_minus);
                self.bounds(o, s.w_min, s.w_max);
            }
            Some(Rule::TripletStdp(s)) => {
                self.weight_dependence(o, s.weight_dependence);
                for (f, v) in [("tau_plus_ms", s.tau_plus_ms), ("tau_minus_ms", s.tau_minus_ms), ("tau_x_ms", s.tau_x_ms), ("tau_y_ms", s.tau_y_ms)] {
                    self.positive("V032", o, f, v);
                }
                for (f, v) in [("a2_plus", s.a2_plus), ("a2_minus", s.a2_minus), ("a3_plus", s.a3_plus), ("a3_minus", s.a3_minus)] {
                    self.non_negative("V032", o, f, v);
                }
                self.bounds(o, s.w_min, s.w_max);
            }
            Some(Rule::SumOfProducts(s)) => self.sum_of_products(o, s),
            Some(Rule::FreeEnergy(f)) => {
                for (fld, v) in [("tau_ms", f.tau_ms), ("sigma0_mv", f.sigma0_mv), ("gamma", f.gamma), ("eta", f.eta), ("w_min", f.w_min), ("kappa", f.kappa)] {
                    self.positive("V034", o, fld, v);
                }
                for (fld, v) in [("u0_mv", f.u0_mv), ("theta_mv", f.theta_mv), ("u_reset_mv", f.u_reset_mv), ("w_max", f.w_max)] {
                    self.finite("V034", o, fld, v);
                }
                if !(f.r0 > 0.0 && f.r0 < 1.0) {
                    self.err("V034", obj.clone(), "r0", format!("found {}; expected a release probability in (0, 1)", f.r0));
                }
                if f.w_max <= f.w_min {
                    self.err("V034", obj.clone(), "w_max", format!("found {} <= w_min {}; expected w_min < w_max", f.w_max, f.w_min));
                }
                if !(f.theta_mv > f.u0_mv && f.u0_mv > f.u_reset_mv) {
                    self.err(
                        "V034",
                        obj.clone(),
                        "theta_mv",
                        format!("found u_reset {} mV, u0 {} mV, theta {} mV; expected u_reset < u0 < theta", f.u_reset_mv, f.u0_mv, f.theta_mv),
                    );
                }
                if f.depth < 2 {
                    self.err("V034", obj.clone(), "depth", format!("found {}; expected a table depth of at least 2 steps", f.depth));
                }
                if ir::VarianceForm::try_from(f.variance_form).unwrap_or_default() == ir::VarianceForm::Unspecified {
                    self.err("V034", obj.clone(), "variance_form", "unspecified; expected eq14, a9 or bridge".into());
                }
            }
        }
    }

    fn weight_dependence(&mut self, obj: &str, w: i32) {
        if ir::WeightDependence::try_from(w).unwrap_or_default() == ir::WeightDependence::Unspecified {
            self.err("V032", obj.to_string(), "weight_dependence", "unspecified; expected additive or multiplicative".into());
        }
    }

    fn bounds(&mut self, obj: &str, lo: f64, hi: f64) {
        if self.finite("V032", obj, "w_min", lo) && self.finite("V032", obj, "w_max", hi) && lo > hi {
            self.err("V032", obj.to_string(), "w_min", format!("w_min {lo} > w_max {hi}; expected w_min <= w_max"));
        }
    }

    fn sum_of_products(&mut self, obj: &str, s: &ir::SumOfProducts) {
        if s.dw.trim().is_empty() && s.dd.trim().is_empty() && s.dt.trim().is_empty() {
            self.err("V033", obj.to_string(), "dw", "dw, dd and dt are all empty; expected at least one rule string".into());
        }
        let mut u_k: Option<(u8, &str)> = None;
        use crate::sop::Target;
        for (field, target, text) in [("dw", Target::Dw, &s.dw), ("dd", Target::Dd, &s.dd), ("dt", Target::Dt, &s.dt)] {
            if text.trim().is_empty() {
                continue;
            }
            match crate::sop::parse(target, text) {
                Ok(series) => {
                    if let Some(k) = series.decimate_exponent() {
                        match u_k {
                            Some((k0, f0)) if k0 != k => self.err(
                                "V033",
                                obj.to_string(),
                                field,
                                format!("uses u{k} but {f0} uses u{k0}; Lava requires one u_k for dw, dd and dt"),
                            ),
                            _ => u_k = Some((k, field)),
                        }
                    }
                }
                Err(e) => self.err("V033", obj.to_string(), field, format!("rule string \"{text}\" does not parse: {e}")),
            }
        }
        for (f, t) in [("x1", &s.x1), ("x2", &s.x2), ("y1", &s.y1), ("y2", &s.y2), ("y3", &s.y3)] {
            if let Some(t) = t {
                if !(t.impulse.is_finite() && (0.0..=127.0).contains(&t.impulse)) {
                    self.err("V033", obj.to_string(), &format!("{f}.impulse"), format!("found {}; expected an impulse in [0, 127] (7-bit trace)", t.impulse));
                }
                self.non_negative("V033", obj, &format!("{f}.tau"), t.tau);
            }
        }
        if s.t_epoch == 0 || s.t_epoch > 63 {
            self.err("V033", obj.to_string(), "t_epoch", format!("found {}; expected a learning epoch of 1..63 steps (6 bits)", s.t_epoch));
        }
    }

    fn recording(&mut self, r: &ir::Recording, pops: &HashMap<&str, &ir::Population>, projs: &HashMap<&str, &ir::Projection>) {
        use ir::recording::What;
        match &r.what {
            None => self.err("V040", "recording".into(), "what", "empty; expected spikes, state or weights".into()),
            Some(What::Spikes(s)) => {
                let obj = format!("spike recording of '{}'", s.population);
                match pops.get(s.population.as_str()) {
                    None => self.err("V040", obj, "population", format!("population '{}' does not exist", s.population)),
                    Some(p) => self.neurons(&obj, p, &s.neurons),
                }
            }
            Some(What::State(s)) => {
                let obj = format!("state recording of '{}'", s.population);
                match pops.get(s.population.as_str()) {
                    None => self.err("V040", obj, "population", format!("population '{}' does not exist", s.population)),
                    Some(p) => {
                        self.neurons(&obj, p, &s.neurons);
                        let vars: &[&str] = match &p.model {
                            Some(Model::IfCurrExp(_)) => &["v", "i_syn_e", "i_syn_i"],
                            Some(Model::LavaLif(_)) | Some(Model::NetxNeuron(_)) => &["u", "v"],
                            Some(Model::NirNeuron(_)) => &["v", "i"],
                            _ => &[],
                        };
                        if !vars.contains(&s.variable.as_str()) {
                            let expected = if vars.is_empty() { "none: spike sources have no state".to_string() } else { vars.join(", ") };
                            self.err("V040", obj, "variable", format!("'{}' is not a state variable of this model; expected one of: {expected}", s.variable));
                        }
                    }
                }
            }
            Some(What::Weights(w)) => {
                if !projs.contains_key(w.projection.as_str()) {
                    self.err("V040", format!("weight recording of '{}'", w.projection), "projection", format!("projection '{}' does not exist", w.projection));
                }
            }
        }
    }

    fn neurons(&mut self, obj: &str, p: &ir::Population, neurons: &[u32]) {
        if let Some(n) = neurons.iter().find(|&&n| n >= p.size) {
            self.err("V040", obj.to_string(), "neurons", format!("index {n} but population '{}' has {} neurons", p.name, p.size));
        }
    }
}
