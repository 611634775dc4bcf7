//! NIR `.nir` → IR, and NIR's discrete-time semantics on spikeforge's time step.
//!
//! Mapping (docs/import.md has the full table):
//! * neuron nodes (LIF, CubaLIF, LI, CubaLI, IF, I, Threshold) become
//!   [`ir::NirNeuron`] populations named after the node, `Input` nodes
//!   [`ir::NirInput`] populations, `Output` and `Flatten` nodes relay
//!   populations ([`ir::NirRelay`]);
//! * weight nodes (Affine, Linear, Conv1d, Conv2d, SumPool2d, AvgPool2d,
//!   Scale, Delay) become projections named after the node; a weight node that
//!   feeds another weight node (or several nodes) delivers into a relay
//!   population of its own name, one with several inputs reads them from a
//!   relay `<node>.in`;
//! * a plain edge between two population nodes is an identity projection
//!   `<src>-><dst>` (one_to_one, weight 1);
//! * nested graphs are flattened, their nodes named `<graph>.<node>`; their
//!   Input/Output nodes are pass-throughs and disappear.
//!
//! Time: [`step`] defines the update of one neuron on a step of `dt`
//! (exponential decay `exp(-dt/tau)`, inputs held over the step).

use super::{ImportError, Note};
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{self, population::Model, projection::Connectivity};
use spikeforge_formats::nir::{self as fnir, NirDocument, NirGraph, NirOp, Padding};
use spikeforge_formats::NumArray;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The nir class name of a neuron kind.
pub fn kind_name(kind: i32) -> &'static str {
    match ir::NirNeuronKind::try_from(kind).unwrap_or_default() {
        ir::NirNeuronKind::Lif => "LIF",
        ir::NirNeuronKind::CubaLif => "CubaLIF",
        ir::NirNeuronKind::Li => "LI",
        ir::NirNeuronKind::CubaLi => "CubaLI",
        ir::NirNeuronKind::If => "IF",
        ir::NirNeuronKind::I => "I",
        ir::NirNeuronKind::Threshold => "Threshold",
        ir::NirNeuronKind::Unspecified => "unspecified",
    }
}

/// Which arrays a kind uses: (tau_mem, tau_syn, r, v_leak, v_threshold, v_reset, w_in).
fn uses(kind: ir::NirNeuronKind) -> [bool; 7] {
    use ir::NirNeuronKind as K;
    match kind {
        K::Lif => [true, false, true, true, true, true, false],
        K::CubaLif => [true, true, true, true, true, true, true],
        K::Li => [true, false, true, true, false, false, false],
        K::CubaLi => [true, true, true, true, false, false, true],
        K::If => [false, false, true, false, true, true, false],
        K::I => [false, false, true, false, false, false, false],
        K::Threshold => [false, false, false, false, true, false, false],
        K::Unspecified => [false; 7],
    }
}

const FIELDS: [&str; 7] = ["tau_mem_s", "tau_syn_s", "r", "v_leak", "v_threshold", "v_reset", "w_in"];

fn arrays(n: &ir::NirNeuron) -> [&Vec<f64>; 7] {
    [&n.tau_mem_s, &n.tau_syn_s, &n.r, &n.v_leak, &n.v_threshold, &n.v_reset, &n.w_in]
}

/// Validation of a NIR neuron population (code V015): a known kind, the arrays
/// it uses with one value per neuron (v_reset, w_in may be empty), the others
/// empty, time constants > 0, everything finite.
pub fn validate_neuron(obj: &str, size: u32, n: &ir::NirNeuron, d: &mut Diagnostics) {
    let kind = ir::NirNeuronKind::try_from(n.kind).unwrap_or_default();
    if kind == ir::NirNeuronKind::Unspecified {
        d.push(Diagnostic::error("V015", obj, "kind", "unspecified; expected LIF, CubaLIF, LI, CubaLI, IF, I or Threshold"));
        return;
    }
    let used = uses(kind);
    for (k, a) in arrays(n).iter().enumerate() {
        let f = FIELDS[k];
        let optional = f == "v_reset" || f == "w_in";
        if !used[k] {
            if !a.is_empty() {
                d.push(Diagnostic::error("V015", obj, f, format!("{} values, but {} has no {f}; expected none", a.len(), kind_name(n.kind))));
            }
            continue;
        }
        if a.len() != size as usize && !(optional && a.is_empty()) {
            d.push(Diagnostic::error("V015", obj, f, format!("{} values for {size} neurons; expected one per neuron", a.len())));
        }
        if let Some((i, x)) = a.iter().enumerate().find(|(_, x)| !x.is_finite() || (k < 2 && **x <= 0.0)) {
            let want = if k < 2 { "a finite time constant > 0 s" } else { "a finite value" };
            d.push(Diagnostic::error("V015", obj, format!("{f}[{i}]"), format!("found {x}; expected {want}")));
        }
    }
}

// ---------------------------------------------------------------- time

/// State of one NIR neuron.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NeuronState {
    /// Membrane potential (NIR units). Starts at 0.
    pub v: f64,
    /// Synaptic current of CubaLI/CubaLIF. Starts at 0.
    pub i: f64,
}

/// What a neuron emits in a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepOutput {
    /// Spiking kinds (LIF, CubaLIF, IF, Threshold): whether it spiked.
    Spike(bool),
    /// Non-spiking kinds (LI, CubaLI, I): the membrane potential after the step.
    Value(f64),
}

/// The decay of a state with time constant `tau_s` over one step: `exp(-dt/tau)`.
pub fn decay(dt_ms: f64, tau_s: f64) -> f64 {
    (-(dt_ms / 1000.0) / tau_s).exp()
}

/// One step of neuron `k` of `n` on a grid of `dt_ms`, with input `x` (the sum
/// of what the projections deliver in this step, biases included, treated as
/// constant over the step). With `a = exp(-dt/tau)`:
///
/// * LI/LIF: `v <- v_leak + a_mem (v - v_leak) + (1 - a_mem) r x` — the exact
///   solution of `tau dv/dt = (v_leak - v) + r x` over the step;
/// * CubaLI/CubaLIF: `i <- a_syn i + (1 - a_syn) w_in x` (exact for
///   `tau_syn di/dt = -i + w_in x`), then the LI update with `i` as input;
/// * I/IF: `v <- v + dt r x` (exact for `dv/dt = r x`, dt in seconds);
/// * LIF/CubaLIF/IF spike when `v > v_threshold` and set `v = v_reset`;
///   Threshold spikes when `x > v_threshold` (no state).
pub fn step(n: &ir::NirNeuron, k: usize, dt_ms: f64, s: &mut NeuronState, x: f64) -> StepOutput {
    use ir::NirNeuronKind as K;
    let get = |a: &Vec<f64>, default: f64| a.get(k).copied().unwrap_or(default);
    let kind = K::try_from(n.kind).unwrap_or_default();
    let dt_s = dt_ms / 1000.0;
    let r = get(&n.r, 1.0);
    let leak = |s: &mut NeuronState, input: f64| {
        let a = decay(dt_ms, get(&n.tau_mem_s, f64::INFINITY));
        let vl = get(&n.v_leak, 0.0);
        s.v = vl + a * (s.v - vl) + (1.0 - a) * r * input;
    };
    match kind {
        K::Li | K::Lif => leak(s, x),
        K::CubaLi | K::CubaLif => {
            let a = decay(dt_ms, get(&n.tau_syn_s, f64::INFINITY));
            s.i = a * s.i + (1.0 - a) * get(&n.w_in, 1.0) * x;
            let i = s.i;
            leak(s, i);
        }
        K::I | K::If => s.v += dt_s * r * x,
        K::Threshold => return StepOutput::Spike(x > get(&n.v_threshold, 0.0)),
        K::Unspecified => return StepOutput::Value(s.v),
    }
    match kind {
        K::Lif | K::CubaLif | K::If => {
            let fired = s.v > get(&n.v_threshold, f64::INFINITY);
            if fired {
                s.v = get(&n.v_reset, 0.0);
            }
            StepOutput::Spike(fired)
        }
        _ => StepOutput::Value(s.v),
    }
}

// ---------------------------------------------------------------- import

/// Imports a NIR file with time step `dt_ms`.
pub fn import_nir(path: &Path, dt_ms: f64) -> Result<(ir::Network, Vec<Note>), ImportError> {
    let doc = fnir::read_nir(path)?;
    import_doc(&doc, &super::file_label(path), &path.display().to_string(), dt_ms).map(|(n, notes, _)| (n, notes))
}

/// Imports a NIR file from memory; `name` appears in errors.
pub fn import_nir_bytes(name: &str, bytes: Vec<u8>, dt_ms: f64) -> Result<(ir::Network, Vec<Note>), ImportError> {
    let doc = fnir::read_nir_bytes(name, bytes)?;
    import_doc(&doc, name, name, dt_ms).map(|(n, notes, _)| (n, notes))
}

/// A node after flattening nested graphs.
struct Flat {
    name: String,
    /// HDF5 path of the node.
    path: String,
    op: NirOp,
    /// Whether it sits in a nested graph (its Input/Output are pass-throughs).
    nested: bool,
}

struct FlatEdge {
    src: String,
    dst: String,
    /// `/node/edges[i]` (or the nested graph's).
    path: String,
}

fn flatten(g: &NirGraph, prefix: &str, hpath: &str, nodes: &mut Vec<Flat>, edges: &mut Vec<FlatEdge>, notes: &mut Vec<Note>, file: &str) -> Result<(), ImportError> {
    for (name, node) in &g.nodes {
        let full = format!("{prefix}{name}");
        let path = format!("{hpath}/nodes/{name}");
        if !node.metadata.is_empty() {
            notes.push(Note::new(path.clone(), "node metadata not imported"));
        }
        match &node.op {
            NirOp::Graph(sub) => {
                notes.push(Note::new(path.clone(), format!("nested graph flattened: its nodes are named '{full}.<node>'")));
                flatten(sub, &format!("{full}."), &path, nodes, edges, notes, file)?;
            }
            op => nodes.push(Flat { name: full, path, op: op.clone(), nested: !prefix.is_empty() }),
        }
    }
    let io = |sub: &NirGraph, want_input: bool| -> Vec<String> {
        sub.nodes
            .iter()
            .filter(|(_, n)| matches!((&n.op, want_input), (NirOp::Input { .. }, true) | (NirOp::Output { .. }, false)))
            .map(|(k, _)| k.clone())
            .collect()
    };
    for (i, (a, b)) in g.edges.iter().enumerate() {
        let path = format!("{hpath}/edges[{i}]");
        let srcs = match g.nodes.get(a).map(|n| &n.op) {
            Some(NirOp::Graph(sub)) => io(sub, false).into_iter().map(|o| format!("{prefix}{a}.{o}")).collect(),
            _ => vec![format!("{prefix}{a}")],
        };
        let dsts: Vec<String> = match g.nodes.get(b).map(|n| &n.op) {
            Some(NirOp::Graph(sub)) => io(sub, true).into_iter().map(|o| format!("{prefix}{b}.{o}")).collect(),
            _ => vec![format!("{prefix}{b}")],
        };
        if srcs.is_empty() || dsts.is_empty() {
            return Err(ImportError::new(file, path, format!("edge '{a}' -> '{b}' touches a nested graph without an Input/Output node on that side")));
        }
        for s in &srcs {
            for d in &dsts {
                edges.push(FlatEdge { src: s.clone(), dst: d.clone(), path: path.clone() });
            }
        }
    }
    Ok(())
}

fn is_weight(op: &NirOp) -> bool {
    matches!(op, NirOp::Affine { .. } | NirOp::Linear { .. } | NirOp::Conv1d(_) | NirOp::Conv2d(_) | NirOp::SumPool2d(_) | NirOp::AvgPool2d(_) | NirOp::Scale { .. } | NirOp::Delay { .. })
}

struct Cx<'a> {
    file: &'a str,
    dt_ms: f64,
    notes: Vec<Note>,
    nodes: BTreeMap<String, usize>,
    flat: Vec<Flat>,
    preds: HashMap<String, Vec<String>>,
    succs: HashMap<String, Vec<String>>,
    shapes: HashMap<String, Vec<usize>>,
}

impl Cx<'_> {
    fn err(&self, path: &str, msg: impl Into<String>) -> ImportError {
        ImportError::new(self.file, path, msg)
    }
    fn node(&self, name: &str) -> &Flat {
        &self.flat[self.nodes[name]]
    }
    fn at(&self, name: &str, field: &str) -> String {
        format!("{}/{field}", self.node(name).path)
    }
}

fn ints(cx: &Cx<'_>, path: &str, a: &NumArray) -> Result<Vec<i64>, ImportError> {
    a.to_i64_exact().map_err(|e| cx.err(path, e.to_string()))
}

fn dims(cx: &Cx<'_>, path: &str, a: &NumArray) -> Result<Vec<usize>, ImportError> {
    ints(cx, path, a)?.into_iter().map(|v| usize::try_from(v).map_err(|_| cx.err(path, format!("{v} is not a size")))).collect()
}

/// A (y, x) pair from a scalar or a 1/2-element array.
fn pair(cx: &Cx<'_>, path: &str, a: &NumArray) -> Result<(usize, usize), ImportError> {
    match dims(cx, path, a)?.as_slice() {
        [v] => Ok((*v, *v)),
        [y, x] => Ok((*y, *x)),
        other => Err(cx.err(path, format!("expected a scalar or a pair, found {} values", other.len()))),
    }
}

fn single(cx: &Cx<'_>, path: &str, a: &NumArray) -> Result<usize, ImportError> {
    match dims(cx, path, a)?.as_slice() {
        [v] => Ok(*v),
        other => Err(cx.err(path, format!("expected one value, found {}", other.len()))),
    }
}

/// Resolved conv parameters: (stride, padding, dilation) as (y, x).
struct ConvGeom {
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
}

fn conv_geom(cx: &Cx<'_>, name: &str, c: &fnir::Conv, kernel: (usize, usize), one_d: bool) -> Result<ConvGeom, ImportError> {
    let p1 = |f: &str, a: &NumArray| -> Result<(usize, usize), ImportError> {
        if one_d {
            single(cx, &cx.at(name, f), a).map(|v| (if f == "padding" { 0 } else { 1 }, v))
        } else {
            pair(cx, &cx.at(name, f), a)
        }
    };
    let stride = p1("stride", &c.stride)?;
    let dilation = p1("dilation", &c.dilation)?;
    let padding = match &c.padding {
        Padding::Values(a) => p1("padding", a)?,
        Padding::Named(s) if s == "valid" => (0, 0),
        Padding::Named(s) if s == "same" => {
            let total = |k: usize, d: usize| d * (k.saturating_sub(1));
            let (ty, tx) = (total(kernel.0, dilation.0), total(kernel.1, dilation.1));
            if ty % 2 == 1 || tx % 2 == 1 || stride != (1, 1) {
                return Err(cx.err(&cx.at(name, "padding"), "padding 'same' here needs asymmetric padding (or stride 1), which the IR's convolution cannot hold"));
            }
            (ty / 2, tx / 2)
        }
        Padding::Named(s) => return Err(cx.err(&cx.at(name, "padding"), format!("unknown padding '{s}'; expected numbers, 'same' or 'valid'"))),
    };
    let groups = single(cx, &cx.at(name, "groups"), &c.groups)?;
    if groups == 0 || stride.0 == 0 || stride.1 == 0 || dilation.0 == 0 || dilation.1 == 0 {
        return Err(cx.err(&cx.node(name).path, "groups, stride and dilation must be >= 1"));
    }
    Ok(ConvGeom { stride, padding, dilation, groups })
}

/// The output shape of a node, computed from its parameters and inputs.
fn shape_of(cx: &mut Cx<'_>, name: &str, depth: usize) -> Result<Vec<usize>, ImportError> {
    if let Some(s) = cx.shapes.get(name) {
        return Ok(s.clone());
    }
    if depth > cx.flat.len() + 1 {
        return Err(cx.err(&cx.node(name).path, "its shape depends on itself through a cycle of nodes without parameters of their own"));
    }
    let path = cx.node(name).path.clone();
    let input_shape = |cx: &mut Cx<'_>| -> Result<Vec<usize>, ImportError> {
        let preds = cx.preds.get(name).cloned().unwrap_or_default();
        let first = preds.first().ok_or_else(|| cx.err(&path, "has no input edge, so its input shape is unknown"))?.clone();
        shape_of(cx, &first, depth + 1)
    };
    let op = cx.node(name).op.clone();
    let s = match &op {
        NirOp::Input { shape } | NirOp::Output { shape } => dims(cx, &format!("{path}/shape"), shape)?,
        NirOp::LIF { tau: a, .. } | NirOp::LI { tau: a, .. } | NirOp::CubaLIF { tau_mem: a, .. } | NirOp::CubaLI { tau_mem: a, .. } | NirOp::I { r: a } | NirOp::IF { r: a, .. } | NirOp::Threshold { threshold: a } => {
            a.shape.clone()
        }
        NirOp::Affine { weight, .. } | NirOp::Linear { weight } => match weight.shape.as_slice() {
            [o, _] => vec![*o],
            other => return Err(cx.err(&format!("{path}/weight"), format!("weight of shape {other:?}; expected (out, in)"))),
        },
        NirOp::Scale { scale: a } | NirOp::Delay { delay: a } if a.shape.iter().product::<usize>() > 1 => a.shape.clone(),
        NirOp::Scale { .. } | NirOp::Delay { .. } => input_shape(cx)?,
        NirOp::Flatten { input_type, start_dim, end_dim } => {
            let inp = match input_type {
                Some(t) => dims(cx, &format!("{path}/input_type"), t)?,
                None => input_shape(cx)?,
            };
            let get = |a: &Option<NumArray>, f: &str, d: i64| -> Result<i64, ImportError> {
                match a {
                    None => Ok(d),
                    Some(a) => match ints(cx, &format!("{path}/{f}"), a)?.as_slice() {
                        [v] => Ok(*v),
                        _ => Err(cx.err(&format!("{path}/{f}"), "expected one value")),
                    },
                }
            };
            let n = inp.len() as i64;
            let norm = |v: i64| if v < 0 { v + n } else { v };
            let (a, b) = (norm(get(start_dim, "start_dim", 1)?), norm(get(end_dim, "end_dim", -1)?));
            if n == 0 || a < 0 || b >= n || a > b {
                vec![inp.iter().product()]
            } else {
                let (a, b) = (a as usize, b as usize);
                let mut out = inp[..a].to_vec();
                out.push(inp[a..=b].iter().product());
                out.extend_from_slice(&inp[b + 1..]);
                out
            }
        }
        NirOp::Conv2d(c) | NirOp::Conv1d(c) => {
            let one_d = matches!(op, NirOp::Conv1d(_));
            let wp = format!("{path}/weight");
            let (cout, cin_g, kh, kw) = match (c.weight.shape.as_slice(), one_d) {
                ([o, i, kh, kw], false) => (*o, *i, *kh, *kw),
                ([o, i, k], true) => (*o, *i, 1, *k),
                (other, _) => return Err(cx.err(&wp, format!("weight of shape {other:?}; expected (C_out, C_in/groups, {})", if one_d { "k" } else { "kH, kW" }))),
            };
            let g = conv_geom(cx, name, c, (kh, kw), one_d)?;
            let inp = input_shape(cx)?;
            let (cin, h, w) = match (inp.as_slice(), one_d) {
                ([c, h, w], false) => (*c, *h, *w),
                ([c, l], true) => (*c, 1, *l),
                (other, _) => return Err(cx.err(&path, format!("input of shape {other:?}; expected {}", if one_d { "(C, L)" } else { "(C, H, W)" }))),
            };
            if cin != cin_g * g.groups || cout % g.groups != 0 {
                return Err(cx.err(&wp, format!("weight {:?} with {} groups does not fit {cin} input channels", c.weight.shape, g.groups)));
            }
            let ho = super::conv::conv_out_len(h, kh, g.stride.0, g.padding.0, g.dilation.0);
            let wo = super::conv::conv_out_len(w, kw, g.stride.1, g.padding.1, g.dilation.1);
            match (ho, wo, one_d) {
                (Some(_), Some(wo), true) => vec![cout, wo],
                (Some(ho), Some(wo), false) => vec![cout, ho, wo],
                _ => return Err(cx.err(&path, format!("kernel ({kh}, {kw}) does not fit the input ({h}, {w})"))),
            }
        }
        NirOp::SumPool2d(p) | NirOp::AvgPool2d(p) => {
            let k = pair(cx, &format!("{path}/kernel_size"), &p.kernel_size)?;
            let s = pair(cx, &format!("{path}/stride"), &p.stride)?;
            let pd = pair(cx, &format!("{path}/padding"), &p.padding)?;
            let inp = input_shape(cx)?;
            let [c, h, w] = inp[..] else {
                return Err(cx.err(&path, format!("input of shape {inp:?}; expected (C, H, W)")));
            };
            match (super::conv::conv_out_len(h, k.0, s.0, pd.0, 1), super::conv::conv_out_len(w, k.1, s.1, pd.1, 1)) {
                (Some(ho), Some(wo)) => vec![c, ho, wo],
                _ => return Err(cx.err(&path, "pooling window does not fit the input")),
            }
        }
        NirOp::Graph(_) => unreachable!("nested graphs are flattened"),
    };
    cx.shapes.insert(name.to_string(), s.clone());
    Ok(s)
}

fn size(cx: &Cx<'_>, name: &str, shape: &[usize]) -> Result<u32, ImportError> {
    let n: u128 = shape.iter().map(|&d| d as u128).product();
    u32::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| cx.err(&cx.node(name).path, format!("shape {shape:?} holds {n} elements; expected 1 ..= {}", u32::MAX)))
}

fn f64s(a: &NumArray) -> Vec<f64> {
    a.to_f64()
}

fn const_weight() -> Option<ir::Distribution> {
    Some(ir::Distribution { kind: Some(ir::distribution::Kind::Constant(1.0)) })
}

fn nir_info(kind: ir::NirOpKind) -> ir::NirProjection {
    ir::NirProjection { kind: kind as i32, ..Default::default() }
}

/// Imports a parsed NIR document; returns the network, the notes and the
/// number of nodes after flattening.
pub fn import_doc(doc: &NirDocument, file: &str, source: &str, dt_ms: f64) -> Result<(ir::Network, Vec<Note>, usize), ImportError> {
    if !(dt_ms.is_finite() && dt_ms > 0.0 && dt_ms <= 100.0) {
        return Err(ImportError::new(file, "/", format!("time step {dt_ms} ms: expected a value in (0, 100]")));
    }
    let mut notes = Vec::new();
    let mut flat = Vec::new();
    let mut edges = Vec::new();
    flatten(&doc.graph, "", "/node", &mut flat, &mut edges, &mut notes, file)?;
    // Nested Input/Output nodes pass their input straight through.
    while let Some(pos) = flat.iter().position(|f| f.nested && matches!(f.op, NirOp::Input { .. } | NirOp::Output { .. })) {
        let x = flat.remove(pos).name;
        let ins: Vec<FlatEdge> = edges.iter().filter(|e| e.dst == x).map(|e| FlatEdge { src: e.src.clone(), dst: String::new(), path: e.path.clone() }).collect();
        let outs: Vec<(String, String)> = edges.iter().filter(|e| e.src == x).map(|e| (e.dst.clone(), e.path.clone())).collect();
        edges.retain(|e| e.src != x && e.dst != x);
        for i in &ins {
            for (d, p) in &outs {
                edges.push(FlatEdge { src: i.src.clone(), dst: d.clone(), path: p.clone() });
            }
        }
    }
    let mut cx = Cx { file, dt_ms, notes, nodes: BTreeMap::new(), flat, preds: HashMap::new(), succs: HashMap::new(), shapes: HashMap::new() };
    for (i, f) in cx.flat.iter().enumerate() {
        if cx.nodes.insert(f.name.clone(), i).is_some() {
            return Err(cx.err(&f.path, format!("two nodes are named '{}' after flattening nested graphs", f.name)));
        }
    }
    for e in &edges {
        for end in [&e.src, &e.dst] {
            if !cx.nodes.contains_key(end.as_str()) {
                return Err(cx.err(&e.path, format!("edge '{}' -> '{}': no node '{end}'", e.src, e.dst)));
            }
        }
        cx.preds.entry(e.dst.clone()).or_default().push(e.src.clone());
        cx.succs.entry(e.src.clone()).or_default().push(e.dst.clone());
    }
    if cx.flat.is_empty() {
        return Err(cx.err("/node/nodes", "the graph has no nodes"));
    }
    let names: Vec<String> = cx.flat.iter().map(|f| f.name.clone()).collect();
    for n in &names {
        shape_of(&mut cx, n, 0)?;
    }
    let weight = |cx: &Cx<'_>, n: &str| is_weight(&cx.node(n).op);
    // Which weight nodes deliver into a relay of their own, and which read a `.in` relay.
    // A single successor that is a population takes the node's output directly,
    // unless its shape differs (e.g. a Flatten after a pooling layer): the
    // convolution's geometry is checked against the shape it writes into.
    let out_relay = |cx: &Cx<'_>, n: &str| {
        let s = cx.succs.get(n).map_or(&[][..], |v| v.as_slice());
        !(s.len() == 1 && !weight(cx, &s[0]) && cx.shapes.get(&s[0]) == cx.shapes.get(n))
    };
    let in_relay = |cx: &Cx<'_>, n: &str| cx.preds.get(n).map_or(0, |v| v.len()) > 1;

    let mut pops: Vec<ir::Population> = Vec::new();
    let mut projs: Vec<ir::Projection> = Vec::new();
    let pop = |name: String, shape: &[usize], size: u32, model: Model| ir::Population {
        name,
        size,
        shape: shape.iter().map(|&d| d as u32).collect(),
        model: Some(model),
        netx_layer: None,
    };
    let mut has_integrator = false;
    let mut short_tau = Vec::new();
    for n in &names {
        let shape = cx.shapes[n].clone();
        let sz = size(&cx, n, &shape)?;
        let op = cx.node(n).op.clone();
        let path = cx.node(n).path.clone();
        let model = match &op {
            NirOp::Input { .. } => Some(Model::NirInput(ir::NirInput {})),
            NirOp::Output { .. } => Some(Model::NirRelay(ir::NirRelay { kind: ir::NirRelayKind::Output as i32, ..Default::default() })),
            NirOp::Flatten { input_type, start_dim, end_dim } => {
                let one = |a: &Option<NumArray>, f: &str| -> Result<Option<i64>, ImportError> {
                    match a {
                        None => Ok(None),
                        Some(a) => Ok(ints(&cx, &format!("{path}/{f}"), a)?.first().copied()),
                    }
                };
                Some(Model::NirRelay(ir::NirRelay {
                    kind: ir::NirRelayKind::Flatten as i32,
                    node: String::new(),
                    input_type: match input_type {
                        Some(t) => ints(&cx, &format!("{path}/input_type"), t)?,
                        None => vec![],
                    },
                    start_dim: one(start_dim, "start_dim")?,
                    end_dim: one(end_dim, "end_dim")?,
                }))
            }
            op if is_weight(op) => None,
            op => {
                let mut nr = neuron_of(&cx, n, op, sz)?;
                let k = ir::NirNeuronKind::try_from(nr.kind).unwrap_or_default();
                if matches!(k, ir::NirNeuronKind::I | ir::NirNeuronKind::If) {
                    has_integrator = true;
                }
                if nr.tau_mem_s.iter().chain(&nr.tau_syn_s).any(|&t| t < dt_ms / 1000.0) {
                    short_tau.push(n.clone());
                }
                if nr.w_in.len() == 1 && sz > 1 {
                    cx.notes.push(Note::new(format!("{path}/w_in"), format!("one w_in for {sz} neurons: repeated for each (exported back with shape ({sz},))")));
                    nr.w_in = vec![nr.w_in[0]; sz as usize];
                }
                Some(Model::NirNeuron(nr))
            }
        };
        if let Some(m) = model {
            pops.push(pop(n.clone(), &shape, sz, m));
        }
    }
    // Relays of weight nodes.
    for n in &names {
        if !weight(&cx, n) {
            continue;
        }
        if cx.preds.get(n).is_none_or(|v| v.is_empty()) {
            return Err(cx.err(&cx.node(n).path, format!("{} node has no input edge", cx.node(n).op.type_name())));
        }
        if out_relay(&cx, n) {
            let shape = cx.shapes[n].clone();
            let sz = size(&cx, n, &shape)?;
            pops.push(pop(n.clone(), &shape, sz, Model::NirRelay(ir::NirRelay { kind: ir::NirRelayKind::NodeOutput as i32, node: n.clone(), ..Default::default() })));
        }
        if in_relay(&cx, n) {
            let first = cx.preds[n][0].clone();
            let shape = cx.shapes[&first].clone();
            let sz = size(&cx, n, &shape)?;
            pops.push(pop(format!("{n}.in"), &shape, sz, Model::NirRelay(ir::NirRelay { kind: ir::NirRelayKind::NodeInput as i32, node: n.clone(), ..Default::default() })));
        }
    }
    let pop_size: HashMap<String, u32> = pops.iter().map(|p| (p.name.clone(), p.size)).collect();
    // Weight-node projections.
    for n in &names {
        if !weight(&cx, n) {
            continue;
        }
        let pre = if in_relay(&cx, n) { format!("{n}.in") } else { cx.preds[n][0].clone() };
        let post = if out_relay(&cx, n) { n.clone() } else { cx.succs[n][0].clone() };
        let proj = weight_projection(&mut cx, n, &pre, &post, &pop_size)?;
        projs.push(proj);
    }
    // Plain edges.
    let mut edge_names: HashMap<String, usize> = HashMap::new();
    for e in &edges {
        let (src_w, dst_w) = (weight(&cx, &e.src), weight(&cx, &e.dst));
        let post = if dst_w {
            if !in_relay(&cx, &e.dst) {
                continue; // the weight node's own projection reads from its single input
            }
            format!("{}.in", e.dst)
        } else {
            e.dst.clone()
        };
        if src_w && !out_relay(&cx, &e.src) {
            continue; // the weight node's projection delivers directly
        }
        let pre = e.src.clone();
        let (a, b) = (pop_size[&pre], pop_size[&post]);
        if a != b {
            return Err(cx.err(&e.path, format!("edge '{}' -> '{}' connects {a} elements to {b}; an edge is an identity connection", e.src, e.dst)));
        }
        let base = format!("{}->{}", e.src, e.dst);
        let k = edge_names.entry(base.clone()).or_insert(0);
        *k += 1;
        let name = if *k == 1 { base } else { format!("{base}#{k}") };
        projs.push(ir::Projection {
            name,
            pre,
            post,
            receptor: ir::Receptor::Signed as i32,
            connectivity: Some(Connectivity::OneToOne(ir::OneToOne {})),
            weight: const_weight(),
            nir: Some(nir_info(ir::NirOpKind::Edge)),
            ..Default::default()
        });
    }
    let mut notes = std::mem::take(&mut cx.notes);
    notes.insert(
        0,
        Note::new(
            "/",
            format!(
                "continuous time discretised on dt = {dt_ms} ms: decays exp(-dt/tau), inputs held over each step; every neuron-to-neuron path takes one step (NIR edges are instantaneous; relays pass values on in the same step)"
            ),
        ),
    );
    if has_integrator {
        notes.push(Note::new("/", format!("IF/I nodes integrate dt*r*x per step (dt = {} s); producers that add r*x once per step (e.g. sinabs) correspond to --dt-ms 1000", dt_ms / 1000.0)));
    }
    for n in short_tau {
        notes.push(Note::new(cx.node(&n).path.clone(), format!("a time constant is shorter than dt = {dt_ms} ms: the state decays by more than 1/e within one step")));
    }
    let net = ir::Network {
        schema_version: ir::SCHEMA_VERSION,
        name: Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        dt_ms,
        duration_ms: 0.0,
        seed: 0,
        populations: pops,
        projections: projs,
        plasticity_rules: vec![],
        recordings: vec![],
        provenance: Some(ir::Provenance { front_end: "nir".into(), source: source.to_string(), notes: notes.iter().map(|n| n.to_string()).collect() }),
    };
    Ok((net, notes, names.len()))
}

/// The [`ir::NirNeuron`] of a neuron node.
fn neuron_of(cx: &Cx<'_>, name: &str, op: &NirOp, size: u32) -> Result<ir::NirNeuron, ImportError> {
    use ir::NirNeuronKind as K;
    let opt = |a: &Option<NumArray>| a.as_ref().map(f64s).unwrap_or_default();
    let n = match op {
        NirOp::LIF { tau, r, v_leak, v_threshold, v_reset } => ir::NirNeuron {
            kind: K::Lif as i32,
            tau_mem_s: f64s(tau),
            r: f64s(r),
            v_leak: f64s(v_leak),
            v_threshold: f64s(v_threshold),
            v_reset: opt(v_reset),
            ..Default::default()
        },
        NirOp::CubaLIF { tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in } => ir::NirNeuron {
            kind: K::CubaLif as i32,
            tau_mem_s: f64s(tau_mem),
            tau_syn_s: f64s(tau_syn),
            r: f64s(r),
            v_leak: f64s(v_leak),
            v_threshold: f64s(v_threshold),
            v_reset: opt(v_reset),
            w_in: opt(w_in),
        },
        NirOp::LI { tau, r, v_leak } => ir::NirNeuron { kind: K::Li as i32, tau_mem_s: f64s(tau), r: f64s(r), v_leak: f64s(v_leak), ..Default::default() },
        NirOp::CubaLI { tau_syn, tau_mem, r, v_leak, w_in } => ir::NirNeuron {
            kind: K::CubaLi as i32,
            tau_mem_s: f64s(tau_mem),
            tau_syn_s: f64s(tau_syn),
            r: f64s(r),
            v_leak: f64s(v_leak),
            w_in: opt(w_in),
            ..Default::default()
        },
        NirOp::IF { r, v_threshold, v_reset } => ir::NirNeuron { kind: K::If as i32, r: f64s(r), v_threshold: f64s(v_threshold), v_reset: opt(v_reset), ..Default::default() },
        NirOp::I { r } => ir::NirNeuron { kind: K::I as i32, r: f64s(r), ..Default::default() },
        NirOp::Threshold { threshold } => ir::NirNeuron { kind: K::Threshold as i32, v_threshold: f64s(threshold), ..Default::default() },
        other => return Err(cx.err(&cx.node(name).path, format!("{} is not a neuron node", other.type_name()))),
    };
    // Every array must hold one value per neuron (w_in may be a single value).
    for (k, a) in arrays(&n).iter().enumerate() {
        let ok = a.is_empty() || a.len() == size as usize || (FIELDS[k] == "w_in" && a.len() == 1);
        if !ok {
            return Err(cx.err(&cx.node(name).path, format!("{} has {} values for {size} neurons", FIELDS[k], a.len())));
        }
    }
    Ok(n)
}

fn weight_projection(cx: &mut Cx<'_>, n: &str, pre: &str, post: &str, sizes: &HashMap<String, u32>) -> Result<ir::Projection, ImportError> {
    let op = cx.node(n).op.clone();
    let path = cx.node(n).path.clone();
    let n_pre = sizes[pre] as usize;
    let n_post = sizes[post] as usize;
    let in_shape = cx.shapes[&cx.preds[n][0]].clone();
    let out_n: usize = cx.shapes[n].iter().product();
    if out_n != n_post {
        return Err(cx.err(&path, format!("produces {out_n} values but its target '{post}' has {n_post} elements")));
    }
    let mut info = nir_info(ir::NirOpKind::Unspecified);
    let connectivity = match &op {
        NirOp::Affine { weight: w, .. } | NirOp::Linear { weight: w } => {
            let [rows, cols] = w.shape[..] else { unreachable!("checked by shape_of") };
            if cols != n_pre {
                return Err(cx.err(&format!("{path}/weight"), format!("weight has {cols} columns but its input '{pre}' has {n_pre} elements")));
            }
            info.kind = if let NirOp::Affine { bias, .. } = &op {
                if bias.len() != rows {
                    return Err(cx.err(&format!("{path}/bias"), format!("{} values for {rows} outputs", bias.len())));
                }
                info.bias = f64s(bias);
                ir::NirOpKind::Affine as i32
            } else {
                ir::NirOpKind::Linear as i32
            };
            Connectivity::DenseMatrix(ir::DenseMatrix { rows: rows as u32, cols: cols as u32, weights: f64s(w), weights_imag: vec![] })
        }
        NirOp::Conv2d(c) | NirOp::Conv1d(c) => {
            let one_d = matches!(op, NirOp::Conv1d(_));
            let (cout, cin_g, kh, kw) = match c.weight.shape.as_slice() {
                [o, i, kh, kw] => (*o, *i, *kh, *kw),
                [o, i, k] => (*o, *i, 1, *k),
                _ => unreachable!("checked by shape_of"),
            };
            let g = conv_geom(cx, n, c, (kh, kw), one_d)?;
            if c.bias.len() != cout && !c.bias.is_empty() {
                return Err(cx.err(&format!("{path}/bias"), format!("{} values for {cout} output channels", c.bias.len())));
            }
            info.kind = if one_d { ir::NirOpKind::Conv1d } else { ir::NirOpKind::Conv2d } as i32;
            info.bias = f64s(&c.bias);
            if let Padding::Named(s) = &c.padding {
                info.padding_name = s.clone();
            }
            if let Some(is) = &c.input_shape {
                info.input_shape = ints(cx, &format!("{path}/input_shape"), is)?;
            }
            let u = |v: usize| v as u32;
            Connectivity::Convolution(ir::Convolution {
                in_channels: u(in_shape[0]),
                out_channels: u(cout),
                kernel_size: vec![u(kh), u(kw)],
                stride: vec![u(g.stride.0), u(g.stride.1)],
                padding: vec![u(g.padding.0), u(g.padding.1)],
                dilation: vec![u(g.dilation.0), u(g.dilation.1)],
                groups: u(g.groups),
                weight: f64s(&c.weight),
                weight_shape: vec![u(cout), u(cin_g), u(kh), u(kw)],
            })
        }
        NirOp::SumPool2d(p) | NirOp::AvgPool2d(p) => {
            let k = pair(cx, &format!("{path}/kernel_size"), &p.kernel_size)?;
            let s = pair(cx, &format!("{path}/stride"), &p.stride)?;
            let pd = pair(cx, &format!("{path}/padding"), &p.padding)?;
            let avg = matches!(op, NirOp::AvgPool2d(_));
            if avg {
                cx.notes.push(Note::new(path.clone(), format!("AvgPool2d: weight 1/{} on every tap (padded positions count, as PyTorch's count_include_pad)", k.0 * k.1)));
            }
            info.kind = if avg { ir::NirOpKind::AvgPool2d } else { ir::NirOpKind::SumPool2d } as i32;
            let u = |v: usize| v as u32;
            Connectivity::Pooling(ir::Pooling {
                kernel_size: vec![u(k.0), u(k.1)],
                stride: vec![u(s.0), u(s.1)],
                padding: vec![u(pd.0), u(pd.1)],
                dilation: vec![1, 1],
                weight: vec![if avg { 1.0 / (k.0 * k.1) as f64 } else { 1.0 }],
                weight_shape: vec![1],
            })
        }
        NirOp::Scale { scale } => {
            let v = f64s(scale);
            if !(v.len() == 1 || v.len() == n_pre) || n_pre != n_post {
                return Err(cx.err(&format!("{path}/scale"), format!("{} values for an input of {n_pre} elements", v.len())));
            }
            info.kind = ir::NirOpKind::Scale as i32;
            info.param_shape = scale.shape.iter().map(|&d| d as u32).collect();
            Connectivity::FromList(ir::FromList {
                connections: (0..n_pre).map(|i| ir::Connection { pre: i as u32, post: i as u32, weight: Some(if v.len() == 1 { v[0] } else { v[i] }), delay_ms: None }).collect(),
            })
        }
        NirOp::Delay { delay } => {
            let v = f64s(delay);
            if !(v.len() == 1 || v.len() == n_pre) || n_pre != n_post {
                return Err(cx.err(&format!("{path}/delay"), format!("{} values for an input of {n_pre} elements", v.len())));
            }
            if let Some(x) = v.iter().find(|x| !x.is_finite() || **x < 0.0) {
                return Err(cx.err(&format!("{path}/delay"), format!("delay {x} s; expected a finite delay >= 0")));
            }
            let dt_s = cx.dt_ms / 1000.0;
            let steps: Vec<f64> = v.iter().map(|d| (d / dt_s).round()).collect();
            if v.iter().zip(&steps).any(|(d, s)| (d - s * dt_s).abs() > 1e-9 * dt_s.max(d.abs())) {
                cx.notes.push(Note::new(format!("{path}/delay"), format!("delays rounded to whole steps of {} ms", cx.dt_ms)));
            }
            info.kind = ir::NirOpKind::Delay as i32;
            info.delay_s = v.clone();
            info.param_shape = delay.shape.iter().map(|&d| d as u32).collect();
            Connectivity::FromList(ir::FromList {
                connections: (0..n_pre)
                    .map(|i| ir::Connection { pre: i as u32, post: i as u32, weight: Some(1.0), delay_ms: Some((1.0 + steps[if steps.len() == 1 { 0 } else { i }]) * cx.dt_ms) })
                    .collect(),
            })
        }
        other => return Err(cx.err(&path, format!("{} is not a weight node", other.type_name()))),
    };
    Ok(ir::Projection {
        name: n.to_string(),
        pre: pre.to_string(),
        post: post.to_string(),
        receptor: ir::Receptor::Signed as i32,
        connectivity: Some(connectivity),
        nir: Some(info),
        ..Default::default()
    })
}
