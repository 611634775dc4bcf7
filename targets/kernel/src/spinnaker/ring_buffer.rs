//! The synaptic input ring buffer of a sPyNNaker neuron core.
//!
//! Sources: sPyNNaker `neural_modelling/src/neuron/synapses.c`
//! (`synapses_initialise`, `process_fixed_synapses`), `synapse_row.h`
//! (`synapse_row_get_ring_buffer_index*`, `synapse_row_convert_weight_to_input`,
//! fixed-synapse word layout) and `neuron.c` (`neuron_transfer`), read at the
//! fork `emijan-kth/sPyNNaker` @558fca1 (merge of upstream master 2023-10-17).
//!
//! * The buffer holds `2^(log_max_delay + log_n_synapse_types + log_n_neurons)`
//!   `u16` entries, index bits MSB→LSB `delay | synapse type | neuron`.
//! * An event for time `t` with delay `d` lands in slot `(t + d) & delay_mask`.
//! * Adds saturate at `0xFFFF`; every saturating add increments a counter
//!   (`synapses_saturation_count`).
//! * At the start of step `t` the slot `t & delay_mask` is transferred: each
//!   non-zero entry becomes `s1615 bits = (i32) w16 << left_shift[type]` and is
//!   handed to the synapse shaping of that neuron and type; the slot is
//!   zeroed.

use crate::fixed::S1615;
use bytemuck::{Pod, Zeroable};

/// Field widths of a core's ring buffer and synaptic words (the
/// `log_n_neurons`, `log_n_synapse_types`, `log_max_delay` words of the
/// synapse-parameters region).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct RingBufferLayout {
    /// Bits of the neuron index.
    pub log_n_neurons: u32,
    /// Bits of the synapse type.
    pub log_n_synapse_types: u32,
    /// Bits of the delay (ring length `2^log_max_delay` steps).
    pub log_max_delay: u32,
}

impl RingBufferLayout {
    /// `synapse_type_index_bits = log_n_neurons + log_n_synapse_types`.
    #[inline]
    pub const fn type_index_bits(&self) -> u32 {
        self.log_n_neurons + self.log_n_synapse_types
    }

    /// `synapse_delay_mask`.
    #[inline]
    pub const fn delay_mask(&self) -> u32 {
        (1u32 << self.log_max_delay) - 1
    }

    /// Number of `u16` entries of the whole buffer.
    #[inline]
    pub const fn len(&self) -> usize {
        1usize << (self.log_n_neurons + self.log_n_synapse_types + self.log_max_delay)
    }

    /// Always false (a layout has at least one entry); present for symmetry
    /// with [`len`](Self::len).
    #[inline]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Entries of one time slot (`2^(type bits + neuron bits)`).
    #[inline]
    pub const fn slot_len(&self) -> usize {
        1usize << self.type_index_bits()
    }

    /// Entries per synapse type within a slot (`2^log_n_neurons`,
    /// `n_neurons_peak` in `neuron.c`).
    #[inline]
    pub const fn neurons_per_type(&self) -> usize {
        1usize << self.log_n_neurons
    }

    /// `synapse_row_get_ring_buffer_index`:
    /// `((t & delay_mask) << type_index_bits) | (type << log_n_neurons) | neuron`.
    #[inline]
    pub const fn index(&self, time: u32, synapse_type: u32, neuron: u32) -> usize {
        (((time & self.delay_mask()) << self.type_index_bits())
            | (synapse_type << self.log_n_neurons)
            | neuron) as usize
    }

    /// `synapse_row_get_first_ring_buffer_index`: start of the slot of `time`.
    #[inline]
    pub const fn first_index(&self, time: u32) -> usize {
        ((time & self.delay_mask()) << self.type_index_bits()) as usize
    }

    /// Pack a fixed-synapse word (`synapse_dynamics_static.py`,
    /// `get_static_synaptic_data`): `w16 << 16 | delay << type_index_bits |
    /// type << log_n_neurons | neuron`. Fields wider than their bit widths are
    /// masked the way the word layout masks them (neuron by its mask; delay
    /// and type are trusted to fit, as upstream).
    #[inline]
    pub const fn fixed_word(&self, weight: u16, delay: u32, synapse_type: u32, neuron: u32) -> u32 {
        ((weight as u32) << 16)
            | (delay << self.type_index_bits())
            | (synapse_type << self.log_n_neurons)
            | (neuron & ((1u32 << self.log_n_neurons) - 1))
    }
}

/// Saturating add of a 16-bit weight into one entry. Returns `true` (and
/// increments `saturation_count`) when the sum reached `0x10000`; the entry
/// is then `0xFFFF`.
#[inline]
pub fn add_saturating(entry: &mut u16, weight: u16, saturation_count: &mut u32) -> bool {
    let sum = *entry as u32 + weight as u32;
    if sum & 0x1_0000 != 0 {
        *entry = 0xFFFF;
        *saturation_count = saturation_count.wrapping_add(1);
        true
    } else {
        *entry = sum as u16;
        false
    }
}

/// Outcome of [`process_fixed_synapses`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedRowStats {
    /// Synapses added to the buffer.
    pub added: u32,
    /// Synapses skipped because their delay had already passed
    /// (`skipped_synapses`).
    pub skipped: u32,
    /// Adds that saturated.
    pub saturated: u32,
}

/// `process_fixed_synapses`: add every fixed-synapse word of a row into the
/// ring buffer for a spike that arrived at `time`. `colour_delay` is the
/// number of steps the spike arrived late (0 normally); words whose non-zero
/// delay is `<= colour_delay` are skipped, the others land at
/// `(word + ((time - colour_delay) & delay_mask) << type_index_bits) & mask`.
pub fn process_fixed_synapses(
    buffer: &mut [u16],
    layout: &RingBufferLayout,
    time: u32,
    colour_delay: u32,
    words: &[u32],
    saturation_count: &mut u32,
) -> FixedRowStats {
    let tib = layout.type_index_bits();
    let delay_mask_shifted = layout.delay_mask() << tib;
    let colour_delay_shifted = colour_delay << tib;
    let masked_time = (time.wrapping_sub(colour_delay) & layout.delay_mask()) << tib;
    let rb_mask = (layout.len() - 1) as u32;
    let mut stats = FixedRowStats::default();
    for &word in words {
        let d = word & delay_mask_shifted;
        if d != 0 && d <= colour_delay_shifted {
            stats.skipped += 1;
            continue;
        }
        let index = (word.wrapping_add(masked_time) & rb_mask) as usize;
        let weight = (word >> 16) as u16;
        if add_saturating(&mut buffer[index], weight, saturation_count) {
            stats.saturated += 1;
        }
        stats.added += 1;
    }
    stats
}

/// [`process_fixed_synapses`] for a spike that arrived on time
/// (`colour_delay == 0`, so no word is skipped), as one tight loop: the same
/// indices, the same saturating adds, the same saturation count (wrapping).
/// Returns the number of synapses added (`words.len()`). For the emulator's
/// hot path; the buffer must be at least `layout.len()` long.
#[inline]
pub fn add_fixed_row(buffer: &mut [u16], layout: &RingBufferLayout, time: u32, words: &[u32], saturation_count: &mut u32) -> u32 {
    let masked_time = (time & layout.delay_mask()) << layout.type_index_bits();
    let rb_mask = (layout.len() - 1) as u32;
    let buffer = &mut buffer[..layout.len()];
    let mut saturated = 0u32;
    for &word in words {
        let index = (word.wrapping_add(masked_time) & rb_mask) as usize;
        // At most 0xFFFF + 0xFFFF: bit 16 is set exactly when the add saturates.
        let sum = buffer[index] as u32 + (word >> 16);
        buffer[index] = sum.min(0xFFFF) as u16;
        saturated += sum >> 16;
    }
    *saturation_count = saturation_count.wrapping_add(saturated);
    words.len() as u32
}

/// `synapse_row_convert_weight_to_input`: `(i32) w16 << left_shift`,
/// reinterpreted as s16.15. The shift is done on 32 bits; bits shifted past
/// bit 31 are lost (a shift of 16 or more makes large weights negative, as on
/// the chip).
#[inline]
pub const fn convert_weight_to_input(weight: u16, left_shift: u32) -> S1615 {
    S1615(((weight as u32) << (left_shift & 31)) as i32)
}

/// `neuron_transfer`: walk the slot of `time` (type-major, then neuron),
/// call `add(type, neuron, input)` for each non-zero entry with
/// `input = convert_weight_to_input(w, left_shifts[type])`, and zero the slot.
/// Only neurons `< n_neurons` are delivered; entries of padding neurons are
/// cleared (upstream would raise a run-time error if one were non-zero).
/// Returns the number of entries delivered.
pub fn transfer_slot<F: FnMut(u32, u32, S1615)>(
    buffer: &mut [u16],
    layout: &RingBufferLayout,
    time: u32,
    left_shifts: &[u32],
    n_neurons: u32,
    mut add: F,
) -> u32 {
    let first = layout.first_index(time);
    let slot = &mut buffer[first..first + layout.slot_len()];
    let per_type = layout.neurons_per_type();
    let mut delivered = 0;
    for (s_type, chunk) in slot.chunks_mut(per_type).enumerate() {
        let shift = left_shifts.get(s_type).copied().unwrap_or(0);
        for (neuron, entry) in chunk.iter_mut().enumerate() {
            let w = *entry;
            if w > 0 && (neuron as u32) < n_neurons && s_type < left_shifts.len() {
                add(s_type as u32, neuron as u32, convert_weight_to_input(w, shift));
                delivered += 1;
            }
            *entry = 0;
        }
    }
    delivered
}
