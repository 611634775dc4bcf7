//! A small, self-contained NumPy `.npy` writer and reader.
//!
//! Writes format version 1.0 exactly as NumPy (1.26 and 2.x) does for the
//! same array: the magic `\x93NUMPY`, version `1 0`, a little-endian `u16`
//! header length, the ASCII dict
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (N, M), }` followed by
//! NumPy's spare space for growing the first axis, space padding so that
//! the data starts at a multiple of 64 bytes, a `\n`, then the elements in
//! little-endian C order. Supported dtypes: `<f8`, `<i8`, `<i4`, `<u4`;
//! 1-D and 2-D arrays.
//!
//! The reader accepts versions 1.0, 2.0 and 3.0 of the same layout (any
//! amount of header padding, keys in any order) and validates everything:
//! every failure is an [`NpyError`], never a panic, and nothing is
//! allocated for the data before its length has been checked against the
//! file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{show_shape, NpyError, ResultsError};

/// The first six bytes of every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy aligns the start of the data to this many bytes.
const ARRAY_ALIGN: usize = 64;
/// NumPy leaves room for the first dimension to grow to this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The element types this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `<f8`: little-endian IEEE-754 binary64.
    F8,
    /// `<i8`: little-endian two's-complement 64-bit integer.
    I8,
    /// `<i4`: little-endian two's-complement 32-bit integer.
    I4,
    /// `<u4`: little-endian unsigned 32-bit integer.
    U4,
}

impl DType {
    /// NumPy's `descr` string, e.g. `<f8`.
    pub fn descr(self) -> &'static str {
        match self {
            DType::F8 => "<f8",
            DType::I8 => "<i8",
            DType::I4 => "<i4",
            DType::U4 => "<u4",
        }
    }
    /// The dtype of a `descr` string, if supported.
    pub fn from_descr(descr: &str) -> Option<DType> {
        match descr {
            "<f8" => Some(DType::F8),
            "<i8" => Some(DType::I8),
            "<i4" => Some(DType::I4),
            "<u4" => Some(DType::U4),
            _ => None,
        }
    }
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F8 | DType::I8 => 8,
            DType::I4 | DType::U4 => 4,
        }
    }
}

/// The elements of an array read from a file, typed by its dtype.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    F8(Vec<f64>),
    I8(Vec<i64>),
    I4(Vec<i32>),
    U4(Vec<u32>),
}

impl NpyData {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            NpyData::F8(_) => DType::F8,
            NpyData::I8(_) => DType::I8,
            NpyData::I4(_) => DType::I4,
            NpyData::U4(_) => DType::U4,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            NpyData::F8(v) => v.len(),
            NpyData::I8(v) => v.len(),
            NpyData::I4(v) => v.len(),
            NpyData::U4(v) => v.len(),
        }
    }
    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A 1-D or 2-D array: its shape and its elements in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

impl NpyArray {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
    /// The elements as `Vec<T>`, or [`NpyError::WrongDtype`] when the file
    /// holds another dtype (no conversion is ever made).
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>, NpyError> {
        let found = self.dtype();
        T::unwrap(self.data).ok_or(NpyError::WrongDtype {
            expected: vec![T::DTYPE],
            found,
        })
    }
    /// Checks that the array is 1-D; returns its length.
    pub fn expect_1d(&self) -> Result<usize, NpyError> {
        match self.shape[..] {
            [n] => Ok(n),
            _ => Err(NpyError::WrongShape {
                expected: "1-D".to_string(),
                found: self.shape.clone(),
            }),
        }
    }
    /// Checks that the array is 2-D; returns `(rows, columns)`.
    pub fn expect_2d(&self) -> Result<(usize, usize), NpyError> {
        match self.shape[..] {
            [r, c] => Ok((r, c)),
            _ => Err(NpyError::WrongShape {
                expected: "2-D".to_string(),
                found: self.shape.clone(),
            }),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl Sealed for i64 {}
    impl Sealed for i32 {}
    impl Sealed for u32 {}
}

/// A Rust element type with a `.npy` dtype: `f64`, `i64`, `i32`, `u32`.
pub trait Element: Copy + sealed::Sealed {
    /// The dtype this type is stored as.
    const DTYPE: DType;
    #[doc(hidden)]
    fn put(self, out: &mut Vec<u8>);
    #[doc(hidden)]
    fn get(bytes: &[u8]) -> Self;
    #[doc(hidden)]
    fn wrap(v: Vec<Self>) -> NpyData;
    #[doc(hidden)]
    fn unwrap(d: NpyData) -> Option<Vec<Self>>;
}

macro_rules! element {
    ($t:ty, $dt:ident, $n:literal) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut a = [0u8; $n];
                a.copy_from_slice(&bytes[..$n]);
                <$t>::from_le_bytes(a)
            }
            fn wrap(v: Vec<Self>) -> NpyData {
                NpyData::$dt(v)
            }
            fn unwrap(d: NpyData) -> Option<Vec<Self>> {
                match d {
                    NpyData::$dt(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}
element!(f64, F8, 8);
element!(i64, I8, 8);
element!(i32, I4, 4);
element!(u32, U4, 4);

fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The complete version-1.0 header (magic to the closing `\n`) NumPy writes
/// for a C-order array of `dtype` and `shape` (1-D or 2-D). Its length is a
/// multiple of 64.
pub fn header_bytes(dtype: DType, shape: &[usize]) -> Result<Vec<u8>, NpyError> {
    if shape.is_empty() || shape.len() > 2 {
        return Err(NpyError::UnsupportedRank {
            shape: shape.to_vec(),
        });
    }
    // numpy.lib.format._write_array_header: sorted keys, repr() of the values.
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        show_shape(shape)
    );
    // Spare room so the first axis can grow in place.
    let first = shape[0].to_string().len();
    dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first)));
    // numpy.lib.format._wrap_header: hlen counts the final '\n'.
    let hlen = dict.len() + 1;
    let padlen = ARRAY_ALIGN - ((MAGIC.len() + 2 + 2 + hlen) % ARRAY_ALIGN);
    let total = u16::try_from(hlen + padlen).map_err(|_| NpyError::BadHeader {
        reason: "header longer than 65535 bytes".to_string(),
    })?;
    let mut out = Vec::with_capacity(10 + hlen + padlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padlen, b' ');
    out.push(b'\n');
    Ok(out)
}

fn check_len<T: Element>(shape: &[usize], data: &[T]) -> Result<(), NpyError> {
    let expected = element_count(shape).ok_or_else(|| NpyError::ShapeOverflow {
        shape: shape.to_vec(),
    })?;
    if expected != data.len() {
        return Err(NpyError::LengthMismatch {
            shape: shape.to_vec(),
            dtype: T::DTYPE,
            expected: expected as u64,
            found: data.len() as u64,
        });
    }
    Ok(())
}

/// The bytes of a `.npy` file holding `data` (C order) with `shape`.
pub fn to_bytes<T: Element>(shape: &[usize], data: &[T]) -> Result<Vec<u8>, NpyError> {
    let mut out = header_bytes(T::DTYPE, shape)?;
    check_len(shape, data)?;
    out.reserve(data.len() * T::DTYPE.size());
    for &x in data {
        x.put(&mut out);
    }
    Ok(out)
}

/// Writes `data` (C order) with `shape` to `path` as a `.npy` file.
pub fn write<T: Element>(path: &Path, shape: &[usize], data: &[T]) -> Result<(), ResultsError> {
    let header = header_bytes(T::DTYPE, shape).map_err(|e| ResultsError::npy(path, e))?;
    check_len(shape, data).map_err(|e| ResultsError::npy(path, e))?;
    let io = |e| ResultsError::io(path, e);
    let mut w = BufWriter::new(File::create(path).map_err(io)?);
    w.write_all(&header).map_err(io)?;
    let mut buf = Vec::with_capacity(8192);
    for chunk in data.chunks(1024) {
        buf.clear();
        for &x in chunk {
            x.put(&mut buf);
        }
        w.write_all(&buf).map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(())
}

/// Reads the `.npy` file at `path`.
pub fn read(path: &Path) -> Result<NpyArray, ResultsError> {
    let bytes = std::fs::read(path).map_err(|e| ResultsError::io(path, e))?;
    from_bytes(&bytes).map_err(|e| ResultsError::npy(path, e))
}

/// Parses the bytes of a `.npy` file.
pub fn from_bytes(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let n = bytes.len();
    if n < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        if n < MAGIC.len() && bytes == &MAGIC[..n] {
            return Err(NpyError::Truncated {
                what: "magic".to_string(),
                expected: MAGIC.len() as u64,
                found: n as u64,
            });
        }
        return Err(NpyError::BadMagic {
            found: bytes[..n.min(MAGIC.len())].to_vec(),
        });
    }
    if n < 8 {
        return Err(NpyError::Truncated {
            what: "magic and version".to_string(),
            expected: 8,
            found: n as u64,
        });
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let len_size = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    let start = 8 + len_size;
    if n < start {
        return Err(NpyError::Truncated {
            what: "preamble (magic, version, header length)".to_string(),
            expected: start as u64,
            found: n as u64,
        });
    }
    let hlen = if len_size == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let data_start = start.checked_add(hlen).ok_or_else(|| NpyError::BadHeader {
        reason: "header length overflows".to_string(),
    })?;
    if n < data_start {
        return Err(NpyError::Truncated {
            what: "header".to_string(),
            expected: data_start as u64,
            found: n as u64,
        });
    }
    let raw = &bytes[start..data_start];
    let text = if major == 3 {
        std::str::from_utf8(raw).map_err(|_| NpyError::BadHeader {
            reason: "header is not UTF-8".to_string(),
        })?
    } else {
        if !raw.is_ascii() {
            return Err(NpyError::BadHeader {
                reason: "header is not ASCII".to_string(),
            });
        }
        // ASCII is valid UTF-8.
        std::str::from_utf8(raw).map_err(|_| NpyError::BadHeader {
            reason: "header is not ASCII".to_string(),
        })?
    };
    let header = parse_header(text)?;
    let dtype = DType::from_descr(&header.descr).ok_or_else(|| NpyError::UnsupportedDtype {
        descr: header.descr.clone(),
    })?;
    if header.fortran_order {
        return Err(NpyError::FortranOrder);
    }
    let shape = header.shape;
    if shape.is_empty() || shape.len() > 2 {
        return Err(NpyError::UnsupportedRank { shape });
    }
    let count = element_count(&shape).ok_or_else(|| NpyError::ShapeOverflow {
        shape: shape.clone(),
    })?;
    let need = count
        .checked_mul(dtype.size())
        .ok_or_else(|| NpyError::ShapeOverflow {
            shape: shape.clone(),
        })?;
    let body = &bytes[data_start..];
    if body.len() < need {
        return Err(NpyError::Truncated {
            what: format!("data for shape {} of {}", show_shape(&shape), dtype),
            expected: need as u64,
            found: body.len() as u64,
        });
    }
    if body.len() > need {
        let size = dtype.size();
        return Err(NpyError::LengthMismatch {
            shape,
            dtype,
            expected: count as u64,
            found: (body.len() / size) as u64 + u64::from(!body.len().is_multiple_of(size)),
        });
    }
    let data = match dtype {
        DType::F8 => decode::<f64>(body),
        DType::I8 => decode::<i64>(body),
        DType::I4 => decode::<i32>(body),
        DType::U4 => decode::<u32>(body),
    };
    Ok(NpyArray { shape, data })
}

fn decode<T: Element>(body: &[u8]) -> NpyData {
    T::wrap(body.chunks_exact(T::DTYPE.size()).map(T::get).collect())
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses the Python dict literal of a header: exactly the keys `descr`,
/// `fortran_order` and `shape`, in any order, optional trailing comma,
/// surrounded by whitespace.
fn parse_header(text: &str) -> Result<Header, NpyError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let value = p.value()?;
        let slot_taken = match (key.as_str(), value) {
            ("descr", PyValue::Str(s)) => descr.replace(s).is_some(),
            ("fortran_order", PyValue::Bool(b)) => fortran.replace(b).is_some(),
            ("shape", PyValue::Tuple(t)) => shape.replace(t).is_some(),
            ("descr", _) => return Err(bad("'descr' is not a string")),
            ("fortran_order", _) => return Err(bad("'fortran_order' is not True or False")),
            ("shape", _) => return Err(bad("'shape' is not a tuple of integers")),
            (other, _) => return Err(bad(&format!("unexpected key '{other}'"))),
        };
        if slot_taken {
            return Err(bad(&format!("key '{key}' appears twice")));
        }
        p.ws();
        if p.eat(b',') {
            continue;
        }
        p.ws();
        p.expect(b'}')?;
        break;
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(bad("unexpected text after the dict"));
    }
    Ok(Header {
        descr: descr.ok_or_else(|| bad("key 'descr' missing"))?,
        fortran_order: fortran.ok_or_else(|| bad("key 'fortran_order' missing"))?,
        shape: shape.ok_or_else(|| bad("key 'shape' missing"))?,
    })
}

fn bad(reason: &str) -> NpyError {
    NpyError::BadHeader {
        reason: reason.to_string(),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), NpyError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(bad(&format!(
                "expected '{}' at byte {} of the header",
                c as char, self.i
            )))
        }
    }
    fn string(&mut self) -> Result<String, NpyError> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(bad(&format!("expected a quoted key at byte {}", self.i))),
        };
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == q {
                let s = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                return Ok(s);
            }
            if c == b'\\' {
                return Err(bad("escapes in header strings are not supported"));
            }
            self.i += 1;
        }
        Err(bad("unterminated string"))
    }
    fn word(&mut self, w: &str) -> bool {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self) -> Result<PyValue, NpyError> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(PyValue::Str(self.string()?)),
            Some(b'(') => Ok(PyValue::Tuple(self.tuple()?)),
            _ if self.word("True") => Ok(PyValue::Bool(true)),
            _ if self.word("False") => Ok(PyValue::Bool(false)),
            _ => Err(bad(&format!("unexpected value at byte {}", self.i))),
        }
    }
    fn tuple(&mut self) -> Result<Vec<usize>, NpyError> {
        self.expect(b'(')?;
        let mut out = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.ws();
            if self.eat(b')') {
                break;
            }
            out.push(self.int()?);
            self.ws();
            trailing_comma = self.eat(b',');
            if !trailing_comma {
                self.ws();
                self.expect(b')')?;
                break;
            }
        }
        if out.len() == 1 && !trailing_comma {
            return Err(bad("'shape' (N) is an integer, not a tuple: expected (N,)"));
        }
        Ok(out)
    }
    fn int(&mut self) -> Result<usize, NpyError> {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if start == self.i {
            return Err(bad(&format!(
                "expected a non-negative integer at byte {}",
                self.i
            )));
        }
        let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let v = digits
            .parse::<usize>()
            .map_err(|_| bad(&format!("dimension {digits} is too large")))?;
        // Python 2 NumPy wrote longs as `3L`.
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.i += 1;
        }
        Ok(v)
    }
}
