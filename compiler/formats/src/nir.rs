//! NIR (Neuromorphic Intermediate Representation) `.nir` files: a typed
//! document model and its reader, following the layout of `nir` 1.0.8
//! (`nir/serialization.py`, see `shared/reference/formats.md` §2).
//!
//! ```text
//! /version                    scalar string ("0.1.1", "0.2.0", "1.0.8", ...)
//! /node/type                  "NIRGraph"
//! /node/edges                 (E, 2) strings: [[src, dst], ...]
//! /node/metadata/...          optional
//! /node/nodes/<name>/type     node class name
//! /node/nodes/<name>/<field>  one dataset per field; NIRGraph nodes nest
//! ```
//!
//! Every array keeps its stored datatype and shape ([`NumArray`]). Fields that
//! nir 1.0.8 treats as optional (it fills in a default when they are missing)
//! are `Option`s here and stay `None` when absent: nothing is invented. The
//! defaults nir would use are documented on each field.
//!
//! Node kinds: everything `nir` 1.0.8 can read. nir 1.0.8 has no `Integrator`
//! node (its integrator is `I`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::array::NumArray;
use crate::error::{ErrorKind, FormatError};
use crate::h5::{join, Data, Dataset, H5Source, PureH5File, Reader, MAX_DEPTH};

/// A whole `.nir` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NirDocument {
    /// `/version`, if the file has one (the writer of the file's nir version,
    /// e.g. `0.2.0`; the layout has not changed since).
    pub version: Option<String>,
    /// The graph at `/node`.
    pub graph: NirGraph,
}

/// A `NIRGraph` (the root, or a nested subgraph node).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NirGraph {
    /// Nodes by name, in byte order of the names (HDF5's and h5py's order).
    /// Names may contain dots (`lif1.lif`).
    pub nodes: BTreeMap<String, NirNode>,
    /// Edges `(source, destination)` in stored order. Edges are identity
    /// connections; several edges into one node are summed.
    pub edges: Vec<(String, String)>,
    /// The graph's `metadata` group (empty when absent).
    pub metadata: Metadata,
}

/// A node's or graph's `metadata` group: datasets and nested groups.
pub type Metadata = BTreeMap<String, MetaValue>;

/// One `metadata` entry.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// A dataset, as stored.
    Data(Dataset),
    /// A nested group.
    Group(BTreeMap<String, MetaValue>),
}

/// One node: its operation and its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NirNode {
    /// What the node computes, with its parameters.
    pub op: NirOp,
    /// The node's `metadata` group (empty when absent).
    pub metadata: Metadata,
}

/// Convolution parameters (`Conv1d`, `Conv2d`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// `input_shape`: spatial input shape, (N,) or (H, W) (written as a scalar
    /// for Conv1d by some producers). Optional in nir.
    pub input_shape: Option<NumArray>,
    /// `weight`: (C_out, C_in / groups, k...) .
    pub weight: NumArray,
    /// `stride`: scalar (Conv1d) or (sH, sW).
    pub stride: NumArray,
    /// `padding`: numbers, or the string `same` / `valid`.
    pub padding: Padding,
    /// `dilation`.
    pub dilation: NumArray,
    /// `groups` (scalar).
    pub groups: NumArray,
    /// `bias`: (C_out,).
    pub bias: NumArray,
}

/// A conv `padding`.
#[derive(Debug, Clone, PartialEq)]
pub enum Padding {
    /// Explicit padding, scalar or per spatial dimension.
    Values(NumArray),
    /// `same` or `valid`.
    Named(String),
}

/// Pooling parameters (`SumPool2d`, `AvgPool2d`), each (H, W).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// `kernel_size`
    pub kernel_size: NumArray,
    /// `stride`
    pub stride: NumArray,
    /// `padding`
    pub padding: NumArray,
}

/// A node's operation. Field names are nir's; continuous-time semantics
/// (formats.md §2.1): LI/LIF `tau·dv/dt = (v_leak − v) + r·I`; CubaLI/CubaLIF add
/// `tau_syn·dI/dt = −I + w_in·S`; I/IF `dv/dt = r·I`; LIF/CubaLIF/IF spike when
/// `v > v_threshold` and reset to `v_reset`. Time constants are in seconds.
#[derive(Debug, Clone, PartialEq)]
pub enum NirOp {
    /// `Input`: `shape` dataset (nir's `input_type`).
    Input {
        /// `shape`
        shape: NumArray,
    },
    /// `Output`: `shape` dataset (nir's `output_type`).
    Output {
        /// `shape`
        shape: NumArray,
    },
    /// `Affine`: `y = W x + b`.
    Affine {
        /// `weight` (out, in)
        weight: NumArray,
        /// `bias` (out,)
        bias: NumArray,
    },
    /// `Linear`: `y = W x`.
    Linear {
        /// `weight` (out, in)
        weight: NumArray,
    },
    /// `Conv1d`
    Conv1d(Conv),
    /// `Conv2d`
    Conv2d(Conv),
    /// `SumPool2d`
    SumPool2d(Pool),
    /// `AvgPool2d`
    AvgPool2d(Pool),
    /// `Flatten`
    Flatten {
        /// `input_type`: the input shape, e.g. (C, H, W). Optional in nir.
        input_type: Option<NumArray>,
        /// `start_dim` (nir's default when absent: 1).
        start_dim: Option<NumArray>,
        /// `end_dim` (nir's default when absent: -1).
        end_dim: Option<NumArray>,
    },
    /// `LI`: leaky integrator.
    LI {
        /// `tau`
        tau: NumArray,
        /// `r`
        r: NumArray,
        /// `v_leak`
        v_leak: NumArray,
    },
    /// `LIF`: leaky integrate-and-fire.
    LIF {
        /// `tau`
        tau: NumArray,
        /// `r`
        r: NumArray,
        /// `v_leak`
        v_leak: NumArray,
        /// `v_threshold`
        v_threshold: NumArray,
        /// `v_reset` (absent in old files; nir 1.0.8 then uses zeros).
        v_reset: Option<NumArray>,
    },
    /// `CubaLI`: current-based leaky integrator.
    CubaLI {
        /// `tau_syn`
        tau_syn: NumArray,
        /// `tau_mem`
        tau_mem: NumArray,
        /// `r`
        r: NumArray,
        /// `v_leak`
        v_leak: NumArray,
        /// `w_in` (nir's default when absent: ones).
        w_in: Option<NumArray>,
    },
    /// `CubaLIF`: current-based leaky integrate-and-fire.
    CubaLIF {
        /// `tau_syn`
        tau_syn: NumArray,
        /// `tau_mem`
        tau_mem: NumArray,
        /// `r`
        r: NumArray,
        /// `v_leak`
        v_leak: NumArray,
        /// `v_threshold`
        v_threshold: NumArray,
        /// `v_reset` (absent in old files; nir 1.0.8 then uses zeros).
        v_reset: Option<NumArray>,
        /// `w_in` (nir's default when absent: ones).
        w_in: Option<NumArray>,
    },
    /// `I`: integrator.
    I {
        /// `r`
        r: NumArray,
    },
    /// `IF`: integrate-and-fire.
    IF {
        /// `r`
        r: NumArray,
        /// `v_threshold`
        v_threshold: NumArray,
        /// `v_reset` (absent in old files; nir 1.0.8 then uses zeros).
        v_reset: Option<NumArray>,
    },
    /// `Delay`: `y(t) = x(t − delay)`.
    Delay {
        /// `delay`
        delay: NumArray,
    },
    /// `Threshold`: Heaviside step at `threshold`.
    Threshold {
        /// `threshold`
        threshold: NumArray,
    },
    /// `Scale`: element-wise product.
    Scale {
        /// `scale`
        scale: NumArray,
    },
    /// `NIRGraph`: a nested graph.
    Graph(NirGraph),
}

/// A reference to one stored field of a node, for generic walks (the writer,
/// comparisons).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldRef<'a> {
    /// A numeric dataset.
    Num(&'a NumArray),
    /// A string dataset (conv `padding` = `same` / `valid`).
    Str(&'a str),
}

/// Every node type name nir 1.0.8 reads.
pub const NODE_TYPES: &[&str] = &[
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Conv1d",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
    "Flatten",
    "LI",
    "LIF",
    "CubaLI",
    "CubaLIF",
    "I",
    "IF",
    "Delay",
    "Threshold",
    "Scale",
    "NIRGraph",
];

/// (field, required) for each non-graph node type, in nir's field order.
fn spec(type_name: &str) -> Option<(&'static str, &'static [(&'static str, bool)])> {
    Some(match type_name {
        "Input" => ("Input", &[("shape", true)]),
        "Output" => ("Output", &[("shape", true)]),
        "Affine" => ("Affine", &[("weight", true), ("bias", true)]),
        "Linear" => ("Linear", &[("weight", true)]),
        "Conv1d" | "Conv2d" => (
            if type_name == "Conv1d" {
                "Conv1d"
            } else {
                "Conv2d"
            },
            &[
                ("input_shape", false),
                ("weight", true),
                ("stride", true),
                ("padding", true),
                ("dilation", true),
                ("groups", true),
                ("bias", true),
            ],
        ),
        "SumPool2d" | "AvgPool2d" => (
            if type_name == "SumPool2d" {
                "SumPool2d"
            } else {
                "AvgPool2d"
            },
            &[("kernel_size", true), ("stride", true), ("padding", true)],
        ),
        "Flatten" => (
            "Flatten",
            &[
                ("input_type", false),
                ("start_dim", false),
                ("end_dim", false),
            ],
        ),
        "LI" => ("LI", &[("tau", true), ("r", true), ("v_leak", true)]),
        "LIF" => (
            "LIF",
            &[
                ("tau", true),
                ("r", true),
                ("v_leak", true),
                ("v_threshold", true),
                ("v_reset", false),
            ],
        ),
        "CubaLI" => (
            "CubaLI",
            &[
                ("tau_syn", true),
                ("tau_mem", true),
                ("r", true),
                ("v_leak", true),
                ("w_in", false),
            ],
        ),
        "CubaLIF" => (
            "CubaLIF",
            &[
                ("tau_syn", true),
                ("tau_mem", true),
                ("r", true),
                ("v_leak", true),
                ("v_threshold", true),
                ("v_reset", false),
                ("w_in", false),
            ],
        ),
        "I" => ("I", &[("r", true)]),
        "IF" => (
            "IF",
            &[("r", true), ("v_threshold", true), ("v_reset", false)],
        ),
        "Delay" => ("Delay", &[("delay", true)]),
        "Threshold" => ("Threshold", &[("threshold", true)]),
        "Scale" => ("Scale", &[("scale", true)]),
        _ => return None,
    })
}

impl NirOp {
    /// nir's class name (`CubaLIF`, `NIRGraph`, ...), stored as `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            NirOp::Input { .. } => "Input",
            NirOp::Output { .. } => "Output",
            NirOp::Affine { .. } => "Affine",
            NirOp::Linear { .. } => "Linear",
            NirOp::Conv1d(_) => "Conv1d",
            NirOp::Conv2d(_) => "Conv2d",
            NirOp::SumPool2d(_) => "SumPool2d",
            NirOp::AvgPool2d(_) => "AvgPool2d",
            NirOp::Flatten { .. } => "Flatten",
            NirOp::LI { .. } => "LI",
            NirOp::LIF { .. } => "LIF",
            NirOp::CubaLI { .. } => "CubaLI",
            NirOp::CubaLIF { .. } => "CubaLIF",
            NirOp::I { .. } => "I",
            NirOp::IF { .. } => "IF",
            NirOp::Delay { .. } => "Delay",
            NirOp::Threshold { .. } => "Threshold",
            NirOp::Scale { .. } => "Scale",
            NirOp::Graph(_) => "NIRGraph",
        }
    }

    /// The stored fields present on this node, by dataset name, in nir's field
    /// order (absent optional fields are left out). Empty for `NIRGraph`.
    pub fn fields(&self) -> Vec<(&'static str, FieldRef<'_>)> {
        fn n(a: &NumArray) -> FieldRef<'_> {
            FieldRef::Num(a)
        }
        let mut v: Vec<(&'static str, Option<FieldRef<'_>>)> = match self {
            NirOp::Input { shape } | NirOp::Output { shape } => vec![("shape", Some(n(shape)))],
            NirOp::Affine { weight, bias } => {
                vec![("weight", Some(n(weight))), ("bias", Some(n(bias)))]
            }
            NirOp::Linear { weight } => vec![("weight", Some(n(weight)))],
            NirOp::Conv1d(c) | NirOp::Conv2d(c) => vec![
                ("input_shape", c.input_shape.as_ref().map(n)),
                ("weight", Some(n(&c.weight))),
                ("stride", Some(n(&c.stride))),
                (
                    "padding",
                    Some(match &c.padding {
                        Padding::Values(a) => n(a),
                        Padding::Named(s) => FieldRef::Str(s),
                    }),
                ),
                ("dilation", Some(n(&c.dilation))),
                ("groups", Some(n(&c.groups))),
                ("bias", Some(n(&c.bias))),
            ],
            NirOp::SumPool2d(p) | NirOp::AvgPool2d(p) => vec![
                ("kernel_size", Some(n(&p.kernel_size))),
                ("stride", Some(n(&p.stride))),
                ("padding", Some(n(&p.padding))),
            ],
            NirOp::Flatten {
                input_type,
                start_dim,
                end_dim,
            } => vec![
                ("input_type", input_type.as_ref().map(n)),
                ("start_dim", start_dim.as_ref().map(n)),
                ("end_dim", end_dim.as_ref().map(n)),
            ],
            NirOp::LI { tau, r, v_leak } => vec![
                ("tau", Some(n(tau))),
                ("r", Some(n(r))),
                ("v_leak", Some(n(v_leak))),
            ],
            NirOp::LIF {
                tau,
                r,
                v_leak,
                v_threshold,
                v_reset,
            } => vec![
                ("tau", Some(n(tau))),
                ("r", Some(n(r))),
                ("v_leak", Some(n(v_leak))),
                ("v_threshold", Some(n(v_threshold))),
                ("v_reset", v_reset.as_ref().map(n)),
            ],
            NirOp::CubaLI {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                w_in,
            } => vec![
                ("tau_syn", Some(n(tau_syn))),
                ("tau_mem", Some(n(tau_mem))),
                ("r", Some(n(r))),
                ("v_leak", Some(n(v_leak))),
                ("w_in", w_in.as_ref().map(n)),
            ],
            NirOp::CubaLIF {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                v_threshold,
                v_reset,
                w_in,
            } => vec![
                ("tau_syn", Some(n(tau_syn))),
                ("tau_mem", Some(n(tau_mem))),
                ("r", Some(n(r))),
                ("v_leak", Some(n(v_leak))),
                ("v_threshold", Some(n(v_threshold))),
                ("v_reset", v_reset.as_ref().map(n)),
                ("w_in", w_in.as_ref().map(n)),
            ],
            NirOp::I { r } => vec![("r", Some(n(r)))],
            NirOp::IF {
                r,
                v_threshold,
                v_reset,
            } => vec![
                ("r", Some(n(r))),
                ("v_threshold", Some(n(v_threshold))),
                ("v_reset", v_reset.as_ref().map(n)),
            ],
            NirOp::Delay { delay } => vec![("delay", Some(n(delay)))],
            NirOp::Threshold { threshold } => vec![("threshold", Some(n(threshold)))],
            NirOp::Scale { scale } => vec![("scale", Some(n(scale)))],
            NirOp::Graph(_) => vec![],
        };
        v.drain(..).filter_map(|(k, f)| f.map(|f| (k, f))).collect()
    }
}

impl NirGraph {
    /// Edges whose source or destination is not a node of this graph, as
    /// `(index, source, destination)`. nir 1.0.8 refuses such graphs when type
    /// checking (e.g. the `_subgraph` braille file's edge to `lif`); the reader
    /// keeps them so the importer can report them.
    pub fn dangling_edges(&self) -> Vec<(usize, &str, &str)> {
        self.edges
            .iter()
            .enumerate()
            .filter(|(_, (a, b))| !self.nodes.contains_key(a) || !self.nodes.contains_key(b))
            .map(|(i, (a, b))| (i, a.as_str(), b.as_str()))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Reading

/// Reads a `.nir` file.
pub fn read_nir(path: impl AsRef<Path>) -> Result<NirDocument, FormatError> {
    let f = PureH5File::open(path)?;
    read_nir_from(&f)
}

/// Reads a NIR document from an in-memory file; `name` appears in errors.
pub fn read_nir_bytes(name: &str, bytes: Vec<u8>) -> Result<NirDocument, FormatError> {
    let f = PureH5File::from_bytes(name, bytes)?;
    read_nir_from(&f)
}

/// Reads a NIR document from any [`H5Source`].
pub fn read_nir_from(src: &dyn H5Source) -> Result<NirDocument, FormatError> {
    let r = Reader::new(src);
    let root = r.members("/")?;
    if !root.has_group("node") {
        let why = if root.has_group("layer") {
            "no `/node` group: this looks like a lava-dl netx file, not NIR"
        } else if root.has_dataset("node") {
            "`/node` is not a group: not a NIR file"
        } else {
            "no `/node` group: not a NIR file"
        };
        return Err(r.err("/node", ErrorKind::Invalid(why.into())));
    }
    let version = if root.has_dataset("version") {
        Some(r.string1("/version")?)
    } else {
        None
    };
    let node = read_node(&r, "/node", 0)?;
    match node.op {
        NirOp::Graph(mut graph) => {
            graph.metadata = node.metadata;
            Ok(NirDocument { version, graph })
        }
        other => Err(r.err(
            "/node/type",
            ErrorKind::Invalid(format!(
                "the root node must be a NIRGraph, found {}",
                other.type_name()
            )),
        )),
    }
}

fn read_metadata(r: &Reader<'_>, path: &str, depth: usize) -> Result<Metadata, FormatError> {
    if depth > MAX_DEPTH {
        return Err(r.err(
            path,
            ErrorKind::Invalid(format!("groups nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    let m = r.members(path)?;
    let mut out = Metadata::new();
    for d in &m.datasets {
        out.insert(d.clone(), MetaValue::Data(r.dataset(&join(path, d))?));
    }
    for g in &m.groups {
        out.insert(
            g.clone(),
            MetaValue::Group(read_metadata(r, &join(path, g), depth + 1)?),
        );
    }
    Ok(out)
}

fn read_edges(r: &Reader<'_>, path: &str) -> Result<Vec<(String, String)>, FormatError> {
    let d = r.dataset(path)?;
    // An empty edge list is written by h5py as a float64 array of shape (0,).
    if d.data.is_empty() && matches!(d.shape.as_slice(), [0] | [0, 2]) {
        return Ok(Vec::new());
    }
    let shape = d.shape.clone();
    if !matches!(shape.as_slice(), [_, 2]) {
        return Err(r.err(
            path,
            ErrorKind::WrongShape {
                expected: "(E, 2)".into(),
                found: shape,
            },
        ));
    }
    let v = d.into_strings().map_err(|k| r.err(path, k))?;
    Ok(v.chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

fn read_graph(r: &Reader<'_>, path: &str, depth: usize) -> Result<NirGraph, FormatError> {
    let m = r.members(path)?;
    for d in &m.datasets {
        if d != "type" && d != "edges" {
            return Err(r.err(
                &join(path, d),
                ErrorKind::UnexpectedField {
                    field: d.clone(),
                    node_type: "NIRGraph",
                },
            ));
        }
    }
    for g in &m.groups {
        if g != "nodes" && g != "metadata" {
            return Err(r.err(
                &join(path, g),
                ErrorKind::UnexpectedField {
                    field: g.clone(),
                    node_type: "NIRGraph",
                },
            ));
        }
    }
    if !m.has_dataset("edges") {
        return Err(r.err(&join(path, "edges"), ErrorKind::Missing("dataset")));
    }
    if !m.has_group("nodes") {
        return Err(r.err(&join(path, "nodes"), ErrorKind::Missing("group")));
    }
    let edges = read_edges(r, &join(path, "edges"))?;
    let nodes_path = join(path, "nodes");
    let nm = r.members(&nodes_path)?;
    if let Some(d) = nm.datasets.first() {
        return Err(r.err(
            &join(&nodes_path, d),
            ErrorKind::WrongObject {
                expected: "group",
                found: "dataset",
            },
        ));
    }
    let mut nodes = BTreeMap::new();
    for name in &nm.groups {
        nodes.insert(
            name.clone(),
            read_node(r, &join(&nodes_path, name), depth + 1)?,
        );
    }
    Ok(NirGraph {
        nodes,
        edges,
        metadata: Metadata::new(),
    })
}

fn read_node(r: &Reader<'_>, path: &str, depth: usize) -> Result<NirNode, FormatError> {
    if depth > MAX_DEPTH {
        return Err(r.err(
            path,
            ErrorKind::Invalid(format!("graphs nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    let m = r.members(path)?;
    let type_path = join(path, "type");
    if !m.has_dataset("type") {
        return Err(r.err(&type_path, ErrorKind::Missing("dataset")));
    }
    let type_name = r.string1(&type_path)?;
    let metadata = if m.has_group("metadata") {
        read_metadata(r, &join(path, "metadata"), 0)?
    } else {
        Metadata::new()
    };
    if type_name == "NIRGraph" {
        return Ok(NirNode {
            op: NirOp::Graph(read_graph(r, path, depth)?),
            metadata,
        });
    }
    let Some((tn, fields)) = spec(&type_name) else {
        return Err(r.err(path, ErrorKind::UnknownNodeType(type_name)));
    };
    for g in &m.groups {
        if g != "metadata" {
            return Err(r.err(
                &join(path, g),
                ErrorKind::UnexpectedField {
                    field: g.clone(),
                    node_type: tn,
                },
            ));
        }
    }
    let mut values: BTreeMap<&'static str, Dataset> = BTreeMap::new();
    for d in &m.datasets {
        if d == "type" {
            continue;
        }
        let Some(&(f, _)) = fields.iter().find(|(f, _)| f == d) else {
            return Err(r.err(
                &join(path, d),
                ErrorKind::UnexpectedField {
                    field: d.clone(),
                    node_type: tn,
                },
            ));
        };
        values.insert(f, r.dataset(&join(path, d))?);
    }
    for (f, required) in fields {
        if *required && !values.contains_key(f) {
            return Err(r.err(&join(path, f), ErrorKind::Missing("dataset")));
        }
    }
    fn take(
        values: &mut BTreeMap<&'static str, Dataset>,
        r: &Reader<'_>,
        path: &str,
        f: &'static str,
    ) -> Result<Option<NumArray>, FormatError> {
        match values.remove(f) {
            None => Ok(None),
            Some(d) => d.into_num().map(Some).map_err(|k| r.err(&join(path, f), k)),
        }
    }
    macro_rules! opt {
        ($f:expr) => {
            take(&mut values, r, path, $f)?
        };
    }
    // Every required field was checked above, so `req` only fails on type.
    macro_rules! req {
        ($f:expr) => {
            opt!($f).ok_or_else(|| r.err(&join(path, $f), ErrorKind::Missing("dataset")))?
        };
    }
    let op = match tn {
        "Input" => NirOp::Input {
            shape: req!("shape"),
        },
        "Output" => NirOp::Output {
            shape: req!("shape"),
        },
        "Affine" => NirOp::Affine {
            weight: req!("weight"),
            bias: req!("bias"),
        },
        "Linear" => NirOp::Linear {
            weight: req!("weight"),
        },
        "Conv1d" | "Conv2d" => {
            let padding = match values.remove("padding") {
                Some(d) if matches!(d.data, Data::Str(_)) => Padding::Named(
                    d.into_single_string()
                        .map_err(|k| r.err(&join(path, "padding"), k))?,
                ),
                Some(d) => {
                    Padding::Values(d.into_num().map_err(|k| r.err(&join(path, "padding"), k))?)
                }
                None => return Err(r.err(&join(path, "padding"), ErrorKind::Missing("dataset"))),
            };
            let c = Conv {
                input_shape: opt!("input_shape"),
                weight: req!("weight"),
                stride: req!("stride"),
                padding,
                dilation: req!("dilation"),
                groups: req!("groups"),
                bias: req!("bias"),
            };
            if tn == "Conv1d" {
                NirOp::Conv1d(c)
            } else {
                NirOp::Conv2d(c)
            }
        }
        "SumPool2d" | "AvgPool2d" => {
            let p = Pool {
                kernel_size: req!("kernel_size"),
                stride: req!("stride"),
                padding: req!("padding"),
            };
            if tn == "SumPool2d" {
                NirOp::SumPool2d(p)
            } else {
                NirOp::AvgPool2d(p)
            }
        }
        "Flatten" => NirOp::Flatten {
            input_type: opt!("input_type"),
            start_dim: opt!("start_dim"),
            end_dim: opt!("end_dim"),
        },
        "LI" => NirOp::LI {
            tau: req!("tau"),
            r: req!("r"),
            v_leak: req!("v_leak"),
        },
        "LIF" => NirOp::LIF {
            tau: req!("tau"),
            r: req!("r"),
            v_leak: req!("v_leak"),
            v_threshold: req!("v_threshold"),
            v_reset: opt!("v_reset"),
        },
        "CubaLI" => NirOp::CubaLI {
            tau_syn: req!("tau_syn"),
            tau_mem: req!("tau_mem"),
            r: req!("r"),
            v_leak: req!("v_leak"),
            w_in: opt!("w_in"),
        },
        "CubaLIF" => NirOp::CubaLIF {
            tau_syn: req!("tau_syn"),
            tau_mem: req!("tau_mem"),
            r: req!("r"),
            v_leak: req!("v_leak"),
            v_threshold: req!("v_threshold"),
            v_reset: opt!("v_reset"),
            w_in: opt!("w_in"),
        },
        "I" => NirOp::I { r: req!("r") },
        "IF" => NirOp::IF {
            r: req!("r"),
            v_threshold: req!("v_threshold"),
            v_reset: opt!("v_reset"),
        },
        "Delay" => NirOp::Delay {
            delay: req!("delay"),
        },
        "Threshold" => NirOp::Threshold {
            threshold: req!("threshold"),
        },
        "Scale" => NirOp::Scale {
            scale: req!("scale"),
        },
        _ => return Err(r.err(path, ErrorKind::UnknownNodeType(type_name))),
    };
    check_op(&op).map_err(|m| r.err(path, ErrorKind::Invalid(m)))?;
    Ok(NirNode { op, metadata })
}

/// The shape rules nir 1.0.8 asserts when it builds a node.
fn check_op(op: &NirOp) -> Result<(), String> {
    let same = |fields: &[(&str, &NumArray)]| -> Result<(), String> {
        let (n0, a0) = fields[0];
        for (n, a) in &fields[1..] {
            if a.shape != a0.shape {
                return Err(format!(
                    "{n} has shape {:?} but {n0} has shape {:?}; all parameters must have the same shape",
                    a.shape, a0.shape
                ));
            }
        }
        Ok(())
    };
    match op {
        NirOp::Affine { weight, .. } | NirOp::Linear { weight } if weight.shape.len() < 2 => {
            Err(format!(
                "weight must be at least 2-D, found shape {:?}",
                weight.shape
            ))
        }
        NirOp::LI { tau, r, v_leak } => same(&[("tau", tau), ("r", r), ("v_leak", v_leak)]),
        NirOp::LIF {
            tau,
            r,
            v_leak,
            v_threshold,
            v_reset,
        } => {
            let mut f = vec![
                ("tau", tau),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
            ];
            if let Some(v) = v_reset {
                f.push(("v_reset", v));
            }
            same(&f)
        }
        NirOp::CubaLI {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            ..
        } => same(&[
            ("tau_syn", tau_syn),
            ("tau_mem", tau_mem),
            ("r", r),
            ("v_leak", v_leak),
        ]),
        NirOp::CubaLIF {
            tau_syn,
            tau_mem,
            r,
            v_leak,
            v_threshold,
            v_reset,
            ..
        } => {
            let mut f = vec![
                ("tau_syn", tau_syn),
                ("tau_mem", tau_mem),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
            ];
            if let Some(v) = v_reset {
                f.push(("v_reset", v));
            }
            same(&f)
        }
        NirOp::IF {
            r,
            v_threshold,
            v_reset,
        } => {
            let mut f = vec![("r", r), ("v_threshold", v_threshold)];
            if let Some(v) = v_reset {
                f.push(("v_reset", v));
            }
            same(&f)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_type_has_a_spec() {
        for t in NODE_TYPES {
            assert!(*t == "NIRGraph" || spec(t).is_some(), "{t}");
        }
        assert!(spec("Integrator").is_none());
    }

    #[test]
    fn fields_leave_out_absent_optionals() {
        let a = |v: f32| NumArray::f32(vec![1], vec![v]).unwrap();
        let op = NirOp::LIF {
            tau: a(1.0),
            r: a(2.0),
            v_leak: a(0.0),
            v_threshold: a(0.1),
            v_reset: None,
        };
        let names: Vec<_> = op.fields().iter().map(|(k, _)| *k).collect();
        assert_eq!(names, vec!["tau", "r", "v_leak", "v_threshold"]);
        assert_eq!(op.type_name(), "LIF");
    }

    #[test]
    fn neuron_parameter_shapes_must_agree() {
        let op = NirOp::IF {
            r: NumArray::f32(vec![2], vec![1.0, 1.0]).unwrap(),
            v_threshold: NumArray::f32(vec![3], vec![1.0; 3]).unwrap(),
            v_reset: None,
        };
        assert!(check_op(&op)
            .unwrap_err()
            .contains("v_threshold has shape [3]"));
    }

    #[test]
    fn dangling_edges_are_listed() {
        let mut g = NirGraph::default();
        g.nodes.insert(
            "a".into(),
            NirNode {
                op: NirOp::I {
                    r: NumArray::f32(vec![1], vec![1.0]).unwrap(),
                },
                metadata: Metadata::new(),
            },
        );
        g.edges = vec![("a".into(), "a".into()), ("a".into(), "lif".into())];
        assert_eq!(g.dangling_edges(), vec![(1, "a", "lif")]);
    }
}
