//! Plastic projections through the compiler and the emulator, bit for bit:
//!
//! * against the kernel's STDP engine driven directly with parameters from
//!   the host formulas (weights compared word for word after every step),
//!   for pair / nearest-pair (additive, multiplicative) and triplet
//!   (additive) STDP, with 16-bit and 32-bit plastic weights, with a static
//!   projection between the same source and target cores;
//! * against the chip-derived goldens of `targets/kernel/tests/spinnaker_stdp_rules.rs`
//!   (sPyNNaker's C under qemu-arm), reproduced through the whole compiler:
//!   YAML → expansion → quantization (ring-buffer shift, regions, LUTs) →
//!   plastic rows → emulator;
//! * thread-count independence with plasticity.

mod stdp_util;

use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use stdp_util::*;

const STEPS: u32 = 1500;

fn scenario() -> (Vec<Vec<u32>>, Vec<Vec<u32>>, Vec<Syn>) {
    let pre: Vec<Vec<u32>> = (0..5).map(|i| lcg_train(100 + i, 50, 20, STEPS - 20)).collect();
    let teach: Vec<Vec<u32>> = (0..3).map(|i| lcg_train(200 + i, 40, 20, STEPS - 20)).collect();
    let mut syn = Vec::new();
    for i in 0..5u32 {
        for j in 0..3u32 {
            syn.push(Syn { pre: i, post: j, w: 0.05 + 0.03 * ((i * 3 + j) % 7) as f64, delay: 1 + (i + 2 * j) % 6 });
        }
    }
    (pre, teach, syn)
}

fn pair(nearest: bool, mult: bool) -> Rule {
    let (a_plus, a_minus) = if mult { (0.1, 0.12) } else { (0.01, 0.012) };
    Rule::Pair { nearest, mult, tau_plus: 16.8, tau_minus: 33.7, a_plus, a_minus, w_min: 0.0, w_max: 0.4 }
}

fn triplet() -> Rule {
    Rule::Triplet { taus: [16.8, 33.7, 101.0, 125.0], amps: [0.004, 0.007, 0.0062, 0.0003], w_min: 0.0, w_max: 0.4 }
}

/// Emulator vs engine, every step, every synapse.
fn check(rule: Rule, bits: PlasticWeightBits) -> usize {
    let (pre, teach, syn) = scenario();
    let prog = compile(&network(&rule, &pre, &teach, &syn, "excitatory", true, STEPS), STEPS, bits).unwrap();
    let shift = shift_of(&prog, bits);
    let r = run(prog, STEPS, 1);
    let post = &r.spikes.iter().find(|s| s.population == "post").unwrap().events;
    assert!(post.len() > 100, "the post neurons spike ({} spikes)", post.len());
    let w = &r.weights[0];
    assert_eq!(w.steps, (1..=STEPS).collect::<Vec<_>>());
    assert_eq!(w.raw_format.as_deref(), Some(if bits == PlasticWeightBits::ThirtyTwo { "w32" } else { "w16" }));
    let n = syn.len();
    let raw = w.raw.as_ref().unwrap();
    let expected = engine_weights(&rule, &syn, &pre, post, 3, shift, bits, STEPS);
    let mut changed = 0;
    for t in 0..STEPS as usize {
        assert_eq!(&raw[t * n..(t + 1) * n], &expected[t][..], "{rule:?} {bits:?}: weights after step {}", t + 1);
    }
    changed += expected[STEPS as usize - 1].iter().zip(&expected[0]).filter(|(a, b)| a != b).count();
    // the converted values are raw × scale
    let scale = w.values[0] / raw[0] as f64;
    assert!((w.values[n * 10 + 3] - raw[n * 10 + 3] as f64 * scale).abs() < 1e-12);
    changed
}

#[test]
fn pair_additive_matches_the_engine() {
    assert!(check(pair(false, false), PlasticWeightBits::Sixteen) >= 12);
    assert!(check(pair(false, false), PlasticWeightBits::ThirtyTwo) >= 12);
}

#[test]
fn pair_multiplicative_matches_the_engine() {
    assert!(check(pair(false, true), PlasticWeightBits::Sixteen) >= 12);
    assert!(check(pair(false, true), PlasticWeightBits::ThirtyTwo) >= 12);
}

#[test]
fn nearest_pair_matches_the_engine() {
    assert!(check(pair(true, false), PlasticWeightBits::Sixteen) >= 12);
    assert!(check(pair(true, true), PlasticWeightBits::ThirtyTwo) >= 12);
}

#[test]
fn triplet_matches_the_engine() {
    assert!(check(triplet(), PlasticWeightBits::Sixteen) >= 12);
    assert!(check(triplet(), PlasticWeightBits::ThirtyTwo) >= 12);
}

#[test]
fn plasticity_is_thread_count_independent() {
    let (pre, teach, syn) = scenario();
    for rule in [pair(false, false), triplet()] {
        let text = network(&rule, &pre, &teach, &syn, "excitatory", true, STEPS);
        // one neuron per core: the post population spans three cores
        let net = spikeforge_compiler::yaml::parse(&text, "t.yaml").unwrap();
        let opts = spikeforge_compiler::lower::CompileOptions { profile: spikeforge_compiler::lower::TargetProfile::Spinnaker, max_neurons_per_core: 1, n_steps: STEPS };
        let popts = spikeforge_compiler::lower::ProfileOptions { plastic_weight_bits: PlasticWeightBits::ThirtyTwo };
        let prog = spikeforge_compiler::lower::compile_with_profile(&net, &opts, &Default::default(), &popts).unwrap().program;
        let a = run(prog.clone(), STEPS, 1);
        let b = run(prog.clone(), STEPS, 2);
        assert_eq!(a, b);
        // split over cores or not, the weights are the same
        let c = run(compile(&text, STEPS, PlasticWeightBits::ThirtyTwo).unwrap(), STEPS, 2);
        assert_eq!(a.weights, c.weights);
        assert_eq!(a.spikes, c.spikes);
    }
}

// ---------------------------------------------------------------------------
// Chip goldens through the compiler
// ---------------------------------------------------------------------------

/// The chip harness's trains (pre: seed 7 p 60; post: seed 11 p 80; steps 1..600).
fn harness_trains() -> (Vec<u32>, Vec<u32>) {
    (lcg_train(7, 60, 1, 600), lcg_train(11, 80, 1, 600))
}

/// The harness scenario as a network: one pre neuron, three post neurons
/// (one synapse each: w16 = 16000, 30000, 500 at shift 1, delays 1, 2, 5),
/// inhibitory so that only the teacher makes the post neurons spike, the
/// teacher spiking one step before each harness post spike.
fn golden_run(rule: Rule) -> Vec<[u32; 4]> {
    let (pre_t, post_t) = harness_trains();
    assert!(post_t[0] >= 2);
    let w16 = [16000.0, 30000.0, 500.0];
    let delays = [1, 2, 5];
    let syn: Vec<Syn> = (0..3).map(|j| Syn { pre: 0, post: j, w: w16[j as usize] * 2.0 / 32768.0, delay: delays[j as usize] }).collect();
    let teach: Vec<Vec<u32>> = (0..3).map(|_| post_t.iter().map(|&t| t - 1).collect()).collect();
    let steps = 602;
    let prog = compile(&network(&rule, std::slice::from_ref(&pre_t), &teach, &syn, "inhibitory", false, steps), steps, PlasticWeightBits::Sixteen).unwrap();
    assert_eq!(shift_of(&prog, PlasticWeightBits::Sixteen), 1, "the inhibitory ring-buffer shift is the harness's");
    let r = run(prog, steps, 1);
    let post = &r.spikes.iter().find(|s| s.population == "post").unwrap().events;
    for j in 0..3 {
        let mine: Vec<u32> = post.iter().filter(|e| e.1 == j).map(|e| e.0).collect();
        assert_eq!(mine, post_t, "post neuron {j} spikes exactly at the harness's post times");
    }
    let w = &r.weights[0];
    let raw = w.raw.as_ref().unwrap();
    // a pre spike at t is processed in step t + 1
    pre_t.iter().map(|&t| {
        let s = t as usize; // index of step t + 1
        [t, raw[s * 3] as u32, raw[s * 3 + 1] as u32, raw[s * 3 + 2] as u32]
    }).collect()
}

const B: f64 = 1.0 / 32768.0;

#[test]
fn triplet_additive_reproduces_the_chip() {
    let rule = Rule::Triplet { taus: [16.8, 33.7, 101.0, 125.0], amps: [1638.0 * B, 2294.0 * B, 2000.0 * B, 300.0 * B], w_min: 0.0, w_max: 49152.0 * B };
    assert_eq!(golden_run(rule), TRIPLET_ADD.to_vec());
}

#[test]
fn nearest_additive_reproduces_the_chip() {
    let rule = Rule::Pair { nearest: true, mult: false, tau_plus: 16.8, tau_minus: 33.7, a_plus: 1638.0 * B, a_minus: 1966.0 * B, w_min: 0.0, w_max: 49152.0 * B };
    assert_eq!(golden_run(rule), NEAREST_ADD.to_vec());
}

#[test]
fn nearest_multiplicative_reproduces_the_chip() {
    let rule = Rule::Pair { nearest: true, mult: true, tau_plus: 16.8, tau_minus: 33.7, a_plus: 3277.0 * B, a_minus: 3932.0 * B, w_min: 3277.0 * B, w_max: 49152.0 * B };
    assert_eq!(golden_run(rule), NEAREST_MUL.to_vec());
}

// Copied from targets/kernel/tests/spinnaker_stdp_rules.rs (rows: pre-spike
// time, w0, w1, w2 after the update; see that file for their provenance).
const TRIPLET_ADD: [[u32; 4]; 33] = [
    [44, 15651, 24216, 106],
    [60, 18575, 18681, 105],
    [69, 17513, 17300, 12368],
    [86, 17444, 17228, 12848],
    [88, 10049, 9613, 6215],
    [104, 5296, 4718, 19224],
    [119, 14825, 13312, 19647],
    [132, 11746, 10139, 16177],
    [162, 14662, 12526, 16974],
    [167, 10880, 8630, 20316],
    [179, 8163, 5831, 17256],
    [198, 15238, 14958, 16074],
    [229, 480, 5790, 10342],
    [271, 0, 0, 0],
    [276, 0, 0, 0],
    [281, 0, 0, 0],
    [307, 0, 0, 0],
    [310, 0, 0, 0],
    [319, 0, 0, 0],
    [326, 0, 0, 0],
    [349, 0, 0, 0],
    [367, 0, 0, 0],
    [414, 0, 0, 0],
    [415, 0, 0, 0],
    [417, 0, 0, 0],
    [436, 173, 0, 0],
    [476, 10605, 9322, 6267],
    [481, 10830, 8910, 4042],
    [501, 18123, 17929, 13089],
    [539, 17009, 16780, 12154],
    [574, 19828, 19686, 16732],
    [583, 16128, 15872, 15059],
    [585, 7527, 7009, 5373],
];

const NEAREST_ADD: [[u32; 4]; 33] = [
    [44, 16345, 24267, 671],
    [60, 15963, 23593, 139],
    [69, 16663, 23754, 1105],
    [86, 16217, 23250, 658],
    [88, 15318, 22324, 0],
    [104, 14759, 21748, 141],
    [119, 14818, 21745, 0],
    [132, 14364, 21277, 0],
    [162, 13736, 20603, 0],
    [167, 12938, 19781, 0],
    [179, 12379, 19205, 0],
    [198, 12165, 18924, 0],
    [229, 11754, 18480, 239],
    [271, 11456, 19442, 1612],
    [276, 10609, 19340, 1303],
    [281, 9878, 18587, 481],
    [307, 9595, 18248, 0],
    [310, 8842, 17473, 0],
    [319, 8838, 17402, 0],
    [326, 8208, 16754, 0],
    [349, 8350, 16840, 0],
    [367, 8192, 16627, 0],
    [414, 8011, 16441, 0],
    [415, 7835, 16260, 0],
    [417, 7669, 16090, 0],
    [436, 7271, 15645, 0],
    [476, 7141, 15454, 0],
    [481, 7039, 15282, 0],
    [501, 7016, 15201, 0],
    [539, 6367, 14517, 0],
    [574, 6247, 14329, 0],
    [583, 6872, 14842, 197],
    [585, 6050, 13995, 0],
];

const NEAREST_MUL: [[u32; 4]; 33] = [
    [44, 16126, 28544, 1980],
    [60, 14960, 25085, 3035],
    [69, 15177, 22656, 6927],
    [86, 14116, 20233, 7154],
    [88, 12747, 18132, 6617],
    [104, 11989, 16972, 7796],
    [119, 12171, 16266, 8296],
    [132, 11587, 15430, 7880],
    [162, 10881, 14101, 7740],
    [167, 9980, 12851, 8401],
    [179, 9411, 12063, 7881],
    [198, 9687, 11759, 8100],
    [229, 9637, 11288, 9414],
    [271, 9776, 12830, 11955],
    [276, 8935, 12626, 11632],
    [281, 8284, 11617, 10629],
    [307, 8583, 11307, 10255],
    [310, 7945, 10392, 9364],
    [319, 8766, 10675, 9550],
    [326, 8218, 9960, 8866],
    [349, 9059, 10465, 9285],
    [367, 9385, 10499, 9276],
    [414, 9214, 10298, 9086],
    [415, 9052, 10107, 8906],
    [417, 8902, 9931, 8741],
    [436, 8886, 9706, 8505],
    [476, 9320, 9916, 8665],
    [481, 9785, 10166, 8861],
    [501, 10191, 10429, 9084],
    [539, 9608, 9774, 8472],
    [574, 9975, 10013, 8670],
    [583, 11364, 11232, 9771],
    [585, 10388, 10240, 8852],
];

/// Without post spikes no update changes a weight, so plastic rows must
/// deliver exactly what static rows with the same weights deliver (16-bit:
/// the row weight; 32-bit: `round(w32 / 2^15)`, equal to `rint(w · scale)`
/// away from ties), next to a static projection from the same source core.
#[test]
fn plastic_rows_deliver_like_static_rows() {
    let (pre, _, syn) = scenario();
    let quiet: Vec<Vec<u32>> = vec![Vec::new(); 3];
    let record = "record:\n  - state: {population: post, variable: i_syn_e, every_n_steps: 1}\n  - state: {population: post, variable: v, every_n_steps: 1}\n  - spikes: {population: post}\n";
    for bits in [PlasticWeightBits::Sixteen, PlasticWeightBits::ThirtyTwo] {
        for rule in [pair(false, false), pair(true, true), triplet()] {
            let text = network(&rule, &pre, &quiet, &syn, "excitatory", true, STEPS);
            let text = format!("{}{record}", &text[..text.find("record:").unwrap()]);
            let plastic = run(compile(&text, STEPS, bits).unwrap(), STEPS, 1);
            let stat = text.replace(", plasticity: rule}", "}");
            let stat = format!("{}{record}", &stat[..stat.find("plasticity:\n").unwrap()]);
            assert!(text.contains("plasticity: rule}") && !stat.contains("plasticity"));
            let fixed = run(compile(&stat, STEPS, bits).unwrap(), STEPS, 1);
            assert_eq!(plastic.states, fixed.states, "{rule:?} {bits:?}");
            assert_eq!(plastic.spikes, fixed.spikes);
            let isyn = &plastic.states[0].raw.as_ref().unwrap();
            assert!(isyn.iter().filter(|&&x| x != 0).count() > 100, "input arrives");
        }
    }
}
