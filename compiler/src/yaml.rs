//! The YAML front end: a readable network description mapped onto the IR.
//!
//! Conventions (documented for users in docs/ir.md):
//! * objects are referred to by **name**, never by index;
//! * **units are spelled in the key**: `tau_m_ms: 20`, `v_rest_mv: -65`,
//!   `cm_nf: 1.0`, `i_offset_na: 0`, `rate_hz: 15` — a bare number whose unit
//!   is in its key, the same names as the IR fields;
//! * every mapping rejects unknown keys, so a misspelt parameter is an error,
//!   never silently ignored;
//! * omitted `IF_curr_exp` and STDP parameters take PyNN's defaults, and the
//!   IR then holds the value that was used, so an `.sfir` is self-contained.
//!
//! Errors carry the file, line and column, the path of the field
//! (`projections[1].connector.fixed_probability.p_connect`) and what was
//! expected.

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The YAML format version this build reads (`spikeforge: 1`).
pub const YAML_FORMAT_VERSION: u32 = 1;

/// A YAML document that could not be read as a network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// The document is not well-formed YAML or does not have the shape of a network.
    #[error("{location}: {message}{}", if .path.is_empty() || .path == "." { String::new() } else { format!(" (at `{}`)", .path) })]
    Syntax {
        location: Location,
        /// Field path, e.g. `populations[0].if_curr_exp.tau_m_ms`.
        path: String,
        message: String,
    },
    /// Well-formed, but the structure is wrong (e.g. two neuron models in one population).
    #[error("{0}")]
    Structure(Diagnostics),
}

// ------------------------------------------------------------------ schema

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkY {
    /// YAML format version, must be 1.
    spikeforge: u32,
    #[serde(default)]
    name: String,
    dt_ms: f64,
    #[serde(default)]
    duration_ms: f64,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    populations: Vec<PopulationY>,
    #[serde(default)]
    projections: Vec<ProjectionY>,
    #[serde(default)]
    plasticity: Vec<RuleY>,
    #[serde(default)]
    record: Vec<RecordY>,
    /// Tolerances of `spikeforge verify` (`verify: {tolerances: {...}}`,
    /// docs/verify.md). Not part of the IR: the verify command reads and
    /// checks this section from the YAML text itself; here it is only
    /// accepted.
    #[serde(default, rename = "verify")]
    _verify: Option<serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PopulationY {
    name: String,
    size: Option<u32>,
    shape: Option<Vec<u32>>,
    if_curr_exp: Option<IfCurrExpY>,
    spike_source_array: Option<SpikeSourceArrayY>,
    spike_source_poisson: Option<SpikeSourcePoissonY>,
    lava_lif: Option<LavaLifY>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IfCurrExpY {
    tau_m_ms: Option<f64>,
    cm_nf: Option<f64>,
    v_rest_mv: Option<f64>,
    v_reset_mv: Option<f64>,
    v_thresh_mv: Option<f64>,
    tau_refrac_ms: Option<f64>,
    tau_syn_e_ms: Option<f64>,
    tau_syn_i_ms: Option<f64>,
    i_offset_na: Option<f64>,
    v_init_mv: Option<f64>,
    v_init_distribution_mv: Option<DistY>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpikeSourceArrayY {
    /// One list of spike times (ms) per neuron.
    times_ms: Vec<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpikeSourcePoissonY {
    rate_hz: f64,
    #[serde(default)]
    start_ms: f64,
    duration_ms: Option<f64>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LavaLifY {
    du: u32,
    dv: u32,
    vth: i64,
    #[serde(default)]
    bias_mant: i64,
    #[serde(default)]
    bias_exp: i32,
    #[serde(default)]
    u_init: i64,
    #[serde(default)]
    v_init: i64,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ReceptorY {
    Excitatory,
    Inhibitory,
    Signed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectionY {
    name: String,
    pre: String,
    post: String,
    receptor: Option<ReceptorY>,
    connector: ConnectorY,
    #[serde(default = "default_true")]
    allow_self_connections: bool,
    weight: Option<DistY>,
    delay_ms: Option<DistY>,
    plasticity: Option<String>,
    loihi: Option<LoihiY>,
}

fn default_true() -> bool {
    true
}

/// `all_to_all`, `one_to_one`, or a one-key mapping `{fixed_probability: ...}`,
/// `{from_list: ...}`, `{dense_matrix: ...}`.
#[derive(Debug)]
enum ConnectorY {
    AllToAll,
    OneToOne,
    Tagged(ConnectorTaggedY),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ConnectorTaggedY {
    FixedProbability(FixedProbabilityY),
    /// `[pre, post]`, `[pre, post, weight]` or `[pre, post, weight, delay_ms]`.
    FromList(Vec<Vec<f64>>),
    DenseMatrix(DenseMatrixY),
}

impl<'de> Deserialize<'de> for ConnectorY {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ConnectorY;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("all_to_all, one_to_one, or a mapping with one key: fixed_probability, from_list or dense_matrix")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConnectorY, E> {
                match v {
                    "all_to_all" => Ok(ConnectorY::AllToAll),
                    "one_to_one" => Ok(ConnectorY::OneToOne),
                    other => Err(E::unknown_variant(other, &["all_to_all", "one_to_one", "fixed_probability", "from_list", "dense_matrix"])),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ConnectorY, A::Error> {
                ConnectorTaggedY::deserialize(de::value::MapAccessDeserializer::new(map)).map(ConnectorY::Tagged)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedProbabilityY {
    p_connect: f64,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenseMatrixY {
    /// One row per post neuron, one column per pre neuron.
    weights: Vec<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoihiY {
    sign_mode: Option<SignModeY>,
    num_weight_bits: Option<u32>,
    #[serde(default)]
    weight_exp: i32,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum SignModeY {
    Mixed,
    Excitatory,
    Inhibitory,
}

/// A number, or `{uniform: {...}}` / `{normal: {...}}`.
#[derive(Debug)]
enum DistY {
    Constant(f64),
    Tagged(DistTaggedY),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DistTaggedY {
    Uniform(UniformY),
    Normal(NormalY),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UniformY {
    low: f64,
    high: f64,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalY {
    mean: f64,
    sd: f64,
    clip_low: Option<f64>,
    clip_high: Option<f64>,
    seed: Option<u64>,
}

impl<'de> Deserialize<'de> for DistY {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistY;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or {uniform: {low, high}} or {normal: {mean, sd}}")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DistY, E> {
                Ok(DistY::Constant(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DistY, E> {
                Ok(DistY::Constant(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DistY, E> {
                Ok(DistY::Constant(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DistY, A::Error> {
                DistTaggedY::deserialize(de::value::MapAccessDeserializer::new(map)).map(DistY::Tagged)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleY {
    name: String,
    pair_stdp: Option<PairStdpY>,
    triplet_stdp: Option<TripletStdpY>,
    sum_of_products: Option<SumOfProductsY>,
    free_energy: Option<FreeEnergyY>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
enum PairingY {
    #[default]
    AllToAll,
    Nearest,
}

#[derive(Debug, Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
enum WeightDependenceY {
    #[default]
    Additive,
    Multiplicative,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairStdpY {
    #[serde(default)]
    pairing: PairingY,
    #[serde(default)]
    weight_dependence: WeightDependenceY,
    tau_plus_ms: Option<f64>,
    tau_minus_ms: Option<f64>,
    a_plus: Option<f64>,
    a_minus: Option<f64>,
    w_min: Option<f64>,
    w_max: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TripletStdpY {
    #[serde(default)]
    weight_dependence: WeightDependenceY,
    tau_plus_ms: f64,
    tau_minus_ms: f64,
    tau_x_ms: f64,
    tau_y_ms: f64,
    a2_plus: f64,
    a2_minus: f64,
    a3_plus: f64,
    a3_minus: f64,
    w_min: f64,
    w_max: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceY {
    impulse: f64,
    tau: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SumOfProductsY {
    #[serde(default)]
    dw: String,
    #[serde(default)]
    dd: String,
    #[serde(default)]
    dt: String,
    x1: Option<TraceY>,
    x2: Option<TraceY>,
    y1: Option<TraceY>,
    y2: Option<TraceY>,
    y3: Option<TraceY>,
    t_epoch: Option<u32>,
    rng_seed: Option<u64>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum VarianceFormY {
    Eq14,
    A9,
    Bridge,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreeEnergyY {
    tau_ms: Option<f64>,
    u0_mv: Option<f64>,
    theta_mv: Option<f64>,
    u_reset_mv: Option<f64>,
    gamma: Option<f64>,
    sigma0_mv: Option<f64>,
    r0: Option<f64>,
    eta: Option<f64>,
    w_min: Option<f64>,
    w_max: Option<f64>,
    kappa: Option<f64>,
    variance_form: Option<VarianceFormY>,
    depth: Option<u32>,
    release_seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordY {
    spikes: Option<SpikesRecY>,
    state: Option<StateRecY>,
    weights: Option<WeightsRecY>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpikesRecY {
    population: String,
    #[serde(default)]
    neurons: Vec<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateRecY {
    population: String,
    variable: String,
    #[serde(default)]
    neurons: Vec<u32>,
    #[serde(default)]
    every_n_steps: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsRecY {
    projection: String,
    #[serde(default)]
    every_n_steps: u32,
}

// ------------------------------------------------------------------ parsing

/// Parses a YAML network description. `file` names the source in errors.
pub fn parse(text: &str, file: &str) -> Result<ir::Network, YamlError> {
    let y: NetworkY = deserialize(text, file)?;
    let mut cx = Convert { file, text, diags: Diagnostics::default() };
    let net = cx.network(y);
    if cx.diags.has_errors() {
        Err(YamlError::Structure(cx.diags))
    } else {
        Ok(net)
    }
}

/// A plasticity overlay (`spikeforge import --plasticity rules.yaml`): the
/// `plasticity:` section of a network file plus an `attach:` list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverlayY {
    #[serde(default)]
    plasticity: Vec<RuleY>,
    #[serde(default)]
    attach: Vec<AttachY>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachY {
    projection: String,
    rule: String,
}

/// Plasticity rules and where to attach them, read from an overlay file.
#[derive(Debug, Clone, PartialEq)]
pub struct PlasticityOverlay {
    /// The rules, with the same defaults as the `plasticity:` section of a network.
    pub rules: Vec<ir::PlasticityRule>,
    /// `(projection, rule)` pairs in file order.
    pub attach: Vec<Attachment>,
}

/// One `attach:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub projection: String,
    pub rule: String,
    /// Where the entry stands in the overlay file (line of `projection: NAME`, when found).
    pub location: Location,
}

/// Parses a plasticity overlay: `plasticity:` (rules, exactly as in a network
/// file) and `attach: [{projection: NAME, rule: NAME}]`.
pub fn parse_plasticity(text: &str, file: &str) -> Result<PlasticityOverlay, YamlError> {
    let y: OverlayY = deserialize(text, file)?;
    let mut cx = Convert { file, text, diags: Diagnostics::default() };
    let rules = y.plasticity.into_iter().map(|r| cx.rule(r)).collect();
    if cx.diags.has_errors() {
        return Err(YamlError::Structure(cx.diags));
    }
    let attach = y
        .attach
        .into_iter()
        .map(|a| {
            let line = text.lines().position(|l| l.contains("projection:") && l.contains(a.projection.as_str())).map(|i| i + 1);
            Attachment { location: Location { file: file.to_string(), line, column: None }, projection: a.projection, rule: a.rule }
        })
        .collect();
    Ok(PlasticityOverlay { rules, attach })
}

/// Deserializes a YAML document, reporting errors with line, column and field path.
fn deserialize<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, YamlError> {
    let de = serde_norway::Deserializer::from_str(text);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
    match parsed {
        Ok(y) => Ok(y),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let loc = inner.location();
            // serde_norway appends " at line L column C" to some messages; the
            // location is reported separately, so drop it from the text.
            let mut message = inner.to_string();
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            // serde_norway prefixes some messages with (part of) the path, which is
            // reported separately.
            if let Some((prefix, rest)) = message.split_once(": ") {
                if !prefix.contains(' ') && path.starts_with(prefix) {
                    message = rest.to_string();
                }
            }
            Err(YamlError::Syntax {
                location: Location {
                    file: file.to_string(),
                    line: loc.as_ref().map(|l| l.line()),
                    column: loc.as_ref().map(|l| l.column()),
                },
                path,
                message,
            })
        }
    }
}

struct Convert<'a> {
    file: &'a str,
    text: &'a str,
    diags: Diagnostics,
}

/// The 1-based line on which `name: <value>` first appears, used to point
/// structural errors at the object they concern.
pub fn locate_name(text: &str, value: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            // Block style (`- name: x`) and flow style (`{name: x, ...}`).
            line.match_indices("name:").any(|(i, _)| {
                let before = line[..i].trim_end();
                let key_starts = before.is_empty() || before.ends_with(['-', '{', ',']);
                let rest = &line[i + 5..];
                let end = rest.find([',', '}', '#']).unwrap_or(rest.len());
                key_starts && rest[..end].trim().trim_matches(|c| c == '"' || c == '\'') == value
            })
        })
        .map(|i| i + 1)
}

impl Convert<'_> {
    fn err(&mut self, code: &'static str, object: String, name: &str, field: &str, message: String) {
        let location = Location { file: self.file.to_string(), line: locate_name(self.text, name), column: None };
        self.diags.push(Diagnostic::error(code, object, field, message).at(location));
    }

    fn network(&mut self, y: NetworkY) -> ir::Network {
        if y.spikeforge != YAML_FORMAT_VERSION {
            let location = Location { file: self.file.to_string(), line: None, column: None };
            self.diags.push(
                Diagnostic::error(
                    "Y001",
                    "network",
                    "spikeforge",
                    format!("unsupported YAML format version {}: this spikeforge reads version {YAML_FORMAT_VERSION}", y.spikeforge),
                )
                .at(location),
            );
        }
        let populations = y.populations.into_iter().map(|p| self.population(p)).collect();
        let projections = y.projections.into_iter().map(|p| self.projection(p)).collect();
        let plasticity_rules = y.plasticity.into_iter().map(|r| self.rule(r)).collect();
        let recordings = y.record.into_iter().enumerate().filter_map(|(i, r)| self.recording(i, r)).collect();
        ir::Network {
            schema_version: ir::SCHEMA_VERSION,
            name: y.name,
            dt_ms: y.dt_ms,
            duration_ms: y.duration_ms,
            seed: y.seed,
            populations,
            projections,
            plasticity_rules,
            recordings,
            provenance: Some(ir::Provenance { front_end: "yaml".into(), source: self.file.to_string(), notes: vec![] }),
        }
    }

    fn population(&mut self, p: PopulationY) -> ir::Population {
        use ir::population::Model;
        let obj = format!("population '{}'", p.name);
        let mut models: Vec<(&str, Model)> = Vec::new();
        if let Some(m) = p.if_curr_exp {
            models.push(("if_curr_exp", Model::IfCurrExp(if_curr_exp(m))));
        }
        if let Some(m) = p.spike_source_array {
            let trains = m.times_ms.into_iter().map(|times_ms| ir::SpikeTrain { times_ms }).collect();
            models.push(("spike_source_array", Model::SpikeSourceArray(ir::SpikeSourceArray { trains })));
        }
        if let Some(m) = p.spike_source_poisson {
            models.push((
                "spike_source_poisson",
                Model::SpikeSourcePoisson(ir::SpikeSourcePoisson {
                    rate_hz: m.rate_hz,
                    start_ms: m.start_ms,
                    duration_ms: m.duration_ms,
                    seed: m.seed,
                }),
            ));
        }
        if let Some(m) = p.lava_lif {
            models.push((
                "lava_lif",
                Model::LavaLif(ir::LavaLif {
                    du: m.du,
                    dv: m.dv,
                    vth: m.vth,
                    bias_mant: m.bias_mant,
                    bias_exp: m.bias_exp,
                    u_init: m.u_init,
                    v_init: m.v_init,
                }),
            ));
        }
        const MODELS: &str = "if_curr_exp, spike_source_array, spike_source_poisson, lava_lif";
        let model = match models.len() {
            1 => models.pop().map(|(_, m)| m),
            0 => {
                self.err("Y010", obj.clone(), &p.name, "", format!("no neuron model given; expected exactly one of: {MODELS}"));
                None
            }
            _ => {
                let names: Vec<_> = models.iter().map(|(n, _)| *n).collect();
                self.err("Y010", obj.clone(), &p.name, "", format!("{} neuron models given ({}); expected exactly one", names.len(), names.join(", ")));
                None
            }
        };
        let shape = p.shape.unwrap_or_default();
        let size = match (p.size, shape.is_empty()) {
            (Some(s), _) => s,
            (None, false) => match shape.iter().try_fold(1u32, |a, &s| a.checked_mul(s)) {
                Some(n) => n,
                None => {
                    self.err("Y011", obj, &p.name, "shape", format!("shape {shape:?} holds more than {} neurons", u32::MAX));
                    0
                }
            },
            (None, true) => match &model {
                // A spike-source array's size is its number of trains.
                Some(Model::SpikeSourceArray(a)) => a.trains.len() as u32,
                _ => {
                    self.err("Y011", obj, &p.name, "size", "missing: expected the number of neurons (`size: N`) or a `shape`".into());
                    0
                }
            },
        };
        ir::Population { name: p.name, size, shape, model, netx_layer: None }
    }

    fn projection(&mut self, p: ProjectionY) -> ir::Projection {
        use ir::projection::Connectivity;
        let obj = format!("projection '{}'", p.name);
        let connectivity = match p.connector {
            ConnectorY::AllToAll => Connectivity::AllToAll(ir::AllToAll { allow_self_connections: p.allow_self_connections }),
            ConnectorY::OneToOne => Connectivity::OneToOne(ir::OneToOne {}),
            ConnectorY::Tagged(ConnectorTaggedY::FixedProbability(f)) => Connectivity::FixedProbability(ir::FixedProbability {
                p_connect: f.p_connect,
                allow_self_connections: p.allow_self_connections,
                seed: f.seed,
            }),
            ConnectorY::Tagged(ConnectorTaggedY::FromList(list)) => {
                let mut connections = Vec::with_capacity(list.len());
                for (i, c) in list.iter().enumerate() {
                    let index = |v: f64| (v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64).then_some(v as u32);
                    match (c.len(), c.first().copied().and_then(index), c.get(1).copied().and_then(index)) {
                        (2..=4, Some(pre), Some(post)) => connections.push(ir::Connection {
                            pre,
                            post,
                            weight: c.get(2).copied(),
                            delay_ms: c.get(3).copied(),
                        }),
                        _ => self.err(
                            "Y020",
                            obj.clone(),
                            &p.name,
                            &format!("connector.from_list[{i}]"),
                            format!("found {c:?}; expected [pre, post], [pre, post, weight] or [pre, post, weight, delay_ms] with non-negative integer indices"),
                        ),
                    }
                }
                Connectivity::FromList(ir::FromList { connections })
            }
            ConnectorY::Tagged(ConnectorTaggedY::DenseMatrix(m)) => {
                let rows = m.weights.len() as u32;
                let cols = m.weights.first().map_or(0, |r| r.len()) as u32;
                if let Some((i, r)) = m.weights.iter().enumerate().find(|(_, r)| r.len() as u32 != cols) {
                    self.err(
                        "Y021",
                        obj.clone(),
                        &p.name,
                        &format!("connector.dense_matrix.weights[{i}]"),
                        format!("row has {} columns but row 0 has {cols}; expected a rectangular matrix (rows = post neurons, columns = pre neurons)", r.len()),
                    );
                }
                let weights = m.weights.into_iter().flatten().collect();
                Connectivity::DenseMatrix(ir::DenseMatrix { rows, cols, weights, weights_imag: vec![] })
            }
        };
        let receptor = match p.receptor {
            None | Some(ReceptorY::Excitatory) => ir::Receptor::Excitatory,
            Some(ReceptorY::Inhibitory) => ir::Receptor::Inhibitory,
            Some(ReceptorY::Signed) => ir::Receptor::Signed,
        };
        let loihi = p.loihi.map(|l| ir::LoihiWeights {
            sign_mode: match l.sign_mode {
                None | Some(SignModeY::Mixed) => ir::SignMode::Mixed,
                Some(SignModeY::Excitatory) => ir::SignMode::Excitatory,
                Some(SignModeY::Inhibitory) => ir::SignMode::Inhibitory,
            } as i32,
            num_weight_bits: l.num_weight_bits.unwrap_or(8),
            weight_exp: l.weight_exp,
        });
        ir::Projection {
            name: p.name,
            pre: p.pre,
            post: p.post,
            receptor: receptor as i32,
            connectivity: Some(connectivity),
            weight: p.weight.map(dist),
            delay_ms: p.delay_ms.map(dist),
            netx_delay: vec![],
            loihi,
            loihi_imag: None,
            nir: None,
            plasticity: p.plasticity.unwrap_or_default(),
        }
    }

    fn rule(&mut self, r: RuleY) -> ir::PlasticityRule {
        use ir::plasticity_rule::Rule;
        let mut rules: Vec<(&str, Rule)> = Vec::new();
        if let Some(s) = r.pair_stdp {
            // PyNN defaults: SpikePairRule(tau_plus=20, tau_minus=20, A_plus=0.01,
            // A_minus=0.01), AdditiveWeightDependence(w_min=0, w_max=1).
            rules.push((
                "pair_stdp",
                Rule::PairStdp(ir::PairStdp {
                    pairing: match s.pairing {
                        PairingY::AllToAll => ir::Pairing::AllToAll,
                        PairingY::Nearest => ir::Pairing::Nearest,
                    } as i32,
                    weight_dependence: wd(s.weight_dependence) as i32,
                    tau_plus_ms: s.tau_plus_ms.unwrap_or(20.0),
                    tau_minus_ms: s.tau_minus_ms.unwrap_or(20.0),
                    a_plus: s.a_plus.unwrap_or(0.01),
                    a_minus: s.a_minus.unwrap_or(0.01),
                    w_min: s.w_min.unwrap_or(0.0),
                    w_max: s.w_max.unwrap_or(1.0),
                }),
            ));
        }
        if let Some(s) = r.triplet_stdp {
            rules.push((
                "triplet_stdp",
                Rule::TripletStdp(ir::TripletStdp {
                    weight_dependence: wd(s.weight_dependence) as i32,
                    tau_plus_ms: s.tau_plus_ms,
                    tau_minus_ms: s.tau_minus_ms,
                    tau_x_ms: s.tau_x_ms,
                    tau_y_ms: s.tau_y_ms,
                    a2_plus: s.a2_plus,
                    a2_minus: s.a2_minus,
                    a3_plus: s.a3_plus,
                    a3_minus: s.a3_minus,
                    w_min: s.w_min,
                    w_max: s.w_max,
                }),
            ));
        }
        if let Some(s) = r.sum_of_products {
            let tr = |t: Option<TraceY>| t.map(|t| ir::Trace { impulse: t.impulse, tau: t.tau });
            rules.push((
                "sum_of_products",
                Rule::SumOfProducts(ir::SumOfProducts {
                    dw: s.dw,
                    dd: s.dd,
                    dt: s.dt,
                    x1: tr(s.x1),
                    x2: tr(s.x2),
                    y1: tr(s.y1),
                    y2: tr(s.y2),
                    y3: tr(s.y3),
                    t_epoch: s.t_epoch.unwrap_or(1),
                    rng_seed: s.rng_seed,
                }),
            ));
        }
        if let Some(f) = r.free_energy {
            let d = FreeEnergyDefaults::PAPER;
            rules.push((
                "free_energy",
                Rule::FreeEnergy(ir::FreeEnergy {
                    tau_ms: f.tau_ms.unwrap_or(d.tau_ms),
                    u0_mv: f.u0_mv.unwrap_or(d.u0_mv),
                    theta_mv: f.theta_mv.unwrap_or(d.theta_mv),
                    u_reset_mv: f.u_reset_mv.unwrap_or(d.u_reset_mv),
                    gamma: f.gamma.unwrap_or(d.gamma),
                    sigma0_mv: f.sigma0_mv.unwrap_or(d.sigma0_mv),
                    r0: f.r0.unwrap_or(d.r0),
                    eta: f.eta.unwrap_or(d.eta),
                    w_min: f.w_min.unwrap_or(d.w_min),
                    w_max: f.w_max.unwrap_or(d.w_max),
                    kappa: f.kappa.unwrap_or(d.kappa),
                    variance_form: match f.variance_form {
                        None | Some(VarianceFormY::Eq14) => ir::VarianceForm::Eq14,
                        Some(VarianceFormY::A9) => ir::VarianceForm::A9,
                        Some(VarianceFormY::Bridge) => ir::VarianceForm::Bridge,
                    } as i32,
                    depth: f.depth.unwrap_or(d.depth),
                    release_seed: f.release_seed,
                }),
            ));
        }
        const RULES: &str = "pair_stdp, triplet_stdp, sum_of_products, free_energy";
        let obj = format!("plasticity rule '{}'", r.name);
        let rule = match rules.len() {
            1 => rules.pop().map(|(_, r)| r),
            0 => {
                self.err("Y030", obj, &r.name, "", format!("no rule given; expected exactly one of: {RULES}"));
                None
            }
            _ => {
                let names: Vec<_> = rules.iter().map(|(n, _)| *n).collect();
                self.err("Y030", obj, &r.name, "", format!("{} rules given ({}); expected exactly one", names.len(), names.join(", ")));
                None
            }
        };
        ir::PlasticityRule { name: r.name, rule }
    }

    fn recording(&mut self, i: usize, r: RecordY) -> Option<ir::Recording> {
        use ir::recording::What;
        let mut whats = Vec::new();
        if let Some(s) = r.spikes {
            whats.push(What::Spikes(ir::SpikeRecording { population: s.population, neurons: s.neurons }));
        }
        if let Some(s) = r.state {
            whats.push(What::State(ir::StateRecording {
                population: s.population,
                variable: s.variable,
                neurons: s.neurons,
                every_n_steps: s.every_n_steps,
            }));
        }
        if let Some(w) = r.weights {
            whats.push(What::Weights(ir::WeightRecording { projection: w.projection, every_n_steps: w.every_n_steps }));
        }
        if whats.len() != 1 {
            let location = Location { file: self.file.to_string(), line: None, column: None };
            self.diags.push(
                Diagnostic::error(
                    "Y040",
                    format!("record[{i}]"),
                    "",
                    format!("{} kinds given; expected exactly one of: spikes, state, weights", whats.len()),
                )
                .at(location),
            );
            return None;
        }
        Some(ir::Recording { what: whats.pop() })
    }
}

fn if_curr_exp(m: IfCurrExpY) -> ir::IfCurrExp {
    // PyNN 0.12 IF_curr_exp defaults.
    ir::IfCurrExp {
        tau_m_ms: m.tau_m_ms.unwrap_or(20.0),
        cm_nf: m.cm_nf.unwrap_or(1.0),
        v_rest_mv: m.v_rest_mv.unwrap_or(-65.0),
        v_reset_mv: m.v_reset_mv.unwrap_or(-65.0),
        v_thresh_mv: m.v_thresh_mv.unwrap_or(-50.0),
        tau_refrac_ms: m.tau_refrac_ms.unwrap_or(0.1),
        tau_syn_e_ms: m.tau_syn_e_ms.unwrap_or(5.0),
        tau_syn_i_ms: m.tau_syn_i_ms.unwrap_or(5.0),
        i_offset_na: m.i_offset_na.unwrap_or(0.0),
        v_init_mv: m.v_init_mv,
        v_init_distribution_mv: m.v_init_distribution_mv.map(dist),
    }
}

fn wd(w: WeightDependenceY) -> ir::WeightDependence {
    match w {
        WeightDependenceY::Additive => ir::WeightDependence::Additive,
        WeightDependenceY::Multiplicative => ir::WeightDependence::Multiplicative,
    }
}

fn dist(d: DistY) -> ir::Distribution {
    use ir::distribution::Kind;
    let kind = match d {
        DistY::Constant(v) => Kind::Constant(v),
        DistY::Tagged(DistTaggedY::Uniform(u)) => Kind::Uniform(ir::Uniform { low: u.low, high: u.high, seed: u.seed }),
        DistY::Tagged(DistTaggedY::Normal(n)) => Kind::Normal(ir::Normal {
            mean: n.mean,
            sd: n.sd,
            clip_low: n.clip_low,
            clip_high: n.clip_high,
            seed: n.seed,
        }),
    };
    ir::Distribution { kind: Some(kind) }
}

/// Default parameters of the free-energy rule (docs/fep-rule.md): the paper's
/// values (Kappel & Tetzlaff, arXiv:2103.12649v1) plus the calibration
/// sigma0 = 10 mV, which the paper does not give.
#[derive(Debug, Clone, Copy)]
pub struct FreeEnergyDefaults {
    pub tau_ms: f64,
    pub u0_mv: f64,
    pub theta_mv: f64,
    pub u_reset_mv: f64,
    pub gamma: f64,
    pub sigma0_mv: f64,
    pub r0: f64,
    pub eta: f64,
    pub w_min: f64,
    pub w_max: f64,
    pub kappa: f64,
    pub depth: u32,
}

impl FreeEnergyDefaults {
    pub const PAPER: FreeEnergyDefaults = FreeEnergyDefaults {
        tau_ms: 30.0,
        u0_mv: -70.0,
        theta_mv: -55.0,
        u_reset_mv: -75.0,
        gamma: 10.0,
        sigma0_mv: 10.0,
        r0: 0.5,
        eta: 1e-5,
        w_min: 1.0 / 256.0,
        w_max: 16.0,
        kappa: 1.0,
        depth: 256,
    };
}
