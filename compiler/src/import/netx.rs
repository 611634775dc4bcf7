//! lava-dl netx `.net` → IR, reproducing what netx (`lava.lib.dl.netx.hdf5`,
//! lava-dl d825ac5) does when it loads a file.
//!
//! * Layers in numeric order (`/layer/10` after `/layer/9`); each loaded layer
//!   is a population `layer<i>` and the synapses into it a projection
//!   `layer<i>` (a `dense_rec` layer adds `layer<i>.rec`).
//! * Neuron indices are row-major over the stored shape (C, H, W). netx keeps
//!   neurons in the reversed (W, H, C) order; its `flatten` (transpose
//!   `[2, 1, 0]` then flatten) is therefore the identity on IR indices.
//! * Dense weights: `astype(int)` (truncation), then netx's
//!   `optimize_weight_bits` (clip, sign mode, scale bits): the IR holds the
//!   integers Lava's `Dense` receives and their `LoihiWeights`.
//! * Conv weights stay as stored (out, in/groups, kH, kW); [`super::conv`]
//!   documents why that equals netx's flipped, transposed kernel.
//! * A dense layer without `neuron/` gets netx's default neuron (vThMant
//!   131072, the `1 << 18 - 1` precedence quirk).
//! * Delays are clipped as netx does (all to 0..62 once one exceeds 62).
//! * One step is 1 ms.

use super::{ImportError, Note};
use crate::ir::{self, population::Model, projection::Connectivity};
use spikeforge_formats::netx::{
    self as fx, clip_delays, input_transform, LayerType, NetxLayer, NetxNetwork, NetxSupport, NeuronType, Weight,
};
use spikeforge_formats::{NumArray, Scalar};
use std::path::Path;

/// Lava's weight sign modes as netx's `optimize_weight_bits` picks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    Mixed,
    Excitatory,
    Inhibitory,
}

/// What netx's `optimize_weight_bits` makes of an integer weight matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizedWeights {
    /// The weights handed to Lava: clipped, then shifted left by the scale bits.
    pub weights: Vec<i64>,
    /// `8 - scale_bits - n` (n: trailing zero bits shared by all weights, minus the sign bit).
    pub num_weight_bits: i64,
    /// `-scale_bits`.
    pub weight_exp: i64,
    pub sign_mode: SignMode,
    /// True if the clip to [-256, 254] fired.
    pub clipped: bool,
}

/// netx's `optimize_weight_bits` (`lava/lib/dl/netx/utils.py`), step for step,
/// including its stale min/max after the first clip. Errors where netx fails
/// (an all-zero or over-range non-negative matrix makes it divide by zero or
/// shift by a negative amount).
pub fn optimize_weight_bits(weight: &[i64]) -> Result<OptimizedWeights, String> {
    if weight.is_empty() {
        return Err("the weight matrix is empty".into());
    }
    let mut w = weight.to_vec();
    let mut max = *w.iter().max().unwrap_or(&0);
    let mut min = *w.iter().min().unwrap_or(&0);
    let mut clipped = false;
    if max > 254 && min < 0 {
        w.iter_mut().for_each(|x| *x = (*x).clamp(-256, 254));
        max = *w.iter().max().unwrap_or(&0);
        clipped = true;
    }
    if min < -256 && max > 0 {
        w.iter_mut().for_each(|x| *x = (*x).clamp(-256, 254));
        min = *w.iter().min().unwrap_or(&0);
        clipped = true;
    }
    let (sign_mode, is_signed) = if max < 0 {
        (SignMode::Inhibitory, 0)
    } else if min >= 0 {
        (SignMode::Excitatory, 0)
    } else {
        (SignMode::Mixed, 1)
    };
    let scale = match sign_mode {
        SignMode::Mixed => {
            let pos = if max == 0 { f64::INFINITY } else { 127.0 / max as f64 };
            pos.min(-128.0 / min as f64)
        }
        SignMode::Inhibitory => -256.0 / min as f64,
        SignMode::Excitatory => {
            if max == 0 {
                return Err("all weights are 0: netx's optimize_weight_bits divides by zero (255 / max) and fails".into());
            }
            255.0 / max as f64
        }
    };
    let scale_bits = scale.log2().floor() as i64 + is_signed;
    if scale_bits < 0 {
        return Err(format!(
            "weights up to {max} do not fit Loihi's 8-bit {sign_mode:?} synapse: netx's optimize_weight_bits would shift them by {scale_bits} bits"
        ));
    }
    let mut n: i64 = 8;
    while n > 0 && !w.iter().all(|x| x.rem_euclid(1 << n) == 0) {
        n -= 1;
    }
    n -= is_signed;
    Ok(OptimizedWeights {
        weights: w.iter().map(|x| x << scale_bits).collect(),
        num_weight_bits: 8 - scale_bits - n,
        weight_exp: -scale_bits,
        sign_mode,
        clipped,
    })
}

/// Imports a netx file.
pub fn import_netx(path: &Path) -> Result<(ir::Network, Vec<Note>), ImportError> {
    let doc = fx::read_netx(path)?;
    import_doc(&doc, &super::file_label(path), &path.display().to_string())
}

/// Imports a netx file from memory; `name` appears in errors.
pub fn import_netx_bytes(name: &str, bytes: Vec<u8>) -> Result<(ir::Network, Vec<Note>), ImportError> {
    let doc = fx::read_netx_bytes(name, bytes)?;
    import_doc(&doc, name, name)
}

struct Cx<'a> {
    file: &'a str,
    notes: Vec<Note>,
    pops: Vec<ir::Population>,
    projs: Vec<ir::Projection>,
}

/// The population the next layer reads from.
#[derive(Clone)]
struct Prev {
    name: String,
    shape: Vec<u32>,
    size: u32,
}

impl Cx<'_> {
    fn err(&self, l: &NetxLayer, msg: impl Into<String>) -> ImportError {
        ImportError::new(self.file, format!("{} ({})", l.path(), l.kind), msg)
    }
    fn err_at(&self, path: String, msg: impl Into<String>) -> ImportError {
        ImportError::new(self.file, path, msg)
    }
    fn note(&mut self, path: String, msg: impl Into<String>) {
        self.notes.push(Note::new(path, msg));
    }
}

fn sign_mode_ir(s: SignMode) -> ir::SignMode {
    match s {
        SignMode::Mixed => ir::SignMode::Mixed,
        SignMode::Excitatory => ir::SignMode::Excitatory,
        SignMode::Inhibitory => ir::SignMode::Inhibitory,
    }
}

fn layer_kind(k: &LayerType) -> ir::NetxLayerKind {
    match k {
        LayerType::Input => ir::NetxLayerKind::Input,
        LayerType::Dense => ir::NetxLayerKind::Dense,
        LayerType::DenseRec => ir::NetxLayerKind::DenseRec,
        LayerType::Conv => ir::NetxLayerKind::Conv,
        LayerType::Flatten => ir::NetxLayerKind::Flatten,
        LayerType::Pool => ir::NetxLayerKind::Pool,
        LayerType::Average => ir::NetxLayerKind::Average,
        _ => ir::NetxLayerKind::Unspecified,
    }
}

fn neuron_type(k: &NeuronType) -> ir::NetxNeuronType {
    match k {
        NeuronType::Cuba => ir::NetxNeuronType::Cuba,
        NeuronType::Loihi => ir::NetxNeuronType::Loihi,
        NeuronType::Sdnn => ir::NetxNeuronType::Sdnn,
        NeuronType::RfPhase => ir::NetxNeuronType::RfPhase,
        NeuronType::RfIzhikevich => ir::NetxNeuronType::RfIzhikevich,
        NeuronType::AdrfPhase => ir::NetxNeuronType::AdrfPhase,
        NeuronType::AdrfIzhikevich => ir::NetxNeuronType::AdrfIzhikevich,
        NeuronType::Alif => ir::NetxNeuronType::Alif,
        NeuronType::Other(_) => ir::NetxNeuronType::Unspecified,
    }
}

/// Imports a parsed netx document. `file` names the file in errors and notes,
/// `source` is stored in the provenance.
pub fn import_doc(doc: &NetxNetwork, file: &str, source: &str) -> Result<(ir::Network, Vec<Note>), ImportError> {
    let mut cx = Cx { file, notes: Vec::new(), pops: Vec::new(), projs: Vec::new() };
    let mut prev: Option<Prev> = None;
    let mut flatten_next = false;
    for l in &doc.layers {
        match l.kind.netx_support() {
            NetxSupport::Loaded => {}
            NetxSupport::NotImplemented => {
                return Err(cx.err(l, "netx cannot load this layer kind (it raises NotImplementedError), so spikeforge does not import it"))
            }
            NetxSupport::Broken => {
                return Err(cx.err(l, "netx cannot load this layer kind (it calls create_complex_dense, which does not exist)"))
            }
            NetxSupport::Skipped => {
                cx.note(format!("{} ({})", l.path(), l.kind), "unknown layer type: skipped, as netx silently skips it (the next layer reads from the previous one)");
                continue;
            }
        }
        if let Some(m) = l.unsupported() {
            return Err(cx.err(l, m.split_once(": ").map_or(m.clone(), |(_, r)| r.to_string())));
        }
        for k in l.extra.keys() {
            cx.note(format!("{}/{k}", l.path()), "dataset not read by netx: ignored");
        }
        if let Some(n) = &l.neuron {
            for k in n.extra.keys() {
                cx.note(format!("{}/neuron/{k}", l.path()), "dataset not read by netx: ignored");
            }
        }
        let next = match l.kind {
            LayerType::Input => Some(input_layer(&mut cx, l)?),
            LayerType::Flatten => {
                flatten_next = true;
                Some(flatten_layer(&mut cx, l, prev.as_ref())?)
            }
            LayerType::Dense | LayerType::DenseRec => {
                let p = dense_layer(&mut cx, l, prev.as_ref(), flatten_next)?;
                flatten_next = false;
                Some(p)
            }
            LayerType::Conv => Some(conv_layer(&mut cx, l, prev.as_ref())?),
            _ => None,
        };
        if next.is_some() {
            prev = next;
        }
    }
    if cx.pops.is_empty() {
        return Err(ImportError::new(file, "/layer", "the file has no layers"));
    }
    let mut duration_ms = 0.0;
    if let Some(sim) = &doc.simulation {
        if let Some(ts) = sim.ts {
            cx.note("/simulation/Ts".into(), format!("Ts = {ts} is not read by netx; spikeforge runs netx networks with 1 step = 1 ms"));
        }
        if let Some(t) = sim.t_sample {
            let steps = t.as_f64();
            if steps.is_finite() && steps >= 0.0 {
                duration_ms = steps.floor();
                cx.note("/simulation/tSample".into(), format!("tSample = {t} steps used as the default run length ({duration_ms} ms); netx itself does not read it"));
            }
        }
    }
    let notes = cx.notes;
    let net = ir::Network {
        schema_version: ir::SCHEMA_VERSION,
        name: Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        dt_ms: 1.0,
        duration_ms,
        seed: 0,
        populations: cx.pops,
        projections: cx.projs,
        plasticity_rules: vec![],
        recordings: vec![],
        provenance: Some(ir::Provenance { front_end: "netx".into(), source: source.to_string(), notes: notes.iter().map(|n| n.to_string()).collect() }),
    };
    Ok((net, notes))
}

fn layer_info(l: &NetxLayer) -> ir::NetxLayerInfo {
    ir::NetxLayerInfo { index: l.index as u32, kind: layer_kind(&l.kind) as i32, shape: l.shape.clone().unwrap_or_default() }
}

/// The stored shape as u32 dimensions (each > 0).
fn shape_u32(cx: &Cx<'_>, l: &NetxLayer) -> Result<Vec<u32>, ImportError> {
    let s = l.shape.as_ref().ok_or_else(|| cx.err_at(format!("{}/shape", l.path()), "missing dataset (every loaded layer needs a shape)"))?;
    if s.is_empty() {
        return Err(cx.err_at(format!("{}/shape", l.path()), "empty shape"));
    }
    s.iter()
        .map(|&d| u32::try_from(d).ok().filter(|&d| d > 0).ok_or_else(|| cx.err_at(format!("{}/shape", l.path()), format!("dimension {d} is not a positive size"))))
        .collect()
}

fn size_of(cx: &Cx<'_>, l: &NetxLayer, shape: &[u32]) -> Result<u32, ImportError> {
    shape
        .iter()
        .try_fold(1u32, |a, &d| a.checked_mul(d))
        .ok_or_else(|| cx.err_at(format!("{}/shape", l.path()), format!("shape {shape:?} holds more than {} neurons", u32::MAX)))
}

fn int_field(cx: &Cx<'_>, path: String, v: Option<Scalar>) -> Result<Option<i64>, ImportError> {
    match v {
        None => Ok(None),
        Some(s) => s.as_i64().map(Some).ok_or_else(|| cx.err_at(path, format!("{s} is not an integer"))),
    }
}

fn i32_field(cx: &Cx<'_>, path: String, v: Option<Scalar>) -> Result<i32, ImportError> {
    match int_field(cx, path.clone(), v)? {
        None => Ok(0),
        Some(x) => i32::try_from(x).map_err(|_| cx.err_at(path, format!("{x} is out of range"))),
    }
}

/// A netx neuron group as the IR holds it, with netx's effective defaults
/// (`messageBits`).
fn neuron(cx: &Cx<'_>, l: &NetxLayer, n: &fx::NetxNeuron, bias: Vec<f64>) -> Result<ir::NetxNeuron, ImportError> {
    let p = |f: &str| format!("{}/neuron/{f}", l.path());
    let message_bits = match n.message_bits {
        Some(_) => i32_field(cx, p("messageBits"), n.message_bits)?,
        None => fx::default_message_bits(&n.kind) as i32,
    };
    Ok(ir::NetxNeuron {
        r#type: neuron_type(&n.kind) as i32,
        i_decay: i32_field(cx, p("iDecay"), n.i_decay)?,
        v_decay: i32_field(cx, p("vDecay"), n.v_decay)?,
        v_th_mant: int_field(cx, p("vThMant"), n.v_th_mant)?.unwrap_or(0),
        ref_delay: i32_field(cx, p("refDelay"), n.ref_delay)?,
        graded_spike: n.graded_spike.unwrap_or(false),
        wgt_exp: i32_field(cx, p("wgtExp"), n.wgt_exp)?,
        theta: n.theta.map_or(0.0, Scalar::as_f64),
        tau_rho: n.tau_rho.map_or(0.0, Scalar::as_f64),
        scale_rho: n.scale_rho.map_or(0.0, Scalar::as_f64),
        activation: n.activation.clone().unwrap_or_default(),
        sigma_output: n.sigma_output.is_some(),
        sin_decay: i32_field(cx, p("sinDecay"), n.sin_decay)?,
        cos_decay: i32_field(cx, p("cosDecay"), n.cos_decay)?,
        th_decay: i32_field(cx, p("thDecay"), n.th_decay)?,
        ref_decay: i32_field(cx, p("refDecay"), n.ref_decay)?,
        v_th_step: int_field(cx, p("vThStep"), n.v_th_step)?.unwrap_or(0),
        message_bits,
        bias,
        weight_exp: match n.weight_exp {
            None => None,
            Some(_) => Some(i32_field(cx, p("weight_exp"), n.weight_exp)?),
        },
    })
}

/// `astype(int)` of a weight-like dataset.
fn trunc(cx: &Cx<'_>, path: String, a: &NumArray) -> Result<Vec<i64>, ImportError> {
    a.to_i64_trunc().map_err(|e| cx.err_at(path, e.to_string()))
}

/// The bias of a layer of `shape` (IR order), per neuron, netx's broadcasting:
/// one value per neuron (1-D layers: any length-1 or N vector), per channel
/// (length C), or per neuron in netx's (W, H, C) order.
fn layer_bias(cx: &Cx<'_>, l: &NetxLayer, shape: &[u32], size: u32) -> Result<Vec<f64>, ImportError> {
    let Some(b) = &l.bias else { return Ok(vec![]) };
    let path = format!("{}/bias", l.path());
    let v: Vec<f64> = trunc(cx, path.clone(), b)?.into_iter().map(|x| x as f64).collect();
    let n = size as usize;
    if v.len() == n && (shape.len() == 1 || b.shape.iter().map(|&d| d as u32).collect::<Vec<_>>() == shape) {
        return Ok(v);
    }
    if v.len() == 1 && shape.len() == 1 {
        return Ok(vec![v[0]; n]);
    }
    if let [c, h, w] = *shape {
        let (c, h, w) = (c as usize, h as usize, w as usize);
        if v.len() == c && b.shape.len() <= 1 {
            return Ok((0..n).map(|i| v[i / (h * w)]).collect());
        }
        let rev: Vec<usize> = vec![w, h, c];
        if b.shape == rev {
            // (W, H, C) row-major -> (C, H, W) row-major
            return Ok((0..n).map(|i| {
                let (cc, hh, ww) = (i / (h * w), (i / w) % h, i % w);
                v[(ww * h + hh) * c + cc]
            }).collect());
        }
    }
    Err(cx.err_at(path, format!("bias of shape {:?} cannot be broadcast to the layer's {} neurons (shape {shape:?})", b.shape, n)))
}

fn input_layer(cx: &mut Cx<'_>, l: &NetxLayer) -> Result<Prev, ImportError> {
    let shape = shape_u32(cx, l)?;
    let size = size_of(cx, l, &shape)?;
    let (w, b) = input_transform(l).map_err(|m| cx.err(l, m))?;
    if l.weight.is_some() || l.bias.is_some() {
        cx.note(
            format!("{} ({})", l.path(), l.kind),
            format!("input transform weight {w}, bias {b} (integers, as netx reads them with int()) kept in NetxInput.weight/bias"),
        );
    }
    let neuron = match &l.neuron {
        Some(n) => Some(neuron(cx, l, n, vec![])?),
        None => None,
    };
    let name = format!("layer{}", l.index);
    cx.pops.push(ir::Population {
        name: name.clone(),
        size,
        shape: shape.clone(),
        model: Some(Model::NetxInput(ir::NetxInput { weight: vec![w as f64], bias: vec![b as f64], neuron })),
        netx_layer: Some(layer_info(l)),
    });
    Ok(Prev { name, shape, size })
}

fn flatten_layer(cx: &mut Cx<'_>, l: &NetxLayer, prev: Option<&Prev>) -> Result<Prev, ImportError> {
    let prev = prev.ok_or_else(|| cx.err(l, "a flatten layer needs a layer before it"))?;
    let name = format!("layer{}", l.index);
    let size = prev.size;
    cx.pops.push(ir::Population {
        name: name.clone(),
        size,
        shape: vec![size],
        model: Some(Model::NetxFlatten(ir::NetxFlatten {})),
        netx_layer: Some(layer_info(l)),
    });
    cx.projs.push(ir::Projection {
        name: name.clone(),
        pre: prev.name.clone(),
        post: name.clone(),
        receptor: ir::Receptor::Signed as i32,
        connectivity: Some(Connectivity::OneToOne(ir::OneToOne {})),
        weight: Some(ir::Distribution { kind: Some(ir::distribution::Kind::Constant(1.0)) }),
        ..Default::default()
    });
    Ok(Prev { name, shape: vec![size], size })
}

/// The sign mode Lava's Dense runs with: netx does not pass the one
/// `optimize_weight_bits` picked, so Dense calls `determine_sign_mode` on the
/// weights it receives (excitatory if none is negative, else inhibitory if
/// none is positive, else mixed). It differs from netx's choice for
/// non-positive matrices holding a 0 (netx: mixed; Lava: inhibitory).
fn lava_sign_mode(w: &[i64]) -> ir::SignMode {
    if w.iter().all(|&x| x >= 0) {
        ir::SignMode::Excitatory
    } else if w.iter().all(|&x| x <= 0) {
        ir::SignMode::Inhibitory
    } else {
        ir::SignMode::Mixed
    }
}

fn loihi(o: &OptimizedWeights) -> ir::LoihiWeights {
    ir::LoihiWeights { sign_mode: sign_mode_ir(o.sign_mode) as i32, num_weight_bits: o.num_weight_bits as u32, weight_exp: o.weight_exp as i32 }
}

/// Runs `optimize_weight_bits` and records what it did; brings an out-of-range
/// bit count into the IR's 1..8 (noting any weight this changes).
fn optimize(cx: &mut Cx<'_>, l: &NetxLayer, what: &str, w: &[i64]) -> Result<OptimizedWeights, ImportError> {
    let mut o = optimize_weight_bits(w).map_err(|m| cx.err(l, format!("{what}: {m}")))?;
    let here = format!("{} ({})", l.path(), l.kind);
    if o.clipped {
        cx.note(here.clone(), format!("{what}: netx's optimize_weight_bits clipped the weights to [-256, 254]"));
    }
    if o.weight_exp != 0 {
        cx.note(
            here.clone(),
            format!("{what}: netx's optimize_weight_bits scales the weights by 2^{} and sets weight_exp {} (the IR holds the scaled weights Lava receives)", -o.weight_exp, o.weight_exp),
        );
    }
    if o.num_weight_bits > 8 {
        let k = if o.sign_mode == SignMode::Mixed { 1 } else { 0 };
        let changed = o.weights.iter().filter(|&&x| (x >> k) << k != x).count();
        cx.note(
            here.clone(),
            format!(
                "{what}: netx derives {} weight bits (no truncation); the IR allows at most 8, which {}",
                o.num_weight_bits,
                if changed == 0 { "changes no weight".to_string() } else { format!("truncates {changed} odd weight(s) by one") }
            ),
        );
        o.num_weight_bits = 8;
    } else if o.num_weight_bits < 1 {
        cx.note(here, format!("{what}: netx derives {} weight bits; stored as 1", o.num_weight_bits));
        o.num_weight_bits = 1;
    }
    Ok(o)
}

/// A weight matrix (out, in) as (values, out, in); 1-D weights are reshaped to
/// (out, -1) as netx does.
fn matrix(cx: &Cx<'_>, l: &NetxLayer, path: String, a: &NumArray, out: usize) -> Result<(Vec<i64>, usize, usize), ImportError> {
    let v = trunc(cx, path.clone(), a)?;
    match a.shape.as_slice() {
        [o, i] if *o == out => Ok((v, *o, *i)),
        [n] if out > 0 && n % out == 0 => Ok((v, out, n / out)),
        other => Err(cx.err_at(path, format!("{} weight of shape {other:?} does not have {out} rows (the layer's neurons)", l.kind))),
    }
}

fn dense_layer(cx: &mut Cx<'_>, l: &NetxLayer, prev: Option<&Prev>, flatten: bool) -> Result<Prev, ImportError> {
    let shape = shape_u32(cx, l)?;
    let size = size_of(cx, l, &shape)?;
    let n = size as usize;
    let name = format!("layer{}", l.index);
    let here = format!("{} ({})", l.path(), l.kind);
    let wpath = format!("{}/weight", l.path());
    let (real, imag, rows, cols) = match &l.weight {
        None => return Err(cx.err_at(wpath, "missing dataset (a dense layer needs weights)")),
        Some(Weight::Real(w)) => {
            let (v, o, i) = matrix(cx, l, wpath.clone(), w, n)?;
            (v, None, o, i)
        }
        Some(Weight::Complex { real, imag }) => {
            let (r, o, i) = matrix(cx, l, format!("{wpath}/real"), real, n)?;
            let (im, _, _) = matrix(cx, l, format!("{wpath}/imag"), imag, n)?;
            (r, Some(im), o, i)
        }
    };
    // Where the input comes from.
    let pre = match prev {
        Some(p) => {
            if p.size as usize != cols {
                return Err(cx.err(l, format!("weight has {cols} inputs but the previous layer ('{}') has {} neurons", p.name, p.size)));
            }
            let multi = p.shape.iter().filter(|&&d| d > 1).count() > 1;
            if multi && !flatten {
                return Err(cx.err(l, format!("the previous layer ('{}') has shape {:?}; netx needs a flatten layer before a dense layer", p.name, p.shape)));
            }
            p.clone()
        }
        None => {
            let name = "input".to_string();
            let size = u32::try_from(cols).map_err(|_| cx.err(l, "too many inputs"))?;
            cx.pops.push(ir::Population {
                name: name.clone(),
                size,
                shape: vec![size],
                model: Some(Model::NetxInput(ir::NetxInput { weight: vec![1.0], bias: vec![0.0], neuron: None })),
                netx_layer: None,
            });
            cx.note(
                here.clone(),
                format!("the file has no input layer: added population 'input' ({size} neurons) for the network's input port (values pass unchanged: weight 1, bias 0)"),
            );
            Prev { name, shape: vec![size], size }
        }
    };
    // Weights as netx optimises them.
    let rec = match (&l.kind, &l.weight_rec) {
        (LayerType::DenseRec, Some(r)) => Some(matrix(cx, l, format!("{}/weight_rec", l.path()), r, n)?),
        (LayerType::DenseRec, None) => return Err(cx.err_at(format!("{}/weight_rec", l.path()), "missing dataset (a dense_rec layer needs recurrent weights)")),
        (_, Some(_)) => {
            cx.note(format!("{}/weight_rec", l.path()), "weight_rec on a layer of type dense: ignored, as netx ignores it");
            None
        }
        _ => None,
    };
    if let Some((_, _, rc)) = &rec {
        if *rc != n {
            return Err(cx.err_at(format!("{}/weight_rec", l.path()), format!("recurrent weight has {rc} columns; expected {n} (the layer's neurons)")));
        }
    }
    let (fwd, fwd_loihi, rec_w) = match &rec {
        Some((rw, _, _)) => {
            // netx optimises hstack((weight, weight_rec)) as one matrix.
            let mut both = Vec::with_capacity(n * (cols + n));
            for r in 0..n {
                both.extend_from_slice(&real[r * cols..(r + 1) * cols]);
                both.extend_from_slice(&rw[r * n..(r + 1) * n]);
            }
            let o = optimize(cx, l, "weight and weight_rec (optimised together)", &both)?;
            let mut f = Vec::with_capacity(n * cols);
            let mut b = Vec::with_capacity(n * n);
            for r in 0..n {
                f.extend_from_slice(&o.weights[r * (cols + n)..r * (cols + n) + cols]);
                b.extend_from_slice(&o.weights[r * (cols + n) + cols..(r + 1) * (cols + n)]);
            }
            (f, loihi(&o), Some(b))
        }
        None => {
            let o = optimize(cx, l, if imag.is_some() { "weight/real" } else { "weight" }, &real)?;
            (o.weights.clone(), loihi(&o), None)
        }
    };
    let (imag_w, imag_loihi) = match &imag {
        Some(im) => {
            let o = optimize(cx, l, "weight/imag", im)?;
            (o.weights.clone(), Some(loihi(&o)))
        }
        None => (vec![], None),
    };
    // Delays.
    let mut netx_delay = vec![];
    if let Some(d) = &l.delay {
        let dpath = format!("{}/delay", l.path());
        let m = fx::expand_delay(d, rows, cols).map_err(|e| cx.err_at(dpath.clone(), e))?;
        let (stored, clipped) = clip_delays(&d.to_f64());
        if clipped {
            cx.note(dpath.clone(), "a delay exceeds 62: netx clips every delay to 0..62");
        }
        if stored.iter().any(|x| x.fract() != 0.0) {
            cx.note(dpath.clone(), "non-integer delays truncated toward zero (netx's astype(int))");
        }
        if let Some(x) = stored.iter().find(|x| **x < 0.0 || x.is_nan()) {
            return Err(cx.err_at(dpath, format!("delay {x} is negative; Lava's DelayDense needs delays >= 0")));
        }
        netx_delay = match m.layout {
            fx::DelayLayout::Shared => vec![stored[0] as u32],
            fx::DelayLayout::PerOutput | fx::DelayLayout::PerInput => stored.iter().map(|&x| x as u32).collect(),
            fx::DelayLayout::PerSynapse => return Err(cx.err_at(dpath, "a (out, in) delay matrix has no home in the IR (netx_delay holds a scalar, per-output or per-input delays)")),
        };
        if m.layout == fx::DelayLayout::PerOutput && rows == cols {
            cx.note(format!("{}/delay", l.path()), "delay length equals both the inputs and the outputs: read as per-output (axonal) delays, as netx does");
        }
        if rec_w.is_some() {
            cx.note(
                format!("{}/delay", l.path()),
                "netx builds both delayed synapses of a dense_rec layer without weight_exponent (Lava's default 0); the IR copies that",
            );
        }
    }
    let bias = layer_bias(cx, l, &[size], size)?;
    let nrn = match &l.neuron {
        Some(nr) => neuron(cx, l, nr, bias)?,
        None => {
            cx.note(
                here.clone(),
                "no neuron group: netx's default neuron (CUBA, iDecay 0, vDecay 4096, refDelay 1; vThMant 131072 because Python parses `1 << 18 - 1` as 1 << 17)",
            );
            neuron(cx, l, &fx::default_neuron(), bias)?
        }
    };
    cx.pops.push(ir::Population {
        name: name.clone(),
        size,
        shape: vec![size],
        model: Some(Model::NetxNeuron(nrn)),
        netx_layer: Some(layer_info(l)),
    });
    let to_f = |v: &[i64]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let delayed_rec_loihi = if !netx_delay.is_empty() && rec_w.is_some() { ir::LoihiWeights { weight_exp: 0, ..fwd_loihi } } else { fwd_loihi };
    let with_lava_mode = |l: ir::LoihiWeights, w: &[i64]| ir::LoihiWeights { sign_mode: lava_sign_mode(w) as i32, ..l };
    cx.projs.push(ir::Projection {
        name: name.clone(),
        pre: pre.name.clone(),
        post: name.clone(),
        receptor: ir::Receptor::Signed as i32,
        connectivity: Some(Connectivity::DenseMatrix(ir::DenseMatrix { rows: rows as u32, cols: cols as u32, weights: to_f(&fwd), weights_imag: to_f(&imag_w) })),
        netx_delay: netx_delay.clone(),
        loihi: Some(with_lava_mode(delayed_rec_loihi, &fwd)),
        loihi_imag: imag_loihi.map(|l| with_lava_mode(l, &imag_w)),
        ..Default::default()
    });
    if let Some(b) = rec_w {
        cx.projs.push(ir::Projection {
            name: format!("{name}.rec"),
            pre: name.clone(),
            post: name.clone(),
            receptor: ir::Receptor::Signed as i32,
            connectivity: Some(Connectivity::DenseMatrix(ir::DenseMatrix { rows: n as u32, cols: n as u32, weights: to_f(&b), weights_imag: vec![] })),
            loihi: Some(with_lava_mode(delayed_rec_loihi, &b)),
            netx_delay,
            ..Default::default()
        });
    }
    Ok(Prev { name, shape: vec![size], size })
}

fn xy(cx: &Cx<'_>, l: &NetxLayer, name: &str, v: &Option<spikeforge_formats::IntArray>, default: u32) -> Result<Vec<u32>, ImportError> {
    let path = format!("{}/{name}", l.path());
    let Some(a) = v else {
        return Err(cx.err_at(path, "missing dataset (netx reads it for every conv layer)"));
    };
    let pair = fx::netx_xy(a).map_err(|m| cx.err_at(path.clone(), m))?;
    // netx_xy gives (x, y); the IR keeps (y, x).
    let yx = [pair[1], pair[0]];
    let _ = default;
    yx.iter().map(|&v| u32::try_from(v).map_err(|_| cx.err_at(path.clone(), format!("{v} is negative")))).collect()
}

fn conv_layer(cx: &mut Cx<'_>, l: &NetxLayer, prev: Option<&Prev>) -> Result<Prev, ImportError> {
    let shape = shape_u32(cx, l)?;
    let size = size_of(cx, l, &shape)?;
    let prev = prev.ok_or_else(|| cx.err(l, "input shape could not be inferred: a conv layer needs an input layer or a layer before it (netx raises RuntimeError)"))?;
    let Some(Weight::Real(w)) = &l.weight else {
        return Err(cx.err_at(format!("{}/weight", l.path()), "missing real-valued dataset (a conv layer needs a kernel)"));
    };
    let wpath = format!("{}/weight", l.path());
    let kshape: Vec<u32> = match w.shape.as_slice() {
        [o, i, kh, kw] | [o, i, kh, kw, 1] => [*o, *i, *kh, *kw].iter().map(|&d| d as u32).collect(),
        other => return Err(cx.err_at(wpath, format!("conv weight of shape {other:?}; expected (out, in/groups, kH, kW) or (out, in/groups, kH, kW, 1)"))),
    };
    let weight: Vec<f64> = trunc(cx, wpath, w)?.into_iter().map(|x| x as f64).collect();
    let stride = xy(cx, l, "stride", &l.conv.stride, 1)?;
    let padding = xy(cx, l, "padding", &l.conv.padding, 0)?;
    let dilation = xy(cx, l, "dilation", &l.conv.dilation, 1)?;
    let groups = l.conv.groups.ok_or_else(|| cx.err_at(format!("{}/groups", l.path()), "missing dataset (netx reads it for every conv layer)"))?;
    let groups = u32::try_from(groups).ok().filter(|&g| g > 0).ok_or_else(|| cx.err_at(format!("{}/groups", l.path()), format!("{groups} is not a positive group count")))?;
    let in_shape = match prev.shape.as_slice() {
        [_, _, _] => prev.shape.clone(),
        [n] => vec![*n, 1, 1],
        other => return Err(cx.err(l, format!("previous layer shape {other:?}: a conv layer needs a (C, H, W) input"))),
    };
    let conv = ir::Convolution {
        in_channels: in_shape[0],
        out_channels: kshape[0],
        kernel_size: vec![kshape[2], kshape[3]],
        stride,
        padding,
        dilation,
        groups,
        weight,
        weight_shape: kshape,
    };
    for (f, v) in [("inChannels", l.conv.in_channels), ("outChannels", l.conv.out_channels)] {
        let want = if f == "inChannels" { conv.in_channels } else { conv.out_channels };
        if let Some(v) = v {
            if v != want as i64 {
                return Err(cx.err_at(format!("{}/{f}", l.path()), format!("{v}, but the kernel and input give {want}")));
            }
        }
    }
    if shape.len() != 3 {
        return Err(cx.err_at(format!("{}/shape", l.path()), format!("conv layer shape {shape:?}; expected (C, H, W)")));
    }
    // Lava's Conv checks the output shape; so do we (and the kernel, groups, channels).
    super::conv::conv_synapses(&ir::Convolution { weight: vec![0.0; conv.weight.len()], ..conv.clone() }, &in_shape, &shape)
        .map_err(|e| cx.err(l, format!("{e} (netx raises RuntimeError: the synapse output shape differs from the layer shape)")))?;
    let Some(nr) = &l.neuron else {
        return Err(cx.err_at(format!("{}/neuron", l.path()), "missing group (netx reads the neuron of every conv layer)"));
    };
    let bias = layer_bias(cx, l, &shape, size)?;
    let nrn = neuron(cx, l, nr, bias)?;
    let name = format!("layer{}", l.index);
    if l.delay.is_some() {
        cx.note(format!("{}/delay", l.path()), "conv delays are not read by netx: ignored");
    }
    cx.pops.push(ir::Population { name: name.clone(), size, shape: shape.clone(), model: Some(Model::NetxNeuron(nrn)), netx_layer: Some(layer_info(l)) });
    let mixed = ir::LoihiWeights { sign_mode: ir::SignMode::Mixed as i32, num_weight_bits: 8, weight_exp: 0 };
    cx.projs.push(ir::Projection {
        name: name.clone(),
        pre: prev.name.clone(),
        post: name.clone(),
        receptor: ir::Receptor::Signed as i32,
        connectivity: Some(Connectivity::Convolution(conv)),
        loihi: Some(mixed),
        ..Default::default()
    });
    Ok(Prev { name, shape, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimize_weight_bits_matches_netx_by_hand() {
        // Mixed, even weights up to 192: scale = min(127/192, 128/178) -> log2 < 0
        // -> floor -1, +1 signed = 0 scale bits; all even -> n = 1 - 1 = 0.
        let o = optimize_weight_bits(&[-178, 192, 2, 0]).unwrap();
        assert_eq!((o.num_weight_bits, o.weight_exp, o.sign_mode), (8, 0, SignMode::Mixed));
        assert_eq!(o.weights, vec![-178, 192, 2, 0]);
        // Excitatory, max 1: scale 255 -> 7 bits of scaling, n = 0 -> 1 weight bit.
        let o = optimize_weight_bits(&[0, 1, 1]).unwrap();
        assert_eq!((o.num_weight_bits, o.weight_exp, o.sign_mode), (1, -7, SignMode::Excitatory));
        assert_eq!(o.weights, vec![0, 128, 128]);
        // Inhibitory, min -128, all multiples of 64: scale 2 -> 1 bit; n = 6 -> 1 weight bit.
        let o = optimize_weight_bits(&[-64, -128, -64]).unwrap();
        assert_eq!((o.num_weight_bits, o.weight_exp, o.sign_mode), (8 - 1 - 6, -1, SignMode::Inhibitory));
        assert_eq!(o.weights, vec![-128, -256, -128]);
        // Mixed with clipping: max 300 > 254 and min < 0.
        let o = optimize_weight_bits(&[-10, 300]).unwrap();
        assert!(o.clipped);
        assert_eq!(o.weights, vec![-10, 254]);
        assert!(optimize_weight_bits(&[0, 0]).is_err());
        assert!(optimize_weight_bits(&[0, 600]).is_err());
    }
}
