//! Error types of the crate.

use std::fmt;
use std::path::PathBuf;

use crate::npy::DType;

/// What is wrong with the bytes of one `.npy` file (or with data handed to
/// the writer). Carries no path: [`ResultsError::Npy`] adds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    /// The file does not start with `\x93NUMPY`.
    #[error("not a .npy file: expected magic bytes \\x93NUMPY, found {}", show_bytes(.found))]
    BadMagic { found: Vec<u8> },
    /// A format version other than 1.0, 2.0 or 3.0.
    #[error("unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)")]
    UnsupportedVersion { major: u8, minor: u8 },
    /// The file ends before the part named by `what` is complete.
    #[error("truncated: expected {expected} bytes of {what}, found {found}")]
    Truncated {
        what: String,
        expected: u64,
        found: u64,
    },
    /// The header dictionary cannot be parsed or lacks a key.
    #[error(
        "malformed header ({reason}); expected a dict like \
         {{'descr': '<f8', 'fortran_order': False, 'shape': (N, M), }}"
    )]
    BadHeader { reason: String },
    /// A `descr` this crate does not read or write.
    #[error("unsupported dtype '{descr}' (expected one of '<f8', '<i8', '<i4', '<u4')")]
    UnsupportedDtype { descr: String },
    /// `fortran_order` is `True`.
    #[error("fortran_order is True (expected False: C order)")]
    FortranOrder,
    /// The array is not 1-D or 2-D.
    #[error("shape {} has {} dimensions (expected 1 or 2)", show_shape(.shape), .shape.len())]
    UnsupportedRank { shape: Vec<usize> },
    /// The product of the shape overflows.
    #[error("shape {} is too large", show_shape(.shape))]
    ShapeOverflow { shape: Vec<usize> },
    /// The data part is longer than the shape says (reading), or the number
    /// of elements differs from the shape (writing).
    #[error(
        "data length mismatch: shape {} of {dtype} needs {expected} elements, found {found}",
        show_shape(.shape)
    )]
    LengthMismatch {
        shape: Vec<usize>,
        dtype: DType,
        expected: u64,
        found: u64,
    },
    /// The file is a valid `.npy` but of another dtype than the caller needs.
    #[error("dtype is {found} (expected {})", show_dtypes(.expected))]
    WrongDtype { expected: Vec<DType>, found: DType },
    /// The file is a valid `.npy` but of another shape than the caller needs.
    #[error("shape is {} (expected {expected})", show_shape(.found))]
    WrongShape { expected: String, found: Vec<usize> },
}

/// Any failure of reading or writing a run-output directory or a `.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// An I/O error on `path`.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `path` is not a `.npy` file this crate can read, or not the one expected.
    #[error("{}: {source}", .path.display())]
    Npy {
        path: PathBuf,
        #[source]
        source: NpyError,
    },
    /// `path` (a `summary.json`) is not valid JSON of the expected shape.
    #[error("{}: invalid summary.json: {source}", .path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// `path` is readable but its content contradicts the format
    /// (e.g. summary.json and an array disagree, an unsafe file name).
    #[error("{}: {message}", .path.display())]
    Format { path: PathBuf, message: String },
    /// The [`RunResult`](crate::RunResult) cannot be written as it is
    /// (inconsistent lengths, a value that does not fit the file's dtype).
    #[error("cannot write {record}: {message}")]
    Invalid { record: String, message: String },
}

impl ResultsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ResultsError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn npy(path: impl Into<PathBuf>, source: NpyError) -> Self {
        ResultsError::Npy {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ResultsError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
    pub(crate) fn invalid(record: impl Into<String>, message: impl Into<String>) -> Self {
        ResultsError::Invalid {
            record: record.into(),
            message: message.into(),
        }
    }
}

/// `(2, 3)`, `(4,)`: Python's spelling of a shape tuple.
pub(crate) fn show_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

fn show_dtypes(d: &[DType]) -> String {
    let parts: Vec<String> = d.iter().map(|d| d.to_string()).collect();
    parts.join(" or ")
}

fn show_bytes(b: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &c in b {
        if c.is_ascii_graphic() || c == b' ' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s.push('"');
    s
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.descr())
    }
}
