//! `spikeforge import`: netx `.net` / NIR `.nir` → IR, with a plasticity
//! overlay; `--export-nir` writes the plasticity-free part of a network as NIR.

use crate::commands::Failure;
use crate::output::print_diagnostics;
use crate::Format;
use anyhow::Context;
use serde::Serialize;
use spikeforge_compiler::diag::{Diagnostic, Diagnostics, Location};
use spikeforge_compiler::import::{self, ImportError, ImportOptions, ImportReport, Note, SourceFormat};
use spikeforge_compiler::{ir, load, sfir, validate};
use std::path::{Path, PathBuf};

/// Arguments of `spikeforge import`.
pub struct ImportArgs {
    pub file: PathBuf,
    pub plasticity: Option<PathBuf>,
    pub dt_ms: f64,
    pub output: Option<PathBuf>,
    pub export_nir: Option<PathBuf>,
}

#[derive(Serialize)]
struct ImportJson<'a> {
    ok: bool,
    file: String,
    #[serde(flatten)]
    report: &'a ImportReport,
    rules: Vec<RuleJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export_nir: Option<String>,
    export_notes: &'a [Note],
    diagnostics: &'a Diagnostics,
}

#[derive(Serialize)]
struct RuleJson {
    name: String,
    kind: &'static str,
    projections: Vec<String>,
}

fn import_error(e: &ImportError, shown: &Path) -> Diagnostics {
    Diagnostics(vec![Diagnostic::error("I001", format!("file '{}'", shown.display()), e.path.clone(), e.message.clone()).at(Location {
        file: shown.display().to_string(),
        line: None,
        column: None,
    })])
}

fn user(d: Diagnostics, format: Format) -> Failure {
    print_diagnostics(&d, format);
    Failure::User
}

/// True for the files `import` converts (netx, NIR), by extension or HDF5 signature.
fn is_importable(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("net") | Some("nir") => true,
        _ => std::fs::read(path).map(|b| b.starts_with(b"\x89HDF\r\n\x1a\n")).unwrap_or(false),
    }
}

pub fn import(a: &ImportArgs, format: Format) -> Result<(), Failure> {
    if !(a.dt_ms.is_finite() && a.dt_ms > 0.0 && a.dt_ms <= 100.0) {
        return Err(user(Diagnostics(vec![Diagnostic::error("E003", "option --dt-ms", "", format!("found {}; expected a time step in (0, 100] ms", a.dt_ms))]), format));
    }
    // Read: an import, or (only with --export-nir) a network spikeforge already reads.
    let (mut net, notes, source_format, layers) = if is_importable(&a.file) {
        let imp = import::import_file(&a.file, ImportOptions { dt_ms: a.dt_ms }).map_err(|e| user(import_error(&e, &a.file), format))?;
        (imp.network, imp.notes, Some(imp.format), imp.layers)
    } else if a.export_nir.is_some() {
        let net = load::load(&a.file).map_err(|e| user(e.to_diagnostics(), format))?;
        (net, vec![], None, 0)
    } else {
        let d = Diagnostic::error("I002", format!("file '{}'", a.file.display()), "", "not a lava-dl netx (.net) or NIR (.nir) file")
            .with_hint("spikeforge import reads .net and .nir files; YAML and .sfir networks are read by check/ir (or exported with --export-nir)");
        return Err(user(Diagnostics(vec![d]), format));
    };
    if let Some(p) = &a.plasticity {
        let overlay = import::overlay::read_overlay(p).map_err(|d| user(d, format))?;
        import::overlay::apply_overlay(&mut net, &overlay).map_err(|d| user(d, format))?;
    }
    let mut diags = validate::validate(&net);
    let shown = a.file.display().to_string();
    for d in &mut diags.0 {
        if d.location.is_none() {
            // Rule problems point at the overlay; the rest at the imported file.
            let on_rule = d.object.starts_with("plasticity rule") || (d.field == "plasticity" && a.plasticity.is_some());
            let file = match (&a.plasticity, on_rule) {
                (Some(p), true) => p.display().to_string(),
                _ => shown.clone(),
            };
            d.location = Some(Location { file, line: None, column: None });
        }
    }
    if diags.has_errors() {
        return Err(user(diags, format));
    }
    if let Some(out) = &a.output {
        let bytes = sfir::encode(&net);
        std::fs::write(out, &bytes).map_err(|e| {
            user(Diagnostics(vec![Diagnostic::error("E002", format!("file '{}'", out.display()), "", format!("cannot write: {e}"))]), format)
        })?;
    }
    let mut export_notes = Vec::new();
    if let Some(out) = &a.export_nir {
        export_notes = import::nir_export::export_nir_file(&net, out).map_err(|e| {
            let d = Diagnostic::error("I003", e.path.clone(), "", format!("cannot export to NIR: {}", e.message));
            user(Diagnostics(vec![d]), format)
        })?;
    }
    let report = import::report(&net, source_format.unwrap_or(SourceFormat::Nir), layers, &notes);
    let rules: Vec<RuleJson> = net
        .plasticity_rules
        .iter()
        .map(|r| RuleJson {
            name: r.name.clone(),
            kind: spikeforge_compiler::summary::rule_kind(&r.rule),
            projections: net.projections.iter().filter(|p| p.plasticity == r.name).map(|p| p.name.clone()).collect(),
        })
        .collect();
    match format {
        Format::Json => {
            let doc = ImportJson {
                ok: true,
                file: shown,
                report: &report,
                rules,
                output: a.output.as_ref().map(|p| p.display().to_string()),
                export_nir: a.export_nir.as_ref().map(|p| p.display().to_string()),
                export_notes: &export_notes,
                diagnostics: &diags,
            };
            println!("{}", serde_json::to_string_pretty(&doc).context("serializing the import report")?);
        }
        Format::Text => {
            for w in diags.iter() {
                eprintln!("{w}");
            }
            print_text(&shown, source_format, &report, &rules, &net);
            for n in &export_notes {
                println!("  export note  {n}");
            }
            if let Some(out) = &a.output {
                println!("wrote {} (IR schema version {})", out.display(), ir::SCHEMA_VERSION);
            }
            if let Some(out) = &a.export_nir {
                println!("wrote {} (NIR)", out.display());
            }
        }
    }
    Ok(())
}

fn print_text(file: &str, source: Option<SourceFormat>, r: &ImportReport, rules: &[RuleJson], net: &ir::Network) {
    match source {
        Some(SourceFormat::Netx) => println!("{file}: lava-dl netx, {} layers", r.layers),
        Some(SourceFormat::Nir) => println!("{file}: NIR, {} nodes (nested graphs flattened), dt {} ms", r.layers, net.dt_ms),
        None => println!("{file}: network, dt {} ms", net.dt_ms),
    }
    println!("  populations  {} ({} neurons, {} inputs)", r.populations, r.neurons, r.inputs);
    for p in &r.populations_detail {
        println!("    {:<20} {:<24} shape {:?} ({} neurons)", p.name, p.model, p.shape, p.size);
    }
    println!("  projections  {} ({} synapses, {} plastic)", r.projections, r.synapses, r.plastic_projections);
    for p in &r.projections_detail {
        let plastic = if p.plasticity.is_empty() { String::new() } else { format!(", rule {}", p.plasticity) };
        println!("    {:<20} {} -> {}: {}, {} synapses{plastic}", p.name, p.pre, p.post, p.connectivity, p.synapses);
    }
    for rule in rules {
        println!("  rule         {} ({}) on {}", rule.name, rule.kind, if rule.projections.is_empty() { "nothing".into() } else { rule.projections.join(", ") });
    }
    if r.notes.is_empty() {
        println!("  approximations: none");
    } else {
        println!("  approximations and notes ({}):", r.notes.len());
        for n in &r.notes {
            println!("    {n}");
        }
    }
}
