//! `IF_curr_exp` against goldens from the upstream formulas compiled for ARM.
//!
//! Goldens: a scratch C program (outside the repo) that restates sPyNNaker
//! @558fca1's `neuron_model_lif_impl.h` (initialise, closed form, refractory,
//! reset), `exp_synapse_utils.h` / `decay.h` (decay_and_init, add_input_exp,
//! exp_shaping), `maths-util.h` (`kdivk`, `kdivui`) with `udiv64` from
//! `c_main_neuron_common.h`, `threshold_type_static.h`, the order of
//! `neuron_impl_standard.h` and the weight conversion of `synapse_row.h`, on
//! top of spinn_common @1e3a090 `expk`/`expulr`, built with Debian
//! `arm-none-eabi-gcc` 12.2.1 `-mthumb-interwork -march=armv5te -std=gnu99
//! -ffreestanding -marm` (identical output at -O0/-O1/-O2/-Os; -O3/-Ofast
//! hit an internal compiler error on this harness) and run under `qemu-arm`.
//! Each parameter set is one neuron; inputs per step come from an xorshift32
//! stream (seed 0x2545F491, shared across the sets in order); the hash is
//! FNV-1a over (V, exc, inh, refract_timer, spiked) after threshold/reset of
//! every sub-step, before shaping.

mod common;
use common::{fnv, XorShift};

use spikeforge_kernel::fixed::S1615;
use spikeforge_kernel::spinnaker::lif::{
    initialise_core, is_above_threshold, step_core, CoreConfig, CoreIo, LifParams, LifState, ThresholdParams,
};
use spikeforge_kernel::spinnaker::ring_buffer::{add_saturating, transfer_slot, RingBufferLayout};
use spikeforge_kernel::spinnaker::synapse::{ExpParams, ExpSynapseParams, ExpSynapseState};

/// s16.15 bits as the host writes them:
/// V_init, V_rest, c_m, tau_m, I_offset, V_reset, T_refract_ms, refract_init,
/// time_step, tau_E, tau_I, V_thresh, n_steps_per_timestep
const SETS: [[i32; 13]; 6] = [
    [-65 * 32768, -65 * 32768, 32768, 20 * 32768, 0, -65 * 32768, 3277, 0, 32768, 5 * 32768, 5 * 32768, -50 * 32768, 1],
    [-60 * 32768, -65 * 32768, 8192, 10 * 32768, 13107, -70 * 32768, 2 * 32768, 0, 3277, 32768, 81920, -55 * 32768, 1],
    [-70 * 32768, -70 * 32768, 16384, 8 * 32768, 26214, -75 * 32768, 5 * 32768, 2, 32768, 9830, 10 * 32768, -52 * 32768, 1],
    [-65 * 32768, -65 * 32768, 65536, 100 * 32768, 1638, -65 * 32768, 0, 0, 16384, 20 * 32768, 245760, -50 * 32768, 2],
    [-50 * 32768, -65 * 32768, 32768, 20 * 32768, 0, -65 * 32768, 32768, 0, 32768, 5 * 32768, 5 * 32768, -50 * 32768, 1],
    [0, 0, 6554, 3 * 32768, 32768, 0, 32768 + 16384, 0, 32768, 2 * 32768, 3 * 32768, 10 * 32768, 4],
];

/// (R, exp_TC, T_refract, exc_decay, exc_init, inh_decay, inh_init)
const INIT: [(i32, i32, i32, u32, u32, u32, u32); 6] = [
    (655360, 31170, 1, 3516490311, 3892384920, 3516490311, 3892384920),
    (1310720, 32442, 20, 3886220541, 4087218060, 4126645892, 4207778236),
    (524288, 28917, 5, 153198536, 1242480068, 3886339153, 4086281420),
    (1638400, 32687, 0, 4241696985, 4261624800, 4154194238, 4223191710),
    (655360, 31170, 1, 3516490311, 3892384920, 3516490311, 3892384920),
    (491490, 30148, 6, 3790290663, 4037413056, 3951645290, 4119864060),
];

/// (spikes, hash) over 400 timesteps
const RUN: [(u32, u32); 6] = [
    (13, 0x25d2f869),
    (11, 0x58fad21f),
    (0, 0xe90dc440),
    (59, 0xc616491c),
    (17, 0x4b40aecf),
    (101, 0x1dcaa8e3),
];

/// (t, V, exc, inh, refract) after the timestep, at t = 49, 199, 399
type Checkpoint = (u32, i32, i32, i32, i32);
const CHECKPOINTS: [[Checkpoint; 3]; 6] = [
    [(49, -1666310, 30837, 4084, 0), (199, -1750456, 14644, 2176, 0), (399, -2098054, 28256, 1507, 0)],
    [(49, -2293760, 73503, 49008, 18), (199, -2293760, 103938, 21579, 17), (399, -2268208, 54364, 12566, 0)],
    [(49, -1999737, 2, 5680, 0), (199, -2087438, 0, 9011, 0), (399, -2089094, 22, 20455, 0)],
    [(49, -2129920, 307709, 4154, 0), (199, -1849034, 246587, 6179, 0), (399, -1849257, 368008, 4729, 0)],
    [(49, -1748934, 33995, 451, 0), (199, -2022862, 9571, 10620, 0), (399, -1784804, 55919, 998, 0)],
    [(49, 0, 18975, 355, 4), (199, 90407, 6115, 775, 0), (399, 109960, 436, 157, 0)],
];

const SHIFTS: [u32; 2] = [6, 5];
const LAYOUT: RingBufferLayout = RingBufferLayout { log_n_neurons: 0, log_n_synapse_types: 1, log_max_delay: 3 };

fn params(s: &[i32; 13]) -> (LifParams, ExpSynapseParams, ThresholdParams, u32) {
    let k = S1615;
    (
        LifParams {
            v_init: k(s[0]),
            v_rest: k(s[1]),
            c_m: k(s[2]),
            tau_m: k(s[3]),
            i_offset: k(s[4]),
            v_reset: k(s[5]),
            t_refract_ms: k(s[6]),
            refract_timer_init: s[7],
            time_step: k(s[8]),
        },
        ExpSynapseParams {
            exc: ExpParams { tau: k(s[9]), init_input: S1615::ZERO },
            inh: ExpParams { tau: k(s[10]), init_input: S1615::ZERO },
            time_step_ms: k(s[8]),
        },
        ThresholdParams { v_thresh: k(s[11]) },
        s[12] as u32,
    )
}

/// Inputs of one step: (w_exc, w_inh), drawn exactly like the C program.
fn draw(r: &mut XorShift) -> (u16, u16) {
    let x = r.next();
    let w0 = if x & 3 == 0 { (r.next() & 0x3FF) as u16 } else { 0 };
    let w1 = if (x >> 2) & 7 == 0 { (r.next() & 0x1FF) as u16 } else { 0 };
    (w0, w1)
}

#[test]
fn initialisation_constants_match_chip() {
    for (s, want) in SETS.iter().zip(INIT) {
        let (lp, sp, _, n_steps) = params(s);
        let l = LifState::initialise(&lp, n_steps).unwrap();
        let y = ExpSynapseState::initialise(&sp, n_steps).unwrap();
        let got = (l.r_membrane.0, l.exp_tc.0, l.t_refract, y.exc.decay.0, y.exc.init.0, y.inh.decay.0, y.inh.init.0);
        assert_eq!(got, want, "set {s:?}");
        assert_eq!(l.v_membrane, lp.v_init);
        assert_eq!(l.refract_timer, lp.refract_timer_init);
    }
}

#[test]
fn substep_trace_hash_matches_chip() {
    let mut rng = XorShift(0x2545F491);
    for (si, s) in SETS.iter().enumerate() {
        let (lp, sp, th, n_steps) = params(s);
        let mut n = LifState::initialise(&lp, n_steps).unwrap();
        let mut y = ExpSynapseState::initialise(&sp, n_steps).unwrap();
        let mut rb = vec![0u16; LAYOUT.len()];
        let mut sat = 0;
        let (mut h, mut spikes) = (2166136261u32, 0u32);
        for t in 0..400u32 {
            let (w0, w1) = draw(&mut rng);
            add_saturating(&mut rb[LAYOUT.index(t, 0, 0)], w0, &mut sat);
            add_saturating(&mut rb[LAYOUT.index(t, 1, 0)], w1, &mut sat);
            transfer_slot(&mut rb, &LAYOUT, t, &SHIFTS, 1, |ty, _, input| y.add_input(ty, input));
            for _ in 0..n_steps {
                let v = n.update(y.exc.value, y.inh.value, S1615::ZERO, S1615::ZERO);
                let sp = is_above_threshold(v, &th);
                if sp {
                    n.has_spiked();
                    spikes += 1;
                }
                for v in [n.v_membrane.0 as u32, y.exc.value.0 as u32, y.inh.value.0 as u32, n.refract_timer as u32, sp as u32] {
                    h = fnv(h, v);
                }
                y.shape();
            }
        }
        assert_eq!(sat, 0);
        assert_eq!((spikes, h), RUN[si], "set {si}");
    }
}

#[test]
fn step_core_matches_chip_checkpoints() {
    // all six neurons with n_steps = 1 sets and the others separately: a core
    // has one n_steps_per_timestep, so run each set as its own one-neuron core
    let mut rng = XorShift(0x2545F491);
    for (si, s) in SETS.iter().enumerate() {
        let (lp, sp, th, n_steps) = params(s);
        let mut neurons = [LifState::default()];
        let mut syns = [ExpSynapseState::default()];
        assert!(initialise_core(n_steps, &[lp], &[sp], &mut neurons, &mut syns));
        let mut rb = vec![0u16; LAYOUT.len()];
        let mut spiked = [0u32; 1];
        let thresholds = [th];
        let cfg = CoreConfig { n_steps_per_timestep: n_steps, thresholds: &thresholds, layout: LAYOUT, left_shifts: &SHIFTS };
        let mut sat = 0;
        let mut sent = 0;
        let mut ck = CHECKPOINTS[si].iter();
        let mut next = ck.next();
        for t in 0..400u32 {
            let (w0, w1) = draw(&mut rng);
            add_saturating(&mut rb[LAYOUT.index(t, 0, 0)], w0, &mut sat);
            add_saturating(&mut rb[LAYOUT.index(t, 1, 0)], w1, &mut sat);
            let mut io = CoreIo { neurons: &mut neurons, synapses: &mut syns, ring_buffer: &mut rb, spiked: &mut spiked };
            let n = step_core(&cfg, &mut io, t);
            assert_eq!(spiked[0] != 0, n > 0);
            sent += n;
            if let Some(&(ct, v, e, i, r)) = next {
                if ct == t {
                    assert_eq!(
                        (neurons[0].v_membrane.0, syns[0].exc.value.0, syns[0].inh.value.0, neurons[0].refract_timer),
                        (v, e, i, r),
                        "set {si} t {t}"
                    );
                    next = ck.next();
                }
            }
        }
        assert!(next.is_none());
        assert_eq!(sent, RUN[si].0, "set {si}");
        assert!(rb.iter().all(|&w| w == 0));
    }
}

#[test]
fn invalid_parameters_are_rejected() {
    let (mut lp, sp, _, _) = params(&SETS[0]);
    assert!(LifState::initialise(&lp, 0).is_none());
    lp.c_m = S1615::ZERO;
    assert!(LifState::initialise(&lp, 1).is_none());
    let mut sp2 = sp;
    sp2.exc.tau = S1615::ZERO;
    assert!(ExpSynapseState::initialise(&sp2, 1).is_none());
}

#[test]
fn image_layouts() {
    assert_eq!(core::mem::size_of::<LifParams>(), 36);
    assert_eq!(core::mem::size_of::<LifState>(), 32);
    assert_eq!(core::mem::size_of::<ExpSynapseParams>(), 20);
    assert_eq!(core::mem::size_of::<ExpSynapseState>(), 24);
    let (lp, _, _, _) = params(&SETS[1]);
    let words: &[i32] = bytemuck::cast_slice(core::slice::from_ref(&lp));
    assert_eq!(words, &SETS[1][..9]);
}
