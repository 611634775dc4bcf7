//! Rendering results and diagnostics for the terminal or as JSON.

use crate::Format;
use serde::Serialize;
use spikeforge_compiler::diag::{Diagnostics, Severity};

#[derive(Serialize)]
struct JsonFailure<'a> {
    ok: bool,
    diagnostics: &'a Diagnostics,
}

/// Prints diagnostics: text to stderr, or a JSON document to stdout.
pub fn print_diagnostics(d: &Diagnostics, format: Format) {
    match format {
        Format::Text => {
            for diag in d.iter() {
                eprintln!("{diag}");
            }
            let errors = d.iter().filter(|x| x.severity == Severity::Error).count();
            let warnings = d.iter().filter(|x| x.severity == Severity::Warning).count();
            if errors > 0 {
                eprintln!("{errors} error(s), {warnings} warning(s)");
            }
        }
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&JsonFailure { ok: !d.has_errors(), diagnostics: d }).unwrap_or_default());
        }
    }
}
