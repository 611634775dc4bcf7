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
    /// Loihi: the plastic (LearningDense) projections onto this core,
    /// `[LoihiPlastic; count]`; see [`LoihiPlasticSections`].
    LoihiLearning = 20,
    /// Loihi: the encoded learning rules of each plastic projection,
    /// `count × loihi::encoding::RULES_WORDS` words.
    LoihiLearningRules = 21,
    /// Loihi: the dense plastic weights (and tags) of each plastic projection.
    LoihiPlasticWeights = 22,
    /// Loihi: which source keys are which pre neurons, `[PlasticSource; count]`.
    LoihiPlasticSources = 23,
    /// Loihi: the initial x and y traces of each plastic projection.
    LoihiTraceInit = 24,
    /// Loihi: `[u32; n_blocks]`, the accumulation group of each block of the
    /// [`SectionKind::SynapticMatrix`] (in block order). The raw weight sums
    /// of all blocks of one group (one projection) arriving in one step are
    /// added up before the group's `weight_exp` is applied, as Lava's Dense
    /// shifts the sum over all its inputs; blocks of one group carry the same
    /// `weight_exp`. Absent: every block is its own group.
    LoihiBlockGroups = 10,
    /// SpiNNaker STDP rule of the core: one [`StdpRuleHeader`], then
    /// `n_synapse_types` weight regions, one per synapse type (kind
    /// [`StdpWeightKind`]: `spinnaker::stdp::WeightRegion`, 4 words, or
    /// `WeightRegionTwoTerm`, 6 words). See [`StdpRule`].
    SpinnakerStdpRule = 16,
    /// SpiNNaker STDP exp LUTs, `count` of them back to back, each in
    /// sPyNNaker's packed form (`size | shift << 16`, then `size` i16 values
    /// two per word, low half first): pair and nearest pair `[tau_plus,
    /// tau_minus]`, triplet `[tau_plus, tau_minus, tau_x, tau_y]`.
    SpinnakerStdpLuts = 17,
    /// `[H; n_neurons]`: the initial post-event history of every neuron, `H`
    /// the timing rule's `post_event_history_t`
    /// (`spinnaker::stdp::PostEventHistory` 100 B, `nearest::NearestPostEventHistory`
    /// 68 B, `triplet::TripletPostEventHistory` 196 B).
    SpinnakerPostHistories = 18,
    /// SpiNNaker plastic synaptic matrix: the block/row-index layout of
    /// [`SectionKind::SynapticMatrix`], rows in sPyNNaker's row format; see
    /// [`PlasticRowLayout`]. Static synapses of the same source stay in the
    /// core's `SynapticMatrix`.
    SpinnakerPlasticMatrix = 19,
    /// SpiNNaker free-energy rule of the core (`spinnaker::fep`), count 1:
    /// one [`FepRuleHeader`] (8 words), then the tables and constants as
    /// `spinnaker::fep::FEP_TABLE_WORDS` words (`FepTables::to_words`; built
    /// by `spinnaker::fep_host::build`, 6,960 bytes).
    SpinnakerFepRule = 25,
    /// SpiNNaker free-energy synapses: the block/row-index layout of
    /// [`SectionKind::SynapticMatrix`] (one block per source core); row `i`
    /// holds every free-energy synapse of source neuron `i` onto the core
    /// (empty: no words). Row of `n` synapses, [`FEP_ROW_HEADER_WORDS`]` + 4n + ⌈n/2⌉` words:
    /// * word 0: release-noise state (`spinnaker::fep::FepRng`, xorshift32,
    ///   nonzero; the host derives it from the seed, see [`fep_row_seed`]);
    /// * word 1: number of spikes in the history (≤ `FEP_PENDING_CAP` = 255),
    ///   word 2: ring index of the oldest;
    /// * words 3 … 257: the source neuron's spike history, steps of its pre
    ///   spikes younger than `N − 1` = 255 steps (ring of 255 `u32`), shared
    ///   by the row's synapses;
    /// * word 258: `n`;
    /// * per synapse 4 words: weight (`Uq8p24`), the synapse's last post event
    ///   step `t1` (`u32::MAX`: none yet), the folded accumulator
    ///   (`Sq39p24`, low word then high word);
    /// * the control half-words (`spinnaker::stdp::PlasticSynapse::to_control`:
    ///   delay, synapse type, neuron), two per word, low half first.
    SpinnakerFepMatrix = 26,
}

/// Words of a [`SectionKind::SpinnakerFepMatrix`] row before its synapses.
pub const FEP_ROW_HEADER_WORDS: usize = 3 + 255 + 1;

/// Header of a [`SectionKind::SpinnakerFepRule`] section.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct FepRuleHeader {
    /// The release-noise seed (`FreeEnergy.release_seed`, or derived from
    /// the network seed), low and high word; the rows' generator states are
    /// [`fep_row_seed`] of it.
    pub seed_lo: u32,
    pub seed_hi: u32,
    /// Per synapse type: the release `y` ([`Uq8p24`](crate::spinnaker::fep::Uq8p24),
    /// in IR weight units) becomes the ring-buffer weight
    /// `w16 = min(0xFFFF, (y + 2^(s−1)) >> s)` with `s = 9 + left_shift`
    /// (`w16 = y·2^(15 − left_shift)`, the static projections' weight scale).
    pub to_ring_shift: [u32; 2],
    pub reserved: [u32; 4],
}

/// The release-noise state of the row of source neuron `neuron` of source
/// core `source` on target core `target`: SplitMix64 of
/// `seed ^ (target << 40 | source << 20 | neuron)`, low 32 bits (a zero
/// result is replaced by the generator's own default).
pub const fn fep_row_seed(seed: u64, target: u32, source: u32, neuron: u32) -> u32 {
    let mut z = (seed ^ ((target as u64) << 40 | (source as u64) << 20 | neuron as u64)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z as u32
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
    if !bytes.len().is_multiple_of(core::mem::size_of::<T>()) {
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
        Self::parse_as(section, SectionKind::SynapticMatrix)
    }

    /// Parses a section of kind `kind` with this layout
    /// ([`SectionKind::SpinnakerPlasticMatrix`] shares it).
    pub fn parse_as(section: &'a [u32], kind: SectionKind) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadSection { kind, reason };
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

// ---------------------------------------------------------------- Loihi learning

/// Flag of [`LoihiPlastic::flags`]: tag arrays `d` (tag_2) and `t` (tag_1)
/// follow the weights (required when a rule targets or reads `d` or `t`).
pub const PLASTIC_HAS_TAGS: u32 = 1;

/// One plastic (Lava `LearningDense`, sum-of-products) projection onto a
/// Loihi core: element of a [`SectionKind::LoihiLearning`] section.
///
/// 136 bytes, `repr(C)`, no implicit padding. It contains `f64`s (the trace
/// decay factors), so readers copy it out of the word-aligned image
/// (`bytemuck::pod_read_unaligned`) rather than casting in place.
///
/// The projection is *dense*: its weight matrix has one row per neuron of
/// the core (`n_post = n_neurons`, local index order) and one column per
/// neuron of the pre population (`n_pre`, population index order, so a
/// column index is the pre neuron's population index). The `n_sources`
/// [`PlasticSource`] entries from `first_source` map the keys of the pre
/// population's cores onto the columns.
///
/// Layout of projection `p`'s data in the other sections (offsets in words
/// from the start of the section):
///
/// ```text
/// LoihiLearningRules   words p·RULES_WORDS ..               loihi::encoding (dw, dd, dt)
/// LoihiPlasticWeights  words weights_offset ..              w[n_post][n_pre]  i16, row-major
///                      (flags & PLASTIC_HAS_TAGS:)          d[n_post][n_pre]  i16 (tag_2)
///                                                           t[n_post][n_pre]  i16 (tag_1)
///                      each array padded with zero bytes to a whole word
/// LoihiPlasticSources  entries first_source .. + n_sources  PlasticSource
/// LoihiTraceInit       words traces_offset ..               x1[n_pre] x2[n_pre] y1[n_post]
///                                                           y2[n_post] y3[n_post]  u8 (0..=127),
///                                                           one run padded to a whole word
/// ```
///
/// The weights are the prepared LearningDense weights (truncated, not
/// clipped, as Lava prepares them; the compiler requires them within the
/// sign mode's range). The learning engine (`loihi::learning`) updates `w`,
/// `d`, `t` and the traces in place; the projection's Dense delivery
/// (`(Σ w) << weight_exp` into the delay-line slot `delay` steps ahead)
/// always uses the current `w`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct LoihiPlastic {
    /// Traces, seed, epoch length and sign mode (`loihi::learning`).
    pub learning: crate::loihi::learning::LearningParams,
    /// Sign mode (equal to `learning.sign_mode`), weight bits and weight
    /// exponent of the Dense datapath (`loihi::dense`).
    pub dense: crate::loihi::dense::DenseParams,
    /// Index of the projection in the program's projection list (the
    /// manifest), for weight read-back.
    pub projection: u32,
    /// Synaptic delay in steps, >= 1, the same for every synapse (Lava's
    /// LearningDense: 1).
    pub delay: u32,
    /// Columns: neurons of the pre population.
    pub n_pre: u32,
    /// Rows: neurons of this core (must equal the header's `n_neurons`).
    pub n_post: u32,
    /// Offset of the weights in the [`SectionKind::LoihiPlasticWeights`] section, in words.
    pub weights_offset: u32,
    /// Index of the first [`PlasticSource`] of this projection.
    pub first_source: u32,
    /// Number of [`PlasticSource`] entries (source cores of the pre population).
    pub n_sources: u32,
    /// Offset of the initial traces in the [`SectionKind::LoihiTraceInit`] section, in words.
    pub traces_offset: u32,
    /// [`PLASTIC_HAS_TAGS`] or 0; other bits are reserved (0).
    pub flags: u32,
}

/// The keys of one source core of a plastic projection's pre population:
/// key `key_base + i` (i < `n`) is column `first_pre + i`. 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct PlasticSource {
    /// Key of the source core's first neuron (`key(core, 0)`).
    pub key_base: u32,
    /// Neurons of the source core.
    pub n: u32,
    /// Column of the source core's first neuron.
    pub first_pre: u32,
    /// Reserved, 0.
    pub reserved: u32,
}

impl PlasticSource {
    /// The source core (the key's upper bits).
    pub fn core(&self) -> u32 {
        self.key_base >> KEY_CORE_SHIFT
    }
}

/// Words of an `n`-element array of `i16`, padded to a whole word.
pub const fn i16_words(n: usize) -> usize {
    n.div_ceil(2)
}

/// Words of the initial traces of a projection (`2 n_pre + 3 n_post` bytes, padded).
pub const fn trace_init_words(n_pre: usize, n_post: usize) -> usize {
    (2 * n_pre + 3 * n_post).div_ceil(4)
}

/// A bounds-checked view of a core's plastic-projection sections.
#[derive(Clone, Copy, Debug)]
pub struct LoihiPlasticSections<'a> {
    descs: &'a [u32],
    rules: &'a [u32],
    weights: &'a [u32],
    sources: &'a [PlasticSource],
    traces: &'a [u32],
    n: usize,
}

/// One plastic projection of a core, with its data (see [`LoihiPlastic`]).
#[derive(Clone, Copy, Debug)]
pub struct PlasticView<'a> {
    pub desc: LoihiPlastic,
    /// The encoded rules (`loihi::encoding::RULES_WORDS` words).
    pub rules: &'a [u32],
    /// `n_post × n_pre` weights, `[post][pre]`.
    pub weights: &'a [i16],
    /// Tags d (tag_2), same shape, or empty.
    pub d: &'a [i16],
    /// Tags t (tag_1), same shape, or empty.
    pub t: &'a [i16],
    pub sources: &'a [PlasticSource],
    /// Initial x1, x2 (`n_pre` each).
    pub x_init: [&'a [u8]; 2],
    /// Initial y1, y2, y3 (`n_post` each).
    pub y_init: [&'a [u8]; 3],
}

const PLASTIC_WORDS: usize = core::mem::size_of::<LoihiPlastic>() / 4;

impl<'a> LoihiPlasticSections<'a> {
    /// Parses and checks the sections; `Ok(None)` when the core has no
    /// [`SectionKind::LoihiLearning`] section. Checks every descriptor
    /// (learning and Dense parameters, equal sign modes, delay >= 1,
    /// `n_post` = the core's neurons, data within the sections, sources
    /// covering the columns contiguously in ascending order, no reserved
    /// bits, trace values <= 127), that every rule block decodes, has at
    /// least one rule, and has the tag arrays its rules need.
    pub fn parse(img: &CoreImage<'a>) -> Result<Option<Self>, ImageError> {
        use crate::loihi::encoding::{decode_rules, RULES_WORDS};
        use crate::loihi::rule::{FactorVar, Target};
        const K: SectionKind = SectionKind::LoihiLearning;
        let Some((descs, count)) = img.section(K) else {
            return Ok(None);
        };
        let bad = |kind, reason| ImageError::BadSection { kind, reason };
        let n = count as usize;
        if Some(descs.len()) != n.checked_mul(PLASTIC_WORDS) {
            return Err(bad(K, "length is not count descriptors"));
        }
        let need = |kind| img.section(kind).map(|(w, _)| w).ok_or(ImageError::MissingSection(kind));
        let rules = need(SectionKind::LoihiLearningRules)?;
        let weights = need(SectionKind::LoihiPlasticWeights)?;
        let src_words = need(SectionKind::LoihiPlasticSources)?;
        let traces = need(SectionKind::LoihiTraceInit)?;
        if Some(rules.len()) != n.checked_mul(RULES_WORDS) {
            return Err(bad(SectionKind::LoihiLearningRules, "length is not count rule blocks"));
        }
        let sources: &[PlasticSource] = cast(src_words).ok_or(bad(SectionKind::LoihiPlasticSources, "length is not a whole number of entries"))?;
        let set = LoihiPlasticSections { descs, rules, weights, sources, traces, n };
        for p in 0..n {
            let d = set.desc(p);
            d.learning.validate().map_err(|_| bad(K, "invalid learning parameters"))?;
            d.dense.validate().map_err(|_| bad(K, "invalid Dense parameters"))?;
            if d.learning.sign_mode != d.dense.sign_mode {
                return Err(bad(K, "learning and Dense sign modes differ"));
            }
            if d.delay == 0 || d.n_pre == 0 || d.n_post != img.header.n_neurons || d.flags & !PLASTIC_HAS_TAGS != 0 {
                return Err(bad(K, "zero delay or pre neurons, rows other than the core's neurons, or reserved flag bits"));
            }
            let syn = d.n_pre as u64 * d.n_post as u64;
            let arrays = if d.flags & PLASTIC_HAS_TAGS != 0 { 3 } else { 1 };
            if d.weights_offset as u64 + arrays * syn.div_ceil(2) > weights.len() as u64 {
                return Err(bad(SectionKind::LoihiPlasticWeights, "a projection's weights lie outside the section"));
            }
            if d.traces_offset as u64 + (2 * d.n_pre as u64 + 3 * d.n_post as u64).div_ceil(4) > traces.len() as u64 {
                return Err(bad(SectionKind::LoihiTraceInit, "a projection's traces lie outside the section"));
            }
            if d.first_source as u64 + d.n_sources as u64 > sources.len() as u64 {
                return Err(bad(SectionKind::LoihiPlasticSources, "a projection's sources lie outside the section"));
            }
            let mut next = 0u64;
            for s in &sources[d.first_source as usize..(d.first_source + d.n_sources) as usize] {
                if s.first_pre as u64 != next || s.n == 0 || s.n > MAX_NEURONS_PER_CORE || s.key_base & (MAX_NEURONS_PER_CORE - 1) != 0 || s.reserved != 0 {
                    return Err(bad(SectionKind::LoihiPlasticSources, "sources do not cover the columns contiguously in order, or a key base is not a core's first key"));
                }
                next += s.n as u64;
            }
            if next != d.n_pre as u64 {
                return Err(bad(SectionKind::LoihiPlasticSources, "sources do not cover every column"));
            }
            let v = set.view(p);
            if v.x_init.iter().chain(v.y_init.iter()).any(|tr| tr.iter().any(|&x| x > crate::loihi::learning::TRACE_MAX)) {
                return Err(bad(SectionKind::LoihiTraceInit, "a trace above 127"));
            }
            let rs = decode_rules(v.rules).map_err(|_| bad(SectionKind::LoihiLearningRules, "a rule block does not decode"))?;
            if rs.dw.is_none() && rs.dd.is_none() && rs.dt.is_none() {
                return Err(bad(SectionKind::LoihiLearningRules, "a projection without any rule"));
            }
            let uses_tags = [rs.dw.as_ref(), rs.dd.as_ref(), rs.dt.as_ref()]
                .into_iter()
                .flatten()
                .any(|s| s.target() != Target::Dw || s.products().iter().any(|p| p.factors().iter().any(|f| matches!(f.var, FactorVar::D | FactorVar::T))));
            if uses_tags && d.flags & PLASTIC_HAS_TAGS == 0 {
                return Err(bad(K, "the rules use d or t but the projection has no tag arrays"));
            }
        }
        Ok(Some(set))
    }

    /// Number of plastic projections.
    pub fn len(&self) -> usize {
        self.n
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn desc(&self, p: usize) -> LoihiPlastic {
        let w = &self.descs[p * PLASTIC_WORDS..(p + 1) * PLASTIC_WORDS];
        bytemuck::pod_read_unaligned(bytemuck::cast_slice(w))
    }

    /// Projection `p` (< [`len`](Self::len); everything was checked by
    /// [`parse`](Self::parse)).
    pub fn view(&self, p: usize) -> PlasticView<'a> {
        use crate::loihi::encoding::RULES_WORDS;
        let d = self.desc(p);
        let syn = d.n_pre as usize * d.n_post as usize;
        let words = i16_words(syn);
        let at = d.weights_offset as usize;
        let weights = self.weights;
        let arr = |k: usize| -> &'a [i16] { &bytemuck::cast_slice::<u32, i16>(&weights[at + k * words..at + (k + 1) * words])[..syn] };
        let (dd, tt) = if d.flags & PLASTIC_HAS_TAGS != 0 { (arr(1), arr(2)) } else { (&[][..], &[][..]) };
        let (np, nq) = (d.n_pre as usize, d.n_post as usize);
        let tw = &self.traces[d.traces_offset as usize..d.traces_offset as usize + trace_init_words(np, nq)];
        let tb: &'a [u8] = bytemuck::cast_slice(tw);
        PlasticView {
            desc: d,
            rules: &self.rules[p * RULES_WORDS..(p + 1) * RULES_WORDS],
            weights: arr(0),
            d: dd,
            t: tt,
            sources: &self.sources[d.first_source as usize..(d.first_source + d.n_sources) as usize],
            x_init: [&tb[..np], &tb[np..2 * np]],
            y_init: [&tb[2 * np..2 * np + nq], &tb[2 * np + nq..2 * np + 2 * nq], &tb[2 * np + 2 * nq..2 * np + 3 * nq]],
        }
    }
}

// ---------------------------------------------------------------------------
// SpiNNaker plasticity sections (kinds 16..=19)
// ---------------------------------------------------------------------------

/// Timing rule of a [`SectionKind::SpinnakerStdpRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StdpTimingKind {
    /// All-to-all pair rule (`timing_pair_impl.h`), 2 LUTs.
    Pair = 1,
    /// Nearest-pair rule (`timing_nearest_pair_impl.h`), 2 LUTs.
    NearestPair = 2,
    /// Pfister triplet rule (`timing_pfister_triplet_impl.h`), 4 LUTs.
    Triplet = 3,
}

/// Weight dependence of a [`SectionKind::SpinnakerStdpRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StdpWeightKind {
    /// `weight_additive_one_term_impl.h` (4-word regions).
    Additive = 1,
    /// `weight_multiplicative_impl.h` (4-word regions).
    Multiplicative = 2,
    /// `weight_additive_two_term_impl.h` (6-word regions; triplet only).
    AdditiveTwoTerm = 3,
}

/// Header of a [`SectionKind::SpinnakerStdpRule`] section, 32 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct StdpRuleHeader {
    /// [`StdpTimingKind`] as u32.
    pub timing: u32,
    /// [`StdpWeightKind`] as u32.
    pub weight: u32,
    /// Bits of a stored plastic weight: 16 (sPyNNaker's `u16`, the row's
    /// weights are ring-buffer units) or 32 (`spinnaker::stdp::WideWeight`,
    /// s16.15 in ring-buffer units; regions are then in the same unit).
    pub weight_bits: u32,
    /// sPyNNaker `backprop_delay` (1: post events are delayed by the
    /// synapse's dendritic delay; PyNN's default).
    pub backprop_delay: u32,
    /// Weight regions following the header (one per synapse type, 2).
    pub n_synapse_types: u32,
    /// Reserved, 0.
    pub reserved: [u32; 3],
}

/// A parsed [`SectionKind::SpinnakerStdpRule`] section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdpRule<'a> {
    pub header: StdpRuleHeader,
    pub timing: StdpTimingKind,
    pub weight: StdpWeightKind,
    /// `n_synapse_types × words_per_region` words of s16.15 regions.
    pub regions: &'a [u32],
}

impl<'a> StdpRule<'a> {
    /// Words of one weight region.
    pub const fn region_words(weight: StdpWeightKind) -> usize {
        match weight {
            StdpWeightKind::AdditiveTwoTerm => 6,
            _ => 4,
        }
    }

    /// Number of LUTs the timing rule reads.
    pub const fn n_luts(timing: StdpTimingKind) -> usize {
        match timing {
            StdpTimingKind::Triplet => 4,
            _ => 2,
        }
    }

    /// Parses and checks the section: known kinds, a weight width of 16 or 32,
    /// the two-term regions exactly with the triplet rule, and the length.
    pub fn parse(section: &'a [u32]) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadSection { kind: SectionKind::SpinnakerStdpRule, reason };
        if section.len() < 8 {
            return Err(bad("shorter than its header"));
        }
        let header: StdpRuleHeader = *bytemuck::from_bytes(bytemuck::cast_slice(&section[..8]));
        let timing = match header.timing {
            1 => StdpTimingKind::Pair,
            2 => StdpTimingKind::NearestPair,
            3 => StdpTimingKind::Triplet,
            _ => return Err(bad("unknown timing rule")),
        };
        let weight = match header.weight {
            1 => StdpWeightKind::Additive,
            2 => StdpWeightKind::Multiplicative,
            3 => StdpWeightKind::AdditiveTwoTerm,
            _ => return Err(bad("unknown weight dependence")),
        };
        if (timing == StdpTimingKind::Triplet) != (weight == StdpWeightKind::AdditiveTwoTerm) {
            return Err(bad("the triplet rule takes exactly the additive two-term weight dependence"));
        }
        if header.weight_bits != 16 && header.weight_bits != 32 {
            return Err(bad("weight_bits is neither 16 nor 32"));
        }
        if header.backprop_delay > 1 {
            return Err(bad("backprop_delay is neither 0 nor 1"));
        }
        let n = (header.n_synapse_types as usize).checked_mul(Self::region_words(weight)).ok_or(bad("sizes overflow"))?;
        if section.len() != 8 + n {
            return Err(bad("length differs from the header and its regions"));
        }
        Ok(StdpRule { header, timing, weight, regions: &section[8..] })
    }

    /// The region words of synapse type `t`.
    pub fn region(&self, t: usize) -> Option<&'a [u32]> {
        let w = Self::region_words(self.weight);
        self.regions.get(t * w..(t + 1) * w)
    }
}

/// Where the parts of one plastic row lie (word offsets into the row).
///
/// Row format (sPyNNaker `synapse_row.h`, `N_SYNAPSE_ROW_HEADER_WORDS = 3`):
///
/// ```text
/// [0]          P: plastic-region words
/// [1 .. 1+P]   plastic region: pre-event history (padded to a word), then
///              n_plastic weights (u16 each, or i32 each with 32-bit
///              weights), padded to a word
/// [1+P]        F: fixed (static) synapse words
/// [2+P]        n_plastic: plastic control half-words
/// [3+P .. 3+P+F]           static synapse words (`SynapticMatrix` format)
/// [3+P+F .. ]  n_plastic control half-words `delay | type | neuron`
///              (the `spinnaker::stdp::PlasticSynapse` fields), two per word,
///              low half first, padded to a word
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlasticRowLayout {
    /// Words of the plastic region.
    pub plastic: core::ops::Range<usize>,
    /// Words of static synapses.
    pub fixed: core::ops::Range<usize>,
    /// Words holding the control half-words.
    pub controls: core::ops::Range<usize>,
    /// Number of plastic synapses.
    pub n_plastic: usize,
}

impl PlasticRowLayout {
    /// Parses the counts of a row and checks that every part lies within it
    /// and that the row has no words beyond them.
    pub fn parse(row: &[u32]) -> Result<Self, ImageError> {
        let bad = |reason| ImageError::BadSection { kind: SectionKind::SpinnakerPlasticMatrix, reason };
        let p = *row.first().ok_or(bad("an empty row"))? as usize;
        let fixed_at = 1usize.checked_add(p).ok_or(bad("sizes overflow"))?;
        if row.len() < fixed_at + 2 {
            return Err(bad("a row is shorter than its plastic region and counts"));
        }
        let f = row[fixed_at] as usize;
        let n = row[fixed_at + 1] as usize;
        let fixed = fixed_at + 2..(fixed_at + 2).checked_add(f).ok_or(bad("sizes overflow"))?;
        let controls = fixed.end..fixed.end.checked_add(n.div_ceil(2)).ok_or(bad("sizes overflow"))?;
        if controls.end != row.len() {
            return Err(bad("a row's length differs from its counts"));
        }
        Ok(PlasticRowLayout { plastic: 1..fixed_at, fixed, controls, n_plastic: n })
    }

    /// The control half-words of `row` (laid out as `self` says).
    pub fn control_halfwords<'r>(&self, row: &'r [u32]) -> &'r [u16] {
        let h: &[u16] = bytemuck::cast_slice(&row[self.controls.clone()]);
        &h[..self.n_plastic]
    }
}
