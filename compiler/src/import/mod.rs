//! Importers for the networks users already have — lava-dl netx `.net`
//! ([`netx`]) and NIR `.nir` ([`nir`]) — the NIR exporter ([`nir_export`]),
//! the plasticity overlay ([`overlay`]) and the convolution expansion helper
//! ([`conv`]). User documentation: `docs/import.md`.
//!
//! Importers return the IR plus every approximation they made as a [`Note`];
//! the notes are also stored in `Network.provenance.notes`.

pub mod conv;
pub mod netx;
pub mod nir;
pub mod nir_export;
pub mod overlay;

use crate::ir;
use serde::Serialize;
use spikeforge_formats::FormatError;
use std::fmt;
use std::path::Path;

/// An approximation (or a fact worth knowing) about an import, tied to the
/// place in the source file it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Path inside the source file (`/layer/2`, `/node/nodes/lif1.lif`), or `/`.
    pub path: String,
    /// One human-readable sentence.
    pub message: String,
}

impl Note {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Note { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a file could not be imported (or a network exported). Names the file
/// and the path inside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct ImportError {
    /// The file as shown to the user.
    pub file: String,
    /// HDF5 path inside the file (`/layer/3`), `/` for the whole file; for
    /// exports, the IR object (`population 'exc'`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ImportError {
    pub fn new(file: impl Into<String>, path: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError { file: file.into(), path: path.into(), message: message.into() }
    }
}

impl From<FormatError> for ImportError {
    fn from(e: FormatError) -> Self {
        ImportError { file: e.file, path: e.path, message: e.kind.to_string() }
    }
}

/// The formats `spikeforge import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// lava-dl netx `.net`.
    Netx,
    /// NIR `.nir`.
    Nir,
}

/// Options of an import.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportOptions {
    /// Time step for NIR's continuous time, ms (netx is always 1 step = 1 ms).
    pub dt_ms: f64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { dt_ms: 1.0 }
    }
}

/// The format of `path`: by extension (`.net`, `.nir`), else by content (a
/// netx file has `/layer`, a NIR file `/node`).
pub fn detect_format(path: &Path) -> Result<SourceFormat, ImportError> {
    let shown = file_label(path);
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("net") => return Ok(SourceFormat::Netx),
        Some("nir") => return Ok(SourceFormat::Nir),
        _ => {}
    }
    let f = spikeforge_formats::h5::PureH5File::open(path)?;
    use spikeforge_formats::h5::H5Source;
    let root = f.members("/")?;
    if root.has_group("layer") {
        Ok(SourceFormat::Netx)
    } else if root.has_group("node") {
        Ok(SourceFormat::Nir)
    } else {
        Err(ImportError::new(shown, "/", "neither a lava-dl netx file (no /layer group) nor a NIR file (no /node group)"))
    }
}

/// The name errors use for a file: its last path component.
pub fn file_label(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// The result of [`import_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The network (not yet validated).
    pub network: ir::Network,
    /// Every approximation made (also in `network.provenance.notes`).
    pub notes: Vec<Note>,
    pub format: SourceFormat,
    /// Layers in the netx file, or NIR nodes after flattening nested graphs.
    pub layers: usize,
}

/// Imports a netx or NIR file (format from [`detect_format`]).
pub fn import_file(path: &Path, opts: ImportOptions) -> Result<Imported, ImportError> {
    let format = detect_format(path)?;
    let label = file_label(path);
    let source = path.display().to_string();
    match format {
        SourceFormat::Netx => {
            let doc = spikeforge_formats::read_netx(path)?;
            let (network, notes) = netx::import_doc(&doc, &label, &source)?;
            Ok(Imported { network, notes, format, layers: doc.layers.len() })
        }
        SourceFormat::Nir => {
            let doc = spikeforge_formats::read_nir(path)?;
            let (network, notes, layers) = nir::import_doc(&doc, &label, &source, opts.dt_ms)?;
            Ok(Imported { network, notes, format, layers })
        }
    }
}

/// What an import produced, for `spikeforge import` to print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub format: SourceFormat,
    /// Layers (netx) or nodes after flattening nested graphs (NIR).
    pub layers: usize,
    pub populations: usize,
    /// Neurons with state (excludes inputs and relays).
    pub neurons: u64,
    /// Input neurons (netx input layers, NIR `Input` nodes).
    pub inputs: u64,
    pub projections: usize,
    /// Synapses (convolutions: kernel taps inside the input, zero padding excluded).
    pub synapses: u64,
    pub plastic_projections: usize,
    pub populations_detail: Vec<PopulationLine>,
    pub projections_detail: Vec<ProjectionLine>,
    pub notes: Vec<Note>,
}

/// One population of an [`ImportReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationLine {
    pub name: String,
    pub model: String,
    pub shape: Vec<u32>,
    pub size: u32,
}

/// One projection of an [`ImportReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectionLine {
    pub name: String,
    pub pre: String,
    pub post: String,
    pub connectivity: String,
    pub synapses: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub plasticity: String,
}

/// Name of a population's model, for reports.
pub fn model_name(p: &ir::Population) -> String {
    use ir::population::Model;
    match &p.model {
        Some(Model::IfCurrExp(_)) => "if_curr_exp".into(),
        Some(Model::SpikeSourceArray(_)) => "spike_source_array".into(),
        Some(Model::SpikeSourcePoisson(_)) => "spike_source_poisson".into(),
        Some(Model::LavaLif(_)) => "lava_lif".into(),
        Some(Model::NetxNeuron(n)) => format!("netx {}", ir::NetxNeuronType::try_from(n.r#type).unwrap_or_default().as_str_name().trim_start_matches("NETX_NEURON_TYPE_")),
        Some(Model::NetxInput(_)) => "netx input".into(),
        Some(Model::NetxFlatten(_)) => "netx flatten".into(),
        Some(Model::NirNeuron(n)) => format!("nir {}", nir::kind_name(n.kind)),
        Some(Model::NirInput(_)) => "nir Input".into(),
        Some(Model::NirRelay(r)) => format!("nir relay ({})", ir::NirRelayKind::try_from(r.kind).unwrap_or_default().as_str_name().trim_start_matches("NIR_RELAY_KIND_").to_ascii_lowercase()),
        None => "none".into(),
    }
}

/// Number of synapses of a projection, exact for everything an importer produces.
pub fn projection_synapses(p: &ir::Projection, pre: Option<&ir::Population>, post: Option<&ir::Population>) -> u64 {
    use ir::projection::Connectivity;
    let (Some(pre), Some(post)) = (pre, post) else { return 0 };
    match &p.connectivity {
        Some(Connectivity::Convolution(c)) => conv::conv_synapses(c, &pre.shape, &post.shape).map_or(0, |v| v.len() as u64),
        Some(Connectivity::Pooling(c)) => conv::pool_synapses(c, &pre.shape, &post.shape).map_or(0, |v| v.len() as u64),
        _ => crate::summary::synapse_count(p, pre.size as u64, post.size as u64, p.pre == p.post).0,
    }
}

fn connectivity_name(p: &ir::Projection) -> String {
    use ir::projection::Connectivity;
    match &p.connectivity {
        Some(Connectivity::AllToAll(_)) => "all_to_all",
        Some(Connectivity::OneToOne(_)) => "one_to_one",
        Some(Connectivity::FixedProbability(_)) => "fixed_probability",
        Some(Connectivity::FromList(_)) => "from_list",
        Some(Connectivity::DenseMatrix(m)) if !m.weights_imag.is_empty() => "dense_matrix (complex)",
        Some(Connectivity::DenseMatrix(_)) => "dense_matrix",
        Some(Connectivity::Convolution(_)) => "convolution",
        Some(Connectivity::Pooling(_)) => "pooling",
        None => "none",
    }
    .into()
}

/// Summarises an imported network.
pub fn report(net: &ir::Network, format: SourceFormat, layers: usize, notes: &[Note]) -> ImportReport {
    use ir::population::Model;
    let find = |n: &str| net.populations.iter().find(|p| p.name == n);
    let mut neurons = 0u64;
    let mut inputs = 0u64;
    for p in &net.populations {
        match p.model {
            Some(Model::NetxInput(_)) | Some(Model::NirInput(_)) | Some(Model::SpikeSourceArray(_)) | Some(Model::SpikeSourcePoisson(_)) => inputs += p.size as u64,
            Some(Model::NetxFlatten(_)) | Some(Model::NirRelay(_)) | None => {}
            _ => neurons += p.size as u64,
        }
    }
    let projections_detail: Vec<ProjectionLine> = net
        .projections
        .iter()
        .map(|p| ProjectionLine {
            name: p.name.clone(),
            pre: p.pre.clone(),
            post: p.post.clone(),
            connectivity: connectivity_name(p),
            synapses: projection_synapses(p, find(&p.pre), find(&p.post)),
            plasticity: p.plasticity.clone(),
        })
        .collect();
    ImportReport {
        format,
        layers,
        populations: net.populations.len(),
        neurons,
        inputs,
        projections: net.projections.len(),
        synapses: projections_detail.iter().map(|p| p.synapses).sum(),
        plastic_projections: net.projections.iter().filter(|p| !p.plasticity.is_empty()).count(),
        populations_detail: net
            .populations
            .iter()
            .map(|p| PopulationLine { name: p.name.clone(), model: model_name(p), shape: p.shape.clone(), size: p.size })
            .collect(),
        projections_detail,
        notes: notes.to_vec(),
    }
}
