//! Malformed input gives errors, never panics: truncated files, flipped bytes,
//! files of the wrong kind, non-HDF5 bytes, missing files; plus a proptest over
//! random truncations and byte flips of every fixture.

mod common;

use common::*;
use proptest::prelude::*;
use spikeforge_formats::{
    read_netx, read_netx_bytes, read_nir, read_nir_bytes, ErrorKind, FormatError,
};

/// Reads `bytes` with the reader for the fixture's kind. A panic escaping the
/// crate fails the test (proptest and the test harness both catch it).
fn read_as_own_kind(file: &str, bytes: Vec<u8>) -> Result<(), FormatError> {
    if file.ends_with(".net") {
        read_netx_bytes(file, bytes).map(|_| ())
    } else {
        read_nir_bytes(file, bytes).map(|_| ())
    }
}

fn fixture_bytes(file: &str) -> Vec<u8> {
    let path = if file.ends_with(".net") {
        lava(file)
    } else {
        nir(file)
    };
    std::fs::read(path).unwrap()
}

fn all_files() -> Vec<&'static str> {
    LAVA_FILES.iter().chain(NIR_FILES).copied().collect()
}

#[test]
fn truncated_files_give_errors_naming_the_file() {
    for file in all_files() {
        let bytes = fixture_bytes(file);
        let n = bytes.len();
        // From an empty file to one missing its last 64 bytes (every fixture
        // ends with dataset data, so those must be missed too).
        for cut in [
            0,
            1,
            7,
            8,
            100,
            512,
            2048,
            n / 4,
            n / 2,
            3 * n / 4,
            n - 4096,
            n - 64,
        ] {
            let r = read_as_own_kind(file, bytes[..cut].to_vec());
            let e = r.expect_err(&format!("{file} cut at {cut} of {n} must not read"));
            assert_eq!(e.file, file);
            assert!(e.path.starts_with('/'), "{e}");
            assert!(e.to_string().starts_with(&format!("{file}: /")), "{e}");
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    for file in all_files() {
        let bytes = fixture_bytes(file);
        // Every 97th byte of the first 4 KiB (superblock, root group, heaps,
        // object headers), one at a time, through a few bit patterns.
        for pos in (0..bytes.len().min(4096)).step_by(97) {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[pos] ^= mask;
                if let Err(e) = read_as_own_kind(file, b) {
                    assert_eq!(e.file, file, "{e}");
                }
            }
        }
    }
}

#[test]
fn a_flipped_superblock_signature_is_not_hdf5() {
    let mut b = fixture_bytes("lava_tiny.net");
    b[1] ^= 0xff;
    let e = read_netx_bytes("lava_tiny.net", b).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotHdf5), "{e}");
    assert_eq!(
        e.to_string(),
        "lava_tiny.net: /: not an HDF5 file (no HDF5 signature found)"
    );
}

#[test]
fn nir_file_opened_as_netx_is_refused_clearly() {
    for f in NIR_FILES {
        let e = read_netx(nir(f)).unwrap_err();
        assert_eq!(e.path, "/layer");
        assert!(e.to_string().contains("looks like a NIR file"), "{e}");
    }
}

#[test]
fn netx_file_opened_as_nir_is_refused_clearly() {
    for f in LAVA_FILES {
        let e = read_nir(lava(f)).unwrap_err();
        assert_eq!(e.path, "/node");
        assert!(
            e.to_string().contains("looks like a lava-dl netx file"),
            "{e}"
        );
    }
}

#[test]
fn text_and_missing_files_are_refused() {
    let e = read_nir_bytes("notes.nir", b"just some text, no HDF5 here".to_vec()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotHdf5));
    let e = read_netx("/nonexistent/dir/model.net").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Io(_)));
    assert_eq!(e.file, "model.net");
}

#[test]
fn unknown_nir_node_type_names_the_node() {
    // Rename the type of node `1` (LIF) in the lif_norse file to an unknown
    // type of the same length, in place in the global heap.
    let mut b = fixture_bytes("nirpaper_lif_norse.nir");
    let needle = b"LIF";
    let positions: Vec<usize> = b
        .windows(3)
        .enumerate()
        .filter(|(_, w)| w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(positions.len(), 1, "exactly one `LIF` string in the file");
    b[positions[0]..positions[0] + 3].copy_from_slice(b"XYZ");
    let e = read_nir_bytes("lif.nir", b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "lif.nir: /node/nodes/1: unknown NIR node type `XYZ`"
    );
}

#[test]
fn wrong_netx_datatype_names_the_dataset() {
    // A netx layer whose `weight` holds strings, built with the HDF5 crate.
    let mut fb = hdf5_pure::FileBuilder::new();
    let mut layer = fb.create_group("layer");
    let mut l0 = layer.create_group("0");
    l0.create_dataset("type")
        .with_ascii_strings(&["dense"])
        .unwrap();
    l0.create_dataset("weight")
        .with_vlen_strings(&["not", "numbers"]);
    layer.add_group(l0.finish());
    fb.add_group(layer.finish());
    let e = read_netx_bytes("bad.net", fb.finish().unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.net: /layer/0/weight: expected a float dataset, found string (variable-length)"
    );
}

proptest! {
    // 48 cases keep this to about a second; set SPIKEFORGE_FUZZ_CASES for a long run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SPIKEFORGE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random truncation (half of the cases) plus up to 8 random byte flips of a random fixture: the
    /// reader returns (Ok or) an error naming the file, and never panics.
    #[test]
    fn random_damage_never_panics(
        which in 0usize..6,
        truncate in any::<bool>(),
        keep in 0.0f64..1.0,
        flips in proptest::collection::vec((0.0f64..1.0, 1u8..=255), 0..8),
    ) {
        let file = all_files()[which];
        let mut bytes = fixture_bytes(file);
        if truncate {
            bytes.truncate(((bytes.len() as f64) * keep) as usize);
        }
        let len = bytes.len();
        for (at, mask) in &flips {
            if len > 0 {
                let i = ((len as f64) * at) as usize % len;
                bytes[i] ^= mask;
            }
        }
        match read_as_own_kind(file, bytes) {
            Ok(()) => prop_assert!(!truncate, "a truncated file must not read"),
            Err(e) => prop_assert_eq!(e.file, file),
        }
    }
}
