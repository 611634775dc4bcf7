//! lava-dl netx `.net` files: a typed document model, its reader, and helpers
//! that reproduce netx's loading quirks (see `shared/reference/formats.md` §1).
//!
//! The model keeps every value exactly as stored (weights stay float32/float64
//! holding integers, neuron fields keep their stored kind). Nothing is quantised
//! or reordered here; the `quirks` functions below do what netx
//! (`lava/lib/dl/netx/hdf5.py`) does when it loads a file, for the importer to
//! apply.
//!
//! Layout read:
//! ```text
//! /layer/<i>/{type, shape, weight | weight/{real,imag}, weight_rec, bias, delay,
//!             inFeatures, outFeatures, inChannels, outChannels, kernelSize,
//!             stride, padding, dilation, groups, neuron/...}
//! /simulation/{Ts, tSample}      (optional)
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::array::{IntArray, NumArray, Scalar};
use crate::error::{ErrorKind, FormatError};
use crate::h5::{join, read_tree, Dataset, H5Source, PureH5File, Reader};

/// A whole netx network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetxNetwork {
    /// Layers in numeric key order (`/layer/0`, `/layer/1`, ..., `/layer/10`).
    pub layers: Vec<NetxLayer>,
    /// `/simulation`, if present (netx itself ignores it).
    pub simulation: Option<NetxSimulation>,
}

/// `/simulation/{Ts, tSample}`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetxSimulation {
    /// `Ts`: simulation time step.
    pub ts: Option<Scalar>,
    /// `tSample`: sample length in steps.
    pub t_sample: Option<Scalar>,
}

/// A layer's `type` string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LayerType {
    /// `input`
    Input,
    /// `dense`
    Dense,
    /// `dense_rec` (dense with `weight_rec` recurrent weights)
    DenseRec,
    /// `conv`
    Conv,
    /// `flatten`
    Flatten,
    /// `pool`
    Pool,
    /// `average`
    Average,
    /// `convT`
    ConvT,
    /// `unpool`
    Unpool,
    /// `concat`
    Concat,
    /// `dense_comp`
    DenseComp,
    /// Any other string, kept verbatim.
    Other(String),
}

/// Whether netx (`hdf5.Network`) can load a layer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetxSupport {
    /// netx builds a process for it (input, dense, dense_rec, conv) or handles it
    /// as a flag (flatten).
    Loaded,
    /// netx raises `NotImplementedError` (pool, average, convT, unpool, concat).
    NotImplemented,
    /// netx calls `create_complex_dense`, which does not exist (dense_comp).
    Broken,
    /// netx has no branch for the type and silently skips the layer.
    Skipped,
}

impl LayerType {
    /// Parses a stored `type` string.
    pub fn parse(s: &str) -> LayerType {
        match s {
            "input" => LayerType::Input,
            "dense" => LayerType::Dense,
            "dense_rec" => LayerType::DenseRec,
            "conv" => LayerType::Conv,
            "flatten" => LayerType::Flatten,
            "pool" => LayerType::Pool,
            "average" => LayerType::Average,
            "convT" => LayerType::ConvT,
            "unpool" => LayerType::Unpool,
            "concat" => LayerType::Concat,
            "dense_comp" => LayerType::DenseComp,
            other => LayerType::Other(other.to_string()),
        }
    }

    /// The stored string.
    pub fn as_str(&self) -> &str {
        match self {
            LayerType::Input => "input",
            LayerType::Dense => "dense",
            LayerType::DenseRec => "dense_rec",
            LayerType::Conv => "conv",
            LayerType::Flatten => "flatten",
            LayerType::Pool => "pool",
            LayerType::Average => "average",
            LayerType::ConvT => "convT",
            LayerType::Unpool => "unpool",
            LayerType::Concat => "concat",
            LayerType::DenseComp => "dense_comp",
            LayerType::Other(s) => s,
        }
    }

    /// What netx does with this layer type (formats.md §1.4).
    pub fn netx_support(&self) -> NetxSupport {
        match self {
            LayerType::Input
            | LayerType::Dense
            | LayerType::DenseRec
            | LayerType::Conv
            | LayerType::Flatten => NetxSupport::Loaded,
            LayerType::Pool
            | LayerType::Average
            | LayerType::ConvT
            | LayerType::Unpool
            | LayerType::Concat => NetxSupport::NotImplemented,
            LayerType::DenseComp => NetxSupport::Broken,
            LayerType::Other(_) => NetxSupport::Skipped,
        }
    }
}

impl fmt::Display for LayerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A layer's synaptic weights.
#[derive(Debug, Clone, PartialEq)]
pub enum Weight {
    /// `weight` dataset: dense (out, in); conv (out, in/groups, kH, kW[, 1]);
    /// input layer scalar or (1,).
    Real(NumArray),
    /// `weight/real` + `weight/imag` (complex / resonator synapses), same shape.
    Complex {
        /// `weight/real`
        real: NumArray,
        /// `weight/imag`
        imag: NumArray,
    },
}

/// Convolution / pooling parameters, as stored (each optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvParams {
    /// `inChannels`
    pub in_channels: Option<i64>,
    /// `outChannels`
    pub out_channels: Option<i64>,
    /// `kernelSize`, (kH, kW) or scalar
    pub kernel_size: Option<IntArray>,
    /// `stride`, (sH, sW) or scalar
    pub stride: Option<IntArray>,
    /// `padding`, (pH, pW) or scalar
    pub padding: Option<IntArray>,
    /// `dilation`, (dH, dW) or scalar
    pub dilation: Option<IntArray>,
    /// `groups`
    pub groups: Option<i64>,
}

/// One `/layer/<i>` group.
#[derive(Debug, Clone, PartialEq)]
pub struct NetxLayer {
    /// The numeric key `i`.
    pub index: usize,
    /// `type`.
    pub kind: LayerType,
    /// `shape` as stored: (C, H, W) or (N,) (legacy (N, 1, 1)). See
    /// [`NetxLayer::netx_shape`] for netx's reversed order.
    pub shape: Option<Vec<i64>>,
    /// `weight` or `weight/{real,imag}`.
    pub weight: Option<Weight>,
    /// `weight_rec` (dense_rec), (out, out).
    pub weight_rec: Option<NumArray>,
    /// `bias`: per neuron, or scalar / (1,) on the input layer.
    pub bias: Option<NumArray>,
    /// `delay`: scalar, per output neuron, or per input (see [`expand_delay`]).
    pub delay: Option<NumArray>,
    /// `inFeatures` (dense).
    pub in_features: Option<i64>,
    /// `outFeatures` (dense).
    pub out_features: Option<i64>,
    /// Conv / pool parameters.
    pub conv: ConvParams,
    /// The `neuron/` group, if present.
    pub neuron: Option<NetxNeuron>,
    /// Any other dataset in the layer group, keyed by its path relative to the
    /// layer (kept verbatim so nothing is lost silently).
    pub extra: BTreeMap<String, Dataset>,
}

/// A `neuron/type` string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NeuronType {
    /// `CUBA`
    Cuba,
    /// `LOIHI` (legacy SLAYER-PyTorch)
    Loihi,
    /// `SDNN` (sigma-delta)
    Sdnn,
    /// `RF_PHASE`
    RfPhase,
    /// `RF_IZHIKEVICH`
    RfIzhikevich,
    /// `ADRF_PHASE`
    AdrfPhase,
    /// `ADRF_IZHIKEVICH`
    AdrfIzhikevich,
    /// `ALIF`
    Alif,
    /// Any other string, kept verbatim.
    Other(String),
}

/// The Lava process netx builds for a neuron type (`Network.get_neuron_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetxNeuronModel {
    /// `LIF` (CUBA, LOIHI), mapped with [`lif_params`].
    Lif,
    /// `Delta` / `Sigma` / `SigmaDelta` (SDNN), see [`sdnn_role`].
    SigmaDelta,
    /// `RF` (any type containing `RF` and `PHASE`).
    Rf,
    /// `RF_IZ` (any other type containing `RF`).
    RfIz,
    /// netx has no branch: it returns no neuron parameters and the layer fails to
    /// build (ALIF and unknown types).
    None,
}

impl NeuronType {
    /// Parses a stored `neuron/type` string.
    pub fn parse(s: &str) -> NeuronType {
        match s {
            "CUBA" => NeuronType::Cuba,
            "LOIHI" => NeuronType::Loihi,
            "SDNN" => NeuronType::Sdnn,
            "RF_PHASE" => NeuronType::RfPhase,
            "RF_IZHIKEVICH" => NeuronType::RfIzhikevich,
            "ADRF_PHASE" => NeuronType::AdrfPhase,
            "ADRF_IZHIKEVICH" => NeuronType::AdrfIzhikevich,
            "ALIF" => NeuronType::Alif,
            other => NeuronType::Other(other.to_string()),
        }
    }

    /// The stored string.
    pub fn as_str(&self) -> &str {
        match self {
            NeuronType::Cuba => "CUBA",
            NeuronType::Loihi => "LOIHI",
            NeuronType::Sdnn => "SDNN",
            NeuronType::RfPhase => "RF_PHASE",
            NeuronType::RfIzhikevich => "RF_IZHIKEVICH",
            NeuronType::AdrfPhase => "ADRF_PHASE",
            NeuronType::AdrfIzhikevich => "ADRF_IZHIKEVICH",
            NeuronType::Alif => "ALIF",
            NeuronType::Other(s) => s,
        }
    }

    /// The process netx builds. Quirk: netx matches *any* type string containing
    /// `RF`, so `ADRF_*` load as plain RF / RF_IZ and their adaptation fields
    /// (thDecay, refDecay, vThStep) are ignored.
    pub fn netx_model(&self) -> NetxNeuronModel {
        let s = self.as_str();
        match self {
            NeuronType::Cuba | NeuronType::Loihi => NetxNeuronModel::Lif,
            NeuronType::Sdnn => NetxNeuronModel::SigmaDelta,
            _ if s.contains("RF") && s.contains("PHASE") => NetxNeuronModel::Rf,
            _ if s.contains("RF") => NetxNeuronModel::RfIz,
            _ => NetxNeuronModel::None,
        }
    }
}

impl fmt::Display for NeuronType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `neuron/` group. Every field of formats.md §1.2, under its netx name,
/// exactly as stored (integers stay integers, floats keep their precision).
#[derive(Debug, Clone, PartialEq)]
pub struct NetxNeuron {
    /// `type`
    pub kind: NeuronType,
    /// `iDecay`: 12-bit current decay (per-step fraction iDecay / 4096).
    pub i_decay: Option<Scalar>,
    /// `vDecay`: 12-bit voltage decay.
    pub v_decay: Option<Scalar>,
    /// `vThMant`: threshold mantissa (threshold x 64).
    pub v_th_mant: Option<Scalar>,
    /// `refDelay`: refractory delay.
    pub ref_delay: Option<Scalar>,
    /// `gradedSpike` (h5py bool).
    pub graded_spike: Option<bool>,
    /// `wgtExp` (LOIHI).
    pub wgt_exp: Option<Scalar>,
    /// `theta` (LOIHI).
    pub theta: Option<Scalar>,
    /// `tauRho` (LOIHI).
    pub tau_rho: Option<Scalar>,
    /// `scaleRho` (LOIHI).
    pub scale_rho: Option<Scalar>,
    /// `activation` (SDNN), e.g. `relu`.
    pub activation: Option<String>,
    /// `sigma_output` (SDNN, h5py bool). netx tests only its *presence*.
    pub sigma_output: Option<bool>,
    /// `sinDecay` (RF / ADRF).
    pub sin_decay: Option<Scalar>,
    /// `cosDecay` (RF / ADRF).
    pub cos_decay: Option<Scalar>,
    /// `thDecay` (ADRF / ALIF).
    pub th_decay: Option<Scalar>,
    /// `refDecay` (ADRF / ALIF).
    pub ref_decay: Option<Scalar>,
    /// `vThStep` (ADRF / ALIF).
    pub v_th_step: Option<Scalar>,
    /// `messageBits` (optional; see [`default_message_bits`]).
    pub message_bits: Option<Scalar>,
    /// `weight_exp` (optional).
    pub weight_exp: Option<Scalar>,
    /// Any other dataset in the group, keyed by relative path.
    pub extra: BTreeMap<String, Dataset>,
}

impl NetxNeuron {
    /// A neuron of `kind` with no fields set.
    pub fn empty(kind: NeuronType) -> Self {
        NetxNeuron {
            kind,
            i_decay: None,
            v_decay: None,
            v_th_mant: None,
            ref_delay: None,
            graded_spike: None,
            wgt_exp: None,
            theta: None,
            tau_rho: None,
            scale_rho: None,
            activation: None,
            sigma_output: None,
            sin_decay: None,
            cos_decay: None,
            th_decay: None,
            ref_decay: None,
            v_th_step: None,
            message_bits: None,
            weight_exp: None,
            extra: BTreeMap::new(),
        }
    }
}

impl NetxLayer {
    /// The layer's HDF5 path, `/layer/<i>`.
    pub fn path(&self) -> String {
        format!("/layer/{}", self.index)
    }

    /// The shape in netx's order: stored (C, H, W) reversed to (W, H, C) =
    /// (x, y, z) (quirk 2). `None` when the layer has no `shape`.
    pub fn netx_shape(&self) -> Option<Vec<i64>> {
        self.shape.as_deref().map(reverse_shape)
    }

    /// Number of neurons (product of `shape`), as netx's dense layers use it.
    pub fn num_neurons(&self) -> Option<i64> {
        self.shape.as_ref().map(|s| s.iter().product())
    }

    /// `None` if netx can load this layer; otherwise a message naming the layer
    /// and why, for the importer to report.
    pub fn unsupported(&self) -> Option<String> {
        let why = match self.kind.netx_support() {
            NetxSupport::Loaded => {
                if let Some(n) = &self.neuron {
                    if n.kind.netx_model() == NetxNeuronModel::None {
                        return Some(format!(
                            "{} (type {}): netx has no neuron model for neuron type `{}`",
                            self.path(),
                            self.kind,
                            n.kind
                        ));
                    }
                }
                return None;
            }
            NetxSupport::NotImplemented => "netx raises NotImplementedError for this layer type",
            NetxSupport::Broken => "netx calls create_complex_dense, which does not exist",
            NetxSupport::Skipped => "netx does not know this layer type and silently skips it",
        };
        Some(format!("{} (type {}): {why}", self.path(), self.kind))
    }

    /// The neuron netx uses for this layer: the stored `neuron/` group, or for a
    /// dense / dense_rec layer without one, netx's default neuron
    /// ([`default_neuron`]). Other layer types without a group get `None`.
    pub fn effective_neuron(&self) -> Option<NetxNeuron> {
        match (&self.neuron, &self.kind) {
            (Some(n), _) => Some(n.clone()),
            (None, LayerType::Dense | LayerType::DenseRec) => Some(default_neuron()),
            _ => None,
        }
    }
}

impl NetxNetwork {
    /// Messages for every layer netx could not load (see
    /// [`NetxLayer::unsupported`]).
    pub fn unsupported_layers(&self) -> Vec<String> {
        self.layers
            .iter()
            .filter_map(NetxLayer::unsupported)
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Reading

/// Reads a netx `.net` file.
pub fn read_netx(path: impl AsRef<Path>) -> Result<NetxNetwork, FormatError> {
    let f = PureH5File::open(path)?;
    read_netx_from(&f)
}

/// Reads a netx network from an in-memory file; `name` appears in errors.
pub fn read_netx_bytes(name: &str, bytes: Vec<u8>) -> Result<NetxNetwork, FormatError> {
    let f = PureH5File::from_bytes(name, bytes)?;
    read_netx_from(&f)
}

/// Reads a netx network from any [`H5Source`].
pub fn read_netx_from(src: &dyn H5Source) -> Result<NetxNetwork, FormatError> {
    let r = Reader::new(src);
    let root = r.members("/")?;
    if !root.has_group("layer") {
        let why = if root.contains("layer") {
            "`/layer` is not a group: not a lava-dl netx file".to_string()
        } else if root.has_group("node") || root.has_dataset("version") {
            "no `/layer` group: this looks like a NIR file, not a lava-dl netx file".to_string()
        } else {
            "no `/layer` group: not a lava-dl netx file".to_string()
        };
        return Err(r.err("/layer", ErrorKind::Invalid(why)));
    }
    let lm = r.members("/layer")?;
    if !lm.datasets.is_empty() {
        return Err(r.err(
            &join("/layer", &lm.datasets[0]),
            ErrorKind::WrongObject {
                expected: "group",
                found: "dataset",
            },
        ));
    }
    let keys = sort_layer_keys(&lm.groups).map_err(|m| r.err("/layer", ErrorKind::Invalid(m)))?;
    let mut layers = Vec::with_capacity(keys.len());
    for (index, key) in keys {
        layers.push(read_layer(&r, index, &join("/layer", &key))?);
    }
    let simulation = if root.has_group("simulation") {
        let m = r.members("/simulation")?;
        Some(NetxSimulation {
            ts: opt(&m, "Ts", |n| r.scalar(&join("/simulation", n)))?,
            t_sample: opt(&m, "tSample", |n| r.scalar(&join("/simulation", n)))?,
        })
    } else {
        None
    };
    Ok(NetxNetwork { layers, simulation })
}

fn opt<T>(
    m: &crate::h5::Members,
    name: &str,
    f: impl FnOnce(&str) -> Result<T, FormatError>,
) -> Result<Option<T>, FormatError> {
    if m.has_dataset(name) {
        f(name).map(Some)
    } else {
        Ok(None)
    }
}

const LAYER_FIELDS: &[&str] = &[
    "type",
    "shape",
    "weight",
    "weight_rec",
    "bias",
    "delay",
    "inFeatures",
    "outFeatures",
    "inChannels",
    "outChannels",
    "kernelSize",
    "stride",
    "padding",
    "dilation",
    "groups",
];

fn read_layer(r: &Reader<'_>, index: usize, path: &str) -> Result<NetxLayer, FormatError> {
    let m = r.members(path)?;
    let p = |n: &str| join(path, n);
    if !m.has_dataset("type") {
        let kind = if m.has_group("type") {
            ErrorKind::WrongObject {
                expected: "dataset",
                found: "group",
            }
        } else {
            ErrorKind::Missing("dataset")
        };
        return Err(r.err(&p("type"), kind));
    }
    let kind = LayerType::parse(&r.string1(&p("type"))?);
    let shape = opt(&m, "shape", |n| r.ints(&p(n)))?.map(|a| a.values);
    let weight = if m.has_dataset("weight") {
        Some(Weight::Real(r.float(&p("weight"))?))
    } else if m.has_group("weight") {
        let wp = p("weight");
        let wm = r.members(&wp)?;
        for part in ["real", "imag"] {
            if !wm.has_dataset(part) {
                return Err(r.err(&join(&wp, part), ErrorKind::Missing("dataset")));
            }
        }
        let real = r.float(&join(&wp, "real"))?;
        let imag = r.float(&join(&wp, "imag"))?;
        if real.shape != imag.shape {
            return Err(r.err(
                &join(&wp, "imag"),
                ErrorKind::WrongShape {
                    expected: format!("{:?} (the shape of weight/real)", real.shape),
                    found: imag.shape,
                },
            ));
        }
        Some(Weight::Complex { real, imag })
    } else {
        None
    };
    let weight_rec = opt(&m, "weight_rec", |n| r.float(&p(n)))?;
    let bias = opt(&m, "bias", |n| r.num(&p(n)))?;
    let delay = opt(&m, "delay", |n| r.num(&p(n)))?;
    let in_features = opt(&m, "inFeatures", |n| r.int1(&p(n)))?;
    let out_features = opt(&m, "outFeatures", |n| r.int1(&p(n)))?;
    let conv = ConvParams {
        in_channels: opt(&m, "inChannels", |n| r.int1(&p(n)))?,
        out_channels: opt(&m, "outChannels", |n| r.int1(&p(n)))?,
        kernel_size: opt(&m, "kernelSize", |n| r.ints(&p(n)))?,
        stride: opt(&m, "stride", |n| r.ints(&p(n)))?,
        padding: opt(&m, "padding", |n| r.ints(&p(n)))?,
        dilation: opt(&m, "dilation", |n| r.ints(&p(n)))?,
        groups: opt(&m, "groups", |n| r.int1(&p(n)))?,
    };
    let neuron = if m.has_group("neuron") {
        Some(read_neuron(r, &p("neuron"))?)
    } else if m.has_dataset("neuron") {
        return Err(r.err(
            &p("neuron"),
            ErrorKind::WrongObject {
                expected: "group",
                found: "dataset",
            },
        ));
    } else {
        None
    };
    let mut extra = BTreeMap::new();
    for d in &m.datasets {
        if !LAYER_FIELDS.contains(&d.as_str()) {
            extra.insert(d.clone(), r.dataset(&p(d))?);
        }
    }
    for g in &m.groups {
        if g != "neuron" && g != "weight" {
            for (k, v) in read_tree(r.src, &p(g))? {
                extra.insert(format!("{g}/{k}"), v);
            }
        }
    }
    Ok(NetxLayer {
        index,
        kind,
        shape,
        weight,
        weight_rec,
        bias,
        delay,
        in_features,
        out_features,
        conv,
        neuron,
        extra,
    })
}

fn read_neuron(r: &Reader<'_>, path: &str) -> Result<NetxNeuron, FormatError> {
    let m = r.members(path)?;
    let p = |n: &str| join(path, n);
    if !m.has_dataset("type") {
        return Err(r.err(&p("type"), ErrorKind::Missing("dataset")));
    }
    let mut n = NetxNeuron::empty(NeuronType::parse(&r.string1(&p("type"))?));
    for d in &m.datasets {
        let dp = p(d);
        let slot = match d.as_str() {
            "type" => continue,
            "gradedSpike" => {
                n.graded_spike = Some(r.bool1(&dp)?);
                continue;
            }
            "sigma_output" => {
                n.sigma_output = Some(r.bool1(&dp)?);
                continue;
            }
            "activation" => {
                n.activation = Some(r.string1(&dp)?);
                continue;
            }
            "iDecay" => &mut n.i_decay,
            "vDecay" => &mut n.v_decay,
            "vThMant" => &mut n.v_th_mant,
            "refDelay" => &mut n.ref_delay,
            "wgtExp" => &mut n.wgt_exp,
            "theta" => &mut n.theta,
            "tauRho" => &mut n.tau_rho,
            "scaleRho" => &mut n.scale_rho,
            "sinDecay" => &mut n.sin_decay,
            "cosDecay" => &mut n.cos_decay,
            "thDecay" => &mut n.th_decay,
            "refDecay" => &mut n.ref_decay,
            "vThStep" => &mut n.v_th_step,
            "messageBits" => &mut n.message_bits,
            "weight_exp" => &mut n.weight_exp,
            _ => {
                n.extra.insert(d.clone(), r.dataset(&dp)?);
                continue;
            }
        };
        *slot = Some(r.scalar(&dp)?);
    }
    for g in &m.groups {
        for (k, v) in read_tree(r.src, &p(g))? {
            n.extra.insert(format!("{g}/{k}"), v);
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// netx quirks, for the importer

/// Quirk 1: h5py lists layer keys as strings ("10" before "2"); netx walks
/// `range(len(layers))` and looks each index up as `str(i)`. Returns the keys
/// with their numeric index, in numeric order. Keys must be exactly `"0"` ..
/// `"n-1"` in canonical decimal form (no sign, no leading zeros), or netx would
/// fail to find a layer.
pub fn sort_layer_keys(keys: &[String]) -> Result<Vec<(usize, String)>, String> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let canonical = !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_digit())
            && (k == "0" || !k.starts_with('0'));
        let i = if canonical {
            k.parse::<usize>().ok()
        } else {
            None
        };
        match i {
            Some(i) => out.push((i, k.clone())),
            None => return Err(format!("layer key `{k}` is not a layer number")),
        }
    }
    out.sort();
    for (expected, (i, _)) in out.iter().enumerate() {
        if *i != expected {
            return Err(format!(
                "layer keys must be 0..{} without gaps; layer {expected} is missing",
                out.len() - 1
            ));
        }
    }
    Ok(out)
}

/// Quirk 2: netx reverses every stored shape, (C, H, W) -> (W, H, C) = (x, y, z).
pub fn reverse_shape(shape: &[i64]) -> Vec<i64> {
    shape.iter().rev().copied().collect()
}

/// Quirk 3: netx's conv kernel transform. The stored weight has shape
/// (out, in/groups, kH, kW) or (out, in/groups, kH, kW, 1) (SLAYER's trailing
/// time dimension). netx flips both spatial axes (`[:, :, ::-1, ::-1]`), drops
/// the time axis and transposes to (out, kW, kH, in/groups):
/// `result[o][x][y][i] = stored[o][i][kH-1-y][kW-1-x]`.
///
/// Returns the new shape `[out, kW, kH, in]` and the values in that row-major
/// order.
pub fn netx_conv_kernel<T: Copy>(
    shape: &[usize],
    data: &[T],
) -> Result<(Vec<usize>, Vec<T>), String> {
    let (o, i, kh, kw) = match shape {
        [o, i, kh, kw] | [o, i, kh, kw, 1] => (*o, *i, *kh, *kw),
        _ => {
            return Err(format!(
                "conv weight must have shape (out, in, kH, kW) or (out, in, kH, kW, 1), found {shape:?}"
            ))
        }
    };
    if o * i * kh * kw != data.len() {
        return Err(format!(
            "conv weight of shape {shape:?} has {} values",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(data.len());
    for oo in 0..o {
        for x in 0..kw {
            for y in 0..kh {
                for ii in 0..i {
                    let src = ((oo * i + ii) * kh + (kh - 1 - y)) * kw + (kw - 1 - x);
                    out.push(data[src]);
                }
            }
        }
    }
    Ok((vec![o, kw, kh, i], out))
}

/// Conv `stride` / `padding` / `dilation` as netx uses them (its `expand`): a
/// scalar becomes `[v, v]`, a stored (H, W) pair is reversed to `[W, H]` (x, y).
/// A one-element array is treated like a scalar (netx would pass it on and
/// numpy broadcasting repeats it).
pub fn netx_xy(param: &IntArray) -> Result<[i64; 2], String> {
    match param.values.as_slice() {
        [v] => Ok([*v, *v]),
        [h, w] => Ok([*w, *h]),
        other => Err(format!(
            "expected a scalar or a pair, found {} values",
            other.len()
        )),
    }
}

/// netx's largest axonal delay; larger delays make it clip.
pub const NETX_MAX_DELAY: f64 = 62.0;

/// Delay clip rule: if `max(delay) > 62`, netx warns and clips *every* delay to
/// `[0, 62]`; otherwise it leaves the values untouched (negative values included).
/// Returns the values and whether clipping happened.
pub fn clip_delays(delay: &[f64]) -> (Vec<f64>, bool) {
    let max = delay.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max > NETX_MAX_DELAY {
        (
            delay.iter().map(|d| d.clamp(0.0, NETX_MAX_DELAY)).collect(),
            true,
        )
    } else {
        (delay.to_vec(), false)
    }
}

/// How a dense layer's `delay` dataset is laid out, by netx's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayLayout {
    /// One value for every synapse (scalar or shape (1,) when neither dimension
    /// of the weight is 1).
    Shared,
    /// One value per output neuron (axonal delay), length `out`. Checked first,
    /// so it wins when `out == in`.
    PerOutput,
    /// One value per input, length `in`.
    PerInput,
    /// Already (out, in).
    PerSynapse,
}

/// A dense layer's delays expanded to one per synapse, (out, in) row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct DelayMatrix {
    /// Which layout the stored dataset had.
    pub layout: DelayLayout,
    /// `out * in` delays (after clipping).
    pub values: Vec<f64>,
    /// True if netx's clip rule fired ([`clip_delays`]).
    pub clipped: bool,
}

/// Expands a dense layer's stored `delay` to (out, in) the way netx does: clip
/// first ([`clip_delays`]), then a scalar applies to every synapse, a 1-D array
/// of length `out` is per output neuron, of length `in` per input; any other
/// 1-D length is an error (netx raises `RuntimeError`).
pub fn expand_delay(delay: &NumArray, out: usize, inp: usize) -> Result<DelayMatrix, String> {
    let (values, clipped) = clip_delays(&delay.to_f64());
    let n = out
        .checked_mul(inp)
        .ok_or_else(|| format!("weight shape ({out}, {inp}) is too large"))?;
    let (layout, full) = match delay.shape.as_slice() {
        [] => (DelayLayout::Shared, vec![values[0]; n]),
        [len] if *len == out => {
            let v = (0..n).map(|k| values[k / inp.max(1)]).collect();
            (DelayLayout::PerOutput, v)
        }
        [len] if *len == inp => {
            let v = (0..n).map(|k| values[k % inp.max(1)]).collect();
            (DelayLayout::PerInput, v)
        }
        [1] => (DelayLayout::Shared, vec![values[0]; n]),
        [o, i] if *o == out && *i == inp => (DelayLayout::PerSynapse, values),
        other => {
            return Err(format!(
                "delay of shape {other:?} is incompatible with weight of shape ({out}, {inp})"
            ))
        }
    };
    Ok(DelayMatrix {
        layout,
        values: full,
        clipped,
    })
}

/// Quirk 7: the threshold netx gives its default neuron is written
/// `1 << 18 - 1`, which Python parses as `1 << (18 - 1)` = 131072.
pub const NETX_DEFAULT_VTH_MANT: i64 = 1 << (18 - 1);

/// The neuron netx uses for a dense layer without a `neuron/` group: a
/// non-leaky CUBA integrator (iDecay 0, vDecay 4096, vThMant 131072 (quirk 7),
/// refDelay 1, gradedSpike false).
pub fn default_neuron() -> NetxNeuron {
    let mut n = NetxNeuron::empty(NeuronType::Cuba);
    n.i_decay = Some(Scalar::Int(0));
    n.v_decay = Some(Scalar::Int(4096));
    n.v_th_mant = Some(Scalar::Int(NETX_DEFAULT_VTH_MANT));
    n.ref_delay = Some(Scalar::Int(1));
    n.graded_spike = Some(false);
    n
}

/// netx's default `messageBits` when the neuron group has none: 16 for SDNN,
/// 0 otherwise (CUBA, LOIHI, RF).
pub fn default_message_bits(kind: &NeuronType) -> i64 {
    match kind.netx_model() {
        NetxNeuronModel::SigmaDelta => 16,
        _ => 0,
    }
}

/// The Lava LIF parameters netx derives from a CUBA / LOIHI neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifParams {
    /// `du = iDecay - 1` (quirk 4; Lava's bit-accurate LIF adds the 1 back).
    pub du: i64,
    /// `dv = vDecay`.
    pub dv: i64,
    /// `vth = vThMant`.
    pub vth: i64,
    /// Always 6: `bias_mant = bias`, `bias_exp = 6`.
    pub bias_exp: i64,
    /// `messageBits`, or 0.
    pub num_message_bits: i64,
}

/// Maps a CUBA / LOIHI neuron to Lava LIF parameters as netx does.
pub fn lif_params(n: &NetxNeuron) -> Result<LifParams, String> {
    if n.kind.netx_model() != NetxNeuronModel::Lif {
        return Err(format!("neuron type {} is not a LIF type", n.kind));
    }
    let int = |v: Option<Scalar>, name: &str| -> Result<i64, String> {
        let v = v.ok_or_else(|| format!("neuron has no {name}"))?;
        v.as_i64()
            .ok_or_else(|| format!("{name} = {v} is not an integer"))
    };
    Ok(LifParams {
        du: int(n.i_decay, "iDecay")? - 1,
        dv: int(n.v_decay, "vDecay")?,
        vth: int(n.v_th_mant, "vThMant")?,
        bias_exp: 6,
        num_message_bits: match n.message_bits {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| format!("messageBits = {v} is not an integer"))?,
            None => default_message_bits(&n.kind),
        },
    })
}

/// The sigma-delta process netx picks for an SDNN layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdnnRole {
    /// Input layer: `Delta`.
    Delta,
    /// `sigma_output` present (whatever its value: netx tests presence): `Sigma`.
    Sigma,
    /// Otherwise: `SigmaDelta`.
    SigmaDelta,
}

/// Which SDNN process netx builds for `n` on an input or non-input layer.
pub fn sdnn_role(n: &NetxNeuron, is_input: bool) -> SdnnRole {
    if is_input {
        SdnnRole::Delta
    } else if n.sigma_output.is_some() {
        SdnnRole::Sigma
    } else {
        SdnnRole::SigmaDelta
    }
}

/// The input layer's affine transform as netx reads it: `int(weight)` (default
/// 64) and `int(bias)` (default 0), each from a scalar or one-element dataset;
/// `int()` truncates toward zero.
pub fn input_transform(layer: &NetxLayer) -> Result<(i64, i64), String> {
    let one = |a: &NumArray, name: &str| -> Result<i64, String> {
        if a.len() != 1 {
            return Err(format!(
                "input layer {name} must hold one value, found shape {:?}",
                a.shape
            ));
        }
        a.to_i64_trunc()
            .map(|v| v[0])
            .map_err(|e| format!("input layer {name}: {e}"))
    };
    let weight = match &layer.weight {
        None => 64,
        Some(Weight::Real(w)) => one(w, "weight")?,
        Some(Weight::Complex { .. }) => return Err("input layer weight cannot be complex".into()),
    };
    let bias = match &layer.bias {
        None => 0,
        Some(b) => one(b, "bias")?,
    };
    Ok((weight, bias))
}

/// After a `flatten` layer, netx feeds the next dense layer with the previous
/// layer's output transposed `[2, 1, 0]` and flattened. The previous layer's
/// neurons live in netx order (W, H, C); the transpose makes (C, H, W), so dense
/// input `j` is the neuron at `(c, h, w)` with `j = (c * H + h) * W + w`.
///
/// Given the previous layer's *stored* shape (C, H, W), returns for each dense
/// input `j` the row-major index of its source neuron in netx's (W, H, C) order,
/// `(w * H + h) * C + c`.
pub fn flatten_sources(stored_chw: &[usize]) -> Result<Vec<usize>, String> {
    let (c, h, w) = match stored_chw {
        [c, h, w] => (*c, *h, *w),
        other => {
            return Err(format!(
                "flatten expects a (C, H, W) shape, found {other:?}"
            ))
        }
    };
    let mut out = Vec::with_capacity(c * h * w);
    for cc in 0..c {
        for hh in 0..h {
            for ww in 0..w {
                out.push((ww * h + hh) * c + cc);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn layer_keys_sort_numerically() {
        let k = keys(&["0", "1", "10", "11", "2", "3", "4", "5", "6", "7", "8", "9"]);
        let sorted = sort_layer_keys(&k).unwrap();
        let idx: Vec<usize> = sorted.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, (0..12).collect::<Vec<_>>());
        assert_eq!(sorted[10].1, "10");
        assert_eq!(sorted[2].1, "2");
    }

    #[test]
    fn layer_keys_must_be_contiguous_numbers() {
        assert!(sort_layer_keys(&keys(&["0", "2"]))
            .unwrap_err()
            .contains("layer 1 is missing"));
        assert!(sort_layer_keys(&keys(&["0", "x"])).is_err());
        assert!(sort_layer_keys(&keys(&["00"])).is_err());
        assert!(sort_layer_keys(&keys(&["+1", "0"])).is_err());
        assert_eq!(sort_layer_keys(&[]).unwrap(), vec![]);
    }

    #[test]
    fn shape_reversal() {
        assert_eq!(reverse_shape(&[3, 16, 16]), vec![16, 16, 3]);
        assert_eq!(reverse_shape(&[24, 6, 5]), vec![5, 6, 24]);
        assert_eq!(reverse_shape(&[128]), vec![128]);
    }

    #[test]
    fn conv_kernel_flip_and_transpose() {
        // out 2, in 3, kH 2, kW 4, trailing time dim 1; value encodes indices.
        let (o, i, kh, kw) = (2usize, 3usize, 2usize, 4usize);
        let mut data = Vec::new();
        for a in 0..o {
            for b in 0..i {
                for y in 0..kh {
                    for x in 0..kw {
                        data.push(a * 1000 + b * 100 + y * 10 + x);
                    }
                }
            }
        }
        let (shape, out) = netx_conv_kernel(&[o, i, kh, kw, 1], &data).unwrap();
        assert_eq!(shape, vec![2, 4, 2, 3]);
        // result[o][x][y][i] = stored[o][i][kH-1-y][kW-1-x]
        let at = |a: usize, x: usize, y: usize, b: usize| out[((a * kw + x) * kh + y) * i + b];
        assert_eq!(at(0, 0, 0, 0), 13); // stored[0][0][1][3]
        assert_eq!(at(1, 3, 1, 2), 1200); // stored[1][2][0][0]
        assert_eq!(at(1, 1, 0, 1), 1112); // stored[1][1][1][2]
                                          // 4-D input gives the same result
        assert_eq!(netx_conv_kernel(&[o, i, kh, kw], &data).unwrap().1, out);
        assert!(netx_conv_kernel(&[o, i, kh], &data).is_err());
        assert!(netx_conv_kernel(&[o, i, kh, kw, 2], &data).is_err());
    }

    #[test]
    fn xy_expansion() {
        let a = |shape: Vec<usize>, values: Vec<i64>| IntArray { shape, values };
        assert_eq!(netx_xy(&a(vec![], vec![2])).unwrap(), [2, 2]);
        assert_eq!(netx_xy(&a(vec![2], vec![1, 3])).unwrap(), [3, 1]);
        assert!(netx_xy(&a(vec![3], vec![1, 2, 3])).is_err());
    }

    #[test]
    fn delay_clip_rule() {
        assert_eq!(
            clip_delays(&[-1.0, 5.0, 62.0]),
            (vec![-1.0, 5.0, 62.0], false)
        );
        assert_eq!(
            clip_delays(&[-1.0, 5.0, 63.0]),
            (vec![0.0, 5.0, 62.0], true)
        );
    }

    #[test]
    fn delay_expansion() {
        let d = NumArray::f32(vec![2], vec![1.0, 2.0]).unwrap();
        let m = expand_delay(&d, 2, 3).unwrap();
        assert_eq!(m.layout, DelayLayout::PerOutput);
        assert_eq!(m.values, vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        let m = expand_delay(&d, 3, 2).unwrap();
        assert_eq!(m.layout, DelayLayout::PerInput);
        assert_eq!(m.values, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        // out == in: axonal wins, as in netx
        assert_eq!(
            expand_delay(&d, 2, 2).unwrap().layout,
            DelayLayout::PerOutput
        );
        let s = NumArray::f64(vec![], vec![70.0]).unwrap();
        let m = expand_delay(&s, 2, 2).unwrap();
        assert_eq!(
            (m.layout, m.values, m.clipped),
            (DelayLayout::Shared, vec![62.0; 4], true)
        );
        assert!(expand_delay(&NumArray::f32(vec![4], vec![0.0; 4]).unwrap(), 2, 3).is_err());
    }

    #[test]
    fn default_neuron_has_the_precedence_quirk() {
        assert_eq!(NETX_DEFAULT_VTH_MANT, 131072);
        let n = default_neuron();
        assert_eq!(n.kind, NeuronType::Cuba);
        assert_eq!(n.v_th_mant, Some(Scalar::Int(131072)));
        assert_eq!(n.i_decay, Some(Scalar::Int(0)));
        assert_eq!(n.v_decay, Some(Scalar::Int(4096)));
        assert_eq!(n.ref_delay, Some(Scalar::Int(1)));
        assert_eq!(n.graded_spike, Some(false));
        let p = lif_params(&n).unwrap();
        assert_eq!(
            (p.du, p.dv, p.vth, p.bias_exp, p.num_message_bits),
            (-1, 4096, 131072, 6, 0)
        );
    }

    #[test]
    fn effective_neuron_only_defaults_dense_layers() {
        let mut l = NetxLayer {
            index: 0,
            kind: LayerType::Dense,
            shape: Some(vec![4]),
            weight: None,
            weight_rec: None,
            bias: None,
            delay: None,
            in_features: None,
            out_features: None,
            conv: ConvParams::default(),
            neuron: None,
            extra: BTreeMap::new(),
        };
        assert_eq!(l.effective_neuron(), Some(default_neuron()));
        l.kind = LayerType::Conv;
        assert_eq!(l.effective_neuron(), None);
        l.kind = LayerType::Pool;
        assert_eq!(
            l.unsupported().unwrap(),
            "/layer/0 (type pool): netx raises NotImplementedError for this layer type"
        );
        l.kind = LayerType::Dense;
        l.neuron = Some(NetxNeuron::empty(NeuronType::Alif));
        assert!(l
            .unsupported()
            .unwrap()
            .contains("no neuron model for neuron type `ALIF`"));
    }

    #[test]
    fn neuron_models_and_message_bits() {
        assert_eq!(
            NeuronType::parse("ADRF_PHASE").netx_model(),
            NetxNeuronModel::Rf
        );
        assert_eq!(
            NeuronType::parse("ADRF_IZHIKEVICH").netx_model(),
            NetxNeuronModel::RfIz
        );
        assert_eq!(
            NeuronType::parse("RF_PHASE").netx_model(),
            NetxNeuronModel::Rf
        );
        assert_eq!(
            NeuronType::parse("ALIF").netx_model(),
            NetxNeuronModel::None
        );
        assert_eq!(
            NeuronType::parse("LOIHI").netx_model(),
            NetxNeuronModel::Lif
        );
        assert_eq!(default_message_bits(&NeuronType::Sdnn), 16);
        assert_eq!(default_message_bits(&NeuronType::Cuba), 0);
        let mut n = NetxNeuron::empty(NeuronType::Sdnn);
        assert_eq!(sdnn_role(&n, true), SdnnRole::Delta);
        assert_eq!(sdnn_role(&n, false), SdnnRole::SigmaDelta);
        n.sigma_output = Some(false); // presence is what counts
        assert_eq!(sdnn_role(&n, false), SdnnRole::Sigma);
    }

    #[test]
    fn flatten_sources_follow_transpose_210() {
        // C=2, H=1, W=3: dense input j = c*3 + w; source in (W,H,C) order = w*2 + c
        assert_eq!(flatten_sources(&[2, 1, 3]).unwrap(), vec![0, 2, 4, 1, 3, 5]);
        assert!(flatten_sources(&[6]).is_err());
    }

    #[test]
    fn layer_type_round_trip() {
        for s in [
            "input",
            "dense",
            "dense_rec",
            "conv",
            "flatten",
            "pool",
            "average",
            "convT",
            "unpool",
            "concat",
            "dense_comp",
            "weird",
        ] {
            assert_eq!(LayerType::parse(s).as_str(), s);
        }
        assert_eq!(
            LayerType::parse("weird").netx_support(),
            NetxSupport::Skipped
        );
        assert_eq!(
            LayerType::parse("dense_comp").netx_support(),
            NetxSupport::Broken
        );
    }
}
