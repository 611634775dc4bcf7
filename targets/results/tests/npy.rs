//! The `.npy` writer and reader: round trips for every dtype and shape,
//! byte-exact agreement with NumPy, and typed errors (never a panic) for
//! malformed files.

use spikeforge_results::npy::{self, DType, NpyArray, NpyData};
use spikeforge_results::{NpyError, ResultsError};

// Exact files NumPy writes, generated once with numpy 2.4.6 and checked to
// be identical with numpy 1.26.4 (header: magic, version 1.0, length 118,
// the dict, NumPy's 21-digit growth room for the first axis, padding to 128
// bytes, '\n'):
//
// ```python
// import io, numpy as np
// cases = [
//     ("F8_2X3", np.array([[0.0, -1.5, 2.25], [1e300, -0.0, 3.0]], dtype='<f8')),
//     ("I4_3X2", np.array([[1, 2], [3, -4], [5, 2147483647]], dtype='<i4')),
//     ("U4_4", np.array([0, 1, 4294967295, 7], dtype='<u4')),
//     ("I8_2", np.array([-1, 9223372036854775807], dtype='<i8')),
//     ("I4_0X2", np.zeros((0, 2), dtype='<i4')),
// ]
// def lit(b):
//     return ''.join(chr(c) if 32 <= c < 127 and c not in (34, 92) else '\\x%02x' % c for c in b)
// for name, a in cases:
//     b = io.BytesIO(); np.save(b, a); v = b.getvalue()
//     hl = 10 + int.from_bytes(v[8:10], 'little')
//     print(f'const {name}_HEADER: &[u8] = b"{lit(v[:hl])}";')
//     print(f'const {name}_DATA: &str = "{v[hl:].hex()}";')
// ```
const F8_2X3_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }                                                          \x0a";
const F8_2X3_DATA: &str = "0000000000000000000000000000f8bf00000000000002409c7500883ce4377e00000000000000800000000000000840";
const I4_3X2_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }                                                          \x0a";
const I4_3X2_DATA: &str = "010000000200000003000000fcffffff05000000ffffff7f";
const U4_4_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<u4', 'fortran_order': False, 'shape': (4,), }                                                            \x0a";
const U4_4_DATA: &str = "0000000001000000ffffffff07000000";
const I8_2_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }                                                            \x0a";
const I8_2_DATA: &str = "ffffffffffffffffffffffffffffff7f";
const I4_0X2_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (0, 2), }                                                          \x0a";
const I4_0X2_DATA: &str = "";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn numpy_file(header: &[u8], data: &str) -> Vec<u8> {
    let mut v = header.to_vec();
    v.extend(unhex(data));
    v
}

#[test]
fn writer_matches_numpy_bytes() {
    let f8 = [0.0, -1.5, 2.25, 1e300, -0.0, 3.0];
    assert_eq!(
        npy::to_bytes(&[2, 3], &f8).unwrap(),
        numpy_file(F8_2X3_HEADER, F8_2X3_DATA)
    );
    let i4: [i32; 6] = [1, 2, 3, -4, 5, i32::MAX];
    assert_eq!(
        npy::to_bytes(&[3, 2], &i4).unwrap(),
        numpy_file(I4_3X2_HEADER, I4_3X2_DATA)
    );
    let u4: [u32; 4] = [0, 1, u32::MAX, 7];
    assert_eq!(
        npy::to_bytes(&[4], &u4).unwrap(),
        numpy_file(U4_4_HEADER, U4_4_DATA)
    );
    let i8: [i64; 2] = [-1, i64::MAX];
    assert_eq!(
        npy::to_bytes(&[2], &i8).unwrap(),
        numpy_file(I8_2_HEADER, I8_2_DATA)
    );
    let empty: [i32; 0] = [];
    assert_eq!(
        npy::to_bytes(&[0, 2], &empty).unwrap(),
        numpy_file(I4_0X2_HEADER, I4_0X2_DATA)
    );
    assert_eq!(
        npy::header_bytes(DType::F8, &[2, 3]).unwrap(),
        F8_2X3_HEADER
    );
}

#[test]
fn reader_reads_numpy_bytes() {
    let a = npy::from_bytes(&numpy_file(F8_2X3_HEADER, F8_2X3_DATA)).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    let v: Vec<f64> = a.into_vec().unwrap();
    let bits: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
    let want: Vec<u64> = [0.0, -1.5, 2.25, 1e300, -0.0, 3.0f64]
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(bits, want);
    let a = npy::from_bytes(&numpy_file(I4_0X2_HEADER, I4_0X2_DATA)).unwrap();
    assert_eq!(
        a,
        NpyArray {
            shape: vec![0, 2],
            data: NpyData::I4(vec![])
        }
    );
    let a = npy::from_bytes(&numpy_file(U4_4_HEADER, U4_4_DATA)).unwrap();
    assert_eq!(a.data, NpyData::U4(vec![0, 1, u32::MAX, 7]));
}

#[test]
fn headers_are_64_byte_aligned_for_any_shape() {
    for shape in [
        vec![0],
        vec![1],
        vec![usize::MAX],
        vec![0, 0],
        vec![7, usize::MAX],
        vec![usize::MAX, 1],
        vec![123_456_789, 987_654_321],
    ] {
        for dt in [DType::F8, DType::I8, DType::I4, DType::U4] {
            let h = npy::header_bytes(dt, &shape).unwrap();
            assert_eq!(h.len() % 64, 0, "{shape:?} {dt}");
            assert_eq!(*h.last().unwrap(), b'\n');
            let hlen = u16::from_le_bytes([h[8], h[9]]) as usize;
            assert_eq!(hlen + 10, h.len());
        }
    }
    assert!(matches!(
        npy::header_bytes(DType::F8, &[1, 2, 3]),
        Err(NpyError::UnsupportedRank { .. })
    ));
    assert!(matches!(
        npy::header_bytes(DType::F8, &[]),
        Err(NpyError::UnsupportedRank { .. })
    ));
}

fn round_trip<T: npy::Element + PartialEq + std::fmt::Debug>(shape: &[usize], data: Vec<T>) {
    let bytes = npy::to_bytes(shape, &data).unwrap();
    let a = npy::from_bytes(&bytes).unwrap();
    assert_eq!(a.shape, shape);
    assert_eq!(a.dtype(), T::DTYPE);
    assert_eq!(a.into_vec::<T>().unwrap(), data);
}

#[test]
fn round_trip_every_dtype_and_shape() {
    let f: Vec<f64> = vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.1,
        1.0 / 3.0,
        -65.0,
    ];
    let i8: Vec<i64> = (0..12)
        .map(|i| (i - 6) * 0x0123_4567_89ab_cdef)
        .chain([i64::MIN, i64::MAX])
        .collect();
    let i4: Vec<i32> = (0..12)
        .map(|i| (i - 6) * 0x0123_4567)
        .chain([i32::MIN, i32::MAX])
        .collect();
    let u4: Vec<u32> = (0..12)
        .map(|i| i * 0x1234_5678)
        .chain([0, u32::MAX])
        .collect();

    round_trip(&[12], f.clone());
    round_trip(&[3, 4], f.clone());
    round_trip(&[12, 1], f.clone());
    round_trip(&[1, 12], f);
    round_trip(&[14], i8.clone());
    round_trip(&[7, 2], i8);
    round_trip(&[14], i4.clone());
    round_trip(&[2, 7], i4);
    round_trip(&[14], u4.clone());
    round_trip(&[7, 2], u4);
    round_trip::<f64>(&[0], vec![]);
    round_trip::<i64>(&[0, 5], vec![]);
    round_trip::<i32>(&[5, 0], vec![]);
    round_trip::<u32>(&[0, 0], vec![]);

    // NaN payloads survive bit for bit.
    let nan = f64::from_bits(0x7ff8_0000_dead_beef);
    let a = npy::from_bytes(&npy::to_bytes(&[1], &[nan]).unwrap()).unwrap();
    let v: Vec<f64> = a.into_vec().unwrap();
    assert_eq!(v[0].to_bits(), nan.to_bits());
}

#[test]
fn file_round_trip_and_errors_name_the_file() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("npy-file-rt");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.npy");
    npy::write(&p, &[2, 2], &[1i64, 2, 3, 4]).unwrap();
    assert_eq!(
        std::fs::read(&p).unwrap(),
        npy::to_bytes(&[2, 2], &[1i64, 2, 3, 4]).unwrap()
    );
    let a = npy::read(&p).unwrap();
    assert_eq!(a.data, NpyData::I8(vec![1, 2, 3, 4]));

    std::fs::write(&p, b"hello world").unwrap();
    let e = npy::read(&p).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("x.npy"), "{msg}");
    assert!(msg.contains("expected magic"), "{msg}");
    assert!(matches!(
        e,
        ResultsError::Npy {
            source: NpyError::BadMagic { .. },
            ..
        }
    ));

    let missing = dir.join("missing.npy");
    let e = npy::read(&missing).unwrap_err();
    assert!(matches!(e, ResultsError::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing.npy"));

    // Writing data that does not fill the shape is refused.
    let e = npy::write(&p, &[2, 3], &[1.0f64; 5]).unwrap_err();
    assert!(
        matches!(
            e,
            ResultsError::Npy {
                source: NpyError::LengthMismatch {
                    expected: 6,
                    found: 5,
                    ..
                },
                ..
            }
        ),
        "{e}"
    );
}

fn good() -> Vec<u8> {
    npy::to_bytes(&[2, 3], &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap()
}

/// A file with the header text replaced (keeping it 64-byte aligned).
fn with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let g = good();
    for n in 0..g.len() {
        let e = npy::from_bytes(&g[..n]).unwrap_err();
        assert!(
            matches!(e, NpyError::Truncated { .. } | NpyError::BadHeader { .. }),
            "cut at {n}: {e}"
        );
    }
    let e = npy::from_bytes(&g[..g.len() - 3]).unwrap_err();
    assert_eq!(
        e,
        NpyError::Truncated {
            what: "data for shape (2, 3) of '<f8'".to_string(),
            expected: 48,
            found: 45
        }
    );
    assert!(e.to_string().contains("expected 48 bytes"), "{e}");
    assert!(matches!(
        npy::from_bytes(&g[..3]).unwrap_err(),
        NpyError::Truncated { .. }
    ));
}

#[test]
fn corrupted_bytes_never_panic() {
    // Every single-byte corruption of a valid file either still parses or
    // gives an error; none panics.
    let g = good();
    for i in 0..g.len() {
        for x in [0u8, b' ', b'(', b',', b')', b'\'', b'9', 0xff, b'{'] {
            let mut v = g.clone();
            v[i] = x;
            let _ = npy::from_bytes(&v);
        }
    }
}

#[test]
fn wrong_magic() {
    let mut g = good();
    g[1] = b'M';
    let e = npy::from_bytes(&g).unwrap_err();
    assert_eq!(
        e,
        NpyError::BadMagic {
            found: b"\x93MUMPY".to_vec()
        }
    );
    assert!(e.to_string().contains("\\x93MUMPY"), "{e}");
    assert!(matches!(
        npy::from_bytes(b"PK\x03\x04").unwrap_err(),
        NpyError::BadMagic { .. }
    ));
    assert!(matches!(
        npy::from_bytes(b"").unwrap_err(),
        NpyError::Truncated { .. }
    ));
}

#[test]
fn unsupported_version() {
    let mut g = good();
    g[6] = 4;
    assert_eq!(
        npy::from_bytes(&g).unwrap_err(),
        NpyError::UnsupportedVersion { major: 4, minor: 0 }
    );
    g[6] = 1;
    g[7] = 1;
    assert_eq!(
        npy::from_bytes(&g).unwrap_err(),
        NpyError::UnsupportedVersion { major: 1, minor: 1 }
    );
}

#[test]
fn version_2_and_3_headers_are_read() {
    let g = good();
    let hlen = u16::from_le_bytes([g[8], g[9]]) as u32;
    for major in [2u8, 3] {
        let mut v = b"\x93NUMPY".to_vec();
        v.extend_from_slice(&[major, 0]);
        v.extend_from_slice(&hlen.to_le_bytes());
        v.extend_from_slice(&g[10..]);
        let a = npy::from_bytes(&v).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, NpyData::F8(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    }
}

#[test]
fn unknown_dtypes_are_refused_by_name() {
    for descr in ["<f4", ">f8", "|u1", "<i2", "<c16", "|b1", "O"] {
        let f = with_header(
            &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}"),
            &[0; 16],
        );
        let e = npy::from_bytes(&f).unwrap_err();
        assert_eq!(
            e,
            NpyError::UnsupportedDtype {
                descr: descr.to_string()
            }
        );
        assert!(e.to_string().contains(descr), "{e}");
    }
}

#[test]
fn fortran_order_rank_and_length_errors() {
    let data = [0u8; 48];
    let f = with_header(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
        &data,
    );
    assert_eq!(npy::from_bytes(&f).unwrap_err(), NpyError::FortranOrder);

    let f = with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }",
        &data,
    );
    assert_eq!(
        npy::from_bytes(&f).unwrap_err(),
        NpyError::UnsupportedRank {
            shape: vec![1, 2, 3]
        }
    );
    let f = with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
        &data[..8],
    );
    assert_eq!(
        npy::from_bytes(&f).unwrap_err(),
        NpyError::UnsupportedRank { shape: vec![] }
    );

    // Trailing bytes after the data.
    let mut d = data.to_vec();
    d.extend_from_slice(&[0; 8]);
    let f = with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
        &d,
    );
    let e = npy::from_bytes(&f).unwrap_err();
    assert!(
        matches!(
            e,
            NpyError::LengthMismatch {
                expected: 6,
                found: 7,
                dtype: DType::F8,
                ..
            }
        ),
        "{e}"
    );

    // A shape whose size overflows is refused before anything is allocated.
    let f = with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 3), }",
        &data,
    );
    assert!(matches!(
        npy::from_bytes(&f).unwrap_err(),
        NpyError::ShapeOverflow { .. }
    ));
    // A huge but representable shape is just truncated data.
    let f = with_header(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (1000000000000,), }",
        &data,
    );
    assert!(matches!(
        npy::from_bytes(&f).unwrap_err(),
        NpyError::Truncated { .. }
    ));
}

#[test]
fn header_parsing_is_lenient_in_layout_strict_in_content() {
    // Any key order, double quotes, no trailing comma, Python 2 longs, old
    // 16-byte alignment: all NumPy has written at some point.
    let data: Vec<u8> = [7i32, 8].iter().flat_map(|x| x.to_le_bytes()).collect();
    for dict in [
        "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}",
        "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }",
        "{'descr':'<i4','fortran_order':False,'shape':(2,)}",
    ] {
        let a =
            npy::from_bytes(&with_header(dict, &data)).unwrap_or_else(|e| panic!("{dict}: {e}"));
        assert_eq!(a.data, NpyData::I4(vec![7, 8]), "{dict}");
    }
    let mut unaligned = b"\x93NUMPY\x01\x00".to_vec();
    let h = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }  \n";
    unaligned.extend_from_slice(&(h.len() as u16).to_le_bytes());
    unaligned.extend_from_slice(h.as_bytes());
    unaligned.extend_from_slice(&data);
    assert_eq!(
        npy::from_bytes(&unaligned).unwrap().data,
        NpyData::I4(vec![7, 8])
    );

    for dict in [
        "{'descr': '<i4', 'fortran_order': False}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
        "{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<i4', 'fortran_order': 0, 'shape': (2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (-2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': [2]}",
        "{'descr': <i4, 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)} x",
        "'descr': '<i4', 'fortran_order': False, 'shape': (2,)",
        "{'descr': '<i4' 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)",
    ] {
        let e = npy::from_bytes(&with_header(dict, &data)).unwrap_err();
        assert!(matches!(e, NpyError::BadHeader { .. }), "{dict}: {e}");
        assert!(e.to_string().contains("expected a dict like"), "{e}");
    }
}

#[test]
fn typed_access_refuses_other_dtypes() {
    let a = npy::from_bytes(&good()).unwrap();
    assert_eq!(a.expect_2d().unwrap(), (2, 3));
    assert!(matches!(a.expect_1d(), Err(NpyError::WrongShape { .. })));
    let e = a.into_vec::<i64>().unwrap_err();
    assert_eq!(
        e,
        NpyError::WrongDtype {
            expected: vec![DType::I8],
            found: DType::F8
        }
    );
    assert_eq!(e.to_string(), "dtype is '<f8' (expected '<i8')");
}
