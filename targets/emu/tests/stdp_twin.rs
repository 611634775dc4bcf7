//! Fixed point vs float: the emulator's plastic weights against the float64
//! twin (`spikeforge_reference::stdp`) on the same pre/post spike trains —
//! the pre trains of the network, the post spikes of the emulator run
//! (delayed by each synapse's dendritic delay, as the core pairs them) —
//! open loop, so only the rule's quantization differs. The kernel defers
//! potentiation to the next pre spike, so the twin sees the post spikes up
//! to each synapse's last pre spike (where the two must agree).
//!
//! Bounds (|w_fixed − w_float| / (w_max − w_min), 20 s, ~10 Hz pre, ~8 Hz post,
//! every synapse): see `BOUNDS`; the measured figures are printed and stated
//! in docs/plasticity.md.

mod stdp_util;

use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_reference::stdp as twin;
use stdp_util::*;

const STEPS: u32 = 20_000;

fn scenario(unit_delay: bool) -> (Vec<Vec<u32>>, Vec<Vec<u32>>, Vec<Syn>) {
    let pre: Vec<Vec<u32>> = (0..8).map(|i| lcg_train(300 + i, 10, 20, STEPS - 50)).collect();
    let teach: Vec<Vec<u32>> = (0..4).map(|i| lcg_train(400 + i, 8, 200, STEPS - 50)).collect();
    let mut syn = Vec::new();
    for i in 0..8u32 {
        for j in 0..4u32 {
            syn.push(Syn { pre: i, post: j, w: 0.1 + 0.02 * ((i * 4 + j) % 11) as f64, delay: if unit_delay { 1 } else { 1 + (i + 3 * j) % 6 } });
        }
    }
    (pre, teach, syn)
}

/// (max, rms) of the final-weight error relative to w_max − w_min.
fn errors(rule: Rule, bits: PlasticWeightBits, receptor: &str, unit_delay: bool) -> (f64, f64) {
    let (pre, teach, syn) = scenario(unit_delay);
    let prog = compile(&network(&rule, &pre, &teach, &syn, receptor, false, STEPS), STEPS, bits).unwrap();
    let r = run(prog, STEPS, 2);
    let post = &r.spikes.iter().find(|s| s.population == "post").unwrap().events;
    let w = &r.weights[0];
    let n = syn.len();
    let fin = &w.values[(STEPS as usize - 1) * n..];
    let (lo, hi) = rule.bounds();
    let mut sorted: Vec<usize> = (0..n).collect();
    sorted.sort_by_key(|&k| (syn[k].pre, syn[k].post));
    let (mut max, mut se) = (0.0f64, 0.0);
    let mut moved = 0;
    for (col, &k) in sorted.iter().enumerate() {
        let s = syn[k];
        let pre_steps: Vec<i64> = pre[s.pre as usize].iter().map(|&t| t as i64).collect();
        let last = *pre_steps.last().unwrap();
        let posts: Vec<i64> = post.iter().filter(|e| e.1 == s.post).map(|e| (e.0 + s.delay) as i64).filter(|&t| t <= last).collect();
        let (wf, _) = twin::run(rule.twin(), &pre_steps, &posts, s.w, 1.0).unwrap();
        let e = (fin[col] - wf).abs() / (hi - lo);
        if (wf - s.w).abs() > 0.05 * (hi - lo) {
            moved += 1;
        }
        max = max.max(e);
        se += e * e;
    }
    assert!(moved >= n / 2, "{rule:?}: the rule moves the weights ({moved} of {n} moved by > 5 %)");
    (max, (se / n as f64).sqrt())
}

fn pair(nearest: bool, mult: bool) -> Rule {
    let (a_plus, a_minus) = if mult { (0.05, 0.06) } else { (0.004, 0.0048) };
    Rule::Pair { nearest, mult, tau_plus: 16.8, tau_minus: 33.7, a_plus, a_minus, w_min: 0.0, w_max: 0.4 }
}

fn triplet() -> Rule {
    Rule::Triplet { taus: [16.8, 33.7, 101.0, 125.0], amps: [0.002, 0.0035, 0.0031, 0.00015], w_min: 0.0, w_max: 0.4 }
}

/// Inhibitory plastic synapses (their ring-buffer shift is set by their own
/// w_max alone: shift 1, a 16-bit LSB of 2^-14 = 1/6554 of the range),
/// dendritic delays 1..6.
fn check(name: &str, rule: Rule, bound16: f64, bound32: f64) {
    for (bits, bound) in [(PlasticWeightBits::Sixteen, bound16), (PlasticWeightBits::ThirtyTwo, bound32)] {
        let (max, rms) = errors(rule, bits, "inhibitory", false);
        eprintln!("{name} {:>2}-bit: max {:.5} rms {:.5} of (w_max - w_min)", bits.bits(), max, rms);
        assert!(max <= bound, "{name} {bits:?}: max error {max} > {bound}");
    }
}

#[test]
fn pair_additive_vs_float() {
    check("pair additive", pair(false, false), 0.006, 0.002);
}

#[test]
fn pair_multiplicative_vs_float() {
    check("pair multiplicative", pair(false, true), 0.003, 0.0005);
}

/// The nearest-pair figures are dominated by an upstream quirk the twin does
/// not model: the suppression test uses the previous post spike's
/// *undelayed* time (`timing_nearest_pair_impl.h`), so a post spike in the
/// step of a pre spike (or within its dendritic delay) does not suppress
/// the next post spike's potentiation on the core.
#[test]
fn nearest_additive_vs_float() {
    check("nearest additive", pair(true, false), 0.04, 0.04);
}

#[test]
fn nearest_multiplicative_vs_float() {
    check("nearest multiplicative", pair(true, true), 0.045, 0.045);
}

#[test]
fn triplet_additive_vs_float() {
    check("triplet additive", triplet(), 0.01, 0.012);
}

/// Excitatory plastic synapses next to a 40 nA teacher: the teacher sets
/// the excitatory ring-buffer shift (6), so A+ is 2 LSB of the 16-bit
/// weight and sPyNNaker's truncating store (`w >> shift`) drifts the weights
/// down by up to one LSB per update; 32-bit weights keep the fraction.
#[test]
fn coarse_16bit_weights_drift_32bit_do_not() {
    let (max16, rms16) = errors(pair(false, false), PlasticWeightBits::Sixteen, "excitatory", false);
    let (max32, rms32) = errors(pair(false, false), PlasticWeightBits::ThirtyTwo, "excitatory", false);
    eprintln!("pair additive, coarse LSB: 16-bit max {max16:.5} rms {rms16:.5}; 32-bit max {max32:.5} rms {rms32:.5}");
    assert!(rms16 > 0.05, "the truncation drift is visible ({rms16})");
    assert!(max32 <= 0.002, "32-bit weights are not affected ({max32})");
}
