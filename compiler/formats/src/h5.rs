//! Our own small HDF5 reading interface, and its implementation over the pinned
//! pure-Rust crate `hdf5-pure`.
//!
//! The netx and NIR readers only talk to [`H5Source`], so the HDF5 crate can be
//! swapped by implementing this trait again. The interface is deliberately tiny:
//! list a group's members, read a whole dataset as typed values. Both formats
//! store every field as a dataset (no attributes), so nothing else is needed.
//!
//! Reads dispatch on the *stored* datatype: a float32 dataset comes back as
//! `Data::Num(NumData::F32(..))`, never widened, so callers see exactly what is in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::array::{IntArray, NumArray, NumData, Scalar};
use crate::error::{ErrorKind, FormatError};

/// The datatype of a dataset, as far as these formats care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DType {
    /// IEEE float, 4 bytes.
    F32,
    /// IEEE float, 8 bytes.
    F64,
    /// Signed integer, 1 byte.
    I8,
    /// Signed integer, 2 bytes.
    I16,
    /// Signed integer, 4 bytes.
    I32,
    /// Signed integer, 8 bytes.
    I64,
    /// Unsigned integer, 1 byte.
    U8,
    /// Unsigned integer, 2 bytes.
    U16,
    /// Unsigned integer, 4 bytes.
    U32,
    /// Unsigned integer, 8 bytes.
    U64,
    /// h5py's bool: an HDF5 enum over an 8-bit integer with members FALSE = 0
    /// and TRUE = 1.
    Bool,
    /// Fixed-length string (numpy `S10`), with its width in bytes.
    FixedString(u32),
    /// Variable-length string (h5py `string_dtype()`).
    VlenString,
    /// Any other datatype, described in words. Reading such a dataset fails.
    Other(String),
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::F32 => f.write_str("float32"),
            DType::F64 => f.write_str("float64"),
            DType::I8 => f.write_str("int8"),
            DType::I16 => f.write_str("int16"),
            DType::I32 => f.write_str("int32"),
            DType::I64 => f.write_str("int64"),
            DType::U8 => f.write_str("uint8"),
            DType::U16 => f.write_str("uint16"),
            DType::U32 => f.write_str("uint32"),
            DType::U64 => f.write_str("uint64"),
            DType::Bool => f.write_str("bool"),
            DType::FixedString(n) => write!(f, "string (fixed, {n} bytes)"),
            DType::VlenString => f.write_str("string (variable-length)"),
            DType::Other(s) => f.write_str(s),
        }
    }
}

impl DType {
    /// True for the float and integer types.
    pub fn is_numeric(&self) -> bool {
        !matches!(
            self,
            DType::Bool | DType::FixedString(_) | DType::VlenString | DType::Other(_)
        )
    }

    /// True for both string kinds.
    pub fn is_string(&self) -> bool {
        matches!(self, DType::FixedString(_) | DType::VlenString)
    }
}

/// A dataset's values, flattened in row-major (C) order, in the stored type.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// Numeric values.
    Num(NumData),
    /// h5py bools.
    Bool(Vec<bool>),
    /// Strings (fixed-length ones with their padding removed).
    Str(Vec<String>),
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::Num(n) => n.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole dataset: shape (empty for an HDF5 scalar), datatype and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Dimensions; `[]` for a scalar dataspace.
    pub shape: Vec<usize>,
    /// The stored datatype.
    pub dtype: DType,
    /// The values, `shape.iter().product()` of them (1 for a scalar).
    pub data: Data,
}

impl Dataset {
    /// The numeric content, or a type error.
    pub fn into_num(self) -> Result<NumArray, ErrorKind> {
        match self.data {
            Data::Num(data) => Ok(NumArray {
                shape: self.shape,
                data,
            }),
            _ => Err(ErrorKind::WrongType {
                expected: "a numeric",
                found: self.dtype.to_string(),
            }),
        }
    }

    /// The strings, or a type error.
    pub fn into_strings(self) -> Result<Vec<String>, ErrorKind> {
        match self.data {
            Data::Str(v) => Ok(v),
            _ => Err(ErrorKind::WrongType {
                expected: "a string",
                found: self.dtype.to_string(),
            }),
        }
    }

    /// The single string of a scalar or one-element string dataset (netx stores
    /// `type` as `S10` of shape (1,), NIR as a scalar vlen string).
    pub fn into_single_string(self) -> Result<String, ErrorKind> {
        let shape = self.shape.clone();
        let v = self.into_strings()?;
        match <[String; 1]>::try_from(v) {
            Ok([s]) => Ok(s),
            Err(_) => Err(ErrorKind::WrongShape {
                expected: "a single string (scalar or (1,))".into(),
                found: shape,
            }),
        }
    }

    /// The single bool of a scalar or one-element dataset. h5py bools (enum
    /// FALSE/TRUE) are accepted, and so are integer datasets holding 0 or 1.
    pub fn into_single_bool(self) -> Result<bool, ErrorKind> {
        let shape = self.shape.clone();
        if self.data.len() != 1 {
            return Err(ErrorKind::WrongShape {
                expected: "a single value (scalar or (1,))".into(),
                found: shape,
            });
        }
        match self.data {
            Data::Bool(v) => Ok(v[0]),
            Data::Num(n) if n.is_integer() => match n.to_i64_exact() {
                Ok(v) if v[0] == 0 || v[0] == 1 => Ok(v[0] == 1),
                _ => Err(ErrorKind::Invalid(
                    "expected a bool (0 or 1), found another integer".into(),
                )),
            },
            _ => Err(ErrorKind::WrongType {
                expected: "a bool",
                found: self.dtype.to_string(),
            }),
        }
    }
}

/// The members of a group, each list sorted by name (byte order, as HDF5's
/// symbol tables and h5py list them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Child groups.
    pub groups: Vec<String>,
    /// Child datasets.
    pub datasets: Vec<String>,
}

impl Members {
    /// True if `name` is a child group.
    pub fn has_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }

    /// True if `name` is a child dataset.
    pub fn has_dataset(&self, name: &str) -> bool {
        self.datasets.iter().any(|d| d == name)
    }

    /// True if `name` is a child of either kind.
    pub fn contains(&self, name: &str) -> bool {
        self.has_group(name) || self.has_dataset(name)
    }
}

/// Read access to an HDF5 file. Paths are absolute (`/layer/0/weight`); the root
/// group is `/`.
pub trait H5Source {
    /// The file's name for error messages.
    fn file_name(&self) -> &str;

    /// Lists the members of the group at `group`.
    fn members(&self, group: &str) -> Result<Members, FormatError>;

    /// Reads the whole dataset at `path`.
    fn dataset(&self, path: &str) -> Result<Dataset, FormatError>;

    /// An error about `path` in this file.
    fn error(&self, path: &str, kind: ErrorKind) -> FormatError {
        FormatError::new(self.file_name(), path, kind)
    }
}

/// Joins a group path and a member name.
pub fn join(group: &str, name: &str) -> String {
    if group == "/" || group.is_empty() {
        format!("/{name}")
    } else {
        format!("{group}/{name}")
    }
}

/// Largest decompression ratio deflate can reach (about 1032:1), rounded up:
/// no dataset stored in a file of `n` bytes can hold more than about this many
/// times `n` bytes of data. A corrupt header that claims more is refused before
/// anything is allocated.
const MAX_EXPANSION: u128 = 1100;
/// Floor for that limit, so that tiny files with fill-value datasets still read.
const MIN_LIMIT: u128 = 1 << 20;

/// [`H5Source`] over `hdf5-pure` 0.47 with the whole file in memory.
pub struct PureH5File {
    name: String,
    len: u128,
    file: hdf5_pure::File,
}

impl fmt::Debug for PureH5File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PureH5File")
            .field("name", &self.name)
            .field("len", &self.len)
            .finish()
    }
}

/// An error from inside a guarded call: either the HDF5 crate's or ours.
enum Inner {
    H5(hdf5_pure::Error),
    Kind(ErrorKind),
}

impl From<hdf5_pure::Error> for Inner {
    fn from(e: hdf5_pure::Error) -> Self {
        Inner::H5(e)
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

fn map_h5_error(e: hdf5_pure::Error) -> ErrorKind {
    match e {
        hdf5_pure::Error::NotADataset(_) => ErrorKind::WrongObject {
            expected: "dataset",
            found: "group",
        },
        hdf5_pure::Error::NotAGroup(_) => ErrorKind::WrongObject {
            expected: "group",
            found: "dataset",
        },
        hdf5_pure::Error::Format(hdf5_pure::FormatError::PathNotFound(_)) => {
            ErrorKind::Missing("object")
        }
        other => ErrorKind::Malformed(other.to_string()),
    }
}

/// Path as `hdf5-pure` wants it: relative to the root, no leading slash.
fn rel(path: &str) -> &str {
    path.trim_start_matches('/')
}

impl PureH5File {
    /// Reads the file at `path` into memory and opens it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FormatError> {
        let path = path.as_ref();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let bytes = std::fs::read(path).map_err(|e| FormatError::new(&name, "/", e.into()))?;
        Self::from_bytes(name, bytes)
    }

    /// Opens an in-memory file; `name` is used in error messages.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, FormatError> {
        let name = name.into();
        let len = bytes.len() as u128;
        if !hdf5_pure::is_hdf5_bytes(&bytes) {
            return Err(FormatError::new(name, "/", ErrorKind::NotHdf5));
        }
        let file = guarded(&name, "/", move || Ok(hdf5_pure::File::from_bytes(bytes)?))?;
        // The superblock records where the file ends (relative to its base
        // address). A shorter file was truncated; libhdf5 refuses it too, even
        // when the missing tail happens to be unused space.
        let sb = file.superblock();
        let eof = u128::from(sb.base_address.get()) + u128::from(sb.eof_address);
        if eof > len {
            return Err(FormatError::new(
                name,
                "/",
                ErrorKind::Malformed(format!(
                    "file is truncated: its superblock says it ends at byte {eof}, but it has {len} bytes"
                )),
            ));
        }
        Ok(PureH5File { name, len, file })
    }

    fn limit(&self) -> u128 {
        (self.len * MAX_EXPANSION).max(MIN_LIMIT)
    }
}

/// Runs one call into the HDF5 crate.
///
/// `hdf5-pure` is young and parses untrusted bytes; malformed input must never
/// take the process down. Every call into it goes through this function, which
/// catches a panic with `std::panic::catch_unwind` and turns it into
/// [`ErrorKind::DecoderPanic`]. (The process's panic hook still runs and may print
/// the panic message; this crate does not replace the global hook.) The file
/// handle is only read, never left half-updated by us, so continuing to use it
/// after a caught panic is sound (`AssertUnwindSafe`); the reader stops at the
/// first error anyway.
fn guarded<T>(
    file: &str,
    path: &str,
    f: impl FnOnce() -> Result<T, Inner>,
) -> Result<T, FormatError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(Inner::H5(e))) => Err(FormatError::new(file, path, map_h5_error(e))),
        Ok(Err(Inner::Kind(k))) => Err(FormatError::new(file, path, k)),
        Err(payload) => Err(FormatError::new(
            file,
            path,
            ErrorKind::DecoderPanic(panic_message(payload)),
        )),
    }
}

fn classify(dt: &hdf5_pure::Datatype) -> DType {
    use hdf5_pure::Datatype as D;
    match dt {
        D::FloatingPoint { size: 4, .. } => DType::F32,
        D::FloatingPoint { size: 8, .. } => DType::F64,
        D::FixedPoint { size, layout, .. } => match (size, layout.signed) {
            (1, true) => DType::I8,
            (2, true) => DType::I16,
            (4, true) => DType::I32,
            (8, true) => DType::I64,
            (1, false) => DType::U8,
            (2, false) => DType::U16,
            (4, false) => DType::U32,
            (8, false) => DType::U64,
            _ => DType::Other(format!("{size}-byte integer")),
        },
        D::String { size, .. } => DType::FixedString(*size),
        D::VariableLength {
            is_string: true, ..
        } => DType::VlenString,
        D::Enumeration {
            size: 1,
            base_type,
            members,
        } if matches!(**base_type, D::FixedPoint { size: 1, .. })
            && members.len() == 2
            && members.iter().any(|m| m.name == "FALSE" && m.value == [0])
            && members.iter().any(|m| m.name == "TRUE" && m.value == [1]) =>
        {
            DType::Bool
        }
        D::FloatingPoint { size, .. } => DType::Other(format!("{size}-byte float")),
        D::Enumeration { .. } => DType::Other("enum".into()),
        D::Compound { .. } => DType::Other("compound".into()),
        D::Array { .. } => DType::Other("array".into()),
        D::VariableLength { .. } => DType::Other("variable-length sequence".into()),
        D::Reference { .. } => DType::Other("reference".into()),
        D::Opaque { .. } => DType::Other("opaque".into()),
        D::BitField { .. } => DType::Other("bitfield".into()),
        D::Time { .. } => DType::Other("time".into()),
        _ => DType::Other("unsupported datatype".into()),
    }
}

fn read_data(ds: &hdf5_pure::Dataset, dtype: &DType) -> Result<Data, Inner> {
    Ok(match dtype {
        DType::F32 => Data::Num(NumData::F32(ds.read_f32()?)),
        DType::F64 => Data::Num(NumData::F64(ds.read_f64()?)),
        DType::I8 => Data::Num(NumData::I8(ds.read_i8()?)),
        DType::I16 => Data::Num(NumData::I16(ds.read_i16()?)),
        DType::I32 => Data::Num(NumData::I32(ds.read_i32()?)),
        DType::I64 => Data::Num(NumData::I64(ds.read_i64()?)),
        DType::U8 => Data::Num(NumData::U8(ds.read_u8()?)),
        DType::U16 => Data::Num(NumData::U16(ds.read_u16()?)),
        DType::U32 => Data::Num(NumData::U32(ds.read_u32()?)),
        DType::U64 => Data::Num(NumData::U64(ds.read_u64()?)),
        DType::Bool => {
            let raw = ds.read_raw()?;
            let mut out = Vec::with_capacity(raw.len());
            for b in raw {
                match b {
                    0 => out.push(false),
                    1 => out.push(true),
                    other => {
                        return Err(Inner::Kind(ErrorKind::Invalid(format!(
                            "bool value {other} is neither FALSE (0) nor TRUE (1)"
                        ))))
                    }
                }
            }
            Data::Bool(out)
        }
        DType::FixedString(_) | DType::VlenString => Data::Str(ds.read_string()?),
        DType::Other(what) => {
            return Err(Inner::Kind(ErrorKind::WrongType {
                expected: "a numeric, bool or string",
                found: what.clone(),
            }))
        }
    })
}

impl H5Source for PureH5File {
    fn file_name(&self) -> &str {
        &self.name
    }

    fn members(&self, group: &str) -> Result<Members, FormatError> {
        guarded(&self.name, group, || {
            let g = if rel(group).is_empty() {
                self.file.root()
            } else {
                self.file.group(rel(group))?
            };
            let mut groups = g.groups()?;
            let mut datasets = g.datasets()?;
            groups.sort();
            datasets.sort();
            Ok(Members { groups, datasets })
        })
    }

    fn dataset(&self, path: &str) -> Result<Dataset, FormatError> {
        let limit = self.limit();
        guarded(&self.name, path, || {
            let ds = self.file.dataset(rel(path))?;
            let shape_u64 = ds.shape()?;
            let datatype = ds.datatype()?;
            let dtype = classify(&datatype);
            let mut count: u128 = 1;
            let mut shape = Vec::with_capacity(shape_u64.len());
            for &d in &shape_u64 {
                count = count.saturating_mul(u128::from(d));
                shape.push(usize::try_from(d).map_err(|_| {
                    Inner::Kind(ErrorKind::Invalid(format!(
                        "dimension {d} does not fit in memory"
                    )))
                })?);
            }
            let bytes = count.saturating_mul(u128::from(datatype.type_size().max(1)));
            if bytes > limit {
                return Err(Inner::Kind(ErrorKind::TooLarge { bytes, limit }));
            }
            let data = read_data(&ds, &dtype)?;
            if data.len() as u128 != count {
                return Err(Inner::Kind(ErrorKind::Invalid(format!(
                    "dataset of shape {shape:?} returned {} values",
                    data.len()
                ))));
            }
            Ok(Dataset { shape, dtype, data })
        })
    }
}

/// Reads every dataset below `group` (recursively), keyed by path relative to
/// `group` (`neuron/type`). Used to keep fields a model has no slot for.
pub fn read_tree(
    src: &dyn H5Source,
    group: &str,
) -> Result<BTreeMap<String, Dataset>, FormatError> {
    let mut out = BTreeMap::new();
    read_tree_into(src, group, "", &mut out, 0)?;
    Ok(out)
}

/// Deepest group nesting [`read_tree`] follows; deeper means a link cycle or a
/// corrupt file.
pub(crate) const MAX_DEPTH: usize = 64;

fn read_tree_into(
    src: &dyn H5Source,
    group: &str,
    prefix: &str,
    out: &mut BTreeMap<String, Dataset>,
    depth: usize,
) -> Result<(), FormatError> {
    if depth > MAX_DEPTH {
        return Err(src.error(
            group,
            ErrorKind::Invalid(format!("groups nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    let m = src.members(group)?;
    for d in &m.datasets {
        out.insert(format!("{prefix}{d}"), src.dataset(&join(group, d))?);
    }
    for g in &m.groups {
        read_tree_into(
            src,
            &join(group, g),
            &format!("{prefix}{g}/"),
            out,
            depth + 1,
        )?;
    }
    Ok(())
}

/// Typed reads with errors that name the path; shared by the netx and NIR
/// readers.
pub(crate) struct Reader<'a> {
    pub(crate) src: &'a dyn H5Source,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(src: &'a dyn H5Source) -> Self {
        Reader { src }
    }

    pub(crate) fn err(&self, path: &str, kind: ErrorKind) -> FormatError {
        self.src.error(path, kind)
    }

    pub(crate) fn members(&self, group: &str) -> Result<Members, FormatError> {
        self.src.members(group)
    }

    pub(crate) fn dataset(&self, path: &str) -> Result<Dataset, FormatError> {
        self.src.dataset(path)
    }

    /// A numeric dataset.
    pub(crate) fn num(&self, path: &str) -> Result<NumArray, FormatError> {
        self.dataset(path)?
            .into_num()
            .map_err(|k| self.err(path, k))
    }

    /// A float dataset (float32 or float64), kept in its stored type.
    pub(crate) fn float(&self, path: &str) -> Result<NumArray, FormatError> {
        let d = self.dataset(path)?;
        if !matches!(d.dtype, DType::F32 | DType::F64) {
            return Err(self.err(
                path,
                ErrorKind::WrongType {
                    expected: "a float",
                    found: d.dtype.to_string(),
                },
            ));
        }
        d.into_num().map_err(|k| self.err(path, k))
    }

    /// A scalar or one-element string dataset.
    pub(crate) fn string1(&self, path: &str) -> Result<String, FormatError> {
        self.dataset(path)?
            .into_single_string()
            .map_err(|k| self.err(path, k))
    }

    /// A scalar or one-element bool dataset.
    pub(crate) fn bool1(&self, path: &str) -> Result<bool, FormatError> {
        self.dataset(path)?
            .into_single_bool()
            .map_err(|k| self.err(path, k))
    }

    /// A scalar or one-element numeric dataset.
    pub(crate) fn scalar(&self, path: &str) -> Result<Scalar, FormatError> {
        let a = self.num(path)?;
        a.single().ok_or_else(|| {
            self.err(
                path,
                ErrorKind::WrongShape {
                    expected: "a single value (scalar or (1,))".into(),
                    found: a.shape.clone(),
                },
            )
        })
    }

    /// A scalar or one-element integral dataset (integral floats accepted).
    pub(crate) fn int1(&self, path: &str) -> Result<i64, FormatError> {
        let s = self.scalar(path)?;
        s.as_i64().ok_or_else(|| {
            self.err(
                path,
                ErrorKind::Invalid(format!("expected an integer, found {s}")),
            )
        })
    }

    /// An integer dataset of any shape (integral floats accepted).
    pub(crate) fn ints(&self, path: &str) -> Result<IntArray, FormatError> {
        let a = self.num(path)?;
        let values = a
            .to_i64_exact()
            .map_err(|e| self.err(path, ErrorKind::Invalid(format!("expected integers: {e}"))))?;
        Ok(IntArray {
            shape: a.shape,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PureH5File {
        let mut b = hdf5_pure::FileBuilder::new();
        b.create_dataset("f32")
            .with_f32_data(&[1.5, -2.0])
            .with_shape(&[2, 1]);
        b.create_dataset("scalar")
            .with_i64_data(&[7])
            .with_shape(&[]);
        b.create_dataset("vs").with_vlen_strings(&["a", "bc"]);
        let mut g = b.create_group("g");
        g.create_dataset("fixed")
            .with_ascii_strings(&["dense"])
            .unwrap();
        b.add_group(g.finish());
        PureH5File::from_bytes("mem.h5", b.finish().unwrap()).unwrap()
    }

    #[test]
    fn reads_typed_values_in_stored_type() {
        let f = sample();
        let d = f.dataset("/f32").unwrap();
        assert_eq!(d.dtype, DType::F32);
        assert_eq!(d.shape, vec![2, 1]);
        assert_eq!(d.data, Data::Num(NumData::F32(vec![1.5, -2.0])));
        let s = f.dataset("/scalar").unwrap();
        assert_eq!(s.shape, Vec::<usize>::new());
        assert_eq!(s.data, Data::Num(NumData::I64(vec![7])));
        assert_eq!(f.dataset("/vs").unwrap().dtype, DType::VlenString);
        let fixed = f.dataset("/g/fixed").unwrap();
        assert!(matches!(fixed.dtype, DType::FixedString(5)));
        assert_eq!(fixed.into_single_string().unwrap(), "dense");
    }

    #[test]
    fn members_are_sorted_and_split() {
        let f = sample();
        let m = f.members("/").unwrap();
        assert_eq!(m.groups, vec!["g"]);
        assert_eq!(m.datasets, vec!["f32", "scalar", "vs"]);
    }

    #[test]
    fn errors_name_file_and_path() {
        let f = sample();
        let e = f.dataset("/g/missing").unwrap_err();
        assert_eq!(e.file, "mem.h5");
        assert_eq!(e.path, "/g/missing");
        let e = f.dataset("/g").unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem.h5: /g: expected a dataset, found a group"
        );
        let e = f
            .dataset("/vs")
            .unwrap()
            .into_num()
            .map_err(|k| f.error("/vs", k))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem.h5: /vs: expected a numeric dataset, found string (variable-length)"
        );
    }

    #[test]
    fn non_hdf5_bytes_are_refused() {
        let e = PureH5File::from_bytes("x.nir", b"hello world, not hdf5".to_vec()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::NotHdf5));
        assert_eq!(e.path, "/");
    }

    #[test]
    fn a_decoder_panic_becomes_an_error() {
        let r: Result<(), FormatError> = guarded("f.nir", "/node", || -> Result<(), Inner> {
            panic!("index out of bounds")
        });
        let e = r.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::DecoderPanic(ref m) if m == "index out of bounds"));
        assert_eq!(
            e.to_string(),
            "f.nir: /node: malformed HDF5 (the decoder failed: index out of bounds)"
        );
    }

    #[test]
    fn truncated_tail_is_detected_from_the_superblock() {
        let mut b = hdf5_pure::FileBuilder::new();
        b.create_dataset("x").with_f64_data(&[1.0, 2.0]);
        let mut bytes = b.finish().unwrap();
        bytes.pop();
        let e = PureH5File::from_bytes("t.h5", bytes).unwrap_err();
        assert!(e.to_string().contains("file is truncated"), "{e}");
    }

    #[test]
    fn join_paths() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
