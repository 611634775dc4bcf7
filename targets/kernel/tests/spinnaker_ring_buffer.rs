//! Ring buffer layout, saturation and weight conversion (sPyNNaker
//! `synapses.c`, `synapse_row.h`, `neuron.c`).

use spikeforge_kernel::fixed::S1615;
use spikeforge_kernel::spinnaker::ring_buffer::{
    add_fixed_row, add_saturating, convert_weight_to_input, process_fixed_synapses, transfer_slot, RingBufferLayout,
};

const L: RingBufferLayout = RingBufferLayout { log_n_neurons: 8, log_n_synapse_types: 1, log_max_delay: 4 };

#[test]
fn index_layout() {
    assert_eq!(L.len(), 1 << 13);
    assert_eq!(L.slot_len(), 512);
    assert_eq!(L.type_index_bits(), 9);
    assert_eq!(L.delay_mask(), 15);
    // ((t + d) & mask) << 9 | type << 8 | neuron
    assert_eq!(L.index(0, 0, 0), 0);
    assert_eq!(L.index(3, 1, 5), (3 << 9) | (1 << 8) | 5);
    assert_eq!(L.index(17, 0, 255), (1 << 9) | 255); // time wraps modulo 16
    assert_eq!(L.first_index(18), 2 << 9);
    assert_eq!(L.fixed_word(0xABCD, 3, 1, 7), 0xABCD_0000 | (3 << 9) | (1 << 8) | 7);
}

#[test]
fn saturating_add_counts() {
    let mut e = 0xFFF0u16;
    let mut c = 0;
    assert!(!add_saturating(&mut e, 0x0F, &mut c));
    assert_eq!((e, c), (0xFFFF, 0));
    assert!(add_saturating(&mut e, 1, &mut c));
    assert_eq!((e, c), (0xFFFF, 1));
    let mut e = 0x8000u16;
    assert!(add_saturating(&mut e, 0x8000, &mut c));
    assert_eq!((e, c), (0xFFFF, 2));
}

#[test]
fn fixed_row_lands_at_time_plus_delay_and_saturates() {
    let mut rb = vec![0u16; L.len()];
    let mut sat = 0;
    let row = [
        L.fixed_word(100, 1, 0, 3),
        L.fixed_word(200, 15, 1, 3),
        L.fixed_word(0xFFFF, 2, 0, 4),
        L.fixed_word(1, 2, 0, 4),
    ];
    let s = process_fixed_synapses(&mut rb, &L, 20, 0, &row, &mut sat);
    assert_eq!((s.added, s.skipped, s.saturated, sat), (4, 0, 1, 1));
    assert_eq!(rb[L.index(21, 0, 3)], 100);
    assert_eq!(rb[L.index(35, 1, 3)], 200);
    assert_eq!(rb[L.index(22, 0, 4)], 0xFFFF);
    // late spike: delays <= colour_delay are skipped, others shift back
    let mut rb2 = vec![0u16; L.len()];
    let s = process_fixed_synapses(&mut rb2, &L, 20, 1, &row, &mut sat);
    assert_eq!((s.added, s.skipped), (3, 1));
    assert_eq!(rb2[L.index(34, 1, 3)], 200);
}

#[test]
fn weight_to_input_conversion() {
    assert_eq!(convert_weight_to_input(1, 0), S1615(1));
    assert_eq!(convert_weight_to_input(0x8000, 0), S1615(32768)); // 1.0 with shift 0
    assert_eq!(convert_weight_to_input(0xFFFF, 5), S1615(0xFFFF << 5));
    assert_eq!(convert_weight_to_input(0x8000, 16), S1615(i32::MIN)); // bit 31 reached
}

#[test]
fn transfer_delivers_slot_and_clears_it() {
    let l = RingBufferLayout { log_n_neurons: 2, log_n_synapse_types: 1, log_max_delay: 2 };
    let mut rb = vec![0u16; l.len()];
    rb[l.index(5, 0, 1)] = 3;
    rb[l.index(5, 1, 2)] = 4;
    rb[l.index(5, 0, 3)] = 9; // neuron 3 is padding when n_neurons = 3
    rb[l.index(6, 0, 0)] = 7; // other slot untouched
    let mut got = Vec::new();
    let n = transfer_slot(&mut rb, &l, 5, &[2, 4], 3, |t, i, x| got.push((t, i, x.0)));
    assert_eq!(n, 2);
    assert_eq!(got, vec![(0, 1, 3 << 2), (1, 2, 4 << 4)]);
    assert!(rb[l.first_index(5)..l.first_index(5) + l.slot_len()].iter().all(|&w| w == 0));
    assert_eq!(rb[l.index(6, 0, 0)], 7);
}

/// The emulator's on-time row loop equals `process_fixed_synapses` with
/// `colour_delay = 0`: same buffer, same saturation count, same number of
/// adds, on random words (large weights so that many adds saturate) and
/// times that wrap the ring.
#[test]
fn add_fixed_row_equals_process_fixed_synapses_on_time() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 32) as u32
    };
    for layout in [L, RingBufferLayout { log_n_neurons: 5, log_n_synapse_types: 1, log_max_delay: 1 }, RingBufferLayout { log_n_neurons: 0, log_n_synapse_types: 2, log_max_delay: 3 }] {
        let mut a = vec![0u16; layout.len()];
        let mut b = a.clone();
        let (mut ca, mut cb) = (u32::MAX - 3, u32::MAX - 3); // the counters wrap too
        for time in 0..200u32 {
            let n = (next() % 40) as usize;
            let words: Vec<u32> = (0..n).map(|_| next()).collect();
            let stats = process_fixed_synapses(&mut a, &layout, time, 0, &words, &mut ca);
            let added = add_fixed_row(&mut b, &layout, time, &words, &mut cb);
            assert_eq!(stats.skipped, 0);
            assert_eq!(added, stats.added);
            assert_eq!(a, b, "time {time}");
            assert_eq!(ca, cb, "time {time}");
            if time % 7 == 0 {
                let shifts = [0, 3];
                let n_neurons = layout.neurons_per_type() as u32;
                transfer_slot(&mut a, &layout, time, &shifts, n_neurons, |_, _, _| {});
                transfer_slot(&mut b, &layout, time, &shifts, n_neurons, |_, _, _| {});
            }
        }
        assert!(ca < 1 << 20, "the saturation counter should have wrapped: {ca}");
    }
}
