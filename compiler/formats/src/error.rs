//! The one error type of this crate.
//!
//! Every error names the file and the path *inside* the file it is about, e.g.
//! `lava_tiny.net: /layer/1/weight: expected a float dataset, found string`.
//! Errors about the file as a whole use the path `/`.

/// An error while reading or writing a netx `.net` or NIR `.nir` file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {path}: {kind}")]
pub struct FormatError {
    /// The file's name as shown to users (the last component of the path it was
    /// opened with, or the name given to an in-memory source).
    pub file: String,
    /// The HDF5 path inside the file (`/layer/1/weight`), `/` for the whole file.
    pub path: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl FormatError {
    /// Builds an error for `path` inside `file`.
    pub fn new(file: impl Into<String>, path: impl Into<String>, kind: ErrorKind) -> Self {
        FormatError {
            file: file.into(),
            path: path.into(),
            kind,
        }
    }
}

/// What went wrong; the [`FormatError`] around it says where.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The file could not be read or written at all.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The bytes do not start with an HDF5 signature.
    #[error("not an HDF5 file (no HDF5 signature found)")]
    NotHdf5,
    /// The HDF5 decoder rejected the file's structure at this path.
    #[error("malformed HDF5: {0}")]
    Malformed(String),
    /// The HDF5 decoder panicked on this input; the panic was caught at the
    /// boundary of the `h5` module and turned into this error.
    #[error("malformed HDF5 (the decoder failed: {0})")]
    DecoderPanic(String),
    /// A dataset declares more data than this file could plausibly hold.
    #[error("dataset declares {bytes} bytes of data, more than the limit of {limit} bytes for this file")]
    TooLarge {
        /// Bytes the dataset declares (elements x element size).
        bytes: u128,
        /// The limit for this file.
        limit: u128,
    },
    /// A required group or dataset is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The object exists but is of the wrong kind (a group where a dataset is
    /// expected, or the reverse).
    #[error("expected a {expected}, found a {found}")]
    WrongObject {
        /// `dataset` or `group`.
        expected: &'static str,
        /// `dataset` or `group`.
        found: &'static str,
    },
    /// A dataset holds the wrong datatype.
    #[error("expected {expected} dataset, found {found}")]
    WrongType {
        /// What was expected, with its article (`a float`, `a string`).
        expected: &'static str,
        /// The stored datatype.
        found: String,
    },
    /// A dataset has the wrong shape.
    #[error("expected shape {expected}, found {found:?}")]
    WrongShape {
        /// The expected shape, in words.
        expected: String,
        /// The stored shape.
        found: Vec<usize>,
    },
    /// A value is not acceptable (non-integral where an integer is required,
    /// inconsistent sizes, bad names, ...).
    #[error("{0}")]
    Invalid(String),
    /// A NIR node whose `type` this reader does not know.
    #[error("unknown NIR node type `{0}`")]
    UnknownNodeType(String),
    /// A dataset that is not a field of the NIR node type it appears in.
    #[error("`{field}` is not a field of NIR node type {node_type}")]
    UnexpectedField {
        /// The dataset's name.
        field: String,
        /// The node's type.
        node_type: &'static str,
    },
    /// The HDF5 writer refused the model.
    #[error("cannot write HDF5: {0}")]
    Write(String),
}
