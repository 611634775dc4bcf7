//! YAML -> IR -> .sfir -> IR is the identity for every example, and every
//! example validates without errors.

use spikeforge_compiler::{ir, load, sfir, validate, yaml};
use std::path::Path;

fn examples() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "expected at least the four examples of the foundation issue");
    v
}

#[test]
fn every_example_round_trips_through_sfir() {
    for path in examples() {
        let text = std::fs::read_to_string(&path).unwrap();
        let net = yaml::parse(&text, &path.display().to_string()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let diags = validate::validate(&net);
        assert!(!diags.has_errors(), "{}: {diags}", path.display());
        let bytes = sfir::encode(&net);
        let back = sfir::decode(&bytes).unwrap();
        assert_eq!(net, back, "{}: IR changed through .sfir", path.display());
        // And the file on disk reads back the same way.
        let tmp = std::env::temp_dir().join(format!("spikeforge-rt-{}-{}.sfir", std::process::id(), path.file_stem().unwrap().to_str().unwrap()));
        std::fs::write(&tmp, &bytes).unwrap();
        let from_file = load::load(&tmp).unwrap();
        std::fs::remove_file(&tmp).ok();
        assert_eq!(net, from_file);
        // Encoding is deterministic: the same network gives the same bytes.
        assert_eq!(bytes, sfir::encode(&back));
    }
}

#[test]
fn sfir_header_is_checked() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lava_learning.yaml")).unwrap();
    let net = yaml::parse(&text, "lava_learning.yaml").unwrap();
    let good = sfir::encode(&net);
    assert!(matches!(sfir::decode(&good[..10]), Err(sfir::SfirError::TooShort { len: 10 })));
    assert!(matches!(sfir::decode(&good[..good.len() - 1]), Err(sfir::SfirError::Length { .. })));
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(matches!(sfir::decode(&bad), Err(sfir::SfirError::BadMagic { .. })));
    let mut bad = good.clone();
    bad[4] = 2;
    assert!(matches!(sfir::decode(&bad), Err(sfir::SfirError::UnsupportedFormat { found: 2, supported: 1 })));
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 0x40;
    assert!(matches!(sfir::decode(&bad), Err(sfir::SfirError::Checksum { .. })));
    // A future schema version inside a well-formed file is refused, not misread.
    let mut future = net.clone();
    future.schema_version = 2;
    assert!(matches!(sfir::decode(&sfir::encode(&future)), Err(sfir::SfirError::SchemaVersion { found: 2, supported: 1 })));
    assert_eq!(ir::SCHEMA_VERSION, 1);
}
