//! The subcommands.

use crate::output::print_diagnostics;
use crate::Format;
use anyhow::Context;
use serde::Serialize;
use spikeforge_compiler::diag::Diagnostics;
use spikeforge_compiler::{dump, ir, load, sfir, summary};
use std::path::Path;

/// How a command failed.
pub enum Failure {
    /// The user's input is at fault; diagnostics have been printed. Exit 1.
    User,
    /// Something went wrong inside spikeforge. Exit 2.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }
}

/// Loads and validates a network, printing diagnostics; `Err(User)` when unusable.
fn load_valid(path: &Path, format: Format) -> Result<(ir::Network, Diagnostics), Failure> {
    load::load_file_and_validate(path).map_err(|d| {
        print_diagnostics(&d, format);
        Failure::User
    })
}

#[derive(Serialize)]
struct CheckJson<'a> {
    ok: bool,
    file: String,
    summary: &'a summary::Summary,
    diagnostics: &'a Diagnostics,
}

pub fn check(path: &Path, format: Format) -> Result<(), Failure> {
    let (net, warnings) = load_valid(path, format)?;
    let s = summary::summarize(&net);
        match format {
        Format::Json => {
            let doc = CheckJson { ok: true, file: path.display().to_string(), summary: &s, diagnostics: &warnings };
            println!("{}", serde_json::to_string_pretty(&doc).context("serializing the summary")?);
        }
        Format::Text => {
            for w in warnings.iter() {
                eprintln!("{w}");
            }
            println!("{}: ok", path.display());
            println!("  network      {:?}, dt {} ms, duration {} ms", s.name, s.dt_ms, s.duration_ms);
            println!("  populations  {} ({} neurons, {} spike sources)", s.populations, s.neurons, s.sources);
            println!(
                "  projections  {} ({}{} synapses, {} plastic)",
                s.projections,
                if s.synapses_exact { "" } else { "~" },
                s.synapses,
                s.plastic_synapses
            );
            if s.rules.is_empty() {
                println!("  rules        none");
            }
            for r in &s.rules {
                println!("  rule         {} ({}) on {}", r.name, r.kind, if r.projections.is_empty() { "nothing".into() } else { r.projections.join(", ") });
            }
            println!("  recordings   {}", s.recordings);
        }
    }
    Ok(())
}

pub fn ir(path: &Path, output: Option<&Path>, dump_it: bool, format: Format) -> Result<(), Failure> {
    if dump_it {
        // Dumping shows what a file holds, valid or not: only reading must succeed.
        let net = match load::load(path) {
            Ok(n) => n,
            Err(e) => {
                print_diagnostics(&e.to_diagnostics(), format);
                return Err(Failure::User);
            }
        };
        match format {
            Format::Text => print!("{}", dump::dump(&net)),
            Format::Json => println!("{}", serde_json::to_string_pretty(&net).context("serializing the IR")?),
        }
        return Ok(());
    }
    let (net, warnings) = load_valid(path, format)?;
    let out = output.expect("clap requires --output unless --dump");
    let bytes = sfir::encode(&net);
    if let Err(e) = std::fs::write(out, &bytes) {
        let d = Diagnostics(vec![spikeforge_compiler::diag::Diagnostic::error(
            "E002",
            format!("file '{}'", out.display()),
            "",
            format!("cannot write: {e}"),
        )]);
        print_diagnostics(&d, format);
        return Err(Failure::User);
    }
    match format {
        Format::Text => {
            for w in warnings.iter() {
                eprintln!("{w}");
            }
            println!("wrote {} ({} bytes, IR schema version {})", out.display(), bytes.len(), ir::SCHEMA_VERSION);
        }
        Format::Json => println!(
            "{}",
            serde_json::json!({"ok": true, "output": out.display().to_string(), "bytes": bytes.len(), "schema_version": ir::SCHEMA_VERSION})
        ),
    }
    Ok(())
}
