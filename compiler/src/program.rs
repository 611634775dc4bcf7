//! Compiled machine programs (`spikeforge compile -o PROG`): the per-core
//! images plus the manifest that says where each population lives, how
//! spikes are routed and what to record.
//!
//! File layout (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `SFPG` |
//! | 4 | 2 | file format version, 1 |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 4 | manifest length in bytes (m) |
//! | 12 | 4 | number of core images (k) |
//! | 16 | m | manifest, UTF-8 JSON ([`Manifest`]), padded with spaces to a multiple of 4 |
//! | … | | k × (u32 length in words, then the image words; see `spikeforge_kernel::program`) |
//! | end−4 | 4 | CRC-32 (IEEE) of everything before it |

use serde::{Deserialize, Serialize};
use spikeforge_kernel::program::{CoreImage, ImageError};

pub const MAGIC: [u8; 4] = *b"SFPG";
pub const FORMAT_VERSION: u16 = 1;

/// What the manifest records about one core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreInfo {
    /// Index of the core (= its image and key prefix).
    pub index: u32,
    /// Population whose neurons it holds.
    pub population: String,
    /// Index of the core's first neuron within the population.
    pub first_neuron: u32,
    pub n_neurons: u32,
    /// `neurons` or `source`.
    pub kind: String,
}

/// Multicast routing: the cores a source core's spikes go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub source: u32,
    /// Target cores, ascending.
    pub targets: Vec<u32>,
}

/// How one IR recording maps onto cores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingInfo {
    /// `spikes`, `state` or `weights`.
    pub kind: String,
    /// Population (spikes, state) or projection (weights).
    pub target: String,
    /// State variable (`v`, `u`, `i_syn_e`, `i_syn_i`); empty otherwise.
    pub variable: String,
    /// Unit of the converted values (`mV`, `nA`, `lava`).
    pub unit: String,
    /// Fixed-point format of the raw words (`s16.15`, `i24`, `w16`, `i8`).
    pub raw_format: String,
    /// Sampling interval in steps (0 = only at the end, weights only).
    pub every_n_steps: u32,
    /// Population-level neuron indices in output order.
    pub neurons: Vec<u32>,
    /// For each core holding some of them: (core, entry index in the core's recording section).
    pub parts: Vec<(u32, u32)>,
}

/// A projection's synapses as placed: enough to read weights back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionInfo {
    pub name: String,
    pub pre: String,
    pub post: String,
    /// Weight units per raw unit, per synapse type used: the float weight of a
    /// raw word `w` is `w * scale` (sign by receptor).
    pub scale: f64,
    /// `excitatory`, `inhibitory` or `signed`.
    pub receptor: String,
    /// Number of synapses.
    pub n_synapses: u64,
    /// Whether its weights change at run time (spinnaker STDP: read back from
    /// the cores' plastic matrices, not their static synaptic matrices).
    #[serde(default)]
    pub plastic: bool,
}

/// The manifest of a machine program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u16,
    pub network: String,
    /// `spinnaker` or `loihi`.
    pub profile: String,
    pub dt_ms: f64,
    /// Steps the network asks for (`duration_ms / dt_ms`).
    pub default_steps: u32,
    /// Most neurons placed on one core.
    pub max_neurons_per_core: u32,
    pub cores: Vec<CoreInfo>,
    pub routes: Vec<Route>,
    pub recordings: Vec<RecordingInfo>,
    pub projections: Vec<ProjectionInfo>,
    /// Steps the stimuli were expanded for; a run may not exceed it.
    pub stimulus_steps: u32,
}

/// A compiled program: manifest and one image per core.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineProgram {
    pub manifest: Manifest,
    pub images: Vec<Vec<u32>>,
}

/// Why a program file cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProgramError {
    #[error("not a spikeforge program: expected magic \"SFPG\", found {0:02x?}")]
    BadMagic([u8; 4]),
    #[error("program file is truncated ({0})")]
    Truncated(&'static str),
    #[error("unsupported program format version {found}; this spikeforge reads version {supported}")]
    Version { found: u16, supported: u16 },
    #[error("checksum mismatch: the file says {expected:#010x}, its contents give {actual:#010x} (corrupted file)")]
    Checksum { expected: u32, actual: u32 },
    #[error("manifest is not valid JSON for this version: {0}")]
    Manifest(String),
    #[error("core image {core}: {error}")]
    Image { core: usize, error: String },
    #[error("manifest lists {manifest} cores but the file holds {images} images")]
    CoreCount { manifest: usize, images: usize },
}

impl MachineProgram {
    /// Serialises the program.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut manifest = serde_json::to_vec_pretty(&self.manifest).expect("the manifest serialises");
        while !manifest.len().is_multiple_of(4) {
            manifest.push(b' ');
        }
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(manifest.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.images.len() as u32).to_le_bytes());
        out.extend_from_slice(&manifest);
        for img in &self.images {
            out.extend_from_slice(&(img.len() as u32).to_le_bytes());
            for w in img {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a program, checking magic, version, checksum, manifest and every image.
    pub fn from_bytes(bytes: &[u8]) -> Result<MachineProgram, ProgramError> {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(ProgramError::BadMagic(bytes[..4].try_into().unwrap()));
        }
        if bytes.len() < 20 {
            return Err(ProgramError::Truncated("shorter than the header"));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != FORMAT_VERSION {
            return Err(ProgramError::Version { found: version, supported: FORMAT_VERSION });
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let expected = u32::from_le_bytes(crc.try_into().unwrap());
        let actual = crc32fast::hash(body);
        if expected != actual {
            return Err(ProgramError::Checksum { expected, actual });
        }
        let m = u32::from_le_bytes(body[8..12].try_into().unwrap()) as usize;
        let k = u32::from_le_bytes(body[12..16].try_into().unwrap()) as usize;
        let rest = &body[16..];
        if rest.len() < m {
            return Err(ProgramError::Truncated("manifest"));
        }
        let manifest: Manifest = serde_json::from_slice(&rest[..m]).map_err(|e| ProgramError::Manifest(e.to_string()))?;
        let mut pos = m;
        let mut images = Vec::with_capacity(k.min(1 << 16));
        for core in 0..k {
            if rest.len() < pos + 4 {
                return Err(ProgramError::Truncated("image length"));
            }
            let n = u32::from_le_bytes(rest[pos..pos + 4].try_into().unwrap()) as usize;
            pos += 4;
            let end = n.checked_mul(4).and_then(|b| b.checked_add(pos)).ok_or(ProgramError::Truncated("image"))?;
            if rest.len() < end {
                return Err(ProgramError::Truncated("image"));
            }
            let words: Vec<u32> = rest[pos..end].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
            CoreImage::parse(&words).map_err(|e: ImageError| ProgramError::Image { core, error: e.to_string() })?;
            images.push(words);
            pos = end;
        }
        if pos != rest.len() {
            return Err(ProgramError::Truncated("trailing bytes after the images"));
        }
        if manifest.cores.len() != images.len() {
            return Err(ProgramError::CoreCount { manifest: manifest.cores.len(), images: images.len() });
        }
        Ok(MachineProgram { manifest, images })
    }
}
