//! Per-core program images: the binary layout the compiler writes and the
//! emulator and the firmware read.
//!
//! An image is a sequence of little-endian 32-bit words:
//!
//! ```text
//! word 0..8    Header (32 bytes)
//! word 8..     SectionEntry[n_sections] (16 bytes each)
//! ...          sections, each starting on a word boundary
//! ```
//!
//! Every section is addressed by its [`SectionEntry`] (kind, offset and
//! length in words, element count). Readers look sections up by kind, so a
//! newer writer may append kinds an older reader ignores; anything that
//! changes the meaning of an existing kind bumps [`VERSION`]. All parsing is
//! allocation-free and returns [`ImageError`] on malformed input, never
//! panics.
//!
//! Keys: a spike of local neuron `i` of core `c` travels as the multicast key
//! `c << KEY_CORE_SHIFT | i` (SpiNNaker style: the upper bits select the
//! source, the lower bits the neuron).

use bytemuck::{Pod, Zeroable};

/// `"SFCP"` (spikeforge core program).
pub const MAGIC: [u8; 4] = *b"SFCP";
/// Layout version of this module.
pub const VERSION: u16 = 1;
/// Bits of the neuron index within a key.
pub const KEY_CORE_SHIFT: u32 = 16;
/// Most neurons one core can hold with this key format.
pub const MAX_NEURONS_PER_CORE: u32 = 1 << KEY_CORE_SHIFT;

/// The multicast key of local neuron `neuron` of core `core`.
pub const fn key(core: u32, neuron: u32) -> u32 {
    core << KEY_CORE_SHIFT | neuron
}

/// Numeric profile of a core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Profile {
    /// sPyNNaker numerics (`crate::spinnaker`).
    Spinnaker = 1,
    /// Lava 0.10 numerics (`crate::loihi`).
    Loihi = 2,
}

/// What a core runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CoreKind {
    /// Neurons with state, fed by a synaptic matrix.
    Neurons = 1,
    /// A spike source replaying precomputed spike steps.
    Source = 2,
}

/// Image header, 32 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 4],
    /// [`VERSION`].
    pub version: u16,
    /// [`Profile`] as u8.
    pub profile: u8,
    /// [`CoreKind`] as u8.
    pub kind: u8,
    /// Index of this core in the machine program (also its key prefix).
    pub core: u32,
    /// Neurons on this core.
    pub n_neurons: u32,
    /// Time step in nanoseconds.
    pub timestep_ns: u32,
    /// Number of [`SectionEntry`]s after the header.
    pub n_sections: u32,
    /// Total length of the image in words (header included).
    pub n_words: u32,
    /// Reserved, 0.
    pub reserved: u32,
}

/// One entry of the section table, 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SectionEntry {
    /// [`SectionKind`] as u32.
    pub kind: u32,
    /// Offset of the section from the start of the image, in words.
    pub offset: u32,
    /// Length of the section in words.
    pub len: u32,
    /// Number of elements (meaning depends on the kind).
    pub count: u32,
}

/// Section kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SectionKind {
    /// `[spinnaker::lif::LifParams; n]`.
    SpinnakerLif = 1,
    /// `[spinnaker::lif::ThresholdParams; n]`.
    SpinnakerThreshold = 2,
    /// `[spinnaker::synapse::ExpSynapseParams; n]`.
    SpinnakerSynapse = 3,
    /// One [`SpinnakerRing`].
    SpinnakerRing = 4,
    /// `[LoihiNeuron; n]`.
    LoihiLif = 5,
    /// One [`LoihiInput`].
    LoihiInput = 6,
    /// A synaptic matrix, see [`SynapticMatrix`].
    SynapticMatrix = 7,
    /// Spike steps of a source core, see [`SourceSpikes`].
    SourceSpikes = 8,
    /// What to record, see [`Recording`].
    Recording = 9,
}

/// Ring-buffer configuration of a SpiNNaker core.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SpinnakerRing {
    /// `log_n_neurons`, `log_n_synapse_types`, `log_max_delay`.
    pub layout: crate::spinnaker::ring_buffer::RingBufferLayout,
    /// Neuron sub-steps per time step (sPyNNaker `n_steps_per_timestep`), >= 1.
    pub n_steps_per_timestep: u32,
    /// `ring_buffer_to_input_left_shifts` for excitatory (0) and inhibitory (1).
    pub left_shifts: [u32; 2],
}

/// One Lava LIF neuron: parameters and initial state.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct LoihiNeuron {
    /// `du`, `dv`, `vth`, `bias_mant`, `bias_exp` (see `loihi::lif::LifParams`).
    pub params: crate::loihi::lif::LifParams,
    /// Initial current `u`, a 24-bit value in i32.
    pub u_init: i32,
    /// Initial voltage `v`, a 24-bit value in i32.
    pub v_init: i32,
}

/// Input configuration of a Loihi core: the delay line feeding `a_in`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct LoihiInput {
    /// Bits of the delay field of a synapse word; the delay line has
    /// `2^log_max_delay` slots of i32 per neuron.
    pub log_max_delay: u32,
    /// Bits of the neuron-index field of a synapse word.
    pub log_n_neurons: u32,
}

/// Header of a [`SectionKind::SynapticMatrix`] section.
///
/// Section layout (words): `MatrixHeader`, `MatrixBlock[n_blocks]`,
/// `row_index[n_rows + 1]` (offsets into `words`), `words[n_words]`.
/// Block `b` covers source keys `key_base .. key_base + n_sources` and rows
/// `first_row .. first_row + n_sources`. Rows hold synapse words:
/// * SpiNNaker: `w16 << 16 | delay << (type+index bits) | type << index bits | index`
///   (`spinnaker::ring_buffer::RingBufferLayout::fixed_word`);
/// * Loihi: `(w as i16 as u16) << 16 | delay << index bits | index`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct MatrixHeader {
    pub n_blocks: u32,
    pub n_rows: u32,
    pub n_words: u32,
    pub reserved: u32,
}

/// A block of rows: the synapses from one source core onto this core.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct MatrixBlock {
    /// Key of the first source neuron (`key(source_core, first)`).
    pub key_base: u32,
    /// Number of source neurons (rows) in the block.
    pub n_sources: u32,
    /// Index of the block's first row.
    pub first_row: u32,
    /// Loihi: weight exponent of this block's synapses (two's complement); SpiNNaker: 0.
    pub weight_exp: i32,
}

/// Header of a [`SectionKind::SourceSpikes`] section; followed by
/// `offsets[n_neurons + 1]` and `steps[n_spikes]` (sorted per neuron, 1-based).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SourceHeader {
    pub n_neurons: u32,
    pub n_spikes: u32,
}

/// Recorded quantities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Variable {
    Spikes = 0,
    /// Membrane potential (SpiNNaker `v_membrane` in s16.15; Loihi `v`).
    V = 1,
    /// Loihi current `u`.
    U = 2,
    /// SpiNNaker excitatory synaptic input (s16.15).
    ISynE = 3,
    /// SpiNNaker inhibitory synaptic input (s16.15).
    ISynI = 4,
}

impl Variable {
    pub fn from_u32(v: u32) -> Option<Variable> {
        Some(match v {
            0 => Variable::Spikes,
            1 => Variable::V,
            2 => Variable::U,
            3 => Variable::ISynE,
            4 => Variable::ISynI,
            _ => return None,
        })
    }
}

/// One recording request; the section is `RecordHeader`, `RecordEntry[n]`, `neurons[..]`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct RecordEntry {
    /// [`Variable`] as u32.
    pub variable: u32,
    /// Sample every N steps (>= 1).
    pub every_n_steps: u32,
    /// Index of the first recorded neuron in the section's neuron list.
    pub first: u32,
    /// Number of recorded neurons.
    pub count: u32,
}

/// Header of a [`SectionKind::Recording`] section.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct RecordHeader {
    pub n_entries: u32,
    pub n_neurons: u32,
}

/// Why an image cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Shorter than its header or than the length it declares.
    Truncated { needed: usize, have: usize },
    /// Not a core program.
    BadMagic([u8; 4]),
    /// Written by another layout version.
    Version { found: u16, supported: u16 },
    /// Unknown profile or core kind byte.
    BadHeaderField { field: &'static str, value: u32 },
    /// A section lies outside the image.
    SectionBounds { kind: u32, offset: u32, len: u32 },
    /// A required section is missing.
    MissingSection(SectionKind),
    /// A section's contents contradict themselves or the header.
    BadSection { kind: SectionKind, reason: &'static str },
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImageError::Truncated { needed, have } => write!(f, "image truncated: needs {needed} words, has {have}"),
            ImageError::BadMagic(m) => write!(f, "not a core program: magic {m:02x?}, expected \"SFCP\""),
            ImageError::Version { found, supported } => write!(f, "core program layout version {found}; this build reads version {supported}"),
            ImageError::BadHeaderField { field, value } => write!(f, "header field `{field}` has unknown value {value}"),
            ImageError::SectionBounds { kind, offset, len } => write!(f, "section kind {kind} at word {offset} (+{len}) lies outside the image"),
            ImageError::MissingSection(k) => write!(f, "section {k:?} missing"),
            ImageError::BadSection { kind, reason } => write!(f, "section {kind:?}: {reason}"),
        }
    }
}

/// A parsed, bounds-checked view of an image.
#[derive(Clone, Copy, Debug)]
pub struct CoreImage<'a> {
    pub header: Header,
    pub profile: Profile,
    pub kind: CoreKind,
    entries: &'a [SectionEntry],
    words: &'a [u32],
}

const HEADER_WORDS: usize = core::mem::size_of::<Header>() / 4;
const ENTRY_WORDS: usize = core::mem::size_of::<SectionEntry>() / 4;

fn cast<T: Pod>(words: &[u32]) -> Option<&[T]> {
    let bytes: &[u8] = bytemuck::cast_slice(words);
    if bytes.len() % core::mem::size_of::<T>() != 0 {
        return None;
    }
    bytemuck::try_cast_slice(bytes).ok()
}

impl<'a> CoreImage<'a> {
    /// Parses and bounds-checks an image.
    pub fn parse(words: &'a [u32]) -> Result<Self, ImageError> {
        if words.len() < HEADER_WORDS {
            return Err(ImageError::Truncated { needed: HEADER_WORDS, have: words.len() });
        }
        let header: Header = *bytemuck::from_bytes(bytemuck::cast_slice(&words[..HEADER_WORDS]));
        if header.magic != MAGIC {
            return Err(ImageError::BadMagic(header.magic));
        }
        if header.version != VERSION {
            return Err(ImageError::Version { found: header.version, supported: VERSION });
        }
        let profile = match header.profile {
            1 => Profile::Spinnaker,
            2 => Profile::Loihi,
            v => return Err(ImageError::BadHeaderField { field: "profile", value: v as u32 }),
        };
        let kind = match header.kind {
            1 => CoreKind::Neurons,
            2 => CoreKind::Source,
            v => return Err(ImageError::BadHeaderField { field: "kind", value: v as u32 }),
        };
        let n_words = header.n_words as usize;
        if words.len() < n_words {
            return Err(ImageError::Truncated { needed: n_words, have: words.len() });
        }
        let words = &words[..n_words];
        let table_end = (header.n_sections as usize).checked_mul(ENTRY_WORDS).and_then(|x| x.checked_add(HEADER_WORDS)).unwrap_or(usize::MAX);
        if table_end > n_words {
            return Err(ImageError::Truncated { needed: table_end, have: n_words });
        }
        let entries: &[SectionEntry] = cast(&words[HEADER_WORDS..table_end]).ok_or(ImageError::Truncated { needed: table_end, have: n_words })?;
        for e in entries {
            let end = e.offset as u64 + e.len as u64;
            if (e.offset as usize) < table_end || end > n_words as u64 {
                return Err(ImageError::SectionBounds { kind: e.kind, offset: e.offset, len: e.len });
            }
        }
        Ok(CoreImage { header, profile, kind, entries, words })
    }

    /// The raw words and element count of a section, if present.
    pub fn section(&self, kind: SectionKind) -> Option<(&'a [u32], u32)> {
        self.entries
            .iter()
            .find(|e| e.kind == kind as u32)
            .map(|e| (&self.words[e.offset as usize..(e.offset + e.len) as usize], e.count))
    }

    /// A required section as a slice of `n_neurons` elements of `T`.
    pub fn per_neuron<T: Pod>(&self, kind: SectionKind) -> Result<&'a [T], ImageError> {
        let (w, count) = self.section(kind).ok_or(ImageError::MissingSection(kind))?;
        let items: &[T] = cast(w).ok_or(ImageError::BadSection { kind, reason: "length is not a whole number of elements" })?;
        if items.len() != self.header.n_neurons as usize || count != self.header.n_neurons {
            return Err(ImageError::BadSection { kind, reason: "element count differs from the header's neuron count" });
        }
        Ok(items)
    }

    /// A required section holding exactly one `T`.
    pub fn single<T: Pod>(&self, kind: SectionKind) -> Result<&'a T, ImageError> {
        let (w, _) = self.section(kind).ok_or(ImageError::MissingSection(kind))?;
        let items: &[T] = cast(w).ok_or(ImageError::BadSection { kind, reason: "length is not one element" })?;
        match items {
            [one] => Ok(one),
            _ => Err(ImageError::BadSection { kind, reason: "expected exactly one element" }),
        }
    }
}

/// A bounds-checked view of a synaptic matrix section.
#[derive(Clone, Copy, Debug)]
pub struct SynapticMatrix<'a> {
    pub blocks: &'a [MatrixBlock],
    row_index: &'a [u32],
    words: &'a [u32],
}

impl<'a> SynapticMatrix<'a> {
    /// Parses the section; every row must lie within the words.
    pub fn parse(section: &'a [u32]) -> Result<Self, ImageError> {
        const K: SectionKind = SectionKind::SynapticMatrix;
        let bad = |reason| ImageError::BadSection { kind: K, reason };
        if section.len() < 4 {
            return Err(bad("shorter than its header"));
        }
        let h: MatrixHeader = *bytemuck::from_bytes(bytemuck::cast_slice(&section[..4]));
        let blocks_end = 4usize.checked_add((h.n_blocks as usize).checked_mul(4).ok_or(bad("block count overflows"))?).ok_or(bad("block count overflows"))?;
        let index_end = blocks_end.checked_add(h.n_rows as usize + 1).ok_or(bad("row count overflows"))?;
        let words_end = index_end.checked_add(h.n_words as usize).ok_or(bad("word count overflows"))?;
        if words_end != section.len() {
            return Err(bad("declared sizes do not match the section length"));
        }
        let blocks: &[MatrixBlock] = cast(&section[4..blocks_end]).ok_or(bad("misaligned blocks"))?;
        let row_index = &section[blocks_end..index_end];
        let words = &section[index_end..words_end];
        if row_index.first() != Some(&0) || row_index.windows(2).any(|w| w[0] > w[1]) || *row_index.last().unwrap() as usize != words.len() {
            return Err(bad("row index is not a monotone list of offsets ending at the word count"));
        }
        for b in blocks {
            if b.first_row as u64 + b.n_sources as u64 > h.n_rows as u64 {
                return Err(bad("a block's rows lie outside the row index"));
            }
        }
        Ok(SynapticMatrix { blocks, row_index, words })
    }

    /// The block and the row within it for a key, if this core listens to it.
    pub fn lookup(&self, key: u32) -> Option<(usize, u32)> {
        // Blocks are sorted by key_base (checked by the writer; a linear
        // scan keeps this correct for any order).
        self.blocks
            .iter()
            .position(|b| key >= b.key_base && key - b.key_base < b.n_sources)
            .map(|i| (i, key - self.blocks[i].key_base))
    }

    /// The synapse words of row `row` of block `block`.
    pub fn row(&self, block: usize, row: u32) -> &'a [u32] {
        let r = (self.blocks[block].first_row + row) as usize;
        &self.words[self.row_index[r] as usize..self.row_index[r + 1] as usize]
    }
}

/// A bounds-checked view of a source core's spike list.
#[derive(Clone, Copy, Debug)]
pub struct SourceSpikes<'a> {
    offsets: &'a [u32],
    steps: &'a [u32],
}

impl<'a> SourceSpikes<'a> {
    pub fn parse(section: &'a [u32]) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadSection { kind: SectionKind::SourceSpikes, reason };
        if section.len() < 2 {
            return Err(bad("shorter than its header"));
        }
        let (n, s) = (section[0] as usize, section[1] as usize);
        let end = 2usize.checked_add(n).and_then(|x| x.checked_add(1)).and_then(|x| x.checked_add(s)).ok_or(bad("sizes overflow"))?;
        if end != section.len() {
            return Err(bad("declared sizes do not match the section length"));
        }
        let offsets = &section[2..3 + n];
        let steps = &section[3 + n..];
        if offsets[0] != 0 || offsets.windows(2).any(|w| w[0] > w[1]) || offsets[n] as usize != s {
            return Err(bad("offsets are not monotone or do not end at the spike count"));
        }
        for i in 0..n {
            let t = &steps[offsets[i] as usize..offsets[i + 1] as usize];
            if t.windows(2).any(|w| w[0] >= w[1]) || t.first() == Some(&0) {
                return Err(bad("spike steps of a neuron are not strictly increasing steps >= 1"));
            }
        }
        Ok(SourceSpikes { offsets, steps })
    }

    pub fn n_neurons(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Spike steps of neuron `i`, sorted.
    pub fn steps(&self, i: usize) -> &'a [u32] {
        &self.steps[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// A bounds-checked view of a recording section.
#[derive(Clone, Copy, Debug)]
pub struct Recording<'a> {
    pub entries: &'a [RecordEntry],
    neurons: &'a [u32],
}

impl<'a> Recording<'a> {
    pub fn parse(section: &'a [u32], n_neurons: u32) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadSection { kind: SectionKind::Recording, reason };
        if section.len() < 2 {
            return Err(bad("shorter than its header"));
        }
        let (ne, nn) = (section[0] as usize, section[1] as usize);
        let end = ne.checked_mul(4).and_then(|x| x.checked_add(2 + nn)).ok_or(bad("sizes overflow"))?;
        if end != section.len() {
            return Err(bad("declared sizes do not match the section length"));
        }
        let entries: &[RecordEntry] = cast(&section[2..2 + 4 * ne]).ok_or(bad("misaligned entries"))?;
        let neurons = &section[2 + 4 * ne..];
        for e in entries {
            if Variable::from_u32(e.variable).is_none() {
                return Err(bad("unknown variable"));
            }
            if e.every_n_steps == 0 {
                return Err(bad("sampling interval of 0 steps"));
            }
            if e.first as u64 + e.count as u64 > neurons.len() as u64 {
                return Err(bad("an entry's neurons lie outside the list"));
            }
        }
        if neurons.iter().any(|&n| n >= n_neurons) {
            return Err(bad("a recorded neuron index is out of range"));
        }
        Ok(Recording { entries, neurons })
    }

    /// The neurons recorded by `entry`.
    pub fn neurons(&self, entry: &RecordEntry) -> &'a [u32] {
        &self.neurons[entry.first as usize..(entry.first + entry.count) as usize]
    }
}
