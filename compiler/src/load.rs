//! Reading a network from a file the user names: YAML or `.sfir`.

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::ir::Network;
use crate::sfir::{self, SfirError};
use crate::yaml::{self, YamlError};
use std::path::Path;

/// Why a network file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read file: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Yaml(#[from] YamlError),
    #[error("{path}: {source}")]
    Sfir {
        path: String,
        #[source]
        source: SfirError,
    },
    #[error("{path}: YAML network files must be UTF-8 text: {source}")]
    Utf8 {
        path: String,
        #[source]
        source: std::str::Utf8Error,
    },
}

/// The kind of a network file, by content (magic bytes), then by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Sfir,
    Yaml,
}

/// Decides how to read `bytes` found at `path`.
pub fn file_kind(path: &Path, bytes: &[u8]) -> FileKind {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if bytes.starts_with(&sfir::MAGIC) || ext == "sfir" {
        FileKind::Sfir
    } else {
        FileKind::Yaml
    }
}

/// Reads a network from a YAML or `.sfir` file (not yet validated).
pub fn load(path: &Path) -> Result<Network, LoadError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: shown.clone(), source })?;
    load_bytes(&shown, path, &bytes)
}

/// Reads a network from bytes; `shown` names the source in errors.
pub fn load_bytes(shown: &str, path: &Path, bytes: &[u8]) -> Result<Network, LoadError> {
    match file_kind(path, bytes) {
        FileKind::Sfir => sfir::decode(bytes).map_err(|source| LoadError::Sfir { path: shown.to_string(), source }),
        FileKind::Yaml => {
            let text = std::str::from_utf8(bytes).map_err(|source| LoadError::Utf8 { path: shown.to_string(), source })?;
            Ok(yaml::parse(text, shown)?)
        }
    }
}

impl LoadError {
    /// The failure as diagnostics, so every error prints the same way.
    pub fn to_diagnostics(&self) -> Diagnostics {
        let file_only = |path: &str| Location { file: path.to_string(), line: None, column: None };
        let mut d = Diagnostics::default();
        match self {
            LoadError::Io { path, source } => {
                d.push(Diagnostic::error("E001", format!("file '{path}'"), "", format!("cannot read: {source}")).at(file_only(path)))
            }
            LoadError::Utf8 { path, source } => d.push(
                Diagnostic::error("Y002", format!("file '{path}'"), "", format!("not UTF-8 text ({source}); expected a YAML network or an .sfir file"))
                    .at(file_only(path)),
            ),
            LoadError::Sfir { path, source } => {
                d.push(Diagnostic::error("S001", format!("file '{path}'"), "", source.to_string()).at(file_only(path)))
            }
            LoadError::Yaml(YamlError::Syntax { location, path, message }) => d.push(
                Diagnostic::error("Y000", format!("file '{}'", location.file), path.clone(), message.clone()).at(location.clone()),
            ),
            LoadError::Yaml(YamlError::Structure(diags)) => d.0.extend(diags.iter().cloned()),
        }
        d
    }
}

/// Reads and validates a network. `Ok` carries the network and any warnings;
/// `Err` carries the diagnostics that make it unusable (read or validation
/// errors). Validation works on the IR, which has no line numbers, so each
/// finding is pointed at its object's `name:` line when the source is YAML.
pub fn load_and_validate(shown: &str, path: &Path, bytes: &[u8]) -> Result<(Network, Diagnostics), Diagnostics> {
    let net = load_bytes(shown, path, bytes).map_err(|e| e.to_diagnostics())?;
    let mut diags = crate::validate::validate(&net);
    let text = match file_kind(path, bytes) {
        FileKind::Yaml => std::str::from_utf8(bytes).ok(),
        FileKind::Sfir => None,
    };
    for d in &mut diags.0 {
        if d.location.is_none() {
            let line = text.and_then(|t| crate::yaml::locate_name(t, d.object.split('\'').nth(1)?));
            d.location = Some(Location { file: shown.to_string(), line, column: None });
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((net, diags))
    }
}

/// [`load_and_validate`] on a file.
pub fn load_file_and_validate(path: &Path) -> Result<(Network, Diagnostics), Diagnostics> {
    let shown = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => load_and_validate(&shown, path, &bytes),
        Err(source) => Err(LoadError::Io { path: shown, source }.to_diagnostics()),
    }
}
