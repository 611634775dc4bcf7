//! The plasticity overlay: rules from the YAML front end attached to imported
//! projections; bad attachments are errors naming the attachment or the field.

use spikeforge_compiler::import::nir::import_nir;
use spikeforge_compiler::import::netx::import_netx;
use spikeforge_compiler::import::overlay::{apply_overlay, parse_overlay};
use spikeforge_compiler::ir::{self, plasticity_rule::Rule};
use spikeforge_compiler::validate::validate;
use std::path::PathBuf;

fn shared() -> PathBuf {
    let dir = match std::env::var_os("SPIKEFORGE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    let probe = dir.join("fixtures/lava-dl/lava_oxford.net");
    assert!(probe.is_file(), "fixtures not found: {} does not exist; set SPIKEFORGE_SHARED to the directory holding fixtures/", probe.display());
    dir
}

fn oxford() -> ir::Network {
    import_netx(&shared().join("fixtures/lava-dl/lava_oxford.net")).unwrap().0
}

fn braille() -> ir::Network {
    import_nir(&shared().join("fixtures/nir/nirpaper_braille_noDelay_bias_zero.nir"), 1.0).unwrap().0
}

const RULES: &str = r#"
plasticity:
  - name: lava_stdp
    sum_of_products:
      dw: "2^-2 * x1 * y0 - 2^-2 * y1 * x0"
      x1: {impulse: 16, tau: 10}
      y1: {impulse: 16, tau: 10}
  - name: stdp
    pair_stdp: {tau_plus_ms: 20, tau_minus_ms: 20, a_plus: 0.01, a_minus: 0.012, w_min: -1, w_max: 1}
"#;

fn overlay(attach: &str) -> spikeforge_compiler::yaml::PlasticityOverlay {
    parse_overlay(&format!("{RULES}attach:\n{attach}"), "rules.yaml").unwrap()
}

#[test]
fn sum_of_products_on_a_netx_projection_and_pair_stdp_on_a_nir_projection() {
    let mut net = oxford();
    apply_overlay(&mut net, &overlay("  - {projection: layer1, rule: lava_stdp}\n")).unwrap();
    let d = validate(&net);
    assert!(!d.has_errors(), "{d}");
    assert_eq!(net.projections.iter().find(|p| p.name == "layer1").unwrap().plasticity, "lava_stdp");
    assert!(matches!(net.plasticity_rules[0].rule, Some(Rule::SumOfProducts(_))));
    // The rule defined but not attached draws the usual warning.
    assert!(d.iter().any(|x| x.code == "V039" && x.object.contains("stdp")));

    let mut net = braille();
    apply_overlay(&mut net, &overlay("  - {projection: fc2, rule: stdp}\n  - {projection: lif1.w_rec, rule: stdp}\n")).unwrap();
    let d = validate(&net);
    assert!(!d.has_errors(), "{d}");
    let Some(Rule::PairStdp(s)) = &net.plasticity_rules.iter().find(|r| r.name == "stdp").unwrap().rule else { panic!() };
    assert_eq!((s.a_minus, s.w_min), (0.012, -1.0));
}

#[test]
fn rules_that_cannot_serve_the_projection_fail_validation() {
    // pair STDP needs physical-unit neurons, not netx's fixed-point ones.
    let mut net = oxford();
    apply_overlay(&mut net, &overlay("  - {projection: layer0, rule: stdp}\n")).unwrap();
    let d = validate(&net);
    assert!(d.errors().any(|x| x.code == "V031" && x.object == "projection 'layer0'" && x.field == "plasticity"), "{d}");
    // sum-of-products needs Loihi-style neurons, not NIR's.
    let mut net = braille();
    apply_overlay(&mut net, &overlay("  - {projection: fc1, rule: lava_stdp}\n")).unwrap();
    assert!(validate(&net).errors().any(|x| x.code == "V031" && x.object == "projection 'fc1'"));
    // Shared convolution weights cannot learn.
    let mut net = import_netx(&shared().join("fixtures/lava-dl/lava_tiny.net")).unwrap().0;
    apply_overlay(&mut net, &overlay("  - {projection: layer1, rule: lava_stdp}\n")).unwrap();
    assert!(validate(&net).errors().any(|x| x.code == "V031" && x.message.contains("convolution")));
}

#[test]
fn unknown_names_and_double_attachments_are_reported() {
    let mut net = oxford();
    let before = net.clone();
    let e = apply_overlay(&mut net, &overlay("  - {projection: layer9, rule: lava_stdp}\n  - {projection: layer1, rule: nope}\n  - {projection: layer0, rule: lava_stdp}\n  - {projection: layer0, rule: lava_stdp}\n")).unwrap_err();
    let codes: Vec<(&str, String)> = e.iter().map(|d| (d.code, d.object.clone())).collect();
    assert!(codes.contains(&("I010", "attach[0]".into())), "{e}");
    assert!(codes.contains(&("I011", "attach[1]".into())), "{e}");
    assert!(codes.contains(&("I012", "attach[3]".into())), "{e}");
    let unknown = e.iter().find(|d| d.code == "I010").unwrap();
    assert_eq!(unknown.location.as_ref().unwrap().file, "rules.yaml");
    assert!(unknown.location.as_ref().unwrap().line.is_some());
    assert_eq!(net, before, "nothing applied on error");
}

#[test]
fn overlay_syntax_errors_name_the_field() {
    let e = parse_overlay("plasticity:\n  - name: r\n    pair_stdp: {tau_plus: 20}\n", "rules.yaml").unwrap_err();
    let d = &e.0[0];
    assert_eq!(d.code, "Y000");
    assert!(d.field.contains("pair_stdp"), "{d}");
    assert_eq!(d.location.as_ref().unwrap().line, Some(3));
    let e = parse_overlay("attach:\n  - {projection: a}\n", "rules.yaml").unwrap_err();
    assert!(e.0[0].message.contains("rule"), "{e}");
    let e = parse_overlay("plasticity:\n  - name: r\n", "rules.yaml").unwrap_err();
    assert_eq!(e.0[0].code, "Y030");
}
