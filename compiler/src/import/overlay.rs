//! The plasticity overlay: neither netx nor NIR carries plasticity, so
//! `spikeforge import --plasticity rules.yaml` adds rules (the `plasticity:`
//! section of a network file, read by the YAML front end) and attaches them to
//! imported projections by name (`attach: [{projection, rule}]`).
//!
//! Whether a rule can serve a projection is the validation pass's business
//! (V031); this module reports what it alone can see: attachments naming a
//! projection or rule that does not exist, or a projection attached twice.

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir;
use crate::yaml::{self, PlasticityOverlay, YamlError};
use std::path::Path;

/// Reads an overlay file. Errors are diagnostics naming the file, line and field.
pub fn read_overlay(path: &Path) -> Result<PlasticityOverlay, Diagnostics> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::error("E001", format!("file '{shown}'"), "", format!("cannot read: {e}")).at(Location {
            file: shown.clone(),
            line: None,
            column: None,
        })])
    })?;
    parse_overlay(&text, &shown)
}

/// Parses overlay text; `file` names it in diagnostics.
pub fn parse_overlay(text: &str, file: &str) -> Result<PlasticityOverlay, Diagnostics> {
    yaml::parse_plasticity(text, file).map_err(|e| match e {
        YamlError::Syntax { location, path, message } => Diagnostics(vec![Diagnostic::error("Y000", format!("file '{}'", location.file), path, message).at(location)]),
        YamlError::Structure(d) => d,
    })
}

/// Adds the overlay's rules to `net` and attaches them. Attachment errors
/// (codes I010 unknown projection, I011 unknown rule, I012 projection attached
/// twice or already plastic) are returned; on error `net` is unchanged.
/// Run [`crate::validate::validate`] afterwards for everything else.
pub fn apply_overlay(net: &mut ir::Network, overlay: &PlasticityOverlay) -> Result<(), Diagnostics> {
    let mut d = Diagnostics::default();
    let mut attached: Vec<(usize, String)> = Vec::new();
    for (i, a) in overlay.attach.iter().enumerate() {
        let obj = format!("attach[{i}]");
        let known_rule = overlay.rules.iter().any(|r| r.name == a.rule) || net.plasticity_rules.iter().any(|r| r.name == a.rule);
        let proj = net.projections.iter().position(|p| p.name == a.projection);
        match proj {
            None => {
                let mut names: Vec<&str> = net.projections.iter().map(|p| p.name.as_str()).collect();
                names.truncate(12);
                d.push(
                    Diagnostic::error("I010", obj.clone(), "projection", format!("projection '{}' does not exist in the imported network", a.projection))
                        .with_hint(format!("projections: {}", names.join(", ")))
                        .at(a.location.clone()),
                );
            }
            Some(k) => {
                if !net.projections[k].plasticity.is_empty() || attached.iter().any(|(j, _)| *j == k) {
                    d.push(Diagnostic::error("I012", obj.clone(), "projection", format!("projection '{}' already has a plasticity rule; a projection takes one rule", a.projection)).at(a.location.clone()));
                }
                attached.push((k, a.rule.clone()));
            }
        }
        if !known_rule {
            let names: Vec<&str> = overlay.rules.iter().map(|r| r.name.as_str()).collect();
            d.push(
                Diagnostic::error("I011", obj, "rule", format!("rule '{}' is not defined in the overlay's `plasticity:` section", a.rule))
                    .with_hint(format!("rules: {}", if names.is_empty() { "none".into() } else { names.join(", ") }))
                    .at(a.location.clone()),
            );
        }
    }
    if d.has_errors() {
        return Err(d);
    }
    net.plasticity_rules.extend(overlay.rules.iter().cloned());
    for (k, rule) in attached {
        net.projections[k].plasticity = rule;
    }
    Ok(())
}
