//! Typed n-dimensional numeric arrays, kept in the datatype they were stored in.

use std::fmt;

/// Numeric values in their stored type, flattened row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum NumData {
    /// float32
    F32(Vec<f32>),
    /// float64
    F64(Vec<f64>),
    /// int8
    I8(Vec<i8>),
    /// int16
    I16(Vec<i16>),
    /// int32
    I32(Vec<i32>),
    /// int64
    I64(Vec<i64>),
    /// uint8
    U8(Vec<u8>),
    /// uint16
    U16(Vec<u16>),
    /// uint32
    U32(Vec<u32>),
    /// uint64
    U64(Vec<u64>),
}

macro_rules! each {
    ($self:expr, $v:ident => $e:expr) => {
        match $self {
            NumData::F32($v) => $e,
            NumData::F64($v) => $e,
            NumData::I8($v) => $e,
            NumData::I16($v) => $e,
            NumData::I32($v) => $e,
            NumData::I64($v) => $e,
            NumData::U8($v) => $e,
            NumData::U16($v) => $e,
            NumData::U32($v) => $e,
            NumData::U64($v) => $e,
        }
    };
}

/// The f64 values that convert to i64 without overflow: [-2^63, 2^63) (both
/// bounds are exact in f64).
const I64_RANGE: std::ops::Range<f64> = -TWO_63..TWO_63;
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Why a numeric conversion failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionError(pub String);

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl NumData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// numpy's name of the element type (`float32`, `int64`, ...).
    pub fn dtype_name(&self) -> &'static str {
        match self {
            NumData::F32(_) => "float32",
            NumData::F64(_) => "float64",
            NumData::I8(_) => "int8",
            NumData::I16(_) => "int16",
            NumData::I32(_) => "int32",
            NumData::I64(_) => "int64",
            NumData::U8(_) => "uint8",
            NumData::U16(_) => "uint16",
            NumData::U32(_) => "uint32",
            NumData::U64(_) => "uint64",
        }
    }

    /// True for the integer types.
    pub fn is_integer(&self) -> bool {
        !matches!(self, NumData::F32(_) | NumData::F64(_))
    }

    /// The values as f64. Exact for every float32/float64 value and every
    /// integer of magnitude up to 2^53 (all values these formats hold).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            NumData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::F64(v) => v.clone(),
            NumData::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            NumData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NumData::U64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// The values as i64 when every one of them is an integer that fits (floats
    /// must be integral: `36.0` converts, `0.5` is an error).
    pub fn to_i64_exact(&self) -> Result<Vec<i64>, ConversionError> {
        fn float(x: f64) -> Result<i64, ConversionError> {
            if x.fract() == 0.0 && I64_RANGE.contains(&x) {
                Ok(x as i64)
            } else {
                Err(ConversionError(format!("{x} is not an integer")))
            }
        }
        match self {
            NumData::F32(v) => v.iter().map(|&x| float(f64::from(x))).collect(),
            NumData::F64(v) => v.iter().map(|&x| float(x)).collect(),
            NumData::I8(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NumData::I16(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NumData::I32(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NumData::I64(v) => Ok(v.clone()),
            NumData::U8(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NumData::U16(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NumData::U32(v) => Ok(v.iter().map(|&x| i64::from(x)).collect()),
            NumData::U64(v) => v
                .iter()
                .map(|&x| {
                    i64::try_from(x)
                        .map_err(|_| ConversionError(format!("{x} does not fit in int64")))
                })
                .collect(),
        }
    }

    /// The values as i64 with numpy's `astype(int)` semantics, which netx applies
    /// to `weight`, `weight_rec`, `bias`, `weight/real` and `weight/imag`: floats
    /// are truncated toward zero. NaN, infinities and out-of-range values are
    /// errors (numpy would produce an undefined value).
    pub fn to_i64_trunc(&self) -> Result<Vec<i64>, ConversionError> {
        fn float(x: f64) -> Result<i64, ConversionError> {
            let t = x.trunc();
            if t.is_finite() && I64_RANGE.contains(&t) {
                Ok(t as i64)
            } else {
                Err(ConversionError(format!(
                    "{x} cannot be converted to an integer"
                )))
            }
        }
        match self {
            NumData::F32(v) => v.iter().map(|&x| float(f64::from(x))).collect(),
            NumData::F64(v) => v.iter().map(|&x| float(x)).collect(),
            _ => self.to_i64_exact(),
        }
    }
}

/// An n-dimensional numeric array in its stored type. `shape` is `[]` for an
/// HDF5 scalar; `data.len()` is always the product of `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct NumArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: NumData,
}

impl NumArray {
    /// Builds an array, checking that the data fills the shape.
    pub fn new(shape: Vec<usize>, data: NumData) -> Result<Self, ConversionError> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(ConversionError(format!(
                "shape {shape:?} holds {n} values, data has {}",
                data.len()
            )));
        }
        Ok(NumArray { shape, data })
    }

    /// A float32 array.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, ConversionError> {
        Self::new(shape, NumData::F32(data))
    }

    /// A float64 array.
    pub fn f64(shape: Vec<usize>, data: Vec<f64>) -> Result<Self, ConversionError> {
        Self::new(shape, NumData::F64(data))
    }

    /// An int64 array.
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Result<Self, ConversionError> {
        Self::new(shape, NumData::I64(data))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// True for an HDF5 scalar (shape `[]`).
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }

    /// See [`NumData::to_f64`].
    pub fn to_f64(&self) -> Vec<f64> {
        self.data.to_f64()
    }

    /// See [`NumData::to_i64_exact`].
    pub fn to_i64_exact(&self) -> Result<Vec<i64>, ConversionError> {
        self.data.to_i64_exact()
    }

    /// See [`NumData::to_i64_trunc`].
    pub fn to_i64_trunc(&self) -> Result<Vec<i64>, ConversionError> {
        self.data.to_i64_trunc()
    }

    /// The single value of a scalar or one-element array.
    pub fn single(&self) -> Option<Scalar> {
        if self.len() != 1 {
            return None;
        }
        Some(match &self.data {
            NumData::F32(v) => Scalar::F32(v[0]),
            NumData::F64(v) => Scalar::F64(v[0]),
            NumData::I8(v) => Scalar::Int(i64::from(v[0])),
            NumData::I16(v) => Scalar::Int(i64::from(v[0])),
            NumData::I32(v) => Scalar::Int(i64::from(v[0])),
            NumData::I64(v) => Scalar::Int(v[0]),
            NumData::U8(v) => Scalar::UInt(u64::from(v[0])),
            NumData::U16(v) => Scalar::UInt(u64::from(v[0])),
            NumData::U32(v) => Scalar::UInt(u64::from(v[0])),
            NumData::U64(v) => Scalar::UInt(v[0]),
        })
    }
}

/// An integer parameter as stored (a scalar or an array), e.g. netx's
/// `kernelSize`, `stride`, NIR's `input_shape`. Integral float values are
/// accepted on reading and converted exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntArray {
    /// Stored dimensions; `[]` for a scalar.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<i64>,
}

impl IntArray {
    /// True for an HDF5 scalar.
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }
}

/// One stored number: integers (of any width) exactly, floats in their stored
/// precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A signed integer of any stored width.
    Int(i64),
    /// An unsigned integer of any stored width.
    UInt(u64),
    /// A float32.
    F32(f32),
    /// A float64.
    F64(f64),
}

impl Scalar {
    /// The value as f64 (exact for floats and integers up to 2^53).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Int(v) => v as f64,
            Scalar::UInt(v) => v as f64,
            Scalar::F32(v) => f64::from(v),
            Scalar::F64(v) => v,
        }
    }

    /// The value as i64 if it is an integer that fits (integral floats included).
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Scalar::Int(v) => Some(v),
            Scalar::UInt(v) => i64::try_from(v).ok(),
            Scalar::F32(v) => NumData::F32(vec![v]).to_i64_exact().ok().map(|v| v[0]),
            Scalar::F64(v) => NumData::F64(vec![v]).to_i64_exact().ok().map(|v| v[0]),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::UInt(v) => write!(f, "{v}"),
            Scalar::F32(v) => write!(f, "{v}"),
            Scalar::F64(v) => write!(f, "{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_integer_conversion() {
        assert_eq!(
            NumData::F32(vec![36.0, -2.0]).to_i64_exact().unwrap(),
            vec![36, -2]
        );
        assert!(NumData::F32(vec![0.5]).to_i64_exact().is_err());
        assert!(NumData::F64(vec![f64::NAN]).to_i64_exact().is_err());
        assert!(NumData::U64(vec![u64::MAX]).to_i64_exact().is_err());
        assert_eq!(NumData::U8(vec![255]).to_i64_exact().unwrap(), vec![255]);
        assert_eq!(
            NumData::F64(vec![-TWO_63]).to_i64_exact().unwrap(),
            vec![i64::MIN]
        );
        assert!(NumData::F64(vec![TWO_63]).to_i64_exact().is_err());
    }

    #[test]
    fn numpy_astype_int_truncates_toward_zero() {
        assert_eq!(
            NumData::F64(vec![1.9, -1.9, -0.0, 254.0])
                .to_i64_trunc()
                .unwrap(),
            vec![1, -1, 0, 254]
        );
        assert!(NumData::F32(vec![f32::INFINITY]).to_i64_trunc().is_err());
    }

    #[test]
    fn new_checks_element_count() {
        assert!(NumArray::f32(vec![2, 3], vec![0.0; 6]).is_ok());
        assert!(NumArray::f32(vec![2, 3], vec![0.0; 5]).is_err());
        assert!(NumArray::i64(vec![], vec![1]).unwrap().is_scalar());
    }

    #[test]
    fn single_values_keep_their_kind() {
        let a = NumArray::f32(vec![1], vec![36.0]).unwrap();
        assert_eq!(a.single(), Some(Scalar::F32(36.0)));
        assert_eq!(a.single().unwrap().as_i64(), Some(36));
        assert_eq!(
            NumArray::f64(vec![2], vec![1.0, 2.0]).unwrap().single(),
            None
        );
        assert_eq!(Scalar::F64(0.5).as_i64(), None);
    }
}
