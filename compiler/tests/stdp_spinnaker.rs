//! STDP on the spinnaker profile in the compiler: the precision diagnostics
//! (`Q030`–`Q042`), the plastic image sections and rows, and the
//! ring-buffer shift of plastic projections.

use spikeforge_compiler::diag::{Diagnostics, Severity};
use spikeforge_compiler::lower::{compile_with_profile, strict, CompileOptions, ProfileOptions, TargetProfile};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_compiler::yaml;
use spikeforge_kernel::program::{
    CoreImage, PlasticRowLayout, SectionKind, StdpRule, StdpTimingKind, StdpWeightKind, SynapticMatrix,
};
use spikeforge_kernel::spinnaker::stdp::{PlasticSynapse, PostEventHistory, PreEventHistory};
use std::path::Path;

fn build(text: &str, bits: PlasticWeightBits) -> Result<(MachineProgram, Diagnostics), Diagnostics> {
    let net = yaml::parse(text, "t.yaml").unwrap_or_else(|e| panic!("{e:?}"));
    let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: 100 };
    compile_with_profile(&net, &opts, &Default::default(), &ProfileOptions { plastic_weight_bits: bits }).map(|c| (c.program, c.diagnostics))
}

fn example(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name)).unwrap()
}

fn codes(d: &Diagnostics, sev: Severity) -> Vec<(&'static str, String)> {
    d.0.iter().filter(|x| x.severity == sev).map(|x| (x.code, x.field.clone())).collect()
}

/// A source array → IF_curr_exp network with one plastic projection.
fn net(rule: &str, weight: &str, extra: &str) -> String {
    format!(
        "spikeforge: 1
name: t
dt_ms: 1.0
duration_ms: 100
populations:
  - {{name: src, size: 4, spike_source_array: {{times_ms: [[1, 5], [2], [3], [4]]}}}}
  - {{name: out, size: 3, if_curr_exp: {{tau_m_ms: 20, cm_nf: 0.25, v_rest_mv: -65, v_reset_mv: -65, v_thresh_mv: -50, tau_refrac_ms: 1, tau_syn_e_ms: 5, tau_syn_i_ms: 5}}}}
projections:
  - {{name: p, pre: src, post: out, connector: all_to_all, weight: {weight}, delay_ms: 2, plasticity: r}}
{extra}plasticity:
  - name: r
    {rule}
record:
  - weights: {{projection: p}}
"
    )
}

const PAIR: &str = "pair_stdp: {pairing: all_to_all, weight_dependence: additive, tau_plus_ms: 20, tau_minus_ms: 20, a_plus: 0.01, a_minus: 0.012, w_min: 0.0, w_max: 1.0}";

#[test]
fn song2000_16bit_cannot_learn_and_says_so() {
    let text = example("song2000.yaml");
    let (_, d) = build(&text, PlasticWeightBits::Sixteen).unwrap();
    let w = codes(&d, Severity::Warning);
    // A+ and A- are ~1/4 of the 16-bit LSB (ring-buffer shift 5: LSB 9.8e-4 nA, A+ 2.5e-4 nA)
    assert!(w.contains(&("Q035", "a_plus".into())) && w.contains(&("Q035", "a_minus".into())), "{w:?}");
    assert_eq!(w.iter().filter(|c| c.0 == "Q034").count(), 2, "neither potentiation nor depression survives: {w:?}");
    let q34 = d.0.iter().find(|x| x.code == "Q034").unwrap();
    assert!(q34.hint.as_deref().unwrap().contains("--plastic-weight-bits 32"));
    // --strict refuses it
    let mut all = d.clone();
    strict(&mut all);
    assert!(all.has_errors());
    // 32-bit weights: A± are 8389 and 8808 LSB; nothing lost, a note on the deviation
    let (_, d32) = build(&text, PlasticWeightBits::ThirtyTwo).unwrap();
    let w32 = codes(&d32, Severity::Warning);
    assert!(!w32.iter().any(|c| ["Q033", "Q034", "Q035", "Q037"].contains(&c.0)), "{w32:?}");
    assert!(codes(&d32, Severity::Note).contains(&("Q040", "plasticity".into())));
    let q41 = d32.0.iter().find(|x| x.code == "Q041").unwrap();
    assert!(q41.message.contains("a_plus 8389.000 LSB"), "{}", q41.message);
}

#[test]
fn an_amplitude_rounding_to_zero_is_reported() {
    // multiplicative A+ is dimensionless s16.15: 1e-6 rounds to 0
    let rule = "pair_stdp: {pairing: nearest, weight_dependence: multiplicative, tau_plus_ms: 20, tau_minus_ms: 20, a_plus: 0.000001, a_minus: 0.1, w_min: 0.0, w_max: 1.0}";
    let (_, d) = build(&net(rule, "0.5", ""), PlasticWeightBits::Sixteen).unwrap();
    let w = codes(&d, Severity::Warning);
    assert!(w.contains(&("Q033", "a_plus".into())), "{w:?}");
    let q34: Vec<_> = d.0.iter().filter(|x| x.code == "Q034").collect();
    assert_eq!(q34.len(), 1);
    assert!(q34[0].message.contains("no potentiation"), "{}", q34[0].message);
}

#[test]
fn a_negligible_pair_term_of_the_triplet_is_a_warning_only() {
    // ei_triplet: A2+ = 5e-11 nA rounds to 0, but A3+ potentiates
    let (_, d) = build(&example("ei_triplet.yaml"), PlasticWeightBits::Sixteen).unwrap();
    assert!(codes(&d, Severity::Warning).contains(&("Q033", "a2_plus".into())));
    assert!(!d.0.iter().any(|x| x.code == "Q034"), "{:?}", codes(&d, Severity::Warning));
}

#[test]
fn a_coarse_window_and_a_degenerate_lut_are_reported() {
    // A+ = 2.5 LSB of the 16-bit weight (shift 2 for 4 × w_max 1.0 at 1 spike/step): traces below 0.4 vanish
    let rule = "pair_stdp: {pairing: all_to_all, weight_dependence: additive, tau_plus_ms: 20, tau_minus_ms: 0.1, a_plus: 0.0003, a_minus: 0.01, w_min: 0.0, w_max: 1.0}";
    let (_, d) = build(&net(rule, "0.5", ""), PlasticWeightBits::Sixteen).unwrap();
    let w = codes(&d, Severity::Warning);
    assert!(w.contains(&("Q037", "a_plus".into())), "{w:?}");
    assert!(w.contains(&("Q038", "tau_minus_ms".into())), "{w:?}");
    let q37 = d.0.iter().find(|x| x.code == "Q037").unwrap();
    assert!(q37.message.contains("tau_plus_ms window loses"), "{}", q37.message);
    // with 32-bit weights the window is whole
    let (_, d) = build(&net(rule, "0.5", ""), PlasticWeightBits::ThirtyTwo).unwrap();
    assert!(!d.0.iter().any(|x| x.code == "Q037"));
}

#[test]
fn rules_the_core_cannot_run_are_errors() {
    let trip_mult = "triplet_stdp: {weight_dependence: multiplicative, tau_plus_ms: 16.8, tau_minus_ms: 33.7, tau_x_ms: 101, tau_y_ms: 125, a2_plus: 0.01, a2_minus: 0.01, a3_plus: 0.01, a3_minus: 0.01, w_min: 0.0, w_max: 1.0}";
    let d = build(&net(trip_mult, "0.5", ""), PlasticWeightBits::Sixteen).unwrap_err();
    assert_eq!(codes(&d, Severity::Error), vec![("Q030", "plasticity".into())]);
    // two plastic projections onto one population with different time constants
    let other = "  - {name: q, pre: src, post: out, connector: one_to_one, weight: 0.5, delay_ms: 1, plasticity: r2}\n";
    let text = net(PAIR, "0.5", other).replace("record:", "  - name: r2\n    pair_stdp: {pairing: all_to_all, weight_dependence: additive, tau_plus_ms: 10, tau_minus_ms: 20, a_plus: 0.01, a_minus: 0.012, w_min: 0.0, w_max: 1.0}\nrecord:");
    let d = build(&text, PlasticWeightBits::Sixteen).unwrap_err();
    // (and L013: q shares p's rows, so p's recorded weights would hold q's)
    assert_eq!(codes(&d, Severity::Error), vec![("L013", "projection".into()), ("Q031", "plasticity".into())]);
    // same timing, same synapse type, different bounds: one region per type
    let text = net(PAIR, "0.5", other).replace("record:", "  - name: r2\n    pair_stdp: {pairing: all_to_all, weight_dependence: additive, tau_plus_ms: 20, tau_minus_ms: 20, a_plus: 0.01, a_minus: 0.012, w_min: 0.0, w_max: 2.0}\nrecord:");
    let d = build(&text, PlasticWeightBits::Sixteen).unwrap_err();
    assert!(d.0.iter().any(|x| x.code == "Q031" && x.message.contains("same synapse type")));
    // ... but on the other synapse type it is another region
    let text = text.replace("connector: one_to_one, weight: 0.5", "receptor: inhibitory, connector: one_to_one, weight: 0.5");
    assert!(build(&text, PlasticWeightBits::Sixteen).is_ok());
    // negative plastic weights
    let text = net(PAIR, "0.5", "").replace("connector: all_to_all, weight: 0.5", "receptor: inhibitory, connector: all_to_all, weight: -0.5");
    let text = text.replace("w_min: 0.0, w_max: 1.0", "w_min: -1.0, w_max: 0.0");
    let d = build(&text, PlasticWeightBits::Sixteen).unwrap_err();
    assert!(codes(&d, Severity::Error).contains(&("Q030", "w_min".into())), "{:?}", codes(&d, Severity::Error));
}

fn core_image<'a>(prog: &'a MachineProgram, population: &str) -> CoreImage<'a> {
    let c = prog.manifest.cores.iter().position(|c| c.population == population).unwrap();
    CoreImage::parse(&prog.images[c]).unwrap()
}

#[test]
fn plastic_sections_and_rows() {
    let stat = "  - {name: s, pre: src, post: out, connector: one_to_one, weight: 0.25, delay_ms: 1}\n";
    for bits in [PlasticWeightBits::Sixteen, PlasticWeightBits::ThirtyTwo] {
        let (prog, _) = build(&net(PAIR, "{uniform: {low: 0.1, high: 0.9, seed: 4}}", stat), bits).unwrap();
        let img = core_image(&prog, "out");
        // rule: pair, additive, 2 regions
        let rule = StdpRule::parse(img.section(SectionKind::SpinnakerStdpRule).unwrap().0).unwrap();
        assert_eq!((rule.timing, rule.weight, rule.header.weight_bits, rule.header.backprop_delay), (StdpTimingKind::Pair, StdpWeightKind::Additive, bits.bits(), 1));
        // LUTs exactly as sPyNNaker: tau 20 ms at dt 1 ms → 154 entries 2048, 1948, 1853, …
        let (luts, n) = img.section(SectionKind::SpinnakerStdpLuts).unwrap();
        assert_eq!(n, 2);
        assert_eq!(luts[0], 154);
        assert_eq!((luts[1] & 0xFFFF, luts[1] >> 16, luts[2] & 0xFFFF), (2048, 1948, 1853));
        assert_eq!(luts.len(), 2 * (1 + 77));
        // post histories: the sentinel only, one per neuron
        let (h, n) = img.section(SectionKind::SpinnakerPostHistories).unwrap();
        assert_eq!((n, h.len() * 4), (3, 3 * std::mem::size_of::<PostEventHistory>()));
        assert!(h.iter().all(|&w| w == 0));
        // static synapses of the same source core stay in the synaptic matrix
        let m = SynapticMatrix::parse(img.section(SectionKind::SynapticMatrix).unwrap().0).unwrap();
        assert_eq!(m.blocks.len(), 1);
        assert_eq!((0..4).map(|r| m.row(0, r).len()).sum::<usize>(), 3);
        // plastic rows: one per source neuron with its 3 synapses
        let pm = SynapticMatrix::parse_as(img.section(SectionKind::SpinnakerPlasticMatrix).unwrap().0, SectionKind::SpinnakerPlasticMatrix).unwrap();
        let layout = spikeforge_compiler::lower::spinnaker_layout(3, 2);
        let wbytes = if bits == PlasticWeightBits::ThirtyTwo { 4 } else { 2 };
        let mut total_words = 0;
        for r in 0..4 {
            let row = pm.row(0, r);
            total_words += row.len();
            let l = PlasticRowLayout::parse(row).unwrap();
            assert_eq!((l.n_plastic, l.fixed.len()), (3, 0));
            assert_eq!(l.plastic.len(), (std::mem::size_of::<PreEventHistory>() + wbytes * 3).div_ceil(4));
            assert!(row[l.plastic.clone()][..2].iter().all(|&w| w == 0), "zeroed pre history");
            let syn: Vec<PlasticSynapse> = l.control_halfwords(row).iter().map(|&c| PlasticSynapse::from_control(c, &layout)).collect();
            assert_eq!(syn, (0..3).map(|j| PlasticSynapse { delay: 2, synapse_type: 0, neuron: j }).collect::<Vec<_>>());
        }
        // P, plastic region, F, n, controls (3 half-words in 2 words)
        assert_eq!(total_words, 4 * (1 + (8 + wbytes * 3).div_ceil(4) + 2 + 2));
        // manifest
        let p = prog.manifest.projections.iter().find(|p| p.name == "p").unwrap();
        assert!(p.plastic);
        let s = prog.manifest.projections.iter().find(|p| p.name == "s").unwrap();
        assert!(!s.plastic);
        let extra = if bits == PlasticWeightBits::ThirtyTwo { 32768.0 } else { 1.0 };
        assert_eq!(p.scale * extra, s.scale);
        let rec = prog.manifest.recordings.iter().find(|r| r.kind == "weights").unwrap();
        assert_eq!(rec.raw_format, if bits == PlasticWeightBits::ThirtyTwo { "w32" } else { "w16" });
    }
}

#[test]
fn large_rows_stay_within_eight_bytes_per_synapse() {
    let text = net(PAIR, "0.5", "").replace("size: 3, if_curr_exp", "size: 200, if_curr_exp");
    for (bits, bound) in [(PlasticWeightBits::Sixteen, 4.1), (PlasticWeightBits::ThirtyTwo, 6.1)] {
        let (prog, _) = build(&text, bits).unwrap();
        let img = core_image(&prog, "out");
        let (sec, _) = img.section(SectionKind::SpinnakerPlasticMatrix).unwrap();
        let pm = SynapticMatrix::parse_as(sec, SectionKind::SpinnakerPlasticMatrix).unwrap();
        let words: usize = (0..4).map(|r| pm.row(0, r).len()).sum();
        let per = (words * 4) as f64 / 800.0;
        assert!(per <= bound && per <= 8.0, "{bits:?}: {per} bytes per synapse");
    }
}

#[test]
fn plastic_ring_buffer_shift_follows_w_max() {
    // sPyNNaker sizes plastic inputs by w_max (variance 0), not by the initial weights
    let (prog, _) = build(&net(PAIR, "0.01", ""), PlasticWeightBits::Sixteen).unwrap();
    let p = prog.manifest.projections.iter().find(|p| p.name == "p").unwrap();
    // 4 inputs × w_max 1.0 × 1 spike per step = 4 → shift 3 (LSB 2^-12)
    assert_eq!(p.scale, 2f64.powi(-12));
    let (prog, _) = build(&net(PAIR, "0.01", "").replace(", plasticity: r}", "}"), PlasticWeightBits::Sixteen).unwrap();
    let p = prog.manifest.projections.iter().find(|p| p.name == "p").unwrap();
    assert_eq!(p.scale, 2f64.powi(-15), "the static weights 0.04 in sum need no shift");
}
