//! IR → NIR: the plasticity-free part of a network as a [`NirGraph`], written
//! with [`spikeforge_formats::write_nir`].
//!
//! * Networks imported from NIR go back node for node: populations and
//!   projections carry the node kinds and everything the connectivity does not
//!   hold (`NirNeuron`, `NirRelay`, `Projection.nir`).
//! * `IF_curr_exp` populations become `CubaLIF` nodes (units and voltage origin
//!   in docs/import.md), spike sources `Input` nodes, and projections without
//!   NIR information `Linear` nodes (weights in nA, negative for inhibitory
//!   receptors), with a `Delay` node for delays longer than one step.
//! * Plasticity rules, recordings, spike trains and refractory periods have no
//!   NIR form: each is a [`Note`]. netx and Lava LIF populations are an error.

use super::{ImportError, Note};
use crate::expand;
use crate::ir::{self, population::Model, projection::Connectivity};
use spikeforge_formats::nir::{Conv, MetaValue, NirGraph, NirNode, NirOp, Padding, Pool};
use spikeforge_formats::NumArray;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn err(net: &ir::Network, object: impl Into<String>, msg: impl Into<String>) -> ImportError {
    ImportError::new(format!("network '{}'", net.name), object, msg)
}

fn f64a(shape: &[usize], v: Vec<f64>) -> NumArray {
    // Callers pass matching sizes; fall back to a flat array if they do not.
    let n = v.len();
    NumArray::f64(shape.to_vec(), v.clone()).unwrap_or_else(|_| NumArray { shape: vec![n], data: spikeforge_formats::NumData::F64(v) })
}

fn i64a(shape: &[usize], v: Vec<i64>) -> NumArray {
    let n = v.len();
    NumArray::i64(shape.to_vec(), v.clone()).unwrap_or_else(|_| NumArray { shape: vec![n], data: spikeforge_formats::NumData::I64(v) })
}

/// The NIR array shape of a population's per-neuron values.
fn pop_shape(p: &ir::Population) -> Vec<usize> {
    if p.shape.is_empty() {
        if p.size == 1 {
            vec![]
        } else {
            vec![p.size as usize]
        }
    } else {
        p.shape.iter().map(|&d| d as usize).collect()
    }
}

fn node(op: NirOp) -> NirNode {
    NirNode { op, metadata: BTreeMap::<String, MetaValue>::new() }
}

/// Exports the plasticity-free part of `net` as a NIR graph.
pub fn export_nir(net: &ir::Network) -> Result<(NirGraph, Vec<Note>), ImportError> {
    let mut notes = Vec::new();
    let mut nodes: BTreeMap<String, NirNode> = BTreeMap::new();
    let mut edges: Vec<(String, String)> = Vec::new();
    let pops: HashMap<&str, &ir::Population> = net.populations.iter().map(|p| (p.name.as_str(), p)).collect();
    let dt_s = net.dt_ms / 1000.0;
    // Synaptic time constant of each IF_curr_exp population, checked against its receptors.
    let inhibited: Vec<&str> = net
        .projections
        .iter()
        .filter(|p| p.receptor == ir::Receptor::Inhibitory as i32)
        .map(|p| p.post.as_str())
        .collect();
    for p in &net.populations {
        let obj = format!("population '{}'", p.name);
        let shape = pop_shape(p);
        let n = p.size as usize;
        let op = match &p.model {
            Some(Model::NirInput(_)) => Some(NirOp::Input { shape: i64a(&[shape.len()], shape.iter().map(|&d| d as i64).collect()) }),
            Some(Model::NirNeuron(nr)) => Some(neuron_op(net, &obj, nr, &shape)?),
            Some(Model::NirRelay(r)) => match ir::NirRelayKind::try_from(r.kind).unwrap_or_default() {
                ir::NirRelayKind::Output => Some(NirOp::Output { shape: i64a(&[shape.len()], shape.iter().map(|&d| d as i64).collect()) }),
                ir::NirRelayKind::Flatten => Some(NirOp::Flatten {
                    input_type: (!r.input_type.is_empty()).then(|| i64a(&[r.input_type.len()], r.input_type.clone())),
                    start_dim: r.start_dim.map(|v| i64a(&[], vec![v])),
                    end_dim: r.end_dim.map(|v| i64a(&[], vec![v])),
                }),
                ir::NirRelayKind::NodeOutput | ir::NirRelayKind::NodeInput => None,
                ir::NirRelayKind::Unspecified => return Err(err(net, obj, "relay of unspecified kind")),
            },
            Some(Model::IfCurrExp(m)) => {
                if inhibited.contains(&p.name.as_str()) && m.tau_syn_i_ms != m.tau_syn_e_ms {
                    return Err(err(
                        net,
                        obj,
                        format!("tau_syn_e_ms {} differs from tau_syn_i_ms {} and inhibitory synapses target it; NIR's CubaLIF has one synaptic current", m.tau_syn_e_ms, m.tau_syn_i_ms),
                    ));
                }
                if m.tau_refrac_ms > 0.0 {
                    notes.push(Note::new(obj.clone(), format!("refractory period {} ms dropped: NIR's CubaLIF has none", m.tau_refrac_ms)));
                }
                if m.v_init_mv.is_some_and(|v| v != m.v_rest_mv) {
                    notes.push(Note::new(obj.clone(), "v_init_mv dropped: NIR has no initial state (it starts at 0 = v_rest)"));
                }
                let r = m.tau_m_ms / m.cm_nf; // MOhm: mV per nA
                let w_in = 1.0 / (1.0 - (-net.dt_ms / m.tau_syn_e_ms).exp());
                notes.push(Note::new(
                    obj.clone(),
                    format!("IF_curr_exp -> CubaLIF: tau in s, r = tau_m/cm = {r} MOhm, voltages relative to v_rest ({} mV), i_offset folded into v_leak, w_in = 1/(1 - exp(-dt/tau_syn)) = {w_in} so a weight of w nA makes the current jump by w", m.v_rest_mv),
                ));
                let c = |v: f64| vec![v; n];
                Some(NirOp::CubaLIF {
                    tau_syn: f64a(&shape, c(m.tau_syn_e_ms / 1000.0)),
                    tau_mem: f64a(&shape, c(m.tau_m_ms / 1000.0)),
                    r: f64a(&shape, c(r)),
                    v_leak: f64a(&shape, c(r * m.i_offset_na)),
                    v_threshold: f64a(&shape, c(m.v_thresh_mv - m.v_rest_mv)),
                    v_reset: Some(f64a(&shape, c(m.v_reset_mv - m.v_rest_mv))),
                    w_in: Some(f64a(&shape, c(w_in))),
                })
            }
            Some(Model::SpikeSourceArray(_)) | Some(Model::SpikeSourcePoisson(_)) => {
                notes.push(Note::new(obj.clone(), "spike source exported as an Input node; its spikes are not part of NIR"));
                Some(NirOp::Input { shape: i64a(&[1], vec![n as i64]) })
            }
            Some(Model::NetxNeuron(_)) | Some(Model::NetxInput(_)) | Some(Model::NetxFlatten(_)) => {
                return Err(err(net, obj, "netx populations cannot be exported to NIR (their fixed-point neurons have no NIR node)"))
            }
            Some(Model::LavaLif(_)) => return Err(err(net, obj, "Lava LIF populations cannot be exported to NIR (fixed-point neurons have no NIR node)")),
            None => return Err(err(net, obj, "population without a model")),
        };
        if let Some(op) = op {
            nodes.insert(p.name.clone(), node(op));
        }
    }
    // The node a population stands for at an edge's end.
    let end = |name: &str| -> String {
        match pops.get(name).and_then(|p| p.model.as_ref()) {
            Some(Model::NirRelay(r)) if !r.node.is_empty() => r.node.clone(),
            _ => name.to_string(),
        }
    };
    let relay_of = |name: &str, kind: ir::NirRelayKind, proj: &str| -> bool {
        matches!(pops.get(name).and_then(|p| p.model.as_ref()), Some(Model::NirRelay(r)) if r.kind == kind as i32 && r.node == proj)
    };
    let mut expanded: Option<expand::Expanded> = None;
    for (pi, p) in net.projections.iter().enumerate() {
        let obj = format!("projection '{}'", p.name);
        if !p.plasticity.is_empty() {
            notes.push(Note::new(obj.clone(), format!("plasticity rule '{}' not exported (NIR has no plasticity): the initial weights are", p.plasticity)));
        }
        let pre = *pops.get(p.pre.as_str()).ok_or_else(|| err(net, obj.clone(), format!("pre population '{}' does not exist", p.pre)))?;
        let post = *pops.get(p.post.as_str()).ok_or_else(|| err(net, obj.clone(), format!("post population '{}' does not exist", p.post)))?;
        let kind = p.nir.as_ref().map(|i| ir::NirOpKind::try_from(i.kind).unwrap_or_default());
        match kind {
            Some(ir::NirOpKind::Edge) => {
                edges.push((end(&p.pre), end(&p.post)));
                continue;
            }
            Some(k) if k != ir::NirOpKind::Unspecified => {
                let info = p.nir.as_ref().expect("kind came from it");
                let op = weight_op(net, &obj, p, k, info, pre)?;
                let name = unique(&nodes, &p.name, &mut notes, &obj);
                nodes.insert(name.clone(), node(op));
                if !relay_of(&p.pre, ir::NirRelayKind::NodeInput, &p.name) {
                    edges.push((end(&p.pre), name.clone()));
                }
                if !relay_of(&p.post, ir::NirRelayKind::NodeOutput, &p.name) {
                    edges.push((name, end(&p.post)));
                }
                continue;
            }
            _ => {}
        }
        // A projection without NIR information: a Linear node over its synapses.
        if expanded.is_none() {
            expanded = Some(expand::expand(net, 0).map_err(|e| err(net, obj.clone(), format!("cannot list the synapses: {e}")))?);
        }
        let ex = expanded.as_ref().expect("just set");
        let ep = &ex.projections[pi];
        let (rows, cols) = (post.size as usize, pre.size as usize);
        let mut w = vec![0.0; rows * cols];
        let sign = if p.receptor == ir::Receptor::Inhibitory as i32 { -1.0 } else { 1.0 };
        let mut delay = None;
        for s in &ep.synapses {
            let v = if sign < 0.0 { -s.weight.abs() } else { s.weight };
            w[s.post as usize * cols + s.pre as usize] += v;
            match delay {
                None => delay = Some(s.delay),
                Some(d) if d != s.delay => return Err(err(net, obj, "synapses with different delays cannot be exported (NIR delays act per source element)")),
                _ => {}
            }
        }
        let name = unique(&nodes, &p.name, &mut notes, &obj);
        nodes.insert(name.clone(), node(NirOp::Linear { weight: f64a(&[rows, cols], w) }));
        let mut src = end(&p.pre);
        if let Some(d) = delay.filter(|&d| d > 1) {
            let dname = unique(&nodes, &format!("{}.delay", p.name), &mut notes, &obj);
            nodes.insert(dname.clone(), node(NirOp::Delay { delay: f64a(&pop_shape(pre), vec![(d - 1) as f64 * dt_s; cols]) }));
            edges.push((src, dname.clone()));
            src = dname;
            notes.push(Note::new(obj.clone(), format!("delay of {d} steps: a Delay node of {} s plus the one-step synaptic latency", (d - 1) as f64 * dt_s)));
        }
        edges.push((src, name.clone()));
        edges.push((name, end(&p.post)));
    }
    if !net.recordings.is_empty() {
        notes.push(Note::new("network", "recordings not exported (NIR has none)"));
    }
    Ok((NirGraph { nodes, edges, metadata: BTreeMap::new() }, notes))
}

/// Writes `net` as a `.nir` file; returns the notes.
pub fn export_nir_file(net: &ir::Network, path: &Path) -> Result<Vec<Note>, ImportError> {
    let (g, notes) = export_nir(net)?;
    spikeforge_formats::write_nir(path, &g)?;
    Ok(notes)
}

/// `name`, or `name.proj`, `name.proj2`, ... if a node already has it.
fn unique(nodes: &BTreeMap<String, NirNode>, name: &str, notes: &mut Vec<Note>, obj: &str) -> String {
    if !nodes.contains_key(name) {
        return name.to_string();
    }
    let mut k = 1;
    loop {
        let cand = if k == 1 { format!("{name}.proj") } else { format!("{name}.proj{k}") };
        if !nodes.contains_key(&cand) {
            notes.push(Note::new(obj, format!("NIR node names are shared by populations and projections: exported as '{cand}'")));
            return cand;
        }
        k += 1;
    }
}

fn neuron_op(net: &ir::Network, obj: &str, n: &ir::NirNeuron, shape: &[usize]) -> Result<NirOp, ImportError> {
    use ir::NirNeuronKind as K;
    let a = |v: &Vec<f64>| f64a(shape, v.clone());
    let o = |v: &Vec<f64>| (!v.is_empty()).then(|| f64a(shape, v.clone()));
    Ok(match K::try_from(n.kind).unwrap_or_default() {
        K::Lif => NirOp::LIF { tau: a(&n.tau_mem_s), r: a(&n.r), v_leak: a(&n.v_leak), v_threshold: a(&n.v_threshold), v_reset: o(&n.v_reset) },
        K::CubaLif => NirOp::CubaLIF {
            tau_syn: a(&n.tau_syn_s),
            tau_mem: a(&n.tau_mem_s),
            r: a(&n.r),
            v_leak: a(&n.v_leak),
            v_threshold: a(&n.v_threshold),
            v_reset: o(&n.v_reset),
            w_in: o(&n.w_in),
        },
        K::Li => NirOp::LI { tau: a(&n.tau_mem_s), r: a(&n.r), v_leak: a(&n.v_leak) },
        K::CubaLi => NirOp::CubaLI { tau_syn: a(&n.tau_syn_s), tau_mem: a(&n.tau_mem_s), r: a(&n.r), v_leak: a(&n.v_leak), w_in: o(&n.w_in) },
        K::If => NirOp::IF { r: a(&n.r), v_threshold: a(&n.v_threshold), v_reset: o(&n.v_reset) },
        K::I => NirOp::I { r: a(&n.r) },
        K::Threshold => NirOp::Threshold { threshold: a(&n.v_threshold) },
        K::Unspecified => return Err(err(net, obj, "NIR neuron of unspecified kind")),
    })
}

fn weight_op(net: &ir::Network, obj: &str, p: &ir::Projection, k: ir::NirOpKind, info: &ir::NirProjection, pre: &ir::Population) -> Result<NirOp, ImportError> {
    use ir::NirOpKind as K;
    let bad = |m: &str| err(net, obj.to_string(), m.to_string());
    let u = |v: &[u32]| v.iter().map(|&x| x as usize).collect::<Vec<_>>();
    let pair = |v: &[u32]| i64a(&[2], v.iter().map(|&x| x as i64).collect());
    Ok(match (k, &p.connectivity) {
        (K::Affine | K::Linear, Some(Connectivity::DenseMatrix(m))) => {
            let weight = f64a(&[m.rows as usize, m.cols as usize], m.weights.clone());
            if k == K::Affine {
                let bias = if info.bias.is_empty() { vec![0.0; m.rows as usize] } else { info.bias.clone() };
                NirOp::Affine { weight, bias: f64a(&[m.rows as usize], bias) }
            } else {
                NirOp::Linear { weight }
            }
        }
        (K::Conv1d | K::Conv2d, Some(Connectivity::Convolution(c))) => {
            let ws = u(&c.weight_shape);
            let cout = c.out_channels as usize;
            let bias = f64a(&[cout], if info.bias.is_empty() { vec![0.0; cout] } else { info.bias.clone() });
            let input_shape = (!info.input_shape.is_empty()).then(|| {
                if k == K::Conv1d && info.input_shape.len() == 1 {
                    i64a(&[], info.input_shape.clone())
                } else {
                    i64a(&[info.input_shape.len()], info.input_shape.clone())
                }
            });
            let padding = |vals: NumArray| if info.padding_name.is_empty() { Padding::Values(vals) } else { Padding::Named(info.padding_name.clone()) };
            if k == K::Conv1d {
                let [o, i, 1, kk] = ws[..] else { return Err(bad("Conv1d weight_shape must be (out, in/groups, 1, k)")) };
                let last = |v: &[u32]| i64a(&[], vec![*v.last().unwrap_or(&0) as i64]);
                NirOp::Conv1d(Conv {
                    input_shape,
                    weight: f64a(&[o, i, kk], c.weight.clone()),
                    stride: last(&c.stride),
                    padding: padding(last(&c.padding)),
                    dilation: last(&c.dilation),
                    groups: i64a(&[], vec![c.groups as i64]),
                    bias,
                })
            } else {
                NirOp::Conv2d(Conv {
                    input_shape,
                    weight: f64a(&ws, c.weight.clone()),
                    stride: pair(&c.stride),
                    padding: padding(pair(&c.padding)),
                    dilation: pair(&c.dilation),
                    groups: i64a(&[], vec![c.groups as i64]),
                    bias,
                })
            }
        }
        (K::SumPool2d | K::AvgPool2d, Some(Connectivity::Pooling(pl))) => {
            let pool = Pool { kernel_size: pair(&pl.kernel_size), stride: pair(&pl.stride), padding: pair(&pl.padding) };
            if k == K::SumPool2d {
                NirOp::SumPool2d(pool)
            } else {
                NirOp::AvgPool2d(pool)
            }
        }
        (K::Scale, Some(Connectivity::FromList(l))) => {
            let shape = u(&info.param_shape);
            let n: usize = shape.iter().product();
            let v: Vec<f64> = l.connections.iter().map(|c| c.weight.unwrap_or(1.0)).take(n.max(1)).collect();
            NirOp::Scale { scale: f64a(&shape, v) }
        }
        (K::Delay, Some(Connectivity::FromList(l))) => {
            let shape = u(&info.param_shape);
            let v = if info.delay_s.is_empty() {
                l.connections.iter().map(|c| (c.delay_ms.unwrap_or(net.dt_ms) - net.dt_ms) / 1000.0).collect()
            } else {
                info.delay_s.clone()
            };
            let shape = if shape.iter().product::<usize>() == v.len() { shape } else { pop_shape(pre) };
            NirOp::Delay { delay: f64a(&shape, v) }
        }
        (k, _) => return Err(bad(&format!("NIR kind {} does not match the projection's connectivity", k.as_str_name()))),
    })
}
